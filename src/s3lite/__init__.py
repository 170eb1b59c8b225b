"""s3lite: a small, fast async S3 client on the standard library and tornado."""

from __future__ import annotations

from .client import S3Client
from .credentials import CredentialProvider, Credentials
from .errors import (
    AccessDenied,
    BucketAlreadyExists,
    BucketAlreadyOwnedByYou,
    BucketNotEmpty,
    InvalidRange,
    NoSuchBucket,
    NoSuchKey,
    NoSuchUpload,
    NotModified,
    PreconditionFailed,
    S3Error,
    SignatureDoesNotMatch,
    SlowDown,
    TransportError,
    TransportTimeout,
)
from .models import (
    CommonPrefix,
    DeleteError,
    ObjectInfo,
    ObjectSummary,
    PutResult,
    S3Object,
)
from .retries import RetryConfig

__version__ = "0.1.0"

__all__ = [
    "AccessDenied",
    "BucketAlreadyExists",
    "BucketAlreadyOwnedByYou",
    "BucketNotEmpty",
    "CommonPrefix",
    "CredentialProvider",
    "Credentials",
    "DeleteError",
    "InvalidRange",
    "NoSuchBucket",
    "NoSuchKey",
    "NoSuchUpload",
    "NotModified",
    "ObjectInfo",
    "ObjectSummary",
    "PreconditionFailed",
    "PutResult",
    "RetryConfig",
    "S3Client",
    "S3Error",
    "S3Object",
    "SignatureDoesNotMatch",
    "SlowDown",
    "TransportError",
    "TransportTimeout",
]
