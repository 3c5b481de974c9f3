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
#     title: Profiling
#     summary: Measure where a model spends its memory, its arithmetic and its time, layer by layer, and use Amdahl's law on the measured profile to decide what is worth optimising and how much any optimisation can ever gain.
#     tier: optimization
#     minutes: 120
#     prerequisites: [01_tensor, 02_activations, 03_layers, 05_autograd, 09_spatial]
#     objectives:
#       - Count a model's parameters and the bytes its parameters and activations occupy
#       - Count the FLOPs of Linear, Conv2d and activation layers under one stated convention
#       - Measure latency properly, with warm-up, repeats, the median and tail percentiles
#       - Build a per-layer profile table of a Sequential model and read it
#       - Apply Amdahl's law to a measured profile to choose the layer to optimise and bound the overall speed-up
#     exports: [count_parameters, parameter_bytes, layer_flops, measure_latency, profile_model, format_profile, amdahl_speedup, amdahl_limit]
#     milestone: null
# ---

# %% [markdown]
# # Module 14: Profiling
#
# Your model is too slow, or too big. Where do you start? The tempting answer is "with the part that
# looks expensive": rewrite the convolution in a clever way, replace the activation by a cheaper one,
# fuse two layers. Experienced engineers resist that temptation, because intuition about performance
# is wrong surprisingly often. A layer that does most of the arithmetic may be fast because BLAS
# handles it beautifully, while a layer that does almost no arithmetic may be slow because it walks
# through memory twice. The only reliable guide is a **profile**: a measurement of where the
# resources actually go, broken down by part.
#
# Every serious framework ships a profiler (PyTorch's `torch.profiler`, TensorFlow's profiler,
# JAX's traces), and every optimisation module that follows this one (acceleration, memoization,
# benchmarking) starts from the question this module answers: *where does the time go, and how much
# could we win by making one part faster?* The second half of that question has a precise answer,
# **Amdahl's law**, and it is often sobering.
#
# ## What you will build (in `tinytorch.perf.profiling`)
#
# | function | answers |
# |---|---|
# | `count_parameters(model)`, `parameter_bytes(model)` | how big is the model? |
# | `layer_flops(layer, input_shape)` | how much arithmetic does one layer do? |
# | `measure_latency(fn, warmup, repeats)` | how long does a call take, typically and in the worst case? |
# | `profile_model(model, x)`, `format_profile(rows)` | all of the above, per layer, as a table |
# | `amdahl_speedup(fraction, factor)`, `amdahl_limit(fraction)` | what can optimising one part buy overall? |
#
# ## Learning objectives
#
# - Count a model's parameters and the bytes its parameters and activations occupy.
# - Count the FLOPs of Linear, Conv2d and activation layers under one stated convention.
# - Measure latency properly, with warm-up, repeats, the median and tail percentiles.
# - Build a per-layer profile table of a `Sequential` model and read it.
# - Apply Amdahl's law to a measured profile to choose the layer to optimise and bound the overall speed-up.

# %%
#| default_exp perf.profiling

# %% [markdown]
# One practical remark before any code. NumPy hands matrix products to a BLAS library, which may split a
# single product over several threads. On a machine shared with other programs (a laptop running a
# browser, a CI server running several jobs on two cores) those threads must wait for each other, and a
# product that normally takes a fraction of a millisecond can stall for tens of milliseconds at random.
# That would make every timing in this notebook unreadable, so the next cell asks BLAS for one thread.
# The setting only works **before NumPy is first imported**, which is why it comes first; it changes
# nothing outside this notebook's kernel, and `setdefault` keeps any value you have set yourself.

# %%
import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS"):
    os.environ.setdefault(_var, "1")

# %%
#| export
import gc
import math
import time

import numpy as np

from tinytorch.core.tensor import Tensor
from tinytorch.core.activations import Activation
from tinytorch.core.layers import Linear, Module, Sequential
from tinytorch.core.autograd import no_grad

try:                                   # Conv2d comes from module 09; without it, conv layers count as "other"
    from tinytorch.core.spatial import Conv2d
except ImportError:                    # pragma: no cover - only when module 09 is not in the package yet
    Conv2d = None

# %%
#| hide
from tinytorch.core.activations import ReLU, Sigmoid, Softmax, Tanh
from tinytorch.core.layers import Dropout
from tinytorch.core.spatial import Flatten, MaxPool2d

np.set_printoptions(precision=4, suppress=True)

# %% [markdown]
# ## 1. The idea: a profile, and what it can promise
#
# A profile of a small network might look like this (an invented example, to fix ideas; you will
# measure a real one in section 8):
#
# ```
#   layer        output        params    FLOPs        time     share of the time
#   0:Linear     (256, 256)    16,640     8.4 M     0.20 ms    ########          20%
#   1:ReLU       (256, 256)         0     0.07 M    0.05 ms    ##                 5%
#   2:Linear     (256, 256)    65,792    33.6 M     0.60 ms    ########################  60%
#   3:ReLU       (256, 256)         0     0.07 M    0.05 ms    ##                 5%
#   4:Linear     (256, 10)      2,570     1.3 M     0.10 ms    ####              10%
#   total                      85,002    43.4 M     1.00 ms                     100%
# ```
#
# Three kinds of column, three kinds of resource:
#
# - **Memory.** Parameters live as long as the model does; activations (each layer's output) live
#   while the next layer needs them, and during training until the backward pass has used them.
# - **Arithmetic (FLOPs).** A property of the layer and the input shape alone, the same on every machine.
# - **Time.** What we actually care about, and the only column that depends on the machine, the
#   library and the batch size. It is related to the FLOPs but not proportional to them.
#
# ### Amdahl's law, with numbers
#
# Suppose layer `2:Linear` takes a fraction $f = 0.6$ of the time and you make it $s = 2$ times faster.
# The other 40% of the time is untouched. The new total time, relative to the old one, is
#
# $$\frac{T_\text{new}}{T_\text{old}} = (1 - f) + \frac{f}{s} = 0.4 + \frac{0.6}{2} = 0.7
# \qquad\Rightarrow\qquad \text{speed-up} = \frac{1}{(1 - f) + f / s} = \frac{1}{0.7} \approx 1.43$$
#
# ```
#   before   |######## other 40% ########|############## Linear 60% ###############|   1.00
#   s = 2    |######## other 40% ########|###### 30% ######|                            0.70  -> 1.43x
#   s = inf  |######## other 40% ########|                                              0.40  -> 2.50x
# ```
#
# Even an *infinitely* fast layer (it takes no time at all) only removes its own bar: the total can
# never drop below the untouched 40%, so the speed-up is bounded by $1 / (1 - f) = 2.5$. Optimising
# the 5% ReLU instead could never give more than $1 / 0.95 \approx 1.05$, a 5% gain, however brilliant
# the new ReLU. That is the whole strategy of performance work in two lines: **measure the shares,
# then attack the biggest one**, and know in advance how much it can possibly pay.
#
# Before any of that, we need the columns. We build them one by one.
#
# ## 2. How big is a model? Parameters and their bytes
#
# `model.parameters()` (module 03) lists every trainable Tensor exactly once, even when two layers share
# one. The number of parameters is the sum of their sizes; the memory they take is the sum of the bytes
# of their NumPy arrays (`.data.nbytes`, which is `size * itemsize`: 4 bytes per float32 number).
#
# Worked example: `Linear(64, 256)` has a `(64, 256)` weight and a `(256,)` bias, so
# `64 * 256 + 256 = 16,640` parameters, and `16,640 * 4 = 66,560` bytes in float32.
#
# Anything without a `parameters` method (an activation like `ReLU()`) simply has no parameters.

# %% nbgrader={"grade": false, "grade_id": "count-params", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def _parameters(model) -> list:
    """model.parameters() for a Module, [] for anything without parameters (activations, functions)."""
    params = getattr(model, "parameters", None)
    return list(params()) if callable(params) else []


