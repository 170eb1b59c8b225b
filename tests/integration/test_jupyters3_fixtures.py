"""Shared helpers for the jupyters3 integration tests (no tests here).

- ``make_manager``: a JupyterS3 configured against a moto server;
- ``S3Proxy``: a loopback HTTP proxy in front of moto that counts S3 requests
  by kind, can hold requests until the test lets them go, and can answer
  chosen requests with an S3 error (a fault injected midway).
"""

from __future__ import annotations

import asyncio
import socket
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from tornado.httpclient import AsyncHTTPClient, HTTPRequest
from tornado.httpserver import HTTPServer
from tornado.httputil import HTTPServerRequest
from tornado.web import Application, RequestHandler
from traitlets.config import Config

from jupyters3 import JupyterS3, JupyterS3SecretAccessKeyAuthentication
from tests.motoserver import REGION, MotoServer

_HOP_BY_HOP = {"content-length", "transfer-encoding", "connection", "keep-alive"}


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


def kind_of(method: str, query: dict[str, list[bytes]], headers: dict[str, str]) -> str:
    """The S3 operation of a request, as a short name."""
    if method == "GET" and "list-type" in query:
        return "ListObjectsV2"
    if method == "POST" and "delete" in query:
        return "DeleteObjects"
    if method == "POST" and "uploads" in query:
        return "CreateMultipartUpload"
    if method == "POST" and "uploadId" in query:
        return "CompleteMultipartUpload"
    if method == "PUT" and "partNumber" in query:
        return "UploadPartCopy" if "x-amz-copy-source" in headers else "UploadPart"
    if method == "DELETE" and "uploadId" in query:
        return "AbortMultipartUpload"
    if method == "PUT" and "x-amz-copy-source" in headers:
        return "CopyObject"
    return {"GET": "GetObject", "HEAD": "HeadObject", "PUT": "PutObject"}.get(
        method, "DeleteObject" if method == "DELETE" else method
    )


Fault = Callable[[str, HTTPServerRequest], "tuple[int, str] | None"]


class S3Proxy:
    """A counting, holding, fault-injecting loopback proxy in front of an S3 server.

    Requests keep their ``Host`` header, so SigV4 signatures made for the proxy's
    address still verify on the server behind it.
    """

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.counts: Counter[str] = Counter()
        self.keys: list[tuple[str, str]] = []
        self.headers: list[dict[str, str]] = []
        self.hold: Callable[[], Awaitable[None]] | None = None
        self.fault: Fault | None = None
        self._server: HTTPServer | None = None
        self.url = ""

    def reset(self) -> None:
        self.counts.clear()
        self.keys.clear()
        self.headers.clear()

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    async def start(self, ssl_options: Any = None) -> S3Proxy:
        """Listen on a free loopback port (over TLS with ``ssl_options``)."""
        proxy = self

        class Forward(RequestHandler):
            SUPPORTED_METHODS = ("GET", "HEAD", "PUT", "POST", "DELETE")

            async def _forward(self) -> None:
                req = self.request
                headers = {k.lower(): v for k, v in req.headers.items()}
                kind = kind_of(req.method or "", req.query_arguments, headers)
                proxy.counts[kind] += 1
                proxy.keys.append((kind, req.path))
                proxy.headers.append(headers)
                if proxy.hold is not None:
                    await proxy.hold()
                if proxy.fault is not None:
                    answer = proxy.fault(kind, req)
                    if answer is not None:
                        status, code = answer
                        self.set_status(status)
                        self.set_header("Content-Type", "application/xml")
                        self.finish(
                            f"<Error><Code>{code}</Code><Message>injected</Message>"
                            f"<RequestId>proxy-{len(proxy.keys)}</RequestId></Error>"
                        )
                        return
                upstream = HTTPRequest(
                    proxy.upstream + req.uri,
                    method=req.method,
                    headers={k: v for k, v in req.headers.get_all() if k.lower() != "expect"},
                    body=req.body if req.method in ("PUT", "POST") else None,
                    allow_nonstandard_methods=True,
                    decompress_response=False,
                    follow_redirects=False,
                    request_timeout=120,
                )
                resp = await AsyncHTTPClient().fetch(upstream, raise_error=False)
                self.set_status(resp.code, resp.reason)
                self.clear_header("Content-Type")
                for name, value in resp.headers.get_all():
                    if name.lower() not in _HOP_BY_HOP:
                        self.add_header(name, value)
                if req.method == "HEAD" or resp.code in (204, 304):
                    length = resp.headers.get("Content-Length")
                    if length is not None:
                        self.set_header("Content-Length", length)
                    self.finish()
                else:
                    self.finish(resp.body or b"")

            get = head = put = post = delete = _forward

        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen(128)
        sock.setblocking(False)
        port = sock.getsockname()[1]
        self._server = HTTPServer(
            Application([(r".*", Forward)]),
            max_body_size=1 << 30,
            max_buffer_size=1 << 30,
            ssl_options=ssl_options,
        )
        self._server.add_sockets([sock])
        self.url = f"{'https' if ssl_options else 'http'}://127.0.0.1:{port}"
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            await self._server.close_all_connections()


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
