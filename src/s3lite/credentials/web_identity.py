"""STS ``AssumeRoleWithWebIdentity`` with a token file (EKS IRSA and similar)."""

from __future__ import annotations

import os

from ..config import load_shared_config, resolve_profile, resolve_region
from .base import BaseProvider
from .fetch import call_sts
from .model import Credentials, CredentialsError
from .settings import default_session_name, read_small_file

__all__ = ["WebIdentityProvider"]


class WebIdentityProvider(BaseProvider):
    """STS ``AssumeRoleWithWebIdentity`` (EKS IAM roles for service accounts, and similar).

    Settings, each from the environment first, then the profile: the token file
    (``AWS_WEB_IDENTITY_TOKEN_FILE`` / ``web_identity_token_file``), the role
    (``AWS_ROLE_ARN`` / ``role_arn``) and the session name (``AWS_ROLE_SESSION_NAME``
    / ``role_session_name``). The token file is re-read on every refresh. The
    request is unsigned and goes to the regional STS endpoint (see :func:`sts_endpoint`).
    """

    label = "web identity"
    _ENV = {
        "web_identity_token_file": "AWS_WEB_IDENTITY_TOKEN_FILE",
        "role_arn": "AWS_ROLE_ARN",
        "role_session_name": "AWS_ROLE_SESSION_NAME",
    }

    def __init__(
        self,
        *,
        profile: str | None = None,
        region: str | None = None,
        sts_endpoint_url: str | None = None,
        use_env: bool = True,
        use_profile: bool = True,
        token_file: str | None = None,
        role_arn: str | None = None,
        role_session_name: str | None = None,
    ) -> None:
        super().__init__()
        self._profile = profile
        self._region = region
        self._endpoint = sts_endpoint_url
        self._use_env = use_env
        self._use_profile = use_profile
        self._given = {
            "web_identity_token_file": token_file,
            "role_arn": role_arn,
            "role_session_name": role_session_name,
        }

    async def load(self) -> Credentials | None:
        profile_cfg: dict[str, str] | None = None
        profile_name, _ = resolve_profile(self._profile)

        def setting(key: str) -> str | None:
            nonlocal profile_cfg
            if self._given[key]:
                return self._given[key]
            if self._use_env and os.environ.get(self._ENV[key]):
                return os.environ[self._ENV[key]]
            if not self._use_profile:
                return None
            if profile_cfg is None:
                profile_cfg = load_shared_config().profile(profile_name)
            return profile_cfg.get(key) or None

        token_file = setting("web_identity_token_file")
        if not token_file:
            where = "AWS_WEB_IDENTITY_TOKEN_FILE is not set" if self._use_env else ""
            if self._use_profile:
                sep = " and " if where else ""
                where += f"{sep}profile {profile_name!r} has no web_identity_token_file"
            self._not_found(where or "no token file given")
            return None
        role_arn = setting("role_arn")
        if not role_arn:
            raise CredentialsError(
                f"web identity token file {token_file!r} is configured but no role is: "
                f"set AWS_ROLE_ARN (or role_arn in profile {profile_name!r})"
            )
        session_name = setting("role_session_name") or default_session_name()
        token = read_small_file(token_file, "web identity token file")
        if not token:
            raise CredentialsError(f"web identity token file {token_file!r} is empty")
        region = resolve_region(self._region, self._profile)
        regional = None
        if self._use_profile and profile_cfg is not None:
            regional = profile_cfg.get("sts_regional_endpoints")
        return await call_sts(
            "AssumeRoleWithWebIdentity",
            [("RoleArn", role_arn), ("RoleSessionName", session_name), ("WebIdentityToken", token)],
            region=region,
            endpoint_url=self._endpoint,
            regional_endpoints=regional,
            source=None,
        )
