"""The I/O shell: a keep-alive HTTP/1.1 connection pool on tornado.

(Contract stub: implemented by the transport work.)
"""

from __future__ import annotations

import ssl
from collections.abc import Awaitable, Callable

from .messages import Request, Response

__all__ = ["BodySink", "Transport"]

# Receives each chunk of a response body as it arrives (for streaming GETs).
BodySink = Callable[[bytes], Awaitable[None] | None]


class Transport:
    """Sends :class:`Request` objects over pooled keep-alive connections."""

    def __init__(
        self,
        *,
        max_connections_per_host: int = 10,
        connect_timeout: float = 10.0,
        read_timeout: float = 60.0,
        idle_timeout: float = 30.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        raise NotImplementedError

    async def send(self, request: Request, *, sink: BodySink | None = None) -> Response:
        """Send ``request`` and return the response. With ``sink``, a 2xx body is
        passed to ``sink`` chunk by chunk instead of being collected."""
        raise NotImplementedError

    async def close(self) -> None:
        """Close every pooled connection."""
        raise NotImplementedError
