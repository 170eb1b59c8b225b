"""Real-time collaboration (jupyter-collaboration) on JupyterS3: two clients edit one
notebook through a real Jupyter server's collaboration websocket (pycrdt, as JupyterLab's
Yjs provider speaks it), each sees the other's edits, and the object in S3 holds both.

Needs the ``rtc`` extra (``pip install -e '.[rtc]'``), which changes how JupyterLab behaves
for the other browser tests: so these tests are marked ``rtc``, deselected by default, and
``scripts/test.sh --all`` runs them in a venv of their own (``.venv-rtc``).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable, Iterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import HTTPRequest
from tornado.websocket import WebSocketClientConnection, websocket_connect

from tests.integration.test_jupyters3_server import notebook as notebook_json
from tests.integration.test_jupyters3_server import server_command
from tests.jupyterserver import JupyterServer, free_url, start_jupyter
from tests.motoserver import MotoServer

pytestmark = pytest.mark.rtc

# A bound for a hung server, not a performance assertion.
WAIT = 60.0


class Channel:
    """A tornado websocket as the channel a pycrdt ``Provider`` syncs a document over."""

    def __init__(self, connection: WebSocketClientConnection, path: str) -> None:
        self._connection, self._path = connection, path

    @property
    def path(self) -> str:
        return self._path

    def __aiter__(self) -> Channel:
        return self

    async def __anext__(self) -> bytes:
        message = await self._connection.read_message()
        if message is None:
            raise StopAsyncIteration
        return message if isinstance(message, bytes) else message.encode()

    async def send(self, message: bytes) -> None:
        await self._connection.write_message(message, binary=True)

    async def recv(self) -> bytes:
        return await self.__anext__()


async def until(condition: Callable[[], bool], what: str) -> None:
    deadline = asyncio.get_running_loop().time() + WAIT
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"waited {WAIT:.0f} s for {what}")
        await asyncio.sleep(0.1)


@pytest.fixture
def rtc_server(moto_auth: MotoServer, tmp_path: Path) -> Iterator[tuple[JupyterServer, str]]:
    """A Jupyter server with jupyter-collaboration on JupyterS3, and its bucket."""
    bucket = f"rtc-{uuid.uuid4().hex[:12]}"
    moto_auth.boto3_client().create_bucket(Bucket=bucket)
    port, url = free_url()
    # jupyter-collaboration as installed, with its defaults (file ids by path, saves 1 s
    # after the last change, the file polled every second)
    command = server_command(port, "t", tmp_path, moto_auth, bucket)
    server = start_jupyter(command, home=tmp_path, url=url, token="t")
    try:
        yield server, bucket
    finally:
        server.stop()


def object_text(moto: MotoServer, bucket: str, key: str) -> str:
    body = moto.boto3_client().get_object(Bucket=bucket, Key=key)["Body"].read()
    return str(body.decode())


async def test_two_clients_edit_one_notebook_and_s3_holds_both_edits(
    rtc_server: tuple[JupyterServer, str], moto_auth: MotoServer
) -> None:
    from jupyter_ydoc import YNotebook
    from pycrdt import Doc, Provider

    server, bucket = rtc_server
    first = {"type": "notebook", "content": notebook_json("a = 1", "b = 2")}
    assert server.contents("PUT", "shared.ipynb", first)[0] == 201
    status, session, _ = server.call(
        "PUT", "/api/collaboration/session/shared.ipynb", {"format": "json", "type": "notebook"}
    )
    assert status in (200, 201), session
    room = f"json:notebook:{session['fileId']}"
    ws_url = server.url.replace("http://", "ws://")
    request = HTTPRequest(
        f"{ws_url}/api/collaboration/room/{room}?sessionId={session['sessionId']}",
        headers={"Authorization": f"token {server.token}"},
    )

    connections = [await websocket_connect(request) for _ in range(2)]
    docs = [Doc(), Doc()]
    notebooks = [YNotebook(doc) for doc in docs]
    try:
        async with AsyncExitStack() as providers:
            for doc, connection in zip(docs, connections, strict=True):
                await providers.enter_async_context(Provider(doc, Channel(connection, room)))
            await edit_and_check(notebooks, moto_auth, bucket)
    finally:
        for connection in connections:
            connection.close()
    log = server.log_text()
    assert "Traceback" not in log, log[-3000:]
    assert "OutOfBandChanges" not in log and "out-of-band" not in log.lower(), log[-3000:]


async def edit_and_check(notebooks: list[Any], moto_auth: MotoServer, bucket: str) -> None:
    from pycrdt import Text

    def source(nb: Any, i: int) -> str:
        return str(nb.ycells[i]["source"])

    for nb in notebooks:
        await until(lambda nb=nb: nb.cell_number == 2, "both clients to load the notebook")
    a, b = notebooks
    assert source(a, 0) == "a = 1" and source(b, 1) == "b = 2"

    cell_a, cell_b = a.ycells[0]["source"], b.ycells[1]["source"]
    assert isinstance(cell_a, Text) and isinstance(cell_b, Text)
    cell_a += "  # edited by A"
    cell_b += "  # edited by B"
    for nb in notebooks:
        await until(
            lambda nb=nb: source(nb, 0).endswith("by A") and source(nb, 1).endswith("by B"),
            "each client to see the other's edit",
        )

    def saved() -> list[str]:
        nb = json.loads(object_text(moto_auth, bucket, "users/alice/shared.ipynb"))
        return ["".join(c["source"]) for c in nb["cells"]]  # (nbformat splits lines)

    def both_saved() -> bool:
        return saved() == ["a = 1  # edited by A", "b = 2  # edited by B"]

    await until(both_saved, "the saved object to hold both edits")
    # More edits, saved again: the room's saves go on (no "changed on disk" loop).
    cell_b += "!"
    await until(lambda: saved()[1].endswith("B!"), "the second save")
    assert source(a, 1).endswith("B!")
