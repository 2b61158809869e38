"""`steward db upgrade|current`: the database schema."""
from __future__ import annotations

import click

from steward.cli.common import build_container, friendly


def register(main: click.Group) -> None:
    @main.group()
    def db() -> None:
        """Database schema commands."""

    @db.command("upgrade")
    @friendly
    def db_upgrade() -> None:
        """Create or migrate the database schema to the current version."""
        from core.db.migrate import current_revision, upgrade

        container = build_container(with_connectors=False)
        container.check_database()
        upgrade(container.engine)
        click.echo(f"database at revision {current_revision(container.engine)}")

    @db.command("current")
    @friendly
    def db_current() -> None:
        """Show the schema revision of the database and of the code."""
        from core.db.migrate import current_revision, head_revision

        container = build_container(with_connectors=False)
        container.check_database()
        click.echo(f"database: {current_revision(container.engine) or 'empty'}; "
                   f"code: {head_revision(container.engine)}")
