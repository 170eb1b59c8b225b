"""Every benchmark in one go: ``bench/run.sh [--quick]`` (this script, in the project's venv).

Sets up what the peers need (s3contents' own Python 3.12 venv, aiobotocore in a
directory of its own: see README.md), starts one moto server for the contents-manager
and Jupyter-memory benchmarks (the other scripts start the stub they need), runs each
script (each interleaves its cases round by round), keeps what they print and the JSON
they write in ``bench/results/``, and writes ``bench/results.md`` and
``bench/results.png`` from them. ``--report-only`` rewrites the last two from
``bench/results/`` without measuring again.

Default: about 10-15 minutes on the 2-core machine; ``--quick``: a smoke run of a minute
or two (small sizes, one round), which writes its results to ``bench/results/quick/``
and does not touch ``results.md`` or ``results.png`` unless ``--out`` says where.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "src"))

AIOBOTOCORE_DIR = ROOT / ".bench-venvs" / "aiobotocore"
OPS = ("list", "save new notebook", "re-save notebook", "save 20 MB file", "get 20 MB file")
PEERS = ("s3contents",)  # "old jupyters3" would go here once the bench drives it


def script_args(quick: bool) -> dict[str, list[str]]:
    """Each script's options for a default or a quick run."""
    if quick:
        return {
            "contents": ["--rounds", "1", "--folders", "10,100"],
            "jupyter_memory": ["--mib", "64"],
            "client": ["--n", "200", "--seconds", "1", "--aiobotocore-n", "100"],
            "upload": ["--mib", "16", "--stream-mib", "32", "--rounds", "1"],
            "memory": ["--get-mib", "16", "--file-mib", "64"],
            "aws_chunked": ["--mib", "16", "--rounds", "1"],
            "loop_stall": ["--cells", "5000", "--rounds", "1"],
        }
    return {
        "contents": ["--rounds", "5", "--folders", "10,100,1000,10000"],
        "jupyter_memory": ["--mib", "1024"],
        "client": [],
        "upload": [],
        "memory": [],
        "aws_chunked": [],
        "loop_stall": ["--rounds", "5"],
    }


def setup() -> dict[str, str]:
    """The peers' environments (made on first use); the environment for the scripts."""
    env = dict(os.environ)
    sys.path.insert(0, str(HERE))
    from bench_contents import s3contents_python

    s3contents_python()
    if not (AIOBOTOCORE_DIR / "aiobotocore").is_dir():
        print(f"installing aiobotocore into {AIOBOTOCORE_DIR} (the venv is untouched)", flush=True)
        cmd = [sys.executable, "-m", "pip", "install", "-q", "--target", str(AIOBOTOCORE_DIR)]
        subprocess.run([*cmd, "aiobotocore"], check=True)
    env["AIOBOTOCORE_PATH"] = str(AIOBOTOCORE_DIR)
    return env


def run(name: str, argv: list[str], env: dict[str, str], out: Path) -> float:
    """Run ``bench/<name>`` with ``argv``; its output is echoed and kept in ``out``."""
    print(f"\n== {name} {' '.join(argv)}", flush=True)
    t0 = time.perf_counter()
    with open(out, "w") as log:
        proc = subprocess.Popen(
            [sys.executable, str(HERE / name), *argv],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
            cwd=ROOT,
        )
        assert proc.stdout is not None
        for line in proc.stdout:
            if "WARNING: Location" in line:  # pip's noise about the offline index
                continue
            print(line, end="", flush=True)
            log.write(line)
        if proc.wait() != 0:
            raise SystemExit(f"{name} failed (exit {proc.returncode}); its output: {out}")
    return time.perf_counter() - t0


