"""The fault-injecting proxy itself: each fault does what it says, against moto."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from s3lite import Credentials, RetryConfig, S3Client, S3Error, TransportError, TransportTimeout
from tests.faultproxy import ProxiedRequest, S3Proxy
from tests.motoserver import REGION, MotoServer


@pytest.fixture
async def proxy(moto_auth: MotoServer) -> AsyncIterator[S3Proxy]:
    p = await S3Proxy(moto_auth.endpoint_url).start()
    yield p
    await p.stop()


def client(proxy: S3Proxy, moto: MotoServer, attempts: int = 1) -> S3Client:
    return S3Client(
        region=REGION,
        endpoint_url=proxy.url,
        credentials=Credentials(moto.access_key_id, moto.secret_access_key),
        retry=RetryConfig(max_attempts=attempts, base_delay=0.001),
        read_timeout=5.0,
    )


def puts(request: ProxiedRequest) -> bool:
    return request.kind == "PutObject"


async def test_forwards_signed_requests_and_counts_them(
    proxy: S3Proxy, moto_auth: MotoServer, auth_bucket: str
) -> None:
    async with client(proxy, moto_auth) as s3:
        await s3.put_object(auth_bucket, "a b/é.txt", b"hello")
        assert (await s3.get_object(auth_bucket, "a b/é.txt")).body == b"hello"
        assert (await s3.head_object(auth_bucket, "a b/é.txt")).size == 5
    assert dict(proxy.counts) == {"PutObject": 1, "GetObject": 1, "HeadObject": 1}
    assert proxy.requests[0].key == "a b/é.txt"


async def test_slow_down_burst_then_through(
    proxy: S3Proxy, moto_auth: MotoServer, auth_bucket: str
) -> None:
    rule = proxy.slow_down(3, when=puts)
    async with client(proxy, moto_auth) as s3:
        for _ in range(3):
            with pytest.raises(S3Error) as e:
                await s3.put_object(auth_bucket, "k", b"x")
            assert (e.value.status, e.value.code) == (503, "SlowDown")
        await s3.put_object(auth_bucket, "k", b"x")  # the burst is over
        assert (await s3.get_object(auth_bucket, "k")).body == b"x"
    assert rule.spent and len(rule.hits) == 3


async def test_refused_deletes_name_each_key_and_delete_nothing(
    proxy: S3Proxy, moto_auth: MotoServer, auth_bucket: str
) -> None:
    rule = proxy.refuse_deletes(code="InternalError")
    async with client(proxy, moto_auth) as s3:
        for key in ("a&b", "c"):
            await s3.put_object(auth_bucket, key, b"x")
        failed = await s3.delete_objects(auth_bucket, ["a&b", "c"])
        assert sorted((e.key, e.code) for e in failed) == [
            ("a&b", "InternalError"),
            ("c", "InternalError"),
        ]
        assert (await s3.get_object(auth_bucket, "a&b")).body == b"x"  # nothing deleted
        assert await s3.delete_objects(auth_bucket, ["a&b", "c"]) == []  # once only
        with pytest.raises(S3Error):
            await s3.head_object(auth_bucket, "c")
    assert rule.spent and proxy.counts["DeleteObjects"] == 2


async def test_reset_before_never_reaches_s3(
    proxy: S3Proxy, moto_auth: MotoServer, auth_bucket: str
) -> None:
    proxy.reset_before(puts)
    async with client(proxy, moto_auth) as s3:
        with pytest.raises(TransportError):
            await s3.put_object(auth_bucket, "k", b"x")
    listed = moto_auth.boto3_client().list_objects_v2(Bucket=auth_bucket)
    assert listed.get("KeyCount", 0) == 0


async def test_reset_after_applies_but_the_answer_is_lost(
    proxy: S3Proxy, moto_auth: MotoServer, auth_bucket: str
) -> None:
    proxy.reset_after(puts)
    async with client(proxy, moto_auth) as s3:
        with pytest.raises(TransportError):
            await s3.put_object(auth_bucket, "k", b"applied")
        assert (await s3.get_object(auth_bucket, "k")).body == b"applied"


async def test_truncated_body(proxy: S3Proxy, moto_auth: MotoServer, auth_bucket: str) -> None:
    async with client(proxy, moto_auth) as s3:
        await s3.put_object(auth_bucket, "k", b"0123456789" * 100)
        proxy.truncate(lambda r: r.kind == "GetObject", keep=10)
        with pytest.raises(TransportError):
            await s3.get_object(auth_bucket, "k")
        assert len((await s3.get_object(auth_bucket, "k")).body) == 1000


async def test_stall_longer_than_the_read_timeout(
    proxy: S3Proxy, moto_auth: MotoServer, auth_bucket: str
) -> None:
    proxy.stall(30.0, lambda r: r.kind == "HeadObject", after=True)
    s3 = S3Client(
        region=REGION,
        endpoint_url=proxy.url,
        credentials=Credentials(moto_auth.access_key_id, moto_auth.secret_access_key),
        retry=RetryConfig(max_attempts=1),
        read_timeout=0.3,
    )
    async with s3:
        with pytest.raises(TransportTimeout):
            await s3.head_object(auth_bucket, "k")


async def test_held_request_waits_for_release(
    proxy: S3Proxy, moto_auth: MotoServer, auth_bucket: str
) -> None:
    held = proxy.hold_next(puts)
    async with client(proxy, moto_auth) as s3:
        task = asyncio.ensure_future(s3.put_object(auth_bucket, "k", b"late"))
        request = await held.arrived()
        assert request.key == "k"
        # while it is held, S3 has not seen it, and other requests go through
        with pytest.raises(S3Error):
            await s3.head_object(auth_bucket, "k")
        held.release()
        await task
        assert (await s3.get_object(auth_bucket, "k")).body == b"late"
