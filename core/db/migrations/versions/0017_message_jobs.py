"""work for the worker written on the archived message: messages.job and its partial index

Revision ID: message_jobs_01
Revises: fewer_indexes_01
Create Date: 2026-12-07

A message that may ask or answer a question (R4.3.1) was a row of scheduled_jobs: a table and two indexes
written for it. It is now a column of the message's own row, and an index holding only the messages whose
job is still to run (core/kernel/message_jobs.py).

On PostgreSQL the column is added without a default (the catalogue alone changes) and the index is built
CONCURRENTLY, so ingest goes on meanwhile. The version before this one runs on the new schema: it never
names the column. Its workers do not run these jobs: they wait for a worker of this version.
"""
import json
from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op

revision = 'message_jobs_01'
down_revision = 'fewer_indexes_01'
branch_labels = None
depends_on = None

PENDING = sa.text("job IS NOT NULL")


def upgrade() -> None:
    bind = op.get_bind()
    if 'job' not in {c['name'] for c in sa.inspect(bind).get_columns('messages')}:
        if bind.dialect.name == "postgresql":
            op.execute("SET LOCAL lock_timeout = '5s'")   # waits at most this long for ingest's locks
        op.add_column('messages', sa.Column('job', sa.Text(), nullable=True))
    if bind.dialect.name == "postgresql":
        valid = bind.execute(sa.text("SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass(:name)"),
                             {"name": "ix_messages_job"}).scalar()
        if valid:
            return
        with op.get_context().autocommit_block():
            if valid is not None:     # a build that failed left it invalid
                op.execute("DROP INDEX CONCURRENTLY IF EXISTS ix_messages_job")
            op.execute("CREATE INDEX CONCURRENTLY ix_messages_job ON messages (id) WHERE job IS NOT NULL")
        return
    op.create_index('ix_messages_job', 'messages', ['id'], sqlite_where=PENDING)


def downgrade() -> None:
    """Jobs still on messages are moved to scheduled_jobs first, so none is lost."""
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT id, job FROM messages WHERE job IS NOT NULL")).all()
    jobs = sa.table('scheduled_jobs', sa.column('key'), sa.column('kind'), sa.column('payload', sa.JSON),
                    sa.column('due_at', sa.DateTime), sa.column('status'), sa.column('attempts'),
                    sa.column('created_at', sa.DateTime))
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    for message_id, raw in rows:
        job = json.loads(raw)
        op.bulk_insert(jobs, [dict(key=f"{job['kind']}:message:{message_id}"[:200], kind=job['kind'],
                                   payload=job['payload'], due_at=now, status="pending", attempts=0, created_at=now)])
    op.drop_index('ix_messages_job', table_name='messages')
    op.drop_column('messages', 'job')
