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
#     title: Transformers
#     summary: Assemble layer normalisation, a GELU MLP and multi-head attention into pre-norm Transformer blocks, stack them into a small GPT, and make it write text with temperature and top-k sampling.
#     tier: architecture
#     minutes: 180
#     prerequisites: [01_tensor, 02_activations, 03_layers, 04_losses, 05_autograd, 06_optimizers, 11_embeddings, 12_attention]
#     objectives:
#       - Implement layer normalisation with a hand-written backward pass checked against numerical gradients
#       - Build the position-wise GELU MLP and explain its role next to attention
#       - Wire a pre-norm Transformer block with residual connections and explain why residuals make depth trainable
#       - Assemble a decoder-only GPT from token and position embeddings, blocks and an output head
#       - Generate text autoregressively with temperature and top-k sampling
#       - Measure where a Transformer's parameters and time go
#     exports: [LayerNorm, MLP, TransformerBlock, GPT, sample_next_token]
#     milestone: 05_transformer
# ---

# %% [markdown]
# # Module 13: Transformers
#
# Module 12 gave us attention: a way for every token to read from the others. One attention layer is
# not a language model yet. A Transformer interleaves two kinds of sublayer, many times over:
#
# - **attention** moves information *between* positions ("communication"),
# - an **MLP** transforms the information *at* each position ("computation"),
#
# and holds the stack together with two pieces of plumbing: **layer normalisation**, which keeps the
# numbers in a healthy range, and **residual connections**, which let gradients flow straight from the
# loss to the first layer. Stack a few such blocks between an embedding table and an output layer, train
# it to predict the next token, and you have a GPT: the architecture behind today's language models,
# in a few hundred lines of NumPy.
#
# ## What you will build
#
# - `LayerNorm(dim)` with its own backward pass,
# - `MLP(dim, hidden)`: Linear, GELU, Linear,
# - `TransformerBlock(dim, heads)`: pre-norm attention and MLP with residuals,
# - `GPT(vocab_size, ...)`: embeddings, blocks, final norm, head, and `generate(...)` with temperature and top-k.
#
# Milestone 05 then trains your GPT on Shakespeare's sonnets, character by character.
#
# ## Learning objectives
#
# - Implement layer normalisation with a hand-written backward pass checked against numerical gradients.
# - Build the position-wise GELU MLP and explain its role next to attention.
# - Wire a pre-norm Transformer block with residual connections and explain why residuals make depth trainable.
# - Assemble a decoder-only GPT from token and position embeddings, blocks and an output head.
# - Generate text autoregressively with temperature and top-k sampling.
# - Measure where a Transformer's parameters and time go.

# %%
#| default_exp core.transformer

# %%
#| export
import numpy as np

from tinytorch.core.tensor import Tensor
from tinytorch.core.activations import GELU
from tinytorch.core.layers import Module, Linear
from tinytorch.core.autograd import Function, track, no_grad
from tinytorch.core.embeddings import Embedding, LearnedPositionalEncoding
from tinytorch.core.attention import MultiHeadAttention

# %%
#| hide
import time

from tinytorch.core.autograd import check_gradients
from tinytorch.core.losses import CrossEntropyLoss
from tinytorch.core.optimizers import Adam

np.set_printoptions(precision=4, suppress=True)

# %% [markdown]
# ## 1. The big picture
#
# ```
#   token ids (B, T)
#        |
#   Embedding + LearnedPositionalEncoding         (module 11)
#        |  x: (B, T, D)
#   +----v------------------------------------+
#   |  x = x + Attention(LayerNorm(x))        |   communicate (module 12, causal)
#   |  x = x + MLP(LayerNorm(x))              |   compute (per position)
#   +----|------------------------------------+   x num_layers
#        |
#   LayerNorm -> Linear(D, vocab)                 logits (B, T, vocab)
#        |
#   cross-entropy with the ids shifted by one     "predict the next token"
# ```
#
# Notice where the normalisation sits: *inside* each branch, before attention and before the MLP
# ("pre-norm"). The main path `x -> x + ... -> x + ...` is never normalised or squashed, it is only
# added to. That uninterrupted path, the **residual stream**, is what makes deep stacks trainable: the
# gradient of `x + f(x)` with respect to `x` is `1 + f'(x)`, so even if `f'` is tiny the gradient reaches
# the bottom intact.

# %% [markdown]
# ## 2. Layer normalisation
#
# Each token vector is normalised on its own, across its `D` features:
#
# ```
#   mu    = mean(x)                      over the last axis
#   var   = mean((x - mu)^2)
#   x_hat = (x - mu) / sqrt(var + eps)   mean 0, variance 1 per token
#   y     = gamma * x_hat + beta         learnable per-feature scale and shift
# ```
#
# Worked example, one token with `D = 4`, `gamma = 1`, `beta = 0`:
#
# ```
#   x = [1, 2, 3, 6]   mu = 3   var = (4 + 1 + 0 + 9) / 4 = 3.5   sqrt = 1.8708
#   x_hat = [-1.069, -0.535, 0.000, 1.604]
# ```
#
# Unlike batch normalisation, nothing depends on the other examples in the batch, so it behaves the same
# in training and at generation time, with a batch of one.
#
# ### The backward pass
#
# `beta` and `gamma` are easy: `d beta = sum(dy)` and `d gamma = sum(dy * x_hat)`, summed over every axis
# except the feature axis. For `x`, let `g = dy * gamma` (the gradient reaching `x_hat`). Because `mu` and
# `var` depend on every feature of the token, the gradient has two correction terms:
#
# ```
#   dx = (g - mean(g) - x_hat * mean(g * x_hat)) / sqrt(var + eps)      (means over the feature axis)
# ```
#
# The first correction removes the part of `g` that would shift the mean; the second removes the part that
# would change the variance. Both are exactly the directions the normalisation throws away.

