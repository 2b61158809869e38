"""The WeCom connector's contract (tests/connectors/contract.py): msg_signature over the AES-encrypted
body, for the app callback, the contact-sync callback and the AI bot callback."""
from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime

from wechatpy.enterprise.crypto import WeChatCrypto

from connectors.base import Headers, InboundRequest
from connectors.wecom.verify import msg_signature
from core.clock import FrozenClock
from tests.connectors.contract import ROOT, Contract
from tests.connectors.wecom.wecom_helpers import BASE_ENV, FIXTURES, NONCE, signed_post
from tests.fakes.wecom_api import FakeWeCom

ENV = {**BASE_ENV, "WECOM_AIBOT_TOKEN": FakeWeCom.AIBOT_TOKEN,
       "WECOM_AIBOT_ENCODING_AES_KEY": FakeWeCom.AIBOT_AES_KEY, "WECOM_AIBOT_NAME": "Steward",
       "WECOM_API_URL": "http://127.0.0.1:9/cgi-bin/"}


def sign_for_test(endpoint: str, body: bytes, now: datetime) -> InboundRequest:
    """`body` is the plaintext (XML, or the AI bot's JSON); it is encrypted and signed as WeCom does."""
    clock = FrozenClock(now)
    if endpoint != "aibot":
        return signed_post(body.decode("utf-8"), clock, endpoint)
    sealed = WeChatCrypto(FakeWeCom.AIBOT_TOKEN, FakeWeCom.AIBOT_AES_KEY, "").encrypt_message(
        body.decode("utf-8"), NONCE, "0")
    encrypted = sealed.split("<Encrypt><![CDATA[", 1)[1].split("]]>", 1)[0]
    timestamp = str(int(now.timestamp()))
    query = {"msg_signature": msg_signature(FakeWeCom.AIBOT_TOKEN, timestamp, NONCE, encrypted),
             "timestamp": timestamp, "nonce": NONCE}
    return InboundRequest("POST", "/wecom/aibot", "aibot", Headers({"Content-Type": "application/json"}), query,
                          json.dumps({"encrypt": encrypted}).encode())


def tamper(request: InboundRequest) -> InboundRequest:
    signature = request.query["msg_signature"]
    flipped = ("0" if signature[-1] != "0" else "1")
    return replace(request, query={**request.query, "msg_signature": signature[:-1] + flipped})


def endpoint_of(name: str) -> str:
    if name.startswith("aibot/"):
        return "aibot"
    return "contacts" if name.startswith(("change_contact", "batch_job_result")) else "callback"


CONTRACT = Contract(
    platform="wecom",
    env=ENV,
    sign=sign_for_test,
    tamper=tamper,
    samples={"callback": (FIXTURES / "text__plain.xml").read_bytes(),
             "contacts": (FIXTURES / "change_contact_delete_user__resigned.xml").read_bytes(),
             "aibot": (FIXTURES / "aibot" / "text__single.json").read_bytes()},
    readme=ROOT / "connectors" / "wecom" / "README.md",
    fixtures=FIXTURES,
    endpoint_of=endpoint_of,
    not_replayed={"archive__group_day.jsonl": "test_wecom_archive.py"},   # the message archive feed, no HTTP
)
