# Sourced by the scripts here: create ./.venv if needed, activate it, and install
# the project with the extras given as arguments (e.g. `test`, `demo`).
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
# shellcheck disable=SC1091
. .venv/bin/activate
python -m pip install --quiet --upgrade pip
python -m pip install --quiet -e ".[$1]"
