"""SSO (IAM Identity Center) profiles, as the AWS CLI leaves them after ``aws sso login``.

A profile with ``sso_account_id`` / ``sso_role_name`` names its SSO either through
``sso_session = NAME`` and an ``[sso-session NAME]`` section (``sso_start_url``,
``sso_region``) or, in the legacy form, with ``sso_start_url`` and ``sso_region`` in
the profile itself. The CLI caches the access token in
``~/.aws/sso/cache/<sha1>.json`` (the SHA-1 of the session name, or of the start URL
for the legacy form); the SSO portal trades it for role credentials
(``GetRoleCredentials``). A token of an sso-session with less than 15 minutes left
is refreshed through SSO OIDC ``CreateToken`` and written back, as the CLI does.

Requests are built and responses parsed by pure functions; :func:`sso_credentials`
is the thin I/O shell (cache file, portal, OIDC).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from ..config import SharedConfig, load_shared_config, resolve_profile
from ..errors import TransportError
from ..messages import Request
from .base import BaseProvider
from .fetch import fetch, request_for, safe_url, with_attempts
from .json_credentials import json_object, parse_expiration
from .model import MAX_BODY, Credentials, CredentialsError
from .settings import check_header_value, check_region, configured_endpoint

__all__ = [
    "SSO_CACHE_DIR",
    "SSOConfig",
    "SSOProvider",
    "build_create_token_request",
    "build_role_credentials_request",
    "parse_cached_token",
    "parse_create_token",
    "parse_role_credentials",
    "sso_config",
    "sso_credentials",
    "sso_endpoint",
    "token_cache_path",
]

logger = logging.getLogger("s3lite.credentials")

SSO_CACHE_DIR = "~/.aws/sso/cache"
# A token with less than this left is refreshed first (botocore's window).
_TOKEN_REFRESH_WINDOW = 15 * 60
_REFRESH_KEYS = ("refreshToken", "clientId", "clientSecret", "registrationExpiresAt")
_PROFILE_KEYS = ("sso_account_id", "sso_role_name")
_SSO_KEYS = ("sso_start_url", "sso_region")


@dataclass(frozen=True)
class SSOConfig:
    """What an SSO profile resolves to. ``session`` is the sso-session's name (None
    for the legacy form, whose token cannot be refreshed)."""

    profile: str
    start_url: str
    region: str
    account_id: str
    role_name: str
    session: str | None = None

    def login_hint(self) -> str:
        """What the user runs to get a fresh token."""
        hint = f"run `aws sso login --profile {self.profile}`"
        if self.session is not None:
            hint += f" (or `aws sso login --sso-session {self.session}`)"
        return hint


# ----------------------------------------------------------------- pure functions


def sso_config(cfg: SharedConfig, name: str) -> SSOConfig | None:
    """The SSO settings of profile ``name``; None if it is not an SSO profile (no
    ``sso_account_id`` or ``sso_role_name``). Incomplete or contradictory settings
    raise :class:`CredentialsError`."""
    values = dict(cfg.profile(name))
    if not any(k in values for k in _PROFILE_KEYS):
        return None
    session = values.get("sso_session")
    if session is not None:
        section = cfg.sso_sessions.get(session)
        if section is None:
            raise CredentialsError(
                f"profile {name!r} names sso_session {session!r}, but {cfg.config_path} "
                f"has no [sso-session {session}] section"
            )
        for key, value in section.items():
            if key in values and values[key] != value:
                raise CredentialsError(
                    f"profile {name!r} sets {key} = {values[key]!r}, but its sso-session "
                    f"{session!r} says {value!r}"
                )
            values[key] = value
    missing = [k for k in (*_PROFILE_KEYS, *_SSO_KEYS) if not values.get(k)]
    if missing:
        where = f" (sso-session {session!r})" if session is not None else ""
        raise CredentialsError(
            f"profile {name!r}{where} is configured for SSO but has no {', '.join(missing)}"
        )
    return SSOConfig(
        profile=name,
        start_url=values["sso_start_url"],
        region=check_region(values["sso_region"]),
        account_id=values["sso_account_id"],
        role_name=values["sso_role_name"],
        session=session,
    )


def token_cache_path(config: SSOConfig, cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """The AWS CLI's cache file of ``config``'s token: the SHA-1 of the session name
    (or, legacy form, of the start URL), under ``~/.aws/sso/cache``."""
    key = config.session if config.session is not None else config.start_url
    digest = hashlib.sha1(key.encode("utf-8")).hexdigest()
    return Path(os.path.expanduser(cache_dir or SSO_CACHE_DIR)) / f"{digest}.json"


def _timestamp(value: object, what: str) -> datetime:
    if not isinstance(value, str):
        raise CredentialsError(f"{what} is missing or not a string")
    text = value.strip()
    if text.endswith("UTC"):  # as older CLIs wrote it
        text = text[:-3] + "Z"
    try:
        return parse_expiration(text)
    except ValueError as e:
        raise CredentialsError(f"{what}: {e}") from None


def parse_cached_token(data: bytes | str, where: str) -> dict[str, Any]:
    """A token cache document: a JSON object with ``accessToken`` and ``expiresAt``
    at least. Messages never repeat it (it holds the token)."""
    doc = json_object(data, f"SSO token cache {where}", verb="hold", past="holds")
    token = doc.get("accessToken")
    if not isinstance(token, str) or not token:
        raise CredentialsError(f"SSO token cache {where} has no accessToken")
    _timestamp(doc.get("expiresAt"), f"SSO token cache {where}: expiresAt")
    return doc


def token_expiry(doc: Mapping[str, Any]) -> datetime:
    """When the cached token expires."""
    return _timestamp(doc.get("expiresAt"), "SSO token expiresAt")


def can_refresh(doc: Mapping[str, Any], now: datetime) -> bool:
    """Whether the token carries a refresh token and a client registration still valid."""
    if not all(isinstance(doc.get(k), str) and doc[k] for k in _REFRESH_KEYS):
        return False
    try:
        return _timestamp(doc["registrationExpiresAt"], "registrationExpiresAt") > now
    except CredentialsError:
        return False


def sso_endpoint(service: str, region: str, environ: Mapping[str, str] | None = None) -> str:
    """The base URL of the SSO portal (``service="portal"``: ``AWS_ENDPOINT_URL_SSO``)
    or of SSO OIDC (``"oidc"``: ``AWS_ENDPOINT_URL_SSO_OIDC``); ``AWS_ENDPOINT_URL``
    for both, else AWS's regional endpoint."""
    env = os.environ if environ is None else environ
    check_region(region)
    suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    if service == "portal":
        url = configured_endpoint("SSO", env) or f"https://portal.sso.{region}.{suffix}"
    elif service == "oidc":
        url = configured_endpoint("SSO_OIDC", env) or f"https://oidc.{region}.{suffix}"
    else:
        raise ValueError(f"unknown SSO service {service!r}")
    return url.rstrip("/")


