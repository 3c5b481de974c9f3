"""Collect a class's submissions (a folder or a learning platform's .zip) into nbgrader's submitted layout.

Everything is read and checked before anything is written: a file that is not a readable notebook, an id
that fails validation and a second submission from one student are reported and not imported. Each
accepted submission is staged in a temporary folder and swapped into place whole, with its
`timestamp.txt`, so an interrupted collect leaves every student either old or new, never half-written.
Collecting the same download twice changes nothing.
"""
from __future__ import annotations

import csv
import json
import os
import re
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath

from .errors import UsageError
from .grading import check_student_id

# Matched against the file's path inside the download (posix separators); the `student` group is the id.
PRESETS = {
    # Canvas "Download Submissions": lastfirst[_late]_<userid>_<submissionid>_<original name>
    "canvas": r"(?:.*/)?(?P<student>[A-Za-z0-9]+?)(?:_late)?_\d+_\d+_[^/]*\.ipynb",
    # Moodle "Download all submissions": "<Full Name>_<participant id>_assignsubmission_file_[/]<name>"
    "moodle": r"(?:.*/)?[^/_]+_(?P<student>\d+)_assignsubmission_file_/?[^/]*\.ipynb",
    # <student>.ipynb, or <student>/<any name>.ipynb when each student has a folder
    "plain": r"(?P<student>[^/]+)\.ipynb|(?P<folder>[^/]+)/[^/]+\.ipynb",
}
IGNORED = re.compile(r"(^|/)(__MACOSX|\.ipynb_checkpoints)(/|$)|(^|/)\.[^/]*$")
STAMP_FORMAT = "%Y-%m-%d %H:%M:%S.%f %Z"


@dataclass
class Entry:
    """One file of the download."""

    name: str  # path inside the download, posix separators
    data: bytes
    time: datetime  # aware, UTC


@dataclass
class Accepted:
    student: str
    source: str
    time: datetime
    status: str = "new"  # new | updated | unchanged


@dataclass
class Rejected:
    source: str
    reason: str


@dataclass
class CollectReport:
    accepted: list[Accepted] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)


def compile_pattern(preset: str | None, pattern: str | None) -> re.Pattern:
    if pattern:
        try:
            compiled = re.compile(pattern)
        except re.error as exc:
            raise UsageError(f"--pattern `{pattern}` is not a valid regular expression ({exc})") from None
        if "student" not in compiled.groupindex:
            raise UsageError(f"--pattern `{pattern}` needs a (?P<student>...) group naming the student id")
        return compiled
    try:
        return re.compile(PRESETS[preset or "plain"])
    except KeyError:
        raise UsageError(f"unknown preset `{preset}`; choose one of {', '.join(PRESETS)}") from None


def student_of(name: str, pattern: re.Pattern) -> str | None:
    match = pattern.fullmatch(name)
    if not match:
        return None
    groups = match.groupdict()
    return groups.get("student") or groups.get("folder")


def read_entries(source: Path) -> list[Entry]:
    """Every file of a folder or a .zip, with its time (zip entry time or mtime), in UTC."""
    source = Path(source)
    if not source.exists():
        raise UsageError(f"{source}: no such folder or zip file")
    entries = []
    if source.is_dir():
        for path in sorted(p for p in source.rglob("*") if p.is_file()):
            name = path.relative_to(source).as_posix()
            entries.append(Entry(name, path.read_bytes(),
                                 datetime.fromtimestamp(path.stat().st_mtime, timezone.utc)))
        return entries
    try:
        with zipfile.ZipFile(source) as archive:
            for info in archive.infolist():
                if info.is_dir():
                    continue
                # Zip times carry no zone; platforms write them in UTC, and we read them so.
                entries.append(Entry(info.filename, archive.read(info), datetime(*info.date_time, tzinfo=timezone.utc)))
    except zipfile.BadZipFile:
        raise UsageError(f"{source}: neither a folder nor a valid .zip file") from None
    return entries


