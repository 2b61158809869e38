"""Who may see or act in a group, for every command in the registry (issue 12, findings 2 and 9).

The table below classifies every command Steward knows; a command missing from it fails the test, so a new
command is classified before it ships. Each command runs for every role (admin, lead, instructor, reviewer,
hr, member) held in the group, for the same role held only in another group, and for an outsider; typed in
the group's chat and in a 1:1 chat naming it with in:GROUP. A refusal writes a `command.refused` audit
entry and is answered privately; anything else is not refused. Naming the group with in:GROUP from a 1:1
chat lets nobody outside it through, whatever the command's scope, except a command that may name any group
(`join`). Each run is rolled back, so every row starts from the same state.
"""
from __future__ import annotations

import re
from contextlib import contextmanager

import pytest
from sqlalchemy import event, func, select

from core.config import parse_config
from core.db.models import AuditEntry, OutboxItem, Role
from core.events import CommandInvoked
from core.kernel.directory import account_for, group_for
from core.kernel.inbound import ingest
from core.kernel.runner import CommandRunner, Invocation
from core.kernel.spec import ITEM, OPEN
from steward.features import all_features
from tests.conftest import build_container

ROLES = ("admin", "lead", "instructor", "reviewer", "hr", "member")

CONFIG = """
locale: en
templates:
  course:
    discipline: {warnings_before_removal: 3, removal: confirm, warning_expiry_days: 180}
groups:
  - platform: sandbox
    chat_id: g-chat
    name: The group
    kind: course
    training: train-g
    lead: sandbox:g-lead
    admins: [sandbox:g-admin]
    instructors: [sandbox:g-instructor]
    reviewers: [sandbox:g-reviewer]
    members: [sandbox:g-member, sandbox:g-hr, sandbox:g-other]
  - platform: sandbox
    chat_id: h-chat
    name: Another group
    kind: course
    training: train-h
    lead: sandbox:h-lead
    admins: [sandbox:h-admin]
    instructors: [sandbox:h-instructor]
    reviewers: [sandbox:h-reviewer]
    members: [sandbox:h-member, sandbox:h-hr]
"""

TEACHING = {"admin", "lead", "instructor"}
STAFF = TEACHING | {"reviewer", "hr"}
EVERYONE = STAFF | {"member"}
ANYBODY = set(ROLES) | {None}        # held anywhere, or nowhere (the outsider)

# command -> (text typed, roles held in the group that are NOT refused, roles held only in the other group
# that are not refused either when typed in the group's chat: the organisation-level commands; naming the
# group with in:GROUP, they are refused unless the command may name any group). The member is "g-member", the target of
# every command about a member is "g-member" too; items (case, announcement, question, material, feedback,
# assignment, quiz) number 1 and live in the group (see `_items`).
TABLE: dict[str, tuple[str, set[str], set[str]]] = {
    "help": ("help", EVERYONE, ANYBODY),
    "rules": ("rules", EVERYONE, set()),
    "record": ("record <@g-other>", {"admin", "lead", "hr"}, set()),      # another member's record
    "warn": ("warn <@g-member> spam", TEACHING, set()),
    "remove": ("remove <@g-member> spam", {"admin"}, set()),
    "revoke": ("revoke C1 a mistake", {"admin"}, set()),
    "appeal": ("appeal C1 it was not me", {"member"}, set()),
    "approve": ("approve C1", {"admin"}, set()),
    "reject": ("reject C1", {"admin"}, set()),
    "reject-appeal": ("reject-appeal C1 the evidence stands", {"admin"}, set()),
    "lexicon": ("lexicon list severe", {"admin"}, set()),
    "announce": ("announce topic: Intro time: 2026-11-20 10:00 points: basics", {"admin", "lead"}, set()),
    "seen": ("seen 1", EVERYONE, set()),
    "change": ("change 1 content new points", {"admin", "lead"}, set()),
    "unseen": ("unseen 1", {"admin", "lead"}, set()),
    "schedule": ("schedule", EVERYONE, set()),
    "notices": ("notices", EVERYONE, set()),
    "ask": ("ask what is the budget?", EVERYONE, set()),
    "answer": ("answer 1 it is five", TEACHING, set()),
    "questions": ("questions", EVERYONE, set()),
    "share": ("share https://docs.example.com/guide Guide", EVERYONE, set()),
    "approve-material": ("approve-material 1 fine", {"admin", "lead"}, set()),      # R7.2.2: the lead
    "reject-material": ("reject-material 1 off topic", {"admin", "lead"}, set()),
    "materials": ("materials", EVERYONE, set()),
    "feedback": ("feedback a good session", EVERYONE, set()),
    "feedback-note": ("feedback-note F1 read", {"admin"}, set()),
    "search": ("search budget", EVERYONE, set()),
    "join": ("join", EVERYONE, ANYBODY),
    "recommend": ("recommend <@g-other> strong results", {"admin", "lead", "hr"}, set()),
    "link": ("link <@g-member> sandbox:g-member-2", {"admin", "hr"}, {"admin", "hr"}),
    "leave": ("leave moving on", EVERYONE, set()),
    "ack": ("ack", EVERYONE, set()),
    "acks": ("acks", {"admin", "lead"}, set()),
    "assign": ("assign title: Report due: 2026-11-20 10:00", TEACHING, set()),
    "extend": ("extend <@g-member> 1 2026-11-25 10:00", TEACHING, set()),
    "submit": ("submit 1 https://docs.example.com/mine", {"member"}, set()),
    "reopen": ("reopen <@g-member> 1 please redo", TEACHING | {"reviewer"}, set()),
    "my": ("my", EVERYONE, ANYBODY),
    "reviews": ("reviews", EVERYONE, ANYBODY),
    "grade": ("grade <@g-member> 1 80 fine", TEACHING | {"reviewer"}, set()),
    "progress": ("progress 1", STAFF, set()),
    "scheme": ("scheme show", EVERYONE, set()),
    "quiz": ("quiz title: Check closes: 2026-11-20 10:00 Q: Ready? | yes* | no", TEACHING, set()),
    "choose": ("choose 1.1 a", {"member"}, set()),
    "score": ("score <@g-member> exam 80", TEACHING | {"reviewer"}, set()),
    "grades": ("grades", TEACHING | {"hr"}, set()),
    "honours": ("honours", TEACHING, set()),
    "consent": ("consent yes", EVERYONE, ANYBODY),
    "makeup": ("makeup", TEACHING, set()),
    "tutoring": ("tutoring", TEACHING, set()),
    "report": ("report <@g-other> spam", EVERYONE, set()),               # R2.3.3: any member of the group
    "queue": ("queue", {"admin"}, set()),                                # R7.2.2: the group's admins
    "review": ("review 1 dismiss", {"admin"}, set()),                    # item 1: the held share of `_items`
}

