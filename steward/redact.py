"""Secrets never reach a log, at any level: a log-record factory (installed by the composition root,
steward/container.py) masks every configured secret value and anything shaped like a credential in each
record's message, arguments and traceback, before any handler (ours, gunicorn's, a test's) sees it.

Configured secrets: every variable a manifest or steward/settings.py marks `secret` (platform secrets, tokens,
the database URL's password, ...). Shapes: `corpsecret=…`, `access_token=…`, `sign=…` and the like in URLs,
`"secret": "…"` in JSON, `Authorization: Bearer …`, Slack tokens (`xoxb-…`), a password in a URL.
"""
from __future__ import annotations

import logging
import re
import threading
from typing import Iterable, Mapping
from urllib.parse import quote, quote_plus, urlsplit

MASK = "***"
MIN_SECRET = 6          # shorter values ("1", "on") would mask ordinary words

_KEYS = (r"corpsecret|secret|app_?secret|client_?secret|access_?token|token|sign|signature|msg_signature|"
         r"password|passwd|api_?key|aes_?key|encoding_?aes_?key|authorization")
_QUERY = re.compile(rf"(?i)\b({_KEYS})=([^&\s\"'<>]+)")
_JSON = re.compile(rf"(?i)([\"']?(?:{_KEYS})[\"']?\s*[:=]\s*[\"'])([^\"']+)([\"'])")
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=\-]{8,}")
_SLACK = re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{6,}")
_URL_PASSWORD = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://[^/\s:@]+:)([^@\s/]+)(@)")

_lock = threading.Lock()
_secrets: set[str] = set()
_installed = False


def redact(text: str) -> str:
    """`text` with every known secret and credential-shaped value masked."""
    with _lock:
        values = sorted(_secrets, key=len, reverse=True)
    for value in values:
        if value in text:
            text = text.replace(value, MASK)
    text = _URL_PASSWORD.sub(rf"\1{MASK}\3", text)
    text = _QUERY.sub(rf"\1={MASK}", text)
    text = _JSON.sub(rf"\1{MASK}\3", text)
    text = _BEARER.sub(rf"\1 {MASK}", text)
    return _SLACK.sub(MASK, text)


def add_secrets(values: Iterable[str | None]) -> None:
    """Remember secret values (and their URL-encoded forms, as they appear in logged URLs)."""
    with _lock:
        for value in values:
            value = (value or "").strip()
            if len(value) < MIN_SECRET:
                continue
            _secrets.update({value, quote(value, safe=""), quote_plus(value)})
            password = _url_password(value)
            if password:
                _secrets.add(password)


def _url_password(value: str) -> str | None:
    if "://" not in value:
        return None
    try:
        password = urlsplit(value).password
    except ValueError:
        return None
    return password if password and len(password) >= MIN_SECRET else None


def secrets_of(env: Mapping[str, str], specs: Iterable) -> list[str]:
    """The values `env` holds for the variables `specs` (EnvVar) mark secret."""
    return [env.get(spec.name) or "" for spec in specs if spec.secret]


def install(secret_values: Iterable[str | None] = ()) -> None:
    """Mask `secret_values` (and credential shapes) in every log record from now on; idempotent."""
    global _installed
    add_secrets(secret_values)
    with _lock:
        if _installed:
            return
        _installed = True
    previous = logging.getLogRecordFactory()

    def factory(*args, **kwargs) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:            # a bad format string: the logging module reports it later as usual
            return record
        clean = redact(message)
        if clean != message or record.args:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return record

    logging.setLogRecordFactory(factory)
