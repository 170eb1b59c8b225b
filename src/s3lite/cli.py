"""``s3lite``: a small S3 command line shaped like ``aws s3`` (also ``python -m s3lite``).

Commands: ``ls``, ``cp``, ``rm``, ``cat``, ``presign``. Objects are ``s3://bucket/key``
URLs. ``--endpoint-url``, ``--region``, ``--profile``, ``--no-verify-ssl`` and
``--debug`` may come before or after the command and its arguments.

Exit codes are those the AWS CLI documents (see :data:`EXIT_CODES`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import mimetypes
import os
import stat
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import IO, TextIO, cast

from . import __version__
from .client import S3Client
from .config import ConfigError
from .credentials import CredentialsError, NoCredentialsError
from .errors import S3Error, TransportError
from .models import CommonPrefix, ObjectInfo, ObjectSummary

__all__ = [
    "EXIT_CODES",
    "S3Url",
    "Transfer",
    "build_parser",
    "human_size",
    "join_key",
    "local_path_for",
    "main",
    "parse_s3_url",
    "render_progress",
    "single_key",
]

log = logging.getLogger("s3lite.cli")

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
EXIT_BAD_ARGS = 252
EXIT_CONFIG = 253
EXIT_SERVICE = 254
EXIT_ERROR = 255

#: The exit codes, as the AWS CLI documents them for ``aws s3``.
EXIT_CODES: dict[int, str] = {
    EXIT_OK: "success",
    EXIT_FAILED: "one or more transfers or deletes failed (cp, rm, cat); "
    "ls found nothing under the given prefix",
    EXIT_USAGE: "the command line could not be parsed; or some local files were skipped "
    "(unreadable, special files, unsafe key names) while all others were transferred",
    EXIT_INTERRUPTED: "interrupted (Ctrl-C)",
    EXIT_BAD_ARGS: "an argument value is invalid (not an s3:// URL, a folder without -r, ...)",
    EXIT_CONFIG: "no usable credentials or configuration (missing keys, unknown profile)",
    EXIT_SERVICE: "S3 answered with an error (ls of a missing bucket, access denied, ...)",
    EXIT_ERROR: "any other failure (endpoint unreachable, unexpected error)",
}

# Transfers at least this large show a progress bar (on a terminal).
PROGRESS_MIN_BYTES = 8 * 1024 * 1024
# Objects transferred at once by a recursive cp.
RECURSIVE_CONCURRENCY = 8


class UsageError(Exception):
    """An argument is well-formed for the parser but makes no sense (exit 252)."""


# -- pure parts -------------------------------------------------------------------


@dataclass(frozen=True)
class S3Url:
    """``s3://bucket/key``; ``key`` may be empty or a prefix."""

    bucket: str
    key: str = ""

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


def parse_s3_url(text: str) -> S3Url | None:
    """The bucket and key of an ``s3://`` URL; None if ``text`` is not one.
    Raises :class:`UsageError` for an ``s3://`` URL without a bucket."""
    if not text.lower().startswith("s3://"):
        return None
    bucket, _, key = text[5:].partition("/")
    if not bucket:
        raise UsageError(f"{text!r} has no bucket name: use s3://bucket/key")
    return S3Url(bucket, key)


def join_key(prefix: str, rel: str) -> str:
    """``rel`` under the key prefix ``prefix`` ('' = bucket root), joined with one '/'."""
    if not prefix:
        return rel
    return prefix + rel if prefix.endswith("/") else f"{prefix}/{rel}"


def single_key(dest_key: str, name: str) -> str:
    """The key a single object named ``name`` gets when copied to ``dest_key``: a
    destination ending in '/' (or the bucket itself) is a folder, as with ``aws s3 cp``."""
    return dest_key + name if not dest_key or dest_key.endswith("/") else dest_key


def folder_prefix(key: str) -> str:
    """The prefix a recursive command works under: ``key`` as a folder ('a' -> 'a/')."""
    return key if not key or key.endswith("/") else key + "/"


def local_path_for(root: str, rel: str) -> str | None:
    """Where the key part ``rel`` lands under the local folder ``root``; None if it
    would land outside ``root`` (a '..' component). Empty components are dropped."""
    parts = rel.split("/")
    if any(p == ".." for p in parts):
        return None
    parts = [p for p in parts if p not in ("", ".")]
    return os.path.join(root, *parts) if parts else root


