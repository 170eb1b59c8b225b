"""API paths and S3 keys: normalisation, confinement and the key layout. No I/O.

Layout under ``prefix`` (``""`` or ending in ``/``):

- a file at API path ``a/b.ipynb`` is the object ``<prefix>a/b.ipynb``;
- a folder ``a`` is the 0-byte object ``<prefix>a/`` (or, as written by
  s3contents and the old jupyters3, ``<prefix>a/.s3keep``), or just any key
  under ``<prefix>a/`` (objects written by other tools);
- the checkpoints of the file ``a/b.ipynb`` are ``<prefix>a/b.ipynb/.checkpoints/<id>``.

So in a delimited listing of a folder, the common prefix ``b.ipynb/`` next to
the object ``b.ipynb`` holds that file's checkpoints and is not a folder. A
name is a file *or* a folder, never both: this package refuses to create one
where the other exists. If other tools made both, the file wins.

``.checkpoints``, ``.s3keep`` and ``.jupyters3-uploads`` are reserved: no API
path may contain them as a component, so no request can read or write
checkpoint storage, markers or upload state as if they were user files.
"""

from __future__ import annotations

import fnmatch
import functools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from s3lite.models import CommonPrefix, ObjectSummary

__all__ = [
    "CHECKPOINTS_DIR",
    "DIRECTORY_CONTENT_TYPE",
    "KEEP_MARKER",
    "MAX_KEY_BYTES",
    "RESERVED_NAMES",
    "TRASH_DIR",
    "UPLOADS_DIR",
    "DirListing",
    "KeyLayout",
    "PathError",
    "checkpoint_id_problem",
    "checkpoint_time",
    "classify_listing",
    "glob_matcher",
    "is_hidden_path",
    "join",
    "name_problem",
    "new_checkpoint_id",
    "normalize_path",
    "normalize_prefix",
    "orphaned_checkpoints",
    "probe_dir_entries",
    "probe_says_exists",
    "resolve",
    "split",
    "too_long",
]

CHECKPOINTS_DIR = ".checkpoints"
KEEP_MARKER = ".s3keep"
DIRECTORY_CONTENT_TYPE = "application/x-directory"  # of the 0-byte marker of a folder
# The state of chunked uploads, at the top of the prefix (jupyters3.uploads).
UPLOADS_DIR = ".jupyters3-uploads"
# Deleted files and folders with delete_to_trash: <prefix>.jupyters3-trash/<entry>/<path>.
TRASH_DIR = ".jupyters3-trash"
RESERVED_NAMES = frozenset({CHECKPOINTS_DIR, KEEP_MARKER, UPLOADS_DIR, TRASH_DIR})
MAX_KEY_BYTES = 1024  # S3's limit on a key, in UTF-8 bytes
# Room kept after a file's key for "/.checkpoints/<id>", so every file can have checkpoints.
_CHECKPOINT_ROOM = len("/" + CHECKPOINTS_DIR + "/") + 40
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_DRIVE = re.compile(r"^[A-Za-z]:$")
_CHECKPOINT_ID = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}$")
_CHECKPOINT_ID_TIME = re.compile(r"^\d{8}T\d{12}Z-[0-9a-f]{4}$")


class PathError(ValueError):
    """An API path that cannot name anything in the store (HTTP 400)."""


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot be one component of an API path (``None`` if it can)."""
    if name == "":
        return 'empty path component ("//")'
    if name in (".", ".."):
        return f"{name!r} is not allowed in a path"
    if "\\" in name:
        return "backslashes are not allowed in a path"
    if "\x00" in name:
        return "NUL bytes are not allowed in a path"
    if _CONTROL.search(name):
        return "control characters are not allowed in a path"
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return "the path is not valid Unicode"
    return None


def too_long(path: str) -> str:
    """The message for a path whose keys would exceed S3's key limit."""
    return (
        f"path too long: {path[:60]!r}... ({len(path.encode('utf-8')):,} bytes; "
        f"S3 keys are at most {MAX_KEY_BYTES:,} bytes, with room for checkpoints)"
    )


