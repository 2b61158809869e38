"""Pure rules of the training feature: the announcement template (R3.1.2), working-hour deadlines
(R4.3.1), Chinese-aware similarity (R4.3.2), anonymous feedback words (R2.3.3), steward.yaml keys."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
from pydantic import ValidationError

from core.kernel.working_hours import add_working_hours
from core.training.announcement_format import BadTime, missing, parse_fields, parse_time
from core.training.config import TrainingSettings
from core.training.feedback import split_anonymous, split_session
from core.training.materials import valid_link
from core.training.similarity import reads_as_question, similarity

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)   # Monday 17:00 in Shanghai


@pytest.mark.parametrize("text,session,lacking", [
    ("topic: A\ntime: 2026-11-05 14:00\npoints: b", False, []),
    ("topic: A time: 2026-11-05 14:00 points: b", True, ["place"]),
    ("主题：入职 时间：11月5日 14:00 地点：三楼 要点：带电脑", True, []),
    ("主題：入職\n時間：2026-11-05 14:00", False, ["points"]),
    ("just words", False, ["topic", "time", "points"]),
])
def test_the_r3_1_2_template_in_every_spelling(text, session, lacking):
    assert missing(parse_fields(text), session) == lacking


def test_times_are_read_in_the_group_zone():
    assert parse_time("2026-11-05 14:00", "Asia/Shanghai", NOW) == datetime(2026, 11, 5, 6, 0, tzinfo=timezone.utc)
    assert parse_time("11月5日 14:00", "Asia/Shanghai", NOW).hour == 6


@pytest.mark.parametrize("value,tz", [("2026-02-30 10:00", "Asia/Shanghai"), ("2026-11-05 24:00", "Asia/Shanghai"),
                                      ("tomorrow", "Asia/Shanghai"), ("2026-03-08 02:30", "America/New_York")])
def test_impossible_times_are_refused(value, tz):
    with pytest.raises(BadTime):
        parse_time(value, tz, NOW)


@pytest.mark.parametrize("hours,expected_utc", [
    (1, datetime(2026, 11, 2, 10, 0, tzinfo=timezone.utc)),     # Monday 17:00 -> 18:00 local
    (4, datetime(2026, 11, 3, 4, 0, tzinfo=timezone.utc)),      # the rest on Tuesday morning, 12:00 local
    (28, datetime(2026, 11, 5, 10, 0, tzinfo=timezone.utc)),    # 1 + 9 + 9 + 9: Thursday 18:00 local
    (38, datetime(2026, 11, 9, 2, 0, tzinfo=timezone.utc)),     # over the weekend: Monday 10:00 local
])
def test_r4_3_1_deadlines_count_working_hours_only(hours, expected_utc):
    assert add_working_hours(NOW, hours, "Asia/Shanghai", (0, 1, 2, 3, 4), "09:00", "18:00") == expected_utc


def test_r4_3_1_the_working_calendar_skips_holidays_and_counts_moved_workdays():
    """R4.3.1 "working hours in the group's working calendar": a public holiday is off, a weekend day
    worked instead (调休) counts."""
    week = (0, 1, 2, 3, 4)
    tuesday_off = add_working_hours(NOW, 4, "Asia/Shanghai", week, "09:00", "18:00", holidays={date(2026, 11, 3)})
    assert tuesday_off == datetime(2026, 11, 4, 4, 0, tzinfo=timezone.utc)       # Wednesday 12:00 local
    friday = datetime(2026, 11, 6, 9, 0, tzinfo=timezone.utc)                       # Friday 17:00 local
    saturday_worked = add_working_hours(friday, 4, "Asia/Shanghai", week, "09:00", "18:00",
                                        extra_workdays={date(2026, 11, 7)})
    assert saturday_worked == datetime(2026, 11, 7, 4, 0, tzinfo=timezone.utc)    # Saturday 12:00 local


def test_r4_3_2_similarity_is_chinese_aware():
    assert similarity("请问作业怎么提交？", "作業怎麼提交呢") > 0.8          # Traditional = Simplified
    assert similarity("作业怎么提交", "午饭在哪里吃") == 0
    assert similarity("how do I submit homework", "How do I submit the homework?") > 0.6
    assert reads_as_question("这个怎么用") and reads_as_question("明天上课吗") and reads_as_question("why?")
    assert not reads_as_question("收到，谢谢") and not reads_as_question("lunch was good")


@pytest.mark.parametrize("text,expected", [
    ("anonymous too fast", (True, "too fast")), ("匿名：太快了", (True, "太快了")),
    ("anonymously fine", (False, "anonymously fine")), ("good", (False, "good"))])
def test_r2_3_3_anonymous_words(text, expected):
    assert split_anonymous(text) == expected


@pytest.mark.parametrize("text,expected", [
    ("#3 too fast", (3, "too fast")), ("#12：节奏太快", (12, "节奏太快")), ("#3", (None, "#3")),
    ("#x fast", (None, "#x fast")), ("too fast #3", (None, "too fast #3")),
])
def test_r2_3_3_feedback_on_a_session(text, expected):
    assert split_session(text) == expected


@pytest.mark.parametrize("link,ok", [("https://learn.example.com/a", True), ("http://localhost:8000/x", True),
                                     ("not-a-link", False), ("ftp://files.example.com", False),
                                     ("https://", False), ("https://nodot", False)])
def test_r3_1_3_links(link, ok):
    assert valid_link(link) is ok


@pytest.mark.parametrize("bad", [{"working_days": [7]}, {"working_hours": ["18:00", "09:00"]},
                                 {"working_hours": ["9am", "6pm"]}, {"question_deadline_hours": 0},
                                 {"digest_time": "25:00"}, {"archive_retention_days": 1}, {"colour": "red"},
                                 {"holidays": ["2026-02-30"]},
                                 {"holidays": ["2026-10-01"], "extra_workdays": ["2026-10-01"]}])
def test_bad_training_settings_are_refused(bad):
    with pytest.raises(ValidationError):
        TrainingSettings(**bad)


def test_training_settings_in_steward_yaml():
    from core.config import parse_config
    cfg = parse_config("templates:\n  new-hire:\n    training: {question_deadline_hours: 2, working_days: [0, 1, 2]}\n")
    assert cfg.all_templates()["new-hire"].training.question_deadline_hours == 2
    cfg = parse_config("templates:\n  new-hire:\n    training: {holidays: [2026-10-01, 2026-10-02], "
                       "extra_workdays: [2026-10-10]}\n")
    assert cfg.all_templates()["new-hire"].training.holidays == (date(2026, 10, 1), date(2026, 10, 2))
