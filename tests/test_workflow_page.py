"""Every command the module-workflow pages tell a student to type, typed verbatim, each in a fresh copy of
the course with the student state the page presupposes (e.g. `tito module complete 03` after 01 and 02).

Two pages: the "Module Workflow" page students were promised (its commands are listed below, as printed
there) and this book's `book/workflow.md` (its commands are read from its ```bash blocks). Commands that
open JupyterLab run for real: the test waits until the server answers, then stops it with Ctrl-C.
"""
from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tito.course import Course
from tito.student import progress as store
from tito.student.workspace import prepare

from .conftest import REPO
from .notebooks import fill_solutions, load, save

pytestmark = pytest.mark.slow

# The commands of the promised page, verbatim (bash blocks and inline commands), in page order.
PROMISED = [
    "tito system health",
    "tito module start 01",
    "tito module resume 01",
    "tito module complete 01",
    "tito module status",
    "tito module start 03",
    "tito module resume 03",
    "tito module complete 03",
    'python -c "from tinytorch import Linear; print(Linear(10, 5))"',
    "tito system info",
    "tito system jupyter",
    "tito module start 05  # Start Module 05 (Autograd)",
    "tito module complete 05  # Export Module 05 (Autograd)",
    "tito module reset 01",
    'python -c "from tinytorch import Tensor"',
]
# Its Python block, after `tito module complete 05` ("YOUR code is now importable!").
PROMISED_AUTOGRAD = """\
# YOUR code is now importable!
from tinytorch.autograd import backward
from tinytorch import Tensor

# Use YOUR implementations
x = Tensor([[1.0, 2.0]], requires_grad=True)
y = x * 2
y.backward()
print(x.grad)  # Uses YOUR autograd!
"""
# Not run: they set up the shell, not the course (`cd TinyTorch`, `source activate.sh`,
# `./setup-environment.sh`); this test runs inside the activated environment by construction.

COURSE_PARTS = ("src", "modules", "release", "tinytorch", "tito", "milestones", "datasets", "pyproject.toml",
                "nbgrader_config.py", "README.md")
LAUNCHES = re.compile(r"^tito (module (start|resume) \d\d|system jupyter)\b")


def workflow_md_commands() -> list[str]:
    text = (REPO / "book" / "workflow.md").read_text(encoding="utf-8")
    blocks = re.findall(r"^```bash\n(.*?)^```", text, re.M | re.S)
    return [line.strip() for block in blocks for line in block.splitlines()
            if line.strip().startswith(("tito ", "python "))]


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    """The course as a student receives it: sources, releases, the reference package; no student state."""
    root = tmp_path_factory.mktemp("pristine")
    for name in COURSE_PARTS:
        item = REPO / name
        if item.is_dir():
            shutil.copytree(item, root / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc",
                                                                            ".ipynb_checkpoints", "reference.json"))
        elif item.is_file():
            shutil.copy2(item, root / name)
    (root / "tests" / "modules").mkdir(parents=True)
    for test in (REPO / "tests" / "modules").glob("test_*.py"):
        shutil.copy2(test, root / "tests" / "modules" / test.name)
    return root


def env_for(root: Path, runtime: Path) -> dict:
    env = dict(os.environ, PYTHONPATH=str(root), NO_COLOR="1", COLUMNS="200", JUPYTER_RUNTIME_DIR=str(runtime),
               BROWSER="true")  # JupyterLab "opens" a browser that does nothing
    for name in ("TINYTORCH_ROOT", "TINYTORCH_WORKSPACE", "PYTEST_CURRENT_TEST"):
        env.pop(name, None)
    return env


def tito_here(root: Path, *args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tito", *args], cwd=root, env=env, capture_output=True, text=True,
                          timeout=600)


def student_state(pristine: Path, tmp: Path, command: str) -> tuple[Path, dict]:
    """A fresh copy of the course in the state the page presupposes for `command`."""
    root = tmp / "TinyTorch"
    shutil.copytree(pristine, root, symlinks=True)
    env = env_for(root, tmp / "runtime")
    course = Course.load(root)
    words = shlex.split(command, comments=True)

    def completed(*slugs: str) -> None:  # completed earlier: progress says so, the package has that code
        for slug in slugs:
            store.record_completed(root, slug, 1.0, 1.0, "passed", course)

    def started(ident: str, solved: bool) -> None:
        module = course.resolve(ident)
        completed(*module.prerequisites)
        path, _ = prepare(course, module)
        store.record_started(root, module.slug, course)
        if solved:
            save(fill_solutions(load(path), load(root / module.notebook_file)), path)

    def complete_now(ident: str) -> None:
        started(ident, solved=True)
        done = tito_here(root, "module", "complete", ident, env=env)
        assert done.returncode == 0, done.stdout + done.stderr

    if words[:3] == ["tito", "module", "start"]:
        completed(*course.resolve(words[3]).prerequisites)
    elif words[:3] == ["tito", "module", "resume"]:
        started(words[3], solved=False)
    elif words[:3] in (["tito", "module", "complete"], ["tito", "module", "reset"]):
        started(words[3], solved=True)
    elif words[:3] == ["tito", "module", "status"]:
        completed("01_tensor", "02_activations", "03_layers")
    elif "Linear" in command:
        completed("01_tensor", "02_activations")
        complete_now("03")
    elif "autograd" in command:
        completed("01_tensor", "02_activations", "03_layers", "04_losses")
        complete_now("05")
    elif "import Tensor" in command:
        complete_now("01")
    return root, env


