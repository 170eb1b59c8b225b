#!/usr/bin/env bash
# Install the project with its test extras into ./.venv and run the checks and tests.
#
#   bash scripts/test.sh [PYTEST ARGS]   the default run: ruff, mypy --strict, and every test that
#                                        needs no extra system package (S3 server: moto), < 10 min
#   bash scripts/test.sh --all           everything CI runs (.ci/run is exactly this): installs the
#                                        system packages the slower suites need (as root), then the
#                                        default run, and each slower suite as a step of its own
#
# S3_TEST_SERVER=moto|rgw picks the S3 server of the integration tests (default moto).
# SKIP_LINT=1 skips ruff and mypy (the --all steps after the first use it).
# The rtc tests (-m rtc) run in ./.venv-rtc with the rtc extra: VENV=.venv-rtc EXTRAS=test,rtc.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" = "--all" ]; then
    shift
    bash scripts/install-system.sh
    echo "==== default suite (moto)"
    bash scripts/test.sh "$@"
    # The fixture starts a one-node Ceph cluster (scripts/rgw.sh) and stops it afterwards.
    echo "==== integration suite on Ceph RGW"; SKIP_LINT=1 S3_TEST_SERVER=rgw bash scripts/test.sh tests/integration
    echo "==== load test (10 clients x 15 s)"; SKIP_LINT=1 bash scripts/test.sh -m load tests/integration/test_load.py
    # Headless Debian Chromium through Playwright (never `playwright install`), and JupyterHub.
    echo "==== browser and JupyterHub"; SKIP_LINT=1 bash scripts/test.sh -m "browser or hub" tests/browser
    # jupyter-collaboration changes how JupyterLab behaves for the browser tests: its own venv.
    echo "==== real-time collaboration (jupyter-collaboration, in ./.venv-rtc; moto, then Ceph RGW)"
    SKIP_LINT=1 VENV=.venv-rtc EXTRAS=test,rtc bash scripts/test.sh -m rtc tests/integration/test_jupyters3_rtc.py
    SKIP_LINT=1 VENV=.venv-rtc EXTRAS=test,rtc S3_TEST_SERVER=rgw \
        bash scripts/test.sh -m rtc tests/integration/test_jupyters3_rtc.py
    exit 0
fi

# EXTRAS: the extras to install (default test); VENV (see venv.sh): where.
. scripts/venv.sh "${EXTRAS:-test}"

if [ -z "${SKIP_LINT:-}" ]; then
    echo "== ruff check"; ruff check .
    echo "== ruff format --check"; ruff format --check .
    echo "== mypy --strict src"; mypy src
fi
echo "== pytest (S3 server: ${S3_TEST_SERVER:-moto})"; python -m pytest -q "$@"
