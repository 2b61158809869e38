"""The house rules that hold by test, not by habit: no import cycle anywhere (function-level imports
counted), no messenger named in the core, the import contracts of pyproject.toml, and the linter."""
from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from connectors import registry
from tests.house.imports import ROOT, cycles, graph


def test_no_import_cycle_among_the_projects_modules():
    assert cycles(graph()) == []


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def _platform_literals(path: Path, ids: set[str]) -> list[str]:
    """String constants that are a messenger's id, or a pattern or list naming one."""
    found = []
    alternation = re.compile(r"(?:[(|])(" + "|".join(sorted(ids)) + r")(?=[|)])")
    tree = ast.parse(path.read_text("utf-8"))
    docstrings = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Expr)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            if node.value in ids or alternation.search(node.value):
                found.append(f"{path.name}:{node.lineno}: {node.value!r}")
    return found


def test_the_core_names_no_messenger():
    ids = {m.id for m in registry.manifests()}
    found = [f"{path.relative_to(ROOT)}: {hit}" for path in sorted((ROOT / "core").rglob("*.py"))
             if "migrations" not in path.parts for hit in _platform_literals(path, ids)]
    assert found == []


def test_the_literal_scan_sees_a_platform_branch(tmp_path):
    planted = tmp_path / "planted.py"
    planted.write_text('if platform == "wecom":\n    pass\nREF = r"^(slack|wecom):x$"\nOK = "slack is fine in prose"\n')
    ids = {m.id for m in registry.manifests()}
    hits = _platform_literals(planted, ids)
    assert sorted(hits) == ["planted.py:1: 'wecom'", "planted.py:3: '^(slack|wecom):x$'"]


def _tool(name: str) -> str:
    found = shutil.which(name, path=str(Path(sys.executable).parent))
    if found is None:
        pytest.skip(f"{name} is not installed (pip install -e '.[test]')")
    return found


def test_import_contracts_hold():
    result = subprocess.run([_tool("lint-imports"), "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:]


def test_the_linter_is_clean():
    result = subprocess.run([_tool("ruff"), "check", "core", "connectors", "webhooks", "steward", "tests", "bench"],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:]
