#!/usr/bin/env bash
# Linters: ruff (rules in pyproject.toml [tool.ruff.lint]), ruff format --check, and mypy (strict on tasks/,
# scoring/, config/; default elsewhere: [tool.mypy]). Exit 0 only when all three are clean; run by .ci/run
# before the tests. The tools, pinned, live in their own venv ($LINT_VENV, default .venv-lint), created and
# installed here when missing (a few seconds with pip's cache).
# mypy reads the installed packages' types through the project's .venv python when there is one (.ci/run
# installs it first, with scripts/test.sh); without it, third-party imports are Any (ignore_missing_imports).
set -uo pipefail
cd "$(dirname "$0")/.."
RUFF_VERSION=0.17.6
MYPY_VERSION=2.4.1
VENV=${LINT_VENV:-.venv-lint}
PY=${PYTHON:-python3}
if ! "$VENV/bin/ruff" --version 2>/dev/null | grep -qx "ruff $RUFF_VERSION" \
  || ! "$VENV/bin/mypy" --version 2>/dev/null | grep -q "^mypy $MYPY_VERSION "; then
  echo "== installing ruff==$RUFF_VERSION and mypy==$MYPY_VERSION into $VENV"
  { [ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"; } \
    && "$VENV/bin/python" -m pip install -q "ruff==$RUFF_VERSION" "mypy==$MYPY_VERSION" \
    || { echo "lint: could not install ruff and mypy into $VENV" >&2; exit 2; }
fi
MYPY_ARGS=()
if [ -x .venv/bin/python ]; then
  MYPY_ARGS=(--python-executable .venv/bin/python)
else
  echo "lint: no .venv yet (bash scripts/test.sh makes it): mypy runs without the installed packages' types" >&2
fi
rc=0
echo "== ruff check"; "$VENV/bin/ruff" check . || rc=1
echo "== ruff format --check"; "$VENV/bin/ruff" format --check . | tail -n 1; [ "${PIPESTATUS[0]}" -eq 0 ] || rc=1
echo "== mypy"; "$VENV/bin/mypy" "${MYPY_ARGS[@]}" bitagent_cli || rc=1
exit $rc
