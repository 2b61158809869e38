"""`steward audit export`: the audit log for HR, legal and auditors (R8.2.3), from steward/cli/audit_export.py;
`steward audit verify`: its hash chain (core/kernel/audit.py, docs/audit-log.md)."""
from __future__ import annotations

import sys

import click

from steward.cli.common import DATE, DATE_HELP, build_container, fail, friendly


def register(main: click.Group) -> None:
    @main.group()
    def audit() -> None:
        """The append-only audit log."""

    @audit.command("export")
    @click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl", show_default=True)
    @click.option("--since", type=DATE, help=f"From this date/time, {DATE_HELP}.")
    @click.option("--until", type=DATE, help=f"Before this date/time, {DATE_HELP}.")
    @click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), help="File (default: stdout).")
    @friendly
    def audit_export(fmt: str, since, until, output: str | None) -> None:
        """Export the audit log (every decision and admin action) as JSON lines or CSV; times in the
        deployment's time zone, named on every row."""
        from steward.cli.audit_export import export

        container = build_container(with_connectors=False)
        container.check_migrated()
        stream = open(output, "w", encoding="utf-8", newline="") if output else sys.stdout
        try:
            count = export(container.sessions, stream, fmt, since, until, tz=container.config.timezone)
        finally:
            if output:
                stream.close()
        click.echo(f"exported {count} audit entries", err=True)

    @audit.command("verify")
    @click.option("--anchor", help="SEQ:HASH from an anchor message the admins received: the chain must still hold it.")
    @friendly
    def audit_verify(anchor: str | None) -> None:
        """Check the audit log's hash chain: the first broken or missing entry (exit 1), or OK and the head."""
        from core.kernel.audit import chain, verify

        expected = None
        if anchor:
            seq, _, digest = anchor.partition(":")
            if not seq.isdigit() or len(digest) != 64:
                fail("--anchor is SEQ:HASH, e.g. 1234:9f86d08…, as in the anchor message")
            expected = (int(seq), digest.lower())
        container = build_container(with_connectors=False)
        container.check_migrated()
        with container.sessions() as s:
            verdict = verify(chain(s), expected)
        if not verdict.ok:
            fail([f"audit log broken: {verdict.problem}",
                  f"intact up to seq={verdict.head_seq} hash={verdict.head_hash}"])
        click.echo(f"OK: {verdict.count} entries, head seq={verdict.head_seq} hash={verdict.head_hash}")

