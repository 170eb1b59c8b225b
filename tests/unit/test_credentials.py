"""Credentials: pure parsing/building functions, the refreshing cache, the chain."""

from __future__ import annotations

import asyncio
import logging
import pickle
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest

from s3lite.credentials import (
    BaseProvider,
    ChainProvider,
    ContainerProvider,
    CredentialProvider,
    Credentials,
    CredentialsError,
    EnvProvider,
    InstanceMetadataProvider,
    NoCredentialsError,
    RefreshingProvider,
    SharedFilesProvider,
    StaticProvider,
    WebIdentityProvider,
    as_provider,
    build_sts_request,
    container_credentials_url,
    default_chain,
    parse_expiration,
    parse_json_credentials,
    parse_process_output,
    parse_sts_response,
    sts_endpoint,
)
from s3lite.errors import S3Error

UTC = timezone.utc


pytestmark = pytest.mark.usefixtures("clean_aws_env")


# ------------------------------------------------------------------ Credentials


def test_credentials_repr_and_str_hide_secret_and_token() -> None:
    exp = datetime(2030, 1, 1, tzinfo=UTC)
    c = Credentials("AKIDEXAMPLE", "s3cr3t-value", "t0ken-value", exp)
    for text in (repr(c), str(c), f"{c}", f"{c!r}", repr([c]), repr({"c": c})):
        assert "s3cr3t-value" not in text
        assert "t0ken-value" not in text
        assert "AKIDEXAMPLE" in text
    assert "session_token=***" in repr(c)
    assert "2030-01-01" in repr(c)


# ------------------------------------------------------------------ parsing


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-05-01T12:00:00Z", datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)),
        ("2024-05-01T12:00:00.123Z", datetime(2024, 5, 1, 12, 0, 0, 123000, tzinfo=UTC)),
        ("2024-05-01T12:00:00.123456789Z", datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)),
        ("2024-05-01T12:00:00+00:00", datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)),
        ("2024-05-01T14:00:00+02:00", datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)),
        ("2024-05-01T07:30:00-0430", datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)),
        ("2024-05-01 12:00:00", datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)),
    ],
)
def test_parse_expiration(text: str, expected: datetime) -> None:
    got = parse_expiration(text)
    assert got == expected
    assert got.tzinfo is not None


@pytest.mark.parametrize(
    "text", ["", "tomorrow", "2024-05-01", "1714564800", "2024-13-01T00:00:00Z"]
)
def test_parse_expiration_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_expiration(text)


def test_parse_json_credentials_imds_document() -> None:
    body = (
        b'{"Code": "Success", "LastUpdated": "2024-05-01T11:00:00Z", "Type": "AWS-HMAC",'
        b' "AccessKeyId": "ASIAX", "SecretAccessKey": "sec", "Token": "tok",'
        b' "Expiration": "2024-05-01T17:00:00Z"}'
    )
    c = parse_json_credentials(body, source="imds")
    assert c == Credentials("ASIAX", "sec", "tok", datetime(2024, 5, 1, 17, tzinfo=UTC))


def test_parse_json_credentials_errors_never_echo_the_document() -> None:
    with pytest.raises(CredentialsError, match="did not return valid JSON") as e:
        parse_json_credentials(b'{"SecretAccessKey": "leak-me"', source="x")
    assert "leak-me" not in str(e.value)
    with pytest.raises(CredentialsError, match="returned no Token") as e:
        parse_json_credentials(
            b'{"AccessKeyId": "A", "SecretAccessKey": "leak-me",'
            b' "Expiration": "2030-01-01T00:00:00Z"}',
            source="x",
        )
    assert "leak-me" not in str(e.value)
    with pytest.raises(CredentialsError, match="not an object"):
        parse_json_credentials(b"[1, 2]", source="x")
    with pytest.raises(CredentialsError, match="bad Expiration"):
        parse_json_credentials(
            b'{"AccessKeyId": "A", "SecretAccessKey": "s", "Token": "t", "Expiration": "soon"}',
            source="x",
        )


