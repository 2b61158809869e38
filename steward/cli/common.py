"""What every command of the `steward` CLI shares: building the container, errors as messages, exits."""
from __future__ import annotations

import functools
import sys

import click
from sqlalchemy.exc import SQLAlchemyError

from core.errors import ConfigError, StewardError


def fail(lines: list[str] | str, code: int = 1) -> None:
    """Print each line as an error and exit with `code`."""
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
            fail(exc.problems)
        except StewardError as exc:
            fail(str(exc))
        except OSError as exc:   # full disk, permissions, unreadable file
            fail(f"{exc.strerror or exc}{': ' + str(exc.filename) if exc.filename else ''}")
        except SQLAlchemyError as exc:   # e.g. "database or disk is full", a lost connection
            detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()
            fail(f"database error: {detail[0] if detail else type(exc).__name__} (nothing was half-written: "
                 "every change runs in one transaction)")
    return wrapper


def build_container(**kw):
    """The container (steward/container.py), built when a command runs, never at import."""
    from steward.container import build
    return build(**kw)


def synced_container(**kw):
    """A container on a migrated database whose groups and roles follow steward.yaml."""
    from core.kernel.config_sync import sync_config

    container = build_container(**kw)
    container.check_migrated()
    with container.sessions.begin() as s:
        sync_config(s, container.config, container.clock.now())
    return container


# --since/--until: a date or date and time on the deployment's clock (steward.yaml `timezone`)
DATE = click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"])
DATE_HELP = "in the deployment's time zone (steward.yaml timezone, default Asia/Shanghai)"


def local_moment(value, tz: str):
    """A date/time typed on the deployment's clock, as an aware UTC moment (None stays None)."""
    from datetime import timezone
    from zoneinfo import ZoneInfo
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(tz))
    return value.astimezone(timezone.utc)


class Platforms(click.Choice):
    """A platform id, among those registered when the command runs (a messenger added later counts too)."""

    def __init__(self, ids) -> None:                # ids: () -> ids, e.g. connectors.registry.ids
        self._ids = ids
        super().__init__(())

    @property
    def choices(self) -> tuple[str, ...]:
        return tuple(self._ids())

    @choices.setter
    def choices(self, _value) -> None:              # click.Choice.__init__ sets it; the ids decide
        pass
