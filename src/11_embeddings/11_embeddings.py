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
#     title: Embeddings
#     summary: Turn token ids into trainable vectors with a lookup table whose backward pass is a scatter-add, and give every position its own signature so order is not lost.
#     tier: architecture
#     minutes: 120
#     prerequisites: [01_tensor, 03_layers, 05_autograd, 10_tokenization]
#     objectives:
#       - Explain why an embedding lookup is a one-hot matrix product that never builds the one-hot matrix
#       - Build an Embedding layer whose backward pass scatter-adds gradients into the rows that were used (np.add.at)
#       - Build sinusoidal and learned positional encodings and say what each can and cannot do
#       - Measure embedding memory for real vocabulary sizes and the speed of lookup versus one-hot products
#     exports: [Embedding, PositionalEncoding, LearnedPositionalEncoding, sinusoidal_encoding, embedding_memory]
#     milestone: null
# ---

# %% [markdown]
# # Module 11: Embeddings
#
# A tokenizer (module 10) turns text into integers: `"to be"` might become `[19, 14, 0, 1, 4]`.
# A neural network cannot do much with the raw number 19. The id is a *name*, not a quantity:
# token 19 is not "a bit more" than token 18. What the network needs is a vector per token
# that it is free to shape during training, so that tokens used in similar ways end up with
# similar vectors.
#
# An **embedding table** is exactly that: a matrix with one trainable row per token id.
# Looking up a token means reading its row. Every language model you have heard of starts
# this way, and for many of them the embedding table is one of the biggest tensors in the model.
#
# ### Why not just feed the ids, or one-hot vectors?
#
# There are two obvious alternatives, and it is worth seeing why neither survives contact with a real model.
#
# - **Feed the id as a number.** A `Linear` layer would then compute `w * 19 + b`: the output for token 19
#   is forced to lie on the same straight line as the outputs for tokens 18 and 20. Ids are assigned by the
#   tokenizer's merge order or alphabetically, so that line means nothing. The network would waste its
#   capacity undoing an ordering that was never there.
# - **Feed a one-hot vector** of length `V` (the vocabulary size) with a single 1 at the id. Now no token is
#   "bigger" than another, which fixes the first problem. The first `Linear(V, D, bias=False)` layer then
#   multiplies that vector by a `(V, D)` weight matrix. As section 1 shows, the result is simply row `id`
#   of the matrix, so the layer is an embedding table in disguise, computed in the most wasteful way possible.
#
# The embedding layer keeps the good half of the second idea (one independent, trainable vector per token)
# and throws away the waste (building and multiplying the mostly-zero one-hot vectors). PyTorch calls it
# `nn.Embedding`, and it is the first layer of every language model in this course.
#
# ### Where the table sits
#
# The diagram follows one batch of text through the front of a language model. This module builds the two
# boxes in the middle: the token lookup and the position vectors that are added to it.
#
# ```{mermaid}
# flowchart TD
#   S["text"] -- "tokenizer (module 10)" --> I["ids (B, T)"]
#   I -- "Embedding: row lookup" --> E["token vectors (B, T, D)"]
#   P["position vectors (T, D)"] --> A(("+"))
#   E --> A
#   A --> X["model input (B, T, D)"]
#   X --> M["attention blocks<br/>(modules 12, 13)"]
#   M -- "output layer D to V" --> L["next-token scores (B, T, V)"]
# ```
#
# The last arrow matters too: the output layer has the same `V x D` shape as the table, and section 4
# shows how many parameters a model saves by letting the two share one matrix.
#
# ## What you will build
#
# - `Embedding(vocab_size, embed_dim)`: a lookup layer with a hand-written backward pass
#   (a *scatter-add*, `np.add.at`), checked against numerical gradients.
# - `sinusoidal_encoding` and `PositionalEncoding`: fixed position signatures made of sines and cosines.
# - `LearnedPositionalEncoding`: one trainable vector per position.
# - `embedding_memory`: how many bytes a table costs once you count gradients and optimizer state.
#
# ## Learning objectives
#
# - Explain why an embedding lookup is a one-hot matrix product that never builds the one-hot matrix.
# - Build an `Embedding` layer whose backward pass scatter-adds gradients into the rows that were used.
# - Build sinusoidal and learned positional encodings and say what each can and cannot do.
# - Measure embedding memory for real vocabulary sizes and the speed of lookup versus one-hot products.

# %%
#| default_exp core.embeddings

# %%
#| export
import numpy as np

from tinytorch.core.tensor import Tensor
from tinytorch.core.layers import Module, _as_rng
from tinytorch.core.autograd import Function, track

# %%
#| hide
import time

from tinytorch.core.autograd import check_gradients

np.set_printoptions(precision=4, suppress=True)

# %% [markdown]
# ## 1. The idea: a lookup is a one-hot product
#
# Take a toy vocabulary of 4 tokens, `{0: "the", 1: "cat", 2: "sat", 3: "mat"}`, and give each token a
# 3-dimensional vector. The table `W` has shape `(4, 3)`, one row per token. To embed the sequence
# `[3, 0, 3]` ("mat the mat"), write each id as a one-hot row and multiply:
#
# ```
#  one-hot (3 x 4)          W (4 x 3)                      result (3 x 3)
#  [0 0 0 1]         row0 [ 0.5  -1.0   0.2]          [ 1.5   1.5  -0.6]   <- row 3
#  [1 0 0 0]    @    row1 [ 2.0   0.0  -0.4]     =    [ 0.5  -1.0   0.2]   <- row 0
#  [0 0 0 1]         row2 [-0.3   0.7   1.1]          [ 1.5   1.5  -0.6]   <- row 3
#                    row3 [ 1.5   1.5  -0.6]
# ```
#
# Why does a row simply get copied? Write out one entry of the product. Entry `(0, 0)` of the result is
# the first one-hot row dotted with the first column of `W`:
#
# ```
#   0 * 0.5  +  0 * 2.0  +  0 * (-0.3)  +  1 * 1.5   =   1.5
# ```
#
# Four multiply-adds, and three of them multiply by zero. In general, entry `(t, j)` is
# `sum_v onehot[t, v] * W[v, j]`, and the only term that survives is `v = ids[t]`, so the whole output row
# `t` equals `W[ids[t]]`. NumPy can do that copy directly with integer indexing, `W[[3, 0, 3]]`, which
# costs `len(ids) x embed_dim` reads instead of `len(ids) x vocab x embed_dim` multiply-adds. With a
# vocabulary of 50,000 that is the difference between copying a row and multiplying it by 49,999 zeros.
#
# Let's confirm the arithmetic with the same numbers before building anything on it.

# %%
W_toy = np.array([[0.5, -1.0, 0.2], [2.0, 0.0, -0.4], [-0.3, 0.7, 1.1], [1.5, 1.5, -0.6]])
ids_toy = np.array([3, 0, 3])
onehot_toy = np.eye(4)[ids_toy]                   # (3, 4): one 1 per row
print("one-hot @ W:\n", onehot_toy @ W_toy)
print("W[ids]:\n", W_toy[ids_toy])
print("identical:", np.array_equal(onehot_toy @ W_toy, W_toy[ids_toy]))
V_toy, D_toy = W_toy.shape
print(f"multiply-adds in the product: {len(ids_toy) * V_toy * D_toy}, "
      f"of which non-zero: {len(ids_toy) * D_toy}; values copied by the lookup: {len(ids_toy) * D_toy}")

