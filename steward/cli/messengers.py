"""`steward <platform> ingest-archive`: moderate group messages a messenger exports but never sends us.

A connector offers this with the manifest extra "archive": a function
`(lines, *, skip_senders, problems) -> Iterator[Event]` that turns the export's records into events
(WeCom: the paid 会话内容存档, connectors/wecom/archive.py). The command is the same for every such messenger, and
found when it runs (`steward/cli/__init__.py`), so a messenger registered later has it too.
"""
from __future__ import annotations

import sys

import click

from connectors import registry
from steward.cli.common import friendly, synced_container


def platform_commands() -> dict[str, click.Group]:
    """`steward <platform> ...` for every messenger registered now that has an archive export."""
    return {m.id: _platform_group(m.id, m.display_name) for m in registry.manifests() if "archive" in m.extras}


def _platform_group(platform: str, display_name: str) -> click.Group:
    @click.group(name=platform, help=f"{display_name}-specific commands.")
    def group() -> None:
        pass

    @group.command("ingest-archive")
    @click.argument("source", type=click.File("rb"), default="-")
    @click.option("--skip-sender", multiple=True, help="A user id whose messages are not moderated (repeatable).")
    @friendly
    def ingest_archive(source, skip_sender: tuple[str, ...]) -> None:
        """Read the messenger's exported message records (JSON lines, FILE or -) and moderate the group messages.

        Re-ingesting the same records changes nothing (each message is de-duplicated on its id).
        Malformed lines are reported with their line number and skipped; the exit code is then 1.
        """
        from core.kernel.inbound import ingest

        archive_events = registry.manifest(platform).extra("archive")
        container = synced_container(with_connectors=False)
        problems: list = []                 # each has .line_no and .reason
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

    return group
