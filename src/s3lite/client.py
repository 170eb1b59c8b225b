"""The async S3 client: builds requests, signs them, sends them, retries.

Each method is a thin composition of the pure parts: ``protocol`` and ``xml``
build the request and read the response, ``signing`` signs every attempt,
``retries`` decides whether to try again, ``transport`` does the I/O.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import os
import ssl
import time
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import IO, TypeAlias, TypeVar

from . import transfer, xml
from .checksums import CHECKSUM_MODES, BodyChecksum, ChecksumMode, body_checksum, crc32_header
from .config import resolve_checksum_mode, resolve_region
from .credentials import CredentialProvider, Credentials, as_provider
from .errors import NoSuchKey, NoSuchUpload, PreconditionFailed, S3Error, TransportError
from .messages import Request, Response, uri_encode
from .models import (
    Bucket,
    CommonPrefix,
    DeleteError,
    MultipartUpload,
    ObjectInfo,
    ObjectSummary,
    Part,
    PutResult,
    S3Object,
)
from .protocol import AddressingStyle, Endpoint, error_from_response, http_date, object_info
from .retries import (
    EXPIRED_CREDENTIALS_CODES,
    SKEW_CODES,
    RetryConfig,
    backoff_delay,
    clock_skew,
    is_retryable,
)
from .signing import EMPTY_SHA256, UNSIGNED_PAYLOAD, presign, sign
from .transfer import DELETE_BATCH, MAX_COPY_SIZE, MAX_PARTS, MIN_PART_SIZE
from .transport import BodySink, Transport

__all__ = ["Body", "S3Client"]

log = logging.getLogger("s3lite")

KiB = 1024
MiB = 1024 * KiB
# Bodies at least this large are hashed off the event loop (hashlib releases the GIL).
_HASH_IN_THREAD = 256 * KiB
# Over TLS, bodies at least this large that carry a CRC32 checksum go as UNSIGNED-PAYLOAD.
_UNSIGNED_OVER_TLS = 1 * MiB

_T = TypeVar("_T")
Body: TypeAlias = "bytes | bytearray | memoryview | str | IO[bytes] | AsyncIterable[bytes]"
Range: TypeAlias = "tuple[int, int | None]"


class S3Client:
    """An async S3 client. Use as ``async with S3Client(...) as s3:`` or call :meth:`close`.

    ``credentials`` may be :class:`Credentials`, any :class:`CredentialProvider`,
    or None for the AWS default chain (of ``profile``, if given; ``region`` too
    comes from the environment or profile when not given). ``endpoint_url`` None means AWS itself;
    an explicit endpoint (MinIO, Ceph, moto) uses path-style addressing unless
    ``addressing_style="virtual"``. The client is not bound to an event loop: it
    may be created anywhere and used from any loop.

    ``request_checksum_calculation`` / ``response_checksum_validation``
    (``"when_supported"`` or ``"when_required"``; else ``AWS_REQUEST_CHECKSUM_CALCULATION``
    / ``AWS_RESPONSE_CHECKSUM_VALIDATION``, else the profile's keys; by default
    ``when_required`` / ``when_supported``): whether PUTs carry a CRC32 checksum header,
    and whether GETs ask for the object's checksum. A whole-object checksum S3 sends
    is always checked.
    """

    def __init__(
        self,
        region: str | None = None,
        endpoint_url: str | None = None,
        credentials: Credentials | CredentialProvider | None = None,
        *,
        addressing_style: AddressingStyle = "auto",
        verify: bool | str = True,
        max_connections: int = 10,
        connect_timeout: float = 10.0,
        read_timeout: float = 60.0,
        retry: RetryConfig | None = None,
        multipart_threshold: int = 8 * MiB,
        multipart_chunksize: int = 8 * MiB,
        max_concurrency: int = 4,
        profile: str | None = None,
        request_checksum_calculation: ChecksumMode | None = None,
        response_checksum_validation: ChecksumMode | None = None,
    ) -> None:
        if addressing_style not in ("auto", "path", "virtual"):
            raise ValueError(
                f"addressing_style must be auto, path or virtual: {addressing_style!r}"
            )
        if multipart_chunksize < MIN_PART_SIZE:
            raise ValueError(f"multipart_chunksize must be at least 5 MiB ({MIN_PART_SIZE})")
        if multipart_threshold < 1 or max_concurrency < 1 or max_connections < 1:
            raise ValueError(
                "multipart_threshold, max_concurrency and max_connections must be >= 1"
            )
        self.region = resolve_region(region, profile) or "us-east-1"
        for name, mode in (
            ("request_checksum_calculation", request_checksum_calculation),
            ("response_checksum_validation", response_checksum_validation),
        ):
            if mode is not None and mode not in CHECKSUM_MODES:
                raise ValueError(f"{name} must be when_supported or when_required, not {mode!r}")
        self._request_checksums = resolve_checksum_mode(
            "request_checksum_calculation",
            request_checksum_calculation,
            profile,
            default="when_required",
        )
        self._response_checksums = resolve_checksum_mode(
            "response_checksum_validation",
            response_checksum_validation,
            profile,
            default="when_supported",
        )
        # Set once the server has shown it compares a PUT's If-Match with the bare ETag.
        self._bare_if_match = False
        self._endpoint = (
            Endpoint.from_url(endpoint_url, addressing_style)
            if endpoint_url
            else Endpoint.for_region(self.region, addressing_style)
        )
        if credentials is not None and not isinstance(
            credentials, (Credentials, CredentialProvider)
        ):
            raise TypeError(
                "credentials must be Credentials or have 'async get_credentials()', "
                f"not {type(credentials).__name__}"
            )
        self._provider = as_provider(credentials, profile=profile, region=self.region)
        self._transport = Transport(
            max_connections_per_host=max_connections,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            ssl_context=_ssl_context(verify) if self._endpoint.scheme == "https" else None,
        )
        self._retry = retry or RetryConfig()
        self._threshold = multipart_threshold
        self._chunksize = multipart_chunksize
        self._concurrency = max_concurrency
        self._skew = timedelta(0)
        self._last_credentials: Credentials | None = (
            credentials if isinstance(credentials, Credentials) else None
        )

    def __repr__(self) -> str:
        ep = self._endpoint
        return f"S3Client(region={self.region!r}, endpoint={ep.scheme}://{ep.host}{ep.base_path})"

    async def __aenter__(self) -> S3Client:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Close every pooled connection."""
        await self._transport.close()

    # -- objects ---------------------------------------------------------------

    async def put_object(
        self,
        bucket: str,
        key: str,
        body: Body,
        *,
        content_type: str | None = None,
        metadata: dict[str, str] | None = None,
        if_match: str | None = None,
        if_none_match: str | None = None,
        sse: str | None = None,
        sse_kms_key_id: str | None = None,
    ) -> PutResult:
        """Upload ``body`` (bytes, str, a binary file, or an async iterable of bytes).

        Bodies larger than ``multipart_threshold`` go as a multipart upload that
        holds at most ``max_concurrency + 1`` parts in memory and is aborted if
        anything fails, so nothing is left behind.
        """
        _check_key(bucket, key)
        headers = _write_headers(content_type, metadata, sse, sse_kms_key_id)
        if isinstance(body, str):
            body = body.encode()
        whole, parts = await transfer.split_body(body, self._threshold, self._chunksize)
        if whole is not None:
            return await self._put_single(
                bucket, key, whole, {**headers, **_conditions(if_match, if_none_match)}
            )
        assert parts is not None
        return await transfer.upload_multipart(
            self,
            bucket,
            key,
            parts,
            concurrency=self._concurrency,
            content_type=content_type,
            metadata=metadata,
            sse=sse,
            sse_kms_key_id=sse_kms_key_id,
            if_match=if_match,
            if_none_match=if_none_match,
        )

    async def get_object(
        self,
        bucket: str,
        key: str,
        *,
        range: Range | None = None,
        if_match: str | None = None,
        if_none_match: str | None = None,
        sink: BodySink | None = None,
        resume: bool = True,
    ) -> S3Object:
        """Download an object. ``range=(first, last)`` is inclusive (``last`` None: to the end).

        With ``sink`` (a function taking each chunk of bytes, sync or async) the
        body is streamed to it and ``.body`` is empty. A stream cut midway is
        resumed from where it stopped, pinned to the same ETag (``resume=False``:
        it raises :class:`TransportError` instead, for callers that resume themselves).
        A checksum S3 sends for the whole object is checked (not on resumed streams).
        """
        _check_key(bucket, key)
        headers = _conditions(if_match, if_none_match)
        if range is not None:
            headers["range"] = _range_header(range)
        elif self._response_checksums == "when_supported":
            headers["x-amz-checksum-mode"] = "ENABLED"  # whole objects only: ranges have none
        if sink is not None and resume:
            return await transfer.get_resumable(
                self,
                bucket,
                key,
                sink,
                retry=self._retry,
                range=range,
                if_match=if_match,
                if_none_match=if_none_match,
            )
        req = self._endpoint.request("GET", bucket, key, headers=headers)
        if sink is None:
            resp = await self._call(req, bucket=bucket, key=key)
            check = body_checksum(resp.status, resp.headers) if range is None else None
            if check is not None:
                check.update(resp.body)
                check.verify(bucket, key)
            return _s3_object(key, resp)
        user_sink = sink
        streamed: BodyChecksum | None = None

        def on_head(response_headers: dict[str, str]) -> None:
            nonlocal streamed
            streamed = body_checksum(200, response_headers) if range is None else None

        def checking_sink(chunk: bytes) -> object:
            if streamed is not None:
                streamed.update(chunk)
            return user_sink(chunk)

        resp = await self._call(req, bucket=bucket, key=key, sink=checking_sink, on_head=on_head)
        if streamed is not None:
            streamed.verify(bucket, key)
        return _s3_object(key, resp)

    async def download_file(
        self,
        bucket: str,
        key: str,
        path: str | os.PathLike[str],
        *,
        progress: Callable[[int], object] | None = None,
    ) -> ObjectInfo:
        """Stream an object into a local file, atomically (a temporary file beside it,
        then a rename): the file is whole or not there. ``progress`` is called with
        the size of each chunk written."""
        return await transfer.download_file(self, bucket, key, path, progress=progress)

    async def head_object(
        self,
        bucket: str,
        key: str,
        *,
        if_match: str | None = None,
        if_none_match: str | None = None,
    ) -> ObjectInfo:
        """An object's metadata; raises :class:`NoSuchKey` if there is none."""
        _check_key(bucket, key)
        req = self._endpoint.request(
            "HEAD", bucket, key, headers=_conditions(if_match, if_none_match)
        )
        resp = await self._call(req, bucket=bucket, key=key)
        return object_info(key, resp.headers)

    async def list_objects(
        self,
        bucket: str,
        prefix: str = "",
        delimiter: str | None = None,
        *,
        start_after: str | None = None,
        page_size: int = 1000,
    ) -> AsyncIterator[ObjectSummary | CommonPrefix]:
        """Every object (and, with ``delimiter``, every common prefix) under ``prefix``,
        page after page (ListObjectsV2, one request per ``page_size`` entries)."""
        if not 1 <= page_size <= 1000:
            raise ValueError("page_size must be between 1 and 1000")
        token: str | None = None
        while True:
            query = [("list-type", "2"), ("encoding-type", "url"), ("max-keys", str(page_size))]
            if prefix:
                query.append(("prefix", prefix))
            if delimiter:
                query.append(("delimiter", delimiter))
            if token:
                query.append(("continuation-token", token))
            elif start_after:
                query.append(("start-after", start_after))
            resp = await self._call(
                self._endpoint.request("GET", bucket, query=query), bucket=bucket
            )
            page = xml.parse_list_objects_v2(resp.body)
            # S3 sorts objects and prefixes together; merge them back into key order.
            entries: list[ObjectSummary | CommonPrefix] = [*page.objects, *page.prefixes]
            if page.objects and page.prefixes:
                entries.sort(key=lambda e: e.key if isinstance(e, ObjectSummary) else e.prefix)
            for entry in entries:
                yield entry
            if page.next_token is None:
                return
            token = page.next_token

    async def copy_object(
        self,
        src_bucket: str,
        src_key: str,
        dst_bucket: str,
        dst_key: str,
        *,
        if_match: str | None = None,
        if_none_match: str | None = None,
        metadata: dict[str, str] | None = None,
        content_type: str | None = None,
        sse: str | None = None,
        sse_kms_key_id: str | None = None,
        size: int | None = None,
    ) -> PutResult:
        """Server-side copy. ``if_match`` applies to the source. Giving ``metadata``
        or ``content_type`` replaces them; otherwise they are copied. Objects over
        5 GiB (``size`` if known, else found out from S3's refusal) are copied part
        by part with UploadPartCopy."""
        _check_key(src_bucket, src_key)
        _check_key(dst_bucket, dst_key)
        headers = _write_headers(content_type, metadata, sse, sse_kms_key_id)
        replace = metadata is not None or content_type is not None
        if size is None or size <= MAX_COPY_SIZE:
            copy_headers = {**headers, "x-amz-copy-source": _copy_source(src_bucket, src_key)}
            if replace:
                copy_headers["x-amz-metadata-directive"] = "REPLACE"
            if if_match:
                copy_headers["x-amz-copy-source-if-match"] = if_match
            if if_none_match:
                copy_headers["if-none-match"] = if_none_match
            req = self._endpoint.request("PUT", dst_bucket, dst_key, headers=copy_headers)
            try:
                resp = await self._call(req, bucket=dst_bucket, key=dst_key, error_in_200=True)
                return PutResult(
                    xml.parse_copy_result(resp.body, "CopyObject"),
                    resp.headers.get("x-amz-version-id"),
                )
            except S3Error as exc:
                if not _too_large_to_copy(exc):
                    raise
        info = await self.head_object(src_bucket, src_key, if_match=if_match)
        return await transfer.copy_multipart(
            self,
            src_bucket,
            src_key,
            dst_bucket,
            dst_key,
            info,
            concurrency=self._concurrency,
            content_type=content_type,
            metadata=metadata,
            sse=sse,
            sse_kms_key_id=sse_kms_key_id,
            if_none_match=if_none_match,
        )

    async def delete_object(self, bucket: str, key: str, *, if_match: str | None = None) -> None:
        """Delete one object (deleting a missing key is not an error, as in S3)."""
        _check_key(bucket, key)
        req = self._endpoint.request("DELETE", bucket, key, headers=_conditions(if_match, None))
        await self._call(req, bucket=bucket, key=key)

    async def delete_objects(
        self, bucket: str, keys: Iterable[str], *, etags: Mapping[str, str] | None = None
    ) -> list[DeleteError]:
        """Delete any number of keys, 1,000 per DeleteObjects request; returns the failures.
        A key in ``etags`` is deleted only while its ETag is that one (else a
        ``PreconditionFailed`` failure; servers without conditional deletes ignore it)."""
        keys = list(keys)
        for key in keys:
            _check_key(bucket, key)
        return await transfer.delete_many(
            self, bucket, keys, concurrency=self._concurrency, etags=etags
        )

    async def delete_batch(
        self, bucket: str, keys: Sequence[str], *, etags: Mapping[str, str] | None = None
    ) -> list[DeleteError]:
        """One DeleteObjects request: at most 1,000 keys, each one XML can carry
        (:meth:`delete_objects` takes any keys, and ``etags`` as it does); returns
        the failures."""
        if len(keys) > DELETE_BATCH:
            raise ValueError(f"DeleteObjects takes at most {DELETE_BATCH} keys, not {len(keys)}")
        for key in keys:
            _check_key(bucket, key)
            if not xml.xml_safe(key):
                raise ValueError(f"XML cannot carry the key {key[:50]!r}: delete it alone")
        body = xml.build_delete_objects(list(keys), etags)
        md5 = base64.b64encode(hashlib.md5(body, usedforsecurity=False).digest()).decode()
        req = self._endpoint.request(
            "POST",
            bucket,
            query=[("delete", "")],
            headers={"content-md5": md5, "content-type": "application/xml"},
            body=body,
        )
        payload_hash = await self._prepare_body(req)
        # Deleting the same keys twice has the same result: safe to resend.
        resp = await self._call(req, bucket=bucket, payload_hash=payload_hash, error_in_200=True)
        return xml.parse_delete_result(resp.body)

    def presign_url(self, method: str, bucket: str, key: str, expires_in: int = 3600) -> str:
        """A presigned URL for ``method`` on ``bucket``/``key``, valid ``expires_in`` seconds.

        Needs credentials already at hand: static ones, or ones fetched by an
        earlier request or by ``await s3.get_credentials()``.
        """
        if not 1 <= expires_in <= 7 * 24 * 3600:
            raise ValueError("expires_in must be between 1 second and 7 days")
        _check_key(bucket, key)
        creds = self._last_credentials
        now = _utcnow() + self._skew
        if creds is None or (creds.expiration is not None and creds.expiration <= now):
            raise S3Error(
                "presign_url needs credentials at hand: pass static credentials, or "
                "call 'await client.get_credentials()' first",
                code="NoCredentials",
            )
        req = self._endpoint.request(method.upper(), bucket, key)
        return presign(req, creds, self.region, "s3", now, expires_in)

    async def get_credentials(self) -> Credentials:
        """The credentials requests are signed with now (resolved and cached)."""
        creds = await self._provider.get_credentials()
        self._last_credentials = creds
        return creds

    # -- multipart -------------------------------------------------------------

    async def create_multipart_upload(
        self,
        bucket: str,
        key: str,
        *,
        content_type: str | None = None,
        metadata: dict[str, str] | None = None,
        sse: str | None = None,
        sse_kms_key_id: str | None = None,
    ) -> str:
        """Start a multipart upload; returns its upload id."""
        _check_key(bucket, key)
        return await self._create_upload(
            bucket, key, _write_headers(content_type, metadata, sse, sse_kms_key_id)
        )

    async def _create_upload(self, bucket: str, key: str, headers: dict[str, str]) -> str:
        """CreateMultipartUpload with the object's headers already built."""
        req = self._endpoint.request("POST", bucket, key, query=[("uploads", "")], headers=headers)
        # Not idempotent: a second upload id would be left behind, so a request
        # that reached S3 is never sent again.
        resp = await self._call(req, bucket=bucket, key=key, idempotent=False)
        return xml.parse_initiate_multipart(resp.body)

    async def upload_part(
        self, bucket: str, key: str, upload_id: str, part_number: int, body: bytes | memoryview
    ) -> str:
        """Upload one part (1-10,000); returns its ETag."""
        _check_part_number(part_number)
        query = [("partNumber", str(part_number)), ("uploadId", upload_id)]
        req = self._endpoint.request("PUT", bucket, key, query=query, body=body)
        payload_hash = await self._prepare_body(req)
        resp = await self._call(req, bucket=bucket, key=key, payload_hash=payload_hash)
        etag = resp.headers.get("etag", "").strip()
        if not etag:  # the complete needs it: fail here, not there
            raise S3Error(
                f"UploadPart response for part {part_number} of s3://{bucket}/{key} has no ETag",
                code="MalformedResponse",
                bucket=bucket,
                key=key,
            )
        return etag

    async def upload_part_copy(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        part_number: int,
        src_bucket: str,
        src_key: str,
        *,
        range: Range | None = None,
        if_match: str | None = None,
    ) -> str:
        """Copy a byte range of another object in as one part; returns its ETag.

        ``range=(first, None)`` copies to the end: the source's size is asked for
        first, since S3 only takes ``bytes=first-last`` here."""
        _check_part_number(part_number)
        headers = {"x-amz-copy-source": _copy_source(src_bucket, src_key)}
        if range is not None:
            first, last = range
            _range_header(range)  # reject a bad range before any request
            if last is None:  # "bytes=N-" is refused by Ceph RGW (416), undocumented by AWS
                size = (await self.head_object(src_bucket, src_key, if_match=if_match)).size
                if first >= size:
                    raise ValueError(
                        f"range starts at byte {first}, past the end of "
                        f"s3://{src_bucket}/{src_key} ({size} bytes)"
                    )
                last = size - 1
            headers["x-amz-copy-source-range"] = _range_header((first, last))
        if if_match:
            headers["x-amz-copy-source-if-match"] = if_match
        query = [("partNumber", str(part_number)), ("uploadId", upload_id)]
        req = self._endpoint.request("PUT", bucket, key, query=query, headers=headers)
        resp = await self._call(req, bucket=bucket, key=key, error_in_200=True)
        return xml.parse_copy_result(resp.body, "UploadPartCopy")

    async def complete_multipart_upload(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        parts: Sequence[tuple[int, str]],
        *,
        if_match: str | None = None,
        if_none_match: str | None = None,
    ) -> PutResult:
        """Join the uploaded ``(part number, etag)`` parts into the object."""
        resp = await self._send_complete(
            bucket, key, upload_id, parts, _conditions(if_match, if_none_match)
        )
        return await self._completed(bucket, key, resp)

    async def _send_complete(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        parts: Sequence[tuple[int, str]],
        conditions: dict[str, str],
    ) -> Response:
        """CompleteMultipartUpload; once this returns, S3 has the object (never abort it)."""
        body = xml.build_complete_multipart(parts)
        req = self._endpoint.request(
            "POST",
            bucket,
            key,
            query=[("uploadId", upload_id)],
            headers={"content-type": "application/xml", **conditions},
            body=body,
        )
        payload_hash = await self._prepare_body(req)
        return await self._call(
            req,
            bucket=bucket,
            key=key,
            payload_hash=payload_hash,
            idempotent=False,
            error_in_200=True,
        )

    async def _completed(self, bucket: str, key: str, resp: Response) -> PutResult:
        """The result of an acknowledged CompleteMultipartUpload. The object is written
        whatever the body says: without an ETag in it (Ceph RGW 16 sends an empty one),
        the ETag comes from a HEAD, and if even that fails the result has none."""
        version_id = resp.headers.get("x-amz-version-id")
        try:
            etag = xml.parse_complete_multipart(resp.body)
        except S3Error:
            etag = ""
        if etag:
            return PutResult(etag, version_id)
        try:
            info = await self.head_object(bucket, key)
        except S3Error as exc:
            log.warning(
                "s3://%s/%s was written, but its ETag is unknown (HEAD failed: %s)",
                bucket,
                key,
                exc,
            )
            return PutResult("", version_id)
        return PutResult(info.etag, version_id, info.last_modified)

    async def abort_multipart_upload(self, bucket: str, key: str, upload_id: str) -> None:
        """Abort a multipart upload, freeing its parts."""
        req = self._endpoint.request("DELETE", bucket, key, query=[("uploadId", upload_id)])
        await self._call(req, bucket=bucket, key=key)

    async def list_multipart_uploads(
        self, bucket: str, prefix: str = "", *, page_size: int = 1000
    ) -> AsyncIterator[MultipartUpload]:
        """Every multipart upload in progress under ``prefix``, in key order (and,
        per key, in the order they were started), page after page."""
        if not 1 <= page_size <= 1000:
            raise ValueError("page_size must be between 1 and 1000")
        marker: tuple[str, str] | None = None
        while True:
            # No encoding-type=url: Ceph RGW 16 then encodes the keys without saying so,
            # and moto never encodes them; the raw keys read the same everywhere.
            query = [("uploads", ""), ("max-uploads", str(page_size))]
            if prefix:
                query.append(("prefix", prefix))
            if marker is not None:
                query.append(("key-marker", marker[0]))
                if marker[1]:
                    query.append(("upload-id-marker", marker[1]))
            resp = await self._call(
                self._endpoint.request("GET", bucket, query=query), bucket=bucket
            )
            uploads, marker = xml.parse_list_multipart_uploads(resp.body)
            for upload in uploads:
                yield upload
            if marker is None:
                return

    async def list_parts(self, bucket: str, key: str, upload_id: str) -> list[Part]:
        """The parts uploaded so far to a multipart upload, by part number
        (every page); :class:`NoSuchUpload` if there is no such upload."""
        _check_key(bucket, key)
        parts: list[Part] = []
        marker: int | None = None
        while True:
            query = [("uploadId", upload_id)]
            if marker is not None:
                query.append(("part-number-marker", str(marker)))
            try:
                resp = await self._call(
                    self._endpoint.request("GET", bucket, key, query=query), bucket=bucket, key=key
                )
            except NoSuchKey as exc:  # Ceph RGW 16's answer for an upload that is not there
                raise NoSuchUpload(
                    exc.message or f"no multipart upload {upload_id} of this key",
                    code="NoSuchUpload",
                    status=exc.status,
                    request_id=exc.request_id,
                    bucket=bucket,
                    key=key,
                    headers=exc.headers,
                ) from None
            page, marker = xml.parse_list_parts(resp.body)
            parts.extend(page)
            if marker is None:
                return parts

    # -- buckets ---------------------------------------------------------------

    async def list_buckets(self) -> list[Bucket]:
        """Every bucket these credentials own."""
        resp = await self._call(self._endpoint.request("GET"))
        return xml.parse_list_buckets(resp.body)

    async def create_bucket(self, bucket: str) -> None:
        """Create a bucket in the client's region."""
        body = b""
        if self.region != "us-east-1":
            body = (
                '<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
                f"<LocationConstraint>{self.region}</LocationConstraint></CreateBucketConfiguration>"
            ).encode()
        req = self._endpoint.request("PUT", bucket, body=body)
        payload_hash = await self._prepare_body(req)
        await self._call(req, bucket=bucket, payload_hash=payload_hash)

    async def delete_bucket(self, bucket: str) -> None:
        """Delete an (empty) bucket."""
        await self._call(self._endpoint.request("DELETE", bucket), bucket=bucket)

    async def head_bucket(self, bucket: str) -> None:
        """Check that a bucket exists and is reachable; raises NoSuchBucket or AccessDenied."""
        await self._call(self._endpoint.request("HEAD", bucket), bucket=bucket)

    # -- internals -------------------------------------------------------------

    async def _call(
        self,
        request: Request,
        *,
        bucket: str | None = None,
        key: str | None = None,
        payload_hash: str = EMPTY_SHA256,
        idempotent: bool = True,
        error_in_200: bool = False,
        sink: BodySink | None = None,
        on_head: Callable[[dict[str, str]], object] | None = None,
    ) -> Response:
        """Send ``request``, signing every attempt afresh, retrying what is safe to retry."""
        config = self._retry
        started = time.monotonic()
        headers = request.headers
        attempt = 0
        renewed = False  # credentials fetched anew after an ExpiredToken
        while True:
            attempt += 1
            request.headers = dict(headers)
            creds = await self.get_credentials()
            sign(request, creds, self.region, "s3", _utcnow() + self._skew, payload_hash)
            response: Response | None = None
            try:
                response = await self._transport.send(request, sink=sink, on_head=on_head)
            except TransportError as exc:
                error: S3Error = exc
                exc.bucket, exc.key = bucket, key
            else:
                if response.status < 300 and not (
                    error_in_200 and xml.is_error_body(response.body)
                ):
                    return response
                error = error_from_response(response, bucket, key)
            if attempt >= config.max_attempts:
                raise error
            if sink is not None and isinstance(error, TransportError):
                raise error  # part of the body may be in the sink: the caller resumes
            if error.code in EXPIRED_CREDENTIALS_CODES:
                invalidate = getattr(self._provider, "invalidate", None)
                if renewed or not callable(invalidate):
                    raise error
                log.info("S3 says the credentials expired (%s): fetching new ones", error.code)
                invalidate()
                renewed = True
                continue
            if error.code in SKEW_CODES and response is not None:
                skew = clock_skew(response.headers.get("date"))
                if skew is None or abs(skew - self._skew) < timedelta(seconds=5):
                    raise error  # not a clock problem we can fix
                log.warning(
                    "correcting for a clock skew of %.0f s against %s",
                    skew.total_seconds(),
                    request.host,
                )
                self._skew = skew
            elif not is_retryable(error, idempotent=idempotent):
                raise error
            delay = backoff_delay(attempt, config)
            if time.monotonic() - started + delay > config.deadline:
                raise error
            log.debug(
                "retrying %s %s after %s (attempt %d)",
                request.method,
                request.path,
                error.code,
                attempt,
            )
            await asyncio.sleep(delay)

    async def _prepare_body(self, request: Request, *, crc32: bool = False) -> str:
        """Checksum ``request.body`` for signing; returns the payload hash to sign.

        ``crc32``: the operation takes an ``x-amz-checksum-crc32`` header, and it is sent
        when ``request_checksum_calculation`` is ``when_supported``; over TLS such a body
        then goes as UNSIGNED-PAYLOAD (TLS protects it in flight, S3 checks the CRC32,
        many times cheaper than SHA-256). Otherwise the payload's SHA-256 is signed,
        which every S3 server checks."""
        body = request.body
        if not body:
            return EMPTY_SHA256
        if crc32 and self._request_checksums == "when_supported":
            request.headers["x-amz-checksum-crc32"] = await _off_loop(crc32_header, body)
            if request.scheme == "https" and len(body) >= _UNSIGNED_OVER_TLS:
                return UNSIGNED_PAYLOAD
        if len(body) >= _HASH_IN_THREAD:
            return await _off_loop(_sha256_hex, body)
        return hashlib.sha256(body).hexdigest()

    async def _put_single(
        self, bucket: str, key: str, body: bytes | memoryview, headers: dict[str, str]
    ) -> PutResult:
        if_match = headers.get("if-match", "")
        bare = if_match[1:-1]
        quoted = len(if_match) > 2 and if_match[0] == if_match[-1] == '"' and '"' not in bare
        if quoted and self._bare_if_match:
            return await self._put_once(bucket, key, body, {**headers, "if-match": bare})
        try:
            return await self._put_once(bucket, key, body, headers)
        except PreconditionFailed:
            if not quoted:
                raise
            # Ceph RGW 16 (and DigitalOcean Spaces) compare a PUT's If-Match with the bare
            # ETag, so the quoted one HEAD gave fails even when it matches. Still conditional.
            log.debug("PUT s3://%s/%s: 412 on a quoted If-Match; trying it bare", bucket, key)
            result = await self._put_once(bucket, key, body, {**headers, "if-match": bare})
            self._bare_if_match = True  # from now on, bare first (one PUT, not two)
            return result

    async def _put_once(
        self, bucket: str, key: str, body: bytes | memoryview, headers: dict[str, str]
    ) -> PutResult:
        req = self._endpoint.request("PUT", bucket, key, headers=headers, body=body)
        payload_hash = await self._prepare_body(req, crc32=True)
        resp = await self._call(req, bucket=bucket, key=key, payload_hash=payload_hash)
        return PutResult(
            resp.headers.get("etag", ""),
            resp.headers.get("x-amz-version-id"),
            http_date(resp.headers.get("last-modified")),
        )


