"""Bot messages in zh-Hans, zh-Hant and en.

The kernel's messages are `core/i18n/catalog/<locale>/core.json`; each feature keeps its own in
`core/<feature>/messages/<locale>.json` and adds them with `add_catalog` when its package is imported.
Catalogs are merged on first use; a key defined twice is an error, so features cannot overwrite each other.
"""
from __future__ import annotations

import json
import re
import threading
from functools import lru_cache
from importlib import resources

LOCALES = ("zh-Hans", "zh-Hant", "en")
DEFAULT_LOCALE = "zh-Hans"

_lock = threading.Lock()
_packages: list[str] = []      # feature packages with a messages/ folder, in the order they were added


def add_catalog(package: str) -> None:
    """Add `package`/messages/<locale>.json to every locale (idempotent)."""
    with _lock:
        if package not in _packages:
            _packages.append(package)
            catalog.cache_clear()


def _files(locale: str):
    folder = resources.files("core.i18n").joinpath("catalog", locale)
    yield from sorted((e for e in folder.iterdir() if e.name.endswith(".json")), key=lambda e: e.name)
    for package in list(_packages):
        entry = resources.files(package).joinpath("messages", f"{locale}.json")
        if entry.is_file():
            yield entry


@lru_cache(maxsize=None)
def catalog(locale: str) -> dict[str, str]:
    if locale not in LOCALES:
        raise KeyError(f"unknown locale {locale!r}")
    merged: dict[str, str] = {}
    for entry in _files(locale):
        for key, text in json.loads(entry.read_text("utf-8")).items():
            if key in merged:
                raise ValueError(f"message {key!r} is defined twice ({locale}: {entry})")
            merged[key] = text
    return merged


class Mention(str):
    """A mention Steward means (`<@user_id>`, one or several): `t()` keeps it a mention."""


_MENTION = re.compile(r"<@([^<>\s|]+)(?:\|[^<>]*)?>")


def inert(value: str) -> str:
    """A value put into a message (a member's words, a name): its `<@user_id>` becomes the plain `@user_id`, so
    quoting a member never pings anyone. Each connector escapes the rest for its own markup."""
    return _MENTION.sub(lambda m: "@" + m.group(1), value)


def t(locale: str, key: str, **values: object) -> str:
    """The message `key` in `locale`, with `{placeholders}` filled; only `Mention` values mention anyone."""
    template = catalog(locale if locale in LOCALES else DEFAULT_LOCALE)[key]
    return template.format(**{k: inert(v) if isinstance(v, str) and not isinstance(v, Mention) else v
                              for k, v in values.items()})
