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
#     title: Benchmarking
#     summary: Build a benchmark harness with warm-up, repeats, robust statistics and bootstrap confidence intervals, then use it to compare models on accuracy, latency, size and memory, and publish the result as a table and a hand-written SVG chart.
#     tier: optimization
#     minutes: 120
#     prerequisites: [01_tensor, 02_activations, 03_layers, 04_losses, 05_autograd, 06_optimizers, 18_acceleration]
#     objectives:
#       - Explain why a single timing is not a measurement, and what warm-up, repeats and the median each fix
#       - Summarise timings with robust statistics (median, interquartile range) and a bootstrap confidence interval
#       - Build a reusable Benchmark harness and test it deterministically with a fake clock
#       - Compare models on accuracy, latency, parameter size and peak memory in one report
#       - Decide with a confidence interval whether one implementation is really faster than another
#       - Publish results as a Markdown table and an SVG chart written by hand
#     exports: [Benchmark, BenchmarkResult, bootstrap_ci, speedup, compare_models, format_report, save_svg_bar_chart]
#     milestone: null
# ---

# %% [markdown]
# # Module 19: Benchmarking
#
# Module 18 claimed that one matrix product was hundreds of times faster than another. How sure can we
# be of such a number? Run the same timing twice and you get two different answers: the operating
# system schedules other work, the CPU changes its clock speed, caches are warm or cold, Python's
# garbage collector wakes up. A single timing is an anecdote. A **benchmark** is an experiment: it
# controls what it can (warm-up, repetition), summarises what it cannot (robust statistics), and says
# how uncertain its answer is (a confidence interval).
#
# Optimisation work lives and dies by this. The next module (memoization) promises a speed-up for text
# generation; without a trustworthy way to measure, you cannot tell a real 3x from noise, or notice
# that a "faster" model quietly lost accuracy. In this module you build the measuring instrument.
#
# ## What you will build
#
# - `BenchmarkResult`: the timings of one experiment with median, spread and a confidence interval,
# - `bootstrap_ci(samples)`: a confidence interval for any statistic, by resampling,
# - `Benchmark(fn, warmup, repeats, number)`: the harness,
# - `compare_models(models, x, y)`: accuracy, latency, size and memory of several models in one report,
# - `format_report(rows)` and `save_svg_bar_chart(path, ...)`: a table and a chart to publish.
#
# ## Learning objectives
#
# - Explain why a single timing is not a measurement, and what warm-up, repeats and the median each fix.
# - Summarise timings with robust statistics (median, interquartile range) and a bootstrap confidence interval.
# - Build a reusable `Benchmark` harness and test it deterministically with a fake clock.
# - Compare models on accuracy, latency, parameter size and peak memory in one report.
# - Decide with a confidence interval whether one implementation is really faster than another.
# - Publish results as a Markdown table and an SVG chart written by hand.

# %%
#| default_exp perf.benchmarking

# %%
#| export
import gc
import time
import tracemalloc
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np

from tinytorch.core.tensor import Tensor
from tinytorch.core.autograd import no_grad

# %%
#| hide
import tempfile
import xml.etree.ElementTree as ET

from tinytorch.core.activations import ReLU
from tinytorch.core.layers import Linear, Sequential
from tinytorch.core.losses import CrossEntropyLoss
from tinytorch.core.optimizers import Adam
from tinytorch.perf.acceleration import FusedLinearReLU

np.set_printoptions(precision=4, suppress=True)

# %% [markdown]
# ## 1. Anatomy of a measurement
#
# ```
#   call 1   call 2   call 3   ...                           call 3+r
#  [warm-up][warm-up][ timed  ][ timed  ][ timed  ] ... [ timed  ]
#   untimed: caches,   each timed repeat runs fn `number` times and records
#   allocator, lazy    (t_end - t_start) / number   -> one sample per repeat
#   initialisation
#                                    samples --> median, spread, confidence interval
# ```
#
# - **Warm-up** calls run first and are thrown away. The first call of a function often pays one-time
#   costs: memory the allocator has not handed out before, data not yet in cache, code paths not yet
#   taken. We want the steady state, the cost of the millionth call.
# - **Repeats** give us a sample of timings instead of one number, so we can see the noise.
# - **number** runs the function several times inside one timed repeat. A timer has finite resolution and
#   its own overhead; for a function that takes a microsecond, timing 1000 calls at once and dividing
#   gives a far better estimate than timing one.
#
# ### Why the median?
#
# Timing noise is **one-sided**: other processes, interrupts and the garbage collector can only make a
# run slower, never faster. A handful of slow outliers drags the mean up, but barely moves the median.
# Worked example, five timings in milliseconds:
#
# ```
#   times  = [10, 11, 12, 13, 50]          (one run was interrupted)
#   mean   = 96 / 5 = 19.2 ms              pulled far from every typical run
#   median = 12 ms                         the middle value: a typical run
#   IQR    = q75 - q25 = 13 - 11 = 2 ms    spread of the middle half, also blind to the outlier
#   std    = 17.4 ms                       dominated by the outlier
# ```
#
# So we report the **median** as the typical time and the **interquartile range** (IQR) as the spread.
# The percentiles use linear interpolation between sorted values (NumPy's default): `q25` of five
# sorted values is the second one, `q75` the fourth.

# %% nbgrader={"grade": false, "grade_id": "robust-stats", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def robust_stats(times) -> dict:
    """Summary statistics of a 1-D sample of timings (seconds).

    Returns a dict with keys: n, min, max, mean, std (sample std, ddof=1; 0.0 for a single value),
    median, q25, q75, iqr (= q75 - q25). All values are Python floats except n (int).
    EXAMPLE: robust_stats([10, 11, 12, 13, 50]) -> median 12.0, mean 19.2, q25 11.0, q75 13.0, iqr 2.0
    HINT: np.percentile(t, [25, 75]) gives both quartiles at once.
    """
    t = np.asarray(times, dtype=np.float64)
    if t.ndim != 1 or t.size == 0:
        raise ValueError(f"need a non-empty 1-D sample of timings, got shape {t.shape}")
    ### BEGIN SOLUTION
    q25, q75 = np.percentile(t, [25, 75])
    return {
        "n": int(t.size),
        "min": float(t.min()),
        "max": float(t.max()),
        "mean": float(t.mean()),
        "std": float(t.std(ddof=1)) if t.size > 1 else 0.0,
        "median": float(np.median(t)),
        "q25": float(q25),
        "q75": float(q75),
        "iqr": float(q75 - q25),
    }
    ### END SOLUTION

