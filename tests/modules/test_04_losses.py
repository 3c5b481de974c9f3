"""Package tests for module 04 (tinytorch.core.losses)."""
import numpy as np
import pytest

import tinytorch  # noqa: F401
from tinytorch.core import losses
from tinytorch.core.losses import BinaryCrossEntropyLoss, CrossEntropyLoss, MSELoss
from tinytorch.core.tensor import Tensor


def ref_log_softmax(z, axis=-1):
    z = z - z.max(axis=axis, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=axis, keepdims=True))


@pytest.mark.parametrize("reduction, expected", [("mean", 8 / 3), ("sum", 8.0), ("none", [0, 4, 4])])
def test_mse_reductions(reduction, expected):
    out = MSELoss(reduction=reduction)(Tensor([1.0, 2.0, 3.0]), Tensor([1.0, 0.0, 5.0]))
    assert isinstance(out, Tensor)
    np.testing.assert_allclose(out.data, expected, rtol=1e-6)


def test_mse_rejects_silent_broadcast_and_bad_reduction():
    with pytest.raises(ValueError, match=r"\(4, 1\)"):
        MSELoss()(Tensor(np.zeros((4, 1))), Tensor(np.zeros(4)))
    with pytest.raises(ValueError):
        MSELoss(reduction="avg")
    np.testing.assert_allclose(MSELoss()(Tensor([1.0, 3.0]), 2.0).data, 1.0)


def test_bce_values_clipping_and_dtype():
    p, t = Tensor(np.array([0.9, 0.2], dtype=np.float32)), Tensor(np.array([1.0, 0.0], dtype=np.float32))
    out = BinaryCrossEntropyLoss()(p, t)
    assert out.shape == () and out.data.dtype == np.float32
    np.testing.assert_allclose(out.data, 0.16425, atol=1e-4)
    with np.errstate(divide="raise", invalid="raise"):
        worst = BinaryCrossEntropyLoss(reduction="none")(Tensor([0.0, 1.0]), Tensor([1.0, 0.0])).data
    np.testing.assert_allclose(worst, -np.log(1e-7), rtol=1e-3)
    assert BinaryCrossEntropyLoss().eps == 1e-7


def test_log_softmax_stable_and_normalised():
    z = np.random.default_rng(0).standard_normal((4, 6)) * 5
    np.testing.assert_allclose(losses.log_softmax(Tensor(z)).data, ref_log_softmax(z))
    np.testing.assert_allclose(losses.log_softmax(Tensor(z), axis=0).data, ref_log_softmax(z, 0))
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        big = losses.log_softmax(Tensor(np.array([[1000.0, 0.0, -1000.0]], dtype=np.float32))).data
    np.testing.assert_allclose(big, [[0.0, -1000.0, -2000.0]])
    assert big.dtype == np.float32


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_matches_reference(reduction):
    rng = np.random.default_rng(1)
    z, y = rng.standard_normal((8, 5)) * 3, rng.integers(0, 5, 8)
    per = -ref_log_softmax(z)[np.arange(8), y]
    expected = {"mean": per.mean(), "sum": per.sum(), "none": per}[reduction]
    out = CrossEntropyLoss(reduction=reduction)(Tensor(z), Tensor(y))
    np.testing.assert_allclose(out.data, expected, rtol=1e-10)


def test_cross_entropy_worked_example_extremes_and_targets():
    ce = CrossEntropyLoss()
    np.testing.assert_allclose(ce(Tensor([[2.0, 1.0, 0.0]]), Tensor([0])).data, 0.4076, atol=1e-4)
    np.testing.assert_allclose(ce(Tensor(np.zeros((3, 7))), [0, 1, 2]).data, np.log(7), rtol=1e-6)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        huge = ce(Tensor(np.array([[1000.0, -1000.0]], dtype=np.float32)), Tensor([1])).data
    np.testing.assert_allclose(huge, 2000.0, rtol=1e-5)
    z3, y3 = np.random.default_rng(2).standard_normal((2, 3, 4)), np.array([[0, 1, 2], [3, 0, 1]])
    assert CrossEntropyLoss(reduction="none")(Tensor(z3), Tensor(y3)).shape == (2, 3)
    for bad in ([0, 1, 4], [0, 1], [0.5, 1.0, 2.0]):
        with pytest.raises(ValueError):
            CrossEntropyLoss()(Tensor(np.zeros((3, 4))), Tensor(bad))


def test_losses_dispatch_to_forward():
    calls = []

    class Probe(MSELoss):
        def forward(self, p, t):
            calls.append(1)
            return super().forward(p, t)

    Probe()(Tensor([1.0]), Tensor([2.0]))
    assert calls == [1]


def test_gradients_when_autograd_is_present():
    autograd = pytest.importorskip("tinytorch.core.autograd")
    rng = np.random.default_rng(3)
    z = Tensor(rng.standard_normal((4, 3)), requires_grad=True)
    y = Tensor(np.array([0, 2, 1, 1]))
    loss = CrossEntropyLoss()(z, y)
    loss.backward()
    s = np.exp(ref_log_softmax(z.data))
    s[np.arange(4), y.data] -= 1
    np.testing.assert_allclose(z.grad.data, s / 4, atol=1e-8)
    p = Tensor(rng.uniform(0.1, 0.9, (5, 1)), requires_grad=True)
    autograd.check_gradients(lambda u: BinaryCrossEntropyLoss()(u, Tensor(np.ones((5, 1)))), p)
    autograd.check_gradients(lambda u: MSELoss(reduction="sum")(u, Tensor(np.zeros((5, 1)))), p)
