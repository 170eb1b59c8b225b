"""Saves: never over someone else's (If-Match / If-None-Match: *, a 409 on S3's 412),
cheap (S3 requests counted per operation through the counting proxy), and answering
the ``last_modified`` a later ``get`` gives (what real-time collaboration compares)."""

from __future__ import annotations

import base64
import hashlib
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from jupyters3 import JupyterS3
from tests.faultproxy import S3Proxy
from tests.integration.test_jupyters3_fixtures import (
    auth_proxy,
    content_of,
    error_of,
    make_manager,
    notebook,
    status_of,
    text,
)
from tests.integration.test_jupyters3_server import Jupyter, serving
from tests.integration.test_jupyters3_server import notebook as notebook_json
from tests.motoserver import MotoServer

__all__ = ["auth_proxy"]

MiB = 1024 * 1024


@pytest.fixture
async def two(
    moto_auth: MotoServer, auth_bucket: str
) -> AsyncIterator[tuple[JupyterS3, JupyterS3]]:
    """Two managers (two Jupyter servers' worth) on one bucket."""
    a, b = make_manager(moto_auth, auth_bucket), make_manager(moto_auth, auth_bucket)
    yield a, b
    await a.close()
    await b.close()


# -- never over someone else's save --------------------------------------------


async def test_the_later_save_of_a_file_both_opened_is_a_409(
    two: tuple[JupyterS3, JupyterS3],
) -> None:
    a, b = two
    await a.save(notebook("first"), "n.ipynb")
    await a.get("n.ipynb")
    await b.get("n.ipynb")
    await a.save(notebook("by A"), "n.ipynb")
    error = await error_of(b.save(notebook("by B"), "n.ipynb"))
    assert error.status_code == 409
    assert "changed in S3 since it was opened" in str(error.log_message)
    assert await content_of(a, "n.ipynb") == "by A"
    # A keeps saving (its own saves move its ETag); B, once it has reloaded, too.
    await a.save(notebook("A again"), "n.ipynb")
    assert await content_of(b, "n.ipynb") == "A again"
    await b.save(notebook("B after reloading"), "n.ipynb")
    assert await content_of(a, "n.ipynb") == "B after reloading"


async def test_a_file_both_believed_new_is_made_by_the_first_save_only(
    two: tuple[JupyterS3, JupyterS3],
) -> None:
    a, b = two
    for cm in two:
        assert await status_of(cm.get("new.txt")) == 404
    await a.save(text("by A"), "new.txt")
    assert await status_of(b.save(text("by B"), "new.txt")) == 409
    assert await content_of(b, "new.txt") == "by A"


async def test_a_file_deleted_since_it_was_opened_is_saved_anew(
    two: tuple[JupyterS3, JupyterS3],
) -> None:
    a, b = two
    await a.save(text("v1"), "f.txt")
    await b.get("f.txt")
    await a.delete("f.txt")
    await b.save(text("kept"), "f.txt")
    assert await content_of(a, "f.txt") == "kept"


async def test_a_save_of_a_file_never_opened_here_replaces_it_as_upstream(
    two: tuple[JupyterS3, JupyterS3],
) -> None:
    """An API client's PUT straight away (or a tab left open across a restart of
    its server): nothing to compare with, so it replaces the file, as upstream."""
    a, b = two
    await a.save(text("by A"), "f.txt")
    saved = await b.save(text("by B"), "f.txt")
    assert saved["size"] == 4 and await content_of(b, "f.txt") == "by B"
    assert await status_of(a.save(text("A, stale"), "f.txt")) == 409  # A saw "by A"


async def test_renaming_and_restoring_a_checkpoint_leave_later_saves_working(
    two: tuple[JupyterS3, JupyterS3],
) -> None:
    a, _ = two
    await a.save(notebook("v1"), "n.ipynb")
    checkpoint = (await a.list_checkpoints("n.ipynb"))[0]
    await a.save(notebook("v2"), "n.ipynb")
    await a.restore_checkpoint(checkpoint["id"], "n.ipynb")
    await a.save(notebook("v3"), "n.ipynb")
    await a.rename("n.ipynb", "m.ipynb")
    await a.save(notebook("v4"), "m.ipynb")
    assert await content_of(a, "m.ipynb") == "v4"
    await a.save(notebook("v5"), "n.ipynb")  # a new file at the old name
    assert await content_of(a, "n.ipynb") == "v5"


