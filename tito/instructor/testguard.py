"""The test guard: did the code being graded tamper with what the tests rely on? Checked from outside the kernel.

Grading (`tito.instructor.classgrade.run`) probes the kernel through `tito.core.kernel.execute(probe=...)`:
- when a kernel is ready, before any submitted line has run, it imports the watched modules and takes a
  fingerprint: the baseline, which stays in the grading process;
- after every graded test cell it takes the fingerprint again.

A fingerprint names, for every public function of `builtins`, `math`, `operator` and the NumPy modules the
tests compare with (`numpy`, `numpy.testing` and the modules implementing `allclose`/`array_equal`), the
identity of the object bound to it and of its code; the IPython and ipykernel machinery that runs cells
and reports results (input and AST transformers, event callbacks, exception handlers, result formatters,
the methods that run cells and evaluate expressions, the kernel's message handlers); and whether the
notebook's own import names (`np` from `import numpy as np`) still are the real modules.

It is computed by one expression this module writes and the grading process sends as a silent user expression:
no input transformer sees it, it looks up no name in the kernel's namespace (its building blocks come from
literals and the interpreter's immutable built-in types), and there is no guard object in the kernel that
could be imported or replaced. A test cell after which anything differs from the baseline (or after which
the fingerprint could not be taken) ran against tampered machinery: it gets a `TamperingDetected` error,
so nbgrader scores it zero, and what changed is named.

What it cannot do: the fingerprint is computed inside the process that runs the submission, so a submission
that rewrites the kernel's reply path to restore everything around each probe, or that tampers only for the
duration of a test and undoes it before the cell ends, can still go unseen. It raises the bar; the sandbox,
not the guard, is what protects the course.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass, field

from ..core.nbutil import is_test_cell, source_of

WATCHED = ("builtins", "math", "operator", "numpy", "numpy._core.numeric", "numpy._core.fromnumeric",
           "numpy.testing", "numpy.testing._private.utils")
SHELL_ATTRS = ("input_transformer_manager", "input_transformers_post", "ast_transformers", "custom_exceptions",
               "CustomTB", "InteractiveTB", "SyntaxTB", "display_formatter", "displayhook", "display_pub", "events",
               "kernel", "compile", "user_ns", "user_global_ns")
SHELL_LISTS = ("input_transformers_post", "ast_transformers")
MANAGER_LISTS = ("cleanup_transforms", "line_transforms", "token_transformers")
SHELL_METHODS = ("run_cell", "run_cell_async", "_run_cell", "run_ast_nodes", "run_code", "user_expressions",
                 "_format_user_obj", "showtraceback", "transform_cell", "should_run_async", "ex", "ev",
                 "_showtraceback")
KERNEL_METHODS = ("do_execute", "execute_request", "dispatch_shell", "send_response")
EVENTS = ("pre_execute", "pre_run_cell", "post_execute", "post_run_cell")
TAMPERING = "TamperingDetected"


def import_names(cells: list) -> dict[str, tuple[str, str]]:
    """Names the notebook binds to a watched module or to one of its attributes: `np` -> ("numpy", "")
    for `import numpy as np`, `assert_allclose` -> ("numpy.testing", "assert_allclose")."""
    names: dict[str, tuple[str, str]] = {}
    for cell in cells:
        if cell.get("cell_type") != "code":
            continue
        try:
            tree = ast.parse(source_of(cell))
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname and alias.name in WATCHED:
                        names[alias.asname] = (alias.name, "")
                    elif not alias.asname and alias.name.split(".")[0] in WATCHED:
                        top = alias.name.split(".")[0]
                        names[top] = (top, "")
            elif isinstance(node, ast.ImportFrom) and node.module in WATCHED and not node.level:
                for alias in node.names:
                    if alias.name != "*":
                        names[alias.asname or alias.name] = (node.module, alias.name)
    return names


def _let(**bindings: str) -> str:
    """Comprehension clauses binding names to values: `for O in [value]` (locals, never global lookups)."""
    return " ".join(f"for {name} in [{value}]" for name, value in bindings.items())


def fingerprint_expression(names: dict[str, tuple[str, str]] | None = None, importing: bool = False) -> str:
    """The expression (see the module doc) whose text value is `label<TAB>token` lines."""
    watched = repr(WATCHED)
    # Building blocks from literals and immutable built-in types only.
    base = _let(
        O="().__class__.__base__", T="().__class__.__class__", D="{}.__class__", S="''.__class__",
        F="(lambda: 0).__class__", BM="(lambda: 0).__get__(0).__class__")
    derived = _let(
        R="O.__repr__",
        BI="[c for c in O.__subclasses__() if c.__module__ == '_frozen_importlib' and c.__name__ == 'BuiltinImporter'][0]")
    system = _let(SYS="D.get(T.__getattribute__(BI, '__dict__')['find_spec'].__func__.__globals__, 'sys')")
    modules = _let(M="D.get(O.__getattribute__(SYS, '__dict__'), 'modules')")
    # Identity of a value and, for a Python function or a bound method, of its code (a swapped __code__ shows).
    tok = ("(lambda v: (S.join(' ', [R(O.__getattribute__(v, '__self__')), R(O.__getattribute__(v, '__func__'))]) "
           "if v.__class__ is BM else R(v) + (' ' + R(O.__getattribute__(v, '__code__')) if v.__class__ is F else '')))")
    parts = [
        f"[S.join('', ['module ', n, '\\t', R(D.get(M, n))]) for n in {watched}]",
        f"[S.join('', [n, '.', k, '\\t', TOK(v)]) for n in {watched} for m in [D.get(M, n)] if m is not None "
        f"for k, v in D.items(O.__getattribute__(m, '__dict__')) if not S.startswith(k, '__') "
        f"and not (n == 'builtins' and S.startswith(k, '_'))]",
        "[S.join('', ['sys.', k, '\\t', R(D.get(O.__getattribute__(SYS, '__dict__'), k))]) "
        "for k in ('excepthook', 'displayhook', 'modules', 'meta_path', 'path_hooks')]",
        # The shell and kernel: attributes, their lists' members, methods (through __func__: a bound method is
        # a new object each time), formatters' printers, event callbacks, message handlers.
        "[S.join('', ['shell\\t', R(SH)])]",
        f"[S.join('', ['shell.', a, '\\t', R(O.__getattribute__(SH, a))]) for a in {SHELL_ATTRS!r}]",
        f"[S.join('', ['shell.', a, '\\t', TOKS(O.__getattribute__(SH, a))]) for a in {SHELL_LISTS!r}]",
        f"[S.join('', ['shell.input_transformer_manager.', a, '\\t', TOKS(O.__getattribute__("
        f"O.__getattribute__(SH, 'input_transformer_manager'), a))]) for a in {MANAGER_LISTS!r}]",
        f"[S.join('', ['shell.', a, '()\\t', TOK(O.__getattribute__(SH, a))]) for a in {SHELL_METHODS!r}]",
        f"[S.join('', ['events.', e, '\\t', TOKS(D.get(O.__getattribute__(O.__getattribute__(SH, 'events'), "
        f"'callbacks'), e, []))]) for e in {EVENTS!r}]",
        "[S.join('', ['formatter ', S.__str__(k), '\\t', R(f), ' ', TOK(O.__getattribute__(f, '__call__'))]) "
        "for k, f in D.items(O.__getattribute__(O.__getattribute__(SH, 'display_formatter'), 'formatters'))]",
        "[S.join('', ['formatter ', S.__str__(k), ' ', p, ' ', R(t), '\\t', TOK(x)]) "
        "for k, f in D.items(O.__getattribute__(O.__getattribute__(SH, 'display_formatter'), 'formatters')) "
        "for p in ('type_printers', 'deferred_printers', 'singleton_printers') "
        "for t, x in D.items(O.__getattribute__(f, p))]",
        "[S.join('', ['kernel\\t', R(K)])]",
        "[S.join('', ['namespace __builtins__\\t', R(D.get(UN, '__builtins__'))])]",
        f"[S.join('', ['kernel.', a, '()\\t', TOK(O.__getattribute__(K, a))]) for a in {KERNEL_METHODS!r}]",
        "[S.join('', ['kernel.shell_handlers.', S.__str__(k), '\\t', TOK(x)]) "
        "for k, x in D.items(O.__getattribute__(K, 'shell_handlers'))]",
    ]
    for name, (module, attr) in sorted((names or {}).items()):
        expected = f"D.get(M, {module!r})" if not attr else \
            f"D.get(O.__getattribute__(D.get(M, {module!r}), '__dict__'), {attr!r})"
        parts.append(f"[S.join('', ['name {name}\\t', 'unbound' if {name!r} not in UN else "
                     f"'same' if D.get(UN, {name!r}) is {expected} else 'replaced'])]")
    shell = _let(
        IS="D.get(O.__getattribute__(D.get(M, 'IPython.core.interactiveshell'), '__dict__'), 'InteractiveShell')",
    ) + " " + _let(SH="T.__getattribute__(IS, '_instance')") + " " + _let(
        K="O.__getattribute__(SH, 'kernel')", UN="O.__getattribute__(SH, 'user_ns')")
    helpers = _let(TOK=tok) + " " + _let(TOKS="(lambda xs: S.join(' ', [TOK(x) for x in xs]))")
    lines = " + ".join(parts)
    body = f"'\\n'.join([line {base} {derived} {system} {modules} {shell} {helpers} for line in {lines}])"
    if importing:  # the kernel is fresh: no submitted code ran yet, so the import system can be used as it is
        body = f"([__import__(n) for n in {watched}], {body})[1]"
    return body


def parse(text: str) -> dict[str, str] | None:
    """The fingerprint from the expression's text value (a repr of a str), or None when it is not one."""
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return None
    if not isinstance(value, str):
        return None
    entries = {}
    for line in value.split("\n"):
        label, sep, token = line.partition("\t")
        if sep:
            entries[label] = token
    return entries


