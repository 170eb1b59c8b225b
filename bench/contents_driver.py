"""One round of contents-manager operations, in this process, printed as JSON lines.

Run by ``bench_contents.py`` (never by hand), with the project's Python for jupyters3
and with s3contents' own virtual environment for s3contents, so it imports neither
package at module level and needs only the standard library besides the manager.

The manager is constructed here and its methods are called directly (async for
jupyters3, sync for s3contents), against the same S3 server. For each operation:
wall time, this process's CPU (``getrusage``, all threads: s3fs runs its own I/O
thread), the CPU the server processes used meanwhile (``/proc/<pid>/stat``), and, when
a counting proxy is in the path, the S3 requests by kind.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import resource
import sys
import time
import urllib.request
from collections.abc import Callable
from typing import Any

MiB = 1 << 20


def cpu_self() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def cpu_of(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def notebook(size: int, salt: str) -> dict[str, Any]:
    """An nbformat 4.5 notebook of about ``size`` bytes of JSON."""
    source = "".join(f"value_{i} = compute({i}, '{salt}')  # a line of code\n" for i in range(20))
    cells = []
    while len(json.dumps(cells)) < size:
        cells.append(
            {
                "cell_type": "code",
                "execution_count": None,
                "id": f"cell-{len(cells)}",
                "metadata": {},
                "outputs": [],
                "source": source,
            }
        )
    return {
        "cells": cells,
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }


class Driver:
    def __init__(self, cfg: dict[str, Any]) -> None:
        self.cfg = cfg
        self.kind = cfg["manager"]
        self.warming = False
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        if self.kind == "jupyters3":
            from traitlets.config import Config

            from jupyters3 import JupyterS3

            c = Config()
            c.JupyterS3.aws_s3_bucket = cfg["bucket"]
            c.JupyterS3.endpoint_url = cfg["endpoint"]
            c.JupyterS3.aws_region = "us-east-1"
            c.JupyterS3.startup_check = False
            c.JupyterS3.authentication_class = "jupyters3.JupyterS3SecretAccessKeyAuthentication"
            c.JupyterS3SecretAccessKeyAuthentication.aws_access_key_id = cfg["key"]
            c.JupyterS3SecretAccessKeyAuthentication.aws_secret_access_key = cfg["secret"]
            c.NotebookNotary.db_file = ":memory:"
            self.cm: Any = JupyterS3(config=c)
        else:
            from s3contents import S3ContentsManager
            from traitlets.config import Config

            c = Config()
            c.NotebookNotary.db_file = ":memory:"
            self.cm = S3ContentsManager(
                config=c,
                bucket=cfg["bucket"],
                endpoint_url=cfg["endpoint"],
                access_key_id=cfg["key"],
                secret_access_key=cfg["secret"],
                region_name="us-east-1",
            )

    def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        result = getattr(self.cm, name)(*args, **kwargs)
        if asyncio.iscoroutine(result):
            result = self.loop.run_until_complete(result)
        return result

    def counts(self) -> dict[str, int]:
        control = self.cfg.get("control")
        if not control:
            return {}
        with urllib.request.urlopen(f"{control}/counts", timeout=60) as resp:
            counts: dict[str, int] = json.loads(resp.read())
        return counts

    def measure(self, op: str, folder: int, fn: Callable[[], object]) -> None:
        if self.warming:
            fn()
            return
        pids = self.cfg["server_pids"]
        self.counts()  # resets the proxy's counts
        s0 = [cpu_of(p) for p in pids]
        c0, t0 = cpu_self(), time.perf_counter()
        fn()
        wall, cpu = time.perf_counter() - t0, cpu_self() - c0
        server = [cpu_of(p) - s for p, s in zip(pids, s0, strict=True)]
        counts = self.counts()
        row = {
            "manager": self.kind,
            "op": op,
            "folder": folder,
            "wall": wall,
            "cpu": cpu,
            "server_cpu": server,
            "requests": counts,
        }
        print(json.dumps(row), flush=True)

    def run(self) -> None:
        """Every operation once untimed (imports, first connections, thread pools), on
        the smallest folder; then each folder timed."""
        folders = self.cfg["folders"]
        self.warming = True
        self.run_folders(folders[:1], self.cfg["tag"] + "-warm")
        self.warming = False
        self.run_folders(folders, self.cfg["tag"])

    def run_folders(self, folders: list[int], tag: str) -> None:
        nb = notebook(100_000, tag)
        nb2 = notebook(100_000, tag + "-2")
        big = base64.b64encode(os.urandom(20_000_000)).decode("ascii")
        for n in folders:
            folder = f"list-{n}"
            nb_path = f"{folder}/nb-{self.kind}-{tag}.ipynb"
            big_path = f"{folder}/big-{self.kind}-{tag}.bin"

            def listing(folder: str = folder, n: int = n) -> None:
                model = self.call("get", folder, content=True)
                assert len(model["content"]) >= n, (len(model["content"]), n)

            def get_big(path: str = big_path) -> None:
                model = self.call("get", path, content=True, type="file", format="base64")
                assert len(model["content"]) >= len(big) - 8, len(model["content"])

            self.measure("list", n, listing)
            self.measure(
                "save new notebook",
                n,
                lambda p=nb_path: self.call(
                    "save", {"type": "notebook", "format": "json", "content": nb}, p
                ),
            )
            self.measure(
                "re-save notebook",
                n,
                lambda p=nb_path: self.call(
                    "save", {"type": "notebook", "format": "json", "content": nb2}, p
                ),
            )
            self.measure(
                "save 20 MB file",
                n,
                lambda p=big_path: self.call(
                    "save", {"type": "file", "format": "base64", "content": big}, p
                ),
            )
            self.measure("get 20 MB file", n, get_big)
            for path in (nb_path, big_path):
                self.call("delete", path)


def main() -> None:
    cfg = json.loads(sys.argv[1])
    driver = Driver(cfg)
    driver.run()
    close = getattr(driver.cm, "close", None)
    if close is not None:
        result = close()
        if asyncio.iscoroutine(result):
            driver.loop.run_until_complete(result)


if __name__ == "__main__":
    main()
