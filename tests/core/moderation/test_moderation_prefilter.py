"""The prefilters that keep most messages away from most rules (throughput, issue 4) only ever
skip work that could not have found anything: every rule that matches a corpus message is let
through by its gate, whether the gate walks the text itself or reads what the lexicon's
automaton collected; the faster paths in secrets.py give what the slower ones give."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.moderation import ModerationSettings
from core.moderation.lexicon import Term
from core.moderation.matcher import LexiconMatcher
from core.moderation.moderator import compile_lexicon
from core.moderation.normalise import Normaliser
from core.moderation.patterns import _en_gate, _zh_gate, conditions
from core.moderation.secrets import SecretsDetector

CORPUS = Path(__file__).parent / "corpus"


def _texts() -> list[str]:
    out = []
    for path in sorted(CORPUS.rglob("*.jsonl")):
        for line in path.read_text("utf-8").splitlines():
            if line.strip():
                out.append(json.loads(line)["text"])
    return out


def test_every_matching_rule_passes_its_gate(normaliser: Normaliser) -> None:
    zh, en = _zh_gate(), _en_gate()
    lexicon = compile_lexicon(ModerationSettings())
    matched = 0
    for text in _texts():
        norm = normaliser(text).text
        found: list = []
        lexicon.find(norm, found)
        for gate, source, via_lexicon in ((zh, norm, found), (en, text.casefold(), None)):
            standalone = set(gate.candidates(source))
            collected = set(gate.candidates_of(via_lexicon)) if via_lexicon is not None else None
            for i, rule in enumerate(gate._rules):
                if rule.regex.search(source) is None:
                    continue
                matched += 1
                assert i in standalone, (rule.name, text)
                assert collected is None or i in collected, (rule.name, text)
    assert matched > 300          # the corpus does exercise the rules


def test_a_trigger_word_alone_does_not_wake_a_rule() -> None:
    zh = _zh_gate()
    names = {zh._rules[i].name for i in zh.candidates("老师讲得很清楚，讲师也很耐心")}
    assert "trainer judgement" not in names
    names = {zh._rules[i].name for i in zh.candidates("这个老师水平烂到家了")}
    assert "trainer judgement" in names


def test_conditions_are_read_off_the_regex() -> None:
    assert conditions("(?:老师|讲师).{0,3}(?:傻|蠢)") == [
        [frozenset({"老师", "讲师"}), frozenset({"傻", "蠢"})]]
    # an alternation at the top: one alternative each
    assert conditions("代开发票|刻章") == [[frozenset({"代开发票"})], [frozenset({"刻章"})]]
    # a blank between words holds in every message: not a condition
    assert conditions(r"\bwomen \w+ lazy") == [[frozenset({"women "}), frozenset({" lazy"})]]
    assert conditions(r"\w+") == [[]]


def test_anchors_ride_in_the_lexicon_automaton() -> None:
    fold = Normaliser().fold
    matcher = LexiconMatcher([Term("insult", "傻逼")], fold, anchors={"老师": "T", "逼": "B"})
    found: list = []
    matches = matcher.find("老师你傻逼", found)
    assert [(m.term.text, m.start, m.end) for m in matches] == [("傻逼", 3, 5)]
    assert sorted(found) == ["B", "T"]
    assert matcher.find("老师") == []          # an anchor alone is no lexicon match


@pytest.mark.parametrize("text", [
    "PASSWORD: Xy7#kLm9q2",                # lowered: the fast path
    "Password：Xy7#kLm9q2 请勿外传",          # CJK beside it: still the fast path
    "paſsword: Xy7#kLm9q2",                 # ſ: IGNORECASE reads it as s, lower() does not
])
def test_keyword_and_value_on_both_paths(text: str, normaliser: Normaliser) -> None:
    hits = SecretsDetector().find(text, normaliser(text).text)
    assert [h.category for h in hits] == ["dlp"], text
