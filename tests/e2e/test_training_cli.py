"""`steward archive search|export|prune` (R3.2.2): Chinese search, three export formats, retention, bad input."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from core.config import parse_config
from core.db.models import ArchivedMessage, AuditEntry, Group, Person, ReviewItem, ReviewReport
from core.db.session import make_engine
from core.kernel.config_sync import sync_config
from steward.cli import main

CONFIG = """
templates:
  new-hire:
    training: {archive_retention_days: 90}
groups:
  - platform: sandbox
    chat_id: cohort-a
    name: Cohort A
    kind: new-hire
    lead: sandbox:lily
    admins: [sandbox:adam]
"""
NOW = datetime.now(timezone.utc)


@pytest.fixture
def env(tmp_path, sqlite_url):
    cfg = tmp_path / "steward.yaml"
    cfg.write_text(CONFIG, encoding="utf-8")
    engine = make_engine(sqlite_url)
    from sqlalchemy.orm import Session
    with Session(engine) as s, s.begin():
        sync_config(s, parse_config(CONFIG), NOW)
        group = s.scalar(select(Group))
        for i, (text, age) in enumerate([("新员工入职培训安排在周三", 1), ("入職培訓的資料<b>", 2),
                                         ("lunch at noon", 3), ("old news", 200)]):
            s.add(ArchivedMessage(platform="sandbox", chat_id="cohort-a", message_id=f"m{i}", group_id=group.id,
                                  user_id="alice", kind="text", text=text, sent_at=NOW - timedelta(days=age)))
    engine.dispose()
    return {"DATABASE_URL": sqlite_url, "STEWARD_CONFIG": str(cfg), "STEWARD_LOG_LEVEL": "ERROR"}


def run(env, *args):
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def test_search_in_chinese(env):
    result = run(env, "archive", "search", "入职培训", "--group", "sandbox:cohort-a")
    assert result.exit_code == 0, result.output
    assert "周三" in result.output and "資料" in result.output and "lunch" not in result.output


@pytest.mark.parametrize("fmt,check", [
    ("json", lambda text: len(json.loads(text)["messages"]) == 3 and json.loads(text)["clause"] == "R3.2.2"),
    ("md", lambda text: text.startswith("# Cohort A") and "R3.2.2" in text),
    ("html", lambda text: "&lt;b&gt;" in text and "<b>" not in text.replace("<b>alice</b>", "")),
])
def test_export_per_group_and_period(env, tmp_path, fmt, check):
    out = tmp_path / f"export.{fmt}"
    since = (NOW - timedelta(days=30)).strftime("%Y-%m-%d")
    result = run(env, "archive", "export", "--group", "cohort-a", "--since", since, "--format", fmt, "-o", str(out))
    assert result.exit_code == 0, result.output
    assert check(out.read_text("utf-8"))


@pytest.mark.parametrize("args,expected", [
    (["archive", "export", "--group", "nowhere"], "no group"),
    (["archive", "export", "--group", "cohort-a", "--format", "pdf"], "pdf"),
    (["archive", "export", "--group", "cohort-a", "--since", "2026-11-05", "--until", "2026-11-01"], "before"),
    (["archive", "search", "x", "--group", "cohort-a", "--since", "yesterday"], "yesterday"),
])
def test_bad_input_is_a_clear_error(env, args, expected):
    result = run(env, *args)
    assert result.exit_code != 0 and expected in result.output


def test_prune_keeps_the_retention_period(env):
    dry = run(env, "archive", "prune", "--dry-run")
    assert dry.exit_code == 0 and "1 message(s) older than 90 days" in dry.output
    engine = make_engine(env["DATABASE_URL"])
    with engine.connect() as c:
        assert c.scalar(select(func.count()).select_from(ArchivedMessage)) == 4
    assert run(env, "archive", "prune").exit_code == 0
    with engine.connect() as c:
        assert c.scalar(select(func.count()).select_from(ArchivedMessage)) == 3
        assert c.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "archive.pruned")) == 1
    engine.dispose()


def test_archive_help():
    for sub in ("search", "export", "prune"):
        assert CliRunner().invoke(main, ["archive", sub, "--help"]).exit_code == 0


def test_prune_blanks_the_review_queues_old_copies_of_decided_messages(env):
    """What the archive may no longer keep, the review queue does not keep either, once decided; an item no
    admin has decided keeps its text, and the decision stays on record."""
    engine = make_engine(env["DATABASE_URL"])
    from sqlalchemy.orm import Session
    with Session(engine) as s, s.begin():
        group = s.scalar(select(Group))
        reporter = s.scalar(select(Person))
        # "old-blanked": its text went in an earlier prune, which left the reporter's reason
        for key, status, age in (("old-decided", "dismissed", 200), ("old-open", "open", 200),
                                 ("recent-decided", "warned", 10), ("old-blanked", "dismissed", 300)):
            item = ReviewItem(key=key, group_id=group.id, kind="report", status=status, platform="sandbox",
                              chat_id="cohort-a", message_id=None, text="" if key == "old-blanked" else f"words of {key}",
                              created_at=NOW - timedelta(days=age))
            s.add(item)
            s.flush()        # an unseen message: the reporter's account of it is also the report's reason
            s.add(ReviewReport(item_id=item.id, person_id=reporter.id, reason=f"words of {key}", at=item.created_at))
    dry = run(env, "archive", "prune", "--dry-run")
    assert "1 message(s) older than 90 days, 2 decided review item(s) with a member's words" in dry.output
    assert "would delete 1 message(s) and blank the member's words on 2 decided review item(s)" in dry.output
    pruned = run(env, "archive", "prune")
    assert pruned.exit_code == 0 and "blanked the member's words on 2 decided review item(s)" in pruned.output
    assert "decided review item" not in run(env, "archive", "prune", "--dry-run").output   # nothing left
    with engine.connect() as c:
        texts = dict(c.execute(select(ReviewItem.key, ReviewItem.text)).all())
        reasons = dict(c.execute(select(ReviewItem.key, ReviewReport.reason).join(
            ReviewReport, ReviewReport.item_id == ReviewItem.id)).all())
        detail = c.scalar(select(AuditEntry.detail).where(AuditEntry.action == "archive.pruned"))
    engine.dispose()
    kept = {"old-open": "words of old-open", "recent-decided": "words of recent-decided"}
    assert texts == reasons == {"old-decided": "", "old-blanked": "", **kept}
    assert (detail["messages"], detail["review_texts"], detail["report_reasons"], detail["retention_days"]) == (
        1, 1, 2, 90)
