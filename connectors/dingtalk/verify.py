"""Signature checks for the two inbound channels, on the raw request.

Robot messages (HTTP mode) carry headers `timestamp` (ms) and
`sign = Base64(HmacSHA256(appSecret, timestamp + "\\n" + appSecret))`. The signature covers
only the timestamp and the secret, never the body, so a captured request could be replayed with
another body inside the window. So each (timestamp, sign) is single-use: the ReplayGuard port (a row
in the database, or Redis, shared by every process) accepts it with the body it first came with (the
very same request again is a retry, de-duplicated on msgId) and refuses it with any other body (401).
The window is short (DINGTALK_ROBOT_WINDOW_SECONDS, default 60 s; DingTalk itself allows an hour),
and an optional source-IP allow-list narrows it further.

Event subscription (HTTP push) carries `msg_signature` (older docs: `signature`), `timestamp`
and `nonce` in the query and `{"encrypt": ...}` in the body, signed as
`sha1(sorted(token, timestamp, nonce, encrypt))`. The AES layer is DingTalk's own (identical to
WeCom's); decryption and the encrypted reply use dingtalk-sdk's `DingTalkCrypto` with the AppKey
as key id (console-configured subscription of an internal app).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import secrets
import string
import struct
from datetime import datetime
from typing import Callable, Mapping

from connectors.base import Headers, InboundRequest, Payload
from connectors.dingtalk.settings import Settings
from core.errors import BadRequest, Forbidden, VerificationFailed
from core.ports import ReplayGuard

REMOTE_ADDR_HEADER = "X-Steward-Remote-Addr"
_NONCE_ALPHABET = string.ascii_letters + string.digits


def robot_sign(app_secret: str, timestamp: str) -> str:
    """The robot callback signature for `timestamp` (ms, as sent in the header)."""
    digest = hmac.new(app_secret.encode("utf-8"), f"{timestamp}\n{app_secret}".encode("utf-8"),
                      hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def event_signature(token: str, timestamp: str, nonce: str, encrypt: str) -> str:
    """sha1 over the sorted concatenation, as DingTalk (and dingtalk-sdk's DingTalkSigner) sign."""
    parts = sorted(p.encode("utf-8") for p in (token, timestamp, nonce, encrypt))
    return hashlib.sha1(b"".join(parts)).hexdigest()


def _check_fresh(timestamp: str | None, now: datetime, window_seconds: int) -> None:
    if not timestamp:
        raise VerificationFailed("missing timestamp")
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 16):
        raise BadRequest("malformed timestamp")
    now_ms = int(now.timestamp() * 1000)
    if abs(now_ms - int(timestamp)) > window_seconds * 1000:
        raise VerificationFailed("stale timestamp")


def check_source(headers: Headers, settings: Settings) -> None:
    """The optional allow-list: the client address comes from webhooks/ in X-Steward-Remote-Addr."""
    if not settings.allowed_networks:
        return
    raw = (headers.get(REMOTE_ADDR_HEADER) or "").strip()
    try:
        address = ipaddress.ip_address(raw)
    except ValueError:
        raise Forbidden("source address unknown") from None
    if not any(address in network for network in settings.allowed_networks):
        raise Forbidden("source address not allowed")


def single_use(replay: ReplayGuard | None, kind: str, parts: tuple[str, ...], body: bytes,
               window_seconds: int) -> None:
    """Refuse (401) a signature already accepted with another body, in any process."""
    if replay is None:
        return
    key = hashlib.sha256("\n".join(("dingtalk", kind) + parts).encode("utf-8", "replace")).hexdigest()
    # a timestamp may be up to a window ahead of this clock and stays fresh a window after it
    if not replay.first_use(key, 2 * window_seconds + 1, hashlib.sha256(body).hexdigest()):
        raise VerificationFailed("signature already used with another request")


