"""Ceph's RADOS Gateway as the tests' S3 server (``S3_TEST_SERVER=rgw``).

``scripts/rgw.sh start`` runs a fresh one-node cluster (ceph-mon, ceph-osd, radosgw) on
127.0.0.1; :func:`start_rgw` calls it and :meth:`RGWServer.stop` stops exactly what it
started (the script kills the daemons by the PIDs they wrote). With ``RGW_ENDPOINT_URL``
(and ``RGW_ACCESS_KEY_ID``, ``RGW_SECRET_ACCESS_KEY``) set, a running gateway is used as
it is and left running, so repeated runs skip the ~20 s start.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from tests.motoserver import boto3_client_for

RGW_SH = Path(__file__).resolve().parents[1] / "scripts" / "rgw.sh"
S3_TEST_SERVER = os.environ.get("S3_TEST_SERVER") or "moto"
ON_RGW = S3_TEST_SERVER == "rgw"  # the integration tests run on Ceph RGW


@dataclass
class RGWServer:
    """A running radosgw, with the same interface as :class:`tests.motoserver.MotoServer`.
    It always checks signatures: ``access_key_id``/``secret_access_key`` are its user's keys."""

    endpoint_url: str
    access_key_id: str
    secret_access_key: str
    started_here: bool = False
    checks_signatures: bool = True

    def boto3_client(self, service: str = "s3"):  # type: ignore[no-untyped-def]
        return boto3_client_for(
            self.endpoint_url, self.access_key_id, self.secret_access_key, service
        )

    def new_access_key(self) -> tuple[str, str]:
        """Another access key of the same user: ``(access key id, secret)``."""
        key_id, secret = f"S3LITE{uuid.uuid4().hex[:14].upper()}", uuid.uuid4().hex
        subprocess.run(["bash", str(RGW_SH), "key", key_id, secret], check=True, timeout=60)
        return key_id, secret

    def stop(self) -> None:
        if self.started_here:
            subprocess.run(["bash", str(RGW_SH), "stop"], check=True, timeout=120)


def start_rgw() -> RGWServer:
    """The gateway named by ``RGW_ENDPOINT_URL``, else a fresh one from ``scripts/rgw.sh``."""
    if os.environ.get("RGW_ENDPOINT_URL"):
        return _from_env(os.environ, started_here=False)
    try:
        out = subprocess.run(
            ["bash", str(RGW_SH), "start"],
            check=True,
            timeout=300,
            stdout=subprocess.PIPE,
            text=True,
        ).stdout
    except BaseException:
        subprocess.run(["bash", str(RGW_SH), "stop"], timeout=120)  # whatever did start
        raise
    settings = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    return _from_env(settings, started_here=True)


def _from_env(env: Mapping[str, str], *, started_here: bool) -> RGWServer:
    return RGWServer(
        env["RGW_ENDPOINT_URL"],
        env["RGW_ACCESS_KEY_ID"],
        env["RGW_SECRET_ACCESS_KEY"],
        started_here=started_here,
    )