# -- helpers -------------------------------------------------------------------


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _sha256_hex(data: bytes | memoryview) -> str:
    return hashlib.sha256(data).hexdigest()


async def _off_loop(fn: Callable[[bytes | memoryview], _T], data: bytes | memoryview) -> _T:
    if len(data) < _HASH_IN_THREAD:
        return fn(data)
    return await asyncio.get_running_loop().run_in_executor(None, fn, data)


def _ssl_context(verify: bool | str) -> ssl.SSLContext:
    if verify is False:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        return ctx
    if isinstance(verify, str):
        return ssl.create_default_context(cafile=verify)
    return ssl.create_default_context()


def _check_key(bucket: str, key: str) -> None:
    if not bucket:
        raise ValueError("bucket name must not be empty")
    if not key:
        raise ValueError("object key must not be empty")
    if len(key.encode("utf-8", "surrogatepass")) > 1024:
        raise ValueError(f"object key is longer than S3's 1,024 bytes: {key[:50]!r}...")


def _check_part_number(number: int) -> None:
    if not 1 <= number <= MAX_PARTS:
        raise ValueError(f"part_number must be between 1 and {MAX_PARTS}, not {number}")


def _range_header(range: Range) -> str:
    first, last = range
    if first < 0 or (last is not None and last < first):
        raise ValueError(f"range must be (first, last) with 0 <= first <= last, not {range!r}")
    return f"bytes={first}-{'' if last is None else last}"


