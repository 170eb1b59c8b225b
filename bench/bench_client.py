"""Client CPU per small request, keep-alive: s3lite vs boto3 (and aiobotocore if available).

Run: ``python bench/bench_client.py [--n 2000] [--repeat 1] [--seconds 10]``.

A fast S3 stand-in (``bench/s3stub.py``, tornado, no signature checks) runs in a separate
process on 127.0.0.1. This process does ``n`` GetObject / PutObject calls of 1 KiB,
sequentially and 20 at a time, and reports its own CPU time (``time.process_time``,
every thread) per request and the request rate; the best of ``repeat`` runs counts.
boto3 is sync: "20 concurrent" is 20 threads sharing one client. Every client gets a
pool of 20 connections (boto3's default of 10 would make 20 threads churn connections).
Then 50 concurrent clients GET 64 KiB objects for ``seconds`` each (throughput).

aiobotocore is not a project dependency and must not change the venv's botocore (it pins
an older one), so it is only measured when ``AIOBOTOCORE_PATH`` names a directory it was
installed into with ``pip install --target DIR aiobotocore``; it then runs in a child
process with that directory first on its path, with ``--aiobotocore-n`` requests
(default 1000) and half the throughput time, to keep the whole script under two minutes.

Last, "no I/O" rows: s3lite with its transport replaced by a canned response, i.e. the
CPU of s3lite's own code (building, signing, parsing) without the network layer.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import os
import platform
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any

from s3stub import ACCESS_KEY, REGION, SECRET_KEY, StubServer, boto3_client, process_cpu_seconds

from s3lite import Credentials, S3Client
from s3lite.messages import Request, Response

BUCKET = "bench"
SMALL = os.urandom(1024)
MEDIUM = os.urandom(64 * 1024)
CONCURRENCY = 20
CLIENTS = 50  # for the throughput run


@dataclass
class Result:
    client: str
    case: str
    requests: int
    cpu_us: float  # client process CPU per request, microseconds
    rate: float  # requests per second (wall clock)
    server_us: float = 0.0  # the stub server's CPU per request, microseconds
    mib_s: float = 0.0  # payload throughput, for the throughput run


_stub_pid = 0  # the stub server's process, to read its CPU time


def _stub_cpu() -> float:
    return process_cpu_seconds(_stub_pid) if _stub_pid else 0.0


def _throughput_result(
    client: str, clients: int, count: int, received: int, cpu: float, wall: float, srv0: float
) -> Result:
    """Report and return a throughput run: ``count`` GETs, ``received`` bytes."""
    result = Result(
        client,
        f"{clients} clients, 64 KiB GETs",
        count,
        cpu / count * 1e6,
        count / wall,
        (_stub_cpu() - srv0) / count * 1e6,
    )
    result.mib_s = received / wall / (1 << 20)
    _report(result)
    return result


def _report(r: Result) -> None:
    stub = f"   (stub {r.server_us:4.0f} us/req)" if r.server_us else ""
    extra = f" {r.mib_s:6.1f} MiB/s" if r.mib_s else ""
    print(
        f"  {r.client:<12} {r.case:<34} {r.cpu_us:7.1f} us CPU/req {r.rate:6.0f} req/s"
        f"{stub}{extra}",
        flush=True,
    )


# -- async clients (s3lite, aiobotocore) ------------------------------------------------


async def measure_async(
    client: str,
    case: str,
    one: Callable[[], Awaitable[None]],
    n: int,
    concurrency: int,
    repeat: int,
) -> Result:
    """Best (least CPU) of ``repeat`` runs of ``n`` calls of ``one``, ``concurrency`` at a time."""
    for _ in range(min(n // 10, 200)):  # warm up: connections, caches
        await one()

    async def worker(count: int) -> None:
        for _ in range(count):
            await one()

    per = n // concurrency
    best: Result | None = None
    for _ in range(repeat):
        cpu0, wall0, srv0 = time.process_time(), time.perf_counter(), _stub_cpu()
        await asyncio.gather(*(worker(per) for _ in range(concurrency)))
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        done = per * concurrency
        result = Result(
            client, case, done, cpu / done * 1e6, done / wall, (_stub_cpu() - srv0) / done * 1e6
        )
        if best is None or result.cpu_us < best.cpu_us:
            best = result
    assert best is not None
    _report(best)
    return best


async def throughput_async(
    client: str, one: Callable[[], Awaitable[int]], clients: int, seconds: float
) -> Result:
    """``clients`` tasks calling ``one`` (returns bytes received) for ``seconds``."""
    await asyncio.gather(*(one() for _ in range(clients)))  # open the connections
    stop = time.perf_counter() + seconds
    count = 0
    received = 0

    async def worker() -> None:
        nonlocal count, received
        while time.perf_counter() < stop:
            got = await one()  # not "received += await ...": that loses concurrent updates
            received += got
            count += 1

    cpu0, wall0, srv0 = time.process_time(), time.perf_counter(), _stub_cpu()
    await asyncio.gather(*(worker() for _ in range(clients)))
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    return _throughput_result(client, clients, count, received, cpu, wall, srv0)


async def bench_s3lite(url: str, n: int, repeat: int, seconds: float) -> list[Result]:
    results = []
    async with S3Client(
        REGION,
        url,
        Credentials(ACCESS_KEY, SECRET_KEY),
        max_connections=max(CONCURRENCY, CLIENTS),
    ) as s3:
        await s3.put_object(BUCKET, "small", SMALL)
        await s3.put_object(BUCKET, "medium", MEDIUM)

        async def get() -> None:
            obj = await s3.get_object(BUCKET, "small")
            assert len(obj.body) == len(SMALL)

        async def put() -> None:
            await s3.put_object(BUCKET, "small-put", SMALL)

        async def get_medium() -> int:
            return len((await s3.get_object(BUCKET, "medium")).body)

        for case, one in (("get_object 1 KiB", get), ("put_object 1 KiB", put)):
            for conc in (1, CONCURRENCY):
                label = f"{case}, " + ("sequential" if conc == 1 else f"{conc} concurrent")
                results.append(await measure_async("s3lite", label, one, n, conc, repeat))
        if seconds:
            results.append(await throughput_async("s3lite", get_medium, CLIENTS, seconds))
    return results


async def bench_s3lite_core(n: int) -> list[Result]:
    """s3lite without the I/O: the transport answers at once with a canned response, so
    what is left is building, signing and parsing (the share of the client's own code)."""
    headers = {
        "etag": '"0123456789abcdef0123456789abcdef"',
        "last-modified": "Sat, 28 Nov 2026 23:33:31 GMT",
        "content-type": "binary/octet-stream",
        "content-length": str(len(SMALL)),
        "x-amz-request-id": "0000000000000001",
    }

    async def send(request: Request, *, sink: object = None, on_head: object = None) -> Response:
        return Response(200, dict(headers), SMALL, "OK")

    s3 = S3Client(REGION, "http://127.0.0.1:9", Credentials(ACCESS_KEY, SECRET_KEY))
    transport = getattr(s3, "_transport", None)  # private: skip if it is ever renamed
    if transport is None or not hasattr(transport, "send"):
        print("  (s3lite without I/O skipped: no S3Client._transport.send)")
        return []
    transport.send = send
    calls: tuple[tuple[str, Callable[[], Awaitable[object]]], ...] = (
        ("get_object 1 KiB, no I/O", lambda: s3.get_object(BUCKET, "small")),
        ("put_object 1 KiB, no I/O", lambda: s3.put_object(BUCKET, "small-put", SMALL)),
    )
    results = []
    for case, call in calls:

        async def one(call: Callable[[], Awaitable[object]] = call) -> None:
            await call()

        results.append(await measure_async("s3lite", case, one, n, 1, 3))
    return results


async def bench_aiobotocore(url: str, n: int, repeat: int, seconds: float) -> list[Result]:
    # Imported by name: it is not installed in the project's venv (see the docstring).
    aioconfig: Any = importlib.import_module("aiobotocore.config")
    aiosession: Any = importlib.import_module("aiobotocore.session")

    results = []
    config = aioconfig.AioConfig(
        max_pool_connections=max(CONCURRENCY, CLIENTS), s3={"addressing_style": "path"}
    )
    session = aiosession.get_session()
    async with session.create_client(
        "s3",
        endpoint_url=url,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        config=config,
    ) as s3:

        async def get() -> None:
            resp = await s3.get_object(Bucket=BUCKET, Key="small")
            async with resp["Body"] as stream:
                assert len(await stream.read()) == len(SMALL)

        async def put() -> None:
            await s3.put_object(Bucket=BUCKET, Key="small-put", Body=SMALL)

        async def get_medium() -> int:
            resp = await s3.get_object(Bucket=BUCKET, Key="medium")
            async with resp["Body"] as stream:
                return len(await stream.read())

        for case, one in (("get_object 1 KiB", get), ("put_object 1 KiB", put)):
            for conc in (1, CONCURRENCY):
                label = f"{case}, " + ("sequential" if conc == 1 else f"{conc} concurrent")
                results.append(await measure_async("aiobotocore", label, one, n, conc, repeat))
        if seconds:
            results.append(await throughput_async("aiobotocore", get_medium, CLIENTS, seconds))
    return results


# -- boto3 (threads) ------------------------------------------------------------------


def measure_threads(
    client: str, case: str, one: Callable[[], None], n: int, concurrency: int, repeat: int
) -> Result:
    """Best of ``repeat`` runs of ``n`` calls of ``one`` on ``concurrency`` threads."""
    for _ in range(min(n // 10, 200)):
        one()

    def worker(count: int) -> None:
        for _ in range(count):
            one()

    per = n // concurrency
    best: Result | None = None
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(worker, [1] * concurrency))  # start the threads, open the connections
        for _ in range(repeat):
            cpu0, wall0, srv0 = time.process_time(), time.perf_counter(), _stub_cpu()
            list(pool.map(worker, [per] * concurrency))
            cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
            done = per * concurrency
            srv = (_stub_cpu() - srv0) / done * 1e6
            result = Result(client, case, done, cpu / done * 1e6, done / wall, srv)
            if best is None or result.cpu_us < best.cpu_us:
                best = result
    assert best is not None
    _report(best)
    return best


def throughput_threads(client: str, one: Callable[[], int], clients: int, seconds: float) -> Result:
    stop = time.perf_counter() + seconds
    lock = threading.Lock()
    totals = [0, 0]

    def worker(_: int) -> None:
        count = received = 0
        while time.perf_counter() < stop:
            received += one()
            count += 1
        with lock:
            totals[0] += count
            totals[1] += received

    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(lambda _: one(), range(clients)))
        stop = time.perf_counter() + seconds
        cpu0, wall0, srv0 = time.process_time(), time.perf_counter(), _stub_cpu()
        list(pool.map(worker, range(clients)))
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    count, received = totals
    return _throughput_result(client, clients, count, received, cpu, wall, srv0)


def bench_boto3(url: str, n: int, repeat: int, seconds: float) -> list[Result]:

    s3: Any = boto3_client(url, max_pool_connections=max(CONCURRENCY, CLIENTS))

    def get() -> None:
        resp = s3.get_object(Bucket=BUCKET, Key="small")
        assert len(resp["Body"].read()) == len(SMALL)

    def put() -> None:
        s3.put_object(Bucket=BUCKET, Key="small-put", Body=SMALL)

    def get_medium() -> int:
        return len(s3.get_object(Bucket=BUCKET, Key="medium")["Body"].read())

    results = []
    for case, one in (("get_object 1 KiB", get), ("put_object 1 KiB", put)):
        for conc in (1, CONCURRENCY):
            label = f"{case}, " + ("sequential" if conc == 1 else f"{conc} concurrent")
            results.append(measure_threads("boto3", label, one, n, conc, repeat))
    if seconds:
        results.append(throughput_threads("boto3", get_medium, CLIENTS, seconds))
    s3.close()
    return results


def run_aiobotocore_child(path: str, url: str, args: argparse.Namespace) -> list[Result]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([path, os.environ.get("PYTHONPATH", "")]))
    cmd = [sys.executable, __file__, "--child-aiobotocore", url]
    cmd += [
        "--n",
        str(args.aiobotocore_n),
        "--repeat",
        str(args.repeat),
        "--seconds",
        str(args.seconds / 2),
    ]
    cmd += ["--stub-pid", str(_stub_pid)]
    out = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, text=True, check=True, timeout=120)
    results = []
    for line in out.stdout.splitlines():
        if line.startswith("{"):
            results.append(Result(**json.loads(line)))
        else:
            print(line, flush=True)
    return results


