"""fewer indexes written per message: the archive's (group_id, sent_at) in place of two; deliveries keyed by
(platform, event_id) alone

Revision ID: fewer_indexes_01
Revises: sqlite_whole_seconds_01
Create Date: 2026-12-07

Every index is written for every message Steward receives (docs/scale.md, "A SQLite commit"):
- messages: every read by time names the group (a search, an export, retention), so one index on
  (group_id, sent_at) replaces ix_messages_group_id and ix_messages_sent_at, and still serves the group's
  foreign key.
- inbound_events: the surrogate id was never read. (platform, event_id) becomes the primary key: on
  PostgreSQL in place of the unique constraint, and the id's index goes; on SQLite the table is rebuilt
  without a rowid, so the key is the table itself, one b-tree instead of two, its rows copied in key order
  (a few seconds for millions of deliveries, while no other process can write the file).

On PostgreSQL the new indexes are built and the old ones dropped CONCURRENTLY, so ingest goes on meanwhile;
the rest changes only the catalogue, in a short transaction on inbound_events alone. The version before
this one runs on the new schema: it never reads the id nor names the indexes.
"""
import sqlalchemy as sa
from alembic import op

revision = 'fewer_indexes_01'
down_revision = 'sqlite_whole_seconds_01'
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # built CONCURRENTLY: a plain CREATE INDEX would hold every insert into a large archive (and with it
        # every webhook) for as long as the build takes; what follows only changes the catalogue
        _build_concurrently('ix_messages_group_sent', 'messages', 'group_id, sent_at')
        _build_concurrently('pk_inbound_events_key', 'inbound_events', 'platform, event_id', unique=True)
        with op.get_context().autocommit_block():
            op.execute("DROP INDEX CONCURRENTLY IF EXISTS ix_messages_group_id")
            op.execute("DROP INDEX CONCURRENTLY IF EXISTS ix_messages_sent_at")
        # the transaction locks the deliveries alone, so it cannot meet ingest (deliveries, then the archive)
        # in the other order; it waits at most lock_timeout for them (run it again if it gives up)
        op.execute("SET LOCAL lock_timeout = '5s'")
        op.execute("LOCK TABLE inbound_events IN ACCESS EXCLUSIVE MODE")
        op.drop_constraint('pk_inbound_events', 'inbound_events', type_='primary')
        op.drop_constraint('uq_inbound_events_platform', 'inbound_events', type_='unique')
        op.execute("ALTER TABLE inbound_events ADD CONSTRAINT pk_inbound_events "
                   "PRIMARY KEY USING INDEX pk_inbound_events_key")
        op.drop_column('inbound_events', 'id')
        return
    op.create_index('ix_messages_group_sent', 'messages', ['group_id', 'sent_at'])
    op.drop_index('ix_messages_group_id', table_name='messages')
    op.drop_index('ix_messages_sent_at', table_name='messages')
    op.execute("CREATE TABLE inbound_events_new (platform VARCHAR(16) NOT NULL, event_id VARCHAR(200) NOT NULL, "
               "kind VARCHAR(32) NOT NULL, received_at DATETIME NOT NULL, "
               "CONSTRAINT pk_inbound_events PRIMARY KEY (platform, event_id)) WITHOUT ROWID")
    op.execute("INSERT INTO inbound_events_new (platform, event_id, kind, received_at) "
               "SELECT platform, event_id, kind, received_at FROM inbound_events ORDER BY platform, event_id")
    op.execute("DROP TABLE inbound_events")
    op.execute("ALTER TABLE inbound_events_new RENAME TO inbound_events")


def _build_concurrently(name: str, table: str, columns: str, unique: bool = False) -> None:
    """CREATE INDEX CONCURRENTLY, outside the migration's transaction; an index a failed build left invalid
    is dropped and built again."""
    valid = op.get_bind().execute(sa.text(
        "SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass(:name)"), {"name": name}).scalar()
    if valid:
        return
    with op.get_context().autocommit_block():
        if valid is not None:
            op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")
        op.execute(f"CREATE {'UNIQUE ' if unique else ''}INDEX CONCURRENTLY {name} ON {table} ({columns})")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # the archive's indexes CONCURRENTLY, as on the way up: ingest goes on while they are built. The
        # deliveries' surrogate id cannot be: adding an identity column rewrites inbound_events under an
        # exclusive lock (webhooks wait, and the platforms retry, for as long as that takes)
        _build_concurrently('ix_messages_sent_at', 'messages', 'sent_at')
        _build_concurrently('ix_messages_group_id', 'messages', 'group_id')
        with op.get_context().autocommit_block():
            op.execute("DROP INDEX CONCURRENTLY IF EXISTS ix_messages_group_sent")
        op.execute("SET LOCAL lock_timeout = '5s'")
        op.drop_constraint('pk_inbound_events', 'inbound_events', type_='primary')
        op.add_column('inbound_events', sa.Column('id', sa.Integer(), sa.Identity(), nullable=False))
        op.create_primary_key('pk_inbound_events', 'inbound_events', ['id'])
        op.create_unique_constraint('uq_inbound_events_platform', 'inbound_events', ['platform', 'event_id'])
        return
    op.create_index('ix_messages_sent_at', 'messages', ['sent_at'])
    op.create_index('ix_messages_group_id', 'messages', ['group_id'])
    op.drop_index('ix_messages_group_sent', table_name='messages')
    op.execute("CREATE TABLE inbound_events_old (id INTEGER NOT NULL, platform VARCHAR(16) NOT NULL, "
               "event_id VARCHAR(200) NOT NULL, kind VARCHAR(32) NOT NULL, received_at DATETIME NOT NULL, "
               "CONSTRAINT pk_inbound_events PRIMARY KEY (id), "
               "CONSTRAINT uq_inbound_events_platform UNIQUE (platform, event_id))")
    op.execute("INSERT INTO inbound_events_old (platform, event_id, kind, received_at) "
               "SELECT platform, event_id, kind, received_at FROM inbound_events")
    op.execute("DROP TABLE inbound_events")
    op.execute("ALTER TABLE inbound_events_old RENAME TO inbound_events")
