"""Make the database agree with steward.yaml: groups, trainings and the roles the file names (R1.3.4)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, text
from sqlalchemy.orm import Session

from core.config.schema import StewardConfig
from core.db.models import Group, Role, Training
from core.kernel import audit
from core.kernel.directory import account_for, join
from core.kernel.scheduler import schedule

#: the advisory lock `sync_config` holds on PostgreSQL ("steward" + 1 as a number)
SYNC_LOCK = 0x73746577617265


def sync_config(session: Session, config: StewardConfig, now: datetime) -> dict[str, int]:
    """Idempotent: run at every start; returns counts for the log.

    Every process runs it when it starts, and several start at once (web processes and workers on several
    nodes): on PostgreSQL they take turns under a transaction-level advisory lock, so that none inserts a
    group another has just inserted."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SYNC_LOCK})
    seen_groups: set[int] = set()
    wanted_roles: set[tuple[int, str, int | None]] = set()
    for cfg in config.groups:
        template = cfg.template or cfg.kind
        tpl = config.all_templates()[template]
        training_id = _training(session, cfg.training, now) if cfg.training else None
        group = session.scalar(select(Group).where(Group.platform == cfg.platform,
                                                   Group.chat_id == cfg.chat_id))
        fields = dict(name=cfg.name, kind=cfg.kind, template=template,
                      locale=cfg.locale or tpl.locale or config.locale,
                      timezone=cfg.timezone or config.timezone, training_id=training_id, active=True)
        if group is None:
            group = Group(platform=cfg.platform, chat_id=cfg.chat_id, owned=False, created_at=now, **fields)
            session.add(group)
            session.flush()
            audit.record(session, at=now, actor="config", action="group.registered", clause="R1.3.4",
                         group_id=group.id, name=cfg.name, kind=cfg.kind)
        else:
            for key, value in fields.items():
                setattr(group, key, value)
        seen_groups.add(group.id)
        for role, refs in (("lead", (cfg.lead,)), ("admin", cfg.admins),
                           ("instructor", cfg.instructors), ("reviewer", cfg.reviewers)):
            for ref in refs:
                platform, user_id = ref.split(":", 1)
                account = account_for(session, platform, user_id, now)
                wanted_roles.add((account.person_id, role, group.id))
                if account.person.status != "departed":
                    join(session, account, group, now, reason=f"config:{role}", admission="staff")
        for ref in cfg.members:
            platform, user_id = ref.split(":", 1)
            account = account_for(session, platform, user_id, now)
            if account.person.status != "departed":    # R2.4.1: who left the organisation is not put back
                join(session, account, group, now, reason="config", admission="config")   # a seed: admitted
    for role, refs in config.roles.items():
        for ref in refs:
            platform, user_id = ref.split(":", 1)
            wanted_roles.add((account_for(session, platform, user_id, now).person_id, role, None))

    existing = {(r.person_id, r.role, r.group_id): r
                for r in session.scalars(select(Role).where(Role.source == "config"))}
    for key in wanted_roles - existing.keys():
        session.add(Role(person_id=key[0], role=key[1], group_id=key[2], source="config", created_at=now))
    stale = [r.id for k, r in existing.items() if k not in wanted_roles]
    if stale:
        session.execute(delete(Role).where(Role.id.in_(stale)))
    for group in session.scalars(select(Group).where(Group.id.not_in(seen_groups or {0}),
                                                     Group.owned.is_(False), Group.active.is_(True))):
        group.active = False   # removed from the file: no longer governed, history kept
    session.flush()
    schedule_discovery(session, now)
    return {"groups": len(seen_groups), "roles": len(wanted_roles)}


DISCOVER_JOB = "groups.discover"


def schedule_discovery(session: Session, now: datetime) -> None:
    """Discovery from the first minute: the worker lists every governed group's members (where the
    platform lists them) and records them by the admission policy (steward/reconcile_run.py). Queued,
    not run: the start-up never waits for a platform. One job per start (starts within the same minute
    share it)."""
    schedule(session, key=f"{DISCOVER_JOB}:{now:%Y-%m-%dT%H:%M}", kind=DISCOVER_JOB, due_at=now, now=now)


def _training(session: Session, code: str, now: datetime) -> int:
    training = session.scalar(select(Training).where(Training.code == code))
    if training is None:
        training = Training(code=code, name=code, created_at=now)
        session.add(training)
        session.flush()
    return training.id
