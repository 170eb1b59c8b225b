"""``credential_process``: an external command that prints credentials as JSON."""

from __future__ import annotations

import asyncio
import os
import shlex

from .base import BaseProvider
from .json_credentials import json_object, parse_json_credentials
from .model import MAX_BODY, Credentials, CredentialsError

__all__ = ["ProcessProvider", "parse_process_output"]


class ProcessProvider(BaseProvider):
    """Runs a ``credential_process`` command (no shell) and reads its JSON output
    (``Version`` 1, ``AccessKeyId``, ``SecretAccessKey``, optional ``SessionToken`` and
    ``Expiration``). Run again on every refresh."""

    label = "credential_process"

    def __init__(self, command: str, *, timeout: float = 60.0) -> None:
        super().__init__()
        self.command = command
        self._timeout = timeout

    def __repr__(self) -> str:
        # The command line may carry secrets in its arguments: show the program only.
        return f"ProcessProvider({self._program()!r})"

    __str__ = __repr__

    def _program(self) -> str:
        try:
            argv = shlex.split(self.command, posix=os.name != "nt")
        except ValueError:
            return "?"
        return argv[0] if argv else ""

    async def load(self) -> Credentials:
        try:
            argv = shlex.split(self.command, posix=os.name != "nt")
        except ValueError as e:
            raise CredentialsError(f"cannot parse credential_process: {e}") from None
        if not argv:
            raise CredentialsError("credential_process is empty")
        what = f"credential_process {argv[0]!r}"
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
        except OSError as e:
            raise CredentialsError(f"{what} could not be started: {e.strerror or e}") from None
        try:
            out, err = await asyncio.wait_for(proc.communicate(), self._timeout)
        except asyncio.TimeoutError:
            proc.kill()
            await proc.wait()
            raise CredentialsError(f"{what} did not finish within {self._timeout} s") from None
        except BaseException:
            if proc.returncode is None:
                proc.kill()
            raise
        if proc.returncode != 0:
            msg = err.decode("utf-8", "replace").strip()[-500:]
            raise CredentialsError(
                f"{what} exited with status {proc.returncode}" + (f": {msg}" if msg else "")
            )
        if len(out) > MAX_BODY:
            raise CredentialsError(f"{what} printed more than {MAX_BODY} bytes")
        return parse_process_output(out, what)


def parse_process_output(out: bytes | str, what: str = "credential_process") -> Credentials:
    """Credentials from a ``credential_process``'s standard output (JSON, Version 1)."""
    doc = json_object(out, what, verb="print", past="printed")
    if doc.get("Version") != 1:
        raise CredentialsError(
            f"{what} printed Version {doc.get('Version', '(missing)')!r}; supported: 1"
        )
    return parse_json_credentials(
        out, source=what, token_field="SessionToken", require_token=False, require_expiration=False
    )
