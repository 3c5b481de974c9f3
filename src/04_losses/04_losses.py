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
#     title: Losses
#     summary: Build the numbers that training minimises (MSE, binary cross-entropy, cross-entropy from logits via a stable log-softmax) with mean, sum and per-sample reductions.
#     tier: foundation
#     minutes: 90
#     prerequisites: [01_tensor, 02_activations]
#     objectives:
#       - Explain what a loss function measures and why training needs a single number
#       - Implement mean, sum and per-sample (none) reductions shared by every loss
#       - Implement a numerically stable log-softmax with the log-sum-exp trick
#       - Implement MSE, binary cross-entropy (with clipping) and cross-entropy from logits
#       - Measure why log(softmax(x)) fails where log_softmax(x) does not, and what a large vocabulary costs
#     exports: [MSELoss, BinaryCrossEntropyLoss, CrossEntropyLoss]
#     milestone: null
# ---

# %% [markdown]
# # Module 04: Losses
#
# A network makes predictions. To improve it, we need one number that says **how wrong** those
# predictions are, over a whole batch: the **loss**. Training is nothing more than nudging every
# parameter in the direction that makes this number smaller (module 05 computes that direction,
# module 06 takes the step). So the loss *defines* what the network learns: choose it badly and the
# network optimises the wrong thing; compute it carelessly and a single `inf` ends training.
#
# **What you will build** (in `tinytorch.core.losses`)
#
# | loss | predictions | targets | typical task |
# |---|---|---|---|
# | `MSELoss` | any real numbers | real numbers, same shape | regression: prices, temperatures |
# | `BinaryCrossEntropyLoss` | probabilities in $[0, 1]$ (after a `Sigmoid`) | 0 or 1 | yes/no questions |
# | `CrossEntropyLoss` | **logits** $(N, C)$, raw scores (no softmax!) | class indices $(N,)$ | choose one of $C$ classes |
#
# plus `log_softmax(x, axis=-1)`, the numerically stable building block of cross-entropy, and a
# `reduction` option on every loss: `"mean"` (the default), `"sum"`, or `"none"` (one loss per sample).
#
# **Why this matters in a real framework.** Losses sit where numbers are most extreme: confident
# predictions mean probabilities near 0 or 1 and logits in the hundreds. Every framework ships a
# cross-entropy that takes *logits* and fuses softmax and log, precisely to survive those extremes.
# You will see exactly what goes wrong otherwise.

# %%
#| default_exp core.losses

# %%
#| export
import numpy as np

from tinytorch.core.tensor import Tensor

# %%
#| hide
import time
import tracemalloc
import warnings

from tinytorch.core.activations import Sigmoid, Softmax

np.set_printoptions(precision=4, suppress=True)

# %% [markdown]
# ## 1. The idea: from many errors to one number
#
# Every loss here is computed in two stages:
#
# ```
#   predictions, targets ──► per-element loss ──► reduction ──► loss
#      (N, ...)                 (N, ...)          "mean"  -> one number, average   (the default)
#                                                 "sum"   -> one number, total
#                                                 "none"  -> keep every entry      (for weighting, debugging)
# ```
#
# Worked examples you can check by hand:
#
# | loss | predictions | targets | per-element loss | mean |
# |---|---|---|---|---|
# | MSE | `[1, 2, 3]` | `[1, 0, 5]` | `[0, 4, 4]` | 2.6667 |
# | BCE | `[0.9, 0.2]` | `[1, 0]` | `[-log 0.9, -log 0.8]` = `[0.1054, 0.2231]` | 0.1643 |
# | cross-entropy | logits `[[2, 1, 0]]` | `[0]` | `-log softmax = [0.4076]` | 0.4076 |
#
# Why the mean by default? It makes the loss (and its gradient) independent of the batch size, so the
# same learning rate works for batches of 16 and of 256. The sum is useful when you want to add up
# losses over batches yourself; `"none"` when samples need different weights.
#
# ## 2. Reductions
#
# All three losses share the last stage, so write it once. `_check_reduction` (given) rejects unknown
# names when a loss is *created*, so a typo fails immediately rather than in the middle of training.

# %% nbgrader={"grade": false, "grade_id": "reduce", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
REDUCTIONS = ("mean", "sum", "none")


def _check_reduction(reduction: str) -> str:
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
    return reduction


def _reduce(values: np.ndarray, reduction: str) -> np.ndarray:
    """Reduce per-element losses: "mean" -> their average, "sum" -> their total, "none" -> unchanged.

    EXAMPLE: _reduce(np.array([0., 4., 4.]), "mean") -> 2.6667 ; "sum" -> 8.0 ; "none" -> [0, 4, 4]
    """
    _check_reduction(reduction)
    ### BEGIN SOLUTION
    if reduction == "mean":
        return values.mean()
    if reduction == "sum":
        return values.sum()
    return values
    ### END SOLUTION

# %% mutant={"name": "reduce-none-averages", "target": "reduce", "catches": ["test-reduce"]}
# Treats every unknown-to-me reduction, "none" included, as "mean".
if reduction == "sum":
    return values.sum()
return values.mean()

