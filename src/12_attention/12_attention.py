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
#     title: Attention
#     summary: Build scaled dot-product attention with masks and its backward pass, then multi-head attention, and measure why its cost grows with the square of the sequence length.
#     tier: architecture
#     minutes: 150
#     prerequisites: [01_tensor, 02_activations, 03_layers, 05_autograd, 11_embeddings]
#     objectives:
#       - Explain attention as a soft dictionary lookup and compute it by hand for three tokens
#       - Implement masked softmax, a causal mask and scaled dot-product attention on NumPy arrays
#       - Derive and implement the backward pass of attention and verify it with numerical gradients
#       - Build MultiHeadAttention from linear projections, head splitting and one fused attention call
#       - Measure the O(n^2) time and memory of attention against sequence length
#     exports: [MultiHeadAttention, scaled_dot_product_attention, causal_mask]
#     milestone: null
# ---

# %% [markdown]
# # Module 12: Attention
#
# After module 11 every token is a vector, and that vector knows which token it is and where it
# sits. It does not yet know anything about its **neighbours**. In "the bank of the river", the
# vector for "bank" should end up different from the one in "the bank raised rates", and the
# difference lives in the other words of the sentence.
#
# Convolutions (module 09) mix neighbours through a fixed window with fixed weights. **Attention**
# lets every token decide, from the content of the sequence itself, which other tokens to read from
# and how much. It is the one idea behind the Transformer (2017) and every large language model since.
#
# ## What you will build
#
# - `causal_mask(T)`: which positions may look at which.
# - `masked_softmax` and `scaled_dot_product_attention(Q, K, V, mask)`, with a hand-written backward pass.
# - `MultiHeadAttention(embed_dim, num_heads)`: several attention patterns in parallel, trained end to end.
#
# ## Learning objectives
#
# - Explain attention as a soft dictionary lookup and compute it by hand for three tokens.
# - Implement masked softmax, a causal mask and scaled dot-product attention on NumPy arrays.
# - Derive and implement the backward pass of attention and verify it with numerical gradients.
# - Build `MultiHeadAttention` from linear projections, head splitting and one fused attention call.
# - Measure the O(n^2) time and memory of attention against sequence length.

# %%
#| default_exp core.attention

# %%
#| export
import numpy as np

from tinytorch.core.tensor import Tensor
from tinytorch.core.layers import Module, Linear
from tinytorch.core.autograd import Function, track, unbroadcast

# %%
#| hide
import time

from tinytorch.core.autograd import check_gradients

np.set_printoptions(precision=4, suppress=True)

# %% [markdown]
# ## 1. The idea: a soft dictionary lookup
#
# A Python dict maps a key to a value: `d["bank"]` returns exactly one value, the one whose key
# matches exactly. Attention is a *soft* version of that:
#
# - every token emits a **query** `q` ("what am I looking for?"),
# - every token emits a **key** `k` ("what do I contain?") and a **value** `v` ("what I hand over"),
# - a query compares itself with **all** keys (dot products), turns the scores into weights that sum
#   to 1 (softmax), and returns the weighted average of the values.
#
# ```
#                 keys  k0    k1    k2
#  query q1  -->  score q1.k0 q1.k1 q1.k2   / sqrt(d)
#                 softmax  0.1   0.7   0.2          (weights, sum to 1)
#                          |     |     |
#  output 1   =  0.1*v0 + 0.7*v1 + 0.2*v2
# ```
#
# All queries at once, with `Q, K, V` of shape `(T, d)`:
#
# ```
#   scores  = Q @ K.T / sqrt(d)        (T, T)   row i: how much query i likes each key
#   weights = softmax(scores, axis=-1) (T, T)   each row sums to 1
#   output  = weights @ V              (T, d)   row i: blend of values for query i
# ```
#
# **Why divide by sqrt(d)?** A dot product of two random vectors with unit-variance entries has
# variance `d`. For `d = 64` the scores would have a standard deviation of 8, the softmax would be
# almost one-hot, and its gradient almost zero. Dividing by `sqrt(d)` brings the spread back to about 1.
#
# ### A worked example with numbers
#
# Three tokens, `d = 2`, with `Q = K` and values that are easy to track:
#
# ```
#   Q = K = [[1, 0],      V = [[10,  0],
#            [0, 1],           [ 0, 10],
#            [1, 1]]           [ 5,  5]]
#
#   Q @ K.T = [[1, 0, 1],       / sqrt(2) -> [[0.707, 0.000, 0.707],
#              [0, 1, 1],                     [0.000, 0.707, 0.707],
#              [1, 1, 2]]                     [0.707, 0.707, 1.414]]
#
#   softmax row 0 = [0.401, 0.198, 0.401]  -> output 0 = 0.401*[10,0] + 0.198*[0,10] + 0.401*[5,5]
#                                                      = [6.02, 3.98]
# ```
#
# Token 0 matches itself and token 2 equally well, so it reads mostly from those two. We will
# check these numbers against your code.

# %% [markdown]
# ## 2. Masks: who may look at whom
#
# A language model predicts token `t+1` from tokens `0..t`. During training we feed the whole sequence
# at once, so we must forbid position `t` from peeking at later positions. A **mask** is a boolean
# array with `True` where attention is allowed. The causal mask is lower-triangular:
#
# ```
#              key 0  key 1  key 2  key 3
#   query 0  [  T      .      .      .  ]
#   query 1  [  T      T      .      .  ]
#   query 2  [  T      T      T      .  ]
#   query 3  [  T      T      T      T  ]
# ```
#
# Masked scores are set to `-inf` before the softmax, so `exp(-inf) = 0` gives them exactly zero weight.
# One edge case: a row where *everything* is masked (this happens with padding). `-inf - (-inf)` is
# NaN, so we define such a row's weights to be all zeros instead.

# %% nbgrader={"grade": false, "grade_id": "causal-mask", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def causal_mask(seq_len: int) -> np.ndarray:
    """Boolean (seq_len, seq_len) array: True where query i may attend to key j, i.e. j <= i.

    EXAMPLE:
        >>> causal_mask(3)
        array([[ True, False, False],
               [ True,  True, False],
               [ True,  True,  True]])
    HINT: np.tril keeps the lower triangle of a matrix.
    """
    ### BEGIN SOLUTION
    return np.tril(np.ones((seq_len, seq_len), dtype=bool))
    ### END SOLUTION

