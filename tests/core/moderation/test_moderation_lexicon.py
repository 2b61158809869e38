"""Lexicon detectors (insult, discrimination, ads, illegal): the automaton, English word
boundaries, Traditional input against Simplified terms, allow-lists, extensions and removals."""
from __future__ import annotations

import pytest

from core.moderation import ModerationSettings, Moderator, NoRecentMessages
from core.moderation.lexicon import INTERNAL_CATEGORIES, builtin, listing, parse
from core.moderation.matcher import LexiconMatcher
from core.moderation.settings import LEXICON_CATEGORIES

from .conftest import categories, check

HITS = [
    # insult (R1.3.3)
    ("你是傻逼吧", "insult"),
    ("你 是 傻 逼", "insult"),
    ("傻\u200b逼", "insult"),
    ("煞笔一个", "insult"),
    ("脑残才这么写", "insult"),
    ("你就是個白癡", "insult"),            # zh-Hant
    ("幹你娘咧", "insult"),
    ("you're an idiot", "insult"),
    ("what an IDIOT", "insult"),
    ("Ｉｄｉｏｔ", "insult"),
    ("fuuuck you", "insult"),
    ("f u c k off", "insult"),
    ("idiots, all of you", "insult"),        # prefix term idiot*
    # discrimination (R1.3.3)
    ("女的就是不行，别让她带项目", "discrimination"),
    ("河南人都是骗子", "discrimination"),
    ("娘炮一个", "discrimination"),
    ("go back to your country", "discrimination"),
    # ads (R8.1.2)
    ("兼职刷单，日结工资", "ads"),
    ("扫码进群领取资料", "ads"),
    ("帮我砍一刀谢谢", "ads"),
    ("詳情私訊", "ads"),
    ("buy now, limited offer", "ads"),
    # illegal (R8.1.1)
    ("有人要代开发票吗", "illegal"),
    ("网赌一把回本", "illegal"),
    ("出售枪支", "illegal"),
    ("where can I buy cocaine", "illegal"),
    ("線上博彩平台", "illegal"),
]


@pytest.mark.parametrize("text, category", HITS)
def test_lexicon_hits(moderator: Moderator, text: str, category: str) -> None:
    verdicts = [v for v in check(moderator, text) if v.category == category]
    assert verdicts, text
    v = verdicts[0]
    assert v.detector == "lexicon"
    assert v.clause == {"insult": "R1.3.3", "discrimination": "R1.3.3", "ads": "R8.1.2",
                        "illegal": "R8.1.1"}[category]
    assert v.span[0] < v.span[1] <= len(text)


MISSES = [
    "This class is about assertions",          # "ass" inside words
    "Please read the assignment carefully",
    "Scunthorpe office opens at 9",
    "Dick's presentation was great",
    "Let's make the form idiot-proof",
    "今天加班到十点",
    "我已经加入培训群了",
    "请加一下我的企业微信，方便拉你进项目群",
    "怎么加微信群？",
    "下午是反洗钱培训，别迟到",
    "垃圾分类的规定下周生效",
    "废物利用也是环保培训的一部分",
    "我先出去，死磕这个bug",
    "外挂显示器怎么设置？",
    "警惕刷单诈骗，财务部提醒",
    "Anti-money laundering module is due Friday",
    "sorry for the stupid question",
    "oh shit I forgot the deadline",
    "这课有点水",
    "卧槽，这么难",
    "明天下午三点，会议室 426",
    "Her presentation was a real hit",
]


@pytest.mark.parametrize("text", MISSES)
def test_ordinary_talk_is_left_alone(moderator: Moderator, text: str) -> None:
    assert categories(moderator, text) == set(), text


def test_group_allow_list() -> None:
    plain = Moderator(ModerationSettings(), NoRecentMessages())
    sales = Moderator(ModerationSettings(allow_terms=("限时优惠", "代购")), NoRecentMessages())
    for text in ("本周限时优惠方案请大家熟悉", "代购渠道的风险点"):
        assert categories(plain, text) == {"ads"}
        assert categories(sales, text) == set()
    # the allow-list is per group and only for the terms it names
    assert categories(sales, "兼职刷单，日结工资") == {"ads"}


