"""``jupyters3 check`` against moto: every step, its failures and their fixes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from traitlets.config import Config

from jupyters3.check import CheckTarget, Step, format_report, make_manager, run_check
from jupyters3.cli import main
from tests.loopback import unused_port
from tests.motoserver import REGION, MotoServer


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No AWS or Jupyter settings of the machine: only what each test sets."""
    for name in list(os.environ):
        if name.startswith(("AWS_", "JUPYTER")):
            monkeypatch.delenv(name)
    # `check --profile` sets AWS_PROFILE for the process: have it removed after each test.
    monkeypatch.setenv("AWS_PROFILE", "")
    monkeypatch.delenv("AWS_PROFILE")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(tmp_path / "jupyter"))
    monkeypatch.setenv("JUPYTER_CONFIG_PATH", str(tmp_path / "jupyter"))
    return tmp_path


def static_config(
    server: MotoServer,
    bucket: str,
    *,
    key: str | None = None,
    secret: str | None = None,
    **traits: str,
) -> Config:
    c = Config()
    c.JupyterS3.aws_s3_bucket = bucket
    c.JupyterS3.endpoint_url = server.endpoint_url
    c.JupyterS3.aws_region = REGION
    c.JupyterS3.authentication_class = "jupyters3.JupyterS3SecretAccessKeyAuthentication"
    c.JupyterS3SecretAccessKeyAuthentication.aws_access_key_id = key or server.access_key_id
    c.JupyterS3SecretAccessKeyAuthentication.aws_secret_access_key = (
        secret or server.secret_access_key
    )
    for name, value in traits.items():
        setattr(c.JupyterS3, name, value)
    return c


async def check(config: Config) -> dict[str, Step]:
    _, steps = await run_check(make_manager(config))
    assert [s.name for s in steps] == [
        "credentials",
        "endpoint",
        "bucket",
        "list",
        "put",
        "get",
        "delete",
    ]
    return {s.name: s for s in steps}


def statuses(steps: dict[str, Step]) -> list[str]:
    return [s.status for s in steps.values()]


async def test_a_working_configuration_passes_and_leaves_nothing_behind(
    moto_auth: MotoServer, auth_bucket: str
) -> None:
    steps = await check(static_config(moto_auth, auth_bucket, prefix="team/notebooks"))
    assert statuses(steps) == ["ok"] * 7
    assert "JupyterS3SecretAccessKeyAuthentication" in steps["credentials"].detail
    assert f"s3://{auth_bucket}/team/notebooks/.jupyters3-check-" in steps["put"].detail
    assert moto_auth.boto3_client().list_objects_v2(Bucket=auth_bucket)["KeyCount"] == 0


async def test_missing_bucket(moto: MotoServer) -> None:
    steps = await check(static_config(moto, "no-such-bucket-here"))
    assert statuses(steps) == ["ok", "ok", "FAIL", "skip", "skip", "skip", "skip"]
    assert "does not exist" in steps["bucket"].detail
    assert "aws s3 mb s3://no-such-bucket-here" in steps["bucket"].fix


async def test_unreachable_endpoint(moto: MotoServer, bucket: str) -> None:
    port = unused_port()
    steps = await check(static_config(moto, bucket, endpoint_url=f"http://127.0.0.1:{port}"))
    assert statuses(steps) == ["ok", "FAIL"] + ["skip"] * 5
    assert f"cannot connect to 127.0.0.1:{port}" in steps["endpoint"].detail
    assert "--endpoint-url" in steps["endpoint"].fix


async def test_wrong_secret_key(moto_auth: MotoServer, auth_bucket: str) -> None:
    steps = await check(static_config(moto_auth, auth_bucket, secret="not-the-secret"))
    assert steps["credentials"].status == "ok"  # found: they just do not work
    assert steps["list"].status == "FAIL" and "SignatureDoesNotMatch" in steps["list"].detail
    assert "secret access key does not belong" in steps["list"].fix


def _iam_user(server: MotoServer, actions: list[str]) -> tuple[str, str]:
    iam = server.boto3_client("iam")
    name = f"limited-{uuid.uuid4().hex[:8]}"
    iam.create_user(UserName=name)
    # moto names HEAD Bucket's action s3:HeadBucket (AWS checks s3:ListBucket): allow it too.
    policy = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": [*actions, "s3:HeadBucket"], "Resource": "*"}],
    }
    iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return key["AccessKeyId"], key["SecretAccessKey"]


@pytest.mark.moto_only("moto's IAM makes a user with limited permissions")
async def test_missing_write_permission_says_which_one(
    moto_auth: MotoServer, auth_bucket: str
) -> None:
    key, secret = _iam_user(moto_auth, ["s3:ListBucket", "s3:GetObject"])
    config = static_config(moto_auth, auth_bucket, key=key, secret=secret, prefix="nb/")
    steps = await check(config)
    assert statuses(steps) == ["ok", "ok", "ok", "ok", "FAIL", "skip", "skip"]
    assert "AccessDenied" in steps["put"].detail
    assert steps["put"].fix.startswith(f"allow s3:PutObject on arn:aws:s3:::{auth_bucket}/nb/*")


