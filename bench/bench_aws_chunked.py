"""Would aws-chunked signing make a single signed PUT over plain HTTP faster? Raw sockets.

Run: ``python bench/bench_aws_chunked.py [--mib 100] [--rounds 7]``.

A SigV4 PUT over HTTP signs the payload's SHA-256 in its head, so the whole body is
hashed before its first byte goes out (s3lite's single PUT). aws-chunked
(``STREAMING-AWS4-HMAC-SHA256-PAYLOAD``) signs chunk by chunk instead, so chunk n can be
on its way while chunk n+1 is hashed: moto and Ceph RGW 16 both take it (RGW checks
every chunk signature and refuses an empty aws-chunked body). This measures what that
overlap could give at best, without s3lite in the way: the same PUT written on a plain
blocking socket to the stub (``s3stub.py``, which discards big bodies), hashed whole
first, or framed as aws-chunked with each chunk hashed just before it is sent (in this
thread, or one chunk ahead in a second thread). The cases take turns round by round;
client and stub CPU per case beside the wall times.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import os
import socket
import statistics
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from urllib.parse import urlsplit

from s3stub import StubServer

MiB = 1 << 20
KEY = b"k" * 32  # a stand-in signing key: the stub checks no signature


def connect(url: str) -> socket.socket:
    parts = urlsplit(url)
    assert parts.hostname and parts.port
    sock = socket.create_connection((parts.hostname, parts.port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def head(url: str, length: int, extra: str = "") -> bytes:
    host = urlsplit(url).netloc
    lines = f"host: {host}\r\ncontent-length: {length}\r\n{extra}"
    return f"PUT /bench/raw HTTP/1.1\r\n{lines}\r\n".encode()


def finish(sock: socket.socket) -> None:
    answer = sock.recv(65536)
    sock.close()
    assert answer.startswith(b"HTTP/1.1 200"), answer[:200]


def framed_length(size: int, chunk: int) -> int:
    sizes = [min(chunk, size - i) for i in range(0, size, chunk)] + [0]
    return sum(len(f"{n:x}") + len(";chunk-signature=") + 64 + 2 + n + 2 for n in sizes)


def hash_then_send(url: str, body: bytes) -> None:
    digest = hashlib.sha256(body).hexdigest()
    sock = connect(url)
    sock.sendall(head(url, len(body), f"x-amz-content-sha256: {digest}\r\n"))
    sock.sendall(body)
    finish(sock)


def wire(url: str, body: bytes) -> None:
    sock = connect(url)
    sock.sendall(head(url, len(body)))
    sock.sendall(body)
    finish(sock)


def aws_chunked(url: str, body: bytes, chunk: int, pool: ThreadPoolExecutor | None) -> None:
    """Each chunk hashed (here, or ``pool`` hashing one chunk ahead), signed in chain
    and sent before the next is hashed."""
    view = memoryview(body)
    offsets = list(range(0, len(body), chunk))

    def digest(offset: int) -> str:
        return hashlib.sha256(view[offset : offset + chunk]).hexdigest()

    ahead: list[Future[str]] = []
    if pool is not None:
        ahead = [pool.submit(digest, o) for o in offsets[:2]]
    sock = connect(url)
    sock.sendall(head(url, framed_length(len(body), chunk)))
    previous = "0" * 64
    for i, offset in enumerate(offsets):
        if pool is not None and i + 2 < len(offsets):
            ahead.append(pool.submit(digest, offsets[i + 2]))
        hexdigest = ahead[i].result() if pool is not None else digest(offset)
        previous = hmac.new(KEY, (previous + hexdigest).encode(), "sha256").hexdigest()
        piece = view[offset : offset + chunk]
        sock.sendall(f"{len(piece):x};chunk-signature={previous}\r\n".encode())
        sock.sendall(piece)
        sock.sendall(b"\r\n")
    sock.sendall(f"0;chunk-signature={previous}\r\n\r\n".encode())
    finish(sock)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--mib", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    body = os.urandom(args.mib * MiB)
    pool = ThreadPoolExecutor(1)
    cases: dict[str, Callable[[str], object]] = {
        "hashlib.sha256(body): the reference": lambda u: hashlib.sha256(body).digest(),
        "the wire alone (no hashing)": lambda u: wire(u, body),
        "hash whole, then send (a signed single PUT)": lambda u: hash_then_send(u, body),
        "aws-chunked, 1 MiB chunks hashed in turn": lambda u: aws_chunked(u, body, MiB, None),
        "aws-chunked, 1 MiB chunks, a thread hashing ahead": lambda u: aws_chunked(
            u, body, MiB, pool
        ),
        "aws-chunked, 64 KiB chunks hashed in turn": lambda u: aws_chunked(u, body, 65536, None),
    }
    times: dict[str, list[float]] = {k: [] for k in cases}
    cpu = dict.fromkeys(cases, 0.0)
    stub_cpu = dict.fromkeys(cases, 0.0)
    print(f"{args.mib} MiB, {args.rounds} rounds; load average {os.getloadavg()[0]:.1f}")
    stub = StubServer()
    with stub as url:
        for _ in range(args.rounds):
            for label, run in cases.items():
                c0, s0, t0 = time.process_time(), stub.cpu_seconds(), time.perf_counter()
                run(url)
                times[label].append(time.perf_counter() - t0)
                cpu[label] += time.process_time() - c0
                stub_cpu[label] += stub.cpu_seconds() - s0
    pool.shutdown()
    ref = statistics.median(times["hashlib.sha256(body): the reference"])
    print(f"  {'':<52} {'median':>7} {'x sha256':>8} {'client CPU':>10} {'stub CPU':>8}")
    for label, t in times.items():
        med = statistics.median(t)
        print(
            f"  {label:<52} {med * 1e3:4.0f} ms {med / ref:7.2f}x "
            f"{cpu[label] / args.rounds * 1e3:7.0f} ms "
            f"{stub_cpu[label] / args.rounds * 1e3:5.0f} ms"
        )


if __name__ == "__main__":
    main()
