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
#     title: Compression
#     summary: Make a trained network smaller - prune its weights and its neurons, factor its matrices with the SVD, and distil it into a small student - and measure what each trick costs in accuracy and buys in bytes and time.
#     tier: optimization
#     minutes: 150
#     prerequisites: [01_tensor, 02_activations, 03_layers, 04_losses, 05_autograd, 06_optimizers, 14_profiling]
#     objectives:
#       - Measure sparsity and prune a network by weight magnitude, globally or layer by layer
#       - Keep pruned weights at zero while fine-tuning, by re-applying the pruning masks
#       - Remove whole neurons (structured pruning) to get a genuinely smaller dense network
#       - Factor a Linear layer into two thin matrices with the truncated SVD and predict its error
#       - Train a small student to imitate a large teacher with a temperature-softened distillation loss
#       - Measure the accuracy, size and speed trade-off of every method on real handwritten digits
#     exports: [sparsity, magnitude_prune, apply_masks, prune_neurons, LowRankLinear, low_rank_factorize, low_rank_error, factorize_model, distillation_loss, distill, predict, accuracy]
#     milestone: null
# ---

# %% [markdown]
# # Module 16: Compression
#
# A model that works on your laptop is not yet a model that ships. A phone keyboard predicts the next
# word within a few milliseconds on a battery, a hearing aid recognises speech on a chip with a few
# megabytes of memory, and a server answering millions of requests pays for every multiply-add. In all
# of these places the network you trained is too big, and someone has to make it smaller **without
# retraining from scratch and without losing (much) accuracy**.
#
# Trained networks are surprisingly redundant: many weights are close to zero, many neurons hardly
# ever matter, and weight matrices are often close to low-rank. Compression exploits that redundancy.
# There are three big families of tricks, and you will build one or two of each:
#
# | family | idea | what shrinks |
# |---|---|---|
# | **pruning** | delete the least important weights (or whole neurons) | number of non-zero weights / layer widths |
# | **low-rank factorization** | replace one big matrix by the product of two thin ones | parameters and FLOPs of a layer |
# | **knowledge distillation** | train a small *student* network to imitate the big *teacher* | the whole architecture |
#
# (A fourth family, quantization, stores each number in fewer bits; it is orthogonal to these and
# combines with all of them.)
#
# ## What you will build
#
# - `sparsity(model)`: the fraction of weights that are exactly zero,
# - `magnitude_prune(model, amount, scope)` and `apply_masks(model, masks)`: unstructured pruning,
# - `prune_neurons(model, amount)`: structured pruning that returns a smaller dense network,
# - `LowRankLinear`, `low_rank_factorize(linear, rank)` and `low_rank_error(linear, rank)`: SVD compression,
# - `distillation_loss(...)` and `distill(teacher, student, ...)`: knowledge distillation,
#
# and then a measured comparison of all of them on the 8x8 handwritten digits that ship with the course.
#
# ## Learning objectives
#
# - Measure sparsity and prune a network by weight magnitude, globally or layer by layer.
# - Keep pruned weights at zero while fine-tuning, by re-applying the pruning masks.
# - Remove whole neurons (structured pruning) to get a genuinely smaller dense network.
# - Factor a Linear layer into two thin matrices with the truncated SVD and predict its error.
# - Train a small student to imitate a large teacher with a temperature-softened distillation loss.
# - Measure the accuracy, size and speed trade-off of every method on real handwritten digits.

# %%
#| default_exp perf.compression

# %%
#| export
import copy

import numpy as np

from tinytorch.core.tensor import Tensor
from tinytorch.core.autograd import no_grad
import tinytorch.core.losses as _losses
from tinytorch.core.losses import CrossEntropyLoss
from tinytorch.core.layers import Module, Linear, Sequential, init_weight
from tinytorch.core.optimizers import Adam

# %%
#| hide
import time
from pathlib import Path

from tinytorch.core.activations import ReLU, Tanh
from tinytorch.core.autograd import check_gradients
from tinytorch.core.layers import Dropout
from tinytorch.perf.profiling import measure_latency

np.set_printoptions(precision=4, suppress=True)


def small_mlp(sizes, seed=0, act=ReLU):
    """Sequential(Linear, act, Linear, act, ..., Linear) with the given layer sizes."""
    rng = np.random.default_rng(seed)
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(Linear(a, b, rng=rng))
        if i < len(sizes) - 2:
            layers.append(act())
    return Sequential(*layers)

# %% [markdown]
# ## 1. The idea: three ways to shrink one weight matrix
#
# Take one `Linear(4, 3)` layer; its weight has shape (in, out) = (4, 3), one column per output neuron.
#
# ```
#  dense W (4 x 3)          unstructured pruning         structured pruning          low rank (r = 1)
#  12 numbers               6 smallest |w| -> 0          drop neuron 1, the column   u (4 x 1) times v (1 x 3)
#                                                        with the smallest norm
#  [ 0.9 -0.1  0.4 ]        [ 0.9  0    0.4 ]            [ 0.9  0.4 ]                [ 0.83]
#  [-0.8  0.05 0.3 ]   ->   [-0.8  0    0   ]            [-0.8  0.3 ]                [-0.65] x [ 1.13 -0.12  0.17 ]
#  [ 0.02 0.7 -0.6 ]        [ 0    0.7 -0.6 ]            [ 0.02 -0.6]                [-0.13]
#  [ 0.5  0.1  0.03]        [ 0.5  0    0   ]            [ 0.5  0.03]                [ 0.42]
#                           still a 4 x 3 matmul         a 4 x 2 matmul: smaller     4 + 3 = 7 numbers
#                           (zeros are multiplied too)   AND faster                  two thin matmuls
# ```
#
# - **Unstructured pruning** zeroes individual weights. It can remove a very large fraction of them, but
#   the matrix keeps its shape: a dense matrix multiply does exactly the same work on zeros as on any
#   other number. It only pays off with sparse storage formats or hardware that skips zeros.
# - **Structured pruning** removes whole neurons. The next layer then also loses the matching input, and
#   what is left is a smaller *dense* network that is faster on any hardware.
# - **Low-rank factorization** writes `W ~ U @ V` with a small inner dimension `r`, storing
#   `r * (in + out)` numbers instead of `in * out`. (The factors shown are the best rank-1 pair, from
#   the SVD of section 5; one rank is too few for this matrix, but it keeps its dominant first column.)
#
# Knowledge distillation (section 6) works at a different level: instead of editing the trained network,
# it trains a new, small one, using the big one as a teacher.
#
# The diagram's numbers, recomputed with plain NumPy (you will build each step properly below):

# %%
W_demo = np.array([[0.9, -0.1, 0.4], [-0.8, 0.05, 0.3], [0.02, 0.7, -0.6], [0.5, 0.1, 0.03]])
smallest6 = np.argsort(np.abs(W_demo).ravel())[:6]
print("pruned values      :", np.sort(np.abs(W_demo).ravel()[smallest6]))
print("column norms       :", np.linalg.norm(W_demo, axis=0).round(3), "-> drop neuron", np.argmin(np.linalg.norm(W_demo, axis=0)))
P_demo, s_demo, Qt_demo = np.linalg.svd(W_demo)
u_demo, v_demo = P_demo[:, 0] * np.sqrt(s_demo[0]), Qt_demo[0] * np.sqrt(s_demo[0])
sign = np.sign(u_demo[0])                         # an SVD factor pair is only defined up to a shared sign
print("rank-1 factors     :", (sign * u_demo).round(2), (sign * v_demo).round(2))
print("rank-1 product     :\n", np.outer(u_demo, v_demo).round(2))

# %% [markdown]
# ## 2. Measuring sparsity
#
# The **sparsity** of a set of weights is the fraction that is exactly zero. We measure it over the
# weight matrices of the `Linear` layers: they hold almost all parameters, and they are what pruning
# targets (biases are a tiny fraction and are left alone). The helper `linear_weights(model)` finds them,
# with their parameter names, through the `modules()` and `named_parameters()` you wrote in module 03.

# %%
#| export
def linear_weights(model) -> list:
    """[(parameter name, weight Tensor)] of every Linear layer inside `model`, in model order, each once.

    EXAMPLE: linear_weights(Sequential(Linear(4, 8), ReLU(), Linear(8, 3)))
             -> [("layers.0.weight", <Tensor (4, 8)>), ("layers.2.weight", <Tensor (8, 3)>)]
    """
    names = {id(p): n for n, p in model.named_parameters()}
    found, seen = [], set()
    for m in model.modules():
        if isinstance(m, Linear) and id(m.weight) in names and id(m.weight) not in seen:
            seen.add(id(m.weight))
            found.append((names[id(m.weight)], m.weight))
    return found

# %% nbgrader={"grade": false, "grade_id": "sparsity", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def sparsity(model_or_tensor) -> float:
    """Fraction of exactly-zero values: of a Tensor / array, or over all Linear weights of a model.

    EXAMPLE: sparsity(Tensor([[0.0, 1.5], [0.0, -2.0]])) -> 0.5
             for a model with a (4, 8) weight holding 8 zeros and an (8, 3) weight holding 4 zeros:
             (8 + 4) / (32 + 24) = 0.214
    HINT: count over ALL arrays together (np.count_nonzero(a == 0)), then divide by the total size.
    """
    if isinstance(model_or_tensor, Module):
        arrays = [w.data for _, w in linear_weights(model_or_tensor)]
        if not arrays:
            raise ValueError(f"{type(model_or_tensor).__name__} has no Linear layers to measure sparsity over")
    else:
        x = model_or_tensor
        arrays = [x.data if isinstance(x, Tensor) else np.asarray(x)]
    ### BEGIN SOLUTION
    zeros = sum(int(np.count_nonzero(a == 0)) for a in arrays)
    total = sum(int(a.size) for a in arrays)
    ### END SOLUTION
    return zeros / total if total else 0.0

# %% [markdown]
# The test measures a Tensor, a NumPy array and a two-layer model whose weights it fills with a known
# number of zeros, and checks that biases are not counted.

