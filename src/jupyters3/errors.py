"""S3 errors as the HTTP errors the Jupyter contents API answers. No I/O."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from tornado.web import HTTPError

from s3lite import (
    NoSuchBucket,
    NoSuchKey,
    PreconditionFailed,
    S3Error,
    TransportError,
    denies_access,
)

from .paths import KeyLayout, PathError, normalize_path

__all__ = ["checked_path", "http_error_for", "s3_errors"]

_CONFLICT_CODES = frozenset(
    {"OperationAborted", "ConditionalRequestConflict", "PreconditionFailed"}
)
# S3's 400s that the user's input causes (a name or a file too big for S3). Any
# other 400 is a request this server built wrong, or a setting of it: a 500.
_BAD_INPUT_CODES = frozenset({"KeyTooLongError", "EntityTooLarge"})


def _details(exc: S3Error) -> str:
    text = exc.code
    if exc.message:
        text += f": {exc.message}"
    if exc.request_id:
        text += f" (S3 request id {exc.request_id})"
    return text


def http_error_for(exc: S3Error, action: str, path: str) -> HTTPError:
    """The HTTP error for ``exc``, raised while ``action`` (e.g. "saving") ``path``:
    404 missing, 403 denied, 409 clash, 400 input S3 cannot take (a key too long),
    500 otherwise, S3's other 400s too (with S3's request id, so an operator can
    look it up)."""
    what = f"{action} {path!r}" if path else f"{action} the root folder"
    if isinstance(exc, NoSuchBucket):
        return HTTPError(500, f"Error {what}: the S3 bucket does not exist ({_details(exc)})")
    if isinstance(exc, NoSuchKey):
        return HTTPError(404, f"No such file or directory: {path}")
    if denies_access(exc.code, exc.status):
        return HTTPError(403, f"Permission denied {what}: {_details(exc)}")
    if (
        isinstance(exc, PreconditionFailed)
        or exc.code in _CONFLICT_CODES
        or exc.status in (409, 412)
    ):
        return HTTPError(409, f"Conflict {what}: it changed meanwhile ({_details(exc)})")
    if isinstance(exc, TransportError):
        return HTTPError(500, f"Error {what}: could not reach S3: {exc.message or exc.code}")
    if exc.code in _BAD_INPUT_CODES:
        return HTTPError(400, f"Error {what}: S3 refused the request: {_details(exc)}")
    if exc.status == 400:
        return HTTPError(500, f"Error {what}: S3 refused the server's request: {_details(exc)}")
    return HTTPError(500, f"Error {what}: {_details(exc)}")


def checked_path(path: str, layout: KeyLayout | None = None) -> str:
    """``path`` normalised (see :func:`~jupyters3.paths.normalize_path`); a bad one is a
    400, and so is one whose key under ``layout`` would be longer than S3 allows."""
    try:
        normalized = normalize_path(path)
        if layout is not None:
            layout.check_length(normalized, checkpoints=False)
    except PathError as e:
        raise HTTPError(400, str(e)) from None
    return normalized


@contextmanager
def s3_errors(action: str, path: str) -> Iterator[None]:
    """Raise what goes wrong inside as HTTP errors: a bad path 400, S3's errors as
    :func:`http_error_for` says; HTTP errors pass through."""
    try:
        yield
    except HTTPError:
        raise
    except PathError as e:
        raise HTTPError(400, str(e)) from None
    except S3Error as e:
        raise http_error_for(e, action, path) from e
