"""s3lite.S3Client against a real moto S3 server, cross-checked with boto3."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import os
import tracemalloc
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

import s3lite.transfer
from s3lite import (
    CommonPrefix,
    Credentials,
    NoSuchBucket,
    NoSuchKey,
    NoSuchUpload,
    NotModified,
    ObjectSummary,
    PreconditionFailed,
    S3Client,
    S3Error,
)
from tests.motoserver import REGION, MotoServer

MiB = 1024 * 1024

AWKWARD_KEYS = [
    "plain.txt",
    "with space/and more spaces.txt",
    "plus+sign+.txt",
    "percent%20literal%2F.txt",
    "hash#fragment",
    "question?mark=1&amp=2",
    "tilde~and-under_score",
    "double//slash",
    "trailing/",
    "/leading-slash",
    "./dot/../dotdot",
    "unicode-ünïcødé/ファイル.txt",
    "emoji-😀🚀.txt",
    "punct *():;,@$!'\"\\",
    "a" * 1024,  # the longest key S3 allows
    "ä" * 512,  # 1,024 UTF-8 bytes
]


def client_for(server: MotoServer, **kwargs: object) -> S3Client:
    creds = Credentials(server.access_key_id, server.secret_access_key)
    return S3Client(REGION, server.endpoint_url, creds, **kwargs)  # type: ignore[arg-type]


async def put_empty(s3: S3Client, bucket: str, keys: list[str]) -> None:
    """Write many empty objects, 16 at a time."""
    slots = asyncio.Semaphore(16)

    async def put(key: str) -> None:
        async with slots:
            await s3.put_object(bucket, key, b"")

    await asyncio.gather(*(put(k) for k in keys))


@pytest.mark.parametrize("key", AWKWARD_KEYS, ids=lambda k: k[:30])
async def test_awkward_keys_round_trip_and_cross_check_with_boto3(
    moto: MotoServer, bucket: str, key: str
) -> None:
    boto = moto.boto3_client()
    body = key.encode() + b"\x00\xff binary"
    async with client_for(moto) as s3:
        await s3.put_object(bucket, key, body)
        # what s3lite wrote, boto3 reads
        assert boto.get_object(Bucket=bucket, Key=key)["Body"].read() == body
        # what boto3 wrote (same key, another bucket), s3lite reads, heads and lists
        other = bucket + "-boto3"
        boto.create_bucket(Bucket=other)
        boto.put_object(Bucket=other, Key=key, Body=b"from boto3")
        assert (await s3.get_object(other, key)).body == b"from boto3"
        assert (await s3.head_object(bucket, key)).size == len(body)
        for name in (bucket, other):
            listed = [e async for e in s3.list_objects(name)]
            assert [e.key for e in listed if isinstance(e, ObjectSummary)] == [key]
        await s3.delete_object(bucket, key)
        with pytest.raises(NoSuchKey):
            await s3.head_object(bucket, key)


async def test_listing_pages_prefixes_and_start_after(moto: MotoServer, bucket: str) -> None:
    async with client_for(moto, max_connections=16) as s3:
        keys = [f"dir/file-{i:04d}" for i in range(1100)]  # more than one default page
        await put_empty(s3, bucket, keys)
        await s3.put_object(bucket, "dir/sub/x", b"x")
        await s3.put_object(bucket, "top", b"t")

        everything = [e async for e in s3.list_objects(bucket, prefix="dir/")]
        assert [e.key for e in everything if isinstance(e, ObjectSummary)] == sorted(
            [*keys, "dir/sub/x"]
        )
        delimited = [e async for e in s3.list_objects(bucket, "dir/", "/", page_size=300)]
        assert sum(isinstance(e, ObjectSummary) for e in delimited) == 1100
        assert [e for e in delimited if isinstance(e, CommonPrefix)] == [CommonPrefix("dir/sub/")]
        root = [e async for e in s3.list_objects(bucket, delimiter="/")]
        assert root[0] == CommonPrefix("dir/")
        assert isinstance(root[1], ObjectSummary) and root[1].key == "top"
        after = [e.key async for e in s3.list_objects(bucket, "dir/", start_after="dir/file-1097")]  # type: ignore[union-attr]
        assert after == ["dir/file-1098", "dir/file-1099", "dir/sub/x"]


async def test_get_range_stream_and_download(moto: MotoServer, bucket: str, tmp_path: Path) -> None:
    data = os.urandom(3 * MiB + 17)
    async with client_for(moto) as s3:
        await s3.put_object(bucket, "blob", data, content_type="application/x-test")
        part = await s3.get_object(bucket, "blob", range=(10, 19))
        assert part.body == data[10:20]
        assert part.size == len(data)  # the whole object's size, from Content-Range
        tail = await s3.get_object(bucket, "blob", range=(len(data) - 5, None))
        assert tail.body == data[-5:]

        chunks: list[bytes] = []
        streamed = await s3.get_object(bucket, "blob", sink=chunks.append)
        assert streamed.body == b"" and b"".join(chunks) == data and len(chunks) > 1

        got: list[bytes] = []

        async def async_sink(chunk: bytes) -> None:
            await asyncio.sleep(0)
            got.append(chunk)

        await s3.get_object(bucket, "blob", sink=async_sink)
        assert b"".join(got) == data

        target = tmp_path / "out.bin"
        sizes: list[int] = []
        info = await s3.download_file(bucket, "blob", target, progress=sizes.append)
        assert target.read_bytes() == data and sum(sizes) == len(data)
        umask = os.umask(0)
        os.umask(umask)
        assert target.stat().st_mode & 0o777 == 0o666 & ~umask  # not mkstemp's 0600
        assert info.content_type == "application/x-test"
        assert [p.name for p in tmp_path.iterdir()] == ["out.bin"]  # no temporary left


async def test_metadata_and_content_type(moto: MotoServer, bucket: str) -> None:
    async with client_for(moto) as s3:
        await s3.put_object(
            bucket,
            "m",
            "text ✓",
            content_type="text/plain; charset=utf-8",
            metadata={"Owner": "me"},
        )
        obj = await s3.get_object(bucket, "m")
        assert obj.body == "text ✓".encode()
        assert obj.content_type == "text/plain; charset=utf-8"
        assert obj.metadata == {"owner": "me"}
        assert obj.last_modified.tzinfo is not None
        head = moto.boto3_client().head_object(Bucket=bucket, Key="m")
        assert head["Metadata"] == {"owner": "me"}
        with pytest.raises(ValueError, match="ASCII"):
            await s3.put_object(bucket, "m", b"", metadata={"x": "ünï"})


async def test_multipart_from_bytes_file_and_stream(moto: MotoServer, bucket: str) -> None:
    data = os.urandom(17 * MiB + 3)
    boto = moto.boto3_client()
    async with client_for(
        moto, multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB, max_concurrency=3
    ) as s3:
        r1 = await s3.put_object(bucket, "from-bytes", data, metadata={"k": "v"})
        assert r1.etag.endswith('-4"')  # four parts: 5+5+5+2 MiB

        await s3.put_object(bucket, "from-file", io.BytesIO(data), content_type="x/y")

        class ReadOnly:  # a file-like object with read() but no readinto()
            def __init__(self) -> None:
                self._f = io.BytesIO(data)

            def read(self, n: int = -1) -> bytes:
                return self._f.read(min(n, 1_000_000))  # short reads, as a pipe gives

        await s3.put_object(bucket, "from-reader", ReadOnly())  # type: ignore[arg-type]

        async def stream() -> AsyncIterator[bytes]:
            for i in range(0, len(data), 300_000):  # chunks that do not line up with parts
                yield data[i : i + 300_000]

        await s3.put_object(bucket, "from-stream", stream())
        small = io.BytesIO(b"tiny")
        r4 = await s3.put_object(bucket, "small-file", small)
        assert "-" not in r4.etag  # under the threshold: a plain PUT

    for key in ("from-bytes", "from-file", "from-reader", "from-stream"):
        got = boto.get_object(Bucket=bucket, Key=key)
        assert hashlib.sha256(got["Body"].read()).digest() == hashlib.sha256(data).digest()
    assert boto.head_object(Bucket=bucket, Key="from-bytes")["Metadata"] == {"k": "v"}
    assert boto.head_object(Bucket=bucket, Key="from-file")["ContentType"] == "x/y"
    assert boto.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


async def test_failed_multipart_upload_is_aborted(moto: MotoServer, bucket: str) -> None:
    boto = moto.boto3_client()

    async def failing_stream() -> AsyncIterator[bytes]:
        for _ in range(3):
            yield b"x" * (5 * MiB)
        raise OSError("the source broke")

    async with client_for(moto, multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB) as s3:
        with pytest.raises(OSError, match="the source broke"):
            await s3.put_object(bucket, "never", failing_stream())
    assert boto.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    assert "Contents" not in boto.list_objects_v2(Bucket=bucket)


async def test_streamed_upload_holds_few_parts_in_memory(moto: MotoServer, bucket: str) -> None:
    part = 5 * MiB
    total_parts = 12

    async def stream() -> AsyncIterator[bytes]:
        block = b"z" * MiB
        for _ in range(total_parts * 5):
            yield block

    async with client_for(
        moto, multipart_threshold=part, multipart_chunksize=part, max_concurrency=2
    ) as s3:
        tracemalloc.start()
        try:
            await s3.put_object(bucket, "streamed", stream())
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    # 60 MiB went up; at most (concurrency + read-ahead) parts were ever held.
    assert peak < 5 * part, f"peak {peak / MiB:.1f} MiB"
    size = moto.boto3_client().head_object(Bucket=bucket, Key="streamed")["ContentLength"]
    assert size == total_parts * part


async def test_copy_is_server_side_and_can_replace_metadata(moto: MotoServer, bucket: str) -> None:
    async with client_for(moto) as s3:
        await s3.put_object(bucket, "src", b"payload", content_type="a/b", metadata={"m": "1"})
        await s3.copy_object(bucket, "src", bucket, "same")
        same = await s3.head_object(bucket, "same")
        assert (same.content_type, same.metadata) == ("a/b", {"m": "1"})
        await s3.copy_object(bucket, "src", bucket, "new", metadata={"m": "2"}, content_type="c/d")
        new = await s3.get_object(bucket, "new")
        assert (new.body, new.content_type, new.metadata) == (b"payload", "c/d", {"m": "2"})
        with pytest.raises(NoSuchKey):
            await s3.copy_object(bucket, "missing", bucket, "x")


async def test_copy_above_5_gib_uses_upload_part_copy(
    moto: MotoServer, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Moto cannot hold 5 GiB here: announce the size, and shrink the copy part so
    # that a 12 MiB object takes the same multi-part path a 6 GiB one would.
    monkeypatch.setattr(s3lite.transfer, "COPY_PART_SIZE", 5 * MiB)
    data = os.urandom(12 * MiB)
    async with client_for(moto) as s3:
        await s3.put_object(bucket, "huge", data, content_type="big/thing", metadata={"a": "b"})
        result = await s3.copy_object(bucket, "huge", bucket, "huge-copy", size=6 * 1024**3)
        assert result.etag.endswith('-3"')  # 5 + 5 + 2 MiB, copied part by part
        copy = await s3.get_object(bucket, "huge-copy")
    assert copy.body == data
    assert (copy.content_type, copy.metadata) == ("big/thing", {"a": "b"})


async def test_delete_batch_is_one_delete_objects_request(moto: MotoServer, bucket: str) -> None:
    async with client_for(moto) as s3:
        await put_empty(s3, bucket, ["b/1", "b/2", "keep"])
        assert await s3.delete_batch(bucket, ["b/1", "b/2", "never-existed"]) == []
        assert [e.key async for e in s3.list_objects(bucket)] == ["keep"]  # type: ignore[union-attr]
        with pytest.raises(ValueError, match="at most 1000 keys"):
            await s3.delete_batch(bucket, [f"k{i}" for i in range(1001)])
        with pytest.raises(ValueError, match="XML cannot carry"):
            await s3.delete_batch(bucket, ["bad\x01key"])


async def test_delete_objects_batches_and_reports(moto: MotoServer, bucket: str) -> None:
    keys = [f"d/{i}" for i in range(1001)]  # two batches
    async with client_for(moto, max_connections=16) as s3:
        await put_empty(s3, bucket, keys)
        failed = await s3.delete_objects(bucket, [*keys, "never-existed", "white space & <xml>"])
        assert failed == []
        assert [e async for e in s3.list_objects(bucket)] == []
        await s3.delete_object(bucket, "never-existed")  # no error, as in S3


async def test_list_multipart_uploads_and_parts(moto: MotoServer, bucket: str) -> None:
    """Another process can pick an upload up from what S3 says of it."""
    async with client_for(moto) as s3:
        ids = [await s3.create_multipart_upload(bucket, f"up/k {i}+.bin") for i in range(5)]
        other = await s3.create_multipart_upload(bucket, "elsewhere.bin")
        etag1 = await s3.upload_part(bucket, "up/k 0+.bin", ids[0], 1, b"a" * (5 * MiB))
        etag2 = await s3.upload_part(bucket, "up/k 0+.bin", ids[0], 2, b"tail")
        # pages of 2: every upload under the prefix, in key order, none from elsewhere
        listed = [u async for u in s3.list_multipart_uploads(bucket, "up/", page_size=2)]
        assert [(u.key, u.upload_id) for u in listed] == [
            (f"up/k {i}+.bin", ids[i]) for i in range(5)
        ]
        assert all(u.initiated.tzinfo is not None for u in listed)
        everything = [u.upload_id async for u in s3.list_multipart_uploads(bucket)]
        assert sorted(everything) == sorted([*ids, other])

        parts = await s3.list_parts(bucket, "up/k 0+.bin", ids[0])
        assert [(p.number, p.etag, p.size) for p in parts] == [
            (1, etag1, 5 * MiB),
            (2, etag2, 4),
        ]
        assert await s3.list_parts(bucket, "up/k 1+.bin", ids[1]) == []
        await s3.complete_multipart_upload(
            bucket, "up/k 0+.bin", ids[0], [(p.number, p.etag) for p in parts]
        )
        assert (await s3.get_object(bucket, "up/k 0+.bin")).size == 5 * MiB + 4
        with pytest.raises(NoSuchUpload):
            await s3.list_parts(bucket, "up/k 0+.bin", ids[0])
        for i, upload_id in enumerate(ids[1:], start=1):
            await s3.abort_multipart_upload(bucket, f"up/k {i}+.bin", upload_id)
        await s3.abort_multipart_upload(bucket, "elsewhere.bin", other)
        assert [u async for u in s3.list_multipart_uploads(bucket)] == []


async def test_conditional_requests(moto: MotoServer, bucket: str) -> None:
    async with client_for(moto) as s3:
        put = await s3.put_object(bucket, "c", b"v1")
        assert (await s3.get_object(bucket, "c", if_match=put.etag)).body == b"v1"
        # some servers (moto) tell the new time with the PUT; AWS does not
        head = await s3.head_object(bucket, "c")
        assert put.last_modified in (None, head.last_modified)
        put = await s3.put_object(bucket, "c", b"v1", if_match=put.etag)
        with pytest.raises(PreconditionFailed):
            await s3.put_object(bucket, "c", b"stale", if_match='"not-the-etag"')
        with pytest.raises(PreconditionFailed):
            await s3.get_object(bucket, "c", if_match='"not-the-etag"')
        with pytest.raises(NotModified):
            await s3.head_object(bucket, "c", if_none_match=put.etag)
        with pytest.raises(PreconditionFailed):
            await s3.put_object(bucket, "c", b"v2", if_none_match="*")
        assert (await s3.get_object(bucket, "c")).body == b"v1"


async def test_errors_are_typed(moto: MotoServer, bucket: str) -> None:
    async with client_for(moto) as s3:
        with pytest.raises(NoSuchKey) as info:
            await s3.get_object(bucket, "missing")
        assert info.value.status == 404 and info.value.key == "missing"
        with pytest.raises(NoSuchBucket):
            await s3.get_object("no-such-bucket-here", "k")
        with pytest.raises(NoSuchBucket):
            await s3.head_bucket("no-such-bucket-here")
        await s3.head_bucket(bucket)
        with pytest.raises(ValueError):
            await s3.put_object(bucket, "", b"")
        with pytest.raises(ValueError):
            await s3.put_object(bucket, "k" * 1025, b"")


async def test_bucket_lifecycle(moto: MotoServer) -> None:
    async with client_for(moto) as s3:
        await s3.create_bucket("lifecycle-test-bucket")
        await s3.head_bucket("lifecycle-test-bucket")
        listed = {b.name: b for b in await s3.list_buckets()}
        assert listed["lifecycle-test-bucket"].created.tzinfo is not None
        await s3.delete_bucket("lifecycle-test-bucket")
        with pytest.raises(NoSuchBucket):
            await s3.head_bucket("lifecycle-test-bucket")


async def test_one_client_serves_several_event_loops(moto: MotoServer, bucket: str) -> None:
    s3 = client_for(moto)
    await s3.put_object(bucket, "k", b"from the test loop")

    def in_another_loop() -> bytes:
        async def get() -> bytes:
            return (await s3.get_object(bucket, "k")).body

        return asyncio.run(get())

    assert await asyncio.to_thread(in_another_loop) == b"from the test loop"
    assert (await s3.get_object(bucket, "k")).body == b"from the test loop"
    await s3.close()


# -- with signature checking on ------------------------------------------------


async def test_signed_requests_are_accepted(moto_auth: MotoServer, auth_bucket: str) -> None:
    data = os.urandom(6 * MiB)
    async with client_for(
        moto_auth, multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB
    ) as s3:
        await s3.put_object(auth_bucket, "dir/plain key.txt", b"hello", metadata={"a": "b"})
        assert (await s3.get_object(auth_bucket, "dir/plain key.txt")).body == b"hello"
        assert (await s3.get_object(auth_bucket, "dir/plain key.txt", range=(1, 2))).body == b"el"
        await s3.head_object(auth_bucket, "dir/plain key.txt")
        await s3.put_object(auth_bucket, "multi", data)
        await s3.copy_object(auth_bucket, "multi", auth_bucket, "multi-copy")
        assert (await s3.get_object(auth_bucket, "multi-copy")).body == data
        keys = [e async for e in s3.list_objects(auth_bucket, "dir/", "/")]
        assert len(keys) == 1
        assert await s3.delete_objects(auth_bucket, ["multi", "multi-copy"]) == []
        await s3.delete_object(auth_bucket, "dir/plain key.txt")
        assert [e async for e in s3.list_objects(auth_bucket)] == []


async def test_wrong_secret_is_refused(moto_auth: MotoServer, auth_bucket: str) -> None:
    creds = Credentials(moto_auth.access_key_id, "not-the-secret")
    async with S3Client(REGION, moto_auth.endpoint_url, creds) as s3:
        with pytest.raises(S3Error) as info:
            await s3.put_object(auth_bucket, "k", b"v")
    assert info.value.code == "SignatureDoesNotMatch"
    assert info.value.status == 403


async def test_presigned_urls_work(moto: MotoServer, bucket: str) -> None:
    # moto's signature checker cannot read query-string authentication (it answers
    # 500), so this runs on the plain server; the presigned-URL vectors in
    # tests/data/sigv4 prove the signature itself.
    async with client_for(moto) as s3:
        await s3.put_object(bucket, "shared/report 2026+ü.txt", b"presigned body")
        url = s3.presign_url("GET", bucket, "shared/report 2026+ü.txt", expires_in=60)
        put_url = s3.presign_url("PUT", bucket, "uploaded.txt", expires_in=60)
        assert "X-Amz-Signature=" in url and "X-Amz-Expires=60" in url

    def fetch() -> bytes:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return bytes(resp.read())

    assert await asyncio.to_thread(fetch) == b"presigned body"

    def upload() -> int:
        req = urllib.request.Request(
            put_url,
            data=b"via presigned PUT",
            method="PUT",
            headers={"Content-Type": "application/octet-stream"},
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            return int(resp.status)

    assert await asyncio.to_thread(upload) == 200
    body = moto.boto3_client().get_object(Bucket=bucket, Key="uploaded.txt")["Body"]
    assert body.read() == b"via presigned PUT"


@pytest.mark.moto_only("moto's IAM and STS issue the session token")
async def test_session_token_and_pre_auth_headers_are_signed(
    moto_auth: MotoServer, auth_bucket: str
) -> None:
    iam, sts = moto_auth.boto3_client("iam"), moto_auth.boto3_client("sts")

    def policy(statement: dict[str, object]) -> str:
        return json.dumps({"Version": "2012-10-17", "Statement": [statement]})

    trust = policy({"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"})
    allow = policy({"Effect": "Allow", "Action": "s3:*", "Resource": "*"})
    role_name = f"role-{auth_bucket}"
    role = iam.create_role(RoleName=role_name, AssumeRolePolicyDocument=trust)["Role"]
    iam.put_role_policy(RoleName=role_name, PolicyName="s3", PolicyDocument=allow)
    temp = sts.assume_role(RoleArn=role["Arn"], RoleSessionName="s3lite")["Credentials"]
    creds = Credentials(temp["AccessKeyId"], temp["SecretAccessKey"], temp["SessionToken"])
    async with S3Client(REGION, moto_auth.endpoint_url, creds) as s3:
        await s3.put_object(auth_bucket, "with-token", b"t")
    base = Credentials(
        moto_auth.access_key_id,
        moto_auth.secret_access_key,
        pre_auth_headers={"x-amz-meta-signed-by": "pre-auth"},
    )
    async with S3Client(REGION, moto_auth.endpoint_url, base) as s3:
        await s3.put_object(auth_bucket, "with-header", b"h")
        assert (await s3.head_object(auth_bucket, "with-header")).metadata == {
            "signed-by": "pre-auth"
        }