async def test_conditional_saves_can_be_turned_off(moto_auth: MotoServer, auth_bucket: str) -> None:
    a = make_manager(moto_auth, auth_bucket, conditional_saves=False)
    b = make_manager(moto_auth, auth_bucket, conditional_saves=False)
    try:
        await a.save(text("v1"), "f.txt")
        await a.get("f.txt")
        await b.get("f.txt")
        await a.save(text("by A"), "f.txt")
        await b.save(text("by B"), "f.txt")  # the later save wins, as on a local disk
        assert await content_of(a, "f.txt") == "by B"
        assert len(await a.list_checkpoints("f.txt")) == 0  # a file, not a notebook
    finally:
        await a.close()
        await b.close()


# -- what a save answers --------------------------------------------------------


async def test_a_save_answers_the_model_a_later_get_gives(
    two: tuple[JupyterS3, JupyterS3],
) -> None:
    """Exactly, ``last_modified`` included (real-time collaboration compares them)."""
    a, _ = two
    await a.save({"type": "directory"}, "d")
    for path, model in [("d/n.ipynb", notebook("x")), ("d/t.txt", text("y" * 1000))]:
        for _ in range(2):
            saved = await a.save(model, path)
            got = await a.get(path, content=False)
            assert saved == got
    hashed = await a.get("d/t.txt", content=False, require_hash=True)
    assert hashed["hash_algorithm"] == "sha256"
    assert hashed["hash"] == hashlib.sha256(b"y" * 1000).hexdigest()


# -- requests per operation -----------------------------------------------------


async def test_requests_per_operation(
    moto_auth: MotoServer, auth_bucket: str, auth_proxy: S3Proxy
) -> None:
    """A new notebook costs 4 requests (a PUT, then at once: a HEAD of the folder's
    marker, one listing of two keys, its first checkpoint's copy), an autosave one PUT
    (and each a HEAD on servers whose PUT answer has no Last-Modified, as AWS and
    Ceph RGW)."""
    cm = make_manager(moto_auth, auth_bucket, endpoint_url=auth_proxy.url)
    big = notebook("x" * 100_000)
    try:
        await cm.save({"type": "directory"}, "d")

        async def counted(awaitable: Any) -> dict[str, int]:
            auth_proxy.reset()
            await awaitable
            return dict(auth_proxy.counts)

        new = await counted(cm.save(big, "d/n.ipynb"))
        timed = new.pop("HeadObject") - 1  # a HEAD of the marker, and maybe one for the time
        assert new == {"PutObject": 1, "ListObjectsV2": 1, "CopyObject": 1} and timed <= 1
        top = await counted(cm.save(big, "top.ipynb"))  # (no parent to check)
        assert top.pop("HeadObject", 0) == timed
        assert top == {"PutObject": 1, "ListObjectsV2": 1, "CopyObject": 1}
        # in a folder listed without a marker (another tool's), a HEAD of a file seen there
        moto_auth.boto3_client().put_object(Bucket=auth_bucket, Key="m/f.txt", Body=b"x")
        await cm.get("m")
        bare = await counted(cm.save(big, "m/n.ipynb"))
        assert bare.pop("HeadObject") - 1 == timed
        assert bare == {"PutObject": 1, "ListObjectsV2": 1, "CopyObject": 1}
        moto_auth.boto3_client().delete_object(Bucket=auth_bucket, Key="m/f.txt")
        gone = await counted(cm.save(big, "m/o.ipynb"))  # that file gone: the folder is listed
        assert gone.pop("HeadObject") - 1 == timed
        assert gone == {"PutObject": 1, "ListObjectsV2": 2, "CopyObject": 1}
        assert await counted(cm.get("d/n.ipynb")) == {"GetObject": 1}
        # (the client's first If-Match PUT on Ceph RGW is sent twice: see s3lite's _put_single)
        await cm.save(big, "d/n.ipynb")
        for _ in range(2):
            autosave = await counted(cm.save(big, "d/n.ipynb"))
            assert autosave.pop("PutObject") == 1 and autosave.get("HeadObject", 0) <= 1, autosave
            assert set(autosave) <= {"HeadObject"}
        assert await counted(cm.get("d/n.ipynb", content=False)) == {"HeadObject": 1}
    finally:
        await cm.close()