# %% mutant={"name": "reduce-mean-first-axis", "target": "reduce", "replace": "values.mean()", "catches": ["test-reduce"]}
# Averages over the first axis only (the batch axis), leaving a vector for 2-D inputs.
values.mean(axis=0)

# %% [markdown]
# The test checks the three reductions on the MSE worked example and on a 2-D array, and that an
# unknown reduction is rejected.

# %% nbgrader={"grade": true, "grade_id": "test-reduce", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
def test_reduce():
    """mean, sum and none reductions."""
    v = np.array([0.0, 4.0, 4.0])
    assert np.isclose(_reduce(v, "mean"), 8 / 3), f"mean of [0, 4, 4] is 2.6667, got {_reduce(v, 'mean')}"
    assert np.isclose(_reduce(v, "sum"), 8.0), f"sum of [0, 4, 4] is 8, got {_reduce(v, 'sum')}"
    assert np.array_equal(_reduce(v, "none"), v), "'none' returns the per-element values unchanged"
    m = np.arange(6.0).reshape(2, 3)
    assert np.ndim(_reduce(m, "mean")) == 0 and np.isclose(_reduce(m, "mean"), 2.5), "mean reduces over ALL elements"
    try:
        _reduce(v, "average")
        raise AssertionError("an unknown reduction must raise ValueError")
    except ValueError:
        pass
    print("reductions: OK")

test_reduce()

# %% [markdown]
# ## 3. A common shape for every loss
#
# Like the activations of module 02, a loss is a small object: created with its options
# (`CrossEntropyLoss(reduction="sum")`), then called as `loss_fn(predictions, targets)`, which calls
# `self.forward(predictions, targets)` and returns a Tensor (0-d for `"mean"`/`"sum"`). Module 05
# gives each loss its gradient by wrapping `forward`, so the computation must live there.
#
# Two helpers are given. `_values` turns Tensors, arrays and lists into NumPy arrays. `_check_shapes`
# catches the most common silent bug in regression code: predictions of shape `(N, 1)` compared with
# targets of shape `(N,)` broadcast to an `(N, N)` matrix of every prediction against every target.
# The loss is then a perfectly finite, perfectly wrong number. We refuse any target whose broadcast
# would change the predictions' shape.

# %%
#| export
def _values(x) -> np.ndarray:
    """The NumPy array behind a Tensor, array, list or number."""
    return x.data if isinstance(x, Tensor) else np.asarray(x)


def _float_dtype(a: np.ndarray):
    """The dtype a loss on `a` should have: a's float dtype, or float32 for integer inputs."""
    return a.dtype if np.issubdtype(a.dtype, np.floating) else np.dtype(np.float32)


def _check_shapes(pred: np.ndarray, target: np.ndarray, loss_name: str) -> None:
    try:
        shape = np.broadcast_shapes(pred.shape, target.shape)
    except ValueError:
        shape = None
    if shape != pred.shape:
        raise ValueError(f"{loss_name}: predictions {pred.shape} and targets {target.shape} do not match "
                         f"(targets must have the predictions' shape or broadcast to it; reshape one of them)")


class Loss:
    """Base class: `loss_fn(pred, target)` calls `loss_fn.forward(pred, target)`."""

    def __init__(self, reduction: str = "mean"):
        self.reduction = _check_reduction(reduction)

    def forward(self, pred, target) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} must implement forward(pred, target)")

    def __call__(self, pred, target) -> Tensor:
        return self.forward(pred, target)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(reduction={self.reduction!r})"

# %% [markdown]
# ## 4. Mean squared error
#
# $$\text{MSE} = \frac{1}{n}\sum_{i} (p_i - t_i)^2$$
#
# Squaring makes every error positive and punishes big errors much more than small ones (an error of
# 10 costs 100 times an error of 1). That is the right choice when errors are roughly normally
# distributed; it also means a few outliers can dominate the loss.

# %% nbgrader={"grade": false, "grade_id": "mse", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class MSELoss(Loss):
    """Mean squared error between predictions and targets of the same shape."""

    def forward(self, pred, target) -> Tensor:
        """Reduce the squared differences (p - t)^2 with self.reduction.

        EXAMPLE: MSELoss()(Tensor([1., 2., 3.]), Tensor([1., 0., 5.])) -> Tensor(2.6667)
        HINT: compute the per-element values with NumPy, then _reduce(values, self.reduction).
        """
        p, t = _values(pred), _values(target)
        _check_shapes(p, t, "MSELoss")
        ### BEGIN SOLUTION
        diff = p - t
        out = _reduce(diff * diff, self.reduction)
        ### END SOLUTION
        return Tensor(np.asarray(out, dtype=_float_dtype(p)))

# %% mutant={"name": "mse-absolute-error", "target": "mse", "replace": "diff * diff", "catches": ["test-mse"]}
# Uses the absolute error (L1) instead of the squared error.
np.abs(diff)

# %% mutant={"name": "mse-ignores-reduction", "target": "mse", "replace": "_reduce(diff * diff, self.reduction)", "catches": ["test-mse"]}
# Always averages, whatever the reduction says.
(diff * diff).mean()

