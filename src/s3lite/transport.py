"""The I/O shell: a keep-alive HTTP/1.1 connection pool on tornado's IOStream.

HTTP/1.1 is spoken directly on :class:`tornado.iostream.IOStream` (tornado's
``AsyncHTTPClient`` forces ``Connection: close``). Pools are kept per running
event loop, so one :class:`Transport` may serve several loops over its life;
per (scheme, host) a pool bounds its connections and reuses idle ones LIFO.
Head parsing and framing decisions are plain functions; the rest is I/O.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import ipaddress
import socket
import ssl
from asyncio import Future
from collections import deque
from collections.abc import Awaitable, Callable
from inspect import isawaitable
from typing import Any, NamedTuple

from tornado.iostream import IOStream, SSLIOStream, StreamClosedError
from tornado.netutil import DefaultLoopResolver, Resolver
from tornado.tcpclient import TCPClient

from .errors import CERTIFICATE_ERROR, TransportError, TransportTimeout
from .messages import Request, Response

__all__ = ["BodySink", "Transport"]

# Receives each chunk of a response body as it arrives (for streaming GETs). Sync or
# async: whatever it returns is awaited when awaitable (so ``file.write`` works too).
BodySink = Callable[[bytes], Awaitable[object] | object]

_BUFFER = 64 * 1024  # per-connection read buffer; also the largest response head
_CHUNK = 1 << 20  # largest piece read at once when streaming or collecting big bodies
_INLINE_BODY = 16 * 1024  # bodies up to this size go out in the same write as the head
_WRITE_SLICE = 1 << 20  # big bodies are queued in slices so write progress is visible
_NEVER = float("inf")
_BODY_METHODS = frozenset({"PUT", "POST", "PATCH"})
_DEFAULT_PORTS = {"http": 80, "https": 443}


class _Head(NamedTuple):
    """A parsed response head."""

    version: int  # minor version: 0 for HTTP/1.0, 1 for HTTP/1.1
    status: int
    reason: str
    headers: dict[str, str]


def parse_head(data: bytes | bytearray) -> _Head:
    """Parse a response status line and headers (``data`` ends with the blank line).

    Header names are lower-cased; repeated headers are joined with ``", "``.
    Raises ``ValueError`` on a malformed head.
    """
    lines = data.decode("latin-1").split("\r\n")
    version, _, rest = lines[0].partition(" ")
    if version == "HTTP/1.1":
        minor = 1
    elif version == "HTTP/1.0":
        minor = 0
    else:
        raise ValueError(f"bad status line {lines[0]!r}")
    code, _, reason = rest.partition(" ")
    if len(code) != 3 or not code.isdigit():
        raise ValueError(f"bad status line {lines[0]!r}")
    headers: dict[str, str] = {}
    last = ""
    for line in lines[1:]:
        if not line:
            continue
        if line[0] in " \t":  # obsolete line folding
            if not last:
                raise ValueError("continuation line before any header")
            headers[last] += " " + line.strip()
            continue
        name, sep, value = line.partition(":")
        if not sep:
            raise ValueError(f"bad header line {line!r}")
        name = name.strip().lower()
        value = value.strip()
        if name in headers:
            headers[name] += ", " + value
        else:
            headers[name] = value
        last = name
    return _Head(minor, int(code), reason, headers)


def keep_alive(head: _Head) -> bool:
    """Whether the connection may carry another request after this response."""
    conn = head.headers.get("connection")
    if conn is None:
        return head.version == 1
    tokens = [t.strip().lower() for t in conn.split(",")]
    if "close" in tokens:
        return False
    return head.version == 1 or "keep-alive" in tokens


def body_framing(method: str, head: _Head) -> int | None:
    """How the response body is delimited: its length (0 for no body), -1 for
    chunked, or ``None`` for read-until-close. Raises ``ValueError`` on a bad
    ``Content-Length``."""
    status = head.status
    if method == "HEAD" or status in (204, 304) or status < 200:
        return 0
    headers = head.headers
    te = headers.get("transfer-encoding")
    if te is not None and te.lower() != "identity":
        return -1 if te.rsplit(",", 1)[-1].strip().lower() == "chunked" else None
    cl = headers.get("content-length")
    if cl is None:
        return None
    values = {v.strip() for v in cl.split(",")}
    if len(values) != 1:
        raise ValueError(f"conflicting Content-Length {cl!r}")
    value = values.pop()
    if not value.isdigit():
        raise ValueError(f"bad Content-Length {cl!r}")
    return int(value)


def encode_head(request: Request, body_len: int) -> bytes:
    """The request line and headers, as sent. Adds ``Host`` (if absent) and
    ``Content-Length`` (for a body, or for methods that carry one); nothing else."""
    headers = request.headers
    block = "\r\n".join(map(": ".join, headers.items()))
    n = len(headers)
    # A CR or LF inside a name or value would smuggle in extra header lines.
    if n and (block.count("\n") != n - 1 or block.count("\r") != n - 1):
        raise ValueError("header names and values must not contain CR or LF")
    extra = ""
    if "host" not in headers:
        extra = f"host: {request.host}\r\n"
    cl = headers.get("content-length")
    if cl is not None:
        if cl.strip() != str(body_len):
            raise ValueError(f"Content-Length {cl!r} does not match a body of {body_len} bytes")
    elif body_len or request.method in _BODY_METHODS:
        extra += f"content-length: {body_len}\r\n"
    if n:
        block += "\r\n"
    line = f"{request.method} {request.target} HTTP/1.1"
    host = request.host
    if line.count(" ") != 2 or "\n" in line or "\r" in line or not host.isprintable():
        raise ValueError(f"invalid request line or host: {line!r}, {request.host!r}")
    text = f"{line}\r\n{extra}{block}\r\n"
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        raise ValueError(
            "request line and header values must be latin-1 (encode non-ASCII metadata)"
        ) from None


def _split_host(scheme: str, host: str) -> tuple[str, int]:
    default = _DEFAULT_PORTS[scheme]
    if host.startswith("["):  # [v6] or [v6]:port
        addr, _, rest = host[1:].partition("]")
        return addr, int(rest[1:]) if rest.startswith(":") else default
    name, sep, port = host.rpartition(":")
    if sep and port.isdigit():
        return name, int(port)
    return host, default


def _ip_literal(host: str, port: int) -> tuple[socket.AddressFamily, tuple[Any, ...]] | None:
    """The address of ``host`` if it is an IP literal (no resolving needed), else None."""
    if "%" in host:  # a scoped IPv6 address: getaddrinfo knows the interface's index
        return None
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return None
    if ip.version == 4:
        return socket.AF_INET, (host, port)
    return socket.AF_INET6, (host, port, 0, 0)


class _Resolver(Resolver):
    """tornado's default resolver, except that an IP literal (``127.0.0.1``, an
    endpoint by address) is its own answer instead of a ``getaddrinfo`` call in a
    thread for every new connection."""

    def initialize(self) -> None:
        self._fallback = DefaultLoopResolver()

    def close(self) -> None:
        self._fallback.close()

    async def resolve(
        self, host: str, port: int, family: socket.AddressFamily = socket.AF_UNSPEC
    ) -> list[tuple[int, Any]]:
        literal = _ip_literal(host, port)
        if literal is not None and family in (socket.AF_UNSPEC, literal[0]):
            return [literal]
        addresses: list[tuple[int, Any]] = await self._fallback.resolve(host, port, family)
        return addresses


class _Stale(Exception):
    """A reused connection died before any response byte: safe to resend once."""


class _Conn:
    """One connection: its read buffer, its read-timeout timer, where it belongs.

    Responses are read with ``IOStream.read_into`` into the connection's own
    buffer, which keeps tornado's buffer empty: the socket then stays registered
    for reading between requests instead of being removed and re-added each time.
    """

    __slots__ = (
        "buf",
        "busy",
        "deadline",
        "end",
        "host",
        "idle",
        "idle_since",
        "loop",
        "pos",
        "read_timeout",
        "sock",
        "stream",
        "timed_out",
        "timer",
        "uses",
    )

    def __init__(self, stream: IOStream, host: _HostPool, read_timeout: float) -> None:
        self.stream = stream
        self.host = host
        self.loop = host.loop
        self.read_timeout = read_timeout
        self.busy = False
        self.idle = False
        self.idle_since = 0.0
        self.deadline = 0.0
        self.timed_out = False
        self.timer: asyncio.TimerHandle | None = None
        self.uses = 0
        self.buf = bytearray(_BUFFER)
        # The raw socket, for direct writes (plain TCP only: TLS needs SSLIOStream).
        self.sock: socket.socket | None = stream.socket if type(stream) is IOStream else None
        self.pos = 0  # unread data is buf[pos:end]
        self.end = 0
        stream.set_close_callback(self._on_close)

    def begin(self) -> None:
        """Start a request: arm the read timeout."""
        self.busy = True
        self.deadline = self.loop.time() + self.read_timeout
        if self.timer is None:
            self.timer = self.loop.call_at(self.deadline, self._on_timer)

    def touch(self, _: object = None) -> None:
        """Progress was made: push the read deadline back."""
        self.deadline = self.loop.time() + self.read_timeout

    def _on_timer(self) -> None:
        # One timer per connection, re-armed lazily: a request only moves the
        # deadline instead of scheduling and cancelling a timer of its own.
        self.timer = None
        if not self.busy:
            return
        now = self.loop.time()
        if now >= self.deadline:
            self.timed_out = True
            self.stream.close()
        else:
            wake = min(self.deadline, now + self.read_timeout)
            self.timer = self.loop.call_at(wake, self._on_timer)

    def close(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self.stream.set_close_callback(None)
        self.stream.close()
        self.host.owner.conns.discard(self)

    def _on_close(self) -> None:
        # The peer closed the connection (only matters while it sits idle; a
        # busy connection sees the close as a failed read or write).
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self.host.owner.conns.discard(self)
        if self.idle:
            self.idle = False
            host = self.host
            if self in host.idle:  # not when the whole pool was closed meanwhile
                host.idle.remove(self)
                host.free_slot()

    def write_head(self, data: bytes) -> Future[None] | None:
        """Write ``data``; ``None`` when it went out at once.

        On a plain TCP stream with nothing queued, one ``send`` usually takes it
        all, which skips IOStream's per-write future and callback; what is left
        (or everything, for TLS) goes through ``IOStream.write`` as usual.
        """
        sock = self.sock
        if sock is None or self.stream.writing():
            return self.stream.write(data)
        try:
            sent = sock.send(data)
        except BlockingIOError:
            sent = 0
        if sent == len(data):
            return None
        return self.stream.write(data[sent:])

    # --- reading ---------------------------------------------------------------

    async def _fill(self) -> None:
        """Read what arrives next (at least one byte) into the buffer."""
        buf = self.buf
        if self.end == len(buf):
            if not self.pos:
                raise ValueError(f"response line or head longer than {len(buf)} bytes")
            rest = self.end - self.pos
            buf[:rest] = buf[self.pos : self.end]
            self.pos, self.end = 0, rest
        with memoryview(buf) as view, view[self.end :] as target:
            n = await self.stream.read_into(target, partial=True)  # type: ignore[arg-type]
        self.end += n
        self.deadline = self.loop.time() + self.read_timeout

    async def read_until(self, delimiter: bytes) -> bytearray:
        """The data up to and including ``delimiter`` (within one buffer)."""
        buf = self.buf
        scanned = 0  # bytes after pos known not to start the delimiter
        while True:
            i = buf.find(delimiter, self.pos + scanned, self.end)
            if i >= 0:
                i += len(delimiter)
                data = buf[self.pos : i]
                self._advance(i)
                return data
            scanned = max(0, self.end - self.pos - len(delimiter) + 1)
            await self._fill()

    def _advance(self, to: int) -> None:
        if to == self.end:
            self.pos = self.end = 0
        else:
            self.pos = to

    async def read_exactly(self, n: int) -> bytes:
        """Exactly ``n`` bytes, held whole (the caller wants them collected)."""
        have = self.end - self.pos
        if have >= n:
            data = bytes(self.buf[self.pos : self.pos + n])
            self._advance(self.pos + n)
            return data
        if n <= len(self.buf) // 2:
            if self.pos + n > len(self.buf):
                self.buf[:have] = self.buf[self.pos : self.end]
                self.pos, self.end = 0, have
            while self.end - self.pos < n:
                await self._fill()
            return await self.read_exactly(n)
        # Big: read straight into the bytes object that is returned. A BytesIO made
        # from a bytes object it alone holds lends that object's memory to
        # getbuffer() and hands the same object back from getvalue(): the body is
        # held once, never copied (elsewhere than CPython, getvalue() copies once).
        out = io.BytesIO(bytes(n))
        read_into = self.stream.read_into
        with out.getbuffer() as view:
            view[:have] = self.buf[self.pos : self.end]
            self.pos = self.end = 0
            while have < n:
                with view[have:] as target:
                    have += await read_into(target, partial=True)  # type: ignore[arg-type]
                self.deadline = self.loop.time() + self.read_timeout
        return out.getvalue()

    async def stream_exactly(self, n: int, sink: BodySink) -> None:
        """Hand exactly ``n`` bytes to ``sink``, in pieces of at most ``_CHUNK``."""
        have = min(self.end - self.pos, n)
        if have:
            piece = bytes(self.buf[self.pos : self.pos + have])
            self._advance(self.pos + have)
            n -= have
            result = sink(piece)
            if result is not None and isawaitable(result):
                await self._await_sink(result)
            self.touch()
        if not n:
            return
        scratch = bytearray(min(n, _CHUNK))
        read_into = self.stream.read_into
        with memoryview(scratch) as view:
            while n:
                with view[: min(n, len(scratch))] as target:
                    got = await read_into(target, partial=True)  # type: ignore[arg-type]
                self.deadline = self.loop.time() + self.read_timeout
                n -= got
                result = sink(view[:got].tobytes())
                if result is not None and isawaitable(result):
                    await self._await_sink(result)
                self.deadline = self.loop.time() + self.read_timeout

    async def _await_sink(self, result: Awaitable[object]) -> None:
        # Time spent in the sink is not the server's: no read deadline meanwhile.
        self.deadline = _NEVER
        try:
            await result
        finally:
            self.touch()

    async def read_to_close(self, sink: BodySink | None) -> bytes:
        """The rest of the data until the peer closes (``b""`` when streamed)."""
        pieces: list[bytes] = []
        try:
            while True:
                if self.end == self.pos:
                    self.pos = self.end = 0
                    await self._fill()
                piece = bytes(self.buf[self.pos : self.end])
                self.pos = self.end = 0
                if sink is None:
                    pieces.append(piece)
                else:
                    result = sink(piece)
                    if result is not None and isawaitable(result):
                        await self._await_sink(result)
                    self.touch()
        except StreamClosedError:
            # A clean close ends the body; a reset or our own timeout does not.
            if self.stream.error is not None or self.timed_out:
                raise
        return b"".join(pieces)


class _HostPool:
    """Connections to one (scheme, host) on one event loop."""

    __slots__ = (
        "host",
        "idle",
        "idle_timeout",
        "limit",
        "loop",
        "open",
        "owner",
        "port",
        "scheme",
        "sweeper",
        "tls_session",
        "waiters",
    )

    def __init__(
        self, owner: _LoopPool, scheme: str, hostport: str, limit: int, idle_timeout: float
    ) -> None:
        self.owner = owner
        self.loop = owner.loop
        self.scheme = scheme
        self.host, self.port = _split_host(scheme, hostport)
        self.limit = limit
        self.idle_timeout = idle_timeout
        self.idle: list[_Conn] = []  # LIFO: most recently used last
        self.open = 0  # connections open or being opened
        self.waiters: deque[asyncio.Future[_Conn | None]] = deque()
        self.sweeper: asyncio.TimerHandle | None = None
        # The latest resumable TLS session: new connections resume it (an abbreviated
        # handshake), which matters most with servers that close every connection.
        self.tls_session: ssl.SSLSession | None = None

    def remember_session(self, conn: _Conn) -> None:
        """Keep ``conn``'s TLS session for the next connections (after its first
        response: a TLS 1.3 server sends its session tickets after the handshake)."""
        sock = conn.stream.socket
        if not isinstance(sock, ssl.SSLSocket):
            return
        session = sock.session
        if session is not None and (session.has_ticket or sock.version() != "TLSv1.3"):
            self.tls_session = session

    async def acquire(self) -> _Conn | None:
        """An idle connection, or ``None``: the caller holds a slot and must connect."""
        idle = self.idle
        if idle:
            oldest = self.loop.time() - self.idle_timeout
            while idle:
                conn = idle.pop()
                conn.idle = False
                if (
                    conn.idle_since > oldest
                    and not conn.stream.closed()
                    and not conn.stream._read_buffer_size  # unsolicited bytes: unusable
                ):
                    return conn
                conn.close()
                self.open -= 1
        if self.open < self.limit:
            self.open += 1
            return None
        fut: asyncio.Future[_Conn | None] = self.loop.create_future()
        self.waiters.append(fut)
        try:
            return await fut
        except asyncio.CancelledError:
            if fut.cancelled():
                if fut in self.waiters:
                    self.waiters.remove(fut)
            else:  # handed a connection or slot just before being cancelled
                handed = fut.result()
                if handed is None:
                    self.free_slot()
                else:
                    self.release(handed, True)
            raise

    def release(self, conn: _Conn, reusable: bool) -> None:
        """Return ``conn`` after a request; ``reusable`` False closes it."""
        conn.busy = False
        if not reusable or conn.stream.closed() or self.owner.closed:
            conn.close()
            self.free_slot()
            return
        waiters = self.waiters
        while waiters:
            fut = waiters.popleft()
            if not fut.done():
                fut.set_result(conn)
                return
        now = self.loop.time()
        conn.idle_since = now
        conn.idle = True
        self.idle.append(conn)
        if self.sweeper is None:
            self.sweeper = self.loop.call_at(now + self.idle_timeout, self._sweep)

    def _sweep(self) -> None:
        """Close connections idle for longer than ``idle_timeout`` (oldest first)."""
        self.sweeper = None
        idle = self.idle
        cutoff = self.loop.time() - self.idle_timeout
        while idle and idle[0].idle_since <= cutoff:
            conn = idle.pop(0)
            conn.idle = False
            conn.close()
            self.free_slot()
        if idle and not self.owner.closed:
            self.sweeper = self.loop.call_at(idle[0].idle_since + self.idle_timeout, self._sweep)

    def free_slot(self) -> None:
        """A connection went away: let a waiter open a new one."""
        waiters = self.waiters
        while waiters:
            fut = waiters.popleft()
            if not fut.done():
                fut.set_result(None)
                return
        self.open -= 1


class _LoopPool:
    """Everything a Transport holds on one event loop."""

    __slots__ = ("closed", "conns", "hosts", "loop", "tcp")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.hosts: dict[tuple[str, str], _HostPool] = {}
        self.conns: set[_Conn] = set()
        self.tcp = TCPClient(resolver=_Resolver())
        self.closed = False

    def close(self) -> None:
        """Close every connection and fail every waiter (on the pool's own loop,
        or when that loop is not running)."""
        self.closed = True
        for conn in list(self.conns):
            # A closed loop may refuse the callbacks that closing schedules.
            with contextlib.suppress(Exception):
                conn.close()
        self.conns.clear()
        err = RuntimeError("s3lite Transport was closed")
        for host in self.hosts.values():
            if host.sweeper is not None:
                host.sweeper.cancel()
                host.sweeper = None
            for conn in host.idle:
                conn.idle = False
            host.idle.clear()
            for fut in host.waiters:
                if not fut.done():
                    fut.set_exception(err)
            host.waiters.clear()
        self.hosts.clear()
        self.tcp.close()


class Transport:
    """Sends :class:`Request` objects over pooled keep-alive connections."""

    def __init__(
        self,
        *,
        max_connections_per_host: int = 10,
        connect_timeout: float = 10.0,
        read_timeout: float = 60.0,
        idle_timeout: float = 30.0,
        ssl_context: ssl.SSLContext | None = None,
        max_body_size: int | None = None,
    ) -> None:
        if max_connections_per_host < 1:
            raise ValueError("max_connections_per_host must be at least 1")
        self.max_connections_per_host = max_connections_per_host
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.idle_timeout = idle_timeout
        self._ssl_context = ssl_context
        # Collected bodies larger than this are refused (streamed ones are the sink's business).
        self.max_body_size = max_body_size
        self._pools: dict[asyncio.AbstractEventLoop, _LoopPool] = {}
        self._closed = False

    @property
    def ssl_context(self) -> ssl.SSLContext:
        """The TLS context for ``https`` (created on first use)."""
        if self._ssl_context is None:
            self._ssl_context = ssl.create_default_context()
        return self._ssl_context

    def _loop_pool(self, loop: asyncio.AbstractEventLoop) -> _LoopPool:
        pool = self._pools.get(loop)
        if pool is None:
            # list() copies atomically: another thread may be adding its own loop.
            for other in [lp for lp in list(self._pools) if lp.is_closed()]:
                dropped = self._pools.pop(other, None)
                if dropped is not None:
                    _close_foreign(dropped)
            pool = self._pools[loop] = _LoopPool(loop)
        return pool

    async def send(
        self,
        request: Request,
        *,
        sink: BodySink | None = None,
        on_head: Callable[[dict[str, str]], object] | None = None,
    ) -> Response:
        """Send ``request`` and return the response. With ``sink``, a 2xx body is
        passed to ``sink`` chunk by chunk instead of being collected; ``on_head`` gets
        the headers of such a response before its first chunk."""
        if self._closed:
            raise RuntimeError("s3lite Transport is closed")
        loop = asyncio.get_running_loop()
        pools = self._pools.get(loop) or self._loop_pool(loop)
        key = (request.scheme, request.host)
        host = pools.hosts.get(key)
        if host is None:
            if request.scheme not in _DEFAULT_PORTS:
                raise ValueError(f"unsupported scheme {request.scheme!r}")
            host = pools.hosts[key] = _HostPool(
                pools,
                request.scheme,
                request.host,
                self.max_connections_per_host,
                self.idle_timeout,
            )
        body = request.body
        body_len = body.nbytes if isinstance(body, memoryview) else len(body)
        head = encode_head(request, body_len)
        if body_len <= _INLINE_BODY:
            if body_len:
                head += body
            body_len = 0

        conn = await host.acquire()
        if conn is None:
            conn = await self._connect(host)
        try:
            return await self._exchange(conn, head, body, body_len, request.method, sink, on_head)
        except _Stale:
            pass
        # The server closed the reused connection before answering: resend once,
        # on a fresh connection that takes over the dead one's slot.
        conn = await self._connect(host)
        try:
            return await self._exchange(conn, head, body, body_len, request.method, sink, on_head)
        except _Stale:
            raise AssertionError("fresh connection reported as stale") from None

    async def _connect(self, host: _HostPool) -> _Conn:
        """Open a connection for a slot the caller holds (freed on failure)."""
        ctx = self.ssl_context if host.scheme == "https" else None
        where = f"{host.scheme}://{host.host}:{host.port}"
        deadline = host.loop.time() + self.connect_timeout
        try:
            stream = await host.owner.tcp.connect(
                host.host, host.port, timeout=self.connect_timeout
            )
            if ctx is not None:
                stream = await _start_tls(stream, ctx, host, deadline - host.loop.time())
        except BaseException as e:
            host.free_slot()
            if isinstance(e, (TimeoutError, asyncio.TimeoutError)):
                raise TransportTimeout(
                    f"connecting to {where} timed out", request_sent=False
                ) from e
            if isinstance(e, ssl.SSLCertVerificationError):  # retrying cannot help
                raise TransportError(
                    f"TLS certificate of {where} not trusted: {e.verify_message}",
                    code=CERTIFICATE_ERROR,
                    request_sent=False,
                ) from e
            if isinstance(e, (OSError, StreamClosedError)):
                raise TransportError(f"cannot connect to {where}: {e}", request_sent=False) from e
            raise
        if host.owner.closed:
            stream.close()
            host.free_slot()
            raise RuntimeError("s3lite Transport was closed")
        stream.set_nodelay(True)
        conn = _Conn(stream, host, self.read_timeout)
        host.owner.conns.add(conn)
        return conn

    async def _exchange(
        self,
        conn: _Conn,
        head: bytes,
        body: bytes | memoryview,
        body_len: int,
        method: str,
        sink: BodySink | None,
        on_head: Callable[[dict[str, str]], object] | None = None,
    ) -> Response:
        """One request/response on ``conn``; releases ``conn`` unless raising _Stale
        (then the caller keeps the slot)."""
        stream = conn.stream
        reused = conn.uses > 0
        conn.uses += 1
        conn.timed_out = False
        conn.begin()
        got_head = False
        try:
            try:
                wf = conn.write_head(head)
                if body_len:
                    view = memoryview(body).cast("B")
                    for start in range(0, body_len, _WRITE_SLICE):
                        wf = stream.write(view[start : start + _WRITE_SLICE])
                        wf.add_done_callback(conn.touch)
                while True:
                    head_ = parse_head(await conn.read_until(b"\r\n\r\n"))
                    if head_.status >= 200 or head_.status == 101:
                        break
                got_head = True
                framing = body_framing(method, head_)
            except (StreamClosedError, OSError) as e:
                if reused and not got_head and not conn.timed_out and not conn.end:
                    conn.close()
                    conn.busy = False
                    raise _Stale from e
                raise
            status = head_.status
            limit = self.max_body_size
            if framing == 0:
                content = b""
            elif limit is not None and (sink is None or not 200 <= status < 300):
                content = await self._read_capped(conn, framing, limit)
            elif sink is not None and 200 <= status < 300:
                if on_head is not None:
                    on_head(head_.headers)
                if framing is None:
                    await conn.read_to_close(sink)
                elif framing > 0:
                    await conn.stream_exactly(framing, sink)
                else:
                    await self._read_chunked(conn, sink)
                content = b""
            elif framing is None:
                content = await conn.read_to_close(None)
            elif framing > 0:
                content = await conn.read_exactly(framing)
            else:
                content = await self._read_chunked(conn, None)
            if conn.uses == 1 and conn.sock is None:
                conn.host.remember_session(conn)
            # Reusable only if the response was framed, the server allows it, our
            # request went out whole, and nothing unexpected follows the response.
            reusable = (
                framing is not None
                and keep_alive(head_)
                and (wf is None or wf.done())
                and conn.end == 0
            )
        except _Stale:
            raise
        except BaseException as e:
            conn.host.release(conn, False)
            # Body-phase errors carry the response headers (e.g. the ETag to resume with).
            headers = head_.headers if got_head else None
            if conn.timed_out:
                raise TransportTimeout(
                    f"no response data within {self.read_timeout} s",
                    request_sent=True,
                    headers=headers,
                ) from e
            if isinstance(e, (StreamClosedError, OSError)):
                what = "response body" if got_head else "response"
                cause = e.real_error if isinstance(e, StreamClosedError) else None
                raise TransportError(
                    f"connection lost before the end of the {what}: {cause or e}",
                    request_sent=True,
                    headers=headers,
                ) from e
            if isinstance(e, ValueError):
                raise TransportError(
                    f"malformed response: {e}", request_sent=True, headers=headers
                ) from e
            raise
        conn.host.release(conn, reusable)
        return Response(status, head_.headers, content, head_.reason)

    async def _read_capped(self, conn: _Conn, framing: int | None, limit: int) -> bytes:
        """A collected body of at most ``limit`` bytes (ValueError past that)."""
        if framing is not None and framing > limit:
            raise ValueError(f"response body of {framing} bytes is larger than {limit}")
        if framing is not None and framing > 0:
            return await conn.read_exactly(framing)
        pieces: list[bytes] = []
        size = 0

        def collect(piece: bytes) -> None:
            nonlocal size
            size += len(piece)
            if size > limit:
                raise ValueError(f"response body is larger than {limit} bytes")
            pieces.append(piece)

        if framing is None:
            await conn.read_to_close(collect)
        else:
            await self._read_chunked(conn, collect)
        return b"".join(pieces)

    @staticmethod
    async def _read_chunked(conn: _Conn, sink: BodySink | None) -> bytes:
        """A chunked body: collected (``sink`` None) or handed to ``sink``."""
        pieces: list[bytes] = []
        while True:
            line = await conn.read_until(b"\r\n")
            try:
                size = int(line.split(b";", 1)[0], 16)
            except ValueError:
                raise ValueError(f"bad chunk size line {bytes(line[:80])!r}") from None
            if not size:
                break
            if sink is None:
                pieces.append(await conn.read_exactly(size))
            else:
                await conn.stream_exactly(size, sink)
            if await conn.read_exactly(2) != b"\r\n":
                raise ValueError("chunk not followed by CRLF")
        while await conn.read_until(b"\r\n") != b"\r\n":  # trailers
            pass
        return b"".join(pieces)

    async def close(self) -> None:
        """Close every pooled connection; ``send`` raises afterwards."""
        self._closed = True
        try:
            current: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            current = None
        pools, self._pools = self._pools, {}
        for loop, pool in pools.items():
            if loop is current:
                pool.close()
            else:
                _close_foreign(pool)

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"{len(self._pools)} loop(s)"
        return f"<s3lite.Transport {state}>"


async def _start_tls(
    stream: IOStream, ctx: ssl.SSLContext, host: _HostPool, timeout: float
) -> SSLIOStream:
    """The TLS handshake on a connected ``stream`` (what ``IOStream.start_tls`` does,
    plus resuming the host's last TLS session, which tornado cannot pass on)."""
    sock = stream.socket
    stream.io_loop.remove_handler(sock)
    stream.socket = None  # type: ignore[assignment]  # the TLS stream owns it now
    try:
        tls_sock = ctx.wrap_socket(
            sock,
            server_hostname=host.host,
            do_handshake_on_connect=False,
            session=host.tls_session,
        )
    except BaseException:
        sock.close()
        raise
    tls = SSLIOStream(tls_sock, ssl_options=ctx)
    try:
        await asyncio.wait_for(tls.wait_for_handshake(), max(timeout, 0.0))
    except BaseException:
        tls.close()
        raise
    return tls


def _close_foreign(pool: _LoopPool) -> None:
    """Close a pool that belongs to another event loop, as safely as that allows."""
    loop = pool.loop
    if loop.is_running():
        # Its connections are registered with that (running) loop: close there.
        with contextlib.suppress(RuntimeError):  # closed meanwhile
            loop.call_soon_threadsafe(pool.close)
        return
    with contextlib.suppress(Exception):
        pool.close()
