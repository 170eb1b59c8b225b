"""Flexible checksums (``x-amz-checksum-*``): the settings, and checking a body against
the checksum S3 sent with it. Pure functions.

The settings follow the AWS SDKs' ``request_checksum_calculation`` and
``response_checksum_validation`` (``when_supported`` or ``when_required``). Checksums
always go in headers, never in aws-chunked trailers, which many S3-compatible servers
cannot read.
"""

from __future__ import annotations

import base64
import hashlib
import re
import zlib
from collections.abc import Callable
from typing import Literal, Protocol

from .errors import S3Error

__all__ = [
    "CHECKSUM_MODES",
    "BodyChecksum",
    "ChecksumMode",
    "body_checksum",
    "crc32_header",
]

ChecksumMode = Literal["when_supported", "when_required"]
CHECKSUM_MODES: tuple[ChecksumMode, ...] = ("when_supported", "when_required")

_COMPOSITE = re.compile(r"-\d+$")  # "<base64>-3": a checksum of the parts' checksums


def crc32_header(data: bytes | memoryview) -> str:
    """The value of ``x-amz-checksum-crc32`` for ``data``."""
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


class _Crc32:
    def __init__(self) -> None:
        self.value = 0

    def update(self, data: bytes | memoryview) -> None:
        self.value = zlib.crc32(data, self.value)

    def digest(self) -> bytes:
        return self.value.to_bytes(4, "big")


class _Hasher(Protocol):
    def update(self, data: bytes | memoryview, /) -> None: ...
    def digest(self) -> bytes: ...


# Those the standard library computes, cheapest first. CRC32C and CRC64NVME need
# code of their own and are not checked.
_ALGORITHMS: dict[str, Callable[[], _Hasher]] = {
    "crc32": _Crc32,
    "sha1": hashlib.sha1,
    "sha256": hashlib.sha256,
}


class BodyChecksum:
    """The checksum S3 sent for a whole object, checked against the body as it arrives."""

    def __init__(self, algorithm: str, expected: str) -> None:
        self.algorithm = algorithm
        self.expected = expected
        self._hasher = _ALGORITHMS[algorithm]()

    def update(self, chunk: bytes | memoryview) -> None:
        self._hasher.update(chunk)

    def verify(self, bucket: str, key: str) -> None:
        """Raise ``S3Error`` (code ``ChecksumMismatch``) unless the body matched."""
        got = base64.b64encode(self._hasher.digest()).decode()
        if got != self.expected:
            raise S3Error(
                f"the body received has {self.algorithm.upper()} {got}, but S3 sent "
                f"{self.expected} for it: it was corrupted on the way",
                code="ChecksumMismatch",
                bucket=bucket,
                key=key,
            )


def body_checksum(status: int, headers: dict[str, str]) -> BodyChecksum | None:
    """What to check a GET's body against: a checksum of the whole object, in an
    algorithm the standard library has; None for ranges (206), for composite
    checksums of multipart objects (``...-N``), and when S3 sent none."""
    if status != 200 or "content-range" in headers:
        return None
    if headers.get("x-amz-checksum-type", "").upper() == "COMPOSITE":
        return None
    for algorithm in _ALGORITHMS:
        value = headers.get(f"x-amz-checksum-{algorithm}", "").strip()
        if value and not _COMPOSITE.search(value):
            return BodyChecksum(algorithm, value)
    return None
