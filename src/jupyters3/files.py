"""The file browser's files, from a notebook's code.

In a kernel started by a Jupyter server on JupyterS3, paths are relative to the
notebook's folder, as in the file browser, and what is written shows there at once::

    from jupyters3 import files

    files.write_text("out.csv", "a,b\\n1,2\\n")
    with files.open("data/big.bin", "rb") as f:  # streamed with range requests
        head = f.read(1024)
    files.listdir()            # ['data', 'notebook.ipynb', 'out.csv']
    files.glob("**/*.csv")     # ['out.csv', 'data/more.csv']

Paths follow the contents manager's rules (:mod:`jupyters3.paths`): ``/`` starts
at the root of the contents, ``..`` never leads above it, and nothing outside the
key prefix can be named. Files opened for writing are spooled to a temporary file
and uploaded when closed (multipart when large); if the ``with`` block raises,
nothing is uploaded. The module-level functions use :func:`current`, built from
the kernel's ``JUPYTERS3_*`` variables; :class:`NotebookFiles` takes an explicit
:class:`~jupyters3.location.Location`. Blocking calls on :mod:`s3lite.sync`; no
Jupyter import.
"""

from __future__ import annotations

import errno
import fnmatch
import functools
import inspect
import io
import itertools
import os
import re
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import IO, Any, Concatenate, Literal, NoReturn, ParamSpec, TypeVar

from s3lite import (
    DeleteError,
    NoSuchKey,
    ObjectInfo,
    ObjectSummary,
    PreconditionFailed,
    S3Error,
    denies_access,
)
from s3lite.sync import S3Client

from .location import Location, NoLocationError
from .models import file_type, s3_content_type
from .paths import (
    DIRECTORY_CONTENT_TYPE,
    KEEP_MARKER,
    DirListing,
    KeyLayout,
    PathError,
    classify_listing,
    join,
    probe_dir_entries,
    resolve,
    split,
)

__all__ = [
    "FileInfo",
    "Location",
    "NoLocationError",
    "NotebookFiles",
    "PathError",
    "chdir",
    "current",
    "exists",
    "getcwd",
    "glob",
    "info",
    "isdir",
    "isfile",
    "listdir",
    "mkdir",
    "open",
    "read_bytes",
    "read_text",
    "remove",
    "rmdir",
    "scandir",
    "url",
    "write_bytes",
    "write_text",
]

MiB = 1024 * 1024
READ_BLOCK = 8 * MiB  # bytes per range request of a streamed read
_MAGIC = re.compile(r"[*?[]")
_MODES = {"r", "w", "x", "a"}

PathLike = str | os.PathLike[str]
_P = ParamSpec("_P")
_R = TypeVar("_R")


@dataclass(frozen=True)
class FileInfo:
    """A file or folder: its API path (from the root, no leading ``/``), type and size
    (``0`` for folders); ``last_modified`` is ``None`` for folders without a marker."""

    path: str
    type: Literal["file", "directory"]
    size: int = 0
    last_modified: datetime | None = None
    etag: str | None = None

    @property
    def name(self) -> str:
        return split(self.path)[1]


