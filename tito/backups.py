"""Timestamped backups under `.tito/backups/`: nothing a student wrote is replaced without a copy."""
from __future__ import annotations

import shutil
import time
from pathlib import Path

BACKUP_DIR = Path(".tito") / "backups"


def backup_file(root: Path, target: Path) -> Path:
    """Copy `target` to .tito/backups/<timestamp>/<path relative to root>; return the copy's path."""
    target = Path(target).resolve()
    try:
        relative = target.relative_to(Path(root).resolve())
    except ValueError:
        relative = Path(target.name)
    stamp = time.strftime("%Y%m%dT%H%M%S") + f"{time.time() % 1:.6f}"[1:].replace(".", "_")
    dest = Path(root) / BACKUP_DIR / stamp / relative
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(target, dest)
    dest.chmod(0o644)
    return dest
