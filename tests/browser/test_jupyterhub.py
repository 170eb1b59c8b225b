"""JupyterHub end to end with examples/jupyterhub/: the hub (configurable-http-proxy from
npm, DummyAuthenticator, SimpleLocalProcessSpawner), two users, each user's server on
JupyterS3 under ``home/<user>/`` of one bucket. Over HTTP, both users at once, and one
scenario in the browser. Marker ``hub``."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import expect

from tests.browser.conftest import Bucket, text
from tests.browser.ui import FileBrowser
from tests.jupyterserver import REPO, STARTUP_TIMEOUT
from tests.loopback import unused_port
from tests.motoserver import REGION, MotoServer

pytestmark = pytest.mark.hub

EXAMPLE = REPO / "examples" / "jupyterhub" / "jupyterhub_config.py"
USERS = ("alice", "bob")
PROXY = "configurable-http-proxy"


@dataclass
class Hub:
    url: str
    service_token: str
    bucket: Bucket
    process: subprocess.Popen[bytes]
    log_path: Path

    def api(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """A hub API request as the test service (an admin of users and servers)."""
        headers = {"Authorization": f"token {self.service_token}"}
        return requests.request(
            method, f"{self.url}/hub/api{path}", headers=headers, timeout=60, **kwargs
        )


def hub_config(tmp: Path, ports: tuple[int, int, int], token: str) -> Path:
    """The example's configuration, plus free ports, state in ``tmp`` and a service
    token for the tests."""
    public, hub, proxy_api = ports
    config = tmp / "jupyterhub_config.py"
    settings = {
        "JupyterHub.port": public,
        "JupyterHub.hub_port": hub,
        "ConfigurableHTTPProxy.api_url": f"http://127.0.0.1:{proxy_api}",
        "ConfigurableHTTPProxy.pid_file": str(tmp / "proxy.pid"),
        "JupyterHub.db_url": f"sqlite:///{tmp / 'jupyterhub.sqlite'}",
        "JupyterHub.cookie_secret_file": str(tmp / "cookie_secret"),
        "SimpleLocalProcessSpawner.home_dir_template": str(tmp / "home" / "{username}"),
        "Spawner.start_timeout": STARTUP_TIMEOUT,
        "Spawner.http_timeout": STARTUP_TIMEOUT,
        "JupyterHub.services": [{"name": "tests", "api_token": token}],
        "JupyterHub.load_roles": [
            {
                "name": "tests",
                "scopes": ["admin:users", "admin:servers", "tokens", "list:users"],
                "services": ["tests"],
            }
        ],
    }
    lines = ["c = get_config()  # noqa: F821", f"load_subconfig({str(EXAMPLE)!r})  # noqa: F821"]
    for name, value in settings.items():
        lines.append(f"c.{name} = {value!r}")
    config.write_text("\n".join(lines) + "\n")
    return config


@pytest.fixture(scope="module")
def hub(s3_server: MotoServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    if shutil.which(PROXY) is None:
        pytest.fail(f"{PROXY} is missing: npm install -g {PROXY} (scripts/install-system.sh)")
    tmp = tmp_path_factory.mktemp("hub")
    bucket = Bucket(s3_server, f"hub-{uuid.uuid4().hex[:8]}", "")
    s3_server.boto3_client().create_bucket(Bucket=bucket.name)
    ports = (unused_port(), unused_port(), unused_port())
    token = uuid.uuid4().hex
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("AWS_", "JUPYTER"))
    }
    env.update(
        PATH=os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")]),
        JUPYTERS3_BUCKET=bucket.name,
        JUPYTERS3_ENDPOINT_URL=s3_server.endpoint_url,
        AWS_ACCESS_KEY_ID=s3_server.access_key_id,
        AWS_SECRET_ACCESS_KEY=s3_server.secret_access_key,
        AWS_REGION=REGION,
        AWS_EC2_METADATA_DISABLED="true",
    )
    log_path = tmp / "hub.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "jupyterhub", "-f", str(hub_config(tmp, ports, token))],
            cwd=tmp,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # the proxy and the users' servers are its children
        )
    started = Hub(f"http://127.0.0.1:{ports[0]}", token, bucket, proc, log_path)
    try:
        _wait(lambda: _answers(f"{started.url}/hub/health"), proc, log_path)
        yield started
    finally:
        for user in USERS:  # the hub stops its users' servers only when asked
            with contextlib.suppress(requests.RequestException):
                started.api("DELETE", f"/users/{user}/server")
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=5).status_code == 200
    except requests.RequestException:
        return False


def _wait(ready: Any, proc: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while not ready():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"jupyterhub is not ready:\n{log_path.read_text()[-4000:]}")
        time.sleep(0.25)


def log_in(hub: Hub, user: str) -> requests.Session:
    """Sign in through the hub's login form (any password: DummyAuthenticator)."""
    session = requests.Session()
    form = session.get(f"{hub.url}/hub/login", timeout=30)
    xsrf = re.search(r'name="_xsrf" value="([^"]+)"', form.text)
    assert form.status_code == 200 and xsrf
    answer = session.post(
        f"{hub.url}/hub/login",
        data={"username": user, "password": "anything", "_xsrf": xsrf.group(1)},
        allow_redirects=False,
        timeout=30,
    )
    assert answer.status_code == 302, answer.text[:500]
    return session


