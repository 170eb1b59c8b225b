"""Run a real moto S3 server in a child process, on a free loopback port.

A child process, not a thread: moto's signature-checking switch is global to
its process, and a server thread would compete with the tests' event loop for
the GIL, hiding event-loop blocking.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import urllib.request
from dataclasses import dataclass

_CHILD = textwrap.dedent(
    """
    import logging, sys
    from moto.server import ThreadedMotoServer
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    print(server.get_host_and_port()[1], flush=True)
    sys.stdin.read()  # until the parent closes our stdin
    server.stop()
    """
)

REGION = "us-east-1"


@dataclass
class MotoServer:
    """A running moto server. ``access_key_id``/``secret_access_key`` are the
    keys to use (on an auth-checking server, the only keys it accepts)."""

    process: subprocess.Popen[str]
    endpoint_url: str
    access_key_id: str = "testing"
    secret_access_key: str = "testing"
    checks_signatures: bool = False

    def boto3_client(self, service: str = "s3"):  # type: ignore[no-untyped-def]
        import boto3
        from botocore.config import Config

        return boto3.client(
            service,
            endpoint_url=self.endpoint_url,
            region_name=REGION,
            aws_access_key_id=self.access_key_id,
            aws_secret_access_key=self.secret_access_key,
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.close()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_moto(*, check_signatures: bool = False) -> MotoServer:
    env = dict(os.environ)
    # moto's server refuses credentials-less boto3 calls inside itself otherwise
    env.setdefault("AWS_ACCESS_KEY_ID", "testing")
    env.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    env["AWS_DEFAULT_REGION"] = REGION
    proc = subprocess.Popen(
        [sys.executable, "-c", _CHILD],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.strip().isdigit():
        proc.kill()
        raise RuntimeError(f"moto server did not start: {line!r}")
    server = MotoServer(proc, f"http://127.0.0.1:{int(line)}")
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
