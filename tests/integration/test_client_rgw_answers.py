"""What Ceph RGW 16 answers where AWS answers otherwise, replayed by a loopback server.

Each answer here is what ``radosgw`` 16.2 (Debian's package) sent to s3lite; the same
operations run against the real server in the RGW suite (``S3_TEST_SERVER=rgw``). Here
they run in the default suite too, so the client's handling of them never regresses.
"""

from __future__ import annotations

from email.utils import parsedate_to_datetime

import pytest

from s3lite import NoSuchUpload, PreconditionFailed, S3Error
from tests.integration.test_client_faults import (
    BUCKET,
    DECL,
    ETAG,
    KEY,
    LAST_MODIFIED,
    NS,
    MiB,
    Peer,
    ReceivedRequest,
    error_response,
    http_response,
    object_response,
    query_of,
    scripted,
    verify_signature,
)

UPLOAD_ID = "2~rgw-upload-id"
JOINED = '"c0ffee0123456789abcdef0123456789-2"'


def rgw_complete_result(etag: str = "") -> bytes:
    """RGW 16's CompleteMultipartUpload answer: 200 with an empty ``<ETag>``."""
    return (
        DECL
        + f'<CompleteMultipartUploadResult xmlns="{NS}">'
        f"<Location>http://127.0.0.1/{BUCKET}/k</Location><Bucket>{BUCKET}</Bucket>"
        f"<Key>{KEY}</Key><ETag>{etag}</ETag></CompleteMultipartUploadResult>".encode()
    )


def initiate_result() -> bytes:
    return (
        DECL
        + f'<InitiateMultipartUploadResult xmlns="{NS}"><Bucket>{BUCKET}</Bucket>'
        f"<Key>k</Key><UploadId>{UPLOAD_ID}</UploadId></InitiateMultipartUploadResult>".encode()
    )


def multipart_server(*, head: bytes | None = None, part_etag: str | None = '"p"'):  # type: ignore[no-untyped-def]
    """A multipart upload as RGW 16 answers it; HEAD answers ``head`` (default: the
    joined object)."""

    async def script(peer: Peer, req: ReceivedRequest, n: int) -> bool:
        verify_signature(req)
        q = query_of(req)
        if req.method == "POST" and "uploads" in q:
            await peer.send(http_response(200, initiate_result()))
        elif req.method == "PUT":
            headers = {} if part_etag is None else {"ETag": part_etag}
            await peer.send(http_response(200, headers=headers))
        elif req.method == "POST":
            await peer.send(http_response(200, rgw_complete_result()))
        elif req.method == "HEAD":
            await peer.send(head or object_response(b"", etag=JOINED))
        elif req.method == "DELETE":  # abort: the tests below assert it never comes
            await peer.send(error_response(404, "NoSuchUpload"))
        return True

    return script


def methods(server) -> list[tuple[str, tuple[str, ...]]]:  # type: ignore[no-untyped-def]
    return [(r.method, tuple(sorted(query_of(r)))) for r in server.requests]


# -- CompleteMultipartUpload: 200 with <ETag></ETag> ---------------------------------------


async def test_complete_with_an_empty_etag_is_a_success_with_the_etag_from_a_head() -> None:
    async with scripted(multipart_server()) as (server, s3):
        result = await s3.complete_multipart_upload(BUCKET, KEY, UPLOAD_ID, [(1, '"p"')])
    assert result.etag == JOINED
    assert result.last_modified == parsedate_to_datetime(LAST_MODIFIED)
    assert methods(server) == [("POST", ("uploadId",)), ("HEAD", ())]


async def test_multipart_put_answered_like_rgw_succeeds_and_is_never_aborted() -> None:
    body = b"x" * (6 * MiB)
    async with scripted(
        multipart_server(), multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB
    ) as (server, s3):
        result = await s3.put_object(BUCKET, KEY, body)
    assert result.etag == JOINED
    sent = methods(server)
    assert sent[-2:] == [("POST", ("uploadId",)), ("HEAD", ())]
    assert ("DELETE", ("uploadId",)) not in sent


