"""S3Client behaviour a real S3 server cannot be made to show on demand.

Each test runs the client against a loopback server scripted to answer exactly the
fault under test: throttling, 5xx, error bodies (also inside a 200), clock skew,
connections cut mid-body, timeouts, a multipart upload failing halfway. Every
request the client sends is checked server-side: its SigV4 signature is recomputed
with ``s3lite.signing`` over what was received.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from urllib.parse import unquote
from xml.etree import ElementTree as ET

import pytest

from s3lite import (
    AccessDenied,
    CommonPrefix,
    Credentials,
    DeleteError,
    NoSuchBucket,
    NoSuchKey,
    ObjectSummary,
    PreconditionFailed,
    RetryConfig,
    S3Client,
    S3Error,
    SlowDown,
    TransportError,
    TransportTimeout,
)
from s3lite.signing import (
    UNSIGNED_PAYLOAD,
    canonical_request,
    credential_scope,
    signing_key,
    string_to_sign,
)
from tests.loopback import LoopbackServer, Peer, ReceivedRequest, http_response, start_raw_server

REGION = "us-east-1"
CREDS = Credentials("AKIDFAULTTESTS", "fault/test+secret")
SECRETS = {CREDS.access_key_id: CREDS.secret_access_key}
# Retries without real waiting: the tests are about what is retried, not how long.
FAST = RetryConfig(max_attempts=5, deadline=30.0, base_delay=0.001, max_delay=0.005)
BUCKET = "bkt"
KEY = "dir/key with space+plus"
ETAG = '"0123456789abcdef0123456789abcdef"'
LAST_MODIFIED = "Wed, 01 May 2024 12:00:00 GMT"
NS = "http://s3.amazonaws.com/doc/2006-03-01/"
DECL = b'<?xml version="1.0" encoding="UTF-8"?>\n'
MiB = 1024 * 1024
DATA = bytes(range(256)) * 1024  # 256 KiB, every byte value, position-dependent

# -- the scripted server -----------------------------------------------------------------

# Answers one request; returns False to end the connection (after a reset, a close...).
Script = Callable[[Peer, ReceivedRequest, int], Awaitable[bool]]


async def serve(script: Script) -> LoopbackServer:
    """A loopback server calling ``script(peer, request, index)`` for every request;
    ``index`` counts requests across all connections."""

    async def handler(peer: Peer) -> None:
        while True:
            req = await peer.read_request()
            if req is None:
                return
            if not await script(peer, req, len(peer.server.requests) - 1):
                return

    return await start_raw_server(handler)


@contextlib.asynccontextmanager
async def scripted(
    script: Script, *, credentials: object = CREDS, **kwargs: object
) -> AsyncIterator[tuple[LoopbackServer, S3Client]]:
    """A scripted server and a client for it. Fails the test if the script raised
    (its assertions about requests run server-side)."""
    server = await serve(script)
    kwargs.setdefault("retry", FAST)
    try:
        async with S3Client(REGION, server.url, credentials, **kwargs) as s3:  # type: ignore[arg-type]
            yield server, s3
    finally:
        await server.stop()
    assert not server.errors, server.errors


def object_response(
    body: bytes, *, status: int = 200, etag: str = ETAG, headers: Iterable[tuple[str, str]] = ()
) -> bytes:
    return http_response(
        status,
        body,
        [
            ("ETag", etag),
            ("Last-Modified", LAST_MODIFIED),
            ("Content-Type", "application/octet-stream"),
            ("x-amz-request-id", "RID-OK"),
            *headers,
        ],
    )


def error_body(code: str, message: str = "", request_id: str | None = None) -> bytes:
    rid = f"<RequestId>{request_id}</RequestId>" if request_id else ""
    inner = f"<Code>{code}</Code><Message>{message}</Message>{rid}<HostId>h=</HostId>"
    return DECL + f"<Error>{inner}</Error>".encode()


def error_response(
    status: int,
    code: str,
    message: str = "",
    request_id: str | None = "RID-ERR",
    headers: Iterable[tuple[str, str]] = (),
) -> bytes:
    return http_response(
        status,
        error_body(code, message, request_id),
        [("Content-Type", "application/xml"), ("x-amz-request-id", "RID-HDR"), *headers],
    )


def query_of(req: ReceivedRequest) -> dict[str, str]:
    qs = req.target.partition("?")[2]
    pairs = (item.partition("=") for item in qs.split("&") if item)
    return {unquote(k): unquote(v) for k, _, v in pairs}


def path_of(req: ReceivedRequest) -> str:
    return req.target.partition("?")[0]


# -- signature verification (server side) ------------------------------------------------

_AUTH = re.compile(
    r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/s3/aws4_request, "
    r"SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})"
)


def amz_time(req: ReceivedRequest) -> datetime:
    return datetime.strptime(req.headers["x-amz-date"], "%Y%m%dT%H%M%SZ").replace(
        tzinfo=timezone.utc
    )


def verify_signature(req: ReceivedRequest, secrets: Mapping[str, str] = SECRETS) -> str:
    """Recompute the SigV4 signature of a received request; returns the access key id."""
    match = _AUTH.fullmatch(req.headers.get("authorization", ""))
    assert match, req.headers.get("authorization")
    key_id, date, region, signed, signature = match.groups()
    names = signed.split(";")
    assert names == sorted(names)
    assert {"host", "x-amz-date", "x-amz-content-sha256"} <= set(names)
    # Everything S3 requires signed is signed (content-length may be added by the transport).
    assert {h for h in req.headers if h.startswith("x-amz-")} <= set(names)
    assert region == REGION
    assert req.headers["x-amz-date"][:8] == date
    payload_hash = req.headers["x-amz-content-sha256"]
    if payload_hash != UNSIGNED_PAYLOAD:
        assert payload_hash == req.body_sha256, "body differs from the hash that was signed"
    qs = req.target.partition("?")[2]
    query = [
        (unquote(k), unquote(v))
        for k, _, v in (item.partition("=") for item in qs.split("&") if item)
    ]
    creq = canonical_request(req.method, path_of(req), query, req.headers, names, payload_hash)
    sts = string_to_sign(req.headers["x-amz-date"], credential_scope(date, region, "s3"), creq)
    key = signing_key(secrets[key_id], date, region, "s3")
    assert hmac.compare_digest(signature, hmac.new(key, sts.encode(), "sha256").hexdigest())
    return key_id


# -- throttling and 5xx: retried, re-signed, bounded ----------------------------------


async def test_slowdown_twice_then_success_resends_a_freshly_signed_request() -> None:
    async def script(peer: Peer, req: ReceivedRequest, n: int) -> bool:
        if n < 2:
            await peer.send(error_response(503, "SlowDown", "Please reduce your request rate."))
        else:
            await peer.send(http_response(200, headers={"ETag": ETAG}))
        return True

    async with scripted(script) as (server, s3):
        result = await s3.put_object(BUCKET, KEY, b"hello world", content_type="text/plain")
    assert result.etag == ETAG
    assert len(server.requests) == 3
    for req in server.requests:
        verify_signature(req)
        assert (req.method, req.target) == ("PUT", "/bkt/dir/key%20with%20space%2Bplus")
        assert req.body == b"hello world"
        assert req.headers["content-type"] == "text/plain"
    # The same instant may give the same signature; a later one must differ.
    dates = [req.headers["x-amz-date"] for req in server.requests]
    signatures = [req.headers["authorization"] for req in server.requests]
    assert len(set(signatures)) == len(set(dates))


class RotatingProvider:
    """Hands out new credentials on every call, as a provider refreshing them would."""

    def __init__(self) -> None:
        self.calls = 0
        self.secrets: dict[str, str] = {}

    async def get_credentials(self) -> Credentials:
        self.calls += 1
        creds = Credentials(f"AKIDROTATING{self.calls}", f"secret-{self.calls}")
        self.secrets[creds.access_key_id] = creds.secret_access_key
        return creds


class RevocableProvider(RotatingProvider):
    """Caches its credentials until told to forget them, as the chain's providers do."""

    def __init__(self) -> None:
        super().__init__()
        self.current: Credentials | None = None
        self.invalidated = 0

    async def get_credentials(self) -> Credentials:
        if self.current is None:
            self.current = await super().get_credentials()
        return self.current

    def invalidate(self) -> None:
        self.invalidated += 1
        self.current = None


