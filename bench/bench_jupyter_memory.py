"""Memory of a real Jupyter server while a big file goes up and comes back down.

Run: ``python bench/bench_jupyter_memory.py [--mib 1024] [--chunk-mib 1] [--json PATH]
[--endpoint URL]``.

A Jupyter server (``python -m jupyter_server``, JupyterS3 as its contents manager) runs
in a child process against moto (started here, or the one at ``--endpoint``). This
process uploads a ``--mib`` file through the contents API in base64 chunks of
``--chunk-mib`` (``PUT /api/contents/<path>`` with ``chunk`` 1, 2, ... and -1 for the
last, as JupyterLab's file browser does for files over 15 MB, 1 MiB a chunk), then
downloads it with ``GET /files/<path>``, reading 1 MiB at a time and checking every
byte. A thread samples the server's RSS (``/proc/<pid>/status``, every 10 ms);
"above baseline" is the peak during a phase over the server's RSS just before the
first upload (after a 20 MiB upload and download have warmed its code paths); the peak
over the RSS at the phase's own start is given too (what the upload left behind counts
against the download in the first figure, not in the second).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import http.client
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from jupyters3.demo import DEMO_ACCESS_KEY_ID, DEMO_REGION, DEMO_SECRET_ACCESS_KEY, LocalS3
from s3lite import Credentials, S3Client

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.jupyterserver import start_demo_jupyter

MiB = 1 << 20
BUCKET = "bench-jupyter-memory"
TOKEN = "bench-token"
WARM = 20 * MiB  # the warm-up file: more than two of JupyterS3's default 8 MiB parts


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


class Sampler(threading.Thread):
    """The peak RSS of ``pid`` since the last :meth:`reset`, sampled every 10 ms."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak = 0.0
        self.done = threading.Event()

    def reset(self) -> float:
        self.peak = now = rss_mib(self.pid)
        return now

    def run(self) -> None:
        while not self.done.wait(0.01):
            self.peak = max(self.peak, rss_mib(self.pid))


def block(i: int, size: int) -> bytes:
    """Chunk ``i`` of the file: different for every chunk, cheap to make again."""
    seed = hashlib.sha256(i.to_bytes(8, "big")).digest()
    return (seed * (size // len(seed) + 1))[:size]


class Client:
    """Keep-alive requests to the Jupyter server."""

    def __init__(self, url: str) -> None:
        host, port = url.rsplit("//", 1)[1].split(":")
        self.conn = http.client.HTTPConnection(host, int(port), timeout=300)
        self.headers = {"Authorization": f"token {TOKEN}"}

    def request(self, method: str, path: str, body: Any = None) -> http.client.HTTPResponse:
        data = json.dumps(body).encode() if body is not None else None
        headers = dict(self.headers, **({"Content-Type": "application/json"} if data else {}))
        self.conn.request(method, path, body=data, headers=headers)
        return self.conn.getresponse()

    def upload(self, path: str, size: int, chunk: int) -> None:
        count = -(-size // chunk)
        for i in range(count):
            number = -1 if i == count - 1 else i + 1
            data = block(i, min(chunk, size - i * chunk))
            model = {
                "type": "file",
                "format": "base64",
                "chunk": number,
                "content": base64.b64encode(data).decode("ascii"),
            }
            resp = self.request("PUT", f"/api/contents/{path}", model)
            answer = resp.read()
            if resp.status not in (200, 201):
                raise RuntimeError(f"chunk {number}: {resp.status} {answer[:300]!r}")

    def download(self, path: str, size: int, chunk: int) -> None:
        resp = self.request("GET", f"/files/{path}")
        if resp.status != 200:
            raise RuntimeError(f"/files/{path}: {resp.status} {resp.read()[:300]!r}")
        i = 0
        while piece := resp.read(chunk):
            want = block(i, min(chunk, size - i * chunk))
            if piece != want:  # http.client reads exactly ``chunk`` bytes until the end
                raise RuntimeError(f"/files/{path}: bytes differ in chunk {i}")
            i += 1
        if i * chunk < size:
            raise RuntimeError(f"/files/{path}: {i} chunks, short of {size} bytes")


async def make_bucket(endpoint: str) -> None:
    creds = Credentials(DEMO_ACCESS_KEY_ID, DEMO_SECRET_ACCESS_KEY)
    async with S3Client(DEMO_REGION, endpoint, creds) as s3:
        try:
            await s3.create_bucket(BUCKET)
        except Exception as e:  # already there from an earlier run on the same server
            if "BucketAlready" not in type(e).__name__ + str(e):
                raise


def measure(endpoint: str, mib: int, chunk_mib: int) -> dict[str, Any]:
    asyncio.run(make_bucket(endpoint))
    size, chunk = mib * MiB, chunk_mib * MiB
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        server = start_demo_jupyter(home, endpoint_url=endpoint, bucket=BUCKET, token=TOKEN)
        url = server.url
        sampler = Sampler(server.process.pid)
        sampler.start()
        try:
            client = Client(url)
            fresh = rss_mib(server.process.pid)
            # Warms the upload (two parts and a last one) and /files/ paths.
            client.upload("warm.bin", WARM, MiB)
            client.download("warm.bin", WARM, MiB)
            time.sleep(0.5)
            baseline = sampler.reset()
            t0 = time.perf_counter()
            client.upload("big.bin", size, chunk)
            up_wall, up_peak = time.perf_counter() - t0, sampler.peak
            after_up = sampler.reset()
            t0 = time.perf_counter()
            client.download("big.bin", size, MiB)
            down_wall, down_peak = time.perf_counter() - t0, sampler.peak
            after_down = rss_mib(server.process.pid)
        finally:
            sampler.done.set()
            server.stop()
    return {
        "mib": mib,
        "chunk_mib": chunk_mib,
        "fresh_mib": fresh,
        "baseline_mib": baseline,
        "upload": {
            "start_mib": baseline,
            "peak_above_mib": up_peak - baseline,
            "wall": up_wall,
            "after_mib": after_up,
        },
        "download": {
            "start_mib": after_up,
            "peak_above_mib": down_peak - baseline,
            "wall": down_wall,
            "after_mib": after_down,
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--mib", type=int, default=1024, help="size of the file")
    parser.add_argument("--chunk-mib", type=int, default=1, help="size of an upload chunk")
    parser.add_argument("--endpoint", help="a moto server to use (default: start one)")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f}", flush=True)
    local = None if args.endpoint else LocalS3.start()
    try:
        endpoint = args.endpoint or (local.endpoint_url if local else "")
        result = measure(endpoint, args.mib, args.chunk_mib)
    finally:
        if local is not None:
            local.stop()
    print(
        f"  server RSS: {result['fresh_mib']:.0f} MiB started, "
        f"{result['baseline_mib']:.0f} MiB after the warm-up (the baseline)"
    )
    for phase in ("upload", "download"):
        r = result[phase]
        print(
            f"  {phase:<8} {args.mib} MiB: peak {r['peak_above_mib']:5.0f} MiB above baseline "
            f"({r['peak_above_mib'] + result['baseline_mib'] - r['start_mib']:.0f} above the "
            f"RSS at its start), {r['wall']:6.1f} s ({args.mib / r['wall']:5.0f} MiB/s), "
            f"RSS after {r['after_mib']:.0f} MiB",
            flush=True,
        )
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
