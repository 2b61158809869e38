"""Files members send Steward, through each platform's real wire format, fake file API and the worker
(R5.2.1, R5.2.2 submissions; R3.1.3, R7.2.2, R2.3.1 shared materials).

A member sends a file in the 1:1 chat (Slack `file_share` with `files[]`, a WeCom app `file` message with
its MediaId, a DingTalk robot 1:1 `file` message with its downloadCode); the webhook only records it, the
worker fetches it through the platform's download API (files.info + url_private_download, media/get,
messageFiles/download + downloadUrl) within the limit, stores it by its SHA-256 and answers privately.
"""
from __future__ import annotations

import hashlib
import json

import pytest
from sqlalchemy import select

from core.assessment.models import Submission
from core.config import parse_config
from core.kernel.files import ReceivedFile
from core.training.models import Material
from tests.conftest import build_container
from tests.e2e.platform_support import SlackSide, WeComSide, deliver_all, group_yaml
from tests.e2e.test_assessment_platforms import click, lead_says, member_dm, when
from tests.fakes.slack_api import FakeSlack
from webhooks import create_app

LIMIT = 1024 * 1024            # assessment.max_file_mb: 1 (below every platform's own limit)
DOWNLOAD = {"slack": "files.download", "wecom": "media/get", "dingtalk": "/files/download"}
PDF = b"%PDF-1.4\n% week 1 report\n" + bytes(range(256)) * 40


@pytest.fixture
def deployment(db_url, clock, side, tmp_path):
    config = parse_config("locale: en\nassessment: {max_file_mb: 1}\ngroups:\n"
                          + group_yaml(side, training="onboarding") + "\n")
    container = build_container(db_url, clock, config, {**side.env(), "STEWARD_FILES_DIR": str(tmp_path / "files")})
    app = create_app(container)
    app.testing = True
    yield container, app.test_client(), tmp_path / "files"
    container.engine.dispose()


def send(client, container, clock, wire):
    response = wire.send(client)
    assert response.status_code == 200, response.data[:300]
    deliver_all(container, clock)


def sends_file(side, person: str, name: str, content: bytes | None, *, comment: str = "",
               claimed: int | None = None, chunked: bool = False):
    """The member's file message in the 1:1 chat, as the platform delivers it; the platform's file API
    will serve `content` (None: it does not know the file, as after a deletion or with a bad code)."""
    user, n = side.users[person], side.next_id()
    if isinstance(side, SlackSide):
        file_id = f"F0E2E{n:05d}"
        info = {"id": file_id, "name": name, "mimetype": "application/pdf", "size": claimed or len(content or b""),
                "mode": "hosted", "url_private_download": f"https://files.slack.com/files-pri/T0/{file_id}/{name}"}
        if content is not None:
            info = side.fake.add_file(file_id, name, content, user=user, claimed_size=claimed, chunked=chunked)
        ts = f"{int(side.clock.now().timestamp())}.{n:06d}"
        return side.event({"type": "message", "subtype": "file_share", "user": user, "text": comment, "ts": ts,
                           "files": [info], "upload": False, "channel": f"D{user[1:]}", "event_ts": ts,
                           "channel_type": "im"})
    if isinstance(side, WeComSide):
        media_id = f"1_e2e_media_{n}"
        if content is not None:
            side.fake.add_media(media_id, content, chunked=chunked)
        return side.encrypted(
            f"<xml><ToUserName><![CDATA[{side.fake.corp_id}]]></ToUserName><FromUserName><![CDATA[{user}]]>"
            f"</FromUserName><CreateTime>{int(side.clock.now().timestamp())}</CreateTime>"
            f"<MsgType><![CDATA[file]]></MsgType><MediaId><![CDATA[{media_id}]]></MediaId>"
            f"<FileName><![CDATA[{name}]]></FileName><MsgId>{7318463918273700000 + n}</MsgId>"
            f"<AgentID>{side.fake.agent_id}</AgentID></xml>")
    code = f"e2e-download-code-{n}"
    if content is not None:
        side.fake.add_file(code, content, chunked=chunked)
    payload = json.loads(side.robot_payload(user, ""))
    payload.update(conversationType="1", conversationId=f"cid1to1{user}", atUsers=[], isInAtList=False,
                   msgtype="file", content={"fileName": name, "downloadCode": code, "spaceId": "1", "fileId": str(n)})
    payload.pop("text", None)
    payload.pop("conversationTitle", None)
    return side.robot_signed(json.dumps(payload, ensure_ascii=False).encode())


def private_to(side, person: str, mark: int) -> list[str]:
    return [p.text for p in side.privates(mark) if p.user == side.users[person]]


def downloads(side) -> int:
    return len([c for c in side.fake.calls if getattr(c, "method", None) == DOWNLOAD[side.platform]
                or getattr(c, "path", None) == DOWNLOAD[side.platform]])