def normalize_path(path: str) -> str:
    """The canonical form of an API path: ``/``-separated, no leading or trailing
    ``/`` (stripped, as Jupyter does), ``""`` for the root.

    Raises :class:`PathError` for anything that does not name a place under the
    root: ``.``/``..`` components, empty components, backslashes, NUL and other
    control characters, a Windows drive, or a reserved name.
    """
    if not isinstance(path, str):
        raise PathError(f"a path must be a string, not {type(path).__name__}")
    stripped = path.strip("/")
    if stripped == "":
        return ""
    parts = stripped.split("/")
    for part in parts:
        problem = name_problem(part)
        if problem is not None:
            raise PathError(f"invalid path {path!r}: {problem}")
        if part in RESERVED_NAMES:
            raise PathError(f"invalid path {path!r}: {part!r} is a reserved name")
    if _DRIVE.match(parts[0]):
        raise PathError(f"invalid path {path!r}: absolute paths are not allowed")
    return stripped


def resolve(cwd: str, path: str) -> str:
    """The API path that ``path``, written by code whose current folder is the API
    path ``cwd``, names: relative to ``cwd``, or to the root if it starts with ``/``.

    ``.`` and ``..`` resolve as in a shell, and repeated ``/`` count as one, but
    nothing resolves above the root: that raises :class:`PathError`, as does
    anything :func:`normalize_path` refuses in the result.
    """
    if not isinstance(path, str):
        raise PathError(f"a path must be a string, not {type(path).__name__}")
    base = normalize_path(cwd)
    parts = [] if path.startswith("/") or not base else base.split("/")
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not parts:
                raise PathError(f"{path!r} is outside the root of the contents")
            parts.pop()
        else:
            parts.append(part)
    return normalize_path("/".join(parts))


def normalize_prefix(prefix: str) -> str:
    """The key prefix as used in keys: ``""`` or components ending in ``/``."""
    stripped = prefix.strip("/")
    if stripped == "":
        return ""
    for part in stripped.split("/"):
        problem = name_problem(part)
        if problem is not None:
            raise PathError(f"invalid prefix {prefix!r}: {problem}")
    return stripped + "/"


def split(path: str) -> tuple[str, str]:
    """``(parent, name)`` of a normalised path; the root's parent is ``""``."""
    parent, _, name = path.rpartition("/")
    return parent, name


def join(parent: str, name: str) -> str:
    """The path of ``name`` inside the folder ``parent`` (``""`` = root)."""
    return f"{parent}/{name}" if parent else name


@functools.lru_cache(maxsize=8)
def glob_matcher(globs: tuple[str, ...]) -> Callable[[str], bool]:
    """Whether a name matches any of ``globs`` (``fnmatch`` rules, case-sensitive as on
    POSIX), as one regex compiled once: a listing tests every name against every glob."""
    if not globs:
        return lambda name: False
    pattern = re.compile("|".join(f"(?:{fnmatch.translate(glob)})" for glob in globs))
    return lambda name: pattern.match(name) is not None


def is_hidden_path(path: str) -> bool:
    """Whether any component of a normalised path starts with a dot."""
    return any(part.startswith(".") for part in path.split("/") if part)


def checkpoint_id_problem(checkpoint_id: str) -> str | None:
    """Why ``checkpoint_id`` cannot be a checkpoint id (``None`` if it can)."""
    if not isinstance(checkpoint_id, str) or not _CHECKPOINT_ID.match(checkpoint_id):
        return f"invalid checkpoint id {checkpoint_id!r}"
    return None


def new_checkpoint_id(now: datetime, salt: int) -> str:
    """A checkpoint id that sorts by creation time: UTC to the microsecond, then
    4 hex digits of ``salt`` so two checkpoints in one microsecond differ."""
    utc = now.astimezone(timezone.utc)
    return f"{utc:%Y%m%dT%H%M%S%fZ}-{salt & 0xFFFF:04x}"


def checkpoint_time(checkpoint_id: str) -> datetime | None:
    """When the checkpoint ``checkpoint_id`` was taken, read from the id (ids of
    :func:`new_checkpoint_id`, or the old jupyters3's microseconds since the
    epoch); ``None`` for any other id."""
    try:
        if _CHECKPOINT_ID_TIME.match(checkpoint_id):
            return datetime.strptime(checkpoint_id[:22], "%Y%m%dT%H%M%S%fZ").replace(
                tzinfo=timezone.utc
            )
        if checkpoint_id.isascii() and checkpoint_id.isdigit() and len(checkpoint_id) <= 17:
            return datetime.fromtimestamp(0, timezone.utc) + timedelta(
                microseconds=int(checkpoint_id)
            )
    except (ValueError, OverflowError):
        pass
    return None


