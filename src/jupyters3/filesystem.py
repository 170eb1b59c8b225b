"""An fsspec filesystem for the ``jupyters3://`` protocol (the ``fsspec`` extra).

Registered through the ``fsspec.specs`` entry point, so in a kernel of a JupyterS3
server ``pd.read_csv("jupyters3://data.csv")`` reads ``data.csv`` next to the
notebook, and ``df.to_parquet("jupyters3://out/df.parquet")`` writes where the
file browser shows it. Paths are those of :mod:`jupyters3.files` (relative to its
current folder; ``jupyters3:///x`` from the root), and everything goes through it.
Internally every path is absolute: ``/`` and the API path.
"""

from __future__ import annotations

from typing import Any

from fsspec.spec import AbstractFileSystem
from fsspec.utils import stringify_path

from .files import FileInfo, NotebookFiles, current

__all__ = ["JupyterS3FileSystem"]

PROTOCOL = "jupyters3"


class JupyterS3FileSystem(AbstractFileSystem):  # type: ignore[misc]
    """The contents of the Jupyter server that started this kernel, as fsspec sees
    files (:func:`jupyters3.files.current`). Takes no options."""

    protocol = PROTOCOL
    root_marker = "/"

    @property
    def files(self) -> NotebookFiles:
        return current()

    @classmethod
    def _strip_protocol(cls, path: Any) -> Any:
        if isinstance(path, list):
            return [cls._strip_protocol(p) for p in path]
        path = stringify_path(path)
        for mark in (f"{PROTOCOL}://", f"{PROTOCOL}::"):
            if path.startswith(mark):
                path = path[len(mark) :]
                break
        return "/" + current().resolve(path or ".")

    def _api(self, path: str) -> str:
        return str(self._strip_protocol(path))

    def _details(self, entry: FileInfo) -> dict[str, Any]:
        details: dict[str, Any] = {"name": "/" + entry.path, "size": entry.size, "type": entry.type}
        if entry.last_modified is not None:
            details["LastModified"] = entry.last_modified
            details["mtime"] = entry.last_modified.timestamp()
        if entry.etag is not None:
            details["ETag"] = entry.etag
        return details

    def ls(self, path: str, detail: bool = True, **kwargs: Any) -> list[Any]:
        path = self._api(path)
        try:
            entries = self.files.scandir(path)
        except NotADirectoryError:
            entries = [self.files.info(path)]
        listed = [self._details(e) for e in entries]
        return listed if detail else [e["name"] for e in listed]

    def info(self, path: str, **kwargs: Any) -> dict[str, Any]:
        return self._details(self.files.info(self._api(path)))

    def modified(self, path: str) -> Any:
        return self.files.info(self._api(path)).last_modified

    def _open(
        self,
        path: str,
        mode: str = "rb",
        block_size: int | None = None,
        autocommit: bool = True,
        cache_options: Any = None,
        **kwargs: Any,
    ) -> Any:
        if not autocommit:
            raise NotImplementedError(
                "jupyters3:// has no transactions: each file is uploaded on close"
            )
        return self.files.open(self._api(path), mode, buffering=block_size or -1)

    def pipe_file(self, path: str, value: bytes, mode: str = "overwrite", **kwargs: Any) -> None:
        self.files.write_bytes(self._api(path), value)

    def cat_file(
        self, path: str, start: int | None = None, end: int | None = None, **kwargs: Any
    ) -> bytes:
        if start is None and end is None:
            return self.files.read_bytes(self._api(path))
        return bytes(super().cat_file(path, start, end, **kwargs))

    def rm_file(self, path: str) -> None:
        path = self._api(path)
        if self.files.isdir(path):
            self.files.rmdir(path)
        else:
            self.files.remove(path)

    def _rm(self, path: str) -> None:
        self.rm_file(path)

    def mkdir(self, path: str, create_parents: bool = True, **kwargs: Any) -> None:
        self.files.mkdir(self._api(path))

    def makedirs(self, path: str, exist_ok: bool = False) -> None:
        self.files.mkdir(self._api(path), exist_ok=exist_ok)

    def rmdir(self, path: str) -> None:
        self.files.rmdir(self._api(path))
