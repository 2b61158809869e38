"""Discipline (R8.2, R2.4.2, R7.1.2): cases and the ladder, the moderation service over the detectors of
`core/moderation/`, the lexicons, heated-exchange alerts (R7.3.2), and the commands `warn`, `remove`,
`revoke`, `appeal`, `record`, `lexicon`. Its declaration is `core/discipline/feature.py`."""

from core.i18n import add_catalog

add_catalog(__name__)   # messages/<locale>.json
