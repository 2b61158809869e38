"""What a command is: its name, aliases, the arguments it needs, who may run it, its handler.

Each feature declares its commands in one module (`core/<feature>/commands.py`); the registry
is what the features declare (`core/kernel/features.py`), handed over by the composition root.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

ANYONE = None


@dataclass(frozen=True)
class CommandSpec:
    name: str
    aliases: tuple[str, ...]                 # English and Chinese (zh-Hans and zh-Hant) words
    handler: Callable[..., None]             # handler(runner, inv, cmd, group, actor, locale)
    usage: str = ""
    needs_member: bool = False               # an @member (or a bare id in a 1:1 chat)
    needs_case: bool = False                 # a case number like C000012
    needs_text: bool = False                 # free text after the other arguments
    needs_group: bool = False                # runs in a group (or in a 1:1 chat naming one)
    roles: frozenset[str] | None = ANYONE    # checked by the runner against the command's group
    clause: str = "R7.1.2"                   # cited when a command is refused
    # `help` lists the command only to holders of these roles (when the handler checks them itself)
    listed_for: frozenset[str] | None = None
