"""A training's work set, collected, reviewed and graded from the messenger alone, on each platform's real
wire format (chapters 5 and 6), and HR's export checked cell by cell (R6.3.1).

The lead types commands the way the platform carries them (Slack `/steward`, WeCom's 1:1 app chat, a
DingTalk @-mention of the robot with the member @-mentioned too); members submit, answer and ask `my`
in their 1:1 chat with Steward; quiz answers are the cards' buttons. Only HR's export uses the CLI
(`steward grades export`), as HR does.
"""
from __future__ import annotations

import csv
import io

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from core.assessment.models import AssessmentScheme, Remediation, Submission
from core.config import parse_config
from core.db.models import AuditEntry
from steward.cli import main
from tests.conftest import build_container
from tests.e2e.platform_support import SlackSide, WeComSide, group_yaml
from tests.e2e.test_assessment_platforms import click, member_dm, send, when
from tests.e2e.test_week_platforms import says
from webhooks import create_app

MEMBERS = ("bob", "carol", "dave")


@pytest.fixture
def deployment(db_url, clock, side, tmp_path):
    if isinstance(side, SlackSide):      # names from the directory, as on the other two fakes
        for person, user_id in side.users.items():
            side.fake.add_user(user_id, name=person.title(), real_name=person.title())
    text = "locale: en\ngroups:\n" + group_yaml(side, training="onboarding") + "\n"
    container = build_container(db_url, clock, parse_config(text), side.env())
    app = create_app(container)
    app.testing = True
    config = tmp_path / "steward.yaml"
    config.write_text(text, encoding="utf-8")
    cli_env = {**side.env(), "DATABASE_URL": db_url, "STEWARD_CONFIG": str(config), "STEWARD_LOG_LEVEL": "ERROR",
               "STEWARD_FILES_DIR": str(tmp_path / "files")}
    yield container, app.test_client(), cli_env
    container.engine.dispose()


def about(side, person: str, text: str):
    """The lead's command naming a member: `{who}` becomes the platform's way of naming them."""
    user = side.users[person]
    if isinstance(side, SlackSide):
        return side.slash_command(side.users["lead"], text.format(who=f"<@{user}|{person}>"))
    if isinstance(side, WeComSide):
        return side.app_text(side.users["lead"], text.format(who=user))
    return side.robot_message(side.users["lead"], text.format(who=f"@{person.title()}"), at=(user,))


def count(container, model, *where) -> int:
    with container.sessions() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


GOOD = "submit 1 Summary: what I learnt this week. Analysis: the onboarding case, step by step."


