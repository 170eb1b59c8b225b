"""Shared helpers for the jupyters3 integration tests (no tests here).

- ``make_manager``: a JupyterS3 configured against a moto server;
- ``auth_proxy``: a :class:`tests.faultproxy.S3Proxy` in front of moto, which
  counts S3 requests by kind and injects faults (errors, resets, stalls,
  truncated bodies, held requests); ``pcm``: a JupyterS3 through it;
- models to save (``text``, ``notebook``) and what a manager answers
  (``content_of``, ``error_of``, ``status_of``), S3 keys (``fill``, ``all_keys``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable
from typing import Any

import pytest
from nbformat.v4 import new_code_cell, new_notebook
from tornado.web import HTTPError
from traitlets.config import Config

from jupyters3 import JupyterS3, JupyterS3SecretAccessKeyAuthentication
from tests.faultproxy import S3Proxy
from tests.motoserver import REGION, MotoServer

__all__ = [
    "S3Proxy",
    "all_keys",
    "auth_proxy",
    "cm",
    "content_of",
    "error_of",
    "fill",
    "make_manager",
    "notebook",
    "pcm",
    "plain_cm",
    "status_of",
    "text",
]


def manager_config(endpoint_url: str, server: MotoServer, bucket: str, **options: Any) -> Config:
    c = Config()
    c.JupyterS3.aws_s3_bucket = bucket
    c.JupyterS3.endpoint_url = endpoint_url
    c.JupyterS3.aws_region = REGION
    c.JupyterS3.authentication_class = JupyterS3SecretAccessKeyAuthentication
    c.JupyterS3SecretAccessKeyAuthentication.aws_access_key_id = server.access_key_id
    c.JupyterS3SecretAccessKeyAuthentication.aws_secret_access_key = server.secret_access_key
    c.NotebookNotary.db_file = ":memory:"
    for name, value in options.items():
        setattr(c.JupyterS3, name, value)
    return c


def make_manager(
    server: MotoServer, bucket: str, *, endpoint_url: str | None = None, **options: Any
) -> JupyterS3:
    """A JupyterS3 on ``bucket`` of ``server`` (or through ``endpoint_url``, e.g. a proxy
    served by the test's own event loop: the start-up check, which blocks its caller as
    start-up checks do, is then off)."""
    if endpoint_url is not None:
        options.setdefault("startup_check", False)
    config = manager_config(endpoint_url or server.endpoint_url, server, bucket, **options)
    return JupyterS3(config=config)


@pytest.fixture
async def auth_proxy(moto_auth: MotoServer) -> AsyncIterator[S3Proxy]:
    """A counting proxy in front of the signature-checking moto server."""
    proxy = await S3Proxy(moto_auth.endpoint_url).start()
    yield proxy
    await proxy.stop()


@pytest.fixture
async def pcm(
    moto_auth: MotoServer, auth_bucket: str, auth_proxy: S3Proxy
) -> AsyncIterator[JupyterS3]:
    """A JupyterS3 whose every S3 request goes through ``auth_proxy``."""
    manager = make_manager(moto_auth, auth_bucket, endpoint_url=auth_proxy.url)
    yield manager
    auth_proxy.clear_faults()
    await manager.close()


@pytest.fixture
async def cm(moto_auth: MotoServer, auth_bucket: str) -> AsyncIterator[JupyterS3]:
    """A JupyterS3 on a fresh bucket of the signature-checking moto server."""
    manager = make_manager(moto_auth, auth_bucket)
    yield manager
    await manager.close()


@pytest.fixture
async def plain_cm(moto: MotoServer, bucket: str) -> AsyncIterator[JupyterS3]:
    """A JupyterS3 on the plain moto server (for names moto's signature check mishandles)."""
    manager = make_manager(moto, bucket)
    yield manager
    await manager.close()


async def fill(
    server: MotoServer, bucket: str, keys: list[str], body: bytes = b"x", threads: int = 16
) -> None:
    """Put many small objects quickly (boto3 in threads)."""
    client = server.boto3_client()

    def put(chunk: list[str]) -> None:
        for key in chunk:
            client.put_object(Bucket=bucket, Key=key, Body=body)

    chunks = [keys[i::threads] for i in range(threads)]
    await asyncio.gather(*(asyncio.to_thread(put, c) for c in chunks if c))


def all_keys(server: MotoServer, bucket: str, prefix: str = "") -> list[str]:
    client = server.boto3_client()
    keys: list[str] = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys.extend(o["Key"] for o in page.get("Contents", []))
    return sorted(keys)


def text(content: str) -> dict[str, object]:
    """The model of a text file to save."""
    return {"type": "file", "format": "text", "content": content}


def notebook(source: str) -> dict[str, object]:
    """The model of a notebook of one code cell to save."""
    return {"type": "notebook", "content": new_notebook(cells=[new_code_cell(source)])}


async def content_of(cm: JupyterS3, path: str) -> str | None:
    """The text of the file at ``path`` (a notebook's first cell), None if it is not there."""
    try:
        model = await cm.get(path)
    except HTTPError as e:
        assert e.status_code == 404
        return None
    if model["type"] == "notebook":
        return str(model["content"].cells[0].source)
    return str(model["content"])


async def error_of(awaitable: Awaitable[Any]) -> HTTPError:
    """The HTTP error ``awaitable`` raises (the test fails if it raises none)."""
    with pytest.raises(HTTPError) as e:
        await awaitable
    return e.value


async def status_of(awaitable: Awaitable[Any]) -> int:
    """The status of the HTTP error ``awaitable`` raises."""
    return (await error_of(awaitable)).status_code
