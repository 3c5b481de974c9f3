# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
#   tinytorch:
#     title: Capstone - Shipping an Optimized Model
#     summary: Take a trained digits classifier through the whole systems workflow - measure, profile, prune and fine-tune, quantize, benchmark - and ship it with a written report whose every number is checked against a stated target and against a fresh re-measurement.
#     tier: capstone
#     minutes: 180
#     prerequisites: [01_tensor, 02_activations, 03_layers, 04_losses, 05_autograd, 06_optimizers, 14_profiling, 15_quantization, 16_compression]
#     objectives:
#       - Turn a vague request ("make it fit on the device") into a measurable target before optimizing anything
#       - Measure a model's accuracy, stored bytes, parameters and latency with one reusable function
#       - Profile the baseline and let the profile choose the optimizations
#       - Compose structured pruning, fine-tuning by distillation and int8 quantization into one pipeline
#       - Build a report whose derived numbers, target verdicts and measurements can all be re-checked
#       - Write results atomically, and say honestly which targets were met and which were not
#     exports: [OptimizationTarget, count_stored_values, evaluate_model, optimize_model, build_report, check_report, report_markdown, write_report, read_report]
#     milestone: null
# ---

# %% [markdown]
# # Module 20: Capstone - Shipping an Optimized Model
#
# Here is a request you could get on your first week of a machine-learning job:
#
# > "The digits reader works great. We want it on the scanner's microcontroller. It has very little
# > memory, so the model must be **at least four times smaller**. Accuracy can't drop by more than
# > **two points**. And please tell us whether it got faster."
#
# Every tool you need exists already: module 14 measures, module 15 quantizes, module 16 prunes and
# distils, module 19 taught you to distrust a single timing. What is missing is the **workflow** that
# ties them together, and that is what real systems work mostly is: deciding the target first, measuring
# before and after with the same instrument, applying optimizations in an order that works, and writing
# down the result in a form that someone else can check.
#
# The last point is not bureaucracy. An optimization report is a claim ("4.1x smaller, 0.6 points less
# accurate"), and claims are wrong surprisingly often: the "after" model was measured on a different test
# set, the size counted float32 bytes for an int8 model, someone edited a number by hand. So the report you
# build is **checkable**: its ratios must follow from its measurements, its verdicts from its target, and
# its measurements must agree with a fresh re-measurement of the model you ship.
#
# ## What you will build
#
# - `OptimizationTarget`: the request as numbers, with `checks(...)` that turns measurements into verdicts,
# - `evaluate_model(model, x, y)`: accuracy, stored bytes, parameters and latency, measured one way for every model,
# - `optimize_model(model, x_train, y_train, ...)`: prune neurons, fine-tune by distillation, quantize to int8,
# - `build_report(...)`, `check_report(...)`: the report and the checks that keep it honest,
# - `write_report(report, path)`: an atomic write (JSON or Markdown), and `read_report(path)`.
#
# ## Learning objectives
#
# - Turn a vague request ("make it fit on the device") into a measurable target before optimizing anything.
# - Measure a model's accuracy, stored bytes, parameters and latency with one reusable function.
# - Profile the baseline and let the profile choose the optimizations.
# - Compose structured pruning, fine-tuning by distillation and int8 quantization into one pipeline.
# - Build a report whose derived numbers, target verdicts and measurements can all be re-checked.
# - Write results atomically, and say honestly which targets were met and which were not.
#
# ## The workflow
#
# ```
#   1 target     2 baseline       3 profile        4 optimize              5 measure again   6 report + check
#  ----------   ------------     -----------      ----------------------   ---------------   -----------------
#  >= 4x        train, then      where are the    prune neurons            same function,    ratios, verdicts,
#  smaller,     evaluate_model   bytes, FLOPs,    -> fine-tune (distil)    same test set     written atomically,
#  <= 2 points  (accuracy,       time?            -> quantize int8         evaluate_model    re-checked against
#  accuracy     bytes, latency)                                                              a re-measurement
# ```

# %%
#| default_exp capstone

# %%
#| export
import copy
import json
import math
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from tinytorch.core.tensor import Tensor
from tinytorch.core.autograd import no_grad
from tinytorch.core.layers import Sequential
from tinytorch.perf.profiling import count_parameters, measure_latency
from tinytorch.perf.quantization import QuantizedLinear, model_nbytes, quantize_model
from tinytorch.perf.compression import distill, factorize_model, prune_neurons

# %%
#| hide
import time

import tinytorch
from tinytorch.core.activations import ReLU
from tinytorch.core.autograd import is_grad_enabled
from tinytorch.core.layers import Linear, Module
from tinytorch.perf.compression import LowRankLinear, accuracy
from tinytorch.perf.profiling import amdahl_speedup, format_profile, profile_model

np.set_printoptions(precision=4, suppress=True)


def blobs(n_per_class=100, dim=8, classes=4, spread=1.2, seed=0):
    """Gaussian clusters around random centres: an easy, fast classification problem for the tests."""
    g = np.random.default_rng(seed)
    centres = g.normal(scale=3.0, size=(classes, dim))
    x = np.concatenate([c + spread * g.normal(size=(n_per_class, dim)) for c in centres]).astype(np.float32)
    y = np.repeat(np.arange(classes), n_per_class)
    order = g.permutation(len(y))
    return x[order], y[order]

# %% [markdown]
# ## 1. The target, written down first
#
# "Four times smaller, at most two points less accurate" sounds precise, but three questions hide in it:
#
# - **Smaller in what unit?** We mean the bytes it takes to *store* the model: float parameters at
#   their dtype's size, int8 codes at one byte plus their scales and zero points. That is exactly what
#   module 15's `model_nbytes` counts, and it is what must fit on the device.
# - **Accuracy on what data?** On a fixed held-out test set that neither the training nor the
#   optimization ever looks at, the same one before and after. The drop is measured in **points**:
#   97.2% to 96.1% is a drop of 0.011, or 1.1 points.
# - **Faster how?** Latency depends on the machine, the batch size and everything else running at the
#   time. The request only says "tell us", so speed is *reported* but is not a target. `min_speedup`
#   stays `None` unless you have a reason (and a stable machine) to promise one.
#
# One subtlety: measured numbers are floats. `0.97 - 0.95` is `0.020000000000000018` in floating
# point, so a model that lost exactly two points would fail a literal `drop <= 0.02`. The verdicts
# therefore compare with a tiny tolerance, `TOL = 1e-9`, far below anything a test set can resolve.
#
# ```
#   check        passes when                                     None when
#   size         size_reduction >= min_size_reduction - TOL
#   accuracy     accuracy_drop  <= max_accuracy_drop  + TOL      (an accuracy GAIN is a negative drop)
#   speed        speedup        >= min_speedup        - TOL      min_speedup is None (report only)
# ```

# %% nbgrader={"grade": false, "grade_id": "target", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
TOL = 1e-9          # tolerance of every comparison with a target (floating-point noise, nothing more)


@dataclass(frozen=True)
class OptimizationTarget:
    """What the optimized model must achieve, relative to the baseline.

    min_size_reduction: baseline bytes / optimized bytes must be at least this (4.0 = "4x smaller")
    max_accuracy_drop:  baseline accuracy - optimized accuracy must be at most this (0.02 = 2 points)
    min_speedup:        baseline latency / optimized latency must be at least this; None = report only
    """
    min_size_reduction: float = 4.0
    max_accuracy_drop: float = 0.02
    min_speedup: float | None = None

    def __post_init__(self):
        if not self.min_size_reduction > 0:
            raise ValueError(f"min_size_reduction is a ratio and must be > 0, got {self.min_size_reduction}")
        if not 0 <= self.max_accuracy_drop <= 1:
            raise ValueError(f"max_accuracy_drop is a fraction of the test set in [0, 1], got {self.max_accuracy_drop}")
        if self.min_speedup is not None and not self.min_speedup > 0:
            raise ValueError(f"min_speedup must be > 0 or None (report only), got {self.min_speedup}")

    def checks(self, size_reduction: float, accuracy_drop: float, speedup: float) -> dict:
        """Verdicts {"size": bool, "accuracy": bool, "speed": bool or None} for measured ratios.

        "speed" is None when min_speedup is None (speed is reported, not required).
        Compare with the tolerance TOL (see the table above) and return plain Python bools.
        EXAMPLE: OptimizationTarget().checks(4.5, 0.01, 0.8) -> {"size": True, "accuracy": True, "speed": None}
        """
        ### BEGIN SOLUTION
        return {
            "size": bool(size_reduction >= self.min_size_reduction - TOL),
            "accuracy": bool(accuracy_drop <= self.max_accuracy_drop + TOL),
            "speed": None if self.min_speedup is None else bool(speedup >= self.min_speedup - TOL),
        }
        ### END SOLUTION

