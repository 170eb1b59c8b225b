"""ECS / Fargate task roles and EKS Pod Identity: the container credentials endpoint."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from urllib.parse import urlsplit

from ..errors import TransportError
from .base import BaseProvider
from .fetch import fetch, safe_url, with_attempts
from .json_credentials import parse_json_credentials
from .model import Credentials, CredentialsError
from .settings import check_header_value, read_small_file

__all__ = ["ContainerProvider", "container_credentials_url"]


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
            token = read_small_file(token_file, "container authorization token file")
        elif os.environ.get("AWS_CONTAINER_AUTHORIZATION_TOKEN"):
            token = os.environ["AWS_CONTAINER_AUTHORIZATION_TOKEN"]
        if token is not None:
            headers["authorization"] = check_header_value(
                token, "the container authorization token"
            )
        where = f"container credentials endpoint {safe_url(url)}"
        try:
            resp = await with_attempts(
                self._attempts, lambda: fetch("GET", url, headers=headers, timeout=self._timeout)
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
