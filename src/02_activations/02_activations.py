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
#     title: Activations
#     summary: Build the non-linear functions (ReLU, Sigmoid, Tanh, GELU, Softmax) that let stacked layers learn more than a straight line, and make them numerically safe.
#     tier: foundation
#     minutes: 90
#     prerequisites: [01_tensor]
#     objectives:
#       - Explain why a network without non-linearities collapses into a single linear map
#       - Implement ReLU, Sigmoid, Tanh, GELU and Softmax as classes with forward() on Tensors
#       - Make Sigmoid stable for inputs of any size and Softmax stable with max-subtraction
#       - Measure how far the tanh approximation of GELU is from the exact erf formula
#       - Measure the time and memory each activation costs per element
#     exports: [ReLU, Sigmoid, Tanh, GELU, Softmax]
#     milestone: null
# ---

# %% [markdown]
# # Module 02: Activations
#
# A layer of a neural network computes `x @ W + b`: a **linear** map. Stack two of them and you get
# `(x @ W1 + b1) @ W2 + b2 = x @ (W1 @ W2) + (b1 @ W2 + b2)`, which is again just one linear map.
# Stack a hundred and you *still* have one linear map. However deep it is, such a network can only
# draw straight lines (flat planes) through the data; it cannot even learn XOR.
#
# The fix is tiny: between the linear maps, bend every number through a fixed non-linear function,
# an **activation**. With bends in between, depth suddenly buys expressive power: a deep enough
# network of linear layers and ReLUs can approximate any continuous function on a bounded region.
#
# **What you will build** (all in `tinytorch.core.activations`)
#
# | class | formula | typical use |
# |---|---|---|
# | `ReLU` | $\max(0, x)$ | hidden layers of MLPs and CNNs |
# | `Sigmoid` | $1 / (1 + e^{-x})$ | a probability for yes/no outputs |
# | `Tanh` | $(e^x - e^{-x}) / (e^x + e^{-x})$ | hidden layers that want outputs centred on 0 |
# | `GELU` | $x \, \Phi(x)$ (tanh approximation) | transformers (module 13) |
# | `Softmax(axis)` | $e^{x_i} / \sum_j e^{x_j}$ | turning scores into a probability distribution |
#
# **Why this matters in a real framework.** Activations run on every element of every layer's output,
# so they are some of the most frequently executed code in deep learning. Two things matter: that
# they never produce `inf` or `nan` (one bad number poisons the whole training run), and that they
# are cheap. You will engineer the first and measure the second.

# %%
#| default_exp core.activations

# %%
#| export
import math

import numpy as np

from tinytorch.core.tensor import Tensor

# %%
#| hide
import time
import tracemalloc
import warnings

np.set_printoptions(precision=4, suppress=True)

# %% [markdown]
# ## 1. The idea: why a bend is needed
#
# Let us first *see* the collapse. Two random linear maps applied one after the other give exactly
# the same outputs as their product applied once:

# %%
_rng = np.random.default_rng(0)
W1, W2 = _rng.standard_normal((3, 4)), _rng.standard_normal((4, 2))
x_demo = _rng.standard_normal((5, 3))
two_layers = (x_demo @ W1) @ W2
one_layer = x_demo @ (W1 @ W2)
print("max difference, two linear layers vs one:", np.abs(two_layers - one_layer).max())
bent = np.maximum(x_demo @ W1, 0) @ W2
print("max difference once a ReLU sits in between:", np.abs(bent - one_layer).max())

# %% [markdown]
# The shapes of the four element-wise functions on the interval $[-3, 3]$ (sketches, not to scale):
#
# ```
#          ReLU                 Sigmoid                 Tanh                   GELU
#    3 |            /      1 |         _____      1 |         _____      3 |            /
#      |          /          |       /              |       /              |          /
#      |        /        0.5 |- - - / - - -       0 |- - - / - - -         |        /
#      |      /              |     /                |     /                |__    _/
#    0 |_____/             0 |____/              -1 |____/               0 |  `--'   dips to -0.17
#       -3    0    3           -3    0    3            -3    0    3            -3    0    3
# ```
#
# ReLU has a corner at 0; sigmoid and tanh are smooth S-curves that flatten out (saturate) far from
# 0; GELU looks like a rounded ReLU with a shallow dip below zero for small negative inputs.
#
# A worked example you can check by hand, for `x = [-2, -0.5, 0, 0.5, 2]`:
#
# | x | -2 | -0.5 | 0 | 0.5 | 2 |
# |---|---|---|---|---|---|
# | ReLU | 0 | 0 | 0 | 0.5 | 2 |
# | Sigmoid | 0.1192 | 0.3775 | 0.5 | 0.6225 | 0.8808 |
# | Tanh | -0.9640 | -0.4621 | 0 | 0.4621 | 0.9640 |
# | GELU | -0.0454 | -0.1543 | 0 | 0.3457 | 1.9546 |
#
# Softmax is different: it looks at a whole row at once. For scores `[1, 2, 3]` it returns
# `[0.0900, 0.2447, 0.6652]`: positive numbers that sum to 1, where the biggest score gets the
# biggest share.
#
# ## 2. A common shape for every activation
#
# Every activation in this module is a small object with a `forward(x)` method that takes a Tensor
# and returns a **new** Tensor of the same shape. Calling the object (`relu(x)`) simply calls
# `self.forward(x)`. Keeping the computation in `forward` matters later: module 05 (autograd) teaches
# each class its derivative by wrapping `forward`, so `__call__` must always go through it.
#
# The activations have no parameters (nothing to learn), so they do not need the `Module` machinery
# of module 03; they still work inside a `Sequential` there.
#
# The helper `_float_data` hands you the input as a floating-point NumPy array (integer inputs become
# float32) so that every activation returns floats.