class NotebookFiles:
    """The contents at ``location``, with a current folder (``location.cwd`` at first).

    Thread-safe; one S3 connection pool, created on first use. ``close()`` it when
    made for a while (the one from :func:`current` lives as long as the kernel).
    """

    def __init__(self, location: Location, *, client: S3Client | None = None) -> None:
        self.location = location
        self.layout = KeyLayout(location.prefix)
        self._cwd = location.cwd
        self._client = client
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"NotebookFiles({self.location.url(self._cwd)!r})"

    def __enter__(self) -> NotebookFiles:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def s3(self) -> S3Client:
        """The blocking S3 client (credentials from the AWS chain, as any process)."""
        if self._client is None:
            with self._lock:
                if self._client is None:
                    loc = self.location
                    verify: bool | str = loc.ca_bundle or loc.verify_tls
                    self._client = S3Client(loc.region, loc.endpoint_url, verify=verify)
        return self._client

    def close(self) -> None:
        """Close the S3 client's connections."""
        if self._client is not None:
            self._client.close()

    @property
    def bucket(self) -> str:
        return self.location.bucket

    # -- paths -----------------------------------------------------------------

    def resolve(self, path: PathLike) -> str:
        """The API path ``path`` names from the current folder (:class:`PathError`
        if it names nothing under the root)."""
        return resolve(self._cwd, os.fspath(path))

    def getcwd(self) -> str:
        """The current folder, as an absolute path (``/`` is the root of the contents)."""
        return "/" + self._cwd

    def chdir(self, path: PathLike) -> None:
        """Make ``path`` the current folder (of this object; the process's own
        working directory is not touched)."""
        target = self.resolve(path)
        if not self._isdir(target):
            self._raise_missing(target, path, want_dir=True)
        self._cwd = target

    def url(self, path: PathLike = ".") -> str:
        """The ``s3://bucket/key`` of ``path`` (for s3fs, boto3, the AWS CLI)."""
        return self.location.url(self.resolve(path))

    # -- reading ---------------------------------------------------------------

    def read_bytes(self, path: PathLike) -> bytes:
        """The whole file, in one request."""
        api = self._file_path(path)
        with self._errors(api, path):
            return self.s3.get_object(self.bucket, self.layout.file_key(api)).body

    def read_text(self, path: PathLike, encoding: str = "utf-8", errors: str = "strict") -> str:
        """The whole file, decoded (UTF-8 by default, whatever the kernel's locale)."""
        return self.read_bytes(path).decode(encoding, errors)

    # -- writing ---------------------------------------------------------------

    def write_bytes(self, path: PathLike, data: bytes | bytearray | memoryview) -> int:
        """Write ``data`` as the file ``path`` (replacing it); returns its size."""
        self._put(path, bytes(data), text=False)
        return len(data)

    def write_text(
        self, path: PathLike, text: str, encoding: str = "utf-8", errors: str = "strict"
    ) -> int:
        """Write ``text`` as the file ``path`` (UTF-8 by default); returns its length."""
        self._put(path, text.encode(encoding, errors), text=True)
        return len(text)

    def _put(self, path: PathLike, data: bytes, text: bool) -> None:
        api = self._writable_path(path)
        with self._errors(api, path):
            self.s3.put_object(
                self.bucket,
                self.layout.file_key(api),
                data,
                content_type=self._content_type(api, text=text),
                **self._write_args(),
            )

    def open(
        self,
        path: PathLike,
        mode: str = "r",
        buffering: int = -1,
        encoding: str | None = None,
        errors: str | None = None,
        newline: str | None = None,
    ) -> IO[Any]:
        """A file object, as the built-in ``open``: modes ``r``, ``w``, ``x``, ``a``,
        each text (the default; UTF-8 unless ``encoding``) or binary (``b``).

        Reads stream with range requests of ``buffering`` bytes (default 8 MiB) and
        fail if the object changes meanwhile. Writes go to a temporary file and are
        uploaded on ``close()``; leaving a ``with`` block by an exception uploads
        nothing. ``+`` (read and write at once) is not supported.
        """
        kind, binary = _parse_mode(mode)
        if binary and (encoding is not None or errors is not None or newline is not None):
            raise ValueError("binary mode doesn't take an encoding, errors or newline argument")
        block = READ_BLOCK if buffering in (-1, 0, 1) else buffering
        if buffering == 0 and not binary:
            raise ValueError("can't have unbuffered text I/O")
        name = os.fspath(path)
        if kind == "r":
            api = self._file_path(path)
            with self._errors(api, path):
                head = self.s3.head_object(self.bucket, self.layout.file_key(api))
            raw: io.RawIOBase = _RangeReader(self, api, head, name)
            reader = io.BufferedReader(raw, buffer_size=block)
            if binary:
                return reader
            return io.TextIOWrapper(reader, encoding or "utf-8", errors, newline)
        api = self._writable_path(path, exclusive=kind == "x")
        upload = _Upload(self, api, name, text=not binary, exclusive=kind == "x")
        if kind == "a":
            upload.preload()
        writer = _BufferedUpload(upload, buffer_size=io.DEFAULT_BUFFER_SIZE)
        if binary:
            return writer
        return _TextUpload(writer, encoding or "utf-8", errors, newline)

    # -- folders and names -----------------------------------------------------

    def info(self, path: PathLike = ".") -> FileInfo:
        """The file or folder ``path``; ``FileNotFoundError`` if there is none."""
        api = self.resolve(path)
        if api:
            with self._errors(api, path):
                try:
                    head = self.s3.head_object(self.bucket, self.layout.file_key(api))
                except NoSuchKey:
                    pass
                else:
                    return FileInfo(api, "file", head.size, head.last_modified, head.etag)
        exists, marker = self._probe_dir(api)
        if not exists:
            raise FileNotFoundError(
                errno.ENOENT, f"No such file or folder ({self.url(path)})", name_of(path)
            )
        return FileInfo(api, "directory", 0, marker.last_modified if marker else None)

    def exists(self, path: PathLike) -> bool:
        """Whether a file or folder is at ``path``."""
        try:
            self.info(path)
        except FileNotFoundError:
            return False
        return True

    def isfile(self, path: PathLike) -> bool:
        """Whether a file is at ``path``."""
        api = self.resolve(path)
        if not api:
            return False
        with self._errors(api, path):
            return self._head(api) is not None

    def isdir(self, path: PathLike) -> bool:
        """Whether a folder is at ``path`` (the root always is)."""
        return self._isdir(self.resolve(path))

    def scandir(self, path: PathLike = ".") -> list[FileInfo]:
        """The files and folders in the folder ``path``, by name, in one request per
        1,000 entries; checkpoints and folder markers are not listed."""
        api = self.resolve(path)
        with self._errors(api, path):
            listing = self._list_dir(api)
        if not listing.exists and api:
            self._raise_missing(api, path, want_dir=True)
        entries = [
            FileInfo(join(api, name), "file", o.size, o.last_modified, o.etag)
            for name, o in listing.files.items()
        ]
        entries += [FileInfo(join(api, name), "directory") for name in listing.dirs]
        return sorted(entries, key=lambda e: e.name)

    def listdir(self, path: PathLike = ".") -> list[str]:
        """The names in the folder ``path``, sorted, as ``os.listdir``."""
        return [e.name for e in self.scandir(path)]

    def mkdir(self, path: PathLike, exist_ok: bool = False) -> None:
        """Create the folder ``path`` (and, as S3 has it, every folder above it)."""
        api = self.resolve(path)
        if not api:
            if exist_ok:
                return
            raise FileExistsError(errno.EEXIST, f"Folder exists ({self.url(path)})", name_of(path))
        self.layout.check_length(api)
        with self._errors(api, path):
            if self._head(api) is not None:
                raise FileExistsError(
                    errno.EEXIST, f"A file is there ({self.url(path)})", name_of(path)
                )
            if self._probe_dir(api)[0]:
                if exist_ok:
                    return
                raise FileExistsError(
                    errno.EEXIST, f"Folder exists ({self.url(path)})", name_of(path)
                )
            self._check_parent(api, path)
            self.s3.put_object(
                self.bucket,
                self.layout.dir_prefix(api),
                b"",
                content_type=DIRECTORY_CONTENT_TYPE,
                **self._write_args(),
            )

    def remove(self, path: PathLike) -> None:
        """Delete the file ``path`` with its checkpoints, as the file browser does: they
        go first, so a failure midway leaves the file, never its checkpoints alone."""
        api = self._file_path(path)
        with self._errors(api, path):
            if self._head(api) is None:
                self._raise_missing(api, path)
            checkpoints = [
                e.key
                for e in self.s3.list_objects(self.bucket, self.layout.checkpoints_prefix(api))
                if isinstance(e, ObjectSummary)
            ]
            if checkpoints:
                failed = self.s3.delete_objects(self.bucket, checkpoints)
                self._check_deleted(failed, len(checkpoints), "checkpoints", path)
            self.s3.delete_object(self.bucket, self.layout.file_key(api))

    def rmdir(self, path: PathLike) -> None:
        """Delete the empty folder ``path``."""
        api = self.resolve(path)
        if not api:
            raise PermissionError(errno.EPERM, "Can't delete the root folder", name_of(path))
        with self._errors(api, path):
            listing = self._list_dir(api)
            if not listing.exists:
                self._raise_missing(api, path, want_dir=True)
            if not listing.empty:
                raise OSError(
                    errno.ENOTEMPTY, f"Folder not empty ({self.url(path)})", name_of(path)
                )
            markers = [self.layout.dir_prefix(api), self.layout.keep_marker(api)]
            failed = self.s3.delete_objects(self.bucket, markers)
            self._check_deleted(failed, len(markers), "folder markers", path)

    def glob(self, pattern: str) -> list[str]:
        """The paths matching ``pattern``, as the standard ``glob.glob``: ``*``, ``?``,
        ``[...]``, and ``**`` for any number of folders; names starting with a dot
        only match a pattern part starting with one. Paths come back in the form of
        the pattern (relative to the current folder unless it starts with ``/``)."""
        parts = [p for p in pattern.split("/") if p]
        first = next((i for i, p in enumerate(parts) if _MAGIC.search(p)), None)
        if first is None:
            return [pattern] if self.exists(pattern) else []
        head = ("/" if pattern.startswith("/") else "") + "/".join(parts[:first])
        tail = parts[first:]
        dirs_only = pattern.endswith("/")
        base = self.resolve(head or ".")
        if not self._isdir(base):
            return []
        deep = len(tail) > 1 or "**" in tail
        with self._errors(base, head):
            below = self._below(base, deep)
        found = sorted(
            p + ("/" if dirs_only else "")
            for p, is_dir in below.items()
            if (is_dir or not dirs_only) and _match(tail, p.split("/"))
        )
        if not head:
            return found
        return [head + ("" if head.endswith("/") else "/") + p for p in found]

    # -- internals -------------------------------------------------------------

    def _below(self, base: str, deep: bool) -> dict[str, bool]:
        """What is in the folder ``base``: paths relative to it, and whether each is a
        folder; with ``deep``, at every depth (one recursive listing, not one per folder)."""
        if not deep:
            listing = self._list_dir(base)
            return {name: False for name in listing.files} | {name: True for name in listing.dirs}
        prefix = self.layout.dir_prefix(base)
        inside = KeyLayout(prefix)
        found: dict[str, bool] = {}
        for entry in self.s3.list_objects(self.bucket, prefix):
            if not isinstance(entry, ObjectSummary):
                continue
            key, is_dir = entry.key, False
            for marker in ("/" + KEEP_MARKER, "/"):  # a folder's marker names the folder
                if key.endswith(marker):
                    key, is_dir = key[: -len(marker)], True
                    break
            rel = inside.path_for_key(key)
            if rel is None:
                continue
            parts = rel.split("/")
            for i in range(1, len(parts)):
                found["/".join(parts[:i])] = True
            found[rel] = found.get(rel, False) or is_dir
        return found

    def _list_dir(self, api: str) -> DirListing:
        """The whole delimited listing of the folder ``api``, classified."""
        prefix = self.layout.dir_prefix(api)
        return classify_listing(prefix, self.s3.list_objects(self.bucket, prefix, "/"))

    def _file_path(self, path: PathLike) -> str:
        api = self.resolve(path)
        if not api:
            raise IsADirectoryError(errno.EISDIR, f"Is a folder ({self.url(path)})", name_of(path))
        return api

    def _writable_path(self, path: PathLike, exclusive: bool = False) -> str:
        """``path`` resolved, once sure a file may be written there: not a folder,
        not in a file's place, not too long for S3."""
        api = self._file_path(path)
        self.layout.check_length(api)
        with self._errors(api, path):
            if exclusive and self._head(api) is not None:
                raise FileExistsError(
                    errno.EEXIST, f"File exists ({self.url(path)})", name_of(path)
                )
            if self._probe_dir(api)[0]:
                raise IsADirectoryError(
                    errno.EISDIR, f"A folder is there ({self.url(path)})", name_of(path)
                )
            self._check_parent(api, path)
        return api

    def _check_parent(self, api: str, path: PathLike) -> None:
        parent = split(api)[0]
        if parent and self._head(parent) is not None:
            raise NotADirectoryError(
                errno.ENOTDIR,
                f"Not a folder: {parent} is a file ({self.location.url(parent)})",
                name_of(path),
            )

    def _head(self, api: str) -> ObjectInfo | None:
        try:
            return self.s3.head_object(self.bucket, self.layout.file_key(api))
        except NoSuchKey:
            return None

    def _probe_dir(self, api: str) -> tuple[bool, ObjectSummary | None]:
        if not api:
            return True, None
        prefix = self.layout.dir_prefix(api)
        with self.s3.list_objects(self.bucket, prefix, "/", page_size=2) as listing:
            return probe_dir_entries(prefix, itertools.islice(listing, 2))

    def _isdir(self, api: str) -> bool:
        with self._errors(api, api):
            return self._probe_dir(api)[0]

    def _raise_missing(self, api: str, path: PathLike, want_dir: bool = False) -> NoReturn:
        """Raise the error ``os`` would for a missing ``path``: it is the other kind,
        or not there at all."""
        if want_dir and api and self._head(api) is not None:
            raise NotADirectoryError(
                errno.ENOTDIR, f"Not a folder ({self.url(path)})", name_of(path)
            )
        if not want_dir and self._probe_dir(api)[0]:
            raise IsADirectoryError(errno.EISDIR, f"Is a folder ({self.url(path)})", name_of(path))
        what = "folder" if want_dir else "file"
        raise FileNotFoundError(errno.ENOENT, f"No such {what} ({self.url(path)})", name_of(path))

    @contextmanager
    def _errors(self, api: str, path: PathLike) -> Iterator[None]:
        """S3's answers as the ``OSError`` subclasses file code expects."""
        try:
            yield
        except NoSuchKey:
            self._raise_missing(api, path)
        except S3Error as e:
            if not denies_access(e.code, e.status):
                raise
            raise PermissionError(
                errno.EACCES,
                f"S3 refused access ({self.url(path)}): {e.code}: {e.message}",
                name_of(path),
            ) from None

    def _check_deleted(
        self, failed: list[DeleteError], total: int, what: str, path: PathLike
    ) -> None:
        """Raise if DeleteObjects left any of ``total`` keys (``failed``): a
        ``PermissionError`` if S3 denied each, else ``OSError(EIO)``, naming them."""
        if not failed:
            return
        left = "; ".join(f"{e.key}: {e.code} {e.message}".rstrip() for e in failed)
        message = (
            f"Could not delete {len(failed)} of the {total} {what} of {self.url(path)} ({left})"
        )
        if all(denies_access(e.code) for e in failed):
            raise PermissionError(errno.EACCES, message, name_of(path))
        raise OSError(errno.EIO, message, name_of(path))

    def _content_type(self, api: str, text: bool) -> str:
        return s3_content_type(api, file_type(api), "text" if text else None)

    def _write_args(self) -> dict[str, Any]:
        return {"sse": self.location.sse, "sse_kms_key_id": self.location.kms_key_id}


