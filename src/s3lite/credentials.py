"""AWS credentials and the providers that find them, the way the AWS SDKs do.

Each provider is a class whose ``async load()`` returns :class:`Credentials`, or
None when its source is not configured at all (so a chain moves on); a source
that *is* configured but broken raises :class:`CredentialsError`. Every provider
also implements :class:`CredentialProvider` (``get_credentials()``) through a
:class:`RefreshingProvider` that caches temporary credentials and refreshes them
ahead of expiry, once however many requests wait.

:func:`default_chain` builds the SDK order: environment, web identity, shared
files (profile), container (ECS/EKS Pod Identity), EC2 instance metadata.

Requests and responses of the credential services (STS, IMDS, container
endpoint) are built and parsed by pure functions below; I/O is a thin shell
over tornado's HTTP client (these calls are rare, not the hot path).
"""

from __future__ import annotations

import abc
import asyncio
import concurrent.futures
import hashlib
import ipaddress
import json
import logging
import os
import re
import shlex
import socket
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Protocol, runtime_checkable
from urllib.parse import urlencode, urlsplit

from .config import SharedConfig, load_shared_config, resolve_profile, resolve_region
from .errors import S3Error, TransportError, TransportTimeout
from .messages import Request, Response, uri_encode

__all__ = [
    "BaseProvider",
    "ChainProvider",
    "ContainerProvider",
    "CredentialProvider",
    "Credentials",
    "CredentialsError",
    "EnvProvider",
    "InstanceMetadataProvider",
    "NoCredentialsError",
    "ProcessProvider",
    "RefreshingProvider",
    "SharedFilesProvider",
    "StaticProvider",
    "WebIdentityProvider",
    "as_provider",
    "build_sts_request",
    "container_credentials_url",
    "default_chain",
    "parse_expiration",
    "parse_json_credentials",
    "parse_process_output",
    "parse_sts_response",
    "resolve_region",
    "sts_endpoint",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Credentials:
    """A set of AWS credentials. ``repr`` and ``str`` never show the secret or token."""

    access_key_id: str
    secret_access_key: str
    session_token: str | None = None
    expiration: datetime | None = None  # timezone-aware; None = never expires
    # Extra headers sent and signed with every request made with these credentials
    # (the old jupyters3 ``AwsCreds.pre_auth_headers``). Keys are lower-cased when sent.
    pre_auth_headers: Mapping[str, str] | None = None

    def __repr__(self) -> str:
        token = ", session_token=***" if self.session_token else ""
        exp = f", expiration={self.expiration.isoformat()}" if self.expiration else ""
        key = self.access_key_id
        return f"Credentials(access_key_id={key!r}, secret_access_key=***{token}{exp})"

    __str__ = __repr__


@runtime_checkable
class CredentialProvider(Protocol):
    """Anything that can hand out current credentials (refreshing as needed)."""

    async def get_credentials(self) -> Credentials: ...


# --------------------------------------------------------------------------- errors


class CredentialsError(S3Error):
    """A credential source is configured but does not work (bad file, STS refusal,
    unreachable container endpoint, failing ``credential_process``...)."""

    default_code = "CredentialsError"
    sts_code: str | None = None  # STS's error code, when STS refused


class NoCredentialsError(S3Error):
    """No credentials anywhere. ``searched`` lists every place that was looked at."""

    default_code = "NoCredentials"

    def __init__(self, message: str = "", *, searched: Sequence[str] = (), **kwargs: Any) -> None:
        self.searched = list(searched)
        if not message:
            places = "".join(f"\n  {i}. {p}" for i, p in enumerate(self.searched, 1))
            message = (
                "no AWS credentials found; looked in:"
                + places
                + "\nSet AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, configure a profile in"
                " ~/.aws/credentials or ~/.aws/config, or pass credentials explicitly."
            )
        super().__init__(message, **kwargs)


# ------------------------------------------------------------ pure helpers (sans-I/O)

# Bigger answers from STS/IMDS/container endpoints are not credentials.
_MAX_BODY = 1 << 20

_ISO_RE = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)[Tt ](\d\d):(\d\d):(\d\d)(?:\.(\d+))?\s*(Z|z|[+-]\d\d:?\d\d)?"
)


def parse_expiration(value: str) -> datetime:
    """An ISO 8601 timestamp as STS, IMDS, ECS and ``credential_process`` write it
    (``2024-05-01T12:00:00Z``, fractional seconds, ``+00:00``) as an aware datetime;
    no offset means UTC. Raises ValueError."""
    m = _ISO_RE.fullmatch(value.strip())
    if not m:
        raise ValueError(f"not an ISO 8601 timestamp: {value[:64]!r}")
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    micro = int((m.group(7) or "0")[:6].ljust(6, "0"))
    tz = timezone.utc
    off = m.group(8)
    if off and off not in ("Z", "z"):
        sign = -1 if off[0] == "-" else 1
        digits = off[1:].replace(":", "")
        tz = timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
    return datetime(year, month, day, hour, minute, second, micro, tzinfo=tz)


