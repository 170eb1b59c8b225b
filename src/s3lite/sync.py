"""A blocking S3 client for scripts that do not use asyncio.

:class:`S3Client` has the methods of :class:`s3lite.S3Client`, with the same
arguments, results and exceptions, but each call blocks until it is done::

    from s3lite.sync import S3Client

    with S3Client(region="eu-west-1") as s3:
        s3.put_object("bucket", "hello.txt", b"hi")
        for entry in s3.list_objects("bucket", prefix="logs/"):
            print(entry)

The async client runs on a private event loop in a daemon thread; calls are handed
to it with :func:`asyncio.run_coroutine_threadsafe`. One client may be shared by any
number of threads: their calls run concurrently on that loop. The facade also works
from code that already runs an event loop (a Jupyter cell), since its loop is its own.
"""

from __future__ import annotations

import asyncio
import collections
import functools
import threading
import weakref
from collections.abc import AsyncIterator, Callable, Coroutine
from types import TracebackType
from typing import Any, Concatenate, Generic, ParamSpec, TypeVar

from . import client as _async
from .errors import S3Error

__all__ = ["ObjectIterator", "S3Client"]

_P = ParamSpec("_P")
_R = TypeVar("_R")
_T = TypeVar("_T")

AsyncS3Client = _async.S3Client
# Seconds an interrupted call may take to clean up before the caller gets its exception.
CANCEL_GRACE = 10.0


class _LoopThread:
    """An event loop running forever in a daemon thread, until :meth:`stop`."""

    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._main, name=name, daemon=True)
        self.thread.start()

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_forever()
            # Stopped: end whatever is still running, then free the loop's resources.
            tasks = asyncio.all_tasks(self.loop)
            for task in tasks:
                task.cancel()
            self.loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
            self.loop.run_until_complete(self.loop.shutdown_asyncgens())
            self.loop.run_until_complete(self.loop.shutdown_default_executor())
        finally:
            self.loop.close()

    def run(self, coro: Coroutine[Any, Any, _R]) -> _R:
        if threading.current_thread() is self.thread:
            coro.close()
            raise RuntimeError(
                "s3lite.sync.S3Client called from its own event loop (e.g. inside a sink "
                "callback): this would deadlock; use the async client there"
            )
        finished = threading.Event()

        async def call() -> _R:
            try:
                return await coro
            finally:
                finished.set()

        future = asyncio.run_coroutine_threadsafe(call(), self.loop)
        try:
            return future.result()
        except BaseException:
            if not future.done():
                # Interrupted while waiting (Ctrl-C): cancel the call, and give it a moment
                # to clean up (abort a multipart upload) before the caller goes on, and
                # perhaps exits. Another Ctrl-C stops the wait.
                future.cancel()
                finished.wait(CANCEL_GRACE)
            raise

    def stop(self) -> None:
        if self.loop.is_closed():
            return
        try:
            self.loop.call_soon_threadsafe(self.loop.stop)
        except RuntimeError:  # closed meanwhile
            return
        if threading.current_thread() is not self.thread:
            self.thread.join()


