"""Shared fixtures: real moto S3 servers over HTTP on loopback."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.motoserver import MotoServer, start_moto

# Tests talk to loopback only: a test that reaches the default credential chain by
# mistake must not wait on, or reach, the real instance-metadata address. Tests of
# the metadata provider point it at a loopback server and lift this themselves.
os.environ["AWS_EC2_METADATA_DISABLED"] = "true"


@pytest.fixture(scope="session")
def moto() -> Iterator[MotoServer]:
    """A moto S3 server that does not check signatures (feature tests)."""
    server = start_moto()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def moto_auth() -> Iterator[MotoServer]:
    """A moto S3 server that checks every request's SigV4 signature."""
    server = start_moto(check_signatures=True)
    yield server
    server.stop()


def _new_bucket(server: MotoServer) -> str:
    name = f"test-{uuid.uuid4().hex[:16]}"
    server.boto3_client().create_bucket(Bucket=name)
    return name


@pytest.fixture
def bucket(moto: MotoServer) -> str:
    """A fresh, empty bucket on the plain moto server."""
    return _new_bucket(moto)


@pytest.fixture
def auth_bucket(moto_auth: MotoServer) -> str:
    """A fresh, empty bucket on the signature-checking moto server."""
    return _new_bucket(moto_auth)


@pytest.fixture
def clean_aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No AWS_* setting from the developer's environment; ``HOME`` and the shared
    config/credentials files in ``tmp_path`` (absent until a test writes them);
    instance metadata off unless a test points it at a loopback server."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
