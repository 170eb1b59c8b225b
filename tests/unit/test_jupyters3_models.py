"""Model building, with the fields and rules of jupyter_server (no network)."""

from __future__ import annotations

import base64
import hashlib
import json
import math
from datetime import datetime, timedelta, timezone

import pytest
from jupyter_server.services.contents.handlers import validate_model
from tornado.web import HTTPError

from jupyters3.models import (
    EPOCH,
    CellByCellDecoder,
    checkpoint_model,
    collections_deferred,
    content_from_bytes,
    content_to_bytes,
    directory_model,
    file_model,
    file_type,
    guess_mimetype,
    hash_fields,
    s3_content_type,
    utc_seconds,
)

T = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=timezone.utc)


def test_file_model_has_every_field_jupyter_checks() -> None:
    model = file_model("a/b.txt", size=3, last_modified=T)
    validate_model(model, expect_content=False)
    assert model["name"] == "b.txt"
    assert model["path"] == "a/b.txt"
    assert model["type"] == "file"
    assert model["mimetype"] == "text/plain"
    assert model["size"] == 3
    assert model["writable"] is True
    assert model["last_modified"] == T.replace(microsecond=0)
    assert model["created"] == model["last_modified"]
    assert model["last_modified"].tzinfo is not None
    assert model["hash"] is None and model["hash_algorithm"] is None


def test_notebook_model() -> None:
    model = file_model("x/nb.ipynb", size=10, last_modified=T)
    assert model["type"] == "notebook"
    assert model["mimetype"] is None
    # asked for as a file, a notebook is a file
    assert file_model("nb.ipynb", size=1, last_modified=T, type_="file")["type"] == "file"


def test_directory_model() -> None:
    bare = directory_model("a/b")
    validate_model(bare, expect_content=False)
    assert bare["type"] == "directory"
    assert bare["size"] is None
    assert bare["last_modified"] == EPOCH
    entry = directory_model("a/b", time_known=False)  # a listing's entry: no time in S3
    validate_model(entry, expect_content=False)
    assert entry["last_modified"] is None and entry["created"] is None
    full = directory_model("", last_modified=T, content=[entry])
    validate_model(full, expect_content=True)
    assert full["format"] == "json"
    assert full["name"] == ""


def test_utc_seconds() -> None:
    naive = datetime(2024, 1, 1, 12, 0, 0, 999)
    assert utc_seconds(naive) == datetime(2024, 1, 1, 12, tzinfo=timezone.utc)
    plus_two = datetime(2024, 1, 1, 14, tzinfo=timezone(timedelta(hours=2)))
    assert utc_seconds(plus_two).hour == 12
    assert utc_seconds(None) == EPOCH


def test_file_type() -> None:
    assert file_type("a.ipynb") == "notebook"
    assert file_type("a.txt") == "file"
    assert file_type("a.txt", "notebook") == "notebook"
    assert file_type("a.ipynb", "file") == "file"


def test_content_from_bytes() -> None:
    assert content_from_bytes("héllo".encode(), None, "p") == ("héllo", "text")
    assert content_from_bytes(b"hi", "text", "p") == ("hi", "text")
    binary = bytes(range(256))
    content, fmt = content_from_bytes(binary * 10, None, "p")
    assert fmt == "base64" and base64.b64decode(content) == binary * 10
    assert "\n" not in content  # one line: no 76-character lines to write and strip
    content, fmt = content_from_bytes(b"hi", "base64", "p")
    assert fmt == "base64" and base64.b64decode(content) == b"hi"
    with pytest.raises(HTTPError) as e:
        content_from_bytes(binary, "text", "p")
    assert e.value.status_code == 400
    with pytest.raises(HTTPError):
        content_from_bytes(b"x", "json", "p")


def test_content_to_bytes() -> None:
    assert content_to_bytes("é", "text", "p") == "é".encode()
    assert content_to_bytes(base64.encodebytes(b"\x00\xff").decode(), "base64", "p") == b"\x00\xff"
    lines = base64.encodebytes(bytes(range(256))).decode()
    assert content_to_bytes(lines, "base64", "p") == bytes(range(256))
    assert content_to_bytes(lines.replace("\n", ""), "base64", "p") == bytes(range(256))
    bad = [("x", None), ("x", "json"), (3, "text"), ("é", "base64"), ("abc", "base64")]
    for content, fmt in bad:
        with pytest.raises(HTTPError) as e:
            content_to_bytes(content, fmt, "p")
        assert e.value.status_code == 400


def test_hash_and_checkpoint_models() -> None:
    assert hash_fields(b"abc", "sha256") == {
        "hash": hashlib.sha256(b"abc").hexdigest(),
        "hash_algorithm": "sha256",
    }
    assert checkpoint_model("c1", T) == {"id": "c1", "last_modified": T.replace(microsecond=0)}