def build_role_credentials_request(
    endpoint: str, access_token: str, account_id: str, role_name: str
) -> Request:
    """``GetRoleCredentials``: ``GET /federation/credentials`` with the bearer token."""
    token = check_header_value(access_token, "the SSO access token")
    try:
        return request_for(
            "GET",
            endpoint + "/federation/credentials",
            headers={"x-amz-sso_bearer_token": token, "accept": "application/json"},
            query=[("role_name", role_name), ("account_id", account_id)],
        )
    except ValueError as e:
        raise CredentialsError(f"invalid SSO portal endpoint: {e}") from None


def _error_detail(status: int, body: bytes, headers: Mapping[str, str]) -> str:
    kind = headers.get("x-amzn-errortype", "").split(":", 1)[0]
    message = ""
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        doc = None
    if isinstance(doc, dict):
        kind = kind or str(doc.get("__type") or doc.get("error") or "")
        raw = doc.get("message") or doc.get("Message") or doc.get("error_description")
        message = str(raw)[:300] if raw else ""
    detail = ": ".join(p for p in (kind.rsplit("#", 1)[-1], message) if p)
    return f"HTTP {status}" + (f" ({detail})" if detail else "")


def parse_role_credentials(
    status: int, body: bytes, headers: Mapping[str, str], config: SSOConfig
) -> Credentials:
    """Credentials from a ``GetRoleCredentials`` answer (``roleCredentials``, with
    ``expiration`` in milliseconds since the epoch), or :class:`CredentialsError`."""
    what = f"SSO portal (role {config.role_name!r} in account {config.account_id})"
    if status == 401:
        raise CredentialsError(
            f"{what} refused the SSO token of profile {config.profile!r} "
            f"({_error_detail(status, body, headers)}): it has expired or was revoked; "
            f"{config.login_hint()}",
            status=status,
        )
    if status != 200:
        raise CredentialsError(
            f"{what} answered {_error_detail(status, body, headers)}", status=status
        )
    role = json_object(body, what).get("roleCredentials")
    if not isinstance(role, dict):
        raise CredentialsError(f"{what} returned no roleCredentials")
    for name in ("accessKeyId", "secretAccessKey", "sessionToken"):
        if not isinstance(role.get(name), str) or not role[name]:
            raise CredentialsError(f"{what} returned no {name}")
    millis = role.get("expiration")
    if not isinstance(millis, int) or isinstance(millis, bool):
        raise CredentialsError(f"{what} returned no expiration")
    try:
        expiration = datetime.fromtimestamp(millis / 1000, timezone.utc)
    except (OverflowError, OSError, ValueError):
        raise CredentialsError(f"{what} returned a bad expiration") from None
    return Credentials(
        role["accessKeyId"], role["secretAccessKey"], role["sessionToken"], expiration
    )