# %% mutant={"name": "no-tolerance", "target": "target", "catches": ["test-target"]}
# Literal comparisons: a ratio of exactly 4.0 computed as 3.9999999999 fails the 4x target.
return {
    "size": bool(size_reduction >= self.min_size_reduction),
    "accuracy": bool(accuracy_drop <= self.max_accuracy_drop),
    "speed": None if self.min_speedup is None else bool(speedup >= self.min_speedup),
}

# %% mutant={"name": "speed-always-judged", "target": "target", "catches": ["test-target"]}
# Judges the speed even when no speed target was set.
return {
    "size": bool(size_reduction >= self.min_size_reduction - TOL),
    "accuracy": bool(accuracy_drop <= self.max_accuracy_drop + TOL),
    "speed": bool(speedup >= (self.min_speedup or 1.0) - TOL),
}

# %% [markdown]
# The test checks each verdict on both sides of its threshold, exactly at the threshold (where floating
# point would fool a literal comparison), an accuracy gain, and that speed is only judged when asked.

# %% nbgrader={"grade": true, "grade_id": "test-target", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
def test_target():
    """Verdicts on both sides of every threshold, at the thresholds, and speed only when required."""
    t = OptimizationTarget()
    assert t.checks(4.5, 0.01, 0.8) == {"size": True, "accuracy": True, "speed": None}, \
        f"4.5x smaller, 1 point lost, no speed target: everything passes, speed is None; got {t.checks(4.5, 0.01, 0.8)}"
    assert t.checks(3.99, 0.0, 1.0)["size"] is False, "3.99x is less than the required 4x"
    assert t.checks(4.0, 0.0, 1.0)["size"] is True, "exactly 4x meets a 4x target"
    assert t.checks(5.0, 0.97 - 0.95, 1.0)["accuracy"] is True, \
        "0.97 - 0.95 is 0.020000000000000018 in floating point; it must still meet a 0.02 limit (use TOL)"
    assert t.checks(5.0, 0.021, 1.0)["accuracy"] is False, "2.1 points lost is more than the allowed 2"
    assert t.checks(5.0, -0.01, 1.0)["accuracy"] is True, "a model that got MORE accurate has a negative drop and passes"
    fast = OptimizationTarget(2.0, 0.01, 1.5)
    assert fast.checks(2.0, 0.0, 1.49)["speed"] is False and fast.checks(2.0, 0.0, 1.5)["speed"] is True, \
        "with min_speedup=1.5, 1.49x fails and 1.5x passes"
    try:
        OptimizationTarget(min_size_reduction=0)
        raise AssertionError("a size reduction target of 0 must be refused")
    except ValueError:
        pass
    print("OptimizationTarget: OK")
test_target()
### BEGIN HIDDEN TESTS
_c = OptimizationTarget(1.0, 0.0, 1.0).checks(np.float64(1.0), np.float64(0.0), np.float64(1.0))
assert all(type(v) is bool for v in _c.values()), f"verdicts must be plain bools (JSON), got {[type(v) for v in _c.values()]}"
assert OptimizationTarget(8.0, 0.05).checks(7.9, 0.0, 9.0) == {"size": False, "accuracy": True, "speed": None}
### END HIDDEN TESTS

# %% [markdown]
# ## 2. The baseline: the model we were handed
#
# We need the model before we can shrink it. This is milestone 03's reader: a 64 -> 128 -> 10 MLP on the
# 8x8 handwritten digits shipped in `datasets/digits.npz` (1797 images). We use the same held-out test set
# as the milestone (a stratified 20%, fixed by a seed) and standardize the pixels with the training set's
# statistics. Training takes well under a second: module 16's `distill` with no teacher and `alpha=0` is
# plain cross-entropy training with Adam.
#
# The notebook finds the data by walking up from the current folder until it meets `datasets/digits.npz`
# (your workspace lives inside the course repository), and falls back to the folder next to the
# installed package.

# %%
def find_repo_root(marker=Path("datasets") / "digits.npz"):
    """The course folder holding datasets/digits.npz: the current folder or one of its parents,
    else the folder above the installed tinytorch package."""
    here = Path.cwd().resolve()
    for folder in (here, *here.parents, Path(tinytorch.__file__).resolve().parents[1]):
        if (folder / marker).is_file():
            return folder
    raise FileNotFoundError(f"{marker} not found in {here} or any folder above it")


def load_digits_split(test_fraction=0.2, seed=0):
    """Milestone 03's data: ((x_train, y_train), (x_test, y_test)), stratified, standardized."""
    with np.load(find_repo_root() / "datasets" / "digits.npz", allow_pickle=False) as data:
        x = data["images"].reshape(len(data["images"]), -1).astype(np.float32) / 16.0
        y = data["labels"].astype(np.int64)
    rng = np.random.default_rng(seed)
    is_test = np.zeros(len(y), dtype=bool)
    for label in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == label))
        is_test[idx[: int(round(len(idx) * test_fraction))]] = True
    train, test = rng.permutation(np.flatnonzero(~is_test)), rng.permutation(np.flatnonzero(is_test))
    mean, std = x[train].mean(axis=0), x[train].std(axis=0) + 0.1
    x = ((x - mean) / std).astype(np.float32)
    return (x[train], y[train]), (x[test], y[test])


(x_train, y_train), (x_test, y_test) = load_digits_split()
np.random.seed(1986)
baseline = Sequential(Linear(64, 128), ReLU(), Linear(128, 10))
t0 = time.perf_counter()
history = distill(None, baseline, x_train, y_train, epochs=10, lr=0.005, batch_size=32, alpha=0.0, seed=0)
print(f"{len(y_train)} training digits, {len(y_test)} test digits; trained 10 epochs in {time.perf_counter() - t0:.2f} s")
print(f"baseline 64-128-10: training accuracy {history['accuracy'][-1]:.2%}, test accuracy {accuracy(baseline, x_test, y_test):.2%}")

# %% [markdown]
# ## 3. One instrument for every model
#
# The most common way to fool yourself in optimization work is to measure "before" one way and "after"
# another. So every model goes through the same function, which returns four numbers:
#
# | key | meaning | measured with |
# |---|---|---|
# | `accuracy` | fraction of the test set classified correctly | one forward pass, `argmax` of the logits |
# | `nbytes` | bytes to store the model | `model_nbytes` (module 15) |
# | `params` | stored values: float parameters plus int8 codes | `count_stored_values` (given below) |
# | `latency_ms` | median time of one forward pass over the whole test set | `measure_latency` (module 14) |
#
# Why a special counter for the parameters? Module 14's `count_parameters` counts the Tensors an
# optimizer would train. A `QuantizedLinear` keeps its weight as a NumPy array of int8 codes (nothing to
# train), so `count_parameters` would report zero weights for a quantized model. `count_stored_values`
# adds the codes back.
#
# Evaluation must not change the model or build a graph: switch to eval mode, run under `no_grad()`, and
# restore the training flag afterwards (that scaffolding is given). The protocol inside is fixed so that
# everybody's numbers mean the same thing: **one** forward pass for the accuracy, then `measure_latency`
# with the given `warmup` and `repeats`.

# %%
#| export
def count_stored_values(model) -> int:
    """Number of stored weight values: the model's float parameters plus the codes and biases of
    every QuantizedLinear inside it (which module 14's count_parameters cannot see).

    EXAMPLE: a 64-128-10 MLP has 9,610 values before and after quantize_model.
    """
    total = count_parameters(model)
    for m in model.modules():
        if isinstance(m, QuantizedLinear):
            total += int(m.q_weight.size) + (0 if m.bias is None else int(m.bias.data.size))
    return int(total)

