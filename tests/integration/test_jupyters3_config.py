"""Configuration, start-up checks, authentication, encryption, event loops and
S3 error mapping."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from tornado import gen
from tornado.httpserver import HTTPServer
from tornado.web import Application, HTTPError, RequestHandler
from traitlets import TraitError

from jupyters3 import (
    AwsCreds,
    JupyterS3,
    JupyterS3Authentication,
    JupyterS3DefaultAuthentication,
    JupyterS3ECSRoleAuthentication,
    JupyterS3SecretAccessKeyAuthentication,
)
from tests.integration.test_jupyters3_fixtures import (
    S3Proxy,
    all_keys,
    auth_proxy,
    make_manager,
    manager_config,
    text,
)
from tests.loopback import unused_port
from tests.motoserver import MotoServer
from tests.rgwserver import ON_RGW

__all__ = ["auth_proxy"]


# -- start-up -------------------------------------------------------------------


def test_no_bucket_fails_at_start(moto_auth: MotoServer) -> None:
    with pytest.raises(TraitError, match="no bucket configured"):
        make_manager(moto_auth, "")


def test_missing_bucket_fails_at_start(moto_auth: MotoServer) -> None:
    with pytest.raises(TraitError, match="'no-such-bucket-here' does not exist"):
        make_manager(moto_auth, "no-such-bucket-here")


def test_wrong_credentials_fail_at_start(moto_auth: MotoServer, auth_bucket: str) -> None:
    config = manager_config(moto_auth.endpoint_url, moto_auth, auth_bucket)
    config.JupyterS3SecretAccessKeyAuthentication.aws_secret_access_key = "wrong"
    with pytest.raises(TraitError, match=r"refused to list .* with the configured credentials"):
        JupyterS3(config=config)


def test_unreachable_endpoint_fails_at_start(moto_auth: MotoServer, auth_bucket: str) -> None:
    url = f"http://127.0.0.1:{unused_port()}"
    with pytest.raises(TraitError, match="cannot reach S3"):
        make_manager(moto_auth, auth_bucket, endpoint_url=url, startup_check=True)


@pytest.fixture
def silent_endpoint() -> Iterator[str]:
    """A loopback port whose kernel completes every connection (the listen backlog)
    and where nothing ever answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


@pytest.mark.moto_only(reason="loopback endpoints only: no S3 server is involved")
def test_silent_endpoint_fails_at_start_within_the_bound(
    moto_auth: MotoServer, auth_bucket: str, silent_endpoint: str
) -> None:
    # read_timeout and the retries alone would take minutes: startup_timeout bounds them
    with pytest.raises(TraitError) as e:
        make_manager(
            moto_auth,
            auth_bucket,
            endpoint_url=silent_endpoint,
            startup_check=True,
            startup_timeout=0.5,
            read_timeout=600.0,
        )
    assert silent_endpoint in str(e.value)
    assert "did not answer within 0.5 s" in str(e.value) or "cannot reach S3" in str(e.value)


@pytest.mark.moto_only(reason="loopback endpoints only: no S3 server is involved")
def test_refused_endpoint_fails_at_start_within_the_bound(
    moto_auth: MotoServer, auth_bucket: str
) -> None:
    url = f"http://127.0.0.1:{unused_port()}"
    with pytest.raises(TraitError) as e:
        make_manager(
            moto_auth, auth_bucket, endpoint_url=url, startup_check=True, startup_timeout=0.5
        )
    assert url in str(e.value)
    assert "cannot reach S3" in str(e.value) or "did not answer within 0.5 s" in str(e.value)


