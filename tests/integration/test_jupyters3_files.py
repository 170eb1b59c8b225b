"""jupyters3.files against a real S3 server (moto, signatures checked): what notebook
code writes is what the contents manager shows, and paths are confined as the
manager confines them."""

from __future__ import annotations

import asyncio
import errno
import os
from collections.abc import Iterator

import pytest

from jupyters3.files import NotebookFiles
from jupyters3.location import Location
from jupyters3.paths import PathError
from s3lite import Credentials
from s3lite.sync import S3Client
from tests.integration.test_jupyters3_fixtures import S3Proxy, all_keys, auth_proxy, make_manager
from tests.motoserver import REGION, MotoServer

__all__ = ["auth_proxy"]

PREFIX = "users/alice/"
MiB = 1024 * 1024


def files_at(
    server: MotoServer,
    bucket: str,
    cwd: str = "",
    endpoint: str | None = None,
    secret: str | None = None,
) -> NotebookFiles:
    url = endpoint or server.endpoint_url
    creds = Credentials(server.access_key_id, secret or server.secret_access_key)
    return NotebookFiles(
        Location(bucket, PREFIX, cwd, url, REGION), client=S3Client(REGION, url, creds)
    )


@pytest.fixture
def nb(moto_auth: MotoServer, auth_bucket: str) -> Iterator[NotebookFiles]:
    """The files as a notebook in the folder ``sub`` sees them."""
    files = files_at(moto_auth, auth_bucket, "sub")
    yield files
    files.close()


def keys(nb: NotebookFiles, moto_auth: MotoServer) -> list[str]:
    return all_keys(moto_auth, nb.bucket)


async def test_written_files_show_in_the_file_browser(
    nb: NotebookFiles, moto_auth: MotoServer
) -> None:
    await asyncio.to_thread(nb.write_text, "out.csv", "a,b\n1,2\n")
    await asyncio.to_thread(nb.write_bytes, "/top.bin", b"\x00\x01")
    with nb.open("results/run.txt", "w") as f:  # a folder implied by the key
        f.write("done\n")
    nb.write_text("made.ipynb", '{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}')
    cm = make_manager(moto_auth, nb.bucket, prefix=PREFIX)
    try:
        root = await cm.get("", content=True)
        assert {(m["name"], m["type"]) for m in root["content"]} == {
            ("sub", "directory"),
            ("top.bin", "file"),
        }
        sub = await cm.get("sub", content=True)
        assert {(m["name"], m["type"]) for m in sub["content"]} == {
            ("out.csv", "file"),
            ("results", "directory"),
            ("made.ipynb", "notebook"),
        }
        model = await cm.get("sub/out.csv", content=True, format="text")
        assert model["content"] == "a,b\n1,2\n" and model["mimetype"] == "text/csv"
        assert (await cm.get("sub/results/run.txt", format="text"))["content"] == "done\n"
        # and what the file browser writes, notebook code reads
        await cm.save(
            {"type": "file", "format": "text", "content": "from the browser"}, "sub/in.txt"
        )
    finally:
        await cm.close()
    assert nb.read_text("in.txt") == "from the browser"
    assert all(k.startswith(PREFIX) for k in keys(nb, moto_auth))


def test_paths_are_relative_to_the_notebook_folder(
    nb: NotebookFiles, moto_auth: MotoServer
) -> None:
    nb.write_text("here.txt", "1")
    nb.write_text("../up.txt", "2")
    nb.write_text("/abs/x.txt", "3")
    nb.write_text("./a//b/../c.txt", "4")
    assert keys(nb, moto_auth) == [
        f"{PREFIX}abs/x.txt",
        f"{PREFIX}sub/a/c.txt",
        f"{PREFIX}sub/here.txt",
        f"{PREFIX}up.txt",
    ]
    assert nb.getcwd() == "/sub"
    assert nb.url("here.txt") == f"s3://{nb.bucket}/{PREFIX}sub/here.txt"
    nb.chdir("/abs")
    assert nb.read_text("x.txt") == "3" and nb.read_text("../sub/here.txt") == "1"
    with pytest.raises(FileNotFoundError):
        nb.chdir("/nowhere")
    with pytest.raises(NotADirectoryError):
        nb.chdir("x.txt")
    assert nb.getcwd() == "/abs"


