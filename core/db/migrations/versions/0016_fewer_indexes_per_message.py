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
  PostgreSQL in place of the unique constraint (its index built once more) and the id's index goes; on
  SQLite the table is rebuilt without a rowid, so the key is the table itself, one b-tree instead of two. The rebuild
  copies every delivery once: on a large SQLite file it takes a while, in the migration's one transaction.
"""
import sqlalchemy as sa
from alembic import op

revision = 'fewer_indexes_01'
down_revision = 'sqlite_whole_seconds_01'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_messages_group_sent', 'messages', ['group_id', 'sent_at'])
    op.drop_index('ix_messages_group_id', table_name='messages')
    op.drop_index('ix_messages_sent_at', table_name='messages')
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint('pk_inbound_events', 'inbound_events', type_='primary')
        op.drop_constraint('uq_inbound_events_platform', 'inbound_events', type_='unique')
        op.create_primary_key('pk_inbound_events', 'inbound_events', ['platform', 'event_id'])
        op.drop_column('inbound_events', 'id')
        return
    op.execute("CREATE TABLE inbound_events_new (platform VARCHAR(16) NOT NULL, event_id VARCHAR(200) NOT NULL, "
               "kind VARCHAR(32) NOT NULL, received_at DATETIME NOT NULL, "
               "CONSTRAINT pk_inbound_events PRIMARY KEY (platform, event_id)) WITHOUT ROWID")
    op.execute("INSERT INTO inbound_events_new (platform, event_id, kind, received_at) "
               "SELECT platform, event_id, kind, received_at FROM inbound_events")
    op.execute("DROP TABLE inbound_events")
    op.execute("ALTER TABLE inbound_events_new RENAME TO inbound_events")


def downgrade() -> None:
    op.create_index('ix_messages_sent_at', 'messages', ['sent_at'])
    op.create_index('ix_messages_group_id', 'messages', ['group_id'])
    op.drop_index('ix_messages_group_sent', table_name='messages')
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint('pk_inbound_events', 'inbound_events', type_='primary')
        op.add_column('inbound_events', sa.Column('id', sa.Integer(), sa.Identity(), nullable=False))
        op.create_primary_key('pk_inbound_events', 'inbound_events', ['id'])
        op.create_unique_constraint('uq_inbound_events_platform', 'inbound_events', ['platform', 'event_id'])
        return
    op.execute("CREATE TABLE inbound_events_old (id INTEGER NOT NULL, platform VARCHAR(16) NOT NULL, "
               "event_id VARCHAR(200) NOT NULL, kind VARCHAR(32) NOT NULL, received_at DATETIME NOT NULL, "
               "CONSTRAINT pk_inbound_events PRIMARY KEY (id), "
               "CONSTRAINT uq_inbound_events_platform UNIQUE (platform, event_id))")
    op.execute("INSERT INTO inbound_events_old (platform, event_id, kind, received_at) "
               "SELECT platform, event_id, kind, received_at FROM inbound_events")
    op.execute("DROP TABLE inbound_events")
    op.execute("ALTER TABLE inbound_events_old RENAME TO inbound_events")
