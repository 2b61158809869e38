"""`steward wecom ingest-archive`: moderate WeCom group messages from the paid message archive."""
from __future__ import annotations

import sys

import click

from steward.cli.common import friendly, synced_container


def register(main: click.Group) -> None:
    @main.group()
    def wecom() -> None:
        """WeCom-specific commands."""

    @wecom.command("ingest-archive")
    @click.argument("source", type=click.File("rb"), default="-")
    @click.option("--skip-sender", multiple=True, help="A user id whose messages are not moderated (repeatable).")
    @friendly
    def ingest_archive(source, skip_sender: tuple[str, ...]) -> None:
        """Read decrypted 会话内容存档 records (JSON lines, FILE or -) and moderate the group messages.

        Re-ingesting the same records changes nothing (each message is de-duplicated on its msgid).
        Malformed lines are reported with their line number and skipped; the exit code is then 1.
        """
        from connectors.wecom.archive import ArchiveProblem, archive_events
        from core.kernel.inbound import ingest

        container = synced_container(with_connectors=False)
        problems: list[ArchiveProblem] = []
        new = duplicates = 0
        for event in archive_events(source, skip_senders=skip_sender, problems=problems):
            if ingest(container.ctx, event):
                new += 1
            else:
                duplicates += 1
        click.echo(f"ingested {new} group message(s), {duplicates} already seen")
        for problem in problems:
            click.secho(f"line {problem.line_no}: {problem.reason}", fg="red", err=True)
        if problems:
            sys.exit(1)
