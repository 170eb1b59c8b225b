"""Credential providers against real protocols on loopback.

STS: moto's server (``AssumeRole``, ``AssumeRoleWithWebIdentity``), and a small
recording STS where a test must see exactly what was sent. Instance metadata and
the container endpoint: small tornado servers that speak their protocols (IMDSv2
token PUT with TTL, 401 without a valid token, the credentials JSON with
``Expiration``; the container endpoint's ``Authorization`` check).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
import textwrap
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
import tornado.web
from tornado.httpserver import HTTPServer
from tornado.iostream import StreamClosedError
from tornado.netutil import bind_sockets

from s3lite.credentials import (
    ContainerProvider,
    Credentials,
    CredentialsError,
    EnvProvider,
    InstanceMetadataProvider,
    NoCredentialsError,
    ProcessProvider,
    RefreshingProvider,
    SharedFilesProvider,
    StaticProvider,
    WebIdentityProvider,
    default_chain,
)
from tests.loopback import Peer, start_raw_server, unused_port
from tests.motoserver import MotoServer

UTC = timezone.utc
ROLE_ARN = "arn:aws:iam::123456789012:role/s3lite-test"


pytestmark = pytest.mark.usefixtures("clean_aws_env")


def _iso(t: float, *, millis: bool = False) -> str:
    dt = datetime.fromtimestamp(t, UTC)
    if millis:
        return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


# ------------------------------------------------------------------ loopback servers


class Metadata:
    """State of the loopback IMDS + container credentials server."""

    def __init__(self) -> None:
        self.port = 0
        self.hits: Counter[str] = Counter()
        self.tokens: dict[str, float] = {}  # IMDSv2 token -> expiry (monotonic)
        self.role = "s3lite-role"
        self.imdsv2 = True  # answers the token PUT
        self.imdsv1 = False  # accepts GETs without a token
        self.attach_role = True
        self.fail = False  # credentials documents answer 500
        self.lifetime = 3600.0
        self.delay = 0.0
        self.hang = False  # never answer the token PUT
        self.container_token: str | None = None  # expected Authorization
        self.seen_ttl: list[str | None] = []
        self.seen_imds_tokens: list[str | None] = []
        self.seen_authorization: list[str | None] = []
        self.secrets: list[str] = []  # every secret handed out

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def issue(self, prefix: str, *, millis: bool = False) -> dict[str, str]:
        n = self.hits["issued"] = self.hits["issued"] + 1
        secret = f"{prefix}-secret-{n}-{uuid.uuid4().hex}"
        token = f"{prefix}-token-{n}-{uuid.uuid4().hex}"
        self.secrets += [secret, token]
        return {
            "AccessKeyId": f"ASIA{prefix.upper()}{n:06d}",
            "SecretAccessKey": secret,
            "Token": token,
            "Expiration": _iso(time.time() + self.lifetime, millis=millis),
        }


class _Handler(tornado.web.RequestHandler):
    def initialize(self, state: Metadata) -> None:
        self.state = state


class TokenHandler(_Handler):
    async def put(self) -> None:
        s = self.state
        s.hits["token"] += 1
        ttl = self.request.headers.get("X-aws-ec2-metadata-token-ttl-seconds")
        s.seen_ttl.append(ttl)
        if s.hang:
            await asyncio.sleep(30)
        if not s.imdsv2:
            raise tornado.web.HTTPError(404)
        if "X-Forwarded-For" in self.request.headers:
            raise tornado.web.HTTPError(403)
        if ttl is None or not ttl.isdigit() or not 1 <= int(ttl) <= 21600:
            raise tornado.web.HTTPError(400)
        token = uuid.uuid4().hex
        s.tokens[token] = time.monotonic() + int(ttl)
        s.secrets.append(token)
        self.set_header("X-aws-ec2-metadata-token-ttl-seconds", ttl)
        self.write(token)


class ImdsHandler(_Handler):
    def _authorize(self) -> None:
        token = self.request.headers.get("X-aws-ec2-metadata-token")
        self.state.seen_imds_tokens.append(token)
        if token is None:
            if not self.state.imdsv1:
                raise tornado.web.HTTPError(401)
        elif self.state.tokens.get(token, 0) < time.monotonic():
            raise tornado.web.HTTPError(401)

    async def get(self, role: str) -> None:
        s = self.state
        self._authorize()
        if not role:
            s.hits["role"] += 1
            if not s.attach_role:
                raise tornado.web.HTTPError(404)
            self.write(s.role)
            return
        s.hits["imds"] += 1
        if role != s.role:
            raise tornado.web.HTTPError(404)
        if s.delay:
            await asyncio.sleep(s.delay)
        if s.fail:
            raise tornado.web.HTTPError(500)
        doc = {
            "Code": "Success",
            "LastUpdated": _iso(time.time()),
            "Type": "AWS-HMAC",
            **s.issue("imds"),
        }
        self.set_header("Content-Type", "text/plain")
        self.write(json.dumps(doc))


class ContainerHandler(_Handler):
    async def get(self) -> None:
        s = self.state
        s.hits["container"] += 1
        auth = self.request.headers.get("Authorization")
        s.seen_authorization.append(auth)
        if s.container_token is not None and auth != s.container_token:
            raise tornado.web.HTTPError(401)
        if s.delay:
            await asyncio.sleep(s.delay)
        if s.fail:
            raise tornado.web.HTTPError(500)
        doc = {"RoleArn": ROLE_ARN, **s.issue("ecs", millis=True)}
        self.set_header("Content-Type", "application/json")
        self.write(json.dumps(doc))


class Sts:
    """A recording STS: answers AssumeRole* with fresh credentials, keeps every request."""

    def __init__(self) -> None:
        self.port = 0
        self.requests: list[tuple[dict[str, str], dict[str, str]]] = []  # headers, form
        self.secrets: list[str] = []
        self.error: tuple[int, str] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


class StsHandler(tornado.web.RequestHandler):
    def initialize(self, state: Sts) -> None:
        self.state = state

    def post(self) -> None:
        s = self.state
        form = dict(parse_qsl(self.request.body.decode()))
        s.requests.append(({k.lower(): v for k, v in self.request.headers.get_all()}, form))
        action = form.get("Action", "")
        self.set_header("Content-Type", "text/xml")
        if s.error is not None:
            self.set_status(s.error[0])
            self.write(
                "<ErrorResponse><Error><Type>Sender</Type>"
                f"<Code>{s.error[1]}</Code><Message>refused by test</Message></Error>"
                "<RequestId>test-request</RequestId></ErrorResponse>"
            )
            return
        n = len(s.requests)
        secret, token = f"sts-secret-{n}-{uuid.uuid4().hex}", f"sts-token-{n}-{uuid.uuid4().hex}"
        s.secrets += [secret, token]
        self.write(
            f'<{action}Response xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
            f"<{action}Result><Credentials>"
            f"<AccessKeyId>ASIASTS{n:06d}</AccessKeyId>"
            f"<SecretAccessKey>{secret}</SecretAccessKey>"
            f"<SessionToken>{token}</SessionToken>"
            f"<Expiration>{_iso(time.time() + 3600, millis=True)}</Expiration>"
            f"</Credentials></{action}Result>"
            f"<ResponseMetadata><RequestId>r-{n}</RequestId></ResponseMetadata>"
            f"</{action}Response>"
        )


async def _serve(app: tornado.web.Application) -> tuple[HTTPServer, int]:
    sockets = bind_sockets(0, "127.0.0.1")
    server = HTTPServer(app)
    server.add_sockets(sockets)
    return server, int(sockets[0].getsockname()[1])


@pytest.fixture
async def meta() -> AsyncIterator[Metadata]:
    state = Metadata()
    app = tornado.web.Application(
        [
            (r"/latest/api/token", TokenHandler, {"state": state}),
            (r"/latest/meta-data/iam/security-credentials/(.*)", ImdsHandler, {"state": state}),
            (r"/v1/credentials", ContainerHandler, {"state": state}),
        ]
    )
    server, state.port = await _serve(app)
    yield state
    server.stop()
    await server.close_all_connections()


@pytest.fixture
async def sts() -> AsyncIterator[Sts]:
    state = Sts()
    server, state.port = await _serve(
        tornado.web.Application([(r"/", StsHandler, {"state": state})])
    )
    yield state
    server.stop()
    await server.close_all_connections()


def use_imds(monkeypatch: pytest.MonkeyPatch, meta: Metadata) -> None:
    monkeypatch.delenv("AWS_EC2_METADATA_DISABLED")
    monkeypatch.setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", meta.url)


def use_container(monkeypatch: pytest.MonkeyPatch, meta: Metadata, token: str | None) -> None:
    monkeypatch.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", f"{meta.url}/v1/credentials")
    meta.container_token = token
    if token is not None:
        monkeypatch.setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", token)


def write(path: Path, text: str) -> None:
    path.write_text(textwrap.dedent(text))


# ------------------------------------------------------------------ IMDS


async def test_imdsv2_token_then_role_then_credentials(
    monkeypatch: pytest.MonkeyPatch, meta: Metadata
) -> None:
    use_imds(monkeypatch, meta)
    p = InstanceMetadataProvider()
    creds = await p.get_credentials()
    assert creds.access_key_id == "ASIAIMDS000001"
    assert creds.secret_access_key == meta.secrets[1]
    assert creds.session_token == meta.secrets[2]
    assert creds.expiration is not None
    assert creds.expiration > datetime.now(UTC) + timedelta(minutes=50)
    assert (meta.hits["token"], meta.hits["role"], meta.hits["imds"]) == (1, 1, 1)
    assert meta.seen_ttl == ["21600"]
    assert meta.seen_imds_tokens == [meta.secrets[0]] * 2  # both GETs carry the token
    assert await p.get_credentials() is creds  # cached
    assert meta.hits["imds"] == 1


async def test_imds_token_is_reused_and_renewed_after_401(
    monkeypatch: pytest.MonkeyPatch, meta: Metadata
) -> None:
    use_imds(monkeypatch, meta)
    p = InstanceMetadataProvider()
    await p.load()
    await p.load()
    assert meta.hits["token"] == 1
    assert meta.hits["imds"] == 2
    meta.tokens.clear()  # IMDS forgot every token (expired, or restarted)
    creds = await p.load()
    assert creds is not None
    assert meta.hits["token"] == 2
    assert meta.seen_imds_tokens.count(None) == 0  # never fell back to IMDSv1


async def test_imdsv1_fallback_only_when_allowed(
    monkeypatch: pytest.MonkeyPatch, meta: Metadata
) -> None:
    use_imds(monkeypatch, meta)
    meta.imdsv2 = False
    meta.imdsv1 = True
    p = InstanceMetadataProvider()
    assert await p.load() is None
    assert "IMDSv1 fallback is off" in p.searched()[0]
    assert meta.hits["role"] == 0
    creds = await InstanceMetadataProvider(allow_imdsv1=True).load()
    assert creds is not None and creds.access_key_id.startswith("ASIAIMDS")
    assert meta.seen_imds_tokens == [None, None]
    monkeypatch.setenv("AWS_EC2_METADATA_V1_DISABLED", "true")
    assert await InstanceMetadataProvider(allow_imdsv1=True).load() is None


async def test_imds_disabled_by_environment(
    monkeypatch: pytest.MonkeyPatch, meta: Metadata
) -> None:
    use_imds(monkeypatch, meta)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "TRUE")
    p = InstanceMetadataProvider()
    assert await p.load() is None
    assert "disabled by AWS_EC2_METADATA_DISABLED" in p.searched()[0]
    assert sum(meta.hits.values()) == 0


async def test_imds_unreachable_is_not_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_EC2_METADATA_DISABLED")
    port = unused_port()
    monkeypatch.setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", f"http://127.0.0.1:{port}")
    p = InstanceMetadataProvider()
    assert await p.load() is None
    assert f"http://127.0.0.1:{port}: no answer" in p.searched()[0]


async def test_imds_that_hangs_gives_up_after_the_timeout(
    monkeypatch: pytest.MonkeyPatch, meta: Metadata
) -> None:
    use_imds(monkeypatch, meta)
    meta.hang = True
    monkeypatch.setenv("AWS_METADATA_SERVICE_TIMEOUT", "0.2")
    assert await InstanceMetadataProvider().load() is None
    assert meta.hits["token"] == 1  # one attempt by default


async def test_imds_attempts_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_EC2_METADATA_DISABLED")
    hits = 0

    async def count(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal hits
        hits += 1
        writer.close()  # connection dropped before any answer

    server = await asyncio.start_server(count, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    monkeypatch.setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("AWS_METADATA_SERVICE_NUM_ATTEMPTS", "3")
    try:
        assert await InstanceMetadataProvider().load() is None
    finally:
        server.close()
        await server.wait_closed()
    assert hits == 3


async def test_imds_without_a_role(monkeypatch: pytest.MonkeyPatch, meta: Metadata) -> None:
    use_imds(monkeypatch, meta)
    meta.attach_role = False
    p = InstanceMetadataProvider()
    assert await p.load() is None
    assert "no IAM role is attached" in p.searched()[0]


async def test_imds_server_error_is_an_error(
    monkeypatch: pytest.MonkeyPatch, meta: Metadata
) -> None:
    use_imds(monkeypatch, meta)
    meta.fail = True
    with pytest.raises(CredentialsError, match="HTTP 500 for the credentials of role"):
        await InstanceMetadataProvider().load()


# ------------------------------------------------------------------ container


async def test_container_full_uri_with_authorization_token(
    monkeypatch: pytest.MonkeyPatch, meta: Metadata
) -> None:
    use_container(monkeypatch, meta, "Bearer pod-identity-token")
    creds = await ContainerProvider().get_credentials()
    assert creds.access_key_id == "ASIAECS000001"
    assert creds.session_token == meta.secrets[1]
    assert creds.expiration is not None
    assert meta.seen_authorization == ["Bearer pod-identity-token"]


async def test_container_token_file_is_read_every_time(
    monkeypatch: pytest.MonkeyPatch, meta: Metadata, tmp_path: Path
) -> None:
    use_container(monkeypatch, meta, None)
    token_file = tmp_path / "eks-pod-identity-token"
    token_file.write_text("first-token")
    monkeypatch.setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", str(token_file))
    monkeypatch.setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "ignored-when-file-is-set")
    p = ContainerProvider()
    await p.load()
    token_file.write_text("rotated-token\n")
    await p.load()
    assert meta.seen_authorization == ["first-token", "rotated-token"]


async def test_container_refusal_is_an_error(
    monkeypatch: pytest.MonkeyPatch, meta: Metadata
) -> None:
    use_container(monkeypatch, meta, "right")
    monkeypatch.setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "wrong")
    with pytest.raises(CredentialsError, match="answered HTTP 401") as e:
        await ContainerProvider().load()
    assert "wrong" not in str(e.value)
    assert meta.hits["container"] == 1  # a 4xx is not retried


async def test_container_unreachable_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    port = unused_port()
    monkeypatch.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", f"http://127.0.0.1:{port}/creds")
    with pytest.raises(CredentialsError, match="did not answer"):
        await ContainerProvider(attempts=2).load()


async def test_container_answer_over_1_mib_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """The providers fetch through s3lite's transport, with its 1 MiB cap on answers:
    an endpoint streaming without end is cut off, not read into memory."""

    async def endless(peer: Peer) -> None:
        await peer.read_request()
        await peer.send(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n")
        with contextlib.suppress(StreamClosedError):  # the client may hang up first
            for _ in range(40):  # 2.5 MiB, then close: read-until-close framing
                await peer.send(b" " * 65536)
        peer.close()

    async with await start_raw_server(endless) as server:
        monkeypatch.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", f"{server.url}/creds")
        with pytest.raises(CredentialsError, match="larger than 1048576 bytes"):
            await ContainerProvider(attempts=1).load()


async def test_container_token_with_line_break_is_refused(
    monkeypatch: pytest.MonkeyPatch, meta: Metadata
) -> None:
    use_container(monkeypatch, meta, None)
    monkeypatch.setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "a\r\nX-Injected: 1")
    with pytest.raises(CredentialsError, match="line break"):
        await ContainerProvider().load()
    assert meta.hits["container"] == 0


# ------------------------------------------------------------------ web identity (STS)


@pytest.mark.moto_only("moto's STS issues the temporary credentials")
async def test_web_identity_on_moto(
    monkeypatch: pytest.MonkeyPatch, moto: MotoServer, tmp_path: Path
) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzM2xpdGUifQ.c2ln")
    monkeypatch.setenv("AWS_WEB_IDENTITY_TOKEN_FILE", str(token_file))
    monkeypatch.setenv("AWS_ROLE_ARN", ROLE_ARN)
    monkeypatch.setenv("AWS_ROLE_SESSION_NAME", "s3lite-tests")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", moto.endpoint_url)
    creds = await WebIdentityProvider().get_credentials()
    assert creds.access_key_id.startswith("ASIA")
    assert creds.session_token
    assert creds.expiration is not None
    left = creds.expiration - datetime.now(UTC)
    assert timedelta(minutes=50) < left <= timedelta(hours=1, minutes=1)


async def test_web_identity_request_rereads_token_and_is_unsigned(
    monkeypatch: pytest.MonkeyPatch, sts: Sts, tmp_path: Path
) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("token-one\n")
    monkeypatch.setenv("AWS_WEB_IDENTITY_TOKEN_FILE", str(token_file))
    monkeypatch.setenv("AWS_ROLE_ARN", ROLE_ARN)
    p = WebIdentityProvider(sts_endpoint_url=sts.url)
    first = await p.get_credentials()
    token_file.write_text("token-two")
    p.invalidate()
    second = await p.get_credentials()
    assert first.access_key_id == "ASIASTS000001" and second.access_key_id == "ASIASTS000002"
    (h1, f1), (_, f2) = sts.requests
    assert f1["Action"] == "AssumeRoleWithWebIdentity" and f1["Version"] == "2011-06-15"
    assert f1["RoleArn"] == ROLE_ARN
    assert (f1["WebIdentityToken"], f2["WebIdentityToken"]) == ("token-one", "token-two")
    assert f1["RoleSessionName"].startswith("s3lite-session-")
    assert "authorization" not in h1 and "x-amz-security-token" not in h1


async def test_web_identity_from_profile(sts: Sts, tmp_path: Path) -> None:
    (tmp_path / "token").write_text("profile-token")
    write(
        tmp_path / "config",
        f"""
        [profile eks]
        web_identity_token_file = {tmp_path / "token"}
        role_arn = {ROLE_ARN}
        role_session_name = from-profile
        """,
    )
    creds = await WebIdentityProvider(profile="eks", sts_endpoint_url=sts.url).load()
    assert creds is not None
    assert sts.requests[0][1]["RoleSessionName"] == "from-profile"
    # The shared-files provider handles the same profile too.
    assert await SharedFilesProvider("eks", sts_endpoint_url=sts.url).load() is not None
    assert sts.requests[1][1]["WebIdentityToken"] == "profile-token"


async def test_web_identity_misconfigured(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AWS_WEB_IDENTITY_TOKEN_FILE", str(tmp_path / "missing"))
    with pytest.raises(CredentialsError, match="no role is"):
        await WebIdentityProvider().load()
    monkeypatch.setenv("AWS_ROLE_ARN", ROLE_ARN)
    with pytest.raises(CredentialsError, match="cannot read web identity token file"):
        await WebIdentityProvider().load()


async def test_sts_error_is_reported(
    monkeypatch: pytest.MonkeyPatch, sts: Sts, tmp_path: Path
) -> None:
    (tmp_path / "token").write_text("t")
    monkeypatch.setenv("AWS_WEB_IDENTITY_TOKEN_FILE", str(tmp_path / "token"))
    monkeypatch.setenv("AWS_ROLE_ARN", ROLE_ARN)
    sts.error = (400, "InvalidIdentityToken")
    with pytest.raises(CredentialsError) as e:
        await WebIdentityProvider(sts_endpoint_url=sts.url).load()
    assert e.value.sts_code == "InvalidIdentityToken"
    assert e.value.status == 400
    assert "refused by test" in str(e.value)
    assert len(sts.requests) == 1  # a client error is not retried
    sts.error = (503, "ServiceUnavailable")
    with pytest.raises(CredentialsError, match="ServiceUnavailable"):
        await WebIdentityProvider(sts_endpoint_url=sts.url).load()
    assert len(sts.requests) == 4  # 5xx: retried, 3 attempts


# ------------------------------------------------------------------ AssumeRole (profiles)


@pytest.mark.moto_only("moto's STS issues the temporary credentials")
async def test_assume_role_with_source_profile_on_signature_checking_moto(
    moto_auth: MotoServer, tmp_path: Path
) -> None:
    write(
        tmp_path / "credentials",
        f"""
        [base]
        aws_access_key_id = {moto_auth.access_key_id}
        aws_secret_access_key = {moto_auth.secret_access_key}
        """,
    )
    write(
        tmp_path / "config",
        f"""
        [profile dev]
        role_arn = {ROLE_ARN}
        source_profile = base
        region = us-east-1
        """,
    )
    p = SharedFilesProvider("dev", sts_endpoint_url=moto_auth.endpoint_url)
    creds = await p.get_credentials()
    assert creds.access_key_id.startswith("ASIA")
    assert creds.session_token and creds.expiration is not None


async def test_assume_role_badly_signed_is_refused(moto_auth: MotoServer, tmp_path: Path) -> None:
    write(
        tmp_path / "credentials",
        f"""
        [base]
        aws_access_key_id = {moto_auth.access_key_id}
        aws_secret_access_key = not-the-right-secret
        """,
    )
    write(tmp_path / "config", f"[profile dev]\nrole_arn = {ROLE_ARN}\nsource_profile = base\n")
    with pytest.raises(CredentialsError, match="STS AssumeRole failed") as e:
        await SharedFilesProvider("dev", sts_endpoint_url=moto_auth.endpoint_url).load()
    assert e.value.status == 403
    assert "not-the-right-secret" not in str(e.value)


async def test_role_chain_signs_each_hop_with_the_previous_credentials(
    sts: Sts, tmp_path: Path
) -> None:
    write(
        tmp_path / "credentials",
        "[base]\naws_access_key_id = AKBASE\naws_secret_access_key = base-secret\n",
    )
    write(
        tmp_path / "config",
        """
        [profile top]
        role_arn = arn:aws:iam::123456789012:role/top
        source_profile = middle
        external_id = ext-42
        duration_seconds = 900
        role_session_name = me
        region = eu-west-1
        [profile middle]
        role_arn = arn:aws:iam::123456789012:role/middle
        source_profile = base
        """,
    )
    creds = await SharedFilesProvider("top", sts_endpoint_url=sts.url).load()
    assert creds is not None and creds.access_key_id == "ASIASTS000002"
    (h1, f1), (h2, f2) = sts.requests
    assert f1["RoleArn"].endswith("role/middle") and f2["RoleArn"].endswith("role/top")
    assert h1["authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKBASE/")
    assert "/eu-west-1/sts/aws4_request" in h1["authorization"]  # the top profile's region
    assert "x-amz-security-token" not in h1
    assert h2["authorization"].startswith("AWS4-HMAC-SHA256 Credential=ASIASTS000001/")
    assert h2["x-amz-security-token"] == sts.secrets[1]  # the first hop's session token
    assert (f2["ExternalId"], f2["DurationSeconds"], f2["RoleSessionName"]) == (
        "ext-42",
        "900",
        "me",
    )


async def test_source_profile_with_keys_uses_its_keys_not_its_role(
    sts: Sts, tmp_path: Path
) -> None:
    write(
        tmp_path / "credentials",
        "[base]\naws_access_key_id = AKBASE\naws_secret_access_key = s\n"
        "[self]\naws_access_key_id = AKSELF\naws_secret_access_key = s\n",
    )
    write(
        tmp_path / "config",
        """
        [profile top]
        role_arn = arn:aws:iam::123456789012:role/top
        source_profile = base
        [profile base]
        role_arn = arn:aws:iam::123456789012:role/ignored
        source_profile = top
        [profile self]
        role_arn = arn:aws:iam::123456789012:role/self
        source_profile = self
        """,
    )
    await SharedFilesProvider("top", sts_endpoint_url=sts.url).load()
    await SharedFilesProvider("self", sts_endpoint_url=sts.url).load()
    assert [f["RoleArn"].rsplit("/", 1)[1] for _, f in sts.requests] == ["top", "self"]
    assert "Credential=AKBASE/" in sts.requests[0][0]["authorization"]
    assert "Credential=AKSELF/" in sts.requests[1][0]["authorization"]


async def test_credential_source_environment_and_container(
    monkeypatch: pytest.MonkeyPatch, sts: Sts, meta: Metadata, tmp_path: Path
) -> None:
    write(
        tmp_path / "config",
        f"""
        [profile env]
        role_arn = {ROLE_ARN}
        credential_source = Environment
        [profile ecs]
        role_arn = {ROLE_ARN}
        credential_source = EcsContainer
        [profile ec2]
        role_arn = {ROLE_ARN}
        credential_source = Ec2InstanceMetadata
        """,
    )
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKENVSOURCE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "s")
    use_container(monkeypatch, meta, None)
    use_imds(monkeypatch, meta)
    for name in ("env", "ecs", "ec2"):
        assert await SharedFilesProvider(name, sts_endpoint_url=sts.url).load() is not None
    auth = [h["authorization"] for h, _ in sts.requests]
    assert "Credential=AKENVSOURCE/" in auth[0]
    assert "Credential=ASIAECS000001/" in auth[1]
    assert "Credential=ASIAIMDS000002/" in auth[2]


async def test_profile_sts_regional_endpoints_setting_is_read(
    monkeypatch: pytest.MonkeyPatch, sts: Sts, tmp_path: Path
) -> None:
    # With AWS_ENDPOINT_URL_STS the endpoint is fixed; the signing region still follows
    # the profile's region.
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", sts.url)
    write(tmp_path / "credentials", "[base]\naws_access_key_id = AK\naws_secret_access_key = s\n")
    write(
        tmp_path / "config",
        f"[profile r]\nrole_arn = {ROLE_ARN}\nsource_profile = base\nregion = ap-south-1\n",
    )
    await SharedFilesProvider("r").load()
    assert "/ap-south-1/sts/aws4_request" in sts.requests[0][0]["authorization"]


# ------------------------------------------------------------------ the default chain


async def test_default_chain_order(
    monkeypatch: pytest.MonkeyPatch, meta: Metadata, sts: Sts, tmp_path: Path
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKENV")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "env-secret")
    (tmp_path / "token").write_text("jwt")
    monkeypatch.setenv("AWS_WEB_IDENTITY_TOKEN_FILE", str(tmp_path / "token"))
    monkeypatch.setenv("AWS_ROLE_ARN", ROLE_ARN)
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", sts.url)
    write(
        tmp_path / "credentials",
        "[default]\naws_access_key_id = AKFILE\naws_secret_access_key = s\n",
    )
    use_container(monkeypatch, meta, None)
    use_imds(monkeypatch, meta)

    async def winner() -> str:
        return (await default_chain().get_credentials()).access_key_id

    assert await winner() == "AKENV"
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    assert await winner() == "ASIASTS000001"
    monkeypatch.delenv("AWS_WEB_IDENTITY_TOKEN_FILE")
    assert await winner() == "AKFILE"
    (tmp_path / "credentials").unlink()
    assert await winner() == "ASIAECS000001"
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_FULL_URI")
    assert await winner() == "ASIAIMDS000002"
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(NoCredentialsError):
        await winner()
    assert len(sts.requests) == 1
    assert (meta.hits["container"], meta.hits["imds"]) == (1, 1)


async def test_no_credentials_error_names_every_place(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("AWS_EC2_METADATA_DISABLED")
    port = unused_port()
    monkeypatch.setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", f"http://127.0.0.1:{port}")
    with pytest.raises(NoCredentialsError) as e:
        await default_chain().get_credentials()
    err = e.value
    assert err.code == "NoCredentials"
    text = str(err)
    for place in (
        "1. environment variables: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set",
        "2. web identity: AWS_WEB_IDENTITY_TOKEN_FILE is not set and profile 'default' has no "
        "web_identity_token_file",
        f"3. shared files: profile 'default' not found in {tmp_path / 'credentials'} "
        f"(does not exist) or {tmp_path / 'config'} (does not exist)",
        "4. container credentials: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and "
        "AWS_CONTAINER_CREDENTIALS_FULL_URI are not set",
        f"5. EC2 instance metadata: http://127.0.0.1:{port}: no answer",
    ):
        assert place in text
    assert len(err.searched) == 5


# ------------------------------------------------------------------ refresh


async def test_short_lived_credentials_refresh_once_under_concurrency(
    monkeypatch: pytest.MonkeyPatch, meta: Metadata
) -> None:
    use_container(monkeypatch, meta, None)
    meta.lifetime = 1.0
    meta.delay = 0.1  # every fetch takes a while, so the 20 callers overlap it
    p = RefreshingProvider(
        ContainerProvider(), advisory_window=0.5, mandatory_window=0.25, retry_interval=0.05
    )

    async def twenty() -> list[Credentials]:
        return list(await asyncio.gather(*(p.get_credentials() for _ in range(20))))

    first = await twenty()
    assert meta.hits["container"] == 1
    assert len({c.access_key_id for c in first}) == 1
    exp = first[0].expiration
    assert exp is not None

    # Into the advisory window (or later, on a slow machine): one refresh.
    await asyncio.sleep(max(0.0, exp.timestamp() - time.time() - 0.4))
    await twenty()
    assert meta.hits["container"] == 2
    assert (await p.get_credentials()).access_key_id == "ASIAECS000002"

    # Past expiry: everyone waits for one refresh and gets the new credentials.
    exp = (await p.get_credentials()).expiration
    assert exp is not None
    await asyncio.sleep(max(0.0, exp.timestamp() - time.time() + 0.05))
    third = await twenty()
    assert meta.hits["container"] == 3
    assert {c.access_key_id for c in third} == {"ASIAECS000003"}


async def test_refresh_failure_keeps_valid_credentials_and_warns(
    monkeypatch: pytest.MonkeyPatch, meta: Metadata, caplog: pytest.LogCaptureFixture
) -> None:
    use_imds(monkeypatch, meta)
    now = [time.time()]
    p = RefreshingProvider(InstanceMetadataProvider(), clock=lambda: now[0])
    first = await p.get_credentials()
    assert first.expiration is not None
    meta.fail = True
    now[0] = first.expiration.timestamp() - 200  # advisory window: 5 min before expiry
    with caplog.at_level(logging.WARNING, logger="s3lite.credentials"):
        assert await p.get_credentials() is first
    assert meta.hits["imds"] == 2
    (warning,) = [
        r for r in caplog.records if r.name == "s3lite.credentials" and r.levelno >= logging.WARNING
    ]
    assert "EC2 instance metadata" in warning.getMessage()
    assert "HTTP 500" in warning.getMessage()
    now[0] = first.expiration.timestamp() - 30  # mandatory window: must succeed
    with pytest.raises(CredentialsError, match="HTTP 500"):
        await p.get_credentials()
    meta.fail = False
    fresh = await p.get_credentials()
    assert fresh.access_key_id != first.access_key_id


# ------------------------------------------------------------------ secrets stay secret


@pytest.mark.moto_only("moto's STS issues the temporary credentials")
async def test_no_secret_in_repr_str_errors_or_debug_logs(
    monkeypatch: pytest.MonkeyPatch,
    meta: Metadata,
    sts: Sts,
    moto: MotoServer,
    bucket: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)  # root: every logger, tornado and asyncio included
    for name in ("s3lite", "tornado", "asyncio"):
        caplog.set_level(logging.DEBUG, logger=name)  # restored after the test
    secrets = ["env-secret-value", "env-session-token", "jwt-web-identity-token"]
    secrets += ["container-auth-token", "file-secret-value", "process-secret-value"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKENV")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "env-secret-value")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "env-session-token")
    (tmp_path / "token").write_text("jwt-web-identity-token")
    use_container(monkeypatch, meta, "container-auth-token")
    use_imds(monkeypatch, meta)
    script = tmp_path / "proc.py"
    script.write_text(
        "import json; print(json.dumps({'Version': 1, 'AccessKeyId': 'AKPROC',"
        " 'SecretAccessKey': 'process-secret-value'}))"
    )
    write(
        tmp_path / "credentials",
        "[base]\naws_access_key_id = AKFILE\naws_secret_access_key = file-secret-value\n",
    )
    write(
        tmp_path / "config",
        f"""
        [profile role]
        role_arn = {ROLE_ARN}
        source_profile = base
        [profile proc]
        credential_process = {sys.executable} {script}
        """,
    )
    providers: list[Any] = [
        EnvProvider(),
        WebIdentityProvider(
            sts_endpoint_url=moto.endpoint_url,
            use_env=False,
            token_file=str(tmp_path / "token"),
            role_arn=ROLE_ARN,
        ),
        SharedFilesProvider("role", sts_endpoint_url=sts.url),
        SharedFilesProvider("proc"),
        ProcessProvider(f"{sys.executable} {script} --password=process-secret-value"),
        ContainerProvider(),
        InstanceMetadataProvider(),
        default_chain(),
    ]
    texts: list[str] = []
    creds_seen: list[Credentials] = []
    for p in providers:
        c = await p.get_credentials()
        creds_seen.append(c)
        texts += [repr(p), str(p), repr(c), str(c), f"{c}", repr(p._cache)]
    secrets += [c.secret_access_key for c in creds_seen]
    secrets += [c.session_token for c in creds_seen if c.session_token]

    # Failures and warnings are logged and raised without secrets too.
    now = [time.time()]
    imds = RefreshingProvider(InstanceMetadataProvider(), clock=lambda: now[0])
    old = await imds.get_credentials()
    assert old.expiration is not None
    meta.fail = True
    now[0] = old.expiration.timestamp() - 100
    await imds.get_credentials()  # warning logged
    sts.error = (403, "AccessDenied")
    with pytest.raises(CredentialsError) as e:
        await SharedFilesProvider("role", sts_endpoint_url=sts.url).load()
    texts.append(str(e.value))

    # A client signing with temporary credentials, at DEBUG.
    from s3lite.client import S3Client

    temp = creds_seen[1]  # from moto's STS
    async with S3Client(
        region="us-east-1", endpoint_url=moto.endpoint_url, credentials=StaticProvider(temp)
    ) as s3:
        texts += [repr(s3), str(s3)]
        await s3.put_object(bucket, "k", b"v")

    secrets += meta.secrets + sts.secrets
    everything = "\n".join(texts) + "\n" + caplog.text
    # The DEBUG logs really are there (and would show a leak).
    assert "Got AWS credentials from environment variables (access key id AKENV" in caplog.text
    assert "STS AssumeRoleWithWebIdentity at" in caplog.text
    assert "Refreshing AWS credentials from EC2 instance metadata failed" in caplog.text
    leaked = [s for s in secrets if s and s in everything]
    assert leaked == []