ACTORS = [(f"g-{r}", r, True) for r in ROLES] + [(f"h-{r}", r, False) for r in ROLES] + [("outsider", None, False)]
WHERE = ("typed in the group", "1:1 with in:GROUP")


@pytest.fixture(scope="module")
def world(tmp_path_factory, sqlite_template):
    import shutil

    from core.clock import FrozenClock
    from tests.conftest import T0
    path = tmp_path_factory.mktemp("authz") / "steward.db"
    shutil.copy(sqlite_template, path)
    container = build_container(f"sqlite:///{path}", FrozenClock(T0), parse_config(CONFIG))
    ctx = container.ctx
    with container.sessions.begin() as s:
        for chat, name in (("g-chat", "g-hr"), ("h-chat", "h-hr")):   # hr is organisation-wide in steward.yaml;
            group = group_for(s, "sandbox", chat)                     # here it is held in one group
            s.add(Role(person_id=account_for(s, "sandbox", name, ctx.clock.now()).person_id, role="hr",
                       group_id=group.id, source="test", created_at=ctx.clock.now()))
        account_for(s, "sandbox", "outsider", ctx.clock.now())
    _items(ctx)
    yield container
    container.engine.dispose()


def _items(ctx) -> None:
    """Case C1, announcement 1, question 1, material 1, feedback F1, assignment 1 and quiz 1, all in the group."""
    for n, (user, text) in enumerate([
            ("g-lead", "warn <@g-member> first"),
            ("g-lead", "announce topic: Intro time: 2026-11-20 10:00 points: basics"),
            ("g-member", "ask what is the budget?"),
            ("g-member", "share https://docs.example.com/notes Notes"),
            ("g-member", "feedback the pace was good"),
            ("g-lead", "assign title: Report due: 2026-11-20 10:00"),
            ("g-lead", "quiz title: Check closes: 2026-11-20 10:00 Q: Ready? | yes* | no")]):
        ingest(ctx, CommandInvoked(platform="sandbox", event_id=f"setup-{n}", user_id=user, text=text,
                                   chat_id="g-chat", is_direct=False))
    with ctx.sessions() as s:
        from core.assessment.models import Assignment, Quiz
        from core.training.models import Announcement, Feedback, Material, Question
        assert [s.scalar(select(func.count()).select_from(m)) for m in
                (Announcement, Question, Material, Feedback, Assignment, Quiz)] == [1, 1, 1, 1, 1, 1]


def test_every_command_is_classified():
    specs = all_features().grammar.specs
    assert set(specs) == set(TABLE), ("classify the new commands in TABLE", set(specs) ^ set(TABLE))


