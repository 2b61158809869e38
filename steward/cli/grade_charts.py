"""PNG charts of a training's grades for HR (R6.3.1): the score distribution and completion per group.

The data comes from core/assessment/grade_stats.py; this module only draws. matplotlib is imported when a
chart is drawn (never at import time) with the non-interactive Agg backend. Labels are English plus the
training's name; a name a default font cannot draw (CJK without a CJK font) is shown with its code, so
nothing depends on a CJK font being installed.
"""
from __future__ import annotations

from pathlib import Path

from core.assessment.grade_stats import Bin, GroupCompletion

SCORES = "score-distribution.png"
COMPLETION = "completion-per-group.png"


def _safe(text: str) -> str:
    """Text the bundled DejaVu fonts can draw: Latin-1 as is, anything else left out (the code stays)."""
    kept = "".join(ch if ord(ch) < 0x250 else "?" for ch in text)
    return kept if kept.strip("? ") else ""


def _title(what: str, name: str, code: str) -> str:
    shown = _safe(name)
    return f"{what}: {shown} ({code})" if shown and shown != code else f"{what}: {code}"


def render(bins: list[Bin], groups: list[GroupCompletion], folder: Path, *, name: str, code: str,
           pass_mark: float | None = None) -> list[Path]:
    """Write SCORES and COMPLETION into `folder` (created); returns their paths. Raises OSError."""
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    folder.mkdir(parents=True, exist_ok=True)
    written = []

    fig = Figure(figsize=(8, 4.5), dpi=100)
    ax = fig.subplots()
    ax.bar(range(len(bins)), [b.count for b in bins], color="#4C72B0", edgecolor="white")
    ax.set_xticks(range(len(bins)), [b.label for b in bins])
    ax.set_xlabel("Weighted total (points)")
    ax.set_ylabel("Members")
    ax.yaxis.get_major_locator().set_params(integer=True)
    if pass_mark is not None and bins:
        width = bins[0].high - bins[0].low
        ax.axvline(pass_mark / width - 0.5, color="#C44E52", linestyle="--", label=f"pass mark {pass_mark:g}")
        ax.legend(loc="upper left")
    ax.set_title(_title("Score distribution", name, code))
    fig.tight_layout()
    path = folder / SCORES
    fig.savefig(path, format="png")
    written.append(path)

    fig = Figure(figsize=(8, 4.5), dpi=100)
    ax = fig.subplots()
    labels = [_safe(g.group) or f"group {i + 1}" for i, g in enumerate(groups)]
    bars = ax.bar(range(len(groups)), [g.percent for g in groups], color="#55A868")
    ax.set_xticks(range(len(groups)), labels, rotation=20 if len(groups) > 4 else 0)
    for bar, g in zip(bars, groups):
        ax.annotate(f"{g.percent:g}% ({g.complete}/{g.members})", (bar.get_x() + bar.get_width() / 2,
                    bar.get_height()), ha="center", va="bottom", fontsize=9)
    ax.set_ylim(0, 110)
    ax.set_xlabel("Group")
    ax.set_ylabel("Members with every component scored (%)")
    ax.set_title(_title("Completion per group", name, code))
    fig.tight_layout()
    path = folder / COMPLETION
    fig.savefig(path, format="png")
    written.append(path)
    return written
