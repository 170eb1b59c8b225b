"""Reading what a provider is configured with: flags, small files, header values."""

from __future__ import annotations

import os
import time
from typing import Any

from .model import MAX_BODY, CredentialsError

__all__ = [
    "check_header_value",
    "default_session_name",
    "describe_file",
    "env_true",
    "read_small_file",
]


def env_true(value: str | None) -> bool:
    """Whether a setting says ``true`` (any case)."""
    return (value or "").strip().lower() == "true"


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