def test_parse_json_credentials_error_code_from_imds() -> None:
    with pytest.raises(CredentialsError, match="answered AssumeRoleUnauthorizedAccess: no trust"):
        parse_json_credentials(
            b'{"Code": "AssumeRoleUnauthorizedAccess", "Message": "no trust"}', source="imds"
        )


def test_parse_process_output() -> None:
    c = parse_process_output(b'{"Version": 1, "AccessKeyId": "A", "SecretAccessKey": "s"}')
    assert c == Credentials("A", "s")
    c = parse_process_output(
        '{"Version": 1, "AccessKeyId": "A", "SecretAccessKey": "s", "SessionToken": "t",'
        ' "Expiration": "2030-01-01T00:00:00Z"}'
    )
    assert c.session_token == "t"
    assert c.expiration == datetime(2030, 1, 1, tzinfo=UTC)
    with pytest.raises(CredentialsError, match="Version 2"):
        parse_process_output(b'{"Version": 2, "AccessKeyId": "A", "SecretAccessKey": "s"}')
    with pytest.raises(CredentialsError, match="Version '\\(missing\\)'"):
        parse_process_output(b'{"AccessKeyId": "A", "SecretAccessKey": "s"}')
    with pytest.raises(CredentialsError, match="returned no SecretAccessKey"):
        parse_process_output(b'{"Version": 1, "AccessKeyId": "A"}')


STS_OK = b"""<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleResult>
    <Credentials>
      <AccessKeyId>ASIAEXAMPLE</AccessKeyId>
      <SecretAccessKey>sts-secret</SecretAccessKey>
      <SessionToken>sts-token</SessionToken>
      <Expiration>2030-07-15T23:28:33.359Z</Expiration>
    </Credentials>
    <AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/x/s</Arn></AssumedRoleUser>
  </AssumeRoleResult>
  <ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata>
</AssumeRoleResponse>"""

STS_ERR = b"""<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <Error><Type>Sender</Type><Code>AccessDenied</Code><Message>not allowed</Message></Error>
  <RequestId>req-42</RequestId>
</ErrorResponse>"""


def test_parse_sts_response_success() -> None:
    c = parse_sts_response(200, STS_OK, "AssumeRole")
    assert c.access_key_id == "ASIAEXAMPLE"
    assert c.secret_access_key == "sts-secret"
    assert c.session_token == "sts-token"
    assert c.expiration == datetime(2030, 7, 15, 23, 28, 33, 359000, tzinfo=UTC)


def test_parse_sts_response_error() -> None:
    with pytest.raises(CredentialsError) as e:
        parse_sts_response(403, STS_ERR, "AssumeRole")
    err = e.value
    assert err.status == 403
    assert err.sts_code == "AccessDenied"
    assert err.request_id == "req-42"
    assert "STS AssumeRole failed: AccessDenied: not allowed" in str(err)
    assert isinstance(err, S3Error)


@pytest.mark.parametrize(
    ("status", "body", "match"),
    [
        (200, b"<oops", "malformed XML"),
        (200, b"", "malformed XML"),
        (200, b"<AssumeRoleResponse/>", "no Credentials"),
        (200, STS_OK.replace(b"<SessionToken>sts-token</SessionToken>", b""), "no SessionToken"),
        (200, b'<!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>', "DTD"),
        (200, b"x" * ((1 << 20) + 1), "larger than"),
        (503, b"<html>busy</html>", "failed: no error document"),
    ],
)
def test_parse_sts_response_malformed(status: int, body: bytes, match: str) -> None:
    with pytest.raises(CredentialsError, match=match) as e:
        parse_sts_response(status, body, "AssumeRole")
    assert "sts-secret" not in str(e.value)