async def test_an_acknowledged_complete_is_a_success_even_if_the_head_fails() -> None:
    head = error_response(403, "AccessDenied", "Access Denied")
    async with scripted(
        multipart_server(head=head), multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB
    ) as (server, s3):
        result = await s3.put_object(BUCKET, KEY, b"x" * (6 * MiB))
    assert result.etag == ""  # written, ETag unknown: never reported as a failure
    assert ("DELETE", ("uploadId",)) not in methods(server)


async def test_a_part_answered_without_an_etag_fails_the_upload_there_and_aborts_it() -> None:
    async with scripted(
        multipart_server(part_etag=None), multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB
    ) as (server, s3):
        with pytest.raises(S3Error) as info:
            await s3.put_object(BUCKET, KEY, b"x" * (6 * MiB))
    assert info.value.code == "MalformedResponse"
    assert "UploadPart" in str(info.value)
    sent = methods(server)
    assert ("POST", ("uploadId",)) not in sent  # never completed with an empty ETag
    assert sent[-1] == ("DELETE", ("uploadId",))


@pytest.mark.parametrize(
    ("call", "operation"), [("copy_object", "CopyObject"), ("upload_part_copy", "UploadPartCopy")]
)
async def test_a_copy_answer_without_an_etag_names_its_operation(call: str, operation: str) -> None:
    root = "CopyObjectResult" if call == "copy_object" else "CopyPartResult"
    answer = (
        DECL
        + f"<{root}><LastModified>2024-01-01T00:00:00.000Z</LastModified>"
        f"<ETag></ETag></{root}>".encode()
    )

    async def script(peer: Peer, req: ReceivedRequest, n: int) -> bool:
        await peer.send(http_response(200, answer))
        return True

    async with scripted(script) as (_, s3):
        with pytest.raises(S3Error) as info:
            if call == "copy_object":
                await s3.copy_object("src", "k", BUCKET, KEY)
            else:
                await s3.upload_part_copy(BUCKET, KEY, UPLOAD_ID, 1, "src", "k", range=(0, 9))
    assert info.value.code == "MalformedResponse"
    assert f"{operation} response has no <ETag>" in str(info.value)


# -- UploadPartCopy ranges: both ends, always ------------------------------------------------


async def test_upload_part_copy_to_the_end_sends_both_ends_of_the_range() -> None:
    size = 1000
    ranges: list[str] = []

    async def script(peer: Peer, req: ReceivedRequest, n: int) -> bool:
        verify_signature(req)
        if req.method == "HEAD":
            assert req.target == "/src/k"
            assert req.headers.get("if-match") == ETAG
            head = [("ETag", ETAG), ("Last-Modified", LAST_MODIFIED), ("Content-Length", str(size))]
            await peer.send(http_response(200, headers=head, content_length=False))
            return True
        rng = req.headers["x-amz-copy-source-range"]
        ranges.append(rng)
        if not rng.rpartition("-")[2]:  # "bytes=N-": what RGW refuses
            await peer.send(error_response(416, "InvalidRange"))
            return True
        copy = f"<CopyPartResult><ETag>{ETAG}</ETag></CopyPartResult>".encode()
        await peer.send(http_response(200, DECL + copy))
        return True

    async with scripted(script) as (_, s3):
        etag = await s3.upload_part_copy(
            BUCKET, KEY, UPLOAD_ID, 2, "src", "k", range=(100, None), if_match=ETAG
        )
        with pytest.raises(ValueError, match="past the end"):
            await s3.upload_part_copy(
                BUCKET, KEY, UPLOAD_ID, 3, "src", "k", range=(size, None), if_match=ETAG
            )
    assert etag == ETAG
    assert ranges == ["bytes=100-999"]


# -- PUT If-Match: RGW compares it with the bare ETag ----------------------------------------


def rgw_conditional_put(current: str):  # type: ignore[no-untyped-def]
    """A PUT answered as RGW 16 does: If-Match compared, as a string, with the bare ETag."""

    async def script(peer: Peer, req: ReceivedRequest, n: int) -> bool:
        verify_signature(req)
        if req.headers.get("if-match") != current.strip('"'):
            await peer.send(error_response(412, "PreconditionFailed"))
        else:
            await peer.send(http_response(200, headers={"ETag": '"new"'}))
        return True

    return script


