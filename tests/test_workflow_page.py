"""Every command the module-workflow pages tell a student to type, typed verbatim in a freshly built student
edition (what students install), set up with its `./setup-environment.sh` and activated with `source activate.sh`,
each in the student state the page presupposes (e.g. `tito module complete 03` after 01 and 02).

Two pages: the "Module Workflow" page students were promised (its commands are listed below, as printed there)
and this book's `book/workflow.md`, whose commands are read from its ```bash blocks, whose sample outputs
(a `% output of: COMMAND` comment above a ```text block) must match what the command prints, whose notebook
excerpts (`% excerpt of: PATH`) must be in that notebook, and whose file paths must exist in the edition.
Commands that open JupyterLab run for real: the test waits until the server answers, then presses Ctrl-C.

One edition serves every test: its student state (`workspace/`, `.tito/`, `tinytorch/`) is put back from a
snapshot before each command (modules 01..k completed for real, k = 0..6), so the tests share one xdist worker.
"""
from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from tito.core.course import Course

from .helpers.course import REPO
from .helpers.edition import course_tito, student_env, student_shell
from .helpers.notebooks import fill_solutions, load, save, source_of

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("workflow-edition")]

PAGE = REPO / "book" / "workflow.md"
PAGE_ROOT = "/home/you/tinytorch"  # the edition's folder, as the page's sample outputs show it
SLUGS = [m.slug for m in Course.load(REPO).modules]
SNAPSHOTS = 6  # states with modules 01..k completed, k = 0..6 (milestone 01 needs 01-06)
# Lines of the page's bash blocks that set up the shell rather than run the course: the fixture runs them
# (./setup-environment.sh once, `source activate.sh` before every command).
SETUP = {"./setup-environment.sh", "source activate.sh"}

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
# Not run from the promised page: `cd TinyTorch` (an edition's folder has no fixed name).

# What each command must show (beyond exiting 0, without a traceback): the promise the page makes about it.
EXPECT = {
    "tito system health": ["Ready.", "virtual environment", "`tinytorch` from this repo"],
    "tito module start 01": ["Learning objectives", "workspace/01_tensor/01_tensor.ipynb", "Starting JupyterLab"],
    "tito module resume 01": ["Resuming 01 Tensor", "Still to write", "last edited", "Starting JupyterLab"],
    "tito module complete 01": ["01 Tensor completed", "tinytorch/core/tensor.py", "from tinytorch import Tensor"],
    "tito module status": ["Progress: 3/20 modules (15%)", "Next: complete module 04 to continue the Foundation tier"],
    "tito module start 03": ["Learning objectives", "workspace/03_layers/03_layers.ipynb"],
    "tito module resume 03": ["Resuming 03 Layers"],
    "tito module complete 03": ["03 Layers completed", "tinytorch/core/layers.py", "Next module: 04"],
    "tito module test 03": ["All tests pass"],
    'python -c "from tinytorch import Linear; print(Linear(10, 5))"': ["Linear(in_features=10, out_features=5"],
    "tito system info": ["course root", "workspace", "progress"],
    "tito system jupyter": ["Starting JupyterLab"],
    "tito module start 05": ["Module 05: Autograd", "Learning objectives"],
    "tito module complete 05": ["05 Autograd completed", "tinytorch/core/autograd.py"],
    "tito module reset 01": ["01_tensor reset", "backed up to .tito/backups/"],
    "tito milestone run 01": ["goal reached"],
}


# --- the page -------------------------------------------------------------------------------------


def page_text() -> str:
    return PAGE.read_text(encoding="utf-8")


def fenced(text: str) -> list[tuple[str, str, str]]:
    """(the `%` comment line just above, language, body) of every fenced block, list items' included."""
    found = []
    for m in re.finditer(r"(?:^[ ]*(%[^\n]*)\n)?^([ ]*)```(\w*)[^\n]*\n(.*?)^[ ]*```", text, re.M | re.S):
        body = "".join(line[len(m.group(2)):] if line.startswith(m.group(2)) else line
                       for line in m.group(4).splitlines(keepends=True))
        found.append((m.group(1) or "", m.group(3), body))
    return found


