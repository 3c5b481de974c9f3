"""Collect a class's submissions (a folder or a learning platform's .zip) into nbgrader's submitted layout.

The download is hostile input (collect_source.py reads it). Everything is checked before any submission is
written: an entry that is not a notebook is reported without being read; a link, an unsafe or duplicate name,
an encrypted, damaged or oversized entry, a file that is not a valid notebook, an id that fails validation and
the older of two submissions from one student are reported and not imported; the rest of the class is. One
notebook at a time is streamed (with a size cap) into a hidden scratch folder under `submitted/` and checked
there, so memory holds at most one notebook, and the bytes checked are the bytes written. Then each accepted
submission is swapped into place whole, with its `timestamp.txt`, so an interrupted collect leaves every
student either old or new, never half-written; a submission that is replaced is backed up first. Collecting
the same download twice changes nothing.
"""
from __future__ import annotations

import filecmp
import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath

from ..core.backups import backup_file
from ..core.errors import UsageError
from .collect_source import MIB, Entry, EntryError, copy_capped, open_download
from .collect_times import Override, read_overrides
from .nbgrader import check_student_id

# Matched against the file's path inside the download (posix separators); the `student` group is the id.
PRESETS = {
    # Canvas "Download Submissions": lastfirst[_late]_<userid>_<submissionid>_<original name>
    "canvas": r"(?:.*/)?(?P<student>[A-Za-z0-9]+?)(?:_late)?_\d+_\d+_[^/]*\.ipynb",
    # Moodle "Download all submissions": "<Full Name>_<participant id>_assignsubmission_file_[/]<name>"
    "moodle": r"(?:.*/)?[^/_]+_(?P<student>\d+)_assignsubmission_file_/?[^/]*\.ipynb",
    # <student>.ipynb, or <student>/<any name>.ipynb when each student has a folder
    "plain": r"(?P<student>[^/]+)\.ipynb|(?P<folder>[^/]+)/[^/]+\.ipynb",
}
STAMP_FORMAT = "%Y-%m-%d %H:%M:%S.%f %Z"
# An honest notebook full of plots can reach ~200 MB; a zip bomb is stopped here, one notebook at a time.
DEFAULT_MAX_MB = 256
NO_TIME = datetime.min.replace(tzinfo=timezone.utc)


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
class UnusedTime:
    """A `--timestamps` row whose student has no submission imported from this download."""

    student: str
    where: str  # file:line


@dataclass
class CollectReport:
    accepted: list[Accepted] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    unused_times: list[UnusedTime] = field(default_factory=list)


@dataclass
class _Candidate:
    entry: Entry
    student: str
    staged: Path  # the checked notebook, in the scratch folder


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


def notebook_problem(path: Path) -> str | None:
    """Why the file at `path` is not a valid notebook, or None. Holds one parsed copy of it at a time."""
    import nbformat
    from nbformat.reader import reads

    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        return "not UTF-8 text (not a notebook)"
    try:
        nb = reads(text)  # the JSON is parsed once; the text can go
    except nbformat.reader.NotJSONError as exc:
        cause = exc.__cause__
        if isinstance(cause, json.JSONDecodeError):
            return f"line {cause.lineno}: not valid notebook JSON ({cause.msg})"
        return "not valid notebook JSON"
    except Exception as exc:  # nbformat raises several types for malformed notebooks
        return f"not a valid notebook ({_first_line(exc)})"
    finally:
        del text
    try:
        nbformat.validate(nbformat.convert(nb, 4))
    except Exception as exc:
        return f"not a valid notebook ({_first_line(exc)})"
    return None


def _first_line(exc: Exception) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0][:120]


def stamp(when: datetime) -> str:
    return when.astimezone(timezone.utc).strftime(STAMP_FORMAT)


