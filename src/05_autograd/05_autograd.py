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
#     title: Autograd
#     summary: Build reverse-mode automatic differentiation, so every Tensor operation records how to send gradients back and `loss.backward()` computes all of them in one sweep.
#     tier: foundation
#     minutes: 180
#     prerequisites: [01_tensor, 02_activations, 03_layers, 04_losses]
#     objectives:
#       - Explain how the chain rule turns a recorded computation graph into gradients for every input
#       - Write the backward rule (local derivative) of every operation from modules 01-04
#       - Undo NumPy broadcasting in gradients so each gradient has its input's shape
#       - Implement the topological-order backward pass with gradient accumulation
#       - Verify every backward rule against a numerical gradient checker
#       - Measure what autograd costs in time and memory, and what `no_grad` saves
#     exports: [Function, no_grad, check_gradients]
#     aliases: [autograd]
#     milestone: null
# ---

# %% [markdown]
# # Module 05: Autograd
#
# So far our Tensors can compute: add, multiply, matrix-multiply, squash through activations, and
# score predictions with a loss. What they cannot do is answer the question that training depends on:
#
# > *If I nudge this weight a little, how much does the loss change?*
#
# That number is the **gradient** of the loss with respect to the weight. A network with a million
# weights needs a million of them, after every batch. In this module you build the machine that
# produces all of them at once: **reverse-mode automatic differentiation** (autograd).
#
# By the end, this works, without a single change to your modules 01-04:
#
# ```python
# model = Sequential(Linear(4, 8), ReLU(), Linear(8, 3))
# loss = CrossEntropyLoss()(model(x), y)
# loss.backward()            # every weight now has .grad
# ```
#
# **What you will build**
#
# | Piece | Role |
# |---|---|
# | `Function` | one recorded operation: remembers its inputs and knows its *backward rule* |
# | `track`, `no_grad` | attach a `Function` to a result, or switch recording off |
# | `unbroadcast` | give a gradient back the shape of the input it belongs to |
# | ~25 backward rules | the local derivative of every op from modules 01-04 |
# | `Tensor.backward` | walk the graph in reverse topological order, applying the chain rule |
# | `numerical_gradient`, `check_gradients` | the referee: finite differences that catch wrong rules |
#
# **Why this matters in a real framework.** PyTorch, JAX and TensorFlow all rest on this exact idea.
# Every op you call leaves a small record behind; `backward()` replays the records in reverse. The
# design choices you make here (what each record stores, how gradients are summed, when recording is
# switched off) are the same ones that decide how much memory a real training run needs.

# %%
#| default_exp core.autograd

# %%
#| export
import numpy as np
import inspect
import sys

from tinytorch.core.tensor import Tensor
from tinytorch.core import activations as _activations
from tinytorch.core import losses as _losses

# %% [markdown]
# ## 1. The idea: a graph of small derivatives
#
# Take $f(x, y) = x \cdot y + x$ at $x = 2$, $y = 3$. Running it forward, each operation leaves a node
# behind that remembers its inputs:
#
# ```
#   forward: values flow to the right
#
#   x = 2 ───┬────────► [ * ] ──► a = 6 ──► [ + ] ──► f = 8
#            │            ▲                   ▲
#   y = 3 ───┼────────────┘                   │
#            └────────────────────────────────┘      (x is used twice)
#
#   backward: gradients flow to the left, starting from df/df = 1
#
#   [ + ]  f = a + x   ->  df/da = 1 · 1 = 1         df/dx (direct path) = 1 · 1 = 1
#   [ * ]  a = x * y   ->  df/dx (via a) = 1 · y = 3  df/dy = 1 · x = 2
#   x was used twice, so its two gradients ADD:  df/dx = 3 + 1 = 4
# ```
#
# Three facts do all the work:
#
# 1. **Local rules.** Each op only needs to know its own derivative. For `a = x * y`: given the
#    gradient flowing into `a` (call it `g`), the gradient for `x` is `g * y` and for `y` is `g * x`.
# 2. **Chain rule.** Going backwards, we multiply the incoming gradient by the local derivative.
# 3. **Sum over paths.** When a value is used twice (here `x`), the gradients from every use add up.
#
# Check it by hand: $\partial f/\partial x = y + 1 = 4$ and $\partial f/\partial y = x = 2$. ✓
#
# **Why reverse mode?** A loss is one number that depends on many inputs. One backward sweep gives
# the gradient with respect to *all* inputs for roughly the cost of one or two extra forward passes.
# Wiggling every weight separately (the numerical way) would need two forward passes *per weight*.
# Section 10 measures exactly this difference.
#
# **The order matters.** A node may only send gradients to its inputs once it has received the
# gradients from *all* of its own uses. Visiting nodes in reverse **topological order** (outputs
# before the things they were computed from) guarantees that:
#
# ```{mermaid}
# graph LR
#   x((x)) --> mul[*]
#   y((y)) --> mul
#   mul --> a((a))
#   a --> add[+]
#   x --> add
#   add --> f((f))
# ```
#
# Topological order: `x, y, a, f`. Backward visits `f, a, y, x`: by the time we reach `x`, both of
# its contributions (from `a` and from `f`) have arrived.

# %% [markdown]
# ## 2. Recording operations: `Function`, `track` and grad mode
#
# A `Function` is the record one operation leaves behind. It stores the input Tensors (so the
# backward pass can walk from a result to the things it was made from) and whatever the backward
# rule needs, and it implements
#
# ```python
# backward(grad_output: np.ndarray) -> tuple   # one np.ndarray (or None) per input
# ```
#
# `track(out, fn)` attaches the record to a result: `out._grad_fn = fn`, and `out.requires_grad`
# becomes `True` if any input requires a gradient. Tensors made directly by you (weights, data) have
# `_grad_fn = None`: they are the **leaves** of the graph, and leaves are where gradients are
# finally stored, in `.grad`.
#
# Recording costs memory (every record keeps its inputs alive) and time. During evaluation we do
# not need gradients, so `with no_grad():` switches recording off. These pieces are plumbing, so
# they are given to you; read them, because every later module that writes its own backward rule
# (convolution, embeddings, layer norm) uses exactly this interface.

# %%
#| export
_grad_enabled = True   # the global switch that `no_grad` flips


def is_grad_enabled():
    """True while operations are being recorded for backward."""
    return _grad_enabled


class no_grad:
    """Context manager (and decorator) that switches graph recording off.

    >>> with no_grad():
    ...     y = x * 2          # y.requires_grad is False, no graph is kept
    """

    def __enter__(self):
        global _grad_enabled
        self._previous = _grad_enabled
        _grad_enabled = False
        return self

    def __exit__(self, *exc_info):
        global _grad_enabled
        _grad_enabled = self._previous
        return False

    def __call__(self, func):
        def wrapped(*args, **kwargs):
            with no_grad():
                return func(*args, **kwargs)
        wrapped.__name__ = getattr(func, "__name__", "wrapped")
        wrapped.__doc__ = getattr(func, "__doc__", None)
        return wrapped


class Function:
    """The record of one operation in the computation graph.

    Subclasses are created as `SomeBackward(*inputs)` (plus any extra values the rule needs) and
    implement `backward(grad_output)`, returning one gradient (np.ndarray, same shape as that input)
    or None per input, in the order of `self.inputs`.
    """

    def __init__(self, *inputs):
        self.inputs = inputs

    def backward(self, grad_output):
        raise NotImplementedError(f"{type(self).__name__} has no backward rule")

    def __repr__(self):
        return f"<{type(self).__name__}>"


def track(out, fn):
    """Record `fn` as the creator of `out` if grad mode is on and any input requires grad.

    Returns `out` (or a fresh Tensor sharing its data if `out` is one of the inputs, so a node
    never points at itself).
    """
    needs_grad = _grad_enabled and any(
        isinstance(t, Tensor) and t.requires_grad for t in fn.inputs)
    if needs_grad and any(out is t for t in fn.inputs):
        out = Tensor(out.data)
    out.requires_grad = needs_grad
    out._grad_fn = fn if needs_grad else None
    return out


def _data(x):
    """The NumPy array behind a Tensor (or the value itself)."""
    return x.data if isinstance(x, Tensor) else np.asarray(x)

# %% [markdown]
# ## 3. Undoing broadcasting: `unbroadcast`
#
# Broadcasting lets `(3, 4) + (4,)` work: the `(4,)` bias is silently reused for all 3 rows. The
# gradient flowing back has the *output's* shape `(3, 4)`, but the bias needs a `(4,)` gradient.
#
# Because the bias was **used 3 times**, rule 3 (sum over paths) says: add up its 3 gradients.
#
# ```
#  grad_output (3, 4)                 gradient for bias (4,)
#  [[1, 2, 3, 4],                     sum over the broadcast axis 0
#   [1, 2, 3, 4],        ───────►     [3, 6, 9, 12]
#   [1, 2, 3, 4]]
# ```
#
# Two kinds of broadcast to undo:
# - **extra leading axes** (`(4,)` became `(3, 4)`): sum them away;
# - **size-1 axes that were stretched** (`(3, 1)` became `(3, 4)`): sum them but keep the axis
#   (`keepdims=True`), so the result has shape `(3, 1)` again.

# %% nbgrader={"grade": false, "grade_id": "unbroadcast", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def unbroadcast(grad, shape):
    """Sum `grad` down to `shape`, undoing NumPy broadcasting.

    EXAMPLE
        unbroadcast(np.ones((3, 4)), (4,))     -> array([3., 3., 3., 3.])
        unbroadcast(np.ones((3, 4)), (3, 1))   -> [[4.], [4.], [4.]]   shape (3, 1)
        unbroadcast(np.ones((2, 3)), ())       -> 6.0                  shape ()

    HINTS
        - Sum over the first `grad.ndim - len(shape)` axes (they did not exist in the input).
        - Then sum with keepdims=True over every axis i where shape[i] == 1 but grad.shape[i] != 1.
        - `ndarray.sum(axis=<tuple>)` sums several axes in one call.
    """
    grad = np.asarray(grad)
    shape = tuple(shape)
    if grad.shape == shape:          # the common case: nothing was broadcast
        return grad
    ### BEGIN SOLUTION
    extra = grad.ndim - len(shape)
    if extra > 0:
        grad = grad.sum(axis=tuple(range(extra)))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if stretched:
        grad = grad.sum(axis=stretched, keepdims=True)
    ### END SOLUTION
    return grad.reshape(shape)

# %% mutant={"name": "unbroadcast-leading-axes-only", "target": "unbroadcast", "replace": "if stretched:\n    grad = grad.sum(axis=stretched, keepdims=True)", "catches": ["test-unbroadcast"]}
# Sums away the extra leading axes but forgets the stretched size-1 axes.

# %% mutant={"name": "unbroadcast-averages", "target": "unbroadcast", "catches": ["test-unbroadcast"]}
# Averages instead of summing: a value broadcast to n places gets 1/n of its gradient.
extra = grad.ndim - len(shape)
if extra > 0:
    grad = grad.mean(axis=tuple(range(extra)))
stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
if stretched:
    grad = grad.mean(axis=stretched, keepdims=True)

# %% [markdown]
# The test sums a bias-shaped, a column-shaped and a scalar-shaped gradient and checks values and shapes.

# %% nbgrader={"grade": true, "grade_id": "test-unbroadcast", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
def test_unbroadcast():
    """unbroadcast sums away extra leading axes and stretched size-1 axes."""
    g = np.arange(12, dtype=float).reshape(3, 4)
    out = unbroadcast(g, (4,))
    assert out.shape == (4,), f"(3,4) -> (4,) should give shape (4,), got {out.shape}"
    assert np.allclose(out, [12, 15, 18, 21]), f"bias gradient should be the column sums, got {out}"
    out = unbroadcast(g, (3, 1))
    assert out.shape == (3, 1), f"(3,4) -> (3,1) must keep the size-1 axis, got shape {out.shape}"
    assert np.allclose(out.ravel(), [6, 22, 38]), f"row sums expected, got {out.ravel()}"
    out = unbroadcast(g, ())
    assert np.shape(out) == () and np.isclose(out, 66), f"scalar input: expected 66 with shape (), got {out}"
    assert unbroadcast(g, (3, 4)) is g or np.allclose(unbroadcast(g, (3, 4)), g), "same shape: unchanged"
    print("unbroadcast: OK")

