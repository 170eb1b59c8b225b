"""Everyday actions behave as jupyter_server's own AsyncFileContentsManager: copies
into new folders, deletes of non-empty folders, renames onto taken names, listing
entries equal to the models they list. Each through the manager and through the
REST API of a real Jupyter server (default options) on the suite's S3 server."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jupyter_server.services.contents.filemanager import AsyncFileContentsManager
from nbformat.sign import MemorySignatureStore
from tornado.web import HTTPError

from jupyters3 import JupyterS3
from tests.integration.test_jupyters3_fixtures import (
    S3Proxy,
    all_keys,
    cm,
    fill,
    make_manager,
    status_of,
    text,
)
from tests.integration.test_jupyters3_server import Jupyter, server_env, serving
from tests.motoserver import MotoServer

__all__ = ["cm"]  # fixtures used here

PREFIX = "users/bob/"


@pytest.fixture(scope="module")
def jupyter(moto_auth: MotoServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Jupyter]:
    """A Jupyter server with JupyterS3's default options (nothing about deletes set)."""
    home = tmp_path_factory.mktemp("jupyter")
    with serving(moto_auth, home, prefix=PREFIX, options=()) as server:
        yield server


def put(server: Jupyter, path: str, content: str = "x") -> None:
    status, _, _ = server.contents("PUT", path, text(content))
    assert status in (200, 201), (path, status)


def mkdir(server: Jupyter, path: str) -> None:
    status, _, _ = server.contents("PUT", path, {"type": "directory"})
    assert status in (200, 201), (path, status)


def tree(server: Jupyter, top: str) -> list[str]:
    """Every file path under ``top`` through the API, sorted."""
    status, model, _ = server.contents("GET", top)
    assert status == 200, model
    paths: list[str] = []
    for entry in model["content"]:
        if entry["type"] == "directory":
            paths.append(entry["path"] + "/")
            paths.extend(tree(server, entry["path"]))
        else:
            paths.append(entry["path"])
    return sorted(paths)


# -- copying folders -------------------------------------------------------------


async def copies(manager: Any) -> list[str]:
    """The same folder copies on any contents manager: the paths they made."""
    await manager.new({"type": "directory"}, "F")
    await manager.new(text("x"), "F/x.txt")
    await manager.new({"type": "directory"}, "F/sub")
    await manager.new(text("y"), "F/sub/y.txt")
    await manager.new({"type": "directory"}, "G")
    made = []
    for to in ("new", "deep/er", "new", "G", "G"):
        made.append((await manager.copy("F", to))["path"])
    return made


async def test_copying_a_folder_as_jupyter_server_does(cm: JupyterS3, tmp_path: Path) -> None:
    local = AsyncFileContentsManager(root_dir=str(tmp_path))
    expected = await copies(local)
    assert expected == ["new/F", "deep/er/F", "new/F-Copy1", "G/F", "G/F-Copy1"]
    assert await copies(cm) == expected
    for folder in ("new", "deep", "deep/er", "new/F-Copy1/sub"):
        assert await cm.dir_exists(folder)
    assert (await cm.get("deep/er/F/sub/y.txt"))["content"] == "y"
    listed = sorted(m["name"] for m in (await cm.get("new"))["content"])
    assert listed == sorted(m["name"] for m in (await local.get("new"))["content"])


async def test_copying_a_folder_under_a_file_is_refused(
    cm: JupyterS3, moto_auth: MotoServer, auth_bucket: str
) -> None:
    await cm.new({"type": "directory"}, "F")
    await cm.new(text("x"), "F/x.txt")
    await cm.new(text("f"), "f.txt")
    before = all_keys(moto_auth, auth_bucket)
    assert await status_of(cm.copy("F", "f.txt")) == 400  # as upstream
    assert await status_of(cm.copy("F", "f.txt/sub")) == 400
    assert await status_of(cm.copy("F", "F/inside")) == 400  # into itself
    assert all_keys(moto_auth, auth_bucket) == before


