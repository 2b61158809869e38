"""WeCom's own lines in `steward config check` (the manifest extra "config_check")."""
from __future__ import annotations

from typing import Any, Callable, Mapping


def check_config(config: Any, env: Mapping[str, str], say: Callable[[str], None]) -> None:
    """The AI bot: which governed groups its @-mentions are read for (`aibot_chat_id`)."""
    if not (env.get("WECOM_AIBOT_TOKEN") or "").strip():
        return
    for group in (g for g in config.groups if g.platform == "wecom"):
        if group.aibot_chat_id:
            say(f"  ✓ wecom {group.chat_id}: AI bot @-mentions arrive from chatid {group.aibot_chat_id}")
        else:
            say(f"  ! wecom {group.chat_id}: no aibot_chat_id; AI bot @-mentions count for it only if the AI "
                "bot reports this same chatid (connectors/wecom/README.md, section 3)")
