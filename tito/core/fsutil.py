"""Atomic, permission-aware file writes shared by every renderer."""
from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

READ_ONLY = stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH
READ_WRITE = READ_ONLY | stat.S_IWUSR


def atomic_write(path: Path, data: bytes | str, *, read_only: bool = False) -> None:
    """Write `data` to a temp file beside `path`, then rename it into place.

    A crash or an error never leaves a half-written file behind. Renaming over a
    read-only file is allowed on POSIX (only the directory must be writable).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    fd, staged = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(raw)
        os.chmod(staged, READ_ONLY if read_only else READ_WRITE)
        os.replace(staged, path)
    except BaseException:
        Path(staged).unlink(missing_ok=True)
        raise


def read_bytes(path: Path) -> bytes | None:
    """File contents, or None when the file does not exist."""
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        return None
