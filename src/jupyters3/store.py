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
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Any, TypeVar

from s3lite import (
    CommonPrefix,
    DeleteError,
    NoSuchKey,
    ObjectInfo,
    ObjectSummary,
    PreconditionFailed,
    PutResult,
    S3Client,
    S3Error,
    S3Object,
)
from s3lite.transport import BodySink

from .paths import (
    DIRECTORY_CONTENT_TYPE,
    TRASH_DIR,
    DirListing,
    KeyLayout,
    PathError,
    classify_listing,
    join,
    probe_dir_entries,
    probe_says_exists,
    too_long,
)

__all__ = [
    "MoveIncompleteError",
    "PartialDeleteError",
    "S3Store",
    "TreeCopy",
    "TreeCopyError",
    "TreeLeftoversError",
]

# Sub-folders of a listing probed at most (each one request) to hide those holding only
# orphaned checkpoints; the rest are probed by the next listings.
PROBES_PER_LISTING = 64
# A sub-folder found to be one is not probed again for this long (seconds), and at most
# this many are remembered: jupyters3 never turns a folder into orphans, only other
# tools do, and opening such a name forgets it at once.
_FOLDER_MEMO_SECONDS = 600.0
_FOLDER_MEMO_SIZE = 10_000
_V = TypeVar("_V")


def _memo(memo: OrderedDict[str, _V], key: str, value: _V) -> None:
    """Remember ``value`` at ``key`` as the newest of ``memo``, which keeps the
    newest :data:`_FOLDER_MEMO_SIZE`."""
    memo[key] = value
    memo.move_to_end(key)
    while len(memo) > _FOLDER_MEMO_SIZE:
        memo.popitem(last=False)


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


class MoveIncompleteError(Exception):
    """A folder move copied everything to ``new`` but could not delete ``left``
    of the ``total`` objects still at ``old``: moving it again finishes it."""

    def __init__(self, old: str, new: str, left: int, total: int, cause: str) -> None:
        super().__init__(
            f"copied to {new}; {left} of {total} old objects are still at {old} ({cause})"
        )
        self.old, self.new, self.left, self.total, self.cause = old, new, left, total, cause


class TreeLeftoversError(Exception):
    """A folder move finished, but objects it must not or could not move stayed at
    ``old``: ``left`` holds ``(key, why)`` pairs."""

    def __init__(self, old: str, new: str, left: list[tuple[str, str]]) -> None:
        key, why = left[0]
        super().__init__(f"{len(left)} objects stayed at {old} (first: {key!r}: {why})")
        self.old, self.new, self.left = old, new, left


