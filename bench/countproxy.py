"""The tests' counting proxy (``tests/faultproxy.py``) in a process of its own, for the
benchmarks: ``python bench/countproxy.py UPSTREAM`` prints two ports, the proxy's and
a control port whose ``GET /counts`` answers the S3 requests by kind since the last
call (and forgets them). Serves until stdin closes.

Its own process, so its CPU is neither the client's nor the server's (it is reported
beside them); only the counting rounds go through it, never the timed ones.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets
from tornado.web import Application, RequestHandler

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.faultproxy import S3Proxy


class Counts(RequestHandler):
    def initialize(self, proxy: S3Proxy) -> None:
        self.proxy = proxy

    def get(self) -> None:
        self.set_header("Content-Type", "application/json")
        self.write(json.dumps(dict(self.proxy.counts)))
        self.proxy.reset()  # also drops the bodies it kept


async def serve(upstream: str) -> None:
    proxy = await S3Proxy(upstream).start()
    sockets = bind_sockets(0, "127.0.0.1")
    control = HTTPServer(Application([(r"/counts", Counts, {"proxy": proxy})]))
    control.add_sockets(sockets)
    print(proxy.url.rsplit(":", 1)[1], sockets[0].getsockname()[1], flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    control.stop()
    await proxy.stop()


if __name__ == "__main__":
    asyncio.run(serve(sys.argv[1]))