# %% nbgrader={"grade": false, "grade_id": "layernorm-forward", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def layernorm_forward(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float = 1e-5):
    """Normalise x over its last axis, then scale and shift.

    Returns (y, x_hat, inv_std) where inv_std = 1 / sqrt(var + eps) has shape x.shape[:-1] + (1,);
    the backward pass reuses x_hat and inv_std.

    EXAMPLE: x = [[1, 2, 3, 6]], gamma = 1, beta = 0 -> y = [[-1.069, -0.535, 0.0, 1.604]]
    HINT: keepdims=True on mean and var keeps the shapes broadcastable.
    """
    ### BEGIN SOLUTION
    mu = x.mean(axis=-1, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=-1, keepdims=True)
    inv_std = 1.0 / np.sqrt(var + eps)
    x_hat = (x - mu) * inv_std
    return gamma * x_hat + beta, x_hat, inv_std
    ### END SOLUTION

# %% mutant={"name": "layernorm-no-eps", "target": "layernorm-forward", "replace": "inv_std = 1.0 / np.sqrt(var + eps)", "catches": ["test-layernorm"]}
# Leaves out eps: a constant token divides 0 by 0.
inv_std = 1.0 / np.sqrt(var)

# %% mutant={"name": "layernorm-over-batch", "target": "layernorm-forward", "replace": "mu = x.mean(axis=-1, keepdims=True)\nvar = ((x - mu) ** 2).mean(axis=-1, keepdims=True)", "catches": ["test-layernorm"]}
# BatchNorm habits: statistics over the first axis instead of over each token's features.
mu = x.mean(axis=0, keepdims=True)
var = ((x - mu) ** 2).mean(axis=0, keepdims=True)

# %% nbgrader={"grade": false, "grade_id": "layernorm-backward", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class LayerNormBackward(Function):
    """Gradients of LayerNorm with respect to x, gamma and beta."""

    def __init__(self, x: Tensor, gamma: Tensor, beta: Tensor, x_hat: np.ndarray, inv_std: np.ndarray):
        super().__init__(x, gamma, beta)
        self.x_hat, self.inv_std = x_hat, inv_std

    def backward(self, grad_output: np.ndarray) -> tuple:
        """Return (dx, dgamma, dbeta).

        HINTS:
        - dgamma and dbeta have shape (D,): sum over every axis but the last. Reshape
          grad_output to (-1, D) first and sum over axis 0.
        - dx follows the formula above; all means are over axis -1 with keepdims=True.
        """
        gamma = self.inputs[1].data
        D = gamma.shape[-1]
        ### BEGIN SOLUTION
        dbeta = grad_output.reshape(-1, D).sum(axis=0)
        dgamma = (grad_output * self.x_hat).reshape(-1, D).sum(axis=0)
        g = grad_output * gamma
        dx = (g - g.mean(axis=-1, keepdims=True)
              - self.x_hat * (g * self.x_hat).mean(axis=-1, keepdims=True)) * self.inv_std
        ### END SOLUTION
        return dx, dgamma, dbeta


class LayerNorm(Module):
    """Layer normalisation over the last axis with learnable gamma (ones) and beta (zeros)."""

    def __init__(self, dim: int, eps: float = 1e-5):
        super().__init__()
        self.dim, self.eps = dim, eps
        self.gamma = Tensor(np.ones(dim, dtype=np.float32), requires_grad=True)
        self.beta = Tensor(np.zeros(dim, dtype=np.float32), requires_grad=True)

    def forward(self, x: Tensor) -> Tensor:
        if x.shape[-1] != self.dim:
            raise ValueError(f"LayerNorm({self.dim}) got input with last dimension {x.shape[-1]}")
        y, x_hat, inv_std = layernorm_forward(x.data, self.gamma.data, self.beta.data, self.eps)
        return track(Tensor(y.astype(x.data.dtype, copy=False)),
                     LayerNormBackward(x, self.gamma, self.beta, x_hat, inv_std))

    def __repr__(self) -> str:
        return f"LayerNorm({self.dim})"

# %% mutant={"name": "dx-without-variance-term", "target": "layernorm-backward", "replace": "dx = (g - g.mean(axis=-1, keepdims=True)\n      - self.x_hat * (g * self.x_hat).mean(axis=-1, keepdims=True)) * self.inv_std", "catches": ["test-layernorm"]}
# Treats the variance as a constant: keeps the mean correction, drops the x_hat one.
dx = (g - g.mean(axis=-1, keepdims=True)) * self.inv_std

# %% mutant={"name": "dgamma-without-xhat", "target": "layernorm-backward", "replace": "dgamma = (grad_output * self.x_hat).reshape(-1, D).sum(axis=0)", "catches": ["test-layernorm"]}
# Copies dbeta's line for dgamma.
dgamma = grad_output.reshape(-1, D).sum(axis=0)

# %% nbgrader={"grade": true, "grade_id": "test-layernorm", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
def test_layernorm():
    """Worked example, per-token statistics, gamma/beta, and gradients for x, gamma and beta."""
    ln = LayerNorm(4)
    y = ln(Tensor(np.array([[1.0, 2.0, 3.0, 6.0]], dtype=np.float32)))
    assert np.allclose(y.data, [[-1.069, -0.535, 0.0, 1.604]], atol=1e-3), f"worked example gives {y.data}"
    rng = np.random.default_rng(0)
    x = Tensor((rng.normal(size=(2, 3, 4)) * 5 + 7).astype(np.float32))
    y = ln(x)
    assert y.shape == (2, 3, 4), f"shape must be preserved, got {y.shape}"
    assert np.allclose(y.data.mean(-1), 0, atol=1e-5), "every token must have mean 0 after normalising"
    assert np.allclose(y.data.var(-1), 1, atol=1e-3), "every token must have variance 1 after normalising"
    ln.gamma.data[:] = 2.0; ln.beta.data[:] = 1.0
    assert np.allclose(ln(x).data.mean(-1), 1.0, atol=1e-5), "beta must shift the output"
    assert len(list(ln.parameters())) == 2, "gamma and beta are the two parameters"
    ln2 = LayerNorm(5)
    ln2.gamma.data[:] = rng.normal(size=5); ln2.beta.data[:] = rng.normal(size=5)
    xin = Tensor(rng.normal(size=(3, 2, 5)), requires_grad=True)
    check_gradients(lambda a, g, b: ln2(a), xin, ln2.gamma, ln2.beta)
    print("LayerNorm: OK")