async def test_expired_token_fetches_new_credentials_once() -> None:
    async def script(peer: Peer, req: ReceivedRequest, n: int) -> bool:
        revoked = ("Credential=AKIDROTATING1/", "Credential=AKIDROTATING3/", "=AKIDROTATING4/")
        if any(k in req.headers["authorization"] for k in revoked):
            await peer.send(error_response(400, "ExpiredToken", "The provided token has expired."))
        else:
            await peer.send(object_response(b"data"))
        return True

    provider = RevocableProvider()
    async with scripted(script, credentials=provider) as (server, s3):
        assert (await s3.get_object(BUCKET, KEY)).body == b"data"
        assert provider.invalidated == 1
        assert [verify_signature(r, provider.secrets) for r in server.requests] == [
            "AKIDROTATING1",
            "AKIDROTATING2",
        ]
        await s3.get_object(BUCKET, KEY)  # still AKIDROTATING2: no needless refetch
        assert provider.calls == 2
        provider.invalidate()  # keys 3 and 4 are refused too: one renewal per request, no loop
        with pytest.raises(S3Error) as info:
            await s3.get_object(BUCKET, KEY)
        assert info.value.code == "ExpiredToken"
        assert provider.calls == 4


async def test_every_attempt_is_signed_with_the_credentials_current_then() -> None:
    async def script(peer: Peer, req: ReceivedRequest, n: int) -> bool:
        if n < 2:
            await peer.send(error_response(503, "SlowDown"))
        else:
            await peer.send(object_response(b"data"))
        return True

    provider = RotatingProvider()
    async with scripted(script, credentials=provider) as (server, s3):
        obj = await s3.get_object(BUCKET, KEY)
    assert obj.body == b"data"
    key_ids = [verify_signature(req, provider.secrets) for req in server.requests]
    assert len(key_ids) == 3
    assert len(set(key_ids)) == 3  # one signing, with the then-current keys, per attempt


