"""The default chain, in the SDKs' order, and what a client does with ``credentials=``."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from .base import BaseProvider, StaticProvider
from .container import ContainerProvider
from .environment import EnvProvider
from .imds import InstanceMetadataProvider
from .model import CredentialProvider, Credentials
from .profile import SharedFilesProvider
from .web_identity import WebIdentityProvider

__all__ = ["ChainProvider", "as_provider", "default_chain"]

logger = logging.getLogger("s3lite.credentials")


class ChainProvider(BaseProvider):
    """The first provider that has credentials wins. Later refreshes ask that same
    provider first; only if it no longer has any is the whole chain walked again.
    A provider that is configured but broken stops the chain with its error."""

    label = "credential chain"

    def __init__(self, providers: Iterable[BaseProvider]) -> None:
        super().__init__()
        self.providers = list(providers)
        self._active: BaseProvider | None = None

    def __repr__(self) -> str:
        return f"ChainProvider([{', '.join(repr(p) for p in self.providers)}])"

    @property
    def active(self) -> BaseProvider | None:
        """The provider whose credentials are in use (None before the first load)."""
        return self._active

    __str__ = __repr__

    async def load(self) -> Credentials | None:
        active = self._active
        if active is not None:
            creds = await active.load()
            if creds is not None:
                return creds
            logger.debug("%s no longer has credentials; walking the chain again", active.label)
        for provider in self.providers:
            if provider is active:
                continue
            creds = await provider.load()
            if creds is not None:
                self._active = provider
                logger.debug("Using AWS credentials from %s", provider.label)
                return creds
        self._active = None
        return None

    def searched(self) -> list[str]:
        return [place for p in self.providers for place in p.searched()]


def default_chain(
    profile: str | None = None,
    *,
    region: str | None = None,
    sts_endpoint_url: str | None = None,
    allow_imdsv1: bool = False,
) -> ChainProvider:
    """The AWS SDKs' default chain: environment, web identity, shared files (profile),
    container, EC2 instance metadata.

    As in botocore, an explicit ``profile`` skips the environment variables (both
    the keys and the web identity ones): the profile was asked for. ``region`` is
    the STS region (default: :func:`~s3lite.config.resolve_region`).
    """
    providers: list[BaseProvider] = []
    if profile is None:
        providers.append(EnvProvider())
    providers.append(
        WebIdentityProvider(
            profile=profile,
            region=region,
            sts_endpoint_url=sts_endpoint_url,
            use_env=profile is None,
        )
    )
    providers.append(
        SharedFilesProvider(
            profile, region=region, sts_endpoint_url=sts_endpoint_url, allow_imdsv1=allow_imdsv1
        )
    )
    providers.append(ContainerProvider())
    providers.append(InstanceMetadataProvider(allow_imdsv1=allow_imdsv1))
    return ChainProvider(providers)


def as_provider(
    credentials: Credentials | CredentialProvider | None,
    *,
    profile: str | None = None,
    region: str | None = None,
) -> CredentialProvider:
    """What a client does with its ``credentials=`` argument: a provider as is,
    fixed :class:`Credentials` wrapped in a :class:`StaticProvider`, None the
    :func:`default_chain` (for ``profile``)."""
    if credentials is None:
        return default_chain(profile, region=region)
    if isinstance(credentials, Credentials):
        return StaticProvider(credentials)
    return credentials