def test_copying_a_folder_through_the_api(jupyter: Jupyter) -> None:
    mkdir(jupyter, "cf")
    mkdir(jupyter, "cf/F")
    put(jupyter, "cf/F/x.txt", "x")
    status, model, _ = jupyter.contents("POST", "cf/missing/deeper", {"copy_from": "cf/F"})
    assert status == 201 and model["path"] == "cf/missing/deeper/F", model
    assert model["type"] == "directory"
    mkdir(jupyter, "cf/G")
    mkdir(jupyter, "cf/G/F")
    status, model, _ = jupyter.contents("POST", "cf/G", {"copy_from": "cf/F"})
    assert status == 201 and model["path"] == "cf/G/F-Copy1"
    assert tree(jupyter, "cf/missing") == [
        "cf/missing/deeper/",
        "cf/missing/deeper/F/",
        "cf/missing/deeper/F/x.txt",
    ]
    assert jupyter.contents("GET", "cf/G/F-Copy1/x.txt")[1]["content"] == "x"
    put(jupyter, "cf/file.txt")
    assert jupyter.contents("POST", "cf/file.txt/sub", {"copy_from": "cf/F"})[0] == 400


# -- deleting folders ------------------------------------------------------------


async def test_deleting_a_non_empty_folder_by_default(
    moto_auth: MotoServer, auth_bucket: str
) -> None:
    s3 = moto_auth.boto3_client()
    proxy = await S3Proxy(moto_auth.endpoint_url).start()
    manager = make_manager(moto_auth, auth_bucket, endpoint_url=proxy.url)
    try:
        assert manager.always_delete_dir  # the default: the UIs ask before they delete
        await fill(moto_auth, auth_bucket, [f"folder/sub/{i:04}.txt" for i in range(2001)])
        await fill(moto_auth, auth_bucket, ["folder/", "folder/a.ipynb/.checkpoints/1"])
        others = ["folder-other/keep.txt", "folder-other/", "folder.txt", "folderx/keep"]
        await fill(moto_auth, auth_bucket, others)
        proxy.reset()
        await manager.delete("folder")
        assert all_keys(moto_auth, auth_bucket) == sorted(others)  # only that folder
        batches = [r for r in proxy.requests if r.kind == "DeleteObjects"]
        assert len(batches) == 3  # 2,003 keys, at most 1,000 a request
        assert [r.body.count(b"<Key>") for r in batches] == [1000, 1000, 3]
        assert proxy.counts["DeleteObject"] == 0 and proxy.counts["CopyObject"] == 0

        manager.always_delete_dir = False  # an old configuration's explicit choice
        s3.put_object(Bucket=auth_bucket, Key="full/a.txt", Body=b"a")
        assert await status_of(manager.delete("full")) == 400
        assert await manager.file_exists("full/a.txt")
    finally:
        await manager.close()
        await proxy.stop()


def test_deleting_a_non_empty_folder_through_the_api(jupyter: Jupyter) -> None:
    mkdir(jupyter, "del")
    mkdir(jupyter, "del/folder")
    mkdir(jupyter, "del/folder/sub")
    put(jupyter, "del/folder/sub/a.txt")
    put(jupyter, "del/folder/b.txt")
    mkdir(jupyter, "del/folder-other")
    put(jupyter, "del/folder-other/c.txt")
    status, _, _ = jupyter.call("DELETE", "/api/contents/del/folder")
    assert status == 204
    assert tree(jupyter, "del") == ["del/folder-other/", "del/folder-other/c.txt"]
    keys = all_keys(jupyter.moto, jupyter.bucket, PREFIX + "del/")
    assert keys == [PREFIX + k for k in ("del/", "del/folder-other/", "del/folder-other/c.txt")]
    assert jupyter.call("DELETE", "/api/contents/del/folder")[0] == 404


# -- renaming --------------------------------------------------------------------