def start_servers(hub: Hub, users: tuple[str, ...]) -> dict[str, str]:
    """Spawn every user's server at once; a token of each user for their server."""
    for user in users:
        assert hub.api("POST", f"/users/{user}/server").status_code in (201, 202, 400)

    def ready() -> bool:
        return all(
            (hub.api("GET", f"/users/{u}").json().get("servers", {}).get("") or {}).get("ready")
            for u in users
        )

    _wait(ready, hub.process, hub.log_path)
    tokens = {}
    for user in users:
        made = hub.api("POST", f"/users/{user}/tokens", json={"note": "tests"})
        assert made.status_code == 201, made.text
        tokens[user] = made.json()["token"]
    return tokens


def contents(hub: Hub, user: str, token: str, method: str, path: str, **kw: Any) -> Any:
    return requests.request(
        method,
        f"{hub.url}/user/{user}/api/contents/{path}",
        headers={"Authorization": f"token {token}"},
        timeout=60,
        **kw,
    )


def notebook_of(user: str) -> dict[str, Any]:
    cell = {
        "cell_type": "markdown",
        "id": "c0",
        "metadata": {},
        "source": f"{user}'s notebook",
    }
    return {"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


def test_two_users_each_see_and_write_only_their_prefix(hub: Hub) -> None:
    for user in USERS:
        log_in(hub, user)
    tokens = start_servers(hub, USERS)

    def work(user: str) -> list[str]:
        token = tokens[user]
        body = {"type": "notebook", "content": notebook_of(user)}
        assert contents(hub, user, token, "PUT", "mine.ipynb", json=body).status_code == 201
        assert (
            contents(hub, user, token, "PUT", "data", json={"type": "directory"}).status_code == 201
        )
        text = {"type": "file", "format": "text", "content": f"{user}\n"}
        assert contents(hub, user, token, "PUT", "data/who.txt", json=text).status_code == 201
        listing = contents(hub, user, token, "GET", "").json()
        return sorted(m["name"] for m in listing["content"])

    with ThreadPoolExecutor(len(USERS)) as pool:  # both at once
        listings = dict(zip(USERS, pool.map(work, USERS), strict=True))
    assert listings == {user: ["data", "mine.ipynb"] for user in USERS}

    for user in USERS:
        assert hub.bucket.keys(f"home/{user}/") == [
            f"home/{user}/data/",
            f"home/{user}/data/who.txt",
            f"home/{user}/mine.ipynb",
            *[k for k in hub.bucket.keys(f"home/{user}/mine.ipynb/") if "/.checkpoints/" in k],
        ]
        stored = json.loads(hub.bucket.read(f"home/{user}/mine.ipynb"))
        assert text(stored["cells"][0]["source"]) == f"{user}'s notebook"
        assert hub.bucket.read(f"home/{user}/data/who.txt") == f"{user}\n".encode()
    assert {key.split("/")[1] for key in hub.bucket.keys("")} == set(USERS)

    # alice's token does not open bob's server; no path leads out of her prefix
    assert contents(hub, "bob", tokens["alice"], "GET", "mine.ipynb").status_code == 403
    escape = contents(hub, "alice", tokens["alice"], "GET", "..%2Fbob%2Fmine.ipynb")
    assert escape.status_code in (400, 404) and "bob's notebook" not in escape.text


def test_a_user_signs_in_and_works_in_the_browser(hub: Hub, context: Any) -> None:
    hub.bucket.put("home/alice/from-alice.txt", b"alice\n", "text/plain")
    hub.bucket.put("home/bob/from-bob.txt", b"bob\n", "text/plain")
    page = context.new_page()
    page.goto(f"{hub.url}/hub/login")
    page.get_by_label("Username:").fill("alice")
    page.get_by_label("Password:").fill("anything")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/user/alice/tree"), timeout=STARTUP_TIMEOUT * 1000)

    browser = FileBrowser(page, page.get_by_role("tabpanel", name="Files"))
    expect(browser.item("from-alice.txt")).to_be_visible()
    expect(browser.item("from-bob.txt")).to_have_count(0)
    browser.scope.get_by_role("menuitem", name="New").click()
    page.get_by_role("menu").get_by_role("menuitem", name="New Folder").click()
    browser.name_new_item("projects")
    expect(browser.item("projects")).to_be_visible()
    assert "home/alice/projects/" in hub.bucket.keys("home/alice/")
    assert not [k for k in hub.bucket.keys("home/bob/") if "projects" in k]
