"""JupyterS3's contents contract against moto with signature checking on."""

from __future__ import annotations

import base64
import hashlib
import json

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output
from tornado.web import HTTPError

from jupyters3 import JupyterS3
from tests.integration.test_jupyters3_fixtures import (
    all_keys,
    auth_proxy,
    cm,
    make_manager,
    status_of,
    text,
)
from tests.motoserver import MotoServer

__all__ = ["auth_proxy", "cm"]  # fixtures used here


async def test_empty_root(cm: JupyterS3) -> None:
    model = await cm.get("")
    assert model["type"] == "directory"
    assert model["content"] == []
    assert model["format"] == "json"
    assert await cm.dir_exists("")
    assert not await cm.file_exists("")
    assert await cm.exists("")


async def test_new_untitled_names_like_jupyter_server(cm: JupyterS3) -> None:
    names = [
        (await cm.new_untitled(type="notebook"))["path"],
        (await cm.new_untitled(type="notebook"))["path"],
        (await cm.new_untitled(ext=".ipynb"))["path"],
        (await cm.new_untitled(type="file"))["path"],
        (await cm.new_untitled(type="file", ext=".txt"))["path"],
        (await cm.new_untitled(type="directory"))["path"],
        (await cm.new_untitled(type="directory"))["path"],
    ]
    assert names == [
        "Untitled.ipynb",
        "Untitled1.ipynb",
        "Untitled2.ipynb",
        "untitled",
        "untitled.txt",
        "Untitled Folder",
        "Untitled Folder 1",
    ]
    inner = await cm.new_untitled(path="Untitled Folder", type="notebook")
    assert inner["path"] == "Untitled Folder/Untitled.ipynb"
    assert await status_of(cm.new_untitled(path="missing", type="file")) == 404
    assert await status_of(cm.new_untitled(type="bogus")) == 400


async def test_notebook_round_trip_with_first_checkpoint(cm: JupyterS3) -> None:
    nb = new_notebook(cells=[new_markdown_cell("# Title"), new_code_cell("1 + 1")])
    saved = await cm.save({"type": "notebook", "content": nb}, "nb.ipynb")
    assert saved["type"] == "notebook"
    assert saved["content"] is None and saved["format"] is None
    assert saved["size"] > 0
    assert saved["last_modified"].tzinfo is not None
    assert "message" not in saved
    checkpoints = await cm.list_checkpoints("nb.ipynb")
    assert len(checkpoints) == 1  # the first save makes one, as upstream

    got = await cm.get("nb.ipynb")
    assert got["format"] == "json"
    assert got["mimetype"] is None
    assert got["content"].cells[0].source == "# Title"
    assert got["last_modified"] == saved["last_modified"]

    nb.cells.append(new_code_cell("2"))
    await cm.save({"type": "notebook", "content": nb}, "nb.ipynb")
    assert len(await cm.list_checkpoints("nb.ipynb")) == 1  # later saves do not
    assert len((await cm.get("nb.ipynb"))["content"].cells) == 3


async def test_notebook_trust(cm: JupyterS3, moto_auth: MotoServer, auth_bucket: str) -> None:
    cell = new_code_cell("x", outputs=[new_output("display_data", {"text/html": "<b>x</b>"})])
    foreign = nbformat.writes(new_notebook(cells=[cell]))
    moto_auth.boto3_client().put_object(Bucket=auth_bucket, Key="f.ipynb", Body=foreign.encode())
    got = await cm.get("f.ipynb")
    assert got["content"].cells[0].metadata.get("trusted") is False

    await cm.trust_notebook("f.ipynb")
    got = await cm.get("f.ipynb")
    assert got["content"].cells[0].metadata.get("trusted") is True
    # saving a trusted notebook signs it: still trusted when read back
    await cm.save({"type": "notebook", "content": got["content"]}, "f.ipynb")
    assert (await cm.get("f.ipynb"))["content"].cells[0].metadata.get("trusted") is True


async def test_invalid_notebooks(cm: JupyterS3, moto_auth: MotoServer, auth_bucket: str) -> None:
    bad = new_notebook()
    bad["cells"] = [
        {"id": "c1", "cell_type": "markdown", "source": "x", "metadata": {}, "bogus": 1}
    ]
    saved = await cm.save({"type": "notebook", "content": bad}, "bad.ipynb")
    assert saved["message"].startswith("Notebook validation failed")
    moto_auth.boto3_client().put_object(Bucket=auth_bucket, Key="junk.ipynb", Body=b"{not json")
    assert await status_of(cm.get("junk.ipynb")) == 400
    assert (await cm.get("junk.ipynb", type="file"))["content"] == "{not json"
    assert await status_of(cm.save({"type": "notebook", "content": "nope"}, "x.ipynb")) == 400


