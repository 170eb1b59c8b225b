"""Chunked uploads keep their state in S3: any server process takes the next chunk
(two real Jupyter servers on one bucket, and a restart between chunks); a chunk sent
again replaces that chunk; a chunk in a wrong format is upstream's 400."""

from __future__ import annotations

import base64
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from tornado.web import HTTPError

from jupyters3 import JupyterS3
from tests.integration.test_jupyters3_fixtures import cm
from tests.integration.test_jupyters3_scale import multipart_uploads, upload_state
from tests.integration.test_jupyters3_server import OPTIONS, PREFIX, Jupyter, serving
from tests.jupyterserver import chunk_model
from tests.motoserver import MotoServer

__all__ = ["cm"]

MiB = 1024 * 1024

FORMAT_MESSAGE = "Must specify format of file contents as 'text' or 'base64'"


def put_chunk(server: Jupyter, path: str, data: bytes, chunk: int) -> dict[str, object]:
    status, model, _ = server.contents("PUT", path, chunk_model(data, chunk))
    assert status in (200, 201), model
    assert isinstance(model, dict)
    return model


def download(server: Jupyter, path: str) -> bytes:
    status, payload, _ = server.call("GET", f"/files/{path}", raw=True)
    assert status == 200, payload
    assert isinstance(payload, bytes)
    return payload


@pytest.fixture(scope="module")
def bucket(moto_auth: MotoServer) -> str:
    name = f"up-{uuid.uuid4().hex[:12]}"
    moto_auth.boto3_client().create_bucket(Bucket=name)
    return name


@pytest.fixture(scope="module")
def two_servers(
    moto_auth: MotoServer, bucket: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Jupyter, Jupyter]]:
    """Two Jupyter server processes on one bucket and prefix, as two replicas behind
    a load balancer would be."""
    home_a, home_b = tmp_path_factory.mktemp("a"), tmp_path_factory.mktemp("b")
    with serving(moto_auth, home_a, bucket) as a, serving(moto_auth, home_b, bucket) as b:
        yield a, b


def test_any_server_process_takes_the_next_chunk(two_servers: tuple[Jupyter, Jupyter]) -> None:
    a, b = two_servers
    pieces = [os.urandom(3 * MiB) for _ in range(3)] + [os.urandom(MiB)]
    assert put_chunk(a, "spread.bin", pieces[0], 1)["size"] == 3 * MiB
    assert put_chunk(b, "spread.bin", pieces[1], 2)["size"] == 6 * MiB
    # B merges chunks 1 and 2 (6 MiB, more than the 5 MiB part) into a part
    assert put_chunk(b, "spread.bin", pieces[2], 3)["size"] == 9 * MiB
    assert multipart_uploads(a.moto, a.bucket) != []
    assert a.contents("GET", "spread.bin")[0] == 404  # nothing at the file's key yet
    final = put_chunk(a, "spread.bin", pieces[3], -1)
    assert final["size"] == 10 * MiB
    assert download(b, "spread.bin") == b"".join(pieces)
    assert upload_state(a.moto, a.bucket, PREFIX) == []
    assert multipart_uploads(a.moto, a.bucket) == []


def test_small_upload_across_servers(two_servers: tuple[Jupyter, Jupyter]) -> None:
    a, b = two_servers
    pieces = [b"hello ", b"chunked ", b"world"]
    put_chunk(a, "small.txt", pieces[0], 1)
    put_chunk(b, "small.txt", pieces[1], 2)
    put_chunk(a, "small.txt", pieces[2], -1)
    assert download(b, "small.txt") == b"hello chunked world"
    assert upload_state(a.moto, a.bucket, PREFIX) == []


def test_the_upload_state_is_never_listed_nor_reachable(
    two_servers: tuple[Jupyter, Jupyter],
) -> None:
    a, _ = two_servers
    put_chunk(a, "pending.bin", b"x" * 1000, 1)
    assert upload_state(a.moto, a.bucket, PREFIX) != []
    status, listing, _ = a.contents("GET", "")
    assert status == 200
    assert ".jupyters3-uploads" not in {m["name"] for m in listing["content"]}
    assert a.contents("GET", ".jupyters3-uploads")[0] in (400, 404)
    put_chunk(a, "pending.bin", b"y", -1)
    assert download(a, "pending.bin") == b"x" * 1000 + b"y"


