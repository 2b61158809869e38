"""Assessment (R5, R6): schemes, assignments and submissions, reviews, quizzes, grades, honours and
make-ups, and a member's standing (`my`). Its declaration is `core/assessment/feature.py`."""

from core.i18n import add_catalog

add_catalog(__name__)   # messages/<locale>.json
