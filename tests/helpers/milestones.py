"""Loading a milestone script as a module, and a console that records what it prints."""
from __future__ import annotations

import importlib.util
import io
import sys
from pathlib import Path

from .course import REPO

MILESTONES = REPO / "milestones"


def load_script(path: Path, name: str | None = None):
    """Import milestones/NN_x/run.py (or a helper) under a private module name; return the module."""
    name = name or f"_test_milestone_{path.parent.name}_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pickle look their module up by name, also after loading
    spec.loader.exec_module(module)
    return module


def quiet_console(width: int = 100):
    """A rich Console that writes into a buffer (read it back with `console.file.getvalue()`)."""
    from rich.console import Console

    return Console(file=io.StringIO(), width=width, force_terminal=False)


def milestone_meta(path: Path) -> dict:
    """The MILESTONE literal of a milestone script, read without running it."""
    import ast

    tree = ast.parse(path.read_text(encoding="utf-8"))
    return next(ast.literal_eval(n.value) for n in tree.body
                if isinstance(n, ast.Assign) and any(getattr(t, "id", "") == "MILESTONE" for t in n.targets))
