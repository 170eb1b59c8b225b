"""Run a real Jupyter server (jupyter_server, Notebook 7 or JupyterLab) with JupyterS3
on a test S3 server, in a child process on a free loopback port.

The server gets its own config, data and runtime folders (nothing of the developer's
``~/.jupyter`` is read) and a fixed token; :meth:`JupyterServer.call` talks to its
REST API with it.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

from tests.loopback import unused_port

REPO = Path(__file__).resolve().parents[1]
STARTUP_TIMEOUT = 120  # seconds; a bound for a hung start, not a performance assertion

# `python -m <module>` for each way of starting Jupyter
APPS = {"server": "jupyter_server", "notebook": "notebook", "lab": "jupyterlab"}


def jupyter_command(
    app: str,
    *,
    port: int,
    token: str,
    root: Path,
    endpoint_url: str,
    keys: tuple[str, str],
    bucket: str,
    region: str = "us-east-1",
    prefix: str = "",
    extra: Sequence[str] = (),
) -> list[str]:
    """The command line of a Jupyter server (``app``: a key of :data:`APPS`) serving
    ``bucket`` at ``endpoint_url`` through JupyterS3 with static keys."""
    argv = [
        sys.executable,
        "-m",
        APPS[app],
        "--no-browser",
        "--allow-root",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--ServerApp.root_dir={root}",
        f"--IdentityProvider.token={token}",
        "--ServerApp.contents_manager_class=jupyters3.JupyterS3",
        f"--JupyterS3.aws_s3_bucket={bucket}",
        f"--JupyterS3.endpoint_url={endpoint_url}",
        f"--JupyterS3.aws_region={region}",
        "--JupyterS3.authentication_class=jupyters3.JupyterS3SecretAccessKeyAuthentication",
        f"--JupyterS3SecretAccessKeyAuthentication.aws_access_key_id={keys[0]}",
        f"--JupyterS3SecretAccessKeyAuthentication.aws_secret_access_key={keys[1]}",
        "--NotebookNotary.db_file=:memory:",
    ]
    if prefix:
        argv.append(f"--JupyterS3.prefix={prefix}")
    return argv + list(extra)


def jupyter_env(home: Path) -> dict[str, str]:
    """The environment of a test server: Jupyter's folders under ``home``, this
    repository importable."""
    env = dict(os.environ)
    for name in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR"):
        env[name] = str(home / name.lower())
    env["JUPYTER_PLATFORM_DIRS"] = "1"
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")])
    return env


def call_api(
    url: str, token: str, method: str, path: str, body: Any = None, *, raw: bool = False
) -> tuple[int, Any, dict[str, str]]:
    """``(status, payload, headers)`` of one request to the server at ``url``; the
    payload is parsed JSON unless ``raw`` (or the answer is not JSON)."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(
        url + path,
        data=data,
        method=method,
        headers={"Authorization": f"token {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            status, payload, headers = resp.status, resp.read(), dict(resp.headers)
    except urllib.error.HTTPError as e:
        status, payload, headers = e.code, e.read(), dict(e.headers)
    if raw:
        return status, payload, headers
    try:
        return status, json.loads(payload) if payload else None, headers
    except ValueError:  # e.g. the contents handler's plain-text 404
        return status, payload.decode(), headers


@dataclass
class JupyterApi:
    """The REST API of a Jupyter server at ``url`` (no trailing slash), with its token."""

    url: str
    token: str

    def call(
        self, method: str, path: str, body: Any = None, *, raw: bool = False
    ) -> tuple[int, Any, dict[str, str]]:
        """One API request: see :func:`call_api`."""
        return call_api(self.url, self.token, method, path, body, raw=raw)

    def contents(self, method: str, path: str = "", body: Any = None, query: str = "") -> Any:
        """One ``/api/contents`` request."""
        return self.call(method, f"/api/contents/{quote(path)}{query}", body)


@dataclass
class JupyterServer(JupyterApi):
    """A running Jupyter server."""

    process: subprocess.Popen[bytes]
    log_path: Path
    _log: IO[bytes]

    def log_text(self) -> str:
        """Everything the server has logged so far."""
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        """Stop the server (it shuts its kernels down) and wait for it."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


def start_jupyter(
    command: Sequence[str],
    *,
    home: Path,
    url: str,
    token: str,
    env: dict[str, str] | None = None,
    log_path: Path | None = None,
) -> JupyterServer:
    """Start ``command`` (from :func:`jupyter_command`) in ``home`` and wait until it
    answers; its output goes to ``log_path`` (default ``home/server.log``).
    ``RuntimeError`` with the end of its log if it exits or hangs first."""
    log_path = log_path or home / "server.log"
    log = open(log_path, "w+b")  # noqa: SIM115 - closed by stop()
    proc = subprocess.Popen(
        list(command),
        env=env if env is not None else jupyter_env(home),
        cwd=home,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    server = JupyterServer(url, token, proc, log_path, log)
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while True:
        if proc.poll() is not None:
            server.stop()
            raise RuntimeError(f"jupyter server exited:\n{log_path.read_text()[-3000:]}")
        try:
            if server.call("GET", "/api/status")[0] == 200:
                return server
        except OSError:
            pass
        if time.monotonic() > deadline:
            server.stop()
            raise RuntimeError(f"jupyter server did not start:\n{log_path.read_text()[-3000:]}")
        time.sleep(0.2)


def start_demo_jupyter(
    home: Path, *, endpoint_url: str, bucket: str, token: str, root: Path | None = None
) -> JupyterServer:
    """A jupyter_server on JupyterS3 with the demo's keys and region (what the
    benchmarks drive), on a free port, in ``home`` (``root``: its root_dir, default
    ``home``)."""
    from jupyters3.demo import DEMO_ACCESS_KEY_ID, DEMO_REGION, DEMO_SECRET_ACCESS_KEY

    port, url = free_url()
    command = jupyter_command(
        "server",
        port=port,
        token=token,
        root=root or home,
        endpoint_url=endpoint_url,
        keys=(DEMO_ACCESS_KEY_ID, DEMO_SECRET_ACCESS_KEY),
        bucket=bucket,
        region=DEMO_REGION,
    )
    return start_jupyter(command, home=home, url=url, token=token)


def free_url() -> tuple[int, str]:
    """A free loopback port and its base URL."""
    port = unused_port()
    return port, f"http://127.0.0.1:{port}"


def chunk_model(data: bytes, chunk: int) -> dict[str, object]:
    """A contents-API model of one chunk of a chunked upload, as JupyterLab sends it."""
    return {
        "type": "file",
        "format": "base64",
        "content": base64.b64encode(data).decode(),
        "chunk": chunk,
    }
