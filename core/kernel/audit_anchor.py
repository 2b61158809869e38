"""The audit log's head, posted to the organisation's admins on a schedule (`audit.anchor_every_hours`).

The hash chain (core/kernel/audit.py) shows any change to an entry — unless the whole chain is recomputed
from that entry on, which someone with write access to the database could do. What the admins were sent
cannot be recomputed: `steward audit verify --anchor SEQ:HASH` checks the chain still holds it. Each anchor
is itself an audit entry (`audit.anchored`), and the hash posted is that entry's own.
"""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.actions import SendPrivate
from core.db.models import Account, Role, ScheduledJob
from core.i18n import t
from core.kernel import audit
from core.kernel.context import CoreContext
from core.kernel.outbox import enqueue
from core.kernel.roster import locale_of
from core.kernel.scheduler import schedule
from core.roles import ADMIN

JOB = "audit.anchor"


def ensure_scheduled(ctx: CoreContext) -> None:
    """The next anchor, unless one is pending (every worker asks at start; each anchor schedules the next)."""
    hours = ctx.config.audit.anchor_every_hours
    if not hours:
        return
    now = ctx.clock.now()
    with ctx.sessions.begin() as s:
        if s.scalar(select(ScheduledJob.id).where(ScheduledJob.kind == JOB, ScheduledJob.status == "pending")
                    .limit(1)) is None:
            _next(s, ctx, now)


def _next(s: Session, ctx: CoreContext, now) -> None:
    hours = ctx.config.audit.anchor_every_hours
    if hours:
        due = now + timedelta(hours=hours)
        schedule(s, key=f"{JOB}:{due.strftime('%Y-%m-%dT%H:%M')}", kind=JOB, due_at=due, now=now)


def admins(s: Session) -> list[Account]:
    """One account per organisation-wide admin (every admin when none is organisation-wide)."""
    wide = list(s.scalars(select(Role.person_id).where(Role.role == ADMIN, Role.group_id.is_(None))))
    people = wide or list(s.scalars(select(Role.person_id).where(Role.role == ADMIN)))
    out: dict[int, Account] = {}
    for account in s.scalars(select(Account).where(Account.person_id.in_(set(people))).order_by(Account.id)):
        out.setdefault(account.person_id, account)
    return list(out.values())


def anchor(ctx: CoreContext, s: Session, payload: dict[str, Any]) -> None:
    """Record the anchor in the chain and send its (seq, hash) privately to the admins."""
    now = ctx.clock.now()
    people = admins(s)
    entry = audit.record(s, at=now, actor="system", action="audit.anchored",
                         sent_to=len(people))
    for account in people:
        locale = locale_of(s, account.person_id, ctx.config.locale)
        enqueue(s, SendPrivate(account.platform, account.user_id,
                               t(locale, "audit.anchor", seq=entry.seq, hash=entry.hash)),
                key=f"{JOB}:{entry.seq}:{account.id}", now=now)
    _next(s, ctx, now)