def test_renaming_onto_a_taken_name_or_into_a_missing_folder(jupyter: Jupyter) -> None:
    mkdir(jupyter, "ren")
    put(jupyter, "ren/one.txt", "1")
    put(jupyter, "ren/two.txt", "2")
    mkdir(jupyter, "ren/d")
    put(jupyter, "ren/d/in.txt", "in")
    mkdir(jupyter, "ren/e")

    def rename(old: str, new: str) -> int:
        status, _, _ = jupyter.contents("PATCH", old, {"path": new})
        return int(status)

    assert rename("ren/one.txt", "ren/two.txt") == 409  # onto a file
    assert rename("ren/one.txt", "ren/d") == 409  # onto a folder
    assert rename("ren/e", "ren/d") == 409  # a folder onto a folder
    assert rename("ren/e", "ren/one.txt") == 409  # a folder onto a file
    assert rename("ren/one.txt", "ren/nowhere/one.txt") == 404
    assert rename("ren/d", "ren/nowhere/d") == 404
    assert rename("ren/missing.txt", "ren/x.txt") == 404
    assert tree(jupyter, "ren") == [
        "ren/d/",
        "ren/d/in.txt",
        "ren/e/",
        "ren/one.txt",
        "ren/two.txt",
    ]
    assert jupyter.contents("GET", "ren/two.txt")[1]["content"] == "2"
    assert rename("ren/one.txt", "ren/d/one.txt") == 200
    assert jupyter.contents("GET", "ren/d/one.txt")[1]["content"] == "1"


async def test_renaming_onto_a_taken_name_or_into_a_missing_folder_manager(
    cm: JupyterS3, moto_auth: MotoServer, auth_bucket: str
) -> None:
    await cm.save(text("1"), "one.txt")
    await cm.save(text("2"), "two.txt")
    await cm.new({"type": "directory"}, "d")
    await cm.save(text("in"), "d/in.txt")
    await cm.new({"type": "directory"}, "e")
    before = all_keys(moto_auth, auth_bucket)
    assert await status_of(cm.rename("e", "d")) == 409
    assert await status_of(cm.rename("e", "one.txt")) == 409
    assert await status_of(cm.rename("d", "nowhere/d")) == 404
    assert await status_of(cm.rename("d", "one.txt/d")) == 404  # a file is no folder
    assert all_keys(moto_auth, auth_bucket) == before


# -- listing entries and their own models --------------------------------------------

# S3's delimited listing gives a sub-folder as a CommonPrefix, with no time: the one
# difference between a folder's entry and its own model (README, "What differs").
FOLDER_TIMES = ("last_modified", "created")


def same_but_folder_times(entry: dict[str, Any], own: dict[str, Any]) -> None:
    if entry["type"] == "directory":
        assert entry["last_modified"] is None and entry["created"] is None, entry
        entry = {k: v for k, v in entry.items() if k not in FOLDER_TIMES}
        own = {k: v for k, v in own.items() if k not in FOLDER_TIMES}
    assert entry == own


async def test_listing_entries_are_the_models_they_list(
    cm: JupyterS3, moto_auth: MotoServer, auth_bucket: str
) -> None:
    await cm.new({"type": "directory"}, "top")
    await cm.new({"type": "directory"}, "top/marked")
    await cm.new(path="top/n.ipynb")
    await cm.save(text("t"), "top/t.txt")
    await cm.save({"type": "file", "format": "base64", "content": "AAE="}, "top/b.bin")
    await cm.save(text("c"), "top/data.csv")
    moto_auth.boto3_client().put_object(Bucket=auth_bucket, Key="top/bare/x.txt", Body=b"x")
    listing = await cm.get("top")
    entries = {e["name"]: e for e in listing["content"]}
    assert sorted(entries) == ["b.bin", "bare", "data.csv", "marked", "n.ipynb", "t.txt"]
    for entry in entries.values():
        same_but_folder_times(entry, await cm.get(entry["path"], content=False))
    # A folder's own model has its marker's time (not 1970), as S3 has it.
    marker = moto_auth.boto3_client().head_object(Bucket=auth_bucket, Key="top/marked/")
    own = await cm.get("top/marked", content=False)
    assert own["last_modified"] == marker["LastModified"] and own["created"] == own["last_modified"]
    assert (await cm.get("top/marked"))["last_modified"] == own["last_modified"]
    assert listing["last_modified"] == (await cm.get("top", content=False))["last_modified"]
    assert listing["last_modified"].year > 1970
    # No marker: no time known; the folder's own model needs one (Last-Modified).
    assert (await cm.get("top/bare", content=False))["last_modified"].year == 1970


