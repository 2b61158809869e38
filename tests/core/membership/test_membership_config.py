"""steward.yaml `membership:`: defaults keep old files valid; a bad key or value is named."""
from __future__ import annotations

import pytest

from core.config import parse_config
from core.errors import ConfigError


def test_defaults():
    m = parse_config("locale: en\n").membership
    assert (m.new_hire_groups, m.ack_reminder_hours, m.import_max_rows) == ((), 48, 5000)


@pytest.mark.parametrize("text,named", [
    ("membership: {new_hire_groups: [new-hires]}", "platform:chat_id"),
    ("membership: {ack_reminder_hours: 0}", "ack_reminder_hours"),
    ("membership: {import_max_rows: -1}", "import_max_rows"),
    ("membership: {welcome: yes}", "welcome"),
])
def test_bad_settings_are_named(text, named):
    with pytest.raises(ConfigError) as err:
        parse_config(text + "\n")
    assert named in " ".join(err.value.problems)


def test_configured_new_hire_groups_choose_where_hr_files_go(container):
    from core.services.onboarding import new_hire_groups

    with container.sessions() as s:
        assert [g.chat_id for g in new_hire_groups(container.ctx, s)] == ["new-hires"]
    container.ctx.config = container.ctx.config.model_copy(
        update={"membership": container.ctx.config.membership.model_copy(
            update={"new_hire_groups": ("sandbox:managers",)})})
    with container.sessions() as s:
        assert [g.chat_id for g in new_hire_groups(container.ctx, s)] == ["managers"]
