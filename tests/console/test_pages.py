"""What each role sees, and decisions taken in the console: the same core service as the chat command,
with `console` as the audit channel, names instead of ids and local times."""
from __future__ import annotations

import csv
import io

from sqlalchemy import func, select

from core.db.models import AuditEntry, Case, Group
from steward.worker import drain
from tests.console.conftest import csrf_of, sign_in


def say(container, user: str, text: str, chat: str | None) -> None:
    event = container.connectors["sandbox"].say(user, text, chat_id=chat)
    container.accept(event)


def pending_removal(container) -> str:
    """Mia (the managers' admin) warns Dave twice: the confirm template asks for an admin's approval."""
    say(container, "mia", "@steward warn @dave R8.1.2 ads in the group", "managers")
    say(container, "mia", "@steward warn @dave R8.1.2 ads again", "managers")
    with container.sessions() as s:
        case = s.scalars(select(Case).where(Case.outcome == "removal_pending")).one()
        return case.number


def group_id(container, chat: str) -> int:
    with container.sessions() as s:
        return s.scalar(select(Group.id).where(Group.chat_id == chat))


def post(client, path: str, **data):
    page = client.get("/console/me", follow_redirects=True).get_data(as_text=True)
    return client.post(path, data={"csrf": csrf_of(page), **data})


def test_the_admin_sees_everything(client, console):
    number = pending_removal(console)
    sign_in(client, console, "adam")
    html = client.get("/console/").get_data(as_text=True)
    assert 'id="count-pending">1<' in html and 'id="count-members">4<' in html
    cases = client.get("/console/cases?status=pending").get_data(as_text=True)
    assert number in cases and "Dave" in cases and "person:" not in cases
    for path in ("/console/people", "/console/it", f"/console/groups/{group_id(console, 'new-hires')}"):
        assert client.get(path).status_code == 200


def test_a_lead_sees_their_group_only(client, console):
    number = pending_removal(console)            # in the managers' group, not Lily's
    sign_in(client, console, "lily")
    assert client.get(f"/console/groups/{group_id(console, 'new-hires')}").status_code == 200
    assert client.get(f"/console/groups/{group_id(console, 'managers')}").status_code == 403
    assert client.get(f"/console/cases/{number}").status_code == 403
    assert number not in client.get("/console/cases").get_data(as_text=True)
    assert "Managers" not in client.get("/console/groups").get_data(as_text=True)
    for path in ("/console/people", "/console/it"):
        assert client.get(path).status_code == 403
    with console.sessions() as s:
        refused = s.scalars(select(AuditEntry).where(AuditEntry.action == "console.refused")).all()
        assert {e.detail["why"] for e in refused} == {"groups", "case", "people", "it"}
        assert all(e.actor.startswith("console:person:") for e in refused)


def test_a_lead_reads_cases_of_their_group_but_does_not_decide(client, console):
    say(console, "lily", "@steward warn @bob R8.1.2 ads", "new-hires")
    sign_in(client, console, "lily")
    with console.sessions() as s:
        number = s.scalars(select(Case.number)).one()
    assert client.get(f"/console/cases/{number}").status_code == 200
    assert post(client, f"/console/cases/{number}/revoke", reason="mistake").status_code == 403


def test_a_member_sees_only_their_own_record(client, console):
    number = pending_removal(console)
    say(console, "lily", "@steward warn @bob R8.1.2 ads", "new-hires")
    sign_in(client, console, "dave")
    r = client.get("/console/", follow_redirects=True)
    html = r.get_data(as_text=True)
    assert r.request.path.startswith("/console/people/") and "Dave" in html and number in html
    assert client.get(f"/console/cases/{number}").status_code == 200       # their own case
    with console.sessions() as s:
        bob_case = s.scalar(select(Case.number).where(Case.number != number, Case.outcome == "warning",
                                                      Case.group_id == group_id(console, "new-hires")))
        bob = s.scalar(select(Case.person_id).where(Case.number == bob_case))
    assert client.get(f"/console/cases/{bob_case}").status_code == 403
    assert client.get(f"/console/people/{bob}").status_code == 403
    for path in ("/console/cases", "/console/audit", "/console/groups", "/console/people", "/console/it",
                 "/console/audit.csv"):
        assert client.get(path).status_code == 403, path
    assert post(client, f"/console/cases/{number}/reject").status_code == 403