@dataclass
class TreeCopy:
    """What a tree copy did: the source objects it copied, by key (as listed, with
    the ETag it copied), and the ones it left alone (``(key, why)``)."""

    copied: dict[str, ObjectSummary] = field(default_factory=dict)
    skipped: list[tuple[str, str]] = field(default_factory=list)


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
        self._folders: OrderedDict[str, float] = OrderedDict()  # dir prefix -> when probed
        # Folders last listed without a marker object -> the key of one file seen in each.
        self._witnesses: OrderedDict[str, str] = OrderedDict()

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

    async def probe_dir(
        self, path: str, *, besides: str | None = None
    ) -> tuple[bool, ObjectSummary | None]:
        """Whether the folder ``path`` exists, and its marker object if it has one
        (one request of a few entries); an object at key ``besides`` (one just
        written) does not count."""
        if path == "":
            return True, None  # the root always exists (and has no marker of its own)
        prefix = self.layout.dir_prefix(path)
        entries = await self.first_entries(prefix, 2 if besides is None else 3)
        entries = [e for e in entries if not (isinstance(e, ObjectSummary) and e.key == besides)]
        return probe_dir_entries(prefix, entries)

    async def probe_name(self, path: str) -> tuple[bool, bool]:
        """Whether ``path`` is a folder, and whether checkpoints of a file of that
        name are stored there (one request of at most two entries)."""
        prefix = self.layout.dir_prefix(path)
        entries = await self.first_entries(prefix, 2)
        checkpoints = self.layout.checkpoints_prefix(path)
        leftovers = any(isinstance(e, CommonPrefix) and e.prefix == checkpoints for e in entries)
        return probe_says_exists(prefix, entries), leftovers

    async def probe_new_file(self, path: str, ours: str | None = None) -> tuple[bool, bool]:
        """After a write of the new file ``path``: whether a folder of that name
        exists, and whether checkpoints are stored at its name besides ``ours``
        (its first, being copied meanwhile). One request of two keys (the first key
        under ``path/`` that is not ``ours`` tells, unless it is a checkpoint: then
        :meth:`probe_name` does)."""
        below = self.layout.dir_prefix(path)
        first: str | None = None
        listing = self.s3.list_objects(self.bucket, below, page_size=2)
        async with aclosing(listing) as it:  # type: ignore[type-var]
            async for entry in it:
                if isinstance(entry, ObjectSummary) and entry.key != ours:
                    first = entry.key
                    break
        if first is None:
            return False, False
        if not first.startswith(self.layout.checkpoints_prefix(path)):
            return True, False
        return await self.probe_name(path)

    async def dir_exists(self, path: str) -> bool:
        """Whether the folder ``path`` exists (a marker, or any key under it)."""
        return (await self.probe_dir(path))[0]

    async def holds(self, path: str, key: str) -> bool:
        """Whether the folder ``path`` exists, ``key`` (just written in it) not
        counting: one HEAD of its marker (or, for a folder listed lately without one,
        of a file seen in it), else a probe."""
        prefix = self.layout.dir_prefix(path)
        witness = self._witnesses.get(prefix, prefix)
        if witness != key and await self.head(witness) is not None:
            return True
        self._witnesses.pop(prefix, None)
        return (await self.probe_dir(path, besides=key))[0]

    async def list_dir(self, path: str) -> DirListing:
        """The whole delimited listing of folder ``path``, classified."""
        prefix = self.layout.dir_prefix(path)
        entries = [e async for e in self.s3.list_objects(self.bucket, prefix, "/")]
        listing = classify_listing(prefix, entries)
        self._witnesses.pop(prefix, None)
        if path and listing.marker is None and listing.files:
            _memo(self._witnesses, prefix, next(iter(listing.files.values())).key)
        return listing

    async def drop_orphans(
        self, path: str, listing: DirListing, shown: Callable[[str], bool] = lambda name: True
    ) -> None:
        """Remove from ``listing`` (of the folder ``path``) the sub-folders among
        those ``shown`` that hold nothing but checkpoints (orphaned: their file is
        gone). A delimited listing cannot tell: each is probed (one request of two
        entries, at most :data:`PROBES_PER_LISTING` per call, ``max_concurrency``
        at once) unless it was found to be a folder lately; one whose probe fails
        stays."""
        now = time.monotonic()
        unknown: list[str] = []
        for name in listing.dirs:
            seen = self._folders.get(self.layout.dir_prefix(join(path, name)))
            if shown(name) and (seen is None or now - seen > _FOLDER_MEMO_SECONDS):
                unknown.append(name)
        orphans: set[str] = set()

        def probe(name: str) -> Callable[[], Awaitable[None]]:
            async def run() -> None:
                sub = join(path, name)
                if (await self.probe_dir(sub))[0]:
                    _memo(self._folders, self.layout.dir_prefix(sub), now)
                else:
                    orphans.add(name)

            return run

        # A probe that fails leaves its sub-folder listed (and unknown): the listing is
        # not worth failing for it.
        await self.bounded([probe(n) for n in unknown[:PROBES_PER_LISTING]])
        listing.dirs = [name for name in listing.dirs if name not in orphans]

    def forget_folder(self, path: str) -> None:
        """Probe the sub-folder ``path`` again in the next listing of its parent."""
        self._folders.pop(self.layout.dir_prefix(path), None)

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

    async def delete(self, key: str, *, if_match: str | None = None) -> None:
        """Delete one object (only if its ETag is still ``if_match``, when given)."""
        await self.s3.delete_object(self.bucket, key, if_match=if_match)

    async def delete_keys(
        self, keys: list[str], *, etags: Mapping[str, str] | None = None
    ) -> list[DeleteError]:
        """Delete objects in batches (a key in ``etags`` only while its ETag is that
        one); returns the keys S3 could not delete."""
        return await self.s3.delete_objects(self.bucket, keys, etags=etags)

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

    def _movable(
        self, objects: Iterable[ObjectSummary], prefix: str
    ) -> tuple[list[ObjectSummary], list[tuple[str, str]]]:
        """Split listed objects into those a key may be built from and the rest
        (keys from listings are untrusted: see :meth:`KeyLayout.tree_key_problem`)."""
        safe: list[ObjectSummary] = []
        skipped: list[tuple[str, str]] = []
        for obj in objects:
            problem = self.layout.tree_key_problem(obj.key, prefix)
            if problem is None:
                safe.append(obj)
            else:
                skipped.append((obj.key, problem))
        return safe, skipped

    def _check_move_lengths(self, objects: list[ObjectSummary], src: str, dst: str) -> None:
        longest = self.layout.move_too_long((o.key for o in objects), src, dst)
        if longest is not None:
            raise PathError(
                too_long(self.layout.move_key(longest, src, dst)[len(self.layout.prefix) :])
            )

    async def _copy_objects(
        self, objects: list[ObjectSummary], src: str, dst: str
    ) -> tuple[list[str], list[BaseException], list[str]]:
        """Copy ``objects`` from folder ``src`` to ``dst``: (copied, failures,
        attempted), the last being every key a copy was sent for (S3 may have
        applied one whose answer was lost)."""
        copied: list[str] = []
        attempted: list[str] = []

        def job(obj: ObjectSummary) -> Callable[[], Awaitable[None]]:
            async def run() -> None:
                dst_key = self.layout.move_key(obj.key, src, dst)
                attempted.append(dst_key)
                await self.copy(obj.key, dst_key, size=obj.size)
                copied.append(dst_key)

            return run

        failures = await self.bounded([job(o) for o in objects])
        return copied, failures, attempted

    async def copy_tree(self, src: str, dst: str) -> TreeCopy:
        """Copy every key under folder ``src`` to folder ``dst``, server-side, with
        bounded concurrency. Keys no write may be built from are skipped; new keys
        too long for S3 are a :class:`PathError` before the first copy. On failure
        the partial copy is removed and :class:`TreeCopyError` says how far that went."""
        prefix = self.layout.dir_prefix(src)
        safe, skipped = self._movable(await self.objects_under(prefix), prefix)
        self._check_move_lengths(safe, src, dst)
        copied, failures, attempted = await self._copy_objects(safe, src, dst)
        if failures:
            cleanup = "the partial copy was removed"
            try:
                if await self.delete_keys(attempted):
                    cleanup = f"some of the {len(copied)} copied objects could not be removed"
            except Exception:
                cleanup = f"the {len(copied)} copied objects could not be removed"
            raise TreeCopyError(src, dst, len(copied), len(safe), failures[0], cleanup)
        return TreeCopy({o.key: o for o in safe}, skipped)

    async def move_tree(self, old: str, new: str, *, rounds: int = 3) -> None:
        """Move folder ``old`` to ``new``: copy the tree, list ``old`` again and copy
        what was added or changed meanwhile (up to ``rounds`` times), then delete
        exactly the keys whose ETag is still the one copied (sent with each key:
        where S3 enforces it, a save after the last listing is not deleted).

        :class:`TreeCopyError`: nothing moved. :class:`MoveIncompleteError`: all is
        at ``new`` but some is still at ``old`` (moving again finishes).
        :class:`TreeLeftoversError`: moved, but objects stayed at ``old`` (names no
        write may be built from, or changing while the move ended)."""
        prefix = self.layout.dir_prefix(old)
        done = await self.copy_tree(old, new)
        copied = done.copied
        current: dict[str, ObjectSummary] = {}
        for _ in range(rounds):
            current = {o.key: o for o in await self.objects_under(prefix)}
            safe, _skipped = self._movable(current.values(), prefix)
            stragglers = [o for o in safe if o.key not in copied or copied[o.key].etag != o.etag]
            if not stragglers:
                break
            self._check_move_lengths(stragglers, old, new)
            _, failures, _ = await self._copy_objects(stragglers, old, new)
            if failures:
                raise MoveIncompleteError(old, new, len(current), len(current), str(failures[0]))
            copied.update((o.key, o) for o in stragglers)
        done_keys = [k for k, o in current.items() if k in copied and copied[k].etag == o.etag]
        try:
            errors = await self.delete_keys(
                done_keys, etags={k: copied[k].etag for k in done_keys if copied[k].etag}
            )
        except S3Error as e:
            raise MoveIncompleteError(old, new, len(current), len(current), str(e)) from None
        left = len(current) - len(done_keys) + len(errors)
        if errors:
            first = errors[0]
            raise MoveIncompleteError(
                old, new, left, len(current), f"first: {first.key}: {first.code}"
            )
        moved = set(done_keys)
        stayed: list[tuple[str, str]] = []
        for key in current:
            problem = self.layout.tree_key_problem(key, prefix)
            if problem is not None:
                stayed.append((key, f"no key may be built from its name: {problem}"))
            elif key not in moved:
                stayed.append((key, "it kept changing while the folder was moved"))
        if stayed:
            raise TreeLeftoversError(old, new, stayed)

    async def can_resume_move(self, old: str, new: str) -> bool:
        """Whether folder ``new`` holds a copy of every object of folder ``old``
        (same relative key and ETag): what a move that copied all but failed to
        delete leaves, so moving again finishes it. Folder markers alone prove
        nothing (every empty marker has the same ETag): an empty folder is never
        taken for a copy of another."""
        old_prefix = self.layout.dir_prefix(old)
        sources, _ = self._movable(await self.objects_under(old_prefix), old_prefix)
        targets = {o.key: o.etag for o in await self.objects_under(self.layout.dir_prefix(new))}
        return any(not o.key.endswith("/") for o in sources) and all(
            targets.get(self.layout.move_key(o.key, old, new)) == o.etag for o in sources
        )

    async def trash_file(self, path: str, entry: str, etag: str) -> bool:
        """Move the file ``path`` and its checkpoints into the trash entry ``entry``
        (``<trash>/<entry>/<path>``): copies first, then the checkpoints and last
        the file are deleted, the file only as copied (``If-Match`` ``etag``).
        False if the file was saved meanwhile: that save stays, and the version
        it replaced is in the trash."""
        src = self.layout.file_key(path)
        dst_root = f"{self.layout.trash_prefix()}{entry}/"
        checkpoints = await self.objects_under(self.layout.checkpoints_prefix(path))
        keys = [src] + [o.key for o in checkpoints]

        def job(key: str) -> Callable[[], Awaitable[None]]:
            async def run() -> None:
                await self.copy(key, dst_root + key[len(self.layout.prefix) :])

            return run

        failures = await self.bounded([job(k) for k in keys])
        if failures:
            raise failures[0]
        errors = await self.delete_keys([o.key for o in checkpoints])
        if errors:
            raise PartialDeleteError(path, errors, len(checkpoints))
        try:
            await self.delete(src, if_match=etag)
        except PreconditionFailed:
            return False
        except NoSuchKey:
            pass
        return True

    async def trash_tree(self, path: str, entry: str) -> None:
        """Move folder ``path`` into the trash entry ``entry``, as :meth:`move_tree`
        moves it (and with its errors)."""
        await self.move_tree(path, f"{TRASH_DIR}/{entry}/{path}")

    async def trash_entries(self) -> list[str]:
        """The names of the entries in the trash (one listing request per 1,000)."""
        root = self.layout.trash_prefix()
        return [
            e.prefix[len(root) : -1]
            async for e in self.s3.list_objects(self.bucket, root, "/")
            if isinstance(e, CommonPrefix)
        ]

    async def empty_trash_entry(self, entry: str) -> None:
        """Delete one trash entry with everything in it (batched)."""
        prefix = f"{self.layout.trash_prefix()}{entry}/"
        keys = [o.key for o in await self.objects_under(prefix)]
        errors = await self.delete_keys(keys)
        if errors:
            raise PartialDeleteError(entry, errors, len(keys))

    async def delete_tree(self, path: str) -> None:
        """Delete folder ``path`` with everything in it (batched)."""
        keys = [o.key for o in await self.objects_under(self.layout.dir_prefix(path))]
        errors = await self.delete_keys(keys)
        if errors:
            raise PartialDeleteError(path, errors, len(keys))
