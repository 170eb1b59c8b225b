"""``jupyters3 demo``: Jupyter with everything in S3, in one command.

By default: a local S3 server (moto, in a child process on a free loopback port)
with a bucket holding sample notebooks; a check of that set-up; then Jupyter
Notebook 7 (JupyterLab with ``--lab``) in this process, with ``JupyterS3``
pointed at the local server with dummy keys (your own AWS settings are neither
needed nor used). With ``--bucket`` it runs on that bucket instead, with the usual
AWS credential chain, and writes nothing to it.

Jupyter's own log shows warnings and errors only, so what the demo prints is one
block: one URL, one instruction. One Ctrl-C (or SIGTERM) stops Jupyter, which
shuts its kernels down, then the local server. The server also exits by itself
when this process dies, however it dies: it runs until its stdin, a pipe from
this process, reaches end of file.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import os
import secrets
import signal
import subprocess
import sys
import textwrap
import urllib.parse
from dataclasses import dataclass
from types import FrameType
from typing import Any

from s3lite import Credentials
from s3lite.sync import S3Client

from .check import EXIT_FAILED, EXIT_OK, EXIT_USAGE, format_report, make_manager, passed, run_check
from .paths import DIRECTORY_CONTENT_TYPE

__all__ = [
    "DEMO_BUCKET",
    "LocalS3",
    "demo_command",
    "demo_settings",
    "jupyter_argv",
    "sample_objects",
]

DEMO_BUCKET = "jupyters3-demo"
DEMO_REGION = "us-east-1"
# The local server checks no signatures; any keys do. Fixed ones keep the user's out of it.
DEMO_ACCESS_KEY_ID = "jupyters3-demo"
DEMO_SECRET_ACCESS_KEY = "jupyters3-demo-secret"

_SERVER_CHILD = textwrap.dedent(
    """
    import logging, signal, sys
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when we stop
    from moto.server import ThreadedMotoServer
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    print(server.get_host_and_port()[1], flush=True)
    sys.stdin.read()  # until the parent closes our stdin, or dies
    server.stop()
    """
)


@dataclass
class LocalS3:
    """A moto S3 server in a child process, on a free port of 127.0.0.1."""

    process: subprocess.Popen[str]
    endpoint_url: str

    @classmethod
    def start(cls) -> LocalS3:
        env = dict(os.environ)
        # moto's server uses boto3 inside itself; give it dummy keys, not the user's.
        env.update(
            AWS_ACCESS_KEY_ID=DEMO_ACCESS_KEY_ID,
            AWS_SECRET_ACCESS_KEY=DEMO_SECRET_ACCESS_KEY,
            AWS_DEFAULT_REGION=DEMO_REGION,
        )
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_DEFAULT_PROFILE"):
            env.pop(name, None)
        proc = subprocess.Popen(
            [sys.executable, "-c", _SERVER_CHILD],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
            start_new_session=True,  # a terminal's Ctrl-C reaches us, not it
        )
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line.strip().isdigit():
            proc.kill()
            proc.wait()
            raise RuntimeError(f"the local S3 server did not start (it said {line!r})")
        return cls(proc, f"http://127.0.0.1:{int(line)}")

    def stop(self) -> None:
        """Stop the server and wait for it to exit."""
        if self.process.poll() is not None:
            return
        assert self.process.stdin is not None
        self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


# -- sample contents (pure) ------------------------------------------------------------


def _notebook(cells: list[tuple[str, str]]) -> bytes:
    """An nbformat 4.5 notebook of ``(kind, source)`` cells, not yet run."""
    doc = {
        "cells": [
            {"cell_type": "markdown", "id": f"cell-{i}", "metadata": {}, "source": src}
            if kind == "markdown"
            else {
                "cell_type": "code",
                "id": f"cell-{i}",
                "metadata": {},
                "source": src,
                "execution_count": None,
                "outputs": [],
            }
            for i, (kind, src) in enumerate(cells)
        ],
        "metadata": {
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    return (json.dumps(doc, indent=1, ensure_ascii=False) + "\n").encode()


def sample_objects(prefix: str, bucket: str = DEMO_BUCKET) -> list[tuple[str, bytes, str]]:
    """The demo's objects: ``(key, body, content type)``; a folder is a 0-byte ``name/``."""
    welcome = _notebook(
        [
            (
                "markdown",
                "# Welcome to jupyters3\n\n"
                f"This notebook is an object in S3: `s3://{bucket}/{prefix}welcome.ipynb`, "
                "on a local S3 server that `jupyters3 demo` started. Whatever you create, "
                "save, rename or delete here happens in that bucket, checkpoints included.\n\n"
                "Code in a notebook sees the same files: see `examples/files.ipynb`.\n\n"
                "Ctrl-C in the terminal stops Jupyter and the server (whose data goes away).",
            ),
            ("code", 'print("Hello from a notebook stored in S3")'),
            (
                "markdown",
                "## Your own bucket\n\n"
                "`jupyters3 demo --bucket my-bucket` runs the same on a real bucket, with "
                "the usual AWS credentials. Or configure Jupyter yourself:\n\n"
                "```python\n"
                'c.ServerApp.contents_manager_class = "jupyters3.JupyterS3"\n'
                'c.JupyterS3.aws_s3_bucket = "my-bucket"\n'
                'c.JupyterS3.prefix = "notebooks/"  # optional\n'
                "```\n\n"
                "`jupyters3 check --bucket my-bucket` tells you whether it will work.",
            ),
        ]
    )
    from_code = _notebook(
        [
            (
                "markdown",
                "# The file browser's files, from code\n\n"
                "This notebook's kernel knows where it is: `jupyters3.files` reads and writes "
                f"next to this notebook, in `s3://{bucket}/{prefix}examples/`, and what it "
                "writes shows in the file browser at once.",
            ),
            (
                "code",
                "import csv\n"
                "from jupyters3 import files\n\n"
                'with files.open("cities.csv", newline="") as f:\n'
                "    rows = list(csv.DictReader(f))\n"
                'big = [r for r in rows if int(r["population"]) > 1_000_000]\n'
                'with files.open("big-cities.csv", "w", newline="") as f:\n'
                '    out = csv.DictWriter(f, fieldnames=["city", "population"])\n'
                "    out.writeheader()\n"
                "    out.writerows(big)\n"
                'print(files.read_text("big-cities.csv"))\n'
                "print(files.listdir())",
            ),
            (
                "markdown",
                "`%load_ext jupyters3` adds `%s3ls`, `%s3cd` and `%s3pwd`. With pandas and "
                'fsspec installed, `pd.read_csv("jupyters3://cities.csv")` reads the same file.',
            ),
            ("code", "%load_ext jupyters3\n%s3ls /"),
            (
                "markdown",
                "The kernel's environment says where the files are (`JUPYTERS3_*`); "
                "credentials come from the usual AWS chain. So `s3lite` (or boto3) "
                "reaches the same bucket:",
            ),
            (
                "code",
                "import os\n"
                "from s3lite.sync import S3Client\n\n"
                "env = os.environ\n"
                'endpoint = env["JUPYTERS3_ENDPOINT_URL"] or None  # None: AWS itself\n'
                'bucket, prefix = env["JUPYTERS3_BUCKET"], env["JUPYTERS3_PREFIX"]\n'
                'with S3Client(env["JUPYTERS3_REGION"], endpoint) as s3:\n'
                "    for entry in s3.list_objects(bucket, prefix):\n"
                "        print(entry.key)",
            ),
        ]
    )
    csv = b"city,population\nLagos,15400000\nLima,10900000\nOslo,709000\n"
    return [
        (f"{prefix}welcome.ipynb", welcome, "application/x-ipynb+json"),
        (f"{prefix}examples/", b"", DIRECTORY_CONTENT_TYPE),
        (f"{prefix}examples/files.ipynb", from_code, "application/x-ipynb+json"),
        (f"{prefix}examples/cities.csv", csv, "text/csv"),
    ]


