"""What of the course a sandboxed submission may see: the reference package of the modules BEFORE the one
being graded (so module 03's tests can import module 01's names whatever the student's own module 01
was) and the datasets. Never the graded module's solution or hidden tests, nor src/ or modules/.

The files travel inside each Job as bytes, so a Dask worker on another machine needs no course folder.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

from ...core.course import Course, Module
from ...core.errors import TitoError
from ...core.leaks import leak_lines, scan_folder, secret_lines
from ..export import plan


def sandbox_files(course: Course, module: Module) -> dict[str, bytes]:
    """Relative path -> bytes, as laid out in the sandbox's working folder (the course's package
    folder, `datasets/`)."""
    earlier = [m for m in course.modules if m.number < module.number]
    files = {o.path.as_posix(): o.content for o in plan(course, earlier) if o.path.parts[0] == course.package}
    datasets = course.root / "datasets"
    if datasets.is_dir():
        for path in sorted(p for p in datasets.rglob("*") if p.is_file()):
            files[path.relative_to(course.root).as_posix()] = path.read_bytes()
    _refuse_leaks(course, module, earlier, files)
    return files


def _refuse_leaks(course: Course, module: Module, earlier: list[Module], files: dict[str, bytes]) -> None:
    """Scan, don't assume: no line of the graded module's solutions, hidden tests or mutants goes in, unless
    an earlier module's own solution has the very same line (it is in that module's package by right)."""
    secrets = leak_lines(course, module) - (secret_lines(course, earlier) if earlier else set())
    with tempfile.TemporaryDirectory(prefix="tito-sandbox-files-") as scratch:
        for rel, data in files.items():
            target = Path(scratch) / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        leaks = [str(leak) for leak in scan_folder(Path(scratch), secrets).leaks]
    if leaks:
        raise TitoError(f"refusing to grade {module.slug}: the files for its sandbox contain its answers "
                        f"({'; '.join(leaks[:3])}); a module's package must not repeat a later module's solution")
