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
#     title: Memoization
#     summary: Stop recomputing what you already know - memoize a recursive function, then give the module-13 GPT a key/value cache so each new token costs one position instead of the whole context, with identical output and a measured speed-up.
#     tier: optimization
#     minutes: 150
#     prerequisites: [01_tensor, 02_activations, 03_layers, 04_losses, 05_autograd, 06_optimizers, 11_embeddings, 12_attention, 13_transformers, 14_profiling]
#     objectives:
#       - Explain memoization and when it is valid (pure functions, hashable inputs, memory to spare)
#       - Explain why the keys and values of past tokens never change in a causal Transformer
#       - Build a preallocated key/value cache and a causal mask for new queries over cached keys
#       - Run a GPT incrementally, one new token per step, and prove the logits match the full forward pass
#       - Generate text with the cache, token for token identical to module 13's generate
#       - Measure time per token and total speed-up against sequence length, and the memory the cache costs
#     exports: [memoize, KVCache, cached_causal_mask, attention_step, gpt_forward_cached, generate_cached]
#     milestone: 06_systems
# ---

# %% [markdown]
# # Module 17: Memoization
#
# Watch what module 13's `GPT.generate` does to write a 100-token reply to a 20-token prompt. To pick
# token 21 it runs the model on 20 tokens. To pick token 22 it runs the model on 21 tokens, 20 of which
# it has just processed. To pick token 120 it processes 119 tokens, 118 of them for the 99th time. The
# total work grows with the **square** of the output length, and almost all of it is repetition.
#
# The cure is one of the oldest ideas in computing: **memoization**, remembering the result of a
# computation so that you never perform it twice. Applied to a Transformer it is called the
# **key/value cache** (KV cache), and every production language model uses one: it is the reason a
# chatbot's reply streams out at a steady pace instead of slowing down with every word.
#
# ## What you will build
#
# - `memoize(fn)`: the general idea, as a decorator, on a recursive function.
# - `KVCache`: preallocated storage for the keys and values of every layer.
# - `cached_causal_mask`, `attention_step`, `gpt_forward_cached`: a GPT forward pass that only processes
#   the **new** tokens and reads everything else from the cache.
# - `generate_cached(model, ids, ...)`: generation that returns exactly the same tokens as
#   `model.generate(...)`, faster, by an amount we will measure.
#
# ## Learning objectives
#
# - Explain memoization and when it is valid (pure functions, hashable inputs, memory to spare).
# - Explain why the keys and values of past tokens never change in a causal Transformer.
# - Build a preallocated key/value cache and a causal mask for new queries over cached keys.
# - Run a GPT incrementally, one new token per step, and prove the logits match the full forward pass.
# - Generate text with the cache, token for token identical to module 13's `generate`.
# - Measure time per token and total speed-up against sequence length, and the memory the cache costs.

# %%
#| default_exp perf.memoization

# %%
#| export
import functools

import numpy as np

from tinytorch.core.tensor import Tensor
from tinytorch.core.autograd import no_grad
from tinytorch.core.attention import attention_forward
from tinytorch.core.transformer import sample_next_token

# %%
#| hide
import time

from tinytorch.core.attention import MultiHeadAttention, causal_mask
from tinytorch.core.losses import CrossEntropyLoss
from tinytorch.core.optimizers import Adam
from tinytorch.core.transformer import GPT
from tinytorch.perf.profiling import measure_latency

np.set_printoptions(precision=4, suppress=True)


# %% [markdown]
# ## 1. Memoization in one function
#
# The Fibonacci numbers, written straight from the definition `F(n) = F(n-1) + F(n-2)`:
#
# ```
#                         F(5)
#                  /                \
#              F(4)                  F(3)          F(3) is computed twice,
#            /      \              /      \        F(2) three times, ...
#         F(3)      F(2)        F(2)      F(1)     the call tree doubles with every level
#        /    \     /   \       /   \
#     F(2)  F(1) F(1) F(0)   F(1) F(0)
#     /  \
#  F(1) F(0)
# ```
#
# The tree has 15 calls for `F(5)` but only 6 distinct questions (`F(0)` to `F(5)`). A **memoized**
# function keeps a dictionary from arguments to results. Before computing, it looks the arguments up; if
# they are there, it returns the stored answer at once. Each distinct question is then answered once:
# `n + 1` computations for `F(n)` instead of an exponential number.
#
# Memoization is only correct for **pure** functions: the result must depend on the arguments alone
# (no randomness, no hidden state) and the function must have no side effects we rely on. The arguments
# must be **hashable** to serve as dictionary keys. And the memory grows with every distinct call: we
# trade memory for time, a trade we will meet again with the KV cache.

# %% nbgrader={"grade": false, "grade_id": "memoize", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def memoize(fn):
    """Decorator: cache fn's results by its positional arguments (which must be hashable).

    The dictionary is exposed as wrapper.cache so you can inspect (or clear) it.
    EXAMPLE:
        @memoize
        def square(x): return x * x
        square(3); square(3)      # the second call does not run the body
        square.cache              # {(3,): 9}
    HINT: look `args` up in `cache`; compute and store it only when it is missing.
    """
    cache = {}

    @functools.wraps(fn)
    def wrapper(*args):
        ### BEGIN SOLUTION
        if args not in cache:
            cache[args] = fn(*args)
        return cache[args]
        ### END SOLUTION

    wrapper.cache = cache
    return wrapper

