"""SSO profiles, sans-I/O: settings, the token cache's name and format, the portal's
and OIDC's requests and answers."""

from __future__ import annotations

import json
import textwrap
from datetime import datetime, timezone
from pathlib import Path

import pytest

from s3lite.config import SharedConfig, parse_shared_file, parse_sso_sessions
from s3lite.credentials import CredentialsError
from s3lite.credentials.sso import (
    SSOConfig,
    build_create_token_request,
    build_role_credentials_request,
    parse_cached_token,
    parse_create_token,
    parse_role_credentials,
    sso_config,
    sso_endpoint,
    token_cache_path,
)

UTC = timezone.utc
CONFIG = SSOConfig("dev", "https://corp.awsapps.com/start", "eu-west-1", "1234", "Ro", "corp")


def shared(text: str) -> SharedConfig:
    text = textwrap.dedent(text)
    return SharedConfig(
        config_path=Path("/cfg"),
        credentials_path=Path("/creds"),
        config_profiles=parse_shared_file(text, is_config_file=True),
        sso_sessions=parse_sso_sessions(text),
    )


def test_sso_session_sections_are_parsed_apart_from_profiles() -> None:
    text = "[sso-session corp]\nsso_region = us-east-1\n[profile sso-session]\nregion = x\n"
    assert parse_sso_sessions(text) == {"corp": {"sso_region": "us-east-1"}}
    assert set(parse_shared_file(text, is_config_file=True)) == {"sso-session"}


def test_session_form_takes_start_url_and_region_from_the_session() -> None:
    cfg = shared(
        """
        [profile dev]
        sso_session = corp
        sso_account_id = 1234
        sso_role_name = Ro
        [sso-session corp]
        sso_start_url = https://corp.awsapps.com/start
        sso_region = eu-west-1
        """
    )
    assert sso_config(cfg, "dev") == CONFIG


def test_legacy_form() -> None:
    cfg = shared(
        """
        [profile old]
        sso_start_url = https://x/start
        sso_region = us-east-1
        sso_account_id = 1
        sso_role_name = R
        """
    )
    assert sso_config(cfg, "old") == SSOConfig("old", "https://x/start", "us-east-1", "1", "R")


def test_not_an_sso_profile() -> None:
    cfg = shared("[profile p]\nsso_session = corp\n[sso-session corp]\nsso_region = x\n")
    assert sso_config(cfg, "p") is None  # a session alone gives tokens, not role credentials


@pytest.mark.parametrize(
    ("text", "error"),
    [
        (
            "[profile p]\nsso_session = nope\nsso_account_id = 1\nsso_role_name = R\n",
            r"sso_session 'nope', but /cfg has no \[sso-session nope\] section",
        ),
        (
            "[profile p]\nsso_account_id = 1\nsso_role_name = R\nsso_region = us-east-1\n",
            "configured for SSO but has no sso_start_url",
        ),
        (
            "[profile p]\nsso_session = c\nsso_account_id = 1\n"
            "[sso-session c]\nsso_start_url = u\nsso_region = eu-west-1\n",
            r"\(sso-session 'c'\) is configured for SSO but has no sso_role_name",
        ),
        (
            "[profile p]\nsso_session = c\nsso_account_id = 1\nsso_role_name = R\n"
            "sso_region = us-east-1\n[sso-session c]\nsso_start_url = u\nsso_region = eu-west-1\n",
            "sets sso_region = 'us-east-1', but its sso-session 'c' says 'eu-west-1'",
        ),
        (
            "[profile p]\nsso_start_url = u\nsso_region = eu-west-1.evil.com/\n"
            "sso_account_id = 1\nsso_role_name = R\n",
            "invalid AWS region",
        ),
    ],
)
def test_bad_sso_settings_are_clear_errors(text: str, error: str) -> None:
    with pytest.raises(CredentialsError, match=error):
        sso_config(shared(text), "p")


@pytest.mark.parametrize(
    ("start_url", "name"),
    [  # the SDKs' own test cases for the legacy form
        ("https://d-abc123.awsapps.com/start", "40a89917e3175433e361b710a9d43528d7f1890a.json"),
        ("https://d-abc123.awsapps.com", "ab6e8a5ac0e97bd6867ae3eacd5fd7dc0cd4de86.json"),
        ("https://vanity.example.com", "7ed69759fe20aa3027c01db4b744e1437b0c8f4f.json"),
    ],
)
def test_cache_file_names_are_the_clis(start_url: str, name: str) -> None:
    legacy = SSOConfig("old", start_url, "us-east-1", "1", "R")
    assert token_cache_path(legacy, "/c") == Path("/c", name)
    # The sso-session form names the file after the session, whatever its start URL.
    session = SSOConfig("p", start_url, "us-east-1", "1", "R", session="admin")
    assert token_cache_path(session, "/c").name == "d033e22ae348aeb5660fc2140aec35850c4da997.json"


