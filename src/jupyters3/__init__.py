"""jupyters3: a Jupyter contents manager that keeps everything in S3.

``c.ServerApp.contents_manager_class = "jupyters3.JupyterS3"``
"""

from __future__ import annotations

from .auth import (
    AwsCreds,
    JupyterS3Authentication,
    JupyterS3DefaultAuthentication,
    JupyterS3ECSRoleAuthentication,
    JupyterS3SecretAccessKeyAuthentication,
)
from .checkpoints import S3Checkpoints
from .manager import JupyterS3

__all__ = [
    "AwsCreds",
    "JupyterS3",
    "JupyterS3Authentication",
    "JupyterS3DefaultAuthentication",
    "JupyterS3ECSRoleAuthentication",
    "JupyterS3SecretAccessKeyAuthentication",
    "S3Checkpoints",
]