# %% nbgrader={"grade": true, "grade_id": "test-memoize", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
def test_memoize():
    """Each distinct argument is computed once, results are right, and recursion benefits too."""
    calls = []

    def slow_square(x):
        calls.append(x)
        return x * x

    sq = memoize(slow_square)
    assert [sq(3), sq(4), sq(3), sq(3)] == [9, 16, 9, 9], "memoized results must equal the function's results"
    assert calls == [3, 4], f"the body must run once per distinct argument, ran for {calls}"
    assert sq.cache == {(3,): 9, (4,): 16}, f"wrapper.cache should map argument tuples to results, got {sq.cache}"
    count = [0]

    @memoize
    def fib(n):
        count[0] += 1
        return n if n < 2 else fib(n - 1) + fib(n - 2)

    assert fib(30) == 832040, f"fib(30) is 832040, got {fib(30)}"
    assert count[0] == 31, f"memoized fib(30) should evaluate the body 31 times (n = 0..30), got {count[0]}"
    assert fib(90) == 2880067194370816120, "fib(90) must be instant and exact with memoization"
    assert fib.__name__ == "fib", "functools.wraps keeps the original name"
    print("memoize: OK")
test_memoize()

# %% [markdown]
# The test counts how often the wrapped function really runs: once per distinct argument, so the
# memoized `fib(30)` runs its body 31 times. How many times would the plain version run it? Let's count
# instead of guessing:

# %%
def count_plain_fib_calls(n):
    calls = 0

    def fib(k):
        nonlocal calls
        calls += 1
        return k if k < 2 else fib(k - 1) + fib(k - 2)

    fib(n)
    return calls


print(f"{'n':>4s} {'plain calls':>12s} {'memoized calls':>15s}")
for n in (5, 10, 20, 25):
    print(f"{n:4d} {count_plain_fib_calls(n):12,d} {n + 1:15d}")

# %% [markdown]
# ## 2. What a GPT recomputes
#
# Inside every Transformer block, attention turns each token's vector into a query `q`, a key `k` and a
# value `v`. Token `i`'s output reads from the keys and values of tokens `0..i`. Now the key insight,
# thanks to the **causal mask**: token `j`'s vector at any layer depends only on tokens `0..j`. Appending
# token `T` changes nothing about tokens `0..T-1`, so their keys and values, in every layer, stay exactly
# what they were. They are pure functions of the past, and the past does not change.
#
# ```
#   step T (uncached): run all T+1 tokens through every layer         step T (cached): run ONE token
#
#   tokens   0   1   2  ...  T-1   T                                  tokens                     T
#   layer 1  q k v q k v ...       q k v   <- all recomputed           layer 1   K,V cache [0..T-1] + k v q
#   layer 2  q k v q k v ...       q k v                               layer 2   K,V cache [0..T-1] + k v q
#   logits   only the last row is used                                 logits    the one row we need
# ```
#
# The queries of old tokens are not needed at all: only the newest token's output is used to pick the
# next token. So per step, per layer, we:
#
# 1. compute `q, k, v` for the new token only,
# 2. append `k, v` to that layer's cache,
# 3. attend with the new `q` over **all** cached keys and values,
# 4. continue through the MLP with the one new row.
#
# The cost of a step falls from "the whole context through every layer" to "one token through every
# layer plus one row of attention over the cache".
#
# ### The cache: preallocated, one slot per position
#
# For `L` layers, batch `B`, `H` heads of size `Dh` and a context window of `T_max` positions:
#
# ```
#   keys   (L, B, H, T_max, Dh)       filled: positions 0 .. length-1      free: length .. T_max-1
#   values (L, B, H, T_max, Dh)       [ k0 k1 k2 k3 k4 | .  .  .  .  .  . ]
#                                                          ^ update() writes the new keys here
# ```
#
# `update(layer, k, v)` writes `t` new positions into one layer at `length .. length+t-1` and returns
# **views** of positions `0 .. length+t-1` (no copy). All layers write the same positions, so `length`
# moves forward once per model step, with `advance(t)`, after the last layer. We allocate the whole
# window up front: growing the arrays with `np.concatenate` each step would copy the entire cache every
# time (section 6 measures that).

# %% nbgrader={"grade": false, "grade_id": "kv-cache", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class KVCache:
    """Keys and values of every layer for the positions processed so far.

    KVCache(num_layers, batch_size, num_heads, max_seq_len, head_dim, dtype=np.float32)
    keys / values: arrays of shape (num_layers, batch_size, num_heads, max_seq_len, head_dim).
    `length` is the number of positions filled (the same for every layer).
    """

    def __init__(self, num_layers: int, batch_size: int, num_heads: int, max_seq_len: int, head_dim: int,
                 dtype=np.float32):
        shape = (num_layers, batch_size, num_heads, max_seq_len, head_dim)
        self.keys = np.zeros(shape, dtype=dtype)
        self.values = np.zeros(shape, dtype=dtype)
        self.num_layers, self.batch_size, self.num_heads = num_layers, batch_size, num_heads
        self.max_seq_len, self.head_dim = max_seq_len, head_dim
        self.length = 0

    @classmethod
    def for_model(cls, model, batch_size: int = 1, dtype=np.float32) -> "KVCache":
        """A cache sized for a module-13 GPT: one slot per position of its context window."""
        attn = model.blocks[0].attn
        return cls(len(model.blocks), batch_size, attn.num_heads, model.max_seq_len, attn.head_dim, dtype)

    @property
    def nbytes(self) -> int:
        return int(self.keys.nbytes + self.values.nbytes)

    def reset(self) -> None:
        """Forget everything (the arrays are reused, not freed)."""
        self.length = 0

    def advance(self, t: int) -> None:
        """Mark t more positions as filled, after every layer has written them."""
        if self.length + t > self.max_seq_len:
            raise ValueError(f"cannot advance by {t}: {self.length} of {self.max_seq_len} positions are used")
        self.length += t

    def update(self, layer: int, k: np.ndarray, v: np.ndarray):
        """Store keys/values (B, H, t, Dh) of t new positions in `layer`; return (K, V) of all positions so far.

        The new entries go to positions length .. length+t-1; the returned arrays have shape
        (B, H, length+t, Dh) and are views into the cache (no copy). `length` itself is not changed.
        HINT: index the cache as self.keys[layer, :, :, start:end].
        """
        t = k.shape[2]
        expected = (self.batch_size, self.num_heads, t, self.head_dim)
        if k.shape != expected or v.shape != expected:
            raise ValueError(f"keys/values must have shape {expected}, got {k.shape} and {v.shape}")
        if self.length + t > self.max_seq_len:
            raise ValueError(f"KV cache is full: {self.length} + {t} positions exceed max_seq_len {self.max_seq_len}")
        ### BEGIN SOLUTION
        end = self.length + t
        self.keys[layer, :, :, self.length:end] = k
        self.values[layer, :, :, self.length:end] = v
        return self.keys[layer, :, :, :end], self.values[layer, :, :, :end]
        ### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "test-kv-cache", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
