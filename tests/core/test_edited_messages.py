"""One violation per message (issue 12, finding 6): edits of a message never climb the ladder twice."""
from __future__ import annotations

from sqlalchemy import select

from core.db.models import Case, OutboxItem
from core.events import MessagePosted
from core.kernel.inbound import ingest

AD = "加 我 微 信 zhang_888，课程资料免费送"
AD_AGAIN = "加我微信 zhang_888，课程资料免费送，名额有限"
INSULT = "你是白癡嗎，講幾次了還不懂"


def post(container, n: int, text: str, edited: bool = False, message_id: str = "m1"):
    ingest(container.ctx, MessagePosted(platform="sandbox", event_id=f"ev-{n}", chat_id="new-hires", user_id="bob",
                                        message_id=message_id, text=text, edited=edited))


def cases(container) -> list[tuple[str, str]]:
    with container.sessions() as s:
        return [(c.message_id, c.outcome) for c in s.scalars(select(Case).order_by(Case.id))]


def test_one_message_and_two_edits_give_one_warning(container):
    """The attack: one message and two edits gave a warning and two removals (new hires: one warning, then
    removal). Now the edits — the same rule broken again, or another — change nothing."""
    post(container, 1, AD)
    post(container, 2, AD_AGAIN, edited=True)
    post(container, 3, INSULT, edited=True)
    assert cases(container) == [("m1", "warning")]
    with container.sessions() as s:
        removals = [o for o in s.scalars(select(OutboxItem)) if o.action["type"] == "remove"]
    assert removals == []


def test_an_edit_that_brings_the_violation_counts_once(container):
    post(container, 1, "see you at the meeting")
    assert cases(container) == []
    post(container, 2, AD, edited=True)
    post(container, 3, AD_AGAIN, edited=True)
    assert cases(container) == [("m1", "warning")]


def test_another_message_still_counts(container):
    post(container, 1, AD)
    post(container, 2, AD_AGAIN, message_id="m2")          # a new message: the ladder's next step
    assert cases(container) == [("m1", "warning"), ("m2", "removal")]