# %% mutant={"name": "mask-upper-triangle", "target": "causal-mask", "catches": ["test-causal-mask"]}
# Lets every token see the future and hides the past.
return np.triu(np.ones((seq_len, seq_len), dtype=bool))

# %% mutant={"name": "mask-without-diagonal", "target": "causal-mask", "catches": ["test-causal-mask"]}
# A token may not even look at itself: row 0 is then fully masked.
return np.tril(np.ones((seq_len, seq_len), dtype=bool), k=-1)

# %% nbgrader={"grade": true, "grade_id": "test-causal-mask", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
def test_causal_mask():
    """The causal mask is boolean and lower-triangular, diagonal included."""
    m = causal_mask(4)
    assert m.dtype == bool, f"mask must be boolean, got {m.dtype}"
    assert m.shape == (4, 4), f"shape must be (4, 4), got {m.shape}"
    assert m[2, 2] and m[3, 0], "a token may see itself and the past"
    assert not m[0, 1] and not m[2, 3], "a token must not see the future"
    assert m.sum() == 10, f"4 + 3 + 2 + 1 = 10 allowed pairs expected, got {m.sum()}"
    print("causal_mask: OK")
test_causal_mask()

# %% nbgrader={"grade": false, "grade_id": "masked-softmax", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def masked_softmax(scores: np.ndarray, mask=None) -> np.ndarray:
    """Softmax over the last axis, with masked-out entries (mask False) given weight exactly 0.

    scores: (..., T_q, T_k) array; mask: None or a boolean array broadcastable to scores.
    Rows where every entry is masked come out as all zeros (never NaN).

    EXAMPLE:
        >>> masked_softmax(np.array([[1.0, 2.0, 3.0]]), np.array([[True, True, False]]))
        array([[0.2689, 0.7311, 0.    ]])
    HINTS:
    - np.where(mask, scores, -np.inf) hides entries.
    - Subtract the row max for stability, but a fully masked row has max -inf: replace a
      non-finite max by 0 first (np.isfinite).
    - After exp, divide by the row sum, using 1 where the sum is 0.
    """
    if mask is not None:
        scores = np.where(mask, scores, -np.inf)
    ### BEGIN SOLUTION
    row_max = scores.max(axis=-1, keepdims=True)
    row_max = np.where(np.isfinite(row_max), row_max, 0.0)
    e = np.exp(scores - row_max)
    total = e.sum(axis=-1, keepdims=True)
    return e / np.where(total == 0, 1.0, total)
    ### END SOLUTION

# %% mutant={"name": "softmax-no-max-shift", "target": "masked-softmax", "catches": ["test-masked-softmax"]}
# Forgets the stability shift: exp(1000) overflows to inf.
e = np.exp(scores)
total = e.sum(axis=-1, keepdims=True)
return e / np.where(total == 0, 1.0, total)

# %% mutant={"name": "softmax-dead-row-nan", "target": "masked-softmax", "catches": ["test-masked-softmax"]}
# Shifts by the row max without guarding rows that are entirely masked (-inf - -inf = NaN).
row_max = scores.max(axis=-1, keepdims=True)
e = np.exp(scores - row_max)
return e / e.sum(axis=-1, keepdims=True)

# %% nbgrader={"grade": true, "grade_id": "test-masked-softmax", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
def test_masked_softmax():
    """Rows sum to 1, masked entries are 0, large scores do not overflow, fully masked rows are 0."""
    s = np.array([[1.0, 2.0, 3.0], [1000.0, 1000.0, 0.0]])
    p = masked_softmax(s)
    assert np.allclose(p.sum(-1), 1.0), f"each row must sum to 1, got {p.sum(-1)}"
    assert np.allclose(p[1], [0.5, 0.5, 0.0], atol=1e-6), f"scores of 1000 must not overflow: {p[1]}"
    pm = masked_softmax(s, np.array([[True, True, False], [False, True, True]]))
    assert np.allclose(pm[0], [0.2689, 0.7311, 0.0], atol=1e-4), f"masked entry must get weight 0: {pm[0]}"
    assert np.allclose(pm[1], [0.0, 1.0, 0.0], atol=1e-6), f"second row: {pm[1]}"
    dead = masked_softmax(np.zeros((2, 2)), np.array([[True, False], [False, False]]))
    assert not np.isnan(dead).any(), "a fully masked row must not produce NaN"
    assert np.allclose(dead, [[1, 0], [0, 0]]), f"fully masked row should be zeros: {dead}"
    print("masked_softmax: OK")
test_masked_softmax()
### BEGIN HIDDEN TESTS
_s = np.random.default_rng(0).normal(size=(2, 3, 4, 4))
_p = masked_softmax(_s, causal_mask(4))
assert np.allclose(_p.sum(-1), 1.0) and np.allclose(_p[..., 0, 1:], 0.0), "mask must broadcast over batch axes"
### END HIDDEN TESTS

# %% [markdown]
# The test checks normalisation, numerical stability at scores of 1000, exact zeros under the
# mask, and the fully-masked edge case.
#
# ## 3. Scaled dot-product attention, forward
#
# The forward function works on NumPy arrays with any number of leading batch axes:
# `Q` is `(..., T_q, d)`, `K` is `(..., T_k, d)`, `V` is `(..., T_k, d_v)`. It returns the output
# `(..., T_q, d_v)` **and** the weights `(..., T_q, T_k)`, which the backward pass will need (and which
# are fun to look at). `np.swapaxes(K, -1, -2)` transposes the last two axes of a batched array.

