"""The autograde preprocessor chain a worker runs: the course's own (nbgrader_config.py), with its execute step
replaced by tito's (`GradingExecute`, sandboxed or not) followed by `LimitCellSize`.

The chain travels to workers (local processes or Dask) as import names, so a step must be importable by its
module and name; a class defined inside nbgrader_config.py is not, and is refused with the fix.
"""
from __future__ import annotations

import importlib

from ...core.errors import UsageError

GRADING_EXECUTE = "tito.instructor.classgrade.execute.GradingExecute"
LIMIT_CELL_SIZE = "tito.instructor.classgrade.cellsize.LimitCellSize"
CONFIG = "nbgrader_config.py"


def _resolve(step) -> tuple[str, type]:
    """(import name, class) of one configured step, or a UsageError naming it."""
    if isinstance(step, str):
        module, _, name = step.rpartition(".")
    else:
        module, name = getattr(step, "__module__", ""), getattr(step, "__qualname__", "")
    try:
        found = getattr(importlib.import_module(module), name) if module and "<" not in name else None
    except (ImportError, AttributeError, ValueError):
        found = None
    if found is None or (not isinstance(step, str) and found is not step):
        raise UsageError(f"{CONFIG}: the autograde step {step!r} cannot be imported by name ({module}.{name}), so it "
                         "cannot travel to a grading worker; fix: define it in an importable module and list it as "
                         "\"package.module.ClassName\" in c.Autograde.autograde_preprocessors")
    return f"{module}.{name}", found


def grading_chain(config) -> list[str]:
    """The configured (or nbgrader's default) Autograde.autograde_preprocessors as import names, with the execute
    step (nbconvert's ExecutePreprocessor or any subclass, e.g. nbgrader's Execute) replaced by tito's."""
    from nbconvert.preprocessors import ExecutePreprocessor
    from nbgrader.converters import Autograde

    steps = config.Autograde.get("autograde_preprocessors") or \
        Autograde.class_traits()["autograde_preprocessors"].default()
    chain: list[str] = []
    for step in steps:
        name, cls = _resolve(step)
        if name in (GRADING_EXECUTE, LIMIT_CELL_SIZE):
            continue
        if isinstance(cls, type) and issubclass(cls, ExecutePreprocessor):
            chain += [GRADING_EXECUTE, LIMIT_CELL_SIZE]
        else:
            chain.append(name)
    if GRADING_EXECUTE not in chain:
        raise UsageError(f"{CONFIG}: c.Autograde.autograde_preprocessors has no execute step, so no test would run "
                         "and every submission would keep full marks; fix: put nbgrader.preprocessors.Execute back "
                         "in the list")
    return chain
