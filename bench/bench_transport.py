"""Client CPU per small request: s3lite's Transport vs tornado's AsyncHTTPClient.

A tornado server runs in a child process on 127.0.0.1; this process sends N small
GETs one after another and reports its own CPU time (``time.process_time``) per
request and the request rate. Run: ``python bench/bench_transport.py [N]``.
"""

from __future__ import annotations

import asyncio
import hashlib
import subprocess
import sys
import textwrap
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone

from tornado.httpclient import AsyncHTTPClient, HTTPRequest
from tornado.simple_httpclient import SimpleAsyncHTTPClient

from s3lite.credentials import Credentials
from s3lite.messages import Request
from s3lite.signing import sign
from s3lite.transport import Transport

SERVER = textwrap.dedent(
    """
    import asyncio, sys
    from tornado.web import Application, RequestHandler
    from tornado.netutil import bind_sockets
    from tornado.httpserver import HTTPServer

    class Small(RequestHandler):
        def get(self):
            self.set_header("Content-Type", "application/xml")
            self.write(b"<Small>ok</Small>")

    async def main():
        sockets = bind_sockets(0, "127.0.0.1")
        HTTPServer(Application([("/.*", Small)])).add_sockets(sockets)
        print(sockets[0].getsockname()[1], flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)

    asyncio.run(main())
    """
)

CREDS = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
EMPTY = hashlib.sha256(b"").hexdigest()
REPEATS = 3


async def measure(
    label: str, n: int, one: Callable[[], Awaitable[None]], concurrency: int = 1
) -> None:
    """Best of ``REPEATS`` runs of ``n`` requests (the machine may be shared and noisy)."""
    for _ in range(min(n // 10, 200)):  # warm up: connections, caches
        await one()

    async def worker(count: int) -> None:
        for _ in range(count):
            await one()

    done = n // concurrency * concurrency
    best_cpu = best_wall = float("inf")
    for _ in range(REPEATS):
        cpu0, wall0 = time.process_time(), time.perf_counter()
        await asyncio.gather(*(worker(n // concurrency) for _ in range(concurrency)))
        best_cpu = min(best_cpu, time.process_time() - cpu0)
        best_wall = min(best_wall, time.perf_counter() - wall0)
    print(
        f"{label:<52} {best_cpu / done * 1e6:8.1f} us CPU/request"
        f" {done / best_wall:9.0f} requests/s",
        flush=True,
    )


class _Floor(asyncio.Protocol):
    """The least a client can do: write a fixed request, wait for the fixed answer."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.got = 0
        self.done: asyncio.Future[None] | None = None

    def data_received(self, data: bytes) -> None:
        self.got += len(data)
        if self.got >= self.size and self.done is not None:
            self.got = 0
            self.done.set_result(None)


async def run(port: int, n: int) -> None:
    host = f"127.0.0.1:{port}"
    transport = Transport()

    async def s3lite_get() -> None:
        response = await transport.send(Request("GET", "http", host, "/bucket/key"))
        assert response.status == 200 and response.body == b"<Small>ok</Small>"

    async def s3lite_signed_get() -> None:
        request = Request("GET", "http", host, "/bucket/key", [("versionId", "v1")])
        sign(request, CREDS, "us-east-1", "s3", datetime.now(timezone.utc), EMPTY)
        response = await transport.send(request)
        assert response.status == 200 and response.body == b"<Small>ok</Small>"

    chunks: list[bytes] = []

    async def s3lite_sink_get() -> None:
        chunks.clear()
        response = await transport.send(
            Request("GET", "http", host, "/bucket/key"), sink=chunks.append
        )
        assert response.status == 200 and chunks == [b"<Small>ok</Small>"]

    # force_instance: a private simple client (Connection: close on every request).
    simple = SimpleAsyncHTTPClient(force_instance=True, max_clients=10)
    url = f"http://{host}/bucket/key"

    async def tornado_get() -> None:
        response = await simple.fetch(HTTPRequest(url))
        assert response.code == 200 and response.body == b"<Small>ok</Small>"

    # The size of the server's answer, for the floor measurement.
    loop = asyncio.get_running_loop()
    raw_request = f"GET /bucket/key HTTP/1.1\r\nhost: {host}\r\n\r\n".encode()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(raw_request)
    answer = await reader.readuntil(b"</Small>")
    writer.close()
    raw, floor = await loop.create_connection(lambda: _Floor(len(answer)), "127.0.0.1", port)

    async def floor_get() -> None:
        floor.done = loop.create_future()
        raw.write(raw_request)
        await floor.done

    print(f"N={n} small GETs against a tornado server in another process, best of {REPEATS}")
    await measure("floor: bare asyncio Protocol, fixed bytes, no parsing", n, floor_get)
    await measure("s3lite Transport (keep-alive)", n, s3lite_get)
    await measure("s3lite Transport + SigV4 signing", n, s3lite_signed_get)
    await measure("s3lite Transport, body to a sink", n, s3lite_sink_get)
    await measure("tornado AsyncHTTPClient (simple, Connection: close)", n, tornado_get)
    await measure("s3lite Transport, 10 concurrent", n, s3lite_get, concurrency=10)
    await measure("tornado AsyncHTTPClient, 10 concurrent", n, tornado_get, concurrency=10)
    await transport.close()
    raw.close()
    simple.close()
    assert isinstance(simple, AsyncHTTPClient)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        asyncio.run(run(port, n))
    finally:
        assert server.stdin is not None
        server.stdin.close()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
