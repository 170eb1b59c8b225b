"""Pure parts of what kernels see: resolving notebook paths, the JUPYTERS3_* variables,
glob matching and open() modes; and that notebook code needs no Jupyter."""

from __future__ import annotations

import subprocess
import sys

import pytest

from jupyters3.files import _match, _parse_mode
from jupyters3.location import ENV_VARS, Location, NoLocationError
from jupyters3.paths import PathError, resolve


@pytest.mark.parametrize(
    ("cwd", "path", "expected"),
    [
        ("", "a.csv", "a.csv"),
        ("sub", "a.csv", "sub/a.csv"),
        ("sub", "./a.csv", "sub/a.csv"),
        ("sub/deep", "../a.csv", "sub/a.csv"),
        ("sub", "..", ""),
        ("sub", "/a.csv", "a.csv"),
        ("sub", "/", ""),
        ("sub", "", "sub"),
        ("sub", ".", "sub"),
        ("sub", "x//y/", "sub/x/y"),
        ("sub", "x/../../y", "y"),
        ("sub", "C:", "sub/C:"),  # a drive only as the first component, as the manager has it
        ("", "...", "..."),
    ],
)
def test_resolve(cwd: str, path: str, expected: str) -> None:
    assert resolve(cwd, path) == expected


@pytest.mark.parametrize(
    ("cwd", "path"),
    [
        ("", ".."),
        ("sub", "../.."),
        ("sub", "/../x"),
        ("sub", "a/../../../x"),
        ("sub", "a\\b"),
        ("sub", "x/.checkpoints/1"),
        ("sub", ".s3keep"),
        ("sub", "nul\x00"),
        ("", "C:/x"),
        ("sub", "/C:"),
        ("../x", "a"),  # the folder itself must be a valid API path
    ],
)
def test_resolve_refuses(cwd: str, path: str) -> None:
    with pytest.raises(PathError):
        resolve(cwd, path)


def test_resolve_refuses_non_strings() -> None:
    with pytest.raises(PathError):
        resolve("", 3)  # type: ignore[arg-type]


def test_location_round_trips_through_the_environment() -> None:
    loc = Location(
        "bkt",
        "users/alice",
        "sub/deep",
        "http://127.0.0.1:9000",
        "eu-west-1",
        "/ca.pem",
        False,
        "aws:kms",
        "key-1",
    )
    env = loc.to_env()
    assert set(env) == set(ENV_VARS) and env["JUPYTERS3_PREFIX"] == "users/alice/"
    assert Location.from_env(env) == loc
    plain = Location("bkt")
    assert Location.from_env(plain.to_env()) == plain
    assert plain.to_env()["JUPYTERS3_ENDPOINT_URL"] == ""  # set, so no stale value survives


def test_location_errors() -> None:
    with pytest.raises(NoLocationError, match="JUPYTERS3_BUCKET is not set"):
        Location.from_env({})
    with pytest.raises(ValueError, match="JUPYTERS3_PREFIX or JUPYTERS3_CWD"):
        Location.from_env({"JUPYTERS3_BUCKET": "b", "JUPYTERS3_CWD": "../x"})
    with pytest.raises(ValueError, match="JUPYTERS3_VERIFY_TLS"):
        Location.from_env({"JUPYTERS3_BUCKET": "b", "JUPYTERS3_VERIFY_TLS": "maybe"})
    with pytest.raises(ValueError):
        Location("")


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("*.csv", "a.csv", True),
        ("*.csv", "d/a.csv", False),
        ("*/*.csv", "d/a.csv", True),
        ("**/*.csv", "a.csv", True),
        ("**/*.csv", "d/e/a.csv", True),
        ("**", "d/e", True),
        ("*", ".hidden", False),
        (".*", ".hidden", True),
        ("**/*.csv", ".d/a.csv", False),
        ("a?[bc]", "axc", True),
        ("a?[bc]", "axd", False),
    ],
)
def test_glob_matching(pattern: str, path: str, matches: bool) -> None:
    assert _match(pattern.split("/"), path.split("/")) is matches


def test_open_modes() -> None:
    assert _parse_mode("r") == ("r", False)
    assert _parse_mode("rb") == ("r", True)
    assert _parse_mode("wt") == ("w", False)
    assert _parse_mode("xb") == ("x", True)
    assert _parse_mode("ab") == ("a", True)
    for bad in ("", "rw", "rbb", "bt", "z", "r+", "w+b"):
        with pytest.raises(ValueError):
            _parse_mode(bad)


def test_notebook_code_needs_no_jupyter() -> None:
    """A kernel's environment may lack jupyter_server, traitlets and nbformat."""
    code = (
        "import sys\n"
        "for name in ('jupyter_server', 'traitlets', 'nbformat', 'jupyter_core', 'IPython'):\n"
        "    sys.modules[name] = None\n"
        "import jupyters3\n"
        "from jupyters3 import files\n"
        "from jupyters3.location import Location\n"
        "files.NotebookFiles(Location('b', 'p', 'sub')).resolve('x')\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
