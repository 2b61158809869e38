"""The traffic corpus (corpus/traffic/): realistic training-group messages, split once into dev
(tuned on) and a frozen holdout (never tuned on), and the quality targets on the holdout.

Run with -s to see the tables."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from core.moderation import ModerationSettings, Moderator, NoRecentMessages
from core.moderation.evaluate import EVALUATED, evaluate, format_report, load, split_of

from .conftest import categories, check

TRAFFIC = Path(__file__).parent / "corpus" / "traffic"
SETTINGS = ModerationSettings(company_domains=("acme-corp.com", "acme.cn"),
                              code_names=("Falcon", "天鹰"))
MIN_PRECISION = 0.97
MIN_RECALL = 0.92
MIN_CATEGORY_RECALL = 0.85


@pytest.fixture(scope="module")
def traffic_moderator() -> Moderator:
    return Moderator(SETTINGS, NoRecentMessages())


def test_the_corpus_is_big_mostly_benign_and_in_three_languages() -> None:
    rows = load(TRAFFIC / "dev.jsonl") + load(TRAFFIC / "holdout.jsonl")
    assert len(rows) >= 1500
    assert len({r.text for r in rows}) == len(rows)
    labels = Counter(r.label for r in rows)
    assert labels["benign"] > len(rows) / 2
    assert set(labels) == set(EVALUATED) | {"benign"}
    by_lang = Counter((r.lang, r.label) for r in rows)
    for lang in ("zh-Hans", "zh-Hant", "en"):
        for label in EVALUATED + ("benign",):
            assert by_lang[(lang, label)] >= 15, (lang, label)


def test_the_split_is_the_frozen_one() -> None:
    """Every message sits in the file its hash names: nothing moved between dev and holdout."""
    for part in ("dev", "holdout"):
        for row in load(TRAFFIC / f"{part}.jsonl"):
            assert split_of(row.text) == part, (part, row.text)


def test_holdout_meets_the_targets(traffic_moderator: Moderator, capsys) -> None:
    report = evaluate(traffic_moderator, load(TRAFFIC / "holdout.jsonl"))
    with capsys.disabled():
        print("\n" + format_report(report, title="holdout", errors=False))
    overall = report.overall
    assert overall.precision >= MIN_PRECISION
    assert overall.recall >= MIN_RECALL
    for category, counts in report.categories.items():
        assert counts.recall >= MIN_CATEGORY_RECALL, category


def test_dev_figures_and_errors_are_printed(traffic_moderator: Moderator, capsys) -> None:
    report = evaluate(traffic_moderator, load(TRAFFIC / "dev.jsonl"))
    with capsys.disabled():
        print("\n" + format_report(report, title="dev"))
    assert report.overall.precision >= MIN_PRECISION and report.overall.recall >= MIN_RECALL
    data = report.to_dict()
    assert set(data["categories"]) == set(EVALUATED)
    assert len(data["false_positives"]) == sum(c.fp for c in report.categories.values())


def test_every_verdict_has_a_score(traffic_moderator: Moderator) -> None:
    for row in load(TRAFFIC / "dev.jsonl")[:400]:
        for v in check(traffic_moderator, row.text):
            assert 0.0 <= v.score <= 1.0
            assert v.to_dict()["score"] == v.score


def test_eval_option_of_steward_moderate(tmp_path) -> None:
    from steward.cli.moderate import moderate
    sample = tmp_path / "sample.jsonl"
    sample.write_text(
        '{"text": "你是不是没长脑子", "label": "insult", "lang": "zh-Hans"}\n'
        '{"text": "你是不是没收到邮件", "label": "benign", "lang": "zh-Hans"}\n'
        '{"text": "Selling cheap Netflix accounts, dm me", "label": "ads", "lang": "en"}\n'
        '{"text": "明天九点开始", "label": "illegal", "lang": "zh-Hans"}\n', "utf-8")
    result = CliRunner().invoke(moderate, ["--eval", str(sample)])
    assert result.exit_code == 0, result.output
    assert "insult" in result.output and "overall" in result.output
    assert "miss   illegal" in result.output and "明天九点开始" in result.output
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "x", "label": "rude"}\n', "utf-8")
    assert CliRunner().invoke(moderate, ["--eval", str(bad)]).exit_code != 0


# --------------------------------------------------------------------- rules and near-misses
# Written for these tests, not taken from the corpus.
FIRES = {
    "insult": [
        "你是不是没长脑子啊，这都不会", "这个讲师水平烂到家了", "你这脑子还是别来上课了",
        "你算什么东西", "這老師根本是草包", "are you even capable of reading the agenda?",
        "Do you even have a brain?", "The instructor is a complete fraud",
        "you're such a clown",
    ],
    "discrimination": [
        "外地人素质就是低", "年纪大的学不会新东西", "怀孕的就别来培训了", "女的就是不适合做销售",
        "原住民就是不可靠", "people from the valley are all lazy", "Women can't lead teams",
        "don't hire anyone over 50", "Muslims shouldn't be managers",
    ],
    "ads": [
        "宝妈兼职，日赚200，有意私聊", "自家蜂蜜，同事价，包邮", "Earn $400 a day from home",
        "Join my VIP crypto group, guaranteed 10x", "Selling my bike, $200 or best offer, dm me",
    ],
    "illegal": [
        "代开各类发票，税点低", "可以代考，包过", "I can make you a diploma, any university",
        "Selling cloned cards, dm me", "收购客户资料，高价",
    ],
}
SPARED = {
    "insult": [
        "你是不是没收到通知？", "讲师水平很高", "这个系统烂到家了", "我真是笨，又忘了",
        "I'm such an idiot, wrong file again", "Are you even able to hear me?",
        "The trainer is great", "案例里主管骂员工没长脑子，这是错误示范",
    ],
    "discrimination": [
        "外地人办居住证需要什么材料", "年纪大的同事可以找我帮忙", "女性员工的产假是几天",
        "孕妇可以不参加体能测试", "面试时不能问婚育情况，严禁性别歧视",
        "People from the Berlin office are all joining remotely",
        "Older employees can join the pension session",
        "Bias example: assuming women can't lead teams",
    ],
    "ads": [
        "本季度促销是年付八五折，记得告诉客户", "我私聊发你酒店信息", "有没有人转让旧教材？我想买",
        "Earn your certificate by finishing all modules", "You can earn up to 10 CPD points",
    ],
    "illegal": [
        "合规测验：代开发票合法吗？当然不合法", "发票丢了还能报销吗", "外挂显示器怎么设置？",
        "The fraud awareness video shows a fake invoice scam",
    ],
}


@pytest.mark.parametrize("category,text", [(c, t) for c, ts in FIRES.items() for t in ts])
def test_pattern_rules_fire(moderator: Moderator, category: str, text: str) -> None:
    verdicts = [v for v in check(moderator, text) if v.category == category]
    assert verdicts, text
    assert verdicts[0].clause == ("R1.3.3" if category in ("insult", "discrimination")
                                  else {"ads": "R8.1.2", "illegal": "R8.1.1"}[category])
    assert verdicts[0].rule.startswith(category + ":")
    assert 0.5 <= verdicts[0].score <= 1.0


@pytest.mark.parametrize("category,text", [(c, t) for c, ts in SPARED.items() for t in ts])
def test_near_misses_do_not_fire(moderator: Moderator, category: str, text: str) -> None:
    assert category not in categories(moderator, text), text