def read_overrides(path: Path | None) -> dict[str, datetime]:
    """`student,timestamp` rows (ISO 8601; no zone means UTC) that replace the download's times."""
    if path is None:
        return {}
    from dateutil import parser

    overrides = {}
    with open(path, newline="", encoding="utf-8") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            try:
                student, stamp = row["student"].strip(), row["timestamp"].strip()
            except (KeyError, AttributeError):
                raise UsageError(f"{path}:{line}: needs the columns `student,timestamp`") from None
            try:
                when = parser.isoparse(stamp)
            except ValueError:
                raise UsageError(f"{path}:{line}: `{stamp}` is not an ISO 8601 time "
                                 "(e.g. 2026-12-01T17:00:00Z)") from None
            overrides[student] = when if when.tzinfo else when.replace(tzinfo=timezone.utc)
    return overrides


def notebook_problem(data: bytes) -> str | None:
    import nbformat

    try:
        text = data.decode("utf-8")
        json.loads(text)
    except UnicodeDecodeError:
        return "not UTF-8 text (not a notebook)"
    except json.JSONDecodeError as exc:
        return f"line {exc.lineno}: not valid notebook JSON ({exc.msg})"
    try:
        nbformat.validate(nbformat.reads(text, as_version=4))
    except Exception as exc:  # nbformat raises several types for malformed notebooks
        return f"not a valid notebook ({str(exc).splitlines()[0][:120]})"
    return None


def stamp(when: datetime) -> str:
    return when.astimezone(timezone.utc).strftime(STAMP_FORMAT)


def plan(entries: list[Entry], pattern: re.Pattern, overrides: dict[str, datetime]) -> tuple[dict, CollectReport]:
    """Choose one notebook per student; report everything not imported. Writes nothing."""
    report = CollectReport()
    chosen: dict[str, Entry] = {}
    for entry in entries:
        if IGNORED.search(entry.name):
            continue
        if PurePosixPath(entry.name).suffix != ".ipynb":
            report.rejected.append(Rejected(entry.name, "not a notebook (.ipynb)"))
            continue
        student = student_of(entry.name, pattern)
        if student is None:
            report.rejected.append(Rejected(entry.name, "file name does not match the id pattern"))
            continue
        try:
            check_student_id(student)
        except UsageError as exc:
            report.rejected.append(Rejected(entry.name, str(exc)))
            continue
        problem = notebook_problem(entry.data)
        if problem:
            report.rejected.append(Rejected(entry.name, problem))
            continue
        if student in chosen:
            older, newer = sorted([chosen[student], entry], key=lambda e: (e.time, e.name))
            report.rejected.append(Rejected(older.name, f"older duplicate from {student}; kept {newer.name}"))
            chosen[student] = newer
        else:
            chosen[student] = entry
    for student, entry in overrides.items():
        if student in chosen:
            chosen[student].time = entry
    return chosen, report


def collect(submitted: Path, slug: str, source: Path, preset: str | None = None, pattern: str | None = None,
            timestamps: Path | None = None) -> CollectReport:
    """Import `source` into `submitted/<student>/<slug>/<slug>.ipynb` + `timestamp.txt`."""
    chosen, report = plan(read_entries(source), compile_pattern(preset, pattern), read_overrides(timestamps))
    submitted = Path(submitted)
    submitted.mkdir(parents=True, exist_ok=True)
    for student, entry in sorted(chosen.items()):
        dest = submitted / student / slug
        files = {f"{slug}.ipynb": entry.data, "timestamp.txt": (stamp(entry.time) + "\n").encode()}
        status = _status(dest, files)
        if status != "unchanged":
            _swap_in(dest, files)
        report.accepted.append(Accepted(student, entry.name, entry.time, status))
    return report


def _status(dest: Path, files: dict[str, bytes]) -> str:
    if not dest.exists():
        return "new"
    same = all((dest / name).is_file() and (dest / name).read_bytes() == data for name, data in files.items())
    return "unchanged" if same else "updated"


def _swap_in(dest: Path, files: dict[str, bytes]) -> None:
    """Stage the submission beside `dest`, then rename it into place (the old copy is removed last)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    try:
        for name, data in files.items():
            (stage / name).write_bytes(data)
        old = None
        if dest.exists():
            old = dest.with_name(f".{dest.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(dest, old)
        os.replace(stage, dest)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
