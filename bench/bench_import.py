"""Import time: ``import s3lite`` vs ``import tornado.httpclient`` vs ``import boto3``.

Run: ``python bench/bench_import.py [--runs 10]``.

Each measurement is a fresh interpreter (``python -c``) timing the import with
``time.perf_counter``; the best of ``runs`` counts. For context it also times creating
the first client (boto3 loads its S3 service model then), and the interpreter's own
start-up. aiobotocore is timed too when ``AIOBOTOCORE_PATH`` names a directory it was
installed into with ``pip install --target`` (see bench_client.py).
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys

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
AIOBOTOCORE = ("import aiobotocore.session", "import aiobotocore.session")


def best_of(code: str, runs: int, env: dict[str, str] | None = None) -> float:
    times = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", TIMER.format(code=code)],
            stdout=subprocess.PIPE,
            text=True,
            check=True,
            env=env,
            timeout=60,
        )
        times.append(float(out.stdout.strip().splitlines()[-1]))
    return min(times)


def startup(runs: int) -> float:
    """Wall time of a whole ``python -c pass`` process (for scale)."""
    import time

    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=10, help="fresh processes per case (best)")
    args = parser.parse_args()
    print(
        f"python {platform.python_version()}, {os.cpu_count()} CPUs, best of {args.runs}; "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    results = {}
    for label, code in CASES:
        results[label] = best_of(code, args.runs)
        print(f"  {label:<64} {results[label] * 1000:7.1f} ms", flush=True)
    path = os.environ.get("AIOBOTOCORE_PATH")
    if path:
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([path, os.environ.get("PYTHONPATH", "")]))
        label, code = AIOBOTOCORE
        results[label] = best_of(code, args.runs, env)
        print(f"  {label:<64} {results[label] * 1000:7.1f} ms", flush=True)
    print(
        f"  {'(interpreter start-up: whole python -c pass process)':<64} "
        f"{startup(args.runs) * 1000:7.1f} ms"
    )
    base = results["import s3lite"]
    for other in ("import tornado.httpclient", "import boto3", AIOBOTOCORE[0]):
        if other in results:
            print(f"  s3lite / {other.removeprefix('import ')}: {base / results[other]:.2f}")


if __name__ == "__main__":
    main()
