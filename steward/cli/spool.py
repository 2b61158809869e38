"""`steward spool status|replay-dead`: what the fast-acknowledgement spool (STEWARD_SPOOL_DIR) holds."""
from __future__ import annotations

import click

from steward.cli.common import build_container, fail, friendly, synced_container


def register(main: click.Group) -> None:
    @main.group()
    def spool() -> None:
        """The spool of STEWARD_SPOOL_DIR (fast acknowledgement)."""

    def _directory(container) -> str:
        if not container.settings.spool_dir:
            fail("STEWARD_SPOOL_DIR is not set: webhooks answer after the commit and nothing is spooled")
        return container.settings.spool_dir

    @spool.command("status")
    @friendly
    def spool_status() -> None:
        """Each spool file (owned by a live process, or left for adoption) and the set-aside events."""
        from steward.spool import status

        found = status(_directory(build_container(with_connectors=False)))
        for f in found["files"]:
            owner = "a live process" if f["owned"] else "nobody (adopted by the next web process or worker)"
            click.echo(f"{f['file']}: {f['pending_bytes']} bytes not yet committed; owned by {owner}")
        if not found["files"]:
            click.echo("no spool files")
        click.echo(f"set aside beside the spool: {found['dead_letters']} event(s)"
                   + (" — fix the cause, then `steward spool replay-dead`" if found["dead_letters"] else ""))
        from core.kernel.dead_events import count

        container = synced_container()
        with container.sessions() as s:
            dead = count(s)
        click.echo(f"set aside in the database: {dead} event(s)"
                   + (" — `steward events dead` lists them" if dead else ""))

    @spool.command("replay-dead")
    @friendly
    def spool_replay_dead() -> None:
        """Store the set-aside events again (once their cause is fixed); those that still fail stay set aside."""
        from core.kernel.inbound import ingest
        from steward.spool import replay_dead

        container = synced_container()
        stored, failing = replay_dead(_directory(container), lambda event: ingest(container.ctx, event))
        click.echo(f"stored {stored}, still failing {failing}")
        if failing:
            raise SystemExit(1)
