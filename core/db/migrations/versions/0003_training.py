"""training feature tables: announcements and change notices, acknowledgements, questions,
shared materials and feedback

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""
from alembic import op
import sqlalchemy as sa

import core.db.types

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('training_announcements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('training_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('topic', sa.String(length=200), nullable=False),
    sa.Column('starts_at', core.db.types.UTCDateTime(), nullable=False),
    sa.Column('place', sa.String(length=500), nullable=True),
    sa.Column('points', sa.Text(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('publish_at', core.db.types.UTCDateTime(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('original_id', sa.Integer(), nullable=True),
    sa.Column('change_field', sa.String(length=16), nullable=True),
    sa.Column('old_value', sa.Text(), nullable=True),
    sa.Column('new_value', sa.Text(), nullable=True),
    sa.Column('created_at', core.db.types.UTCDateTime(), nullable=False),
    sa.Column('published_at', core.db.types.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['author_id'], ['people.id'], name=op.f('fk_training_announcements_author_id_people')),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], name=op.f('fk_training_announcements_group_id_groups')),
    sa.ForeignKeyConstraint(['original_id'], ['training_announcements.id'], name=op.f('fk_training_announcements_original_id_training_announcements')),
    sa.ForeignKeyConstraint(['training_id'], ['trainings.id'], name=op.f('fk_training_announcements_training_id_trainings')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_training_announcements'))
    )
    with op.batch_alter_table('training_announcements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_training_announcements_group_id'), ['group_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_training_announcements_original_id'), ['original_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_training_announcements_training_id'), ['training_id'], unique=False)

    op.create_table('training_feedback',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=True),
    sa.Column('anonymous', sa.Boolean(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('created_at', core.db.types.UTCDateTime(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('noted_by', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], name=op.f('fk_training_feedback_group_id_groups')),
    sa.ForeignKeyConstraint(['noted_by'], ['people.id'], name=op.f('fk_training_feedback_noted_by_people')),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_training_feedback_person_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_training_feedback'))
    )
    with op.batch_alter_table('training_feedback', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_training_feedback_group_id'), ['group_id'], unique=False)

    op.create_table('training_materials',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('sharer_id', sa.Integer(), nullable=False),
    sa.Column('url', sa.String(length=2000), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('decided_by', sa.Integer(), nullable=True),
    sa.Column('decided_at', core.db.types.UTCDateTime(), nullable=True),
    sa.Column('created_at', core.db.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['decided_by'], ['people.id'], name=op.f('fk_training_materials_decided_by_people')),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], name=op.f('fk_training_materials_group_id_groups')),
    sa.ForeignKeyConstraint(['sharer_id'], ['people.id'], name=op.f('fk_training_materials_sharer_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_training_materials'))
    )
    with op.batch_alter_table('training_materials', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_training_materials_group_id'), ['group_id'], unique=False)

    op.create_table('training_questions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('asker_id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.String(length=128), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('cluster_id', sa.Integer(), nullable=True),
    sa.Column('deadline_at', core.db.types.UTCDateTime(), nullable=False),
    sa.Column('answered_by', sa.Integer(), nullable=True),
    sa.Column('answer', sa.Text(), nullable=True),
    sa.Column('answered_at', core.db.types.UTCDateTime(), nullable=True),
    sa.Column('created_at', core.db.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_training_questions_account_id_accounts')),
    sa.ForeignKeyConstraint(['answered_by'], ['people.id'], name=op.f('fk_training_questions_answered_by_people')),
    sa.ForeignKeyConstraint(['asker_id'], ['people.id'], name=op.f('fk_training_questions_asker_id_people')),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], name=op.f('fk_training_questions_group_id_groups')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_training_questions'))
    )
    with op.batch_alter_table('training_questions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_training_questions_asker_id'), ['asker_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_training_questions_group_id'), ['group_id'], unique=False)

    op.create_table('training_acks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('announcement_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('at', core.db.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['announcement_id'], ['training_announcements.id'], name=op.f('fk_training_acks_announcement_id_training_announcements')),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_training_acks_person_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_training_acks')),
    sa.UniqueConstraint('announcement_id', 'person_id', name=op.f('uq_training_acks_announcement_id'))
    )


def downgrade() -> None:
    op.drop_table('training_acks')
    with op.batch_alter_table('training_questions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_training_questions_group_id'))
        batch_op.drop_index(batch_op.f('ix_training_questions_asker_id'))

    op.drop_table('training_questions')
    with op.batch_alter_table('training_materials', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_training_materials_group_id'))

    op.drop_table('training_materials')
    with op.batch_alter_table('training_feedback', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_training_feedback_group_id'))

    op.drop_table('training_feedback')
    with op.batch_alter_table('training_announcements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_training_announcements_training_id'))
        batch_op.drop_index(batch_op.f('ix_training_announcements_original_id'))
        batch_op.drop_index(batch_op.f('ix_training_announcements_group_id'))

    op.drop_table('training_announcements')
