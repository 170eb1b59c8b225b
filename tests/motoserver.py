"""Run a real moto S3 server in a child process, on a free loopback port.

A child process, not a thread: moto's signature-checking switch is global to
its process, and a server thread would compete with the tests' event loop for
the GIL, hiding event-loop blocking.
"""

from __future__ import annotations

import json
import urllib.request
from dataclasses import dataclass

from jupyters3.demo import LocalS3

REGION = "us-east-1"


@dataclass
class MotoServer:
    """A running moto server. ``access_key_id``/``secret_access_key`` are the
    keys to use (on an auth-checking server, the only keys it accepts)."""

    local: LocalS3
    access_key_id: str = "testing"
    secret_access_key: str = "testing"
    checks_signatures: bool = False

    @property
    def endpoint_url(self) -> str:
        return self.local.endpoint_url

    def boto3_client(self, service: str = "s3"):  # type: ignore[no-untyped-def]
        return boto3_client_for(
            self.endpoint_url, self.access_key_id, self.secret_access_key, service
        )

    def new_access_key(self) -> tuple[str, str]:
        """Another access key that works here: ``(access key id, secret)`` (from moto's
        IAM on the signature-checking server; any key does on the plain one)."""
        if not self.checks_signatures:
            return "other-key", "other-secret"
        key = self.boto3_client("iam").create_access_key(UserName="s3lite-test")["AccessKey"]
        return key["AccessKeyId"], key["SecretAccessKey"]

    def stop(self) -> None:
        self.local.stop()


def start_moto(*, check_signatures: bool = False) -> MotoServer:
    """The same local server ``jupyters3 demo`` runs, in its own child process."""
    server = MotoServer(LocalS3.start())
    if check_signatures:
        _enable_signature_checks(server)
    return server


def _enable_signature_checks(server: MotoServer) -> None:
    iam = server.boto3_client("iam")
    iam.create_user(UserName="s3lite-test")
    policy = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["s3:*", "sts:*", "iam:*"], "Resource": "*"}],
    }
    iam.put_user_policy(
        UserName="s3lite-test", PolicyName="all-s3", PolicyDocument=json.dumps(policy)
    )
    key = iam.create_access_key(UserName="s3lite-test")["AccessKey"]
    req = urllib.request.Request(
        f"{server.endpoint_url}/moto-api/reset-auth",
        data=b"0",
        method="POST",
        headers={"Content-Type": "text/plain"},
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        resp.read()
    server.access_key_id = key["AccessKeyId"]
    server.secret_access_key = key["SecretAccessKey"]
    server.checks_signatures = True


def boto3_client_for(endpoint_url: str, access_key_id: str, secret_access_key: str, service: str):  # type: ignore[no-untyped-def]
    """A boto3 client for a test server: path style, no retries, and checksums only
    where an operation requires them (boto3's CRC32 trailers break Ceph RGW 16)."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        service,
        endpoint_url=endpoint_url,
        region_name=REGION,
        aws_access_key_id=access_key_id,
        aws_secret_access_key=secret_access_key,
        config=Config(
            s3={"addressing_style": "path"},
            retries={"max_attempts": 1},
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        ),
    )