def human_size(size: float) -> str:
    """A size as ``aws s3 ls --human-readable`` shows it (``"1.5 MiB"``, ``"12 Bytes"``)."""
    if size < 1024:
        return "1 Byte" if size == 1 else f"{int(size)} Bytes"
    for unit in ("KiB", "MiB", "GiB", "TiB", "PiB"):
        size /= 1024
        if size < 1024 or unit == "PiB":
            break
    return f"{size:.1f} {unit}"


def render_progress(
    done: int, total: int | None, elapsed: float, files_left: int, width: int = 24
) -> str:
    """One progress line: bar, percentage, bytes, rate, files left."""
    rate = f"{human_size(done / elapsed)}/s" if elapsed > 0 else "-"
    left = f", {files_left} file(s) remaining" if files_left > 1 else ""
    if total:
        frac = min(done / total, 1.0)
        bar = "#" * int(frac * width)
        return (
            f"[{bar:<{width}}] {frac * 100:3.0f}% "
            f"{human_size(done)}/{human_size(total)} ({rate}){left}"
        )
    return f"Completed {human_size(done)} ({rate}){left}"


def list_line(entry: ObjectSummary | CommonPrefix, *, full_key: bool, human: bool) -> str:
    """One line of ``ls`` output, laid out as ``aws s3 ls`` does."""
    if isinstance(entry, CommonPrefix):
        name = entry.prefix.rstrip("/").rsplit("/", 1)[-1]
        return f"{'PRE':>30} {name}/"
    when = entry.last_modified.astimezone().strftime("%Y-%m-%d %H:%M:%S")
    size = human_size(entry.size) if human else str(entry.size)
    name = entry.key if full_key else entry.key.rsplit("/", 1)[-1]
    return f"{when} {size:>10} {name}"


@dataclass(frozen=True)
class Transfer:
    """One object to move: local path or ``-`` (stdio) or S3 URL, each side."""

    source: S3Url | str
    dest: S3Url | str
    size: int | None = None

    @property
    def verb(self) -> str:
        if isinstance(self.source, S3Url):
            return "copy" if isinstance(self.dest, S3Url) else "download"
        return "upload"

    def describe(self) -> str:
        return f"{self.source} to {self.dest}"


# -- output and progress ----------------------------------------------------------


class Output:
    """Status lines on stdout, errors on stderr, and an optional progress line on
    stderr (a terminal) that status lines are written around."""

    def __init__(self, *, quiet: bool = False) -> None:
        self.quiet = quiet
        self.stdout = sys.stdout
        self.stderr = sys.stderr
        self.progress: Progress | None = None

    def status(self, line: str) -> None:
        if not self.quiet:
            self._clear()
            print(line, file=self.stdout, flush=True)

    def error(self, line: str) -> None:
        self._clear()
        print(line, file=self.stderr, flush=True)

    def _clear(self) -> None:
        if self.progress is not None:
            self.progress.clear()


class Progress:
    """Bytes done out of a total, drawn on a terminal every 0.1 s while running."""

    def __init__(self, stream: TextIO, total: int | None, files: int) -> None:
        self.stream = stream
        self.total = total
        self.files_left = files
        self.done = 0
        self._lock = threading.Lock()  # bytes are counted from file-reading threads too
        self._started = time.monotonic()
        self._shown = False

    def add(self, n: int) -> None:
        with self._lock:
            self.done += n

    def file_done(self) -> None:
        self.files_left -= 1

    def draw(self) -> None:
        line = render_progress(
            self.done, self.total, time.monotonic() - self._started, self.files_left
        )
        self.stream.write(f"\r{line}\x1b[K")
        self.stream.flush()
        self._shown = True

    def clear(self) -> None:
        if self._shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self._shown = False

    async def run(self) -> None:
        """Redraw until cancelled, then erase the line (status lines tell the outcome)."""
        try:
            while True:
                self.draw()
                await asyncio.sleep(0.1)
        finally:
            self.draw()
            self.clear()


def _wants_progress(args: argparse.Namespace, total: int | None, streaming: bool) -> bool:
    if args.quiet or args.no_progress or not sys.stderr.isatty():
        return False
    return streaming or (total is not None and total >= PROGRESS_MIN_BYTES)


