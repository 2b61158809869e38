"""The assessment feature's scheduled jobs, by kind (registered in steward/worker.py's JOB_HANDLERS)."""
from __future__ import annotations

from core.assessment.assignments import remind_job
from core.assessment.grades import quiz_closed_job, remediation_due_job
from core.assessment.quizzes import open_job
from core.assessment.reviews import review_remind_job

ASSESSMENT_JOBS = {
    "assessment.remind": remind_job,                    # R5.2.1: before the due date, to those missing
    "assessment.review_remind": review_remind_job,      # R5.3.1: before the review deadline
    "assessment.quiz_open": open_job,                   # R6.1.1
    "assessment.quiz_close": quiz_closed_job,           # R6.1.1 results; R6.3.2 make-up attempts
    "assessment.remediation_due": remediation_due_job,  # R6.3.2
}
