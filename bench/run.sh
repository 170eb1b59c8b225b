#!/usr/bin/env bash
# Regenerate bench/results.md and bench/results.png: every benchmark, one command.
#   bench/run.sh                # the full run (about 10-15 minutes on 2 cores)
#   bench/run.sh --quick        # a smoke run (results in bench/results/quick/)
#   bench/run.sh --report-only  # rewrite results.md and results.png from bench/results/full/
# Installs the project with its `bench` extra into ./.venv (scripts/venv.sh); the peers'
# own environments (s3contents, aiobotocore) are made on first use in .bench-venvs/.
set -euo pipefail
cd "$(dirname "$0")/.."
# Sourced here (not in a pipeline's subshell), so a failed install stops the run.
# shellcheck disable=SC1091
. scripts/venv.sh bench > >(grep -v "^WARNING: Location" || true) 2>&1
exec python bench/run.py "$@"
