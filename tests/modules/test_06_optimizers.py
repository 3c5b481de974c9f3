"""Package tests for module 06 (tinytorch.core.optimizers)."""
import numpy as np
import pytest

import tinytorch  # noqa: F401
import tinytorch.core.autograd  # noqa: F401  (Tensor ops record graphs)
from tinytorch.core.activations import Tanh
from tinytorch.core.layers import Linear, Sequential
from tinytorch.core.optimizers import SGD, Adam, AdamW, Optimizer
from tinytorch.core.tensor import Tensor


def param(values, grad=None):
    p = Tensor(np.array(values, dtype=np.float64), requires_grad=True)
    if grad is not None:
        p.grad = Tensor(np.array(grad, dtype=np.float64))
    return p


def adam_formula(theta, grads, lr, b1=0.9, b2=0.999, eps=1e-8, wd=0.0, decoupled=False):
    theta, m, v = np.array(theta, dtype=np.float64), 0.0, 0.0
    for t, g in enumerate(grads, start=1):
        if decoupled:
            theta = theta - lr * wd * theta
        elif wd:
            g = g + wd * theta
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        theta = theta - lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps)
    return theta


def test_zero_grad_sets_none():
    a, b = param([1.0], [1.0]), param([2.0], [2.0])
    SGD([a, b], lr=0.1).zero_grad()
    assert a.grad is None and b.grad is None


def test_sgd_plain_weight_decay_momentum():
    p = param([1.0, -2.0], [0.5, 0.5])
    arr = p.data
    SGD([p], lr=0.1).step()
    assert p.data is arr, "in-place update"
    assert np.allclose(p.data, [0.95, -2.05])

    p = param([1.0], [0.0])
    SGD([p], lr=0.1, weight_decay=0.5).step()
    assert np.allclose(p.data, [0.95])

    p = param([0.0])
    opt = SGD([p], lr=0.1, momentum=0.9)
    for _ in range(3):
        p.grad = Tensor(np.array([1.0]))
        opt.step()
    assert np.allclose(p.data, [-0.561])
    assert opt.state_nbytes() == p.data.nbytes


def test_parameters_without_grad_are_skipped():
    moving, frozen = param([1.0], [1.0]), param([5.0])
    for opt in (SGD([moving, frozen], lr=0.1, momentum=0.9), Adam([moving, frozen]), AdamW([moving, frozen])):
        opt.step()
    assert np.allclose(frozen.data, 5.0)
    assert moving.data[0] < 1.0


def test_adam_first_step_is_lr_sign():
    p = param([0.0, 0.0, 0.0], [1e-3, -20.0, 7.0])
    Adam([p], lr=0.01).step()
    assert np.allclose(p.data, [-0.01, 0.01, -0.01], atol=1e-5)


@pytest.mark.parametrize("wd", [0.0, 0.1])
def test_adam_matches_formula(wd):
    rng = np.random.default_rng(0)
    start = rng.standard_normal((2, 3))
    grads = [rng.standard_normal((2, 3)) for _ in range(5)]
    p = param(start)
    opt = Adam([p], lr=0.03, betas=(0.85, 0.99), weight_decay=wd)
    for g in grads:
        p.grad = Tensor(g)
        opt.step()
    assert np.allclose(p.data, adam_formula(start, grads, 0.03, 0.85, 0.99, wd=wd), atol=1e-10)


def test_adamw_is_decoupled():
    rng = np.random.default_rng(1)
    start = rng.standard_normal(4)
    grads = [rng.standard_normal(4) for _ in range(5)]
    p = param(start)
    opt = AdamW([p], lr=0.05, weight_decay=0.3)
    for g in grads:
        p.grad = Tensor(g)
        opt.step()
    assert np.allclose(p.data, adam_formula(start, grads, 0.05, wd=0.3, decoupled=True), atol=1e-10)
    assert AdamW([param([1.0])]).weight_decay == 0.01
    coupled, decoupled = param([1.0], [0.0]), param([1.0], [0.0])
    Adam([coupled], lr=0.01, weight_decay=0.01).step()
    AdamW([decoupled], lr=0.01, weight_decay=0.01).step()
    assert np.isclose(coupled.data[0], 0.99, atol=1e-6) and np.isclose(decoupled.data[0], 0.9999)


def test_float32_parameters_stay_float32():
    for make in (lambda ps: SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.01), Adam, AdamW):
        p = Tensor(np.ones(3, dtype=np.float32), requires_grad=True)
        p.grad = Tensor(np.ones(3, dtype=np.float32))
        make([p]).step()
        assert p.data.dtype == np.float32


def test_lr_attribute_is_used_each_step():
    p = param([0.0], [1.0])
    opt = SGD([p], lr=0.1)
    opt.step()
    opt.lr = 0.01                         # what a scheduler does
    opt.step()
    assert np.allclose(p.data, [-0.11])


def test_invalid_arguments():
    with pytest.raises(ValueError):
        SGD([], lr=0.1)
    with pytest.raises(TypeError):
        SGD([np.ones(2)], lr=0.1)
    with pytest.raises(ValueError):
        SGD([param([1.0])], lr=-1.0)
    with pytest.raises(ValueError):
        SGD([param([1.0])], lr=0.1, momentum=1.0)
    with pytest.raises(ValueError):
        Adam([param([1.0])], betas=(0.9, 1.0))


def test_state_memory_and_state_dict_roundtrip():
    w, b = param(np.ones((4, 5))), param(np.ones(5))
    opt = Adam([w, b], lr=0.01)
    for _ in range(3):
        w.grad, b.grad = Tensor(np.ones((4, 5))), Tensor(np.ones(5))
        opt.step()
    assert opt.state_nbytes() == 2 * (w.data.nbytes + b.data.nbytes)
    saved = opt.state_dict()
    assert all(isinstance(v, np.ndarray) for v in saved.values())

    w2, b2 = param(w.data.copy()), param(b.data.copy())
    restored = Adam([w2, b2], lr=0.5)
    restored.load_state_dict(saved)
    assert restored.lr == 0.01
    for opt_, (pw, pb) in ((opt, (w, b)), (restored, (w2, b2))):
        pw.grad, pb.grad = Tensor(np.full((4, 5), 0.3)), Tensor(np.full(5, 0.3))
        opt_.step()
    assert np.allclose(w.data, w2.data) and np.allclose(b.data, b2.data)


def test_base_step_is_abstract():
    with pytest.raises(NotImplementedError):
        Optimizer([param([1.0])]).step()


@pytest.mark.parametrize("make", [
    lambda ps: SGD(ps, lr=0.1, momentum=0.9),
    lambda ps: Adam(ps, lr=0.02),
    lambda ps: AdamW(ps, lr=0.02),
], ids=["sgd-momentum", "adam", "adamw"])
def test_training_reduces_loss(make):
    np.random.seed(0)
    rng = np.random.default_rng(0)
    x = Tensor(rng.uniform(-1, 1, (64, 1)).astype(np.float32))
    y = Tensor(np.sin(3 * x.data))
    model = Sequential(Linear(1, 16), Tanh(), Linear(16, 1))
    opt = make(model.parameters())
    losses = []
    for _ in range(150):
        opt.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.2 * losses[0]
