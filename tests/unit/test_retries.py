"""s3lite.retries: what is retried, how long to wait, and clock skew."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest

from s3lite.errors import (
    AccessDenied,
    NoSuchKey,
    S3Error,
    SlowDown,
    TransportError,
    TransportTimeout,
)
from s3lite.retries import SKEW_CODES, RetryConfig, backoff_delay, clock_skew, is_retryable

# -- what is retried ---------------------------------------------------------------------


@pytest.mark.parametrize("idempotent", [True, False])
@pytest.mark.parametrize(
    ("error", "retryable"),
    [
        (SlowDown("Reduce your request rate", status=503), True),
        (S3Error(code="Throttling", status=400), True),
        (S3Error(code="ThrottlingException", status=400), True),
        (S3Error(code="RequestThrottled", status=400), True),
        (S3Error(code="TooManyRequestsException", status=429), True),
        (S3Error(code="RequestLimitExceeded", status=400), True),
        (S3Error(code="BandwidthLimitExceeded", status=400), True),
        (S3Error(code="RequestTimeout", status=400), True),  # S3 saw too little: resend
        (S3Error(code="InternalError", status=500), True),
        (S3Error(code="InternalError", status=200), True),  # an <Error> inside a 200
        (S3Error(code="ServiceUnavailable", status=503), True),
        (S3Error(code="HTTP502", status=502), True),  # a proxy's body-less answer
        (S3Error(code="GatewayTimeout", status=504), True),
        (S3Error(code="SomethingNew", status=500), True),
        (S3Error(code="BadDigest", status=400), False),
        (S3Error(code="InvalidArgument", status=400), False),
        (S3Error(code="EntityTooSmall", status=400), False),
        (S3Error(code="NotImplemented", status=501), False),
        (S3Error(code="MalformedResponse"), False),
        (AccessDenied(status=403), False),
        (NoSuchKey(status=404), False),
        (S3Error(code="PreconditionFailed", status=412), False),
        (S3Error(code="InvalidRange", status=416), False),
        (S3Error(code="SignatureDoesNotMatch", status=403), False),
    ],
    ids=lambda v: v.code if isinstance(v, S3Error) else None,
)
def test_service_errors(error: S3Error, retryable: bool, idempotent: bool) -> None:
    # A service's refusal means the request was not applied: idempotency does not matter.
    assert is_retryable(error, idempotent=idempotent) is retryable


@pytest.mark.parametrize("code", sorted(SKEW_CODES))
def test_skew_codes_are_not_retried_as_such(code: str) -> None:
    # Resending with the same clock fails the same way; the client retries these
    # only after correcting its clock offset.
    assert not is_retryable(S3Error(code=code, status=403), idempotent=True)


@pytest.mark.parametrize(
    ("error", "idempotent", "retryable"),
    [
        # never reached the server: always safe
        (TransportError("refused", request_sent=False), True, True),
        (TransportError("refused", request_sent=False), False, True),
        (TransportTimeout("connect timed out", request_sent=False), False, True),
        # sent: it may have been applied, so only requests that mean the same twice
        (TransportError("reset", request_sent=True), True, True),
        (TransportError("reset", request_sent=True), False, False),
        (TransportTimeout("read timed out", request_sent=True), True, True),
        (TransportTimeout("read timed out", request_sent=True), False, False),
    ],
)
def test_transport_errors_and_idempotency(
    error: TransportError, idempotent: bool, retryable: bool
) -> None:
    assert is_retryable(error, idempotent=idempotent) is retryable


# -- backoff --------------------------------------------------------------------------


class Extreme(random.Random):
    """Always picks one end of the range."""

    def __init__(self, high: bool) -> None:
        super().__init__(0)
        self.high = high

    def uniform(self, a: float, b: float) -> float:
        return b if self.high else a


CONFIG = RetryConfig(max_attempts=10, deadline=60.0, base_delay=0.1, max_delay=2.0)


@pytest.mark.parametrize(
    ("attempt", "cap"),
    [(1, 0.1), (2, 0.2), (3, 0.4), (4, 0.8), (5, 1.6), (6, 2.0), (7, 2.0), (60, 2.0)],
)
def test_backoff_grows_exponentially_up_to_max_delay(attempt: int, cap: float) -> None:
    assert backoff_delay(attempt, CONFIG, Extreme(high=True)) == pytest.approx(cap)
    assert backoff_delay(attempt, CONFIG, Extreme(high=False)) == 0.0


def test_backoff_is_jittered_within_bounds() -> None:
    rng = random.Random(1234)
    for attempt in range(1, 12):
        cap = min(CONFIG.max_delay, CONFIG.base_delay * 2 ** (attempt - 1))
        delays = [backoff_delay(attempt, CONFIG, rng) for _ in range(200)]
        assert all(0.0 <= d <= cap for d in delays)
        assert len(set(delays)) > 150  # full jitter: spread out, not one fixed delay
        assert max(delays) > cap / 2


def test_backoff_uses_global_random_by_default() -> None:
    delays = {backoff_delay(3, CONFIG) for _ in range(50)}
    assert all(0 <= d <= 0.4 for d in delays)
    assert len(delays) > 1


@pytest.mark.parametrize("attempt", [1025, 5000])
def test_backoff_for_very_many_attempts_stays_capped(attempt: int) -> None:
    """A generous RetryConfig (many attempts, bounded by the deadline) must not
    overflow: 0.1 * 2**1024 does not fit a float."""
    config = RetryConfig(max_attempts=10_000, deadline=3600.0, base_delay=0.1, max_delay=2.0)
    assert 0.0 <= backoff_delay(attempt, config, Extreme(high=True)) <= 2.0


def test_zero_base_delay_means_no_wait() -> None:
    config = RetryConfig(base_delay=0.0)
    assert backoff_delay(4, config, Extreme(high=True)) == 0.0


def test_retry_config_defaults() -> None:
    config = RetryConfig()
    assert (config.max_attempts, config.deadline, config.base_delay, config.max_delay) == (
        5,
        60.0,
        0.05,
        20.0,
    )


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_attempts": 0},
        {"max_attempts": -1},
        {"deadline": 0},
        {"deadline": -5.0},
        {"base_delay": -0.1},
        {"max_delay": -1.0},
    ],
)
def test_retry_config_validation(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        RetryConfig(**kwargs)  # type: ignore[arg-type]


def test_retry_config_is_frozen() -> None:
    config = RetryConfig()
    with pytest.raises(AttributeError):
        config.max_attempts = 3  # type: ignore[misc]


# -- clock skew -------------------------------------------------------------------------

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("date", "skew"),
    [
        ("Wed, 01 May 2024 13:00:00 GMT", timedelta(hours=1)),
        ("Wed, 01 May 2024 11:45:00 GMT", timedelta(minutes=-15)),
        ("Wed, 01 May 2024 12:00:00 GMT", timedelta(0)),
        ("Wed, 01 May 2024 14:00:00 +0200", timedelta(0)),  # an explicit offset
        ("Wed, 01 May 2024 13:00:00 -0000", timedelta(hours=1)),  # naive: taken as UTC
        ("Thu, 02 May 2024 12:00:05 GMT", timedelta(days=1, seconds=5)),
    ],
)
def test_clock_skew(date: str, skew: timedelta) -> None:
    assert clock_skew(date, NOW) == skew


@pytest.mark.parametrize("date", [None, "", "yesterday", "Wed, 01 May 2024", "13:00:00 GMT"])
def test_clock_skew_without_a_usable_date(date: str | None) -> None:
    assert clock_skew(date, NOW) is None


def test_clock_skew_against_the_real_clock() -> None:
    ahead = datetime.now(timezone.utc) + timedelta(hours=1)
    skew = clock_skew(ahead.strftime("%a, %d %b %Y %H:%M:%S GMT"))
    assert skew is not None
    assert timedelta(minutes=59) < skew <= timedelta(hours=1)