@pytest.mark.parametrize("method", ["GET", "HEAD"])
async def test_slowdown_forever_raises_slowdown_after_max_attempts(method: str) -> None:
    async def script(peer: Peer, req: ReceivedRequest, n: int) -> bool:
        if req.method == "HEAD":  # HEAD answers carry no body
            await peer.send(http_response(503, headers={"x-amz-request-id": f"RID-{n}"}))
        else:
            await peer.send(error_response(503, "SlowDown", "Reduce", request_id=f"RID-{n}"))
        return True

    retry = RetryConfig(max_attempts=4, deadline=30.0, base_delay=0.001, max_delay=0.005)
    async with scripted(script, retry=retry) as (server, s3):
        with pytest.raises(SlowDown) as info:
            if method == "GET":
                await s3.get_object(BUCKET, KEY)
            else:
                await s3.head_object(BUCKET, KEY)
    assert len(server.requests) == 4
    assert (info.value.code, info.value.status, info.value.request_id) == ("SlowDown", 503, "RID-3")
    for req in server.requests:
        verify_signature(req)


async def test_deadline_bounds_the_attempts() -> None:
    async def script(peer: Peer, req: ReceivedRequest, n: int) -> bool:
        await asyncio.sleep(0.1)  # every answer takes at least 0.1 s
        await peer.send(error_response(503, "SlowDown"))
        return True

    # Plenty of attempts allowed, but only 0.25 s: after three slow answers (>= 0.3 s)
    # no further attempt may start, however short the backoff.
    retry = RetryConfig(max_attempts=50, deadline=0.25, base_delay=0.001, max_delay=0.001)
    async with scripted(script, retry=retry) as (server, s3):
        with pytest.raises(SlowDown):
            await s3.get_object(BUCKET, KEY)
    assert 1 <= len(server.requests) <= 3


async def test_5xx_and_internal_error_are_retried() -> None:
    answers = [
        error_response(500, "InternalError", "We encountered an internal error."),
        http_response(502, b"<html><body>Bad Gateway</body></html>"),  # a proxy's page
        http_response(504),
        error_response(503, "ServiceUnavailable"),
        object_response(DATA),
    ]

    async def script(peer: Peer, req: ReceivedRequest, n: int) -> bool:
        await peer.send(answers[n])
        return True

    retry = RetryConfig(max_attempts=5, deadline=30.0, base_delay=0.001, max_delay=0.005)
    async with scripted(script, retry=retry) as (server, s3):
        obj = await s3.get_object(BUCKET, KEY)
    assert obj.body == DATA
    assert len(server.requests) == 5


async def test_throttling_codes_on_400_are_retried() -> None:
    async def script(peer: Peer, req: ReceivedRequest, n: int) -> bool:
        if n == 0:
            await peer.send(error_response(400, "Throttling", "Rate exceeded"))
        elif n == 1:
            await peer.send(error_response(400, "RequestTimeout", "Your socket connection..."))
        else:
            await peer.send(http_response(204))
        return True

    async with scripted(script) as (server, s3):
        await s3.delete_object(BUCKET, KEY)
    assert [r.method for r in server.requests] == ["DELETE"] * 3


# -- error bodies become typed exceptions ---------------------------------------------


