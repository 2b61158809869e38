"""HR's charts speak Chinese: a training and groups with Chinese names are drawn with a CJK font found
through matplotlib's font manager (Debian's fonts-noto-cjk in CI, .ci/run), with no missing glyph."""
from __future__ import annotations

import importlib.util
import logging
import os
import warnings

import pytest

from core.assessment.grade_stats import Bin, GroupCompletion

pytestmark = pytest.mark.skipif(importlib.util.find_spec("matplotlib") is None, reason="matplotlib is not installed")
REQUIRED = os.environ.get("STEWARD_TEST_REQUIRE_SERVICES") == "1"   # CI installs the font: never skip there


def test_a_chinese_group_name_renders_its_glyphs(tmp_path, caplog):
    from steward.cli import grade_charts

    grade_charts.cjk_family.cache_clear()
    family = grade_charts.cjk_family()
    if family is None:
        if REQUIRED:
            pytest.fail("no CJK font: .ci/run installs fonts-noto-cjk")
        pytest.skip("no CJK font installed (apt-get install fonts-noto-cjk)")
    bins = [Bin(low=i * 10, high=i * 10 + 10, count=i % 3) for i in range(10)]
    groups = [GroupCompletion(group="2026 Q4 新员工培训群", members=10, complete=7),
              GroupCompletion(group="管理培訓班", members=4, complete=4)]
    with warnings.catch_warnings(record=True) as caught, caplog.at_level(logging.WARNING):
        warnings.simplefilter("always")
        written = grade_charts.render(bins, groups, tmp_path, name="2026 Q4 新员工培训", code="onboarding-2026q4",
                                      pass_mark=60)
    missing = [str(w.message) for w in caught if "missing from font" in str(w.message)]
    assert not missing, missing
    assert not [r for r in caplog.records if "missing from font" in r.getMessage()]
    assert [p.name for p in written] == [grade_charts.SCORES, grade_charts.COMPLETION]
    assert grade_charts._title("Score distribution", "2026 Q4 新员工培训", "q4") == \
        "Score distribution: 2026 Q4 新员工培训 (q4)"


def test_without_a_cjk_font_the_glyphs_would_be_missing(tmp_path):
    """The check above can fail: DejaVu alone reports the Chinese glyphs as missing."""
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    with matplotlib.rc_context({"font.family": ["DejaVu Sans"]}), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig = Figure()
        fig.subplots().set_title("新员工培训")
        fig.savefig(tmp_path / "plain.png", format="png")
    assert any("missing from font" in str(w.message) for w in caught)
