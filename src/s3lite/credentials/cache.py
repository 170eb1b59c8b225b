"""The refreshing cache in front of every provider (as aws-config's
``lazy_caching``): one shared refresh, ahead of expiry, across event loops."""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from .model import Credentials, CredentialsError, NoCredentialsError

__all__ = ["RefreshingProvider", "Source"]

logger = logging.getLogger("s3lite.credentials")


class Source(Protocol):
    """What the cache refreshes from: every :class:`~.base.BaseProvider` is one."""

    label: str

    async def load(self) -> Credentials | None: ...

    def searched(self) -> list[str]: ...


class _Abandoned(Exception):
    """The refresh was cancelled with the event loop that ran it; try again."""


@dataclass
class _Refresh:
    future: concurrent.futures.Future[Credentials]
    loop: asyncio.AbstractEventLoop
    task: asyncio.Task[None] | None = None


class RefreshingProvider:
    """Caches the credentials of ``source`` and refreshes them ahead of expiry.

    - More than ``advisory_window`` seconds left: the cached credentials.
    - Inside the advisory window: one caller refreshes (others meanwhile get the
      cached ones); if that fails, a warning is logged and the cached credentials,
      still valid, are used (the next attempt waits ``retry_interval`` seconds).
    - Inside the ``mandatory_window`` (or nothing cached yet): every caller waits
      for the refresh, which must succeed.

    Concurrent callers share one refresh, also across event loops: state is guarded
    by a thread lock and the shared refresh is a ``concurrent.futures.Future``, so
    nothing is bound to the loop that was running at construction time.
    """

    def __init__(
        self,
        source: Source,
        *,
        advisory_window: float = 300.0,
        mandatory_window: float = 60.0,
        retry_interval: float = 30.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if mandatory_window > advisory_window:
            raise ValueError("mandatory_window must not exceed advisory_window")
        self._source = source
        self._advisory = advisory_window
        self._mandatory = mandatory_window
        self._retry_interval = retry_interval
        self._clock = clock
        self._lock = threading.Lock()
        self._creds: Credentials | None = None
        self._expires_at: float | None = None  # epoch seconds
        self._inflight: _Refresh | None = None
        self._next_advisory = 0.0

    def __repr__(self) -> str:
        exp = self._creds.expiration.isoformat() if self._creds and self._creds.expiration else None
        return f"RefreshingProvider({self._source!r}, expiration={exp})"

    __str__ = __repr__

    def invalidate(self) -> None:
        """Forget the cached credentials (e.g. after S3 said ``ExpiredToken``)."""
        with self._lock:
            self._creds = None
            self._expires_at = None

    async def get_credentials(self) -> Credentials:
        creds, expires_at = self._creds, self._expires_at
        if creds is not None:
            if expires_at is None:
                return creds
            now = self._clock()
            remaining = expires_at - now
            if remaining > self._advisory:
                return creds
            if remaining > self._mandatory:
                return await self._advisory_refresh(creds, now)
        return await self._mandatory_refresh()

    async def _advisory_refresh(self, creds: Credentials, now: float) -> Credentials:
        with self._lock:
            busy = self._inflight is not None and not self._inflight.future.done()
            if busy or now < self._next_advisory:
                return creds
            self._next_advisory = now + self._retry_interval
        try:
            return await asyncio.wrap_future(self._join_or_start())
        except _Abandoned:
            return creds
        except Exception as e:
            left = (self._expires_at or now) - self._clock()
            logger.warning(
                "Refreshing AWS credentials from %s failed (%s); still using the current "
                "ones, which expire in %.0f s",
                self._source.label,
                e,
                left,
            )
            return creds

    async def _mandatory_refresh(self) -> Credentials:
        while True:
            try:
                return await asyncio.wrap_future(self._join_or_start())
            except _Abandoned:
                continue

    def _join_or_start(self) -> concurrent.futures.Future[Credentials]:
        loop = asyncio.get_running_loop()
        with self._lock:
            current = self._inflight
            if current is not None and not current.future.done():
                orphaned = current.loop is not loop and (
                    current.loop.is_closed() or not current.loop.is_running()
                )
                if not orphaned:
                    return current.future
            # Someone else may have refreshed since our caller looked at the cache.
            if self._creds is not None and self._fresh(self._expires_at):
                done: concurrent.futures.Future[Credentials] = concurrent.futures.Future()
                done.set_result(self._creds)
                return done
            fut: concurrent.futures.Future[Credentials] = concurrent.futures.Future()
            # RUNNING: a waiter being cancelled must not cancel the shared refresh.
            fut.set_running_or_notify_cancel()
            refresh = _Refresh(fut, loop)
            self._inflight = refresh
        # Outside the lock: an eager task factory would run _run() right here.
        refresh.task = loop.create_task(self._run(refresh))
        return fut

    def _fresh(self, expires_at: float | None) -> bool:
        return expires_at is None or expires_at - self._clock() > self._advisory

    async def _run(self, refresh: _Refresh) -> None:
        source = self._source
        try:
            logger.debug("Loading AWS credentials from %s", source.label)
            creds = await source.load()
            if creds is None:
                raise NoCredentialsError(searched=source.searched())
            expires_at = creds.expiration.timestamp() if creds.expiration else None
            if expires_at is not None and expires_at <= self._clock():
                raise CredentialsError(
                    f"{source.label} returned credentials that expired at "
                    f"{creds.expiration.isoformat() if creds.expiration else ''}"
                )
            with self._lock:
                self._creds, self._expires_at = creds, expires_at
            logger.debug(
                "Got AWS credentials from %s (access key id %s, expiration %s)",
                source.label,
                creds.access_key_id,
                creds.expiration.isoformat() if creds.expiration else "none",
            )
            refresh.future.set_result(creds)
        except asyncio.CancelledError:
            refresh.future.set_exception(_Abandoned())
            raise
        except BaseException as e:
            # Waiters (perhaps on other loops) must always get an answer.
            refresh.future.set_exception(e)
            if not isinstance(e, Exception):
                raise
        finally:
            with self._lock:
                if self._inflight is refresh:
                    self._inflight = None