def _conditions(if_match: str | None, if_none_match: str | None) -> dict[str, str]:
    headers = {}
    if if_match:
        headers["if-match"] = if_match
    if if_none_match:
        headers["if-none-match"] = if_none_match
    return headers


def _write_headers(
    content_type: str | None,
    metadata: dict[str, str] | None,
    sse: str | None,
    sse_kms_key_id: str | None,
) -> dict[str, str]:
    headers: dict[str, str] = {}
    if content_type:
        headers["content-type"] = content_type
    for name, value in (metadata or {}).items():
        if (
            not name
            or not (name + value).isascii()
            or not name.replace("-", "").replace("_", "").isalnum()
        ):
            raise ValueError(
                "metadata names must be ASCII letters, digits, '-' or '_', and values ASCII: "
                f"{name!r}"
            )
        headers[f"x-amz-meta-{name.lower()}"] = value
    if sse:
        if sse not in ("AES256", "aws:kms", "aws:kms:dsse"):
            raise ValueError(f"sse must be 'AES256' or 'aws:kms', not {sse!r}")
        headers["x-amz-server-side-encryption"] = sse
    if sse_kms_key_id:
        headers["x-amz-server-side-encryption-aws-kms-key-id"] = sse_kms_key_id
    return headers


def _copy_source(bucket: str, key: str) -> str:
    return f"/{uri_encode(bucket)}/{uri_encode(key, safe='/')}"


def _too_large_to_copy(exc: S3Error) -> bool:
    return exc.code in ("InvalidRequest", "EntityTooLarge") and "size" in exc.message.lower()


def _s3_object(key: str, resp: Response) -> S3Object:
    info = object_info(key, resp.headers, body=resp.body)
    assert isinstance(info, S3Object)
    return info
