"""PNG charts of a training's grades for HR (R6.3.1): the score distribution and completion per group.

The data comes from core/assessment/grade_stats.py; this module only draws. matplotlib is imported when a
chart is drawn (never at import time) with the non-interactive Agg backend.

Chinese names (trainings, groups) are drawn with a CJK font found through matplotlib's font manager:
`STEWARD_CJK_FONT` (a .ttf/.otf/.ttc file) when set, else the first installed family of `CJK_FAMILIES`
(Debian and Ubuntu: `apt-get install fonts-noto-cjk`, which CI installs; macOS and Windows ship one).
DejaVu Sans stays first for Latin text; matplotlib falls back glyph by glyph to the CJK family. Without
any CJK font a name is shown by its code and a warning says which package to install.
"""
from __future__ import annotations

import logging
import os
from functools import lru_cache
from pathlib import Path

from core.assessment.grade_stats import Bin, GroupCompletion

SCORES = "score-distribution.png"
COMPLETION = "completion-per-group.png"
CJK_FAMILIES = ("Noto Sans CJK SC", "Noto Sans CJK TC", "Noto Sans CJK JP", "Noto Sans SC", "Noto Sans TC",
                "Source Han Sans SC", "Source Han Sans CN", "WenQuanYi Zen Hei", "WenQuanYi Micro Hei",
                "PingFang SC", "Heiti SC", "Microsoft YaHei", "SimHei", "AR PL UMing CN")
log = logging.getLogger("steward.charts")


@lru_cache(maxsize=1)
def cjk_family() -> str | None:
    """The CJK font family the charts use, or None when none is installed (see the module's doc)."""
    from matplotlib import font_manager
    path = os.environ.get("STEWARD_CJK_FONT")
    if path:
        font_manager.fontManager.addfont(path)     # raises OSError/RuntimeError for a bad file: say so
        return font_manager.FontProperties(fname=path).get_name()
    found = _installed(font_manager)
    if found is None:
        # matplotlib's font list is cached: a font installed since it was built is added from its file
        for file in font_manager.findSystemFonts():
            if any(hint in Path(file).name.casefold() for hint in _FILE_HINTS):
                try:
                    font_manager.fontManager.addfont(file)
                except (OSError, RuntimeError, ValueError):
                    continue
        found = _installed(font_manager)
    if found is None:
        log.warning("no CJK font found for the charts: Chinese names are shown by their code "
                    "(install fonts-noto-cjk, or set STEWARD_CJK_FONT to a font file)")
    return found


_FILE_HINTS = ("cjk", "wqy", "sourcehan", "notosanssc", "notosanstc", "pingfang", "msyh", "simhei")


def _installed(font_manager) -> str | None:
    installed = {f.name for f in font_manager.fontManager.ttflist}
    return next((family for family in CJK_FAMILIES if family in installed), None)


def _fonts() -> dict:
    """rc settings for one chart: DejaVu Sans first, the CJK family as the glyph fallback."""
    family = cjk_family()
    return {"font.family": ["DejaVu Sans", family] if family else ["DejaVu Sans"], "axes.unicode_minus": False}


def _safe(text: str) -> str:
    """Text the charts can draw: everything with a CJK font; else Latin only (the code stays)."""
    if cjk_family() is not None:
        return text
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

    folder.mkdir(parents=True, exist_ok=True)
    with matplotlib.rc_context(_fonts()):
        return _draw(bins, groups, folder, name=name, code=code, pass_mark=pass_mark)


def _draw(bins: list[Bin], groups: list[GroupCompletion], folder: Path, *, name: str, code: str,
          pass_mark: float | None) -> list[Path]:
    from matplotlib.figure import Figure

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
