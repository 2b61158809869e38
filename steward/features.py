"""The features this deployment runs, in the order their hooks run (core/kernel/features.py)."""
from __future__ import annotations

from core.assessment.feature import FEATURE as ASSESSMENT
from core.discipline.feature import FEATURE as DISCIPLINE
from core.files.feature import FEATURE as FILES
from core.kernel.features import Features
from core.membership.feature import FEATURE as MEMBERSHIP
from core.training.feature import FEATURE as TRAINING

FEATURES = (DISCIPLINE, MEMBERSHIP, TRAINING, ASSESSMENT, FILES)


def all_features() -> Features:
    return Features(FEATURES)
