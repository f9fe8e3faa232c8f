#!/usr/bin/env bash
# `npm run setup:python`: installs the Python client and the PyTorch scorer service (clients/python, with the
# hf and dev extras: torch, transformers, pytest, ruff, mypy) into the python3 on PATH (PRISM_PYTHON to choose
# another), so `npm test` can run their pytest suite. torch from PyPI brings several GB of CUDA libraries the
# first time; pip's cache makes later runs quick. Skipped in seconds when everything already imports.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
py="${PRISM_PYTHON:-python3}"
if ! command -v "$py" >/dev/null 2>&1; then
  echo "setup:python: $py not found; install Python 3.10+ with pip (or set PRISM_PYTHON)" >&2
  exit 1
fi
# The installed copy must be this checkout's: a stale install from elsewhere is replaced.
if [ "${PRISM_SETUP_PYTHON_FORCE:-0}" != 1 ] && "$py" - <<'PY' 2>/dev/null; then
import os, sys
import prism_stream, prism_stream.hf, confluent_kafka, fastavro, tokenizers, torch, transformers, pytest  # noqa
here = os.path.realpath("clients/python")
sys.exit(0 if os.path.realpath(prism_stream.__file__).startswith(here) else 1)
PY
  echo "setup:python: clients/python (editable) and its extras already import; nothing to do"
  exit 0
fi
pip=("$py" -m pip install --disable-pip-version-check --progress-bar off)
# A PEP 668 "externally managed" system python (Debian) is installed into on purpose here: the tests need one
# interpreter that the spawned scorer service and pytest share.
if "$py" -c 'import os, sys, sysconfig; sys.exit(0 if os.path.exists(os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED")) else 1)'; then
  pip+=(--break-system-packages)
fi
"${pip[@]}" -e './clients/python[hf,dev]'