@pytest.mark.parametrize(
    "bad",
    ["../../escape.txt", "/../escape.txt", "a\\b", "x/.checkpoints/1", ".s3keep", "a\x00b", "/C:"],
)
def test_paths_outside_the_contents_are_refused_before_any_request(
    nb: NotebookFiles, moto_auth: MotoServer, bad: str
) -> None:
    nb.s3.close()  # any request would now fail with RuntimeError, not PathError
    calls = [
        lambda: nb.write_text(bad, "x"),
        lambda: nb.read_text(bad),
        lambda: nb.exists(bad),
        lambda: nb.remove(bad),
        lambda: nb.open(bad, "w"),
        lambda: nb.listdir(bad),
        lambda: nb.mkdir(bad),
        lambda: nb.glob(bad + "/*"),
    ]
    for call in calls:
        with pytest.raises(PathError):
            call()
    assert keys(nb, moto_auth) == []


def test_listing_exists_glob(nb: NotebookFiles, moto_auth: MotoServer) -> None:
    client = moto_auth.boto3_client()
    for key in [
        "sub/a.csv",
        "sub/b.txt",
        "sub/data/c.csv",
        "sub/data/deep/d.csv",
        "sub/.hidden.csv",
        "sub/empty/",
        "sub/kept/.s3keep",
        "sub/nb.ipynb",
        "sub/nb.ipynb/.checkpoints/x",
        "sub/odd\\name",
    ]:
        client.put_object(Bucket=nb.bucket, Key=PREFIX + key, Body=b"12")
    assert nb.listdir() == [".hidden.csv", "a.csv", "b.txt", "data", "empty", "kept", "nb.ipynb"]
    assert nb.listdir("/") == ["sub"]
    assert [(e.name, e.type, e.size) for e in nb.scandir("data")] == [
        ("c.csv", "file", 2),
        ("deep", "directory", 0),
    ]
    assert nb.exists("a.csv") and nb.exists("data") and nb.exists("empty") and nb.exists("kept")
    assert not nb.exists("nope") and not nb.exists("nb.ipynb/x")
    assert (
        nb.isfile("a.csv") and not nb.isfile("data") and nb.isdir("data") and not nb.isdir("a.csv")
    )
    assert nb.isdir("/") and nb.isdir(".")
    assert nb.glob("*.csv") == ["a.csv"]
    assert nb.glob(".*") == [".hidden.csv"]
    assert nb.glob("**/*.csv") == ["a.csv", "data/c.csv", "data/deep/d.csv"]
    assert nb.glob("data/*") == ["data/c.csv", "data/deep"]
    assert nb.glob("*") == ["a.csv", "b.txt", "data", "empty", "kept", "nb.ipynb"]
    assert nb.glob("*/") == ["data/", "empty/", "kept/"]
    assert nb.glob("**/") == ["data/", "data/deep/", "empty/", "kept/"]
    assert nb.glob("/sub/d?t[a]/*.csv") == ["/sub/data/c.csv"]
    assert nb.glob("../sub/data/**") == [
        "../sub/data/c.csv",
        "../sub/data/deep",
        "../sub/data/deep/d.csv",
    ]
    assert nb.glob("nothing/*") == [] and nb.glob("a.csv") == ["a.csv"] and nb.glob("x*") == []
    with pytest.raises(NotADirectoryError):
        nb.listdir("a.csv")
    with pytest.raises(FileNotFoundError):
        nb.listdir("nope")


def test_streamed_read_seek_and_text(nb: NotebookFiles) -> None:
    blob = os.urandom(3 * MiB + 17)
    nb.write_bytes("blob.bin", blob)
    with nb.open("blob.bin", "rb", buffering=MiB) as f:
        assert f.read(10) == blob[:10]
        assert f.seek(-7, os.SEEK_END) == len(blob) - 7 and f.read() == blob[-7:]
        f.seek(MiB - 3)
        assert f.read(2 * MiB) == blob[MiB - 3 : 3 * MiB - 3] and f.tell() == 3 * MiB - 3
        assert f.read() == blob[3 * MiB - 3 :] and f.read() == b""
        assert f.name == "blob.bin" and f.seekable() and not f.writable()
    nb.write_bytes("lines.txt", "é\r\nb\n".encode())
    with nb.open("lines.txt") as t:
        assert t.readlines() == ["é\n", "b\n"]
    with nb.open("lines.txt", newline="") as t:
        assert t.read() == "é\r\nb\n"
    with nb.open("lines.txt", encoding="latin-1") as t:
        assert t.read(2) == "Ã©"


