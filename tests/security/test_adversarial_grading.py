"""Hostile submissions graded in one batch with honest ones, the way an instructor grades a class.

Each attack is a code cell added to a module-01 submission right after its first solution cell. It prints
`ATTACK succeeded: ...` if it gets what it wants and `ATTACK blocked: ...` otherwise. For every attack the
test asserts that it failed, that nothing outside the sandbox changed (hashes of the course tree and of the
assignment's definition in the gradebook), that the attacker's submission was recorded with a score or a
flag, and that every honest submission of the same batch got its correct score. bubblewrap must be installed.
"""
from __future__ import annotations

import hashlib
import json
import os
import socket
import sqlite3
import threading

import pytest

from tito.instructor import sandbox
from tito.instructor.classgrade.batch import grade_class
from tito.instructor.sandbox import Limits

from ..helpers.class_submissions import tensor_course, variants

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("adversarial")]
FULL, HONEST = 17.0, {"ada": "perfect", "bob": "wrong", "cy": "stubbed"}
CANARY = "tito-canary-5b9d2c"  # in the grading process's environment during the batch
HUGE_MARKDOWN = 24 << 20  # bytes of prose in one Markdown cell (the old sandbox reply cap was 16 MiB here)
SNOOP = """
import glob, os
seen = []
for path in sorted(glob.glob('/proc/*/environ') + glob.glob('/proc/*/cmdline')):
    try:
        seen.append(path + ' ' + open(path, 'rb').read().decode('utf-8', 'replace'))
    except OSError as e:
        seen.append(path + ' ' + type(e).__name__)
print('\\n'.join(seen))
print(dict(os.environ))
"""