# %%
#| export
def _float_data(x) -> np.ndarray:
    """The values of `x` (a Tensor, array or list) as a floating-point NumPy array."""
    data = x.data if isinstance(x, Tensor) else np.asarray(x)
    if not np.issubdtype(data.dtype, np.floating):
        data = data.astype(np.float32)
    return data


class Activation:
    """Base class: `act(x)` calls `act.forward(x)`. Subclasses implement `forward`."""

    def forward(self, x: Tensor) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} must implement forward(x)")

    def __call__(self, x: Tensor) -> Tensor:
        return self.forward(x)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

# %% [markdown]
# ## 3. ReLU: keep the positive part
#
# $$\text{ReLU}(x) = \max(0, x)$$
#
# ReLU ("rectified linear unit") is almost embarrassingly simple: negative numbers become 0, positive
# numbers pass unchanged. It is the default choice for hidden layers because it is cheap (one
# comparison per element) and, for positive inputs, its slope is exactly 1, so gradients pass
# through many layers without shrinking. Its weakness: a unit whose input is negative for every
# example outputs 0 and gets slope 0, so it stops learning (a "dead" ReLU).
#
# Work element-wise on the NumPy array and wrap the result in a new Tensor. Never modify `x` itself.

# %% nbgrader={"grade": false, "grade_id": "relu", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class ReLU(Activation):
    """Rectified linear unit: max(0, x), element-wise."""

    def forward(self, x: Tensor) -> Tensor:
        """Return a new Tensor with every negative entry replaced by 0.

        EXAMPLE: ReLU()(Tensor([-2.0, 0.0, 3.0])) -> Tensor([0.0, 0.0, 3.0])
        HINT: np.maximum(data, 0) works element-wise and keeps the dtype.
        """
        data = _float_data(x)
        ### BEGIN SOLUTION
        return Tensor(np.maximum(data, 0))
        ### END SOLUTION

# %% mutant={"name": "relu-in-place", "target": "relu", "catches": ["test-relu"]}
# Zeroes the negatives of the input array itself: right values, but the caller's Tensor changes.
data[data < 0] = 0
return Tensor(data)

# %% mutant={"name": "relu-keeps-dtype-of-ints", "target": "relu", "catches": ["test-relu"]}
# Works on x.data directly instead of the float view, so integer inputs give integer outputs.
return Tensor(np.maximum(x.data, 0))

# %% [markdown]
# The test checks values (including the worked example), that shape and float32 dtype survive, and
# that the input Tensor is left untouched.

# %% nbgrader={"grade": true, "grade_id": "test-relu", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
def test_relu():
    """ReLU zeroes negatives, keeps positives, preserves shape and dtype, never mutates its input."""
    x = Tensor(np.array([-2.0, -0.5, 0.0, 0.5, 2.0], dtype=np.float32))
    out = ReLU()(x)
    assert isinstance(out, Tensor), f"ReLU must return a Tensor, got {type(out).__name__}"
    assert np.allclose(out.data, [0, 0, 0, 0.5, 2.0]), f"ReLU([-2,-0.5,0,0.5,2]) should be [0,0,0,0.5,2], got {out.data}"
    assert out.data.dtype == np.float32, f"float32 in, float32 out; got {out.data.dtype}"
    assert np.allclose(x.data, [-2.0, -0.5, 0.0, 0.5, 2.0]), "ReLU must not modify its input"
    m = Tensor(np.arange(-6, 6, dtype=np.float32).reshape(3, 4))
    r = ReLU()(m)
    assert r.shape == (3, 4), f"shape must be preserved: expected (3, 4), got {r.shape}"
    assert (r.data >= 0).all() and np.allclose(r.data[m.data > 0], m.data[m.data > 0]), "positive entries pass unchanged"
    print("ReLU: OK")

test_relu()
### BEGIN HIDDEN TESTS
_big = Tensor(np.array([[-1e30, 1e30]], dtype=np.float32))
assert np.allclose(ReLU()(_big).data, [[0, 1e30]]), "ReLU must handle huge values"
assert ReLU()(Tensor([-3, 4])).data.dtype.kind == "f", "integer input should give a float output"
assert np.allclose(ReLU().forward(Tensor([-1.0, 1.0])).data, [0, 1]), "forward and __call__ must agree"
### END HIDDEN TESTS

