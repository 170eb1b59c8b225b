"""S3 errors as the HTTP errors the Jupyter contents API answers. No I/O."""

from __future__ import annotations

from tornado.web import HTTPError

from s3lite import (
    AccessDenied,
    NoSuchBucket,
    NoSuchKey,
    PreconditionFailed,
    S3Error,
    TransportError,
)

__all__ = ["http_error_for"]

_DENIED_CODES = frozenset(
    {
        "AccessDenied",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "ExpiredToken",
        "AllAccessDisabled",
    }
)
_CONFLICT_CODES = frozenset(
    {"OperationAborted", "ConditionalRequestConflict", "PreconditionFailed"}
)


def _details(exc: S3Error) -> str:
    text = exc.code
    if exc.message:
        text += f": {exc.message}"
    if exc.request_id:
        text += f" (S3 request id {exc.request_id})"
    return text


def http_error_for(exc: S3Error, action: str, path: str) -> HTTPError:
    """The HTTP error for ``exc``, raised while ``action`` (e.g. "saving") ``path``:
    404 missing, 403 denied, 409 clash, 400 bad input, 500 otherwise (with S3's
    request id, so an operator can look it up)."""
    what = f"{action} {path!r}" if path else f"{action} the root folder"
    if isinstance(exc, NoSuchBucket):
        return HTTPError(500, f"Error {what}: the S3 bucket does not exist ({_details(exc)})")
    if isinstance(exc, NoSuchKey):
        return HTTPError(404, f"No such file or directory: {path}")
    if isinstance(exc, AccessDenied) or exc.code in _DENIED_CODES or exc.status == 403:
        return HTTPError(403, f"Permission denied {what}: {_details(exc)}")
    if (
        isinstance(exc, PreconditionFailed)
        or exc.code in _CONFLICT_CODES
        or exc.status in (409, 412)
    ):
        return HTTPError(409, f"Conflict {what}: it changed meanwhile ({_details(exc)})")
    if isinstance(exc, TransportError):
        return HTTPError(500, f"Error {what}: could not reach S3: {exc.message or exc.code}")
    if exc.status == 400 or exc.code in ("KeyTooLongError", "InvalidArgument"):
        return HTTPError(400, f"Error {what}: S3 refused the request: {_details(exc)}")
    return HTTPError(500, f"Error {what}: {_details(exc)}")