def test_mimetypes() -> None:
    assert guess_mimetype("a/b.png") == "image/png"
    assert guess_mimetype("noext") is None
    assert s3_content_type("nb.ipynb", "notebook", None) == "application/x-ipynb+json"
    assert s3_content_type("x", "file", "text") == "text/plain; charset=utf-8"
    assert s3_content_type("x", "file", "base64") == "application/octet-stream"
    assert s3_content_type("x.csv", "file", "text") == "text/csv"


def test_notebook_problems_in_words() -> None:
    from jupyters3.models import notebook_problem

    good = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": []}
    assert notebook_problem(good) is None
    assert notebook_problem({**good, "cells": [{"cell_type": "code", "source": ""}]}) is None
    assert "not a string" in str(notebook_problem("text"))
    assert "no nbformat version" in str(notebook_problem({"cells": []}))
    assert "version 99" in str(notebook_problem({**good, "nbformat": 99}))
    assert "no list of cells" in str(notebook_problem({**good, "cells": None}))
    assert "cell 2 is a number" in str(
        notebook_problem({**good, "cells": [{"cell_type": "raw"}, 5]})
    )
    assert "'cell_type'" in str(notebook_problem({**good, "cells": [{}]}))
    assert "'metadata'" in str(notebook_problem({**good, "metadata": []}))


def test_guess_mimetype_is_mimetypes_guess_of_the_name() -> None:
    import mimetypes

    names = ["a.txt", "a.tar.gz", "x.tgz", ".bashrc", ".txt", "a.b.c.gz", "Makefile", "a.PNG"]
    names += ["data:x", "a..txt", "...", "a.", "f.svgz", "x.tar.bz2", "W.TXT.GZ", "..a.txt"]
    names += [".tar.gz", "a.b..c"]
    for name in names:
        for path in (name, f"dir/sub/{name}"):
            assert guess_mimetype(path) == mimetypes.guess_type(name)[0], path


NOTEBOOK_TEXTS = [
    "{}",
    " {\n } \n",
    '{"cells": []}',
    '{"cells": [ ], "metadata": {}}',
    '{"a": [1, 2], "cells": [{"x": 1}, 2, "s", null] , "b": {"c": "d"}}\n',
    '{"a": 1, "a": 2, "cells": [1], "cells": [2]}',
    '{"\\u00e9": "\\ud83d\\ude00", "cells": ["\\n", "é"]}',
    '{"cells": {"x": 1}}',
    '{"a": NaN, "cells": [Infinity, -Infinity, 1e400, 12345678901234567890]}',
    # and what is not a notebook, or not JSON: the standard decoder's own errors
    "[]",
    "5",
    '"x"',
    '{"cells": [1,]}',
    '{"cells": [1 2]}',
    '{"a" 1}',
    '{"a": 1,}',
    '{"a": 1} x',
    '{"cells": [1]}}',
    "",
    "   ",
    "{",
    '{"cells": [',
    '{"a": "\x01"}',
    "{'a': 1}",
]


@pytest.mark.parametrize("text", NOTEBOOK_TEXTS)
def test_the_cell_by_cell_decoder_is_json_loads(text: str) -> None:
    def decoded(**kwargs: object) -> tuple[str, str]:
        try:
            return "value", repr(json.loads(text, **kwargs))  # type: ignore[arg-type]
        except json.JSONDecodeError as e:
            return "error", f"{e} {e.pos}"

    assert decoded(cls=CellByCellDecoder) == decoded()


def test_the_cell_by_cell_decoder_decodes_cells_one_by_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each cell is one call of the C decoder, so other threads run between cells."""
    calls: list[int] = []
    original = json.JSONDecoder.raw_decode

    def raw_decode(self: json.JSONDecoder, s: str, idx: int = 0) -> tuple[object, int]:
        calls.append(idx)
        return original(self, s, idx)

    monkeypatch.setattr(json.JSONDecoder, "raw_decode", raw_decode)
    nb = {"cells": [{"source": str(i), "outputs": [math.pi]} for i in range(50)], "nbformat": 4}
    text = json.dumps(nb, indent=1)
    assert json.loads(text, cls=CellByCellDecoder) == nb
    assert len(calls) == 51  # 50 cells and the version


def test_collections_are_deferred_while_a_notebook_is_built() -> None:
    import gc

    assert gc.isenabled()
    with collections_deferred():
        assert not gc.isenabled()
        with collections_deferred():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer block still runs
        survivor = [[i] for i in range(1000)]
    assert gc.isenabled() and gc.get_freeze_count() == 0
    assert gc.is_tracked(survivor) and len(survivor) == 1000
    gc.disable()
    try:  # a process that turned collection off itself keeps it off
        with collections_deferred():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
