"""Fast acknowledgement (STEWARD_SPOOL_DIR, steward/spool.py): answered at once, stored in batches,
never lost when a process dies, never doubled when a file is replayed."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from core.db.models import ArchivedMessage, Case
from core.events import (
    CardActed,
    CommandInvoked,
    FileRef,
    MemberJoined,
    MemberLeft,
    MessagePosted,
    UserChanged,
    UserDeparted,
    UserJoinedOrg,
    event_from_dict,
)
from core.kernel.inbound import ingest, ingest_many
from steward.spool import DONE, SUFFIX, Spool, adopt_orphans, encode
from steward.worker import drain
from tests.conftest import build_container
from tests.e2e.test_sandbox_ladder import say
from webhooks import create_app

ROOT = Path(__file__).resolve().parents[2]


def message(n: int, text: str = "hello", user: str = "alice") -> MessagePosted:
    return MessagePosted(platform="sandbox", event_id=f"ev{n}", chat_id="new-hires", user_id=user,
                         message_id=f"m{n}", text=text)


def archived(container) -> int:
    with container.sessions() as s:
        return s.scalar(select(func.count()).select_from(ArchivedMessage))


@pytest.fixture
def spooled(db_url, clock, sandbox_config, tmp_path):
    c = build_container(db_url, clock, sandbox_config, extra_env={"STEWARD_SPOOL_DIR": str(tmp_path / "spool")})
    yield c
    c.spool.stop()
    c.engine.dispose()


def test_every_event_type_survives_the_spool_record():
    when = datetime(2026, 11, 2, 9, 30, tzinfo=timezone.utc)
    events = [
        MessagePosted(platform="slack", event_id="Ev1", chat_id="C1", user_id="U1", message_id="1.2", text="作业？",
                      mentions=("U2",), sent_at=when, files=(FileRef("F1", "报告.pdf", 1024, "application/pdf"),)),
        CommandInvoked(platform="slack", event_id="Ev2", user_id="U1", text="my", chat_id=None, is_direct=True),
        CardActed(platform="wecom", event_id="Ev3", user_id="u", action="case.approve", value="C000001"),
        MemberJoined(platform="dingtalk", event_id="Ev4", chat_id="cid", user_id="u", inviter_id="v"),
        MemberLeft(platform="dingtalk", event_id="Ev5", chat_id="cid", user_id="u"),
        UserDeparted(platform="wecom", event_id="Ev6", user_id="u"),
        UserChanged(platform="wecom", event_id="Ev7", user_id="u", changes={"department": "销售部"}),
        UserJoinedOrg(platform="wecom", event_id="Ev8", user_id="u", name="马小", departments=("7", "12")),
    ]
    for event in events:
        assert event_from_dict(json.loads(encode(event))) == event
    with pytest.raises(KeyError):
        event_from_dict({"type": "NoSuchEvent", "platform": "x", "event_id": "y"})


def test_the_ladder_runs_the_same_with_fast_acknowledgement(spooled):
    """R8.2.1 then R8.2.2 through the webhook, answered before the commit, stored by the spool's thread."""
    client = create_app(spooled).test_client()
    say(client, spooled, "adam", "@steward warn @bob R8.1.2 posting ads")
    say(client, spooled, "adam", "@steward warn @bob again")
    with spooled.sessions() as s:
        assert s.scalar(select(Case.outcome).where(Case.number == "C000002")) == "removal"
    assert list(Path(spooled.settings.spool_dir).glob(f"*{SUFFIX}"))      # the process's own file


def test_a_redelivered_event_is_stored_once(spooled):
    for _ in range(3):
        spooled.accept(message(1))
    drain(spooled)
    assert archived(spooled) == 1


def test_when_the_backlog_is_full_the_request_waits_for_its_commit(container, tmp_path):
    ctx = container.ctx
    spool = Spool(tmp_path, lambda events: ingest_many(ctx, events), lambda e: ingest(ctx, e), max_backlog=0)
    spool(message(1))
    assert archived(container) == 1          # no thread needed: handled before the answer
    assert spool.backlog() == 0


