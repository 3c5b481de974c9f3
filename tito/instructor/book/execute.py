"""Run module notebooks for the book once, and cache their outputs by content hash.

The key covers what can change an output: the code cells (source and tags, in order), the
reference package every notebook imports (all modules' exported code, rendered from src/), and
the Python version. Markdown is not part of it, so editing prose never re-runs a kernel.
Notebooks run in scratch folders against a freshly rendered copy of the reference package, so the
book never depends on what a student exported into the course's package.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Callable, Iterable

from ...core import config as course_config
from ...core.errors import TitoError
from ...core.fsutil import atomic_write
from ...core.kernelenv import kernel_env
from ...core.nbutil import source_of

CACHE_DIR = Path(".tito/cache/book")
FORMAT = "1"  # bump when the cached layout or the execution setup changes
TIMEOUT = 300


def code_cells(notebook: dict) -> list[dict]:
    return [c for c in notebook["cells"] if c["cell_type"] == "code"]


def package_digest(package_files: Iterable[tuple[str, bytes]]) -> str:
    h = hashlib.sha256()
    for path, content in sorted(package_files):
        h.update(path.encode() + b"\0" + content + b"\0")
    return h.hexdigest()


def execution_key(notebook: dict, package: str) -> str:
    cells = [[source_of(c), sorted(c.get("metadata", {}).get("tags", []))] for c in code_cells(notebook)]
    payload = json.dumps([FORMAT, sys.version_info[:2], package, cells], sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


def cache_path(root: Path, slug: str, key: str) -> Path:
    return root / CACHE_DIR / f"{slug}-{key[:20]}.json"


def load_outputs(root: Path, slug: str, key: str) -> list[dict] | None:
    path = cache_path(root, slug, key)
    try:
        return json.loads(path.read_text(encoding="utf-8"))["outputs"]
    except (FileNotFoundError, json.JSONDecodeError, KeyError):
        return None


def store_outputs(root: Path, slug: str, key: str, outputs: list[dict]) -> None:
    for old in (root / CACHE_DIR).glob(f"{slug}-*.json"):  # one entry per module is enough
        old.unlink(missing_ok=True)
    atomic_write(cache_path(root, slug, key), json.dumps({"key": key, "outputs": outputs}, sort_keys=True))


def with_outputs(notebook: dict, outputs: list[dict]) -> dict:
    """A copy of `notebook` whose code cells carry `outputs` (one entry per code cell, in order)."""
    result = json.loads(json.dumps(notebook))
    for cell, out in zip(code_cells(result), outputs):
        cell["outputs"] = out["outputs"]
        cell["execution_count"] = out["execution_count"]
    return result


def write_package(folder: Path, package_files: Iterable[tuple[str, bytes]], root: Path) -> None:
    """The reference package in `folder`, with `datasets/` linked beside it as in the repo
    (so code that finds data relative to the package finds it here too)."""
    for path, content in package_files:
        atomic_write(folder / path, content)
    if (root / "datasets").is_dir() and not (folder / "datasets").exists():
        (folder / "datasets").symlink_to((root / "datasets").resolve(), target_is_directory=True)


def _job(notebook: dict, pythonpath: str, root: str, scratch: Path, timeout: float) -> dict:
    # The course's code may look for its folder in $<PACKAGE>_ROOT (the package name in capitals).
    env = kernel_env(**{f"{course_config.load(Path(root)).env_prefix}_ROOT": root}, PYTHONPATH=os.pathsep.join(
        p for p in (pythonpath, os.environ.get("PYTHONPATH", "")) if p))
    env.pop("MPLBACKEND", None)
    return dict(notebook=notebook, cwd=scratch, env=env, cell_timeout=timeout, allow_errors=False)


def _outputs(run) -> list[dict]:
    """Each code cell's outputs; TitoError naming the cell when the run stopped early."""
    if run.aborted:
        raise TitoError(f"{run.aborted}, while executing for the book")
    return [{"outputs": [json.loads(json.dumps(o)) for o in cell.get("outputs", [])],
             "execution_count": cell.get("execution_count")}
            for cell in run.notebook.cells if cell.cell_type == "code"]


def run_notebook(notebook: dict, pythonpath: str, root: str, timeout: float = TIMEOUT) -> list[dict]:
    """Execute in a fresh python3 kernel; return each code cell's outputs. Raise TitoError on a failing cell."""
    from ...core import kernel

    with tempfile.TemporaryDirectory(prefix="tito-book-") as scratch:
        return _outputs(kernel.execute(**_job(notebook, pythonpath, root, Path(scratch), timeout)))


def execute_all(jobs: list[tuple[str, dict]], pythonpath: Path, root: Path, workers: int | None = None,
                on_result: Callable[[str, list[dict]], None] | None = None,
                timeout: float = TIMEOUT) -> dict[str, list[dict]]:
    """Run several notebooks at once; {slug: outputs}. `on_result` sees each success as it lands (so
    a failing module does not throw away the others' work); every failure is reported at the end."""
    from ...core import kernel

    results: dict[str, list[dict]] = {}
    errors: list[str] = []
    workers = max(1, min(workers or os.cpu_count() or 1, len(jobs) or 1))

    def landed(i: int, run) -> None:
        slug = jobs[i][0]
        try:
            results[slug] = _outputs(run)
        except TitoError as exc:
            errors.append(f"{slug}: {exc}")
            return
        if on_result:
            on_result(slug, results[slug])

    with contextlib.ExitStack() as stack:
        scratch = [Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="tito-book-"))) for _ in jobs]
        kernel.execute_all([_job(nb, str(pythonpath), str(root), folder, timeout)
                            for (slug, nb), folder in zip(jobs, scratch)], workers, landed)
    if errors:
        raise TitoError("module notebooks failed to execute (fix the source, then rebuild):\n  " + "\n  ".join(errors))
    return results
