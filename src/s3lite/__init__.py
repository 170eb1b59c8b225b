"""s3lite: a small, fast async S3 client on the standard library and tornado."""

from __future__ import annotations

from .credentials import CredentialProvider, Credentials
from .errors import (
    AccessDenied,
    NoSuchBucket,
    NoSuchKey,
    NoSuchUpload,
    PreconditionFailed,
    S3Error,
    SignatureDoesNotMatch,
    TransportError,
    TransportTimeout,
)

__version__ = "0.1.0"

__all__ = [
    "AccessDenied",
    "CredentialProvider",
    "Credentials",
    "NoSuchBucket",
    "NoSuchKey",
    "NoSuchUpload",
    "PreconditionFailed",
    "S3Error",
    "SignatureDoesNotMatch",
    "TransportError",
    "TransportTimeout",
]
