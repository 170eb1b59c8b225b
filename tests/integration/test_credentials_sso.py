"""SSO profiles against a loopback SSO portal and SSO OIDC service.

The portal checks the bearer token (``x-amz-sso_bearer_token``), the role and the
account, and answers ``roleCredentials`` with the expiration in milliseconds, as
``GetRoleCredentials`` does; OIDC's ``CreateToken`` trades a refresh token for a new
access token. The token cache is the AWS CLI's, under the test's own ``HOME``.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import textwrap
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import tornado.web

from s3lite.credentials import (
    CredentialsError,
    NoCredentialsError,
    SharedFilesProvider,
    SSOProvider,
    default_chain,
)
from tests.loopback import LoopbackServer, start_app_server
from tests.motoserver import MotoServer

pytestmark = pytest.mark.usefixtures("clean_aws_env")

UTC = timezone.utc
START_URL = "https://corp.awsapps.com/start"
ACCOUNT = "123456789012"
ROLE = "ReadOnly"


def _iso(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Sso:
    """The loopback services' state: the tokens they accept and what they were asked."""

    valid_tokens: set[str] = field(default_factory=lambda: {"access-1"})
    refresh_tokens: dict[str, str] = field(default_factory=dict)  # refresh -> new access
    portal_calls: list[dict[str, str]] = field(default_factory=list)
    token_calls: list[dict[str, Any]] = field(default_factory=list)
    lifetime: float = 3600.0
    url: str = ""


class Portal(tornado.web.RequestHandler):
    def initialize(self, sso: Sso) -> None:
        self.sso = sso

    def get(self) -> None:
        token = self.request.headers.get("x-amz-sso_bearer_token", "")
        self.sso.portal_calls.append(
            {
                "token": token,
                "role_name": self.get_query_argument("role_name", ""),
                "account_id": self.get_query_argument("account_id", ""),
            }
        )
        self.set_header("content-type", "application/json")
        if token not in self.sso.valid_tokens:
            self.set_status(401)
            self.set_header("x-amzn-errortype", "UnauthorizedException:http://internal")
            self.write({"message": "Session token not found or invalid"})
            return
        if (
            self.get_query_argument("role_name", ""),
            self.get_query_argument("account_id", ""),
        ) != (
            ROLE,
            ACCOUNT,
        ):
            self.set_status(403)
            self.set_header("x-amzn-errortype", "ForbiddenException")
            self.write({"message": "No access"})
            return
        expiration = int((time.time() + self.sso.lifetime) * 1000)
        self.write(
            {
                "roleCredentials": {
                    "accessKeyId": f"ASIASSO{len(self.sso.portal_calls)}",
                    "secretAccessKey": "sso-secret",
                    "sessionToken": "sso-session-token",
                    "expiration": expiration,
                }
            }
        )


class CreateToken(tornado.web.RequestHandler):
    def initialize(self, sso: Sso) -> None:
        self.sso = sso

    def post(self) -> None:
        doc = json.loads(self.request.body)
        self.sso.token_calls.append(doc)
        self.set_header("content-type", "application/json")
        new = self.sso.refresh_tokens.pop(doc.get("refreshToken"), None)
        if (
            doc.get("grantType") != "refresh_token"
            or doc.get("clientId") != "client-id"
            or doc.get("clientSecret") != "client-secret"
            or new is None
        ):
            self.set_status(400)
            self.write({"error": "invalid_grant", "error_description": "Invalid refresh token"})
            return
        self.sso.valid_tokens.add(new)
        self.write(
            {
                "accessToken": new,
                "expiresIn": 28800,
                "refreshToken": f"refresh-after-{new}",
                "tokenType": "Bearer",
            }
        )


@pytest.fixture
async def sso(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Sso]:
    state = Sso()
    app = tornado.web.Application(
        [
            ("/federation/credentials", Portal, {"sso": state}),
            ("/token", CreateToken, {"sso": state}),
        ]
    )
    server: LoopbackServer = await start_app_server(app)
    state.url = server.url
    monkeypatch.setenv("AWS_ENDPOINT_URL_SSO", server.url)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SSO_OIDC", server.url)
    try:
        yield state
    finally:
        await server.stop()


def write_config(tmp_path: Path, text: str) -> None:
    (tmp_path / "config").write_text(textwrap.dedent(text))


SESSION_CONFIG = f"""
    [profile dev]
    sso_session = corp
    sso_account_id = {ACCOUNT}
    sso_role_name = {ROLE}
    region = eu-west-1

    [sso-session corp]
    sso_start_url = {START_URL}
    sso_region = eu-west-1
    sso_registration_scopes = sso:account:access
"""

