"""Run code in a kernel of a running Jupyter server, over the kernel's websocket,
as a notebook front end does (Jupyter messaging protocol 5.3)."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import websocket


@dataclass
class Outcome:
    """What a cell printed, returned, or raised."""

    stdout: str = ""
    stderr: str = ""
    result: str | None = None
    error: tuple[str, str] | None = None
    outputs: list[dict[str, Any]] = field(default_factory=list)


class Kernel:
    """One kernel of the server at ``url``, reached with ``token``."""

    def __init__(self, url: str, token: str, kernel_id: str) -> None:
        self.session = uuid.uuid4().hex
        ws_url = url.replace("http://", "ws://") + f"/api/kernels/{kernel_id}/channels"
        self.ws = websocket.create_connection(
            f"{ws_url}?session_id={self.session}",
            header=[f"Authorization: token {token}"],
            timeout=120,
        )

    @classmethod
    def connect(cls, url: str, token: str, kernel_id: str, timeout: float = 120) -> Kernel:
        """Connect, and wait until the kernel answers."""
        kernel = cls(url, token, kernel_id)
        deadline = time.monotonic() + timeout
        while kernel.run("1").result != "1":
            if time.monotonic() > deadline:
                kernel.close()
                raise RuntimeError("the kernel did not start")
        return kernel

    def run(self, code: str) -> Outcome:
        """Execute ``code``; what it printed, returned or raised."""
        msg_id = uuid.uuid4().hex
        header = {
            "msg_id": msg_id,
            "msg_type": "execute_request",
            "session": self.session,
            "username": "test",
            "version": "5.3",
            "date": "",
        }
        content = {
            "code": code,
            "silent": False,
            "store_history": True,
            "user_expressions": {},
            "allow_stdin": False,
            "stop_on_error": True,
        }
        message = {"header": header, "parent_header": {}, "metadata": {}, "content": content}
        self.ws.send(json.dumps({**message, "channel": "shell", "buffers": []}))
        out, replied, idle = Outcome(), False, False
        while not (replied and idle):
            msg = json.loads(self.ws.recv())
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, body = msg["msg_type"], msg["content"]
            if kind == "stream":
                if body["name"] == "stdout":
                    out.stdout += body["text"]
                else:
                    out.stderr += body["text"]
            elif kind == "execute_result":
                out.result = body["data"].get("text/plain")
            elif kind == "error":
                out.error = (body["ename"], body["evalue"])
            elif kind == "execute_reply":
                replied = True
            elif kind == "status" and body["execution_state"] == "idle":
                idle = True
            out.outputs.append(msg)
        return out

    def ok(self, code: str) -> str:
        """Run ``code``, which must not raise; what it printed."""
        outcome = self.run(code)
        assert outcome.error is None, outcome
        return outcome.stdout

    def close(self) -> None:
        self.ws.close()