@pytest.mark.moto_only(reason="loopback endpoints only: no S3 server is involved")
async def test_start_up_check_in_a_running_loop_does_not_block_it(
    moto_auth: MotoServer,
    auth_bucket: str,
    silent_endpoint: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # the constructor returns at once; the check runs as a task and logs its outcome
    cm = make_manager(
        moto_auth,
        auth_bucket,
        endpoint_url=silent_endpoint,
        startup_check=True,
        startup_timeout=0.5,
        read_timeout=600.0,
    )
    task = cm._startup_task
    assert task is not None and not task.done()
    with caplog.at_level("INFO"):
        await task
    failures = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert any(silent_endpoint in m and "jupyters3:" in m for m in failures), failures
    await cm.close()


async def test_start_up_check_in_a_running_loop_logs_success(
    moto_auth: MotoServer, auth_bucket: str, caplog: pytest.LogCaptureFixture
) -> None:
    cm = make_manager(moto_auth, auth_bucket, startup_check=True)
    assert cm._startup_task is not None
    with caplog.at_level("INFO"):
        await cm._startup_task
    assert any("start-up check passed" in r.getMessage() for r in caplog.records)
    await cm.close()

    wrong = make_manager(moto_auth, "no-such-bucket-here", startup_check=True)
    assert wrong._startup_task is not None
    with caplog.at_level("INFO"):
        await wrong._startup_task
    assert any("does not exist" in r.getMessage() for r in caplog.records if r.levelname == "ERROR")
    await wrong.close()


def test_bad_options_fail_at_start(moto_auth: MotoServer, auth_bucket: str) -> None:
    with pytest.raises(TraitError, match="prefix"):
        make_manager(moto_auth, auth_bucket, prefix="a/../b")
    with pytest.raises(TraitError, match="kms_key_id"):
        make_manager(moto_auth, auth_bucket, kms_key_id="k")
    with pytest.raises(TraitError):
        make_manager(moto_auth, auth_bucket, sse="rot13")
    with pytest.raises(TraitError, match="5 MiB"):
        make_manager(moto_auth, auth_bucket, upload_part_size=1024)
    for threshold in (1024, 5 * 1024**3 + 1):
        with pytest.raises(TraitError, match="multipart_threshold must be between 5 MiB and 5 GiB"):
            make_manager(moto_auth, auth_bucket, multipart_threshold=threshold)
    with pytest.raises(TraitError):
        make_manager(moto_auth, auth_bucket, max_checkpoints=0)


def test_start_up_writes_nothing(moto_auth: MotoServer, auth_bucket: str) -> None:
    cm = make_manager(moto_auth, auth_bucket, prefix="users/someone/")
    assert cm.info_string().startswith(f"Serving contents from s3://{auth_bucket}/users/someone/")
    assert all_keys(moto_auth, auth_bucket) == []


def test_usable_from_any_event_loop(moto_auth: MotoServer, auth_bucket: str) -> None:
    """jupyter_server validates preferred_dir with run_sync on a helper loop; tests
    and embedders use one loop after another: the manager must follow."""
    moto_auth.boto3_client().put_object(Bucket=auth_bucket, Key="start/", Body=b"")
    cm = make_manager(moto_auth, auth_bucket, preferred_dir="start")
    assert cm.preferred_dir == "start"
    asyncio.run(cm.save(text("one"), "start/a.txt"))
    assert asyncio.run(cm.get("start/a.txt"))["content"] == "one"
    loop = asyncio.new_event_loop()
    try:
        assert loop.run_until_complete(cm.file_exists("start/a.txt"))
    finally:
        loop.close()
    with pytest.raises(TraitError, match="not found"):
        make_manager(moto_auth, auth_bucket, preferred_dir="nope")


# -- authentication --------------------------------------------------------------


class AsyncAuth(JupyterS3Authentication):
    """A user's own class: ``async def``, with a pre-auth header."""

    calls = 0
    key = ""
    secret = ""

    async def get_credentials(self) -> AwsCreds:
        type(self).calls += 1
        return AwsCreds(
            access_key_id=self.key,
            secret_access_key=self.secret,
            pre_auth_headers={"x-amz-request-payer": "requester"},
        )


class CoroutineAuth(JupyterS3Authentication):
    """As the old jupyters3's classes were written: a tornado ``gen.coroutine``."""

    key = ""
    secret = ""

    @gen.coroutine
    def get_credentials(self):  # type: ignore[no-untyped-def]
        yield gen.moment
        return AwsCreds(self.key, self.secret, {})


@pytest.mark.parametrize("auth_class", [AsyncAuth, CoroutineAuth])
async def test_user_authentication_classes(
    moto_auth: MotoServer, auth_bucket: str, auth_proxy: S3Proxy, auth_class: Any
) -> None:
    auth_class.key, auth_class.secret = moto_auth.access_key_id, moto_auth.secret_access_key
    cm = make_manager(
        moto_auth, auth_bucket, endpoint_url=auth_proxy.url, authentication_class=auth_class
    )
    assert isinstance(cm.authentication, auth_class)
    await cm.save(text("signed"), "a.txt")  # moto checks every signature
    assert (await cm.get("a.txt"))["content"] == "signed"
    if auth_class is AsyncAuth:
        assert AsyncAuth.calls >= 2  # asked before each request
        for headers in auth_proxy.headers:
            assert headers["x-amz-request-payer"] == "requester"
            assert "x-amz-request-payer" in headers["authorization"]  # signed
    await cm.close()


async def test_session_token_is_sent_and_signed(moto: MotoServer, bucket: str) -> None:
    proxy = await S3Proxy(moto.endpoint_url).start()
    config = manager_config(proxy.url, moto, bucket, startup_check=False)
    config.JupyterS3SecretAccessKeyAuthentication.aws_session_token = "the-token"
    cm = JupyterS3(config=config)
    await cm.save(text("x"), "a.txt")
    assert proxy.headers
    for headers in proxy.headers:
        assert headers["x-amz-security-token"] == "the-token"
        assert "x-amz-security-token" in headers["authorization"]
    await cm.close()
    await proxy.stop()


@pytest.fixture
async def container_credentials(
    moto_auth: MotoServer, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[list[str]]:
    """A loopback stand-in for the ECS container credentials endpoint."""
    served: list[str] = []

    class Creds(RequestHandler):
        def get(self) -> None:
            served.append(self.request.headers.get("Authorization", ""))
            expires = datetime.now(timezone.utc) + timedelta(hours=1)
            self.finish(
                json.dumps(
                    {
                        "AccessKeyId": moto_auth.access_key_id,
                        "SecretAccessKey": moto_auth.secret_access_key,
                        "Token": "ecs-token",
                        "Expiration": expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    }
                )
            )

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    sock.setblocking(False)
    server = HTTPServer(Application([(r"/creds", Creds)]))
    server.add_sockets([sock])
    port = sock.getsockname()[1]
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", raising=False)
    monkeypatch.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", f"http://127.0.0.1:{port}/creds")
    monkeypatch.setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "secret-auth")
    yield served
    server.stop()


async def test_ecs_role_authentication(
    moto: MotoServer, moto_auth: MotoServer, bucket: str, container_credentials: list[str]
) -> None:
    proxy = await S3Proxy(moto.endpoint_url).start()
    config = manager_config(proxy.url, moto, bucket, startup_check=False)
    config.JupyterS3.authentication_class = JupyterS3ECSRoleAuthentication
    cm = JupyterS3(config=config)
    await cm.save(text("x"), "a.txt")
    await cm.get("a.txt")
    assert container_credentials == ["secret-auth"]  # fetched once, then cached
    assert all(h["x-amz-security-token"] == "ecs-token" for h in proxy.headers)
    creds = await cm.authentication.get_credentials()
    assert creds.access_key_id == moto_auth.access_key_id  # what the endpoint served
    assert creds.pre_auth_headers == {}
    await cm.close()
    await proxy.stop()


@pytest.fixture
def env_credentials(
    moto_auth: MotoServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> Iterator[None]:
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_CONTAINER_CREDENTIALS_FULL_URI"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", moto_auth.access_key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", moto_auth.secret_access_key)
    yield


def test_default_authentication_uses_the_credential_chain(
    moto_auth: MotoServer, auth_bucket: str, env_credentials: None
) -> None:
    config = manager_config(moto_auth.endpoint_url, moto_auth, auth_bucket)
    del config.JupyterS3["authentication_class"]
    cm = JupyterS3(config=config)  # the start-up check already signs with the chain's keys
    assert type(cm.authentication) is JupyterS3DefaultAuthentication
    asyncio.run(cm.save(text("chain"), "c.txt"))
    creds = asyncio.run(cm.authentication.get_credentials())
    assert creds.access_key_id == moto_auth.access_key_id


def test_secret_key_authentication_needs_both_keys(moto_auth: MotoServer, auth_bucket: str) -> None:
    config = manager_config(moto_auth.endpoint_url, moto_auth, auth_bucket)
    config.JupyterS3SecretAccessKeyAuthentication.aws_secret_access_key = ""
    with pytest.raises(TraitError, match="aws_secret_access_key"):
        JupyterS3(config=config)
    assert isinstance(JupyterS3SecretAccessKeyAuthentication(), JupyterS3Authentication)


# -- encryption ------------------------------------------------------------------


async def test_server_side_encryption(
    moto_auth: MotoServer, auth_bucket: str, auth_proxy: S3Proxy
) -> None:
    cm = make_manager(moto_auth, auth_bucket, endpoint_url=auth_proxy.url, sse="AES256")
    await cm.save({"type": "directory"}, "d")
    await cm.new(path="d/n.ipynb")
    await cm.copy("d/n.ipynb")
    await cm.rename("d", "e")
    await cm.close()
    writes = [
        r
        for r in auth_proxy.requests
        if r.kind in ("PutObject", "CopyObject", "CreateMultipartUpload")
    ]
    assert {r.kind for r in writes} == {"PutObject", "CopyObject"}
    for request in writes:  # every write asks for it...
        assert request.headers.get("x-amz-server-side-encryption") == "AES256", request.kind
    s3 = moto_auth.boto3_client()
    keys = all_keys(moto_auth, auth_bucket)
    assert len(keys) == 5  # folder, 2 notebooks, 2 checkpoints
    for key in keys:  # ...and moto says so; Ceph RGW 16 stores it but reports none
        echo = s3.head_object(Bucket=auth_bucket, Key=key).get("ServerSideEncryption")
        assert echo == "AES256" or (ON_RGW and echo is None)


# -- S3 errors as HTTP errors -------------------------------------------------------


async def test_s3_errors_become_http_errors(moto: MotoServer, bucket: str) -> None:
    proxy = await S3Proxy(moto.endpoint_url).start()
    cm = make_manager(moto, bucket, endpoint_url=proxy.url)
    await cm.save(text("x"), "a.txt")
    for status, code, expected in [
        (403, "AccessDenied", 403),
        (409, "OperationAborted", 409),
        (400, "InvalidArgument", 500),  # a request of ours S3 refused: not the user's mistake
        (400, "KeyTooLongError", 400),
        (500, "InternalError", 500),
    ]:
        proxy.fault = lambda kind, req, s=status, c=code: (s, c)
        with pytest.raises(HTTPError) as e:
            await cm.get("a.txt")
        assert e.value.status_code == expected
        assert code in str(e.value.log_message)
        if expected == 500:
            assert "S3 request id proxy-" in str(e.value.log_message)
    proxy.fault = lambda kind, req: (404, "NoSuchBucket")
    with pytest.raises(HTTPError) as e:
        await cm.get("a.txt")
    assert e.value.status_code == 500 and "bucket does not exist" in str(e.value.log_message)
    await cm.close()
    await proxy.stop()
