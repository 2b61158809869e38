"""one detector case per message: a partial unique index on cases (group_id, message_id) where detector is set

Revision ID: case_per_message_01
Revises: review_queue_01
Create Date: 2026-12-06

Before this index the check was the application's alone, and two edits of one message processed at the same
moment in two transactions could both open a case. Such duplicates are kept (a member's record is not
rewritten by a migration; an admin revokes a case with `revoke`), but every detector case of a message
after its first is given a message id of its own (`<id>~dup<case id>`) so the index can hold; the first
case keeps the message id, and new edits of the message find it.
"""
from alembic import op
import sqlalchemy as sa

revision = 'case_per_message_01'
down_revision = 'review_queue_01'
branch_labels = None
depends_on = None

DETECTED = sa.text("detector IS NOT NULL")


def upgrade() -> None:
    op.execute(
        "UPDATE cases SET message_id = substr(message_id, 1, 100) || '~dup' || CAST(id AS VARCHAR(12)) "
        "WHERE detector IS NOT NULL AND message_id IS NOT NULL AND EXISTS ("
        "SELECT 1 FROM cases AS first WHERE first.group_id = cases.group_id "
        "AND first.message_id = cases.message_id AND first.detector IS NOT NULL AND first.id < cases.id)")
    op.create_index('uq_cases_group_message_detected', 'cases', ['group_id', 'message_id'], unique=True,
                    postgresql_where=DETECTED, sqlite_where=DETECTED)


def downgrade() -> None:
    op.drop_index('uq_cases_group_message_detected', table_name='cases')
