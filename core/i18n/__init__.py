"""Bot messages in zh-Hans, zh-Hant and en. Catalogs are JSON files, loaded on first use."""
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
    text = resources.files("core.i18n").joinpath("catalog", f"{locale}.json").read_text("utf-8")
    return json.loads(text)


def t(locale: str, key: str, **values: object) -> str:
    """The message `key` in `locale`, with `{placeholders}` filled."""
    template = catalog(locale if locale in LOCALES else DEFAULT_LOCALE)[key]
    return template.format(**values)