def bash_lines() -> list[str]:
    return [line.strip() for _, lang, body in fenced(page_text()) if lang == "bash"
            for line in body.splitlines() if line.strip() and not line.strip().startswith("#")]


def workflow_md_commands() -> list[str]:
    return list(dict.fromkeys(line for line in bash_lines() if line not in SETUP))


def samples() -> list[tuple[str, str, str]]:
    """(command, state named or "", sample output) for each `% output of[ (STATE)]: COMMAND` + ```text block."""
    found = []
    for comment, lang, body in fenced(page_text()):
        marker = re.match(r"% output of(?: \((.+?)\))?: (.+)$", comment)
        if marker:
            assert lang == "text", f"{comment}: a sample output is a ```text block"
            found.append((marker.group(2).strip(), marker.group(1) or "", body))
    return found


def excerpts() -> list[tuple[str, str]]:
    return [(comment.split(":", 1)[1].strip(), body) for comment, _, body in fenced(page_text())
            if comment.startswith("% excerpt of:")]


def python_blocks() -> list[str]:
    return [body for comment, lang, body in fenced(page_text()) if lang == "python" and not comment]


# --- comparing outputs ----------------------------------------------------------------------------

BOX = "│┃┏┓┗┛┡┩┣┫┳┻╇╋┠┨┯┷└┘┌┐├┤┬┴┼╭╮╰╯"


def canon(text: str) -> str:
    """Output reduced to what does not depend on the day, the machine's speed and versions, or the terminal:
    dates, durations and version numbers become tokens, rules of any length one dash, whitespace (and the
    padding inside table borders) one space."""
    text = re.sub(r"\d{4}-\d\d-\d\d(T[\d:+]+)?", "DATE", text)
    text = re.sub(r"\b\d{8}T\d{6}_\d+\b", "STAMP", text)
    text = re.sub(r"\b\d+\.\d+ s\b", "N s", text)
    text = re.sub(r"\b\d+:\d\d:\d\d\b", "H:MM:SS", text)
    text = re.sub(r"\b\d+\.\d+\.\d+[\w.+-]*", "VERSION", text)
    text = re.sub(r"[━─═]+", "─", text)
    text = re.sub(r"\s+", " ", text)
    text = re.sub(rf" ?([{BOX}]) ?", r"\1", text)
    return text.strip()


def sample_matches(sample: str, output: str) -> bool:
    """The sample is the output, except that a line `...` in the sample stands for any number of lines."""
    parts = re.split(r"^\.\.\.$", sample, flags=re.M)
    pattern = ".*?".join(re.escape(canon(p)) for p in parts)
    return re.fullmatch(pattern, canon(output), re.S) is not None


def page_paths() -> set[str]:
    """File paths the page names (in inline code and text blocks) below the edition's folders."""
    text = page_text()
    words = re.findall(r"`([^`\n]+)`", text) + [w for _, lang, body in fenced(text) if lang == "text"
                                                for w in body.split()]
    found = set()
    for word in words:
        for token in word.split():
            token = token.lstrip("('\"").rstrip(".,;:)'\"")
            if re.match(r"(release|workspace|tinytorch|tests|milestones|datasets|\.tito)/\S*$", token) \
                    or token in ("README.md", "COURSE_VERSION", "setup-environment.sh", "activate.sh"):
                found.add(token)
    return found


# --- the student's edition ------------------------------------------------------------------------


@dataclass(frozen=True)
class State:
    completed: int  # modules 01..completed are completed, for real
    started: int | None = None  # and this module is started (`tito module start NN --no-launch`)
    solved: bool = False  # with every solution cell filled in


# States a sample output may name instead of the one the page presupposes for its command.
NAMED_STATES = {"nothing completed": State(0)}


