"""`steward reconcile`: list each governed group's members on its platform, then compare them with the
records (core/membership/reconcile.py), group by group.

The listing runs outside any transaction (the connectors keep their tokens in the database). A wait the
platform or Steward's own limiter asks for (Retry-After, pacing) is honoured by sleeping, up to
MAX_WAIT seconds and RETRIES times; any other failure is reported for that group and changes nothing.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

from sqlalchemy import select

from core.db.models import Group
from core.errors import DeliveryError, RetryableDeliveryError, StewardError
from core.kernel.config_sync import DISCOVER_JOB as _DISCOVER_JOB
from core.membership.reconcile import Reconciliation, apply, plan

MAX_WAIT = 60.0
RETRIES = 3


@dataclass
class Outcome:
    ref: str                                   # platform:chat_id
    report: Reconciliation | None = None
    skipped: str | None = None                 # why the group could not be listed at all
    error: str | None = None                   # the platform's failure; nothing was changed
    waited: float = 0.0


@dataclass
class Run:
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return any(o.error for o in self.outcomes)


def select_groups(container, platform: str | None, refs: tuple[str, ...]) -> list[tuple[int, str, str]]:
    """(id, platform, chat_id) of the active groups asked for; an unknown `platform:chat_id` is an error."""
    with container.sessions() as s:
        groups = [(g.id, g.platform, g.chat_id) for g in s.scalars(
            select(Group).where(Group.active.is_(True)).order_by(Group.id))]
    known = {f"{p}:{c}" for _, p, c in groups}
    unknown = [r for r in refs if r not in known]
    if unknown:
        raise StewardError(f"no governed group {', '.join(unknown)} (write platform:chat_id of a group in "
                           "steward.yaml or registered with `steward group add`)")
    return [g for g in groups if (platform in (None, g[1])) and (not refs or f"{g[1]}:{g[2]}" in refs)]


def list_members(connector, chat_id: str, sleep: Callable[[float], None] = time.sleep) -> tuple[list[str], float]:
    """The platform's member list and how long was waited for it."""
    waited = 0.0
    for attempt in range(RETRIES + 1):
        try:
            return connector.group_members(chat_id), waited
        except RetryableDeliveryError as exc:
            wait = exc.retry_after if exc.retry_after is not None else 1.0
            if attempt == RETRIES or wait > MAX_WAIT:
                raise
            sleep(wait)
            waited += wait
    raise AssertionError("unreachable")


def run(container, groups: list[tuple[int, str, str]], fix: bool,
        sleep: Callable[[float], None] = time.sleep) -> Run:
    result = Run()
    for group_id, platform, chat_id in groups:
        outcome = Outcome(f"{platform}:{chat_id}")
        result.outcomes.append(outcome)
        connector = container.connectors.get(platform)
        if connector is None or not connector.capabilities.list_members:
            outcome.skipped = f"the {platform} connector cannot list a group's members"
            continue
        try:
            present, outcome.waited = list_members(connector, chat_id, sleep)
        except DeliveryError as exc:
            outcome.error = str(exc)
            continue
        with container.sessions.begin() as s:
            group = s.get(Group, group_id)
            outcome.report = plan(container.ctx, s, group, present)
            if fix:
                apply(container.ctx, s, group, outcome.report)
    return result


def describe(outcome: Outcome, fix: bool) -> list[str]:
    """The report's lines for one group."""
    if outcome.skipped:
        return [f"{outcome.ref}: skipped — {outcome.skipped}"]
    if outcome.error:
        return [f"{outcome.ref}: ERROR {outcome.error} — nothing was changed"]
    r = outcome.report
    assert r is not None
    waited = f" (waited {outcome.waited:g} s for the platform's rate limit)" if outcome.waited else ""
    if r.clean:
        return [f"{outcome.ref}: matches the records{waited}"]
    verb = (lambda done, todo: done) if fix else (lambda done, todo: f"would {todo}")
    unadmitted = {"remove": verb("removed", "remove"),
                  "allow": verb("recorded as allowed", "record as allowed"),
                  "hold": verb("held for the admins and the lead", "hold for the admins and the lead")}[r.policy] \
        + " (R2.1.1)"
    lines = [f"{outcome.ref}:{waited}"]
    for people, what in ((r.unadmitted, f"not admitted: {unadmitted}"),
                         (r.gone, verb("stay closed", "close the stay") + " (gone from the group, R7.1.1)"),
                         (r.departed, verb("removed", "remove") + " (left the organisation, R2.4.1)"),
                         (r.staff, verb("stay recorded", "record the stay") + " (the group's staff)")):
        if people:
            lines.append(f"  {', '.join(people)}: {what}")
    return lines


# --- the worker's scheduled reconciliation (membership.reconcile_every_hours) ------------------------

JOB = "membership.reconcile"
DISCOVER_JOB = _DISCOVER_JOB      # queued by every configuration sync (core/kernel/config_sync.py)


def _slot_key(now, hours: int) -> str:
    return f"{JOB}:{int(now.timestamp() // (hours * 3600))}"


def ensure_scheduled(container) -> None:
    """The next reconciliation, unless one is pending (every worker asks at start, each run for the next
    period): a chain that broke is mended by the next worker that starts; two workers starting together
    write the same key, so one job stands."""
    from datetime import timedelta

    from core.db.models import ScheduledJob
    from core.kernel.scheduler import schedule

    hours = container.config.membership.reconcile_every_hours
    if not hours:
        return
    now = container.clock.now()
    with container.sessions.begin() as s:
        if s.scalar(select(ScheduledJob.id).where(ScheduledJob.kind == JOB, ScheduledJob.status == "pending")
                    .limit(1)) is None:
            schedule(s, key=_slot_key(now + timedelta(hours=hours), hours), kind=JOB,
                     due_at=now + timedelta(hours=hours), now=now)


def job(container, discovery: bool = False):
    """The job handler, bound to the container: the listing is a platform call, made after the job's
    transaction has committed (the connectors keep their tokens in the database), and a platform that
    asks to wait longer than a few seconds is reported for its group and tried again next period.
    `discovery`: the run queued by the configuration sync (DISCOVER_JOB), the same reconciliation."""
    from core.kernel.identity import after_commit

    def handler(ctx, s, payload) -> None:
        def reconcile_all() -> None:
            if not discovery:
                ensure_scheduled(container)
            run(container, select_groups(container, None, ()), fix=True,
                sleep=lambda seconds: time.sleep(min(seconds, 5.0)))
        after_commit(s, reconcile_all)

    return handler
