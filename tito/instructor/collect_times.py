"""The `--timestamps` CSV of `tito nbgrader collect`: `student,timestamp` rows that replace the download's times.

Instructors write it in a spreadsheet, so it is read the way spreadsheets save it: UTF-8 with or without a
byte-order mark, UTF-16 or UTF-32 with one (Excel's "Unicode Text"), CRLF or LF line ends, a comma, semicolon
or tab between columns, column names in any case with stray spaces, extra columns, blank rows. Anything else
is a UsageError naming the file, the line and the fix, raised before anything is collected.
"""
from __future__ import annotations

import codecs
import csv
import io
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from ..core.errors import UsageError

COLUMNS = ("student", "timestamp")
DELIMITERS = (",", ";", "\t")
BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))  # UTF-32 LE's BOM begins like UTF-16's
SAVE_AS = 'save it as CSV UTF-8 (Excel: File > Save As > "CSV UTF-8 (Comma delimited)")'
EXAMPLE = "2026-12-01T17:00:00Z"


@dataclass(frozen=True)
class Override:
    time: datetime  # aware
    where: str  # `file:line`, for messages


def read_overrides(path: Path | None) -> dict[str, Override]:
    """student id -> the time to use instead of the download's."""
    if path is None:
        return {}
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"{path}: cannot be read ({exc.strerror})") from None
    text = _decode(path, data)
    rows = csv.reader(io.StringIO(text, newline=""), dialect=_dialect(text))
    overrides: dict[str, Override] = {}
    columns = None
    ended = 0
    try:
        for row in rows:
            first, ended = ended + 1, rows.line_num  # a quoted field may span lines: a row starts where the last ended
            if not any(cell.strip() for cell in row):
                continue
            if columns is None:
                columns = _columns(path, first, row)
                continue
            student, stamp = (row[i].strip() if i < len(row) else "" for i in columns)
            where = f"{path}:{first}"
            if not student:
                raise UsageError(f"{where}: no student id in the `student` column")
            if not stamp:
                raise UsageError(f"{where}: no time for `{student}` in the `timestamp` column (e.g. {EXAMPLE})")
            if student in overrides:
                raise UsageError(f"{where}: `{student}` is listed twice (also {overrides[student].where}); "
                                 "keep one row")
            overrides[student] = Override(_parse_time(where, stamp), where)
    except csv.Error as exc:
        raise UsageError(f"{path}:{rows.line_num}: not readable as CSV ({exc}); {SAVE_AS}") from None
    if columns is None:
        raise UsageError(f"{path}: empty; it needs a header row `student,timestamp` and one row per student")
    return overrides


def _decode(path: Path, data: bytes) -> str:
    for bom, encoding in BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding).lstrip("\ufeff")
            except UnicodeDecodeError as exc:
                text = data[:exc.start].decode(encoding, errors="replace")
                raise UsageError(f"{path}:{text.count(chr(10)) + 1}: not valid {encoding.upper()} text; "
                                 f"{SAVE_AS}") from None
    if b"\0" in data:
        line = data[:data.index(b"\0")].count(b"\n") + 1
        raise UsageError(f"{path}:{line}: holds NUL bytes (UTF-16 without a byte-order mark?); {SAVE_AS}")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise UsageError(f"{path}:{line}: not UTF-8 text (byte 0x{data[exc.start]:02x}); {SAVE_AS}") from None


def _dialect(text: str) -> type[csv.Dialect]:
    """Comma, or the semicolon/tab that Excel writes in some locales, chosen by which one splits the header."""
    header = next((line for line in text.splitlines() if line.strip(" ,;\t")), "")
    for delimiter in DELIMITERS:
        names = [_column_name(n) for n in next(csv.reader([header], delimiter=delimiter), [])]
        if set(COLUMNS) <= set(names):
            return type("Sheet", (csv.excel,), {"delimiter": delimiter})
    return csv.excel  # _columns() reports the missing names


def _column_name(name: str) -> str:
    return name.strip().strip("\ufeff").strip().lower()


def _columns(path: Path, line: int, header: list[str]) -> tuple[int, int]:
    names = [_column_name(n) for n in header]
    if not set(COLUMNS) <= set(names):
        found = ", ".join(f"`{n}`" for n in header if n.strip()) or "nothing"
        raise UsageError(f"{path}:{line}: the header row needs the columns `student,timestamp` (found {found})")
    return names.index("student"), names.index("timestamp")


def _parse_time(where: str, stamp: str) -> datetime:
    from dateutil import parser

    try:
        when = parser.isoparse(stamp)
    except (ValueError, OverflowError):
        raise UsageError(f"{where}: `{stamp}` is not an ISO 8601 time; write e.g. {EXAMPLE} (if a spreadsheet "
                         "rewrote the dates, format the column as Text and type them again)") from None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)
