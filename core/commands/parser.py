"""Parse a command line typed in any messenger: `warn <@U1> 发广告`, `警告<@U1> 发广告`, `revoke C000012 ok`.

Mentions arrive already normalised by the connector to `<@USER_ID>`.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# canonical name -> aliases (en, zh-Hans, zh-Hant). Order matters only for readability.
ALIASES: dict[str, tuple[str, ...]] = {
    "help": ("help", "帮助", "幫助", "?", "？"),
    "rules": ("rules", "群规", "群規"),
    "warn": ("warn", "警告"),
    "remove": ("remove", "kick", "移出", "踢出"),
    "record": ("record", "记录", "記錄"),
    "revoke": ("revoke", "撤销", "撤銷"),
    "appeal": ("appeal", "申诉", "申訴"),
    "approve": ("approve", "批准"),
    "reject": ("reject", "驳回", "駁回"),
}
_BY_ALIAS = {alias.casefold(): name for name, aliases in ALIASES.items() for alias in aliases}
_LONGEST_FIRST = sorted(_BY_ALIAS, key=len, reverse=True)

# what each command needs: (needs a member, needs a case, needs a reason)
SHAPES: dict[str, tuple[bool, bool, bool]] = {
    "help": (False, False, False), "rules": (False, False, False), "record": (False, False, False),
    "warn": (True, False, True), "remove": (True, False, True),
    "revoke": (False, True, True), "appeal": (False, True, True),
    "approve": (False, True, False), "reject": (False, True, False),
}
USAGE = {
    "warn": "warn @member reason [in:GROUP] · 警告 @成员 理由 [in:群]",
    "remove": "remove @member reason [in:GROUP] · 移出 @成员 理由 [in:群]",
    "revoke": "revoke CASE reason · 撤销 案件号 理由",
    "appeal": "appeal CASE reason · 申诉 案件号 理由",
    "approve": "approve CASE · 批准 案件号",
    "reject": "reject CASE · 驳回 案件号",
}

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
    rest: str = ""                # the free text (reason)
    group: str | None = None      # "in:CHAT_ID": which group, when typed in a 1:1 chat


class CommandError(Exception):
    def __init__(self, key: str, **values: str) -> None:
        super().__init__(key)
        self.key = key
        self.values = values


def normalise_case(token: str) -> str | None:
    m = CASE.match(token.strip())
    if not m:
        return None
    digits = m.group(1).upper().lstrip("C")
    return f"C{int(digits):06d}"


def looks_like_command(text: str) -> bool:
    word = _split_word(_PREFIX.sub("", text.strip()))[0]
    return word.casefold() in _BY_ALIAS


def _split_word(text: str) -> tuple[str, str]:
    """The command word and the rest; Chinese commands may be glued to what follows."""
    folded = text.casefold()
    for alias in _LONGEST_FIRST:
        if folded.startswith(alias):
            end = len(alias)
            # an ASCII alias must end at a word boundary ("helpful" is not "help")
            if alias.isascii() and alias.isalpha() and end < len(text) and text[end].isalnum():
                continue
            return text[:end], text[end:]
    parts = text.split(maxsplit=1)
    return (parts[0] if parts else ""), (parts[1] if len(parts) > 1 else "")


def parse(text: str) -> ParsedCommand:
    """Raises CommandError("command.unknown" | "command.missing") with what to tell the user."""
    text = unicodedata.normalize("NFKC", text).strip()
    text = _PREFIX.sub("", text)
    word, rest = _split_word(text)
    name = _BY_ALIAS.get(word.casefold())
    if name is None:
        raise CommandError("command.unknown", command=word[:40] or "?")
    needs_member, needs_case, needs_reason = SHAPES[name]
    rest = rest.strip()
    group = None
    found = IN_GROUP.search(rest)
    if found:
        group, rest = found.group(1), (rest[:found.start()] + " " + rest[found.end():]).strip()
    members = tuple(MENTION.findall(rest))
    rest = MENTION.sub(" ", rest).strip()
    if needs_member and not members and rest:
        # In a 1:1 chat (WeCom, DingTalk) there is no mention markup: "warn zhangsan reason".
        head, _, tail = rest.partition(" ")
        if BARE_MEMBER.match(head):
            members, rest = (head.lstrip("@"),), tail.strip()
    case = None
    if needs_case or name == "record":
        head, _, tail = rest.partition(" ")
        case = normalise_case(head) if head else None
        if case is not None:
            rest = tail.strip()
    rest = re.sub(r"\s+", " ", rest)
    missing = ((needs_member and not members) or (needs_case and case is None)
               or (needs_reason and not rest))
    if missing:
        raise CommandError("command.missing", command=word, usage=USAGE.get(name, name))
    return ParsedCommand(name=name, word=word, members=members, case=case, rest=rest, group=group)
