"""The training feature's scheduled job kinds and their handlers (listed in steward/worker.py)."""
from __future__ import annotations

from core.training.announcements import change_reminder_job, pin_job, publish_job
from core.training.digest import digest_job as weekly_digest_job
from core.training.feedback import digest_job
from core.training.questions import question_due_job, track_question_job, watch_job

TRAINING_JOBS = {
    "training.publish": publish_job,
    "training.pin": pin_job,
    "training.change_reminder": change_reminder_job,
    "training.question_due": question_due_job,
    "training.track_question": track_question_job,
    "training.watch_message": watch_job,
    "training.feedback_digest": digest_job,
    "training.weekly_digest": weekly_digest_job,
}
