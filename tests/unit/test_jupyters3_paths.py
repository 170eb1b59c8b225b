"""Path <-> key mapping, normalisation, confinement and listing rules (no network)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from jupyters3.paths import (
    DirListing,
    KeyLayout,
    PathError,
    checkpoint_id_problem,
    checkpoint_time,
    classify_listing,
    glob_matcher,
    is_hidden_path,
    join,
    new_checkpoint_id,
    normalize_path,
    normalize_prefix,
    orphaned_checkpoints,
    probe_says_exists,
    split,
)
from s3lite.models import CommonPrefix, ObjectSummary

T = datetime(2024, 5, 6, 7, 8, 9, tzinfo=timezone.utc)


def obj(key: str, size: int = 1) -> ObjectSummary:
    return ObjectSummary(key=key, size=size, etag='"e"', last_modified=T)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("", ""),
        ("/", ""),
        ("a", "a"),
        ("/a/b.ipynb", "a/b.ipynb"),
        ("a/b/", "a/b"),
        ("dir with spaces/f+g%h#i?j&k.txt", "dir with spaces/f+g%h#i?j&k.txt"),
        ("émoji 🎉/ü.ipynb", "émoji 🎉/ü.ipynb"),
        ("~/x", "~/x"),
        ("...", "..."),
        ("a..b", "a..b"),
        ("C:x", "C:x"),
    ],
)
def test_normalize_path_accepts(given: str, expected: str) -> None:
    assert normalize_path(given) == expected


@pytest.mark.parametrize(
    ("given", "why"),
    [
        ("..", "'..'"),
        ("a/../b", "'..'"),
        ("../outside", "'..'"),
        ("a/./b", "'.'"),
        ("a//b", "empty"),
        ("a\\b", "backslash"),
        ("..\\x", "backslash"),
        ("a\x00b", "NUL"),
        ("a\nb", "control"),
        ("a\x7fb", "control"),
        ("C:/Windows", "absolute"),
        ("c:", "absolute"),
        ("x.ipynb/.checkpoints/123", "reserved"),
        (".checkpoints", "reserved"),
        ("dir/.s3keep", "reserved"),
        ("bad\udcffsurrogate", "Unicode"),
    ],
)
def test_normalize_path_rejects(given: str, why: str) -> None:
    with pytest.raises(PathError, match=why):
        normalize_path(given)


def test_normalize_path_rejects_non_strings() -> None:
    with pytest.raises(PathError):
        normalize_path(None)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("given", "expected"),
    [("", ""), ("/", ""), ("p", "p/"), ("p/", "p/"), ("/home/u1/", "home/u1/")],
)
def test_normalize_prefix(given: str, expected: str) -> None:
    assert normalize_prefix(given) == expected


@pytest.mark.parametrize("bad", ["a/../b", "..", "a//b", "a\\b"])
def test_normalize_prefix_rejects(bad: str) -> None:
    with pytest.raises(PathError):
        normalize_prefix(bad)


def test_layout_requires_normalised_prefix() -> None:
    with pytest.raises(PathError):
        KeyLayout("no-slash")


@pytest.mark.parametrize("prefix", ["", "some-prefix/", "a/b/"])
def test_keys_stay_under_prefix(prefix: str) -> None:
    layout = KeyLayout(prefix)
    assert layout.file_key("a/b.ipynb") == f"{prefix}a/b.ipynb"
    assert layout.dir_prefix("a") == f"{prefix}a/"
    assert layout.dir_prefix("") == prefix
    assert layout.keep_marker("a") == f"{prefix}a/.s3keep"
    assert layout.checkpoints_prefix("a/b.ipynb") == f"{prefix}a/b.ipynb/.checkpoints/"
    assert layout.checkpoint_key("a/b.ipynb", "c1") == f"{prefix}a/b.ipynb/.checkpoints/c1"


def test_root_is_not_a_file() -> None:
    with pytest.raises(PathError):
        KeyLayout("p/").file_key("")


@pytest.mark.parametrize("bad", ["", "..", ".x", "a/b", "a\\b", "x" * 65, "sp ace"])
def test_checkpoint_ids_cannot_escape(bad: str) -> None:
    assert checkpoint_id_problem(bad) is not None
    with pytest.raises(PathError):
        KeyLayout("").checkpoint_key("f", bad)


def test_checkpoint_ids_sort_by_time_and_are_valid() -> None:
    early = new_checkpoint_id(T, 0xFFFF)
    late = new_checkpoint_id(T.replace(microsecond=1), 0)
    assert early == "20240506T070809000000Z-ffff"
    assert early < late
    assert checkpoint_id_problem(early) is None
    # ids of the old jupyters3 (microseconds since the epoch) are still valid
    assert checkpoint_id_problem("1546300800000000") is None


def test_a_checkpoint_time_is_read_from_its_id() -> None:
    taken = T.replace(microsecond=123456)
    assert checkpoint_time(new_checkpoint_id(taken, 7)) == taken
    assert checkpoint_time("1546300800000001") == datetime(
        2019, 1, 1, 0, 0, 0, 1, tzinfo=timezone.utc
    )
    # ids of other tools, and ids that look like times but are not: no time
    for other in ("c1", "20241399T000000000000Z-0000", "20240506T070809000000Z-FFFF", "1" * 40):
        assert checkpoint_time(other) is None


def test_path_for_key() -> None:
    layout = KeyLayout("p/")
    assert layout.path_for_key("p/a/b.txt") == "a/b.txt"
    assert layout.path_for_key("other/a") is None
    assert layout.path_for_key("p/") is None
    assert layout.path_for_key("p/a/") is None
    assert layout.path_for_key("p/a/.s3keep") is None
    assert layout.path_for_key("p/f.ipynb/.checkpoints/1") is None
    assert layout.path_for_key("p/a//b") is None
    assert layout.path_for_key("p/a\\b") is None


def test_move_key() -> None:
    layout = KeyLayout("p/")
    assert layout.move_key("p/a/x/y.txt", "a", "b/c") == "p/b/c/x/y.txt"
    assert layout.move_key("p/a/", "a", "b") == "p/b/"
    with pytest.raises(PathError):
        layout.move_key("p/ab/x", "a", "b")


def test_check_length() -> None:
    layout = KeyLayout("p/")
    layout.check_length("a" * 900)
    with pytest.raises(PathError, match="too long"):
        layout.check_length("é" * 500)


def test_split_join_hidden() -> None:
    assert split("a/b/c") == ("a/b", "c")
    assert split("c") == ("", "c")
    assert join("", "c") == "c"
    assert join("a/b", "c") == "a/b/c"
    assert is_hidden_path(".x")
    assert is_hidden_path("a/.b/c")
    assert not is_hidden_path("a/b.c/d")
    assert not is_hidden_path("")


def test_classify_listing_sorts_files_folders_and_markers() -> None:
    listing = classify_listing(
        "p/d/",
        [
            obj("p/d/", 0),  # the folder's own marker
            obj("p/d/.s3keep", 0),  # s3contents marker
            obj("p/d/nb.ipynb"),
            obj("p/d/.hidden"),
            obj("p/d/a\\b"),  # unreachable name
            CommonPrefix("p/d/nb.ipynb/"),  # checkpoints of nb.ipynb
            CommonPrefix("p/d/.checkpoints/"),  # checkpoints of the file "p/d" (none here)
            CommonPrefix("p/d/sub/"),
            CommonPrefix("p/d/implicit/"),
            CommonPrefix("p/d//"),  # a key with an empty component
        ],
    )
    assert sorted(listing.files) == [".hidden", "nb.ipynb"]
    assert sorted(listing.dirs) == ["implicit", "sub"]
    assert listing.marker is not None and listing.marker.key == "p/d/"
    assert listing.keep
    assert listing.unlisted == 2
    assert listing.exists
    assert not listing.empty
    assert listing.names() == {".hidden", "nb.ipynb", "implicit", "sub"}


def test_folder_named_like_a_file_is_a_folder_without_that_file() -> None:
    # "x.ipynb/" with no object "x.ipynb" in the listing: a folder called x.ipynb
    listing = classify_listing("", [CommonPrefix("x.ipynb/")])
    assert listing.dirs == ["x.ipynb"]
    assert listing.files == {}


def test_file_wins_over_folder_of_the_same_name() -> None:
    # both made by other tools: the name is shown once, as the file
    listing = classify_listing("", [obj("x"), CommonPrefix("x/")])
    assert list(listing.files) == ["x"]
    assert listing.dirs == []


def test_markers_and_checkpoints_alone_are_empty() -> None:
    listing = classify_listing("d/", [obj("d/", 0), obj("d/.s3keep", 0)])
    assert listing.exists and listing.empty
    assert not DirListing().exists


def test_orphaned_checkpoints_are_those_without_their_file() -> None:
    keys = [
        "p/a.ipynb",
        "p/a.ipynb/.checkpoints/1600000000000000",  # its file is there
        "p/d/",
        "p/d/gone.ipynb/.checkpoints/1600000000000000",
        "p/d/gone.ipynb/.checkpoints/deeper/x",
        "p/folder/.checkpoints/20200101T000000000000Z-0000",  # a folder has no checkpoints
        "p/folder/f.txt",
        "p/.jupyters3-trash/e/t.ipynb/.checkpoints/1",  # the trash and uploads: not ours
        "p/.jupyters3-uploads/u/.checkpoints/1",
        "p/.checkpoints/1",
        "elsewhere/x/.checkpoints/1",
    ]
    assert orphaned_checkpoints("p/", keys) == {
        "p/d/gone.ipynb": [
            "p/d/gone.ipynb/.checkpoints/1600000000000000",
            "p/d/gone.ipynb/.checkpoints/deeper/x",
        ],
        "p/folder": ["p/folder/.checkpoints/20200101T000000000000Z-0000"],
    }
    assert orphaned_checkpoints("", ["x/.checkpoints/1", "x"]) == {}


def test_probe() -> None:
    assert not probe_says_exists("f/", [])
    assert not probe_says_exists("f/", [CommonPrefix("f/.checkpoints/")])
    assert probe_says_exists("f/", [obj("f/", 0)])
    assert probe_says_exists("f/", [CommonPrefix("f/.checkpoints/"), obj("f/x")])
    assert probe_says_exists("f/", [obj("f/.s3keep", 0)])
    assert probe_says_exists("f/", [CommonPrefix("f/sub/")])


def test_tree_keys_from_listings_are_untrusted() -> None:
    layout = KeyLayout("alice/")
    inside = "alice/pl/"
    for ok in ["alice/pl/", "alice/pl/a.txt", "alice/pl/sub/", "alice/pl/n.ipynb/.checkpoints/1"]:
        assert layout.tree_key_problem(ok, inside) is None, ok
    for bad in [
        "alice/pl/../../bob/secret.txt",
        "alice/pl/./a.txt",
        "alice/pl/sub/..",
        "alice/pl/a//b",
        "alice/pl/nul\x00.txt",
        "alice/pl/back\\slash",
        "alice/pl/tab\there",
        "bob/pl/a.txt",
    ]:
        assert layout.tree_key_problem(bad, inside) is not None, bad


def test_length_limits_for_reads_and_moves() -> None:
    layout = KeyLayout("p/")
    layout.check_length("a" * 1000, checkpoints=False)  # readable, though too long to create
    with pytest.raises(PathError, match="too long"):
        layout.check_length("a" * 1000)
    with pytest.raises(PathError, match="S3 keys are at most 1,024 bytes"):
        layout.check_length("a" * 1022, checkpoints=False)
    keys = ["p/d/a.txt", "p/d/" + "x" * 1000]
    assert layout.move_too_long(keys, "d", "e") is None
    assert layout.move_too_long(keys, "d", "e" * 30) == keys[1]


def test_glob_matcher_follows_fnmatch() -> None:
    import fnmatch

    globs = ("__pycache__", "*.pyc", "*~", ".DS_Store", "[ab]?.tmp", "x*y")
    hidden = glob_matcher(globs)
    names = ["__pycache__", "a.pyc", "a.pyc.txt", "notes~", "a1.tmp", "c1.tmp", "xay", "x\ny"]
    names += ["xy.z", "A.PYC", ".DS_Store", "plain", "__pycache__x"]
    for name in names:
        assert hidden(name) == any(fnmatch.fnmatchcase(name, g) for g in globs), name
    assert not glob_matcher(())("anything")
