"""STS, sans-I/O: the endpoint, the query-protocol request, its response."""

from __future__ import annotations

import hashlib
import os
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from datetime import datetime
from urllib.parse import urlencode, urlsplit

from .. import signing
from ..messages import Request
from .json_credentials import parse_expiration
from .model import MAX_BODY, Credentials, CredentialsError
from .settings import check_region, configured_endpoint

__all__ = [
    "STS_API_VERSION",
    "STS_RETRYABLE",
    "build_sts_request",
    "parse_sts_response",
    "sign_sts_request",
    "sts_endpoint",
]


STS_API_VERSION = "2011-06-15"
_LEGACY_GLOBAL_STS_REGIONS = frozenset(
    {
        "ap-northeast-1",
        "ap-south-1",
        "ap-southeast-1",
        "ap-southeast-2",
        "aws-global",
        "ca-central-1",
        "eu-central-1",
        "eu-north-1",
        "eu-west-1",
        "eu-west-2",
        "eu-west-3",
        "sa-east-1",
        "us-east-1",
        "us-east-2",
        "us-west-1",
        "us-west-2",
    }
)
STS_RETRYABLE = frozenset({"Throttling", "ThrottlingException", "IDPCommunicationError"})


def sts_endpoint(
    region: str | None,
    *,
    endpoint_url: str | None = None,
    regional_endpoints: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> tuple[str, str]:
    """``(endpoint URL, signing region)`` for STS.

    ``endpoint_url``, else ``AWS_ENDPOINT_URL_STS``, else ``AWS_ENDPOINT_URL`` (both
    ignored when ``AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true``), else the regional
    endpoint ``https://sts.<region>.amazonaws.com``; the global ``sts.amazonaws.com``
    when no region is known, or for the legacy-global regions when
    ``AWS_STS_REGIONAL_ENDPOINTS`` (or ``regional_endpoints``) is ``legacy``.
    """
    env = os.environ if environ is None else environ
    url = endpoint_url or configured_endpoint("STS", env)
    if region is not None:
        check_region(region)
    if url:
        return url, region or "us-east-1"
    if region is None or region == "aws-global":
        return "https://sts.amazonaws.com", "us-east-1"
    mode = (env.get("AWS_STS_REGIONAL_ENDPOINTS") or regional_endpoints or "regional").lower()
    if mode == "legacy" and region in _LEGACY_GLOBAL_STS_REGIONS:
        return "https://sts.amazonaws.com", "us-east-1"
    suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return f"https://sts.{region}.{suffix}", region


def build_sts_request(endpoint_url: str, action: str, params: Sequence[tuple[str, str]]) -> Request:
    """The POST (query protocol, form-encoded body) for an STS ``action``. Unsigned."""
    parts = urlsplit(endpoint_url)
    if parts.scheme not in ("http", "https") or not parts.netloc or "@" in parts.netloc:
        raise CredentialsError(f"invalid STS endpoint URL {endpoint_url[:200]!r}")
    body = urlencode([("Action", action), ("Version", STS_API_VERSION), *params]).encode()
    return Request(
        method="POST",
        scheme=parts.scheme,
        host=parts.netloc,
        path=parts.path or "/",
        headers={
            "host": parts.netloc,
            "content-type": "application/x-www-form-urlencoded; charset=utf-8",
        },
        body=body,
    )


def sign_sts_request(
    request: Request, credentials: Credentials, region: str, now: datetime
) -> None:
    """Sign a request of :func:`build_sts_request` for STS in ``region``, in place."""
    body = bytes(request.body)
    signing.sign(request, credentials, region, "sts", now, hashlib.sha256(body).hexdigest())


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _find(elem: ET.Element, *path: str) -> ET.Element | None:
    """Descendant by local names (namespace-agnostic), first match at each step."""
    cur: ET.Element | None = elem
    for name in path:
        if cur is None:
            return None
        cur = next((c for c in cur.iter() if c is not cur and _local(c.tag) == name), None)
    return cur


def _text(elem: ET.Element, *path: str) -> str | None:
    found = _find(elem, *path)
    return found.text.strip() if found is not None and found.text else None


def parse_sts_response(status: int, body: bytes, action: str) -> Credentials:
    """Credentials from an STS ``AssumeRole*`` response, or :class:`CredentialsError`
    with STS's error code and message. Never echoes a successful body (it holds secrets)."""
    what = f"STS {action}"
    if len(body) > MAX_BODY:
        raise CredentialsError(f"{what}: response larger than {MAX_BODY} bytes", status=status)
    if b"<!DOCTYPE" in body or b"<!ENTITY" in body:
        raise CredentialsError(f"{what}: response contains a DTD; refused", status=status)
    try:
        root = ET.fromstring(body) if body.strip() else None
    except ET.ParseError:
        root = None
    if status != 200:
        code = message = request_id = None
        if root is not None:
            code = _text(root, "Error", "Code")
            message = _text(root, "Error", "Message")
            request_id = _text(root, "RequestId")
        detail = f"{code}: {message}" if code else (message or "no error document")
        err = CredentialsError(f"{what} failed: {detail}", status=status, request_id=request_id)
        err.sts_code = code
        raise err
    if root is None:
        raise CredentialsError(f"{what}: malformed XML response", status=status)
    creds = _find(root, "Credentials")
    if creds is None:
        raise CredentialsError(f"{what}: no Credentials in the response", status=status)
    values: dict[str, str] = {}
    for name in ("AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration"):
        value = _text(creds, name)
        if not value:
            raise CredentialsError(f"{what}: response has no {name}", status=status)
        values[name] = value
    try:
        expiration = parse_expiration(values["Expiration"])
    except ValueError as e:
        raise CredentialsError(f"{what}: bad Expiration: {e}", status=status) from None
    return Credentials(
        values["AccessKeyId"], values["SecretAccessKey"], values["SessionToken"], expiration
    )
