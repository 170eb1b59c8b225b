"""``/files/``: downloads streamed from S3, never held whole in memory.

jupyter_server's fallback ``FilesHandler`` reads a whole file through the
contents API (and needs a local ``path``); this one asks S3 for the object's
metadata, then streams the body to the client chunk by chunk.
"""

from __future__ import annotations

import mimetypes

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import JupyterHandler
from tornado import web

from s3lite import S3Error

from .errors import checked_path, http_error_for
from .paths import is_hidden_path
from .store import S3Store

__all__ = ["S3FilesHandler", "content_type_for"]


def content_type_for(name: str, stored: str | None) -> str:
    """The Content-Type of a download, by jupyter_server's rules (from the name),
    falling back to the type stored with the object."""
    if name.lower().endswith(".ipynb"):
        return "application/x-ipynb+json"
    mime, encoding = mimetypes.guess_type(name)
    if encoding == "gzip":
        return "application/gzip"
    if encoding is not None:
        return "application/octet-stream"
    if mime == "text/plain":
        return "text/plain; charset=UTF-8"
    if mime is not None:
        return mime
    return stored or "application/octet-stream"


class S3FilesHandler(JupyterHandler):
    """Serve raw files from the bucket of the server's JupyterS3."""

    auth_resource = "contents"

    @property
    def content_security_policy(self) -> str:
        # HTML/SVG served from here must not script the Jupyter server's origin.
        return str(super().content_security_policy) + "; sandbox allow-scripts"

    @web.authenticated
    @authorized
    async def head(self, path: str) -> None:
        await self._serve(path, include_body=False)

    @web.authenticated
    @authorized
    async def get(self, path: str) -> None:
        await self._serve(path, include_body=True)

    async def _serve(self, path: str, *, include_body: bool) -> None:
        self.check_xsrf_cookie()
        cm = self.contents_manager
        store = getattr(cm, "store", None)
        if not isinstance(store, S3Store):
            raise web.HTTPError(500, "S3FilesHandler needs JupyterS3 as the contents manager")
        api_path = checked_path(path, store.layout)
        if not api_path or (not cm.allow_hidden and is_hidden_path(api_path)):
            raise web.HTTPError(404)
        key = store.layout.file_key(api_path)
        try:
            info = await store.head(key)
        except S3Error as e:
            raise http_error_for(e, "downloading", api_path) from e
        if info is None:
            raise web.HTTPError(404, f"No such file: {api_path}")

        name = api_path.rsplit("/", 1)[-1]
        if self.get_argument("download", None):
            self.set_attachment_header(name)
        self.set_header("Content-Type", content_type_for(name, info.content_type))
        self.set_header("Content-Length", str(info.size))
        self.set_header("Last-Modified", info.last_modified)
        if not include_body:
            self.finish()
            return

        async def send(chunk: bytes) -> None:
            self.write(chunk)
            await self.flush()  # waits for the client: bounded memory

        try:
            # pinned to the version just described, even if it changes meanwhile
            await store.stream(key, send, if_match=info.etag)
        except S3Error as e:
            if self._headers_written:
                self.log.error("jupyters3: download of %s broke off: %s", api_path, e)
                self.request.connection.close()  # type: ignore[union-attr]
                return
            raise http_error_for(e, "downloading", api_path) from e
        self.finish()
