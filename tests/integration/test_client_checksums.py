"""Checksums on the wire: headers only (never trailers), Content-MD5 on DeleteObjects,
and a GET's body checked against a whole-object checksum S3 sent with it.

Loopback servers answer with the checksums under test (moto and Ceph RGW 16 send none
for objects written without one)."""

from __future__ import annotations

import base64
import hashlib
import os
import zlib
from pathlib import Path

import pytest

from s3lite import S3Client, S3Error
from s3lite.signing import UNSIGNED_PAYLOAD
from tests.integration.test_client_faults import (
    BUCKET,
    CREDS,
    FAST,
    KEY,
    REGION,
    MiB,
    Peer,
    ReceivedRequest,
    http_response,
    object_response,
    query_of,
    scripted,
    verify_signature,
)
from tests.integration.test_client_rgw_answers import initiate_result, rgw_complete_result
from tests.loopback import self_signed_cert, start_raw_server

BODY = os.urandom(300 * 1024)
CRC32 = base64.b64encode(zlib.crc32(BODY).to_bytes(4, "big")).decode()
SHA256 = base64.b64encode(hashlib.sha256(BODY).digest()).decode()


def serving(body: bytes, headers: list[tuple[str, str]]):  # type: ignore[no-untyped-def]
    seen: list[ReceivedRequest] = []

    async def script(peer: Peer, req: ReceivedRequest, n: int) -> bool:
        verify_signature(req)
        seen.append(req)
        await peer.send(object_response(body, headers=headers))
        return True

    return script, seen


@pytest.mark.parametrize("streamed", [False, True])
async def test_a_get_whose_body_does_not_match_its_checksum_fails_clearly(
    streamed: bool, tmp_path: Path
) -> None:
    corrupt = BODY[:-1] + bytes([BODY[-1] ^ 1])
    script, seen = serving(corrupt, [("x-amz-checksum-crc32", CRC32)])
    async with scripted(script) as (_, s3):
        with pytest.raises(S3Error) as info:
            if streamed:
                await s3.download_file(BUCKET, KEY, tmp_path / "out")
            else:
                await s3.get_object(BUCKET, KEY)
    assert info.value.code == "ChecksumMismatch"
    assert f"S3 sent {CRC32}" in str(info.value)
    assert seen[0].headers["x-amz-checksum-mode"] == "ENABLED"
    assert list(tmp_path.iterdir()) == []  # no partial or corrupt file left


@pytest.mark.parametrize(
    "header", [("x-amz-checksum-crc32", CRC32), ("x-amz-checksum-sha256", SHA256)]
)
async def test_a_get_matching_its_checksum_succeeds(
    header: tuple[str, str], tmp_path: Path
) -> None:
    script, _ = serving(BODY, [header])
    async with scripted(script) as (_, s3):
        assert (await s3.get_object(BUCKET, KEY)).body == BODY
        await s3.download_file(BUCKET, KEY, tmp_path / "out")
    assert (tmp_path / "out").read_bytes() == BODY


@pytest.mark.parametrize(
    "headers",
    [
        [("x-amz-checksum-crc32", "AAAAAA==-4")],  # composite: of the parts, not the body
        [("x-amz-checksum-sha256", SHA256), ("x-amz-checksum-type", "COMPOSITE")],
    ],
)
async def test_composite_checksums_are_not_taken_for_the_body_s(
    headers: list[tuple[str, str]],
) -> None:
    script, _ = serving(b"other body", headers)
    async with scripted(script) as (_, s3):
        assert (await s3.get_object(BUCKET, KEY)).body == b"other body"


async def test_a_range_asks_for_no_checksum_and_checks_none() -> None:
    part = BODY[10:20]
    script, seen = serving(
        part, [("x-amz-checksum-crc32", CRC32), ("Content-Range", "bytes 10-19/307200")]
    )
    async with scripted(script) as (_, s3):
        assert (await s3.get_object(BUCKET, KEY, range=(10, 19))).body == part
    assert "x-amz-checksum-mode" not in seen[0].headers


async def test_when_required_asks_for_no_checksum_but_checks_one_sent_anyway() -> None:
    script, seen = serving(b"corrupt", [("x-amz-checksum-crc32", CRC32)])
    async with scripted(script, response_checksum_validation="when_required") as (_, s3):
        with pytest.raises(S3Error, match="ChecksumMismatch"):
            await s3.get_object(BUCKET, KEY)
    assert "x-amz-checksum-mode" not in seen[0].headers