def test_listing_entries_are_the_models_they_list_through_the_api(jupyter: Jupyter) -> None:
    mkdir(jupyter, "lst")
    mkdir(jupyter, "lst/marked")
    status, _, _ = jupyter.contents("POST", "lst", {"type": "notebook"})
    assert status == 201
    put(jupyter, "lst/t.txt")
    s3 = jupyter.moto.boto3_client()
    s3.put_object(Bucket=jupyter.bucket, Key=PREFIX + "lst/bare/x.txt", Body=b"x")
    status, listing, _ = jupyter.contents("GET", "lst")
    assert status == 200
    names = sorted(e["name"] for e in listing["content"])
    assert names == ["Untitled.ipynb", "bare", "marked", "t.txt"]
    for entry in listing["content"]:
        status, own, headers = jupyter.contents("GET", entry["path"], query="?content=0")
        assert status == 200 and headers["Last-Modified"]
        same_but_folder_times(entry, own)
    status, own, headers = jupyter.contents("GET", "lst/marked", query="?content=0")
    marker = s3.head_object(Bucket=jupyter.bucket, Key=PREFIX + "lst/marked/")
    assert headers["Last-Modified"] == marker["ResponseMetadata"]["HTTPHeaders"]["last-modified"]
    assert not own["last_modified"].startswith("1970")


# -- errors: the README's table, row by row -------------------------------------------


class BrokenStore(MemorySignatureStore):
    """A notebook signature store whose database is gone."""

    def check_signature(self, digest: str, algorithm: str) -> bool:
        raise sqlite3.OperationalError("disk I/O error")

    def store_signature(self, digest: str, algorithm: str) -> None:
        raise sqlite3.OperationalError("disk I/O error")


BROKEN_STORE_CONFIG = (
    "from tests.integration.test_jupyters3_behaviours import BrokenStore\n"
    "c.NotebookNotary.store_factory = BrokenStore\n"
)


