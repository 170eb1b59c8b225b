"""Import time: ``import s3lite`` vs ``import tornado.httpclient`` vs ``import boto3``.

Run: ``python bench/bench_import.py [--runs 15]``.

Each measurement is a fresh interpreter (``python -c``) timing the import with
``time.perf_counter``, with compiled bytecode at hand as after a ``pip install``: the
children write and read their ``.pyc`` files under a temporary ``PYTHONPYCACHEPREFIX``
(this repository's environment sets ``PYTHONDONTWRITEBYTECODE``, so without this s3lite,
an editable install, would be compiled from source on every import while the installed
packages have their bytecode); one warm-up round fills that cache. One more row shows
``import s3lite`` compiled from source, as it is here during development.

The cases take turns, one fresh process each per round (the shared machine's load
drifts); the best of ``runs`` counts, the median is shown too.
For context it also times creating the first client (boto3 loads its S3 service model
then) and the interpreter's own start-up. Note that ``import tornado.httpclient`` does
not load tornado's HTTP machinery (iostream, tcpclient, ssl): that happens on the first
``AsyncHTTPClient()``; s3lite imports it up front. aiobotocore is timed too when
``AIOBOTOCORE_PATH`` names a directory it was installed into with ``pip install
--target`` (see bench_client.py).
"""

from __future__ import annotations

import argparse
import functools
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

TIMER = "import time; t0 = time.perf_counter(); {code}; print(time.perf_counter() - t0)"

CASES: list[tuple[str, str]] = [
    ("import s3lite", "import s3lite"),
    ("import tornado.httpclient", "import tornado.httpclient"),
    ("import boto3", "import boto3"),
    (
        "import tornado.iostream, tornado.tcpclient (what s3lite needs)",
        "import tornado.iostream, tornado.tcpclient",
    ),
    (
        "import s3lite + S3Client(...)",
        "import s3lite; s3lite.S3Client('us-east-1', 'http://127.0.0.1:9', "
        "s3lite.Credentials('AK', 'SK'))",
    ),
    (
        "import boto3 + boto3.client('s3', ...)",
        "import boto3; boto3.client('s3', region_name='us-east-1', "
        "endpoint_url='http://127.0.0.1:9', aws_access_key_id='AK', "
        "aws_secret_access_key='SK')",
    ),
]
AIOBOTOCORE = "import aiobotocore.session"
FROM_SOURCE = "import s3lite, compiled from source (no .pyc)"
STARTUP = "(interpreter start-up: a whole python -c pass process)"


def once(code: str, env: dict[str, str]) -> float:
    """Seconds the ``code`` takes in a fresh interpreter."""
    out = subprocess.run(
        [sys.executable, "-c", TIMER.format(code=code)],
        stdout=subprocess.PIPE,
        text=True,
        check=True,
        env=env,
        timeout=60,
    )
    return float(out.stdout.strip().splitlines()[-1])


def startup(env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True, env=env)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=15, help="fresh processes per case")
    args = parser.parse_args()
    print(
        f"python {platform.python_version()}, {os.cpu_count()} CPUs, {args.runs} rounds; "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    with tempfile.TemporaryDirectory(prefix="s3lite-bench-pyc-") as cache:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = cache
        no_cache = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
        no_cache.pop("PYTHONPYCACHEPREFIX", None)
        jobs: dict[str, Callable[[], float]] = {
            label: functools.partial(once, code, env) for label, code in CASES
        }
        path = os.environ.get("AIOBOTOCORE_PATH")
        if path:
            aio_env = dict(env, PYTHONPATH=os.pathsep.join([path, env.get("PYTHONPATH", "")]))
            jobs[AIOBOTOCORE] = functools.partial(once, AIOBOTOCORE, aio_env)
        jobs[FROM_SOURCE] = functools.partial(once, "import s3lite", no_cache)
        jobs[STARTUP] = functools.partial(startup, env)
        for job in jobs.values():  # warm up: write the bytecode cache
            job()
        times: dict[str, list[float]] = {label: [] for label in jobs}
        for _ in range(args.runs):
            for label, job in jobs.items():
                times[label].append(job())
    print(f"  {'':<64} {'best':>8} {'median':>8}")
    for label, ts in times.items():
        print(f"  {label:<64} {min(ts) * 1000:5.1f} ms {statistics.median(ts) * 1000:5.1f} ms")
    base = min(times["import s3lite"])
    for other in ("import tornado.httpclient", "import boto3", AIOBOTOCORE):
        if other in times:
            print(
                f"  s3lite / {other.removeprefix('import ')} (best): {base / min(times[other]):.2f}"
            )


if __name__ == "__main__":
    main()