def name_of(path: PathLike) -> str:
    return os.fspath(path)


def _parse_mode(mode: str) -> tuple[str, bool]:
    kinds = [c for c in mode if c in _MODES]
    rest = set(mode) - _MODES - {"b", "t"}
    if (
        len(kinds) != 1
        or rest - {"+"}
        or len(set(mode)) != len(mode)
        or ("b" in mode and "t" in mode)
    ):
        raise ValueError(f"invalid mode: {mode!r}")
    if "+" in mode:
        raise ValueError(f"mode {mode!r}: reading and writing one S3 file at once is not supported")
    return kinds[0], "b" in mode


def _match(pattern: list[str], parts: list[str]) -> bool:
    """Whether the path ``parts`` matches the glob ``pattern`` part by part."""
    if not pattern:
        return not parts
    first, rest = pattern[0], pattern[1:]
    if first == "**":
        return _match(rest, parts) or (
            bool(parts) and not parts[0].startswith(".") and _match(pattern, parts[1:])
        )
    if not parts or (parts[0].startswith(".") and not first.startswith(".")):
        return False
    return fnmatch.fnmatchcase(parts[0], first) and _match(rest, parts[1:])


class _RangeReader(io.RawIOBase):
    """An object read with range requests, pinned to its ETag."""

    def __init__(self, files: NotebookFiles, api: str, head: ObjectInfo, name: str) -> None:
        super().__init__()
        self._files, self._key, self.name = files, head.key, name
        self._size, self._etag = head.size, head.etag
        self._pos = 0
        self._api = api

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}.get(whence)
        if base is None:
            raise ValueError(f"invalid whence ({whence})")
        if base + offset < 0:
            raise OSError(errno.EINVAL, "negative seek position")
        self._pos = base + offset
        return self._pos

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        data = self._get(len(view))
        view[: len(data)] = data
        return len(data)

    def readall(self) -> bytes:
        return self._get(self._size - self._pos)

    def _get(self, n: int) -> bytes:
        if self.closed:
            raise ValueError("I/O operation on closed file")
        n = min(n, self._size - self._pos)
        if n <= 0:
            return b""
        files = self._files
        with files._errors(self._api, self.name):
            try:
                data = files.s3.get_object(
                    files.bucket,
                    self._key,
                    range=(self._pos, self._pos + n - 1),
                    if_match=self._etag,
                ).body
            except (PreconditionFailed, NoSuchKey):
                raise OSError(
                    errno.ESTALE,
                    f"The file changed in S3 while it was being read "
                    f"({files.location.url(self._api)})",
                    self.name,
                ) from None
        self._pos += len(data)
        return data


