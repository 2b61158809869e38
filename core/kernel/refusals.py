"""The one way a use case refuses: a message key and its values. The command runner catches it
(`CommandRunner.refused`), answers it privately in the asker's locale and writes one `command.refused` audit
entry (reason "input", the key) per refused command; use cases check their input before they write anything."""
from __future__ import annotations

from core.i18n import t


class Refusal(Exception):
    def __init__(self, key: str, /, *, audited: bool = False, **values: object) -> None:
        super().__init__(key)
        self.key = key
        self.values = values
        self.audited = audited    # the use case wrote its own `command.refused` entry (with more detail)

    def text(self, locale: str) -> str:
        return t(locale, self.key, **self.values)
