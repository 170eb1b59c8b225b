"""Checksum settings and checking a body against what S3 sent (pure functions)."""

from __future__ import annotations

import base64
import hashlib
import zlib
from pathlib import Path

import pytest

from s3lite.checksums import body_checksum, crc32_header
from s3lite.config import ConfigError, resolve_checksum_mode
from s3lite.errors import S3Error

BODY = b"the body of an object" * 100


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


CRC32 = b64(zlib.crc32(BODY).to_bytes(4, "big"))
SHA256 = b64(hashlib.sha256(BODY).digest())
SHA1 = b64(hashlib.sha1(BODY).digest())


def test_crc32_header_is_the_big_endian_crc_in_base64() -> None:
    assert crc32_header(BODY) == CRC32
    assert crc32_header(b"") == "AAAAAA=="


@pytest.mark.parametrize(
    "headers",
    [
        {"x-amz-checksum-crc32": CRC32},
        {"x-amz-checksum-sha256": SHA256},
        {"x-amz-checksum-sha1": SHA1},
        {"x-amz-checksum-crc32c": "yZRlqg==", "x-amz-checksum-sha256": SHA256},
        {"x-amz-checksum-crc32": CRC32, "x-amz-checksum-type": "FULL_OBJECT"},
    ],
)
def test_a_whole_object_checksum_is_checked_in_pieces(headers: dict[str, str]) -> None:
    check = body_checksum(200, headers)
    assert check is not None
    for start in range(0, len(BODY), 7):
        check.update(BODY[start : start + 7])
    check.verify("b", "k")  # no error


@pytest.mark.parametrize("algorithm, value", [("crc32", CRC32), ("sha256", SHA256), ("sha1", SHA1)])
def test_a_corrupted_body_is_a_clear_error(algorithm: str, value: str) -> None:
    check = body_checksum(200, {f"x-amz-checksum-{algorithm}": value})
    assert check is not None
    check.update(BODY[:-1] + b"X")
    with pytest.raises(S3Error) as info:
        check.verify("b", "k")
    assert info.value.code == "ChecksumMismatch"
    assert f"S3 sent {value}" in str(info.value)
    assert "s3://b/k" in str(info.value)


@pytest.mark.parametrize(
    "status, headers",
    [
        (200, {}),
        (206, {"x-amz-checksum-crc32": CRC32}),  # a range: the checksum is not of it
        (200, {"x-amz-checksum-crc32": CRC32, "content-range": "bytes 0-9/2100"}),
        (200, {"x-amz-checksum-crc32": "AAAAAA==-3"}),  # composite, of the parts
        (200, {"x-amz-checksum-sha256": SHA256, "x-amz-checksum-type": "COMPOSITE"}),
        (200, {"x-amz-checksum-crc64nvme": "AAAAAAAAAAA="}),  # not in the stdlib
    ],
)
def test_nothing_is_checked_without_a_whole_object_checksum(
    status: int, headers: dict[str, str]
) -> None:
    assert body_checksum(status, headers) is None


def _config(tmp_path: Path, text: str) -> dict[str, str]:
    (tmp_path / "config").write_text(text)
    return {"AWS_CONFIG_FILE": str(tmp_path / "config"), "HOME": str(tmp_path)}


@pytest.mark.parametrize(
    "setting", ["request_checksum_calculation", "response_checksum_validation"]
)
def test_checksum_settings_argument_then_environment_then_profile(
    tmp_path: Path, setting: str
) -> None:
    env = _config(
        tmp_path, f"[default]\n{setting} = WHEN_REQUIRED\n[profile p]\n{setting} = when_supported\n"
    )

    def mode(explicit: str | None = None, profile: str | None = None, **extra: str) -> str:
        return resolve_checksum_mode(
            setting, explicit, profile, {**env, **extra}, default="when_supported"
        )

    assert mode() == "when_required"  # the default profile's key, any case
    assert mode(profile="p") == "when_supported"
    assert mode(**{f"AWS_{setting.upper()}": "when_supported"}) == "when_supported"
    assert mode("when_required", profile="p") == "when_required"
    (tmp_path / "empty").mkdir()
    empty = _config(tmp_path / "empty", "")
    assert resolve_checksum_mode(setting, None, None, empty, default="when_required") == (
        "when_required"
    )


def test_a_bad_checksum_setting_names_where_it_came_from(tmp_path: Path) -> None:
    env = _config(tmp_path, "[default]\nresponse_checksum_validation = sometimes\n")
    with pytest.raises(ConfigError, match="response_checksum_validation of profile 'default'"):
        resolve_checksum_mode(
            "response_checksum_validation", None, None, env, default="when_supported"
        )
    with pytest.raises(ConfigError, match="AWS_REQUEST_CHECKSUM_CALCULATION must be"):
        resolve_checksum_mode(
            "request_checksum_calculation",
            None,
            None,
            {**env, "AWS_REQUEST_CHECKSUM_CALCULATION": "always"},
            default="when_required",
        )
