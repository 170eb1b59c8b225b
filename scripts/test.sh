#!/usr/bin/env bash
# Install the project with its test extras into ./.venv and run every check and test.
# The README's test command and CI (.ci/run) both run exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/venv.sh test

echo "== ruff check"; ruff check .
echo "== ruff format --check"; ruff format --check .
echo "== mypy --strict src"; mypy src
echo "== pytest"; python -m pytest -q "$@"
