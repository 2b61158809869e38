"""A poison message for tests: a deployment with one more feature whose message observer runs a statement
the database refuses whenever a message contains POISON — a real error from the real database (SQLite:
"Expression tree is too large"; PostgreSQL: an invalid cast, a DataError), as a member's message once caused
with a 1,200-word search."""
from __future__ import annotations

from sqlalchemy import text

from core.kernel.features import Feature, Features
from steward.features import FEATURES

POISON = "☠poison☠"


def _refused_statement(ctx, s, group_id, account_id, person_id, e) -> None:
    if POISON not in e.text:
        return
    if s.get_bind().dialect.name == "sqlite":
        s.execute(text("SELECT " + " + ".join(["1"] * 1200)))     # "Expression tree is too large"
    else:
        s.execute(text("SELECT CAST('not a number' AS integer)"))


POISONED = Feature(name="poisoned", observers=(_refused_statement,))


def poison(container) -> None:
    """Add the feature to a built container (the group commit and spool use its ctx)."""
    container.ctx.features = Features(FEATURES + (POISONED,))
