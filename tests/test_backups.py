"""`.tito/backups`: copies named after why they were made, bounded per file, the last good copy always kept."""
from __future__ import annotations

from tito.core.backups import BACKUP_DIR, KEEP, backup_file, copies, describe


def test_backups_of_one_file_are_bounded_and_the_newest_completed_copy_is_kept(tmp_path):
    notebook = tmp_path / "workspace" / "01_x" / "01_x.ipynb"
    other = tmp_path / "workspace" / "02_y" / "02_y.ipynb"
    notebook.parent.mkdir(parents=True)
    other.parent.mkdir(parents=True)
    other.write_text("other")
    backup_file(tmp_path, other, "start", keep=KEEP)
    made = []
    for n in range(KEEP + 5):
        notebook.write_text(f"version {n}")
        made.append(backup_file(tmp_path, notebook, "completed" if n == 1 else "start", keep=KEEP))
    kept = copies(tmp_path, "01_x.ipynb")
    assert [b.path.read_text() for b in kept] == [f"version {n}" for n in range(KEEP + 4, 4, -1)] + ["version 1"]
    assert [b.reason for b in kept][-1] == "completed" and kept[-1].path == made[1]
    assert [b.path.read_text() for b in copies(tmp_path, "02_y.ipynb")] == ["other"]  # another file: untouched
    # pruned copies leave no empty folders behind
    folders = [p for p in (tmp_path / BACKUP_DIR).iterdir()]
    assert len(folders) == len(kept) + 1 and all(any(p.rglob("*.ipynb")) for p in folders)


def test_a_backup_names_when_and_why_it_was_made(tmp_path):
    target = tmp_path / "tinytorch" / "core" / "tensor.py"
    target.parent.mkdir(parents=True)
    target.write_text("mine")
    copy = backup_file(tmp_path, target, "reset", content=b"as tested")
    info = describe(tmp_path, copy)
    assert copy.read_bytes() == b"as tested" and copy.relative_to(tmp_path / BACKUP_DIR / info.name) == \
        target.relative_to(tmp_path)
    assert info.reason == "reset" and info.name.endswith("-reset") and info.made is not None
