"""Notebooks moved between processes as pickles of slices of cells (no network)."""

from __future__ import annotations

import json
import pickle
from typing import Any

import nbformat
from nbformat.notebooknode import NotebookNode

from jupyters3 import notebooks
from jupyters3.notebooks import _node_pickles, _pickled, _unpickled, notebook_items


def content(cells: int) -> dict[str, Any]:
    """Plain notebook content, as jupyter_server's json.loads gives it; ``cells`` is
    not the first key, so that order is seen."""
    return {
        "metadata": {"kernelspec": {"name": "python3"}},
        "cells": [
            {"cell_type": "code", "source": str(i), "metadata": {}, "outputs": [{"n": i}]}
            for i in range(cells)
        ],
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def test_notebook_items_counts_cells_and_outputs_up_to_just_past_the_limit() -> None:
    assert notebook_items(content(10)) == 20
    assert notebook_items(content(10), limit=12) == 13  # stops once past the limit
    assert notebook_items({"cells": [1, {"outputs": "no list"}, {"outputs": [1, 2]}]}) == 5
    for nothing in ([], "x", {"cells": "no list"}, {"worksheets": []}):
        assert notebook_items(nothing) == 0


async def test_content_goes_over_in_slices_and_comes_back_the_same() -> None:
    original = content(2 * notebooks._SLICE + 1)
    parts = await _pickled(original)
    assert len(parts) == 4  # everything but the cells, then three slices
    back = await _unpickled(parts)
    assert back == original
    assert list(back) == list(original)  # keys in their order
    assert await _unpickled(await _pickled({"worksheets": [1]})) == {"worksheets": [1]}


async def test_a_notebook_comes_back_as_notebook_nodes_in_order() -> None:
    nb = nbformat.from_dict(content(notebooks._SLICE + 3))
    back = await _unpickled(_node_pickles(nb))
    assert back == nb
    assert json.dumps(back) == json.dumps(nb)
    assert type(back) is NotebookNode and back.metadata.kernelspec.name == "python3"
    assert all(type(c) is NotebookNode and type(c.outputs[0]) is NotebookNode for c in back.cells)
    back.cells[0].metadata.trusted = True  # attribute access works as on nbformat's own
    assert back.cells[0]["metadata"]["trusted"] is True


def test_a_worker_error_survives_pickling() -> None:
    error = pickle.loads(pickle.dumps(notebooks.WorkerError("text", "Error('text')")))
    assert (error.text, error.representation) == ("text", "Error('text')")