# %% mutant={"name": "mse-halved", "target": "mse", "replace": "diff * diff", "catches": ["test-mse"]}
# Uses the 1/2 (p - t)^2 convention of some textbooks.
0.5 * diff * diff

# %% [markdown]
# The test checks the worked example for all reductions, that targets may be arrays or broadcast
# scalars, and that the `(N, 1)` versus `(N,)` mistake raises a helpful error.

# %% nbgrader={"grade": true, "grade_id": "test-mse", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
def test_mse():
    """MSE values, reductions, dtype and shape checks."""
    p, t = Tensor(np.array([1.0, 2.0, 3.0], dtype=np.float32)), Tensor(np.array([1.0, 0.0, 5.0], dtype=np.float32))
    out = MSELoss()(p, t)
    assert isinstance(out, Tensor) and out.shape == (), f"mean reduction gives a 0-d Tensor, got {out!r}"
    assert np.isclose(out.data, 8 / 3), f"MSE([1,2,3], [1,0,5]) = 2.6667, got {out.data}"
    assert out.data.dtype == np.float32, f"float32 predictions give a float32 loss, got {out.data.dtype}"
    assert np.isclose(MSELoss(reduction="sum")(p, t).data, 8.0), "sum reduction: 0 + 4 + 4 = 8"
    assert np.allclose(MSELoss(reduction="none")(p, t).data, [0, 4, 4]), "none reduction keeps [0, 4, 4]"
    assert np.isclose(MSELoss()(p, np.array([1.0, 0.0, 5.0])).data, 8 / 3), "targets may be NumPy arrays"
    assert np.isclose(MSELoss()(p, 2.0).data, 2 / 3), "a scalar target broadcasts: ((1-2)^2 + 0 + 1) / 3"
    try:
        MSELoss()(Tensor(np.zeros((4, 1))), Tensor(np.zeros(4)))
        raise AssertionError("(4, 1) predictions with (4,) targets must raise ValueError, not broadcast to (4, 4)")
    except ValueError as e:
        assert "(4, 1)" in str(e) and "(4,)" in str(e), f"the error should name both shapes: {e}"
    print("MSELoss: OK")

test_mse()
### BEGIN HIDDEN TESTS
_r = np.random.default_rng(0)
_a, _b = _r.standard_normal((3, 4)), _r.standard_normal((3, 4))
assert np.isclose(MSELoss()(Tensor(_a), Tensor(_b)).data, ((_a - _b) ** 2).mean()), "2-D inputs: mean over all elements"
assert MSELoss(reduction="none")(Tensor(_a), Tensor(_b)).shape == (3, 4)
### END HIDDEN TESTS

# %% [markdown]
# ## 5. Binary cross-entropy
#
# For a yes/no question the model outputs a probability $p$ that the answer is yes (usually through
# a `Sigmoid`). If the truth is $t \in \{0, 1\}$, the probability the model gave to what actually
# happened is $p$ when $t = 1$ and $1 - p$ when $t = 0$. Cross-entropy is the negative log of that
# probability, written as one formula:
#
# $$\text{BCE}(p, t) = -\big(t \log p + (1 - t)\log(1 - p)\big)$$
#
# Confident and right ($p = 0.99$, $t = 1$): loss 0.01. Unsure ($p = 0.5$): 0.69. Confident and wrong
# ($p = 0.01$, $t = 1$): 4.6. And certain and wrong ($p = 0$, $t = 1$): $-\log 0 = \infty$. A single
# such sample makes the mean `inf` and every gradient `nan`.
#
# **The fix: clipping.** Before taking logs, clip $p$ into $[\epsilon, 1 - \epsilon]$ with
# $\epsilon = 10^{-7}$. The worst possible loss per sample becomes $-\log 10^{-7} \approx 16.1$: large,
# so the model is still punished hard, but finite. (Module 05 gives clipped entries a zero gradient,
# matching what `np.clip` does.) Compute in float64, since in float32 the number $1 - 10^{-7}$ is
# already hard to tell apart from 1.

# %% nbgrader={"grade": false, "grade_id": "bce", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class BinaryCrossEntropyLoss(Loss):
    """Binary cross-entropy on probabilities (clipped to [eps, 1 - eps]) and 0/1 targets."""

    def __init__(self, reduction: str = "mean", eps: float = 1e-7):
        super().__init__(reduction)
        self.eps = eps

    def forward(self, pred, target) -> Tensor:
        """Reduce -(t log q + (1 - t) log(1 - q)), q = clip(p, eps, 1 - eps), with self.reduction.

        EXAMPLE: BinaryCrossEntropyLoss()(Tensor([0.9, 0.2]), Tensor([1., 0.])) -> Tensor(0.1643)
        HINT: np.clip(p, self.eps, 1 - self.eps), then the formula with np.log.
        """
        p, t = _values(pred), _values(target)
        _check_shapes(p, t, "BinaryCrossEntropyLoss")
        dtype = _float_dtype(p)
        p, t = p.astype(np.float64), t.astype(np.float64)
        ### BEGIN SOLUTION
        q = np.clip(p, self.eps, 1.0 - self.eps)
        per_element = -(t * np.log(q) + (1.0 - t) * np.log(1.0 - q))
        out = _reduce(per_element, self.reduction)
        ### END SOLUTION
        return Tensor(np.asarray(out, dtype=dtype))

    def __repr__(self) -> str:
        return f"BinaryCrossEntropyLoss(reduction={self.reduction!r}, eps={self.eps})"