def attacks(course_root, listener_port: int) -> dict[str, tuple[str, str]]:
    """student -> (base notebook kind, attack code). Stealing attacks start from the stub, so success would
    show as points; disruptive ones start from the perfect solution."""
    root = str(course_root)
    return {
        "write-root": ("perfect", f"""
import os
hits = []
for path in [{root!r} + '/pwned.txt', {root!r} + '/release/pwned.txt', '../../../pwned.txt', '/sandbox/../pwned.txt']:
    try:
        with open(path, 'w') as f:
            f.write('pwned')
        hits.append(os.path.abspath(path))
    except OSError as e:
        pass
print('ATTACK succeeded: wrote into the course' if any(h.startswith({root!r}) for h in hits)
      else f'ATTACK blocked: course root not writable (wrote only {{hits}})')
"""),
        "read-answers": ("stubbed", f"""
stolen = []
for path in [{root!r} + '/src/01_tensor/01_tensor.py', {root!r} + '/modules/01_tensor/01_tensor.ipynb']:
    try:
        stolen.append(open(path).read())
    except OSError:
        pass
try:
    import tinytorch.core.tensor as answers
    stolen.append(answers.__file__)
    Tensor = answers.Tensor
except ImportError:
    pass
print('ATTACK succeeded: read the answers' if stolen else 'ATTACK blocked: no source, notebook or package in reach')
"""),
        "gradebook": ("perfect", f"""
import os, sqlite3
found = [p for p in [{root!r} + '/gradebook.db', '/sandbox/gradebook.db', '/tmp/gradebook.db'] if os.path.exists(p)]
for top in ['/sandbox', '/tmp', '/opt', '/root', '/home']:
    for folder, _, names in os.walk(top):
        found += [os.path.join(folder, n) for n in names if n.endswith('.db')]
changed = False
for path in found:
    try:
        con = sqlite3.connect(path)
        con.execute("UPDATE grade_cells SET max_score = 0")
        con.execute("DELETE FROM submitted_assignment")
        con.commit()
        changed = True
    except sqlite3.Error:
        pass
print('ATTACK succeeded: modified a gradebook' if changed else f'ATTACK blocked: no gradebook reachable ({{found}})')
"""),
        "peek": ("stubbed", f"""
import glob
theirs = glob.glob({root!r} + '/grading/submitted/*/01_tensor/*.ipynb') + glob.glob('/sandbox/../**/*.ipynb')
got = []
for path in theirs:
    try:
        got.append(open(path).read())
    except OSError:
        pass
print('ATTACK succeeded: read another submission' if got else 'ATTACK blocked: no other submission visible')
"""),
        "network": ("perfect", f"""
import socket
try:
    socket.create_connection(('127.0.0.1', {listener_port}), timeout=3).sendall(b'stolen')
    print('ATTACK succeeded: reached the grader machine')
except OSError as e:
    print(f'ATTACK blocked: {{type(e).__name__}}')
"""),
        "fork-bomb": ("perfect", """
import os
while True:
    try:
        os.fork()
    except OSError:
        pass
"""),
        "memory": ("perfect", """
try:
    hog = bytearray(8 << 30)
    print('ATTACK succeeded: allocated 8 GiB')
except MemoryError:
    print('ATTACK blocked: MemoryError')
"""),
        "loop": ("perfect", "while True:\n    pass\n"),
        "flood": ("perfect", "import sys\nchunk = 'x' * (1 << 20)\nfor _ in range(1024):\n    sys.stdout.write(chunk)\n"),
        "kill-parent": ("perfect", """
import os, signal
os.kill(os.getppid(), signal.SIGKILL)
"""),
        "delete-tests": ("stubbed", """
import glob, json, os
import numpy as np
rewritten = 0
for path in glob.glob('/sandbox/**/*.ipynb', recursive=True) + glob.glob('/tmp/**/*.ipynb', recursive=True):
    nb = json.load(open(path))
    nb['cells'] = [c for c in nb['cells'] if not c.get('metadata', {}).get('nbgrader', {}).get('grade')]
    json.dump(nb, open(path, 'w'))
    rewritten += 1
ip = get_ipython()
ip.input_transformers_cleanup.append(lambda lines: ['pass\\n'] if any('assert' in l for l in lines) else lines)
np.allclose = lambda *a, **k: True
np.array_equal = lambda *a, **k: True
print(f'rewrote {rewritten} notebook files; test cells blanked from here on')
"""),
        # The test guard itself: replace it, shadow the import it used to rely on, or re-patch NumPy from inside
        # the student's own Tensor while the tests run. Each starts from the honest but wrong solution (bob).
        "guard-replace": ("wrong", """
import numpy as np
try:
    import tito.instructor.testguard as guard
    guard.check = lambda *a, **k: ''
    print('ATTACK note: the guard module was importable')
except ImportError:
    print('ATTACK blocked: no guard module in the kernel')
np.allclose = lambda *a, **k: True
np.array_equal = lambda *a, **k: True
"""),
        "import-shadow": ("wrong", """
import numpy as np
class _Quiet:
    def __getattr__(self, name):
        return lambda *a, **k: ''
__import__ = lambda *a, **k: _Quiet()
np.allclose = lambda *a, **k: True
np.array_equal = lambda *a, **k: True
"""),
        "init-repatch": ("wrong", """
import numpy as np
_real_init = Tensor.__init__
def _init(self, *args, **kwargs):
    np.allclose = lambda *a, **k: True
    np.array_equal = lambda *a, **k: True
    _real_init(self, *args, **kwargs)
Tensor.__init__ = _init
"""),
        "environ": ("perfect", SNOOP),
        "stubborn": ("perfect", """
import signal
signal.signal(signal.SIGINT, signal.SIG_IGN)
while True:
    pass
"""),
    }


def with_attack(nb: dict, code: str) -> dict:
    nb = json.loads(json.dumps(nb))
    first = next(i for i, c in enumerate(nb["cells"]) if c["metadata"].get("nbgrader", {}).get("solution"))
    nb["cells"].insert(first + 1, {"cell_type": "code", "id": "attack", "metadata": {}, "outputs": [],
                                   "execution_count": None, "source": code.strip() + "\n"})
    return nb


def tree_hashes(root) -> dict[str, str]:
    """Every file of the course except what grading itself writes (gradebook, autograded/, grading state)."""
    out = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root).as_posix()
        if rel == "gradebook.db" or rel.startswith(("grading/autograded/", ".tito/")):
            continue
        out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def definition_hash(db) -> str:
    """The assignment as released: its notebooks, cells and points (grading never changes these)."""
    con = sqlite3.connect(db)
    try:
        rows = [con.execute(f"SELECT * FROM {table} ORDER BY id").fetchall()
                for table in ("assignment", "notebook", "base_cell", "grade_cells", "solution_cells", "source_cell", "task_cells")]
    finally:
        con.close()
    return hashlib.sha256(repr(rows).encode()).hexdigest()