def differences(baseline: dict[str, str], now: dict[str, str]) -> list[str]:
    """What changed since the baseline: replaced or removed entries (new names, e.g. a lazily loaded NumPy
    submodule, are not tampering), and import names rebound to something else."""
    changed = [label for label, token in baseline.items() if now.get(label) != token and not label.startswith("name ")]
    changed += [label for label, token in now.items() if label.startswith("name ") and token == "replaced"]
    return sorted(dict.fromkeys(changed))


@dataclass
class Guard:
    """The probe for `tito.core.kernel.execute` and the verdict on its results, for one notebook."""

    cells: list
    names: dict[str, tuple[str, str]] = field(default_factory=dict)

    def __post_init__(self):
        self.names = self.names or import_names(self.cells)
        self._start = fingerprint_expression(self.names, importing=True)
        self._check = fingerprint_expression(self.names)

    def probe(self, phase: str, index: int, cell) -> str | None:
        if phase == "start":
            return self._start
        if phase == "after" and is_test_cell(cell):
            return self._check
        return None

    def verdicts(self, checks: list[tuple[str, int, str]]) -> dict[int, list[str]]:
        """Test cell index -> what was found tampered after it (empty: nothing was)."""
        found: dict[int, list[str]] = {}
        baseline: dict[str, str] | None = None
        for phase, index, value in checks:
            fingerprint = parse(value)
            if phase == "start":
                baseline = fingerprint
                continue
            if baseline is None:
                found[index] = [f"the guard could not take its baseline ({_short(value)})"]
            elif fingerprint is None:
                found[index] = [f"the guard could not check ({_short(value)})"]
            else:
                changed = differences(baseline, fingerprint)
                if changed:
                    found[index] = changed
        return found


def _short(text: str) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= 160 else text[:157] + "..."


def summary(changed: list[str], limit: int = 4) -> str:
    """`numpy.allclose; numpy._core.numeric.isclose (+3 more)`: what a flag shows."""
    shown = "; ".join(label.replace("\t", " ") for label in changed[:limit])
    return shown + (f" (+{len(changed) - limit} more)" if len(changed) > limit else "")
