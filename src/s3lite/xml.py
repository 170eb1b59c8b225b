"""S3's XML bodies: parsing responses and building requests. Pure functions.

Parsing is namespace-agnostic (S3-compatible servers differ) and never lets a
parser traceback escape: malformed XML becomes an :class:`S3Error`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import unquote_plus
from xml.etree import ElementTree as ET

from .errors import S3Error
from .models import (
    Bucket,
    CommonPrefix,
    DeleteError,
    ListPage,
    MultipartUpload,
    ObjectSummary,
    Part,
)

__all__ = [
    "ErrorBody",
    "build_complete_multipart",
    "build_delete_objects",
    "is_error_body",
    "parse_complete_multipart",
    "parse_copy_result",
    "parse_delete_result",
    "parse_error",
    "parse_initiate_multipart",
    "parse_list_buckets",
    "parse_list_multipart_uploads",
    "parse_list_objects_v2",
    "parse_list_parts",
    "parse_timestamp",
    "xml_safe",
]


@dataclass(frozen=True, slots=True)
class ErrorBody:
    code: str
    message: str
    request_id: str | None


# The default namespace declared on the root element (S3's own, or a compatible one's).
_ROOT_XMLNS = re.compile(rb"(\s*(?:<\?xml[^>]*>\s*)?<[^\s>/?!]+)\s+xmlns=(\"[^\"]*\"|'[^']*')")


def _root(body: bytes, what: str) -> ET.Element:
    # Namespaces are dropped, so lookups are plain tag names: the root's default one
    # before parsing (cheaper than renaming every element of a 1,000-key listing),
    # any other after.
    text = _ROOT_XMLNS.sub(rb"\1", body.lstrip(), count=1)
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        snippet = body[:200].decode("utf-8", "replace")
        raise S3Error(
            f"malformed XML in {what} response ({exc}): {snippet!r}", code="MalformedResponse"
        ) from None
    if b"xmlns" in text:
        for el in root.iter():
            if el.tag[0] == "{":
                el.tag = el.tag.rpartition("}")[2]
    return root


def _text(el: ET.Element, tag: str, default: str = "") -> str:
    child = el.find(tag)
    return child.text or default if child is not None else default


def _int(el: ET.Element, tag: str, what: str) -> int:
    text = _text(el, tag, "0").strip()
    if not text.isdigit():
        raise S3Error(f"{what} response has a bad <{tag}>: {text!r}", code="MalformedResponse")
    return int(text)


def _required(el: ET.Element, tag: str, what: str) -> str:
    child = el.find(tag)
    if child is None or child.text is None:
        raise S3Error(f"{what} response has no <{tag}>", code="MalformedResponse")
    return child.text


def parse_timestamp(value: str) -> datetime:
    """An ISO 8601 timestamp as S3 writes it (``2024-01-02T03:04:05.000Z``), timezone-aware."""
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise S3Error(f"bad timestamp {value!r}", code="MalformedResponse") from None
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


_ERROR_DOC = re.compile(rb"\s*(?:<\?xml[^>]*>\s*)?<Error[\s>/]")
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def is_error_body(body: bytes) -> bool:
    """Whether a (2xx) body is an ``<Error>`` document (CopyObject and
    CompleteMultipartUpload can fail after answering 200)."""
    # S3 may send any amount of whitespace to keep a long copy alive before the document.
    return _ERROR_DOC.match(body) is not None


def xml_safe(value: str) -> bool:
    """Whether XML 1.0 can carry ``value`` (S3 answers MalformedXML even to ``&#x1;``)."""
    return _NOT_XML.search(value) is None


def parse_error(body: bytes) -> ErrorBody:
    """S3's ``<Error>`` document. An unreadable body gives code ``""``."""
    try:
        root = _root(body, "error")
    except S3Error:
        return ErrorBody("", body[:200].decode("utf-8", "replace"), None)
    return ErrorBody(_text(root, "Code"), _text(root, "Message"), _text(root, "RequestId") or None)


def _url_decode(value: str) -> str:
    return unquote_plus(value) if "%" in value or "+" in value else value


def parse_list_objects_v2(body: bytes) -> ListPage:
    """A ListObjectsV2 page; keys and prefixes decoded if ``encoding-type=url`` was asked."""
    root = _root(body, "ListObjectsV2")
    decode = _url_decode if _text(root, "EncodingType") == "url" else (lambda s: s)
    stamps: dict[str, datetime] = {}  # the objects of a page often share their times
    objects = []
    for c in root.iterfind("Contents"):
        fields = {child.tag: child.text for child in c}  # one pass, not a find per field
        key, stamp = fields.get("Key"), fields.get("LastModified")
        if key is None or stamp is None:
            missing = "Key" if key is None else "LastModified"
            raise S3Error(f"ListObjectsV2 response has no <{missing}>", code="MalformedResponse")
        when = stamps.get(stamp)
        if when is None:
            when = stamps[stamp] = parse_timestamp(stamp)
        size = (fields.get("Size") or "0").strip()
        if not size.isdigit():
            raise S3Error(
                f"ListObjectsV2 response has a bad <Size>: {size!r}", code="MalformedResponse"
            )
        objects.append(
            ObjectSummary(
                key=decode(key),
                size=int(size),
                etag=fields.get("ETag") or "",
                last_modified=when,
                storage_class=fields.get("StorageClass") or None,
            )
        )
    prefixes = [
        CommonPrefix(decode(_required(p, "Prefix", "ListObjectsV2")))
        for p in root.iterfind("CommonPrefixes")
    ]
    truncated = _text(root, "IsTruncated").lower() == "true"
    token = _text(root, "NextContinuationToken") or None if truncated else None
    if truncated and token is None:
        raise S3Error("truncated listing without a continuation token", code="MalformedResponse")
    return ListPage(objects, prefixes, token)


def parse_list_buckets(body: bytes) -> list[Bucket]:
    """The buckets of a ListBuckets response."""
    root = _root(body, "ListBuckets")
    buckets = root.find("Buckets")
    return [
        Bucket(
            _required(b, "Name", "ListBuckets"),
            parse_timestamp(_required(b, "CreationDate", "ListBuckets")),
        )
        for b in (buckets.iterfind("Bucket") if buckets is not None else ())
    ]


def parse_initiate_multipart(body: bytes) -> str:
    """The upload id of a CreateMultipartUpload response."""
    return _required(_root(body, "CreateMultipartUpload"), "UploadId", "CreateMultipartUpload")


def parse_list_multipart_uploads(
    body: bytes,
) -> tuple[list[MultipartUpload], tuple[str, str] | None]:
    """A ListMultipartUploads page: its uploads, and the ``(key marker, upload id
    marker)`` of the next page (None on the last); keys decoded if
    ``encoding-type=url`` was asked."""
    what = "ListMultipartUploads"
    root = _root(body, what)
    decode = unquote_plus if _text(root, "EncodingType") == "url" else (lambda s: s)
    uploads = [
        MultipartUpload(
            key=decode(_required(u, "Key", what)),
            upload_id=_required(u, "UploadId", what),
            initiated=parse_timestamp(_required(u, "Initiated", what)),
        )
        for u in root.iterfind("Upload")
    ]
    if _text(root, "IsTruncated").lower() != "true":
        return uploads, None
    key_marker = decode(_text(root, "NextKeyMarker"))
    id_marker = _text(root, "NextUploadIdMarker")
    if not key_marker:
        raise S3Error(f"truncated {what} page without a NextKeyMarker", code="MalformedResponse")
    return uploads, (key_marker, id_marker)


def parse_list_parts(body: bytes) -> tuple[list[Part], int | None]:
    """A ListParts page: its parts, and the part number marker of the next page
    (None on the last)."""
    what = "ListParts"
    root = _root(body, what)
    parts = [
        Part(
            number=_int(p, "PartNumber", what),
            etag=_required(p, "ETag", what),
            size=_int(p, "Size", what),
            last_modified=parse_timestamp(_required(p, "LastModified", what)),
        )
        for p in root.iterfind("Part")
    ]
    if _text(root, "IsTruncated").lower() != "true":
        return parts, None
    marker = _int(root, "NextPartNumberMarker", what)
    if marker == 0:
        raise S3Error(
            f"truncated {what} page without a NextPartNumberMarker", code="MalformedResponse"
        )
    return parts, marker


def parse_copy_result(body: bytes, operation: str) -> str:
    """The ETag of a CopyObject or UploadPartCopy (``operation``) response."""
    etag = _text(_root(body, operation), "ETag").strip()
    if not etag:
        raise S3Error(f"{operation} response has no <ETag>", code="MalformedResponse")
    return etag


def parse_complete_multipart(body: bytes) -> str:
    """The ETag of a CompleteMultipartUpload response; ``""`` when the server left it
    out or empty (Ceph RGW 16 answers ``<ETag></ETag>``): the object *was* written."""
    return _text(_root(body, "CompleteMultipartUpload"), "ETag").strip()


def parse_delete_result(body: bytes) -> list[DeleteError]:
    """The failures listed in a DeleteObjects response."""
    root = _root(body, "DeleteObjects")
    return [
        DeleteError(_text(e, "Key"), _text(e, "Code"), _text(e, "Message"))
        for e in root.iterfind("Error")
    ]


def build_delete_objects(keys: Iterable[str], etags: Mapping[str, str] | None = None) -> bytes:
    """A quiet DeleteObjects request body; a key in ``etags`` is deleted only while
    its ETag (as S3 gives it, quotes included) is still that one."""
    etags = etags or {}
    items = "".join(
        f"<Object><Key>{_xml_text(k)}</Key>"
        + (f"<ETag>{_xml_text(etags[k])}</ETag>" if k in etags else "")
        + "</Object>"
        for k in keys
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Quiet>true</Quiet>{items}</Delete>'
    ).encode()


def build_complete_multipart(parts: Sequence[tuple[int, str]]) -> bytes:
    """A CompleteMultipartUpload request body from ``(part number, etag)`` pairs."""
    items = "".join(
        f"<Part><PartNumber>{n}</PartNumber><ETag>{_xml_text(etag)}</ETag></Part>"
        for n, etag in sorted(parts)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">{items}'
        "</CompleteMultipartUpload>"
    ).encode()


def _xml_text(value: str) -> str:
    if not xml_safe(value):
        raise ValueError(f"XML cannot carry {value!r}: delete or name it by URL instead")
    # A literal CR would be read back as LF.
    # Not xml.sax.saxutils.escape: that module imports urllib.request and http.client.
    return (
        value.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("\r", "&#13;")
    )