def summary(results: list[Result]) -> None:
    by = {(r.client, r.case): r for r in results}
    cases = list(dict.fromkeys(r.case for r in results))
    peers = [c for c in ("boto3", "aiobotocore") if any(r.client == c for r in results)]
    print("\n| case | " + " | ".join(f"{c} us CPU/req (req/s)" for c in ["s3lite", *peers]), end="")
    print(" | " + " | ".join(f"s3lite/{p} CPU" for p in peers) + " |")
    print("|---" * (2 + 2 * len(peers)) + "|")
    for case in cases:
        cells = []
        for c in ["s3lite", *peers]:
            r = by.get((c, case))
            cells.append(f"{r.cpu_us:.0f} ({r.rate:.0f})" if r else "-")
        for p in peers:
            a, b = by.get(("s3lite", case)), by.get((p, case))
            cells.append(f"{a.cpu_us / b.cpu_us:.2f}" if a and b else "-")
        print(f"| {case} | " + " | ".join(cells) + " |")
    for r in results:
        if r.mib_s:
            print(f"{r.client}: {r.case}: {r.mib_s:.0f} MiB/s, {r.rate:.0f} req/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--n", type=int, default=2000, help="requests per measurement")
    parser.add_argument("--repeat", type=int, default=1, help="runs per measurement (best)")
    parser.add_argument("--seconds", type=float, default=10, help="throughput run (0: skip)")
    parser.add_argument(
        "--aiobotocore-n", type=int, default=1000, help="requests per aiobotocore measurement"
    )
    parser.add_argument("--child-aiobotocore", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--stub-pid", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    global _stub_pid
    if args.child_aiobotocore:
        _stub_pid = args.stub_pid
        for r in asyncio.run(
            bench_aiobotocore(args.child_aiobotocore, args.n, args.repeat, args.seconds)
        ):
            print(json.dumps(asdict(r)), flush=True)
        return

    print(
        f"python {platform.python_version()}, {os.cpu_count()} CPUs, n={args.n}, "
        f"best of {args.repeat}; stub server in a separate process on 127.0.0.1; "
        f"load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    started = time.perf_counter()
    stub = StubServer()
    with stub as url:
        _stub_pid = stub.pid or 0
        results = asyncio.run(bench_s3lite(url, args.n, args.repeat, args.seconds))
        results += bench_boto3(url, args.n, args.repeat, args.seconds)
        path = os.environ.get("AIOBOTOCORE_PATH")
        if path:
            results += run_aiobotocore_child(path, url, args)
        else:
            print("  (aiobotocore skipped: set AIOBOTOCORE_PATH, see the docstring)")
    _stub_pid = 0
    results += asyncio.run(bench_s3lite_core(args.n))
    summary(results)
    print(f"\ntotal {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
