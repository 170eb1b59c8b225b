"""AWS Signature Version 4, as pure functions over :class:`~s3lite.messages.Request`.

S3 rules (pinned by the vectors in ``tests/data/sigv4``): the request path is
already percent-encoded and *is* the canonical URI (never normalised, never encoded
twice); query names and values are encoded with ``/`` as ``%2F`` and sorted by encoded
name, then value; header values are trimmed and inner whitespace runs collapsed.

Besides header signing (:func:`sign`) and query signing (:func:`presign`) this module
implements ``STREAMING-AWS4-HMAC-SHA256-PAYLOAD`` uploads (:func:`sign_aws_chunked`,
built from :func:`chunk_signature` and :func:`aws_chunked_body`).
"""

from __future__ import annotations

import hashlib
import hmac
import math
import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from functools import lru_cache
from typing import Protocol

from .messages import Request, uri_encode

__all__ = [
    "ALGORITHM",
    "EMPTY_SHA256",
    "STREAMING_PAYLOAD",
    "UNSIGNED_PAYLOAD",
    "SigningKeys",
    "amz_date",
    "aws_chunked_body",
    "aws_chunked_length",
    "canonical_query",
    "canonical_request",
    "chunk_signature",
    "chunk_string_to_sign",
    "credential_scope",
    "presign",
    "sign",
    "sign_aws_chunked",
    "signing_key",
    "string_to_sign",
]

ALGORITHM = "AWS4-HMAC-SHA256"
EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
STREAMING_PAYLOAD = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
_CHUNK_ALGORITHM = "AWS4-HMAC-SHA256-PAYLOAD"
_MAX_PRESIGN_EXPIRES = 7 * 24 * 3600
_MIN_CHUNK_SIZE = 8192  # S3 rejects smaller non-final chunks
# Query parameters that presign() owns; stale ones on the request are dropped.
_PRESIGN_PARAMS = frozenset(
    {
        "X-Amz-Algorithm",
        "X-Amz-Credential",
        "X-Amz-Date",
        "X-Amz-Expires",
        "X-Amz-SignedHeaders",
        "X-Amz-Security-Token",
        "X-Amz-Signature",
    }
)


class SigningKeys(Protocol):
    """The plain data a signature needs; :class:`s3lite.Credentials` is one (the
    signer knows nothing of where credentials come from)."""

    @property
    def access_key_id(self) -> str: ...
    @property
    def secret_access_key(self) -> str: ...
    @property
    def session_token(self) -> str | None: ...
    @property
    def pre_auth_headers(self) -> Mapping[str, str] | None: ...


# Query names/values and keys repeat a lot (list prefixes, part uploads, session tokens).
_encode = lru_cache(maxsize=4096)(uri_encode)


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.digest(key, msg.encode("utf-8"), "sha256")


@lru_cache(maxsize=128)
def signing_key(secret_access_key: str, date: str, region: str, service: str) -> bytes:
    """The derived key ``kSigning`` for ``date`` (YYYYMMDD); cached per day/region/service."""
    k_date = _hmac(("AWS4" + secret_access_key).encode("utf-8"), date)
    k_region = _hmac(k_date, region)
    k_service = _hmac(k_region, service)
    return _hmac(k_service, "aws4_request")


def amz_date(now: datetime) -> str:
    """``now`` as ``YYYYMMDDTHHMMSSZ`` in UTC (a naive ``now`` is taken to be UTC)."""
    if now.tzinfo is None:
        now = now.replace(tzinfo=timezone.utc)
    return _format_epoch(math.floor(now.timestamp()))


@lru_cache(maxsize=8)
def _format_epoch(seconds: int) -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(seconds))


def credential_scope(date: str, region: str, service: str) -> str:
    """``date/region/service/aws4_request`` (``date`` is YYYYMMDD)."""
    return f"{date}/{region}/{service}/aws4_request"


def canonical_query(query: Iterable[tuple[str, str]]) -> str:
    """The canonical query string of decoded ``(name, value)`` pairs: each encoded once
    (``/`` too), sorted by encoded name then value; a valueless name becomes ``name=``."""
    pairs = sorted((_encode(k), _encode(v)) for k, v in query)
    return "&".join(f"{k}={v}" for k, v in pairs)


def _trim(value: str) -> str:
    # Trim and collapse whitespace runs (also folds obs-fold continuation lines);
    # the same rule as botocore.
    return " ".join(value.split())


def _canonical_headers(headers: Mapping[str, str], names: Sequence[str]) -> str:
    return "".join(f"{name}:{_trim(headers[name])}\n" for name in names)


def canonical_request(
    method: str,
    path: str,
    query: Sequence[tuple[str, str]],
    headers: Mapping[str, str],
    signed_headers: Sequence[str],
    payload_hash: str,
) -> str:
    """The SigV4 canonical request. ``path`` is used as-is (S3 rule: no normalisation).

    ``headers`` maps lower-case names to values (``host`` included);
    ``signed_headers`` names the ones to sign (sorted here)."""
    names = sorted(name.lower() for name in signed_headers)
    lowered = {k.lower(): v for k, v in headers.items()}
    return _canonical(method, path, canonical_query(query), lowered, names, payload_hash)


