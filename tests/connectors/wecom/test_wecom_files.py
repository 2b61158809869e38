"""media/get and media/upload with the real wechatpy client against the fake qyapi (R5.2.1, R3.1.3)."""
from __future__ import annotations

import pytest

from connectors.base import ConnectorDeps
from connectors.wecom.connector import WeComConnector
from core.actions import PostFile
from core.errors import FileTooLarge, PermanentDeliveryError, RetryableDeliveryError
from core.events import FileRef
from core.file_store import LocalFileStore
from core.ports import MemoryTokenStore, NoRateLimit


@pytest.fixture
def connector(fake_wecom, clock, tmp_path):
    deps = ConnectorDeps(clock=clock, tokens=MemoryTokenStore(clock), limiter=NoRateLimit(),
                         files=LocalFileStore(tmp_path))
    return WeComConnector.from_env(fake_wecom.env(), deps)


def test_media_get_refreshes_an_expired_token_once(fake_wecom, connector):
    fake_wecom.add_media("1_media", b"report bytes")
    assert connector.fetch_file(FileRef("1_media", "r.pdf"), 1000) == b"report bytes"
    fake_wecom.expire_tokens()                      # media/get now answers JSON errcode 42001
    assert connector.fetch_file(FileRef("1_media", "r.pdf"), 1000) == b"report bytes"
    assert len(fake_wecom.calls_to("gettoken")) == 2


def test_media_get_errors_map_like_deliveries(fake_wecom, connector):
    with pytest.raises(PermanentDeliveryError) as err:            # an unknown or expired media id
        connector.fetch_file(FileRef("1_gone", "r.pdf"), 1000)
    assert err.value.code == "40007"
    fake_wecom.add_media("1_media", b"x" * 5000, chunked=True)
    fake_wecom.fail("media/get", status=503)
    with pytest.raises(RetryableDeliveryError):
        connector.fetch_file(FileRef("1_media", "r.pdf"), 10_000)
    with pytest.raises(FileTooLarge):
        connector.fetch_file(FileRef("1_media", "r.pdf"), 4096)


def test_a_stored_file_is_uploaded_then_posted_into_the_group(fake_wecom, connector, tmp_path):
    fake_wecom.add_user("zhangsan")
    fake_wecom.add_chat("wrgroup01", "zhangsan", ["zhangsan", "lisi"])
    sha = LocalFileStore(tmp_path).put(b"slides")
    connector.deliver(PostFile("wecom", "wrgroup01", sha, "第三周.pdf", "Shared by 张三"), "k1")
    [(name, data)] = fake_wecom.uploads.values()
    assert (name, data) == ("第三周.pdf", b"slides")
    upload = fake_wecom.calls_to("media/upload")[0]
    assert upload.params["type"] == "file"
    text, file = fake_wecom.chats["wrgroup01"].messages
    assert text["text"]["content"] == "Shared by 张三" and file == {
        "chatid": "wrgroup01", "safe": 0, "msgtype": "file", "file": {"media_id": next(iter(fake_wecom.uploads))}}
    with pytest.raises(PermanentDeliveryError) as err:
        connector.deliver(PostFile("wecom", "wrgroup01", "0" * 64, "gone.pdf"), "k2")
    assert err.value.code == "file_missing"
