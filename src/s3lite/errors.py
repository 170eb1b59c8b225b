"""Typed S3 errors. Parsing an error response is a pure function."""

from __future__ import annotations

from typing import Any

__all__ = [
    "CERTIFICATE_ERROR",
    "AccessDenied",
    "BucketAlreadyExists",
    "BucketAlreadyOwnedByYou",
    "BucketNotEmpty",
    "EntityTooLarge",
    "InvalidRange",
    "NoSuchBucket",
    "NoSuchKey",
    "NoSuchUpload",
    "NotModified",
    "PreconditionFailed",
    "S3Error",
    "SignatureDoesNotMatch",
    "SlowDown",
    "TransportError",
    "TransportTimeout",
    "denies_access",
]


class S3Error(Exception):
    """An error answered by S3 (or raised while talking to it).

    ``code`` is S3's error code (``"NoSuchKey"``), ``status`` the HTTP status
    (0 when no response was received), ``request_id`` S3's ``x-amz-request-id``.
    """

    default_code = "S3Error"

    def __init__(
        self,
        message: str = "",
        *,
        code: str | None = None,
        status: int = 0,
        request_id: str | None = None,
        bucket: str | None = None,
        key: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.code = code or self.default_code
        self.message = message
        self.status = status
        self.request_id = request_id
        self.bucket = bucket
        self.key = key
        self.headers = headers or {}
        super().__init__(str(self))

    def __str__(self) -> str:
        where = ""
        if self.bucket is not None:
            where = f" (s3://{self.bucket}/{self.key or ''})"
        rid = f" [request id {self.request_id}]" if self.request_id else ""
        status = f" HTTP {self.status}" if self.status else ""
        msg = f": {self.message}" if self.message else ""
        return f"{self.code}{status}{msg}{where}{rid}"

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (_rebuild, (type(self), self.message, self.code, self.status, self.request_id))


def _rebuild(
    cls: type[S3Error], message: str, code: str, status: int, request_id: str | None
) -> S3Error:
    return cls(message, code=code, status=status, request_id=request_id)


class TransportError(S3Error):
    """No usable response: connection refused or reset, truncated body, timeout.

    ``request_sent`` is False when the failure happened before any byte of the
    request could have reached the server (e.g. connect refused), so that even a
    non-idempotent request may safely be sent again.
    """

    default_code = "TransportError"

    def __init__(self, message: str = "", *, request_sent: bool = True, **kwargs: Any) -> None:
        self.request_sent = request_sent
        super().__init__(message, **kwargs)


# The code of a TransportError for an untrusted TLS certificate (never retried).
CERTIFICATE_ERROR = "CertificateError"


class TransportTimeout(TransportError):
    """Connecting, or waiting for the response, took longer than allowed."""

    default_code = "Timeout"


class NoSuchKey(S3Error):
    default_code = "NoSuchKey"


class NoSuchBucket(S3Error):
    default_code = "NoSuchBucket"


class NoSuchUpload(S3Error):
    default_code = "NoSuchUpload"


class AccessDenied(S3Error):
    default_code = "AccessDenied"


class SignatureDoesNotMatch(S3Error):
    default_code = "SignatureDoesNotMatch"


class PreconditionFailed(S3Error):
    default_code = "PreconditionFailed"


class NotModified(S3Error):
    default_code = "NotModified"


class InvalidRange(S3Error):
    default_code = "InvalidRange"


class BucketAlreadyExists(S3Error):
    default_code = "BucketAlreadyExists"


class BucketAlreadyOwnedByYou(S3Error):
    default_code = "BucketAlreadyOwnedByYou"


class BucketNotEmpty(S3Error):
    default_code = "BucketNotEmpty"


class EntityTooLarge(S3Error):
    default_code = "EntityTooLarge"


class SlowDown(S3Error):
    default_code = "SlowDown"


_BY_CODE: dict[str, type[S3Error]] = {
    cls.default_code: cls
    for cls in (
        NoSuchKey,
        NoSuchBucket,
        NoSuchUpload,
        AccessDenied,
        SignatureDoesNotMatch,
        PreconditionFailed,
        NotModified,
        InvalidRange,
        BucketAlreadyExists,
        BucketAlreadyOwnedByYou,
        BucketNotEmpty,
        EntityTooLarge,
        SlowDown,
    )
}

# What a body-less error response (HEAD, or a proxy's) most likely means.
_BY_STATUS: dict[int, str] = {
    301: "PermanentRedirect",
    304: "NotModified",
    400: "BadRequest",
    403: "AccessDenied",
    404: "NoSuchKey",
    405: "MethodNotAllowed",
    409: "Conflict",
    412: "PreconditionFailed",
    416: "InvalidRange",
    500: "InternalError",
    501: "NotImplemented",
    503: "SlowDown",
}


# The codes of a request refused for its credentials: not allowed, or the credentials
# themselves not accepted (an unknown key id, a wrong secret, an expired session token).
_DENIED_CODES = frozenset(
    {
        "AccessDenied",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "ExpiredToken",
        "AllAccessDisabled",
    }
)


def denies_access(code: str, status: int = 0) -> bool:
    """Whether an error with S3's ``code`` (and HTTP ``status``, when known) means
    access denied: refused, or credentials S3 does not accept; any 403 does."""
    return code in _DENIED_CODES or status == 403


def error_class(code: str) -> type[S3Error]:
    """The exception class for an S3 error code (``S3Error`` for unknown codes)."""
    return _BY_CODE.get(code, S3Error)


def code_for_status(status: int) -> str:
    """The S3 error code a body-less response with this status stands for."""
    return _BY_STATUS.get(status, f"HTTP{status}")