# %% mutant={"name": "bce-no-clip", "target": "bce", "replace": "np.clip(p, self.eps, 1.0 - self.eps)", "catches": ["test-bce"]}
# Skips the clip: log(0) for certain-and-wrong predictions.
p

# %% mutant={"name": "bce-drops-negative-term", "target": "bce", "replace": "-(t * np.log(q) + (1.0 - t) * np.log(1.0 - q))", "catches": ["test-bce"]}
# Keeps only the t log q term: wrong answers on negatives cost nothing.
-(t * np.log(q))

# %% mutant={"name": "bce-clips-one-side", "target": "bce", "replace": "np.clip(p, self.eps, 1.0 - self.eps)", "catches": ["test-bce"]}
# Clips away zero only: p = 1 still gives log(0).
np.maximum(p, self.eps)

# %% [markdown]
# The test checks the worked example, the reductions, and that predictions of exactly 0 and 1 give
# the finite worst-case loss instead of `inf`.

# %% nbgrader={"grade": true, "grade_id": "test-bce", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
def test_bce():
    """BCE values, reductions, clipping of certain-and-wrong predictions."""
    p, t = Tensor(np.array([0.9, 0.2], dtype=np.float32)), Tensor(np.array([1.0, 0.0], dtype=np.float32))
    out = BinaryCrossEntropyLoss()(p, t)
    assert out.shape == () and np.isclose(out.data, 0.16425, atol=1e-4), f"BCE([0.9, 0.2], [1, 0]) = 0.1643, got {out.data}"
    assert out.data.dtype == np.float32, f"float32 predictions give a float32 loss, got {out.data.dtype}"
    assert np.allclose(BinaryCrossEntropyLoss(reduction="none")(p, t).data, [0.10536, 0.22314], atol=1e-4)
    assert np.isclose(BinaryCrossEntropyLoss(reduction="sum")(p, t).data, 0.32850, atol=1e-4)
    with np.errstate(divide="raise", invalid="raise"):
        worst = BinaryCrossEntropyLoss(reduction="none")(Tensor([0.0, 1.0, 1.0, 0.0]), Tensor([1.0, 0.0, 1.0, 0.0])).data
    assert np.all(np.isfinite(worst)), f"p = 0 or 1 must not give inf/nan (clip first!), got {worst}"
    assert np.allclose(worst[:2], -np.log(1e-7), rtol=1e-3), f"certain-and-wrong costs -log(1e-7) = 16.12, got {worst[:2]}"
    assert np.all(worst[2:] < 1e-6), f"certain-and-right costs ~0, got {worst[2:]}"
    print("BinaryCrossEntropyLoss: OK")

test_bce()

# %% [markdown]
# ## 6. Log-softmax: the log-sum-exp trick
#
# For $C$ classes the model outputs logits $z$; the probabilities are $\text{softmax}(z)$ (module 02)
# and cross-entropy needs $\log \text{softmax}(z)_y$ for the true class $y$. Taking the log of a
# softmax you computed first is a trap: a class that is very unlikely gets probability
# $e^{-200} \approx 10^{-87}$, which float32 rounds to exactly 0, and $\log 0 = -\infty$. The model
# was wrong by a lot, but the loss is `inf` and learning stops.
#
# Work in log space instead. With $m = \max_j z_j$:
#
# $$\log \text{softmax}(z)_i = z_i - \log\sum_j e^{z_j} = (z_i - m) - \log\sum_j e^{z_j - m}$$
#
# Every exponent $z_j - m$ is $\le 0$ (no overflow) and one of them is exactly 0, so the sum is at
# least 1 (its log is never $-\infty$). Nothing is rounded to zero before the log.
#
# ```
#   z            [2.0,     1.0,     0.0   ]
#   z - m        [0.0,    -1.0,    -2.0   ]        m = 2
#   exp          [1.0,     0.3679,  0.1353]        sum 1.5032, log 0.4076
#   log_softmax  [-0.4076, -1.4076, -2.4076]       = (z - m) - 0.4076
# ```

# %% nbgrader={"grade": false, "grade_id": "log-softmax", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def log_softmax(x, axis: int = -1) -> Tensor:
    """log(softmax(x)) along `axis`, computed stably: (x - m) - log(sum(exp(x - m))), m = max.

    EXAMPLE: log_softmax(Tensor([[2., 1., 0.]])) -> Tensor([[-0.4076, -1.4076, -2.4076]])
    HINT: keepdims=True on max and sum keeps the shapes broadcastable.
    """
    z = _values(x)
    z = z if np.issubdtype(z.dtype, np.floating) else z.astype(np.float32)
    ### BEGIN SOLUTION
    shifted = z - z.max(axis=axis, keepdims=True)
    out = shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
    ### END SOLUTION
    return Tensor(out)

