"""Transfers built on the client's public S3 operations, as s3transfer sits beside
botocore's client: multipart uploads, resumable streamed downloads, large copies
(UploadPartCopy) and batched deletes.

Nothing here builds or sends a request itself: every S3 call goes through a public
method of :class:`~s3lite.client.S3Client` (described by :class:`Operations`), which
in turn hands these jobs over to this module.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import math
import os
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Mapping,
    Sequence,
)
from typing import IO, Any, Protocol, TypeAlias

from . import xml
from .errors import S3Error, TransportError
from .models import DeleteError, ObjectInfo, PutResult, S3Object
from .retries import RetryConfig, backoff_delay
from .transport import BodySink

__all__ = [
    "COPY_PART_SIZE",
    "DELETE_BATCH",
    "MAX_COPY_SIZE",
    "MAX_PARTS",
    "MIN_PART_SIZE",
    "Operations",
    "bounded_gather",
    "copy_multipart",
    "delete_many",
    "download_file",
    "get_resumable",
    "split_body",
    "upload_multipart",
]

log = logging.getLogger("s3lite")

KiB = 1024
MiB = 1024 * KiB
GiB = 1024 * MiB
MIN_PART_SIZE = 5 * MiB
MAX_PARTS = 10_000
MAX_COPY_SIZE = 5 * GiB  # the largest object a single CopyObject may copy
COPY_PART_SIZE = 512 * MiB
DELETE_BATCH = 1000

Range: TypeAlias = "tuple[int, int | None]"
Parts: TypeAlias = "AsyncIterator[bytes | memoryview]"


class Operations(Protocol):
    """The public S3 operations transfers are made of (:class:`~s3lite.S3Client` has them)."""

    async def create_multipart_upload(
        self,
        bucket: str,
        key: str,
        *,
        content_type: str | None = None,
        metadata: dict[str, str] | None = None,
        sse: str | None = None,
        sse_kms_key_id: str | None = None,
    ) -> str: ...

    async def upload_part(
        self, bucket: str, key: str, upload_id: str, part_number: int, body: bytes | memoryview
    ) -> str: ...

    async def upload_part_copy(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        part_number: int,
        src_bucket: str,
        src_key: str,
        *,
        range: Range | None = None,
        if_match: str | None = None,
    ) -> str: ...

    async def complete_multipart_upload(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        parts: Sequence[tuple[int, str]],
        *,
        if_match: str | None = None,
        if_none_match: str | None = None,
    ) -> PutResult: ...

    async def abort_multipart_upload(self, bucket: str, key: str, upload_id: str) -> None: ...

    async def get_object(
        self,
        bucket: str,
        key: str,
        *,
        range: Range | None = None,
        if_match: str | None = None,
        if_none_match: str | None = None,
        sink: BodySink | None = None,
        resume: bool = True,
    ) -> S3Object: ...

    async def delete_object(
        self, bucket: str, key: str, *, if_match: str | None = None
    ) -> None: ...

    async def delete_batch(
        self, bucket: str, keys: Sequence[str], *, etags: Mapping[str, str] | None = None
    ) -> list[DeleteError]: ...


# -- uploads -------------------------------------------------------------------


async def split_body(
    body: bytes | bytearray | memoryview | IO[bytes] | AsyncIterable[bytes],
    threshold: int,
    chunksize: int,
) -> tuple[bytes | memoryview | None, Parts | None]:
    """``(whole body, None)`` when ``body`` fits in one PUT (at most ``threshold``
    bytes), else ``(None, its parts)``: of ``chunksize`` bytes (more if 10,000 would not
    hold a body of known size), read ahead no further than the threshold."""
    if isinstance(body, (bytes, bytearray, memoryview)):
        data = memoryview(body).cast("B")
        if len(data) <= threshold:
            return data, None
        size = max(chunksize, math.ceil(len(data) / MAX_PARTS))
        return None, _aiter(data[i : i + size] for i in range(0, len(data), size))
    if hasattr(body, "read"):
        parts = _file_parts(body, chunksize)  # type: ignore[arg-type]
    elif isinstance(body, AsyncIterable):
        parts = _stream_parts(body, chunksize)
    else:
        raise TypeError(
            f"cannot upload a {type(body).__name__}: "
            "give bytes, str, a binary file or an async iterable of bytes"
        )
    # Read ahead up to the threshold: a small stream is one plain PUT.
    head: list[bytes | memoryview] = []
    total = 0
    async for part in parts:
        head.append(part)
        total += len(part)
        if total > threshold:
            break
    part = b""  # else the loop variable pins one part in memory for the whole upload
    if total <= threshold:
        return b"".join(head), None
    return None, _chain(head, parts)


async def upload_multipart(
    ops: Operations,
    bucket: str,
    key: str,
    parts: Parts,
    *,
    concurrency: int,
    content_type: str | None = None,
    metadata: dict[str, str] | None = None,
    sse: str | None = None,
    sse_kms_key_id: str | None = None,
    if_match: str | None = None,
    if_none_match: str | None = None,
) -> PutResult:
    """Upload ``parts`` as one multipart upload, ``concurrency`` parts at a time (at most
    ``concurrency + 1`` parts in memory); aborted if anything fails before S3 has
    acknowledged the complete, so nothing is left behind."""
    upload_id = await ops.create_multipart_upload(
        bucket,
        key,
        content_type=content_type,
        metadata=metadata,
        sse=sse,
        sse_kms_key_id=sse_kms_key_id,
    )
    slots = asyncio.Semaphore(concurrency)
    etags: dict[int, str] = {}
    tasks: list[asyncio.Task[None]] = []

    async def upload(number: int, data: bytes | memoryview) -> None:
        try:
            etags[number] = await ops.upload_part(bucket, key, upload_id, number, data)
        finally:
            slots.release()

    try:
        number = 0
        while True:
            # Take a slot before reading the next part: at most `concurrency`
            # parts are in memory, however large the stream.
            await slots.acquire()
            if any(t.done() and t.exception() for t in tasks):
                slots.release()
                break
            data = await anext(parts, None)
            if data is None:
                slots.release()
                break
            number += 1
            if number > MAX_PARTS:
                raise ValueError(
                    f"upload of s3://{bucket}/{key} needs more than {MAX_PARTS} parts: "
                    "raise multipart_chunksize"
                )
            tasks.append(asyncio.ensure_future(upload(number, data)))
        await asyncio.gather(*tasks)
        # Once S3 acknowledges this, the object is written: complete_multipart_upload
        # raises nothing after that (a missing ETag is looked up, not an error).
        return await ops.complete_multipart_upload(
            bucket,
            key,
            upload_id,
            sorted(etags.items()),
            if_match=if_match,
            if_none_match=if_none_match,
        )
    except BaseException:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await abort_quietly(ops, bucket, key, upload_id)
        raise


async def abort_quietly(ops: Operations, bucket: str, key: str, upload_id: str) -> None:
    """Abort an upload after a failure, logging (not raising) if even that fails."""
    try:
        await asyncio.shield(ops.abort_multipart_upload(bucket, key, upload_id))
    except Exception as exc:  # the original failure matters more; say what is left behind
        log.warning(
            "could not abort multipart upload %s of s3://%s/%s: %s", upload_id, bucket, key, exc
        )


# -- copies --------------------------------------------------------------------


async def copy_multipart(
    ops: Operations,
    src_bucket: str,
    src_key: str,
    dst_bucket: str,
    dst_key: str,
    source: ObjectInfo,
    *,
    concurrency: int,
    content_type: str | None = None,
    metadata: dict[str, str] | None = None,
    sse: str | None = None,
    sse_kms_key_id: str | None = None,
    if_none_match: str | None = None,
) -> PutResult:
    """Copy ``source`` (``src_bucket``/``src_key``, as HEAD described it) part by part
    with UploadPartCopy, pinned to its ETag. Without ``content_type`` and ``metadata``
    the source's are kept, as CopyObject would."""
    if content_type is None and metadata is None:
        content_type, metadata = source.content_type, source.metadata
    upload_id = await ops.create_multipart_upload(
        dst_bucket,
        dst_key,
        content_type=content_type,
        metadata=metadata,
        sse=sse,
        sse_kms_key_id=sse_kms_key_id,
    )
    part = max(COPY_PART_SIZE, math.ceil(source.size / MAX_PARTS))
    ranges = [(i, min(i + part, source.size) - 1) for i in range(0, source.size, part)]
    try:
        etags = await bounded_gather(
            (
                ops.upload_part_copy(
                    dst_bucket,
                    dst_key,
                    upload_id,
                    n,
                    src_bucket,
                    src_key,
                    range=r,
                    if_match=source.etag,
                )
                for n, r in enumerate(ranges, 1)
            ),
            concurrency,
        )
        return await ops.complete_multipart_upload(
            dst_bucket, dst_key, upload_id, list(enumerate(etags, 1)), if_none_match=if_none_match
        )
    except BaseException:
        await abort_quietly(ops, dst_bucket, dst_key, upload_id)
        raise