def test_a_chunk_sent_again_replaces_it(two_servers: tuple[Jupyter, Jupyter]) -> None:
    a, b = two_servers
    first, lost, retried, last = (os.urandom(MiB) for _ in range(4))
    put_chunk(a, "retry.bin", first, 1)
    put_chunk(a, "retry.bin", lost, 2)  # the browser never saw the answer...
    assert put_chunk(b, "retry.bin", retried, 2)["size"] == 2 * MiB  # ...and sends it again
    put_chunk(a, "retry.bin", last, -1)
    assert download(a, "retry.bin") == first + retried + last


def test_a_chunk_in_a_wrong_format_is_upstreams_400(two_servers: tuple[Jupyter, Jupyter]) -> None:
    a, _ = two_servers
    for fmt in ("json", None):
        model: dict[str, object] = {"type": "file", "content": "abc", "chunk": 1}
        if fmt is not None:
            model["format"] = fmt
        status, error, _ = a.contents("PUT", "fmt.bin", model)
        assert status == 400 and error["message"] == FORMAT_MESSAGE, error
    put_chunk(a, "fmt.bin", b"abc", 1)
    status, error, _ = a.contents("PUT", "fmt.bin", {**chunk_model(b"d", 2), "format": "json"})
    assert status == 400 and error["message"] == FORMAT_MESSAGE, error
    assert upload_state(a.moto, a.bucket, PREFIX) == []  # a failed upload leaves nothing
    assert a.contents("GET", "fmt.bin")[0] == 404


def test_an_upload_goes_on_after_a_restart(
    moto_auth: MotoServer, bucket: str, tmp_path: Path
) -> None:
    # uploads survive a clean restart when the processes share them (several replicas,
    # rolling restarts): abort_uploads_at_shutdown = False
    options = (*OPTIONS, "--JupyterS3.abort_uploads_at_shutdown=False")
    pieces = [os.urandom(3 * MiB) for _ in range(4)]
    with serving(moto_auth, tmp_path, bucket, options=options, log_name="before.log") as server:
        for chunk in (1, 2, 3):  # at chunk 3, chunks 1 and 2 become a part
            put_chunk(server, "restart.bin", pieces[chunk - 1], chunk)
    assert upload_state(moto_auth, bucket, PREFIX) != []
    assert multipart_uploads(moto_auth, bucket) != []
    port = int(server.url.rsplit(":", 1)[1])
    with serving(
        moto_auth, tmp_path, bucket, options=options, port=port, log_name="after.log"
    ) as server:
        assert put_chunk(server, "restart.bin", pieces[3], -1)["size"] == 12 * MiB
        assert download(server, "restart.bin") == b"".join(pieces)
    assert upload_state(moto_auth, bucket, PREFIX) == []


async def test_a_retried_chunk_replaces_it_through_the_manager(
    cm: JupyterS3, moto_auth: MotoServer, auth_bucket: str
) -> None:
    cm.upload_part_size = 5 * MiB
    pieces = [os.urandom(2 * MiB) for _ in range(4)]
    for i, piece in enumerate(pieces[:3], start=1):
        await cm.save(chunk_model(piece, i), "m.bin")
    # chunk 4 arrives: chunks 1-3 (6 MiB) become a part; chunk 4 stays staged
    await cm.save(chunk_model(os.urandom(MiB), 4), "m.bin")
    assert (await cm.save(chunk_model(pieces[3], 4), "m.bin"))["size"] == 8 * MiB
    with pytest.raises(HTTPError) as e:  # merged into a part already: not replaceable
        await cm.save(chunk_model(pieces[0], 2), "m.bin")
    assert e.value.status_code == 400 and "already stored" in str(e.value.log_message)
    last = os.urandom(100)
    assert (await cm.save(chunk_model(last, -1), "m.bin"))["size"] == 8 * MiB + 100
    got = await cm.get("m.bin", format="base64")
    assert base64.b64decode(got["content"]) == b"".join(pieces) + last
    assert upload_state(moto_auth, auth_bucket) == []
    with pytest.raises(HTTPError) as e:
        await cm.save({"type": "file", "content": "x", "chunk": 1}, "n.bin")
    assert e.value.status_code == 400 and e.value.log_message == FORMAT_MESSAGE
