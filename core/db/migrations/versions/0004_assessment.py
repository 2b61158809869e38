"""assessment feature tables

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""
from alembic import op
import sqlalchemy as sa

import core.db.types

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('assessment_schemes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('training_id', sa.Integer(), nullable=False),
    sa.Column('components', sa.JSON(), nullable=False),
    sa.Column('pass_mark', sa.Float(), nullable=False),
    sa.Column('honours_top', sa.Integer(), nullable=False),
    sa.Column('honours_threshold', sa.Float(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('published_at', core.db.types.UTCDateTime(), nullable=True),
    sa.Column('updated_at', core.db.types.UTCDateTime(), nullable=False),
    sa.Column('updated_by', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['training_id'], ['trainings.id'], name=op.f('fk_assessment_schemes_training_id_trainings')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assessment_schemes')),
    sa.UniqueConstraint('training_id', name=op.f('uq_assessment_schemes_training_id'))
    )
    op.create_table('assignments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('training_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('requirements', sa.Text(), nullable=False),
    sa.Column('due_at', core.db.types.UTCDateTime(), nullable=False),
    sa.Column('cutoff_at', core.db.types.UTCDateTime(), nullable=True),
    sa.Column('review_due_at', core.db.types.UTCDateTime(), nullable=False),
    sa.Column('method', sa.String(length=16), nullable=False),
    sa.Column('file_types', sa.String(length=200), nullable=False),
    sa.Column('max_size_mb', sa.Integer(), nullable=True),
    sa.Column('reviewers', sa.JSON(), nullable=False),
    sa.Column('rubric', sa.JSON(), nullable=False),
    sa.Column('component', sa.String(length=64), nullable=True),
    sa.Column('created_by', sa.Integer(), nullable=False),
    sa.Column('created_at', core.db.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['people.id'], name=op.f('fk_assignments_created_by_people')),
    sa.ForeignKeyConstraint(['training_id'], ['trainings.id'], name=op.f('fk_assignments_training_id_trainings')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assignments'))
    )
    with op.batch_alter_table('assignments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assignments_training_id'), ['training_id'], unique=False)

    op.create_table('component_scores',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('training_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('component', sa.String(length=64), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('entered_by', sa.Integer(), nullable=False),
    sa.Column('entered_at', core.db.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['entered_by'], ['people.id'], name=op.f('fk_component_scores_entered_by_people')),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_component_scores_person_id_people')),
    sa.ForeignKeyConstraint(['training_id'], ['trainings.id'], name=op.f('fk_component_scores_training_id_trainings')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_component_scores')),
    sa.UniqueConstraint('training_id', 'person_id', 'component', name=op.f('uq_component_scores_training_id'))
    )
    with op.batch_alter_table('component_scores', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_component_scores_person_id'), ['person_id'], unique=False)

    op.create_table('honours_consents',
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('consent', sa.Boolean(), nullable=False),
    sa.Column('updated_at', core.db.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_honours_consents_person_id_people')),
    sa.PrimaryKeyConstraint('person_id', name=op.f('pk_honours_consents'))
    )
    op.create_table('quizzes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('training_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('component', sa.String(length=64), nullable=True),
    sa.Column('questions', sa.JSON(), nullable=False),
    sa.Column('opens_at', core.db.types.UTCDateTime(), nullable=False),
    sa.Column('closes_at', core.db.types.UTCDateTime(), nullable=False),
    sa.Column('time_limit_minutes', sa.Integer(), nullable=True),
    sa.Column('created_by', sa.Integer(), nullable=False),
    sa.Column('created_at', core.db.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['people.id'], name=op.f('fk_quizzes_created_by_people')),
    sa.ForeignKeyConstraint(['training_id'], ['trainings.id'], name=op.f('fk_quizzes_training_id_trainings')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quizzes'))
    )
    with op.batch_alter_table('quizzes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_quizzes_training_id'), ['training_id'], unique=False)

    op.create_table('remediations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('training_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('due_at', core.db.types.UTCDateTime(), nullable=False),
    sa.Column('max_attempts', sa.Integer(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('best_score', sa.Float(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', core.db.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_remediations_person_id_people')),
    sa.ForeignKeyConstraint(['training_id'], ['trainings.id'], name=op.f('fk_remediations_training_id_trainings')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_remediations')),
    sa.UniqueConstraint('training_id', 'person_id', name=op.f('uq_remediations_training_id'))
    )
    with op.batch_alter_table('remediations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_remediations_person_id'), ['person_id'], unique=False)

    op.create_table('assignment_extensions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('assignment_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('due_at', core.db.types.UTCDateTime(), nullable=False),
    sa.Column('granted_by', sa.String(length=200), nullable=False),
    sa.Column('granted_at', core.db.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['assignment_id'], ['assignments.id'], name=op.f('fk_assignment_extensions_assignment_id_assignments')),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_assignment_extensions_person_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assignment_extensions')),
    sa.UniqueConstraint('assignment_id', 'person_id', name=op.f('uq_assignment_extensions_assignment_id'))
    )
    op.create_table('quiz_answers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('quiz_id', sa.Integer(), nullable=False),
    sa.Column('question', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('option', sa.Integer(), nullable=False),
    sa.Column('correct', sa.Boolean(), nullable=False),
    sa.Column('answered_at', core.db.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_quiz_answers_person_id_people')),
    sa.ForeignKeyConstraint(['quiz_id'], ['quizzes.id'], name=op.f('fk_quiz_answers_quiz_id_quizzes')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quiz_answers')),
    sa.UniqueConstraint('quiz_id', 'question', 'person_id', name=op.f('uq_quiz_answers_quiz_id'))
    )
    with op.batch_alter_table('quiz_answers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_quiz_answers_quiz_id'), ['quiz_id'], unique=False)

    op.create_table('submissions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('assignment_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('platform', sa.String(length=16), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('message_id', sa.String(length=128), nullable=True),
    sa.Column('checksum', sa.String(length=64), nullable=False),
    sa.Column('submitted_at', core.db.types.UTCDateTime(), nullable=False),
    sa.Column('late', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('score', sa.Float(), nullable=True),
    sa.Column('criteria', sa.JSON(), nullable=False),
    sa.Column('feedback', sa.Text(), nullable=True),
    sa.Column('graded_by', sa.Integer(), nullable=True),
    sa.Column('graded_at', core.db.types.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['assignment_id'], ['assignments.id'], name=op.f('fk_submissions_assignment_id_assignments')),
    sa.ForeignKeyConstraint(['graded_by'], ['people.id'], name=op.f('fk_submissions_graded_by_people')),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_submissions_person_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_submissions')),
    sa.UniqueConstraint('assignment_id', 'person_id', 'attempt', name=op.f('uq_submissions_assignment_id'))
    )
    with op.batch_alter_table('submissions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_submissions_assignment_id'), ['assignment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_submissions_person_id'), ['person_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('submissions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_submissions_person_id'))
        batch_op.drop_index(batch_op.f('ix_submissions_assignment_id'))

    op.drop_table('submissions')
    with op.batch_alter_table('quiz_answers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_quiz_answers_quiz_id'))

    op.drop_table('quiz_answers')
    op.drop_table('assignment_extensions')
    with op.batch_alter_table('remediations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_remediations_person_id'))

    op.drop_table('remediations')
    with op.batch_alter_table('quizzes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_quizzes_training_id'))

    op.drop_table('quizzes')
    op.drop_table('honours_consents')
    with op.batch_alter_table('component_scores', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_component_scores_person_id'))

    op.drop_table('component_scores')
    with op.batch_alter_table('assignments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_assignments_training_id'))

    op.drop_table('assignments')
    op.drop_table('assessment_schemes')
