"""Process settings from the environment (12-factor). Platform secrets are read by each connector."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Mapping

from connectors.base import EnvVar
from core.db.session import DEFAULT_URL
from core.errors import ConfigError

ENV: tuple[EnvVar, ...] = (
    EnvVar("DATABASE_URL", False, True, "SQLAlchemy URL; default a SQLite file in the working directory",
           DEFAULT_URL),
    EnvVar("STEWARD_CONFIG", False, False, "path of steward.yaml", "steward.yaml"),
    EnvVar("STEWARD_REDIS_URL", False, True,
           "Redis for state several processes share (rate limits, flood counting); unset: in-process memory",
           None),
    EnvVar("STEWARD_SPOOL_DIR", False, False,
           "fast acknowledgement: webhooks answer once events are written to a spool file in this directory, "
           "then store them in batches; unset: answer after the database commit", None),
    EnvVar("STEWARD_WORKER_ID", False, False, "name of this worker in leases and logs", None),
    EnvVar("STEWARD_LEASE_SECONDS", False, False,
           "seconds a worker holds an outbox row it is delivering; a worker that dies leaves its rows to "
           "the others after this long", "120"),
    EnvVar("STEWARD_LOG_LEVEL", False, False, "DEBUG, INFO, WARNING or ERROR", "INFO"),
    EnvVar("STEWARD_PLAYGROUND", False, False,
           "1: serve the sandbox's playground page and endpoints at /sandbox/ (the demo of `make run`); "
           "refused next to a real messenger", None),
    EnvVar("STEWARD_HEALTH_TOKEN", False, True,
           "bearer token that lets a monitor read /healthz's details from another machine "
           "(unset: details only from this machine)", None),
    EnvVar("STEWARD_LOG_FORMAT", False, False, "text (default) or json: one JSON object per log line", "text"),
    EnvVar("STEWARD_METRICS_TOKEN", False, True,
           "bearer token that /metrics asks for; unset: /metrics answers only the loopback interface", None),
    EnvVar("PROMETHEUS_MULTIPROC_DIR", False, False,
           "where the web processes keep their metrics for /metrics to sum; `steward serve` makes one itself, "
           "plain gunicorn needs an empty directory", None),
    EnvVar("STEWARD_FILES_DIR", False, False,
           "directory of the files members send Steward (submissions, shared materials)", "steward-files"),
)


@dataclass(frozen=True)
class Settings:
    database_url: str
    config_path: str
    redis_url: str | None
    spool_dir: str | None
    worker_id: str | None
    log_level: str
    files_dir: str = "steward-files"
    playground: bool = False
    health_token: str | None = field(default=None, repr=False)
    log_format: str = "text"
    lease_seconds: int = 120
    metrics_token: str | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "Settings":
        env = os.environ if env is None else env

        def get(name: str) -> str | None:
            var = next(v for v in ENV if v.name == name)
            return (env.get(name) or "").strip() or var.default

        return cls(database_url=get("DATABASE_URL") or DEFAULT_URL,
                   config_path=get("STEWARD_CONFIG") or "steward.yaml",
                   redis_url=get("STEWARD_REDIS_URL"),
                   spool_dir=get("STEWARD_SPOOL_DIR"),
                   worker_id=get("STEWARD_WORKER_ID"),
                   log_level=(get("STEWARD_LOG_LEVEL") or "INFO").upper(),
                   files_dir=get("STEWARD_FILES_DIR") or "steward-files",
                   playground=(get("STEWARD_PLAYGROUND") or "").lower() in ("1", "true", "yes", "on"),
                   health_token=get("STEWARD_HEALTH_TOKEN"),
                   log_format=(get("STEWARD_LOG_FORMAT") or "text").lower(),
                   lease_seconds=_seconds(get("STEWARD_LEASE_SECONDS") or "120", "STEWARD_LEASE_SECONDS"),
                   metrics_token=get("STEWARD_METRICS_TOKEN"))


def _seconds(value: str, name: str) -> int:
    try:
        seconds = int(value)
    except ValueError:
        raise ConfigError([f"{name}: a whole number of seconds, not {value!r}"]) from None
    if not 5 <= seconds <= 3600:
        raise ConfigError([f"{name}: between 5 and 3600 seconds, not {seconds}"])
    return seconds
