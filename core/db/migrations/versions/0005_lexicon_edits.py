"""lexicon edits made by admins in the chat

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""
from alembic import op
import sqlalchemy as sa

import core.db.types

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('lexicon_edits',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('category', sa.String(length=32), nullable=False),
    sa.Column('term', sa.String(length=200), nullable=False),
    sa.Column('op', sa.String(length=8), nullable=False),
    sa.Column('by', sa.String(length=200), nullable=False),
    sa.Column('at', core.db.types.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lexicon_edits'))
    )


def downgrade() -> None:
    op.drop_table('lexicon_edits')