LEGACY_CONFIG = f"""
    [profile legacy]
    sso_start_url = {START_URL}
    sso_region = us-east-1
    sso_account_id = {ACCOUNT}
    sso_role_name = {ROLE}
"""


def cache_file(tmp_path: Path, key: str) -> Path:
    return tmp_path / ".aws" / "sso" / "cache" / f"{hashlib.sha1(key.encode()).hexdigest()}.json"


def write_token(tmp_path: Path, key: str, **doc: Any) -> Path:
    path = cache_file(tmp_path, key)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc))
    return path


def session_token(expires_in: float, **extra: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "startUrl": START_URL,
        "region": "eu-west-1",
        "accessToken": "access-1",
        "expiresAt": _iso(now + timedelta(seconds=expires_in)),
        **extra,
    }


REFRESHABLE = {
    "clientId": "client-id",
    "clientSecret": "client-secret",
    "refreshToken": "refresh-1",
}


async def test_sso_session_profile_gets_role_credentials(tmp_path: Path, sso: Sso) -> None:
    write_config(tmp_path, SESSION_CONFIG)
    write_token(tmp_path, "corp", **session_token(3600))
    creds = await SharedFilesProvider("dev").load()
    assert creds is not None
    assert creds.access_key_id == "ASIASSO1"
    assert creds.secret_access_key == "sso-secret"
    assert creds.session_token == "sso-session-token"
    assert creds.expiration is not None
    assert 3500 < (creds.expiration - datetime.now(UTC)).total_seconds() <= 3600
    assert sso.portal_calls == [{"token": "access-1", "role_name": ROLE, "account_id": ACCOUNT}]
    assert sso.token_calls == []  # a token with hours left is not refreshed


async def test_legacy_profile_reads_the_cache_of_its_start_url(tmp_path: Path, sso: Sso) -> None:
    write_config(tmp_path, LEGACY_CONFIG)
    write_token(
        tmp_path,
        START_URL,
        accessToken="access-1",
        expiresAt=_iso(datetime.now(UTC) + timedelta(hours=1)),
    )
    creds = await SSOProvider("legacy").load()
    assert creds is not None and creds.access_key_id == "ASIASSO1"
    assert sso.portal_calls[0]["token"] == "access-1"


async def test_default_chain_uses_sso_before_static_keys_of_the_profile(
    tmp_path: Path, sso: Sso, monkeypatch: pytest.MonkeyPatch
) -> None:
    # botocore's order: the SSO settings of a profile win over its static keys.
    write_config(tmp_path, SESSION_CONFIG)
    (tmp_path / "credentials").write_text(
        "[dev]\naws_access_key_id = AKIASTATIC\naws_secret_access_key = s\n"
    )
    write_token(tmp_path, "corp", **session_token(3600))
    monkeypatch.setenv("AWS_PROFILE", "dev")
    creds = await default_chain().get_credentials()
    assert creds.access_key_id == "ASIASSO1"


async def test_no_cached_token_says_to_log_in(tmp_path: Path, sso: Sso) -> None:
    write_config(tmp_path, SESSION_CONFIG)
    with pytest.raises(CredentialsError) as info:
        await SharedFilesProvider("dev").load()
    msg = str(info.value)
    assert "aws sso login --profile dev" in msg
    assert "aws sso login --sso-session corp" in msg
    assert str(cache_file(tmp_path, "corp")) in msg
    assert sso.portal_calls == []


async def test_expired_legacy_token_says_to_log_in(tmp_path: Path, sso: Sso) -> None:
    write_config(tmp_path, LEGACY_CONFIG)
    write_token(tmp_path, START_URL, accessToken="access-1", expiresAt="2020-01-01T00:00:00UTC")
    with pytest.raises(
        CredentialsError, match=r"expired at 2020-01-01.*aws sso login --profile legacy"
    ):
        await SharedFilesProvider("legacy").load()
    assert sso.portal_calls == []