test_unbroadcast()
### BEGIN HIDDEN TESTS
_g = np.ones((2, 3, 4, 5))
assert unbroadcast(_g, (3, 1, 5)).shape == (3, 1, 5)
assert np.allclose(unbroadcast(_g, (3, 1, 5)), 8.0), "leading axis and stretched axis both summed"
assert np.allclose(unbroadcast(_g, (1, 1)), 120.0) and unbroadcast(_g, (1, 1)).shape == (1, 1)
### END HIDDEN TESTS

# %% [markdown]
# ## 4. The referee: numerical gradients
#
# Before writing twenty-odd backward rules, we need a way to know when one is wrong. Calculus gives
# the answer: for a small step $\varepsilon$,
#
# $$\frac{\partial f}{\partial x_i} \approx \frac{f(x + \varepsilon e_i) - f(x - \varepsilon e_i)}{2\varepsilon}$$
#
# This **central difference** has error proportional to $\varepsilon^2$ (the one-sided version is only
# $\varepsilon$). It needs two evaluations of $f$ per element of $x$: hopelessly slow for training,
# perfect for testing. Worked example: $f(x) = x^2$ at $x = 3$ with $\varepsilon = 0.001$ gives
# $(9.006001 - 8.994001) / 0.002 = 6.000$, and indeed $f'(3) = 6$.

# %% nbgrader={"grade": false, "grade_id": "numerical-gradient", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def numerical_gradient(f, x, eps=1e-6):
    """Central-difference gradient of the scalar function `f` at `x`.

    `x` is a float NumPy array (or a Tensor, whose `.data` is used); `f(x)` must return a number
    computed from the CURRENT contents of `x`. Each element is nudged in place by +eps and -eps,
    then restored, so `x` is unchanged afterwards. Returns an array shaped like `x`.

    EXAMPLE
        numerical_gradient(lambda v: float((v ** 2).sum()), np.array([1.0, -2.0]))  -> [2., -4.]

    HINTS
        - `for idx in np.ndindex(arr.shape):` visits every element index.
        - Save the old value, evaluate at old + eps and old - eps, restore, store the difference quotient.
    """
    arr = x.data if isinstance(x, Tensor) else x
    grad = np.zeros(arr.shape, dtype=np.float64)
    ### BEGIN SOLUTION
    for idx in np.ndindex(arr.shape):
        old = arr[idx]
        arr[idx] = old + eps
        f_plus = float(f(x))
        arr[idx] = old - eps
        f_minus = float(f(x))
        arr[idx] = old
        grad[idx] = (f_plus - f_minus) / (2 * eps)
    ### END SOLUTION
    return grad

# %% mutant={"name": "numgrad-forward-difference", "target": "numerical-gradient", "catches": ["test-numerical-gradient"]}
# One-sided difference: an error of order eps instead of eps squared.
for idx in np.ndindex(arr.shape):
    old = arr[idx]
    f_old = float(f(x))
    arr[idx] = old + eps
    f_plus = float(f(x))
    arr[idx] = old
    grad[idx] = (f_plus - f_old) / eps

# %% mutant={"name": "numgrad-no-restore", "target": "numerical-gradient", "replace": "    arr[idx] = old\n", "catches": ["test-numerical-gradient"]}
# Never puts the original value back: x ends up shifted by -eps everywhere.

# %% [markdown]
# The test compares against derivatives we know in closed form and checks `x` is left untouched.

# %% nbgrader={"grade": true, "grade_id": "test-numerical-gradient", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
def test_numerical_gradient():
    """Central differences match known derivatives and leave x unchanged."""
    x = np.array([1.0, -2.0, 0.5])
    before = x.copy()
    g = numerical_gradient(lambda v: float((v ** 2).sum()), x)
    assert np.allclose(g, 2 * before, atol=1e-6), f"d/dx sum(x^2) = 2x = {2 * before}, got {g}"
    assert np.array_equal(x, before), "numerical_gradient must restore every element of x"
    m = np.array([[0.1, 0.2], [0.3, 0.4]])
    g = numerical_gradient(lambda v: float(np.sin(v).sum()), m)
    assert g.shape == (2, 2), f"gradient must have x's shape (2, 2), got {g.shape}"
    assert np.allclose(g, np.cos(m), atol=1e-6), f"d/dx sin(x) = cos(x); got {g}"
    print("numerical_gradient: OK")

test_numerical_gradient()
### BEGIN HIDDEN TESTS
_x = np.array([[2.0, 3.0]])
assert np.allclose(numerical_gradient(lambda v: float(v[0, 0] * v[0, 1]), _x), [[3.0, 2.0]], atol=1e-6)
assert np.allclose(numerical_gradient(lambda v: float(np.exp(v).sum()), np.zeros(3), eps=1e-4), 1.0, atol=1e-6)
### END HIDDEN TESTS

# %% [markdown]
# ### A tiny helper for testing rules
#
# Each backward rule below receives `grad_output` (the gradient of some scalar loss $L$ with respect
# to the op's output) and must return $\partial L/\partial\,\text{input}$ for each input. To test a
# rule in isolation we pick a random `grad_output` $G$ and use the scalar $L = \sum(\text{out} \cdot G)$,
# whose gradient with respect to the output is exactly $G$. `expect_rule` (a test helper, not part of
# the package) compares the rule with the numerical gradient of that $L$.

# %%
def expect_rule(name, grads, forward, arrays, G, which=None, atol=1e-5):
    """Compare the rule's gradients `grads` with numerical gradients of sum(forward(*arrays) * G)."""
    which = range(len(arrays)) if which is None else which
    for i in which:
        def loss(v, i=i):
            args = [v if j == i else a for j, a in enumerate(arrays)]
            return float(np.sum(forward(*args) * G))
        expected = numerical_gradient(loss, np.array(arrays[i], dtype=np.float64))
        got = grads[i]
        assert got is not None, f"{name}: gradient for input {i} is None"
        got = np.asarray(got)
        assert got.shape == expected.shape, f"{name}: gradient for input {i} has shape {got.shape}, expected {expected.shape}"
        worst = np.max(np.abs(got - expected)) if got.size else 0.0
        assert worst < atol + 1e-4 * np.max(np.abs(expected), initial=0), (
            f"{name}: gradient for input {i} is off by up to {worst:.2e}\n got      {got.ravel()[:6]}\n expected {expected.ravel()[:6]}")

# %% [markdown]
# ## 5. Backward rules
#
# Now the heart of the module. For every op we write a `Function` subclass whose `backward` turns
# the output gradient `g` into input gradients. Two rules are worked for you (`AddBackward`,
# `NegBackward`); the pattern is always the same:
#
# | op | forward | gradient for each input (before `unbroadcast`) |
# |---|---|---|
# | add | `a + b` | `g`, `g` |
# | sub | `a - b` | `g`, `-g` |
# | mul | `a * b` | `g * b`, `g * a` |
# | div | `a / b` | `g / b`, `-g * a / b²` |
#
# Whenever inputs could have been broadcast, finish with `unbroadcast(grad, input.shape)`.
#
# ### 5.1 Arithmetic

# %% nbgrader={"grade": false, "grade_id": "arithmetic-rules", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class AddBackward(Function):
    """out = a + b   (worked example)"""

    def backward(self, g):
        a, b = self.inputs
        return unbroadcast(g, a.shape), unbroadcast(g, b.shape)


class NegBackward(Function):
    """out = -x   (worked example)"""

    def backward(self, g):
        return (-g,)


class SubBackward(Function):
    """out = a - b"""

    def backward(self, g):
        a, b = self.inputs
        ### BEGIN SOLUTION
        return unbroadcast(g, a.shape), unbroadcast(-g, b.shape)
        ### END SOLUTION


class MulBackward(Function):
    """out = a * b   (each input's gradient is g times the OTHER input)"""

    def backward(self, g):
        a, b = self.inputs
        ### BEGIN SOLUTION
        return unbroadcast(g * b.data, a.shape), unbroadcast(g * a.data, b.shape)
        ### END SOLUTION


class DivBackward(Function):
    """out = a / b   (d/da = 1/b, d/db = -a/b^2)"""

    def backward(self, g):
        a, b = self.inputs
        ### BEGIN SOLUTION
        return unbroadcast(g / b.data, a.shape), unbroadcast(-g * a.data / (b.data * b.data), b.shape)
        ### END SOLUTION

# %% mutant={"name": "sub-rule-forgets-minus", "target": "arithmetic-rules", "region": 0, "catches": ["test-arithmetic-rules"]}
# The gradient of a - b with respect to b is -g, not g.
return unbroadcast(g, a.shape), unbroadcast(g, b.shape)

# %% mutant={"name": "mul-rule-own-input", "target": "arithmetic-rules", "region": 1, "catches": ["test-arithmetic-rules"]}
# Multiplies each input's gradient by itself instead of by the other input.
return unbroadcast(g * a.data, a.shape), unbroadcast(g * b.data, b.shape)

# %% mutant={"name": "div-rule-sign", "target": "arithmetic-rules", "region": 2, "replace": "-g * a.data", "catches": ["test-arithmetic-rules"]}
# Loses the minus sign of d(a/b)/db.
g * a.data

# %% [markdown]
# The test feeds broadcast shapes (`(3, 4)` with `(4,)`), so it checks both the local derivative and
# the `unbroadcast` step, against the numerical gradient.

# %% nbgrader={"grade": true, "grade_id": "test-arithmetic-rules", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
def test_arithmetic_rules():
    """Sub, Mul and Div rules give correctly shaped gradients that match finite differences."""
    rng = np.random.default_rng(1)
    a = rng.standard_normal((3, 4))
    b = rng.uniform(0.5, 2.0, size=4)           # positive: safe to divide by
    G = rng.standard_normal((3, 4))
    for name, rule, fwd in [("SubBackward", SubBackward, lambda u, v: u - v),
                            ("MulBackward", MulBackward, lambda u, v: u * v),
                            ("DivBackward", DivBackward, lambda u, v: u / v)]:
        grads = rule(Tensor(a), Tensor(b)).backward(G)
        assert len(grads) == 2, f"{name} must return one gradient per input (2), got {len(grads)}"
        expect_rule(name, grads, fwd, [a, b], G)
    ga, gb = MulBackward(Tensor(np.array(2.0)), Tensor(np.array(3.0))).backward(np.array(1.0))
    assert np.isclose(ga, 3.0) and np.isclose(gb, 2.0), "worked example: d(x*y)/dx = y = 3, d/dy = x = 2"
    print("arithmetic rules: OK")

test_arithmetic_rules()
### BEGIN HIDDEN TESTS
_rng = np.random.default_rng(11)
_a = _rng.uniform(0.5, 2, (2, 1, 3)); _b = _rng.uniform(0.5, 2, (4, 1)); _G = _rng.standard_normal((2, 4, 3))
expect_rule("DivBackward", DivBackward(Tensor(_a), Tensor(_b)).backward(_G), lambda u, v: u / v, [_a, _b], _G)
expect_rule("SubBackward", SubBackward(Tensor(_a), Tensor(_b)).backward(_G), lambda u, v: u - v, [_a, _b], _G)
### END HIDDEN TESTS