class _CountingReader:
    """A binary file whose reads are counted into a :class:`Progress`."""

    def __init__(self, f: IO[bytes], progress: Progress | None) -> None:
        self._f = f
        self._progress = progress

    def read(self, n: int = -1) -> bytes:
        data = self._f.read(n)
        if self._progress is not None:
            self._progress.add(len(data))
        return data


# -- the commands -----------------------------------------------------------------


def _s3_url(text: str, what: str = "this command") -> S3Url:
    url = parse_s3_url(text)
    if url is None:
        raise UsageError(f"{what} needs an s3://bucket/key URL, not {text!r}")
    return url


async def cmd_ls(s3: S3Client, args: argparse.Namespace, out: Output) -> int:
    if args.path is None:  # as `aws s3 ls`: the buckets
        for bucket in await s3.list_buckets():
            print(f"{bucket.created.astimezone():%Y-%m-%d %H:%M:%S} {bucket.name}")
        return EXIT_OK
    url = _s3_url(args.path, "ls")
    delimiter = None if args.recursive else "/"
    found = False
    count = total = 0
    async for entry in s3.list_objects(url.bucket, url.key, delimiter):
        print(list_line(entry, full_key=args.recursive, human=args.human_readable))
        found = True
        if isinstance(entry, ObjectSummary):
            count += 1
            total += entry.size
    if args.summarize:
        size = human_size(total) if args.human_readable else str(total)
        print(f"\nTotal Objects: {count}\n   Total Size: {size}")
    sys.stdout.flush()
    # As `aws s3 ls`: listing a prefix with nothing under it is a failure (1).
    return EXIT_FAILED if url.key and not found else EXIT_OK


async def cmd_cat(s3: S3Client, args: argparse.Namespace, out: Output) -> int:
    url = _s3_url(args.path, "cat")
    if not url.key or url.key.endswith("/"):
        raise UsageError(f"{url} is not an object key")
    sys.stdout.flush()
    try:
        await s3.get_object(url.bucket, url.key, sink=_to_stdout)
        sys.stdout.buffer.flush()
    except S3Error as exc:
        out.error(f"cat failed: {url} {exc}")
        return EXIT_FAILED
    return EXIT_OK


def _to_stdout(chunk: bytes) -> None:
    sys.stdout.buffer.write(chunk)


async def cmd_presign(s3: S3Client, args: argparse.Namespace, out: Output) -> int:
    url = _s3_url(args.path, "presign")
    if not url.key:
        raise UsageError(f"{url} is not an object key")
    try:
        print(s3.presign_url("GET", url.bucket, url.key, expires_in=args.expires_in))
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    return EXIT_OK


async def cmd_rm(s3: S3Client, args: argparse.Namespace, out: Output) -> int:
    url = _s3_url(args.path, "rm")
    if not args.recursive:
        if not url.key:
            raise UsageError(f"{url} is a bucket: use -r/--recursive to delete everything in it")
        try:
            await s3.delete_object(url.bucket, url.key)
        except S3Error as exc:
            out.error(f"delete failed: {url} {exc}")
            return EXIT_FAILED
        out.status(f"delete: {url}")
        return EXIT_OK
    prefix = folder_prefix(url.key)
    keys = [
        e.key async for e in s3.list_objects(url.bucket, prefix) if isinstance(e, ObjectSummary)
    ]
    errors = {e.key: e for e in await s3.delete_objects(url.bucket, keys)}
    for key in keys:
        if key in errors:
            err = errors[key]
            out.error(f"delete failed: s3://{url.bucket}/{key} {err.code}: {err.message}")
        else:
            out.status(f"delete: s3://{url.bucket}/{key}")
    return EXIT_FAILED if errors else EXIT_OK


