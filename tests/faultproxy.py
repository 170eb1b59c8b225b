"""A fault-injecting HTTP proxy on loopback in front of an S3 server.

Built on :func:`tests.loopback.start_raw_server`: every request the client sends
is read whole, counted by S3 operation (:func:`kind_of`), and then, unless a
fault says otherwise, forwarded to the real server (moto or RGW) and answered
with the server's response. Requests keep their ``Host`` header, so SigV4
signatures made for the proxy's address still verify behind it.

Faults are rules: a predicate over the request and a number of times it applies
(the next N matching requests), added with one method each:

* :meth:`S3Proxy.slow_down` - answer ``503 SlowDown`` (or any status and code)
  without forwarding: a burst of throttling;
* :meth:`S3Proxy.refuse_deletes` - answer a DeleteObjects ``200`` with an ``<Error>``
  per key, without forwarding: S3 refused each key (a per-key failure);
* :meth:`S3Proxy.reset_before` - reset the connection (TCP RST) before forwarding:
  the request never reached S3;
* :meth:`S3Proxy.reset_after` - forward, then reset instead of answering: S3 did
  it, but the client never learns;
* :meth:`S3Proxy.stall` - wait before forwarding (``after=True``: before answering);
* :meth:`S3Proxy.truncate` - forward, then send the head and only the first
  ``keep`` bytes of the body and close: a truncated response;
* :meth:`S3Proxy.hold_next` - keep the next matching request until the test
  releases it (:class:`Held`): opens a race window at an exact point.

Example (the next two copies are throttled; the first delete waits for the test)::

    proxy = await S3Proxy(moto.endpoint_url).start()
    proxy.slow_down(2, when=lambda r: r.kind == "CopyObject")
    held = proxy.hold_next(lambda r: r.kind == "DeleteObjects")
    task = asyncio.ensure_future(cm.rename("a", "b"))
    await held.arrived()  # the rename is now between its copies and its delete
    ...  # race it
    held.release()
    await task
"""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit
from xml.sax.saxutils import escape

from tornado.httpclient import AsyncHTTPClient, HTTPRequest

from tests.loopback import LoopbackServer, Peer, ReceivedRequest, http_response, start_raw_server

__all__ = ["Held", "ProxiedRequest", "Rule", "S3Proxy", "kind_of"]

# Not forwarded either way: the proxy frames each message itself.
_HOP_BY_HOP = frozenset(
    {"content-length", "transfer-encoding", "connection", "keep-alive", "expect"}
)


def kind_of(method: str, query: dict[str, Any], headers: dict[str, str]) -> str:
    """The S3 operation of a request, as a short name (``headers`` in lower case)."""
    if method == "GET" and "list-type" in query:
        return "ListObjectsV2"
    if method == "GET" and "uploads" in query:
        return "ListMultipartUploads"
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


@dataclass
class ProxiedRequest:
    """One request as the proxy saw it. ``path`` is the raw (percent-encoded)
    path, ``key`` the decoded path after the bucket (path-style addressing)."""

    kind: str
    method: str
    target: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: bytes

    @property
    def key(self) -> str:
        return unquote(self.path).lstrip("/").partition("/")[2]

    @classmethod
    def of(cls, received: ReceivedRequest) -> ProxiedRequest:
        parts = urlsplit(received.target)
        query = parse_qs(parts.query, keep_blank_values=True)
        headers = received.headers
        return cls(
            kind_of(received.method, query, headers),
            received.method,
            received.target,
            parts.path,
            query,
            headers,
            received.body,
        )


Predicate = Callable[[ProxiedRequest], bool]
# The legacy single hook: (kind, request) -> (status, code) to answer with an error.
Fault = Callable[[str, ProxiedRequest], "tuple[int, str] | None"]


def _always(request: ProxiedRequest) -> bool:
    return True


@dataclass
class Rule:
    """One fault: applies to the next ``times`` requests matching ``when``."""

    action: str  # "error", "refuse_deletes", "reset_before", "reset_after", "stall", ...
    when: Predicate
    times: int
    status: int = 503
    code: str = "SlowDown"
    seconds: float = 0.0
    after: bool = False
    keep: int = 0
    hits: list[ProxiedRequest] = field(default_factory=list)

    @property
    def spent(self) -> bool:
        return self.times <= 0


