"""The bounded load test, short form (10 clients x 15 s): selected by ``-m load``,
run by CI as its own step. The long form: ``python -m tests.load`` (tests/load.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.load import jupyter_on, run_load
from tests.motoserver import MotoServer

pytestmark = pytest.mark.load


def test_ten_clients_for_fifteen_seconds_lose_nothing(
    moto_auth: MotoServer, tmp_path: Path
) -> None:
    with jupyter_on(moto_auth, tmp_path) as (server, pid):
        result = run_load(server, pid, clients=10, seconds=15)
    print("\n" + result.report())
    assert result.requests > 10 * 8  # every client went round at least once
    assert result.failures == []
    assert result.lost == []
    # RSS stays bounded: it may grow by caches, not by what the requests carried
    assert result.rss_after < result.rss_before + 200 * 2**20
