"""Nothing left behind, nobody kept waiting: idle and interrupted uploads are
aborted, and big notebooks are serialised, validated and signed off the loop."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import threading
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbformat.sign import NotebookNotary
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from jupyters3 import JupyterS3
from jupyters3 import manager as manager_module
from jupyters3.models import NOTEBOOK_MIMETYPE
from tests.integration.test_jupyters3_fixtures import cm, error_of
from tests.integration.test_jupyters3_scale import multipart_uploads, upload_state
from tests.integration.test_jupyters3_server import server_command
from tests.jupyterserver import chunk_model, free_url, start_jupyter
from tests.loopback import wait_until
from tests.motoserver import MotoServer

__all__ = ["cm"]

MiB = 1024 * 1024


async def test_idle_upload_is_aborted_without_another_upload(
    cm: JupyterS3, moto_auth: MotoServer, auth_bucket: str
) -> None:
    cm.upload_part_size = 5 * MiB
    cm.upload_timeout = 5.0  # the reaper looks every 2.5 s
    await cm.save(chunk_model(os.urandom(5 * MiB), 1), "idle.bin")
    await cm.save(chunk_model(os.urandom(5 * MiB), 2), "idle.bin")  # chunk 1 is now a part
    assert multipart_uploads(moto_auth, auth_bucket) != []
    assert upload_state(moto_auth, auth_bucket) != []
    cm.upload_timeout = 0.5
    # no other upload arrives: the reaper still runs (a bound, not a timing assertion)
    await wait_until(lambda: not upload_state(moto_auth, auth_bucket), timeout=30)
    assert multipart_uploads(moto_auth, auth_bucket) == []


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_clean_shutdown_aborts_uploads_in_progress(
    moto_auth: MotoServer, auth_bucket: str, tmp_path: Path, sig: signal.Signals
) -> None:
    port, url = free_url()
    cmd = server_command(port, "t0k", tmp_path, moto_auth, auth_bucket)
    server = start_jupyter(cmd, home=tmp_path, url=url, token="t0k")
    try:
        for chunk in (1, 2, 3):  # more than a part (8 MiB): a multipart upload is open
            piece = os.urandom(5 * MiB)
            status, model, _ = server.contents("PUT", "big.bin", chunk_model(piece, chunk))
            assert status in (200, 201), model
        assert multipart_uploads(moto_auth, auth_bucket) != []
        assert upload_state(moto_auth, auth_bucket, "users/alice/") != []
        server.process.send_signal(sig)
        assert server.process.wait(timeout=60) is not None
    finally:
        server.stop()
    assert multipart_uploads(moto_auth, auth_bucket) == [], server.log_text()[-3000:]
    assert upload_state(moto_auth, auth_bucket, "users/alice/") == []


def big_notebook(cells: int = 10_000) -> Any:
    nb = new_notebook()
    for i in range(cells):
        cell = new_code_cell(f"x = {i}\nprint(x * {i})", execution_count=i)
        cell.outputs = [new_output("stream", name="stdout", text=f"{i * i}\n" * 3)]
        nb.cells.append(cell)
    return nb


def large_path(monkeypatch: pytest.MonkeyPatch, large: bool) -> None:
    """Every notebook (``large``) or none goes to the worker process."""
    limit = -1 if large else 1 << 60
    monkeypatch.setattr(manager_module, "LARGE_NOTEBOOK_ITEMS", limit)
    monkeypatch.setattr(manager_module, "LARGE_NOTEBOOK_BYTES", limit)


async def test_large_notebooks_are_handled_off_the_event_loop(
    cm: JupyterS3, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Checking, serialising, validating, signing and parsing a notebook of several
    MB takes seconds of CPU; none of it may run on the event loop that serves
    every user. Each such function is watched: called on the loop's own thread,
    it is recorded (a thread check, not a timing). This is the path in a thread
    (a notebook this size goes to the worker process: see the next test)."""
    large_path(monkeypatch, False)
    nb = big_notebook()  # (building it validates each cell: before the watch)
    on_loop: list[str] = []
    loop_thread = threading.get_ident()

    def watch(owner: Any, name: str) -> None:
        original = getattr(owner, name)

        def watched(*args: Any, **kwargs: Any) -> Any:
            if threading.get_ident() == loop_thread:
                on_loop.append(name)
            return original(*args, **kwargs)

        monkeypatch.setattr(owner, name, watched)

    for name in ("writes", "reads", "from_dict", "validate"):
        watch(nbformat, name)
    watch(NotebookNotary, "compute_signature")
    watch(manager_module, "notebook_problem")  # a walk over every cell
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.001)

    timer = asyncio.ensure_future(ticker())
    try:
        saved = await cm.save({"type": "notebook", "content": nb}, "big.ipynb")
        assert saved["size"] > 1 * MiB
        got = await cm.get("big.ipynb")
        assert len(got["content"].cells) == len(nb.cells)
        await cm.get("big.ipynb", content=False, require_hash=True)
    finally:
        timer.cancel()
    assert on_loop == []
    assert ticks > 0


