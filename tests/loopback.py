"""Loopback HTTP servers for tests: answer exactly what a test scripts.

Two kinds, both on ``127.0.0.1`` port 0, both counting the TCP connections they
accept, hold open and see closed (``accepted``, ``open``, ``max_open``, ``closed``):

* :func:`start_raw_server` runs ``handler(peer)`` for every accepted connection.
  A :class:`Peer` reads requests (:meth:`Peer.read_request`) and writes whatever
  bytes the test wants: well-formed responses (:func:`http_response`), truncated
  bodies, garbage, a reset (:meth:`Peer.reset`), a clean close, nothing at all.
* :func:`start_app_server` serves a tornado ``Application`` (optionally over TLS).

Both run on the calling test's event loop. :class:`ThreadedServer` runs either in
a background thread with its own loop, for tests that use several event loops in
sequence (or none). :func:`self_signed_cert` makes a certificate with ``openssl``.

Example (a server that answers one request and then resets the connection)::

    async def handler(peer: Peer) -> None:
        await peer.read_request()
        await peer.send(http_response(200, b"hi"))
        await peer.read_request()  # the client's next request...
        peer.reset()  # ...is answered with a RST

    async with await start_raw_server(handler) as server:
        ...  # server.host is "127.0.0.1:<port>"
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import shutil
import socket
import ssl
import struct
import subprocess
import threading
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from tornado.httpserver import HTTPServer
from tornado.iostream import IOStream, StreamClosedError
from tornado.netutil import bind_sockets
from tornado.tcpserver import TCPServer
from tornado.web import Application

__all__ = [
    "LoopbackServer",
    "Peer",
    "ReceivedRequest",
    "ThreadedServer",
    "http_response",
    "self_signed_cert",
    "serve_forever",
    "start_app_server",
    "start_raw_server",
    "wait_until",
]

_REASONS = {
    100: "Continue",
    200: "OK",
    204: "No Content",
    206: "Partial Content",
    304: "Not Modified",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


def http_response(
    status: int = 200,
    body: bytes = b"",
    headers: Mapping[str, str] | Iterable[tuple[str, str]] = (),
    *,
    chunked: bool = False,
    close: bool = False,
    version: str = "HTTP/1.1",
    content_length: bool = True,
    reason: str | None = None,
) -> bytes:
    """The bytes of one response. ``chunked`` sends ``body`` as one chunk plus the
    final chunk; otherwise a ``Content-Length`` is added unless ``content_length``
    is False (read-until-close framing). ``close`` adds ``Connection: close``;
    ``reason`` replaces the standard reason phrase."""
    items = list(headers.items() if isinstance(headers, Mapping) else headers)
    if close:
        items.append(("Connection", "close"))
    if chunked:
        items.append(("Transfer-Encoding", "chunked"))
        payload = (b"%x\r\n%s\r\n" % (len(body), body) if body else b"") + b"0\r\n\r\n"
    else:
        if content_length:
            items.append(("Content-Length", str(len(body))))
        payload = body
    lines = [f"{version} {status} {reason or _REASONS.get(status, 'Status')}"]
    lines += [f"{k}: {v}" for k, v in items]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + payload


@dataclass
class ReceivedRequest:
    """A request as the server received it. ``body`` is empty when the request was
    read with ``keep_body=False``; ``body_sha256``/``body_length`` are always set."""

    method: str
    target: str
    version: str
    headers: dict[str, str]
    header_list: list[tuple[str, str]]
    body: bytes
    body_sha256: str
    body_length: int


class Peer:
    """The server side of one accepted connection."""

    def __init__(self, stream: IOStream, server: LoopbackServer, index: int) -> None:
        self.stream = stream
        self.server = server
        self.index = index  # 0 for the first connection the server accepted
        self.requests: list[ReceivedRequest] = []

    async def read_request(self, *, keep_body: bool = True) -> ReceivedRequest | None:
        """Read one request (head and Content-Length or chunked body); ``None`` if
        the client closed the connection cleanly before sending one."""
        try:
            head = await self.stream.read_until(b"\r\n\r\n", max_bytes=16 << 20)
        except StreamClosedError:
            if self.stream._read_buffer_size:
                raise
            return None
        lines = head.decode("latin-1").split("\r\n")
        method, target, version = lines[0].split(" ", 2)
        header_list: list[tuple[str, str]] = []
        for line in lines[1:]:
            if line:
                name, _, value = line.partition(":")
                header_list.append((name.strip(), value.strip()))
        headers: dict[str, str] = {}
        for name, value in header_list:
            key = name.lower()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        if headers.get("expect", "").lower() == "100-continue":  # as botocore sends it
            await self.stream.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        digest = hashlib.sha256()
        kept: list[bytes] = []
        length = 0

        def take(data: bytes) -> None:
            nonlocal length
            digest.update(data)
            length += len(data)
            if keep_body:
                kept.append(data)

        if headers.get("transfer-encoding", "").lower() == "chunked":
            while True:
                size = int((await self.stream.read_until(b"\r\n")).split(b";")[0], 16)
                if not size:
                    while await self.stream.read_until(b"\r\n") != b"\r\n":
                        pass
                    break
                await self._read_exactly(size, take)
                await self.stream.read_bytes(2)
        else:
            await self._read_exactly(int(headers.get("content-length", "0")), take)
        request = ReceivedRequest(
            method,
            target,
            version,
            headers,
            header_list,
            b"".join(kept),
            digest.hexdigest(),
            length,
        )
        self.requests.append(request)
        self.server.requests.append(request)
        return request

    async def _read_exactly(self, n: int, take: Callable[[bytes], None]) -> None:
        while n:
            data = await self.stream.read_bytes(min(n, 1 << 20), partial=True)
            n -= len(data)
            take(data)

    async def send(self, data: bytes) -> None:
        """Write raw bytes and wait until they are handed to the kernel."""
        await self.stream.write(data)

    async def respond(self, status: int = 200, body: bytes = b"", **kwargs: Any) -> None:
        """Send :func:`http_response` ``(status, body, **kwargs)``."""
        await self.send(http_response(status, body, **kwargs))

    async def send_slowly(self, data: bytes, *, pieces: int = 10, delay: float = 0.05) -> None:
        """Write ``data`` in ``pieces`` parts with ``delay`` seconds before each."""
        step = max(1, -(-len(data) // pieces))
        for start in range(0, len(data), step):
            await asyncio.sleep(delay)
            await self.send(data[start : start + step])

    def reset(self) -> None:
        """Abort the connection: the client sees a TCP RST, not a clean close."""
        if not self.stream.closed():
            sock = self.stream.socket
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.stream.close()

    def close(self) -> None:
        """Close the connection cleanly (FIN)."""
        self.stream.close()

    async def wait_closed(self) -> None:
        """Wait until the client closes the connection (discarding what it sends)."""
        with contextlib.suppress(StreamClosedError):
            while True:
                await self.stream.read_bytes(1 << 16, partial=True)


Handler = Callable[[Peer], Awaitable[None]]


async def serve_forever(
    peer: Peer, response: bytes | Callable[[ReceivedRequest], bytes | Awaitable[bytes]]
) -> None:
    """A handler body: answer every request on the connection with ``response``
    (bytes, or a function of the request returning them), until the client closes."""
    while (request := await peer.read_request()) is not None:
        if isinstance(response, bytes):
            await peer.send(response)
        else:
            answer = response(request)
            await peer.send(answer if isinstance(answer, bytes) else await answer)


class LoopbackServer:
    """A running loopback server and its connection counters."""

    def __init__(self, tls: bool = False) -> None:
        self.port = 0
        self.tls = tls
        self.accepted = 0  # connections accepted so far
        self.open = 0  # connections open now
        self.max_open = 0  # most connections open at once
        self.closed = 0  # connections that were closed (by either side)
        self.peers: list[Peer] = []
        self.requests: list[ReceivedRequest] = []  # raw servers: every request read
        # Exceptions raised by raw handlers (re-raised when the ``async with`` ends).
        self.errors: list[BaseException] = []
        self._server: TCPServer | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def host(self) -> str:
        """``127.0.0.1:<port>``, the Host a client should use."""
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}"

    def _opened(self) -> int:
        index = self.accepted
        self.accepted += 1
        self.open += 1
        self.max_open = max(self.max_open, self.open)
        return index

    def _closed(self) -> None:
        self.open -= 1
        self.closed += 1

    async def stop(self) -> None:
        """Stop listening and close every connection still open."""
        if self._server is not None:
            self._server.stop()
            if isinstance(self._server, HTTPServer):
                await self._server.close_all_connections()
        for peer in self.peers:
            peer.stream.close()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(BaseException):
                await task

    async def __aenter__(self) -> LoopbackServer:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
        if exc is None and self.errors:
            # A scripted handler failed (e.g. an assert in it): fail the test too.
            raise self.errors[0]


class _RawTCPServer(TCPServer):
    def __init__(self, owner: LoopbackServer, handler: Handler, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.owner = owner
        self.handler = handler

    def handle_stream(self, stream: IOStream, address: tuple[Any, ...]) -> None:
        owner = self.owner
        peer = Peer(stream, owner, owner._opened())
        owner.peers.append(peer)
        stream.set_close_callback(owner._closed)
        task = asyncio.get_running_loop().create_task(self._run(peer))
        owner._tasks.add(task)
        task.add_done_callback(owner._tasks.discard)

    async def _run(self, peer: Peer) -> None:
        try:
            await self.handler(peer)
        except StreamClosedError:
            pass  # the client went away: fine for a scripted server
        except Exception as e:
            self.owner.errors.append(e)
        finally:
            peer.stream.close()


class _CountingHTTPServer(HTTPServer):
    owner: LoopbackServer

    def handle_stream(self, stream: IOStream, address: tuple[Any, ...]) -> None:
        self.owner._opened()
        super().handle_stream(stream, address)

    def on_close(self, server_conn: object) -> None:
        self.owner._closed()
        super().on_close(server_conn)


async def start_raw_server(
    handler: Handler, *, ssl_context: ssl.SSLContext | None = None
) -> LoopbackServer:
    """Start a scripted server on the running loop: ``handler(peer)`` runs for each
    connection, which is closed when it returns."""
    owner = LoopbackServer(tls=ssl_context is not None)
    server = _RawTCPServer(owner, handler, ssl_options=ssl_context)
    _listen(server, owner)
    return owner


async def start_app_server(
    app: Application, *, ssl_context: ssl.SSLContext | None = None, **kwargs: Any
) -> LoopbackServer:
    """Serve a tornado ``Application`` on the running loop (``kwargs`` go to
    ``HTTPServer``, e.g. ``idle_connection_timeout``)."""
    owner = LoopbackServer(tls=ssl_context is not None)
    server = _CountingHTTPServer(app, ssl_options=ssl_context, **kwargs)
    server.owner = owner
    _listen(server, owner)
    return owner


def _listen(server: TCPServer, owner: LoopbackServer) -> None:
    sockets = bind_sockets(0, "127.0.0.1")
    owner.port = sockets[0].getsockname()[1]
    server.add_sockets(sockets)
    owner._server = server


class ThreadedServer:
    """A loopback server on its own event loop in a background thread.

    ``start`` is a coroutine function returning a :class:`LoopbackServer` (e.g.
    ``lambda: start_app_server(app)``). Use as a context manager; counters are read
    from the test's thread (plain ints, so reads are safe enough for tests).
    """

    def __init__(self, start: Callable[[], Awaitable[LoopbackServer]]) -> None:
        self._start = start
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self.server: LoopbackServer | None = None

    def __enter__(self) -> LoopbackServer:
        self._thread.start()
        self.server = self.call(self._start())
        return self.server

    def call(self, coro: Awaitable[Any]) -> Any:
        """Run ``coro`` on the server's loop and return its result."""

        async def run() -> Any:
            return await coro

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(timeout=30)

    def __exit__(self, *exc: object) -> None:
        if self.server is not None:
            self.call(self.server.stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()


def unused_port() -> int:
    """A loopback port nothing listens on (bound once, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


async def wait_until(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    """Poll ``predicate`` until true; ``AssertionError`` after ``timeout`` seconds
    (a generous bound for events that must happen, not a timing assertion)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.005)


@dataclass
class SelfSignedCert:
    """A certificate for ``localhost`` and ``127.0.0.1`` and its key, as PEM files."""

    certfile: Path
    keyfile: Path
    names: list[str] = field(default_factory=lambda: ["localhost", "127.0.0.1"])

    def server_context(self) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(str(self.certfile), str(self.keyfile))
        return ctx

    def client_context(self) -> ssl.SSLContext:
        """A default (verifying) client context that trusts this certificate."""
        return ssl.create_default_context(cafile=str(self.certfile))


def self_signed_cert(directory: Path) -> SelfSignedCert:
    """Generate a self-signed EC certificate with the ``openssl`` command line."""
    openssl = shutil.which("openssl")
    if openssl is None:
        raise RuntimeError("the openssl command line tool is needed for TLS tests")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return SelfSignedCert(cert, key)
