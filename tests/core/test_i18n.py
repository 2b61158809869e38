"""Every message exists in zh-Hans, zh-Hant and en with the same placeholders."""
import re
import string

import pytest

from core.i18n import LOCALES, catalog, t
from steward.features import FEATURES  # noqa: F401  (their catalogs)


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_same_keys_and_placeholders_everywhere():
    base = catalog("en")
    for locale in LOCALES:
        other = catalog(locale)
        assert set(other) == set(base), locale
        for key in base:
            assert placeholders(other[key]) == placeholders(base[key]), (locale, key)


def test_traditional_catalog_is_traditional():
    simplified_only = re.compile("[们这对于说话记录规则违删时]")
    for key, text in catalog("zh-Hant").items():
        assert not simplified_only.search(text), (key, text)


@pytest.mark.parametrize("locale,word", [("zh-Hans", "警告"), ("zh-Hant", "警告"), ("en", "warned")])
def test_warning_message_names_the_clause(locale, word):
    text = t(locale, "warn.group", member="bob", clause="R8.2.1", reason="ads", case="C000001")
    assert "R8.2.1" in text and word in text
