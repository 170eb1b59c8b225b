"""Secrets never reach a log line: the redacting record factory and the key options."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from jupyters3 import JupyterS3SecretAccessKeyAuthentication
from jupyters3.redact import redact, register_secret


def test_printed_configuration_is_masked_known_or_not() -> None:
    config = (
        "Config changed: {'JupyterS3SecretAccessKeyAuthentication': "
        "{'aws_access_key_id': 'AKIDEXAMPLE', 'aws_secret_access_key': 'never-seen-before', "
        '"aws_session_token": "tok/en+=="}}'
    )
    clean = redact(config)
    assert "never-seen-before" not in clean and "tok/en+==" not in clean
    assert "'aws_secret_access_key': '***'" in clean and "AKIDEXAMPLE" in clean
    deferred = "{'aws_secret_access_key': DeferredConfigString('abc-def-ghi')}"
    assert redact(deferred) == "{'aws_secret_access_key': DeferredConfigString('***')}"


def test_every_logger_and_level_masks_registered_secrets(
    caplog: pytest.LogCaptureFixture,
) -> None:
    register_secret("s3cr3t-value-123")
    caplog.set_level(logging.DEBUG)
    for name in ("ServerApp", "traitlets", "tornado.access", "some.other.library"):
        logger = logging.getLogger(name)
        logger.debug("debug %s", "s3cr3t-value-123")
        logger.warning("a dict %r", {"k": "s3cr3t-value-123"})
        try:
            raise ValueError("boom s3cr3t-value-123")
        except ValueError:
            logger.exception("failed")
    text = "\n".join(caplog.messages) + caplog.text
    assert "s3cr3t-value-123" not in text
    assert text.count("***") >= 8


def test_secret_key_from_a_file_or_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret_file = tmp_path / "secret"
    secret_file.write_text("from-the-file\n")
    auth = JupyterS3SecretAccessKeyAuthentication(
        aws_access_key_id="AKID", aws_secret_access_key_file=str(secret_file)
    )
    assert auth.secret_access_key() == "from-the-file"
    monkeypatch.setenv("MY_S3_SECRET", "from-the-env")
    auth = JupyterS3SecretAccessKeyAuthentication(
        aws_access_key_id="AKID", aws_secret_access_key_env="MY_S3_SECRET"
    )
    assert auth.secret_access_key() == "from-the-env"
    assert redact("x from-the-env from-the-file") == "x *** ***"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"aws_secret_access_key": "a-b-c-d", "aws_secret_access_key_env": "X"}, "only one of"),
        ({"aws_secret_access_key_file": "/nonexistent/secret"}, "cannot read"),
        ({"aws_secret_access_key_env": "JUPYTERS3_TEST_UNSET"}, "is not set"),
        ({}, "needs aws_access_key_id and aws_secret_access_key"),
    ],
)
def test_secret_key_options_fail_clearly(options: dict[str, str], message: str) -> None:
    auth = JupyterS3SecretAccessKeyAuthentication(aws_access_key_id="AKID", **options)
    with pytest.raises(ValueError, match=message):
        auth.secret_access_key()
