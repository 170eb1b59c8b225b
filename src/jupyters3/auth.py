"""How JupyterS3 authenticates to S3: configurable classes, as in the old jupyters3.

A user subclass of :class:`JupyterS3Authentication` implements
``async def get_credentials(self)`` (or a tornado ``gen.coroutine``, or a plain
method) returning :class:`AwsCreds`; it is asked before every request, so it
should cache what it fetches. ``pre_auth_headers`` (e.g. ``x-amz-security-token``)
are sent and signed with every request.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Awaitable, Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any, NamedTuple

from traitlets import Dict, Unicode, observe
from traitlets.config import LoggingConfigurable

from s3lite import CredentialProvider, Credentials
from s3lite.credentials import ContainerProvider, default_chain

from . import redact

# At import, not at the manager's start: traitlets logs the configuration (with
# --debug) as soon as it loads it, which is what imports this package.
redact.install()

__all__ = [
    "AwsCreds",
    "JupyterS3Authentication",
    "JupyterS3DefaultAuthentication",
    "JupyterS3ECSRoleAuthentication",
    "JupyterS3SecretAccessKeyAuthentication",
]

_NO_HEADERS: Mapping[str, str] = MappingProxyType({})


class AwsCreds(NamedTuple):
    """Credentials as the old jupyters3 had them (plus an optional session token
    and expiry). ``pre_auth_headers`` are sent and signed with every request."""

    access_key_id: str
    secret_access_key: str
    pre_auth_headers: Mapping[str, str] = _NO_HEADERS
    session_token: str | None = None
    expiration: datetime | None = None


def to_credentials(creds: AwsCreds | Credentials) -> Credentials:
    """s3lite :class:`Credentials` from what an authentication class returned."""
    if isinstance(creds, Credentials):
        return creds
    if not isinstance(creds, AwsCreds):
        raise TypeError(f"get_credentials() must return AwsCreds, not {type(creds).__name__}")
    headers = {k.lower(): v for k, v in (creds.pre_auth_headers or {}).items()}
    token = creds.session_token
    if token and headers.get("x-amz-security-token") == token:
        headers.pop("x-amz-security-token")  # s3lite sends the token itself
    return Credentials(
        access_key_id=creds.access_key_id,
        secret_access_key=creds.secret_access_key,
        session_token=token or None,
        expiration=creds.expiration,
        pre_auth_headers=headers or None,
    )


class _AuthProvider:
    """An s3lite credential provider asking an authentication object each time."""

    def __init__(self, auth: JupyterS3Authentication) -> None:
        self._auth = auth

    async def get_credentials(self) -> Credentials:
        result: Any = self._auth.get_credentials()
        if inspect.isawaitable(result):
            result = await result
        return to_credentials(result)


class JupyterS3Authentication(LoggingConfigurable):
    """Base class: subclasses implement ``get_credentials`` returning :class:`AwsCreds`."""

    def get_credentials(self) -> Awaitable[AwsCreds] | AwsCreds:
        """The credentials to sign the next request with."""
        raise NotImplementedError

    def credential_provider(self) -> CredentialProvider | Credentials | None:
        """What the S3 client is given as ``credentials`` (None: s3lite's default chain)."""
        return _AuthProvider(self)


class JupyterS3SecretAccessKeyAuthentication(JupyterS3Authentication):
    """A fixed access key (and, for temporary keys, a session token). The secret
    key can come from the configuration, a file or an environment variable."""

    aws_access_key_id = Unicode("", config=True, help="The AWS access key id.")
    aws_secret_access_key = Unicode(
        "",
        config=True,
        help="The AWS secret access key (prefer aws_secret_access_key_file or _env, "
        "which keep it out of configuration files).",
    )
    aws_secret_access_key_file = Unicode(
        "", config=True, help="A file holding the secret access key (e.g. a mounted secret)."
    )
    aws_secret_access_key_env = Unicode(
        "", config=True, help="The environment variable holding the secret access key."
    )
    aws_session_token = Unicode(
        "", config=True, help="The session token of temporary credentials (optional)."
    )
    pre_auth_headers = Dict(
        {}, config=True, help="Extra headers sent and signed with every request."
    )

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._secret: str | None = None
        redact.register_secret(self.aws_secret_access_key)
        redact.register_secret(self.aws_session_token)

    @observe("aws_secret_access_key", "aws_session_token")
    def _register(self, change: Any) -> None:
        redact.register_secret(change["new"])

    def secret_access_key(self) -> str:
        """The secret key, from exactly one of the three options (read once)."""
        if self._secret is not None:
            return self._secret
        name = type(self).__name__
        given = [
            option
            for option in (
                "aws_secret_access_key",
                "aws_secret_access_key_file",
                "aws_secret_access_key_env",
            )
            if getattr(self, option)
        ]
        if len(given) > 1:
            raise ValueError(f"{name}: set only one of {', '.join(given)}")
        secret = self.aws_secret_access_key
        if self.aws_secret_access_key_file:
            try:
                with open(self.aws_secret_access_key_file, encoding="utf-8") as f:
                    secret = f.read().strip()
            except OSError as e:
                raise ValueError(
                    f"{name}.aws_secret_access_key_file: cannot read "
                    f"{self.aws_secret_access_key_file!r}: {e.strerror}"
                ) from None
            if not secret:
                raise ValueError(
                    f"{name}.aws_secret_access_key_file: {self.aws_secret_access_key_file!r} "
                    "is empty"
                )
        elif self.aws_secret_access_key_env:
            secret = os.environ.get(self.aws_secret_access_key_env, "")
            if not secret:
                raise ValueError(
                    f"{name}.aws_secret_access_key_env: the environment variable "
                    f"{self.aws_secret_access_key_env!r} is not set or empty"
                )
        if not self.aws_access_key_id or not secret:
            raise ValueError(
                f"{name} needs aws_access_key_id and aws_secret_access_key "
                "(or aws_secret_access_key_file or aws_secret_access_key_env)"
            )
        redact.register_secret(secret)
        self._secret = secret
        return secret

    async def get_credentials(self) -> AwsCreds:
        secret = self.secret_access_key()
        return AwsCreds(
            access_key_id=self.aws_access_key_id,
            secret_access_key=secret,
            pre_auth_headers=dict(self.pre_auth_headers),
            session_token=self.aws_session_token or None,
        )


def _aws_creds(c: Credentials) -> AwsCreds:
    return AwsCreds(
        access_key_id=c.access_key_id,
        secret_access_key=c.secret_access_key,
        pre_auth_headers=dict(c.pre_auth_headers or {}),
        session_token=c.session_token,
        expiration=c.expiration,
    )


class JupyterS3ECSRoleAuthentication(JupyterS3Authentication):
    """The role of the ECS/Fargate task (or EKS pod identity) the server runs in,
    from ``AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`` (or ``..._FULL_URI`` with
    ``AWS_CONTAINER_AUTHORIZATION_TOKEN[_FILE]``), cached and refreshed ahead of
    expiry. No options."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._provider = ContainerProvider()

    def credential_provider(self) -> CredentialProvider | Credentials | None:
        return self._provider

    async def get_credentials(self) -> AwsCreds:
        return _aws_creds(await self._provider.get_credentials())


class JupyterS3DefaultAuthentication(JupyterS3Authentication):
    """s3lite's full credential chain (environment, web identity, shared profiles,
    ECS/EKS container roles, EC2 instance roles): what most users want."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._chain: CredentialProvider | None = None

    def credential_provider(self) -> CredentialProvider | Credentials | None:
        if self._chain is None:
            self._chain = default_chain()
        return self._chain

    async def get_credentials(self) -> AwsCreds:
        provider = self.credential_provider()
        assert isinstance(provider, CredentialProvider)
        return _aws_creds(await provider.get_credentials())
