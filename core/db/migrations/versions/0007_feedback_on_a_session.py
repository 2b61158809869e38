"""feedback on a session: training_feedback.announcement_id

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25
"""
from alembic import op
import sqlalchemy as sa

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('training_feedback', schema=None) as batch_op:
        batch_op.add_column(sa.Column('announcement_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_training_feedback_announcement_id_training_announcements'),
                                    'training_announcements', ['announcement_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('training_feedback', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_training_feedback_announcement_id_training_announcements'),
                                 type_='foreignkey')
        batch_op.drop_column('announcement_id')
