"""Reading what a provider is configured with: flags, small files, header values."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Mapping
from typing import Any

from .model import MAX_BODY, CredentialsError

__all__ = [
    "check_header_value",
    "check_region",
    "configured_endpoint",
    "default_session_name",
    "describe_file",
    "env_true",
    "read_small_file",
]


def env_true(value: str | None) -> bool:
    """Whether a setting says ``true`` (any case)."""
    return (value or "").strip().lower() == "true"


_REGION_RE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


def check_region(region: str) -> str:
    """``region``, if it can be part of a host name; else CredentialsError."""
    if not _REGION_RE.fullmatch(region):
        raise CredentialsError(f"invalid AWS region {region[:64]!r}")
    return region


def configured_endpoint(service: str, environ: Mapping[str, str]) -> str | None:
    """``AWS_ENDPOINT_URL_<SERVICE>``, else ``AWS_ENDPOINT_URL``; None when neither is
    set or ``AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true``."""
    if env_true(environ.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")):
        return None
    return environ.get(f"AWS_ENDPOINT_URL_{service}") or environ.get("AWS_ENDPOINT_URL") or None


def check_header_value(value: str, what: str) -> str:
    if "\r" in value or "\n" in value or not value:
        raise CredentialsError(f"{what} is empty or contains a line break")
    return value


def read_small_file(path: str, what: str) -> str:
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_BODY + 1)
    except OSError as e:
        raise CredentialsError(f"cannot read {what} {path!r}: {e.strerror or e}") from None
    if len(data) > MAX_BODY:
        raise CredentialsError(f"{what} {path!r} is larger than {MAX_BODY} bytes")
    try:
        return data.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise CredentialsError(f"{what} {path!r} is not UTF-8 text") from None


def default_session_name() -> str:
    return f"s3lite-session-{int(time.time())}"


def describe_file(path: Any) -> str:
    return f"{path}" if os.path.exists(path) else f"{path} (does not exist)"
