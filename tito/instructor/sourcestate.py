"""Which state of the course source a build comes from: its git commit, plus a digest of any uncommitted change.

Two student editions that carry the same version must hold the same course. A commit alone does not say that
when the working tree has edits, so those builds are marked `<commit>.dirty.<digest>`, the digest taken over the
content of every changed, deleted or untracked (not ignored) file: the same edits give the same name, other
edits another one.
"""
from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

DIRTY = ".dirty."


def _git(root: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


def changed_paths(root: Path) -> list[str]:
    """Paths (relative to the repository) that differ from HEAD, staged or not, and untracked files."""
    changed = _git(root, "diff", "--name-only", "--no-renames", "-z", "HEAD", "--") or ""
    untracked = _git(root, "ls-files", "--others", "--exclude-standard", "-z") or ""
    return sorted({p for p in (changed + untracked).split("\0") if p})


def digest(root: Path, paths: list[str]) -> str:
    """A short hash of the paths and their current content (a deleted file counts as deleted)."""
    h = hashlib.sha256()
    for relative in paths:
        path = Path(root) / relative
        h.update(relative.encode("utf-8", "surrogateescape") + b"\0")
        if path.is_symlink():
            h.update(b"link:" + str(path.readlink()).encode("utf-8", "surrogateescape"))
        elif path.is_file():
            h.update(b"file:" + path.read_bytes())
        else:
            h.update(b"gone")
        h.update(b"\0")
    return h.hexdigest()[:8]


def describe(root: Path) -> str | None:
    """`<commit>` for a clean checkout whose top is `root`, `<commit>.dirty.<digest>` with uncommitted changes,
    None when `root` is not the top of a git checkout with a commit (or git is missing)."""
    root = Path(root)
    if not (root / ".git").exists():
        return None
    head = (_git(root, "rev-parse", "--short=10", "HEAD") or "").strip()
    if not head:
        return None
    changed = changed_paths(root)
    return f"{head}{DIRTY}{digest(root, changed)}" if changed else head
