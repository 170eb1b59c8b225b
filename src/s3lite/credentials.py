"""AWS credentials and the providers that find them.

(Contract stub: the providers and the default chain are filled in by the
credentials work; the names below are fixed because signing and the client
use them.)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

__all__ = ["CredentialProvider", "Credentials"]


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
