"""End to end: a real Jupyter server (jupyter_server, with notebook installed) with
JupyterS3 configured against moto (signature checking on), driven over HTTP
through /api/contents, its checkpoints endpoints and /files/."""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.integration.test_jupyters3_fixtures import all_keys
from tests.jupyterserver import (
    JupyterApi,
    JupyterServer,
    free_url,
    jupyter_command,
    start_jupyter,
)
from tests.jupyterserver import jupyter_env as server_env
from tests.loopback import unused_port
from tests.motoserver import REGION, MotoServer

__all__ = ["OPTIONS", "PREFIX", "Jupyter", "server_command", "server_env", "serving"]

PREFIX = "users/alice/"
OPTIONS = ("--JupyterS3.always_delete_dir=True", "--JupyterS3.upload_part_size=5242880")


def server_command(
    port: int,
    token: str,
    root: Path,
    moto: MotoServer,
    bucket: str,
    *,
    prefix: str = PREFIX,
    options: Sequence[str] = OPTIONS,
    endpoint_url: str | None = None,
) -> list[str]:
    """A Jupyter server on ``bucket`` of ``moto`` (or through ``endpoint_url``) with
    the JupyterS3 ``options`` of these tests (``()``: the defaults)."""
    return jupyter_command(
        "server",
        port=port,
        token=token,
        root=root,
        endpoint_url=endpoint_url or moto.endpoint_url,
        keys=(moto.access_key_id, moto.secret_access_key),
        bucket=bucket,
        region=REGION,
        prefix=prefix,
        extra=options,
    )


@dataclass
class Jupyter(JupyterApi):
    """A server's API, with the moto server and bucket it serves."""

    moto: MotoServer
    bucket: str


@contextmanager
def serving(
    moto: MotoServer,
    home: Path,
    bucket: str = "",
    *,
    env: dict[str, str] | None = None,
    port: int = 0,
    log_name: str = "server.log",
    prefix: str = PREFIX,
    options: Sequence[str] = OPTIONS,
    endpoint_url: str | None = None,
) -> Iterator[Jupyter]:
    """Run a Jupyter server (:func:`server_command`) in ``home`` on ``bucket``
    (default: a new one) until the block ends, once it answers; its output goes to
    ``home/log_name``."""
    if not bucket:
        bucket = f"e2e-{uuid.uuid4().hex[:12]}"
        moto.boto3_client().create_bucket(Bucket=bucket)
    port, token = port or unused_port(), uuid.uuid4().hex
    server = Jupyter(f"http://127.0.0.1:{port}", token, moto, bucket)
    cmd = server_command(
        port, token, home, moto, bucket, prefix=prefix, options=options, endpoint_url=endpoint_url
    )
    started = start_jupyter(
        cmd,
        home=home,
        url=server.url,
        token=token,
        env=env if env is not None else server_env(home),
        log_path=home / log_name,
    )
    try:
        yield server
    finally:
        started.stop()


@pytest.fixture(scope="module")
def jupyter(moto_auth: MotoServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Jupyter]:
    with serving(moto_auth, tmp_path_factory.mktemp("jupyter")) as server:
        yield server