# %% mutant={"name": "log-softmax-unshifted", "target": "log-softmax", "catches": ["test-log-softmax"]}
# Skips the max shift: exp overflows for large logits.
out = z - np.log(np.exp(z).sum(axis=axis, keepdims=True))

# %% mutant={"name": "log-softmax-log-of-softmax", "target": "log-softmax", "catches": ["test-log-softmax"]}
# Takes the log of the softmax: tiny probabilities round to 0 and the log becomes -inf.
shifted = z - z.max(axis=axis, keepdims=True)
e = np.exp(shifted)
out = np.log(e / e.sum(axis=axis, keepdims=True))

# %% mutant={"name": "log-softmax-forgets-shift-back", "target": "log-softmax", "replace": "shifted - np.log", "catches": ["test-log-softmax"]}
# Returns x - log(sum(exp(x - m))): the max is subtracted inside the log but not outside.
z - np.log

# %% [markdown]
# The test checks the worked example, that the exponentials of each row sum to 1, that huge logits
# stay finite, and the tiny-probability case where `log(softmax(x))` gives `-inf`.

# %% nbgrader={"grade": true, "grade_id": "test-log-softmax", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
def test_log_softmax():
    """log_softmax values, normalisation, stability and the axis argument."""
    out = log_softmax(Tensor(np.array([[2.0, 1.0, 0.0]], dtype=np.float32)))
    assert isinstance(out, Tensor) and out.shape == (1, 3), "log_softmax returns a Tensor of the input's shape"
    assert np.allclose(out.data, [[-0.4076, -1.4076, -2.4076]], atol=1e-4), f"worked example mismatch: {out.data}"
    assert out.data.dtype == np.float32, f"float32 in, float32 out; got {out.data.dtype}"
    z = np.random.default_rng(0).standard_normal((5, 7)) * 4
    ls = log_softmax(Tensor(z)).data
    assert np.allclose(np.exp(ls).sum(axis=-1), 1.0), "exp(log_softmax) must sum to 1 along the axis"
    assert np.allclose(ls, np.log(Softmax()(Tensor(z)).data)), "for moderate logits it equals log(softmax)"
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        big = log_softmax(Tensor(np.array([[1000.0, 0.0, -1000.0]], dtype=np.float32))).data
    assert np.allclose(big, [[0.0, -1000.0, -2000.0]]), f"huge logits must stay finite and exact, got {big}"
    cols = log_softmax(Tensor(z), axis=0).data
    assert np.allclose(np.exp(cols).sum(axis=0), 1.0), "axis=0 normalises columns"
    print("log_softmax: OK")

test_log_softmax()
### BEGIN HIDDEN TESTS
with np.errstate(divide="raise", invalid="raise"):
    _t = log_softmax(Tensor(np.array([0.0, -200.0], dtype=np.float32))).data
assert np.isclose(_t[1], -200.0, atol=1e-3), "tiny probabilities keep their exact log, never -inf"
assert log_softmax(np.array([[1, 2, 3]])).data.dtype.kind == "f", "integer logits give float log-probabilities"
### END HIDDEN TESTS

# %% [markdown]
# ## 7. Cross-entropy from logits
#
# Cross-entropy for classification is the negative log-probability the model gave to the correct
# class, averaged over the batch:
#
# $$\text{CE} = -\frac{1}{N}\sum_{i=1}^{N} \log \text{softmax}(z_i)_{y_i}$$
#
# With `log_softmax` done, what is left is **picking** one entry per row: row $i$, column $y_i$.
# NumPy's integer-array indexing does that in one step, `logp[np.arange(N), y]`, without building a
# one-hot matrix of size $N \times C$ (section 8 measures what that saves).
#
# ```
#   logp (N=3, C=4)                      y = [2, 0, 3]
#   [[-1.9, -2.3, -0.4, -2.1],   ──►  logp[[0, 1, 2], [2, 0, 3]] = [-0.4, -0.2, -1.1]
#    [-0.2, -2.8, -3.0, -2.4],        loss (mean) = -(-0.4 - 0.2 - 1.1) / 3 = 0.567
#    [-1.6, -2.5, -1.9, -1.1]]
# ```
#
# The class takes **logits**, never probabilities: do not put a `Softmax` at the end of a classifier
# trained with it. Targets are integer class indices; the given scaffolding converts and validates
# them and flattens any leading axes, so logits `(B, T, C)` with targets `(B, T)` (a language model)
# work too.

# %% nbgrader={"grade": false, "grade_id": "cross-entropy", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def _class_indices(target, shape) -> np.ndarray:
    """Targets as an int64 array of shape `shape`, checked to be whole numbers in range."""
    y = _values(target)
    if np.issubdtype(y.dtype, np.floating):
        if not np.all(np.mod(y, 1) == 0):
            raise ValueError("CrossEntropyLoss targets must be class indices (whole numbers), "
                             "not probabilities or one-hot vectors")
    elif not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"CrossEntropyLoss targets must be integer class indices, got dtype {y.dtype}")
    y = y.astype(np.int64)
    if y.shape != tuple(shape):
        raise ValueError(f"CrossEntropyLoss: logits {tuple(shape) + ('C',)} need targets of shape {tuple(shape)}, "
                         f"got {y.shape}")
    return y


