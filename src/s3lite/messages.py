"""Plain-data HTTP messages: what the sans-I/O core builds and parses.

Nothing here does I/O. The client builds a :class:`Request`, ``signing`` adds
its signature headers, ``transport`` sends it and hands back a :class:`Response`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import quote

__all__ = ["Request", "Response", "uri_encode"]


def uri_encode(value: str, *, safe: str = "") -> str:
    """Percent-encode ``value`` as SigV4 and S3 want it: RFC 3986 unreserved
    characters (``A-Z a-z 0-9 - _ . ~``) and ``safe`` are kept, every other
    UTF-8 byte becomes ``%XX`` with upper-case hex, exactly once."""
    return quote(value, safe="-_.~" + safe)


@dataclass(slots=True)
class Request:
    """One HTTP request, as sent on the wire.

    ``path`` is already percent-encoded (it is also the SigV4 canonical URI,
    which S3 never normalises). ``query`` holds *decoded* name/value pairs, in
    the order they are sent; encoding happens in :meth:`query_string`.
    ``headers`` keys are lower-case. ``body`` is ``bytes``/``memoryview`` so
    that every attempt of a retry can send it again.
    """

    method: str
    scheme: str
    host: str  # "host" or "host:port", exactly the Host header
    path: str
    query: list[tuple[str, str]] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | memoryview = b""

    def query_string(self) -> str:
        """The encoded query string (no ``?``), parameters in request order."""
        return "&".join(f"{uri_encode(k)}={uri_encode(v)}" for k, v in self.query)

    @property
    def target(self) -> str:
        """The request target of the HTTP request line: path plus query."""
        qs = self.query_string()
        return f"{self.path}?{qs}" if qs else self.path

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}{self.target}"


@dataclass(slots=True)
class Response:
    """One HTTP response. ``headers`` keys are lower-case. ``body`` is empty
    when the body was streamed to a sink instead."""

    status: int
    headers: dict[str, str]
    body: bytes = b""
    reason: str = ""
