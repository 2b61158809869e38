"""The console's settings and each messenger's sign-in variables are documented in the README."""
from pathlib import Path

from connectors import registry

README = Path(__file__).parents[2].joinpath("README.md").read_text("utf-8")


def test_the_console_variables_are_documented():
    names = ["STEWARD_PUBLIC_URL", "STEWARD_CONSOLE_IDLE_MINUTES", "STEWARD_CONSOLE_MAX_HOURS"]
    for manifest in registry.manifests():
        provider = manifest.extra("signin")
        if provider is not None:
            module = __import__(provider.__module__, fromlist=["ENV"])
            names += [v.name for v in module.ENV]
    missing = [n for n in names if f"`{n}`" not in README]
    assert not missing, f"README lacks {missing}"
    assert "docs/console-overview.png" in README
    assert Path(__file__).parents[2].joinpath("docs", "console-overview.png").is_file()
