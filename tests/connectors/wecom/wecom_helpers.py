"""Helpers for the WeCom connector tests: test secrets, signed and encrypted requests.

(A uniquely named module rather than conftest, so other connectors' test folders cannot shadow it.)
"""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from wechatpy.enterprise.crypto import WeChatCrypto

from connectors.base import Headers, InboundRequest
from connectors.wecom.verify import msg_signature

FIXTURES = Path(__file__).parent / "fixtures"
CORP_ID = "wwfakecorp0001"
AGENT_ID = "1000002"
TOKEN = "stewardCallbackToken"
AES_KEY = "kW3wYb0mQ4zR8tV2xN6pL1cJ9gF5hD7sA3eU0iO2yT4"
CONTACT_TOKEN = "stewardContactToken"
CONTACT_AES_KEY = "Zq8Xw2Ev4Rt6Yu8Io0Pa2Sd4Fg6Hj8Kl0Zx2Cv4Bn6M"
NOW = datetime(2026, 11, 25, 4, 0, tzinfo=timezone.utc)
NONCE = "1597212914"

BASE_ENV = {
    "WECOM_CORP_ID": CORP_ID, "WECOM_AGENT_ID": AGENT_ID, "WECOM_SECRET": "fake-secret-for-tests",
    "WECOM_TOKEN": TOKEN, "WECOM_ENCODING_AES_KEY": AES_KEY,
    "WECOM_CONTACT_TOKEN": CONTACT_TOKEN, "WECOM_CONTACT_ENCODING_AES_KEY": CONTACT_AES_KEY,
}


def ts(clock, offset: float = 0) -> str:
    return str(int(clock.now().timestamp() + offset))


def keys_for(endpoint: str) -> tuple[str, str]:
    return (CONTACT_TOKEN, CONTACT_AES_KEY) if endpoint == "contacts" else (TOKEN, AES_KEY)


def encrypt(plaintext: str, endpoint: str = "callback", corp_id: str = CORP_ID) -> str:
    """The Encrypt value for `plaintext`, with wechatpy's implementation of the official algorithm."""
    token, key = keys_for(endpoint)
    envelope = WeChatCrypto(token, key, corp_id).encrypt_message(plaintext, NONCE, "0")
    return envelope.split("<Encrypt><![CDATA[", 1)[1].split("]]>", 1)[0]


def envelope(encrypted: str, corp_id: str = CORP_ID) -> bytes:
    return (f"<xml><ToUserName><![CDATA[{corp_id}]]></ToUserName>"
            f"<Encrypt><![CDATA[{encrypted}]]></Encrypt><AgentID><![CDATA[{AGENT_ID}]]></AgentID></xml>").encode()


def post(body: bytes, query: dict, endpoint: str = "callback") -> InboundRequest:
    return InboundRequest("POST", f"/wecom/{endpoint}", endpoint, Headers({"Content-Type": "text/xml"}), query, body)


def get(query: dict, endpoint: str = "callback") -> InboundRequest:
    return InboundRequest("GET", f"/wecom/{endpoint}", endpoint, Headers({}), query, b"")


def signed_post(plaintext: str, clock, endpoint: str = "callback", offset: float = 0,
                corp_id: str = CORP_ID) -> InboundRequest:
    """A POST exactly as WeCom sends it: plaintext encrypted, msg_signature over the ciphertext."""
    encrypted = encrypt(plaintext, endpoint, corp_id)
    timestamp = ts(clock, offset)
    token, _ = keys_for(endpoint)
    query = {"msg_signature": msg_signature(token, timestamp, NONCE, encrypted), "timestamp": timestamp,
             "nonce": NONCE}
    return post(envelope(encrypted), query, endpoint)


def signed_get(echo: str, clock, endpoint: str = "callback", offset: float = 0) -> InboundRequest:
    echostr = encrypt(echo, endpoint)
    timestamp = ts(clock, offset)
    token, _ = keys_for(endpoint)
    return get({"msg_signature": msg_signature(token, timestamp, NONCE, echostr), "timestamp": timestamp,
                "nonce": NONCE, "echostr": echostr}, endpoint)


def fixture_text(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")
