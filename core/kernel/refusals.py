"""The one way a use case refuses: a message key and its values. The command answers it privately in the
asker's locale, and nothing else is written (the command's transaction still commits the refusal's audit
entry, if any)."""
from __future__ import annotations

from core.i18n import t


class Refusal(Exception):
    def __init__(self, key: str, **values: object) -> None:
        super().__init__(key)
        self.key = key
        self.values = values

    def text(self, locale: str) -> str:
        return t(locale, self.key, **self.values)
