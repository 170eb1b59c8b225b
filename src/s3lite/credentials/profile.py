"""A profile of the shared files: static keys, assumed roles (``source_profile``
chains, ``credential_source``), web identity, ``credential_process``, SSO."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..config import SharedConfig, load_shared_config, resolve_profile, resolve_region
from .base import BaseProvider
from .container import ContainerProvider
from .environment import EnvProvider
from .fetch import call_sts
from .imds import InstanceMetadataProvider
from .model import Credentials, CredentialsError
from .process import ProcessProvider
from .settings import default_session_name, describe_file
from .sso import sso_config, sso_credentials
from .web_identity import WebIdentityProvider

__all__ = ["SharedFilesProvider"]


class SharedFilesProvider(BaseProvider):
    """A profile of ``~/.aws/credentials`` and ``~/.aws/config`` (``AWS_SHARED_CREDENTIALS_FILE``,
    ``AWS_CONFIG_FILE``; profile from the argument, ``AWS_PROFILE``, ``AWS_DEFAULT_PROFILE``
    or ``default``).

    As in botocore, in this order: ``role_arn`` with ``source_profile`` (chains
    allowed, loops refused) or ``credential_source`` (``Environment``,
    ``Ec2InstanceMetadata``, ``EcsContainer``), assumed with STS ``AssumeRole``;
    ``web_identity_token_file``; SSO (``sso_account_id`` / ``sso_role_name`` with
    ``sso_session`` or the legacy ``sso_start_url``, see :mod:`.sso`); static keys in
    the credentials file; ``credential_process``; static keys in the config file.
    The files are re-read on every refresh. ``mfa_serial`` is refused (no
    interactive prompt here).
    """

    label = "shared files"

    def __init__(
        self,
        profile: str | None = None,
        *,
        region: str | None = None,
        sts_endpoint_url: str | None = None,
        allow_imdsv1: bool = False,
    ) -> None:
        super().__init__()
        self._profile = profile
        self._region = region
        self._endpoint = sts_endpoint_url
        self._allow_imdsv1 = allow_imdsv1

    def __repr__(self) -> str:
        return f"SharedFilesProvider(profile={self._profile!r})"

    __str__ = __repr__

    async def load(self) -> Credentials | None:
        name, chosen = resolve_profile(self._profile)
        cfg = load_shared_config()
        where = f"{describe_file(cfg.credentials_path)} or {describe_file(cfg.config_path)}"
        if not cfg.has_profile(name):
            if chosen:
                raise CredentialsError(f"profile {name!r} not found in {where}")
            self._not_found(f"profile {name!r} not found in {where}")
            return None
        creds = await self._resolve(cfg, name, [name], top=name, as_source=False)
        if creds is None:
            self._not_found(
                f"profile {name!r} in {where} has no credentials (no aws_access_key_id, "
                "role_arn, web_identity_token_file, sso_account_id or credential_process)"
            )
        return creds

    async def _resolve(
        self, cfg: SharedConfig, name: str, visited: list[str], *, top: str, as_source: bool
    ) -> Credentials | None:
        prof = cfg.profile(name)
        static_in_creds = cfg.credentials_profiles.get(name, {})
        static_in_config = cfg.config_profiles.get(name, {})
        has_static = any(
            k in p
            for p in (static_in_creds, static_in_config)
            for k in ("aws_access_key_id", "aws_secret_access_key")
        )
        # A source profile with its own keys is used for its keys, not its role.
        role = "role_arn" in prof and "web_identity_token_file" not in prof
        if role and not (as_source and has_static):
            return await self._assume_role(cfg, name, prof, visited, top=top)
        if "web_identity_token_file" in prof:
            return await WebIdentityProvider(
                profile=name,
                region=self._region or resolve_region(None, top),
                sts_endpoint_url=self._endpoint,
                use_env=False,
                use_profile=False,
                token_file=prof["web_identity_token_file"],
                role_arn=prof.get("role_arn"),
                role_session_name=prof.get("role_session_name"),
            ).load()
        sso = sso_config(cfg, name)
        if sso is not None:
            return await sso_credentials(sso)
        creds = self._static(static_in_creds, name, cfg.credentials_path)
        if creds is not None:
            return creds
        if prof.get("credential_process"):
            return await ProcessProvider(prof["credential_process"]).load()
        return self._static(static_in_config, name, cfg.config_path)

    @staticmethod
    def _static(values: Mapping[str, str], name: str, path: Any) -> Credentials | None:
        key = values.get("aws_access_key_id", "")
        secret = values.get("aws_secret_access_key", "")
        if not key and not secret:
            return None
        if not key or not secret:
            missing = "aws_access_key_id" if not key else "aws_secret_access_key"
            raise CredentialsError(f"profile {name!r} in {path} has no {missing}")
        return Credentials(key, secret, values.get("aws_session_token") or None)

    async def _assume_role(
        self,
        cfg: SharedConfig,
        name: str,
        prof: Mapping[str, str],
        visited: list[str],
        *,
        top: str,
    ) -> Credentials:
        role_arn = prof["role_arn"]
        if prof.get("mfa_serial"):
            raise CredentialsError(
                f"profile {name!r} needs an MFA code (mfa_serial), which s3lite cannot prompt "
                "for; use `aws sts get-session-token` or a credential_process instead"
            )
        source_profile = prof.get("source_profile")
        credential_source = prof.get("credential_source")
        if source_profile and credential_source:
            raise CredentialsError(
                f"profile {name!r} has both source_profile and credential_source"
            )
        if credential_source:
            source = await self._credential_source(credential_source, name)
        elif source_profile:
            if not cfg.has_profile(source_profile):
                raise CredentialsError(
                    f"source_profile {source_profile!r} of profile {name!r} does not exist"
                )
            if source_profile == name:
                # A profile may name itself to use its own keys for its role.
                source_or_none = self._static(
                    cfg.credentials_profiles.get(name, {}), name, cfg.credentials_path
                ) or self._static(cfg.config_profiles.get(name, {}), name, cfg.config_path)
            elif source_profile in visited:
                chain = " -> ".join([*visited, source_profile])
                raise CredentialsError(f"source_profile loop: {chain}")
            else:
                source_or_none = await self._resolve(
                    cfg, source_profile, [*visited, source_profile], top=top, as_source=True
                )
            if source_or_none is None:
                raise CredentialsError(
                    f"source_profile {source_profile!r} of profile {name!r} has no credentials"
                )
            source = source_or_none
        else:
            raise CredentialsError(
                f"profile {name!r} has role_arn but neither source_profile nor credential_source"
            )
        params = [
            ("RoleArn", role_arn),
            ("RoleSessionName", prof.get("role_session_name") or default_session_name()),
        ]
        if prof.get("external_id"):
            params.append(("ExternalId", prof["external_id"]))
        if prof.get("duration_seconds"):
            if not prof["duration_seconds"].isdigit():
                raise CredentialsError(
                    f"profile {name!r}: duration_seconds must be a number of seconds"
                )
            params.append(("DurationSeconds", prof["duration_seconds"]))
        top_prof = cfg.profile(top)
        return await call_sts(
            "AssumeRole",
            params,
            region=self._region or resolve_region(None, top),
            endpoint_url=self._endpoint,
            regional_endpoints=top_prof.get("sts_regional_endpoints"),
            source=source,
        )

    async def _credential_source(self, kind: str, name: str) -> Credentials:
        providers: dict[str, Callable[[], BaseProvider]] = {
            "environment": EnvProvider,
            "ec2instancemetadata": lambda: InstanceMetadataProvider(
                allow_imdsv1=self._allow_imdsv1
            ),
            "ecscontainer": ContainerProvider,
        }
        make = providers.get(kind.strip().lower())
        if make is None:
            raise CredentialsError(
                f"profile {name!r}: credential_source {kind!r} is not one of "
                "Environment, Ec2InstanceMetadata, EcsContainer"
            )
        provider = make()
        creds = await provider.load()
        if creds is None:
            raise CredentialsError(
                f"profile {name!r}: credential_source {kind!r} has no credentials "
                f"({'; '.join(provider.searched())})"
            )
        return creds
