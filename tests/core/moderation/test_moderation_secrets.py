"""Credentials in a message (secrets.py): detect-secrets' plugins behind a prefilter, keyword and
value in Chinese and English, confidentiality markers in front of content or a file."""
from __future__ import annotations

import pytest

from core.moderation import Moderator
from core.moderation.patterns import anchors
from core.moderation.secrets import SecretsDetector, looks_like_secret

from .conftest import categories, check

AWS = "AKIAZ7QX2R4MPLW9KD3F"
JWT = ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1MSIsInJvbGUiOiJ0cmFpbmVlIn0."
       "Xk2pQ9mW4xL7vR1kN8bH3jF6sD0gA5cE")

LEAKS = [
    f"lab key {AWS} secret q8Xv2LmP0rTz7uYwK4nB9cE1sHjD6fGa3iOeRtUy",
    f"token for staging: {JWT}",
    "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAz8F3k2L9mQ7xR5vT1nB4\n-----END RSA PRIVATE KEY-----",
    "ghp_7Hk2LmQ9xPzR4tVb8NwC3yJd6FgA1sE5uK0o 先用我的",
    "测试库密码是 Kq7#pLx2!m，账号 admin",
    "VPN 帳號 chen，密碼：Chen_19900101!",
    "口令 Zx@2026exam 是考试系统的",
    "秘钥：7f3a9c2e1b8d4f6a0c5e9b7d2a1f8c4e",
    "the admin password for the sandbox is Rt5!qLm8vZ",
    "db: postgres://app:S3cr3t!pw@10.1.2.3:5432/lms",
    "shared drive login is trainee / Welcome2026!!",
    "阿里云 AccessKey ID LTAI5tRm8KzQ2xVnP4wHj7Ya 给大家用",
]
SAFE = [
    "密码忘了怎么重置？", "密码至少8位，包含大小写字母和数字", "不要在群里发密码",
    "The example uses password=<your-password>, replace it locally",
    "token 过期了要重新登录", "API key 在控制台自己生成", "key points of today's session",
    "AKIA 开头的是 AWS 的访问密钥 ID", "腾讯会议的密码是多少？", "Never share your private key",
    "密码学那节课讲了非对称加密", "my password expired again",
]


@pytest.mark.parametrize("text", LEAKS)
def test_credentials_are_found_deleted_and_masked(moderator: Moderator, text: str) -> None:
    verdicts = [v for v in check(moderator, text) if v.category == "dlp"]
    assert verdicts, text
    v = verdicts[0]
    assert v.clause == "R8.1.4" and v.delete and v.severe and 0.5 <= v.score <= 1.0
    secret = text[v.span[0]:v.span[1]]
    assert secret and secret not in v.evidence


@pytest.mark.parametrize("text", SAFE)
def test_talk_about_credentials_is_not_a_leak(moderator: Moderator, text: str) -> None:
    assert "dlp" not in categories(moderator, text), text


def test_library_plugins_name_the_kind() -> None:
    hits = SecretsDetector().find(f"key {AWS}", f"key {AWS}".lower())
    assert hits and "AWS" in hits[0].rule and hits[0].in_original
    hits = SecretsDetector().find(JWT, JWT.lower())
    assert hits and "JSON Web Token" in hits[0].rule


def test_looks_like_secret() -> None:
    assert looks_like_secret("Acme@2026#test")
    assert looks_like_secret("9f8e7d6c5b4a39281706f5e4d3c2b1a0")
    for value in ("password", "<your-password>", "12345678", "xxxxxxxx", "summarise", "******"):
        assert not looks_like_secret(value), value


@pytest.mark.parametrize("text", [
    "内部文件勿转：薪酬方案.pdf", "內部資料，勿外傳：定價表.xlsx",
    "Internal only: the new org chart, attached Org_v3.pdf",
    "机密：第三季度裁员名单已附上，共42人",
])
def test_markers_in_front_of_content_or_a_file(moderator: Moderator, text: str) -> None:
    assert "dlp" in categories(moderator, text), text


@pytest.mark.parametrize("text", [
    "内部文件统一放在共享盘的培训资料目录", "内部文件勿转，这是规定，大家记住",
    "这份是内部资料吗？能不能给客户？", "The 'internal only' label means it can't go to clients",
])
def test_markers_alone_are_talk(moderator: Moderator, text: str) -> None:
    assert "dlp" not in categories(moderator, text), text


def test_anchors_are_read_off_the_regex() -> None:
    assert anchors("(?:蠢|笨)到(?:家|极点)") == {"蠢到家", "蠢到极点", "笨到家", "笨到极点"}
    assert anchors(r"\bwhat is wrong with (?:you|u)\b") == {"what is wrong with you",
                                                           "what is wrong with u"}
    assert anchors(r"\w+") is None
