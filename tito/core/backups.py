"""Timestamped backups under `.tito/backups/`: nothing a student wrote is replaced without a copy.

Each copy sits at `.tito/backups/<stamp>[-<reason>]/<path relative to the course>`. The folder name is what
`tito module reset NN --restore NAME` takes; it sorts by time, and its reason says why the copy was made
(`completed`: the notebook a successful `tito module complete` exported, a known-good state). A caller that
passes `keep` bounds the copies of that one file: the newest `keep`, plus the newest `completed` one.
"""
from __future__ import annotations

import re
import shutil
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

BACKUP_DIR = Path(".tito") / "backups"
KEEP = 10  # a student's copies of one file (the newest `completed` copy is kept on top of these)
COMPLETED = "completed"
DAMAGED = "damaged"  # a copy of a file that was not valid (e.g. a notebook cut off by a crash)
NAME = re.compile(r"^(?P<stamp>\d{8}T\d{6})(?:_(?P<micro>\d{6}))?(?:-(?P<reason>[a-z][a-z-]*))?$")


@dataclass(frozen=True)
class Backup:
    path: Path  # the copy
    name: str  # its folder under .tito/backups (what `--restore` takes)
    made: datetime | None  # local time, from the name (None for a folder tito did not name)
    reason: str  # "completed", "start", "reset", ... ("" when not recorded)


def backup_file(root: Path, target: Path, reason: str = "", keep: int | None = None,
                content: bytes | None = None) -> Path:
    """Copy `target` (or `content`, bytes read from it) to .tito/backups/<stamp>[-<reason>]/<path relative to
    root>; return the copy's path.

    With `keep`, older copies of the same file beyond the newest `keep` are deleted (never the newest
    `completed` copy)."""
    target = Path(target).resolve()
    relative = _relative(root, target)
    stamp = time.strftime("%Y%m%dT%H%M%S") + f"{time.time() % 1:.6f}"[1:].replace(".", "_")
    dest = Path(root) / BACKUP_DIR / (f"{stamp}-{reason}" if reason else stamp) / relative
    dest.parent.mkdir(parents=True, exist_ok=True)
    if content is None:
        shutil.copy2(target, dest)
    else:
        dest.write_bytes(content)
    dest.chmod(0o644)
    if keep is not None:
        prune(root, relative, keep)
    return dest


def _relative(root: Path, target: Path) -> Path:
    try:
        return Path(target).resolve().relative_to(Path(root).resolve())
    except ValueError:
        return Path(Path(target).name)


def describe(root: Path, path: Path) -> Backup:
    """What a copy under .tito/backups is: its folder name, when and why it was made."""
    name = Path(path).relative_to(Path(root) / BACKUP_DIR).parts[0]
    match = NAME.match(name)
    made = None
    if match:
        try:
            made = datetime.strptime(match.group("stamp"), "%Y%m%dT%H%M%S")
        except ValueError:
            made = None
    return Backup(Path(path), name, made, (match.group("reason") or "") if match else "")


def copies(root: Path, pattern: str) -> list[Backup]:
    """Backups of the files named `pattern` (a file name or glob, e.g. "01_tensor.ipynb"), newest first."""
    folder = Path(root) / BACKUP_DIR
    if not folder.is_dir():
        return []
    found = [describe(root, p) for p in folder.glob(f"*/**/{pattern}") if p.is_file()]
    return sorted(found, key=lambda b: (b.name, str(b.path)), reverse=True)


def prune(root: Path, relative: Path, keep: int) -> list[Path]:
    """Delete the copies of `relative` beyond the newest `keep` (the newest `completed` one stays); return them."""
    folder = Path(root) / BACKUP_DIR
    same = [b for b in copies(root, Path(relative).name) if b.path.relative_to(folder / b.name) == Path(relative)]
    last_good = next((b for b in same if b.reason == COMPLETED), None)
    removed = []
    for backup in same[keep:]:
        if backup == last_good:
            continue
        backup.path.unlink(missing_ok=True)
        removed.append(backup.path)
        for parent in backup.path.parents:  # drop the folders the copy leaves empty
            if parent == folder or not parent.is_relative_to(folder):
                break
            try:
                parent.rmdir()
            except OSError:
                break
    return removed