async def test_text_and_binary_files(cm: JupyterS3) -> None:
    await cm.save(text("héllo\n"), "a.txt")
    got = await cm.get("a.txt")
    assert (got["content"], got["format"], got["mimetype"]) == ("héllo\n", "text", "text/plain")
    assert got["size"] == len("héllo\n".encode())

    blob = bytes(range(256)) * 4
    b64 = base64.b64encode(blob).decode()
    await cm.save({"type": "file", "format": "base64", "content": b64}, "blob.bin")
    got = await cm.get("blob.bin")
    assert got["format"] == "base64"
    assert got["mimetype"] == "application/octet-stream"
    assert base64.b64decode(got["content"]) == blob
    assert await status_of(cm.get("blob.bin", format="text")) == 400
    as_b64 = await cm.get("a.txt", format="base64")
    assert base64.b64decode(as_b64["content"]) == "héllo\n".encode()

    # a notebook asked for as a file is text
    await cm.new(path="n.ipynb")
    assert (await cm.get("n.ipynb", type="file"))["format"] == "text"

    no_content = await cm.get("a.txt", content=False)
    assert no_content["content"] is None and no_content["format"] is None


async def test_require_hash(cm: JupyterS3) -> None:
    await cm.save(text("abc"), "h.txt")
    for content in (True, False):
        model = await cm.get("h.txt", content=content, require_hash=True)
        assert model["hash"] == hashlib.sha256(b"abc").hexdigest()
        assert model["hash_algorithm"] == "sha256"
    assert (await cm.get("h.txt"))["hash"] is None


async def test_types_and_missing(cm: JupyterS3) -> None:
    await cm.new(model={"type": "directory"}, path="d")
    await cm.save(text("x"), "f.txt")
    assert await status_of(cm.get("d", type="file")) == 400
    assert await status_of(cm.get("d", type="notebook")) == 400
    assert await status_of(cm.get("f.txt", type="directory")) == 400
    assert await status_of(cm.get("missing")) == 404
    assert await status_of(cm.get("missing", type="directory")) == 404
    assert await status_of(cm.get("d/missing.txt")) == 404
    assert (await cm.get("d"))["type"] == "directory"
    assert await cm.dir_exists("d") and not await cm.file_exists("d")
    assert await cm.file_exists("f.txt") and not await cm.dir_exists("f.txt")


async def test_save_rules(cm: JupyterS3) -> None:
    await cm.new(model={"type": "directory"}, path="d")
    await cm.save(text("x"), "f.txt")
    assert await status_of(cm.save({"content": "x"}, "a.txt")) == 400  # no type
    assert await status_of(cm.save({"type": "file"}, "a.txt")) == 400  # no content
    assert await status_of(cm.save({"type": "file", "content": "x"}, "a.txt")) == 400  # format
    assert await status_of(cm.save({"type": "weird", "content": "x"}, "a.txt")) == 400
    bad64 = {"type": "file", "format": "base64", "content": "@@@"}
    assert await status_of(cm.save(bad64, "a.bin")) == 400
    assert await status_of(cm.save(text("x"), "nowhere/a.txt")) == 404
    assert await status_of(cm.save(text("x"), "d")) == 409  # a folder has that name
    assert await status_of(cm.save({"type": "directory"}, "f.txt")) == 400  # a file has it
    assert await status_of(cm.save(text("x"), "f.txt/inner.txt")) == 404
    assert await status_of(cm.save(text("x"), "")) == 400
    # saving an existing folder again is fine
    assert (await cm.save({"type": "directory"}, "d"))["type"] == "directory"


