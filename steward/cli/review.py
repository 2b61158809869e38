"""`steward review`: the admins' review queue (core/kernel/review.py, R7.2.2) from the command line —
its open items, and the dismissed ones as labelled negatives for `steward moderate --eval`."""
from __future__ import annotations

import json
import sys

import click

from steward.cli.common import DATE, DATE_HELP, build_container, friendly, local_moment


def register(main: click.Group) -> None:
    @main.group()
    def review() -> None:
        """The review queue: members' reports, detector hits below act_at, held links and shares."""

    @review.command("list")
    @friendly
    def review_list() -> None:
        """Every open item, oldest first: number, group, kind, suggested clause, reporters, text."""
        from sqlalchemy import select

        from core.db.models import Group
        from core.kernel.review import number, open_items
        from core.moderation.redact import redact

        container = build_container(with_connectors=False)
        container.check_migrated()
        with container.sessions() as s:
            items, total = open_items(s, None, limit=10_000)
            names = {g.id: g.name for g in s.scalars(select(Group))}
            for item in items:
                # member text on an admin's terminal: secrets masked, control characters (escapes) dropped
                text = "".join(ch for ch in " ".join(redact(item.text).split()) if ch.isprintable())
                click.echo(f"{number(item)}\t{names.get(item.group_id, item.group_id)}\t{item.kind}\t"
                           f"{item.clause or '-'}\t{item.reporters}\t{text[:120]}")
        more = f" ({total - len(items)} more after these)" if total > len(items) else ""
        click.echo(f"{total} open item(s){more}", err=True)

    @review.command("export-dismissed")
    @click.argument("output", type=click.Path(dir_okay=False, writable=True, allow_dash=True))
    @click.option("--since", type=DATE, help=f"Dismissed from this date/time, {DATE_HELP}.")
    @friendly
    def export_dismissed(output: str, since) -> None:
        """Dismissed reports and detector hits as JSON lines (text exactly as typed, label "benign", lang),
        the format `steward moderate --eval FILE` reads: the false alarms become the evaluation set."""
        from core.kernel import audit
        from core.kernel.review import dismissed, negative

        container = build_container(with_connectors=False)
        container.check_migrated()
        since_at = local_moment(since, container.config.timezone)
        with container.sessions.begin() as s:
            rows = [negative(item, group) for item, group in dismissed(s, since_at)]
            audit.record(s, at=container.clock.now(), actor="cli", action="review.exported", clause="R7.2.2",
                         count=len(rows), since=since_at.isoformat() if since_at else None)
        stream = sys.stdout if output == "-" else open(output, "w", encoding="utf-8")
        try:
            for row in rows:
                stream.write(json.dumps(row, ensure_ascii=False) + "\n")
        finally:
            if stream is not sys.stdout:
                stream.close()
        click.echo(f"exported {len(rows)} dismissed item(s) as negatives", err=True)
