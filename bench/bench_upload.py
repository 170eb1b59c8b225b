"""Large uploads: wall time against one SHA-256 pass, and peak memory of a streamed upload.

Run: ``python bench/bench_upload.py [--mib 100] [--stream-mib 200] [--rounds 5]``.

1. ``put_object`` of a 100 MiB ``bytes`` body over plain HTTP (so the payload is signed
   with its SHA-256): one PUT (``multipart_threshold`` above the size) and the default
   multipart (8 MiB parts, 4 at a time), against the time of one ``hashlib.sha256(body)``
   pass. For context: the bare wire time (the same PUT written on a raw socket, no
   hashing) and boto3 doing the same.
2. Peak memory of a 200 MiB *streamed* upload (an async generator of fresh 1 MiB chunks,
   8 MiB parts, 4 at a time), each in a fresh child process: the peak RSS during the
   upload over the RSS just before it (``VmHWM``, reset first; the ``ru_maxrss``
   increase is shown too, but a child inherits its parent's ``ru_maxrss`` across
   fork/exec, so it can under-report), and, in a second child, the tracemalloc peak.
   The same for boto3's ``upload_fileobj`` of a generator-backed (non-seekable) file
   object, with 4 threads and with its default 10.

The S3 stand-in (``bench/s3stub.py``) runs in a separate process on 127.0.0.1 and
discards bodies over 1 MiB as they arrive (counting them against Content-Length).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import io
import json
import os
import platform
import resource
import socket
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from s3stub import ACCESS_KEY, REGION, SECRET_KEY, StubServer, boto3_client

from s3lite import Credentials, S3Client

MiB = 1 << 20
BUCKET = "bench"


@dataclass
class Case:
    label: str
    run: Callable[[], object]
    times: list[float] = field(default_factory=list)
    cpu: float = 0.0  # client process CPU, summed over the runs
    stub_cpu: float = 0.0  # the stub server's CPU, summed over the runs


def raw_put(url: str, body: bytes) -> None:
    """The wire alone: one PUT of ``body`` written on a plain socket (no hashing)."""
    parts = urlsplit(url)
    assert parts.hostname and parts.port
    head = (
        f"PUT /{BUCKET}/raw HTTP/1.1\r\nhost: {parts.netloc}\r\ncontent-length: {len(body)}\r\n\r\n"
    ).encode()
    with socket.create_connection((parts.hostname, parts.port)) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.sendall(head)
        sock.sendall(body)
        response = sock.recv(65536)
    assert response.startswith(b"HTTP/1.1 200"), response[:100]


def bench_big_body(stub: StubServer, url: str, mib: int, rounds: int) -> dict[str, float]:
    """Each case once per round, interleaved (the machine's load drifts); returns the
    median time of each case."""
    from boto3.s3.transfer import TransferConfig

    body = os.urandom(mib * MiB)
    loop = asyncio.new_event_loop()
    creds = Credentials(ACCESS_KEY, SECRET_KEY)
    single = S3Client(REGION, url, creds, multipart_threshold=(mib + 1) * MiB)
    multi = S3Client(REGION, url, creds)  # defaults: 8 MiB parts, 4 at a time
    s3: Any = boto3_client(url)
    boto_multi = TransferConfig(multipart_chunksize=8 * MiB, max_concurrency=4)
    cases = [
        Case("hashlib.sha256(body): the reference", lambda: hashlib.sha256(body).hexdigest()),
        Case("raw socket PUT, no hashing (the wire alone)", lambda: raw_put(url, body)),
        Case(
            "s3lite put_object, single PUT",
            lambda: loop.run_until_complete(single.put_object(BUCKET, "big", body)),
        ),
        Case(
            "s3lite put_object, multipart 8 MiB x 4",
            lambda: loop.run_until_complete(multi.put_object(BUCKET, "big", body)),
        ),
        Case(
            "boto3 put_object, single PUT (SHA-256 + CRC32)",
            lambda: s3.put_object(Bucket=BUCKET, Key="big", Body=body),
        ),
        Case(
            "boto3 upload_fileobj, multipart 8 MiB x 4",
            lambda: s3.upload_fileobj(io.BytesIO(body), BUCKET, "big", Config=boto_multi),
        ),
    ]
    try:
        loop.run_until_complete(single.put_object(BUCKET, "warm", b"x"))
        loop.run_until_complete(multi.put_object(BUCKET, "warm", b"x"))
        s3.put_object(Bucket=BUCKET, Key="warm", Body=b"x")
        for _ in range(rounds):
            for case in cases:
                cpu0, srv0, t0 = time.process_time(), stub.cpu_seconds(), time.perf_counter()
                case.run()
                case.times.append(time.perf_counter() - t0)
                case.cpu += time.process_time() - cpu0
                case.stub_cpu += stub.cpu_seconds() - srv0
    finally:
        loop.run_until_complete(single.close())
        loop.run_until_complete(multi.close())
        loop.close()
        s3.close()

    medians = {c.label: statistics.median(c.times) for c in cases}
    ref = cases[0]
    ref_median, ref_min = medians[ref.label], min(ref.times)
    print(f"\n{mib} MiB bytes body over plain HTTP (SHA-256-signed payload), {rounds} rounds")
    print(
        f"  {'':<48} {'median':>7} {'x sha256':>8} {'min':>6} {'x sha256':>8}"
        f" {'client CPU':>10} {'stub CPU':>8}"
    )
    for c in cases:
        med, low = medians[c.label], min(c.times)
        cpu, stub_cpu = c.cpu / rounds * 1000, c.stub_cpu / rounds * 1000
        print(
            f"  {c.label:<48} {med * 1000:4.0f} ms {med / ref_median:7.2f}x {low * 1000:3.0f} ms"
            f" {low / ref_min:7.2f}x {cpu:7.0f} ms {stub_cpu:5.0f} ms"
        )
    floor_median = ref_median + medians[cases[1].label]
    floor_min = ref_min + min(cases[1].times)
    print(
        "  (a signed single PUT must hash before it sends: its floor is sha256 + wire = "
        f"{floor_median * 1000:.0f} ms = {floor_median / ref_median:.2f}x by medians, "
        f"{floor_min * 1000:.0f} ms = {floor_min / ref_min:.2f}x by minimums)",
        flush=True,
    )
    return medians


# -- 2. memory of a streamed upload (child processes) ----------------------------------


def _chunks(total: int, size: int = MiB) -> Iterator[bytes]:
    """``total`` bytes as fresh ``size``-byte objects (as if read from somewhere)."""
    buf = bytearray(os.urandom(size))
    for i in range(total // size):
        buf[:8] = i.to_bytes(8, "big")
        yield bytes(buf)


async def _achunks(total: int) -> AsyncIterator[bytes]:
    for chunk in _chunks(total):
        yield chunk


class GeneratorReader(io.RawIOBase):
    """A non-seekable binary file over an iterator of chunks; ``read(n)`` gives n bytes
    unless at the end (s3transfer needs whole parts)."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._rest = b""

    def readable(self) -> bool:
        return True

    def read(self, n: int | None = -1) -> bytes:
        pieces = [self._rest] if self._rest else []
        have = len(self._rest)
        self._rest = b""
        while n is None or n < 0 or have < n:
            chunk = next(self._chunks, None)
            if chunk is None:
                break
            pieces.append(chunk)
            have += len(chunk)
        data = b"".join(pieces)
        if n is not None and 0 <= n < len(data):
            data, self._rest = data[:n], data[n:]
        return data


def child(kind: str, url: str, mib: int, trace: bool) -> None:
    """One streamed upload in this (fresh) process; prints its measurements as JSON."""
    total = mib * MiB
    if kind == "s3lite":
        loop = asyncio.new_event_loop()
        s3 = S3Client(REGION, url, Credentials(ACCESS_KEY, SECRET_KEY))
        loop.run_until_complete(s3.put_object(BUCKET, "warm", b"x"))

        def upload() -> None:
            loop.run_until_complete(s3.put_object(BUCKET, "stream", _achunks(total)))

    else:
        from boto3.s3.transfer import TransferConfig

        concurrency = 4 if kind == "boto3" else 10
        client: Any = boto3_client(url)
        client.put_object(Bucket=BUCKET, Key="warm", Body=b"x")
        config = TransferConfig(multipart_chunksize=8 * MiB, max_concurrency=concurrency)

        def upload() -> None:
            reader = GeneratorReader(_chunks(total))
            client.upload_fileobj(reader, BUCKET, "stream", Config=config)

    maxrss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    _reset_peak_rss()
    rss_before = _status_kib("VmRSS")
    if trace:
        tracemalloc.start()
    t0 = time.perf_counter()
    upload()
    wall = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1] if trace else 0
    result = {
        "rss_before_kib": rss_before,
        "hwm_after_kib": _status_kib("VmHWM"),
        "maxrss_before_kib": maxrss_before,
        "maxrss_after_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "tracemalloc_peak": peak,
        "wall": wall,
    }
    print(json.dumps(result))


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def _reset_peak_rss() -> None:
    """Reset VmHWM to the current RSS (Linux >= 4.0), so it measures what follows.

    ru_maxrss cannot be reset, and a child inherits its parent's peak into it across
    fork and exec, which is why VmHWM is the main measure here."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def run_child(kind: str, url: str, mib: int, trace: bool) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--child", kind, url, "--stream-mib", str(mib)]
    if trace:
        cmd.append("--trace")
    out = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=True, timeout=100)
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def bench_stream_memory(url: str, mib: int) -> None:
    print(f"\n{mib} MiB streamed upload (fresh 1 MiB chunks), 8 MiB parts, fresh process each")
    print(
        f"  {'':<52} {'peak RSS increase':>17} {'ru_maxrss increase':>18} "
        f"{'tracemalloc peak':>16} {'wall':>6}"
    )
    for kind, label in (
        ("s3lite", "s3lite put_object(async generator), 4 at a time"),
        ("boto3", "boto3 upload_fileobj(file over generator), 4 threads"),
        ("boto3-default", "boto3 upload_fileobj, default 10 threads"),
    ):
        plain = run_child(kind, url, mib, trace=False)
        traced = run_child(kind, url, mib, trace=True)
        increase = (plain["hwm_after_kib"] - plain["rss_before_kib"]) / 1024
        maxrss = (plain["maxrss_after_kib"] - plain["maxrss_before_kib"]) / 1024
        print(
            f"  {label:<52} {increase:13.0f} MiB {maxrss:14.0f} MiB "
            f"{traced['tracemalloc_peak'] / MiB:12.0f} MiB {plain['wall']:5.2f} s",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--mib", type=int, default=100, help="size of the bytes body")
    parser.add_argument("--stream-mib", type=int, default=200, help="size of the stream")
    parser.add_argument("--rounds", type=int, default=5, help="runs of each big-body case")
    parser.add_argument("--child", nargs=2, metavar=("KIND", "URL"), help=argparse.SUPPRESS)
    parser.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], args.child[1], args.stream_mib, args.trace)
        return
    print(
        f"python {platform.python_version()}, {os.cpu_count()} CPUs; stub on 127.0.0.1; "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    started = time.perf_counter()
    stub = StubServer()
    with stub as url:
        # Memory first, while this process is small: a child starts its ru_maxrss at
        # this process's RSS.
        bench_stream_memory(url, args.stream_mib)
        bench_big_body(stub, url, args.mib, args.rounds)
    print(f"\ntotal {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
