"""The outbox worker: deliver queued actions through the connectors, never losing or doubling one.

Claiming is a conditional UPDATE with a lease, which works the same on SQLite and PostgreSQL and
lets several workers share the queue. A worker that dies mid-delivery leaves its lease to expire;
another worker then retries with the same idempotency key — first asking the platform whether the
interrupted call got through, where the platform can tell (core/ports.py DeliveryCheck: Slack).
"""
from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Mapping

from sqlalchemy import or_, select, update

from core.actions import Action, SendPrivate, action_from_dict
from core.db.models import Group, OutboxItem
from core.errors import PermanentDeliveryError, RetryableDeliveryError, UnsupportedAction
from core.i18n import t
from core.kernel import audit, own_posts
from core.kernel.context import CoreContext
from core.kernel.directory import account_on, people_with_role
from core.kernel.outbox import FORGET, enqueue, forgotten
from core.ports import Messenger

log = logging.getLogger("steward.delivery")


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 8
    base_seconds: float = 2.0
    max_seconds: float = 900.0

    def delay(self, attempts: int, retry_after: float | None = None) -> float:
        """Exponential backoff with full jitter, capped; a platform's Retry-After wins if longer."""
        backoff = min(self.max_seconds, self.base_seconds * 2 ** max(0, attempts - 1))
        jittered = random.uniform(backoff / 2, backoff)
        return max(jittered, retry_after or 0.0)


