"""Training delivery (R3, R4): announcements and change notices, materials and the share queue, questions
and their deadlines, feedback, the archive search and the weekly digest. Its declaration is
`core/training/feature.py`."""

from core.i18n import add_catalog

add_catalog(__name__)   # messages/<locale>.json
