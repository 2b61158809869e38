"""membership truth: memberships.admission, groups.unattended_since, identity_conflicts

Revision ID: membership_truth_01
Revises: console_01
Create Date: 2026-12-06
"""
from alembic import op
import sqlalchemy as sa

import core.db.types

revision = 'membership_truth_01'
down_revision = 'console_01'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.add_column(sa.Column('admission', sa.String(length=32), nullable=True))
    # stays recorded before admission was tracked are taken as they were: never held after an upgrade
    op.execute("UPDATE memberships SET admission = 'recorded' WHERE admission IS NULL")
    with op.batch_alter_table('groups', schema=None) as batch_op:
        batch_op.add_column(sa.Column('unattended_since', core.db.types.UTCDateTime(), nullable=True))
    op.create_table(
        'identity_conflicts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('person_id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=16), nullable=False),
        sa.Column('value', sa.String(length=320), nullable=False),
        sa.Column('reason', sa.String(length=32), nullable=False),
        sa.Column('candidates', sa.JSON(), nullable=False),
        sa.Column('created_at', core.db.types.UTCDateTime(), nullable=False),
        sa.Column('resolved_at', core.db.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['account_id'], ['accounts.id'],
                                name=op.f('fk_identity_conflicts_account_id_accounts')),
        sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_identity_conflicts_person_id_people')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_identity_conflicts')),
    )
    with op.batch_alter_table('identity_conflicts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_identity_conflicts_account_id'), ['account_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('identity_conflicts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_identity_conflicts_account_id'))
    op.drop_table('identity_conflicts')
    with op.batch_alter_table('groups', schema=None) as batch_op:
        batch_op.drop_column('unattended_since')
    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.drop_column('admission')
