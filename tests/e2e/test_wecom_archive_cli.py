"""`steward wecom ingest-archive`: group messages from WeCom's message archive reach the ladder."""
from __future__ import annotations

import json
import shutil

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from core.db.models import Case, OutboxItem
from core.db.session import make_engine, make_sessionmaker
from steward.cli import main

CONFIG = """
groups:
  - platform: wecom
    chat_id: wrTRAIN01
    name: 新员工培训群
    kind: new-hire
    lead: wecom:lily
    admins: [wecom:adam]
    members: [wecom:bob]
"""


def record(msgid: str, sender: str, text: str) -> str:
    return json.dumps({"msgid": msgid, "action": "send", "from": sender, "tolist": ["lily"], "roomid": "wrTRAIN01",
                       "msgtime": 1764070000000, "msgtype": "text", "text": {"content": text}}, ensure_ascii=False)


def test_archive_records_are_moderated_once(tmp_path, sqlite_template):
    db = tmp_path / "steward.db"
    shutil.copy(sqlite_template, db)
    (tmp_path / "steward.yaml").write_text(CONFIG, encoding="utf-8")
    env = {"DATABASE_URL": f"sqlite:///{db}", "STEWARD_CONFIG": str(tmp_path / "steward.yaml"),
           "STEWARD_LOG_LEVEL": "ERROR"}
    lines = "\n".join([record("m1", "bob", "加我微信 zhang_888，课程资料免费送"),
                       record("m2", "bob", "明天几点集合？"),
                       "{not json",
                       json.dumps({"msgid": "m3", "action": "recall", "from": "bob", "roomid": "wrTRAIN01"})]) + "\n"
    result = CliRunner().invoke(main, ["wecom", "ingest-archive", "-"], env=env, input=lines)
    assert result.exit_code == 1 and "ingested 2 group message(s)" in result.output
    assert "line 3: malformed JSON" in result.output
    again = CliRunner().invoke(main, ["wecom", "ingest-archive", "-"], env=env, input=lines.splitlines()[0] + "\n")
    assert again.exit_code == 0 and "0 group message(s), 1 already seen" in again.output

    sessions = make_sessionmaker(make_engine(env["DATABASE_URL"]))
    with sessions() as s:
        [case] = s.scalars(select(Case)).all()
        assert (case.category, case.clause, case.outcome) == ("ads", "R8.1.2", "warning")
        kinds = sorted(o.action["type"] for o in s.scalars(select(OutboxItem)))
    assert kinds == ["post", "private"]   # WeCom cannot delete: nothing to delete for an ad anyway


@pytest.mark.parametrize("text,category,clause", [
    ("你是白癡嗎，講幾次了還不懂", "insult", "R1.3.3"),
    ("Go back to your country if you don't like it here", "discrimination", "R1.3.3"),
    ("Anyone selling fake invoices? Need some for my expense claim", "illegal", "R8.1.1"),
    ("我的身份证号是 110105198503136671，麻烦 HR 帮我登记一下", "dlp", "R8.1.4"),
])
def test_every_category_from_the_archive_reaches_the_ladder(tmp_path, sqlite_template, text, category, clause):
    db = tmp_path / "steward.db"
    shutil.copy(sqlite_template, db)
    (tmp_path / "steward.yaml").write_text(CONFIG, encoding="utf-8")
    env = {"DATABASE_URL": f"sqlite:///{db}", "STEWARD_CONFIG": str(tmp_path / "steward.yaml"),
           "STEWARD_LOG_LEVEL": "ERROR"}
    result = CliRunner().invoke(main, ["wecom", "ingest-archive", "-"], env=env, input=record("m9", "bob", text))
    assert result.exit_code == 0, result.output
    with make_sessionmaker(make_engine(env["DATABASE_URL"]))() as s:
        [case] = s.scalars(select(Case)).all()
        assert (case.category, case.clause) == (category, clause)
        assert "110105198503136671" not in case.evidence
