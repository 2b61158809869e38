"""Commands and card actions of the training feature (registered in core/services/command_registry.py)."""
from __future__ import annotations

from core.commands.spec import CommandSpec

COMMANDS: tuple[CommandSpec, ...] = ()
CARD_ACTIONS: dict = {}