# -- requests -------------------------------------------------------------------------------


def recording_multipart():  # type: ignore[no-untyped-def]
    seen: list[ReceivedRequest] = []

    async def script(peer: Peer, req: ReceivedRequest, n: int) -> bool:
        verify_signature(req)
        seen.append(req)
        q = query_of(req)
        if req.method == "POST" and "uploads" in q:
            await peer.send(http_response(200, initiate_result()))
        elif req.method == "POST":
            await peer.send(http_response(200, rgw_complete_result('"joined-2"')))
        else:
            await peer.send(http_response(200, headers={"ETag": '"e"'}))
        return True

    return script, seen


@pytest.mark.parametrize("mode", [None, "when_required", "when_supported"])
async def test_uploads_carry_checksum_headers_only_when_supported_and_never_trailers(
    mode: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_REQUEST_CHECKSUM_CALCULATION", raising=False)
    script, seen = recording_multipart()
    big = os.urandom(6 * MiB)
    async with scripted(
        script,
        request_checksum_calculation=mode,
        multipart_threshold=5 * MiB,
        multipart_chunksize=5 * MiB,
    ) as (_, s3):
        await s3.put_object(BUCKET, "small", BODY)
        await s3.put_object(BUCKET, "big", big)
    single, create, *parts, complete = seen
    crc = {name: v for name, v in single.headers.items() if name.startswith("x-amz-checksum")}
    assert crc == ({"x-amz-checksum-crc32": CRC32} if mode == "when_supported" else {})
    for req in seen:
        assert "x-amz-trailer" not in req.headers
        assert "aws-chunked" not in req.headers.get("content-encoding", "")
        assert req.headers["x-amz-content-sha256"] == req.body_sha256 or not req.body_length
    # S3 refuses part checksums on an upload created without an algorithm: parts carry none.
    assert len(parts) == 2
    for req in (create, *parts, complete):
        assert not [h for h in req.headers if h.startswith("x-amz-checksum")]


async def test_the_environment_setting_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_REQUEST_CHECKSUM_CALCULATION", "when_supported")
    script, seen = recording_multipart()
    async with scripted(script) as (_, s3):
        await s3.put_object(BUCKET, "small", BODY)
    assert seen[0].headers["x-amz-checksum-crc32"] == CRC32


async def test_a_bad_setting_is_a_clear_error_at_construction() -> None:
    with pytest.raises(ValueError, match="when_supported or when_required"):
        S3Client(REGION, "http://127.0.0.1:9", CREDS, request_checksum_calculation="always")  # type: ignore[arg-type]


@pytest.mark.parametrize("mode", ["when_required", "when_supported"])
async def test_over_tls_large_bodies_go_unsigned_only_with_a_crc32(
    mode: str, tmp_path: Path
) -> None:
    cert = self_signed_cert(tmp_path)
    seen: list[ReceivedRequest] = []

    async def handler(peer: Peer) -> None:
        while (req := await peer.read_request()) is not None:
            seen.append(req)
            await peer.send(http_response(200, headers={"ETag": '"e"'}))

    big = os.urandom(2 * MiB)
    server = await start_raw_server(handler, ssl_context=cert.server_context())
    async with (
        server,
        S3Client(
            REGION,
            server.url,
            CREDS,
            verify=str(cert.certfile),
            retry=FAST,
            request_checksum_calculation=mode,  # type: ignore[arg-type]
        ) as s3,
    ):
        await s3.put_object(BUCKET, "big", big)
    (req,) = seen
    verify_signature(req)
    if mode == "when_supported":
        assert req.headers["x-amz-content-sha256"] == UNSIGNED_PAYLOAD
        assert (
            req.headers["x-amz-checksum-crc32"]
            == base64.b64encode(zlib.crc32(big).to_bytes(4, "big")).decode()
        )
    else:  # no checksum header: the signed SHA-256 is what the server checks
        assert req.headers["x-amz-content-sha256"] == hashlib.sha256(big).hexdigest()
        assert "x-amz-checksum-crc32" not in req.headers