# %% nbgrader={"grade": true, "grade_id": "test-sparsity", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
def test_sparsity():
    """sparsity counts exact zeros, pooled over every Linear weight of a model, ignoring biases."""
    assert sparsity(Tensor([[0.0, 1.5], [0.0, -2.0]])) == 0.5, "two of the four values are zero"
    assert sparsity(np.array([1e-9, 2.0, 3.0])) == 0.0, "only EXACT zeros count, 1e-9 is not zero"
    model = small_mlp([4, 8, 3], seed=0)
    assert sparsity(model) == 0.0, "a freshly initialised model has no zero weights"
    model[0].weight.data[:, :2] = 0.0            # 8 zeros in the (4, 8) weight
    model[2].weight.data[:4, 0] = 0.0            # 4 zeros in the (8, 3) weight
    model[0].bias.data[:] = 0.0                  # biases are zero anyway: never counted
    got = sparsity(model)
    assert abs(got - 12 / 56) < 1e-12, f"pool the zeros of both weights: (8 + 4) / (32 + 24) = 0.2143, got {got:.4f}"
    assert isinstance(got, float), f"sparsity returns a Python float, got {type(got).__name__}"
    print("sparsity: OK")
test_sparsity()
### BEGIN HIDDEN TESTS
assert sparsity(Tensor(np.zeros((3, 3)))) == 1.0, "all zeros -> 1.0"
assert abs(sparsity(Linear(5, 5, rng=0)) - 0.0) < 1e-12, "a Linear on its own is a model too"
_m = Sequential(Linear(2, 2, rng=0), Sequential(Linear(2, 2, rng=1)))
_m[1][0].weight.data[:] = 0.0
assert sparsity(_m) == 0.5, "nested Linear layers count too"
### END HIDDEN TESTS

# %% [markdown]
# ## 3. Magnitude pruning
#
# Which weights can we delete? The simplest answer, and a surprisingly strong one: **the smallest ones**.
# A weight of 0.001 contributes almost nothing to the output, so setting it to zero barely changes the
# network. To prune a fraction `amount` of `n` weights, sort them by absolute value and zero the
# `k = round(amount * n)` smallest. Worked example, six weights, `amount = 0.5`, so `k = 3`:
#
# ```
#   w       [ 0.9  -0.05   0.3  -0.6   0.01   0.2 ]
#   |w|     [ 0.9   0.05   0.3   0.6   0.01   0.2 ]      three smallest: 0.01, 0.05, 0.2
#   mask    [ T     F      T     T     F      F   ]      True = keep
#   pruned  [ 0.9   0      0.3  -0.6   0      0   ]      sparsity 3 / 6 = 0.5
# ```
#
# With several layers there are two ways to pick the `k` weights:
#
# ```
#   scope="layer":  every layer loses the same fraction       scope="global": one ranking over all layers
#     layer 1  (64 x 128)  [#####.....]  50%                     layer 1  [#######...]  30%  (important weights)
#     layer 2 (128 x 128)  [#####.....]  50%                     layer 2  [####......]  60%  (redundant)
#     layer 3 (128 x 10)   [#####.....]  50%                     layer 3  [#########.]  10%  (small and crucial)
#                           # = kept, . = pruned, % = fraction pruned
# ```
#
# Global pruning lets the network decide where the redundancy is; it often keeps more accuracy at high
# sparsity, but it can strip a small layer nearly bare. Section 7 measures both.
#
# Ties: several weights can share the same magnitude (especially zeros after an earlier pruning round).
# To remove **exactly** `k` weights, rank them with a stable `np.argsort` and cut at position `k`, instead
# of comparing against a threshold value. The helper below does the ranking over one or many arrays at
# once; it is the whole algorithm, and both scopes use it.

# %% nbgrader={"grade": false, "grade_id": "magnitude-masks", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def magnitude_masks(arrays, amount: float) -> list:
    """Boolean keep-masks (True = keep) for `arrays`, pruning the round(amount * n) smallest |values|
    over ALL arrays together (n = their total size), ties broken by position.

    EXAMPLE: magnitude_masks([np.array([0.9, -0.05, 0.3, -0.6, 0.01, 0.2])], 0.5)
             -> [array([ True, False,  True,  True, False, False])]
    HINTS:
    - flat holds every |value| of every array, in order; k = int(round(amount * flat.size))
    - np.argsort(flat, kind="stable")[:k] are the positions of the k smallest: set keep there to False
    """
    if not 0.0 <= amount <= 1.0:
        raise ValueError(f"amount is the fraction of weights to prune and must be in [0, 1], got {amount}")
    flat = np.concatenate([np.abs(np.asarray(a, dtype=np.float64)).ravel() for a in arrays])
    keep = np.ones(flat.size, dtype=bool)
    ### BEGIN SOLUTION
    k = int(round(amount * flat.size))
    keep[np.argsort(flat, kind="stable")[:k]] = False
    ### END SOLUTION
    masks, start = [], 0
    for a in arrays:                                  # cut the flat mask back into one mask per array
        size = np.asarray(a).size
        masks.append(keep[start:start + size].reshape(np.shape(a)))
        start += size
    return masks

# %% [markdown]
# The test checks the worked example, that exactly `k` values are pruned even when many are tied, and
# that a joint ranking over two arrays prunes each one by its own share.

# %% nbgrader={"grade": true, "grade_id": "test-magnitude-masks", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
def test_magnitude_masks():
    """The k smallest |values| (jointly over all arrays) get False; exactly k, ties included."""
    (m,) = magnitude_masks([np.array([0.9, -0.05, 0.3, -0.6, 0.01, 0.2])], 0.5)
    assert m.dtype == bool, f"masks must be boolean arrays, got {m.dtype}"
    assert m.tolist() == [True, False, True, True, False, False], f"the worked example prunes 0.01, -0.05, 0.2; got {m}"
    (t,) = magnitude_masks([np.array([[0.0, 0.0, 0.0], [0.0, 1.0, 2.0]])], 0.5)
    assert t.shape == (2, 3), "each mask has the shape of its array"
    assert int((~t).sum()) == 3 and t[1, 1] and t[1, 2], f"prune exactly 3 of 6 even though 4 values tie at 0: {t}"
    small, big = np.array([1.0, 2.0]), np.array([[0.1, 5.0], [0.2, 0.3]])
    ms, mb = magnitude_masks([small, big], 0.5)
    assert ms.tolist() == [True, True] and mb.tolist() == [[False, True], [False, False]], \
        f"the ranking is global: the 3 smallest of all 6 values are all in the second array, got {ms}, {mb}"
    assert magnitude_masks([small], 0.0)[0].all() and not magnitude_masks([small], 1.0)[0].any(), \
        "amount 0 keeps everything, amount 1 prunes everything"
    print("magnitude_masks: OK")
test_magnitude_masks()
### BEGIN HIDDEN TESTS
_r = np.random.default_rng(0).standard_normal(1000)
(_mk,) = magnitude_masks([_r], 0.3)
assert int((~_mk).sum()) == 300 and np.abs(_r[~_mk]).max() <= np.abs(_r[_mk]).min(), "every pruned |w| <= every kept |w|"
assert int((~magnitude_masks([np.ones(7)], 0.5)[0]).sum()) == 4, "round(3.5) = 4 in Python's rounding"
### END HIDDEN TESTS

# %% [markdown]
# ### Pruning a model, and keeping it pruned
#
# `magnitude_prune` applies the ranking to the Linear weights of a model, **in place**, and returns the
# masks by parameter name. Why return them? Pruning alone usually costs some accuracy, and the standard
# remedy is to **fine-tune**: train a little more so the surviving weights compensate. But an optimizer
# step moves every weight with a gradient, including the pruned ones, and Adam's momentum would even move
# them with a zero gradient. So after every step we zero them again with `apply_masks`:
#
# ```
#   prune ──► masks ──► [ forward ─► backward ─► optimizer.step() ─► apply_masks(model, masks) ] x steps
#                                                 (pruned weights drift)   (and are zeroed again)
# ```
#
# `apply_masks` comes first, since `magnitude_prune` uses it to do the zeroing.

# %% nbgrader={"grade": false, "grade_id": "apply-masks", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def apply_masks(model, masks: dict):
    """Zero, in place, every entry of model parameter `name` where masks[name] is False. Returns model.

    EXAMPLE: apply_masks(model, {"layers.0.weight": mask}) sets model[0].weight.data[~mask] = 0
    """
    params = dict(model.named_parameters())
    for name, mask in masks.items():
        if name not in params:
            raise KeyError(f"the model has no parameter named {name!r}; its parameters are {list(params)}")
        param, mask = params[name], np.asarray(mask, dtype=bool)
        if mask.shape != param.shape:
            raise ValueError(f"mask for {name!r} has shape {mask.shape} but the parameter has shape {param.shape}")
        ### BEGIN SOLUTION
        param.data[~mask] = 0
        ### END SOLUTION
    return model

# %% nbgrader={"grade": false, "grade_id": "magnitude-prune", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def magnitude_prune(model, amount: float, scope: str = "global") -> dict:
    """Zero the fraction `amount` of smallest-magnitude Linear weights of `model`, in place.

    scope="global": one ranking over all Linear weights together.
    scope="layer":  every Linear weight loses the fraction `amount` of its own entries.
    Returns {parameter name: boolean keep-mask}, ready for apply_masks after an optimizer step.
    EXAMPLE: masks = magnitude_prune(model, 0.9); sparsity(model) -> 0.9
    HINT: `named` is [(name, weight Tensor)]; build the list `masks` (one mask per entry of `named`)
          with magnitude_masks: one call on all weights for "global", one call per weight for "layer".
    """
    if scope not in ("global", "layer"):
        raise ValueError(f"scope must be 'global' or 'layer', got {scope!r}")
    named = linear_weights(model)
    if not named:
        raise ValueError(f"{type(model).__name__} has no Linear layers to prune")
    ### BEGIN SOLUTION
    if scope == "global":
        masks = magnitude_masks([w.data for _, w in named], amount)
    else:
        masks = [magnitude_masks([w.data], amount)[0] for _, w in named]
    ### END SOLUTION
    masks = {name: mask for (name, _), mask in zip(named, masks)}
    apply_masks(model, masks)
    return masks

# %% [markdown]
# The test prunes a three-layer model both ways: the global sparsity must hit `amount` exactly, the
# layer scope must give every layer the same sparsity, the pruned weights must be the smallest ones, and
# `apply_masks` must undo an optimizer step's damage to the pruned entries only.

