"""The JSON credentials document of IMDS, the container endpoint and
``credential_process``, and its ISO 8601 timestamps (pure functions)."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from typing import Any

from .model import Credentials, CredentialsError

__all__ = ["json_object", "parse_expiration", "parse_json_credentials"]


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


def json_object(
    data: bytes | str, what: str, *, verb: str = "return", past: str = "returned"
) -> dict[str, Any]:
    """``data`` as a JSON object, else :class:`CredentialsError` ("``what`` did not
    ``verb`` valid JSON"); the message never repeats ``data`` (it may hold secrets)."""
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        raise CredentialsError(f"{what} did not {verb} valid JSON") from None
    if not isinstance(doc, dict):
        raise CredentialsError(f"{what} {past} JSON that is not an object")
    return doc


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
    doc = json_object(body, source)
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