# %% nbgrader={"grade": false, "grade_id": "attention-forward", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def attention_forward(Q: np.ndarray, K: np.ndarray, V: np.ndarray, mask=None):
    """Return (output, weights) of softmax(Q K^T / sqrt(d)) V with an optional boolean mask.

    HINTS:
    - Follow the three lines of section 1 (scores, weights, output), checking shapes as you go: the scores
      must come out as (..., T_q, T_k), so which two axes of K have to trade places? (K.T would also
      reverse the batch axes.)
    - The scaling uses the width of a query/key vector, not the sequence length.
    - You already wrote the function that turns scores into masked weights; reuse it.
    """
    ### BEGIN SOLUTION
    d = Q.shape[-1]
    scores = Q @ np.swapaxes(K, -1, -2) / np.sqrt(d)
    weights = masked_softmax(scores, mask)
    return weights @ V, weights
    ### END SOLUTION

# %% mutant={"name": "scale-by-d", "target": "attention-forward", "replace": "scores = Q @ np.swapaxes(K, -1, -2) / np.sqrt(d)", "catches": ["test-attention-forward"]}
# Divides by d instead of sqrt(d): weights come out too flat.
scores = Q @ np.swapaxes(K, -1, -2) / d

# %% mutant={"name": "no-scale", "target": "attention-forward", "replace": "scores = Q @ np.swapaxes(K, -1, -2) / np.sqrt(d)", "catches": ["test-attention-forward"]}
# Forgets the 1/sqrt(d) scaling entirely.
scores = Q @ np.swapaxes(K, -1, -2)

# %% nbgrader={"grade": true, "grade_id": "test-attention-forward", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
def test_attention_forward():
    """The worked example, the causal case, and agreement with a slow loop over queries."""
    Q = K = np.array([[1.0, 0], [0, 1], [1, 1]])
    V = np.array([[10.0, 0], [0, 10], [5, 5]])
    out, w = attention_forward(Q, K, V)
    assert w.shape == (3, 3) and out.shape == (3, 2), f"shapes: weights {w.shape}, output {out.shape}"
    assert np.allclose(w[0], [0.401, 0.198, 0.401], atol=1e-3), f"row 0 weights differ from the worked example: {w[0]}"
    assert np.allclose(out[0], [6.02, 3.98], atol=1e-2), f"output 0 should be [6.02, 3.98], got {out[0]}"
    out_c, w_c = attention_forward(Q, K, V, causal_mask(3))
    assert np.allclose(out_c[0], V[0]), "with a causal mask, token 0 can only read its own value"
    assert np.allclose(w_c[1, 2], 0.0), "token 1 must give zero weight to token 2"
    rng = np.random.default_rng(1)
    q, k, v = rng.normal(size=(2, 5, 4)), rng.normal(size=(2, 6, 4)), rng.normal(size=(2, 6, 3))
    fast, _ = attention_forward(q, k, v)
    for b in range(2):
        for i in range(5):
            s = k[b] @ q[b, i] / 2.0
            p = np.exp(s - s.max()); p /= p.sum()
            assert np.allclose(fast[b, i], p @ v[b]), f"batch {b}, query {i} differs from the loop version"
    print("attention_forward: OK")
test_attention_forward()

# %% [markdown]
# The test reproduces the worked example, checks that a causal mask makes token 0 copy its own value,
# and compares a batched case (with `T_q != T_k` and `d_v != d`) against a loop written in plain Python.

# %% [markdown]
# ### A causal example, weight by weight
#
# Let's watch a causal mask at work on four tokens, `the cat sat down`, with two-dimensional queries and
# keys chosen by hand so that every number can be followed. Feature 0 of a key means "I am a noun",
# feature 1 "I am a verb"; the query of `sat` looks for a noun (its subject), the query of `down` looks
# for a verb. Each value is a one-hot "name tag" of its token, so an output row reads directly as "how
# much of each token did this query take".
#
# ```
#               Q (what I look for)   K (what I am)    V (name tag)
#   0 the       [0, 0]                [0, 0]           [1, 0, 0, 0]
#   1 cat       [0, 0]                [2, 0]  noun     [0, 1, 0, 0]
#   2 sat       [2, 0]  a noun        [0, 2]  verb     [0, 0, 1, 0]
#   3 down      [0, 2]  a verb        [0, 0]           [0, 0, 0, 1]
# ```
#
# Row `i` of the weight matrix is query `i`'s distribution over keys `0..i`. Work out row 2 by hand:
# the scores of `sat` against `the, cat, sat` are `[0, 4, 0] / sqrt(2) = [0, 2.83, 0]`, `down` is masked,
# and the softmax gives `[0.05, 0.89, 0.05, 0]`: `sat` reads mostly from `cat`.

# %%
tokens = ["the", "cat", "sat", "down"]
Qw = np.array([[0.0, 0], [0, 0], [2, 0], [0, 2]])
Kw = np.array([[0.0, 0], [2, 0], [0, 2], [0, 0]])
Vw = np.eye(4)
scores_w = Qw @ Kw.T / np.sqrt(2)
out_w, weights_w = attention_forward(Qw, Kw, Vw, causal_mask(4))
print("scores / sqrt(d), before the mask:")
print(np.round(scores_w, 2))
print("\nweights (rows: queries, columns: keys; '.' = masked)")
print(" " * 6 + "".join(f"{t:>7s}" for t in tokens) + "   row sum")
for i, t in enumerate(tokens):
    cells = "".join(f"{weights_w[i, j]:7.2f}" if j <= i else f"{'.':>7s}" for j in range(4))
    print(f"{t:>6s}{cells}   {weights_w[i].sum():.2f}")
print("\noutput row 3 (down) =", np.round(out_w[3], 2), "= its weights, because each value is a name tag")

# %% [markdown]
# Four things to read off the matrix:
#
# - Everything above the diagonal is exactly 0: no token reads from its future.
# - Row 0 is `[1, 0, 0, 0]` whatever the numbers: the first token can only read itself.
# - Rows without a strong match spread evenly (`cat` has a zero query, so it averages `the` and itself);
#   a strong match concentrates the weight (`sat` -> `cat`, `down` -> `sat`).
# - Every row sums to 1, so an output is always a weighted *average* of values, never a sum that grows
#   with the sequence length.