class Deliverer:
    def __init__(self, ctx: CoreContext, messengers: Mapping[str, Messenger], worker_id: str,
                 policy: RetryPolicy = RetryPolicy(), lease_seconds: int = 120, batch: int = 20) -> None:
        self.ctx, self.messengers, self.worker_id = ctx, messengers, worker_id
        self.policy, self.lease, self.batch = policy, timedelta(seconds=lease_seconds), batch

    def run_once(self) -> int:
        """Deliver what is due now; returns how many items were attempted."""
        claimed = self._claim()
        for item_id, interrupted in claimed:
            self._deliver(item_id, interrupted)
        return len(claimed)

    def _claim(self) -> list[tuple[int, bool]]:
        """(id, interrupted) of the items claimed: interrupted when an earlier worker claimed it and never
        came back (its lease ran out with the item still locked: killed, or stuck waiting for the platform)."""
        now = self.ctx.clock.now()
        with self.ctx.sessions.begin() as s:
            due = list(s.execute(select(OutboxItem.id, OutboxItem.locked_by).where(
                OutboxItem.status == "pending", OutboxItem.next_attempt_at <= now,
                or_(OutboxItem.locked_until.is_(None), OutboxItem.locked_until < now),
            ).order_by(OutboxItem.id).limit(self.batch)))
        claimed = []
        for item_id, locked_by in due:
            with self.ctx.sessions.begin() as s:
                result = s.execute(update(OutboxItem).where(
                    OutboxItem.id == item_id, OutboxItem.status == "pending",
                    or_(OutboxItem.locked_until.is_(None), OutboxItem.locked_until < now),
                ).values(locked_by=self.worker_id, locked_until=now + self.lease))
                if result.rowcount == 1:
                    claimed.append((item_id, locked_by is not None))
        return claimed

    def _deliver(self, item_id: int, interrupted: bool = False) -> None:
        with self.ctx.sessions() as s:
            item = s.get(OutboxItem, item_id)
            assert item is not None
            action, key = action_from_dict(item.action), item.idempotency_key
        messenger = self.messengers.get(action.platform)
        try:
            if messenger is None:
                raise PermanentDeliveryError(f"no connector configured for {action.platform}", "no_connector")
            found = self._already_there(messenger, action, key) if interrupted else None
            if found is not None:
                log.info("outbox item %s was delivered before its worker stopped: not sent again", item_id)
                self._done(item_id, getattr(found, "remote_id", None))
                return
            result = messenger.deliver(action, key)
        except RetryableDeliveryError as exc:
            self._retry(item_id, str(exc), exc.retry_after)
        except UnsupportedAction as exc:
            self._give_up(item_id, action, "unsupported", str(exc))
        except PermanentDeliveryError as exc:
            self._give_up(item_id, action, exc.code or "refused", str(exc))
        except Exception as exc:  # a bug or an unexpected SDK error: retry, never crash the worker
            log.exception("delivery of outbox item %s failed unexpectedly", item_id)
            self._retry(item_id, f"{type(exc).__name__}: {exc}", None)
        else:
            self._done(item_id, getattr(result, "remote_id", None))

    @staticmethod
    def _already_there(messenger: Messenger, action: Action, key: str) -> object | None:
        """An interrupted attempt may have reached the platform: ask it, where it can tell (DeliveryCheck).
        Elsewhere the item is sent again: at-least-once for an interrupted call (README, "Delivery")."""
        check = getattr(messenger, "find_delivered", None)
        return check(action, key) if check is not None else None

    def _owned(self, s, item_id: int) -> OutboxItem | None:
        item = s.get(OutboxItem, item_id)
        if item is None or item.locked_by != self.worker_id or item.status != "pending":
            return None   # our lease expired and someone else owns it now
        return item

    def _done(self, item_id: int, remote_id: str | None) -> None:
        now = self.ctx.clock.now()
        with self.ctx.sessions.begin() as s:
            item = self._owned(s, item_id)
            if item is None:
                return
            item.status, item.delivered_at, item.remote_id = "done", now, remote_id
            item.attempts += 1
            item.locked_by = item.locked_until = None
            own_posts.archive(s, action_from_dict(item.action), item.id, remote_id, now)
            if item.idempotency_key.startswith(FORGET):
                item.action = forgotten(item.action)

    def _retry(self, item_id: int, error: str, retry_after: float | None) -> None:
        now = self.ctx.clock.now()
        with self.ctx.sessions.begin() as s:
            item = self._owned(s, item_id)
            if item is None:
                return
            item.last_error = error[:2000]
            item.locked_by = item.locked_until = None
            if retry_after is not None:
                # Throttled (a platform's 429 or our own pacing): wait as told; not a failed attempt,
                # so a burst into one busy channel never ends in the dead letter.
                item.next_attempt_at = now + timedelta(seconds=self.policy.delay(1, retry_after))
                return
            item.attempts += 1
            if item.attempts >= self.policy.max_attempts:
                item.status = "dead"
                self._alert(s, item, "fallback.dead", now, attempts=item.attempts, error=error[:200])
                audit.record(s, at=now, actor="worker", action="outbox.dead", group_id=item.group_id,
                             case_number=item.case_number, outbox_id=item.id, error=error[:500])
            else:
                item.next_attempt_at = now + timedelta(seconds=self.policy.delay(item.attempts, retry_after))

    def _give_up(self, item_id: int, action: Action, code: str, error: str) -> None:
        """The platform cannot or will not: record it and tell the group's admins (the fallback)."""
        now = self.ctx.clock.now()
        with self.ctx.sessions.begin() as s:
            item = self._owned(s, item_id)
            if item is None:
                return
            item.attempts += 1
            item.status, item.last_error = "failed", f"{code}: {error}"[:2000]
            item.locked_by = item.locked_until = None
            why_key = "why.unsupported" if code == "unsupported" else "why.refused"
            self._alert(s, item, "fallback.admins", now, why_key=why_key, code=code)
            audit.record(s, at=now, actor="worker", action="outbox.failed", group_id=item.group_id,
                         case_number=item.case_number, outbox_id=item.id, code=code, error=error[:500])

    def _alert(self, s, item: OutboxItem, key: str, now: datetime, why_key: str | None = None,
               code: str = "", **values: object) -> None:
        if item.group_id is None or item.idempotency_key.startswith("alert:"):
            return   # never alert about an alert
        group = s.get(Group, item.group_id)
        if group is None:
            return
        action = action_from_dict(item.action)
        target = getattr(action, "user_id", None) or getattr(action, "chat_id", None) or "-"
        text = t(group.locale, key, platform=group.platform, action=t(group.locale, f"action.{action.kind}"),
                 why=t(group.locale, why_key, code=code) if why_key else "", target=target,
                 case=item.case_number or "-", **values)
        for person in people_with_role(s, group.id, "admin"):
            admin = account_on(person, group.platform)
            if admin is None or (action.kind == "private" and admin.user_id == target):
                continue
            enqueue(s, SendPrivate(group.platform, admin.user_id, text),
                    key=f"alert:{item.id}:{admin.user_id}", now=now, group_id=group.id,
                    case_number=item.case_number)