def state_for(command: str) -> State:
    """The student state the page presupposes when it shows `command`."""
    words = shlex.split(command, comments=True)
    number = next((int(w) for w in words[3:4] if w.isdigit()), None)
    if words[:3] == ["tito", "module", "start"]:
        return State(number - 1)
    if words[:3] == ["tito", "module", "resume"]:
        return State(number - 1, number)
    if words[:3] in (["tito", "module", "complete"], ["tito", "module", "test"]):
        return State(number - 1, number, solved=True)
    if words[:3] == ["tito", "module", "reset"]:
        return State(number)  # completed: the reset has an export to undo
    if words[:3] == ["tito", "module", "status"]:
        return State(3)
    if words[:2] == ["tito", "milestone"]:
        return State(SNAPSHOTS)
    if words[0] == "python":
        return State(3 if "Linear" in command else 5 if "grad" in command else 1)
    return State(0)


class Edition:
    """The student's edition at a fixed path (its .venv's editable install points there), with snapshots."""

    def __init__(self, root: Path, scratch: Path):
        self.root, self.scratch = root, scratch
        self.runs: dict[tuple[str, State], tuple[int, str]] = {}

    def env(self) -> dict:
        runtime = self.scratch / "runtime"
        return {"JUPYTER_RUNTIME_DIR": str(runtime), "JUPYTERLAB_WORKSPACES_DIR": str(runtime / "workspaces"),
                "BROWSER": "true", "COLUMNS": "200"}  # JupyterLab "opens" a browser that does nothing

    def shell(self, script: str, input: str | None = None) -> subprocess.CompletedProcess:
        return student_shell(self.root, f"source activate.sh >/dev/null && {script}", timeout=900, input=input,
                             **self.env())

    def must(self, script: str) -> str:
        done = self.shell(script)
        assert done.returncode == 0, f"{script}:\n{done.stdout}\n{done.stderr}"
        return done.stdout

    def solve(self, number: int) -> None:
        slug = SLUGS[number - 1]
        path = self.root / "workspace" / slug / f"{slug}.ipynb"
        save(fill_solutions(load(path), load(REPO / "modules" / slug / f"{slug}.ipynb")), path)

    def snapshot(self, k: int) -> None:
        target = self.scratch / f"state-{k}"
        for part in ("workspace", ".tito", "tinytorch"):
            if (self.root / part).exists():
                shutil.copytree(self.root / part, target / part, symlinks=True)

    def restore(self, state: State) -> None:
        source = self.scratch / f"state-{state.completed}"
        for part in ("workspace", ".tito", "tinytorch"):
            shutil.rmtree(self.root / part, ignore_errors=True)
            if (source / part).exists():
                shutil.copytree(source / part, self.root / part, symlinks=True)
        if state.started:
            self.must(f"tito module start {state.started:02d} --no-launch")
            if state.solved:
                self.solve(state.started)

    def run(self, command: str, state: State | None = None) -> tuple[int, str]:
        """`command` typed in the activated shell, in `state` (by default the one the page presupposes)."""
        state = state or state_for(command)
        key = (re.sub(r"\s+#.*$", "", command), state)
        if key not in self.runs:
            self.restore(state)
            words = shlex.split(command, comments=True)
            launches = re.match(r"tito (module (start|resume)|system jupyter)\b", command) and "--no-launch" not in words
            self.runs[key] = self._launch(command) if launches else self._run(command)
        return self.runs[key]

    def _run(self, command: str) -> tuple[int, str]:
        words = shlex.split(command, comments=True)
        confirms = words[:3] == ["tito", "module", "reset"] and "--yes" not in words
        done = self.shell(command, input="y\n" if confirms else None)  # the student answers the reset's question
        return done.returncode, done.stdout + done.stderr

    def _launch(self, command: str) -> tuple[int, str]:
        """Run a command that opens JupyterLab; once the server answers, press Ctrl-C (twice, as tito says)."""
        runtime = Path(self.env()["JUPYTER_RUNTIME_DIR"])
        shutil.rmtree(runtime, ignore_errors=True)
        log = self.scratch / "launch.log"
        with open(log, "wb") as out:
            proc = subprocess.Popen(["bash", "-c", f"source activate.sh >/dev/null && {command}"], cwd=self.root,
                                    env=student_env(**self.env()), stdout=out, stderr=subprocess.STDOUT,
                                    start_new_session=True)
            try:
                deadline = time.monotonic() + 120
                while time.monotonic() < deadline and proc.poll() is None and not _server_up(runtime):
                    time.sleep(0.5)
                assert proc.poll() is None, f"`{command}` ended before JupyterLab answered:\n{log.read_text()}"
                assert _server_up(runtime), f"`{command}`: JupyterLab did not answer within 120 s"
                os.killpg(proc.pid, signal.SIGINT)
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGINT)
                    proc.wait(timeout=30)
            finally:
                if proc.poll() is None:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
        return 0, log.read_text(encoding="utf-8", errors="replace")


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


