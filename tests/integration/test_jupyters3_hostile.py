"""Nowhere else, and a 4xx for bad input: hostile keys in the bucket, paths too
long for S3, invalid notebooks; every refusal made before any S3 request."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from tornado.web import HTTPError

from jupyters3 import JupyterS3
from tests.faultproxy import S3Proxy
from tests.integration.test_jupyters3_fixtures import (
    all_keys,
    auth_proxy,
    error_of,
    make_manager,
    pcm,
    status_of,
    text,
)
from tests.integration.test_jupyters3_server import Jupyter, jupyter
from tests.motoserver import MotoServer

__all__ = ["auth_proxy", "jupyter", "pcm"]

WRITES = {"PutObject", "CopyObject", "UploadPart", "UploadPartCopy", "CreateMultipartUpload"}


@pytest.fixture
async def plain_proxy(moto: MotoServer) -> AsyncIterator[S3Proxy]:
    proxy = await S3Proxy(moto.endpoint_url).start()
    yield proxy
    await proxy.stop()


@pytest.fixture
async def alice(moto: MotoServer, bucket: str, plain_proxy: S3Proxy) -> AsyncIterator[JupyterS3]:
    """Alice's manager (prefix alice/) on the plain moto server, through a proxy."""
    manager = make_manager(moto, bucket, endpoint_url=plain_proxy.url, prefix="alice/")
    yield manager
    await manager.close()


# -- keys read from listings are untrusted -----------------------------------------

HOSTILE = [
    "alice/pl/../../bob/secret.txt",
    "alice/pl/./dot.txt",
    "alice/pl/sub/../../../bob/deep.txt",
    "alice/pl/back\\slash.txt",
    "alice/pl/empty//part.txt",
]


@pytest.mark.parametrize("operation", ["rename", "copy"])
async def test_keys_with_dot_segments_never_build_a_write(
    alice: JupyterS3, plain_proxy: S3Proxy, moto: MotoServer, bucket: str, operation: str
) -> None:
    """``alice/pl/../../bob/secret.txt`` exists as a literal key (other tools can
    write it): behind a path-normalising proxy, a write to a key built from it
    would land on ``bob/secret.txt``. It is left where it is, never copied."""
    s3 = moto.boto3_client()
    s3.put_object(Bucket=bucket, Key="bob/secret.txt", Body=b"bob's")
    for key in ["alice/pl/a.txt", *HOSTILE]:
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    plain_proxy.reset()
    if operation == "rename":
        error = await error_of(alice.rename("pl", "pl2"))
        assert error.status_code == 409 and "5 objects stayed at pl" in str(error.log_message)
        assert all_keys(moto, bucket, "alice/pl/") == sorted(HOSTILE)
    else:
        await alice.copy("pl", "")
        assert all_keys(moto, bucket, "alice/pl/") == sorted(["alice/pl/a.txt", *HOSTILE])
    written = [r.key for r in plain_proxy.requests if r.kind in WRITES]
    assert written, "nothing was copied"
    for key in written:
        parts = key.split("/")
        assert not {".", "..", ""} & set(parts) and "\\" not in key, key
    assert all_keys(moto, bucket, "alice/pl2/") in ([], ["alice/pl2/a.txt"])
    assert s3.get_object(Bucket=bucket, Key="bob/secret.txt")["Body"].read() == b"bob's"
    names = [m["name"] for m in (await alice.get("pl"))["content"]]
    assert ".." not in names and "." not in names


# -- paths too long for S3: 400, before any request ---------------------------------

LONG = "a/" + "x" * 1100


def long_path_calls(cm: JupyterS3) -> dict[str, Callable[[], Awaitable[Any]]]:
    return {
        "get": lambda: cm.get(LONG),
        "get dir": lambda: cm.get(LONG, type="directory"),
        "save": lambda: cm.save(text("x"), LONG),
        "save dir": lambda: cm.save({"type": "directory"}, LONG),
        "delete": lambda: cm.delete(LONG),
        "rename from": lambda: cm.rename(LONG, "b.txt"),
        "rename to": lambda: cm.rename("b.txt", LONG),
        "copy from": lambda: cm.copy(LONG),
        "copy to": lambda: cm.copy("b.txt", LONG),
        "new untitled": lambda: cm.new_untitled(path=LONG, type="notebook"),
        "list checkpoints": lambda: cm.list_checkpoints(LONG),
        "create checkpoint": lambda: cm.create_checkpoint(LONG),
        "restore checkpoint": lambda: cm.restore_checkpoint("20200101T000000Z-0000", LONG),
        "delete checkpoint": lambda: cm.delete_checkpoint("20200101T000000Z-0000", LONG),
        "trust": lambda: cm.trust_notebook(LONG),
        "exists": lambda: cm.exists(LONG),
        "file exists": lambda: cm.file_exists(LONG),
        "dir exists": lambda: cm.dir_exists(LONG),
    }