def varied_notebook() -> Any:
    """A small notebook with what conversion treats apart: markdown, an HTML output
    (trusted only if signed), a cell nbformat's schema refuses (a validation
    message), non-ASCII text; unique cell ids (nothing for nbformat to repair at
    random)."""
    nb = new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}})
    nb.cells.append(new_markdown_cell("# Ümlauts — and ✓", id="md"))
    html = new_output("display_data", data={"text/html": "<b>bold</b>"})
    nb.cells.append(new_code_cell("show()", id="html", execution_count=1, outputs=[html]))
    nb.cells[-1].metadata["trusted"] = True
    for i in range(20):
        out = new_output("stream", name="stdout", text=f"{i}\n")
        nb.cells.append(new_code_cell(f"print({i})", id=f"c{i}", outputs=[out]))
    content = json.loads(json.dumps(nb))
    content["cells"][-1]["bogus"] = 1  # not in the schema
    return content


async def test_a_large_notebook_is_converted_in_a_worker_process_with_the_same_result(
    cm: JupyterS3, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A notebook over the size limits is converted in a worker process, not in this
    one (nbformat's ``writes`` and ``reads`` are never called here), and gives what
    the path in a thread gives: the same bytes in S3, the same validation message,
    the same signature (its output opens trusted), the same model, keys in the
    same order."""
    calls: list[str] = []
    for name in ("writes", "reads"):
        original = getattr(nbformat, name)

        def counted(*args: Any, _name: str = name, _f: Any = original, **kwargs: Any) -> Any:
            calls.append(_name)
            return _f(*args, **kwargs)

        monkeypatch.setattr(nbformat, name, counted)
    results = {}
    for large in (False, True):
        large_path(monkeypatch, large)
        calls.clear()
        path = f"{large}.ipynb"
        saved = await cm.save({"type": "notebook", "content": varied_notebook()}, path)
        stored = await cm.store.read(cm.layout.file_key(path))
        assert stored is not None
        got = await cm.get(path)
        assert calls == ([] if large else ["writes", "reads"])
        assert got["content"].cells[1].metadata.trusted is True
        assert type(got["content"].cells[1].outputs[0]) is type(got["content"])
        results[large] = (
            saved["message"],
            stored.body,
            got["content"],
            json.dumps(got["content"]),
            got["message"],
        )
    assert "Notebook validation failed" in results[True][0]
    assert results[True] == results[False]


async def test_errors_in_the_worker_process_are_the_same_400s(
    cm: JupyterS3, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A notebook nbformat cannot serialise, and stored bytes that are no notebook,
    give the same 400 and message through the worker process as in a thread."""
    cell = {"cell_type": "code", "source": "", "metadata": {}, "outputs": ["x"]}
    bad = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [cell]}
    await cm.store.write(cm.layout.file_key("broken.ipynb"), b'{"cells": [', NOTEBOOK_MIMETYPE)
    answers = {}
    for large in (False, True):
        large_path(monkeypatch, large)
        saving = await error_of(cm.save({"type": "notebook", "content": bad}, "bad.ipynb"))
        opening = await error_of(cm.get("broken.ipynb"))
        answers[large] = tuple((e.status_code, str(e.log_message)) for e in (saving, opening))
    assert answers[True] == answers[False]
    (save_status, save_message), (get_status, get_message) = answers[True]
    assert save_status == get_status == 400
    assert save_message.startswith("Invalid notebook bad.ipynb: "), save_message
    assert "string indices must be integers" in save_message, save_message
    assert get_message.startswith("Unreadable Notebook: broken.ipynb NotJSONError("), get_message
    assert not await cm.file_exists("bad.ipynb")
