"""Notebooks to bytes and back: in a thread for most, in a worker process for large ones.

Converting a notebook (nbformat's conversion, validation and serialisation, the
signature's hash) is Python work over every cell: seconds for tens of thousands of
cells. In a thread it still shares the server's interpreter lock with the event loop,
and the millions of objects it makes set off garbage collections that walk every live
object with the lock held; the loop then stalls for hundreds of milliseconds. A large
notebook is therefore converted in a worker process, and only pickles cross: the
server's process pickles (a save) or unpickles (an open) a slice of cells at a time,
letting the loop run between slices.
"""

from __future__ import annotations

import asyncio
import functools
import io
import multiprocessing
import pickle
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

import nbformat
from nbformat.notebooknode import NotebookNode
from nbformat.sign import NotebookNotary

from .models import collections_deferred

__all__ = [
    "LARGE_NOTEBOOK_BYTES",
    "LARGE_NOTEBOOK_ITEMS",
    "NotebookWorker",
    "Parsed",
    "Serialised",
    "WorkerError",
    "notebook_items",
    "parse_notebook",
    "serialise_notebook",
]

# Above these a notebook goes to the worker process: a save by its cells and outputs
# (what conversion time grows with), an open by its size in bytes.
LARGE_NOTEBOOK_ITEMS = 4_000
LARGE_NOTEBOOK_BYTES = 2 * 1024 * 1024
_SLICE = 500  # cells per pickle: a few milliseconds of the loop each
_WORKERS = 2

# (bytes, whether all output is trusted, the signature to store, nbformat's validation error)
Serialised = tuple[bytes, bool, "str | None", dict[str, Any]]
# (the notebook, its signature to look up, nbformat's validation error)
Parsed = tuple[NotebookNode, "str | None", dict[str, Any]]
_T = TypeVar("_T")


def notebook_items(content: Any, limit: int = LARGE_NOTEBOOK_ITEMS) -> int:
    """The number of cells and outputs of notebook content, counted up to just past
    ``limit`` (so at most ``limit`` cells are looked at); 0 if it has no cell list."""
    cells = content.get("cells") if isinstance(content, dict) else None
    if not isinstance(cells, list):
        return 0
    count = len(cells)
    for cell in cells:
        if count > limit:
            break
        outputs = cell.get("outputs") if isinstance(cell, dict) else None
        if isinstance(outputs, list):
            count += len(outputs)
    return count


def serialise_notebook(content: Any, notary: NotebookNotary) -> Serialised:
    """Notebook content (checked by ``models.notebook_problem``) as the bytes stored:
    converted, validated (any error captured, not raised) and serialised by nbformat;
    whether all its output is trusted, and then its signature."""
    validation_error: dict[str, Any] = {}
    with collections_deferred():
        nb = nbformat.from_dict(content)  # type: ignore[no-untyped-call]
        trusted = bool(notary.check_cells(nb))  # type: ignore[no-untyped-call]
        signature = None
        if trusted and nb.nbformat >= 3:
            signature = notary.compute_signature(nb)  # type: ignore[no-untyped-call]
        text = nbformat.writes(  # type: ignore[no-untyped-call]
            nb, version=nbformat.NO_CONVERT, capture_validation_error=validation_error
        )
    return text.encode("utf-8"), trusted, signature, validation_error


def parse_notebook(data: bytes, notary: NotebookNotary, cls: Any = None) -> Parsed:
    """A stored notebook's bytes parsed (to nbformat 4, validation errors captured)
    with ``json.loads`` (or the decoder class ``cls``), and its signature (none for
    nbformat 1 and 2). Parse errors are raised as nbformat raises them."""
    validation_error: dict[str, Any] = {}
    with collections_deferred():
        nb = nbformat.reads(  # type: ignore[no-untyped-call]
            data.decode("utf-8"),
            as_version=4,
            capture_validation_error=validation_error,
            cls=cls,
        )
    signature = None
    if nb.nbformat >= 3:
        signature = notary.compute_signature(nb)  # type: ignore[no-untyped-call]
    return nb, signature, validation_error


class WorkerError(Exception):
    """What a conversion in the worker process raised, as ``str`` and ``repr`` (the
    exception itself may not survive pickling)."""

    def __init__(self, text: str, representation: str) -> None:
        super().__init__(text, representation)
        self.text = text
        self.representation = representation