# %% [markdown]
# ## 4. The backward pass of attention
#
# We could let autograd differentiate `Q @ K.T`, softmax and `@ V` op by op, but attention is the
# hottest loop of a Transformer, so frameworks fuse it into one operation with one hand-written
# backward. Let's derive it. Call the scores `S`, the weights `P = softmax(S)` and the output
# `O = P V`. We receive `dO` (the gradient of the loss with respect to `O`).
#
# ```
#   O = P @ V                 ->  dV = P^T @ dO          dP = dO @ V^T
#   P = softmax(S) row-wise   ->  dS = P * (dP - rowsum(dP * P))
#   S = Q @ K^T * c           ->  dQ = c * dS @ K        dK = c * dS^T @ Q        (c = 1/sqrt(d))
# ```
#
# The softmax line is the only subtle one. For one row, `dP_j/dS_i = P_j (delta_ij - P_i)`, so
# `dS_i = sum_j dP_j P_j (delta_ij - P_i) = P_i (dP_i - sum_j dP_j P_j)`. Masked entries have
# `P = 0`, so their `dS` is 0 automatically: no gradient flows into scores that were never used.
#
# Check the shapes for yourself: with `Q (T_q, d)`, `K (T_k, d)`, `V (T_k, d_v)`, every gradient has
# the shape of the thing it belongs to.

# %% nbgrader={"grade": false, "grade_id": "attention-backward", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class AttentionBackward(Function):
    """Gradients of softmax(Q K^T / sqrt(d)) V with respect to Q, K and V."""

    def __init__(self, q: Tensor, k: Tensor, v: Tensor, weights: np.ndarray):
        super().__init__(q, k, v)
        self.q, self.k, self.v = q.data, k.data, v.data
        self.weights = weights
        self.scale = 1.0 / np.sqrt(q.data.shape[-1])

    def backward(self, grad_output: np.ndarray) -> tuple:
        """Return (dQ, dK, dV) following the derivation above.

        HINTS:
        - Transpose the last two axes with np.swapaxes(a, -1, -2), never with .T (batch axes!).
        - rowsum(dP * P) needs keepdims=True so it broadcasts back over the row.
        """
        P, Q, K, V = self.weights, self.q, self.k, self.v
        ### BEGIN SOLUTION
        dV = np.swapaxes(P, -1, -2) @ grad_output
        dP = grad_output @ np.swapaxes(V, -1, -2)
        dS = P * (dP - (dP * P).sum(axis=-1, keepdims=True)) * self.scale
        dQ = dS @ K
        dK = np.swapaxes(dS, -1, -2) @ Q
        ### END SOLUTION
        # inputs with fewer batch axes than the result (broadcast) get their gradient summed back
        return unbroadcast(dQ, Q.shape), unbroadcast(dK, K.shape), unbroadcast(dV, V.shape)


def _mask_array(mask):
    if mask is None:
        return None
    data = mask.data if isinstance(mask, Tensor) else np.asarray(mask)
    return data.astype(bool)


def scaled_dot_product_attention(q: Tensor, k: Tensor, v: Tensor, mask=None):
    """Attention on Tensors: returns (output Tensor tracked by autograd, weights Tensor without grad).

    q (..., T_q, d), k (..., T_k, d), v (..., T_k, d_v); mask: boolean array/Tensor, True = may attend.
    """
    if q.shape[-1] != k.shape[-1]:
        raise ValueError(f"queries and keys need the same last dimension, got {q.shape} and {k.shape}")
    if k.shape[-2] != v.shape[-2]:
        raise ValueError(f"keys and values need the same length, got {k.shape} and {v.shape}")
    out, weights = attention_forward(q.data, k.data, v.data, _mask_array(mask))
    result = track(Tensor(out.astype(q.data.dtype, copy=False)), AttentionBackward(q, k, v, weights))
    return result, Tensor(weights)

# %% mutant={"name": "softmax-grad-without-rowsum", "target": "attention-backward", "replace": "dS = P * (dP - (dP * P).sum(axis=-1, keepdims=True)) * self.scale", "catches": ["test-attention-backward"]}
# Treats softmax like an elementwise function: drops the row-sum term of its Jacobian.
dS = P * dP * self.scale

# %% mutant={"name": "dk-not-transposed", "target": "attention-backward", "replace": "dK = np.swapaxes(dS, -1, -2) @ Q", "catches": ["test-attention-backward"]}
# dK computed as dS @ Q: same shape when T_q == T_k, wrong values.
dK = dS @ Q

# %% mutant={"name": "backward-forgets-scale", "target": "attention-backward", "replace": "dS = P * (dP - (dP * P).sum(axis=-1, keepdims=True)) * self.scale", "catches": ["test-attention-backward"]}
# The forward divided the scores by sqrt(d); the backward forgets to.
dS = P * (dP - (dP * P).sum(axis=-1, keepdims=True))

# %% nbgrader={"grade": true, "grade_id": "test-attention-backward", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
def test_attention_backward():
    """Analytic gradients of Q, K and V match numerical ones, with and without a causal mask."""
    rng = np.random.default_rng(0)
    q = Tensor(rng.normal(size=(2, 4, 3)), requires_grad=True)
    k = Tensor(rng.normal(size=(2, 4, 3)), requires_grad=True)
    v = Tensor(rng.normal(size=(2, 4, 2)), requires_grad=True)
    out, w = scaled_dot_product_attention(q, k, v, causal_mask(4))
    assert out.shape == (2, 4, 2) and w.shape == (2, 4, 4), f"shapes: out {out.shape}, weights {w.shape}"
    dO = rng.normal(size=out.shape)
    dQ, dK, dV = AttentionBackward(q, k, v, w.data).backward(dO)
    assert dQ.shape == q.shape and dK.shape == k.shape and dV.shape == v.shape, "each gradient has its input's shape"
    assert np.allclose(dV, np.swapaxes(w.data, -1, -2) @ dO), "dV should be P^T @ dO"
    q0 = Tensor(q.data[:, :1].copy(), requires_grad=True)
    _, w0 = scaled_dot_product_attention(q0, k, v, causal_mask(4)[:1])
    dQ0, dK0, _ = AttentionBackward(q0, k, v, w0.data).backward(np.ones((2, 1, 2)))
    assert np.allclose(dK0[:, 1:], 0.0), "keys a query never attended to (masked) must get zero gradient"
    check_gradients(lambda a, b, c: scaled_dot_product_attention(a, b, c, causal_mask(4))[0], q, k, v)
    check_gradients(lambda a, b, c: scaled_dot_product_attention(a, b, c)[0], q, k, v)
    print("attention backward: OK")
