"""Peak memory of big transfers, s3lite against boto3, each in a fresh child process.

Run: ``python bench/bench_memory.py [--get-mib 100] [--file-mib 1024] [--json PATH]``.

* GET of a ``--get-mib`` body collected whole (s3lite ``get_object``, boto3
  ``get_object()["Body"].read()``) and streamed to a sink that drops each chunk
  (s3lite ``sink=``, boto3 ``iter_chunks``);
* upload of a ``--file-mib`` file streamed from disk (s3lite ``put_object(open(path,
  "rb"))``, 8 MiB parts, 4 at a time; boto3 ``upload_file``, 8 MiB parts, 4 and its
  default 10 threads), with the default malloc settings.

"Peak above baseline" is the child's peak RSS (``VmHWM``, reset first) during the
transfer over its RSS just before it. The stub (``s3stub.py``) generates big GET bodies
as it sends them and discards big uploads.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench_upload import _reset_peak_rss, _status_kib
from s3stub import ACCESS_KEY, REGION, SECRET_KEY, SYNTHETIC, StubServer, boto3_client

from s3lite import Credentials, S3Client

MiB = 1 << 20
BUCKET = "bench"

CASES = {
    "s3lite-get": "s3lite get_object, body collected",
    "boto3-get": "boto3 get_object, Body.read()",
    "s3lite-get-sink": "s3lite get_object(sink=drop)",
    "boto3-get-sink": "boto3 get_object, Body.iter_chunks()",
    "s3lite-file": "s3lite put_object(open(path, 'rb')), 4 at a time",
    "boto3-file": "boto3 upload_file, 4 threads",
    "boto3-file-default": "boto3 upload_file, default 10 threads",
}


def child(kind: str, url: str, size: int, path: str) -> dict[str, Any]:
    """One transfer in this fresh process; its peak RSS above the RSS before it."""
    key = f"{SYNTHETIC}{size}"
    run: Any
    if kind.startswith("s3lite"):
        loop = asyncio.new_event_loop()
        s3 = S3Client(REGION, url, Credentials(ACCESS_KEY, SECRET_KEY))
        loop.run_until_complete(s3.put_object(BUCKET, "warm", b"x"))

        def drop(chunk: bytes) -> None:
            pass

        async def upload() -> None:
            with open(path, "rb") as f:
                await s3.put_object(BUCKET, "file", f)

        if kind == "s3lite-get":

            def run() -> int:
                return len(loop.run_until_complete(s3.get_object(BUCKET, key)).body)

        elif kind == "s3lite-get-sink":

            def run() -> int:
                loop.run_until_complete(s3.get_object(BUCKET, key, sink=drop))
                return size

        else:

            def run() -> int:
                loop.run_until_complete(upload())
                return size

    else:
        from boto3.s3.transfer import TransferConfig

        client: Any = boto3_client(url)
        client.put_object(Bucket=BUCKET, Key="warm", Body=b"x")
        threads = 10 if kind == "boto3-file-default" else 4
        config = TransferConfig(multipart_chunksize=8 * MiB, max_concurrency=threads)
        if kind == "boto3-get":

            def run() -> int:
                return len(client.get_object(Bucket=BUCKET, Key=key)["Body"].read())

        elif kind == "boto3-get-sink":

            def run() -> int:
                body = client.get_object(Bucket=BUCKET, Key=key)["Body"]
                return sum(len(c) for c in body.iter_chunks(MiB))

        else:

            def run() -> int:
                client.upload_file(path, BUCKET, "file", Config=config)
                return size

    _reset_peak_rss()
    before = _status_kib("VmRSS")
    t0 = time.perf_counter()
    got = run()
    wall = time.perf_counter() - t0
    assert got == size, (got, size)
    return {"peak_mib": (_status_kib("VmHWM") - before) / 1024, "wall": wall}


def run_child(kind: str, url: str, size: int, path: str) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--child", kind, url, str(size), path]
    out = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=True, timeout=300)
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def make_file(path: Path, size: int) -> None:
    block = os.urandom(MiB)
    with open(path, "wb") as f:
        for i in range(0, size, MiB):
            f.write(i.to_bytes(8, "big") + block[8 : min(MiB, size - i)])


def measure(get_mib: int, file_mib: int) -> list[dict[str, Any]]:
    rows = []
    with StubServer() as url, tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.bin"
        make_file(path, file_mib * MiB)
        for kind, label in CASES.items():
            size = file_mib * MiB if kind.endswith(("file", "file-default")) else get_mib * MiB
            result = run_child(kind, url, size, str(path))
            rows.append({"case": kind, "label": label, "mib": size // MiB, **result})
            print(
                f"  {label:<52} {size // MiB:5} MiB: peak {result['peak_mib']:6.0f} MiB above "
                f"baseline, {result['wall']:5.2f} s",
                flush=True,
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--get-mib", type=int, default=100)
    parser.add_argument("--file-mib", type=int, default=1024)
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, url, size, path = args.child
        print(json.dumps(child(kind, url, int(size), path)))
        return
    print(f"load average {os.getloadavg()[0]:.1f}")
    rows = measure(args.get_mib, args.file_mib)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