def count_parameters(model) -> int:
    """Total number of scalar parameters: the sum of p.size over model.parameters().

    EXAMPLE: count_parameters(Linear(64, 256)) -> 64 * 256 + 256 = 16640
    HINT: iterate over _parameters(model); each p is a Tensor with a .size.
    """
    ### BEGIN SOLUTION
    return int(sum(p.data.size for p in _parameters(model)))
    ### END SOLUTION


def parameter_bytes(model) -> int:
    """Memory held by the parameters, in bytes: the sum of p.data.nbytes.

    EXAMPLE: parameter_bytes(Linear(64, 256)) -> 16640 * 4 = 66560 (float32)
    """
    ### BEGIN SOLUTION
    return int(sum(p.data.nbytes for p in _parameters(model)))
    ### END SOLUTION

# %% mutant={"name": "counts-tensors", "target": "count-params", "catches": ["test-count-params"]}
# Counts parameter tensors instead of the numbers inside them.
return len(_parameters(model))

# %% mutant={"name": "bytes-assume-float32", "target": "count-params", "region": 1, "catches": ["test-count-params"]}
# Hard-codes 4 bytes per number: wrong for float64 (or int8) parameters.
return int(sum(p.data.size * 4 for p in _parameters(model)))

# %% [markdown]
# The test checks the worked example, a small MLP, a layer without parameters, a model whose two
# layers share one weight (it must be counted once), and that float64 parameters take 8 bytes each.

# %% nbgrader={"grade": true, "grade_id": "test-count-params", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
def test_count_params():
    """Parameter counts and bytes of single layers, an MLP and parameter-free layers."""
    lin = Linear(64, 256, rng=0)
    assert count_parameters(lin) == 16640, f"Linear(64, 256): 64*256 + 256 = 16640 parameters, got {count_parameters(lin)}"
    assert parameter_bytes(lin) == 66560, f"16640 float32 numbers take 66560 bytes, got {parameter_bytes(lin)}"
    mlp = Sequential(Linear(64, 256, rng=0), ReLU(), Linear(256, 256, rng=1), ReLU(), Linear(256, 10, rng=2))
    want = 64 * 256 + 256 + 256 * 256 + 256 + 256 * 10 + 10
    assert count_parameters(mlp) == want, f"the 64-256-256-10 MLP has {want} parameters, got {count_parameters(mlp)}"
    assert parameter_bytes(mlp) == 4 * want, f"expected {4 * want} bytes, got {parameter_bytes(mlp)}"
    assert count_parameters(ReLU()) == 0 and parameter_bytes(ReLU()) == 0, "an activation has no parameters"
    assert isinstance(count_parameters(mlp), int) and isinstance(parameter_bytes(mlp), int), "return Python ints"
    print("count_parameters / parameter_bytes: OK")

test_count_params()
### BEGIN HIDDEN TESTS
_a = Linear(4, 4, rng=0)
_tied = Sequential(_a, ReLU(), _a)
assert count_parameters(_tied) == 20, "a layer used twice is counted once (parameters() deduplicates)"
_d = Linear(3, 2, bias=False, rng=0)
_d.weight.data = _d.weight.data.astype(np.float64)
assert count_parameters(_d) == 6 and parameter_bytes(_d) == 48, "float64 parameters take 8 bytes each"
assert count_parameters(Sequential(ReLU(), Dropout(0.5))) == 0
### END HIDDEN TESTS

# %% [markdown]
# ## 3. How much arithmetic? Counting FLOPs
#
# A **FLOP** is one floating-point operation: an addition or a multiplication. Counting them gives a
# machine-independent measure of a layer's work. Papers and libraries disagree on details (some count
# a multiply-add as one "MAC", some count the bias, some ignore activations), so a FLOP count is only
# meaningful with its **convention**. Ours, the same as modules 09 and 18:
#
# | layer | FLOPs | why |
# |---|---|---|
# | `Linear(in, out)` on `(..., in)` | `2 * rows * in * out`, rows = product of the leading dims | every weight does one multiply-add per row; a multiply-add counts as 2 |
# | `Conv2d(C, O, (kh, kw))` on `(N, C, H, W)` | `2 * N * C * kh * kw * O * OH * OW` | every output value is a dot product of length `C * kh * kw` |
# | activations (`ReLU`, `Sigmoid`, `Tanh`, `GELU`, `Softmax`) | 1 per element of the input | a convention: "one operation per number" |
# | everything else (`Dropout`, `Flatten`, pooling, ...) | 0 | they move or select numbers, they do not compute with them |
#
# Is the bias counted? A dot product of length `in` needs `in` multiplications but only `in - 1`
# additions; adding the bias supplies the missing one. So `2 * in` per output is *exact* for a layer
# with bias, and one too many for a layer without: close enough that we use one formula for both.
#
# Worked example: `Linear(64, 256)` on a batch of shape `(256, 64)` does `2 * 256 * 64 * 256 =
# 8,388,608` FLOPs, and the `ReLU` after it `256 * 256 = 65,536`. The activation is more than a hundred
# times cheaper in FLOPs. (Whether it is a hundred times cheaper in *time* is a question for
# section 8.)
#
# The output size of a convolution is the one from module 09: `OH = (H + 2 * padding - kh) // stride + 1`,
# and the same for `OW`. The scaffolding below checks the input shape and computes `rows` and the number
# of elements for you.

# %% nbgrader={"grade": false, "grade_id": "layer-flops", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def _is_conv2d(layer) -> bool:
    return Conv2d is not None and isinstance(layer, Conv2d)


def layer_flops(layer, input_shape) -> int:
    """Forward-pass FLOPs of one layer for an input of `input_shape` (batch dimensions included).

    Convention: a multiply-add counts as 2 FLOPs (the bias add is the missing addition of the dot
    product, so it is included); activations cost 1 FLOP per element; other layers 0.
      Linear(in, out) on (..., in):               2 * rows * in * out   (rows = prod of leading dims)
      Conv2d(C, O, (kh, kw)) on (N, C, H, W):     2 * N * C * kh * kw * O * OH * OW
      Activation (ReLU, Sigmoid, ..., Softmax):   number of elements
    EXAMPLE: layer_flops(Linear(64, 256), (256, 64)) -> 8388608; layer_flops(ReLU(), (256, 256)) -> 65536
    HINTS:
    - isinstance(layer, Linear) / _is_conv2d(layer) / isinstance(layer, Activation) tell the kinds apart.
    - For Conv2d: kh, kw = layer.kernel_size; use layer.stride, layer.padding, layer.out_channels.
    """
    shape = tuple(int(s) for s in input_shape)
    n_elements = int(np.prod(shape, dtype=np.int64)) if shape else 1
    if isinstance(layer, Linear):
        if not shape or shape[-1] != layer.in_features:
            raise ValueError(f"{layer!r} needs inputs with last dimension {layer.in_features}, got shape {shape}")
        rows = n_elements // layer.in_features
    elif _is_conv2d(layer):
        if len(shape) != 4 or shape[1] != layer.in_channels:
            raise ValueError(f"{layer!r} needs an (N, {layer.in_channels}, H, W) input, got shape {shape}")
        N, C, H, W = shape
    ### BEGIN SOLUTION
    if isinstance(layer, Linear):
        return 2 * rows * layer.in_features * layer.out_features
    if _is_conv2d(layer):
        kh, kw = layer.kernel_size
        oh = (H + 2 * layer.padding - kh) // layer.stride + 1
        ow = (W + 2 * layer.padding - kw) // layer.stride + 1
        return 2 * N * C * kh * kw * layer.out_channels * oh * ow
    if isinstance(layer, Activation):
        return n_elements
    return 0
    ### END SOLUTION