def orphaned_checkpoints(prefix: str, keys: Iterable[str]) -> dict[str, list[str]]:
    """The checkpoints among ``keys`` (all the keys under ``prefix``) whose file is
    not among them, by the key of that file: left by a file deleted by an older
    jupyters3 or another tool, whatever their ids. Uploads and the trash are left out."""
    keys = list(keys)
    present = set(keys)
    holder = "/" + CHECKPOINTS_DIR + "/"
    found: dict[str, list[str]] = {}
    for key in keys:
        rest = key[len(prefix) :] if key.startswith(prefix) else ""
        at = rest.find(holder)
        if at <= 0 or rest.split("/", 1)[0] in (UPLOADS_DIR, TRASH_DIR):
            continue
        if prefix + rest[:at] not in present:
            found.setdefault(prefix + rest[:at], []).append(key)
    return found


@dataclass(frozen=True, slots=True)
class KeyLayout:
    """Maps normalised API paths to S3 keys under ``prefix`` and back."""

    prefix: str = ""

    def __post_init__(self) -> None:
        if self.prefix != normalize_prefix(self.prefix):
            raise PathError(f"prefix {self.prefix!r} is not normalised")

    def check_length(self, path: str, *, checkpoints: bool = True) -> None:
        """Raise :class:`PathError` if ``path``'s keys would be too long for S3:
        its own key and folder marker, and (``checkpoints``, for anything new)
        the keys of its checkpoints."""
        room = _CHECKPOINT_ROOM if checkpoints else 1  # the "/" of a folder marker
        if path and len(self.file_key(path).encode("utf-8")) + room > MAX_KEY_BYTES:
            raise PathError(too_long(path))

    def move_too_long(self, keys: Iterable[str], old_path: str, new_path: str) -> str | None:
        """The first of ``keys`` (inside the folder ``old_path``) whose key would
        be longer than S3 allows once the folder is moved to ``new_path``."""
        growth = len(self.dir_prefix(new_path).encode()) - len(self.dir_prefix(old_path).encode())
        if growth <= 0:
            return None
        return next((k for k in keys if len(k.encode()) + growth > MAX_KEY_BYTES), None)

    def tree_key_problem(self, key: str, dir_prefix: str) -> str | None:
        """Why ``key``, listed under ``dir_prefix``, must not be used to build
        the key of a write (a copy or a move), or ``None`` if it may be.

        Keys read from a listing are untrusted (other tools write any key): a
        relative part with ``.`` or ``..`` segments, empty segments, NUL or
        anything else the path rules refuse would, behind a proxy that
        normalises paths, write somewhere else. A trailing ``/`` (a folder
        marker) and the reserved names of the layout are fine."""
        if not key.startswith(dir_prefix):
            return f"{key!r} is not inside {dir_prefix!r}"
        parts = key[len(dir_prefix) :].split("/")
        if parts[-1] == "":
            parts.pop()  # a folder marker ("sub/"), or the folder's own ("")
        for part in parts:
            problem = name_problem(part)
            if problem is not None:
                return problem
        return None

    def file_key(self, path: str) -> str:
        """The object holding the file at ``path``."""
        if not path:
            raise PathError("the root is a folder, not a file")
        return self.prefix + path

    def dir_prefix(self, path: str) -> str:
        """The key prefix of everything in the folder ``path`` (also its marker object)."""
        return self.prefix + path + "/" if path else self.prefix

    def keep_marker(self, path: str) -> str:
        """The s3contents-style marker object of the folder ``path``."""
        return self.dir_prefix(path) + KEEP_MARKER

    def trash_prefix(self) -> str:
        """The key prefix of the trash (``delete_to_trash``), under no API path."""
        return self.prefix + TRASH_DIR + "/"

    def checkpoints_prefix(self, path: str) -> str:
        """The key prefix of the checkpoints of the file ``path``."""
        return self.file_key(path) + "/" + CHECKPOINTS_DIR + "/"

    def checkpoint_key(self, path: str, checkpoint_id: str) -> str:
        """The object holding one checkpoint of the file ``path``."""
        problem = checkpoint_id_problem(checkpoint_id)
        if problem is not None:
            raise PathError(problem)
        return self.checkpoints_prefix(path) + checkpoint_id

    def path_for_key(self, key: str) -> str | None:
        """The API path of the file at ``key``, or ``None`` if no valid API path
        names it (outside the prefix, a folder marker, reserved or invalid names)."""
        if not key.startswith(self.prefix):
            return None
        rest = key[len(self.prefix) :]
        if rest == "" or rest.endswith("/"):
            return None
        for part in rest.split("/"):
            if name_problem(part) is not None or part in RESERVED_NAMES:
                return None
        return rest

    def move_key(self, key: str, old_path: str, new_path: str) -> str:
        """The key that ``key`` (inside the folder ``old_path``) has once the
        folder is moved to ``new_path``."""
        old = self.dir_prefix(old_path)
        if not key.startswith(old):
            raise PathError(f"{key!r} is not inside {old!r}")
        return self.dir_prefix(new_path) + key[len(old) :]


