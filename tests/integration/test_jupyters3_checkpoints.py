"""S3Checkpoints against moto with signature checking on."""

from __future__ import annotations

from datetime import datetime, timezone

from jupyters3 import JupyterS3, S3Checkpoints
from jupyters3.models import utc_seconds
from jupyters3.paths import new_checkpoint_id
from tests.integration.test_jupyters3_fixtures import all_keys, cm, status_of, text
from tests.motoserver import MotoServer

__all__ = ["cm"]


async def test_checkpoints_class_is_async_and_s3(cm: JupyterS3) -> None:
    assert isinstance(cm.checkpoints, S3Checkpoints)


async def test_create_list_restore(cm: JupyterS3, moto_auth: MotoServer, auth_bucket: str) -> None:
    await cm.save(text("v1"), "f.txt")
    assert await cm.list_checkpoints("f.txt") == []  # files get none on save (as upstream)
    first = await cm.create_checkpoint("f.txt")
    assert set(first) == {"id", "last_modified"}
    assert first["last_modified"].tzinfo is not None
    await cm.save(text("v2"), "f.txt")
    second = await cm.create_checkpoint("f.txt")
    await cm.save(text("v3"), "f.txt")

    listed = await cm.list_checkpoints("f.txt")
    # oldest first: Notebook 7 and JupyterLab take the last as the latest
    assert [c["id"] for c in listed] == [first["id"], second["id"]]
    await cm.restore_checkpoint(first["id"], "f.txt")
    assert (await cm.get("f.txt"))["content"] == "v1"
    await cm.restore_checkpoint(second["id"], "f.txt")
    assert (await cm.get("f.txt"))["content"] == "v2"
    # checkpoints never show up in listings
    assert [m["name"] for m in (await cm.get(""))["content"]] == ["f.txt"]
    assert all_keys(moto_auth, auth_bucket) == sorted(
        ["f.txt"] + [f"f.txt/.checkpoints/{c['id']}" for c in listed]
    )


async def test_prune_keeps_the_newest(cm: JupyterS3) -> None:
    cm.max_checkpoints = 3
    await cm.new(path="n.ipynb")  # first checkpoint
    made = [(await cm.list_checkpoints("n.ipynb"))[0]["id"]]
    for _ in range(4):
        made.append((await cm.create_checkpoint("n.ipynb"))["id"])
    assert [c["id"] for c in await cm.list_checkpoints("n.ipynb")] == made[-3:]


async def test_delete_checkpoint(cm: JupyterS3) -> None:
    await cm.new(path="n.ipynb")
    [cp] = await cm.list_checkpoints("n.ipynb")
    await cm.delete_checkpoint(cp["id"], "n.ipynb")
    assert await cm.list_checkpoints("n.ipynb") == []
    assert await status_of(cm.delete_checkpoint(cp["id"], "n.ipynb")) == 404
    assert await status_of(cm.restore_checkpoint(cp["id"], "n.ipynb")) == 404
    for bad in ("../../x", "a/b", "", ".hidden"):
        assert await status_of(cm.restore_checkpoint(bad, "n.ipynb")) == 404
        assert await status_of(cm.delete_checkpoint(bad, "n.ipynb")) == 404
    assert await status_of(cm.create_checkpoint("missing.txt")) == 404
    assert await status_of(cm.list_checkpoints("")) == 400


async def test_rename_and_delete_move_checkpoints(
    cm: JupyterS3, moto_auth: MotoServer, auth_bucket: str
) -> None:
    await cm.new(path="a.ipynb")
    await cm.create_checkpoint("a.ipynb")
    ids = [c["id"] for c in await cm.list_checkpoints("a.ipynb")]
    await cm.rename("a.ipynb", "b.ipynb")
    assert [c["id"] for c in await cm.list_checkpoints("b.ipynb")] == ids
    assert await cm.list_checkpoints("a.ipynb") == []
    await cm.checkpoints.rename_checkpoint(ids[0], "b.ipynb", "c.ipynb")
    assert [c["id"] for c in await cm.list_checkpoints("c.ipynb")] == ids[:1]
    await cm.delete("b.ipynb")
    await cm.checkpoints.delete_all_checkpoints("c.ipynb")
    assert all_keys(moto_auth, auth_bucket) == []


async def test_checkpoints_in_a_renamed_folder_follow(cm: JupyterS3) -> None:
    await cm.new(model={"type": "directory"}, path="d")
    await cm.new(path="d/n.ipynb")
    [cp] = await cm.list_checkpoints("d/n.ipynb")
    await cm.rename("d", "e")
    assert [c["id"] for c in await cm.list_checkpoints("e/n.ipynb")] == [cp["id"]]
    await cm.restore_checkpoint(cp["id"], "e/n.ipynb")


async def test_a_checkpoint_keeps_the_time_it_was_taken_through_renames(
    cm: JupyterS3, moto_auth: MotoServer, auth_bucket: str
) -> None:
    await cm.new(model={"type": "directory"}, path="d")
    await cm.save(text("v1"), "d/f.txt")
    start = utc_seconds(datetime.now(timezone.utc))  # models have times to the second
    made = await cm.create_checkpoint("d/f.txt")
    assert start <= made["last_modified"] <= datetime.now(timezone.utc)
    # one taken in 2020 (by an earlier server): its object is new, its id is not
    taken = datetime(2020, 1, 2, 3, 4, 5, 678901, tzinfo=timezone.utc)
    old_id = new_checkpoint_id(taken, 1)
    moto_auth.boto3_client().put_object(
        Bucket=auth_bucket, Key=f"d/f.txt/.checkpoints/{old_id}", Body=b"v0"
    )
    before = await cm.list_checkpoints("d/f.txt")
    assert before == [{"id": old_id, "last_modified": utc_seconds(taken)}, made]

    # server-side copies give every checkpoint object a new LastModified
    await cm.rename("d/f.txt", "d/g.txt")
    assert await cm.list_checkpoints("d/g.txt") == before
    await cm.rename("d", "e")
    assert await cm.list_checkpoints("e/g.txt") == before
    await cm.restore_checkpoint(old_id, "e/g.txt")
    assert (await cm.get("e/g.txt"))["content"] == "v0"