def measure(quick: bool, results: Path) -> None:
    from jupyters3.demo import LocalS3

    results.mkdir(parents=True, exist_ok=True)
    env = setup()
    args = script_args(quick)
    meta: dict[str, Any] = {
        "started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "quick": quick,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_before": os.getloadavg(),
        "seconds": {},
    }
    local = LocalS3.start()  # one moto server for the contents managers and Jupyter
    try:
        on_moto = ["--endpoint", local.endpoint_url]
        to_json = ["--json", str(results / "contents.json")]
        meta["seconds"]["contents"] = run(
            "bench_contents.py",
            [*args["contents"], *on_moto, "--server-pid", str(local.process.pid), *to_json],
            env,
            results / "contents.txt",
        )
        meta["seconds"]["jupyter_memory"] = run(
            "bench_jupyter_memory.py",
            [*args["jupyter_memory"], *on_moto, "--json", str(results / "jupyter_memory.json")],
            env,
            results / "jupyter_memory.txt",
        )
    finally:
        local.stop()
    meta["seconds"]["client"] = run("bench_client.py", args["client"], env, results / "client.txt")
    meta["seconds"]["upload"] = run("bench_upload.py", args["upload"], env, results / "upload.txt")
    meta["seconds"]["memory"] = run(
        "bench_memory.py",
        [*args["memory"], "--json", str(results / "memory.json")],
        env,
        results / "memory.txt",
    )
    meta["seconds"]["aws_chunked"] = run(
        "bench_aws_chunked.py", args["aws_chunked"], env, results / "aws_chunked.txt"
    )
    meta["seconds"]["loop_stall"] = run(
        "bench_loop_stall.py",
        [*args["loop_stall"], "--json", str(results / "loop_stall.json")],
        env,
        results / "loop_stall.txt",
    )
    meta["load_after"] = os.getloadavg()
    (results / "meta.json").write_text(json.dumps(meta, indent=1))


# -- the report ------------------------------------------------------------------------


def contents_table(data: dict[str, Any]) -> tuple[dict[tuple[str, str, int], Any], list[str]]:
    """Medians of the timed rounds per (manager, op, folder), request counts from the
    counting round; and the markdown lines of the comparison tables."""
    cells: dict[tuple[str, str, int], Any] = {}
    for row in data["rows"]:
        key = (row["manager"], row["op"], row["folder"])
        cell = cells.setdefault(key, {"wall": [], "cpu": [], "server": [], "requests": {}})
        if row["counting"]:
            cell["requests"] = row["requests"]
        else:
            cell["wall"].append(row["wall"])
            cell["cpu"].append(row["cpu"])
            cell["server"].append(row["server_cpu"][0])
    for cell in cells.values():
        for name in ("wall", "cpu", "server"):
            cell[name] = statistics.median(cell[name]) if cell[name] else float("nan")
        cell["n_requests"] = sum(cell["requests"].values())
    lines = []
    for peer in PEERS:
        lines += [
            f"| operation | files in folder | jupyters3 wall ms | {peer} wall ms | wall ÷ "
            f"| jupyters3 CPU ms | {peer} CPU ms | CPU ÷ | moto CPU ms (ours / {peer}) "
            f"| S3 requests (ours / {peer}) |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---|---|",
        ]
        for op in OPS:
            for n in data["folders"]:
                a, b = cells.get(("jupyters3", op, n)), cells.get((peer, op, n))
                if not a or not b:
                    continue
                bound = [moto_bound(c) for c in (a, b)]
                lines.append(
                    f"| {op} | {n:,} | {a['wall'] * 1e3:.1f} | {b['wall'] * 1e3:.1f} "
                    f"| **{a['wall'] / b['wall']:.2f}** | {a['cpu'] * 1e3:.1f} "
                    f"| {b['cpu'] * 1e3:.1f} | **{a['cpu'] / b['cpu']:.2f}** "
                    f"| {a['server'] * 1e3:.0f}{' (moto-bound)' if bound[0] else ''} / "
                    f"{b['server'] * 1e3:.0f}{' (moto-bound)' if bound[1] else ''} "
                    f"| {a['n_requests']} / {b['n_requests']} |"
                )
    return cells, lines


def headline_lines(data: dict[str, Any], cells: dict[tuple[str, str, int], Any]) -> list[str]:
    """Per operation, jupyters3 ÷ each peer over every folder size (lowest-highest)."""
    lines = []
    for peer in PEERS:
        lines += [
            f"| operation (jupyters3 ÷ {peer}, folders of {min(data['folders']):,} to "
            f"{max(data['folders']):,} files) | wall time | client CPU | S3 requests |",
            "|---|---|---|---|",
        ]
        for op in OPS:
            pairs = [
                (cells[("jupyters3", op, n)], cells[(peer, op, n)])
                for n in data["folders"]
                if ("jupyters3", op, n) in cells and (peer, op, n) in cells
            ]
            if not pairs:
                continue
            cols = []
            for name in ("wall", "cpu", "n_requests"):
                ratios = [a[name] / b[name] for a, b in pairs if b[name]]
                lo, hi = min(ratios), max(ratios)
                cols.append(f"{lo:.2f}" if f"{lo:.2f}" == f"{hi:.2f}" else f"{lo:.2f}-{hi:.2f}")
            lines.append(f"| {op} | " + " | ".join(cols) + " |")
    return lines


