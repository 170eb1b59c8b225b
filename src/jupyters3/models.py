"""Contents models, built in one place, with the fields and rules of
jupyter_server's own file manager. No I/O.
"""

from __future__ import annotations

import base64
import binascii
import functools
import gc
import hashlib
import json
import mimetypes
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from json.decoder import WHITESPACE, scanstring  # type: ignore[attr-defined]
from typing import Any, Literal

from tornado.web import HTTPError

__all__ = [
    "EPOCH",
    "NOTEBOOK_MIMETYPE",
    "Model",
    "checkpoint_model",
    "content_from_bytes",
    "content_to_bytes",
    "directory_model",
    "file_model",
    "file_type",
    "guess_mimetype",
    "hash_fields",
    "notebook_problem",
    "s3_content_type",
    "utc_seconds",
]

Model = dict[str, Any]
FileType = Literal["file", "notebook"]

# Folders have no time of their own in S3 unless they have a marker object; a
# folder's own model then shows the Unix epoch (as jupyter_server does for times it
# cannot read: the API's Last-Modified header needs one).
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
NOTEBOOK_MIMETYPE = "application/x-ipynb+json"


def utc_seconds(when: datetime | None) -> datetime:
    """``when`` as a timezone-aware UTC time, to the second (what HEAD and
    listings can both tell), or the epoch if unknown."""
    if when is None:
        return EPOCH
    if when.tzinfo is timezone.utc and not when.microsecond:  # as listings give them
        return when
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.astimezone(timezone.utc).replace(microsecond=0)


def _name(path: str) -> str:
    return path.rsplit("/", 1)[-1]


def file_type(path: str, requested: str | None = None) -> FileType:
    """``notebook`` when asked for or named ``*.ipynb`` (and not asked for a file)."""
    if requested == "notebook" or (requested is None and path.endswith(".ipynb")):
        return "notebook"
    return "file"


def guess_mimetype(path: str) -> str | None:
    """The mimetype of a file, from its name only (as jupyter_server does)."""
    name = _name(path) or path
    # Only the last two extensions count (``.tar.gz``): ask once per pair, not per name
    # (a listing asks for every entry). Leading dots belong to the name, as in splitext.
    last = name.rfind(".")
    prev = name.rfind(".", 0, last) if last > 0 else -1
    start = prev if prev > 0 else last
    if start <= 0 or ":" in name or not name[:start].strip("."):
        return mimetypes.guess_type(name)[0]  # none, or what guess_type may read as a URL
    return _mimetype_of("x" + name[start:])


@functools.lru_cache(maxsize=1024)
def _mimetype_of(name: str) -> str | None:
    return mimetypes.guess_type(name)[0]


def s3_content_type(path: str, type_: str, format_: str | None) -> str:
    """The Content-Type stored with an object, so other S3 clients see something useful."""
    if type_ == "notebook":
        return NOTEBOOK_MIMETYPE
    guessed = guess_mimetype(path)
    if guessed:
        return guessed
    return "text/plain; charset=utf-8" if format_ == "text" else "application/octet-stream"


def _base(
    path: str,
    type_: str,
    *,
    last_modified: datetime | None,
    created: datetime | None,
    size: int | None,
    mimetype: str | None,
    writable: bool,
) -> Model:
    modified = utc_seconds(last_modified)
    return {
        "name": _name(path),
        "path": path,
        "type": type_,
        "last_modified": modified,
        "created": modified if created is None else utc_seconds(created),
        "content": None,
        "format": None,
        "mimetype": mimetype,
        "size": size,
        "writable": writable,
        "hash": None,
        "hash_algorithm": None,
    }


def file_model(
    path: str,
    *,
    size: int | None,
    last_modified: datetime | None,
    type_: FileType | None = None,
    created: datetime | None = None,
    writable: bool = True,
) -> Model:
    """The model of a file or notebook, without content. S3 keeps no creation
    time, so ``created`` defaults to ``last_modified``."""
    kind = type_ or file_type(path)
    mimetype = None if kind == "notebook" else guess_mimetype(path)
    return _base(
        path,
        kind,
        last_modified=last_modified,
        created=created,
        size=size,
        mimetype=mimetype,
        writable=writable,
    )


