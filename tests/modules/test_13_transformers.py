"""Package tests for module 13 (tinytorch.core.transformer)."""
import numpy as np
import pytest

from tinytorch.core.autograd import check_gradients
from tinytorch.core.losses import CrossEntropyLoss
from tinytorch.core.optimizers import Adam
from tinytorch.core.tensor import Tensor
from tinytorch.core.transformer import GPT, MLP, LayerNorm, TransformerBlock, sample_next_token


def test_layernorm_matches_reference_and_gradients():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 3, 6)) * 3 + 1
    ln = LayerNorm(6)
    ln.gamma.data[:] = rng.normal(size=6)
    ln.beta.data[:] = rng.normal(size=6)
    ref = (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + 1e-5) * ln.gamma.data + ln.beta.data
    assert np.allclose(ln(Tensor(x)).data, ref, atol=1e-5)
    check_gradients(lambda a, g, b: ln(a), Tensor(x, requires_grad=True), ln.gamma, ln.beta)
    with pytest.raises(ValueError):
        ln(Tensor(np.zeros((2, 5))))


def test_layernorm_float32_and_2d():
    ln = LayerNorm(4)
    y = ln(Tensor(np.arange(8, dtype=np.float32).reshape(2, 4)))
    assert y.data.dtype == np.float32 and np.allclose(y.data.mean(-1), 0, atol=1e-6)


def test_mlp_and_block_gradients():
    rng = np.random.default_rng(1)
    mlp = MLP(4, 6)
    check_gradients(lambda a, *ps: mlp(a), Tensor(rng.normal(size=(2, 3, 4)), requires_grad=True), *mlp.parameters())
    block = TransformerBlock(4, 2, mlp_ratio=2)
    assert len(block.parameters()) == 4 + 8 + 4
    x = Tensor(rng.normal(size=(2, 3, 4)), requires_grad=True)
    check_gradients(lambda a, *ps: block(a), x, *block.parameters())


def test_gpt_shapes_causality_and_param_count():
    model = GPT(11, embed_dim=8, num_heads=2, num_layers=3, max_seq_len=6, seed=0)
    D, V, L, T = 8, 11, 3, 6
    per_block = 4 * D + 4 * (D * D + D) + (D * 4 * D + 4 * D) + (4 * D * D + D)
    assert model.num_parameters() == V * D + T * D + L * per_block + 2 * D + D * V + V
    ids = np.array([[1, 2, 3, 4, 5, 6], [0, 0, 0, 0, 0, 0]])
    logits = model(ids).data
    ids2 = ids.copy()
    ids2[:, 3:] = 9
    assert np.allclose(model(ids2).data[:, :3], logits[:, :3], atol=1e-5)
    with pytest.raises(ValueError):
        model(np.zeros((1, 7), dtype=int))


def test_gpt_full_gradient_check_small():
    model = GPT(5, embed_dim=4, num_heads=2, num_layers=1, max_seq_len=3, seed=1)
    ids = np.array([[1, 2, 0], [4, 4, 3]])
    params = model.parameters()
    check_gradients(lambda *ps: model(ids), *params)


def test_gpt_learns_and_generates():
    model = GPT(6, embed_dim=16, num_heads=2, num_layers=1, max_seq_len=8, seed=0)
    seq = np.array([0, 1, 2, 3, 4, 5] * 5)
    batch = np.stack([seq[i:i + 9] for i in range(6)])
    opt, loss_fn = Adam(model.parameters(), lr=0.02), CrossEntropyLoss()
    first = None
    for _ in range(40):
        loss = loss_fn(model(batch[:, :-1]).reshape(-1, 6), Tensor(batch[:, 1:].reshape(-1)))
        opt.zero_grad()
        loss.backward()
        opt.step()
        first = first if first is not None else float(loss.data)
    assert float(loss.data) < 0.2 * first
    out = model.generate(np.array([[2, 3], [5, 0]]), 10, temperature=0)
    assert out.shape == (2, 12) and out.dtype == np.int64
    assert list(out[0, 2:6]) == [4, 5, 0, 1] and list(out[1, 2:6]) == [1, 2, 3, 4]
    assert model.training, "generate must restore training mode"


def test_sampling_rules():
    rng = np.random.default_rng(0)
    logits = np.log(np.array([[0.5, 0.3, 0.2]]))
    draws = np.array([sample_next_token(logits, 1.0, rng=rng)[0] for _ in range(3000)])
    assert np.allclose(np.bincount(draws, minlength=3) / 3000, [0.5, 0.3, 0.2], atol=0.04)
    assert all(sample_next_token(logits, 1.0, top_k=1, rng=rng)[0] == 0 for _ in range(20))
    with pytest.raises(ValueError):
        sample_next_token(logits, -1.0)
