"""Normalisation before matching (issue 4): every evasion folds to the plain form, and every span
maps back to the original text."""
from __future__ import annotations

import pytest

from core.moderation.normalise import Normaliser

CASES = [
    # NFKC / width / case
    ("ＡＢＣ１２３", "abc123"),
    ("ＷｅＣｈａｔ", "微信"),
    ("FuCk", "fuck"),
    ("培训，明天：９点", "培训,明天:9点"),
    # zero-width and combining marks
    ("傻\u200b逼", "傻逼"),
    ("傻\u200d\u2060逼", "傻逼"),
    ("f\u0336u\u0336c\u0336k\u0336", "fuck"),
    ("cafe\u0301", "cafe"),
    ("\ufeff加微信", "加微信"),
    # separators between CJK characters
    ("加 微 信", "加微信"),
    ("加.微.信", "加微信"),
    ("加-微-信", "加微信"),
    ("加_微_信", "加微信"),
    ("加*微*信", "加微信"),
    ("加 / 微 / 信", "加微信"),
    ("加🌟微🌟信", "加微信"),
    ("你是傻 逼吧", "你是傻逼吧"),
    ("傻，逼", "傻逼"),
    ("f u c k you", "fuck you"),
    ("f.u.c.k", "fuck"),
    # ... but not sentence punctuation between words
    ("我先出去，死磕这个bug", "我先出去,死磕这个bug"),
    ("class is at 9 a.m.", "class is at 9am."),
    # Traditional -> Simplified
    ("這個課程真垃圾", "这个课程真垃圾"),
    ("加個微信，請聯繫我", "加个微信,请联系我"),
    ("幹你娘", "干你娘"),
    ("請把身份證影本交給 HR", "请把身份证影本交给 hr"),
    # the usual substitutions
    ("加V信", "加微信"),
    ("加v 信", "加微信"),
    ("薇信", "微信"),
    ("威信号", "微信号"),
    ("徽信", "微信"),
    ("➕V", "加微信"),
    ("+v", "加微信"),
    ("＋ｖｘ", "加微信"),
    ("加vx", "加微信"),
    ("wx: abc_123", "微信: abc_123"),
    ("扣扣号", "qq号"),
    ("加q", "加qq"),
    ("add me on WeChat", "add me on 微信"),
    ("mp.weixin.qq.com/s/abc", "mp.weixin.qq.com/s/abc"),   # not inside a link
    ("wxPython", "wxpython"),                                # not inside a word
    # digits as words, circled, full-width
    ("一三八零零一三八零零零", "13800138000"),
    ("幺三八 零零幺三 八零零零", "13800138000"),
    ("壹叁捌零零壹叁捌零零零", "13800138000"),
    ("①③⑧⓪⓪①③⑧⓪⓪⓪", "13800138000"),
    ("１３８００１３８０００", "13800138000"),
    ("one three eight zero zero one three eight zero zero zero", "13800138000"),
    ("1 3 8 0 0 1 3 8 0 0 0", "13800138000"),
    ("第一二章", "第一二章"),                                # short runs stay words
    ("一起学习", "一起学习"),
    # repeated letters
    ("fuuuuck", "fuck"),
    ("www.acme-corp.com", "www.acme-corp.com"),
    # white space
    ("see  you\n\ttomorrow", "see you\n tomorrow"),
]


@pytest.mark.parametrize("raw, expected", CASES)
def test_normalises(normaliser: Normaliser, raw: str, expected: str) -> None:
    assert normaliser(raw).text == expected


SPANS = [
    # original text, substring of the normalised text, the original text it must map to
    ("你好，加 微 信 abc_123", "加微信", "加 微 信"),
    ("請加V信聯繫", "加微信", "加V信"),
    ("先说一句 f̶u̶c̶k̶ 然后", "fuck", "f̶u̶c̶k̶"),
    ("号码一三八零零一三八零零零谢谢", "13800138000", "一三八零零一三八零零零"),
    ("call one three eight zero zero one three eight zero zero zero now",
     "13800138000", "one three eight zero zero one three eight zero zero zero"),
    ("ＡＢＣ傻\u200b逼ＤＥＦ", "傻逼", "傻\u200b逼"),
    ("……你是白癡……", "白痴", "白癡"),
    ("ﬁne ﬁne 傻逼", "傻逼", "傻逼"),
    ("➕V：abc_123", "加微信", "➕V"),
    ("℃℃℃ 你去死", "去死", "去死"),
]


@pytest.mark.parametrize("raw, needle, original", SPANS)
def test_spans_map_back_to_the_original(normaliser: Normaliser, raw: str, needle: str,
                                        original: str) -> None:
    norm = normaliser(raw)
    start = norm.text.index(needle)
    a, b = norm.original_span(start, start + len(needle))
    assert raw[a:b] == original


def test_terms_and_text_fold_alike(normaliser: Normaliser) -> None:
    assert normaliser.fold("幹你娘") == normaliser("幹 你 娘").text == "干你娘"
