"""Reading HR's export of new hires (R2.1.2): CSV (UTF-8 or GBK/GB18030) or XLSX.

The whole file is checked before anything is applied: missing columns stop it (named in the error);
every bad row is listed with its row number and why. Cells are data, never formulas: a value that a
spreadsheet would evaluate (=, @, or +/- followed by anything but a phone number) is refused.
"""
from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime

from core import platforms
from core.errors import StewardError

REQUIRED = ("name", "employee_id", "department", "position", "hire_date")
OPTIONAL = ("email", "mobile")
_HEADERS = {
    "name": ("name", "full name", "姓名"),
    "employee_id": ("employee id", "employee_id", "employee no", "employee number", "工号", "工號", "员工编号",
                    "員工編號"),
    "email": ("e-mail", "email", "mail", "邮箱", "郵箱", "电子邮件", "電子郵件"),
    "mobile": ("mobile", "phone", "手机", "手機", "手机号", "手機號", "电话", "電話"),
    "department": ("department", "dept", "部门", "部門"),
    "position": ("position", "title", "job title", "职位", "職位", "岗位", "崗位"),
    "hire_date": ("hire date", "hire_date", "start date", "入职日期", "入職日期", "到职日期", "到職日期"),
}


def platform_columns() -> tuple[str, ...]:
    """One optional column per registered platform, holding that platform's user id."""
    return platforms.ids()


def _header_to_column() -> dict[str, str]:
    """Header aliases -> column: the fixed ones, then each platform's id and its manifest's aliases."""
    out = {alias: column for column, aliases in _HEADERS.items() for alias in aliases}
    for pid in platforms.ids():
        info = platforms.get(pid)
        for alias in (pid, *(info.column_aliases if info else ())):
            out.setdefault(_header(alias), pid)
    return out
_FORMULA = re.compile(r"^\s*(=|@|[+\-](?![\d\s()\-]*$))")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_MOBILE = re.compile(r"^\+?[\d\s()\-]{6,20}$")
_USER_ID = re.compile(r"^[^\s:]{1,128}$")
_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d", "%Y年%m月%d日", "%d/%m/%Y")
MAX_CELL = 200


class HrFileError(StewardError):
    """The file cannot be used at all (nothing is applied)."""


@dataclass
class HrRow:
    row: int                      # the row number in the file (the header is row 1)
    name: str
    employee_id: str
    department: str
    position: str
    hire_date: date
    email: str | None = None
    mobile: str | None = None
    accounts: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RowProblem:
    row: int
    problem: str                  # missing_name, bad_date, duplicate, formula, unknown_account, conflict, ...
    detail: str


def read_hr_file(data: bytes, filename: str, *, max_rows: int, max_bytes: int,
                 info: dict | None = None) -> tuple[list[HrRow], list[RowProblem]]:
    """The rows and the problems of each; `info` (when given) gets the "encoding" a CSV was read with."""
    if len(data) > max_bytes:
        raise HrFileError(f"{filename}: {len(data)} bytes is more than the limit of {max_bytes} "
                          "(membership.import_max_bytes)")
    if not data.strip():
        raise HrFileError(f"{filename}: the file is empty")
    is_xlsx = data[:4] == b"PK\x03\x04" or filename.lower().endswith((".xlsx", ".xlsm"))
    table = _xlsx_rows(data, filename, max_rows) if is_xlsx else _csv_rows(data, filename, max_rows, info)
    return _check(table, filename)


#: what an HR file is written in, in the order a tie is settled (a file valid in several is read as the first)
ENCODINGS = ("utf_8", "gb18030", "big5")


def decode_csv(data: bytes, filename: str) -> tuple[str, str]:
    """The text and the encoding it was read with: UTF-8 (with or without a BOM) when the bytes are valid
    UTF-8, else what charset-normalizer finds among GB18030 (GBK's superset) and Big5."""
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return data[3:].decode("utf-8"), "UTF-8 (with BOM)"
        except UnicodeDecodeError:
            pass
    else:
        try:
            return data.decode("utf-8"), "UTF-8"
        except UnicodeDecodeError:
            pass
    from charset_normalizer import from_bytes

    best = from_bytes(data, cp_isolation=list(ENCODINGS[1:])).best()
    if best is None:
        raise HrFileError(f"{filename}: cannot read the text: save it as UTF-8, GBK/GB18030 or Big5")
    name = {"gb18030": "GB18030", "big5": "Big5"}.get(best.encoding, best.encoding)
    return str(best), name


def _csv_rows(data: bytes, filename: str, max_rows: int, info: dict | None = None) -> list[list[object]]:
    text, encoding = decode_csv(data, filename)
    if info is not None:
        info["encoding"] = encoding
    if "\x00" in text:
        raise HrFileError(f"{filename}: this is not a CSV text file (save the sheet as CSV or XLSX)")
    first = text.splitlines()[0] if text.splitlines() else ""
    delimiter = max(",\t;", key=first.count) if any(d in first for d in ",\t;") else ","
    rows: list[list[object]] = []
    try:
        for record in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter):
            rows.append(list(record))
            if len(rows) > max_rows + 1:
                raise HrFileError(f"{filename}: more than {max_rows} rows (membership.import_max_rows)")
    except csv.Error as exc:
        raise HrFileError(f"{filename}: not a readable CSV file ({exc})") from None
    return rows


