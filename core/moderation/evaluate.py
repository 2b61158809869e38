"""Quality, measured: precision and recall of the detectors on a labelled corpus.

A labelled corpus is JSON lines with `text`, `label` (a category, or "benign") and `lang`:

    {"text": "内部文件勿转：薪酬方案.pdf", "label": "dlp", "lang": "zh-Hans"}

Each message is checked on its own (no flood state). Per category c: a true positive is a
message labelled c with a verdict of category c; a false positive, a verdict of category c on a
message labelled otherwise; a false negative, a message labelled c without such a verdict.
"Overall" sums the counts over the categories (micro average). Nudges are not counted.

The project's traffic corpus (tests/core/moderation/corpus/traffic/) is split once, by a hash of
the text (`split_of`), into dev (tuned on) and holdout (never tuned on): `split_of` is how a test
checks that the split is still the frozen one.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Sequence

from core.moderation.moderator import Moderator

EVALUATED = ("insult", "discrimination", "ads", "illegal", "dlp")
BENIGN = "benign"
HOLDOUT_PERCENT = 30
_AT = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)


def split_of(text: str) -> str:
    """"holdout" for about 30% of texts, "dev" for the rest; fixed by the text alone."""
    bucket = int(hashlib.sha256(text.encode("utf-8")).hexdigest()[:8], 16) % 100
    return "holdout" if bucket < HOLDOUT_PERCENT else "dev"


@dataclass(frozen=True)
class Example:
    text: str
    label: str
    lang: str
    where: str = ""


def load(path: str | Path) -> list[Example]:
    """The examples of one JSONL file; a bad line raises ValueError naming the file and line."""
    path = Path(path)
    out = []
    for number, line in enumerate(path.read_text("utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            text, label, lang = row["text"], row["label"], row.get("lang", "")
        except (ValueError, KeyError, TypeError) as e:
            raise ValueError(f"{path.name}:{number}: expected an object with text and label "
                             f"({e})") from e
        if not isinstance(text, str) or label not in EVALUATED + (BENIGN,):
            raise ValueError(f"{path.name}:{number}: label must be one of "
                             f"{', '.join(EVALUATED + (BENIGN,))}")
        out.append(Example(text, label, lang, f"{path.name}:{number}"))
    return out


@dataclass(frozen=True)
class Outcome:
    example: Example
    predicted: frozenset[str]
    scores: dict[str, float]          # the best score per predicted category
    rules: dict[str, str]             # the rule of that verdict


@dataclass
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0


@dataclass
class Report:
    categories: dict[str, Counts] = field(default_factory=dict)
    false_positives: list[tuple[str, Outcome]] = field(default_factory=list)
    false_negatives: list[tuple[str, Outcome]] = field(default_factory=list)
    messages: int = 0

    @property
    def overall(self) -> Counts:
        c = Counts()
        for counts in self.categories.values():
            c.tp += counts.tp
            c.fp += counts.fp
            c.fn += counts.fn
        return c

    def to_dict(self) -> dict[str, object]:
        def figures(c: Counts) -> dict[str, float | int]:
            return {"tp": c.tp, "fp": c.fp, "fn": c.fn, "precision": round(c.precision, 4),
                    "recall": round(c.recall, 4)}
        return {"messages": self.messages,
                "overall": figures(self.overall),
                "categories": {k: figures(v) for k, v in self.categories.items()},
                "false_positives": [{"category": c, "text": o.example.text, "label":
                                     o.example.label, "rule": o.rules.get(c, "")}
                                    for c, o in self.false_positives],
                "false_negatives": [{"category": c, "text": o.example.text,
                                     "predicted": sorted(o.predicted)}
                                    for c, o in self.false_negatives]}


def predict(moderator: Moderator, examples: Iterable[Example]) -> list[Outcome]:
    out = []
    for i, ex in enumerate(examples):
        verdicts = moderator.check(ex.text, sender=f"eval{i}", chat="eval", at=_AT)
        scores: dict[str, float] = {}
        rules: dict[str, str] = {}
        for v in verdicts:
            if v.nudge:
                continue
            if v.score > scores.get(v.category, -1.0):
                scores[v.category] = v.score
                rules[v.category] = v.rule
        out.append(Outcome(ex, frozenset(scores), scores, rules))
    return out


def evaluate(moderator: Moderator, examples: Sequence[Example]) -> Report:
    """Precision and recall per category and overall, with the misses and false alarms."""
    report = Report(categories={c: Counts() for c in EVALUATED})
    for outcome in predict(moderator, examples):
        report.messages += 1
        label = outcome.example.label
        for c in EVALUATED:
            hit = c in outcome.predicted
            if hit and label == c:
                report.categories[c].tp += 1
            elif hit:
                report.categories[c].fp += 1
                report.false_positives.append((c, outcome))
            elif label == c:
                report.categories[c].fn += 1
                report.false_negatives.append((c, outcome))
    return report


def format_report(report: Report, *, title: str = "", errors: bool = True) -> str:
    lines = [title] if title else []
    lines.append(f"{'category':<16}{'tp':>5}{'fp':>5}{'fn':>5}{'precision':>11}{'recall':>9}")
    rows = list(report.categories.items()) + [("overall", report.overall)]
    for name, c in rows:
        lines.append(f"{name:<16}{c.tp:>5}{c.fp:>5}{c.fn:>5}{c.precision:>11.3f}{c.recall:>9.3f}")
    lines.append(f"messages: {report.messages}")
    if errors:
        for c, o in report.false_negatives:
            lines.append(f"  miss   {c:<15}{o.example.where:<22}{_one_line(o.example.text)}")
        for c, o in report.false_positives:
            lines.append(f"  FALSE  {c:<15}{o.example.where:<22}{_one_line(o.example.text)}"
                         f"   <- {o.rules.get(c, '')}")
    return "\n".join(lines)


def _one_line(text: str) -> str:
    return " ".join(text.split())[:120]