# -- downloads -----------------------------------------------------------------


async def get_resumable(
    ops: Operations,
    bucket: str,
    key: str,
    sink: BodySink,
    *,
    retry: RetryConfig,
    range: Range | None = None,
    if_match: str | None = None,
    if_none_match: str | None = None,
) -> S3Object:
    """Stream an object to ``sink``; a stream cut midway is resumed from where it
    stopped (up to ``retry.max_attempts`` GETs), pinned to the same ETag."""
    received = 0

    async def counting_sink(chunk: bytes) -> None:
        nonlocal received
        result = sink(chunk)
        if inspect.isawaitable(result):
            await result
        received += len(chunk)

    first, last = range if range else (0, None)
    etag = if_match
    attempt = 0
    while True:
        attempt += 1
        try:
            if received:  # resume after what the sink already has, pinned to the same object
                return await ops.get_object(
                    bucket,
                    key,
                    range=(first + received, last),
                    if_match=etag or "",
                    if_none_match=if_none_match,
                    sink=counting_sink,
                    resume=False,
                )
            return await ops.get_object(
                bucket,
                key,
                range=range,
                if_match=if_match,
                if_none_match=if_none_match,
                sink=counting_sink,
                resume=False,
            )
        except TransportError as exc:
            etag = etag or exc.headers.get("etag")
            if attempt >= retry.max_attempts or (received and not etag):
                raise
            log.debug("resuming GET s3://%s/%s at byte %d", bucket, key, first + received)
            await asyncio.sleep(backoff_delay(attempt, retry))


