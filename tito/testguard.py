"""Runs INSIDE a grading kernel: keeps the code being graded from silencing the tests that grade it.

The sandbox runner (`tito.sandbox_run`) evaluates `check()` as a user expression (which no input
transformer sees) before the first code cell and before every graded test cell. The first call records
the interpreter's state; each later call puts back whatever the submission changed since, and names it:

- IPython hooks that can blank or rewrite later cells (input and AST transformers), swallow their errors
  (custom exception handlers) or run code before them (pre-run callbacks);
- the public functions of `builtins`, `numpy`, `numpy.testing` and `math` (e.g. `np.allclose = lambda
  *a, **k: True` would pass every comparison).

The tests then run against the real functions, and the names come back so the instructor sees the
attempt. It is a guard in the same process as the code it guards, so it raises the bar rather than
proving anything; the sandbox around the kernel is what protects the course.
"""
from __future__ import annotations

import sys

WATCHED_MODULES = ("builtins", "numpy", "numpy.testing", "math")
EVENTS = ("pre_execute", "pre_run_cell")

_saved: dict | None = None


def check() -> str:
    """'' when nothing changed since the first call; else '; '-joined names of what was restored."""
    global _saved
    shell = _shell()
    if _saved is None:
        _saved = _snapshot(shell)
        return ""
    return "; ".join(_restore(shell, _saved))


def _shell():
    from IPython import get_ipython

    return get_ipython()


def _snapshot(shell) -> dict:
    import importlib

    modules = {}
    for name in WATCHED_MODULES:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        modules[name] = (module, {attr: value for attr, value in vars(module).items() if not attr.startswith("_")})
    saved = {"modules": modules, "excepthook": sys.excepthook}
    if shell is not None:
        manager = shell.input_transformer_manager
        saved.update(manager=manager, cleanup=list(manager.cleanup_transforms), lines=list(manager.line_transforms),
                     tokens=list(manager.token_transformers), post=list(shell.input_transformers_post),
                     ast=list(shell.ast_transformers), custom=shell.custom_exceptions,
                     handler=getattr(shell, "CustomTB", None), run_cell=type(shell).run_cell,
                     events={e: list(shell.events.callbacks.get(e, [])) for e in EVENTS})
    return saved


def _restore(shell, saved: dict) -> list[str]:
    changed = []
    for name, (module, attrs) in saved["modules"].items():
        if sys.modules.get(name) is not module:
            sys.modules[name] = module
            changed.append(f"module {name} replaced")
        current = vars(module)
        for attr, value in attrs.items():
            if current.get(attr, _MISSING) is not value:
                setattr(module, attr, value)
                changed.append(f"{name}.{attr}")
    if sys.excepthook is not saved["excepthook"]:
        sys.excepthook = saved["excepthook"]
        changed.append("sys.excepthook")
    if shell is None:
        return changed
    if shell.input_transformer_manager is not saved["manager"]:
        shell.input_transformer_manager = saved["manager"]
        changed.append("input transformer manager")
    manager = shell.input_transformer_manager
    for label, attr, key in (("input transformers", "cleanup_transforms", "cleanup"),
                             ("line transformers", "line_transforms", "lines"),
                             ("token transformers", "token_transformers", "tokens")):
        if list(getattr(manager, attr)) != saved[key]:
            setattr(manager, attr, list(saved[key]))
            changed.append(label)
    for label, attr, key in (("post input transformers", "input_transformers_post", "post"),
                             ("AST transformers", "ast_transformers", "ast")):
        if list(getattr(shell, attr)) != saved[key]:
            setattr(shell, attr, list(saved[key]))
            changed.append(label)
    if shell.custom_exceptions != saved["custom"]:
        shell.custom_exceptions = saved["custom"]
        changed.append("custom exception handler")
    if type(shell).run_cell is not saved["run_cell"]:
        type(shell).run_cell = saved["run_cell"]
        changed.append("run_cell")
    if "run_cell" in vars(shell):
        del shell.run_cell
        changed.append("run_cell")
    for event in EVENTS:
        if shell.events.callbacks.get(event, []) != saved["events"][event]:
            shell.events.callbacks[event] = list(saved["events"][event])
            changed.append(f"{event} callbacks")
    return changed


_MISSING = object()
