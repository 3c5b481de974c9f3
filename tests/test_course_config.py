"""The course is configuration: `[tool.tito]` in its pyproject.toml names the package, title, tiers and
milestones folder, and a bad table is one clear error naming the file, the line and the fix."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tito.core import config as course_config
from tito.core.course import Course, find_root
from tito.core.errors import LintError, UsageError

HEADER = '''# ---
# jupyter:
#   {key}:
#     title: Adding numbers
#     tier: {tier}
# ---

# %%
#| default_exp adding

# %%
#| export
def add(a, b):
    return a + b
'''


def course(tmp_path: Path, table: str, key: str = "tinycalc", tier: str = "basics") -> Path:
    root = tmp_path / "course"
    (root / "src" / "01_adding").mkdir(parents=True)
    (root / "pyproject.toml").write_text(f"[project]\nname = 'tinycalc'\n\n{table}", encoding="utf-8")
    (root / "src" / "01_adding" / "01_adding.py").write_text(HEADER.format(key=key, tier=tier), encoding="utf-8")
    return root


def test_the_table_names_the_package_title_and_tiers(tmp_path):
    root = course(tmp_path, '[tool.tito]\npackage = "tinycalc"\ntitle = "TinyCalc"\ntiers = ["basics", "more"]\n')
    loaded = Course.load(root)
    assert loaded.config.title == "TinyCalc" and loaded.config.tiers == ("basics", "more")
    module = loaded.modules[0]
    assert (module.title, module.tier) == ("Adding numbers", "basics")
    assert module.import_path == "tinycalc.adding" and module.package_file == Path("tinycalc/adding.py")
    assert find_root(root / "src" / "01_adding") == root


def test_a_module_tier_must_be_one_of_the_courses(tmp_path):
    root = course(tmp_path, '[tool.tito]\npackage = "tinycalc"\ntiers = ["basics"]\n', tier="foundation")
    with pytest.raises(LintError) as raised:
        Course.load(root)
    [problem] = raised.value.problems
    assert problem.message == "unknown tier `foundation`" and problem.line == 5
    assert "basics" in problem.hint and "[tool.tito]" in problem.hint


def test_the_header_key_is_the_package_name(tmp_path):
    root = course(tmp_path, '[tool.tito]\npackage = "tinycalc"\n', key="tinytorch")
    module = Course.load(root).modules[0]
    assert module.title == "Adding" and module.tier == "core"  # the `tinytorch:` mapping is not this course's


@pytest.mark.parametrize("table, message", [
    ('[tool.tito]\ntitle = "X"\n', "`package = None`"),
    ('[tool.tito]\npackage = "Tiny-Calc"\n', "not a lowercase importable name"),
    ('[tool.tito]\npackage = "statistics"\n', "would shadow a Python keyword or standard-library module"),
    ('[tool.tito]\npackage = "tests"\n', "would shadow the course folder tests/"),
    ('[tool.tito]\npackage = "tinycalc"\ncolour = "red"\n', "unknown key(s) colour"),
    ('[tool.tito]\npackage = "tinycalc"\ntiers = []\n', "`tiers` must be a non-empty list"),
    ('[tool.tito]\npackage = "tinycalc"\nmilestones = "../elsewhere"\n', "leaves the course"),
    ('[tool.tito]\npackage = "tinycalc"\ntitle = "Tiny $(rm -rf ~)"\n', "cannot hold $"),
    ('[tool.tito]\npackage = "tinycalc\n', "not valid TOML"),
])
def test_a_bad_table_names_the_file_line_and_fix(tmp_path, table, message):
    root = course(tmp_path, table)
    with pytest.raises(UsageError) as raised:
        course_config.load(root)
    text = str(raised.value)
    assert message in text and str(root / "pyproject.toml") in text
    if "TOML" not in message:
        assert "pyproject.toml:4:" in text  # the `[tool.tito]` line


def test_the_cli_reports_a_bad_table_with_exit_2(tmp_path):
    root = course(tmp_path, '[tool.tito]\npackage = "tinycalc"\ntiers = "basics"\n')
    env = {k: v for k, v in os.environ.items() if k not in ("TITO_ROOT", "TINYTORCH_ROOT")}
    done = subprocess.run([sys.executable, "-m", "tito", "module", "list"], cwd=root, env=dict(env, NO_COLOR="1"),
                          capture_output=True, text=True)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "pyproject.toml:4" in done.stderr and "`tiers` must be" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_legacy_table_is_read_as_tinytorch(tmp_path):
    root = course(tmp_path, '[tool.tinytorch]\ncourse = "tinytorch"\n', key="tinytorch", tier="foundation")
    loaded = Course.load(root)
    assert loaded.config == course_config.LEGACY
    assert loaded.modules[0].import_path == "tinytorch.adding"
