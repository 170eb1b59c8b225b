"""Orphaned checkpoints: ``x/.checkpoints/<id>`` with no file ``x`` and nothing else
under ``x/``, as the old jupyters3 (ids in microseconds since the epoch) or another
tool may have left them. They are no folder: never listed, not openable as one, and
a new file or folder at ``x`` starts without them.
"""

from __future__ import annotations

import pytest
from nbformat.v4 import new_code_cell, new_notebook

from jupyters3 import JupyterS3
from tests.faultproxy import S3Proxy
from tests.integration.test_jupyters3_fixtures import all_keys, auth_proxy, error_of, pcm, text
from tests.motoserver import MotoServer

__all__ = ["auth_proxy", "pcm"]

# the old jupyters3's ids (microseconds since the epoch), this one's, another tool's
IDS = ["1600000000000000", "20200101T000000000000Z-0000", "saved by another tool"]


def orphan(server: MotoServer, bucket: str, key: str) -> None:
    server.boto3_client().put_object(Bucket=bucket, Key=key, Body=b"old checkpoint")


async def names(cm: JupyterS3, path: str = "") -> dict[str, str]:
    return {m["name"]: m["type"] for m in (await cm.get(path))["content"]}


@pytest.mark.parametrize("checkpoint_id", IDS)
async def test_orphaned_checkpoints_are_no_folder(
    pcm: JupyterS3, moto_auth: MotoServer, auth_bucket: str, checkpoint_id: str
) -> None:
    await pcm.save({"type": "directory"}, "d")
    await pcm.save({"type": "directory"}, "d/real")
    moto_auth.boto3_client().put_object(Bucket=auth_bucket, Key="d/by-content/f.txt", Body=b"t")
    await pcm.save({"type": "notebook", "content": new_notebook()}, "d/n.ipynb")
    orphan(moto_auth, auth_bucket, f"d/x/.checkpoints/{checkpoint_id}")
    orphan(moto_auth, auth_bucket, f"d/deep/.checkpoints/{checkpoint_id}")
    orphan(moto_auth, auth_bucket, f"d/deep/.checkpoints/{checkpoint_id}/more")
    expected = {"real": "directory", "by-content": "directory", "n.ipynb": "notebook"}
    assert await names(pcm, "d") == expected
    assert await names(pcm, "d") == expected  # again (a real folder is remembered)
    assert not await pcm.dir_exists("d/x") and not await pcm.file_exists("d/x")
    for type_ in (None, "directory"):
        error = await error_of(pcm.get("d/x", type=type_))
        assert error.status_code == 404
        assert "only checkpoints" in str(error.log_message), error.log_message
    error = await error_of(pcm.rename("d/x", "d/y"))
    assert error.status_code == 404 and "only checkpoints" in str(error.log_message)
    assert all_keys(moto_auth, auth_bucket, "d/y") == []

    await pcm.delete("d/deep")  # a delete clears them, whatever their ids
    assert all_keys(moto_auth, auth_bucket, "d/deep") == []
    assert await names(pcm, "d") == expected


@pytest.mark.parametrize("checkpoint_id", IDS)
async def test_a_new_file_or_folder_there_starts_without_them(
    pcm: JupyterS3, moto_auth: MotoServer, auth_bucket: str, checkpoint_id: str
) -> None:
    for name in ("f.txt", "n.ipynb", "folder", "copy.ipynb"):
        orphan(moto_auth, auth_bucket, f"{name}/.checkpoints/{checkpoint_id}")
    await pcm.save(text("new"), "f.txt")
    assert await pcm.list_checkpoints("f.txt") == []
    nb = new_notebook(cells=[new_code_cell("new")])
    await pcm.save({"type": "notebook", "content": nb}, "n.ipynb")
    assert [c["id"] for c in await pcm.list_checkpoints("n.ipynb")] != [checkpoint_id]
    assert len(await pcm.list_checkpoints("n.ipynb")) == 1
    await pcm.copy("n.ipynb", "copy.ipynb")
    ids = [c["id"] for c in await pcm.list_checkpoints("copy.ipynb")]
    assert len(ids) == 1 and checkpoint_id not in ids
    await pcm.save({"type": "directory"}, "folder")
    assert await names(pcm, "folder") == {}
    assert all_keys(moto_auth, auth_bucket, "folder") == ["folder/"]
    assert await names(pcm) == {
        "f.txt": "file",
        "n.ipynb": "notebook",
        "copy.ipynb": "notebook",
        "folder": "directory",
    }


async def test_a_folder_of_orphans_only_is_empty_and_deletes(
    pcm: JupyterS3, moto_auth: MotoServer, auth_bucket: str
) -> None:
    """A folder holding nothing but an orphan is an empty folder: deletable even
    with always_delete_dir off, and its delete takes the orphans with it."""
    await pcm.save({"type": "directory"}, "e")
    orphan(moto_auth, auth_bucket, f"e/gone.ipynb/.checkpoints/{IDS[0]}")
    assert await names(pcm, "e") == {}
    pcm.always_delete_dir = False
    await pcm.delete("e")
    assert all_keys(moto_auth, auth_bucket) == []


async def test_what_a_listing_costs(
    pcm: JupyterS3, auth_proxy: S3Proxy, moto_auth: MotoServer, auth_bucket: str
) -> None:
    """10 files and 10 sub-folders: the first listing probes each sub-folder once
    (one request each); later listings cost one request, as before."""
    await pcm.save({"type": "directory"}, "w")
    for i in range(10):
        await pcm.save(text(str(i)), f"w/f{i}.txt")
        await pcm.save({"type": "directory"}, f"w/d{i}")
    auth_proxy.reset()
    assert len(await names(pcm, "w")) == 20
    first = dict(auth_proxy.counts)
    auth_proxy.reset()
    assert len(await names(pcm, "w")) == 20
    assert (first, dict(auth_proxy.counts)) == (
        {"GetObject": 1, "ListObjectsV2": 11},
        {"GetObject": 1, "ListObjectsV2": 1},
    )


async def test_a_probe_that_fails_leaves_the_folder_listed(
    pcm: JupyterS3, auth_proxy: S3Proxy, moto_auth: MotoServer, auth_bucket: str
) -> None:
    """The listing is not failed for a probe: the sub-folder stays, probed next time."""
    orphan(moto_auth, auth_bucket, f"x/.checkpoints/{IDS[0]}")
    auth_proxy.slow_down(
        20, lambda r: r.kind == "ListObjectsV2" and r.query.get("prefix") == ["x/"]
    )
    assert await names(pcm) == {"x": "directory"}
    auth_proxy.clear_faults()
    assert await names(pcm) == {}
