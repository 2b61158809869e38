"""HR's export of a training's grades (R6.3.1): one row per member with the per-component breakdown,
and a transcript per member (every graded piece of work), as CSV or XLSX (openpyxl)."""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from core.assessment.grades import Gradebook, Line
from core.db.models import Person, Training

TRANSCRIPT_HEADER = ("component", "item", "kind", "percent", "detail")


@dataclass
class Export:
    header: list[str]
    rows: list[list[Any]]
    transcripts: dict[str, list[list[Any]]]   # file/sheet name -> rows (header first)


def _cell(value: Any) -> Any:
    """Text that a spreadsheet would run as a formula is kept as text (names and feedback are typed by people)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _round(x: float | None) -> float | str:
    return "" if x is None else round(x, 2)


def build(book: Gradebook) -> Export:
    scheme = book.scheme
    comps = [(c["key"], c["weight"]) for c in scheme.components] if scheme else []
    header = ["rank", "name", "employee_id", "department", "group", "account",
              *[f"{key} ({weight:g}%)" for key, weight in comps], "total", "pass_mark", "result", "complete",
              "honours", "remediation", "remediation_status", "remediation_attempts", "remediation_best"]
    lines = book.lines()
    honoured = {ln.person_id for ln in book.honoured(lines)}
    rows, transcripts = [], {}
    for ln in lines:
        person = book.s.get(Person, ln.person_id)
        r = ln.remediation
        rows.append([_cell(v) for v in (
            ln.rank, ln.name, person.employee_id or "", person.department or "", ln.contact.group.name,
            f"{ln.contact.account.platform}:{ln.contact.account.user_id}",
            *[_round(ln.components.get(key)) for key, _ in comps], round(ln.total, 2), book.pass_mark,
            "pass" if ln.passed else "fail", "yes" if ln.complete else "no",
            "yes" if ln.person_id in honoured else "no", r.kind if r else "", r.status if r else "",
            r.attempts if r else "", _round(r.best_score) if r else "")])
        transcripts[_name(ln)] = [list(TRANSCRIPT_HEADER)] + [
            [_cell(v) for v in (i.component, i.ref, i.kind, _round(i.percent), i.detail)] for i in ln.items]
    return Export(header, rows, transcripts)


def _name(ln: Line) -> str:
    safe = re.sub(r"[^\w\-]+", "_", ln.name, flags=re.UNICODE).strip("_")[:20] or "member"
    return f"{ln.person_id:04d}-{safe}"


def write_csv(export: Export, out: TextIO) -> None:
    writer = csv.writer(out)
    writer.writerow(export.header)
    writer.writerows(export.rows)


def write_transcripts_csv(export: Export, folder: Path) -> int:
    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in export.transcripts.items():
        with open(folder / f"{name}.csv", "w", encoding="utf-8-sig", newline="") as f:
            csv.writer(f).writerows(rows)
    return len(export.transcripts)


def write_xlsx(export: Export, training: Training, path: Path) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "Grades"
    ws.append(export.header)
    for row in export.rows:
        ws.append(row)
    for name, rows in export.transcripts.items():
        sheet = wb.create_sheet(name[:31])
        for row in rows:
            sheet.append(row)
    wb.properties.title = f"Grades of {training.name}"
    wb.save(path)
