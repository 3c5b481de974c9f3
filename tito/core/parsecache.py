"""A content-addressed cache of parsed sources under `.tito/cache/parse/` (git-ignored).

Parsing with jupytext is the slowest part of an export (importing it alone takes a good part of a
second). A parse depends only on the file's bytes, the parser's own code and the installed jupytext (its
reading decides the cells), so the key is a hash of all three; a warm export of an unchanged course
never imports jupytext. The cache is an optimisation
only: any error reading or writing it falls back to a fresh parse.

TITO_PARSE_CACHE moves the cache to another folder (the test suite keeps it out of the checkout), or
turns it off with `off`.
"""
from __future__ import annotations

import hashlib
import os
import pickle
from pathlib import Path

from .fsutil import atomic_write
from .source import ParsedSource, parse_text

CACHE_DIR = Path(".tito") / "cache" / "parse"
ENV_VAR = "TITO_PARSE_CACHE"
_PARSER_FILES = ("source.py", "mutants.py", "errors.py", "parsecache.py")
MAX_ENTRIES = 200  # old versions of edited files are pruned beyond this
_parser_digest: str | None = None


def jupytext_version() -> str:
    """The installed jupytext's version, read from its metadata (importing jupytext is what we avoid)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("jupytext")
    except PackageNotFoundError:
        return "missing"


def _parser_version() -> str:
    global _parser_digest
    if _parser_digest is None:
        h = hashlib.sha256(f"jupytext {jupytext_version()}\0".encode())
        here = Path(__file__).resolve().parent
        for name in _PARSER_FILES:
            h.update((here / name).read_bytes())
        _parser_digest = h.hexdigest()
    return _parser_digest


def cache_dir(root: Path) -> Path | None:
    """The cache folder for the course at `root`: $TITO_PARSE_CACHE if set (None for `off`), else under root."""
    configured = os.environ.get(ENV_VAR, "")
    if configured.lower() == "off":
        return None
    return Path(configured) if configured else Path(root) / CACHE_DIR


def parse_cached(path: Path, root: Path) -> ParsedSource:
    """`source.parse_file(path)`, served from the cache when the file and the parser are unchanged."""
    from .config import load

    path = Path(path)
    key = load(root).header_key
    raw = path.read_bytes()
    folder = cache_dir(root)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        from .source import parse_file

        return parse_file(path, key)
    if folder is None:
        return parse_text(text, path, key)
    digest = hashlib.sha256(_parser_version().encode() + str(path).encode() + b"\0" + key.encode() + b"\0" + raw)
    entry = folder / f"{digest.hexdigest()}.pickle"
    try:
        cached = pickle.loads(entry.read_bytes())
        if isinstance(cached, ParsedSource):
            return cached
    except Exception:  # missing, truncated or from another Python: parse afresh
        pass
    parsed = parse_text(text, path, key)
    try:
        atomic_write(entry, pickle.dumps(parsed, protocol=pickle.HIGHEST_PROTOCOL))
        _prune(entry.parent)
    except OSError:  # a read-only checkout still exports, just without the cache
        pass
    return parsed


def _prune(folder: Path) -> None:
    entries = sorted(folder.glob("*.pickle"), key=lambda p: p.stat().st_mtime)
    for stale in entries[:-MAX_ENTRIES]:
        stale.unlink(missing_ok=True)