def _run(ctx, actor: str, text: str, where: str, n: int, named: str = "g-chat") -> tuple[list[dict], list[dict]]:
    with ctx.sessions() as s:
        before = s.scalar(select(func.max(AuditEntry.id))) or 0
        outbox = s.scalar(select(func.max(OutboxItem.id))) or 0
        if where == WHERE[0]:
            inv = Invocation("sandbox", f"authz-{n}", actor, text, "g-chat", False)
        else:
            inv = Invocation("sandbox", f"authz-{n}", actor, f"{text} in:{named}", None, True)
        CommandRunner(ctx, s).run(inv)
        s.flush()
        refused = [dict(e.detail) for e in s.scalars(select(AuditEntry).where(
            AuditEntry.id > before, AuditEntry.action == "command.refused"))]
        sent = [row.action for row in s.scalars(select(OutboxItem).where(OutboxItem.id > outbox))]
        s.rollback()
    return refused, sent


@pytest.mark.parametrize("name", sorted(TABLE))
def test_who_may_use_each_command(world, name):
    ctx = world.ctx
    text, in_group, elsewhere = TABLE[name]
    spec = ctx.features.grammar.specs[name]
    wrong = []
    n = 0
    for actor, role, of_group in ACTORS:
        for where in WHERE:
            n += 1
            refused, sent = _run(ctx, actor, text, where, hash((name, n)) & 0xFFFFFF)
            refused = [e for e in refused if e.get("reason") != "input"]   # let through, the input refused
            expected_ok = (role in in_group) if of_group else (
                role in elsewhere and (where == WHERE[0] or spec.any_group or spec.scope == ITEM))
            if expected_ok == bool(refused):
                wrong.append((actor, where, "refused" if refused else "let through",
                              [a.get("text", "")[:90] for a in sent]))
                continue
            if refused:
                assert all(e.get("command") == name for e in refused)
                assert all(a["type"] != "post" for a in sent), (actor, where, sent)   # answered privately
    assert not wrong, (name, spec.scope, wrong)


def test_outsider_reads_nothing_of_the_group(world):
    """Finding 2: search, questions, notices, schedule and materials from a 1:1 chat with in:GROUP."""
    ctx = world.ctx
    for n, text in enumerate(("search budget", "questions", "notices", "schedule", "materials")):
        for actor in ("outsider", "h-member", "h-admin"):
            refused, sent = _run(ctx, actor, text, WHERE[1], 900000 + n)
            assert refused and all("budget" not in a.get("text", "") and "Intro" not in a.get("text", "")
                                   and "Notes" not in a.get("text", "") for a in sent), (actor, text, sent)


@pytest.mark.parametrize("name", sorted(n for n, (_, ok, _) in TABLE.items()
                                        if all_features().grammar.specs[n].scope == ITEM))
def test_an_item_that_exists_and_one_that_does_not_are_refused_alike(world, name):
    """Finding 9, permission before existence: whoever may not act on item 1 is answered exactly as for an
    item that does not exist (999999), and both refusals are audited."""
    ctx = world.ctx
    text = TABLE[name][0]
    missing = text.replace("C1", "C999999").replace(" 1 ", " 999999 ").replace(" 1.1", " 999999.1") \
        .replace("F1", "F999999")
    if text.endswith(" 1"):
        missing = text[:-2] + " 999999"
    assert missing != text
    for actor in ("outsider", "h-admin", "h-lead", "h-member"):
        for where in WHERE:
            refused_a, sent_a = _run(ctx, actor, text, where, 700000)
            refused_b, sent_b = _run(ctx, actor, missing, where, 700001)
            assert refused_a and refused_b, (actor, where, sent_a, sent_b)
            def same(sent):
                return [re.sub(r"C0*(\d)", r"C\1", a.get("text", "")).replace("999999", "1") for a in sent]
            assert same(sent_a) == same(sent_b), (actor, where, sent_a, sent_b)


@contextmanager
def _statements(engine):
    """Counts the SQL statements run inside the block (a list, so it can be read after the block)."""
    seen: list[str] = []

    def count(conn, cursor, statement, *args) -> None:
        seen.append(statement.split()[0])

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


@pytest.mark.parametrize("name", sorted(n for n, spec in all_features().grammar.specs.items()
                                        if spec.scope != ITEM and not spec.any_group))