@pytest.mark.parametrize(
    ("status", "code", "cls"),
    [
        (400, "InvalidArgument", S3Error),
        (400, "BadDigest", S3Error),
        (403, "AccessDenied", AccessDenied),
        (404, "NoSuchKey", NoSuchKey),
        (404, "NoSuchBucket", NoSuchBucket),
        (412, "PreconditionFailed", PreconditionFailed),
    ],
)
async def test_error_body_becomes_a_typed_exception_and_is_not_retried(
    status: int, code: str, cls: type[S3Error]
) -> None:
    async def script(peer: Peer, req: ReceivedRequest, n: int) -> bool:
        await peer.send(error_response(status, code, f"{code} happened", request_id="RID-BODY"))
        return True

    async with scripted(script) as (server, s3):
        with pytest.raises(S3Error) as info:
            await s3.get_object(BUCKET, KEY, if_match=ETAG)
    err = info.value
    assert type(err) is cls
    assert (err.code, err.message, err.status) == (code, f"{code} happened", status)
    assert err.request_id == "RID-BODY"
    assert (err.bucket, err.key) == (BUCKET, KEY)
    assert len(server.requests) == 1


async def test_bad_digest_on_upload_is_not_retried() -> None:
    async def script(peer: Peer, req: ReceivedRequest, n: int) -> bool:
        verify_signature(req)
        await peer.send(
            error_response(400, "BadDigest", "The Content-MD5 you specified did not match.")
        )
        return True

    async with scripted(script) as (server, s3):
        with pytest.raises(S3Error) as info:
            await s3.put_object(BUCKET, KEY, b"payload")
    assert (info.value.code, info.value.status) == ("BadDigest", 400)
    assert len(server.requests) == 1


@pytest.mark.parametrize(
    ("status", "what", "cls"),
    [
        (404, "object", NoSuchKey),
        (403, "object", AccessDenied),
        (412, "object", PreconditionFailed),
        (404, "bucket", NoSuchBucket),
        (403, "bucket", AccessDenied),
    ],
)
async def test_bodyless_head_errors_are_typed(status: int, what: str, cls: type[S3Error]) -> None:
    async def script(peer: Peer, req: ReceivedRequest, n: int) -> bool:
        assert req.method == "HEAD"
        await peer.send(http_response(status, headers={"x-amz-request-id": "RID-HEAD"}))
        return True

    async with scripted(script) as (server, s3):
        with pytest.raises(S3Error) as info:
            if what == "object":
                await s3.head_object(BUCKET, KEY)
            else:
                await s3.head_bucket(BUCKET)
    assert type(info.value) is cls
    assert (info.value.status, info.value.request_id) == (status, "RID-HEAD")
    assert len(server.requests) == 1


async def test_malformed_listing_is_an_s3error_not_a_parser_traceback() -> None:
    async def script(peer: Peer, req: ReceivedRequest, n: int) -> bool:
        body = DECL + f'<ListBucketResult xmlns="{NS}"><Contents><Key>a'.encode()
        await peer.send(http_response(200, body, {"Content-Type": "application/xml"}))
        return True

    async with scripted(script) as (server, s3):
        with pytest.raises(S3Error) as info:
            async for _ in s3.list_objects(BUCKET):
                pass
    assert info.value.code == "MalformedResponse"
    assert not isinstance(info.value, ET.ParseError)
    assert len(server.requests) == 1


async def test_unreadable_error_body_still_gives_a_typed_error() -> None:
    async def script(peer: Peer, req: ReceivedRequest, n: int) -> bool:
        await peer.send(http_response(403, b"<html>Forbidden by the proxy</html"))
        return True

    async with scripted(script) as (_, s3):
        with pytest.raises(AccessDenied) as info:
            await s3.get_object(BUCKET, KEY)
    assert "Forbidden by the proxy" in info.value.message


async def test_listing_pages_follow_opaque_tokens_and_decode_keys() -> None:
    token = "1/ab+cd=="  # real tokens are base64: '+', '/' and '=' must survive the trip

    def page(entries: str, next_token: str | None) -> bytes:
        tail = (
            f"<IsTruncated>true</IsTruncated><NextContinuationToken>{next_token}"
            "</NextContinuationToken>"
            if next_token
            else "<IsTruncated>false</IsTruncated>"
        )
        return (
            DECL
            + f'<ListBucketResult xmlns="{NS}"><Name>bkt</Name>'
            f"<EncodingType>url</EncodingType>{entries}{tail}</ListBucketResult>".encode()
        )

    entry = (
        "<Contents><Key>{}</Key><LastModified>2024-05-01T12:00:00.000Z</LastModified>"
        "<ETag>&quot;e&quot;</ETag><Size>1</Size><StorageClass>STANDARD</StorageClass></Contents>"
    )

    async def script(peer: Peer, req: ReceivedRequest, n: int) -> bool:
        verify_signature(req)
        q = query_of(req)
        assert (q["list-type"], q["encoding-type"], q["prefix"]) == ("2", "url", "p ")
        if n == 0:
            assert "continuation-token" not in q
            body = page(
                entry.format("p+a%2Bb") + "<CommonPrefixes><Prefix>p+dir/</Prefix>"
                "</CommonPrefixes>",
                token,
            )
        else:
            assert q["continuation-token"] == token
            body = page(entry.format("p+z%0A"), None)
        await peer.send(http_response(200, body))
        return True

    async with scripted(script) as (server, s3):
        entries = [e async for e in s3.list_objects(BUCKET, "p ", "/")]
    assert [e.key if isinstance(e, ObjectSummary) else e for e in entries] == [
        "p a+b",
        CommonPrefix("p dir/"),
        "p z\n",
    ]
    assert len(server.requests) == 2


