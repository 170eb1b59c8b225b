"""S3Store, the S3 side of JupyterS3, on its own against moto (signature checking on):
it speaks in keys and s3lite errors, never in Jupyter's models or HTTP errors."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from jupyters3.paths import KeyLayout
from jupyters3.store import S3Store, TreeCopyError
from s3lite import Credentials, PreconditionFailed, S3Client, S3Error
from tests.integration.test_jupyters3_fixtures import S3Proxy, all_keys, auth_proxy
from tests.motoserver import REGION, MotoServer

__all__ = ["auth_proxy"]  # fixtures used here


def client_for(server: MotoServer, endpoint_url: str) -> S3Client:
    creds = Credentials(server.access_key_id, server.secret_access_key)
    return S3Client(REGION, endpoint_url, creds, addressing_style="path")


@pytest.fixture
async def proxied(
    moto_auth: MotoServer, auth_bucket: str, auth_proxy: S3Proxy
) -> AsyncIterator[S3Store]:
    """A store under prefix ``p/``, through the fault-injecting proxy, two requests at once."""
    client = client_for(moto_auth, auth_proxy.url)
    yield S3Store(lambda: client, auth_bucket, KeyLayout("p/"), max_concurrency=2)
    await client.close()


async def test_probes_and_listings(proxied: S3Store) -> None:
    store = proxied
    await store.write("p/a/b.txt", b"hi", "text/plain")  # "a" exists only by its contents
    await store.make_dir_marker("m")
    assert await store.dir_exists("") and await store.dir_exists("a")
    exists, marker = await store.probe_dir("m")
    assert exists and marker is not None and marker.key == "p/m/"
    assert not await store.dir_exists("nope") and not await store.dir_exists("a/b.txt")
    listing = await store.list_dir("")
    assert sorted(listing.dirs) == ["a", "m"] and not listing.files
    assert set((await store.list_dir("a")).files) == {"b.txt"}
    info = await store.file_info("a/b.txt")
    assert info is not None and info.size == 2
    assert await store.file_info("a/none.txt") is None
    got = await store.read("p/a/b.txt")
    assert got is not None and got.body == b"hi"
    assert await store.read("p/a/none.txt") is None


async def test_conditional_write_raises_s3lites_error(proxied: S3Store) -> None:
    await proxied.write("p/f.txt", b"one", "text/plain", if_none_match="*")
    with pytest.raises(PreconditionFailed):
        await proxied.write("p/f.txt", b"two", "text/plain", if_none_match="*")
    got = await proxied.read("p/f.txt")
    assert got is not None and got.body == b"one"


async def test_tree_copy_move_delete(proxied: S3Store, moto_auth: MotoServer) -> None:
    store = proxied
    names = [f"src/f{i}.txt" for i in range(5)] + ["src/sub/g.txt"]
    for name in names:
        await store.write(store.layout.file_key(name), name.encode(), "text/plain")
    await store.make_dir_marker("src")
    copied = await store.copy_tree("src", "dst")
    assert len(copied.copied) == len(names) + 1
    await store.move_tree("dst", "moved")
    keys = all_keys(moto_auth, store.bucket)
    assert sorted(k for k in keys if k.startswith("p/moved/")) == sorted(
        ["p/moved/"] + [f"p/moved/{n[4:]}" for n in names]
    )
    assert all_keys(moto_auth, store.bucket, "p/dst/") == []
    await store.delete_tree("moved")
    assert all_keys(moto_auth, store.bucket, "p/moved/") == []


async def test_a_failed_tree_copy_removes_the_partial_copy(
    proxied: S3Store, auth_proxy: S3Proxy, moto_auth: MotoServer
) -> None:
    store = proxied
    for i in range(6):
        await store.write(f"p/src/f{i}.txt", b"x", "text/plain")
    before = all_keys(moto_auth, store.bucket)
    auth_proxy.slow_down(
        1,
        lambda r: r.kind == "CopyObject" and r.key == "p/dst/f3.txt",
        status=403,
        code="AccessDenied",
    )
    with pytest.raises(TreeCopyError) as e:
        await store.copy_tree("src", "dst")
    # no copy starts after the failure; the one in flight beside it may finish
    assert e.value.total == 6 and e.value.copied in (3, 4)
    assert isinstance(e.value.first, S3Error) and e.value.first.code == "AccessDenied"
    assert e.value.cleanup == "the partial copy was removed"
    assert all_keys(moto_auth, store.bucket) == before  # nothing copied is left


async def test_a_failed_tree_copy_says_when_its_cleanup_failed_too(
    proxied: S3Store, auth_proxy: S3Proxy, moto_auth: MotoServer
) -> None:
    store = proxied
    for i in range(3):
        await store.write(f"p/src/f{i}.txt", b"x", "text/plain")
    auth_proxy.slow_down(
        1,
        lambda r: r.kind == "CopyObject" and r.key == "p/dst/f2.txt",
        status=403,
        code="AccessDenied",
    )
    auth_proxy.slow_down(1, lambda r: r.kind == "DeleteObjects", status=403, code="AccessDenied")
    with pytest.raises(TreeCopyError) as e:
        await store.copy_tree("src", "dst")
    assert e.value.cleanup == f"the {e.value.copied} copied objects could not be removed"
    assert e.value.copied == 2 and "after 2 of 3 objects" in str(e.value)
    assert all_keys(moto_auth, store.bucket, "p/src/") == [f"p/src/f{i}.txt" for i in range(3)]
