"""Reading HR's file (R2.1.2): columns in English or Chinese, encodings, dates, duplicates, formulas, limits."""
from __future__ import annotations

from datetime import date

import pytest

from core.membership.onboarding_file import HrFileError, read_hr_file

LIMITS = dict(max_rows=100, max_bytes=100_000)
HEADER = "name,employee id,department,position,hire date,e-mail,wecom\n"


def read(text: str, encoding: str = "utf-8", name: str = "hires.csv"):
    return read_hr_file(text.encode(encoding), name, **LIMITS)


@pytest.mark.parametrize("cell,expected", [
    ("2026-11-30", date(2026, 11, 30)), ("2026/11/30", date(2026, 11, 30)), ("2026.11.30", date(2026, 11, 30)),
    ("20261130", date(2026, 11, 30)), ("2026年11月30日", date(2026, 11, 30)), ("30/11/2026", date(2026, 11, 30)),
])
def test_dates(cell, expected):
    rows, problems = read(HEADER + f"A,E1,D,P,{cell},,\n")
    assert not problems and rows[0].hire_date == expected


@pytest.mark.parametrize("line,problem", [
    (",E1,D,P,2026-11-30,,", "missing_name"),
    ("A,,D,P,2026-11-30,,", "missing_employee_id"),
    ("A,E1,,P,2026-11-30,,", "missing_department"),
    ("A,E1,D,,2026-11-30,,", "missing_position"),
    ("A,E1,D,P,tomorrow,,", "bad_date"),
    ("A,E1,D,P,2026-13-01,,", "bad_date"),
    ("A,E 1,D,P,2026-11-30,,", "bad_employee_id"),
    ("A,E1,D,P,2026-11-30,not-an-address,", "bad_email"),
    ("A,E1,D,P,2026-11-30,,two words", "bad_account"),
    ("=cmd|' /C calc'!A0,E1,D,P,2026-11-30,,", "formula"),
    ("A,E1,@SUM(1),P,2026-11-30,,", "formula"),
    ("A,E1,+HYPERLINK(1),P,2026-11-30,,", "formula"),
    ("A,E1,D,P,2026-11-30,,-2+3", "formula"),
])
def test_bad_rows_are_named_with_their_row_number(line, problem):
    rows, problems = read(HEADER + "Good,E0,D,P,2026-11-30,,\n" + line + "\n")
    assert [r.employee_id for r in rows] == ["E0"]
    assert [(p.row, p.problem) for p in problems] == [(3, problem)]


def test_duplicates_by_employee_id_email_or_account():
    text = HEADER + ("A,E1,D,P,2026-11-30,a@x.com,wa\n"
                     "B,E1,D,P,2026-11-30,,\n"
                     "C,E2,D,P,2026-11-30,A@X.COM,\n"
                     "D,E3,D,P,2026-11-30,,wa\n")
    rows, problems = read(text)
    assert len(rows) == 1
    assert [(p.row, p.problem) for p in problems] == [(3, "duplicate"), (4, "duplicate"), (5, "duplicate")]
    assert "row 2" in problems[0].detail


def test_chinese_headers_gbk_and_a_phone_number_that_is_not_a_formula():
    text = "姓名,工号,部门,职位,入职日期,手机,企业微信\n张三,E1,销售部,专员,2026-11-30,+86 138-0000-0001,zhangsan\n"
    rows, problems = read(text, encoding="gbk")
    assert not problems
    assert (rows[0].name, rows[0].mobile, rows[0].accounts) == ("张三", "+8613800000001", {"wecom": "zhangsan"})


def test_utf8_with_bom_and_semicolons_and_blank_lines():
    text = "\ufeffName;Employee ID;Department;Position;Hire Date\n\nA;E1;D;P;2026-11-30\n;;;;\n"
    rows, problems = read(text)
    assert [r.name for r in rows] == ["A"] and not problems


@pytest.mark.parametrize("data,message", [
    (b"", "empty"),
    (b"name,department\nA,D\n", "missing column(s) employee id, position, hire date"),
    (b"\xff\xfe\x00n\x00a", "UTF-8, GBK/GB18030 or Big5"),
    (b"PK\x03\x04garbage", "not a readable XLSX"),
])
def test_unusable_files(data, message):
    with pytest.raises(HrFileError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_hr_file(data, "f.csv", **LIMITS)


def test_limits():
    many = HEADER + "".join(f"A,E{i},D,P,2026-11-30,,\n" for i in range(101))
    with pytest.raises(HrFileError, match="import_max_rows"):
        read(many)
    with pytest.raises(HrFileError, match="import_max_bytes"):
        read_hr_file(b"x" * 100_001, "f.csv", **LIMITS)