# %% [markdown]
# ### 5.2 Matrix multiplication
#
# For `out = a @ b` with `a` of shape `(n, k)` and `b` of shape `(k, m)`, each output element is
# $\text{out}_{ij} = \sum_p a_{ip} b_{pj}$. Collecting the derivatives gives two more matrix products:
#
# ```
#   grad_a = g @ bᵀ      (n, m) @ (m, k) -> (n, k)   same shape as a  ✓
#   grad_b = aᵀ @ g      (k, n) @ (n, m) -> (k, m)   same shape as b  ✓
# ```
#
# Checking shapes is the quickest way to remember which side the transpose goes. For batched inputs
# (`(B, n, k) @ (k, m)`), "transpose" means swapping the **last two** axes, and a weight shared by every
# batch element gets its gradients summed by `unbroadcast`. One-dimensional operands are promoted to
# matrices first (done for you).

# %% nbgrader={"grade": false, "grade_id": "matmul-rule", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class MatMulBackward(Function):
    """out = a @ b"""

    def backward(self, g):
        a, b = self.inputs
        A, B = a.data, b.data
        # Promote 1-D operands to matrices so one formula covers every case.
        if A.ndim == 1:
            A, g = A[None, :], np.expand_dims(g, -2)
        if B.ndim == 1:
            B, g = B[:, None], np.expand_dims(g, -1)
        ### BEGIN SOLUTION
        grad_a = g @ np.swapaxes(B, -1, -2)
        grad_b = np.swapaxes(A, -1, -2) @ g
        ### END SOLUTION
        return (unbroadcast(grad_a, A.shape).reshape(a.shape),
                unbroadcast(grad_b, B.shape).reshape(b.shape))

# %% mutant={"name": "matmul-rule-no-transpose", "target": "matmul-rule", "catches": ["test-matmul-rule"]}
# Forgets to transpose the other factor (shapes only line up for square matrices).
grad_a = g @ B
grad_b = A @ g

# %% [markdown]
# The test covers a plain matrix product, a batched product with a shared weight, and a
# matrix-vector product.

# %% nbgrader={"grade": true, "grade_id": "test-matmul-rule", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
def test_matmul_rule():
    """MatMulBackward matches finite differences for 2-D, batched and matrix-vector products."""
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((4, 2))
    G = rng.standard_normal((3, 2))
    expect_rule("MatMulBackward (3,4)@(4,2)", MatMulBackward(Tensor(a), Tensor(b)).backward(G),
                lambda u, v: u @ v, [a, b], G)
    a3, w = rng.standard_normal((2, 3, 4)), rng.standard_normal((4, 5))
    G3 = rng.standard_normal((2, 3, 5))
    ga, gw = MatMulBackward(Tensor(a3), Tensor(w)).backward(G3)
    assert gw.shape == (4, 5), f"a weight shared across the batch needs a (4, 5) gradient, got {gw.shape}"
    expect_rule("MatMulBackward (2,3,4)@(4,5)", (ga, gw), lambda u, v: u @ v, [a3, w], G3)
    v = rng.standard_normal(4)
    G1 = rng.standard_normal(3)
    expect_rule("MatMulBackward (3,4)@(4,)", MatMulBackward(Tensor(a), Tensor(v)).backward(G1),
                lambda u, x: u @ x, [a, v], G1)
    print("matmul rule: OK")

test_matmul_rule()
### BEGIN HIDDEN TESTS
_rng = np.random.default_rng(12)
_v, _m = _rng.standard_normal(3), _rng.standard_normal((3, 2)); _G = _rng.standard_normal(2)
expect_rule("vec@mat", MatMulBackward(Tensor(_v), Tensor(_m)).backward(_G), lambda u, x: u @ x, [_v, _m], _G)
_a, _b = _rng.standard_normal((2, 1, 3, 4)), _rng.standard_normal((5, 4, 2)); _G = _rng.standard_normal((2, 5, 3, 2))
expect_rule("broadcast batch", MatMulBackward(Tensor(_a), Tensor(_b)).backward(_G), lambda u, x: u @ x, [_a, _b], _G)
### END HIDDEN TESTS

# %% [markdown]
# ### 5.3 Powers, exponentials and logarithms
#
# | op | derivative | what the rule should store |
# |---|---|---|
# | `x ** p` (p a number) | $p\,x^{p-1}$ | the exponent `p` |
# | `exp(x)` | $e^x$ = the output itself | the output (saves recomputing it) |
# | `log(x)` | $1/x$ | nothing extra (x is an input) |
# | `sqrt(x)` | $\tfrac{1}{2\sqrt{x}}$ = `0.5 / out` | the output (worked example) |
#
# Storing the output is a classic time-for-memory trade: the backward pass reuses a value the
# forward pass already computed.

# %% nbgrader={"grade": false, "grade_id": "elementwise-rules", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class PowBackward(Function):
    """out = x ** p for a constant number p"""

    def __init__(self, x, p):
        super().__init__(x)
        self.p = p

    def backward(self, g):
        x, = self.inputs
        ### BEGIN SOLUTION
        return (g * self.p * x.data ** (self.p - 1),)
        ### END SOLUTION


class ExpBackward(Function):
    """out = exp(x); `out` is the forward result as a NumPy array"""

    def __init__(self, x, out):
        super().__init__(x)
        self.out = out

    def backward(self, g):
        ### BEGIN SOLUTION
        return (g * self.out,)
        ### END SOLUTION


class LogBackward(Function):
    """out = log(x)"""

    def backward(self, g):
        x, = self.inputs
        ### BEGIN SOLUTION
        return (g / x.data,)
        ### END SOLUTION


class SqrtBackward(Function):
    """out = sqrt(x)   (worked example)"""

    def __init__(self, x, out):
        super().__init__(x)
        self.out = out

    def backward(self, g):
        return (g * 0.5 / self.out,)

# %% mutant={"name": "pow-rule-forgets-exponent", "target": "elementwise-rules", "region": 0, "catches": ["test-elementwise-rules"]}
# Lowers the power but forgets to multiply by it.
return (g * x.data ** (self.p - 1),)

# %% mutant={"name": "log-rule-uses-log", "target": "elementwise-rules", "region": 2, "catches": ["test-elementwise-rules"]}
# Multiplies by log(x) instead of dividing by x.
return (g * np.log(x.data),)

# %% [markdown]
# The test checks each rule against finite differences on positive inputs (so `log` and fractional
# powers are defined), including a negative and a fractional exponent.

# %% nbgrader={"grade": true, "grade_id": "test-elementwise-rules", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
def test_elementwise_rules():
    """Pow, Exp and Log rules match finite differences."""
    rng = np.random.default_rng(3)
    x = rng.uniform(0.5, 2.0, (2, 3))
    G = rng.standard_normal((2, 3))
    for p in (2, 3, 0.5, -1.0):
        expect_rule(f"PowBackward(p={p})", PowBackward(Tensor(x), p).backward(G), lambda v: v ** p, [x], G)
    expect_rule("ExpBackward", ExpBackward(Tensor(x), np.exp(x)).backward(G), np.exp, [x], G)
    expect_rule("LogBackward", LogBackward(Tensor(x)).backward(G), np.log, [x], G)
    print("pow / exp / log rules: OK")

test_elementwise_rules()
### BEGIN HIDDEN TESTS
_x = np.array([4.0]); _G = np.array([1.0])
assert np.allclose(PowBackward(Tensor(_x), 3).backward(_G)[0], 48.0), "d/dx x^3 at 4 = 48"
assert np.allclose(LogBackward(Tensor(_x)).backward(_G)[0], 0.25)
### END HIDDEN TESTS

# %% [markdown]
# ### 5.4 Reductions, reshapes and indexing
#
# These ops move numbers around without doing arithmetic on them, so their gradients move numbers
# back:
#
# ```
#  sum over axis 1:   x (2, 3) ──► out (2,)          backward: copy g back to every summed element
#     [[a, b, c],        [a+b+c,                     [[g0, g0, g0],
#      [d, e, f]]         d+e+f]                      [g1, g1, g1]]
#
#  mean: the same, divided by how many elements each output averaged
#  transpose(0, 1): swap the same two axes of g back
#  x[idx]: scatter g into a zero array at idx; an element picked twice gets both gradients
# ```
#
# For `sum(axis=..., keepdims=False)` the summed axis disappeared from `g`; put it back with
# `np.expand_dims(g, axis)` before broadcasting to the input shape with `np.broadcast_to`.
# For indexing, `np.add.at(grad, idx, g)` adds (rather than assigns) at repeated indices,
# which is exactly rule 3: sum over every use.

# %% nbgrader={"grade": false, "grade_id": "shape-rules", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def _axes(axis, ndim):
    """Normalise an `axis` argument (None, int or tuple) to a tuple of non-negative axes."""
    if axis is None:
        return tuple(range(ndim))
    axis = (axis,) if np.isscalar(axis) else tuple(axis)
    return tuple(a % ndim for a in axis) if ndim else ()


class SumBackward(Function):
    """out = x.sum(axis, keepdims)"""

    def __init__(self, x, axis=None, keepdims=False):
        super().__init__(x)
        self.axes = _axes(axis, x.data.ndim)
        self.keepdims = keepdims

    def backward(self, g):
        x, = self.inputs
        g = np.asarray(g)
        ### BEGIN SOLUTION
        if not self.keepdims:
            g = np.expand_dims(g, self.axes)
        return (np.broadcast_to(g, x.shape),)
        ### END SOLUTION


class MeanBackward(SumBackward):
    """out = x.mean(axis, keepdims): a sum divided by the number of averaged elements"""

    def backward(self, g):
        x, = self.inputs
        count = int(np.prod([x.shape[a] for a in self.axes])) if self.axes else 1
        ### BEGIN SOLUTION
        grad, = super().backward(g)
        return (grad / count,)
        ### END SOLUTION


class MaxBackward(SumBackward):
    """out = x.max(axis, keepdims)   (worked example: the gradient goes to the maximum; ties share it)"""

    def __init__(self, x, axis, keepdims, out):
        super().__init__(x, axis, keepdims)
        self.out = out

    def backward(self, g):
        x, = self.inputs
        out, g = np.asarray(self.out), np.asarray(g)
        if not self.keepdims:
            out, g = np.expand_dims(out, self.axes), np.expand_dims(g, self.axes)
        winners = (x.data == out)
        return (winners * (g / winners.sum(axis=self.axes, keepdims=True)),)


class ReshapeBackward(Function):
    """out = x.reshape(...)   (worked example)"""

    def backward(self, g):
        return (np.reshape(g, self.inputs[0].shape),)


class TransposeBackward(Function):
    """out = x.transpose(dim0, dim1)   (swapping two axes is its own inverse)"""

    def __init__(self, x, dim0=-2, dim1=-1):
        super().__init__(x)
        self.dim0, self.dim1 = dim0, dim1

    def backward(self, g):
        ### BEGIN SOLUTION
        return (np.swapaxes(g, self.dim0, self.dim1),)
        ### END SOLUTION


class PermuteBackward(Function):
    """out = np.transpose(x, axes)  (used for the `.T` property; undone by the inverse permutation)"""

    def __init__(self, x, axes):
        super().__init__(x)
        self.axes = tuple(axes)

    def backward(self, g):
        return (np.transpose(g, np.argsort(self.axes)),)


class GetItemBackward(Function):
    """out = x[key]"""

    def __init__(self, x, key):
        super().__init__(x)
        self.key = key

    def backward(self, g):
        x, = self.inputs
        grad = np.zeros(x.shape, dtype=np.result_type(g, np.float32))
        ### BEGIN SOLUTION
        np.add.at(grad, self.key, g)
        ### END SOLUTION
        return (grad,)

# %% mutant={"name": "sum-rule-no-expand", "target": "shape-rules", "region": 0, "catches": ["test-shape-rules"]}
# Broadcasts without restoring the summed axes: works for axis=None or the last axis only.
return (np.broadcast_to(g.reshape(g.shape + (1,) * (x.data.ndim - g.ndim)), x.shape),)