def _server_up(runtime: Path) -> bool:
    for info in runtime.glob("jpserver-*.json"):
        try:
            url = json.loads(info.read_text())["url"]
            urllib.request.urlopen(f"{url.rstrip('/')}/api/status", timeout=2)
        except urllib.error.HTTPError:
            return True  # 403 without the token: the server answers
        except (OSError, ValueError, KeyError):
            continue
        return True
    return False


def run_launching(words: list[str], root: Path, env: dict) -> tuple[int, str]:
    """Run a command that opens JupyterLab; once the server answers, press Ctrl-C (twice, as tito says)."""
    runtime = Path(env["JUPYTER_RUNTIME_DIR"])
    proc = subprocess.Popen(words, cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None and not _server_up(runtime):
            time.sleep(0.5)
        assert proc.poll() is None, f"{words} ended before JupyterLab answered:\n{proc.stdout.read().decode()}"
        assert _server_up(runtime), f"{words}: JupyterLab did not answer within 120 s"
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGINT)
            proc.wait(timeout=30)
        return 0, proc.stdout.read().decode("utf-8", "replace")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def run_verbatim(command: str, root: Path, env: dict) -> tuple[int, str]:
    words = shlex.split(command, comments=True)
    if words[0] == "tito":  # the `tito` on PATH is this course's (PYTHONPATH puts the copy first)
        words = [sys.executable, "-m", "tito", *words[1:]]
        if LAUNCHES.match(command):
            return run_launching(words, root, env)
    elif words[0] == "python":
        words = [sys.executable, *words[1:]]
    stdin = "y\n" if words[-2:-1] == ["reset"] or command.startswith("tito module reset") else None
    done = subprocess.run(words, cwd=root, env=env, capture_output=True, text=True, input=stdin, timeout=600)
    return done.returncode, done.stdout + done.stderr


# What each command must show (beyond exiting 0): the promise the page makes about it.
EXPECT = {
    "tito system health": ["Ready."],
    "tito module start 01": ["Learning objectives", "workspace/01_tensor/01_tensor.ipynb", "Starting JupyterLab"],
    "tito module resume 01": ["Resuming 01 Tensor", "Still to write", "last edited", "Starting JupyterLab"],
    "tito module complete 01": ["01 Tensor completed", "tinytorch/core/tensor.py", "from tinytorch import Tensor"],
    "tito module status": ["Progress: 3/20 modules (15%)",
                           "Next: complete module 04 to continue the Foundation tier"],
    "tito module start 03": ["Learning objectives", "workspace/03_layers/03_layers.ipynb"],
    "tito module resume 03": ["Resuming 03 Layers"],
    "tito module complete 03": ["03 Layers completed", "tinytorch/core/layers.py", "Next module: 04"],
    'python -c "from tinytorch import Linear; print(Linear(10, 5))"': ["Linear(in_features=10, out_features=5"],
    "tito system info": ["course root", "workspace", "progress"],
    "tito system jupyter": ["Starting JupyterLab"],
    "tito module start 05": ["Module 05: Autograd", "Learning objectives"],
    "tito module complete 05": ["05 Autograd completed", "tinytorch/core/autograd.py"],
    "tito module reset 01": ["01_tensor reset", "backed up to .tito/backups/"],
    'python -c "from tinytorch import Tensor"': [],
    "tito module start 05  # Start Module 05 (Autograd)": ["Module 05: Autograd", "Learning objectives"],
    "tito module complete 05  # Export Module 05 (Autograd)": ["05 Autograd completed"],
}


def _check(command: str, code: int, output: str) -> None:
    assert code == 0, f"`{command}` exited {code}:\n{output}"
    assert "Traceback" not in output, f"`{command}` printed a traceback:\n{output}"
    key = command if command in EXPECT else re.sub(r"\s+#.*$", "", command)
    for expected in EXPECT.get(key, EXPECT.get(command, [])):
        assert expected in output, f"`{command}`: {expected!r} not in its output:\n{output}"


@pytest.mark.parametrize("command", PROMISED)
def test_promised_page_command(command, pristine, tmp_path):
    root, env = student_state(pristine, tmp_path, command)
    code, output = run_verbatim(command, root, env)
    _check(command, code, output)
    if command.startswith("tito module complete"):
        slug = Course.load(root).resolve(shlex.split(command, comments=True)[3]).slug
        assert store.load(root).status(slug) == "completed"
    if command == "tito module reset 01":
        assert store.load(root).status("01_tensor") == "in_progress"


def test_promised_autograd_example(pristine, tmp_path):
    root, env = student_state(pristine, tmp_path, "python autograd example")
    done = subprocess.run([sys.executable, "-c", PROMISED_AUTOGRAD], cwd=root, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Tensor([[2., 2.]]"), done.stdout
    origin = (root / "tinytorch" / "core" / "autograd.py").read_text().split("\n", 3)
    assert any("tito-origin: workspace/05_autograd" in line for line in origin), "the example ran on the reference"


def test_workflow_md_shows_the_promised_examples():
    commands = workflow_md_commands()
    assert 'python -c "from tinytorch import Linear; print(Linear(10, 5))"' in commands
    assert any("from tinytorch.autograd import backward" in c and "y.backward()" in c for c in commands)
    text = (REPO / "book" / "workflow.md").read_text(encoding="utf-8")
    for promise in ("tiers/foundation.md", "milestones.md", "troubleshooting.md", "Progress: 3/20 modules (15%)",
                    "resume, or start over (your work is backed up)?", "tito system jupyter", "tito system info"):
        assert promise in text, promise


@pytest.mark.parametrize("command", workflow_md_commands())
def test_workflow_md_command(command, pristine, tmp_path):
    root, env = student_state(pristine, tmp_path, command)
    code, output = run_verbatim(command, root, env)
    _check(command, code, output)
    if "autograd" in command:
        assert output.startswith("Tensor([[2., 2.]]"), output
