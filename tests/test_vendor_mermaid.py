"""The vendored mermaid bundle matches its pin, and the update script refuses a tarball that does not."""
from __future__ import annotations

import importlib.util
import io
import json
import tarfile
from pathlib import Path

import pytest
import yaml

from .conftest import REPO


def load_script():
    spec = importlib.util.spec_from_file_location("update_mermaid", REPO / "vendor" / "update_mermaid.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


updater = load_script()
LOCK = json.loads((REPO / "vendor" / "mermaid.lock.json").read_text(encoding="utf-8"))


def tarball(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(f"package/{name}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


FAKE = {"LICENSE": b"MIT", "dist/mermaid.esm.min.mjs": b"export default 1;",
        "dist/chunks/mermaid.esm.min/chunk-A.mjs": b"export const a = 1;",
        "dist/chunks/mermaid.esm.min/chunk-A.mjs.map": b"{}", "dist/mermaid.js": b"umd build", "README.md": b"readme",
        "dist/chunks/mermaid.esm.min/../../../../escape.mjs": b"never"}


def test_the_committed_bundle_matches_its_lock():
    assert updater.verify(REPO / "vendor" / "static" / "mermaid", LOCK) == []
    assert len(LOCK["files"]) > 50 and LOCK["version"] in LOCK["tarball"] and len(LOCK["sha256"]) == 64


def test_the_book_serves_the_vendored_bundle():
    config = yaml.safe_load((REPO / "_config.yml").read_text(encoding="utf-8"))["sphinx"]["config"]
    served = [REPO / p / config["mermaid_use_local"] for p in config["html_static_path"]]
    assert any(p.is_file() for p in served), f"{config['mermaid_use_local']} is in no html_static_path"
    assert not (REPO / "book" / "_static" / "mermaid").exists(), "one copy only, under vendor/"


def test_install_takes_only_the_esm_build_and_checks_the_sha256(tmp_path: Path):
    data = tarball(FAKE)
    lock = {"package": "mermaid", "version": "0.0.1", "tarball": "https://example.invalid/m.tgz",
            "sha256": updater.sha256(data), "files": {}}
    target = tmp_path / "static" / "mermaid"
    new_lock = updater.install(data, lock, target)
    assert sorted(new_lock["files"]) == ["LICENSE", "chunks/mermaid.esm.min/chunk-A.mjs", "mermaid.esm.min.mjs"]
    assert updater.verify(target, new_lock) == []
    assert not (tmp_path / "escape.mjs").exists() and not list(tmp_path.rglob("escape.mjs"))

    (target / "mermaid.esm.min.mjs").write_bytes(b"tampered")
    (target / "extra.mjs").write_bytes(b"stray")
    assert updater.verify(target, new_lock) == ["mermaid.esm.min.mjs: sha256 differs from the lock",
                                                "extra.mjs: not in the lock"]


def test_a_tarball_with_another_sha256_changes_nothing(tmp_path: Path):
    target = tmp_path / "static" / "mermaid"
    target.mkdir(parents=True)
    (target / "mermaid.esm.min.mjs").write_bytes(b"the good one")
    lock = {"package": "mermaid", "version": "0.0.1", "tarball": "x", "sha256": "0" * 64, "files": {}}
    with pytest.raises(updater.VendorError, match="does not match the pinned"):
        updater.install(tarball(FAKE), lock, target)
    assert (target / "mermaid.esm.min.mjs").read_bytes() == b"the good one"
    assert sorted(p.name for p in target.parent.iterdir()) == ["mermaid"], "no staging folder left behind"


def test_check_mode_exits_1_on_a_mismatch(tmp_path: Path, monkeypatch, capsys):
    monkeypatch.setattr(updater, "TARGET", tmp_path / "empty")
    (tmp_path / "empty").mkdir()
    assert updater.main(["--check"]) == 1
    assert "mermaid.esm.min.mjs: missing" in capsys.readouterr().err