@dataclass(slots=True)
class DirListing:
    """What a delimited listing of one folder means.

    ``files`` maps names to their listing entries, ``dirs`` holds the names of
    sub-folders; ``marker`` is the folder's own 0-byte object if it has one and
    ``keep`` whether it has a ``.s3keep`` marker, ``checkpoints`` whether
    checkpoints of a file of the folder's name are stored under it (orphaned, if
    there is no such file). ``exists`` tells whether the folder exists at all (the
    root always does).
    """

    files: dict[str, ObjectSummary] = field(default_factory=dict)
    dirs: list[str] = field(default_factory=list)
    marker: ObjectSummary | None = None
    keep: bool = False
    unlisted: int = 0  # entries no API path can reach (e.g. "a\\b" written by other tools)
    checkpoints: bool = False

    @property
    def exists(self) -> bool:
        return bool(
            self.files or self.dirs or self.marker is not None or self.keep or self.unlisted
        )

    @property
    def empty(self) -> bool:
        """Nothing in it but markers and checkpoints."""
        return not (self.files or self.dirs or self.unlisted)

    def names(self) -> set[str]:
        """Every name taken in the folder, by a file or a folder."""
        return set(self.files) | set(self.dirs)


def classify_listing(
    dir_prefix: str, entries: Iterable[ObjectSummary | CommonPrefix]
) -> DirListing:
    """Sort the entries of a ``delimiter="/"`` listing of ``dir_prefix`` into
    files, sub-folders and markers, following the layout rules above.

    Entries whose names no API path can reach (empty, ``.``/``..``, backslashes,
    control characters) are left out; so are ``.checkpoints/`` and the
    checkpoint holders ``<file>/`` of the files listed.
    """
    listing = DirListing()
    prefixes: list[str] = []
    for entry in entries:
        if isinstance(entry, CommonPrefix):
            if entry.prefix.startswith(dir_prefix) and entry.prefix.endswith("/"):
                prefixes.append(entry.prefix[len(dir_prefix) : -1])
            continue
        if not entry.key.startswith(dir_prefix):
            continue
        name = entry.key[len(dir_prefix) :]
        if name == "":
            listing.marker = entry
        elif name == KEEP_MARKER:
            listing.keep = True
        elif "/" in name or name_problem(name) is not None or name in RESERVED_NAMES:
            listing.unlisted += 1
        else:
            listing.files[name] = entry
    for name in prefixes:
        if name == CHECKPOINTS_DIR:
            listing.checkpoints = True
        if name in (CHECKPOINTS_DIR, UPLOADS_DIR, TRASH_DIR) or name in listing.files:
            # checkpoints (of the folder-named file, or of a file listed here), uploads
            continue
        if name_problem(name) is not None or name in RESERVED_NAMES:
            listing.unlisted += 1
        else:
            listing.dirs.append(name)
    return listing


def probe_says_exists(dir_prefix: str, entries: Iterable[ObjectSummary | CommonPrefix]) -> bool:
    """Whether the first entries of a delimited listing of ``dir_prefix`` show
    that the folder exists: anything but the checkpoints of a file of the same
    name (``<dir_prefix>.checkpoints/``) does."""
    checkpoints = dir_prefix + CHECKPOINTS_DIR + "/"
    return any(not (isinstance(e, CommonPrefix) and e.prefix == checkpoints) for e in entries)


def probe_dir_entries(
    dir_prefix: str, entries: Iterable[ObjectSummary | CommonPrefix]
) -> tuple[bool, ObjectSummary | None]:
    """What the first entries of a delimited listing of ``dir_prefix`` say of the
    folder: whether it exists (:func:`probe_says_exists`), and its marker object if
    it has one (the manager's and the kernel's probes, read one way)."""
    entries = list(entries)
    marker = next(
        (e for e in entries if isinstance(e, ObjectSummary) and e.key == dir_prefix), None
    )
    return probe_says_exists(dir_prefix, entries), marker