# %% mutant={"name": "linear-rows-from-first-axis", "target": "layer-flops", "replace": "if isinstance(layer, Linear):\n    return 2 * rows * layer.in_features * layer.out_features", "catches": ["test-layer-flops"]}
# Takes the batch size as the number of rows: a (B, T, in) input has B * T rows.
if isinstance(layer, Linear):
    return 2 * shape[0] * layer.in_features * layer.out_features

# %% mutant={"name": "conv-ignores-padding", "target": "layer-flops", "replace": "oh = (H + 2 * layer.padding - kh) // layer.stride + 1\now = (W + 2 * layer.padding - kw) // layer.stride + 1", "catches": ["test-layer-flops"]}
# Output size without the padding: too few output positions.
oh = (H - kh) // layer.stride + 1
ow = (W - kw) // layer.stride + 1

# %% [markdown]
# The test checks the worked example, a Linear layer on a 3-D input (a batch of sequences, where every
# position is a row), a convolution with padding and with stride 2 against the formula, activations,
# layers that count as zero, and the error for an input of the wrong width.

# %% nbgrader={"grade": true, "grade_id": "test-layer-flops", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
def test_layer_flops():
    """FLOPs of Linear, Conv2d, activations and zero-cost layers under the module's convention."""
    lin = Linear(64, 256, rng=0)
    f = layer_flops(lin, (256, 64))
    assert f == 8388608, f"Linear(64, 256) on (256, 64): 2 * 256 * 64 * 256 = 8388608 FLOPs, got {f}"
    f3 = layer_flops(Linear(16, 8, rng=0), (4, 5, 16))
    assert f3 == 2 * 20 * 16 * 8, f"a (4, 5, 16) input has 20 rows: expected {2 * 20 * 16 * 8}, got {f3}"
    assert layer_flops(ReLU(), (256, 256)) == 65536, "an activation costs 1 FLOP per element"
    assert layer_flops(Softmax(), (8, 10)) == 80 and layer_flops(Tanh(), (3, 4, 5)) == 60, "1 FLOP per element"
    conv = Conv2d(3, 8, 3, padding=1, rng=0)
    fc = layer_flops(conv, (2, 3, 16, 16))
    assert fc == 2 * 2 * 3 * 9 * 8 * 16 * 16, f"Conv2d(3, 8, 3, padding=1) on (2, 3, 16, 16): expected {2 * 2 * 3 * 9 * 8 * 256}, got {fc}"
    strided = Conv2d(3, 4, 3, stride=2, rng=0)
    fs = layer_flops(strided, (1, 3, 9, 9))           # (9 - 3) // 2 + 1 = 4 -> a 4x4 output
    assert fs == 2 * 3 * 9 * 4 * 4 * 4, f"stride 2 on 9x9 gives a 4x4 output: expected {2 * 3 * 9 * 4 * 16}, got {fs}"
    assert layer_flops(Dropout(0.5), (10, 10)) == 0 and layer_flops(Flatten(), (2, 3, 4, 4)) == 0, \
        "layers that only move numbers count 0 FLOPs"
    try:
        layer_flops(lin, (256, 32))
        raise AssertionError("a (256, 32) input to Linear(64, 256) must raise ValueError")
    except ValueError:
        pass
    print("layer_flops: OK")

test_layer_flops()
### BEGIN HIDDEN TESTS
assert layer_flops(Conv2d(2, 5, (3, 1), rng=0), (3, 2, 6, 6)) == 2 * 3 * 2 * 3 * 1 * 5 * 4 * 6, "non-square kernel"
assert layer_flops(Conv2d(1, 1, 2, stride=2, padding=1, rng=0), (1, 1, 5, 5)) == 2 * 4 * 9, "stride and padding together"
assert layer_flops(Linear(5, 3, bias=False, rng=0), (5,)) == 30, "a single 1-D input is one row"
assert layer_flops(Sigmoid(), [7, 3]) == 21, "input_shape may be a list"
assert layer_flops(MaxPool2d(2), (1, 1, 4, 4)) == 0, "pooling counts 0 under our convention"
_l2 = Linear(2, 2, rng=0)
assert isinstance(layer_flops(_l2, (1, 2)), int) and layer_flops(_l2, (1, 2)) == 8
### END HIDDEN TESTS

# %% [markdown]
# ## 4. How long does it take? Measuring latency
#
# Timing a call looks trivial: read a clock, call, read the clock again. Three things make a single
# reading misleading:
#
# ```
#   call:   1      2      3    | 4     5     6     7     8    ...   23
#          [ warm-up, untimed  ]| timed repeats -> one sample each
#           first calls pay for   most samples cluster ...  ... a few are slow
#           fresh memory, cold    (the typical cost)            (another process ran,
#           caches, lazy setup                                   the garbage collector woke up)
# ```
#
# 1. **Warm-up.** The first calls of a function are often slower: NumPy asks the operating system for
#    fresh memory, data is not in the CPU caches yet, libraries initialise lazily. We want the steady
#    state, so we run a few calls first and throw their times away.
# 2. **Repeats.** One sample says nothing about the noise. We time `repeats` separate calls.
# 3. **Robust summaries.** Noise only ever makes a call *slower*, so the mean is pulled up by a few
#    unlucky calls. The **median** (the middle sample) is the honest "typical" time. The **tail
#    percentiles** say how bad it gets: `p90` is the time that 90% of calls beat, `p99` the time 99% beat.
#    A server that promises answers "within 50 ms" promises something about its p99, not its median.
#
# Worked example with five samples in milliseconds, `[1, 2, 3, 4, 100]`: the median is 3 while the mean
# is 22; with NumPy's default linear interpolation `p90` lies 60% of the way from the 4th sorted value
# to the 5th, `4 + 0.6 * 96 = 61.6`.
#
# Two details make the function trustworthy. The **clock is a parameter** (`timer=time.perf_counter`,
# a monotonic high-resolution clock): a test can pass a fake clock and know the exact answer. And
# Python's garbage collector is paused while timing, as `timeit` does, so a collection caused by
# earlier code does not land inside our sample.

# %% nbgrader={"grade": false, "grade_id": "measure-latency", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def measure_latency(fn, warmup: int = 3, repeats: int = 20, timer=time.perf_counter) -> dict:
    """Time fn() and summarise: dict with median, mean, std, min, max, p50, p90, p99 (seconds),
    plus n (= repeats) and times (the raw samples, a list of floats).

    Protocol: call fn() `warmup` times untimed, then `repeats` times, each timed on its own as
    timer() after minus timer() before. std is the sample standard deviation (ddof=1), 0.0 for a
    single sample. Percentiles use NumPy's default (linear interpolation).
    EXAMPLE: samples [1, 2, 3, 4, 100] -> median 3, mean 22, p90 61.6, max 100
    HINTS:
    - t0 = timer(); fn(); times.append(timer() - t0)
    - p50, p90, p99 = np.percentile(t, [50, 90, 99])
    """
    if int(warmup) < 0 or int(repeats) < 1:
        raise ValueError(f"need warmup >= 0 and repeats >= 1, got warmup={warmup}, repeats={repeats}")
    times = []
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        ### BEGIN SOLUTION
        for _ in range(int(warmup)):
            fn()
        for _ in range(int(repeats)):
            t0 = timer()
            fn()
            times.append(timer() - t0)
        ### END SOLUTION
    finally:
        if gc_was_enabled:
            gc.enable()
    t = np.asarray(times, dtype=np.float64)
    ### BEGIN SOLUTION
    p50, p90, p99 = np.percentile(t, [50, 90, 99])
    stats = {
        "median": float(np.median(t)),
        "mean": float(t.mean()),
        "std": float(t.std(ddof=1)) if t.size > 1 else 0.0,
        "min": float(t.min()),
        "max": float(t.max()),
        "p50": float(p50),
        "p90": float(p90),
        "p99": float(p99),
    }
    ### END SOLUTION
    stats["n"] = int(t.size)
    stats["times"] = [float(v) for v in t]
    return stats

