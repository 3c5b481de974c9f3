"""`tito nbgrader collect`: LMS downloads in, nbgrader's submitted layout out; bad files reported, never imported."""
from __future__ import annotations

import os
import zipfile
from datetime import datetime, timezone

import nbformat
import pytest

from tito.collect import collect
from tito.errors import UsageError

SLUG = "01_tensor"


def notebook(marker: str) -> bytes:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(f"answer = {marker!r}")])
    return nbformat.writes(nb).encode()


def make_zip(path, files: dict[str, tuple[bytes, tuple]]):
    with zipfile.ZipFile(path, "w") as archive:
        for name, (data, when) in files.items():
            archive.writestr(zipfile.ZipInfo(name, date_time=when), data)
    return path


def tree(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_canvas_zip_with_duplicates_bad_files_and_bad_ids(tmp_path):
    early, late = (2026, 11, 30, 9, 0, 0), (2026, 11, 30, 18, 30, 0)
    download = make_zip(tmp_path / "canvas.zip", {
        "adalovelace_1001_9001_01_tensor.ipynb": (notebook("ada-first"), early),
        "adalovelace_late_1001_9002_01_tensor-1.ipynb": (notebook("ada-second"), late),
        "bobbyt_1002_9003_01_tensor.ipynb": (notebook("bob"), early),
        "carolc_1003_9004_01_tensor.ipynb": (b'{"cells": [', early),
        "dand_1004_9005_notes.pdf": (b"%PDF-1.4", early),
        "__MACOSX/._adalovelace_1001_9001_01_tensor.ipynb": (b"\0\0", early),
    })
    submitted = tmp_path / "submitted"
    report = collect(submitted, SLUG, download, preset="canvas")
    assert {a.student: a.status for a in report.accepted} == {"adalovelace": "new", "bobbyt": "new"}
    rejected = {r.source: r.reason for r in report.rejected}
    assert "kept adalovelace_late_1001_9002_01_tensor-1.ipynb" in rejected["adalovelace_1001_9001_01_tensor.ipynb"]
    assert "not valid notebook JSON" in rejected["carolc_1003_9004_01_tensor.ipynb"]
    assert "not a notebook" in rejected["dand_1004_9005_notes.pdf"]
    assert len(rejected) == 3  # the __MACOSX resource fork is ignored, not reported
    files = tree(submitted)
    assert sorted(files) == [f"adalovelace/{SLUG}/{SLUG}.ipynb", f"adalovelace/{SLUG}/timestamp.txt",
                             f"bobbyt/{SLUG}/{SLUG}.ipynb", f"bobbyt/{SLUG}/timestamp.txt"]
    assert b"ada-second" in files[f"adalovelace/{SLUG}/{SLUG}.ipynb"]
    assert files[f"adalovelace/{SLUG}/timestamp.txt"] == b"2026-11-30 18:30:00.000000 UTC\n"

    # Collecting the same download again changes nothing.
    again = collect(submitted, SLUG, download, preset="canvas")
    assert {a.status for a in again.accepted} == {"unchanged"}
    assert tree(submitted) == files


def test_plain_folder_mtimes_csv_override_and_invalid_ids(tmp_path):
    source = tmp_path / "download"
    (source / "erin").mkdir(parents=True)
    (source / "erin" / "whatever.ipynb").write_bytes(notebook("erin"))
    (source / "frank.ipynb").write_bytes(notebook("frank"))
    (source / "bad id!.ipynb").write_bytes(notebook("x"))
    when = datetime(2026, 11, 29, 8, 15, tzinfo=timezone.utc).timestamp()
    os.utime(source / "frank.ipynb", (when, when))
    overrides = tmp_path / "times.csv"
    overrides.write_text("student,timestamp\nerin,2026-12-02T10:00:00+01:00\n")
    submitted = tmp_path / "submitted"
    report = collect(submitted, SLUG, source, preset="plain", timestamps=overrides)
    assert sorted(a.student for a in report.accepted) == ["erin", "frank"]
    assert [r.source for r in report.rejected] == ["bad id!.ipynb"] and "invalid student id" in report.rejected[0].reason
    assert (submitted / "frank" / SLUG / "timestamp.txt").read_text() == "2026-11-29 08:15:00.000000 UTC\n"
    assert (submitted / "erin" / SLUG / "timestamp.txt").read_text() == "2026-12-02 09:00:00.000000 UTC\n"

    # A new download replaces a student's submission whole; no staging folder is left behind.
    (source / "frank.ipynb").write_bytes(notebook("frank-v2"))
    report = collect(submitted, SLUG, source, preset="plain", timestamps=overrides)
    assert {a.student: a.status for a in report.accepted} == {"erin": "unchanged", "frank": "updated"}
    assert b"frank-v2" in (submitted / "frank" / SLUG / f"{SLUG}.ipynb").read_bytes()
    assert sorted(p.name for p in (submitted / "frank").iterdir()) == [SLUG]


def test_moodle_preset_and_bad_input(tmp_path):
    download = make_zip(tmp_path / "moodle.zip", {
        "Grace Hopper_4711_assignsubmission_file_/01_tensor.ipynb": (notebook("grace"), (2026, 11, 1, 0, 0, 0)),
    })
    report = collect(tmp_path / "s", SLUG, download, preset="moodle")
    assert [a.student for a in report.accepted] == ["4711"]
    with pytest.raises(UsageError, match="neither a folder nor a valid .zip"):
        (tmp_path / "notzip.zip").write_text("not a zip")
        collect(tmp_path / "s", SLUG, tmp_path / "notzip.zip")
    bad = tmp_path / "bad.csv"
    bad.write_text("student,timestamp\ngrace,yesterday\n")
    with pytest.raises(UsageError, match=r"bad.csv:2: `yesterday` is not an ISO 8601 time"):
        collect(tmp_path / "s", SLUG, download, preset="moodle", timestamps=bad)
    with pytest.raises(UsageError, match="needs a \\(\\?P<student>"):
        collect(tmp_path / "s", SLUG, download, pattern=r".*\.ipynb")
