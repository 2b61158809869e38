"""A fifth messenger defined only here (this folder plus the registry entry the test makes) governs a group
end to end, with no edit anywhere else: the group comes from steward.yaml, a lead's warnings climb the
ladder to a removal (R8.2.1, R8.2.2), an admin links two accounts, and an HR file onboards a new hire on it
(R2.1.2) through `steward onboard`."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from itertools import count

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from connectors import registry
from core.clock import FrozenClock
from core.config import parse_config
from core.db.models import Account, AuditEntry, Case, Membership
from steward.cli import main
from steward.worker import drain
from tests.conftest import build_container
from tests.connectors.pager.connector import MANIFEST
from tests.connectors.pager.contract import SECRET, sign_for_test
from webhooks import create_app

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)
CONFIG = """
locale: en
templates:
  new-hire:
    discipline: {warnings_before_removal: 1, removal: auto, warning_expiry_days: 180}
groups:
  - platform: pager
    chat_id: P-TRAIN
    name: Pager cohort
    kind: new-hire
    lead: pager:lead
    admins: [pager:admin]
    members: [pager:bob, pager:carol]
"""


@pytest.fixture
def deployment(sqlite_url, tmp_path):
    registry.register(MANIFEST)
    config_file = tmp_path / "steward.yaml"
    config_file.write_text(CONFIG, encoding="utf-8")
    container = build_container(sqlite_url, FrozenClock(NOW), parse_config(CONFIG), {"PAGER_SECRET": SECRET})
    try:
        yield container, create_app(container).test_client(), {
            "DATABASE_URL": sqlite_url, "STEWARD_CONFIG": str(config_file), "PAGER_SECRET": SECRET,
            "STEWARD_FILES_DIR": str(tmp_path / "files")}
    finally:
        container.engine.dispose()
        registry.unregister(MANIFEST.id)


_ids = count(1)


def says(client, user: str, text: str, *, chat: str = "P-TRAIN", to_bot: bool = True, direct: bool = False):
    body = json.dumps({"id": f"m{next(_ids)}", "user": user, "chat": chat, "text": text, "to_bot": to_bot,
                       "direct": direct}).encode()
    request = sign_for_test("hook", body, NOW)
    answer = client.post("/pager/hook", data=body, headers=dict(request.headers))
    assert answer.status_code == 200, answer.data


def sent(container) -> list[tuple[str, str]]:
    drain(container)
    return list(container.connectors["pager"].sent)


def test_a_group_on_a_fifth_messenger_is_governed_end_to_end(deployment, tmp_path):
    container, client, env = deployment

    # R8.2.1: the lead reports bob; the first violation warns, in the group and privately
    says(client, "lead", "warn bob R8.1.2 posting ads")
    pages = sent(container)
    assert any(chat == "P-TRAIN" and "R8.2.1" in text for chat, text in pages)
    assert any(chat == "bob" and "R8.1.2" in text for chat, text in pages)

    # R8.2.2: the next one removes him, through the pager's own call
    says(client, "lead", "warn bob R8.1.2 ads again")
    assert ("P-TRAIN", "remove bob") in sent(container)
    with container.sessions() as s:
        outcomes = [c.outcome for c in s.scalars(select(Case).order_by(Case.id))]
        bob = s.scalar(select(Account).where(Account.platform == "pager", Account.user_id == "bob"))
        assert outcomes == ["warning", "removal"]
        assert s.scalar(select(Membership.left_at).where(Membership.person_id == bob.person_id)) is not None

    # one person behind two accounts: the admin links carol's second pager account in a 1:1 chat
    says(client, "admin", "link carol pager:carol-desk", chat="admin", direct=True)
    drain(container)
    with container.sessions() as s:
        carol = s.scalar(select(Account).where(Account.platform == "pager", Account.user_id == "carol"))
        desk = s.scalar(select(Account).where(Account.platform == "pager", Account.user_id == "carol-desk"))
        assert desk is not None and desk.person_id == carol.person_id
        assert s.scalar(select(AuditEntry.id).where(AuditEntry.action.like("identity.%"))) is not None

    # R2.1.2: HR onboards a new hire whose pager account is in the column the manifest names ("pager id")
    hr_file = tmp_path / "new-hires.csv"
    hr_file.write_text("name,employee id,department,position,hire date,pager id\n"
                       "Dana Li,E1001,Engineering,Developer,2026-11-02,dana\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["onboard", str(hr_file)], env=env)
    assert result.exit_code == 0, result.output
    with container.sessions() as s:
        dana = s.scalar(select(Account).where(Account.platform == "pager", Account.user_id == "dana"))
        assert dana is not None and dana.person.employee_id == "E1001"
        assert s.scalar(select(Membership.id).where(Membership.person_id == dana.person_id)) is not None


def test_the_fifth_messengers_export_and_checks_reach_the_cli(deployment):
    """The manifest's extras give `steward pager ingest-archive` and pager lines in `steward config check`."""
    container, _client, env = deployment
    export = "\n".join([json.dumps({"id": "x1", "user": "bob", "chat": "P-TRAIN", "text": "hello all"}),
                        json.dumps({"id": "x2", "user": "carol", "chat": "P-TRAIN", "text": "加我微信 wx123456 代写作业"}),
                        "not json"]) + "\n"
    result = CliRunner().invoke(main, ["pager", "ingest-archive", "-"], env=env, input=export)
    assert result.exit_code == 1, result.output                  # the bad line is reported, the others land
    assert "ingested 2 group message(s), 0 already seen" in result.output
    assert "line 3: not a pager record" in result.output
    with container.sessions() as s:
        carol = s.scalar(select(Account).where(Account.platform == "pager", Account.user_id == "carol"))
        assert [c.message_id for c in s.scalars(select(Case).where(Case.account_id == carol.id))] == ["x2"]
    again = CliRunner().invoke(main, ["pager", "ingest-archive", "-"], env=env, input=export.splitlines()[1] + "\n")
    assert "ingested 0 group message(s), 1 already seen" in again.output

    added = CliRunner().invoke(main, ["group", "add", "--platform", "pager", "--chat-id", "P-SKILLS", "--name",
                                      "Pager skills", "--kind", "skills", "--lead", "pager:lead"], env=env)
    assert added.exit_code == 0, added.output                   # --platform knows it: registered after import
    streamed = CliRunner().invoke(main, ["stream", "--platform", "pager"], env=env)     # it offers no stream
    assert streamed.exit_code == 2 and "'pager' is not one of 'slack', 'dingtalk'" in streamed.output

    checked = CliRunner().invoke(main, ["config", "check"], env=env)
    assert "✓ pager: 1 group(s) page their members" in checked.output
    assert "pager" in CliRunner().invoke(main, ["--help"]).output