# -- an <Error> inside a 200 --------------------------------------------------------------

COPY_RESULT = (
    DECL
    + (
        f'<CopyObjectResult xmlns="{NS}"><LastModified>2024-05-01T12:00:00.000Z</LastModified>'
        f"<ETag>&quot;copied&quot;</ETag></CopyObjectResult>"
    ).encode()
)


@pytest.mark.parametrize(
    "padding",
    [b"", b"\n \n", b" " * 2048],
    ids=["bare", "some-whitespace", "long-keep-alive-whitespace"],
)
async def test_copy_error_inside_200_is_retried_then_succeeds(padding: bytes) -> None:
    # S3 answers 200 at once, sends whitespace while it copies, then the outcome.
    async def script(peer: Peer, req: ReceivedRequest, n: int) -> bool:
        verify_signature(req)
        assert req.headers["x-amz-copy-source"] == "/src/a%20b%2Bc"
        if n == 0:
            body = padding + error_body("InternalError", "Please try again.", "RID-200")
        else:
            body = COPY_RESULT
        await peer.send(http_response(200, body, {"Content-Type": "application/xml"}))
        return True

    async with scripted(script) as (server, s3):
        result = await s3.copy_object("src", "a b+c", BUCKET, KEY)
    assert result.etag == '"copied"'
    assert len(server.requests) == 2


async def test_copy_error_inside_200_that_cannot_be_retried_is_raised() -> None:
    async def script(peer: Peer, req: ReceivedRequest, n: int) -> bool:
        body = error_body("AccessDenied", "Access Denied", "RID-200")
        await peer.send(http_response(200, body, {"Content-Type": "application/xml"}))
        return True

    async with scripted(script) as (server, s3):
        with pytest.raises(AccessDenied) as info:
            await s3.copy_object("src", "k", BUCKET, KEY)
    assert (info.value.request_id, info.value.message) == ("RID-200", "Access Denied")
    assert len(server.requests) == 1


def complete_result(etag: str = '"joined-2"') -> bytes:
    return (
        DECL
        + f'<CompleteMultipartUploadResult xmlns="{NS}"><Bucket>bkt</Bucket>'
        f"<Key>k</Key><ETag>{etag}</ETag></CompleteMultipartUploadResult>".encode()
    )


async def test_complete_multipart_error_inside_200_is_retried_then_succeeds() -> None:
    async def script(peer: Peer, req: ReceivedRequest, n: int) -> bool:
        verify_signature(req)
        assert (req.method, query_of(req)) == ("POST", {"uploadId": "UP-1"})
        root = ET.fromstring(req.body)
        assert [p.findtext(f"{{{NS}}}PartNumber") for p in root] == ["1", "2"]
        if n == 0:
            body = b"  \n" + error_body("InternalError", "We encountered an internal error.")
        else:
            body = complete_result()
        await peer.send(http_response(200, body, {"x-amz-version-id": "v9"}))
        return True

    async with scripted(script) as (server, s3):
        result = await s3.complete_multipart_upload(BUCKET, KEY, "UP-1", [(2, '"b"'), (1, '"a"')])
    assert (result.etag, result.version_id) == ('"joined-2"', "v9")
    assert len(server.requests) == 2
    assert server.requests[0].body == server.requests[1].body


async def test_complete_multipart_non_retryable_error_inside_200_is_raised() -> None:
    async def script(peer: Peer, req: ReceivedRequest, n: int) -> bool:
        body = error_body("InvalidPart", "One or more of the specified parts could not be found.")
        await peer.send(http_response(200, body))
        return True

    async with scripted(script) as (server, s3):
        with pytest.raises(S3Error) as info:
            await s3.complete_multipart_upload(BUCKET, KEY, "UP-1", [(1, '"a"')])
    assert (info.value.code, info.value.status) == ("InvalidPart", 200)
    assert len(server.requests) == 1


# -- clock skew ----------------------------------------------------------------------------