def seed(endpoint_url: str, bucket: str, prefix: str) -> None:
    """Create the demo bucket on the local server and write the samples into it."""
    creds = Credentials(DEMO_ACCESS_KEY_ID, DEMO_SECRET_ACCESS_KEY)
    with S3Client(DEMO_REGION, endpoint_url, creds) as s3:
        s3.create_bucket(bucket)
        for key, body, content_type in sample_objects(prefix, bucket):
            s3.put_object(bucket, key, body, content_type=content_type)


# -- Jupyter's settings (pure) ------------------------------------------------------------


def demo_settings(
    *,
    bucket: str,
    prefix: str,
    endpoint_url: str | None,
    region: str | None,
    static_keys: tuple[str, str] | None,
    always_delete_dir: bool = False,
) -> dict[str, dict[str, Any]]:
    """The JupyterS3 configuration, as ``{class: {trait: value}}``."""
    s3: dict[str, Any] = {"aws_s3_bucket": bucket}
    if always_delete_dir:
        s3["always_delete_dir"] = True
    if prefix:
        s3["prefix"] = prefix
    if endpoint_url:
        s3["endpoint_url"] = endpoint_url
    if region:
        s3["aws_region"] = region
    settings: dict[str, dict[str, Any]] = {"JupyterS3": s3}
    if static_keys:
        s3["authentication_class"] = "jupyters3.JupyterS3SecretAccessKeyAuthentication"
        settings["JupyterS3SecretAccessKeyAuthentication"] = {
            "aws_access_key_id": static_keys[0],
            "aws_secret_access_key": static_keys[1],
        }
    return settings


