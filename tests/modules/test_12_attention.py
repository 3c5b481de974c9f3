"""Package tests for module 12 (tinytorch.core.attention)."""
import numpy as np
import pytest

from tinytorch.core.attention import (
    MultiHeadAttention,
    attention_forward,
    causal_mask,
    masked_softmax,
    merge_heads,
    scaled_dot_product_attention,
    split_heads,
)
from tinytorch.core.autograd import check_gradients, no_grad
from tinytorch.core.tensor import Tensor


def reference(Q, K, V, mask=None):
    s = Q @ np.swapaxes(K, -1, -2) / np.sqrt(Q.shape[-1])
    if mask is not None:
        s = np.where(mask, s, -1e30)
    p = np.exp(s - s.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    return p @ V, p


def test_causal_mask():
    m = causal_mask(5)
    assert m.dtype == bool and np.array_equal(m, np.tril(np.ones((5, 5), bool)))


def test_masked_softmax_edge_cases():
    p = masked_softmax(np.array([[3.0, 1e4, -1e4]]), np.array([[True, False, True]]))
    assert np.allclose(p, [[1.0, 0.0, 0.0]])
    z = masked_softmax(np.ones((1, 2, 3)), np.zeros((2, 3), bool))
    assert np.array_equal(z, np.zeros((1, 2, 3)))


@pytest.mark.parametrize("mask", [None, "causal"])
def test_forward_matches_reference(mask):
    rng = np.random.default_rng(0)
    Q, K, V = rng.normal(size=(2, 3, 6, 4)), rng.normal(size=(2, 3, 6, 4)), rng.normal(size=(2, 3, 6, 5))
    m = causal_mask(6) if mask else None
    out, w = attention_forward(Q, K, V, m)
    ref_out, ref_w = reference(Q, K, V, m)
    assert np.allclose(out, ref_out) and np.allclose(w, ref_w)


def test_backward_matches_numerical_with_mask_and_broadcast():
    rng = np.random.default_rng(1)
    q = Tensor(rng.normal(size=(2, 2, 4, 3)), requires_grad=True)
    k = Tensor(rng.normal(size=(2, 2, 5, 3)), requires_grad=True)
    v = Tensor(rng.normal(size=(2, 2, 5, 2)), requires_grad=True)
    mask = rng.random((4, 5)) > 0.3
    mask[:, 0] = True
    check_gradients(lambda a, b, c: scaled_dot_product_attention(a, b, c, mask)[0], q, k, v)
    kb = Tensor(rng.normal(size=(5, 3)), requires_grad=True)
    check_gradients(lambda a, b, c: scaled_dot_product_attention(a, b, c)[0], q, kb, v)


def test_shape_errors():
    a = Tensor(np.zeros((2, 3)))
    with pytest.raises(ValueError):
        scaled_dot_product_attention(a, Tensor(np.zeros((2, 4))), a)
    with pytest.raises(ValueError):
        scaled_dot_product_attention(a, a, Tensor(np.zeros((3, 3))))
    with pytest.raises(ValueError):
        MultiHeadAttention(6, 4)
    with pytest.raises(ValueError):
        MultiHeadAttention(6, 2)(Tensor(np.zeros((2, 6))))


def test_float32_preserved_and_weights_returned():
    q = Tensor(np.ones((1, 2, 4), dtype=np.float32))
    out, w = scaled_dot_product_attention(q, q, q, causal_mask(2))
    assert out.data.dtype == np.float32
    assert np.allclose(w.data[0], [[1, 0], [0.5, 0.5]])


def test_split_merge_roundtrip_and_gradients():
    x = Tensor(np.random.default_rng(2).normal(size=(2, 3, 6)), requires_grad=True)
    assert np.allclose(merge_heads(split_heads(x, 3)).data, x.data)
    check_gradients(lambda a: split_heads(a, 3) * 2.0, x)


def test_mha_equals_manual_heads():
    rng = np.random.default_rng(3)
    mha = MultiHeadAttention(8, 4, causal=True)
    x = rng.normal(size=(2, 5, 8)).astype(np.float32)
    lin = lambda l, a: a @ l.weight.data + l.bias.data
    heads = lambda a: a.reshape(2, 5, 4, 2).transpose(0, 2, 1, 3)
    out, _ = reference(heads(lin(mha.q_proj, x)), heads(lin(mha.k_proj, x)), heads(lin(mha.v_proj, x)), causal_mask(5))
    expected = lin(mha.out_proj, out.transpose(0, 2, 1, 3).reshape(2, 5, 8))
    assert np.allclose(mha(Tensor(x)).data, expected, atol=1e-5)
    assert mha.last_weights.shape == (2, 4, 5, 5)


def test_mha_gradients_all_parameters():
    rng = np.random.default_rng(4)
    mha = MultiHeadAttention(4, 2, causal=True)
    x = Tensor(rng.normal(size=(2, 3, 4)), requires_grad=True)
    params = mha.parameters()
    assert len(params) == 8
    check_gradients(lambda a, *ps: mha(a), x, *params)


def test_mha_padding_mask_and_no_grad():
    mha = MultiHeadAttention(4, 2)
    x = np.random.default_rng(5).normal(size=(1, 4, 4)).astype(np.float32)
    pad = np.array([True, True, False, False])
    with no_grad():
        y1 = mha(Tensor(x), mask=pad)
        x2 = x.copy()
        x2[0, 2:] = 7.0
        y2 = mha(Tensor(x2), mask=pad)
    assert not y1.requires_grad
    assert np.allclose(y1.data[0, :2], y2.data[0, :2], atol=1e-5)
