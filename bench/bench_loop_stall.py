"""How long saving and opening a large notebook stalls JupyterS3's event loop.

Run: ``python bench/bench_loop_stall.py [--cells 60000] [--rounds 3] [--json PATH]``.
A notebook of ``--cells`` code cells, each with a stream output (60,000 cells: 20.1 MB
as saved), on a local moto server (in a child process), measured three ways:

- through a real Jupyter server (jupyter_server with JupyterS3, in a child process):
  the notebook is saved (``PUT``) and opened (``GET``) while another connection asks
  ``/api/status`` every 5 ms; printed is the slowest of those answers during the
  request (target: under 100 ms), median and worst of the rounds;
- jupyter_server's own share, which JupyterS3 cannot move: its handler decodes the
  whole ``PUT`` body (``json.loads``) and encodes the whole model it answers a ``GET``
  with (``json.dumps``) on its event loop, each one C call that holds the interpreter
  lock; both timed here alone, in this process, on the same notebook;
- the contents manager alone, in this process: a timer on its loop ticks every 5 ms
  while it saves, opens and hashes (``get`` with ``require_hash``); the longest gap
  between two ticks, less the 5 ms, is what JupyterS3's own work stalls the loop.

Other processes on the machine lengthen the stalls: compare runs made under the same
load. ``--json`` also writes the figures there (``bench/run.py`` keeps them).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import http.client
import json
import platform
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TICK = 0.005
BUCKET = "bench"


def notebook(cells: int) -> Any:
    """The tests' big notebook, with unique cell ids (random ones collide in 60,000,
    and nbformat warns as it repairs them)."""
    from tests.integration.test_jupyters3_lifecycle import big_notebook

    nb = big_notebook(cells)
    for i, cell in enumerate(nb.cells):
        cell.id = f"cell-{i}"
    return nb


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
    result = await run()
    took = time.perf_counter() - start
    stop.set()
    await timer
    del result  # freeing a notebook is its caller's (jupyter_server's): timed apart
    return worst, took


async def measure_manager(
    url: str, cells: int, rounds: int
) -> dict[str, list[tuple[float, float]]]:
    """(stall, took) of each round of save, open and hash, in the contents manager alone."""
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
    cm = JupyterS3(config=c)
    nb = notebook(cells)
    results: dict[str, list[tuple[float, float]]] = {"save": [], "open": [], "hash": []}
    try:
        for _ in range(rounds):

            async def save() -> None:
                await cm.save({"type": "notebook", "content": nb}, "big.ipynb")

            results["save"].append(await stall_of(save))
            results["open"].append(await stall_of(lambda: cm.get("big.ipynb")))
            results["hash"].append(
                await stall_of(lambda: cm.get("big.ipynb", content=False, require_hash=True))
            )
    finally:
        await cm.close()
    return results


def status_poller(
    url: str, token: str, stop: threading.Event, out: list[tuple[float, float]]
) -> None:
    """GET /api/status every 5 ms on one kept-alive connection until ``stop``;
    ``out`` gets (start, latency) of each answer."""
    conn = http.client.HTTPConnection(url.removeprefix("http://"), timeout=60)
    headers = {"Authorization": f"token {token}"}
    while not stop.is_set():
        start = time.perf_counter()
        conn.request("GET", "/api/status", headers=headers)
        resp = conn.getresponse()
        resp.read()
        assert resp.status == 200, resp.status
        out.append((start, time.perf_counter() - start))
        time.sleep(TICK)
    conn.close()


def timed_request(url: str, token: str, method: str, path: str, body: bytes | None) -> bytes:
    conn = http.client.HTTPConnection(url.removeprefix("http://"), timeout=600)
    headers = {"Authorization": f"token {token}", "Content-Type": "application/json"}
    conn.request(method, path, body=body, headers=headers)
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    if resp.status not in (200, 201):
        raise SystemExit(f"{method} {path}: {resp.status} {data[:500]!r}")
    return data


def status_latency(
    url: str, token: str, method: str, path: str, body: bytes | None
) -> tuple[float, float]:
    """The slowest /api/status answer among those asked while one request runs
    (seconds), and how long that request took."""
    stop = threading.Event()
    polls: list[tuple[float, float]] = []
    poller = threading.Thread(target=status_poller, args=(url, token, stop, polls))
    poller.start()
    time.sleep(0.1)
    start = time.perf_counter()
    timed_request(url, token, method, path, body)
    end = time.perf_counter()
    stop.set()
    poller.join()
    during = [lat for t, lat in polls if start <= t + lat and t <= end]
    return max(during), end - start


def measure_server(url: str, cells: int, rounds: int) -> dict[str, Any]:
    """Save (PUT) and open (GET) the notebook through a real Jupyter server on JupyterS3
    while another connection asks /api/status every 5 ms."""
    from tests.jupyterserver import start_demo_jupyter

    nb = notebook(cells)
    body = json.dumps({"type": "notebook", "content": nb}).encode()
    token = "bench"
    with tempfile.TemporaryDirectory() as home:
        root = Path(home) / "root"
        root.mkdir()
        server = start_demo_jupyter(
            Path(home), endpoint_url=url, bucket=BUCKET, token=token, root=root
        )
        base = server.url
        runs: dict[str, list[tuple[float, float]]] = {"save": [], "open": []}
        try:
            # a round not counted: the first save also makes the first checkpoint
            timed_request(base, token, "PUT", "/api/contents/big.ipynb", body)
            timed_request(base, token, "GET", "/api/contents/big.ipynb", None)
            for _ in range(rounds):
                runs["save"].append(
                    status_latency(base, token, "PUT", "/api/contents/big.ipynb", body)
                )
                runs["open"].append(
                    status_latency(base, token, "GET", "/api/contents/big.ipynb", None)
                )
        finally:
            server.stop()
    return {"size": len(body), "runs": runs}


def upstream_json(cells: int, rounds: int) -> dict[str, list[float]]:
    """Seconds that jupyter_server's handlers hold its loop for this notebook, timed
    alone: ``json.loads`` of the PUT body, ``json.dumps`` of the GET model, and
    freeing the model after (automatic collections on, as in the server)."""
    body = json.dumps({"type": "notebook", "content": notebook(cells)})
    gc.collect()
    names = ("json.loads of the PUT body", "json.dumps of the GET model", "freeing the model")
    times: dict[str, list[float]] = {name: [] for name in names}
    for _ in range(rounds):
        start = time.perf_counter()
        model = json.loads(body)
        loaded = time.perf_counter()
        json.dumps(model)
        dumped = time.perf_counter()
        del model
        freed = time.perf_counter()
        took = (loaded - start, dumped - loaded, freed - dumped)
        for name, seconds in zip(names, took, strict=True):
            times[name].append(seconds)
        gc.collect()
    return times


def table(runs: dict[str, list[tuple[float, float]]], what: str) -> list[str]:
    lines = [f"{'':6} {what + ': median':>22} {'worst':>8} {'took':>8}"]
    for name, rows in runs.items():
        ms = [s * 1000 for s, _ in rows]
        took = statistics.median(t for _, t in rows)
        lines.append(
            f"{name:6} {statistics.median(ms):>19.0f} ms {max(ms):>5.0f} ms {took:>6.2f} s"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cells", type=int, default=60_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", help="write the figures to this file too")
    args = parser.parse_args()
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    sys.path.insert(0, str(ROOT))  # the tests' notebook
    from s3stub import boto3_client

    from jupyters3.demo import LocalS3

    local = LocalS3.start()
    try:
        boto3_client(local.endpoint_url).create_bucket(Bucket=BUCKET)
        server = measure_server(local.endpoint_url, args.cells, args.rounds)
        manager = asyncio.run(measure_manager(local.endpoint_url, args.cells, args.rounds))
    finally:
        local.stop()
    upstream = upstream_json(args.cells, args.rounds)
    lines = [
        f"{args.cells:,} cells, {server['size'] / 1e6:.1f} MB PUT body; "
        f"Python {platform.python_version()}, {args.rounds} rounds",
        "",
        "Through a Jupyter server: the slowest /api/status answer during the request",
        *table(server["runs"], "/api/status"),
        "",
        "jupyter_server's own work on its loop (upstream), alone, median:",
        *(f"  {name}: {statistics.median(t) * 1000:.0f} ms" for name, t in upstream.items()),
        "",
        "The contents manager alone: the longest stall of its loop",
        *table(manager, "stall"),
    ]
    print("\n".join(lines))
    if args.json:
        data = {
            "started": started,
            "cells": args.cells,
            "body_bytes": server["size"],
            "rounds": args.rounds,
            "python": platform.python_version(),
            "server": server["runs"],
            "upstream": upstream,
            "manager": manager,
            "text": "\n".join(lines),
        }
        Path(args.json).write_text(json.dumps(data, indent=1))


if __name__ == "__main__":
    main()