@pytest.fixture(scope="module")
def edition(tmp_path_factory) -> Edition:
    """A freshly built edition in a folder of the student's naming, set up as its README says, and snapshots of
    it with modules 01..k completed by the student (the reference solutions typed into their notebooks)."""
    scratch = tmp_path_factory.mktemp("workflow")
    root = scratch / "my-course"
    built = course_tito(REPO, "dist", "student", str(root))
    assert built.returncode == 0, built.stdout + built.stderr
    setup = student_shell(root, "./setup-environment.sh")
    assert setup.returncode == 0, setup.stdout[-3000:] + setup.stderr[-3000:]
    ed = Edition(root, scratch)
    ed.snapshot(0)
    for k in range(1, SNAPSHOTS + 1):
        ed.must(f"tito module start {k:02d} --no-launch")
        ed.solve(k)
        ed.must(f"tito module complete {k:02d}")
        ed.snapshot(k)
    return ed


def check(command: str, code: int, output: str) -> None:
    assert code == 0, f"`{command}` exited {code}:\n{output}"
    assert "Traceback" not in output, f"`{command}` printed a traceback:\n{output}"
    for expected in EXPECT.get(re.sub(r"\s+#.*$", "", command), []):
        assert expected in output, f"`{command}`: {expected!r} not in its output:\n{output}"


def completed(edition: Edition) -> set[str]:
    data = json.loads((edition.root / ".tito" / "progress.json").read_text(encoding="utf-8"))
    return {slug for slug, entry in data["modules"].items() if entry.get("status") == "completed"}


# --- the promised page ----------------------------------------------------------------------------


@pytest.mark.parametrize("command", PROMISED)
def test_promised_page_command(command, edition):
    code, output = edition.run(command)
    check(command, code, output)
    words = shlex.split(command, comments=True)
    if words[:3] == ["tito", "module", "complete"]:
        assert SLUGS[int(words[3]) - 1] in completed(edition)
    if command == "tito module reset 01":
        assert "01_tensor" not in completed(edition)
        assert not (edition.root / "tinytorch" / "core" / "tensor.py").exists(), "the reset undoes the export"