async def test_a_save_above_the_part_size_is_one_conditional_put(
    moto_auth: MotoServer, auth_bucket: str, auth_proxy: S3Proxy
) -> None:
    """Up to ``multipart_threshold``, a save is one PUT with If-Match, so a conflicting
    save of a large file is a 409 as for a small one (S3 servers such as moto and Ceph
    RGW ignore the conditions of CompleteMultipartUpload)."""
    options = dict(upload_part_size=5 * MiB, multipart_threshold=16 * MiB)
    a = make_manager(moto_auth, auth_bucket, endpoint_url=auth_proxy.url, **options)
    b = make_manager(moto_auth, auth_bucket, **options)
    try:
        await a.save(text("first"), "big.txt")
        await a.save(text("second"), "big.txt")  # (RGW: the client's first If-Match PUT is two)
        for cm in (a, b):  # both users open it
            await cm.get("big.txt")
        auth_proxy.reset()
        await a.save(text("A" * 6 * MiB), "big.txt")
        assert auth_proxy.counts.pop("PutObject") == 1
        assert set(auth_proxy.counts) <= {"HeadObject"}, auth_proxy.counts
        error = await error_of(b.save(text("B" * 6 * MiB), "big.txt"))
        assert error.status_code == 409
        assert "changed in S3 since it was opened" in str(error.log_message)
        assert await content_of(b, "big.txt") == "A" * 6 * MiB
    finally:
        await a.close()
        await b.close()


async def test_a_save_above_the_multipart_threshold_is_a_multipart_upload(
    moto_auth: MotoServer, auth_bucket: str, auth_proxy: S3Proxy
) -> None:
    cm = make_manager(
        moto_auth,
        auth_bucket,
        endpoint_url=auth_proxy.url,
        upload_part_size=5 * MiB,
        multipart_threshold=5 * MiB,
    )
    body = os.urandom(11 * MiB)
    try:
        model = {"type": "file", "format": "base64", "content": base64.b64encode(body).decode()}
        assert (await cm.save(model, "big.bin"))["size"] == len(body)
        counts = auth_proxy.counts
        assert counts["CreateMultipartUpload"] == 1 and counts["CompleteMultipartUpload"] == 1
        assert counts["UploadPart"] == 3 and "PutObject" not in counts, counts
        got = await cm.get("big.bin", format="base64")
        assert base64.b64decode(got["content"]) == body
    finally:
        await cm.close()


# -- two real Jupyter servers ---------------------------------------------------


@pytest.fixture
def two_servers(moto_auth: MotoServer, tmp_path: Path) -> Iterator[tuple[Jupyter, Jupyter]]:
    bucket = f"saves-{uuid.uuid4().hex[:12]}"
    moto_auth.boto3_client().create_bucket(Bucket=bucket)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with (
        serving(moto_auth, tmp_path / "a", bucket) as a,
        serving(moto_auth, tmp_path / "b", bucket) as b,
    ):
        yield a, b


def test_two_servers_never_overwrite_each_others_saves(
    two_servers: tuple[Jupyter, Jupyter],
) -> None:
    a, b = two_servers
    first = {"type": "notebook", "content": notebook_json("first")}
    assert a.contents("PUT", "n.ipynb", first)[0] == 201
    for server in (a, b):  # both users open it
        assert server.contents("GET", "n.ipynb")[0] == 200
    by_a = {"type": "notebook", "content": notebook_json("by A")}
    assert a.contents("PUT", "n.ipynb", by_a)[0] == 200
    by_b = {"type": "notebook", "content": notebook_json("by B")}
    status, error, _ = b.contents("PUT", "n.ipynb", by_b)
    assert status == 409 and "changed in S3 since it was opened" in error["message"]
    status, model, _ = b.contents("GET", "n.ipynb")
    assert status == 200 and model["content"]["cells"][0]["source"] == "by A"
    assert b.contents("PUT", "n.ipynb", by_b)[0] == 200  # after reloading
