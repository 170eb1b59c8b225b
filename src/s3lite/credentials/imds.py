"""EC2 instance metadata (IMDSv2, and IMDSv1 when allowed)."""

from __future__ import annotations

import logging
import os
import threading
import time
from urllib.parse import urlsplit

from ..errors import TransportError, TransportTimeout
from ..messages import Response, uri_encode
from .base import BaseProvider
from .fetch import fetch, safe_url, with_attempts
from .json_credentials import parse_json_credentials
from .model import Credentials, CredentialsError
from .settings import check_header_value, env_true

__all__ = ["InstanceMetadataProvider"]

logger = logging.getLogger("s3lite.credentials")


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
        if env_true(os.environ.get("AWS_EC2_METADATA_DISABLED")):
            self._not_found("disabled by AWS_EC2_METADATA_DISABLED")
            return None
        base = self._base()
        parts = urlsplit(base)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise CredentialsError(f"invalid instance metadata endpoint {base[:200]!r}")
        timeout, attempts = self._settings()
        where = f"{safe_url(base)}"
        try:
            token = await self._get_token(base, timeout, attempts)
            if token is None:
                if not self._allow_imdsv1 or env_true(
                    os.environ.get("AWS_EC2_METADATA_V1_DISABLED")
                ):
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
                f"instance metadata {safe_url(self._base())}: HTTP {resp.status} for the {what}",
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
            resp = await with_attempts(
                attempts, lambda: fetch("PUT", url, headers=headers, body=b"", timeout=timeout)
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
                f"instance metadata {safe_url(base)}: HTTP {resp.status} for the IMDSv2 token",
                status=resp.status,
            )
        token = check_header_value(resp.body.decode("utf-8", "replace").strip(), "IMDS token")
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
            return await with_attempts(
                attempts, lambda: fetch("GET", url, headers=headers, timeout=timeout)
            )
        except TransportError as e:
            raise _Unreachable(e.message) from None