# %% mutant={"name": "population-std", "target": "robust-stats", "replace": "    \"std\": float(t.std(ddof=1)) if t.size > 1 else 0.0,", "catches": ["test-robust-stats"]}
    # NumPy's default std divides by n, not n - 1.
    "std": float(t.std()),

# %% mutant={"name": "iqr-is-range", "target": "robust-stats", "replace": "    \"iqr\": float(q75 - q25),", "catches": ["test-robust-stats"]}
    # Confuses the interquartile range with the full range.
    "iqr": float(t.max() - t.min()),

# %% nbgrader={"grade": true, "grade_id": "test-robust-stats", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
def test_robust_stats():
    """The worked example, robustness of median/IQR to an outlier, and the single-sample case."""
    s = robust_stats([10, 11, 12, 13, 50])
    assert s["n"] == 5 and s["min"] == 10 and s["max"] == 50, f"n/min/max wrong: {s}"
    assert abs(s["mean"] - 19.2) < 1e-12, f"mean should be 19.2, got {s['mean']}"
    assert s["median"] == 12 and s["q25"] == 11 and s["q75"] == 13 and s["iqr"] == 2, \
        f"median 12, q25 11, q75 13, iqr 2 expected, got {s}"
    assert abs(s["std"] - np.std([10, 11, 12, 13, 50], ddof=1)) < 1e-12, "std must be the sample std (ddof=1)"
    calm = robust_stats([10, 11, 12, 13, 14])
    assert calm["median"] == s["median"] and calm["iqr"] == s["iqr"], "one outlier must not move median or IQR"
    one = robust_stats([0.5])
    assert one["median"] == 0.5 and one["std"] == 0.0 and one["iqr"] == 0.0, f"a single sample: {one}"
    print("robust_stats: OK")
test_robust_stats()

# %% [markdown]
# The test checks the worked example, that replacing the outlier by a normal value leaves the median and
# IQR unchanged, and the single-sample edge case.
#
# ## 2. How sure are we? A bootstrap confidence interval
#
# The median of 20 timings is itself a random number: measure again and it moves. A **95% confidence
# interval** is a range built so that, over many repetitions of the experiment, it contains the true
# value 95% of the time. For the mean there is a textbook formula; for the median there is no simple
# one. The **bootstrap** (Efron, 1979) works for any statistic, using only the sample we have:
#
# ```
#   sample      [12.1, 11.8, 12.4, 30.2, 12.0]                   (n values)
#   resample 1  [11.8, 12.4, 12.4, 12.1, 30.2] -> median 12.4    draw n values WITH replacement
#   resample 2  [12.0, 12.0, 11.8, 12.1, 12.4] -> median 12.0
#   ...          (B = 2000 resamples)
#   95% CI      = [2.5th percentile, 97.5th percentile] of the B medians
# ```
#
# The spread of the statistic across resamples imitates its spread across real repetitions of the
# experiment. Vectorise it: draw all `B x n` indices at once with `rng.integers(0, n, size=(B, n))`, index
# the sample with them to get a `(B, n)` array, and apply the statistic along `axis=1`.

# %% nbgrader={"grade": false, "grade_id": "bootstrap-ci", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def bootstrap_ci(samples, statistic=np.median, level: float = 0.95, n_boot: int = 2000, seed: int = 0) -> tuple:
    """Percentile-bootstrap confidence interval (low, high) of statistic(samples).

    statistic must accept an `axis` keyword (np.median, np.mean, ...). The same seed gives the same
    interval. A single sample gives the degenerate interval (x, x).
    HINTS:
    - idx = rng.integers(0, n, size=(n_boot, n)); stats = statistic(x[idx], axis=1)
    - the interval is the (1 - level) / 2 and (1 + level) / 2 quantiles of stats (np.percentile takes %).
    """
    x = np.asarray(samples, dtype=np.float64)
    if x.ndim != 1 or x.size == 0:
        raise ValueError(f"need a non-empty 1-D sample, got shape {x.shape}")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    rng = np.random.default_rng(seed)
    n = x.size
    ### BEGIN SOLUTION
    idx = rng.integers(0, n, size=(n_boot, n))
    stats = statistic(x[idx], axis=1)
    lo, hi = np.percentile(stats, [100 * (1 - level) / 2, 100 * (1 + level) / 2])
    ### END SOLUTION
    return float(lo), float(hi)

# %% mutant={"name": "resample-without-replacement", "target": "bootstrap-ci", "replace": "idx = rng.integers(0, n, size=(n_boot, n))", "catches": ["test-bootstrap-ci"]}
# Shuffles instead of resampling with replacement: every resample has the same median.
idx = np.argsort(rng.random((n_boot, n)), axis=1)

# %% mutant={"name": "one-sided-level", "target": "bootstrap-ci", "replace": "lo, hi = np.percentile(stats, [100 * (1 - level) / 2, 100 * (1 + level) / 2])", "catches": ["test-bootstrap-ci"]}
# Cuts (1 - level) from each side instead of half of it: a narrower, overconfident interval.
lo, hi = np.percentile(stats, [100 * (1 - level), 100 * level])