class _Upload(io.RawIOBase):
    """Bytes spooled to a temporary file, uploaded to S3 on ``close()``."""

    def __init__(
        self, files: NotebookFiles, api: str, name: str, *, text: bool, exclusive: bool
    ) -> None:
        super().__init__()
        self._files, self._api, self.name = files, api, name
        self._text, self._exclusive = text, exclusive
        self._spool = tempfile.TemporaryFile()  # noqa: SIM115 - closed by close()
        self.abandoned = False

    def preload(self) -> None:
        """Start from the file's current content (append mode)."""
        files = self._files
        with files._errors(self._api, self.name), suppress(NoSuchKey):
            files.s3.get_object(
                files.bucket, files.layout.file_key(self._api), sink=self._spool.write
            )

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        if self.closed:
            raise ValueError("I/O operation on closed file")
        return self._spool.write(data)

    def close(self) -> None:
        if self.closed:
            return
        try:
            if not self.abandoned:
                self._upload()
        finally:
            self._spool.close()
            super().close()

    def _upload(self) -> None:
        files, api = self._files, self._api
        self._spool.seek(0)
        with files._errors(api, self.name):
            try:
                files.s3.put_object(
                    files.bucket,
                    files.layout.file_key(api),
                    self._spool,
                    content_type=files._content_type(api, text=self._text),
                    if_none_match="*" if self._exclusive else None,
                    **files._write_args(),
                )
            except PreconditionFailed:
                raise FileExistsError(
                    errno.EEXIST, f"File exists ({files.location.url(api)})", self.name
                ) from None