test_attention_backward()
### BEGIN HIDDEN TESTS
_r = np.random.default_rng(5)
_q = Tensor(_r.normal(size=(3, 2, 5)), requires_grad=True)
_k = Tensor(_r.normal(size=(4, 5)), requires_grad=True)       # broadcast over the batch axis
_v = Tensor(_r.normal(size=(4, 3)), requires_grad=True)
_ok = check_gradients(lambda a, b, c: scaled_dot_product_attention(a, b, c)[0], _q, _k, _v)
### END HIDDEN TESTS

# %% [markdown]
# `check_gradients` nudges every input entry by a tiny amount, measures how a random projection of the
# output changes, and compares that with your `backward`. The hidden part also shares one `K, V` across a
# batch of queries, which exercises `unbroadcast`.
#
# Let's look at what attention weights mean with a toy query. Below, token 3 is a query that matches
# token 1's key strongly; with and without the causal mask, where does its attention go?

# %%
keys = np.eye(4) * 3.0
query = keys[[1]]                      # looks for exactly what token 1 contains
values = np.arange(4.0)[:, None]       # value of token j is the number j
for name, m in (("no mask", None), ("causal, query at 0", causal_mask(4)[[0]])):
    out, w = attention_forward(query, keys, values, m)
    print(f"{name:20s} weights {np.round(w[0], 3)}  output {out[0, 0]:.3f}")

# %% [markdown]
# Without a mask the query reads mostly from token 1 (output close to 1). If the query sits at
# position 0 of a causal sequence, token 1 is in its future, so it can only read token 0.
#
# ## 5. Multi-head attention
#
# One attention pattern per layer is limiting: a token may want to look at the previous token (for
# spelling), at the subject of the sentence (for grammar) and at a matching bracket, all at once.
# **Multi-head attention** runs `H` smaller attentions in parallel, each on its own slice of the features:
#
# ```
#   x (B, T, D)
#     |-- q_proj --> Q (B, T, D) --split--> (B, H, T, D/H) --.
#     |-- k_proj --> K (B, T, D) --split--> (B, H, T, D/H) ---+-- attention per head --> (B, H, T, D/H)
#     '-- v_proj --> V (B, T, D) --split--> (B, H, T, D/H) --'                                |
#                                                                                           merge
#   out (B, T, D) <-- out_proj <---------------------------------------------------- (B, T, D)
# ```
#
# Splitting is only a reshape and a transpose: `(B, T, D) -> (B, T, H, D/H) -> (B, H, T, D/H)`. Head `h`
# owns feature columns `h*D/H ... (h+1)*D/H - 1`. The cost is the same as one big head; the gain is `H`
# independent patterns. All four projections are `Linear(D, D)` layers from module 03. Their inputs are
# `(B, T, D)`; we flatten to `(B*T, D)` so `Linear` sees the 2-D input it was written for.
#
# Because every step here (reshape, transpose, `Linear`, and your attention `Function`) knows its backward
# pass, gradients flow through the whole block without another line of calculus.