def jupyter_argv(
    settings: dict[str, dict[str, Any]],
    *,
    port: int,
    open_browser: bool,
    allow_root: bool,
    token: str,
    extra: list[str],
) -> list[str]:
    """Jupyter's command line: the settings (command-line config beats config files),
    loopback only, the port, the browser, the token, a log of warnings and errors
    only, then ``extra`` as given (which can change any of these)."""
    argv = [
        "--ServerApp.contents_manager_class=jupyters3.JupyterS3",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        f"--ServerApp.open_browser={open_browser}",
        # A token of ours: Jupyter prints its banner of URLs only for one it made.
        f"--IdentityProvider.token={token}",
        # No banner saying Ctrl-C needs confirming (one Ctrl-C stops: run_jupyter),
        # none of the extensions' start-up notes: Jupyter's warnings and errors only.
        "--Application.log_level=WARN",
    ]
    if allow_root:
        argv.append("--ServerApp.allow_root=True")
    for cls, traits in settings.items():
        argv += [f"--{cls}.{name}={value}" for name, value in traits.items()]
    return argv + extra


def has_display() -> bool:
    """Whether a browser window could be shown (macOS and Windows always can)."""
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


# -- running it ------------------------------------------------------------------------


def _say(message: str) -> None:
    print(f"jupyters3 demo: {message}", flush=True)


def _missing_packages(lab: bool, local: bool) -> list[str]:
    import importlib.util

    wanted = ["jupyter_server", "nbformat", "jupyterlab" if lab else "notebook"]
    if local:
        wanted.append("moto")
    return [name for name in wanted if importlib.util.find_spec(name) is None]


