"""``jupyters3 demo`` as a user runs it: a subprocess that must serve the sample
notebooks from its local S3 server, and stop, with every process it started, on
SIGINT or SIGTERM."""

from __future__ import annotations

import json
import os
import pty
import queue
import re
import signal
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config as BotoConfig

from jupyters3.demo import (
    DEMO_ACCESS_KEY_ID,
    DEMO_BUCKET,
    DEMO_SECRET_ACCESS_KEY,
    demo_settings,
    jupyter_argv,
    sample_objects,
)
from tests.kernelclient import Kernel
from tests.motoserver import MotoServer

STARTUP_TIMEOUT = 120  # seconds; a bound for a hung start, not a performance assertion
URL_LINE = re.compile(r"is running at (http://127\.0\.0\.1:\d+)(/\S*)\?token=(\w+)")
S3_LINE = re.compile(r"local S3 server \(moto\) at (http://127\.0\.0\.1:\d+), pid (\d+)")


def _children(pid: int) -> set[int]:
    """Every live descendant of ``pid`` (from /proc)."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            parents[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
    found: set[int] = set()
    todo = [pid]
    while todo:
        parent = todo.pop()
        kids = {p for p, pp in parents.items() if pp == parent}
        todo.extend(kids - found)
        found |= kids
    return found


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has exited; only its exit status is left


@dataclass
class Demo:
    proc: subprocess.Popen[str]
    lines: queue.Queue[str | None] = field(default_factory=queue.Queue)
    stdout: list[str] = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)
    pumps: list[threading.Thread] = field(default_factory=list)

    def finish(self, timeout: float = 60) -> int:
        """Wait for the exit and for all its output; returns the exit status."""
        code = self.proc.wait(timeout=timeout)
        for pump in self.pumps:
            pump.join(timeout=timeout)
        return code

    def wait_for(self, pattern: re.Pattern[str]) -> re.Match[str]:
        while True:
            try:
                line = self.lines.get(timeout=STARTUP_TIMEOUT)
            except queue.Empty:
                pytest.fail("the demo printed nothing for too long:\n" + self.output())
            if line is None:
                pytest.fail(f"the demo exited ({self.proc.wait()}):\n" + self.output())
            match = pattern.search(line)
            if match:
                return match

    def output(self) -> str:
        return "".join(self.stdout) + "\n--- stderr ---\n" + "".join(self.stderr[-60:])


@pytest.fixture
def demo_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "JUPYTER"))}
    env.update(
        HOME=str(tmp_path),  # no user Jupyter or AWS settings
        JUPYTER_CONFIG_DIR=str(tmp_path / "jupyter-config"),
        JUPYTER_RUNTIME_DIR=str(tmp_path / "jupyter-runtime"),
        AWS_EC2_METADATA_DISABLED="true",
        PYTHONUNBUFFERED="1",
    )
    return env


@pytest.fixture
def start_demo(demo_env: dict[str, str]) -> Iterator[Any]:
    started: list[Demo] = []

    terminals: list[int] = []

    def start(*args: str, env: dict[str, str] | None = None, terminal: bool = False) -> Demo:
        """``jupyters3 demo ARGS``; with ``terminal``, as a shell starts it: its
        stdin a terminal (where Jupyter would ask to confirm a Ctrl-C), in a
        process group of its own (which a terminal's Ctrl-C signals as a whole)."""
        script = Path(sys.executable).with_name("jupyters3")
        stdin = None
        if terminal:
            controller, stdin = pty.openpty()
            terminals.extend((controller, stdin))
        proc = subprocess.Popen(
            [str(script), "demo", *args],
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**demo_env, **(env or {})},
            start_new_session=terminal,
        )
        demo = Demo(proc)

        def pump(stream: Any, sink: list[str], lines: queue.Queue[str | None] | None) -> None:
            for line in stream:
                sink.append(line)
                if lines is not None:
                    lines.put(line)
            if lines is not None:
                lines.put(None)

        demo.pumps = [
            threading.Thread(target=pump, args=(proc.stdout, demo.stdout, demo.lines)),
            threading.Thread(target=pump, args=(proc.stderr, demo.stderr, None)),
        ]
        for thread in demo.pumps:
            thread.start()
        started.append(demo)
        return demo

    yield start
    for demo in started:  # a failed test must not leave a demo running
        if demo.proc.poll() is None:
            for pid in _children(demo.proc.pid):
                os.kill(pid, signal.SIGKILL)
            demo.proc.kill()
            demo.proc.wait()
    for fd in terminals:
        os.close(fd)


