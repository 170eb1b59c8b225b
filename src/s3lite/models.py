"""What the client returns: small frozen dataclasses, no behaviour."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

__all__ = [
    "Bucket",
    "CommonPrefix",
    "DeleteError",
    "ListPage",
    "MultipartUpload",
    "ObjectInfo",
    "ObjectSummary",
    "Part",
    "PutResult",
    "S3Object",
]


@dataclass(frozen=True, slots=True)
class Bucket:
    """A bucket, as ListBuckets answers it."""

    name: str
    created: datetime


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    """An object's metadata, as HEAD (or GET) answers it."""

    key: str
    size: int
    etag: str
    last_modified: datetime
    content_type: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    version_id: str | None = None


@dataclass(frozen=True, slots=True)
class S3Object(ObjectInfo):
    """An object with its body (empty when the body was streamed to a sink)."""

    body: bytes = b""


@dataclass(frozen=True, slots=True)
class ObjectSummary:
    """One object of a listing."""

    key: str
    size: int
    etag: str
    last_modified: datetime
    storage_class: str | None = None


@dataclass(frozen=True, slots=True)
class CommonPrefix:
    """A "folder" of a delimited listing: every key under ``prefix``."""

    prefix: str


@dataclass(frozen=True, slots=True)
class ListPage:
    """One ListObjectsV2 page."""

    objects: list[ObjectSummary]
    prefixes: list[CommonPrefix]
    next_token: str | None


@dataclass(frozen=True, slots=True)
class PutResult:
    """What a write (put, copy, completed multipart upload) returns. ``last_modified``
    is the object's new time when the server tells it (some answer a PUT with it,
    AWS does not: HEAD the object for it then)."""

    etag: str
    version_id: str | None = None
    last_modified: datetime | None = None


@dataclass(frozen=True, slots=True)
class DeleteError:
    """A key that DeleteObjects could not delete."""

    key: str
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class MultipartUpload:
    """A multipart upload in progress, as ListMultipartUploads answers it."""

    key: str
    upload_id: str
    initiated: datetime


@dataclass(frozen=True, slots=True)
class Part:
    """An uploaded part of a multipart upload, as ListParts answers it."""

    number: int
    etag: str
    size: int
    last_modified: datetime
