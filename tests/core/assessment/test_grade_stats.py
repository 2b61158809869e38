"""The data behind the HR charts (R6.3.1): score bands of the weighted totals and completion per group."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from core.assessment.grade_stats import Bin, GroupCompletion, completion_per_group, from_lines, score_histogram


def test_score_histogram_bands_of_ten_with_100_in_the_last():
    bins = score_histogram([0, 9.99, 10, 55.5, 59.99, 60, 90, 99.9, 100])
    assert [b.label for b in bins] == ["0-10", "10-20", "20-30", "30-40", "40-50", "50-60", "60-70", "70-80",
                                       "80-90", "90-100"]
    assert [b.count for b in bins] == [2, 1, 0, 0, 0, 2, 1, 0, 0, 3]
    assert bins[0] == Bin(0, 10, 2) and bins[-1] == Bin(90, 100, 3)


def test_score_histogram_other_widths_empty_and_out_of_range():
    assert [b.count for b in score_histogram([], width=25)] == [0, 0, 0, 0]
    assert [(b.low, b.high, b.count) for b in score_histogram([-3, 12.5, 40, 101], width=30)] == [
        (0, 30, 2), (30, 60, 1), (60, 90, 0), (90, 100, 1)]
    with pytest.raises(ValueError):
        score_histogram([1], width=0)


def test_completion_per_group_exact_percentages_in_order_of_appearance():
    groups = completion_per_group([("North", True), ("South", False), ("North", False), ("North", True),
                                   ("South", False), ("East", True)])
    assert groups == [GroupCompletion("North", 3, 2), GroupCompletion("South", 2, 0), GroupCompletion("East", 1, 1)]
    assert [g.percent for g in groups] == [66.67, 0.0, 100.0]
    assert completion_per_group([]) == [] and GroupCompletion("x", 0, 0).percent == 0.0


def test_from_lines_uses_total_group_and_complete():
    def line(total, group, complete):
        return SimpleNamespace(total=total, complete=complete,
                               contact=SimpleNamespace(group=SimpleNamespace(name=group)))
    bins, groups = from_lines([line(72.5, "培訓一組", True), line(40, "培訓一組", False), line(100, "B", True)])
    assert [b.count for b in bins] == [0, 0, 0, 0, 1, 0, 0, 1, 0, 1]
    assert [(g.group, g.members, g.complete, g.percent) for g in groups] == [("培訓一組", 2, 1, 50.0), ("B", 1, 1, 100.0)]
