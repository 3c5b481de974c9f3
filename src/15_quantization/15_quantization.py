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
#     title: Quantization
#     summary: Store a trained network in 8-bit integers instead of 32-bit floats - affine quantization with a scale and a zero point, per tensor and per channel, a QuantizedLinear layer and a whole-model converter - and measure how much smaller the digits MLP gets and how little accuracy it loses.
#     tier: optimization
#     minutes: 120
#     prerequisites: [01_tensor, 02_activations, 03_layers, 04_losses, 05_autograd, 06_optimizers, 14_profiling]
#     objectives:
#       - Map floats to signed integers with a scale and a zero point, and bound the rounding error by half a step
#       - Choose the range per tensor or per output channel, and explain why the output channel is the right axis
#       - Build a QuantizedLinear layer that stores int8 weights and report exactly how many bytes it needs
#       - Convert a whole trained model into a quantized copy without touching the original
#       - Compute a layer with integer arithmetic (int8 products, int32 sums) and a single float rescale
#       - Measure size, accuracy and speed of the digits MLP before and after quantization, from 8 bits down to 2
#     exports: [quantize_affine, dequantize_affine, quantization_error, QuantizedLinear, quantize_model, model_nbytes]
#     milestone: null
# ---

# %% [markdown]
# # Module 15: Quantization
#
# The digits network of milestone 03 stores every weight as a 32-bit float: about seven significant
# digits for each of its ten thousand numbers. Does a network need seven digits? Training is noisy,
# the data is noisy, and a trained layer's weights usually sit in a small range around zero. If we
# describe each weight with only 256 possible values (one byte), the model becomes four times smaller,
# and, as we will measure, it reads digits almost exactly as well as before.
#
# This is **quantization**, and every production framework has it: PyTorch's `torch.ao.quantization`,
# TensorFlow Lite's int8 models for phones, the 8-bit and 4-bit formats that let large language models
# run on a laptop. It matters for three reasons:
#
# - **Memory and disk.** A byte per weight instead of four: the model fits on smaller devices, downloads
#   faster, and more of it stays in the CPU's caches.
# - **Memory traffic.** Running a model on one input at a time, a layer reads every weight once and does
#   only a multiply-add with it. The time goes into moving weights from memory, so moving a quarter of
#   the bytes is a direct speed-up on real hardware.
# - **Cheaper arithmetic.** Integer multipliers are smaller and use less energy than floating-point
#   ones; accelerators offer several times more int8 operations per second than float32 ones.
#
# ## What you will build (in `tinytorch.perf.quantization`)
#
# | piece | role |
# |---|---|
# | `affine_params(lo, hi, num_bits)` | the scale and zero point that map a float range onto the integers |
# | `quantize_affine(x, num_bits, axis)` | floats to int8, with one range per tensor or one per channel |
# | `dequantize_affine(q, scale, zero_point, axis)` | back to floats, and `quantization_error` for the round trip |
# | `QuantizedLinear` | a `Linear` layer that stores int8 weights, with an exact `nbytes()` |
# | `quantize_model(model)` and `model_nbytes(model)` | convert a whole trained model, and weigh it |
# | `integer_linear(x, layer)` | the layer computed the way int8 hardware does it |
#
# ## Learning objectives
#
# - Map floats to signed integers with a scale and a zero point, and bound the rounding error by half a step.
# - Choose the range per tensor or per output channel, and explain why the output channel is the right axis.
# - Build a `QuantizedLinear` layer that stores int8 weights and report exactly how many bytes it needs.
# - Convert a whole trained model into a quantized copy without touching the original.
# - Compute a layer with integer arithmetic (int8 products, int32 sums) and a single float rescale.
# - Measure size, accuracy and speed of the digits MLP before and after quantization, from 8 bits down to 2.

# %%
#| default_exp perf.quantization

# %%
#| export
import copy

import numpy as np

from tinytorch.core.tensor import Tensor
from tinytorch.core.layers import Linear, Module

# %%
#| hide
import os
import time
from pathlib import Path

import tinytorch
from tinytorch.core.activations import ReLU
from tinytorch.core.autograd import no_grad
from tinytorch.core.layers import Dropout, Sequential
from tinytorch.core.losses import CrossEntropyLoss
from tinytorch.core.optimizers import Adam
from tinytorch.perf.profiling import measure_latency

np.set_printoptions(precision=4, suppress=True)


# %% [markdown]
# ## 1. The idea: a ruler with 256 marks
#
# With 8 bits we can store the signed integers `-128 .. 127`: 256 marks on a ruler. Quantization lays
# that ruler over the range of floats we need to store. Two numbers describe the placement:
#
# - the **scale**: the float distance between two neighbouring marks (the step size),
# - the **zero point**: the integer mark that lands exactly on the float `0.0`.
#
# ```
#   floats   lo = -1.0           0.0                1.0                               hi = 3.0
#              |------------------|------------------|----------------------------------|
#   int8     -128               -64                  0                                 127
#
#   quantize:     q = clip(round(x / scale) + zero_point, -128, 127)
#   dequantize:   x_hat = (q - zero_point) * scale
# ```
#
# ### A worked example
#
# Say a tensor's values lie between `lo = -1.0` and `hi = 3.0`. The ruler has `127 - (-128) = 255`
# steps, so
#
# - `scale = (hi - lo) / 255 = 4 / 255 = 0.015686`,
# - `zero_point = -128 - round(lo / scale) = -128 - round(-63.75) = -128 + 64 = -64`.
#
# Now quantize `x = 1.0`: `1.0 / scale = 63.75` rounds to `64`, plus the zero point gives `q = 0`.
# Dequantizing gives back `(0 - (-64)) * 0.015686 = 1.0039`: off by `0.0039`. No value inside the
# range can be off by more than **half a step**, `scale / 2 = 0.0078`, because rounding moves a number
# by at most half a mark. The ends map to the ends of the ruler, `-1.0` to `-128` and `3.0` to `127`,
# though they too come back a little off (`-1.0039` and `2.9961`): rounding the zero point to an
# integer shifted the whole ruler by a quarter of a step.
#
# ### Two design choices
#
# **Zero must be exact.** We always stretch the range to include `0.0` (`lo <= 0 <= hi`), and the zero
# point is an integer, so `0.0` quantizes to the mark `zero_point` and dequantizes to exactly `0.0`.
# That matters: ReLU outputs are full of exact zeros, padding is zero, and a bias of zero should stay
# zero. It also keeps the zero point inside `-128 .. 127`.
#
# **Asymmetric, not symmetric.** A simpler scheme fixes `zero_point = 0` and uses
# `scale = max|x| / 127` (symmetric quantization). For a range like `[-1, 3]` that wastes marks: the
# negative half of the ruler only needs to reach `-1`, but symmetric quantization spends 128 marks on
# `[-3, 0]`. The affine (asymmetric) scheme we build places the ruler on exactly the range in use.
#
# For `num_bits` bits the ruler is `qmin = -2^(num_bits-1) .. qmax = 2^(num_bits-1) - 1`; `qrange`
# below computes it, and `_int_dtype` picks the smallest NumPy integer type that holds it (int8 up to
# 8 bits: a 4-bit value still takes a whole byte in NumPy, a point section 8 comes back to).
#
# ## 2. Scale and zero point
#
# Your first function turns a range (or an array of ranges, one per channel) into scales and zero
# points. It must never divide by zero: a tensor of all zeros has an empty range, and any positive
# scale represents it exactly, so use `1.0` there.

# %% nbgrader={"grade": false, "grade_id": "affine-params", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def qrange(num_bits: int = 8) -> tuple:
    """(qmin, qmax) of signed num_bits integers: qrange(8) == (-128, 127), qrange(4) == (-8, 7)."""
    if not isinstance(num_bits, (int, np.integer)) or not 2 <= num_bits <= 16:
        raise ValueError(f"num_bits must be an integer from 2 to 16, got {num_bits!r}")
    return -(2 ** (num_bits - 1)), 2 ** (num_bits - 1) - 1


def _int_dtype(num_bits: int):
    """The smallest signed NumPy integer type that holds num_bits bits."""
    return np.int8 if num_bits <= 8 else np.int16