def plan(entries: list[Entry], pattern: re.Pattern, overrides: dict[str, Override], scratch: Path,
         max_bytes: int) -> tuple[dict[str, _Candidate], CollectReport]:
    """Choose one notebook per student, each streamed into `scratch` and checked there; report the rest."""
    report = CollectReport()
    chosen: dict[str, _Candidate] = {}

    def reject(entry: Entry, reason: str) -> None:
        report.rejected.append(Rejected(entry.name, reason))

    for index, entry in enumerate(entries):
        if entry.problem:
            reject(entry, entry.problem)
            continue
        if PurePosixPath(entry.name).suffix != ".ipynb":
            reject(entry, "not a notebook (.ipynb); not read")
            continue
        student = student_of(entry.name, pattern)
        if student is None:
            reject(entry, "file name does not match the id pattern")
            continue
        try:
            check_student_id(student)
        except UsageError as exc:
            reject(entry, str(exc))
            continue
        if entry.time is None and student not in overrides:
            reject(entry, f"no valid time in the download; give {student} one with --timestamps")
            continue
        staged = scratch / f"{index}.ipynb"
        try:
            copy_capped(entry, staged, max_bytes)
        except EntryError as exc:
            reject(entry, str(exc))
            continue
        problem = notebook_problem(staged)
        if problem:
            staged.unlink()
            reject(entry, problem)
            continue
        candidate = _Candidate(entry, student, staged)
        if student in chosen:
            older, newer = sorted([chosen[student], candidate], key=lambda c: (c.entry.time or NO_TIME, c.entry.name))
            reject(older.entry, f"older duplicate from {student}; kept {newer.entry.name}")
            older.staged.unlink()
            candidate = newer
        chosen[student] = candidate
    return chosen, report


def collect(submitted: Path, slug: str, source: Path, preset: str | None = None, pattern: str | None = None,
            timestamps: Path | None = None, max_mb: int = DEFAULT_MAX_MB,
            backup_root: Path | None = None) -> CollectReport:
    """Import `source` into `submitted/<student>/<slug>/<slug>.ipynb` + `timestamp.txt`.

    A submission that changes is first copied to `backup_root`/.tito/backups/ (default: `submitted`'s parent).
    """
    if max_mb < 1:
        raise UsageError(f"--max-mb must be at least 1 (got {max_mb})")
    compiled = compile_pattern(preset, pattern)
    overrides = read_overrides(timestamps)
    submitted = Path(submitted)
    with open_download(source) as entries:
        submitted.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=".tito-collect-", dir=submitted) as scratch:
            chosen, report = plan(entries, compiled, overrides, Path(scratch), max_mb * MIB)
            for student, candidate in sorted(chosen.items()):
                override = overrides.get(student)
                when = override.time if override else candidate.entry.time
                status = _install(submitted / student / slug, slug, candidate.staged, stamp(when),
                                  backup_root or submitted.parent)
                report.accepted.append(Accepted(student, candidate.entry.name, when, status))
    report.unused_times = [UnusedTime(student, o.where) for student, o in overrides.items() if student not in chosen]
    return report


def _install(dest: Path, slug: str, notebook: Path, when: str, backup_root: Path) -> str:
    """Put `notebook` and its timestamp at `dest` unless they are there already; return new/updated/unchanged."""
    target, timestamp = dest / f"{slug}.ipynb", (when + "\n").encode()
    if not dest.exists():
        status = "new"
    elif (target.is_file() and filecmp.cmp(notebook, target, shallow=False)
          and (dest / "timestamp.txt").is_file() and (dest / "timestamp.txt").read_bytes() == timestamp):
        return "unchanged"
    else:
        status = "updated"
        if target.is_file():
            backup_file(backup_root, target)  # a collected submission is a student's work: keep a copy
    _swap_in(dest, {f"{slug}.ipynb": notebook, "timestamp.txt": timestamp})
    return status


def _swap_in(dest: Path, files: dict[str, Path | bytes]) -> None:
    """Stage the submission beside `dest`, then rename it into place (the old copy is removed last).

    A Path is moved into the stage (it lives on the same file system); bytes are written.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    try:
        for name, content in files.items():
            if isinstance(content, Path):
                os.replace(content, stage / name)
            else:
                (stage / name).write_bytes(content)
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
