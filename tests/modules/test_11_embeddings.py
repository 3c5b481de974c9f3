"""Package tests for module 11 (tinytorch.core.embeddings)."""
import numpy as np
import pytest

from tinytorch.core.autograd import check_gradients
from tinytorch.core.embeddings import (
    Embedding,
    EmbeddingBackward,
    LearnedPositionalEncoding,
    PositionalEncoding,
    embedding_forward,
    embedding_memory,
    sinusoidal_encoding,
)
from tinytorch.core.tensor import Tensor


def test_lookup_equals_one_hot_product():
    rng = np.random.default_rng(0)
    W = rng.normal(size=(9, 4))
    ids = rng.integers(0, 9, size=(3, 5))
    assert np.allclose(embedding_forward(W, ids), np.eye(9)[ids] @ W)


@pytest.mark.parametrize("bad", [-1, 9, 100])
def test_out_of_range_ids_raise(bad):
    emb = Embedding(9, 4, seed=0)
    with pytest.raises(IndexError):
        emb([0, bad])


def test_float_ids_rejected_and_tensors_accepted():
    emb = Embedding(5, 2, seed=0)
    with pytest.raises(TypeError):
        emb(np.array([0.5, 1.0]))
    assert emb(Tensor(np.array([[1, 2, 3]]))).shape == (1, 3, 2)
    assert emb(np.array([1.0, 2.0])).shape == (2, 2)  # integral floats are fine


def test_invalid_sizes():
    with pytest.raises(ValueError):
        Embedding(0, 3)


def test_scatter_add_accumulates_repeats():
    emb = Embedding(4, 3, seed=1)
    g = np.arange(12, dtype=np.float32).reshape(2, 2, 3)
    (grad,) = EmbeddingBackward(emb.weight, np.array([[2, 2], [0, 2]])).backward(g)
    assert np.allclose(grad[2], g[0, 0] + g[0, 1] + g[1, 1])
    assert np.allclose(grad[0], g[1, 0])
    assert np.allclose(grad[[1, 3]], 0)


def test_embedding_gradient_check_and_accumulation():
    emb = Embedding(6, 3, seed=2)
    ids = np.array([[0, 5, 5, 1], [1, 1, 2, 0]])
    check_gradients(lambda w: emb(ids), emb.weight)
    emb(ids).sum().backward()
    emb(ids).sum().backward()  # gradients accumulate across backward calls
    counts = np.bincount(ids.ravel(), minlength=6)[:, None]
    assert np.allclose(emb.weight.grad.data, 2 * counts * np.ones((1, 3)))


def test_unseeded_embedding_follows_numpy_global_seed():
    # Like Linear: with seed=None the table comes from np.random, so np.random.seed reproduces a model.
    np.random.seed(11)
    first = Embedding(9, 4).weight.data.copy()
    np.random.seed(11)
    assert np.array_equal(Embedding(9, 4).weight.data, first)
    assert not np.array_equal(Embedding(9, 4).weight.data, first)
    assert np.array_equal(Embedding(9, 4, seed=3).weight.data, Embedding(9, 4, seed=3).weight.data)


def test_parameters_and_dtype():
    emb = Embedding(10, 8, seed=0)
    assert emb.parameters()[0] is emb.weight and len(emb.parameters()) == 1
    assert emb.weight.data.dtype == np.float32
    assert emb([1]).data.dtype == np.float32
    assert abs(np.linalg.norm(emb.weight.data, axis=1).mean() - 1.0) < 0.3


def test_sinusoidal_values_and_relative_property():
    P = sinusoidal_encoding(100, 8)
    assert P.shape == (100, 8) and P.dtype == np.float32
    assert np.allclose(P[0], [0, 1] * 4)
    assert np.allclose(P[7, 0], np.sin(7)) and np.allclose(P[7, 1], np.cos(7))
    assert np.allclose(P[7, 2], np.sin(7 / 10000 ** (2 / 8)), atol=1e-6)
    Q = P.astype(np.float64)
    assert np.allclose(Q[1] @ Q[4], Q[50] @ Q[53], atol=1e-4)


def test_positional_layers():
    x = Tensor(np.ones((3, 4, 6), dtype=np.float32), requires_grad=True)
    pe = PositionalEncoding(10, 6)
    y = pe(x)
    assert np.allclose(y.data - 1, sinusoidal_encoding(10, 6)[:4], atol=1e-6)
    assert len(pe.parameters()) == 0
    y.sum().backward()
    assert np.allclose(x.grad.data, 1.0)
    lpe = LearnedPositionalEncoding(10, 6, seed=0)
    check_gradients(lambda a, w: lpe(a), Tensor(np.random.default_rng(0).normal(size=(2, 4, 6))), lpe.embedding.weight)
    for layer in (pe, lpe):
        with pytest.raises(ValueError):
            layer(Tensor(np.zeros((1, 11, 6), dtype=np.float32)))
        with pytest.raises(ValueError):
            layer(Tensor(np.zeros((1, 4, 5), dtype=np.float32)))


def test_embedding_memory():
    assert embedding_memory(50257, 768) == 50257 * 768 * 4
    assert embedding_memory(100, 10, dtype=np.float64, training=True) == 100 * 10 * 8 * 4
    assert embedding_memory(100, 10, training=True, optimizer_slots=1) == 100 * 10 * 4 * 3