# %% nbgrader={"grade": true, "grade_id": "test-bootstrap-ci", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
def test_bootstrap_ci():
    """The interval brackets the statistic, matches theory for the mean, narrows with n, widens with level."""
    rng = np.random.default_rng(1)
    x = rng.normal(10.0, 1.0, size=400)
    lo, hi = bootstrap_ci(x, np.mean)
    assert lo < x.mean() < hi, f"the CI ({lo:.3f}, {hi:.3f}) must contain the sample mean {x.mean():.3f}"
    theory = 2 * 1.96 * x.std(ddof=1) / np.sqrt(x.size)
    assert abs((hi - lo) - theory) < 0.15 * theory, \
        f"for the mean, the 95% width should be close to 2 * 1.96 * s / sqrt(n) = {theory:.3f}, got {hi - lo:.3f}"
    assert bootstrap_ci(x, np.mean, seed=5) == bootstrap_ci(x, np.mean, seed=5), "same seed, same interval"
    lo50, hi50 = bootstrap_ci(x, np.median, level=0.5)
    lo95, hi95 = bootstrap_ci(x, np.median)
    lo99, hi99 = bootstrap_ci(x, np.median, level=0.99)
    assert hi50 - lo50 < hi95 - lo95 < hi99 - lo99, "the interval must widen with the confidence level"
    assert lo95 <= np.median(x) <= hi95, "the CI of the median must contain the sample median"
    lo_s, hi_s = bootstrap_ci(x[:25], np.median)
    assert hi_s - lo_s > 2 * (hi95 - lo95), "25 samples must give a much wider interval than 400 (about 4x)"
    assert bootstrap_ci([3.0]) == (3.0, 3.0), "one sample: the interval collapses to that value"
    print(f"bootstrap_ci: OK (mean CI width {hi - lo:.3f}, theory {theory:.3f})")
test_bootstrap_ci()
### BEGIN HIDDEN TESTS
# coverage: over many repeated experiments, the 90% CI of the mean contains the true mean ~90% of the time
_rng = np.random.default_rng(7)
_hits = 0
for _ in range(200):
    _s = _rng.exponential(1.0, size=40)          # skewed, like timings; true mean 1.0
    _lo, _hi = bootstrap_ci(_s, np.mean, level=0.9, n_boot=500, seed=int(_rng.integers(1 << 30)))
    _hits += _lo <= 1.0 <= _hi
assert 0.8 <= _hits / 200 <= 0.97, f"coverage of a 90% interval should be near 90%, got {_hits / 200:.2f}"
### END HIDDEN TESTS

# %% [markdown]
# The test compares the bootstrap interval of a mean with the textbook `mean +- 1.96 s / sqrt(n)` (they
# should agree within 15%), checks determinism, and that the interval widens with the confidence level
# and with fewer samples. The hidden part runs the experiment behind the definition: 200 repetitions,
# counting how often the 90% interval catches the true mean.
#
# ## 3. The result and the harness
#
# `BenchmarkResult` holds the raw timings (keep them: you can always recompute a statistic, never
# re-measure the past) and exposes the summary. Its confidence interval is computed on first use.

# %%
#| export
@dataclass
class BenchmarkResult:
    """The per-call timings (seconds) of one benchmark, with their summary statistics.

    Attributes: name, times (np.ndarray), level (confidence level of `ci`), and from robust_stats:
    median, mean, std, min, max, q25, q75, iqr. `ci` is the bootstrap CI of the median (seconds).
    """
    name: str
    times: np.ndarray
    level: float = 0.95
    stats: dict = field(init=False, repr=False)

    def __post_init__(self):
        self.times = np.asarray(self.times, dtype=np.float64)
        self.stats = robust_stats(self.times)
        self._ci = None

    n = property(lambda self: self.stats["n"])
    median = property(lambda self: self.stats["median"])
    mean = property(lambda self: self.stats["mean"])
    std = property(lambda self: self.stats["std"])
    min = property(lambda self: self.stats["min"])
    max = property(lambda self: self.stats["max"])
    q25 = property(lambda self: self.stats["q25"])
    q75 = property(lambda self: self.stats["q75"])
    iqr = property(lambda self: self.stats["iqr"])

    @property
    def ci(self) -> tuple:
        if self._ci is None:
            self._ci = bootstrap_ci(self.times, np.median, level=self.level)
        return self._ci

    def __str__(self) -> str:
        lo, hi = self.ci
        return (f"{self.name}: median {self.median * 1e3:.3f} ms "
                f"({self.level:.0%} CI {lo * 1e3:.3f}-{hi * 1e3:.3f} ms, IQR {self.iqr * 1e3:.3f} ms, n={self.n})")

# %% [markdown]
# Now the harness itself. It takes the function to time and the protocol (warm-up, repeats, number).
# It also takes the **clock** as a parameter, `timer=time.perf_counter`. That looks like a detail, but it
# makes the harness testable: a test can pass in a fake clock that returns chosen numbers, and check
# exactly what the harness computes from them, without any real timing noise.
#
# One more detail borrowed from Python's `timeit`: the garbage collector is switched off while timing, so
# a collection triggered by some earlier allocation does not land in the middle of our sample.

# %% nbgrader={"grade": false, "grade_id": "benchmark-run", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class Benchmark:
    """Time fn() with warm-up and repeats: Benchmark(fn, warmup=3, repeats=20, number=1).run().

    Each of the `repeats` samples is (timer() after - timer() before) / number, measured around
    `number` back-to-back calls. `warmup` untimed calls come first.
    """

    def __init__(self, fn, name: str | None = None, warmup: int = 3, repeats: int = 20, number: int = 1,
                 timer=time.perf_counter, level: float = 0.95):
        if warmup < 0 or repeats < 1 or number < 1:
            raise ValueError(f"need warmup >= 0, repeats >= 1, number >= 1; got {warmup}, {repeats}, {number}")
        self.fn, self.warmup, self.repeats, self.number = fn, int(warmup), int(repeats), int(number)
        self.name = name or getattr(fn, "__name__", "benchmark")
        self.timer, self.level = timer, level

    def run(self) -> BenchmarkResult:
        """Run the protocol and return a BenchmarkResult of `repeats` per-call times.

        HINTS:
        - call self.fn() self.warmup times without timing;
        - then for each repeat: t0 = self.timer(); call self.fn() self.number times;
          append (self.timer() - t0) / self.number to times.
        """
        times = []
        gc_was_enabled = gc.isenabled()
        gc.disable()
        try:
            ### BEGIN SOLUTION
            for _ in range(self.warmup):
                self.fn()
            for _ in range(self.repeats):
                t0 = self.timer()
                for _ in range(self.number):
                    self.fn()
                times.append((self.timer() - t0) / self.number)
            ### END SOLUTION
        finally:
            if gc_was_enabled:
                gc.enable()
        return BenchmarkResult(self.name, np.array(times), level=self.level)

