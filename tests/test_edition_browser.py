"""JupyterLab as a student of the edition sees it, in headless Chromium: nbgrader's Validate button, and none of
the instructor tools (Create Assignment, formgrader, course list) nor the Jupyter news prompt.

The same check on a JupyterLab without the edition's settings shows those tools, so the test can fail."""
from __future__ import annotations

import os
import signal
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from tito.student.jupyter import lab_command, lab_env

from .helpers.book import CHROME_FLAGS, chromium
from .helpers.course import REPO
from .helpers.edition import course_tito, edition_run
from .helpers.student import answers, free_port

pytestmark = pytest.mark.browser
NOTEBOOK = "01_tensor/01_tensor.ipynb"


@contextmanager
def lab(edition: Path, env: dict, runtime: Path):
    port = free_port()
    workspace = edition / "workspace"
    command = lab_command(workspace, workspace / NOTEBOOK, no_browser=True, port=port) + [
        "--IdentityProvider.token=", "--ServerApp.password=", "--ServerApp.ip=127.0.0.1"]
    env = dict(env, JUPYTER_RUNTIME_DIR=str(runtime), JUPYTERLAB_WORKSPACES_DIR=str(runtime / "lab-workspaces"))
    log = open(runtime.parent / f"lab-{port}.log", "wb")
    proc = subprocess.Popen(command, cwd=workspace, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.time() + 90
        while time.time() < deadline and answers(port) is None and proc.poll() is None:
            time.sleep(0.5)
        assert answers(port) == 200, (runtime.parent / f"lab-{port}.log").read_text()[-3000:]
        yield f"http://127.0.0.1:{port}/lab/tree/{NOTEBOOK}"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


def render(browser: str, url: str, profile: Path, screenshot: Path | None = None) -> str:
    """The DOM after JupyterLab has started (virtual time lets its scripts finish), or a screenshot."""
    args = [browser, *CHROME_FLAGS, f"--user-data-dir={profile}", "--virtual-time-budget=30000",
            "--window-size=1400,900"]
    args += [f"--screenshot={screenshot}"] if screenshot else ["--dump-dom"]
    return subprocess.run(args + [url], capture_output=True, text=True, timeout=180).stdout


def test_jupyterlab_in_the_edition_shows_validate_and_no_instructor_tools(tmp_path):
    browser = chromium()
    edition = tmp_path / "edition"
    built = course_tito(REPO, "dist", "student", str(edition))
    assert built.returncode == 0, built.stdout + built.stderr
    started = edition_run(edition, "-m", "tito", "module", "start", "01", "--no-launch")
    assert started.returncode == 0, started.stdout + started.stderr

    plain = {k: v for k, v in os.environ.items() if k != "JUPYTER_CONFIG_PATH"}
    with lab(edition, plain, tmp_path / "runtime-plain") as url:
        instructor_view = render(browser, url, tmp_path / "profile-plain")
    assert "Validate" in instructor_view
    assert "Nbgrader" in instructor_view or "Create Assignment" in instructor_view, \
        "without the edition's settings JupyterLab shows nbgrader's instructor tools (the control)"

    with lab(edition, lab_env(edition), tmp_path / "runtime-student") as url:
        student_view = render(browser, url, tmp_path / "profile-student")
        shot = tmp_path / "jupyterlab-student.png"
        render(browser, url, tmp_path / "profile-shot", screenshot=shot)
    assert "Validate" in student_view and "01_tensor.ipynb" in student_view
    for hidden in ("Nbgrader", "Create Assignment", "Formgrader", "Course List", "official Jupyter news"):
        assert hidden not in student_view, hidden
    assert shot.stat().st_size > 20_000
    print(f"screenshot: {shot}")