test_layernorm()
### BEGIN HIDDEN TESTS
_ln = LayerNorm(3)
_x = Tensor(np.array([[5.0, 5.0, 5.0]]), requires_grad=True)
assert np.allclose(_ln(_x).data, 0.0), "a constant token normalises to zeros (eps avoids division by 0)"
_dx, _dg, _db = LayerNormBackward(_x, _ln.gamma, _ln.beta, *layernorm_forward(_x.data, _ln.gamma.data, _ln.beta.data)[1:]).backward(np.ones((1, 3)))
assert np.allclose(_dx, 0.0, atol=1e-6), "adding a constant to every feature cannot change the output"
assert np.allclose(_db, 1.0) and _dg.shape == (3,), "dbeta is the summed upstream gradient"
### END HIDDEN TESTS

# %% [markdown]
# The test checks the worked example, mean 0 and variance 1 per token, the effect of `gamma`/`beta`, and
# runs `check_gradients` on all three inputs. The hidden part checks the constant-input edge case: the
# gradient with respect to `x` of a uniform upstream gradient must vanish (shifting all features is
# invisible after normalisation).
#
# ## 3. The MLP: computation at each position
#
# The MLP applies the same two-layer network to every token independently: widen to `4 D`, apply GELU,
# project back. GELU (module 02) is a smooth ReLU: `x * Phi(x)`. With `D = 64` the hidden layer has 256
# units, and this sublayer holds two thirds of a block's parameters. Like the attention projections, our
# `Linear` layers expect 2-D input, so we flatten `(B, T, D)` to `(B*T, D)` and back.

# %% nbgrader={"grade": false, "grade_id": "mlp", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class MLP(Module):
    """Position-wise feed-forward network: (..., D) -> Linear(D, H) -> GELU -> Linear(H, D)."""

    def __init__(self, dim: int, hidden_dim: int | None = None):
        super().__init__()
        self.dim, self.hidden_dim = dim, hidden_dim or 4 * dim
        self.fc1 = Linear(self.dim, self.hidden_dim)
        self.act = GELU()
        self.fc2 = Linear(self.hidden_dim, self.dim)

    def forward(self, x: Tensor) -> Tensor:
        """HINT: flatten to (-1, D), apply fc1, act, fc2, then reshape to x.shape."""
        shape = x.shape
        ### BEGIN SOLUTION
        h = self.act(self.fc1(x.reshape(-1, self.dim)))
        return self.fc2(h).reshape(*shape)
        ### END SOLUTION

# %% mutant={"name": "mlp-no-activation", "target": "mlp"}
# Two Linear layers with no nonlinearity between them collapse into one.
h = self.fc1(x.reshape(-1, self.dim))
return self.fc2(h).reshape(*shape)

# %% nbgrader={"grade": true, "grade_id": "test-mlp", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
def test_mlp():
    """Shape, parameter count, independence of positions, and gradients."""
    rng = np.random.default_rng(1)
    mlp = MLP(4)
    assert mlp.num_parameters() == (4 * 16 + 16) + (16 * 4 + 4), f"4->16->4 has 148 parameters, got {mlp.num_parameters()}"
    x = rng.normal(size=(2, 3, 4)).astype(np.float32)
    y = mlp(Tensor(x))
    assert y.shape == (2, 3, 4), f"shape must be preserved, got {y.shape}"
    alone = mlp(Tensor(x[1:2, 2:3]))
    assert np.allclose(alone.data[0, 0], y.data[1, 2], atol=1e-6), "each position must be transformed on its own"
    h = x.reshape(-1, 4) @ mlp.fc1.weight.data + mlp.fc1.bias.data
    gelu = 0.5 * h * (1 + np.tanh(np.sqrt(2 / np.pi) * (h + 0.044715 * h ** 3)))
    ref = (gelu @ mlp.fc2.weight.data + mlp.fc2.bias.data).reshape(2, 3, 4)
    assert np.allclose(y.data, ref, atol=2e-3), "MLP must be fc2(GELU(fc1(x)))"
    small = MLP(3, 5)
    xin = Tensor(rng.normal(size=(2, 2, 3)), requires_grad=True)
    check_gradients(lambda a, w1, w2: small(a), xin, small.fc1.weight, small.fc2.weight)
    print("MLP: OK")
test_mlp()

# %% [markdown]
# ## 4. The Transformer block
#
# Now the plumbing. Pre-norm block, with `x` of shape `(B, T, D)`:
#
# ```
#     x ----------------------------+                x ----------------------------+
#     |                             |                |                             |
#     '-> LayerNorm -> Attention -> (+) -> x  ...    '-> LayerNorm ->   MLP   ---> (+) -> out
# ```
#
# Two lines of code, and they are the heart of the architecture. Residuals also mean a freshly
# initialised block is close to the identity plus a small correction, which is a good place for
# training to start.

# %% nbgrader={"grade": false, "grade_id": "transformer-block", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class TransformerBlock(Module):
    """Pre-norm block: x + attn(ln1(x)), then + mlp(ln2(x)). Shape (B, T, D) is preserved."""

    def __init__(self, embed_dim: int, num_heads: int, mlp_ratio: int = 4, causal: bool = True):
        super().__init__()
        self.ln1 = LayerNorm(embed_dim)
        self.attn = MultiHeadAttention(embed_dim, num_heads, causal=causal)
        self.ln2 = LayerNorm(embed_dim)
        self.mlp = MLP(embed_dim, mlp_ratio * embed_dim)

    def forward(self, x: Tensor, mask=None) -> Tensor:
        """HINT: pass mask on to self.attn(..., mask=mask)."""
        ### BEGIN SOLUTION
        x = x + self.attn(self.ln1(x), mask=mask)
        x = x + self.mlp(self.ln2(x))
        return x
        ### END SOLUTION

# %% mutant={"name": "post-norm", "target": "transformer-block", "catches": ["test-transformer-block"]}
# The 2017 post-norm order: normalise after the residual sum (not what the text asks for).
x = self.ln1(x + self.attn(x, mask=mask))
x = self.ln2(x + self.mlp(x))
return x