async def download_file(
    ops: Operations,
    bucket: str,
    key: str,
    path: str | os.PathLike[str],
    *,
    progress: Callable[[int], object] | None = None,
) -> ObjectInfo:
    """Stream an object into a local file, atomically (a temporary file beside it,
    then a rename): the file is whole or not there."""
    target = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(target))
    tmp = os.path.join(folder, f".{os.path.basename(target)}.s3lite-{os.urandom(4).hex()}")
    # os.open with 0o666 so the file gets the usual umask permissions, unlike mkstemp.
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    fd = os.open(tmp, flags, 0o666)
    try:
        with os.fdopen(fd, "wb") as f:

            def write(chunk: bytes) -> None:
                f.write(chunk)
                if progress is not None:
                    progress(len(chunk))

            info = await ops.get_object(bucket, key, sink=write)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return info


# -- deletes -------------------------------------------------------------------


async def delete_many(
    ops: Operations,
    bucket: str,
    keys: Iterable[str],
    *,
    concurrency: int,
    etags: Mapping[str, str] | None = None,
) -> list[DeleteError]:
    """Delete any number of keys, ``DELETE_BATCH`` per DeleteObjects request (keys XML
    cannot carry one DELETE each), ``concurrency`` requests at once; returns the failures.
    A key in ``etags`` is deleted only while its ETag is that one."""
    etags = etags or {}
    batch: list[str] = []
    batches: list[list[str]] = []
    singles: list[str] = []
    for key in keys:
        if not xml.xml_safe(key):
            singles.append(key)  # XML cannot name it: only a URL can
            continue
        batch.append(key)
        if len(batch) == DELETE_BATCH:
            batches.append(batch)
            batch = []
    if batch:
        batches.append(batch)
    jobs = [
        *(
            ops.delete_batch(bucket, b, etags={k: etags[k] for k in b if k in etags})
            for b in batches
        ),
        *(_delete_single(ops, bucket, k, etags.get(k)) for k in singles),
    ]
    results = await bounded_gather(jobs, concurrency)
    return [err for errs in results for err in errs]


