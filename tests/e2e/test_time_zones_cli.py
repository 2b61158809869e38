"""Times in exports and CLI date filters are on the deployment's clock (steward.yaml `timezone`, default
Asia/Shanghai), and every export names its zone: no silent eight-hour gap for HR and legal readers."""
from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timezone

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.config import parse_config
from core.db.models import ArchivedMessage, AuditEntry, Group
from core.db.session import make_engine
from core.kernel.config_sync import sync_config
from steward.cli import main

CONFIG = """
{tz}
groups:
  - platform: sandbox
    chat_id: cohort-a
    name: 新员工培训群
    kind: new-hire
    lead: sandbox:lily
    admins: [sandbox:adam]
"""
# 2026-11-01 23:30 in Shanghai is 15:30 UTC the same day: a filter read as UTC would get the day wrong.
LATE_EVENING = datetime(2026, 11, 1, 15, 30, tzinfo=timezone.utc)
NEXT_MORNING = datetime(2026, 11, 2, 1, 0, tzinfo=timezone.utc)     # 09:00 in Shanghai


@pytest.fixture(params=["", "timezone: Asia/Shanghai", "timezone: Asia/Taipei"])
def env(request, tmp_path, sqlite_url):
    text = CONFIG.format(tz=request.param)
    cfg = tmp_path / "steward.yaml"
    cfg.write_text(text, encoding="utf-8")
    engine = make_engine(sqlite_url)
    with Session(engine) as s, s.begin():
        sync_config(s, parse_config(text), LATE_EVENING)
        group = s.scalar(select(Group))
        for i, (words, at) in enumerate([("周日晚上的通知，请查收", LATE_EVENING), ("周一早上好", NEXT_MORNING)]):
            s.add(ArchivedMessage(platform="sandbox", chat_id="cohort-a", message_id=f"m{i}", group_id=group.id,
                                  user_id="alice", kind="text", text=words, sent_at=at))
            s.add(AuditEntry(at=at, actor="system", action=f"test.{i}", clause="R3.2.2", detail={}))
    engine.dispose()
    zone = request.param.partition(": ")[2] or "Asia/Shanghai"
    return {"DATABASE_URL": sqlite_url, "STEWARD_CONFIG": str(cfg), "STEWARD_LOG_LEVEL": "ERROR"}, zone


def run(env, *args):
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def test_the_archive_export_filters_and_shows_local_time_and_names_the_zone(env, tmp_path):
    env, zone = env
    out = tmp_path / "archive.json"
    result = run(env, "archive", "export", "--group", "cohort-a", "--since", "2026-11-02", "--format", "json",
                 "-o", str(out))
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text("utf-8"))
    assert data["timezone"] == zone
    assert [m["text"] for m in data["messages"]] == ["周一早上好"]     # the evening before is the 1st, locally
    assert data["messages"][0]["sent_at"] == "2026-11-02T09:00:00+08:00"
    md = tmp_path / "archive.md"
    assert run(env, "archive", "export", "--group", "cohort-a", "-o", str(md)).exit_code == 0
    text = md.read_text("utf-8")
    assert f"times in {zone}" in text and "2026-11-01 23:30" in text and "周日晚上的通知，请查收" in text


def test_the_audit_export_shows_local_time_and_names_the_zone(env):
    env, zone = env
    result = run(env, "audit", "export", "--since", "2026-11-02")
    assert result.exit_code == 0, result.output
    rows = [r for r in map(json.loads, result.stdout.splitlines()) if r["action"].startswith("test.")]
    assert [r["action"] for r in rows] == ["test.1"]
    assert rows[0]["at"] == "2026-11-02T09:00:00+08:00" and rows[0]["timezone"] == zone
    result = run(env, "audit", "export", "--format", "csv", "--until", "2026-11-02")
    [row] = [r for r in csv.DictReader(io.StringIO(result.stdout)) if r["action"].startswith("test.")]
    assert row["action"] == "test.0" and row["at"] == "2026-11-01T23:30:00+08:00" and row["timezone"] == zone


def test_archive_search_prints_local_times(env):
    env, zone = env
    result = run(env, "archive", "search", "通知", "--group", "cohort-a")
    assert result.exit_code == 0 and "2026-11-01 23:30 alice" in result.output and zone in result.output
