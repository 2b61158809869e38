"""Registering a training group from the CLI: owned by Steward, so the steward.yaml sync keeps it (R1.3.4)."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.config.schema import _check_account
from core.db.models import Group, Role, Training
from core.errors import StewardError
from core.kernel import audit
from core.kernel.config_sync import schedule_discovery
from core.kernel.context import CoreContext
from core.kernel.directory import account_for, join


def check_group(ctx: CoreContext, *, platform: str, name: str, kind: str, lead: str,
                people: tuple[str, ...] = ()) -> None:
    """Raise StewardError naming what is wrong, before anything is created on a platform."""
    templates = ctx.config.all_templates()
    if kind not in templates:
        raise StewardError(f"unknown group kind {kind!r} (known: {', '.join(sorted(templates))})")
    if not name.strip() or len(name) > 200:
        raise StewardError("--name must be 1-200 characters")
    for ref in (lead, *people):
        try:
            _check_account(ref)
        except ValueError as exc:
            raise StewardError(str(exc)) from None
        if ref.split(":", 1)[0] != platform:
            raise StewardError(f"{ref} is on another platform than the group ({platform})")


def register_group(ctx: CoreContext, s: Session, *, platform: str, chat_id: str, name: str, kind: str, lead: str,
                   admins: tuple[str, ...], training: str | None = None, members: tuple[str, ...] = ()) -> int:
    now = ctx.clock.now()
    check_group(ctx, platform=platform, name=name, kind=kind, lead=lead, people=(*admins, *members))
    if not chat_id.strip() or len(chat_id) > 128 or any(c.isspace() for c in chat_id):
        raise StewardError("--chat-id must be 1-128 characters without spaces")
    templates = ctx.config.all_templates()
    existing = s.scalar(select(Group).where(Group.platform == platform, Group.chat_id == chat_id))
    if existing is not None and existing.active:
        raise StewardError(f"{platform}:{chat_id} is already governed (group #{existing.id} {existing.name})")
    training_id = None
    if training:
        found = s.scalar(select(Training).where(Training.code == training))
        if found is None:
            found = Training(code=training, name=training, created_at=now)
            s.add(found)
            s.flush()
        training_id = found.id
    tpl = templates[kind]
    group = existing or Group(platform=platform, chat_id=chat_id, created_at=now)
    group.name, group.kind, group.template, group.training_id = name, kind, kind, training_id
    group.locale, group.timezone = tpl.locale or ctx.config.locale, ctx.config.timezone
    group.owned, group.active = True, True
    s.add(group)
    s.flush()
    for role, refs in (("lead", (lead,)), ("admin", admins)):
        for ref in refs:
            account = account_for(s, platform, ref.split(":", 1)[1], now)
            if s.scalar(select(Role.id).where(Role.person_id == account.person_id, Role.role == role,
                                              Role.group_id == group.id)) is None:
                s.add(Role(person_id=account.person_id, role=role, group_id=group.id, source="cli", created_at=now))
            join(s, account, group, now, reason=f"cli:{role}", admission="staff")
    for ref in members:
        join(s, account_for(s, platform, ref.split(":", 1)[1], now), group, now, reason="cli:created",
             admission="config")
    audit.record(s, at=now, actor="cli", action="group.registered", clause="R1.3.4", group_id=group.id,
                 name=name, kind=kind, owned=True)
    schedule_discovery(s, now)       # its members are read by the worker (discovery)
    return group.id
