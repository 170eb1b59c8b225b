"""AWS credentials and the providers that find them, the way the AWS SDKs do.

One module per source, as in the AWS SDK for Rust's ``aws-config``:

- :mod:`.model`: :class:`Credentials`, the :class:`CredentialProvider` protocol, the errors;
- :mod:`.json_credentials`, :mod:`.sts`: pure parsing and request building (sans-I/O);
- :mod:`.fetch`: the I/O shell, every HTTP exchange through :mod:`s3lite.transport`;
- :mod:`.cache`: :class:`RefreshingProvider`, the refreshing cache in front of each provider;
- :mod:`.base`: :class:`BaseProvider` and :class:`StaticProvider`;
- :mod:`.environment`, :mod:`.web_identity`, :mod:`.profile` (with :mod:`.process`
  and :mod:`.sso`), :mod:`.container`, :mod:`.imds`: the sources;
- :mod:`.chain`: :func:`default_chain` in the SDKs' order, and :func:`as_provider`.

Each provider's ``async load()`` returns :class:`Credentials`, or None when its source
is not configured at all (so a chain moves on); a source that *is* configured but
broken raises :class:`CredentialsError`. ``get_credentials()`` caches temporary
credentials and refreshes them ahead of expiry, once however many requests wait.
"""

from __future__ import annotations

from ..config import resolve_region
from .base import BaseProvider, StaticProvider
from .cache import RefreshingProvider
from .chain import ChainProvider, as_provider, default_chain
from .container import ContainerProvider, container_credentials_url
from .environment import EnvProvider
from .imds import InstanceMetadataProvider
from .json_credentials import parse_expiration, parse_json_credentials
from .model import CredentialProvider, Credentials, CredentialsError, NoCredentialsError
from .process import ProcessProvider, parse_process_output
from .profile import SharedFilesProvider
from .sso import SSOProvider
from .sts import build_sts_request, parse_sts_response, sts_endpoint
from .web_identity import WebIdentityProvider

__all__ = [
    "BaseProvider",
    "ChainProvider",
    "ContainerProvider",
    "CredentialProvider",
    "Credentials",
    "CredentialsError",
    "EnvProvider",
    "InstanceMetadataProvider",
    "NoCredentialsError",
    "ProcessProvider",
    "RefreshingProvider",
    "SSOProvider",
    "SharedFilesProvider",
    "StaticProvider",
    "WebIdentityProvider",
    "as_provider",
    "build_sts_request",
    "container_credentials_url",
    "default_chain",
    "parse_expiration",
    "parse_json_credentials",
    "parse_process_output",
    "parse_sts_response",
    "resolve_region",
    "sts_endpoint",
]
