"""Package tests for module 02 (tinytorch.core.activations)."""
import math

import numpy as np
import pytest

import tinytorch  # noqa: F401
from tinytorch.core.activations import GELU, ReLU, Sigmoid, Softmax, Tanh
from tinytorch.core.tensor import Tensor

X = np.array([-2.0, -0.5, 0.0, 0.5, 2.0], dtype=np.float32)


def test_relu_values_dtype_and_no_mutation():
    x = Tensor(X.copy())
    out = ReLU()(x)
    assert isinstance(out, Tensor)
    np.testing.assert_allclose(out.data, [0, 0, 0, 0.5, 2.0])
    assert out.data.dtype == np.float32
    np.testing.assert_array_equal(x.data, X)
    assert ReLU()(Tensor([-3, 4])).data.dtype.kind == "f"


def test_sigmoid_values_symmetry_and_stability():
    s = Sigmoid()
    np.testing.assert_allclose(s(Tensor(X)).data, [0.1192, 0.3775, 0.5, 0.6225, 0.8808], atol=1e-4)
    assert s(Tensor(X)).data.dtype == np.float32
    v = np.linspace(-10, 10, 41)
    np.testing.assert_allclose(s(Tensor(v)).data + s(Tensor(-v)).data, 1.0, atol=1e-12)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        ext = s(Tensor(np.array([-1e6, -1000.0, 1000.0, 1e6], dtype=np.float32))).data
    np.testing.assert_allclose(ext, [0, 0, 1, 1], atol=1e-12)


def test_tanh_values_and_saturation():
    t = Tanh()
    np.testing.assert_allclose(t(Tensor(X)).data, np.tanh(X), atol=1e-6)
    with np.errstate(over="raise", invalid="raise"):
        np.testing.assert_allclose(t(Tensor([-1000.0, 1000.0])).data, [-1, 1])


def test_gelu_tanh_form_and_error_vs_exact():
    g = GELU()
    np.testing.assert_allclose(g(Tensor(X)).data, [-0.0454, -0.1543, 0.0, 0.3457, 1.9546], atol=1e-4)
    assert g(Tensor(X)).data.dtype == np.float32, "float32 must not be promoted to float64"
    grid = np.linspace(-6, 6, 2001)
    exact = np.array([0.5 * v * (1 + math.erf(v / math.sqrt(2))) for v in grid])
    err = np.abs(g(Tensor(grid)).data - exact).max()
    assert 1e-4 < err < 1e-3, f"tanh approximation error should be a few 1e-4, got {err}"


@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_softmax_normalises_along_axis(axis):
    z = np.random.default_rng(0).standard_normal((3, 4, 5)) * 3
    p = Softmax(axis=axis)(Tensor(z)).data
    np.testing.assert_allclose(p.sum(axis=axis), 1.0, atol=1e-12)
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    np.testing.assert_allclose(p, e / e.sum(axis=axis, keepdims=True))


def test_softmax_stability_and_worked_example():
    sm = Softmax()
    np.testing.assert_allclose(sm(Tensor([[1.0, 2.0, 3.0]])).data, [[0.0900, 0.2447, 0.6652]], atol=1e-4)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        out = sm(Tensor(np.array([[1000.0, 1001.0, 1002.0]], dtype=np.float32))).data
    np.testing.assert_allclose(out, [[0.0900, 0.2447, 0.6652]], atol=1e-4)
    assert out.dtype == np.float32
    assert Softmax(axis=0).axis == 0


def test_call_dispatches_to_forward():
    """Module 05 wraps `forward`; calling the object must go through it."""
    class Probe(ReLU):
        calls = 0

        def forward(self, x):
            Probe.calls += 1
            return super().forward(x)

    Probe()(Tensor([1.0]))
    assert Probe.calls == 1


def test_gradients_flow_when_autograd_is_present():
    autograd = pytest.importorskip("tinytorch.core.autograd")
    x = Tensor(np.array([[-1.5, 0.3, 2.0]]), requires_grad=True)
    for act in (ReLU(), Sigmoid(), Tanh(), GELU(), Softmax()):
        autograd.check_gradients(lambda u: act(u) * Tensor(np.array([[1.0, 2.0, 3.0]])), x)
