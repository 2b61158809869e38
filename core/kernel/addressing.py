"""Is a message addressed to Steward by name? `@管家 help`, `＠steward help`, `@Steward, rules`.

The connectors turn their platform's own mention of the bot into `addressed=True`; a member may still
type one of Steward's names (steward.yaml `bot_names`) as plain text — with a full-width `＠`, or where
the messenger has no mention markup for it. Such a leading name addresses Steward and is stripped.
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Sequence


@lru_cache(maxsize=16)
def _pattern(names: tuple[str, ...]) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(unicodedata.normalize("NFKC", n).casefold())
                            for n in sorted(names, key=len, reverse=True))
    # a name ends at a space, punctuation or the end; `@stewardess` is someone else
    return re.compile(rf"^\s*@(?:{alternatives})(?![\w.\-])[\s,:;，：、]*")


def called(text: str, names: Sequence[str]) -> tuple[bool, str]:
    """(True, the text after the names) when `text` begins by naming Steward; else (False, text)."""
    if not names or text.lstrip()[:1] not in ("@", "＠"):
        return False, text      # the hot path: most messages do not start with a mention
    pattern, hit, rest = _pattern(tuple(names)), False, text
    while True:
        # match on the folded form (full-width `＠`, `Ｓｔｅｗａｒｄ`), cut the text as typed
        folded = [unicodedata.normalize("NFKC", ch).casefold() for ch in rest]
        starts, norm = [], []
        for i, piece in enumerate(folded):
            norm.append(piece)
            starts.extend([i] * len(piece))
        starts.append(len(rest))
        found = pattern.match("".join(norm))
        if not found or not found.end():
            return hit, rest.strip() if hit else rest
        hit, rest = True, rest[starts[found.end()]:]