def test_write_modes(nb: NotebookFiles) -> None:
    with nb.open("log.txt", "w") as f:
        f.write("one\n")
    with nb.open("log.txt", "a") as f:
        f.write("two\n")
    with nb.open("new.txt", "a") as f:
        f.write("fresh")
    assert nb.read_text("log.txt") == "one\ntwo\n" and nb.read_text("new.txt") == "fresh"
    with pytest.raises(FileExistsError), nb.open("log.txt", "x"):
        pass
    with nb.open("only.bin", "xb") as f:
        f.write(b"\x00")
    assert nb.read_bytes("only.bin") == b"\x00"
    for mode in ("r+", "rw", "wb+", "bt", "q", "rr"):
        with pytest.raises(ValueError):
            nb.open("log.txt", mode)
    with pytest.raises(ValueError):
        nb.open("log.txt", "rb", encoding="utf-8")


def test_exclusive_create_loses_to_a_writer_that_came_first(
    nb: NotebookFiles, moto_auth: MotoServer
) -> None:
    """``x`` is checked again when the file is uploaded (``If-None-Match: *``): a file
    written by someone else while ours was open is kept, and ours is refused."""
    other = files_at(moto_auth, nb.bucket, "sub")
    try:
        for mode, ours in (("x", "ours"), ("xb", b"ours")):
            name = f"claimed-{mode}.txt"
            f = nb.open(name, mode)
            f.write(ours)
            other.write_text(name, "theirs")  # through another client, as another kernel
            with pytest.raises(FileExistsError) as raised:
                f.close()
            assert raised.value.errno == errno.EEXIST and nb.bucket in str(raised.value)
            assert nb.read_text(name) == "theirs"
    finally:
        other.close()


def test_a_failed_with_block_uploads_nothing(nb: NotebookFiles) -> None:
    nb.write_text("keep.txt", "old")
    with pytest.raises(KeyError), nb.open("keep.txt", "w") as f:
        f.write("half of the new")
        raise KeyError("midway")
    with pytest.raises(KeyError), nb.open("never.bin", "wb") as f:
        f.write(b"x")
        raise KeyError("midway")
    assert nb.read_text("keep.txt") == "old" and not nb.exists("never.bin")


def test_errors_are_the_ones_os_raises(nb: NotebookFiles) -> None:
    nb.write_text("f.txt", "x")
    nb.mkdir("d")
    cases = [
        (lambda: nb.read_text("missing.txt"), FileNotFoundError),
        (lambda: nb.open("missing.txt"), FileNotFoundError),
        (lambda: nb.read_bytes("d"), IsADirectoryError),
        (lambda: nb.open("d", "rb"), IsADirectoryError),
        (lambda: nb.write_text("d", "x"), IsADirectoryError),
        (lambda: nb.open("d", "w"), IsADirectoryError),
        (lambda: nb.write_text("f.txt/inner", "x"), NotADirectoryError),
        (lambda: nb.remove("d"), IsADirectoryError),
        (lambda: nb.remove("missing.txt"), FileNotFoundError),
        (lambda: nb.mkdir("d"), FileExistsError),
        (lambda: nb.mkdir("f.txt"), FileExistsError),
        (lambda: nb.info("missing"), FileNotFoundError),
        (lambda: nb.open("/"), IsADirectoryError),
    ]
    for call, error in cases:
        with pytest.raises(error) as raised:
            call()
        assert nb.bucket in str(raised.value)  # says where, in S3
    nb.mkdir("d", exist_ok=True)
    assert nb.info("d").type == "directory" and nb.info("d").last_modified is not None


def test_remove_and_rmdir(nb: NotebookFiles, moto_auth: MotoServer) -> None:
    client = moto_auth.boto3_client()
    nb.write_text("nb.ipynb", "{}")
    client.put_object(Bucket=nb.bucket, Key=f"{PREFIX}sub/nb.ipynb/.checkpoints/1", Body=b"{}")
    nb.remove("nb.ipynb")
    assert keys(nb, moto_auth) == []  # its checkpoints too: no phantom folder "nb.ipynb"
    nb.mkdir("d")
    nb.write_text("d/x", "1")
    with pytest.raises(OSError) as raised:
        nb.rmdir("d")
    assert raised.value.errno == errno.ENOTEMPTY
    nb.remove("d/x")
    nb.rmdir("d")
    assert keys(nb, moto_auth) == []


