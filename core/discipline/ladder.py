"""The discipline ladder of R8.2.1 (a first violation warns), R8.2.2 (repeated or serious
violations remove, on record) and R2.4.2 (admins remove after warnings fail).

`decide` is pure: it sees the person's earlier cases (across every group and platform), the
group template's discipline settings and the time, and returns what should happen.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, Sequence

WARN_CLAUSE = "R8.2.1"
REMOVE_CLAUSE = "R8.2.2"
ADMIN_REMOVE_CLAUSE = "R2.4.2"


@dataclass(frozen=True)
class LadderSettings:
    warnings_before_removal: int = 1
    removal: Literal["auto", "confirm"] = "auto"
    warning_expiry_days: int = 180
    severe_removes: bool = True


@dataclass(frozen=True)
class PriorCase:
    at: datetime
    outcome: str      # warning | removal | removal_pending | ...
    revoked: bool = False


@dataclass(frozen=True)
class Decision:
    outcome: Literal["warning", "removal", "removal_pending", "exempt"]
    clause: str
    live_warnings: int        # warnings that still counted when the decision was taken
    reason: str               # why this step of the ladder: for the audit log

    @property
    def removes(self) -> bool:
        return self.outcome in ("removal", "removal_pending")


def live_warnings(history: Sequence[PriorCase], settings: LadderSettings, now: datetime) -> int:
    """Warnings that still count: not revoked and younger than `warning_expiry_days`."""
    horizon = now - timedelta(days=settings.warning_expiry_days)
    return sum(1 for c in history if c.outcome == "warning" and not c.revoked and c.at > horizon)


def decide(*, severe: bool, automated: bool, exempt: bool, history: Sequence[PriorCase],
           settings: LadderSettings, now: datetime) -> Decision:
    """The next step on the ladder for one violation."""
    count = live_warnings(history, settings, now)
    if automated and exempt:
        return Decision("exempt", WARN_CLAUSE, count,
                        "admins, leads and instructors are exempt from automated discipline")
    removal = "removal_pending" if settings.removal == "confirm" else "removal"
    if severe and settings.severe_removes:
        return Decision(removal, REMOVE_CLAUSE, count, "serious violation")
    if count >= settings.warnings_before_removal:
        return Decision(removal, REMOVE_CLAUSE, count,
                        f"{count} live warning(s), limit {settings.warnings_before_removal}")
    return Decision("warning", WARN_CLAUSE, count, f"{count} live warning(s) before this one")
