"""What the training feature adds to Steward (core/kernel/features.py)."""
from __future__ import annotations

from core.kernel.features import Feature
from core.training import commands, materials, watch
from core.training.jobs import TRAINING_JOBS

FEATURE = Feature(
    name="training",
    commands=commands.COMMANDS,
    card_actions=commands.CARD_ACTIONS,
    observers=(watch.observe,),              # R4.3.1 questions, R3.1.3 / R7.2.2 held links
    jobs=TRAINING_JOBS,                      # announcements, pins, change reminders, questions, digests
    file_uses=(materials.file_uses,),        # R3.1.3 `share`
    review_release={"held": materials.release_held},   # R7.2.2 held links and shares in the admins' queue
)