def notebook(*sources: str) -> dict[str, Any]:
    return {
        "cells": [
            {
                "cell_type": "code",
                "id": f"c{i}",
                "source": s,
                "metadata": {},
                "outputs": [],
                "execution_count": None,
            }
            for i, s in enumerate(sources)
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def page_config(server: Jupyter | JupyterServer, route: str) -> dict[str, Any]:
    """The configuration a front-end page starts from (its jupyter-config-data)."""
    status, page, _ = server.call("GET", route, raw=True)
    assert status == 200
    found = re.search(
        rb'<script id="jupyter-config-data" type="application/json">(.*?)</script>', page, re.S
    )
    assert found, page[:500]
    return dict(json.loads(found.group(1)))


def test_notebook_7_is_served(jupyter: Jupyter) -> None:
    status, page, _ = jupyter.call("GET", "/tree", raw=True)
    assert status == 200 and b"<html" in page.lower()


def test_the_front_ends_start_at_the_root_of_the_bucket(jupyter: Jupyter) -> None:
    # Not at the local folder Jupyter was started in (Notebook 7: "Directory not found").
    assert page_config(jupyter, "/tree")["preferredPath"] == "/"
    assert page_config(jupyter, "/lab")["preferredPath"] == "/"


def test_the_front_ends_start_at_the_preferred_folder_of_the_bucket(
    moto_auth: MotoServer, tmp_path: Path
) -> None:
    bucket = f"e2e-{uuid.uuid4().hex[:12]}"
    moto_auth.boto3_client().create_bucket(Bucket=bucket)
    moto_auth.boto3_client().put_object(Bucket=bucket, Key="users/alice/work/", Body=b"")
    port, url = free_url()
    command = [
        *server_command(port, "t", tmp_path, moto_auth, bucket),
        "--JupyterS3.preferred_dir=work",
        f"--ServerApp.preferred_dir={tmp_path}",  # a local folder: means nothing to JupyterS3
    ]
    server = start_jupyter(command, home=tmp_path, url=url, token="t")
    try:
        assert page_config(server, "/tree")["preferredPath"] == "/work"
        assert page_config(server, "/lab")["preferredPath"] == "work"
        assert "ServerApp.preferred_dir" in server.log_text()  # the warning says it is ignored
    finally:
        server.stop()


def test_create_save_list_get(jupyter: Jupyter) -> None:
    status, model, headers = jupyter.contents("POST", "", {"type": "notebook"})
    assert status == 201 and model["path"] == "Untitled.ipynb"
    assert headers["Location"].endswith("/api/contents/Untitled.ipynb")
    status, model, _ = jupyter.contents("POST", "", {"type": "directory"})
    assert status == 201 and model["path"] == "Untitled Folder"

    status, model, _ = jupyter.contents(
        "PUT", "work.ipynb", {"type": "notebook", "content": notebook("1 + 1")}
    )
    assert status == 201 and model["type"] == "notebook"
    status, model, _ = jupyter.contents(
        "PUT", "work.ipynb", {"type": "notebook", "content": notebook("1 + 1", "2")}
    )
    assert status == 200

    status, listing, _ = jupyter.contents("GET", "")
    assert status == 200 and listing["type"] == "directory"
    names = {m["name"]: m["type"] for m in listing["content"]}
    assert names == {
        "Untitled.ipynb": "notebook",
        "Untitled Folder": "directory",
        "work.ipynb": "notebook",
    }
    status, model, _ = jupyter.contents("GET", "work.ipynb")
    assert [c["source"] for c in model["content"]["cells"]] == ["1 + 1", "2"]
    status, model, _ = jupyter.contents("GET", "work.ipynb", query="?content=0&hash=1")
    assert model["content"] is None and len(model["hash"]) == 64
    assert all(k.startswith("users/alice/") for k in all_keys(jupyter.moto, jupyter.bucket))


def test_checkpoints_endpoints(jupyter: Jupyter) -> None:
    jupyter.contents("PUT", "cp.ipynb", {"type": "notebook", "content": notebook("v1")})
    status, listed, _ = jupyter.call("GET", "/api/contents/cp.ipynb/checkpoints")
    assert status == 200 and len(listed) == 1  # made by the first save
    status, created, headers = jupyter.call("POST", "/api/contents/cp.ipynb/checkpoints")
    assert status == 201 and headers["Location"].endswith(f"/checkpoints/{created['id']}")
    jupyter.contents("PUT", "cp.ipynb", {"type": "notebook", "content": notebook("v2")})
    status, _, _ = jupyter.call("POST", f"/api/contents/cp.ipynb/checkpoints/{created['id']}")
    assert status == 204
    _, model, _ = jupyter.contents("GET", "cp.ipynb")
    assert model["content"]["cells"][0]["source"] == "v1"
    status, listed, _ = jupyter.call("GET", "/api/contents/cp.ipynb/checkpoints")
    assert listed[-1]["id"] == created["id"] and len(listed) == 2
    status, _, _ = jupyter.call("DELETE", f"/api/contents/cp.ipynb/checkpoints/{created['id']}")
    assert status == 204
    assert len(jupyter.call("GET", "/api/contents/cp.ipynb/checkpoints")[1]) == 1
    status, _, _ = jupyter.call("POST", "/api/contents/cp.ipynb/checkpoints/no-such-id")
    assert status == 404


def test_rename_copy_delete(jupyter: Jupyter) -> None:
    jupyter.contents("PUT", "r", {"type": "directory"})
    jupyter.contents("PUT", "r/a.ipynb", {"type": "notebook", "content": notebook("a")})
    status, model, _ = jupyter.contents("PATCH", "r/a.ipynb", {"path": "r/b.ipynb"})
    assert status == 200 and model["path"] == "r/b.ipynb"
    assert len(jupyter.call("GET", "/api/contents/r/b.ipynb/checkpoints")[1]) == 1
    assert jupyter.contents("GET", "r/a.ipynb")[0] == 404
    status, model, _ = jupyter.contents("POST", "r", {"copy_from": "r/b.ipynb"})
    assert status == 201 and model["path"] == "r/b-Copy1.ipynb"
    status, model, _ = jupyter.contents("PATCH", "r", {"path": "renamed"})
    assert status == 200 and model["type"] == "directory"
    _, listing, _ = jupyter.contents("GET", "renamed")
    assert sorted(m["name"] for m in listing["content"]) == ["b-Copy1.ipynb", "b.ipynb"]
    assert jupyter.contents("PATCH", "renamed", {"path": "work.ipynb"})[0] == 409
    assert jupyter.contents("DELETE", "renamed/b.ipynb")[0] == 204
    assert jupyter.contents("DELETE", "renamed")[0] == 204
    assert jupyter.contents("GET", "renamed")[0] == 404
    assert not [k for k in all_keys(jupyter.moto, jupyter.bucket) if "renamed" in k]


def test_orphaned_checkpoints_are_no_folder(jupyter: Jupyter) -> None:
    """Checkpoints the old jupyters3 left (ids in microseconds since the epoch) at a
    name with no file: not listed, a 404 that says what is there, and deletable."""
    jupyter.contents("PUT", "orph", {"type": "directory"})
    key = "users/alice/orph/gone.ipynb/.checkpoints/1600000000000000"
    jupyter.moto.boto3_client().put_object(Bucket=jupyter.bucket, Key=key, Body=b"{}")
    status, listing, _ = jupyter.contents("GET", "orph")
    assert status == 200 and listing["content"] == []
    # (jupyter_server answers a GET's 404 in its own words)
    assert jupyter.contents("GET", "orph/gone.ipynb")[0] == 404
    status, error, _ = jupyter.contents("PATCH", "orph/gone.ipynb", {"path": "orph/b.ipynb"})
    assert status == 404 and "only checkpoints" in error["message"]
    assert jupyter.contents("DELETE", "orph/gone.ipynb")[0] == 204
    assert [k for k in all_keys(jupyter.moto, jupyter.bucket) if "orph" in k] == [
        "users/alice/orph/"
    ]


def test_upload_and_download(jupyter: Jupyter) -> None:
    blob = os.urandom(300_000)
    body = {"type": "file", "format": "base64", "content": base64.b64encode(blob).decode()}
    status, model, _ = jupyter.contents("PUT", "data.bin", body)
    assert status == 201 and model["size"] == len(blob)
    status, payload, headers = jupyter.call("GET", "/files/data.bin", raw=True)
    assert status == 200 and payload == blob
    assert headers["Content-Type"] == "application/octet-stream"
    jupyter.contents("PUT", "hello.txt", {"type": "file", "format": "text", "content": "héllo"})
    status, payload, headers = jupyter.call("GET", "/files/hello.txt?download=1", raw=True)
    assert payload == "héllo".encode() and "attachment" in headers["Content-Disposition"]
    assert headers["Content-Type"] == "text/plain; charset=UTF-8"
    status, payload, headers = jupyter.call("HEAD", "/files/data.bin", raw=True)
    assert status == 200 and payload == b"" and headers["Content-Length"] == str(len(blob))
    assert jupyter.call("GET", "/files/missing.bin", raw=True)[0] == 404
    assert jupyter.call("GET", "/files/Untitled%20Folder", raw=True)[0] == 404


def test_chunked_upload(jupyter: Jupyter) -> None:
    pieces = [os.urandom(1024 * 1024) for _ in range(7)]  # as JupyterLab: 1 MiB chunks
    for i, piece in enumerate(pieces, start=1):
        chunk = -1 if i == len(pieces) else i
        status, model, _ = jupyter.contents(
            "PUT",
            "chunked.bin",
            {
                "type": "file",
                "format": "base64",
                "content": base64.b64encode(piece).decode(),
                "chunk": chunk,
            },
        )
        assert status in (200, 201), model
        if chunk != -1:  # nothing at the final key before the last chunk
            assert "chunked.bin" not in all_keys(jupyter.moto, jupyter.bucket, "users/alice/ch")
    assert model["size"] == 7 * 1024 * 1024
    status, payload, _ = jupyter.call("GET", "/files/chunked.bin", raw=True)
    assert payload == b"".join(pieces)
    uploads = jupyter.moto.boto3_client().list_multipart_uploads(Bucket=jupyter.bucket)
    assert not uploads.get("Uploads")


def test_bad_paths_and_hidden_files(jupyter: Jupyter) -> None:
    status, error, _ = jupyter.call("GET", "/api/contents/a%5Cb")
    assert status == 400 and "backslash" in error["message"]
    assert jupyter.call("GET", "/api/contents/x.ipynb/.checkpoints/1")[0] in (400, 404)
    assert (
        jupyter.contents("PUT", ".secret", {"type": "file", "format": "text", "content": ""})[0]
        == 400
    )
    assert jupyter.contents("GET", "does/not/exist.txt")[0] == 404


def test_bad_configuration_stops_the_server_with_one_clear_message(
    moto_auth: MotoServer, tmp_path: Path
) -> None:
    cmd = server_command(unused_port(), "t", tmp_path, moto_auth, "no-such-bucket-anywhere")
    proc = subprocess.run(
        cmd, env=server_env(tmp_path), capture_output=True, text=True, timeout=120
    )
    assert proc.returncode != 0
    output = proc.stdout + proc.stderr
    assert "Bad config encountered during initialization" in output
    assert "the bucket 'no-such-bucket-anywhere' does not exist" in output
    assert "Traceback" not in output
