"""What a messenger lets Steward do. Connectors declare these; the core plans with them (DESIGN.md)."""
from __future__ import annotations

from collections.abc import Iterator, Mapping
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


class _RealRows(Mapping[str, Capabilities]):
    """A live view of the real messengers' rows in core.platforms."""

    def _rows(self) -> dict[str, Capabilities]:
        from core import platforms
        return {info.id: info.capabilities for info in map(platforms.get, platforms.ids()) if info and info.real}

    def __getitem__(self, platform: str) -> Capabilities:
        return self._rows()[platform]

    def __iter__(self) -> Iterator[str]:
        return iter(self._rows())

    def __len__(self) -> int:
        return len(self._rows())


def __getattr__(name: str):
    """`BY_PLATFORM`, for callers not yet moved to core.platforms.capabilities(platform): a live view of
    the rows the connector registry registered (connectors/registry.py)."""
    if name == "BY_PLATFORM":
        return _RealRows()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