def test_build_sts_request() -> None:
    req = build_sts_request(
        "https://sts.eu-west-1.amazonaws.com",
        "AssumeRole",
        [("RoleArn", "arn:aws:iam::1:role/a b"), ("RoleSessionName", "s")],
    )
    assert req.method == "POST"
    assert req.url == "https://sts.eu-west-1.amazonaws.com/"
    assert req.headers["host"] == "sts.eu-west-1.amazonaws.com"
    assert req.headers["content-type"].startswith("application/x-www-form-urlencoded")
    assert req.body == (
        b"Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fa+b"
        b"&RoleSessionName=s"
    )
    with pytest.raises(CredentialsError, match="invalid STS endpoint"):
        build_sts_request("ftp://x", "AssumeRole", [])
    with pytest.raises(CredentialsError, match="invalid STS endpoint"):
        build_sts_request("https://user:pw@host", "AssumeRole", [])


@pytest.mark.parametrize(
    ("region", "env", "kwargs", "expected"),
    [
        ("eu-west-1", {}, {}, ("https://sts.eu-west-1.amazonaws.com", "eu-west-1")),
        ("us-east-1", {}, {}, ("https://sts.us-east-1.amazonaws.com", "us-east-1")),
        (None, {}, {}, ("https://sts.amazonaws.com", "us-east-1")),
        ("cn-north-1", {}, {}, ("https://sts.cn-north-1.amazonaws.com.cn", "cn-north-1")),
        (
            "eu-west-1",
            {"AWS_STS_REGIONAL_ENDPOINTS": "legacy"},
            {},
            ("https://sts.amazonaws.com", "us-east-1"),
        ),
        (
            "ap-east-1",  # not a legacy-global region: regional even in legacy mode
            {"AWS_STS_REGIONAL_ENDPOINTS": "legacy"},
            {},
            ("https://sts.ap-east-1.amazonaws.com", "ap-east-1"),
        ),
        (
            "eu-west-1",
            {"AWS_STS_REGIONAL_ENDPOINTS": "regional"},
            {"regional_endpoints": "legacy"},  # env wins over the profile setting
            ("https://sts.eu-west-1.amazonaws.com", "eu-west-1"),
        ),
        (
            "eu-west-1",
            {},
            {"regional_endpoints": "legacy"},
            ("https://sts.amazonaws.com", "us-east-1"),
        ),
        (
            "eu-west-1",
            {
                "AWS_ENDPOINT_URL": "http://127.0.0.1:1",
                "AWS_ENDPOINT_URL_STS": "http://127.0.0.1:2",
            },
            {},
            ("http://127.0.0.1:2", "eu-west-1"),
        ),
        (
            None,
            {"AWS_ENDPOINT_URL": "http://127.0.0.1:1"},
            {},
            ("http://127.0.0.1:1", "us-east-1"),
        ),
        (
            "eu-west-1",
            {"AWS_ENDPOINT_URL_STS": "http://127.0.0.1:2"},
            {"endpoint_url": "http://127.0.0.1:3"},
            ("http://127.0.0.1:3", "eu-west-1"),
        ),
        (
            "eu-west-1",
            {
                "AWS_ENDPOINT_URL_STS": "http://127.0.0.1:2",
                "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true",
            },
            {},
            ("https://sts.eu-west-1.amazonaws.com", "eu-west-1"),
        ),
    ],
)
def test_sts_endpoint(
    region: str | None, env: dict[str, str], kwargs: dict[str, str], expected: tuple[str, str]
) -> None:
    assert sts_endpoint(region, environ=env, **kwargs) == expected


@pytest.mark.parametrize("region", ["eu-west-1.evil.com", "EU-WEST-1", "a/b", ""])
def test_sts_endpoint_rejects_bad_region(region: str) -> None:
    with pytest.raises(CredentialsError, match="invalid AWS region"):
        sts_endpoint(region, environ={})


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, None),
        (
            {"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/credentials/abc"},
            "http://169.254.170.2/v2/credentials/abc",
        ),
        (  # relative wins, as in the SDKs
            {
                "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/c",
                "AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://127.0.0.1:9/x",
            },
            "http://169.254.170.2/v2/c",
        ),
        ({"AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://127.0.0.1:9/x"}, "http://127.0.0.1:9/x"),
        ({"AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://127.1.2.3/x"}, "http://127.1.2.3/x"),
        ({"AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://[::1]:80/x"}, "http://[::1]:80/x"),
        ({"AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://localhost/x"}, "http://localhost/x"),
        (
            {"AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://169.254.170.23/v1/credentials"},
            "http://169.254.170.23/v1/credentials",
        ),
        (
            {"AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://[fd00:ec2::23]/v1/credentials"},
            "http://[fd00:ec2::23]/v1/credentials",
        ),
        (
            {"AWS_CONTAINER_CREDENTIALS_FULL_URI": "https://creds.example.com/x"},
            "https://creds.example.com/x",
        ),
    ],
)
def test_container_credentials_url(env: dict[str, str], expected: str | None) -> None:
    assert container_credentials_url(env) == expected


