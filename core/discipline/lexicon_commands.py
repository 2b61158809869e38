"""`lexicon add|remove|list CATEGORY [TERM]`: admins tune the moderation lexicons in the chat (audited)."""
from __future__ import annotations

from core.discipline import lexicon
from core.i18n import t
from core.kernel.spec import OPEN, CommandSpec
from core.moderation import CLAUSES, LEXICON_CATEGORIES, ModerationSettings
from core.moderation.lexicon import listing
from core.roles import ADMINS

VERBS = {"add": "add", "添加": "add", "加入": "add", "remove": "remove", "删除": "remove", "刪除": "remove",
         "list": "list", "列出": "list"}
MAX_TERM = 100
SHOWN = 60


def _lexicon(r, inv, cmd, group, actor, locale) -> None:
    parts = cmd.rest.split(maxsplit=2)
    verb = VERBS.get(parts[0].casefold()) if parts else None
    category = parts[1].casefold() if len(parts) > 1 else ""
    term = parts[2].strip() if len(parts) > 2 else ""
    if verb is None or category not in LEXICON_CATEGORIES or (verb != "list" and not term):
        r.reply(inv, group, t(locale, "lexicon.usage", categories=", ".join(LEXICON_CATEGORIES)), private=True)
        return
    if len(term) > MAX_TERM or "\n" in term:
        r.reply(inv, group, t(locale, "lexicon.too_long", limit=MAX_TERM), private=True)
        return
    added, removed = lexicon.current_edits(r.s)
    if verb == "list":
        settings = ModerationSettings(extra_terms={category: added.get(category, [])},
                                      removed_terms={category: removed.get(category, [])})
        terms = listing(category, settings)
        more = f" (+{len(terms) - SHOWN})" if len(terms) > SHOWN else ""
        r.reply(inv, group, t(locale, "lexicon.list", category=category, count=len(terms),
                              terms="、".join(terms[:SHOWN]) + more), private=True)
        return
    lexicon.edit(r.s, category=category, term=term, op=verb, by=f"person:{actor.person_id}", at=r.now,
                 clause=CLAUSES.get(category, "R7.1.2"))
    if r.ctx.detectors is not None and hasattr(r.ctx.detectors, "invalidate"):
        r.ctx.detectors.invalidate()
    r.reply(inv, group, t(locale, "lexicon.added" if verb == "add" else "lexicon.removed", category=category,
                          term=term), private=True)


COMMANDS = (
    CommandSpec("lexicon", ("词库", "詞庫"), _lexicon, needs_text=True, roles=ADMINS, needs_group=False, scope=OPEN,
                usage="lexicon add|remove|list CATEGORY [TERM] · 词库 添加|删除|列出 类别 [词]"),
)
CARD_ACTIONS: dict = {}