# %% mutant={"name": "mlp-without-residual", "target": "transformer-block", "catches": ["test-transformer-block"]}
# Forgets the second residual connection.
x = x + self.attn(self.ln1(x), mask=mask)
x = self.mlp(self.ln2(x))
return x

# %% mutant={"name": "ln1-reused-for-mlp", "target": "transformer-block", "catches": ["test-transformer-block"]}
# Copy-paste slip: both sublayers use ln1, so ln2 never takes part.
x = x + self.attn(self.ln1(x), mask=mask)
x = x + self.mlp(self.ln1(x))
return x

# %% nbgrader={"grade": true, "grade_id": "test-transformer-block", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
def test_transformer_block():
    """Shape, residual identity, causality, and gradients through the whole block."""
    rng = np.random.default_rng(2)
    block = TransformerBlock(8, 2)
    x = Tensor(rng.normal(size=(2, 5, 8)).astype(np.float32))
    y = block(x)
    assert y.shape == (2, 5, 8), f"a block preserves (B, T, D), got {y.shape}"
    saved = [(p, p.data.copy()) for p in (block.attn.out_proj.weight, block.attn.out_proj.bias,
                                         block.mlp.fc2.weight, block.mlp.fc2.bias)]
    for p, _ in saved:
        p.data[...] = 0.0
    assert np.allclose(block(x).data, x.data, atol=1e-6), "with both branches zeroed, residuals make the block the identity"
    for p, d in saved:
        p.data[...] = d
    x2 = x.data.copy(); x2[:, -1] = 0.0
    assert np.allclose(block(Tensor(x2)).data[:, :4], y.data[:, :4], atol=1e-5), "the block must be causal by default"
    block.ln2.beta.data[:] = 1.0
    assert not np.allclose(block(x).data, y.data, atol=1e-4), "changing ln2 must change the output: the MLP reads ln2(x)"
    block.ln2.beta.data[:] = 0.0
    small = TransformerBlock(4, 2, mlp_ratio=2)
    xin = Tensor(rng.normal(size=(1, 3, 4)), requires_grad=True)
    check_gradients(lambda a, g, w: small(a), xin, small.ln1.gamma, small.attn.v_proj.weight)
    print("TransformerBlock: OK")
test_transformer_block()
### BEGIN HIDDEN TESTS
_b = TransformerBlock(4, 1, mlp_ratio=1, causal=False)
_x = Tensor(np.random.default_rng(9).normal(size=(2, 3, 4)), requires_grad=True)
check_gradients(lambda a, w, b2: _b(a), _x, _b.mlp.fc1.weight, _b.ln2.beta)
_x2 = _x.data.copy(); _x2[:, -1] = np.random.default_rng(10).normal(size=(2, 4))
assert not np.allclose(_b(Tensor(_x2)).data[:, 0], _b(_x).data[:, 0]), "causal=False lets token 0 see the future"
### END HIDDEN TESTS

# %% [markdown]
# The test zeroes the last layer of both branches to show the residual stream passes `x` through
# unchanged, checks causality, and checks gradients through layer norm, attention and the MLP together.
#
# ## 5. GPT: a decoder-only language model
#
# The model predicts, at every position `t`, a distribution over the next token. Its output for a
# `(B, T)` batch of ids is a `(B, T, vocab_size)` array of **logits** (unnormalised log-probabilities).
# For training we shift by one: the input is `ids[:, :-1]`, the target is `ids[:, 1:]`, and the loss is the
# cross-entropy over all `B x (T-1)` positions at once. The causal mask guarantees that the prediction at
# position `t` only used tokens `0..t`.
#
# ```
#   input   T  o     b  e     o  r
#   target  o     b  e     o  r     n        each position predicts its right neighbour
# ```

# %% nbgrader={"grade": false, "grade_id": "gpt-forward", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class GPT(Module):
    """A small decoder-only Transformer language model.

    GPT(vocab_size, embed_dim=64, num_heads=4, num_layers=2, max_seq_len=64, mlp_ratio=4, seed=None)
    forward(ids (B, T) or (T,)) -> logits (B, T, vocab_size) (or (T, vocab_size)).
    """

    def __init__(self, vocab_size: int, embed_dim: int = 64, num_heads: int = 4, num_layers: int = 2,
                 max_seq_len: int = 64, mlp_ratio: int = 4, seed: int | None = None):
        super().__init__()
        if seed is not None:
            np.random.seed(seed)      # Linear layers draw their initial weights from NumPy's global generator
        self.vocab_size, self.embed_dim, self.max_seq_len = vocab_size, embed_dim, max_seq_len
        self.token_embedding = Embedding(vocab_size, embed_dim, seed=seed)
        self.position = LearnedPositionalEncoding(max_seq_len, embed_dim, seed=None if seed is None else seed + 1)
        self.blocks = [TransformerBlock(embed_dim, num_heads, mlp_ratio, causal=True) for _ in range(num_layers)]
        self.ln_f = LayerNorm(embed_dim)
        self.head = Linear(embed_dim, vocab_size)

    def forward(self, ids) -> Tensor:
        """ids -> logits. HINT: embed, add positions, run every block, final LayerNorm, then the head
        on the flattened (B*T, D) activations reshaped back to (B, T, vocab_size)."""
        ids = np.asarray(ids.data if isinstance(ids, Tensor) else ids)
        single = ids.ndim == 1
        if single:
            ids = ids[None, :]
        B, T = ids.shape
        if T > self.max_seq_len:
            raise ValueError(f"sequence length {T} exceeds max_seq_len {self.max_seq_len}")
        ### BEGIN SOLUTION
        x = self.position(self.token_embedding(ids))
        for block in self.blocks:
            x = block(x)
        x = self.ln_f(x)
        logits = self.head(x.reshape(B * T, self.embed_dim)).reshape(B, T, self.vocab_size)
        ### END SOLUTION
        return logits.reshape(T, self.vocab_size) if single else logits

    def generate(self, ids, max_new_tokens: int, temperature: float = 1.0, top_k: int | None = None,
                 seed: int | None = None) -> np.ndarray:
        """Append max_new_tokens sampled tokens to `ids` ((T,) or (B, T)) and return the ids as an int array.

        Only the last max_seq_len tokens are fed to the model at each step (its context window).
        temperature=0 means greedy decoding (always the most likely token).
        """
        rng = np.random.default_rng(seed)
        out = np.array(ids.data if isinstance(ids, Tensor) else ids, dtype=np.int64)
        single = out.ndim == 1
        if single:
            out = out[None, :]
        was_training = self.training
        self.eval()
        try:
            with no_grad():
                for _ in range(max_new_tokens):
                    logits = self.forward(out[:, -self.max_seq_len:]).data[:, -1, :]
                    nxt = sample_next_token(logits, temperature, top_k, rng)
                    out = np.concatenate([out, nxt[:, None]], axis=1)
        finally:
            if was_training:
                self.train()
        return out[0] if single else out