# %% nbgrader={"grade": true, "grade_id": "test-magnitude-prune", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
def test_magnitude_prune():
    """In-place magnitude pruning, global and per layer, with masks that apply_masks re-applies."""
    model = small_mlp([6, 10, 10, 4], seed=1)
    model[2].weight.data *= 0.1                          # make the middle layer clearly less important
    before = {n: w.data.copy() for n, w in linear_weights(model)}
    masks = magnitude_prune(model, 0.6, scope="global")
    assert sorted(masks) == ["layers.0.weight", "layers.2.weight", "layers.4.weight"], \
        f"one mask per Linear weight, keyed by parameter name; got {sorted(masks)}"
    total = sum(w.size for w in before.values())
    assert abs(sparsity(model) - round(0.6 * total) / total) < 1e-12, f"global sparsity should be 0.6, got {sparsity(model):.4f}"
    per_layer = {n: sparsity(w) for n, w in linear_weights(model)}
    assert per_layer["layers.2.weight"] > 0.9, f"global ranking should strip the down-scaled middle layer, got {per_layer}"
    kept = np.concatenate([np.abs(before[n][masks[n]]) for n in masks])
    gone = np.concatenate([np.abs(before[n][~masks[n]]) for n in masks])
    assert gone.max() <= kept.min(), "every pruned weight must be smaller in magnitude than every kept weight"
    for n, w in linear_weights(model):
        assert np.array_equal(w.data[masks[n]], before[n][masks[n]]), f"kept weights of {n} must be unchanged"
    layer_model = small_mlp([6, 10, 10, 4], seed=1)
    magnitude_prune(layer_model, 0.5, scope="layer")
    for n, w in linear_weights(layer_model):
        assert abs(sparsity(w) - 0.5) < 1e-12, f"scope='layer' gives every weight sparsity 0.5, {n} has {sparsity(w):.3f}"
    # an optimizer step moves pruned weights; apply_masks zeroes exactly those again
    w = model[0].weight
    w.data += 0.01
    out = apply_masks(model, masks)
    assert out is model, "apply_masks returns the model"
    assert np.all(w.data[~masks["layers.0.weight"]] == 0), "apply_masks must zero every pruned entry again"
    assert np.allclose(w.data[masks["layers.0.weight"]], before["layers.0.weight"][masks["layers.0.weight"]] + 0.01), \
        "apply_masks must leave the kept entries alone"
    print("magnitude_prune / apply_masks: OK")
test_magnitude_prune()
### BEGIN HIDDEN TESTS
_m = small_mlp([5, 7, 3], seed=2)
_b = _m[0].bias.data.copy()
magnitude_prune(_m, 0.3)
magnitude_prune(_m, 0.8)                                  # pruning again ranks the earlier zeros first
assert abs(sparsity(_m) - round(0.8 * 56) / 56) < 1e-12, "re-pruning to a higher amount reaches exactly that amount"
assert np.array_equal(_m[0].bias.data, _b), "biases must not change"
try:
    magnitude_prune(_m, 0.5, scope="row")
    raise AssertionError("an unknown scope must raise ValueError")
except ValueError:
    pass
try:
    apply_masks(_m, {"nope": np.ones(3, bool)})
    raise AssertionError("an unknown mask name must raise KeyError")
except KeyError:
    pass
### END HIDDEN TESTS

# %% [markdown]
# ## 4. Structured pruning: removing whole neurons
#
# Hidden neuron `j` of a layer `Linear(in, h)` owns three things: column `j` of its weight, entry `j` of
# its bias, and, in the next `Linear(h, out)`, row `j` of that weight (the connections it feeds). Remove
# all three and the network computes the same function as before *with that neuron's output forced to
# zero*, with matrices that are genuinely smaller:
#
# ```
#    Linear(4, 3)                 ReLU        Linear(3, 2)                       after removing neuron 1
#    W1 (4 x 3)     b1 (3,)                   W2 (3 x 2)
#    [a0 a1 a2]                               [c0 c0']  <- row 0                W1' (4 x 2)  [a0 a2]
#    [. | .| .]     [b0 b1 b2]                [c1 c1']  <- row 1 (fed by 1)     b1' (2,)     [b0 b2]
#    [. | .| .]         ^^                    [c2 c2']  <- row 2                W2' (2 x 2)  [c0 c0']
#    [. | .| .]                                                                              [c2 c2']
#        ^^ column 1 = neuron 1's incoming weights
# ```
#
# Which neurons go? We score each neuron by the **L2 norm of its incoming weights** (its column of the
# weight, `||W[:, j]||`): a neuron whose incoming weights are all small reacts weakly to any input.
# Layers in between that have no parameters (ReLU, Tanh, Dropout) act element-wise, one neuron at a
# time, so they do not care how many neurons there are. The output layer is never pruned: its outputs
# are the classes.
#
# The helper `_sliced_linear` copies the selected rows and columns of a layer into a new, smaller
# `Linear`; your part is the choice of neurons.

# %%
#| export
def _sliced_linear(linear: Linear, rows, cols) -> Linear:
    """A new Linear holding copies of linear.weight[rows][:, cols] and linear.bias[cols]."""
    rows, cols = np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)
    new = Linear(len(rows), len(cols), bias=linear.bias is not None, rng=0)
    new.weight.data = np.array(linear.weight.data[rows][:, cols])
    if linear.bias is not None:
        new.bias.data = np.array(linear.bias.data[cols])
    new.training = linear.training
    return new


def _has_parameters(layer) -> bool:
    return isinstance(layer, Module) and len(layer.parameters()) > 0

# %% nbgrader={"grade": false, "grade_id": "prune-neurons", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def prune_neurons(model: Sequential, amount: float) -> Sequential:
    """A NEW, smaller Sequential without the fraction `amount` of weakest neurons of each hidden Linear.

    A Linear is pruned when the next layer with parameters is another Linear (only parameter-free layers
    such as activations in between). Its round(amount * out_features) output neurons with the smallest
    L2 norm of incoming weights (columns of the weight) are removed, together with the matching input
    rows of the next Linear. At least one neuron is kept. The last Linear keeps all its outputs.
    The original model is not modified.
    EXAMPLE: prune_neurons(Sequential(Linear(64, 100), ReLU(), Linear(100, 10)), 0.25)
             -> Sequential(Linear(64, 75), ReLU(), Linear(75, 10))
    HINTS (inside the loop, when the layer is prunable):
    - norms of the incoming weights that survive: np.linalg.norm(layer.weight.data[rows], axis=0)
    - n_keep = max(1, out_features - round(amount * out_features))
    - cols = the indices of the n_keep largest norms, sorted so neurons keep their order
      (np.argsort(-norms, kind="stable")[:n_keep], then np.sort)
    """
    if not isinstance(model, Sequential):
        raise TypeError(f"prune_neurons needs a Sequential, got {type(model).__name__}")
    if not 0.0 <= amount < 1.0:
        raise ValueError(f"amount is the fraction of neurons to remove and must be in [0, 1), got {amount}")
    layers = list(model.layers)
    linear_at = [i for i, layer in enumerate(layers) if isinstance(layer, Linear)]
    new_layers = [layer if isinstance(layer, Linear) else copy.deepcopy(layer) for layer in layers]
    keep_in = None                           # input rows the current Linear keeps (None: all of them)
    for pos, i in enumerate(linear_at):
        layer = layers[i]
        rows = np.arange(layer.in_features) if keep_in is None else keep_in
        cols = np.arange(layer.out_features)
        nxt = linear_at[pos + 1] if pos + 1 < len(linear_at) else None
        prunable = nxt is not None and not any(_has_parameters(l) for l in layers[i + 1:nxt])
        if prunable:
            ### BEGIN SOLUTION
            norms = np.linalg.norm(layer.weight.data[rows].astype(np.float64), axis=0)
            n_keep = max(1, layer.out_features - int(round(amount * layer.out_features)))
            cols = np.sort(np.argsort(-norms, kind="stable")[:n_keep])
            ### END SOLUTION
        new_layers[i] = _sliced_linear(layer, rows, cols)
        keep_in = cols if prunable else None
    pruned = Sequential(*new_layers)
    pruned.training = model.training
    return pruned

# %% [markdown]
# The test builds a network whose weakest neurons it knows (it scales some columns down), prunes it,
# and checks the new layer sizes, that the right neurons survived with their weights copied, that the
# function computed equals the original with those neurons silenced, and that the original is untouched.

# %% nbgrader={"grade": true, "grade_id": "test-prune-neurons", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
def test_prune_neurons():
    """Weakest neurons are removed from both sides; the result is a smaller, equivalent dense network."""
    model = small_mlp([5, 8, 6, 3], seed=3)
    weak1, weak2 = [1, 4, 6], [0, 5]
    model[0].weight.data[:, weak1] *= 0.01                   # these neurons of layer 0 are the weakest
    model[2].weight.data[:, weak2] *= 0.01                   # and these of layer 2
    before = [w.data.copy() for _, w in linear_weights(model)]
    small = prune_neurons(model, 0.35)                       # round(0.35 * 8) = 3, round(0.35 * 6) = 2
    assert isinstance(small, Sequential) and small is not model, "prune_neurons returns a NEW Sequential"
    sizes = [(l.in_features, l.out_features) for l in small.layers if isinstance(l, Linear)]
    assert sizes == [(5, 5), (5, 4), (4, 3)], f"expected Linear sizes [(5, 5), (5, 4), (4, 3)], got {sizes}"
    assert small.num_parameters() < model.num_parameters(), "the pruned network must have fewer parameters"
    keep1, keep2 = [0, 2, 3, 5, 7], [1, 2, 3, 4]
    assert np.allclose(small[0].weight.data, model[0].weight.data[:, keep1]), "layer 0 must keep neurons 0, 2, 3, 5, 7 in order"
    assert np.allclose(small[2].weight.data, model[2].weight.data[keep1][:, keep2]), \
        "layer 2 loses the input rows of the removed neurons and its own weakest columns 0 and 5"
    assert np.allclose(small[4].weight.data, model[4].weight.data[keep2]), "the last layer loses only input rows"
    assert np.allclose(small[4].bias.data, model[4].bias.data), "the last layer keeps every output"
    # equivalent to the original network with the removed neurons silenced
    x = Tensor(np.random.default_rng(0).standard_normal((7, 5)).astype(np.float32))
    silenced = small_mlp([5, 8, 6, 3], seed=3)
    for (_, w), b in zip(linear_weights(silenced), before):
        w.data[...] = b
    for layer, gone in ((silenced[0], weak1), (silenced[2], weak2)):
        layer.weight.data[:, gone] = 0.0
        layer.bias.data[gone] = 0.0
    assert np.allclose(small(x).data, silenced(x).data, atol=1e-5), \
        "the pruned network must compute what the original computes with the removed neurons set to 0"
    assert all(np.array_equal(b, w.data) for b, (_, w) in zip(before, linear_weights(model))), \
        "the original model must not be modified"
    print(small)
    print("prune_neurons: OK")
