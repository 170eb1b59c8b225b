"""S3 errors as HTTP errors, and credentials from authentication classes (no network)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from jupyters3 import AwsCreds
from jupyters3.auth import to_credentials
from jupyters3.errors import http_error_for
from s3lite import (
    AccessDenied,
    Credentials,
    NoSuchBucket,
    NoSuchKey,
    PreconditionFailed,
    S3Error,
    SignatureDoesNotMatch,
    TransportError,
)


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (NoSuchKey("gone", status=404), 404),
        (NoSuchBucket("no bucket", status=404), 500),
        (AccessDenied("no", status=403), 403),
        (SignatureDoesNotMatch("bad sig", status=403), 403),
        (S3Error("x", code="InvalidAccessKeyId", status=403), 403),
        (PreconditionFailed("changed", status=412), 409),
        (S3Error("busy", code="OperationAborted", status=409), 409),
        (S3Error("bad", code="InvalidArgument", status=400), 500),  # ours, not the user's
        (S3Error("bad", code="InvalidRequest", status=400), 500),
        (S3Error("long", code="KeyTooLongError", status=400), 400),
        (S3Error("big", code="EntityTooLarge", status=400), 400),
        (S3Error("boom", code="InternalError", status=500, request_id="RID1"), 500),
        (TransportError("connection refused", request_sent=False), 500),
    ],
)
def test_status(error: S3Error, status: int) -> None:
    assert http_error_for(error, "reading", "a/b.txt").status_code == status


def test_messages_say_what_and_where() -> None:
    err = http_error_for(
        S3Error(
            "We encountered an internal error", code="InternalError", status=500, request_id="R42"
        ),
        "saving",
        "nb.ipynb",
    )
    assert err.log_message is not None
    assert "saving 'nb.ipynb'" in err.log_message
    assert "InternalError" in err.log_message and "S3 request id R42" in err.log_message
    missing = http_error_for(NoSuchKey(status=404), "reading", "x")
    assert missing.log_message == "No such file or directory: x"
    root = http_error_for(AccessDenied(status=403), "listing", "")
    assert root.log_message is not None and "the root folder" in root.log_message
    down = http_error_for(TransportError("refused"), "reading", "x")
    assert down.log_message is not None and "could not reach S3" in down.log_message


def test_aws_creds_keep_the_old_shape() -> None:
    creds = AwsCreds("AKID", "SECRET", {"x-amz-security-token": "T"})
    assert creds.access_key_id == "AKID" and creds._fields[:3] == (
        "access_key_id",
        "secret_access_key",
        "pre_auth_headers",
    )
    converted = to_credentials(creds)
    assert converted.access_key_id == "AKID"
    assert converted.session_token is None
    assert converted.pre_auth_headers == {"x-amz-security-token": "T"}


def test_session_token_is_not_sent_twice() -> None:
    when = datetime(2030, 1, 1, tzinfo=timezone.utc)
    creds = AwsCreds(
        "A", "S", {"X-Amz-Security-Token": "T", "X-Extra": "1"}, session_token="T", expiration=when
    )
    converted = to_credentials(creds)
    assert converted.session_token == "T"
    assert converted.pre_auth_headers == {"x-extra": "1"}
    assert converted.expiration == when
    assert to_credentials(AwsCreds("A", "S")).pre_auth_headers is None


def test_credentials_pass_through_and_bad_types() -> None:
    plain = Credentials("A", "S")
    assert to_credentials(plain) is plain
    with pytest.raises(TypeError, match="AwsCreds"):
        to_credentials(("A", "S", {}))  # type: ignore[arg-type]