# %% mutant={"name": "gpt-skips-positions", "target": "gpt-forward", "replace": "x = self.position(self.token_embedding(ids))", "catches": ["test-gpt"]}
# Embeds the tokens but never adds the position signal.
x = self.token_embedding(ids)

# %% mutant={"name": "gpt-skips-final-layernorm", "target": "gpt-forward", "replace": "x = self.ln_f(x)\nlogits = self.head(", "catches": ["test-gpt"]}
# Feeds the raw residual stream to the head.
logits = self.head(

# %% [markdown]
# ### Sampling the next token
#
# `generate` turns the last position's logits into a token, appends it and runs again. How we pick the
# token matters a lot for the text we get:
#
# - **temperature** `tau` divides the logits before the softmax. `tau < 1` sharpens the distribution
#   (safer, more repetitive), `tau > 1` flattens it (more surprising, more mistakes), and `tau -> 0`
#   is greedy decoding.
# - **top-k** keeps only the `k` largest logits and renormalises, so a long tail of unlikely tokens can
#   never be sampled.
#
# ```
#   logits      [2.0, 1.0, 0.0, -1.0]
#   tau = 1     probs [0.644, 0.237, 0.087, 0.032]
#   tau = 0.5   probs [0.865, 0.117, 0.016, 0.002]      sharper
#   top_k = 2   probs [0.731, 0.269, 0,     0    ]      tail cut off
# ```

# %% nbgrader={"grade": false, "grade_id": "sample-next-token", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def sample_next_token(logits: np.ndarray, temperature: float = 1.0, top_k: int | None = None,
                      rng: np.random.Generator | None = None) -> np.ndarray:
    """Sample one token id per row of `logits` (B, V); returns an int64 array of shape (B,).

    temperature == 0 -> argmax. Otherwise divide by temperature, keep only the top_k largest logits
    of each row (if top_k is given; others become -inf), softmax, and draw with rng.

    HINTS:
    - np.sort(row)[-k] is the k-th largest value; use np.partition for speed if you like.
    - rng.choice(V, p=probs) draws one index with the given probabilities.
    """
    rng = rng if rng is not None else np.random.default_rng()
    logits = np.asarray(logits, dtype=np.float64)
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0, got {temperature}")
    if temperature == 0:
        return logits.argmax(axis=-1).astype(np.int64)
    ### BEGIN SOLUTION
    z = logits / temperature
    if top_k is not None and top_k < z.shape[-1]:
        kth = np.partition(z, -top_k, axis=-1)[:, -top_k][:, None]
        z = np.where(z < kth, -np.inf, z)
    z = z - z.max(axis=-1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=-1, keepdims=True)
    return np.array([rng.choice(p.shape[-1], p=row) for row in p], dtype=np.int64)
    ### END SOLUTION

# %% mutant={"name": "temperature-multiplies", "target": "sample-next-token", "replace": "z = logits / temperature", "catches": ["test-sampling"]}
# Multiplies by the temperature: a low temperature then flattens instead of sharpening.
z = logits * temperature

# %% mutant={"name": "top-k-drops-kth", "target": "sample-next-token", "replace": "z = np.where(z < kth, -np.inf, z)", "catches": ["test-sampling"]}
# Off by one: `<=` also removes the k-th best logit, keeping only k-1 tokens.
z = np.where(z <= kth, -np.inf, z)

# %% nbgrader={"grade": true, "grade_id": "test-sampling", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
def test_sampling():
    """Greedy at temperature 0, top-k never leaves the k best, temperature changes the spread."""
    logits = np.array([[2.0, 1.0, 0.0, -1.0], [0.0, 0.0, 5.0, 0.0]])
    assert list(sample_next_token(logits, temperature=0)) == [0, 2], "temperature 0 must pick the argmax"
    rng = np.random.default_rng(0)
    draws = np.array([sample_next_token(logits, 1.0, top_k=2, rng=rng) for _ in range(400)])
    assert set(np.unique(draws[:, 0])) <= {0, 1}, "top_k=2 must only ever return the two best tokens"
    freq0 = np.mean(draws[:, 0] == 0)
    assert 0.65 < freq0 < 0.81, f"with top_k=2, token 0 should come out ~73% of the time, got {freq0:.2f}"
    cold = np.array([sample_next_token(logits[:1], 0.25, rng=rng)[0] for _ in range(300)])
    hot = np.array([sample_next_token(logits[:1], 4.0, rng=rng)[0] for _ in range(300)])
    assert np.mean(cold == 0) > 0.95 and np.mean(hot == 0) < 0.5, "low temperature sharpens, high temperature flattens"
    print("sample_next_token: OK")
test_sampling()