class CrossEntropyLoss(Loss):
    """Cross-entropy between logits (..., C) and integer class targets (...), via a stable log-softmax."""

    def forward(self, logits, target) -> Tensor:
        """Reduce -log_softmax(logits)[i, y_i] over the samples with self.reduction.

        EXAMPLE: CrossEntropyLoss()(Tensor([[2., 1., 0.]]), Tensor([0])) -> Tensor(0.4076)
        HINTS:
        - z is (N, C) and y is (N,) below; logp = log_softmax(Tensor(z)).data
        - per_sample = -logp[np.arange(len(y)), y]
        - "none" returns one loss per sample, shaped like the targets: reshape to target_shape.
        """
        z = _values(logits)
        if z.ndim < 2:
            raise ValueError(f"CrossEntropyLoss expects logits of shape (N, C), got {z.shape}")
        target_shape, C = z.shape[:-1], z.shape[-1]
        y = _class_indices(target, target_shape).reshape(-1)
        if y.size and (y.min() < 0 or y.max() >= C):
            bad = y[(y < 0) | (y >= C)][0]
            raise ValueError(f"CrossEntropyLoss: target class {bad} is out of range for {C} classes")
        z = z.reshape(-1, C)
        ### BEGIN SOLUTION
        logp = log_softmax(Tensor(z), axis=-1).data
        per_sample = -logp[np.arange(len(y)), y]
        out = _reduce(per_sample.reshape(target_shape), self.reduction)
        ### END SOLUTION
        return Tensor(np.asarray(out, dtype=_float_dtype(z)))

# %% mutant={"name": "ce-predicted-class", "target": "cross-entropy", "replace": "-logp[np.arange(len(y)), y]", "catches": ["test-cross-entropy"]}
# Reads the log-probability of the predicted class instead of the target class.
-logp.max(axis=-1)

# %% mutant={"name": "ce-none-flat", "target": "cross-entropy", "replace": "per_sample.reshape(target_shape)", "catches": ["test-cross-entropy"]}
# Returns "none" losses flattened, not in the targets' shape.
per_sample

# %% mutant={"name": "ce-indexes-columns-only", "target": "cross-entropy", "replace": "-logp[np.arange(len(y)), y]", "catches": ["test-cross-entropy"]}
# logp[:, y] picks every target column for every row (an N x N block) instead of one entry per row.
-logp[:, y].mean(axis=0)

# %% [markdown]
# The test checks the worked example, a batch against a NumPy reference for all reductions, the
# uniform-guess value $\log C$, huge logits, target formats, and the errors for bad targets.

# %% nbgrader={"grade": true, "grade_id": "test-cross-entropy", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
def test_cross_entropy():
    """Cross-entropy from logits: values, reductions, stability and target validation."""
    ce = CrossEntropyLoss()
    out = ce(Tensor(np.array([[2.0, 1.0, 0.0]], dtype=np.float32)), Tensor(np.array([0])))
    assert out.shape == () and np.isclose(out.data, 0.4076, atol=1e-4), f"worked example: expected 0.4076, got {out.data}"
    assert out.data.dtype == np.float32, f"float32 logits give a float32 loss, got {out.data.dtype}"
    rng = np.random.default_rng(0)
    z, y = rng.standard_normal((6, 5)) * 3, np.array([0, 4, 2, 2, 1, 3])
    ref = -(z - np.log(np.exp(z).sum(axis=1, keepdims=True)))[np.arange(6), y]
    assert np.isclose(ce(Tensor(z), Tensor(y)).data, ref.mean()), "mean over the batch mismatch"
    assert np.isclose(CrossEntropyLoss(reduction="sum")(Tensor(z), Tensor(y)).data, ref.sum()), "sum reduction mismatch"
    none = CrossEntropyLoss(reduction="none")(Tensor(z), Tensor(y)).data
    assert none.shape == (6,) and np.allclose(none, ref), f"'none' gives one loss per sample, got shape {none.shape}"
    assert np.isclose(ce(Tensor(np.zeros((4, 10))), Tensor([1, 2, 3, 4])).data, np.log(10)), \
        "equal logits (a uniform guess) over 10 classes cost log(10) = 2.3026"
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        huge = ce(Tensor(np.array([[1000.0, -1000.0], [0.0, 500.0]], dtype=np.float32)), Tensor([1, 1])).data
    assert np.isfinite(huge) and np.isclose(huge, 1000.0, rtol=1e-4), f"confidently wrong by 2000 costs 2000 (mean 1000), got {huge}"
    assert np.isclose(ce(Tensor(z), y.tolist()).data, ref.mean()), "targets may be a list"
    assert np.isclose(ce(Tensor(z), Tensor(y.astype(np.float32))).data, ref.mean()), "whole-number float targets are accepted"
    for bad in ([0, 4, 2, 2, 1, 5], [0, 1, 2]):
        try:
            ce(Tensor(z), Tensor(bad))
            raise AssertionError(f"targets {bad} must raise ValueError (out of range / wrong shape)")
        except ValueError:
            pass
    print("CrossEntropyLoss: OK")

