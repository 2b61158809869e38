"""Parse a command line typed in any messenger: `warn <@U1> 发广告`, `警告<@U1> 发广告`, `revoke C000012 ok`.

Mentions arrive already normalised by the connector to `<@USER_ID>`. The table of commands comes
from the registry, so every feature's commands share one grammar.
"""
from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Mapping

from core.kernel.spec import CommandSpec

MENTION = re.compile(r"<@([^<>\s|]+)(?:\|[^<>]*)?>")
CASE = re.compile(r"^#?(C?\d{1,9})$", re.IGNORECASE)
IN_GROUP = re.compile(r"(?:^|\s)in:(\S{1,128})(?=\s|$)")
BARE_MEMBER = re.compile(r"^@?[A-Za-z0-9_.\-]{1,64}$")
_PREFIX = re.compile(r"^\s*(/steward\b|steward\b)\s*", re.IGNORECASE)


@dataclass(frozen=True)
class ParsedCommand:
    name: str
    word: str                     # as the user typed it
    members: tuple[str, ...] = ()
    case: str | None = None       # normalised "C000012"
    rest: str = ""                # the free text (reason, title, ...)
    group: str | None = None      # "in:CHAT_ID": which group, when typed in a 1:1 chat


class CommandError(Exception):
    def __init__(self, key: str, **values: str) -> None:
        super().__init__(key)
        self.key = key
        self.values = values


class Grammar:
    """The alias table of every registered command."""

    def __init__(self, specs: Mapping[str, CommandSpec]) -> None:
        self.specs = dict(specs)
        self.by_alias: dict[str, str] = {}
        for spec in specs.values():
            for alias in (spec.name, *spec.aliases):
                key = alias.casefold()
                if self.by_alias.get(key, spec.name) != spec.name:
                    raise ValueError(f"command alias {alias!r} is used twice")
                self.by_alias[key] = spec.name
        self.longest_first = sorted(self.by_alias, key=len, reverse=True)
        # A group message addressed to Steward is parsed by the moderation (is it a report it must not
        # flag?) and then, straight after, by the runner: the second parse of the same words is a lookup.
        # Only the last 16 short texts are kept (a member's words leave memory a few commands later); the
        # result is immutable; a CommandError is not kept (each caller gets its own, raised afresh).
        self._recent = lru_cache(maxsize=16)(self._parse)

    def parse(self, text: str) -> ParsedCommand:
        """Raises CommandError("command.unknown" | "command.missing") with what to tell the user."""
        return self._recent(text) if len(text) <= 300 else self._parse(text)

    def split_word(self, text: str) -> tuple[str, str]:
        """The command word and the rest; Chinese commands may be glued to what follows.

        The word is matched on the text's NFKC form (full-width `ｗａｒｎ`, `？`); the rest is returned
        exactly as typed (a member's `，` and `：` are theirs to keep)."""
        norm, starts = _folded(text)
        word, _ = self._split_normal(norm)
        end = starts[len(word)] if word else 0
        return text[:end], text[end:]

    def _split_normal(self, text: str) -> tuple[str, str]:
        folded = text.casefold()
        for alias in self.longest_first:
            if folded.startswith(alias):
                end = len(alias)
                nxt = text[end] if end < len(text) else " "
                # an ASCII alias must end at a word boundary ("helpful" is not "help"); a Chinese one
                # may be glued to a mention or a number ("警告<@U1>", "申诉C12") but not to more words
                # ("我的身份证号…" is a sentence, not the command "我的")
                if alias.isascii() and alias.isalpha() and nxt.isalnum():
                    continue
                if not alias.isascii() and nxt.isalpha() and not nxt.isascii():
                    continue
                return text[:end], text[end:]
        parts = text.split(maxsplit=1)
        return (parts[0] if parts else ""), (parts[1] if len(parts) > 1 else "")

    def looks_like_command(self, text: str) -> bool:
        return self.name_of(self.split_word(_strip_prefix(text))[0]) is not None

    def name_of(self, word: str) -> str | None:
        """The command a typed word names (any alias, full-width or not), or None."""
        return self.by_alias.get(unicodedata.normalize("NFKC", word).casefold())

    def suggest(self, word: str, limit: int = 3) -> list[str]:
        """The commands closest to a mistyped word (difflib over names and aliases), best first."""
        folded = unicodedata.normalize("NFKC", word).casefold().strip()
        if not folded:
            return []
        cutoff = 0.6 if len(folded) > 2 else 0.5
        out: list[str] = []
        for alias in difflib.get_close_matches(folded, list(self.by_alias), n=10, cutoff=cutoff):
            name = self.by_alias[alias]
            if name not in out:
                out.append(name)
        return out[:limit]

    def alias_for(self, name: str, locale: str) -> str:
        """What a group of `locale` types for the command: the English name, or its Simplified or
        Traditional alias (told apart by the script each can be written in)."""
        return alias_in(self.specs[name], locale)

    def _parse(self, text: str) -> ParsedCommand:
        text = _strip_prefix(text)
        word, rest = self.split_word(text)
        name = self.name_of(word)
        if name is None:
            raise CommandError("command.unknown", command=word[:40] or "?")
        spec = self.specs[name]
        rest = rest.strip()
        group = None
        found = IN_GROUP.search(rest)
        if found:
            group, rest = found.group(1), (rest[:found.start()] + " " + rest[found.end():]).strip()
        members = tuple(MENTION.findall(rest))
        rest = MENTION.sub(" ", rest).strip()
        if spec.needs_member and not members and rest:
            # In a 1:1 chat (WeCom, DingTalk) there is no mention markup: "warn zhangsan reason".
            head, tail = _head(rest)
            bare = unicodedata.normalize("NFKC", head)
            if BARE_MEMBER.match(bare):
                members, rest = (bare.lstrip("@"),), tail
        case = None
        if spec.needs_case:
            head, tail = _head(rest)
            case = normalise_case(head) if head else None
            if case is not None:
                rest = tail
        rest = re.sub(r"[ \t]+", " ", rest)
        missing = ((spec.needs_member and not members) or (spec.needs_case and case is None)
                   or (spec.needs_text and not rest))
        if missing:
            raise CommandError("command.missing", command=word, usage=spec.usage or name)
        return ParsedCommand(name=name, word=word, members=members, case=case, rest=rest, group=group)