def verify_robot(headers: Headers, settings: Settings, now: datetime, body: bytes = b"",
                 replay: ReplayGuard | None = None) -> None:
    check_source(headers, settings)
    timestamp, sign = headers.get("timestamp"), headers.get("sign")
    if not sign:
        raise VerificationFailed("missing sign")
    _check_fresh(timestamp, now, settings.window_seconds)
    expected = robot_sign(settings.app_secret, timestamp or "")
    if not hmac.compare_digest(expected.encode("ascii"), sign.encode("utf-8", "replace")):
        raise VerificationFailed("bad sign")
    single_use(replay, "robot", (timestamp or "", sign), body, settings.window_seconds)


def encrypted_field(body: bytes) -> str:
    """The `encrypt` string of an event push body (the only part the signature covers)."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("body is not JSON") from None
    encrypt = data.get("encrypt") if isinstance(data, dict) else None
    if not isinstance(encrypt, str) or not encrypt:
        raise BadRequest("body has no encrypt field")
    return encrypt


def verify_event(query: Mapping[str, str], body: bytes, settings: Settings, now: datetime,
                 replay: ReplayGuard | None = None) -> str:
    """Check an event push; returns the verified `encrypt` string."""
    if not settings.events_enabled:
        raise Forbidden("event subscription is not configured")
    signature = query.get("msg_signature") or query.get("signature")
    timestamp, nonce = query.get("timestamp"), query.get("nonce")
    if not signature or not nonce:
        raise VerificationFailed("missing signature or nonce")
    _check_fresh(timestamp, now, settings.window_seconds)
    encrypt = encrypted_field(body)
    expected = event_signature(settings.token or "", timestamp or "", nonce, encrypt)
    if not hmac.compare_digest(expected.encode("ascii"), signature.encode("utf-8", "replace")):
        raise VerificationFailed("bad signature")
    single_use(replay, "events", (timestamp or "", nonce, signature), body, settings.window_seconds)
    return encrypt


def verify(request: InboundRequest, settings: Settings, now: datetime,
           cipher: "Callable[[], EventCipher]", replay: ReplayGuard | None = None) -> Payload:
    """The robot's body once its signed timestamp checked out (the signature does not cover the body), or
    an event push's plaintext JSON once its signature checked out and it was decrypted (once)."""
    if request.endpoint == "robot":
        verify_robot(request.headers, settings, now, request.body, replay)
        return Payload(request.body)
    if request.endpoint == "events":
        encrypt = verify_event(request.query, request.body, settings, now, replay)
        return Payload(cipher().decrypt(encrypt))
    raise Forbidden(f"no such DingTalk endpoint {request.endpoint!r}")


class EventCipher:
    """dingtalk-sdk's DingTalkCrypto, keyed with the AppKey (console-configured subscription)."""

    def __init__(self, token: str, aes_key: str, key_id: str) -> None:
        from dingtalk.crypto import DingTalkCrypto  # imported on first use, not at import time
        self._crypto = DingTalkCrypto(token, aes_key, key_id)
        self._key_id = key_id

    def decrypt(self, encrypt: str) -> str:
        """Plaintext of a verified `encrypt` string (the signature was already checked)."""
        from dingtalk.core.exceptions import InvalidCorpIdOrSuiteKeyException
        from dingtalk.crypto import PrpCrypto
        try:
            return PrpCrypto(self._crypto.key).decrypt(encrypt, self._key_id)
        except InvalidCorpIdOrSuiteKeyException:
            raise VerificationFailed("message is for another app key") from None
        except (ValueError, IndexError, struct.error) as exc:
            # binascii.Error, UnicodeDecodeError, struct.error, the cipher's ValueError: garbage in.
            raise BadRequest(f"cannot decrypt: {type(exc).__name__}") from None

    def reply(self, text: str, now: datetime, nonce: str | None = None) -> dict[str, str]:
        """{"msg_signature","timeStamp","nonce","encrypt"} for `text` (DingTalk expects "success")."""
        nonce = nonce or "".join(secrets.choice(_NONCE_ALPHABET) for _ in range(16))
        return self._crypto.encrypt_message(text, nonce=nonce, timestamp=str(int(now.timestamp() * 1000)))