# %% mutant={"name": "per-batch-not-per-call", "target": "benchmark-run", "replace": "    times.append((self.timer() - t0) / self.number)", "catches": ["test-benchmark-run"]}
    # Records the time of the whole batch of `number` calls, not the time per call.
    times.append(self.timer() - t0)

# %% mutant={"name": "warmup-timed", "target": "benchmark-run", "catches": ["test-benchmark-run"]}
# Times the warm-up calls as samples too.
for _ in range(self.warmup + self.repeats):
    t0 = self.timer()
    for _ in range(self.number):
        self.fn()
    times.append((self.timer() - t0) / self.number)

# %% nbgrader={"grade": true, "grade_id": "test-benchmark-run", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
def test_benchmark_run():
    """With a fake clock: call counts, warm-up excluded from timing, per-call division by `number`."""
    calls = []

    class FakeClock:
        """Advances by 1.0 s per fn() call since the last reading, plus 0.5 s of 'overhead' per reading."""
        def __init__(self):
            self.now = 0.0
            self.seen = 0
        def __call__(self):
            self.now += (len(calls) - self.seen) * 1.0 + 0.5
            self.seen = len(calls)
            return self.now

    clock = FakeClock()
    res = Benchmark(lambda: calls.append(1), name="fake", warmup=2, repeats=4, number=3, timer=clock).run()
    assert len(calls) == 2 + 4 * 3, f"2 warm-up + 4 repeats x 3 calls = 14 calls expected, got {len(calls)}"
    assert isinstance(res, BenchmarkResult) and res.name == "fake", "run() must return a BenchmarkResult"
    assert res.times.shape == (4,), f"one sample per repeat expected, got {res.times.shape}"
    # each repeat: 3 calls (3.0 s) + one reading's overhead (0.5 s), divided by number=3
    assert np.allclose(res.times, 3.5 / 3), f"each sample should be 3.5 s / 3 calls = 1.1667 s, got {res.times}"
    assert abs(res.median - 3.5 / 3) < 1e-12 and res.iqr == 0.0, "summary statistics come from the samples"
    real = Benchmark(lambda: sum(range(2000)), warmup=1, repeats=5).run()
    assert real.times.shape == (5,) and (real.times > 0).all(), "real timings must be positive"
    lo, hi = real.ci
    assert lo <= real.median <= hi, "the median lies inside its own confidence interval"
    print("Benchmark: OK  ->", real)
test_benchmark_run()
### BEGIN HIDDEN TESTS
_calls = []
_res = Benchmark(lambda: _calls.append(0), warmup=0, repeats=1, number=1, timer=iter([5.0, 7.5]).__next__).run()
assert len(_calls) == 1 and np.allclose(_res.times, [2.5]), "warmup=0, one repeat: a single sample t1 - t0"
_gc_before = gc.isenabled()
try:
    Benchmark(lambda: 1 / 0, warmup=0, repeats=1).run()
except ZeroDivisionError:
    pass
assert gc.isenabled() == _gc_before, "the garbage collector must be restored even when fn raises"
### END HIDDEN TESTS

# %% [markdown]
# The fake clock advances one second per call of `fn` and half a second per reading, so the test knows
# the exact answer: three calls plus one reading's overhead per repeat, divided by three. It also checks
# that warm-up calls happen but are not timed, and that a real run gives positive timings whose median
# sits inside its interval.
#
# ### Is B really faster than A?
#
# A speed-up is the ratio of two medians, and it inherits the uncertainty of both. We bootstrap the ratio
# itself: resample each sample independently, take the ratio of the resampled medians, and read off
# the percentiles. If the whole interval lies above 1, the speed-up is real at that confidence level;
# if it straddles 1, we cannot tell the two apart with the data we have.

# %%
#| export
def speedup(baseline: BenchmarkResult, candidate: BenchmarkResult, level: float = 0.95, n_boot: int = 2000,
            seed: int = 0) -> tuple:
    """(ratio, low, high): median(baseline) / median(candidate) with a bootstrap CI. > 1 means candidate is faster."""
    rng = np.random.default_rng(seed)
    a, b = baseline.times, candidate.times
    ra = np.median(a[rng.integers(0, a.size, size=(n_boot, a.size))], axis=1)
    rb = np.median(b[rng.integers(0, b.size, size=(n_boot, b.size))], axis=1)
    lo, hi = np.percentile(ra / rb, [100 * (1 - level) / 2, 100 * (1 + level) / 2])
    return float(np.median(a) / np.median(b)), float(lo), float(hi)

# %% [markdown]
# ## 4. Comparing models
#
# Speed alone is a trap: the fastest model is the one that outputs a constant. A model comparison
# reports at least four things side by side:
#
# | metric | what it measures | how |
# |---|---|---|
# | accuracy | quality | argmax of the logits against the labels |
# | latency | time for one forward pass on a batch | `Benchmark`, median and CI |
# | size | parameters and their bytes | `model.parameters()` |
# | memory | peak bytes allocated during a forward pass | `tracemalloc` |
#
# `tracemalloc` (standard library) traces every allocation Python makes, and NumPy reports its array
# buffers to it, so the peak it records during a forward pass is the memory the activations needed.
# We run every forward pass under `no_grad()` and in `eval()` mode: inference does not build a graph,
# and layers such as dropout behave as they will in deployment.

# %%
#| export
def peak_memory(fn) -> int:
    """Peak bytes allocated (as traced by tracemalloc) while fn() runs."""
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    try:
        fn()
        return max(0, tracemalloc.get_traced_memory()[1] - base)
    finally:
        if not was_tracing:
            tracemalloc.stop()


def model_size(model) -> tuple:
    """(number of parameters, bytes of parameter data) of a Module, or (0, 0) for a parameter-free callable."""
    params = model.parameters() if hasattr(model, "parameters") else []
    return int(sum(p.data.size for p in params)), int(sum(p.data.nbytes for p in params))