def test_kv_cache():
    """Writes land at the right positions, per layer; returned arrays are views; overflow is refused."""
    rng = np.random.default_rng(0)
    cache = KVCache(num_layers=2, batch_size=1, num_heads=2, max_seq_len=5, head_dim=3)
    assert cache.nbytes == 2 * 2 * 1 * 2 * 5 * 3 * 4, f"keys + values in float32: 240 bytes, got {cache.nbytes}"
    k1, v1 = rng.normal(size=(1, 2, 3, 3)), rng.normal(size=(1, 2, 3, 3))
    K, V = cache.update(0, k1, v1)
    assert K.shape == (1, 2, 3, 3) and np.allclose(K, k1) and np.allclose(V, v1), "first update returns the 3 new positions"
    cache.update(1, 2 * k1, 2 * v1)
    assert cache.length == 0, "update must not move `length`; advance() does, once per model step"
    cache.advance(3)
    k2, v2 = rng.normal(size=(1, 2, 1, 3)), rng.normal(size=(1, 2, 1, 3))
    K, V = cache.update(0, k2, v2)
    assert K.shape == (1, 2, 4, 3), f"after 3 + 1 positions, K must hold 4 positions, got {K.shape}"
    assert np.allclose(K[:, :, :3], k1, atol=1e-6) and np.allclose(K[:, :, 3:], k2, atol=1e-6), \
        "old keys must stay in positions 0..2 and the new one go to position 3"
    assert np.allclose(V[:, :, 3:], v2, atol=1e-6), "the new value must go to position 3"
    assert np.allclose(cache.keys[1, :, :, :3], 2 * k1, atol=1e-6), "layer 1 must be stored separately"
    assert np.shares_memory(K, cache.keys), "return views of the cache arrays, not copies"
    cache.advance(1)
    try:
        cache.update(0, rng.normal(size=(1, 2, 2, 3)), rng.normal(size=(1, 2, 2, 3)))
        raise AssertionError("4 + 2 positions exceed max_seq_len=5: update must raise ValueError")
    except ValueError:
        pass
    cache.reset()
    K, _ = cache.update(0, k2, v2)
    assert K.shape == (1, 2, 1, 3) and np.allclose(K, k2, atol=1e-6), "after reset() writing starts at position 0"
    print("KVCache: OK")
test_kv_cache()

# %% [markdown]
# The test writes three positions into two layers, checks that `length` only moves on `advance`, appends
# a fourth position, checks that the old keys stay put and the returned arrays are views of the cache,
# and that overflowing the window raises a `ValueError`.
#
# ## 3. The mask for new queries over cached keys
#
# When `t` new tokens attend over `T` keys in total (the `T - t` cached ones plus themselves), new token
# `i` sits at absolute position `T - t + i` and may see keys `0 .. T - t + i`. The mask is the causal
# mask's bottom `t` rows:
#
# ```
#   t = 2 new queries, T = 5 keys:           t = T (the first call, "prefill"):   t = 1 (a decode step):
#            k0 k1 k2 k3 k4                   the ordinary causal mask             one row, all True
#   q(pos 3)  T  T  T  T  .
#   q(pos 4)  T  T  T  T  T
# ```

# %% nbgrader={"grade": false, "grade_id": "cached-mask", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def cached_causal_mask(t_new: int, t_total: int) -> np.ndarray:
    """Boolean (t_new, t_total) mask: new query i (absolute position t_total - t_new + i) sees keys j <= that position.

    HINT: np.tril(M, k=offset) keeps the entries with j - i <= offset.
    """
    if not 0 < t_new <= t_total:
        raise ValueError(f"need 0 < t_new <= t_total, got t_new={t_new}, t_total={t_total}")
    ### BEGIN SOLUTION
    return np.tril(np.ones((t_new, t_total), dtype=bool), k=t_total - t_new)
    ### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "test-cached-mask", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
def test_cached_mask():
    """The bottom rows of the causal mask: prefill equals causal_mask, one new token sees everything."""
    m = cached_causal_mask(2, 5)
    assert m.dtype == bool and m.shape == (2, 5), f"expected a (2, 5) boolean mask, got {m.dtype} {m.shape}"
    assert m.tolist() == [[True, True, True, True, False], [True] * 5], f"wrong mask for 2 new of 5:\n{m}"
    assert np.array_equal(cached_causal_mask(4, 4), causal_mask(4)), "t_new == t_total must be the causal mask"
    assert cached_causal_mask(1, 7).all(), "a single new token may attend to every position"
    print("cached_causal_mask: OK")
test_cached_mask()

