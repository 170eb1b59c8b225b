"""When to try a request again, and how long to wait first. Pure functions.

AWS "standard" retry behaviour: exponential backoff with full jitter, a bound
on attempts and on total time, retried on connection errors, 500/502/503/504,
throttling and timeout codes. The ``SKEW_CODES`` are not retryable as such:
the client retries them once it has corrected its clock from ``clock_skew``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime

from .errors import CERTIFICATE_ERROR, S3Error, TransportError

__all__ = [
    "EXPIRED_CREDENTIALS_CODES",
    "RetryConfig",
    "backoff_delay",
    "clock_skew",
    "is_retryable",
]

THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "LimitExceededException",
        "RequestThrottled",
        "SlowDown",
        "PriorRequestNotComplete",
        "EC2ThrottledException",
    }
)
TRANSIENT_CODES = frozenset(
    {"RequestTimeout", "RequestTimeoutException", "InternalError", "ServiceUnavailable"}
)
SKEW_CODES = frozenset(
    {"RequestTimeTooSkewed", "RequestExpired", "RequestInTheFuture", "InvalidSignatureException"}
)
TRANSIENT_STATUS = frozenset({500, 502, 503, 504})
# The credentials were revoked or expired early: fetch new ones and try once more.
EXPIRED_CREDENTIALS_CODES = frozenset(
    {"ExpiredToken", "ExpiredTokenException", "TokenRefreshRequired"}
)


@dataclass(frozen=True, slots=True)
class RetryConfig:
    """How hard to try. ``max_attempts`` counts the first try; ``deadline`` is the
    total seconds allowed from the first try to the start of the last."""

    max_attempts: int = 5
    deadline: float = 60.0
    base_delay: float = 0.05
    max_delay: float = 20.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("RetryConfig.max_attempts must be at least 1")
        if self.deadline <= 0 or self.base_delay < 0 or self.max_delay < 0:
            raise ValueError("RetryConfig delays and deadline must be positive")


def is_retryable(error: S3Error, *, idempotent: bool) -> bool:
    """Whether ``error`` may go away if the same request is sent again."""
    if isinstance(error, TransportError):
        if error.code == CERTIFICATE_ERROR:
            return False
        if not error.request_sent:
            return True  # the server never saw it
        # A timeout or a reset after sending may have been applied: only a request
        # that means the same thing twice may go again.
        return idempotent
    if error.code in THROTTLING_CODES or error.code in TRANSIENT_CODES:
        return True
    return error.status in TRANSIENT_STATUS


def backoff_delay(attempt: int, config: RetryConfig, rng: random.Random | None = None) -> float:
    """Seconds to wait before retry number ``attempt`` (1 = the first retry): full jitter."""
    cap = min(config.max_delay, config.base_delay * 2.0 ** min(attempt - 1, 62))
    return (rng or random).uniform(0, cap)


def clock_skew(server_date: str | None, now: datetime | None = None) -> timedelta | None:
    """How far the server's clock (its ``Date`` header) is ahead of ours, or None."""
    if not server_date:
        return None
    try:
        server = parsedate_to_datetime(server_date)
    except (TypeError, ValueError):
        return None
    if server.tzinfo is None:
        server = server.replace(tzinfo=timezone.utc)
    return server - (now or datetime.now(timezone.utc))
