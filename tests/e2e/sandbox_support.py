"""What the sandbox end-to-end tests share: a card click through the playground's endpoint, and the
transcript's position to read what Steward said after it."""
from __future__ import annotations

from steward.worker import drain
from tests.conftest import LOCAL


def click(client, container, user, action, value):
    assert client.post("/sandbox/cards", json={"user_id": user, "action": action, "value": value},
                       environ_base=LOCAL).status_code == 200
    drain(container)


def mark(container) -> int:
    transcript = container.connectors["sandbox"].transcript
    return transcript[-1].seq if transcript else 0


def queue_reports(container, count: int, chat_id: str = "new-hires") -> None:
    """`count` open reported messages in the sandbox group's review queue, oldest first ("message 0" …)."""
    from sqlalchemy import select

    from core.db.models import Group, ReviewItem

    with container.sessions.begin() as s:
        group = s.scalar(select(Group).where(Group.platform == "sandbox", Group.chat_id == chat_id))
        for n in range(count):
            s.add(ReviewItem(key=f"msg:sandbox:{chat_id}:q{n}", group_id=group.id, kind="report", status="open",
                             platform="sandbox", chat_id=chat_id, message_id=f"q{n}", text=f"message {n}",
                             clause="R1.3.3", reporters=1, created_at=container.clock.now()))
