"""Credentials from the environment variables."""

from __future__ import annotations

import os
from collections.abc import Mapping

from .base import BaseProvider
from .json_credentials import parse_expiration
from .model import Credentials, CredentialsError

__all__ = ["EnvProvider"]


class EnvProvider(BaseProvider):
    """``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN`` (or the
    legacy ``AWS_SECURITY_TOKEN``) and optionally ``AWS_CREDENTIAL_EXPIRATION``."""

    label = "environment variables"

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        super().__init__()
        self._environ = environ

    async def load(self) -> Credentials | None:
        env = os.environ if self._environ is None else self._environ
        key = env.get("AWS_ACCESS_KEY_ID", "")
        secret = env.get("AWS_SECRET_ACCESS_KEY", "")
        if not key and not secret:
            self._not_found("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set")
            return None
        if not key or not secret:
            have, missing = (
                ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
                if key
                else ("AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY_ID")
            )
            raise CredentialsError(f"{have} is set but {missing} is not")
        token = env.get("AWS_SESSION_TOKEN") or env.get("AWS_SECURITY_TOKEN") or None
        expiration = None
        if env.get("AWS_CREDENTIAL_EXPIRATION"):
            try:
                expiration = parse_expiration(env["AWS_CREDENTIAL_EXPIRATION"])
            except ValueError as e:
                raise CredentialsError(f"bad AWS_CREDENTIAL_EXPIRATION: {e}") from None
        return Credentials(key, secret, token, expiration)
