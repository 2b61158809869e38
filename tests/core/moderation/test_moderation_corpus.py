"""Quality, measured (issue 4): precision and recall on a labelled corpus of training-group
messages in zh-Hans, zh-Hant and en.

corpus/ordinary.*.jsonl    ordinary training talk, with hard near-misses (labels: [])
corpus/violations.*.jsonl  violations of every category; `evasion: true` marks the third that
                           dodge filters (spacing, homophones, width, numerals, Traditional)
corpus/flood.jsonl         timed conversations: `flood` labels the message on which a sender
                           crosses a threshold (R8.1.3)
corpus/holdout.jsonl       written after the detectors were last tuned and never tuned on:
                           its figures are printed on their own as well

The bars are on the categories the ladder counts; the printout shows every category. Run with
`-s` to see the table and the misses.
"""
from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest

from core.moderation import LADDER_CATEGORIES, MemoryRecentMessages, ModerationSettings, Moderator, NoRecentMessages
from core.moderation.normalise import Normaliser

from .conftest import T0

CORPUS = Path(__file__).parent / "corpus"
SETTINGS = ModerationSettings(company_domains=("acme-corp.com", "acme.cn"),
                              code_names=("Falcon", "天鹰"))
MIN_PRECISION = 0.97
MIN_RECALL = 0.90


def _load(pattern: str) -> list[dict]:
    rows = []
    for path in sorted(CORPUS.glob(pattern)):
        for number, line in enumerate(path.read_text("utf-8").splitlines(), 1):
            if line.strip():
                row = json.loads(line)
                row["where"] = f"{path.name}:{number}"
                rows.append(row)
    return rows


def _predict() -> list[tuple[dict, set[str]]]:
    out = []
    single = Moderator(SETTINGS, NoRecentMessages())
    for row in _load("ordinary.*.jsonl") + _load("violations.*.jsonl") + _load("holdout.jsonl"):
        verdicts = single.check(row["text"], sender=row["where"], chat="corpus", at=T0)
        out.append((row, {v.category for v in verdicts if not v.nudge}))
    timed = Moderator(SETTINGS, MemoryRecentMessages())
    for row in _load("flood.jsonl"):
        verdicts = timed.check(row["text"], sender=row["user"], chat=row["chat"],
                               at=T0 + timedelta(seconds=row["t"]))
        out.append((row, {v.category for v in verdicts if not v.nudge}))
    return out


def test_corpus_is_big_and_balanced() -> None:
    rows = _load("*.jsonl")
    assert len(rows) >= 600
    langs = Counter(r["lang"] for r in rows)
    assert set(langs) == {"zh-Hans", "zh-Hant", "en"}
    labelled = [r for r in rows if r["labels"]]
    assert {c for r in labelled for c in r["labels"]} == set(LADDER_CATEGORIES)
    violations = [r for r in rows if r["labels"] and "evasion" in r]
    assert sum(r["evasion"] for r in violations) * 3 >= len(violations) * 0.95
    assert len({r["id"] for r in rows}) == len(rows)


def test_precision_and_recall(capsys) -> None:
    results = _predict()
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    misses, false_alarms = [], []
    for row, predicted in results:
        truth = set(row["labels"])
        for c in LADDER_CATEGORIES:
            if c in predicted and c in truth:
                tp[c] += 1
            elif c in predicted:
                fp[c] += 1
                false_alarms.append((c, row))
            elif c in truth:
                fn[c] += 1
                misses.append((c, row))

    def ratio(a: int, b: int) -> float:
        return a / b if b else 1.0

    lines = [f"{'category':<16}{'tp':>5}{'fp':>5}{'fn':>5}{'precision':>11}{'recall':>9}"]
    for c in LADDER_CATEGORIES:
        lines.append(f"{c:<16}{tp[c]:>5}{fp[c]:>5}{fn[c]:>5}"
                     f"{ratio(tp[c], tp[c] + fp[c]):>11.3f}{ratio(tp[c], tp[c] + fn[c]):>9.3f}")
    TP, FP, FN = sum(tp.values()), sum(fp.values()), sum(fn.values())
    precision, recall = ratio(TP, TP + FP), ratio(TP, TP + FN)
    lines.append(f"{'overall':<16}{TP:>5}{FP:>5}{FN:>5}{precision:>11.3f}{recall:>9.3f}")
    held = [(row, predicted) for row, predicted in results if row["id"].startswith("hd")]
    h_tp = sum(len(set(r["labels"]) & p & set(LADDER_CATEGORIES)) for r, p in held)
    h_fp = sum(len((p - set(r["labels"])) & set(LADDER_CATEGORIES)) for r, p in held)
    h_fn = sum(len(set(r["labels"]) - p) for r, p in held)
    lines.append(f"{'holdout only':<16}{h_tp:>5}{h_fp:>5}{h_fn:>5}"
                 f"{ratio(h_tp, h_tp + h_fp):>11.3f}{ratio(h_tp, h_tp + h_fn):>9.3f}")
    evasive = [(row, predicted) for row, predicted in results if row.get("evasion")]
    caught = sum(1 for row, predicted in evasive if set(row["labels"]) & predicted)
    lines.append(f"evasions caught: {caught}/{len(evasive)}; messages: {len(results)}")
    lines += [f"  miss  {c:<15}{row['where']:<34}{row['text']}" for c, row in misses]
    lines += [f"  FALSE {c:<15}{row['where']:<34}{row['text']}" for c, row in false_alarms]
    with capsys.disabled():
        print("\n" + "\n".join(lines))
    assert precision >= MIN_PRECISION, f"precision {precision:.3f} < {MIN_PRECISION}"
    assert recall >= MIN_RECALL, f"recall {recall:.3f} < {MIN_RECALL}"


@pytest.fixture(scope="module")
def normaliser() -> Normaliser:
    return Normaliser()


def test_the_span_map_is_exact_on_the_whole_corpus(normaliser: Normaliser) -> None:
    """Every character of every normalised message maps back inside the original."""
    for row in _load("*.jsonl"):
        norm = normaliser(row["text"])
        for i in range(len(norm.text)):
            a, b = norm.original_span(i, i + 1)
            assert 0 <= a < b <= len(row["text"]), (row["where"], i)
        if norm.text:
            assert norm.original_span(0, len(norm.text))[1] <= len(row["text"])
