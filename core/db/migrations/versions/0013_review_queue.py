"""review queue: review_items, review_reports

Revision ID: review_queue_01
Revises: membership_truth_01
Create Date: 2026-12-06
"""
from alembic import op
import sqlalchemy as sa

import core.db.types

revision = 'review_queue_01'
down_revision = 'membership_truth_01'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'review_items',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=300), nullable=True),
        sa.Column('group_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('platform', sa.String(length=16), nullable=False),
        sa.Column('chat_id', sa.String(length=128), nullable=False),
        sa.Column('message_id', sa.String(length=128), nullable=True),
        sa.Column('person_id', sa.Integer(), nullable=True),
        sa.Column('account_id', sa.Integer(), nullable=True),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('category', sa.String(length=32), nullable=True),
        sa.Column('clause', sa.String(length=16), nullable=False),
        sa.Column('rule', sa.String(length=200), nullable=False),
        sa.Column('detector', sa.String(length=64), nullable=True),
        sa.Column('score', sa.Float(), nullable=True),
        sa.Column('severe', sa.Boolean(), nullable=False),
        sa.Column('ref', sa.String(length=64), nullable=True),
        sa.Column('reporters', sa.Integer(), nullable=False),
        sa.Column('created_at', core.db.types.UTCDateTime(), nullable=False),
        sa.Column('decided_by', sa.String(length=200), nullable=True),
        sa.Column('decided_at', core.db.types.UTCDateTime(), nullable=True),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('case_number', sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_review_items_account_id_accounts')),
        sa.ForeignKeyConstraint(['group_id'], ['groups.id'], name=op.f('fk_review_items_group_id_groups')),
        sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_review_items_person_id_people')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_review_items')),
        sa.UniqueConstraint('key', name=op.f('uq_review_items_key')),
    )
    with op.batch_alter_table('review_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_review_items_group_id'), ['group_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_review_items_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_review_items_person_id'), ['person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_review_items_created_at'), ['created_at'], unique=False)
    op.create_table(
        'review_reports',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('item_id', sa.Integer(), nullable=False),
        sa.Column('person_id', sa.Integer(), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('at', core.db.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['item_id'], ['review_items.id'], name=op.f('fk_review_reports_item_id_review_items')),
        sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_review_reports_person_id_people')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_review_reports')),
        sa.UniqueConstraint('item_id', 'person_id', name=op.f('uq_review_reports_item_id')),
    )
    with op.batch_alter_table('review_reports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_review_reports_item_id'), ['item_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('review_reports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_review_reports_item_id'))
    op.drop_table('review_reports')
    with op.batch_alter_table('review_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_review_items_created_at'))
        batch_op.drop_index(batch_op.f('ix_review_items_person_id'))
        batch_op.drop_index(batch_op.f('ix_review_items_status'))
        batch_op.drop_index(batch_op.f('ix_review_items_group_id'))
    op.drop_table('review_items')