async def test_request_time_too_skewed_corrects_the_clock_and_resigns() -> None:
    server_offset = timedelta(hours=1)

    def server_now() -> datetime:
        return datetime.now(timezone.utc) + server_offset

    async def script(peer: Peer, req: ReceivedRequest, n: int) -> bool:
        verify_signature(req)
        date = [("Date", format_datetime(server_now(), usegmt=True))]
        if abs(amz_time(req) - server_now()) > timedelta(minutes=5):
            await peer.send(
                error_response(
                    403,
                    "RequestTimeTooSkewed",
                    "The difference between the request time and the current time is too large.",
                    headers=date,
                )
            )
        elif req.method == "HEAD":
            head = [("ETag", ETAG), ("Last-Modified", LAST_MODIFIED), ("Content-Length", "4")]
            await peer.send(http_response(200, headers=[*head, *date], content_length=False))
        else:
            await peer.send(object_response(b"body", headers=date))
        return True

    async with scripted(script) as (server, s3):
        obj = await s3.get_object(BUCKET, KEY)
        assert obj.body == b"body"
        assert len(server.requests) == 2
        first, retry = server.requests
        assert abs(amz_time(first) - datetime.now(timezone.utc)) < timedelta(minutes=5)
        assert abs(amz_time(retry) - server_now()) < timedelta(minutes=5)
        # The correction sticks: the next request is signed with the server's time at once.
        info = await s3.head_object(BUCKET, KEY)
        assert info.size == 4
        assert len(server.requests) == 3
        assert abs(amz_time(server.requests[2]) - server_now()) < timedelta(minutes=5)


async def test_request_time_too_skewed_without_a_date_is_raised() -> None:
    async def script(peer: Peer, req: ReceivedRequest, n: int) -> bool:
        await peer.send(error_response(403, "RequestTimeTooSkewed", "too skewed"))
        return True

    async with scripted(script) as (server, s3):
        with pytest.raises(S3Error) as info:
            await s3.get_object(BUCKET, KEY)
    assert info.value.code == "RequestTimeTooSkewed"
    assert len(server.requests) == 1


# -- connections cut, timeouts ---------------------------------------------------------


def cut(peer: Peer, how: str) -> bool:
    if how == "reset":
        peer.reset()
    else:
        peer.close()
    return False


