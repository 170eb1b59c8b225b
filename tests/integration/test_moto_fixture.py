"""The fixtures themselves: both servers answer, and only one checks signatures."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from tests.motoserver import MotoServer


def test_plain_server_accepts_any_key(moto: MotoServer, bucket: str) -> None:
    s3 = moto.boto3_client()
    s3.put_object(Bucket=bucket, Key="k", Body=b"v")
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"v"


def test_auth_server_rejects_wrong_secret(moto_auth: MotoServer, auth_bucket: str) -> None:
    good = moto_auth.boto3_client()
    good.put_object(Bucket=auth_bucket, Key="k", Body=b"v")
    secret = moto_auth.secret_access_key
    moto_auth.secret_access_key = "wrong" + secret
    try:
        with pytest.raises(ClientError) as info:
            moto_auth.boto3_client().get_object(Bucket=auth_bucket, Key="k")
    finally:
        moto_auth.secret_access_key = secret
    assert info.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
