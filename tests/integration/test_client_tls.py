"""The client over TLS: certificate checks, and (``request_checksum_calculation =
when_supported``) large bodies sent as UNSIGNED-PAYLOAD with a CRC32 checksum (TLS
protects them in flight; CRC32 is far cheaper than SHA-256)."""

from __future__ import annotations

import base64
import os
import zlib
from pathlib import Path

import pytest

from s3lite import S3Client, TransportError
from s3lite.errors import CERTIFICATE_ERROR
from s3lite.signing import UNSIGNED_PAYLOAD
from tests.integration.test_client_faults import CREDS, ETAG, FAST, REGION, verify_signature
from tests.loopback import (
    LoopbackServer,
    Peer,
    ReceivedRequest,
    SelfSignedCert,
    http_response,
    self_signed_cert,
    start_raw_server,
)

MiB = 1024 * 1024


async def _recording_server(
    tmp_path: Path, seen: list[ReceivedRequest]
) -> tuple[SelfSignedCert, LoopbackServer]:
    cert = self_signed_cert(tmp_path)

    async def handler(peer: Peer) -> None:
        while (req := await peer.read_request()) is not None:
            seen.append(req)
            await peer.send(http_response(200, headers={"ETag": ETAG}))

    return cert, await start_raw_server(handler, ssl_context=cert.server_context())


async def test_large_bodies_go_unsigned_with_a_crc32_small_ones_signed(tmp_path: Path) -> None:
    seen: list[ReceivedRequest] = []
    cert, server = await _recording_server(tmp_path, seen)
    big, small = os.urandom(2 * MiB), b"small body"
    async with server:
        url = f"https://127.0.0.1:{server.port}"
        async with S3Client(
            REGION,
            url,
            CREDS,
            verify=str(cert.certfile),
            retry=FAST,
            request_checksum_calculation="when_supported",
        ) as s3:
            await s3.put_object("bkt", "big", big)
            await s3.put_object("bkt", "small", small)
    big_req, small_req = seen
    assert big_req.headers["x-amz-content-sha256"] == UNSIGNED_PAYLOAD
    crc = base64.b64encode(zlib.crc32(big).to_bytes(4, "big")).decode()
    assert big_req.headers["x-amz-checksum-crc32"] == crc
    assert big_req.body == big
    assert small_req.headers["x-amz-content-sha256"] != UNSIGNED_PAYLOAD
    for req in seen:  # both signatures verify, the checksum header among the signed ones
        verify_signature(req)


async def test_certificates_are_checked_unless_told_otherwise(tmp_path: Path) -> None:
    seen: list[ReceivedRequest] = []
    _, server = await _recording_server(tmp_path, seen)
    async with server:
        url = f"https://127.0.0.1:{server.port}"
        async with S3Client(REGION, url, CREDS, retry=FAST) as s3:
            with pytest.raises(TransportError, match=r"(?i)certificate") as info:
                await s3.head_object("bkt", "k")
        assert seen == []
        assert info.value.code == CERTIFICATE_ERROR
        assert server.accepted == 1  # not retried: another try cannot help
        async with S3Client(REGION, url, CREDS, verify=False, retry=FAST) as s3:
            await s3.put_object("bkt", "k", b"v")
        assert len(seen) == 1
