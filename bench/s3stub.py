"""A fast loopback S3 stand-in for the benchmarks: a minimal tornado app, no signature checks.

Answers path-style ``/bucket/key`` requests: PUT (object or multipart part), GET, HEAD,
DELETE, and the multipart calls (POST ``?uploads``, POST ``?uploadId``, DELETE
``?uploadId``), with S3-like headers (ETag, Last-Modified, Content-Length,
x-amz-request-id). Connections stay alive.

Request bodies are streamed (``@stream_request_body``): bodies up to ``STORE_LIMIT``
are kept in memory and get their MD5 as ETag; larger ones (and every multipart part)
are **discarded** as they arrive (only their length is counted and checked against
Content-Length), so the server costs as little CPU per byte as tornado allows.

Run it alone with ``python bench/s3stub.py`` (prints the port, serves until stdin
closes), or from a benchmark with ``with StubServer() as endpoint_url: ...``, which
starts it in a separate process on 127.0.0.1 and stops it on exit.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import os
import subprocess
import sys
import time
from email.utils import formatdate
from types import TracebackType
from typing import Any

from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets
from tornado.web import Application, RequestHandler, stream_request_body

STORE_LIMIT = 1 << 20  # bodies up to this size are kept (and can be read back)
CHUNK_SIZE = 1 << 20  # how much tornado reads from the socket at once
XMLNS = "http://s3.amazonaws.com/doc/2006-03-01/"
# What the benchmark clients sign with (the stub checks no signature).
ACCESS_KEY, SECRET_KEY = "AKIDBENCHEXAMPLE", "bench/secret/key/EXAMPLE"
REGION = "us-east-1"

_objects: dict[str, tuple[bytes, str, str]] = {}  # path -> (body, etag, last-modified)
_uploads: dict[str, int] = {}  # upload id -> parts received
_ids = itertools.count(1)


def _http_date() -> str:
    return formatdate(time.time(), usegmt=True)


@stream_request_body
class ObjectHandler(RequestHandler):
    """Every request on ``/bucket/key`` (and ``/bucket``)."""

    def initialize(self) -> None:
        self._keep = False
        self._pieces: list[bytes] = []
        self._received = 0

    def compute_etag(self) -> str | None:
        return None  # S3 ETags are set explicitly; do not hash response bodies

    def set_default_headers(self) -> None:
        self.set_header("Server", "AmazonS3")
        self.set_header("x-amz-request-id", f"{next(_ids):016X}")

    def prepare(self) -> None:
        length = int(self.request.headers.get("Content-Length", "0"))
        self._keep = length <= STORE_LIMIT and "uploadId" not in self.request.arguments

    def data_received(self, chunk: bytes) -> None:
        self._received += len(chunk)
        if self._keep:
            self._pieces.append(chunk)

    def _error(self, status: int, code: str, message: str) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/xml")
        self.finish(
            f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
            f"<Message>{message}</Message><RequestId>stub</RequestId></Error>"
        )

    def _check_length(self) -> bool:
        length = int(self.request.headers.get("Content-Length", "0"))
        if self._received != length:
            self._error(400, "IncompleteBody", f"got {self._received} of {length} bytes")
            return False
        return True

    def put(self, path: str) -> None:
        if not self._check_length():
            return
        args = self.request.arguments
        if "uploadId" in args:  # UploadPart: the body was discarded
            upload_id = self.get_argument("uploadId")
            if upload_id not in _uploads:
                return self._error(404, "NoSuchUpload", "no such upload")
            _uploads[upload_id] += 1
            part = self.get_argument("partNumber")
            self.set_header("ETag", f'"{hashlib.md5(f"{upload_id}/{part}".encode()).hexdigest()}"')
            return
        if self._keep:
            body = b"".join(self._pieces)
            etag = f'"{hashlib.md5(body).hexdigest()}"'
        else:  # discarded: an ETag that still differs per size
            body = b""
            etag = f'"{hashlib.md5(str(self._received).encode()).hexdigest()}"'
        _objects[path] = (body, etag, _http_date())
        self.set_header("ETag", etag)

    def _object(self, path: str) -> tuple[bytes, str, str] | None:
        obj = _objects.get(path)
        if obj is None:
            self._error(404, "NoSuchKey", "The specified key does not exist.")
        return obj

    def _object_headers(self, body: bytes, etag: str, modified: str) -> None:
        self.set_header("ETag", etag)
        self.set_header("Last-Modified", modified)
        self.set_header("Content-Type", "binary/octet-stream")
        self.set_header("Content-Length", str(len(body)))
        self.set_header("Accept-Ranges", "bytes")

    def get(self, path: str) -> None:
        obj = self._object(path)
        if obj is not None:
            self._object_headers(*obj)
            self.write(obj[0])

    def head(self, path: str) -> None:
        obj = self._object(path)
        if obj is not None:
            self._object_headers(*obj)

    def post(self, path: str) -> None:
        bucket, _, key = path.partition("/")
        args = self.request.arguments
        self.set_header("Content-Type", "application/xml")
        if "uploads" in args:  # CreateMultipartUpload
            upload_id = f"upload-{next(_ids)}"
            _uploads[upload_id] = 0
            self.finish(
                f'<?xml version="1.0" encoding="UTF-8"?>\n<InitiateMultipartUploadResult '
                f'xmlns="{XMLNS}"><Bucket>{bucket}</Bucket><Key>{key}</Key>'
                f"<UploadId>{upload_id}</UploadId></InitiateMultipartUploadResult>"
            )
        elif "uploadId" in args:  # CompleteMultipartUpload
            parts = _uploads.pop(self.get_argument("uploadId"), None)
            if parts is None:
                return self._error(404, "NoSuchUpload", "no such upload")
            etag = f'"{hashlib.md5(path.encode()).hexdigest()}-{parts}"'
            _objects[path] = (b"", etag, _http_date())
            self.finish(
                f'<?xml version="1.0" encoding="UTF-8"?>\n<CompleteMultipartUploadResult '
                f'xmlns="{XMLNS}"><Location>http://stub/{path}</Location><Bucket>{bucket}'
                f"</Bucket><Key>{key}</Key><ETag>{etag}</ETag></CompleteMultipartUploadResult>"
            )
        else:
            self._error(400, "NotImplemented", "the stub does not do this")

    def delete(self, path: str) -> None:
        if "uploadId" in self.request.arguments:
            _uploads.pop(self.get_argument("uploadId"), None)
        else:
            _objects.pop(path, None)
        self.set_status(204)


def boto3_client(url: str, **config: Any) -> Any:
    """A boto3 S3 client for the stub at ``url`` (path style; ``config`` goes to
    botocore's ``Config``)."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=url,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        config=Config(s3={"addressing_style": "path"}, **config),
    )


