"""The `steward` CLI: clear messages and exit codes, never a traceback."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from steward.cli import main

ROOT = Path(__file__).parents[2]


@pytest.fixture
def env(tmp_path, sqlite_template):
    db = tmp_path / "steward.db"
    shutil.copy(sqlite_template, db)
    cfg = tmp_path / "steward.yaml"
    shutil.copy(ROOT / "steward.yaml", cfg)
    return {"DATABASE_URL": f"sqlite:///{db}", "STEWARD_CONFIG": str(cfg), "STEWARD_LOG_LEVEL": "ERROR"}


def run(env, *args, input=None):
    result = CliRunner().invoke(main, list(args), env=env, input=input, catch_exceptions=False)
    return result


def test_every_command_has_help():
    for args in (["--help"], ["serve", "--help"], ["worker", "--help"], ["db", "upgrade", "--help"],
                 ["config", "check", "--help"], ["sandbox", "--help"], ["audit", "export", "--help"]):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 0 and "Usage" in result.output, args


def test_config_check_ok_with_the_shipped_file(env):
    result = run(env, "config", "check")
    assert result.exit_code == 0, result.output
    assert "ok: Steward can start" in result.output and "sandbox: configured" in result.output
    assert "slack: not used" in result.output


def test_config_check_names_a_files_dir_it_cannot_write(env, tmp_path):
    env["STEWARD_FILES_DIR"] = str(tmp_path / "files")
    assert "files: " in run(env, "config", "check").output and "writable" in run(env, "config", "check").output
    (tmp_path / "blocker").write_text("a file, not a folder")
    env["STEWARD_FILES_DIR"] = str(tmp_path / "blocker" / "files")
    result = run(env, "config", "check")
    assert result.exit_code == 1 and "STEWARD_FILES_DIR" in result.output


@pytest.mark.parametrize("name,value", [("STEWARD_CONSOLE_IDLE_MINUTES", "thirty"),
                                        ("STEWARD_CONSOLE_MAX_HOURS", "0"), ("STEWARD_CONSOLE_MAX_HOURS", "10000")])
def test_config_check_names_a_console_session_length_it_cannot_use(env, name, value):
    env[name] = value
    result = run(env, "config", "check")
    assert result.exit_code == 1 and f"{name}: a whole number from 1 to" in result.output and repr(value) in result.output


def test_config_check_names_a_spool_dir_it_cannot_write(env, tmp_path):
    env["STEWARD_SPOOL_DIR"] = str(tmp_path / "spool")
    result = run(env, "config", "check")
    assert result.exit_code == 0 and f"spool: {tmp_path / 'spool'} writable" in result.output
    (tmp_path / "blocker").write_text("a file, not a folder")
    env["STEWARD_SPOOL_DIR"] = str(tmp_path / "blocker" / "spool")
    result = run(env, "config", "check")
    assert result.exit_code == 1 and "STEWARD_SPOOL_DIR: cannot write the spool there" in result.output


def test_config_check_names_the_bad_key(env, tmp_path):
    Path(env["STEWARD_CONFIG"]).write_text("locale: fr\n", encoding="utf-8")
    result = run(env, "config", "check")
    assert result.exit_code == 1 and "locale" in result.output and ":1:" in result.output


def test_config_check_missing_file(env, tmp_path):
    env["STEWARD_CONFIG"] = str(tmp_path / "nope.yaml")
    result = run(env, "config", "check")
    assert result.exit_code == 1 and "file not found" in result.output


SLACK_ONLY = """
groups:
  - platform: slack
    chat_id: C0TRAIN01
    name: Slack group
    kind: new-hire
    lead: slack:U0LEAD01
    admins: [slack:U0ADMIN1]
