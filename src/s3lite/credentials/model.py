"""The credentials model: :class:`Credentials`, the :class:`CredentialProvider`
protocol and the errors of every credential source."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from ..errors import S3Error

__all__ = [
    "MAX_BODY",
    "CredentialProvider",
    "Credentials",
    "CredentialsError",
    "NoCredentialsError",
]


# Bigger answers from STS/IMDS/container endpoints, or bigger token files, are not credentials.
MAX_BODY = 1 << 20


@dataclass(frozen=True, slots=True)
class Credentials:
    """A set of AWS credentials. ``repr`` and ``str`` never show the secret or token."""

    access_key_id: str
    secret_access_key: str
    session_token: str | None = None
    expiration: datetime | None = None  # timezone-aware; None = never expires
    # Extra headers sent and signed with every request made with these credentials
    # (the old jupyters3 ``AwsCreds.pre_auth_headers``). Keys are lower-cased when sent.
    pre_auth_headers: Mapping[str, str] | None = None

    def __repr__(self) -> str:
        token = ", session_token=***" if self.session_token else ""
        exp = f", expiration={self.expiration.isoformat()}" if self.expiration else ""
        key = self.access_key_id
        return f"Credentials(access_key_id={key!r}, secret_access_key=***{token}{exp})"

    __str__ = __repr__


@runtime_checkable
class CredentialProvider(Protocol):
    """Anything that can hand out current credentials (refreshing as needed)."""

    async def get_credentials(self) -> Credentials: ...


# --------------------------------------------------------------------------- errors


class CredentialsError(S3Error):
    """A credential source is configured but does not work (bad file, STS refusal,
    unreachable container endpoint, failing ``credential_process``...)."""

    default_code = "CredentialsError"
    sts_code: str | None = None  # STS's error code, when STS refused


class NoCredentialsError(S3Error):
    """No credentials anywhere. ``searched`` lists every place that was looked at."""

    default_code = "NoCredentials"

    def __init__(self, message: str = "", *, searched: Sequence[str] = (), **kwargs: Any) -> None:
        self.searched = list(searched)
        if not message:
            places = "".join(f"\n  {i}. {p}" for i, p in enumerate(self.searched, 1))
            message = (
                "no AWS credentials found; looked in:"
                + places
                + "\nSet AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, configure a profile in"
                " ~/.aws/credentials or ~/.aws/config, or pass credentials explicitly."
            )
        super().__init__(message, **kwargs)
