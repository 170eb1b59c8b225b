"""Nothing lost: races and half-failures, opened at exact points by the fault proxy.

Each test holds or fails chosen S3 requests (tests/faultproxy.py) in front of a
real S3 server, then checks what S3 holds afterwards.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from tornado.web import HTTPError

from jupyters3 import JupyterS3
from tests.faultproxy import ProxiedRequest, S3Proxy
from tests.integration.test_jupyters3_fixtures import (
    all_keys,
    auth_proxy,
    content_of,
    error_of,
    notebook,
    pcm,
    text,
)
from tests.motoserver import MotoServer

__all__ = ["auth_proxy", "pcm"]


def kind(name: str) -> Callable[[ProxiedRequest], bool]:
    return lambda r: r.kind == name


# -- renames racing saves ------------------------------------------------------


async def test_save_into_a_folder_being_renamed_is_not_lost(
    pcm: JupyterS3, auth_proxy: S3Proxy, moto_auth: MotoServer, auth_bucket: str
) -> None:
    """A file saved into the old folder while the rename copies (a new one, and
    a changed one) ends up in the new folder, and nothing is left behind."""
    await pcm.save({"type": "directory"}, "src")
    for i in range(4):
        await pcm.save(text(f"v{i}"), f"src/f{i}.txt")
    held = auth_proxy.hold_next(lambda r: r.kind == "CopyObject" and r.key.endswith("f3.txt"))
    rename = asyncio.ensure_future(pcm.rename("src", "dst"))
    await held.arrived()  # the rename has listed src and is copying
    await pcm.save(text("late"), "src/late.txt")
    await pcm.save(text("changed"), "src/f0.txt")
    held.release()
    await rename
    assert await content_of(pcm, "dst/late.txt") == "late"
    assert await content_of(pcm, "dst/f0.txt") == "changed"
    assert all_keys(moto_auth, auth_bucket, "src") == []


@pytest.mark.moto_only("a conditional DeleteObject (If-Match), which Ceph RGW 16 ignores")
async def test_notebook_saved_while_being_renamed_is_not_lost(
    pcm: JupyterS3, auth_proxy: S3Proxy, moto_auth: MotoServer, auth_bucket: str
) -> None:
    await pcm.save(notebook("v1"), "a.ipynb")
    held = auth_proxy.hold_next(lambda r: r.kind == "DeleteObject" and r.key == "a.ipynb")
    rename = asyncio.ensure_future(pcm.rename("a.ipynb", "b.ipynb"))
    await held.arrived()  # copied, about to delete the old name
    await pcm.save(notebook("v2"), "a.ipynb")  # a save from a tab still at the old name
    held.release()
    await rename
    assert await content_of(pcm, "b.ipynb") == "v2"
    assert await content_of(pcm, "a.ipynb") is None


# -- checkpoints belong to their file ---------------------------------------------


async def test_new_notebook_does_not_inherit_orphaned_checkpoints(
    pcm: JupyterS3, moto_auth: MotoServer, auth_bucket: str
) -> None:
    """Checkpoints left at a name (by an older version, another tool, or a failed
    cleanup) are not the checkpoints of a new file saved there."""
    await pcm.save(notebook("old"), "n.ipynb")
    old = await pcm.create_checkpoint("n.ipynb")
    moto_auth.boto3_client().delete_object(Bucket=auth_bucket, Key="n.ipynb")  # orphaned
    await pcm.save(notebook("new"), "n.ipynb")
    ids = [c["id"] for c in await pcm.list_checkpoints("n.ipynb")]
    assert old["id"] not in ids and len(ids) == 1
    await pcm.restore_checkpoint(ids[0], "n.ipynb")
    assert await content_of(pcm, "n.ipynb") == "new"


async def test_failed_delete_leaves_no_orphans_and_its_retry_finishes(
    pcm: JupyterS3, auth_proxy: S3Proxy, moto_auth: MotoServer, auth_bucket: str
) -> None:
    await pcm.save(notebook("old"), "d.ipynb")
    await pcm.create_checkpoint("d.ipynb")
    auth_proxy.slow_down(20, kind("DeleteObjects"))
    error = await error_of(pcm.delete("d.ipynb"))
    assert error.status_code in (500, 503)
    auth_proxy.clear_faults()
    # the file was not deleted without its checkpoints: it is still a file, not a folder
    listing = {m["name"]: m["type"] for m in (await pcm.get(""))["content"]}
    assert listing == {"d.ipynb": "notebook"}
    await pcm.delete("d.ipynb")
    assert all_keys(moto_auth, auth_bucket) == []


async def test_failed_rename_leaves_no_phantom_folder_and_its_retry_finishes(
    pcm: JupyterS3, auth_proxy: S3Proxy, moto_auth: MotoServer, auth_bucket: str
) -> None:
    await pcm.save(notebook("x"), "p.ipynb")
    auth_proxy.slow_down(20, lambda r: r.kind == "CopyObject" and ".checkpoints/" in r.key)
    await error_of(pcm.rename("p.ipynb", "q.ipynb"))
    auth_proxy.clear_faults()
    listing = {m["name"]: m["type"] for m in (await pcm.get(""))["content"]}
    assert "directory" not in listing.values()
    await pcm.rename("p.ipynb", "q.ipynb")
    assert await content_of(pcm, "q.ipynb") == "x"
    assert len(await pcm.list_checkpoints("q.ipynb")) == 1
    assert [k for k in all_keys(moto_auth, auth_bucket) if k.startswith("p.ipynb")] == []


async def test_leftover_checkpoints_are_no_folder_and_delete_clears_them(
    pcm: JupyterS3, moto_auth: MotoServer, auth_bucket: str
) -> None:
    moto_auth.boto3_client().put_object(
        Bucket=auth_bucket, Key="g.txt/.checkpoints/20200101T000000000000Z-0000", Body=b"o"
    )
    assert not await pcm.dir_exists("g.txt")
    await pcm.delete("g.txt")  # finishes the cleanup someone left undone
    assert all_keys(moto_auth, auth_bucket) == []


# -- half-failed folder renames say where things are, and a retry completes ------


async def test_half_failed_folder_rename_says_exactly_where_things_are(
    pcm: JupyterS3, auth_proxy: S3Proxy, moto_auth: MotoServer, auth_bucket: str
) -> None:
    await pcm.save({"type": "directory"}, "old")
    for i in range(5):
        await pcm.save(text(str(i)), f"old/f{i}.txt")
    auth_proxy.slow_down(20, kind("DeleteObjects"))
    error = await error_of(pcm.rename("old", "new"))
    message = str(error.log_message)
    assert "copied to new" in message and "6 of 6 old objects are still at old" in message
    auth_proxy.clear_faults()
    await pcm.rename("old", "new")  # the retry completes the rename
    assert all_keys(moto_auth, auth_bucket, "old") == []
    assert [await content_of(pcm, f"new/f{i}.txt") for i in range(5)] == list("01234")


async def test_folder_rename_deletes_each_old_key_only_as_copied(
    pcm: JupyterS3, auth_proxy: S3Proxy, moto_auth: MotoServer, auth_bucket: str
) -> None:
    """The batched delete names each old key with the ETag it was copied with (so
    S3 keeps a file saved after the last listing), and the server accepts that."""
    await pcm.save({"type": "directory"}, "old")
    for i in range(3):
        await pcm.save(text(str(i)), f"old/f{i}.txt")
    await pcm.rename("old", "new")
    [delete] = [r for r in auth_proxy.requests if r.kind == "DeleteObjects"]
    assert delete.body.count(b"<ETag>&quot;") == 4  # the marker and three files
    assert all_keys(moto_auth, auth_bucket, "old") == []
    assert [await content_of(pcm, f"new/f{i}.txt") for i in range(3)] == list("012")


async def test_key_a_conditional_delete_refuses_is_reported_as_still_there(
    pcm: JupyterS3, auth_proxy: S3Proxy, moto_auth: MotoServer, auth_bucket: str
) -> None:
    """Keys DeleteObjects answers PreconditionFailed for (saved after the last
    listing) stay like any undeleted key: no success claimed, and (here nothing
    changed) the same rename again finishes."""
    await pcm.save({"type": "directory"}, "old")
    for i in range(2):
        await pcm.save(text(str(i)), f"old/f{i}.txt")
    auth_proxy.refuse_deletes(code="PreconditionFailed")  # as AWS, were all saved since
    error = await error_of(pcm.rename("old", "new"))
    message = str(error.log_message)
    assert error.status_code == 500
    assert "3 of 3 old objects are still at old" in message
    assert ": PreconditionFailed" in message
    await pcm.rename("old", "new")  # the retry completes the rename
    assert all_keys(moto_auth, auth_bucket, "old") == []
    assert [await content_of(pcm, f"new/f{i}.txt") for i in range(2)] == list("01")


async def test_folder_copy_whose_answer_was_lost_is_removed_too(
    pcm: JupyterS3, auth_proxy: S3Proxy, moto_auth: MotoServer, auth_bucket: str
) -> None:
    """A copy S3 applied but whose answer never came back is part of the partial
    copy: removed with it, or named in the error."""
    await pcm.save({"type": "directory"}, "s")
    for i in range(3):
        await pcm.save(text(str(i)), f"s/f{i}.txt")
    auth_proxy.reset_after(lambda r: r.kind == "CopyObject" and r.key == "t/f1.txt", times=20)
    error = await error_of(pcm.rename("s", "t"))
    assert "s is unchanged" in str(error.log_message)
    assert all_keys(moto_auth, auth_bucket, "t") == []
    assert len(all_keys(moto_auth, auth_bucket, "s/")) == 4


# -- names are claimed atomically -------------------------------------------------


@pytest.mark.parametrize("type_", ["notebook", "file", "directory"])
async def test_new_untitled_claims_its_name_atomically(
    pcm: JupyterS3, auth_proxy: S3Proxy, type_: str
) -> None:
    """The first "New" has chosen its name and is writing (held); a second one
    chooses the same name and writes it first. The first must not overwrite it."""
    held = auth_proxy.hold_next(kind("PutObject"))
    first = asyncio.ensure_future(pcm.new_untitled(type=type_))
    await held.arrived()
    second = await pcm.new_untitled(type=type_)
    held.release()
    paths = [(await first)["path"], second["path"]]
    assert len(set(paths)) == 2, paths
    listing = (await pcm.get(""))["content"]
    assert sorted(m["path"] for m in listing) == sorted(paths)


async def test_file_and_folder_of_one_name_created_at_once_never_both_exist(
    pcm: JupyterS3, auth_proxy: S3Proxy
) -> None:
    held = auth_proxy.hold_next(kind("PutObject"), times=2)
    both = asyncio.gather(
        pcm.save(text("f"), "x"), pcm.save({"type": "directory"}, "x"), return_exceptions=True
    )
    await held.arrived()
    while len(held.requests) < 2:  # both have checked the name and are writing
        await asyncio.sleep(0.01)
    held.release()
    results = await both
    assert not (await pcm.file_exists("x") and await pcm.dir_exists("x"))
    for result in results:
        if isinstance(result, BaseException):
            assert isinstance(result, HTTPError) and result.status_code in (400, 409)
        else:
            assert await pcm.file_exists("x") or await pcm.dir_exists("x")


async def test_a_new_notebook_that_loses_its_name_to_a_folder_takes_its_checkpoint_along(
    pcm: JupyterS3, auth_proxy: S3Proxy, moto_auth: MotoServer, auth_bucket: str
) -> None:
    """A new notebook's first checkpoint is copied while it re-checks its name: a
    folder made there meanwhile wins, and the notebook withdraws with its checkpoint
    (the folder holds nothing of it)."""
    held = auth_proxy.hold_next(lambda r: r.kind in ("ListObjectsV2", "CopyObject"), times=2)
    save = asyncio.ensure_future(pcm.save(notebook("n"), "x.ipynb"))
    await held.arrived()
    while len(held.requests) < 2:  # written; its re-check and checkpoint copy are held
        await asyncio.sleep(0.01)
    moto_auth.boto3_client().put_object(Bucket=auth_bucket, Key="x.ipynb/", Body=b"")
    held.release()
    error = await error_of(save)
    assert error.status_code == 409 and "folder already exists" in str(error.log_message)
    assert all_keys(moto_auth, auth_bucket) == ["x.ipynb/"]
    assert (await pcm.get("x.ipynb"))["type"] == "directory"


async def test_copies_claim_their_names_atomically(pcm: JupyterS3, auth_proxy: S3Proxy) -> None:
    """The first copy has chosen ``a-Copy1.txt`` and is writing (held); a second copy
    chooses the same name and writes it first. The first must take the next name,
    not land on the second's."""
    await pcm.save(text("original"), "a.txt")
    held = auth_proxy.hold_next(lambda r: r.kind in ("PutObject", "CopyObject"))
    first = asyncio.ensure_future(pcm.copy("a.txt", ""))
    await held.arrived()
    second = await pcm.copy("a.txt", "")
    held.release()
    paths = sorted([(await first)["path"], second["path"]])
    assert paths == ["a-Copy1.txt", "a-Copy2.txt"]
    for path in paths:
        assert await content_of(pcm, path) == "original"
    listing = (await pcm.get(""))["content"]
    assert sorted(m["path"] for m in listing) == ["a-Copy1.txt", "a-Copy2.txt", "a.txt"]