def _canonical(
    method: str,
    path: str,
    canonical_query_text: str,
    headers: Mapping[str, str],
    names: Sequence[str],
    payload_hash: str,
) -> str:
    """The canonical request from parts already canonical: lower-case ``headers``,
    sorted ``names``."""
    return (
        f"{method}\n{path or '/'}\n{canonical_query_text}\n"
        f"{_canonical_headers(headers, names)}\n{';'.join(names)}\n{payload_hash}"
    )


def string_to_sign(amz_date: str, scope: str, canonical_request_text: str) -> str:
    """The SigV4 string to sign for a canonical request."""
    digest = hashlib.sha256(canonical_request_text.encode("utf-8")).hexdigest()
    return f"{ALGORITHM}\n{amz_date}\n{scope}\n{digest}"


@lru_cache(maxsize=128)
def _hmac_template(key: bytes) -> hmac.HMAC:
    return hmac.new(key, digestmod=hashlib.sha256)


def _signature(key: bytes, text: str) -> str:
    # Copying a keyed HMAC skips re-deriving the inner/outer pads on every call.
    mac = _hmac_template(key).copy()
    mac.update(text.encode("utf-8"))
    return mac.hexdigest()


def _headers_to_sign(request: Request, credentials: SigningKeys) -> dict[str, str]:
    """``host`` (from ``request.host``) plus every request header, keys lower-case."""
    out = {"host": request.host}
    for k, v in request.headers.items():
        lk = k.lower()
        if lk != "host" and lk != "authorization":
            out[lk] = v
    if credentials.pre_auth_headers:
        for k, v in credentials.pre_auth_headers.items():
            out[k.lower()] = v
    return out


def _sign(
    request: Request,
    credentials: SigningKeys,
    region: str,
    service: str,
    now: datetime,
    payload_hash: str,
) -> tuple[str, str, str]:
    """Sign in place; returns ``(signature, amz_date, scope)``."""
    headers = request.headers
    headers.pop("authorization", None)
    if credentials.pre_auth_headers:
        for k, v in credentials.pre_auth_headers.items():
            headers[k.lower()] = v
    date_time = amz_date(now)
    headers["x-amz-date"] = date_time
    if service == "s3":
        headers["x-amz-content-sha256"] = payload_hash
    if credentials.session_token:
        headers["x-amz-security-token"] = credentials.session_token
    else:
        # Left over from an earlier signing with other credentials (e.g. a retry).
        headers.pop("x-amz-security-token", None)

    to_sign = _headers_to_sign(request, credentials)
    names = sorted(to_sign)
    signed = ";".join(names)
    date = date_time[:8]
    scope = credential_scope(date, region, service)
    creq = _canonical(
        request.method, request.path, canonical_query(request.query), to_sign, names, payload_hash
    )
    key = signing_key(credentials.secret_access_key, date, region, service)
    signature = _signature(key, string_to_sign(date_time, scope, creq))
    headers["authorization"] = (
        f"{ALGORITHM} Credential={credentials.access_key_id}/{scope}, "
        f"SignedHeaders={signed}, Signature={signature}"
    )
    return signature, date_time, scope


def sign(
    request: Request,
    credentials: SigningKeys,
    region: str,
    service: str,
    now: datetime,
    payload_hash: str,
) -> None:
    """Sign ``request`` in place: add ``x-amz-date``, ``x-amz-content-sha256`` (service
    ``s3``), ``x-amz-security-token`` (if any) and ``authorization``. Every header
    present on the request is signed.

    Signing again (a retry) replaces these headers; a stale ``x-amz-security-token``
    is removed when ``credentials`` carry no token."""
    _sign(request, credentials, region, service, now, payload_hash)


def presign(
    request: Request,
    credentials: SigningKeys,
    region: str,
    service: str,
    now: datetime,
    expires_in: int,
    payload_hash: str = UNSIGNED_PAYLOAD,
) -> str:
    """A presigned URL (query-string authentication) for ``request``.

    Signs ``host`` plus every request header (the caller of the URL must send them).
    The query of the URL is in canonical (sorted) order, ``X-Amz-Signature`` last.
    ``request`` is not modified."""
    if not 1 <= expires_in <= _MAX_PRESIGN_EXPIRES:
        raise ValueError(f"expires_in must be 1..{_MAX_PRESIGN_EXPIRES} seconds: {expires_in}")
    to_sign = _headers_to_sign(request, credentials)
    names = sorted(to_sign)
    signed = ";".join(names)
    date_time = amz_date(now)
    date = date_time[:8]
    scope = credential_scope(date, region, service)
    params = [(k, v) for k, v in request.query if k not in _PRESIGN_PARAMS]
    params += [
        ("X-Amz-Algorithm", ALGORITHM),
        ("X-Amz-Credential", f"{credentials.access_key_id}/{scope}"),
        ("X-Amz-Date", date_time),
        ("X-Amz-Expires", str(expires_in)),
        ("X-Amz-SignedHeaders", signed),
    ]
    if credentials.session_token:
        params.append(("X-Amz-Security-Token", credentials.session_token))
    cqs = canonical_query(params)
    creq = _canonical(request.method, request.path, cqs, to_sign, names, payload_hash)
    key = signing_key(credentials.secret_access_key, date, region, service)
    signature = _signature(key, string_to_sign(date_time, scope, creq))
    return (
        f"{request.scheme}://{request.host}{request.path or '/'}?{cqs}&X-Amz-Signature={signature}"
    )


