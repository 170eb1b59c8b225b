"""Shared fixtures: real S3 servers over HTTP on loopback.

``S3_TEST_SERVER`` picks the server of the integration tests:

* ``moto`` (default): two moto servers in child processes, ``moto`` (signatures not
  checked) and ``moto_auth`` (every signature checked);
* ``rgw``: Ceph's RADOS Gateway (``scripts/rgw.sh``), which always checks signatures:
  ``moto``, ``moto_auth`` and ``s3_server`` are all that one server.

``s3_server`` is the neutral name (the plain server); ``moto``/``moto_auth`` keep their
names so that tests read as before. Tests marked ``moto_only("reason")`` need what only
moto has (its IAM/STS, ``moto-api``, a server that does not check signatures) and are
skipped on RGW, with the reason; nothing else is skipped.
"""

from __future__ import annotations

import os
import signal
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.motoserver import MotoServer, start_moto
from tests.rgwserver import ON_RGW, S3_TEST_SERVER, RGWServer, start_rgw

if S3_TEST_SERVER not in ("moto", "rgw"):
    raise pytest.UsageError(f"S3_TEST_SERVER must be moto or rgw, not {S3_TEST_SERVER!r}")

# Tests talk to loopback only: a test that reaches the default credential chain by
# mistake must not wait on, or reach, the real instance-metadata address. Tests of
# the metadata provider point it at a loopback server and lift this themselves.
os.environ["AWS_EC2_METADATA_DISABLED"] = "true"

# A shell starts background jobs (`.ci/run &`, nohup) with SIGINT ignored, and an ignored
# signal stays ignored in every child: the tests that press Ctrl-C on a child process would
# then see it carry on. A handler here is reset to the default in each child at exec.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not ON_RGW:
        return
    for item in items:
        marker = item.get_closest_marker("moto_only")
        if marker is not None:
            reason = marker.args[0] if marker.args else marker.kwargs.get("reason", "")
            item.add_marker(pytest.mark.skip(reason=f"needs moto: {reason}"))


@pytest.fixture(scope="session")
def rgw() -> Iterator[RGWServer]:
    """Ceph RGW, started for this session (or the running one ``RGW_ENDPOINT_URL`` names)."""
    server = start_rgw()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def moto(request: pytest.FixtureRequest) -> Iterator[MotoServer | RGWServer]:
    """The plain S3 server: moto without signature checks (feature tests); on RGW, RGW."""
    if ON_RGW:
        yield request.getfixturevalue("rgw")
        return
    server = start_moto()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def moto_auth(request: pytest.FixtureRequest) -> Iterator[MotoServer | RGWServer]:
    """An S3 server that checks every request's SigV4 signature: moto so switched, or RGW."""
    if ON_RGW:
        yield request.getfixturevalue("rgw")
        return
    server = start_moto(check_signatures=True)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def s3_server(moto: MotoServer | RGWServer) -> MotoServer | RGWServer:
    """The plain S3 server of this run, by its neutral name."""
    return moto


def _new_bucket(server: MotoServer | RGWServer) -> str:
    name = f"test-{uuid.uuid4().hex[:16]}"
    server.boto3_client().create_bucket(Bucket=name)
    return name


@pytest.fixture
def bucket(moto: MotoServer | RGWServer) -> str:
    """A fresh, empty bucket on the plain server."""
    return _new_bucket(moto)


@pytest.fixture
def auth_bucket(moto_auth: MotoServer | RGWServer) -> str:
    """A fresh, empty bucket on the signature-checking server."""
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