async def test_save_hooks(moto_auth: MotoServer, auth_bucket: str) -> None:
    seen: list[tuple[str, str]] = []

    def pre(model: dict[str, object], path: str, contents_manager: object, **_: object) -> None:
        seen.append(("pre", path))
        if model["type"] == "file":
            model["content"] = str(model["content"]).upper()

    def post(model: dict[str, object], os_path: str, contents_manager: object) -> None:
        seen.append(("post", os_path))

    cm = make_manager(moto_auth, auth_bucket)
    cm.register_pre_save_hook(pre)
    cm.register_post_save_hook(post)
    await cm.save(text("shout"), "s.txt")
    assert (await cm.get("s.txt"))["content"] == "SHOUT"
    assert seen == [("pre", "s.txt"), ("post", "s.txt")]

    def refuse(model: dict[str, object], path: str, contents_manager: object) -> None:
        raise HTTPError(403, "no saving here")

    cm.register_pre_save_hook(refuse)
    assert await status_of(cm.save(text("x"), "t.txt")) == 403
    assert not await cm.file_exists("t.txt")
    await cm.close()


async def test_hidden_files(cm: JupyterS3, moto_auth: MotoServer, auth_bucket: str) -> None:
    s3 = moto_auth.boto3_client()
    for key in [".hidden", "d/.env", "d/shown.txt", ".dot/inner.txt", "x.pyc", "__pycache__/m.pyc"]:
        s3.put_object(Bucket=auth_bucket, Key=key, Body=b"x")
    assert [m["name"] for m in (await cm.get(""))["content"]] == ["d"]  # hide_globs too
    assert [m["name"] for m in (await cm.get("d"))["content"]] == ["shown.txt"]
    assert await cm.is_hidden(".hidden") and await cm.is_hidden(".dot/inner.txt")
    assert not await cm.is_hidden("d/shown.txt")
    assert await status_of(cm.get(".hidden")) == 404
    assert await status_of(cm.save(text("x"), ".new")) == 400
    assert await status_of(cm.delete(".hidden")) == 400
    assert await status_of(cm.rename("d/shown.txt", "d/.shown")) == 400

    cm.allow_hidden = True
    names = sorted(m["name"] for m in (await cm.get(""))["content"])
    assert names == [".dot", ".hidden", "d"]
    assert (await cm.get(".hidden"))["content"] == "x"
    await cm.save(text("y"), ".new")
    cm.hide_globs = []
    assert "x.pyc" in [m["name"] for m in (await cm.get(""))["content"]]


async def test_delete_rules(cm: JupyterS3, moto_auth: MotoServer, auth_bucket: str) -> None:
    await cm.new(path="nb.ipynb")
    await cm.create_checkpoint("nb.ipynb")
    assert len(await cm.list_checkpoints("nb.ipynb")) == 2
    await cm.delete("nb.ipynb")
    assert all_keys(moto_auth, auth_bucket) == []  # file and its checkpoints

    await cm.new(model={"type": "directory"}, path="empty")
    await cm.delete("empty")
    assert not await cm.dir_exists("empty")

    await cm.new(model={"type": "directory"}, path="full")
    await cm.new(path="full/n.ipynb")
    cm.always_delete_dir = False
    assert await status_of(cm.delete("full")) == 400  # not empty, as upstream without trash
    assert await status_of(cm.delete("missing")) == 404
    assert await status_of(cm.delete("")) == 400
    cm.always_delete_dir = True
    await cm.delete("full")
    assert all_keys(moto_auth, auth_bucket) == []


async def test_folder_with_only_leftover_checkpoints_counts_as_empty(
    cm: JupyterS3, moto_auth: MotoServer, auth_bucket: str
) -> None:
    s3 = moto_auth.boto3_client()
    s3.put_object(Bucket=auth_bucket, Key="d/", Body=b"")
    s3.put_object(Bucket=auth_bucket, Key="d/.checkpoints/1", Body=b"")  # of a file named "d"
    s3.put_object(Bucket=auth_bucket, Key="d/.s3keep", Body=b"")
    assert (await cm.get("d"))["content"] == []
    await cm.delete("d")
    assert all_keys(moto_auth, auth_bucket) == []


async def test_rename_file_moves_checkpoints(
    cm: JupyterS3, moto_auth: MotoServer, auth_bucket: str
) -> None:
    await cm.new(path="a.ipynb")
    [cp] = await cm.list_checkpoints("a.ipynb")
    await cm.new(model={"type": "directory"}, path="d")
    await cm.update({"path": "d/b.ipynb"}, "a.ipynb")
    assert not await cm.file_exists("a.ipynb")
    assert (await cm.get("d/b.ipynb"))["type"] == "notebook"
    assert [c["id"] for c in await cm.list_checkpoints("d/b.ipynb")] == [cp["id"]]
    assert await cm.list_checkpoints("a.ipynb") == []
    assert all_keys(moto_auth, auth_bucket) == [
        "d/",
        "d/b.ipynb",
        f"d/b.ipynb/.checkpoints/{cp['id']}",
    ]


