"""steward.yaml: the regulation as configuration (schema and a loader that names key and line)."""
from core.config.loader import load_config, parse_config
from core.config.schema import StewardConfig

__all__ = ["StewardConfig", "load_config", "parse_config"]