async def cmd_cp(s3: S3Client, args: argparse.Namespace, out: Output) -> int:
    src_url = parse_s3_url(args.source)
    dst_url = parse_s3_url(args.dest)
    if src_url is None and dst_url is None:
        raise UsageError("cp needs at least one s3:// URL (local to local is not a transfer)")
    if args.recursive and "-" in (args.source, args.dest):
        raise UsageError("'-' (stdin/stdout) cannot be used with -r/--recursive")
    skipped: list[str] = []
    if src_url is None:
        assert dst_url is not None
        transfers = _plan_upload(args.source, dst_url, args.recursive, skipped)
    elif dst_url is None:
        transfers = await _plan_download(s3, src_url, args.dest, args.recursive, skipped)
    else:
        transfers = await _plan_copy(s3, src_url, dst_url, args.recursive)
    for reason in skipped:
        out.error(f"warning: Skipping {reason}")
    failed = await _transfer_all(s3, transfers, args, out)
    if failed:
        return EXIT_FAILED
    if skipped:
        return EXIT_USAGE
    if args.recursive and not transfers and src_url is not None:
        out.error(f"warning: nothing found under {src_url.bucket}/{folder_prefix(src_url.key)}")
    return EXIT_OK


def _plan_upload(source: str, dest: S3Url, recursive: bool, skipped: list[str]) -> list[Transfer]:
    if source == "-":
        if not dest.key or dest.key.endswith("/"):
            raise UsageError("uploading stdin ('-') needs a full key: s3://bucket/key")
        return [Transfer("-", dest)]
    if not os.path.exists(source):
        raise UsageError(f"The user-provided path {source} does not exist.")
    if not recursive:
        if os.path.isdir(source):
            raise UsageError(f"{source} is a directory: use -r/--recursive")
        name = os.path.basename(source)
        return [Transfer(source, S3Url(dest.bucket, single_key(dest.key, name)), _size(source))]
    if not os.path.isdir(source):
        raise UsageError(f"{source} is not a directory (drop -r/--recursive to copy a file)")
    transfers = []
    for dirpath, dirnames, filenames in os.walk(source):
        dirnames.sort()
        for name in sorted(filenames):
            path = os.path.join(dirpath, name)
            try:
                info = os.stat(path)
            except OSError:
                skipped.append(f"file {path}. File does not exist (broken link?).")
                continue
            if not stat.S_ISREG(info.st_mode):
                skipped.append(f"file {path}. File is a special file (socket, FIFO, device).")
                continue
            if not os.access(path, os.R_OK):
                skipped.append(f"file {path}. File/Directory is not readable.")
                continue
            rel = os.path.relpath(path, source).replace(os.sep, "/")
            key = join_key(dest.key, rel)
            transfers.append(Transfer(path, S3Url(dest.bucket, key), info.st_size))
    return transfers


async def _plan_download(
    s3: S3Client, source: S3Url, dest: str, recursive: bool, skipped: list[str]
) -> list[Transfer]:
    if not recursive:
        if not source.key or source.key.endswith("/"):
            raise UsageError(f"{source} is a folder: use -r/--recursive")
        if dest == "-":
            return [Transfer(source, "-")]
        if os.path.isdir(dest) or dest.endswith(("/", os.sep)):
            dest = os.path.join(dest, source.key.rsplit("/", 1)[-1])
        try:  # the size, for the progress bar; a missing key fails as the transfer
            size: int | None = (await s3.head_object(source.bucket, source.key)).size
        except S3Error:
            size = None
        return [Transfer(source, dest, size)]
    prefix = folder_prefix(source.key)
    transfers = []
    async for entry in s3.list_objects(source.bucket, prefix):
        assert isinstance(entry, ObjectSummary)
        path = local_path_for(dest, entry.key[len(prefix) :])
        if path is None:
            skipped.append(f"s3://{source.bucket}/{entry.key}: its key leaves the target folder")
            continue
        transfers.append(Transfer(S3Url(source.bucket, entry.key), path, entry.size))
    return transfers


async def _plan_copy(s3: S3Client, source: S3Url, dest: S3Url, recursive: bool) -> list[Transfer]:
    if not recursive:
        if not source.key or source.key.endswith("/"):
            raise UsageError(f"{source} is a folder: use -r/--recursive")
        name = source.key.rsplit("/", 1)[-1]
        return [Transfer(source, S3Url(dest.bucket, single_key(dest.key, name)))]
    prefix = folder_prefix(source.key)
    return [
        Transfer(
            S3Url(source.bucket, e.key),
            S3Url(dest.bucket, join_key(dest.key, e.key[len(prefix) :])),
            e.size,
        )
        async for e in s3.list_objects(source.bucket, prefix)
        if isinstance(e, ObjectSummary)
    ]