test_cross_entropy()
### BEGIN HIDDEN TESTS
_z3 = np.random.default_rng(1).standard_normal((2, 3, 4))
_y3 = np.array([[0, 1, 2], [3, 3, 0]])
_ref3 = -(_z3 - np.log(np.exp(_z3).sum(-1, keepdims=True)))
_ref3 = np.take_along_axis(_ref3, _y3[..., None], -1)[..., 0]
assert np.isclose(CrossEntropyLoss()(Tensor(_z3), Tensor(_y3)).data, _ref3.mean()), "(B, T, C) logits with (B, T) targets"
assert CrossEntropyLoss(reduction="none")(Tensor(_z3), Tensor(_y3)).shape == (2, 3), "'none' keeps the target shape"
try:
    CrossEntropyLoss()(Tensor(_z3[0]), Tensor([0.5, 1.0, 2.0]))
    raise AssertionError("fractional targets must raise ValueError")
except ValueError:
    pass
### END HIDDEN TESTS

# %% [markdown]
# ### Putting it together
#
# A model's output goes straight into its loss. Here a 4-class prediction for three samples, and a
# yes/no prediction through a `Sigmoid` (from module 02):

# %%
logits = Tensor(np.array([[2.0, 0.5, -1.0, 0.0], [0.1, 0.2, 0.3, 0.4], [-3.0, 4.0, 0.0, 1.0]], dtype=np.float32))
labels = Tensor(np.array([0, 3, 1]))
print("cross-entropy per sample:", CrossEntropyLoss(reduction="none")(logits, labels).data)
print("cross-entropy (mean):    ", CrossEntropyLoss()(logits, labels).data)
scores = Tensor(np.array([[2.0], [-1.0], [0.3]], dtype=np.float32))
print("BCE after Sigmoid:       ", BinaryCrossEntropyLoss()(Sigmoid()(scores), Tensor([[1.0], [0.0], [0.0]])).data)

# %% [markdown]
# ## 8. Systems analysis
#
# ### 8.1 `log(softmax(z))` versus `log_softmax(z)`
#
# How large must the logits get before the two-step version breaks? We take logits
# `[0, -s]` in float32 for growing gaps `s`, where the correct class is the *unlikely* one (class 1), and
# compute the loss both ways. The exact answer is $\log(1 + e^{s})$, which is about $s$ for large $s$.

# %%
def two_step_loss(s):
    """-log(softmax([0, -s])[1]) in float32, the way you would write it without log_softmax."""
    return float(-np.log(Softmax()(Tensor(np.array([[0.0, -s]], dtype=np.float32))).data[0, 1]))


def fused_loss(s):
    return float(CrossEntropyLoss()(Tensor(np.array([[0.0, -s]], dtype=np.float32)), Tensor([1])).data)


with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    print(f"{'gap s':>6} | {'log(softmax) loss':>18} | {'log_softmax loss':>17} | {'exact':>8}")
    for s in (5, 20, 50, 90, 100, 103, 104, 200, 1000):
        print(f"{s:>6} | {two_step_loss(s):>18.4f} | {fused_loss(s):>17.4f} | {np.logaddexp(0.0, s):>8.2f}")
    gaps = np.arange(1.0, 120.0, 0.5)
    rel_err = np.array([abs(two_step_loss(s) - np.logaddexp(0.0, s)) / np.logaddexp(0.0, s) for s in gaps])
    fused_err = np.array([abs(fused_loss(s) - np.logaddexp(0.0, s)) / np.logaddexp(0.0, s) for s in gaps])
first_bad = gaps[np.argmax(rel_err > 1e-4)]
first_inf = gaps[np.argmax(~np.isfinite(rel_err))]
print(f"\ntwo-step: relative error above 1e-4 from a gap of {first_bad}, inf from a gap of {first_inf}")
print(f"fused:    worst relative error over all gaps {fused_err.max():.1e}")
print(f"float32: smallest normal {np.finfo(np.float32).tiny:.2e} = e^-{-np.log(np.finfo(np.float32).tiny):.1f}, "
      f"smallest subnormal {np.float32(1.4e-45):.2e} = e^-{-np.log(float(np.float32(1.4e-45))):.1f}")

# %% [markdown]
# Up to moderate gaps both agree. Once $e^{-s}$ falls below float32's smallest *normal* number
# ($e^{-87.3}$), the probability is stored with fewer and fewer significant bits and the two-step
# loss drifts from the truth; once it falls below the smallest *subnormal* number ($e^{-103.3}$), the
# probability is rounded to exactly 0 and the loss is `inf`. The fused version stays exact for every
# gap. Gaps like this are not exotic: a confidently wrong classifier produces them routinely.
#
# ### 8.2 Indexing versus one-hot targets
#
# A common textbook form of cross-entropy multiplies by a one-hot target matrix:
# `-(onehot * logp).sum(axis=1)`. That builds an extra $N \times C$ array. For language models, $C$ is
# the vocabulary size (tens of thousands), so this matters. We compare the two on a batch of 64 rows,
# measuring time and peak extra memory with `tracemalloc`.