def affine_params(lo, hi, num_bits: int = 8):
    """Scale (float32 array) and zero point (int32 array) that map the float range [lo, hi] onto qrange(num_bits).

    lo and hi may be scalars or arrays of the same shape (one range per channel); the results have that shape.
    The range is first widened to include 0, so that 0.0 is represented exactly.

    EXAMPLE: affine_params(-1.0, 3.0) -> (0.015686, -64)       (scale = 4 / 255, zero point = -128 + 64)
    HINTS:
    - scale = (hi - lo) / (qmax - qmin); where that is 0 (all-zero input) use 1.0 instead (np.where)
    - zero_point = qmin - round(lo / scale), clipped to [qmin, qmax]
    - compute the zero point from the float32 scale you return, so both functions agree exactly
    """
    qmin, qmax = qrange(num_bits)
    lo = np.minimum(np.asarray(lo, dtype=np.float64), 0.0)
    hi = np.maximum(np.asarray(hi, dtype=np.float64), 0.0)
    ### BEGIN SOLUTION
    scale = ((hi - lo) / (qmax - qmin)).astype(np.float32)
    scale = np.where(scale > 0, scale, np.float32(1.0)).astype(np.float32)
    zero_point = np.clip(qmin - np.round(lo / scale), qmin, qmax).astype(np.int32)
    ### END SOLUTION
    return scale, zero_point

# %% [markdown]
# The test checks the worked example, ranges entirely on one side of zero (their zero point sits at
# an end of the ruler), the all-zero range, a 4-bit ruler, and arrays of ranges.

# %% nbgrader={"grade": true, "grade_id": "test-affine-params", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
def test_affine_params():
    """Scale = range / steps, zero point = the mark of 0.0; empty ranges get scale 1; arrays work per channel."""
    assert qrange(8) == (-128, 127) and qrange(4) == (-8, 7), "qrange is given: (-2^(b-1), 2^(b-1) - 1)"
    scale, zp = affine_params(-1.0, 3.0)
    assert np.isclose(float(scale), 4 / 255, rtol=1e-6), f"scale of [-1, 3] is 4/255 = 0.015686, got {scale}"
    assert int(zp) == -64, f"zero point of [-1, 3] is -128 - round(-63.75) = -64, got {zp}"
    assert np.asarray(scale).dtype == np.float32 and np.asarray(zp).dtype == np.int32, \
        f"scale must be float32 and zero point int32, got {np.asarray(scale).dtype} and {np.asarray(zp).dtype}"
    s, z = affine_params(0.5, 2.0)
    assert np.isclose(float(s), 2.0 / 255, rtol=1e-6) and int(z) == -128, \
        f"[0.5, 2] widens to [0, 2]: scale 2/255 and zero point -128 (0.0 at the bottom mark), got {s}, {z}"
    s, z = affine_params(-4.0, -1.0)
    assert np.isclose(float(s), 4.0 / 255, rtol=1e-6) and int(z) == 127, \
        f"[-4, -1] widens to [-4, 0]: zero point 127 (0.0 at the top mark), got {s}, {z}"
    with np.errstate(divide="raise", invalid="raise"):
        s, z = affine_params(0.0, 0.0)
    assert float(s) == 1.0 and int(z) == -128, f"an all-zero range must not divide by zero: scale 1.0, got {s}, {z}"
    s, z = affine_params(-1.0, 3.0, num_bits=4)
    assert np.isclose(float(s), 4 / 15, rtol=1e-6) and int(z) == -8 + 4, f"4 bits: 15 steps, scale 4/15, zero point -4; got {s}, {z}"
    s, z = affine_params(np.array([-1.0, 0.0, -2.0]), np.array([3.0, 2.0, 0.0]))
    assert s.shape == (3,) and z.shape == (3,), f"arrays of 3 ranges give 3 scales and zero points, got {s.shape}, {z.shape}"
    assert np.allclose(s, [4 / 255, 2 / 255, 2 / 255]) and z.tolist() == [-64, -128, 127], f"per-channel values wrong: {s}, {z}"
    print("affine_params: OK")

test_affine_params()
### BEGIN HIDDEN TESTS
_rng = np.random.default_rng(11)
_lo, _hi = -_rng.uniform(0, 5, 200), _rng.uniform(0, 5, 200)
for _b in (2, 3, 8, 12):
    _s, _z = affine_params(_lo, _hi, _b)
    _qmin, _qmax = qrange(_b)
    assert (_s > 0).all() and (_z >= _qmin).all() and (_z <= _qmax).all(), f"{_b} bits: positive scales, zero points on the ruler"
    assert np.allclose(_s * (_qmax - _qmin), _hi - _lo, rtol=1e-5), "the ruler covers exactly [lo, hi]"
### END HIDDEN TESTS

# %% [markdown]
# ## 3. Quantizing a tensor, per tensor or per channel
#
# `quantize_affine(x)` measures the range of `x`, asks `affine_params` for a scale and zero point, and
# rounds every value to its mark. With `axis=None` one ruler serves the whole tensor (**per-tensor**).
# With an `axis`, every slice along that axis gets its own ruler (**per-channel**): for a weight matrix
# of shape `(in, out)` and `axis=1`, each output column has its own range.
#
# ```
#   W (in=4, out=3), axis=1          min/max over axis 0 (the rows)   ->   one (scale, zero point) per column
#
#        col 0   col 1   col 2
#       [ 0.01   -2.0    0.3 ]       lo = [-0.02, -2.0, -0.4]             scale       (3,)
#       [-0.02    1.5    0.1 ]       hi = [ 0.01,  1.5,  0.3]             zero_point  (3,)
#       [ 0.00    0.4   -0.4 ]
#       [ 0.01   -0.7    0.2 ]
# ```
#
# Why bother? With one ruler for the whole matrix above, the step is set by column 1's range of 3.5,
# about `0.014`; every value of column 0 lies within two steps of zero and is rounded to one of a
# handful of marks. Its own ruler has a step of about `0.0001`. Section 4 measures the difference.
#
# Compute the minimum and maximum over the **other** axes (`_reduce_axes` lists them) with
# `keepdims=True`, so the scales broadcast against `x` when you divide.

# %% nbgrader={"grade": false, "grade_id": "quantize-affine", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def _reduce_axes(ndim: int, axis) -> tuple:
    """Axes to take min/max over: every axis for axis=None, every axis except `axis` per channel."""
    if axis is None:
        return tuple(range(ndim))
    if not -ndim <= axis < ndim:
        raise ValueError(f"axis {axis} is out of range for an array with {ndim} dimension(s)")
    axis = axis % ndim
    return tuple(a for a in range(ndim) if a != axis)


def quantize_affine(x, num_bits: int = 8, axis=None):
    """Asymmetric affine quantization of x to signed num_bits integers: returns (q, scale, zero_point).

    q has x's shape and dtype np.int8 (np.int16 above 8 bits).
    axis=None: one range for the whole tensor; scale is a Python float, zero_point a Python int.
    axis=k:    one range per index along axis k; scale (float32) and zero_point (int32) have shape (x.shape[k],).

    EXAMPLE: quantize_affine(np.array([-1.0, 0.0, 1.0, 3.0]))
             -> (array([-128, -64, 0, 127], dtype=int8), 0.015686..., -64)
    HINTS:
    - lo = x.min(axis=axes, keepdims=True), hi likewise with max, axes = _reduce_axes(x.ndim, axis)
    - scale, zero_point = affine_params(lo, hi, num_bits)
    - q = clip(round(x / scale) + zero_point, qmin, qmax), then .astype(_int_dtype(num_bits))
    """
    x = np.asarray(x.data if isinstance(x, Tensor) else x, dtype=np.float32)
    if x.size == 0:
        raise ValueError("cannot quantize an empty array: its range is undefined")
    axes = _reduce_axes(x.ndim, axis)
    qmin, qmax = qrange(num_bits)
    ### BEGIN SOLUTION
    lo = x.min(axis=axes, keepdims=True)
    hi = x.max(axis=axes, keepdims=True)
    scale, zero_point = affine_params(lo, hi, num_bits)
    q = np.clip(np.round(x / scale) + zero_point, qmin, qmax).astype(_int_dtype(num_bits))
    ### END SOLUTION
    if axis is None:
        return q, float(scale.reshape(())), int(zero_point.reshape(()))
    return q, scale.reshape(-1), zero_point.reshape(-1)

# %% [markdown]
# The test quantizes the worked example, then checks per-channel shapes and values on a small matrix
# along either axis, that a constant tensor causes no division by zero, and the integer dtype.

