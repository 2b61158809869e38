"""What a messenger lets Steward do. Connectors declare these; the core plans with them (docs/design.md)."""
from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Capabilities:
    sees_all_messages: bool          # False: only @-mentions and 1:1 chats reach the bot
    manages_any_group: bool          # False: only groups the app itself created
    remove_member: bool
    invite_member: bool
    delete_others_messages: bool     # e.g. Slack only with an admin user token
    pin: bool
    ephemeral: bool                  # a message in the group that only one member sees
    cards: bool                      # interactive buttons
    private_messages: bool
    departure_events: bool
    transport_without_public_url: str | None = None  # "Socket Mode", "Stream mode" or None
    max_file_bytes: int = 20 * 1024 * 1024            # the platform's per-file limit (download and upload)
    list_members: bool = False                        # the connector's group_members(chat_id) works
    group_buttons: bool = True                        # buttons on messages posted in a group (not 1:1)
    chat_aliases: bool = False                        # a group may be known under a second chat id

    def with_(self, **changes: object) -> "Capabilities":
        return replace(self, **changes)


# The capability table of docs/design.md, as data. Connectors may narrow these at run time
# (e.g. Slack without SLACK_ADMIN_USER_TOKEN cannot delete other people's messages).
SLACK = Capabilities(
    sees_all_messages=True, manages_any_group=True, remove_member=True, invite_member=True,
    delete_others_messages=True, pin=True, ephemeral=True, cards=True, private_messages=True,
    departure_events=True, transport_without_public_url="Socket Mode",
    list_members=True,                                # conversations.members (channels:read / groups:read)
    # "Files up to 1 GB" (Slack help, "Upload files to Slack"; files.getUploadURLExternal takes the length).
    max_file_bytes=1024 * 1024 * 1024,
)
WECOM = Capabilities(
    sees_all_messages=False, manages_any_group=False, remove_member=True, invite_member=True,
    delete_others_messages=False, pin=False, ephemeral=False, cards=True, private_messages=True,
    departure_events=True, transport_without_public_url=None,
    list_members=True,                                # appchat/get: groups this app created
    group_buttons=False,                              # appchat/send carries no buttons: `seen N` instead
    chat_aliases=True,                                # the AI bot's chatid (aibot_chat_id) beside the appchat's
    # media/upload: a file ≤ 20 MB (doc 90253); media/get needs Range requests above 20 MB (doc 90254).
    max_file_bytes=20 * 1024 * 1024,
)
DINGTALK = Capabilities(
    sees_all_messages=False, manages_any_group=False, remove_member=True, invite_member=True,
    delete_others_messages=False, pin=True, ephemeral=False, cards=True, private_messages=True,
    departure_events=True, transport_without_public_url="Stream mode",
    list_members=True,                                # sceneGroups/members/batchQuery: scene groups only
    # oapi media/upload: image and file ≤ 20 MB (doc 0646); the same bound for what members send the robot.
    max_file_bytes=20 * 1024 * 1024,
)
FULL = SLACK.with_(transport_without_public_url=None)

BY_PLATFORM = {"slack": SLACK, "wecom": WECOM, "dingtalk": DINGTALK}
