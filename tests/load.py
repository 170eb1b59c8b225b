"""A bounded load test of a real Jupyter server on JupyterS3 (moto behind it).

N clients, each in its own thread, loop for a fixed time over what users do:
save a notebook, list the folder, open it, save it again, rename it, copy a
file, delete. Each client works in its own folder, so at the end everything
it was told is saved must be there, byte for byte: nothing lost. Printed:
requests/s, p50/p99 latency, failures, and the server's RSS before and after.

The documented long form (see docs/reliability.md)::

    python -m tests.load --clients 50 --seconds 60

The CI form is ``pytest -m load`` (tests/integration/test_load.py: 10 clients x 15 s).
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from tests.integration.test_jupyters3_server import server_command
from tests.jupyterserver import JupyterApi, free_url, start_jupyter
from tests.motoserver import MotoServer, start_moto

__all__ = ["LoadResult", "jupyter_on", "run_load"]


@dataclass
class LoadResult:
    clients: int
    seconds: float
    latencies: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    rss_before: int = 0
    rss_after: int = 0

    @property
    def requests(self) -> int:
        return len(self.latencies)

    def percentile(self, p: float) -> float:
        if not self.latencies:
            return 0.0
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]

    def report(self) -> str:
        mean = statistics.fmean(self.latencies) if self.latencies else 0.0
        return (
            f"{self.clients} clients x {self.seconds:.0f} s: {self.requests} requests, "
            f"{self.requests / self.seconds:.1f} requests/s, "
            f"p50 {self.percentile(50) * 1000:.0f} ms, p99 {self.percentile(99) * 1000:.0f} ms, "
            f"mean {mean * 1000:.0f} ms; {len(self.failures)} failed, {len(self.lost)} lost; "
            f"server RSS {self.rss_before / 2**20:.0f} MiB -> {self.rss_after / 2**20:.0f} MiB"
        )


def rss_of(pid: int) -> int:
    """Resident set size of a process, in bytes (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


@contextmanager
def jupyter_on(moto: MotoServer, workdir: Path) -> Iterator[tuple[JupyterApi, int]]:
    """A Jupyter server on a fresh bucket of ``moto``: (client, server pid)."""
    bucket = f"load-{uuid.uuid4().hex[:12]}"
    moto.boto3_client().create_bucket(Bucket=bucket)
    (port, url), token = free_url(), uuid.uuid4().hex
    cmd = server_command(port, token, workdir, moto, bucket)
    server = start_jupyter(cmd, home=workdir, url=url, token=token)
    try:
        yield server, server.process.pid
    finally:
        server.stop()


def _notebook(source: str) -> dict[str, Any]:
    return {
        "cells": [
            {
                "cell_type": "code",
                "id": "c0",
                "source": source,
                "metadata": {},
                "outputs": [],
                "execution_count": None,
            }
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def _client(server: JupyterApi, index: int, stop_at: float, result: LoadResult) -> None:
    folder = f"client{index}"
    expected: dict[str, str] = {}
    lock = threading.Lock()

    def call(
        method: str, path: str, body: Any = None, ok: tuple[int, ...] = (200, 201, 204)
    ) -> Any:
        start = time.monotonic()
        try:
            status, payload, _ = server.contents(method, path, body)
        except OSError as e:
            status, payload = 0, str(e)
        elapsed = time.monotonic() - start
        with lock:
            result.latencies.append(elapsed)
            if status not in ok:
                result.failures.append(f"{method} {path}: {status} {str(payload)[:200]}")
        return payload

    call("PUT", folder, {"type": "directory"})
    n = 0
    while time.monotonic() < stop_at:
        n += 1
        name, source = f"{folder}/nb{n}.ipynb", f"client {index} step {n}"
        call("PUT", name, {"type": "notebook", "content": _notebook(source)})
        call("GET", folder)
        call("GET", name)
        source += " (edited)"
        call("PUT", name, {"type": "notebook", "content": _notebook(source)})
        renamed = f"{folder}/renamed{n}.ipynb"
        call("PATCH", name, {"path": renamed})
        expected[renamed] = source
        if n % 3 == 0:
            call("POST", folder, {"copy_from": renamed})
        if n % 2 == 0:
            call("DELETE", renamed)
            del expected[renamed]
    for path, source in expected.items():
        status, model, _ = server.contents("GET", path)
        cells = model.get("content", {}).get("cells", []) if isinstance(model, dict) else []
        if status != 200 or not cells or cells[0]["source"] != source:
            with lock:
                result.lost.append(path)


def run_load(server: JupyterApi, pid: int, clients: int, seconds: float) -> LoadResult:
    """Run ``clients`` clients against ``server`` for ``seconds``."""
    result = LoadResult(clients, seconds)
    result.rss_before = rss_of(pid)
    stop_at = time.monotonic() + seconds
    started = time.monotonic()
    threads = [
        threading.Thread(target=_client, args=(server, i, stop_at, result), daemon=True)
        for i in range(clients)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result.seconds = time.monotonic() - started
    result.rss_after = rss_of(pid)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()
    moto = start_moto(check_signatures=True)
    try:
        with TemporaryDirectory() as tmp, jupyter_on(moto, Path(tmp)) as (server, pid):
            result = run_load(server, pid, args.clients, args.seconds)
    finally:
        moto.stop()
    print(result.report())
    for failure in result.failures[:20]:
        print("  failed:", failure)
    for path in result.lost[:20]:
        print("  lost:", path)
    raise SystemExit(1 if result.failures or result.lost else 0)


if __name__ == "__main__":
    main()