# %% nbgrader={"grade": true, "grade_id": "test-quantize-affine", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
def test_quantize_affine():
    """Values land on the right marks, per tensor and per channel, with int8 output and no divide by zero."""
    q, scale, zp = quantize_affine(np.array([-1.0, 0.0, 1.0, 3.0]))
    assert q.dtype == np.int8, f"8-bit codes must be stored as np.int8, got {q.dtype}"
    assert q.tolist() == [-128, -64, 0, 127], f"the worked example quantizes to [-128, -64, 0, 127], got {q.tolist()}"
    assert isinstance(scale, float) and isinstance(zp, int), f"per tensor: a Python float and int, got {type(scale)}, {type(zp)}"
    assert np.isclose(scale, 4 / 255, rtol=1e-6) and zp == -64, f"expected scale 4/255 and zero point -64, got {scale}, {zp}"
    W = np.array([[0.01, -2.0, 0.3], [-0.02, 1.5, 0.1], [0.0, 0.4, -0.4], [0.01, -0.7, 0.2]], dtype=np.float32)
    q, s, z = quantize_affine(W, axis=1)
    assert q.shape == W.shape and s.shape == (3,) and z.shape == (3,), \
        f"axis=1 on a (4, 3) matrix: q (4, 3), three scales and zero points; got {q.shape}, {s.shape}, {z.shape}"
    assert np.allclose(s, [0.03 / 255, 3.5 / 255, 0.7 / 255], rtol=1e-5), f"each column needs its own range, got scales {s}"
    assert q.min(axis=0).tolist() == [-128] * 3 and q.max(axis=0).tolist() == [127] * 3, \
        "per channel, every column's minimum maps to -128 and its maximum to 127"
    q0, s0, z0 = quantize_affine(W, axis=0)
    assert s0.shape == (4,) and np.isclose(s0[0], 2.3 / 255, rtol=1e-5), f"axis=0 gives one range per row, got {s0}"
    qn, sn, zn = quantize_affine(W, axis=-1)
    assert np.array_equal(qn, q) and np.allclose(sn, s), "axis=-1 is the last axis, the same as axis=1 here"
    with np.errstate(divide="raise", invalid="raise"):
        qc, sc, zc = quantize_affine(np.full(5, 2.5))
        qz, sz, zz = quantize_affine(np.zeros((2, 3)), axis=1)
    assert np.allclose((qc.astype(np.int32) - zc) * sc, 2.5), "a constant tensor must round-trip exactly"
    assert (qz == zz).all() and np.all(sz > 0), "all zeros: every code equals the zero point, scales stay positive"
    print("quantize_affine: OK")

test_quantize_affine()
### BEGIN HIDDEN TESTS
_x = np.random.default_rng(3).normal(size=(2, 5, 3)).astype(np.float32)
_q, _s, _z = quantize_affine(_x, num_bits=4, axis=1)
assert _q.dtype == np.int8 and _q.min() >= -8 and _q.max() <= 7 and _s.shape == (5,), "4 bits per channel on a 3-D array"
_q, _s, _z = quantize_affine(_x, num_bits=12)
assert _q.dtype == np.int16 and _q.max() == 2047, "12-bit codes need int16"
_q, _s, _z = quantize_affine(Tensor(_x[0]))
assert _q.shape == (5, 3), "a Tensor is accepted too"
try:
    quantize_affine(_x, axis=3)
    raise AssertionError("axis=3 on a 3-D array must raise ValueError")
except ValueError:
    pass
### END HIDDEN TESTS

# %% [markdown]
# ## 4. Back to floats, and the round-trip error
#
# Dequantizing is one multiplication, with one trap: `q` is int8, and int8 arithmetic **wraps around**.
# `127 - (-128)` is 255, which does not fit in a byte; NumPy computes it in int8 and returns `-1`.
# Convert to a wider integer (int32) *before* subtracting the zero point.
#
# For per-channel parameters, reshape the scale and zero point so they broadcast along `axis`: shape
# `(1, out)` for `axis=1` of a matrix, `(in, 1)` for `axis=0`.
#
# `quantization_error(x)` then measures the largest error a round trip makes. From the worked
# example we expect it to be at most half a step.

# %% nbgrader={"grade": false, "grade_id": "dequantize-affine", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def dequantize_affine(q, scale, zero_point, axis=None) -> np.ndarray:
    """Float32 values x_hat = (q - zero_point) * scale; per-channel parameters broadcast along `axis`.

    EXAMPLE: dequantize_affine(np.array([-128, 0, 127], np.int8), 4 / 255, -64) -> [-1.0039, 1.0039, 2.9961]
    HINTS:
    - per channel: shape = [1] * q.ndim; shape[axis] = -1; reshape scale and zero_point to it
    - cast q and zero_point to np.int32 before subtracting (int8 wraps around!)
    """
    q = np.asarray(q)
    scale = np.asarray(scale, dtype=np.float32)
    zero_point = np.asarray(zero_point)
    ### BEGIN SOLUTION
    if axis is not None:
        shape = [1] * q.ndim
        shape[axis] = -1
        scale, zero_point = scale.reshape(shape), zero_point.reshape(shape)
    return ((q.astype(np.int32) - zero_point.astype(np.int32)) * scale).astype(np.float32)
    ### END SOLUTION


def quantization_error(x, num_bits: int = 8, axis=None) -> float:
    """Largest absolute error of a quantize -> dequantize round trip of x, as a Python float.

    EXAMPLE: quantization_error(np.array([-1.0, 0.0, 1.0, 3.0])) -> 0.0039 (the value 1.0 comes back as 1.0039)
    """
    x = np.asarray(x.data if isinstance(x, Tensor) else x, dtype=np.float32)
    ### BEGIN SOLUTION
    q, scale, zero_point = quantize_affine(x, num_bits, axis)
    return float(np.max(np.abs(dequantize_affine(q, scale, zero_point, axis) - x)))
    ### END SOLUTION

# %% [markdown]
# The test checks the worked example, the int8 wrap-around trap, the bound of half a step on random
# data (per tensor and per channel), and that per-channel quantization is more accurate on a matrix
# whose columns have very different ranges.

# %% nbgrader={"grade": true, "grade_id": "test-dequantize", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
def test_dequantize():
    """Round trips come back within half a step; per channel beats per tensor on unevenly scaled columns."""
    back = dequantize_affine(np.array([-128, 0, 127], np.int8), 4 / 255, -64)
    assert back.dtype == np.float32, f"dequantize must return float32, got {back.dtype}"
    assert np.allclose(back, np.array([-64, 64, 191]) * 4 / 255, atol=1e-6), \
        f"worked example: (q + 64) * 4/255 = [-1.0039, 1.0039, 2.9961], got {back}"
    wrap = dequantize_affine(np.array([127], np.int8), 0.1, -128)
    assert np.isclose(wrap[0], 25.5, atol=1e-5), \
        f"(127 - (-128)) * 0.1 = 25.5, got {wrap[0]}: cast to int32 before subtracting, int8 wraps around"
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 32)).astype(np.float32) * rng.uniform(0.01, 3.0, size=32).astype(np.float32)
    q, s, z = quantize_affine(x)
    err = np.abs(dequantize_affine(q, s, z) - x).max()
    assert err <= s / 2 + 1e-6, f"per tensor, no error may exceed half a step ({s / 2:.5f}), got {err:.5f}"
    qc, sc, zc = quantize_affine(x, axis=1)
    back_c = dequantize_affine(qc, sc, zc, axis=1)
    assert back_c.shape == x.shape, f"per-channel dequantize keeps the shape {x.shape}, got {back_c.shape}"
    col_err = np.abs(back_c - x).max(axis=0)
    assert (col_err <= sc / 2 + 1e-6).all(), "per channel, every column stays within half of its own step"
    qr, sr, zr = quantize_affine(x, axis=0)
    assert np.abs(dequantize_affine(qr, sr, zr, axis=0) - x).max() <= sr.max() / 2 + 1e-6, "axis=0 broadcasts along rows"
    mean_t, mean_c = np.abs(dequantize_affine(q, s, z) - x).mean(), np.abs(back_c - x).mean()
    assert mean_c < mean_t / 2, f"per channel should be much more accurate on average here: {mean_c:.5f} vs {mean_t:.5f}"
    e_tensor, e_channel = quantization_error(x), quantization_error(x, axis=1)
    assert isinstance(e_tensor, float), f"quantization_error returns a Python float, got {type(e_tensor)}"
    assert np.isclose(e_tensor, err, rtol=1e-6), f"quantization_error should be the max round-trip error {err}, got {e_tensor}"
    assert np.isclose(e_channel, col_err.max(), rtol=1e-6), f"with axis=1 it is the worst per-channel error {col_err.max()}, got {e_channel}"
    assert np.isclose(quantization_error(np.array([-1.0, 0.0, 1.0, 3.0])), 64 * 4 / 255 - 1, atol=1e-6), "worked example error"
    print(f"dequantize_affine / quantization_error: OK (mean error per tensor {mean_t:.5f}, per channel {mean_c:.5f})")

