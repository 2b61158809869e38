"""What every use case needs, handed over by the composition root."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping

from sqlalchemy.orm import Session, sessionmaker

from core import platforms
from core.capabilities import Capabilities
from core.clock import Clock
from core.config.schema import StewardConfig
from core.kernel.features import NONE, Features
from core.kernel.lookups import Lookups
from core.ports import FileSource, FileStore, Metrics, NoMetrics


@dataclass
class CoreContext:
    sessions: sessionmaker[Session]
    config: StewardConfig
    clock: Clock
    capabilities: Mapping[str, Capabilities] = field(default_factory=dict)
    # Content detectors (moderation): called for every message in a governed group, commands included;
    # they return True when the message opened a case (then a command in it does not run).
    detectors: Callable | None = None
    lookups: Lookups = field(default_factory=Lookups)
    # Connectors that can read their platform's directory (`user_profile(user_id)`), by platform.
    directories: Mapping[str, object] = field(default_factory=dict)
    # Where fetched files are kept, and the connectors that can fetch them (`fetch_file`), by platform.
    files: FileStore | None = None
    file_sources: Mapping[str, FileSource] = field(default_factory=dict)
    # What the features add (commands, card actions, event handlers, jobs), from the composition root.
    features: Features = NONE
    # What the core counts for monitoring (detector hits); the composition root exports it.
    metrics: Metrics = field(default_factory=NoMetrics)

    def caps(self, platform: str) -> Capabilities:
        """The connector's declared capabilities; without a connector, the platform's registered row."""
        return self.capabilities.get(platform) or platforms.capabilities(platform)