class ThreadedProxy:
    """An :class:`S3Proxy` on its own event loop in a thread, for a Jupyter server in a
    child process while the test blocks on its HTTP calls."""

    def __init__(self, upstream: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.proxy = self._run(S3Proxy(upstream).start())

    def _run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(60)

    def stop(self) -> None:
        self._run(self.proxy.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture(scope="module")
def faulty(moto_auth: MotoServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A Jupyter server reaching S3 through a fault proxy, with a broken signature store."""
    home = tmp_path_factory.mktemp("faulty")
    env = server_env(home)
    config_dir = Path(env["JUPYTER_CONFIG_DIR"])
    config_dir.mkdir(parents=True)
    (config_dir / "jupyter_server_config.py").write_text(BROKEN_STORE_CONFIG)
    threaded = ThreadedProxy(moto_auth.endpoint_url)
    try:
        with serving(
            moto_auth,
            home,
            env=env,
            prefix=PREFIX,
            options=(),
            endpoint_url=threaded.proxy.url,
        ) as server:
            yield server, threaded.proxy
    finally:
        threaded.stop()


def test_each_row_of_the_error_table_through_the_api(faulty: Any) -> None:
    server, proxy = faulty
    put(server, "a.txt", "a")
    put(server, "b.txt", "b")

    def answer(method: str, path: str, body: Any = None) -> tuple[int, str]:
        status, payload, _ = server.contents(method, path, body)
        return int(status), payload.get("message", "") if isinstance(payload, dict) else payload

    # 400: the user's input
    assert answer("GET", "a/../../etc")[0] == 400
    assert answer("PUT", "x" * 1100, text("x"))[0] == 400
    assert answer("PUT", "n.ipynb", {"type": "notebook", "content": {"cells": 1}})[0] == 400
    # 404 and 409
    assert answer("GET", "missing.txt")[0] == 404
    assert answer("PATCH", "a.txt", {"path": "b.txt"})[0] == 409
    # S3 said no
    for status, code, expected in [
        (403, "AccessDenied", 403),
        (412, "PreconditionFailed", 409),
        (400, "KeyTooLongError", 400),  # the user's name, as S3 judged it
        (400, "InvalidArgument", 500),  # a request of ours S3 refused
        (500, "InternalError", 500),
        (503, "SlowDown", 500),  # still, after the retries
    ]:
        proxy.fault = lambda kind, req, s=status, c=code: (s, c) if kind == "GetObject" else None
        try:
            got, message = answer("GET", "a.txt")
        finally:
            proxy.fault = None
        assert got == expected, (code, got, message)
        assert code in message
        if expected == 500:
            assert "reading 'a.txt'" in message and "S3 request id proxy-" in message
    # S3 unreachable
    rule = proxy.reset_before(lambda r: r.kind == "GetObject", times=1000)
    try:
        got, message = answer("GET", "a.txt")
    finally:
        rule.times = 0
    assert got == 500 and "could not reach S3" in message
    assert answer("GET", "a.txt")[0] == 200
    # a broken notebook signature store (the server's side): reading and saving
    nb = {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    got, message = answer("PUT", "n.ipynb", {"type": "notebook", "content": nb})
    assert got == 500 and "disk I/O error" in message
    server.moto.boto3_client().put_object(
        Bucket=server.bucket, Key=PREFIX + "n.ipynb", Body=json.dumps(nb).encode()
    )
    got, message = answer("GET", "n.ipynb")
    assert got == 500 and "disk I/O error" in message


async def test_a_broken_signature_store_is_a_500_through_the_manager(cm: JupyterS3) -> None:
    nb = {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    await cm.save({"type": "notebook", "content": nb}, "n.ipynb")
    cm.notary.store = BrokenStore()
    with pytest.raises(HTTPError) as e:
        await cm.get("n.ipynb")
    assert e.value.status_code == 500 and "disk I/O error" in str(e.value.log_message)
    assert await status_of(cm.save({"type": "notebook", "content": nb}, "n.ipynb")) == 500
    assert (await cm.get("n.ipynb", content=False))["type"] == "notebook"  # no signature needed


# -- delete_to_trash -----------------------------------------------------------------

TRASH = ".jupyters3-trash/"


def trash_entries(server: MotoServer, bucket: str, prefix: str = "") -> dict[str, list[str]]:
    """The trash's entries: entry -> its keys (relative to the entry), sorted."""
    entries: dict[str, list[str]] = {}
    for key in all_keys(server, bucket, prefix + TRASH):
        entry, _, rest = key[len(prefix + TRASH) :].partition("/")
        entries.setdefault(entry, []).append(rest)
    return entries


def restore(server: MotoServer, bucket: str, entry: str, prefix: str = "") -> None:
    """What README says to run (s3lite cp -r, then rm -r), with boto3."""
    s3 = server.boto3_client()
    source = f"{prefix}{TRASH}{entry}/"
    for key in all_keys(server, bucket, source):
        s3.copy_object(Bucket=bucket, Key=prefix + key[len(source) :], CopySource=f"{bucket}/{key}")
        s3.delete_object(Bucket=bucket, Key=key)


async def test_deleting_to_the_trash(
    cm: JupyterS3, moto_auth: MotoServer, auth_bucket: str
) -> None:
    cm.delete_to_trash = True
    await cm.new(path="n.ipynb")
    [checkpoint] = await cm.list_checkpoints("n.ipynb")
    await cm.new({"type": "directory"}, "folder")
    await cm.save(text("a"), "folder/a.txt")
    await cm.new({"type": "directory"}, "folder-other")
    await cm.save(text("b"), "folder-other/b.txt")
    await cm.delete("n.ipynb")
    await cm.delete("folder")
    entries = trash_entries(moto_auth, auth_bucket)
    assert sorted(entries.values()) == [
        ["folder/", "folder/a.txt"],
        ["n.ipynb", f"n.ipynb/.checkpoints/{checkpoint['id']}"],
    ]
    assert [m["name"] for m in (await cm.get(""))["content"]] == ["folder-other"]
    cm.allow_hidden = True  # hidden files shown: the trash still is not
    assert [m["name"] for m in (await cm.get(""))["content"]] == ["folder-other"]
    for path in (".jupyters3-trash", f".jupyters3-trash/{next(iter(entries))}/n.ipynb"):
        assert await status_of(cm.get(path)) == 400  # no API path reaches it
        assert await status_of(cm.delete(path)) == 400
        assert await status_of(cm.rename("folder-other", path)) == 400
    assert await status_of(cm.copy("folder-other", ".jupyters3-trash")) == 400
    assert await status_of(cm.delete("folder")) == 404
    # Restored by moving it back: the file, its checkpoints and the folder.
    for entry in entries:
        restore(moto_auth, auth_bucket, entry)
    assert (await cm.get("folder/a.txt"))["content"] == "a"
    assert [c["id"] for c in await cm.list_checkpoints("n.ipynb")] == [checkpoint["id"]]
    assert trash_entries(moto_auth, auth_bucket) == {}
    # Non-empty folders go to the trash whatever always_delete_dir says (as upstream).
    cm.always_delete_dir = False
    await cm.delete("folder")
    assert not await cm.dir_exists("folder")


async def test_old_trash_entries_are_swept_on_a_delete_at_most_every_10_minutes(
    cm: JupyterS3, moto_auth: MotoServer, auth_bucket: str
) -> None:
    cm.delete_to_trash = True
    cm.trash_max_age = 86400.0
    s3 = moto_auth.boto3_client()
    old = "20000101T000000Z-0000beef"
    s3.put_object(Bucket=auth_bucket, Key=f"{TRASH}{old}/old/a.txt", Body=b"a")
    s3.put_object(Bucket=auth_bucket, Key=f"{TRASH}{old}/old/b.txt", Body=b"b")
    await cm.save(text("1"), "one.txt")
    await cm.save(text("2"), "two.txt")
    await cm.delete("one.txt")
    entries = trash_entries(moto_auth, auth_bucket)
    assert list(entries.values()) == [["one.txt"]]  # the old entry is gone, the new stays
    s3.put_object(Bucket=auth_bucket, Key=f"{TRASH}{old}/old/a.txt", Body=b"a")
    await cm.delete("two.txt")  # within 10 minutes of the sweep: none
    after = trash_entries(moto_auth, auth_bucket)
    assert old in after and len(after) == 3
    cm.trash_max_age = 0  # never
    cm._trash_swept = None
    await cm.save(text("3"), "three.txt")
    await cm.delete("three.txt")
    assert old in trash_entries(moto_auth, auth_bucket)


async def test_trashing_a_1000_file_folder(moto_auth: MotoServer, auth_bucket: str) -> None:
    proxy = await S3Proxy(moto_auth.endpoint_url).start()
    manager = make_manager(moto_auth, auth_bucket, endpoint_url=proxy.url, delete_to_trash=True)
    try:
        await fill(moto_auth, auth_bucket, ["big/", *(f"big/{i:04}.txt" for i in range(1000))])
        proxy.reset()
        await manager.delete("big")
        [keys] = trash_entries(moto_auth, auth_bucket).values()
        assert len(keys) == 1001 and not await manager.dir_exists("big")
        assert proxy.counts["CopyObject"] == 1001  # server-side, one per object
        assert proxy.counts["DeleteObjects"] == 2  # 1,001 keys
        assert proxy.counts["GetObject"] == proxy.counts["PutObject"] == 0
    finally:
        await manager.close()
        await proxy.stop()


@pytest.fixture(scope="module")
def trashing(moto_auth: MotoServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Jupyter]:
    options = ("--JupyterS3.delete_to_trash=True", "--ContentsManager.allow_hidden=True")
    home = tmp_path_factory.mktemp("trashing")
    with serving(moto_auth, home, prefix=PREFIX, options=options) as server:
        yield server


def test_deleting_to_the_trash_through_the_api(trashing: Jupyter) -> None:
    mkdir(trashing, "folder")
    put(trashing, "folder/a.txt", "a")
    put(trashing, "f.txt", "f")
    assert trashing.call("DELETE", "/api/contents/folder")[0] == 204
    assert trashing.call("DELETE", "/api/contents/f.txt")[0] == 204
    assert trashing.contents("GET", "")[1]["content"] == []
    entries = trash_entries(trashing.moto, trashing.bucket, PREFIX)
    assert sorted(entries.values()) == [["f.txt"], ["folder/", "folder/a.txt"]]
    entry = next(iter(entries))
    assert trashing.contents("GET", ".jupyters3-trash")[0] == 400
    assert trashing.contents("GET", f".jupyters3-trash/{entry}")[0] == 400
    for entry in entries:
        restore(trashing.moto, trashing.bucket, entry, PREFIX)
    assert trashing.contents("GET", "folder/a.txt")[1]["content"] == "a"
    assert trashing.contents("GET", "f.txt")[1]["content"] == "f"