def test_a_group_one_is_not_in_and_one_that_does_not_exist_are_answered_alike(world, name):
    """in:GROUP from a 1:1 chat, for every command that resolves a group (OPEN ones included): whoever is not
    in the group hears exactly what a group that does not exist would say, and both refusals are audited."""
    ctx = world.ctx
    text = TABLE[name][0]
    for actor in ("outsider", "h-member", "h-admin"):
        with _statements(world.engine) as count_a:
            refused_a, sent_a = _run(ctx, actor, text, WHERE[1], 600000)
        with _statements(world.engine) as count_b:
            refused_b, sent_b = _run(ctx, actor, text, WHERE[1], 600001, named="no-such-chat")
        assert refused_a and refused_b, (actor, sent_a, sent_b)
        assert count_a == count_b, (actor, count_a, count_b)        # the same path: as many statements
        assert {e["reason"] for e in refused_a} == {"not_in_group"}, refused_a
        assert {e["reason"] for e in refused_b} == {"no_such_group"}, refused_b
        assert [a["text"].replace("g-chat", "X") for a in sent_a] == \
            [a["text"].replace("no-such-chat", "X") for a in sent_b], (actor, sent_a, sent_b)
        assert all("The group" not in a["text"] for a in sent_a)


def test_join_names_any_group_but_a_missing_one_is_refused_and_audited(world):
    """An applicant is in no group yet: `join in:GROUP` names any governed group; a missing one is refused."""
    refused, sent = _run(world.ctx, "outsider", "join", WHERE[1], 600002)
    assert not refused and sent
    refused, sent = _run(world.ctx, "outsider", "join", WHERE[1], 600003, named="no-such-chat")
    assert [e["reason"] for e in refused] == ["no_such_group"] and "no-such-chat" in sent[0]["text"]


def test_open_commands_name_no_group_content(world):
    assert {n for n, spec in all_features().grammar.specs.items() if spec.scope == OPEN} <= {
        "help", "record", "lexicon", "join", "link", "my", "reviews", "consent"}


def _click(ctx, actor: str, action: str, value: str) -> tuple[list[dict], list[dict]]:
    with ctx.sessions() as s:
        before = s.scalar(select(func.max(AuditEntry.id))) or 0
        outbox = s.scalar(select(func.max(OutboxItem.id))) or 0
        CommandRunner(ctx, s).card(Invocation("sandbox", f"click-{actor}-{action}-{value}", actor, "", None, True),
                                   action, value)
        s.flush()
        refused = [dict(e.detail) for e in s.scalars(select(AuditEntry).where(
            AuditEntry.id > before, AuditEntry.action == "command.refused"))]
        sent = [row.action for row in s.scalars(select(OutboxItem).where(OutboxItem.id > outbox))]
        s.rollback()
    return refused, sent


def test_forged_card_clicks_learn_nothing(world):
    """A card's value is typed by whoever forges the click: a group the clicker is not in, a request that
    does not exist — each answered alike, and audited."""
    ctx = world.ctx
    with ctx.sessions() as s:
        gid = group_for(s, "sandbox", "g-chat").id
    refused, sent = _click(ctx, "outsider", "membership.ack", str(gid))
    refused_none, sent_none = _click(ctx, "outsider", "membership.ack", "999999")
    assert refused and refused_none and [a["text"] for a in sent] == [a["text"] for a in sent_none]
    assert "The group" not in sent[0]["text"]
    refused, sent = _click(ctx, "outsider", "membership.approve", "999999")
    assert refused and "lead" in sent[0]["text"]


@pytest.mark.parametrize("actor,text,key", [
    ("g-lead", "assign title: Report due: someday", "assign.bad_due"),
    ("g-lead", "warn <@g-member> R9.9.9 spam", "command.unknown_clause"),
    ("g-member", "consent maybe", "consent.usage"),
    ("g-admin", "approve-material 1 ok extra", None),        # no refusal: nothing audited
])
def test_a_refused_input_is_audited_once(world, actor, text, key):
    """A use case's refusal (a bad date, an unknown clause, a wrong word) is audited like a permission
    refusal: one `command.refused` entry per refused command (reason "input", the message key, not the
    member's text), and the same private answer."""
    refused, sent = _run(world.ctx, actor, text, WHERE[0], 500000)
    if key is None:
        assert not [e for e in refused if e["reason"] == "input"], refused
        return
    assert refused == [{"command": text.split()[0], "reason": "input", "key": key}], refused
    assert len(sent) == 1 and sent[0]["type"] != "post" and "someday" not in str(refused)


def test_a_refusal_a_use_case_audited_itself_is_not_audited_twice(world):
    """`choose` on a quiz of another training: the quiz use case audits it (reason "item"), the runner adds
    nothing; the same for a forged quiz card."""
    refused, sent = _run(world.ctx, "h-member", "choose 1.1 a", WHERE[1], 500001)
    assert [e["reason"] for e in refused] == ["item"] and len(sent) == 1, (refused, sent)
    refused, sent = _click(world.ctx, "h-member", "assessment.answer", "999999.1.0")
    assert [e["reason"] for e in refused] == ["item"] and len(sent) == 1, (refused, sent)