async def test_rename_rules(cm: JupyterS3) -> None:
    await cm.save(text("1"), "one.txt")
    await cm.save(text("2"), "two.txt")
    await cm.new(model={"type": "directory"}, path="d")
    assert await status_of(cm.rename("one.txt", "two.txt")) == 409
    assert await status_of(cm.rename("one.txt", "d")) == 409
    assert await status_of(cm.rename("missing", "x")) == 404
    assert await status_of(cm.rename("one.txt", "nowhere/one.txt")) == 404
    assert await status_of(cm.rename("d", "d/inner")) == 400
    assert await status_of(cm.rename("one.txt", "../escape")) == 400
    assert await status_of(cm.rename("", "x")) == 400
    await cm.rename("one.txt", "one.txt")  # no-op, as upstream
    assert (await cm.get("one.txt"))["content"] == "1"


async def test_rename_folder(cm: JupyterS3, moto_auth: MotoServer, auth_bucket: str) -> None:
    await cm.new(model={"type": "directory"}, path="src")
    await cm.new(model={"type": "directory"}, path="src/sub")
    await cm.new(path="src/sub/n.ipynb")
    await cm.save(text("t"), "src/t.txt")
    before = all_keys(moto_auth, auth_bucket)
    await cm.rename("src", "dst")
    after = all_keys(moto_auth, auth_bucket)
    assert after == sorted("dst" + k[3:] for k in before)
    assert (await cm.get("dst/t.txt"))["content"] == "t"
    assert len(await cm.list_checkpoints("dst/sub/n.ipynb")) == 1


async def test_copy_files_server_side(cm: JupyterS3, moto_auth: MotoServer, auth_proxy) -> None:  # type: ignore[no-untyped-def]
    await cm.save(text("data"), "a.txt")
    await cm.new(path="n.ipynb")
    await cm.new(model={"type": "directory"}, path="d")
    assert (await cm.copy("a.txt"))["path"] == "a-Copy1.txt"
    assert (await cm.copy("a-Copy1.txt"))["path"] == "a-Copy2.txt"
    assert (await cm.copy("a.txt", "d"))["path"] == "d/a.txt"
    assert (await cm.copy("a.txt", "d/b.txt"))["path"] == "d/b.txt"
    copied = await cm.copy("n.ipynb")
    assert copied["path"] == "n-Copy1.ipynb" and copied["type"] == "notebook"
    assert len(await cm.list_checkpoints("n-Copy1.ipynb")) == 1
    assert (await cm.get("d/b.txt"))["content"] == "data"
    assert await status_of(cm.copy("missing.txt")) == 404
    assert await status_of(cm.copy("a.txt", "nowhere/x.txt")) == 404

    via_proxy = make_manager(moto_auth, cm.bucket, endpoint_url=auth_proxy.url)
    auth_proxy.reset()
    await via_proxy.copy("a.txt")
    assert auth_proxy.counts["CopyObject"] == 1 and auth_proxy.counts["GetObject"] == 0
    # the one write is the claim of the new name: empty, and only if the name is free
    claims = [h for h in auth_proxy.headers if h.get("if-none-match") == "*"]
    assert auth_proxy.counts["PutObject"] == 1 and len(claims) == 1
    assert claims[0].get("content-length") == "0"
    await via_proxy.close()


async def test_copy_folder(cm: JupyterS3, moto_auth: MotoServer, auth_bucket: str) -> None:
    await cm.new(model={"type": "directory"}, path="F")
    await cm.new(path="F/n.ipynb")
    await cm.save(text("x"), "F/x.txt")
    copied = await cm.copy("F")
    assert copied["path"] == "F-Copy1" and copied["type"] == "directory"
    assert sorted(m["name"] for m in (await cm.get("F-Copy1"))["content"]) == ["n.ipynb", "x.txt"]
    assert (await cm.get("F-Copy1/x.txt"))["content"] == "x"
    assert (await cm.copy("F"))["path"] == "F-Copy2"
    await cm.new(model={"type": "directory"}, path="G")
    assert (await cm.copy("F", "G"))["path"] == "G/F"
    assert await status_of(cm.copy("F", "F")) == 400
    keys = all_keys(moto_auth, auth_bucket)
    assert sum(k.startswith("F/") for k in keys) == sum(k.startswith("G/F/") for k in keys)


