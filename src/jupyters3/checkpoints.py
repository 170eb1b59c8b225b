"""S3Checkpoints: several checkpoints per file, in the bucket next to the file.

The checkpoints of ``a/b.ipynb`` are ``<prefix>a/b.ipynb/.checkpoints/<id>``,
made and restored with server-side copies. Ids sort by creation time; the
newest ``max_checkpoints`` (a JupyterS3 option, default 5) are kept.

Checkpoints are listed oldest first, as Notebook 7 and JupyterLab expect: both
take the last entry as the latest ("Last Checkpoint", the Revert dialog's
default). A checkpoint's time is read from its id, the time it was taken: a
rename copies it server-side, which gives the object a new ``LastModified``.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from typing import Any

from jupyter_server.services.contents.checkpoints import AsyncCheckpoints
from tornado.web import HTTPError

from s3lite import NoSuchKey, ObjectSummary, S3Error

from .errors import checked_path, s3_errors
from .models import Model, checkpoint_model, utc_seconds
from .paths import KeyLayout, checkpoint_id_problem, checkpoint_time, new_checkpoint_id
from .store import S3Store

__all__ = ["S3Checkpoints"]

_DEFAULT_KEEP = 5


class S3Checkpoints(AsyncCheckpoints):
    """Checkpoints kept in S3 by :class:`~jupyters3.JupyterS3` (its ``parent``),
    through the parent's :class:`~jupyters3.store.S3Store`."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._random = random.Random()

    @property
    def _store(self) -> S3Store:
        store = getattr(self.parent, "store", None)
        if not isinstance(store, S3Store):
            raise RuntimeError("S3Checkpoints works only with JupyterS3 as its parent")
        return store

    @property
    def _layout(self) -> KeyLayout:
        return self._store.layout

    def _path(self, path: str) -> str:
        normalized = checked_path(path, self._layout)
        if not normalized:
            raise HTTPError(400, "The root folder has no checkpoints")
        return normalized

    def _checkpoint_key(self, path: str, checkpoint_id: str) -> str:
        if checkpoint_id_problem(checkpoint_id) is not None:
            raise HTTPError(404, f"Checkpoint does not exist: {path}@{checkpoint_id}")
        return self._layout.checkpoint_key(path, checkpoint_id)

    def _taken(self, path: str, obj: ObjectSummary) -> datetime:
        """When the checkpoint ``obj`` of ``path`` was taken: the time in its id,
        else (an id of another tool) the object's ``LastModified``."""
        taken = checkpoint_time(obj.key[len(self._layout.checkpoints_prefix(path)) :])
        return taken if taken is not None else utc_seconds(obj.last_modified)

    async def _stored(self, path: str) -> list[ObjectSummary]:
        """The checkpoint objects of ``path``, oldest first."""
        prefix = self._layout.checkpoints_prefix(path)
        found = [
            e
            for e in await self._store.list_prefix(prefix)
            if checkpoint_id_problem(e.key[len(prefix) :]) is None
        ]
        found.sort(key=lambda o: (self._taken(path, o), o.key))
        return found

    def _model(self, path: str, obj: ObjectSummary) -> Model:
        return checkpoint_model(
            obj.key[len(self._layout.checkpoints_prefix(path)) :], self._taken(path, obj)
        )

    def new_checkpoint_key(self, path: str) -> str:
        """The key of a new checkpoint of the file at (normalised) ``path``."""
        checkpoint_id = new_checkpoint_id(datetime.now(timezone.utc), self._random.getrandbits(16))
        return self._checkpoint_key(path, checkpoint_id)

    async def _copy_to_checkpoint(self, path: str, key: str | None = None) -> tuple[str, str]:
        """Copy the file at (normalised) ``path`` to a new checkpoint (at ``key``, or
        a new one): its id and key."""
        key = self.new_checkpoint_key(path) if key is None else key
        with s3_errors("checkpointing", path):
            await self._store.copy(self._layout.file_key(path), key)
        return key[len(self._layout.checkpoints_prefix(path)) :], key

    async def first_checkpoint(self, path: str, key: str | None = None) -> None:
        """The first checkpoint of a file that has none (one copy: nothing to prune),
        at ``key`` if given (from :meth:`new_checkpoint_key`)."""
        await self._copy_to_checkpoint(self._path(path), key)

    async def create_checkpoint(self, contents_mgr: Any, path: str) -> Model:
        """Checkpoint the file at ``path`` (a server-side copy), pruning old ones."""
        path = self._path(path)
        store = self._store
        checkpoint_id, key = await self._copy_to_checkpoint(path)
        with s3_errors("checkpointing", path):
            stored = await self._stored(path)
            keep = max(1, int(getattr(self.parent, "max_checkpoints", _DEFAULT_KEEP)))
            # never prune the one just made, whatever the clocks say
            others = [o for o in stored if o.key != key]
            pruned = others[: max(0, len(others) - (keep - 1))]
            if pruned:
                errors = await store.delete_keys([o.key for o in pruned])
                for err in errors:
                    self.log.warning("jupyters3: could not prune checkpoint %s: %s", err.key, err)
        return checkpoint_model(checkpoint_id, checkpoint_time(checkpoint_id))

    async def restore_checkpoint(self, contents_mgr: Any, checkpoint_id: str, path: str) -> None:
        """Put the file at ``path`` back as it was at ``checkpoint_id``."""
        path = self._path(path)
        key = self._checkpoint_key(path, checkpoint_id)
        with s3_errors("restoring", path):
            try:
                await self._store.copy(key, self._layout.file_key(path))
            except NoSuchKey:
                raise HTTPError(404, f"Checkpoint does not exist: {path}@{checkpoint_id}") from None

    async def rename_checkpoint(self, checkpoint_id: str, old_path: str, new_path: str) -> None:
        """Move one checkpoint of ``old_path`` to ``new_path``."""
        old, new = self._path(old_path), self._path(new_path)
        src = self._checkpoint_key(old, checkpoint_id)
        with s3_errors("renaming checkpoints of", old):
            await self._store.move(src, self._checkpoint_key(new, checkpoint_id))

    async def rename_all_checkpoints(self, old_path: str, new_path: str) -> None:
        """Move every checkpoint of ``old_path`` to ``new_path``: all copies, then
        one batched delete."""
        moved = await self.copy_all_checkpoints(old_path, new_path)
        await self.delete_checkpoint_objects(old_path, moved)

    async def copy_all_checkpoints(self, old_path: str, new_path: str) -> list[ObjectSummary]:
        """Copy every checkpoint of ``old_path`` to ``new_path`` and return the
        originals; on failure the copies made are removed and the error says so."""
        old, new = self._path(old_path), self._path(new_path)
        store = self._store
        with s3_errors("copying checkpoints of", old):
            stored = await self._stored(old)
            attempted: list[str] = []

            def job(obj: ObjectSummary) -> Callable[[], Awaitable[None]]:
                async def run() -> None:
                    cid = obj.key[len(self._layout.checkpoints_prefix(old)) :]
                    key = self._checkpoint_key(new, cid)
                    attempted.append(key)
                    await store.copy(obj.key, key)

                return run

            failures = await store.bounded([job(o) for o in stored])
            if failures:
                cleanup = "the copies made were removed"
                try:
                    if await store.delete_keys(attempted):
                        cleanup = "some of the copies made could not be removed"
                except Exception:
                    cleanup = "the copies made could not be removed"
                first = failures[0]
                status = first.status if isinstance(first, S3Error) and first.status else 500
                raise HTTPError(
                    status if 400 <= status < 600 else 500,
                    f"Could not copy the checkpoints of {old} to {new} ({first}); "
                    f"{old} is unchanged; {cleanup}",
                )
            return stored

    async def delete_checkpoint_objects(self, path: str, stored: list[ObjectSummary]) -> None:
        """Delete these checkpoint objects of ``path`` (an error if any stays)."""
        if not stored:
            return
        with s3_errors("deleting checkpoints of", path):
            errors = await self._store.delete_keys([o.key for o in stored])
        if errors:
            first = errors[0]
            raise HTTPError(
                500,
                f"Could not delete {len(errors)} of the {len(stored)} checkpoints of {path} "
                f"(first: {first.key}: {first.code} {first.message})",
            )

    async def delete_checkpoint(self, checkpoint_id: str, path: str) -> None:
        """Delete one checkpoint (404 if there is no such checkpoint)."""
        path = self._path(path)
        key = self._checkpoint_key(path, checkpoint_id)
        with s3_errors("deleting checkpoint of", path):
            if await self._store.head(key) is None:
                raise HTTPError(404, f"Checkpoint does not exist: {path}@{checkpoint_id}")
            await self._store.delete(key)

    async def delete_all_checkpoints(self, path: str) -> None:
        """Delete every checkpoint of ``path`` (batched), and whatever else is stored
        among them (another tool's, at any depth): none is left to look like a folder."""
        path = self._path(path)
        with s3_errors("deleting checkpoints of", path):
            stored = await self._store.objects_under(self._layout.checkpoints_prefix(path))
        await self.delete_checkpoint_objects(path, stored)

    async def list_checkpoints(self, path: str) -> list[Model]:
        """The checkpoints of ``path``, oldest first (the last is the latest)."""
        path = self._path(path)
        with s3_errors("listing checkpoints of", path):
            return [self._model(path, o) for o in await self._stored(path)]
