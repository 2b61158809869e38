"""The review queue's pure parts (core/kernel/review.py, R7.2.2): item numbers, the negatives' format, the
features' release hooks, and what the moderation path leaves to a report."""
from __future__ import annotations

import pytest

from core.db.models import Group, ReviewItem
from core.kernel.features import Feature, Features
from core.kernel.review import negative, parse_number
from core.moderation.evaluate import BENIGN


@pytest.mark.parametrize("typed,expected", [("RV12", 12), ("rv12 warn", 12), ("#7", 7), ("3 dismiss", 3),
                                            ("RV", None), ("C000012", None), ("", None), ("1234567890", None),
                                            ("RV²", 2), ("RV１２", 12), ("RV1\u3000忽略", 1), ("RV٣", None)])
def test_item_numbers(typed, expected):
    assert parse_number(typed) == expected


def test_a_dismissed_item_is_a_negative_in_the_evaluation_format():
    text = "  加我微信？开玩笑的 <@U0BOB0001>\n"
    row = negative(ReviewItem(id=4, text=text, category="ads", detector="lexicon", score=0.9),
                   Group(locale="zh-Hant"))
    assert (row["text"], row["label"], row["lang"], row["item"]) == (text, BENIGN, "zh-Hant", "RV4")


def test_one_release_hook_per_kind():
    one = Feature(name="a", review_release={"held": lambda *a: None})
    two = Feature(name="b", review_release={"held": lambda *a: None})
    assert set(Features([one]).review_release) == {"held"}
    with pytest.raises(ValueError, match="review kind 'held'"):
        Features([one, two]).review_release