async def test_paths_too_long_answer_400_before_any_request(
    pcm: JupyterS3, auth_proxy: S3Proxy
) -> None:
    await pcm.save(text("b"), "b.txt")
    failures = {}
    for name, call in long_path_calls(pcm).items():
        auth_proxy.reset()
        try:
            await call()
        except HTTPError as e:
            if e.status_code != 400 or "too long" not in str(e.log_message):
                failures[name] = f"{e.status_code} {e.log_message}"
        except Exception as e:
            failures[name] = f"{type(e).__name__}: {e}"
        else:
            failures[name] = "no error"
        if auth_proxy.total:
            failures[name] = f"{failures.get(name, '')} after {dict(auth_proxy.counts)}"
    assert failures == {}


def test_paths_too_long_over_http_are_400(jupyter: Jupyter) -> None:
    """The same through a real Jupyter server, with the endpoints that call the
    manager indirectly: /files/, checkpoints, trust."""
    jupyter.contents("PUT", "short.txt", text("x"))
    path = "/" + LONG
    for method, url, body in [
        ("GET", "/files" + path, None),
        ("HEAD", "/files" + path, None),
        ("GET", "/api/contents" + path, None),
        ("PUT", "/api/contents" + path, text("x")),
        ("DELETE", "/api/contents" + path, None),
        ("PATCH", "/api/contents/short.txt", {"path": LONG}),
        ("GET", "/api/contents" + path + "/checkpoints", None),
        ("POST", "/api/contents" + path + "/checkpoints", None),
        ("POST", "/api/contents" + path + "/trust", None),
    ]:
        status = jupyter.call(method, url, body, raw=True)[0]
        assert status == 400, (method, url[:40], status)


async def test_rename_to_keys_too_long_is_refused_before_the_first_copy(
    pcm: JupyterS3, auth_proxy: S3Proxy, moto_auth: MotoServer, auth_bucket: str
) -> None:
    await pcm.save({"type": "directory"}, "deep")
    await pcm.save(text("short"), "deep/a.txt")
    await pcm.save(text("long"), "deep/" + "d" * 900 + ".txt")
    auth_proxy.reset()
    error = await error_of(pcm.rename("deep", "e" * 150))
    assert error.status_code == 400 and "too long" in str(error.log_message)
    assert auth_proxy.counts["CopyObject"] == 0
    assert await status_of(pcm.copy("deep", "e" * 150)) == 400
    assert auth_proxy.counts["CopyObject"] == 0
    assert len(all_keys(moto_auth, auth_bucket, "deep/")) == 3


# -- invalid notebooks: what is wrong, in words ---------------------------------------

INTERNALS = ("No module named", "object has no attribute", "KeyError", "Traceback", "<class")


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ({"nbformat": 4, "nbformat_minor": 5, "metadata": {}}, "no list of cells"),
        ({"nbformat": 99, "nbformat_minor": 0, "metadata": {}, "cells": []}, "version 99"),
        ("just a string", "must be a JSON object"),
        ([1, 2], "must be a JSON object"),
        ({"cells": [], "metadata": {}}, "no nbformat version"),
        ({"nbformat": 4, "nbformat_minor": 5, "metadata": [], "cells": []}, "metadata"),
        ({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": ["x"]}, "cell 1"),
    ],
)
async def test_invalid_notebooks_are_refused_in_words(
    pcm: JupyterS3, content: Any, words: str
) -> None:
    error = await error_of(pcm.save({"type": "notebook", "content": content}, "bad.ipynb"))
    message = str(error.log_message)
    assert error.status_code == 400
    assert message.startswith("Invalid notebook bad.ipynb: ") and words in message, message
    assert not any(internal in message for internal in INTERNALS), message
    assert not await pcm.file_exists("bad.ipynb")


async def test_bad_values_in_request_bodies_are_400(pcm: JupyterS3) -> None:
    """What jupyter_server's handlers pass on unchecked (``{"path": null}`` in a
    PATCH, ``"ext": 5`` in a POST) is refused by the manager, not a 500."""
    await pcm.save(text("x"), "a.txt")
    for call in (
        lambda: pcm.update({"path": None}, "a.txt"),
        lambda: pcm.update({"path": 5}, "a.txt"),
        lambda: pcm.new_untitled(ext=5),  # type: ignore[arg-type]
        lambda: pcm.new_untitled(type=["file"]),  # type: ignore[arg-type]
    ):
        assert await status_of(call()) == 400
    assert await pcm.file_exists("a.txt")
