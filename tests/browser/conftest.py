"""Browser tests: Notebook 7 and JupyterLab in headless Chromium (Debian's, driven by
Playwright), on a real Jupyter server with JupyterS3 against the suite's S3 server.

Selected with ``-m browser`` (deselected by default). One Jupyter server per front end
for the session (``jupyter notebook`` and ``jupyter lab``, as users start them), each
on a bucket of its own; each test works in a folder of its own in that bucket. A
failed test leaves a screenshot of every page it had open, and the server's log, in
``tests/browser/failures/`` (ignored by git).
"""

from __future__ import annotations

import json
import re
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.jupyterserver import REPO, JupyterServer, free_url, jupyter_command, start_jupyter
from tests.motoserver import REGION, MotoServer

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
FAILURES = REPO / "tests" / "browser" / "failures"
PREFIX = "home/browser/"

# No outside requests from JupyterLab (news feed, update checks).
LAB_ARGS = [
    "--LabApp.news_url=",
    "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
]


@dataclass
class Bucket:
    """The bucket a front end's server uses, read with boto3 (another S3 client)."""

    s3: MotoServer
    name: str
    prefix: str

    def key(self, path: str) -> str:
        return self.prefix + path

    def keys(self, folder: str = "") -> list[str]:
        """Every key under ``folder`` (an API path), relative to the prefix, sorted."""
        client = self.s3.boto3_client()
        found: list[str] = []
        pages = client.get_paginator("list_objects_v2").paginate(
            Bucket=self.name, Prefix=self.key(folder)
        )
        for page in pages:
            found.extend(o["Key"][len(self.prefix) :] for o in page.get("Contents", []))
        return sorted(found)

    def read(self, path: str) -> bytes:
        return (
            self.s3.boto3_client().get_object(Bucket=self.name, Key=self.key(path))["Body"].read()
        )

    def head(self, path: str) -> dict[str, Any]:
        return self.s3.boto3_client().head_object(Bucket=self.name, Key=self.key(path))

    def put(self, path: str, body: bytes, content_type: str = "application/octet-stream") -> None:
        self.s3.boto3_client().put_object(
            Bucket=self.name, Key=self.key(path), Body=body, ContentType=content_type
        )

    def exists(self, path: str) -> bool:
        return path in self.keys(path)


def text(multiline: str | list[str]) -> str:
    """A notebook's multi-line string, stored as one string or a list of lines."""
    return multiline if isinstance(multiline, str) else "".join(multiline)


@dataclass
class Front:
    """A front end's running server and its bucket."""

    kind: str
    server: JupyterServer
    bucket: Bucket


# No "get notified about Jupyter news?" prompt over the pages; no "Rename file" prompt
# on the first save of an untitled notebook (JupyterLab), so Ctrl+S just saves.
USER_SETTINGS = {
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false"},
    "@jupyterlab/docmanager-extension/plugin": {"renameUntitledFileOnSave": False},
}


def write_user_settings(config_dir: Path) -> None:
    """Write :data:`USER_SETTINGS` where Notebook 7 and JupyterLab read them."""
    for plugin, values in USER_SETTINGS.items():
        target = config_dir / "lab" / "user-settings" / f"{plugin}.jupyterlab-settings"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(values))


@pytest.fixture(scope="session")
def s3_server(moto: MotoServer) -> MotoServer:
    """The suite's S3 server."""
    return moto


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (scripts/install-system.sh)")
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def start_front(kind: str, s3: MotoServer, home: Path, extra: list[str] | None = None) -> Front:
    """A Jupyter server for ``kind`` ("notebook" or "lab") on a new bucket."""
    bucket = Bucket(s3, f"browser-{kind}-{uuid.uuid4().hex[:8]}", PREFIX)
    s3.boto3_client().create_bucket(Bucket=bucket.name)
    port, url = free_url()
    token = uuid.uuid4().hex
    args = [
        "--JupyterS3.always_delete_dir=True",
        *(LAB_ARGS if kind == "lab" else []),
        *(extra or []),
    ]
    root = home / "root"
    root.mkdir()
    write_user_settings(home / "jupyter_config_dir")
    command = jupyter_command(
        kind,
        port=port,
        token=token,
        root=root,
        endpoint_url=s3.endpoint_url,
        keys=(s3.access_key_id, s3.secret_access_key),
        bucket=bucket.name,
        region=REGION,
        prefix=PREFIX,
        extra=args,
    )
    return Front(kind, start_jupyter(command, home=home, url=url, token=token), bucket)


@pytest.fixture(scope="session", params=["notebook", "lab"])
def front(
    request: pytest.FixtureRequest, s3_server: MotoServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Front]:
    """Notebook 7, then JupyterLab (one server at a time)."""
    kind = request.param
    started = start_front(kind, s3_server, tmp_path_factory.mktemp(f"jupyter-{kind}"))
    yield started
    started.server.stop()


@pytest.fixture
def context(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh browser context (no cookies, no storage); screenshots on failure."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 800}, accept_downloads=True)
    ctx.set_default_timeout(30_000)
    yield ctx
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        _save_failure(request, ctx)
    ctx.close()


def _save_failure(request: pytest.FixtureRequest, ctx: Any) -> None:
    FAILURES.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^\w.-]+", "_", request.node.nodeid.split("::", 1)[-1])
    for i, page in enumerate(ctx.pages):
        try:
            page.screenshot(path=str(FAILURES / f"{name}-{i}.png"), full_page=True)
        except Exception as e:  # a crashed page: say so, keep the others
            (FAILURES / f"{name}-{i}.txt").write_text(f"no screenshot: {e}\n")
    for fixture in ("front", "hub"):  # the server's log
        if fixture in request.fixturenames:
            served = request.getfixturevalue(fixture)
            log = served.server.log_path if fixture == "front" else served.log_path
            shutil.copyfile(log, FAILURES / f"{name}-{fixture}.log")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.when == "call":
        item.rep_call = report  # type: ignore[attr-defined]
    return report


@pytest.fixture
def page(context: Any) -> Any:
    return context.new_page()


@pytest.fixture
def workdir(front: Front, request: pytest.FixtureRequest) -> str:
    """A new folder (with its marker) for this test, as an API path."""
    test = re.sub(r"\W+", "-", request.node.name.split("[")[0]).strip("-")
    name = f"{test}-{uuid.uuid4().hex[:6]}"
    status, _, _ = front.server.contents("PUT", name, {"type": "directory"})
    assert status == 201
    return name
