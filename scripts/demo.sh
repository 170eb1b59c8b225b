#!/usr/bin/env bash
# Install the project with its demo extras into ./.venv, then run Jupyter on a local S3 server.
# Extra arguments go to `jupyters3 demo` (e.g. --lab, or --bucket/--endpoint-url for a real bucket).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
# shellcheck disable=SC1091
. .venv/bin/activate
python -m pip install --quiet --upgrade pip
python -m pip install --quiet -e '.[demo]'
exec jupyters3 demo "$@"
