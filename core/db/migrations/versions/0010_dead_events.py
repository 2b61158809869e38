"""dead_events: inbound events set aside after failing on their own (poison messages)

Revision ID: dead_events_01
Revises: replay_guard_01
Create Date: 2026-12-06
"""
from alembic import op
import sqlalchemy as sa

from core.db.types import UTCDateTime

revision = 'dead_events_01'
down_revision = 'replay_guard_01'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'dead_events',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('platform', sa.String(length=16), nullable=False),
        sa.Column('event_id', sa.String(length=200), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('chat_id', sa.String(length=200), nullable=True),
        sa.Column('event', sa.JSON(), nullable=False),
        sa.Column('error', sa.Text(), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('set_aside_at', UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_dead_events')),
        sa.UniqueConstraint('platform', 'event_id', name=op.f('uq_dead_events_platform')),
    )


def downgrade() -> None:
    op.drop_table('dead_events')