@pytest.mark.moto_only("moto's IAM makes a user with limited permissions")
async def test_missing_delete_permission_reports_the_object_left_behind(
    moto_auth: MotoServer, auth_bucket: str
) -> None:
    key, secret = _iam_user(moto_auth, ["s3:ListBucket", "s3:GetObject", "s3:PutObject"])
    steps = await check(static_config(moto_auth, auth_bucket, key=key, secret=secret))
    assert statuses(steps) == ["ok"] * 6 + ["FAIL"]
    assert "left behind" in steps["delete"].detail and "s3:DeleteObject" in steps["delete"].fix


async def test_no_credentials_anywhere(moto: MotoServer, bucket: str) -> None:
    c = Config()
    c.JupyterS3.aws_s3_bucket = bucket
    c.JupyterS3.endpoint_url = moto.endpoint_url  # default authentication: the AWS chain
    steps = await check(c)
    assert steps["credentials"].status == "FAIL" and "none found" in steps["credentials"].detail
    assert "AWS_ACCESS_KEY_ID" in steps["credentials"].fix
    assert [s.status for s in list(steps.values())[2:]] == ["skip"] * 5


def test_report_layout() -> None:
    target = CheckTarget("b", "p/", "http://127.0.0.1:1", "us-east-1")
    steps = [Step("credentials", "ok", "from env"), Step("bucket", "FAIL", "missing", "create it")]
    assert format_report(target, steps).splitlines() == [
        "Checking s3://b/p/ at http://127.0.0.1:1 (region us-east-1)",
        "  [ ok ] credentials  from env",
        "  [FAIL] bucket       missing",
        "                      fix: create it",
        "1 of 2 checks failed.",
    ]


# -- the command: Jupyter's configuration, flags, credentials from the chain -------------


def test_command_reads_the_jupyter_configuration(
    moto: MotoServer,
    bucket: str,
    isolated: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings = {
        "ServerApp": {"contents_manager_class": "jupyters3.JupyterS3"},
        "JupyterS3": {
            "aws_s3_bucket": bucket,
            "endpoint_url": moto.endpoint_url,
            "prefix": "from-config/",
            "authentication_class": "jupyters3.JupyterS3SecretAccessKeyAuthentication",
        },
        "JupyterS3SecretAccessKeyAuthentication": {
            "aws_access_key_id": moto.access_key_id,
            "aws_secret_access_key": moto.secret_access_key,
        },
    }
    (isolated / "jupyter").mkdir()
    (isolated / "jupyter" / "jupyter_server_config.json").write_text(json.dumps(settings))
    assert main(["check"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"Checking s3://{bucket}/from-config/ at {moto.endpoint_url}")
    assert out.rstrip().endswith("All 7 checks passed.")
    # flags override the file
    assert main(["check", "--bucket", "not-this-one", "--prefix", ""]) == 1
    assert "Checking s3://not-this-one/ at" in capsys.readouterr().out


def test_command_with_credentials_from_env_or_profile(
    moto: MotoServer,
    bucket: str,
    isolated: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    target = ["check", "--bucket", bucket, "--endpoint-url", moto.endpoint_url]
    key_id, secret = moto.access_key_id, moto.secret_access_key  # the keys it takes
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    assert main(target) == 0
    assert f"from environment variables; access key {key_id[:4]}…" in capsys.readouterr().out

    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    (isolated / "aws-credentials").write_text(
        f"[work]\naws_access_key_id = {key_id}\naws_secret_access_key = {secret}\n"
    )
    assert main([*target, "--profile", "work"]) == 0
    assert "from shared files (profile 'work')" in capsys.readouterr().out


def test_command_finds_and_removes_orphaned_checkpoints(
    moto: MotoServer,
    bucket: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    s3 = moto.boto3_client()
    kept = ["nb/a.ipynb", "nb/a.ipynb/.checkpoints/1600000000000000", "nb/d/"]
    orphans = [
        "nb/d/gone.ipynb/.checkpoints/1600000000000000",  # the old jupyters3's ids
        "nb/d/gone.ipynb/.checkpoints/1600000000000001",
        "nb/old.txt/.checkpoints/20200101T000000000000Z-0000",
    ]
    for key in kept + orphans:
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", moto.access_key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", moto.secret_access_key)
    target = ["check", "--bucket", bucket, "--prefix", "nb", "--endpoint-url", moto.endpoint_url]

    assert main([*target, "--orphans"]) == 1
    out = capsys.readouterr().out
    assert "[FAIL] orphans" in out, out
    assert "3 orphaned checkpoints of 2 deleted files (first: d/gone.ipynb)" in out
    assert "--remove-orphans" in out

    assert main([*target, "--remove-orphans"]) == 0
    assert "removed 3 orphaned checkpoints of 2 deleted files" in capsys.readouterr().out
    assert sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]) == kept
    assert main([*target, "--orphans"]) == 0
    assert "no orphaned checkpoints" in capsys.readouterr().out


def test_command_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check"]) == 2  # no bucket anywhere
    assert "--bucket" in capsys.readouterr().err
    assert main(["check", "--bucket", "b", "--prefix", "../x"]) == 2
    assert "prefix" in capsys.readouterr().err
    assert main(["nope"]) == 2


def test_console_command_exit_status(moto: MotoServer) -> None:
    # In-process runs above cover passing; the installed command must pass the status on.
    script = Path(sys.executable).with_name("jupyters3")
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s"}
    args = [str(script), "check", "--endpoint-url", moto.endpoint_url, "--bucket", "missing"]
    bad = subprocess.run(args, env=env, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "[FAIL] bucket" in bad.stdout