class NotebookWorker:
    """Converts large notebooks in worker processes (at most two), started on first
    use (``spawn``: a fresh interpreter, nothing of the server's state inherited) and
    stopped by :meth:`close`. The notary's secret and algorithm go with each call, so
    the worker signs as the server does; the signature store stays in the server."""

    def __init__(self) -> None:
        self._pool: ProcessPoolExecutor | None = None

    async def serialise(self, content: dict[str, Any], notary: NotebookNotary) -> Serialised:
        """:func:`serialise_notebook` of ``content`` in a worker."""
        parts = await _pickled(content)
        return await self._run(_serialise_in_worker, parts, notary.secret, notary.algorithm)

    async def parse(self, data: bytes, notary: NotebookNotary) -> Parsed:
        """:func:`parse_notebook` of ``data`` in a worker."""
        parts, signature, validation_error = await self._run(
            _parse_in_worker, data, notary.secret, notary.algorithm
        )
        nb = await _unpickled(parts)
        _relink(validation_error, nb)
        return nb, signature, validation_error

    async def _run(self, fn: Callable[..., _T], *args: Any) -> _T:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                _WORKERS, mp_context=multiprocessing.get_context("spawn")
            )
        pool = self._pool
        try:
            return await asyncio.wrap_future(pool.submit(fn, *args))
        except BrokenProcessPool:
            # (a worker died: killed, out of memory) the next call starts new ones
            if self._pool is pool:
                self._pool = None
            pool.shutdown(wait=False)
            raise

    def close(self) -> None:
        """Stop the worker processes (new ones start if a large notebook comes again)."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None


# -- moving notebooks between processes ---------------------------------------------


async def _pickled(content: dict[str, Any]) -> list[bytes]:
    """``content`` as pickles: first everything but its cells (an empty list in
    their place), then the cells, a slice at a time, the loop running in between."""
    cells = content.get("cells")
    if not isinstance(cells, list):
        return [pickle.dumps(content, pickle.HIGHEST_PROTOCOL)]
    parts = [pickle.dumps({**content, "cells": []}, pickle.HIGHEST_PROTOCOL)]
    for start in range(0, len(cells), _SLICE):
        await asyncio.sleep(0)
        parts.append(pickle.dumps(cells[start : start + _SLICE], pickle.HIGHEST_PROTOCOL))
    return parts


async def _unpickled(parts: list[bytes]) -> Any:
    """What :func:`_pickled` or :func:`_node_pickles` made, back; the loop runs between
    slices, and collections wait until the whole is built."""
    with collections_deferred():
        whole = pickle.loads(parts[0])
        if len(parts) > 1:
            cells: list[Any] = []
            for part in parts[1:]:
                await asyncio.sleep(0)
                cells.extend(pickle.loads(part))
            dict.__setitem__(whole, "cells", cells)  # in its place: the keys keep their order
    return whole


def _relink(validation_error: dict[str, Any], nb: NotebookNode) -> None:
    """Point nbformat's validation error at the part of ``nb`` it is about, not at
    the worker's copy: in a thread it is that part itself, which the manager then
    marks trusted, and the message on the model shows it as marked."""
    error = getattr(validation_error.get("ValidationError"), "original", None)
    instance: Any = nb
    try:
        for key in error.absolute_path:  # type: ignore[union-attr]
            instance = instance[key]
    except (AttributeError, LookupError, TypeError):
        return
    error.instance = instance  # type: ignore[union-attr]


class _NodePickler(pickle.Pickler):
    """Pickles a ``NotebookNode`` as ``NotebookNode(dict)``: rebuilt in one C-level
    dict copy, not one Python ``__setitem__`` per key (five times slower)."""

    def reducer_override(self, obj: Any) -> Any:
        if type(obj) is NotebookNode:
            return NotebookNode, (dict(obj),)  # (nbformat's own reads builds them so)
        return NotImplemented


def _dumps_nodes(obj: Any) -> bytes:
    out = io.BytesIO()
    _NodePickler(out, pickle.HIGHEST_PROTOCOL).dump(obj)
    return out.getvalue()


def _node_pickles(nb: NotebookNode) -> list[bytes]:
    cells = nb.get("cells")
    if not isinstance(cells, list):
        return [_dumps_nodes(nb)]
    head = NotebookNode(nb)  # type: ignore[no-untyped-call]
    dict.__setitem__(head, "cells", [])
    slices = (cells[start : start + _SLICE] for start in range(0, len(cells), _SLICE))
    return [_dumps_nodes(head), *map(_dumps_nodes, slices)]


# -- in the worker process -------------------------------------------------------------


@functools.lru_cache(maxsize=4)
def _notary(secret: bytes, algorithm: str) -> NotebookNotary:
    return NotebookNotary(secret=secret, algorithm=algorithm)  # type: ignore[no-untyped-call]


def _in_worker(fn: Callable[..., _T], *args: Any) -> _T:
    try:
        return fn(*args)
    except Exception as e:
        raise WorkerError(str(e), repr(e)) from None


def _serialise_in_worker(parts: list[bytes], secret: bytes, algorithm: str) -> Serialised:
    def run() -> Serialised:
        with collections_deferred():
            content = pickle.loads(parts[0])
            for part in parts[1:]:
                content["cells"].extend(pickle.loads(part))
        return serialise_notebook(content, _notary(secret, algorithm))

    return _in_worker(run)


def _parse_in_worker(
    data: bytes, secret: bytes, algorithm: str
) -> tuple[list[bytes], str | None, dict[str, Any]]:
    def run() -> tuple[list[bytes], str | None, dict[str, Any]]:
        nb, signature, validation_error = parse_notebook(data, _notary(secret, algorithm))
        return _node_pickles(nb), signature, validation_error

    return _in_worker(run)
