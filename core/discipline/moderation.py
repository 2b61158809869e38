"""Content moderation in the message path: the detectors' verdicts feed the discipline ladder.

One verdict per message climbs the ladder (the most severe; the others are kept in the audit
detail), so a message that is both an ad and an insult is one violation, not two. Nudges (off
topic, very long) are a private hint, never counted (R4.2.1, R4.2.2).
"""
from __future__ import annotations

import threading
import time

from sqlalchemy.orm import Session

from core.actions import SendPrivate
from core.db.models import Account, Group
from core.discipline import lexicon
from core.discipline.cases import Violation, detector_case, report_once
from core.discipline.config import acting, moderation_settings
from core.discipline.review import Review, takes_report
from core.events import MessagePosted
from core.i18n import t
from core.kernel.addressing import called
from core.kernel.context import CoreContext
from core.kernel.outbox import enqueue
from core.kernel.parser import CommandError
from core.moderation import MemoryRecentMessages, Moderator, RecentMessages

CASES_BY_MESSAGE = "steward.cases_by_message"   # Session.info key: the case each message opened


class ModerationService:
    """Callable installed as `CoreContext.detectors`; builds one Moderator per template, lazily."""

    def __init__(self, recent: RecentMessages | None = None, recheck_seconds: float = 5.0) -> None:
        # Flood and repeat counting is per process (in memory); see README, "Moderation".
        self.recent = recent or MemoryRecentMessages()
        self._moderators: dict[str, Moderator] = {}
        self._templates: dict[int, tuple[str, bool]] = {}
        self._lock = threading.Lock()
        self._recheck = recheck_seconds
        self._version, self._checked = -1, 0.0

    def moderator(self, ctx: CoreContext, s: Session, template: str) -> Moderator:
        """The template's moderator, rebuilt when an admin has edited the lexicon (checked every few s)."""
        now = time.monotonic()
        if now - self._checked > self._recheck:
            current = lexicon.version(s)
            with self._lock:
                self._checked = now
                if current != self._version:
                    self._moderators.clear()
                    self._version = current
        with self._lock:
            moderator = self._moderators.get(template)
        if moderator is None:
            added, removed = lexicon.current_edits(s)
            moderator = Moderator(moderation_settings(ctx.config, template, added, removed), self.recent)
            with self._lock:
                self._moderators[template] = moderator
        return moderator

    def warm(self, ctx: CoreContext) -> None:
        """Build the moderator of every template whose moderation is on, now."""
        with ctx.sessions() as s:
            for name, template in ctx.config.all_templates().items():
                if template.moderation.enabled:
                    self.moderator(ctx, s, name)

    def invalidate(self) -> None:
        with self._lock:
            self._checked = 0.0

    def __call__(self, ctx: CoreContext, s: Session, group_id: int, account_id: int, e: MessagePosted) -> bool:
        """True when the message opened a case that counts (the sender is not exempt staff)."""
        template, enabled = self._template_of(ctx, s, group_id)
        if not enabled or not e.text or _a_report(ctx, s, group_id, e):
            return False
        now = ctx.clock.now()
        verdicts = self.moderator(ctx, s, template).check(
            e.text, sender=f"{e.platform}:{e.user_id}", chat=f"{e.platform}:{e.chat_id}", at=e.sent_at or now,
            mentions=len(e.mentions), message=None if e.edited else e.message_id)
        if not verdicts:
            return False
        for verdict in verdicts:
            ctx.metrics.count("detector_hits", detector=verdict.detector or "-", category=verdict.category)
        group, account = s.get(Group, group_id), s.get(Account, account_id)
        ladder = [v for v in verdicts if not v.nudge]
        if ladder:
            top = ladder[0]
            # One violation per message: an edit that still breaks a rule (the same or another) changes
            # nothing; an edit that brings the first violation counts once, for that message.
            earlier = detector_case(s, group_id, e.message_id) if e.edited else None
            if earlier is not None:
                s.info.setdefault(CASES_BY_MESSAGE, {})[e.message_id] = earlier
                return earlier.outcome != "exempt"
            # R7.2.2: below the template's confidence (act_at) a hit waits for an admin in the review queue
            moderation = ctx.config.all_templates()[group.template].moderation
            acts = [v for v in ladder if acting(moderation, v)]
            if not acts:
                Review(ctx, s).flag(group, account, e, top)
                return False
            top = acts[0]
            case = report_once(ctx, s, e.message_id, Violation(
                group=group, account=account, clause=top.clause, rule=top.rule, category=top.category,
                reported_by=f"detector:{top.detector}", automated=True, severe=top.severe,
                evidence=top.evidence, message_id=e.message_id, detector=top.detector,
                delete_message=any(v.delete for v in acts)))
            s.info.setdefault(CASES_BY_MESSAGE, {})[e.message_id] = case   # for later observers (conflicts)
            return case.outcome != "exempt"
        nudge = verdicts[0]
        enqueue(s, SendPrivate(e.platform, e.user_id, t(group.locale, f"nudge.{nudge.category}", clause=nudge.clause,
                                                        group=group.name)),
                key=f"nudge:{e.platform}:{e.chat_id}:{e.message_id}"[:200], now=now, group_id=group.id)   # once a message
        return False

    def _template_of(self, ctx: CoreContext, s: Session, group_id: int) -> tuple[str, bool]:
        hit = self._templates.get(group_id)
        if hit is None:
            group = s.get(Group, group_id)
            hit = (group.template, ctx.config.all_templates()[group.template].moderation.enabled)
            self._templates[group_id] = hit
        return hit


def _a_report(ctx: CoreContext, s: Session, group_id: int, e: MessagePosted) -> bool:
    """A member's `report` to Steward quoting what someone wrote (R2.3.3) is no violation of its own: its words
    go to the admins, who see them on the review card, and the reporter is not warned for quoting. Only a
    report that will be taken is spared: `@steward report nosuchmessage <an ad>` is moderated as any message."""
    by_name, text = called(e.text, ctx.config.bot_names)
    if not (e.addressed or by_name):
        return False
    try:
        cmd = ctx.features.grammar.parse(text)
    except CommandError:
        return False
    return cmd.name == "report" and takes_report(s, s.get(Group, group_id), e, list(cmd.members), cmd.rest)


