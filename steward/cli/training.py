"""CLI commands of the training feature; `register` is called once by steward/cli/__init__.py.

`steward archive search|export|prune` (R3.2.2): the group archive from a terminal.
"""
from __future__ import annotations

import sys

import click

from steward.cli.common import DATE, DATE_HELP, build_container, friendly, local_moment


def _group(s, ref: str):
    """`platform:chat_id` or a bare chat id that is unique across platforms."""
    from sqlalchemy import select

    from core.db.models import Group
    platform, _, chat = ref.partition(":") if ":" in ref else ("", "", ref)
    query = select(Group).where(Group.chat_id == chat)
    if platform:
        query = query.where(Group.platform == platform)
    found = list(s.scalars(query))
    if len(found) != 1:
        raise click.UsageError(f"no group {ref!r}" if not found else
                               f"{ref!r} is ambiguous: write platform:chat_id")
    return found[0]


def register(main: click.Group) -> None:
    """Add this feature's commands to `main`."""
    @main.group()
    def archive() -> None:
        """The group archive (R3.2.2): search, export, retention."""

    @archive.command("search")
    @click.argument("words", nargs=-1, required=True)
    @click.option("--group", "group_ref", required=True, help="platform:chat_id (or a unique chat id).")
    @click.option("--since", type=DATE, help=f"From this date/time, {DATE_HELP}.")
    @click.option("--until", type=DATE, help=f"Before this date/time, {DATE_HELP}.")
    @click.option("--limit", type=click.IntRange(1, 1000), default=50, show_default=True)
    @friendly
    def archive_search(words, group_ref, since, until, limit) -> None:
        """Messages of a group containing every word (Chinese works without spaces)."""
        from core.training import archive_search as search
        container = build_container(with_connectors=False)
        container.check_migrated()
        tz = container.config.timezone
        with container.sessions() as s:
            group = _group(s, group_ref)
            rows = search.search(s, [group.id], " ".join(words), local_moment(since, tz), local_moment(until, tz),
                                 limit)
            for m in rows:
                click.echo(f"{search.local(m.sent_at, tz)} {m.user_id}: {m.text}")
        click.echo(f"times in {tz}", err=True)
        click.echo(f"{len(rows)} message(s)", err=True)

    @archive.command("export")
    @click.option("--group", "group_ref", required=True, help="platform:chat_id (or a unique chat id).")
    @click.option("--since", type=DATE, help=f"From this date/time, {DATE_HELP}.")
    @click.option("--until", type=DATE, help=f"Before this date/time, {DATE_HELP}.")
    @click.option("--format", "fmt", type=click.Choice(["md", "html", "json"]), default="md", show_default=True)
    @click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), help="File (default: stdout).")
    @friendly
    def archive_export(group_ref, since, until, fmt, output) -> None:
        """Export one group's messages for a period as Markdown, HTML or JSON."""
        from core.training import archive_search as search
        if since and until and since >= until:
            raise click.UsageError("--since must be before --until")
        container = build_container(with_connectors=False)
        container.check_migrated()
        tz = container.config.timezone
        since, until = local_moment(since, tz), local_moment(until, tz)
        with container.sessions() as s:
            group = _group(s, group_ref)
            rows = search.messages(s, group, since, until)
            text = search.render(group, rows, fmt, since, until, tz=tz)
        if output:
            with open(output, "w", encoding="utf-8") as f:
                f.write(text)
        else:
            sys.stdout.write(text)
        click.echo(f"exported {len(rows)} message(s)", err=True)

    @archive.command("prune")
    @click.option("--dry-run", is_flag=True, help="Only count what would be deleted.")
    @friendly
    def archive_prune(dry_run) -> None:
        """Delete messages older than each group's `training.archive_retention_days`."""
        from sqlalchemy import select

        from core.db.models import Group
        from core.training import archive_search as search
        container = build_container(with_connectors=False)
        container.check_migrated()
        now = container.ctx.clock.now()
        total = worded = 0
        with container.sessions.begin() as s:
            for group in s.scalars(select(Group).order_by(Group.id)):
                days = container.config.all_templates().get(group.template)
                days = days.training.archive_retention_days if days else None
                if days is None:
                    continue
                n = search.count_expired(s, group, days, now)
                reviews = search.count_expired_reviews(s, group, days, now)
                total, worded = total + n, worded + reviews
                click.echo(f"{group.platform}:{group.chat_id}: {n} message(s) older than {days} days"
                           + (f", {reviews} decided review item(s) with a member's words" if reviews else ""))
                if not dry_run:
                    search.prune(s, group, days, now, actor="cli")
        click.echo(f"{'would delete' if dry_run else 'deleted'} {total} message(s)"
                   + (f" and {'blank' if dry_run else 'blanked'} the member's words on {worded} decided review "
                      "item(s)" if worded else ""), err=True)