def test_a_file_is_fetched_stored_and_handed_in(side, deployment, clock):
    """R5.2.1: submitted the prescribed way, with the file's real SHA-256; R5.2.2: the type is checked."""
    container, client, files_dir = deployment
    send(client, container, clock, lead_says(
        side, f"assign title: Week 1 report due: {when(clock, days=2)} method: file pdf 1MB"))

    mark = side.mark()
    send(client, container, clock, sends_file(side, "bob", "deck.pptx", b"PK\x03\x04 slides"))
    [received] = private_to(side, "bob", mark)
    assert "deck.pptx" in received and "submit 1" in received and "share" in received
    mark = side.mark()
    send(client, container, clock, member_dm(side, "bob", "submit 1"))
    assert "not an accepted file type (pdf)" in private_to(side, "bob", mark)[-1]

    mark = side.mark()
    wire = sends_file(side, "bob", "week1-report.pdf", PDF)
    send(client, container, clock, wire)
    sha = hashlib.sha256(PDF).hexdigest()
    [received] = private_to(side, "bob", mark)
    assert "week1-report.pdf" in received and sha[:12] in received
    with container.sessions() as s:
        row = s.scalars(select(ReceivedFile).where(ReceivedFile.name == "week1-report.pdf")).one()
        assert (row.status, row.sha256, row.size) == ("stored", sha, len(PDF))
    assert (files_dir / sha[:2] / sha[2:4] / sha).read_bytes() == PDF

    before = downloads(side)
    send(client, container, clock, side.retry(wire))          # the platform delivers the message again
    assert downloads(side) == before, "a redelivered file message is not fetched twice"

    mark = side.mark()
    send(client, container, clock, member_dm(side, "bob", "submit 1"))
    receipt = private_to(side, "bob", mark)[-1]
    assert "on time" in receipt and sha[:12] in receipt and "R5.2.1" in receipt
    with container.sessions() as s:
        sub = s.scalars(select(Submission)).one()
        assert (sub.kind, sub.content, sub.checksum) == ("file", "week1-report.pdf", sha)


def test_a_file_over_the_limit_is_refused_and_nothing_is_stored(side, deployment, clock):
    """R5.2.2: a file larger than it claimed (a small size, or none, then 3 MiB without Content-Length):
    reading stops at the limit, the member is told the limit, nothing is kept."""
    container, client, files_dir = deployment
    big = b"x" * (3 * LIMIT)
    mark = side.mark()
    send(client, container, clock, sends_file(side, "bob", "huge.pdf", big, claimed=1000, chunked=True))
    [answer] = private_to(side, "bob", mark)
    assert "huge.pdf" in answer and "1.0 MB" in answer and "R5.2.2" in answer
    with container.sessions() as s:
        row = s.scalars(select(ReceivedFile)).one()
        assert row.status == "too_large" and row.sha256 is None
        assert LIMIT < row.size <= LIMIT + 128 * 1024, "the download stopped at the limit"
    assert not files_dir.exists() or not any(p.is_file() for p in files_dir.rglob("*"))

    mark = side.mark()
    send(client, container, clock, member_dm(side, "bob", "share"))
    assert "was too large" in private_to(side, "bob", mark)[-1]
    with container.sessions() as s:
        assert s.scalar(select(Material.id)) is None


def test_a_download_that_fails(side, deployment, clock):
    """A 5xx is retried by the job and the file arrives; a file the platform does not know (4xx, an
    errcode) fails with a clear reply."""
    container, client, _ = deployment
    if isinstance(side, SlackSide):
        side.fake.fail_next("files.download", status=503)
    elif isinstance(side, WeComSide):
        side.fake.fail("media/get", status=502)
    else:
        side.fake.server_error("/files/download")
    mark = side.mark()
    send(client, container, clock, sends_file(side, "bob", "notes.pdf", PDF))
    assert not private_to(side, "bob", mark)
    with container.sessions() as s:
        row = s.scalars(select(ReceivedFile)).one()
        assert (row.status, row.attempts) == ("pending", 1) and "50" in row.error
    clock.advance(seconds=60)
    deliver_all(container, clock)
    assert any("notes.pdf" in t and "Received" in t for t in private_to(side, "bob", mark))

    mark = side.mark()
    send(client, container, clock, sends_file(side, "bob", "gone.pdf", None))
    [answer] = private_to(side, "bob", mark)
    assert "gone.pdf" in answer and "could not be fetched" in answer and "R5.2.1" in answer
    with container.sessions() as s:
        assert s.scalar(select(ReceivedFile.status).where(ReceivedFile.name == "gone.pdf")) == "failed"


