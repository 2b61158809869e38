"""One violation per message (issue 12, finding 6): edits of a message never climb the ladder twice, also
when two edits are processed at the same moment (the database holds it: a partial unique index on cases)."""
from __future__ import annotations

import sqlite3
import threading

import pytest
from sqlalchemy import select, text

from core.db.migrate import upgrade
from core.db.models import AuditEntry, Case, OutboxItem
from core.db.session import make_engine
from core.discipline.moderation import CASES_BY_MESSAGE
from core.events import MessagePosted
from core.kernel.inbound import ingest

AD = "加 我 微 信 zhang_888，课程资料免费送"
AD_AGAIN = "加我微信 zhang_888，课程资料免费送，名额有限"
INSULT = "你是白癡嗎，講幾次了還不懂"


def post(container, n: int, text: str, edited: bool = False, message_id: str = "m1"):
    ingest(container.ctx, MessagePosted(platform="sandbox", event_id=f"ev-{n}", chat_id="new-hires", user_id="bob",
                                        message_id=message_id, text=text, edited=edited))


def cases(container) -> list[tuple[str, str]]:
    with container.sessions() as s:
        return [(c.message_id, c.outcome) for c in s.scalars(select(Case).order_by(Case.id))]


def test_one_message_and_two_edits_give_one_warning(container):
    """The attack: one message and two edits gave a warning and two removals (new hires: one warning, then
    removal). Now the edits — the same rule broken again, or another — change nothing."""
    post(container, 1, AD)
    post(container, 2, AD_AGAIN, edited=True)
    post(container, 3, INSULT, edited=True)
    assert cases(container) == [("m1", "warning")]
    with container.sessions() as s:
        removals = [o for o in s.scalars(select(OutboxItem)) if o.action["type"] == "remove"]
    assert removals == []


def test_an_edit_that_brings_the_violation_counts_once(container):
    post(container, 1, "see you at the meeting")
    assert cases(container) == []
    post(container, 2, AD, edited=True)
    post(container, 3, AD_AGAIN, edited=True)
    assert cases(container) == [("m1", "warning")]


def test_another_message_still_counts(container):
    post(container, 1, AD)
    post(container, 2, AD_AGAIN, message_id="m2")          # a new message: the ladder's next step
    assert cases(container) == [("m1", "warning"), ("m2", "removal")]


def _detect(container, s, text: str, n: int):
    """What the message path does for one edit of m1, in the caller's session (its transaction)."""
    from core.kernel.directory import account_for, group_for
    ctx = container.ctx
    group, account = group_for(s, "sandbox", "new-hires"), account_for(s, "sandbox", "bob", ctx.clock.now())
    ctx.detectors(ctx, s, group.id, account.id, MessagePosted(
        platform="sandbox", event_id=f"race-{n}", chat_id="new-hires", user_id="bob", message_id="m1", text=text,
        edited=True))
    return s.info[CASES_BY_MESSAGE]["m1"].id


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_two_edits_at_the_same_moment_give_one_case(container):
    """Two edits of one message in two transactions at once: both read "no case yet"; the database's
    partial unique index refuses the second insert, which answers with the first's case (one warning, one
    audit entry, no removal)."""
    post(container, 1, "see you at the meeting")
    first = container.sessions()
    first.begin()
    first_case = _detect(container, first, AD, 2)            # inserted, not committed: the row is locked
    outcome: dict[str, object] = {}

    def second() -> None:
        with container.sessions.begin() as s:
            outcome["case"] = _detect(container, s, AD_AGAIN, 3)   # waits on the index for the first

    thread = threading.Thread(target=second)
    thread.start()
    with container.engine.connect() as watch:                     # until the second waits on the first's lock
        for _ in range(500):
            waiting = watch.execute(text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                         "AND datname = current_database()")).scalar()
            if waiting or not thread.is_alive():
                break
            watch.rollback()
            threading.Event().wait(0.01)
    first.commit()
    first.close()
    thread.join(30)
    assert not thread.is_alive() and outcome.get("case") == first_case, outcome
    assert cases(container) == [("m1", "warning")]
    with container.sessions() as s:
        actions = [a for a in s.scalars(select(AuditEntry.action).where(AuditEntry.action.like("case.%")))]
        removals = [o for o in s.scalars(select(OutboxItem)) if o.action["type"] == "remove"]
    assert actions == ["case.warning"] and removals == []


def test_the_migration_keeps_duplicates_apart_and_the_index_holds(tmp_path, clock):
    """Cases written before the index (two for one message) are kept; the later one gets a message id of its
    own, the first keeps the message's; after it, a second detector case for the message is refused, a
    human report of the same message is not."""
    path = tmp_path / "old.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine, "review_queue_01")
    now = clock.now().replace(tzinfo=None)
    raw = sqlite3.connect(path)          # foreign keys off: the cases alone are what the migration reads
    with raw:
        for n, detector in ((1, "ads"), (2, "ads"), (3, None)):
            raw.execute(
                "INSERT INTO cases (number, person_id, group_id, account_id, clause, rule, category, severe, "
                "evidence, message_id, detector, decided_by, outcome, outcome_clause, status, created_at) VALUES "
                "(?, 1, 1, 1, 'R8.1.2', 'ads', 'ads', 0, '', 'm1', ?, 'x', 'warning', 'R8.2.1', 'open', ?)",
                (f"C{n}", detector, now.isoformat(" ")))
    raw.close()
    upgrade(engine)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT number, message_id FROM cases ORDER BY id")).all()
    assert [tuple(r) for r in rows] == [("C1", "m1"), ("C2", "m1~dup2"), ("C3", "m1")]
    insert = ("INSERT INTO cases (number, person_id, group_id, account_id, clause, rule, category, severe, evidence, "
              "message_id, detector, decided_by, outcome, outcome_clause, status, created_at) VALUES (:number, 1, 1, "
              "1, 'R8.1.2', 'ads', 'ads', 0, '', 'm1', ?, 'x', 'warning', 'R8.2.1', 'open', ?)").replace(":number", "?")
    engine.dispose()
    raw = sqlite3.connect(path)
    with pytest.raises(sqlite3.IntegrityError):
        with raw:
            raw.execute(insert, ("C4", "insult", now.isoformat(" ")))
    with raw:
        raw.execute(insert, ("C5", None, now.isoformat(" ")))
    raw.close()
