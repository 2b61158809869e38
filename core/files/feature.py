"""What the files feature adds to Steward (core/kernel/features.py)."""
from __future__ import annotations

from core.files import received
from core.kernel.features import Feature

FEATURE = Feature(
    name="files",
    intake=(received.receive,),              # a file message is recorded, its fetch scheduled
    jobs={received.FETCH_JOB: received.fetch_job},   # R5.2.1, R3.1.3
)
