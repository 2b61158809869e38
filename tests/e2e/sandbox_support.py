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
