"""The blocking facade, s3lite.sync.S3Client, against moto; results cross-checked with boto3."""

from __future__ import annotations

import gc
import inspect
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

import s3lite
from s3lite import Credentials, NoSuchBucket, NoSuchKey, ObjectSummary, PreconditionFailed
from s3lite.sync import ObjectIterator, S3Client
from tests.motoserver import MotoServer


def _client(moto: MotoServer, **kwargs: object) -> S3Client:
    creds = Credentials(moto.access_key_id, moto.secret_access_key)
    return S3Client("us-east-1", moto.endpoint_url, creds, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def s3(moto: MotoServer) -> Iterator[S3Client]:
    with _client(moto) as client:
        yield client


def _loop_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("s3lite-sync-")]


def test_every_public_method_of_the_async_client_is_mirrored() -> None:
    public = {
        name
        for name, member in inspect.getmembers(s3lite.S3Client, inspect.isfunction)
        if not name.startswith("_")
    }
    assert public - set(dir(S3Client)) == set()
    for name in public - {"close"}:
        async_sig = inspect.signature(getattr(s3lite.S3Client, name))
        sync_sig = inspect.signature(getattr(S3Client, name))
        assert list(sync_sig.parameters) == list(async_sig.parameters), name
    # the constructor too
    assert inspect.signature(S3Client) == inspect.signature(s3lite.S3Client)


def test_put_get_head_copy_delete_cross_checked_with_boto3(
    s3: S3Client, moto: MotoServer, bucket: str
) -> None:
    boto = moto.boto3_client()
    put = s3.put_object(bucket, "a/b.txt", b"hello", content_type="text/plain")
    assert put.etag == boto.head_object(Bucket=bucket, Key="a/b.txt")["ETag"]
    boto.put_object(Bucket=bucket, Key="from-boto", Body=b"boto bytes", Metadata={"x": "1"})

    got = s3.get_object(bucket, "from-boto")
    assert got.body == b"boto bytes" and got.metadata == {"x": "1"}
    assert s3.head_object(bucket, "a/b.txt").content_type == "text/plain"
    assert s3.get_object(bucket, "a/b.txt", range=(1, 3)).body == b"ell"

    s3.copy_object(bucket, "a/b.txt", bucket, "copy.txt")
    assert boto.get_object(Bucket=bucket, Key="copy.txt")["Body"].read() == b"hello"
    s3.delete_object(bucket, "copy.txt")
    assert s3.delete_objects(bucket, ["a/b.txt", "from-boto"]) == []
    assert boto.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


def test_same_exceptions_as_the_async_client(s3: S3Client, bucket: str) -> None:
    with pytest.raises(NoSuchKey) as info:
        s3.get_object(bucket, "missing")
    assert info.value.status == 404 and info.value.key == "missing"
    with pytest.raises(NoSuchBucket):
        s3.head_bucket(bucket + "-nope")
    etag = s3.put_object(bucket, "k", b"v1").etag
    with pytest.raises(PreconditionFailed):
        s3.put_object(bucket, "k", b"v2", if_match=etag + "x")
    with pytest.raises(ValueError):  # argument checks raise as they do in the async client
        s3.get_object(bucket, "")


def test_file_upload_and_download(s3: S3Client, moto: MotoServer, bucket: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    data = bytes(range(256)) * 40_000  # 10 MB: a multipart upload from a file
    src = tmp_path / "big.bin"
    src.write_bytes(data)
    with src.open("rb") as f:
        s3.put_object(bucket, "big.bin", f)
    assert moto.boto3_client().get_object(Bucket=bucket, Key="big.bin")["Body"].read() == data
    info = s3.download_file(bucket, "big.bin", tmp_path / "back.bin")
    assert info.size == len(data) and (tmp_path / "back.bin").read_bytes() == data


def test_list_objects_pages_lazily(s3: S3Client, moto: MotoServer, bucket: str) -> None:
    boto = moto.boto3_client()
    for key in ("a", "b", "d", "e"):
        boto.put_object(Bucket=bucket, Key=key, Body=b"")
    listing = s3.list_objects(bucket, page_size=2)
    assert isinstance(listing, ObjectIterator)
    first = [next(listing).key, next(listing).key]  # type: ignore[union-attr]
    # Written after the first page was read: only a lazy listing can see it.
    boto.put_object(Bucket=bucket, Key="c", Body=b"")
    rest = [e.key for e in listing if isinstance(e, ObjectSummary)]
    assert first + rest == ["a", "b", "c", "d", "e"]
    assert next(listing, None) is None


def test_list_objects_with_delimiter_and_early_close(s3: S3Client, bucket: str) -> None:
    for key in ("dir/x", "dir/y", "top", "zz/1"):
        s3.put_object(bucket, key, b"1")
    entries = list(s3.list_objects(bucket, delimiter="/"))
    assert [getattr(e, "prefix", None) or getattr(e, "key", None) for e in entries] == [
        "dir/",
        "top",
        "zz/",
    ]
    with s3.list_objects(bucket, page_size=1) as listing:
        assert next(listing).key == "dir/x"  # type: ignore[union-attr]
    assert next(listing, None) is None  # closed: nothing more


def test_listing_error_is_raised_when_reached(s3: S3Client, moto: MotoServer, bucket: str) -> None:
    boto = moto.boto3_client()
    for key in ("a", "b", "c"):
        boto.put_object(Bucket=bucket, Key=key, Body=b"")
    listing = s3.list_objects(bucket, page_size=2)
    assert [next(listing).key, next(listing).key] == ["a", "b"]  # type: ignore[union-attr]
    for key in ("a", "b", "c"):
        boto.delete_object(Bucket=bucket, Key=key)
    boto.delete_bucket(Bucket=bucket)
    with pytest.raises(NoSuchBucket):
        next(listing)


def test_many_threads_share_one_client(s3: S3Client, moto: MotoServer, bucket: str) -> None:
    def work(worker: int) -> list[bytes]:
        bodies = []
        for i in range(15):
            key = f"w{worker}/{i}"
            s3.put_object(bucket, key, f"{worker}:{i}".encode())
            bodies.append(s3.get_object(bucket, key).body)
        return bodies

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(work, range(8)))
    assert results == [[f"{w}:{i}".encode() for i in range(15)] for w in range(8)]
    # one loop thread, not one per caller
    assert len([t for t in _loop_threads() if t.name.endswith(f"{id(s3):x}")]) == 1
    keys = [e.key for e in s3.list_objects(bucket) if isinstance(e, ObjectSummary)]
    assert len(keys) == 120
    boto = moto.boto3_client()
    assert boto.get_object(Bucket=bucket, Key="w7/14")["Body"].read() == b"7:14"


