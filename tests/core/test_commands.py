"""The command parser: one grammar for every messenger, English and Chinese aliases."""
import pytest

from core.kernel.parser import CommandError, normalise_case
from steward.features import all_features


def parse(text):
    return all_features().grammar.parse(text)


def looks_like_command(text):
    return all_features().grammar.looks_like_command(text)


@pytest.mark.parametrize("text,name,members,case,rest", [
    ("help", "help", (), None, ""),
    ("帮助", "help", (), None, ""),
    ("幫助", "help", (), None, ""),
    ("/steward rules", "rules", (), None, ""),
    ("群規", "rules", (), None, ""),
    ("warn <@U1> spam links", "warn", ("U1",), None, "spam links"),
    ("警告<@U1> 发广告", "warn", ("U1",), None, "发广告"),
    ("WARN <@U1|bob>   spam", "warn", ("U1",), None, "spam"),
    ("移出 <@zhang.san> 多次违规", "remove", ("zhang.san",), None, "多次违规"),
    ("record", "record", (), None, ""),
    ("記錄 <@U3>", "record", ("U3",), None, ""),
    ("revoke C000012 appeal accepted", "revoke", (), "C000012", "appeal accepted"),
    ("撤销 #12 申诉成立", "revoke", (), "C000012", "申诉成立"),
    ("申訴 c12 我沒有", "appeal", (), "C000012", "我沒有"),
    ("ｗａｒｎ <@U1> full width", "warn", ("U1",), None, "full width"),
    ("approve C7", "approve", (), "C000007", ""),
])
def test_parse(text, name, members, case, rest):
    cmd = parse(text)
    assert (cmd.name, cmd.members, cmd.case, cmd.rest) == (name, members, case, rest)


@pytest.mark.parametrize("text,key", [
    ("warn", "command.missing"),
    ("warn <@U1>", "command.missing"),
    ("remove spam", "command.missing"),
    ("revoke", "command.missing"),
    ("revoke C12", "command.missing"),
    ("appeal nothing here", "command.missing"),
    ("helpful tips", "command.unknown"),
    ("", "command.unknown"),
    ("加班安排", "command.unknown"),
])
def test_parse_errors(text, key):
    with pytest.raises(CommandError) as err:
        parse(text)
    assert err.value.key == key


def test_looks_like_command_does_not_catch_ordinary_talk():
    assert looks_like_command("警告 <@U1> spam")
    assert not looks_like_command("今天的作业是什么？")
    assert not looks_like_command("helpful tips")


def test_case_numbers():
    assert normalise_case("#5") == "C000005"
    assert normalise_case("C000005") == "C000005"
    assert normalise_case("case5") is None


def test_bare_member_and_group_for_private_chats():
    cmd = parse("warn zhangsan 发广告 in:wrTRAIN01")
    assert (cmd.members, cmd.rest, cmd.group) == (("zhangsan",), "发广告", "wrTRAIN01")
    assert parse("移出 @lisi 多次违规").members == ("lisi",)


def test_a_chinese_alias_glued_to_more_words_is_a_sentence():
    assert looks_like_command("警告<@U1> 发广告")
    assert looks_like_command("申诉C12 我没有")
    assert not looks_like_command("帮助我一下，这道题怎么做")
    assert not looks_like_command("记录一下今天的作业")


def test_the_rest_is_kept_exactly_as_typed():
    cmd = parse("申诉 C12 我没有发广告，说明：那是公司活动")
    assert cmd.rest == "我没有发广告，说明：那是公司活动"
    assert parse("ｗａｒｎ <@U1> 理由：刷屏，三次").rest == "理由：刷屏，三次"
    assert parse("revoke　＃１２　申诉成立，撤销").case == "C000012"   # ideographic spaces, full-width number


@pytest.mark.parametrize("typed,name", [("hlep", "help"), ("rulse", "rules"), ("帮组", "help"), ("warm", "warn"),
                                        ("apeal", "appeal"), ("记彔", "record")])
def test_a_typo_suggests_the_closest_command(typed, name):
    assert all_features().grammar.suggest(typed)[0] == name


def test_nothing_close_suggests_nothing():
    assert all_features().grammar.suggest("xyzzy") == []
    assert all_features().grammar.suggest("今天几点上课") == []


@pytest.mark.parametrize("name,hans,hant", [("help", "帮助", "幫助"), ("rules", "群规", "群規"),
                                            ("recommend", "推荐", "推薦"), ("assign", "布置作业", "佈置作業"),
                                            ("warn", "警告", "警告")])
def test_each_locale_sees_its_own_alias(name, hans, hant):
    grammar = all_features().grammar
    assert (grammar.alias_for(name, "en"), grammar.alias_for(name, "zh-Hans"), grammar.alias_for(name, "zh-Hant")) \
        == (name, hans, hant)
