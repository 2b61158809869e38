"""Logging for every entry point (`steward …`, `steward serve`, gunicorn's `steward.wsgi:create()`).

`STEWARD_LOG_LEVEL` sets the level (INFO by default); `STEWARD_LOG_FORMAT=json` writes one JSON object
per line (time, level, logger, message, request_id, exception) for a log collector, else plain text.

The request id follows an event from the webhook to its delivery: a webhook request gets the caller's
`X-Request-Id` (the proxy sets one) or a fresh one; each event it carries is handled under the id
`<messenger>:<event id>` (the platform's own id, which a redelivery repeats), and a delivery is logged
under the same id whenever its outbox key names the event (replies to commands, moderation nudges) —
see `request_id_of_key`.
"""
from __future__ import annotations

import contextvars
import json
import logging
import os
import random
import sys
import time

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("steward_request_id", default=None)


def request_id_from(given: str | None) -> str:
    """The caller's X-Request-Id (the proxy's) when it is printable, cut to 64 characters; else a new one."""
    given = (given or "").strip()
    return given[:64] if given and given.isprintable() else new_request_id()


def new_request_id() -> str:
    """32 hex digits, as a UUID4's: from the process's pseudo-random generator (reseeded in every forked
    process), not the kernel's, which is a system call per request; a request id is a label, no secret."""
    return f"{random.getrandbits(128):032x}"


LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
_MARK = "_steward_handler"


class _RequestId(logging.Filter):
    """Puts the current request id on every record (as `request_id`, None outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id.get()
        return True


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        rid = getattr(record, "request_id", None)
        return f"{line} [request_id={rid}]" if rid else line


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out = {"time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
               "level": record.levelname, "logger": record.name, "message": record.getMessage(),
               "request_id": getattr(record, "request_id", None), "process": record.process}
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


def configure(level: str | None = None, fmt: str | None = None) -> None:
    """Set up the root logger once per process (a second call only changes level and format)."""
    level = (level or os.environ.get("STEWARD_LOG_LEVEL") or "INFO").upper()
    level = level if level in LEVELS else "INFO"
    fmt = (fmt or os.environ.get("STEWARD_LOG_FORMAT") or "text").lower()
    root = logging.getLogger()
    handler = next((h for h in root.handlers if getattr(h, _MARK, False)), None)
    if handler is None:
        handler = logging.StreamHandler(sys.stderr)
        setattr(handler, _MARK, True)
        handler.addFilter(_RequestId())
        root.addHandler(handler)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root.setLevel(level)
    if level != "DEBUG":
        logging.getLogger("alembic").setLevel(logging.WARNING)
    if fmt == "json":   # gunicorn's own lines go through the same handler
        for name in ("gunicorn.error", "gunicorn.access"):
            logging.getLogger(name).propagate = True


def request_id_of_key(key: str) -> str | None:
    """The request id an outbox key names: `reply:slack:Ev123:1` -> `slack:Ev123` (None if it names none)."""
    parts = key.removeprefix("forget:").split(":")
    if len(parts) >= 4 and parts[0] == "reply":          # reply:<messenger>:<event id>:<n>
        return ":".join(parts[1:-1])
    if len(parts) >= 3 and parts[0] == "nudge":          # nudge:<messenger>:<event id>
        return ":".join(parts[1:])
    return None
