"""The shape DESIGN.md promises: three packages whose dependencies point down (core <- student <- cli, and
instructor above them all), no import cycles, pure renderers."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from .helpers.course import REPO

PACKAGE = REPO / "tito"


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}
CLI = ("tito.cli", "tito.__main__", "tito.instructor.cli")  # `python -m tito` is the CLI's entry point


def imports_of(name: str) -> set[str]:
    """The tito modules `name` imports anywhere in its file (inside functions too: a lazy import is still
    a dependency)."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            # `from . import x` / `from .pkg import mod` may name submodules
            targets = [prefix] + [f"{prefix}.{a.name}" for a in node.names]
        else:
            continue
        for target in targets:
            while target and target not in MODULES:
                target = target.rpartition(".")[0]
            if target and target != name and target.startswith("tito"):
                found.add(target)
    return found


GRAPH = {name: imports_of(name) for name in MODULES}


def parents(name: str) -> set[str]:
    """Package __init__s Python runs before `name`: they are not dependencies of design interest."""
    parts = name.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts))}


def find_cycle() -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(GRAPH[node] - parents(node)):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(GRAPH):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_graph_walk_sees_real_edges():
    assert "tito.core.render.toc" in GRAPH["tito.instructor.export"], "export calls the toc renderer explicitly"
    assert "tito.core.errors" in GRAPH["tito.core.course"]
    assert "tito.instructor.cli" in GRAPH["tito.cli"]
    assert "tito.core.kernel" in GRAPH["tito.student.runner"]


def test_no_import_cycle_in_tito():
    assert find_cycle() is None, " -> ".join(find_cycle() or [])


def test_the_engine_never_imports_the_cli():
    offenders = {name: sorted(d for d in deps if d == "tito.cli" or d.startswith("tito.cli."))
                 for name, deps in GRAPH.items() if not name.startswith(CLI)}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_renderers_are_pure():
    """render/ turns data into text: no grading, no files, no execution, no CLI, no errors to raise."""
    allowed = {"tito.core.course", "tito.core.source", "tito.core.render", "tito.core.render.notebook", "tito.core.render.package",
               "tito.core.render.toc", "tito.core.render.book", "tito.core.nbutil"}  # nbutil: the shared notebook text helpers
    for name in (n for n in MODULES if n.startswith("tito.core.render")):
        assert GRAPH[name] <= allowed, f"{name} imports {sorted(GRAPH[name] - allowed)}"
        tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
        raises = [n.lineno for n in ast.walk(tree) if isinstance(n, ast.Raise)]
        assert not raises, f"{MODULES[name]}:{raises[0]}: a renderer raises; report the problem to the caller instead"
        calls = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
        assert not calls & {"open", "print", "exec", "eval"}, f"{name} does I/O: {calls & {'open', 'print'}}"


def test_every_tito_module_imports_on_its_own():
    """Each module imported first in a clean interpreter state: an order-dependent cycle would fail here."""
    script = (
        "import importlib, sys\n"
        f"names = {sorted(set(MODULES) - {'tito.__main__'})!r}\n"
        "failed = []\n"
        "for name in names:\n"
        "    for loaded in [m for m in sys.modules if m == 'tito' or m.startswith('tito.')]:\n"
        "        del sys.modules[loaded]\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "    except Exception as exc:\n"
        "        failed.append(f'{name}: {type(exc).__name__}: {exc}')\n"
        "print('\\n'.join(failed))\n"
        "sys.exit(1 if failed else 0)\n")
    out = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr
    assert len(MODULES) > 30


def test_every_command_group_is_registered_explicitly():
    from tito.cli import main

    files = {p.stem for folder in (PACKAGE / "cli", PACKAGE / "instructor" / "cli") for p in folder.glob("*.py")}
    files -= {"__init__", "console"}
    main.list_commands(None)  # registers every group (done on first use)
    assert files <= set(main.commands), f"command modules not registered: {sorted(files - set(main.commands))}"


def layer(name: str) -> str:
    """core | student | cli | instructor | top (tito, tito.__main__)."""
    parts = name.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in ("core", "student", "cli", "instructor") else "top"


# What each layer may import (itself included). The student edition ships everything but `instructor`.
ALLOWED = {"core": {"core"}, "student": {"core", "student"}, "cli": {"core", "student", "cli"},
           "instructor": {"core", "student", "cli", "instructor"}, "top": {"cli"}}


def test_the_three_packages_point_down():
    """Core imports only core, student only core and student, the student CLI only those: student code never
    reaches instructor code, lazily or not. The one exception is the composition root, tito/cli/__init__.py,
    which registers the instructor's command groups where that package is installed."""
    offenders = {}
    for name, deps in GRAPH.items():
        bad = sorted(d for d in deps - parents(name) if layer(d) not in ALLOWED[layer(name)]
                     and not (name == "tito.cli" and d == "tito.instructor.cli"))
        if bad:
            offenders[name] = bad
    assert offenders == {}


def test_the_edition_ships_every_package_but_the_instructors():
    from tito.instructor.dist import SHIPPED, tito_files

    shipped = {Path(p).parts[0] for p in tito_files()}
    assert shipped == {"__init__.py", "__main__.py", "cli", "core", "student"} == set(SHIPPED)
    everything = {p.relative_to(PACKAGE) for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts}
    assert set(map(Path, tito_files())) == {p for p in everything if p.parts[0] != "instructor"}
