"""``%load_ext jupyters3``: line magics that look at the file browser's files.

``%s3ls [path]`` lists a folder (folders end in ``/``), ``%s3cd [path]`` changes the
folder :mod:`jupyters3.files` (and ``jupyters3://`` URLs) start from (no argument:
back to the notebook's folder), ``%s3pwd`` shows it. The process's own working
directory and ``builtins.open`` are left alone.
"""

from __future__ import annotations

import functools
import shlex
from collections.abc import Callable
from typing import Any

from s3lite import S3Error

from . import files
from .location import NoLocationError

__all__ = ["register", "s3cd", "s3ls", "s3pwd"]


def _one_path(line: str, default: str) -> str:
    args = shlex.split(line)
    if len(args) > 1:
        raise ValueError(f"one path at most, not {len(args)}: {line!r}")
    return args[0] if args else default


def s3ls(line: str = "") -> None:
    """``%s3ls [path]``: the files and folders in a folder, as ``ls``."""
    here = files.current()
    for entry in here.scandir(_one_path(line, ".")):
        print(entry.name + "/" if entry.type == "directory" else entry.name)


def s3cd(line: str = "") -> None:
    """``%s3cd [path]``: change the folder relative paths start from."""
    here = files.current()
    here.chdir(_one_path(line, "/" + here.location.cwd))
    print(here.getcwd())


def s3pwd(line: str = "") -> None:
    """``%s3pwd``: the folder relative paths start from, and its S3 URL."""
    here = files.current()
    print(f"{here.getcwd()}  ({here.url()})")


def _usage_errors(magic: Callable[[str], None]) -> Callable[[str], None]:
    """A user's mistake shows as one line, not a traceback."""

    @functools.wraps(magic)
    def run(line: str = "") -> None:
        from IPython.core.error import UsageError

        try:
            magic(line)
        except (OSError, ValueError, NoLocationError, S3Error) as e:
            raise UsageError(f"%{magic.__name__}: {e}") from None

    return run


def register(ipython: Any) -> None:
    """Register the magics with an IPython shell."""
    for magic in (s3ls, s3cd, s3pwd):
        ipython.register_magic_function(_usage_errors(magic), "line", magic.__name__)