def _strip_prefix(text: str) -> str:
    text = text.strip()
    norm, starts = _folded(text)
    found = _PREFIX.match(norm)
    return text[starts[found.end()]:] if found else text


def _folded(text: str) -> tuple[str, list[int]]:
    """`text` in NFKC, character by character, and where each folded position starts in `text`."""
    out, starts = [], []
    for i, ch in enumerate(text):
        folded = unicodedata.normalize("NFKC", ch)
        out.append(folded)
        starts.extend([i] * len(folded))
    starts.append(len(text))
    return "".join(out), starts


def _writes(alias: str, codec: str) -> bool:
    try:
        alias.encode(codec)
    except UnicodeEncodeError:
        return False
    return True


def alias_in(spec: CommandSpec, locale: str) -> str:
    """The command word for `locale`: GB2312 holds only Simplified characters and Big5 only Traditional
    ones, so an alias written in one of them belongs to that script (`帮助` / `幫助`; `警告` to both)."""
    if locale == "en":
        return spec.name
    own, other = ("big5", "gb2312") if locale == "zh-Hant" else ("gb2312", "big5")
    chinese = [a for a in spec.aliases if not a.isascii() and len(a) > 1]
    fits = [a for a in chinese if _writes(a, own)]
    if not fits:
        return spec.name
    # the first that fits, unless one as short only this script writes (`推薦`, not `推荐`, for Traditional)
    return next((a for a in fits if len(a) == len(fits[0]) and not _writes(a, other)), fits[0])


def _head(rest: str) -> tuple[str, str]:
    """The first word and the rest, split at any space (an ideographic `　` too)."""
    parts = rest.split(maxsplit=1)
    return (parts[0] if parts else ""), (parts[1].strip() if len(parts) > 1 else "")


def usage_in(spec: CommandSpec, locale: str) -> str:
    """The command's usage line for `locale`: the English half of `usage` (before ` · `) in English
    groups, the Chinese half with the group's own alias in Chinese ones (Traditional converted)."""
    english, _, chinese = (spec.usage or spec.name).partition(" · ")
    if locale == "en":
        return english.strip()
    word = alias_in(spec, locale)
    args = _head(chinese.strip())[1] if chinese.strip() else _head(english.strip())[1]
    if locale == "zh-Hant" and args:
        args = _traditional(args)
    return f"{word} {args}".strip()


def _traditional(text: str) -> str:
    import opencc  # loaded on first use: only help text for Traditional groups needs it
    global _S2T
    if _S2T is None:
        _S2T = opencc.OpenCC("s2tw")
    return _S2T.convert(text)


_S2T = None


def normalise_case(token: str) -> str | None:
    m = CASE.match(unicodedata.normalize("NFKC", token).strip())
    if not m:
        return None
    digits = m.group(1).upper().lstrip("C")
    return f"C{int(digits):06d}"
