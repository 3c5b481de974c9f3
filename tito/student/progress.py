"""The progress store `.tito/progress.json`: one versioned schema, written atomically.

    {"version": 1,
     "last_module": "01_tensor",
     "modules": {"01_tensor": {"status": "completed", "started": "2025-01-31T10:02:11+00:00",
                               "completed": "2025-01-31T11:40:03+00:00", "score": 20.0, "max_score": 20.0,
                               "tests": "passed"}},          # or "skipped" after --skip-tests
     "milestones": {"01_perceptron": {"passed": true, "date": "...", "metrics": {...}, "best_passed": true, "runs": 2,
                                      "quick": {"passed": true, "date": "...", "metrics": {...}, ...}}}}
                                      # `quick`: the latest --quick run, kept apart from the full run

A corrupt file, or one with an unknown version, is moved aside (the load result says where) and
rebuilt from what the workspace and the package show: a workspace notebook means started, a package
file exported from the workspace means completed. The CLI never crashes on it.
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from ..core.fsutil import atomic_write

VERSION = 1
STORE = Path(".tito") / "progress.json"
STARTED, COMPLETED = "in_progress", "completed"


def now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, timezone.utc).replace(microsecond=0).isoformat()


@dataclass
class Progress:
    root: Path
    data: dict
    warnings: list[str] = field(default_factory=list)

    @property
    def modules(self) -> dict[str, dict]:
        return self.data["modules"]

    @property
    def milestones(self) -> dict[str, dict]:
        return self.data["milestones"]

    def entry(self, slug: str) -> dict | None:
        return self.modules.get(slug)

    def status(self, slug: str) -> str | None:
        entry = self.modules.get(slug)
        return entry.get("status") if entry else None

    def completed(self) -> set[str]:
        return {slug for slug, e in self.modules.items() if e.get("status") == COMPLETED}

    @property
    def last_module(self) -> str | None:
        return self.data.get("last_module")


def empty() -> dict:
    return {"version": VERSION, "last_module": None, "modules": {}, "milestones": {}}


def path(root: Path) -> Path:
    return Path(root) / STORE


def _valid(data) -> bool:
    return (isinstance(data, dict) and data.get("version") == VERSION and isinstance(data.get("modules"), dict)
            and all(isinstance(v, dict) for v in data["modules"].values())
            and isinstance(data.get("milestones", {}), dict))


def load(root: Path, course=None) -> Progress:
    """Read the store. Never raises on bad content: a bad file is moved aside and rebuilt (`warnings` says so)."""
    store = path(root)
    try:
        raw = store.read_bytes()
    except FileNotFoundError:
        return Progress(Path(root), empty())
    except OSError as exc:
        return Progress(Path(root), empty(), [f"cannot read {STORE} ({exc}); progress shown as empty"])
    try:
        data = json.loads(raw.decode("utf-8"))  # binary garbage fails here like bad JSON
        problem = None if _valid(data) else (
            f"unknown version {data.get('version')!r}" if isinstance(data, dict) and data.get("version") != VERSION
            else "unexpected structure")
    except UnicodeDecodeError as exc:
        data, problem = None, f"not UTF-8 text (byte {exc.start}: {raw[exc.start:exc.start + 1]!r})"
    except ValueError as exc:
        data, problem = None, f"not valid JSON ({exc})"
    if problem is None:
        data.setdefault("milestones", {})
        data.setdefault("last_module", None)
        return Progress(Path(root), data)
    aside = store.with_name(f"progress.{time.strftime('%Y%m%dT%H%M%S')}.bad.json")
    os.replace(store, aside)
    progress = Progress(Path(root), rebuild(root, course))
    progress.warnings.append(f"{STORE} was unreadable: {problem}. Moved it to {aside.relative_to(root)} and rebuilt "
                             f"progress from your workspace and package ({len(progress.modules)} module(s) found).")
    save(progress)
    return progress


def rebuild(root: Path, course=None) -> dict:
    """Progress as the files show it: workspace notebook -> started; package exported from the workspace -> completed."""
    from ..core.course import Course
    from ..core.render.package import origin_of
    from .workspace import notebook_path

    data = empty()
    try:
        course = course or Course.load(root, strict=False)
    except Exception:  # an unloadable course still gets an (empty) store
        return data
    for module in course.modules:
        notebook = notebook_path(root, module)
        package = Path(root) / module.package_file
        origin = None
        if package.exists():
            origin = origin_of(package.read_text(encoding="utf-8", errors="replace"))
        if origin and origin.startswith("workspace"):
            data["modules"][module.slug] = {"status": COMPLETED, "completed": _iso(package.stat().st_mtime),
                                            "score": None, "max_score": None, "tests": "unknown (rebuilt)"}
        elif notebook.exists():
            data["modules"][module.slug] = {"status": STARTED, "started": _iso(notebook.stat().st_mtime)}
        else:
            continue
        if notebook.exists():
            data["modules"][module.slug].setdefault("started", _iso(notebook.stat().st_mtime))
    worked = [(p.stat().st_mtime, m.slug) for m in course.modules if (p := notebook_path(root, m)).exists()]
    data["last_module"] = max(worked)[1] if worked else None
    return data


def save(progress: Progress) -> None:
    text = json.dumps(progress.data, indent=2, sort_keys=True) + "\n"
    atomic_write(path(progress.root), text)


# --- updates: each loads, changes one thing, and writes atomically ----------------------------------


def record_started(root: Path, slug: str, course=None) -> Progress:
    progress = load(root, course)
    entry = progress.modules.setdefault(slug, {"status": STARTED})
    entry.setdefault("started", now())
    progress.data["last_module"] = slug
    save(progress)
    return progress


def record_opened(root: Path, slug: str, course=None) -> Progress:
    progress = load(root, course)
    progress.data["last_module"] = slug
    save(progress)
    return progress


def record_completed(root: Path, slug: str, score: float | None, max_score: float | None, tests: str,
                     course=None) -> Progress:
    """`tests` is "passed", or "skipped" when the student used --skip-tests."""
    progress = load(root, course)
    entry = progress.modules.setdefault(slug, {"started": now()})
    entry.update({"status": COMPLETED, "completed": now(), "score": score, "max_score": max_score, "tests": tests})
    progress.data["last_module"] = slug
    save(progress)
    return progress


def forget_completion(root: Path, slug: str, course=None) -> Progress:
    """After a reset: the module is in progress again (its start date is kept)."""
    progress = load(root, course)
    entry = progress.modules.get(slug)
    if entry is not None:
        started = entry.get("started", now())
        progress.modules[slug] = {"status": STARTED, "started": started}
    save(progress)
    return progress


# --- the API other commands use (tito milestone) --------------------------------------------------


def completed_modules(root: Path) -> set[str]:
    """Slugs of the modules the student has completed (e.g. {"01_tensor", "02_activations"})."""
    return load(root).completed()


def record_milestone(root: Path, milestone_id: str, result: dict, quick: bool = False) -> Progress:
    """Store a milestone run: `result` as `milestones.run()` returns it ({"passed": bool, "metrics": {...}}).

    A full run is the milestone's result: the latest is kept, plus `best_passed` (once passed, it stays passed)
    and `runs` (a count). A `--quick` run (a smaller budget) never replaces it: it is kept apart under
    `quick`, with its own `best_passed` and `runs`."""
    progress = load(root)
    entry = progress.milestones.setdefault(milestone_id, {})
    passed = bool(result.get("passed"))
    record = entry.setdefault("quick", {}) if quick else entry
    record.update({"passed": passed, "date": now(), "metrics": _jsonable(result.get("metrics", {})),
                   "best_passed": passed or bool(record.get("best_passed")), "runs": int(record.get("runs", 0)) + 1})
    save(progress)
    return progress


def full_run(entry: dict | None) -> dict | None:
    """The full (not `--quick`) run of a milestone entry, or None when there has been none."""
    return entry if entry and "passed" in entry else None


def milestone_results(root: Path) -> dict[str, dict]:
    return load(root).milestones


def _jsonable(value):
    """Metrics may hold NumPy scalars; store plain JSON values."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    try:
        return value.item()  # numpy scalar
    except AttributeError:
        return str(value)
