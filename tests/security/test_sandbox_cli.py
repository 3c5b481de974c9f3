"""Where bubblewrap is missing, autograde refuses and names the package; --no-sandbox opts out, loudly."""
from __future__ import annotations

import json
import os
import subprocess
import sys

from ..helpers.class_submissions import tensor_course, variants
from ..helpers.grading import BIN, plain_scores


def autograde(root, *extra: str, path: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PATH=path, COLUMNS="200", NO_COLOR="1")
    return subprocess.run([sys.executable, "-m", "tito", "nbgrader", "autograde", "01", "--all", *extra],
                          cwd=root, env=env, capture_output=True, text=True)


def test_without_bubblewrap_autograde_refuses_and_no_sandbox_grades_with_a_warning(tmp_path):
    course, module = tensor_course(tmp_path / "course")
    folder = course.root / "grading" / "submitted" / "ada" / module.slug
    folder.mkdir(parents=True)
    (folder / f"{module.slug}.ipynb").write_text(json.dumps(variants(course, module)["perfect"]))
    no_bwrap = str(BIN)  # the venv's scripts (nbgrader needs alembic) and nothing else: no bwrap on PATH

    refused = autograde(course.root, path=no_bwrap)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "bubblewrap" in refused.stderr and "--no-sandbox" in refused.stderr
    assert "ada" not in plain_scores(course.root / "gradebook.db")

    for _ in range(2):  # the warning comes on every run, not once
        bare = autograde(course.root, "--no-sandbox", "--force", path=no_bwrap)
        assert bare.returncode == 0, bare.stdout + bare.stderr
        assert "warning: --no-sandbox" in bare.stderr
    assert sum(plain_scores(course.root / "gradebook.db")["ada"].values()) == 17