@pytest.mark.parametrize(
    "url",
    ["http://example.com/creds", "http://10.0.0.1/creds", "ftp://127.0.0.1/x", "http:///x"],
)
def test_container_full_uri_refused(url: str) -> None:
    with pytest.raises(CredentialsError, match="is not allowed"):
        container_credentials_url({"AWS_CONTAINER_CREDENTIALS_FULL_URI": url})


def test_container_relative_uri_must_be_a_path() -> None:
    with pytest.raises(CredentialsError, match="must start with '/'"):
        container_credentials_url({"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "@evil.com/x"})


# ------------------------------------------------------------------ errors


def test_no_credentials_error_names_every_place() -> None:
    err = NoCredentialsError(searched=["env: not set", "files: missing"])
    assert isinstance(err, S3Error)
    assert err.code == "NoCredentials"
    text = str(err)
    assert "1. env: not set" in text
    assert "2. files: missing" in text
    again = pickle.loads(pickle.dumps(err))
    assert type(again) is NoCredentialsError
    assert str(again) == text


# ------------------------------------------------------------------ env provider


async def test_env_provider(monkeypatch: pytest.MonkeyPatch) -> None:
    p = EnvProvider()
    assert await p.load() is None
    assert "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set" in p.searched()[0]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKENV")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "env-secret")
    assert await p.load() == Credentials("AKENV", "env-secret")
    monkeypatch.setenv("AWS_SECURITY_TOKEN", "legacy-token")
    assert (await p.load()).session_token == "legacy-token"  # type: ignore[union-attr]
    monkeypatch.setenv("AWS_SESSION_TOKEN", "env-token")
    monkeypatch.setenv("AWS_CREDENTIAL_EXPIRATION", "2030-01-01T00:00:00Z")
    c = await p.load()
    assert c == Credentials("AKENV", "env-secret", "env-token", datetime(2030, 1, 1, tzinfo=UTC))
    assert await p.get_credentials() == c


async def test_env_provider_partial_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKENV")
    with pytest.raises(
        CredentialsError, match="AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY"
    ):
        await EnvProvider().load()
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "s")
    with pytest.raises(
        CredentialsError, match="AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID"
    ):
        await EnvProvider().load()


async def test_env_provider_mapping_argument() -> None:
    p = EnvProvider({"AWS_ACCESS_KEY_ID": "A", "AWS_SECRET_ACCESS_KEY": "s"})
    assert await p.load() == Credentials("A", "s")


async def test_static_provider() -> None:
    c = Credentials("A", "static-secret", "static-token")
    p = StaticProvider(c)
    assert await p.get_credentials() is c
    assert await p.load() is c
    assert isinstance(p, CredentialProvider)
    assert "static-secret" not in repr(p) and "static-token" not in str(p)


# ------------------------------------------------------------------ refreshing cache


class FakeClock:
    def __init__(self) -> None:
        self.now = time.time()  # real time at start, so a provider's own cache agrees

    def __call__(self) -> float:
        return self.now


class FakeSource(BaseProvider):
    """Hands out numbered credentials valid for ``lifetime`` seconds of ``clock``."""

    label = "fake source"

    def __init__(
        self, clock: FakeClock | None = None, lifetime: float | None = 3600.0, delay: float = 0.0
    ) -> None:
        super().__init__()
        self.clock = clock or FakeClock()
        self.lifetime = lifetime
        self.delay = delay
        self.loads = 0
        self.fail: Exception | None = None
        self.none = False
        self.started = threading.Event()

    async def load(self) -> Credentials | None:
        self.loads += 1
        self.started.set()
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.fail is not None:
            raise self.fail
        if self.none:
            self._not_found("switched off")
            return None
        exp = None
        if self.lifetime is not None:
            exp = datetime.fromtimestamp(self.clock.now + self.lifetime, UTC)
        return Credentials(f"AK{self.loads}", f"secret-{self.loads}", f"token-{self.loads}", exp)


def refreshing(source: FakeSource, **kw: float) -> RefreshingProvider:
    return RefreshingProvider(
        source,
        advisory_window=kw.pop("advisory_window", 300),
        mandatory_window=kw.pop("mandatory_window", 60),
        retry_interval=kw.pop("retry_interval", 30),
        clock=source.clock,
    )


async def test_cache_returns_the_same_credentials_until_the_advisory_window() -> None:
    src = FakeSource()
    p = refreshing(src)
    first = await p.get_credentials()
    src.clock.now += 3600 - 301
    assert await p.get_credentials() is first
    assert src.loads == 1
    src.clock.now += 2  # 299 s left: inside the advisory window
    second = await p.get_credentials()
    assert second.access_key_id == "AK2"
    assert src.loads == 2
    assert await p.get_credentials() is second


async def test_credentials_without_expiration_are_kept_forever() -> None:
    src = FakeSource(lifetime=None)
    p = refreshing(src)
    first = await p.get_credentials()
    src.clock.now += 10**9
    assert await p.get_credentials() is first
    assert src.loads == 1


async def test_mandatory_window_and_expired_credentials_refresh() -> None:
    src = FakeSource()
    p = refreshing(src)
    await p.get_credentials()
    src.clock.now += 3600 - 30  # 30 s left
    assert (await p.get_credentials()).access_key_id == "AK2"
    src.clock.now += 7200  # long expired
    assert (await p.get_credentials()).access_key_id == "AK3"


async def test_advisory_refresh_failure_keeps_old_credentials_and_warns(
    caplog: pytest.LogCaptureFixture,
) -> None:
    src = FakeSource()
    p = refreshing(src)
    first = await p.get_credentials()
    src.fail = CredentialsError("endpoint down")
    src.clock.now += 3600 - 200
    with caplog.at_level(logging.WARNING, logger="s3lite.credentials"):
        assert await p.get_credentials() is first
    warnings = [
        r for r in caplog.records if r.name == "s3lite.credentials" and r.levelno >= logging.WARNING
    ]
    assert len(warnings) == 1
    assert "endpoint down" in warnings[0].getMessage()
    assert "still using the current" in warnings[0].getMessage()
    assert src.loads == 2
    # Within retry_interval: no new attempt, no new warning.
    src.clock.now += 10
    assert await p.get_credentials() is first
    assert src.loads == 2
    # After it: tried again.
    src.clock.now += 25
    assert await p.get_credentials() is first
    assert src.loads == 3
    # Past the mandatory window, a failing refresh is an error.
    src.clock.now += 200 - 35 - 30
    with pytest.raises(CredentialsError, match="endpoint down"):
        await p.get_credentials()
    src.fail = None
    assert (await p.get_credentials()).access_key_id.startswith("AK")
    assert (await p.get_credentials()) is not first


async def test_first_load_failure_raises() -> None:
    src = FakeSource()
    src.fail = CredentialsError("broken")
    with pytest.raises(CredentialsError, match="broken"):
        await refreshing(src).get_credentials()


async def test_source_with_nothing_raises_no_credentials() -> None:
    src = FakeSource()
    src.none = True
    with pytest.raises(NoCredentialsError, match="fake source: switched off"):
        await refreshing(src).get_credentials()


async def test_source_returning_expired_credentials_is_an_error() -> None:
    src = FakeSource(lifetime=-5)
    with pytest.raises(CredentialsError, match="returned credentials that expired"):
        await refreshing(src).get_credentials()


async def test_concurrent_callers_share_one_refresh() -> None:
    src = FakeSource(delay=0.05)
    p = refreshing(src)
    results = await asyncio.gather(*(p.get_credentials() for _ in range(20)))
    assert src.loads == 1
    assert all(r is results[0] for r in results)
    src.clock.now += 3600  # expired: everyone must wait for the new ones
    results = await asyncio.gather(*(p.get_credentials() for _ in range(20)))
    assert src.loads == 2
    assert {r.access_key_id for r in results} == {"AK2"}


async def test_advisory_refresh_does_not_hold_up_other_callers() -> None:
    src = FakeSource(delay=0.05)
    p = refreshing(src)
    first = await p.get_credentials()
    src.clock.now += 3600 - 200
    refresher = asyncio.ensure_future(p.get_credentials())
    await asyncio.sleep(0)  # the refresh is now running
    assert src.started.is_set()
    others = await asyncio.gather(*(p.get_credentials() for _ in range(10)))
    assert all(o is first for o in others)  # answered at once with the still-valid ones
    assert (await refresher).access_key_id == "AK2"
    assert src.loads == 2


async def test_a_cancelled_waiter_does_not_cancel_the_shared_refresh() -> None:
    src = FakeSource(delay=0.05)
    p = refreshing(src)
    a = asyncio.ensure_future(p.get_credentials())
    b = asyncio.ensure_future(p.get_credentials())
    await asyncio.sleep(0.01)
    a.cancel()
    assert (await b).access_key_id == "AK1"
    assert src.loads == 1
    with pytest.raises(asyncio.CancelledError):
        await a


async def test_invalidate_forces_a_refresh() -> None:
    src = FakeSource()
    p = refreshing(src)
    await p.get_credentials()
    p.invalidate()
    assert (await p.get_credentials()).access_key_id == "AK2"


def test_refreshing_provider_rejects_inverted_windows() -> None:
    with pytest.raises(ValueError):
        RefreshingProvider(FakeSource(), advisory_window=10, mandatory_window=20)


def test_usable_from_successive_event_loops() -> None:
    src = FakeSource(delay=0.01)
    p = refreshing(src)
    first = asyncio.run(p.get_credentials())
    assert asyncio.run(p.get_credentials()) is first
    src.clock.now += 3600
    assert asyncio.run(p.get_credentials()).access_key_id == "AK2"


def test_refresh_abandoned_by_a_finished_loop_is_redone_on_the_next() -> None:
    src = FakeSource(delay=5.0)
    p = refreshing(src)

    pending: list[asyncio.Future[Credentials]] = []

    async def start_and_leave() -> None:
        pending.append(asyncio.ensure_future(p.get_credentials()))
        await asyncio.sleep(0.01)
        assert src.loads == 1
        # Returning cancels the pending refresh with this loop.

    asyncio.run(start_and_leave())
    src.delay = 0
    assert asyncio.run(p.get_credentials()).access_key_id == "AK2"


def test_refresh_stuck_on_a_stopped_loop_is_not_waited_for() -> None:
    src = FakeSource(delay=5.0)
    p = refreshing(src)
    loop = asyncio.new_event_loop()
    try:
        pending: list[asyncio.Future[Credentials]] = []

        async def start() -> None:
            pending.append(asyncio.ensure_future(p.get_credentials()))
            await asyncio.sleep(0.01)

        loop.run_until_complete(start())  # stopped, not closed: its refresh is stuck
        src.delay = 0
        assert asyncio.run(p.get_credentials()).access_key_id == "AK2"
    finally:
        for task in asyncio.all_tasks(loop):
            task.cancel()
        loop.run_until_complete(asyncio.sleep(0))
        loop.close()


def test_concurrent_loops_in_threads_share_one_refresh() -> None:
    src = FakeSource(delay=0.2)
    p = refreshing(src)
    results: list[list[Credentials]] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def worker() -> None:
        async def many() -> list[Credentials]:
            return list(await asyncio.gather(*(p.get_credentials() for _ in range(10))))

        try:
            barrier.wait()
            results.append(asyncio.run(many()))
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    assert len(results) == 4
    assert src.loads == 1
    assert {c.access_key_id for r in results for c in r} == {"AK1"}


async def test_provider_get_credentials_uses_its_own_cache() -> None:
    src = FakeSource()
    a = await src.get_credentials()
    assert await src.get_credentials() is a
    assert src.loads == 1
    src.invalidate()
    assert (await src.get_credentials()).access_key_id == "AK2"


# ------------------------------------------------------------------ chain


class Named(FakeSource):
    def __init__(self, name: str, *, has: bool = True) -> None:
        super().__init__()
        self.label = name
        self.none = not has


async def test_chain_first_provider_with_credentials_wins() -> None:
    a, b, c = Named("a", has=False), Named("b"), Named("c")
    chain = ChainProvider([a, b, c])
    creds = await chain.get_credentials()
    assert creds.access_key_id == "AK1"
    assert (a.loads, b.loads, c.loads) == (1, 1, 0)


async def test_chain_asks_the_winning_provider_first_on_refresh() -> None:
    a, b = Named("a", has=False), Named("b")
    chain = ChainProvider([a, b])
    await chain.load()
    await chain.load()
    assert (a.loads, b.loads) == (1, 2)
    b.none = True  # b lost its credentials: walk the chain again
    a.none = False
    assert (await chain.load()) is not None
    assert (a.loads, b.loads) == (2, 3)


async def test_chain_stops_at_a_broken_provider() -> None:
    a, b = Named("a"), Named("b")
    a.fail = CredentialsError("a is misconfigured")
    with pytest.raises(CredentialsError, match="a is misconfigured"):
        await ChainProvider([a, b]).get_credentials()
    assert b.loads == 0


async def test_chain_nothing_found_names_every_place() -> None:
    chain = ChainProvider([Named("a", has=False), Named("b", has=False)])
    with pytest.raises(NoCredentialsError) as e:
        await chain.get_credentials()
    assert e.value.searched == ["a: switched off", "b: switched off"]
    assert "1. a: switched off" in str(e.value) and "2. b: switched off" in str(e.value)


def test_default_chain_order() -> None:
    chain = default_chain()
    assert [type(p) for p in chain.providers] == [
        EnvProvider,
        WebIdentityProvider,
        SharedFilesProvider,
        ContainerProvider,
        InstanceMetadataProvider,
    ]
    # An explicit profile skips the environment's keys, as in botocore.
    assert [type(p) for p in default_chain("dev").providers] == [
        WebIdentityProvider,
        SharedFilesProvider,
        ContainerProvider,
        InstanceMetadataProvider,
    ]


async def test_explicit_profile_ignores_environment_keys(
    monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    creds_file = f"{tmp_path}/credentials"
    with open(creds_file, "w") as f:
        f.write("[dev]\naws_access_key_id = AKDEV\naws_secret_access_key = dev-secret\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", creds_file)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKENV")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "env-secret")
    assert (await default_chain().get_credentials()).access_key_id == "AKENV"
    assert (await default_chain("dev").get_credentials()).access_key_id == "AKDEV"
    # AWS_PROFILE is not "explicit": the environment's keys still come first.
    monkeypatch.setenv("AWS_PROFILE", "dev")
    assert (await default_chain().get_credentials()).access_key_id == "AKENV"


async def test_as_provider() -> None:
    c = Credentials("A", "s")
    p = as_provider(c)
    assert isinstance(p, StaticProvider) and await p.get_credentials() is c
    src = FakeSource()
    assert as_provider(src) is src
    assert isinstance(as_provider(None), ChainProvider)


def test_reprs_show_no_secrets() -> None:
    c = Credentials("AKREPR", "repr-secret", "repr-token", datetime.now(UTC) + timedelta(hours=1))
    p = RefreshingProvider(StaticProvider(c))
    for obj in (p, StaticProvider(c), default_chain(), default_chain("x")):
        for text in (repr(obj), str(obj)):
            assert "repr-secret" not in text and "repr-token" not in text
