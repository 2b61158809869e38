"""steward.yaml validation: every error names the key, the line and what is wrong."""
from pathlib import Path

import pytest

from core.config import load_config, parse_config
from core.errors import ConfigError

GROUP = """
groups:
  - platform: slack
    chat_id: C0TRAIN01
    name: 2026 Q4 new hires
    kind: new-hire
    lead: slack:U0LEAD01
    admins: [slack:U0ADMIN1]
"""


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as err:
        parse_config(text)
    return err.value.problems


def test_design_example_is_valid():
    text = Path(__file__).parents[2].joinpath("steward.yaml").read_text("utf-8")
    config = parse_config(text)
    assert config.locale == "zh-Hans" and config.groups


def test_defaults_for_builtin_kinds():
    config = parse_config(GROUP)
    tpl = config.template_for(config.groups[0])
    assert tpl.discipline.warnings_before_removal == 1 and tpl.discipline.removal == "auto"
    assert set(config.all_templates()) >= {"new-hire", "skills", "management", "other"}


@pytest.mark.parametrize("text,expected", [
    ("locale: fr\n", "steward.yaml:1: locale: Input should be"),
    ("timezone: Mars/Base\n", "steward.yaml:1: timezone: unknown time zone 'Mars/Base'"),
    ("lcoale: en\n", "steward.yaml:1: lcoale: unknown key"),
    ("templates:\n  new-hire:\n    discipline:\n      removal: sometimes\n",
     "steward.yaml:4: templates.new-hire.discipline.removal: Input should be 'auto' or 'confirm'"),
    ("templates:\n  new-hire:\n    discipline:\n      warnings_before_removal: -1\n",
     "steward.yaml:4: templates.new-hire.discipline.warnings_before_removal: Input should be greater than"),
    ("templates:\n  new-hire:\n    discipline:\n      warning_expiry_days: many\n",
     "warning_expiry_days: Input should be a valid integer"),
    (GROUP.replace("kind: new-hire", "kind: newhire"), "unknown group kind 'newhire'"),
    (GROUP.replace("lead: slack:U0LEAD01", "lead: U0LEAD01"), "groups[0].lead: 'U0LEAD01' is not an account"),
    (GROUP.replace("lead: slack:U0LEAD01", "lead: wecom:lily"), "wecom:lily is on another platform"),
    (GROUP.replace("platform: slack", "platform: teams"), "groups[0].platform: unknown platform 'teams' (known: slack, wecom, dingtalk, sandbox)"),
    (GROUP.replace("    admins: [slack:U0ADMIN1]\n", ""), "groups[0].admins: required key is missing"),
    (GROUP.replace("admins: [slack:U0ADMIN1]", "admins: []"), "groups[0].admins: "),
    (GROUP.replace("    name: 2026 Q4 new hires\n", ""), "steward.yaml:3: groups[0].name: required key is missing"),
    (GROUP.replace("chat_id: C0TRAIN01", "chat_id: 'C0 TRAIN'"), "chat_id must be"),
    (GROUP + GROUP.replace("groups:\n", ""), "listed twice"),
    ("locale: en\nlocale: zh-Hans\n", "line 2: locale: duplicate key"),
    ("groups: [\n", "not valid YAML"),
    ("- just\n- a list\n", "must be a mapping"),
    ("lexicon:\n  ads: ['  ']\n", "empty term"),
    ("roles:\n  admin: [nobody]\n", "is not an account"),
    ("roles:\n  janitor: [slack:U1]\n", "roles.janitor"),
])
def test_each_mistake_is_named(text, expected):
    found = problems(text)
    assert any(expected in p for p in found), found


def test_all_problems_are_reported_at_once():
    found = problems("locale: fr\nlcoale: en\ntimezone: Nowhere\n")
    assert len(found) == 3


def test_empty_file_is_a_valid_empty_configuration():
    assert parse_config("").groups == ()


@pytest.mark.parametrize("content,expected", [
    (None, "file not found"),
    (b"\xff\xfe\x00bad", "not UTF-8"),
    (b"a: 1\n" * 500_000, "too large"),
])
def test_unreadable_files(tmp_path, content, expected):
    path = tmp_path / "steward.yaml"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert expected in err.value.problems[0]


def test_hostile_yaml_tags_are_refused():
    found = problems("locale: !!python/object/apply:os.system ['echo hi']\n")
    assert found and "YAML tag tag:yaml.org,2002:python/object/apply" in found[0]


def test_confidence_thresholds_per_template():
    """templates.<kind>.moderation.act_at (R7.2.2): the default acts on every hit; a category may differ."""
    from core.config.schema import acts_alone
    config = parse_config(GROUP)
    assert acts_alone(config.template_for(config.groups[0]).moderation, "ads", 0.0)
    config = parse_config("templates:\n  new-hire:\n    moderation: {act_at: 0.95, act_at_by_category: {dlp: 0.5}}\n"
                          + GROUP)
    m = config.template_for(config.groups[0]).moderation
    assert not acts_alone(m, "ads", 0.9) and acts_alone(m, "ads", 0.95) and acts_alone(m, "dlp", 0.6)


@pytest.mark.parametrize("moderation,expected", [
    ("{act_at: 1.5}", "act_at: Input should be less than or equal to 1"),
    ("{act_at_by_category: {spam: 0.5}}", "unknown category 'spam'"),
    ("{act_at_by_category: {offtopic: 0.5}}", "unknown category 'offtopic'"),      # a nudge never acts
    ("{act_at_by_category: {ads: 2}}", "ads: 2.0 is not between 0 and 1"),
])
def test_confidence_thresholds_are_checked(moderation, expected):
    found = problems(f"templates:\n  new-hire:\n    moderation: {moderation}\n" + GROUP)
    assert any(expected in p for p in found), found
