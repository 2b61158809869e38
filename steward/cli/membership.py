"""CLI commands of the membership feature; `register` is called once by steward/cli/__init__.py.

`steward onboard` (R2.1.2), `steward person link|show|import` (one identity across messengers),
`steward reconcile` (steward/reconcile_run.py) and `steward group create|add` (owned groups that survive
the steward.yaml sync).
"""
from __future__ import annotations

from pathlib import Path

import click

from connectors import registry
from core.errors import StewardError
from steward.cli.common import Platforms, friendly, synced_container


def _read(container, path: str):
    from core.membership.onboarding_file import read_hr_file

    settings = container.config.membership
    file = Path(path)
    size = file.stat().st_size
    if size > settings.import_max_bytes:
        raise StewardError(f"{path}: {size} bytes is more than the limit of {settings.import_max_bytes} "
                           "(membership.import_max_bytes)")
    info: dict = {}
    rows, problems = read_hr_file(file.read_bytes(), file.name, max_rows=settings.import_max_rows,
                                  max_bytes=settings.import_max_bytes, info=info)
    if info.get("encoding"):
        click.echo(f"{file.name}: read as {info['encoding']}")
    return rows, problems


def _run_file(path: str, dry_run: bool, join_groups: bool, move_accounts: bool = False) -> None:
    from rich.console import Console
    from rich.progress import Progress

    from core.membership.onboarding import onboard, prefetch_profiles

    console = Console(stderr=False, highlight=False)
    container = synced_container()
    rows, problems = _read(container, path)
    profiles = prefetch_profiles(container.ctx, rows)   # outside the transaction (see identity.after_commit)
    results = []
    session = container.sessions()
    try:
        with session.begin():
            with Progress(console=console, transient=True, disable=not rows) as progress:
                task = progress.add_task("onboarding" if join_groups else "importing", total=len(rows))
                results, failed = onboard(container.ctx, session, rows, join_groups=join_groups,
                                          progress=lambda _row: progress.advance(task), profiles=profiles,
                                          move_accounts=move_accounts)
            problems = sorted(problems + failed, key=lambda p: p.row)
            if dry_run:
                session.rollback()
    finally:
        session.close()
    prefix = "would " if dry_run else ""
    for r in results:
        what = [("would create person" if dry_run else "created person") if r.created else f"person #{r.person_id}"]
        if r.moved:
            what.append(f"{prefix}move {', '.join(r.moved)}")
        if r.linked:
            what.append(f"{prefix}link {', '.join(r.linked)}")
        if r.joined:
            what.append(f"{prefix}add to {', '.join(r.joined)} (R2.1.2)")
        if r.already:
            what.append(f"already in {', '.join(r.already)}")
        click.echo(f"row {r.row}: {r.name}: {'; '.join(what)}")
    for p in problems:
        click.secho(f"row {p.row}: FAILED {p.problem}: {p.detail}", fg="red", err=True)
    added = sum(len(r.joined) for r in results)
    click.echo(f"{'dry run: ' if dry_run else ''}{len(results)} row(s) {'would be ' if dry_run else ''}applied, "
               f"{added} group addition(s), {len(problems)} row(s) failed"
               f"{' — nothing was written' if dry_run else ''}")
    if problems:
        raise SystemExit(1)


