"""End to end: members @-mention Steward's WeCom AI bot (智能机器人) in a governed WeCom group.

WeCom POSTs the AI bot's JSON callback `{"encrypt": ...}` (ReceiveId "", doc 101033) to /wecom/aibot of
the Flask app; the AI bot reports the group under its own chatid, which steward.yaml maps to the
governed appchat group (`aibot_chat_id`). A command's public answer goes back once through the
callback's response_url (doc 101138, a POST on the fake), private answers through the app's
message/send, and group posts of the ladder through appchat/send. A question @-mentioning Steward is
tracked (R4.3.1).
"""
from __future__ import annotations

import itertools
import json

import pytest
from sqlalchemy import select
from wechatpy.enterprise.crypto import WeChatCrypto

from connectors.wecom.verify import msg_signature
from core.config import parse_config
from core.db.models import Case, InboundEvent
from core.kernel.directory import find_account
from core.training.models import Question
from tests.conftest import build_container
from tests.e2e.platform_support import WeComSide, Wire, counts, deliver_all, group_yaml
from tests.fakes.wecom_api import FakeWeCom
from webhooks import create_app

BOT_CHAT = "wrkAIBOTe2e0001"
MiB = 1024 * 1024


class AibotSide(WeComSide):
    """The WeCom side, plus what the AI bot puts on the wire."""
    _msgids = itertools.count(1)

    def mention_payload(self, member: str, text: str, chat: str = BOT_CHAT) -> dict:
        return {"msgid": f"CAIQe2eAIBOT{next(self._msgids):06d}=", "aibotid": "AIBOTID", "chatid": chat,
                "chattype": "group", "from": {"userid": self.users[member]},
                "response_url": self.fake.response_url(chat), "msgtype": "text", "text": {"content": text}}

    def aibot(self, payload: dict | bytes, offset: int = 0, token: str | None = None) -> Wire:
        query, body = self.fake.aibot_callback(payload, int(self.clock.now().timestamp()) + offset, token=token)
        return Wire("/wecom/aibot", body, query=query)

    def mention(self, member: str, text: str, chat: str = BOT_CHAT) -> Wire:
        return self.aibot(self.mention_payload(member, text, chat))


def config_for(side: WeComSide):
    return parse_config("locale: en\n"
                        "templates:\n"
                        "  new-hire:\n"
                        "    discipline: {warnings_before_removal: 1, removal: auto, warning_expiry_days: 180}\n"
                        "groups:\n" + group_yaml(side, "onboarding-2026q4") + f"\n    aibot_chat_id: {BOT_CHAT}\n")


@pytest.fixture
def wecom(db_url, clock):
    with FakeWeCom() as fake:
        side = AibotSide(clock, fake)
        container = build_container(db_url, clock, config_for(side), fake.aibot_env(WECOM_AIBOT_NAME="Steward"))
        app = create_app(container)
        app.testing = True
        yield side, container, app.test_client()
        container.engine.dispose()


def accepted(response) -> None:
    assert (response.status_code, response.data) == (200, b""), (response.status_code, response.data[:300])


def test_the_url_handshake_answers_the_decrypted_echostr(wecom):
    side, container, client = wecom
    query, echostr = seal(side, "5927183360041957")
    query = {**query, "echostr": echostr}
    response = client.get("/wecom/aibot", query_string=query)
    assert (response.status_code, response.data) == (200, b"5927183360041957")
    assert client.get("/wecom/aibot", query_string={**query, "msg_signature": "0" * 40}).status_code == 401


def test_members_mention_steward_in_the_governed_group(wecom, clock):
    side, container, client = wecom
    fake, lead, bob = side.fake, side.users["lead"], side.users["bob"]

    # A member asks for the rules: answered privately (the app's message/send), nothing in the group.
    accepted(side.mention("bob", "@Steward rules").send(client))
    deliver_all(container, clock)
    [answer] = side.privates()
    assert answer.user == bob and "WeCom new hires" in answer.text
    assert side.posts() == [] and fake.aibot_replies == [] and fake.aibot_refused == []

    # `my` answers privately: the app's message/send to the member, never into the group.
    mark = side.mark()
    accepted(side.mention("bob", "@Steward my").send(client))
    deliver_all(container, clock)
    assert [p.user for p in side.privates(mark)] == [bob] and fake.aibot_replies == []

    # The lead warns bob by @-mentioning both: a first violation warns (R8.2.1) in the group.
    mark = side.mark()
    accepted(side.mention("lead", "@Steward warn @bobzhang R8.1.2 posting ads").send(client))
    deliver_all(container, clock)
    with container.sessions() as s:
        case = s.scalar(select(Case).where(Case.number == "C000001"))
        assert (case.outcome, case.outcome_clause, case.clause) == ("warning", "R8.2.1", "R8.1.2")
        assert case.decided_by == f"person:{find_account(s, 'wecom', lead).person_id}"
    [post] = side.posts(mark)
    assert post.chat == side.chat and "R8.2.1" in post.text and "posting ads" in post.text
    assert [p.user for p in side.privates(mark)] == [bob]

    # A question @-mentioning Steward is tracked (R4.3.1); the asker alone hears that it was noted.
    replies, mark = len(fake.aibot_replies), side.mark()
    accepted(side.mention("carol", "@Steward when does tomorrow's session start?").send(client))
    deliver_all(container, clock)
    with container.sessions() as s:
        [question] = s.scalars(select(Question)).all()
        assert question.status == "open" and "tomorrow's session" in question.text
        assert question.account_id == find_account(s, "wecom", side.users["carol"]).id
    assert len(fake.aibot_replies) == replies and side.posts(mark) == []
    assert [p.user for p in side.privates(mark)] == [side.users["carol"]]


