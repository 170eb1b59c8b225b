"""Chunked uploads: the contents API's saves with a ``chunk`` number, as
jupyter_server's ``largefilemanager.py`` does for local files.

Chunk 1 starts an upload, chunks 2, 3... follow in order, chunk -1 is the last.
Nothing about an upload is kept in the server's memory: its state is in S3, under
the hidden folder ``.jupyters3-uploads/`` of the prefix, so any server process
(after a restart, or another replica behind a load balancer) takes the next chunk:

- ``<stage>/<h>/<token>/<n>-<offset>``: chunk ``n`` as an object of its own
  (``h`` hashes the API path, ``token`` is one upload of it, ``offset`` the bytes
  before the chunk). Browsers send 1 MiB chunks and S3 parts must be 5 MiB, so
  chunks are staged until they add up to ``upload_part_size``;
- ``<stage>/<h>/<token>``: the key of the multipart upload the staged chunks are
  merged into, part number = the last chunk merged (found with
  ListMultipartUploads, its parts with ListParts).

The newest chunk always stays staged until the next one arrives, so a chunk sent
again (a browser's retry) replaces it, and its time says when the upload was last
active. The last chunk writes the file in one PUT (small files) or completes the
multipart upload and copies it server-side to the file's key: nothing is visible
there before the last chunk, and the file's key is written once.

An upload that fails or goes out of order is aborted; one idle for longer than
``upload_timeout`` is aborted by any process's reaper (by S3's times).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, TypeVar

from tornado.web import HTTPError

from s3lite import MultipartUpload, NoSuchUpload, ObjectSummary

from .errors import s3_errors
from .models import Model, content_to_bytes, s3_content_type
from .paths import UPLOADS_DIR
from .store import S3Store

__all__ = ["ChunkSaved", "ChunkedUploads", "chunk_number", "maybe_off_loop"]

MiB = 1024 * 1024
_T = TypeVar("_T")
# Content larger than this is encoded/decoded off the event loop.
_OFF_LOOP_BYTES = 1 * MiB
_MAX_PART_NUMBER = 10_000  # S3's


async def maybe_off_loop(size: int, fn: Callable[[], _T]) -> _T:
    """``fn()``, in a thread when ``size`` is large enough to stall the event loop."""
    return await asyncio.to_thread(fn) if size > _OFF_LOOP_BYTES else fn()


def chunk_number(model: Model) -> int:
    """The model's chunk number (1, 2, ... or -1 for the last), or a 400."""
    chunk = model["chunk"]
    if isinstance(chunk, bool) or not isinstance(chunk, int) or not (chunk >= 1 or chunk == -1):
        raise HTTPError(400, f"Invalid chunk number {chunk!r}")
    return chunk


@dataclass(frozen=True)
class ChunkSaved:
    """What a saved chunk tells the client: the file's size so far and when the
    upload started."""

    size: int
    started: datetime


@dataclass(frozen=True)
class _Staged:
    number: int
    offset: int
    obj: ObjectSummary

    @property
    def end(self) -> int:
        return self.offset + self.obj.size


@dataclass
class _State:
    """One upload of one path, as S3 holds it."""

    base: str  # <stage>/<h>/
    token: str
    chunks: dict[int, _Staged] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return self.base + self.token

    @property
    def started(self) -> datetime:
        return datetime.fromtimestamp(int(self.token[:20]) / 1e9, timezone.utc)

    @property
    def last(self) -> _Staged:
        return self.chunks[max(self.chunks)]


def _new_token() -> str:
    # sorts by start time: the newest upload of a path is the greatest token
    return f"{time.time_ns():020d}{secrets.token_hex(4)}"


