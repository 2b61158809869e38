"""The `steward` command line. Every command prints a clear message and a non-zero exit on error."""
from __future__ import annotations

import functools
import logging
import os
import sys

import click
from sqlalchemy.exc import SQLAlchemyError

from core.errors import ConfigError, StewardError
from steward import cli_assessment, cli_membership, cli_spool, cli_training, cli_wecom
from steward.cli_moderate import moderate


def _fail(lines: list[str] | str, code: int = 1) -> None:
    for line in [lines] if isinstance(lines, str) else lines:
        click.secho(f"error: {line}", fg="red", err=True)
    sys.exit(code)


def friendly(fn):
    """Turn Steward's own errors into a message and exit code 1, never a traceback."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except ConfigError as exc:
            _fail(exc.problems)
        except StewardError as exc:
            _fail(str(exc))
        except OSError as exc:   # full disk, permissions, unreadable file
            _fail(f"{exc.strerror or exc}{': ' + str(exc.filename) if exc.filename else ''}")
        except SQLAlchemyError as exc:   # e.g. "database or disk is full", a lost connection
            detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()
            _fail(f"database error: {detail[0] if detail else type(exc).__name__} (nothing was half-written: "
                  "every change runs in one transaction)")
    return wrapper


def _container(**kw):
    from steward.container import build
    return build(**kw)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="groupsteward")
def main() -> None:
    """Steward (培訓群管家): training-group governance for Slack, WeCom and DingTalk."""
    level = os.environ.get("STEWARD_LOG_LEVEL", "INFO").upper()
    logging.basicConfig(level=level if level in ("DEBUG", "INFO", "WARNING", "ERROR") else "INFO",
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    if level != "DEBUG":
        logging.getLogger("alembic").setLevel(logging.WARNING)


# --- serve and worker --------------------------------------------------------------------

@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--no-worker", is_flag=True, help="Do not run the embedded delivery worker.")
@friendly
def serve(host: str, port: int, no_worker: bool) -> None:
    """Run the web app (webhooks, /healthz, the sandbox playground) with an embedded worker."""
    from werkzeug.serving import run_simple

    from core.kernel.config_sync import sync_config
    from steward.worker import start_embedded
    from webhooks import create_app

    container = _container()
    container.check_migrated()
    with container.sessions.begin() as s:
        sync_config(s, container.config, container.clock.now())
    app = create_app(container)
    if not no_worker:
        start_embedded(container)
    base = f"http://{host}:{port}"
    click.echo(f"Steward is listening on {base}")
    click.echo(f"  health:     {base}/healthz")
    for platform, connector in container.connectors.items():
        for endpoint in connector.endpoints:
            click.echo(f"  {platform:<10}  {base}/{platform}/{endpoint}")
    if "sandbox" in container.connectors:
        click.echo(f"  playground: {base}/sandbox/")
    click.echo(f"  worker:     {'embedded' if not no_worker else 'off (run `steward worker`)'}")
    try:
        run_simple(host, port, app, threaded=True, use_reloader=False)
    finally:
        if container.spool is not None:
            container.spool.stop()     # commit what the webhooks accepted before exiting


@main.command()
@click.option("--once", is_flag=True, help="Deliver what is due now, then exit.")
@friendly
def worker(once: bool) -> None:
    """Run a delivery worker on its own (several may run side by side)."""
    import signal
    import threading

    from steward.worker import drain, run_worker

    container = _container()
    container.check_migrated()
    if once:
        click.echo(f"delivered {drain(container)} item(s)")
        return
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    run_worker(container, stop)


@main.command()
@click.option("--platform", "platforms", multiple=True, type=click.Choice(["slack", "dingtalk"]),
              help="Only this platform (repeatable). Default: every platform configured for it.")
@click.option("--no-worker", is_flag=True, help="Do not run the embedded delivery worker.")
@friendly
def stream(platforms: tuple[str, ...], no_worker: bool) -> None:
    """Receive events without a public URL: Slack Socket Mode (SLACK_APP_TOKEN) and DingTalk Stream mode."""
    import signal
    import threading

    from core.kernel.config_sync import sync_config
    from steward.streams import start_streams
    from steward.worker import start_embedded

    container = _container()
    container.check_migrated()
    with container.sessions.begin() as s:
        sync_config(s, container.config, container.clock.now())
    started = start_streams(container, platforms)
    if not started:
        raise ConfigError(["no stream to start: set SLACK_APP_TOKEN for Socket Mode, or configure DingTalk"])
    if not no_worker:
        start_embedded(container)
    click.echo(f"streaming from {', '.join(started)}; worker {'embedded' if not no_worker else 'off'}")
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()


# --- database --------------------------------------------------------------------------------

@main.group()
def db() -> None:
    """Database schema commands."""


@db.command("upgrade")
@friendly
def db_upgrade() -> None:
    """Create or migrate the database schema to the current version."""
    from core.db.migrate import current_revision, upgrade

    container = _container(with_connectors=False)
    container.check_database()
    upgrade(container.engine)
    click.echo(f"database at revision {current_revision(container.engine)}")


@db.command("current")
@friendly
def db_current() -> None:
    """Show the schema revision of the database and of the code."""
    from core.db.migrate import current_revision, head_revision

    container = _container(with_connectors=False)
    container.check_database()
    click.echo(f"database: {current_revision(container.engine) or 'empty'}; code: {head_revision(container.engine)}")


# --- configuration ---------------------------------------------------------------------------------

@main.group()
def config() -> None:
    """Configuration commands."""


@config.command("check")
def config_check() -> None:
    """Validate steward.yaml and the environment; print what is configured and what is missing."""
    from steward.config_check import check

    ok = check(os.environ, click.echo)
    sys.exit(0 if ok else 1)


# --- audit -------------------------------------------------------------------------------------

@main.group()
def audit() -> None:
    """The append-only audit log."""


@audit.command("export")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl", show_default=True)
@click.option("--since", type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"]), help="From this UTC date/time.")
@click.option("--until", type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"]), help="Before this UTC date/time.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), help="File (default: stdout).")
@friendly
def audit_export(fmt: str, since, until, output: str | None) -> None:
    """Export the audit log (every decision and admin action) as JSON lines or CSV."""
    from steward.audit_export import export

    container = _container(with_connectors=False)
    container.check_migrated()
    stream = open(output, "w", encoding="utf-8", newline="") if output else sys.stdout
    try:
        count = export(container.sessions, stream, fmt, since, until)
    finally:
        if output:
            stream.close()
    click.echo(f"exported {count} audit entries", err=True)


# --- sandbox ---------------------------------------------------------------------------------

@main.command()
@click.option("--as", "who", help="Start as this sandbox user id.")
@click.option("--emulate", type=click.Choice(["slack", "wecom", "dingtalk"]),
              help="Make the sandbox behave like this platform (what the bot can see and do).")
@friendly
def sandbox(who: str | None, emulate: str | None) -> None:
    """An interactive shell: choose who you are, type into a group, see what Steward does."""
    from steward.sandbox_shell import run_shell

    env = dict(os.environ)
    if emulate:
        env["STEWARD_SANDBOX_EMULATE"] = emulate
    run_shell(_container(env=env), who)


main.add_command(moderate)
cli_membership.register(main)
cli_training.register(main)
cli_assessment.register(main)
cli_wecom.register(main)
cli_spool.register(main)