# %% mutant={"name": "warmup-timed", "target": "measure-latency", "catches": ["test-measure-latency"]}
# Times the warm-up calls too, so cold first calls pollute the statistics.
for _ in range(int(warmup) + int(repeats)):
    t0 = timer()
    fn()
    times.append(timer() - t0)

# %% mutant={"name": "population-std", "target": "measure-latency", "region": 1, "replace": "    \"std\": float(t.std(ddof=1)) if t.size > 1 else 0.0,", "catches": ["test-measure-latency"]}
    # NumPy's default std divides by n, not n - 1.
    "std": float(t.std()),

# %% [markdown]
# The test drives `measure_latency` with a fake clock whose readings are chosen so that the five timed
# calls take exactly 1, 2, 3, 4 and 100 seconds: it checks every statistic of the worked example, that
# the warm-up calls happen but are not timed, and then that a real timing gives positive, ordered values.

# %% nbgrader={"grade": true, "grade_id": "test-measure-latency", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
def test_measure_latency():
    """Warm-up untimed, one sample per repeat, and the summary statistics of the worked example."""
    calls = []
    readings = iter([0.0, 1.0, 10.0, 12.0, 20.0, 23.0, 30.0, 34.0, 40.0, 140.0])   # durations 1, 2, 3, 4, 100
    s = measure_latency(lambda: calls.append(1), warmup=2, repeats=5, timer=lambda: next(readings))
    assert len(calls) == 7, f"2 warm-up calls + 5 timed calls = 7 calls expected, got {len(calls)}"
    assert s["times"] == [1.0, 2.0, 3.0, 4.0, 100.0], f"one sample per timed call expected, got {s['times']}"
    assert s["n"] == 5, f"n should be 5, got {s['n']}"
    assert s["median"] == 3.0 and s["p50"] == 3.0, f"median and p50 of [1, 2, 3, 4, 100] are 3, got {s['median']}, {s['p50']}"
    assert abs(s["mean"] - 22.0) < 1e-12, f"mean should be 22, got {s['mean']}"
    assert s["min"] == 1.0 and s["max"] == 100.0, f"min 1 and max 100 expected, got {s['min']}, {s['max']}"
    assert abs(s["p90"] - 61.6) < 1e-9, f"p90 should be 61.6 (linear interpolation), got {s['p90']}"
    assert abs(s["p99"] - 96.16) < 1e-9, f"p99 should be 96.16, got {s['p99']}"
    assert abs(s["std"] - np.std([1, 2, 3, 4, 100], ddof=1)) < 1e-9, "std must be the sample std (ddof=1)"
    real = measure_latency(lambda: np.ones(1000).sum(), warmup=1, repeats=7)
    assert 0 < real["min"] <= real["median"] <= real["p90"] <= real["p99"] <= real["max"], \
        f"real timings must be positive and ordered min <= median <= p90 <= p99 <= max: {real}"
    print("measure_latency: OK, a 1000-element sum takes", f"{real['median'] * 1e6:.1f} us")

test_measure_latency()
### BEGIN HIDDEN TESTS
_one = measure_latency(lambda: None, warmup=0, repeats=1, timer=iter([5.0, 7.5]).__next__)
assert _one["times"] == [2.5] and _one["std"] == 0.0 and _one["p99"] == 2.5, "a single sample"
_gc_before = gc.isenabled()
try:
    measure_latency(lambda: 1 / 0, warmup=0, repeats=1)
except ZeroDivisionError:
    pass
assert gc.isenabled() == _gc_before, "the garbage collector must be restored even when fn raises"
for _bad in ({"repeats": 0}, {"warmup": -1}):
    try:
        measure_latency(lambda: None, **_bad)
        raise AssertionError(f"{_bad} must raise ValueError")
    except ValueError:
        pass
### END HIDDEN TESTS

# %% [markdown]
# ## 5. The profile of a model, layer by layer
#
# Now we put the columns together. For a `Sequential`, we walk its layers in order and feed each one the
# previous layer's output, exactly as `Sequential.forward` would, but stopping at every layer to measure:
#
# ```
#   x ──► layer 0 ──► out0 ──► layer 1 ──► out1 ──► ... ──► layer n ──► out_n
#           │                    │                             │
#           ▼                    ▼                             ▼
#        row 0: name, output_shape, params, param_bytes, activation_bytes (= out.data.nbytes),
#               flops (of the layer on its input's shape), time_ms (median of measure_latency)
#                                          then: share = time_ms / sum of all time_ms
# ```
#
# A few decisions, each worth knowing when you read any profiler's output:
#
# - **Inference mode.** The walk runs under `no_grad()` (module 05), so it profiles the forward pass
#   without the cost of recording a graph.
# - **Activation memory** is the size of each layer's *output*. During inference only about two of them
#   are alive at any moment; during training autograd keeps all of them for the backward pass, so their
#   sum is what a training step holds.
# - **Time per layer** is the median of separate calls of that layer alone. The sum of the per-layer
#   times is close to, but not exactly, the time of the whole model (section 8 compares them).
# - **Names** are `"index:ClassName"`, e.g. `"2:Linear"`, so two layers of the same class stay apart.
#
# A model that is not a `Sequential` is profiled as a single row. You write the body of the loop: run
# the layer once to get its output, time it with `measure_latency`, and append the row.

# %% nbgrader={"grade": false, "grade_id": "profile-model", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def _as_layers(model) -> list:
    """The layers to walk: a Sequential's layers, a list/tuple as given, anything else as one layer."""
    if isinstance(model, Sequential):
        return list(model.layers)
    if isinstance(model, (list, tuple)):
        return list(model)
    return [model]


def profile_model(model, x, repeats: int = 10, warmup: int = 2, timer=time.perf_counter) -> list:
    """Per-layer profile of a forward pass (under no_grad): one dict per layer, in order, with keys
    name, output_shape, params, param_bytes, activation_bytes, flops, time_ms, share.

    time_ms is the median of measure_latency(...) in milliseconds; share is time_ms divided by the sum
    of all time_ms (the shares add up to 1). Each layer is fed the previous layer's output.
    EXAMPLE: profile_model(Sequential(Linear(64, 256), ReLU()), Tensor(np.ones((32, 64))))
             -> [{"name": "0:Linear", "output_shape": (32, 256), "params": 16640, ...}, {"name": "1:ReLU", ...}]
    HINTS:
    - out = layer(inp); stats = measure_latency(lambda: layer(inp), warmup=warmup, repeats=repeats, timer=timer)
    - the FLOPs come from layer_flops(layer, inp.shape); the activation bytes from out.data.nbytes
    - do not forget inp = out at the end of the loop body
    """
    inp = x if isinstance(x, Tensor) else Tensor(np.asarray(x))
    rows = []
    with no_grad():
        for i, layer in enumerate(_as_layers(model)):
            name = f"{i}:{type(layer).__name__}"
            ### BEGIN SOLUTION
            out = layer(inp)
            stats = measure_latency(lambda: layer(inp), warmup=warmup, repeats=repeats, timer=timer)
            rows.append({
                "name": name,
                "output_shape": tuple(out.shape),
                "params": count_parameters(layer),
                "param_bytes": parameter_bytes(layer),
                "activation_bytes": int(out.data.nbytes),
                "flops": layer_flops(layer, inp.shape),
                "time_ms": stats["median"] * 1e3,
            })
            inp = out
            ### END SOLUTION
    total_ms = sum(r["time_ms"] for r in rows)
    for r in rows:
        r["share"] = r["time_ms"] / total_ms if total_ms > 0 else 0.0
    return rows

# %% mutant={"name": "profile-same-input", "target": "profile-model", "replace": "})\ninp = out", "catches": ["test-profile-model"]}
# Forgets to pass each layer's output on: every layer is fed the model input.
})