def _size(path: str) -> int | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_size if stat.S_ISREG(info.st_mode) else None


async def _transfer_all(
    s3: S3Client, transfers: list[Transfer], args: argparse.Namespace, out: Output
) -> int:
    """Run the transfers (a few at a time); returns how many failed."""
    sizes = [t.size for t in transfers]
    total = None if None in sizes else sum(s for s in sizes if s is not None)
    to_stdout = any(t.dest == "-" for t in transfers)
    from_stdin = any(t.source == "-" for t in transfers)
    progress = None
    if transfers and not to_stdout and _wants_progress(args, total, from_stdin):
        progress = Progress(sys.stderr, total, len(transfers))
    out.progress = progress
    ticker = asyncio.ensure_future(progress.run()) if progress else None
    slots = asyncio.Semaphore(RECURSIVE_CONCURRENCY)
    failed = 0

    async def one(t: Transfer) -> None:
        nonlocal failed
        async with slots:
            try:
                await _transfer(s3, t, args, progress)
            except (S3Error, OSError) as exc:
                failed += 1
                out.error(f"{t.verb} failed: {t.describe()} {_reason(exc)}")
            else:
                if t.dest != "-":
                    out.status(f"{t.verb}: {t.describe()}")
            finally:
                if progress:
                    progress.file_done()

    try:
        await asyncio.gather(*(one(t) for t in transfers))
    finally:
        if ticker is not None:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker
        out.progress = None
    return failed


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror
    return str(exc)


async def _transfer(
    s3: S3Client, t: Transfer, args: argparse.Namespace, progress: Progress | None
) -> None:
    src, dst = t.source, t.dest
    if isinstance(src, S3Url) and isinstance(dst, S3Url):
        size = t.size
        if size is None:  # a single copy: find the size (and a clean NoSuchKey) first
            size = (await s3.head_object(src.bucket, src.key)).size
        await s3.copy_object(src.bucket, src.key, dst.bucket, dst.key, size=size)
        if progress:
            progress.add(size)
    elif isinstance(src, S3Url):
        assert isinstance(dst, str)
        if dst == "-":
            await s3.get_object(src.bucket, src.key, sink=_to_stdout)
            sys.stdout.buffer.flush()
        else:
            await _download(s3, src, dst, progress)
    else:
        assert isinstance(dst, S3Url)
        content_type = args.content_type
        if src == "-":
            body = _CountingReader(sys.stdin.buffer, progress)
            await s3.put_object(
                dst.bucket, dst.key, cast(IO[bytes], body), content_type=content_type
            )
            return
        if content_type is None:
            content_type = mimetypes.guess_type(src)[0]
        with open(src, "rb") as f:
            body = _CountingReader(f, progress)
            await s3.put_object(
                dst.bucket, dst.key, cast(IO[bytes], body), content_type=content_type
            )


async def _download(s3: S3Client, src: S3Url, path: str, progress: Progress | None) -> ObjectInfo:
    """Stream an object into ``path`` atomically (a temporary file, then a rename)."""
    if src.key.endswith("/"):  # a folder marker: the folder, not a file
        os.makedirs(path, exist_ok=True)
        return await s3.head_object(src.bucket, src.key)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    return await s3.download_file(
        src.bucket, src.key, path, progress=progress.add if progress else None
    )


Command = Callable[[S3Client, argparse.Namespace, Output], Awaitable[int]]
COMMANDS: dict[str, Command] = {
    "ls": cmd_ls,
    "cp": cmd_cp,
    "rm": cmd_rm,
    "cat": cmd_cat,
    "presign": cmd_presign,
}


# -- argument parsing and main ------------------------------------------------------

_EPILOG = "exit codes:\n" + "\n".join(f"  {code:>3}  {text}" for code, text in EXIT_CODES.items())


