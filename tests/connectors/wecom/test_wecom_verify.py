"""Bad input never gets past verify/parse: signatures, freshness, XML bombs, wrong corp, config."""
from __future__ import annotations

import pytest

from connectors.wecom.connector import WeComConnector
from connectors.wecom.verify import msg_signature
from connectors.wecom.xmlparse import parse_xml, text
from core.errors import BadRequest, Forbidden, VerificationFailed
from tests.connectors.wecom.wecom_helpers import (
    BASE_ENV,
    NONCE,
    TOKEN,
    encrypt,
    envelope,
    fixture_text,
    get,
    post,
    signed_get,
    signed_post,
    ts,
)

TEXT = "text__plain.xml"
BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{i} "{("&lol%s;" % (i - 1 if i > 1 else "")) * 10}">' for i in range(1, 10))
    + ']><xml><Encrypt>&lol9;</Encrypt></xml>'
)


def _signed_envelope(body: bytes, encrypted: str, clock) -> dict:
    timestamp = ts(clock)
    return {"msg_signature": msg_signature(TOKEN, timestamp, NONCE, encrypted), "timestamp": timestamp, "nonce": NONCE}


def test_echostr_is_answered_only_after_verification(connector, clock):
    request = signed_get("4711815132206419", clock)
    connector.verify(request)
    assert connector.receive(request).body == "4711815132206419"


def test_echostr_with_a_plus_decoded_as_space_still_verifies(connector, clock):
    """A proxy that decodes '+' as a space must not break the handshake (base64 has no spaces)."""
    request = next(r for r in (signed_get("echo-with-plus", clock) for _ in range(50)) if "+" in r.query["echostr"])
    mangled = get({**request.query, "echostr": request.query["echostr"].replace("+", " ")})
    connector.verify(mangled)
    assert connector.receive(mangled).body == "echo-with-plus"


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("problem", ["tampered", "stale", "future", "missing_msg_signature", "missing_timestamp",
                                     "missing_nonce", "bad_timestamp", "wrong_token"])
def test_bad_signatures_are_refused(connector, clock, method, problem):
    offset = {"stale": -301, "future": 301}.get(problem, 0)
    if method == "GET":
        request = signed_get("12345", clock, offset=offset)
        encrypted = request.query["echostr"]
    else:
        request = signed_post(fixture_text(TEXT), clock, offset=offset)
        encrypted = text(parse_xml(request.body), "Encrypt")
    query = dict(request.query)
    if problem == "tampered":
        query["msg_signature"] = query["msg_signature"][:-1] + ("0" if query["msg_signature"][-1] != "0" else "1")
    elif problem.startswith("missing_"):
        query.pop(problem.removeprefix("missing_"))
    elif problem == "bad_timestamp":
        query["timestamp"] = "12e3"
    elif problem == "wrong_token":
        query["msg_signature"] = msg_signature("someoneElsesToken", query["timestamp"], NONCE, encrypted)
    bad = get(query) if method == "GET" else post(request.body, query)
    with pytest.raises(BadRequest if problem == "bad_timestamp" else VerificationFailed):   # malformed: 400
        connector.verify(bad)


def test_the_window_edge_is_accepted(connector, clock):
    connector.verify(signed_post(fixture_text(TEXT), clock, offset=-300))


def test_window_is_a_constructor_option(deps, clock):
    tight = WeComConnector.from_env(BASE_ENV, deps, replay_window_seconds=30)
    with pytest.raises(VerificationFailed):
        tight.verify(signed_post(fixture_text(TEXT), clock, offset=-31))


def test_body_swapped_under_a_valid_signature_is_refused(connector, clock):
    genuine = signed_post(fixture_text(TEXT), clock)
    other = envelope(encrypt(fixture_text("image__photo.xml")))
    with pytest.raises(VerificationFailed):
        connector.verify(post(other, genuine.query))