# %% [markdown]
# The two results agree exactly (not just approximately), because adding zeros never changes a
# floating-point number. Only a quarter of the product's work touched a non-zero, and with a real
# vocabulary that fraction is `1 / V`: one part in fifty thousand.
#
# ### And the gradient?
#
# Thinking of the lookup as `onehot @ W` also tells us the gradient. For `Y = onehot @ W`,
# `dL/dW = onehot.T @ dL/dY`. Row `r` of that product is the **sum of the output gradients
# of every position that looked up token `r`**. Rows nobody used get zero.
#
# ```
#  ids        = [3, 0, 3]
#  dL/dY      = [[1, 1, 1],      position 0 (token 3)
#                [2, 2, 2],      position 1 (token 0)
#                [5, 5, 5]]      position 2 (token 3)
#
#  dL/dW row0 = [2, 2, 2]                      (only position 1)
#  dL/dW row3 = [1, 1, 1] + [5, 5, 5] = [6, 6, 6]   (positions 0 and 2 ADD UP)
#  other rows = 0
# ```
#
# Two consequences are worth saying out loud. First, the gradient is **sparse**: in a batch of a few
# hundred tokens drawn from a vocabulary of fifty thousand, almost every row gets exactly zero, and that
# row's vector does not move in this step. Second, a token that occurs often collects many contributions,
# while a rare token is touched only in the few batches that contain it. Frequent words therefore get
# well-trained vectors quickly; rare ones stay close to their random start for a long time.
#
# The tricky part is the repeated id. NumPy's fancy-index assignment `G[ids] += dY` does **not**
# add twice for a repeated index. Python runs it as three separate steps:
#
# ```
#   tmp = G[ids]          # a COPY of rows 3, 0, 3   (both copies of row 3 are zeros)
#   tmp = tmp + dY        # rows become [1,1,1], [2,2,2], [5,5,5]
#   G[ids] = tmp          # writes row 3, then row 0, then row 3 again: the last write wins
# ```
#
# Row 3 ends up holding `[5, 5, 5]`; the `[1, 1, 1]` was overwritten, not added. NumPy calls this a
# *buffered* operation. `np.add.at(G, ids, dY)` is the unbuffered version that really accumulates, one
# index at a time. Let's see the difference with our own eyes before we rely on it:

# %%
ids = np.array([3, 0, 3])
dY = np.array([[1.0, 1, 1], [2, 2, 2], [5, 5, 5]])
buffered = np.zeros((4, 3))
buffered[ids] += dY
unbuffered = np.zeros((4, 3))
np.add.at(unbuffered, ids, dY)
print("G[ids] += dY      row 3:", buffered[3], " (wrong: one update was lost)")
print("np.add.at(G, ...) row 3:", unbuffered[3], " (right: 1 + 5 = 6)")
print("matches onehot.T @ dY:  ", np.array_equal(unbuffered, np.eye(4)[ids].T @ dY))

# %% [markdown]
# The last line checks the scatter-add against the matrix formula `onehot.T @ dY` we derived it from.
# The bug it guards against is nasty because it is silent: shapes are right, nothing crashes, and in a
# batch where no token repeats the result is even correct. It only shows up as a model that learns
# common tokens more slowly than it should.

# %% [markdown]
# ## 2. The `Embedding` layer
#
# We split the layer into the three pieces every hand-written layer in this course has:
#
# 1. a **forward function** on plain NumPy arrays (`embedding_forward`),
# 2. a **backward `Function`** that remembers what it needs (`EmbeddingBackward`),
# 3. a **`Module`** that owns the parameter and wires the two together (`Embedding`).
#
# Indices may arrive as a Python list, a NumPy array or an integer `Tensor`, with any shape:
# `(T,)` for one sequence, `(B, T)` for a batch. The output adds one axis: `(B, T, embed_dim)`.
# Bad ids are the most common embedding bug in practice (a tokenizer and a model that disagree
# about the vocabulary size), so we refuse them loudly instead of letting NumPy wrap negative ids
# around to the end of the table.

# %%
#| export
def _as_index_array(indices) -> np.ndarray:
    """Token ids as an integer NumPy array (accepts list, ndarray or Tensor)."""
    data = indices.data if isinstance(indices, Tensor) else np.asarray(indices)
    if data.dtype.kind not in "iu":
        if data.size and not np.all(np.equal(np.mod(data, 1), 0)):
            raise TypeError(f"embedding indices must be integers, got dtype {data.dtype}")
        data = data.astype(np.int64)
    return data

