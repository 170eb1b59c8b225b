"""S3Store: the S3 side of JupyterS3, knowing nothing of Jupyter's models.

API paths (already normalised, see :mod:`jupyters3.paths`) map to keys by the
store's :class:`~jupyters3.paths.KeyLayout`. The store probes, lists, reads
and writes objects, keeps folder markers, and copies, moves and deletes whole
trees with bounded concurrency. It raises s3lite's errors (and the two typed
errors below for partly done tree operations); the manager maps them to the
HTTP errors of the contents API.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from contextlib import aclosing
from typing import Any

from s3lite import (
    CommonPrefix,
    DeleteError,
    NoSuchKey,
    ObjectInfo,
    ObjectSummary,
    PutResult,
    S3Client,
    S3Object,
)
from s3lite.transport import BodySink

from .paths import DirListing, KeyLayout, classify_listing, probe_says_exists

__all__ = ["PartialDeleteError", "S3Store", "TreeCopyError"]

DIRECTORY_CONTENT_TYPE = "application/x-directory"


class TreeCopyError(Exception):
    """Copying a folder failed part-way; the partial copy was removed as far as
    ``cleanup`` says, and the source is unchanged."""

    def __init__(
        self, src: str, dst: str, copied: int, total: int, first: BaseException, cleanup: str
    ) -> None:
        super().__init__(
            f"copying {src} to {dst} failed after {copied} of {total} objects ({first}); {cleanup}"
        )
        self.src, self.dst, self.copied, self.total = src, dst, copied, total
        self.first, self.cleanup = first, cleanup


class PartialDeleteError(Exception):
    """A batched delete left some of ``total`` objects behind (``errors``)."""

    def __init__(self, path: str, errors: list[DeleteError], total: int) -> None:
        first = errors[0]
        super().__init__(
            f"could not delete {len(errors)} of {total} objects of {path} "
            f"(first: {first.key}: {first.code} {first.message})"
        )
        self.path, self.errors, self.total = path, errors, total


class S3Store:
    """One bucket under one key layout, through one (lazily made) s3lite client.

    ``client`` makes the client on first use; ``sse`` and ``kms_key_id`` go with
    every write and copy; ``max_concurrency`` bounds the requests of a tree
    operation in flight at once.
    """

    def __init__(
        self,
        client: Callable[[], S3Client],
        bucket: str,
        layout: KeyLayout,
        *,
        sse: str | None = None,
        kms_key_id: str | None = None,
        max_concurrency: int = 16,
    ) -> None:
        self._client = client
        self.bucket = bucket
        self.layout = layout
        self.sse = sse
        self.kms_key_id = kms_key_id
        self.max_concurrency = max_concurrency

    @property
    def s3(self) -> S3Client:
        """The s3lite client."""
        return self._client()

    def write_args(self) -> dict[str, Any]:
        """The encryption arguments of every write and copy."""
        return {"sse": self.sse, "sse_kms_key_id": self.kms_key_id}

    # -- probes and listings ------------------------------------------------------

    async def head(self, key: str) -> ObjectInfo | None:
        """The object's metadata, or None if there is no such object."""
        try:
            return await self.s3.head_object(self.bucket, key)
        except NoSuchKey:
            return None

    async def file_info(self, path: str) -> ObjectInfo | None:
        """The metadata of the file at ``path``, or None."""
        return await self.head(self.layout.file_key(path))

    async def first_entries(self, prefix: str, n: int) -> list[ObjectSummary | CommonPrefix]:
        """The first ``n`` entries of a delimited listing of ``prefix`` (one request)."""
        entries: list[ObjectSummary | CommonPrefix] = []
        listing = self.s3.list_objects(self.bucket, prefix, "/", page_size=n)
        async with aclosing(listing) as it:  # type: ignore[type-var]
            async for entry in it:
                entries.append(entry)
                if len(entries) >= n:
                    break
        return entries

    async def probe_dir(self, path: str) -> tuple[bool, ObjectSummary | None]:
        """Whether the folder ``path`` exists, and its marker object if it has one
        (one request of at most two entries)."""
        if path == "":
            return True, None  # the root always exists (and has no marker of its own)
        prefix = self.layout.dir_prefix(path)
        entries = await self.first_entries(prefix, 2)
        marker = next(
            (e for e in entries if isinstance(e, ObjectSummary) and e.key == prefix), None
        )
        return probe_says_exists(prefix, entries), marker

    async def dir_exists(self, path: str) -> bool:
        """Whether the folder ``path`` exists (a marker, or any key under it)."""
        return (await self.probe_dir(path))[0]

    async def list_dir(self, path: str) -> DirListing:
        """The whole delimited listing of folder ``path``, classified."""
        prefix = self.layout.dir_prefix(path)
        entries = [e async for e in self.s3.list_objects(self.bucket, prefix, "/")]
        return classify_listing(prefix, entries)

    async def list_prefix(self, prefix: str) -> list[ObjectSummary]:
        """The objects directly under ``prefix`` (a delimited listing, folders left out)."""
        return [
            e
            async for e in self.s3.list_objects(self.bucket, prefix, "/")
            if isinstance(e, ObjectSummary)
        ]

    async def objects_under(self, prefix: str) -> list[ObjectSummary]:
        """Every object under ``prefix``, at any depth."""
        return [
            e
            async for e in self.s3.list_objects(self.bucket, prefix)
            if isinstance(e, ObjectSummary)
        ]

    # -- objects -----------------------------------------------------------------

    async def read(self, key: str) -> S3Object | None:
        """The object with its body, or None if there is no such object."""
        try:
            return await self.s3.get_object(self.bucket, key)
        except NoSuchKey:
            return None

    async def stream(self, key: str, sink: BodySink, *, if_match: str | None = None) -> None:
        """Stream the object's body to ``sink`` (pinned to ETag ``if_match``)."""
        await self.s3.get_object(self.bucket, key, if_match=if_match, sink=sink)

    async def write(
        self,
        key: str,
        data: bytes,
        content_type: str,
        *,
        if_match: str | None = None,
        if_none_match: str | None = None,
    ) -> PutResult:
        """Write one object (conditionally, with ``if_match``/``if_none_match``);
        returns what S3 answered (the new ETag, and its time when S3 says it)."""
        return await self.s3.put_object(
            self.bucket,
            key,
            data,
            content_type=content_type,
            if_match=if_match,
            if_none_match=if_none_match,
            **self.write_args(),
        )

    async def make_dir_marker(self, path: str) -> None:
        """Write the 0-byte marker object of folder ``path``."""
        await self.write(self.layout.dir_prefix(path), b"", DIRECTORY_CONTENT_TYPE)

    async def copy(self, src_key: str, dst_key: str, *, size: int | None = None) -> None:
        """Copy one object server-side (``size``, when known, saves a request for large ones)."""
        await self.s3.copy_object(
            self.bucket, src_key, self.bucket, dst_key, size=size, **self.write_args()
        )

    async def delete(self, key: str) -> None:
        """Delete one object."""
        await self.s3.delete_object(self.bucket, key)

    async def delete_keys(self, keys: list[str]) -> list[DeleteError]:
        """Delete objects in batches; returns the keys S3 could not delete."""
        return await self.s3.delete_objects(self.bucket, keys)

    async def move(self, src_key: str, dst_key: str, *, size: int | None = None) -> None:
        """Move one object: a server-side copy, then a delete."""
        await self.copy(src_key, dst_key, size=size)
        await self.delete(src_key)

    # -- multipart uploads -----------------------------------------------------------

    async def start_upload(self, key: str, content_type: str) -> str:
        """Start a multipart upload; returns its id."""
        return await self.s3.create_multipart_upload(
            self.bucket, key, content_type=content_type, **self.write_args()
        )

    async def upload_part(self, key: str, upload_id: str, number: int, data: memoryview) -> str:
        """Upload part ``number``; returns its ETag."""
        return await self.s3.upload_part(self.bucket, key, upload_id, number, data)

    async def complete_upload(self, key: str, upload_id: str, parts: list[tuple[int, str]]) -> None:
        """Complete a multipart upload from its ``(number, etag)`` parts."""
        await self.s3.complete_multipart_upload(self.bucket, key, upload_id, parts)

    async def abort_upload(self, key: str, upload_id: str) -> None:
        """Abort a multipart upload (its parts are dropped)."""
        await self.s3.abort_multipart_upload(self.bucket, key, upload_id)

    # -- trees -------------------------------------------------------------------

    async def bounded(self, jobs: Sequence[Callable[[], Awaitable[None]]]) -> list[BaseException]:
        """Run ``jobs`` with at most ``max_concurrency`` at once; after the first
        failure no new job starts. Returns the failures."""
        slots = asyncio.Semaphore(self.max_concurrency)
        failures: list[BaseException] = []

        async def run(job: Callable[[], Awaitable[None]]) -> None:
            async with slots:
                if failures:
                    return
                try:
                    await job()
                except Exception as e:
                    failures.append(e)

        await asyncio.gather(*(run(job) for job in jobs))
        return failures

    async def copy_tree(self, src: str, dst: str) -> list[ObjectSummary]:
        """Copy every key under folder ``src`` to folder ``dst``, server-side, with
        bounded concurrency. On failure the partial copy is removed and
        :class:`TreeCopyError` says how far that went. Returns the source objects."""
        objects = await self.objects_under(self.layout.dir_prefix(src))
        copied: list[str] = []

        def job(obj: ObjectSummary) -> Callable[[], Awaitable[None]]:
            async def run() -> None:
                dst_key = self.layout.move_key(obj.key, src, dst)
                await self.copy(obj.key, dst_key, size=obj.size)
                copied.append(dst_key)

            return run

        failures = await self.bounded([job(o) for o in objects])
        if failures:
            cleanup = "the partial copy was removed"
            try:
                if await self.delete_keys(copied):
                    cleanup = f"some of the {len(copied)} copied objects could not be removed"
            except Exception:
                cleanup = f"the {len(copied)} copied objects could not be removed"
            raise TreeCopyError(src, dst, len(copied), len(objects), failures[0], cleanup)
        return objects

    async def move_tree(self, old: str, new: str) -> None:
        """Move folder ``old`` to ``new``: copy the tree, then delete the originals
        (:class:`PartialDeleteError` if some could not be deleted)."""
        objects = await self.copy_tree(old, new)
        errors = await self.delete_keys([o.key for o in objects])
        if errors:
            raise PartialDeleteError(old, errors, len(objects))

    async def delete_tree(self, path: str) -> None:
        """Delete folder ``path`` with everything in it (batched)."""
        keys = [o.key for o in await self.objects_under(self.layout.dir_prefix(path))]
        errors = await self.delete_keys(keys)
        if errors:
            raise PartialDeleteError(path, errors, len(keys))
