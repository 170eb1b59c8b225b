"""AWS Signature Version 4, as pure functions over :class:`~s3lite.messages.Request`.

(Contract stub: implemented by the signing work. Names and signatures are fixed
because the client and the credential providers call them.)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from .credentials import Credentials
from .messages import Request

__all__ = [
    "EMPTY_SHA256",
    "STREAMING_PAYLOAD",
    "UNSIGNED_PAYLOAD",
    "canonical_request",
    "presign",
    "sign",
    "signing_key",
    "string_to_sign",
]

EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
STREAMING_PAYLOAD = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"


def signing_key(secret_access_key: str, date: str, region: str, service: str) -> bytes:
    """The derived key ``kSigning`` for ``date`` (YYYYMMDD); cached per day/region/service."""
    raise NotImplementedError


def canonical_request(
    method: str,
    path: str,
    query: Sequence[tuple[str, str]],
    headers: Mapping[str, str],
    signed_headers: Sequence[str],
    payload_hash: str,
) -> str:
    """The SigV4 canonical request. ``path`` is used as-is (S3 rule: no normalisation)."""
    raise NotImplementedError


def string_to_sign(amz_date: str, scope: str, canonical_request_text: str) -> str:
    raise NotImplementedError


def sign(
    request: Request,
    credentials: Credentials,
    region: str,
    service: str,
    now: datetime,
    payload_hash: str,
) -> None:
    """Sign ``request`` in place: add ``x-amz-date``, ``x-amz-content-sha256`` (service
    ``s3``), ``x-amz-security-token`` (if any) and ``authorization``. Every header
    present on the request is signed."""
    raise NotImplementedError


def presign(
    request: Request,
    credentials: Credentials,
    region: str,
    service: str,
    now: datetime,
    expires_in: int,
    payload_hash: str = UNSIGNED_PAYLOAD,
) -> str:
    """A presigned URL (query-string authentication) for ``request``."""
    raise NotImplementedError
