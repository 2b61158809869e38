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


#: What the core plans with for a platform that declared nothing: everything is possible. The rows of
#: the real messengers live in their connectors' manifests (connectors/<id>/manifest.py) and reach the
#: core through core.platforms.
FULL = Capabilities(
    sees_all_messages=True, manages_any_group=True, remove_member=True, invite_member=True,
    delete_others_messages=True, pin=True, ephemeral=True, cards=True, private_messages=True,
    departure_events=True, list_members=True, max_file_bytes=1024 * 1024 * 1024,
)