def demo_command(args: argparse.Namespace) -> int:
    """``jupyters3 demo``; returns the exit status."""
    local = args.bucket is None
    if args.endpoint_url and local:
        print("jupyters3 demo: --endpoint-url needs --bucket", file=sys.stderr)
        return EXIT_USAGE
    missing = _missing_packages(args.lab, local)
    if missing:
        print(
            f"jupyters3 demo: missing {', '.join(missing)}: install the demo extra, "
            "e.g. pip install -e '.[demo]'",
            file=sys.stderr,
        )
        return EXIT_FAILED
    extra = [a for a in args.jupyter_args if a != "--"] if args.jupyter_args else []
    if args.profile:
        os.environ["AWS_PROFILE"] = args.profile
    prefix = args.prefix or ""

    server: LocalS3 | None = None
    try:
        if local:
            server = LocalS3.start()
            _say(f"local S3 server (moto) at {server.endpoint_url}, pid {server.process.pid}")
            seed(server.endpoint_url, DEMO_BUCKET, prefix)
            _say(f"wrote sample notebooks to s3://{DEMO_BUCKET}/{prefix}")
            # Kernels find credentials through the AWS chain, in the environment they
            # inherit from us: the local server's dummy keys. Only here, never for a real
            # bucket, whose kernels use the user's own chain.
            for name in ("AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_PROFILE"):
                os.environ.pop(name, None)
            os.environ["AWS_ACCESS_KEY_ID"] = DEMO_ACCESS_KEY_ID
            os.environ["AWS_SECRET_ACCESS_KEY"] = DEMO_SECRET_ACCESS_KEY
            settings = demo_settings(
                bucket=DEMO_BUCKET,
                prefix=prefix,
                endpoint_url=server.endpoint_url,
                region=DEMO_REGION,
                static_keys=(DEMO_ACCESS_KEY_ID, DEMO_SECRET_ACCESS_KEY),
                # the demo's data is thrown away: folders delete as on a laptop's disk
                always_delete_dir=True,
            )
        else:
            settings = demo_settings(
                bucket=args.bucket,
                prefix=prefix,
                endpoint_url=args.endpoint_url,
                region=args.region,
                static_keys=None,
            )
        if not _check(settings):
            return EXIT_FAILED
        open_browser = has_display() if args.browser is None else bool(args.browser)
        allow_root = hasattr(os, "geteuid") and os.geteuid() == 0
        if allow_root:
            _say("running as root: allowing Jupyter to run as root (it listens on 127.0.0.1 only)")
        argv = jupyter_argv(
            settings,
            port=args.port,
            open_browser=open_browser,
            allow_root=allow_root,
            token=secrets.token_hex(24),
            extra=extra,
        )
        also = " and the local S3 server" if local else ""
        return run_jupyter(argv, lab=args.lab, also_stops=also)
    finally:
        if server is not None:
            server.stop()
            _say("local S3 server stopped")


def _check(settings: dict[str, dict[str, Any]]) -> bool:
    from traitlets.config import Config

    manager = make_manager(Config(json.loads(json.dumps(settings))))
    target, steps = asyncio.run(run_check(manager))
    print(format_report(target, steps), flush=True)
    if not passed(steps):
        _say("the check failed; Jupyter not started")
    return passed(steps)


def run_jupyter(argv: list[str], *, lab: bool, also_stops: str = "") -> int:
    """Run Jupyter Notebook (or Lab) in this process until SIGINT/SIGTERM; a second
    signal while it shuts down skips the rest of the shutdown. ``also_stops`` says
    what else the first signal stops (e.g. " and the local S3 server")."""
    module, cls = ("jupyterlab.labapp", "LabApp") if lab else ("notebook.app", "JupyterNotebookApp")
    app_class: Any = getattr(importlib.import_module(module), cls)

    name = "JupyterLab" if lab else "Jupyter Notebook"
    _say(f"starting {name}")
    serverapp = app_class.initialize_server(argv=argv)
    stopping = False

    def on_signal(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        if stopping:
            raise KeyboardInterrupt  # leaves the event loop at once
        stopping = True
        serverapp.stop(from_signal=True)  # shuts kernels down, then stops the loop

    # One Ctrl-C stops (Jupyter would ask for confirmation on a terminal).
    previous: dict[signal.Signals, Any] = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        previous[sig] = signal.signal(sig, on_signal)

    def announce() -> None:
        url = urllib.parse.urlsplit(serverapp.local_url)  # shows a token it did not make as ...
        token = serverapp.identity_provider.token
        query = urllib.parse.urlencode({"token": token}) if token else ""
        _say(f"{name} is running at {url._replace(query=query).geturl()}")
        _say(f"press Ctrl-C once to stop it{also_stops}")

    serverapp.io_loop.add_callback(announce)  # runs once the server is listening
    try:
        serverapp.start()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    _say(f"{name} stopped")
    return EXIT_OK