def test_cache_dir_defaults_to_the_clis(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert token_cache_path(CONFIG).parent == tmp_path / ".aws" / "sso" / "cache"


def test_cached_token_format() -> None:
    doc = parse_cached_token(b'{"accessToken": "t", "expiresAt": "2030-01-01T00:00:00UTC"}', "f")
    assert doc["accessToken"] == "t"
    for bad, error in [
        (b"not json", "did not hold valid JSON"),
        (b"[]", "holds JSON that is not an object"),
        (b'{"expiresAt": "2030-01-01T00:00:00Z"}', "no accessToken"),
        (b'{"accessToken": "secret-token", "expiresAt": 5}', "expiresAt is missing"),
        (b'{"accessToken": "secret-token", "expiresAt": "soon"}', "not an ISO 8601"),
    ]:
        with pytest.raises(CredentialsError, match=error) as info:
            parse_cached_token(bad, "f")
        assert "secret-token" not in str(info.value)


def test_endpoints_and_their_overrides() -> None:
    assert sso_endpoint("portal", "eu-west-1", {}) == "https://portal.sso.eu-west-1.amazonaws.com"
    assert sso_endpoint("oidc", "eu-west-1", {}) == "https://oidc.eu-west-1.amazonaws.com"
    env = {"AWS_ENDPOINT_URL": "http://127.0.0.1:1/", "AWS_ENDPOINT_URL_SSO_OIDC": "http://o:2"}
    assert sso_endpoint("portal", "eu-west-1", env) == "http://127.0.0.1:1"
    assert sso_endpoint("oidc", "eu-west-1", env) == "http://o:2"
    env["AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"] = "true"
    assert (
        sso_endpoint("portal", "cn-north-1", env)
        == "https://portal.sso.cn-north-1.amazonaws.com.cn"
    )


def test_role_credentials_request() -> None:
    req = build_role_credentials_request("http://127.0.0.1:9", "tok", "1234", "Ro le")
    assert (req.method, req.host, req.path) == ("GET", "127.0.0.1:9", "/federation/credentials")
    assert req.target == "/federation/credentials?role_name=Ro%20le&account_id=1234"
    assert req.headers["x-amz-sso_bearer_token"] == "tok"
    with pytest.raises(CredentialsError, match="line break"):
        build_role_credentials_request("http://h", "tok\r\nx: y", "1", "R")


def test_role_credentials_answer() -> None:
    body = json.dumps(
        {
            "roleCredentials": {
                "accessKeyId": "ASIA",
                "secretAccessKey": "s",
                "sessionToken": "t",
                "expiration": 1_900_000_000_123,
            }
        }
    ).encode()
    creds = parse_role_credentials(200, body, {}, CONFIG)
    assert creds.access_key_id == "ASIA" and creds.session_token == "t"
    assert creds.expiration == datetime.fromtimestamp(1_900_000_000.123, UTC)
    for bad, error in [
        (b"{}", "no roleCredentials"),
        (b'{"roleCredentials": {"accessKeyId": "A"}}', "no secretAccessKey"),
        (body.replace(b"1900000000123", b'"soon"'), "no expiration"),
    ]:
        with pytest.raises(CredentialsError, match=error):
            parse_role_credentials(200, bad, {}, CONFIG)
    with pytest.raises(CredentialsError, match=r"HTTP 500 \(InternalServerException: boom\)"):
        parse_role_credentials(
            500, b'{"message": "boom"}', {"x-amzn-errortype": "InternalServerException:x"}, CONFIG
        )


def test_create_token_round_trip() -> None:
    old = {
        "accessToken": "a1",
        "expiresAt": "2026-01-01T00:00:00Z",
        "clientId": "cid",
        "clientSecret": "cs",
        "registrationExpiresAt": "2026-03-01T00:00:00Z",
        "refreshToken": "r1",
    }
    req = build_create_token_request("https://oidc.eu-west-1.amazonaws.com", old)
    assert (req.method, req.path, req.headers["content-type"]) == (
        "POST",
        "/token",
        "application/json",
    )
    assert json.loads(req.body) == {
        "clientId": "cid",
        "clientSecret": "cs",
        "grantType": "refresh_token",
        "refreshToken": "r1",
    }
    now = datetime(2026, 1, 1, tzinfo=UTC)
    answer = b'{"accessToken": "a2", "expiresIn": 3600, "refreshToken": "r2"}'
    assert parse_create_token(200, answer, {}, old, CONFIG, now) == {
        "startUrl": CONFIG.start_url,
        "region": "eu-west-1",
        "accessToken": "a2",
        "expiresAt": "2026-01-01T01:00:00Z",
        "clientId": "cid",
        "clientSecret": "cs",
        "registrationExpiresAt": "2026-03-01T00:00:00Z",
        "refreshToken": "r2",
    }
    with pytest.raises(CredentialsError, match=r"HTTP 400 \(invalid_grant: expired\)"):
        parse_create_token(
            400, b'{"error": "invalid_grant", "error_description": "expired"}', {}, old, CONFIG, now
        )
    with pytest.raises(CredentialsError, match="no expiresIn"):
        parse_create_token(200, b'{"accessToken": "a2"}', {}, old, CONFIG, now)
