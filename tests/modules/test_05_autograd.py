"""Package tests for module 05 (tinytorch.core.autograd): the exported reference package."""
import numpy as np
import pytest

import tinytorch  # noqa: F401  (the generated __init__ imports every exported module)
import tinytorch.core.losses as losses
from tinytorch.core.activations import GELU, ReLU, Sigmoid, Softmax, Tanh
from tinytorch.core.autograd import (
    Function,
    check_gradients,
    enable_autograd,
    is_grad_enabled,
    no_grad,
    numerical_gradient,
    track,
    unbroadcast,
)
from tinytorch.core.layers import Linear, Sequential
from tinytorch.core.losses import BinaryCrossEntropyLoss, CrossEntropyLoss, MSELoss
from tinytorch.core.tensor import Tensor


def rnd(*shape, seed=0, low=None, high=None):
    rng = np.random.default_rng(seed)
    return Tensor(rng.uniform(low, high, shape) if low is not None else rng.standard_normal(shape))


# ---------------------------------------------------------------- every op against finite differences
A, B, ROW = rnd(3, 4, seed=1), rnd(3, 4, seed=2), rnd(4, seed=3)
POS = rnd(3, 4, seed=4, low=0.5, high=2.0)
AWAY = Tensor(np.where(np.abs(A.data) < 0.1, 0.5, A.data))
PROBS = rnd(6, 1, seed=5, low=0.1, high=0.9)
BITS = Tensor(np.random.default_rng(6).integers(0, 2, (6, 1)).astype(float))
LABELS = Tensor(np.array([0, 2, 1, 2, 0, 1]))
C43 = rnd(4, 3, seed=7)

