"""Package tests for module 18 (tinytorch.perf.acceleration)."""
import tracemalloc

import numpy as np
import pytest

from tinytorch.core.activations import ReLU
from tinytorch.core.autograd import check_gradients
from tinytorch.core.layers import Linear, Sequential
from tinytorch.core.tensor import Tensor
from tinytorch.perf.acceleration import (
    FusedLinearReLU,
    fused_linear_relu,
    gflops,
    matmul_blocked,
    matmul_flops,
    matmul_loops,
    matmul_vectorized,
)


def _peak(fn):
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("fn", [matmul_loops, matmul_vectorized, lambda A, B: matmul_blocked(A, B, 3)])
def test_matmuls_agree_with_numpy(fn):
    rng = np.random.default_rng(0)
    for n, k, m in ((1, 1, 1), (4, 6, 5), (7, 3, 9)):
        A, B = rng.normal(size=(n, k)), rng.normal(size=(k, m))
        C = fn(A, B)
        assert C.shape == (n, m)
        np.testing.assert_allclose(C, A @ B, atol=1e-12)
    np.testing.assert_allclose(fn([[1.0, 2.0], [3.0, 4.0]], [[5.0, 6.0], [7.0, 8.0]]), [[19, 22], [43, 50]])


@pytest.mark.parametrize("fn", [matmul_loops, matmul_vectorized, matmul_blocked])
def test_matmuls_reject_bad_shapes(fn):
    with pytest.raises(ValueError):
        fn(np.ones((2, 3)), np.ones((2, 3)))
    with pytest.raises(ValueError):
        fn(np.ones(3), np.ones((3, 2)))


def test_blocked_ragged_tiles_and_tensors():
    rng = np.random.default_rng(1)
    A, B = rng.normal(size=(10, 7)).astype(np.float32), rng.normal(size=(7, 13)).astype(np.float32)
    for bs in (1, 2, 5, 7, 64):
        np.testing.assert_allclose(matmul_blocked(Tensor(A), Tensor(B), bs), A @ B, rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError):
        matmul_blocked(A, B, 0)


def test_blocked_memory_is_bounded_by_the_tile():
    rng = np.random.default_rng(2)
    A, B = rng.normal(size=(96, 96)), rng.normal(size=(96, 96))
    full = _peak(lambda: matmul_vectorized(A, B))
    assert full >= 96 ** 3 * 8            # the one-shot temporary
    assert _peak(lambda: matmul_blocked(A, B, 16)) < full / 20


def test_flop_counting():
    assert matmul_flops(2, 3, 4) == 48
    assert gflops(1000, 1000, 1000, 2.0) == pytest.approx(1.0)


def test_fused_values_and_gradients():
    rng = np.random.default_rng(3)
    x = Tensor(rng.normal(size=(2, 3, 4)), requires_grad=True)
    W = Tensor(rng.normal(size=(4, 5)), requires_grad=True)
    b = Tensor(rng.normal(size=5), requires_grad=True)
    np.testing.assert_allclose(fused_linear_relu(x, W, b).data, np.maximum(x.data @ W.data + b.data, 0), atol=1e-12)
    check_gradients(fused_linear_relu, x, W, b)
    check_gradients(lambda a, w: fused_linear_relu(a, w), Tensor(rng.normal(size=(4, 4)), requires_grad=True), W)
    with pytest.raises(ValueError):
        fused_linear_relu(Tensor(np.ones((2, 3))), W)


def test_fused_layer_matches_linear_relu_and_keeps_less():
    rng = np.random.default_rng(4)
    fused = FusedLinearReLU(6, 8)
    plain = Sequential(Linear(6, 8), ReLU())
    plain[0].weight.data[...] = fused.weight.data
    fused.bias.data[...] = plain[0].bias.data[...] = rng.normal(size=8)
    x = rng.normal(size=(16, 6)).astype(np.float32)
    np.testing.assert_allclose(fused(Tensor(x)).data, plain(Tensor(x)).data, atol=1e-5)
    for model in (fused, plain):
        model(Tensor(x)).sum().backward()
    np.testing.assert_allclose(fused.weight.grad.data, plain[0].weight.grad.data, atol=1e-4)
    np.testing.assert_allclose(fused.bias.grad.data, plain[0].bias.grad.data, atol=1e-4)
    assert fused(Tensor(x)).data.dtype == np.float32
    xb = Tensor(rng.normal(size=(1024, 6)).astype(np.float32), requires_grad=True)
    kept = {}
    for name, model in (("fused", fused), ("plain", plain)):
        tracemalloc.start()
        y = model(xb)
        kept[name] = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        del y
    assert kept["fused"] < 1.5 * 1024 * 8 * 4 < kept["plain"]
