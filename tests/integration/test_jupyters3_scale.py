"""Big folders, request counts, failures midway, large files, chunked uploads and
the event loop, against moto with signature checking on (through a counting proxy)."""

from __future__ import annotations

import asyncio
import base64
import os
from collections.abc import AsyncIterator

import pytest
from tornado.web import HTTPError

from jupyters3 import JupyterS3
from tests.integration.test_jupyters3_fixtures import (
    S3Proxy,
    all_keys,
    auth_proxy,
    cm,
    fill,
    make_manager,
    pcm,
)
from tests.jupyterserver import chunk_model
from tests.motoserver import MotoServer

__all__ = ["auth_proxy", "cm", "pcm"]

MiB = 1024 * 1024


async def test_listing_2500_entries_takes_3_list_requests(
    pcm: JupyterS3, moto_auth: MotoServer, auth_bucket: str, auth_proxy: S3Proxy
) -> None:
    keys = [f"big/f{i:04d}.txt" for i in range(2400)] + [f"big/d{i:03d}/x" for i in range(100)]
    await fill(moto_auth, auth_bucket, keys)

    # Each sub-folder is probed once (is it more than orphaned checkpoints?), at most
    # PROBES_PER_LISTING per listing; those it found to be folders are not probed again.
    costs = []
    for _ in range(3):
        auth_proxy.reset()
        model = await pcm.get("big", type="directory")
        assert len(model["content"]) == 2500
        assert sum(m["type"] == "directory" for m in model["content"]) == 100
        costs.append(dict(auth_proxy.counts))
    assert costs == [{"ListObjectsV2": 3 + 64}, {"ListObjectsV2": 3 + 36}, {"ListObjectsV2": 3}]

    auth_proxy.reset()
    assert len((await pcm.get("big"))["content"]) == 2500
    # without the type, one GET first tells a file from a folder
    assert dict(auth_proxy.counts) == {"GetObject": 1, "ListObjectsV2": 3}
    print(f"\nlisting a 2,500-entry folder: {costs}, then {dict(auth_proxy.counts)}")


async def test_rename_and_delete_1000_file_folder(
    pcm: JupyterS3, moto_auth: MotoServer, auth_bucket: str, auth_proxy: S3Proxy
) -> None:
    keys = [f"src/f{i:04d}.txt" for i in range(1000)]
    await fill(moto_auth, auth_bucket, keys)

    auth_proxy.reset()
    await pcm.rename("src", "dst")
    counts = dict(auth_proxy.counts)
    print(f"\nrenaming a 1,000-file folder: {counts}")
    assert counts["CopyObject"] == 1000
    assert counts["DeleteObjects"] == 1
    # source exists? target exists? all keys (1 page), and again after copying (stragglers)
    assert counts["ListObjectsV2"] == 4
    assert counts["HeadObject"] == 2  # is the source / the target a file?
    assert "GetObject" not in counts and "PutObject" not in counts and "DeleteObject" not in counts
    assert all_keys(moto_auth, auth_bucket) == sorted("dst" + k[3:] for k in keys)

    auth_proxy.reset()
    pcm.always_delete_dir = True
    await pcm.delete("dst")
    counts = dict(auth_proxy.counts)
    print(f"deleting a 1,000-file folder: {counts}")
    assert counts == {"HeadObject": 1, "ListObjectsV2": 2, "DeleteObjects": 1}
    assert all_keys(moto_auth, auth_bucket) == []


async def test_failed_folder_rename_leaves_source_whole(
    pcm: JupyterS3, moto_auth: MotoServer, auth_bucket: str, auth_proxy: S3Proxy
) -> None:
    keys = [f"src/f{i:04d}.txt" for i in range(120)]
    await fill(moto_auth, auth_bucket, keys)

    def deny_one(kind: str, request: object) -> tuple[int, str] | None:
        path = getattr(request, "path", "")
        return (
            (403, "AccessDenied") if kind == "CopyObject" and path.endswith("f0060.txt") else None
        )

    auth_proxy.fault = deny_one
    with pytest.raises(HTTPError) as e:
        await pcm.rename("src", "dst")
    assert e.value.status_code == 403
    message = str(e.value.log_message)
    assert "src is unchanged" in message and "partial copy was removed" in message
    assert all_keys(moto_auth, auth_bucket) == keys  # whole, and nothing half-copied
    auth_proxy.fault = None
    await pcm.rename("src", "dst")
    assert len(all_keys(moto_auth, auth_bucket, "dst/")) == 120


