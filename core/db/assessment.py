"""Tables of the assessment feature. Imported at the end of core/db/models.py, so Base.metadata knows them."""
from __future__ import annotations

from core.db.models import Base  # noqa: F401
