"""Contents managers side by side: jupyters3 against s3contents, on the same moto server.

Run: ``python bench/bench_contents.py [--rounds 3] [--folders 10,100,1000,10000]
[--json PATH] [--endpoint URL --server-pid PID]`` (a moto server already running, as
``run.py`` passes; default: one started here).

For each folder size N, the folder ``list-N/`` holds N small files (made once, before
the rounds). Each round runs, for each folder: list it, save a new 100 KB notebook in
it, save it again (changed), save a 20 MB binary file (base64, as the browser's upload
sends it), get that file back (base64), then delete both (not timed). Each manager runs
a round in a fresh process of its own (``contents_driver.py``), after one untimed pass of
every operation on the smallest folder (imports, first connections), the managers taking
turns round by round (which goes first alternates), straight to moto. One more round of
each goes through the tests' counting proxy (``countproxy.py``): the S3 requests per
operation come from that round only, so no timed round pays the proxy's hop.

s3contents runs in its own virtual environment with Python 3.12 (what its latest
release needs), made on first use in ``.bench-venvs/s3contents`` (or give one with
``S3CONTENTS_PYTHON=/path/to/python``).
"""

from __future__ import annotations

import argparse
import asyncio
import glob
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from jupyters3.demo import DEMO_ACCESS_KEY_ID, DEMO_REGION, DEMO_SECRET_ACCESS_KEY, LocalS3
from s3lite import Credentials, S3Client

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BUCKET = "bench-contents"
MANAGERS = ("jupyters3", "s3contents")


def find_python312() -> str:
    """A Python 3.12 interpreter on this machine (none is downloaded)."""
    found = shutil.which("python3.12")
    candidates = [found] if found else []
    candidates += sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.12*/bin/python3.12")))
    for path in candidates:
        ok = subprocess.run([path, "-c", "pass"], capture_output=True).returncode == 0
        if ok:
            return path
    raise SystemExit("s3contents needs Python 3.12: none found (set S3CONTENTS_PYTHON)")


def s3contents_python() -> str:
    """The interpreter of s3contents' own virtual environment (made on first use)."""
    given = os.environ.get("S3CONTENTS_PYTHON")
    if given:
        return given
    venv = ROOT / ".bench-venvs" / "s3contents"
    python = venv / "bin" / "python"
    if not python.exists():
        print(f"making {venv} (s3contents, latest, from PyPI)", flush=True)
        subprocess.run([find_python312(), "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "s3contents", "jupyter_server", "nbformat"],
            check=True,
        )
    return str(python)


def version_of(python: str, module: str) -> str:
    code = f"import importlib.metadata as m; print(m.version({module!r}))"
    out = subprocess.run([python, "-c", code], capture_output=True, text=True)
    return out.stdout.strip() or "?"


async def populate(endpoint: str, folders: list[int]) -> None:
    """``list-N/file-00000.txt`` ... for each N (small bodies), many requests at once."""
    creds = Credentials(DEMO_ACCESS_KEY_ID, DEMO_SECRET_ACCESS_KEY)
    async with S3Client(DEMO_REGION, endpoint, creds, max_connections=16) as s3:
        await s3.create_bucket(BUCKET)
        slots = asyncio.Semaphore(16)

        async def put(key: str) -> None:
            async with slots:
                await s3.put_object(BUCKET, key, b"a small file\n")

        for n in folders:
            await asyncio.gather(*(put(f"list-{n}/file-{i:05}.txt") for i in range(n)))


class CountProxy:
    """``countproxy.py`` in a child process."""

    def __init__(self, upstream: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "countproxy.py"), upstream],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        port, control = self.proc.stdout.readline().split()
        self.url = f"http://127.0.0.1:{port}"
        self.control = f"http://127.0.0.1:{control}"

    def stop(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def run_driver(python: str, cfg: dict[str, Any]) -> list[dict[str, Any]]:
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    if cfg["manager"] == "s3contents":
        env.pop("PYTHONPATH")
    out = subprocess.run(
        [python, str(HERE / "contents_driver.py"), json.dumps(cfg)],
        stdout=subprocess.PIPE,
        text=True,
        check=True,
        timeout=1800,
        env=env,
    )
    return [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]


def measure(
    rounds: int, folders: list[int], endpoint: str | None = None, server_pid: int = 0
) -> dict[str, Any]:
    """The rounds on the moto server at ``endpoint`` (process ``server_pid``), or on one
    started here."""
    pythons = {"jupyters3": sys.executable, "s3contents": s3contents_python()}
    versions = {"s3contents": version_of(pythons["s3contents"], "s3contents")}
    versions["s3fs"] = version_of(pythons["s3contents"], "s3fs")
    versions["moto"] = version_of(sys.executable, "moto")
    local = None if endpoint else LocalS3.start()
    if local is not None:
        endpoint, server_pid = local.endpoint_url, local.process.pid
    assert endpoint
    proxy = None
    rows: list[dict[str, Any]] = []
    started = time.time()
    try:
        t0 = time.perf_counter()
        asyncio.run(populate(endpoint, folders))
        print(f"  {sum(folders)} files made in {time.perf_counter() - t0:.0f} s", flush=True)
        proxy = CountProxy(endpoint)
        base = {
            "bucket": BUCKET,
            "key": DEMO_ACCESS_KEY_ID,
            "secret": DEMO_SECRET_ACCESS_KEY,
            "folders": folders,
        }
        for r in range(rounds + 1):
            counting = r == rounds  # the last round goes through the proxy
            order = MANAGERS if r % 2 == 0 else MANAGERS[::-1]
            for manager in order:
                cfg = {
                    **base,
                    "manager": manager,
                    "tag": f"r{r}",
                    "endpoint": proxy.url if counting else endpoint,
                    "control": proxy.control if counting else None,
                    "server_pids": [server_pid] + ([proxy.proc.pid] if counting else []),
                }
                for row in run_driver(pythons[manager], cfg):
                    row["round"] = r
                    row["counting"] = counting
                    rows.append(row)
                print(f"  round {r + 1}/{rounds + 1}: {manager} done", flush=True)
    finally:
        if proxy is not None:
            proxy.stop()
        if local is not None:
            local.stop()
    return {
        "started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(started)),
        "seconds": time.time() - started,
        "load": os.getloadavg(),
        "rounds": rounds,
        "folders": folders,
        "versions": versions,
        "rows": rows,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds of each manager")
    parser.add_argument("--folders", default="10,100,1000,10000", help="folder sizes")
    parser.add_argument("--json", help="write the results to this file")
    parser.add_argument("--endpoint", help="a moto server to use (default: start one)")
    parser.add_argument("--server-pid", type=int, default=0, help="its process, for its CPU")
    args = parser.parse_args()
    folders = [int(n) for n in args.folders.split(",")]
    print(f"load average {os.getloadavg()[0]:.1f}", flush=True)
    result = measure(args.rounds, folders, args.endpoint, args.server_pid)
    for row in result["rows"]:
        if not row["counting"]:
            print(
                f"  {row['manager']:<10} {row['op']:<18} N={row['folder']:<6} "
                f"{row['wall'] * 1000:8.1f} ms wall {row['cpu'] * 1000:8.1f} ms CPU "
                f"(server {row['server_cpu'][0] * 1000:7.1f} ms)"
            )
    for row in result["rows"]:
        if row["counting"]:
            print(f"  {row['manager']:<10} {row['op']:<18} N={row['folder']:<6} {row['requests']}")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
