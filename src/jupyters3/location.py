"""Where a kernel's files are: the bucket, key prefix and folder that JupyterS3
serves, handed to each kernel in ``JUPYTERS3_*`` environment variables.

The server side (:mod:`jupyters3.kernels`) writes them with :meth:`Location.to_env`;
notebook code (:mod:`jupyters3.files`) reads them with :meth:`Location.from_env`.
Credentials are never part of it: kernels find their own through the AWS chain.
No I/O, and no Jupyter import (a kernel may not have jupyter_server).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from .paths import PathError, normalize_path, normalize_prefix

__all__ = ["ENV_VARS", "Location", "NoLocationError"]

BUCKET = "JUPYTERS3_BUCKET"
PREFIX = "JUPYTERS3_PREFIX"
CWD = "JUPYTERS3_CWD"
ENDPOINT_URL = "JUPYTERS3_ENDPOINT_URL"
REGION = "JUPYTERS3_REGION"
CA_BUNDLE = "JUPYTERS3_CA_BUNDLE"
VERIFY_TLS = "JUPYTERS3_VERIFY_TLS"
SSE = "JUPYTERS3_SSE"
KMS_KEY_ID = "JUPYTERS3_KMS_KEY_ID"
ENV_VARS = (BUCKET, PREFIX, CWD, ENDPOINT_URL, REGION, CA_BUNDLE, VERIFY_TLS, SSE, KMS_KEY_ID)


class NoLocationError(RuntimeError):
    """This process was not started by a Jupyter server serving JupyterS3."""


@dataclass(frozen=True)
class Location:
    """The contents a kernel sees: ``s3://bucket/prefix``, its current folder ``cwd``
    (an API path, ``""`` for the root), and how to reach and write to S3."""

    bucket: str
    prefix: str = ""
    cwd: str = ""
    endpoint_url: str | None = None
    region: str | None = None
    ca_bundle: str | None = None
    verify_tls: bool = True
    sse: str | None = None
    kms_key_id: str | None = None

    def __post_init__(self) -> None:
        if not self.bucket:
            raise ValueError("a Location needs a bucket")
        object.__setattr__(self, "prefix", normalize_prefix(self.prefix))
        object.__setattr__(self, "cwd", normalize_path(self.cwd))

    def url(self, path: str = "") -> str:
        """``s3://bucket/<prefix><path>`` of the API path ``path``."""
        return f"s3://{self.bucket}/{self.prefix}{path}"

    def to_env(self) -> dict[str, str]:
        """Every ``JUPYTERS3_*`` variable, unset ones as ``""`` (so that a kernel
        never sees stale values inherited from the server's own environment)."""
        return {
            BUCKET: self.bucket,
            PREFIX: self.prefix,
            CWD: self.cwd,
            ENDPOINT_URL: self.endpoint_url or "",
            REGION: self.region or "",
            CA_BUNDLE: self.ca_bundle or "",
            VERIFY_TLS: "true" if self.verify_tls else "false",
            SSE: self.sse or "",
            KMS_KEY_ID: self.kms_key_id or "",
        }

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Location:
        """The location in ``environ`` (default ``os.environ``); raises
        :class:`NoLocationError` when there is none, ``ValueError`` when it is invalid."""
        env = os.environ if environ is None else environ
        bucket = env.get(BUCKET, "")
        if not bucket:
            raise NoLocationError(
                f"{BUCKET} is not set: this code does not run in a kernel started by a "
                "Jupyter server with c.ServerApp.contents_manager_class = 'jupyters3.JupyterS3'; "
                "outside one, pass the bucket yourself: "
                "jupyters3.files.NotebookFiles(Location(bucket=..., prefix=...))"
            )
        verify = env.get(VERIFY_TLS, "true").strip().lower()
        if verify not in ("true", "false", "1", "0", "yes", "no", ""):
            raise ValueError(f"{VERIFY_TLS} must be true or false, not {verify!r}")
        try:
            return cls(
                bucket=bucket,
                prefix=env.get(PREFIX, ""),
                cwd=env.get(CWD, ""),
                endpoint_url=env.get(ENDPOINT_URL) or None,
                region=env.get(REGION) or None,
                ca_bundle=env.get(CA_BUNDLE) or None,
                verify_tls=verify not in ("false", "0", "no"),
                sse=env.get(SSE) or None,
                kms_key_id=env.get(KMS_KEY_ID) or None,
            )
        except PathError as e:
            raise ValueError(f"{PREFIX} or {CWD} is invalid: {e}") from None