def build_create_token_request(endpoint: str, token: Mapping[str, Any]) -> Request:
    """SSO OIDC ``CreateToken`` with the cached refresh token (``POST /token``, JSON)."""
    body = json.dumps(
        {
            "clientId": token["clientId"],
            "clientSecret": token["clientSecret"],
            "grantType": "refresh_token",
            "refreshToken": token["refreshToken"],
        }
    ).encode()
    try:
        return request_for(
            "POST",
            endpoint + "/token",
            headers={"content-type": "application/json", "accept": "application/json"},
            body=body,
        )
    except ValueError as e:
        raise CredentialsError(f"invalid SSO OIDC endpoint: {e}") from None


def parse_create_token(
    status: int,
    body: bytes,
    headers: Mapping[str, str],
    old: Mapping[str, Any],
    config: SSOConfig,
    now: datetime,
) -> dict[str, Any]:
    """The new token cache document after ``CreateToken``, as the CLI writes it."""
    what = f"SSO OIDC CreateToken for sso-session {config.session!r}"
    if status != 200:
        raise CredentialsError(f"{what} answered {_error_detail(status, body, headers)}")
    doc = json_object(body, what)
    access = doc.get("accessToken")
    expires_in = doc.get("expiresIn")
    if not isinstance(access, str) or not access:
        raise CredentialsError(f"{what} returned no accessToken")
    if not isinstance(expires_in, int) or isinstance(expires_in, bool) or expires_in <= 0:
        raise CredentialsError(f"{what} returned no expiresIn")
    new: dict[str, Any] = {
        "startUrl": config.start_url,
        "region": config.region,
        "accessToken": access,
        "expiresAt": (now + timedelta(seconds=expires_in)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "clientId": old["clientId"],
        "clientSecret": old["clientSecret"],
        "registrationExpiresAt": old["registrationExpiresAt"],
    }
    if isinstance(doc.get("refreshToken"), str) and doc["refreshToken"]:
        new["refreshToken"] = doc["refreshToken"]
    return new


# ---------------------------------------------------------------------- I/O shell


def _read_token(path: Path, config: SSOConfig) -> dict[str, Any]:
    what = (
        f"sso-session {config.session!r}"
        if config.session is not None
        else f"start URL {config.start_url!r}"
    )
    try:
        with path.open("rb") as f:
            data = f.read(MAX_BODY + 1)
    except FileNotFoundError:
        raise CredentialsError(
            f"profile {config.profile!r} uses SSO, but there is no SSO token for {what} "
            f"(no {path}); {config.login_hint()}"
        ) from None
    except OSError as e:
        raise CredentialsError(f"cannot read SSO token cache {path}: {e.strerror or e}") from None
    if len(data) > MAX_BODY:
        raise CredentialsError(f"SSO token cache {path} is larger than {MAX_BODY} bytes")
    return parse_cached_token(data, str(path))


def _write_token(path: Path, doc: Mapping[str, Any]) -> None:
    """Replace the cache file atomically, readable by its owner only (as the CLI does)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".s3lite-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(doc, f)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


async def _refresh_token(
    config: SSOConfig, doc: Mapping[str, Any], now: datetime, timeout: float, attempts: int
) -> dict[str, Any]:
    endpoint = sso_endpoint("oidc", config.region)
    req = build_create_token_request(endpoint, doc)
    try:
        resp = await with_attempts(attempts, lambda: fetch("POST", req, timeout=timeout))
    except TransportError as e:
        raise CredentialsError(f"SSO OIDC {safe_url(endpoint)}: {e.message}") from None
    return parse_create_token(resp.status, resp.body, resp.headers, doc, config, now)


async def sso_credentials(
    config: SSOConfig,
    *,
    cache_dir: str | os.PathLike[str] | None = None,
    timeout: float = 10.0,
    attempts: int = 3,
) -> Credentials:
    """Role credentials for ``config`` from the SSO portal, with the CLI's cached token
    (refreshed first when it is about to expire and it can be)."""
    path = token_cache_path(config, cache_dir)
    doc = _read_token(path, config)
    now = datetime.now(timezone.utc)
    expires = token_expiry(doc)
    left = (expires - now).total_seconds()
    if left < _TOKEN_REFRESH_WINDOW and config.session is not None and can_refresh(doc, now):
        try:
            doc = await _refresh_token(config, doc, now, timeout, attempts)
        except CredentialsError as e:
            logger.warning("Refreshing the SSO token of profile %r failed: %s", config.profile, e)
        else:
            expires = token_expiry(doc)
            logger.debug("Refreshed the SSO token of sso-session %r", config.session)
            try:
                _write_token(path, doc)
            except OSError as e:
                logger.warning("Could not write the refreshed SSO token to %s: %s", path, e)
    if expires <= now:
        raise CredentialsError(
            f"the SSO token of profile {config.profile!r} expired at "
            f"{expires.isoformat()}; {config.login_hint()}"
        )
    endpoint = sso_endpoint("portal", config.region)
    req = build_role_credentials_request(
        endpoint, doc["accessToken"], config.account_id, config.role_name
    )
    logger.debug("SSO GetRoleCredentials at %s", safe_url(endpoint))
    try:
        resp = await with_attempts(attempts, lambda: fetch("GET", req, timeout=timeout))
    except TransportError as e:
        raise CredentialsError(f"SSO portal {safe_url(endpoint)}: {e.message}") from None
    return parse_role_credentials(resp.status, resp.body, resp.headers, config)


class SSOProvider(BaseProvider):
    """The SSO credentials of one profile (see the module's documentation). The
    default chain reaches them through :class:`~.profile.SharedFilesProvider`; this
    class is for asking for SSO alone."""

    label = "SSO"

    def __init__(
        self,
        profile: str | None = None,
        *,
        cache_dir: str | os.PathLike[str] | None = None,
        timeout: float = 10.0,
    ) -> None:
        super().__init__()
        self._profile = profile
        self._cache_dir = cache_dir
        self._timeout = timeout

    def __repr__(self) -> str:
        return f"SSOProvider(profile={self._profile!r})"

    __str__ = __repr__

    async def load(self) -> Credentials | None:
        name, _ = resolve_profile(self._profile)
        config = sso_config(load_shared_config(), name)
        if config is None:
            self._not_found(f"profile {name!r} has no sso_account_id or sso_role_name")
            return None
        return await sso_credentials(config, cache_dir=self._cache_dir, timeout=self._timeout)