test_dequantize()
### BEGIN HIDDEN TESTS
_x = np.random.default_rng(5).uniform(-2, 5, size=(3, 4, 6)).astype(np.float32)
_q, _s, _z = quantize_affine(_x, axis=2)
assert np.abs(dequantize_affine(_q, _s, _z, axis=2) - _x).max() <= _s.max() / 2 + 1e-6, "per channel on the last axis of a 3-D array"
assert quantization_error(_x, num_bits=4) > quantization_error(_x, num_bits=8) * 8, "fewer bits, bigger steps"
assert quantization_error(np.full((2, 2), -3.0)) < 1e-6, "a constant tensor round-trips exactly"
### END HIDDEN TESTS

# %% [markdown]
# ### How much does per channel buy on a real-looking weight matrix?
#
# Trained layers often have a few output units with much larger weights than the rest. We build such
# a matrix (64 inputs, 16 outputs, column scales spread over two orders of magnitude) and compare the
# worst error in each column under one shared ruler and under one ruler per column.

# %%
rng = np.random.default_rng(42)
col_scale = np.geomspace(0.01, 1.0, 16).astype(np.float32)
W_demo = (rng.normal(size=(64, 16)) * col_scale).astype(np.float32)
q_t, s_t, z_t = quantize_affine(W_demo)
q_c, s_c, z_c = quantize_affine(W_demo, axis=1)
err_t = np.abs(dequantize_affine(q_t, s_t, z_t) - W_demo).max(axis=0)
err_c = np.abs(dequantize_affine(q_c, s_c, z_c, axis=1) - W_demo).max(axis=0)
print(f"{'column':>6s} {'max |w|':>8s} {'per-tensor err':>15s} {'per-channel err':>16s} {'distinct codes (tensor / channel)':>34s}")
for j in (0, 3, 7, 11, 15):
    print(f"{j:6d} {np.abs(W_demo[:, j]).max():8.4f} {err_t[j]:15.6f} {err_c[j]:16.6f} "
          f"{len(np.unique(q_t[:, j])):>17d} / {len(np.unique(q_c[:, j])):<3d}")
print(f"worst relative error (error / column max): per tensor {np.max(err_t / np.abs(W_demo).max(axis=0)):.3f}, "
      f"per channel {np.max(err_c / np.abs(W_demo).max(axis=0)):.4f}")

# %% [markdown]
# Under one shared ruler, the small columns use only a few distinct codes: their weights are described
# by a handful of values, and the relative error is large. With a ruler per column every column uses
# most of the 256 marks, and its relative error is the same small fraction of its own range.
#
# ### Why the **output** channel?
#
# We could give every *row* (input feature) its own scale instead. Look at what a layer computes,
# with `W[i, j] ≈ s_j (q[i, j] - z_j)`:
#
# $$y_j = \sum_i x_i W_{ij} \approx s_j \sum_i x_i \,(q_{ij} - z_j)$$
#
# The scale of output column `j` does not depend on `i`, so it **leaves the sum**: the layer can do
# all of its multiply-adds on the integer codes and multiply by `s_j` once per output at the end.
# A per-row scale `s_i` would stay inside the sum and would have to be applied to every single
# product. That is why weight matrices are quantized per output channel, and why our `(in, out)`
# weights use `axis=1`. Section 7 builds exactly this integer computation.
#
# ## 5. `QuantizedLinear`: a layer that stores bytes
#
# A `QuantizedLinear` holds what it needs to reproduce a trained `Linear`, in as few bytes as possible:
#
# ```
#   Linear(in, out)                                     QuantizedLinear(in, out)
#     weight  float32 (in, out)   4 bytes / weight  ->    q_weight    int8 (in, out)       1 byte / weight
#                                                         scale       float32 (out,) or () per channel / tensor
#                                                         zero_point  int32   (out,) or ()
#     bias    float32 (out,)                        ->    bias        float32 Tensor (out,) (kept in float: tiny)
# ```
#
# The zero points are stored as int32 here, the type the integer arithmetic of section 7 works in; they
# always lie on the ruler, so a tighter format could store them in one byte (a reflection question).
#
# **How should `forward` compute?** Two options:
#
# 1. **Dequantize, then multiply in float**: rebuild the float32 weight from the codes, then
#    `x @ W_hat + bias`. Storage and memory traffic shrink; the arithmetic stays float. This is
#    *weight-only quantization*, what most libraries do to run large language models in 8 or 4 bits.
# 2. **Integer matmul with rescale**: quantize the input too, multiply the integer codes with int32
#    sums, and rescale once per output (section 7).
#
# Our `forward` uses option 1. NumPy multiplies float matrices with a tuned BLAS library but has no
# tuned integer matrix product, so in NumPy option 1 is the fast one (section 8 times both), and it is
# accurate: only the weights are rounded, never the inputs. The float weight is rebuilt on every call
# and thrown away, so the layer only ever *keeps* the small int8 copy. Option 2 is what int8 hardware
# runs, and you will build it too.
#
# The layer is for inference: it has no trainable parameters (the codes are a NumPy array, and the bias
# is a Tensor with `requires_grad=False`).

# %% nbgrader={"grade": false, "grade_id": "quantized-linear", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class QuantizedLinear(Module):
    """A Linear layer with int8 weights: y = x @ dequantize(q_weight) + bias.

    q_weight:   integer codes (in_features, out_features), np.int8
    scale:      float32, shape (out_features,) per channel or () per tensor
    zero_point: int32, the same shape as scale
    bias:       float32 Tensor (out_features,), or None
    """

    def __init__(self, q_weight, scale, zero_point, bias=None, num_bits: int = 8):
        super().__init__()
        self.q_weight = np.asarray(q_weight)
        if self.q_weight.ndim != 2:
            raise ValueError(f"q_weight must be a 2-D (in_features, out_features) array, got shape {self.q_weight.shape}")
        self.in_features, self.out_features = self.q_weight.shape
        self.scale = np.asarray(scale, dtype=np.float32)
        self.zero_point = np.asarray(zero_point, dtype=np.int32)
        if self.scale.shape not in ((), (self.out_features,)) or self.zero_point.shape != self.scale.shape:
            raise ValueError(f"scale and zero_point must both have shape () or ({self.out_features},), "
                             f"got {self.scale.shape} and {self.zero_point.shape}")
        self.per_channel = self.scale.ndim == 1
        self.num_bits = num_bits
        bias = bias.data if isinstance(bias, Tensor) else bias
        self.bias = None if bias is None else Tensor(np.array(bias, dtype=np.float32))

    @classmethod
    def from_linear(cls, linear: Linear, per_channel: bool = True, num_bits: int = 8) -> "QuantizedLinear":
        """Quantize a trained Linear: its weight to num_bits codes (one range per output column when
        per_channel, else one for the whole matrix); its bias is copied as float32.

        HINT: the output channels of a (in, out) weight are along axis 1.
        """
        ### BEGIN SOLUTION
        q, scale, zero_point = quantize_affine(linear.weight.data, num_bits, axis=1 if per_channel else None)
        bias = None if linear.bias is None else linear.bias.data
        return cls(q, scale, zero_point, bias, num_bits=num_bits)
        ### END SOLUTION

    def dequantized_weight(self) -> np.ndarray:
        """The float32 (in, out) weight the codes stand for."""
        ### BEGIN SOLUTION
        return dequantize_affine(self.q_weight, self.scale, self.zero_point, axis=1 if self.per_channel else None)
        ### END SOLUTION

    def forward(self, x: Tensor) -> Tensor:
        """x (..., in_features) -> (..., out_features), like Linear but with the dequantized weight.

        HINT: Tensor operations as in Linear.forward: x @ Tensor(weight) (+ self.bias)
        """
        if not isinstance(x, Tensor):
            x = Tensor(x)
        if x.shape[-1] != self.in_features:
            raise ValueError(f"{self!r} expects inputs with last dimension {self.in_features}, got shape {x.shape}")
        ### BEGIN SOLUTION
        out = x @ Tensor(self.dequantized_weight())
        if self.bias is not None:
            out = out + self.bias
        return out
        ### END SOLUTION

    def nbytes(self) -> int:
        """Bytes to store the layer: the codes + the scales + the zero points + the bias (if any)."""
        ### BEGIN SOLUTION
        total = self.q_weight.nbytes + self.scale.nbytes + self.zero_point.nbytes
        if self.bias is not None:
            total += self.bias.data.nbytes
        return int(total)
        ### END SOLUTION

    def __repr__(self) -> str:
        kind = "per_channel" if self.per_channel else "per_tensor"
        return (f"QuantizedLinear(in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}, {kind}, num_bits={self.num_bits})")

# %% [markdown]
# The first test converts a `Linear` with known weights and checks what the layer stores: codes, scales,
# zero points, bias, and the exact byte count.

