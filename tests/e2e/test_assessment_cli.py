"""`steward scheme set|show|publish` and `steward grades export`: clear errors, exit codes, nothing
half-written (R6.2.1, R6.2.2, R6.3.1)."""
from __future__ import annotations

import csv
import io

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook
from sqlalchemy import func, select

from core.assessment.models import AssessmentScheme
from core.config import parse_config
from core.db.models import AuditEntry, OutboxItem
from core.db.session import make_engine, make_sessionmaker
from steward.cli import main
from tests.conftest import build_container
from tests.e2e.test_assessment_sandbox import CONFIG

SCHEME = """
pass_mark: 60
honours: {top: 3, threshold: 90}
components:
  - {key: exam, kind: exam, weight: 40, standard: "quizzes in the chat, percentage of points"}
  - {key: homework, kind: assignment, weight: 40, standard: "rubric per assignment"}
  - {key: practical, kind: practical, weight: 20, standard: "0-100 by the reviewers"}
"""


@pytest.fixture
def env(tmp_path, sqlite_url, clock):
    container = build_container(sqlite_url, clock, parse_config(CONFIG))   # the training comes from the file
    container.engine.dispose()
    cfg = tmp_path / "steward.yaml"
    cfg.write_text(CONFIG, encoding="utf-8")
    return {"DATABASE_URL": sqlite_url, "STEWARD_CONFIG": str(cfg), "STEWARD_LOG_LEVEL": "ERROR"}


def run(env, *args):
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def rows(env, model, *where):
    engine = make_engine(env["DATABASE_URL"])
    with make_sessionmaker(engine)() as s:
        n = s.scalar(select(func.count()).select_from(model).where(*where))
    engine.dispose()
    return n


def test_scheme_set_show_publish_and_locked(env, tmp_path):
    path = tmp_path / "scheme.yaml"
    path.write_text(SCHEME, encoding="utf-8")
    result = run(env, "scheme", "set", "onboarding", str(path), "--dry-run")
    assert result.exit_code == 0 and "nothing changed" in result.output
    assert rows(env, AssessmentScheme) == 0
    result = run(env, "scheme", "set", "onboarding", str(path))
    assert result.exit_code == 0 and "homework (assignment) 40%" in result.output
    assert run(env, "scheme", "show", "onboarding").output.count("%") == 3
    result = run(env, "scheme", "publish", "onboarding")
    assert result.exit_code == 0
    assert rows(env, OutboxItem) == 2   # the scheme, posted to both groups of the training
    result = run(env, "scheme", "set", "onboarding", str(path))
    assert result.exit_code == 1 and "locked" in result.output
    result = run(env, "scheme", "set", "onboarding", str(path), "--reason", "typo in a standard")
    assert result.exit_code == 0
    assert rows(env, AuditEntry, AuditEntry.action == "scheme.changed", AuditEntry.clause == "R6.2.2") == 1
    assert rows(env, OutboxItem) == 4   # the change notice, in both groups


@pytest.mark.parametrize("text,expected", [
    (SCHEME.replace("weight: 20", "weight: 30"), "add up to 110"),
    (SCHEME.replace("kind: practical", "kind: karaoke"), "not a kind of component"),
    (SCHEME.replace('standard: "0-100 by the reviewers"', 'standard: ""'), "needs a scoring standard"),
    ("pass_mark: 60\n", "at least one component"),
    ("components: [\n", "not valid YAML"),
])
def test_bad_scheme_files_change_nothing(env, tmp_path, text, expected):
    path = tmp_path / "scheme.yaml"
    path.write_text(text, encoding="utf-8")
    result = run(env, "scheme", "set", "onboarding", str(path))
    assert result.exit_code == 1 and expected in result.output
    assert rows(env, AssessmentScheme) == 0


def test_grades_export_csv_xlsx_and_transcripts(env, tmp_path):
    path = tmp_path / "scheme.yaml"
    path.write_text(SCHEME, encoding="utf-8")
    run(env, "scheme", "set", "onboarding", str(path))
    result = run(env, "grades", "export", "onboarding")
    assert result.exit_code == 0
    table = list(csv.reader(io.StringIO(result.stdout)))
    assert table[0][6:9] == ["exam (40%)", "homework (40%)", "practical (20%)"]
    assert sorted(r[1] for r in table[1:]) == ["alice", "bob", "carol", "dave"]
    out = tmp_path / "grades.xlsx"
    result = run(env, "grades", "export", "onboarding", "--format", "xlsx", "-o", str(out))
    assert result.exit_code == 0 and load_workbook(out).sheetnames[0] == "Grades"
    folder = tmp_path / "transcripts"
    result = run(env, "grades", "export", "onboarding", "-o", str(tmp_path / "g.csv"), "--transcripts", str(folder))
    assert result.exit_code == 0 and len(list(folder.glob("*.csv"))) == 4


def test_grades_export_of_an_unknown_training_fails_clearly(env, tmp_path):
    result = run(env, "grades", "export", "nope")
    assert result.exit_code == 1 and "no training 'nope'" in result.output
    result = run(env, "grades", "export", "onboarding", "--format", "xlsx")
    assert result.exit_code == 2 and "--output" in result.output
    result = run(env, "scheme", "publish", "onboarding")
    assert result.exit_code == 1 and "no assessment scheme" in result.output


QUIZ = """
title: Safety basics
limit: 15
questions:
  - {text: Exits are green, answer: true}
  - {text: "Where do visitors sign in?", options: [Lobby, Canteen, Roof], answer: Lobby}
  - {text: "Who may remove a member?", options: [anyone, an admin], answer: B, points: 2}
"""


def test_quiz_add_from_a_file(env, tmp_path):
    from core.assessment.models import Quiz
    path = tmp_path / "quiz.yaml"
    path.write_text(QUIZ, encoding="utf-8")
    result = run(env, "quiz", "add", "onboarding", str(path), "--author", "sandbox:lily", "--dry-run")
    assert result.exit_code == 0 and "3 question(s); nothing changed" in result.output, result.output
    assert rows(env, Quiz) == 0 and rows(env, OutboxItem) == 0
    result = run(env, "quiz", "add", "onboarding", str(path), "--author", "sandbox:lily")
    assert result.exit_code == 0 and "quiz 1" in result.output
    assert rows(env, OutboxItem) == 2 + 4 * 3   # the notice in both groups, 3 cards to each of 4 members


@pytest.mark.parametrize("text,author,expected", [
    (QUIZ, "sandbox:bob", "is not a lead"),
    (QUIZ.replace("answer: Lobby", "answer: Moon"), "sandbox:lily", "needs 2-6 options"),
    (QUIZ.replace("answer: true}", "answer: maybe}"), "sandbox:lily", "needs 2-6 options"),
    ("title: X\nquestions: []\n", "sandbox:lily", "needs questions"),
    (QUIZ.replace("limit: 15", "limit: 0"), "sandbox:lily", "not a time limit"),
    ("title: X\nfoo: 1\n", "sandbox:lily", "expected the keys"),
])
def test_bad_quiz_files_change_nothing(env, tmp_path, text, author, expected):
    from core.assessment.models import Quiz
    path = tmp_path / "quiz.yaml"
    path.write_text(text, encoding="utf-8")
    result = run(env, "quiz", "add", "onboarding", str(path), "--author", author)
    assert result.exit_code == 1 and expected in result.output
    assert rows(env, Quiz) == 0
