"""group_members on WeCom: appchat/get's userlist through wechatpy against the fake (groups this app
created); errors map like deliveries."""
from __future__ import annotations

import pytest

from connectors.wecom.connector import WeComConnector
from core.errors import PermanentDeliveryError, RetryableDeliveryError


@pytest.fixture
def wecom(fake_wecom, deps) -> WeComConnector:
    fake_wecom.add_chat("wrTRAIN01", "adminchen", ["adminchen", "zhangsan", "lisi"])
    return WeComConnector.from_env(fake_wecom.env(), deps)


def test_the_userlist(wecom, fake_wecom):
    assert wecom.group_members("wrTRAIN01") == ["adminchen", "zhangsan", "lisi"]
    [call] = fake_wecom.calls_to("appchat/get")
    assert call.method == "GET" and call.params == {"chatid": "wrTRAIN01"}
    assert wecom.capabilities.list_members


def test_errors(wecom, fake_wecom):
    with pytest.raises(PermanentDeliveryError) as unknown:
        wecom.group_members("wrNOSUCH")
    assert unknown.value.code == "86003"
    fake_wecom.fail("appchat/get", errcode=45009)                      # API frequency
    with pytest.raises(RetryableDeliveryError) as throttled:
        wecom.group_members("wrTRAIN01")
    assert throttled.value.retry_after == 60.0
    fake_wecom.expire_tokens()                                         # refreshed once, then it works
    assert wecom.group_members("wrTRAIN01")