def hr(cli_env, *args):
    """HR's own tool: the CLI."""
    result = CliRunner().invoke(main, list(args), env=cli_env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def test_set_collect_review_grade_and_export(side, deployment, clock, tmp_path):
    container, client, cli_env = deployment
    # HR records who the members are (R2.1.2), so the export names them (names, employee ids, departments)
    hires = tmp_path / "people.csv"
    hires.write_text(f"name,employee id,department,position,hire date,{side.platform}\n" + "".join(
        f"{p.title()},E{n},Sales,Trainee,2026-11-02,{side.users[p]}\n" for n, p in enumerate(MEMBERS, start=101)), encoding="utf-8")
    hr(cli_env, "person", "import", str(hires))
    go = lambda wire: send(client, container, clock, wire)   # noqa: E731
    lead = lambda text: go(says(side, "lead", text))         # noqa: E731

    # --- the scheme: weights must sum to 100, published to the group, then locked (R6.2.1, R6.2.2)
    mark = side.mark()
    lead("scheme set exam=30 assignment=50 practical=30")
    assert "add up to 110" in side.told("lead", mark)[-1] and count(container, AssessmentScheme) == 0
    lead("scheme set exam=30 assignment=50 practical=20 pass=60 top=1")
    lead("scheme publish")
    [published] = side.posts(mark)
    assert "R6.2.2" in published.text and "exam" in published.text and "practical" in published.text
    mark = side.mark()
    lead("scheme set exam=40 assignment=40 practical=20")
    assert "locked" in side.told("lead", mark)[-1] and not side.posts(mark)
    lead("scheme set exam=30 assignment=50 practical=20 pass=60 top=1 reason: the practical standard was clarified")
    [notice] = side.posts(mark)
    assert "R6.2.2" in notice.text and "clarified" in notice.text
    assert count(container, AuditEntry, AuditEntry.action == "scheme.changed", AuditEntry.clause == "R6.2.2") == 1

    # --- the assignment: a past due date is refused; a good one is announced in the group (R5.1.1)
    mark = side.mark()
    lead(f"assign title: Week 1 report due: {when(clock, hours=-1)} method: text rubric: Summary* 40, Analysis 60")
    assert "already past" in side.told("lead", mark)[-1] and not side.posts(mark)
    lead(f"assign title: Week 1 report due: {when(clock, days=2)} cutoff: {when(clock, days=3)} method: text "
         "rubric: Summary* 40, Analysis 60 requirements: Summarise the week and analyse one case.")
    [assignment] = side.posts(mark)
    assert "not published" not in side.told("lead", mark)[-1]      # the scheme came first (R6.2.2)
    assert "Week 1 report" in assignment.text and "R5.1.1" in assignment.text and "Summary* 40" in assignment.text

    # --- bob on time; carol's first try lacks a required part and writes nothing (R5.2.1, R5.2.2)
    mark = side.mark()
    go(member_dm(side, "bob", GOOD))
    assert "on time" in side.told("bob", mark)[-1]
    go(member_dm(side, "carol", "submit 1 Analysis only, no summary at all."))
    assert "Summary" in side.told("carol", mark)[-1] and "R5.2.2" in side.told("carol", mark)[-1]
    assert count(container, Submission) == 1

    # --- 24 h before the due date those who have not submitted are reminded privately (R5.2.1)
    mark = side.mark()
    clock.advance(days=1, hours=1)
    go(member_dm(side, "bob", "my"))
    reminded = {p.user for p in side.privates(mark) if "R5.2.1" in p.text and "Week 1 report" in p.text}
    assert reminded == {side.users["carol"], side.users["dave"]}

    # --- carol late; dave after the cut-off is refused, then given an extension by the lead
    clock.advance(days=1)
    mark = side.mark()
    go(member_dm(side, "carol", "submit 1 Summary: late but here. Analysis: the case in brief."))
    assert "late" in side.told("carol", mark)[-1].lower()
    clock.advance(days=1)
    go(member_dm(side, "dave", GOOD))
    assert "cut-off" in side.told("dave", mark)[-1] and count(container, Submission) == 2
    go(about(side, "dave", f"extend {{who}} 1 {when(clock, days=1)}"))
    assert any("R5.2.1" in t for t in side.told("dave", mark))
    go(member_dm(side, "dave", GOOD))
    assert "on time" in side.told("dave", mark)[-1]

    # --- review: a score outside the rubric changes nothing; feedback reaches the member privately (R5.3)
    mark = side.mark()
    go(about(side, "bob", "grade {who} 1 Summary=45 Analysis=45 too generous"))
    assert "0-40" in side.told("lead", mark)[-1]
    go(about(side, "bob", "grade {who} 1 Summary=36 Analysis=54 Clear summary; cite one source per claim."))
    feedback = side.told("bob", mark)[-1]
    assert "90/100" in feedback and "cite one source" in feedback and "R5.3.2" in feedback
    go(about(side, "carol", "grade {who} 1 40 Analysis is thin: go deeper into one case."))
    go(about(side, "dave", "grade {who} 1 70 Good; add a summary heading next time."))
    mark = side.mark()
    lead("progress 1")
    assert "3/3 submitted, 1 late, 3 graded" in side.told("lead", mark)[-1]

    # --- a quiz on cards (a text answer where the member prefers), one answer per question (R6.1.1)
    lead("quiz title: Safety Q: The fire exit sign is green | true* Q: Where do visitors sign in? | Lobby* | Canteen")
    mark = side.mark()
    go(click(side, "bob", "assessment.answer", "1.1.1"))
    go(click(side, "bob", "assessment.answer", "1.2.1"))
    go(click(side, "bob", "assessment.answer", "1.2.2"))
    assert "already answered" in side.told("bob", mark)[-1]
    go(member_dm(side, "carol", "choose 1.1 F"))
    go(click(side, "dave", "assessment.answer", "1.1.1"))
    go(click(side, "dave", "assessment.answer", "1.2.1"))
    mark = side.mark()
    clock.advance(days=1, hours=1)                 # the quiz closes: each participant hears the score
    go(member_dm(side, "bob", "my"))
    assert any("100.0" in t and "Safety" in t for t in side.told("bob", mark))

    # --- practical scores, grades, honours with consent (R6.1.1, R6.3.1, R6.3.2)
    for person, score in (("bob", 80), ("carol", 50), ("dave", 90)):
        go(about(side, person, f"score {{who}} practical {score}"))
    mark = side.mark()
    lead("grades")
    ranking = side.told("lead", mark)[-1].splitlines()
    # bob 30 + 45 + 16 = 91; dave 30 + 35 + 18 = 83; carol 0 + 20 + 10 = 30
    assert "1. Bob: 91.0" in ranking[1] and "2. Dave: 83.0" in ranking[2] and "below the pass mark" in ranking[3]
    go(member_dm(side, "bob", "consent yes"))
    mark = side.mark()
    lead("honours")
    assert any("Bob (91.0)" in p.text and "R6.3.2" in p.text for p in side.posts(mark))

    # --- below the pass mark: a make-up with a deadline and an attempt limit, passed on the 2nd try (R6.3.2)
    mark = side.mark()
    lead(f"makeup {when(clock, days=7)[:10]} attempts=2")
    members = {side.users[p] for p in MEMBERS}
    assert [p.user for p in side.privates(mark) if "make-up" in p.text and p.user in members] == [side.users["carol"]]
    go(about(side, "carol", "score {who} makeup 55"))
    mark = side.mark()
    go(about(side, "carol", "score {who} makeup 72"))
    assert "passed" in side.told("carol", mark)[-1]
    with container.sessions() as s:
        assert s.scalars(select(Remediation.status)).all() == ["passed"]

    # --- every member knows where they stand
    mark = side.mark()
    go(member_dm(side, "carol", "my"))
    mine = side.told("carol", mark)[-1]
    assert "#1 Week 1 report" in mine and "late" in mine and "score 40/100" in mine and "go deeper" in mine
    assert "make-up" in mine.lower() and "no violations on record" in mine

    # --- HR's export, cell by cell (R6.3.1)
    table = list(csv.reader(io.StringIO(hr(cli_env, "grades", "export", "onboarding", "--format", "csv"))))
    account = {p: f"{side.platform}:{side.users[p]}" for p in MEMBERS}
    assert table == [
        ["rank", "name", "employee_id", "department", "group", "account", "exam (30%)", "assignment (50%)",
         "practical (20%)", "total", "pass_mark", "result", "complete", "honours", "remediation",
         "remediation_status", "remediation_attempts", "remediation_best"],
        ["1", "Bob", "E101", "Sales", side.group_name, account["bob"], "100.0", "90.0", "80.0", "91.0", "60.0", "pass",
         "yes", "yes", "", "", "", ""],
        ["2", "Dave", "E103", "Sales", side.group_name, account["dave"], "100.0", "70.0", "90.0", "83.0", "60.0", "pass",
         "yes", "no", "", "", "", ""],
        ["3", "Carol", "E102", "Sales", side.group_name, account["carol"], "0.0", "40.0", "50.0", "30.0", "60.0", "pass",
         "yes", "no", "makeup", "passed", "2", "72.0"],
    ]
