"""What Steward knows about DingTalk (钉钉) without importing its SDKs: the registry reads this."""
from __future__ import annotations

from connectors.base import Manifest
from connectors.dingtalk.settings import ENV
from core.capabilities import Capabilities

CAPABILITIES = Capabilities(
    sees_all_messages=False, manages_any_group=False, remove_member=True, invite_member=True,
    # pin: /v1.0/im/topBoxes pins a card on top of a chat, never a member's message
    delete_others_messages=False, pin=False, ephemeral=False, cards=True, private_messages=True,
    # departures need the event subscription (HTTP or Stream): the connector narrows this without it
    departure_events=True, transport_without_public_url="Stream mode",
    list_members=True,                                # sceneGroups/members/batchQuery: scene groups only
    # oapi media/upload: image and file ≤ 20 MB (doc 0646); the same bound for what members send the robot.
    max_file_bytes=20 * 1024 * 1024,
)




MANIFEST = Manifest(
    id="dingtalk",
    display_name="DingTalk (钉钉)",
    env=ENV,
    endpoints={"robot": ("POST",), "events": ("POST",)},
    capabilities=CAPABILITIES,
    connector="connectors.dingtalk.connector:DingTalkConnector",
    column_aliases=("dingtalk id", "钉钉", "釘釘", "钉钉账号", "釘釘帳號"),
    extras={"stream": "connectors.dingtalk.stream:StreamRunner", "signin": "connectors.dingtalk.signin:DingTalkSignIn"},
)