async def test_20mb_binary_round_trip(cm_big: JupyterS3) -> None:
    blob = os.urandom(20 * MiB)
    encoded = base64.b64encode(blob).decode()
    saved = await cm_big.save({"type": "file", "format": "base64", "content": encoded}, "big.bin")
    assert saved["size"] == len(blob)
    got = await cm_big.get("big.bin")
    assert got["format"] == "base64"
    assert base64.b64decode(got["content"]) == blob
    got = await cm_big.get("big.bin", content=False, require_hash=True)
    import hashlib

    assert got["hash"] == hashlib.sha256(blob).hexdigest()


@pytest.fixture
async def cm_big(moto_auth: MotoServer, auth_bucket: str) -> AsyncIterator[JupyterS3]:
    manager = make_manager(moto_auth, auth_bucket)
    yield manager
    await manager.close()


async def upload(cm: JupyterS3, path: str, pieces: list[bytes]) -> dict[str, object]:
    model: dict[str, object] = {}
    for i, piece in enumerate(pieces, start=1):
        model = await cm.save(chunk_model(piece, -1 if i == len(pieces) else i), path)
    return model


def multipart_uploads(server: MotoServer, bucket: str) -> list[str]:
    answer = server.boto3_client().list_multipart_uploads(Bucket=bucket)
    return [u["Key"] for u in answer.get("Uploads", [])]


def upload_state(server: MotoServer, bucket: str, prefix: str = "") -> list[str]:
    """What chunked uploads keep in S3 (under ``.jupyters3-uploads/``): the keys of
    their multipart uploads and staged chunks."""
    stage = prefix + ".jupyters3-uploads/"
    uploads = [k for k in multipart_uploads(server, bucket) if k.startswith(stage)]
    return sorted(uploads + all_keys(server, bucket, stage))


async def test_chunked_upload_of_30_chunks_streams_into_multipart(
    moto_auth: MotoServer, auth_bucket: str, auth_proxy: S3Proxy
) -> None:
    cm = make_manager(moto_auth, auth_bucket, endpoint_url=auth_proxy.url, upload_part_size=5 * MiB)
    pieces = [os.urandom(512 * 1024) for _ in range(30)]
    await cm.save({"type": "directory"}, "up")
    auth_proxy.reset()
    for i, piece in enumerate(pieces[:-1], start=1):
        model = await cm.save(chunk_model(piece, i), "up/load.bin")
        # nothing is visible at the final key before the last chunk
        assert model["size"] == i * 512 * 1024 and model["type"] == "file"
        assert not await cm.file_exists("up/load.bin")
    final = await cm.save(chunk_model(pieces[-1], -1), "up/load.bin")
    assert final["size"] == 30 * 512 * 1024
    got = await cm.get("up/load.bin", format="base64")
    assert base64.b64decode(got["content"]) == b"".join(pieces)
    counts = auth_proxy.counts
    assert counts["CreateMultipartUpload"] == 1
    assert counts["UploadPart"] == 3  # 5 MiB, 5 MiB, 5 MiB: never more than a part in memory
    assert counts["CompleteMultipartUpload"] == 1
    # the state is in S3: each chunk is staged (an object of its own) until a part is
    # full, and the completed upload is copied to the file's key once
    assert counts["PutObject"] == 29
    assert counts["CopyObject"] == 1
    assert multipart_uploads(moto_auth, auth_bucket) == []
    assert upload_state(moto_auth, auth_bucket) == []
    await cm.close()


async def test_small_chunked_upload_is_one_put(cm: JupyterS3, moto_auth: MotoServer) -> None:
    await upload(cm, "small.txt", [b"hello ", b"chunked ", b"world"])
    assert (await cm.get("small.txt"))["content"] == "hello chunked world"
    text = {"type": "file", "format": "text", "content": "é", "chunk": 1}
    await cm.save(text, "t.txt")
    await cm.save({**text, "chunk": -1}, "t.txt")
    assert (await cm.get("t.txt"))["content"] == "éé"


