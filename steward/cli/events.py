"""`steward events dead|replay`: inbound events set aside as poison messages (core/kernel/dead_events.py)."""
from __future__ import annotations

import click

from steward.cli.common import friendly, synced_container


def register(main: click.Group) -> None:
    @main.group()
    def events() -> None:
        """Inbound events that failed on their own and were set aside."""

    @events.command("dead")
    @click.option("--limit", default=50, show_default=True, help="How many to list, newest first.")
    @friendly
    def events_dead(limit: int) -> None:
        """List the set-aside events with their error."""
        from core.kernel.dead_events import count, listed

        container = synced_container()
        with container.sessions() as s:
            total, rows = count(s), listed(s, limit)
            for d in rows:
                click.echo(f"#{d.id} {d.set_aside_at:%Y-%m-%d %H:%M:%S} {d.platform} {d.kind} {d.event_id}"
                           f" (chat {d.chat_id or '-'}, {d.attempts} attempts): {d.error}")
        click.echo(f"set aside: {total} event(s)" + (" — fix the cause, then `steward events replay`" if total else ""))

    @events.command("replay")
    @click.argument("ids", nargs=-1, type=int)
    @friendly
    def events_replay(ids: tuple[int, ...]) -> None:
        """Ingest the set-aside events (all, or the given ids) again; those that still fail stay set aside."""
        from core.kernel.dead_events import replay
        from core.kernel.inbound import ingest

        container = synced_container()
        stored, failing = replay(container.ctx, lambda event: ingest(container.ctx, event), list(ids) or None)
        click.echo(f"stored {stored}, still failing {failing}")
        if failing:
            raise SystemExit(1)