# %% [markdown]
# The test first profiles a model of three fake layers that each advance a fake clock by a known number
# of milliseconds (1, 3 and 6), so the times and shares are exact. Then it profiles the real
# 64-256-256-10 MLP on a batch of 32 and checks every column except the timings against numbers
# worked out by hand.

# %% nbgrader={"grade": true, "grade_id": "test-profile-model", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
class FakeClock:
    """A clock that only moves when a FakeLayer says so."""
    def __init__(self):
        self.now = 0.0
    def __call__(self):
        return self.now


class FakeLayer(Module):
    """Doubles its input and pretends to take `ms` milliseconds (on a FakeClock)."""
    def __init__(self, clock, ms):
        super().__init__()
        self.clock, self.ms = clock, ms
    def forward(self, x):
        self.clock.now += self.ms / 1e3
        return x * 2.0


def test_profile_model():
    """Exact times and shares on a fake clock; shapes, parameters, bytes and FLOPs of a real MLP."""
    clock = FakeClock()
    fake = Sequential(FakeLayer(clock, 1.0), FakeLayer(clock, 3.0), FakeLayer(clock, 6.0))
    rows = profile_model(fake, Tensor(np.ones((2, 3), dtype=np.float32)), repeats=4, warmup=1, timer=clock)
    assert isinstance(rows, list) and len(rows) == 3, f"one row per layer expected, got {rows!r}"
    assert [r["name"] for r in rows] == ["0:FakeLayer", "1:FakeLayer", "2:FakeLayer"], \
        f"names are 'index:ClassName', got {[r['name'] for r in rows]}"
    times = [r["time_ms"] for r in rows]
    assert np.allclose(times, [1.0, 3.0, 6.0]), f"time_ms is the median time in milliseconds: expected [1, 3, 6], got {times}"
    assert np.allclose([r["share"] for r in rows], [0.1, 0.3, 0.6]), "share = time_ms / total time_ms"
    np.random.seed(0)
    mlp = Sequential(Linear(64, 256), ReLU(), Linear(256, 256), ReLU(), Linear(256, 10))
    x = Tensor(np.random.default_rng(0).standard_normal((32, 64)).astype(np.float32))
    rows = profile_model(mlp, x, repeats=3, warmup=1)
    keys = {"name", "output_shape", "params", "param_bytes", "activation_bytes", "flops", "time_ms", "share"}
    assert all(keys <= set(r) for r in rows), f"every row needs the keys {sorted(keys)}, got {sorted(rows[0])}"
    assert [r["name"] for r in rows] == ["0:Linear", "1:ReLU", "2:Linear", "3:ReLU", "4:Linear"]
    shapes = [r["output_shape"] for r in rows]
    assert shapes == [(32, 256), (32, 256), (32, 256), (32, 256), (32, 10)], \
        f"each layer must get the previous layer's output: shapes {shapes}"
    assert [r["params"] for r in rows] == [16640, 0, 65792, 0, 2570], f"params per layer: {[r['params'] for r in rows]}"
    assert [r["param_bytes"] for r in rows] == [66560, 0, 263168, 0, 10280], "param_bytes = 4 bytes per float32 parameter"
    assert [r["activation_bytes"] for r in rows] == [32768] * 4 + [1280], \
        f"activation_bytes is the output's nbytes (32 x 256 x 4 = 32768), got {[r['activation_bytes'] for r in rows]}"
    assert [r["flops"] for r in rows] == [2 * 32 * 64 * 256, 8192, 2 * 32 * 256 * 256, 8192, 2 * 32 * 256 * 10], \
        f"flops per layer: {[r['flops'] for r in rows]}"
    assert all(r["time_ms"] > 0 for r in rows) and abs(sum(r["share"] for r in rows) - 1) < 1e-9, \
        "real times are positive and the shares add up to 1"
    print("profile_model: OK")

test_profile_model()
### BEGIN HIDDEN TESTS
_clock = FakeClock()
_single = profile_model(FakeLayer(_clock, 2.0), np.ones((1, 4)), repeats=2, warmup=0, timer=_clock)
assert len(_single) == 1 and _single[0]["name"] == "0:FakeLayer" and np.isclose(_single[0]["time_ms"], 2.0), \
    "a non-Sequential model is one row; a NumPy input is wrapped in a Tensor"
assert _single[0]["share"] == 1.0 and _single[0]["output_shape"] == (1, 4)
_lst = profile_model([Linear(4, 3, rng=0), Tanh()], Tensor(np.ones((5, 4), dtype=np.float32)), repeats=1, warmup=0)
assert [r["output_shape"] for r in _lst] == [(5, 3), (5, 3)] and _lst[1]["flops"] == 15, "a list of layers works too"
_x = Tensor(np.ones((2, 64), dtype=np.float32), requires_grad=True)
assert profile_model(Sequential(Linear(64, 2, rng=0)), _x, repeats=1, warmup=0)[0]["flops"] == 2 * 2 * 64 * 2
### END HIDDEN TESTS

# %% [markdown]
# ## 6. Printing the profile
#
# A list of dictionaries is good for code and bad for eyes. `format_profile` turns it into a plain-text
# table with aligned columns and a **total** row, like the sketch in section 1. The formatting is given;
# you compute the totals. Add up every numeric column (`params`, `param_bytes`, `activation_bytes`,
# `flops`, `time_ms`, `share`); the total share is 1 (100%) up to rounding, a quick sanity check.
#
# (Adding up the activation bytes gives what a *training* step keeps alive, as discussed above.)

# %% nbgrader={"grade": false, "grade_id": "format-profile", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
_COLUMNS = [  # (header, key, formatter, align)
    ("layer", "name", str, "<"),
    ("output", "output_shape", lambda v: "" if v is None else str(tuple(v)), "<"),
    ("params", "params", lambda v: f"{v:,}", ">"),
    ("param bytes", "param_bytes", lambda v: f"{v:,}", ">"),
    ("act. bytes", "activation_bytes", lambda v: f"{v:,}", ">"),
    ("FLOPs", "flops", lambda v: f"{v:,}", ">"),
    ("time ms", "time_ms", lambda v: f"{v:.3f}", ">"),
    ("share", "share", lambda v: f"{v:.1%}", ">"),
]
_SUMMED = ("params", "param_bytes", "activation_bytes", "flops", "time_ms", "share")


def _total_row(rows: list) -> dict:
    """The total row: name "total", no output shape, and the sum of every column in _SUMMED.

    EXAMPLE: rows with params 10 and 5 -> {"name": "total", "output_shape": None, "params": 15, ...}
    """
    total = {"name": "total", "output_shape": None}
    ### BEGIN SOLUTION
    for key in _SUMMED:
        total[key] = sum(r[key] for r in rows)
    ### END SOLUTION
    return total


def format_profile(rows: list) -> str:
    """A plain-text table of profile_model rows: a header, one line per layer and a total row.

    Columns: layer, output, params, param bytes, act. bytes, FLOPs, time ms, share. Every line has
    the same width (columns are padded to their widest cell), numbers are right-aligned.
    """
    rows = list(rows)
    if not rows:
        raise ValueError("format_profile needs at least one row (profile_model returns one per layer)")
    body = rows + [_total_row(rows)]
    cells = [[fmt(r[key]) for _, key, fmt, _ in _COLUMNS] for r in body]
    headers = [h for h, _, _, _ in _COLUMNS]
    widths = [max(len(h), *(len(c[j]) for c in cells)) for j, h in enumerate(headers)]
    aligns = [a for _, _, _, a in _COLUMNS]

    def line(values):
        return "  ".join(f"{v:{a}{w}}" for v, a, w in zip(values, aligns, widths))

    rule = "  ".join("-" * w for w in widths)
    lines = [line(headers), rule] + [line(c) for c in cells[:-1]] + [rule, line(cells[-1])]
    return "\n".join(lines)