# %% mutant={"name": "mean-rule-no-divide", "target": "shape-rules", "region": 1, "catches": ["test-shape-rules"]}
# Treats the mean like a sum.
grad, = super().backward(g)
return (grad,)

# %% mutant={"name": "getitem-rule-assigns", "target": "shape-rules", "region": 3, "catches": ["test-shape-rules"]}
# Assigns instead of adding: an element picked twice keeps only one of its gradients.
grad[self.key] = g

# %% [markdown]
# The test checks full and per-axis sums and means (with and without `keepdims`), a transpose of a
# 3-D array, and indexing with repeated indices (the classic bug: assigning instead of adding).

# %% nbgrader={"grade": true, "grade_id": "test-shape-rules", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
def test_shape_rules():
    """Sum, Mean, Transpose and GetItem rules match finite differences."""
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 3, 4))
    for axis, keep in [(None, False), (1, False), (-1, True), ((0, 2), False)]:
        out_shape = np.sum(x, axis=axis, keepdims=keep).shape
        G = rng.standard_normal(out_shape)
        expect_rule(f"SumBackward(axis={axis}, keepdims={keep})", SumBackward(Tensor(x), axis, keep).backward(G),
                    lambda v: np.sum(v, axis=axis, keepdims=keep), [x], G)
        expect_rule(f"MeanBackward(axis={axis}, keepdims={keep})", MeanBackward(Tensor(x), axis, keep).backward(G),
                    lambda v: np.mean(v, axis=axis, keepdims=keep), [x], G)
    G = rng.standard_normal((4, 3, 2))
    expect_rule("TransposeBackward(0, 2)", TransposeBackward(Tensor(x), 0, 2).backward(G),
                lambda v: np.swapaxes(v, 0, 2), [x], G)
    m = rng.standard_normal((5, 3))
    idx = np.array([0, 2, 2, 4])
    G = rng.standard_normal((4, 3))
    (gm,) = GetItemBackward(Tensor(m), idx).backward(G)
    assert np.allclose(gm[2], G[1] + G[2]), "row 2 was picked twice: its gradient must be the SUM of both (use np.add.at)"
    expect_rule("GetItemBackward", (gm,), lambda v: v[idx], [m], G)
    print("shape rules: OK")

test_shape_rules()
### BEGIN HIDDEN TESTS
_x = np.random.default_rng(14).standard_normal((3, 4))
_G = np.ones((2,))
expect_rule("GetItem tuple", GetItemBackward(Tensor(_x), (np.array([0, 0]), np.array([1, 1]))).backward(_G),
            lambda v: v[np.array([0, 0]), np.array([1, 1])], [_x], _G)
_G = np.ones((3, 2))
expect_rule("GetItem slice", GetItemBackward(Tensor(_x), (slice(None), slice(1, 3))).backward(_G), lambda v: v[:, 1:3], [_x], _G)
### END HIDDEN TESTS

# %% [markdown]
# ### 5.5 Activations
#
# Each activation from module 02 is element-wise (except softmax), so its backward is
# `g * f'(x)`. Several derivatives are cheapest written with the forward output $s$:
#
# | activation | derivative |
# |---|---|
# | ReLU | 1 where $x > 0$, else 0 |
# | Sigmoid | $s\,(1 - s)$ |
# | Tanh | $1 - s^2$ |
# | GELU (tanh form) | $\tfrac12(1 + t) + \tfrac12 x (1 - t^2)\,c\,(1 + 3 \cdot 0.044715\,x^2)$, with $t = \tanh(c\,(x + 0.044715\,x^3))$, $c = \sqrt{2/\pi}$ |
# | Softmax (along `axis`) | $s \odot (g - \sum_{\text{axis}} g \odot s)$ |
#
# Softmax is the interesting one: every output depends on every input along the axis, so its
# Jacobian is a full matrix $\text{diag}(s) - s s^\top$. Multiplying `g` by that matrix simplifies to
# the one-line formula above, which never builds the matrix. `LogSoftmaxBackward` (used by the
# cross-entropy loss in module 04) is worked for you as a hint: its Jacobian is $I - \mathbf{1}s^\top$.

# %% nbgrader={"grade": false, "grade_id": "activation-rules", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class ReLUBackward(Function):
    """out = max(x, 0)"""

    def backward(self, g):
        x, = self.inputs
        ### BEGIN SOLUTION
        return (g * (x.data > 0),)
        ### END SOLUTION


class SigmoidBackward(Function):
    """out = 1 / (1 + exp(-x)); `out` is the forward result"""

    def __init__(self, x, out):
        super().__init__(x)
        self.out = out

    def backward(self, g):
        s = self.out
        ### BEGIN SOLUTION
        return (g * s * (1 - s),)
        ### END SOLUTION


class TanhBackward(Function):
    """out = tanh(x); `out` is the forward result"""

    def __init__(self, x, out):
        super().__init__(x)
        self.out = out

    def backward(self, g):
        t = self.out
        ### BEGIN SOLUTION
        return (g * (1 - t * t),)
        ### END SOLUTION


class GELUBackward(Function):
    """out = 0.5 * x * (1 + tanh(c * (x + 0.044715 x^3))), c = sqrt(2 / pi)"""

    def backward(self, g):
        x = self.inputs[0].data
        c = np.sqrt(2.0 / np.pi)
        t = np.tanh(c * (x + 0.044715 * x ** 3))
        ### BEGIN SOLUTION
        dt_dx = (1 - t * t) * c * (1 + 3 * 0.044715 * x * x)
        return (g * (0.5 * (1 + t) + 0.5 * x * dt_dx),)
        ### END SOLUTION


class SoftmaxBackward(Function):
    """out = softmax(x, axis); `out` is the forward result"""

    def __init__(self, x, out, axis=-1):
        super().__init__(x)
        self.out, self.axis = out, axis

    def backward(self, g):
        s = self.out
        ### BEGIN SOLUTION
        return (s * (g - (g * s).sum(axis=self.axis, keepdims=True)),)
        ### END SOLUTION


class LogSoftmaxBackward(Function):
    """out = log_softmax(x, axis)   (worked example: g - softmax * sum(g))"""

    def __init__(self, x, out, axis=-1):
        super().__init__(x)
        self.out, self.axis = out, axis

    def backward(self, g):
        return (g - np.exp(self.out) * g.sum(axis=self.axis, keepdims=True),)

# %% mutant={"name": "relu-rule-uses-output", "target": "activation-rules", "region": 0, "catches": ["test-activation-rules"]}
# Multiplies by ReLU(x) instead of by the 0/1 slope.
return (g * np.maximum(x.data, 0),)

# %% mutant={"name": "gelu-rule-drops-product-term", "target": "activation-rules", "region": 3, "catches": ["test-activation-rules"]}
# Differentiates only the (1 + tanh) factor, forgetting the product rule's second term.
return (g * 0.5 * (1 + t),)

# %% mutant={"name": "softmax-rule-diagonal-only", "target": "activation-rules", "region": 4, "catches": ["test-activation-rules"]}
# Uses s(1 - s) as if each output depended on its own input only.
return (g * s * (1 - s),)

# %% [markdown]
# The test compares every activation rule with finite differences of a NumPy forward pass (inputs
# are kept away from ReLU's kink at 0, where the derivative does not exist).