CASES = {
    "add": (lambda u, v: u + v, (A, ROW)),
    "radd": (lambda u: 2.0 + u, (A,)),
    "sub": (lambda u, v: u - v, (A, ROW)),
    "rsub": (lambda u: 1.0 - u, (A,)),
    "mul": (lambda u, v: u * v, (A, B)),
    "rmul": (lambda u: 3 * u, (A,)),
    "div": (lambda u, v: u / v, (A, POS)),
    "rdiv": (lambda u: 1.0 / u, (POS,)),
    "neg": (lambda u: -u, (A,)),
    "matmul": (lambda u, v: u @ v, (A, rnd(4, 2, seed=8))),
    "matmul-batched": (lambda u, v: u.matmul(v), (rnd(2, 3, 4, seed=9), rnd(4, 5, seed=10))),
    "matmul-vector": (lambda u, v: u @ v, (A, ROW)),
    "pow": (lambda u: u ** 2, (A,)),
    "pow-fractional": (lambda u: u ** 0.5, (POS,)),
    "sum": (lambda u: u.sum(), (A,)),
    "sum-axis": (lambda u: u.sum(axis=1), (A,)),
    "mean-keepdims": (lambda u: u.mean(axis=0, keepdims=True), (A,)),
    "max": (lambda u: u.max(axis=1), (A,)),
    "reshape": (lambda u: u.reshape(4, 3) * C43, (A,)),
    "transpose": (lambda u: u.transpose(0, 2), (rnd(2, 3, 4, seed=11),)),
    "T": (lambda u: u.T, (A,)),
    "getitem": (lambda u: u[1:, ::2], (A,)),
    "getitem-repeated": (lambda u: u[np.array([0, 0, 2])], (A,)),
    "exp": (lambda u: u.exp(), (A,)),
    "log": (lambda u: u.log(), (POS,)),
    "sqrt": (lambda u: u.sqrt(), (POS,)),
    "relu": (lambda u: ReLU()(u), (AWAY,)),
    "sigmoid": (lambda u: Sigmoid()(u), (A,)),
    "tanh": (lambda u: Tanh()(u), (A,)),
    "gelu": (lambda u: GELU()(u), (A,)),
    "softmax": (lambda u: Softmax()(u), (A,)),
    "softmax-axis0": (lambda u: Softmax(axis=0)(u), (A,)),
    "log_softmax": (lambda u: losses.log_softmax(u), (A,)),
    "mse": (lambda u, v: MSELoss()(u, v), (A, B)),
    "mse-none": (lambda u, v: MSELoss(reduction="none")(u, v), (A, B)),
    "bce": (lambda u, v: BinaryCrossEntropyLoss()(u, v), (PROBS, BITS)),
    "bce-sum": (lambda u, v: BinaryCrossEntropyLoss(reduction="sum")(u, v), (PROBS, BITS)),
    "cross-entropy": (lambda u, y: CrossEntropyLoss()(u, y), (rnd(6, 3, seed=12), LABELS)),
    "cross-entropy-none": (lambda u, y: CrossEntropyLoss(reduction="none")(u, y), (rnd(6, 3, seed=13), LABELS)),
    "composite": (lambda u, v: ((u * v).sum(axis=1) / (v ** 2 + 1.0).sum(axis=1)).exp().mean(), (A, B)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_op_matches_numerical_gradient(name):
    fn, inputs = CASES[name]
    assert check_gradients(fn, *inputs) is True


def test_check_gradients_names_the_bad_input():
    class HalfSquare(Function):          # wrong on purpose: d(x^2)/dx is 2x, not x
        def backward(self, g):
            return (g * self.inputs[0].data,)

    with pytest.raises(AssertionError, match=r"input 0 \(shape \(2,\)\)"):
        check_gradients(lambda t: track(Tensor(t.data ** 2), HalfSquare(t)), Tensor(np.array([1.0, 2.0])))


def test_custom_function_with_track_is_differentiated():
    """The interface later modules use: subclass Function, return track(Tensor(result), rule)."""
    class Scale(Function):
        def __init__(self, x, k):
            super().__init__(x)
            self.k = k

        def backward(self, g):
            return (g * self.k,)

    x = Tensor(np.ones((2, 2)), requires_grad=True)
    y = track(Tensor(x.data * 5.0), Scale(x, 5.0))
    assert y.requires_grad and isinstance(y._grad_fn, Scale)
    (y * y).sum().backward()
    assert np.allclose(x.grad.data, 50.0)
    const = track(Tensor(np.ones(2)), Scale(Tensor(np.ones(2)), 2.0))
    assert not const.requires_grad and const._grad_fn is None


def test_function_returning_wrong_shape_is_reported():
    class Bad(Function):
        def backward(self, g):
            return (np.ones(5),)

    x = Tensor(np.ones(3), requires_grad=True)
    with pytest.raises(RuntimeError, match="Bad.backward returned a gradient of shape"):
        track(Tensor(x.data.sum()), Bad(x)).backward()


# ---------------------------------------------------------------- engine behaviour
def test_grad_is_tensor_and_accumulates():
    x = Tensor([2.0], requires_grad=True)
    y = Tensor([3.0], requires_grad=True)
    (x * y + x).backward()
    assert isinstance(x.grad, Tensor)
    assert np.allclose(x.grad.data, 4.0) and np.allclose(y.grad.data, 2.0)
    (x * y + x).backward()
    assert np.allclose(x.grad.data, 8.0), "gradients accumulate across backward calls"
    x.grad = None
    (x * x).backward()
    assert np.allclose(x.grad.data, 4.0)


def test_backward_on_non_scalar_seeds_with_ones():
    v = Tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    (v * v).backward()                       # same as (v * v).sum().backward()
    assert np.allclose(v.grad.data, 2 * v.data)
    v.grad = None
    (v * 2).backward(Tensor([[1.0, -1.0], [0.0, 2.0]]))
    assert np.allclose(v.grad.data, [[2.0, -2.0], [0.0, 4.0]])
    with pytest.raises(ValueError):
        (v * 2).backward(np.ones(3))


def test_tinytorch_autograd_is_the_module_05_package():
    """The workflow page's example, as written: `from tinytorch.autograd import backward`."""
    import tinytorch.autograd
    import tinytorch.core.autograd
    from tinytorch.autograd import backward

    assert tinytorch.autograd is tinytorch.core.autograd and backward is tinytorch.core.autograd.backward
    x = Tensor([[1.0, 2.0]], requires_grad=True)
    y = x * 2
    y.backward()
    assert np.allclose(x.grad.data, [[2.0, 2.0]])


def test_backward_without_requires_grad_raises():
    with pytest.raises(RuntimeError, match="does not require grad"):
        (Tensor([1.0]) * 2).backward()


def test_no_grad_disables_recording_and_restores():
    w = Tensor([[1.0, 2.0]], requires_grad=True)
    with no_grad():
        assert not is_grad_enabled()
        y = (w @ Tensor([[1.0], [1.0]])).exp()
        z = Sigmoid()(w)
        with no_grad():
            pass
        assert not is_grad_enabled(), "nested no_grad restores the outer state"
    assert is_grad_enabled()
    for t in (y, z):
        assert not t.requires_grad and t._grad_fn is None


def test_leaves_without_requires_grad_get_no_grad():
    w = Tensor([1.0, 2.0], requires_grad=True)
    c = Tensor([3.0, 4.0])
    (w * c).sum().backward()
    assert np.allclose(w.grad.data, [3.0, 4.0])
    assert c.grad is None


def test_deep_graph_does_not_recurse():
    x = Tensor([1.0], requires_grad=True)
    y = x
    for _ in range(5000):
        y = y + 1.0
    y.backward()
    assert np.allclose(x.grad.data, 1.0)


def test_float32_parameters_keep_float32_gradients():
    w = Tensor(np.ones((3, 2), dtype=np.float32), requires_grad=True)
    x = Tensor(np.ones((4, 3), dtype=np.float32))
    (x @ w * 0.5).sum().backward()
    assert w.grad.data.dtype == np.float32


def test_inputs_are_not_mutated_and_detach_cuts_graph():
    a = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    before = a.data.copy()
    b = (a * 3).detach()
    assert not b.requires_grad and b._grad_fn is None
    (a * b).sum().backward()
    assert np.array_equal(a.data, before)
    assert np.allclose(a.grad.data, [3.0, 6.0])


# ---------------------------------------------------------------- patching
def test_enable_autograd_is_idempotent():
    mul_before = Tensor.__mul__
    enable_autograd()
    enable_autograd()
    assert Tensor.__mul__ is not mul_before or getattr(Tensor.__mul__, "_tinytorch_wrapper", False)
    x = Tensor([3.0], requires_grad=True)
    y = x * 2.0
    assert [type(t) for t in y._grad_fn.inputs][0] is Tensor
    assert y._grad_fn.inputs[0] is x, "a single wrapper layer: the record points straight at x"
    y.backward()
    assert np.allclose(x.grad.data, 2.0)
    relu = ReLU()
    out = relu(Tensor([-1.0, 2.0], requires_grad=True))
    assert out._grad_fn is not None and out._grad_fn.inputs[0]._grad_fn is None


def test_originals_are_stored_once_on_the_class():
    store = Tensor.__dict__["_tinytorch_pristine"]
    assert not getattr(store["__add__"], "_tinytorch_wrapper", False)
    enable_autograd()
    assert Tensor.__dict__["_tinytorch_pristine"] is store


# ---------------------------------------------------------------- helpers
def test_unbroadcast_shapes():
    g = np.ones((2, 3, 4))
    assert unbroadcast(g, (4,)).shape == (4,) and np.allclose(unbroadcast(g, (4,)), 6)
    assert unbroadcast(g, (3, 1)).shape == (3, 1) and np.allclose(unbroadcast(g, (3, 1)), 8)
    assert np.isclose(unbroadcast(g, ()), 24)


def test_numerical_gradient_leaves_input_unchanged():
    x = np.array([[1.0, -1.0], [0.5, 2.0]])
    before = x.copy()
    grad = numerical_gradient(lambda v: float((v ** 3).sum()), x)
    assert np.allclose(grad, 3 * before ** 2, atol=1e-5)
    assert np.array_equal(x, before)


# ---------------------------------------------------------------- end to end through modules 02-04
def test_mlp_trains_with_hand_written_sgd():
    np.random.seed(0)
    rng = np.random.default_rng(0)
    x = Tensor(rng.standard_normal((32, 2)).astype(np.float32))
    y = Tensor(((x.data[:, 0] * x.data[:, 1]) > 0).astype(np.int64))
    model = Sequential(Linear(2, 16), ReLU(), Linear(16, 2))
    loss_fn = CrossEntropyLoss()
    first = None
    for _ in range(150):
        for p in model.parameters():
            p.grad = None
        loss = loss_fn(model(x), y)
        loss.backward()
        for p in model.parameters():
            p.data -= 0.5 * p.grad.data
        first = first if first is not None else loss.item()
    assert loss.item() < 0.5 * first


def test_gradients_through_linear_match_numerical():
    np.random.seed(1)
    layer1, layer2 = Linear(3, 4), Linear(4, 1)
    x = rnd(5, 3, seed=20)
    t = rnd(5, 1, seed=21)

    def loss(w1, b1, w2, b2):
        return MSELoss()(Sigmoid()(GELU()(x @ w1 + b1) @ w2 + b2), t)

    assert check_gradients(loss, layer1.weight, layer1.bias, layer2.weight, layer2.bias)


def test_check_gradients_sees_closures_and_restores_inputs():
    """f may ignore its arguments and use the same Tensor through a closure (layer(x) style)."""
    np.random.seed(2)
    layer = Linear(3, 2)
    x = Tensor(np.random.default_rng(3).standard_normal((4, 3)).astype(np.float32))
    w_before, w_grad_before = layer.weight.data, layer.weight.grad
    assert check_gradients(lambda w: Tanh()(layer(x)), layer.weight)
    assert layer.weight.data is w_before and layer.weight.data.dtype == np.float32
    assert layer.weight.grad is w_grad_before and layer.weight.requires_grad
    frozen = Tensor(np.ones(3))
    assert check_gradients(lambda a, b: (a * b).sum(), frozen, Tensor(np.arange(3.0)))
    assert frozen.requires_grad is False and frozen.grad is None


def test_check_gradients_refuses_vacuous_checks():
    unused = Tensor(np.ones(2))
    other = Tensor(np.ones(2), requires_grad=True)
    with pytest.raises(AssertionError, match="nothing was tested"):
        check_gradients(lambda a: other * 2.0, unused)
