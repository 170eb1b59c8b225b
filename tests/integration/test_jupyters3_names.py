"""Unicode and special-character names, end to end through S3 keys.

Against the plain moto server: its signature-checking mode wrongly rejects
keys with characters outside [A-Za-z0-9/._~ -] (a moto bug, not ours).
"""

from __future__ import annotations

import base64

import pytest

from jupyters3 import JupyterS3
from tests.integration.test_jupyters3_fixtures import all_keys, plain_cm
from tests.motoserver import MotoServer

__all__ = ["plain_cm"]

NAMES = [
    "with spaces.txt",
    "plus+sign.txt",
    "per%cent%20.txt",
    "hash#tag.txt",
    "question?.txt",
    "amp&ersand=1.txt",
    "émoji 🎉 ünïcødé.txt",
    "日本語のファイル.ipynb",
    "semi;colon,comma'quote\"(paren)[br]{b}!@$^*.txt",
    "~tilde.txt",
]


@pytest.mark.parametrize("name", NAMES)
async def test_special_names_round_trip(
    plain_cm: JupyterS3, moto: MotoServer, bucket: str, name: str
) -> None:
    cm = plain_cm
    folder = "dir " + name.rsplit(".", 1)[0]
    await cm.save({"type": "directory"}, folder)
    path = f"{folder}/{name}"
    if name.endswith(".ipynb"):
        await cm.new(path=path)
    else:
        await cm.save({"type": "file", "format": "text", "content": name}, path)
    keys = all_keys(moto, bucket)
    assert f"{folder}/" in keys and path in keys  # the API path is the key, verbatim
    listing = await cm.get(folder)
    assert [m["path"] for m in listing["content"]] == [path]
    got = await cm.get(path)
    assert got["name"] == name
    if not name.endswith(".ipynb"):
        assert got["content"] == name
    cp = await cm.create_checkpoint(path)
    assert cp["id"] in [c["id"] for c in await cm.list_checkpoints(path)]

    copied = await cm.copy(path)
    assert "-Copy1" in copied["name"]
    await cm.rename(path, f"{folder}/renamed {name}")
    assert not await cm.file_exists(path)
    assert (await cm.list_checkpoints(f"{folder}/renamed {name}"))[-1]["id"] == cp["id"]
    await cm.rename(folder, folder + " moved")
    assert await cm.file_exists(f"{folder} moved/renamed {name}")
    cm.always_delete_dir = True
    await cm.delete(folder + " moved")
    assert all_keys(moto, bucket) == []


async def test_binary_name_with_everything(plain_cm: JupyterS3) -> None:
    name = "a b+c%d#e?f&g=h 🎉.bin"
    data = bytes(range(256))
    await plain_cm.save(
        {"type": "file", "format": "base64", "content": base64.b64encode(data).decode()}, name
    )
    got = await plain_cm.get(name)
    assert base64.b64decode(got["content"]) == data
    [entry] = (await plain_cm.get(""))["content"]
    assert entry["name"] == name