def _xlsx_rows(data: bytes, filename: str, max_rows: int) -> list[list[object]]:
    from openpyxl import load_workbook

    try:
        # data_only=False: a formula stays its text ("=HYPERLINK(...)") and is refused, never evaluated
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise HrFileError(f"{filename}: not a readable XLSX workbook ({type(exc).__name__})") from None
    try:
        sheet = book.worksheets[0]
        rows: list[list[object]] = []
        for values in sheet.iter_rows(values_only=True):
            rows.append(list(values))
            if len(rows) > max_rows + 1:
                raise HrFileError(f"{filename}: more than {max_rows} rows (membership.import_max_rows)")
        return rows
    finally:
        book.close()


def _header(cell: object) -> str:
    return re.sub(r"\s+", " ", str(cell or "").replace("_", " ").strip().lower())


def _check(table: list[list[object]], filename: str) -> tuple[list[HrRow], list[RowProblem]]:
    while table and not any(_text(c) for c in table[0]):
        table = table[1:]
    if not table:
        raise HrFileError(f"{filename}: no header row")
    columns: dict[str, int] = {}
    header_to_column = _header_to_column()
    for index, cell in enumerate(table[0]):
        column = header_to_column.get(_header(cell)) or header_to_column.get(_header(cell).replace(" ", "_"))
        if column is not None and column not in columns:
            columns[column] = index
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        raise HrFileError(f"{filename}: missing column(s) {', '.join(_HEADERS[c][0] for c in missing)} "
                          f"(found: {', '.join(_text(c) for c in table[0] if _text(c)) or 'none'})")
    rows: list[HrRow] = []
    problems: list[RowProblem] = []
    seen_ids: dict[str, int] = {}
    seen_emails: dict[str, int] = {}
    seen_accounts: dict[tuple[str, str], int] = {}
    for number, record in enumerate(table[1:], start=2):
        cells = {c: (record[i] if i < len(record) else None) for c, i in columns.items()}
        if not any(_text(v) for v in cells.values()):
            continue
        row_problems = _row_problems(number, cells)
        if row_problems:
            problems.extend(row_problems)
            continue
        row = HrRow(row=number, name=_text(cells["name"]), employee_id=_text(cells["employee_id"]),
                    department=_text(cells["department"]), position=_text(cells["position"]),
                    hire_date=_date(cells["hire_date"]), email=_text(cells.get("email")).lower() or None,
                    mobile=_mobile(cells.get("mobile")),
                    accounts={p: _text(cells[p]) for p in platform_columns() if _text(cells.get(p))})
        duplicate = (seen_ids.get(row.employee_id) or (seen_emails.get(row.email) if row.email else None)
                     or next((seen_accounts[(p, u)] for p, u in row.accounts.items() if (p, u) in seen_accounts),
                             None))
        if duplicate is not None:
            problems.append(RowProblem(number, "duplicate", f"same employee id, e-mail or account as row {duplicate}"))
            continue
        seen_ids[row.employee_id] = number
        if row.email:
            seen_emails[row.email] = number
        for key in row.accounts.items():
            seen_accounts[key] = number
        rows.append(row)
    return rows, problems


def _row_problems(number: int, cells: dict[str, object]) -> list[RowProblem]:
    problems = []
    for column, value in cells.items():
        if isinstance(value, str) and _FORMULA.match(value):
            problems.append(RowProblem(number, "formula", f"{column}: a formula or command is not accepted "
                                                          f"({value.strip()[:20]!r})"))
        elif len(_text(value)) > MAX_CELL:
            problems.append(RowProblem(number, "too_long", f"{column}: longer than {MAX_CELL} characters"))
    if problems:
        return problems
    for column in ("name", "employee_id", "department", "position"):
        if not _text(cells[column]):
            problems.append(RowProblem(number, f"missing_{column}", f"{column} is empty"))
    if _text(cells["employee_id"]) and not re.fullmatch(r"[A-Za-z0-9_.\-]{1,64}", _text(cells["employee_id"])):
        problems.append(RowProblem(number, "bad_employee_id", f"employee id {_text(cells['employee_id'])!r}: "
                                                              "letters, digits, . _ - only"))
    if _date(cells["hire_date"]) is None:
        problems.append(RowProblem(number, "bad_date", f"hire date {_text(cells['hire_date'])!r} is not a date "
                                                       "(write YYYY-MM-DD)"))
    email = _text(cells.get("email"))
    if email and not _EMAIL.match(email):
        problems.append(RowProblem(number, "bad_email", f"e-mail {email!r} is not an address"))
    mobile = _text(cells.get("mobile"))
    if mobile and not _MOBILE.match(mobile):
        problems.append(RowProblem(number, "bad_mobile", f"mobile {mobile!r} is not a phone number"))
    for platform in platform_columns():
        value = _text(cells.get(platform))
        if value and not _USER_ID.match(value):
            problems.append(RowProblem(number, "bad_account", f"{platform} account {value!r} is not a user id"))
    return problems


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _mobile(value: object) -> str | None:
    text = _text(value)
    return "".join(c for c in text if c.isdigit() or c == "+") or None


def _date(value: object) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _text(value)
    for fmt in _DATE_FORMATS:
        try:
            parsed = datetime.strptime(text, fmt).date()
        except ValueError:
            continue
        if 1950 <= parsed.year <= 2100:
            return parsed
    return None