# %% [markdown]
# ## 4. Sigmoid: a probability, computed safely
#
# $$\sigma(x) = \frac{1}{1 + e^{-x}}$$
#
# Sigmoid squashes any real number into $(0, 1)$, so it is the natural output for "probability that
# the answer is yes". It is symmetric around 0.5: $\sigma(-x) = 1 - \sigma(x)$.
#
# **The trap.** Type the formula in directly and feed it $x = -1000$: $e^{1000}$ overflows to `inf`
# (in float32 this already happens from $x \approx -89$), NumPy warns, and you are one step away from
# `inf / inf = nan`. The algebraically equal form $e^{x} / (1 + e^{x})$ has the same problem for large
# *positive* $x$. Watch:

# %%
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    v = np.array([-1000.0, 0.0, 1000.0], dtype=np.float32)
    naive_a = 1 / (1 + np.exp(-v))
    naive_b = np.exp(v) / (1 + np.exp(v))
print("1 / (1 + exp(-x))    ->", naive_a)
print("exp(x) / (1 + exp(x)) ->", naive_b)
print("warnings raised:", sorted({str(w.message) for w in caught}))

# %% [markdown]
# **The fix.** Use each form only where it is safe. Let $z = e^{-|x|}$, which always lies in $(0, 1]$
# and can never overflow:
#
# ```
#   x >= 0:   sigma(x) = 1 / (1 + e^-x)        = 1 / (1 + z)
#   x <  0:   sigma(x) = e^x / (1 + e^x)       = z / (1 + z)
# ```
#
# Both branches divide by a number between 1 and 2: no overflow, no `nan`, for any input. Compute both
# branches for the whole array and pick per element with `np.where`.

# %% nbgrader={"grade": false, "grade_id": "sigmoid", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class Sigmoid(Activation):
    """Logistic sigmoid 1 / (1 + exp(-x)), stable for inputs of any size."""

    def forward(self, x: Tensor) -> Tensor:
        """Return sigmoid(x) element-wise without ever overflowing.

        EXAMPLE: Sigmoid()(Tensor([-1000.0, 0.0, 2.0])) -> Tensor([0.0, 0.5, 0.8808])
        HINTS:
        - z = np.exp(-np.abs(data)) is in (0, 1] for every input.
        - np.where(data >= 0, 1 / (1 + z), z / (1 + z)) picks the safe branch per element.
        """
        data = _float_data(x)
        ### BEGIN SOLUTION
        z = np.exp(-np.abs(data))
        out = np.where(data >= 0, 1.0 / (1.0 + z), z / (1.0 + z))
        ### END SOLUTION
        return Tensor(out.astype(data.dtype, copy=False))

# %% mutant={"name": "sigmoid-naive-formula", "target": "sigmoid", "catches": ["test-sigmoid"]}
# Types the formula in directly: exp(1000) overflows.
out = 1.0 / (1.0 + np.exp(-data))

# %% mutant={"name": "sigmoid-branches-swapped", "target": "sigmoid", "replace": "np.where(data >= 0, 1.0 / (1.0 + z), z / (1.0 + z))", "catches": ["test-sigmoid"]}
# Picks the negative branch for positive inputs.
np.where(data >= 0, z / (1.0 + z), 1.0 / (1.0 + z))

# %% [markdown]
# The test checks the worked example, the symmetry $\sigma(-x) = 1 - \sigma(x)$, and that inputs of
# $\pm 1000$ give exactly 0 and 1 with NumPy's overflow warnings turned into errors.

# %% nbgrader={"grade": true, "grade_id": "test-sigmoid", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
def test_sigmoid():
    """Sigmoid values, symmetry, dtype, and no overflow for huge inputs."""
    sig = Sigmoid()
    x = Tensor(np.array([-2.0, -0.5, 0.0, 0.5, 2.0], dtype=np.float32))
    out = sig(x)
    assert np.allclose(out.data, [0.1192, 0.3775, 0.5, 0.6225, 0.8808], atol=1e-4), f"worked example mismatch: {out.data}"
    assert out.data.dtype == np.float32, f"float32 in, float32 out; got {out.data.dtype}"
    v = np.linspace(-8, 8, 33)
    s = sig(Tensor(v)).data
    assert np.allclose(s + sig(Tensor(-v)).data, 1.0, atol=1e-12), "sigmoid(-x) must equal 1 - sigmoid(x)"
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        ext = sig(Tensor(np.array([-1000.0, -100.0, 100.0, 1000.0], dtype=np.float32))).data
    assert np.all(np.isfinite(ext)), f"sigmoid must never return inf/nan, got {ext}"
    assert np.allclose(ext, [0, 0, 1, 1], atol=1e-12), f"sigmoid(+-1000) should be 0 and 1, got {ext}"
    print("Sigmoid: OK")