async def test_a_failed_remove_leaves_the_file_and_its_retry_finishes(
    moto_auth: MotoServer, auth_bucket: str, auth_proxy: S3Proxy
) -> None:
    """Checkpoints go first: S3 refusing them leaves the file (no orphans) and says so."""
    nb = files_at(moto_auth, auth_bucket, "sub", endpoint=auth_proxy.url)
    checkpoint = f"{PREFIX}sub/nb.ipynb/.checkpoints/1"
    before = [f"{PREFIX}sub/d/", f"{PREFIX}sub/nb.ipynb", checkpoint]
    try:
        await asyncio.to_thread(nb.write_text, "nb.ipynb", "{}")
        await asyncio.to_thread(nb.mkdir, "d")
        moto_auth.boto3_client().put_object(Bucket=nb.bucket, Key=checkpoint, Body=b"{}")
        for code, error, number in [
            ("AccessDenied", PermissionError, errno.EACCES),
            ("InternalError", OSError, errno.EIO),
        ]:
            auth_proxy.refuse_deletes(code=code)
            with pytest.raises(error) as raised:
                await asyncio.to_thread(nb.remove, "nb.ipynb")
            assert raised.value.errno == number and checkpoint in str(raised.value)
            assert keys(nb, moto_auth) == before
        auth_proxy.refuse_deletes()
        with pytest.raises(PermissionError) as raised:
            await asyncio.to_thread(nb.rmdir, "d")
        assert f"{PREFIX}sub/d/" in str(raised.value) and keys(nb, moto_auth) == before
        await asyncio.to_thread(nb.remove, "nb.ipynb")  # the retry finishes
        await asyncio.to_thread(nb.rmdir, "d")
        assert keys(nb, moto_auth) == []
    finally:
        await asyncio.to_thread(nb.close)


async def test_refused_credentials_are_a_permission_error(
    moto_auth: MotoServer, auth_bucket: str, auth_proxy: S3Proxy
) -> None:
    """Any refusal for the credentials, not only AccessDenied, as the server has it."""
    moto_auth.boto3_client().put_object(Bucket=auth_bucket, Key=f"{PREFIX}x.txt", Body=b"x" * MiB)
    wrong = files_at(moto_auth, auth_bucket, secret="not-the-secret")  # SignatureDoesNotMatch
    calls = [
        lambda: wrong.open("x.txt"),
        lambda: wrong.read_text("x.txt"),
        lambda: wrong.write_text("y.txt", "y"),
        lambda: wrong.listdir(),
        lambda: wrong.remove("x.txt"),
    ]
    try:
        for call in calls:
            with pytest.raises(PermissionError):
                call()
    finally:
        wrong.close()

    nb = files_at(moto_auth, auth_bucket, endpoint=auth_proxy.url)
    try:
        f = await asyncio.to_thread(nb.open, "x.txt", "rb", 1024)
        assert await asyncio.to_thread(f.read, 10) == b"x" * 10
        gets = lambda r: r.kind == "GetObject"  # noqa: E731
        auth_proxy.slow_down(20, gets, status=400, code="ExpiredToken")  # mid-read
        with pytest.raises(PermissionError) as raised:
            await asyncio.to_thread(f.read)
        assert "ExpiredToken" in str(raised.value)
        auth_proxy.clear_faults()
        await asyncio.to_thread(f.close)
    finally:
        await asyncio.to_thread(nb.close)
    assert keys(nb, moto_auth) == [f"{PREFIX}x.txt"]


def test_a_file_changed_while_read_is_an_error(nb: NotebookFiles) -> None:
    nb.write_bytes("moving.bin", b"a" * (2 * MiB))
    with nb.open("moving.bin", "rb", buffering=MiB) as f:
        f.read(10)
        nb.write_bytes("moving.bin", b"b" * (2 * MiB))
        with pytest.raises(OSError) as raised:
            f.read()
    assert raised.value.errno == errno.ESTALE