# %% nbgrader={"grade": true, "grade_id": "test-qlinear-storage", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
def test_qlinear_storage():
    """from_linear stores int8 codes with per-column (or one) scale and zero point; nbytes adds them all up."""
    lin = Linear(4, 3, rng=0)
    lin.weight.data[...] = [[0.01, -2.0, 0.3], [-0.02, 1.5, 0.1], [0.0, 0.4, -0.4], [0.01, -0.7, 0.2]]
    lin.bias.data[...] = [0.5, -1.0, 2.0]
    ql = QuantizedLinear.from_linear(lin)
    assert isinstance(ql, Module) and (ql.in_features, ql.out_features) == (4, 3), "a Module with in/out features 4, 3"
    assert ql.q_weight.dtype == np.int8 and ql.q_weight.shape == (4, 3), f"codes: int8 (4, 3), got {ql.q_weight.dtype} {ql.q_weight.shape}"
    assert ql.scale.shape == (3,) and ql.zero_point.shape == (3,), \
        f"per channel = one scale and zero point per OUTPUT column (axis 1), got {ql.scale.shape}"
    q, s, z = quantize_affine(lin.weight.data, axis=1)
    assert np.array_equal(ql.q_weight, q) and np.allclose(ql.scale, s) and np.array_equal(ql.zero_point, z), \
        "from_linear must store exactly what quantize_affine(weight, axis=1) returns"
    assert isinstance(ql.bias, Tensor) and ql.bias.data.dtype == np.float32 and np.allclose(ql.bias.data, [0.5, -1, 2]), \
        "the bias is kept as a float32 Tensor"
    assert ql.bias.data is not lin.bias.data, "copy the bias: the quantized layer must not share memory with the original"
    assert np.abs(ql.dequantized_weight() - lin.weight.data).max() <= s.max() / 2 + 1e-6, "dequantized_weight is within half a step"
    assert ql.nbytes() == 12 * 1 + 3 * 4 + 3 * 4 + 3 * 4, f"12 codes + 3 scales + 3 zero points + 3 biases = 48 bytes, got {ql.nbytes()}"
    qt = QuantizedLinear.from_linear(lin, per_channel=False)
    assert qt.scale.shape == () and not qt.per_channel, "per_channel=False: one scale for the whole matrix"
    assert qt.nbytes() == 12 + 4 + 4 + 12, f"per tensor: 12 + 4 + 4 + 12 = 32 bytes, got {qt.nbytes()}"
    nb = QuantizedLinear.from_linear(Linear(4, 3, bias=False, rng=1))
    assert nb.bias is None and nb.nbytes() == 12 + 12 + 12, "without a bias: codes + scales + zero points"
    assert ql.parameters() == [], "a quantized layer has nothing to train"
    print(ql)
    print("QuantizedLinear storage: OK")

test_qlinear_storage()

# %% [markdown]
# The second test compares the quantized layer's outputs with the float layer's on a batch and on a
# 3-D input, and checks the error message for a wrong input width.

# %% nbgrader={"grade": true, "grade_id": "test-qlinear-forward", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
def test_qlinear_forward():
    """forward equals x @ dequantized weight + bias, and is close to the float layer."""
    rng = np.random.default_rng(1)
    lin = Linear(32, 8, rng=2)
    lin.bias.data[...] = rng.normal(size=8)
    x = Tensor(rng.normal(size=(5, 32)).astype(np.float32))
    for per_channel in (True, False):
        ql = QuantizedLinear.from_linear(lin, per_channel=per_channel)
        y = ql(x)
        assert isinstance(y, Tensor) and y.shape == (5, 8), f"(5, 32) -> (5, 8), got {getattr(y, 'shape', y)}"
        assert np.allclose(y.data, x.data @ ql.dequantized_weight() + lin.bias.data, atol=1e-5), \
            "forward must compute x @ dequantized_weight() + bias"
        rel = np.abs(y.data - lin(x).data).max() / np.abs(lin(x).data).max()
        assert rel < 0.02, f"8-bit outputs should be within 2% of the float layer, got {rel:.3%} (per_channel={per_channel})"
    x3 = Tensor(rng.normal(size=(2, 3, 32)).astype(np.float32))
    assert ql(x3).shape == (2, 3, 8), "a (B, T, in) input works like in Linear"
    try:
        ql(Tensor(np.ones((2, 31), dtype=np.float32)))
        raise AssertionError("a (2, 31) input to a 32 -> 8 layer must raise ValueError")
    except ValueError as e:
        assert "32" in str(e), f"the error should name the expected width: {e}"
    print("QuantizedLinear forward: OK")

test_qlinear_forward()
### BEGIN HIDDEN TESTS
_l = Linear(6, 4, bias=False, rng=3)
_ql = QuantizedLinear.from_linear(_l, num_bits=4)
assert _ql.q_weight.min() >= -8 and _ql.q_weight.max() <= 7, "num_bits=4 codes stay in -8..7"
_x = Tensor(np.random.default_rng(4).normal(size=(3, 6)).astype(np.float32))
assert np.allclose(_ql(_x).data, _x.data @ _ql.dequantized_weight(), atol=1e-5), "no bias: x @ W_hat"
assert np.allclose(_ql(_x.data).data, _ql(_x).data), "a NumPy input is wrapped in a Tensor"
### END HIDDEN TESTS

# %% [markdown]
# ## 6. Quantizing a whole model
#
# A trained model is a tree of modules (module 03). `quantize_model(model)` returns a **new** model of
# the same shape in which every `Linear` has become a `QuantizedLinear`:
#
# ```
#   model (float, untouched)              copy.deepcopy(model)               quantized copy
#   Sequential                            Sequential                         Sequential
#     layers[0]  Linear(64, 128)    ->      layers[0]  Linear (a copy)  ->     layers[0]  QuantizedLinear(64, 128)
#     layers[1]  ReLU                       layers[1]  ReLU                    layers[1]  ReLU
#     layers[2]  Linear(128, 10)            layers[2]  Linear (a copy)         layers[2]  QuantizedLinear(128, 10)
# ```
#
# First deep-copy the model, so the original keeps training or serving as before, then walk the copy,
# as module 03's parameter discovery walks a model, and swap the layers:
#
# - an attribute, list item or tuple item that is a `Linear` is replaced by its `QuantizedLinear`,
# - another `Module` is walked through its attributes (`vars(module)`),
# - a list is updated in place, a tuple is rebuilt (tuples cannot be changed),
# - anything else is left alone.
#
# Two details. A `Linear` shared by two parents (weight tying) must become **one** `QuantizedLinear`
# shared by both, and a module reached twice must be walked once: a dictionary `memo` from `id()` to
# the result handles both. And only true `Linear` layers are swapped: a subclass that changes `forward`
# (module 18's `FusedLinearReLU` adds a ReLU) would silently lose its extra behaviour, so
# `_is_plain_linear` leaves it in float.
#
# `model_nbytes(model)` then weighs any model: every float parameter at its dtype's size, plus
# `nbytes()` of every `QuantizedLinear`.

# %% nbgrader={"grade": false, "grade_id": "quantize-model", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def _is_plain_linear(value) -> bool:
    """A Linear (or a subclass that keeps Linear's forward), which QuantizedLinear can stand in for."""
    return isinstance(value, Linear) and type(value).forward is Linear.forward


def _swap_linears(value, per_channel: bool, num_bits: int, memo: dict):
    """Return `value` with every plain Linear inside it replaced by a QuantizedLinear (modules and lists in place).

    HINTS:
    - if id(value) is in memo, return memo[id(value)] (shared layers stay shared, cycles stop)
    - a plain Linear: memo[id] = QuantizedLinear.from_linear(value, per_channel, num_bits); return it
    - a Module: memo[id] = value first, then for name, v in list(vars(value).items()):
      setattr(value, name, _swap_linears(v, ...)); return value
    - a list: replace its items in place (value[i] = ...); a tuple: return tuple(...) of the swapped items
    """
    if id(value) in memo:
        return memo[id(value)]
    ### BEGIN SOLUTION
    if _is_plain_linear(value):
        memo[id(value)] = QuantizedLinear.from_linear(value, per_channel=per_channel, num_bits=num_bits)
        return memo[id(value)]
    if isinstance(value, Module):
        memo[id(value)] = value
        for name, v in list(vars(value).items()):
            setattr(value, name, _swap_linears(v, per_channel, num_bits, memo))
        return value
    if isinstance(value, list):
        memo[id(value)] = value
        for i, v in enumerate(value):
            value[i] = _swap_linears(v, per_channel, num_bits, memo)
        return value
    if isinstance(value, tuple):
        return tuple(_swap_linears(v, per_channel, num_bits, memo) for v in value)
    return value
    ### END SOLUTION