def predict(model, x) -> np.ndarray:
    """Class predictions: argmax of the logits, or logit > 0 for a single output column."""
    with no_grad():
        out = model(x if isinstance(x, Tensor) else Tensor(x))
    logits = out.data if isinstance(out, Tensor) else np.asarray(out)
    if logits.ndim == 1 or logits.shape[-1] == 1:
        return (logits.reshape(len(logits), -1)[:, 0] > 0).astype(np.int64)
    return logits.argmax(axis=-1)

# %% [markdown]
# Your part: fill in one row of the report per model. `xb` is the batch used for latency and memory.

# %% nbgrader={"grade": false, "grade_id": "compare-models", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def compare_models(models: dict, x, y, latency_batch: int | None = None, warmup: int = 3, repeats: int = 20) -> list:
    """Compare {name: model} on the same data. Returns one dict per model, in order, with keys:

    name, accuracy (fraction of y predicted correctly), latency_ms (median forward time on xb),
    latency_ci_ms ((low, high) of that median), params, size_bytes (from model_size),
    peak_memory_bytes (peak_memory of one forward pass on xb), result (the BenchmarkResult).
    xb = the first `latency_batch` rows of x (all of x if None). Forward passes run under no_grad().
    HINTS: predict(model, x); Benchmark(lambda: model(xb), name, warmup, repeats).run();
    multiply seconds by 1e3 for milliseconds.
    """
    x = x.data if isinstance(x, Tensor) else np.asarray(x)
    y = np.asarray(y.data if isinstance(y, Tensor) else y).reshape(-1)
    xb = Tensor(x if latency_batch is None else x[:latency_batch])
    rows = []
    for name, model in models.items():
        was_training = getattr(model, "training", False)
        if hasattr(model, "eval"):
            model.eval()
        try:
            with no_grad():
                ### BEGIN SOLUTION
                accuracy = float(np.mean(predict(model, x) == y))
                result = Benchmark(lambda: model(xb), name=name, warmup=warmup, repeats=repeats).run()
                params, size_bytes = model_size(model)
                memory = peak_memory(lambda: model(xb))
                rows.append({
                    "name": name,
                    "accuracy": accuracy,
                    "latency_ms": result.median * 1e3,
                    "latency_ci_ms": (result.ci[0] * 1e3, result.ci[1] * 1e3),
                    "params": params,
                    "size_bytes": size_bytes,
                    "peak_memory_bytes": memory,
                    "result": result,
                })
                ### END SOLUTION
        finally:
            if was_training and hasattr(model, "train"):
                model.train()
    return rows

# %% mutant={"name": "latency-in-seconds", "target": "compare-models", "replace": "    \"latency_ms\": result.median * 1e3,", "catches": ["test-compare-models"]}
    # Forgets the unit conversion: seconds reported as milliseconds.
    "latency_ms": result.median,

# %% nbgrader={"grade": true, "grade_id": "test-compare-models", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
def test_compare_models():
    """Accuracy, size and memory are exact for hand-built models; latency orders a big model after a tiny one."""
    x = np.array([[1.0, 0.0], [0.0, 1.0], [2.0, 0.5], [0.2, 3.0]], dtype=np.float32)
    y = np.array([0, 1, 0, 1])
    perfect = Linear(2, 2)
    perfect.weight.data[...] = np.eye(2); perfect.bias.data[...] = 0     # picks the larger feature: always right
    wrong = Linear(2, 2)
    wrong.weight.data[...] = np.eye(2)[::-1]; wrong.bias.data[...] = 0  # picks the smaller: always wrong
    rows = compare_models({"perfect": perfect, "wrong": wrong}, x, y, warmup=1, repeats=5)
    assert [r["name"] for r in rows] == ["perfect", "wrong"], "one row per model, in the given order"
    assert rows[0]["accuracy"] == 1.0 and rows[1]["accuracy"] == 0.0, \
        f"accuracies should be 1.0 and 0.0, got {rows[0]['accuracy']} and {rows[1]['accuracy']}"
    assert rows[0]["params"] == 6 and rows[0]["size_bytes"] == 24, "Linear(2, 2): 6 float32 parameters = 24 bytes"
    lo, hi = rows[0]["latency_ci_ms"]
    assert 0 < lo <= rows[0]["latency_ms"] <= hi, "latency must be a positive median inside its CI (in ms)"
    assert isinstance(rows[0]["result"], BenchmarkResult) and rows[0]["result"].n == 5, "keep the raw result"
    # memory and latency grow with the model: a 2 -> 512 -> 512 -> 2 network on 2048 rows
    rng = np.random.default_rng(0)
    xl = rng.normal(size=(2048, 2)).astype(np.float32)
    yl = (xl[:, 0] > 0).astype(int)
    big = Sequential(Linear(2, 512), ReLU(), Linear(512, 512), ReLU(), Linear(512, 2))
    rows = compare_models({"tiny": perfect, "big": big}, xl, yl, warmup=1, repeats=5)
    tiny_r, big_r = rows
    assert big_r["peak_memory_bytes"] >= 2048 * 512 * 4, \
        f"a (2048, 512) float32 activation alone is 4 MB; measured peak {big_r['peak_memory_bytes']} bytes"
    assert tiny_r["peak_memory_bytes"] < big_r["peak_memory_bytes"] / 20, "the tiny model must need far less memory"
    assert big_r["latency_ms"] > 3 * tiny_r["latency_ms"], "the big model must be measurably slower"
    assert big.training, "compare_models must restore training mode afterwards"
    print("compare_models: OK")
test_compare_models()

# %% [markdown]
# The test builds two hand-wired classifiers whose accuracy is known exactly (1.0 and 0.0), checks the
# parameter count and bytes of `Linear(2, 2)`, and then checks that a 2-512-512-2 network on 2048 rows
# shows up in the report with at least the memory of one of its activations and a clearly larger latency.
#
# ## 5. Publishing: a table and a chart
#
# A benchmark nobody can read is wasted. We produce two artefacts: a **Markdown table** (pastes into a
# README, a pull request or the course book) and a **chart**.
#
# The table formatter is given:

# %%
#| export
def format_table(headers: list, rows: list, align: str | None = None) -> str:
    """A Markdown table. align: one character per column, 'l' or 'r' (default: all 'l')."""
    align = align or "l" * len(headers)
    cells = [[str(c) for c in row] for row in rows]
    widths = [max([len(str(h))] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]

    def line(values):
        return "| " + " | ".join(v.rjust(w) if a == "r" else v.ljust(w)
                                  for v, w, a in zip(values, widths, align)) + " |"

    rule = "|" + "|".join(("-" * (w + 1) + ":") if a == "r" else ("-" * (w + 2)) for w, a in zip(widths, align)) + "|"
    return "\n".join([line([str(h) for h in headers]), rule] + [line(r) for r in cells])


def format_report(rows: list) -> str:
    """The rows of compare_models as a Markdown table with human-readable units."""
    body = []
    for r in rows:
        lo, hi = r["latency_ci_ms"]
        body.append([r["name"], f"{r['accuracy']:.1%}", f"{r['latency_ms']:.3f}", f"{lo:.3f}-{hi:.3f}",
                     f"{r['params']:,}", f"{r['size_bytes'] / 1024:.1f}", f"{r['peak_memory_bytes'] / 1024:.1f}"])
    headers = ["model", "accuracy", "latency ms", "95% CI ms", "params", "size KiB", "peak mem KiB"]
    return format_table(headers, body, align="lrrrrrr")

# %% [markdown]
# For the chart we could reach for matplotlib, but it is a large dependency for one picture, and an SVG
# file is just text: a list of shapes with coordinates. Writing it by hand is a good exercise in what a
# plotting library does for you, which is mostly **mapping data to pixels**.
#
# ```
#   <svg width="560" height="...">                      left = 160 px for the labels
#     label  |##################          | 12.3 ms     bar width = value / vmax * plot_width
#     label  |#########                   |  6.1 ms        |----|  error bar: CI low..high,
#            ^ x = left                   ^ x = left + plot_width      mapped the same way
#   </svg>
# ```
#
# The scale must fit the longest bar *and* the highest end of any error bar: `vmax` is the largest of all
# values and all upper error bounds. Row `i` sits at `y = top + i * (bar_height + gap)`.

# %% nbgrader={"grade": false, "grade_id": "svg-chart", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def save_svg_bar_chart(path, labels, values, errors=None, title: str = "", unit: str = "",
                       width: int = 560, bar_height: int = 22, gap: int = 10) -> Path:
    """Write a horizontal bar chart as an SVG file and return its Path.

    labels: names; values: non-negative numbers; errors: None or one (low, high) interval per bar,
    drawn as a line from x(low) to x(high) across the bar's middle. Bars carry class="bar", error
    lines class="err"; x(v) = left + v / vmax * plot_width with vmax = max of values and error highs.
    """
    values = [float(v) for v in values]
    if len(labels) != len(values) or (errors is not None and len(errors) != len(values)):
        raise ValueError("labels, values (and errors) must have the same length")
    if any(v < 0 for v in values):
        raise ValueError("bar values must be non-negative")
    left, right, top = 160, 90, 40 if title else 12
    plot_width = width - left - right
    height = top + len(values) * (bar_height + gap) + 10
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
             f'<rect width="{width}" height="{height}" fill="white"/>']
    if title:
        parts.append(f'<text x="{width / 2:.1f}" y="24" text-anchor="middle" font-size="15">{escape(title)}</text>')
    ### BEGIN SOLUTION
    vmax = max(values + [hi for _, hi in (errors or [])] + [1e-300])
    scale = plot_width / vmax
    for i, (label, v) in enumerate(zip(labels, values)):
        y = top + i * (bar_height + gap)
        w = v * scale
        parts.append(f'<rect class="bar" x="{left}" y="{y}" width="{w:.2f}" height="{bar_height}" fill="#4c78a8"/>')
        parts.append(f'<text x="{left - 8}" y="{y + bar_height * 0.7:.1f}" text-anchor="end">{escape(str(label))}</text>')
        end = w
        if errors is not None:
            lo, hi = errors[i]
            ym = y + bar_height / 2
            parts.append(f'<line class="err" x1="{left + lo * scale:.2f}" y1="{ym:.1f}" '
                         f'x2="{left + hi * scale:.2f}" y2="{ym:.1f}" stroke="black" stroke-width="2"/>')
            end = max(w, hi * scale)
        parts.append(f'<text x="{left + end + 6:.2f}" y="{y + bar_height * 0.7:.1f}">{v:.3g} {escape(unit)}</text>')
    ### END SOLUTION
    parts.append("</svg>")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(parts) + "\n", encoding="utf-8")
    return path

# %% nbgrader={"grade": true, "grade_id": "test-svg-chart", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
def test_svg_chart():
    """The file is valid SVG, with one bar per value, widths proportional to the values, CIs mapped alike."""
    out = Path(tempfile.mkdtemp()) / "chart.svg"
    p = save_svg_bar_chart(out, ["a", "b <fast>", "c"], [2.0, 1.0, 4.0],
                           errors=[(1.5, 2.5), (0.9, 1.1), (3.0, 8.0)], title="latency", unit="ms")
    assert Path(p).exists(), "save_svg_bar_chart must write the file and return its path"
    root = ET.parse(p).getroot()          # raises if the XML is malformed (e.g. an unescaped '<')
    ns = "{http://www.w3.org/2000/svg}"
    assert root.tag == ns + "svg", f"root element must be <svg>, got {root.tag}"
    bars = [r for r in root.iter(ns + "rect") if r.get("class") == "bar"]
    assert len(bars) == 3, f"one rect with class='bar' per value expected, got {len(bars)}"
    w = np.array([float(b.get("width")) for b in bars])
    assert np.allclose(w / w[0], [1.0, 0.5, 2.0], atol=1e-3), f"bar widths must be proportional to values, got {w}"
    errs = [e for e in root.iter(ns + "line") if e.get("class") == "err"]
    assert len(errs) == 3, f"one error line per bar expected, got {len(errs)}"
    x_left = float(bars[0].get("x"))
    spans = np.array([[float(e.get("x1")) - x_left, float(e.get("x2")) - x_left] for e in errs])
    assert np.allclose(spans / w[0], [[0.75, 1.25], [0.45, 0.55], [1.5, 4.0]], atol=1e-3), \
        "error bars must use the same scale as the bars"
    assert float(errs[2].get("x2")) <= float(root.get("width")), \
        "the highest error bound must still fit inside the picture (vmax includes the error highs)"
    texts = " ".join(t.text or "" for t in root.iter(ns + "text"))
    assert "b <fast>" in texts and "latency" in texts, "labels and title must appear (escaped) in the SVG"
    print("save_svg_bar_chart: OK")