# %% [markdown]
# The test formats two hand-made rows and checks the totals, that there is one line per row plus the
# header, two rules and the total, and that every line has the same width.

# %% nbgrader={"grade": true, "grade_id": "test-format-profile", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
def test_format_profile():
    """Totals are the column sums; the table has aligned lines of equal width."""
    rows = [
        {"name": "0:Linear", "output_shape": (8, 4), "params": 1200, "param_bytes": 4800,
         "activation_bytes": 128, "flops": 64000, "time_ms": 0.75, "share": 0.75},
        {"name": "1:ReLU", "output_shape": (8, 4), "params": 0, "param_bytes": 0,
         "activation_bytes": 128, "flops": 32, "time_ms": 0.25, "share": 0.25},
    ]
    total = _total_row(rows)
    assert total["params"] == 1200 and total["param_bytes"] == 4800 and total["activation_bytes"] == 256, \
        f"the total row sums each column: {total}"
    assert total["flops"] == 64032 and abs(total["time_ms"] - 1.0) < 1e-12 and abs(total["share"] - 1.0) < 1e-12, \
        f"flops 64032, time 1.0 ms, share 1.0 expected: {total}"
    text = format_profile(rows)
    lines = text.splitlines()
    assert len(lines) == 6, f"header, rule, 2 rows, rule, total = 6 lines expected, got {len(lines)}:\n{text}"
    assert len({len(l) for l in lines}) == 1, f"every line must have the same width:\n{text}"
    assert lines[-1].startswith("total") and "64,032" in lines[-1] and "100.0%" in lines[-1], \
        f"the last line is the total row with 64,032 FLOPs and 100.0%:\n{lines[-1]}"
    assert "0:Linear" in lines[2] and "(8, 4)" in lines[2] and "75.0%" in lines[2], f"row lines:\n{text}"
    print(text)

test_format_profile()

# %% [markdown]
# ## 7. Amdahl's law
#
# Gene Amdahl made this argument in 1967 about parallel computers: if a fraction $f$ of a program's time
# can be sped up by a factor $s$ (by more processors, a better algorithm, a fused kernel...) and the rest
# cannot, the overall speed-up is
#
# $$S(f, s) = \frac{1}{(1 - f) + f / s}, \qquad \lim_{s \to \infty} S(f, s) = \frac{1}{1 - f}.$$
#
# Worked numbers (the same as in section 1): $S(0.6, 2) = 1/0.7 \approx 1.4286$, the limit for $f = 0.6$
# is $2.5$, and for $f = 0.05$ it is $1/0.95 \approx 1.0526$. Two sanity checks: $s = 1$ (no change) gives
# $S = 1$, and $f = 0$ (optimising something that takes no time) gives $S = 1$ for any $s$.
#
# Write both functions. Invalid inputs are refused by the scaffolding: a fraction must lie in $[0, 1]$,
# a speed-up factor must be positive (`math.inf` is allowed: "this part takes no time any more"). When
# the whole program is made infinitely fast ($f = 1$, $s = \infty$) the new time is 0 and the speed-up
# is infinite; return `math.inf` rather than dividing by zero.

# %% nbgrader={"grade": false, "grade_id": "amdahl", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def _check_fraction(fraction) -> float:
    f = float(fraction)
    if not 0.0 <= f <= 1.0:           # also rejects nan
        raise ValueError(f"fraction must be in [0, 1], got {fraction}")
    return f


def amdahl_speedup(fraction: float, factor: float) -> float:
    """Overall speed-up when `fraction` of the time becomes `factor` times faster: 1 / ((1 - f) + f / s).

    Raises ValueError for fraction outside [0, 1] or factor <= 0. factor may be math.inf.
    EXAMPLE: amdahl_speedup(0.6, 2) -> 1.4286; amdahl_speedup(0.6, math.inf) -> 2.5
    """
    f = _check_fraction(fraction)
    s = float(factor)
    if not s > 0:                     # also rejects nan
        raise ValueError(f"factor must be > 0, got {factor}")
    ### BEGIN SOLUTION
    new_time = (1.0 - f) + f / s
    return math.inf if new_time == 0 else 1.0 / new_time
    ### END SOLUTION


def amdahl_limit(fraction: float) -> float:
    """Best possible overall speed-up when `fraction` of the time is made infinitely fast: 1 / (1 - f).

    Returns math.inf when fraction == 1. EXAMPLE: amdahl_limit(0.6) -> 2.5
    """
    f = _check_fraction(fraction)
    ### BEGIN SOLUTION
    return math.inf if f == 1.0 else 1.0 / (1.0 - f)
    ### END SOLUTION

# %% mutant={"name": "amdahl-fraction-swapped", "target": "amdahl", "replace": "new_time = (1.0 - f) + f / s", "catches": ["test-amdahl"]}
# Speeds up the part that was NOT chosen.
new_time = f + (1.0 - f) / s

# %% [markdown]
# The test checks the worked numbers, the two sanity checks, that the speed-up grows with the factor but
# never passes the limit, the infinite cases, and the errors for invalid arguments.

# %% nbgrader={"grade": true, "grade_id": "test-amdahl", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
def test_amdahl():
    """Amdahl's law: worked numbers, sanity checks, the limit and invalid inputs."""
    assert abs(amdahl_speedup(0.6, 2) - 1 / 0.7) < 1e-12, f"S(0.6, 2) = 1/0.7 = 1.4286, got {amdahl_speedup(0.6, 2)}"
    assert abs(amdahl_limit(0.6) - 2.5) < 1e-12, f"the limit for f = 0.6 is 2.5, got {amdahl_limit(0.6)}"
    assert abs(amdahl_limit(0.05) - 1 / 0.95) < 1e-12, f"the limit for f = 0.05 is 1.0526, got {amdahl_limit(0.05)}"
    assert abs(amdahl_speedup(0.6, math.inf) - 2.5) < 1e-12, "an infinitely fast part gives the limit"
    assert amdahl_speedup(0.37, 1) == 1.0 and amdahl_speedup(0.0, 1000) == 1.0, "s = 1 or f = 0 change nothing"
    assert abs(amdahl_speedup(1.0, 4) - 4.0) < 1e-12, "speeding up everything 4x gives 4x"
    gains = [amdahl_speedup(0.8, s) for s in (1, 2, 4, 16, 256)]
    assert all(a < b for a, b in zip(gains, gains[1:])) and gains[-1] < amdahl_limit(0.8), \
        f"the speed-up grows with the factor but stays below the limit 5: {gains}"
    assert abs(amdahl_speedup(0.5, 0.5) - 1 / 1.5) < 1e-12, "a factor below 1 is a slow-down"
    assert amdahl_limit(1.0) == math.inf and amdahl_speedup(1.0, math.inf) == math.inf, "f = 1 can go infinitely fast"
    for bad in ((-0.1, 2), (1.5, 2), (0.5, 0), (0.5, -3)):
        try:
            amdahl_speedup(*bad)
            raise AssertionError(f"amdahl_speedup{bad} must raise ValueError")
        except ValueError:
            pass
    print("amdahl_speedup / amdahl_limit: OK")

test_amdahl()
### BEGIN HIDDEN TESTS
assert amdahl_limit(0.0) == 1.0 and abs(amdahl_limit(0.9) - 10.0) < 1e-9
assert abs(amdahl_speedup(0.9, 10) - 1 / 0.19) < 1e-12
for _bad in (-1e-9, 1.0000001, float("nan")):
    try:
        amdahl_limit(_bad)
        raise AssertionError(f"amdahl_limit({_bad}) must raise ValueError")
    except ValueError:
        pass
try:
    amdahl_speedup(0.5, float("nan"))
    raise AssertionError("a nan factor must raise ValueError")
except ValueError:
    pass
### END HIDDEN TESTS