async def test_other_tools_layouts(cm: JupyterS3, moto_auth: MotoServer, auth_bucket: str) -> None:
    s3 = moto_auth.boto3_client()
    for key in [
        "implicit/file.txt",  # a folder without a marker object
        "s3c/.s3keep",  # an empty s3contents folder
        "s3c/sub/.s3keep",
        "nb.ipynb",
        "nb.ipynb/.checkpoints/1546300800000000",  # old jupyters3 checkpoint of nb.ipynb
        "folder.ipynb/inside.txt",  # a folder that is named like a notebook
        "both",
        "both/x",  # a file and a folder with one name: the file wins
    ]:
        s3.put_object(Bucket=auth_bucket, Key=key, Body=b"{}" if key == "nb.ipynb" else b"x")
    listing = {m["name"]: m["type"] for m in (await cm.get(""))["content"]}
    assert listing == {
        "implicit": "directory",
        "s3c": "directory",
        "nb.ipynb": "notebook",
        "folder.ipynb": "directory",
        "both": "file",
    }
    assert [m["name"] for m in (await cm.get("s3c"))["content"]] == ["sub"]
    assert (await cm.get("s3c/sub"))["content"] == []
    assert (await cm.get("folder.ipynb"))["type"] == "directory"
    assert [c["id"] for c in await cm.list_checkpoints("nb.ipynb")] == ["1546300800000000"]
    assert not await cm.dir_exists("nb.ipynb")
    assert await cm.dir_exists("s3c/sub")
    # a folder's own marker gives it a time; implicit folders show the epoch
    assert (await cm.get("implicit"))["last_modified"].year == 1970


async def test_prefix_keeps_everything_under_it(moto_auth: MotoServer, auth_bucket: str) -> None:
    s3 = moto_auth.boto3_client()
    s3.put_object(Bucket=auth_bucket, Key="other-user/secret.txt", Body=b"no")
    s3.put_object(Bucket=auth_bucket, Key="home/u1x/nope.txt", Body=b"no")
    cm = make_manager(moto_auth, auth_bucket, prefix="/home/u1")
    assert cm.prefix == "home/u1/"
    assert (await cm.get(""))["content"] == []
    await cm.new(path="n.ipynb")
    await cm.new_untitled(type="directory")
    await cm.rename("n.ipynb", "Untitled Folder/n.ipynb")
    keys = all_keys(moto_auth, auth_bucket)
    mine = [k for k in keys if k.startswith("home/u1/")]
    assert len(mine) == 3
    assert sorted(set(keys) - set(mine)) == ["home/u1x/nope.txt", "other-user/secret.txt"]
    await cm.close()


@pytest.mark.parametrize(
    "path",
    ["../other-user/secret.txt", "a/../../x", "a\\..\\x", "a\x00b", "C:/x", "d/.checkpoints/1"],
)
async def test_escaping_paths_are_refused_without_s3_calls(
    moto_auth: MotoServer,
    auth_bucket: str,
    auth_proxy,
    path: str,  # type: ignore[no-untyped-def]
) -> None:
    cm = make_manager(moto_auth, auth_bucket, endpoint_url=auth_proxy.url, prefix="home/u1/")
    auth_proxy.reset()
    for call in (
        cm.get(path),
        cm.save(text("x"), path),
        cm.delete(path),
        cm.rename("a.txt", path),
        cm.copy(path),
        cm.file_exists(path),
        cm.dir_exists(path),
        cm.new_untitled(path=path),
        cm.list_checkpoints(path),
        cm.create_checkpoint(path),
    ):
        with pytest.raises(HTTPError) as e:
            await call
        assert e.value.status_code == 400
        assert "invalid path" in str(e.value.log_message)
    assert auth_proxy.total == 0
    await cm.close()


async def test_models_match_what_jupyter_checks(cm: JupyterS3) -> None:
    from jupyter_server.services.contents.handlers import validate_model

    await cm.save(text("x"), "a.txt")
    await cm.new(path="n.ipynb")
    await cm.new(model={"type": "directory"}, path="d")
    for path in ("", "a.txt", "n.ipynb", "d"):
        validate_model(await cm.get(path), expect_content=True)
        validate_model(await cm.get(path, content=False), expect_content=False)
    validate_model(await cm.get("a.txt", require_hash=True), expect_content=True, expect_hash=True)
    # what the contents handler serialises
    assert json.loads(json.dumps(await cm.get(""), default=str))["type"] == "directory"