def directory_model(
    path: str,
    *,
    last_modified: datetime | None = None,
    content: list[Model] | None = None,
    writable: bool = True,
    time_known: bool = True,
) -> Model:
    """The model of a folder; ``content`` (the models of its entries) makes it
    a model with content (``format`` ``json``). ``time_known=False`` (a folder
    entry of a listing, which S3 gives no time): ``last_modified`` and
    ``created`` are null, which the file browsers show as no time."""
    model = _base(
        path,
        "directory",
        last_modified=last_modified,
        created=None,
        size=None,
        mimetype=None,
        writable=writable,
    )
    if not time_known:
        model["last_modified"] = model["created"] = None
    if content is not None:
        model["content"] = content
        model["format"] = "json"
    return model


def content_from_bytes(data: bytes, format_: str | None, path: str) -> tuple[str, str]:
    """A file's bytes as model content: ``(content, format)``.

    No format: text if the bytes are UTF-8, base64 otherwise. ``text`` for bytes
    that are not UTF-8 is a 400, as in jupyter_server.
    """
    if format_ is None or format_ == "text":
        try:
            return data.decode("utf-8"), "text"
        except UnicodeDecodeError as e:
            if format_ == "text":
                raise HTTPError(400, f"{path} is not UTF-8 encoded", reason="bad format") from e
    elif format_ != "base64":
        raise HTTPError(400, f"Format {format_!r} is invalid", reason="bad format")
    # One line, not encodebytes' 76-character lines: a third of the CPU (clients
    # decode either; jupyter_server's own manager writes lines).
    return binascii.b2a_base64(data, newline=False).decode("ascii"), "base64"


def content_to_bytes(content: Any, format_: Any, path: str) -> bytes:
    """The bytes a file model's ``content`` stands for (400 on a bad format or encoding)."""
    if format_ not in ("text", "base64"):
        raise HTTPError(400, "Must specify format of file contents as 'text' or 'base64'")
    if not isinstance(content, str):
        raise HTTPError(400, f"Encoding error saving {path}: content must be a string")
    try:
        if format_ == "text":
            return content.encode("utf-8")
        try:  # one line, as browsers send it: no copy to strip line breaks from
            return base64.b64decode(content, validate=True)
        except (binascii.Error, ValueError):
            # line breaks (as base64.encodebytes writes them) are fine; anything else is not
            return base64.b64decode("".join(content.split()).encode("ascii"), validate=True)
    except (UnicodeError, binascii.Error, ValueError) as e:
        raise HTTPError(400, f"Encoding error saving {path}: {e}") from e


def hash_fields(data: bytes, algorithm: str) -> Model:
    """``{"hash": ..., "hash_algorithm": ...}`` for a file's bytes."""
    h = hashlib.new(algorithm)
    h.update(data)
    return {"hash": h.hexdigest(), "hash_algorithm": algorithm}


def checkpoint_model(checkpoint_id: str, last_modified: datetime | None) -> Model:
    """The model of one checkpoint."""
    return {"id": checkpoint_id, "last_modified": utc_seconds(last_modified)}


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, (list, tuple)):
        return "a list"
    return "an object" if isinstance(value, dict) else type(value).__name__


def notebook_problem(content: Any) -> str | None:
    """What is wrong with notebook content sent to be saved, in words a user
    understands, or ``None`` if nbformat can take it (its schema validation
    may still report details, as a warning on the saved model)."""
    if not isinstance(content, dict):
        return f"the content must be a JSON object (a notebook), not {_json_kind(content)}"
    version = content.get("nbformat")
    if version is None:
        return "it has no nbformat version number ('nbformat')"
    if isinstance(version, bool) or not isinstance(version, int):
        return f"its nbformat version must be a whole number, not {_json_kind(version)}"
    if not 1 <= version <= 4:
        return f"nbformat version {version} is not supported (versions 1 to 4 are)"
    metadata = content.get("metadata")
    if version == 4 and not isinstance(metadata, dict):
        what = "no" if metadata is None else _json_kind(metadata) + " as its"
        return f"it has {what} 'metadata' (a JSON object is needed)"
    cells = content.get("cells") if version == 4 else content.get("worksheets")
    if not isinstance(cells, list):
        return "it has no list of cells ('cells')" if version == 4 else "it has no worksheets"
    if version == 4:
        for number, cell in enumerate(cells, start=1):
            if not isinstance(cell, dict):
                return f"cell {number} is {_json_kind(cell)}, not a JSON object"
            if not isinstance(cell.get("cell_type"), str):
                return f"cell {number} has no 'cell_type' (code, markdown or raw)"
            if not isinstance(cell.get("metadata", {}), dict):
                return f"cell {number} has {_json_kind(cell['metadata'])} as its 'metadata'"
            if cell["cell_type"] == "code" and not isinstance(cell.get("outputs", []), list):
                return f"cell {number} has {_json_kind(cell['outputs'])} as its 'outputs'"
    return None


