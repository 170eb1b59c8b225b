"""The ``s3lite`` command line against moto, cross-checked with boto3.

Most tests call :func:`s3lite.cli.main` in-process (fast); the ones about the
process itself (``python -m s3lite``, pipes, a terminal, Ctrl-C) run it as a
subprocess.
"""

from __future__ import annotations

import contextlib
import os
import pty
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from s3lite.cli import (
    S3Url,
    UsageError,
    human_size,
    join_key,
    local_path_for,
    main,
    parse_s3_url,
    render_progress,
    single_key,
)
from tests.loopback import unused_port
from tests.motoserver import MotoServer


@pytest.fixture
def aws_env(moto: MotoServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Credentials for moto in the environment, and nothing else of the user's AWS setup."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    env = {
        "AWS_ACCESS_KEY_ID": moto.access_key_id,
        "AWS_SECRET_ACCESS_KEY": moto.secret_access_key,
        "AWS_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(tmp_path / "no-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


class Cli:
    """Runs ``s3lite`` in-process against the moto server."""

    def __init__(self, endpoint: str, capfd: pytest.CaptureFixture[str]) -> None:
        self.endpoint = endpoint
        self.capfd = capfd

    def __call__(self, *args: str) -> tuple[int, str, str]:
        self.capfd.readouterr()
        code = main([*args, "--endpoint-url", self.endpoint])
        out, err = self.capfd.readouterr()
        return code, out, err


@pytest.fixture
def cli(moto: MotoServer, aws_env: dict[str, str], capfd: pytest.CaptureFixture[str]) -> Cli:
    return Cli(moto.endpoint_url, capfd)


def _keys(moto: MotoServer, bucket: str, prefix: str = "") -> list[str]:
    resp = moto.boto3_client().list_objects_v2(Bucket=bucket, Prefix=prefix)
    return [o["Key"] for o in resp.get("Contents", [])]


def _body(moto: MotoServer, bucket: str, key: str) -> bytes:
    return moto.boto3_client().get_object(Bucket=bucket, Key=key)["Body"].read()  # type: ignore[no-any-return]


def _tree(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


# -- the pure parts (no server) ----------------------------------------------------


def test_urls_keys_and_local_paths() -> None:
    assert parse_s3_url("s3://b/a/b c") == S3Url("b", "a/b c")
    assert parse_s3_url("S3://b") == S3Url("b", "")
    assert parse_s3_url("/local/s3://x") is None
    with pytest.raises(UsageError):
        parse_s3_url("s3:///k")
    assert [join_key(p, "x/y") for p in ("", "a", "a/")] == ["x/y", "a/x/y", "a/x/y"]
    assert [single_key(k, "f.txt") for k in ("", "d/", "d/name")] == ["f.txt", "d/f.txt", "d/name"]
    assert local_path_for("/t", "a//b/./c") == os.path.join("/t", "a", "b", "c")
    assert local_path_for("/t", "a/../../x") is None
    assert local_path_for("/t", "") == "/t"


def test_sizes_and_progress_lines() -> None:
    assert [human_size(n) for n in (0, 1, 1023, 1024, 1536 * 1024, 3 * 1024**4)] == [
        "0 Bytes",
        "1 Byte",
        "1023 Bytes",
        "1.0 KiB",
        "1.5 MiB",
        "3.0 TiB",
    ]
    line = render_progress(5 * 1024**2, 10 * 1024**2, 2.0, 3, width=10)
    assert line == "[#####     ]  50% 5.0 MiB/10.0 MiB (2.5 MiB/s), 3 file(s) remaining"
    assert render_progress(2048, None, 1.0, 1) == "Completed 2.0 KiB (2.0 KiB/s)"


# -- cp ---------------------------------------------------------------------------


def test_cp_uploads_a_file_boto3_reads(
    cli: Cli, moto: MotoServer, bucket: str, tmp_path: Path
) -> None:
    src = tmp_path / "notes.txt"
    src.write_text("hello")
    code, out, err = cli("cp", str(src), f"s3://{bucket}/docs/")
    assert (code, err) == (0, "")
    assert out == f"upload: {src} to s3://{bucket}/docs/notes.txt\n"
    head = moto.boto3_client().head_object(Bucket=bucket, Key="docs/notes.txt")
    assert head["ContentType"] == "text/plain"  # guessed from the name
    assert _body(moto, bucket, "docs/notes.txt") == b"hello"
    # a destination not ending in '/' is the key itself; the bucket alone is its root
    assert cli("cp", str(src), f"s3://{bucket}/renamed")[0] == 0
    assert cli("cp", str(src), f"s3://{bucket}", "--content-type", "x/y")[0] == 0
    assert _keys(moto, bucket) == ["docs/notes.txt", "notes.txt", "renamed"]
    assert moto.boto3_client().head_object(Bucket=bucket, Key="notes.txt")["ContentType"] == "x/y"


def test_cp_recursive_upload_of_a_tree(
    cli: Cli, moto: MotoServer, bucket: str, tmp_path: Path
) -> None:
    root = tmp_path / "site"
    files = {
        "index.html": b"<h1>hi</h1>",
        "a b/c d.txt": b"spaces",
        "deep/er/x.bin": bytes(range(256)) * 10,
        "ünï/çødé.txt": b"unicode",
        "empty": b"",
    }
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    code, out, err = cli("cp", "-r", str(root), f"s3://{bucket}/www")
    assert (code, err) == (0, "")
    assert len(out.splitlines()) == len(files)
    assert sorted(_keys(moto, bucket)) == sorted(f"www/{rel}" for rel in files)
    for rel, data in files.items():
        assert _body(moto, bucket, f"www/{rel}") == data


def test_cp_recursive_download_of_what_boto3_wrote(
    cli: Cli, moto: MotoServer, bucket: str, tmp_path: Path
) -> None:
    boto = moto.boto3_client()
    objects = {"p/a.txt": b"a", "p/sub/b.txt": b"b", "p/sub/": b"", "p/x/y/z": b"zzz"}
    for key, data in objects.items():
        boto.put_object(Bucket=bucket, Key=key, Body=data)
    boto.put_object(Bucket=bucket, Key="pother", Body=b"not under p/")
    dest = tmp_path / "out"
    code, out, err = cli("cp", "--recursive", f"s3://{bucket}/p", str(dest))
    assert (code, err) == (0, "")
    assert _tree(dest) == {"a.txt": b"a", "sub/b.txt": b"b", "x/y/z": b"zzz"}
    assert f"download: s3://{bucket}/p/x/y/z to {dest / 'x/y/z'}" in out.splitlines()


def test_cp_recursive_download_skips_keys_that_would_escape(
    cli: Cli, moto: MotoServer, bucket: str, tmp_path: Path
) -> None:
    boto = moto.boto3_client()
    boto.put_object(Bucket=bucket, Key="p/ok.txt", Body=b"ok")
    boto.put_object(Bucket=bucket, Key="p/../../evil.txt", Body=b"evil")
    dest = tmp_path / "a" / "b"
    code, _out, err = cli("cp", "-r", f"s3://{bucket}/p/", str(dest))
    assert code == 2  # as aws s3: some files skipped, the rest transferred
    assert "evil.txt" in err and "leaves the target folder" in err
    assert _tree(tmp_path) == {"a/b/ok.txt": b"ok"}


def test_cp_one_failed_object_in_a_recursive_copy_exits_1(
    cli: Cli, moto: MotoServer, bucket: str, tmp_path: Path
) -> None:
    boto = moto.boto3_client()
    for key in ("p/1", "p/2", "p/3"):
        boto.put_object(Bucket=bucket, Key=key, Body=key.encode())
    dest = tmp_path / "out"
    (dest / "2").mkdir(parents=True)  # a folder where the file "2" must go
    code, out, err = cli("cp", "-r", f"s3://{bucket}/p", str(dest))
    assert code == 1
    assert f"download failed: s3://{bucket}/p/2 to {dest / '2'}" in err
    assert (dest / "1").read_bytes() == b"p/1" and (dest / "3").read_bytes() == b"p/3"
    assert len(out.splitlines()) == 2
    assert [p.name for p in dest.iterdir() if p.name.startswith(".")] == []  # no temp files


def test_cp_single_download_to_a_folder_or_a_file(
    cli: Cli, moto: MotoServer, bucket: str, tmp_path: Path
) -> None:
    data = os.urandom(100_000)
    moto.boto3_client().put_object(Bucket=bucket, Key="dir/data.bin", Body=data)
    assert cli("cp", f"s3://{bucket}/dir/data.bin", str(tmp_path))[0] == 0
    assert (tmp_path / "data.bin").read_bytes() == data
    code, out, _ = cli("cp", f"s3://{bucket}/dir/data.bin", str(tmp_path / "new" / "name"))
    assert code == 0 and out.startswith("download: ")
    assert (tmp_path / "new" / "name").read_bytes() == data


def test_cp_missing_object_fails_with_1(cli: Cli, bucket: str, tmp_path: Path) -> None:
    code, out, err = cli("cp", f"s3://{bucket}/nope", str(tmp_path / "x"))
    assert (code, out) == (1, "")
    assert err.startswith(f"download failed: s3://{bucket}/nope to ") and "NoSuchKey" in err
    assert list(tmp_path.iterdir()) == []


def test_cp_s3_to_s3_server_side(cli: Cli, moto: MotoServer, bucket: str) -> None:
    boto = moto.boto3_client()
    other = bucket + "-dst"
    boto.create_bucket(Bucket=other)
    boto.put_object(Bucket=bucket, Key="src/one.txt", Body=b"1", Metadata={"tag": "x"})
    boto.put_object(Bucket=bucket, Key="src/sub/two.txt", Body=b"22")
    code, out, _ = cli("cp", f"s3://{bucket}/src/one.txt", f"s3://{other}/")
    assert code == 0 and out == f"copy: s3://{bucket}/src/one.txt to s3://{other}/one.txt\n"
    assert boto.head_object(Bucket=other, Key="one.txt")["Metadata"] == {"tag": "x"}
    assert cli("cp", "-r", f"s3://{bucket}/src", f"s3://{other}/backup/")[0] == 0
    assert sorted(_keys(moto, other, "backup/")) == ["backup/one.txt", "backup/sub/two.txt"]
    assert _body(moto, other, "backup/sub/two.txt") == b"22"


def test_cp_argument_errors(cli: Cli, bucket: str, tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    cases = [
        (("cp", str(tmp_path / "a"), str(tmp_path / "b")), 252, "at least one s3://"),
        (("cp", str(tmp_path / "missing"), f"s3://{bucket}/"), 252, "does not exist"),
        (("cp", str(tmp_path / "d"), f"s3://{bucket}/"), 252, "-r/--recursive"),
        (("cp", f"s3://{bucket}/folder/", str(tmp_path)), 252, "is a folder"),
        (("cp", "-", f"s3://{bucket}/"), 252, "needs a full key"),
        (("cp", "-r", "-", f"s3://{bucket}/k"), 252, "'-'"),
        (("cp", "s3:///key", str(tmp_path)), 252, "no bucket"),
        (("cp", f"s3://{bucket}/k"), 2, "required: DEST"),
        (("cp", "-x", "a", "b"), 2, "unrecognized arguments: -x"),
    ]
    for args, want_code, want_text in cases:
        code, _out, err = cli(*args)
        assert (code, want_text in err) == (want_code, True), (args, err)


# -- rm, cat, presign, ls ------------------------------------------------------------


def test_rm_one_object_and_recursive(cli: Cli, moto: MotoServer, bucket: str) -> None:
    boto = moto.boto3_client()
    for key in ("d/1", "d/2", "d/sub/3", "dx", "keep"):
        boto.put_object(Bucket=bucket, Key=key, Body=b"x")
    code, out, _ = cli("rm", f"s3://{bucket}/keep")
    assert (code, out) == (0, f"delete: s3://{bucket}/keep\n")
    assert cli("rm", f"s3://{bucket}/keep")[0] == 0  # already gone: not an error, as in S3
    code, out, _ = cli("rm", "-r", f"s3://{bucket}/d")
    assert code == 0 and len(out.splitlines()) == 3
    assert _keys(moto, bucket) == ["dx"]  # "d" means the folder d/, not every key starting "d"
    assert cli("rm", f"s3://{bucket}")[0] == 252  # a whole bucket needs -r


def test_cat_writes_the_exact_bytes(
    moto: MotoServer,
    aws_env: dict[str, str],
    bucket: str,
    capfdbinary: pytest.CaptureFixture[bytes],
) -> None:
    data = bytes(range(256)) * 1000
    moto.boto3_client().put_object(Bucket=bucket, Key="bin", Body=data)
    assert main(["cat", f"s3://{bucket}/bin", "--endpoint-url", moto.endpoint_url]) == 0
    assert capfdbinary.readouterr().out == data
    assert main(["cat", f"s3://{bucket}/none", "--endpoint-url", moto.endpoint_url]) == 1
    assert b"NoSuchKey" in capfdbinary.readouterr().err


def test_presign_gives_a_working_url(cli: Cli, moto: MotoServer, bucket: str) -> None:
    moto.boto3_client().put_object(Bucket=bucket, Key="shared.txt", Body=b"for you")
    code, out, _ = cli("presign", f"s3://{bucket}/shared.txt", "--expires-in", "120")
    assert code == 0 and "X-Amz-Expires=120" in out
    with urllib.request.urlopen(out.strip(), timeout=10) as resp:
        assert resp.read() == b"for you"
    code, _, err = cli("presign", f"s3://{bucket}/shared.txt", "--expires-in", "9999999")
    assert code == 252 and "7 days" in err


def test_ls_like_aws_s3_ls(cli: Cli, moto: MotoServer, bucket: str) -> None:
    boto = moto.boto3_client()
    boto.put_object(Bucket=bucket, Key="top.txt", Body=b"12345")
    boto.put_object(Bucket=bucket, Key="dir/a", Body=b"a" * 2048)
    boto.put_object(Bucket=bucket, Key="dir/sub/b", Body=b"b")
    when = boto.head_object(Bucket=bucket, Key="top.txt")["LastModified"]
    stamp = when.astimezone().strftime("%Y-%m-%d %H:%M:%S")

    code, out, _ = cli("ls", f"s3://{bucket}")
    assert code == 0
    assert out.splitlines() == [f"{'PRE':>30} dir/", f"{stamp}          5 top.txt"]

    code, out, _ = cli("ls", f"s3://{bucket}/dir/", "--human-readable", "--summarize")
    lines = out.splitlines()
    assert code == 0 and lines[0].endswith("   2.0 KiB a") and lines[1].endswith("PRE sub/")
    assert lines[-2:] == ["Total Objects: 1", "   Total Size: 2.0 KiB"]

    code, out, _ = cli("ls", "--recursive", f"s3://{bucket}")
    assert [line.split()[-1] for line in out.splitlines()] == ["dir/a", "dir/sub/b", "top.txt"]
    assert [int(line.split()[2]) for line in out.splitlines()] == [2048, 1, 5]


def test_ls_without_a_url_lists_the_buckets(cli: Cli, moto: MotoServer, bucket: str) -> None:
    code, out, _ = cli("ls")
    assert code == 0
    names = [line.split()[-1] for line in out.splitlines()]
    assert bucket in names
    created = moto.boto3_client().list_buckets()["Buckets"]
    assert len(names) == len(created)


def test_ls_exit_codes(cli: Cli, bucket: str) -> None:
    assert cli("ls", f"s3://{bucket}/nothing-here") == (1, "", "")  # as aws s3 ls
    assert cli("ls", f"s3://{bucket}")[0] == 0  # an empty bucket is not a failure
    code, _, err = cli("ls", f"s3://{bucket}-missing")
    assert code == 254 and "NoSuchBucket" in err
    code, _, err = cli("ls", "bucket-without-scheme")
    assert code == 252 and "s3://" in err
    assert cli("bogus")[0] == 2


def test_unreachable_endpoint_exits_255(
    aws_env: dict[str, str], capfd: pytest.CaptureFixture[str]
) -> None:
    port = unused_port()
    assert main(["ls", "s3://bucket", "--endpoint-url", f"http://127.0.0.1:{port}"]) == 255
    assert "s3lite: error:" in capfd.readouterr().err


# -- options, credentials --------------------------------------------------------------


def test_global_options_before_or_after_the_arguments(
    cli: Cli, moto: MotoServer, bucket: str, capfd: pytest.CaptureFixture[str]
) -> None:
    moto.boto3_client().put_object(Bucket=bucket, Key="k", Body=b"")
    url = f"s3://{bucket}/k"
    for args in (
        ["--region", "eu-west-3", "--endpoint-url", moto.endpoint_url, "presign", url],
        ["presign", "--region", "eu-west-3", url, "--endpoint-url", moto.endpoint_url],
        ["presign", url, "--endpoint-url", moto.endpoint_url, "--region", "eu-west-3"],
    ):
        capfd.readouterr()
        assert main(args) == 0
        out = capfd.readouterr().out
        assert out.startswith(f"{moto.endpoint_url}/{bucket}/k?") and "%2Feu-west-3%2Fs3%2F" in out


def test_profile_selects_shared_file_credentials(
    moto_auth: MotoServer,
    auth_bucket: str,
    aws_env: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    creds = tmp_path / "credentials"
    creds.write_text(
        "[default]\naws_access_key_id = AKIAWRONGWRONGWRONG\naws_secret_access_key = wrong\n"
        f"[work]\naws_access_key_id = {moto_auth.access_key_id}\n"
        f"aws_secret_access_key = {moto_auth.secret_access_key}\n"
    )
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(creds))
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    moto_auth.boto3_client().put_object(Bucket=auth_bucket, Key="secret", Body=b"s")
    ep = ["--endpoint-url", moto_auth.endpoint_url]

    assert main(["cat", f"s3://{auth_bucket}/secret", *ep, "--profile", "work"]) == 0
    assert capfd.readouterr().out == "s"
    assert main(["--profile", "work", "ls", f"s3://{auth_bucket}", *ep]) == 0
    capfd.readouterr()
    assert main(["ls", f"s3://{auth_bucket}", *ep]) == 254  # the default profile's bad keys
    capfd.readouterr()
    assert main(["ls", f"s3://{auth_bucket}", *ep, "--profile", "nope"]) == 253
    assert "nope" in capfd.readouterr().err


def test_no_credentials_exits_253(
    aws_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    assert main(["ls", "s3://bucket", "--endpoint-url", "http://127.0.0.1:9"]) == 253
    err = capfd.readouterr().err
    assert "no AWS credentials found" in err and "AWS_ACCESS_KEY_ID" in err


# -- as a process: pipes, a terminal, Ctrl-C ---------------------------------------------


def _run(
    env: dict[str, str], *args: str, input: bytes | None = None, endpoint: str
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "s3lite", *args, "--endpoint-url", endpoint],
        input=input,
        capture_output=True,
        env={**os.environ, **env},
        timeout=120,
        check=False,
    )


def test_python_m_s3lite_streams_stdin_and_stdout(
    moto: MotoServer, aws_env: dict[str, str], bucket: str
) -> None:
    data = os.urandom(9 * 1024 * 1024 + 17)  # above the multipart threshold
    up = _run(aws_env, "cp", "-", f"s3://{bucket}/piped", input=data, endpoint=moto.endpoint_url)
    assert up.returncode == 0, up.stderr
    assert up.stderr == b""  # not a terminal: no progress bar
    assert _body(moto, bucket, "piped") == data
    down = _run(aws_env, "cp", f"s3://{bucket}/piped", "-", endpoint=moto.endpoint_url)
    assert down.returncode == 0 and down.stdout == data


def _run_in_terminal(env: dict[str, str], *args: str) -> tuple[int, bytes, bytes]:
    """Run with stderr on a pseudo-terminal; returns (code, stdout, terminal output)."""
    controller, terminal = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "s3lite", *args],
        stdout=subprocess.PIPE,
        stderr=terminal,
        env={**os.environ, **env},
    )
    os.close(terminal)
    seen = b""
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        seen += chunk
    os.close(controller)
    assert proc.stdout is not None
    out = proc.stdout.read()
    proc.stdout.close()
    return proc.wait(timeout=60), out, seen


def test_progress_bar_on_a_terminal_for_large_transfers_only(
    moto: MotoServer, aws_env: dict[str, str], bucket: str, tmp_path: Path
) -> None:
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(10 * 1024 * 1024))
    small = tmp_path / "small.txt"
    small.write_text("tiny")
    ep = ["--endpoint-url", moto.endpoint_url]

    code, out, tty = _run_in_terminal(aws_env, "cp", str(big), f"s3://{bucket}/big.bin", *ep)
    assert code == 0 and out == f"upload: {big} to s3://{bucket}/big.bin\n".encode()
    assert b"100% 10.0 MiB/10.0 MiB" in tty and tty.endswith(b"\r\x1b[K")  # drawn, then erased
    assert _body(moto, bucket, "big.bin") == big.read_bytes()

    code, _, tty = _run_in_terminal(
        aws_env, "cp", f"s3://{bucket}/big.bin", str(tmp_path / "b"), *ep
    )
    assert code == 0 and b"100% 10.0 MiB/10.0 MiB" in tty
    assert (tmp_path / "b").read_bytes() == big.read_bytes()

    code, _, tty = _run_in_terminal(aws_env, "cp", str(small), f"s3://{bucket}/s", *ep)
    assert (code, tty) == (0, b"")
    code, _, tty = _run_in_terminal(aws_env, "cp", str(big), f"s3://{bucket}/q", "--quiet", *ep)
    assert (code, tty) == (0, b"")