def build_parser() -> argparse.ArgumentParser:
    """The argument parser; global options are accepted before or after the command."""
    common = argparse.ArgumentParser(add_help=False)
    opts = common.add_argument_group("global options")
    S = argparse.SUPPRESS  # unset unless given, so a later parser does not reset it
    opts.add_argument("--endpoint-url", metavar="URL", default=S, help="S3 endpoint (MinIO...)")
    opts.add_argument("--region", default=S, help="AWS region (default: environment/profile)")
    opts.add_argument("--profile", default=S, help="profile of ~/.aws/config for credentials")
    opts.add_argument(
        "--no-verify-ssl", action="store_true", default=S, help="do not verify TLS certificates"
    )
    opts.add_argument("--debug", action="store_true", default=S, help="log every request")

    fmt = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(
        prog="s3lite",
        description="A small S3 command line, shaped like `aws s3`.",
        epilog=_EPILOG,
        formatter_class=fmt,
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"s3lite {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def command(name: str, help: str) -> argparse.ArgumentParser:
        return sub.add_parser(
            name, help=help, description=help, parents=[common], epilog=_EPILOG, formatter_class=fmt
        )

    ls = command("ls", "list objects and folders under s3://bucket/[prefix]")
    ls.add_argument("path", nargs="?", metavar="s3://bucket/[prefix]")
    ls.add_argument("-r", "--recursive", action="store_true", help="every key, no folders")
    ls.add_argument("--human-readable", action="store_true", help="sizes in KiB, MiB, ...")
    ls.add_argument("--summarize", action="store_true", help="print totals at the end")

    cp = command(
        "cp",
        "copy local to S3, S3 to local, or S3 to S3 (server-side); '-' is stdin/stdout",
    )
    cp.add_argument("source", metavar="SOURCE")
    cp.add_argument("dest", metavar="DEST")
    cp.add_argument("-r", "--recursive", action="store_true", help="copy a folder / prefix")
    cp.add_argument("--content-type", help="Content-Type of uploads (default: guessed)")
    cp.add_argument("--quiet", action="store_true", help="print errors only")
    cp.add_argument("--no-progress", action="store_true", help="no progress bar")

    rm = command("rm", "delete an object, or with -r everything under a prefix")
    rm.add_argument("path", metavar="s3://bucket/key")
    rm.add_argument("-r", "--recursive", action="store_true", help="delete under a prefix")
    rm.add_argument("--quiet", action="store_true", help="print errors only")

    cat = command("cat", "write an object to stdout")
    cat.add_argument("path", metavar="s3://bucket/key")

    presign = command("presign", "print a presigned GET URL for an object")
    presign.add_argument("path", metavar="s3://bucket/key")
    presign.add_argument(
        "--expires-in", type=int, default=3600, metavar="SECONDS", help="default 3600 (1 hour)"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a parse error (2)
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    for name in ("endpoint_url", "region", "profile", "no_verify_ssl", "debug"):
        if not hasattr(args, name):
            setattr(args, name, None)
    for name in ("quiet", "no_progress", "recursive", "content_type"):
        if not hasattr(args, name):
            setattr(args, name, None)
    if args.debug:
        logging.basicConfig(level=logging.DEBUG, format="%(asctime)s %(name)s %(message)s")
    try:
        return asyncio.run(_run(args))
    except KeyboardInterrupt:
        print("cancelled: ctrl-c received", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`s3lite ls ... | head`): no traceback, no more output.
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILED


async def _run(args: argparse.Namespace) -> int:
    out = Output(quiet=bool(args.quiet))
    try:
        s3 = S3Client(
            args.region,
            args.endpoint_url,
            profile=args.profile,
            verify=not args.no_verify_ssl,
        )
    except (ConfigError, CredentialsError) as exc:
        return _fail(EXIT_CONFIG, exc)
    except ValueError as exc:
        return _fail(EXIT_BAD_ARGS, exc)
    try:
        async with s3:
            await s3.get_credentials()  # no credentials: say so before doing anything
            return await COMMANDS[args.command](s3, args, out)
    except UsageError as exc:
        return _fail(EXIT_BAD_ARGS, exc)
    except (NoCredentialsError, CredentialsError, ConfigError) as exc:
        return _fail(EXIT_CONFIG, exc)
    except TransportError as exc:
        return _fail(EXIT_ERROR, exc)
    except S3Error as exc:
        return _fail(EXIT_SERVICE, exc)
    except ValueError as exc:
        return _fail(EXIT_BAD_ARGS, exc)


def _fail(code: int, exc: BaseException) -> int:
    print(f"s3lite: error: {exc}", file=sys.stderr)
    return code
