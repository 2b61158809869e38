"""The console's moderation page: the what-if box shows what a lexicon change would do to a text and to
the latest archived messages before it is saved; saving goes through the chat's lexicon service, audited
with `console` as the channel, and the detectors use it at once."""
from __future__ import annotations

from sqlalchemy import select

from core.db.models import AuditEntry, Case
from tests.console.conftest import csrf_of, sign_in
from tests.console.test_pages import say

TERM = "团购暗号"


def form(client) -> str:
    return csrf_of(client.get("/console/moderation").get_data(as_text=True))


def test_the_what_if_box_shows_the_change_before_it_is_saved(client, console):
    say(console, "alice", f"周末一起来 {TERM} 吗", "new-hires")        # archived; nothing found today
    sign_in(client, console, "adam")
    csrf = form(client)
    r = client.post("/console/moderation/whatif", data={
        "csrf": csrf, "template": "new-hire", "text": f"今晚 {TERM} 开始", "op": "add", "category": "ads",
        "term": TERM, "archive": "1"})
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    now, after = html.split('id="verdicts-now"')[1], html.split('id="verdicts-after"')[1]
    assert "nothing found" in now.split("</ul>")[0] and "R8.1.2" in after.split("</ul>")[0]
    assert "1 archived messages checked; the verdict would change for 1" in html
    with console.sessions() as s:
        assert s.scalars(select(AuditEntry).where(AuditEntry.action.startswith("lexicon."))).all() == []

    r = client.post("/console/moderation/lexicon", data={"csrf": csrf, "op": "add", "category": "ads", "term": TERM})
    assert r.status_code == 302
    with console.sessions() as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "lexicon.add")).one()
        assert entry.actor.startswith("console:person:") and entry.detail["term"] == TERM
    say(console, "bob", f"今晚 {TERM} 开始", "new-hires")                 # the detectors use it at once
    with console.sessions() as s:
        assert s.scalars(select(Case.clause).where(Case.detector.is_not(None))).all() == ["R8.1.2"]
    assert TERM in client.get("/console/moderation").get_data(as_text=True)


def test_only_admins_edit_the_lexicon(client, console):
    sign_in(client, console, "lily")
    assert client.get("/console/moderation").status_code == 403
    csrf = csrf_of(client.get("/console/").get_data(as_text=True))
    r = client.post("/console/moderation/lexicon", data={"csrf": csrf, "op": "add", "category": "ads", "term": "x"})
    assert r.status_code == 403


def test_a_bad_proposal_is_refused(client, console):
    sign_in(client, console, "adam")
    csrf = form(client)
    for data in ({"category": "nope", "term": "x"}, {"category": "ads", "term": "x" * 101},
                 {"category": "ads", "term": "x", "op": "replace"}):
        r = client.post("/console/moderation/lexicon", data={"csrf": csrf, "op": "add", **data})
        assert r.status_code == 400