test_prune_neurons()
### BEGIN HIDDEN TESTS
_m = small_mlp([4, 3, 2], seed=0)
_s = prune_neurons(_m, 0.9)
assert _s[0].out_features == 1 and _s[2].in_features == 1, "at least one neuron survives"
_s[0].weight.data[...] = 0.0
assert _m[0].weight.data.any(), "the new layers must hold copies, not views of the original weights"
_t = Sequential(Linear(4, 6, rng=0), Tanh(), Dropout(0.5), Linear(6, 2, rng=1))
_p = prune_neurons(_t, 0.5)
assert [type(l).__name__ for l in _p.layers] == ["Linear", "Tanh", "Dropout", "Linear"], "other layers are kept"
assert _p[0].out_features == 3 and _p[3].in_features == 3, "parameter-free layers in between do not block pruning"
assert prune_neurons(Sequential(Linear(3, 4, rng=0)), 0.5)[0].out_features == 4, "a lone output layer is never pruned"
### END HIDDEN TESTS

# %% [markdown]
# ## 5. Low-rank factorization with the SVD
#
# Every matrix `W` (in x out) can be written as a sum of rank-one pieces, sorted by importance. This is the
# **singular value decomposition** (SVD): `W = P diag(s) Q^T` with orthonormal columns in `P` (in x k) and
# `Q` (out x k), `k = min(in, out)`, and singular values `s_1 >= s_2 >= ... >= 0`:
#
# ```
#   W  =  s_1 p_1 q_1^T  +  s_2 p_2 q_2^T  +  ...  +  s_k p_k q_k^T
#         \___________________________/
#          keep the first r terms: W_r, the best rank-r approximation (Eckart-Young theorem)
# ```
#
# Keeping `r` terms stores `r * (in + out)` numbers instead of `in * out`. We split each singular value
# evenly between the two factors, `U = P_r diag(sqrt(s_r))` (in x r) and `V = diag(sqrt(s_r)) Q_r^T`
# (r x out), so `U @ V = W_r` and both factors have a similar scale (which helps if you fine-tune them).
# The layer becomes two thin matrix products, `x @ U @ V + b`:
#
# ```
#     x (N, in) ──[ W (in x out) ]──► (N, out)          in * out        parameters and multiply-adds per row
#     x (N, in) ──[ U (in x r) ]──► (N, r) ──[ V (r x out) ]──► (N, out)
#                                                         r * (in + out)
# ```
#
# It saves memory and time only when `r < in * out / (in + out)`; for a square 512 x 512 layer that is
# `r < 256` (the code cell below the test prints a few such break-even ranks).
#
# **How much do we lose?** The Eckart-Young theorem also gives the error for free: the relative
# Frobenius error of the best rank-`r` approximation is `sqrt(s_{r+1}^2 + ... + s_k^2) / sqrt(s_1^2 + ... + s_k^2)`.
# Worked example: `W = [[3, 1], [1, 3]]` has singular values 4 and 2. Rank 1 keeps
# `4 * p_1 q_1^T = [[2, 2], [2, 2]]`; the error `W - W_1 = [[1, -1], [-1, 1]]` has Frobenius norm 2, and
# `||W|| = sqrt(20)`, so the relative error is `2 / sqrt(20) = sqrt(4 / 20) = 0.447`.

# %% nbgrader={"grade": false, "grade_id": "low-rank-linear", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class LowRankLinear(Module):
    """A Linear layer with a factored weight: y = (x @ U) @ V + bias, U (in, rank), V (rank, out)."""

    def __init__(self, in_features: int, out_features: int, rank: int, bias: bool = True, rng=None):
        super().__init__()
        if not 1 <= rank <= min(in_features, out_features):
            raise ValueError(f"rank must be in 1..{min(in_features, out_features)} for a "
                             f"({in_features} x {out_features}) layer, got {rank}")
        self.in_features, self.out_features, self.rank = in_features, out_features, rank
        gen = np.random.default_rng(rng) if not isinstance(rng, np.random.Generator) else rng
        self.U = Tensor(init_weight(in_features, rank, "he", gen), requires_grad=True)
        self.V = Tensor(init_weight(rank, out_features, "xavier", gen), requires_grad=True)
        self.bias = Tensor(np.zeros(out_features, dtype=np.float32), requires_grad=True) if bias else None

    def forward(self, x: Tensor) -> Tensor:
        """x (..., in_features) -> (..., out_features), as two thin products.

        EXAMPLE: U [[1], [2]], V [[3, 4]], bias [0, 1], x [[1, 1]] -> (1*1 + 1*2) * [3, 4] + [0, 1] = [[9, 13]]
        HINT: compute x @ U first (never form U @ V: that would undo the saving).
        """
        if not isinstance(x, Tensor):
            x = Tensor(x)
        if x.shape[-1] != self.in_features:
            raise ValueError(f"{self!r} expects inputs with last dimension {self.in_features}, got shape {x.shape}")
        ### BEGIN SOLUTION
        out = (x @ self.U) @ self.V
        if self.bias is not None:
            out = out + self.bias
        return out
        ### END SOLUTION

    def weight_matrix(self) -> np.ndarray:
        """The (in, out) matrix U @ V this layer represents (for inspection; forward never builds it)."""
        return self.U.data @ self.V.data

    def __repr__(self) -> str:
        return (f"LowRankLinear(in_features={self.in_features}, out_features={self.out_features}, "
                f"rank={self.rank}, bias={self.bias is not None})")

# %% nbgrader={"grade": false, "grade_id": "low-rank-factorize", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def _weight_array(layer_or_matrix) -> np.ndarray:
    w = layer_or_matrix
    w = w.weight if isinstance(w, Linear) else w
    return np.asarray(w.data if isinstance(w, Tensor) else w, dtype=np.float64)


def low_rank_factorize(linear: Linear, rank: int) -> LowRankLinear:
    """A LowRankLinear whose U @ V is the best rank-`rank` approximation of linear.weight (truncated SVD).

    EXAMPLE: low_rank_factorize(layer_with_weight([[3, 1], [1, 3]]), 1).weight_matrix() -> [[2, 2], [2, 2]]
    HINTS:
    - P, s, Qt = np.linalg.svd(W, full_matrices=False)        P (in, k), s (k,), Qt (k, out)
    - root = np.sqrt(s[:rank]);  U = P[:, :rank] * root;  V = root[:, None] * Qt[:rank]
    """
    W = _weight_array(linear)
    out = LowRankLinear(linear.in_features, linear.out_features, rank, bias=linear.bias is not None, rng=0)
    ### BEGIN SOLUTION
    P, s, Qt = np.linalg.svd(W, full_matrices=False)
    root = np.sqrt(s[:rank])
    U = P[:, :rank] * root
    V = root[:, None] * Qt[:rank]
    ### END SOLUTION
    dtype = linear.weight.data.dtype
    out.U.data, out.V.data = U.astype(dtype), V.astype(dtype)
    if linear.bias is not None:
        out.bias.data = np.array(linear.bias.data)
    out.training = linear.training
    return out


def low_rank_error(linear, rank: int) -> float:
    """Relative Frobenius error ||W - W_r|| / ||W|| of the best rank-`rank` approximation of the weight.

    `linear` may be a Linear, a Tensor or an array. EXAMPLE: W = [[3, 1], [1, 3]], rank 1 -> 0.4472
    HINT: by Eckart-Young it only needs the singular values s: sqrt(sum(s[rank:]**2) / sum(s**2)).
    """
    s = np.linalg.svd(_weight_array(linear), compute_uv=False)
    if rank < 0:
        raise ValueError(f"rank must be >= 0, got {rank}")
    total = float(np.sum(s ** 2))
    if total == 0.0:
        return 0.0
    ### BEGIN SOLUTION
    return float(np.sqrt(np.sum(s[rank:] ** 2) / total))
    ### END SOLUTION

# %% [markdown]
# The test checks the worked example, that the factors have the right shapes and reproduce the layer's
# output exactly at full rank, that `low_rank_error` agrees with the error actually measured on the
# factored layer, that the error shrinks as the rank grows, and that the factored layer's gradients
# flow through autograd.

