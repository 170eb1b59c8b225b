"""Shared config/credentials files, region resolution and credential_process (no network)."""

from __future__ import annotations

import json
import sys
import textwrap
from datetime import datetime, timezone
from pathlib import Path

import pytest

from s3lite.config import (
    ConfigError,
    config_file_path,
    credentials_file_path,
    load_shared_config,
    parse_shared_file,
    resolve_profile,
    resolve_region,
)
from s3lite.credentials import (
    Credentials,
    CredentialsError,
    NoCredentialsError,
    ProcessProvider,
    SharedFilesProvider,
)

pytestmark = pytest.mark.usefixtures("clean_aws_env")


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text))
    return path


# ------------------------------------------------------------------ parsing


def test_parse_config_file_profiles() -> None:
    text = textwrap.dedent(
        """
        [default]
        region = eu-west-1
        [profile dev]
        region = us-west-2
        Role_Arn = arn:aws:iam::1:role/dev
        s3 =
            addressing_style = path
        [profile   spaced  ]
        region = x
        [sso-session corp]
        sso_region = us-east-1
        [services local]
        s3 =
          endpoint_url = http://127.0.0.1
        [plain]
        region = ignored
        """
    )
    profiles = parse_shared_file(text, is_config_file=True)
    assert set(profiles) == {"default", "dev", "spaced"}
    assert profiles["default"] == {"region": "eu-west-1"}
    assert profiles["dev"]["role_arn"] == "arn:aws:iam::1:role/dev"  # keys lower-cased
    assert "addressing_style = path" in profiles["dev"]["s3"]


def test_profile_default_section_wins_over_default() -> None:
    text = "[profile default]\nregion = a\n[default]\nregion = b\n"
    assert parse_shared_file(text, is_config_file=True)["default"] == {"region": "a"}


def test_parse_credentials_file_takes_section_names_literally() -> None:
    text = "[default]\naws_access_key_id = A\n[profile x]\naws_access_key_id = B\n"
    profiles = parse_shared_file(text, is_config_file=False)
    assert set(profiles) == {"default", "profile x"}


def test_configparser_default_section_is_not_special() -> None:
    text = "[DEFAULT]\naws_secret_access_key = leaked\n[a]\naws_access_key_id = A\n"
    profiles = parse_shared_file(text, is_config_file=False)
    assert profiles["a"] == {"aws_access_key_id": "A"}
    assert profiles["DEFAULT"] == {"aws_secret_access_key": "leaked"}


def test_malformed_file_is_a_clear_error(tmp_path: Path) -> None:
    path = write(tmp_path / "config", "region = nowhere\n")
    with pytest.raises(ConfigError, match=f"cannot parse {path}"):
        load_shared_config()


def test_paths_and_profile_from_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert config_file_path() == tmp_path / "config"
    assert credentials_file_path() == tmp_path / "credentials"
    monkeypatch.delenv("AWS_CONFIG_FILE")
    monkeypatch.delenv("AWS_SHARED_CREDENTIALS_FILE")
    assert config_file_path() == tmp_path / ".aws" / "config"
    assert credentials_file_path() == tmp_path / ".aws" / "credentials"
    assert resolve_profile() == ("default", False)
    monkeypatch.setenv("AWS_DEFAULT_PROFILE", "legacy")
    assert resolve_profile() == ("legacy", True)
    monkeypatch.setenv("AWS_PROFILE", "dev")
    assert resolve_profile() == ("dev", True)
    assert resolve_profile("given") == ("given", True)


def test_missing_files_are_empty() -> None:
    cfg = load_shared_config()
    assert not cfg.has_profile("default")
    assert cfg.profile("default") == {}


