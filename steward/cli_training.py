"""CLI commands of the training feature; `register` is called once by steward/cli.py."""
from __future__ import annotations

import click


def register(main: click.Group) -> None:
    """Add this feature's commands to `main`."""
