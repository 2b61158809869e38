"""One identity: directory profiles in one shape, finding people, linking, conflicts never merged."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from core.db.models import AuditEntry, Person
from core.kernel.directory import account_for
from core.kernel.identity import find_person, from_directory, link, link_by_key, profile_of
from core.membership.applications import parse_fields
from core.membership.models import MembershipRequest
from core.ports import Profile


def test_a_directory_answer_is_cleaned_and_its_departments_kept_by_name_and_id():
    p = from_directory(Profile("zs", name=" 张三 ", departments=("销售部", "华东区"), department_ids=("12", "销售部"),
                               position="专员", email="", employee_id="E7"))
    assert (p.name, p.department, p.position, p.email, p.employee_id) == ("张三", "销售部", "专员", None, "E7")
    assert p.departments == ("销售部", "华东区", "12")


class FakeDirectory:
    """The directory port, as a fake: a connector with user_profile."""

    def __init__(self, profiles):
        self.profiles = profiles

    def user_profile(self, user_id):
        if user_id == "down":
            raise TimeoutError("directory away")
        return self.profiles.get(user_id)


def test_a_directory_that_fails_does_not_stop_anyone(container):
    container.ctx.directories = {"sandbox": FakeDirectory({"u": Profile("u", name="U", departments=("D",), position="P")})}
    assert profile_of(container.ctx, "sandbox", "down") is None
    assert profile_of(container.ctx, "sandbox", "u").department == "D"
    assert profile_of(container.ctx, "slack", "u") is None


def test_the_application_is_prefilled_from_the_directory(container):
    from core.db.models import Group
    from core.membership.applications import Applications

    container.ctx.directories = {"sandbox": FakeDirectory({"carol": Profile("carol", name="Carol Wu",
                                                                            departments=("Sales",),
                                                                            position="Associate")})}
    with container.sessions.begin() as s:
        group = s.scalar(select(Group).where(Group.chat_id == "new-hires"))
        account = account_for(s, "sandbox", "carol", container.clock.now())
        assert Applications(container.ctx, s).apply(group, account, "") is None   # the directory first
    with container.sessions() as s:                                # ... read once the transaction committed
        request = s.scalar(select(MembershipRequest))
        assert (request.status, request.name, request.department, request.position) == (
            "pending", "Carol Wu", "Sales", "Associate")


def test_a_change_without_details_is_compared_with_the_directory(container):
    """DingTalk's user_modify_org names nobody's fields: the directory is read after the event commits."""
    from core.events import UserChanged
    from core.kernel.inbound import ingest

    with container.sessions.begin() as s:
        bob = account_for(s, "sandbox", "bob", container.clock.now())
        bob.person.department, bob.person.position = "Sales", "Associate"
    directory = FakeDirectory({"bob": Profile("bob", name="Bob", departments=("Logistics",), position="Associate")})
    container.ctx.directories = {"sandbox": directory}
    assert ingest(container.ctx, UserChanged(platform="sandbox", event_id="chg-1", user_id="bob"))
    with container.sessions() as s:
        request = s.scalar(select(MembershipRequest).where(MembershipRequest.kind == "move"))
        assert (request.status, request.department) == ("pending", "Logistics")
    directory.profiles["bob"] = Profile("bob", name="Bob", departments=("Logistics",), position="Associate")
    assert ingest(container.ctx, UserChanged(platform="sandbox", event_id="chg-2", user_id="bob"))
    with container.sessions() as s:                                # nothing changed: no second question
        assert len(s.scalars(select(MembershipRequest)).all()) == 1


def test_find_person_by_each_key(container):
    now = container.clock.now()
    with container.sessions.begin() as s:
        a = account_for(s, "sandbox", "alice", now).person
        a.employee_id, a.email, a.mobile = "E1", "Alice@X.com", "+8613800000001"
        s.flush()
        for key in ("sandbox:alice", "E1", "alice@x.com", "+86 138 0000 0001", f"person:{a.id}"):
            assert find_person(s, key).person is a, key
        assert find_person(s, "nobody@x.com").person is None
        assert find_person(s, "bad key!").problem == "bad_key"
        b = account_for(s, "sandbox", "bob", now).person
        b.email = "alice@x.com"
        s.flush()
        assert find_person(s, "alice@x.com").problem == "ambiguous_email"


def test_two_known_people_are_never_merged(container):
    now = container.clock.now()
    with container.sessions.begin() as s:
        alice = account_for(s, "sandbox", "alice", now)
        bob = account_for(s, "sandbox", "bob", now)
        alice.person.employee_id, bob.person.employee_id = "E1", "E2"
        s.flush()
        result = link(s, bob, alice.person, now, "test")
        assert (result.status, result.reason) == ("conflict", "employee_id_differs")
        assert bob.person.employee_id == "E2"
        assert link_by_key(s, bob, "E1", now, "test").status == "conflict"
        s.flush()
        assert s.scalar(select(AuditEntry.detail).where(AuditEntry.action == "identity.conflict"))


def test_a_bare_account_joins_the_known_person_with_its_history(container):
    now = container.clock.now()
    with container.sessions.begin() as s:
        alice = account_for(s, "wecom", "alice", now)
        alice.person.employee_id = "E1"
        slack = account_for(s, "slack", "U0ALICE", now)
        old = slack.person
        assert link_by_key(s, slack, "E1", now, "test").status == "linked"
        assert slack.person is alice.person and old.status == "merged"
        assert link_by_key(s, slack, "wecom:alice", now, "test").status == "already"


def test_a_playground_account_never_joins_a_real_person(container):
    """Anyone on the playground's machine may speak as any sandbox account: none is ever one person with a
    real messenger's account, whichever way the link is asked for (issue 12, finding 1)."""
    now = container.clock.now()
    with container.sessions.begin() as s:
        adam = account_for(s, "sandbox", "adam", now)
        boss = account_for(s, "slack", "U0BOSS", now)
        boss.person.employee_id = "E9"
        for account, key in ((adam, "slack:U0BOSS"), (adam, "E9"), (boss, "sandbox:adam"),
                             (account_for(s, "sandbox", "zed", now), "slack:U0BOSS")):
            result = link_by_key(s, account, key, now, "test")
            assert (result.status, result.reason) == ("conflict", "playground_separate")
        assert {a.platform for a in boss.person.accounts} == {"slack"}
        assert {a.platform for a in adam.person.accounts} == {"sandbox"}