# %% [markdown]
# ## 4. One attention layer, step by step
#
# `attention_step` replaces `MultiHeadAttention.forward` during generation. It uses the layer's own
# weights, so it computes exactly the same function, but only for the new rows. We work on the NumPy
# arrays directly: a decode step handles a single token, so the bookkeeping of building Tensors for every
# small operation would cost more than the arithmetic (section 6 measures how much). The projection
# `x @ W + b` is the same arithmetic `Linear` performs, in the same order, so the results are identical.
#
# ```
#   x (B, t, D) --q_proj--> (B, t, D) --heads--> q (B, H, t, Dh) ------------------.
#               --k_proj--> (B, t, D) --heads--> k (B, H, t, Dh) --cache.update--> K (B, H, T, Dh)
#               --v_proj--> (B, t, D) --heads--> v (B, H, t, Dh) --cache.update--> V (B, H, T, Dh)
#                                         attention_forward(q, K, V, cached_causal_mask(t, T))
#                                         --> (B, H, t, Dh) --merge--> out_proj --> (B, t, D)
# ```
#
# `attention_forward` from module 12 handles `T_q != T_k` already, so nothing in it needs to change.

# %%
#| export
def _linear(layer, x2d: np.ndarray) -> np.ndarray:
    """x2d @ W + b with a Linear layer's weights, on plain NumPy arrays (same arithmetic as Linear.forward)."""
    out = x2d @ layer.weight.data
    return out + layer.bias.data if layer.bias is not None else out

# %% nbgrader={"grade": false, "grade_id": "attention-step", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def attention_step(attn, x: Tensor, cache: KVCache, layer: int) -> Tensor:
    """Causal multi-head attention of the t new tokens x (B, t, D) over the cached positions plus themselves.

    attn is a module-12 MultiHeadAttention (its q_proj/k_proj/v_proj/out_proj weights are used).
    Stores the new keys/values in `cache` at `layer` (cache.length is NOT advanced here).
    HINTS:
    - q = heads(_linear(attn.q_proj, x2)) and likewise k and v
    - K, V = cache.update(layer, k, v)
    - out, _ = attention_forward(q, K, V, cached_causal_mask(t, K.shape[2]))
    """
    B, t, D = x.shape
    H, Dh = attn.num_heads, attn.head_dim
    x2 = x.data.reshape(B * t, D)

    def heads(a):                       # (B*t, D) -> (B, H, t, Dh)
        return a.reshape(B, t, H, Dh).transpose(0, 2, 1, 3)

    ### BEGIN SOLUTION
    q = heads(_linear(attn.q_proj, x2))
    k = heads(_linear(attn.k_proj, x2))
    v = heads(_linear(attn.v_proj, x2))
    K, V = cache.update(layer, k, v)
    out, _ = attention_forward(q, K, V, cached_causal_mask(t, K.shape[2]))
    ### END SOLUTION
    out = out.astype(x.data.dtype, copy=False).transpose(0, 2, 1, 3).reshape(B * t, D)
    return Tensor(_linear(attn.out_proj, out).reshape(B, t, D))

# %% nbgrader={"grade": true, "grade_id": "test-attention-step", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
def test_attention_step():
    """Feeding a sequence in pieces through the cache reproduces causal attention on the whole sequence."""
    np.random.seed(0)
    attn = MultiHeadAttention(8, 2, causal=True)
    x = np.random.default_rng(1).normal(size=(2, 6, 8)).astype(np.float32)
    with no_grad():
        full = attn(Tensor(x)).data
    cache = KVCache(1, 2, 2, 10, 4)
    pieces = []
    for start, stop in ((0, 3), (3, 4), (4, 6)):
        y = attention_step(attn, Tensor(x[:, start:stop]), cache, 0)
        assert y.shape == (2, stop - start, 8), f"{stop - start} new tokens give (2, {stop - start}, 8), got {y.shape}"
        cache.advance(stop - start)
        pieces.append(y.data)
    inc = np.concatenate(pieces, axis=1)
    assert np.allclose(inc, full, atol=1e-5), \
        f"cached attention differs from the full causal pass by {np.abs(inc - full).max():.2e}"
    assert np.allclose(cache.keys[0, :, :, :6].transpose(0, 2, 1, 3).reshape(2, 6, 8),
                       x @ attn.k_proj.weight.data + attn.k_proj.bias.data, atol=1e-5), \
        "the cache must hold the projected keys of all 6 positions, split into heads"
    print("attention_step: OK")
test_attention_step()

# %% [markdown]
# The test runs a causal `MultiHeadAttention` on six tokens at once, then feeds the same six tokens in
# three pieces (3, then 1, then 2) through `attention_step`, and requires the same outputs. It also
# checks that the cache holds exactly the projected keys.
#
# ## 5. The whole GPT, incrementally
#
# `gpt_forward_cached(model, ids, cache)` mirrors `GPT.forward` (module 13) for the new tokens `ids`
# (B, t), which sit at positions `cache.length .. cache.length + t - 1`:
#
# ```
#   x = token_embedding(ids) + position rows [start .. start + t - 1]     <- not rows 0..t-1!
#   for each block i:
#       x = x + attention_step(block.attn, block.ln1(x), cache, i)
#       x = x + block.mlp(block.ln2(x))
#   cache.advance(t)                                                       once, after all layers
#   logits = head(ln_f(x))                                                 (B, t, vocab)
# ```
#
# The position rows are the one subtle point: a token appended at position 37 must get position 37's
# embedding, even though it is the only token in this call. The helper below looks them up.

# %%
#| export
def _position_rows(model, start: int, t: int) -> Tensor:
    """The positional encodings of absolute positions start .. start+t-1 for a module-13 GPT."""
    pos = model.position
    if hasattr(pos, "embedding"):                # LearnedPositionalEncoding (module 11)
        return pos.embedding(np.arange(start, start + t))
    return Tensor(pos.table[start:start + t])    # fixed sinusoidal PositionalEncoding (module 11)

