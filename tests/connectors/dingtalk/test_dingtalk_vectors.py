"""DingTalk's published vectors: the callback debug tool (调试工具) and the robot signature."""
from __future__ import annotations

import json
from datetime import datetime, timezone

from dingtalk.crypto import DingTalkCrypto, PrpCrypto

from connectors.base import ConnectorDeps
from connectors.dingtalk.connector import DingTalkConnector
from connectors.dingtalk.verify import EventCipher, event_signature, robot_sign
from core.clock import FrozenClock
from core.ports import MemoryTokenStore, NoRateLimit
from tests.connectors.dingtalk.dingtalk_support import event_request

# https://open.dingtalk.com/document/development/callback-event-message-body-encryption-and-decryption
V_TOKEN = "123456"
V_AES_KEY = "4g5j64qlyl3zvetqxz5jiocdr586fn2zvjpa8zls3ij"
V_KEY = "suite4xxxxxxxxxxxxxxx"
V_SIGNATURE = "5a65ceeef9aab2d149439f82dc191dd6c5cbe2c0"
V_TIMESTAMP = "1445827045067"
V_NONCE = "nEXhMP4r"
V_ENCRYPT = ("1a3NBxmCFwkCJvfoQ7WhJHB+iX3qHPsc9JbaDznE1i03peOk1LaOQoRz3+nlyGNhwmwJ3vDMG+OzrHMeiZI7gTRW"
             "VdUBmfxjZ8Ej23JVYa9VrYeJ5as7XM/ZpulX8NEQis44w53h1qAgnC3PRzM7Zc/D6Ibr0rgUathB6zRHP8PYrfgnNO"
             "S9PhSBdHlegK+AGGanfwjXuQ9+0pZcy0w9lQ==")
V_PLAINTEXT = '{"EventType":"check_create_suite_url","Random":"LPIdSnlF","TestSuiteKey":"suite4xxxxxxxxxxxxxxx"}'
# Encrypt direction (007gzs/dingtalk-sdk tests/test_crypto.py), with the random prefix fixed.
V_RANDOM = "1234567890123456"
V_OUT_SIGNATURE = "bcf6dcefa4ce2dbaf7b0666c7264d46fd9aad4bd"
V_OUT_ENCRYPT = ("5DJFWzjRNOQk+5GSZxW+VrFMDWCIidPjEjg3//gm5x556BedVi62rDj1F9uXU97a4jw1R4FACUv9RCpoDobNqxhx"
                 "RB2YtW901k4KHbP1/wpFJ3xdLG0n0A8U1VhENg80zKJd+YROR0YMGum4WYuoXJ6J98vt0ihYeIFoapNddLML5MyNAG"
                 "M9saSpkouDMSvD+iU14i7V8ix1ia1Tb9ogog==")


def test_debug_vector_signature():
    assert event_signature(V_TOKEN, V_TIMESTAMP, V_NONCE, V_ENCRYPT) == V_SIGNATURE


def test_debug_vector_decrypts_to_check_create_suite_url():
    assert EventCipher(V_TOKEN, V_AES_KEY, V_KEY).decrypt(V_ENCRYPT) == V_PLAINTEXT


def test_debug_vector_through_the_connector():
    """The whole inbound path: verified, decrypted, explicitly ignored, answered with encrypted success."""
    clock = FrozenClock(datetime.fromtimestamp(int(V_TIMESTAMP) / 1000, timezone.utc))
    deps = ConnectorDeps(clock=clock, tokens=MemoryTokenStore(clock), limiter=NoRateLimit())
    connector = DingTalkConnector.from_env({
        "DINGTALK_APP_KEY": V_KEY, "DINGTALK_APP_SECRET": "s", "DINGTALK_ROBOT_CODE": V_KEY,
        "DINGTALK_TOKEN": V_TOKEN, "DINGTALK_ENCODING_AES_KEY": V_AES_KEY}, deps)
    request = event_request({"signature": V_SIGNATURE, "timestamp": V_TIMESTAMP, "nonce": V_NONCE},
                            json.dumps({"encrypt": V_ENCRYPT}).encode())
    connector.verify(request)
    result = connector.receive(request)
    assert result.events == [] and result.status == 200
    assert result.ignored == "third-party suite check; Steward is an internal app"
    answer = json.loads(result.body)
    assert set(answer) == {"msg_signature", "timeStamp", "nonce", "encrypt"}
    assert DingTalkCrypto(V_TOKEN, V_AES_KEY, V_KEY).decrypt_encrypt_str(
        answer["msg_signature"], answer["timeStamp"], answer["nonce"], answer["encrypt"]) == "success"


class _FixedRandom(PrpCrypto):
    def get_random_string(self) -> str:
        return V_RANDOM


def test_encrypt_direction_vector():
    crypto = DingTalkCrypto(V_TOKEN, V_AES_KEY, V_KEY)
    encrypted = _FixedRandom(crypto.key).encrypt(V_PLAINTEXT, V_KEY).decode()
    assert encrypted == V_OUT_ENCRYPT
    assert event_signature(V_TOKEN, V_TIMESTAMP, V_NONCE, encrypted) == V_OUT_SIGNATURE


def test_robot_sign_from_the_java_example_inputs():
    # The doc's Java example (timestamp 1577262236757, appSecret "this is a secret") prints no
    # expected value; this is HmacSHA256 + Base64 computed independently (PLATFORMS.md 3.5).
    assert robot_sign("this is a secret", "1577262236757") == "DJrE6qdyVGCQz9z5r2MDuNcNAhwYnuAkyj13cx169CA="
    assert robot_sign("this is secret", "1700000000000") == "sSFWELbV2YwjdDQhWZwTcWlX5BWUx5J6TPpsZmuPii0="
