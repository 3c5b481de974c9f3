"""A damaged workspace notebook: say so, name the newest good backup, and give the commands that recover.

A notebook that is not valid JSON (cut off by a crash, a full disk, an interrupted copy) is never called
"kept" and never backed up as if it were good work: every command that meets it stops with this message.
"""
from __future__ import annotations

from pathlib import Path

from ..core import nbutil
from ..core.backups import COMPLETED, DAMAGED, Backup
from ..core.course import Module
from .notebook import NotebookError, notebook_problem

WHY = {COMPLETED: "passed `tito module complete {id}`", "start": "before `tito module start {id}`",
       "reset": "before `tito module reset {id}`", "restore": "before `tito module reset {id} --restore`",
       "refresh": "before `tito module refresh {id}`", "locked-cells": "before `tito module reset {id} --locked-cells`",
       "start-over": "before `tito module start {id} --start-over`", DAMAGED: "kept aside: not a valid notebook"}


def why(backup: Backup, module: Module) -> str:
    """Why a backup was made, in words ("" when its folder does not say)."""
    return WHY.get(backup.reason, backup.reason).format(id=module.id)


def newest_good_backup(root: Path, module: Module) -> Backup | None:
    """The newest backup of `module`'s notebook that is a valid notebook."""
    from .workspace import backups

    for backup in backups(root, module):
        if backup.reason != DAMAGED and notebook_problem(backup.path) is None:
            return backup
    return None


def _relative(root: Path, path: Path) -> str:
    try:
        return Path(path).relative_to(root).as_posix()
    except ValueError:
        return str(path)


def recovery_steps(root: Path, module: Module) -> str:
    """What to run to get a usable notebook back: restore the newest good backup, or start over."""
    good = newest_good_backup(root, module)
    over = f"start over from the course's notebook with `tito module reset {module.id}`"
    if good is None:
        return f"No good backup of it exists; {over} (the damaged file is backed up first)."
    made = f", {good.made:%Y-%m-%d %H:%M}" if good.made else ""
    reason = why(good, module)
    return (f"Your newest good backup is {_relative(root, good.path)} ({reason + made if reason else made[2:]}). "
            f"Restore it with `tito module reset {module.id} --restore {good.name}`, or {over} "
            "(the damaged file is backed up first either way).")


class DamagedNotebook(NotebookError):
    """The workspace notebook is not a valid notebook; nothing was changed or backed up (exit 1)."""

    def __init__(self, root: Path, module: Module, problem: str):
        self.module = module
        super().__init__(f"your notebook for {module.slug} is damaged; nothing was changed. {problem}.\n"
                         f"{recovery_steps(root, module)}")


def read_notebook(path: Path, root: Path, module: Module, data: bytes | None = None) -> dict:
    """The student's notebook for `module` (parsed from `data` when the caller already read the file). A
    damaged one is a DamagedNotebook error naming the newest good backup and the commands that recover."""
    try:
        raw = Path(path).read_bytes() if data is None else data
    except FileNotFoundError:
        raise NotebookError(f"{path}: no such notebook; run `tito module start {module.id}`") from None
    try:
        return nbutil.parse_notebook(raw, Path(_relative(root, path)), NotebookError)
    except NotebookError as exc:
        raise DamagedNotebook(root, module, str(exc)) from None