# %% [markdown]
# ## 8. Systems analysis: profiling a real MLP
#
# Time to use the tools on the model from the task description: an MLP with layer sizes 64-256-256-10,
# fed a batch of 256 random inputs (the values do not matter for speed, only the shapes).
#
# ### 8.1 Warm-up and the tail
#
# First, how noisy is a forward pass? We time a freshly built model from its very first call (no
# warm-up), print the first few samples, then summarise 60 repeats.

# %%
def make_mlp(seed=0):
    np.random.seed(seed)
    return Sequential(Linear(64, 256), ReLU(), Linear(256, 256), ReLU(), Linear(256, 10))


mlp = make_mlp()
x_batch = Tensor(np.random.default_rng(0).standard_normal((256, 64)).astype(np.float32))


def forward():
    with no_grad():
        return mlp(x_batch)


cold = measure_latency(forward, warmup=0, repeats=60)
first = ", ".join(f"{t * 1e3:.3f}" for t in cold["times"][:5])
print(f"first five calls (ms): {first}")
print(f"first call / median of all 60: {cold['times'][0] / cold['median']:.1f}x")
slow = sum(t > 2 * cold["median"] for t in cold["times"])
print(f"calls slower than twice the median: {slow} of 60")
print(f"{'statistic':>10} | {'ms':>8} | {'x median':>8}")
for key in ("min", "median", "mean", "p90", "p99", "max"):
    print(f"{key:>10} | {cold[key] * 1e3:>8.3f} | {cold[key] / cold['median']:>8.2f}")

# %% [markdown]
# Two kinds of slow call can show up here. The **first** call often pays one-time costs (fresh memory
# for every intermediate array, cold caches), which is what a warm-up keeps out of the statistics. And
# slow calls can appear **anywhere**: on a shared machine other programs compete for the cores (pinning
# BLAS to one thread at the top of the notebook removed the worst of it, not all of it). The count of
# "slower than twice the median" calls shows how much interference your machine suffered during this
# cell. Either way the noise is one-sided: `min` and the median
# stay close, while the mean, p99 and max are pulled up. Report the median for "how fast is it?", p99
# for "how slow can it get?".
#
# ### 8.2 The profile
#
# Now the per-layer table. Because interference comes in bursts, one burst can land on one layer's
# timings and distort its share. A cheap protection, in the same spirit as the median: run the whole
# profile a few times and keep, for every layer, its fastest median (noise can only add time), then
# recompute the shares.

# %%
def stable_profile(model, x, rounds=3, repeats=9):
    """profile_model `rounds` times; per layer keep the row with the smallest time_ms; recompute shares."""
    runs = [profile_model(model, x, repeats=repeats, warmup=2) for _ in range(rounds)]
    best = [min(layer_rows, key=lambda r: r["time_ms"]) for layer_rows in zip(*runs)]
    total_ms = sum(r["time_ms"] for r in best)
    return [dict(r, share=r["time_ms"] / total_ms) for r in best]


def best_of_rounds(fns, rounds=5, repeats=9):
    """The fastest of `rounds` medians for each fn, measuring the fns in turn so they share the conditions."""
    best = [math.inf] * len(fns)
    for _ in range(rounds):
        for i, fn in enumerate(fns):
            best[i] = min(best[i], measure_latency(fn, warmup=1, repeats=repeats)["median"])
    return best


rows = stable_profile(mlp, x_batch)
print(format_profile(rows))
layer_sum_ms = sum(r["time_ms"] for r in rows)
whole_ms = best_of_rounds([forward])[0] * 1e3
print(f"\nsum of the per-layer times: {layer_sum_ms:.3f} ms; whole forward pass: {whole_ms:.3f} ms "
      f"(ratio {layer_sum_ms / whole_ms:.2f})")

# %% [markdown]
# The ratio on the last line tells you how far the per-layer view can be trusted: when it is close to 1,
# the layers' times add up to the model's time and the shares are a faithful decomposition. (They never
# agree exactly: timing each layer on its own adds clock readings, and layers running back to back can
# help or hurt each other through the caches.)
#
# Is the time where the FLOPs are? Divide each layer's FLOPs by its time to get its achieved speed:

# %%
total_flops = sum(r["flops"] for r in rows)
print(f"{'layer':>9} | {'FLOP share':>10} | {'time share':>10} | {'GFLOP/s':>8} | {'ns per output element':>21}")
for r in rows:
    n_out = int(np.prod(r["output_shape"]))
    print(f"{r['name']:>9} | {r['flops'] / total_flops:>10.1%} | {r['share']:>10.1%} | "
          f"{r['flops'] / (r['time_ms'] * 1e-3) / 1e9:>8.2f} | {r['time_ms'] * 1e6 / n_out:>21.2f}")
relu_rows = [r for r in rows if r["name"].endswith("ReLU")]
lin_rows = [r for r in rows if r["name"].endswith("Linear")]
relu_flop_share = sum(r["flops"] for r in relu_rows) / total_flops
relu_time_share = sum(r["share"] for r in relu_rows)
print(f"\nReLUs: {relu_flop_share:.2%} of the FLOPs but {relu_time_share:.1%} of the time "
      f"({relu_time_share / relu_flop_share:.0f}x their FLOP share)")

# %% [markdown]
# FLOPs and time tell different stories. The `Linear` layers reach a far higher GFLOP/s than the ReLUs,
# because their matrix products go to BLAS, which keeps every loaded number busy for many multiply-adds.
# A ReLU does one comparison per number it reads and writes, so its speed is set by memory traffic and
# by the fixed cost of every Python call and every new array, not by arithmetic: its time share is many
# times its FLOP share. FLOPs are a good first estimate of the heavy layers' cost and a poor one for
# everything else. That is why we measure.
#
# ### 8.3 Amdahl on the measured profile
#
# Which layer should we optimise, and what is the most we can win? We rank the layers by their measured
# share and ask Amdahl for the overall speed-up if each one got 2x faster, 10x faster, or free.

# %%
ranked = sorted(rows, key=lambda r: r["share"], reverse=True)
print(f"{'layer':>10} | {'share':>6} | {'2x faster':>9} | {'10x faster':>10} | {'free (limit)':>12}")
for r in ranked:
    f = r["share"]
    print(f"{r['name']:>10} | {f:>6.1%} | {amdahl_speedup(f, 2):>8.3f}x | {amdahl_speedup(f, 10):>9.3f}x | "
          f"{amdahl_limit(f):>11.3f}x")
groups = {"all Linear": sum(r["share"] for r in lin_rows), "all ReLU": relu_time_share}
for label, f in groups.items():
    print(f"{label:>10} | {f:>6.1%} | {amdahl_speedup(f, 2):>8.3f}x | {amdahl_speedup(f, 10):>9.3f}x | "
          f"{amdahl_limit(f):>11.3f}x")
top = ranked[0]
print(f"\nOptimise {top['name']} first: it takes {top['share']:.1%} of the time. Making it 2x faster speeds up "
      f"the whole model {amdahl_speedup(top['share'], 2):.2f}x; even deleting it could not beat "
      f"{amdahl_limit(top['share']):.2f}x.")
print(f"Best possible from optimising the ReLUs alone: {amdahl_limit(relu_time_share):.2f}x.")

# %% [markdown]
# Read the table from the top. The first row is the layer to work on, and its "free" column is a hard
# ceiling: no trick applied to that layer alone can beat it, because the other layers keep their time.
# Notice how quickly the columns flatten: going from 2x to 10x on a layer buys much less than the factor
# suggests, since the untouched rest dominates once the layer is fast. The "all Linear" row is the
# ceiling for any matrix-product optimisation (module 18's territory); the "all ReLU" row says what
# fusing or removing the activations could buy at most.
#
# **Does Amdahl predict reality?** We can check the "free" column for the ReLUs directly: the fastest
# possible ReLU is no ReLU at all. We time the same model without its activations (a different function,
# but the same shapes and the same Linear work), alternating between the two models so that both see
# the same machine conditions, and compare with the prediction.

