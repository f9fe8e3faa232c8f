#!/usr/bin/env bash
# Re-resolves the CUDA 12 wheels TensorFlow's `and-cuda` extra pins, without downloading them: pip reads
# PyPI's metadata (PEP 658) and reports each file's URL and sha256. Paste the result into cuda-wheels.json.
# Usage: bash scripts/native/pin-cuda-wheels.sh [TF_VERSION]
set -euo pipefail
tf="${1:-2.21.0}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
python3 -m pip install --dry-run --ignore-installed --quiet --report "$tmp/report.json" --only-binary=:all: \
  --python-version 3.12 --implementation cp --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
  --platform manylinux2014_x86_64 --target "$tmp/target" "tensorflow[and-cuda]==$tf"
python3 - "$tmp/report.json" <<'PY'
import json, sys
for i in json.load(open(sys.argv[1]))["install"]:
    if i["metadata"]["name"].startswith("nvidia"):
        d = i["download_info"]
        print(json.dumps({"name": i["metadata"]["name"], "version": i["metadata"]["version"],
                          "file": d["url"].rsplit("/", 1)[-1], "sha256": d["archive_info"]["hashes"]["sha256"]}))
PY
