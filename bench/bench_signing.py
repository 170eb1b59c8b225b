"""Microbenchmark: microseconds per ``s3lite.signing.sign()`` call (target: <= 30 µs).

Run: ``python bench/bench_signing.py``. The derived key is cached after the first
call, as in real use; the payload hash is given (hashing the body is not signing).
"""

from __future__ import annotations

import hashlib
import timeit
from datetime import datetime, timezone

from s3lite.credentials import Credentials
from s3lite.messages import Request
from s3lite.signing import EMPTY_SHA256, presign, sign

CREDS = Credentials(
    "AKIAIOSFODNN7EXAMPLE",
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "FwoGZXIvYXdzEBYaDExampleSessionToken/With+Some=Padding==",
)
REGION = "us-east-1"
BODY = b"x" * 65536
BODY_SHA256 = hashlib.sha256(BODY).hexdigest()


def get_request() -> Request:
    return Request(
        "GET",
        "https",
        "s3.us-east-1.amazonaws.com",
        "/my-bucket/notebooks/analysis%20v2/Untitled.ipynb",
        headers={"range": "bytes=0-1048575"},
    )


def put_request() -> Request:
    return Request(
        "PUT",
        "https",
        "s3.us-east-1.amazonaws.com",
        "/my-bucket/notebooks/analysis%20v2/Untitled.ipynb",
        headers={
            "content-type": "application/x-ipynb+json",
            "content-length": str(len(BODY)),
            "x-amz-meta-last-modified-by": "jupyters3",
        },
        body=BODY,
    )


def list_request() -> Request:
    return Request(
        "GET",
        "https",
        "s3.us-east-1.amazonaws.com",
        "/my-bucket",
        query=[("list-type", "2"), ("prefix", "notebooks/analysis v2/"), ("delimiter", "/")],
    )


def per_call_us(func: object, number: int) -> float:
    timer = timeit.Timer(func)  # type: ignore[arg-type]
    return min(timer.repeat(repeat=5, number=number)) / number * 1e6


def main() -> None:
    now = datetime.now(timezone.utc)
    cases = {
        "GET object (range, session token)": (get_request(), EMPTY_SHA256),
        "PUT object (3 headers, signed payload hash)": (put_request(), BODY_SHA256),
        "GET list-objects-v2 (3 query params)": (list_request(), EMPTY_SHA256),
    }
    n = 20000
    for name, (request, payload_hash) in cases.items():
        # The request is re-signed each time: sign() replaces its own headers.
        us = per_call_us(lambda r=request, p=payload_hash: sign(r, CREDS, REGION, "s3", now, p), n)
        print(f"sign()    {name:45s} {us:6.2f} µs/call")
    request = get_request()
    us = per_call_us(lambda: presign(request, CREDS, REGION, "s3", now, 3600), n)
    print(f"presign() {'GET object (range, session token)':45s} {us:6.2f} µs/call")


if __name__ == "__main__":
    main()
