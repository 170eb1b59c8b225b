# Sourced by the scripts here: create ./.venv if needed, activate it, and install
# the project with the extras given as arguments (e.g. `test`, `demo`). Says what it
# does: the first install takes a minute or two, later ones a few seconds.
PYTHON=${PYTHON:-python3}
# Playwright drives Debian's chromium: never let it fetch a browser of its own.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
if [ ! -x .venv/bin/python ]; then
    echo "== creating ./.venv with $("$PYTHON" --version 2>&1)"
    "$PYTHON" -m venv .venv
    echo "== installing the project and its '$1' dependencies into ./.venv (first time: a minute or two)"
else
    echo "== updating ./.venv (the project and its '$1' dependencies)"
fi
# shellcheck disable=SC1091
. .venv/bin/activate
python -m pip install --quiet --disable-pip-version-check --upgrade pip
python -m pip install --quiet --disable-pip-version-check -e ".[$1]"
echo "== ./.venv is ready"
