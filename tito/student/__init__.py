"""The student lifecycle: the workspace notebooks, the progress store, running a notebook's tests,
validating and exporting the student's own work (`tito module start/test/complete/reset/status`).

Every function here takes paths or course objects and returns data; `tito/cli/module.py` prints.
Modules import their heavy dependencies (nbformat, nbclient, nbgrader) lazily so the CLI starts fast.
"""