def moto_bound(cell: dict[str, Any]) -> bool:
    """moto, not the client, took most of the wall time."""
    return bool(cell["server"] > cell["cpu"] and cell["server"] > 0.5 * cell["wall"])


def requests_lines(data: dict[str, Any], cells: dict[tuple[str, str, int], Any]) -> list[str]:
    n = max(data["folders"])
    lines = [
        f"| operation ({n:,} files in the folder) | " + " | ".join(("jupyters3", *PEERS)) + " |",
        "|---|" + "---|" * (1 + len(PEERS)),
    ]
    for op in OPS:
        row = []
        for m in ("jupyters3", *PEERS):
            reqs = cells.get((m, op, n), {}).get("requests", {})
            row.append(", ".join(f"{k} {v}" for k, v in sorted(reqs.items())) or "-")
        lines.append(f"| {op} | " + " | ".join(row) + " |")
    return lines


def plot(data: dict[str, Any], cells: dict[tuple[str, str, int], Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folders = data["folders"]
    fig, axes = plt.subplots(2, len(OPS), figsize=(4 * len(OPS), 7), squeeze=False)
    for j, op in enumerate(OPS):
        for m, style in (("jupyters3", "o-"), ("s3contents", "s--"), ("old jupyters3", "^:")):
            xs = [n for n in folders if (m, op, n) in cells]
            if not xs:
                continue
            axes[0][j].plot(xs, [cells[(m, op, n)]["wall"] * 1e3 for n in xs], style, label=m)
            axes[1][j].plot(xs, [cells[(m, op, n)]["n_requests"] for n in xs], style, label=m)
        axes[0][j].set_title(op)
        for i, label in ((0, "wall time, ms (median)"), (1, "S3 requests")):
            ax = axes[i][j]
            ax.set_xscale("log")
            ax.set_xlabel("files in the folder")
            ax.grid(True, alpha=0.3)
            if j == 0:
                ax.set_ylabel(label)
        axes[0][j].set_yscale("log")
        axes[1][j].set_ylim(bottom=0)
    axes[0][0].legend()
    fig.suptitle(f"Contents managers on one moto server, {data['started']}")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def text_of(path: Path) -> str:
    return path.read_text().rstrip() if path.exists() else "(not run)"


def loop_stall_run(results: Path) -> str:
    """When the loop-stall figures were taken, if in a run of their own."""
    path = results / "loop_stall.json"
    started = json.loads(path.read_text()).get("started") if path.exists() else None
    return f" (Run of {started}.)" if started else ""


def report(results: Path, out_md: Path, out_png: Path) -> None:
    meta = json.loads((results / "meta.json").read_text())
    data = json.loads((results / "contents.json").read_text())
    cells, table = contents_table(data)
    plot(data, cells, out_png)
    versions = ", ".join(f"{k} {v}" for k, v in data["versions"].items())
    seconds = ", ".join(f"{k} {v:.0f} s" for k, v in meta["seconds"].items())
    load = f"{meta['load_before'][0]:.1f} before, {meta['load_after'][0]:.1f} after"
    md = [
        "# Benchmark results",
        "",
        f"Regenerated by `bench/run.sh`{' --quick' if meta['quick'] else ''} "
        f"on {meta['started']}: Python {meta['python']}, {meta['cpus']} CPUs, {versions}. "
        f"Took {seconds}. Load average {load}.",
        "",
        "**The machine was shared**: other sessions ran test suites and servers during this "
        "run, so absolute numbers move between runs by up to 2x. Every script interleaves "
        "its cases round by round (the contents managers take turns, which one goes first "
        "alternating), so each comparison is between measurements taken side by side; the "
        "ratios mean more than the absolute times.",
        "",
        "## Headline: jupyters3 ÷ s3contents",
        "",
        "Below 1: jupyters3 is faster, uses less CPU or fewer requests.",
        "",
        *headline_lines(data, cells),
        "",
        "## Contents managers: jupyters3 against s3contents (moto)",
        "",
        f"Medians of {data['rounds']} timed rounds; each manager runs each round in a fresh "
        'process of its own, straight to one moto server. "÷" is jupyters3 over the peer '
        "(below 1: jupyters3 is faster or cheaper). CPU is the client process's own "
        "(`getrusage`, all threads); moto's CPU over the same operation is beside it, marked "
        "*moto-bound* when moto used more CPU than the client and over half the wall time "
        "(then the wall time says more about moto than about the manager). S3 requests "
        "come from one more round of each through a counting proxy (never a timed round). "
        "The old jupyters3 (Notebook 6 only) is not driven by this bench."
        + (f" (Run of {data['started']}.)" if data["started"] != meta["started"] else ""),
        "",
        *table,
        "",
        "![time and S3 requests per operation against folder size](results.png)",
        "",
        *requests_lines(data, cells),
        "",
        "## Jupyter server memory: a big file up (chunked contents API) and down (`/files/`)",
        "",
    ]
    jm = results / "jupyter_memory.json"
    if jm.exists():
        j = json.loads(jm.read_text())
        md += [
            f"A real Jupyter server process (JupyterS3 on the same moto), its RSS sampled every "
            f"10 ms; {j['mib']} MiB uploaded in {j['chunk_mib']} MiB base64 chunks as "
            f"JupyterLab sends them, then read back through `/files/` and checked. Server RSS: "
            f"{j.get('fresh_mib', 0):.0f} MiB once started, {j['baseline_mib']:.0f} MiB after "
            "a 20 MiB file went up and down (the baseline: every code path warmed). Target: "
            "at most 64 MiB above the baseline.",
            "",
            "| phase | peak above baseline | peak above the RSS at the phase's start "
            "| RSS after | wall | MiB/s |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for phase in ("upload", "download"):
            r = j[phase]
            start = r.get("start_mib", j["baseline_mib"])
            md.append(
                f"| {phase} | **{r['peak_above_mib']:.0f} MiB** "
                f"| {r['peak_above_mib'] + j['baseline_mib'] - start:.0f} MiB "
                f"| {r['after_mib']:.0f} MiB | {r['wall']:.1f} s | {j['mib'] / r['wall']:.0f} |"
            )
        md.append("")
    md += [
        "## The event loop while a large notebook is saved and opened",
        "",
        "`bench_loop_stall.py`: a 60,000-cell notebook (20.1 MB as stored) saved and opened "
        "through a real Jupyter server on JupyterS3 (moto behind it) while another "
        "connection asks `/api/status` every 5 ms; the slowest answer during each request is "
        "what every other user of the server waits out (target: 100 ms). jupyter_server's "
        "own handler decodes the PUT body and encodes the GET answer on its event loop, one "
        "C call each that holds the interpreter lock; those are timed alone on the same "
        "notebook, and so is the contents manager's own stall of its loop (JupyterS3's part: "
        "large notebooks are converted in a worker process). See docs/reliability.md, "
        "Known limits." + loop_stall_run(results),
        "",
        "```",
        text_of(results / "loop_stall.txt"),
        "```",
        "",
        "## s3lite against boto3 and aiobotocore (the stub server)",
        "",
        "From `bench_client.py` (client CPU per request; the stub's beside it), "
        "`bench_upload.py` (100 MiB PUT against one SHA-256 pass) and `bench_memory.py` "
        "(peak RSS of big transfers); see README.md for what each measures.",
        "",
        "```",
        text_of(results / "client.txt"),
        "```",
        "",
        "```",
        text_of(results / "upload.txt"),
        "```",
        "",
        "```",
        text_of(results / "memory.txt"),
        "```",
        "",
        "### Why a single signed PUT over HTTP is not sent aws-chunked",
        "",
        "`bench_aws_chunked.py`: the same 100 MiB PUT on a raw socket to the stub, hashed "
        "whole first (what SigV4 header signing needs), or aws-chunked with each chunk "
        "hashed just before it is sent (moto and Ceph RGW 16 both accept aws-chunked). On "
        "this 2-core machine the overlap does not pay: the receiver's CPU doubles when the "
        "body trickles in as it is hashed, and the hashing and the server share the cores.",
        "",
        "```",
        text_of(results / "aws_chunked.txt"),
        "```",
        "",
    ]
    out_md.write_text("\n".join(md))
    print(f"wrote {out_md} and {out_png}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run (a minute or two)")
    parser.add_argument("--report-only", action="store_true", help="no measuring")
    parser.add_argument("--out", help="folder for results.md and results.png")
    args = parser.parse_args()
    results = HERE / "results" / ("quick" if args.quick else "full")
    out = Path(args.out) if args.out else (results if args.quick else HERE)
    if not args.report_only:
        measure(args.quick, results)
    out.mkdir(parents=True, exist_ok=True)
    report(results, out / "results.md", out / "results.png")


if __name__ == "__main__":
    main()
