"""``s3lite.signing`` against the official SigV4 test vectors in ``tests/data/sigv4``.

The vectors ship with the repository, unchanged from upstream (their README, LICENSE and
NOTICE files beside them). If the folder is missing, every test here fails with a
message saying so.

What is checked, each case its own test id:

* ``aws-c-auth-v4``: header form (canonical request, string to sign, signature, the
  signed request) and query/presign form (canonical request, string to sign, signature
  and the presigned request line).
* ``botocore-aws4_testsuite``: canonical request, string to sign, ``Authorization``
  and the signed request, including ``post-sts-token/*`` and the ``normalize-path/*``
  cases whose canonical URI normalisation leaves unchanged.
* ``s3-examples``: the four header-signed examples, the presigned URL (full string),
  aws-chunked (seed, the three chunk signatures, the first chunk's string to sign,
  the encoded body prefix and ``Content-Length`` 66824) and the 24 object keys.

Cases that do not apply to S3 (listed in ``EXCLUDED``, checked by
``test_excluded_cases_are_exactly_the_normalising_ones``): the cases whose expected
canonical URI is the *normalised* path (``.``/``..`` segments resolved, ``//`` merged).
S3 signs the path exactly as sent, so a correct S3 signer must disagree with them:

* ``aws-c-auth-v4``: get-relative-normalized, get-relative-relative-normalized,
  get-slash-dot-slash-normalized, get-slash-normalized, get-slash-pointless-dot-normalized,
  get-slashes-normalized (their ``-unnormalized`` twins are tested);
  ``get-space-normalized`` *is* tested, normalisation does not change its path.
* ``botocore-aws4_testsuite/normalize-path``: get-relative, get-relative-relative,
  get-slash, get-slash-dot-slash, get-slash-pointless-dot, get-slashes.
  ``get-space`` (which botocore's own runner skips, because its request-line parser
  cannot read a raw space) and ``get-special-character`` are tested: their canonical
  URI is the plain S3 encoding of the path.

How the non-S3 cases (service ``service``) are fed to an S3 signer:

* ``Request.path`` is the raw request-line path encoded once with ``/`` kept
  (``uri_encode(path, safe="/")``), i.e. exactly the canonical URI those cases expect.
* ``x-amz-content-sha256`` is added by ``sign`` only for service ``s3``; for the two
  aws-c-auth cases with ``"sign_body": true`` the test puts it on the request first.
* A session token that is added *after* signing (aws-c-auth ``omit_session_token``,
  botocore ``post-sts-header-after``) is not something S3 callers do (``sign`` always
  signs the token), so the test signs without the token and then adds it.
* Repeated header lines are joined with ``,`` (each value trimmed), the way a caller
  must put them in ``Request.headers``; obs-fold continuation lines are kept raw.
* The botocore ``get-vanilla-with-session-token.sreq`` carries a wrong signature
  upstream (its ``.authz``, and the identical aws-c-auth case, agree on another one);
  the signed-request check takes ``Authorization`` from ``.authz`` and
  ``test_botocore_sreq_authorization_matches_authz`` pins that this is the only such case.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest

from s3lite.credentials import Credentials
from s3lite.messages import Request, uri_encode
from s3lite.signing import (
    EMPTY_SHA256,
    STREAMING_PAYLOAD,
    aws_chunked_body,
    aws_chunked_length,
    canonical_request,
    chunk_signature,
    chunk_string_to_sign,
    credential_scope,
    presign,
    sign,
    sign_aws_chunked,
    signing_key,
    string_to_sign,
)

VECTORS = Path(__file__).resolve().parents[1] / "data" / "sigv4"
AWS_C = VECTORS / "aws-c-auth-v4"
BOTOCORE = VECTORS / "botocore-aws4_testsuite"
S3 = VECTORS / "s3-examples"
MISSING = "vectors-missing"
MISSING_MESSAGE = (
    f"SigV4 test vectors not found at {VECTORS}: they ship with the repository "
    "(tests/data/sigv4); restore that folder"
)

# Case -> why it does not apply to S3. Exactly the cases whose canonical URI is normalised.
EXCLUDED: dict[str, str] = {
    **{
        f"aws-c-auth-v4/{name}-normalized": "normalised path; S3 signs the path as sent"
        for name in (
            "get-relative",
            "get-relative-relative",
            "get-slash-dot-slash",
            "get-slash",
            "get-slash-pointless-dot",
            "get-slashes",
        )
    },
    **{
        f"botocore-aws4_testsuite/normalize-path/{name}": "normalised path; S3 does not normalise"
        for name in (
            "get-relative",
            "get-relative-relative",
            "get-slash",
            "get-slash-dot-slash",
            "get-slash-pointless-dot",
            "get-slashes",
        )
    },
}

BOTOCORE_NOW = datetime(2015, 8, 30, 12, 36, tzinfo=timezone.utc)
BOTOCORE_CREDS = ("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
# Upstream botocore .sreq files whose Authorization disagrees with their .authz.
BAD_BOTOCORE_SREQ = {"get-vanilla-with-session-token"}


# --- parsing the vector files -------------------------------------------------------


@dataclass
class RawRequest:
    method: str
    raw_path: str  # as on the request line (not encoded)
    query: list[tuple[str, str]]  # decoded, in request order
    headers: dict[str, str]  # lower-case names; repeated lines joined with ","
    body: bytes

    @property
    def host(self) -> str:
        return self.headers["host"].strip()

    def to_request(self, scheme: str = "https") -> Request:
        headers = {k: v for k, v in self.headers.items() if k != "host"}
        return Request(
            method=self.method,
            scheme=scheme,
            host=self.host,
            path=uri_encode(self.raw_path, safe="/"),
            query=list(self.query),
            headers=headers,
            body=self.body,
        )


def parse_query(qs: str) -> list[tuple[str, str]]:
    pairs = []
    for part in qs.split("&"):
        if part:
            name, _, value = part.partition("=")
            pairs.append((unquote(name), unquote(value)))
    return pairs


def parse_http(data: bytes) -> RawRequest:
    """Parse a vector's raw request: ``Name:value`` lines, obs-fold continuation lines,
    then an optional blank line and body."""
    head, _, body = data.partition(b"\n\n")
    lines = head.decode("utf-8").split("\n")
    parts = lines[0].split(" ")
    method, target = parts[0], " ".join(parts[1:-1])  # the path may hold raw spaces
    raw_path, _, qs = target.partition("?")
    fields: list[list[str]] = []
    for line in lines[1:]:
        if line[:1] in (" ", "\t"):
            fields[-1][1] += "\n" + line
        elif line:
            name, _, value = line.partition(":")
            fields.append([name.lower(), value])
    headers: dict[str, list[str]] = {}
    for name, value in fields:
        headers.setdefault(name, []).append(value)
    joined = {
        k: v[0] if len(v) == 1 else ",".join(x.strip() for x in v) for k, v in headers.items()
    }
    return RawRequest(method, raw_path, parse_query(qs), joined, body)


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def normalise_authz(value: str) -> str:
    """The documentation writes Authorization without spaces after commas; both are valid."""
    return value.strip().replace(", ", ",")


def signed_names(authorization: str) -> list[str]:
    return authorization.split("SignedHeaders=")[1].split(",")[0].split(";")


def wire_headers(request: Request) -> dict[str, str]:
    """The headers as sent (the transport sends Host = request.host), values stripped."""
    return {"host": request.host, **{k: v.strip() for k, v in request.headers.items()}}


def header_canonical(request: Request, payload_hash: str) -> str:
    """The canonical request of a header-signed request, rebuilt with the public helper."""
    names = signed_names(request.headers["authorization"])
    return canonical_request(
        request.method,
        request.path,
        request.query,
        {"host": request.host, **request.headers},
        names,
        payload_hash,
    )


def _param(case: str) -> Any:
    return pytest.param(case, id=case)


def _missing() -> list[Any]:
    return [pytest.param(MISSING, id=MISSING)]


def _check(case: str) -> None:
    if case == MISSING:
        pytest.fail(MISSING_MESSAGE)


# --- discovering the cases ----------------------------------------------------------


def aws_c_cases() -> list[str]:
    return sorted(p.parent.name for p in AWS_C.glob("*/context.json"))


def botocore_cases() -> list[str]:
    return sorted(str(p.parent.relative_to(BOTOCORE)) for p in BOTOCORE.rglob("*.req"))


def _applicable(prefix: str, cases: list[str]) -> list[Any]:
    if not VECTORS.is_dir():
        return _missing()
    return [_param(c) for c in cases if f"{prefix}/{c}" not in EXCLUDED]


def botocore_file(case: str, ext: str) -> Path:
    return BOTOCORE / case / f"{Path(case).name}.{ext}"


def test_vectors_present() -> None:
    assert VECTORS.is_dir(), MISSING_MESSAGE
    # The counts the vectors' README gives, so a half-copied folder cannot pass quietly.
    assert len(aws_c_cases()) == 38
    assert len(botocore_cases()) == 34
    assert len([p for p in S3.iterdir() if p.is_dir()]) == 7


def _uri_changed_by_normalisation(raw: RawRequest, creq_text: str) -> bool:
    return creq_text.split("\n")[1] != uri_encode(raw.raw_path, safe="/")


def test_excluded_cases_are_exactly_the_normalising_ones() -> None:
    assert VECTORS.is_dir(), MISSING_MESSAGE
    changed = set()
    for case in aws_c_cases():
        raw = parse_http((AWS_C / case / "request.txt").read_bytes())
        for form in ("header", "query"):
            if _uri_changed_by_normalisation(
                raw, read(AWS_C / case / f"{form}-canonical-request.txt")
            ):
                changed.add(f"aws-c-auth-v4/{case}")
                ctx = json.loads(read(AWS_C / case / "context.json"))
                assert ctx["normalize"] is True, case
    for case in botocore_cases():
        raw = parse_http(botocore_file(case, "req").read_bytes())
        if _uri_changed_by_normalisation(raw, read(botocore_file(case, "creq"))):
            changed.add(f"botocore-aws4_testsuite/{case}")
            assert case.startswith("normalize-path/"), case
    assert changed == set(EXCLUDED)


# --- aws-c-auth-v4 ------------------------------------------------------------------


@dataclass
class AwsCCase:
    name: str
    ctx: dict[str, Any]
    raw: RawRequest
    credentials: Credentials  # what is signed with (no token when it is added afterwards)
    token_after: str | None  # a token added after signing
    now: datetime

    def file(self, name: str) -> str:
        return read(AWS_C / self.name / name)

    @property
    def scope(self) -> str:
        return credential_scope(self.now.strftime("%Y%m%d"), self.ctx["region"], "service")


def load_aws_c(name: str) -> AwsCCase:
    _check(name)
    ctx = json.loads(read(AWS_C / name / "context.json"))
    assert ctx["service"] == "service"
    cred = ctx["credentials"]
    token = cred.get("token")
    omit = bool(ctx.get("omit_session_token"))
    credentials = Credentials(
        cred["access_key_id"], cred["secret_access_key"], None if omit else token
    )
    raw = parse_http((AWS_C / name / "request.txt").read_bytes())
    return AwsCCase(
        name, ctx, raw, credentials, token if omit else None, parse_time(ctx["timestamp"])
    )


@pytest.mark.parametrize("name", _applicable("aws-c-auth-v4", aws_c_cases()))
def test_aws_c_header_form(name: str) -> None:
    case = load_aws_c(name)
    request = case.raw.to_request()
    payload_hash = sha256_hex(case.raw.body)
    if case.ctx["sign_body"]:
        request.headers["x-amz-content-sha256"] = payload_hash
    sign(request, case.credentials, case.ctx["region"], "service", case.now, payload_hash)

    creq = header_canonical(request, payload_hash)
    assert creq == case.file("header-canonical-request.txt")
    sts = string_to_sign(request.headers["x-amz-date"], case.scope, creq)
    assert sts == case.file("header-string-to-sign.txt")
    signature = request.headers["authorization"].rsplit("Signature=", 1)[1]
    assert signature == case.file("header-signature.txt").strip()

    if case.token_after:
        request.headers["x-amz-security-token"] = case.token_after
    expected = parse_http((AWS_C / name / "header-signed-request.txt").read_bytes())
    assert (request.method, request.path, request.query, request.body) == (
        expected.method,
        uri_encode(expected.raw_path, safe="/"),
        expected.query,
        expected.body,
    )
    assert wire_headers(request) == {k: v.strip() for k, v in expected.headers.items()}


@pytest.mark.parametrize("name", _applicable("aws-c-auth-v4", aws_c_cases()))
def test_aws_c_query_form(name: str) -> None:
    case = load_aws_c(name)
    request = case.raw.to_request()
    before = (list(request.query), dict(request.headers))
    payload_hash = sha256_hex(case.raw.body)
    expires = case.ctx["expiration_in_seconds"]
    url = presign(
        request, case.credentials, case.ctx["region"], "service", case.now, expires, payload_hash
    )
    assert (request.query, request.headers) == before  # presign does not modify the request

    parts = urlsplit(url)
    params = parse_query(parts.query)
    signature = params.pop()
    assert signature[0] == "X-Amz-Signature"
    assert signature[1] == case.file("query-signature.txt").strip()

    signed = dict(params)["X-Amz-SignedHeaders"].split(";")
    creq = canonical_request(
        request.method,
        request.path,
        params,
        {"host": request.host, **request.headers},
        signed,
        payload_hash,
    )
    assert creq == case.file("query-canonical-request.txt")
    sts = string_to_sign(dict(params)["X-Amz-Date"], case.scope, creq)
    assert sts == case.file("query-string-to-sign.txt")

    if case.token_after:
        url += "&X-Amz-Security-Token=" + uri_encode(case.token_after)
    expected = parse_http((AWS_C / name / "query-signed-request.txt").read_bytes())
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc) == ("https", case.raw.host)
    assert parts.path == uri_encode(expected.raw_path, safe="/")
    # The vector lists the parameters in aws-c-auth's own order; presign() sorts them.
    assert sorted(parse_query(parts.query)) == sorted(expected.query)
    assert wire_headers(request) == {k: v.strip() for k, v in expected.headers.items()}
    assert request.body == expected.body


# --- botocore aws4_testsuite --------------------------------------------------------


def _botocore_token(case: str) -> tuple[str | None, str | None]:
    """(token signed, token added after signing)."""

    def token_in(text: str) -> str | None:
        for line in text.split("\n"):
            if line.lower().startswith("x-amz-security-token:"):
                return line.split(":", 1)[1].strip()
        return None

    signed = token_in(read(botocore_file(case, "creq")))
    in_sreq = token_in(read(botocore_file(case, "sreq")))
    return signed, (in_sreq if signed is None else None)


@pytest.mark.parametrize("case", _applicable("botocore-aws4_testsuite", botocore_cases()))
def test_botocore(case: str) -> None:
    _check(case)
    token, token_after = _botocore_token(case)
    credentials = Credentials(*BOTOCORE_CREDS, session_token=token)
    raw = parse_http(botocore_file(case, "req").read_bytes())
    request = raw.to_request()
    payload_hash = sha256_hex(raw.body)
    sign(request, credentials, "us-east-1", "service", BOTOCORE_NOW, payload_hash)

    creq = header_canonical(request, payload_hash)
    assert creq == read(botocore_file(case, "creq"))
    sts = string_to_sign("20150830T123600Z", "20150830/us-east-1/service/aws4_request", creq)
    assert sts == read(botocore_file(case, "sts"))
    assert request.headers["authorization"] == read(botocore_file(case, "authz")).strip()

    if token_after:
        request.headers["x-amz-security-token"] = token_after
    expected = parse_http(botocore_file(case, "sreq").read_bytes())
    expected_headers = {k: v.strip() for k, v in expected.headers.items()}
    expected_headers["authorization"] = read(botocore_file(case, "authz")).strip()
    assert (request.method, request.path, request.query, request.body) == (
        expected.method,
        uri_encode(expected.raw_path, safe="/"),
        expected.query,
        expected.body,
    )
    assert wire_headers(request) == expected_headers


def test_botocore_sreq_authorization_matches_authz() -> None:
    assert VECTORS.is_dir(), MISSING_MESSAGE
    bad = set()
    for case in botocore_cases():
        sreq = parse_http(botocore_file(case, "sreq").read_bytes())
        if sreq.headers["authorization"].strip() != read(botocore_file(case, "authz")).strip():
            bad.add(case)
    assert bad == BAD_BOTOCORE_SREQ


# --- s3-examples --------------------------------------------------------------------


def s3_credentials(ctx: dict[str, Any]) -> Credentials:
    cred = ctx["credentials"]
    return Credentials(cred["access_key_id"], cred["secret_access_key"], cred.get("token"))


S3_HEADER_CASES = ["get-object-range", "put-object", "get-bucket-lifecycle", "list-objects"]


def test_s3_example_cases_all_covered() -> None:
    assert VECTORS.is_dir(), MISSING_MESSAGE
    covered = {*S3_HEADER_CASES, "presigned-get-object", "put-object-aws-chunked"}
    covered.add("object-key-encoding")
    assert {p.name for p in S3.iterdir() if p.is_dir()} == covered


def _s3_params(cases: list[str]) -> list[Any]:
    return [_param(c) for c in cases] if VECTORS.is_dir() else _missing()


@pytest.mark.parametrize("name", _s3_params(S3_HEADER_CASES))
def test_s3_header_signed(name: str) -> None:
    _check(name)
    folder = S3 / name
    ctx = json.loads(read(folder / "context.json"))
    assert ctx["service"] == "s3" and ctx["normalize"] is False
    raw = parse_http((folder / "request.txt").read_bytes())
    payload_hash = sha256_hex(raw.body)
    assert raw.headers["x-amz-content-sha256"] == payload_hash
    request = raw.to_request()
    # sign() must add these itself.
    del request.headers["x-amz-date"], request.headers["x-amz-content-sha256"]
    now = parse_time(ctx["timestamp"])
    sign(request, s3_credentials(ctx), ctx["region"], "s3", now, payload_hash)

    assert request.headers["x-amz-date"] == "20130524T000000Z"
    assert request.headers["x-amz-content-sha256"] == payload_hash
    creq = header_canonical(request, payload_hash)
    assert creq == read(folder / "canonical-request.txt")
    sts = string_to_sign("20130524T000000Z", "20130524/us-east-1/s3/aws4_request", creq)
    assert sts == read(folder / "string-to-sign.txt")
    authorization = request.headers["authorization"]
    assert authorization.endswith("Signature=" + read(folder / "signature.txt").strip())
    assert normalise_authz(authorization) == normalise_authz(read(folder / "authorization.txt"))


def test_s3_presigned_get_object() -> None:
    assert VECTORS.is_dir(), MISSING_MESSAGE
    folder = S3 / "presigned-get-object"
    ctx = json.loads(read(folder / "context.json"))
    raw = parse_http((folder / "request.txt").read_bytes())
    request = raw.to_request()
    now = parse_time(ctx["timestamp"])
    url = presign(
        request, s3_credentials(ctx), ctx["region"], "s3", now, ctx["expiration_in_seconds"]
    )
    assert url == read(folder / "presigned-url.txt").strip()

    params = parse_query(urlsplit(url).query)[:-1]
    creq = canonical_request(
        "GET", request.path, params, {"host": request.host}, ["host"], "UNSIGNED-PAYLOAD"
    )
    assert creq == read(folder / "canonical-request.txt")
    sts = string_to_sign("20130524T000000Z", "20130524/us-east-1/s3/aws4_request", creq)
    assert sts == read(folder / "string-to-sign.txt")
    assert url.endswith("X-Amz-Signature=" + read(folder / "signature.txt").strip())


@dataclass
class ChunkedCase:
    ctx: dict[str, Any]
    raw: RawRequest
    payload: bytes
    seed: str
    chunks: list[tuple[int, str]]  # (size, signature)

    def file(self, name: str) -> str:
        return read(S3 / "put-object-aws-chunked" / name)


@pytest.fixture
def chunked() -> ChunkedCase:
    assert VECTORS.is_dir(), MISSING_MESSAGE
    folder = S3 / "put-object-aws-chunked"
    ctx = json.loads(read(folder / "context.json"))
    raw = parse_http((folder / "request.txt").read_bytes())
    assert ctx["payload"] == "66560 bytes of 'a' (0x61)"
    chunks = []
    for line in read(folder / "chunk-signatures.txt").strip().split("\n"):
        size, _, signature = line.partition(" bytes: ")
        chunks.append((int(size), signature.strip()))
    seed = read(folder / "signature.txt").strip()
    return ChunkedCase(ctx, raw, b"a" * ctx["decoded_content_length"], seed, chunks)


def test_s3_aws_chunked_seed_and_chunks(chunked: ChunkedCase) -> None:
    ctx = chunked.ctx
    request = chunked.raw.to_request()
    now = parse_time(ctx["timestamp"])
    sign(request, s3_credentials(ctx), ctx["region"], "s3", now, STREAMING_PAYLOAD)
    creq = header_canonical(request, STREAMING_PAYLOAD)
    assert creq == chunked.file("canonical-request.txt")
    scope = "20130524/us-east-1/s3/aws4_request"
    assert string_to_sign("20130524T000000Z", scope, creq) == chunked.file("string-to-sign.txt")
    assert request.headers["authorization"].endswith("Signature=" + chunked.seed)

    key = signing_key(ctx["credentials"]["secret_access_key"], "20130524", "us-east-1", "s3")
    first = chunked.payload[: ctx["chunk_size"]]
    assert chunk_string_to_sign("20130524T000000Z", scope, chunked.seed, first) == chunked.file(
        "chunk-string-to-sign-1.txt"
    )
    previous, offset = chunked.seed, 0
    for size, expected in chunked.chunks:
        chunk = chunked.payload[offset : offset + size]
        offset += size
        previous = chunk_signature(key, "20130524T000000Z", scope, previous, chunk)
        assert previous == expected
    assert offset == len(chunked.payload)
    assert aws_chunked_length(len(chunked.payload), ctx["chunk_size"]) == 66824
    body = aws_chunked_body(chunked.payload, key, "20130524T000000Z", scope, chunked.seed)
    assert len(body) == int(chunked.raw.headers["content-length"]) == 66824


def test_s3_sign_aws_chunked_request(chunked: ChunkedCase) -> None:
    ctx = chunked.ctx
    raw = chunked.raw
    # Only what a caller sets; sign_aws_chunked adds the encoding headers itself.
    request = Request(
        "PUT",
        "https",
        raw.host,
        raw.raw_path,
        headers={"x-amz-storage-class": raw.headers["x-amz-storage-class"]},
        body=chunked.payload,
    )
    now = parse_time(ctx["timestamp"])
    seed = sign_aws_chunked(request, s3_credentials(ctx), ctx["region"], "s3", now)
    assert seed == chunked.seed
    expected_headers = {k: v.strip() for k, v in raw.headers.items()}
    assert {k: v for k, v in wire_headers(request).items() if k != "authorization"} == (
        expected_headers
    )

    prefix_text = chunked.file("encoded-body-prefix.txt").strip()
    assert prefix_text.endswith("...")
    prefix = (
        prefix_text[:-3]
        .replace("\\r\\n", "\r\n")
        .replace("<65536 bytes of 'a'>", "a" * 65536)
        .encode("ascii")
    )
    body = bytes(request.body)
    assert body.startswith(prefix)
    assert len(body) == 66824
    (_, sig1), (size2, sig2), (_, sig3) = chunked.chunks
    assert body[len(prefix) :] == (
        f"{size2:x};chunk-signature={sig2}\r\n".encode()
        + b"a" * size2
        + b"\r\n"
        + f"0;chunk-signature={sig3}\r\n\r\n".encode()
    )
    assert prefix.startswith(f"10000;chunk-signature={sig1}\r\n".encode())


def _key_cases() -> list[Any]:
    if not VECTORS.is_dir():
        return _missing()
    data = json.loads(read(S3 / "object-key-encoding" / "cases.json"))
    return [pytest.param(c, id=repr(c["key"])) for c in data["cases"]]


def test_object_key_case_count() -> None:
    assert VECTORS.is_dir(), MISSING_MESSAGE
    assert len(json.loads(read(S3 / "object-key-encoding" / "cases.json"))["cases"]) == 24


@pytest.mark.parametrize("case", _key_cases())
def test_s3_object_key_encoding(case: Any) -> None:
    if case == MISSING:
        pytest.fail(MISSING_MESSAGE)
    data = json.loads(read(S3 / "object-key-encoding" / "cases.json"))
    # The client's rule: the key encoded once, "/" kept, after "/<bucket>/".
    path = "/examplebucket/" + uri_encode(case["key"], safe="/")
    assert path == case["request_path"]
    request = Request("GET", "https", data["host"], path)
    now = parse_time(data["timestamp"])
    sign(request, s3_credentials(data), data["region"], "s3", now, EMPTY_SHA256)
    assert data["x-amz-content-sha256"] == EMPTY_SHA256
    creq = header_canonical(request, EMPTY_SHA256)
    assert creq.split("\n")[1] == case["canonical_uri"]
    assert signed_names(request.headers["authorization"]) == [
        "host",
        "x-amz-content-sha256",
        "x-amz-date",
    ]
    assert request.headers["authorization"].endswith("Signature=" + case["signature"])
