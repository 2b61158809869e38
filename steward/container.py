"""The one place where Steward is wired together: config, database, connectors, core context."""
from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass, field
from typing import Callable, Mapping

from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from connectors import registry
from connectors.base import Connector, ConnectorDeps, is_configured
from core.clock import Clock, SystemClock
from core.config import load_config
from core.config.schema import StewardConfig
from core.db.migrate import current_revision, head_revision, known_revisions
from core.db.session import commit_gate, make_engine, make_sessionmaker
from core.discipline.moderation import ModerationService
from core.errors import ConfigError, StewardError
from core.events import Event
from core.file_store import LocalFileStore
from core.kernel.context import CoreContext
from core.kernel.dead_events import set_aside
from core.kernel.delivery import Deliverer
from core.kernel.group_commit import GroupCommit
from core.kernel.inbound import ingest_many
from core.ports import Directory
from steward import metrics, redact
from steward.features import all_features
from steward.ratelimit import LimitsRateLimiter
from steward.replay import replay_guard
from steward.settings import ENV as SETTINGS_ENV
from steward.settings import Settings
from steward.spool import Spool
from steward.tokens import DbTokenStore

log = logging.getLogger("steward.container")


class DatabaseUnavailable(StewardError):
    pass


@dataclass
class Container:
    settings: Settings
    config: StewardConfig
    engine: Engine
    sessions: sessionmaker[Session]
    clock: Clock
    connectors: dict[str, Connector] = field(default_factory=dict)
    ctx: CoreContext | None = None
    #: what the webhooks and streams hand their parsed events to: the group commit, or the spool on top of it
    accept: Callable[[Event], object] | None = None
    #: the default: each event joins the next transaction, its caller returns once it is committed
    group_commit: GroupCommit | None = None
    spool: Spool | None = None
    _head: str | None = None
    _known: frozenset[str] = frozenset()

    def deliverer(self, worker_id: str | None = None) -> Deliverer:
        worker = worker_id or self.settings.worker_id or f"{socket.gethostname()}:{os.getpid()}"
        counted = {p: metrics.CountingMessenger(p, c) for p, c in self.connectors.items()}   # /metrics
        return Deliverer(self.ctx, counted, worker, lease_seconds=self.settings.lease_seconds)

    def check_database(self) -> None:
        """Raise DatabaseUnavailable with a clear message if the database cannot be used."""
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except SQLAlchemyError as exc:
            raise DatabaseUnavailable(f"cannot reach the database ({_safe_url(self.engine)}): "
                                      f"{_first_line(exc)}") from None

    def warm(self) -> None:
        """Build what the first message would otherwise wait for: each template's moderator (its lexicon's
        automaton: 0.15 s of CPU for the built-in lexicon, about a second for 10,000 terms). A database not
        ready yet leaves it to the first message."""
        detectors = self.ctx.detectors if self.ctx is not None else None
        if not isinstance(detectors, ModerationService):
            return
        try:
            detectors.warm(self.ctx)
        except SQLAlchemyError as exc:
            log.warning("moderators not built at start (built on the first message): %s", _first_line(exc))

    def check_migrated(self) -> str:
        """"current", or "ahead" when a newer version has migrated the database (during a rolling upgrade this
        version keeps running on the newer schema); raises when the schema is behind the code."""
        self.check_database()
        if self._head is None:     # the migration files, read once per process
            self._head, self._known = head_revision(self.engine), known_revisions(self.engine)
        have, want = current_revision(self.engine), self._head
        if have == want:
            return "current"
        if have is not None and have not in self._known:
            return "ahead"
        raise DatabaseUnavailable(f"the database schema is at {have or 'nothing'}, the code needs {want}: "
                                  "run `steward db upgrade`")


def platforms_wanted(config: StewardConfig, env: Mapping[str, str]) -> list[str]:
    """Platforms that groups use or whose variables are set: their secrets must be complete."""
    wanted = set(config.platforms_in_use())
    for manifest in registry.manifests():
        if manifest.real and is_configured(manifest.env, env):
            wanted.add(manifest.id)
    return [p for p in registry.ids() if p in wanted]