# %% nbgrader={"grade": true, "grade_id": "test-low-rank", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
def test_low_rank():
    """Truncated SVD: shapes, exactness at full rank, the Eckart-Young error, forward and gradients."""
    tiny = Linear(2, 2, rng=0)
    tiny.weight.data[...] = [[3.0, 1.0], [1.0, 3.0]]
    r1 = low_rank_factorize(tiny, 1)
    assert isinstance(r1, LowRankLinear) and r1.U.shape == (2, 1) and r1.V.shape == (1, 2), \
        f"rank 1 of a 2x2 layer: U (2, 1), V (1, 2); got {r1.U.shape}, {r1.V.shape}"
    assert np.allclose(r1.weight_matrix(), [[2, 2], [2, 2]], atol=1e-5), f"worked example: U @ V = [[2, 2], [2, 2]], got {r1.weight_matrix()}"
    assert abs(low_rank_error(tiny, 1) - np.sqrt(0.2)) < 1e-6, f"worked example error is 0.4472, got {low_rank_error(tiny, 1):.4f}"
    layer = Linear(12, 7, rng=1)
    layer.bias.data[...] = np.arange(7) / 10
    x = Tensor(np.random.default_rng(2).standard_normal((5, 12)).astype(np.float32))
    full = low_rank_factorize(layer, 7)
    assert np.allclose(full(x).data, layer(x).data, atol=1e-4), "at full rank the factored layer must equal the original"
    assert low_rank_error(layer, 7) < 1e-6, "at full rank the error is 0"
    errors = [low_rank_error(layer, r) for r in range(1, 8)]
    assert all(a > b for a, b in zip(errors, errors[1:])), f"the error must shrink as the rank grows, got {np.round(errors, 3)}"
    r3 = low_rank_factorize(layer, 3)
    measured = np.linalg.norm(layer.weight.data - r3.weight_matrix()) / np.linalg.norm(layer.weight.data)
    assert abs(measured - low_rank_error(layer, 3)) < 1e-5, f"low_rank_error {low_rank_error(layer, 3):.5f} must match the measured {measured:.5f}"
    assert r3.num_parameters() == 3 * (12 + 7) + 7, f"rank 3: 3 * (12 + 7) + 7 = 64 parameters, got {r3.num_parameters()}"
    assert np.allclose(r3.bias.data, layer.bias.data), "the bias is copied unchanged"
    y = r3(x)
    assert y.shape == (5, 7) and np.allclose(y.data, x.data @ r3.weight_matrix() + layer.bias.data, atol=1e-4), \
        "forward must compute (x @ U) @ V + bias"
    check_gradients(lambda u, v, inp: r3(inp), r3.U, r3.V, x)
    print("low_rank_factorize / low_rank_error / LowRankLinear: OK")
test_low_rank()
### BEGIN HIDDEN TESTS
_l = Linear(6, 9, bias=False, rng=4)
_f = low_rank_factorize(_l, 2)
assert _f.bias is None and len(_f.parameters()) == 2, "bias=False carries over"
assert _f.U.data.dtype == np.float32, "factors keep the layer's dtype"
_s = np.linalg.svd(_l.weight.data.astype(np.float64), compute_uv=False)
assert np.allclose(np.linalg.norm(_f.U.data, axis=0), np.sqrt(_s[:2]), atol=1e-4), "U's columns carry sqrt(s)"
assert abs(low_rank_error(np.zeros((3, 3)), 1)) == 0.0, "a zero matrix has zero error"
try:
    low_rank_factorize(_l, 7)
    raise AssertionError("rank above min(in, out) must raise ValueError")
except ValueError:
    pass
### END HIDDEN TESTS

# %% [markdown]
# The break-even rank and the savings at a few ranks, for some layer shapes:

# %%
print(f"{'layer (in x out)':>17s} {'dense params':>13s} {'break-even r':>13s} {'r':>4s} {'low-rank params':>16s} {'saving':>7s}")
for n_in, n_out, r in ((64, 128, 16), (512, 512, 32), (768, 3072, 64), (4096, 4096, 256)):
    dense, factored = n_in * n_out, r * (n_in + n_out)
    print(f"{n_in:>8d} x {n_out:<6d} {dense:13,d} {n_in * n_out / (n_in + n_out):13.1f} {r:4d} "
          f"{factored:16,d} {dense / factored:6.1f}x")

# %% [markdown]
# To compress a whole network we replace each `Linear` by its factorization, but only where that actually
# saves parameters (a thin 64 x 10 output layer only saves below rank 640 / 74 = 8.6, so it rarely
# benefits). `factorize_model` does that, given a rank per layer or one rank for all.

# %%
#| export
def factorize_model(model: Sequential, rank) -> Sequential:
    """A new Sequential where each Linear is replaced by low_rank_factorize(layer, r) when that saves
    parameters. `rank` is one int for every layer or a list with one int (or None: keep dense) per Linear."""
    linear_count = sum(isinstance(l, Linear) for l in model.layers)
    ranks = list(rank) if isinstance(rank, (list, tuple)) else [rank] * linear_count
    if len(ranks) != linear_count:
        raise ValueError(f"got {len(ranks)} ranks for {linear_count} Linear layers")
    new_layers, it = [], iter(ranks)
    for layer in model.layers:
        if isinstance(layer, Linear):
            r = next(it)
            if r is not None and r * (layer.in_features + layer.out_features) < layer.in_features * layer.out_features:
                new_layers.append(low_rank_factorize(layer, min(r, layer.in_features, layer.out_features)))
                continue
        new_layers.append(copy.deepcopy(layer))
    out = Sequential(*new_layers)
    out.training = model.training
    return out

# %% [markdown]
# ## 6. Knowledge distillation
#
# Pruning and factorization edit a trained network. Distillation takes another route: choose the small
# architecture you want to ship (the **student**) and train it to imitate the big trained network (the
# **teacher**). Why would imitation beat training the student on the labels directly? Because the teacher's
# output says much more than the label. For an image of a 7, the label says "7". The teacher says "very
# likely 7, a little bit 1, a trace of 9, certainly not 0": it tells the student which mistakes are
# reasonable, information the one-hot label throws away.
#
# ### Softening with a temperature
#
# A well-trained teacher is very confident, so those small probabilities are tiny and carry little
# gradient. Dividing the logits by a **temperature** `T > 1` before the softmax softens the distribution
# and brings the "dark knowledge" out. Worked example, teacher logits `[4.0, 1.5, 0.5]`:
#
# ```
#   T = 1   softmax(z / 1) = [0.899, 0.074, 0.027]       almost a one-hot label
#   T = 2   softmax(z / 2) = [0.685, 0.196, 0.119]
#   T = 4   softmax(z / 4) = [0.512, 0.274, 0.214]       the ranking of the wrong classes is now visible
# ```
#
# (the cell below prints these values). The student's logits are softened by the same `T`, and we
# measure how far the two distributions are with the **Kullback-Leibler divergence**
#
# $$\text{KL}(p \,\|\, q) = \sum_c p_c \,(\log p_c - \log q_c), \qquad p = \text{softmax}(z_t / T),\; q = \text{softmax}(z_s / T),$$
#
# which is 0 exactly when the student matches the teacher. The full loss mixes it with the ordinary
# cross-entropy on the true labels:
#
# $$L = \alpha \, T^2 \, \text{KL}(p \,\|\, q) + (1 - \alpha)\, \text{CE}(z_s, y).$$
#
# Why `T^2`? The gradient of the KL term with respect to a student logit is `(q_c - p_c) / T`: it shrinks
# as `T` grows, and the soft probabilities differ less from each other too, so overall the soft gradients
# scale like `1 / T^2`. Multiplying by `T^2` keeps the balance between the two terms (set by `alpha`) the
# same whatever temperature you pick.

# %%
z = np.array([4.0, 1.5, 0.5])
for T in (1, 2, 4):
    e = np.exp(z / T)
    print(f"T = {T}: softmax(z / T) = {np.round(e / e.sum(), 3)}")

# %% [markdown]
# ### The loss, built from Tensor operations
#
# The student must learn from this loss, so it has to be built from Tensor operations that autograd
# records: `log_softmax` from module 04 (its backward rule comes from module 05), `*`, `-`, `sum`, `mean`
# and `CrossEntropyLoss`. The teacher is not being trained: its probabilities are plain constants, computed
# with NumPy in the scaffolding. Average the KL over the batch (`sum` over classes, then `mean`).
# Skip a term whose weight is 0 (with `alpha = 1` no labels are needed at all).

# %%
#| export
def _np_log_softmax(z: np.ndarray) -> np.ndarray:
    shifted = z - z.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))

# %% nbgrader={"grade": false, "grade_id": "distillation-loss", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def distillation_loss(student_logits, teacher_logits, targets=None, temperature: float = 2.0,
                      alpha: float = 0.5) -> Tensor:
    """alpha * T^2 * KL(softmax(teacher / T) || softmax(student / T)) + (1 - alpha) * CE(student, targets).

    student_logits: Tensor (N, C), the graph the gradient flows back through.
    teacher_logits: Tensor or array (N, C), treated as a constant; may be None when alpha == 0.
    targets:        integer class labels (N,); may be None when alpha == 1.
    The KL term is summed over classes and averaged over the N samples. Returns a scalar Tensor.
    EXAMPLE: identical student and teacher logits, alpha=1 -> 0.0
    HINTS:
    - student_logp = _losses.log_softmax(student_logits / T, axis=-1)        (a Tensor, tracked by autograd)
    - KL = (Tensor(teacher_p) * (Tensor(teacher_logp) - student_logp)).sum(axis=-1).mean()
    - loss = alpha * T * T * KL  (if alpha > 0)  +  (1 - alpha) * CrossEntropyLoss()(student_logits, targets)  (if alpha < 1)
    """
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha weighs the two terms and must be in [0, 1], got {alpha}")
    if not isinstance(student_logits, Tensor):
        student_logits = Tensor(student_logits)
    if targets is None and alpha < 1.0:
        raise ValueError("targets are needed for the cross-entropy term unless alpha == 1")
    T = float(temperature)
    if alpha > 0.0:
        if teacher_logits is None:
            raise ValueError("teacher logits are needed for the distillation term unless alpha == 0")
        teacher = np.asarray(teacher_logits.data if isinstance(teacher_logits, Tensor) else teacher_logits)
        if teacher.shape != student_logits.shape:
            raise ValueError(f"student logits {student_logits.shape} and teacher logits {teacher.shape} "
                             f"must have the same shape")
        dtype = student_logits.data.dtype if np.issubdtype(student_logits.data.dtype, np.floating) else np.float32
        teacher_logp = _np_log_softmax(teacher.astype(np.float64) / T).astype(dtype)    # constants
        teacher_p = np.exp(teacher_logp)
    loss = None
    ### BEGIN SOLUTION
    if alpha > 0.0:
        student_logp = _losses.log_softmax(student_logits / T, axis=-1)
        kl = (Tensor(teacher_p) * (Tensor(teacher_logp) - student_logp)).sum(axis=-1).mean()
        loss = alpha * T * T * kl
    if alpha < 1.0:
        hard = (1.0 - alpha) * CrossEntropyLoss()(student_logits, targets)
        loss = hard if loss is None else loss + hard
    ### END SOLUTION
    return loss