# %% nbgrader={"grade": false, "grade_id": "gpt-forward-cached", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def gpt_forward_cached(model, ids, cache: KVCache) -> Tensor:
    """Logits (B, t, vocab) for the t new tokens `ids` (B, t) (or (t,)), using and extending `cache`.

    Equivalent to model(all_ids).data[:, -t:] where all_ids are the cached tokens followed by ids.
    HINTS: follow the sketch above; block.ln1, block.attn, block.ln2, block.mlp are the block's parts.
    """
    ids = np.asarray(ids.data if isinstance(ids, Tensor) else ids, dtype=np.int64)
    if ids.ndim == 1:
        ids = ids[None, :]
    B, t = ids.shape
    start = cache.length
    if B != cache.batch_size:
        raise ValueError(f"batch of {B} sequences, but the cache was built for {cache.batch_size}")
    if start + t > model.max_seq_len:
        raise ValueError(f"positions {start}..{start + t - 1} exceed the context window max_seq_len={model.max_seq_len}")
    ### BEGIN SOLUTION
    x = model.token_embedding(ids) + _position_rows(model, start, t)
    for i, block in enumerate(model.blocks):
        x = x + attention_step(block.attn, block.ln1(x), cache, i)
        x = x + block.mlp(block.ln2(x))
    cache.advance(t)
    ### END SOLUTION
    x = model.ln_f(x)
    return model.head(x.reshape(B * t, model.embed_dim)).reshape(B, t, model.vocab_size)

# %% nbgrader={"grade": true, "grade_id": "test-gpt-forward-cached", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
def test_gpt_forward_cached():
    """Chunked incremental logits equal the full forward pass; the cache fills up and refuses overflow."""
    model = GPT(vocab_size=11, embed_dim=16, num_heads=4, num_layers=2, max_seq_len=10, seed=0)
    ids = np.random.default_rng(2).integers(0, 11, size=(2, 7))
    with no_grad():
        full = model(ids).data
        cache = KVCache.for_model(model, batch_size=2)
        chunks = [gpt_forward_cached(model, ids[:, a:b], cache).data for a, b in ((0, 3), (3, 4), (4, 6), (6, 7))]
    inc = np.concatenate(chunks, axis=1)
    assert inc.shape == (2, 7, 11), f"logits must be (B, t, vocab) per chunk, concatenated (2, 7, 11); got {inc.shape}"
    assert np.allclose(inc, full, atol=1e-4), \
        f"incremental logits differ from the full pass by {np.abs(inc - full).max():.2e} (position rows offset?)"
    assert cache.length == 7, f"after 7 tokens the cache length must be 7, got {cache.length}"
    try:
        gpt_forward_cached(model, ids[:, :4], cache)
        raise AssertionError("7 + 4 positions exceed max_seq_len=10: must raise ValueError")
    except ValueError:
        pass
    one = KVCache.for_model(model)
    with no_grad():
        single = gpt_forward_cached(model, ids[0], one).data
    assert np.allclose(single[0], full[0], atol=1e-4), "a 1-D (t,) input is one sequence"
    print("gpt_forward_cached: OK")
test_gpt_forward_cached()
### BEGIN HIDDEN TESTS
_m = GPT(7, embed_dim=8, num_heads=2, num_layers=3, max_seq_len=6, seed=5)
_ids = np.array([[1, 2, 3, 4, 5, 6]])
with no_grad():
    _full = _m(_ids).data
    _c = KVCache.for_model(_m)
    _steps = np.concatenate([gpt_forward_cached(_m, _ids[:, i:i + 1], _c).data for i in range(6)], axis=1)
assert np.allclose(_steps, _full, atol=1e-4), "token-by-token decoding over 3 layers must match the full pass"
assert _c.length == 6 and np.abs(_c.keys[2]).sum() > 0, "every layer's cache must be filled"
### END HIDDEN TESTS

# %% [markdown]
# The test runs a 2-layer GPT on seven tokens at once and in chunks of 3, 1, 2 and 1, and requires the
# same logits at every position. It checks the cache length, that overflowing the window raises
# `ValueError`, and that a 1-D sequence works.
#
# ## 6. Generation with the cache
#
# `generate_cached` has the same signature and the same output as `GPT.generate`:
#
# 1. **prefill**: run the prompt through `gpt_forward_cached` once (filling the cache) and take the
#    last position's logits,
# 2. **decode**: sample a token with `sample_next_token` (same `rng`, same order of draws as `generate`),
#    append it, and feed **only that token** to `gpt_forward_cached`.
#
# One wrinkle: the context window. `GPT.generate` feeds at most the last `max_seq_len` tokens. Once the
# text is longer than that, every step **shifts** the window by one, so every token sits at a different
# position than before and all cached keys are stale (positions are baked into them). There is nothing to
# reuse: when the cache is full we reset it and prefill the last `max_seq_len` tokens, which is exactly
# what `generate` computes. (Models with *relative* position schemes such as rotary embeddings can slide
# a cache instead; with learned absolute positions we cannot.)
#
# The `use_cache=False` switch resets the cache before every step, so it recomputes the whole window every
# time through the same code: a fair baseline for measuring what the cache alone is worth.

