"""The clause registry agrees with the regulation, and every clause the project cites exists."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from core.clauses import CLAUSES, SECTIONS, clauses_in, is_clause, is_section, require

ROOT = Path(__file__).parents[2]
REGULATION = ROOT / "docs" / "regulation"
CLAUSE_ID = re.compile(r"\bR\d+\.\d+(?:\.\d+)?\b")

SCANNED_DIRS = ("core", "connectors", "webhooks", "steward", "docs")
SCANNED_FILES = ("steward.yaml", "README.md")
SCANNED_SUFFIXES = {".py", ".json", ".yaml", ".yml", ".md", ".html", ".txt", ".mako"}
SKIPPED_DIRS = {".venv", "tests", "__pycache__", "node_modules"}


def regulation_table() -> list[tuple[str, str]]:
    """(id, summary) of every row of the clause table in docs/regulation/README.md, in order."""
    rows = []
    for line in (REGULATION / "README.md").read_text("utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) == 3 and re.fullmatch(r"R[\d.]+", cells[0]):
            rows.append((cells[0], cells[1]))
    return rows


CHINESE_NUMBERS = {n: i for i, n in enumerate("一二三四五六七八九十", start=1)}


def regulation_structure() -> tuple[set[str], set[str]]:
    """From the regulation's own text: the ids of its numbered items, and of the sections holding them."""
    items, sections = set(), set()
    chapter = section = None
    for line in (REGULATION / "training-group-regulation.zh-Hant.txt").read_text("utf-8").splitlines():
        if m := re.match(r"^([一二三四五六七八九十])、", line):
            chapter, section = CHINESE_NUMBERS[m[1]], None
        elif m := re.match(r"^[(（]([一二三四五六七八九十])[)）]", line):
            section = CHINESE_NUMBERS[m[1]]
        elif (m := re.match(r"^(\d+)\.", line)) and chapter and section:
            items.add(f"R{chapter}.{section}.{m[1]}")
            sections.add(f"R{chapter}.{section}")
    return items, sections


def scanned_files(root: Path):
    for name in SCANNED_FILES:
        if (root / name).is_file():
            yield root / name
    for top in SCANNED_DIRS:
        for path in sorted((root / top).rglob("*")):
            rel = path.relative_to(root).parts
            if path.is_file() and path.suffix in SCANNED_SUFFIXES and not SKIPPED_DIRS & set(rel[:-1]):
                yield path


def cited_ids(root: Path) -> list[tuple[str, int, str]]:
    """(file, line, id) of every clause-like id in the project's code, data and documents."""
    found = []
    for path in scanned_files(root):
        text = path.read_text("utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), start=1):
            for m in CLAUSE_ID.finditer(line):
                found.append((path.relative_to(root).as_posix(), number, m[0]))
    return found


def unknown_citations(root: Path) -> list[str]:
    """A section (`R3.3`) may be cited in prose for all its clauses; anything else must be a clause."""
    return [f"{f}:{n}: {cid}" for f, n, cid in cited_ids(root) if not (is_clause(cid) or is_section(cid))]


def test_the_registry_is_the_table_of_the_regulation_readme():
    table = regulation_table()
    ids = [cid for cid, _ in table]
    assert len(ids) == len(set(ids)), "a clause id appears twice in the table"
    only_in_table = sorted(set(ids) - set(CLAUSES))
    only_in_code = sorted(set(CLAUSES) - set(ids))
    assert not only_in_table and not only_in_code, (
        f"in docs/regulation/README.md only: {only_in_table}; in core/clauses.py only: {only_in_code}")
    changed = [cid for cid, summary in table if CLAUSES[cid] != summary]
    assert not changed, f"summaries differ from the table for {changed}"
    assert ids == list(CLAUSES), "core/clauses.py lists the clauses in another order than the table"


def test_the_clauses_and_sections_are_those_of_the_regulation_text():
    items, sections = regulation_structure()
    numbered = {cid for cid in CLAUSES if cid.count(".") == 2}
    assert numbered == items, (
        f"not in the text: {sorted(numbered - items)}; not in the registry: {sorted(items - numbered)}")
    assert set(SECTIONS) == sections
    for section in SECTIONS:
        assert clauses_in(section) == tuple(sorted(c for c in items if c.startswith(section + ".")))


def test_every_cited_clause_exists():
    citations = cited_ids(ROOT)
    assert any(f.startswith("core/") and cid == "R8.2.1" for f, _, cid in citations), \
        "the scan no longer sees the core's clauses: check SCANNED_DIRS"
    unknown = unknown_citations(ROOT)
    assert not unknown, "clause ids not in docs/regulation/README.md:\n" + "\n".join(unknown)


def test_the_scan_reports_file_line_and_id_and_ignores_look_alikes(tmp_path):
    (tmp_path / "core").mkdir()
    (tmp_path / "core" / "rule.py").write_text(
        'WARN = "R8.2.1"\n# version v1.2.3, PR1.2, R2 and R5 chapters\nREMOVE = "R8.2.4"  # typo\n', "utf-8")
    (tmp_path / "steward.yaml").write_text("clause: R3.3   # a section\nother: R9.1\n", "utf-8")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_x.py").write_text('"R7.7.7"\n', "utf-8")
    (tmp_path / "core" / ".venv").mkdir()
    (tmp_path / "core" / ".venv" / "lib.py").write_text('"R7.7.7"\n', "utf-8")
    assert sorted(unknown_citations(tmp_path)) == ["core/rule.py:3: R8.2.4", "steward.yaml:2: R9.1"]


def test_require_returns_a_clause():
    assert require("R8.2.1") == "R8.2.1"
    assert require("R1.2") == "R1.2"


@pytest.mark.parametrize("wrong, nearby", [
    ("R9.9.9", "R8.2."),
    ("R8.2.4", "R8.2.3"),
    ("R2.4.3", "R2.4.2"),
    ("r8.2.1", "R8.2.1"),
])
def test_require_refuses_an_unknown_id_naming_the_nearest(wrong, nearby):
    with pytest.raises(ValueError) as raised:
        require(wrong)
    message = str(raised.value)
    assert repr(wrong) in message
    named = re.findall(r"R\d+\.\d+(?:\.\d+)?", message.split("nearest:")[1])
    assert named and all(is_clause(cid) for cid in named), message
    assert any(cid.startswith(nearby) for cid in named), message


def test_require_refuses_a_section_naming_its_clauses():
    with pytest.raises(ValueError, match=r"R3\.3 is a section.*R3\.3\.1, R3\.3\.2"):
        require("R3.3")


@pytest.mark.parametrize("value, clause, section", [
    ("R8.2.1", True, False),
    ("R3.3", False, True),
    ("R1.2", True, False),
    ("R1.1", False, False),
    ("r8.2.1", False, False),
    (" R8.2.1", False, False),
    (None, False, False),
])
def test_is_clause_and_is_section(value, clause, section):
    assert is_clause(value) is clause
    assert is_section(value) is section
