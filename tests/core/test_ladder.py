"""The discipline ladder (R8.2.1, R8.2.2, R2.4.2), table-driven and pure."""
from datetime import datetime, timedelta, timezone

import pytest

from core.discipline.ladder import LadderSettings, PriorCase, decide, live_warnings

NOW = datetime(2026, 11, 25, tzinfo=timezone.utc)


def ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


W = "warning"
AUTO1 = LadderSettings(warnings_before_removal=1, removal="auto", warning_expiry_days=180)
AUTO2 = LadderSettings(warnings_before_removal=2, removal="auto", warning_expiry_days=180)
CONFIRM = LadderSettings(warnings_before_removal=1, removal="confirm", warning_expiry_days=180)
NO_SEVERE = LadderSettings(warnings_before_removal=1, severe_removes=False)
ZERO = LadderSettings(warnings_before_removal=0)

CASES = [
    # id, settings, history, severe, automated, exempt, expected outcome, clause
    ("first violation warns", AUTO1, [], False, True, False, "warning", "R8.2.1"),
    ("second violation removes", AUTO1, [PriorCase(ago(3), W)], False, True, False, "removal", "R8.2.2"),
    ("two warnings allowed", AUTO2, [PriorCase(ago(3), W)], False, True, False, "warning", "R8.2.1"),
    ("third with limit two removes", AUTO2, [PriorCase(ago(3), W), PriorCase(ago(2), W)], False, True, False,
     "removal", "R8.2.2"),
    ("expired warning no longer counts", AUTO1, [PriorCase(ago(181), W)], False, True, False, "warning", "R8.2.1"),
    ("warning one day before expiry counts", AUTO1, [PriorCase(ago(179), W)], False, True, False, "removal", "R8.2.2"),
    ("revoked warning does not count", AUTO1, [PriorCase(ago(3), W, revoked=True)], False, True, False,
     "warning", "R8.2.1"),
    ("severe removes at once", AUTO1, [], True, True, False, "removal", "R8.2.2"),
    ("severe only warns when the template says so", NO_SEVERE, [], True, True, False, "warning", "R8.2.1"),
    ("confirm mode waits for an admin", CONFIRM, [PriorCase(ago(1), W)], False, True, False,
     "removal_pending", "R8.2.2"),
    ("confirm mode severe waits too", CONFIRM, [], True, True, False, "removal_pending", "R8.2.2"),
    ("staff exempt from automated discipline", AUTO1, [PriorCase(ago(1), W)], True, True, True, "exempt", "R8.2.1"),
    ("staff not exempt from a manual report", AUTO1, [PriorCase(ago(1), W)], False, False, True,
     "removal", "R8.2.2"),
    ("zero warnings: first violation removes", ZERO, [], False, True, False, "removal", "R8.2.2"),
    ("a removal is not a warning", AUTO1, [PriorCase(ago(1), "removal")], False, True, False, "warning", "R8.2.1"),
]


@pytest.mark.parametrize("name,settings,history,severe,automated,exempt,outcome,clause", CASES,
                         ids=[c[0] for c in CASES])
def test_ladder(name, settings, history, severe, automated, exempt, outcome, clause):
    decision = decide(severe=severe, automated=automated, exempt=exempt, history=history,
                      settings=settings, now=NOW)
    assert (decision.outcome, decision.clause) == (outcome, clause)
    assert decision.reason


def test_cross_platform_history_is_one_list():
    """The ladder counts per person: warnings from any group on any platform arrive in one history."""
    slack_warning = PriorCase(ago(10), W)
    wecom_violation = decide(severe=False, automated=True, exempt=False, history=[slack_warning],
                             settings=AUTO1, now=NOW)
    assert wecom_violation.outcome == "removal"


def test_live_warnings_counts_only_live_ones():
    history = [PriorCase(ago(1), W), PriorCase(ago(200), W), PriorCase(ago(2), W, revoked=True),
               PriorCase(ago(1), "removal")]
    assert live_warnings(history, AUTO1, NOW) == 1
