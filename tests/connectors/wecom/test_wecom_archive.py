"""会话内容存档 records (decrypted JSON lines) -> MessagePosted for group messages."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from connectors.wecom.archive import ArchiveError, ArchiveProblem, archive_events
from core.events import MessagePosted
from tests.connectors.wecom.wecom_helpers import FIXTURES

ROOM = "wrtraining2026q4"


def _msg(msg_id: str, user: str, ms: int, text: str, kind: str) -> MessagePosted:
    return MessagePosted(platform="wecom", event_id=f"archive:{msg_id}", chat_id=ROOM, user_id=user,
                         message_id=msg_id, text=text, kind=kind,
                         sent_at=datetime.fromtimestamp(ms / 1000, tz=timezone.utc))


def test_group_day_fixture():
    lines = (FIXTURES / "archive__group_day.jsonl").read_text(encoding="utf-8").splitlines()
    assert list(archive_events(lines, skip_senders={"stewardbot"})) == [
        _msg("CAQQluDa4QUY0On2rYSAgAMgzPrShAE=", "zhangsan", 1764043200123, "@李四 第三周作业的截止时间是周五吗？", "text"),
        _msg("CAQQ2uDa4QUY0On2rYSAgAMgkPnShAE=", "lisi", 1764043260456, "", "image"),
        _msg("CAQQ3uDa4QUY0On2rYSAgAMgmPnShAE=", "wangwu", 1764043320789, "第三周作业-王五.docx", "file"),
        _msg("CAQQ4uDa4QUY0On2rYSAgAMgoPnShAE=", "zhaoliu", 1764043380000,
             "加我微信领优惠\n限时\nhttps://spam.example.com/x", "link"),
        # the 1:1 chat, the recall and the switch record are skipped; a vote is carried as "other"
        _msg("CAQQ7uDa4QUY0On2rYSAgAMguPnShAE=", "wangwu", 1764043620000, "", "other"),
    ]


def test_reading_the_same_records_twice_yields_the_same_event_ids():
    lines = (FIXTURES / "archive__group_day.jsonl").read_bytes().splitlines()
    assert [e.event_id for e in archive_events(lines)] == [e.event_id for e in archive_events(lines)]


@pytest.mark.parametrize("line,reason", [
    ("{not json", "malformed JSON"),
    ("[1, 2]", "not a JSON object"),
    ('{"msgid": "x", "action": "send", "roomid": "wr1", "msgtime": 1}', "record lacks msgid or from"),
    ('{"msgid": "x", "action": "send", "from": "a", "roomid": "wr1", "msgtime": "soon"}',
     "msgtime is not a number of milliseconds"),
    ('{"msgid": "x", "action": "teleport", "from": "a"}', "unknown action 'teleport'"),
], ids=["bad_json", "not_object", "no_from", "bad_time", "unknown_action"])
def test_bad_lines_raise_with_their_line_number(line, reason):
    with pytest.raises(ArchiveError) as caught:
        list(archive_events(["", line]))
    assert (caught.value.line_no, caught.value.reason) == (2, reason)


def test_bad_lines_can_be_collected_and_skipped():
    good = '{"msgid":"m1","action":"send","from":"a","roomid":"wr1","msgtime":1000,"msgtype":"text","text":{"content":"hi"}}'
    problems: list[ArchiveProblem] = []
    events = list(archive_events(["{oops", good], problems=problems))
    assert [e.text for e in events] == ["hi"]
    assert problems == [ArchiveProblem(1, "malformed JSON")]