def test_a_repeated_callback_is_handled_once(wecom, clock):
    side, container, client = wecom
    wire = side.mention("bob", "@Steward rules")
    accepted(wire.send(client))
    accepted(wire.send(client))        # WeCom repeats callbacks (doc 100719: de-duplicate on msgid)
    payload = side.mention_payload("bob", "@Steward rules")
    accepted(side.aibot(payload).send(client))
    clock.advance(seconds=30)
    accepted(side.aibot(payload).send(client))   # the same msgid, newly signed
    deliver_all(container, clock)
    assert len(side.privates()) == 2 and side.fake.aibot_replies == []
    with container.sessions() as s:
        assert len(s.scalars(select(InboundEvent).where(InboundEvent.platform == "wecom")).all()) == 2


def test_a_group_without_an_aibot_chat_id_is_told_it_is_not_governed(wecom, clock):
    side, container, client = wecom
    mark = side.mark()
    accepted(side.mention("bob", "@Steward rules", chat="wrkSOMEOTHERCHAT").send(client))
    deliver_all(container, clock)
    [private] = side.privates(mark)
    assert private.user == side.users["bob"] and side.fake.aibot_replies == []


def test_card_clicks_and_listed_events_are_answered_empty(wecom, clock):
    side, container, client = wecom
    mark = side.mark()          # after the start-up (discovery reads the directory)
    base = {"msgid": "CAIQe2eEVENT01=", "create_time": 1700000000, "aibotid": "AIBOTID",
            "from": {"userid": side.users["bob"]}, "msgtype": "event"}
    for event in ({"eventtype": "enter_chat"}, {"eventtype": "feedback_event", "feedback_event": {"id": "F", "type": 1}},
                  {"eventtype": "template_card_event", "template_card_event": {
                      "card_type": "button_interaction", "event_key": "no.such.action|1", "task_id": "t1"}}):
        accepted(side.aibot({**base, "msgid": base["msgid"] + event["eventtype"], "event": event}).send(client))
    assert deliver_all(container, clock) is None and side.sent(mark) == []


DEFECTS = {"wrong signature": 401, "stale timestamp": 401, "missing signature": 401,
           "malformed body": 400, "signed plaintext no JSON": 400, "body over 1 MiB": 413}


@pytest.mark.parametrize("defect", list(DEFECTS))
def test_bad_input_is_refused_and_writes_nothing(wecom, defect):
    side, container, client = wecom
    payload = side.mention_payload("lead", "@Steward warn @bobzhang R8.1.2 posting ads")
    good = side.aibot(payload)
    wire = {
        "wrong signature": lambda: side.aibot(payload, token="notTheAibotToken"),
        "stale timestamp": lambda: side.aibot(payload, offset=-600),
        "missing signature": lambda: Wire(good.path, good.body, query={k: v for k, v in good.query.items()
                                                                        if k != "msg_signature"}),
        "malformed body": lambda: Wire(good.path, b'{"encrypt": ', query=good.query),
        "signed plaintext no JSON": lambda: _signed_plaintext(side, "not json"),
        "body over 1 MiB": lambda: Wire(good.path, json.dumps({"encrypt": "A" * MiB}).encode(), query=good.query),
    }[defect]()
    before, mark = counts(container), side.mark()
    response = wire.send(client)
    assert response.status_code == DEFECTS[defect], response.data[:200]
    assert counts(container) == before and side.mark() == mark


def seal(side: AibotSide, plaintext: str) -> tuple[dict[str, str], str]:
    """Any plaintext sealed and signed as the AI bot does (ReceiveId ""): (query, encrypted)."""
    ts, nonce = str(int(side.clock.now().timestamp())), "1372623149"
    sealed = WeChatCrypto(side.fake.AIBOT_TOKEN, side.fake.AIBOT_AES_KEY, "").encrypt_message(plaintext, nonce, ts)
    encrypted = sealed.split("<Encrypt><![CDATA[", 1)[1].split("]]>", 1)[0]
    return {"msg_signature": msg_signature(side.fake.AIBOT_TOKEN, ts, nonce, encrypted), "timestamp": ts,
            "nonce": nonce}, encrypted


def _signed_plaintext(side: AibotSide, plaintext: str) -> Wire:
    query, encrypted = seal(side, plaintext)
    return Wire("/wecom/aibot", json.dumps({"encrypt": encrypted}).encode(), query=query)


def test_without_the_aibot_variables_the_path_is_not_found(db_url, clock):
    with FakeWeCom() as fake:
        side = AibotSide(clock, fake)
        container = build_container(db_url, clock, config_for(side), fake.env())
        try:
            client = create_app(container).test_client()
            before = counts(container)
            response = side.mention("bob", "@Steward rules").send(client)
            assert response.status_code == 404 and counts(container) == before
            assert container.connectors["wecom"].capabilities.sees_all_messages is False
        finally:
            container.engine.dispose()
