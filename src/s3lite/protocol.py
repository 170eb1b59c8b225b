"""The S3 protocol without I/O: where a request goes, and what a response means.

``Endpoint.request`` builds a :class:`Request` for a bucket and key;
``error_from_response`` and ``object_info`` read a :class:`Response`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Literal
from urllib.parse import urlsplit

from .errors import S3Error, code_for_status, error_class
from .messages import Request, Response, uri_encode
from .models import ObjectInfo, S3Object
from .xml import parse_error

__all__ = ["AddressingStyle", "Endpoint", "error_from_response", "http_date", "object_info"]

AddressingStyle = Literal["auto", "path", "virtual"]

# Buckets that can be a DNS label under TLS: no dots (the wildcard certificate
# covers one label), no upper case, no underscores.
_VIRTUAL_OK = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where requests go: scheme, host (``host[:port]``), and the addressing style."""

    scheme: str
    host: str
    base_path: str = ""  # a path the endpoint itself carries, e.g. "/s3" behind a proxy
    virtual: bool = False  # virtual-hosted style (bucket in the host name) where possible

    @classmethod
    def for_region(cls, region: str, style: AddressingStyle = "auto") -> Endpoint:
        """AWS's own endpoint for ``region``: virtual-hosted unless told ``path``."""
        return cls("https", f"s3.{region}.amazonaws.com", virtual=style != "path")

    @classmethod
    def from_url(cls, url: str, style: AddressingStyle = "auto") -> Endpoint:
        """An explicit endpoint (MinIO, Ceph, moto): path style unless told ``virtual``."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"endpoint_url must be http(s)://host[:port], not {url!r}")
        if parts.query or parts.fragment:
            raise ValueError(f"endpoint_url must not have a query or fragment: {url!r}")
        host = parts.netloc.rpartition("@")[2]
        default_port = {"http": 80, "https": 443}[parts.scheme]
        if parts.port == default_port:
            host = host.rsplit(":", 1)[0]
        return cls(parts.scheme, host, parts.path.rstrip("/"), virtual=style == "virtual")

    def request(
        self,
        method: str,
        bucket: str = "",
        key: str = "",
        *,
        query: list[tuple[str, str]] | None = None,
        headers: dict[str, str] | None = None,
        body: bytes | memoryview = b"",
    ) -> Request:
        """A request for ``bucket``/``key`` (either may be empty: service or bucket level)."""
        encoded_key = uri_encode(key, safe="/")
        if bucket and self.virtual and _VIRTUAL_OK.match(bucket):
            host = f"{bucket}.{self.host}"
            path = f"{self.base_path}/{encoded_key}"
        else:
            host = self.host
            path = f"{self.base_path}/{uri_encode(bucket)}" if bucket else self.base_path
            path = f"{path}/{encoded_key}" if key or not bucket else path
        return Request(method, self.scheme, host, path, query or [], headers or {}, body)


def error_from_response(
    response: Response, bucket: str | None = None, key: str | None = None
) -> S3Error:
    """The typed exception an error response (or a 200 with an ``<Error>`` body) stands for."""
    request_id = response.headers.get("x-amz-request-id")
    code, message = "", ""
    if response.body:
        parsed = parse_error(response.body)
        code, message = parsed.code, parsed.message
        request_id = parsed.request_id or request_id
    if not code:
        code = code_for_status(response.status)
        if code == "NoSuchKey" and not key:
            code = "NoSuchBucket"
        message = message or response.reason
    return error_class(code)(
        message,
        code=code,
        status=response.status,
        request_id=request_id,
        bucket=bucket,
        key=key,
        headers=response.headers,
    )


def http_date(value: str | None) -> datetime | None:
    """An HTTP date header (``Last-Modified``) as a timezone-aware time; None if
    absent or unreadable."""
    if not value:
        return None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=timezone.utc)


def object_info(key: str, headers: dict[str, str], body: bytes | None = None) -> ObjectInfo:
    """An :class:`ObjectInfo` from GET or HEAD response headers (an
    :class:`S3Object` when ``body`` is given)."""
    size = headers.get("content-length", "0")
    content_range = headers.get("content-range")
    if content_range and "/" in content_range:  # "bytes 0-9/1234": report the whole size
        total = content_range.rpartition("/")[2]
        if total.isdigit():
            size = total
    modified = http_date(headers.get("last-modified"))
    if modified is None:
        raise S3Error(
            f"response for {key!r} has no valid Last-Modified header", code="MalformedResponse"
        )
    metadata = {k[11:]: v for k, v in headers.items() if k.startswith("x-amz-meta-")}
    cls = ObjectInfo if body is None else S3Object
    extra = {} if body is None else {"body": body}
    if not size.isdigit():
        raise S3Error(f"response for {key!r} has a bad size: {size!r}", code="MalformedResponse")
    return cls(
        **extra,
        key=key,
        size=int(size),
        etag=headers.get("etag", ""),
        last_modified=modified,
        content_type=headers.get("content-type"),
        metadata=metadata,
        version_id=headers.get("x-amz-version-id"),
    )
