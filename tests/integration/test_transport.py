"""Transport against loopback servers that script exactly the behaviour under test."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import os
import socket
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from tornado.web import Application, RequestHandler

from s3lite.errors import TransportError, TransportTimeout
from s3lite.messages import Request
from s3lite.transport import Transport
from tests.loopback import (
    LoopbackServer,
    Peer,
    ThreadedServer,
    http_response,
    self_signed_cert,
    serve_forever,
    start_app_server,
    start_raw_server,
    wait_until,
)

MiB = 1 << 20


def get(server: LoopbackServer, path: str = "/", **kwargs: object) -> Request:
    scheme = "https" if server.tls else "http"
    return Request("GET", scheme, server.host, path, **kwargs)  # type: ignore[arg-type]


class Hello(RequestHandler):
    def get(self) -> None:
        self.write(b"hello")


class Echo(RequestHandler):
    """Answers with the hash and length of the request body and its headers."""

    def put(self) -> None:
        self.set_header("x-sha256", hashlib.sha256(self.request.body).hexdigest())
        self.set_header("x-length", str(len(self.request.body)))
        self.write(b"ok")


@pytest.fixture
async def transport() -> AsyncIterator[Transport]:
    t = Transport()
    yield t
    await t.close()


@pytest.fixture
async def app_server() -> AsyncIterator[LoopbackServer]:
    server = await start_app_server(Application([("/", Hello), ("/echo", Echo)]))
    yield server
    await server.stop()


# --- keep-alive and connection reuse ---------------------------------------------------


async def test_keep_alive_reuses_one_connection(
    transport: Transport, app_server: LoopbackServer
) -> None:
    for _ in range(50):
        response = await transport.send(get(app_server))
        assert response.status == 200
        assert response.body == b"hello"
    assert app_server.accepted == 1


async def test_connection_close_is_honoured(transport: Transport) -> None:
    async def handler(peer: Peer) -> None:
        await peer.read_request()
        await peer.respond(200, b"bye", close=True)
        # Keep the connection open: the client alone must decide not to reuse it.
        await peer.wait_closed()

    async with await start_raw_server(handler) as server:
        for _ in range(5):
            response = await transport.send(get(server))
            assert response.body == b"bye"
        assert server.accepted == 5
        assert all(len(p.requests) == 1 for p in server.peers)


async def test_http10_without_keep_alive_is_not_reused(transport: Transport) -> None:
    async def handler(peer: Peer) -> None:
        await peer.read_request()
        await peer.respond(200, b"old", version="HTTP/1.0")
        await peer.wait_closed()

    async with await start_raw_server(handler) as server:
        for _ in range(3):
            assert (await transport.send(get(server))).body == b"old"
        assert server.accepted == 3


async def test_http10_keep_alive_is_reused(transport: Transport) -> None:
    response = http_response(200, b"ka", {"Connection": "keep-alive"}, version="HTTP/1.0")
    async with await start_raw_server(lambda peer: serve_forever(peer, response)) as server:
        for _ in range(3):
            assert (await transport.send(get(server))).body == b"ka"
        assert server.accepted == 1


async def test_read_until_close_body(transport: Transport) -> None:
    async def handler(peer: Peer) -> None:
        await peer.read_request()
        await peer.respond(200, b"x" * 100_000, content_length=False)
        peer.close()

    async with await start_raw_server(handler) as server:
        response = await transport.send(get(server))
        assert response.body == b"x" * 100_000
        chunks: list[bytes] = []
        response = await transport.send(get(server), sink=chunks.append)
        assert response.body == b""
        assert b"".join(chunks) == b"x" * 100_000
        assert server.accepted == 2


async def test_idle_connection_closed_by_server_is_replaced(transport: Transport) -> None:
    async def handler(peer: Peer) -> None:
        await peer.read_request()
        await peer.respond(200, b"one")
        peer.close()  # like a server's idle timeout, right after answering

    async with await start_raw_server(handler) as server:
        assert (await transport.send(get(server))).body == b"one"
        await wait_until(lambda: server.closed == 1)
        assert (await transport.send(get(server))).body == b"one"
        assert server.accepted == 2


@pytest.mark.parametrize("how", ["close", "reset"])
async def test_reused_connection_dying_before_answer_is_retried_once(
    transport: Transport, how: str
) -> None:
    """The server closes a kept-alive connection just as the next request arrives
    (the idle-timeout race): the request goes out again on a fresh connection."""

    async def handler(peer: Peer) -> None:
        await peer.read_request()
        await peer.respond(200, f"conn{peer.index}".encode())
        if peer.index == 0:
            await peer.read_request()
            peer.reset() if how == "reset" else peer.close()
        else:
            await serve_forever(peer, http_response(200, b"again"))

    async with await start_raw_server(handler) as server:
        assert (await transport.send(get(server))).body == b"conn0"
        response = await transport.send(get(server, "/second"))
        assert response.body == b"conn1"
        assert server.accepted == 2
        assert [r.target for r in server.requests] == ["/", "/second", "/second"]
        # The fresh connection is kept for later requests.
        assert (await transport.send(get(server))).body == b"again"
        assert server.accepted == 2


async def test_retry_happens_only_once(transport: Transport) -> None:
    async def handler(peer: Peer) -> None:
        if peer.index == 0:
            await peer.read_request()
            await peer.respond(200, b"first")
        await peer.read_request()
        peer.reset()

    async with await start_raw_server(handler) as server:
        await transport.send(get(server))
        with pytest.raises(TransportError) as info:
            await transport.send(get(server))
        assert info.value.request_sent is True
        assert server.accepted == 2


@pytest.mark.parametrize("how", ["close", "reset"])
async def test_fresh_connection_dying_before_answer_raises(transport: Transport, how: str) -> None:
    async def handler(peer: Peer) -> None:
        await peer.read_request()
        peer.reset() if how == "reset" else peer.close()

    async with await start_raw_server(handler) as server:
        with pytest.raises(TransportError) as info:
            await transport.send(get(server))
        assert type(info.value) is TransportError
        assert info.value.request_sent is True
        assert server.accepted == 1  # no retry on a fresh connection


async def test_partial_head_then_close_is_not_retried(transport: Transport) -> None:
    async def handler(peer: Peer) -> None:
        await peer.read_request()
        await peer.respond(200, b"ok")
        await peer.read_request()
        await peer.send(b"HTTP/1.1 200 OK\r\nContent-Le")
        peer.close()

    async with await start_raw_server(handler) as server:
        await transport.send(get(server))
        with pytest.raises(TransportError):
            await transport.send(get(server))
        assert server.accepted == 1


async def test_idle_timeout_discards_old_connections(app_server: LoopbackServer) -> None:
    transport = Transport(idle_timeout=0.05)
    try:
        await transport.send(get(app_server))
        # Closed by the transport's own sweep, without any further request.
        await wait_until(lambda: app_server.closed == 1)
        await transport.send(get(app_server))
        assert app_server.accepted == 2
    finally:
        await transport.close()


async def test_idle_timeout_checked_when_reusing(app_server: LoopbackServer) -> None:
    transport = Transport(idle_timeout=0.05)
    try:
        await transport.send(get(app_server))
        # Block the loop past the idle timeout, so the sweep cannot run first.
        time.sleep(0.1)
        await transport.send(get(app_server))
        assert app_server.accepted == 2
    finally:
        await transport.close()


async def test_idle_connections_are_reused_lifo(transport: Transport) -> None:
    release_second = asyncio.Event()

    async def handler(peer: Peer) -> None:
        request = await peer.read_request()
        assert request is not None
        if request.target == "/second":
            await release_second.wait()
        await peer.respond(200, f"conn{peer.index}".encode())
        await serve_forever(peer, http_response(200, f"conn{peer.index}".encode()))

    async with await start_raw_server(handler) as server:
        first = asyncio.create_task(transport.send(get(server, "/first")))
        second = asyncio.create_task(transport.send(get(server, "/second")))
        first_body = (await first).body
        release_second.set()
        second_body = (await second).body
        assert {first_body, second_body} == {b"conn0", b"conn1"}
        # The connection released last is reused first.
        assert (await transport.send(get(server))).body == second_body
        assert server.accepted == 2


# --- bodies ------------------------------------------------------------------------


async def test_chunked_response(transport: Transport) -> None:
    raw = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5;ext=1\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\nx-trailer: t\r\n\r\n"
    )
    async with await start_raw_server(lambda peer: serve_forever(peer, raw)) as server:
        assert (await transport.send(get(server))).body == b"hello world"
        chunks: list[bytes] = []
        response = await transport.send(get(server), sink=chunks.append)
        assert response.body == b""
        assert b"".join(chunks) == b"hello world"
        assert server.accepted == 1  # the connection stayed usable after both


async def test_chunked_response_from_tornado_app(transport: Transport) -> None:
    class Chunks(RequestHandler):
        async def get(self) -> None:
            for i in range(5):
                self.write(f"part{i};".encode())
                await self.flush()

    async with await start_app_server(Application([("/", Chunks)])) as server:
        for _ in range(3):
            response = await transport.send(get(server))
            assert response.headers["transfer-encoding"] == "chunked"
            assert response.body == b"part0;part1;part2;part3;part4;"
        assert server.accepted == 1


@pytest.mark.parametrize("framing", ["length", "chunked", "close"])
async def test_max_body_size_refuses_bigger_collected_bodies(framing: str) -> None:
    body = b"x" * 5000

    async def handler(peer: Peer) -> None:
        await peer.read_request()
        if framing == "length":
            await peer.send(http_response(500, body))
        elif framing == "chunked":
            head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            await peer.send(head + b"1388\r\n" + body + b"\r\n0\r\n\r\n")
        else:
            await peer.respond(200, body, content_length=False)
            peer.close()

    capped = Transport(max_body_size=4096)
    try:
        async with await start_raw_server(handler) as server:
            with pytest.raises(TransportError, match="larger than 4096"):
                await capped.send(get(server))
            small = Transport(max_body_size=5000)
            try:
                assert (await small.send(get(server))).body == body  # the limit itself is fine
            finally:
                await small.close()
    finally:
        await capped.close()


@pytest.mark.parametrize(
    "raw",
    [
        http_response(200, b"x" * 1000, {"ETag": '"v1"'})[:-500],
        b'HTTP/1.1 200 OK\r\nETag: "v1"\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n',
        b'HTTP/1.1 200 OK\r\nETag: "v1"\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel',
        http_response(200, b"x" * (3 * MiB), {"ETag": '"v1"'})[: -MiB - 1],
    ],
    ids=["content-length", "chunked-no-last-chunk", "chunked-mid-chunk", "large"],
)
@pytest.mark.parametrize("with_sink", [False, True])
async def test_truncated_body_raises(transport: Transport, raw: bytes, with_sink: bool) -> None:
    async def handler(peer: Peer) -> None:
        await peer.read_request()
        await peer.send(raw)
        peer.close()

    chunks: list[bytes] = []
    async with await start_raw_server(handler) as server:
        with pytest.raises(TransportError) as info:
            await transport.send(get(server), sink=chunks.append if with_sink else None)
        assert info.value.request_sent is True
        # The head did arrive: its headers come with the error (e.g. to resume by ETag).
        assert info.value.headers["etag"] == '"v1"'


async def test_reset_mid_body_raises(transport: Transport) -> None:
    async def handler(peer: Peer) -> None:
        await peer.read_request()
        await peer.send(http_response(200, b"y" * 10_000)[:-5000])
        peer.reset()

    async with await start_raw_server(handler) as server:
        with pytest.raises(TransportError):
            await transport.send(get(server))
        with pytest.raises(TransportError):
            await transport.send(get(server), sink=lambda chunk: None)


async def test_read_until_close_reset_is_not_a_complete_body(transport: Transport) -> None:
    async def handler(peer: Peer) -> None:
        await peer.read_request()
        await peer.send(http_response(200, b"z" * 5000, content_length=False))
        await asyncio.sleep(0.05)  # let the data arrive before the RST
        peer.reset()

    async with await start_raw_server(handler) as server:
        with pytest.raises(TransportError):
            await transport.send(get(server))


async def test_bodiless_responses(transport: Transport) -> None:
    async def handler(peer: Peer) -> None:
        while (request := await peer.read_request()) is not None:
            if request.method == "HEAD":
                await peer.send(
                    http_response(200, headers={"Content-Length": "12345"}, content_length=False)
                )
            elif request.target == "/204":
                await peer.send(http_response(204, content_length=False))
            else:
                await peer.send(
                    http_response(304, headers={"Content-Length": "99"}, content_length=False)
                )

    async with await start_raw_server(handler) as server:
        head = await transport.send(Request("HEAD", "http", server.host, "/"))
        assert (head.status, head.body, head.headers["content-length"]) == (200, b"", "12345")
        assert (await transport.send(get(server, "/204"))).status == 204
        assert (await transport.send(get(server, "/304"))).status == 304
        assert (await transport.send(Request("HEAD", "http", server.host, "/"))).status == 200
        assert server.accepted == 1


async def test_interim_100_continue_is_skipped(transport: Transport) -> None:
    raw = b"HTTP/1.1 100 Continue\r\n\r\n" + http_response(200, b"done")
    async with await start_raw_server(lambda peer: serve_forever(peer, raw)) as server:
        response = await transport.send(Request("PUT", "http", server.host, "/", body=b"data"))
        assert (response.status, response.body) == (200, b"done")


async def test_response_headers_lower_case_and_joined(transport: Transport) -> None:
    raw = http_response(
        200,
        b"",
        [("X-Amz-Meta-A", "1"), ("x-amz-meta-a", "2"), ("ETag", '"abc"'), ("X-Folded", "a")],
    )
    raw = raw.replace(b"X-Folded: a\r\n", b"X-Folded: a\r\n  b\r\n")
    async with await start_raw_server(lambda peer: serve_forever(peer, raw)) as server:
        response = await transport.send(get(server))
        assert response.headers["x-amz-meta-a"] == "1, 2"
        assert response.headers["etag"] == '"abc"'
        assert response.headers["x-folded"] == "a b"
        assert response.reason == "OK"


async def test_malformed_response_raises(transport: Transport) -> None:
    async def handler(peer: Peer) -> None:
        await peer.read_request()
        await peer.send(b"NOT HTTP AT ALL\r\n\r\n")
        await peer.wait_closed()

    async with await start_raw_server(handler) as server:
        with pytest.raises(TransportError, match="malformed"):
            await transport.send(get(server))
        await wait_until(lambda: server.closed == 1)  # never pooled


# --- streaming to a sink -----------------------------------------------------------


def big_body_handler(body: bytes, chunked: bool) -> object:
    async def handler(peer: Peer) -> None:
        while (request := await peer.read_request()) is not None:
            status = 404 if request.target == "/missing" else 200
            data = b"<Error><Code>NoSuchKey</Code></Error>" if status == 404 else body
            if chunked:
                await peer.send(b"HTTP/1.1 %d X\r\nTransfer-Encoding: chunked\r\n\r\n" % status)
                view = memoryview(data)
                for start in range(0, len(data), 3 * MiB):
                    piece = view[start : start + 3 * MiB]
                    await peer.send(b"%x\r\n" % len(piece) + piece + b"\r\n")
                await peer.send(b"0\r\n\r\n")
            else:
                await peer.send(http_response(status, data))

    return handler


@pytest.fixture(scope="module")
def body_50mib() -> bytes:
    return bytes(range(256)) * (50 * MiB // 256)


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
@pytest.mark.parametrize("async_sink", [False, True], ids=["sync-sink", "async-sink"])
async def test_large_body_streams_to_sink(
    transport: Transport, body_50mib: bytes, chunked: bool, async_sink: bool
) -> None:
    digest = hashlib.sha256()
    sizes: list[int] = []

    def sync_sink(chunk: bytes) -> None:
        sizes.append(len(chunk))
        digest.update(chunk)

    async def async_sink_(chunk: bytes) -> None:
        await asyncio.sleep(0)
        sync_sink(chunk)

    handler = big_body_handler(body_50mib, chunked)
    async with await start_raw_server(handler) as server:  # type: ignore[arg-type]
        response = await transport.send(get(server), sink=async_sink_ if async_sink else sync_sink)
        assert response.status == 200
        assert response.body == b""
        assert sum(sizes) == len(body_50mib)
        assert digest.hexdigest() == hashlib.sha256(body_50mib).hexdigest()
        # Never held whole: many pieces, none above the transport's read size.
        assert len(sizes) >= 50
        assert max(sizes) <= MiB
        # Error bodies are collected, never handed to the sink.
        sizes.clear()
        missing = await transport.send(get(server, "/missing"), sink=sync_sink)
        assert missing.status == 404
        assert b"NoSuchKey" in missing.body
        assert sizes == []
        assert server.accepted == 1


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_large_body_collected_without_sink(
    transport: Transport, body_50mib: bytes, chunked: bool
) -> None:
    handler = big_body_handler(body_50mib, chunked)
    async with await start_raw_server(handler) as server:  # type: ignore[arg-type]
        response = await transport.send(get(server))
        assert response.body == body_50mib
        assert (await transport.send(get(server))).body == body_50mib
        assert server.accepted == 1


async def test_sink_returning_a_value_is_not_awaited(transport: Transport) -> None:
    async with await start_raw_server(
        lambda peer: serve_forever(peer, http_response(200, b"file data"))
    ) as server:
        out = io.BytesIO()
        response = await transport.send(get(server), sink=out.write)  # returns an int
        assert (response.body, out.getvalue()) == (b"", b"file data")


async def test_sink_exception_propagates_and_drops_connection(transport: Transport) -> None:
    async with await start_raw_server(
        lambda peer: serve_forever(peer, http_response(200, b"data"))
    ) as server:

        def sink(chunk: bytes) -> None:
            raise KeyError("sink failed")

        with pytest.raises(KeyError):
            await transport.send(get(server), sink=sink)
        assert (await transport.send(get(server))).body == b"data"
        assert server.accepted == 2


# --- requests as sent --------------------------------------------------------------


async def test_request_headers_sent_as_given(transport: Transport) -> None:
    async with await start_raw_server(
        lambda peer: serve_forever(peer, http_response(200))
    ) as server:
        headers = {"x-amz-date": "20260101T000000Z", "authorization": "AWS4-HMAC-SHA256 x"}
        await transport.send(Request("GET", "http", server.host, "/a%20b", [("x", "1 2")], headers))
        await transport.send(Request("PUT", "http", server.host, "/put", body=b""))
        await transport.send(
            Request("PUT", "http", server.host, "/p", headers={"host": "example:1"}, body=b"abc")
        )
        first, second, third = server.requests
        assert first.method == "GET"
        assert first.target == "/a%20b?x=1%202"
        assert first.header_list == [
            ("host", server.host),
            ("x-amz-date", "20260101T000000Z"),
            ("authorization", "AWS4-HMAC-SHA256 x"),
        ]
        assert second.header_list == [("host", server.host), ("content-length", "0")]
        assert third.header_list == [("content-length", "3"), ("host", "example:1")]
        assert third.body == b"abc"


async def test_huge_request_head_is_sent_whole(transport: Transport) -> None:
    """A head bigger than the socket buffer cannot go out in one send."""
    async with await start_raw_server(
        lambda peer: serve_forever(peer, http_response(200))
    ) as server:
        value = "v" * (8 * MiB)
        body = b"b" * 10_000
        request = Request("PUT", "http", server.host, "/", headers={"x-big": value}, body=body)
        await transport.send(request)
        await transport.send(request)
        assert [(r.headers["x-big"] == value, r.body == body) for r in server.requests] == [
            (True, True)
        ] * 2
        assert server.accepted == 1


async def test_header_injection_and_bad_content_length_rejected(transport: Transport) -> None:
    with pytest.raises(ValueError, match="CR or LF"):
        await transport.send(Request("GET", "http", "127.0.0.1:1", "/", headers={"a": "b\r\nc: d"}))
    with pytest.raises(ValueError, match="request line"):
        await transport.send(Request("GET", "http", "127.0.0.1:1", "/a b"))
    with pytest.raises(ValueError, match="request line"):
        await transport.send(Request("GET", "http", "127.0.0.1:1\r\nx: y", "/"))
    with pytest.raises(ValueError, match="latin-1"):
        await transport.send(Request("GET", "http", "127.0.0.1:1", "/", headers={"a": "\u20ac"}))
    with pytest.raises(ValueError, match="Content-Length"):
        await transport.send(
            Request("PUT", "http", "127.0.0.1:1", "/", headers={"content-length": "9"}, body=b"1")
        )


async def test_large_put_body_sent_intact(transport: Transport, app_server: LoopbackServer) -> None:
    data = bytearray(hashlib.sha256(b"seed").digest() * (100 * MiB // 32))
    data[12345] ^= 0xFF  # not just a repeating pattern
    body = memoryview(data)
    response = await transport.send(Request("PUT", "http", app_server.host, "/echo", body=body))
    assert response.status == 200
    assert response.headers["x-length"] == str(len(data))
    assert response.headers["x-sha256"] == hashlib.sha256(data).hexdigest()


async def test_early_error_answer_during_upload_is_returned(transport: Transport) -> None:
    """The server answers 403 before reading a big body and closes: the client
    returns that answer instead of a write error."""

    async def handler(peer: Peer) -> None:
        await peer.stream.read_until(b"\r\n\r\n")
        await peer.respond(403, b"<Error><Code>AccessDenied</Code></Error>", close=True)
        await asyncio.sleep(0.05)
        peer.close()

    async with await start_raw_server(handler) as server:
        response = await transport.send(
            Request("PUT", "http", server.host, "/", body=bytes(8 * MiB))
        )
        assert response.status == 403
        assert b"AccessDenied" in response.body


# --- concurrency -------------------------------------------------------------------


async def test_connections_per_host_are_bounded() -> None:
    transport = Transport(max_connections_per_host=3)
    in_flight = 0
    three_at_once = asyncio.Event()

    async def handler(peer: Peer) -> None:
        nonlocal in_flight
        while await peer.read_request() is not None:
            in_flight += 1
            if in_flight == 3:
                three_at_once.set()
            await asyncio.wait_for(three_at_once.wait(), 10)
            await asyncio.sleep(0.002)
            in_flight -= 1
            await peer.respond(200, b"ok")

    try:
        async with await start_raw_server(handler) as server:
            results = await asyncio.gather(*(transport.send(get(server)) for _ in range(20)))
            assert [r.body for r in results] == [b"ok"] * 20
            assert server.max_open == 3
            assert server.accepted == 3
    finally:
        await transport.close()


async def test_cancelled_requests_free_their_slots() -> None:
    transport = Transport(max_connections_per_host=1)
    answer = asyncio.Event()

    async def handler(peer: Peer) -> None:
        while (request := await peer.read_request()) is not None:
            if request.target == "/slow":
                await answer.wait()
            await peer.respond(200, b"ok")

    try:
        async with await start_raw_server(handler) as server:
            slow = asyncio.create_task(transport.send(get(server, "/slow")))
            queued = asyncio.create_task(transport.send(get(server, "/queued")))
            await wait_until(lambda: len(server.requests) == 1)
            queued.cancel()  # cancelled while waiting for the only slot
            slow.cancel()  # cancelled mid-request: its connection must be dropped
            for task in (slow, queued):
                with pytest.raises(asyncio.CancelledError):
                    await task
            answer.set()
            assert (await transport.send(get(server))).body == b"ok"
            assert server.accepted == 2
    finally:
        await transport.close()


# --- failures ----------------------------------------------------------------------


async def test_connect_refused(transport: Transport) -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    with pytest.raises(TransportError) as info:
        await transport.send(Request("GET", "http", f"127.0.0.1:{port}", "/"))
    assert type(info.value) is TransportError
    assert info.value.request_sent is False
    # The failed connect gave its slot back.
    t1 = Transport(max_connections_per_host=1)
    try:
        for _ in range(3):
            with pytest.raises(TransportError):
                await t1.send(Request("GET", "http", f"127.0.0.1:{port}", "/"))
    finally:
        await t1.close()


async def test_connect_timeout() -> None:
    """A listener whose accept queue is full drops new SYNs: the connect hangs."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(3):
        filler = socket.socket()
        filler.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            filler.connect(("127.0.0.1", port))
        fillers.append(filler)
    transport = Transport(connect_timeout=0.3, read_timeout=2.0)
    try:
        with pytest.raises(TransportTimeout) as info:
            await transport.send(Request("GET", "http", f"127.0.0.1:{port}", "/"))
        assert info.value.request_sent is False
    finally:
        await transport.close()
        for sock in [*fillers, listener]:
            sock.close()


