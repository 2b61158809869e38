"""What a command is: its name, aliases, the arguments it needs, who may run it, its handler.

Each feature declares its commands in one module (`core/<feature>/commands.py`); the registry
is what the features declare (`core/kernel/features.py`), handed over by the composition root.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

ANYONE = None

# Who may use the group a command resolves (where it was typed, `in:GROUP`, or chosen in a 1:1 chat); the
# runner decides it before the handler looks anything up (core/kernel/runner.py `CommandRunner._resolve_group`).
MEMBER = "member"      # an open member of the group, or a role holder there or organisation-wide
STAFF = "staff"        # a role holder in the group or organisation-wide (then `roles`, if set)
ITEM = "item"          # about a numbered item (case, question, material, ...): the item's group decides, through
                       # `CommandRunner.item_allowed`, before the handler says whether the item exists
OPEN = "open"          # no group's content: help, one's own record, applying to join; a group named with
                       # in:GROUP must be one the asker is in (else answered as a group that does not exist),
                       # unless the spec says `any_group` (an applicant is no member yet)
SCOPES = (MEMBER, STAFF, ITEM, OPEN)


@dataclass(frozen=True)
class CommandSpec:
    name: str
    aliases: tuple[str, ...]                 # English and Chinese (zh-Hans and zh-Hant) words
    handler: Callable[..., None]             # handler(runner, inv, cmd, group, actor, locale)
    usage: str = ""
    needs_member: bool = False               # an @member (or a bare id in a 1:1 chat)
    needs_case: bool = False                 # a case number like C000012
    needs_text: bool = False                 # free text after the other arguments
    needs_group: bool = True                 # runs in a group (or in a 1:1 chat naming one): the safe default
    roles: frozenset[str] | None = ANYONE    # checked by the runner against the command's group
    clause: str = "R7.1.2"                   # cited when a command is refused
    scope: str = MEMBER                      # who may use the group it resolves: MEMBER, STAFF, ITEM or OPEN
    any_group: bool = False                  # in:GROUP may name a group the asker is not in (applying to it)

    def __post_init__(self) -> None:
        if self.scope not in SCOPES:
            raise ValueError(f"command {self.name!r}: scope {self.scope!r} is none of {SCOPES}")
    # `help` lists the command only to holders of these roles (when the handler checks them itself)
    listed_for: frozenset[str] | None = None

