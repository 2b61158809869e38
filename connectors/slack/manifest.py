"""What Steward knows about Slack without importing slack_sdk: the registry reads this."""
from __future__ import annotations

from connectors.base import Manifest
from connectors.slack.settings import ENV
from core.capabilities import Capabilities

CAPABILITIES = Capabilities(
    sees_all_messages=True, manages_any_group=True, remove_member=True, invite_member=True,
    # A bot token may delete only the bot's own messages: the connector narrows this without
    # SLACK_ADMIN_USER_TOKEN (chat.delete docs).
    delete_others_messages=True, pin=True, ephemeral=True, cards=True, private_messages=True,
    departure_events=True, transport_without_public_url="Socket Mode",
    list_members=True,                                # conversations.members (channels:read / groups:read)
    # "Files up to 1 GB" (Slack help, "Upload files to Slack"; files.getUploadURLExternal takes the length).
    max_file_bytes=1024 * 1024 * 1024,
)




MANIFEST = Manifest(
    id="slack",
    display_name="Slack",
    env=ENV,
    endpoints={"events": ("POST",)},
    capabilities=CAPABILITIES,
    connector="connectors.slack.connector:SlackConnector",
    column_aliases=("slack id", "slack user id"),
    extras={"stream": "connectors.slack.socket:SocketModeRunner", "signin": "connectors.slack.signin:SlackSignIn"},
)