async def test_read_timeout_waiting_for_response() -> None:
    transport = Transport(read_timeout=0.2)

    async def handler(peer: Peer) -> None:
        await peer.read_request()
        await peer.wait_closed()  # never answers

    try:
        async with await start_raw_server(handler) as server:
            with pytest.raises(TransportTimeout) as info:
                await transport.send(get(server))
            assert info.value.request_sent is True
            await wait_until(lambda: server.closed == 1)  # the connection was dropped
    finally:
        await transport.close()


async def test_read_timeout_between_body_chunks() -> None:
    transport = Transport(read_timeout=0.2)

    async def handler(peer: Peer) -> None:
        await peer.read_request()
        await peer.send(http_response(200, b"a" * 1000)[:-10])
        await peer.wait_closed()

    try:
        async with await start_raw_server(handler) as server:
            with pytest.raises(TransportTimeout):
                await transport.send(get(server))
            with pytest.raises(TransportTimeout):
                await transport.send(get(server), sink=lambda chunk: None)
    finally:
        await transport.close()


async def test_read_timeout_is_not_a_total_timeout() -> None:
    """A slow body that keeps arriving is fine even when it takes longer overall."""
    transport = Transport(read_timeout=1.0)

    async def handler(peer: Peer) -> None:
        await peer.read_request()
        await peer.send(b"HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\n")
        await peer.send_slowly(b"s" * 8, pieces=8, delay=0.2)

    try:
        async with await start_raw_server(handler) as server:
            assert (await transport.send(get(server))).body == b"s" * 8
    finally:
        await transport.close()


