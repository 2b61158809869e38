"""Ads and solicitation beyond words (R8.1.2): contact offers, links, invitation codes."""
from __future__ import annotations

import pytest

from core.moderation import ModerationSettings, Moderator, NoRecentMessages

from .conftest import COMPANY, categories, check


@pytest.mark.parametrize("text, rule", [
    ("我的微信号 zhang_san_88，加我", "WeChat id"),
    ("vx：abc123456 备注培训", "WeChat id"),
    ("薇信 liu-xiaomei2020", "WeChat id"),
    ("微信同号 13800138000", "WeChat id"),
    ("wxid_k3j9x0p2q 加一下", "WeChat id"),
    ("QQ群 123456789 资料都在里面", "QQ group"),
    ("扣扣 987654321", "QQ id"),
    ("课程优惠，咨询热线 400-820-8820", "phone number"),
    ("需要的私聊，138 0013 8000", "phone number"),
    ("私聊 一三八零零一三八零零零", "phone number"),
    ("优惠代理请联系 sales.king@163.com", "e-mail address"),
    ("whatsapp me +44 7700 900123", "messenger id"),
])
def test_contact_offers(moderator, text: str, rule: str) -> None:
    verdicts = [v for v in check(moderator, text) if v.detector == "contact"]
    assert verdicts and rule in verdicts[0].rule, text
    assert verdicts[0].category == "ads" and verdicts[0].clause == "R8.1.2"


@pytest.mark.parametrize("text, detector", [
    ("进群领资料 https://t.me/joinchat/abcdef", "link"),
    ("大家加这个群 https://qm.qq.com/q/AbCdEf", "link"),
    ("全场五折优惠 https://shop.example.com/sale", "link"),
    ("限时折扣 bit.ly/3xYz", "link"),
    ("注册时填邀请码 A7K2Q9，有优惠", "invite_code"),
    ("use my referral code: alex2024", "invite_code"),
])
def test_links_and_codes(moderator, text: str, detector: str) -> None:
    assert detector in {v.detector for v in check(moderator, text)}, text


@pytest.mark.parametrize("text", [
    "推荐一本书《代码整洁之道》 https://book.douban.com/subject/4199741/",
    "官方文档在这 https://docs.python.org/3/tutorial/",
    "腾讯会议：https://meeting.tencent.com/dm/AbCd123 明早九点",
    "课件在公司网盘 https://drive.acme-corp.com/s/xyz",
    "This article explains joins well: https://www.postgresql.org/docs/current/tutorial-join.html",
    "我的微信 group 里也发了",
    "add me to the WeChat group please",
    "邀请码是什么？平台注册要吗",
    "请问 HR 的邮箱是多少？",
    "教材在京东买的，https://item.jd.com/12345678.html",
])
def test_contact_near_misses(moderator, text: str) -> None:
    assert categories(moderator, text) == set(), text


def test_external_links_flagged_when_the_template_says_so() -> None:
    strict = Moderator(ModerationSettings(company_domains=COMPANY, flag_external_links=True,
                                          allowed_link_domains=("docs.python.org",)),
                       NoRecentMessages())
    assert categories(strict, "看这个 https://example.org/x") == {"ads"}
    assert categories(strict, "官方文档 https://docs.python.org/3/") == set()
    assert categories(strict, "公司的 https://wiki.acme-corp.com/a") == set()


def test_phone_without_offer_is_personal_data_not_an_ad(moderator) -> None:
    assert categories(moderator, "新号 13912345678") == {"dlp"}
    assert categories(moderator, "新号 13912345678，私聊优惠") == {"ads"}
