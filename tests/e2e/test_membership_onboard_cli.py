"""`steward onboard` (R2.1.2), `steward person …` and `steward group add` through the CLI, on both databases."""
from __future__ import annotations

import io

import pytest
from click.testing import CliRunner
from openpyxl import Workbook
from sqlalchemy import func, select

from core.db.models import AuditEntry, Group, Membership, OutboxItem, Person
from core.db.session import make_engine
from steward.cli import main
from tests.conftest import SANDBOX_CONFIG

HEADER = "name,employee id,e-mail,mobile,department,position,hire date,sandbox\n"
GOOD = ("Zhang San,E100,zhang@example.com,+86 138 0000 0001,Sales,Associate,2026-11-30,zhangsan\n"
        "Li Si,E101,li@example.com,13800000002,R&D,Engineer,2026/11/30,lisi\n")


@pytest.fixture
def env(tmp_path, db_url):
    cfg = tmp_path / "steward.yaml"
    cfg.write_text(SANDBOX_CONFIG, encoding="utf-8")
    return {"DATABASE_URL": db_url, "STEWARD_CONFIG": str(cfg), "STEWARD_LOG_LEVEL": "ERROR"}


def run(env, *args):
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def counts(env):
    engine = make_engine(env["DATABASE_URL"])
    try:
        with engine.connect() as c:
            return (c.scalar(select(func.count()).select_from(Person)),
                    c.scalar(select(func.count()).select_from(OutboxItem)),
                    c.scalar(select(func.count()).select_from(Membership).where(
                        Membership.join_reason.like("onboard:%"))))
    finally:
        engine.dispose()


def write(tmp_path, name, text, encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return str(path)


def test_dry_run_shows_exactly_what_would_happen_and_writes_nothing(env, tmp_path):
    path = write(tmp_path, "hires.csv", HEADER + GOOD)
    run(env, "config", "check")
    assert run(env, "person", "show", "sandbox:alice").exit_code == 0      # syncs the config once
    before = counts(env)
    result = run(env, "onboard", path, "--dry-run")
    assert result.exit_code == 0, result.output
    assert "row 2: Zhang San: would create person; would link sandbox:zhangsan; would add to sandbox:new-hires" \
        in result.output
    assert "nothing was written" in result.output
    assert counts(env) == before


def test_onboard_adds_each_new_hire_once_with_the_clause(env, tmp_path):
    path = write(tmp_path, "hires.csv", HEADER + GOOD)
    result = run(env, "onboard", path)
    assert result.exit_code == 0, result.output
    assert "2 group addition(s), 0 row(s) failed" in result.output
    people, outbox, stays = counts(env)
    assert stays == 2
    engine = make_engine(env["DATABASE_URL"])
    with engine.connect() as c:
        invites = [a for a in c.scalars(select(OutboxItem.action)) if a["type"] == "invite"]
        assert sorted(a["user_id"] for a in invites) == ["lisi", "zhangsan"]
        assert c.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "member.admitted", AuditEntry.clause == "R2.1.2")) == 2
        zhang = c.execute(select(Person).where(Person.employee_id == "E100")).one()
        assert (zhang.department, zhang.position, zhang.mobile, str(zhang.hire_date)) == \
            ("Sales", "Associate", "+8613800000001", "2026-11-30")
        cards = [a for a in c.scalars(select(OutboxItem.action)) if a["type"] == "card"]
        assert {a["user_id"] for a in cards} == {"lisi", "zhangsan"}         # the welcome (R3.3)
    engine.dispose()

    again = run(env, "onboard", path)                                        # a safe re-run
    assert again.exit_code == 0 and "0 group addition(s)" in again.output and "already in" in again.output
    assert counts(env) == (people, outbox, stays)


def test_a_broken_file_lists_every_bad_row_and_applies_the_good_ones(env, tmp_path):
    text = HEADER + GOOD + (
        ",E102,,,Sales,Associate,2026-12-01,nameless\n"                       # row 4: missing name
        "Wang Wu,E103,,,Sales,Associate,31.31.2026,wangwu\n"                  # row 5: bad date
        "Zhang San,E100,zhang@example.com,,Sales,Associate,2026-11-30,zhangsan\n"   # row 6: duplicate
        "=HYPERLINK(\"http://x\"),E104,,,Sales,Associate,2026-12-01,evil\n"     # row 7: a formula
        "Zhao Liu,E105,,,Sales,Associate,2026-12-01,\n")                     # row 8: no account anywhere
    result = run(env, "onboard", write(tmp_path, "hires.csv", text))
    assert result.exit_code == 1
    for expected in ("row 4: FAILED missing_name", "row 5: FAILED bad_date", "row 6: FAILED duplicate",
                     "row 7: FAILED formula", "row 8: FAILED unknown_account"):
        assert expected in result.output, result.output
    assert "2 group addition(s), 5 row(s) failed" in result.output
    assert counts(env)[2] == 2