# %%
def ce_onehot(z: np.ndarray, y: np.ndarray) -> float:
    logp = log_softmax(Tensor(z)).data
    onehot = np.zeros_like(logp)
    onehot[np.arange(len(y)), y] = 1.0
    return float(-(onehot * logp).sum(axis=1).mean())


def measure(fn, repeats=5):
    fn()
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return float(np.median(ts)), peak


N = 64
print(f"{'classes C':>9} | {'logits (MiB)':>12} | {'index: ms':>9} | {'index: peak MiB':>15} | {'one-hot: ms':>11} | {'one-hot: peak MiB':>17}")
for C in (10, 1_000, 10_000, 50_000):
    rng = np.random.default_rng(0)
    z = rng.standard_normal((N, C)).astype(np.float32)
    y = rng.integers(0, C, N)
    loss_fn = CrossEntropyLoss()
    assert np.isclose(float(loss_fn(Tensor(z), Tensor(y)).data), ce_onehot(z, y), rtol=1e-5)
    t_idx, m_idx = measure(lambda: loss_fn(Tensor(z), Tensor(y)))
    t_oh, m_oh = measure(lambda: ce_onehot(z, y))
    print(f"{C:>9,d} | {z.nbytes / 2**20:>12.2f} | {t_idx * 1e3:>9.3f} | {m_idx / 2**20:>15.2f} | "
          f"{t_oh * 1e3:>11.3f} | {m_oh / 2**20:>17.2f}")
print(f"\nat C = {C:,d}: one-hot takes {t_oh / t_idx:.1f}x the time and {m_oh / m_idx:.1f}x the peak memory; "
      f"the indexing version peaks at {m_idx / z.nbytes:.1f}x the size of the logits")

# %% [markdown]
# Both versions compute the same number (the `assert` checks it). Time and memory grow linearly in
# $C$ for both, because log-softmax must touch every logit. From a thousand classes on, the one-hot
# version needs visibly more peak memory and time, for a matrix that is almost entirely zeros (the
# last two lines compare them at 50,000 classes). Note also how large the *temporaries* of the
# log-softmax are compared with the logits themselves: even the indexing version peaks at about
# twice the logits' size. A real language-model batch has thousands of rows, not 64, which is why
# large-vocabulary training computes the loss in chunks or with fused kernels.
#
# ### 8.3 How large can a clipped BCE get?
#
# Clipping bounds the loss of a single sample. The bound depends on $\epsilon$:

# %%
print(f"{'eps':>8} | {'max loss per sample':>20}")
for eps in (1e-3, 1e-5, 1e-7, 1e-12):
    worst = float(BinaryCrossEntropyLoss(eps=eps)(Tensor([0.0]), Tensor([1.0])).data)
    print(f"{eps:>8.0e} | {worst:>20.2f}")

# %% [markdown]
# A smaller $\epsilon$ punishes confident mistakes harder but allows larger gradients (the gradient
# of $-\log q$ is $-1/q$, up to $1/\epsilon$). $10^{-7}$ is a common compromise. Even better is to do
# for BCE what cross-entropy does: take the raw score (logit) instead of the probability and combine
# sigmoid and log into one stable formula; see reflection question 2.
#
# ## Summary
#
# - A loss turns predictions and targets into one number; the **reduction** (`mean`, `sum`, `none`)
#   decides how per-element losses are combined. The mean keeps the scale independent of batch size.
# - **MSE** squares the errors: right for regression, sensitive to outliers. Shape mismatches such as
#   `(N, 1)` versus `(N,)` are rejected instead of silently broadcast.
# - **BCE** is the negative log-probability of the true answer for yes/no outputs; clipping to
#   $[\epsilon, 1-\epsilon]$ bounds it at $-\log\epsilon$.
# - **log_softmax** subtracts the max and works in log space, so no probability is rounded to 0.
# - **CrossEntropyLoss** takes logits and class indices, picks $-\log p_{y_i}$ by indexing and never
#   builds a one-hot matrix.
# - Measured: in float32, `log(softmax(z))` drifts once a logit gap passes about 87 (relative error
#   above 1e-4 by 100) and becomes `inf` beyond about 103, while `log_softmax` stays exact; one-hot
#   targets cost extra memory and time that grow with the number of classes.
#
# ## Reflection questions
#
# 1. Why does training use cross-entropy rather than the classification error rate (fraction wrong),
#    even though the error rate is what we report? What is the gradient of the error rate?
# 2. Derive a stable "BCE with logits": write $-\big(t\log\sigma(z) + (1-t)\log(1-\sigma(z))\big)$ using
#    only $z$, $\max(z, 0)$ and $\log(1 + e^{-|z|})$. Why does this need no clipping at all?
# 3. With `reduction="sum"`, how does the size of the gradient change when you double the batch size?
#    What would you have to do to the learning rate to compensate?
# 4. A model outputs a uniform guess over 50,000 tokens. What is its cross-entropy? Express it in
#    bits per token (divide by $\ln 2$) and explain what that number means.
# 5. MSE punishes an error of 10 a hundred times more than an error of 1. For a dataset with a few
#    corrupted labels, what would that do to training, and what loss might you use instead?