# %% [markdown]
# The test compares the value with a NumPy transcription of the formula, checks the two extreme cases
# (`alpha = 0` is plain cross-entropy, a student equal to its teacher has zero KL), checks the gradient
# against the closed form `alpha * T * (q - p) / N`, and finally runs `check_gradients` from module 05
# over a mixed loss.

# %% nbgrader={"grade": true, "grade_id": "test-distillation-loss", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
def _softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def test_distillation_loss():
    """Value, special cases and gradients of the distillation loss."""
    rng = np.random.default_rng(0)
    s = rng.standard_normal((6, 4)) * 2
    t = rng.standard_normal((6, 4)) * 3
    y = np.array([0, 1, 2, 3, 1, 0])
    T, alpha = 3.0, 0.7
    p, q = _softmax(t / T), _softmax(s / T)
    kl = np.mean(np.sum(p * (np.log(p) - np.log(q)), axis=-1))
    ce = -np.mean(np.log(_softmax(s))[np.arange(6), y])
    loss = distillation_loss(Tensor(s), Tensor(t), y, temperature=T, alpha=alpha)
    assert isinstance(loss, Tensor) and loss.data.size == 1, "the loss is a scalar Tensor"
    expect = alpha * T * T * kl + (1 - alpha) * ce
    assert abs(float(loss.data) - expect) < 1e-6, f"expected {expect:.6f} = 0.7 * 9 * KL + 0.3 * CE, got {float(loss.data):.6f}"
    assert abs(float(distillation_loss(Tensor(s), t, y, T, alpha=0.0).data) - ce) < 1e-6, "alpha = 0 is plain cross-entropy"
    assert abs(float(distillation_loss(Tensor(t), t, None, T, alpha=1.0).data)) < 1e-7, \
        "a student equal to its teacher has KL 0 (and alpha = 1 needs no targets)"
    # the gradient of the soft term is alpha * T * (q - p) / N
    st = Tensor(s, requires_grad=True)
    distillation_loss(st, t, None, temperature=T, alpha=1.0).backward()
    assert st.grad is not None, "the loss must backpropagate to the student's logits (use Tensor ops)"
    assert np.allclose(st.grad.data, T * (q - p) / 6, atol=1e-6), "d(T^2 KL)/d logits must be T * (q - p) / N"
    check_gradients(lambda logits: distillation_loss(logits, t, y, temperature=2.0, alpha=0.4), Tensor(s))
    print(f"distillation loss {float(loss.data):.4f} (KL {kl:.4f}, CE {ce:.4f}); gradients OK")
test_distillation_loss()
### BEGIN HIDDEN TESTS
_s32 = Tensor(np.random.default_rng(1).standard_normal((3, 5)).astype(np.float32), requires_grad=True)
_l = distillation_loss(_s32, np.zeros((3, 5)), np.array([1, 2, 3]), temperature=1.0, alpha=0.5)
assert _l.data.dtype == np.float32, "float32 logits give a float32 loss (cast the teacher's constants)"
_l.backward()
assert _s32.grad.data.shape == (3, 5), "the gradient has the logits' shape"
for _bad in (dict(temperature=0.0), dict(alpha=1.5)):
    try:
        distillation_loss(_s32, np.zeros((3, 5)), np.array([1, 2, 3]), **_bad)
        raise AssertionError(f"{_bad} must raise ValueError")
    except ValueError:
        pass
### END HIDDEN TESTS

# %% [markdown]
# ### The distillation loop
#
# `distill` trains the student with Adam on mini-batches. The teacher's logits for the whole training set
# are computed **once**, up front, with `no_grad` and in eval mode: the teacher never changes, so running
# it again every epoch would be wasted work (for big teachers, people even store these logits on disk).
# Two extras make the loop useful for everything else in this module:
#
# - `masks`: re-applied after every step, so a magnitude-pruned student stays pruned while it learns.
# - `teacher=None` with `alpha=0`: ordinary supervised training with the same loop, so the teacher and
#   the students trained without distillation get exactly the same treatment.
#
# The helpers below run a model over a data set without recording a graph, `batch_size` rows at a time
# (`predict`), and measure a classifier's accuracy.

# %%
#| export
def predict(model, x, batch_size: int = 256) -> np.ndarray:
    """The model's outputs for x as one array, computed in eval mode without a graph, batch_size rows at a time."""
    x = np.asarray(x.data if isinstance(x, Tensor) else x)
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            outs = [model(Tensor(x[i:i + batch_size])).data for i in range(0, len(x), batch_size)]
    finally:
        model.train(was_training)
    return np.concatenate(outs, axis=0)


def accuracy(model, x, y, batch_size: int = 256) -> float:
    """Fraction of samples whose largest logit is the true class (eval mode, no graph)."""
    y = np.asarray(y.data if isinstance(y, Tensor) else y)
    return float(np.mean(np.argmax(predict(model, x, batch_size), axis=-1) == y))

# %% nbgrader={"grade": false, "grade_id": "distill", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def distill(teacher, student, x, y, epochs: int = 10, lr: float = 0.01, batch_size: int = 64,
            temperature: float = 2.0, alpha: float = 0.5, seed: int = 0, masks=None, validation=None) -> dict:
    """Train `student` in place to imitate `teacher` on (x, y) with distillation_loss and Adam.

    teacher:    a trained model, or None for plain cross-entropy training (then alpha must be 0).
    masks:      optional pruning masks, re-applied after every optimizer step.
    validation: optional (x_val, y_val); its accuracy is recorded after every epoch.
    Returns {"loss": [mean loss per epoch], "accuracy": [training accuracy per epoch],
             "val_accuracy": [...] (only with validation)}.
    HINT (one mini-batch): logits = student(Tensor(xb)); loss = distillation_loss(...) with the batch's
    teacher logits; then zero_grad, backward, step (the loop around it is given).
    """
    x = np.asarray(x.data if isinstance(x, Tensor) else x, dtype=np.float32)
    y = np.asarray(y.data if isinstance(y, Tensor) else y).astype(np.int64)
    if teacher is None:
        if alpha != 0.0:
            raise ValueError(f"without a teacher there is nothing to imitate: use alpha=0, got alpha={alpha}")
        teacher_logits = None                                           # alpha == 0: plain training
    else:
        teacher_logits = predict(teacher, x, batch_size)              # once: the teacher never changes
    optimizer = Adam(student.parameters(), lr=lr)
    rng = np.random.default_rng(seed)
    history = {"loss": [], "accuracy": []}
    if validation is not None:
        history["val_accuracy"] = []
    student.train()
    for _ in range(epochs):
        order = rng.permutation(len(x))
        total_loss, correct = 0.0, 0
        for start in range(0, len(x), batch_size):
            idx = order[start:start + batch_size]
            xb, yb = x[idx], y[idx]
            tb = None if teacher_logits is None else teacher_logits[idx]
            ### BEGIN SOLUTION
            logits = student(Tensor(xb))
            loss = distillation_loss(logits, tb, yb, temperature=temperature, alpha=alpha)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            ### END SOLUTION
            if masks is not None:
                apply_masks(student, masks)
            total_loss += float(loss.data) * len(idx)
            correct += int(np.sum(np.argmax(logits.data, axis=-1) == yb))
        history["loss"].append(total_loss / len(x))
        history["accuracy"].append(correct / len(x))
        if validation is not None:
            history["val_accuracy"].append(accuracy(student, *validation, batch_size=batch_size))
    return history

# %% [markdown]
# The test distils a teacher that computes a fixed function into a student of the same shape. With
# `alpha = 1` the labels are deliberately wrong, so the student can only succeed by following the
# teacher. It also checks the history, that masks keep a pruned student pruned, and plain training.

