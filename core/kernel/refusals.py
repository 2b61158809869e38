"""A use case of the assessment feature refuses with a message key; the command answers it localized
and nothing is written (the command's transaction still commits only the refusal's audit, if any)."""
from __future__ import annotations


class Refusal(Exception):
    def __init__(self, key: str, **values: object) -> None:
        super().__init__(key)
        self.key = key
        self.values = values
