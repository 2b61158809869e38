"""WeCom's published WXBizMsgCrypt vectors (PLATFORMS.md §2.4), through the connector."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from connectors.base import ConnectorDeps
from connectors.wecom.connector import WeComConnector
from core.clock import FrozenClock
from core.events import MessagePosted
from core.ports import MemoryTokenStore, NoRateLimit
from tests.connectors.wecom.wecom_helpers import get, post

VECTOR_A = {
    "env": {"WECOM_CORP_ID": "wx5823bf96d3bd56c7", "WECOM_TOKEN": "QDG6eK",
            "WECOM_ENCODING_AES_KEY": "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"},
    "get": {"msg_signature": "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3", "timestamp": "1409659589",
            "nonce": "263014780",
            "echostr": "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ=="},
    "echo": "1616140317555161061",
    "post": {"msg_signature": "477715d11cdb4164915debcba66cb864d751f3e6", "timestamp": "1409659813",
             "nonce": "1372623149"},
    "encrypt": "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q==",
    "agent": "218",
    "message": dict(event_id="4561255354251345929", chat_id="dm:mycreate", user_id="mycreate",
                    message_id="4561255354251345929", text="hello", created=1409659813),
}
VECTOR_B = {
    "env": {"WECOM_CORP_ID": "ww1436e0e65a779aee", "WECOM_TOKEN": "hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo",
            "WECOM_ENCODING_AES_KEY": "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt"},
    "get": {"msg_signature": "012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb", "timestamp": "1476416373",
            "nonce": "47744683",
            "echostr": "fsi1xnbH4yQh0+PJxcOdhhK6TDXkjMyhEPA7xB2TGz6b+g7xyAbEkRxN/3cNXW9qdqjnoVzEtpbhnFyq6SVHyA=="},
    "echo": "1288432023552776189",
    "post": {"msg_signature": "0c3914025cb4b4d68103f6bfc8db550f79dcf48e", "timestamp": "1476422779",
             "nonce": "1597212914"},
    "encrypt": "Kl7kjoSf6DMD1zh7rtrHjFaDapSCkaOnwu3bqLc5tAybhhMl9pFeK8NslNPVdMwmBQTNoW4mY7AIjeLvEl3NyeTkAgGzBhzTtRLNshw2AEew+kkYcD+Fq72Kt00fT0WnN87hGrW8SqGc+NcT3mu87Ha3dz1pSDi6GaUA6A0sqfde0VJPQbZ9U+3JWcoD4Z5jaU0y9GSh010wsHF8KZD24YhmZH4ch4Ka7ilEbjbfvhKkNL65HHL0J6EYJIZUC2pFrdkJ7MhmEbU2qARR4iQHE7wy24qy0cRX3Mfp6iELcDNfSsPGjUQVDGxQDCWjayJOpcwocugux082f49HKYg84EpHSGXAyh+/oxwaWbvL6aSDPOYuPDGOCI8jmnKiypE+",
    "agent": "1000002",
    "message": dict(event_id="1456453720", chat_id="dm:ChenJiaShun", user_id="ChenJiaShun",
                    message_id="1456453720", text="你好", created=1476422779),
}
VECTORS = pytest.mark.parametrize("vector", [VECTOR_A, VECTOR_B], ids=["A-90968", "B-weworkapi_python"])


def _connector(vector, at: str) -> WeComConnector:
    clock = FrozenClock(datetime.fromtimestamp(int(at), tz=timezone.utc))
    env = {"WECOM_AGENT_ID": vector["agent"], "WECOM_SECRET": "unused", **vector["env"]}
    return WeComConnector.from_env(env, ConnectorDeps(clock, MemoryTokenStore(clock), NoRateLimit()))


@VECTORS
def test_url_verification_answers_the_plaintext_exactly(vector):
    connector = _connector(vector, vector["get"]["timestamp"])
    request = get(vector["get"])
    connector.verify(request)
    result = connector.receive(request)
    assert result.status == 200
    assert result.body == vector["echo"]          # no quotes, no newline, no BOM
    assert result.events == []


@VECTORS
def test_post_decrypts_to_the_text_message(vector):
    connector = _connector(vector, vector["post"]["timestamp"])
    corp = vector["env"]["WECOM_CORP_ID"]
    body = (f"<xml><ToUserName><![CDATA[{corp}]]></ToUserName><Encrypt><![CDATA[{vector['encrypt']}]]>"
            f"</Encrypt><AgentID><![CDATA[{vector['agent']}]]></AgentID></xml>").encode()
    request = post(body, vector["post"])
    connector.verify(request)
    result = connector.receive(request)
    m = vector["message"]
    assert result.status == 200 and result.body == b""
    assert result.events == [MessagePosted(
        platform="wecom", event_id=m["event_id"], chat_id=m["chat_id"], user_id=m["user_id"],
        message_id=m["message_id"], text=m["text"], kind="text", addressed=True, is_direct=True,
        sent_at=datetime.fromtimestamp(m["created"], tz=timezone.utc))]