test_sigmoid()
### BEGIN HIDDEN TESTS
with np.errstate(over="raise", invalid="raise"):
    _e = Sigmoid()(Tensor(np.array([-1e6, 1e6]))).data
assert np.allclose(_e, [0, 1]) and _e.dtype == np.float64, "float64 in, float64 out, finite at +-1e6"
assert Sigmoid()(Tensor(np.zeros((2, 3, 4), dtype=np.float32))).shape == (2, 3, 4)
### END HIDDEN TESTS

# %% [markdown]
# ## 5. Tanh: sigmoid's zero-centred sibling
#
# $$\tanh(x) = \frac{e^{x} - e^{-x}}{e^{x} + e^{-x}} = 2\sigma(2x) - 1$$
#
# Tanh has the same S-shape as sigmoid, stretched to the range $(-1, 1)$ and centred on 0. Outputs
# centred on zero make the next layer's job easier (its inputs are not all positive), which is why
# tanh was the hidden-layer favourite before ReLU, and why recurrent networks still use it.
#
# Typing the first formula in would overflow just like the naive sigmoid ($e^{1000}$). NumPy's
# `np.tanh` is computed carefully and saturates cleanly at $\pm 1$; use it.

# %% nbgrader={"grade": false, "grade_id": "tanh", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class Tanh(Activation):
    """Hyperbolic tangent, element-wise, output in (-1, 1)."""

    def forward(self, x: Tensor) -> Tensor:
        """Return tanh(x) element-wise.

        EXAMPLE: Tanh()(Tensor([0.0, 0.5])) -> Tensor([0.0, 0.4621])
        HINT: np.tanh is stable for any input size.
        """
        data = _float_data(x)
        ### BEGIN SOLUTION
        return Tensor(np.tanh(data))
        ### END SOLUTION

# %% mutant={"name": "tanh-from-exponentials", "target": "tanh", "catches": ["test-tanh"]}
# Uses the textbook exp formula, which overflows for large inputs.
return Tensor((np.exp(data) - np.exp(-data)) / (np.exp(data) + np.exp(-data)))

# %% [markdown]
# The test checks the worked example, that tanh is odd ($\tanh(-x) = -\tanh(x)$), that it agrees with
# $2\sigma(2x) - 1$, and that it saturates at $\pm 1$ without warnings.

# %% nbgrader={"grade": true, "grade_id": "test-tanh", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
def test_tanh():
    """Tanh values, odd symmetry, relation to sigmoid, saturation."""
    t = Tanh()
    out = t(Tensor(np.array([-2.0, -0.5, 0.0, 0.5, 2.0], dtype=np.float32)))
    assert np.allclose(out.data, [-0.9640, -0.4621, 0.0, 0.4621, 0.9640], atol=1e-4), f"worked example mismatch: {out.data}"
    assert out.data.dtype == np.float32, f"float32 in, float32 out; got {out.data.dtype}"
    v = np.linspace(-5, 5, 21)
    assert np.allclose(t(Tensor(-v)).data, -t(Tensor(v)).data), "tanh(-x) must equal -tanh(x)"
    assert np.allclose(t(Tensor(v)).data, 2 / (1 + np.exp(-2 * v)) - 1), "tanh(x) must equal 2*sigmoid(2x) - 1"
    with np.errstate(over="raise", invalid="raise"):
        sat = t(Tensor(np.array([-1000.0, 1000.0]))).data
    assert np.allclose(sat, [-1, 1]), f"tanh(+-1000) should saturate at -1 and 1, got {sat}"
    print("Tanh: OK")

test_tanh()

# %% [markdown]
# ## 6. GELU: a smooth ReLU for transformers
#
# ReLU has a sharp corner at 0 and throws away every negative input completely. GELU ("Gaussian
# error linear unit") softens both: it multiplies $x$ by the probability $\Phi(x)$ that a standard
# normal variable is below $x$:
#
# $$\text{GELU}(x) = x\,\Phi(x) = \tfrac12\,x\left(1 + \operatorname{erf}\!\left(x/\sqrt2\right)\right)$$
#
# Large positive $x$: $\Phi(x) \approx 1$, so GELU behaves like ReLU. Large negative $x$:
# $\Phi(x) \approx 0$, so the output goes to 0. In between it is smooth and even dips slightly below
# zero (its minimum is about $-0.17$ near $x = -0.75$). BERT and GPT use it in their feed-forward layers.
#
# `erf` is not a NumPy ufunc, so frameworks commonly use a tanh-based approximation that needs only
# operations we already have:
#
# $$\text{GELU}(x) \approx \tfrac12\,x\left(1 + \tanh\!\left(\sqrt{2/\pi}\,\left(x + 0.044715\,x^3\right)\right)\right)$$
#
# Module 05's derivative for GELU is written for this tanh form, so implement exactly this one. Right
# after, we measure how much it differs from the exact formula.

