"""Chunked uploads as the browser sends them: 1 MiB base64 chunks to ``JupyterS3.save``.

Run: ``python bench/bench_chunked_upload.py [--mib 10,100] [--rounds 3]``.

For each size, ``--rounds`` timed uploads straight to a local moto server (in a child
process), then one more through the counting proxy (``countproxy.py``), which gives the
S3 requests by kind and per chunk. The manager runs in this process on one event loop;
the time covers every ``save`` call of the upload, from chunk 1 to chunk -1 (the content
is base64-encoded beforehand, as it arrives from the browser).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import statistics
import sys
import time
import urllib.request
from collections import Counter
from typing import Any

from bench_contents import CountProxy

from jupyters3 import JupyterS3
from jupyters3.demo import DEMO_ACCESS_KEY_ID, DEMO_REGION, DEMO_SECRET_ACCESS_KEY, LocalS3
from s3lite import Credentials, S3Client

MiB = 1 << 20
BUCKET = "bench-chunked"


def manager(endpoint: str) -> JupyterS3:
    from traitlets.config import Config

    c = Config()
    c.JupyterS3.aws_s3_bucket = BUCKET
    c.JupyterS3.endpoint_url = endpoint
    c.JupyterS3.aws_region = DEMO_REGION
    c.JupyterS3.startup_check = False
    c.JupyterS3.authentication_class = "jupyters3.JupyterS3SecretAccessKeyAuthentication"
    c.JupyterS3SecretAccessKeyAuthentication.aws_access_key_id = DEMO_ACCESS_KEY_ID
    c.JupyterS3SecretAccessKeyAuthentication.aws_secret_access_key = DEMO_SECRET_ACCESS_KEY
    c.NotebookNotary.db_file = ":memory:"
    return JupyterS3(config=c)


def chunks(mib: int) -> list[dict[str, Any]]:
    out = []
    for i in range(1, mib + 1):
        content = base64.b64encode(os.urandom(MiB)).decode()
        out.append({"type": "file", "format": "base64", "content": content, "chunk": i})
    out[-1]["chunk"] = -1
    return out


async def upload(cm: JupyterS3, path: str, models: list[dict[str, Any]]) -> float:
    start = time.perf_counter()
    for model in models:
        await cm.save(dict(model), path)
    return time.perf_counter() - start


def counts(control: str) -> Counter[str]:
    with urllib.request.urlopen(f"{control}/counts", timeout=60) as resp:
        return Counter(json.loads(resp.read()))


async def measure(sizes: list[int], rounds: int) -> dict[str, Any]:
    s3 = LocalS3.start()
    proxy = CountProxy(s3.endpoint_url)
    results: dict[str, Any] = {}
    try:
        creds = Credentials(DEMO_ACCESS_KEY_ID, DEMO_SECRET_ACCESS_KEY)
        async with S3Client(DEMO_REGION, s3.endpoint_url, creds) as client:
            await client.create_bucket(BUCKET)
        direct, counted = manager(s3.endpoint_url), manager(proxy.url)
        for mib in sizes:
            models = chunks(mib)
            times = [await upload(direct, f"up-{mib}-{r}.bin", models) for r in range(rounds)]
            counts(proxy.control)  # forget what came before
            await upload(counted, f"counted-{mib}.bin", models)
            by_kind = counts(proxy.control)
            total = sum(by_kind.values())
            results[f"{mib} MiB"] = {
                "chunks": mib,
                "seconds_median": round(statistics.median(times), 3),
                "seconds": [round(t, 3) for t in times],
                "requests": total,
                "requests_per_chunk": round(total / mib, 2),
                "by_kind": dict(sorted(by_kind.items())),
            }
            print(json.dumps({f"{mib} MiB": results[f"{mib} MiB"]}), flush=True)
        await direct.close()
        await counted.close()
    finally:
        proxy.stop()
        s3.stop()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mib", default="10,100", help="upload sizes in MiB, comma-separated")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    sizes = [int(s) for s in args.mib.split(",")]
    print(f"python {sys.version.split()[0]}, load {os.getloadavg()[0]:.1f}", flush=True)
    asyncio.run(measure(sizes, args.rounds))


if __name__ == "__main__":
    main()
