"""user_profile (user/get + department/get, cached) and make_group (appchat/create)."""
from __future__ import annotations

import pytest

from connectors.wecom.connector import WeComConnector
from core.errors import PermanentDeliveryError
from core.ports import CreatedGroup, Profile
from tests.connectors.wecom.wecom_helpers import BASE_ENV


@pytest.fixture
def fake(fake_wecom):
    fake_wecom.add_department(2, "研发中心")
    fake_wecom.add_department(7, "培训部")
    fake_wecom.add_user("zhangsan", "张三", department=[2, 7], main_department=7, position="培训专员")
    fake_wecom.add_user("lisi", "李四", department=[2], position="工程师")
    fake_wecom.add_user("adminchen", "陈管理")
    return fake_wecom


@pytest.fixture
def wecom(fake, deps) -> WeComConnector:
    return WeComConnector.from_env({**BASE_ENV, "WECOM_API_URL": fake.api_url}, deps)


def test_user_profile_names_departments_main_first(wecom, fake):
    assert wecom.user_profile("zhangsan") == Profile(
        user_id="zhangsan", name="张三", department="培训部", departments=("培训部", "研发中心"),
        position="培训专员", department_ids=("7", "2"))
    assert [c.params for c in fake.calls_to("user/get")] == [{"userid": "zhangsan"}]
    assert sorted(c.params["id"] for c in fake.calls_to("department/get")) == ["2", "7"]


def test_profiles_and_department_names_are_cached(wecom, fake, clock):
    wecom.user_profile("zhangsan")
    wecom.user_profile("zhangsan")
    wecom.user_profile("lisi")                       # department 2 is already known
    assert len(fake.calls_to("user/get")) == 2 and len(fake.calls_to("department/get")) == 2
    clock.advance(seconds=3601)
    wecom.user_profile("zhangsan")
    assert len(fake.calls_to("user/get")) == 3


def test_forgetting_a_profile_after_a_change(wecom, fake):
    wecom.user_profile("lisi")
    fake.users["lisi"]["position"] = "高级工程师"
    wecom.directory.forget("lisi")
    assert wecom.user_profile("lisi").position == "高级工程师"


def test_unknown_user_has_no_profile(wecom, fake):
    assert wecom.user_profile("ghost") is None          # user/get answered 60111
    assert len(fake.calls_to("user/get")) == 1


def test_create_group_returns_the_chat_id_and_includes_the_owner(wecom, fake):
    chat_id = wecom.make_group("2026 Q4 新员工培训", owner="adminchen", user_ids=["zhangsan", "lisi"]).chat_id
    (call,) = fake.calls_to("appchat/create")
    assert call.body == {"name": "2026 Q4 新员工培训", "owner": "adminchen",
                         "userlist": ["adminchen", "zhangsan", "lisi"]}
    assert fake.chats[chat_id].userlist == ["adminchen", "zhangsan", "lisi"]


def test_create_group_with_a_fixed_chat_id_is_idempotent(wecom, fake):
    first = wecom.make_group("新员工培训", "adminchen", ["zhangsan"], chat_id="stwNewHire2026Q4").chat_id
    again = wecom.make_group("新员工培训", "adminchen", ["zhangsan"], chat_id="stwNewHire2026Q4").chat_id
    assert first == again == "stwNewHire2026Q4"
    assert len(fake.chats) == 1


@pytest.mark.parametrize("kwargs,code", [
    ({"chat_id": "has-dash"}, "86001"),
    ({"user_ids": []}, "86006"),
], ids=["bad_chat_id", "too_few_members"])
def test_create_group_refuses_what_wecom_would(wecom, fake, kwargs, code):
    args = {"name": "g", "owner": "adminchen", "user_ids": ["zhangsan"], **kwargs}
    with pytest.raises(PermanentDeliveryError) as caught:
        wecom.make_group(**args)
    assert caught.value.code == code
    assert fake.calls_to("appchat/create") == []


def test_create_group_with_unknown_member_is_refused_by_wecom(wecom):
    with pytest.raises(PermanentDeliveryError) as caught:
        wecom.make_group("g", "adminchen", ["ghost"])
    assert caught.value.code == "86007"


def test_make_group_is_the_group_creator_port(wecom, fake):
    assert wecom.make_group("新员工培训", "adminchen", ["zhangsan"], chat_id="stwPort01") == CreatedGroup("stwPort01")
    assert wecom.make_group("新员工培训", "adminchen", ["zhangsan"], chat_id="stwPort01").complete   # idempotent
