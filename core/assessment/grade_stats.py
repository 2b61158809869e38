"""Data behind the HR charts of a training's grades (R6.3.1): pure functions, no plotting and no IO.

- `score_histogram`: how many weighted totals fall in each band of `width` points (0-10, 10-20, ...,
  90-100; the last band includes 100).
- `completion_per_group`: per group, the share of members with every component scored (a graded or
  missed assignment, a closed quiz, an entered score), i.e. `Line.complete` of the gradebook.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Bin:
    low: float
    high: float
    count: int

    @property
    def label(self) -> str:
        return f"{self.low:g}-{self.high:g}"


@dataclass(frozen=True)
class GroupCompletion:
    group: str
    members: int
    complete: int

    @property
    def percent(self) -> float:
        return round(100.0 * self.complete / self.members, 2) if self.members else 0.0


def score_histogram(totals: Iterable[float], width: float = 10, top: float = 100) -> list[Bin]:
    """Counts of `totals` per band [low, low + width); the last band is closed (100 counts in 90-100).
    Totals below 0 count in the first band, above `top` in the last."""
    if width <= 0 or top <= 0:
        raise ValueError("width and top must be positive")
    n = int(-(-top // width))   # ceiling: bands that cover 0..top
    counts = [0] * n
    for x in totals:
        counts[min(max(int(x // width), 0), n - 1)] += 1
    return [Bin(i * width, min((i + 1) * width, top), c) for i, c in enumerate(counts)]


def completion_per_group(members: Iterable[tuple[str, bool]]) -> list[GroupCompletion]:
    """`members`: (group name, complete) per member; groups in order of first appearance."""
    seen: dict[str, list[int]] = {}
    for group, complete in members:
        counts = seen.setdefault(group, [0, 0])
        counts[0] += 1
        counts[1] += bool(complete)
    return [GroupCompletion(g, n, done) for g, (n, done) in seen.items()]


def from_lines(lines: Iterable) -> tuple[list[Bin], list[GroupCompletion]]:
    """Both series from a gradebook's lines (`Gradebook.lines()`)."""
    lines = list(lines)
    return (score_histogram(ln.total for ln in lines),
            completion_per_group((ln.contact.group.name, ln.complete) for ln in lines))
