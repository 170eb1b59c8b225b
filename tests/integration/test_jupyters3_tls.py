"""Self-signed TLS endpoints (MinIO/Ceph style): ca_bundle and verify_tls."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from traitlets import TraitError

from tests.integration.test_jupyters3_fixtures import S3Proxy, make_manager
from tests.motoserver import MotoServer


def self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "jupyters3 test")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture
async def tls_proxy(moto_auth: MotoServer, tmp_path: Path) -> AsyncIterator[tuple[S3Proxy, Path]]:
    """moto behind a TLS endpoint with a self-signed certificate."""
    cert, key = self_signed(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    proxy = await S3Proxy(moto_auth.endpoint_url).start(ssl_options=context)
    yield proxy, cert
    await proxy.stop()


async def test_self_signed_endpoint_is_refused_by_default(
    moto_auth: MotoServer, auth_bucket: str, tls_proxy: tuple[S3Proxy, Path]
) -> None:
    proxy, _ = tls_proxy
    cm = make_manager(moto_auth, auth_bucket, endpoint_url=proxy.url)
    with pytest.raises(TraitError, match="cannot reach S3"):
        await cm._check_bucket()  # what start-up runs
    await cm.close()


@pytest.mark.parametrize("how", ["ca_bundle", "verify_tls"])
async def test_self_signed_endpoint_with_ca_bundle_or_no_verification(
    moto_auth: MotoServer, auth_bucket: str, tls_proxy: tuple[S3Proxy, Path], how: str
) -> None:
    proxy, cert = tls_proxy
    options: dict[str, object] = (
        {"ca_bundle": str(cert)} if how == "ca_bundle" else {"verify_tls": False}
    )
    cm = make_manager(moto_auth, auth_bucket, endpoint_url=proxy.url, **options)
    await cm._check_bucket()
    await cm.save({"type": "file", "format": "text", "content": "over TLS"}, "t.txt")
    assert (await cm.get("t.txt"))["content"] == "over TLS"
    assert proxy.counts["PutObject"] == 1
    await cm.close()