def test_extra_and_removed_terms_traditional_and_simplified() -> None:
    m = Moderator(ModerationSettings(extra_terms={"insult": ["菜鸡"], "ads": ["团建套餐"]},
                                     removed_terms={"ads": ["代購"]}), NoRecentMessages())
    assert categories(m, "你个菜雞") == {"insult"}            # added in Simplified, typed in zh-Hant
    assert categories(m, "团建套餐了解一下") == {"ads"}
    assert categories(m, "代购渠道的风险点") == set()          # removed in zh-Hant, typed Simplified


def test_settings_reject_unknown_categories_and_empty_terms() -> None:
    with pytest.raises(ValueError, match="unknown lexicon category"):
        ModerationSettings(extra_terms={"spam": ["x"]})
    with pytest.raises(ValueError, match="empty term"):
        ModerationSettings(extra_terms={"ads": [" "]})
    with pytest.raises(ValueError, match="a list"):
        ModerationSettings(extra_terms={"ads": "促销"})


def test_every_builtin_file_parses_and_has_three_languages() -> None:
    for category in LEXICON_CATEGORIES + INTERNAL_CATEGORIES:
        terms = builtin(category)
        assert terms, category
    for category in ("insult", "discrimination", "ads", "illegal"):
        texts = [t.text for t in builtin(category)]
        assert any(t.isascii() for t in texts), category
        assert any(not t.isascii() for t in texts), category


def test_parse_flags_and_errors() -> None:
    terms = parse("# c\n弄死你 !severe\nidiot*\n内部资料 !weak\n", "insult", "x.txt")
    assert [(t.text, t.severe, t.prefix, t.weak) for t in terms] == [
        ("弄死你", True, False, False), ("idiot*", False, True, False), ("内部资料", False, False, True)]
    with pytest.raises(ValueError, match=r"x.txt:1: unknown flag !loud"):
        parse("傻逼 !loud", "insult", "x.txt")


def test_listing_shows_effective_terms() -> None:
    s = ModerationSettings(extra_terms={"ads": ["团建套餐"]}, removed_terms={"ads": ["代购"]})
    terms = listing("ads", s)
    assert "团建套餐" in terms and "代购" not in terms and "刷单" in terms
    with pytest.raises(ValueError):
        listing("benign")


def test_matcher_is_a_real_automaton(normaliser) -> None:
    from core.moderation.lexicon import make_term
    m = LexiconMatcher([make_term("insult", "he"), make_term("insult", "she"),
                        make_term("insult", "his"), make_term("insult", "hers")], normaliser.fold)
    assert m.stats()["words_count"] == 4
    assert sorted((x.term.text, x.start) for x in m.find("she is his")) == [
        ("his", 7), ("she", 0)]   # "he" inside "she" is not a word of its own


def test_severe_terms(moderator: Moderator) -> None:
    (v,) = [v for v in check(moderator, "再说一句我弄死你") if v.category == "insult"]
    assert v.severity == "severe"
    (v,) = [v for v in check(moderator, "你这个傻逼") if v.category == "insult"]
    assert v.severity == "normal"
    (v,) = [v for v in check(moderator, "有人要代开发票吗") if v.category == "illegal"]
    assert v.severity == "severe"     # severe_categories defaults to ("illegal",)


def test_matches_after_characters_outside_the_bmp_keep_their_offsets(normaliser) -> None:
    """Emoji are one character of a Python string and two UTF-16 units: offsets are the string's."""
    from core.moderation.lexicon import make_term
    m = LexiconMatcher([make_term("insult", "傻逼"), make_term("ads", "加我微信")], normaliser.fold)
    text = "😀🎉你这个傻逼👍加我微信"
    assert sorted((x.category, text[x.start:x.end]) for x in m.find(text)) == [("ads", "加我微信"), ("insult", "傻逼")]