def quantize_model(model, per_channel: bool = True, num_bits: int = 8):
    """A quantized deep copy of `model`: every Linear inside it (attributes, lists, tuples, Sequential
    layers, or the model itself) becomes a QuantizedLinear. The original model is not modified."""
    return _swap_linears(copy.deepcopy(model), per_channel, num_bits, {})


def model_nbytes(model) -> int:
    """Bytes to store `model`: float parameters at their dtype's size, each QuantizedLinear via nbytes().

    HINTS:
    - model.modules() lists every module once; sum nbytes() of the QuantizedLinear ones
    - add p.data.nbytes for the parameters, skipping any Tensor a QuantizedLinear already counted
    """
    ### BEGIN SOLUTION
    total, counted = 0, set()
    for m in model.modules():
        if isinstance(m, QuantizedLinear):
            total += m.nbytes()
            counted.update(id(v) for v in vars(m).values() if isinstance(v, Tensor))
    total += sum(p.data.nbytes for p in model.parameters() if id(p) not in counted)
    return int(total)
    ### END SOLUTION

# %% [markdown]
# The test quantizes a `Sequential`, checks that the original is unchanged and that the copy gives
# nearly the same outputs, then a custom model with layers in an attribute, a list and a tuple, a
# shared layer and a `Linear` subclass that must be left alone, and the byte counts of both.

# %% nbgrader={"grade": true, "grade_id": "test-quantize-model", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
class _Encoder(Module):
    def __init__(self):
        super().__init__()
        self.inp = Linear(6, 8, rng=0)
        self.blocks = [Linear(8, 8, rng=1), ReLU(), Linear(8, 8, rng=2)]
        self.pair = (Linear(8, 4, rng=3), Dropout(0.0))
        self.again = self.blocks[0]                                  # the same layer twice (shared)

    def forward(self, x):
        h = self.inp(x)
        for layer in self.blocks:
            h = layer(h)
        return self.pair[0](self.again(h))


class _Doubled(Linear):
    def forward(self, x):                                           # changes forward: must stay in float
        return super().forward(x) * 2.0


def test_quantize_model():
    """A deep copy with every Linear swapped, shared layers shared, the original untouched, bytes counted."""
    model = Sequential(Linear(4, 8, rng=0), ReLU(), Linear(8, 3, rng=1))
    w_before = model[0].weight.data.copy()
    x = Tensor(np.random.default_rng(0).normal(size=(6, 4)).astype(np.float32))
    qm = quantize_model(model)
    assert qm is not model and isinstance(qm, Sequential), "quantize_model returns a new Sequential"
    assert [type(l).__name__ for l in qm.layers] == ["QuantizedLinear", "ReLU", "QuantizedLinear"], \
        f"every Linear must become a QuantizedLinear, got {[type(l).__name__ for l in qm.layers]}"
    assert [type(l).__name__ for l in model.layers] == ["Linear", "ReLU", "Linear"], "the original must keep its Linear layers"
    assert np.array_equal(model[0].weight.data, w_before), "the original's weights must not change"
    assert qm[0].per_channel and not quantize_model(model, per_channel=False)[0].per_channel, "per_channel is passed on"
    assert np.allclose(qm(x).data, model(x).data, atol=0.05), "the quantized copy computes nearly the same outputs"
    assert model_nbytes(model) == 67 * 4, f"the float model holds 67 float32 values = 268 bytes, got {model_nbytes(model)}"
    assert model_nbytes(qm) == (32 + 3 * 8 * 4) + (24 + 3 * 3 * 4), \
        f"per channel: 32 + 96 and 24 + 36 bytes = 188, got {model_nbytes(qm)}"
    enc = _Encoder()
    qe = quantize_model(enc)
    assert isinstance(qe.inp, QuantizedLinear) and isinstance(qe.blocks[2], QuantizedLinear), "attributes and lists"
    assert isinstance(qe.pair, tuple) and isinstance(qe.pair[0], QuantizedLinear) and isinstance(qe.pair[1], Dropout), \
        "a tuple is rebuilt with the Linear swapped and the rest kept"
    assert qe.again is qe.blocks[0] and isinstance(qe.again, QuantizedLinear), "a shared Linear becomes ONE shared QuantizedLinear"
    assert isinstance(enc.inp, Linear) and enc.again is enc.blocks[0], "the original encoder is untouched"
    xe = Tensor(np.random.default_rng(1).normal(size=(3, 6)).astype(np.float32))
    assert np.allclose(qe(xe).data, enc(xe).data, atol=0.05), "the quantized encoder computes nearly the same outputs"
    float_bytes = sum(p.data.nbytes for p in enc.parameters())
    assert model_nbytes(enc) == float_bytes, "a float model weighs what its parameters weigh"
    assert model_nbytes(qe) == sum(m.nbytes() for m in (qe.inp, qe.blocks[0], qe.blocks[2], qe.pair[0])), \
        "a fully quantized model weighs the sum of its layers' nbytes(); the shared one counts once"
    mixed = quantize_model(Sequential(_Doubled(3, 3, rng=4), Linear(3, 2, rng=5)))
    assert type(mixed[0]) is _Doubled and isinstance(mixed[1], QuantizedLinear), \
        "a Linear subclass with its own forward must stay as it is"
    assert model_nbytes(mixed) == 12 * 4 + mixed[1].nbytes(), "float parameters and quantized layers add up"
    print("quantize_model / model_nbytes: OK")

test_quantize_model()
### BEGIN HIDDEN TESTS
_root = quantize_model(Linear(5, 2, rng=6), num_bits=4)
assert isinstance(_root, QuantizedLinear) and _root.num_bits == 4, "a bare Linear is itself replaced; num_bits is passed on"
_inner = Sequential(Sequential(Linear(2, 2, rng=7)), ReLU())
_qi = quantize_model(_inner)
assert isinstance(_qi[0][0], QuantizedLinear) and isinstance(_inner[0][0], Linear), "nested Sequentials are walked"
### END HIDDEN TESTS

# %% [markdown]
# ## 7. What int8 hardware does: integer arithmetic with one rescale
#
# Our `forward` rebuilds float weights. An int8 accelerator never does: it multiplies integer codes.
# Quantize the input too, per tensor, with scale `s_x` and zero point `z_x` (computed from the batch
# itself: *dynamic* quantization). Then, with `W[i, j] ≈ s_j (q[i, j] - z_j)`,
#
# $$y_{nj} = \sum_i x_{ni} W_{ij} \approx s_x\, s_j \underbrace{\sum_i (q^x_{ni} - z_x)(q_{ij} - z_j)}_{\text{integers only}} + b_j$$
#
# ```
#   x (N, in) float --quantize--> qx int8 ---.
#                                            (qx - zx) @ (qw - zw)   int32 accumulators (N, out)
#   q_weight (in, out) int8 -----------------'            |
#                                                          v
#                                        * (s_x * scale)   one float multiply per output  + bias  ->  y
# ```
#
# The sum runs over `in` products of numbers up to 255 in size, far beyond int8 and int16, so the
# accumulators are **int32**. (Real kernels expand the product into `qx * qw` minus correction terms so
# the inner loop multiplies raw int8 codes; the result is the same integer.) Write `integer_linear`
# with NumPy integer arithmetic: cast to int32 before subtracting, multiply with `@`, then rescale.

# %% nbgrader={"grade": false, "grade_id": "integer-linear", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def integer_linear(x, layer: QuantizedLinear) -> Tensor:
    """Compute `layer` on x with integer arithmetic: quantize x per tensor (8 bits), multiply integer codes
    into int32 accumulators, rescale by s_x * scale (per output column) and add the float bias.

    EXAMPLE: integer_linear(x, QuantizedLinear.from_linear(lin)) is close to lin(x)
    HINTS:
    - qx, sx, zx = quantize_affine(x2d)          (per tensor, 8 bits)
    - cast the codes to np.int32 before subtracting zero points; `@` of two int32 arrays sums in int32
    - layer.zero_point and layer.scale (shape (out,) or ()) broadcast over the columns; return y as float32
    """
    x = np.asarray(x.data if isinstance(x, Tensor) else x, dtype=np.float32)
    if x.shape[-1] != layer.in_features:
        raise ValueError(f"{layer!r} expects inputs with last dimension {layer.in_features}, got shape {x.shape}")
    x2d = x.reshape(-1, layer.in_features)
    ### BEGIN SOLUTION
    qx, sx, zx = quantize_affine(x2d)
    acc = (qx.astype(np.int32) - zx) @ (layer.q_weight.astype(np.int32) - layer.zero_point)
    y = (acc * (np.float32(sx) * layer.scale)).astype(np.float32)
    ### END SOLUTION
    if layer.bias is not None:
        y = y + layer.bias.data
    return Tensor(y.reshape(*x.shape[:-1], layer.out_features).astype(np.float32))

