"""Redaction (R3.3.1): no full ID, bank card, phone number or e-mail survives, in any spelling."""
from __future__ import annotations

import re

import pytest

from core.moderation import redact

from .conftest import check

SECRETS = [
    ("身份证 110101199003071233 请查收", "110101199003071233"),
    ("11010119920815007X", "11010119920815007X"),
    ("手机 138 0013 8000", "13800138000"),
    ("手机 138-0013-8000", "13800138000"),
    ("卡号6222 0212 3456 7890 128", "6222021234567890128"),
    ("１３８００１３８０００", "13800138000"),
    ("一三八零零一三八零零零", "一三八零零一三八零零零"),
    ("①③⑧⓪⓪①③⑧⓪⓪⓪", "①③⑧⓪⓪①③⑧⓪⓪⓪"),
    ("call one three eight zero zero one three eight zero zero zero", "three eight zero"),
]


def _digits(s: str) -> str:
    return re.sub(r"[\s\-]", "", s)


@pytest.mark.parametrize("text, secret", SECRETS)
def test_no_full_number_survives(text: str, secret: str) -> None:
    out = redact(text)
    assert len(out) == len(text)                     # spans keep pointing at the same place
    assert secret not in _digits(out) and secret not in out


def test_email_keeps_the_domain_only() -> None:
    assert redact("发到 zhangsan1990@qq.com 吧") == "发到 z***********@qq.com 吧"


@pytest.mark.parametrize("text", ["2024-03-15 开会", "第3课", "工号 20230145", "Room 426"])
def test_short_numbers_stay(text: str) -> None:
    assert redact(text) == text


@pytest.mark.parametrize("text, secret", [
    ("我的身份证号 110101199003071233 麻烦 HR 登记", "110101199003071233"),
    ("私聊 一三八零零一三八零零零 优惠", "一三八零零一三八零零零"),
    ("身份证：一一零一零一一九九零零三零七一二三三", "一一零一零一一九九零零三零七一二三三"),
    ("工资卡 6222 0212 3456 7890 128", "6222021234567890128"),
    ("需要的私聊，138 0013 8000", "13800138000"),
    ("微信同号 13800138000", "13800138000"),
])
def test_evidence_is_redacted(moderator, text: str, secret: str) -> None:
    verdicts = check(moderator, text)
    assert verdicts
    for v in verdicts:
        assert secret not in _digits(v.evidence), v
        assert "*" in v.evidence