# %% nbgrader={"grade": false, "grade_id": "generate-cached", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def generate_cached(model, ids, max_new_tokens: int, temperature: float = 1.0, top_k: int | None = None,
                    seed: int | None = None, use_cache: bool = True) -> np.ndarray:
    """Same tokens as model.generate(ids, max_new_tokens, temperature, top_k, seed), using a KV cache.

    ids: (T,) or (B, T) ints. Returns prompt + new tokens as an int64 array of the same rank.
    HINT (one decode step): if use_cache and the cache still has room, feed only nxt[:, None];
    otherwise reset the cache and feed the last max_seq_len tokens of `out`.
    """
    rng = np.random.default_rng(seed)
    out = np.array(ids.data if isinstance(ids, Tensor) else ids, dtype=np.int64)
    single = out.ndim == 1
    if single:
        out = out[None, :]
    if max_new_tokens <= 0:
        return out[0] if single else out
    T_max = model.max_seq_len
    cache = KVCache.for_model(model, batch_size=out.shape[0])
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            logits = gpt_forward_cached(model, out[:, -T_max:], cache).data[:, -1, :]      # prefill
            for step in range(max_new_tokens):
                nxt = sample_next_token(logits, temperature, top_k, rng)
                out = np.concatenate([out, nxt[:, None]], axis=1)
                if step == max_new_tokens - 1:
                    break
                ### BEGIN SOLUTION
                if use_cache and cache.length < T_max:
                    logits = gpt_forward_cached(model, nxt[:, None], cache).data[:, -1, :]
                else:
                    cache.reset()
                    logits = gpt_forward_cached(model, out[:, -T_max:], cache).data[:, -1, :]
                ### END SOLUTION
    finally:
        if was_training:
            model.train()
    return out[0] if single else out

# %% nbgrader={"grade": true, "grade_id": "test-generate-cached", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
def test_generate_cached():
    """Identical tokens to GPT.generate (greedy, sampled, batched, past the window), feeding one token per step."""
    model = GPT(vocab_size=13, embed_dim=16, num_heads=2, num_layers=2, max_seq_len=16, seed=1)
    prompt = [1, 5, 2]
    ref = model.generate(prompt, 10, temperature=0)
    got = generate_cached(model, prompt, 10, temperature=0)
    assert got.shape == (13,) and got.dtype == np.int64, f"(T,) prompt + 10 tokens -> (13,) int64, got {got.shape} {got.dtype}"
    assert np.array_equal(got, ref), f"greedy tokens differ:\n cached   {got}\n generate {ref}"
    ref = model.generate(prompt, 12, temperature=0.9, top_k=5, seed=3)
    assert np.array_equal(generate_cached(model, prompt, 12, temperature=0.9, top_k=5, seed=3), ref), \
        "sampled tokens differ: use the same rng and call sample_next_token once per step, in order"
    batch = np.array([[1, 2, 3, 4], [4, 3, 2, 1]])
    assert np.array_equal(generate_cached(model, batch, 6, temperature=1.0, seed=0),
                          model.generate(batch, 6, temperature=1.0, seed=0)), "a (B, T) batch must match too"
    long = generate_cached(model, prompt, 25, temperature=0.8, seed=7)
    assert np.array_equal(long, model.generate(prompt, 25, temperature=0.8, seed=7)), \
        "beyond max_seq_len=16 the window slides: output must still match generate"
    # count the tokens fed to the model: with the cache, each decode step feeds exactly one
    fed = []
    real = gpt_forward_cached
    def counting(m, ids, cache):
        fed.append(np.asarray(ids).shape[-1])
        return real(m, ids, cache)
    globals()["gpt_forward_cached"] = counting
    try:
        generate_cached(model, prompt, 8, temperature=0)
    finally:
        globals()["gpt_forward_cached"] = real
    assert fed == [3] + [1] * 7, f"expected one prefill of 3 tokens then 7 single-token steps, got {fed}"
    print("generate_cached: OK")
test_generate_cached()
### BEGIN HIDDEN TESTS
_g = GPT(9, embed_dim=8, num_heads=2, num_layers=1, max_seq_len=8, seed=2)
_g.train()
assert np.array_equal(generate_cached(_g, [3], 0), [3]), "max_new_tokens=0 returns the prompt"
assert np.array_equal(generate_cached(_g, [3, 1], 12, temperature=0.5, seed=1, use_cache=False),
                      _g.generate([3, 1], 12, temperature=0.5, seed=1)), "use_cache=False must give the same tokens"
assert _g.training, "generate_cached must restore training mode"
assert np.array_equal(generate_cached(_g, np.arange(10) % 9, 3, temperature=0),
                      _g.generate(np.arange(10) % 9, 3, temperature=0)), "a prompt longer than the window is cropped"
### END HIDDEN TESTS

# %% [markdown]
# The test compares your tokens with `GPT.generate` for greedy decoding, for sampling with temperature and
# top-k, for a batch, and for a generation that runs past the context window. Then it temporarily wraps
# `gpt_forward_cached` to record how many tokens each call feeds: one prefill with the prompt, then exactly
# one token per step. Identical output *and* less work: that is the whole contract of a cache.
#
# ### The same text, from a trained model
#
# Identical tokens from an untrained model are convincing to a test but not to a human. Let's train a tiny
# GPT for a few seconds (module 13's recipe) and generate with both methods.

# %%
text = "the cache remembers what the model already knows, so the model only reads each word once. " * 3
chars = sorted(set(text))
stoi = {c: i for i, c in enumerate(chars)}
data = np.array([stoi[c] for c in text])
lm = GPT(len(chars), embed_dim=32, num_heads=4, num_layers=2, max_seq_len=160, seed=0)
opt, loss_fn = Adam(lm.parameters(), lr=3e-3), CrossEntropyLoss()
rng = np.random.default_rng(0)
for step in range(80):
    starts = rng.integers(0, len(data) - 49, size=8)
    batch = np.stack([data[s:s + 49] for s in starts])
    loss = loss_fn(lm(batch[:, :-1]).reshape(-1, len(chars)), Tensor(batch[:, 1:].reshape(-1)))
    opt.zero_grad(); loss.backward(); opt.step()
print(f"final training loss {float(loss.data):.3f}")

