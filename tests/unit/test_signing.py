"""Edge rules of ``s3lite.signing`` (the official vectors are in test_sigv4_vectors.py).

Where a rule has no vector, botocore's S3 signers (``S3SigV4Auth``,
``S3SigV4QueryAuth``) are the oracle: they are what S3 accepts every day. They are
driven through their canonical-request/signature methods with a fixed timestamp.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotoCredentials

from s3lite.credentials import Credentials
from s3lite.messages import Request, uri_encode
from s3lite.signing import (
    EMPTY_SHA256,
    STREAMING_PAYLOAD,
    UNSIGNED_PAYLOAD,
    amz_date,
    aws_chunked_length,
    canonical_query,
    canonical_request,
    chunk_signature,
    presign,
    sign,
    sign_aws_chunked,
    signing_key,
)

NOW = datetime(2024, 2, 29, 23, 59, 58, tzinfo=timezone.utc)
AMZ_NOW = "20240229T235958Z"
REGION = "eu-west-1"
CREDS = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
TOKEN = "FwoGZXIvYXdzE//////////wEaDE+token/with+odd=chars=="
TEMP_CREDS = Credentials(CREDS.access_key_id, CREDS.secret_access_key, TOKEN)
AWKWARD_KEYS = [
    "plain.txt",
    "sp ace/and+plus.txt",
    "pct%20literal~tilde",
    "ünï/日本/😀.ipynb",
    "amp&eq=q?#frag",
    "dbl//slash/./dot/../x",
    "/leading/trailing/",
    "semi;comma,@$!'\"*()[]{}<>|^`\\",
    "tab\tnew\nline",
]


def key_path(bucket: str, key: str) -> str:
    return f"/{bucket}/{uri_encode(key, safe='/')}"


def authz_parts(request: Request) -> dict[str, str]:
    value = request.headers["authorization"]
    algorithm, _, rest = value.partition(" ")
    assert algorithm == "AWS4-HMAC-SHA256"
    return dict(part.split("=", 1) for part in rest.split(", "))


def botocore_signature(
    request: Request, credentials: Credentials, region: str = REGION
) -> tuple[str, str]:
    """(canonical request, signature) that botocore computes for our signed request."""
    headers = {k: v for k, v in request.headers.items() if k != "authorization"}
    headers["host"] = request.host
    boto_req = AWSRequest(request.method, request.url, headers=headers, data=bytes(request.body))
    boto_req.context["timestamp"] = request.headers["x-amz-date"]
    creds = BotoCredentials(
        credentials.access_key_id, credentials.secret_access_key, credentials.session_token
    )
    auth = S3SigV4Auth(creds, "s3", region)
    creq = auth.canonical_request(boto_req)
    return creq, auth.signature(auth.string_to_sign(boto_req, creq), boto_req)


def botocore_presign(
    request: Request, credentials: Credentials, amz_now: str, expires: int, region: str = REGION
) -> str:
    headers = {"host": request.host, **request.headers}
    boto_req = AWSRequest(request.method, request.url, headers=headers)
    boto_req.context["timestamp"] = amz_now
    creds = BotoCredentials(
        credentials.access_key_id, credentials.secret_access_key, credentials.session_token
    )
    auth = S3SigV4QueryAuth(creds, "s3", region, expires=expires)
    # add_auth() minus reading the clock.
    auth._modify_request_before_signing(boto_req)
    creq = auth.canonical_request(boto_req)
    auth._inject_signature_to_request(
        boto_req, auth.signature(auth.string_to_sign(boto_req, creq), boto_req)
    )
    return str(boto_req.url)


# --- derived key --------------------------------------------------------------------


def test_signing_key_documented_example() -> None:
    # The worked example of "Deriving the signing key" in the AWS SigV4 documentation.
    key = signing_key("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20120215", "us-east-1", "iam")
    assert key.hex() == "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"


def test_signing_key_is_cached_per_scope() -> None:
    signing_key.cache_clear()
    first = signing_key("secret-a", "20240229", "us-east-1", "s3")
    assert signing_key("secret-a", "20240229", "us-east-1", "s3") is first
    assert signing_key.cache_info().hits == 1
    others = {
        signing_key("secret-b", "20240229", "us-east-1", "s3"),
        signing_key("secret-a", "20240301", "us-east-1", "s3"),
        signing_key("secret-a", "20240229", "eu-west-1", "s3"),
        signing_key("secret-a", "20240229", "us-east-1", "sts"),
    }
    assert len(others) == 4 and first not in others


# --- date handling ------------------------------------------------------------------


def test_amz_date_converts_to_utc_and_takes_naive_as_utc() -> None:
    plus_two = timezone(timedelta(hours=2))
    assert amz_date(datetime(2024, 3, 1, 1, 59, 58, tzinfo=plus_two)) == AMZ_NOW
    assert amz_date(datetime(2024, 2, 29, 23, 59, 58)) == AMZ_NOW
    request = Request("GET", "https", "b.s3.amazonaws.com", "/k")
    sign(request, CREDS, REGION, "s3", datetime(2024, 3, 1, 1, 59, 58, tzinfo=plus_two), "x")
    assert request.headers["x-amz-date"] == AMZ_NOW
    assert authz_parts(request)["Credential"] == f"AKIDEXAMPLE/20240229/{REGION}/s3/aws4_request"


# --- canonical query and headers ----------------------------------------------------


def test_canonical_query_encodes_once_and_sorts_by_encoded_name_then_value() -> None:
    query = [
        ("prefix", "a/b c+d"),
        ("a-b", "1"),
        ("a/b", "2"),  # encoded "a%2Fb" sorts before "a-b" although "/" > "-"
        ("é", "x"),  # "%C3%A9" sorts before letters although "é" > "z"
        ("uploads", ""),
        ("k", "2"),
        ("k", "10"),
        ("tilde", "~"),
    ]
    assert canonical_query(query) == (
        "%C3%A9=x&a%2Fb=2&a-b=1&k=10&k=2&prefix=a%2Fb%20c%2Bd&tilde=~&uploads="
    )


def test_canonical_request_trims_and_collapses_header_values() -> None:
    creq = canonical_request(
        "PUT",
        "/b/k",
        [],
        {"Host": "h", "x-amz-meta-a": "  one   two\t three  ", "x-amz-meta-b": "x"},
        ["x-amz-meta-a", "HOST"],
        EMPTY_SHA256,
    )
    assert creq == (
        "PUT\n/b/k\n\nhost:h\nx-amz-meta-a:one two three\n\nhost;x-amz-meta-a\n" + EMPTY_SHA256
    )


def test_canonical_request_empty_path_is_slash() -> None:
    assert canonical_request("GET", "", [], {"host": "h"}, ["host"], "p").split("\n")[1] == "/"


# --- sign() -------------------------------------------------------------------------


def _object_request(key: str = "dir/file name+1.txt", **headers: str) -> Request:
    return Request(
        "PUT",
        "http",
        "127.0.0.1:5000",
        key_path("bucket", key),
        query=[("partNumber", "1"), ("uploadId", "a/b+c=")],
        headers={"content-type": "application/x-ipynb+json", **headers},
        body=b'{"cells": []}',
    )


def test_sign_adds_headers_and_signs_every_header() -> None:
    request = _object_request(**{"x-amz-meta-note": "  spaced   out  ", "range": "bytes=0-1"})
    payload = hashlib.sha256(bytes(request.body)).hexdigest()
    sign(request, CREDS, REGION, "s3", NOW, payload)
    assert request.headers["x-amz-date"] == AMZ_NOW
    assert request.headers["x-amz-content-sha256"] == payload
    assert "x-amz-security-token" not in request.headers
    parts = authz_parts(request)
    assert parts["SignedHeaders"] == (
        "content-type;host;range;x-amz-content-sha256;x-amz-date;x-amz-meta-note"
    )
    creq, expected = botocore_signature(request, CREDS)
    assert "\nhost:127.0.0.1:5000\n" in creq
    assert parts["Signature"] == expected


@pytest.mark.parametrize("key", AWKWARD_KEYS)
def test_sign_awkward_keys_match_botocore(key: str) -> None:
    request = Request("GET", "https", "s3.eu-west-1.amazonaws.com", key_path("bkt", key))
    request.query = [("versionId", key), ("response-content-disposition", f'inline; "{key}"')]
    sign(request, CREDS, REGION, "s3", NOW, EMPTY_SHA256)
    creq, expected = botocore_signature(request, CREDS)
    assert creq.split("\n")[1] == request.path  # never normalised
    assert authz_parts(request)["Signature"] == expected


def test_session_token_is_added_and_signed() -> None:
    request = _object_request()
    sign(request, TEMP_CREDS, REGION, "s3", NOW, EMPTY_SHA256)
    assert request.headers["x-amz-security-token"] == TOKEN
    assert "x-amz-security-token" in authz_parts(request)["SignedHeaders"].split(";")
    _, expected = botocore_signature(request, TEMP_CREDS)
    assert authz_parts(request)["Signature"] == expected


def test_pre_auth_headers_are_added_lower_cased_and_signed() -> None:
    creds = Credentials(
        "AKIDEXAMPLE",
        "secret",
        pre_auth_headers={"X-Amz-Meta-Tenant": "Team A", "X-Custom-Auth": "abc"},
    )
    request = _object_request()
    sign(request, creds, REGION, "s3", NOW, EMPTY_SHA256)
    assert request.headers["x-amz-meta-tenant"] == "Team A"
    assert request.headers["x-custom-auth"] == "abc"
    assert "X-Amz-Meta-Tenant" not in request.headers
    signed = authz_parts(request)["SignedHeaders"].split(";")
    assert {"x-amz-meta-tenant", "x-custom-auth"} <= set(signed)
    _, expected = botocore_signature(request, creds)
    assert authz_parts(request)["Signature"] == expected


def test_unsigned_payload() -> None:
    request = _object_request()
    sign(request, CREDS, REGION, "s3", NOW, UNSIGNED_PAYLOAD)
    assert request.headers["x-amz-content-sha256"] == UNSIGNED_PAYLOAD
    creq, expected = botocore_signature(request, CREDS)
    assert creq.endswith("\n" + UNSIGNED_PAYLOAD)
    assert authz_parts(request)["Signature"] == expected


def test_resigning_a_retry_replaces_the_signature_headers() -> None:
    request = _object_request()
    sign(request, TEMP_CREDS, REGION, "s3", NOW, EMPTY_SHA256)
    first = request.headers["authorization"]
    later = NOW + timedelta(seconds=3)
    sign(request, CREDS, REGION, "s3", later, EMPTY_SHA256)  # refreshed, no token now
    assert request.headers["authorization"] != first
    assert request.headers["x-amz-date"] == amz_date(later)
    assert "x-amz-security-token" not in request.headers  # stale token dropped
    assert "authorization" not in authz_parts(request)["SignedHeaders"].split(";")
    _, expected = botocore_signature(request, CREDS)
    assert authz_parts(request)["Signature"] == expected


def test_host_comes_from_request_host() -> None:
    request = Request("GET", "http", "localhost:9000", "/b/k", headers={"host": "wrong"})
    sign(request, CREDS, REGION, "s3", NOW, EMPTY_SHA256)
    request.headers.pop("host")
    _, expected = botocore_signature(request, CREDS)
    assert authz_parts(request)["Signature"] == expected


def test_other_services_get_no_content_sha256_header() -> None:
    request = Request("POST", "https", "sts.amazonaws.com", "/", body=b"Action=GetCallerIdentity")
    payload = hashlib.sha256(bytes(request.body)).hexdigest()
    sign(request, CREDS, "us-east-1", "sts", NOW, payload)
    assert "x-amz-content-sha256" not in request.headers
    assert authz_parts(request)["SignedHeaders"] == "host;x-amz-date"
    assert authz_parts(request)["Credential"].endswith("/us-east-1/sts/aws4_request")


# --- presign() ----------------------------------------------------------------------


def _query_of(url: str) -> list[tuple[str, str]]:
    return parse_qsl(urlsplit(url).query, keep_blank_values=True)


@pytest.mark.parametrize("key", AWKWARD_KEYS)
@pytest.mark.parametrize("creds", [CREDS, TEMP_CREDS], ids=["static", "session"])
def test_presign_awkward_keys_match_botocore(key: str, creds: Credentials) -> None:
    request = Request(
        "GET", "https", "bkt.s3.eu-west-1.amazonaws.com", "/" + uri_encode(key, safe="/")
    )
    request.query = [("response-content-type", "text/plain; charset=utf-8"), ("x-id", "GetObject")]
    url = presign(request, creds, REGION, "s3", NOW, 900)
    expected = botocore_presign(request, creds, AMZ_NOW, 900)
    assert url.split("?")[0] == expected.split("?")[0] == request.url.split("?")[0]
    # botocore orders the parameters differently; the set and the signature must agree.
    assert sorted(_query_of(url)) == sorted(_query_of(expected))
    params = dict(_query_of(url))
    assert params["X-Amz-SignedHeaders"] == "host"
    assert params["X-Amz-Expires"] == "900"
    assert params.get("X-Amz-Security-Token") == creds.session_token
    assert url.rsplit("&", 1)[1].startswith("X-Amz-Signature=")


def test_presign_signs_request_headers_and_leaves_request_alone() -> None:
    request = Request(
        "PUT", "http", "127.0.0.1:5000", "/b/k", headers={"content-type": "text/plain"}
    )
    url = presign(request, CREDS, REGION, "s3", NOW, 60)
    assert request.headers == {"content-type": "text/plain"} and request.query == []
    assert dict(_query_of(url))["X-Amz-SignedHeaders"] == "content-type;host"
    assert sorted(_query_of(url)) == sorted(
        _query_of(botocore_presign(request, CREDS, AMZ_NOW, 60))
    )


def test_presign_replaces_stale_auth_params() -> None:
    fresh = Request("GET", "https", "h", "/b/k", query=[("a", "1")])
    stale = Request(
        "GET",
        "https",
        "h",
        "/b/k",
        query=[("a", "1"), ("X-Amz-Signature", "old"), ("X-Amz-Date", "20000101T000000Z")],
    )
    assert presign(stale, CREDS, REGION, "s3", NOW, 60) == presign(
        fresh, CREDS, REGION, "s3", NOW, 60
    )


@pytest.mark.parametrize("expires", [0, -1, 604801])
def test_presign_rejects_out_of_range_expiry(expires: int) -> None:
    with pytest.raises(ValueError, match="expires_in"):
        presign(Request("GET", "https", "h", "/b/k"), CREDS, REGION, "s3", NOW, expires)


def test_presign_accepts_the_limits() -> None:
    for expires in (1, 604800):
        url = presign(Request("GET", "https", "h", "/b/k"), CREDS, REGION, "s3", NOW, expires)
        assert dict(_query_of(url))["X-Amz-Expires"] == str(expires)


# --- aws-chunked --------------------------------------------------------------------


def _decode_aws_chunked(body: bytes) -> list[tuple[bytes, str]]:
    """(data, signature) per chunk, checking the framing."""
    chunks = []
    while True:
        head, sep, rest = body.partition(b"\r\n")
        assert sep
        size_hex, _, sig = head.decode("ascii").partition(";chunk-signature=")
        size = int(size_hex, 16)
        assert len(sig) == 64
        data, crlf, body = rest[:size], rest[size : size + 2], rest[size + 2 :]
        assert crlf == b"\r\n"
        chunks.append((data, sig))
        if size == 0:
            assert body == b""
            return chunks


@pytest.mark.parametrize("size", [0, 1, 8192, 8193, 3 * 8192])
def test_sign_aws_chunked_frames_and_chains_signatures(size: int) -> None:
    payload = bytes(range(256)) * (size // 256) + b"z" * (size % 256)
    request = Request("PUT", "http", "127.0.0.1:5000", "/b/k", body=payload)
    seed = sign_aws_chunked(request, TEMP_CREDS, REGION, "s3", NOW, chunk_size=8192)
    assert request.headers["content-encoding"] == "aws-chunked"
    assert request.headers["x-amz-decoded-content-length"] == str(size)
    assert request.headers["content-length"] == str(len(request.body))
    assert len(request.body) == aws_chunked_length(size, 8192)
    assert request.headers["x-amz-content-sha256"] == STREAMING_PAYLOAD
    assert authz_parts(request)["Signature"] == seed
    _, expected_seed = botocore_signature(request, TEMP_CREDS)
    assert seed == expected_seed

    chunks = _decode_aws_chunked(bytes(request.body))
    assert b"".join(data for data, _ in chunks) == payload
    assert [len(d) for d, _ in chunks[:-1]] == [8192] * (size // 8192) + (
        [size % 8192] if size % 8192 else []
    )
    key = signing_key(TEMP_CREDS.secret_access_key, AMZ_NOW[:8], REGION, "s3")
    scope = f"{AMZ_NOW[:8]}/{REGION}/s3/aws4_request"
    previous = seed
    for data, sig in chunks:
        previous = chunk_signature(key, AMZ_NOW, scope, previous, data)
        assert sig == previous


def test_sign_aws_chunked_keeps_other_content_encodings() -> None:
    request = Request("PUT", "http", "h", "/b/k", headers={"content-encoding": "gzip"}, body=b"x")
    sign_aws_chunked(request, CREDS, REGION, "s3", NOW)
    assert request.headers["content-encoding"] == "aws-chunked,gzip"
    assert "content-encoding" in authz_parts(request)["SignedHeaders"].split(";")


def test_sign_aws_chunked_rejects_small_chunks() -> None:
    with pytest.raises(ValueError, match="chunk_size"):
        sign_aws_chunked(Request("PUT", "http", "h", "/b/k"), CREDS, REGION, "s3", NOW, 8191)


def test_sign_aws_chunked_accepts_memoryview() -> None:
    data: Any = memoryview(b"abc" * 5000)
    request = Request("PUT", "http", "h", "/b/k", body=data)
    sign_aws_chunked(request, CREDS, REGION, "s3", NOW, chunk_size=8192)
    assert b"".join(d for d, _ in _decode_aws_chunked(bytes(request.body))) == b"abc" * 5000
