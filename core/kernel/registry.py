"""The explicit list of every feature's commands and card actions. A feature adds its module here."""
from __future__ import annotations

from functools import lru_cache
from typing import Callable

from core.kernel.parser import Grammar
from core.kernel.spec import CommandSpec


def _modules():
    from core.assessment import commands as assessment_commands
    from core.discipline import commands as discipline_commands
    from core.discipline import lexicon_commands
    from core.membership import commands as membership_commands
    from core.training import commands as training_commands
    return (discipline_commands, lexicon_commands, membership_commands, training_commands,
            assessment_commands)


@lru_cache(maxsize=1)
def grammar() -> Grammar:
    specs: dict[str, CommandSpec] = {}
    for module in _modules():
        for spec in module.COMMANDS:
            if spec.name in specs:
                raise ValueError(f"command {spec.name!r} is registered twice")
            specs[spec.name] = spec
    return Grammar(specs)


@lru_cache(maxsize=1)
def card_actions() -> dict[str, Callable[..., None]]:
    """Card button action -> handler(runner, inv, value). Each handler checks permissions itself."""
    actions: dict[str, Callable[..., None]] = {}
    for module in _modules():
        for name, handler in getattr(module, "CARD_ACTIONS", {}).items():
            if name in actions:
                raise ValueError(f"card action {name!r} is registered twice")
            actions[name] = handler
    return actions