# %% nbgrader={"grade": false, "grade_id": "embedding-forward", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def embedding_forward(weight: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """Look up the rows of `weight` named by `indices`.

    weight:  (vocab_size, embed_dim) array
    indices: integer array of any shape S, every value in [0, vocab_size)
    returns: array of shape S + (embed_dim,)

    EXAMPLE:
        >>> W = np.arange(6.0).reshape(3, 2)      # rows [0,1], [2,3], [4,5]
        >>> embedding_forward(W, np.array([[2, 0]]))
        array([[[4., 5.],
                [0., 1.]]])

    HINTS:
    - Check the range first: raise IndexError naming the bad id and the vocabulary size
      if any id is < 0 or >= vocab_size (NumPy would silently accept -1).
    - Integer-array indexing `weight[indices]` does the whole lookup, for any shape of indices.
    """
    vocab_size = weight.shape[0]
    ### BEGIN SOLUTION
    if indices.size:
        lo, hi = int(indices.min()), int(indices.max())
        if lo < 0 or hi >= vocab_size:
            bad = lo if lo < 0 else hi
            raise IndexError(f"token id {bad} is out of range for an embedding table of {vocab_size} rows "
                             f"(valid ids are 0..{vocab_size - 1})")
    return weight[indices]
    ### END SOLUTION

# %% mutant={"name": "no-range-check", "target": "embedding-forward", "catches": ["test-embedding-forward"]}
# Trusting NumPy to reject bad ids: weight[-1] silently returns the last row.
return weight[indices]

# %% nbgrader={"grade": true, "grade_id": "test-embedding-forward", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
def test_embedding_forward():
    """Lookup copies rows, keeps the index shape and rejects ids outside the table."""
    W = np.arange(12.0).reshape(4, 3)
    out = embedding_forward(W, np.array([3, 0, 3]))
    assert out.shape == (3, 3), f"3 ids with embed_dim 3 should give shape (3, 3), got {out.shape}"
    assert np.allclose(out, [[9, 10, 11], [0, 1, 2], [9, 10, 11]]), f"rows were not copied correctly:\n{out}"
    batch = embedding_forward(W, np.array([[1, 2], [0, 1]]))
    assert batch.shape == (2, 2, 3), f"a (2, 2) batch of ids should give (2, 2, 3), got {batch.shape}"
    assert np.allclose(batch[1, 0], W[0]), "batch[1, 0] should be row 0 of the table"
    for bad in (4, -1):
        try:
            embedding_forward(W, np.array([0, bad]))
        except IndexError:
            pass
        else:
            raise AssertionError(f"id {bad} is outside a 4-row table: raise IndexError instead of returning a row")
    print("embedding_forward: OK")
test_embedding_forward()
### BEGIN HIDDEN TESTS
_W = np.random.default_rng(0).normal(size=(7, 5))
_ids = np.random.default_rng(1).integers(0, 7, size=(3, 4, 2))
assert np.array_equal(embedding_forward(_W, _ids), np.eye(7)[_ids] @ _W), "lookup must equal the one-hot product"
try:
    embedding_forward(_W, np.array([7]))
    raise AssertionError("id == vocab_size must be rejected")
except IndexError:
    pass
### END HIDDEN TESTS

# %% [markdown]
# The test checks values against hand-computed rows, the output shape for a batch, and that ids
# `-1` and `vocab_size` are refused (the hidden part also compares with an explicit one-hot product).
#
# ### The backward pass: scatter-add
#
# `EmbeddingBackward` is an autograd `Function` (module 05). Its only differentiable input is the
# weight table; the ids are integers and have no gradient. In `backward` you receive `grad_output`
# with shape `indices.shape + (embed_dim,)` and must return a tuple with the gradient for the
# table, shape `(vocab_size, embed_dim)`.

# %% nbgrader={"grade": false, "grade_id": "embedding-backward", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class EmbeddingBackward(Function):
    """Gradient of an embedding lookup with respect to the table."""

    def __init__(self, weight: Tensor, indices: np.ndarray):
        super().__init__(weight)
        self.indices = indices
        self.table_shape = weight.data.shape

    def backward(self, grad_output: np.ndarray) -> tuple:
        """Scatter-add every position's gradient into the row of the token it looked up.

        EXAMPLE: indices [3, 0, 3] and grad_output rows g0, g1, g2 give
                 grad[0] = g1, grad[3] = g0 + g2, every other row 0.

        HINTS:
        - Start from zeros of the table's shape (self.table_shape), dtype of grad_output.
        - Flatten the ids to 1-D and grad_output to (-1, embed_dim) so any batch shape works.
        - Use np.add.at: `grad[ids] += g` would lose updates for repeated ids.
        """
        ### BEGIN SOLUTION
        grad = np.zeros(self.table_shape, dtype=grad_output.dtype)
        np.add.at(grad, self.indices.reshape(-1), grad_output.reshape(-1, self.table_shape[1]))
        ### END SOLUTION
        return (grad,)

# %% mutant={"name": "backward-plus-equals", "target": "embedding-backward", "catches": ["test-embedding-backward"]}
# Fancy-index += is buffered: a repeated id keeps only its last update.
grad = np.zeros(self.table_shape, dtype=grad_output.dtype)
grad[self.indices.reshape(-1)] += grad_output.reshape(-1, self.table_shape[1])

# %% [markdown]
# Now the layer. The weight starts as small Gaussian noise with standard deviation
# `1 / sqrt(embed_dim)`, so each row has a length close to 1 whatever the width: big enough to tell
# tokens apart, small enough not to swamp the positional signal we add later.

# %% nbgrader={"grade": false, "grade_id": "embedding-layer", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class Embedding(Module):
    """A trainable lookup table: token ids (any shape) -> vectors (that shape + (embed_dim,))."""

    def __init__(self, vocab_size: int, embed_dim: int, seed: int | None = None):
        super().__init__()
        if vocab_size <= 0 or embed_dim <= 0:
            raise ValueError(f"vocab_size and embed_dim must be positive, got {vocab_size} and {embed_dim}")
        self.vocab_size = vocab_size
        self.embed_dim = embed_dim
        rng = _as_rng(seed)   # None -> NumPy's global generator, like Linear: np.random.seed(...) reproduces it
        table = rng.normal(0.0, 1.0 / np.sqrt(embed_dim), size=(vocab_size, embed_dim)).astype(np.float32)
        self.weight = Tensor(table, requires_grad=True)

    def forward(self, indices) -> Tensor:
        """Embed `indices` and connect the result to the autograd graph.

        HINTS:
        - ids = _as_index_array(indices) turns lists/Tensors into an int array.
        - Compute the values with embedding_forward, wrap them in a Tensor, and hand that
          Tensor and an EmbeddingBackward(self.weight, ids) to track(...).
        """
        ids = _as_index_array(indices)
        ### BEGIN SOLUTION
        out = Tensor(embedding_forward(self.weight.data, ids))
        return track(out, EmbeddingBackward(self.weight, ids))
        ### END SOLUTION

    def __repr__(self) -> str:
        return f"Embedding(vocab_size={self.vocab_size}, embed_dim={self.embed_dim})"

# %% mutant={"name": "forward-not-tracked", "target": "embedding-layer", "catches": ["test-embedding-backward"]}
# The lookup is right but never joins the graph, so the table never learns.
return Tensor(embedding_forward(self.weight.data, ids))

# %% nbgrader={"grade": true, "grade_id": "test-embedding-backward", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
def test_embedding_backward():
    """Repeated ids accumulate, unused rows get zero, and the gradient matches numerical differentiation."""
    emb = Embedding(5, 3, seed=0)
    assert emb.weight.shape == (5, 3) and emb.weight.requires_grad, "weight must be a (vocab, dim) trainable Tensor"
    assert [id(p) for p in emb.parameters()] == [id(emb.weight)], "parameters() should find exactly the weight"
    out = emb([3, 0, 3])
    assert out.shape == (3, 3), f"output shape should be (3, 3), got {out.shape}"
    assert np.allclose(out.data[0], emb.weight.data[3]), "forward must return row 3 for id 3"
    grad_out = np.array([[1.0, 1, 1], [2, 2, 2], [5, 5, 5]], dtype=np.float32)
    (g,) = EmbeddingBackward(emb.weight, np.array([3, 0, 3])).backward(grad_out)
    assert g.shape == (5, 3), f"gradient must have the table's shape (5, 3), got {g.shape}"
    assert np.allclose(g[3], 6.0), f"row 3 was used twice (1 + 5): expected 6, got {g[3]} - did you use np.add.at?"
    assert np.allclose(g[0], 2.0) and np.allclose(g[[1, 2, 4]], 0.0), f"rows 0/1/2/4 wrong:\n{g}"
    (out * Tensor(grad_out)).sum().backward()
    assert emb.weight.grad is not None, "backward through Embedding must reach the weight"
    assert np.allclose(emb.weight.grad.data, g), "autograd path must give the same gradient as the Function"
    np.random.seed(7); a = Embedding(6, 4)
    np.random.seed(7); b = Embedding(6, 4)
    assert np.array_equal(a.weight.data, b.weight.data), "without a seed, np.random.seed must make the table reproducible"
    emb2 = Embedding(6, 4, seed=1)
    ids = np.array([[0, 5, 5], [2, 0, 1]])
    check_gradients(lambda w: emb2(ids), emb2.weight)
    print("Embedding backward: OK")
test_embedding_backward()
### BEGIN HIDDEN TESTS
_e = Embedding(4, 2, seed=3)
(_g,) = EmbeddingBackward(_e.weight, np.array([[1, 1], [1, 1]])).backward(np.ones((2, 2, 2), dtype=np.float32))
assert np.allclose(_g[1], 4.0) and np.allclose(_g[[0, 2, 3]], 0.0), "four uses of id 1 must sum to 4"
_o = _e(Tensor(np.array([2, 3])))
assert _o.shape == (2, 2), "integer Tensors must be accepted as indices"
### END HIDDEN TESTS

# %% [markdown]
# The test calls your `backward` directly with a repeated id (the classic `+=` bug gives 5, not 6),
# runs the same gradient through autograd's `.backward()`, checks that a table built without a seed follows
# `np.random.seed` (as `Linear` does), and finally lets `check_gradients` compare your
# analytic gradient with finite differences on a batch of ids.

# %% [markdown]
# ### The embedding is a `Linear` layer that skips the zeros
#
# The motivation claimed that `Linear(V, D, bias=False)` applied to one-hot vectors *is* an embedding.
# Module 03 stores a `Linear` weight as `(in_features, out_features)`, which for `in = V, out = D` is
# exactly the `(V, D)` layout of our table. So we can copy one weight into the other and compare both
# directions of the computation: the forward values, and the gradient that autograd delivers to the
# weight. The cell also checks the initialisation promise: rows of length about 1.

# %%
from tinytorch.core.layers import Linear

V_demo, D_demo = 6, 4
emb_demo = Embedding(V_demo, D_demo, seed=0)
lin_demo = Linear(V_demo, D_demo, bias=False)
lin_demo.weight.data[...] = emb_demo.weight.data              # the same (V, D) numbers in both layers
ids_demo = np.array([[4, 1, 4], [0, 4, 2]])
upstream = np.random.default_rng(2).normal(size=(2, 3, D_demo)).astype(np.float32)

out_emb = emb_demo(ids_demo)
out_lin = lin_demo(Tensor(np.eye(V_demo, dtype=np.float32)[ids_demo]))
(out_emb * Tensor(upstream)).sum().backward()
(out_lin * Tensor(upstream)).sum().backward()
print("same forward values: ", np.allclose(out_emb.data, out_lin.data))
print("same weight gradient:", np.allclose(emb_demo.weight.grad.data, lin_demo.weight.grad.data, atol=1e-6))
print("rows with a non-zero gradient:", np.flatnonzero(np.abs(emb_demo.weight.grad.data).sum(axis=1)))
print("mean row length of a fresh Embedding(1000, 256):",
      f"{np.linalg.norm(Embedding(1000, 256, seed=0).weight.data, axis=1).mean():.3f}")

# %% [markdown]
# Both paths agree on values and gradients, and only rows 0, 1, 2 and 4 (the ids that occur) received a
# gradient; row 4, used three times, holds the sum of three contributions. The difference is the cost: the
# `Linear` path built a `(2, 3, 6)` array of mostly zeros and multiplied through all of it. With `V = 6`
# that is harmless; section 4 measures what it costs at realistic vocabulary sizes.

# %% [markdown]
# ## 3. Where am I? Positional encodings
#
# Attention, which we build in the next module, compares every token with every other token. It
# treats its input as a **set**: shuffle the tokens and you shuffle the outputs the same way, with
# nothing else changed. But "dog bites man" and "man bites dog" use the same set of tokens.
# We must write the position *into* each token's vector.
#
# The simplest way is to add a position vector `P[t]` to the token vector at position `t`:
#
# ```
#   token ids        [  12     7     12  ]
#                      |      |      |
#   token vectors    E[12]  E[7]   E[12]        same token, same vector ...
#                      +      +      +
#   position vectors P[0]   P[1]   P[2]
#                      =      =      =
#   model input      x0     x1     x2           ... but x0 != x2: position is now visible
# ```
#
# What should `P[t]` be? Two naive answers fail for instructive reasons. Writing the number `t` itself
# into a dimension gives values that grow without bound: at position 900 that one dimension dwarfs the
# token vector, whose entries are around `0.1` or smaller. Writing `t / T` (the fraction of the way through the
# sequence) keeps values small, but then "the third token" has a different code in a 10-token sequence than
# in a 100-token one. We want codes that are **bounded**, **unique per position**, and **the same for a
# given position whatever the sequence length**. Waves have all three properties.
#
# ### Sinusoidal encodings (fixed)
#
# The original Transformer paper (2017) used waves. Dimension pair `(2i, 2i+1)` of position `pos` is
#
# ```
#   P[pos, 2i]   = sin(pos / 10000^(2i/d))
#   P[pos, 2i+1] = cos(pos / 10000^(2i/d))
# ```
#
# Each pair is a point going round the unit circle at its own speed `w_i = 1 / 10000^(2i/d)` radians per
# position. For `d = 8` the four speeds and the number of positions one full turn takes (the wavelength,
# `2 pi / w_i`) are:
#
# ```
#   pair i        0        1         2          3
#   speed w_i     1        0.1       0.01       0.001
#   wavelength    6.3      62.8      628.3      6283.2   positions per turn
# ```
#
# Early pairs oscillate fast, late pairs very slowly (the slowest wavelength for a wide model approaches
# `10000 * 2 pi`), like the hands of a clock: seconds, minutes, hours. Worked example with `d = 4`, so the
# two speeds are `1` and `1/100`:
#
# ```
#   pos 0: [sin 0, cos 0, sin 0,    cos 0   ] = [0.0000, 1.0000, 0.0000, 1.0000]
#   pos 1: [sin 1, cos 1, sin 0.01, cos 0.01] = [0.8415, 0.5403, 0.0100, 1.0000]
#   pos 2: [sin 2, cos 2, sin 0.02, cos 0.02] = [0.9093,-0.4161, 0.0200, 0.9998]
# ```
#
# Why several speeds and not just one? Compare positions 0 and 44 with the same `d = 4`. The fast hand
# has turned through 44 radians, almost exactly 7 full turns (`7 x 2 pi = 43.98`), so it points nearly where
# it started. Only the slow hand, at 0.44 radians, tells the two positions apart:
#
# ```
#   pos  0: fast [sin 0,  cos 0 ] = [0.0000, 1.0000]   slow [sin 0,    cos 0   ] = [0.0000, 1.0000]
#   pos 44: fast [sin 44, cos 44] = [0.0177, 0.9998]   slow [sin 0.44, cos 0.44] = [0.4259, 0.9048]
# ```
#
# A single wave repeats, so on its own it would confuse positions a wavelength apart; a fast hand and a
# slow hand together cover short and long distances, exactly as a seconds hand and an hours hand do.
#
# Two properties make this attractive: every value stays in [-1, 1] however long the sequence,
# and because `sin(a+b)` and `cos(a+b)` are fixed linear combinations of `sin a` and `cos a`, the
# encoding of `pos + k` is a fixed rotation of the encoding of `pos`. Relative offsets are easy to read;
# we will prove it numerically right after you implement the table.

# %% nbgrader={"grade": false, "grade_id": "sinusoidal", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def sinusoidal_encoding(max_len: int, d_model: int, base: float = 10000.0) -> np.ndarray:
    """The (max_len, d_model) float32 table of sine/cosine position signatures.

    Even columns 2i hold sin(pos / base^(2i/d_model)), odd columns 2i+1 hold the cosine with the
    same frequency. An odd d_model is allowed: the last column is then a sine with no partner.

    EXAMPLE:
        >>> sinusoidal_encoding(2, 4)
        array([[0.    , 1.    , 0.    , 1.    ],
               [0.8415, 0.5403, 0.01  , 1.    ]], dtype=float32)

    HINTS:
    - positions: a column vector np.arange(max_len)[:, None]
    - the exponent for column j is 2*(j//2)/d_model; compute one frequency per column, then
      angles = positions * frequencies (broadcasting gives the whole table at once)
    - take sin of the even columns and cos of the odd columns.
    """
    ### BEGIN SOLUTION
    positions = np.arange(max_len, dtype=np.float64)[:, None]
    pair = np.arange(d_model) // 2
    freqs = 1.0 / base ** (2.0 * pair / d_model)
    angles = positions * freqs[None, :]
    table = np.empty((max_len, d_model), dtype=np.float64)
    table[:, 0::2] = np.sin(angles[:, 0::2])
    table[:, 1::2] = np.cos(angles[:, 1::2])
    return table.astype(np.float32)
    ### END SOLUTION

# %% mutant={"name": "sin-cos-swapped", "target": "sinusoidal", "replace": "table[:, 0::2] = np.sin(angles[:, 0::2])\ntable[:, 1::2] = np.cos(angles[:, 1::2])", "catches": ["test-sinusoidal"]}
# Cosines on the even columns, sines on the odd ones.
table[:, 0::2] = np.cos(angles[:, 0::2])
table[:, 1::2] = np.sin(angles[:, 1::2])

# %% mutant={"name": "exponent-per-column", "target": "sinusoidal", "replace": "freqs = 1.0 / base ** (2.0 * pair / d_model)", "catches": ["test-sinusoidal"]}
# One frequency per column instead of one per (sin, cos) pair.
freqs = 1.0 / base ** (np.arange(d_model) / d_model)

# %% nbgrader={"grade": true, "grade_id": "test-sinusoidal", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
def test_sinusoidal():
    """Values match the worked example, stay in [-1, 1], and every position gets a different vector."""
    P = sinusoidal_encoding(3, 4)
    assert P.shape == (3, 4), f"shape should be (max_len, d_model) = (3, 4), got {P.shape}"
    expected = [[0, 1, 0, 1], [0.8415, 0.5403, 0.0100, 0.99995], [0.9093, -0.4161, 0.0200, 0.9998]]
    assert np.allclose(P, expected, atol=1e-4), f"table differs from the worked example:\n{P}"
    big = sinusoidal_encoding(200, 16)
    assert np.abs(big).max() <= 1.0 + 1e-6, "sine and cosine values can never leave [-1, 1]"
    dists = np.linalg.norm(big[:, None, :] - big[None, :, :], axis=-1)
    assert dists[~np.eye(200, dtype=bool)].min() > 1e-3, "two positions share the same encoding"
    print("sinusoidal_encoding: OK")
test_sinusoidal()
### BEGIN HIDDEN TESTS
_P = sinusoidal_encoding(50, 7)
assert _P.shape == (50, 7) and np.allclose(_P[:, 6], np.sin(np.arange(50) / 10000 ** (6 / 7)), atol=1e-5), "odd d_model"
# relative offset: P[pos+k] is a rotation of P[pos] -> dot products depend only on k
_Q = sinusoidal_encoding(40, 16).astype(np.float64)
assert np.allclose(_Q[3] @ _Q[8], _Q[20] @ _Q[25], atol=1e-4), "dot product should depend only on the offset"
### END HIDDEN TESTS

# %% [markdown]
# The visible test pins the table to the worked example, keeps every value inside `[-1, 1]` and makes
# sure no two of 200 positions collide. The hidden part also checks an odd `d_model` and the
# "relative offset" property: `P[3] . P[8]` equals `P[20] . P[25]` because both pairs are 5 apart.
#
# First, the two-hands example from above, now computed by your function:

# %%
P4 = sinusoidal_encoding(45, 4)
for p in (0, 44):
    print(f"pos {p:2d}: fast pair {P4[p, :2]}   slow pair {P4[p, 2:]}")
print(f"distance between the fast pairs: {np.linalg.norm(P4[0, :2] - P4[44, :2]):.4f}, "
      f"between the slow pairs: {np.linalg.norm(P4[0, 2:] - P4[44, 2:]):.4f}")

# %% [markdown]
# ### Relative offsets are a linear function of the code
#
# Here is the property stated precisely. Fix an offset `k`. For the pair with speed `w`, the angle-sum
# identities give
#
# ```
#   sin(w(pos+k)) =  cos(wk) * sin(w pos) + sin(wk) * cos(w pos)
#   cos(w(pos+k)) = -sin(wk) * sin(w pos) + cos(wk) * cos(w pos)
# ```
#
# The coefficients `cos(wk)` and `sin(wk)` depend on the offset `k` but **not** on `pos`. Stack one
# `2 x 2` rotation block per pair into a block-diagonal matrix `M_k`, and for every position at once
#
# ```
#   P[pos + k] = M_k @ P[pos]
# ```
#
# Why should a model care? A layer that wants "the token 3 places back" does not need to learn a
# separate rule for every absolute position: one fixed linear map (and linear maps are what the next
# module's attention is made of) moves any code by 3. And because each block is a rotation, `M_k`
# preserves lengths and angles, so the dot product `P[a] . P[b]` depends only on `b - a`. The cell
# builds `M_5` from the formula, applies it to all positions and compares with the table.

# %%
def offset_matrix(k: int, d_model: int, base: float = 10000.0) -> np.ndarray:
    """The block-diagonal M_k with P[pos + k] = M_k @ P[pos] for every pos (even d_model)."""
    M = np.zeros((d_model, d_model))
    for i in range(d_model // 2):
        w = 1.0 / base ** (2 * i / d_model)
        c, s = np.cos(k * w), np.sin(k * w)
        M[2 * i:2 * i + 2, 2 * i:2 * i + 2] = [[c, s], [-s, c]]
    return M


P = sinusoidal_encoding(200, 16).astype(np.float64)
M5 = offset_matrix(5, 16)
print("max |M_5 @ P[pos] - P[pos + 5]| over 195 positions:", f"{np.abs(P[:-5] @ M5.T - P[5:]).max():.1e}")
print("M_5 is a rotation (M_5 @ M_5.T = I):               ", np.allclose(M5 @ M5.T, np.eye(16)))
print("M_2 @ M_3 equals M_5 (offsets add up):             ", np.allclose(offset_matrix(2, 16) @ offset_matrix(3, 16), M5))

P = sinusoidal_encoding(64, 32)
print("\noffset:      ", " ".join(f"{k:5d}" for k in range(-4, 5)))
print("P[10].P[10+k]", " ".join(f"{(P @ P[10])[10 + k]:5.1f}" for k in range(-4, 5)))
print("P[40].P[40+k]", " ".join(f"{(P @ P[40])[40 + k]:5.1f}" for k in range(-4, 5)))

# %% [markdown]
# The largest error is at the level of float32 rounding (the table is stored in float32), so the identity
# holds at every one of the 195 positions with a single matrix. Composing offsets multiplies their
# matrices, as rotations should. The last two rows show the consequence for similarity: the dot products
# around position 10 and around position 40 are identical, so closeness in the encoding means closeness in
# position, wherever you are. Modern models such as those using *rotary* position embeddings (RoPE) build
# directly on this rotation idea, applying the rotation to queries and keys inside attention instead of
# adding a vector to the input.
#
# ### Seeing the table: a heat map of the sinusoidal encoding
#
# The printed numbers hide the structure that the clock analogy describes. Drawn as an image, with
# positions down and dimensions across, the table shows its fast columns on the left (stripes that flip
# every few positions) and its slow columns on the right (almost constant over the first hundred
# positions): every row is a different mix of fast and slow waves, which is what makes positions
# distinguishable.

# %%
import matplotlib.pyplot as plt

table = sinusoidal_encoding(128, 64)
fig, ax = plt.subplots(figsize=(7, 3.4))
im = ax.imshow(table, aspect="auto", cmap="RdBu", vmin=-1, vmax=1)
ax.set_xlabel("dimension (pairs 2i, 2i+1: sin, cos)")
ax.set_ylabel("position")
ax.set_title("sinusoidal_encoding(128, 64)")
fig.colorbar(im, ax=ax, fraction=0.04)
fig.tight_layout()
plt.show()

# %% [markdown]
# ### `PositionalEncoding` and `LearnedPositionalEncoding`
#
# Both layers take token vectors `x` of shape `(B, T, D)` (or `(T, D)`) and return `x + P[:T]`.
#
# - `PositionalEncoding` stores the sinusoidal table as a constant (no parameters). It works for any
#   `T <= max_len`, and `max_len` can be made huge for free.
# - `LearnedPositionalEncoding` stores a trainable `(max_len, D)` table, which is just an `Embedding`
#   indexed by `0, 1, ..., T-1`. GPT-2 works this way. It can learn whatever position signal the task
#   needs, but it has never seen position `max_len`, so it cannot go beyond it.
#
# Both must refuse a sequence longer than `max_len` with a clear error.

# %% nbgrader={"grade": false, "grade_id": "positional-layers", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def _check_length(x: Tensor, max_len: int, d_model: int) -> int:
    if x.ndim < 2 or x.shape[-1] != d_model:
        raise ValueError(f"expected input of shape (..., T, {d_model}), got {x.shape}")
    T = x.shape[-2]
    if T > max_len:
        raise ValueError(f"sequence length {T} exceeds max_len {max_len} of this positional encoding")
    return T


class PositionalEncoding(Module):
    """Adds the fixed sinusoidal table: x (..., T, d_model) -> x + P[:T]. No trainable parameters."""

    def __init__(self, max_len: int, d_model: int):
        super().__init__()
        self.max_len, self.d_model = max_len, d_model
        self.table = sinusoidal_encoding(max_len, d_model)   # plain ndarray: not a parameter

    def forward(self, x: Tensor) -> Tensor:
        T = _check_length(x, self.max_len, self.d_model)
        ### BEGIN SOLUTION
        return x + Tensor(self.table[:T])
        ### END SOLUTION


class LearnedPositionalEncoding(Module):
    """Adds a trainable position table: x (..., T, d_model) -> x + E[0..T-1]."""

    def __init__(self, max_len: int, d_model: int, seed: int | None = None):
        super().__init__()
        self.max_len, self.d_model = max_len, d_model
        self.embedding = Embedding(max_len, d_model, seed=seed)

    def forward(self, x: Tensor) -> Tensor:
        """HINT: look up positions np.arange(T) in self.embedding and add; broadcasting handles the batch."""
        T = _check_length(x, self.max_len, self.d_model)
        ### BEGIN SOLUTION
        return x + self.embedding(np.arange(T))
        ### END SOLUTION

# %% mutant={"name": "learned-positions-from-zero-table", "target": "positional-layers", "region": 1, "catches": ["test-positional-layers"]}
# Adds the whole position table's first row to every position.
return x + self.embedding(np.zeros(T, dtype=int))

# %% nbgrader={"grade": true, "grade_id": "test-positional-layers", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
def test_positional_layers():
    """Both encodings add the right rows, broadcast over the batch, refuse long inputs; only the learned one trains."""
    x = Tensor(np.zeros((2, 5, 8), dtype=np.float32))
    pe = PositionalEncoding(16, 8)
    y = pe(x)
    assert y.shape == (2, 5, 8), f"output shape must equal input shape, got {y.shape}"
    assert np.allclose(y.data[1], sinusoidal_encoding(16, 8)[:5], atol=1e-6), "x + P[:T] expected for every batch row"
    assert pe.parameters() == [] or len(list(pe.parameters())) == 0, "the sinusoidal table must not be trainable"
    lpe = LearnedPositionalEncoding(16, 8, seed=0)
    params = list(lpe.parameters())
    assert len(params) == 1 and params[0].shape == (16, 8), "learned encoding owns one (max_len, d) table"
    z = lpe(Tensor(np.ones((2, 5, 8), dtype=np.float32)))
    assert np.allclose(z.data[0], 1 + params[0].data[:5]), "learned encoding must add table rows 0..T-1"
    z.sum().backward()
    g = params[0].grad.data
    assert np.allclose(g[:5], 2.0) and np.allclose(g[5:], 0.0), \
        f"each used position appears in 2 batch rows -> grad 2; unused rows 0. got rows 0 and 5: {g[0]}, {g[5]}"
    for layer in (pe, lpe):
        try:
            layer(Tensor(np.zeros((1, 17, 8), dtype=np.float32)))
        except ValueError:
            pass
        else:
            raise AssertionError(f"{type(layer).__name__} must raise ValueError for T=17 > max_len=16")
    print("positional encodings: OK")
test_positional_layers()
### BEGIN HIDDEN TESTS
_l = LearnedPositionalEncoding(6, 3, seed=2)
_x = Tensor(np.random.default_rng(0).normal(size=(4, 3)).astype(np.float32), requires_grad=True)
check_gradients(lambda a, w: _l(a), _x, _l.embedding.weight)
assert PositionalEncoding(10, 4)(Tensor(np.zeros((3, 4), dtype=np.float32))).shape == (3, 4), "unbatched input"
### END HIDDEN TESTS

# %% [markdown]
# The test checks values for both layers, that only the learned one has a parameter, the gradient
# that reaches the position table (every used row gets one contribution per batch row), and the
# `max_len` guard.

# %% [markdown]
# ### Beyond the trained length: learned versus sinusoidal
#
# Suppose every training sequence had 32 tokens, and at inference someone sends 50. What happens depends
# on the kind of position code, and the scatter-add from section 2 explains the learned case exactly.
# A `LearnedPositionalEncoding` looks up rows `0 .. T-1`, so its backward pass only ever writes into those
# rows. If the table was built with room for 64 positions but trained on 32, rows 32 to 63 receive a
# gradient of exactly zero in every step and keep their random initial values. They exist, but they
# mean nothing. A sinusoidal table has no such gap: the formula produces row 50 (or row 5000) just as it
# produces row 5, and the neighbourhood structure we measured above continues.
#
# The cell trains a learned table (with `max_len = 64`) for a few SGD steps on length-32 inputs toward an
# arbitrary target, then reports how far each row moved. It also checks, for a 2048-position sinusoidal
# table, that the most similar other position is always a direct neighbour, far beyond any length we
# trained on.

# %%
from tinytorch.core.optimizers import SGD

learned = LearnedPositionalEncoding(max_len=64, d_model=8, seed=0)
start_rows = learned.embedding.weight.data.copy()
target = Tensor(np.random.default_rng(3).normal(size=(32, 8)).astype(np.float32))
sgd = SGD(learned.parameters(), lr=0.5)
for step in range(20):
    loss = ((learned(Tensor(np.zeros((4, 32, 8), dtype=np.float32))) - target) ** 2).mean()
    sgd.zero_grad(); loss.backward(); sgd.step()
moved = np.abs(learned.embedding.weight.data - start_rows).max(axis=1)
print(f"largest change in rows  0-31 (trained):   {moved[:32].max():.3f}   smallest: {moved[:32].min():.3f}")
print(f"largest change in rows 32-63 (untrained): {moved[32:].max():.3f}")

P_long = sinusoidal_encoding(2048, 64)
S = P_long @ P_long.T
np.fill_diagonal(S, -np.inf)
nearest = S.argmax(axis=1)
print("sinusoidal, 2048 positions: nearest other position is a direct neighbour for",
      f"{np.mean(np.abs(nearest - np.arange(2048)) == 1):.0%} of them")

# %% [markdown]
# Every trained row moved and not a single untrained row did. A model with learned positions therefore
# has nothing sensible to add at position 40, and with `max_len = 32` it cannot even look position 40 up:
# that is why our layers raise a `ValueError` instead of guessing. GPT-2 is built this way, which is why it
# has a hard context limit of 1024 tokens.
#
# The sinusoidal side looks better, and it is, but only for the encoding itself. The rest of the network
# has still only seen the codes of positions 0 to 31 during training; at position 2000 the slow pairs
# point in directions it never encountered. In practice, models with sinusoidal encodings also get worse
# beyond their training length, just more gracefully. Making models extrapolate well is an active topic,
# and most of its solutions (relative position biases, rotary embeddings with rescaled speeds) use the
# offset property from above rather than absolute codes.
#
# | | sinusoidal (`PositionalEncoding`) | learned (`LearnedPositionalEncoding`) |
# |---|---|---|
# | parameters | none | `max_len x D` |
# | longest input | any `max_len` you choose, at no cost | fixed when the table is built |
# | positions never seen in training | defined, smooth continuation | untrained random rows (or missing) |
# | can adapt to the task | no | yes |

# %% [markdown]
# ## 4. Systems analysis: what an embedding table costs
#
# ### Memory
#
# A table of `V x D` float32 numbers costs `4 V D` bytes. Training costs more: the gradient has
# the same shape (the scatter-add produces a *dense* `V x D` array even though few rows are non-zero),
# and Adam keeps two more arrays of that shape (its running mean and running mean of squares of the
# gradient). So one table in training occupies four copies of itself:
#
# ```
#   weights        V x D x 4 bytes
#   gradient       V x D x 4 bytes      (dense in our implementation)
#   Adam m         V x D x 4 bytes
#   Adam v         V x D x 4 bytes
#   -------------------------------
#   total        4 x V x D x 4 bytes
# ```
#
# Implement `embedding_memory` and then look at some real vocabulary sizes.

# %% nbgrader={"grade": false, "grade_id": "embedding-memory", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def embedding_memory(vocab_size: int, embed_dim: int, dtype=np.float32, training: bool = False,
                     optimizer_slots: int = 2) -> int:
    """Bytes needed for an embedding table of vocab_size x embed_dim values of `dtype`.

    With training=True also count the gradient (same shape) and `optimizer_slots` optimizer
    state arrays of the same shape (Adam keeps 2: first and second moments).

    EXAMPLE: embedding_memory(1000, 64) == 256_000 ; with training=True it is 4 x that.
    HINT: np.dtype(dtype).itemsize gives the bytes per value.
    """
    ### BEGIN SOLUTION
    copies = 1 + (1 + optimizer_slots if training else 0)
    return int(vocab_size) * int(embed_dim) * np.dtype(dtype).itemsize * copies
    ### END SOLUTION

# %% mutant={"name": "memory-forgets-gradient", "target": "embedding-memory", "catches": ["test-embedding-memory"]}
# Counts the optimizer state but not the gradient array.
copies = 1 + (optimizer_slots if training else 0)
return int(vocab_size) * int(embed_dim) * np.dtype(dtype).itemsize * copies

# %% nbgrader={"grade": true, "grade_id": "test-embedding-memory", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
def test_embedding_memory():
    """Byte counts for inference and training, and for other dtypes."""
    assert embedding_memory(1000, 64) == 256_000, "1000 x 64 float32 values take 256,000 bytes"
    assert embedding_memory(1000, 64, training=True) == 1_024_000, "weights + grad + 2 Adam slots = 4 copies"
    assert embedding_memory(10, 10, dtype=np.float16) == 200, "float16 uses 2 bytes per value"
    assert embedding_memory(10, 10, training=True, optimizer_slots=0) == 800, "SGD: weights + grad = 2 copies"
    assert embedding_memory(65, 32) == Embedding(65, 32).weight.data.nbytes, "must agree with the real array"
    print("embedding_memory: OK")
test_embedding_memory()

# %% [markdown]
# The test compares your byte counts with hand-computed ones for inference and training, for float16, for
# plain SGD (no optimizer state), and against the `nbytes` of a real `Embedding` weight.
#
# ### A note on units: MB versus MiB
#
# Memory sizes come in two families, and mixing them is a classic source of "my numbers are 5% off".
# A **megabyte (MB)** is `10^6` bytes, the SI unit used by disk makers and most papers. A **mebibyte
# (MiB)** is `2^20 = 1,048,576` bytes, the unit operating systems and GPU tools usually report (often
# labelled "MB" anyway). The ratio is about 1.05 for mega, 1.07 for giga (GB vs GiB). The table prints both so
# you can see the gap grow with size.

# %%
MB, MiB = 10**6, 2**20
rows = [("characters (module 10)", 65), ("small BPE", 8_000), ("GPT-2 BPE", 50_257), ("large multilingual", 256_000)]
print(f"{'vocabulary':24s} {'V':>8s} {'D':>5s} {'weights MB':>11s} {'weights MiB':>12s} {'training MB (Adam)':>19s}")
for name, V in rows:
    for D in (256, 768):
        w = embedding_memory(V, D)
        t = embedding_memory(V, D, training=True)
        print(f"{name:24s} {V:8,d} {D:5d} {w / MB:11.1f} {w / MiB:12.1f} {t / MB:19.1f}")

# %% [markdown]
# A character vocabulary is almost free, but GPT-2's 50,257-token vocabulary at width 768 takes
# 154.4 MB (147.2 MiB) of weights, and about 618 MB during training with Adam. That is why vocabulary size
# is a real design decision: a bigger vocabulary makes sequences shorter (cheaper attention, next module)
# but makes the embedding table (and the output layer, which has the same shape) bigger.
#
# ### Weight tying: one table for input and output
#
# At the other end of a language model, the output layer turns a `D`-dimensional feature vector into `V`
# scores, one per possible next token: a `(D, V)` matrix, the embedding table's shape transposed. Many
# models (GPT-2 among them) **tie** the two: the output scores are `h @ W.T`, using the embedding table
# itself. There is a sensible reason beyond thrift. The score for token `v` is then the dot product of the
# feature vector with `v`'s own embedding, so "the model expects a token like `v`" and "the vector that
# means `v`" live in the same space, and every gradient that shapes one shapes the other.
#
# How much does it save? The cell counts the parameters of a GPT-2-small-shaped model (12 blocks of width
# 768, 1024 positions) from its layer shapes, with and without tying. Each block holds attention
# (`4 D^2 + 4 D`: query/key/value and output projections with biases), an MLP of width `4 D` (`8 D^2 + 5 D`)
# and two layer norms (`4 D`); you will build all of these in the next two modules.

# %%
V_gpt2, D_gpt2, T_gpt2, blocks = 50_257, 768, 1024, 12
per_block = (4 * D_gpt2**2 + 4 * D_gpt2) + (8 * D_gpt2**2 + 5 * D_gpt2) + 4 * D_gpt2
token_table = V_gpt2 * D_gpt2
tied = token_table + T_gpt2 * D_gpt2 + blocks * per_block + 2 * D_gpt2       # + final layer norm
untied = tied + D_gpt2 * V_gpt2                                               # a separate (D, V) output layer
print(f"token table:            {token_table:>12,d} parameters")
print(f"model with tying:       {tied:>12,d} parameters ({token_table / tied:.0%} of them in the table)")
print(f"model without tying:    {untied:>12,d} parameters")
print(f"tying saves:            {untied - tied:>12,d} parameters = {embedding_memory(V_gpt2, D_gpt2) / MB:.1f} MB "
      f"in float32, {embedding_memory(V_gpt2, D_gpt2, training=True) / MB:.1f} MB while training with Adam")

# %% [markdown]
# The model with tying comes to 124.4 million parameters, the size usually quoted for GPT-2 small, and
# almost a third of them sit in the token table. Without tying the model would be 31% larger for no extra
# depth or width. Smaller models feel this most: for a tiny model the embedding and output matrices can be
# the majority of all parameters.
#
# Tying also changes the gradient. With a plain lookup, only the rows of tokens in the batch receive a
# gradient. The output layer scores *every* token at every position, so through `h @ W.T` every row gets
# one. Autograd adds both contributions into the same `weight.grad`:

# %%
from tinytorch.core.losses import CrossEntropyLoss

tied_emb = Embedding(20, 8, seed=0)
ids_in, ids_next = np.array([3, 7, 3, 11]), np.array([7, 3, 11, 2])
logits = tied_emb(ids_in) @ tied_emb.weight.T                  # (4, 8) @ (8, 20) -> scores for all 20 tokens
CrossEntropyLoss()(logits, Tensor(ids_next)).backward()
plain_emb = Embedding(20, 8, seed=0)
plain_emb(ids_in).sum().backward()
count_rows = lambda g: int((np.abs(g.data).sum(axis=1) > 0).sum())
print("logits shape:", logits.shape)
print("rows with a gradient, lookup only:      ", count_rows(plain_emb.weight.grad), "of 20")
print("rows with a gradient, tied output layer:", count_rows(tied_emb.weight.grad), "of 20")

# %% [markdown]
# So a tied table cannot use a sparse gradient even in principle: its update touches all `V` rows every
# step. That is a fair trade for saving a whole `V x D` matrix.
#
# ### Time: lookup versus one-hot product, and a sparse gradient
#
# We claimed the lookup is much cheaper than the one-hot product it is equivalent to. Let's count and then
# measure. For `N` token positions, the product `onehot @ W` performs `N x V x D` multiply-adds, which is
# `2 N V D` floating-point operations (FLOPs), while the lookup performs none: it copies `N x D` values.
# The same holds for the gradient: the dense `onehot.T @ dY` costs another `2 N V D` FLOPs, the scatter-add
# `N x D` additions. The cell times all four for growing `V`, with `N = 512` positions (a batch of 8
# sequences of 64 tokens) and `D = 64`. It builds the one-hot matrix outside the timed region, which flatters
# the product: building it is extra work and `N x V` extra memory.

# %%
def median_time(fn, repeats=5):
    fn()                                 # one untimed warm-up call (first-call and cache effects)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))

rng = np.random.default_rng(0)
D, N = 64, 512
vocab_sizes = (64, 256, 1024, 4096, 8192)
timings = {"lookup": [], "one-hot @ W": [], "add.at grad": [], "onehot.T @ dY": []}
print(f"{'V':>6s} {'product MFLOP':>14s} {'lookup':>9s} {'one-hot @ W':>12s} {'add.at grad':>12s} {'onehot.T @ dY':>14s} "
      f"{'rows used':>10s}")
for V in vocab_sizes:
    W = rng.normal(size=(V, D)).astype(np.float32)
    ids = rng.integers(0, V, size=N)
    dY = rng.normal(size=(N, D)).astype(np.float32)
    onehot = np.zeros((N, V), dtype=np.float32)
    onehot[np.arange(N), ids] = 1.0
    assert np.allclose(onehot @ W, embedding_forward(W, ids), atol=1e-5)
    row = [median_time(lambda: embedding_forward(W, ids)), median_time(lambda: onehot @ W),
           median_time(lambda: EmbeddingBackward(Tensor(W), ids).backward(dY)), median_time(lambda: onehot.T @ dY)]
    for key, t in zip(timings, row):
        timings[key].append(t)
    used = len(np.unique(ids)) / V
    print(f"{V:6d} {2 * N * V * D / 1e6:14.1f} " + " ".join(f"{t * 1e6:{w}.0f}us" for t, w in zip(row, (7, 10, 10, 12)))
          + f" {used:10.1%}")

# %%
fig, ax = plt.subplots(figsize=(6.5, 3.6))
for (label, ts), style in zip(timings.items(), ("o-", "s-", "o--", "s--")):
    ax.loglog(vocab_sizes, np.array(ts) * 1e6, style, label=label)
ax.set_xlabel("vocabulary size V")
ax.set_ylabel("median time (microseconds)")
ax.set_title(f"Embedding forward and backward, N={N} positions, D={D}")
ax.legend(fontsize=8)
ax.grid(True, which="both", alpha=0.3)
fig.tight_layout()
plt.show()

# %% [markdown]
# Read the plot from left to right. The two solid-line forward curves tell the main story: the lookup is
# flat (it only touches `N` rows, whatever `V` is), while the one-hot product climbs with `V`, roughly in
# proportion once the matrices are large enough for the FLOP count to dominate. The gap between them is the
# price of pretending the lookup is a matrix product. (On a shared machine individual points can jump; the
# trend is what to read.)
#
# The gradient tells a more nuanced story. `np.add.at` is unbuffered: it handles one index at a time, so
# it has a much higher cost per row than a matrix product. For a tiny vocabulary the dense
# `onehot.T @ dY` can actually be *faster*. But the dense product grows with `V` and the scatter-add does
# not, so past a crossover (here somewhere between a few hundred and a thousand tokens) the scatter-add
# wins, by a growing margin. Both still produce a `(V, D)` gradient of which only the "rows used" fraction
# is non-zero; frameworks offer *sparse* embedding gradients (row ids plus row values) for exactly this
# reason. Measuring, rather than assuming, is how you find such crossovers.

# %% [markdown]
# ## 5. What an embedding table learns
#
# A fresh table is noise: every token is a random direction, and all tokens are about equally far apart.
# Training moves the rows. Because a row only receives gradient from the positions where its token
# appears (the scatter-add of section 2), two tokens end up with similar rows exactly when they are used
# in similar ways: when the rest of the network needs the same thing from them.
#
# Let's watch that happen on a toy language with 12 tokens in three roles. Tokens 0-3 are always followed
# by one of 4-7, tokens 4-7 by one of 8-11, and tokens 8-11 by one of 0-3; within a role, which token comes
# next is random. A next-token model (an `Embedding` followed by a `Linear` layer that scores all 12 tokens,
# trained with cross-entropy) can only learn the roles, because nothing else is predictable. We compare the
# cosine similarity of the rows before and after training.
#
# ```
#   roles:   A = {0, 1, 2, 3}  ->  B = {4, 5, 6, 7}  ->  C = {8, 9, 10, 11}  ->  A ...
#   model:   id --Embedding(12, 8)--> vector --Linear(8, 12)--> 12 scores --cross-entropy--> next id
# ```

# %%
from tinytorch.core.optimizers import Adam   # Linear and CrossEntropyLoss were imported above


def cosine_matrix(W):
    unit = W / np.linalg.norm(W, axis=1, keepdims=True)
    return unit @ unit.T


def role_similarity(W):
    """Mean cosine similarity of different tokens in the same role, and across roles."""
    S, role = cosine_matrix(W), np.arange(12) // 4
    same = (role[:, None] == role[None, :]) & ~np.eye(12, dtype=bool)
    return S[same].mean(), S[role[:, None] != role[None, :]].mean()


toy_rng = np.random.default_rng(0)
emb = Embedding(12, 8, seed=0)
head = Linear(8, 12, rng=1)
opt = Adam(emb.parameters() + head.parameters(), lr=0.05)
loss_fn = CrossEntropyLoss()
before = emb.weight.data.copy()
for step in range(201):
    cur = toy_rng.integers(0, 12, size=64)
    nxt = ((cur // 4 + 1) % 3) * 4 + toy_rng.integers(0, 4, size=64)      # a random token of the next role
    loss = loss_fn(head(emb(cur)), Tensor(nxt))
    opt.zero_grad(); loss.backward(); opt.step()
    if step % 100 == 0:
        print(f"step {step:3d}  loss {float(loss.data):.3f}   (a perfect model of this language: log 4 = {np.log(4):.3f})")
for name, W in (("before training", before), ("after training", emb.weight.data)):
    same, other = role_similarity(W)
    print(f"{name:16s} cosine similarity: same role {same:+.2f}, different roles {other:+.2f}")
print("\nafter training, rounded cosine similarities of tokens 0, 1, 4, 5, 8, 9:")
print(np.round(cosine_matrix(emb.weight.data)[np.ix_([0, 1, 4, 5, 8, 9], [0, 1, 4, 5, 8, 9])], 2))

# %% [markdown]
# Before training, similarities hover around zero whatever the roles. After training, tokens of the same
# role point in nearly the same direction and tokens of different roles point apart: the table has
# discovered the three roles from nothing but co-occurrence, and the loss has fallen close to `log 4`,
# the best possible when four successors are equally likely. Real vocabularies learn the same way, with
# many overlapping roles at once (part of speech, topic, spelling), which is why nearby rows of a trained
# table tend to be related words. Note what the experiment also shows: the model never needed the
# individual identity of a token, so it had no reason to keep same-role tokens apart. A table only
# encodes the distinctions that the training objective rewards.

# %% [markdown]
# ## 6. Putting it together
#
# The input to a language model is `token embedding + position encoding`. Here is that pipeline
# for a batch of two short id sequences, with a check that the position signal makes repeated tokens
# distinguishable.

# %%
tok = Embedding(vocab_size=30, embed_dim=16, seed=0)
pos = PositionalEncoding(max_len=32, d_model=16)
ids = np.array([[5, 9, 5, 2], [1, 1, 1, 1]])
x = pos(tok(ids))
print("input ids", ids.shape, "-> model input", x.shape)
print("token 5 at positions 0 and 2 identical before positions?", np.allclose(tok(ids).data[0, 0], tok(ids).data[0, 2]))
print("... and after adding positions?                        ", np.allclose(x.data[0, 0], x.data[0, 2]))

# %% [markdown]
# ## Summary
#
# - An embedding lookup is the product `onehot(ids) @ W` computed as row indexing: every term but one of
#   each dot product is a zero, so the cost is proportional to the number of tokens, not the vocabulary.
#   A bias-free `Linear(V, D)` on one-hot inputs gives the same values and gradients, at full price.
# - Its gradient is `onehot.T @ dY`, computed as a scatter-add: unused rows get zero and repeated ids
#   must accumulate, which is what `np.add.at` does and the buffered `G[ids] += dY` does not.
# - Attention cannot see order, so we add a position vector. Sinusoidal tables are fixed and bounded, mix
#   fast and slow waves so that no two positions collide, and encode an offset `k` as one fixed rotation
#   `M_k` that works at every position. Learned tables are flexible, but rows beyond the trained length
#   never receive a gradient, and nothing exists beyond `max_len`.
# - Embedding tables scale with `V x D` and cost four copies under Adam (154.4 MB of weights, 617.6 MB in
#   training for GPT-2's table; quote MB as `10^6` bytes and MiB as `2^20`). Tying the output layer to the
#   table saves a whole `V x D` matrix, almost a third of GPT-2 small, but makes the table's gradient dense.
# - The lookup's time is flat in `V` while the one-hot product's grows with it; for the backward pass the
#   scatter-add overtakes the dense product once the vocabulary reaches the high hundreds or so.
# - Training moves rows apart or together according to use: in the toy language, tokens with the same
#   role ended up pointing the same way, learned from co-occurrence alone.
#
# ## Reflection questions
#
# 1. With weight tying, the score of token `v` is `h . W[v]`. What does that suggest about the row of a
#    token that is very frequent as a *next* token but rare as an *input*? Which gradient shapes it most?
# 2. Our gradient is dense: `(V, D)` even when 20 rows were used. Sketch a sparse representation
#    (row ids + row values). What would an optimizer like Adam need to change to use it, given that its
#    moment estimates for an unused row would normally still decay in that step?
# 3. A model trained with `LearnedPositionalEncoding(max_len=128)` receives a sequence of 200 tokens.
#    What are your options, and what would happen with sinusoidal encodings instead?
# 4. Why do we *add* the position vector instead of concatenating it? What does concatenation cost, and
#    what could addition lose?
# 5. Two tokens that never appear in the training data keep their random initial rows. What does the model
#    do with them at inference time, and how do byte-level tokenizers avoid the problem?
