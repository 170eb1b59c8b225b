"""What a user does in Notebook 7 and JupyterLab on JupyterS3, checked in the page and
in the bucket's bytes (read with boto3, another S3 client)."""

from __future__ import annotations

import json
import os
import re
import struct
import zlib
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Front, text
from tests.browser.ui import UIS, JupyterUI, wait_for

pytestmark = pytest.mark.browser

NOTEBOOK = {
    "cells": [
        {
            "cell_type": "code",
            "id": "c0",
            "source": "1 + 1",
            "metadata": {},
            "outputs": [],
            "execution_count": None,
        }
    ],
    "metadata": {
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
    },
    "nbformat": 4,
    "nbformat_minor": 5,
}


@pytest.fixture
def ui(front: Front, page: Page) -> JupyterUI:
    return UIS[front.kind](page, front.server.url, front.server.token)


def saved_notebook(front: Front, path: str) -> Any:
    """The notebook at ``path`` as the bucket holds it, or None."""
    try:
        return json.loads(front.bucket.read(path))
    except front.bucket.s3.boto3_client().exceptions.NoSuchKey:
        return None


def checkpoints(front: Front, path: str) -> list[dict[str, str]]:
    """The checkpoints of ``path``, as the API lists them."""
    status, listed, _ = front.server.call("GET", f"/api/contents/{quote(path)}/checkpoints")
    assert status == 200
    return list(listed)


def test_the_tree_opens_with_no_error(front: Front, ui: JupyterUI) -> None:
    front.bucket.put("hello.txt", b"hi\n", "text/plain")
    browser = ui.open_tree()
    expect(browser.item("hello.txt")).to_be_visible()
    ui.page.wait_for_load_state("networkidle")  # the start folder's listing has come too
    expect(ui.error_dialogs()).to_have_count(0)


def test_new_notebook_run_save_reload(front: Front, ui: JupyterUI, workdir: str) -> None:
    browser = ui.open_tree(workdir)
    view, tab = ui.new_notebook(browser)
    view.run_cell(0, "print(6 * 7, 'from S3')", "42 from S3")
    view.save()
    path = f"{workdir}/Untitled.ipynb"

    def has_output() -> Any:
        nb = saved_notebook(front, path)
        return nb and nb["cells"] and nb["cells"][0].get("outputs")

    outputs = wait_for(has_output, tab)
    assert text(outputs[0]["text"]) == "42 from S3\n"
    cell = saved_notebook(front, path)["cells"][0]
    assert text(cell["source"]) == "print(6 * 7, 'from S3')"

    tab.reload()
    view.wait_ready()
    expect(view.cell_input(0)).to_contain_text("print(6 * 7, 'from S3')")
    expect(view.outputs(0)).to_contain_text("42 from S3")


def test_rename_new_unicode_folder_move_in(front: Front, ui: JupyterUI, workdir: str) -> None:
    front.server.contents(
        "PUT", f"{workdir}/draft.ipynb", {"type": "notebook", "content": NOTEBOOK}
    )
    view = ui.open_notebook(f"{workdir}/draft.ipynb")
    view.rename("résumé 2026.ipynb")
    wait_for(lambda: front.bucket.exists(f"{workdir}/résumé 2026.ipynb"), ui.page)
    # a rename copies, then deletes: the old key goes once the copy is done
    wait_for(lambda: not front.bucket.exists(f"{workdir}/draft.ipynb"), ui.page)

    browser = ui.open_tree(workdir)
    folder = "Données ✓ 日本"
    ui.new_folder(browser, folder)
    wait_for(lambda: front.bucket.exists(f"{workdir}/{folder}/"), ui.page)
    expect(browser.modified(folder)).not_to_have_text(re.compile("years? ago|56y"))

    browser.menu("résumé 2026.ipynb", "Cut")
    browser.enter(folder)
    browser.paste_here()
    expect(browser.item("résumé 2026.ipynb")).to_be_visible()
    moved = f"{workdir}/{folder}/résumé 2026.ipynb"
    wait_for(lambda: front.bucket.exists(moved), ui.page)
    assert text(json.loads(front.bucket.read(moved))["cells"][0]["source"]) == "1 + 1"
    assert [k for k in front.bucket.keys(workdir) if k.endswith(".ipynb")] == [moved]


