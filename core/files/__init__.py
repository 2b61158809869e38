"""Files members send Steward (R5.2.1, R3.1.3): fetched by the worker, checked, kept by checksum, then
handed to the command they came with. Its declaration is `core/files/feature.py`."""

from core.i18n import add_catalog

add_catalog(__name__)   # messages/<locale>.json
