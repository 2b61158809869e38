"""Parse a command line typed in any messenger: `warn <@U1> 发广告`, `警告<@U1> 发广告`, `revoke C000012 ok`.

Mentions arrive already normalised by the connector to `<@USER_ID>`. The table of commands comes
from the registry, so every feature's commands share one grammar.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
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

    def split_word(self, text: str) -> tuple[str, str]:
        """The command word and the rest; Chinese commands may be glued to what follows."""
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
        word = self.split_word(_PREFIX.sub("", unicodedata.normalize("NFKC", text).strip()))[0]
        return word.casefold() in self.by_alias

    def parse(self, text: str) -> ParsedCommand:
        """Raises CommandError("command.unknown" | "command.missing") with what to tell the user."""
        text = _PREFIX.sub("", unicodedata.normalize("NFKC", text).strip())
        word, rest = self.split_word(text)
        name = self.by_alias.get(word.casefold())
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
            head, _, tail = rest.partition(" ")
            if BARE_MEMBER.match(head):
                members, rest = (head.lstrip("@"),), tail.strip()
        case = None
        if spec.needs_case:
            head, _, tail = rest.partition(" ")
            case = normalise_case(head) if head else None
            if case is not None:
                rest = tail.strip()
        rest = re.sub(r"[ \t]+", " ", rest)
        missing = ((spec.needs_member and not members) or (spec.needs_case and case is None)
                   or (spec.needs_text and not rest))
        if missing:
            raise CommandError("command.missing", command=word, usage=spec.usage or name)
        return ParsedCommand(name=name, word=word, members=members, case=case, rest=rest, group=group)


def normalise_case(token: str) -> str | None:
    m = CASE.match(token.strip())
    if not m:
        return None
    digits = m.group(1).upper().lstrip("C")
    return f"C{int(digits):06d}"