# %% nbgrader={"grade": false, "grade_id": "split-heads", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def split_heads(x: Tensor, num_heads: int) -> Tensor:
    """(B, T, D) -> (B, num_heads, T, D // num_heads). Uses Tensor.reshape and Tensor.transpose."""
    B, T, D = x.shape
    ### BEGIN SOLUTION
    return x.reshape(B, T, num_heads, D // num_heads).transpose(1, 2)
    ### END SOLUTION


def merge_heads(x: Tensor) -> Tensor:
    """(B, H, T, Dh) -> (B, T, H * Dh): the inverse of split_heads."""
    B, H, T, Dh = x.shape
    ### BEGIN SOLUTION
    return x.transpose(1, 2).reshape(B, T, H * Dh)
    ### END SOLUTION

# %% mutant={"name": "split-reshape-only", "target": "split-heads", "catches": ["test-split-heads"]}
# Reshapes straight to (B, H, T, Dh): each "head" then mixes several tokens.
return x.reshape(B, num_heads, T, D // num_heads)

# %% nbgrader={"grade": true, "grade_id": "test-split-heads", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
def test_split_heads():
    """Head h holds feature columns h*Dh..(h+1)*Dh-1, and merge undoes split."""
    x = Tensor(np.arange(2 * 3 * 8, dtype=np.float32).reshape(2, 3, 8))
    s = split_heads(x, 4)
    assert s.shape == (2, 4, 3, 2), f"(B, T, D) = (2, 3, 8) with 4 heads -> (2, 4, 3, 2), got {s.shape}"
    assert np.allclose(s.data[1, 2, 0], x.data[1, 0, 4:6]), "head 2 of token 0 should hold columns 4:6"
    back = merge_heads(s)
    assert back.shape == (2, 3, 8) and np.allclose(back.data, x.data), "merge_heads(split_heads(x)) must return x"
    print("split/merge heads: OK")
test_split_heads()

# %% [markdown]
# ### What splitting heads does in memory
#
# A NumPy array is one flat block of memory plus **strides**: how many bytes to step along each axis. A
# `(B, T, D)` activation is stored token by token, each token's `D` features side by side. Splitting into
# heads never moves a number:
#
# ```
#   memory (one batch row, T = 3 tokens, D = 8 features, H = 4 heads of Dh = 2):
#
#   | t0: f0 f1 | f2 f3 | f4 f5 | f6 f7 | t1: f0 f1 | f2 f3 | ... | t2: ... f6 f7 |
#        head 0   head 1  head 2  head 3      head 0   head 1
#
#   reshape (B, T, D) -> (B, T, H, Dh):   same bytes, one more axis; free (a view)
#   transpose -> (B, H, T, Dh):           same bytes, the strides of the T and H axes swap;
#                                         head h now *looks* like a (T, Dh) matrix, but its rows
#                                         are D * 4 bytes apart in memory, not Dh * 4
# ```
#
# The transpose is free too, but it leaves a **non-contiguous** view: walking one head's `(T, Dh)` matrix
# jumps over the other heads' features at every row. A matrix product on such a view must either gather
# it into a contiguous copy or run a slower strided loop; frameworks spend real effort on kernels that
# take the strided layout directly. Let's check the strides.

# %%
xm = np.arange(1 * 3 * 8, dtype=np.float32).reshape(1, 3, 8)
views = {"x (B, T, D)": xm, "reshape (B, T, H, Dh)": xm.reshape(1, 3, 4, 2),
         "transpose (B, H, T, Dh)": xm.reshape(1, 3, 4, 2).transpose(0, 2, 1, 3)}
print(f"{'view':26s} {'shape':>14s} {'strides (bytes)':>18s} {'contiguous':>11s} {'shares memory':>14s}")
for name, a in views.items():
    print(f"{name:26s} {str(a.shape):>14s} {str(a.strides):>18s} {str(a.flags['C_CONTIGUOUS']):>11s} "
          f"{str(np.shares_memory(a, xm)):>14s}")
print("head 1 of the transposed view:\n", views["transpose (B, H, T, Dh)"][0, 1])

# %% [markdown]
# Head 1 holds features 2 and 3 of every token, exactly the columns the diagram marks, and all three
# views share the original memory. In the transposed view, stepping to the next token (axis 2) jumps 32
# bytes (the whole token), while stepping to the next head (axis 1) jumps only 8 bytes: that is what
# "not contiguous" means. `merge_heads` undoes the transpose; its final reshape is where NumPy has to
# copy the data back into one contiguous `(B, T, D)` block.

# %% nbgrader={"grade": false, "grade_id": "multi-head-attention", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class MultiHeadAttention(Module):
    """Self-attention with `num_heads` heads: x (B, T, D) -> (B, T, D).

    causal=True applies causal_mask(T) on every call (for language models); an extra boolean
    `mask` passed to forward (broadcastable to (B, H, T, T)) is combined with it.
    The weights of the last call are kept in `self.last_weights` (B, H, T, T) for inspection.
    """

    def __init__(self, embed_dim: int, num_heads: int, causal: bool = False, bias: bool = True):
        super().__init__()
        if embed_dim % num_heads:
            raise ValueError(f"embed_dim {embed_dim} is not divisible by num_heads {num_heads}")
        self.embed_dim, self.num_heads, self.causal = embed_dim, num_heads, causal
        self.head_dim = embed_dim // num_heads
        self.q_proj = Linear(embed_dim, embed_dim, bias=bias)
        self.k_proj = Linear(embed_dim, embed_dim, bias=bias)
        self.v_proj = Linear(embed_dim, embed_dim, bias=bias)
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias)
        self.last_weights = None

    def _project(self, layer: Linear, x: Tensor) -> Tensor:
        B, T, D = x.shape
        return layer(x.reshape(B * T, D)).reshape(B, T, layer.weight.shape[1])

    def _full_mask(self, T: int, mask):
        m = _mask_array(mask)
        if self.causal:
            m = causal_mask(T) if m is None else (m & causal_mask(T))
        return m

    def forward(self, x: Tensor, mask=None) -> Tensor:
        """Project to Q, K, V, split heads, attend, merge heads, project out.

        HINTS: self._project(self.q_proj, x) gives Q as (B, T, D); split_heads; then
        scaled_dot_product_attention(q, k, v, m) returns (output, weights); merge_heads; out_proj.
        """
        if x.ndim != 3 or x.shape[-1] != self.embed_dim:
            raise ValueError(f"MultiHeadAttention expects (B, T, {self.embed_dim}), got {x.shape}")
        T = x.shape[1]
        m = self._full_mask(T, mask)
        ### BEGIN SOLUTION
        q = split_heads(self._project(self.q_proj, x), self.num_heads)
        k = split_heads(self._project(self.k_proj, x), self.num_heads)
        v = split_heads(self._project(self.v_proj, x), self.num_heads)
        out, weights = scaled_dot_product_attention(q, k, v, m)
        self.last_weights = weights
        return self._project(self.out_proj, merge_heads(out))
        ### END SOLUTION

# %% mutant={"name": "no-out-projection", "target": "multi-head-attention", "replace": "return self._project(self.out_proj, merge_heads(out))", "catches": ["test-multi-head-attention"]}
# Merges the heads but never applies the output projection.
return merge_heads(out)

# %% mutant={"name": "values-from-keys", "target": "multi-head-attention", "replace": "v = split_heads(self._project(self.v_proj, x), self.num_heads)", "catches": ["test-multi-head-attention"]}
# Copy-paste slip: values projected with the key layer.
v = split_heads(self._project(self.k_proj, x), self.num_heads)

# %% nbgrader={"grade": true, "grade_id": "test-multi-head-attention", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
def test_multi_head_attention():
    """Shapes, parameter count, causality, agreement with a one-head NumPy reference, and gradients."""
    rng = np.random.default_rng(0)
    mha = MultiHeadAttention(8, 2, causal=True)
    assert mha.num_parameters() == 4 * (8 * 8 + 8), f"4 projections of 8x8 + bias = 288 parameters, got {mha.num_parameters()}"
    x = Tensor(rng.normal(size=(2, 5, 8)).astype(np.float32))
    y = mha(x)
    assert y.shape == (2, 5, 8), f"output shape must be (B, T, D) = (2, 5, 8), got {y.shape}"
    assert mha.last_weights is not None and mha.last_weights.shape == (2, 2, 5, 5), "keep weights as (B, H, T, T)"
    x2 = x.data.copy(); x2[:, 4] += 10.0
    y2 = mha(Tensor(x2))
    assert np.allclose(y.data[:, :4], y2.data[:, :4], atol=1e-5), "causal: changing token 4 must not change tokens 0-3"
    assert not np.allclose(y.data[:, 4], y2.data[:, 4]), "token 4's own output should change"
    one = MultiHeadAttention(4, 1)
    xs = rng.normal(size=(1, 3, 4)).astype(np.float32)
    W = lambda lin: (lin.weight.data, lin.bias.data)
    proj = lambda lin, a: a @ W(lin)[0] + W(lin)[1]
    ref, _ = attention_forward(proj(one.q_proj, xs), proj(one.k_proj, xs), proj(one.v_proj, xs))
    assert np.allclose(one(Tensor(xs)).data, proj(one.out_proj, ref), atol=1e-5), "one head must equal plain attention"
    small = MultiHeadAttention(4, 2, causal=True)
    xin = Tensor(rng.normal(size=(2, 3, 4)), requires_grad=True)
    check_gradients(lambda a, wq, wo: small(a), xin, small.q_proj.weight, small.out_proj.weight)
    print("MultiHeadAttention: OK")
test_multi_head_attention()
### BEGIN HIDDEN TESTS
_m = MultiHeadAttention(6, 3)
_x = Tensor(np.random.default_rng(3).normal(size=(1, 4, 6)), requires_grad=True)
check_gradients(lambda a, wk, wv, bo: _m(a), _x, _m.k_proj.weight, _m.v_proj.weight, _m.out_proj.bias)
_pad = np.array([True, True, True, False])           # key 3 is padding
_y1 = _m(_x, mask=_pad).data
_x2 = _x.data.copy(); _x2[0, 3] += 5
assert np.allclose(_m(Tensor(_x2), mask=_pad).data[0, :3], _y1[0, :3], atol=1e-5), "masked keys must be ignored"
try:
    MultiHeadAttention(10, 3)
    raise AssertionError("10 features cannot be split into 3 heads")
except ValueError:
    pass
### END HIDDEN TESTS

# %% [markdown]
# The test checks shapes and the parameter count, proves causality (editing the last token leaves earlier
# outputs unchanged), compares one head against the NumPy reference, and runs `check_gradients` through
# the whole block: input, a query projection weight and the output projection.
#
# ## 6. Systems analysis: the price of looking at everything
#
# Every query compares itself with every key, so the score matrix has `T x T` entries per head. Let's
# count and then measure. For one layer with batch `B`, `H` heads of size `Dh` (`D = H * Dh`):
#
# | step | FLOPs (multiply-adds x 2) | memory that grows with T |
# |---|---|---|
# | Q, K, V, out projections | `8 B T D^2` | `B T D` activations |
# | `Q K^T` and `P V` | `4 B T^2 D` | `B H T^2` weights (kept for backward) |
#
# The projections grow linearly in `T`, the attention part quadratically: beyond `T ~ 2D` the quadratic
# part dominates. Let's measure forward + backward time of the attention core, and the bytes of the weight
# matrix, while doubling `T`.

# %%
def median_time(fn, repeats=3):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))