prompt = [stoi[c] for c in "the cache "]
t0 = time.perf_counter(); plain = lm.generate(prompt, 100, temperature=0.3, top_k=3, seed=0); t_plain = time.perf_counter() - t0
t0 = time.perf_counter(); fast = generate_cached(lm, prompt, 100, temperature=0.3, top_k=3, seed=0); t_fast = time.perf_counter() - t0
print("generate       :", "".join(chars[i] for i in plain))
print("generate_cached:", "".join(chars[i] for i in fast))
print(f"identical: {np.array_equal(plain, fast)}   {t_plain * 1e3:.0f} ms vs {t_fast * 1e3:.0f} ms "
      f"({t_plain / t_fast:.1f}x faster)")

# %% [markdown]
# ## 7. Systems analysis
#
# For the measurements we use an untrained GPT with a wider context window (timing does not depend on
# the weights): vocabulary 65 (a character set), `D = 64`, 4 heads, 2 layers, MLP ratio 4,
# `max_seq_len = 320`.
#
# ### Time per new token against context length
#
# One decode step at context length `T`: the uncached model runs all `T` tokens; the cached model runs
# one token against a cache already holding `T - 1` positions. We time the uncached step both with
# module 13's `forward` and with our own code path (a fresh cache, the whole window), to separate what
# the cache saves from what the leaner code saves.

# %%
bench = GPT(65, embed_dim=64, num_heads=4, num_layers=2, max_seq_len=320, mlp_ratio=4, seed=0)
bench.eval()
ids_all = np.random.default_rng(1).integers(0, 65, size=(1, 320))
per_token = {}
print(f"{'T':>5s} {'forward() ms':>13s} {'recompute ms':>13s} {'cached ms':>10s} {'cache speed-up':>15s}")
with no_grad():
    for T in (16, 32, 64, 128, 256):
        ids = ids_all[:, :T]
        t_full = measure_latency(lambda: bench(ids), warmup=1, repeats=5)["median"]
        def recompute():
            c = KVCache.for_model(bench)
            gpt_forward_cached(bench, ids, c)
        t_re = measure_latency(recompute, warmup=1, repeats=5)["median"]
        cache = KVCache.for_model(bench)
        gpt_forward_cached(bench, ids[:, :-1], cache)          # T-1 positions already cached
        def one_step():
            gpt_forward_cached(bench, ids[:, -1:], cache)
            cache.length -= 1                                   # undo, so every repeat sees the same state
        t_step = measure_latency(one_step, warmup=1, repeats=9)["median"]
        per_token[T] = (t_full, t_re, t_step)
        print(f"{T:5d} {t_full * 1e3:13.3f} {t_re * 1e3:13.3f} {t_step * 1e3:10.3f} {t_re / t_step:14.1f}x")
growth_full = per_token[256][1] / per_token[16][1]
growth_step = per_token[256][2] / per_token[16][2]
print(f"from T=16 to T=256 a recomputed step got {growth_full:.1f}x slower, a cached step {growth_step:.2f}x")

# %% [markdown]
# The recomputed step grows with the context (its projections and MLP are linear in `T`, attention
# quadratic), while the cached step stays nearly flat: it always processes one token, and only its
# single row of attention grows with `T`. Comparing the first two columns shows how much of the gap
# comes from our leaner attention code rather than from the cache: at equal work the two paths differ
# by that factor only.
#
# ### Total generation time against the number of new tokens
#
# The number that users feel. Prompt of 20 tokens, then `N` new tokens, three ways: module 13's
# `generate`, our path without the cache, and with it. We also confirm that all three produce the same
# tokens.

# %%
prompt20 = ids_all[0, :20]
totals = {}
print(f"{'N':>5s} {'generate ms':>12s} {'no cache ms':>12s} {'cached ms':>10s} {'vs generate':>12s} {'vs no cache':>12s}  same")
for N in (25, 50, 100):
    runs = {}
    for name, fn in (("generate", lambda: bench.generate(prompt20, N, temperature=0.8, top_k=10, seed=0)),
                     ("nocache", lambda: generate_cached(bench, prompt20, N, temperature=0.8, top_k=10, seed=0,
                                                         use_cache=False)),
                     ("cached", lambda: generate_cached(bench, prompt20, N, temperature=0.8, top_k=10, seed=0))):
        t0 = time.perf_counter()
        toks = fn()
        runs[name] = (time.perf_counter() - t0, toks)
    same = np.array_equal(runs["generate"][1], runs["cached"][1]) and np.array_equal(runs["nocache"][1], runs["cached"][1])
    tg, tn, tc = (runs[k][0] for k in ("generate", "nocache", "cached"))
    totals[N] = (tg, tn, tc, same)
    print(f"{N:5d} {tg * 1e3:12.1f} {tn * 1e3:12.1f} {tc * 1e3:10.1f} {tg / tc:11.1f}x {tn / tc:11.1f}x  {same}")
tg, tn, tc, same = totals[100]
print(f"\n100 new tokens: {tg / tc:.1f}x faster than GPT.generate, identical tokens: {same}")

# %% [markdown]
# The speed-up grows with `N`: without the cache the total work is a sum of ever-longer steps, which grows
# like `N^2`, while with the cache every step costs about the same, so the total grows like `N`. The
# advantage therefore keeps growing with the length of the output, until attention over the cache itself
# becomes the dominant cost of a step for very long texts.
#
# ### Counting the work: FLOPs per generated token
#
# Per block, processing `t` new tokens against `T` keys costs about `8 t D^2` FLOPs for the four
# projections, `4 t T D` for attention (scores and weighted sum) and `4 r t D^2` for the MLP with ratio
# `r`. Uncached, step `T` has `t = T`; cached, `t = 1`. Let's compare the FLOP ratio with the measured
# time ratio of the table above.

# %%
def step_flops(t, T, D=64, r=4, L=2, V=65):
    return L * (8 * t * D * D + 4 * t * T * D + 4 * r * t * D * D) + 2 * t * D * V