# %% nbgrader={"grade": false, "grade_id": "gelu", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class GELU(Activation):
    """Gaussian error linear unit, tanh approximation: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))."""

    def forward(self, x: Tensor) -> Tensor:
        """Return the tanh approximation of GELU(x) element-wise.

        EXAMPLE: GELU()(Tensor([-2.0, 0.0, 0.5, 2.0])) -> Tensor([-0.0454, 0.0, 0.3457, 1.9546])
        HINTS:
        - c (below) is sqrt(2 / pi); compute the inner argument, take np.tanh, then combine.
        - Write the cube as data * data * data: section 8.2 measures why that beats data ** 3.
        """
        data = _float_data(x)
        c = math.sqrt(2.0 / math.pi)      # a Python float, so float32 inputs stay float32
        ### BEGIN SOLUTION
        inner = c * (data + 0.044715 * (data * data * data))
        out = 0.5 * data * (1.0 + np.tanh(inner))
        ### END SOLUTION
        return Tensor(out.astype(data.dtype, copy=False))

# %% mutant={"name": "gelu-exact-erf", "target": "gelu", "catches": ["test-gelu"]}
# Implements the exact erf form although the text (and module 05's derivative) demand the tanh form.
erf = np.vectorize(math.erf)
out = 0.5 * data * (1.0 + erf(data / math.sqrt(2.0)))

# %% mutant={"name": "gelu-square-not-cube", "target": "gelu", "replace": "0.044715 * (data * data * data)", "catches": ["test-gelu"]}
# Squares instead of cubing inside the tanh.
0.044715 * (data * data)

# %% mutant={"name": "gelu-missing-half", "target": "gelu", "replace": "0.5 * data * (1.0 + np.tanh(inner))", "catches": ["test-gelu"]}
# Forgets the factor 1/2.
data * (1.0 + np.tanh(inner))

# %% [markdown]
# The test checks the worked example, the ReLU-like limits far from 0, and the small negative dip.

# %% nbgrader={"grade": true, "grade_id": "test-gelu", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
def test_gelu():
    """GELU (tanh form) values, limits and its negative dip."""
    g = GELU()
    out = g(Tensor(np.array([-2.0, -0.5, 0.0, 0.5, 2.0], dtype=np.float32)))
    assert np.allclose(out.data, [-0.0454, -0.1543, 0.0, 0.3457, 1.9546], atol=1e-4), f"worked example mismatch: {out.data}"
    assert out.data.dtype == np.float32, f"float32 in, float32 out; got {out.data.dtype}"
    far = g(Tensor(np.array([-10.0, 10.0]))).data
    assert np.allclose(far, [0.0, 10.0], atol=1e-6), f"GELU should act like ReLU far from 0, got {far}"
    bend = g(Tensor(np.array([-2.5, 1.5]))).data
    assert np.allclose(bend, [-0.015084, 1.399572], atol=2e-5), \
        f"GELU must be the tanh form (-0.015084, 1.399572 at x = -2.5, 1.5; the exact erf form gives -0.015524, 1.399789), got {bend}"
    v = np.linspace(-3, 3, 601)
    y = g(Tensor(v)).data
    assert -0.18 < y.min() < -0.16 and -0.85 < v[y.argmin()] < -0.65, \
        f"GELU's minimum should be about -0.17 near x = -0.75, got {y.min():.4f} at {v[y.argmin()]:.2f}"
    print("GELU: OK")

test_gelu()

# %% [markdown]
# ### How good is the approximation?
#
# Python's `math.erf` gives us the exact GELU, one number at a time (`np.vectorize` loops over the
# array in Python; slow, but fine for a measurement). We compare on a fine grid over $[-6, 6]$:

# %%
_erf = np.vectorize(math.erf)


def gelu_exact(v: np.ndarray) -> np.ndarray:
    """Exact GELU x * Phi(x) in float64, via math.erf."""
    return 0.5 * v * (1.0 + _erf(v / np.sqrt(2.0)))


grid = np.linspace(-6, 6, 24001)
approx = GELU()(Tensor(grid)).data
exact = gelu_exact(grid)
err = np.abs(approx - exact)
worst = grid[err.argmax()]
print(f"max |tanh-GELU - exact GELU| on [-6, 6]: {err.max():.2e} at x = {worst:+.3f}")
print(f"mean absolute error on [-6, 6]:           {err.mean():.2e}")
print(f"float32 resolution near GELU({worst:+.2f}):     {np.spacing(np.float32(abs(exact[err.argmax()]))):.2e}")
for point in (-3.0, -1.0, 1.0, 3.0):
    i = np.argmin(np.abs(grid - point))
    print(f"  x = {point:+.0f}: approx {approx[i]:+.6f}  exact {exact[i]:+.6f}  error {err[i]:.1e}")

