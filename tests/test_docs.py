"""The README and the code must agree: every environment variable and CLI command is documented."""
from pathlib import Path

import click

from connectors import registry
from steward import settings
from steward.cli import main

README = Path(__file__).parents[1].joinpath("README.md").read_text("utf-8")


def test_every_environment_variable_is_documented():
    names = [v.name for v in settings.ENV]
    for manifest in registry.manifests():
        names += [v.name for v in manifest.env]
    missing = [n for n in names if f"`{n}`" not in README]
    assert not missing, f"README lacks {missing}"


def test_every_cli_command_is_documented():
    def walk(group: click.Group, prefix: str):
        for name, cmd in group.commands.items():
            if isinstance(cmd, click.Group):
                yield from walk(cmd, f"{prefix}{name} ")
            else:
                yield f"{prefix}{name}"

    missing = [c for c in walk(main, "steward ") if f"`{c}" not in README]
    assert not missing, f"README lacks {missing}"


def test_every_connector_has_a_readme():
    for platform in ("slack", "wecom", "dingtalk", "sandbox"):
        assert Path(__file__).parents[1].joinpath("connectors", platform, "README.md").is_file(), platform
