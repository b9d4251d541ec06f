#!/usr/bin/env bash
# Linters: ruff (rules in pyproject.toml [tool.ruff.lint]), ruff format --check, and mypy (strict on tasks/,
# scoring/, config/; default elsewhere: [tool.mypy]). Exit 0 only when all three are clean.
# Not yet run by .ci/run (the repo-wide fixes come first). Tools: ruff and mypy on PATH, or in $LINT_VENV
# (default .venv-lint: python3 -m venv .venv-lint && .venv-lint/bin/pip install ruff mypy).
set -uo pipefail
cd "$(dirname "$0")/.."
VENV=${LINT_VENV:-.venv-lint}
tool() { if [ -x "$VENV/bin/$1" ]; then echo "$VENV/bin/$1"; elif command -v "$1" >/dev/null; then command -v "$1"; else
  echo "lint: $1 not found; install it (pip install ruff mypy) or set LINT_VENV" >&2; exit 2; fi; }
RUFF=$(tool ruff) || exit 2
MYPY=$(tool mypy) || exit 2
rc=0
echo "== ruff check"; "$RUFF" check --statistics . || rc=1
echo "== ruff format --check"; "$RUFF" format --check . | tail -n 1; [ "${PIPESTATUS[0]}" -eq 0 ] || rc=1
echo "== mypy"; "$MYPY" bitagent_cli || rc=1
exit $rc
