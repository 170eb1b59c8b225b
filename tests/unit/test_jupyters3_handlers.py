"""Download content types, by jupyter_server's FilesHandler rules (no network)."""

from __future__ import annotations

import pytest

from jupyters3.handlers import content_type_for


@pytest.mark.parametrize(
    ("name", "stored", "expected"),
    [
        ("nb.ipynb", "text/plain", "application/x-ipynb+json"),
        ("NB.IPYNB", None, "application/x-ipynb+json"),
        ("a.txt", None, "text/plain; charset=UTF-8"),
        ("a.png", "application/octet-stream", "image/png"),
        ("a.tar.gz", None, "application/gzip"),
        ("a.txt.bz2", None, "application/octet-stream"),
        ("noext", "text/plain; charset=utf-8", "text/plain; charset=utf-8"),
        ("noext", None, "application/octet-stream"),
    ],
)
def test_content_type_for(name: str, stored: str | None, expected: str) -> None:
    assert content_type_for(name, stored) == expected