async def _delete_single(
    ops: Operations, bucket: str, key: str, etag: str | None
) -> list[DeleteError]:
    try:
        await ops.delete_object(bucket, key, if_match=etag)
    except S3Error as exc:
        return [DeleteError(key, exc.code, exc.message)]
    return []


# -- helpers -------------------------------------------------------------------


async def _aiter(items: Iterable[memoryview]) -> AsyncIterator[memoryview]:
    for item in items:
        yield item


async def _chain(
    head: list[bytes | memoryview], rest: AsyncIterator[bytes | memoryview]
) -> AsyncIterator[bytes | memoryview]:
    while head:
        yield head.pop(0)
    async for item in rest:
        yield item


async def _file_parts(f: IO[bytes], size: int) -> AsyncIterator[bytes | memoryview]:
    """Parts of ``size`` bytes from a binary file, read off the event loop.

    Each part's buffer is allocated here, on the loop's thread, and filled with
    ``readinto`` in the executor: a part allocated in an executor thread lands in
    that thread's malloc arena, which keeps the memory once the part is freed (a
    1 GiB upload held 104 MiB instead of about ``max_concurrency + 1`` parts)."""
    loop = asyncio.get_running_loop()
    readinto = getattr(f, "readinto", None)
    if readinto is None:  # a file-like object with read() only
        async for part in _read_parts(f, size):
            yield part
        return

    def fill(buf: bytearray) -> int:
        got = 0
        with memoryview(buf) as view:
            while got < size:
                with view[got:] as target:
                    n = readinto(target)
                if not n:  # the end (or None: no data from a non-blocking file)
                    break
                got += n
        return got

    while True:
        buf = bytearray(size)
        got = await loop.run_in_executor(None, fill, buf)
        if not got:
            return
        yield memoryview(buf)[:got]
        if got < size:
            return


async def _read_parts(f: IO[bytes], size: int) -> AsyncIterator[bytes | memoryview]:
    """Parts of a file object that has ``read`` but no ``readinto``."""
    loop = asyncio.get_running_loop()

    def read_part() -> bytes:
        chunks = []
        want = size
        while want:
            chunk = f.read(want)
            if not chunk:
                break
            if isinstance(chunk, str):
                raise TypeError("put_object needs a file opened in binary mode ('rb')")
            chunks.append(chunk)
            want -= len(chunk)
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    while True:
        part = await loop.run_in_executor(None, read_part)
        if not part:
            return
        yield part
        if len(part) < size:
            return


async def _stream_parts(
    stream: AsyncIterable[bytes], size: int
) -> AsyncIterator[bytes | memoryview]:
    """Parts of exactly ``size`` bytes (the last may be shorter) from an async stream.

    A part grows chunk by chunk, so each chunk is freed once copied in (joining a
    list of chunks would hold all of them and the joined part at once)."""
    part = bytearray()
    async for chunk in stream:
        view = memoryview(chunk).cast("B")
        while len(part) + len(view) >= size:
            cut = size - len(part)
            part += view[:cut]
            view = view[cut:]
            yield memoryview(part)
            part = bytearray()
        part += view
    if part:
        yield memoryview(part)


async def bounded_gather(coros: Iterable[Awaitable[Any]], limit: int) -> list[Any]:
    """Await ``coros`` with at most ``limit`` running at once; results in order.
    The first failure cancels the rest."""
    slots = asyncio.Semaphore(limit)

    async def run(coro: Awaitable[Any]) -> Any:
        async with slots:
            return await coro

    tasks = [asyncio.ensure_future(run(c)) for c in coros]
    try:
        return await asyncio.gather(*tasks)
    except BaseException:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