def parse_json_credentials(
    body: bytes | str,
    *,
    source: str,
    token_field: str = "Token",
    require_token: bool = True,
    require_expiration: bool = True,
) -> Credentials:
    """Credentials from the JSON document of IMDS / the container endpoint
    (``AccessKeyId``, ``SecretAccessKey``, ``Token``, ``Expiration``) or of a
    ``credential_process`` (``token_field="SessionToken"``). Error messages never
    repeat the document (it holds secrets)."""
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise CredentialsError(f"{source} did not return valid JSON") from None
    if not isinstance(doc, dict):
        raise CredentialsError(f"{source} returned JSON that is not an object")
    code = doc.get("Code")
    if isinstance(code, str) and code != "Success":
        msg = doc.get("Message")
        detail = f": {str(msg)[:300]}" if isinstance(msg, str) else ""
        raise CredentialsError(f"{source} answered {code}{detail}")
    required = ["AccessKeyId", "SecretAccessKey"]
    if require_token:
        required.append(token_field)
    if require_expiration:
        required.append("Expiration")
    for name in required:
        if not isinstance(doc.get(name), str) or not doc[name]:
            raise CredentialsError(f"{source} returned no {name}")
    token = doc.get(token_field)
    if token is not None and not isinstance(token, str):
        raise CredentialsError(f"{source} returned a {token_field} that is not a string")
    expiration: datetime | None = None
    raw_exp = doc.get("Expiration")
    if raw_exp is not None:
        if not isinstance(raw_exp, str):
            raise CredentialsError(f"{source} returned an Expiration that is not a string")
        try:
            expiration = parse_expiration(raw_exp)
        except ValueError as e:
            raise CredentialsError(f"{source} returned a bad Expiration: {e}") from None
    return Credentials(doc["AccessKeyId"], doc["SecretAccessKey"], token or None, expiration)


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
_STS_RETRYABLE = frozenset({"Throttling", "ThrottlingException", "IDPCommunicationError"})
_REGION_RE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


