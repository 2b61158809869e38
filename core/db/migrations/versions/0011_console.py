"""the console: one-time sign-in links and sessions (hashed)

Revision ID: console_01
Revises: dead_events_01
Create Date: 2026-12-06
"""
from alembic import op
import sqlalchemy as sa

from core.db.types import UTCDateTime

revision = 'console_01'
down_revision = 'dead_events_01'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'console_links',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('created_by', sa.String(length=200), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('expires_at', UTCDateTime(), nullable=False),
        sa.Column('used_at', UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_console_links_account_id_accounts')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_console_links')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_console_links_token_hash')),
    )
    op.create_table(
        'console_sessions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('csrf', sa.String(length=64), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('person_id', sa.Integer(), nullable=False),
        sa.Column('method', sa.String(length=32), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('last_seen_at', UTCDateTime(), nullable=False),
        sa.Column('ended_at', UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['account_id'], ['accounts.id'],
                                name=op.f('fk_console_sessions_account_id_accounts')),
        sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_console_sessions_person_id_people')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_console_sessions')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_console_sessions_token_hash')),
    )
    with op.batch_alter_table('console_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_console_sessions_person_id'), ['person_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('console_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_console_sessions_person_id'))
    op.drop_table('console_sessions')
    op.drop_table('console_links')