# %%
no_relu = Sequential(mlp[0], mlp[2], mlp[4])


def forward_no_relu():
    with no_grad():
        return no_relu(x_batch)


t_with, t_without = best_of_rounds([forward, forward_no_relu])
print(f"Amdahl's prediction from the ReLUs' measured share {relu_time_share:.1%}: "
      f"{amdahl_limit(relu_time_share):.3f}x faster")
print(f"measured: {t_with * 1e3:.3f} ms with ReLUs, {t_without * 1e3:.3f} ms without -> {t_with / t_without:.3f}x")

# %% [markdown]
# The prediction uses nothing but one share from the profile. The two numbers are separate measurements,
# each with its own noise, so expect them to agree roughly (to within a few percent of speed-up), not to
# the last digit; if they are far apart, the machine was disturbed during one of them, and rerunning the
# cell will tell. That is the practical value of the law: from a profile you can estimate the pay-off of
# an optimisation *before* spending a day on it.
#
# ### 8.4 The profile depends on the workload
#
# A profile describes one model on one input size on one machine. Change the batch size and the shares
# move: at batch 1 every layer is dominated by the same fixed per-call cost, at large batches the matrix
# products take over. We profile the same MLP at three batch sizes.

# %%
print(f"{'batch':>6} | {'total ms':>8} | {'top layer':>9} | {'its share':>9} | {'its limit':>9} | "
      f"{'Linear share':>12} | {'ReLU share':>10}")
for bs in (1, 32, 1024):
    xb = Tensor(np.random.default_rng(1).standard_normal((bs, 64)).astype(np.float32))
    prof = stable_profile(mlp, xb, rounds=2, repeats=7)
    best = max(prof, key=lambda r: r["share"])
    lin_share = sum(r["share"] for r in prof if r["name"].endswith("Linear"))
    relu_share = sum(r["share"] for r in prof if r["name"].endswith("ReLU"))
    print(f"{bs:>6} | {sum(r['time_ms'] for r in prof):>8.3f} | {best['name']:>9} | {best['share']:>9.1%} | "
          f"{amdahl_limit(best['share']):>8.2f}x | {lin_share:>12.1%} | {relu_share:>10.1%}")

# %% [markdown]
# At batch 1 the total time is tiny and spread over all five layers, so no single optimisation can win
# much (look at the limit column) and the real cost is the overhead of calling five layers at all. As the
# batch grows the time grows far more slowly than the batch, and the matrix products claim a larger
# share (compare the Linear and ReLU columns). So before you optimise, profile the workload you will
# actually run: a chatbot answering one request at a time and a batch job scoring millions of rows have
# different bottlenecks in the very same model.
#
# ### 8.5 Memory: parameters versus activations
#
# Parameters cost the same whatever the batch; activations grow with it. We compare the parameter bytes
# with the activation bytes a training step keeps (the sum of all layer outputs) at several batch sizes.

# %%
p_bytes = parameter_bytes(mlp)
act_per_sample = sum(r["activation_bytes"] for r in rows) // x_batch.shape[0]
print(f"parameters: {count_parameters(mlp):,} numbers = {p_bytes:,} bytes; activations: {act_per_sample:,} bytes per sample")
print(f"{'batch':>6} | {'param KiB':>9} | {'activation KiB':>14} | {'activations / params':>20}")
for bs in (1, 32, 256, 4096):
    act = act_per_sample * bs
    print(f"{bs:>6} | {p_bytes / 1024:>9.1f} | {act / 1024:>14.1f} | {act / p_bytes:>20.2f}")
print(f"activations outweigh the parameters from a batch of {math.ceil(p_bytes / act_per_sample)} samples on")

# %% [markdown]
# For this small MLP the crossover comes at a modest batch size. In large vision models with big feature
# maps and in transformers with long sequences the activations dominate far earlier, which is why
# techniques such as activation checkpointing (recomputing outputs during the backward pass instead of
# storing them) exist.
#
# ### 8.6 A convolutional network: zero FLOPs is not zero time
#
# Finally, a small CNN on a batch of 32 single-channel 16x16 images, with `Conv2d` and `MaxPool2d` from
# module 09. The pooling and flattening layers do no arithmetic under our convention. Do they take time?

# %%
np.random.seed(0)
cnn = Sequential(Conv2d(1, 8, 3, padding=1), ReLU(), MaxPool2d(2), Conv2d(8, 16, 3, padding=1), ReLU(),
                 MaxPool2d(2), Flatten(), Linear(16 * 4 * 4, 10))
x_img = Tensor(np.random.default_rng(2).standard_normal((32, 1, 16, 16)).astype(np.float32))
cnn_rows = stable_profile(cnn, x_img, rounds=2, repeats=7)
print(format_profile(cnn_rows))
cnn_flops = sum(r["flops"] for r in cnn_rows)
zero = [r for r in cnn_rows if r["flops"] == 0]
conv = [r for r in cnn_rows if r["name"].endswith("Conv2d")]
print(f"\nConv2d layers: {sum(r['flops'] for r in conv) / cnn_flops:.1%} of the FLOPs, "
      f"{sum(r['share'] for r in conv):.1%} of the time")
print(f"zero-FLOP layers ({', '.join(r['name'] for r in zero)}): {sum(r['share'] for r in zero):.1%} of the time, "
      f"Amdahl limit if they were free: {amdahl_limit(sum(r['share'] for r in zero)):.2f}x")

# %% [markdown]
# The convolutions do nearly all the arithmetic, but the layers that "do nothing" still take a visible
# share of the time: moving numbers around costs time even when no number is multiplied. A FLOP count
# would have told you to ignore them; the profile tells you what they actually cost.
#
# ## Summary
#
# - **Parameters** are counted from `model.parameters()`; their memory is the sum of `nbytes`. **Activation**
#   memory is the size of each layer's output; it grows with the batch and soon outweighs the parameters.
# - **FLOPs** follow a stated convention: `2 * rows * in * out` for `Linear`, `2 * N * C * kh * kw * O * OH * OW`
#   for `Conv2d` (a multiply-add is 2), one per element for activations, zero for layers that only move
#   numbers. They measure work, not time.
# - **Latency** is measured after a warm-up, over many repeats, and reported as the median, with p90/p99
#   for the tail; the clock is a parameter so the function can be tested exactly.
# - A **per-layer profile** puts memory, FLOPs and time side by side; the measured shares show that time
#   follows FLOPs for the big matrix products and not at all for cheap element-wise layers.
# - **Amdahl's law**, $S = 1 / ((1 - f) + f/s)$ with limit $1/(1 - f)$, turns a measured share into the
#   pay-off of an optimisation before you write it: attack the largest share, and know its ceiling.
#
# ## Reflection questions
#
# 1. The profile in 8.3 names one layer as the target. Suppose module 18's tricks made it 3x faster. Use
#    Amdahl to predict the new total time, then say which layer would be the next target and why the
#    second optimisation is worth less than the first.
# 2. At batch 1 the limit column in 8.4 is small for every layer. What is the real bottleneck there, and
#    which kind of optimisation (a faster matrix product, fewer Python calls per layer, fusing layers,
#    batching requests) would address it?
# 3. Our FLOP convention charges 1 FLOP per element for `Softmax` and for `ReLU`. Count the operations
#    each really performs per element (think of the max, the exponent, the sum and the division). Would a
#    more honest count have predicted the times in 8.2 better?
# 4. `profile_model` times every layer on its own, and section 8.2 compares the sum with the whole model.
#    Name two reasons the two numbers can differ, and how a profiler could time the layers *inside* one
#    real forward pass instead.
# 5. A colleague reports "the model got 30% faster" from a single timing of old and new code. What would
#    you ask them to measure, and how would you use the median, p99 and the per-layer profile to check
#    the claim?