# %% nbgrader={"grade": true, "grade_id": "test-gpt", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
def test_gpt():
    """Logit shapes, causality, gradients reaching the embeddings, learning a pattern, and generate()."""
    model = GPT(vocab_size=7, embed_dim=16, num_heads=2, num_layers=2, max_seq_len=12, seed=0)
    ids = np.array([[1, 2, 3, 4, 5], [0, 6, 6, 1, 2]])
    logits = model(ids)
    assert logits.shape == (2, 5, 7), f"logits must be (B, T, vocab) = (2, 5, 7), got {logits.shape}"
    assert model(ids[0]).shape == (5, 7), "a single (T,) sequence gives (T, vocab) logits"
    ids2 = ids.copy(); ids2[:, -1] = 3
    assert np.allclose(model(ids2).data[:, :4], logits.data[:, :4], atol=1e-5), "GPT must be causal"
    same = model(np.array([4, 4, 4, 4])).data
    assert not np.allclose(same[0], same[3], atol=1e-4), \
        "the same token at positions 0 and 3 gave the same logits: did forward add the positional encoding?"
    saved = model.ln_f.gamma.data.copy(), model.ln_f.beta.data.copy()
    model.ln_f.gamma.data[:] = 0.0; model.ln_f.beta.data[:] = 0.0
    flat = model(ids).data
    assert np.allclose(flat, model.head.bias.data, atol=1e-6), \
        "with ln_f's gamma and beta zeroed every logit row must equal the head's bias: the head must read ln_f(x)"
    model.ln_f.gamma.data[:], model.ln_f.beta.data[:] = saved
    n_expected = 7 * 16 + 12 * 16 + 2 * (2 * 32 + 4 * (16 * 16 + 16) + 16 * 64 + 64 + 64 * 16 + 16) + 32 + 16 * 7 + 7
    assert model.num_parameters() == n_expected, f"expected {n_expected} parameters, got {model.num_parameters()}"
    # learn "0 1 2 3 4 5 6 0 1 2 ..." : the next token is always (token + 1) mod 7
    seq = np.arange(40) % 7
    batch = np.stack([seq[i:i + 9] for i in range(8)])
    opt, loss_fn = Adam(model.parameters(), lr=0.01), CrossEntropyLoss()
    losses = []
    for _ in range(30):
        out = model(batch[:, :-1])
        loss = loss_fn(out.reshape(-1, 7), Tensor(batch[:, 1:].reshape(-1)))
        opt.zero_grad(); loss.backward(); opt.step()
        losses.append(float(loss.data))
    assert model.token_embedding.weight.grad is not None, "gradients must reach the token embedding"
    assert model.position.embedding.weight.grad is not None, "gradients must reach the position table"
    assert losses[-1] < 0.3 * losses[0], f"the loss should fall well below its start: {losses[0]:.3f} -> {losses[-1]:.3f}"
    gen = model.generate([3, 4], max_new_tokens=6, temperature=0)
    assert gen.shape == (8,) and list(gen[:2]) == [3, 4], f"generate returns prompt + new tokens, got {gen}"
    assert list(gen[2:]) == [5, 6, 0, 1, 2, 3], f"a trained model should continue the pattern, got {gen}"
    long = model.generate(np.zeros((2, 3), dtype=int), max_new_tokens=15, temperature=1.0, top_k=3, seed=1)
    assert long.shape == (2, 18), "generation beyond max_seq_len must crop the context, not fail"
    print("GPT: OK")
test_gpt()
### BEGIN HIDDEN TESTS
_g = GPT(5, embed_dim=8, num_heads=2, num_layers=1, max_seq_len=4, seed=3)
try:
    _g(np.zeros((1, 5), dtype=int))
    raise AssertionError("sequences longer than max_seq_len must be refused in forward")
except ValueError:
    pass
assert np.array_equal(_g.generate([1], 5, temperature=0.7, seed=4), _g.generate([1], 5, temperature=0.7, seed=4)), \
    "same seed, same text"
### END HIDDEN TESTS

# %% [markdown]
# The test checks shapes and causality, that one token repeated at four positions gets four different
# predictions (so the positional encoding really is added), that the head reads the final LayerNorm's
# output (zeroing `ln_f` must leave only the head's bias), counts parameters against the formula, trains your GPT for 30
# steps on a repeating pattern (the loss must drop below 30% of its start), and checks that greedy
# generation continues the pattern and that generation longer than the context window works.
#
# ## 6. Watching a GPT learn
#
# Let's train a tiny GPT on one sentence and look at samples as it learns. This is milestone 05 in
# miniature: the real one trains on the sonnets for longer.

# %%
text = "to be, or not to be, that is the question. " * 4
chars = sorted(set(text))
stoi = {c: i for i, c in enumerate(chars)}
data = np.array([stoi[c] for c in text])
model = GPT(len(chars), embed_dim=32, num_heads=4, num_layers=2, max_seq_len=24, seed=0)
opt, loss_fn = Adam(model.parameters(), lr=3e-3), CrossEntropyLoss()
rng = np.random.default_rng(0)
for step in range(151):
    starts = rng.integers(0, len(data) - 25, size=16)
    batch = np.stack([data[s:s + 25] for s in starts])
    logits = model(batch[:, :-1])
    loss = loss_fn(logits.reshape(-1, len(chars)), Tensor(batch[:, 1:].reshape(-1)))
    opt.zero_grad(); loss.backward(); opt.step()
    if step % 50 == 0:
        sample = model.generate([stoi["t"]], 40, temperature=0.8, top_k=5, seed=step)
        print(f"step {step:3d}  loss {float(loss.data):.3f}  sample: {''.join(chars[i] for i in sample)!r}")

# %% [markdown]
# At step 0 the samples are noise. Within a hundred or so steps the model has learned the spelling of the
# sentence: that is the whole job of a language model, done on a very small world.

# %% [markdown]
# ### Pre-norm or post-norm? An experiment
#
# The 2017 Transformer put the LayerNorm *after* the residual sum (**post-norm**): `x = ln(x + f(x))`.
# GPT-2 and almost every model since put it *before* the sublayer (**pre-norm**), as you did:
# `x = x + f(ln(x))`. The difference is where the identity path runs:
#
# ```
#   pre-norm:   x ──────────────(+)──────────────(+)──►  a clean highway: the gradient of the loss reaches
#               └─ ln ─ attn ────┘  └─ ln ─ mlp ──┘      every block through additions only
#
#   post-norm:  x ──(+)─ ln ──(+)─ ln ──►                 every block's output passes through a LayerNorm,
#               └ attn┘   └ mlp┘                          which rescales the gradient on its way down
# ```
#
# With post-norm, the gradient that reaches block 1 has gone through every LayerNorm above it. Let's
# measure two things on four-block models that differ only in that order: the gradient that reaches each
# block's weights at initialisation, and the loss over 40 training steps with the same learning rate and
# no warm-up.

