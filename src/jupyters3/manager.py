"""JupyterS3: a Jupyter Server contents manager keeping everything in one S3 bucket.

This module is the Jupyter contract: options, models, hooks, events, HTTP
errors and names. The S3 side (keys, probes, listings, writes, trees) is
:class:`~jupyters3.store.S3Store`, chunked uploads are :mod:`jupyters3.uploads`.
Every S3 call is awaited on whichever event loop calls the manager (there is
no write lock and no thread); the S3 client is created lazily and is not bound
to a loop. Key layout and naming rules: see :mod:`jupyters3.paths`.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import contextvars
import dataclasses
import hashlib
import posixpath
import uuid
import weakref
from collections import OrderedDict
from collections.abc import Iterator
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from jupyter_core.utils import run_sync
from jupyter_server.services.contents.manager import AsyncContentsManager, copy_pat
from tornado.web import HTTPError
from traitlets import (
    Bool,
    Enum,
    Float,
    Instance,
    Int,
    TraitError,
    Type,
    Unicode,
    default,
    observe,
    validate,
)

from s3lite import (
    NoSuchBucket,
    NoSuchKey,
    ObjectInfo,
    PreconditionFailed,
    PutResult,
    RetryConfig,
    S3Client,
    S3Error,
    TransportError,
)

from .auth import JupyterS3Authentication, JupyterS3DefaultAuthentication
from .checkpoints import S3Checkpoints
from .errors import checked_path, http_error_for, s3_errors
from .kernels import use_kernel_env
from .models import (
    NOTEBOOK_MIMETYPE,
    CellByCellDecoder,
    Model,
    content_from_bytes,
    content_to_bytes,
    directory_model,
    file_model,
    file_type,
    guess_mimetype,
    hash_fields,
    notebook_problem,
    s3_content_type,
)
from .notebooks import (
    LARGE_NOTEBOOK_BYTES,
    LARGE_NOTEBOOK_ITEMS,
    NotebookWorker,
    Serialised,
    WorkerError,
    notebook_items,
    parse_notebook,
    serialise_notebook,
)
from .paths import (
    DIRECTORY_CONTENT_TYPE,
    DirListing,
    KeyLayout,
    PathError,
    glob_matcher,
    is_hidden_path,
    join,
    normalize_prefix,
    split,
)
from .store import (
    MoveIncompleteError,
    PartialDeleteError,
    S3Store,
    TreeCopyError,
    TreeLeftoversError,
)
from .uploads import ChunkedUploads, ChunkSaved, chunk_number, maybe_off_loop

__all__ = ["JupyterS3"]

MiB = 1024 * 1024
MAX_PUT_SIZE = 5 * 1024 * MiB  # S3's largest single PutObject
# Set while new_untitled claims a name: new objects are written with If-None-Match: *.
_claiming: contextvars.ContextVar[bool] = contextvars.ContextVar("_claiming", default=False)
# Times a rename copies a file again that was saved at its old name meanwhile.
_MOVE_ATTEMPTS = 3
# Names new_untitled tries before it gives up (each after a fresh listing).
_CLAIM_ATTEMPTS = 10
# Seconds between two sweeps of old trash entries (each on a delete).
_TRASH_SWEEP_EVERY = 600.0
# Paths whose ETag the manager remembers for conditional saves (the least recent go first).
_SEEN_MAX = 4096


@dataclass
class _Seen:
    """What this server last knew of a file: its ETag when it last read or saved
    it (None: it believed there was no such file), and whether it knows the file
    has a checkpoint (so saves need not list them)."""

    etag: str | None
    checkpointed: bool = False


def _abort_uploads_at_exit(ref: weakref.ReferenceType[JupyterS3]) -> None:
    manager = ref()
    if manager is None or not manager._uploads.active or not manager.abort_uploads_at_shutdown:
        return

    async def abort() -> None:
        await asyncio.wait_for(manager._uploads.abort_mine(manager.store), 30)
        await manager.s3.close()

    try:
        asyncio.run(abort())
    except Exception as e:
        manager.log.warning("jupyters3: could not abort the uploads in progress: %s", e)


class JupyterS3(AsyncContentsManager):
    """Serve notebooks, files, folders and checkpoints from an S3 bucket."""

    aws_region = Unicode(
        "",
        config=True,
        help="The bucket's region (default: AWS_REGION, the AWS config, us-east-1).",
    )
    aws_s3_bucket = Unicode("", config=True, help="The bucket holding everything (required).")
    aws_s3_host = Unicode(
        "",
        config=True,
        help="Host of the S3 API, used as https://<host>/<bucket>/... (path style). "
        "Optional; endpoint_url overrides it.",
    )
    endpoint_url = Unicode(
        "",
        config=True,
        help="URL of any S3-compatible server, e.g. http://127.0.0.1:9000 (path style).",
    )
    prefix = Unicode("", config=True, help="Prefix of every key; may be empty.")
    authentication_class = Type(
        JupyterS3DefaultAuthentication,
        klass=JupyterS3Authentication,
        config=True,
        help="How to authenticate; the default uses the full AWS credential chain.",
    )
    authentication = Instance(JupyterS3Authentication)
    sse = Enum(
        ["", "AES256", "aws:kms"],
        default_value="",
        config=True,
        help="Server-side encryption of written objects: '', 'AES256' or 'aws:kms'.",
    )
    kms_key_id = Unicode("", config=True, help="The KMS key for sse='aws:kms' (optional).")
    ca_bundle = Unicode("", config=True, help="CA bundle file to verify the endpoint's TLS with.")
    verify_tls = Bool(
        True, config=True, help="Verify TLS certificates (False for self-signed test servers)."
    )
    max_concurrency = Int(
        16, config=True, help="S3 requests in flight at once per operation (and connections)."
    )
    max_checkpoints = Int(5, config=True, help="Checkpoints kept per file; older ones are pruned.")
    always_delete_dir = Bool(
        True,
        config=True,
        help="Allow deleting non-empty folders with everything in them (as the file "
        "browsers ask first). False refuses that unless delete_to_trash is on, as upstream.",
    )
    delete_to_trash = Bool(
        False,
        config=True,
        help="Move deleted files and folders to a hidden trash in the bucket, "
        "<prefix>.jupyters3-trash/<entry>/<path> (server-side copies), instead of "
        "deleting them. Off by default: S3 has no trash of its own.",
    )
    trash_max_age = Float(
        30 * 86400.0,
        config=True,
        help="Seconds after which trashed entries are removed, by a sweep at most every "
        "10 minutes on a delete (0: never; a bucket lifecycle rule can do it too).",
    )
    hash_algorithm = Enum(
        sorted(hashlib.algorithms_available),
        default_value="sha256",
        config=True,
        help="Hash algorithm of the hash field of models.",
    )
    upload_part_size = Int(
        8 * MiB,
        config=True,
        help="Part size of chunked uploads and of saves above multipart_threshold "
        "(S3 minimum 5 MiB).",
    )
    multipart_threshold = Int(
        512 * MiB,
        config=True,
        help="Saves up to this size (5 MiB to 5 GiB, S3's largest PUT) go as one "
        "conditional PUT (a conflict is a 409), larger ones as a multipart upload of "
        "upload_part_size parts. The default is jupyter_server's max_body_size: every "
        "save in one request is one PUT.",
    )
    upload_timeout = Float(
        3600.0, config=True, help="Seconds after which an idle chunked upload is aborted."
    )
    abort_uploads_at_shutdown = Bool(
        True,
        config=True,
        help="On a clean shutdown, abort the chunked uploads whose newest chunk this "
        "process took (unless another process took one since). False for several "
        "processes or rolling restarts: uploads then survive a restart.",
    )
    connect_timeout = Float(10.0, config=True, help="Seconds to connect to S3.")
    read_timeout = Float(60.0, config=True, help="Seconds to wait for S3 to answer.")
    conditional_saves = Bool(
        True,
        config=True,
        help="Save with If-Match on the ETag a file had when this server read or saved it "
        "(If-None-Match: * for a new file), so a save never replaces someone else's: a "
        "conflict is a 409. Turn off only for S3 servers that reject conditional writes.",
    )
    startup_check = Bool(
        True,
        config=True,
        help="At start-up, list the prefix once (read-only) to fail early on bad settings.",
    )
    startup_timeout = Float(
        5.0,
        config=True,
        help="Seconds the start-up check may take in all (retries included) before it "
        "fails with a message naming the endpoint.",
    )

    @default("authentication")
    def _default_authentication(self) -> JupyterS3Authentication:
        return self.authentication_class(parent=self, log=self.log)

    @default("checkpoints_class")
    def _default_checkpoints_class(self) -> type:
        return S3Checkpoints

    @default("files_handler_class")
    def _default_files_handler_class(self) -> type:
        from .handlers import S3FilesHandler

        return S3FilesHandler

    @validate("prefix")
    def _validate_prefix(self, proposal: dict[str, Any]) -> str:
        try:
            return normalize_prefix(proposal["value"])
        except PathError as e:
            raise TraitError(f"JupyterS3.prefix: {e}") from None

    @validate("upload_part_size")
    def _validate_part_size(self, proposal: dict[str, Any]) -> int:
        value = int(proposal["value"])
        if value < 5 * MiB:
            raise TraitError("JupyterS3.upload_part_size must be at least 5 MiB (S3's minimum)")
        return value

    @validate("multipart_threshold")
    def _validate_multipart_threshold(self, proposal: dict[str, Any]) -> int:
        value = int(proposal["value"])
        if not 5 * MiB <= value <= MAX_PUT_SIZE:
            raise TraitError(
                f"JupyterS3.multipart_threshold must be between 5 MiB and 5 GiB "
                f"(S3's largest PUT), not {value}"
            )
        return value

    @validate("max_concurrency", "max_checkpoints")
    def _validate_positive(self, proposal: dict[str, Any]) -> int:
        value = int(proposal["value"])
        if value < 1:
            raise TraitError(f"JupyterS3.{proposal['trait'].name} must be at least 1")
        return value

    def __init__(self, **kwargs: Any) -> None:
        # Set before the traits load: validating preferred_dir already talks to S3.
        self._client: S3Client | None = None
        self._store: S3Store | None = None
        self._uploads = ChunkedUploads(self.log)
        self._reaper: asyncio.Task[None] | None = None
        self._exit_hook = False
        self._trash_swept: datetime | None = None
        self._startup_task: asyncio.Task[None] | None = None
        self._seen: OrderedDict[str, _Seen] = OrderedDict()
        self._notebook_worker = NotebookWorker()
        super().__init__(**kwargs)
        use_kernel_env(self)
        if self.startup_check:
            self._check_configuration()
        self._point_server_at_preferred_dir()

    # -- set-up ----------------------------------------------------------------

    @property
    def layout(self) -> KeyLayout:
        """The key layout under ``prefix``."""
        return KeyLayout(self.prefix)

    @property
    def bucket(self) -> str:
        return str(self.aws_s3_bucket)

    def endpoint(self) -> str | None:
        """The S3 endpoint URL in use (None: AWS's own, from the region)."""
        if self.endpoint_url:
            return str(self.endpoint_url)
        if self.aws_s3_host:
            host = str(self.aws_s3_host)
            return host if "://" in host else f"https://{host}"
        return None

    def _where(self) -> str:
        return self.endpoint() or f"AWS S3 in {self.aws_region or 'the default region'}"

    @property
    def s3(self) -> S3Client:
        """The S3 client, created on first use (it is not bound to an event loop)."""
        if self._client is None:
            self._client = self._make_client()
        return self._client

    def _make_client(self, **overrides: Any) -> S3Client:
        endpoint = self.endpoint()
        verify: bool | str = str(self.ca_bundle) if self.ca_bundle else bool(self.verify_tls)
        options: dict[str, Any] = dict(
            region=self.aws_region or None,
            endpoint_url=endpoint,
            credentials=self.authentication.credential_provider(),
            addressing_style="path" if endpoint else "auto",
            verify=verify,
            max_connections=self.max_concurrency,
            connect_timeout=self.connect_timeout,
            read_timeout=self.read_timeout,
            multipart_chunksize=self.upload_part_size,
            multipart_threshold=self.multipart_threshold,
            max_concurrency=min(self.max_concurrency, 4),
        )
        return S3Client(**{**options, **overrides})

    @property
    def store(self) -> S3Store:
        """The S3 side: the bucket under ``prefix``, through :attr:`s3`."""
        if self._store is None:
            self._store = S3Store(
                lambda: self.s3,
                self.bucket,
                self.layout,
                sse=self.sse or None,
                kms_key_id=self.kms_key_id or None,
                max_concurrency=self.max_concurrency,
            )
        return self._store

    @observe("aws_s3_bucket", "prefix", "sse", "kms_key_id", "max_concurrency")
    def _store_settings_changed(self, change: dict[str, Any]) -> None:
        self._store = None

    async def close(self) -> None:
        """Close the S3 client's connections and stop the worker processes of large
        notebooks (for embedding and tests)."""
        self._notebook_worker.close()
        if self._reaper is not None:
            self._reaper.cancel()
            self._reaper = None
        if self._startup_task is not None:
            self._startup_task.cancel()
            self._startup_task = None
        if self._client is not None:
            await self._client.close()

    def info_string(self) -> str:
        return f"Serving contents from s3://{self.bucket}/{self.prefix} at {self._where()}"

    def _point_server_at_preferred_dir(self) -> None:
        """Make ``ServerApp.preferred_dir`` say our ``preferred_dir``.

        Notebook 7 opens on ``ServerApp.preferred_dir`` taken relative to our
        ``root_dir``; that trait is a local folder (by default the one Jupyter was
        started in), which is no folder of the bucket: the tree page would open on
        "Directory not found". Its validator only accepts existing local folders,
        so it is set past validation (JupyterLab asks us directly).
        """
        app = self.parent
        if app is None or not app.has_trait("preferred_dir"):
            return
        configured = app.config.get("ServerApp", {}).get("preferred_dir")
        if configured:
            self.log.warning(
                "jupyters3: ServerApp.preferred_dir (%s) is a local folder and is ignored; "
                "set JupyterS3.preferred_dir to a folder of the bucket instead",
                configured,
            )
        wanted = posixpath.join(self.root_dir, self.preferred_dir)
        if app.preferred_dir != wanted:
            with app.cross_validation_lock:
                app.preferred_dir = wanted

    def _check_configuration(self) -> None:
        """Fail now, with one clear message, rather than at the first click.

        The network part takes at most ``startup_timeout`` seconds. With no event
        loop running it runs here; in a running loop it must not block that loop, so
        it runs as a task of its own and logs its outcome."""
        if not self.bucket:
            raise TraitError(
                "jupyters3: no bucket configured; set c.JupyterS3.aws_s3_bucket = '<bucket>'"
            )
        if self.kms_key_id and self.sse != "aws:kms":
            raise TraitError("jupyters3: JupyterS3.kms_key_id needs JupyterS3.sse = 'aws:kms'")
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            run_sync(self._bounded_check)()
            return
        self._startup_task = loop.create_task(self._check_in_background())

    async def _check_in_background(self) -> None:
        try:
            await self._bounded_check()
        except TraitError as e:
            self.log.error("%s", e)
        else:
            self.log.info(
                "jupyters3: start-up check passed for s3://%s/%s", self.bucket, self.prefix
            )

    async def _bounded_check(self) -> None:
        """:meth:`_check_bucket` on a client of its own whose timeouts and retries
        all fit in ``startup_timeout``."""
        bound = max(float(self.startup_timeout), 0.001)
        client = self._make_client(
            connect_timeout=min(self.connect_timeout, bound),
            read_timeout=min(self.read_timeout, bound),
            retry=RetryConfig(deadline=bound),
        )
        store = S3Store(lambda: client, self.bucket, self.layout)
        try:
            await asyncio.wait_for(self._check_bucket(store), bound)
        except asyncio.TimeoutError:
            raise TraitError(
                f"jupyters3: S3 at {self._where()} did not answer within {bound:g} s "
                f"(listing s3://{self.bucket}/{self.prefix}); check c.JupyterS3.endpoint_url "
                "and the network, or raise c.JupyterS3.startup_timeout"
            ) from None
        finally:
            with contextlib.suppress(Exception):
                await client.close()

    async def _check_bucket(self, store: S3Store | None = None) -> None:
        where = f"s3://{self.bucket}/{self.prefix} at {self._where()}"
        try:
            await (store or self.store).first_entries(self.layout.prefix, 1)
        except NoSuchBucket:
            raise TraitError(
                f"jupyters3: the bucket {self.bucket!r} does not exist at {self._where()}"
            ) from None
        except TransportError as e:
            raise TraitError(f"jupyters3: cannot reach S3 for {where}: {e}") from None
        except S3Error as e:
            if e.status == 403 or e.code in ("InvalidAccessKeyId", "SignatureDoesNotMatch"):
                raise TraitError(
                    f"jupyters3: S3 refused to list {where} with the configured credentials "
                    f"({e.code}: {e.message or 'access denied'})"
                ) from None
            raise TraitError(f"jupyters3: cannot list {where}: {e}") from None
        except Exception as e:
            raise TraitError(f"jupyters3: cannot use {where}: {type(e).__name__}: {e}") from None

    # -- small helpers -----------------------------------------------------------

    @property
    def _checkpoints(self) -> Any:
        return self.checkpoints

    def _emit(self, action: str, path: str, source_path: str | None = None) -> None:
        data = {"action": action, "path": path}
        if source_path is not None:
            data["source_path"] = source_path
        self.emit(data=data)  # type: ignore[no-untyped-call]

    def _normalize(self, path: str) -> str:
        return checked_path(path, self.layout)

    def _check_length(self, path: str) -> None:
        try:
            self.layout.check_length(path)
        except PathError as e:
            raise HTTPError(400, str(e)) from None

    _s3_errors = staticmethod(s3_errors)

    # -- what this server last saw of each file (conditional saves) ---------------

    def _remember(self, path: str, etag: str | None, *, checkpointed: bool | None = None) -> None:
        """Note ``path``'s ETag as read or written here (None: no such file)."""
        old = self._seen.pop(path, None)
        if checkpointed is None:
            checkpointed = old is not None and old.checkpointed and etag is not None
        self._seen[path] = _Seen(etag, checkpointed)
        while len(self._seen) > _SEEN_MAX:
            self._seen.popitem(last=False)

    def _forget(self, path: str) -> None:
        """Forget ``path`` and everything under it (deleted or renamed)."""
        below = path + "/"
        for seen in [p for p in self._seen if p == path or p.startswith(below)]:
            del self._seen[seen]

    # -- existence -------------------------------------------------------------

    async def dir_exists(self, path: str) -> bool:
        """Whether a folder exists at ``path`` (a marker, or any key under it)."""
        path = self._normalize(path)
        with self._s3_errors("checking", path):
            return (await self.store.probe_dir(path))[0]

    async def file_exists(self, path: str) -> bool:
        """Whether a file (or notebook) exists at ``path``."""
        path = self._normalize(path)
        if not path:
            return False
        with self._s3_errors("checking", path):
            return await self.store.head(self.layout.file_key(path)) is not None

    async def is_hidden(self, path: str) -> bool:
        """Whether any component of ``path`` starts with a dot."""
        return is_hidden_path(self._normalize(path))

    # -- get -------------------------------------------------------------------

    async def get(
        self,
        path: str,
        content: bool = True,
        type: str | None = None,
        format: str | None = None,
        require_hash: bool = False,
    ) -> Model:
        """The model of the file, notebook or folder at ``path``."""
        path = self._normalize(path)
        if not self.allow_hidden and is_hidden_path(path):
            raise HTTPError(404, f"file or directory does not exist: {path!r}")
        if type not in (None, "directory", "file", "notebook"):
            raise HTTPError(400, f"Unknown type {type!r}", reason="bad type")
        try:
            with self._s3_errors("reading", path):
                if path == "" or type == "directory":
                    model = await self._get_dir(path, content, type)
                else:
                    model = await self._get_file_or_dir(path, content, type, format, require_hash)
        except HTTPError:
            raise
        except Exception as e:  # e.g. a broken notebook signature store: ours, not the user's
            self.log.error("Error while reading %s: %s", path, e, exc_info=True)
            raise HTTPError(500, f"Unexpected error while reading {path}: {e!r}") from e
        self._emit("get", path)
        return model

    async def _get_dir(self, path: str, content: bool, type: str | None) -> Model:
        listing = await self.store.list_dir(path) if content else None
        if listing is not None:
            exists, marker = path == "" or listing.exists, listing.marker
        else:
            exists, marker = await self.store.probe_dir(path)
        if not exists:
            if path and await self.store.head(self.layout.file_key(path)) is not None:
                raise HTTPError(400, f"{path} is not a directory", reason="bad type")
            raise self._missing(path, orphans=listing is not None and listing.checkpoints)
        if listing is None:
            when = marker.last_modified if marker is not None else None
            return directory_model(path, last_modified=when)
        return await self._dir_model(path, listing)

    def _missing(
        self, path: str, *, orphans: bool, what: str = "No such file or directory"
    ) -> HTTPError:
        """The 404 for ``path``, which names the checkpoints stored there if
        ``orphans`` (those of a file deleted before: no folder)."""
        if not orphans:
            return HTTPError(404, f"{what}: {path}")
        self.store.forget_folder(path)  # listed as a folder lately? not any more
        return HTTPError(
            404,
            f"{what}: {path} (only checkpoints of a deleted file of that name are stored "
            f"there: deleting {path} removes them)",
        )

    async def _dir_model(self, path: str, listing: DirListing) -> Model:
        """The model of the folder ``path`` with the entries of its ``listing``,
        sub-folders holding only orphaned checkpoints left out."""
        hidden = glob_matcher(tuple(self.hide_globs))
        allow_hidden = self.allow_hidden

        def listable(name: str) -> bool:
            return not hidden(name) and (allow_hidden or not name.startswith("."))

        await self.store.drop_orphans(path, listing, listable)
        when = listing.marker.last_modified if listing.marker is not None else None
        entries: list[Model] = []
        for name in listing.dirs:
            if listable(name):
                # a CommonPrefix has no time (its marker's would cost a request each)
                entries.append(directory_model(join(path, name), time_known=False))
        for name, obj in listing.files.items():
            if listable(name):
                entries.append(
                    file_model(join(path, name), size=obj.size, last_modified=obj.last_modified)
                )
        return directory_model(path, last_modified=when, content=entries)

    def should_list(self, name: str) -> bool:
        """Whether ``name`` matches none of ``hide_globs``."""
        return not glob_matcher(tuple(self.hide_globs))(name)

    async def _get_file_or_dir(
        self, path: str, content: bool, type: str | None, format: str | None, require_hash: bool
    ) -> Model:
        key = self.layout.file_key(path)
        data: bytes | None = None
        info: ObjectInfo | None
        if content or require_hash:
            obj = await self.store.read(key)
            info, data = (obj, obj.body) if obj is not None else (None, None)
        else:
            info = await self.store.head(key)
        if info is None:
            # Not a file: a folder? (With content, the listing itself tells.)
            listing = await self.store.list_dir(path) if content and type is None else None
            exists = listing.exists if listing is not None else await self.store.dir_exists(path)
            if not exists:
                self._remember(path, None)  # a save here now makes a new file
                raise self._missing(path, orphans=listing is not None and listing.checkpoints)
            if type is not None:
                raise HTTPError(400, f"{path} is a directory, not a {type}", reason="bad type")
            if listing is None:
                return await self._get_dir(path, content, None)
            return await self._dir_model(path, listing)
        kind = file_type(path, type)
        model = file_model(path, size=info.size, last_modified=info.last_modified, type_=kind)
        if content:
            assert data is not None
            # What the user now edits: their next save is conditional on this version.
            self._remember(path, info.etag)
            if kind == "notebook":
                await self._fill_notebook(model, data, path)
            else:
                body = data
                text, fmt = await maybe_off_loop(
                    len(body), lambda: content_from_bytes(body, format, path)
                )
                if model["mimetype"] is None:
                    model["mimetype"] = (
                        "text/plain" if fmt == "text" else "application/octet-stream"
                    )
                model.update(content=text, format=fmt)
        if require_hash:
            assert data is not None
            body, algorithm = data, self.hash_algorithm
            model.update(await maybe_off_loop(len(body), lambda: hash_fields(body, algorithm)))
        return model

    async def _fill_notebook(self, model: Model, data: bytes, path: str) -> None:
        """Parse the notebook and mark its trusted cells. Parsing and the signature's
        hash run in a thread, or for a large notebook in a worker process (seconds of
        CPU); the signature store, an SQLite database bound to this thread, is asked
        here."""
        notary = self.notary
        try:
            if len(data) > LARGE_NOTEBOOK_BYTES:
                nb, signature, validation_error = await self._notebook_worker.parse(data, notary)
            else:
                # the decoder lets the event loop run between cells
                nb, signature, validation_error = await asyncio.to_thread(
                    parse_notebook, data, notary, CellByCellDecoder
                )
        except WorkerError as e:
            raise HTTPError(400, f"Unreadable Notebook: {path} {e.representation}") from e
        except BrokenProcessPool:
            raise  # ours, not the notebook's: a 500
        except Exception as e:
            raise HTTPError(400, f"Unreadable Notebook: {path} {e!r}") from e
        trusted = signature is not None and notary.store.check_signature(
            signature, notary.algorithm
        )
        if not trusted:
            self.log.warning("Notebook %s is not trusted", path)
        await maybe_off_loop(
            len(data),
            lambda: notary.mark_cells(nb, trusted),  # type: ignore[no-untyped-call]
        )
        model["content"] = nb
        model["format"] = "json"
        self.validate_notebook_model(  # type: ignore[no-untyped-call]
            model, validation_error
        )

    # -- save ------------------------------------------------------------------

    async def save(self, model: Model, path: str = "") -> Model:
        """Save a file, notebook or folder model (or one chunk of an upload)."""
        path = self._normalize(path)
        if model.get("chunk") is not None:
            return await self._save_chunk(model, path)
        self.run_pre_save_hooks(  # type: ignore[no-untyped-call]
            model=model, path=path
        )
        if "type" not in model:
            raise HTTPError(400, "No file type provided")
        kind = model["type"]
        if "content" not in model and kind != "directory":
            raise HTTPError(400, "No file content provided")
        if not self.allow_hidden and is_hidden_path(path):
            raise HTTPError(400, f"Cannot create file or directory {path!r}")
        if path == "" and kind != "directory":
            raise HTTPError(400, "Cannot save a file as the root folder")
        if path:
            self._check_length(path)

        validation_error: dict[str, Any] = {}
        try:
            with self._s3_errors("saving", path):
                saved: Model | None = None
                if kind == "notebook":
                    data = await self._notebook_bytes(model["content"], path, validation_error)
                    written, _ = await self._write_file(
                        path, data, NOTEBOOK_MIMETYPE, checkpoint=True
                    )
                    await self._ensure_checkpoint(path)
                    saved = await self._saved_model(path, len(data), written)
                elif kind == "file":
                    content, fmt = model["content"], model.get("format")
                    size = len(content) if isinstance(content, str) else 0
                    data = await maybe_off_loop(size, lambda: content_to_bytes(content, fmt, path))
                    mime = s3_content_type(path, kind, fmt)
                    written, _ = await self._write_file(path, data, mime)
                    saved = await self._saved_model(path, len(data), written)
                elif kind == "directory":
                    await self._make_dir(path)
                else:
                    raise HTTPError(400, f"Unhandled contents type: {kind}")
        except HTTPError:
            raise
        except Exception as e:
            self.log.error("Error while saving file: %s %s", path, e, exc_info=True)
            raise HTTPError(500, f"Unexpected error while saving file: {path} {e}") from e

        message = None
        if kind == "notebook":
            self.validate_notebook_model(  # type: ignore[no-untyped-call]
                model, validation_error=validation_error
            )
            message = model.get("message")
        if saved is None:
            saved = await self._get_dir(path, False, None)
        else:
            self._emit("get", path)  # as upstream, whose save gets the model it answers
        if message:
            saved["message"] = message
        self.run_post_save_hooks(  # type: ignore[no-untyped-call]
            model=saved, os_path=path
        )
        self._emit("save", path)
        return saved

    async def restore_checkpoint(self, checkpoint_id: str, path: str) -> None:
        """Put the file back as it was at ``checkpoint_id`` (an explicit revert,
        unconditional); the next save is then as of a client never seen here."""
        await super().restore_checkpoint(checkpoint_id, path)  # type: ignore[no-untyped-call]
        self._forget(self._normalize(path))

    async def _notebook_bytes(
        self, content: Any, path: str, validation_error: dict[str, Any]
    ) -> bytes:
        """The notebook as it is stored, signed if all its output is trusted.
        The check of the content (a walk over every cell), conversion, the
        signature's hash and serialisation (with validation) run in a thread, or
        for a large notebook in a worker process; the signature is stored here (see
        :meth:`_fill_notebook`)."""
        notary = self.notary

        def check() -> None:
            problem = notebook_problem(content)
            if problem is not None:
                raise HTTPError(400, f"Invalid notebook {path}: {problem}")

        def serialise() -> Serialised:
            check()
            return serialise_notebook(content, notary)

        try:
            if notebook_items(content) > LARGE_NOTEBOOK_ITEMS:
                await asyncio.to_thread(check)
                serialised = await self._notebook_worker.serialise(content, notary)
            else:
                serialised = await asyncio.to_thread(serialise)
        except (HTTPError, BrokenProcessPool):
            raise
        except WorkerError as e:
            raise HTTPError(400, f"Invalid notebook {path}: {e.text}") from e
        except Exception as e:
            raise HTTPError(400, f"Invalid notebook {path}: {e}") from e
        data, trusted, signature, captured = serialised
        validation_error.update(captured)
        if signature is not None:
            notary.store.store_signature(signature, notary.algorithm)
        elif not trusted:
            self.log.warning("Notebook %s is not trusted", path)
        return data

    async def _check_new_name(self, path: str, *, as_dir: bool) -> None:
        """A new file or folder at ``path`` needs an existing parent folder, and no
        folder (for a file) or file (for a folder) of the same name. Checkpoints
        left at the name of a new file (by a file deleted before) are not its own:
        they go first."""
        parent, _ = split(path)

        async def clash() -> bool:
            if as_dir:
                return await self.store.head(self.layout.file_key(path)) is not None
            is_dir, leftovers = await self.store.probe_name(path)
            if leftovers and not is_dir:
                await self._checkpoints.delete_all_checkpoints(path)
            return is_dir

        async def parent_exists() -> bool:
            return (await self.store.probe_dir(parent))[0] if parent else True

        parent_ok, clashes = await asyncio.gather(parent_exists(), clash())
        if not parent_ok:
            raise HTTPError(404, f"No such directory: {parent}")
        if clashes:
            if as_dir:
                raise HTTPError(400, f"Not a directory: {path} is a file")
            raise HTTPError(409, f"A folder already exists at {path}")

    async def _write_file(
        self, path: str, data: bytes, content_type: str, *, checkpoint: bool = False
    ) -> tuple[PutResult, bool]:
        """Write the file at ``path`` without replacing anyone else's save: with
        ``If-Match`` on the ETag this server last read or wrote, or ``If-None-Match: *``
        when it believes the file is new (or has never seen it). A new file with
        ``checkpoint`` (a notebook) gets its first checkpoint here. Returns what S3
        answered and whether the file is new."""
        key = self.layout.file_key(path)
        seen = self._seen.get(path)
        claiming = _claiming.get()
        if not self.conditional_saves and not claiming:
            exists = await self.store.head(key) is not None
            written = await self.store.write(key, data, content_type)
            if exists:
                self._remember(path, written.etag)
                return written, False
        else:
            if seen is not None and seen.etag is not None and not claiming:
                try:
                    written = await self.store.write(key, data, content_type, if_match=seen.etag)
                except PreconditionFailed:
                    # (Ceph RGW answers 412, not 404, when there is no object at all)
                    if await self.store.head(key) is not None:
                        raise self._conflict(path) from None
                except NoSuchKey:
                    pass  # deleted since it was opened: saving it again makes it anew
                else:
                    self._remember(path, written.etag)
                    return written, False
            # Believed new, or never seen here (an API client's first PUT, or a tab
            # left open across a restart of this server): claim the name. Taken, a
            # file this server never saw is replaced (as upstream's PUT does); one it
            # believed new, or a name being claimed, is a 409.
            try:
                written = await self.store.write(key, data, content_type, if_none_match="*")
            except PreconditionFailed:
                if claiming:
                    raise HTTPError(409, f"{path} was taken meanwhile") from None
                if seen is not None:
                    raise self._conflict(path) from None
                written = await self.store.write(key, data, content_type)
                self._remember(path, written.etag)
                return written, False
        ours = self._checkpoints.new_checkpoint_key(path) if checkpoint else None
        try:
            written, copy_error = await self._check_written_name(path, written, ours)
        except BaseException:
            # Not a file that may be: withdraw it (only the version written here), and
            # the checkpoint copied meanwhile.
            with contextlib.suppress(S3Error):
                await self.store.delete(key, if_match=written.etag)
            if ours is not None:
                with contextlib.suppress(S3Error):
                    await self.store.delete(ours)
            self._forget(path)
            raise
        self._remember(path, written.etag, checkpointed=ours is not None and copy_error is None)
        if copy_error is not None:
            raise copy_error  # the file stays; its next save checkpoints it
        return written, True

    async def _check_written_name(
        self, path: str, written: PutResult, ours: str | None
    ) -> tuple[PutResult, BaseException | None]:
        """A new file just written at ``path`` needs an existing parent folder and no
        folder of the same name (one made at the same moment wins: the file
        withdraws, so both never exist). Checkpoints left at its name by a file
        deleted before are not its own: they go. Meanwhile (all at once): its first
        checkpoint is copied to ``ours`` (unless None), and S3's time of the write is
        read if its answer had none. Returns the write, with that time, and the
        copy's error if it failed."""
        parent, _ = split(path)
        key = self.layout.file_key(path)

        async def parent_exists() -> bool:
            return await self.store.holds(parent, key) if parent else True

        async def copy() -> None:
            if ours is not None:
                await self._checkpoints.first_checkpoint(path, ours)

        async def when() -> PutResult:
            if written.last_modified is not None:
                return written
            # a HEAD, not the listing: the checkpoint copied meanwhile is below the name
            info = await self.store.head(key)
            if info is None or info.etag != written.etag:
                return written  # replaced meanwhile: _saved_model says so
            return dataclasses.replace(written, last_modified=info.last_modified)

        parent_ok, name, copied, timed = await asyncio.gather(
            parent_exists(),
            self.store.probe_new_file(path, ours),
            copy(),
            when(),
            return_exceptions=True,
        )
        for result in (parent_ok, name, timed):
            if isinstance(result, BaseException):
                raise result
        assert isinstance(name, tuple) and isinstance(timed, PutResult)
        if not parent_ok:
            raise HTTPError(404, f"No such directory: {parent}")
        is_dir, leftovers = name
        if is_dir:
            raise HTTPError(409, f"A folder already exists at {path}")
        copy_error = copied if isinstance(copied, BaseException) else None
        if leftovers:
            await self._checkpoints.delete_all_checkpoints(path)  # ours too: made again
            if ours is not None and copy_error is None:
                await self._checkpoints.first_checkpoint(path, ours)
        return timed, copy_error

    def _conflict(self, path: str) -> HTTPError:
        return HTTPError(
            409,
            f"{path} was changed in S3 since it was opened here (by someone or something "
            "else: S3 does not say who); nothing was saved. Reload it to see the other "
            "version, or save yours under another name.",
        )

    async def _ensure_checkpoint(self, path: str) -> None:
        """One checkpoint should always exist for notebooks (as upstream): a new one
        got its first as it was written; an existing one is checked once per path by
        this server."""
        seen = self._seen.get(path)
        if seen is not None and seen.checkpointed:
            return
        if not await self._checkpoints.list_checkpoints(path):
            await self._checkpoints.create_checkpoint(self, path)
        seen = self._seen.get(path)
        if seen is not None:
            seen.checkpointed = True

    async def _saved_model(self, path: str, size: int, written: PutResult) -> Model:
        """The model a save answers, the same a later ``get(content=False)`` gives
        (real-time collaboration compares their ``last_modified``): S3's own time of
        the write, from its answer or else one HEAD (S3 times have whole seconds)."""
        when = written.last_modified
        if when is None:
            info = await self.store.head(self.layout.file_key(path))
            # Replaced meanwhile: a time of none of the two versions, so that who
            # compares it with a later get sees that the file changed.
            if info is not None and info.etag == written.etag:
                when = info.last_modified
            else:
                when = datetime.now(timezone.utc)
        return file_model(path, size=size, last_modified=when)

    async def _make_dir(self, path: str) -> None:
        is_dir, leftovers = (True, False) if path == "" else await self.store.probe_name(path)
        if is_dir:
            if _claiming.get():
                raise HTTPError(409, f"{path} was taken meanwhile")
            self.log.debug("Directory %r already exists", path)
            return
        await self._check_new_name(path, as_dir=True)
        marker = self.layout.dir_prefix(path)
        claim = "*" if _claiming.get() else None
        written = await self.store.write(marker, b"", DIRECTORY_CONTENT_TYPE, if_none_match=claim)
        # A file saved at this name at the same moment: the folder withdraws too
        # (so, at worst, both creations fail and neither exists; never both).
        if await self.store.head(self.layout.file_key(path)) is not None:
            with contextlib.suppress(S3Error):
                await self.store.delete(marker, if_match=written.etag)
            raise HTTPError(400, f"Not a directory: {path} is a file")
        if leftovers:  # of a file of this name deleted before: nobody's now
            await self._checkpoints.delete_all_checkpoints(path)

    # -- chunked uploads -------------------------------------------------------

    async def _save_chunk(self, model: Model, path: str) -> Model:
        chunk = chunk_number(model)
        if chunk == 1:
            self.run_pre_save_hooks(  # type: ignore[no-untyped-call]
                model=model, path=path
            )
        if "type" not in model:
            raise HTTPError(400, "No file type provided")
        if model["type"] != "file":
            raise HTTPError(
                400, f'File type "{model["type"]}" is not supported for large file transfer'
            )
        if "content" not in model:
            raise HTTPError(400, "No file content provided")
        if not self.allow_hidden and is_hidden_path(path):
            raise HTTPError(400, f"Cannot create file or directory {path!r}")
        if not path:
            raise HTTPError(400, "Cannot save a file as the root folder")

        async def check_new_file(path: str) -> None:
            await self._check_new_name(path, as_dir=False)

        self._watch_uploads()
        upload = await self._uploads.save_chunk(
            self.store,
            model,
            path,
            part_size=self.upload_part_size,
            timeout=self.upload_timeout,
            check_new_file=check_new_file,
        )
        if chunk != -1:
            self._emit("save", path)
            return self._upload_model(path, upload)
        self._forget(path)  # a new version: a save of it is as of a client never seen
        saved = await self.get(path, content=False)
        self.run_post_save_hooks(  # type: ignore[no-untyped-call]
            model=saved, os_path=path
        )
        self._emit("save", path)
        return saved

    def _watch_uploads(self) -> None:
        """While uploads are in progress, reap idle ones every so often (even when
        no other upload comes to trigger it), and abort what is left when the
        process exits cleanly (Jupyter stops on SIGINT and SIGTERM)."""
        if self._reaper is None or self._reaper.done():
            self._reaper = asyncio.get_running_loop().create_task(self._reap_periodically())
        if not self._exit_hook:
            self._exit_hook = True
            atexit.register(_abort_uploads_at_exit, weakref.ref(self))

    async def _reap_periodically(self) -> None:
        while True:
            await asyncio.sleep(max(0.05, min(self.upload_timeout / 2, 60.0)))
            try:
                left = await self._uploads.reap(self.store, self.upload_timeout)
            except Exception as e:  # the next round tries again
                self.log.warning("jupyters3: looking for idle uploads failed: %s", e)
                continue
            if not left:  # in S3, of any process: none is in progress
                return

    def _upload_model(self, path: str, upload: ChunkSaved) -> Model:
        model = file_model(
            path,
            size=upload.size,
            last_modified=datetime.now(timezone.utc),
            created=upload.started,
            type_="file",
        )
        if model["mimetype"] is None:
            model["mimetype"] = guess_mimetype(path)
        return model

    # -- delete ----------------------------------------------------------------

    async def delete(self, path: str) -> None:
        """Delete a file and its checkpoints, or a folder and everything in it."""
        path = self._normalize(path)
        if not path:
            raise HTTPError(400, "Can't delete root")
        await self._delete(path, checkpoints=True)
        self._forget(path)
        self._emit("delete", path)

    async def delete_file(self, path: str) -> None:
        """Delete the file or folder at ``path``."""
        path = self._normalize(path)
        await self._delete(path)
        self._forget(path)

    async def _delete(self, path: str, *, checkpoints: bool = False) -> str:
        """Delete a file (its ``checkpoints`` first, so a failure midway leaves the
        file, never its checkpoints alone) or a folder."""
        if not path:
            raise HTTPError(400, "Can't delete root")
        if not self.allow_hidden and is_hidden_path(path):
            raise HTTPError(400, f"Cannot delete file or directory {path!r}")
        with self._s3_errors("deleting", path):
            key = self.layout.file_key(path)
            info = await self.store.head(key)
            if info is not None:
                if self.delete_to_trash:
                    await self._trash(path, info)
                    return "file"
                if checkpoints:
                    await self._checkpoints.delete_all_checkpoints(path)
                await self.store.delete(key)
                return "file"
            is_dir, leftovers = await self.store.probe_name(path)
            if not is_dir and leftovers and checkpoints:
                # the checkpoints of a file deleted before: finish that cleanup
                await self._checkpoints.delete_all_checkpoints(path)
                return "file"
            if not is_dir:
                raise HTTPError(404, f"File or directory does not exist: {path}")
            if self.delete_to_trash:
                await self._trash(path, None)
                return "directory"
            if not self.always_delete_dir:
                listing = await self.store.list_dir(path)
                await self.store.drop_orphans(path, listing)
                if not listing.empty:
                    raise HTTPError(400, f"Directory {path} not empty")
            try:
                await self.store.delete_tree(path)
            except PartialDeleteError as e:
                first = e.errors[0]
                raise HTTPError(
                    500,
                    f"Could not delete {len(e.errors)} of {e.total} objects of folder {path} "
                    f"(first: {first.key}: {first.code} {first.message})",
                ) from None
        return "directory"

    async def _trash(self, path: str, info: ObjectInfo | None) -> None:
        """Move the file (``info``: its metadata) or folder ``path`` into a new trash
        entry (its checkpoints go with a file), then sweep old entries out."""
        now = datetime.now(timezone.utc)
        entry = f"{now:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"
        if info is not None:
            if not await self.store.trash_file(path, entry, info.etag):
                raise HTTPError(
                    409,
                    f"{path} was saved while it was deleted: the new version stays, the "
                    f"one deleted is in the trash ({entry})",
                )
        else:
            with self._tree_errors("moved"):
                await self.store.trash_tree(path, entry)
        await self._sweep_trash(now)

    async def _sweep_trash(self, now: datetime) -> None:
        """Remove trash entries older than ``trash_max_age``, at most once per
        :data:`_TRASH_SWEEP_EVERY` seconds (a listing of the trash's top level)."""
        if self.trash_max_age <= 0 or (
            self._trash_swept is not None
            and (now - self._trash_swept).total_seconds() < _TRASH_SWEEP_EVERY
        ):
            return
        self._trash_swept = now
        oldest = (now - timedelta(seconds=self.trash_max_age)).strftime("%Y%m%dT%H%M%SZ")
        try:
            for entry in await self.store.trash_entries():
                if entry[:16] < oldest:  # entries are named by their time, UTC
                    await self.store.empty_trash_entry(entry)
        except (S3Error, PartialDeleteError) as e:  # the next sweep tries again
            self._trash_swept = None
            self.log.warning("jupyters3: emptying old trash entries failed: %s", e)

    # -- rename ----------------------------------------------------------------

    async def rename(self, old_path: str, new_path: str) -> None:
        """Rename a file (and its checkpoints) or a folder (and everything in it)."""
        old, new = self._normalize(old_path), self._normalize(new_path)
        try:
            await self._rename(old, new, checkpoints=True)
        finally:
            self._forget(old)
            self._forget(new)
        self._emit("rename", new, old)

    async def rename_file(self, old_path: str, new_path: str) -> None:
        """Rename a file or folder (server-side copies, then deletes)."""
        old, new = self._normalize(old_path), self._normalize(new_path)
        try:
            await self._rename(old, new)
        finally:
            self._forget(old)
            self._forget(new)

    async def _rename(self, old: str, new: str, *, checkpoints: bool = False) -> str | None:
        if old == new:
            return None
        if not old or not new:
            raise HTTPError(400, "Cannot rename the root folder")
        if not self.allow_hidden and (is_hidden_path(old) or is_hidden_path(new)):
            raise HTTPError(400, f"Cannot rename file or directory {old!r}")
        if new.startswith(old + "/"):
            raise HTTPError(400, f"Cannot move {old} into itself")
        self._check_length(new)
        with self._s3_errors("renaming", old):
            old_key, new_key = self.layout.file_key(old), self.layout.file_key(new)
            info = await self.store.head(old_key)
            if info is None:
                is_dir, orphans = await self.store.probe_name(old)
                if not is_dir:
                    raise self._missing(
                        old, orphans=orphans, what="File or directory does not exist"
                    )
            new_is_dir, leftovers = await self.store.probe_name(new)
            taken = new_is_dir or await self.store.head(new_key) is not None
            # (a folder rename that copied everything but could not finish is
            # finished by the same rename again)
            if taken and not (
                info is None and new_is_dir and await self.store.can_resume_move(old, new)
            ):
                raise HTTPError(409, f"File already exists: {new}")
            parent, _ = split(new)
            if parent and not (await self.store.probe_dir(parent))[0]:
                raise HTTPError(404, f"No such directory: {parent}")
            if info is not None:
                if leftovers:  # not the new name's own: checkpoints belong to their file
                    await self._checkpoints.delete_all_checkpoints(new)
                await self._move_file(old, new, info, checkpoints=checkpoints)
                return "file"
            with self._tree_errors("renamed", event="rename"):
                await self.store.move_tree(old, new)
            return "directory"

    async def _move_file(self, old: str, new: str, info: ObjectInfo, *, checkpoints: bool) -> None:
        """Copy the file (and its checkpoints), then delete the old checkpoints and
        last the old file, only as copied (``If-Match``): a save at the old name
        meanwhile is copied again, never lost; a failure midway leaves the old
        file whole (and no checkpoints without their file)."""
        old_key, new_key = self.layout.file_key(old), self.layout.file_key(new)
        await self.store.copy(old_key, new_key, size=info.size)
        if checkpoints:
            try:
                moved = await self._checkpoints.copy_all_checkpoints(old, new)
            except BaseException:
                with contextlib.suppress(Exception):
                    await self.store.delete(new_key)
                raise
            await self._checkpoints.delete_checkpoint_objects(old, moved)
        etag, raced = info.etag, False
        for _ in range(_MOVE_ATTEMPTS):
            try:
                await self.store.delete(old_key, if_match=etag)
                break
            except NoSuchKey:
                break
            except PreconditionFailed:
                raced = True
                again = await self.store.head(old_key)
                if again is None:
                    break
                await self.store.copy(old_key, new_key, size=again.size)
                etag = again.etag
        else:
            raise HTTPError(
                409,
                f"{old} kept changing while it was renamed: its latest content is at {new}, "
                f"and {old} is still there too",
            )
        if checkpoints and raced:  # a save at the old name meanwhile made its first checkpoint
            await self._checkpoints.delete_all_checkpoints(old)

    @contextlib.contextmanager
    def _tree_errors(self, verb: str, *, event: str | None = None) -> Iterator[None]:
        """Turn the errors of a folder copy or move into HTTP errors that say what
        became of the folder; ``verb`` is what was done ("copied", "renamed",
        "moved"). A move that finished but left objects behind emits ``event``."""
        try:
            yield
        except TreeCopyError as e:
            first = e.first
            status = (
                http_error_for(first, verb, e.src).status_code
                if isinstance(first, S3Error)
                else 500
            )
            raise HTTPError(
                status,
                f"Folder {e.src} could not be {verb} to {e.dst}: copying failed after "
                f"{e.copied} of {e.total} objects ({first}). {e.src} is unchanged; "
                f"{e.cleanup}.",
            ) from None
        except MoveIncompleteError as e:
            raise HTTPError(
                500,
                f"Folder {e.old} was {verb} to {e.new} only in part: {e}. "
                "The same request again finishes it.",
            ) from None
        except TreeLeftoversError as e:
            if event is not None:
                self._emit(event, e.new, e.old)
            raise HTTPError(409, f"Folder {e.old} was {verb} to {e.new}, but {e}") from None

    # -- copy ------------------------------------------------------------------

    async def copy(self, from_path: str, to_path: str | None = None) -> Model:
        """Copy a file or folder server-side; names follow jupyter_server's rules
        (``name-Copy1.ext`` when copying into a folder)."""
        path = self._normalize(from_path)
        to = self._normalize(to_path) if to_path is not None else None
        if not self.allow_hidden and (
            is_hidden_path(path) or (to is not None and is_hidden_path(to))
        ):
            raise HTTPError(400, f"Cannot copy file or directory {path!r}")
        if not path:
            raise HTTPError(400, "Cannot copy the root folder")
        from_dir, from_name = split(path)
        with self._s3_errors("copying", path):
            info = await self.store.head(self.layout.file_key(path))
            if info is None:
                is_dir, orphans = await self.store.probe_name(path)
                if not is_dir:
                    raise self._missing(path, orphans=orphans)
                dest = await self._copy_dir(path, from_dir, from_name, to)
            else:
                dest = await self._copy_file(path, info, from_dir, from_name, to)
        model = await self.get(dest, content=False)
        self._emit("copy", dest, path)
        return model

    async def _copy_file(
        self, path: str, info: ObjectInfo, from_dir: str, from_name: str, to: str | None
    ) -> str:
        target = from_dir if to is None else to
        folder = target if await self.dir_exists(target) else None
        if folder is None and to is not None:
            parent, _ = split(to)
            if parent and not await self.dir_exists(parent):
                raise HTTPError(404, f"No such parent directory: {parent} to copy file in")
        elif folder is None:
            raise HTTPError(404, f"No such directory: {target}")
        claim: PutResult | None = None
        for _ in range(_CLAIM_ATTEMPTS):
            if folder is not None:
                name = copy_pat.sub(".", from_name)
                target = join(folder, await self.increment_filename(name, folder, insert="-Copy"))
            if not self.allow_hidden and is_hidden_path(target):
                raise HTTPError(400, f"Cannot copy file or directory {path!r}")
            self._check_length(target)
            if folder is None:
                break
            # A new -CopyN name is claimed as untitled names are (an empty object,
            # If-None-Match: *), then copied over: two copies at once take two names.
            try:
                claim = await self.store.write(
                    self.layout.file_key(target),
                    b"",
                    s3_content_type(target, file_type(target), None),
                    if_none_match="*",
                )
                break
            except PreconditionFailed:
                continue  # taken by another request since the listing: the next name
        else:
            raise HTTPError(409, f"Could not find a free name for a copy in {folder or 'the root'}")
        if folder is None:  # a file of its own name: a new one takes no checkpoints left there
            _, leftovers = await self.store.probe_name(target)
            if leftovers and await self.store.head(self.layout.file_key(target)) is None:
                await self._checkpoints.delete_all_checkpoints(target)
        try:
            await self.store.copy(
                self.layout.file_key(path), self.layout.file_key(target), size=info.size
            )
        except BaseException:
            if claim is not None:  # give the claimed name back (if still ours)
                with contextlib.suppress(S3Error):
                    await self.store.delete(self.layout.file_key(target), if_match=claim.etag)
            raise
        # A copy is a first save: notebooks get their first checkpoint (as upstream).
        if file_type(target) == "notebook" and not await self._checkpoints.list_checkpoints(target):
            await self._checkpoints.create_checkpoint(self, target)
        return target

    async def _copy_dir(self, path: str, from_dir: str, from_name: str, to: str | None) -> str:
        to_name = copy_pat.sub(".", from_name)
        target_dir = from_dir if to is None else to
        if await self.dir_exists(target_dir):
            to_name = await self.increment_filename(to_name, target_dir, insert="-Copy")
        else:
            # As jupyter_server: the folder (and any missing parent) is created, by
            # the copied keys under it; never under a file.
            await self._check_no_file_at_or_above(target_dir, path)
        dest = join(target_dir, to_name)
        if dest == path or dest.startswith(path + "/"):
            raise HTTPError(400, f"Cannot copy folder {path} into itself")
        if not self.allow_hidden and is_hidden_path(dest):
            raise HTTPError(400, f"Cannot copy file or directory {path!r}")
        self._check_length(dest)
        if await self.file_exists(dest) or await self.dir_exists(dest):
            raise HTTPError(409, f"File already exists: {dest}")
        with self._tree_errors("copied"):
            await self.store.copy_tree(path, dest)
        return dest

    async def _check_no_file_at_or_above(self, folder: str, path: str) -> None:
        """400 if ``folder`` or one of its parents is a file (a new folder there
        would be hidden by it: the file wins)."""
        parts = folder.split("/")
        ancestors = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        infos = await asyncio.gather(*(self.store.file_info(a) for a in ancestors))
        for ancestor, info in zip(ancestors, infos, strict=True):
            if info is not None:
                raise HTTPError(
                    400, f"Can't copy '{path}' into Folder '{folder}': {ancestor} is a file"
                )

    # -- naming ----------------------------------------------------------------

    async def new_untitled(self, path: str = "", type: str = "", ext: str = "") -> Model:
        """A new untitled file, notebook or folder in folder ``path``, named as
        jupyter_server names them; the name is claimed atomically (written with
        ``If-None-Match: *``; taken meanwhile, the next name is tried), so two
        "New" clicks at once make two, never one edited by both."""
        path = self._normalize(path)
        if not isinstance(type, str) or not isinstance(ext, str):
            raise HTTPError(400, "'type' and 'ext' must be strings")
        if not await self.dir_exists(path):
            raise HTTPError(404, f"No such directory: {path}")
        model: Model = {"type": type or ("notebook" if ext == ".ipynb" else "file")}
        insert = ""
        if model["type"] == "directory":
            untitled, insert = self.untitled_directory, " "
        elif model["type"] == "notebook":
            untitled, ext = self.untitled_notebook, ".ipynb"
        elif model["type"] == "file":
            untitled = self.untitled_file
        else:
            raise HTTPError(400, f"Unexpected model type: {model['type']!r}")
        token = _claiming.set(True)
        try:
            for _ in range(_CLAIM_ATTEMPTS):
                name = await self.increment_filename(untitled + ext, path, insert=insert)
                try:
                    return await self.new(dict(model), join(path, name))  # type: ignore[no-untyped-call, no-any-return]
                except HTTPError as e:
                    if e.status_code != 409:
                        raise
                    # taken by another request since the listing: the next name
        finally:
            _claiming.reset(token)
        raise HTTPError(409, f"Could not find a free untitled name in {path or 'the root folder'}")

    async def update(self, model: Model, path: str) -> Model:
        """Rename ``path`` to ``model["path"]`` (a PATCH)."""
        new_path = model.get("path", path) if isinstance(model, dict) else None
        if not isinstance(new_path, str):
            raise HTTPError(400, "The new path ('path') must be a string")
        return await super().update(model, path)  # type: ignore[no-untyped-call, no-any-return]

    async def increment_filename(self, filename: str, path: str = "", insert: str = "") -> str:
        """A name unique in folder ``path`` (``Untitled1.ipynb``, ``a-Copy2.txt``...),
        from one listing of the folder rather than one request per candidate."""
        path = self._normalize(path)
        with self._s3_errors("listing", path):
            taken = (await self.store.list_dir(path)).names()
        basename, dot, ext = filename.rpartition(".")
        if ext != "ipynb":
            basename, dot, ext = filename.partition(".")
        suffix = dot + ext
        i = 0
        while True:
            name = f"{basename}{f'{insert}{i}' if i else ''}{suffix}"
            if name not in taken:
                return name
            i += 1