async def test_token_about_to_expire_is_refreshed_and_written_back(
    tmp_path: Path, sso: Sso
) -> None:
    write_config(tmp_path, SESSION_CONFIG)
    registration = _iso(datetime.now(UTC) + timedelta(days=80))
    path = write_token(
        tmp_path, "corp", **session_token(300, registrationExpiresAt=registration, **REFRESHABLE)
    )
    sso.refresh_tokens["refresh-1"] = "access-2"
    creds = await SharedFilesProvider("dev").load()
    assert creds is not None and creds.access_key_id == "ASIASSO1"
    assert sso.token_calls == [
        {
            "clientId": "client-id",
            "clientSecret": "client-secret",
            "grantType": "refresh_token",
            "refreshToken": "refresh-1",
        }
    ]
    assert sso.portal_calls[0]["token"] == "access-2"
    doc = json.loads(path.read_text())
    assert doc["accessToken"] == "access-2"
    assert doc["refreshToken"] == "refresh-after-access-2"
    assert doc["clientId"] == "client-id" and doc["registrationExpiresAt"] == registration
    assert doc["startUrl"] == START_URL and doc["region"] == "eu-west-1"
    left = datetime.fromisoformat(doc["expiresAt"].replace("Z", "+00:00")) - datetime.now(UTC)
    assert timedelta(hours=7, minutes=59) < left <= timedelta(hours=8)
    if os.name == "posix":
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left


async def test_failed_refresh_of_a_still_valid_token_uses_it(tmp_path: Path, sso: Sso) -> None:
    write_config(tmp_path, SESSION_CONFIG)
    registration = _iso(datetime.now(UTC) + timedelta(days=80))
    path = write_token(
        tmp_path, "corp", **session_token(300, registrationExpiresAt=registration, **REFRESHABLE)
    )
    before = path.read_text()
    creds = await SharedFilesProvider("dev").load()  # OIDC answers invalid_grant
    assert creds is not None
    assert len(sso.token_calls) == 1
    assert sso.portal_calls[0]["token"] == "access-1"
    assert path.read_text() == before


async def test_expired_token_that_cannot_be_refreshed_says_to_log_in(
    tmp_path: Path, sso: Sso
) -> None:
    write_config(tmp_path, SESSION_CONFIG)
    registration = _iso(datetime.now(UTC) + timedelta(days=80))
    write_token(
        tmp_path, "corp", **session_token(-60, registrationExpiresAt=registration, **REFRESHABLE)
    )
    with pytest.raises(CredentialsError, match="aws sso login --profile dev"):
        await SharedFilesProvider("dev").load()
    assert len(sso.token_calls) == 1  # it tried
    assert sso.portal_calls == []


async def test_token_the_portal_refuses_says_to_log_in(tmp_path: Path, sso: Sso) -> None:
    write_config(tmp_path, SESSION_CONFIG)
    write_token(tmp_path, "corp", **session_token(3600))
    sso.valid_tokens.clear()  # revoked
    with pytest.raises(CredentialsError) as info:
        await SharedFilesProvider("dev").load()
    assert info.value.status == 401
    assert "UnauthorizedException" in str(info.value)
    assert "aws sso login --profile dev" in str(info.value)
    assert "access-1" not in str(info.value)


async def test_role_the_user_may_not_use_is_a_clear_error(tmp_path: Path, sso: Sso) -> None:
    write_config(
        tmp_path, SESSION_CONFIG.replace(f"sso_role_name = {ROLE}", "sso_role_name = Admin")
    )
    write_token(tmp_path, "corp", **session_token(3600))
    with pytest.raises(
        CredentialsError,
        match=r"role 'Admin' in account 123456789012.*403.*ForbiddenException: No access",
    ):
        await SharedFilesProvider("dev").load()


@pytest.mark.moto_only("moto's STS issues the temporary credentials")
async def test_sso_profile_as_source_of_an_assumed_role(
    tmp_path: Path, sso: Sso, moto: MotoServer
) -> None:
    write_config(
        tmp_path,
        SESSION_CONFIG
        + f"""
    [profile admin]
    role_arn = arn:aws:iam::{ACCOUNT}:role/admin
    source_profile = dev
    """,
    )
    write_token(tmp_path, "corp", **session_token(3600))
    creds = await SharedFilesProvider("admin", sts_endpoint_url=moto.endpoint_url).load()
    assert creds is not None
    assert creds.access_key_id.startswith("ASIA") and creds.access_key_id != "ASIASSO1"
    assert len(sso.portal_calls) == 1


async def test_a_profile_without_sso_settings_is_not_sso(tmp_path: Path) -> None:
    write_config(tmp_path, "[profile plain]\nregion = eu-west-1\n")
    provider = SSOProvider("plain")
    assert await provider.load() is None
    with pytest.raises(NoCredentialsError, match="has no sso_account_id"):
        await provider.get_credentials()