# %%
class PostNormBlock(TransformerBlock):
    """The 2017 order: normalise after each residual sum."""

    def forward(self, x, mask=None):
        x = self.ln1(x + self.attn(x, mask=mask))
        return self.ln2(x + self.mlp(x))


def norm_experiment(block_cls, steps=40, lr=1e-2, layers=4):
    m = GPT(len(chars), embed_dim=32, num_heads=4, num_layers=layers, max_seq_len=24, seed=1)
    np.random.seed(1)
    m.blocks = [block_cls(32, 4, 4, causal=True) for _ in range(layers)]
    opt = Adam(m.parameters(), lr=lr)
    rng_e = np.random.default_rng(0)
    losses, grad_norms = [], None
    for step in range(steps):
        starts = rng_e.integers(0, len(data) - 25, size=8)
        batch = np.stack([data[s:s + 25] for s in starts])
        loss = loss_fn(m(batch[:, :-1]).reshape(-1, len(chars)), Tensor(batch[:, 1:].reshape(-1)))
        opt.zero_grad(); loss.backward()
        if step == 0:
            grad_norms = [float(np.linalg.norm(b.attn.q_proj.weight.grad.data)) for b in m.blocks]
        opt.step()
        losses.append(float(loss.data))
    return losses, grad_norms


results = {name: norm_experiment(cls) for name, cls in (("pre-norm", TransformerBlock), ("post-norm", PostNormBlock))}
print("gradient norm reaching each block's query weights at step 0 (block 1 = nearest the input):")
for name, (_, g) in results.items():
    print(f"  {name:9s} " + " ".join(f"{v:7.4f}" for v in g) + f"   first/last = {g[0] / g[-1]:.2f}")
print("\nloss at step     0      10      20      30      39")
for name, (losses, _) in results.items():
    print(f"  {name:9s} " + " ".join(f"{losses[s]:7.3f}" for s in (0, 10, 20, 30, 39)))

# %% [markdown]
# Read the gradient rows block by block. In the pre-norm stack the block nearest the input receives a
# large gradient: the residual highway delivers the loss's gradient to it through additions only. In the
# post-norm stack every gradient has been rescaled by the LayerNorms above it, and the blocks near the
# input receive much less. The analysis of this effect (Xiong et al., 2020) is why post-norm models need a
# learning-rate **warm-up** (start tiny, grow over thousands of steps) to train stably, while pre-norm
# models train without one. The loss rows show what it means at a fixed learning rate with no warm-up:
# compare where the two runs are after 40 steps. The gap grows with depth and learning rate (try
# `layers=8` or `lr=3e-2` in `norm_experiment`). Pre-norm has one price: the
# residual stream is never normalised on its way up, which is why the model needs the final `ln_f` before
# its head, the LayerNorm your forward pass must not skip.

# %% [markdown]
# ## 7. Systems analysis: where do the parameters and the time go?
#
# ### Parameters
#
# Per block: attention has `4 D^2 + 4 D`, the MLP `8 D^2 + 5 D`, the two LayerNorms `4 D`. So a block has
# about `12 D^2` parameters, and the embeddings and head add `2 V D + T_max D`. Let's count a few
# configurations with `num_parameters()` and see who dominates.

# %%
def breakdown(model):
    emb = model.token_embedding.num_parameters() + model.position.num_parameters()
    attn = sum(b.attn.num_parameters() for b in model.blocks)
    mlp = sum(b.mlp.num_parameters() for b in model.blocks)
    norm = sum(b.ln1.num_parameters() + b.ln2.num_parameters() for b in model.blocks) + model.ln_f.num_parameters()
    head = model.head.num_parameters()
    return emb, attn, mlp, norm, head

print(f"{'config':34s} {'total':>9s} {'embed':>6s} {'attn':>6s} {'mlp':>6s} {'norm':>6s} {'head':>6s}  {'12LD^2':>9s}")
for V, D, L in ((65, 64, 2), (65, 128, 4), (2000, 64, 2), (2000, 256, 4)):
    m = GPT(V, embed_dim=D, num_heads=4, num_layers=L, max_seq_len=64, seed=0)
    parts = breakdown(m)
    total = m.num_parameters()
    assert total == sum(parts)
    shares = " ".join(f"{p / total:6.0%}" for p in parts)
    print(f"V={V:5d} D={D:4d} L={L}                   {total:9,d} {shares}  {12 * L * D * D:9,d}")

# %% [markdown]
# With a character vocabulary the blocks hold almost everything, and the MLPs hold twice as much as
# attention. With a larger vocabulary, the embedding table and the head (both `V x D`) quickly become the
# biggest items for small models, which is why so many models tie the two.

# %% [markdown]
# ### From our GPT to GPT-2: parameters and FLOPs at scale
#
# The same formulas describe GPT-2. Its four published sizes share `V = 50257` tokens and a context of
# `T = 1024`, and differ in width `D` and depth `L`; they **tie** the head to the token embedding (the head
# is `W_emb.T`, no extra parameters, no head bias). Writing the count as a function, we first check it
# against `num_parameters()` of our own (untied) GPT, then apply it to GPT-2.
#
# For FLOPs, a forward pass over one token costs 2 FLOPs per weight it multiplies (a multiply-add per
# weight), including the `V x D` head, plus attention's `Q K^T` and `P V`, which for a token at context
# length `T` cost `2 * 2 * T * D` per layer. Training costs about three forward passes (backward is about
# twice the forward).

# %%
def gpt_param_count(V, T, D, L, mlp_ratio=4, tied=False):
    """Parameters of a GPT as built in this module (tied=True: GPT-2's shared embedding/head, no head bias)."""
    per_block = (4 * D * D + 4 * D) + (2 * mlp_ratio * D * D + mlp_ratio * D + D) + 4 * D
    parts = {"embeddings": V * D + T * D, "attention": L * (4 * D * D + 4 * D),
             "mlp": L * (2 * mlp_ratio * D * D + mlp_ratio * D + D), "layernorms": L * 4 * D + 2 * D,
             "head": 0 if tied else D * V + V}
    assert sum(parts.values()) == V * D + T * D + L * per_block + 2 * D + parts["head"]
    return parts