def build(env: Mapping[str, str] | None = None, *, clock: Clock | None = None,
          config: StewardConfig | None = None, with_connectors: bool = True) -> Container:
    """Wire everything; raises ConfigError naming every missing or wrong setting."""
    env = os.environ if env is None else env
    # before anything can log: every configured secret is masked in every record, at every level
    redact.install(redact.secrets_of(env, [v for m in registry.manifests() for v in m.env] + list(SETTINGS_ENV)))
    settings = Settings.from_env(env)
    config = config if config is not None else load_config(settings.config_path)
    clock = clock or SystemClock()
    try:
        engine = make_engine(settings.database_url)
    except (SQLAlchemyError, ValueError, ImportError) as exc:
        raise ConfigError([f"DATABASE_URL: {_first_line(exc)}"]) from None
    sessions = make_sessionmaker(engine)
    container = Container(settings, config, engine, sessions, clock)
    files = LocalFileStore(settings.files_dir)
    if with_connectors:
        deps = ConnectorDeps(clock=clock, tokens=DbTokenStore(sessions, clock),
                             limiter=metrics.CountingRateLimiter(LimitsRateLimiter(settings.redis_url or "memory://")),
                             files=files, replay=replay_guard(sessions, clock, settings.redis_url))
        problems: list[str] = []
        wanted = platforms_wanted(config, env)
        if settings.playground:
            real = [p for p in wanted if registry.manifest(p).real]
            if real:
                raise ConfigError([f"STEWARD_PLAYGROUND: the playground cannot run in a deployment with a real "
                                   f"messenger ({', '.join(real)}): anyone on this machine could act in its "
                                   "groups. Unset STEWARD_PLAYGROUND, or run the playground on its own "
                                   "(its own steward.yaml and database)."])
            wanted += [m.id for m in registry.manifests() if not m.real and m.id not in wanted]
        for platform in wanted:
            try:
                container.connectors[platform] = registry.connector_class(platform).from_env(env, deps)
                container.connectors[platform].use_chat_aliases(config.chat_aliases(platform))
            except ConfigError as exc:
                problems.extend(exc.problems)
        if problems:
            raise ConfigError(problems)
    container.ctx = CoreContext(sessions=sessions, config=config, clock=clock,
                                capabilities={p: c.capabilities for p, c in container.connectors.items()},
                                detectors=ModerationService(recent_messages(settings.redis_url)),
                                directories={p: c for p, c in container.connectors.items()
                                             if isinstance(c, Directory)},
                                files=files, file_sources=dict(container.connectors),
                                features=all_features(), metrics=metrics.CoreMetrics())
    # the directory port of core/kernel/identity.py: connectors that can look a user up
    ctx = container.ctx
    container.group_commit = GroupCommit(lambda events: ingest_many(ctx, events),
                                         lambda event, exc, attempts: set_aside(ctx, event, exc, attempts),
                                         gate=commit_gate(engine), observe=metrics.observe_batch)
    if settings.spool_dir:
        container.spool = Spool(settings.spool_dir, lambda events: ingest_many(ctx, events), container.group_commit,
                                set_aside=lambda event, exc, attempts: set_aside(ctx, event, exc, attempts))
        container.accept = container.spool
    else:
        container.accept = container.group_commit
    container.accept = metrics.instrument_accept(container.accept)   # counted and timed for /metrics
    return container


def recent_messages(redis_url: str | None):
    """Flood counting: in this process, or in Redis so every web process counts together."""
    if not redis_url:
        return None
    from steward.recent_redis import RedisRecentMessages
    return RedisRecentMessages(redis_url)


def _first_line(exc: BaseException) -> str:
    return (str(getattr(exc, "orig", None) or exc).strip().splitlines() or [type(exc).__name__])[0][:300]


def _safe_url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)


__all__ = ["Container", "DatabaseUnavailable", "build", "platforms_wanted", "OperationalError"]
