"""`steward sandbox`: a terminal playground over the sandbox connector and the real core."""
from __future__ import annotations

import os

import click

from steward.cli.common import build_container, friendly

HELP = """Type a message and press Enter; Steward answers as it would in a group.
  /as USER        become another sandbox user        /in CHAT   speak in a group
  /dm             speak to Steward privately         /who       list people and groups
  /audit          the last audit entries             /quit      leave
Address Steward with @steward, e.g.  @steward 警告 @bob 发广告  or  @steward help"""


def register(main: click.Group) -> None:
    @main.command()
    @click.option("--as", "who", help="Start as this sandbox user id.")
    @click.option("--emulate", type=click.Choice(["slack", "wecom", "dingtalk"]),
                  help="Make the sandbox behave like this platform (what the bot can see and do).")
    @friendly
    def sandbox(who: str | None, emulate: str | None) -> None:
        """An interactive shell: choose who you are, type into a group, see what Steward does."""
        env = dict(os.environ)
        if emulate:
            env["STEWARD_SANDBOX_EMULATE"] = emulate
        run_shell(build_container(env=env), who)


def run_shell(container, who: str | None) -> None:
    from sqlalchemy import select

    from core.db.migrate import upgrade
    from core.db.models import Account, AuditEntry, Group, Role
    from core.errors import ConfigError
    from core.kernel.config_sync import sync_config
    from core.kernel.inbound import ingest
    from steward.worker import drain

    connector = container.connectors.get("sandbox")
    if connector is None:
        raise ConfigError(["steward.yaml has no sandbox group: add one with platform: sandbox"])
    container.check_database()
    upgrade(container.engine)
    with container.sessions.begin() as s:
        sync_config(s, container.config, container.clock.now())
        groups = s.scalars(select(Group).where(Group.platform == "sandbox", Group.active.is_(True))
                           .order_by(Group.id)).all()
        accounts = s.scalars(select(Account).where(Account.platform == "sandbox").order_by(Account.id)).all()
        users = [a.user_id for a in accounts]
        staff = {r.person_id for r in s.scalars(select(Role))}
        plain = [a.user_id for a in accounts if a.person_id not in staff]
    chat = groups[0].chat_id if groups else None
    me = who or (plain[0] if plain else "alice")
    seen = 0
    click.echo(HELP)
    while True:
        try:
            line = click.prompt(f"{me}@{chat or 'dm'}", prompt_suffix="> ", default="", show_default=False)
        except (EOFError, click.Abort):
            break
        line = line.strip()
        if not line:
            continue
        if line in ("/quit", "/exit"):
            break
        if line.startswith("/as "):
            me = line[4:].strip() or me
            continue
        if line.startswith("/in "):
            chat = line[4:].strip() or chat
            continue
        if line == "/dm":
            chat = None
            continue
        if line == "/who":
            click.echo(f"people: {', '.join(users)}\ngroups: {', '.join(g.chat_id + ' ' + g.name for g in groups)}")
            continue
        if line == "/audit":
            with container.sessions() as s:
                for e in reversed(s.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(10)).all()):
                    click.echo(f"  {e.at:%H:%M:%S} {e.action} {e.clause or ''} {e.case_number or ''} by {e.actor}")
            continue
        if line.startswith("/"):
            click.echo(HELP)
            continue
        event = connector.say(me, line, chat_id=chat)
        if event is not None:
            ingest(container.ctx, event)
        drain(container)
        for entry in connector.since(seen):
            seen = max(seen, entry["seq"])
            if entry["kind"] in ("said", "unheard"):
                if entry["kind"] == "unheard":
                    click.secho("  (Steward cannot see this message on this platform)", dim=True)
                continue
            where = f"→ {entry['to_user']} (private)" if entry["to_user"] and entry["kind"] != "removed" \
                else f"in {entry['chat_id']}"
            click.secho(f"  Steward {entry['kind']} {where}: {entry['text']}", fg="cyan")
            for button in entry.get("buttons") or []:
                click.secho(f"    [{button['label']}]  type: {button['action'].split('.')[-1]} {button['value']}",
                            fg="cyan")