# %% [markdown]
# The two curves differ by a few parts in ten thousand at worst, in the bend at negative $x$. That is
# larger than float32's rounding step there, so the approximation is a real (small) change of the
# function, not rounding noise. It is harmless for training (the network simply learns with a
# slightly different bend) but it matters when you load weights trained with one form into a model
# that uses the other: outputs will not match bit for bit. That is why frameworks let you choose.
#
# ## 7. Softmax: scores into probabilities
#
# A classifier's last layer produces one score (a **logit**) per class, any real number. Softmax turns
# a vector of scores into a probability distribution:
#
# $$\text{softmax}(x)_i = \frac{e^{x_i}}{\sum_j e^{x_j}}$$
#
# Exponentials make everything positive; dividing by the sum makes the entries add up to 1. Unlike the
# other activations, each output depends on **all** the entries along one axis (`axis=-1`, the
# class axis, by default).
#
# **The trap, again.** Logits of 1000 would give $e^{1000} = $ `inf`, and `inf / inf = nan`.
# **The fix:** softmax does not change if you add the same constant $c$ to every score, because
# $e^{x_i - c} / \sum_j e^{x_j - c} = e^{-c} e^{x_i} / (e^{-c} \sum_j e^{x_j})$. Choose $c = \max_j x_j$:
#
# ```
#   scores        [1000, 1001, 1002]
#   minus max     [  -2,   -1,    0]     largest exponent is e^0 = 1: no overflow
#   exp           [0.1353, 0.3679, 1.0]  sum 1.5032, and at least one term is 1: no division by ~0
#   softmax       [0.0900, 0.2447, 0.6652]
# ```
#
# Use `keepdims=True` so the max and the sum broadcast back along the right axis.

# %% nbgrader={"grade": false, "grade_id": "softmax", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class Softmax(Activation):
    """Softmax along `axis`: exp(x - max) / sum(exp(x - max)); every slice along `axis` sums to 1."""

    def __init__(self, axis: int = -1):
        self.axis = axis

    def forward(self, x: Tensor) -> Tensor:
        """Return softmax(x) along self.axis, stable for huge scores.

        EXAMPLE: Softmax()(Tensor([[1.0, 2.0, 3.0]])) -> Tensor([[0.0900, 0.2447, 0.6652]])
        HINTS:
        - Use the fix above: which constant, subtracted from every score of a row, guarantees that no
          exponential can overflow? Compute it per row, along self.axis only, not over the whole array.
        - A reduction over one axis drops that axis; for the result to broadcast back against `data`
          (any number of dimensions, any axis) it has to keep it. Which argument of max and sum does that?
        - Exponentiate, then normalise so that the values along self.axis add up to 1.
        """
        data = _float_data(x)
        ### BEGIN SOLUTION
        shifted = data - data.max(axis=self.axis, keepdims=True)
        e = np.exp(shifted)
        out = e / e.sum(axis=self.axis, keepdims=True)
        ### END SOLUTION
        return Tensor(out.astype(data.dtype, copy=False))

    def __repr__(self) -> str:
        return f"Softmax(axis={self.axis})"

# %% mutant={"name": "softmax-no-max-shift", "target": "softmax", "catches": ["test-softmax"]}
# Skips the max subtraction: huge scores overflow to inf and nan.
e = np.exp(data)
out = e / e.sum(axis=self.axis, keepdims=True)

# %% mutant={"name": "softmax-global-max", "target": "softmax", "replace": "data.max(axis=self.axis, keepdims=True)", "catches": ["test-softmax"]}
# Subtracts the max of the whole array: rows far below it underflow to 0 / 0.
data.max()

# %% mutant={"name": "softmax-normalises-everything", "target": "softmax", "replace": "e.sum(axis=self.axis, keepdims=True)", "catches": ["test-softmax"]}
# Divides by the sum of all entries instead of each row's sum.
e.sum()

# %% mutant={"name": "softmax-fixed-last-axis", "target": "softmax", "replace": "e.sum(axis=self.axis, keepdims=True)", "catches": ["test-softmax"]}
# Ignores self.axis in the normalisation.
e.sum(axis=-1, keepdims=True)

# %% [markdown]
# The test checks the worked example, that every row sums to 1, that adding 1000 to every score
# changes nothing (and stays finite), and that `axis=0` normalises columns instead of rows.

