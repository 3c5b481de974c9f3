"""JupyterLab as a student of the edition sees it, in headless Chromium: nbgrader's Validate button, and none of
the instructor tools (Create Assignment, formgrader, course list) nor the Jupyter news prompt, whether tito starts
it or the student runs `.venv/bin/jupyter lab` without `source activate.sh`.

The same check on a JupyterLab without the edition's settings shows those tools, so the test can fail."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

from tito.instructor.edition_files import DISABLED_LAB_PLUGINS
from tito.student.jupyter import lab_command, lab_env

from .helpers.book import CHROME_FLAGS, chromium
from .helpers.course import REPO
from .helpers.edition import course_tito, edition_run, student_shell
from .helpers.student import answers, free_port

pytestmark = pytest.mark.browser
NOTEBOOK = "01_tensor/01_tensor.ipynb"


LOCAL = ["--no-browser", "--IdentityProvider.token=", "--ServerApp.password=", "--ServerApp.ip=127.0.0.1"]


@contextmanager
def lab(edition: Path, env: dict, runtime: Path, command: list[str] | None = None):
    """JupyterLab on the edition's workspace (tito's command, or `command`), answering on a free port."""
    port = free_port()
    workspace = edition / "workspace"
    command = (lab_command(workspace, workspace / NOTEBOOK, no_browser=True, port=port) if command is None else
               [*command, f"--ServerApp.port={port}", "--ServerApp.port_retries=0"]) + LOCAL
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


def served(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=30) as reply:
            return reply.status, reply.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, ""


def server_view(url: str) -> tuple[list[str], dict[str, bool]]:
    """The lab page's disabled plugins (its page config), and which of nbgrader's server routes exist (not 404)."""
    base = url.split("/lab/", 1)[0]
    status, page = served(url)
    assert status == 200, status
    config = json.loads(re.search(r'<script id="jupyter-config-data" type="application/json">(.*?)</script>',
                                  page, re.S).group(1))
    routes = {route: served(base + route)[0] != 404 for route in ("/formgrader", "/formgraders", "/assignments",
                                                           "/nbgrader_version")}
    return config["disabledExtensions"], routes


@pytest.mark.slow
def test_venv_jupyter_lab_without_activate_hides_the_instructor_tools(tmp_path):
    """The student runs `.venv/bin/jupyter lab` in the edition they set up, never having sourced activate.sh."""
    browser = chromium()
    edition = tmp_path / "my-course"
    built = course_tito(REPO, "dist", "student", str(edition))
    assert built.returncode == 0, built.stdout + built.stderr
    setup = student_shell(edition, "./setup-environment.sh")
    assert setup.returncode == 0, setup.stdout[-3000:] + setup.stderr[-3000:]
    started = student_shell(edition, ".venv/bin/tito module start 01 --no-launch")
    assert started.returncode == 0, started.stdout + started.stderr
    plain = {k: v for k, v in os.environ.items() if k not in ("JUPYTER_CONFIG_PATH", "VIRTUAL_ENV", "PYTHONPATH")}
    jupyter_lab = [str(edition / ".venv" / "bin" / "jupyter"), "lab", *(["--allow-root"] if os.geteuid() == 0 else [])]

    with lab(edition, plain, tmp_path / "runtime-venv", jupyter_lab) as url:
        disabled, routes = server_view(url)
        student_view = render(browser, url, tmp_path / "profile-venv")
    assert set(DISABLED_LAB_PLUGINS) <= set(disabled), disabled
    # formgrader, course list and assignment list are off; validate_assignment (the Validate button) is on
    assert routes == {"/formgrader": False, "/formgraders": False, "/assignments": False, "/nbgrader_version": True}
    assert "Validate" in student_view and "01_tensor.ipynb" in student_view
    for hidden in ("Nbgrader", "Create Assignment", "Formgrader", "Course List", "official Jupyter news"):
        assert hidden not in student_view, hidden

    # the control: the same environment without the settings setup-environment.sh installed shows the tools
    installed = sorted((edition / ".venv" / "etc" / "jupyter").rglob("tito.json"))
    assert [p.parent.name for p in installed] == ["jupyter_server_config.d", "page_config.d"], installed
    for settings in installed:
        settings.unlink()
    with lab(edition, plain, tmp_path / "runtime-control", jupyter_lab) as url:
        disabled, routes = server_view(url)
    assert not set(DISABLED_LAB_PLUGINS) & set(disabled) and routes["/formgrader"], (disabled, routes)
