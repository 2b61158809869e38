"""Each recorded (scrubbed) payload, re-encrypted at test time, parses into exactly this."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from core.events import CardActed, FileRef, MessagePosted, UserChanged, UserDeparted, UserJoinedOrg
from tests.connectors.wecom.wecom_helpers import FIXTURES, fixture_text, signed_post


def _at(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, tz=timezone.utc)


def _dm(user: str, msg_id: str, created: int, text: str, kind: str, *files: FileRef) -> MessagePosted:
    return MessagePosted(platform="wecom", event_id=msg_id, chat_id=f"dm:{user}", user_id=user, message_id=msg_id,
                         text=text, kind=kind, addressed=True, is_direct=True, sent_at=_at(created), files=files)


# fixture -> (endpoint, expected events, expected `ignored`)
CASES = {
    "text__plain.xml": ("callback", [_dm("zhangsan", "7318463918273645001", 1764043200,
                                         "请问第三周的作业什么时候交？", "text")], None),
    # file and image messages carry the MediaId for media/get (R5.2.1)
    "image__photo.xml": ("callback", [_dm("lisi", "7318463918273645002", 1764043260, "", "image", FileRef(
        "1_scrubbed_media_id_image", "image-7318463918273645002.jpg", mime="image/jpeg"))], None),
    "voice__recognized.xml": ("callback", [_dm("wangwu", "7318463918273645003", 1764043320,
                                               "明天上午的培训改到几点", "voice")], None),
    "video__clip.xml": ("callback", [_dm("zhaoliu", "7318463918273645004", 1764043380, "", "video")], None),
    "file__document.xml": ("callback", [_dm("zhangsan", "7318463918273645005", 1764043440,
                                            "第三周作业-张三.docx", "file",
                                            FileRef("1_scrubbed_media_id_file", "第三周作业-张三.docx"))], None),
    "link__article.xml": ("callback", [_dm("lisi", "7318463918273645006", 1764043500,
                                           "新员工安全培训手册\n第二章 信息安全\nhttps://intranet.example.com/training/handbook",
                                           "link")], None),
    "location__office.xml": ("callback", [_dm("wangwu", "7318463918273645007", 1764043560,
                                              "广州市天河区培训中心3楼", "other")], None),
    "template_card_event__approve.xml": ("callback", [CardActed(
        platform="wecom", event_id="adminchen:1764043620:case.approve|C-2026-0042", user_id="adminchen",
        action="case.approve", value="C-2026-0042", chat_id=None)], None),
    "template_card_event__no_value.xml": ("callback", [CardActed(
        platform="wecom", event_id="zhangsan:1764043680:record.show", user_id="zhangsan",
        action="record.show", value="", chat_id=None)], None),
    "enter_agent__open.xml": ("callback", [], "event:enter_agent"),
    "LOCATION__report.xml": ("callback", [], "event:LOCATION"),
    "event_unknown__future.xml": ("callback", [], "unknown:event:some_future_event"),
    "msgtype_unknown__future.xml": ("callback", [], "unknown:msgtype:hologram"),
    "change_contact_delete_user__resigned.xml": ("contacts", [UserDeparted(
        platform="wecom", event_id="sys:1764044000:delete_user:zhaoliu", user_id="zhaoliu")], None),
    "change_contact_update_user__department.xml": ("contacts", [UserChanged(
        platform="wecom", event_id="sys:1764044060:update_user:wangwu", user_id="wangwu",
        changes={"department": "1,7", "main_department": "7"})], None),
    "change_contact_update_user__position.xml": ("contacts", [UserChanged(
        platform="wecom", event_id="sys:1764044120:update_user:lisi", user_id="lisi",
        changes={"position": "高级工程师"})], None),
    "change_contact_update_user__mobile_only.xml": ("contacts", [], "change_contact:update_user:no_role_change"),
    # a new member of the directory (R2.1.2): what newer contact-sync callbacks carry, and the full form
    "change_contact_create_user__new_hire.xml": ("contacts", [UserJoinedOrg(
        platform="wecom", event_id="sys:1764044240:create_user:sunqi", user_id="sunqi", departments=("1",))], None),
    "change_contact_create_user__full_profile.xml": ("contacts", [UserJoinedOrg(
        platform="wecom", event_id="sys:1764044300:create_user:zhouba", user_id="zhouba", name="周八",
        departments=("7", "12"), position="销售专员", email="zhouba@example.com", mobile="13800000000")], None),
    "change_contact_update_tag__members.xml": ("contacts", [], "change_contact:update_tag"),
    "change_contact_unknown__future.xml": ("contacts", [], "unknown:change_contact:transfer_user"),
    "batch_job_result__sync_user.xml": ("contacts", [], "event:batch_job_result"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_fixture_parses_into_its_event(name, connector, clock):
    endpoint, events, ignored = CASES[name]
    request = signed_post(fixture_text(name), clock, endpoint)
    connector.verify(request)
    result = connector.receive(request)
    assert (result.status, result.body) == (200, b"")        # WeCom stops retrying; replies go via message/send
    assert result.events == events
    assert result.ignored == ignored


def test_no_orphan_fixtures():
    archive = {"archive__group_day.jsonl"}        # test_wecom_archive.py
    assert sorted(p.name for p in FIXTURES.iterdir() if p.is_file()) == sorted({*CASES, *archive})   # aibot/: its own


def test_a_replayed_delivery_carries_the_same_event_id(connector, clock):
    """WeCom retries (5 s, 3 times) re-send the same MsgId; the core's unique (platform, event_id) drops them."""
    first = connector.receive(signed_post(fixture_text("text__plain.xml"), clock))
    clock.advance(seconds=5)
    again = signed_post(fixture_text("text__plain.xml"), clock)
    connector.verify(again)
    assert [e.event_id for e in connector.receive(again).events] == [e.event_id for e in first.events]


def test_contact_changes_in_the_same_second_get_distinct_ids(connector, clock):
    xml = fixture_text("change_contact_delete_user__resigned.xml")
    ids = {connector.receive(signed_post(xml.replace("zhaoliu", user), clock, "contacts")).events[0].event_id
           for user in ("zhaoliu", "qianba")}
    assert len(ids) == 2


def test_contact_events_also_accepted_on_the_app_callback(connector, clock):
    """代开发 apps receive change_contact on the app callback; the same event id dedupes both routes."""
    xml = fixture_text("change_contact_delete_user__resigned.xml")
    via_app = connector.receive(signed_post(xml, clock, "callback")).events
    via_contacts = connector.receive(signed_post(xml, clock, "contacts")).events
    assert via_app == via_contacts


def test_unknown_payloads_are_logged_by_id_never_by_body(connector, clock, caplog):
    secret_text = "工资单：张三 38000"
    xml = fixture_text("msgtype_unknown__future.xml").replace(
        "<MsgId>", f"<Content><![CDATA[{secret_text}]]></Content><MsgId>")
    with caplog.at_level("DEBUG"):
        result = connector.receive(signed_post(xml, clock))
    assert result.ignored == "unknown:msgtype:hologram"
    assert "7318463918273645008" in caplog.text and secret_text not in caplog.text
