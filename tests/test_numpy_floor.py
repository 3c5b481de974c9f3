"""The lowest NumPy pyproject.toml allows (`numpy>=2`: 2.0.x) runs the whole course check.

A throwaway venv (in tmp_path) gets the floor's newest patch release from pip; this interpreter's packages
(Jupyter, nbgrader, ...) are visible behind it. `tito source check --all` then runs with that interpreter on a
copy of the course: tito comes from this checkout and tinytorch from the reference package (PYTHONPATH), the
kernels it starts run the venv's interpreter, and nothing is written into the checkout. The test fails (never
skips) when NumPy cannot be installed: a floor nobody can test is not a supported floor.

The mutants are left out (--no-mutants): the reference and stub runs of every module take about 80 s here, the
course's ~250 mutants many minutes more, and they test the course's tests rather than NumPy's behaviour.
"""
from __future__ import annotations

import json
import os
import re
import site
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from .helpers.course import REPO
from .helpers.edition import course_copy


def numpy_floor() -> str:
    """"2.0" for `numpy>=2` in pyproject.toml's dependencies (the lowest minor release it allows)."""
    found = re.search(r'"numpy>=([0-9][0-9.]*)"', (REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert found, "pyproject.toml declares no `numpy>=X` dependency"
    major, minor = (found.group(1).split(".") + ["0"])[:2]
    return f"{major}.{minor}"


def floor_venv(folder: Path, floor: str) -> Path:
    """A venv holding NumPy `floor`.x, with this interpreter's site-packages after its own; returns its python."""
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(folder)], check=True, timeout=300)
    python = folder / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    install = subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                              "--only-binary=:all:", f"numpy=={floor}.*"], capture_output=True, text=True, timeout=600)
    assert install.returncode == 0, f"pip could not install numpy=={floor}.* (this test needs it):\n{install.stderr}"
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    # Plain paths, appended after the venv's own site-packages (so its NumPy wins); their .pth files are not
    # read, so an editable install of tinytorch in this interpreter stays out of the way.
    (Path(purelib) / "zz_tinytorch_test_parent.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    return python


@pytest.mark.slow
def test_the_whole_course_check_passes_at_the_lowest_supported_numpy(tmp_path, reference_package):
    floor = numpy_floor()
    python = floor_venv(tmp_path / "venv", floor)
    course = course_copy(tmp_path / "course")
    env = {k: v for k, v in os.environ.items() if k not in ("TINYTORCH_ROOT", "TINYTORCH_WORKSPACE", "PYTHONPATH")}
    # Console scripts nbgrader runs (alembic): the venv's, then this interpreter's.
    path = os.pathsep.join([str(python.parent), sysconfig.get_path("scripts"), env.get("PATH", os.defpath)])
    # The kernels import earlier modules from the reference package (not from a copy of the checkout's
    # tinytorch/, which may hold a student's exports); tito comes from this checkout.
    env.update(TINYTORCH_ROOT=str(course), PYTHONPATH=os.pathsep.join([str(reference_package), str(REPO)]), PATH=path,
               NO_COLOR="1", COLUMNS="200")

    # What a kernel sees (it starts in a scratch folder, so the copy's tinytorch/ is not on its path).
    probe = subprocess.run([str(python), "-c", "import json, sys, numpy, tinytorch, tito; from tito.core.kernel import kernel_command; "
                            "print(json.dumps([numpy.__version__, numpy.__file__, tito.__file__, tinytorch.__file__, "
                            "sys.executable, kernel_command()[0]]))"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert probe.returncode == 0, probe.stderr
    version, numpy_file, tito_file, tinytorch_file, executable, kernel_python = json.loads(probe.stdout)
    print(f"numpy {version} ({numpy_file}), tito {tito_file}")
    assert version.startswith(floor + "."), f"numpy {version} was imported, not {floor}.x ({numpy_file})"
    assert Path(tito_file).is_relative_to(REPO / "tito")
    assert Path(tinytorch_file).is_relative_to(reference_package)
    assert kernel_python == executable, "the kernels tito starts must run the same interpreter (and NumPy)"

    # --timeout 120 (per cell, default 60) as in test_integrity's whole-course check: a loaded machine is no finding.
    check = subprocess.run([str(python), "-m", "tito", "source", "check", "--all", "--no-mutants", "--timeout", "120"],
                           cwd=course, env=env, capture_output=True, text=True, timeout=1200)
    assert check.returncode == 0, f"tito source check at numpy {version}:\n{check.stdout[-6000:]}\n{check.stderr[-3000:]}"
    assert "module(s) checked" in check.stdout
