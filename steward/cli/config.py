"""`steward config check`: validate steward.yaml and the environment, say what is set and missing."""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Callable, Mapping

import click

from connectors import registry
from connectors.base import is_configured
from core.config import load_config
from core.errors import ConfigError, StewardError
from steward import settings as process_settings


def _thresholds(config, say: Callable[[str], None]) -> None:
    """templates.<kind>.moderation.act_at: what acts alone and what waits in the admins' review queue (R7.2.2)."""
    for kind, template in sorted(config.all_templates().items()):
        m = template.moderation
        if not m.enabled:
            say(f"  - moderation {kind}: off")
            continue
        if not m.act_at and not any(m.act_at_by_category.values()):
            say(f"  ✓ moderation {kind}: every detector hit acts alone")
            continue
        by = ", ".join(f"{c} {v:g}" for c, v in sorted(m.act_at_by_category.items()))
        say(f"  ✓ moderation {kind}: hits act alone at confidence {m.act_at:g} or above"
            + (f" ({by})" if by else "") + "; below, they wait in the admins' review queue")


def check(env: Mapping[str, str], say: Callable[[str], None]) -> bool:
    """Print a report; returns True when Steward can start with this configuration."""
    from steward.container import build, platforms_wanted

    problems: list[str] = []
    cfg_settings = process_settings.Settings.from_env(env)
    say(f"configuration file: {cfg_settings.config_path}")
    try:
        config = load_config(cfg_settings.config_path)
    except ConfigError as exc:
        for problem in exc.problems:
            say(f"  ✗ {problem}")
        return False
    by_platform: dict[str, int] = {}
    for group in config.groups:
        by_platform[group.platform] = by_platform.get(group.platform, 0) + 1
    say(f"  ✓ valid: locale {config.locale}, time zone {config.timezone}, {len(config.groups)} group(s) "
        f"({', '.join(f'{n} {p}' for p, n in sorted(by_platform.items())) or 'none'}), "
        f"templates {', '.join(sorted(config.all_templates()))}")
    if not config.groups:
        say("  ! no groups yet: Steward will answer but govern nothing")
    hire_trainings = {g.training for g in config.groups if g.kind == "new-hire" and g.training}
    for n, rule in enumerate(config.membership.onboarding_rules):
        if rule.training not in hire_trainings:
            say(f"  ! membership.onboarding_rules[{n}]: training {rule.training} has no new-hire group in this file "
                "(fine if it was registered with `steward group create|add`; otherwise matches are only audited)")
    for manifest in registry.manifests():          # each messenger's own checks (manifest extra)
        messenger_check = manifest.extra("config_check")
        if messenger_check is not None:
            messenger_check(config, env, say)
    _thresholds(config, say)

    wanted = platforms_wanted(config, env)
    for manifest in registry.manifests():
        platform = manifest.id
        used = platform in wanted
        state = "configured" if used else ("not used" if not is_configured(manifest.env, env) else "configured")
        say(f"{platform}: {state}")
        if not used and manifest.real:
            say(f"  - set {', '.join(v.name for v in manifest.env if v.required)} to enable it")
            continue
        for var in manifest.env:
            value = (env.get(var.name) or "").strip()
            if value:
                shown = "set" if var.secret else value
                say(f"  ✓ {var.name} {shown}")
            elif var.required:
                say(f"  ✗ {var.name} missing: {var.meaning}")
            else:
                say(f"  - {var.name} not set: {var.meaning}" + (f" (default {var.default})" if var.default else ""))

    say("process:")
    for var in process_settings.ENV:
        value = (env.get(var.name) or "").strip()
        say(f"  {'✓' if value else '-'} {var.name} {('set' if var.secret else value) if value else f'default {var.default}'}")
    from core.file_store import LocalFileStore, directory_problem
    files_problem = LocalFileStore(cfg_settings.files_dir).check()
    if files_problem:
        problems.append(f"STEWARD_FILES_DIR: cannot write files there ({files_problem})")
    else:
        say(f"files: {cfg_settings.files_dir} writable")
    if cfg_settings.spool_dir:
        spool_problem = directory_problem(Path(cfg_settings.spool_dir))
        if spool_problem:
            problems.append(f"STEWARD_SPOOL_DIR: cannot write the spool there ({spool_problem})")
        else:
            say(f"spool: {cfg_settings.spool_dir} writable (webhooks answer once events are written there)")
    try:
        container = build(env, config=config)
    except ConfigError as exc:
        problems.extend(exc.problems)
        container = None
    try:                                            # the console's session lengths (webhooks/console)
        from webhooks.console.signin import ConsoleSettings
        ConsoleSettings.from_env(env)
    except ConfigError as exc:
        problems.extend(exc.problems)
    if container is not None:
        for platform, connector in container.connectors.items():
            caps = connector.capabilities
            missing = [name for name, on in vars(caps).items() if on is False]
            if missing:
                say(f"  {platform} cannot: {', '.join(missing)} (Steward falls back: tells admins)")
        try:
            container.check_migrated()
            say(f"database: {container.engine.url.render_as_string(hide_password=True)} reachable, schema current")
        except StewardError as exc:
            problems.append(f"database: {exc}")
        if container.settings.redis_url:
            try:
                from steward.recent_redis import RedisRecentMessages
                RedisRecentMessages(container.settings.redis_url).ping()
                say("redis: reachable")
            except Exception as exc:   # any client error is a configuration problem to report
                problems.append(f"STEWARD_REDIS_URL: cannot use it ({type(exc).__name__}: {str(exc)[:200]})")
    if problems:
        say("problems:")
        for problem in problems:
            say(f"  ✗ {problem}")
        return False
    say("ok: Steward can start")
    return True


def register(main: click.Group) -> None:
    @main.group()
    def config() -> None:
        """Configuration commands."""

    @config.command("check")
    def config_check() -> None:
        """Validate steward.yaml and the environment; print what is configured and what is missing."""
        sys.exit(0 if check(os.environ, click.echo) else 1)