test_svg_chart()

# %% [markdown]
# The test parses your file with an XML parser (an unescaped `<` in a label would break it), counts the
# bars, checks that widths are proportional to the values and that the error bars use the same scale,
# and that the largest error bound still fits inside the picture.
#
# ## 6. Systems analysis: the harness at work
#
# ### How noisy is one timing?
#
# Sixty timings of the same `(128, 128)` matrix product, without warm-up. Look at the spread between the
# fastest and the slowest run, and at where the mean lands compared with the median.

# %%
rng = np.random.default_rng(0)
A, B = rng.normal(size=(128, 128)), rng.normal(size=(128, 128))
res = Benchmark(lambda: A @ B, name="matmul 128", warmup=0, repeats=60).run()
s = res.stats
print(f"min {s['min'] * 1e6:8.1f} us   median {s['median'] * 1e6:8.1f} us   mean {s['mean'] * 1e6:8.1f} us   "
      f"max {s['max'] * 1e6:8.1f} us")
print(f"slowest / fastest = {s['max'] / s['min']:.1f}x,  mean / median = {s['mean'] / s['median']:.2f},  "
      f"IQR / median = {s['iqr'] / s['median']:.1%}")
print(f"first (cold) call {res.times[0] * 1e6:.1f} us = {res.times[0] / s['median']:.1f}x the median; "
      f"slowest call was number {int(res.times.argmax()) + 1} of 60")
# a text histogram of the 60 samples, in microseconds
edges = np.linspace(s["min"], np.percentile(res.times, 95), 9)
counts, _ = np.histogram(np.clip(res.times, None, edges[-1]), bins=edges)
for c, e0, e1 in zip(counts, edges[:-1], edges[1:]):
    print(f"  {e0 * 1e6:7.1f}-{e1 * 1e6:7.1f} us {'#' * c}")

# %% [markdown]
# The distribution is skewed to the right: a crowd of similar runs and a tail of slow ones (the last bin
# also collects everything above the 95th percentile). This is why the harness reports the median and
# the IQR rather than the mean and the standard deviation.
#
# ### How many repeats do we need?
#
# More repeats buy a narrower confidence interval. For well-behaved noise the width shrinks like
# `1 / sqrt(repeats)`: four times the repeats for half the width. We measure the width of the 95% CI of
# the median, relative to the median, for growing sample sizes.

# %%
x_small = rng.normal(size=(256, 64)).astype(np.float32)
W_small = rng.normal(size=(64, 64)).astype(np.float32)
widths = {}
print(f"{'repeats':>8s} {'median us':>10s} {'95% CI us':>20s} {'CI width / median':>18s}")
for reps in (5, 20, 80, 320):
    r = Benchmark(lambda: np.maximum(x_small @ W_small, 0), warmup=5, repeats=reps).run()
    lo, hi = r.ci
    widths[reps] = (hi - lo) / r.median
    print(f"{reps:8d} {r.median * 1e6:10.1f} {lo * 1e6:9.1f} - {hi * 1e6:8.1f} {widths[reps]:18.1%}")
print(f"from 5 to 320 repeats the relative CI width went from {widths[5]:.1%} to {widths[320]:.1%} "
      f"(the 1/sqrt(n) rule predicts a factor of {np.sqrt(320 / 5):.0f})")

# %% [markdown]
# Compare the measured shrinkage with the `1 / sqrt(n)` rule. Notice also that the median itself can
# move from row to row by more than the intervals allow: each interval describes the noise *within* one
# experiment, not changes of the machine *between* experiments (clock speed, other processes, a cache
# that is now warm). That is what the control in the next experiment is for.

# %% [markdown]
# ### Is the fused layer of module 18 really faster?
#
# Module 18 measured a modest speed difference between `FusedLinearReLU` and `Sequential(Linear, ReLU)`.
# Modest differences are exactly where a confidence interval earns its keep. We time both forward passes
# (with gradients on, as in training) and bootstrap the speed-up.

# %%
np.random.seed(1)
fused = FusedLinearReLU(32, 256)
plain = Sequential(Linear(32, 256), ReLU())
plain[0].weight.data[...] = fused.weight.data
xin = Tensor(rng.normal(size=(4096, 32)).astype(np.float32), requires_grad=True)
r_plain = Benchmark(lambda: plain(xin), name="Linear+ReLU", warmup=3, repeats=40).run()
r_fused = Benchmark(lambda: fused(xin), name="FusedLinearReLU", warmup=3, repeats=40).run()
print(r_plain)
print(r_fused)
ratio, lo, hi = speedup(r_plain, r_fused)
verdict = ("the fused layer is faster" if lo > 1 else
           "the fused layer is slower" if hi < 1 else "no difference can be claimed from these samples")
print(f"speed-up {ratio:.2f}x, 95% CI {lo:.2f}-{hi:.2f}: {verdict}")
same = Benchmark(lambda: plain(xin), name="Linear+ReLU again", warmup=3, repeats=40).run()
ratio0, lo0, hi0 = speedup(r_plain, same)
print(f"control, the same code timed twice: {ratio0:.2f}x, 95% CI {lo0:.2f}-{hi0:.2f}")

# %% [markdown]
# The **control** row times the identical code twice. Its interval should straddle 1; if it does not,
# something about the machine changed between the two runs (another process started, the CPU throttled),
# and any other comparison made at the same time deserves suspicion. Running a control is cheap and
# catches broken measurements.
#
# ### The model report
#
# Now the full comparison. We train three classifiers of growing size on a 2-D three-class spiral, add
# the largest one rebuilt with module 18's fused layers (same weights, so the same accuracy), and compare
# all four.

