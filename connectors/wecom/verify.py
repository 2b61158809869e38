"""WeCom callback verification (doc 90968 加解密方案说明).

`msg_signature = sha1(''.join(sorted([token, timestamp, nonce, encrypt])))`, compared in
constant time; the signed `timestamp` must lie within the replay window of the injected
clock. Decryption (AES-256-CBC, receiveid check) is wechatpy's `WeChatCrypto`, called only
after our own constant-time check succeeded (wechatpy itself compares with `!=`).
"""
from __future__ import annotations

import hashlib
import hmac
import json
from typing import Mapping

from wechatpy.enterprise.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidSignatureException, WeChatException

from connectors.base import InboundRequest, Payload
from connectors.wecom.xmlparse import parse_xml, text
from core.clock import Clock
from core.errors import BadRequest, Forbidden, VerificationFailed

ECHOSTR = "echostr"     # Payload.kind of a GET URL check: the plaintext to answer


def msg_signature(token: str, timestamp: str, nonce: str, encrypted: str) -> str:
    return hashlib.sha1("".join(sorted([token, timestamp, nonce, encrypted])).encode()).hexdigest()


def normalise_echostr(echostr: str) -> str:
    """Base64 has no spaces: a '+' that a proxy decoded as a space is put back.

    Harmless, because the signature over the restored value must still match.
    """
    return echostr.replace(" ", "+")


class CallbackCrypto:
    """One callback configuration (token + EncodingAESKey + receiveid)."""

    def __init__(self, token: str, aes_key: str, receive_id: str, clock: Clock, window_seconds: int) -> None:
        self._token = token
        self._crypto = WeChatCrypto(token, aes_key, receive_id)
        self._clock = clock
        self._window = window_seconds

    def check(self, query: Mapping[str, str], encrypted: str) -> None:
        """Raise VerificationFailed unless `msg_signature` signs (timestamp, nonce, encrypted) freshly."""
        signature = query.get("msg_signature") or ""
        timestamp = query.get("timestamp") or ""
        nonce = query.get("nonce") or ""
        if not (signature and timestamp and nonce and encrypted):
            raise VerificationFailed("missing signature parameters")
        if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
            raise BadRequest("malformed timestamp")
        now = self._clock.now().timestamp()
        if abs(now - int(timestamp)) > self._window:
            raise VerificationFailed("stale timestamp")
        expected = msg_signature(self._token, timestamp, nonce, encrypted)
        if not hmac.compare_digest(expected.encode(), signature.lower().encode()):
            raise VerificationFailed("bad signature")

    def decrypt_echostr(self, query: Mapping[str, str], echostr: str) -> str:
        """The URL-verification plaintext; call after `check`."""
        return self._decrypt(lambda: self._crypto.check_signature(
            query["msg_signature"].lower(), query["timestamp"], query["nonce"], echostr))

    def decrypt_message(self, query: Mapping[str, str], encrypted: str) -> str:
        """The plaintext XML of a POSTed message; call after `check`."""
        return self._decrypt(lambda: self._crypto.decrypt_message(
            {"Encrypt": encrypted}, query["msg_signature"].lower(), query["timestamp"], query["nonce"]))

    def verify(self, request: InboundRequest) -> Payload:
        """Check the signature over the encrypted field, then decrypt it once: the URL check's echostr
        (kind "echostr") or the POSTed message (the app's and contact sync's XML, the AI bot's JSON)."""
        encrypted = encrypted_field(request)
        self.check(request.query, encrypted)
        if request.method == "GET":
            return Payload(self.decrypt_echostr(request.query, encrypted), kind=ECHOSTR)
        return Payload(self.decrypt_message(request.query, encrypted))

    @staticmethod
    def _decrypt(run) -> str:
        try:
            plaintext = run()
        except InvalidSignatureException:
            raise VerificationFailed("bad signature") from None
        except WeChatException:
            # InvalidCorpIdException: signed with our token but addressed to another receiveid.
            raise Forbidden("message is addressed to another corp id") from None
        except Exception:  # noqa: BLE001 - bad base64, padding or length from a signed but broken body
            raise BadRequest("cannot decrypt the message") from None
        return plaintext


def encrypted_field(request: InboundRequest) -> str:
    """What the signature covers: `echostr` of a GET, `Encrypt` of the XML envelope, or `encrypt` of the
    AI bot's JSON envelope (doc 101033); nothing else in the body is trusted."""
    if request.method == "GET":
        return normalise_echostr(request.query.get("echostr") or "")
    if request.method == "POST" and request.endpoint == "aibot":
        return _json_encrypt(request.body)
    if request.method == "POST":
        return text(parse_xml(request.body), "Encrypt")
    raise BadRequest(f"method {request.method} is not used by WeCom")


def _json_encrypt(body: bytes) -> str:
    try:
        envelope = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise BadRequest("the WeCom AI bot body is not JSON") from None
    encrypted = envelope.get("encrypt") if isinstance(envelope, dict) else None
    if not isinstance(encrypted, str):
        raise BadRequest("the WeCom AI bot body has no encrypt field")
    return encrypted
