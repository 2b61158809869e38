"""Load steward.yaml and report every problem as `file:line: key: what is wrong`."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from core.config.schema import StewardConfig
from core.errors import ConfigError

MAX_CONFIG_BYTES = 2 * 1024 * 1024


_PLAIN_TAGS = {f"tag:yaml.org,2002:{t}" for t in
               ("str", "int", "float", "bool", "null", "map", "seq", "timestamp")}


class _LineTracker:
    """Builds plain Python data from a YAML node tree, remembering each path's line."""

    def __init__(self) -> None:
        self.lines: dict[tuple, int] = {}
        self.problems: list[str] = []

    def build(self, node: yaml.Node, path: tuple = ()) -> Any:
        self.lines[path] = node.start_mark.line + 1
        if node.tag not in _PLAIN_TAGS:
            self.problems.append(f"line {node.start_mark.line + 1}: {_dotted(path)}: "
                                 f"YAML tag {node.tag} is not allowed")
            return None
        if isinstance(node, yaml.MappingNode):
            out: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                key = self.build(key_node, path + ("<key>",))
                if not isinstance(key, (str, int)):
                    self.problems.append(f"line {key_node.start_mark.line + 1}: keys must be text")
                    continue
                if key in out:
                    self.problems.append(
                        f"line {key_node.start_mark.line + 1}: {_dotted(path + (key,))}: duplicate key")
                out[key] = self.build(value_node, path + (key,))
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, path + (i,)) for i, item in enumerate(node.value)]
        return yaml.safe_load(yaml.serialize(node)) if node.tag != "tag:yaml.org,2002:str" else node.value

    def line_of(self, loc: tuple) -> int | None:
        while loc:
            if loc in self.lines:
                return self.lines[loc]
            loc = loc[:-1]
        return self.lines.get(())


def _dotted(loc: tuple) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def parse_config(text: str, source: str = "steward.yaml") -> StewardConfig:
    """Validate YAML text; raises ConfigError listing every problem with its line."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        raise ConfigError([f"{where}: not valid YAML: {exc.problem}"]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([f"{source}: not valid YAML: {exc}"]) from None
    if node is None:
        data: Any = {}
        tracker = _LineTracker()
    else:
        tracker = _LineTracker()
        data = tracker.build(node)
    if tracker.problems:
        raise ConfigError([f"{source}: {p}" for p in tracker.problems])
    if not isinstance(data, dict):
        raise ConfigError([f"{source}:1: the file must be a mapping of keys (locale, templates, groups, ...)"])
    try:
        return StewardConfig.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
            line = tracker.line_of(loc)
            where = f"{source}:{line}" if line else source
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                msg = "unknown key (check the spelling; see steward.yaml in the README)"
            elif err["type"] == "missing":
                msg = "required key is missing"
            problems.append(f"{where}: {_dotted(loc)}: {msg}")
        raise ConfigError(problems) from None


def load_config(path: str | Path) -> StewardConfig:
    path = Path(path)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise ConfigError([f"{path}: file not found (set STEWARD_CONFIG or create steward.yaml)"]) from None
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read: {exc.strerror}"]) from None
    if size > MAX_CONFIG_BYTES:
        raise ConfigError([f"{path}: {size} bytes is too large for a configuration file"])
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError([f"{path}: not UTF-8 text"]) from None
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read: {exc.strerror}"]) from None
    return parse_config(text, source=str(path))