# %% nbgrader={"grade": false, "grade_id": "evaluate-model", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def evaluate_model(model, x, y, warmup: int = 3, repeats: int = 20) -> dict:
    """Measure `model` on (x, y): {"accuracy", "nbytes", "params", "latency_ms"}.

    accuracy:   mean of argmax(logits, axis=-1) == y, from ONE forward pass over all of x
    nbytes:     model_nbytes(model)
    params:     count_stored_values(model)
    latency_ms: 1000 * the median of measure_latency(lambda: model(X), warmup=warmup, repeats=repeats)
    All values are Python floats/ints. The model's training flag is restored afterwards.
    EXAMPLE: evaluate_model(baseline, x_test, y_test) -> {"accuracy": 0.97, "nbytes": 38440, "params": 9610, "latency_ms": 0.4}
    HINTS:
    - logits = model(X).data; accuracy = float(np.mean(np.argmax(logits, axis=-1) == labels))
    - measure_latency returns a dict of seconds; you need its "median"
    """
    X = x if isinstance(x, Tensor) else Tensor(np.asarray(x, dtype=np.float32))
    labels = np.asarray(y.data if isinstance(y, Tensor) else y)
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            ### BEGIN SOLUTION
            logits = model(X).data
            acc = float(np.mean(np.argmax(logits, axis=-1) == labels))
            stats = measure_latency(lambda: model(X), warmup=warmup, repeats=repeats)
            metrics = {"accuracy": acc, "nbytes": int(model_nbytes(model)),
                       "params": count_stored_values(model), "latency_ms": float(stats["median"] * 1e3)}
            ### END SOLUTION
    finally:
        model.train(was_training)
    return metrics

# %% mutant={"name": "argmax-over-batch", "target": "evaluate-model", "replace": "acc = float(np.mean(np.argmax(logits, axis=-1) == labels))", "catches": ["test-evaluate-model"]}
# Takes the argmax over the samples instead of over the classes.
acc = float(np.mean(np.argmax(logits, axis=0) == labels[: logits.shape[1]]))

# %% [markdown]
# The test evaluates a one-layer model whose answers are known (accuracy 3/4, 24 bytes, 6 values) and its
# quantized copy (still 6 values, now 28 bytes: see the byte table in section 7), and wraps a model to count
# the forward passes and record the mode it ran in: one pass for the accuracy plus `warmup + repeats`
# timed ones, all in eval mode without a graph, and the training flag back as it was.

# %% nbgrader={"grade": true, "grade_id": "test-evaluate-model", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
class _Spy(Module):
    """Wraps a model and records, for every forward pass, the mode and whether a graph could be built."""

    def __init__(self, inner):
        super().__init__()
        self.inner, self.calls = inner, []

    def forward(self, x):
        self.calls.append((self.training, is_grad_enabled()))
        return self.inner(x)


def test_evaluate_model():
    """Known accuracy, bytes and values; the measuring protocol; no side effects on the model."""
    lin = Linear(2, 2)
    lin.weight.data[...] = [[1.0, 0.0], [0.0, 1.0]]
    lin.bias.data[...] = 0.0
    model = Sequential(lin)
    x = np.array([[1, 0], [0, 1], [2, 1], [0, 3]], dtype=np.float32)
    y = np.array([0, 1, 1, 1])                       # predictions 0, 1, 0, 1: three of four right
    m = evaluate_model(model, x, y, warmup=1, repeats=3)
    assert set(m) == {"accuracy", "nbytes", "params", "latency_ms"}, f"keys: accuracy, nbytes, params, latency_ms; got {set(m)}"
    assert m["accuracy"] == 0.75, f"3 of the 4 predictions are right: accuracy 0.75, got {m['accuracy']}"
    assert m["nbytes"] == 24 and m["params"] == 6, f"6 float32 values = 24 bytes; got {m['nbytes']} bytes, {m['params']} values"
    assert isinstance(m["latency_ms"], float) and 0 < m["latency_ms"] < 60_000, f"latency_ms must be a positive float, got {m['latency_ms']!r}"
    q = evaluate_model(quantize_model(model), x, y, repeats=3)
    assert q["params"] == 6 and q["nbytes"] == 28, \
        f"quantized: 4 int8 codes + 2 scales + 2 zero points + 2 biases = 28 bytes, 6 values; got {q['nbytes']}, {q['params']}"
    spy = _Spy(model)
    spy.train()
    evaluate_model(spy, x, y, warmup=2, repeats=5)
    assert len(spy.calls) == 1 + 2 + 5, f"expected 1 pass for accuracy + 2 warm-up + 5 timed = 8 forward passes, got {len(spy.calls)}"
    assert all(mode is False for mode, _ in spy.calls), "every forward pass must run in eval mode"
    assert not any(grad for _, grad in spy.calls), "every forward pass must run under no_grad()"
    assert spy.training, "evaluate_model must restore the training flag"
    print(f"evaluate_model: OK ({m})")
test_evaluate_model()
### BEGIN HIDDEN TESTS
_m = evaluate_model(baseline, Tensor(x_test), y_test, repeats=2)
assert abs(_m["accuracy"] - accuracy(baseline, x_test, y_test)) < 1e-12, "Tensor inputs must work too"
assert _m["nbytes"] == 38440 and _m["params"] == 9610, f"the 64-128-10 baseline: 9,610 values, 38,440 bytes; got {_m}"
assert type(_m["nbytes"]) is int and type(_m["params"]) is int and type(_m["accuracy"]) is float
### END HIDDEN TESTS

# %% [markdown]
# Here is the baseline, measured. These are the numbers every later model is compared with.

# %%
base_metrics = evaluate_model(baseline, x_test, y_test)
for key, value in base_metrics.items():
    print(f"  {key:11s} {value:,.4g}" if isinstance(value, float) else f"  {key:11s} {value:,}")

# %% [markdown]
# ## 4. Profile before you optimize
#
# Which optimization should we apply? Module 14's lesson: ask the profile, not your intuition. The table
# below shows, layer by layer, where the parameters, the bytes, the FLOPs and the time of one forward pass
# over the test set go.

# %%
rows = profile_model(baseline, Tensor(x_test), repeats=10)
print(format_profile(rows))
linear_bytes = sum(r["param_bytes"] for r in rows if "Linear" in r["name"])
linear_share = sum(r["share"] for r in rows if "Linear" in r["name"])
print(f"\nLinear layers: {linear_bytes / base_metrics['nbytes']:.1%} of the bytes, {linear_share:.1%} of the time")
for factor in (2, 4):
    print(f"Amdahl: making the Linear layers {factor}x faster speeds the forward pass up by at most "
          f"{amdahl_speedup(linear_share, factor):.2f}x")

# %% [markdown]
# Read the profile like an engineer:
#
# - **All** the bytes live in the two `Linear` layers, and almost all of them in the first one (64 x 128
#   weights). Any size target is a target on those two weight matrices.
# - Storing float32 weights as int8 codes divides their bytes by up to 4 (a little less, since each output
#   channel keeps a scale and a zero point). Four is exactly our target, so quantization alone will fall
#   just short: we need a second, multiplicative saving.
# - The hidden layer is 128 neurons wide. Removing half of them (**structured pruning**, module 16) halves
#   the first matrix *and* the second one, and gives a dense, genuinely smaller network. Unstructured
#   pruning would leave zeros that still take 4 bytes each in a dense array.
# - The time is spread according to the share column; Amdahl's bound above says how much speeding up the
#   matrix products could ever buy. Removing neurons removes FLOPs, but quantization as built in module 15
#   *adds* work: `QuantizedLinear` turns its codes back into floats on every call. Whether the whole is
#   faster is a question for the measurement, not for hope.
#
# ## 5. The pipeline
#
# ```
#   baseline  64-128-10, float32            (never modified: it is the teacher and the reference)
#      |  prune_neurons(baseline, amount)    drop the weakest hidden neurons -> new dense Sequential
#      v
#   pruned    64-64-10,  float32            accuracy dips: the network lost half of its features
#      |  factorize_model(pruned, rank)      optional: replace big Linear layers by low-rank pairs
#      |  distill(baseline, pruned, ...)     fine-tune IN PLACE, imitating the baseline (teacher)
#      v
#   tuned     64-64-10,  float32            accuracy recovered
#      |  quantize_model(tuned)              int8 codes per output channel, float32 biases
#      v
#   shipped   64-64-10,  int8 weights       eval mode
# ```
#
# The **order** matters. Fine-tuning needs float weights that an optimizer can move, so it comes before
# quantization (a `QuantizedLinear` has no trainable weights). And it comes after pruning, to repair what
# pruning broke. Fine-tuning by distillation (module 16) uses the baseline's soft predictions as extra
# training signal: the pruned network relearns from the model it is replacing.
#
# Each step is one call to a function you built earlier. The scaffolding validates the arguments.
# `prune_amount=0` means "no pruning" (use a deep copy, so the baseline stays untouched), `rank=None` means
# "no factorization" and `finetune_epochs=0` means "no fine-tuning".

