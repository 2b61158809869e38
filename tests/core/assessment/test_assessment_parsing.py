"""The pure parts of the assessment feature: what leads and reviewers type, and the scheme's rules
(R5.1.1, R5.2.2, R6.1.2, R6.2.1)."""
from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from core.assessment.assignments import number, parse_method, parse_rubric, split_fields
from core.assessment.cohort import parse_when
from core.assessment.quizzes import parse_answer, parse_option, parse_questions
from core.assessment.reviews import parse_marks
from core.assessment.schemes import parse_chat, validate
from core.assessment.submissions import check_link, has_part
from core.kernel.refusals import Refusal


def test_fields_in_english_or_chinese_on_one_line_or_many():
    assert split_fields("title: Week 1 due: 2026-11-10 18:00\nmethod: link") == {
        "title": "Week 1", "due": "2026-11-10 18:00", "method": "link"}
    assert split_fields("标题：第一周报告 截止: 2026-11-10 要求：写 500 字") == {
        "title": "第一周报告", "due": "2026-11-10", "requirements": "写 500 字"}
    assert split_fields("Week 1 report due: 2026-11-10")["title"] == "Week 1 report"
    assert split_fields("标题：周报截止：2026-11-10 18:00方式：链接") == {
        "title": "周报", "due": "2026-11-10 18:00", "method": "链接"}
    assert split_fields("title: overdue: stuff")["title"] == "overdue: stuff"
    assert split_fields("title: A due: 2026-11-10 review: 2026-11-17 批改期限: 2026-11-18")["review"] == "2026-11-18"


@pytest.mark.parametrize("text,expected", [
    ("text", ("text", (), None)),
    ("链接", ("link", (), None)),
    ("file pdf .DOCX 10MB", ("file", ("pdf", "docx"), 10)),
    ("文件 pdf", ("file", ("pdf",), 20)),
])
def test_submission_methods(text, expected):
    assert parse_method(text, 20) == expected


@pytest.mark.parametrize("text", ["fax", "text pdf", "file pdf 10GB!", ""])
def test_unknown_methods_are_refused(text):
    with pytest.raises(Refusal) as err:
        parse_method(text, 20)
    assert err.value.key == "assign.bad_method"


def test_rubric_with_required_parts():
    rubric = parse_rubric("Summary* 40, Analysis=60；总结 10")
    assert [(c.name, c.points, c.required) for c in rubric] == [
        ("Summary", 40, True), ("Analysis", 60, False), ("总结", 10, False)]


@pytest.mark.parametrize("text", ["Summary", "Summary 0", "A 10, a 20", "X -5"])
def test_bad_rubrics_are_refused(text):
    with pytest.raises(Refusal):
        parse_rubric(text)


def test_dates_are_read_in_the_training_time_zone():
    tz = ZoneInfo("Asia/Shanghai")
    at = parse_when("2026-11-10 18:00", tz)
    assert at.utcoffset().total_seconds() == 0 and at.hour == 10
    assert parse_when("2026/11/10", tz).astimezone(tz).strftime("%H:%M") == "23:59"
    assert parse_when("2026-02-30 10:00", tz) is None and parse_when("tomorrow", tz) is None


def test_numbers_and_links():
    assert number("#12") == 12 and number("A3") == 3 and number("x") is None
    assert check_link("https://git.example.com/a b c") == ("https://git.example.com/a", "b c")
    for bad in ("ftp://x.com/a", "https://nodot/a", "example.com"):
        with pytest.raises(Refusal):
            check_link(bad)


def test_required_parts_are_headings():
    assert has_part("Summary: done", "Summary") and has_part("## summary\ntext", "Summary")
    assert not has_part("no summary at all", "Summary")


def test_marks():
    assert parse_marks("85 Structure=35 Content=50 Good; cite sources") == (
        85.0, {"Structure": 35.0, "Content": 50.0}, "Good; cite sources")
    assert parse_marks("Structure=35 fine") == (None, {"Structure": 35.0}, "fine")


SCHEME = {"components": [{"key": "exam", "kind": "exam", "weight": 30, "standard": "auto"},
                         {"key": "hw", "kind": "assignment", "weight": 50, "standard": "rubric"},
                         {"key": "lab", "kind": "practical", "weight": 20, "standard": "0-100"}],
          "pass_mark": 60, "honours": {"top": 3}}


def test_a_valid_scheme():
    checked = validate(SCHEME, 60)
    assert [c["weight"] for c in checked["components"]] == [30, 50, 20]
    assert checked["honours"] == {"top": 3, "threshold": None}


@pytest.mark.parametrize("change,key", [
    (lambda d: d["components"][0].update(weight=40), "scheme.bad_weights"),
    (lambda d: d["components"][0].update(kind="karaoke"), "scheme.bad_kind"),
    (lambda d: d["components"][0].update(standard=""), "scheme.no_standard"),
    (lambda d: d["components"][1].update(key="exam"), "scheme.bad_value"),
    (lambda d: d.update(pass_mark=120), "scheme.bad_value"),
    (lambda d: d.update(components=[]), "scheme.no_components"),
    (lambda d: d.update(extra=1), "scheme.bad_value"),
    (lambda d: d["components"][0].update(weight="30"), "scheme.bad_value"),
])
def test_bad_schemes_are_refused(change, key):
    import copy
    data = copy.deepcopy(SCHEME)
    change(data)
    with pytest.raises(Refusal) as err:
        validate(data, 60)
    assert err.value.key == key


def test_scheme_from_the_chat():
    data, reason = parse_chat("考试=30 作业=50 实操=20 pass=70 top=2 理由: 调整", "zh-Hans")
    assert [c["kind"] for c in data["components"]] == ["exam", "assignment", "practical"]
    assert data["pass_mark"] == 70 and data["honours"] == {"top": 2} and reason == "调整"
    assert validate(data, 60)["components"][0]["standard"]


def test_questions_and_answers():
    qs = parse_questions("Q: Sky is blue | true* Q: 2+2? | 3 | 4* | 5 题：对吗 | 错")
    assert [(q["kind"], q["answer"]) for q in qs] == [("tf", 0), ("mc", 1), ("tf", 1)]
    assert parse_option(qs[1], "b") == 1 and parse_option(qs[1], "3") == 2 and parse_option(qs[1], "E") is None
    assert parse_option(qs[0], "F") == 1 and parse_option(qs[2], "对") == 0
    assert parse_answer("5.2 B") == (5, 2, "B") and parse_answer("5 2 b") == (5, 2, "b")
    assert parse_answer("five") is None
    for bad in ("Q: no options", "Q: two right | a* | b*", "Q: seven | a* | b | c | d | e | f | g", "nothing"):
        with pytest.raises(Refusal):
            parse_questions(bad)