# %% [markdown]
# The test compares your result with the same formula evaluated in float64 (it must match to rounding),
# with the float layer (it must be close: now the inputs are rounded too), and checks the 3-D case.

# %% nbgrader={"grade": true, "grade_id": "test-integer-linear", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
def test_integer_linear():
    """Integer codes, int32 sums and one rescale reproduce the layer up to the input's rounding."""
    rng = np.random.default_rng(7)
    lin = Linear(64, 16, rng=8)
    lin.bias.data[...] = rng.normal(size=16)
    x = rng.normal(size=(10, 64)).astype(np.float32) * 3.0
    for per_channel in (True, False):
        ql = QuantizedLinear.from_linear(lin, per_channel=per_channel)
        y = integer_linear(Tensor(x), ql)
        assert isinstance(y, Tensor) and y.shape == (10, 16) and y.data.dtype == np.float32, \
            f"expected a float32 Tensor (10, 16), got {type(y).__name__} {getattr(y, 'shape', None)}"
        qx, sx, zx = quantize_affine(x)
        exact = sx * np.asarray(ql.scale, np.float64) * ((qx.astype(np.float64) - zx) @ (ql.q_weight.astype(np.float64) - ql.zero_point))
        assert np.allclose(y.data, exact + lin.bias.data, rtol=1e-5, atol=1e-4), \
            "result differs from s_x * scale * sum((qx - zx)(qw - zw)) + bias: check the int32 casts (int8 wraps around)"
        ref = lin(Tensor(x)).data
        rel = np.abs(y.data - ref).max() / np.abs(ref).max()
        assert rel < 0.03, f"integer result should be within 3% of the float layer, got {rel:.3%}"
    y3 = integer_linear(Tensor(x.reshape(2, 5, 64)), ql)
    assert y3.shape == (2, 5, 16) and np.allclose(y3.data.reshape(10, 16), y.data, atol=1e-5), "a 3-D input works row by row"
    print(f"integer_linear: OK (relative error vs float {rel:.3%})")

test_integer_linear()

# %% [markdown]
# ## 8. Quantizing the digits MLP of milestone 03
#
# Time for the real thing: the network of milestone 03, a 64-128-10 MLP reading the course's 8x8
# handwritten digits (`datasets/digits.npz`, 1797 images). We load the data, split it into the same
# held-out test set as the milestone (a stratified 20%, seed 0), standardize the pixels with the
# training set's statistics, and train for a few seconds with Adam.

# %%
def find_dataset(name="digits.npz"):
    """datasets/<name>: from $TINYTORCH_DATA, the current folder or any folder above it, or next to the package."""
    places = [Path(os.environ["TINYTORCH_DATA"]) / name] if os.environ.get("TINYTORCH_DATA") else []
    here = Path.cwd().resolve()
    places += [folder / "datasets" / name for folder in (here, *here.parents)]
    places.append(Path(tinytorch.__file__).resolve().parents[1] / "datasets" / name)
    for path in places:
        if path.is_file():
            return path
    raise FileNotFoundError(f"datasets/{name} not found; set TINYTORCH_DATA to the folder that holds it")


def load_digits_split(test_fraction=0.2, seed=0):
    """Milestone 03's split: a stratified test set fixed by `seed`, pixels standardized with training statistics."""
    with np.load(find_dataset("digits.npz"), allow_pickle=False) as data:
        x = data["images"].reshape(len(data["images"]), -1).astype(np.float32) / 16.0
        y = data["labels"].astype(np.int64)
    rng = np.random.default_rng(seed)
    is_test = np.zeros(len(y), dtype=bool)
    for label in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == label))
        is_test[idx[: int(round(len(idx) * test_fraction))]] = True
    mean, std = x[~is_test].mean(axis=0), x[~is_test].std(axis=0) + 0.1
    x = ((x - mean) / std).astype(np.float32)
    return (x[~is_test], y[~is_test]), (x[is_test], y[is_test])


def accuracy(model, x, y):
    with no_grad():
        return float(np.mean(np.argmax(model(Tensor(x)).data, axis=1) == y))


(x_train, y_train), (x_test, y_test) = load_digits_split()
np.random.seed(1986)
mlp = Sequential(Linear(64, 128), ReLU(), Linear(128, 10))
optimizer, loss_fn = Adam(mlp.parameters(), lr=0.005), CrossEntropyLoss()
order_rng = np.random.default_rng(0)
t0 = time.perf_counter()
for epoch in range(10):
    order = order_rng.permutation(len(y_train))
    for i in range(0, len(order), 32):
        idx = order[i:i + 32]
        loss = loss_fn(mlp(Tensor(x_train[idx])), Tensor(y_train[idx]))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
train_seconds = time.perf_counter() - t0
float_acc = accuracy(mlp, x_test, y_test)
print(f"{len(y_train)} training / {len(y_test)} test digits; trained 10 epochs in {train_seconds:.1f} s")
print(f"float32 model: test accuracy {float_acc:.2%}, {model_nbytes(mlp):,} bytes")

# %% [markdown]
# Now quantize it, per channel and per tensor, and compare. Besides the accuracy we count how many test
# digits get a *different* answer than from the float model: two models can have the same accuracy
# while disagreeing on several digits.

# %%
with no_grad():
    float_pred = np.argmax(mlp(Tensor(x_test)).data, axis=1)
print(f"{'model':24s} {'bytes':>8s} {'vs float':>9s} {'test acc':>9s} {'answers changed':>16s}")
print(f"{'float32':24s} {model_nbytes(mlp):8,d} {1.0:8.2f}x {float_acc:9.2%} {0:16d}")
quantized = {}
for per_channel in (True, False):
    name = "int8 per channel" if per_channel else "int8 per tensor"
    qm = quantize_model(mlp, per_channel=per_channel)
    quantized[name] = qm
    with no_grad():
        pred = np.argmax(qm(Tensor(x_test)).data, axis=1)
    print(f"{name:24s} {model_nbytes(qm):8,d} {model_nbytes(qm) / model_nbytes(mlp):8.2f}x "
          f"{np.mean(pred == y_test):9.2%} {int(np.sum(pred != float_pred)):16d}")

# %% [markdown]
# The table above shows the model shrinking to well under a third of its size while reading the test
# digits about as well as before. The test checks this on your implementation, together with the exact
# byte count and that the original model is unchanged.

# %% nbgrader={"grade": true, "grade_id": "test-digits-quantized", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
def test_digits_quantized():
    """The quantized digits MLP is about 3.5x smaller and loses at most 2 points of test accuracy."""
    assert float_acc > 0.9, f"the float MLP should read over 90% of the test digits, got {float_acc:.2%}"
    q8 = quantize_model(mlp)
    acc8 = accuracy(q8, x_test, y_test)
    assert acc8 >= float_acc - 0.02, f"int8 per channel should lose at most 2 points: {float_acc:.2%} -> {acc8:.2%}"
    assert model_nbytes(mlp) == 4 * (64 * 128 + 128 + 128 * 10 + 10), f"float model: 38,440 bytes, got {model_nbytes(mlp)}"
    expected = sum(i * o + 3 * 4 * o for i, o in ((64, 128), (128, 10)))
    assert model_nbytes(q8) == expected, f"int8 codes + float32 scales + int32 zero points + float32 bias = {expected}, got {model_nbytes(q8)}"
    assert accuracy(mlp, x_test, y_test) == float_acc and isinstance(mlp[0], Linear), "the float model must be untouched"
    print(f"digits: {model_nbytes(mlp):,} -> {model_nbytes(q8):,} bytes, accuracy {float_acc:.2%} -> {acc8:.2%}")

test_digits_quantized()

# %% [markdown]
# ## 9. Systems analysis
#
# ### 9.1 Where the bytes go
#
# Per layer of the digits MLP: the float32 weight, the int8 codes, the per-channel scales and zero
# points, and the bias, which we left in float.

# %%
q8 = quantized["int8 per channel"]
print(f"{'layer':16s} {'float32 B':>10s} {'codes B':>8s} {'scales+zps B':>13s} {'bias B':>7s} {'int8 total B':>13s} {'ratio':>6s}")
for i in (0, 2):
    f, q = mlp[i], q8[i]
    fbytes = f.weight.data.nbytes + f.bias.data.nbytes
    print(f"{'layers.%d %dx%d' % (i, f.in_features, f.out_features):16s} {fbytes:10,d} {q.q_weight.nbytes:8,d} "
          f"{q.scale.nbytes + q.zero_point.nbytes:13,d} {q.bias.data.nbytes:7,d} {q.nbytes():13,d} {fbytes / q.nbytes():5.2f}x")
