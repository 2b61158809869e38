"""What a feature adds to Steward, declared in one value, and the kernel's view of all of them.

Each feature package has a `feature.py` with one `Feature`; the composition root (`steward/features.py`)
hands the list to the kernel through `CoreContext.features`. The kernel imports no feature: it only
calls what the features declared, so features never import each other for these hooks either.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

from core.kernel.parser import Grammar
from core.kernel.spec import CommandSpec

if TYPE_CHECKING:   # annotations only: the context module imports this one
    from datetime import datetime

    from sqlalchemy.orm import Session

    from core.db.models import Account, Group
    from core.events import Event, MessagePosted
    from core.kernel.context import CoreContext

# (runner, invocation, value) -> None; each handler checks permissions itself
CardHandler = Callable[..., None]
# (ctx, session, event) -> None, inside the event's transaction
EventHandler = Callable[["CoreContext", "Session", "Event"], None]
# (ctx, session, group, account) -> None: someone joined a governed group (after the kernel recorded it)
JoinHandler = Callable[["CoreContext", "Session", "Group", "Account"], None]
# (ctx, session, group_id, account_id, person_id, message) -> None: a group message that is no command
MessageObserver = Callable[["CoreContext", "Session", int, int, int, "MessagePosted"], None]
# (ctx, session, message, person_id) -> True when the feature took the message over (files it carries)
MessageIntake = Callable[["CoreContext", "Session", "MessagePosted", int], bool]
# (ctx, session, payload) -> None: a scheduled job of one kind
JobHandler = Callable[["CoreContext", "Session", dict[str, Any]], None]
# (session, person_id, now, locale) -> lines telling a member what a file they sent can be used for
FileUse = Callable[["Session", int, "datetime", str], list[str]]
# (ctx, session, account, locale) -> lines of a member's own record (`my`), empty when none
RecordSection = Callable[["CoreContext", "Session", "Account", str], list[str]]
# (ctx, session, review item, deciding account, release, note, locale) -> None: a held item of the feature's kind
# decided in the review queue (core/kernel/review.py): publish it (release) or keep it down
ReviewRelease = Callable[..., None]


@dataclass(frozen=True)
class Feature:
    name: str
    commands: Sequence[CommandSpec] = ()
    card_actions: Mapping[str, CardHandler] = field(default_factory=dict)
    #: events other than messages, by type; several features may handle one type (in feature order)
    events: Mapping[type, EventHandler] = field(default_factory=dict)
    on_join: Sequence[JoinHandler] = ()
    observers: Sequence[MessageObserver] = ()
    intake: Sequence[MessageIntake] = ()
    jobs: Mapping[str, JobHandler] = field(default_factory=dict)
    record: Sequence[RecordSection] = ()
    file_uses: Sequence[FileUse] = ()
    #: review-queue item kinds the feature holds (core/kernel/review.py), and how a decision releases or drops one
    review_release: Mapping[str, ReviewRelease] = field(default_factory=dict)


class Features:
    """Every feature's declarations merged; a name declared twice is an error, found at start-up."""

    def __init__(self, features: Sequence[Feature]) -> None:
        self.all = tuple(features)
        names = [f.name for f in self.all]
        if len(names) != len(set(names)):
            raise ValueError(f"a feature is listed twice: {names}")

    @cached_property
    def grammar(self) -> Grammar:
        return Grammar(_unique("command", ((s.name, s) for f in self.all for s in f.commands)))

    @cached_property
    def card_actions(self) -> dict[str, CardHandler]:
        return _unique("card action", (item for f in self.all for item in f.card_actions.items()))

    @cached_property
    def review_release(self) -> dict[str, ReviewRelease]:
        return _unique("review kind", (item for f in self.all for item in f.review_release.items()))

    @cached_property
    def jobs(self) -> dict[str, JobHandler]:
        return _unique("job kind", (item for f in self.all for item in f.jobs.items()))

    def events(self, kind: type) -> tuple[EventHandler, ...]:
        return tuple(f.events[kind] for f in self.all if kind in f.events)

    @cached_property
    def on_join(self) -> tuple[JoinHandler, ...]:
        return tuple(h for f in self.all for h in f.on_join)

    @cached_property
    def observers(self) -> tuple[MessageObserver, ...]:
        return tuple(h for f in self.all for h in f.observers)

    @cached_property
    def intake(self) -> tuple[MessageIntake, ...]:
        return tuple(h for f in self.all for h in f.intake)

    @cached_property
    def file_uses(self) -> tuple[FileUse, ...]:
        return tuple(h for f in self.all for h in f.file_uses)

    @cached_property
    def record(self) -> tuple[RecordSection, ...]:
        return tuple(h for f in self.all for h in f.record)


def _unique(what: str, items) -> dict:
    out: dict = {}
    for name, value in items:
        if name in out:
            raise ValueError(f"{what} {name!r} is declared twice")
        out[name] = value
    return out


NONE = Features(())