# %% nbgrader={"grade": true, "grade_id": "test-distill", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
def test_distill():
    """distill trains the student toward the teacher; masks persist; teacher=None is plain training."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((240, 5)).astype(np.float32)
    teacher = small_mlp([5, 16, 3], seed=10)
    for _, w in linear_weights(teacher):
        w.data *= 3.0                                        # a confident teacher
    teacher_pred = np.argmax(teacher(Tensor(x)).data, axis=-1)
    wrong = (teacher_pred + 1) % 3                           # labels that disagree with the teacher everywhere
    student = small_mlp([5, 16, 3], seed=11)
    start = float(np.mean(np.argmax(student(Tensor(x)).data, -1) == teacher_pred))
    hist = distill(teacher, student, x, wrong, epochs=15, lr=0.02, batch_size=32, temperature=2.0, alpha=1.0, seed=0)
    assert set(hist) == {"loss", "accuracy"} and len(hist["loss"]) == 15, f"history: 15 losses and accuracies, got {hist.keys()}"
    assert hist["loss"][-1] < 0.5 * hist["loss"][0], f"the distillation loss should fall, got {hist['loss'][0]:.3f} -> {hist['loss'][-1]:.3f}"
    agree = float(np.mean(np.argmax(student(Tensor(x)).data, -1) == teacher_pred))
    assert agree > 0.85 and agree > start + 0.2, f"with alpha=1 the student must learn to agree with the teacher (was {start:.2f}, now {agree:.2f})"
    assert accuracy(student, x, wrong) < 0.15, "alpha=1 ignores the (wrong) labels entirely"
    # plain training (no teacher), with validation, and a pruned student that stays pruned
    pruned = small_mlp([5, 16, 3], seed=12)
    masks = magnitude_prune(pruned, 0.5)
    h2 = distill(None, pruned, x, teacher_pred, epochs=12, lr=0.02, batch_size=32, alpha=0.0, seed=1,
                 masks=masks, validation=(x, teacher_pred))
    assert len(h2["val_accuracy"]) == 12 and h2["val_accuracy"][-1] > 0.8, \
        f"plain training on learnable labels should reach > 80%, got {h2['val_accuracy'][-1]:.2f}"
    assert abs(sparsity(pruned) - 0.5) < 1e-12, f"the masks must keep the student at sparsity 0.5, got {sparsity(pruned):.3f}"
    print(f"student agrees with teacher: {start:.2f} -> {agree:.2f}; pruned plain training: {h2['val_accuracy'][-1]:.2f}")
test_distill()
### BEGIN HIDDEN TESTS
_a, _b, _tch = small_mlp([5, 6, 3], seed=3), small_mlp([5, 6, 3], seed=3), small_mlp([5, 4, 3], seed=5)
_ha = distill(_tch, _a, np.ones((20, 5), np.float32), np.zeros(20, np.int64), epochs=2, seed=4)
_hb = distill(_tch, _b, np.ones((20, 5), np.float32), np.zeros(20, np.int64), epochs=2, seed=4)
assert _ha == _hb and np.array_equal(_a[0].weight.data, _b[0].weight.data), "the same seed must give the same run"
try:
    distill(None, _a, np.ones((4, 5), np.float32), np.zeros(4, np.int64), alpha=0.5)
    raise AssertionError("teacher=None with alpha > 0 must raise ValueError")
except ValueError:
    pass
### END HIDDEN TESTS

# %% [markdown]
# ## 7. Systems analysis: the trade-offs on real digits
#
# Time to compress a real classifier. The course ships the UCI handwritten digits (`datasets/digits.npz`:
# 1797 images of 8x8 pixels with values 0..16, see `datasets/README.md`). We split them 80/20 (the same
# fraction of every digit in each part), scale the pixels to [0, 1], and train a **teacher** MLP
# 64 -> 128 -> 64 -> 10. Every number below is measured by the code that prints it; small differences
# between runs and machines are expected.
#
# All training and evaluation here uses mini-batches of 32 rows, and the layers are at most 128 wide.
# That keeps every matrix product (forward and backward) below the size at which NumPy's BLAS library
# starts splitting it over several threads; on a machine shared with other work, such small products
# split over busy cores can become slower, not faster, and the timings erratic.

# %%
def find_repo_root(marker=Path("datasets") / "digits.npz"):
    """The course folder holding datasets/digits.npz: the current folder or one above it (where your
    notebook lives), else $TINYTORCH_ROOT, else the folder above the installed tinytorch package."""
    import os
    import tinytorch
    starts = [Path.cwd().resolve()]
    if os.environ.get("TINYTORCH_ROOT"):
        starts.append(Path(os.environ["TINYTORCH_ROOT"]).resolve())
    starts.append(Path(tinytorch.__file__).resolve().parent)
    for start in starts:
        for folder in [start, *start.parents]:
            if (folder / marker).is_file():
                return folder
    raise FileNotFoundError(f"{marker} not found above {', '.join(map(str, starts))}; set TINYTORCH_ROOT")


with np.load(find_repo_root() / "datasets" / "digits.npz") as _data:
    images, labels = _data["images"].reshape(-1, 64).astype(np.float32) / 16.0, _data["labels"].astype(np.int64)

split_rng = np.random.default_rng(0)
test_idx = np.concatenate([split_rng.permutation(np.flatnonzero(labels == c))[: int(round(0.2 * np.sum(labels == c)))]
                           for c in range(10)])
is_test = np.zeros(len(labels), bool)
is_test[test_idx] = True
x_train, y_train, x_test, y_test = images[~is_test], labels[~is_test], images[is_test], labels[is_test]
print(f"train {x_train.shape}, test {x_test.shape}")

B = 32                                                    # rows per mini-batch, everywhere below


def acc_on_test(model):
    return accuracy(model, x_test, y_test, batch_size=B)


def fine_tune(model, epochs=2, lr=0.003, masks=None):
    """A short plain (label-only) retraining, keeping pruned weights at zero when masks are given."""
    return distill(None, model, x_train, y_train, epochs=epochs, lr=lr, batch_size=B, alpha=0.0, seed=1, masks=masks)


t0 = time.perf_counter()
teacher = small_mlp([64, 128, 64, 10], seed=0)
distill(None, teacher, x_train, y_train, epochs=10, lr=0.003, batch_size=B, alpha=0.0, seed=0)
teacher_acc = acc_on_test(teacher)
print(f"teacher: {teacher.num_parameters():,} parameters, test accuracy {teacher_acc:.3f} "
      f"(trained in {time.perf_counter() - t0:.2f} s)")

# %% [markdown]
# ### 7.1 Unstructured pruning: how far can we go?
#
# We prune copies of the teacher to increasing sparsity, both globally and layer by layer, and measure the
# test accuracy with **no** retraining. Then, at the highest sparsities, we fine-tune the pruned network
# for three epochs with the masks re-applied after every step.

# %%
def pruned_copy(model, amount, scope="global"):
    m = copy.deepcopy(model)
    return m, magnitude_prune(m, amount, scope=scope)


print(f"{'sparsity':>8s} {'global acc':>11s} {'layer acc':>10s} {'global, fine-tuned':>24s}   non-zero weights per layer (global)")
for amount in (0.5, 0.7, 0.8, 0.9, 0.95):
    g, g_masks = pruned_copy(teacher, amount, "global")
    l, _ = pruned_copy(teacher, amount, "layer")
    acc_g, acc_l = acc_on_test(g), acc_on_test(l)
    per_layer = " / ".join(f"{1 - sparsity(w):.0%}" for _, w in linear_weights(g))
    tuned = ""
    if amount >= 0.9:
        fine_tune(g, epochs=3, lr=0.005, masks=g_masks)
        tuned = f"{acc_on_test(g):.3f} (sparsity {sparsity(g):.2f})"
    print(f"{amount:8.2f} {acc_g:11.3f} {acc_l:10.3f} {tuned:>24s}   {per_layer}")
print(f"{'dense':>8s} {teacher_acc:11.3f}")

# %% [markdown]
# Read the table from top to bottom. At moderate sparsity both scopes lose very little: most of the
# weights of a trained network really are expendable. Then accuracy falls off a cliff, and where the two
# scopes differ the column on the right shows how they spend the same budget: the global ranking keeps a
# different fraction of each layer (compare the large middle layer with the first and the output layer),
# while the per-layer scope keeps the same fraction everywhere. Which one is better depends on the
# network and the sparsity, so measure it. The fine-tuned column shows how much a short retraining with
# the masks held fixed recovers; compare the two highest sparsities: the fewer weights are left, the
# less there is for fine-tuning to work with.
#
# ### 7.2 Structured pruning: smaller and faster
#
# Now we remove whole hidden neurons (both hidden layers lose the same fraction) and report the real
# parameter count, the FLOPs and the time of a forward pass over one batch of 32 images, and the
# accuracy before and after a two-epoch fine-tune.

# %%
x_batch = Tensor(x_test[:B])


def forward_time(model, number=20):
    """Median time of one forward pass over a batch of B images (each timed repeat runs `number` passes)."""
    def run():
        for _ in range(number):
            model(x_batch)
    with no_grad():
        return measure_latency(run, warmup=1, repeats=5)["median"] / number


def forward_mflop(model, n=B):
    """FLOPs (2 per multiply-add) of the Linear / LowRankLinear layers for n inputs, in millions."""
    flops = 0
    for layer in model.layers:
        if isinstance(layer, Linear):
            flops += 2 * n * layer.in_features * layer.out_features
        elif isinstance(layer, LowRankLinear):
            flops += 2 * n * layer.rank * (layer.in_features + layer.out_features)
    return flops / 1e6


print(f"{'removed':>8s} {'hidden widths':>14s} {'params':>7s} {'MFLOP':>6s} {'acc':>6s} {'fine-tuned':>11s} {'forward us':>11s}")
print(f"{'0%':>8s} {'128, 64':>14s} {teacher.num_parameters():7,d} {forward_mflop(teacher):6.2f} {teacher_acc:6.3f} "
      f"{'':>11s} {forward_time(teacher) * 1e6:11.1f}")
for amount in (0.5, 0.75, 0.9):
    small = prune_neurons(teacher, amount)
    before = acc_on_test(small)
    fine_tune(small)
    widths = ", ".join(str(l.out_features) for l in small.layers[:-1] if isinstance(l, Linear))
    print(f"{amount:8.0%} {widths:>14s} {small.num_parameters():7,d} {forward_mflop(small):6.2f} {before:6.3f} "
          f"{acc_on_test(small):11.3f} {forward_time(small) * 1e6:11.1f}")

# %% [markdown]
# Removing a fraction of the neurons of *both* hidden layers removes a larger fraction of the weights
# (the 128 x 64 middle matrix loses rows and columns), and a neuron is a much bigger unit than a weight, so
# the accuracy before fine-tuning drops faster than in 7.1. But the saving is real: fewer parameters and
# proportionally fewer FLOPs, in an ordinary dense network that needs no special format or hardware.
# The fine-tune matters more here, because removing a neuron removes its whole contribution. (For a
# network this tiny the forward time is dominated by fixed Python and NumPy overheads, so it follows
# the FLOPs only loosely; section 7.5 times a layer large enough for the arithmetic to dominate.)
#
# ### 7.3 Low-rank factorization of the teacher
#
# The teacher's middle layer is 128 x 64. How quickly do its singular values decay, and what does a given
# rank cost? We factor both hidden layers (and keep the small 64 x 10 output layer dense) and measure the
# predicted weight error of the middle layer and the accuracy before and after a two-epoch fine-tune of
# the factors.

# %%
s = np.linalg.svd(teacher[2].weight.data, compute_uv=False)
energy = np.cumsum(s ** 2) / np.sum(s ** 2)
print("middle layer: share of squared singular values in the top r:",
      ", ".join(f"r={r}: {energy[r - 1]:.2f}" for r in (4, 8, 16, 32)))
print(f"{'rank':>5s} {'error (mid)':>12s} {'params':>7s} {'acc':>6s} {'fine-tuned':>11s}")
for r in (4, 8, 16, 32):
    fact = factorize_model(teacher, [r, r, None])
    before = acc_on_test(fact)
    fine_tune(fact)
    print(f"{r:5d} {low_rank_error(teacher[2], r):12.3f} {fact.num_parameters():7,d} {before:6.3f} {acc_on_test(fact):11.3f}")

# %% [markdown]
# A trained layer is not a random matrix: its spectrum decays, so a modest rank captures a good share of
# the squared "energy" (first line above). Note how forgiving the network is: accuracy can still be good
# at a rank whose weight error looks large, because what matters is the error on the inputs the layer
# actually sees, because the next layers are robust to small perturbations, and because a short
# fine-tune lets the factors adapt.
#
# ### 7.4 Distillation: a tiny student
#
# The student is a 64 -> 16 -> 10 MLP, under 5% of the teacher's size. We train it from scratch on the
# labels (`alpha = 0`), and distil it from the teacher with `T = 4, alpha = 0.7`, with the same epochs,
# learning rate and data order, over three seeds, and on two training-set sizes: all 1438 training
# images, and only 150 of them (labelled data is often scarce; the teacher's soft targets then carry
# relatively more information).

# %%
def student_runs(n_train, epochs, seeds=(0, 1, 2)):
    xs, ys = x_train[:n_train], y_train[:n_train]
    scores = {"labels only": [], "distilled": []}
    for seed in seeds:
        for name, (t, alpha) in {"labels only": (None, 0.0), "distilled": (teacher, 0.7)}.items():
            student = small_mlp([64, 16, 10], seed=100 + seed)
            distill(t, student, xs, ys, epochs=epochs, lr=0.01, batch_size=B, temperature=4.0, alpha=alpha, seed=seed)
            scores[name].append(acc_on_test(student))
    return {k: (float(np.mean(v)), float(np.std(v))) for k, v in scores.items()}


student_params = small_mlp([64, 16, 10]).num_parameters()
print(f"teacher {teacher.num_parameters():,} params, student {student_params:,} params "
      f"({student_params / teacher.num_parameters():.1%} of the teacher)")
print(f"{'training images':>16s} {'labels only':>14s} {'distilled':>14s} {'teacher':>8s}")
t0 = time.perf_counter()
for n, epochs in ((len(x_train), 6), (150, 30)):
    res = student_runs(n, epochs)
    print(f"{n:16d} {res['labels only'][0]:8.3f} ±{res['labels only'][1]:.3f} "
          f"{res['distilled'][0]:8.3f} ±{res['distilled'][1]:.3f} {teacher_acc:8.3f}")
print(f"(12 student trainings in {time.perf_counter() - t0:.2f} s)")

# %% [markdown]
# The table shows the mean test accuracy over three seeds (± their standard deviation). Compare the two
# student columns row by row: whether, and by how much, distillation helps depends on how much labelled
# data the student has; with few labels the teacher's soft targets are worth the most. Keep the spread in
# mind before calling a difference real (module 19 showed how to decide that properly).
#
# ### 7.5 Does sparsity make inference faster? Bytes, FLOPs and time
#
# On a dense matrix product, a zero costs exactly as much as any other number. The only way unstructured
# sparsity saves anything is to **store** the weights differently: a compressed sparse row (CSR) format
# keeps the non-zero values (4 bytes each), their column indices (4 bytes each) and one offset per row.
# We compare, on one large 512 x 512 layer, the dense layer, the same layer pruned to 90%, 50% of its
# neurons removed (output columns; the next layer would lose rows too), and a rank-32 factorization. The
# input is a request of 2 samples: inference servers and phones often work at tiny batch sizes, and it
# keeps the product on one core (see the note at the start of section 7).

# %%
D, N = 512, 2
big = Linear(D, D, rng=0)
xb = Tensor(np.random.default_rng(1).standard_normal((N, D)).astype(np.float32))
sparse90 = copy.deepcopy(big)
magnitude_prune(sparse90, 0.9)
half_layer = prune_neurons(Sequential(big, ReLU(), Linear(D, 4, rng=1)), 0.5)[0]
rank32 = low_rank_factorize(big, 32)


def csr_bytes(w):
    nnz = int(np.count_nonzero(w))
    return nnz * 4 + nnz * 4 + (w.shape[0] + 1) * 4


rows = [(f"dense {D} x {D}", big, big.weight.data.nbytes, 2 * N * D * D),
        ("90% pruned, dense storage", sparse90, sparse90.weight.data.nbytes, 2 * N * D * D),
        ("90% pruned, CSR storage", None, csr_bytes(sparse90.weight.data), 2 * N * int(np.count_nonzero(sparse90.weight.data))),
        ("50% neurons removed", half_layer, half_layer.weight.data.nbytes, 2 * N * D * (D // 2)),
        ("rank 32 factorization", rank32, rank32.U.data.nbytes + rank32.V.data.nbytes, 2 * N * 32 * (D + D))]
print(f"{'variant':28s} {'weight bytes':>13s} {'MFLOP':>8s} {'time us':>8s} {'speed-up':>9s}")
def layer_time(layer, number=5):
    """Median over 9 repeats of the time of one call, each repeat timing `number` calls."""
    def run():
        for _ in range(number):
            layer(xb)
    return measure_latency(run, warmup=1, repeats=9)["median"] / number


with no_grad():
    t_dense = layer_time(big)
    for name, layer, nbytes, flops in rows:
        if layer is None:
            print(f"{name:28s} {nbytes:13,d} {flops / 1e6:8.2f} {'-':>8s} {'(n/a)':>9s}")
            continue
        t = layer_time(layer)
        print(f"{name:28s} {nbytes:13,d} {flops / 1e6:8.2f} {t * 1e6:8.1f} {t_dense / t:8.2f}x")

# %% [markdown]
# The 90%-pruned layer in dense storage takes the same bytes and, within noise, the same time as the
# dense one: NumPy's matrix product does not know that most entries are zero. CSR storage does shrink
# it, but needs 8 bytes per surviving weight instead of 4 and an irregular, index-chasing multiply that
# only wins at very high sparsity or on hardware built for it (we only count its FLOPs here). Removing
# neurons and factoring the matrix change the *shapes*, and their times fall on any machine, though by
# less than their FLOPs: every call also pays a fixed cost (Python, NumPy's dispatch, reading the
# weights from memory) that does not shrink with the arithmetic.
#
# ### 7.6 The whole picture
#
# One table with every compressed version of the teacher side by side: parameters that must be stored,
# bytes (dense float32, or CSR for the pruned model), test accuracy and forward time for a batch of 32.

# %%
def linear_biases(model):
    return [l.bias for l in model.layers if isinstance(l, Linear) and l.bias is not None]


g90, g90_masks = pruned_copy(teacher, 0.9)
fine_tune(g90, epochs=3, lr=0.005, masks=g90_masks)
g90_params = sum(int(np.count_nonzero(w.data)) for _, w in linear_weights(g90)) + sum(b.size for b in linear_biases(g90))
g90_bytes = sum(csr_bytes(w.data) for _, w in linear_weights(g90)) + sum(b.data.nbytes for b in linear_biases(g90))
neurons = prune_neurons(teacher, 0.75)
fine_tune(neurons)
lowrank = factorize_model(teacher, [16, 16, None])
fine_tune(lowrank)
student = small_mlp([64, 16, 10], seed=100)
distill(teacher, student, x_train, y_train, epochs=6, lr=0.01, batch_size=B, temperature=4.0, alpha=0.7, seed=0)
variants = [("teacher (dense)", teacher, teacher.num_parameters(), teacher.parameter_nbytes()),
            ("90% magnitude-pruned + ft", g90, g90_params, g90_bytes),
            ("75% neurons removed + ft", neurons, neurons.num_parameters(), neurons.parameter_nbytes()),
            ("rank-16 factorized + ft", lowrank, lowrank.num_parameters(), lowrank.parameter_nbytes()),
            ("distilled student 64-16-10", student, student.num_parameters(), student.parameter_nbytes())]
print(f"{'model':28s} {'stored params':>14s} {'bytes':>8s} {'vs teacher':>11s} {'test acc':>9s} {'forward us':>11s}")
for name, m, n_params, nbytes in variants:
    print(f"{name:28s} {n_params:14,d} {nbytes:8,d} {nbytes / teacher.parameter_nbytes():10.1%} "
          f"{acc_on_test(m):9.3f} {forward_time(m) * 1e6:11.1f}")

# %% [markdown]
# There is no single winner, and the table shows each method's character. The magnitude-pruned model
# stores few weights, but only saves bytes in a sparse format, and its forward pass (still dense
# matrices full of zeros) costs what the teacher's does. Removing neurons and factoring layers shrink the
# dense matrices themselves, at an accuracy cost that fine-tuning partly recovers. The distilled student
# is the smallest and fastest of all, because its architecture was chosen small from the start; the
# price is a full training run with the teacher, not just an edit and a short fine-tune. In practice
# these methods are combined: distil into a small architecture, prune or factor it, then quantize what
# is left.
#
# ## Summary
#
# - **Sparsity** is the fraction of exact zeros; trained networks tolerate surprisingly high sparsity.
# - **Magnitude pruning** zeroes the smallest `|w|`; *global* ranking adapts the sparsity per layer,
#   *per-layer* ranking spreads it evenly. Masks re-applied after every optimizer step keep pruned weights
#   at zero during fine-tuning.
# - **Unstructured** sparsity saves nothing on a dense matmul; it needs sparse storage (about 8 bytes per
#   surviving weight in CSR) or hardware that skips zeros.
# - **Structured pruning** removes whole neurons (a weight column, a bias entry and the next layer's row)
#   and yields a genuinely smaller, faster dense network.
# - **Low-rank factorization** keeps the top `r` singular directions: `r (in + out)` parameters instead of
#   `in * out`, with a relative error known in advance from the singular values (Eckart-Young).
# - **Knowledge distillation** trains a small student on the teacher's temperature-softened outputs,
#   `alpha T^2 KL + (1 - alpha) CE`; the `T^2` keeps the two terms balanced at any temperature.
#
# ## Reflection questions
#
# 1. Global pruning at 95% may remove almost all of one layer's weights. What happens to the network if
#    a layer loses *every* weight into one output class, and how would you protect against that?
# 2. Magnitude is only a proxy for importance. Describe a weight with a small magnitude whose removal would
#    hurt a lot. What extra information (hint: gradients, activations) could a better criterion use?
# 3. Section 7.5 shows that CSR storage costs 8 bytes per surviving weight. At what sparsity does CSR start
#    to save memory over dense float32 storage for a 512 x 512 layer? What if indices were stored in 16 bits?
# 4. Why does `low_rank_factorize` split each singular value as `sqrt(s)` into both factors instead of
#    putting all of `s` into `U`? Think about what happens to the gradients when you fine-tune `U` and `V`.
# 5. With `alpha = 1` the student never sees a label. Could a student ever become *more* accurate than its
#    teacher this way? What would have to be true about the teacher's mistakes?
