"""Chunked uploads: the contents API's saves with a ``chunk`` number, as
jupyter_server's ``largefilemanager.py`` does for local files.

Chunk 1 starts an upload, chunks 2, 3... follow in order, chunk -1 is the last.
The chunks are buffered up to one part (``upload_part_size``) and go to S3 as a
multipart upload; a small upload is one PUT. Nothing is visible at the final
key before the last chunk, and an upload that fails, goes out of order, or
stays idle longer than ``upload_timeout`` is aborted, so no parts are left.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, TypeVar

from tornado.web import HTTPError

from .errors import s3_errors
from .models import Model, content_to_bytes, s3_content_type
from .store import S3Store

__all__ = ["ChunkedUploads", "Upload", "chunk_number", "maybe_off_loop"]

MiB = 1024 * 1024
_T = TypeVar("_T")
# Content larger than this is encoded/decoded off the event loop.
_OFF_LOOP_BYTES = 1 * MiB


async def maybe_off_loop(size: int, fn: Callable[[], _T]) -> _T:
    """``fn()``, in a thread when ``size`` is large enough to stall the event loop."""
    return await asyncio.to_thread(fn) if size > _OFF_LOOP_BYTES else fn()


def chunk_number(model: Model) -> int:
    """The model's chunk number (1, 2, ... or -1 for the last), or a 400."""
    chunk = model["chunk"]
    if isinstance(chunk, bool) or not isinstance(chunk, int) or not (chunk >= 1 or chunk == -1):
        raise HTTPError(400, f"Invalid chunk number {chunk!r}")
    return chunk


@dataclass
class Upload:
    """A chunked upload in progress: at most one part is buffered in memory."""

    key: str
    content_type: str
    started: datetime
    touched: float
    next_chunk: int = 2
    upload_id: str | None = None
    parts: list[tuple[int, str]] = field(default_factory=list)
    buffer: bytearray = field(default_factory=bytearray)
    size: int = 0
    busy: bool = False


class ChunkedUploads:
    """The uploads in progress, one per API path."""

    def __init__(self, log: logging.Logger | logging.LoggerAdapter[Any]) -> None:
        self.log = log
        self._uploads: dict[str, Upload] = {}

    async def save_chunk(
        self,
        store: S3Store,
        model: Model,
        path: str,
        *,
        part_size: int,
        timeout: float,
        check_new_file: Callable[[str], Awaitable[None]],
    ) -> Upload:
        """Add chunk ``model["chunk"]`` (validated by :func:`chunk_number`) of the
        file at ``path``; the returned upload is complete when the chunk was -1.
        ``check_new_file`` vets a path with no file yet (its parent must exist...)."""
        chunk = model["chunk"]
        await self.reap(store, timeout)

        upload = self._uploads.get(path)
        if chunk == 1:
            with s3_errors("uploading", path):
                store.layout.check_length(path)
            if upload is not None:
                self._uploads.pop(path)
                await self._abort(store, upload, path)
            key = store.layout.file_key(path)
            with s3_errors("uploading", path):
                if await store.head(key) is None:
                    await check_new_file(path)
            upload = Upload(
                key=key,
                content_type=s3_content_type(path, "file", model.get("format")),
                started=datetime.now(timezone.utc),
                touched=time.monotonic(),
            )
            self._uploads[path] = upload
            upload.next_chunk = 1
        elif upload is None:
            raise HTTPError(
                400, f"No upload of {path} in progress (chunk {chunk}): upload it again"
            )
        if upload.busy:
            raise HTTPError(409, f"Another chunk of the upload of {path} is being saved")
        if chunk != -1 and chunk != upload.next_chunk:
            self._uploads.pop(path, None)
            await self._abort(store, upload, path)
            raise HTTPError(
                400, f"Chunk {chunk} of {path} is out of order (expected {upload.next_chunk})"
            )

        upload.busy = True
        try:
            content, fmt = model["content"], model.get("format")
            size = len(content) if isinstance(content, str) else 0
            data = await maybe_off_loop(size, lambda: content_to_bytes(content, fmt, path))
            upload.buffer += data
            upload.size += len(data)
            with s3_errors("uploading", path):
                if chunk == -1:
                    await self._finish(store, upload)
                elif len(upload.buffer) >= part_size:
                    await self._upload_part(store, upload)
            upload.next_chunk += 1
        except BaseException:
            if self._uploads.get(path) is upload:
                del self._uploads[path]
            await self._abort(store, upload, path)
            raise
        finally:
            upload.busy = False
            upload.touched = time.monotonic()
        if chunk == -1:
            self._uploads.pop(path, None)
        return upload

    @property
    def active(self) -> int:
        """How many uploads are in progress."""
        return len(self._uploads)

    async def abort_all(self, store: S3Store) -> None:
        """Abort every upload in progress (at shutdown: no parts are left behind)."""
        for path, upload in list(self._uploads.items()):
            del self._uploads[path]
            await self._abort(store, upload, path)

    async def reap(self, store: S3Store, timeout: float) -> None:
        """Abort every upload idle for more than ``timeout`` seconds."""
        now = time.monotonic()
        for path, upload in list(self._uploads.items()):
            if not upload.busy and now - upload.touched > timeout:
                self.log.info("jupyters3: aborting the stale upload of %s", path)
                del self._uploads[path]
                await self._abort(store, upload, path)

    async def _upload_part(self, store: S3Store, upload: Upload) -> None:
        if upload.upload_id is None:
            upload.upload_id = await store.start_upload(upload.key, upload.content_type)
        number = len(upload.parts) + 1
        etag = await store.upload_part(
            upload.key, upload.upload_id, number, memoryview(upload.buffer)
        )
        upload.parts.append((number, etag))
        upload.buffer = bytearray()

    async def _finish(self, store: S3Store, upload: Upload) -> None:
        if upload.upload_id is None:
            await store.write(upload.key, bytes(upload.buffer), upload.content_type)
            upload.buffer = bytearray()
            return
        if upload.buffer:
            await self._upload_part(store, upload)
        await store.complete_upload(upload.key, upload.upload_id, upload.parts)
        upload.upload_id = None

    async def _abort(self, store: S3Store, upload: Upload, path: str) -> None:
        upload.buffer = bytearray()
        if upload.upload_id is None:
            return
        upload_id, upload.upload_id = upload.upload_id, None
        try:
            await store.abort_upload(upload.key, upload_id)
        except Exception as e:
            self.log.warning("jupyters3: could not abort the upload of %s: %s", path, e)
