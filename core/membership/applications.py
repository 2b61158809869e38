"""Join applications (R2.1.3) and recommendations (R2.1.1).

An application carries name, department and position: pre-filled from the person's record and the
platform's directory, asked for when missing, and forwarded to the group's lead only when complete.
The lead approves or rejects on a card; the applicant hears the outcome either way.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.actions import Button, SendPrivate, private_card
from core.db.models import Account, Group, Person
from core.i18n import t
from core.kernel import audit
from core.kernel.context import CoreContext
from core.kernel.directory import display, open_membership, roles_of
from core.kernel.identity import after_commit, fill_from_profile, has_directory, profile_of
from core.kernel.outbox import enqueue
from core.membership.admission import admit, deciders, tell
from core.membership.models import MembershipRequest
from core.roles import DECIDERS

APPLY = "R2.1.3"
RECOMMEND = "R2.1.1"
FIELDS = ("name", "department", "position")
_LABELS = {
    "name": ("name", "姓名", "名字"),
    "department": ("department", "dept", "部门", "部門"),
    "position": ("position", "title", "职位", "職位", "岗位", "崗位"),
}
_LABEL_TO_FIELD = {label.casefold(): name for name, labels in _LABELS.items() for label in labels}
_LABELLED = re.compile(r"(?i)(" + "|".join(sorted(map(re.escape, _LABEL_TO_FIELD), key=len, reverse=True))
                       + r")\s*[:：=]\s*")
MAX_FIELD = 100


def parse_fields(text: str) -> tuple[dict[str, str], str]:
    """`name: 张三 部门: 销售部 position=Engineer` -> the fields and the unlabelled rest."""
    found: dict[str, str] = {}
    matches = list(_LABELLED.finditer(text))
    rest = text[:matches[0].start()] if matches else text
    for i, m in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        value = text[m.end():end].strip(" \t\n,，;；")
        if value:
            found[_LABEL_TO_FIELD[m.group(1).casefold()]] = value[:MAX_FIELD]
    return found, rest.strip(" \t\n,，;；")


@dataclass(frozen=True)
class Outcome:
    message: str                 # catalog key for the reply to the applicant
    values: dict


class Applications:
    def __init__(self, ctx: CoreContext, s: Session) -> None:
        self.ctx, self.s = ctx, s
        self.now = ctx.clock.now()

    def apply(self, group: Group, account: Account, text: str) -> Outcome | None:
        """The applicant's step; None when the directory is asked first (the answer follows by itself)."""
        person = account.person
        if open_membership(self.s, person.id, group.id) is not None:
            return Outcome("membership.apply.already_member", {"group": group.name})
        request = self.s.scalar(select(MembershipRequest).where(
            MembershipRequest.kind == "application", MembershipRequest.person_id == person.id,
            MembershipRequest.group_id == group.id, MembershipRequest.status.in_(("collecting", "pending"))))
        if request is not None and request.status == "pending":
            return Outcome("membership.apply.pending", {"group": group.name, "clause": APPLY})
        new = request is None
        if new:
            named = person.name if person.name and person.name != account.user_id else None
            request = MembershipRequest(kind="application", person_id=person.id, group_id=group.id,
                                        account_id=account.id, name=named, department=person.department,
                                        position=person.position, status="collecting", created_at=self.now)
            self.s.add(request)
        fields, rest = parse_fields(text)
        if rest and request.asked in FIELDS and request.asked not in fields:
            fields[request.asked] = rest[:MAX_FIELD]
        for name, value in fields.items():
            setattr(request, name, value)
            if name != "name" and not getattr(person, name):
                setattr(person, name, value)
        self.s.flush()
        if new and self._missing(request) and has_directory(self.ctx, account.platform):
            request.asked = "directory"
            request_id, ctx = request.id, self.ctx
            after_commit(self.s, lambda: continue_after_lookup(ctx, request_id))
            return None
        return self.advance(group, request)

    @staticmethod
    def _missing(request: MembershipRequest) -> list[str]:
        return [f for f in FIELDS if not getattr(request, f)]

    def advance(self, group: Group, request: MembershipRequest) -> Outcome:
        """Ask for the first missing field, or forward the complete application to the lead."""
        missing = self._missing(request)
        if missing:
            request.asked = missing[0]
            return Outcome(f"membership.apply.ask.{missing[0]}", {"group": group.name, "clause": APPLY})
        request.asked, request.status = None, "pending"
        self._forward(group, request)
        audit.record(self.s, at=self.now, actor=f"person:{request.person_id}", action="application.submitted",
                     clause=APPLY, group_id=group.id, person_id=request.person_id, request=request.id)
        return Outcome("membership.apply.forwarded", {"group": group.name, "clause": APPLY})

    def _forward(self, group: Group, request: MembershipRequest) -> None:
        locale = group.locale
        text = t(locale, "membership.apply.card", name=request.name, department=request.department,
                 position=request.position, group=group.name, clause=APPLY)
        title = t(locale, "membership.apply.card_title", group=group.name)
        buttons = (Button(t(locale, "membership.button.approve"), "membership.approve", str(request.id), "primary"),
                   Button(t(locale, "membership.button.reject"), "membership.reject", str(request.id), "danger"))
        for lead in deciders(self.s, group):
            action = private_card(group.platform, lead.user_id, title, text, buttons,
                                  cards=self.ctx.caps(group.platform).cards,
                                  typed=t(locale, "membership.apply.typed", request=request.id))
            enqueue(self.s, action, key=f"application:{request.id}:lead:{lead.id}", now=self.now,
                    group_id=group.id)

    def decide(self, request: MembershipRequest, approve: bool, decider: Account,
               actor: str | None = None) -> tuple[str, dict]:
        """The lead's (or an admin's) click; returns the reply to the decider. `actor`: how the audit log names
        the decider (default `person:N`; the console's `console:person:N`)."""
        group = self.s.get(Group, request.group_id)
        actor = actor or f"person:{decider.person_id}"
        if not roles_of(self.s, decider.person_id, group.id) & DECIDERS:
            audit.record(self.s, at=self.now, actor=actor, action="command.refused",
                         clause="R7.1.1", group_id=group.id, person_id=decider.person_id,
                         command="membership.approve" if approve else "membership.reject")
            return "membership.decide.refused", {"clause": "R7.1.1"}
        if request.status != "pending":
            return "membership.decide.done", {"request": request.id, "status": request.status}
        person = self.s.get(Person, request.person_id)
        request.status = "approved" if approve else "rejected"
        request.decided_by, request.decided_at = actor, self.now
        if approve:
            admit(self.ctx, self.s, group, self.s.get(Account, request.account_id), reason="application",
                  clause=APPLY, actor=actor)
        audit.record(self.s, at=self.now, actor=actor,
                     action=f"application.{request.status}", clause=APPLY, group_id=group.id,
                     person_id=person.id, request=request.id)
        tell(self.ctx, self.s, group, person, f"application:{request.id}:outcome",
             f"membership.apply.{request.status}", group=group.name, clause=APPLY)
        return f"membership.decide.{request.status}", {"name": request.name, "group": group.name, "clause": APPLY}

    def recommend(self, group: Group, recommender: Account, accounts: list[Account], reason: str) -> list[str]:
        """Invite each recommended person and tell them why; returns the names newly invited."""
        invited = []
        for account in accounts:
            if not admit(self.ctx, self.s, group, account, reason=f"recommended:person:{recommender.person_id}",
                         clause=RECOMMEND, actor=f"person:{recommender.person_id}"):
                continue
            invited.append(display(account))
            why = reason or t(group.locale, "membership.recommend.no_reason")
            enqueue(self.s, SendPrivate(group.platform, account.user_id, t(
                group.locale, "membership.recommend.told", group=group.name, by=display(recommender),
                reason=why, clause=RECOMMEND)),
                key=f"recommended:{account.person_id}:{group.id}:{open_membership(self.s, account.person_id, group.id).id}", now=self.now,
                group_id=group.id)
        return invited


def continue_after_lookup(ctx: CoreContext, request_id: int) -> None:
    """After the applicant's transaction: read the directory, fill the gaps, then ask or forward."""
    with ctx.sessions() as s:
        account = s.get(Account, s.get(MembershipRequest, request_id).account_id)
        platform, user_id = account.platform, account.user_id
    profile = profile_of(ctx, platform, user_id)
    with ctx.sessions.begin() as s:
        request = s.get(MembershipRequest, request_id)
        if request.status != "collecting" or request.asked != "directory":
            return
        person, group = s.get(Person, request.person_id), s.get(Group, request.group_id)
        fill_from_profile(person, profile)
        if profile is not None:
            for name in FIELDS:
                if not getattr(request, name) and getattr(profile, name):
                    setattr(request, name, getattr(profile, name)[:MAX_FIELD])
        outcome = Applications(ctx, s).advance(group, request)
        enqueue(s, SendPrivate(platform, user_id, t(group.locale, outcome.message, **outcome.values)),
                key=f"application:{request_id}:after-directory", now=ctx.clock.now(), group_id=group.id)
