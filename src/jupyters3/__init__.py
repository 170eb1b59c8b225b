"""jupyters3: a Jupyter contents manager that keeps everything in S3.

``c.ServerApp.contents_manager_class = "jupyters3.JupyterS3"``

The Jupyter side is imported on first use, so that notebook code can use
:mod:`jupyters3.files` in a kernel that has no jupyter_server.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .auth import (
        AwsCreds,
        JupyterS3Authentication,
        JupyterS3DefaultAuthentication,
        JupyterS3ECSRoleAuthentication,
        JupyterS3SecretAccessKeyAuthentication,
    )
    from .checkpoints import S3Checkpoints
    from .kernels import JupyterS3SessionManager
    from .manager import JupyterS3

__all__ = [
    "AwsCreds",
    "JupyterS3",
    "JupyterS3Authentication",
    "JupyterS3DefaultAuthentication",
    "JupyterS3ECSRoleAuthentication",
    "JupyterS3SecretAccessKeyAuthentication",
    "JupyterS3SessionManager",
    "S3Checkpoints",
    "load_ipython_extension",
]

_LAZY = {
    "AwsCreds": ".auth",
    "JupyterS3Authentication": ".auth",
    "JupyterS3DefaultAuthentication": ".auth",
    "JupyterS3ECSRoleAuthentication": ".auth",
    "JupyterS3SecretAccessKeyAuthentication": ".auth",
    "S3Checkpoints": ".checkpoints",
    "JupyterS3SessionManager": ".kernels",
    "JupyterS3": ".manager",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext jupyters3``: the ``%s3ls``, ``%s3cd`` and ``%s3pwd`` magics."""
    from .magics import register

    register(ipython)
