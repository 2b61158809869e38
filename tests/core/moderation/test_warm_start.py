"""A starting web process builds its moderators before the first message, not while that message waits."""
from __future__ import annotations

import logging
from pathlib import Path

from tests.conftest import build_container


def test_warm_builds_the_moderator_of_every_template_with_moderation_on(container) -> None:
    service = container.ctx.detectors
    assert service._moderators == {}          # lazily built: nothing yet after the start-up sync
    container.warm()
    enabled = {name for name, t in container.config.all_templates().items() if t.moderation.enabled}
    assert enabled and set(service._moderators) == enabled
    built = dict(service._moderators)
    container.warm()                          # a second start changes nothing
    assert all(service._moderators[name] is built[name] for name in enabled)


def test_warm_without_a_usable_database_leaves_it_to_the_first_message(sqlite_url, clock, sandbox_config,
                                                                      caplog) -> None:
    c = build_container(sqlite_url, clock, sandbox_config)
    try:
        c.engine.dispose()
        Path(c.engine.url.database).unlink()   # the next connection opens an empty file: no lexicon to read
        with caplog.at_level(logging.WARNING, logger="steward.container"):
            c.warm()
        assert c.ctx.detectors._moderators == {}
        assert any("built on the first message" in r.getMessage() for r in caplog.records)
    finally:
        c.engine.dispose()
