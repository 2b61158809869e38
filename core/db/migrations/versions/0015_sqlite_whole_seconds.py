"""SQLite: datetimes written by the batch statements in SQLAlchemy's text form, ".000000" included

Revision ID: sqlite_whole_seconds_01
Revises: case_per_message_01
Create Date: 2026-12-07

The statements of core/db/upsert.py (deliveries, the archive, jobs, the outbox, acknowledgements ...) had
sent SQLite a naive datetime, which sqlite3's default adapter wrote without ".000000" for a whole second
("2026-12-07 09:00:00"), where SQLAlchemy writes and binds "2026-12-07 09:00:00.000000". SQLite compares
the texts, so such a row read as earlier than the same moment bound by any query. This gives those values
the fraction; a value already in that form, and every other column, is left as it is. The audit log is
written by SQLAlchemy only (and its hash chain is not rewritten). PostgreSQL stores timestamps, not text:
nothing to do.
"""
from alembic import op
import sqlalchemy as sa

revision = 'sqlite_whole_seconds_01'
down_revision = 'case_per_message_01'
branch_labels = None
depends_on = None

WHOLE_SECOND = "'[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9]'"
SKIPPED = {"audit_log", "alembic_version"}


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    inspector = sa.inspect(bind)
    for table in inspector.get_table_names():
        if table in SKIPPED:
            continue
        for column in inspector.get_columns(table):
            if isinstance(column["type"], sa.DateTime):
                name = f'"{column["name"]}"'
                op.execute(f'UPDATE "{table}" SET {name} = {name} || \'.000000\' '
                           f"WHERE {name} GLOB {WHOLE_SECOND}")


def downgrade() -> None:
    pass     # the longer form is what SQLAlchemy writes itself: nothing to undo