class ChunkedUploads:
    """Chunked uploads kept in S3. In memory only hints: which uploads this process
    took the newest chunk of (for :meth:`abort_mine` at shutdown), which paths have a
    chunk being saved here now, and the bytes of the chunks it staged (by key and
    ETag, at most a part per upload), which spare reading them back to merge them."""

    def __init__(self, log: logging.Logger | logging.LoggerAdapter[Any]) -> None:
        self.log = log
        self._mine: dict[str, tuple[str, str, str]] = {}  # path: (base, token, newest key)
        self._busy: set[str] = set()
        self._staged: dict[str, tuple[str, bytes]] = {}  # key: (etag, bytes)

    @staticmethod
    def stage(store: S3Store) -> str:
        """The key prefix of every upload's state."""
        return store.layout.prefix + UPLOADS_DIR + "/"

    def _base(self, store: S3Store, path: str) -> str:
        return self.stage(store) + hashlib.sha256(path.encode()).hexdigest()[:32] + "/"

    @property
    def active(self) -> int:
        """How many uploads this process took the newest chunk of."""
        return len(self._mine)

    async def save_chunk(
        self,
        store: S3Store,
        model: Model,
        path: str,
        *,
        part_size: int,
        timeout: float,
        check_new_file: Callable[[str], Awaitable[None]],
    ) -> ChunkSaved:
        """Add chunk ``model["chunk"]`` (validated by :func:`chunk_number`) of the
        file at ``path``; with chunk -1 the file is written. ``check_new_file`` vets
        a path with no file yet (its parent must exist...)."""
        chunk = model["chunk"]
        if path in self._busy:
            raise HTTPError(409, f"Another chunk of the upload of {path} is being saved")
        self._busy.add(path)
        try:
            return await self._save_chunk(
                store, model, path, chunk, part_size, timeout, check_new_file
            )
        finally:
            self._busy.discard(path)

    async def _save_chunk(
        self,
        store: S3Store,
        model: Model,
        path: str,
        chunk: int,
        part_size: int,
        timeout: float,
        check_new_file: Callable[[str], Awaitable[None]],
    ) -> ChunkSaved:
        base = self._base(store, path)
        content_type = s3_content_type(path, "file", model.get("format"))
        if chunk == 1:
            with s3_errors("uploading", path):
                store.layout.check_length(path)
                await self.reap(store, timeout)
                if await store.head(store.layout.file_key(path)) is None:
                    await check_new_file(path)
                await self._discard(store, base, None)
            state = _State(base, _new_token())
        else:
            with s3_errors("uploading", path):
                state_or_none = await self._load(store, base)
            if state_or_none is None:
                self._mine.pop(path, None)
                raise HTTPError(
                    400, f"No upload of {path} in progress (chunk {chunk}): upload it again"
                )
            state = state_or_none
            last = max(state.chunks)
            if chunk != -1 and chunk > last + 1:
                await self._discard(store, base, path)
                raise HTTPError(
                    400, f"Chunk {chunk} of {path} is out of order (expected {last + 1})"
                )
            if chunk != -1 and chunk <= last and chunk not in state.chunks:
                raise HTTPError(
                    400,
                    f"Chunk {chunk} of {path} was already stored with the chunks after it "
                    f"(the upload is at chunk {last}): send chunk {last + 1}, or upload it again",
                )
        try:
            content, fmt = model["content"], model.get("format")
            size = len(content) if isinstance(content, str) else 0
            data = await maybe_off_loop(size, lambda: content_to_bytes(content, fmt, path))
            with s3_errors("uploading", path):
                if chunk == -1:
                    total = await self._finish(store, state, data, path, content_type)
                    self._mine.pop(path, None)
                    return ChunkSaved(total, state.started)
                saved = await self._stage(store, state, chunk, data)
                self._mine[path] = (base, state.token, saved.obj.key)
                if chunk == max(state.chunks):
                    earlier = [s for n, s in sorted(state.chunks.items()) if n < chunk]
                    if sum(s.obj.size for s in earlier) >= part_size:
                        await self._merge(store, state, earlier, content_type)
                return ChunkSaved(saved.end, state.started)
        except BaseException:
            await self._discard(store, base, path)
            raise

    # -- the state in S3 -------------------------------------------------------------

    async def _load(self, store: S3Store, base: str) -> _State | None:
        """The newest upload under ``base`` that has chunks (one listing)."""
        states: dict[str, _State] = {}
        for obj in await store.objects_under(base):
            token, _, name = obj.key[len(base) :].partition("/")
            number, _, offset = name.partition("-")
            if not (number.isdigit() and offset.isdigit() and token[:20].isdigit()):
                continue  # a completed upload not yet copied, or a stranger
            state = states.setdefault(token, _State(base, token))
            state.chunks[int(number)] = _Staged(int(number), int(offset), obj)
        return states[max(states)] if states else None

    async def _stage(self, store: S3Store, state: _State, number: int, data: bytes) -> _Staged:
        """Write chunk ``number``: after the last one, or in place of one sent before
        (then the chunks after it are dropped: the client sends them again)."""
        if number in state.chunks:
            offset = state.chunks[number].offset
        else:
            offset = state.last.end if state.chunks else 0
        later = [s.obj.key for n, s in state.chunks.items() if n >= number]
        key = f"{state.key}/{number:05d}-{offset}"
        written = await store.write(key, data, "application/octet-stream")
        self._staged[key] = (written.etag, data)
        staged = _Staged(
            number,
            offset,
            ObjectSummary(key, len(data), written.etag, datetime.now(timezone.utc)),
        )
        stale = [k for k in later if k != key]
        for k in stale:
            self._staged.pop(k, None)
        if stale:
            await store.delete_keys(stale)
        state.chunks = {n: s for n, s in state.chunks.items() if n < number}
        state.chunks[number] = staged
        return staged

    async def _upload(self, store: S3Store, state: _State) -> MultipartUpload | None:
        """The multipart upload of ``state`` (the newest, if a retried start made two)."""
        found = [
            u
            async for u in store.s3.list_multipart_uploads(store.bucket, state.key)
            if u.key == state.key
        ]
        return max(found, key=lambda u: u.initiated) if found else None

    async def _read(self, store: S3Store, chunks: list[_Staged]) -> bytearray:
        """The staged ``chunks`` one after the other: the ones this process staged
        (unchanged since) from memory, the others read at once (at most a part)."""

        async def body(staged: _Staged) -> bytes:
            known = self._staged.pop(staged.obj.key, None)
            if known is not None and known[0].strip('"') == staged.obj.etag.strip('"'):
                return known[1]
            obj = await store.read(staged.obj.key)
            if obj is None:
                raise HTTPError(400, "A chunk of this upload is gone: upload it again")
            return obj.body

        buffer = bytearray()
        for data in await asyncio.gather(*(body(s) for s in chunks)):
            buffer += data
        return buffer

    def _forget(self, base: str) -> None:
        for key in [k for k in self._staged if k.startswith(base)]:
            del self._staged[key]

    async def _merge(
        self, store: S3Store, state: _State, chunks: list[_Staged], content_type: str
    ) -> None:
        """Merge staged ``chunks`` into one part, numbered after the last of them
        (so merging them again after a failure replaces that same part)."""
        number = chunks[-1].number
        if number > _MAX_PART_NUMBER:
            raise HTTPError(400, f"Too many chunks: an upload has at most {_MAX_PART_NUMBER}")
        upload = await self._upload(store, state)
        if upload is None:
            if min(state.chunks) != 1:
                raise HTTPError(400, "This upload was aborted meanwhile: upload it again")
            upload_id = await store.start_upload(state.key, content_type)
        else:
            upload_id = upload.upload_id
        data = await self._read(store, chunks)
        await store.upload_part(state.key, upload_id, number, memoryview(data))
        await store.delete_keys([s.obj.key for s in chunks])
        for staged in chunks:
            del state.chunks[staged.number]

    async def _finish(
        self, store: S3Store, state: _State, data: bytes, path: str, content_type: str
    ) -> int:
        """Write the file from the staged chunks, the parts merged so far and the
        last chunk's ``data``; returns its size."""
        chunks = [s for _, s in sorted(state.chunks.items())]
        total = chunks[-1].end + len(data)
        target = store.layout.file_key(path)
        upload = await self._upload(store, state)
        if upload is None:
            if chunks[0].number != 1:
                raise HTTPError(400, f"The upload of {path} was aborted meanwhile: upload it again")
            body = await self._read(store, chunks)
            body += data
            await store.write(target, bytes(body), content_type)
            await store.delete_keys([s.obj.key for s in chunks])
            self._forget(state.base)
            return total
        number = chunks[-1].number + 1
        if number > _MAX_PART_NUMBER:
            raise HTTPError(400, f"Too many chunks: an upload has at most {_MAX_PART_NUMBER}")
        body = await self._read(store, chunks)
        body += data
        await store.upload_part(state.key, upload.upload_id, number, memoryview(body))
        del body
        parts = await store.s3.list_parts(store.bucket, state.key, upload.upload_id)
        await store.complete_upload(
            state.key, upload.upload_id, [(p.number, p.etag) for p in parts]
        )
        await store.copy(state.key, target, size=total)
        await store.delete_keys([state.key] + [s.obj.key for s in chunks])
        self._forget(state.base)
        return total

    async def _discard(self, store: S3Store, base: str, path: str | None) -> None:
        """Abort every upload under ``base`` and delete its chunks (best effort:
        what fails is left to the reaper and the bucket's lifecycle rules)."""
        if path is not None:
            self._mine.pop(path, None)
        self._forget(base)
        try:
            uploads = [u async for u in store.s3.list_multipart_uploads(store.bucket, base)]
            for upload in uploads:
                await self._abort(store, upload)
            keys = [o.key for o in await store.objects_under(base)]
            if keys:
                await store.delete_keys(keys)
        except Exception as e:
            self.log.warning("jupyters3: could not clean up the upload of %s: %s", path, e)

    async def _abort(self, store: S3Store, upload: MultipartUpload) -> None:
        with contextlib.suppress(NoSuchUpload):
            await store.abort_upload(upload.key, upload.upload_id)

    # -- reaping and shutdown ----------------------------------------------------------

    async def reap(self, store: S3Store, timeout: float) -> int:
        """Abort every upload (of any process) idle for more than ``timeout`` seconds,
        by S3's times: its newest chunk's, or when its multipart upload started.
        Returns how many uploads are left in progress."""
        stage = self.stage(store)
        # by "<h>/<token>": the multipart uploads and the objects of each upload
        groups: dict[str, tuple[list[MultipartUpload], list[ObjectSummary]]] = {}

        def group(key: str) -> tuple[list[MultipartUpload], list[ObjectSummary]]:
            return groups.setdefault("/".join(key[len(stage) :].split("/")[:2]), ([], []))

        async for upload in store.s3.list_multipart_uploads(store.bucket, stage):
            group(upload.key)[0].append(upload)
        for obj in await store.objects_under(stage):
            group(obj.key)[1].append(obj)
        now = datetime.now(timezone.utc)
        left = 0
        for name, (uploads, objects) in groups.items():
            times = [u.initiated for u in uploads] + [o.last_modified for o in objects]
            if (now - max(times)).total_seconds() <= timeout:
                left += 1
                continue
            self.log.info("jupyters3: aborting the idle upload %s%s", stage, name)
            for upload in uploads:
                await self._abort(store, upload)
            if objects:
                await store.delete_keys([o.key for o in objects])
            self._forget(stage + name)
            for path, (base, token, _) in list(self._mine.items()):
                if (base + token).endswith(name):
                    del self._mine[path]
        return left

    async def abort_mine(self, store: S3Store) -> None:
        """Abort the uploads whose newest chunk this process took, unless another
        process has taken a chunk of them since (at shutdown: nothing is left behind,
        and uploads carried on elsewhere go on)."""
        for path, (base, token, newest) in list(self._mine.items()):
            del self._mine[path]
            try:
                state = await self._load(store, base)
                if state is None or state.token != token or state.last.obj.key != newest:
                    continue
            except Exception as e:
                self.log.warning("jupyters3: could not look at the upload of %s: %s", path, e)
                continue
            await self._discard(store, base, path)