def make_app() -> Application:
    return Application([(r"/(.+)", ObjectHandler)])


async def serve() -> None:
    """Serve on a free 127.0.0.1 port, print the port, stop when stdin closes."""
    sockets = bind_sockets(0, "127.0.0.1")
    server = HTTPServer(make_app(), chunk_size=CHUNK_SIZE, max_body_size=8 << 30)
    server.add_sockets(sockets)
    print(sockets[0].getsockname()[1], flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    server.stop()


def process_cpu_seconds(pid: int) -> float:
    """CPU time (user + system) process ``pid`` has used so far (Linux ``/proc``)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class StubServer:
    """The stub in a child process: ``with StubServer() as endpoint_url: ...``."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen[str] | None = None
        self.endpoint_url = ""

    def __enter__(self) -> str:
        self._proc = subprocess.Popen(
            [sys.executable, __file__], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self._proc.stdout is not None
        port = self._proc.stdout.readline().strip()
        if not port.isdigit():
            self._proc.kill()
            raise RuntimeError("the S3 stub did not start")
        self.endpoint_url = f"http://127.0.0.1:{port}"
        return self.endpoint_url

    @property
    def pid(self) -> int | None:
        """The server process id (None before it starts)."""
        return self._proc.pid if self._proc else None

    def cpu_seconds(self) -> float:
        """CPU time (user + system) the server process has used so far."""
        assert self._proc is not None
        return process_cpu_seconds(self._proc.pid)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        proc = self._proc
        if proc is None:
            return
        assert proc.stdin is not None
        proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


if __name__ == "__main__":
    asyncio.run(serve())