def test_approving_removes_the_member_through_the_same_service(client, console):
    number = pending_removal(console)
    drain(console)
    sign_in(client, console, "mia")               # the managers' group admin
    r = post(client, f"/console/cases/{number}/approve")
    assert r.status_code == 302 and "done=approve" in r.headers["Location"]
    drain(console)
    sandbox = console.connectors["sandbox"]
    assert "dave" not in sandbox.members.get("managers", set())
    assert any(e.kind == "removed" for e in sandbox.transcript)
    with console.sessions() as s:
        case = s.scalars(select(Case).where(Case.number == number)).one()
        assert case.outcome == "removal" and case.resolved_by.startswith("console:person:")
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "case.approved")).one()
        assert entry.actor == case.resolved_by and entry.clause == "R8.2.2"
    audit_page = client.get("/console/audit?action=case.approved").get_data(as_text=True)
    assert "Mia Groupadmin (console)" in audit_page and "Dave" in audit_page
    assert "2026-11-02 17:00" in audit_page       # 09:00 UTC in Asia/Shanghai
    again = post(client, f"/console/cases/{number}/approve")
    assert again.status_code == 302 and "done=unchanged" in again.headers["Location"]   # decided already
    with console.sessions() as s:
        assert len(s.scalars(select(AuditEntry).where(AuditEntry.action == "case.approved")).all()) == 1


def test_rejecting_and_revoking(client, console):
    number = pending_removal(console)
    sign_in(client, console, "adam")
    post(client, f"/console/cases/{number}/reject")
    assert post(client, f"/console/cases/{number}/revoke").status_code == 400      # a reason is required
    post(client, f"/console/cases/{number}/revoke", reason="wrong person")
    with console.sessions() as s:
        case = s.scalars(select(Case).where(Case.number == number)).one()
        assert case.outcome == "removal_rejected" and case.status == "revoked"
        assert case.revoke_reason == "wrong person"
    html = client.get(f"/console/cases/{number}").get_data(as_text=True)
    assert "case.rejected" in html and "case.revoked" in html


def test_accepting_an_appeal_revokes_the_case(client, console):
    say(console, "lily", "@steward warn @bob R8.1.2 ads", "new-hires")
    with console.sessions() as s:
        number = s.scalars(select(Case.number)).one()
    say(console, "bob", f"appeal {number} it was a joke <b>really</b>", None)
    sign_in(client, console, "adam")
    assert number in client.get("/console/cases?status=appealed").get_data(as_text=True)
    html = client.get(f"/console/cases/{number}").get_data(as_text=True)
    assert "&lt;b&gt;really&lt;/b&gt;" in html and "<b>really</b>" not in html    # member text is data
    post(client, f"/console/cases/{number}/accept-appeal", reason="it was a joke")
    with console.sessions() as s:
        case = s.scalars(select(Case).where(Case.number == number)).one()
        assert case.status == "revoked" and case.revoked_by.startswith("console:")


def test_rejecting_an_appeal_keeps_the_case_and_tells_the_member(client, console):
    say(console, "lily", "@steward warn @bob R8.1.2 ads", "new-hires")
    with console.sessions() as s:
        number = s.scalars(select(Case.number)).one()
    say(console, "bob", f"appeal {number} it was not me", None)
    sign_in(client, console, "adam")
    assert "reject-appeal" in client.get(f"/console/cases/{number}").get_data(as_text=True)
    assert post(client, f"/console/cases/{number}/reject-appeal").status_code == 400     # a reason is required
    post(client, f"/console/cases/{number}/reject-appeal", reason="the screenshot shows it")
    with console.sessions() as s:
        case = s.scalars(select(Case).where(Case.number == number)).one()
        assert case.status == "appeal_rejected" and case.resolved_by.startswith("console:")
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "case.appeal_rejected")).one()
        assert entry.actor.startswith("console:") and entry.case_number == number
    drain(console)
    told = [e for e in console.connectors["sandbox"].transcript if "the screenshot shows it" in e.text]
    assert told, "the member hears why"


