"""Membership (R2.1, R2.4.1, R3.3, R7.1.1): admission, applications and recommendations, onboarding from
HR files and directory events, welcome and confidentiality acknowledgement, moves, leaving, offboarding
and reconciliation. Its declaration is `core/membership/feature.py`."""

from core.i18n import add_catalog

add_catalog(__name__)   # messages/<locale>.json