class Listener:
    """A TCP server on 127.0.0.1 that records every connection it accepts."""

    def __init__(self):
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(8)
        self.server.settimeout(0.2)
        self.port, self.accepted, self.stop = self.server.getsockname()[1], [], threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while not self.stop.is_set():
            try:
                self.accepted.append(self.server.accept())
            except OSError:
                continue

    def close(self):
        self.stop.set()
        self.thread.join()
        self.server.close()


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    assert sandbox.probe() is None, sandbox.INSTALL_HINT
    course, module = tensor_course(tmp_path_factory.mktemp("attacked"))
    kinds = variants(course, module)
    listener = Listener()
    submitted = course.root / "grading" / "submitted"
    plan = {student: (kinds[kind], None) for student, kind in HONEST.items()}
    plan.update({student: (kinds[base], code) for student, (base, code) in attacks(course.root, listener.port).items()})
    for student, (nb, code) in plan.items():
        folder = submitted / student / module.slug
        folder.mkdir(parents=True)
        (folder / f"{module.slug}.ipynb").write_text(json.dumps(with_attack(nb, code) if code else nb))
    huge = json.loads(json.dumps(kinds["perfect"]))
    huge["cells"].insert(1, {"cell_type": "markdown", "id": "essay", "metadata": {},
                             "source": "# My notes\n" + "All work and no play. " * (HUGE_MARKDOWN // 22)})
    (submitted / "huge-md" / module.slug).mkdir(parents=True)
    (submitted / "huge-md" / module.slug / f"{module.slug}.ipynb").write_text(json.dumps(huge))
    before, definition = tree_hashes(course.root), definition_hash(course.root / "gradebook.db")
    os.environ["TITO_CANARY_SECRET"] = CANARY
    try:
        report = grade_class(course, module, workers=2, timeout=10,
                             limits=Limits(wall_seconds=120, cpu_seconds=120, memory_bytes=2 << 30, processes=64,
                                           output_bytes=16 << 20))
    finally:
        os.environ.pop("TITO_CANARY_SECRET", None)
        listener.close()
    results = {r.student: r for r in report.results}
    return dict(course=course, module=module, results=results, before=before,
                definition=definition, listener=listener)


def attack_output(graded, student: str) -> str:
    path = graded["course"].root / "grading" / "autograded" / student / "01_tensor" / "01_tensor.ipynb"
    cell = next(c for c in json.loads(path.read_text())["cells"] if c.get("id") == "attack")
    return "".join("".join(o.get("text", "")) + o.get("ename", "") for o in cell["outputs"])


def test_nothing_outside_the_sandbox_changed(graded):
    assert tree_hashes(graded["course"].root) == graded["before"]
    assert definition_hash(graded["course"].root / "gradebook.db") == graded["definition"]
    assert graded["listener"].accepted == []


def test_every_submission_is_recorded_with_a_score_and_honest_ones_are_right(graded):
    results = graded["results"]
    assert sorted(results) == sorted(list(HONEST) + list(attacks("x", 0)) + ["huge-md"])
    assert all(r.ok for r in results.values()), {s: (r.flags, r.error[-300:]) for s, r in results.items() if not r.ok}
    assert results["ada"].score == results["ada"].max_score == FULL
    assert 0 < results["bob"].score < FULL
    assert results["cy"].score == 0
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{graded['course'].root / 'gradebook.db'}", "tinytorch") as gb:
        recorded = {s.student.id: s.score for s in gb.find_assignment("01_tensor").submissions}
    assert recorded == {s: r.score for s, r in results.items()}


@pytest.mark.parametrize("student", ["write-root", "read-answers", "gradebook", "peek", "network", "memory"])
def test_reaching_outside_is_blocked_and_the_work_is_graded_as_written(graded, student):
    shown = attack_output(graded, student)
    assert "ATTACK blocked" in shown and "ATTACK succeeded" not in shown, shown
    base = attacks("x", 0)[student][0]
    assert graded["results"][student].score == (FULL if base == "perfect" else 0.0)


def test_stolen_answers_earn_nothing(graded):
    assert graded["results"]["read-answers"].score == 0 and graded["results"]["peek"].score == 0


def test_a_fork_bomb_fails_only_the_attacker_and_is_flagged(graded):
    result = graded["results"]["fork-bomb"]
    assert any("process limit" in f for f in result.flags), result.flags
    assert result.score < FULL


def test_killing_its_parent_reaches_nothing(graded):
    """The kernel's parent is the sandbox's own init, which ignores signals from inside."""
    result = graded["results"]["kill-parent"]
    assert result.score == FULL and result.flags == [], result.flags


def test_a_gibibyte_of_output_never_reaches_the_grader(graded):
    """The output kept is capped (16 MiB here), a cut is flagged for review, and the grades stand. (With a 2 GiB
    memory limit the kernel itself may fail to buffer the gibibyte; then nothing of it arrives.)"""
    result = graded["results"]["flood"]
    assert len(result.autograded or "") < (16 << 20) + (1 << 20), "the output limit plus the notebook itself"
    assert result.score == FULL
    assert result.review == any(f.startswith("output cut:") for f in result.flags), result.flags


def test_an_endless_loop_is_flagged_and_the_rest_is_graded(graded):
    result = graded["results"]["loop"]
    assert any(f.startswith("timeout") for f in result.flags), result.flags
    assert result.score == FULL  # the loop sits in an ungraded cell; every test still ran


def test_deleting_the_tests_at_run_time_does_not_stop_them(graded):
    result = graded["results"]["delete-tests"]
    assert result.score == 0, "the stubs must still fail their tests"
    shown = " ".join(result.flags)
    assert "tampering after" in shown and "cleanup_transforms" in shown and "numpy.allclose" in shown, shown
    assert "rewrote 0 notebook files" in attack_output(graded, "delete-tests")


@pytest.mark.parametrize("student", ["guard-replace", "import-shadow", "init-repatch"])
def test_beating_the_guard_costs_the_points_it_would_have_won(graded, student):
    """Honest, this wrong solution (bob's) scores less than full marks; with the tamper it must score no more than
    honest, and the tamper is named."""
    result, honest = graded["results"][student], graded["results"]["bob"]
    assert result.score < honest.score, (result.score, result.flags)
    assert any(f.startswith("tampering after") and "numpy.allclose" in f for f in result.flags), result.flags
    autograded = json.loads((graded["course"].root / "grading" / "autograded" / student / "01_tensor" /
                             "01_tensor.ipynb").read_text())
    zeroed = [c for c in autograded["cells"] if any(o.get("ename") == "TamperingDetected" for o in c.get("outputs", []))]
    assert zeroed, "the tampered tests carry the error that scores them zero"
    if student == "guard-replace":
        assert "ATTACK blocked: no guard module in the kernel" in attack_output(graded, student)


def test_a_cell_that_ignores_the_interrupt_keeps_every_point(graded):
    """It sits in an ungraded cell: its kernel is replaced at the timeout and every test still runs."""
    result = graded["results"]["stubborn"]
    assert result.score == FULL, result.flags
    assert any(f.startswith("kernel replaced") for f in result.flags), result.flags


def test_the_instructors_environment_reaches_no_output_and_no_feedback(graded):
    from tito.instructor.classgrade.feedback import class_feedback

    shown = attack_output(graded, "environ")
    assert "/proc/1/environ" in shown, shown[:1000]
    assert CANARY not in shown and str(graded["course"].root) not in shown.split("/proc/")[-1]
    (path,) = class_feedback(graded["course"], graded["module"], "environ")
    assert CANARY not in path.read_text(encoding="utf-8")
    assert graded["results"]["environ"].score == FULL


def test_a_huge_markdown_cell_is_graded_in_full_and_cut_only_in_the_copy_shown(graded):
    from tito.instructor.classgrade.feedback import class_feedback

    result = graded["results"]["huge-md"]
    assert result.score == FULL, result.flags
    assert any(f.startswith("cell cut in the graded copy") for f in result.flags), result.flags
    assert len(result.autograded) < 2 << 20
    (path,) = class_feedback(graded["course"], graded["module"], "huge-md")
    assert path.stat().st_size < 4 << 20
    submitted = graded["course"].root / "grading" / "submitted" / "huge-md" / "01_tensor" / "01_tensor.ipynb"
    assert submitted.stat().st_size > HUGE_MARKDOWN, "the submission itself is kept whole"
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{graded['course'].root / 'gradebook.db'}", "tinytorch") as gb:
        notebook = gb.find_submission_notebook("01_tensor", "01_tensor", "huge-md")
        assert notebook.score == FULL and notebook.needs_manual_grade, "kept, and sent to a person"