def test_promised_autograd_example(edition):
    edition.restore(State(5))
    done = edition.shell(f"python - <<'EOF'\n{PROMISED_AUTOGRAD}EOF")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Tensor([[2., 2.]]"), done.stdout
    origin = (edition.root / "tinytorch" / "core" / "autograd.py").read_text().split("\n", 3)
    assert any("tito-origin: workspace/05_autograd" in line for line in origin), "the example ran on other code"


# --- book/workflow.md -----------------------------------------------------------------------------


def test_workflow_md_keeps_the_promises_and_describes_the_edition():
    commands = [re.sub(r"\s+#.*$", "", c) for c in workflow_md_commands()]
    assert 'python -c "from tinytorch import Linear; print(Linear(10, 5))"' in commands
    assert any("from tinytorch.autograd import backward" in b and "y.backward()" in b for b in python_blocks())
    for promised in ("tito system health", "tito module start 01", "tito module resume 01", "tito module complete 01",
                     "tito module status", "tito module reset 01", "tito system info", "tito system jupyter"):
        assert promised in commands, promised
    assert any(c.startswith("tito milestone run") for c in commands), "the loop ends with a milestone"
    text = page_text()
    for promise in ("tiers/foundation.md", "milestones.md", "troubleshooting.md", "Progress: 3/20 modules (15%)",
                    "resume, or start over (your work is backed up)?", "tito module refresh", ".tito/backups/",
                    "DO NOT EDIT", "--locked-cells", "--restore"):
        assert promise in text, promise
    # what a student of the edition never sees
    for absent in ("cd TinyTorch", "src/", "modules/XX", "modules/NN", "tinytorch/nn/", "Converting src"):
        assert absent not in text.replace("tests/modules/", "tests/"), absent
    assert set(bash_lines()) - set(workflow_md_commands()) <= SETUP
    assert len(samples()) >= 6 and excerpts(), "the page shows real outputs and a real notebook cell"


@pytest.mark.parametrize("command", workflow_md_commands())
def test_workflow_md_command(command, edition):
    code, output = edition.run(command)
    check(command, code, output)
    if "grad" in command and command.startswith("python"):
        assert output.startswith("Tensor([[2., 2.]]"), output


@pytest.mark.parametrize("block", python_blocks(), ids=lambda b: b.splitlines()[0][:40])
def test_workflow_md_python_block(block, edition):
    edition.restore(state_for("python " + block))
    done = edition.shell(f"python - <<'EOF'\n{block}EOF")
    assert done.returncode == 0, done.stdout + done.stderr
    if "print(x.grad)" in block:
        assert done.stdout.startswith("Tensor([[2., 2.]]"), done.stdout


@pytest.mark.parametrize("command, named, sample", samples(), ids=[f"{c} {n}".strip() for c, n, _ in samples()])
def test_workflow_md_sample_output(command, named, sample, edition):
    assert command in workflow_md_commands(), f"the sample of `{command}` shows no command of the page"
    assert not named or named in NAMED_STATES, f"`% output of ({named})`: name one of {sorted(NAMED_STATES)}"
    code, output = edition.run(command, NAMED_STATES.get(named))
    shown = output.replace(str(edition.root), PAGE_ROOT)
    assert sample_matches(sample, shown), (
        f"the page's sample output of `{command}` is not what it prints now; replace it by:\n{shown}")


@pytest.mark.parametrize("path, excerpt", excerpts())
def test_workflow_md_excerpt_is_in_the_notebook(path, excerpt):
    notebook = json.loads((REPO / path).read_text(encoding="utf-8"))
    cells = [source_of(c) for c in notebook["cells"]]
    assert any(excerpt.strip("\n") in cell for cell in cells), f"{path} has no cell containing:\n{excerpt}"


def test_workflow_md_paths_exist_in_the_edition(edition):
    named = page_paths()
    assert {"workspace/03_layers/03_layers.ipynb", "tinytorch/core/layers.py", ".tito/progress.json"} <= named
    edition.restore(State(SNAPSHOTS))
    # NN_name stands for any module: module 01's files must be there (01 is completed in this state)
    missing = [p for p in sorted(named) if not p.startswith(".tito/backups/")
               and not (edition.root / p.replace("NN_name", SLUGS[0])).exists()]
    assert missing == [], f"the page names files the edition does not have: {missing}"
    if ".tito/backups/" in named:
        assert ".tito/backups/" in edition.run("tito module reset 01")[1]


def test_sample_comparison_can_fail():
    table = "┃ a ┃ b ┃\n│ 1 │ 2024-01-02 │\nScore: 3/3 (1.2 s)\n"
    assert sample_matches("┃ a ┃ b ┃\n│ 1 │ 2026-12-05 │\n...\n", table)
    assert sample_matches("...\nScore: 3/3 (0.4 s)", table)
    assert not sample_matches("┃ a ┃ b ┃\n│ 2 │ 2024-01-02 │\n...\n", table)
    assert not sample_matches("Score: 3/3 (1.2 s)", table)