def test_close_stops_the_thread_and_later_calls_fail(moto: MotoServer, bucket: str) -> None:
    client = _client(moto)
    client.put_object(bucket, "k", b"v")
    (thread,) = [t for t in _loop_threads() if t.name.endswith(f"{id(client):x}")]
    assert thread.is_alive() and thread.daemon
    client.close()
    assert not thread.is_alive() and client.closed
    client.close()  # twice is harmless
    with pytest.raises(RuntimeError, match="closed"):
        client.head_object(bucket, "k")
    with pytest.raises(RuntimeError, match="closed"):
        client.list_objects(bucket)


def test_a_forgotten_client_stops_its_thread_when_collected(moto: MotoServer, bucket: str) -> None:
    client = _client(moto)
    client.put_object(bucket, "k", b"v")
    name = f"s3lite-sync-{id(client):x}"
    (thread,) = [t for t in _loop_threads() if t.name == name]
    del client
    gc.collect()
    thread.join(timeout=30)
    assert not thread.is_alive()


def test_calling_the_client_from_its_own_loop_raises_instead_of_deadlocking(
    s3: S3Client, bucket: str
) -> None:
    s3.put_object(bucket, "k", b"v")
    errors: list[Exception] = []

    def sink(chunk: bytes) -> None:
        try:
            s3.head_object(bucket, "k")
        except RuntimeError as exc:
            errors.append(exc)

    s3.get_object(bucket, "k", sink=sink)
    assert len(errors) == 1 and "deadlock" in str(errors[0])


async def test_usable_from_code_that_runs_its_own_event_loop(s3: S3Client, bucket: str) -> None:
    # e.g. a Jupyter cell: an event loop is running in this thread
    s3.put_object(bucket, "k", b"from a coroutine")
    assert s3.get_object(bucket, "k").body == b"from a coroutine"


def test_presign_fetches_credentials_first(moto: MotoServer, bucket: str) -> None:
    class Provider:
        async def get_credentials(self) -> Credentials:
            return Credentials(moto.access_key_id, moto.secret_access_key)

    moto.boto3_client().put_object(Bucket=bucket, Key="p", Body=b"presigned")
    with S3Client("us-east-1", moto.endpoint_url, Provider()) as s3:
        url = s3.presign_url("GET", bucket, "p", expires_in=60)
    with urllib.request.urlopen(url, timeout=10) as resp:
        assert resp.read() == b"presigned"


_INTERRUPTED_UPLOAD = """
import os, sys
from s3lite import Credentials
from s3lite.sync import S3Client

endpoint, bucket, key_id, secret = sys.argv[1:]
s3 = S3Client("us-east-1", endpoint, Credentials(key_id, secret))
try:
    s3.put_object(bucket, "big", os.fdopen(0, "rb"))
except KeyboardInterrupt:
    print("interrupted", flush=True)
"""


def test_ctrl_c_cancels_the_call_and_aborts_its_multipart_upload(
    moto: MotoServer, bucket: str
) -> None:
    read_end, write_end = os.pipe()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            _INTERRUPTED_UPLOAD,
            moto.endpoint_url,
            bucket,
            moto.access_key_id,
            moto.secret_access_key,
        ],
        stdin=read_end,
        stdout=subprocess.PIPE,
        text=True,
    )
    os.close(read_end)
    try:
        # Two full parts and a bit: the multipart upload begins, then waits for more.
        os.write(write_end, os.urandom(1024 * 1024) * 17)
        boto = moto.boto3_client()
        deadline = time.monotonic() + 60
        while not boto.list_multipart_uploads(Bucket=bucket).get("Uploads"):
            assert time.monotonic() < deadline, "the upload never started"
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
    finally:
        os.close(write_end)  # the file read blocked in a thread ends too
    out, _ = proc.communicate(timeout=60)
    assert out == "interrupted\n"
    assert boto.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    assert boto.list_objects_v2(Bucket=bucket)["KeyCount"] == 0