def _true(value: str | None) -> bool:
    return (value or "").strip().lower() == "true"


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
    url = endpoint_url
    if not url and not _true(env.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")):
        url = env.get("AWS_ENDPOINT_URL_STS") or env.get("AWS_ENDPOINT_URL")
    if region is not None and not _REGION_RE.fullmatch(region):
        raise CredentialsError(f"invalid AWS region {region[:64]!r}")
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
    if len(body) > _MAX_BODY:
        raise CredentialsError(f"{what}: response larger than {_MAX_BODY} bytes", status=status)
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


_CONTAINER_HOST = "169.254.170.2"
# Plain-http hosts allowed for AWS_CONTAINER_CREDENTIALS_FULL_URI (besides any
# loopback address), as in the SDKs: ECS, EKS Pod Identity (IPv4 and IPv6).
_CONTAINER_ALLOWED_HOSTS = frozenset(
    {_CONTAINER_HOST, "169.254.170.23", "fd00:ec2::23", "localhost"}
)


def container_credentials_url(environ: Mapping[str, str] | None = None) -> str | None:
    """The container credentials URL from ``AWS_CONTAINER_CREDENTIALS_RELATIVE_URI``
    (on ``http://169.254.170.2``) or ``AWS_CONTAINER_CREDENTIALS_FULL_URI``; None if
    neither is set. A full URI must be https, or http to a loopback address or one
    of the ECS / EKS Pod Identity addresses."""
    env = os.environ if environ is None else environ
    relative = env.get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
    if relative:
        if not relative.startswith("/"):
            raise CredentialsError(
                "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI must start with '/' "
                f"(got {relative[:100]!r})"
            )
        return f"http://{_CONTAINER_HOST}{relative}"
    full = env.get("AWS_CONTAINER_CREDENTIALS_FULL_URI")
    if not full:
        return None
    parts = urlsplit(full)
    try:
        host = parts.hostname or ""
    except ValueError:
        host = ""
    if parts.scheme == "https" and host:
        return full
    if parts.scheme == "http" and host:
        try:
            if ipaddress.ip_address(host).is_loopback:
                return full
        except ValueError:
            pass
        if host in _CONTAINER_ALLOWED_HOSTS:
            return full
    raise CredentialsError(
        f"AWS_CONTAINER_CREDENTIALS_FULL_URI {full[:200]!r} is not allowed: it must be "
        "https, or http to a loopback address or one of "
        + ", ".join(sorted(_CONTAINER_ALLOWED_HOSTS))
    )


def _check_header_value(value: str, what: str) -> str:
    if "\r" in value or "\n" in value or not value:
        raise CredentialsError(f"{what} is empty or contains a line break")
    return value


def _read_small_file(path: str, what: str) -> str:
    try:
        with open(path, "rb") as f:
            data = f.read(_MAX_BODY + 1)
    except OSError as e:
        raise CredentialsError(f"cannot read {what} {path!r}: {e.strerror or e}") from None
    if len(data) > _MAX_BODY:
        raise CredentialsError(f"{what} {path!r} is larger than {_MAX_BODY} bytes")
    try:
        return data.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise CredentialsError(f"{what} {path!r} is not UTF-8 text") from None


def _default_session_name() -> str:
    return f"s3lite-session-{int(time.time())}"


def _describe_file(path: Any) -> str:
    return f"{path}" if os.path.exists(path) else f"{path} (does not exist)"


# ------------------------------------------------------------------ I/O: HTTP shell


async def _http(
    method: str,
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    body: bytes | None = None,
    timeout: float,
) -> Response:
    """One HTTP exchange, never following redirects; transport failures become
    :class:`TransportError` / :class:`TransportTimeout`."""
    from tornado.httpclient import HTTPClientError, HTTPRequest
    from tornado.httputil import HTTPHeaders
    from tornado.simple_httpclient import HTTPTimeoutError, SimpleAsyncHTTPClient

    # A private client per call: bound to the running loop, with a body size cap.
    client = SimpleAsyncHTTPClient(force_instance=True, max_body_size=_MAX_BODY)
    try:
        req = HTTPRequest(
            url,
            method=method,
            headers=HTTPHeaders(dict(headers or {})),
            body=body,
            connect_timeout=timeout,
            request_timeout=timeout,
            follow_redirects=False,
            decompress_response=False,
            user_agent="s3lite",
        )
        what = f"{method} {_safe_url(url)}"
        try:
            resp = await client.fetch(req, raise_error=False)
        except HTTPTimeoutError as e:
            # tornado says "Timeout while connecting" or "Timeout during request".
            sent = "connect" not in (e.message or "")
            raise TransportTimeout(f"{what}: {e.message}", request_sent=sent) from None
        except HTTPClientError as e:
            raise TransportError(f"{what}: {e.message}") from None
        except (ConnectionRefusedError, ValueError, socket.gaierror) as e:
            raise TransportError(f"{what}: {e}", request_sent=False) from None
        except OSError as e:
            raise TransportError(f"{what}: {e}") from None
        return Response(
            status=resp.code,
            headers={k.lower(): v for k, v in resp.headers.get_all()},
            body=resp.body or b"",
            reason=resp.reason or "",
        )
    finally:
        client.close()


def _safe_url(url: str) -> str:
    """A URL for messages: scheme, host and path only (no query, no user info)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


async def _call_sts(
    action: str,
    params: Sequence[tuple[str, str]],
    *,
    region: str | None,
    endpoint_url: str | None,
    regional_endpoints: str | None,
    source: Credentials | None,
    attempts: int = 3,
    timeout: float = 10.0,
) -> Credentials:
    """Call STS ``action`` (signed with ``source``, unsigned if None); retries
    connection failures, 5xx and throttling."""
    url, signing_region = sts_endpoint(
        region, endpoint_url=endpoint_url, regional_endpoints=regional_endpoints
    )
    last: Exception | None = None
    for attempt in range(max(1, attempts)):
        if attempt:
            await asyncio.sleep(0.1 * 2**attempt)
        req = build_sts_request(url, action, params)
        if source is not None:
            from . import signing

            body = bytes(req.body)
            signing.sign(
                req,
                source,
                signing_region,
                "sts",
                datetime.now(timezone.utc),
                hashlib.sha256(body).hexdigest(),
            )
        logger.debug("STS %s at %s (region %s)", action, _safe_url(url), signing_region)
        try:
            resp = await _http(
                "POST", req.url, headers=req.headers, body=bytes(req.body), timeout=timeout
            )
        except TransportError as e:
            last = CredentialsError(f"STS {action} at {_safe_url(url)}: {e.message}")
            continue
        try:
            return parse_sts_response(resp.status, resp.body, action)
        except CredentialsError as e:
            last = e
            if resp.status < 500 and e.sts_code not in _STS_RETRYABLE:
                raise
    assert last is not None
    raise last


# ------------------------------------------------------------- caching / refreshing


class _Abandoned(Exception):
    """The refresh was cancelled with the event loop that ran it; try again."""


@dataclass
class _Refresh:
    future: concurrent.futures.Future[Credentials]
    loop: asyncio.AbstractEventLoop
    task: asyncio.Task[None] | None = None


class RefreshingProvider:
    """Caches the credentials of ``source`` and refreshes them ahead of expiry.

    - More than ``advisory_window`` seconds left: the cached credentials.
    - Inside the advisory window: one caller refreshes (others meanwhile get the
      cached ones); if that fails, a warning is logged and the cached credentials,
      still valid, are used (the next attempt waits ``retry_interval`` seconds).
    - Inside the ``mandatory_window`` (or nothing cached yet): every caller waits
      for the refresh, which must succeed.

    Concurrent callers share one refresh, also across event loops: state is guarded
    by a thread lock and the shared refresh is a ``concurrent.futures.Future``, so
    nothing is bound to the loop that was running at construction time.
    """

    def __init__(
        self,
        source: BaseProvider,
        *,
        advisory_window: float = 300.0,
        mandatory_window: float = 60.0,
        retry_interval: float = 30.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if mandatory_window > advisory_window:
            raise ValueError("mandatory_window must not exceed advisory_window")
        self._source = source
        self._advisory = advisory_window
        self._mandatory = mandatory_window
        self._retry_interval = retry_interval
        self._clock = clock
        self._lock = threading.Lock()
        self._creds: Credentials | None = None
        self._expires_at: float | None = None  # epoch seconds
        self._inflight: _Refresh | None = None
        self._next_advisory = 0.0

    def __repr__(self) -> str:
        exp = self._creds.expiration.isoformat() if self._creds and self._creds.expiration else None
        return f"RefreshingProvider({self._source!r}, expiration={exp})"

    __str__ = __repr__

    def invalidate(self) -> None:
        """Forget the cached credentials (e.g. after S3 said ``ExpiredToken``)."""
        with self._lock:
            self._creds = None
            self._expires_at = None

    async def get_credentials(self) -> Credentials:
        creds, expires_at = self._creds, self._expires_at
        if creds is not None:
            if expires_at is None:
                return creds
            now = self._clock()
            remaining = expires_at - now
            if remaining > self._advisory:
                return creds
            if remaining > self._mandatory:
                return await self._advisory_refresh(creds, now)
        return await self._mandatory_refresh()

    async def _advisory_refresh(self, creds: Credentials, now: float) -> Credentials:
        with self._lock:
            busy = self._inflight is not None and not self._inflight.future.done()
            if busy or now < self._next_advisory:
                return creds
            self._next_advisory = now + self._retry_interval
        try:
            return await asyncio.wrap_future(self._join_or_start())
        except _Abandoned:
            return creds
        except Exception as e:
            left = (self._expires_at or now) - self._clock()
            logger.warning(
                "Refreshing AWS credentials from %s failed (%s); still using the current "
                "ones, which expire in %.0f s",
                self._source.label,
                e,
                left,
            )
            return creds

    async def _mandatory_refresh(self) -> Credentials:
        while True:
            try:
                return await asyncio.wrap_future(self._join_or_start())
            except _Abandoned:
                continue

    def _join_or_start(self) -> concurrent.futures.Future[Credentials]:
        loop = asyncio.get_running_loop()
        with self._lock:
            current = self._inflight
            if current is not None and not current.future.done():
                orphaned = current.loop is not loop and (
                    current.loop.is_closed() or not current.loop.is_running()
                )
                if not orphaned:
                    return current.future
            # Someone else may have refreshed since our caller looked at the cache.
            if self._creds is not None and self._fresh(self._expires_at):
                done: concurrent.futures.Future[Credentials] = concurrent.futures.Future()
                done.set_result(self._creds)
                return done
            fut: concurrent.futures.Future[Credentials] = concurrent.futures.Future()
            # RUNNING: a waiter being cancelled must not cancel the shared refresh.
            fut.set_running_or_notify_cancel()
            refresh = _Refresh(fut, loop)
            self._inflight = refresh
        # Outside the lock: an eager task factory would run _run() right here.
        refresh.task = loop.create_task(self._run(refresh))
        return fut

    def _fresh(self, expires_at: float | None) -> bool:
        return expires_at is None or expires_at - self._clock() > self._advisory

    async def _run(self, refresh: _Refresh) -> None:
        source = self._source
        try:
            logger.debug("Loading AWS credentials from %s", source.label)
            creds = await source.load()
            if creds is None:
                raise NoCredentialsError(searched=source.searched())
            expires_at = creds.expiration.timestamp() if creds.expiration else None
            if expires_at is not None and expires_at <= self._clock():
                raise CredentialsError(
                    f"{source.label} returned credentials that expired at "
                    f"{creds.expiration.isoformat() if creds.expiration else ''}"
                )
            with self._lock:
                self._creds, self._expires_at = creds, expires_at
            logger.debug(
                "Got AWS credentials from %s (access key id %s, expiration %s)",
                source.label,
                creds.access_key_id,
                creds.expiration.isoformat() if creds.expiration else "none",
            )
            refresh.future.set_result(creds)
        except asyncio.CancelledError:
            refresh.future.set_exception(_Abandoned())
            raise
        except BaseException as e:
            # Waiters (perhaps on other loops) must always get an answer.
            refresh.future.set_exception(e)
            if not isinstance(e, Exception):
                raise
        finally:
            with self._lock:
                if self._inflight is refresh:
                    self._inflight = None


# ------------------------------------------------------------------------ providers


class BaseProvider(abc.ABC):
    """A credential source. ``load()`` returns credentials, None if the source is not
    configured, or raises :class:`CredentialsError` if it is configured but broken.
    ``get_credentials()`` caches and refreshes through a :class:`RefreshingProvider`."""

    label: str = "credentials"  # names the source in messages and logs

    def __init__(self) -> None:
        self._miss: str | None = None
        self._cache = RefreshingProvider(self)

    @abc.abstractmethod
    async def load(self) -> Credentials | None:
        """Fetch fresh credentials from the source (no caching)."""

    async def get_credentials(self) -> Credentials:
        """Current credentials, cached and refreshed ahead of expiry."""
        return await self._cache.get_credentials()

    def invalidate(self) -> None:
        """Forget cached credentials; the next ``get_credentials()`` loads again."""
        self._cache.invalidate()

    def searched(self) -> list[str]:
        """Where this provider looked, and why it found nothing (for the error)."""
        return [f"{self.label}: {self._miss or 'not tried'}"]

    def _not_found(self, why: str) -> None:
        self._miss = why
        logger.debug("No AWS credentials from %s: %s", self.label, why)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    __str__ = __repr__


class StaticProvider(BaseProvider):
    """Fixed credentials given in code."""

    label = "static credentials"

    def __init__(self, credentials: Credentials) -> None:
        super().__init__()
        self.credentials = credentials

    async def load(self) -> Credentials:
        return self.credentials

    async def get_credentials(self) -> Credentials:
        return self.credentials

    def __repr__(self) -> str:
        return f"StaticProvider({self.credentials!r})"

    __str__ = __repr__


class EnvProvider(BaseProvider):
    """``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN`` (or the
    legacy ``AWS_SECURITY_TOKEN``) and optionally ``AWS_CREDENTIAL_EXPIRATION``."""

    label = "environment variables"

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        super().__init__()
        self._environ = environ

    async def load(self) -> Credentials | None:
        env = os.environ if self._environ is None else self._environ
        key = env.get("AWS_ACCESS_KEY_ID", "")
        secret = env.get("AWS_SECRET_ACCESS_KEY", "")
        if not key and not secret:
            self._not_found("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set")
            return None
        if not key or not secret:
            have, missing = (
                ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
                if key
                else ("AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY_ID")
            )
            raise CredentialsError(f"{have} is set but {missing} is not")
        token = env.get("AWS_SESSION_TOKEN") or env.get("AWS_SECURITY_TOKEN") or None
        expiration = None
        if env.get("AWS_CREDENTIAL_EXPIRATION"):
            try:
                expiration = parse_expiration(env["AWS_CREDENTIAL_EXPIRATION"])
            except ValueError as e:
                raise CredentialsError(f"bad AWS_CREDENTIAL_EXPIRATION: {e}") from None
        return Credentials(key, secret, token, expiration)


class WebIdentityProvider(BaseProvider):
    """STS ``AssumeRoleWithWebIdentity`` (EKS IAM roles for service accounts, and similar).

    Settings, each from the environment first, then the profile: the token file
    (``AWS_WEB_IDENTITY_TOKEN_FILE`` / ``web_identity_token_file``), the role
    (``AWS_ROLE_ARN`` / ``role_arn``) and the session name (``AWS_ROLE_SESSION_NAME``
    / ``role_session_name``). The token file is re-read on every refresh. The
    request is unsigned and goes to the regional STS endpoint (see :func:`sts_endpoint`).
    """

    label = "web identity"
    _ENV = {
        "web_identity_token_file": "AWS_WEB_IDENTITY_TOKEN_FILE",
        "role_arn": "AWS_ROLE_ARN",
        "role_session_name": "AWS_ROLE_SESSION_NAME",
    }

    def __init__(
        self,
        *,
        profile: str | None = None,
        region: str | None = None,
        sts_endpoint_url: str | None = None,
        use_env: bool = True,
        use_profile: bool = True,
        token_file: str | None = None,
        role_arn: str | None = None,
        role_session_name: str | None = None,
    ) -> None:
        super().__init__()
        self._profile = profile
        self._region = region
        self._endpoint = sts_endpoint_url
        self._use_env = use_env
        self._use_profile = use_profile
        self._given = {
            "web_identity_token_file": token_file,
            "role_arn": role_arn,
            "role_session_name": role_session_name,
        }

    async def load(self) -> Credentials | None:
        profile_cfg: dict[str, str] | None = None
        profile_name, _ = resolve_profile(self._profile)

        def setting(key: str) -> str | None:
            nonlocal profile_cfg
            if self._given[key]:
                return self._given[key]
            if self._use_env and os.environ.get(self._ENV[key]):
                return os.environ[self._ENV[key]]
            if not self._use_profile:
                return None
            if profile_cfg is None:
                profile_cfg = load_shared_config().profile(profile_name)
            return profile_cfg.get(key) or None

        token_file = setting("web_identity_token_file")
        if not token_file:
            where = "AWS_WEB_IDENTITY_TOKEN_FILE is not set" if self._use_env else ""
            if self._use_profile:
                sep = " and " if where else ""
                where += f"{sep}profile {profile_name!r} has no web_identity_token_file"
            self._not_found(where or "no token file given")
            return None
        role_arn = setting("role_arn")
        if not role_arn:
            raise CredentialsError(
                f"web identity token file {token_file!r} is configured but no role is: "
                f"set AWS_ROLE_ARN (or role_arn in profile {profile_name!r})"
            )
        session_name = setting("role_session_name") or _default_session_name()
        token = _read_small_file(token_file, "web identity token file")
        if not token:
            raise CredentialsError(f"web identity token file {token_file!r} is empty")
        region = resolve_region(self._region, self._profile)
        regional = None
        if self._use_profile and profile_cfg is not None:
            regional = profile_cfg.get("sts_regional_endpoints")
        return await _call_sts(
            "AssumeRoleWithWebIdentity",
            [("RoleArn", role_arn), ("RoleSessionName", session_name), ("WebIdentityToken", token)],
            region=region,
            endpoint_url=self._endpoint,
            regional_endpoints=regional,
            source=None,
        )


class ProcessProvider(BaseProvider):
    """Runs a ``credential_process`` command (no shell) and reads its JSON output
    (``Version`` 1, ``AccessKeyId``, ``SecretAccessKey``, optional ``SessionToken`` and
    ``Expiration``). Run again on every refresh."""

    label = "credential_process"

    def __init__(self, command: str, *, timeout: float = 60.0) -> None:
        super().__init__()
        self.command = command
        self._timeout = timeout

    def __repr__(self) -> str:
        # The command line may carry secrets in its arguments: show the program only.
        return f"ProcessProvider({self._program()!r})"

    __str__ = __repr__

    def _program(self) -> str:
        try:
            argv = shlex.split(self.command, posix=os.name != "nt")
        except ValueError:
            return "?"
        return argv[0] if argv else ""

    async def load(self) -> Credentials:
        try:
            argv = shlex.split(self.command, posix=os.name != "nt")
        except ValueError as e:
            raise CredentialsError(f"cannot parse credential_process: {e}") from None
        if not argv:
            raise CredentialsError("credential_process is empty")
        what = f"credential_process {argv[0]!r}"
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
        except OSError as e:
            raise CredentialsError(f"{what} could not be started: {e.strerror or e}") from None
        try:
            out, err = await asyncio.wait_for(proc.communicate(), self._timeout)
        except asyncio.TimeoutError:
            proc.kill()
            await proc.wait()
            raise CredentialsError(f"{what} did not finish within {self._timeout} s") from None
        except BaseException:
            if proc.returncode is None:
                proc.kill()
            raise
        if proc.returncode != 0:
            msg = err.decode("utf-8", "replace").strip()[-500:]
            raise CredentialsError(
                f"{what} exited with status {proc.returncode}" + (f": {msg}" if msg else "")
            )
        if len(out) > _MAX_BODY:
            raise CredentialsError(f"{what} printed more than {_MAX_BODY} bytes")
        return parse_process_output(out, what)


def parse_process_output(out: bytes | str, what: str = "credential_process") -> Credentials:
    """Credentials from a ``credential_process``'s standard output (JSON, Version 1)."""
    try:
        doc = json.loads(out)
    except (ValueError, UnicodeDecodeError):
        raise CredentialsError(f"{what} did not print valid JSON") from None
    if not isinstance(doc, dict):
        raise CredentialsError(f"{what} printed JSON that is not an object")
    if doc.get("Version") != 1:
        raise CredentialsError(
            f"{what} printed Version {doc.get('Version', '(missing)')!r}; supported: 1"
        )
    return parse_json_credentials(
        out, source=what, token_field="SessionToken", require_token=False, require_expiration=False
    )


class SharedFilesProvider(BaseProvider):
    """A profile of ``~/.aws/credentials`` and ``~/.aws/config`` (``AWS_SHARED_CREDENTIALS_FILE``,
    ``AWS_CONFIG_FILE``; profile from the argument, ``AWS_PROFILE``, ``AWS_DEFAULT_PROFILE``
    or ``default``).

    As in botocore, in this order: ``role_arn`` with ``source_profile`` (chains
    allowed, loops refused) or ``credential_source`` (``Environment``,
    ``Ec2InstanceMetadata``, ``EcsContainer``), assumed with STS ``AssumeRole``;
    ``web_identity_token_file``; static keys in the credentials file;
    ``credential_process``; static keys in the config file. The files are re-read
    on every refresh. ``mfa_serial`` is refused (no interactive prompt here).
    """

    label = "shared files"

    def __init__(
        self,
        profile: str | None = None,
        *,
        region: str | None = None,
        sts_endpoint_url: str | None = None,
        allow_imdsv1: bool = False,
    ) -> None:
        super().__init__()
        self._profile = profile
        self._region = region
        self._endpoint = sts_endpoint_url
        self._allow_imdsv1 = allow_imdsv1

    def __repr__(self) -> str:
        return f"SharedFilesProvider(profile={self._profile!r})"

    __str__ = __repr__

    async def load(self) -> Credentials | None:
        name, chosen = resolve_profile(self._profile)
        cfg = load_shared_config()
        where = f"{_describe_file(cfg.credentials_path)} or {_describe_file(cfg.config_path)}"
        if not cfg.has_profile(name):
            if chosen:
                raise CredentialsError(f"profile {name!r} not found in {where}")
            self._not_found(f"profile {name!r} not found in {where}")
            return None
        creds = await self._resolve(cfg, name, [name], top=name, as_source=False)
        if creds is None:
            self._not_found(
                f"profile {name!r} in {where} has no credentials (no aws_access_key_id, "
                "role_arn, web_identity_token_file or credential_process)"
            )
        return creds

    async def _resolve(
        self, cfg: SharedConfig, name: str, visited: list[str], *, top: str, as_source: bool
    ) -> Credentials | None:
        prof = cfg.profile(name)
        static_in_creds = cfg.credentials_profiles.get(name, {})
        static_in_config = cfg.config_profiles.get(name, {})
        has_static = any(
            k in p
            for p in (static_in_creds, static_in_config)
            for k in ("aws_access_key_id", "aws_secret_access_key")
        )
        # A source profile with its own keys is used for its keys, not its role.
        role = "role_arn" in prof and "web_identity_token_file" not in prof
        if role and not (as_source and has_static):
            return await self._assume_role(cfg, name, prof, visited, top=top)
        if "web_identity_token_file" in prof:
            return await WebIdentityProvider(
                profile=name,
                region=self._region or resolve_region(None, top),
                sts_endpoint_url=self._endpoint,
                use_env=False,
                use_profile=False,
                token_file=prof["web_identity_token_file"],
                role_arn=prof.get("role_arn"),
                role_session_name=prof.get("role_session_name"),
            ).load()
        creds = self._static(static_in_creds, name, cfg.credentials_path)
        if creds is not None:
            return creds
        if prof.get("credential_process"):
            return await ProcessProvider(prof["credential_process"]).load()
        return self._static(static_in_config, name, cfg.config_path)

    @staticmethod
    def _static(values: Mapping[str, str], name: str, path: Any) -> Credentials | None:
        key = values.get("aws_access_key_id", "")
        secret = values.get("aws_secret_access_key", "")
        if not key and not secret:
            return None
        if not key or not secret:
            missing = "aws_access_key_id" if not key else "aws_secret_access_key"
            raise CredentialsError(f"profile {name!r} in {path} has no {missing}")
        return Credentials(key, secret, values.get("aws_session_token") or None)

    async def _assume_role(
        self,
        cfg: SharedConfig,
        name: str,
        prof: Mapping[str, str],
        visited: list[str],
        *,
        top: str,
    ) -> Credentials:
        role_arn = prof["role_arn"]
        if prof.get("mfa_serial"):
            raise CredentialsError(
                f"profile {name!r} needs an MFA code (mfa_serial), which s3lite cannot prompt "
                "for; use `aws sts get-session-token` or a credential_process instead"
            )
        source_profile = prof.get("source_profile")
        credential_source = prof.get("credential_source")
        if source_profile and credential_source:
            raise CredentialsError(
                f"profile {name!r} has both source_profile and credential_source"
            )
        if credential_source:
            source = await self._credential_source(credential_source, name)
        elif source_profile:
            if not cfg.has_profile(source_profile):
                raise CredentialsError(
                    f"source_profile {source_profile!r} of profile {name!r} does not exist"
                )
            if source_profile == name:
                # A profile may name itself to use its own keys for its role.
                source_or_none = self._static(
                    cfg.credentials_profiles.get(name, {}), name, cfg.credentials_path
                ) or self._static(cfg.config_profiles.get(name, {}), name, cfg.config_path)
            elif source_profile in visited:
                chain = " -> ".join([*visited, source_profile])
                raise CredentialsError(f"source_profile loop: {chain}")
            else:
                source_or_none = await self._resolve(
                    cfg, source_profile, [*visited, source_profile], top=top, as_source=True
                )
            if source_or_none is None:
                raise CredentialsError(
                    f"source_profile {source_profile!r} of profile {name!r} has no credentials"
                )
            source = source_or_none
        else:
            raise CredentialsError(
                f"profile {name!r} has role_arn but neither source_profile nor credential_source"
            )
        params = [
            ("RoleArn", role_arn),
            ("RoleSessionName", prof.get("role_session_name") or _default_session_name()),
        ]
        if prof.get("external_id"):
            params.append(("ExternalId", prof["external_id"]))
        if prof.get("duration_seconds"):
            if not prof["duration_seconds"].isdigit():
                raise CredentialsError(
                    f"profile {name!r}: duration_seconds must be a number of seconds"
                )
            params.append(("DurationSeconds", prof["duration_seconds"]))
        top_prof = cfg.profile(top)
        return await _call_sts(
            "AssumeRole",
            params,
            region=self._region or resolve_region(None, top),
            endpoint_url=self._endpoint,
            regional_endpoints=top_prof.get("sts_regional_endpoints"),
            source=source,
        )

    async def _credential_source(self, kind: str, name: str) -> Credentials:
        providers: dict[str, Callable[[], BaseProvider]] = {
            "environment": EnvProvider,
            "ec2instancemetadata": lambda: InstanceMetadataProvider(
                allow_imdsv1=self._allow_imdsv1
            ),
            "ecscontainer": ContainerProvider,
        }
        make = providers.get(kind.strip().lower())
        if make is None:
            raise CredentialsError(
                f"profile {name!r}: credential_source {kind!r} is not one of "
                "Environment, Ec2InstanceMetadata, EcsContainer"
            )
        provider = make()
        creds = await provider.load()
        if creds is None:
            raise CredentialsError(
                f"profile {name!r}: credential_source {kind!r} has no credentials "
                f"({'; '.join(provider.searched())})"
            )
        return creds


async def _with_attempts(
    attempts: int, call: Callable[[], Awaitable[Response]], *, backoff: float = 0.2
) -> Response:
    """``call()`` up to ``attempts`` times while it raises TransportError or answers 5xx."""
    last: TransportError | None = None
    resp: Response | None = None
    for attempt in range(max(1, attempts)):
        if attempt:
            await asyncio.sleep(backoff * attempt)
        try:
            resp = await call()
        except TransportError as e:
            last = e
            continue
        if resp.status < 500:
            return resp
    if resp is not None:
        return resp
    assert last is not None
    raise last


class ContainerProvider(BaseProvider):
    """ECS / Fargate task roles and EKS Pod Identity: ``GET`` of
    ``AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`` on ``http://169.254.170.2``, or of
    ``AWS_CONTAINER_CREDENTIALS_FULL_URI`` (https, or http to loopback / the ECS and
    EKS addresses only), with ``Authorization`` from ``AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE``
    (re-read every time) or ``AWS_CONTAINER_AUTHORIZATION_TOKEN``."""

    label = "container credentials"

    def __init__(self, *, timeout: float = 2.0, attempts: int = 3) -> None:
        super().__init__()
        self._timeout = timeout
        self._attempts = attempts

    async def load(self) -> Credentials | None:
        url = container_credentials_url()
        if url is None:
            self._not_found(
                "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and AWS_CONTAINER_CREDENTIALS_FULL_URI "
                "are not set"
            )
            return None
        headers = {"accept": "application/json"}
        token_file = os.environ.get("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")
        token: str | None = None
        if token_file:
            token = _read_small_file(token_file, "container authorization token file")
        elif os.environ.get("AWS_CONTAINER_AUTHORIZATION_TOKEN"):
            token = os.environ["AWS_CONTAINER_AUTHORIZATION_TOKEN"]
        if token is not None:
            headers["authorization"] = _check_header_value(
                token, "the container authorization token"
            )
        where = f"container credentials endpoint {_safe_url(url)}"
        try:
            resp = await _with_attempts(
                self._attempts, lambda: _http("GET", url, headers=headers, timeout=self._timeout)
            )
        except TransportError as e:
            raise CredentialsError(f"{where} did not answer: {e.message}") from None
        if resp.status != 200:
            raise CredentialsError(
                f"{where} answered HTTP {resp.status}: "
                + resp.body[:200].decode("utf-8", "replace").strip(),
                status=resp.status,
            )
        return parse_json_credentials(resp.body, source=where)


class _Unreachable(Exception):
    pass


class InstanceMetadataProvider(BaseProvider):
    """EC2 instance metadata (IMDSv2): a session token from ``PUT /latest/api/token``,
    then the role name and its credentials from ``/latest/meta-data/iam/security-credentials/``.

    Endpoint ``http://169.254.169.254`` (``AWS_EC2_METADATA_SERVICE_ENDPOINT``, or
    ``http://[fd00:ec2::254]`` with ``AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE=IPv6``);
    timeout 1 s and 1 attempt by default (``AWS_METADATA_SERVICE_TIMEOUT``,
    ``AWS_METADATA_SERVICE_NUM_ATTEMPTS``), so a machine without IMDS is not held up.
    ``AWS_EC2_METADATA_DISABLED=true`` turns it off. The IMDSv1 fallback (no token)
    is used only with ``allow_imdsv1=True`` (and never with
    ``AWS_EC2_METADATA_V1_DISABLED=true``). Unreachable counts as "not configured".
    """

    label = "EC2 instance metadata"
    TOKEN_TTL = 21600
    _CREDS_PATH = "/latest/meta-data/iam/security-credentials/"

    def __init__(
        self,
        *,
        endpoint: str | None = None,
        timeout: float | None = None,
        attempts: int | None = None,
        allow_imdsv1: bool = False,
    ) -> None:
        super().__init__()
        self._endpoint = endpoint
        self._timeout = timeout
        self._attempts = attempts
        self._allow_imdsv1 = allow_imdsv1
        self._token_lock = threading.Lock()
        self._token: tuple[str, str, float] | None = None  # (base URL, token, valid until)

    def __repr__(self) -> str:
        return f"InstanceMetadataProvider(endpoint={self._base()!r})"

    __str__ = __repr__

    def _base(self) -> str:
        env = os.environ
        if self._endpoint:
            base = self._endpoint
        elif env.get("AWS_EC2_METADATA_SERVICE_ENDPOINT"):
            base = env["AWS_EC2_METADATA_SERVICE_ENDPOINT"]
        elif env.get("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", "").lower() == "ipv6":
            base = "http://[fd00:ec2::254]"
        else:
            base = "http://169.254.169.254"
        return base.rstrip("/")

    def _settings(self) -> tuple[float, int]:
        env = os.environ
        try:
            timeout = self._timeout or float(env.get("AWS_METADATA_SERVICE_TIMEOUT") or 1.0)
            attempts = self._attempts or int(env.get("AWS_METADATA_SERVICE_NUM_ATTEMPTS") or 1)
        except ValueError:
            raise CredentialsError(
                "AWS_METADATA_SERVICE_TIMEOUT / AWS_METADATA_SERVICE_NUM_ATTEMPTS must be numbers"
            ) from None
        return timeout, max(1, attempts)

    async def load(self) -> Credentials | None:
        if _true(os.environ.get("AWS_EC2_METADATA_DISABLED")):
            self._not_found("disabled by AWS_EC2_METADATA_DISABLED")
            return None
        base = self._base()
        parts = urlsplit(base)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise CredentialsError(f"invalid instance metadata endpoint {base[:200]!r}")
        timeout, attempts = self._settings()
        where = f"{_safe_url(base)}"
        try:
            token = await self._get_token(base, timeout, attempts)
            if token is None:
                if not self._allow_imdsv1 or _true(os.environ.get("AWS_EC2_METADATA_V1_DISABLED")):
                    self._not_found(
                        f"{where} gave no IMDSv2 token and the IMDSv1 fallback is off "
                        "(InstanceMetadataProvider(allow_imdsv1=True) enables it)"
                    )
                    return None
                logger.debug("No IMDSv2 token from %s; falling back to IMDSv1", where)
            resp, token = await self._get(base, self._CREDS_PATH, token, timeout, attempts)
            if resp.status == 404:
                self._not_found(f"{where}: no IAM role is attached to this instance")
                return None
            self._expect_ok(resp, "role name")
            role = resp.body.decode("utf-8", "replace").strip().splitlines()
            if not role or not role[0].strip():
                self._not_found(f"{where}: no IAM role is attached to this instance")
                return None
            role_name = role[0].strip()
            resp, token = await self._get(
                base, self._CREDS_PATH + uri_encode(role_name), token, timeout, attempts
            )
            self._expect_ok(resp, f"credentials of role {role_name!r}")
        except _Unreachable as e:
            self._not_found(f"{where}: no answer ({e})")
            return None
        return parse_json_credentials(
            resp.body, source=f"instance metadata {where} (role {role_name!r})"
        )

    def _expect_ok(self, resp: Response, what: str) -> None:
        if resp.status != 200:
            raise CredentialsError(
                f"instance metadata {_safe_url(self._base())}: HTTP {resp.status} for the {what}",
                status=resp.status,
            )

    async def _get_token(self, base: str, timeout: float, attempts: int) -> str | None:
        with self._token_lock:
            cached = self._token
        if cached is not None and cached[0] == base and time.time() < cached[2]:
            return cached[1]
        headers = {"x-aws-ec2-metadata-token-ttl-seconds": str(self.TOKEN_TTL)}
        url = base + "/latest/api/token"
        try:
            resp = await _with_attempts(
                attempts, lambda: _http("PUT", url, headers=headers, body=b"", timeout=timeout)
            )
        except TransportTimeout as e:
            if not e.request_sent:
                raise _Unreachable(e.message) from None
            # Connected but no answer: IMDSv2 seen from a container one hop too far
            # (hop limit 1), where IMDSv1 may still work.
            return None
        except TransportError as e:
            raise _Unreachable(e.message) from None
        if resp.status in (403, 404, 405):
            return None
        if resp.status != 200:
            raise CredentialsError(
                f"instance metadata {_safe_url(base)}: HTTP {resp.status} for the IMDSv2 token",
                status=resp.status,
            )
        token = _check_header_value(resp.body.decode("utf-8", "replace").strip(), "IMDS token")
        # Renew a minute before the service forgets it.
        with self._token_lock:
            self._token = (base, token, time.time() + self.TOKEN_TTL - 60)
        return token

    async def _get(
        self, base: str, path: str, token: str | None, timeout: float, attempts: int
    ) -> tuple[Response, str | None]:
        """GET ``path``; on 401, once more with a new token. Returns the token used."""
        resp = await self._get_once(base + path, token, timeout, attempts)
        if resp.status == 401 and token is not None:
            # The service no longer knows our token (expired, or IMDS restarted): get another.
            with self._token_lock:
                self._token = None
            token = await self._get_token(base, timeout, attempts)
            if token is not None:
                resp = await self._get_once(base + path, token, timeout, attempts)
        return resp, token

    @staticmethod
    async def _get_once(url: str, token: str | None, timeout: float, attempts: int) -> Response:
        headers = {"x-aws-ec2-metadata-token": token} if token else {}
        try:
            return await _with_attempts(
                attempts, lambda: _http("GET", url, headers=headers, timeout=timeout)
            )
        except TransportError as e:
            raise _Unreachable(e.message) from None


class ChainProvider(BaseProvider):
    """The first provider that has credentials wins. Later refreshes ask that same
    provider first; only if it no longer has any is the whole chain walked again.
    A provider that is configured but broken stops the chain with its error."""

    label = "credential chain"

    def __init__(self, providers: Iterable[BaseProvider]) -> None:
        super().__init__()
        self.providers = list(providers)
        self._active: BaseProvider | None = None

    def __repr__(self) -> str:
        return f"ChainProvider([{', '.join(repr(p) for p in self.providers)}])"

    @property
    def active(self) -> BaseProvider | None:
        """The provider whose credentials are in use (None before the first load)."""
        return self._active

    __str__ = __repr__

    async def load(self) -> Credentials | None:
        active = self._active
        if active is not None:
            creds = await active.load()
            if creds is not None:
                return creds
            logger.debug("%s no longer has credentials; walking the chain again", active.label)
        for provider in self.providers:
            if provider is active:
                continue
            creds = await provider.load()
            if creds is not None:
                self._active = provider
                logger.debug("Using AWS credentials from %s", provider.label)
                return creds
        self._active = None
        return None

    def searched(self) -> list[str]:
        return [place for p in self.providers for place in p.searched()]


def default_chain(
    profile: str | None = None,
    *,
    region: str | None = None,
    sts_endpoint_url: str | None = None,
    allow_imdsv1: bool = False,
) -> ChainProvider:
    """The AWS SDKs' default chain: environment, web identity, shared files (profile),
    container, EC2 instance metadata.

    As in botocore, an explicit ``profile`` skips the environment variables (both
    the keys and the web identity ones): the profile was asked for. ``region`` is
    the STS region (default: :func:`~s3lite.config.resolve_region`).
    """
    providers: list[BaseProvider] = []
    if profile is None:
        providers.append(EnvProvider())
    providers.append(
        WebIdentityProvider(
            profile=profile,
            region=region,
            sts_endpoint_url=sts_endpoint_url,
            use_env=profile is None,
        )
    )
    providers.append(
        SharedFilesProvider(
            profile, region=region, sts_endpoint_url=sts_endpoint_url, allow_imdsv1=allow_imdsv1
        )
    )
    providers.append(ContainerProvider())
    providers.append(InstanceMetadataProvider(allow_imdsv1=allow_imdsv1))
    return ChainProvider(providers)


def as_provider(
    credentials: Credentials | CredentialProvider | None,
    *,
    profile: str | None = None,
    region: str | None = None,
) -> CredentialProvider:
    """What a client does with its ``credentials=`` argument: a provider as is,
    fixed :class:`Credentials` wrapped in a :class:`StaticProvider`, None the
    :func:`default_chain` (for ``profile``)."""
    if credentials is None:
        return default_chain(profile, region=region)
    if isinstance(credentials, Credentials):
        return StaticProvider(credentials)
    return credentials
