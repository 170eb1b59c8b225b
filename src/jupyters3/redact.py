"""Keep configured secrets out of every log line. No I/O.

Jupyter and traitlets log our configuration themselves (with ``--debug``,
traitlets' ``Config changed: {...}`` prints every option, secret key included).
:func:`install` wraps the process's log record factory once, so that every
record, from any logger at any level and whatever its handlers, is redacted
when it is made: each known secret (:func:`register_secret`) becomes ``***``,
and so does the value of any secret option named in a printed configuration
(``'aws_secret_access_key': '...'``), known or not.
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Any

__all__ = ["SECRET_OPTIONS", "RedactingFilter", "install", "redact", "register_secret"]

# Options whose values are secrets wherever they are printed.
SECRET_OPTIONS = ("aws_secret_access_key", "aws_session_token", "secret_access_key")
MASK = "***"
# Shorter values are not worth masking (and would mask ordinary words).
_MIN_SECRET = 4
_NAMES = "|".join(SECRET_OPTIONS)
_OPTION_VALUE = re.compile(
    rf"""(?P<name>\b(?:{_NAMES})\b['"]?\s*[:=]\s*(?:\w+\()?)(?P<q>['"])(?P<value>(?:(?!(?P=q)).)*)(?P=q)"""
)
_secrets: set[str] = set()
_lock = threading.Lock()
_installed = False


def register_secret(value: str | None) -> None:
    """Mask ``value`` in every log line from now on."""
    if value and len(value) >= _MIN_SECRET:
        with _lock:
            _secrets.add(value)


def redact(text: str) -> str:
    """``text`` with every known secret and every secret option's value masked."""
    text = _OPTION_VALUE.sub(lambda m: f"{m['name']}{m['q']}{MASK}{m['q']}", text)
    for secret in sorted(_secrets, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, MASK)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites a record's message (and exception text) with secrets masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format: logging reports it when it is emitted
            return True
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


def install() -> None:
    """Redact every log record of this process from now on (idempotent)."""
    global _installed
    with _lock:
        if _installed:
            return
        _installed = True
    previous = logging.getLogRecordFactory()
    filt = RedactingFilter()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        filt.filter(record)
        return record

    logging.setLogRecordFactory(factory)