def test_events_a_killed_process_had_accepted_are_adopted_and_stored(container, tmp_path):
    """The process answers (records written), is killed before it commits anything; another process adopts
    its file, skips what it had committed, and stores the rest once."""
    child = textwrap.dedent(f"""
        import sys, threading
        sys.path.insert(0, {str(ROOT)!r})
        from core.events import MessagePosted
        from steward.spool import Spool
        never = threading.Event()
        spool = Spool({str(tmp_path)!r}, lambda events: never.wait(), lambda event: never.wait())
        for n in range(1, 6):
            spool(MessagePosted(platform="sandbox", event_id=f"ev{{n}}", chat_id="new-hires", user_id="alice",
                                message_id=f"m{{n}}", text=f"message {{n}}"))
        print("accepted", flush=True)
        never.wait()
    """)
    proc = subprocess.Popen([sys.executable, "-c", child], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "accepted"
        ctx = container.ctx
        handle_batch, handle_one = (lambda events: ingest_many(ctx, events)), (lambda e: ingest(ctx, e))
        assert adopt_orphans(tmp_path, handle_batch, handle_one) == 0      # its owner is alive: not touched
        ingest(ctx, message(1, "message 1"))                                # stored before the crash
        spool_file = next(tmp_path.glob(f"*{SUFFIX}"))
        first_record = spool_file.read_bytes().index(b"\n") + 1
        spool_file.with_suffix(DONE).write_text(f"{first_record:020d}")      # ... and marked committed
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        assert adopt_orphans(tmp_path, handle_batch, handle_one) == 4
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stdout.close()
    assert archived(container) == 5
    assert not list(tmp_path.glob(f"*{SUFFIX}")) and not list(tmp_path.glob(f"*{DONE}"))
    assert adopt_orphans(tmp_path, handle_batch, handle_one) == 0


def test_a_torn_last_record_and_a_lost_marker_are_handled(container, tmp_path):
    """A record cut short was never acknowledged (the process died writing it); an unreadable marker means
    replay everything, which de-duplication makes harmless."""
    ctx = container.ctx
    ingest(ctx, message(1))
    path = tmp_path / f"99999-dead{SUFFIX}"
    path.write_bytes(encode(message(1)) + encode(message(2)) + encode(message(3))[:25])
    path.with_suffix(DONE).write_text("garbage")
    assert adopt_orphans(tmp_path, lambda events: ingest_many(ctx, events), lambda e: ingest(ctx, e)) == 2
    assert archived(container) == 2


def test_an_event_that_keeps_failing_is_set_aside_and_the_rest_are_stored(tmp_path):
    stored, attempts = [], {}

    def one(event):
        attempts[event.event_id] = attempts.get(event.event_id, 0) + 1
        if event.event_id == "ev2":
            raise ValueError("cannot handle this one")
        stored.append(event.event_id)

    def batch(events):
        for event in events:
            one(event)

    spool = Spool(tmp_path, batch, one)
    for n in (1, 2, 3):
        spool(message(n))
    assert spool.wait_empty(10)
    spool.stop()
    assert "ev1" in stored and "ev3" in stored and "ev2" not in stored
    assert attempts["ev2"] == 4                 # once in the batch, three times on its own
    dead = [json.loads(line) for f in (tmp_path / "dead").glob("*.jsonl") for line in f.read_text().splitlines()]
    assert [d["event"]["event_id"] for d in dead] == ["ev2"] and "cannot handle" in dead[0]["error"]


def test_while_the_database_is_away_events_wait_and_are_not_set_aside(tmp_path):
    stored, failures = [], iter(range(3))

    def one(event):
        if next(failures, None) is not None:
            raise OperationalError("INSERT", {}, Exception("database is locked"))
        stored.append(event.event_id)

    spool = Spool(tmp_path, lambda events: [one(e) for e in events], one)
    spool(message(1))
    assert spool.wait_empty(20)
    spool.stop()
    assert stored == ["ev1"] and not (tmp_path / "dead").exists()


def test_a_stopped_spool_keeps_what_it_did_not_store_for_adoption(container, tmp_path):
    ctx = container.ctx
    blocked = threading.Event()

    def away(events):
        blocked.set()
        raise OperationalError("INSERT", {}, Exception("could not connect"))

    spool = Spool(tmp_path, away, lambda e: away([e]))
    spool(message(1))
    assert blocked.wait(5)
    spool.stop(timeout=2)
    assert archived(container) == 0
    assert adopt_orphans(tmp_path, lambda events: ingest_many(ctx, events), lambda e: ingest(ctx, e)) == 1
    assert archived(container) == 1


def test_a_spool_that_cannot_be_written_answers_after_the_commit(container, tmp_path):
    """Disk full, a directory gone: the event is stored directly, never dropped."""
    (tmp_path / "blocker").write_text("a file where the directory should be")
    ctx = container.ctx
    spool = Spool(tmp_path / "blocker" / "spool", lambda events: ingest_many(ctx, events), lambda e: ingest(ctx, e))
    spool(message(1))
    assert archived(container) == 1 and spool.backlog() == 0


def test_a_file_whose_records_are_all_committed_starts_afresh(container, tmp_path):
    ctx = container.ctx
    spool = Spool(tmp_path, lambda events: ingest_many(ctx, events), lambda e: ingest(ctx, e), rotate_bytes=1)
    for n in (1, 2, 3):
        spool(message(n))
    assert spool.wait_empty(10)
    spool.stop()
    spool_file = next(tmp_path.glob(f"*{SUFFIX}"))
    assert spool_file.stat().st_size == 0 and int(spool_file.with_suffix(DONE).read_text()) == 0
    assert archived(container) == 3


def test_operators_see_the_spool_and_replay_what_was_set_aside(tmp_path, sqlite_template):
    """`steward spool status` names files and set-aside events; `replay-dead` stores them once the cause is
    fixed (here: the event was set aside, the database works), and a second replay has nothing left."""
    import shutil

    from click.testing import CliRunner

    from steward.cli import main
    from steward.spool import _dead_letter

    db = tmp_path / "steward.db"
    shutil.copy(sqlite_template, db)
    spool_dir = tmp_path / "spool"
    env = {"DATABASE_URL": f"sqlite:///{db}", "STEWARD_CONFIG": str(ROOT / "steward.yaml"),
           "STEWARD_LOG_LEVEL": "ERROR", "STEWARD_SPOOL_DIR": str(spool_dir),
           "STEWARD_FILES_DIR": str(tmp_path / "files")}
    orphan = spool_dir / f"4242-orphan{SUFFIX}"
    spool_dir.mkdir()
    orphan.write_bytes(encode(message(7)))
    _dead_letter(spool_dir, message(8, "set aside"), ValueError("a bug, since fixed"))

    runner = CliRunner()
    shown = runner.invoke(main, ["spool", "status"], env=env, catch_exceptions=False)
    assert shown.exit_code == 0
    assert f"{orphan.name}: {orphan.stat().st_size} bytes not yet committed; owned by nobody" in shown.output
    assert "set aside beside the spool: 1 event(s)" in shown.output
    assert "set aside in the database: 0 event(s)" in shown.output

    replayed = runner.invoke(main, ["spool", "replay-dead"], env=env, catch_exceptions=False)
    assert replayed.exit_code == 0 and "stored 1, still failing 0" in replayed.output
    again = runner.invoke(main, ["spool", "replay-dead"], env=env, catch_exceptions=False)
    assert "stored 0, still failing 0" in again.output
    from core.db.session import make_engine
    engine = make_engine(env["DATABASE_URL"])
    with engine.connect() as conn:
        assert conn.execute(select(ArchivedMessage.text).where(ArchivedMessage.message_id == "m8")).scalar() \
            == "set aside"
    engine.dispose()
    del env["STEWARD_SPOOL_DIR"]
    unset = runner.invoke(main, ["spool", "status"], env=env)
    assert unset.exit_code == 1 and "STEWARD_SPOOL_DIR is not set" in unset.output


def test_healthz_shows_what_the_spool_holds(spooled):
    client = create_app(spooled).test_client()
    body = client.get("/healthz").get_json()
    assert body["status"] == "ok" and body["checks"]["spool"] == {"queued": 0}
