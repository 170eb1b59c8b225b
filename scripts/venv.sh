# Sourced by the scripts here: create ./.venv if needed, activate it, and install
# the project with the extras given as arguments (e.g. `test`, `demo`). Says what it
# does: the first install takes a minute or two, later ones a few seconds.
PYTHON=${PYTHON:-python3}
# VENV: the venv's folder (default ./.venv; the rtc step of test.sh --all uses its own).
VENV=${VENV:-.venv}
# Playwright drives Debian's chromium: never let it fetch a browser of its own.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
if [ ! -x "$VENV/bin/python" ]; then
    echo "== creating ./$VENV with $("$PYTHON" --version 2>&1)"
    "$PYTHON" -m venv "$VENV"
    echo "== installing the project and its '$1' dependencies into ./$VENV (first time: a minute or two)"
else
    echo "== updating ./$VENV (the project and its '$1' dependencies)"
fi
# shellcheck disable=SC1091
. "$VENV/bin/activate"
python -m pip install --quiet --disable-pip-version-check --upgrade pip
python -m pip install --quiet --disable-pip-version-check -e ".[$1]"
echo "== ./$VENV is ready"
