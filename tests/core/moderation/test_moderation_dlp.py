"""Confidential and personal data (R3.3.1, R8.1.4): checksums, markers, code names."""
from __future__ import annotations

from datetime import date

import pytest

from core.moderation.dlp import find_numbers, id_check_digit, is_bank_card, is_resident_id, luhn_valid

from .conftest import categories, check

# Fake resident IDs: valid region, birth date and GB 11643 check digit; nobody's real number.
VALID_IDS = ["110101199003071233", "440304198512014562", "31011519920815007X",
             "510107198802142331", "370202199506301125"]


@pytest.mark.parametrize("number", VALID_IDS)
def test_valid_resident_ids(number: str) -> None:
    assert is_resident_id(number)
    assert is_resident_id(number.lower())


@pytest.mark.parametrize("number, why", [
    ("110101199003071234", "wrong check digit"),
    ("110101199013071233", "month 13"),
    ("990101199003071233", "no such province"),
    ("110101180003071233", "born before 1900"),
    ("11010119900307123", "17 characters"),
    ("1101011990030712333", "19 characters"),
])
def test_invalid_resident_ids(number: str, why: str) -> None:
    assert not is_resident_id(number), why


def test_future_birth_dates_are_not_ids() -> None:
    first17 = "11010120300101123"
    assert not is_resident_id(first17 + id_check_digit(first17), today=date(2026, 1, 1))


@pytest.mark.parametrize("number, ok", [
    ("6222021234567890128", True),      # UnionPay 19
    ("6222021234567890", False),        # Luhn fails
    ("4111111111111111", True),         # Visa test number
    ("5500005555555559", True),         # Mastercard test number
    ("378282246310005", True),          # Amex test number
    ("1234567812345670", False),        # Luhn-valid but no card scheme starts with 1
    ("2024031512345678", False),        # an order number shaped like a date
])
def test_bank_cards(number: str, ok: bool) -> None:
    assert is_bank_card(number) is ok


def test_luhn() -> None:
    assert luhn_valid("79927398713")
    assert not luhn_valid("79927398710")
    assert not luhn_valid("")


@pytest.mark.parametrize("text, kinds", [
    ("13800138000", ["phone"]),
    ("138 0013 8000", ["phone"]),
    ("138-0013-8000", ["phone"]),
    ("+86 138 0013 8000", ["phone"]),
    ("8613800138000", ["phone"]),
    ("110101 19900307 1233", ["id_card"]),
    ("13800138000 110101199003071233", ["phone", "id_card"]),
    ("6222 0212 3456 7890 128", ["bank_card"]),
    ("订单号 202403151234567890", []),
    ("会议号 852 1234 5678", []),
    ("工号 20230145", []),
    ("2024-03-15 10:00", []),
    ("sf1234567890123", []),
    ("400-820-8820", ["hotline"]),
])
def test_find_numbers(normaliser, text: str, kinds: list[str]) -> None:
    assert [n.kind for n in find_numbers(normaliser(text).text)] == kinds


@pytest.mark.parametrize("text, detector, severity", [
    ("我的身份证号 110101199003071233 麻烦 HR 登记", "dlp.id_card", "severe"),
    ("身份证：一一零一零一一九九零零三零七一二三三", "dlp.id_card", "severe"),
    ("工资卡 6222 0212 3456 7890 128 开户行招商", "dlp.bank_card", "severe"),
    ("我的手机号换了，新号 13912345678，请 HR 更新", "dlp.phone", "normal"),
    ("小王电话是 一三九 一二三四 五六七八", "dlp.phone", "normal"),
    ("作业发我私人邮箱 zhangsan1990@qq.com", "dlp.email", "normal"),
    ("机密：Q3 营收 3.2 亿，毛利率降到 21%，先别往外说", "dlp.marker", "normal"),
    ("绝密文件，大家看看 roadmap-2027.pdf", "dlp.marker", "severe"),
    ("CONFIDENTIAL - pricing for Q4 attached", "dlp.marker", "normal"),
    ("内部资料，网盘链接 https://pan.baidu.com/s/1abc 提取码 x7k2", "dlp.marker", "normal"),
    ("Falcon 项目什么时候上线？", "dlp.code_name", "normal"),
    ("天鹰的架构图我放群里了", "dlp.code_name", "normal"),
])
def test_dlp_verdicts(moderator, text: str, detector: str, severity: str) -> None:
    verdicts = [v for v in check(moderator, text) if v.detector == detector]
    assert verdicts, text
    v = verdicts[0]
    assert (v.category, v.clause, v.severity, v.delete) == ("dlp", "R8.1.4", severity, True)


@pytest.mark.parametrize("text", [
    "请把身份证复印件交给 HR",
    "請把身份證影本交給 HR",
    "我的手机号换了，请 HR 更新",
    "入职材料：身份证、银行卡、学历证明",
    "工号 20230145，部门：财务",
    "订单号 202403151234567890 已经发货",
    "腾讯会议 852 1234 5678，密码 6622",
    "作业请发到 training@acme-corp.com",
    "Send it to lisa.wang@acme.cn please",
    "这个是机密吗？",
    "培训资料属于内部资料，请勿外传",
    "Is the Q3 deck confidential?",
    "信息安全三要素：机密性、完整性、可用性",
    "内部资料在公司 wiki：https://wiki.acme-corp.com/training/onboarding",
    "保密协议今天之内签完",
    "I signed the NDA yesterday",
])
def test_dlp_near_misses(moderator, text: str) -> None:
    assert categories(moderator, text) == set(), text