def test_missing_columns_are_named_and_nothing_is_written(env, tmp_path):
    before = counts(env)
    result = run(env, "onboard", write(tmp_path, "hires.csv", "name,e-mail\nZhang,z@example.com\n"))
    assert result.exit_code == 1
    assert "missing column(s) employee id, department, position, hire date" in result.output
    assert counts(env)[1:] == before[1:]


def test_gbk_export_from_chinese_excel(env, tmp_path):
    text = "姓名,工号,部门,职位,入职日期,sandbox\n张三,E200,销售部,专员,2026年11月30日,zhang3\n"
    result = run(env, "onboard", write(tmp_path, "入职.csv", text, encoding="gbk"))
    assert result.exit_code == 0, result.output
    assert "row 2: 张三" in result.output


def test_an_undecodable_or_huge_file_is_refused(env, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_bytes(b"name,employee id\n\x81\x30\xff\xff\n")
    result = run(env, "onboard", str(path))
    assert result.exit_code == 1 and "save it as UTF-8, GBK/GB18030 or Big5" in result.output
    big = tmp_path / "big.csv"
    big.write_bytes(b"x" * (6 * 1024 * 1024))
    result = run(env, "onboard", str(big))
    assert result.exit_code == 1 and "import_max_bytes" in result.output


def test_xlsx_with_a_formula_cell(env, tmp_path):
    book = Workbook()
    sheet = book.active
    sheet.append(["Name", "Employee ID", "Department", "Position", "Hire date", "sandbox"])
    sheet.append(["Chen Qi", "E300", "Sales", "Associate", "2026-11-30", "chenqi"])
    sheet.append(["Boom", "E301", "=1+1", "Associate", "2026-11-30", "boom"])
    buffer = io.BytesIO()
    book.save(buffer)
    path = tmp_path / "hires.xlsx"
    path.write_bytes(buffer.getvalue())
    result = run(env, "onboard", str(path))
    assert result.exit_code == 1
    assert "row 2: Chen Qi" in result.output and "row 3: FAILED formula" in result.output


def test_person_link_show_and_conflict(env, tmp_path):
    assert run(env, "person", "link", "sandbox:alice", "sandbox:alice01").exit_code == 0
    assert run(env, "person", "link", "sandbox:alice", "wecom:alice01").exit_code == 1   # the playground stays apart
    assert run(env, "person", "link", "sandbox:alice", "alice@example.com").exit_code == 0
    assert run(env, "person", "link", "sandbox:bob", "E9").exit_code == 0
    result = run(env, "person", "link", "sandbox:bob", "alice@example.com")
    assert result.exit_code == 1 and "nothing was merged" in result.output
    shown = run(env, "person", "show", "alice@example.com")
    assert shown.exit_code == 0 and "sandbox:alice01" in shown.output and "sandbox:new-hires" in shown.output
    assert "wecom:alice01" not in shown.output
    assert run(env, "person", "show", "nobody@example.com").exit_code == 1
    assert run(env, "person", "link", "not-an-account", "E1").exit_code == 1


def test_person_import_records_without_adding_to_groups(env, tmp_path):
    result = run(env, "person", "import", write(tmp_path, "hires.csv", HEADER + GOOD))
    assert result.exit_code == 0, result.output
    assert counts(env)[2] == 0
    assert "E100" in run(env, "person", "show", "sandbox:zhangsan").output


def test_group_add_registers_an_owned_group_that_survives_the_sync(env):
    result = run(env, "group", "add", "--platform", "sandbox", "--chat-id", "skills-1", "--name", "Skills",
                 "--kind", "skills", "--lead", "sandbox:lily", "--training", "onboarding")
    assert result.exit_code == 0, result.output
    assert run(env, "person", "show", "sandbox:lily").exit_code == 0        # a later start syncs again
    engine = make_engine(env["DATABASE_URL"])
    with engine.connect() as c:
        assert c.scalar(select(Group.active).where(Group.chat_id == "skills-1")) is True
    engine.dispose()
    assert run(env, "group", "add", "--platform", "sandbox", "--chat-id", "skills-1", "--name", "S", "--kind",
               "skills", "--lead", "sandbox:lily").exit_code == 1             # already governed
    bad = run(env, "group", "add", "--platform", "sandbox", "--chat-id", "x", "--name", "S", "--kind", "nope",
              "--lead", "sandbox:lily")
    assert bad.exit_code == 1 and "unknown group kind" in bad.output
    assert run(env, "group", "add", "--platform", "sandbox", "--chat-id", "y", "--name", "S", "--kind",
               "skills", "--lead", "wecom:lily").exit_code == 1


def test_group_create_on_wecom_and_dingtalk_through_their_apis(env):
    from tests.fakes.dingtalk_api import FakeDingTalk
    from tests.fakes.wecom_api import FakeWeCom

    with FakeWeCom() as wecom, FakeDingTalk() as dingtalk:
        full = {**env, **wecom.env(), **dingtalk.env()}
        unknown = run(full, "group", "create", "--platform", "wecom", "--name", "x", "--kind", "new-hire",
                      "--lead", "wecom:lilylead", "--member", "wecom:bobzhang")
        assert unknown.exit_code == 1 and "86007" in unknown.output         # not in WeCom's directory
        wecom.add_user("lilylead", name="Lily")
        wecom.add_user("bobzhang", name="Bob")
        made = run(full, "group", "create", "--platform", "wecom", "--name", "2026 新人群", "--kind", "new-hire",
                   "--lead", "wecom:lilylead", "--member", "wecom:bobzhang", "--training", "onboarding",
                   "--chat-id", "wrNEW2026")
        assert made.exit_code == 0, made.output
        assert wecom.chats["wrNEW2026"].owner == "lilylead"
        assert set(wecom.chats["wrNEW2026"].userlist) == {"lilylead", "bobzhang"}
        made = run(full, "group", "create", "--platform", "dingtalk", "--name", "新人群", "--kind", "new-hire",
                   "--lead", "dingtalk:u_lily", "--member", "dingtalk:u_bob", "--training", "onboarding")
        assert made.exit_code == 0, made.output
        [group] = dingtalk.groups.values()
        assert group.owner == "u_lily" and group.open_conversation_id in made.output
        engine = make_engine(env["DATABASE_URL"])
        with engine.connect() as c:
            rows = c.execute(select(Group.platform, Group.owned, Group.training_id).where(
                Group.platform.in_(("wecom", "dingtalk"))).order_by(Group.platform)).all()
        engine.dispose()
        assert [(p, o) for p, o, _ in rows] == [("dingtalk", True), ("wecom", True)]
        assert len({t for _, _, t in rows}) == 1 and rows[0][2] is not None   # one training, two platforms

        slack = run(full, "group", "create", "--platform", "slack", "--name", "x", "--kind", "new-hire",
                    "--lead", "slack:U1")
        assert slack.exit_code == 1 and "steward group add" in slack.output
        bad = run(full, "group", "create", "--platform", "wecom", "--name", "x", "--kind", "new-hire",
                  "--lead", "dingtalk:u_lily")
        assert bad.exit_code == 1 and "another platform" in bad.output
        assert len(wecom.chats) == 1                                        # nothing was created


def test_group_create_without_the_platform_configured(env):
    result = run(env, "group", "create", "--platform", "wecom", "--name", "x", "--kind", "new-hire",
                 "--lead", "wecom:lily")
    assert result.exit_code == 1 and "not configured" in result.output


def test_reconcile_skips_platforms_that_cannot_list_members(env):
    result = run(env, "reconcile", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "sandbox:new-hires: skipped" in result.output and "0 group(s) reconciled, 2 skipped" in result.output


def test_a_big5_file_of_traditional_chinese_names_is_read_and_the_encoding_printed(env, tmp_path):
    text = "姓名,工號,部門,職位,入職日期,sandbox\n陳大文,E210,資訊部,工程師,2026-11-30,chen\n黃小玲,E211,業務部,專員,2026-11-30,huang\n"
    result = run(env, "onboard", "--dry-run", write(tmp_path, "新進.csv", text, encoding="big5"))
    assert result.exit_code == 0, result.output
    assert "新進.csv: read as Big5" in result.output
    assert "row 2: 陳大文" in result.output and "row 3: 黃小玲" in result.output
    utf8 = run(env, "onboard", "--dry-run", write(tmp_path, "bom.csv", text, encoding="utf-8-sig"))
    assert "bom.csv: read as UTF-8 (with BOM)" in utf8.output and "row 2: 陳大文" in utf8.output


def test_a_row_that_would_move_an_account_is_refused_unless_move_accounts(env, tmp_path):
    # alice is a member of the new-hire group (steward.yaml); HR's row names her account for someone else
    text = HEADER + "Wang Wu,E300,wang@example.com,,Sales,Associate,2026-11-30,alice\n"
    path = write(tmp_path, "move.csv", text)
    dry = run(env, "onboard", "--dry-run", path)
    before = counts(env)
    assert dry.exit_code == 1
    assert "row 2: FAILED move: sandbox:alice belongs to alice" in dry.output and "--move-accounts" in dry.output
    refused = run(env, "onboard", path)
    assert refused.exit_code == 1 and "FAILED move" in refused.output
    assert counts(env) == before
    listed = run(env, "onboard", "--dry-run", "--move-accounts", path)
    assert listed.exit_code == 0 and "would move sandbox:alice (from #" in listed.output
    moved = run(env, "onboard", "--move-accounts", path)
    assert moved.exit_code == 0 and "move sandbox:alice (from #" in moved.output
    engine = make_engine(env["DATABASE_URL"])
    try:
        with engine.connect() as c:
            assert c.scalar(select(func.count()).select_from(AuditEntry).where(
                AuditEntry.action == "identity.moved")) == 1
    finally:
        engine.dispose()