def _api(base: str, token: str, path: str, method: str = "GET", body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(
        f"{base}/api/{path}",
        data=data,
        method=method,
        headers={"Authorization": f"token {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=60) as resp:
        return json.loads(resp.read() or b"null")


def _boto3(endpoint: str) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=DEMO_ACCESS_KEY_ID,
        aws_secret_access_key=DEMO_SECRET_ACCESS_KEY,
        config=BotoConfig(s3={"addressing_style": "path"}),
    )


def test_demo_serves_the_samples_from_s3_and_ctrl_c_stops_everything(start_demo: Any) -> None:
    demo = start_demo("--no-browser", terminal=True)
    s3_endpoint, moto_pid = demo.wait_for(S3_LINE).groups()
    base, path, token = demo.wait_for(URL_LINE).groups()
    assert path == "/tree"  # Notebook 7

    root = _api(base, token, "contents")
    entries = {e["name"]: e["type"] for e in root["content"]}
    assert entries == {"welcome.ipynb": "notebook", "examples": "directory"}
    welcome = _api(base, token, "contents/welcome.ipynb")
    assert welcome["content"]["nbformat"] == 4
    assert "stored in S3" in welcome["content"]["cells"][1]["source"]
    examples = _api(base, token, "contents/examples")
    assert sorted(e["name"] for e in examples["content"]) == ["cities.csv", "files.ipynb"]

    # What Jupyter saves lands in the demo's bucket.
    _api(
        base, token, "contents/mine.txt", "PUT", {"type": "file", "format": "text", "content": "x"}
    )
    s3 = _boto3(s3_endpoint)
    assert s3.get_object(Bucket=DEMO_BUCKET, Key="mine.txt")["Body"].read() == b"x"

    # The sample notebook's kernel sees the demo bucket: run its cells as Notebook 7 would.
    session = {"path": "examples/files.ipynb", "type": "notebook", "kernel": {"name": "python3"}}
    session = _api(base, token, "sessions", "POST", {**session, "name": "files.ipynb"})
    kernel = Kernel.connect(base, token, session["kernel"]["id"])
    notebook = _api(base, token, "contents/examples/files.ipynb")["content"]
    printed = [kernel.ok(c["source"]) for c in notebook["cells"] if c["cell_type"] == "code"]
    kernel.close()
    big = "city,population\r\nLagos,15400000\r\nLima,10900000\r\n"
    assert printed[0] == f"{big}\n['big-cities.csv', 'cities.csv', 'files.ipynb']\n"
    assert printed[1] == "examples/\nmine.txt\nwelcome.ipynb\n"  # %s3ls /
    assert "examples/big-cities.csv\n" in printed[2]  # s3lite, from the kernel's environment
    examples = _api(base, token, "contents/examples")
    assert "big-cities.csv" in [e["name"] for e in examples["content"]]
    assert s3.get_object(Bucket=DEMO_BUCKET, Key="examples/big-cities.csv")["Body"].read() == (
        big.encode()
    )
    children = _children(demo.proc.pid)
    assert int(moto_pid) in children and len(children) >= 2  # the S3 server and the kernel

    # The demo deletes a folder with files in it, as the UIs ask to (after a confirmation).
    _api(base, token, "contents/examples", "DELETE")
    assert "examples" not in [e["name"] for e in _api(base, token, "contents")["content"]]
    listed = s3.list_objects_v2(Bucket=DEMO_BUCKET, Prefix="examples/")
    assert listed.get("Contents", []) == []

    # One Ctrl-C in the terminal (its whole process group), no confirmation asked.
    os.killpg(demo.proc.pid, signal.SIGINT)
    assert demo.finish() == 0, demo.output()
    assert [pid for pid in children if _running(pid)] == []
    out = "".join(demo.stdout)
    assert "Jupyter Notebook stopped" in out and "local S3 server stopped" in out


def test_what_the_demo_prints_is_one_block(start_demo: Any) -> None:
    demo = start_demo("--no-browser", terminal=True)
    base, _, token = demo.wait_for(URL_LINE).groups()
    said = demo.wait_for(re.compile(r"press Ctrl-C.*"))[0]
    assert said == "press Ctrl-C once to stop it and the local S3 server"
    assert _api(base, token, "contents/welcome.ipynb?content=0")["type"] == "notebook"
    os.killpg(demo.proc.pid, signal.SIGINT)
    assert demo.finish() == 0, demo.output()
    printed = "".join(demo.stdout) + "".join(demo.stderr)
    # One URL (the one with its token that works), one word on Ctrl-C; no Jupyter
    # banner (its URLs, "twice to skip confirmation", its start-up notes).
    assert printed.count("token=") == 1 and printed.count(token) == 1, printed
    assert printed.count("Ctrl-C") + printed.count("Control-C") == 1, printed
    jupyter_said = [line for line in demo.stderr if line.startswith("[")]
    assert not [line for line in jupyter_said if not line.startswith(("[W", "[E"))], printed


def test_demo_lab_stops_on_sigterm(start_demo: Any) -> None:
    demo = start_demo("--lab", "--no-browser", "--prefix", "work/")
    base, path, token = demo.wait_for(URL_LINE).groups()
    assert path == "/lab"
    entries = {e["name"] for e in _api(base, token, "contents")["content"]}
    assert entries == {"welcome.ipynb", "examples"}  # under the prefix, served from its root
    children = _children(demo.proc.pid)
    assert children
    demo.proc.send_signal(signal.SIGTERM)
    assert demo.finish() == 0, demo.output()
    assert [pid for pid in children if _running(pid)] == []


def test_demo_on_a_bucket_that_fails_the_check_starts_nothing(
    start_demo: Any, moto: MotoServer
) -> None:
    # A real bucket's credentials come from the usual chain: here, the environment.
    keys = {"AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s"}
    demo = start_demo("--bucket", "no-such-bucket", "--endpoint-url", moto.endpoint_url, env=keys)
    assert demo.finish(timeout=STARTUP_TIMEOUT) == 1, demo.output()
    out = "".join(demo.stdout)
    assert "[FAIL] bucket" in out and "Jupyter not started" in out
    assert "is running at" not in out


def test_sample_notebooks_are_valid_nbformat() -> None:
    import nbformat

    for key, body, _ in sample_objects("p/"):
        if key.endswith(".ipynb"):
            notebook = nbformat.reads(body.decode(), as_version=4)  # type: ignore[no-untyped-call]
            nbformat.validate(notebook)


def test_jupyter_command_line() -> None:
    settings = demo_settings(
        bucket="b",
        prefix="p/",
        endpoint_url="http://127.0.0.1:9",
        region="us-east-1",
        static_keys=("id", "secret"),
    )
    argv = jupyter_argv(
        settings,
        port=0,
        open_browser=False,
        allow_root=False,
        token="t0k",
        extra=["--ServerApp.x=1"],
    )
    assert argv[:6] == [
        "--ServerApp.contents_manager_class=jupyters3.JupyterS3",
        "--ServerApp.ip=127.0.0.1",
        "--ServerApp.port=0",
        "--ServerApp.open_browser=False",
        "--IdentityProvider.token=t0k",
        "--Application.log_level=WARN",
    ]
    assert (
        "--JupyterS3.authentication_class=jupyters3.JupyterS3SecretAccessKeyAuthentication" in argv
    )
    assert "--JupyterS3SecretAccessKeyAuthentication.aws_secret_access_key=secret" in argv
    assert "--JupyterS3.prefix=p/" in argv and argv[-1] == "--ServerApp.x=1"  # extra: last wins
    real = demo_settings(bucket="b", prefix="", endpoint_url=None, region=None, static_keys=None)
    assert real == {"JupyterS3": {"aws_s3_bucket": "b"}}  # the user's credential chain