# %%
def spiral(n_per_class, classes=3, noise=0.35, seed=0):
    g = np.random.default_rng(seed)
    xs, ys = [], []
    for c in range(classes):
        r = np.linspace(0.05, 1.0, n_per_class)
        t = np.linspace(4.0 * c, 4.0 * (c + 1), n_per_class) + g.normal(scale=noise, size=n_per_class)
        xs.append(np.stack([r * np.sin(t), r * np.cos(t)], axis=1))
        ys.append(np.full(n_per_class, c))
    perm = g.permutation(n_per_class * classes)
    return np.concatenate(xs)[perm].astype(np.float32), np.concatenate(ys)[perm]


X, Y = spiral(400)
X_train, Y_train, X_test, Y_test = X[:900], Y[:900], X[900:], Y[900:]


def train(model, steps=300, lr=0.02):
    opt, loss_fn = Adam(model.parameters(), lr=lr), CrossEntropyLoss()
    for _ in range(steps):
        loss = loss_fn(model(Tensor(X_train)), Tensor(Y_train))
        opt.zero_grad()
        loss.backward()
        opt.step()
    return float(loss.data)


np.random.seed(0)
models = {
    "linear": Sequential(Linear(2, 3)),
    "mlp-16": Sequential(Linear(2, 16), ReLU(), Linear(16, 3)),
    "mlp-128x2": Sequential(Linear(2, 128), ReLU(), Linear(128, 128), ReLU(), Linear(128, 3)),
}
for name, m in models.items():
    print(f"trained {name:10s} final loss {train(m):.3f}")
big = models["mlp-128x2"]
fused_big = Sequential(FusedLinearReLU(2, 128), FusedLinearReLU(128, 128), Linear(128, 3))
for src, dst in zip(big.parameters(), fused_big.parameters()):
    dst.data[...] = src.data
models["mlp-128x2 fused"] = fused_big

rows = compare_models(models, X_test, Y_test, warmup=3, repeats=30)
print(format_report(rows))

# %% [markdown]
# Read the table across: accuracy, latency with its interval, size and peak memory. Bigger models buy
# accuracy with latency, parameters and activation memory; the fused variant has exactly the same
# parameters and predictions but a different memory and time profile. Which one you deploy depends
# on the budget, which is why the report shows every column instead of a single "score".
#
# Now the chart. We write it to a temporary folder (not next to the notebook) and display it inline.

# %%
from IPython.display import SVG, display

chart = save_svg_bar_chart(Path(tempfile.gettempdir()) / "tinytorch_benchmarks" / "latency.svg",
                           [r["name"] for r in rows], [r["latency_ms"] for r in rows],
                           errors=[r["latency_ci_ms"] for r in rows],
                           title=f"Forward latency on {len(X_test)} points (median, 95% CI)", unit="ms")
print("chart written to", chart, f"({chart.stat().st_size} bytes)")
display(SVG(filename=str(chart)))

# %% [markdown]
# ### Latency versus throughput
#
# Latency is the time for one request; throughput is how many samples per second we can process. Batching
# trades one for the other: a bigger batch takes longer, but amortises the per-call overhead (Python,
# NumPy dispatch, reading the weights) over more samples.

# %%
print(f"{'batch':>6s} {'latency ms':>11s} {'per sample us':>14s} {'samples/s':>11s}")
thr = {}
with no_grad():
    for bs in (1, 8, 64, 512, 4096):
        xb = Tensor(rng.normal(size=(bs, 2)).astype(np.float32))
        r = Benchmark(lambda: big(xb), warmup=3, repeats=15).run()
        thr[bs] = bs / r.median
        print(f"{bs:6d} {r.median * 1e3:11.3f} {r.median / bs * 1e6:14.2f} {thr[bs]:11,.0f}")
print(f"batch 4096 processes {thr[4096] / thr[1]:,.0f}x as many samples per second as batch 1")

# %% [markdown]
# At batch 1 almost all of the time is overhead; as the batch grows the time per sample falls until the
# arithmetic itself dominates. A server that must answer one user quickly and a pipeline that scores a
# million rows overnight want very different batch sizes, and they should be benchmarked at the batch
# size they will actually use.
#
# ## Summary
#
# - A single timing is an anecdote. **Warm-up** removes one-time costs, **repeats** expose the noise,
#   **number** beats the timer's resolution for very short functions.
# - Timing noise is one-sided, so report the **median** and the **IQR**, not the mean and the standard
#   deviation.
# - The **bootstrap** gives a confidence interval for any statistic by resampling the data you have;
#   its width shrinks like `1 / sqrt(n)`.
# - A speed-up is a ratio with its own interval; if that interval includes 1, you have not shown a
#   difference. A **control** (the same code timed twice) catches a disturbed machine.
# - Compare models on **accuracy, latency, size and memory** together, at the batch size you will use.
# - Results are worth what their presentation is: a Markdown table and an SVG chart are plain text
#   you can generate, diff and publish.
#
# ## Reflection questions
#
# 1. Your laptop switches to a lower clock speed on battery, and a CI server runs other jobs on the same
#    core. Which parts of the harness protect you against each, and which do not? What would you add?
# 2. The bootstrap interval for a median of 5 timings is often very wide or oddly lopsided. Why does the
#    median of a tiny sample bootstrap poorly? What minimum number of repeats would you recommend, judging
#    from the table in section 6?
# 3. `peak_memory` uses `tracemalloc`. Which memory does it miss (think of BLAS work buffers, memory held
#    by NumPy's allocator caches, the Python objects themselves), and how would you measure the whole
#    process instead?
# 4. The fused and unfused big models have identical accuracy and parameters. Which columns of the report
#    can differ between them, and why?
# 5. Module 17 will claim a speed-up for text generation with a KV cache. Design the benchmark: what exactly
#    do you time, over which prompt and output lengths, what control do you run, and what extra check must
#    accompany the speed-up for it to mean anything?