@pytest.mark.parametrize("how", ["reset", "close"])
async def test_get_cut_mid_body_is_retried_and_returns_the_whole_body(how: str) -> None:
    async def script(peer: Peer, req: ReceivedRequest, n: int) -> bool:
        if n == 0:
            full = object_response(DATA)
            await peer.send(full[: len(full) - len(DATA) // 2])
            return cut(peer, how)
        await peer.send(object_response(DATA))
        return True

    async with scripted(script) as (server, s3):
        obj = await s3.get_object(BUCKET, KEY)
    assert obj.body == DATA
    assert obj.size == len(DATA)
    assert len(server.requests) == 2
    assert server.accepted == 2


async def test_get_connection_reset_before_the_answer_is_retried() -> None:
    async def script(peer: Peer, req: ReceivedRequest, n: int) -> bool:
        if n == 0:
            peer.reset()
            return False
        await peer.send(object_response(b"ok"))
        return True

    async with scripted(script) as (server, s3):
        assert (await s3.get_object(BUCKET, KEY)).body == b"ok"
    assert len(server.requests) == 2


async def test_non_idempotent_request_reset_after_sending_is_not_retried() -> None:
    async def script(peer: Peer, req: ReceivedRequest, n: int) -> bool:
        peer.reset()  # it reached the server: a retry could start a second upload
        return False

    async with scripted(script) as (server, s3):
        with pytest.raises(TransportError) as info:
            await s3.create_multipart_upload(BUCKET, KEY)
    assert info.value.request_sent
    assert len(server.requests) == 1


@pytest.mark.parametrize("pin", ["etag-from-response", "if-match-given"])
@pytest.mark.parametrize("how", ["reset", "close"])
async def test_streamed_get_cut_mid_body_resumes_with_a_pinned_range(how: str, pin: str) -> None:
    """The sink must get every byte exactly once: the resumed request asks for the
    rest only (Range), of the same object (If-Match on the first answer's ETag)."""
    half = len(DATA) // 2
    sunk = bytearray()
    first_chunk = asyncio.Event()
    resumed_at: list[int] = []

    def sink(chunk: bytes) -> None:
        sunk.extend(chunk)
        first_chunk.set()

    async def script(peer: Peer, req: ReceivedRequest, n: int) -> bool:
        verify_signature(req)
        if n == 0:
            assert "range" not in req.headers
            full = object_response(DATA)
            await peer.send(full[: len(full) - (len(DATA) - half)])
            await first_chunk.wait()  # the client has part of the body: now cut
            return cut(peer, how)
        match = re.fullmatch(r"bytes=(\d+)-", req.headers.get("range", ""))
        assert match, req.headers
        start = int(match.group(1))
        resumed_at.append(start)
        assert req.headers.get("if-match") == ETAG
        rest = DATA[start:]
        await peer.send(
            object_response(
                rest,
                status=206,
                headers=[("Content-Range", f"bytes {start}-{len(DATA) - 1}/{len(DATA)}")],
            )
        )
        return True

    if_match = ETAG if pin == "if-match-given" else None
    async with scripted(script) as (server, s3):
        obj = await s3.get_object(BUCKET, KEY, sink=sink, if_match=if_match)
    assert bytes(sunk) == DATA  # nothing lost, nothing twice
    assert (obj.body, obj.size, obj.etag) == (b"", len(DATA), ETAG)
    assert len(server.requests) == 2
    assert 0 < resumed_at[0] <= half
    if how == "close":  # a clean close delivers everything sent before it
        assert resumed_at == [half]


async def test_streamed_get_without_resume_raises_when_cut() -> None:
    """resume=False is the bare GetObject: a cut stream is the caller's to resume
    (the error carries the ETag to pin the rest to)."""
    half = len(DATA) // 2
    sunk = bytearray()
    first_chunk = asyncio.Event()

    def sink(chunk: bytes) -> None:
        sunk.extend(chunk)
        first_chunk.set()

    async def script(peer: Peer, req: ReceivedRequest, n: int) -> bool:
        full = object_response(DATA)
        await peer.send(full[: len(full) - (len(DATA) - half)])
        await first_chunk.wait()
        return cut(peer, "reset")

    async with scripted(script) as (server, s3):
        with pytest.raises(TransportError) as info:
            await s3.get_object(BUCKET, KEY, sink=sink, resume=False)
    assert info.value.headers.get("etag") == ETAG
    assert 0 < len(sunk) <= half
    assert len(server.requests) == 1


async def test_streamed_get_retries_a_503_without_feeding_the_sink_its_body() -> None:
    sunk = bytearray()

    async def script(peer: Peer, req: ReceivedRequest, n: int) -> bool:
        if n == 0:
            await peer.send(error_response(503, "SlowDown"))
        else:
            await peer.send(object_response(DATA))
        return True

    async with scripted(script) as (server, s3):
        await s3.get_object(BUCKET, KEY, sink=sunk.extend)
    assert bytes(sunk) == DATA
    assert len(server.requests) == 2


async def test_read_timeout_on_get_is_retried() -> None:
    async def script(peer: Peer, req: ReceivedRequest, n: int) -> bool:
        if n == 0:
            await peer.wait_closed()  # never answer: the client gives up on this connection
            return False
        await peer.send(object_response(b"late but fine"))
        return True

    async with scripted(script, read_timeout=0.3) as (server, s3):
        obj = await s3.get_object(BUCKET, KEY)
    assert obj.body == b"late but fine"
    assert len(server.requests) == 2
    assert server.accepted == 2


async def test_read_timeout_on_complete_multipart_is_not_retried() -> None:
    async def script(peer: Peer, req: ReceivedRequest, n: int) -> bool:
        await peer.wait_closed()
        return False

    async with scripted(script, read_timeout=0.3) as (server, s3):
        with pytest.raises(TransportTimeout) as info:
            await s3.complete_multipart_upload(BUCKET, KEY, "UP-1", [(1, '"a"')])
    assert info.value.request_sent
    assert len(server.requests) == 1  # it may have been applied: never sent twice


# -- multipart upload failing halfway --------------------------------------------------

UPLOAD_ID = "UPLOAD-ID-1"


@pytest.mark.parametrize("failure", ["403", "500-forever"])
async def test_failed_part_aborts_the_multipart_upload(failure: str) -> None:
    body = bytes(range(256)) * (11 * MiB // 256)  # 3 parts of 5, 5 and 1 MiB

    async def script(peer: Peer, req: ReceivedRequest, n: int) -> bool:
        verify_signature(req)
        assert path_of(req) == "/bkt/dir/key%20with%20space%2Bplus"
        q = query_of(req)
        if req.method == "POST" and "uploads" in q:
            answer = (
                DECL
                + (
                    f'<InitiateMultipartUploadResult xmlns="{NS}"><Bucket>bkt</Bucket>'
                    f"<Key>k</Key><UploadId>{UPLOAD_ID}</UploadId></InitiateMultipartUploadResult>"
                ).encode()
            )
            await peer.send(http_response(200, answer))
        elif req.method == "PUT":
            assert q["uploadId"] == UPLOAD_ID
            number = int(q["partNumber"])
            start = (number - 1) * 5 * MiB
            assert req.body == body[start : start + 5 * MiB]
            if number != 2:
                await peer.send(http_response(200, headers={"ETag": f'"part{number}"'}))
            elif failure == "403":
                await peer.send(error_response(403, "AccessDenied", "Access Denied"))
            else:
                await peer.send(error_response(500, "InternalError"))
        elif req.method == "DELETE":
            assert q == {"uploadId": UPLOAD_ID}
            await peer.send(http_response(204))
        else:  # CompleteMultipartUpload: must not happen
            await peer.send(http_response(200, complete_result()))
        return True

    retry = RetryConfig(max_attempts=3, deadline=30.0, base_delay=0.001, max_delay=0.005)
    async with scripted(
        script, retry=retry, multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB
    ) as (server, s3):
        with pytest.raises(S3Error) as info:
            await s3.put_object(BUCKET, KEY, body)
    assert info.value.code == ("AccessDenied" if failure == "403" else "InternalError")
    methods = [(r.method, tuple(sorted(query_of(r)))) for r in server.requests]
    assert methods[0] == ("POST", ("uploads",))
    assert methods[-1] == ("DELETE", ("uploadId",))  # aborted: no parts left behind
    assert methods.count(("DELETE", ("uploadId",))) == 1
    assert ("POST", ("uploadId",)) not in methods  # never completed
    part2 = [r for r in server.requests if query_of(r).get("partNumber") == "2"]
    assert len(part2) == (1 if failure == "403" else 3)


# -- DeleteObjects batches -----------------------------------------------------------


def delete_keys(req: ReceivedRequest) -> list[str]:
    root = ET.fromstring(req.body)  # S3 answers MalformedXML to what this cannot parse
    assert root.tag == f"{{{NS}}}Delete"
    return [obj.findtext(f"{{{NS}}}Key") or "" for obj in root.iter(f"{{{NS}}}Object")]


def delete_script(fail: str | None = None) -> Script:
    async def script(peer: Peer, req: ReceivedRequest, n: int) -> bool:
        verify_signature(req)
        if req.method == "DELETE":  # a single DeleteObject
            await peer.send(http_response(204))
            return True
        assert (req.method, query_of(req), path_of(req)) == ("POST", {"delete": ""}, "/bkt")
        md5 = base64.b64encode(hashlib.md5(req.body).digest()).decode()
        assert req.headers["content-md5"] == md5
        try:
            keys = delete_keys(req)
        except ET.ParseError:
            await peer.send(
                error_response(400, "MalformedXML", "The XML you provided was not well-formed")
            )
            return True
        assert 1 <= len(keys) <= 1000
        errors = "".join(
            f"<Error><Key>{k}</Key><Code>AccessDenied</Code><Message>Access Denied</Message>"
            "</Error>"
            for k in keys
            if k == fail
        )
        answer = DECL + f'<DeleteResult xmlns="{NS}">{errors}</DeleteResult>'.encode()
        await peer.send(http_response(200, answer))
        return True

    return script


async def test_delete_objects_sends_batches_of_at_most_1000_with_content_md5() -> None:
    awkward = ["a&b<c>", "quote\"apos'", "cr\rlf\n", "tab\t", "üñï/😀", " spaced "]
    keys = awkward + [f"k/{i:05d}" for i in range(2500 - len(awkward))]

    async with scripted(delete_script(fail="k/01500")) as (server, s3):
        failures = await s3.delete_objects(BUCKET, iter(keys))
    assert failures == [DeleteError("k/01500", "AccessDenied", "Access Denied")]
    assert len(server.requests) == 3
    batches = [delete_keys(r) for r in server.requests]
    assert sorted(len(b) for b in batches) == [500, 1000, 1000]
    assert sorted(k for b in batches for k in b) == sorted(keys)  # every key once, exactly


async def test_delete_objects_with_a_key_xml_cannot_carry() -> None:
    """S3 rejects a DeleteObjects body holding such a key as MalformedXML (the whole
    batch); the key can only be deleted by URL, where it is percent-encoded."""
    async with scripted(delete_script()) as (server, s3):
        failures = await s3.delete_objects(BUCKET, ["ok-1", "bad\x01key", "ok-2"])
    assert failures == []
    posts = [r for r in server.requests if r.method == "POST"]
    deletes = [r for r in server.requests if r.method == "DELETE"]
    assert sorted(k for r in posts for k in delete_keys(r)) == ["ok-1", "ok-2"]
    assert [r.target for r in deletes] == ["/bkt/bad%01key"]