def test_resolve_region(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert resolve_region() is None
    write(
        tmp_path / "config",
        """
        [default]
        region = eu-west-1
        [profile dev]
        region = ap-south-1
        """,
    )
    assert resolve_region() == "eu-west-1"
    assert resolve_region(profile="dev") == "ap-south-1"
    monkeypatch.setenv("AWS_PROFILE", "dev")
    assert resolve_region() == "ap-south-1"
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-west-1")
    assert resolve_region() == "us-west-1"
    monkeypatch.setenv("AWS_REGION", "us-west-2")
    assert resolve_region() == "us-west-2"
    assert resolve_region("sa-east-1") == "sa-east-1"


# ------------------------------------------------------------------ static profiles


async def test_static_keys_from_credentials_file(tmp_path: Path) -> None:
    write(
        tmp_path / "credentials",
        """
        [default]
        aws_access_key_id = AKDEFAULT
        aws_secret_access_key = default-secret
        [dev]
        aws_access_key_id = AKDEV
        aws_secret_access_key = dev-secret
        aws_session_token = dev-token
        """,
    )
    assert await SharedFilesProvider().load() == Credentials("AKDEFAULT", "default-secret")
    assert await SharedFilesProvider("dev").load() == Credentials(
        "AKDEV", "dev-secret", "dev-token"
    )


async def test_profile_from_aws_profile(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    write(tmp_path / "credentials", "[dev]\naws_access_key_id = A\naws_secret_access_key = s\n")
    monkeypatch.setenv("AWS_PROFILE", "dev")
    assert (await SharedFilesProvider().get_credentials()).access_key_id == "A"


async def test_static_keys_from_config_file_and_precedence(tmp_path: Path) -> None:
    write(
        tmp_path / "config",
        """
        [profile dev]
        aws_access_key_id = AKCONFIG
        aws_secret_access_key = config-secret
        [profile other]
        aws_access_key_id = AKOTHER
        aws_secret_access_key = other-secret
        """,
    )
    write(
        tmp_path / "credentials", "[dev]\naws_access_key_id = AKFILE\naws_secret_access_key = s\n"
    )
    assert (await SharedFilesProvider("dev").load()) == Credentials("AKFILE", "s")
    assert (await SharedFilesProvider("other").load()) == Credentials("AKOTHER", "other-secret")


async def test_partial_keys_are_an_error(tmp_path: Path) -> None:
    write(tmp_path / "credentials", "[default]\naws_access_key_id = A\n")
    with pytest.raises(
        CredentialsError, match=r"profile 'default' in .* has no aws_secret_access_key"
    ):
        await SharedFilesProvider().load()


async def test_missing_default_profile_is_not_configured(tmp_path: Path) -> None:
    p = SharedFilesProvider()
    assert await p.load() is None
    (where,) = p.searched()
    assert "profile 'default' not found" in where
    assert f"{tmp_path / 'credentials'} (does not exist)" in where
    assert f"{tmp_path / 'config'} (does not exist)" in where
    with pytest.raises(NoCredentialsError):
        await p.get_credentials()


async def test_missing_chosen_profile_is_an_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    write(tmp_path / "credentials", "[default]\naws_access_key_id = A\naws_secret_access_key = s\n")
    with pytest.raises(CredentialsError, match="profile 'nope' not found"):
        await SharedFilesProvider("nope").load()
    monkeypatch.setenv("AWS_PROFILE", "nope")
    with pytest.raises(CredentialsError, match="profile 'nope' not found"):
        await SharedFilesProvider().load()


async def test_profile_without_credentials(tmp_path: Path) -> None:
    write(tmp_path / "config", "[default]\nregion = eu-west-1\n")
    p = SharedFilesProvider()
    assert await p.load() is None
    assert "has no credentials" in p.searched()[0]


async def test_files_are_reread_on_every_load(tmp_path: Path) -> None:
    path = tmp_path / "credentials"
    write(path, "[default]\naws_access_key_id = A1\naws_secret_access_key = s\n")
    p = SharedFilesProvider()
    assert (await p.load()).access_key_id == "A1"  # type: ignore[union-attr]
    write(path, "[default]\naws_access_key_id = A2\naws_secret_access_key = s\n")
    assert (await p.load()).access_key_id == "A2"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("config", "match"),
    [
        (
            "[profile r]\nrole_arn = arn:aws:iam::1:role/r\n",
            "neither source_profile nor credential_source",
        ),
        (
            "[profile r]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = b\n"
            "credential_source = Environment\n[profile b]\nregion = x\n",
            "both source_profile and credential_source",
        ),
        (
            "[profile r]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = ghost\n",
            "source_profile 'ghost' of profile 'r' does not exist",
        ),
        (
            "[profile r]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = b\n"
            "[profile b]\nrole_arn = arn:aws:iam::1:role/b\nsource_profile = r\n",
            "source_profile loop: r -> b -> r",
        ),
        (
            "[profile r]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = r\n",
            "source_profile 'r' of profile 'r' has no credentials",
        ),
        (
            "[profile r]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = b\n"
            "[profile b]\nregion = x\n",
            "source_profile 'b' of profile 'r' has no credentials",
        ),
        (
            "[profile r]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = b\n"
            "mfa_serial = arn:aws:iam::1:mfa/me\n[profile b]\nregion = x\n",
            "needs an MFA code",
        ),
        (
            "[profile r]\nrole_arn = arn:aws:iam::1:role/r\ncredential_source = Magic\n",
            "credential_source 'Magic' is not one of",
        ),
        (
            "[profile r]\nrole_arn = arn:aws:iam::1:role/r\ncredential_source = Environment\n",
            "credential_source 'Environment' has no credentials",
        ),
        (
            "[profile r]\nrole_arn = arn:aws:iam::1:role/r\n"
            "credential_source = Ec2InstanceMetadata\n",
            "disabled by AWS_EC2_METADATA_DISABLED",
        ),
    ],
)
async def test_role_profile_errors(tmp_path: Path, config: str, match: str) -> None:
    write(tmp_path / "config", config)
    with pytest.raises(CredentialsError, match=match):
        await SharedFilesProvider("r").load()


async def test_web_identity_profile_with_unreadable_token(tmp_path: Path) -> None:
    write(
        tmp_path / "config",
        f"[default]\nrole_arn = arn:aws:iam::1:role/r\n"
        f"web_identity_token_file = {tmp_path}/no-token\n",
    )
    with pytest.raises(CredentialsError, match="cannot read web identity token file"):
        await SharedFilesProvider().load()


# ------------------------------------------------------------------ credential_process


def process_script(tmp_path: Path, body: str) -> str:
    script = tmp_path / "creds.py"
    script.write_text(textwrap.dedent(body))
    return f"{sys.executable} {script}"


async def test_credential_process(tmp_path: Path) -> None:
    doc = {
        "Version": 1,
        "AccessKeyId": "AKPROC",
        "SecretAccessKey": "proc-secret",
        "SessionToken": "proc-token",
        "Expiration": "2030-01-01T00:00:00Z",
    }
    cmd = process_script(tmp_path, f"import json; print(json.dumps({doc!r}))")
    write(tmp_path / "config", f"[default]\ncredential_process = {cmd}\n")
    creds = await SharedFilesProvider().load()
    assert creds == Credentials(
        "AKPROC", "proc-secret", "proc-token", datetime(2030, 1, 1, tzinfo=timezone.utc)
    )


async def test_credential_process_arguments_and_rerun(tmp_path: Path) -> None:
    counter = tmp_path / "count"
    counter.write_text("0")
    cmd = process_script(
        tmp_path,
        """
        import json, sys
        path = sys.argv[1]
        n = int(open(path).read()) + 1
        open(path, "w").write(str(n))
        print(json.dumps({"Version": 1, "AccessKeyId": f"AK{n}", "SecretAccessKey": sys.argv[2]}))
        """,
    )
    p = ProcessProvider(f'{cmd} "{counter}" "secret with spaces"')
    assert await p.load() == Credentials("AK1", "secret with spaces")
    assert (await p.load()).access_key_id == "AK2"
    assert "secret with spaces" not in repr(p)


async def test_credential_process_failure_reports_stderr(tmp_path: Path) -> None:
    cmd = process_script(
        tmp_path, "import sys; sys.stderr.write('SSO session expired\\n'); sys.exit(3)"
    )
    with pytest.raises(CredentialsError, match="exited with status 3: SSO session expired"):
        await ProcessProvider(cmd).load()


async def test_credential_process_bad_output_is_not_echoed(tmp_path: Path) -> None:
    cmd = process_script(tmp_path, "print('SecretAccessKey=leak-me')")
    with pytest.raises(CredentialsError, match="did not print valid JSON") as e:
        await ProcessProvider(cmd).load()
    assert "leak-me" not in str(e.value)


async def test_credential_process_missing_program() -> None:
    with pytest.raises(CredentialsError, match="could not be started"):
        await ProcessProvider("/nonexistent/credential-helper --x").load()
    with pytest.raises(CredentialsError, match="empty"):
        await ProcessProvider("   ").load()


async def test_credential_process_timeout(tmp_path: Path) -> None:
    cmd = process_script(tmp_path, "import time; time.sleep(30)")
    with pytest.raises(CredentialsError, match=r"did not finish within 0\.3 s"):
        await ProcessProvider(cmd, timeout=0.3).load()


async def test_credential_process_precedence(tmp_path: Path) -> None:
    doc = json.dumps({"Version": 1, "AccessKeyId": "AKPROC", "SecretAccessKey": "s"})
    cmd = process_script(tmp_path, f"print({doc!r})")
    write(
        tmp_path / "config",
        f"""
        [default]
        credential_process = {cmd}
        aws_access_key_id = AKCONFIG
        aws_secret_access_key = s
        """,
    )
    # credential_process beats keys in the config file...
    assert (await SharedFilesProvider().load()).access_key_id == "AKPROC"  # type: ignore[union-attr]
    # ...keys in the credentials file beat credential_process.
    write(
        tmp_path / "credentials",
        "[default]\naws_access_key_id = AKFILE\naws_secret_access_key = s\n",
    )
    assert (await SharedFilesProvider().load()).access_key_id == "AKFILE"  # type: ignore[union-attr]


async def test_credential_process_refreshes_through_the_cache(tmp_path: Path) -> None:
    counter = tmp_path / "count"
    counter.write_text("0")
    cmd = process_script(
        tmp_path,
        """
        import json, sys, datetime
        path = sys.argv[1]
        n = int(open(path).read()) + 1
        open(path, "w").write(str(n))
        exp = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=120)
        print(json.dumps({"Version": 1, "AccessKeyId": f"AK{n}", "SecretAccessKey": "s",
                          "SessionToken": "t", "Expiration": exp.isoformat()}))
        """,
    )
    p = ProcessProvider(f"{cmd} {counter}")
    # 120 s left is inside the default 300 s advisory window: each call refreshes,
    # but at most once per retry interval.
    first = await p.get_credentials()
    assert first.access_key_id == "AK1"
    again = await p.get_credentials()
    assert again.access_key_id == "AK2"
    assert (await p.get_credentials()) is again
    assert counter.read_text() == "2"