def test_contact_callback_uses_its_own_token(connector, clock):
    """A payload signed with the app token is refused on /wecom/contacts."""
    app_signed = signed_post(fixture_text("change_contact_delete_user__resigned.xml"), clock, "callback")
    with pytest.raises(VerificationFailed):
        connector.verify(post(app_signed.body, app_signed.query, "contacts"))


def test_contacts_endpoint_is_forbidden_when_not_configured(deps, clock):
    env = {k: v for k, v in BASE_ENV.items() if not k.startswith("WECOM_CONTACT_")}
    bare = WeComConnector.from_env(env, deps)
    request = signed_post(fixture_text("change_contact_delete_user__resigned.xml"), clock, "contacts")
    with pytest.raises(Forbidden):
        bare.verify(request)
    with pytest.raises(Forbidden):
        bare.receive(request)
    assert bare.capabilities.departure_events is False


@pytest.mark.parametrize("body", [
    BILLION_LAUGHS.encode(),
    b'<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><xml><Encrypt>&xxe;</Encrypt></xml>',
    b'<!DOCTYPE xml><xml><Encrypt>abc</Encrypt></xml>',
], ids=["billion_laughs", "external_entity", "bare_doctype"])
def test_xml_with_dtd_is_refused_without_expansion(connector, clock, body):
    request = post(body, {"msg_signature": "0" * 40, "timestamp": ts(clock), "nonce": NONCE})
    # refused by the DTD check itself, which runs before any entity could be expanded
    with pytest.raises(BadRequest, match="DTD or entities"):
        connector.verify(request)
    with pytest.raises(BadRequest, match="DTD or entities"):
        connector.receive(request)


@pytest.mark.parametrize("body", [b"", b"<xml><Encrypt>abc</Encrypt>", b"not xml", b"<root><Encrypt>a</Encrypt></root>",
                                  b"<xml><Encrypt>a</Encrypt><Encrypt>b</Encrypt></xml>"],
                         ids=["empty", "unclosed", "text", "wrong_root", "duplicate_encrypt"])
def test_malformed_outer_xml_is_a_bad_request(connector, clock, body):
    with pytest.raises(BadRequest):
        connector.verify(post(body, {"msg_signature": "0" * 40, "timestamp": ts(clock), "nonce": NONCE}))


def test_dtd_inside_the_encrypted_message_is_refused(connector, clock):
    request = signed_post(BILLION_LAUGHS.replace("<Encrypt>&lol9;</Encrypt>", "<MsgType>&lol9;</MsgType>"), clock)
    connector.verify(request)                      # the signature is genuine ...
    with pytest.raises(BadRequest):
        connector.receive(request)                   # ... but the plaintext is refused unexpanded


@pytest.mark.parametrize("plaintext", ["<xml><MsgType>text", "plain words", "<xml><Content>hi</Content></xml>"],
                         ids=["unclosed", "not_xml", "no_msgtype"])
def test_malformed_decrypted_message_is_a_bad_request(connector, clock, plaintext):
    request = signed_post(plaintext, clock)
    connector.verify(request)
    with pytest.raises(BadRequest):
        connector.receive(request)


def test_signed_garbage_ciphertext_is_a_bad_request(connector, clock):
    encrypted = "bm90IGEgcmVhbCBjaXBoZXJ0ZXh0"
    request = post(envelope(encrypted), _signed_envelope(b"", encrypted, clock))
    with pytest.raises(BadRequest):              # the signature holds; verify() decrypts, and cannot
        connector.verify(request)


def test_message_for_another_corp_is_forbidden(connector, clock):
    request = signed_post(fixture_text(TEXT), clock, corp_id="wwsomeoneelse01")
    with pytest.raises(Forbidden):               # same token and key, so the signature holds; the
        connector.verify(request)                # decrypted receiveid names another corp


def test_unknown_method_is_a_bad_request(connector, clock):
    request = signed_post(fixture_text(TEXT), clock)
    with pytest.raises(BadRequest):
        connector.verify(type(request)("PUT", request.path, request.endpoint, request.headers, request.query,
                                       request.body))
