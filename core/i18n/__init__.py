"""Bot messages in zh-Hans, zh-Hant and en.

Each locale is a folder of JSON catalogs, one per feature (`catalog/<locale>/<feature>.json`),
merged on first use; a key defined twice is an error, so features cannot overwrite each other.
"""
from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources

LOCALES = ("zh-Hans", "zh-Hant", "en")
DEFAULT_LOCALE = "zh-Hans"


@lru_cache(maxsize=None)
def catalog(locale: str) -> dict[str, str]:
    if locale not in LOCALES:
        raise KeyError(f"unknown locale {locale!r}")
    merged: dict[str, str] = {}
    folder = resources.files("core.i18n").joinpath("catalog", locale)
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".json"):
            continue
        for key, text in json.loads(entry.read_text("utf-8")).items():
            if key in merged:
                raise ValueError(f"message {key!r} is defined twice ({locale}/{entry.name})")
            merged[key] = text
    return merged


def t(locale: str, key: str, **values: object) -> str:
    """The message `key` in `locale`, with `{placeholders}` filled."""
    template = catalog(locale if locale in LOCALES else DEFAULT_LOCALE)[key]
    return template.format(**values)