async def test_range_reads_and_multipart_writes(moto_auth: MotoServer, auth_bucket: str) -> None:
    proxy = await S3Proxy(moto_auth.endpoint_url).start()
    nb = files_at(moto_auth, auth_bucket, endpoint=proxy.url)
    blob = os.urandom(20 * MiB)
    try:

        def write() -> None:
            with nb.open("big.bin", "wb") as f:
                for i in range(0, len(blob), MiB):
                    f.write(blob[i : i + MiB])

        await asyncio.to_thread(write)
        assert proxy.counts["CreateMultipartUpload"] == 1 and proxy.counts["UploadPart"] == 3
        assert proxy.counts["CompleteMultipartUpload"] == 1 and proxy.counts["PutObject"] == 0
        proxy.reset()

        def read() -> bytes:
            with nb.open("big.bin", "rb") as f:
                return b"".join(iter(lambda: f.read(MiB), b""))

        assert await asyncio.to_thread(read) == blob
        assert proxy.counts == {"HeadObject": 1, "GetObject": 3}  # 8 MiB ranges
        ranges = [h.get("range") for h in proxy.headers if "range" in h]
        assert ranges == [
            f"bytes={i}-{min(i + 8 * MiB, len(blob)) - 1}" for i in range(0, len(blob), 8 * MiB)
        ]
    finally:
        await asyncio.to_thread(nb.close)
        await proxy.stop()


def test_from_the_kernel_environment(
    moto_auth: MotoServer, auth_bucket: str, clean_aws_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With only the JUPYTERS3_* variables and credentials from the AWS chain."""
    location = Location(auth_bucket, PREFIX, "sub", moto_auth.endpoint_url, REGION)
    for name, value in location.to_env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", moto_auth.access_key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", moto_auth.secret_access_key)
    from jupyters3 import files

    monkeypatch.setattr(files, "_current", None)
    try:
        files.write_text("env.txt", "hi")
        assert files.read_text("env.txt") == "hi" and files.listdir() == ["env.txt"]
        assert files.current().location == location
    finally:
        files.current().close()


def test_the_fsspec_filesystem(
    moto_auth: MotoServer, auth_bucket: str, clean_aws_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """jupyters3:// through fsspec's own entry points, as pandas uses it."""
    import fsspec
    import pandas as pd

    location = Location(auth_bucket, PREFIX, "sub", moto_auth.endpoint_url, REGION)
    for name, value in location.to_env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", moto_auth.access_key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", moto_auth.secret_access_key)
    from jupyters3 import files

    monkeypatch.setattr(files, "_current", None)
    try:
        fs, path = fsspec.core.url_to_fs("jupyters3://data/a.csv")  # found by its entry point
        assert type(fs).__name__ == "JupyterS3FileSystem" and path == "/sub/data/a.csv"
        pd.DataFrame({"x": [1, 2]}).to_csv("jupyters3://data/a.csv", index=False)
        assert files.read_text("data/a.csv") == "x\n1\n2\n"
        assert pd.read_csv("jupyters3:///sub/data/a.csv").x.tolist() == [1, 2]
        fs.pipe_file("jupyters3://data/b.bin", b"0123456789")
        assert fs.cat_file("jupyters3://data/b.bin", start=2, end=5) == b"234"
        assert fs.cat("jupyters3://data/b.bin") == b"0123456789"
        assert fs.ls("jupyters3://data", detail=False) == ["/sub/data/a.csv", "/sub/data/b.bin"]
        assert fs.info("jupyters3://data")["type"] == "directory"
        assert fs.info("jupyters3://data/b.bin")["size"] == 10
        assert fs.exists("jupyters3://data/b.bin") and not fs.exists("jupyters3://nope")
        assert fs.glob("jupyters3://**/*.csv") == ["/sub/data/a.csv"]
        assert fs.find("jupyters3:///") == ["/sub/data/a.csv", "/sub/data/b.bin"]
        fs.makedirs("jupyters3://empty", exist_ok=True)
        assert fs.isdir("jupyters3://empty")
        fs.rm("jupyters3://data", recursive=True)
        fs.rmdir("jupyters3://empty")
        assert files.listdir("/") == []
        with pytest.raises(PathError):
            fs.open("jupyters3://../../x", "wb")
        with fsspec.open("jupyters3://t.txt", "w") as f:
            f.write("text")
        assert files.read_text("t.txt") == "text"
    finally:
        files.current().close()