async def test_chunked_upload_failing_midway_leaves_nothing(
    cm: JupyterS3, moto_auth: MotoServer, auth_bucket: str
) -> None:
    cm.upload_part_size = 5 * MiB
    piece = os.urandom(2 * MiB)
    for i in range(1, 5):
        await cm.save(chunk_model(piece, i), "broken.bin")
    state = upload_state(moto_auth, auth_bucket)
    assert any(k in multipart_uploads(moto_auth, auth_bucket) for k in state)  # a part went up
    bad = {"type": "file", "format": "base64", "content": "@@not base64@@", "chunk": 5}
    with pytest.raises(HTTPError) as e:
        await cm.save(bad, "broken.bin")
    assert e.value.status_code == 400
    assert multipart_uploads(moto_auth, auth_bucket) == []  # aborted
    assert upload_state(moto_auth, auth_bucket) == []
    assert not await cm.file_exists("broken.bin")
    with pytest.raises(HTTPError) as e:
        await cm.save(chunk_model(piece, -1), "broken.bin")
    assert e.value.status_code == 400 and "upload it again" in str(e.value.log_message)


async def test_chunk_rules(cm: JupyterS3, moto_auth: MotoServer, auth_bucket: str) -> None:
    await cm.save(chunk_model(b"a", 1), "o.bin")
    with pytest.raises(HTTPError) as e:
        await cm.save(chunk_model(b"c", 3), "o.bin")  # out of order
    assert e.value.status_code == 400
    with pytest.raises(HTTPError):
        await cm.save(chunk_model(b"c", 2), "o.bin")  # aborted with it
    for bad in ({"type": "notebook", "content": {}, "chunk": 1}, {**chunk_model(b"x", 0)}):
        with pytest.raises(HTTPError) as e:
            await cm.save(bad, "x.ipynb")
        assert e.value.status_code == 400
    with pytest.raises(HTTPError) as e:
        await cm.save(chunk_model(b"x", 1), "missing-folder/x.bin")
    assert e.value.status_code == 404


async def test_overwrite_by_chunks_keeps_old_content_until_the_last(cm: JupyterS3) -> None:
    await cm.save({"type": "file", "format": "text", "content": "old"}, "f.txt")
    await cm.save({"type": "file", "format": "text", "content": "new ", "chunk": 1}, "f.txt")
    assert (await cm.get("f.txt"))["content"] == "old"
    await cm.save({"type": "file", "format": "text", "content": "text", "chunk": -1}, "f.txt")
    assert (await cm.get("f.txt"))["content"] == "new text"


async def test_stale_uploads_are_aborted(
    cm: JupyterS3, moto_auth: MotoServer, auth_bucket: str
) -> None:
    cm.upload_part_size = 5 * MiB
    big = os.urandom(5 * MiB)
    await cm.save(chunk_model(big, 1), "stale.bin")
    await cm.save(chunk_model(big, 2), "stale.bin")  # chunk 1 is now a part
    state = upload_state(moto_auth, auth_bucket)
    assert any(k in multipart_uploads(moto_auth, auth_bucket) for k in state)
    cm.upload_timeout = 0.0  # everything idle is now stale
    await cm.save(chunk_model(b"x", 1), "fresh.bin")
    assert not set(state) & set(upload_state(moto_auth, auth_bucket))
    assert multipart_uploads(moto_auth, auth_bucket) == []
    with pytest.raises(HTTPError):
        await cm.save(chunk_model(b"y", 2), "stale.bin")


async def test_no_s3_call_blocks_the_event_loop(
    moto_auth: MotoServer, auth_bucket: str, auth_proxy: S3Proxy
) -> None:
    """The proxy holds every request until a timer on the same loop has ticked
    5 more times: a call that blocked the loop could never finish (it would
    time out), and the ticks counted during the call prove the loop ran."""
    cm = make_manager(moto_auth, auth_bucket, endpoint_url=auth_proxy.url, read_timeout=10.0)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.002)

    async def slow() -> None:
        target = ticks + 5
        while ticks < target:
            await asyncio.sleep(0.001)

    timer = asyncio.ensure_future(ticker())
    auth_proxy.hold = slow
    try:
        for op in (
            lambda: cm.save({"type": "file", "format": "text", "content": "x" * MiB}, "a.txt"),
            lambda: cm.get("a.txt"),
            lambda: cm.new_untitled(type="notebook"),
            lambda: cm.get(""),
            lambda: cm.rename("a.txt", "b.txt"),
        ):
            auth_proxy.reset()
            before = ticks
            await op()
            assert auth_proxy.total >= 1
            # every request waited for 5 ticks of a timer on this very loop
            assert ticks - before >= 5
    finally:
        timer.cancel()
        auth_proxy.hold = None
        await cm.close()
