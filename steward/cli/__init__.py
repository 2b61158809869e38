"""The `steward` command line. Every command prints a clear message and a non-zero exit on error.

One module per area registers its commands on `main`; steward/cli/common.py holds what they share.
"""
from __future__ import annotations

import click

from steward.cli import (
    assessment,
    audit,
    config,
    console,
    db,
    events,
    membership,
    messengers,
    review,
    sandbox,
    serve,
    spool,
    training,
    worker,
)
from steward.cli.moderate import moderate


class _Main(click.Group):
    """The commands below, plus `steward <platform> ...` for the messengers registered when it runs."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *messengers.platform_commands()})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        return super().get_command(ctx, name) or messengers.platform_commands().get(name)


@click.group(cls=_Main, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="groupsteward")
def main() -> None:
    """Steward (培訓群管家): training-group governance for Slack, WeCom and DingTalk."""
    from steward import logs
    logs.configure()      # STEWARD_LOG_LEVEL, STEWARD_LOG_FORMAT=json


serve.register(main)         # serve
worker.register(main)        # worker, stream
db.register(main)            # db upgrade|current
config.register(main)        # config check
audit.register(main)         # audit export
sandbox.register(main)       # sandbox
main.add_command(moderate)   # moderate
membership.register(main)    # onboard, person, reconcile, group
training.register(main)      # archive
assessment.register(main)    # scheme, quiz, grades
spool.register(main)         # spool status|replay-dead
events.register(main)        # events dead|replay
console.register(main)       # console link
review.register(main)        # review list|export-dismissed
