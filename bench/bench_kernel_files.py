"""A 100 MiB file read and written from a kernel-like process: jupyters3.files against boto3.

Run: ``python bench/bench_kernel_files.py [--mib 100] [--rounds 5] [--server stub|moto]``.

The process is set up as a kernel of a JupyterS3 server is: ``JUPYTERS3_*`` and
``AWS_*`` in its environment, ``jupyters3.files`` built from them. Each case moves one
``--mib`` file; rounds are interleaved (every case once per round), and the median
wall time and process CPU (all threads) are reported with the ratio to the fastest
boto3 case of the same direction.

Writes: ``files.write_bytes`` (bytes in memory, multipart 8 MiB x 4), ``files.open("wb")``
(spooled to a temporary file, uploaded on close), boto3 ``put_object`` (one PUT) and
``upload_fileobj`` (multipart 8 MiB, 10 threads). Reads: ``files.read_bytes`` (one GET),
``files.open("rb")`` read in 1 MiB pieces (8 MiB range GETs, one after the other),
boto3 ``get_object()["Body"].read()`` and ``download_fileobj`` (8 MiB ranges, 10 threads).

``--server stub``: ``bench/s3stub.py`` in its own process (big writes discarded as they
arrive, reads generated: the client is what is measured). ``--server moto``: the tests'
moto server, which keeps and returns real bytes (then every read is checked; moto is
the slower side by far).
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from s3stub import ACCESS_KEY, REGION, SECRET_KEY, SYNTHETIC, StubServer, boto3_client

MiB = 1 << 20
BUCKET = "bench"
ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def server(kind: str) -> Iterator[str]:
    """The endpoint of a running S3 server with the bucket ``bench``."""
    if kind == "stub":
        with StubServer() as url:
            yield url
        return
    sys.path.insert(0, str(ROOT))
    from jupyters3.demo import LocalS3

    local = LocalS3.start()
    try:
        boto3_client(local.endpoint_url).create_bucket(Bucket=BUCKET)
        yield local.endpoint_url
    finally:
        local.stop()


def kernel_environment(url: str) -> None:
    """What a kernel of a JupyterS3 server on ``url`` has in its environment."""
    from jupyters3.location import Location

    os.environ.update(Location(BUCKET, "", "", url, REGION).to_env())
    os.environ.update(AWS_ACCESS_KEY_ID=ACCESS_KEY, AWS_SECRET_ACCESS_KEY=SECRET_KEY)
    for name in ("AWS_SESSION_TOKEN", "AWS_PROFILE"):
        os.environ.pop(name, None)


def cases(
    url: str, size: int, check: bool
) -> tuple[dict[str, tuple[str, Callable[[], Any]]], bytes]:
    """``name -> (direction, run)`` (a read's run returns the bytes it read), and the
    bytes written."""
    from boto3.s3.transfer import TransferConfig

    from jupyters3 import files

    s3 = boto3_client(url, max_pool_connections=16)
    data = os.urandom(size)
    source = "big.bin"
    if check:  # moto keeps bytes: read back what was written
        s3.put_object(Bucket=BUCKET, Key=source, Body=data)
    else:
        source = f"{SYNTHETIC}{size}"
    boto_config = TransferConfig(multipart_threshold=8 * MiB, multipart_chunksize=8 * MiB)

    def files_open_wb() -> None:
        with files.open("w-open.bin", "wb") as f:
            f.write(data)

    def files_open_rb() -> bytes:
        pieces = []
        with files.open(source, "rb") as f:
            while piece := f.read(MiB):
                pieces.append(piece)
        return b"".join(pieces)

    def boto3_download() -> bytes:
        buffer = io.BytesIO()
        s3.download_fileobj(BUCKET, source, buffer, Config=boto_config)
        return buffer.getvalue()

    table: dict[str, tuple[str, Callable[[], Any]]] = {
        "files.write_bytes": ("write", lambda: files.write_bytes("w-bytes.bin", data)),
        "files.open('wb')": ("write", files_open_wb),
        "boto3 put_object": (
            "write",
            lambda: s3.put_object(Bucket=BUCKET, Key="w-b.bin", Body=data),
        ),
        "boto3 upload_fileobj": (
            "write",
            lambda: s3.upload_fileobj(io.BytesIO(data), BUCKET, "w-f.bin", Config=boto_config),
        ),
        "files.read_bytes": ("read", lambda: files.read_bytes(source)),
        "files.open('rb')": ("read", files_open_rb),
        "boto3 get_object": (
            "read",
            lambda: s3.get_object(Bucket=BUCKET, Key=source)["Body"].read(),
        ),
        "boto3 download_fileobj": ("read", boto3_download),
    }
    return table, data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--server", choices=("stub", "moto"), default="stub")
    args = parser.parse_args()
    size = args.mib * MiB
    check = args.server == "moto"
    with server(args.server) as url:
        kernel_environment(url)
        table, data = cases(url, size, check)
        wall: dict[str, list[float]] = {name: [] for name in table}
        cpu: dict[str, list[float]] = {name: [] for name in table}
        for _name, (_, run) in table.items():  # warm up: connections, imports
            run()
        for _ in range(args.rounds):
            for name, (direction, run) in table.items():
                c0, t0 = time.process_time(), time.perf_counter()
                result = run()
                wall[name].append(time.perf_counter() - t0)
                cpu[name].append(time.process_time() - c0)
                if direction == "read":
                    assert len(result) == size, (name, len(result))
                    if check:
                        assert result == data, name
    print(
        f"{args.mib} MiB, {args.rounds} rounds, server {args.server}, Python "
        f"{platform.python_version()}, load {os.getloadavg()[0]:.1f}; medians"
    )
    print(f"{'case':26} {'wall s':>8} {'MiB/s':>8} {'CPU s':>8} {'wall/boto3 best':>16}")
    for direction in ("write", "read"):
        names = [n for n, (d, _) in table.items() if d == direction]
        best = min(statistics.median(wall[n]) for n in names if n.startswith("boto3"))
        for name in names:
            w, c = statistics.median(wall[name]), statistics.median(cpu[name])
            print(f"{name:26} {w:8.3f} {args.mib / w:8.0f} {c:8.3f} {w / best:15.2f}x")


if __name__ == "__main__":
    main()
