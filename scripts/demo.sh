#!/usr/bin/env bash
# Install the project with its demo extras into ./.venv, then run Jupyter on a local S3 server.
# Extra arguments go to `jupyters3 demo` (e.g. --lab, or --bucket/--endpoint-url for a real bucket).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/venv.sh demo
exec jupyters3 demo "$@"