def register(main: click.Group) -> None:
    """Add this feature's commands to `main`."""
    @main.group()
    def identity() -> None:
        """One person behind their accounts: what the directories could not settle."""

    @identity.command("conflicts")
    @click.option("--all", "show_all", is_flag=True, help="Resolved conflicts too.")
    @friendly
    def identity_conflicts(show_all: bool) -> None:
        """Accounts whose directory entry (employee id, e-mail, mobile) matches two or more people, or
        contradicts an explicit link: never merged automatically. Settle one with `steward person link`,
        then `steward identity resolve ID`. Exit 1 while any is open."""
        from sqlalchemy import select

        from core.db.models import Account, IdentityConflict
        from core.kernel.identity import duplicates_report

        container = synced_container()
        with container.sessions() as s:
            query = select(IdentityConflict).order_by(IdentityConflict.id)
            if not show_all:
                query = query.where(IdentityConflict.resolved_at.is_(None))
            rows = list(s.scalars(query))
            for c in rows:
                account = s.get(Account, c.account_id)
                people = ", ".join(f"#{p}" for p in [c.person_id, *c.candidates.get("people", [])])
                state = f"resolved {c.resolved_at:%Y-%m-%d}" if c.resolved_at else "open"
                click.echo(f"#{c.id} {account.platform}:{account.user_id}: {c.key} {c.value} — {c.reason}; "
                           f"people {people}; found {c.created_at:%Y-%m-%d %H:%M} ({state})")
            duplicates = duplicates_report(s)
            for name, value, ids in duplicates:
                click.echo(f"same {name} {value} on people {', '.join(f'#{i}' for i in ids)}")
        opened = [c for c in rows if c.resolved_at is None]
        click.echo(f"{len(opened)} open identity conflict(s)")
        if opened:
            raise SystemExit(1)

    @identity.command("resolve")
    @click.argument("conflict_id", type=int)
    @friendly
    def identity_resolve(conflict_id: int) -> None:
        """Mark conflict CONFLICT_ID settled (after linking by hand, or deciding they are two people)."""
        from core.db.models import IdentityConflict
        from core.kernel import audit

        container = synced_container()
        with container.sessions.begin() as s:
            conflict = s.get(IdentityConflict, conflict_id)
            if conflict is None:
                raise StewardError(f"no identity conflict #{conflict_id}")
            if conflict.resolved_at is None:
                conflict.resolved_at = container.clock.now()
                audit.record(s, at=conflict.resolved_at, actor="cli", action="identity.conflict_resolved",
                             person_id=conflict.person_id, conflict=conflict.id)
        click.echo(f"identity conflict #{conflict_id} resolved")

    @main.command()
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, readable=True))
    @click.option("--dry-run", is_flag=True, help="Show exactly what would happen; write nothing.")
    @click.option("--move-accounts", is_flag=True,
                  help="Let a row move an account that belongs to another person to the row's person.")
    @friendly
    def onboard(file: str, dry_run: bool, move_accounts: bool) -> None:
        """Put HR's new hires (CSV or XLSX) into the new-hire group(s) of their platform (R2.1.2).

        Columns: name, employee id, department, position, hire date; optional e-mail, mobile and one
        column per platform (slack, wecom, dingtalk) with the user id. A CSV is read as UTF-8 (with or
        without BOM), GBK/GB18030 or Big5, whichever it is (the encoding used is printed). A row that
        would move an account from one person to another fails unless --move-accounts (the dry run lists
        it either way). Exit 1 when any row failed."""
        _run_file(file, dry_run, join_groups=True, move_accounts=move_accounts)

    @main.group()
    def person() -> None:
        """People and their accounts on each messenger (one identity)."""

    @person.command("import")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, readable=True))
    @click.option("--dry-run", is_flag=True, help="Show exactly what would happen; write nothing.")
    @friendly
    def person_import(file: str, dry_run: bool) -> None:
        """Record people and link their accounts from an HR file, without adding anyone to a group."""
        _run_file(file, dry_run, join_groups=False)

    @person.command("link")
    @click.argument("account")
    @click.argument("key")
    @friendly
    def person_link(account: str, key: str) -> None:
        """Link ACCOUNT (platform:user_id) with KEY: another platform:user_id, an employee id or an e-mail.

        Two known people are never merged: a conflict is reported (exit 1) and audited."""
        from core.kernel.directory import account_for
        from core.kernel.identity import link_by_key, parse_account

        ref = parse_account(account)
        if ref is None:
            raise StewardError(f"{account!r} is not an account: write platform:user_id")
        container = synced_container()
        with container.sessions.begin() as s:
            acct = account_for(s, ref[0], ref[1], container.clock.now())
            result = link_by_key(s, acct, key, container.clock.now(), "cli")
            person_id = acct.person_id
        if result.status == "conflict":
            raise StewardError(f"not linked: {account} and {key}: {result.reason}"
                               f"{f' (person #{result.other_person_id})' if result.other_person_id else ''}; "
                               "nothing was merged")
        click.echo(f"{result.status}: {account} and {key} are person #{person_id}")

    @person.command("show")
    @click.argument("key")
    @friendly
    def person_show(key: str) -> None:
        """Show a person (by platform:user_id, employee id, e-mail, mobile or person:N): accounts, roles,
        groups, acknowledgements."""
        from core.kernel.identity import find_person
        from core.membership.identity_report import describe

        container = synced_container()
        with container.sessions() as s:
            found = find_person(s, key)
            if found.problem:
                raise StewardError(f"{key}: {found.problem.replace('_', ' ')}"
                                   f"{' (people ' + ', '.join(f'#{i}' for i in found.candidates) + ')' if found.candidates else ''}")
            if found.person is None:
                raise StewardError(f"{key}: no such person")
            for line in describe(s, found.person):
                click.echo(line)

    @main.command()
    @click.option("--platform", type=Platforms(registry.ids),
                  help="Only this platform's groups.")
    @click.option("--group", "refs", multiple=True, metavar="PLATFORM:CHAT_ID",
                  help="Only this group (repeatable).")
    @click.option("--fix", is_flag=True, help="Act on what is found (default: a dry run that changes nothing).")
    @click.option("--dry-run", is_flag=True, help="Only report (the default).")
    @friendly
    def reconcile(platform: str | None, refs: tuple[str, ...], fix: bool, dry_run: bool) -> None:
        """Compare each governed group's real member list with the records, group by group.

        People nobody admitted are reported (with --fix: flagged to the admins or removed, as
        membership.unadmitted says; R2.1.1, R7.1.1), recorded members who are gone get their
        stay closed, people who left the organisation are removed (R2.4.1). Exit 1 when a group could not
        be listed (a platform error, or a platform asked for by name that cannot list members)."""
        from steward.reconcile_run import describe, run, select_groups

        if fix and dry_run:
            raise StewardError("--fix and --dry-run exclude each other")
        container = synced_container()
        groups = select_groups(container, platform, refs)
        result = run(container, groups, fix)
        for outcome in result.outcomes:
            for line in describe(outcome, fix):
                (click.secho(line, fg="red", err=True) if outcome.error else click.echo(line))
        done = sum(1 for o in result.outcomes if o.report is not None)
        skipped = [o for o in result.outcomes if o.skipped]
        click.echo(f"{'' if fix else 'dry run: '}{done} group(s) reconciled, {len(skipped)} skipped, "
                   f"{sum(1 for o in result.outcomes if o.error)} failed"
                   f"{'' if fix else ' — nothing was changed (use --fix to act)'}")
        if skipped and (platform or refs):
            raise StewardError(f"{', '.join(o.ref for o in skipped)}: {skipped[0].skipped}; nothing to compare")
        if result.failed:
            raise SystemExit(1)

    @main.group()
    def group() -> None:
        """Training groups Steward governs."""

    @group.command("create")
    @click.option("--platform", required=True, type=Platforms(registry.messengers))
    @click.option("--name", required=True)
    @click.option("--kind", required=True, help="new-hire, skills, management, other or a template of steward.yaml.")
    @click.option("--lead", required=True, help="platform:user_id of the training lead (the group's owner).")
    @click.option("--admin", "admins", multiple=True, help="platform:user_id of an admin (repeatable; default: the lead).")
    @click.option("--member", "members", multiple=True, help="platform:user_id of a first member (repeatable).")
    @click.option("--training", help="Training code: groups of one training may sit on several platforms.")
    @click.option("--chat-id", help="WeCom only: a fixed chat id (1-32 letters and digits), so a retry creates nothing twice.")
    @friendly
    def group_create(platform, name, kind, lead, admins, members, training, chat_id) -> None:
        """Create a training group through the platform's API and register it (owned by Steward)."""
        from core.membership.groups import check_group, register_group

        container = synced_container()
        admins = admins or (lead,)
        check_group(container.ctx, platform=platform, name=name, kind=kind, lead=lead, people=(*admins, *members))
        people = list(dict.fromkeys([*admins, *members]))
        created = _create_on_platform(container, platform, name, lead, people, chat_id)
        with container.sessions.begin() as s:
            group_id = register_group(container.ctx, s, platform=platform, chat_id=created, name=name, kind=kind,
                                      lead=lead, admins=admins, training=training, members=tuple(members))
        click.echo(f"group #{group_id} {platform}:{created} created and registered ({kind}, lead {lead})")

    @group.command("add")
    @click.option("--platform", required=True, type=Platforms(registry.ids))
    @click.option("--chat-id", required=True, help="The platform's id of the existing group or channel.")
    @click.option("--name", required=True)
    @click.option("--kind", required=True, help="new-hire, skills, management, other or a template of steward.yaml.")
    @click.option("--lead", required=True, help="platform:user_id of the training lead.")
    @click.option("--admin", "admins", multiple=True, help="platform:user_id of an admin (repeatable; default: the lead).")
    @click.option("--training", help="Training code: groups of one training may sit on several platforms.")
    @friendly
    def group_add(platform, chat_id, name, kind, lead, admins, training) -> None:
        """Register an existing group (owned: it survives the steward.yaml sync) with its lead (R1.3.4)."""
        from core.membership.groups import register_group

        container = synced_container()
        with container.sessions.begin() as s:
            group_id = register_group(container.ctx, s, platform=platform, chat_id=chat_id, name=name, kind=kind,
                                      lead=lead, admins=admins or (lead,), training=training)
        click.echo(f"group #{group_id} {platform}:{chat_id} registered ({kind}, lead {lead})")


def _create_on_platform(container, platform: str, name: str, lead: str, people: list[str],
                        chat_id: str | None) -> str:
    """Create the group through the platform's API (WeCom appchat/create, DingTalk group create)."""
    from core.errors import DeliveryError
    from core.ports import GroupCreator

    connector = container.connectors.get(platform)
    shown = registry.manifest(platform).display_name if platform in registry.ids() else platform
    if platform in registry.ids() and not issubclass(registry.connector_class(platform), GroupCreator):
        raise StewardError(f"on {shown}, create the group there, invite Steward's bot, then run `steward group add`")
    if not isinstance(connector, GroupCreator):
        raise StewardError(f"{platform} is not configured here: set its environment variables (see README)")
    owner = lead.split(":", 1)[1]
    user_ids = [ref.split(":", 1)[1] for ref in people]
    try:
        created = connector.make_group(name, owner, user_ids, chat_id=chat_id)
    except ValueError as exc:
        raise StewardError(f"--chat-id: {exc}") from None
    except DeliveryError as exc:
        raise StewardError(f"{platform} refused to create the group: {exc}") from None
    for warning in created.warnings:
        click.secho(f"warning: {warning}", fg="yellow", err=True)
    return created.chat_id
