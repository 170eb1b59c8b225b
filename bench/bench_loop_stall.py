"""How long saving and opening a large notebook stalls JupyterS3's event loop.

Run: ``python bench/bench_loop_stall.py [--cells 60000] [--rounds 3]``. A JupyterS3
on a local moto server (in a child process) saves and opens a notebook of
``--cells`` code cells, each with a stream output (60,000 cells: about 26.7 MB),
while a timer on the same event loop ticks every 5 ms; the longest gap between
two ticks, less the 5 ms, is the stall every other request of the server waits
out (target: under 100 ms, so that ``/api/status`` answers within it). Printed for
save, open (get with content) and hash (get with ``require_hash``): the median and
the worst of ``--rounds`` rounds, and the median time taken. Other processes on the
machine lengthen the stalls: compare runs made under the same load.
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TICK = 0.005
BUCKET = "bench"


async def stall_of(run: Callable[[], Awaitable[Any]]) -> tuple[float, float]:
    """The longest extra gap between ticks of a 5 ms timer while ``run`` runs, and
    how long it took (seconds)."""
    worst = 0.0
    stop = asyncio.Event()

    async def ticker() -> None:
        nonlocal worst
        last = time.perf_counter()
        while not stop.is_set():
            await asyncio.sleep(TICK)
            now = time.perf_counter()
            worst = max(worst, now - last - TICK)
            last = now

    timer = asyncio.ensure_future(ticker())
    await asyncio.sleep(TICK * 2)
    start = time.perf_counter()
    await run()
    took = time.perf_counter() - start
    stop.set()
    await timer
    return worst, took


async def measure(url: str, cells: int, rounds: int) -> None:
    from traitlets.config import Config

    from jupyters3 import JupyterS3
    from jupyters3.auth import JupyterS3SecretAccessKeyAuthentication
    from jupyters3.demo import DEMO_ACCESS_KEY_ID, DEMO_REGION, DEMO_SECRET_ACCESS_KEY

    c = Config()
    c.JupyterS3.aws_s3_bucket = BUCKET
    c.JupyterS3.endpoint_url = url
    c.JupyterS3.aws_region = DEMO_REGION
    c.JupyterS3.authentication_class = JupyterS3SecretAccessKeyAuthentication
    c.JupyterS3SecretAccessKeyAuthentication.aws_access_key_id = DEMO_ACCESS_KEY_ID
    c.JupyterS3SecretAccessKeyAuthentication.aws_secret_access_key = DEMO_SECRET_ACCESS_KEY
    c.NotebookNotary.db_file = ":memory:"
    from tests.integration.test_jupyters3_lifecycle import big_notebook

    cm = JupyterS3(config=c)
    nb = big_notebook(cells)
    results: dict[str, list[tuple[float, float]]] = {"save": [], "open": [], "hash": []}
    size = 0
    try:
        for _ in range(rounds):

            async def save() -> None:
                nonlocal size
                size = (await cm.save({"type": "notebook", "content": nb}, "big.ipynb"))["size"]

            results["save"].append(await stall_of(save))
            results["open"].append(await stall_of(lambda: cm.get("big.ipynb")))
            results["hash"].append(
                await stall_of(lambda: cm.get("big.ipynb", content=False, require_hash=True))
            )
    finally:
        await cm.close()
    print(f"{cells:,} cells, {size / 1e6:.1f} MB; {platform.python_version()}, {rounds} rounds")
    print(f"{'':6} {'stall: median':>14} {'worst':>8} {'took':>8}")
    for name, runs in results.items():
        stalls = [s * 1000 for s, _ in runs]
        took = statistics.median(t for _, t in runs)
        print(
            f"{name:6} {statistics.median(stalls):>11.0f} ms {max(stalls):>5.0f} ms {took:>6.2f} s"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cells", type=int, default=60_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))  # the tests' notebook
    from s3stub import boto3_client

    from jupyters3.demo import LocalS3

    local = LocalS3.start()
    try:
        boto3_client(local.endpoint_url).create_bucket(Bucket=BUCKET)
        asyncio.run(measure(local.endpoint_url, args.cells, args.rounds))
    finally:
        local.stop()


if __name__ == "__main__":
    main()
