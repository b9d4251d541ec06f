#!/usr/bin/env bash
# Install bitagent with its test and CPU extras into .venv, then run the test suite.
# Used by the README's test command and by .ci/run. BITAGENT_INSTALL_ONLY=1: install, run no test (.ci/run
# does that first, so that scripts/lint.sh's mypy sees the installed packages).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
. .venv/bin/activate
python -m pip install -q --upgrade pip
# torch first, pinned: on the project's machines this takes the local CPU wheel, not a CUDA build.
python -m pip install -q "torch==2.13.0" || python -m pip install -q torch --index-url https://download.pytorch.org/whl/cpu
# cluster: Ray for tests/test_offline_cluster.py (a local Ray cluster; about 80 MB to download).
python -m pip install -q -e '.[cpu,test,data,cluster]'
# BFCL's own code, for the tests that compare against it (prompts byte for byte, its checker, its APIs):
# --no-deps because its dependencies (tree-sitter, openai, a dozen API clients) are not needed for that and
# the tests stub the few it imports; without it those tests skip and say why.
python -m pip install -q --no-deps bfcl-eval==2026.3.23
# and the tree-sitter decoders BFCL reads prompt-mode Java/JavaScript with (bfcl-eval's own pins; binary wheels),
# for tests/test_bfcl_agreement.py's text test
python -m pip install -q --no-deps tree_sitter==0.21.3 tree-sitter-java==0.21.0 tree-sitter-javascript==0.21.4
[ "${BITAGENT_INSTALL_ONLY:-}" = 1 ] && exit 0
exec python -m pytest "$@"
