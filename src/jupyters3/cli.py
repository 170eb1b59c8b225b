"""The ``jupyters3`` command: ``demo`` (Jupyter on a local S3, one command) and
``check`` (does a JupyterS3 configuration work, end to end?).

``jupyters3 check`` reads the JupyterS3 settings of your Jupyter configuration
(``jupyter_server_config.py``/``.json``, or ``--config FILE``), lets flags override
them, and tries, with the credentials JupyterS3 would use: credentials found (and
where), endpoint reachable, bucket exists, list / put / get / delete under the
prefix. It prints one line per step, with a fix for each failure; exit status 0
only when every step passed.

--orphans also lists every key under the prefix for checkpoints whose file is gone
(left by an older jupyters3 or another tool); --remove-orphans removes them.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence

from .check import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    format_report,
    load_jupyter_config,
    make_manager,
    passed,
    run_check,
)

__all__ = ["build_parser", "check_command", "main"]


def check_command(args: argparse.Namespace) -> int:
    """``jupyters3 check``: print the report; 0 only if every step passed."""
    if args.profile:
        os.environ["AWS_PROFILE"] = args.profile  # what JupyterS3's credential chain reads
    try:
        config = load_jupyter_config(args.config)
        manager = make_manager(
            config,
            {
                "aws_s3_bucket": args.bucket,
                "prefix": args.prefix,
                "endpoint_url": args.endpoint_url,
                "aws_region": args.region,
            },
        )
    except Exception as exc:  # traitlets' validation errors say what is wrong
        print(f"jupyters3 check: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if not manager.bucket:
        print(
            "jupyters3 check: no bucket: pass --bucket NAME or set c.JupyterS3.aws_s3_bucket "
            "in your Jupyter configuration",
            file=sys.stderr,
        )
        return EXIT_USAGE
    target, steps = asyncio.run(
        run_check(manager, orphans=args.orphans, remove_orphans=args.remove_orphans)
    )
    print(format_report(target, steps), flush=True)
    return EXIT_OK if passed(steps) else EXIT_FAILED


# -- command line ----------------------------------------------------------------------------


def _add_target_options(p: argparse.ArgumentParser, *, demo: bool) -> None:
    if demo:
        p.add_argument("--bucket", help="a real bucket instead of the local S3 server")
        p.add_argument("--prefix", help="key prefix of everything (default: none)")
    else:
        p.add_argument("--bucket", help="the bucket (default: c.JupyterS3.aws_s3_bucket)")
        p.add_argument("--prefix", help="key prefix (default: c.JupyterS3.prefix)")
    p.add_argument("--endpoint-url", help="S3-compatible endpoint (default: AWS)")
    p.add_argument("--region", help="the bucket's region (default: environment/profile)")
    p.add_argument("--profile", help="AWS profile for credentials (sets AWS_PROFILE)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jupyters3", description="Jupyter with everything stored in S3."
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    demo = sub.add_parser(
        "demo",
        help="run Jupyter on a local S3 server with sample notebooks (or on --bucket)",
        description="Start a local S3 server (moto) with a bucket and sample notebooks, check "
        "it, and run Jupyter Notebook 7 on it (JupyterLab with --lab). Ctrl-C stops "
        "everything. With --bucket, use that bucket (credentials from the usual AWS chain) "
        "and write nothing to it. Arguments after -- go to Jupyter.",
    )
    demo.add_argument("--lab", action="store_true", help="JupyterLab instead of Notebook")
    browser = demo.add_mutually_exclusive_group()
    browser.add_argument(
        "--no-browser",
        dest="browser",
        action="store_false",
        default=None,
        help="do not open a browser (the default when there is no display)",
    )
    browser.add_argument("--browser", dest="browser", action="store_true", help="open one")
    demo.add_argument("--port", type=int, default=0, help="Jupyter's port (default: a free one)")
    _add_target_options(demo, demo=True)
    demo.add_argument("jupyter_args", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)

    check = sub.add_parser(
        "check",
        help="check a JupyterS3 configuration end to end",
        description=(__doc__ or "").split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_target_options(check, demo=False)
    check.add_argument(
        "--config", metavar="FILE", help="a Jupyter config file (default: Jupyter's own)"
    )
    check.add_argument(
        "--orphans",
        action="store_true",
        help="also look for checkpoints whose file is gone (lists every key under the prefix)",
    )
    check.add_argument(
        "--remove-orphans", action="store_true", help="look for them and remove them"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``jupyters3`` command line; returns the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    try:
        if args.command == "check":
            return check_command(args)
        from .demo import demo_command

        return demo_command(args)
    except KeyboardInterrupt:
        return 130
