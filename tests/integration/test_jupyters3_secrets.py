"""No secret in any log line of a real Jupyter server, even with --debug."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from tests.integration.test_jupyters3_server import OPTIONS, serving
from tests.motoserver import MotoServer


@pytest.mark.moto_only("the plain moto server takes any secret key and session token")
def test_debug_log_shows_no_secret(moto: MotoServer, bucket: str, tmp_path: Path) -> None:
    """traitlets prints the whole configuration with --debug ("Config changed:"):
    the secret key and the session token, given on the command line and in a
    config file, must come out masked, in every line."""
    token = "session-token-for-the-log-test"
    (tmp_path / "jupyter_server_config.py").write_text(
        "c.JupyterS3SecretAccessKeyAuthentication.aws_session_token = " + repr(token) + "\n"
    )
    moto = dataclasses.replace(moto, secret_access_key="plain-moto-takes-any-secret")
    options = (*OPTIONS, "--debug", f"--config={tmp_path / 'jupyter_server_config.py'}")
    with serving(moto, tmp_path, bucket, options=options) as server:
        server.contents("GET", "")  # some S3 traffic, logged at debug level
    text = (tmp_path / "server.log").read_text()
    assert "Config changed" in text  # the lines that used to carry the secrets
    assert moto.secret_access_key not in text and token not in text
    assert "'aws_secret_access_key': DeferredConfigString('***')" in text
