"""bench/run.py's report: medians of the timed rounds, ratios, request counts from the
counting round, moto-bound rows marked (no benchmark is run here)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

RUN_PY = Path(__file__).resolve().parents[2] / "bench" / "run.py"


def load_run() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_run", RUN_PY)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_run"] = module
    spec.loader.exec_module(module)
    return module


def row(manager: str, op: str, wall: float, cpu: float, server: float, **kw: Any) -> dict[str, Any]:
    return {
        "manager": manager,
        "op": op,
        "folder": 100,
        "wall": wall,
        "cpu": cpu,
        "server_cpu": [server],
        "requests": kw.get("requests", {}),
        "counting": kw.get("counting", False),
    }


def test_report_medians_ratios_requests_and_moto_bound() -> None:
    run = load_run()
    data = {
        "folders": [100],
        "rows": [
            # jupyters3: walls 1, 3, 2 -> median 2; moto took most of it
            row("jupyters3", "list", 1.0, 0.1, 0.9),
            row("jupyters3", "list", 3.0, 0.3, 2.0),
            row("jupyters3", "list", 2.0, 0.2, 1.5),
            row("jupyters3", "list", 9.0, 9.0, 0.0, counting=True, requests={"ListObjectsV2": 2}),
            row("s3contents", "list", 4.0, 2.0, 0.5),
            row("s3contents", "list", 9.0, 9.0, 0.0, counting=True, requests={"A": 1, "B": 3}),
        ],
    }
    cells, table = run.contents_table(data)
    ours = cells[("jupyters3", "list", 100)]
    assert (ours["wall"], ours["cpu"], ours["server"], ours["n_requests"]) == (2.0, 0.2, 1.5, 2)
    assert run.moto_bound(ours)
    assert not run.moto_bound(cells[("s3contents", "list", 100)])
    (line,) = [t for t in table if t.startswith("| list |")]
    assert "| **0.50** |" in line  # wall 2 / 4
    assert "| **0.10** |" in line  # CPU 0.2 / 2
    assert "1500 (moto-bound) / 500 |" in line
    assert line.endswith("| 2 / 4 |")
    (headline,) = [t for t in run.headline_lines(data, cells) if t.startswith("| list |")]
    assert headline == "| list | 0.50 | 0.10 | 0.50 |"