def test_the_audit_export_has_names_and_local_times(client, console):
    pending_removal(console)
    sign_in(client, console, "hannah")
    r = client.get("/console/audit.csv?action=case.")
    rows = list(csv.reader(io.StringIO(r.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][1] == "at (Asia/Shanghai)"
    assert [row[3] for row in rows[1:]] == ["case.removal_pending", "case.warning"]
    assert all(row[2] == "Mia Groupadmin" and row[6] == "Dave" and row[5] == "Managers" for row in rows[1:])
    assert all(row[1].startswith("2026-11-02 17:00") for row in rows[1:])


def test_the_it_page_shows_no_secret(sqlite_url, clock, console_config):
    from tests.conftest import build_container
    from webhooks import create_app

    env = {"SLACK_SIGNING_SECRET": "s3cr3t-signing", "SLACK_BOT_TOKEN": "xoxb-very-secret",
           "SLACK_API_URL": "http://127.0.0.1:9/api/"}
    container = build_container(sqlite_url, clock, console_config, extra_env=env)
    from tests.console.conftest import name_people
    name_people(container)
    client = create_app(container).test_client()
    sign_in(client, container, "adam")
    from datetime import timedelta

    from core.db.models import CachedToken
    with container.sessions.begin() as s:
        s.add(CachedToken(key="wecom:wwcorp:1000002:access_token", value="the-cached-access-token",
                          expires_at=clock.now() + timedelta(hours=1)))
    html = client.get("/console/it").get_data(as_text=True)
    assert "/slack/events" in html and "SLACK_BOT_TOKEN" in html
    assert "s3cr3t-signing" not in html and "xoxb-very-secret" not in html
    wecom = html.split('id="it-wecom"')[1].split("</section>")[0]
    assert "valid until 2026-11-02 18:00" in wecom and "the-cached-access-token" not in html
    container.engine.dispose()


def test_language_by_browser_then_choice(client, console):
    sign_in(client, console, "adam")
    assert "概覽" in client.get("/console/", headers={"Accept-Language": "zh-TW,zh;q=0.9"}).get_data(as_text=True)
    assert "概览" in client.get("/console/", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    post(client, "/console/language", locale="en", next="/console/")
    assert "Overview" in client.get("/console/", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)


def test_every_console_message_exists_in_every_locale():
    import json
    from importlib import resources
    keys = [set(json.loads(resources.files("webhooks.console").joinpath("messages", f"{loc}.json")
                           .read_text("utf-8"))) for loc in ("zh-Hans", "zh-Hant", "en")]
    assert keys[0] == keys[1] == keys[2]


def test_the_audit_exports_as_xlsx_and_formulas_stay_text(client, console):
    from openpyxl import load_workbook

    say(console, "lily", "@steward warn @bob =HYPERLINK(\"http://evil\") ads", "new-hires")
    sign_in(client, console, "adam")
    r = client.get("/console/audit.xlsx?action=case.")
    rows = list(load_workbook(io.BytesIO(r.get_data())).active.iter_rows(values_only=True))
    assert rows[0][1] == "at (Asia/Shanghai)" and rows[1][3] == "case.warning" and rows[1][6] == "Bob"
    assert "=HYPERLINK" in rows[1][8] and not rows[1][8].startswith("=")
    text = client.get("/console/audit.csv?action=case.").get_data(as_text=True)
    assert "=HYPERLINK" in text
    with console.sessions() as s:
        exports = s.scalars(select(AuditEntry).where(AuditEntry.action == "console.audit_exported")).all()
        assert [e.detail["format"] for e in exports] == ["xlsx", "csv"]


def test_the_overview_counts_questions_past_their_deadline(client, console, clock):
    from datetime import timedelta

    from core.db.models import Account
    from core.training.models import Question

    new_hires = group_id(console, "new-hires")
    with console.sessions.begin() as s:
        bob = s.scalars(select(Account).where(Account.user_id == "bob")).one()
        for hours, status in ((-2, "open"), (-1, "answered"), (3, "open")):
            s.add(Question(group_id=new_hires, asker_id=bob.person_id, account_id=bob.id,
                           text="when is the exam?", source="ask", status=status,
                           deadline_at=clock.now() + timedelta(hours=hours), created_at=clock.now()))
    sign_in(client, console, "adam")
    assert 'id="count-overdue">1<' in client.get("/console/").get_data(as_text=True)
    client2 = client.application.test_client()
    sign_in(client2, console, "leo")                  # the managers' lead: not their group
    assert 'id="count-overdue">0<' in client2.get("/console/").get_data(as_text=True)


def test_the_group_page_shows_each_members_participation(client, console):
    for text in ("hello everyone", "@steward rules", "see you tomorrow"):
        say(console, "alice", text, "new-hires")
    sign_in(client, console, "lily")
    html = client.get(f"/console/groups/{group_id(console, 'new-hires')}").get_data(as_text=True)
    alice = html.split('data-person="Alice"')[1].split("</tr>")[0]
    bob = html.split('data-person="Bob"')[1].split("</tr>")[0]
    assert "3 messages" in alice and "0 messages" in bob


def test_the_training_page(client, console, clock):
    from datetime import timedelta

    from core.db.models import Account
    from core.training.models import Acknowledgement, Announcement, Question

    new_hires = group_id(console, "new-hires")
    with console.sessions.begin() as s:
        bob = s.scalars(select(Account).where(Account.user_id == "bob")).one()
        lily = s.scalars(select(Account).where(Account.user_id == "lily")).one()
        s.add(Question(group_id=new_hires, asker_id=bob.person_id, account_id=bob.id, text="<i>when</i> is the exam?",
                       source="ask", status="open", deadline_at=clock.now() - timedelta(hours=1),
                       created_at=clock.now()))
        notice = Announcement(group_id=new_hires, kind="notice", topic="Safety week", starts_at=clock.now(),
                              points="", author_id=lily.person_id, publish_at=clock.now(), status="published",
                              created_at=clock.now(), published_at=clock.now())
        s.add(notice)
        s.flush()
        s.add(Acknowledgement(announcement_id=notice.id, person_id=bob.person_id, at=clock.now()))
    sign_in(client, console, "lily")
    html = client.get("/console/training").get_data(as_text=True)
    assert "Safety week" in html and "1 / 2 (50%)" in html
    assert "&lt;i&gt;when&lt;/i&gt;" in html and "past its deadline" in html
    other = client.application.test_client()
    sign_in(other, console, "leo")                     # the managers' lead sees none of it
    html = other.get("/console/training").get_data(as_text=True)
    assert "Safety week" not in html and "when" not in html
    member = client.application.test_client()
    sign_in(member, console, "bob")
    assert member.get("/console/training").status_code == 403


def test_hr_finds_departures_on_the_people_page(client, console):
    from core.db.models import Person

    with console.sessions.begin() as s:
        s.scalars(select(Person).where(Person.name == "Erin")).one().status = "departed"
    sign_in(client, console, "hannah")
    departed = client.get("/console/people?status=departed").get_data(as_text=True)
    assert "Erin" in departed and "Dave" not in departed
    assert "Dave" in client.get("/console/people?q=Dav").get_data(as_text=True)


def test_an_admin_checks_the_audit_chain_from_the_audit_page(client, console, sqlite_url):
    """The audit page shows the last check of the hash chain; the check walks it, as `steward audit verify`."""
    import sqlite3

    import pytest
    if console.engine.url.get_backend_name() != "sqlite":
        pytest.skip("the forgery below edits the SQLite file (PostgreSQL's app role cannot: docs/audit-log.md)")
    pending_removal(console)
    sign_in(client, console, "adam")
    page = client.get("/console/audit").get_data(as_text=True)
    assert "has not been checked from the console yet" in page
    assert post(client, "/console/audit/verify").status_code == 302
    page = client.get("/console/audit").get_data(as_text=True)
    assert "The hash chain holds:" in page and "by Adam Admin" in page

    db = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"), isolation_level=None)
    db.execute("DROP TRIGGER audit_log_no_update")             # someone with the database file
    db.execute("UPDATE audit_log SET actor = 'person:99' WHERE seq = 2")
    db.close()
    post(client, "/console/audit/verify")
    page = client.get("/console/audit").get_data(as_text=True)
    assert "The hash chain is broken" in page and "seq=2 was rewritten" in page
    with console.sessions() as s:
        checks = s.scalars(select(AuditEntry).where(AuditEntry.action == "audit.verified")
                           .order_by(AuditEntry.id)).all()
        assert [c.detail["ok"] for c in checks] == [True, False]


def test_a_group_admin_may_not_check_the_whole_chain(client, console):
    sign_in(client, console, "mia")
    assert "verify-chain" not in client.get("/console/audit").get_data(as_text=True)
    assert post(client, "/console/audit/verify").status_code == 403
    with console.sessions() as s:
        assert s.scalar(select(AuditEntry.id).where(AuditEntry.action == "audit.verified")) is None
        assert s.scalar(select(AuditEntry.id).where(AuditEntry.action.like("console.%refused%"))) is not None


def _conflict_for(console, user: str, like: str) -> int:
    """A new account whose directory e-mail matched `like`'s person: recorded, never merged."""
    from core.db.models import IdentityConflict
    from core.kernel.directory import account_for, find_account
    from core.kernel.identity import report_conflict

    with console.sessions.begin() as s:
        account = account_for(s, "sandbox", user, console.clock.now(), user.title())
        other = find_account(s, "sandbox", like).person_id
        report_conflict(console.ctx, s, account, "email", f"{like}@example.com", "ambiguous", [other])
        return s.scalar(select(IdentityConflict.id).order_by(IdentityConflict.id.desc()).limit(1))


def test_hr_settles_identity_conflicts_in_the_console(client, console):
    from core.db.models import Account, IdentityConflict

    linked, separate = _conflict_for(console, "alice-desk", "alice"), _conflict_for(console, "bob-2", "bob")
    alice, bob = _person(console, "alice"), _person(console, "bob")
    sign_in(client, console, "hannah")
    page = client.get("/console/people").get_data(as_text=True)
    assert f'data-conflict="{linked}"' in page and "alice@example.com" in page

    assert post(client, f"/console/identity/{linked}/link/{alice}").status_code == 302
    assert post(client, f"/console/identity/{separate}/resolve").status_code == 302
    assert "Settled as different people" in client.get("/console/people?done=identity_resolved").get_data(as_text=True)
    assert "data-conflict" not in client.get("/console/people").get_data(as_text=True)
    with console.sessions() as s:
        desk = s.scalars(select(Account).where(Account.user_id == "alice-desk")).one()
        bob2 = s.scalars(select(Account).where(Account.user_id == "bob-2")).one()
        assert desk.person_id == alice                                       # one person behind both accounts
        assert bob2.person_id != bob                                         # nothing merged
        assert all(c.resolved_at is not None for c in s.scalars(select(IdentityConflict)))
        hows = [e.detail["how"] for e in s.scalars(select(AuditEntry).where(
            AuditEntry.action == "identity.conflict_resolved").order_by(AuditEntry.id))]
        assert hows == [f"linked to person {alice}", "separate"]
    # a second click on a settled conflict changes nothing
    post(client, f"/console/identity/{separate}/resolve")
    with console.sessions() as s:
        assert s.scalar(select(func.count()).select_from(AuditEntry)
                        .where(AuditEntry.action == "identity.conflict_resolved")) == 2


def test_a_group_admin_may_not_settle_identity_conflicts(client, console):
    conflict = _conflict_for(console, "alice-desk", "alice")
    sign_in(client, console, "mia")
    assert post(client, f"/console/identity/{conflict}/link/{_person(console, 'mia')}").status_code == 403
    with console.sessions() as s:
        assert s.scalar(select(AuditEntry.id).where(AuditEntry.action == "identity.conflict_resolved")) is None


def _person(console, user: str) -> int:
    from core.kernel.directory import find_account
    with console.sessions() as s:
        return find_account(s, "sandbox", user).person_id


def test_the_lead_decides_join_applications_in_the_console(client, console):
    """R2.1.3: the pending applications of the lead's group, approved or rejected as with the lead's card."""
    from core.membership.models import MembershipRequest

    say(console, "frank", "join in:new-hires name: Frank Wu department: Sales position: Engineer", None)
    say(console, "gina", "join in:new-hires name: Gina Ho department: Legal position: Counsel", None)
    drain(console)
    new_hires, lily = group_id(console, "new-hires"), _person(console, "lily")
    with console.sessions() as s:
        frank, gina = s.scalars(select(MembershipRequest.id).order_by(MembershipRequest.id)).all()

    sign_in(client, console, "mia")                                     # the other group's admin
    assert "applications" not in client.get(f"/console/groups/{new_hires}").get_data(as_text=True)
    assert post(client, f"/console/applications/{frank}/approve").status_code == 403

    client.post("/console/signout", data={"csrf": csrf_of(client.get("/console/me", follow_redirects=True)
                                                         .get_data(as_text=True))})
    sign_in(client, console, "lily")
    page = client.get(f"/console/groups/{new_hires}").get_data(as_text=True)
    assert f'data-application="{frank}"' in page and "Frank Wu" in page and "Engineer" in page
    assert post(client, f"/console/applications/{frank}/approve").status_code == 302
    assert post(client, f"/console/applications/{gina}/reject").status_code == 302
    assert "unchanged" in post(client, f"/console/applications/{gina}/approve").headers["Location"]
    with console.sessions() as s:
        assert [r.status for r in s.scalars(select(MembershipRequest).order_by(MembershipRequest.id))] == [
            "approved", "rejected"]
        decided = s.scalars(select(AuditEntry).where(AuditEntry.action.like("application.%ed"))
                            .where(AuditEntry.action != "application.submitted").order_by(AuditEntry.id)).all()
        assert [(e.action, e.clause) for e in decided] == [("application.approved", "R2.1.3"),
                                                           ("application.rejected", "R2.1.3")]
        assert all(e.actor == f"console:person:{lily}" for e in decided)
    drain(console)
    told = {e["to_user"]: e["text"] for e in console.connectors["sandbox"].since(0)
            if e["sender"] == "steward" and e["to_user"] in ("frank", "gina") and "R2.1.3" in e["text"]}
    assert "not approved" not in told["frank"] and "not approved" in told["gina"]
