"""The base class of every provider, and fixed credentials given in code."""

from __future__ import annotations

import abc
import logging

from .cache import RefreshingProvider
from .model import Credentials

__all__ = ["BaseProvider", "StaticProvider"]

logger = logging.getLogger("s3lite.credentials")


class BaseProvider(abc.ABC):
    """A credential source. ``load()`` returns credentials, None if the source is not
    configured, or raises :class:`CredentialsError` if it is configured but broken.
    ``get_credentials()`` caches and refreshes through a :class:`RefreshingProvider`."""

    label: str = "credentials"  # names the source in messages and logs

    def __init__(self) -> None:
        self._miss: str | None = None
        self._cache = RefreshingProvider(self)

    @abc.abstractmethod
    async def load(self) -> Credentials | None:
        """Fetch fresh credentials from the source (no caching)."""

    async def get_credentials(self) -> Credentials:
        """Current credentials, cached and refreshed ahead of expiry."""
        return await self._cache.get_credentials()

    def invalidate(self) -> None:
        """Forget cached credentials; the next ``get_credentials()`` loads again."""
        self._cache.invalidate()

    def searched(self) -> list[str]:
        """Where this provider looked, and why it found nothing (for the error)."""
        return [f"{self.label}: {self._miss or 'not tried'}"]

    def _not_found(self, why: str) -> None:
        self._miss = why
        logger.debug("No AWS credentials from %s: %s", self.label, why)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    __str__ = __repr__


class StaticProvider(BaseProvider):
    """Fixed credentials given in code."""

    label = "static credentials"

    def __init__(self, credentials: Credentials) -> None:
        super().__init__()
        self.credentials = credentials

    async def load(self) -> Credentials:
        return self.credentials

    async def get_credentials(self) -> Credentials:
        return self.credentials

    def __repr__(self) -> str:
        return f"StaticProvider({self.credentials!r})"

    __str__ = __repr__
