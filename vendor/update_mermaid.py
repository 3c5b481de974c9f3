"""Vendor the mermaid bundle the book uses (so no page needs a CDN), pinned and checked.

vendor/mermaid.lock.json pins the npm version, the sha256 of its registry tarball and the sha256 of
every file taken from it. The files land in vendor/static/mermaid/, which _config.yml serves as
`_static/mermaid/`.

    python vendor/update_mermaid.py             # (re)install the pinned version; refuses a tarball whose sha256 differs
    python vendor/update_mermaid.py --check     # offline: do the vendored files match the lock?
    python vendor/update_mermaid.py --pin 11.18.0   # move the pin: fetch it, check npm's own integrity hash, record it

Nothing is half-written: the new bundle is assembled beside the old one and swapped in at the end.
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import shutil
import sys
import tarfile
import tempfile
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
LOCK = HERE / "mermaid.lock.json"
TARGET = HERE / "static" / "mermaid"
REGISTRY = "https://registry.npmjs.org"
# What the book needs from the package: the ES-module build, its lazily loaded chunks, the licence.
ENTRY = "dist/mermaid.esm.min.mjs"
CHUNKS = "dist/chunks/mermaid.esm.min/"


class VendorError(Exception):
    pass


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=120) as response:  # noqa: S310 (a fixed https registry URL)
        return response.read()


def wanted(member: str) -> str | None:
    """Where a tarball member goes under the bundle folder, or None to leave it out."""
    name = member.removeprefix("package/")
    if name == "LICENSE":
        return "LICENSE"
    if name == ENTRY:
        return "mermaid.esm.min.mjs"
    if name.startswith(CHUNKS) and name.endswith(".mjs") and "/" not in name[len(CHUNKS):]:
        return "chunks/mermaid.esm.min/" + name[len(CHUNKS):]
    return None


def extract(tarball: bytes) -> dict[str, bytes]:
    """The files the book needs, by their path in the bundle; names are ours, never the archive's."""
    files: dict[str, bytes] = {}
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as archive:
        for member in archive.getmembers():
            target = wanted(member.name) if member.isfile() else None
            if target:
                files[target] = archive.extractfile(member).read()
    if "mermaid.esm.min.mjs" not in files or "LICENSE" not in files:
        raise VendorError(f"the tarball has no {ENTRY} or LICENSE: not a mermaid package?")
    return files


def install(tarball: bytes, lock: dict, target: Path) -> dict:
    """Check `tarball` against the lock's sha256, then replace `target` by its files; returns the new lock."""
    digest = sha256(tarball)
    if digest != lock["sha256"]:
        raise VendorError(f"mermaid {lock['version']}: tarball sha256 {digest} does not match the pinned "
                          f"{lock['sha256']}; nothing was changed")
    files = extract(tarball)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".mermaid-", dir=target.parent))
    try:
        for rel, data in files.items():
            (staging / rel).parent.mkdir(parents=True, exist_ok=True)
            (staging / rel).write_bytes(data)
        (staging / "VERSION").write_text(f"mermaid {lock['version']} from the npm registry ({lock['tarball']}); "
                                         "see vendor/mermaid.lock.json\n", encoding="utf-8")
        old = target.with_name(target.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        if target.exists():
            target.rename(old)
        staging.rename(target)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return dict(lock, files={rel: sha256(data) for rel, data in sorted(files.items())})


def verify(target: Path, lock: dict) -> list[str]:
    """Every way the vendored folder differs from the lock (empty when it matches)."""
    problems = []
    present = {p.relative_to(target).as_posix() for p in target.rglob("*") if p.is_file()} - {"VERSION"}
    for rel, digest in lock["files"].items():
        path = target / rel
        if not path.is_file():
            problems.append(f"{rel}: missing")
        elif sha256(path.read_bytes()) != digest:
            problems.append(f"{rel}: sha256 differs from the lock")
    problems += [f"{rel}: not in the lock" for rel in sorted(present - set(lock["files"]))]
    return problems


def pin(version: str) -> dict:
    """A lock for `version`: the registry's tarball, checked against npm's own sha512 integrity."""
    meta = json.loads(_fetch(f"{REGISTRY}/mermaid/{version}"))
    tarball_url, integrity = meta["dist"]["tarball"], meta["dist"]["integrity"]
    tarball = _fetch(tarball_url)
    algo, _, expected = integrity.partition("-")
    if algo != "sha512" or base64.b64encode(hashlib.sha512(tarball).digest()).decode() != expected:
        raise VendorError(f"mermaid {version}: the download does not match the registry's integrity {integrity}")
    return {"package": "mermaid", "version": meta["version"], "tarball": tarball_url, "sha256": sha256(tarball),
            "files": {}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="verify the vendored files against the lock (offline)")
    parser.add_argument("--pin", metavar="VERSION", help="pin another npm version, then install it")
    args = parser.parse_args(argv)
    lock = json.loads(LOCK.read_text(encoding="utf-8"))
    try:
        if args.check:
            problems = verify(TARGET, lock)
            for problem in problems:
                print(f"vendor/static/mermaid/{problem}", file=sys.stderr)
            print("mermaid bundle matches the lock" if not problems else f"{len(problems)} problem(s)")
            return 1 if problems else 0
        if args.pin:
            lock = pin(args.pin)
        new_lock = install(_fetch(lock["tarball"]), lock, TARGET)
    except VendorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"error: cannot reach the npm registry ({exc})", file=sys.stderr)
        return 1
    LOCK.write_text(json.dumps(new_lock, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    where = TARGET.relative_to(HERE.parent)
    print(f"vendored mermaid {new_lock['version']}: {len(new_lock['files'])} files in {where}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