class CellByCellDecoder(json.JSONDecoder):
    """``json.loads``'s decoder that decodes a notebook's ``cells`` one cell at a time.

    The C decoder holds the interpreter lock for a whole document (half a second
    for 25 MB, during which the event loop cannot run even though the parse is in
    a thread); between cells, other threads get their turn. Same result as
    ``json.loads``; anything but a plain top-level object, and every error, is left
    to the standard decoder, so errors are its own."""

    def decode(self, s: str, _w: Any = WHITESPACE.match) -> Any:
        try:
            obj, end = self._top_object(s, _w(s, 0).end(), _w)
        except (json.JSONDecodeError, IndexError, _NotPlain):
            return super().decode(s)
        if _w(s, end).end() != len(s):
            return super().decode(s)  # "Extra data", as the standard decoder says
        return obj

    def _top_object(self, s: str, idx: int, _w: Any) -> tuple[dict[str, Any], int]:
        if s[idx] != "{":
            raise _NotPlain
        obj: dict[str, Any] = {}
        idx = _w(s, idx + 1).end()
        if s[idx] == "}":
            return obj, idx + 1
        while True:
            if s[idx] != '"':
                raise _NotPlain
            key, idx = scanstring(s, idx + 1, self.strict)
            idx = _w(s, idx).end()
            if s[idx] != ":":
                raise _NotPlain
            idx = _w(s, idx + 1).end()
            if key == "cells" and s[idx] == "[":
                obj[key], idx = self._array(s, idx, _w)
            else:
                obj[key], idx = self.raw_decode(s, idx)
            idx = _w(s, idx).end()
            if s[idx] == "}":
                return obj, idx + 1
            if s[idx] != ",":
                raise _NotPlain
            idx = _w(s, idx + 1).end()

    def _array(self, s: str, idx: int, _w: Any) -> tuple[list[Any], int]:
        items: list[Any] = []
        idx = _w(s, idx + 1).end()
        if s[idx] == "]":
            return items, idx + 1
        while True:
            item, idx = self.raw_decode(s, idx)
            items.append(item)
            idx = _w(s, idx).end()
            if s[idx] == "]":
                return items, idx + 1
            if s[idx] != ",":
                raise _NotPlain
            idx = _w(s, idx + 1).end()


class _NotPlain(Exception):
    """Not the plain JSON object the cell-by-cell decoder reads itself."""


_gc_lock = threading.Lock()
_gc_deferrals = 0


@contextmanager
def collections_deferred() -> Iterator[None]:
    """No automatic garbage collection while the block builds a large notebook.

    Building one (parsing, copying, converting) makes millions of objects, and each
    automatic collection of the oldest generation walks every live object holding
    the interpreter lock: pauses of a second for the event loop, though the work is
    in a thread. A notebook is a tree (no cycles to collect), so collections wait
    until the block ends; the objects still alive then join the oldest generation
    without a collection (``gc.freeze`` and ``gc.unfreeze`` move them in one step).
    Other threads' cyclic garbage is collected later, not lost. Nests, and leaves
    alone a process that turned automatic collection off itself."""
    global _gc_deferrals
    with _gc_lock:
        if _gc_deferrals == 0 and not gc.isenabled():
            owner = False
        else:
            owner = True
            _gc_deferrals += 1
            gc.disable()
    try:
        yield
    finally:
        if owner:
            with _gc_lock:
                _gc_deferrals -= 1
                if _gc_deferrals == 0:
                    if gc.get_freeze_count() == 0:  # (never thaw what the process froze)
                        gc.freeze()
                        gc.unfreeze()
                    gc.enable()
