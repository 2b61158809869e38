"""What the assessment feature adds to Steward (core/kernel/features.py)."""
from __future__ import annotations

from core.assessment import commands, submissions
from core.assessment.jobs import ASSESSMENT_JOBS
from core.kernel.features import Feature

FEATURE = Feature(
    name="assessment",
    commands=commands.COMMANDS,
    card_actions=commands.CARD_ACTIONS,
    jobs=ASSESSMENT_JOBS,                    # assignment and review reminders, quizzes, make-up deadlines
    file_uses=(submissions.file_uses,),      # R5.2.1 `submit N`
)