async def test_time_spent_in_an_async_sink_is_not_a_read_timeout() -> None:
    transport = Transport(read_timeout=0.2)
    body = b"q" * (3 * MiB)
    received: list[bytes] = []

    async def slow_sink(chunk: bytes) -> None:
        if not received:
            await asyncio.sleep(0.4)  # longer than the read timeout
        received.append(chunk)

    try:
        async with await start_raw_server(
            lambda peer: serve_forever(peer, http_response(200, body))
        ) as server:
            response = await transport.send(get(server), sink=slow_sink)
            assert response.status == 200
            assert b"".join(received) == body
    finally:
        await transport.close()


# --- event loops and closing -------------------------------------------------------


def test_usable_from_several_event_loops_in_sequence() -> None:
    transport = Transport()  # constructed outside any loop

    async def use() -> list[bytes]:
        return [(await transport.send(get(server))).body for _ in range(3)]

    with ThreadedServer(lambda: start_app_server(Application([("/", Hello)]))) as server:
        assert asyncio.run(use()) == [b"hello"] * 3
        assert asyncio.run(use()) == [b"hello"] * 3
        # One connection per loop; the first loop's pool was dropped and closed.
        assert server.accepted == 2
        loop = asyncio.new_event_loop()
        try:
            assert loop.run_until_complete(use()) == [b"hello"] * 3
            loop.run_until_complete(transport.close())
        finally:
            loop.close()
        assert server.accepted == 3

        async def closed_count() -> int:
            await wait_until(lambda: server.closed == 3)
            return server.closed

        assert asyncio.run(closed_count()) == 3