@pytest.mark.parametrize("text,fields,rest", [
    ("name: 张三 部门: 销售部 职位: 专员", {"name": "张三", "department": "销售部", "position": "专员"}, ""),
    ("Position=Driver", {"position": "Driver"}, ""),
    ("Account manager", {}, "Account manager"),
    ("姓名：李四，部門：研發", {"name": "李四", "department": "研發"}, ""),
])
def test_application_fields(text, fields, rest):
    assert parse_fields(text) == (fields, rest)


def test_people_table_is_untouched_by_a_conflict(container):
    now = container.clock.now()
    with container.sessions.begin() as s:
        count = len(s.scalars(select(Person)).all())
        alice = account_for(s, "sandbox", "alice", now)
        alice.person.email = "a@x.com"
        s.flush()
        assert link_by_key(s, account_for(s, "sandbox", "bob", now), "E5", now, "t").status == "linked"
        assert len(s.scalars(select(Person)).all()) == count


def test_a_merged_persons_other_records_follow_them(container):
    """Acknowledgements (and every other feature's rows keyed by person) move with the link."""
    from core.db.models import Group
    from core.membership.models import Acknowledgement

    now = container.clock.now()
    with container.sessions.begin() as s:
        new_hires, managers = (s.scalar(select(Group).where(Group.chat_id == c)) for c in ("new-hires", "managers"))
        alice = account_for(s, "wecom", "alice", now)
        alice.person.employee_id = "E1"
        slack = account_for(s, "slack", "U0ALICE", now)
        s.add_all([Acknowledgement(person_id=slack.person_id, group_id=new_hires.id, sent_at=now, acknowledged_at=now),
                   Acknowledgement(person_id=slack.person_id, group_id=managers.id, sent_at=now),
                   Acknowledgement(person_id=alice.person_id, group_id=managers.id, sent_at=now)])
        s.flush()
        old_id = slack.person_id
        assert link_by_key(s, slack, "E1", now, "test").status == "linked"
    with container.sessions() as s:
        acks = s.execute(select(Acknowledgement.person_id, Acknowledgement.group_id)).all()
        alice_id = find_person(s, "E1").person.id
        assert sorted(p for p, _ in acks) == sorted([alice_id, alice_id, old_id])   # the duplicate stays
        detail = s.scalar(select(AuditEntry.detail).where(AuditEntry.action == "identity.linked"))
        assert detail["moved"] == {"acknowledgements.person_id": 1}