# %% nbgrader={"grade": false, "grade_id": "optimize-model", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def optimize_model(model, x_train, y_train, prune_amount: float = 0.5, finetune_epochs: int = 5,
                   lr: float = 0.005, batch_size: int = 32, quantize: bool = True, rank=None,
                   temperature: float = 2.0, alpha: float = 0.5, seed: int = 0):
    """A new, optimized copy of the trained Sequential `model` (which is not modified), in eval mode.

    Steps, in this order:
    1. prune_neurons(model, prune_amount)      (prune_amount == 0: copy.deepcopy(model) instead)
    2. factorize_model(small, rank)            only when rank is not None
    3. distill(model, small, x_train, y_train, epochs=finetune_epochs, lr=lr, batch_size=batch_size,
               temperature=temperature, alpha=alpha, seed=seed)      only when finetune_epochs > 0
    4. quantize_model(small)                   only when quantize is True
    EXAMPLE: optimize_model(baseline, x_train, y_train) -> Sequential(QuantizedLinear(64, 64), ReLU(), QuantizedLinear(64, 10))
    HINT: distill trains its student in place and returns a history; quantize_model returns a new model.
    """
    if not isinstance(model, Sequential):
        raise TypeError(f"optimize_model needs a Sequential (prune_neurons does), got {type(model).__name__}")
    if not 0.0 <= prune_amount < 1.0:
        raise ValueError(f"prune_amount is the fraction of hidden neurons to remove, in [0, 1); got {prune_amount}")
    if finetune_epochs < 0:
        raise ValueError(f"finetune_epochs must be >= 0, got {finetune_epochs}")
    ### BEGIN SOLUTION
    small = prune_neurons(model, prune_amount) if prune_amount > 0 else copy.deepcopy(model)
    if rank is not None:
        small = factorize_model(small, rank)
    if finetune_epochs > 0:
        distill(model, small, x_train, y_train, epochs=finetune_epochs, lr=lr, batch_size=batch_size,
                temperature=temperature, alpha=alpha, seed=seed)
    if quantize:
        small = quantize_model(small)
    ### END SOLUTION
    small.eval()
    return small

