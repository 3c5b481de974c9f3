"""`tito system health/info/jupyter` and launching JupyterLab headless from `tito module start`."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from click.testing import CliRunner

from tito.cli import main
from tito.student import health

from .helpers.course import REPO
from .helpers.student import answers, free_port


def test_health_passes_in_this_repo_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("TINYTORCH_ROOT", str(REPO))
    monkeypatch.setenv("TINYTORCH_WORKSPACE", str(tmp_path / "ws"))
    results = {c.name: c for c in health.checks(REPO)}
    assert results["Python"].ok and results["package numpy"].ok and results["package numpy"].detail[0].isdigit()
    assert results["`tito` from this repo"].ok
    assert results["Jupyter kernel python3"].ok
    assert results["workspace writable"].ok and (tmp_path / "ws").is_dir()


def test_health_reports_failures_with_a_fix_and_exit_1(adder_course, monkeypatch, tmp_path):
    """A course copy elsewhere: `tito` is imported from the repo, not from it, so that check must fail."""
    locked = tmp_path / "locked"
    locked.mkdir()
    monkeypatch.setenv("TINYTORCH_ROOT", str(adder_course))
    monkeypatch.setenv("TINYTORCH_WORKSPACE", str(locked / "ws"))
    monkeypatch.setenv("COLUMNS", "250")
    monkeypatch.setenv("NO_COLOR", "1")
    if os.geteuid() != 0:
        locked.chmod(0o500)
    try:
        out = CliRunner().invoke(main, ["system", "health"])
        alias = CliRunner().invoke(main, ["system", "doctor"])
    finally:
        locked.chmod(0o700)
    assert out.exit_code == 1 and alias.exit_code == 1
    assert "`tito` from this repo" in out.output and "FAIL" in out.output and "pip install -e ." in out.output
    if os.geteuid() != 0:
        assert "workspace writable" in out.output and "TINYTORCH_WORKSPACE" in out.output


def test_info_lists_versions_and_paths(adder_course, monkeypatch):
    monkeypatch.setenv("TINYTORCH_ROOT", str(adder_course))
    monkeypatch.setenv("COLUMNS", "250")
    monkeypatch.delenv("TINYTORCH_WORKSPACE", raising=False)
    out = CliRunner().invoke(main, ["system", "info"])
    assert out.exit_code == 0
    assert str(adder_course / "workspace") in out.output and "nbclient" in out.output


def test_every_student_command_has_help():
    for args in (["module"], ["system"], *[["module", c] for c in ("start", "resume", "test", "complete", "status",
                                                                    "list", "reset")],
                 *[["system", c] for c in ("health", "doctor", "info", "jupyter")]):
        out = CliRunner().invoke(main, [*args, "--help"])
        assert out.exit_code == 0 and "Usage" in out.output, args


def test_start_launches_jupyterlab_headless_and_stops_it(adder_course, tmp_path):
    subprocess.run([sys.executable, "-m", "tito", "source", "export", "--all"], cwd=adder_course, check=True,
                   capture_output=True)
    release = adder_course / "release" / "01_adder" / "01_adder.ipynb"
    release.parent.mkdir(parents=True)
    release.write_bytes((adder_course / "modules" / "01_adder" / "01_adder.ipynb").read_bytes())
    port = free_port()
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"), TINYTORCH_ROOT=str(adder_course))
    env.pop("TINYTORCH_WORKSPACE", None)
    start = [sys.executable, "-m", "tito", "module", "start", "01", "--no-browser", "--port", str(port)]
    proc = subprocess.Popen(start,
                            cwd=adder_course, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        deadline = time.time() + 60
        status = None
        while time.time() < deadline and status is None and proc.poll() is None:
            time.sleep(0.3)
            status = answers(port)
        assert status in (200, 403), proc.stdout.read().decode() if proc.poll() is not None else status
        assert (adder_course / "workspace" / "01_adder" / "01_adder.ipynb").exists()
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert answers(port) is None