rng = np.random.default_rng(0)
B, H, Dh = 1, 4, 16
rows, prev = [], None
print(f"{'T':>5s} {'weights MiB':>11s} {'fwd FLOPs':>12s} {'fwd+bwd ms':>11s} {'x prev':>7s}")
for T in (64, 128, 256, 512, 1024):
    q, k, v = (rng.normal(size=(B, H, T, Dh)).astype(np.float32) for _ in range(3))
    dO = np.ones((B, H, T, Dh), dtype=np.float32)
    def step():
        out, w = attention_forward(q, k, v, causal_mask(T))
        AttentionBackward(Tensor(q), Tensor(k), Tensor(v), w).backward(dO)
    t = median_time(step)
    w_bytes = B * H * T * T * 4
    flops = 4 * B * T * T * H * Dh
    rows.append((T, t))
    print(f"{T:5d} {w_bytes / 2**20:11.2f} {flops / 1e6:10.1f} M {t * 1e3:11.2f} {'' if prev is None else f'{t / prev:6.1f}x'}")
    prev = t
slope = np.polyfit(np.log([r[0] for r in rows[2:]]), np.log([r[1] for r in rows[2:]]), 1)[0]
print(f"fitted exponent of time vs T (T >= 256): {slope:.2f}   (2.0 = quadratic)")

# %% [markdown]
# Every doubling of `T` multiplies the weight memory by exactly 4, and once the arrays are big enough
# for the fixed overheads to stop mattering, the time grows by roughly 4x as well (the fitted exponent is
# printed above; small sizes are dominated by Python and NumPy call overhead, so we fit only the larger
# ones). At `T = 1024` one layer with four heads already keeps 16 MiB of weights for the backward pass,
# per sequence in the batch; a model with 12 layers, 12 heads and `T = 8192` would need
# `12 * 12 * 8192^2 * 4` bytes, about 38.7 GB (36 GiB), per sequence for the float32 weights alone. This is why long-context models use tricks such as FlashAttention (recompute
# the weights in tiles during backward instead of storing them) or sparse and sliding-window attention.
# The next experiment builds the first of these.

# %% [markdown]
# ### Tiled attention: never storing the `T x T` matrix
#
# The weight matrix is needed for one reason: the backward pass. FlashAttention (2022) showed that it
# does not have to be stored at all. The forward pass walks over the keys in **tiles** of `b` columns and
# keeps, per query row, only three running quantities: the largest score so far `m`, the softmax
# denominator so far `l`, and the output so far `o` (still unnormalised). When a new tile raises the
# maximum from `m` to `m'`, everything accumulated so far is rescaled by `exp(m - m')`:
#
# ```
#   for each key tile j (columns j*b .. j*b + b - 1):
#       S    = Q @ K_j.T / sqrt(d)                  (T, b)   only one tile of scores exists at a time
#       m'   = max(m, rowmax(S))
#       P    = exp(S - m')                          (T, b)
#       l    = l * exp(m - m') + rowsum(P)
#       o    = o * exp(m - m') + P @ V_j
#       m    = m'
#   output = o / l
# ```
#
# This **online softmax** gives exactly the same output as the full softmax (up to rounding), but the
# largest array is one `(T, b)` tile. The backward pass then *recomputes* each tile of `P` from `Q`, `K`
# and the saved `m` and `l` (two numbers per row) instead of reading a stored `T x T` matrix: it trades
# one extra pass of arithmetic for `T^2` memory. On a GPU that trade is a clear win, because the tiles
# live in fast on-chip memory and the `T x T` matrix never touches slow memory. Let's measure what it
# does in NumPy, for one head with `d = 64`.

