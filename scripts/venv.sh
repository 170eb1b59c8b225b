# Sourced by the scripts here: create ./.venv if needed, activate it, and install
# the project with the extras given as arguments (e.g. `test`, `demo`).
PYTHON=${PYTHON:-python3}
# Playwright drives Debian's chromium: never let it fetch a browser of its own.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
# shellcheck disable=SC1091
. .venv/bin/activate
python -m pip install --quiet --upgrade pip
python -m pip install --quiet -e ".[$1]"