# %% nbgrader={"grade": true, "grade_id": "test-softmax", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
def test_softmax():
    """Softmax values, normalisation, shift invariance, stability and the axis argument."""
    sm = Softmax()
    out = sm(Tensor(np.array([[1.0, 2.0, 3.0]], dtype=np.float32)))
    assert np.allclose(out.data, [[0.0900, 0.2447, 0.6652]], atol=1e-4), f"softmax([1,2,3]) mismatch: {out.data}"
    assert out.data.dtype == np.float32, f"float32 in, float32 out; got {out.data.dtype}"
    rng = np.random.default_rng(1)
    x = rng.standard_normal((4, 6)) * 3
    p = sm(Tensor(x)).data
    assert p.shape == (4, 6) and np.all(p > 0), "softmax keeps the shape and gives positive probabilities"
    assert np.allclose(p.sum(axis=-1), 1.0), f"each row must sum to 1, got {p.sum(axis=-1)}"
    with np.errstate(over="raise", invalid="raise"):
        shifted = sm(Tensor(x + 1000.0)).data
    assert np.allclose(shifted, p), "adding a constant to every score must not change softmax (subtract the max!)"
    cols = Softmax(axis=0)(Tensor(x)).data
    assert np.allclose(cols.sum(axis=0), 1.0), "Softmax(axis=0) must make every column sum to 1"
    assert not np.allclose(cols, p), "axis=0 and axis=-1 should give different results"
    print("Softmax: OK")

test_softmax()
### BEGIN HIDDEN TESTS
with np.errstate(over="raise", invalid="raise", divide="raise"):
    _h = Softmax()(Tensor(np.array([[-1e4, 0.0, 1e4], [5.0, 5.0, 5.0]]))).data
assert np.allclose(_h, [[0, 0, 1], [1 / 3, 1 / 3, 1 / 3]]), f"extreme and equal scores: {_h}"
_b = np.random.default_rng(2).standard_normal((2, 3, 5))
assert np.allclose(Softmax(axis=1)(Tensor(_b)).data.sum(axis=1), 1.0), "middle axis of a 3-D input"
### END HIDDEN TESTS

# %% [markdown]
# ## 8. Systems analysis
#
# ### 8.1 Time per element
#
# Activations are **element-wise** (softmax: row-wise), so their cost should grow linearly with the
# number of elements. But not every element costs the same: ReLU is one comparison, the others
# evaluate `exp` or `tanh` and create temporary arrays. We time each on float32 inputs of growing size
# (median of several runs) and report nanoseconds per element, plus the cost relative to ReLU.

# %%
def median_time(fn, repeats=5):
    """Median wall time of fn() in seconds, over `repeats` runs after one warm-up."""
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