class _AbandonOnError:
    """A file being written whose ``with`` block, left by an exception, uploads nothing."""

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is not None:
            binary = getattr(self, "buffer", self)  # a text file's binary layer
            raw = getattr(binary, "raw", None)
            if isinstance(raw, _Upload):
                raw.abandoned = True
        self.close()  # type: ignore[attr-defined]


class _BufferedUpload(_AbandonOnError, io.BufferedWriter):
    """A binary file being written."""


class _TextUpload(_AbandonOnError, io.TextIOWrapper):
    """A text file being written."""


# -- the kernel's own files: module-level functions ------------------------------------

_current: NotebookFiles | None = None
_current_lock = threading.Lock()


def current() -> NotebookFiles:
    """The contents of the Jupyter server that started this kernel, from the
    notebook's folder (``JUPYTERS3_*``; :class:`NoLocationError` without them)."""
    global _current
    if _current is None:
        with _current_lock:
            if _current is None:
                _current = NotebookFiles(Location.from_env())
    return _current


def _on_current(method: Callable[Concatenate[NotebookFiles, _P], _R]) -> Callable[_P, _R]:
    """The module-level twin of a method of :class:`NotebookFiles`, on :func:`current`."""

    @functools.wraps(method)
    def call(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        return method(current(), *args, **kwargs)

    sig = inspect.signature(method)
    call.__signature__ = sig.replace(parameters=list(sig.parameters.values())[1:])  # type: ignore[attr-defined]
    return call


open = _on_current(NotebookFiles.open)
read_bytes = _on_current(NotebookFiles.read_bytes)
read_text = _on_current(NotebookFiles.read_text)
write_bytes = _on_current(NotebookFiles.write_bytes)
write_text = _on_current(NotebookFiles.write_text)
listdir = _on_current(NotebookFiles.listdir)
scandir = _on_current(NotebookFiles.scandir)
info = _on_current(NotebookFiles.info)
exists = _on_current(NotebookFiles.exists)
isfile = _on_current(NotebookFiles.isfile)
isdir = _on_current(NotebookFiles.isdir)
mkdir = _on_current(NotebookFiles.mkdir)
remove = _on_current(NotebookFiles.remove)
rmdir = _on_current(NotebookFiles.rmdir)
glob = _on_current(NotebookFiles.glob)
getcwd = _on_current(NotebookFiles.getcwd)
chdir = _on_current(NotebookFiles.chdir)
url = _on_current(NotebookFiles.url)
