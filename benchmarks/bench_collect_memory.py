"""Peak memory (RSS) of `tito nbgrader collect` on hostile and large downloads.

Usage: python benchmarks/bench_collect_memory.py [--cases bomb,three,three-other,honest] [--keep DIR]

Each case is a Canvas-style zip built in a temporary folder, collected by `tito.instructor.collect.collect` in a fresh
Python process; its peak resident set size is the kernel's high-water mark for that process (VmHWM), so
nothing else on the machine is counted. The cases:
  bomb         a 1 GiB notebook-named entry of zeros (about 1 MB compressed) beside three honest notebooks
  three        three 1 GiB notebook-named entries, one student each, beside three honest notebooks
  three-other  three 1 GiB entries that are not notebooks (lecture.mp4) beside three honest notebooks
  lie          a 1 GiB notebook-named entry whose central directory declares 100 MiB (under the cap)
  honest       one honest 200 MB notebook (a base64 image output, as a plot-heavy notebook has)
  baseline     three honest notebooks only (the interpreter, nbformat and tito imported)
Nothing is asserted; record the figures in your notes.
"""
from __future__ import annotations

import argparse
import base64
import json
import os
import struct
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
GIB = 1 << 30
WHEN = (2026, 11, 30, 9, 0, 0)
CHUNK = 1 << 20


def honest_notebook(marker: str) -> bytes:
    nb = {"cells": [{"cell_type": "code", "execution_count": None, "id": "c1", "metadata": {}, "outputs": [],
                     "source": f"answer = {marker!r}"}],
          "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    return json.dumps(nb).encode()


def write_stream(archive: zipfile.ZipFile, name: str, chunks) -> None:
    info = zipfile.ZipInfo(name, date_time=WHEN)
    info.compress_type = zipfile.ZIP_DEFLATED
    with archive.open(info, "w", force_zip64=True) as handle:
        for chunk in chunks:
            handle.write(chunk)


def zeros(size: int):
    block = bytes(CHUNK)
    for _ in range(size // CHUNK):
        yield block


def big_notebook(size: int):
    """A valid notebook whose one output is a `size`-byte base64 string (random, so it barely compresses)."""
    head = json.dumps({"cells": [{"cell_type": "code", "execution_count": 1, "id": "plot", "metadata": {},
                                  "outputs": [{"output_type": "display_data", "metadata": {},
                                               "data": {"image/png": "@@"}}],
                                  "source": "plot()"}],
                       "metadata": {}, "nbformat": 4, "nbformat_minor": 5})
    before, after = head.split('"@@"')
    yield (before + '"').encode()
    raw = 3 * (CHUNK // 4)  # a multiple of 3: chunks encode without padding and join into one base64 string
    for _ in range(size // CHUNK):
        yield base64.b64encode(os.urandom(raw))
    yield ('"' + after).encode()


def build(case: str, folder: Path) -> Path:
    path = folder / f"{case}.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        if case != "honest":
            for n, student in enumerate(("ada", "bob", "cy")):
                archive.writestr(zipfile.ZipInfo(f"{student}_{n}_{n}_01_tensor.ipynb", date_time=WHEN),
                                 honest_notebook(student))
        if case == "bomb":
            write_stream(archive, "bomb_9_9_01_tensor.ipynb", zeros(GIB))
        elif case == "three":
            for n in range(3):
                write_stream(archive, f"big{n}_8{n}_8{n}_01_tensor.ipynb", zeros(GIB))
        elif case == "three-other":
            for n in range(3):
                write_stream(archive, f"dee_7_7{n}_lecture{n}.mp4", zeros(GIB))
        elif case == "lie":
            write_stream(archive, "liar_5_5_01_tensor.ipynb", zeros(GIB))
        elif case == "honest":
            write_stream(archive, "eve_6_6_01_tensor.ipynb", big_notebook(200 << 20))
    if case == "lie":
        declare_size(path, "liar_5_5_01_tensor.ipynb", 100 << 20)
    return path


def declare_size(path: Path, name: str, size: int) -> None:
    """Rewrite the uncompressed size the central directory gives `name` (a zip64 entry's extra field too)."""
    data = bytearray(path.read_bytes())
    at = data.rfind(b"PK\x01\x02")
    while at != -1:
        name_len, extra_len = struct.unpack_from("<HH", data, at + 28)
        if data[at + 46:at + 46 + name_len] == name.encode():
            if struct.unpack_from("<I", data, at + 24)[0] == 0xFFFFFFFF:  # zip64: sizes in the extra field
                extra = at + 46 + name_len
                struct.pack_into("<Q", data, extra + 4, size)
            else:
                struct.pack_into("<I", data, at + 24, size)
            path.write_bytes(bytes(data))
            return
        at = data.rfind(b"PK\x01\x02", 0, at)
    raise ValueError(f"{name} not in {path}")


def peak_rss_mb(download: Path, out: Path) -> tuple[float, str]:
    """The child's VmHWM: its peak resident memory since exec (getrusage's ru_maxrss would include what this
    parent process had used when it started the child)."""
    script = ("import sys; from tito.instructor.collect import collect; "
              "r = collect(sys.argv[1], '01_tensor', sys.argv[2], preset='canvas'); "
              "print(len(r.accepted), 'accepted;', '; '.join(f'{x.source}: {x.reason}' for x in r.rejected))")
    probe = "import atexit; atexit.register(lambda: print(open('/proc/self/status').read().split('VmHWM:')[1].split()[0]))"
    proc = subprocess.run([sys.executable, "-c", f"{probe}\n{script}", str(out), str(download)], cwd=REPO,
                          capture_output=True, text=True)
    lines = proc.stdout.strip().splitlines()
    summary = lines[-2] if len(lines) > 1 else ""
    if proc.returncode:
        summary = f"exit {proc.returncode}: {(proc.stderr.strip().splitlines() or [''])[-1][:200]}"
    return int(lines[-1]) / 1024, summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default="baseline,bomb,three,three-other,lie,honest")
    parser.add_argument("--keep", type=Path, help="Build (and reuse) the zips in this folder.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.keep or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        print(f"{'case':<12} {'zip MB':>8} {'peak RSS MB':>12}  result")
        for case in args.cases.split(","):
            download = folder / f"{case}.zip"
            if not download.exists():
                download = build(case, folder)
            out = Path(tempfile.mkdtemp(dir=scratch))
            peak, summary = peak_rss_mb(download, out / "submitted")
            print(f"{case:<12} {download.stat().st_size / 1e6:>8.1f} {peak:>12.0f}  {summary[:160]}", flush=True)


if __name__ == "__main__":
    main()
