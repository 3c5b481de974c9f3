"""A class's download (a folder or a learning platform's .zip), read as hostile input.

Listing a download reads no file's contents. Each entry carries what can be said about it from the listing
alone: a link, a device or pipe, a zip name that escapes the download (absolute, `..`), an encrypted entry,
entries that overlap (a crafted zip bomb), an earlier entry shadowed by a later one of the same name. Those
entries are never opened. The others are opened one at a time, and `copy_capped` streams one into a file with
a size cap, whatever size the zip declares, turning a damaged entry (bad deflate data, a bad CRC, a truncated
member) into `EntryError` instead of a traceback.
"""
from __future__ import annotations

import errno
import os
import re
import stat
import struct
import zipfile
import zlib
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Callable, Iterator

from ..core.errors import UsageError

# Platform clutter, skipped silently: macOS resource forks, Jupyter checkpoints, hidden files and folders.
JUNK = re.compile(r"(^|/)(__MACOSX|\.ipynb_checkpoints)(/|$)|(^|/)\.[^/]*$")
CHUNK = 1 << 20
LOCAL_HEADER = 30  # bytes of a zip local file header before its name and extra field
MIB = 1 << 20

# What a damaged or crafted zip member raises while it is decompressed (never a problem of ours).
_DAMAGED = (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError, NotImplementedError, ValueError,
            struct.error)


class EntryError(Exception):
    """One entry cannot be imported; the message says why, in a few words."""


@dataclass
class Entry:
    """One file of the download, not yet read."""

    name: str  # path inside the download, posix separators
    time: datetime | None  # aware, UTC; None when the download gives no valid time
    size: int | None = None  # the size the zip declares / the folder reports (not trusted)
    problem: str | None = None  # why it cannot be imported, known without reading it
    opener: Callable[[], BinaryIO] | None = field(default=None, repr=False)


def is_junk(name: str) -> bool:
    return bool(JUNK.search(name))


@contextmanager
def open_download(source: Path) -> Iterator[list[Entry]]:
    """The entries of a folder or a .zip (junk left out); they can be opened until the context ends."""
    source = Path(source)
    if source.is_dir():
        yield list(_folder_entries(source.resolve()))
        return
    if not source.exists():
        raise UsageError(f"{source}: no such folder or zip file")
    if not source.is_file():
        raise UsageError(f"{source}: not a folder or a .zip file")
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, struct.error, NotImplementedError) as exc:
        raise UsageError(f"{source}: neither a folder nor a valid .zip file ({exc}); if the download was "
                         "interrupted, download it again") from None
    with archive:
        yield _zip_entries(archive)


def copy_capped(entry: Entry, dest: Path, max_bytes: int) -> int:
    """Stream `entry` into the new file `dest`, at most `max_bytes`; return its size.

    EntryError (and no `dest`) when the entry is larger, damaged or unreadable. Errors writing `dest` are ours
    (a full disk) and propagate.
    """
    if entry.size is not None and entry.size > max_bytes:
        raise EntryError(f"{_mib(entry.size)} declared, over the {_mib(max_bytes)} limit per notebook (--max-mb)")
    size = 0
    try:
        with open(dest, "xb") as out:
            with _opened(entry) as handle:
                while chunk := _read(handle, min(CHUNK, max_bytes + 1 - size)):
                    size += len(chunk)
                    if size > max_bytes:
                        raise EntryError(f"larger than the {_mib(max_bytes)} limit per notebook (--max-mb)")
                    out.write(chunk)
    except BaseException:
        dest.unlink(missing_ok=True)
        raise
    return size


@contextmanager
def _opened(entry: Entry) -> Iterator[BinaryIO]:
    try:
        handle = entry.opener()
    except _DAMAGED as exc:
        raise EntryError(_damage(exc)) from None
    with handle:
        yield handle


def _read(handle: BinaryIO, size: int) -> bytes:
    try:
        return handle.read(size)
    except _DAMAGED as exc:
        raise EntryError(_damage(exc)) from None


def _damage(exc: BaseException) -> str:
    if isinstance(exc, RuntimeError) and "encrypted" in str(exc):
        return "encrypted (password-protected); ask for an unencrypted copy"
    detail = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
    return f"damaged, cannot be read ({detail}); ask for a new copy or download again"


def _mib(size: int) -> str:
    if size < MIB:
        return f"{size} bytes"
    return f"{size // MIB} MiB" if size % MIB == 0 else f"{size / MIB:.1f} MiB"


