"""Kernels see the same files as the file browser.

Every kernel started for a notebook gets the ``JUPYTERS3_*`` variables of
:mod:`jupyters3.location` in its environment: the bucket, prefix, endpoint and
region JupyterS3 serves, and the notebook's folder. They come from jupyter_server's
own hook, ``SessionManager.get_kernel_env`` (also used to update a kernel's
environment when its notebook is renamed, for the next restart). When JupyterS3 is
created by a ``ServerApp`` whose ``session_manager_class`` is the default one, it
switches it to :class:`JupyterS3SessionManager`, so nothing else needs configuring.

Credentials are never passed on: kernels find theirs through the AWS chain, as
any process does (the server's own environment is inherited, as always).
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from jupyter_server.services.sessions.sessionmanager import SessionManager

from s3lite import S3Client

from .location import Location
from .paths import KeyLayout, PathError, normalize_path, split

__all__ = ["JupyterS3SessionManager", "S3Contents", "kernel_location", "use_kernel_env"]


@runtime_checkable
class S3Contents(Protocol):
    """What kernels are told of a contents manager (JupyterS3 has it all)."""

    prefix: Any
    ca_bundle: Any
    verify_tls: Any
    sse: Any
    kms_key_id: Any
    authentication: Any
    log: Any
    parent: Any

    @property
    def bucket(self) -> str: ...

    @property
    def layout(self) -> KeyLayout: ...

    @property
    def s3(self) -> S3Client: ...

    def endpoint(self) -> str | None: ...


def kernel_location(manager: S3Contents, session_path: str | None) -> Location:
    """Where the kernel of the session at the API path ``session_path`` (a notebook,
    a console, a file) works: the folder holding it, in the manager's contents."""
    try:
        cwd = split(normalize_path(session_path or ""))[0]
    except PathError:
        cwd = ""
    return Location(
        bucket=manager.bucket,
        prefix=manager.prefix,
        cwd=cwd,
        endpoint_url=manager.endpoint(),
        region=manager.s3.region,
        ca_bundle=manager.ca_bundle or None,
        verify_tls=bool(manager.verify_tls),
        sse=manager.sse or None,
        kms_key_id=manager.kms_key_id or None,
    )


class JupyterS3SessionManager(SessionManager):
    """Jupyter's session manager; kernels of a JupyterS3 server also get ``JUPYTERS3_*``.

    Derive your own session manager from this one to keep the variables."""

    def get_kernel_env(self, path: str | None, name: Any = None) -> dict[str, str]:
        env: dict[str, str] = super().get_kernel_env(path, name)
        if isinstance(self.contents_manager, S3Contents):
            env.update(kernel_location(self.contents_manager, path).to_env())
        return env


def use_kernel_env(manager: S3Contents) -> None:
    """Have the ``ServerApp`` creating ``manager`` start kernels with ``JUPYTERS3_*``
    (it creates its session manager right after its contents manager)."""
    app: Any = manager.parent
    current = getattr(app, "session_manager_class", None)
    if not isinstance(current, type) or not hasattr(app, "trait_has_value"):
        return  # not made by a ServerApp (the command line, tests, embedding)
    if issubclass(current, JupyterS3SessionManager):
        pass
    elif (
        current is SessionManager
        and not app.trait_has_value("session_manager")
        and "session_manager_class" not in app.config.get("ServerApp", {})
    ):
        app.session_manager_class = JupyterS3SessionManager
    else:
        manager.log.warning(
            "jupyters3: kernels will not be told where their files are (JUPYTERS3_*): "
            "ServerApp.session_manager_class is %s.%s; derive it from "
            "jupyters3.JupyterS3SessionManager",
            current.__module__,
            current.__qualname__,
        )
        return
    from .auth import JupyterS3SecretAccessKeyAuthentication

    if isinstance(manager.authentication, JupyterS3SecretAccessKeyAuthentication):
        manager.log.info(
            "jupyters3: kernels do not get the keys of JupyterS3SecretAccessKeyAuthentication; "
            "code in them finds credentials through the AWS chain (environment, ~/.aws, roles)"
        )