print(f"{'whole model':16s} {model_nbytes(mlp):10,d} {'':>8s} {'':>13s} {'':>7s} {model_nbytes(q8):13,d} "
      f"{model_nbytes(mlp) / model_nbytes(q8):5.2f}x")

# %% [markdown]
# The ideal is 4x. The gap is the per-channel overhead (8 bytes per output column) and the float bias
# (4 more bytes per column). It weighs most in the first layer, whose columns hold only 64 weights each
# to share those 12 bytes; the second layer's columns hold 128. For a layer with thousands of inputs per
# column, as in large models, the overhead all but vanishes.
#
# ### 9.2 How few bits are enough?
#
# Our functions take any `num_bits` from 2 to 16. We sweep from 8 bits down to 2, per tensor and per
# channel, and record the test accuracy, the mean absolute weight error, and the size the model would
# have if the codes were **packed** (two 4-bit codes per byte, four 2-bit codes per byte, as real
# low-bit formats do; NumPy has no 4-bit type, so our arrays still use a byte per code).

# %%
def packed_nbytes(qmodel, bits):
    """Size with num_bits codes packed tightly into bytes, plus scales, zero points and biases."""
    total = 0
    for m in qmodel.modules():
        if isinstance(m, QuantizedLinear):
            total += -(-m.q_weight.size * bits // 8) + m.nbytes() - m.q_weight.nbytes
    return total


def mean_weight_error(qmodel):
    errs = [np.abs(m.dequantized_weight() - f.weight.data).mean() for m, f in zip(qmodel.layers, mlp.layers)
            if isinstance(m, QuantizedLinear)]
    return float(np.mean(errs))


print(f"{'bits':>4s} {'ruler':>12s} {'packed bytes':>13s} {'vs float':>9s} {'mean |dW|':>10s} {'test acc':>9s} {'changed':>8s}")
sweep = {}
for bits in (8, 6, 4, 3, 2):
    for per_channel in (True, False):
        qm = quantize_model(mlp, per_channel=per_channel, num_bits=bits)
        with no_grad():
            pred = np.argmax(qm(Tensor(x_test)).data, axis=1)
        acc = float(np.mean(pred == y_test))
        sweep[bits, per_channel] = acc
        size = packed_nbytes(qm, bits)
        print(f"{bits:4d} {'per channel' if per_channel else 'per tensor':>12s} {size:13,d} {model_nbytes(mlp) / size:8.1f}x "
              f"{mean_weight_error(qm):10.5f} {acc:9.2%} {int(np.sum(pred != float_pred)):8d}")
print(f"(float32: {model_nbytes(mlp):,} bytes, accuracy {float_acc:.2%})")
for per_channel in (True, False):
    ok = [b for b in (8, 6, 4, 3, 2) if sweep[b, per_channel] >= float_acc - 0.01]
    print(f"fewest bits within 1 point of float, {'per channel' if per_channel else 'per tensor'}: {min(ok) if ok else None}")

# %% [markdown]
# Read the table from the top. Each bit removed doubles the step size, so the mean weight error roughly
# doubles from row to row, and at every bit width the per-tensor ruler errs more than the per-channel
# one. The accuracy column is much flatter than the error column: this small network on an easy task
# separates its classes by a wide margin, and most digits keep their answer even with coarse weights.
# The "changed" column, the number of test digits whose answer differs from the float model, is the
# more sensitive signal: it shows the rounding long before the accuracy does, and at the lowest bit
# widths the per-tensor ruler does by far the most damage. Larger models on harder tasks have less
# slack; for them 8 bits is the safe default and 4 bits needs per-channel (or finer) ranges and care.
# Either way the right number of bits is a measurement on the task that matters, not a guess. (Tricks
# beyond this module push the limit lower: choosing the range to minimise the error instead of using
# min and max, groups finer than a column, and retraining with the rounding in the loop.)
#
# ### 9.3 Three ways to compute a layer, timed
#
# One `Linear(n, n)` on a batch of 32 inputs: the float layer, our `QuantizedLinear.forward`
# (dequantize, then float matmul), the dequantization alone, and `integer_linear`. Median of 5 runs.

# %%
print(f"{'n':>5s} {'float ms':>9s} {'dequant+matmul ms':>18s} {'dequant only ms':>16s} {'integer ms':>11s} "
      f"{'weights f32 KiB':>16s} {'int8 KiB':>9s}")
timing = {}
with no_grad():
    for n in (128, 512, 1024):
        lin = Linear(n, n, rng=0)
        ql = QuantizedLinear.from_linear(lin)
        xb = Tensor(np.random.default_rng(1).normal(size=(32, n)).astype(np.float32))
        t_float = measure_latency(lambda: lin(xb), warmup=1, repeats=5)["median"]
        t_deq = measure_latency(lambda: ql(xb), warmup=1, repeats=5)["median"]
        t_only = measure_latency(ql.dequantized_weight, warmup=1, repeats=5)["median"]
        t_int = measure_latency(lambda: integer_linear(xb, ql), warmup=1, repeats=5)["median"]
        timing[n] = (t_float, t_deq, t_only, t_int)
        print(f"{n:5d} {t_float * 1e3:9.3f} {t_deq * 1e3:18.3f} {t_only * 1e3:16.3f} {t_int * 1e3:11.3f} "
              f"{lin.weight.data.nbytes / 1024:16.0f} {ql.q_weight.nbytes / 1024:9.0f}")
t_float, t_deq, t_only, t_int = timing[1024]
print(f"n=1024: dequantizing costs {t_only / t_deq:.0%} of the quantized forward; "
      f"integer matmul is {t_int / t_float:.1f}x the float time")
limit = (2 ** 31 - 1) // (255 * 255)
print(f"int32 accumulators are safe for up to {limit:,} inputs per output (worst case |qx - zx| = |qw - zw| = 255)")

# %% [markdown]
# In NumPy the quantized layers do not run faster, and they cannot: our `forward` performs the very
# same float matmul as the float layer *plus* the dequantization (the "dequant only" column), and
# NumPy's integer matmul is a generic loop without BLAS, typically several times slower than the float
# one. (Timings on a shared machine are noisy; compare the columns within a row, not single numbers.)
# Quantization's speed-up needs hardware and kernels built for it: int8 dot-product instructions in
# CPUs, int8 tensor cores in GPUs, and kernels that dequantize a small tile of weights in registers
# right before using it, so the full float weight never exists in memory. What NumPy does show
# faithfully is the memory side: the last two columns are what a batch-1 forward pass must read, and
# at that batch size reading weights, not multiplying them, is what limits real hardware.
#
# The last line shows the other constraint of integer inference: int32 sums overflow only for layers
# far wider than ours, which is why int32 is the standard accumulator for int8 codes.
#
# ## Summary
#
# - **Affine quantization** maps floats onto `2^b` integer marks with a **scale** (the step) and a
#   **zero point** (the mark of `0.0`): `q = clip(round(x / scale) + zero_point)`,
#   `x_hat = (q - zero_point) * scale`. Rounding errs by at most half a step; zero is exact.
# - **Per-channel** ranges give each output column its own ruler, so small columns are not crushed by
#   large ones; the output channel is the right axis because its scale factors out of the sum.
# - A **`QuantizedLinear`** keeps int8 codes, scales, zero points and a float bias, about a quarter of
#   the float bytes; `quantize_model` builds a quantized deep copy of a whole model.
# - **Integer inference** multiplies codes into int32 accumulators and rescales once per output.
# - On the digits MLP, 8 bits make the model about 3.5x smaller at almost no cost in accuracy (the
#   tables of sections 8 and 9 show how much); with fewer bits more answers change, and per-tensor
#   ranges suffer most. Real speed-ups need int8 kernels and hardware; NumPy shows the size, the
#   accuracy and the memory traffic.
#
# ## Reflection questions
#
# 1. Our zero points are int32, 4 bytes per output column. They always lie on the ruler: how many bytes
#    would the digits model save by storing them in int8, and what must the code then be careful about?
# 2. Symmetric quantization fixes `zero_point = 0`. For the weights of a trained layer (roughly centred
#    on zero) and for the outputs of a ReLU (never negative), which scheme wastes more of the ruler,
#    and by how much?
# 3. `integer_linear` computes the input's range from the batch itself. What goes wrong if a single
#    input contains one huge outlier? How would you choose the input range ahead of time (calibration)?
# 4. We kept the biases in float32. In the digits MLP, what fraction of the quantized model's bytes are
#    biases? Why do integer kernels store biases as int32 with scale `s_x * s_w` instead of int8?
# 5. The sweep in 9.2 used min/max ranges. Sketch a way to pick a narrower range that clips a few
#    outlier weights but shrinks the step for all the others, and how you would decide whether it helped.
