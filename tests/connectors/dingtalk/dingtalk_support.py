"""Helpers for the DingTalk connector tests: fixture files, signed and encrypted requests."""
from __future__ import annotations

import json
from pathlib import Path

from connectors.base import Headers, InboundRequest
from connectors.dingtalk.verify import robot_sign
from core.clock import FrozenClock
from tests.fakes.dingtalk_api import APP_KEY, APP_SECRET, ROBOT_CODE

FIXTURES = Path(__file__).parent / "fixtures"
TOKEN = "steward-test-token"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"   # 43 characters, as the console shows


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def ms(clock: FrozenClock) -> str:
    return str(int(clock.now().timestamp() * 1000))


def base_env(**extra: str) -> dict[str, str]:
    return {"DINGTALK_APP_KEY": APP_KEY, "DINGTALK_APP_SECRET": APP_SECRET,
            "DINGTALK_ROBOT_CODE": ROBOT_CODE, "DINGTALK_TOKEN": TOKEN,
            "DINGTALK_ENCODING_AES_KEY": AES_KEY, **extra}


def robot_request(body: bytes, timestamp: str, secret: str = APP_SECRET, sign: str | None = None,
                  **headers: str) -> InboundRequest:
    all_headers = {"timestamp": timestamp, "sign": robot_sign(secret, timestamp) if sign is None else sign,
                   "Content-Type": "application/json", **headers}
    return InboundRequest(method="POST", path="/dingtalk/robot", endpoint="robot",
                          headers=Headers({k: v for k, v in all_headers.items() if v != ""}),
                          query={}, body=body)


def encrypt_event(plaintext: str | bytes, timestamp: str, nonce: str = "nonce123",
                  token: str = TOKEN, aes_key: str = AES_KEY, key_id: str = APP_KEY) -> tuple[dict, bytes]:
    """(query, body) of an event push, encrypted and signed with dingtalk-sdk's DingTalkCrypto."""
    from dingtalk.crypto import DingTalkCrypto
    text = plaintext.decode("utf-8") if isinstance(plaintext, bytes) else plaintext
    sealed = DingTalkCrypto(token, aes_key, key_id).encrypt_message(text, nonce=nonce, timestamp=timestamp)
    query = {"msg_signature": sealed["msg_signature"], "timestamp": timestamp, "nonce": nonce}
    return query, json.dumps({"encrypt": sealed["encrypt"]}).encode("utf-8")


def event_request(query: dict, body: bytes) -> InboundRequest:
    return InboundRequest(method="POST", path="/dingtalk/events", endpoint="events",
                          headers=Headers({"Content-Type": "application/json"}), query=query, body=body)