# %% mutant={"name": "teacher-student-swapped", "target": "optimize-model", "replace": "distill(model, small, x_train, y_train,", "catches": ["test-optimize-model"]}
# Passes the pruned copy as the teacher: the original model is trained in place instead.
distill(small, model, x_train, y_train,

# %% [markdown]
# The test trains a small classifier on synthetic clusters and optimizes it. It checks the shipped
# architecture (quantized layers, half the hidden neurons) and its exact byte count, that it stays
# accurate, that the original is untouched, and that each switch does what it says: without fine-tuning
# and quantization the result computes exactly `prune_neurons`' network; without pruning it is exactly
# `quantize_model`'s; and at a harsh pruning amount the fine-tuning measurably repairs the accuracy.

# %% nbgrader={"grade": true, "grade_id": "test-optimize-model", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
def test_optimize_model():
    """The pipeline's architecture, bytes, accuracy and switches, on a small synthetic problem."""
    xb, yb = blobs(seed=0)
    np.random.seed(0)
    teacher = Sequential(Linear(8, 32), ReLU(), Linear(32, 4))
    distill(None, teacher, xb, yb, epochs=15, lr=0.01, batch_size=32, alpha=0.0, seed=0)
    acc_t = accuracy(teacher, xb, yb)
    saved = [p.data.copy() for p in teacher.parameters()]
    shipped = optimize_model(teacher, xb, yb, prune_amount=0.5, finetune_epochs=5, lr=0.01)
    assert isinstance(shipped, Sequential) and not shipped.training, "return a Sequential in eval mode"
    assert isinstance(shipped[0], QuantizedLinear) and isinstance(shipped[2], QuantizedLinear), \
        f"both Linear layers must end up quantized, got {shipped}"
    assert shipped[0].out_features == 16 and shipped[2].in_features == 16, "half of the 32 hidden neurons must be pruned"
    expected = (8 * 16 + 16 * 4) + 12 * (16 + 4)     # int8 codes + (scale, zero point, bias) per output channel
    assert model_nbytes(shipped) == expected, f"the shipped model should take {expected} bytes, got {model_nbytes(shipped)}"
    acc_s = accuracy(shipped, xb, yb)
    assert acc_s >= acc_t - 0.03, f"the optimized model should stay accurate: {acc_t:.3f} -> {acc_s:.3f}"
    assert all(np.array_equal(p.data, s) for p, s in zip(teacher.parameters(), saved)) and teacher[0].out_features == 32, \
        "the original model must not be modified"
    plain = optimize_model(teacher, xb, yb, prune_amount=0.5, finetune_epochs=0, quantize=False)
    assert type(plain[0]) is Linear, "quantize=False must keep float Linear layers"
    with no_grad():
        assert np.allclose(plain(Tensor(xb)).data, prune_neurons(teacher, 0.5)(Tensor(xb)).data, atol=1e-6), \
            "with no fine-tuning and no quantization the result must be exactly prune_neurons' network"
        q_only = optimize_model(teacher, xb, yb, prune_amount=0.0, finetune_epochs=0)
        assert np.allclose(q_only(Tensor(xb)).data, quantize_model(teacher)(Tensor(xb)).data, atol=1e-6), \
            "prune_amount=0 and no fine-tuning: the result must be quantize_model(model)"
    harsh = dict(prune_amount=0.9, quantize=False, lr=0.01)
    before = accuracy(optimize_model(teacher, xb, yb, finetune_epochs=0, **harsh), xb, yb)
    after = accuracy(optimize_model(teacher, xb, yb, finetune_epochs=8, **harsh), xb, yb)
    assert after > before + 0.05, f"fine-tuning must repair a 90%-pruned network: accuracy {before:.3f} -> {after:.3f}"
    print(f"optimize_model: OK (accuracy {acc_t:.3f} -> {acc_s:.3f}; 90% pruned {before:.3f}, fine-tuned {after:.3f})")
test_optimize_model()
### BEGIN HIDDEN TESTS
_xb, _yb = blobs(seed=0)
np.random.seed(0)
_t = Sequential(Linear(8, 32), ReLU(), Linear(32, 4))
_t.train()
_lr = optimize_model(_t, _xb, _yb, prune_amount=0.5, finetune_epochs=0, quantize=False, rank=4)
assert isinstance(_lr[0], LowRankLinear) and _lr[0].rank == 4 and _lr[0].out_features == 16, \
    "rank=4 must factorize the (8 x 16) pruned layer after pruning"
assert _t.training, "the original model's training flag must not change"
_a = optimize_model(_t, _xb, _yb, prune_amount=0.5, finetune_epochs=2, seed=3)
_b = optimize_model(_t, _xb, _yb, prune_amount=0.5, finetune_epochs=2, seed=3)
with no_grad():
    assert np.array_equal(_a(Tensor(_xb)).data, _b(Tensor(_xb)).data), "the same seed must give the same model"
### END HIDDEN TESTS

# %% [markdown]
# ## 6. The report
#
# A report has three layers, and each one can be checked against the one below it:
#
# ```
#   verdicts    checks {"size": True, "accuracy": True, "speed": None}, passed    <- from the target
#      ^
#   ratios      size_reduction, param_reduction, speedup, accuracy_drop          <- from the measurements
#      ^
#   measured    baseline {accuracy, nbytes, params, latency_ms}, optimized {...}  <- from evaluate_model
# ```
#
# Worked example: baseline 0.972 accurate, 38,440 bytes, 9,610 values, 0.40 ms; optimized 0.969,
# 5,624 bytes, 4,810 values, 0.30 ms. Then
#
# ```
#   size_reduction  = 38440 / 5624  = 6.835      (bytes: baseline / optimized, bigger is better)
#   param_reduction = 9610 / 4810   = 1.998
#   speedup         = 0.40 / 0.30   = 1.333      (latency: baseline / optimized, bigger is better)
#   accuracy_drop   = 0.972 - 0.969 = 0.003      (0.3 points; negative if accuracy improved)
# ```
#
# `build_report` computes the ratios; the verdicts come from `target.checks(...)`, and `passed` is true
# when no verdict is `False` (a `None` verdict is not a failure). The scaffolding copies the measurements
# and the target into the report, so the report is self-contained: anyone holding the file can redo the
# arithmetic.

# %% nbgrader={"grade": false, "grade_id": "build-report", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
METRIC_KEYS = ("accuracy", "nbytes", "params", "latency_ms")
RATIO_KEYS = ("size_reduction", "param_reduction", "speedup", "accuracy_drop")


def _ratios(baseline: dict, optimized: dict) -> dict:
    """The four derived numbers of a report (see the worked example)."""
    ### BEGIN SOLUTION
    return {
        "size_reduction": baseline["nbytes"] / optimized["nbytes"],
        "param_reduction": baseline["params"] / optimized["params"],
        "speedup": baseline["latency_ms"] / optimized["latency_ms"],
        "accuracy_drop": baseline["accuracy"] - optimized["accuracy"],
    }
    ### END SOLUTION


def build_report(baseline: dict, optimized: dict, target: OptimizationTarget, notes: str = "") -> dict:
    """The report of one optimization: measurements, ratios, verdicts and the target.

    Returns {"baseline": {...}, "optimized": {...}, "target": {...}, "size_reduction": float,
             "param_reduction": float, "speedup": float, "accuracy_drop": float,
             "checks": {"size", "accuracy", "speed"}, "passed": bool, "notes": str}
    EXAMPLE: see the worked example above.
    """
    for name, metrics in (("baseline", baseline), ("optimized", optimized)):
        missing = [k for k in METRIC_KEYS if k not in metrics]
        if missing:
            raise KeyError(f"{name} metrics lack {missing}; use evaluate_model's dict")
    ratios = {k: float(v) for k, v in _ratios(baseline, optimized).items()}
    checks = target.checks(ratios["size_reduction"], ratios["accuracy_drop"], ratios["speedup"])
    return {"baseline": dict(baseline), "optimized": dict(optimized), "target": asdict(target), **ratios,
            "checks": checks, "passed": all(v is not False for v in checks.values()), "notes": str(notes)}

# %% mutant={"name": "accuracy-drop-sign", "target": "build-report", "replace": "\"accuracy_drop\": baseline[\"accuracy\"] - optimized[\"accuracy\"],", "catches": ["test-build-report"]}
# Reverses the subtraction: a loss of accuracy shows up as a negative drop.
"accuracy_drop": optimized["accuracy"] - baseline["accuracy"],

# %% [markdown]
# The test builds the worked example's report and checks every ratio, the verdicts and `passed`, then
# the same report against a target it misses.

# %% nbgrader={"grade": true, "grade_id": "test-build-report", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
BASE_EXAMPLE = {"accuracy": 0.972, "nbytes": 38440, "params": 9610, "latency_ms": 0.40}
OPT_EXAMPLE = {"accuracy": 0.969, "nbytes": 5624, "params": 4810, "latency_ms": 0.30}


def test_build_report():
    """The worked example: ratios, verdicts, passed, and a missed target."""
    r = build_report(BASE_EXAMPLE, OPT_EXAMPLE, OptimizationTarget(), notes="example")
    assert abs(r["size_reduction"] - 38440 / 5624) < 1e-9, f"size_reduction = 38440 / 5624 = 6.835, got {r['size_reduction']}"
    assert abs(r["param_reduction"] - 9610 / 4810) < 1e-9, f"param_reduction = 9610 / 4810 = 1.998, got {r['param_reduction']}"
    assert abs(r["speedup"] - 0.40 / 0.30) < 1e-9, f"speedup = baseline latency / optimized latency = 1.333, got {r['speedup']}"
    assert abs(r["accuracy_drop"] - 0.003) < 1e-9, f"accuracy_drop = 0.972 - 0.969 = 0.003, got {r['accuracy_drop']}"
    assert r["checks"] == {"size": True, "accuracy": True, "speed": None} and r["passed"] is True, \
        f"6.8x smaller and 0.3 points lost meet the default target; got {r['checks']}, passed={r['passed']}"
    assert r["baseline"] == BASE_EXAMPLE and r["optimized"] == OPT_EXAMPLE and r["target"]["min_size_reduction"] == 4.0
    strict = build_report(BASE_EXAMPLE, OPT_EXAMPLE, OptimizationTarget(8.0, 0.001, 2.0))
    assert strict["checks"] == {"size": False, "accuracy": False, "speed": False} and strict["passed"] is False, \
        f"a 8x / 0.1 point / 2x target is missed on all three counts; got {strict['checks']}"
    print("build_report: OK")
test_build_report()
### BEGIN HIDDEN TESTS
_gain = build_report(BASE_EXAMPLE, dict(OPT_EXAMPLE, accuracy=0.98), OptimizationTarget())
assert _gain["accuracy_drop"] < 0 and _gain["checks"]["accuracy"], "an accuracy gain is a negative drop, and passes"
json.dumps(_gain)        # a report must be plain JSON data
### END HIDDEN TESTS

# %% [markdown]
# ### Checking a report
#
# `check_report(report, target, remeasured)` returns a list of human-readable failures; an empty list
# means the report can be trusted. It looks for three kinds of problems:
#
# 1. **Inconsistency**: a ratio in the report that does not follow from the report's own measurements
#    (within a relative tolerance of `1e-6`), or a `passed` flag that disagrees with the verdicts.
#    This is what a hand-edited or stale report looks like.
# 2. **Missed targets**: each verdict of `target.checks(...)` that is `False`, recomputed from the
#    report's measurements, with the numbers in the message ("size: 3.50x smaller, target >= 4.00x").
#    The target defaults to the one stored in the report.
# 3. **Disagreement with a re-measurement**: `remeasured` is a fresh `evaluate_model` of the shipped
#    model. Accuracy, bytes and stored values are deterministic, so they must agree exactly (within
#    `TOL`). Latency is **not** compared: two honest timings of the same model differ (module 19), so a
#    check on it would fail at random.
#
# Each failure message starts with the name of what failed (`size_reduction`, `passed`, `size`,
# `accuracy`, `speed`, `nbytes`, ...), so that a script can tell them apart.

# %% nbgrader={"grade": false, "grade_id": "check-report", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def check_report(report: dict, target: OptimizationTarget | None = None, remeasured: dict | None = None) -> list:
    """A list of failure messages (empty if the report is consistent, meets its target and agrees with
    the re-measurement). See the three kinds of checks above.

    EXAMPLE: check_report(dict(good_report, size_reduction=10.0))
             -> ["size_reduction: the report says 10 but its measurements give 6.835"]
    HINTS:
    - expected = _ratios(report["baseline"], report["optimized"]); compare with math.isclose(..., rel_tol=1e-6, abs_tol=TOL)
    - verdicts = target.checks(expected["size_reduction"], expected["accuracy_drop"], expected["speedup"])
    - the `passed` flag is consistent when it equals all(v is not False for v in verdicts.values())
    """
    target = OptimizationTarget(**report["target"]) if target is None else target
    optimized = report["optimized"]
    failures = []
    # 1. consistency: every ratio must follow from the report's own measurements
    ### BEGIN SOLUTION
    expected = _ratios(report["baseline"], optimized)
    for key, value in expected.items():
        if not math.isclose(report[key], value, rel_tol=1e-6, abs_tol=TOL):
            failures.append(f"{key}: the report says {report[key]:.6g} but its measurements give {value:.6g}")
    ### END SOLUTION
    # 2. verdicts: recompute them, check the passed flag, and report every missed target
    ### BEGIN SOLUTION
    verdicts = target.checks(expected["size_reduction"], expected["accuracy_drop"], expected["speedup"])
    if report["passed"] != all(v is not False for v in verdicts.values()):
        failures.append(f"passed: the report says {report['passed']} but the verdicts are {verdicts}")
    if verdicts["size"] is False:
        failures.append(f"size: {expected['size_reduction']:.2f}x smaller, target >= {target.min_size_reduction:.2f}x")
    if verdicts["accuracy"] is False:
        failures.append(f"accuracy: dropped {100 * expected['accuracy_drop']:.2f} points, "
                        f"target <= {100 * target.max_accuracy_drop:.2f} points")
    if verdicts["speed"] is False:
        failures.append(f"speed: {expected['speedup']:.2f}x faster, target >= {target.min_speedup:.2f}x")
    ### END SOLUTION
    # 3. re-measurement: the deterministic numbers (not the latency) must agree within TOL
    if remeasured is not None:
        ### BEGIN SOLUTION
        for key in ("accuracy", "nbytes", "params"):
            if not math.isclose(remeasured[key], optimized[key], rel_tol=0.0, abs_tol=TOL):
                failures.append(f"{key}: re-measured {remeasured[key]:.6g}, the report says {optimized[key]:.6g}")
        ### END SOLUTION
    return failures

# %% mutant={"name": "passed-ignores-unjudged-speed", "target": "check-report", "region": 1, "replace": "if report[\"passed\"] != all(v is not False for v in verdicts.values()):", "catches": ["test-check-report"]}
# all() over the verdicts treats "speed not judged" (None) as a failure.
if report["passed"] != all(verdicts.values()):

# %% mutant={"name": "remeasure-relative-only", "target": "check-report", "region": 2, "replace": "if not math.isclose(remeasured[key], optimized[key], rel_tol=0.0, abs_tol=TOL):", "catches": ["test-check-report"]}
# A 1% relative tolerance lets a re-measured accuracy differ by a whole test sample or more.
if not math.isclose(remeasured[key], optimized[key], rel_tol=0.01):

# %% [markdown]
# The test starts from the worked example's (good) report, which must produce no failures, then breaks it
# in one way at a time and checks that exactly the right failure is reported: an edited ratio, a false
# `passed` flag, a stricter target, a re-measurement that disagrees, and one that differs only in latency
# (which must not count).

# %% nbgrader={"grade": true, "grade_id": "test-check-report", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
def _names(failures):
    return [f.split(":")[0] for f in failures]


def test_check_report():
    """No failures for a good report; exactly the right one for each kind of defect."""
    good = build_report(BASE_EXAMPLE, OPT_EXAMPLE, OptimizationTarget())
    assert check_report(good) == [], f"the worked example's report is consistent and meets its target: {check_report(good)}"
    edited = dict(good, size_reduction=10.0)
    assert _names(check_report(edited)) == ["size_reduction"], \
        f"an edited size_reduction must be reported (and nothing else): {check_report(edited)}"
    assert "6.83" in check_report(edited)[0], f"say what the measurements give: {check_report(edited)}"
    assert _names(check_report(dict(good, passed=False))) == ["passed"], "a passed flag that contradicts the verdicts"
    strict = check_report(good, OptimizationTarget(8.0, 0.02, 2.0))
    assert sorted(_names(strict)) == ["passed", "size", "speed"], \
        f"against an 8x / 2x target: size and speed are missed (and the stored passed=True is now wrong), got {strict}"
    assert any("6.83" in f and "8.00" in f for f in strict), f"the size message should give both numbers: {strict}"
    worse = check_report(good, OptimizationTarget(4.0, 0.001))
    assert "accuracy" in _names(worse) and any("0.30" in f for f in worse), f"0.3 points lost > 0.1 allowed: {worse}"
    same = dict(OPT_EXAMPLE, latency_ms=9.9)
    assert check_report(good, remeasured=same) == [], "latency differs between honest timings: it must not be compared"
    off = check_report(good, remeasured=dict(OPT_EXAMPLE, accuracy=0.95, nbytes=5625))
    assert sorted(_names(off)) == ["accuracy", "nbytes"], f"re-measured accuracy and bytes disagree with the report: {off}"
    print("check_report: OK")
test_check_report()
### BEGIN HIDDEN TESTS
_good = build_report(BASE_EXAMPLE, OPT_EXAMPLE, OptimizationTarget())
assert _names(check_report(dict(_good, accuracy_drop=0.0))) == ["accuracy_drop"]
assert _names(check_report(dict(_good, speedup=1.3333334))) == [], "relative tolerance 1e-6"
assert _names(check_report(_good, remeasured=dict(OPT_EXAMPLE, params=4811))) == ["params"]
_loose = json.loads(json.dumps(_good))
assert check_report(_loose) == [], "a report read back from JSON must check the same"
### END HIDDEN TESTS

# %% [markdown]
# ### Writing it down, atomically
#
# Reports are read by people and by scripts (a CI job that fails when a model regresses). A script that
# reads a half-written file, because it ran while the report was being written or because the writer
# crashed, sees garbage or, worse, a truncated but valid-looking file. The cure, which you met in module
# 07's checkpoints, is the **atomic write**:
#
# ```
#   1. write the whole text to a temporary file IN THE SAME FOLDER    report.json.ab12.tmp
#   2. os.replace(temporary, path)                                     one atomic rename
#   -> a reader sees either the old complete file or the new complete file, never a mix
#   on any error: delete the temporary file and re-raise (nothing half-written is left behind)
# ```
#
# The same folder matters: a rename is only atomic within one file system. `report_markdown` (given)
# renders the report as a Markdown table for people; a `.json` path gets the report as JSON for scripts.

# %%
#| export
def _jsonable(value):
    """Plain Python types for JSON: NumPy scalars and arrays become numbers and lists."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    return value


def report_markdown(report: dict) -> str:
    """The report as a Markdown document: a table of the measurements and a table of the verdicts."""
    b, o, t = report["baseline"], report["optimized"], report["target"]
    mark = {True: "met", False: "MISSED", None: "reported only"}
    lines = ["# Optimization report", "",
             "| metric | baseline | optimized | change |", "|---|---:|---:|---:|",
             f"| test accuracy | {b['accuracy']:.2%} | {o['accuracy']:.2%} | {-100 * report['accuracy_drop']:+.2f} points |",
             f"| stored bytes | {b['nbytes']:,} | {o['nbytes']:,} | {report['size_reduction']:.2f}x smaller |",
             f"| stored values | {b['params']:,} | {o['params']:,} | {report['param_reduction']:.2f}x fewer |",
             f"| latency (median) | {b['latency_ms']:.3f} ms | {o['latency_ms']:.3f} ms | {report['speedup']:.2f}x faster |",
             "", "| target | required | achieved | verdict |", "|---|---:|---:|---|",
             f"| size | >= {t['min_size_reduction']:.2f}x | {report['size_reduction']:.2f}x | {mark[report['checks']['size']]} |",
             f"| accuracy | <= {100 * t['max_accuracy_drop']:.2f} points lost | {100 * report['accuracy_drop']:.2f} points "
             f"| {mark[report['checks']['accuracy']]} |",
             f"| speed | {'none' if t['min_speedup'] is None else '>= %.2fx' % t['min_speedup']} | {report['speedup']:.2f}x "
             f"| {mark[report['checks']['speed']]} |",
             "", f"**{'All targets met.' if report['passed'] else 'Targets missed.'}**"]
    if report.get("notes"):
        lines += ["", report["notes"]]
    return "\n".join(lines) + "\n"

# %% nbgrader={"grade": false, "grade_id": "write-report", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def write_report(report: dict, path) -> Path:
    """Write `report` to `path` atomically (Markdown for a .md path, else JSON) and return the Path.

    HINTS:
    - fd, tmp = tempfile.mkstemp(dir=path.parent, prefix="." + path.name + ".", suffix=".tmp")
    - with os.fdopen(fd, "w", encoding="utf-8") as fh: fh.write(text)    then os.replace(tmp, path)
    - wrap both in try/except BaseException: remove tmp if it still exists, then raise
    """
    path = Path(path)
    if path.suffix.lower() == ".md":
        text = report_markdown(report)
    else:
        text = json.dumps(_jsonable(report), indent=2, sort_keys=True) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    ### BEGIN SOLUTION
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix="." + path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    ### END SOLUTION
    return path


def read_report(path) -> dict:
    """A report written by write_report as JSON."""
    return json.loads(Path(path).read_text(encoding="utf-8"))

# %% [markdown]
# The test writes a report and reads it back, checks the Markdown rendering, then tells an atomic write
# from an in-place one by its behaviour: a reader that opened the old file *before* the write must still
# read the complete old report, and no temporary file may be left behind.

# %% nbgrader={"grade": true, "grade_id": "test-write-report", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
def test_write_report():
    """Round trip, Markdown, replace-not-overwrite, and no leftovers."""
    good = build_report(BASE_EXAMPLE, OPT_EXAMPLE, OptimizationTarget(), notes="worked example")
    with tempfile.TemporaryDirectory() as folder:
        path = write_report(good, Path(folder) / "sub" / "report.json")
        assert path == Path(folder) / "sub" / "report.json" and path.is_file(), "write_report returns the Path it wrote"
        assert read_report(path) == json.loads(json.dumps(good)), "the JSON file must hold the whole report"
        md = write_report(good, Path(folder) / "sub" / "report.md").read_text(encoding="utf-8")
        assert "6.83x smaller" in md and "All targets met." in md, "a .md path gets report_markdown's text"
        with open(path, encoding="utf-8") as old_reader:   # a reader holding the old file open...
            write_report(dict(good, notes="second version"), path)
            old = json.loads(old_reader.read())
        assert old["notes"] == "worked example", \
            "a reader of the old file was disturbed: write to a temporary file and os.replace it, do not overwrite in place"
        assert read_report(path)["notes"] == "second version", "the new report must be in place after the write"
        leftovers = sorted(p.name for p in (Path(folder) / "sub").iterdir())
        assert leftovers == ["report.json", "report.md"], f"no temporary files may be left behind: {leftovers}"
    print("write_report: OK")
test_write_report()
### BEGIN HIDDEN TESTS
with tempfile.TemporaryDirectory() as _folder:
    _path = write_report(build_report(BASE_EXAMPLE, OPT_EXAMPLE, OptimizationTarget()), Path(_folder) / "r.json")
    _before = _path.read_text(encoding="utf-8")
    _real_replace = os.replace

    def _crash(*args, **kwargs):
        raise OSError("simulated crash during the rename")

    os.replace = _crash
    try:
        write_report(dict(read_report(_path), notes="never written"), _path)
        raise AssertionError("an error during the write must propagate")
    except OSError:
        pass
    finally:
        os.replace = _real_replace
    assert _path.read_text(encoding="utf-8") == _before, "after a failed write the old report must be intact"
    assert [p.name for p in Path(_folder).iterdir()] == ["r.json"], "a failed write must delete its temporary file"
### END HIDDEN TESTS

# %% [markdown]
# ## 7. The capstone run
#
# Everything together, on the real model: state the target, optimize, measure the shipped model with the
# same instrument as the baseline, build the report, write it (JSON for scripts, Markdown for people),
# read it back and check it against a **fresh** measurement of the shipped model. The speed-up is
# measured and written down, with a note on why it is not a target.
#
# The files go to a folder in your system's temporary directory, printed below.

# %%
target = OptimizationTarget(min_size_reduction=4.0, max_accuracy_drop=0.02, min_speedup=None)
t0 = time.perf_counter()
shipped = optimize_model(baseline, x_train, y_train, prune_amount=0.5, finetune_epochs=5)
optimize_seconds = time.perf_counter() - t0
shipped_metrics = evaluate_model(shipped, x_test, y_test)
notes = (f"Test set: {len(y_test)} held-out digits. Pipeline: prune 50% of the hidden neurons, fine-tune 5 epochs "
         f"by distillation from the baseline, int8 per-channel quantization ({optimize_seconds:.2f} s). "
         f"Latency: median of 20 forward passes over the whole test set on this machine. Speed is reported, not "
         f"promised: QuantizedLinear dequantizes its weights on every call, and timings vary between machines and runs.")
report = build_report(base_metrics, shipped_metrics, target, notes=notes)
out_dir = Path(tempfile.gettempdir()) / "tinytorch_capstone"
json_path = write_report(report, out_dir / "report.json")
md_path = write_report(report, out_dir / "report.md")
print(f"report written to {json_path} and {md_path}\n")
print(md_path.read_text(encoding="utf-8"))
failures = check_report(read_report(json_path), target, remeasured=evaluate_model(shipped, x_test, y_test))
print("check_report:", failures or "no failures")

# %% [markdown]
# The grader does what a sceptical colleague would: it reads your report file, re-measures your shipped
# model from scratch (accuracy with module 16's `accuracy`, bytes with `model_nbytes`), compares, and checks
# that the targets are met and the baseline was left as it was.

# %% nbgrader={"grade": true, "grade_id": "test-capstone", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
def test_capstone():
    """The shipped model meets the target, and the report on disk agrees with a fresh measurement."""
    on_disk = read_report(json_path)
    assert check_report(on_disk, target, remeasured=evaluate_model(shipped, x_test, y_test, repeats=3)) == [], \
        f"the report on disk must be consistent, meet the target and agree with a re-measurement: {check_report(on_disk, target)}"
    acc_base, acc_ship = accuracy(baseline, x_test, y_test), accuracy(shipped, x_test, y_test)
    assert acc_base == on_disk["baseline"]["accuracy"] and acc_ship == on_disk["optimized"]["accuracy"], \
        "the accuracies in the report must be the ones the models really have on the test set"
    ratio = model_nbytes(baseline) / model_nbytes(shipped)
    assert ratio >= 4.0, f"the shipped model must be at least 4x smaller than the baseline, it is {ratio:.2f}x"
    assert acc_ship >= acc_base - 0.02, f"at most 2 points may be lost: {acc_base:.2%} -> {acc_ship:.2%}"
    assert any(isinstance(m, QuantizedLinear) for m in shipped.modules()), "the shipped model should use int8 weights"
    assert on_disk["passed"] is True and on_disk["checks"]["speed"] is None
    print(f"capstone: OK ({ratio:.2f}x smaller, {acc_base:.2%} -> {acc_ship:.2%})")
test_capstone()
### BEGIN HIDDEN TESTS
assert model_nbytes(baseline) == 38440 and isinstance(baseline[0], Linear) and baseline[0].out_features == 128, \
    "the baseline must not be modified by the pipeline"
assert abs(accuracy(baseline, x_test, y_test) - base_metrics["accuracy"]) < 1e-12
_on_disk = read_report(json_path)
assert report_markdown(_on_disk) == md_path.read_text(encoding="utf-8"), "the Markdown and JSON files must hold the same report"
assert _on_disk["optimized"]["nbytes"] == model_nbytes(shipped) and _on_disk["optimized"]["params"] == count_stored_values(shipped)
### END HIDDEN TESTS

# %% [markdown]
# ## 8. Systems analysis
#
# The pipeline met the target. An engineer's next questions: what did each step contribute, how far could
# we go, where does the time go now, and how much should we trust the latency column?
#
# ### 8.1 What each step buys
#
# We run the pipeline with steps switched off one at a time (same seeds, same data), and measure every
# variant with `evaluate_model`. The low-rank variant replaces the first layer by a rank-16 factorization
# instead of pruning it.

# %%
variants = {
    "baseline (float32)": baseline,
    "quantize only": optimize_model(baseline, x_train, y_train, prune_amount=0.0, finetune_epochs=0),
    "prune 50%, no fine-tune": optimize_model(baseline, x_train, y_train, finetune_epochs=0, quantize=False),
    "prune 50% + fine-tune": optimize_model(baseline, x_train, y_train, quantize=False),
    "prune + fine-tune + int8": shipped,
    "low-rank 16 + fine-tune": optimize_model(baseline, x_train, y_train, prune_amount=0.0, rank=[16, None], quantize=False),
}
ablation = {name: evaluate_model(m, x_test, y_test) for name, m in variants.items()}
print(f"{'variant':26s} {'bytes':>7s} {'smaller':>8s} {'values':>7s} {'accuracy':>9s} {'latency ms':>11s} {'speed-up':>9s}")
for name, m in ablation.items():
    print(f"{name:26s} {m['nbytes']:7,d} {base_metrics['nbytes'] / m['nbytes']:7.2f}x {m['params']:7,d} "
          f"{m['accuracy']:9.2%} {m['latency_ms']:11.3f} {base_metrics['latency_ms'] / m['latency_ms']:8.2f}x")

# %% [markdown]
# Read the table row by row:
#
# - **Quantization alone** gives a little under 4x: every weight shrinks from 4 bytes to 1, but every output
#   channel keeps 12 bytes of float32 scale, int32 zero point and float32 bias. Alone it misses our target.
# - **Pruning alone** halves the values, and the accuracy drops until **fine-tuning** repairs most or all of
#   the damage: the two steps belong together.
# - The factors **multiply**: pruning times quantization gives the shipped model's reduction.
# - **Low-rank** factorization of the first layer is another way to cut values; compare its accuracy and
#   size with pruning at a similar size. Our `quantize_model` leaves `LowRankLinear` layers in float32, so
#   combining the two would need a quantized low-rank layer.
# - The latency column is the honest part: compare how much the FLOPs fell with how much the time fell.
#
# ### 8.2 How far can we go? The size/accuracy frontier
#
# The target only asked for 4x. How much smaller could the model get before it misses the accuracy limit?
# We sweep the pruning amount (always fine-tuning and quantizing) and mark which variants meet the target.

# %%
frontier = []
print(f"{'pruned':>7s} {'hidden':>7s} {'bytes':>7s} {'smaller':>8s} {'accuracy':>9s} {'drop (points)':>14s}  target")
for amount in (0.25, 0.5, 0.75, 0.875, 0.9375):
    m = optimize_model(baseline, x_train, y_train, prune_amount=amount, finetune_epochs=5)
    metrics = evaluate_model(m, x_test, y_test, repeats=5)
    r = build_report(base_metrics, metrics, target)
    frontier.append((amount, m[0].out_features, r))
    print(f"{amount:7.2%} {m[0].out_features:7d} {metrics['nbytes']:7,d} {r['size_reduction']:7.2f}x "
          f"{metrics['accuracy']:9.2%} {100 * r['accuracy_drop']:14.2f}  {'met' if r['passed'] else 'missed'}")
best = max((f for f in frontier if f[2]["passed"]), key=lambda f: f[2]["size_reduction"], default=None)
if best:
    print(f"\nsmallest model meeting the target: {best[1]} hidden neurons, {best[2]['size_reduction']:.1f}x smaller")

# %% [markdown]
# Accuracy falls slowly at first and then quickly: a network this size has more neurons than the task
# strictly needs, up to a point. Where the cliff is depends on the task, the data and the fine-tuning
# budget, which is why the sweep is measured rather than guessed. Notice also that the size reduction grows
# more slowly than the number of neurons removed suggests: the second layer's 10 output channels, with their
# scales, zero points and biases, never shrink.
#
# ### 8.3 Where the bytes of the shipped model go
#
# A quantized layer is more than its codes. Here is the shipped model's storage, piece by piece.

# %%
print(f"{'layer':26s} {'int8 codes':>11s} {'scales':>7s} {'zero pts':>9s} {'bias':>6s} {'total':>7s} {'overhead':>9s}")
for i, layer in enumerate(shipped.layers):
    if isinstance(layer, QuantizedLinear):
        codes, sc, zp = layer.q_weight.nbytes, layer.scale.nbytes, layer.zero_point.nbytes
        bias = 0 if layer.bias is None else layer.bias.data.nbytes
        total = layer.nbytes()
        print(f"{i}: QuantizedLinear({layer.in_features}, {layer.out_features})".ljust(26) +
              f" {codes:11,d} {sc:7,d} {zp:9,d} {bias:6,d} {total:7,d} {(total - codes) / total:8.1%}")
print(f"{'model_nbytes(shipped)':26s} {model_nbytes(shipped):>44,d}")

# %% [markdown]
# The overhead column is the fraction of each layer's bytes that are not weight codes. Every output channel
# stores one int8 code per input plus 12 bytes of metadata (a float32 scale, an int32 zero point and a
# float32 bias), so the overhead is `12 / (in_features + 12)` of the layer: it depends on how many inputs
# share the metadata, not on how many outputs there are, which is why both layers above (64 inputs each)
# show the same fraction. A layer with only a few inputs per output would pay relatively more. Storing zero
# points as int8 and biases as int32 (as production int8 formats do) would cut the overhead further.
#
# ### 8.4 Where the time goes now
#
# Profile the shipped model like the baseline, and time the part of a `QuantizedLinear` call that the float
# model never pays: turning the int8 codes back into float32 weights.

# %%
print(format_profile(profile_model(shipped, Tensor(x_test), repeats=10)))
q0 = shipped[0]
dequant = measure_latency(q0.dequantized_weight, repeats=20)["median"] * 1e3
call = measure_latency(lambda: q0(Tensor(x_test)), repeats=20)["median"] * 1e3
print(f"\nlayer 0: one forward call {call:.3f} ms, of which dequantizing the weights {dequant:.3f} ms ({dequant / call:.0%})")

# %% [markdown]
# Two things to read here. First, module 14's profiler counts parameters and FLOPs only for the layers it
# knows, so the quantized layers show zeros in those columns (one more reason why `evaluate_model` counts
# stored values itself). Second, the dequantization share printed above is pure overhead: a real int8
# runtime avoids it by multiplying the codes directly with integer arithmetic (module 15's
# `integer_linear`) on hardware built for it. NumPy gives the int8 path no such advantage, so whatever
# speed-up the shipped model shows comes from the smaller matrices that pruning left, not from the int8
# weights. The model is first of all **smaller**.
#
# ### 8.5 How much should we trust the latency column?
#
# The same model, measured five times in a row with the same protocol:

# %%
again = [evaluate_model(shipped, x_test, y_test)["latency_ms"] for _ in range(5)]
base_again = [evaluate_model(baseline, x_test, y_test)["latency_ms"] for _ in range(5)]
print("shipped  latency ms:", " ".join(f"{v:.3f}" for v in again))
print("baseline latency ms:", " ".join(f"{v:.3f}" for v in base_again))
print(f"spread (max / min): shipped {max(again) / min(again):.2f}x, baseline {max(base_again) / min(base_again):.2f}x; "
      f"speed-up from the medians of these runs {np.median(base_again) / np.median(again):.2f}x")

# %% [markdown]
# Compare the spread of each row with the speed-up in the report. Even medians of 20 repeats can move from
# run to run, and on a machine shared with other work sometimes by a lot. One common cause on a busy
# machine: the linear-algebra library splits a large matrix product across threads, and when another
# process holds a core, the product waits for the operating system to schedule the missing thread, so its
# time jumps by whole scheduler time slices. That is why `check_report` never compares latencies exactly,
# why the speed target is optional, and why a serious speed claim needs module 19's confidence intervals
# and a quiet machine. Bytes and accuracy, by contrast, are the same every time: they are the numbers a
# report can promise.
#
# ## Summary
#
# - Optimization starts with a **target** in measurable units (stored bytes, points of accuracy on a fixed
#   test set), decided before any code is changed.
# - **One instrument** (`evaluate_model`) measures every model the same way; the **profile** tells you where
#   the bytes and the time are, and therefore which optimization can reach the target.
# - The pipeline order follows from what each step needs: **prune**, then **fine-tune** (by distillation, with
#   the original as teacher), then **quantize**. The savings multiply.
# - A **report** keeps measurements, ratios and verdicts together so each layer can be re-derived from the one
#   below; `check_report` catches inconsistent, over-claimed or stale reports; deterministic numbers are
#   re-measured exactly, timings never are.
# - Results are written **atomically** (temporary file + `os.replace`), and the report says honestly what was
#   achieved: here, a model several times smaller at nearly the same accuracy, whose speed is reported but
#   not promised.
#
# ## Reflection questions
#
# 1. Our target counts stored bytes. The device also needs memory for the activations of one forward pass.
#    Using the profile tables, estimate the activation memory of one digit through the baseline and through
#    the shipped model. Which one is larger, the weights or the activations?
# 2. Why must fine-tuning come before quantization in our pipeline? Sketch how *quantization-aware training*
#    (rounding the weights in the forward pass while keeping float weights for the optimizer) would let you
#    fine-tune after deciding to quantize.
# 3. The frontier in section 8.2 was measured on the test set, and we then picked the smallest model that met
#    the target. Why is that a (mild) form of cheating, and how would you fix it with a validation split?
# 4. Which entries of the report would a CI job compare against last week's report to catch a regression, and
#    with which tolerances? Why not the latency?
# 5. A colleague proposes a "4x faster" target for the next release. Using the profile of the shipped model,
#    Amdahl's law and section 8.5, write down what you would need to measure, and on which machine, before
#    agreeing to it.