# ---- folders -------------------------------------------------------------------------------------------------

LINK = "a symbolic link (links are not followed; copy the file itself into the download if it is genuine)"
SPECIAL = "not a regular file (a device, pipe or socket)"


def _folder_entries(root: Path) -> Iterator[Entry]:
    """Every file under `root`, walked without following links; sorted by path."""
    found = []
    pending = [""]
    while pending:  # a stack, not recursion: a deep tree cannot exhaust Python's recursion limit
        folder = pending.pop()
        try:
            with os.scandir(root / folder) as listing:
                children = list(listing)
        except OSError as exc:
            found.append(Entry(folder or ".", None, problem=f"folder cannot be read ({exc.strerror})"))
            continue
        for child in children:
            name = f"{folder}/{child.name}" if folder else child.name
            if is_junk(name):
                continue
            if child.is_symlink():
                found.append(Entry(name, None, problem=LINK))
            elif child.is_dir(follow_symlinks=False):
                pending.append(name)
            elif child.is_file(follow_symlinks=False):
                info = child.stat(follow_symlinks=False)
                found.append(Entry(name, _mtime(info.st_mtime), info.st_size, opener=_file_opener(root / name)))
            else:
                found.append(Entry(name, None, problem=SPECIAL))
    return sorted(found, key=lambda e: e.name)


def _file_opener(path: Path) -> Callable[[], BinaryIO]:
    def opener() -> BinaryIO:
        # O_NOFOLLOW: a file swapped for a link after the listing is still refused; O_NONBLOCK: a pipe
        # swapped in cannot hang the open.
        flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
        try:
            fd = os.open(path, flags)
        except OSError as exc:
            if exc.errno == errno.ELOOP:  # the last component is a link
                raise EntryError(LINK) from None
            raise EntryError(f"cannot be read ({exc.strerror})") from None
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise EntryError(SPECIAL)
        return os.fdopen(fd, "rb")

    return opener


def _mtime(seconds: float) -> datetime | None:
    try:
        return datetime.fromtimestamp(seconds, timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None


# ---- zips ----------------------------------------------------------------------------------------------------

def _zip_entries(archive: zipfile.ZipFile) -> list[Entry]:
    infos = [i for i in archive.infolist() if not i.is_dir() and not is_junk(i.filename)]
    problems = _overlaps(archive.infolist())
    last = {info.filename: info for info in infos}  # the one `unzip` would leave on disk
    entries = []
    for info in infos:
        problem = (_unsafe_name(info.filename) or problems.get(id(info)) or _special(info)
                   or ("encrypted (password-protected); ask for an unencrypted copy" if info.flag_bits & 0x1 else None)
                   or (None if last[info.filename] is info else
                       "an earlier entry of the same name; the zip's last one is used, as unzip would"))
        entries.append(Entry(info.filename, _zip_time(info.date_time), info.file_size, problem,
                             opener=(lambda info=info: archive.open(info))))
    return entries


def _unsafe_name(name: str) -> str | None:
    """Absolute paths, drive letters and `..` (with either slash): a name that would escape an unzip."""
    parts = PurePosixPath(name.replace("\\", "/")).parts
    if name.startswith(("/", "\\")) or re.match(r"[A-Za-z]:", name) or ".." in parts:
        return "its path escapes the download (absolute or `..`); not read"
    return None


def _special(info: zipfile.ZipInfo) -> str | None:
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        return LINK
    if stat.S_IFMT(mode) and not stat.S_ISREG(mode):
        return SPECIAL
    return None


def _overlaps(infos: list[zipfile.ZipInfo]) -> dict[int, str]:
    """Entries whose data runs into the next entry's header: no zip tool writes them; zip bombs reuse one
    compressed block for many entries this way. Checked from the central directory, nothing decompressed."""
    ordered = sorted(infos, key=lambda i: i.header_offset)
    bad: dict[int, str] = {}
    for info, following in zip(ordered, ordered[1:]):
        if info.header_offset + LOCAL_HEADER + info.compress_size > following.header_offset:
            for crafted in (info, following):
                bad[id(crafted)] = "overlaps another entry of the zip (a crafted zip, e.g. a zip bomb); not read"
    return bad


def _zip_time(date_time: tuple) -> datetime | None:
    # Zip times carry no zone; platforms write them in UTC, and we read them so.
    try:
        return datetime(*date_time, tzinfo=timezone.utc)
    except (TypeError, ValueError):
        return None
