"""group_members on DingTalk: sceneGroups/members/batchQuery against the fake, every page (nextToken);
a group that is no scene group is refused with a message that says so; errors map like deliveries."""
from __future__ import annotations

import pytest

from connectors.dingtalk import connector as dt_connector
from connectors.dingtalk.connector import DingTalkConnector
from core.errors import PermanentDeliveryError, RetryableDeliveryError
from tests.connectors.dingtalk.dingtalk_support import base_env

SCENE = "cidScene01xxxxxxxxxxxxxx=="
BATCH = "/v1.0/im/sceneGroups/members/batchQuery"


@pytest.fixture
def dingtalk(fake_dingtalk, deps) -> DingTalkConnector:
    fake_dingtalk.add_group(SCENE, [f"u_{i}" for i in range(7)], scene=True)
    return DingTalkConnector.from_env(base_env(**fake_dingtalk.env()), deps)


def test_one_call_below_the_page_threshold(dingtalk, fake_dingtalk):
    assert dingtalk.group_members(SCENE) == [f"u_{i}" for i in range(7)]
    [call] = fake_dingtalk.calls_to(BATCH)
    assert call.body == {"openConversationId": SCENE, "maxResults": 1000}
    assert dingtalk.capabilities.list_members


def test_every_page_is_read(dingtalk, fake_dingtalk, monkeypatch):
    fake_dingtalk.member_page_threshold = 3
    monkeypatch.setattr(dt_connector, "MEMBER_PAGE", 3)
    assert dingtalk.group_members(SCENE) == [f"u_{i}" for i in range(7)]
    assert [c.body.get("nextToken") for c in fake_dingtalk.calls_to(BATCH)] == [None, "3", "6"]


def test_a_group_made_with_group_create_cannot_be_listed(dingtalk, fake_dingtalk):
    fake_dingtalk.add_group("cidPlain01xxxxxxxxxxxxxx==", ["u_1", "u_2"], scene=False)
    with pytest.raises(PermanentDeliveryError) as refused:
        dingtalk.group_members("cidPlain01xxxxxxxxxxxxxx==")
    assert refused.value.code == "groupPermissionDenied" and "scene groups" in str(refused.value)


def test_throttled_and_quota(dingtalk, fake_dingtalk):
    fake_dingtalk.throttle(BATCH, retry_after=7)
    with pytest.raises(RetryableDeliveryError) as throttled:
        dingtalk.group_members(SCENE)
    assert throttled.value.retry_after == 7
    fake_dingtalk.error(BATCH, 403, "Forbidden.AccessDenied.ApiCountLimitForOrg")
    with pytest.raises(PermanentDeliveryError) as quota:
        dingtalk.group_members(SCENE)
    assert quota.value.code == "quota"