def png(width: int, height: int) -> bytes:
    """A small RGB PNG, made with the standard library."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    raw = b"".join(
        b"\x00" + b"".join(bytes((x * 255 // width, y * 255 // height, 160)) for x in range(width))
        for y in range(height)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def test_upload_view_download(front: Front, ui: JupyterUI, workdir: str, tmp_path: Path) -> None:
    image = tmp_path / "picture.png"
    image.write_bytes(png(64, 48))
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(10 * 1024 * 1024))  # > 1 MiB: the UIs upload it in chunks

    browser = ui.open_tree(workdir)
    browser.upload(ui.upload_button(browser), [image, big])
    wait_for(lambda: front.bucket.exists(f"{workdir}/big.bin"), ui.page, 120_000)
    assert front.bucket.read(f"{workdir}/picture.png") == image.read_bytes()
    assert front.bucket.read(f"{workdir}/big.bin") == big.read_bytes()

    area, _ = ui.open_document(browser, "picture.png")
    shown = area.get_by_role("img")
    expect(shown).to_be_visible()
    assert shown.evaluate("img => [img.naturalWidth, img.naturalHeight]") == [64, 48]

    browser = ui.open_tree(workdir)
    assert browser.download("picture.png", tmp_path / "got.png") == image.read_bytes()
    assert browser.download("big.bin", tmp_path / "got.bin") == big.read_bytes()


def test_delete_a_file_and_a_folder_with_files(front: Front, ui: JupyterUI, workdir: str) -> None:
    front.bucket.put(f"{workdir}/notes.txt", b"bye\n", "text/plain")
    front.server.contents("PUT", f"{workdir}/full", {"type": "directory"})
    front.bucket.put(f"{workdir}/full/a.txt", b"a\n", "text/plain")
    front.bucket.put(f"{workdir}/full/deeper/b.txt", b"b\n", "text/plain")

    browser = ui.open_tree(workdir)
    browser.delete("notes.txt")
    wait_for(lambda: not front.bucket.exists(f"{workdir}/notes.txt"), ui.page)
    browser.delete("full")
    wait_for(lambda: not front.bucket.keys(f"{workdir}/full/"), ui.page)
    expect(ui.error_dialogs()).to_have_count(0)
    assert front.bucket.keys(workdir) == [f"{workdir}/"]


def test_open_a_file_another_tool_wrote_in_a_folder_with_no_marker(
    front: Front, ui: JupyterUI, workdir: str
) -> None:
    body = b"written by another tool: Oslo, 709000\n"
    front.bucket.put(f"{workdir}/exports/2026/report.txt", body, "text/plain")
    assert not front.bucket.exists(f"{workdir}/exports/")

    browser = ui.open_tree(workdir)
    browser.enter("exports")
    browser.enter("2026")
    area, _ = ui.open_document(browser, "report.txt")
    expect(area.get_by_role("textbox")).to_have_text("written by another tool: Oslo, 709000")
    expect(ui.error_dialogs()).to_have_count(0)


def test_revert_to_checkpoint_restores_the_latest(
    front: Front, ui: JupyterUI, workdir: str
) -> None:
    path = f"{workdir}/versions.ipynb"
    front.server.contents("PUT", path, {"type": "notebook", "content": NOTEBOOK})  # checkpoint 1
    view = ui.open_notebook(path)
    view.set_cell(0, "'second version'")
    view.save()  # saves and creates checkpoint 2
    wait_for(lambda: len(checkpoints(front, path)) == 2, ui.page)
    saved = text(saved_notebook(front, path)["cells"][0]["source"])
    assert saved == "'second version'"

    view.set_cell(0, "'not saved'")
    offered = view.revert_to_checkpoint()
    assert len(offered) == 2
    expect(view.cell_input(0)).to_have_text("'second version'")
    assert text(saved_notebook(front, path)["cells"][0]["source"]) == "'second version'"
