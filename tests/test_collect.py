"""`tito nbgrader collect`: LMS downloads in, nbgrader's submitted layout out; bad files reported, never imported."""
from __future__ import annotations

import io
import os
import stat
import struct
import subprocess
import sys
import zipfile
from datetime import datetime, timezone

import nbformat
import pytest

from tito.core.errors import UsageError
from tito.instructor.collect import UnusedTime, collect
from tito.instructor.collect_source import Entry, EntryError, copy_capped
from tito.instructor.collect_times import read_overrides

from .helpers.course import REPO
from .helpers.grading import tito

SLUG = "01_tensor"


def notebook(marker: str) -> bytes:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(f"answer = {marker!r}")])
    return nbformat.writes(nb).encode()


WHEN = (2026, 11, 30, 9, 0, 0)


def make_zip(path, files, modes=None):
    """`files`: name -> bytes or (bytes, date_time), or a list of (name, bytes) pairs (a name may repeat);
    `modes`: name -> unix file mode (a symbolic link...). Deflated, as the platforms write them."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, spec in (files.items() if isinstance(files, dict) else files):
            data, when = spec if isinstance(spec, tuple) else (spec, WHEN)
            info = zipfile.ZipInfo(name, date_time=when)
            info.compress_type = zipfile.ZIP_DEFLATED
            if name in (modes or {}):
                info.create_system, info.external_attr = 3, modes[name] << 16
            archive.writestr(info, data)
    return path


def central_records(data: bytes) -> dict[str, int]:
    """name -> offset of its central directory record (the last one, for a repeated name)."""
    end = data.rindex(b"PK\x05\x06")
    count, _, offset = struct.unpack_from("<HII", data, end + 10)
    records = {}
    for _ in range(count):
        name_len, extra_len, comment_len = struct.unpack_from("<HHH", data, offset + 28)
        records[data[offset + 46:offset + 46 + name_len].decode()] = offset
        offset += 46 + name_len + extra_len + comment_len
    return records


def patch_zip(path, name, *, encrypt=False, corrupt=False, declare_size=None, header_of=None):
    """Damage one entry the way a broken or crafted download would, in place."""
    data = bytearray(path.read_bytes())
    records = central_records(bytes(data))
    central = records[name]
    local = struct.unpack_from("<I", data, central + 42)[0]
    if encrypt:  # the general-purpose flag bit 0, in both headers: "encrypted, password required"
        data[local + 6] |= 0x01
        data[central + 8] |= 0x01
    if corrupt:  # the deflate stream's first block gets the reserved block type 11: "invalid block type"
        name_len, extra_len = struct.unpack_from("<HH", data, local + 26)
        data[local + 30 + name_len + extra_len] = 0x07
    if declare_size is not None:
        struct.pack_into("<I", data, central + 24, declare_size)
    if header_of is not None:  # point this entry at another entry's data: overlapping entries
        struct.pack_into("<I", data, central + 42, struct.unpack_from("<I", data, records[header_of] + 42)[0])
    path.write_bytes(bytes(data))
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
    first_frank = notebook("frank")
    (source / "frank.ipynb").write_bytes(first_frank)
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
    assert sorted(p.name for p in submitted.iterdir()) == ["erin", "frank"]  # no scratch folder left either
    # The submission it replaced was the student's work too: a copy is kept.
    copies = list((tmp_path / ".tito" / "backups").glob(f"*/submitted/frank/{SLUG}/{SLUG}.ipynb"))
    assert [c.read_bytes() for c in copies] == [first_frank]


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


def reasons(report) -> dict[str, str]:
    return {r.source: r.reason for r in report.rejected}


def test_damaged_encrypted_and_lying_entries_are_reported_and_the_rest_collected(tmp_path):
    download = make_zip(tmp_path / "canvas.zip", {
        "ada_1_1_01_tensor.ipynb": notebook("ada"),
        "bob_2_2_01_tensor.ipynb": notebook("bob") * 4,  # long enough that deflate writes a real block
        "cy_3_3_01_tensor.ipynb": notebook("cy"),
        "dan_4_4_01_tensor.ipynb": notebook("dan"),
    })
    patch_zip(download, "bob_2_2_01_tensor.ipynb", corrupt=True)  # zlib.error on the old code
    patch_zip(download, "cy_3_3_01_tensor.ipynb", encrypt=True)  # RuntimeError on the old code
    patch_zip(download, "dan_4_4_01_tensor.ipynb", declare_size=20)  # declares less than it holds
    submitted = tmp_path / "submitted"
    report = collect(submitted, SLUG, download, preset="canvas")
    assert [a.student for a in report.accepted] == ["ada"]
    why = reasons(report)
    assert why["bob_2_2_01_tensor.ipynb"].startswith("damaged, cannot be read (")
    assert "invalid block type" in why["bob_2_2_01_tensor.ipynb"]
    assert why["cy_3_3_01_tensor.ipynb"].startswith("encrypted (password-protected)")
    assert why["dan_4_4_01_tensor.ipynb"].startswith("damaged") and "CRC" in why["dan_4_4_01_tensor.ipynb"]
    assert sorted(p.name for p in submitted.iterdir()) == ["ada"]  # no staging folder left behind


def test_non_notebooks_are_never_opened(tmp_path, monkeypatch):
    files = {f"s{n}_{n}_{n}_notes{k}.pdf": b"%PDF" for n in range(400) for k in range(5)}  # 2000 entries
    files.update({f"s{n}_{n}_{n}_01_tensor.ipynb": notebook(f"s{n}") for n in range(400)})
    files["eve_9_9_broken.pdf"] = b"%PDF-1.4" * 50
    files["eve_9_9_locked.docx"] = b"PK" * 50
    download = make_zip(tmp_path / "canvas.zip", files)
    patch_zip(download, "eve_9_9_broken.pdf", corrupt=True)
    patch_zip(download, "eve_9_9_locked.docx", encrypt=True)
    opened = []
    real_open = zipfile.ZipFile.open

    def counting_open(self, name, *args, **kwargs):
        opened.append(getattr(name, "filename", name))
        return real_open(self, name, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "open", counting_open)
    report = collect(tmp_path / "submitted", SLUG, download, preset="canvas")
    assert len(report.accepted) == 400 and len(report.rejected) == 2002
    assert sorted(opened) == sorted(n for n in files if n.endswith(".ipynb"))  # each notebook once, nothing else
    assert reasons(report)["eve_9_9_broken.pdf"] == "not a notebook (.ipynb); not read"


def test_a_notebook_over_max_mb_is_refused_whatever_size_it_declares(tmp_path):
    big = nbformat.writes(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("s = '" + "a" * 2_500_000 + "'")])).encode()
    assert 2 << 20 < len(big) < 3 << 20
    download = make_zip(tmp_path / "canvas.zip", {"ada_1_1_01_tensor.ipynb": notebook("ada"),
                                                  "big_2_2_01_tensor.ipynb": big})
    report = collect(tmp_path / "s1", SLUG, download, preset="canvas", max_mb=1)
    assert [a.student for a in report.accepted] == ["ada"]
    assert reasons(report) == {"big_2_2_01_tensor.ipynb": f"{len(big) / 2 ** 20:.1f} MiB declared, over the 1 MiB limit "
                                                          "per notebook (--max-mb)"}
    assert sorted(a.student for a in collect(tmp_path / "s2", SLUG, download, preset="canvas", max_mb=3).accepted) \
        == ["ada", "big"]
    # A stream is cut at the cap, not trusted to be as small as it says (a folder's file can grow, a zip can lie).
    entry = Entry("big.ipynb", None, size=10, opener=lambda: io.BytesIO(big))
    with pytest.raises(EntryError, match="larger than the 1 MiB limit"):
        copy_capped(entry, tmp_path / "staged.ipynb", 1 << 20)
    assert not (tmp_path / "staged.ipynb").exists()


@pytest.mark.filterwarnings("ignore:Duplicate name")  # the repeated name is the point
def test_escaping_names_links_overlaps_and_repeated_names_in_a_zip(tmp_path):
    download = make_zip(tmp_path / "canvas.zip", [
        ("ada_1_1_01_tensor.ipynb", notebook("ada")),
        ("../evil_2_2_01_tensor.ipynb", notebook("evil")),
        ("/etc/abs_3_3_01_tensor.ipynb", notebook("abs")),
        ("sub\\..\\..\\win_4_4_01_tensor.ipynb", notebook("win")),
        ("link_5_5_01_tensor.ipynb", notebook("link")),  # a symbolic link entry whose "target" is a notebook
        ("pipe_6_6_01_tensor.ipynb", notebook("pipe")),
        ("dup_7_7_01_tensor.ipynb", notebook("dup-first")),
        ("dup_7_7_01_tensor.ipynb", notebook("dup-last")),
        ("bombx_8_8_01_tensor.ipynb", notebook("same")),
        ("bomby_9_9_01_tensor.ipynb", notebook("same")),
        ("zed_10_10_01_tensor.ipynb", notebook("zed")),
    ], modes={"link_5_5_01_tensor.ipynb": stat.S_IFLNK | 0o777, "pipe_6_6_01_tensor.ipynb": stat.S_IFIFO | 0o644})
    patch_zip(download, "bomby_9_9_01_tensor.ipynb", header_of="bombx_8_8_01_tensor.ipynb")
    submitted = tmp_path / "submitted"
    report = collect(submitted, SLUG, download, preset="canvas")
    assert sorted(a.student for a in report.accepted) == ["ada", "dup", "zed"]
    assert b"dup-last" in (submitted / "dup" / SLUG / f"{SLUG}.ipynb").read_bytes()
    why = [(r.source, r.reason.split(" (")[0].split(";")[0]) for r in report.rejected]
    assert why == [
        ("../evil_2_2_01_tensor.ipynb", "its path escapes the download"),
        ("/etc/abs_3_3_01_tensor.ipynb", "its path escapes the download"),
        ("sub\\..\\..\\win_4_4_01_tensor.ipynb", "its path escapes the download"),
        ("link_5_5_01_tensor.ipynb", "a symbolic link"),
        ("pipe_6_6_01_tensor.ipynb", "not a regular file"),
        ("dup_7_7_01_tensor.ipynb", "an earlier entry of the same name"),
        ("bombx_8_8_01_tensor.ipynb", "overlaps another entry of the zip"),
        ("bomby_9_9_01_tensor.ipynb", "overlaps another entry of the zip"),
    ]


def test_a_folder_download_never_follows_links(tmp_path):
    answers = tmp_path / "course" / "modules" / SLUG
    answers.mkdir(parents=True)
    (answers / f"{SLUG}.ipynb").write_bytes(notebook("THE ANSWERS"))
    source = tmp_path / "download"
    (source / "gus").mkdir(parents=True)
    (source / "ada.ipynb").write_bytes(notebook("ada"))
    (source / "eve.ipynb").symlink_to(answers / f"{SLUG}.ipynb")  # unzip restores such links from a zip
    (source / "mal").symlink_to(answers)  # a linked folder
    (source / "gus" / "work.ipynb").symlink_to("../ada.ipynb")  # a link inside the download too
    os.mkfifo(source / "pip.ipynb")  # would block a plain read forever
    report = collect(tmp_path / "submitted", SLUG, source, preset="plain")
    assert [a.student for a in report.accepted] == ["ada"]
    why = {k: v.split(" (")[0] for k, v in reasons(report).items()}
    assert why == {"eve.ipynb": "a symbolic link", "mal": "a symbolic link", "gus/work.ipynb": "a symbolic link",
                   "pip.ipynb": "not a regular file"}
    assert b"THE ANSWERS" not in b"".join(tree(tmp_path / "submitted").values())


def test_truncated_zip_is_bad_input(tmp_path):
    download = make_zip(tmp_path / "canvas.zip", {f"s{n}_{n}_{n}_01_tensor.ipynb": notebook(str(n)) for n in range(5)})
    data = download.read_bytes()
    download.write_bytes(data[:len(data) // 2])  # an interrupted download: the central directory is gone
    with pytest.raises(UsageError, match=r"canvas.zip: neither a folder nor a valid .zip file \(.*\); if the "
                                         r"download was interrupted, download it again") as caught:
        collect(tmp_path / "submitted", SLUG, download, preset="canvas")
    assert caught.value.exit_code == 2
    assert not (tmp_path / "submitted").exists()  # nothing written


def test_entry_without_a_valid_time_needs_a_timestamp_and_an_id_cannot_end_in_a_newline(tmp_path):
    download = make_zip(tmp_path / "plain.zip", {"ada.ipynb": (notebook("ada"), (1980, 0, 0, 0, 0, 0)),
                                                 "bob.ipynb": (notebook("bob"), (1980, 0, 0, 0, 0, 0)),
                                                 "cy\n.ipynb": notebook("cy")})
    times = tmp_path / "times.csv"
    times.write_text("student,timestamp\nbob,2026-12-01T10:00:00Z\n")
    submitted = tmp_path / "submitted"
    report = collect(submitted, SLUG, download, timestamps=times)
    assert [(a.student, a.time) for a in report.accepted] == [("bob", datetime(2026, 12, 1, 10, tzinfo=timezone.utc))]
    why = reasons(report)
    assert why["ada.ipynb"] == "no valid time in the download; give ada one with --timestamps"
    assert why["cy\n.ipynb"].startswith("invalid student id `cy\n`")
    assert sorted(p.name for p in submitted.iterdir()) == ["bob"]


def test_collect_memory_stays_bounded_on_zip_bombs(tmp_path):
    """Peak memory of a collect in a process of its own: the kernel's high-water mark of resident memory
    (VmHWM; a count, not a time). It starts afresh at exec, unlike getrusage's ru_maxrss, which a child
    inherits from whatever its parent (this test runner) once used."""
    size = 384 << 20  # over the default 256 MiB cap; the old collect held every entry in memory at once
    block = bytes(1 << 20)
    download = tmp_path / "bombs.zip"
    with zipfile.ZipFile(download, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr("ada_1_1_01_tensor.ipynb", notebook("ada"))
        for name in ("big_2_2_01_tensor.ipynb", "liar_3_3_01_tensor.ipynb", "dee_4_4_lecture.mp4"):
            with archive.open(name, "w") as handle:  # a name, not a ZipInfo: the archive's compression applies
                for _ in range(size >> 20):
                    handle.write(block)
    patch_zip(download, "liar_3_3_01_tensor.ipynb", declare_size=100 << 20)  # under the cap: read, then refused
    script = ("import sys; from tito.instructor.collect import collect; "
              "r = collect(sys.argv[1], '01_tensor', sys.argv[2], preset='canvas'); "
              "print(sorted(a.student for a in r.accepted), sorted(x.source for x in r.rejected)); "
              "print(open('/proc/self/status').read().split('VmHWM:')[1].split()[0])")
    out = subprocess.run([sys.executable, "-c", script, str(tmp_path / "submitted"), str(download)], cwd=REPO,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    listing, peak_kib = out.stdout.strip().splitlines()
    assert listing == "['ada'] ['big_2_2_01_tensor.ipynb', 'dee_4_4_lecture.mp4', 'liar_3_3_01_tensor.ipynb']"
    assert int(peak_kib) < 200 * 1024, f"collect peaked at {int(peak_kib) >> 10} MiB on a zip of 384 MiB entries"


def write_encoded(path, text: str, encoding: str):
    path.write_bytes(text.encode(encoding))
    return path


@pytest.mark.parametrize("encoding, text", [
    ("utf-8-sig", " Student , TIMESTAMP ,name\r\nerin,2026-12-02T10:00:00+01:00,Érin\r\n,,\r\nfrank,"
                  "2026-11-29 08:15\r\n"),  # Excel's "CSV UTF-8": BOM, CRLF, an empty row
    ("utf-16", "student\ttimestamp\r\nerin\t2026-12-02T10:00:00+01:00\r\nfrank\t2026-11-29T08:15:00Z\r\n"),
    ("utf-8", "name;Student;Timestamp\nÉrin;erin;2026-12-02T09:00:00Z\nF;frank;2026-11-29T08:15:00\n"),
    ("utf-32", "student,timestamp\nerin,2026-12-02T09:00Z\nfrank,2026-11-29T08:15Z\n"),
])
def test_timestamps_csv_as_spreadsheets_save_it(tmp_path, encoding, text):
    times = write_encoded(tmp_path / "times.csv", text, encoding)
    download = make_zip(tmp_path / "plain.zip", {"erin.ipynb": notebook("erin"), "frank.ipynb": notebook("frank")})
    report = collect(tmp_path / "submitted", SLUG, download, timestamps=times)
    assert {a.student: a.time for a in report.accepted} == {
        "erin": datetime(2026, 12, 2, 9, tzinfo=timezone.utc), "frank": datetime(2026, 11, 29, 8, 15, tzinfo=timezone.utc)}
    assert (tmp_path / "submitted" / "frank" / SLUG / "timestamp.txt").read_text() == "2026-11-29 08:15:00.000000 UTC\n"
    assert read_overrides(times)["frank"].where == f"{times}:{4 if encoding == 'utf-8-sig' else 3}"


@pytest.mark.parametrize("data, message", [
    ("student,timestamp\nerin,2026-12-02T10:00:00Z\nJosé,2026-12-02T10:00:00Z\n".encode("cp1252"),
     r"times.csv:3: not UTF-8 text \(byte 0xe9\); save it as CSV UTF-8 \(Excel: File > Save As"),
    ("student,timestamp\nerin,2026-12-02T10:00:00Z\n".encode("utf-16-le"),
     r"times.csv:1: holds NUL bytes \(UTF-16 without a byte-order mark\?\); save it as CSV UTF-8"),
    (b"student;time\nerin;2026-12-02\n", r"times.csv:1: the header row needs the columns `student,timestamp` "
                                         r"\(found `student;time`\)"),
    (b"student,timestamp\nerin,2026-12-02T10:00Z\n\nfrank,12/2/2026 10:00\n",
     r"times.csv:4: `12/2/2026 10:00` is not an ISO 8601 time; write e.g. 2026-12-01T17:00:00Z \(if a spreadsheet"),
    (b"student,timestamp\nerin,2026-12-02T10:00Z\nerin,2026-12-03T10:00Z\n",
     r"times.csv:3: `erin` is listed twice \(also .*times.csv:2\); keep one row"),
    (b"student,timestamp\nerin\n", r"times.csv:2: no time for `erin` in the `timestamp` column"),
    (b"", r"times.csv: empty; it needs a header row"),
])
def test_timestamps_csv_errors_name_the_file_line_and_fix(tmp_path, data, message):
    (tmp_path / "times.csv").write_bytes(data)
    download = make_zip(tmp_path / "plain.zip", {"erin.ipynb": notebook("erin")})
    with pytest.raises(UsageError, match=message) as caught:
        collect(tmp_path / "submitted", SLUG, download, timestamps=tmp_path / "times.csv")
    assert caught.value.exit_code == 2
    assert not (tmp_path / "submitted").exists()


def test_a_listed_student_without_a_submission_is_reported_not_dropped(tmp_path):
    download = make_zip(tmp_path / "plain.zip", {"erin.ipynb": notebook("erin"), "gil.ipynb": b"{broken"})
    times = write_encoded(tmp_path / "times.csv", "student,timestamp\r\nerin,2026-12-02T10:00:00Z\r\n"
                                                  "ghost,2026-12-02T11:00:00Z\r\ngil,2026-12-02T12:00:00Z\r\n",
                          "utf-8-sig")
    report = collect(tmp_path / "submitted", SLUG, download, timestamps=times)
    assert [(a.student, a.time.hour) for a in report.accepted] == [("erin", 10)]
    assert report.unused_times == [UnusedTime("ghost", f"{times}:3"), UnusedTime("gil", f"{times}:4")]


def test_cli_shows_hostile_names_literally_on_one_line(adder_course, tmp_path):
    hostile = "[red]x[/red]\n\x1b[31m:smile:\u202e_1_1_notes.pdf"
    download = make_zip(tmp_path / "canvas.zip", {"ada_1_1_01_adder.ipynb": notebook("ada"), hostile: b"%PDF"})
    times = tmp_path / "late.csv"
    times.write_text("student,timestamp\nada,2026-12-02T10:00:00Z\nghost,2026-12-02T10:00:00Z\n")
    out = tito("nbgrader", "collect", "01", str(download), "--preset", "canvas", "--timestamps", str(times),
               cwd=adder_course)
    assert "not imported: [red]x[/red]\\n\\x1b[31m:smile:\\u202e_1_1_notes.pdf: not a notebook (.ipynb); not read\n" \
        in out.stdout, out.stdout
    assert "\x1b" not in out.stdout and "\u202e" not in out.stdout
    assert f"time not used: {times}:3: no submission from `ghost` was imported from this download\n" in out.stdout
    assert "1 submission(s) in grading/submitted/, 1 file(s) not imported" in out.stdout
    assert (adder_course / "grading" / "submitted" / "ada" / "01_adder" / "timestamp.txt").read_text() \
        == "2026-12-02 10:00:00.000000 UTC\n"
    (tmp_path / "cut.zip").write_bytes(download.read_bytes()[:100])
    bad = tito("nbgrader", "collect", "01", str(tmp_path / "cut.zip"), cwd=adder_course, check=False)
    message = " ".join(bad.stderr.split())  # the terminal width ($COLUMNS) may wrap a long temporary path
    assert bad.returncode == 2 and "download it again" in message and "Traceback" not in message
    assert "Largest notebook accepted, in MiB" in tito("nbgrader", "collect", "--help", cwd=adder_course).stdout