def test_usable_from_two_threads_with_their_own_loops_at_once() -> None:
    transport = Transport()
    results: list[list[bytes]] = []

    def run() -> None:
        async def use() -> list[bytes]:
            return [(await transport.send(get(server))).body for _ in range(30)]

        results.append(asyncio.run(use()))

    with ThreadedServer(lambda: start_app_server(Application([("/", Hello)]))) as server:
        threads = [threading.Thread(target=run) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert results == [[b"hello"] * 30] * 2
        assert server.accepted == 2  # one connection per loop, each reused
        asyncio.run(transport.close())


async def test_close_releases_connections(app_server: LoopbackServer) -> None:
    transport = Transport()
    await asyncio.gather(*(transport.send(get(app_server)) for _ in range(4)))
    assert app_server.accepted == 4
    await transport.close()
    await wait_until(lambda: app_server.open == 0)
    assert app_server.closed == 4
    with pytest.raises(RuntimeError, match="closed"):
        await transport.send(get(app_server))


# --- TLS ---------------------------------------------------------------------------


async def test_https_with_trusted_self_signed_cert(tmp_path: Path) -> None:
    cert = self_signed_cert(tmp_path)
    app = Application([("/", Hello)])
    async with await start_app_server(app, ssl_context=cert.server_context()) as server:
        transport = Transport(ssl_context=cert.client_context())
        try:
            for _ in range(5):
                response = await transport.send(
                    Request("GET", "https", f"localhost:{server.port}", "/")
                )
                assert response.body == b"hello"
            assert server.accepted == 1
        finally:
            await transport.close()

        untrusting = Transport()  # default context: the self-signed cert is refused
        try:
            with pytest.raises(TransportError) as info:
                await untrusting.send(Request("GET", "https", f"localhost:{server.port}", "/"))
            assert info.value.request_sent is False
        finally:
            await untrusting.close()


async def test_https_large_bodies(tmp_path: Path) -> None:
    cert = self_signed_cert(tmp_path)
    data = hashlib.sha256(b"tls").digest() * (8 * MiB // 32)

    class Big(RequestHandler):
        def get(self) -> None:
            self.write(data)

        def put(self) -> None:
            self.write(hashlib.sha256(self.request.body).hexdigest())

    app = Application([("/", Big)])
    async with await start_app_server(app, ssl_context=cert.server_context()) as server:
        transport = Transport(ssl_context=cert.client_context())
        try:
            host = f"localhost:{server.port}"
            chunks: list[bytes] = []
            response = await transport.send(Request("GET", "https", host, "/"), sink=chunks.append)
            assert response.body == b""
            assert b"".join(chunks) == data
            assert (await transport.send(Request("GET", "https", host, "/"))).body == data
            put = await transport.send(Request("PUT", "https", host, "/", body=data))
            assert put.body.decode() == hashlib.sha256(data).hexdigest()
            assert server.accepted == 1
        finally:
            await transport.close()


async def test_an_ip_literal_is_not_resolved(monkeypatch: pytest.MonkeyPatch) -> None:
    """Connections to an address (a server that closes each one: a connection per
    request) never call getaddrinfo; a name still is resolved."""
    looked_up: list[object] = []
    real = socket.getaddrinfo

    def recording(host: object, *args: object, **kwargs: object) -> object:
        looked_up.append(host)
        return real(host, *args, **kwargs)  # type: ignore[arg-type]

    async def handler(peer: Peer) -> None:
        await peer.read_request()
        await peer.respond(200, b"ok", close=True)

    async with await start_raw_server(handler) as server:
        monkeypatch.setattr(socket, "getaddrinfo", recording)
        transport = Transport()
        try:
            for _ in range(3):
                resp = await transport.send(get(server))
                assert resp.body == b"ok"
            assert server.accepted == 3
            assert looked_up == []
            await transport.send(Request("GET", "http", f"localhost:{server.port}", "/"))
            assert looked_up and looked_up[0] == "localhost"
        finally:
            await transport.close()


async def test_tls_sessions_are_resumed_on_new_connections(tmp_path: Path) -> None:
    """A server that closes every connection: each new connection resumes the TLS
    session of an earlier one (an abbreviated handshake) instead of a full one."""
    cert = self_signed_cert(tmp_path)
    resumed: list[bool] = []

    async def handler(peer: Peer) -> None:
        await peer.read_request()
        resumed.append(peer.stream.socket.session_reused)
        await peer.respond(200, b"ok", close=True)

    ctx = cert.server_context()
    async with await start_raw_server(handler, ssl_context=ctx) as server:
        transport = Transport(ssl_context=cert.client_context())
        try:
            for _ in range(3):
                assert (await transport.send(get(server))).body == b"ok"
        finally:
            await transport.close()
    assert server.accepted == 3
    assert resumed == [False, True, True]


async def test_a_big_body_arrives_whole_as_bytes() -> None:
    """Bodies larger than the read buffer are read into the object returned."""
    body = os.urandom(3 * MiB + 7)

    async def handler(peer: Peer) -> None:
        await serve_forever(peer, http_response(200, body))

    async with await start_raw_server(handler) as server:
        transport = Transport()
        try:
            for _ in range(2):
                resp = await transport.send(get(server))
                assert type(resp.body) is bytes
                assert resp.body == body
        finally:
            await transport.close()
