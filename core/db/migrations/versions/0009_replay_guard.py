"""replay guard: seen_signatures (a signed request is accepted once, across processes)

Revision ID: replay_guard_01
Revises: audit_chain_01
Create Date: 2026-12-06
"""
from alembic import op
import sqlalchemy as sa

import core.db.types

revision = 'replay_guard_01'
down_revision = 'audit_chain_01'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('seen_signatures',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('expires_at', core.db.types.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_seen_signatures'))
    )
    with op.batch_alter_table('seen_signatures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_seen_signatures_expires_at'), ['expires_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('seen_signatures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_seen_signatures_expires_at'))
    op.drop_table('seen_signatures')