acts = {"ReLU": ReLU(), "Sigmoid": Sigmoid(), "Tanh": Tanh(), "GELU": GELU(), "Softmax": Softmax()}
sizes = [10_000, 100_000, 1_000_000]
inputs = {n: Tensor(np.random.default_rng(0).standard_normal((n // 100, 100)).astype(np.float32)) for n in sizes}
ns_per_elem = {}
print(f"{'activation':>10} | " + " | ".join(f"{n:>9,d} el. (ns/el)" for n in sizes) + " | vs ReLU at 1M")
for name, act in acts.items():
    ns_per_elem[name] = [median_time(lambda: act(inputs[n])) / n * 1e9 for n in sizes]
for name, row in ns_per_elem.items():
    rel = row[-1] / ns_per_elem["ReLU"][-1]
    print(f"{name:>10} | " + " | ".join(f"{v:>20.2f}" for v in row) + f" | {rel:>12.1f}x")
cheapest = min(ns_per_elem, key=lambda k: ns_per_elem[k][-1])
dearest = max(ns_per_elem, key=lambda k: ns_per_elem[k][-1])
print(f"\ncheapest at 1M elements: {cheapest}; most expensive: {dearest} "
      f"({ns_per_elem[dearest][-1] / ns_per_elem[cheapest][-1]:.0f}x the cheapest)")

# %% [markdown]
# A few nanoseconds per element or less: NumPy runs each operation as a compiled loop (often with SIMD
# instructions), so even `np.tanh` can be about as fast as a comparison. What separates the
# activations is mostly **how many passes over memory** they make: `np.maximum` and `np.tanh` read the
# input once and write the output once, while the stable sigmoid, GELU and softmax chain several
# operations, each creating a new full-size temporary. Once the arrays no longer fit in the CPU caches
# (the 1M column), those extra passes are what you pay for, together with the fresh pages of memory
# the operating system hands over for every new big temporary. The per-element cost of the smallest size
# is inflated by the fixed cost of each Python call.
#
# ### 8.2 A surprise: `x ** 3` versus `x * x * x`
#
# The GELU hint asked you to write the cube as `data * data * data`. Here is why: NumPy computes a
# general `**` with the C library's `pow`, which handles any real exponent and is far slower than
# two multiplications. A second trap hides in the constant: a NumPy float64 scalar such as
# `np.sqrt(2 / np.pi)` turns a float32 array into a float64 one (NumPy treats NumPy scalars as
# "strong" types), doubling the memory traffic; a Python float does not.

# %%
big = inputs[1_000_000].data
c_np, c_py = np.sqrt(2 / np.pi), math.sqrt(2 / math.pi)
variants = {
    "data ** 3": lambda: big ** 3,
    "data * data * data": lambda: big * big * big,
    "np.float64 constant * data": lambda: c_np * big,
    "Python float constant * data": lambda: c_py * big,
}
print(f"{'expression (1M float32)':>30} | {'ms':>7} | result dtype")
cube_ms = {}
for name, fn in variants.items():
    cube_ms[name] = median_time(fn) * 1e3
    print(f"{name:>30} | {cube_ms[name]:>7.2f} | {fn().dtype}")
print(f"\n** 3 is {cube_ms['data ** 3'] / cube_ms['data * data * data']:.0f}x slower than two multiplications")

# %% [markdown]
# Both results are the same numbers (to rounding), yet one line of the formula can dominate the whole
# activation. This is a recurring lesson in numerical code: measure, because the "obvious" spelling is
# not always the fast one.
#
# ### 8.3 Memory: temporaries
#
# Every activation returns a **new** array the size of its input. The formulas also create
# temporaries along the way (`z`, `1 + z`, two `np.where` branches...). We measure the peak memory
# NumPy allocates during one call with `tracemalloc` and compare it with the input's size.

# %%
x_mem = Tensor(np.random.default_rng(0).standard_normal((1000, 1000)).astype(np.float32))
in_bytes = x_mem.data.nbytes
print(f"input: {in_bytes / 2**20:.1f} MiB float32")
print(f"{'activation':>10} | {'output (MiB)':>12} | {'peak during call (MiB)':>22} | {'peak / input':>12}")
peaks = {}
for name, act in acts.items():
    tracemalloc.start()
    out = act(x_mem)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    peaks[name] = peak / in_bytes
    print(f"{name:>10} | {out.data.nbytes / 2**20:>12.1f} | {peak / 2**20:>22.1f} | {peak / in_bytes:>11.1f}x")
    del out

# %% [markdown]
# ReLU and Tanh need only their output (1x the input). The stable sigmoid, GELU and softmax briefly
# hold several input-sized temporaries (the table shows how many): the price of computing both
# branches and selecting with `np.where`, or of chaining several operations. During training the
# outputs are also what autograd keeps for the backward pass (module 05), so for a big model the
# activation memory, not the parameters, often limits the batch size. Fused GPU kernels exist
# precisely to avoid such temporaries.
#
# ### 8.4 Where does naive sigmoid break?
#
# Finally, let us find the exact input at which the naive formula first overflows, in float32 and
# float64, by scanning downwards:

# %%
for dtype in (np.float32, np.float64):
    xs = -np.arange(0, 1000, 0.25).astype(dtype)
    with np.errstate(over="ignore"):
        bad = ~np.isfinite(np.exp(-xs))
    print(f"{np.dtype(dtype).name}: exp(-x) overflows from x = {xs[bad.argmax()]:.2f}  "
          f"(log of the largest {np.dtype(dtype).name}: {np.log(np.finfo(dtype).max):.2f})")

# %% [markdown]
# Float32, the dtype used throughout deep learning, overflows already at $x \approx -89$. Logits of
# that size are common in a badly initialised or diverging network, which is exactly when you need
# your code not to add `nan` on top.
#
# ## Summary
#
# - Without non-linear activations, any stack of linear layers equals a single linear layer.
# - Each activation is a class whose `forward(x)` returns a new Tensor; `__call__` goes through
#   `forward`, so module 05 can add derivatives later without changing your code.
# - **ReLU** is one comparison per element; **Tanh** and **Sigmoid** squash into $(-1, 1)$ and $(0, 1)$.
# - The stable **Sigmoid** uses $z = e^{-|x|}$ and picks $1/(1+z)$ or $z/(1+z)$, so it never overflows.
# - **GELU** in its tanh form differs from the exact erf form by a few $10^{-4}$ at most (measured).
# - **Softmax** subtracts the maximum before `exp`: same result, no overflow, along any axis.
# - Measured: every activation costs nanoseconds per element; the ones that chain several NumPy
#   operations (sigmoid, GELU, softmax) pay for extra passes over memory and need several input-sized
#   temporaries, and `x ** 3` is far slower than `x * x * x`.
#
# ## Reflection questions
#
# 1. A colleague proposes `Sigmoid` as `np.exp(x) / (1 + np.exp(x))` "because it avoids a division by
#    a big number". For which inputs does it fail, and what does it return there?
# 2. Softmax subtracts the **maximum**. Would subtracting the **mean** also prevent overflow? Can it
#    cause a different problem? (Try scores `[0, 0, 2000]`.)
# 3. ReLU's slope is exactly 0 for negative inputs. What happens to a unit whose inputs are negative
#    for every training example, and how might the initialisation of the previous layer make that
#    more or less likely?
# 4. The tanh-GELU error is about $10^{-4}$, while float16 has a relative precision of about
#    $10^{-3}$. In a model trained and run in float16, does the choice between exact and approximate
#    GELU still matter? Why might it matter when *converting* a model between frameworks?
# 5. Our sigmoid allocates several temporaries. How could you compute it with fewer full-size arrays,
#    for example with NumPy's `out=` arguments, and what would you gain for a 1 GB activation?
