"""files members send Steward, and shared materials that are files

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""
from alembic import op
import sqlalchemy as sa

import core.db.types

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('received_files',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('platform', sa.String(length=16), nullable=False),
    sa.Column('message_id', sa.String(length=128), nullable=False),
    sa.Column('chat_id', sa.String(length=128), nullable=False),
    sa.Column('user_id', sa.String(length=128), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('handle', sa.String(length=2000), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('mime', sa.String(length=128), nullable=True),
    sa.Column('size', sa.BigInteger(), nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('intent', sa.Text(), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('received_at', core.db.types.UTCDateTime(), nullable=False),
    sa.Column('stored_at', core.db.types.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_received_files_person_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_received_files')),
    sa.UniqueConstraint('platform', 'message_id', name=op.f('uq_received_files_platform'))
    )
    with op.batch_alter_table('received_files', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_received_files_person_id'), ['person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_received_files_user_id'), ['user_id'], unique=False)

    with op.batch_alter_table('training_materials', schema=None) as batch_op:
        batch_op.add_column(sa.Column('file_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_training_materials_file_id_received_files'),
                                    'received_files', ['file_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('training_materials', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_training_materials_file_id_received_files'), type_='foreignkey')
        batch_op.drop_column('file_id')
    with op.batch_alter_table('received_files', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_received_files_user_id'))
        batch_op.drop_index(batch_op.f('ix_received_files_person_id'))
    op.drop_table('received_files')
