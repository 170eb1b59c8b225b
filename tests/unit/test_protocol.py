"""s3lite.protocol: endpoints, request addressing and reading responses, without I/O."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from s3lite.errors import (
    AccessDenied,
    InvalidRange,
    NoSuchBucket,
    NoSuchKey,
    NotModified,
    PreconditionFailed,
    S3Error,
    SlowDown,
    denies_access,
)
from s3lite.messages import Response
from s3lite.models import ObjectInfo, S3Object
from s3lite.protocol import Endpoint, error_from_response, http_date, object_info

# -- endpoints -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "scheme", "host", "base_path"),
    [
        ("http://127.0.0.1:9000", "http", "127.0.0.1:9000", ""),
        ("http://127.0.0.1:9000/", "http", "127.0.0.1:9000", ""),
        ("https://minio.example.com", "https", "minio.example.com", ""),
        ("https://minio.example.com:443", "https", "minio.example.com", ""),  # default port
        ("http://minio.example.com:80/", "http", "minio.example.com", ""),
        ("https://minio.example.com:80", "https", "minio.example.com:80", ""),  # not default
        ("http://proxy.local:8080/s3/", "http", "proxy.local:8080", "/s3"),
        ("http://user:secret@host:9000", "http", "host:9000", ""),  # userinfo never sent
        ("http://[::1]:9000", "http", "[::1]:9000", ""),
        ("http://[::1]:80", "http", "[::1]", ""),
        ("HTTPS://Example.com", "https", "Example.com", ""),
    ],
)
def test_endpoint_from_url(url: str, scheme: str, host: str, base_path: str) -> None:
    ep = Endpoint.from_url(url)
    assert (ep.scheme, ep.host, ep.base_path, ep.virtual) == (scheme, host, base_path, False)


@pytest.mark.parametrize(
    "url",
    [
        "ftp://host",
        "localhost:9000",
        "127.0.0.1",
        "http://",
        "http://host:9000/?x=1",
        "http://host#frag",
        "",
    ],
)
def test_endpoint_from_bad_url(url: str) -> None:
    with pytest.raises(ValueError):
        Endpoint.from_url(url)


def test_explicit_endpoint_is_path_style_unless_told_virtual() -> None:
    assert not Endpoint.from_url("http://h:1", "auto").virtual
    assert not Endpoint.from_url("http://h:1", "path").virtual
    assert Endpoint.from_url("http://h:1", "virtual").virtual


@pytest.mark.parametrize(
    ("region", "style", "host", "virtual"),
    [
        ("us-east-1", "auto", "s3.us-east-1.amazonaws.com", True),
        ("eu-west-3", "auto", "s3.eu-west-3.amazonaws.com", True),
        ("eu-west-3", "virtual", "s3.eu-west-3.amazonaws.com", True),
        ("ap-south-1", "path", "s3.ap-south-1.amazonaws.com", False),
    ],
)
def test_endpoint_for_region(region: str, style: str, host: str, virtual: bool) -> None:
    ep = Endpoint.for_region(region, style)  # type: ignore[arg-type]
    assert (ep.scheme, ep.host, ep.base_path, ep.virtual) == ("https", host, "", virtual)


# -- addressing --------------------------------------------------------------------------

AWS = Endpoint.for_region("eu-west-1")
AWS_HOST = "s3.eu-west-1.amazonaws.com"


def test_virtual_style_object_and_bucket_requests() -> None:
    req = AWS.request("GET", "my-bucket", "dir/file.txt", query=[("x", "1")])
    assert (req.scheme, req.host, req.path) == ("https", f"my-bucket.{AWS_HOST}", "/dir/file.txt")
    assert req.query == [("x", "1")]
    bucket_level = AWS.request("GET", "my-bucket", query=[("list-type", "2")])
    assert (bucket_level.host, bucket_level.path) == (f"my-bucket.{AWS_HOST}", "/")
    assert bucket_level.target == "/?list-type=2"


def test_path_style_object_bucket_and_service_requests() -> None:
    ep = Endpoint.from_url("http://127.0.0.1:9000")
    assert ep.request("PUT", "bkt", "k/v").path == "/bkt/k/v"
    assert ep.request("PUT", "bkt", "k/v").host == "127.0.0.1:9000"
    assert ep.request("HEAD", "bkt").path == "/bkt"
    assert ep.request("GET").path == "/"


def test_base_path_is_kept() -> None:
    ep = Endpoint.from_url("http://proxy:8080/s3")
    assert ep.request("GET", "bkt", "k").path == "/s3/bkt/k"
    assert ep.request("GET", "bkt").path == "/s3/bkt"
    virtual = Endpoint.from_url("http://proxy:8080/s3", "virtual")
    req = virtual.request("GET", "bkt", "k")
    assert (req.host, req.path) == ("bkt.proxy:8080", "/s3/k")


@pytest.mark.parametrize(
    "bucket",
    [
        "my.dotted.bucket",  # the *.s3 wildcard certificate covers one label only
        "MyUpperBucket",  # legacy us-east-1 names: not a valid DNS label
        "under_score",
        "ab",  # too short for a DNS-valid bucket name
        "-leading-dash",
        "trailing-dash-",
    ],
)
def test_buckets_that_cannot_be_a_host_label_fall_back_to_path_style(bucket: str) -> None:
    req = AWS.request("GET", bucket, "k")
    assert req.host == AWS_HOST
    assert req.path == f"/{bucket}/k"


def test_path_style_forced_for_aws() -> None:
    ep = Endpoint.for_region("eu-west-1", "path")
    req = ep.request("GET", "my-bucket", "k")
    assert (req.host, req.path) == (AWS_HOST, "/my-bucket/k")


@pytest.mark.parametrize(
    ("key", "path"),
    [
        ("a b+c", "a%20b%2Bc"),
        ("q?x=1&y=2#frag", "q%3Fx%3D1%26y%3D2%23frag"),
        ("100%", "100%25"),
        ("%2F-already-encoded", "%252F-already-encoded"),  # encoded exactly once
        ("double//slash/", "double//slash/"),
        ("/leading", "/leading"),
        ("./dot/../dotdot", "./dot/../dotdot"),  # never normalised
        ("unreserved-_.~", "unreserved-_.~"),
        ("punct *():;,@$!'\"\\", "punct%20%2A%28%29%3A%3B%2C%40%24%21%27%22%5C"),
        ("ü/ファ", "%C3%BC/%E3%83%95%E3%82%A1"),
        ("emoji😀", "emoji%F0%9F%98%80"),
        ("ctl\x01\r\n\t\x7f", "ctl%01%0D%0A%09%7F"),
    ],
)
def test_awkward_keys_are_encoded_once_and_not_normalised(key: str, path: str) -> None:
    assert Endpoint.from_url("http://h:1").request("GET", "b", key).path == f"/b/{path}"
    assert AWS.request("GET", "bucket-v", key).path == f"/{path}"


def test_request_carries_headers_and_body_unchanged() -> None:
    body = memoryview(b"payload")
    req = AWS.request("PUT", "bkt", "k", headers={"content-type": "text/plain"}, body=body)
    assert req.headers == {"content-type": "text/plain"}
    assert req.body is body
    assert req.method == "PUT"


def test_query_values_are_encoded_in_target() -> None:
    req = Endpoint.from_url("http://h:1").request(
        "GET", "b", query=[("prefix", "a b/+&="), ("delete", "")]
    )
    assert req.target == "/b?prefix=a%20b%2F%2B%26%3D&delete="


# -- errors ----------------------------------------------------------------------------


def error_xml(code: str, message: str = "msg", request_id: str | None = "RID-BODY") -> bytes:
    rid = f"<RequestId>{request_id}</RequestId>" if request_id else ""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{message}</Message>{rid}<HostId>h</HostId></Error>"
    ).encode()


@pytest.mark.parametrize(
    ("status", "code", "cls"),
    [
        (404, "NoSuchKey", NoSuchKey),
        (404, "NoSuchBucket", NoSuchBucket),
        (403, "AccessDenied", AccessDenied),
        (412, "PreconditionFailed", PreconditionFailed),
        (416, "InvalidRange", InvalidRange),
        (503, "SlowDown", SlowDown),
        (400, "InvalidArgument", S3Error),
        (500, "InternalError", S3Error),
    ],
)
def test_error_body_becomes_typed_exception(status: int, code: str, cls: type[S3Error]) -> None:
    headers = {"x-amz-request-id": "RID-HEADER", "content-type": "application/xml"}
    err = error_from_response(
        Response(status, headers, error_xml(code, "it went wrong"), "Reason"), "bkt", "k"
    )
    assert type(err) is cls
    assert (err.code, err.message, err.status) == (code, "it went wrong", status)
    assert err.request_id == "RID-BODY"
    assert (err.bucket, err.key) == ("bkt", "k")
    assert err.headers is headers
    assert code in str(err) and "it went wrong" in str(err)


def test_request_id_falls_back_to_header() -> None:
    resp = Response(400, {"x-amz-request-id": "RID-H"}, error_xml("BadDigest", request_id=None))
    err = error_from_response(resp, "b", "k")
    assert (err.code, err.request_id) == ("BadDigest", "RID-H")


def test_body_code_wins_over_status() -> None:
    err = error_from_response(Response(404, {}, error_xml("NoSuchBucket")), "b", "k")
    assert isinstance(err, NoSuchBucket)


@pytest.mark.parametrize(
    ("status", "key", "code", "cls"),
    [
        (404, "k", "NoSuchKey", NoSuchKey),  # HEAD of a missing object
        (404, None, "NoSuchBucket", NoSuchBucket),  # HEAD of a missing bucket
        (403, "k", "AccessDenied", AccessDenied),
        (403, None, "AccessDenied", AccessDenied),
        (412, "k", "PreconditionFailed", PreconditionFailed),
        (304, "k", "NotModified", NotModified),
        (416, "k", "InvalidRange", InvalidRange),
        (503, "k", "SlowDown", SlowDown),
        (500, "k", "InternalError", S3Error),
        (400, "k", "BadRequest", S3Error),
        (418, "k", "HTTP418", S3Error),
    ],
)
def test_bodyless_error_from_status(
    status: int, key: str | None, code: str, cls: type[S3Error]
) -> None:
    resp = Response(status, {"x-amz-request-id": "RID"}, b"", "Some Reason")
    err = error_from_response(resp, "bkt", key)
    assert type(err) is cls
    assert (err.code, err.status, err.request_id) == (code, status, "RID")
    assert err.message == "Some Reason"


def test_unparsable_error_body_falls_back_to_status_and_keeps_the_text() -> None:
    body = b"<html><body><h1>502 Bad Gateway</h1></body></html"
    err = error_from_response(Response(502, {}, body, "Bad Gateway"), "b", "k")
    assert (err.code, err.status) == ("HTTP502", 502)
    assert "502 Bad Gateway" in err.message
    err = error_from_response(Response(403, {}, b"Forbidden by proxy", "Forbidden"), "b", "k")
    assert isinstance(err, AccessDenied)
    assert err.message == "Forbidden by proxy"


def test_error_in_a_200_response() -> None:
    err = error_from_response(Response(200, {}, error_xml("InternalError", "retry me")), "b", "k")
    assert (err.code, err.status, err.message) == ("InternalError", 200, "retry me")


@pytest.mark.parametrize(
    ("code", "status", "denied"),
    [
        ("AccessDenied", 403, True),
        ("AccessDenied", 0, True),  # a DeleteObjects per-key error has no status
        ("SignatureDoesNotMatch", 403, True),
        ("InvalidAccessKeyId", 403, True),
        ("ExpiredToken", 400, True),  # AWS answers an expired session token with a 400
        ("AllAccessDisabled", 403, True),
        ("HTTP403", 403, True),  # any 403, whatever a proxy calls it
        ("InternalError", 0, False),
        ("InvalidArgument", 400, False),
        ("NoSuchKey", 404, False),
        ("SlowDown", 503, False),
    ],
)
def test_denies_access(code: str, status: int, denied: bool) -> None:
    assert denies_access(code, status) is denied


# -- object info ----------------------------------------------------------------------

HEADERS = {
    "content-length": "1234",
    "etag": '"d41d8cd98f00b204e9800998ecf8427e"',
    "last-modified": "Wed, 01 May 2024 12:34:56 GMT",
    "content-type": "text/plain; charset=utf-8",
    "x-amz-meta-owner": "alice",
    "x-amz-meta-multi-word": "a, b",
    "x-amz-version-id": "v1",
    "x-amz-request-id": "RID",
    "accept-ranges": "bytes",
}


def test_object_info_from_head() -> None:
    info = object_info("k/1", HEADERS)
    assert type(info) is ObjectInfo
    assert info == ObjectInfo(
        key="k/1",
        size=1234,
        etag='"d41d8cd98f00b204e9800998ecf8427e"',
        last_modified=datetime(2024, 5, 1, 12, 34, 56, tzinfo=timezone.utc),
        content_type="text/plain; charset=utf-8",
        metadata={"owner": "alice", "multi-word": "a, b"},
        version_id="v1",
    )
    assert info.last_modified.utcoffset() is not None


def test_object_info_with_body_is_s3object() -> None:
    obj = object_info("k", {**HEADERS, "content-length": "3"}, body=b"abc")
    assert isinstance(obj, S3Object)
    assert (obj.body, obj.size) == (b"abc", 3)


@pytest.mark.parametrize(
    ("content_range", "length", "size"),
    [
        ("bytes 0-9/1234", "10", 1234),  # a range: the size of the whole object
        ("bytes 1000-1233/1234", "234", 1234),
        ("bytes 0-0/1", "1", 1),
        ("bytes 0-9/*", "10", 10),  # total unknown: what we got
    ],
)
def test_object_info_size_from_content_range(content_range: str, length: str, size: int) -> None:
    headers = {**HEADERS, "content-range": content_range, "content-length": length}
    assert object_info("k", headers).size == size


def test_object_info_minimal_headers() -> None:
    info = object_info("k", {"last-modified": "Wed, 01 May 2024 12:34:56 GMT"})
    assert (info.size, info.etag, info.content_type, info.metadata, info.version_id) == (
        0,
        "",
        None,
        {},
        None,
    )


@pytest.mark.parametrize("last_modified", [None, "", "yesterday", "Wed, 99 May 2024 99:00:00"])
def test_object_info_without_valid_last_modified(last_modified: str | None) -> None:
    headers = {k: v for k, v in HEADERS.items() if k != "last-modified"}
    if last_modified is not None:
        headers["last-modified"] = last_modified
    with pytest.raises(S3Error) as info:
        object_info("k", headers)
    assert info.value.code == "MalformedResponse"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Wed, 02 Dec 2026 07:21:13 GMT", datetime(2026, 12, 2, 7, 21, 13, tzinfo=timezone.utc)),
        (None, None),
        ("", None),
        ("not a date", None),
    ],
)
def test_http_date(value: str | None, expected: datetime | None) -> None:
    assert http_date(value) == expected