def _blocking(
    method: Callable[Concatenate[AsyncS3Client, _P], Coroutine[Any, Any, _R]],
) -> Callable[Concatenate[S3Client, _P], _R]:
    """A blocking method running the async client's ``method`` on the private loop."""

    @functools.wraps(method)
    def call(self: S3Client, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        return self._run(method(self._client, *args, **kwargs))

    return call


def _paging(
    method: Callable[Concatenate[AsyncS3Client, _P], AsyncIterator[_T]],
) -> Callable[Concatenate[S3Client, _P], ObjectIterator[_T]]:
    """A method returning an iterator over the async iterator ``method`` returns."""

    @functools.wraps(method)
    def call(self: S3Client, /, *args: _P.args, **kwargs: _P.kwargs) -> ObjectIterator[_T]:
        self._loop_thread()  # fail now, not at the first next(), if closed
        batch = kwargs.get("page_size", 1000)
        return ObjectIterator(self, method(self._client, *args, **kwargs), batch)  # type: ignore[arg-type]

    return call


def _init_like(
    cls: Callable[_P, object],
) -> Callable[[Callable[..., None]], Callable[Concatenate[Any, _P], None]]:
    """Give ``__init__`` the signature of ``cls`` (for type checkers and ``help()``)."""

    def decorate(init: Callable[..., None]) -> Callable[Concatenate[Any, _P], None]:
        init.__signature__ = _signature_without_self(cls)  # type: ignore[attr-defined]
        return init

    return decorate


def _signature_without_self(cls: Callable[..., object]) -> Any:
    import inspect

    sig = inspect.signature(cls)
    self_param = inspect.Parameter("self", inspect.Parameter.POSITIONAL_ONLY)
    return sig.replace(parameters=[self_param, *sig.parameters.values()])


class ObjectIterator(Generic[_T]):
    """A blocking iterator over an async listing. It pages lazily: each page is
    fetched when the entries before it have been consumed. :meth:`close` (or
    leaving a ``with`` block) stops the listing early."""

    def __init__(self, owner: S3Client, source: AsyncIterator[_T], batch: int) -> None:
        self._owner = owner
        self._source = source
        self._batch = batch if isinstance(batch, int) and batch > 0 else 1000
        self._buffer: collections.deque[_T] = collections.deque()
        self._error: BaseException | None = None
        self._done = False

    def __iter__(self) -> ObjectIterator[_T]:
        return self

    def __next__(self) -> _T:
        if not self._buffer and not self._done:
            self._buffer.extend(self._owner._run(self._take()))
        if self._buffer:
            return self._buffer.popleft()
        if self._error is not None:
            error, self._error = self._error, None
            raise error
        raise StopIteration

    async def _take(self) -> list[_T]:
        # A batch of page_size entries per round trip to the loop thread: at most
        # about one page, so paging stays lazy without a thread hop per entry.
        items: list[_T] = []
        try:
            while len(items) < self._batch:
                items.append(await anext(self._source))
        except StopAsyncIteration:
            self._done = True
        except Exception as exc:
            self._done = True
            if not items:
                raise
            self._error = exc  # raised once the entries before it are consumed
        return items

    def close(self) -> None:
        """Stop listing (no more pages are fetched)."""
        if self._done:
            return
        self._done = True
        self._buffer.clear()
        aclose = getattr(self._source, "aclose", None)
        if aclose is not None and not self._owner.closed:
            self._owner._run(aclose())

    def __enter__(self) -> ObjectIterator[_T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class S3Client:
    """A blocking :class:`s3lite.S3Client`: same constructor, methods and exceptions.

    Use as a context manager or call :meth:`close`. Thread-safe. ``list_objects``
    returns an :class:`ObjectIterator`. A ``sink`` given to ``get_object`` is called
    on the client's own thread.
    """

    @_init_like(AsyncS3Client)
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._client = AsyncS3Client(*args, **kwargs)
        self._lock = threading.Lock()
        self._thread: _LoopThread | None = None
        self._closed = False
        self._finalizer: weakref.finalize[[], S3Client] | None = None

    @property
    def region(self) -> str:
        """The region requests are signed for."""
        return self._client.region

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called."""
        return self._closed

    def __repr__(self) -> str:
        return "sync." + repr(self._client)

    def __enter__(self) -> S3Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connections and stop the client's thread. Calls still running
        in other threads are cancelled. Closing twice is harmless."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            thread = self._thread
        if thread is None:
            return
        try:
            thread.run(self._client.close())
        finally:
            if self._finalizer is not None:
                self._finalizer.detach()
            thread.stop()

    def _loop_thread(self) -> _LoopThread:
        thread = self._thread
        if thread is not None and not self._closed:
            return thread
        with self._lock:
            if self._closed:
                raise RuntimeError("this s3lite.sync.S3Client is closed")
            if self._thread is None:
                self._thread = _LoopThread(f"s3lite-sync-{id(self):x}")
                # Forgotten without close(): still stop the thread when collected.
                self._finalizer = weakref.finalize(self, self._thread.stop)
            return self._thread

    def _run(self, coro: Coroutine[Any, Any, _R]) -> _R:
        try:
            thread = self._loop_thread()
        except RuntimeError:
            coro.close()
            raise
        return thread.run(coro)

    # -- the async client's methods, blocking -------------------------------------

    put_object = _blocking(AsyncS3Client.put_object)
    get_object = _blocking(AsyncS3Client.get_object)
    download_file = _blocking(AsyncS3Client.download_file)
    head_object = _blocking(AsyncS3Client.head_object)
    list_objects = _paging(AsyncS3Client.list_objects)
    copy_object = _blocking(AsyncS3Client.copy_object)
    delete_object = _blocking(AsyncS3Client.delete_object)
    delete_objects = _blocking(AsyncS3Client.delete_objects)
    delete_batch = _blocking(AsyncS3Client.delete_batch)
    get_credentials = _blocking(AsyncS3Client.get_credentials)
    create_multipart_upload = _blocking(AsyncS3Client.create_multipart_upload)
    upload_part = _blocking(AsyncS3Client.upload_part)
    upload_part_copy = _blocking(AsyncS3Client.upload_part_copy)
    complete_multipart_upload = _blocking(AsyncS3Client.complete_multipart_upload)
    abort_multipart_upload = _blocking(AsyncS3Client.abort_multipart_upload)
    list_multipart_uploads = _paging(AsyncS3Client.list_multipart_uploads)
    list_parts = _blocking(AsyncS3Client.list_parts)
    list_buckets = _blocking(AsyncS3Client.list_buckets)
    create_bucket = _blocking(AsyncS3Client.create_bucket)
    delete_bucket = _blocking(AsyncS3Client.delete_bucket)
    head_bucket = _blocking(AsyncS3Client.head_bucket)

    def presign_url(self, method: str, bucket: str, key: str, expires_in: int = 3600) -> str:
        """A presigned URL for ``method`` on ``bucket``/``key``, valid ``expires_in``
        seconds. Unlike the async client, fetches credentials first if none are at hand."""
        try:
            return self._client.presign_url(method, bucket, key, expires_in)
        except S3Error as exc:
            if exc.code != "NoCredentials":
                raise
        self.get_credentials()
        return self._client.presign_url(method, bucket, key, expires_in)