class Held:
    """Requests held by :meth:`S3Proxy.hold_next` until :meth:`release`."""

    def __init__(self, rule: Rule) -> None:
        self.rule = rule
        self._released = asyncio.Event()
        self._arrived = asyncio.Event()

    @property
    def requests(self) -> list[ProxiedRequest]:
        return self.rule.hits

    async def arrived(self, timeout: float = 30.0) -> ProxiedRequest:
        """Wait until a request is being held (a bound for what must happen)."""
        await asyncio.wait_for(self._arrived.wait(), timeout)
        return self.rule.hits[0]

    def release(self) -> None:
        """Let the held request (and any later one of this rule) go on to S3."""
        self._released.set()

    async def _wait(self) -> None:
        self._arrived.set()
        await self._released.wait()


class S3Proxy:
    """A counting, holding, fault-injecting loopback proxy in front of an S3 server."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.counts: Counter[str] = Counter()
        self.keys: list[tuple[str, str]] = []  # (kind, raw path) of every request
        self.headers: list[dict[str, str]] = []
        self.requests: list[ProxiedRequest] = []
        # Simple hooks: ``hold`` is awaited before each request is forwarded;
        # ``fault`` may answer a request with an S3 error instead.
        self.hold: Callable[[], Awaitable[None]] | None = None
        self.fault: Fault | None = None
        self.rules: list[Rule] = []
        self._held: dict[int, Held] = {}
        self._server: LoopbackServer | None = None
        self._client: AsyncHTTPClient | None = None
        self.url = ""

    def reset(self) -> None:
        """Forget the counts (faults stay)."""
        self.counts.clear()
        self.keys.clear()
        self.headers.clear()
        self.requests.clear()

    def clear_faults(self) -> None:
        """Drop every fault rule and release every held request."""
        for held in self._held.values():
            held.release()
        self.rules.clear()
        self._held.clear()
        self.hold = None
        self.fault = None

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    # -- faults ----------------------------------------------------------------

    def add(self, rule: Rule) -> Rule:
        self.rules.append(rule)
        return rule

    def slow_down(
        self,
        times: int = 1,
        when: Predicate = _always,
        *,
        status: int = 503,
        code: str = "SlowDown",
    ) -> Rule:
        """Answer the next ``times`` matching requests with ``status``/``code``."""
        return self.add(Rule("error", when, times, status=status, code=code))

    def refuse_deletes(
        self, times: int = 1, when: Predicate = _always, *, code: str = "AccessDenied"
    ) -> Rule:
        """Answer the next ``times`` matching DeleteObjects with ``200`` and an
        ``<Error>`` with ``code`` for each key they name; nothing is deleted."""

        def deletes(request: ProxiedRequest) -> bool:
            return request.kind == "DeleteObjects" and when(request)

        return self.add(Rule("refuse_deletes", deletes, times, code=code))

    def reset_before(self, when: Predicate = _always, times: int = 1) -> Rule:
        """Reset the connection instead of forwarding the next matching requests."""
        return self.add(Rule("reset_before", when, times))

    def reset_after(self, when: Predicate = _always, times: int = 1) -> Rule:
        """Forward the next matching requests, then reset instead of answering."""
        return self.add(Rule("reset_after", when, times))

    def stall(
        self, seconds: float, when: Predicate = _always, times: int = 1, *, after: bool = False
    ) -> Rule:
        """Wait ``seconds`` before forwarding (``after``: before answering)."""
        return self.add(Rule("stall", when, times, seconds=seconds, after=after))

    def truncate(self, when: Predicate = _always, times: int = 1, *, keep: int = 0) -> Rule:
        """Answer with the full head but only ``keep`` bytes of the body, then close."""
        return self.add(Rule("truncate", when, times, keep=keep))

    def hold_next(self, when: Predicate = _always, times: int = 1) -> Held:
        """Hold the next ``times`` matching requests until the test releases them."""
        rule = self.add(Rule("hold", when, times))
        held = Held(rule)
        self._held[id(rule)] = held
        return held

    def _match(self, request: ProxiedRequest) -> list[Rule]:
        matched = []
        for rule in self.rules:
            if not rule.spent and rule.when(request):
                rule.times -= 1
                rule.hits.append(request)
                matched.append(rule)
        return matched

    # -- serving ---------------------------------------------------------------

    async def start(self, ssl_options: Any = None) -> S3Proxy:
        """Listen on a free loopback port (over TLS with an ``ssl.SSLContext``)."""
        self._client = AsyncHTTPClient(force_instance=True, max_clients=256)
        self._server = await start_raw_server(self._serve, ssl_context=ssl_options)
        self.url = self._server.url
        return self

    async def stop(self) -> None:
        self.clear_faults()
        if self._server is not None:
            await self._server.stop()
        if self._client is not None:
            self._client.close()

    async def _serve(self, peer: Peer) -> None:
        while (received := await peer.read_request()) is not None:
            request = ProxiedRequest.of(received)
            self.counts[request.kind] += 1
            self.keys.append((request.kind, request.path))
            self.headers.append(request.headers)
            self.requests.append(request)
            if not await self._answer(peer, request):
                return
            if request.headers.get("connection", "").lower() == "close":
                return

    async def _answer(self, peer: Peer, request: ProxiedRequest) -> bool:
        """Answer one request; False once the connection is gone."""
        rules = self._match(request)
        actions = {rule.action: rule for rule in rules}
        if self.hold is not None:
            await self.hold()
        for rule in rules:
            if rule.action == "hold":
                await self._held[id(rule)]._wait()
            elif rule.action == "stall" and not rule.after:
                await asyncio.sleep(rule.seconds)
        if "reset_before" in actions:
            peer.reset()
            return False
        error = actions.get("error")
        answer = (error.status, error.code) if error is not None else None
        if answer is None and self.fault is not None:
            answer = self.fault(request.kind, request)
        if answer is not None:
            status, code = answer
            body = (
                f"<Error><Code>{code}</Code><Message>injected</Message>"
                f"<RequestId>proxy-{len(self.requests)}</RequestId></Error>"
            ).encode()
            await peer.respond(status, body, headers={"Content-Type": "application/xml"})
            return True
        refused = actions.get("refuse_deletes")
        if refused is not None:
            body = _refused_deletes(request.body, refused.code)
            await peer.respond(200, body, headers={"Content-Type": "application/xml"})
            return True
        status, reason, headers, body = await self._forward(request)
        stall = actions.get("stall")
        if stall is not None and stall.after:
            await asyncio.sleep(stall.seconds)
        if "reset_after" in actions:
            peer.reset()
            return False
        head_only = request.method == "HEAD" or status in (204, 304)
        response = http_response(
            status, b"" if head_only else body, headers, reason=reason, content_length=False
        )
        truncated = actions.get("truncate")
        if truncated is not None:
            cut = len(response) - len(body) + min(truncated.keep, len(body))
            await peer.send(response[:cut])
            peer.close()
            return False
        await peer.send(response)
        return True

    async def _forward(
        self, request: ProxiedRequest
    ) -> tuple[int, str, list[tuple[str, str]], bytes]:
        assert self._client is not None
        sent = {k: v for k, v in request.headers.items() if k not in _HOP_BY_HOP}
        if request.method == "POST" and "content-type" not in sent:
            # Else tornado's client adds a form content type, and moto (werkzeug) then
            # parses the body as a form and sees none (botocore's DeleteObjects has none).
            sent["content-type"] = "application/octet-stream"
        upstream = HTTPRequest(
            self.upstream + request.target,
            method=request.method,
            headers=sent,
            body=request.body if request.method in ("PUT", "POST") else None,
            allow_nonstandard_methods=True,
            decompress_response=False,
            follow_redirects=False,
            request_timeout=120,
        )
        resp = await self._client.fetch(upstream, raise_error=False)
        body = resp.body or b""
        headers = [(k, v) for k, v in resp.headers.get_all() if k.lower() not in _HOP_BY_HOP]
        if request.method == "HEAD" or resp.code in (204, 304):
            length = resp.headers.get("Content-Length")
            if length is not None:
                headers.append(("Content-Length", length))
        else:
            headers.append(("Content-Length", str(len(body))))
        return resp.code, resp.reason, headers, body


def _refused_deletes(request_body: bytes, code: str) -> bytes:
    """A DeleteObjects result refusing, with ``code``, every key the request names."""
    keys = [el.text or "" for el in ET.fromstring(request_body).iter() if el.tag.endswith("Key")]
    errors = "".join(
        f"<Error><Key>{escape(k)}</Key><Code>{code}</Code><Message>injected</Message></Error>"
        for k in keys
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<DeleteResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">{errors}</DeleteResult>'
    ).encode()
