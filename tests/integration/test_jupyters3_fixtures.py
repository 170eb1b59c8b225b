"""Shared helpers for the jupyters3 integration tests (no tests here).

- ``make_manager``: a JupyterS3 configured against a moto server;
- ``auth_proxy``: a :class:`tests.faultproxy.S3Proxy` in front of moto, which
  counts S3 requests by kind and injects faults (errors, resets, stalls,
  truncated bodies, held requests).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from traitlets.config import Config

from jupyters3 import JupyterS3, JupyterS3SecretAccessKeyAuthentication
from tests.faultproxy import S3Proxy
from tests.motoserver import REGION, MotoServer

__all__ = ["S3Proxy", "all_keys", "auth_proxy", "cm", "fill", "make_manager", "plain_cm"]


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
