"""steward.yaml `membership:`: defaults keep old files valid; a bad key or value is named."""
from __future__ import annotations

import pytest

from core.config import parse_config
from core.errors import ConfigError


def test_defaults():
    m = parse_config("locale: en\n").membership
    assert (m.new_hire_groups, m.ack_reminder_hours, m.import_max_rows) == ((), 48, 5000)
    assert (m.onboarding_rules, m.unadmitted) == ((), "hold")


@pytest.mark.parametrize("text,named", [
    ("membership: {new_hire_groups: [new-hires]}", "platform:chat_id"),
    ("membership: {ack_reminder_hours: 0}", "ack_reminder_hours"),
    ("membership: {import_max_rows: -1}", "import_max_rows"),
    ("membership: {welcome: yes}", "welcome"),
    ("membership: {unadmitted: kick}", "unadmitted"),
])
def test_bad_settings_are_named(text, named):
    with pytest.raises(ConfigError) as err:
        parse_config(text + "\n")
    assert named in " ".join(err.value.problems)


def test_configured_new_hire_groups_choose_where_hr_files_go(container):
    from core.membership.onboarding import new_hire_groups

    with container.sessions() as s:
        assert [g.chat_id for g in new_hire_groups(container.ctx, s)] == ["new-hires"]
    container.ctx.config = container.ctx.config.model_copy(
        update={"membership": container.ctx.config.membership.model_copy(
            update={"new_hire_groups": ("sandbox:managers",)})})
    with container.sessions() as s:
        assert [g.chat_id for g in new_hire_groups(container.ctx, s)] == ["managers"]


RULES = """locale: en
membership:
  onboarding_rules:
    - departments: [销售部, "7"]
      training: onboarding
    - training: everyone
    - positions: ["  "]
      training: bad code
    - departments: [R&D]
      training: rd
      groups: [x]
"""


def test_onboarding_rules_are_checked_with_file_and_line():
    with pytest.raises(ConfigError) as err:
        parse_config(RULES, source="steward.yaml")
    assert err.value.problems == [
        "steward.yaml:6: membership.onboarding_rules[1]: a rule needs departments, positions or both "
        "(otherwise it would take everyone)",
        "steward.yaml:7: membership.onboarding_rules[2].positions: empty entry",
        "steward.yaml:8: membership.onboarding_rules[2].training: String should match pattern "
        "'^[A-Za-z0-9_.-]{1,64}$'",
        "steward.yaml:11: membership.onboarding_rules[3].groups: unknown key (check the spelling; see "
        "steward.yaml in the README)",
    ]


@pytest.mark.parametrize("departments,position,matches", [
    (("销售部",), None, True),                     # a department name
    (("7", "12"), "anything", True),              # or the platform's department id
    (("财务部",), "Sales", False),
])
def test_a_rule_matches_by_department(departments, position, matches):
    rule = parse_config(RULES.split("    - training: everyone")[0]).membership.onboarding_rules[0]
    assert rule.matches(departments, position) is matches


def test_every_list_a_rule_has_must_match():
    rule = parse_config("membership:\n  onboarding_rules:\n    - {departments: [R&D], positions: [engineer], "
                        "training: rd}\n").membership.onboarding_rules[0]
    assert rule.matches(["r&d"], "Engineer") and not rule.matches(["R&D"], "Manager") \
        and not rule.matches([], "Engineer")
