"""membership feature tables: join applications, moves and acknowledgements

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""
from alembic import op
import sqlalchemy as sa

import core.db.types

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('acknowledgements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('sent_at', core.db.types.UTCDateTime(), nullable=False),
    sa.Column('acknowledged_at', core.db.types.UTCDateTime(), nullable=True),
    sa.Column('reminded_at', core.db.types.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], name=op.f('fk_acknowledgements_group_id_groups')),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_acknowledgements_person_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_acknowledgements')),
    sa.UniqueConstraint('person_id', 'group_id', name=op.f('uq_acknowledgements_person_id'))
    )
    with op.batch_alter_table('acknowledgements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_acknowledgements_group_id'), ['group_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_acknowledgements_person_id'), ['person_id'], unique=False)

    op.create_table('membership_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=True),
    sa.Column('department', sa.String(length=200), nullable=True),
    sa.Column('position', sa.String(length=200), nullable=True),
    sa.Column('asked', sa.String(length=16), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('decided_by', sa.String(length=200), nullable=True),
    sa.Column('decided_at', core.db.types.UTCDateTime(), nullable=True),
    sa.Column('created_at', core.db.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_membership_requests_account_id_accounts')),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], name=op.f('fk_membership_requests_group_id_groups')),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_membership_requests_person_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_membership_requests'))
    )
    with op.batch_alter_table('membership_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_membership_requests_group_id'), ['group_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_membership_requests_person_id'), ['person_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('membership_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_membership_requests_person_id'))
        batch_op.drop_index(batch_op.f('ix_membership_requests_group_id'))

    op.drop_table('membership_requests')
    with op.batch_alter_table('acknowledgements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_acknowledgements_person_id'))
        batch_op.drop_index(batch_op.f('ix_acknowledgements_group_id'))

    op.drop_table('acknowledgements')
