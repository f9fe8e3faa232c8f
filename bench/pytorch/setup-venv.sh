#!/usr/bin/env bash
# Creates the private Python environment of the PyTorch comparator (bench/pytorch/prism_torch.py).
# Optional tooling: prism-stream, its tests and CI never need it.
#
#   bench/pytorch/setup-venv.sh [VENV_DIR]        (default: bench/pytorch/.venv, git-ignored)
#
# Only PyPI is reachable from this project's machines, and PyPI's Linux x86_64 torch wheel is the
# CUDA build: it pulls ~3 GB of nvidia-* packages (≈ 5.5 GB installed) even for CPU use, and cannot
# be installed without them (`import torch` preloads libcublasLt and friends). Budget the disk and
# ~5–15 minutes. To reuse an environment you already have, skip this script:
#   PRISM_TORCH_PYTHON=/path/to/venv/bin/python prism bench torch ...
# Versions: PRISM_TORCH_VERSION (default 2.15.0), PRISM_TRANSFORMERS_VERSION (default 5.23.0);
# PYTHON picks the interpreter that creates the venv (default python3, ≥ 3.10).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="${1:-$here/.venv}"
torch_version="${PRISM_TORCH_VERSION:-2.15.0}"
transformers_version="${PRISM_TRANSFORMERS_VERSION:-5.23.0}"
python="${PYTHON:-python3}"

if [[ ! -x "$venv/bin/python" ]]; then
  echo "creating $venv" >&2
  "$python" -m venv "$venv"
fi
pip=("$venv/bin/python" -m pip --disable-pip-version-check)
"${pip[@]}" install --quiet --upgrade pip
"${pip[@]}" install "torch==$torch_version" "transformers==$transformers_version" safetensors numpy

"$venv/bin/python" - <<'PY'
import torch, transformers
x = torch.randn(64, 64, requires_grad=True)
(x @ x).sum().backward()
print(f"torch {torch.__version__} (CUDA available: {torch.cuda.is_available()}), transformers {transformers.__version__}: OK")
PY
echo "use it with: PRISM_TORCH_PYTHON=$venv/bin/python prism bench torch   (or leave it at bench/pytorch/.venv)" >&2