print(f"{'T':>5s} {'uncached MFLOP':>15s} {'cached MFLOP':>13s} {'FLOP ratio':>11s} {'time ratio':>11s}")
for T, (_, t_re, t_step) in per_token.items():
    fu, fc = step_flops(T, T), step_flops(1, T)
    print(f"{T:5d} {fu / 1e6:15.3f} {fc / 1e6:13.4f} {fu / fc:10.0f}x {t_re / t_step:10.1f}x")

# %% [markdown]
# The FLOP ratio is far larger than the time ratio. A single-token step performs very little arithmetic,
# so its time is dominated by fixed costs: Python calls, NumPy dispatch, reading every weight matrix once
# from memory. This is the regime real inference servers fight with too; it is why they **batch** many
# users' decode steps together (the weights are read once for all of them), and why the cache matters
# most for large models and long texts, where the arithmetic dominates.
#
# ### Why preallocate? Growing the cache by concatenation
#
# A simpler cache would append with `np.concatenate` every step. Each concatenation copies the whole
# cache, so generating `N` tokens copies about `N^2 / 2` positions in total.

# %%
def grow_by_concat(n, shape=(1, 4, 16)):
    k = np.zeros(shape[:2] + (0, shape[2]), dtype=np.float32)
    new = np.ones(shape[:2] + (1, shape[2]), dtype=np.float32)
    for _ in range(n):
        k = np.concatenate([k, new], axis=2)
    return k


def grow_preallocated(n, shape=(1, 4, 16)):
    k = np.zeros(shape[:2] + (n, shape[2]), dtype=np.float32)
    new = np.ones(shape[:2] + (1, shape[2]), dtype=np.float32)
    for i in range(n):
        k[:, :, i:i + 1] = new
    return k


print(f"{'steps':>6s} {'concatenate ms':>15s} {'preallocated ms':>16s} {'ratio':>6s}")
for n in (256, 1024, 4096):
    tc_ = measure_latency(lambda: grow_by_concat(n), warmup=1, repeats=3)["median"]
    tp_ = measure_latency(lambda: grow_preallocated(n), warmup=1, repeats=3)["median"]
    print(f"{n:6d} {tc_ * 1e3:15.2f} {tp_ * 1e3:16.2f} {tc_ / tp_:5.1f}x")

# %% [markdown]
# The gap widens with the number of steps: the preallocated cache does the same small write at every step,
# while the concatenating version copies everything written so far, so its cost per step keeps growing.
#
# ### What the cache costs in memory
#
# Memoization trades memory for time. The KV cache holds `2 x L x B x T_max x D` numbers (keys and values,
# every layer, every position; the heads split `D` between them). Here is what that means for our model
# and for a few well-known sizes, computed from the same formula `KVCache.nbytes` uses.

# %%
def kv_cache_bytes(num_layers, d_model, max_seq_len, batch_size=1, bytes_per_value=4):
    return 2 * num_layers * batch_size * max_seq_len * d_model * bytes_per_value


ours = KVCache.for_model(bench)
assert ours.nbytes == kv_cache_bytes(2, 64, 320)
print(f"{'model':34s} {'L':>3s} {'D':>5s} {'T_max':>6s} {'batch':>6s} {'KV cache':>10s}")
for name, L, D, T, B, nb in (("this notebook's timing model", 2, 64, 320, 1, 4),
                             ("GPT-2 small (fp32)", 12, 768, 1024, 1, 4),
                             ("GPT-2 small, 32 users", 12, 768, 1024, 32, 4),
                             ("7B-class model (fp16)", 32, 4096, 4096, 1, 2)):
    size = kv_cache_bytes(L, D, T, B, nb)
    print(f"{name:34s} {L:3d} {D:5d} {T:6d} {B:6d} {size / 2**20:7.1f} MiB")

# %% [markdown]
# For small models the cache is tiny. For large models serving many users, the KV cache, not the weights,
# becomes the main consumer of accelerator memory, which is why serving systems page it in blocks, share
# it between requests with a common prompt, quantise it, or shrink it architecturally (grouped-query
# attention shares one key/value head between several query heads).
#
# ## Summary
#
# - **Memoization** stores results of a pure function by its arguments so nothing is computed twice; it
#   trades memory for time.
# - In a causal Transformer the keys and values of past tokens never change, so they can be cached; only
#   the new token's query, key and value are computed at each step.
# - A **KV cache** is preallocated per layer, filled at `length .. length + t - 1`, and advanced once per
#   model step; new queries attend over the cache with the bottom rows of the causal mask.
# - The new token's **position** is its absolute position, not 0: the positional rows must be offset.
# - **Cached generation** gives exactly the same tokens as recomputing, with a per-token cost that stays
#   flat instead of growing with the context, so the speed-up grows with the output length.
# - With learned absolute positions, a sliding window invalidates the cache; the cost of the cache is
#   `2 L B T_max D` stored numbers.
#
# ## Reflection questions
#
# 1. `memoize` uses the arguments as dictionary keys. Why can you not memoize a function of a NumPy array
#    this way, and what would you use as the key instead? What goes wrong if the array is later modified?
# 2. Why do we cache keys and values but not queries? And why not cache the attention *outputs* of old
#    tokens, or their MLP outputs?
# 3. The cached step's time hardly grows with `T` in our measurements. Which term of `step_flops` grows
#    with `T`, and at what context length would it dominate the step for this model?
# 4. Our cache must be discarded when the window slides. Sketch how a model with relative positions (for
#    example rotary embeddings, which rotate `q` and `k` by their position) could keep its cache instead.
# 5. A chatbot serves 32 users with GPT-2 small. Using the table above, compare the KV cache memory with
#    the model's weights (about 124 million parameters). What would you change first to serve more users?
