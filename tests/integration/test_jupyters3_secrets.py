"""No secret in any log line of a real Jupyter server, even with --debug."""

from __future__ import annotations

import dataclasses
import subprocess
import time
from pathlib import Path

import pytest

from tests.integration.test_jupyters3_server import Jupyter, server_command, server_env
from tests.loopback import unused_port
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
    port = unused_port()
    moto = dataclasses.replace(moto, secret_access_key="plain-moto-takes-any-secret")
    cmd = server_command(port, "t0k", tmp_path, moto, bucket)
    cmd += ["--debug", f"--config={tmp_path / 'jupyter_server_config.py'}"]
    log_path = tmp_path / "server.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, env=server_env(tmp_path), stdout=log, stderr=subprocess.STDOUT)
        try:
            server = Jupyter(f"http://127.0.0.1:{port}", "t0k", moto, bucket)
            deadline = time.monotonic() + 90
            while True:
                assert proc.poll() is None, log_path.read_text()[-3000:]
                try:
                    if server.call("GET", "/api/status")[0] == 200:
                        break
                except OSError:
                    pass
                assert time.monotonic() < deadline, "jupyter server did not start"
                time.sleep(0.2)
            server.contents("GET", "")  # some S3 traffic, logged at debug level
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    text = log_path.read_text()
    assert "Config changed" in text  # the lines that used to carry the secrets
    assert moto.secret_access_key not in text and token not in text
    assert "'aws_secret_access_key': DeferredConfigString('***')" in text
