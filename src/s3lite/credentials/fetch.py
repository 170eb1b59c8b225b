"""The I/O shell of the credential providers: one HTTP exchange through
:class:`s3lite.transport.Transport` (the one HTTP client of s3lite, with its timeouts
and TLS settings), attempts, and the STS call built on :mod:`.sts`."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime, timezone
from urllib.parse import parse_qsl, urlsplit

from ..errors import TransportError
from ..messages import Request, Response
from ..transport import Transport
from .model import MAX_BODY, Credentials, CredentialsError
from .sts import (
    STS_RETRYABLE,
    build_sts_request,
    parse_sts_response,
    sign_sts_request,
    sts_endpoint,
)

__all__ = ["call_sts", "fetch", "request_for", "safe_url", "with_attempts"]

logger = logging.getLogger("s3lite.credentials")

_USER_AGENT = "s3lite"


def request_for(
    method: str,
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    body: bytes = b"",
    query: Sequence[tuple[str, str]] = (),
) -> Request:
    """A :class:`Request` for ``url`` (its query kept, ``query`` appended). Raises
    ValueError for a URL that is not http(s) with a host."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    if parts.scheme not in ("http", "https") or not host:
        raise ValueError(f"not an http(s) URL: {safe_url(url)!r}")
    sent = {"host": host, "user-agent": _USER_AGENT}
    sent.update((k.lower(), v) for k, v in (headers or {}).items())
    return Request(
        method=method,
        scheme=parts.scheme,
        host=host,
        path=parts.path or "/",
        query=[*parse_qsl(parts.query, keep_blank_values=True), *query],
        headers=sent,
        body=body,
    )


async def fetch(
    method: str,
    url: str | Request,
    *,
    headers: Mapping[str, str] | None = None,
    body: bytes = b"",
    timeout: float,
) -> Response:
    """One HTTP exchange (never following redirects) on a private transport whose
    connect and read timeouts are ``timeout`` and which refuses bodies over 1 MiB.
    Failures are :class:`TransportError` / :class:`TransportTimeout` (``request_sent``
    False when no connection was made)."""
    what = f"{method} {safe_url(url if isinstance(url, str) else url.url)}"
    try:
        req = (
            url
            if isinstance(url, Request)
            else request_for(method, url, headers=headers, body=body)
        )
    except ValueError as e:
        raise TransportError(f"{what}: {e}", request_sent=False) from None
    # Private per call: these calls are rare, and the caller's event loop may be any.
    transport = Transport(
        max_connections_per_host=1,
        connect_timeout=timeout,
        read_timeout=timeout,
        max_body_size=MAX_BODY,
    )
    try:
        return await transport.send(req)
    except TransportError as e:
        raise type(e)(
            f"{what}: {e.message}", code=e.code, request_sent=e.request_sent, headers=e.headers
        ) from None
    except ValueError as e:  # a header value that cannot be sent, an unknown scheme
        raise TransportError(f"{what}: {e}", request_sent=False) from None
    finally:
        await transport.close()


def safe_url(url: str) -> str:
    """A URL for messages: scheme, host and path only (no query, no user info)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


async def with_attempts(
    attempts: int, call: Callable[[], Awaitable[Response]], *, backoff: float = 0.2
) -> Response:
    """``call()`` up to ``attempts`` times while it raises TransportError or answers 5xx."""
    last: TransportError | None = None
    resp: Response | None = None
    for attempt in range(max(1, attempts)):
        if attempt:
            await asyncio.sleep(backoff * attempt)
        try:
            resp = await call()
        except TransportError as e:
            last = e
            continue
        if resp.status < 500:
            return resp
    if resp is not None:
        return resp
    assert last is not None
    raise last


async def call_sts(
    action: str,
    params: Sequence[tuple[str, str]],
    *,
    region: str | None,
    endpoint_url: str | None,
    regional_endpoints: str | None,
    source: Credentials | None,
    attempts: int = 3,
    timeout: float = 10.0,
) -> Credentials:
    """Call STS ``action`` (signed with ``source``, unsigned if None); retries
    connection failures, 5xx and throttling."""
    url, signing_region = sts_endpoint(
        region, endpoint_url=endpoint_url, regional_endpoints=regional_endpoints
    )
    last: Exception | None = None
    for attempt in range(max(1, attempts)):
        if attempt:
            await asyncio.sleep(0.1 * 2**attempt)
        req = build_sts_request(url, action, params)
        if source is not None:
            sign_sts_request(req, source, signing_region, datetime.now(timezone.utc))
        req.headers["user-agent"] = _USER_AGENT  # unsigned, as the SDKs leave it
        logger.debug("STS %s at %s (region %s)", action, safe_url(url), signing_region)
        try:
            resp = await fetch("POST", req, timeout=timeout)
        except TransportError as e:
            last = CredentialsError(f"STS {action} at {safe_url(url)}: {e.message}")
            continue
        try:
            return parse_sts_response(resp.status, resp.body, action)
        except CredentialsError as e:
            last = e
            if resp.status < 500 and e.sts_code not in STS_RETRYABLE:
                raise
    assert last is not None
    raise last