@pytest.fixture
def writer_pipe() -> Iterator[tuple[int, int]]:
    read_end, write_end = os.pipe()
    yield read_end, write_end
    for fd in (read_end, write_end):
        with contextlib.suppress(OSError):  # already closed by the test
            os.close(fd)


def test_ctrl_c_exits_130_and_leaves_no_multipart_upload(
    moto: MotoServer, aws_env: dict[str, str], bucket: str, writer_pipe: tuple[int, int]
) -> None:
    read_end, write_end = writer_pipe
    endpoint = ["--endpoint-url", moto.endpoint_url]
    proc = subprocess.Popen(
        [sys.executable, "-m", "s3lite", "cp", "-", f"s3://{bucket}/stream", *endpoint],
        stdin=read_end,
        stderr=subprocess.PIPE,
        env={**os.environ, **aws_env},
    )
    os.close(read_end)
    # Two full 8 MiB parts and a bit: the multipart upload begins, then waits for more.
    os.write(write_end, os.urandom(1024 * 1024) * 17)
    boto = moto.boto3_client()
    deadline = time.monotonic() + 60
    while not boto.list_multipart_uploads(Bucket=bucket).get("Uploads"):
        assert time.monotonic() < deadline, "the upload never started"
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    os.close(write_end)  # what the producer of a pipeline does on Ctrl-C
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert b"cancelled" in err
    assert boto.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    assert _keys(moto, bucket) == []
