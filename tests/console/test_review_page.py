"""The console's review queue (on the moderation page, R7.2.2): an admin sees the open items of the groups they
look after, decides one with the chat's service (audited as the console), is told when it was already decided,
and downloads the dismissed items as labelled negatives; an admin of another group may not decide it."""
from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select

from core.db.models import AuditEntry, Case, ReviewItem
from core.moderation.evaluate import BENIGN
from tests.console.conftest import csrf_of, sign_in
from tests.console.test_pages import say
from tests.e2e.sandbox_support import queue_reports

RUDE = "这个方案真垃圾"


def queued(console) -> ReviewItem:
    say(console, "bob", RUDE, "new-hires")
    say(console, "alice", "@steward report @bob R1.3.3", "new-hires")
    with console.sessions() as s:
        return s.scalars(select(ReviewItem)).one()


def test_an_admin_dismisses_from_the_console_and_downloads_the_negative(client, console):
    item = queued(console)
    sign_in(client, console, "mia")            # the managers' admin: not this group's
    page = client.get("/console/moderation").get_data(as_text=True)
    assert RUDE not in page
    r = client.post(f"/console/moderation/review/{item.id}", data={"csrf": csrf_of(page), "decision": "dismiss"})
    assert r.status_code == 403
    client.get("/console/signout")

    sign_in(client, console, "adam")
    page = client.get("/console/moderation").get_data(as_text=True)
    assert f'id="review-{item.id}"' in page and RUDE in page and "R1.3.3" in page
    r = client.post(f"/console/moderation/review/{item.id}", data={"csrf": csrf_of(page), "decision": "dismiss",
                                                                   "note": "banter"})
    assert r.status_code == 302 and "done=review" in r.headers["Location"]
    r = client.post(f"/console/moderation/review/{item.id}", data={"csrf": csrf_of(page), "decision": "warn"})
    assert "done=review_unchanged" in r.headers["Location"]
    with console.sessions() as s:
        assert s.get(ReviewItem, item.id).status == "dismissed" and s.scalars(select(Case)).all() == []
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "review.dismissed")).one()
        assert entry.actor.startswith("console:person:")
    r = client.get("/console/moderation/review/dismissed.jsonl")
    rows = [json.loads(line) for line in r.get_data(as_text=True).splitlines()]
    assert [(row["text"], row["label"]) for row in rows] == [(RUDE, BENIGN)]


def test_a_warning_from_the_console_cites_the_suggested_clause(client, console):
    item = queued(console)
    sign_in(client, console, "adam")
    csrf = csrf_of(client.get("/console/moderation").get_data(as_text=True))
    client.post(f"/console/moderation/review/{item.id}", data={"csrf": csrf, "decision": "warn"})
    with console.sessions() as s:
        [case] = s.scalars(select(Case)).all()
        assert (case.clause, case.outcome) == ("R1.3.3", "warning")
    assert client.post(f"/console/moderation/review/{item.id}", data={"csrf": csrf, "decision": "release"}) \
        .status_code == 302


@pytest.mark.parametrize("decision,note,done", [
    ("dismiss", "n" * 501, "review_note_too_long"),
    ("release", "", "review_not_held"),          # a reported message is not a held share
])
def test_a_decision_the_service_refuses_is_said_on_the_page_and_audited(client, console, decision, note, done):
    item = queued(console)
    sign_in(client, console, "adam")
    csrf = csrf_of(client.get("/console/moderation").get_data(as_text=True))
    r = client.post(f"/console/moderation/review/{item.id}", data={"csrf": csrf, "decision": decision, "note": note})
    assert r.status_code == 302 and r.headers["Location"].endswith(f"done={done}")
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert 'id="done"' in page and "Not decided" in page
    with console.sessions() as s:
        assert s.get(ReviewItem, item.id).status == "open"
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "console.refused")).one()
    assert entry.actor.startswith("console:person:") and entry.detail["why"] == "input"
    assert entry.detail["item"] == item.id and "n" * 501 not in json.dumps(entry.detail)


def test_a_long_queue_shows_its_whole_count_and_says_the_rest_follow(client, console):
    queue_reports(console, 101)
    sign_in(client, console, "adam")
    page = client.get("/console/moderation").get_data(as_text=True)
    assert "Review queue (101 open)" in page and 'id="review-more"' in page
    assert len(re.findall(r'<tr id="review-\d+"', page)) == 100