# %%
import tracemalloc


def tiled_attention(Q, K, V, block=128):
    """softmax(Q K^T / sqrt(d)) V computed tile by tile over the keys (online softmax), no (T, T) array.

    Returns (output, m, l): m and l are the per-row max and denominator a backward pass would keep.
    """
    T, d = Q.shape
    scale = 1.0 / np.sqrt(d)
    m = np.full((T, 1), -np.inf, dtype=Q.dtype)
    l = np.zeros((T, 1), dtype=Q.dtype)
    o = np.zeros((T, V.shape[1]), dtype=Q.dtype)
    for j in range(0, K.shape[0], block):
        S = (Q @ K[j:j + block].T) * scale
        m_new = np.maximum(m, S.max(axis=1, keepdims=True))
        P = np.exp(S - m_new)
        correction = np.exp(m - m_new)
        l = l * correction + P.sum(axis=1, keepdims=True)
        o = o * correction + P @ V[j:j + block]
        m = m_new
    return o / l, m, l


def peak_bytes_of(fn):
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


rng_t = np.random.default_rng(0)
print(f"{'T':>5s} {'max |diff|':>11s} {'naive peak MiB':>15s} {'tiled peak MiB':>15s} "
      f"{'naive ms':>9s} {'tiled ms':>9s} {'recompute ms':>13s}")
for T in (512, 1024, 2048):
    Qt, Kt, Vt = (rng_t.normal(size=(T, 64)).astype(np.float32) for _ in range(3))
    naive_out, _ = attention_forward(Qt, Kt, Vt)
    tiled_out, m_rows, l_rows = tiled_attention(Qt, Kt, Vt)
    diff = np.abs(naive_out - tiled_out).max()
    mem_naive = peak_bytes_of(lambda: attention_forward(Qt, Kt, Vt))
    mem_tiled = peak_bytes_of(lambda: tiled_attention(Qt, Kt, Vt))
    t_naive = median_time(lambda: attention_forward(Qt, Kt, Vt))
    t_tiled = median_time(lambda: tiled_attention(Qt, Kt, Vt))
    # what a backward pass adds: recompute every tile of P from Q, K and the saved m
    t_recompute = median_time(lambda: [np.exp((Qt @ Kt[j:j + 128].T) / 8.0 - m_rows) for j in range(0, T, 128)])
    print(f"{T:5d} {diff:11.1e} {mem_naive / 2**20:15.2f} {mem_tiled / 2**20:15.2f} "
          f"{t_naive * 1e3:9.2f} {t_tiled * 1e3:9.2f} {t_recompute * 1e3:13.2f}")

# %% [markdown]
# The outputs agree to rounding error. The memory columns show the point of the method: the naive
# version's peak grows with `T^2` (it holds the scores, their exponentials and the weights, each `T x T`),
# while the tiled version's peak grows only with `T` (a few `(T, 128)` tiles and the `(T, 64)` output), so
# doubling `T` doubles it instead of quadrupling it. The time columns depend on the machine, so read them
# from your own run. For short sequences the two versions take about the same time: the tiled one does
# the same arithmetic plus a rescaling per tile and a Python loop. Once the naive version's `T x T` arrays
# outgrow the caches, its time grows faster than `T^2`, and the tiled version, whose working set is a few
# cache-sized tiles, can overtake it (module 18 explains why). The recomputation a backward pass would add
# costs roughly one more pass over the scores. On a GPU the same trade pays off much more, because
# there the naive version's `T x T` matrices must travel to and from slow memory.

# %% [markdown]
# Now compare the two halves of a real layer: the projections (linear in `T`) and the attention core
# (quadratic), for the width `D = 64` we will use in module 13.

# %%
D = 64
print(f"{'T':>5s} {'projection FLOPs':>17s} {'attention FLOPs':>16s} {'attention share':>16s}")
for T in (16, 64, 128, 256, 1024):
    proj_flops = 8 * T * D * D
    attn_flops = 4 * T * T * D
    print(f"{T:5d} {proj_flops / 1e6:15.2f} M {attn_flops / 1e6:14.2f} M {attn_flops / (proj_flops + attn_flops):15.0%}")

# %% [markdown]
# The crossover is at `T = 2D`: for short contexts the projections (and, in module 13, the MLP) cost more
# than attention; for long contexts attention takes over.
#
# ## Summary
#
# - Attention is a soft dictionary lookup: `softmax(Q K^T / sqrt(d)) V`. The `sqrt(d)` keeps scores in a
#   range where the softmax still has useful gradients.
# - Masks set forbidden scores to `-inf`; the causal mask lets a language model train on all positions at
#   once without seeing the future. Fully masked rows need care to avoid NaN.
# - The backward pass is four matrix products and the softmax Jacobian-vector product
#   `P * (dP - rowsum(dP * P))`; masked positions receive no gradient automatically.
# - Multi-head attention splits the features into `H` heads with a reshape and a transpose, runs one batched
#   attention, and merges back. Autograd handles the projections; your `Function` handles the core.
# - Time and memory grow with `T^2`: measured above as 4x per doubling of the sequence.
#
# ## Reflection questions
#
# 1. What happens to the softmax and its gradient if you forget the `1/sqrt(d)` and `d = 512`? Try it with
#    `masked_softmax` on random scores and look at the largest weight per row.
# 2. At generation time a language model produces one token at a time. Which of `Q`, `K`, `V` for the *old*
#    tokens can be cached between steps, and how does that change the cost of producing token `t`?
# 3. Our backward stores the full `(B, H, T, T)` weight matrix. How could you avoid storing it, and what
#    would you pay instead?
# 4. Why does splitting `D` into `H` heads not change the FLOP count, and what does it change?
# 5. Without positional encodings, show that self-attention is permutation-equivariant: permuting the input
#    rows permutes the output rows. Which line of the derivation makes this true?
