"""S3Checkpoints: several checkpoints per file, in the bucket next to the file.

The checkpoints of ``a/b.ipynb`` are ``<prefix>a/b.ipynb/.checkpoints/<id>``,
made and restored with server-side copies. Ids sort by creation time; the
newest ``max_checkpoints`` (a JupyterS3 option, default 5) are kept.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from jupyter_server.services.contents.checkpoints import AsyncCheckpoints
from tornado.web import HTTPError

from s3lite import NoSuchKey, ObjectSummary

from .models import Model, checkpoint_model, utc_seconds
from .paths import KeyLayout, PathError, checkpoint_id_problem, new_checkpoint_id, normalize_path

if TYPE_CHECKING:
    from .manager import JupyterS3

__all__ = ["S3Checkpoints"]

_DEFAULT_KEEP = 5


class S3Checkpoints(AsyncCheckpoints):
    """Checkpoints kept in S3 by :class:`~jupyters3.JupyterS3` (its ``parent``)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._random = random.Random()

    @property
    def _manager(self) -> JupyterS3:
        from .manager import JupyterS3

        if not isinstance(self.parent, JupyterS3):
            raise RuntimeError("S3Checkpoints works only with JupyterS3 as its parent")
        return self.parent

    @property
    def _layout(self) -> KeyLayout:
        return self._manager.layout

    def _path(self, path: str) -> str:
        try:
            normalized = normalize_path(path)
        except PathError as e:
            raise HTTPError(400, str(e)) from None
        if not normalized:
            raise HTTPError(400, "The root folder has no checkpoints")
        return normalized

    def _checkpoint_key(self, path: str, checkpoint_id: str) -> str:
        if checkpoint_id_problem(checkpoint_id) is not None:
            raise HTTPError(404, f"Checkpoint does not exist: {path}@{checkpoint_id}")
        return self._layout.checkpoint_key(path, checkpoint_id)

    async def _stored(self, path: str) -> list[ObjectSummary]:
        """The checkpoint objects of ``path``, newest first."""
        cm = self._manager
        prefix = self._layout.checkpoints_prefix(path)
        found = [
            e
            async for e in cm.s3.list_objects(cm.bucket, prefix, "/")
            if isinstance(e, ObjectSummary) and checkpoint_id_problem(e.key[len(prefix) :]) is None
        ]
        found.sort(key=lambda o: (utc_seconds(o.last_modified), o.key), reverse=True)
        return found

    def _model(self, path: str, obj: ObjectSummary) -> Model:
        return checkpoint_model(
            obj.key[len(self._layout.checkpoints_prefix(path)) :], obj.last_modified
        )

    async def create_checkpoint(self, contents_mgr: Any, path: str) -> Model:
        """Checkpoint the file at ``path`` (a server-side copy), pruning old ones."""
        path = self._path(path)
        cm = self._manager
        checkpoint_id = new_checkpoint_id(datetime.now(timezone.utc), self._random.getrandbits(16))
        key = self._checkpoint_key(path, checkpoint_id)
        with cm._s3_errors("checkpointing", path):
            await cm.s3.copy_object(
                cm.bucket, self._layout.file_key(path), cm.bucket, key, **cm._write_args()
            )
            stored = await self._stored(path)
            keep = max(1, int(getattr(cm, "max_checkpoints", _DEFAULT_KEEP)))
            # never prune the one just made, whatever the clocks say
            ours = [o for o in stored if o.key == key]
            others = [o for o in stored if o.key != key]
            pruned = others[keep - 1 :]
            if pruned:
                errors = await cm.s3.delete_objects(cm.bucket, [o.key for o in pruned])
                for err in errors:
                    self.log.warning("jupyters3: could not prune checkpoint %s: %s", err.key, err)
        if ours:
            return self._model(path, ours[0])
        return checkpoint_model(checkpoint_id, datetime.now(timezone.utc))

    async def restore_checkpoint(self, contents_mgr: Any, checkpoint_id: str, path: str) -> None:
        """Put the file at ``path`` back as it was at ``checkpoint_id``."""
        path = self._path(path)
        cm = self._manager
        key = self._checkpoint_key(path, checkpoint_id)
        with cm._s3_errors("restoring", path):
            try:
                await cm.s3.copy_object(
                    cm.bucket, key, cm.bucket, self._layout.file_key(path), **cm._write_args()
                )
            except NoSuchKey:
                raise HTTPError(404, f"Checkpoint does not exist: {path}@{checkpoint_id}") from None

    async def rename_checkpoint(self, checkpoint_id: str, old_path: str, new_path: str) -> None:
        """Move one checkpoint of ``old_path`` to ``new_path``."""
        old, new = self._path(old_path), self._path(new_path)
        cm = self._manager
        src = self._checkpoint_key(old, checkpoint_id)
        with cm._s3_errors("renaming checkpoints of", old):
            await cm.s3.copy_object(
                cm.bucket, src, cm.bucket, self._checkpoint_key(new, checkpoint_id)
            )
            await cm.s3.delete_object(cm.bucket, src)

    async def rename_all_checkpoints(self, old_path: str, new_path: str) -> None:
        """Move every checkpoint of ``old_path`` to ``new_path``: all copies, then
        one batched delete."""
        old, new = self._path(old_path), self._path(new_path)
        cm = self._manager
        with cm._s3_errors("renaming checkpoints of", old):
            stored = await self._stored(old)
            if not stored:
                return

            def job(obj: ObjectSummary) -> Callable[[], Awaitable[None]]:
                async def run() -> None:
                    cid = obj.key[len(self._layout.checkpoints_prefix(old)) :]
                    await cm.s3.copy_object(
                        cm.bucket, obj.key, cm.bucket, self._checkpoint_key(new, cid)
                    )

                return run

            failures = await cm._bounded([job(o) for o in stored])
            if failures:
                raise HTTPError(
                    500,
                    f"Renamed {old} to {new}, but its checkpoints could not be moved: "
                    f"{failures[0]}",
                )
            await cm.s3.delete_objects(cm.bucket, [o.key for o in stored])

    async def delete_checkpoint(self, checkpoint_id: str, path: str) -> None:
        """Delete one checkpoint (404 if there is no such checkpoint)."""
        path = self._path(path)
        cm = self._manager
        key = self._checkpoint_key(path, checkpoint_id)
        with cm._s3_errors("deleting checkpoint of", path):
            if await cm._head(key) is None:
                raise HTTPError(404, f"Checkpoint does not exist: {path}@{checkpoint_id}")
            await cm.s3.delete_object(cm.bucket, key)

    async def delete_all_checkpoints(self, path: str) -> None:
        """Delete every checkpoint of ``path`` (batched)."""
        path = self._path(path)
        cm = self._manager
        with cm._s3_errors("deleting checkpoints of", path):
            stored = await self._stored(path)
            if stored:
                await cm.s3.delete_objects(cm.bucket, [o.key for o in stored])

    async def list_checkpoints(self, path: str) -> list[Model]:
        """The checkpoints of ``path``, newest first."""
        path = self._path(path)
        cm = self._manager
        with cm._s3_errors("listing checkpoints of", path):
            return [self._model(path, o) for o in await self._stored(path)]