def test_a_shared_file_is_approved_and_posted_into_the_group(side, deployment, clock):
    """R3.1.3: the member shares the file they sent; R7.2.2: the lead approves on the card; the file is
    posted into the group through the platform's upload API, with attribution; R2.3.1: the library."""
    container, client, _ = deployment
    content = b"Onboarding cheat sheet\n" * 50
    send(client, container, clock, sends_file(side, "bob", "cheatsheet.pdf", content))
    mark = side.mark()
    send(client, container, clock, member_dm(side, "bob", "share Onboarding cheat sheet"))
    assert "M1" in private_to(side, "bob", mark)[-1]
    cards = [c for c in side.fake.calls[mark:] if "training.material_approve" in json.dumps(
        getattr(c, "args", None) or getattr(c, "body", None) or {}, ensure_ascii=False)]
    assert cards, "the lead gets the approval card"

    mark = side.mark()
    send(client, container, clock, click(side, "lead", "training.material_approve", "1"))
    if isinstance(side, SlackSide):
        [shared] = side.fake.state.shared
        assert (shared["channel"], shared["name"], shared["content"]) == (side.chat, "cheatsheet.pdf", content)
        assert "Shared by" in shared["initial_comment"] and "R3.1.3" in shared["initial_comment"]
        assert not side.fake.calls_to("files.upload"), "never the retired files.upload (v1)"
    elif isinstance(side, WeComSide):
        [(name, data)] = side.fake.uploads.values()
        assert (name, data) == ("cheatsheet.pdf", content)
        messages = side.fake.chats[side.chat].messages
        assert messages[-1]["msgtype"] == "file" and messages[-1]["file"]["media_id"] in side.fake.uploads
        assert "Shared by" in messages[-2]["text"]["content"]
    else:
        [(name, data)] = side.fake.uploads.values()
        assert (name, data) == ("cheatsheet.pdf", content)
        sent = [m for m in side.fake.messages if m.get("openConversationId") == side.chat]
        assert sent[-1]["msgKey"] == "sampleFile" and json.loads(sent[-1]["msgParam"])["fileName"] == "cheatsheet.pdf"
        assert "Shared by" in json.loads(sent[-2]["msgParam"])["content"]

    mark = side.mark()
    send(client, container, clock, member_dm(side, "carol", "materials"))
    assert "📎 cheatsheet.pdf" in private_to(side, "carol", mark)[-1]


@pytest.fixture
def slack_deployment(db_url, clock, tmp_path):
    with FakeSlack() as fake:
        side = SlackSide(clock, fake)
        config = parse_config("locale: en\ngroups:\n" + group_yaml(side, training="onboarding") + "\n")
        container = build_container(db_url, clock, config, {**side.env(), "STEWARD_FILES_DIR": str(tmp_path)})
        app = create_app(container)
        app.testing = True
        yield side, container, app.test_client()
        container.engine.dispose()


def test_slack_a_file_with_submit_as_its_comment_is_handed_in_once_stored(slack_deployment, clock):
    """R5.2.1: `submit 1` typed with the file runs when the file has arrived, not before."""
    side, container, client = slack_deployment
    send(client, container, clock, lead_says(side, f"assign title: Essay due: {when(clock, days=2)} method: file pdf"))
    mark = side.mark()
    send(client, container, clock, sends_file(side, "bob", "essay.pdf", PDF, comment="submit 1"))
    texts = private_to(side, "bob", mark)
    assert "Received essay.pdf" in texts[0] and "on time" in texts[1]
    with container.sessions() as s:
        assert s.scalar(select(Submission.checksum)) == hashlib.sha256(PDF).hexdigest()


def test_slack_a_file_shared_in_the_channel_goes_to_the_lead(slack_deployment, clock):
    """R3.1.3: `@Steward share` on a file in the channel queues it for the lead once it is stored; a file
    posted in the channel without it is not fetched."""
    side, container, client = slack_deployment
    bob = side.users["bob"]

    def channel_file(file_id: str, name: str, text: str):
        info = side.fake.add_file(file_id, name, b"notes " * 100, user=bob)
        ts = f"{int(clock.now().timestamp())}.{side.next_id():06d}"
        return side.event({"type": "message", "subtype": "file_share", "user": bob, "text": text, "ts": ts,
                           "files": [info], "channel": side.chat, "event_ts": ts, "channel_type": "channel"})

    send(client, container, clock, channel_file("F0CHAN0001", "holiday.jpg", "look at this"))
    assert not side.fake.calls_to("files.info")
    mark = side.mark()
    send(client, container, clock, channel_file("F0CHAN0002", "notes.pdf", "<@U0STEWARD> share Team notes"))
    assert side.fake.calls_to("files.info")
    assert any("notes.pdf" in t for t in private_to(side, "bob", mark))
    notices = [c.args for c in side.fake.calls_to("chat.postEphemeral") if c.args.get("user") == bob]
    assert any("M1" in n["text"] for n in notices), "the answer to `share`, in the channel, to bob alone"
    with container.sessions() as s:
        m = s.scalars(select(Material)).one()
        assert (m.title, m.url, m.status, m.file_id is not None) == ("Team notes", "notes.pdf", "pending", True)