"""


def test_config_check_missing_secrets_for_a_used_platform(env):
    Path(env["STEWARD_CONFIG"]).write_text(SLACK_ONLY, encoding="utf-8")
    result = run(env, "config", "check")
    assert result.exit_code == 1
    assert "SLACK_SIGNING_SECRET" in result.output and "SLACK_BOT_TOKEN" in result.output


def test_config_check_a_set_variable_enables_its_platform(env):
    env["SLACK_BOT_TOKEN"] = "xoxb-1"
    result = run(env, "config", "check")
    assert result.exit_code == 1 and "SLACK_SIGNING_SECRET" in result.output


def test_config_check_unreachable_database(env):
    env["DATABASE_URL"] = "postgresql://nobody@127.0.0.1:1/none"
    result = run(env, "config", "check")
    assert result.exit_code == 1 and "cannot reach the database" in result.output


def test_config_check_bad_database_url(env):
    env["DATABASE_URL"] = "notadb://x"
    result = run(env, "config", "check")
    assert result.exit_code == 1 and "DATABASE_URL" in result.output


def test_config_check_unmigrated_database(env, tmp_path):
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'empty.db'}"
    result = run(env, "config", "check")
    assert result.exit_code == 1 and "steward db upgrade" in result.output


def test_db_upgrade_then_current(env, tmp_path):
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'fresh.db'}"
    assert run(env, "db", "upgrade").exit_code == 0
    result = run(env, "db", "current")
    from core.db.migrate import head_revision
    from core.db.session import make_engine

    head = head_revision(make_engine(env["DATABASE_URL"]))
    assert result.exit_code == 0 and f"database: {head}; code: {head}" in result.output


def test_db_upgrade_unreachable_database_is_a_clear_error(env):
    env["DATABASE_URL"] = "postgresql://nobody@127.0.0.1:1/none"
    result = run(env, "db", "upgrade")
    assert result.exit_code == 1 and "cannot reach the database" in result.output


def test_serve_refuses_an_unmigrated_database(env, tmp_path):
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'empty.db'}"
    result = run(env, "serve", "--port", "1")
    assert result.exit_code == 1 and "steward db upgrade" in result.output


def test_serve_refuses_missing_secrets(env):
    env["WECOM_CORP_ID"] = "ww1"
    result = run(env, "serve")
    assert result.exit_code == 1 and "WECOM_SECRET" in result.output


def test_sandbox_shell_walks_the_ladder_and_audit_export(env, tmp_path):
    script = "\n".join([
        "/as adam",
        "@steward warn @bob R8.1.2 ads",
        "@steward warn @bob ads again",
        "/dm",
        "@steward revoke C000002 appeal accepted",
        "/audit",
        "/quit",
    ]) + "\n"
    result = run(env, "sandbox", input=script)
    assert result.exit_code == 0, result.output
    out = result.output
    assert "R8.2.1" in out and "R8.2.2" in out and "removed" in out and "invited" in out
    assert "case.revoked" in out

    target = tmp_path / "audit.jsonl"
    result = run(env, "audit", "export", "-o", str(target))
    assert result.exit_code == 0
    rows = [json.loads(line) for line in target.read_text("utf-8").splitlines()]
    assert [r["action"] for r in rows if r["action"].startswith("case.")] == \
        ["case.warning", "case.removal", "case.revoked"]
    assert all(r["clause"] for r in rows if r["action"].startswith("case."))

    result = run(env, "audit", "export", "--format", "csv", "--since", "2999-01-01")
    assert result.exit_code == 0 and result.stdout.splitlines()[0].startswith("id,at,actor")


def test_sandbox_shell_emulating_wecom_cannot_see_plain_messages(env):
    result = run(env, "sandbox", "--emulate", "wecom", "--as", "bob", input="buy my course, add me\n/quit\n")
    assert result.exit_code == 0 and "cannot see this message" in result.output


def test_audit_export_to_an_unwritable_place(env, tmp_path):
    result = run(env, "audit", "export", "-o", str(tmp_path / "missing-dir" / "a.jsonl"))
    assert result.exit_code != 0


def test_a_database_failure_mid_command_is_a_clear_error_not_a_traceback(env):
    """A damaged database (the audit table is gone) fails the export with a message and exit 1."""
    import sqlite3

    with sqlite3.connect(env["DATABASE_URL"].removeprefix("sqlite:///")) as conn:
        conn.execute("DROP TABLE audit_log")
    result = run(env, "audit", "export")
    assert result.exit_code == 1
    assert "database error: no such table: audit_log" in result.output and "Traceback" not in result.output


WECOM_AIBOT = """
groups:
  - platform: wecom
    chat_id: wrTRAIN01
    aibot_chat_id: wrkAIBOTCHAT01
    name: WeCom group
    kind: new-hire
    lead: wecom:lilylead
    admins: [wecom:wangadmin]
  - platform: wecom
    chat_id: wrTRAIN02
    name: WeCom group without a mapping
    kind: new-hire
    lead: wecom:lilylead
    admins: [wecom:wangadmin]
"""


def test_config_check_shows_the_wecom_ai_bot_and_its_chat_mapping(env):
    from tests.fakes.wecom_api import FakeWeCom
    Path(env["STEWARD_CONFIG"]).write_text(WECOM_AIBOT, encoding="utf-8")
    fake = FakeWeCom()
    env.update({"WECOM_CORP_ID": fake.corp_id, "WECOM_AGENT_ID": "1000002", "WECOM_SECRET": "s",
                "WECOM_TOKEN": fake.CALLBACK_TOKEN, "WECOM_ENCODING_AES_KEY": fake.CALLBACK_AES_KEY,
                "WECOM_AIBOT_TOKEN": fake.AIBOT_TOKEN, "WECOM_AIBOT_ENCODING_AES_KEY": fake.AIBOT_AES_KEY})
    result = run(env, "config", "check")
    assert result.exit_code == 0, result.output
    assert "✓ WECOM_AIBOT_TOKEN set" in result.output and "- WECOM_AIBOT_NAME not set" in result.output
    assert "wecom wrTRAIN01: AI bot @-mentions arrive from chatid wrkAIBOTCHAT01" in result.output
    assert "! wecom wrTRAIN02: no aibot_chat_id" in result.output
    del env["WECOM_AIBOT_ENCODING_AES_KEY"]
    result = run(env, "config", "check")
    assert result.exit_code == 1 and "WECOM_AIBOT_ENCODING_AES_KEY is not set" in result.output


@pytest.mark.parametrize("line, problem", [
    ("    aibot_chat_id: has space", "aibot_chat_id"),
    ("    aibot_chat_id: wrTRAIN02", "names another group too"),
])
def test_config_check_refuses_a_bad_aibot_chat_id(env, line, problem):
    text = WECOM_AIBOT.replace("    aibot_chat_id: wrkAIBOTCHAT01", line)
    Path(env["STEWARD_CONFIG"]).write_text(text, encoding="utf-8")
    result = run(env, "config", "check")
    assert result.exit_code == 1 and problem in result.output, result.output


def test_config_check_refuses_an_aibot_chat_id_off_wecom(env):
    Path(env["STEWARD_CONFIG"]).write_text(SLACK_ONLY + "    aibot_chat_id: wrkX\n", encoding="utf-8")
    result = run(env, "config", "check")
    assert result.exit_code == 1 and "aibot_chat_id: slack groups have no second chat id" in result.output