# --- aws-chunked (STREAMING-AWS4-HMAC-SHA256-PAYLOAD) -------------------------------


def chunk_string_to_sign(
    amz_date: str, scope: str, previous_signature: str, chunk: bytes | memoryview
) -> str:
    """The string to sign for one aws-chunked chunk (the first chunk's previous
    signature is the seed signature of the request)."""
    chunk_hash = hashlib.sha256(chunk).hexdigest()
    return (
        f"{_CHUNK_ALGORITHM}\n{amz_date}\n{scope}\n{previous_signature}\n"
        f"{EMPTY_SHA256}\n{chunk_hash}"
    )


def chunk_signature(
    key: bytes, amz_date: str, scope: str, previous_signature: str, chunk: bytes | memoryview
) -> str:
    """The signature of one aws-chunked chunk, ``key`` being :func:`signing_key`."""
    return _signature(key, chunk_string_to_sign(amz_date, scope, previous_signature, chunk))


def _chunk_sizes(decoded_length: int, chunk_size: int) -> list[int]:
    full, rest = divmod(decoded_length, chunk_size)
    return [chunk_size] * full + ([rest] if rest else []) + [0]


def aws_chunked_length(decoded_length: int, chunk_size: int = 65536) -> int:
    """The ``Content-Length`` of the aws-chunked encoding of ``decoded_length`` bytes."""
    # Each chunk: "<hex size>;chunk-signature=<64 hex>\r\n" + data + "\r\n".
    return sum(
        len(f"{n:x}") + len(";chunk-signature=") + 64 + 2 + n + 2
        for n in _chunk_sizes(decoded_length, chunk_size)
    )


def aws_chunked_body(
    payload: bytes | memoryview,
    key: bytes,
    amz_date: str,
    scope: str,
    seed_signature: str,
    chunk_size: int = 65536,
) -> bytes:
    """``payload`` encoded as aws-chunked, each chunk signed in chain from the seed
    signature and ended by the signed empty chunk."""
    view = memoryview(payload).cast("B")
    parts: list[bytes | memoryview] = []
    previous = seed_signature
    offset = 0
    for n in _chunk_sizes(len(view), chunk_size):
        chunk = view[offset : offset + n]
        offset += n
        previous = chunk_signature(key, amz_date, scope, previous, chunk)
        parts += [f"{n:x};chunk-signature={previous}\r\n".encode("ascii"), chunk, b"\r\n"]
    return b"".join(parts)


def sign_aws_chunked(
    request: Request,
    credentials: SigningKeys,
    region: str,
    service: str,
    now: datetime,
    chunk_size: int = 65536,
) -> str:
    """Sign ``request`` for a streaming (aws-chunked) upload of its body, in place.

    Sets ``content-encoding`` (``aws-chunked`` first), ``content-length`` (of the
    encoded body), ``x-amz-decoded-content-length``, signs the headers with the
    ``STREAMING-AWS4-HMAC-SHA256-PAYLOAD`` payload hash and replaces ``request.body``
    by its aws-chunked encoding. Returns the seed signature.

    Chunk signatures chain from the seed, which depends on the time: a retry must
    start again from the original (decoded) payload, not from the encoded body."""
    if chunk_size < _MIN_CHUNK_SIZE:
        raise ValueError(f"chunk_size must be at least {_MIN_CHUNK_SIZE}: {chunk_size}")
    payload = request.body
    decoded_length = memoryview(payload).nbytes
    headers = request.headers
    encoding = headers.get("content-encoding", "")
    codings = [c.strip() for c in encoding.split(",") if c.strip()]
    if "aws-chunked" not in codings:
        headers["content-encoding"] = ",".join(["aws-chunked", *codings])
    headers["content-length"] = str(aws_chunked_length(decoded_length, chunk_size))
    headers["x-amz-decoded-content-length"] = str(decoded_length)
    seed, date_time, scope = _sign(request, credentials, region, service, now, STREAMING_PAYLOAD)
    key = signing_key(credentials.secret_access_key, date_time[:8], region, service)
    request.body = aws_chunked_body(payload, key, date_time, scope, seed, chunk_size)
    return seed