async def test_put_if_match_with_the_quoted_etag_head_gave_works_on_rgw() -> None:
    async with scripted(rgw_conditional_put(ETAG)) as (server, s3):
        result = await s3.put_object(BUCKET, KEY, b"v2", if_match=ETAG)
    assert result.etag == '"new"'
    assert [r.headers["if-match"] for r in server.requests] == [ETAG, ETAG.strip('"')]
    assert server.requests[0].body == server.requests[1].body == b"v2"


async def test_put_if_match_is_sent_bare_first_once_the_server_showed_it_wants_it() -> None:
    async with scripted(rgw_conditional_put(ETAG)) as (server, s3):
        await s3.put_object(BUCKET, KEY, b"v2", if_match=ETAG)
        await s3.put_object(BUCKET, KEY, b"v3", if_match=ETAG)
        with pytest.raises(PreconditionFailed):
            await s3.put_object(BUCKET, KEY, b"v4", if_match='"someone-elses"')
    assert [r.headers["if-match"] for r in server.requests] == [
        ETAG,
        ETAG.strip('"'),
        ETAG.strip('"'),
        "someone-elses",
    ]


async def test_put_if_match_with_another_etag_still_fails() -> None:
    async with scripted(rgw_conditional_put(ETAG)) as (server, s3):
        with pytest.raises(PreconditionFailed):
            await s3.put_object(BUCKET, KEY, b"v2", if_match='"someone-elses"')
        with pytest.raises(PreconditionFailed):
            await s3.put_object(BUCKET, KEY, b"v2", if_match="someone-elses")
    # quoted, then bare; a bare one is not tried again
    assert [r.headers["if-match"] for r in server.requests] == [
        '"someone-elses"',
        "someone-elses",
        "someone-elses",
    ]


# -- ListParts and ListMultipartUploads --------------------------------------------------------


async def test_list_parts_of_an_upload_that_is_gone_is_no_such_upload() -> None:
    async def script(peer: Peer, req: ReceivedRequest, n: int) -> bool:
        # RGW 16's answer to ListParts of a completed or unknown upload
        body = (
            DECL + b"<Error><Code>NoSuchKey</Code><Message></Message><BucketName>bkt"
            b"</BucketName><RequestId>tx-1</RequestId><HostId>h</HostId></Error>"
        )
        await peer.send(http_response(404, body, {"Content-Type": "application/xml"}))
        return True

    async with scripted(script) as (_, s3):
        with pytest.raises(NoSuchUpload) as info:
            await s3.list_parts(BUCKET, KEY, UPLOAD_ID)
    assert (info.value.status, info.value.request_id) == (404, "tx-1")
    assert UPLOAD_ID in str(info.value)


async def test_list_multipart_uploads_reads_keys_as_rgw_sends_them() -> None:
    # Asked for encoding-type=url, RGW 16 encodes keys without an <EncodingType>; asked
    # for nothing, it sends them raw, like every server.
    async def script(peer: Peer, req: ReceivedRequest, n: int) -> bool:
        encoded = query_of(req).get("encoding-type") == "url"
        key = "a%20b%2Bc/%C3%A9.bin" if encoded else "a b+c/é.bin"
        body = (
            DECL
            + f'<ListMultipartUploadsResult xmlns="{NS}"><Bucket>{BUCKET}</Bucket>'
            "<NextKeyMarker>a b+c/é.bin</NextKeyMarker><NextUploadIdMarker>2~u</NextUploadIdMarker>"
            f"<MaxUploads>1000</MaxUploads><IsTruncated>false</IsTruncated><Upload><Key>{key}</Key>"
            "<UploadId>2~u</UploadId><StorageClass>STANDARD</StorageClass>"
            "<Initiated>2026-12-02T07:35:32.693Z</Initiated></Upload>"
            "</ListMultipartUploadsResult>".encode()
        )
        await peer.send(http_response(200, body))
        return True

    async with scripted(script) as (_, s3):
        uploads = [u async for u in s3.list_multipart_uploads(BUCKET)]
    assert [(u.key, u.upload_id) for u in uploads] == [("a b+c/é.bin", "2~u")]