# %% nbgrader={"grade": true, "grade_id": "test-activation-rules", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
def _np_softmax(v, axis=-1):
    e = np.exp(v - v.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _np_gelu(v):
    return 0.5 * v * (1 + np.tanh(np.sqrt(2 / np.pi) * (v + 0.044715 * v ** 3)))


def test_activation_rules():
    """ReLU, Sigmoid, Tanh, GELU and Softmax rules match finite differences."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((3, 5))
    x[np.abs(x) < 0.05] = 0.3                       # stay away from ReLU's kink
    G = rng.standard_normal((3, 5))
    sig = 1 / (1 + np.exp(-x))
    expect_rule("ReLUBackward", ReLUBackward(Tensor(x)).backward(G), lambda v: np.maximum(v, 0), [x], G)
    expect_rule("SigmoidBackward", SigmoidBackward(Tensor(x), sig).backward(G), lambda v: 1 / (1 + np.exp(-v)), [x], G)
    expect_rule("TanhBackward", TanhBackward(Tensor(x), np.tanh(x)).backward(G), np.tanh, [x], G)
    expect_rule("GELUBackward", GELUBackward(Tensor(x)).backward(G), _np_gelu, [x], G)
    for axis in (-1, 0):
        s = _np_softmax(x, axis)
        expect_rule(f"SoftmaxBackward(axis={axis})", SoftmaxBackward(Tensor(x), s, axis).backward(G),
                    lambda v: _np_softmax(v, axis), [x], G)
    print("activation rules: OK")

test_activation_rules()
### BEGIN HIDDEN TESTS
_s = _np_softmax(np.array([[1.0, 2.0, 3.0]]))
assert np.allclose(SoftmaxBackward(Tensor(np.zeros((1, 3))), _s).backward(np.ones((1, 3)))[0], 0, atol=1e-12), \
    "a constant upstream gradient must give zero softmax gradient (outputs sum to 1)"
assert np.allclose(ReLUBackward(Tensor(np.array([-1.0, 2.0]))).backward(np.array([5.0, 5.0]))[0], [0, 5])
### END HIDDEN TESTS

# %% [markdown]
# ### 5.6 Losses
#
# A loss maps predictions to one number, so here the incoming `g` is usually a scalar (the `1.0`
# that `backward()` starts with); with `reduction="none"` it has one entry per sample. Write
# $N$ for the number of averaged terms when `reduction="mean"` (1 otherwise).
#
# | loss | gradient for the prediction |
# |---|---|
# | MSE $\frac1N\sum (p - t)^2$ | $\tfrac{2}{N}(p - t) \cdot g$ (and the negative of that for the target) |
# | BCE on clipped $q = \text{clip}(p, \epsilon, 1-\epsilon)$ | $\tfrac{1}{N}\,\frac{q - t}{q (1 - q)} \cdot g$ where $p$ was not clipped, else 0 |
# | Cross-entropy on logits $z$, integer targets $y$ | $\tfrac{1}{N}(\text{softmax}(z) - \text{onehot}(y)) \cdot g$ |
#
# The cross-entropy result is one of the most satisfying in deep learning: all the exponentials and
# logarithms collapse into *predicted probabilities minus the truth*. Worked example, logits
# `[2, 1, 0]`, target class 0: softmax is `[0.665, 0.245, 0.090]`, so the gradient is
# `[-0.335, 0.245, 0.090]`: push the right class up, the others down, in proportion to their
# probability.

# %% nbgrader={"grade": false, "grade_id": "loss-rules", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def _reduce_scale(g, reduction, count):
    """How the reduction shapes the upstream gradient: `mean` divides by count; `none` is per-element."""
    g = np.asarray(g)
    return g / count if reduction == "mean" else g


class MSEBackward(Function):
    """out = reduce((pred - target) ** 2)"""

    def __init__(self, pred, target, reduction="mean"):
        super().__init__(pred, target)
        self.reduction = reduction

    def backward(self, g):
        pred, target = self.inputs
        diff = pred.data - target.data
        scale = _reduce_scale(g, self.reduction, diff.size)
        ### BEGIN SOLUTION
        grad = 2.0 * diff * scale
        return unbroadcast(grad, pred.shape), unbroadcast(-grad, target.shape)
        ### END SOLUTION


class BCEBackward(Function):
    """out = reduce(-(t log q + (1 - t) log(1 - q))), q = clip(pred, eps, 1 - eps)"""

    def __init__(self, pred, target, reduction="mean", eps=1e-7):
        super().__init__(pred, target)
        self.reduction, self.eps = reduction, eps

    def backward(self, g):
        pred, target = self.inputs
        p, t = pred.data, target.data
        q = np.clip(p, self.eps, 1 - self.eps)
        inside = (p > self.eps) & (p < 1 - self.eps)      # clipped entries get no gradient
        scale = _reduce_scale(g, self.reduction, np.broadcast(p, t).size)
        ### BEGIN SOLUTION
        grad_pred = scale * inside * (q - t) / (q * (1 - q))
        grad_target = scale * (np.log(1 - q) - np.log(q))
        ### END SOLUTION
        return unbroadcast(grad_pred, pred.shape), unbroadcast(grad_target, target.shape)


class CrossEntropyBackward(Function):
    """out = reduce(-log_softmax(logits)[i, y_i]) for integer targets y (classes on the last axis)"""

    def __init__(self, logits, target, reduction="mean"):
        super().__init__(logits, target)
        self.reduction = reduction

    def backward(self, g):
        logits, target = self.inputs
        z = logits.data.reshape(-1, logits.shape[-1])           # (N, C)
        y = np.asarray(target.data).reshape(-1).astype(np.int64)  # (N,)
        n = len(y)
        scale = _reduce_scale(g, self.reduction, n)
        scale = scale.reshape(-1, 1) if scale.ndim else scale     # per-sample g for reduction="none"
        probs = np.exp(z - z.max(axis=1, keepdims=True))
        probs /= probs.sum(axis=1, keepdims=True)
        ### BEGIN SOLUTION
        probs[np.arange(n), y] -= 1.0
        grad = probs * scale
        ### END SOLUTION
        return grad.reshape(logits.shape), None       # integer targets get no gradient

# %% mutant={"name": "mse-rule-target-same-sign", "target": "loss-rules", "region": 0, "replace": "unbroadcast(-grad, target.shape)", "catches": ["test-loss-rules"]}
# Gives the target the same gradient as the prediction.
unbroadcast(grad, target.shape)

# %% mutant={"name": "ce-rule-forgets-one-hot", "target": "loss-rules", "region": 2, "catches": ["test-loss-rules"]}
# Returns softmax * g without subtracting the one-hot target.
grad = probs * scale

# %% [markdown]
# The test checks all three losses, for every `reduction`, against finite differences.

# %% nbgrader={"grade": true, "grade_id": "test-loss-rules", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
def _reduce(v, reduction):
    return v.mean() if reduction == "mean" else v.sum() if reduction == "sum" else v


def test_loss_rules():
    """MSE, BCE and cross-entropy rules match finite differences for every reduction."""
    rng = np.random.default_rng(6)
    p, t = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    q, yb = rng.uniform(0.1, 0.9, (4, 1)), rng.integers(0, 2, (4, 1)).astype(float)
    z, y = rng.standard_normal((4, 5)), np.array([0, 3, 1, 4])
    for red in ("mean", "sum", "none"):
        G = rng.standard_normal(4) if red == "none" else np.array(1.7)      # one g per sample for "none"
        Gm = rng.standard_normal((4, 3)) if red == "none" else G
        expect_rule(f"MSEBackward({red})", MSEBackward(Tensor(p), Tensor(t), red).backward(Gm),
                    lambda a, b: _reduce((a - b) ** 2, red), [p, t], Gm)
        Gb = rng.standard_normal((4, 1)) if red == "none" else G
        expect_rule(f"BCEBackward({red})", BCEBackward(Tensor(q), Tensor(yb), red).backward(Gb),
                    lambda a, b: _reduce(-(b * np.log(a) + (1 - b) * np.log(1 - a)), red), [q, yb], Gb)
        ce = lambda a: _reduce(-np.log(_np_softmax(a))[np.arange(4), y], red)
        grads = CrossEntropyBackward(Tensor(z), Tensor(y), red).backward(G)
        expect_rule(f"CrossEntropyBackward({red})", grads, ce, [z], G, which=[0])
    gz, _ = CrossEntropyBackward(Tensor(np.array([[2.0, 1.0, 0.0]])), Tensor(np.array([0])), "mean").backward(np.array(1.0))
    assert np.allclose(gz, [[-0.335, 0.245, 0.090]], atol=1e-3), f"worked example: expected [-0.335, 0.245, 0.090], got {gz}"
    print("loss rules: OK")

test_loss_rules()
### BEGIN HIDDEN TESTS
_p = np.array([[0.0, 0.5, 1.0]]); _t = np.array([[0.0, 1.0, 1.0]])
_gp, _ = BCEBackward(Tensor(_p), Tensor(_t), "sum").backward(np.array(1.0))
assert np.allclose(_gp[0, [0, 2]], 0.0), "clipped probabilities (0 and 1) must get zero gradient"
assert np.isclose(_gp[0, 1], -2.0), "d/dp -log(p) at 0.5 = -2"
### END HIDDEN TESTS

# %% [markdown]
# ## 6. The backward pass
#
# Every rule works on its own. Now we connect them. `Tensor.backward(gradient=None)`:
#
# 1. seeds the output's gradient: `1.0` for a scalar loss. A non-scalar output without a `gradient`
#    argument is seeded with **ones** of its shape, which is the same as calling `.sum().backward()`:
#    for `y = x * 2`, `y.backward()` gives `x.grad` = 2 everywhere. Pass `gradient=` to weight each
#    entry differently;
# 2. lists every node of the graph in **topological order** (inputs before outputs);
# 3. walks that list **backwards**, and for each node calls its `Function.backward` with the node's
#    total gradient, **adding** each returned gradient into the running total of the input;
# 4. when it reaches a leaf, adds the gradient into `leaf.grad` (a Tensor). Gradients **accumulate**
#    across backward calls until an optimizer's `zero_grad()` resets them.
#
# ```
#  topological order (depth-first, a node after all its inputs):   [x, y, a, f]
#  reversed:  f ──► a ──► y ──► x
#  pending gradients {id(node): array}:
#     start           {f: 1}
#     after f (+)     {a: 1, x: 1}
#     after a (*)     {x: 1 + 3 = 4, y: 2}
#     leaves          x.grad = 4, y.grad = 2
# ```
#
# First, the topological order. A depth-first search does it: visit a node's inputs, then append
# the node. Only follow inputs that are Tensors with `requires_grad` (constants need no gradient).
# A graph can be thousands of nodes deep: a loop that applies an operation 3000 times builds a chain
# of 3000 nodes. A recursive search needs one Python stack frame per node and stops with
# `RecursionError` at Python's limit (about 1000 frames), so use an explicit stack (a list you push to
# and pop from). The test builds exactly such a 3000-deep chain.

# %% nbgrader={"grade": false, "grade_id": "topological-order", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def _parents(node):
    """The inputs of `node` that need gradients."""
    fn = node._grad_fn
    if fn is None:
        return ()
    return tuple(t for t in fn.inputs if isinstance(t, Tensor) and t.requires_grad)


def topological_order(root):
    """Every Tensor `root` depends on (that requires grad), each listed after all of its inputs.

    Includes `root` itself (last). Each node appears once, however many paths lead to it.
    Use `id(node)` to remember visited nodes (Tensors are not hashable by value).

    EXAMPLE   f = x * y + x   ->   [x, y, x*y, f]  (x before y, or y before x: both fine)
    """
    order, visited = [], set()
    ### BEGIN SOLUTION
    stack = [(root, False)]
    while stack:
        node, inputs_done = stack.pop()
        if inputs_done:
            order.append(node)
            continue
        if id(node) in visited:
            continue
        visited.add(id(node))
        stack.append((node, True))
        for parent in _parents(node):
            if id(parent) not in visited:
                stack.append((parent, False))
    ### END SOLUTION
    return order

# %% mutant={"name": "topo-recursive", "target": "topological-order", "catches": ["test-backward-engine"]}
# A recursive depth-first search: fine for small graphs, RecursionError on a 3000-node chain.
def visit(node):
    if id(node) in visited:
        return
    visited.add(id(node))
    for parent in _parents(node):
        visit(parent)
    order.append(node)
visit(root)

# %% mutant={"name": "topo-reversed-preorder", "target": "topological-order", "catches": ["test-backward-engine"]}
# Lists each node when it is first reached and reverses the list: not an order where inputs come first.
stack = [root]
while stack:
    node = stack.pop()
    if id(node) in visited:
        continue
    visited.add(id(node))
    order.append(node)
    stack.extend(_parents(node))
order.reverse()

# %% [markdown]
# Now the sweep itself. The plumbing (checking the seed, validating what a rule returns, storing
# into `.grad`) is provided; you write the chain-rule step for an inner node.

# %% nbgrader={"grade": false, "grade_id": "backward-pass", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def _seed_gradient(t, gradient):
    """The starting gradient for `t.backward(gradient)`, as an array shaped like t."""
    if not t.requires_grad:
        raise RuntimeError("backward() called on a tensor that does not require grad: no operation "
                           "that produced it involved a tensor with requires_grad=True")
    float_dtype = t.data.dtype if np.issubdtype(t.data.dtype, np.floating) else np.float64
    if gradient is None:  # a scalar loss starts at 1; a non-scalar output at ones (as if summed first)
        return np.ones(t.data.shape, dtype=float_dtype)
    seed = np.asarray(_data(gradient), dtype=float_dtype)
    if seed.shape != t.data.shape:
        if seed.size == t.data.size == 1:
            return seed.reshape(t.data.shape)
        raise ValueError(f"backward(gradient): gradient has shape {seed.shape}, tensor has shape {t.shape}")
    return seed


def _input_gradients(fn, grads):
    """Pair each input of `fn` that needs a gradient with its gradient, validating the rule's output."""
    if not isinstance(grads, (tuple, list)):
        grads = (grads,)
    if len(grads) != len(fn.inputs):
        raise RuntimeError(f"{type(fn).__name__}.backward returned {len(grads)} gradient(s) "
                           f"for {len(fn.inputs)} input(s)")
    pairs = []
    for i, (inp, grad) in enumerate(zip(fn.inputs, grads)):
        if grad is None or not (isinstance(inp, Tensor) and inp.requires_grad):
            continue
        grad = np.asarray(grad)
        if grad.shape != inp.data.shape:
            raise RuntimeError(f"{type(fn).__name__}.backward returned a gradient of shape {grad.shape} "
                               f"for input {i} of shape {inp.shape}")
        pairs.append((inp, grad))
    return pairs


def _accumulate_leaf(leaf, grad):
    """Add `grad` into `leaf.grad` (a Tensor), creating it on first use."""
    if np.issubdtype(leaf.data.dtype, np.floating):
        grad = grad.astype(leaf.data.dtype, copy=False)
    if leaf.grad is None:
        leaf.grad = Tensor(np.array(grad, copy=True))
    else:
        leaf.grad = Tensor(_data(leaf.grad) + grad)


def backward(self, gradient=None):
    """Compute d(self)/d(leaf) for every leaf and add it into `leaf.grad`.

    `gradient` (array or Tensor shaped like self) defaults to ones: for a non-scalar `self` that is the
    gradient of `self.sum()`.
    """
    pending = {id(self): _seed_gradient(self, gradient)}
    for node in reversed(topological_order(self)):
        grad = pending.pop(id(node), None)
        if grad is None:
            continue
        if node._grad_fn is None:                     # a leaf: store the result
            _accumulate_leaf(node, grad)
            continue
        # Inner node: apply its rule, then ADD each input's gradient into pending[id(input)].
        # _input_gradients(fn, rule_output) gives the (input, gradient) pairs to add.
        ### BEGIN SOLUTION
        for inp, g in _input_gradients(node._grad_fn, node._grad_fn.backward(grad)):
            pending[id(inp)] = pending[id(inp)] + g if id(inp) in pending else g
        ### END SOLUTION


def detach(self):
    """A new Tensor sharing this one's data, cut off from the graph (requires_grad=False)."""
    return Tensor(self.data)

# %% mutant={"name": "backward-overwrites-pending", "target": "backward-pass", "catches": ["test-backward-engine"]}
# Stores each path's gradient instead of adding: a value used twice keeps only one path.
for inp, g in _input_gradients(node._grad_fn, node._grad_fn.backward(grad)):
    pending[id(inp)] = g

# %% [markdown]
# ## 7. Wiring it into Tensor: `enable_autograd`
#
# We now have rules and an engine, but the Tensor operations from module 01 know nothing about
# them. Rather than editing modules 01-04, `enable_autograd()` **wraps** their operations: each
# wrapper runs the original forward code (with recording paused, so internal helper ops leave no
# records), then calls `track(result, SomeBackward(...))`.
#
# ```
#  Tensor.__mul__ (wrapped)
#     ├─ out = original __mul__(a, b)          # your module 01 code, unchanged
#     └─ return track(out, MulBackward(a, b))  # remember how to go back
# ```
#
# This is the same trick ("monkey-patching") that lets instrumentation tools attach to existing code.
# The originals are stored once on each class, and the wrappers always wrap those originals, so
# calling `enable_autograd()` again (for example when this notebook runs after the package version of
# autograd was imported) replaces the old wrappers instead of stacking a second layer.
#
# This cell is provided: it is plumbing, not calculus. Skim it to see which rule each op uses.

# %%
#| export
_PRISTINE = "_tinytorch_pristine"      # per-class dict of the original (unwrapped) attributes


def _originals(owner, names):
    """The pristine attributes `names` of class (or module) `owner`, stored on first call."""
    store = owner.__dict__.get(_PRISTINE)
    if store is None:
        store = {}
        setattr(owner, _PRISTINE, store)
    for name in names:
        if name not in store:
            try:
                value = inspect.getattr_static(owner, name)
            except AttributeError:
                continue
            wrapper = getattr(value, "_tinytorch_wrapper", False) or getattr(
                getattr(value, "fget", None), "_tinytorch_wrapper", False)
            if not wrapper:
                store[name] = value
    return store


def _untracked(fn, *args, **kwargs):
    """Run an original forward with recording paused (its internal ops leave no records)."""
    global _grad_enabled
    previous, _grad_enabled = _grad_enabled, False
    try:
        return fn(*args, **kwargs)
    finally:
        _grad_enabled = previous


def _recording(*tensors):
    """Fast check: should an op on these operands be recorded?"""
    return _grad_enabled and any(isinstance(t, Tensor) and t.requires_grad for t in tensors)


def _untrack(out):
    if isinstance(out, Tensor):
        out.requires_grad, out._grad_fn = False, None
    return out


def _constant(value, like):
    """Wrap a non-Tensor operand (number, list, array) as a constant Tensor matching like's float dtype."""
    if isinstance(value, Tensor):
        return value
    arr = np.asarray(value)
    if arr.ndim == 0 and arr.dtype.kind in "biuf" and np.issubdtype(like.data.dtype, np.floating):
        arr = arr.astype(like.data.dtype)       # a Python number: keep float32 math in float32
    return Tensor(arr)


def _mark(wrapper, original):
    wrapper._tinytorch_wrapper = True
    wrapper.__name__ = getattr(original, "__name__", wrapper.__name__)
    wrapper.__doc__ = getattr(original, "__doc__", None)
    return wrapper


def _binary(original, rule, reflected=False):
    def op(self, other):
        out = _untracked(original, self, other)
        if out is NotImplemented or not isinstance(out, Tensor):
            return out
        if not _recording(self, other):
            return _untrack(out)
        other = _constant(other, self)
        return track(out, rule(other, self) if reflected else rule(self, other))
    return _mark(op, original)


def _unary(original, make_rule):
    def op(self, *args, **kwargs):
        out = _untracked(original, self, *args, **kwargs)
        if not isinstance(out, Tensor) or not _recording(self):
            return _untrack(out)
        return track(out, make_rule(self, out, *args, **kwargs))
    return _mark(op, original)


def _arg(args, kwargs, i, name, default):
    return kwargs[name] if name in kwargs else args[i] if len(args) > i else default


def _scalar(p):
    """An exponent as a plain Python number when possible (keeps float32 math in float32)."""
    p = p.data if isinstance(p, Tensor) else p
    return p.item() if isinstance(p, np.ndarray) and p.size == 1 else p


def _plain_key(key):
    """An index with Tensors replaced by their arrays (for the backward scatter)."""
    if isinstance(key, Tensor):
        return key.data
    if isinstance(key, tuple):
        return tuple(k.data if isinstance(k, Tensor) else k for k in key)
    if isinstance(key, list):
        return np.asarray(key)
    return key


_TENSOR_RULES = {
    "__add__": lambda f: _binary(f, AddBackward),
    "__radd__": lambda f: _binary(f, AddBackward, reflected=True),
    "__sub__": lambda f: _binary(f, SubBackward),
    "__rsub__": lambda f: _binary(f, SubBackward, reflected=True),
    "__mul__": lambda f: _binary(f, MulBackward),
    "__rmul__": lambda f: _binary(f, MulBackward, reflected=True),
    "__truediv__": lambda f: _binary(f, DivBackward),
    "__rtruediv__": lambda f: _binary(f, DivBackward, reflected=True),
    "__matmul__": lambda f: _binary(f, MatMulBackward),
    "matmul": lambda f: _binary(f, MatMulBackward),
    "__rmatmul__": lambda f: _binary(f, MatMulBackward, reflected=True),
    "__neg__": lambda f: _unary(f, lambda x, out: NegBackward(x)),
    "__pow__": lambda f: _unary(f, lambda x, out, p: PowBackward(x, _scalar(p))),
    "exp": lambda f: _unary(f, lambda x, out: ExpBackward(x, out.data)),
    "log": lambda f: _unary(f, lambda x, out: LogBackward(x)),
    "sqrt": lambda f: _unary(f, lambda x, out: SqrtBackward(x, out.data)),
    "sum": lambda f: _unary(f, lambda x, out, *a, **k: SumBackward(
        x, _arg(a, k, 0, "axis", None), _arg(a, k, 1, "keepdims", False))),
    "mean": lambda f: _unary(f, lambda x, out, *a, **k: MeanBackward(
        x, _arg(a, k, 0, "axis", None), _arg(a, k, 1, "keepdims", False))),
    "max": lambda f: _unary(f, lambda x, out, *a, **k: MaxBackward(
        x, _arg(a, k, 0, "axis", None), _arg(a, k, 1, "keepdims", False), out.data)),
    "reshape": lambda f: _unary(f, lambda x, out, *a, **k: ReshapeBackward(x)),
    "transpose": lambda f: _unary(f, lambda x, out, *a, **k: TransposeBackward(
        x, _arg(a, k, 0, "dim0", -2), _arg(a, k, 1, "dim1", -1))),
    "__getitem__": lambda f: _unary(f, lambda x, out, key: GetItemBackward(x, _plain_key(key))),
}


def _transpose_property(original):
    """Wrap the `.T` property; the permutation is read off the shapes (reverse all axes, NumPy style)."""
    def getter(self):
        out = _untracked(original.fget, self)
        if not isinstance(out, Tensor) or not _recording(self):
            return _untrack(out)
        nd = self.data.ndim
        axes = tuple(reversed(range(nd)))
        if out.data.shape != tuple(self.data.shape[a] for a in axes) and nd >= 2:
            axes = tuple(range(nd - 2)) + (nd - 1, nd - 2)      # swaps only the last two axes
        return track(out, PermuteBackward(self, axes))
    return property(_mark(getter, original.fget))


_ACTIVATION_RULES = {
    "ReLU": lambda act, x, out: ReLUBackward(x),
    "Sigmoid": lambda act, x, out: SigmoidBackward(x, out.data),
    "Tanh": lambda act, x, out: TanhBackward(x, out.data),
    "GELU": lambda act, x, out: GELUBackward(x),
    "Softmax": lambda act, x, out: SoftmaxBackward(x, out.data, getattr(act, "axis", -1)),
}

_LOSS_RULES = {
    "MSELoss": lambda fn, p, t: MSEBackward(p, t, fn.reduction),
    "BinaryCrossEntropyLoss": lambda fn, p, t: BCEBackward(p, t, fn.reduction, getattr(fn, "eps", 1e-7)),
    "CrossEntropyLoss": lambda fn, p, t: CrossEntropyBackward(p, t, fn.reduction),
}


def _call_forward(self, *args, **kwargs):
    return self.forward(*args, **kwargs)


def _patch_forward(cls, make_rule, n_inputs):
    """Wrap `cls.forward`; make `__call__` dispatch to the wrapped forward if it was an alias of it."""
    store = _originals(cls, ["forward", "__call__"])
    original = store["forward"]

    def forward(self, *args, **kwargs):
        out = _untracked(original, self, *args, **kwargs)
        inputs = list(args[:n_inputs])
        if not isinstance(out, Tensor) or not inputs or not _recording(inputs[0]):
            return _untrack(out)
        inputs = [inputs[0]] + [_constant(a, inputs[0]) for a in inputs[1:]]
        return track(out, make_rule(self, *inputs, out) if n_inputs == 1 else make_rule(self, *inputs))

    setattr(cls, "forward", _mark(forward, original))
    call = store.get("__call__")
    if call is None or call is original:
        setattr(cls, "__call__", _mark(_call_forward, _call_forward))


def _log_softmax_wrapper(original):
    def log_softmax(x, axis=-1):
        out = _untracked(original, x, axis)
        if not isinstance(out, Tensor) or not _recording(x):
            return _untrack(out)
        return track(out, LogSoftmaxBackward(x, out.data, axis))
    return _mark(log_softmax, original)


def enable_autograd():
    """Make the ops of modules 01-04 record the graph, and give Tensor `backward()` and `detach()`.

    Safe to call repeatedly: it always wraps the stored originals, replacing earlier wrappers.
    """
    originals = _originals(Tensor, list(_TENSOR_RULES) + ["T"])
    for name, make in _TENSOR_RULES.items():
        if name in originals:
            setattr(Tensor, name, make(originals[name]))
    if isinstance(originals.get("T"), property):
        Tensor.T = _transpose_property(originals["T"])
    Tensor.backward = backward
    Tensor.detach = detach

    for name, rule in _ACTIVATION_RULES.items():
        if hasattr(_activations, name):
            _patch_forward(getattr(_activations, name), rule, n_inputs=1)
    for name, rule in _LOSS_RULES.items():
        if hasattr(_losses, name):
            _patch_forward(getattr(_losses, name), rule, n_inputs=2)

    if hasattr(_losses, "log_softmax"):
        original = _originals(_losses, ["log_softmax"])["log_softmax"]
        wrapped = _log_softmax_wrapper(original)
        _losses.log_softmax = wrapped
        package = sys.modules.get("tinytorch")          # `from tinytorch import log_softmax` too
        current = getattr(package, "log_softmax", None)
        if current is original or getattr(current, "_tinytorch_wrapper", False):
            package.log_softmax = wrapped

# %% [markdown]
# Switch it on. From here on, every Tensor operation records its graph (importing
# `tinytorch.core.autograd` does the same for the package).

# %%
#| export
enable_autograd()

# %% [markdown]
# Let us replay the worked example from section 1, $f = x y + x$ at $x = 2, y = 3$:

# %%
x = Tensor([2.0], requires_grad=True)
y = Tensor([3.0], requires_grad=True)
f = x * y + x
print("graph:", f._grad_fn, "<-", [t._grad_fn for t in f._grad_fn.inputs])
f.backward()
print("df/dx =", x.grad.data, "  df/dy =", y.grad.data)

# %% [markdown]
# The test below builds small graphs through real Tensor operations and checks the engine: a value
# used twice, gradient accumulation across two `backward()` calls, `.grad` being a Tensor, a non-scalar
# output seeded with ones, an explicit `gradient=` seed, and a 3000-node chain.

# %% nbgrader={"grade": true, "grade_id": "test-backward-engine", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
def test_backward_engine():
    """backward() sums over paths, accumulates across calls, and refuses ambiguous seeds."""
    x = Tensor([2.0], requires_grad=True)
    y = Tensor([3.0], requires_grad=True)
    order = topological_order(x * y + x)
    assert len(order) == 4, f"x*y + x has 4 nodes (x, y, x*y, f), topological_order gave {len(order)}"
    pos = {id(t): i for i, t in enumerate(order)}
    assert pos[id(x)] < len(order) - 1 and pos[id(y)] < len(order) - 1, "inputs must come before the output"
    f = x * y + x
    f.backward()
    assert isinstance(x.grad, Tensor), f"x.grad must be a Tensor, got {type(x.grad).__name__}"
    assert np.allclose(x.grad.data, 4.0), f"df/dx = y + 1 = 4 (x is used twice: ADD both paths), got {x.grad.data}"
    assert np.allclose(y.grad.data, 2.0), f"df/dy = x = 2, got {y.grad.data}"
    (x * y + x).backward()
    assert np.allclose(x.grad.data, 8.0), f"gradients accumulate across backward() calls: expected 8, got {x.grad.data}"

    w = Tensor(np.ones((3, 2)), requires_grad=True)
    h = w * 3.0
    diamond = (h * h).sum() + h.sum()          # h feeds two branches
    diamond.backward()
    assert np.allclose(w.grad.data, 3 * (2 * 3 + 1)), f"d/dw [sum((3w)^2) + sum(3w)] at w=1 is 21, got {w.grad.data}"

    v = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    (v * 2).backward()
    assert np.allclose(v.grad.data, [2.0, 2.0, 2.0]), \
        f"backward() on a non-scalar seeds with ones (like .sum().backward()): expected [2, 2, 2], got {v.grad.data}"
    v.grad = None
    (v * 2).backward(np.array([1.0, 0.0, -1.0]))
    assert np.allclose(v.grad.data, [2.0, 0.0, -2.0]), f"explicit gradient seed: expected [2, 0, -2], got {v.grad.data}"

    deep = Tensor([1.5], requires_grad=True)
    chain = deep
    for _ in range(3000):                      # deeper than Python's recursion limit
        chain = chain * 1.0
    try:
        chain.backward()
    except RecursionError:
        raise AssertionError("a 3000-node chain hit Python's recursion limit: "
                             "walk the graph with an explicit stack, not recursion") from None
    assert np.allclose(deep.grad.data, 1.0), f"d/dx of x * 1.0 (3000 times) is 1, got {deep.grad.data}"
    print("backward engine: OK")

test_backward_engine()
### BEGIN HIDDEN TESTS
_c = Tensor([1.0])
try:
    (_c * 2).sum().backward()
    raise AssertionError("backward on a graph without requires_grad must raise")
except RuntimeError:
    pass
### END HIDDEN TESTS

# %% [markdown]
# ### Grad mode
#
# The next test checks `no_grad`: inside the block nothing is recorded (results have
# `requires_grad=False` and no `_grad_fn`), and recording resumes afterwards.

# %% nbgrader={"grade": true, "grade_id": "test-no-grad", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
def test_no_grad():
    """no_grad switches recording off inside the block and restores it afterwards."""
    w = Tensor([[1.0, 2.0]], requires_grad=True)
    with no_grad():
        assert not is_grad_enabled(), "is_grad_enabled() must be False inside no_grad"
        y = (w * 3).sum()
    assert not y.requires_grad and y._grad_fn is None, "ops inside no_grad must not record a graph"
    assert is_grad_enabled(), "recording must resume after the with-block"
    z = (w * 3).sum()
    assert z.requires_grad, "outside no_grad, results of ops on requires_grad tensors require grad"
    z.backward()
    assert np.allclose(w.grad.data, [[3.0, 3.0]]), f"expected [[3, 3]], got {w.grad.data}"
    print("no_grad: OK")

test_no_grad()
### BEGIN HIDDEN TESTS
@no_grad()
def _decorated(t):
    return t * 2
assert not _decorated(Tensor([1.0], requires_grad=True)).requires_grad, "no_grad works as a decorator"
### END HIDDEN TESTS

# %% [markdown]
# ## 8. Checking every op end to end: `check_gradients`
#
# The rule tests above used NumPy forward passes. The real forward passes are your modules 01-04,
# and a rule is only right if it matches *them* (for example, the exact GELU formula or the clipping
# in BCE). `check_gradients(f, *inputs)` closes that loop for any function built from Tensor ops:
#
# 1. temporarily switches every floating-point input Tensor to float64 **in place** (finite
#    differences need the precision; in place, so a function that reaches a parameter through a
#    closure, like `lambda w: layer(x)`, sees the change too), and restores everything afterwards;
# 2. projects the output onto fixed random weights $R$ so one scalar, $\sum f(\ldots) \odot R$, tests the
#    whole Jacobian, and runs `backward` with `R` as the seed;
# 3. compares each input's `.grad` with `numerical_gradient` and raises an `AssertionError` naming the
#    input and the worst element if they disagree.
#
# Later modules (convolution, attention, normalisation) use this same function to test their
# hand-written backward passes.

# %%
#| export
def check_gradients(f, *inputs, eps=None, atol=None, rtol=None, seed=0):
    """Assert that autograd's gradients of `f(*inputs)` match numerical gradients.

    Every floating-point Tensor in `inputs` is checked; anything else (integer targets, arrays,
    numbers) is passed through unchanged. During the check each float input is switched in place to
    float64 with requires_grad=True (so closures over the same Tensor see it); its data, grad,
    requires_grad and _grad_fn are restored afterwards. If the forward pass computes in float32
    anyway, looser defaults are used (eps=1e-3, atol=1e-3, rtol=1e-2 instead of 1e-6, 1e-5, 1e-3).
    Returns True, or raises AssertionError naming the input and the worst mismatching element.
    """
    checked, seen = [], set()
    for i, t in enumerate(inputs):
        if isinstance(t, Tensor) and np.issubdtype(t.data.dtype, np.floating) and id(t) not in seen:
            seen.add(id(t))
            checked.append((i, t))
    saved = [(t.data, t.grad, t.requires_grad, t._grad_fn) for _, t in checked]
    try:
        for _, t in checked:
            t.data, t.grad, t.requires_grad, t._grad_fn = np.array(t.data, dtype=np.float64), None, True, None
        out = f(*inputs)
        if not isinstance(out, Tensor) or not out.requires_grad:
            raise AssertionError("check_gradients: f(*inputs) is not connected to any float input "
                                 "(is autograd enabled, and does f use Tensor operations?)")
        precise = out.data.dtype == np.float64
        eps = eps if eps is not None else (1e-6 if precise else 1e-3)
        atol = atol if atol is not None else (1e-5 if precise else 1e-3)
        rtol = rtol if rtol is not None else (1e-3 if precise else 1e-2)
        weights = np.random.default_rng(seed).standard_normal(out.shape)
        out.backward(weights)

        def projected(_):
            with no_grad():
                return float(np.sum(_data(f(*inputs)) * weights))

        tested_something = False
        for i, t in checked:
            analytic = np.zeros(t.data.shape) if t.grad is None else np.asarray(_data(t.grad), dtype=np.float64)
            numeric = numerical_gradient(projected, t.data, eps)
            tested_something |= bool(np.any(analytic) or np.any(numeric))
            excess = np.abs(analytic - numeric) - (atol + rtol * np.abs(numeric))
            if excess.size and excess.max() > 0:
                idx = np.unravel_index(int(np.argmax(excess)), excess.shape)
                raise AssertionError(
                    f"check_gradients: input {i} (shape {t.shape}) gradient mismatch; worst at index "
                    f"{tuple(int(k) for k in idx)}: autograd {analytic[idx]:.6g} vs numerical {numeric[idx]:.6g} "
                    f"(|diff| {abs(analytic[idx] - numeric[idx]):.3g})")
        if checked and not tested_something:
            raise AssertionError("check_gradients: every gradient is zero both ways, so nothing was tested; "
                                 "does f(*inputs) depend on the float inputs you passed?")
    finally:
        for (_, t), (data, grad, requires_grad, grad_fn) in zip(checked, saved):
            t.data, t.grad, t.requires_grad, t._grad_fn = data, grad, requires_grad, grad_fn
    return True

# %% [markdown]
# Here is what a failure looks like: a deliberately wrong rule (forgetting the 2 in $d(x^2)/dx$) is
# caught and located.

# %%
class _WrongSquare(Function):
    def backward(self, g):
        return (g * self.inputs[0].data,)        # should be 2 * x * g


def _bad_square(t):
    return track(Tensor(t.data ** 2), _WrongSquare(t))


try:
    check_gradients(_bad_square, Tensor([[1.0, -3.0]]))
except AssertionError as err:
    print("caught:", err)

# %% [markdown]
# The graded test runs `check_gradients` over **every** op of modules 01-04 through the real Tensor
# API, activation classes and loss classes, and prints a table. If a case fails, the message names
# the op and the input.

# %%
from tinytorch.core.activations import ReLU, Sigmoid, Tanh, GELU, Softmax
from tinytorch.core.losses import MSELoss, BinaryCrossEntropyLoss, CrossEntropyLoss
from tinytorch.core.layers import Linear, Sequential
import tinytorch.core.losses as losses_module

# %% nbgrader={"grade": true, "grade_id": "test-gradcheck-all-ops", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}

def gradcheck_cases():
    rng = np.random.default_rng(7)
    def T(*shape, low=None, high=None):
        arr = rng.uniform(low, high, shape) if low is not None else rng.standard_normal(shape)
        return Tensor(arr)
    a, b, row = T(3, 4), T(3, 4), T(4)
    pos = T(3, 4, low=0.5, high=2.0)
    away = T(3, 4); away.data[np.abs(away.data) < 0.1] = 0.5
    probs, bits = T(5, 1, low=0.1, high=0.9), Tensor(rng.integers(0, 2, (5, 1)).astype(float))
    labels = Tensor(np.array([0, 2, 1, 2, 0]))
    c43 = T(4, 3)
    return [
        ("add (broadcast)", lambda u, v: u + v, (a, row)),
        ("radd scalar", lambda u: 2.0 + u, (a,)),
        ("sub (broadcast)", lambda u, v: u - v, (a, row)),
        ("rsub scalar", lambda u: 1.0 - u, (a,)),
        ("mul", lambda u, v: u * v, (a, b)),
        ("rmul scalar", lambda u: 3.0 * u, (a,)),
        ("div", lambda u, v: u / v, (a, pos)),
        ("rdiv scalar", lambda u: 1.0 / u, (pos,)),
        ("neg", lambda u: -u, (a,)),
        ("matmul", lambda u, v: u @ v, (a, T(4, 2))),
        ("matmul batched", lambda u, v: u.matmul(v), (T(2, 3, 4), T(4, 5))),
        ("pow", lambda u: u ** 3, (a,)),
        ("sum axis", lambda u: u.sum(axis=0), (a,)),
        ("sum all", lambda u: u.sum(), (a,)),
        ("mean keepdims", lambda u: u.mean(axis=1, keepdims=True), (a,)),
        ("max axis", lambda u: u.max(axis=1), (a,)),
        ("reshape", lambda u: u.reshape(4, 3) * c43, (a,)),
        ("reshape -1", lambda u: u.reshape((2, -1)), (a,)),
        ("transpose", lambda u: u.transpose(), (T(2, 3, 4),)),
        ("T", lambda u: u.T, (a,)),
        ("getitem slice", lambda u: u[1:, ::2], (a,)),
        ("getitem fancy", lambda u: u[np.array([0, 2, 2])], (a,)),
        ("exp", lambda u: u.exp(), (a,)),
        ("log", lambda u: u.log(), (pos,)),
        ("sqrt", lambda u: u.sqrt(), (pos,)),
        ("ReLU", lambda u: ReLU()(u), (away,)),
        ("Sigmoid", lambda u: Sigmoid()(u), (a,)),
        ("Tanh", lambda u: Tanh()(u), (a,)),
        ("GELU", lambda u: GELU()(u), (a,)),
        ("Softmax", lambda u: Softmax()(u), (a,)),
        ("Softmax axis=0", lambda u: Softmax(axis=0)(u), (a,)),
        ("log_softmax", lambda u: losses_module.log_softmax(u), (a,)),
        ("MSELoss", lambda u, v: MSELoss()(u, v), (a, b)),
        ("MSELoss sum", lambda u, v: MSELoss(reduction="sum")(u, v), (a, b)),
        ("BCELoss", lambda u, v: BinaryCrossEntropyLoss()(u, v), (probs, bits)),
        ("BCELoss none", lambda u, v: BinaryCrossEntropyLoss(reduction="none")(u, v), (probs, bits)),
        ("CrossEntropyLoss", lambda u, y: CrossEntropyLoss()(u, y), (T(5, 3), labels)),
        ("CrossEntropyLoss none", lambda u, y: CrossEntropyLoss(reduction="none")(u, y), (T(5, 3), labels)),
    ]


def test_gradcheck_all_ops():
    """Every op of modules 01-04 passes check_gradients through the real Tensor API."""
    cases = gradcheck_cases()
    for name, fn, inputs in cases:
        try:
            check_gradients(fn, *inputs)
        except AssertionError as err:
            raise AssertionError(f"op '{name}': {err}") from None
    print(f"check_gradients passed for all {len(cases)} ops:")
    print(", ".join(name for name, _, _ in cases))

test_gradcheck_all_ops()
### BEGIN HIDDEN TESTS
_rng = np.random.default_rng(17)
check_gradients(lambda u, v: ((u * v).sum(axis=1) / (v ** 2 + 1.0).sum(axis=1)).exp(), Tensor(_rng.standard_normal((3, 4))), Tensor(_rng.standard_normal((3, 4))))
check_gradients(lambda u: Softmax()(u.reshape(2, 6)).transpose(0, 1)[::2], Tensor(_rng.standard_normal((3, 4))))
### END HIDDEN TESTS

# %% [markdown]
# ## 9. The payoff: training through modules 02-04 unchanged
#
# `Linear` from module 03 computes `x @ weight + bias`: two recorded ops. The activations and losses
# are wrapped. So a whole network now differentiates itself. The test below checks the gradients of a
# two-layer network against finite differences, then takes a few hand-written gradient-descent steps
# (module 06 will package this into optimizers) and checks that the loss goes down.

# %% nbgrader={"grade": true, "grade_id": "test-train-mlp", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}

def test_train_mlp():
    """loss.backward() reaches every Linear parameter, matches finite differences, and trains."""
    np.random.seed(0)
    rng = np.random.default_rng(8)
    x = Tensor(rng.standard_normal((16, 4)).astype(np.float32))
    y = Tensor((x.data[:, 0] > 0).astype(np.int64) + (x.data[:, 1] > 0).astype(np.int64))
    model = Sequential(Linear(4, 8), Tanh(), Linear(8, 3))
    params = model.parameters()
    assert len(params) == 4, f"expected 4 parameters (2 weights, 2 biases), got {len(params)}"

    def loss_of(w1, b1, w2, b2):
        return CrossEntropyLoss()(Tanh()(x @ w1 + b1) @ w2 + b2, y)
    check_gradients(loss_of, *params)

    loss_fn = CrossEntropyLoss()
    losses = []
    for step in range(30):
        for p in params:
            p.grad = None
        loss = loss_fn(model(x), y)
        loss.backward()
        for p in params:
            assert p.grad is not None, "every parameter must receive a gradient"
            assert p.grad.shape == p.shape, f"grad shape {p.grad.shape} must equal parameter shape {p.shape}"
            p.data -= 0.5 * p.grad.data
        losses.append(loss.item())
    assert losses[-1] < 0.6 * losses[0], f"30 steps of gradient descent should cut the loss clearly: {losses[0]:.3f} -> {losses[-1]:.3f}"
    assert all(p.grad.data.dtype == p.data.dtype for p in params), "each gradient must have its parameter's dtype"
    print(f"training: loss {losses[0]:.3f} -> {losses[-1]:.3f}")

test_train_mlp()
### BEGIN HIDDEN TESTS
_net = Sequential(Linear(3, 5), ReLU(), Linear(5, 1), Sigmoid())
_xb = Tensor(np.random.default_rng(18).standard_normal((6, 3)).astype(np.float32))
_yb = Tensor((_xb.data[:, :1] > 0).astype(np.float32))
_l = BinaryCrossEntropyLoss()(_net(_xb), _yb)
_l.backward()
assert all(p.grad is not None for p in _net.parameters())
_l2 = MSELoss()(_net(_xb), _yb)
_l2.backward()
assert all(np.all(np.isfinite(p.grad.data)) for p in _net.parameters())
### END HIDDEN TESTS

# %% [markdown]
# ## 10. Systems analysis: what does autograd cost?
#
# Three measurements, each on a small MLP so the notebook stays fast:
#
# 1. **Numerical vs reverse-mode gradients.** How long does it take to get the gradient of one
#    `Linear` layer's weights each way, as the layer grows?
# 2. **Time.** How does forward-with-recording and forward+backward compare with a plain forward
#    under `no_grad`?
# 3. **Memory.** How many bytes does the recorded graph keep alive, and how does that grow with the
#    batch size?

# %%
import time


def median_time(fn, repeats=5):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


rng = np.random.default_rng(0)
print(f"{'weights':>8} | {'numerical (s)':>13} | {'backward (s)':>12} | {'speed-up':>8}")
for n in (4, 8, 16, 32):
    layer = Linear(n, n)
    xb = Tensor(rng.standard_normal((8, n)).astype(np.float32))
    target = Tensor(rng.standard_normal((8, n)).astype(np.float32))

    @no_grad()
    def numeric():
        numerical_gradient(lambda w: float(MSELoss()(xb @ Tensor(w) + layer.bias, target).data),
                           layer.weight.data.astype(np.float64), eps=1e-3)

    def reverse():
        layer.weight.grad = None
        MSELoss()(layer(xb), target).backward()

    t_num, t_rev = median_time(numeric, 3), median_time(reverse)
    print(f"{n * n:>8} | {t_num:>13.5f} | {t_rev:>12.5f} | {t_num / t_rev:>7.0f}x")

# %% [markdown]
# The numerical column grows with the number of weights (two forward passes each), the backward
# column barely moves: reverse mode gets *all* the gradients in one sweep. For a model with millions
# of weights, the ratio is millions.

# %%
def make_mlp(width):
    np.random.seed(0)
    return Sequential(Linear(64, width), ReLU(), Linear(width, width), ReLU(), Linear(width, 10))


def graph_bytes(root, exclude=()):
    """Bytes of NumPy arrays kept alive by the recorded graph below `root`.

    Each array is counted once; arrays whose id is in `exclude` (the parameters, which exist
    anyway) are skipped, so the figure is the extra memory that recording costs.
    """
    seen, total = set(exclude), 0
    for node in topological_order(root):
        fn = node._grad_fn
        if fn is None:
            continue
        arrays = [t.data for t in fn.inputs if isinstance(t, Tensor)]
        arrays += [v for v in vars(fn).values() if isinstance(v, np.ndarray)]
        for arr in arrays:
            base = arr if arr.base is None else arr.base
            if id(base) not in seen:
                seen.add(id(base))
                total += base.nbytes
    return total


model = make_mlp(128)
params = model.parameters()
param_ids = {id(p.data) for p in params}
loss_fn = CrossEntropyLoss()
print(f"parameters: {sum(p.data.nbytes for p in params) / 1024:.0f} KiB (fixed)")
print(f"{'batch':>6} | {'no_grad fwd (ms)':>16} | {'fwd (ms)':>8} | {'fwd+bwd (ms)':>12} | "
      f"{'fwd+bwd / fwd':>13} | {'graph (KiB)':>11} | {'bytes/sample':>12}")
for batch in (32, 128, 512):
    xb = Tensor(rng.standard_normal((batch, 64)).astype(np.float32))
    yb = Tensor(rng.integers(0, 10, batch))

    def inference():
        with no_grad():
            loss_fn(model(xb), yb)

    def forward():
        return loss_fn(model(xb), yb)

    def train_step():
        for p in params:
            p.grad = None
        forward().backward()

    t_inf, t_fwd, t_step = median_time(inference), median_time(forward), median_time(train_step)
    kept = graph_bytes(forward(), exclude=param_ids)
    print(f"{batch:>6} | {t_inf * 1e3:>16.2f} | {t_fwd * 1e3:>8.2f} | {t_step * 1e3:>12.2f} | "
          f"{t_step / t_fwd:>13.1f} | {kept / 1024:>11.0f} | {kept / batch:>12.0f}")

with no_grad():
    detached = loss_fn(model(xb), yb)
print("graph kept under no_grad:", graph_bytes(detached), "bytes")

# %% [markdown]
# How to read the table (your numbers will differ a little; every figure comes from the cell above):
#
# - **fwd+bwd / fwd:** the backward sweep costs about as much as one or two forward passes. Each
#   matmul in the forward pass becomes two in the backward (one for the input's gradient, one for the
#   weight's), so this ratio sits around 2-3 rather than growing with the number of weights.
# - **no_grad fwd vs fwd:** the price of recording: one small `Function` object per op, plus keeping
#   the activations alive instead of freeing them as soon as the next layer has used them.
# - **graph (KiB):** memory for saved activations (parameters excluded, they exist anyway). The
#   **bytes/sample** column is roughly constant: graph memory grows *linearly with the batch size*
#   while the parameters stay fixed. This is why large models run out of memory while *training* but
#   not during inference, and why frameworks offer gradient checkpointing (recompute activations in
#   the backward pass instead of storing them).
# - **`no_grad` keeps no graph at all** (the last line: zero bytes), which is exactly why evaluation
#   loops use it.

# %% [markdown]
# ## Summary
#
# You built reverse-mode automatic differentiation:
#
# - Every Tensor op now leaves a `Function` record (`track`) holding its inputs and what its rule needs;
#   `no_grad` turns recording off.
# - Each op has a small **backward rule**: the local derivative times the incoming gradient, with
#   `unbroadcast` summing gradients of broadcast inputs back to their shapes.
# - `Tensor.backward()` visits the graph in reverse **topological order**, **sums** gradients over all
#   paths, and **accumulates** them into the leaves' `.grad`.
# - `numerical_gradient` and `check_gradients` verify every rule against finite differences: the
#   safety net that later modules use for their own backward passes.
# - Measured: one backward sweep costs about as much as a couple of forward passes, independent of
#   the number of weights, while the recorded graph's memory grows with the batch size.
#
# Next, module 06 turns `.grad` into learning: optimizers that update the weights.
#
# ## Reflection questions
#
# 1. Gradients accumulate into `.grad` instead of overwriting it. Name one situation where that is
#    exactly what you want, and one bug it causes if you forget to reset them.
# 2. `SigmoidBackward` stores the forward *output*, `LogBackward` relies on the *input*. For a network
#    with 100 sigmoid layers, what is kept in memory until `backward()` runs, and how could you trade
#    compute for memory?
# 3. Why does `check_gradients` project the output onto random weights instead of checking only
#    `f(...).sum()`? Think of a wrong softmax rule that the plain sum would not catch.
# 4. Your wrappers run the original forward with recording paused. What would go wrong (in memory or
#    in correctness) if module 01's `__sub__` internally computed `self + (-other)` and recording were
#    left on?
# 5. Forward-mode differentiation pushes derivatives from inputs to outputs. For a loss with a million
#    inputs and one output, how many forward-mode sweeps would you need? And for a function with one
#    input and a million outputs?
