"""`steward console link`: a one-time sign-in URL for the console (the first admin, break-glass access)."""
from __future__ import annotations

import click

from steward.cli.common import fail, friendly, synced_container


def register(main: click.Group) -> None:
    @main.group()
    def console() -> None:
        """The web console at /console/."""

    @console.command("link")
    @click.option("--as", "who", required=True, metavar="PLATFORM:USER_ID",
                  help="The account to sign in as, e.g. slack:U0ADMIN1.")
    @click.option("--minutes", default=15, show_default=True, type=click.IntRange(1, 24 * 60),
                  help="How long the link stays valid (it works once).")
    @friendly
    def console_link(who: str, minutes: int) -> None:
        """Print a one-time sign-in URL (single use, short-lived, audited; only its hash is stored)."""
        from core import platforms
        from core.kernel.directory import find_account
        from webhooks.console.signin import ConsoleSettings, create_link

        container = synced_container(with_connectors=False)
        ref = platforms.split_account(who)
        if ref is None:
            fail(f"{who!r} is not an account: write PLATFORM:USER_ID, PLATFORM one of {', '.join(platforms.ids())}")
        now = container.clock.now()
        with container.sessions.begin() as s:
            account = find_account(s, *ref)
            if account is None:
                fail(f"no account {who} is known to Steward: name it in steward.yaml (roles, groups) "
                     "or let it write to Steward first")
            token = create_link(s, account, minutes, by="cli", now=now)
        url = f"{ConsoleSettings.from_env().public_url}/console/signin/{token}"
        click.echo(url)
        click.echo(f"valid once, for {minutes} minutes, for {who}", err=True)