def forward_flops_per_token(V, T, D, L, mlp_ratio=4):
    weights = L * (4 + 2 * mlp_ratio) * D * D + V * D          # every matrix a token is multiplied by
    return 2 * weights + L * 4 * T * D                          # + attention scores and weighted sum


ours = GPT(65, embed_dim=64, num_heads=4, num_layers=2, max_seq_len=64, seed=0)
assert sum(gpt_param_count(65, 64, 64, 2).values()) == ours.num_parameters(), "the formula matches the model"
print(f"our GPT (V=65, T=64, D=64, L=2): {ours.num_parameters():,} parameters (formula agrees)\n")
configs = [("ours", 65, 64, 64, 2, False), ("GPT-2 small", 50257, 1024, 768, 12, True),
           ("GPT-2 medium", 50257, 1024, 1024, 24, True), ("GPT-2 large", 50257, 1024, 1280, 36, True),
           ("GPT-2 XL", 50257, 1024, 1600, 48, True)]
print(f"{'model':13s} {'params':>14s} {'embed':>6s} {'attn':>6s} {'mlp':>6s} {'norm':>6s} {'head':>6s} "
      f"{'fwd MFLOP/token':>16s} {'fp32 weights MB':>16s}")
for name, V, T, D, L, tied in configs:
    parts = gpt_param_count(V, T, D, L, tied=tied)
    total = sum(parts.values())
    shares = " ".join(f"{p / total:6.1%}" for p in parts.values())
    print(f"{name:13s} {total:14,d} {shares} {forward_flops_per_token(V, T, D, L) / 1e6:16.1f} {4 * total / 1e6:16.1f}")

# %% [markdown]
# The totals are the published 124M, 355M, 774M and 1.5B. Three things change with scale:
#
# - The embedding table's share collapses, from about a third of GPT-2 small to a few percent of XL: the
#   vocabulary is fixed while the blocks grow as `12 L D^2`. In our tiny model the shares are different
#   again (the blocks dominate and the untied head is a separate item); conclusions about "where the parameters are" do not
#   transfer between scales without redoing the arithmetic.
# - The MLPs hold two thirds of every block at every size (`8 D^2` of the `12 D^2`), so they dominate the
#   parameters and the FLOPs of all the large models.
# - A forward pass costs about `2 x parameters` FLOPs per token; training GPT-2 small on a single token
#   costs about a gigaFLOP, so a 10-billion-token run is on the order of `10^19` FLOPs, far beyond what
#   NumPy on a laptop can do, and the reason the next modules care about speed.

# %% [markdown]
# ### Time: one training step versus context length
#
# Which sublayer costs the time? We time the forward and backward pass of one training step and,
# separately, the forward pass of the attention and MLP sublayers of one block, for growing `T`.

# %%
def median_time(fn, repeats=3):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))

V, D, B = 65, 64, 8
print(f"{'T':>5s} {'train step ms':>14s} {'attn fwd ms':>12s} {'mlp fwd ms':>11s} {'attn/mlp':>9s}")
for T in (32, 64, 128, 256):
    m = GPT(V, embed_dim=D, num_heads=4, num_layers=2, max_seq_len=T, seed=0)
    ids = np.random.default_rng(0).integers(0, V, size=(B, T + 1))
    def step():
        logits = m(ids[:, :-1])
        loss = loss_fn(logits.reshape(-1, V), Tensor(ids[:, 1:].reshape(-1)))
        loss.backward()
    x = Tensor(np.random.default_rng(1).normal(size=(B, T, D)).astype(np.float32))
    blk = m.blocks[0]
    with no_grad():
        t_attn = median_time(lambda: blk.attn(x))
        t_mlp = median_time(lambda: blk.mlp(x))
    t_step = median_time(step)
    print(f"{T:5d} {t_step * 1e3:14.1f} {t_attn * 1e3:12.2f} {t_mlp * 1e3:11.2f} {t_attn / t_mlp:9.2f}")

# %% [markdown]
# The MLP's cost grows linearly with `T`, attention's quadratically, so their ratio (last column) climbs
# with every doubling of the context, just as the FLOP count of module 12 predicted. The FLOP crossover
# is at `T = 2D`; the measured one need not sit exactly there, because the MLP also pays for GELU's
# element-wise math and attention for the softmax, the mask and the head reshapes. Find the crossover in
# the table above: beyond it, making the context longer costs more than making the model wider.
#
# ## Summary
#
# - **LayerNorm** normalises each token over its features; its backward subtracts the mean and the
#   variance direction from the upstream gradient.
# - The **MLP** transforms each position independently and holds most of a block's parameters.
# - A **pre-norm block** is `x + attn(ln(x))` then `x + mlp(ln(x))`; the residual stream carries gradients
#   to the bottom and makes a fresh block nearly the identity.
# - A **GPT** is embeddings + position, a stack of causal blocks, a final norm and a head; it trains on
#   next-token prediction with the targets shifted by one.
# - **Generation** repeats forward-sample-append; temperature and top-k trade coherence against variety.
# - **Pre-norm** keeps an unnormalised residual highway from the loss to every block (hence the final
#   `ln_f`); post-norm passes every gradient through LayerNorms and needs warm-up to train stably.
# - At GPT-2 scale the blocks (`12 L D^2`) dominate the parameters, the MLPs hold two thirds of each block,
#   and a forward pass costs about two FLOPs per parameter per token.
#
# ## Reflection questions
#
# 1. Run `norm_experiment` with `layers=8` and with `lr=3e-2`. How do the pre-norm and post-norm rows
#    change, and how would a learning-rate warm-up change the post-norm row?
# 2. `generate` recomputes the whole context for every new token. Estimate the cost of generating `N` tokens
#    this way and with a key/value cache (module 12, question 2).
# 3. GPT-2 ties its head to the embedding table. Using `gpt_param_count`, how many parameters would an untied
#    head add to GPT-2 small, and what share of the model would the two `V x D` tables then be?
# 4. Why is the loss of an untrained model close to `log(vocab_size)`? What loss would a model reach that only
#    knows the character frequencies (the unigram baseline of milestone 05)?
# 5. Greedy decoding often loops ("the the the"). Explain why from the model's point of view, and why sampling
#    with a moderate temperature and top-k escapes the loop.
