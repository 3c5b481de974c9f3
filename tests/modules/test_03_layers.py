"""Package tests for module 03 (tinytorch.core.layers)."""
import copy

import numpy as np
import pytest

import tinytorch  # noqa: F401
from tinytorch.core.activations import ReLU, Tanh
from tinytorch.core.layers import Dropout, Linear, Module, Sequential
from tinytorch.core.tensor import Tensor


class Block(Module):
    def __init__(self):
        super().__init__()
        self.fc = Linear(3, 4, rng=0)
        self.heads = [Linear(4, 2, rng=1), Linear(4, 2, rng=2)]
        self.pair = (Dropout(0.5, rng=3), Tensor(np.ones(2, dtype=np.float32), requires_grad=True))
        self.buffer = Tensor(np.zeros(2, dtype=np.float32))          # not trainable
        self.tied = self.fc.weight                                     # shared: listed once
        self.act = ReLU()


def test_parameter_discovery_names_order_and_dedup():
    b = Block()
    names = [n for n, _ in b.named_parameters()]
    assert names == ["fc.weight", "fc.bias", "heads.0.weight", "heads.0.bias",
                     "heads.1.weight", "heads.1.bias", "pair.1"]
    assert b.parameters()[0] is b.fc.weight
    assert b.num_parameters() == 12 + 4 + 2 * (8 + 2) + 2
    assert b.parameter_nbytes() == 4 * b.num_parameters()
    assert len(b.modules()) == 5


def test_intermediate_tensors_are_not_parameters():
    b = Block()
    cached = Tensor([1.0], requires_grad=True)
    cached._grad_fn = object()
    b.cache = cached
    assert all(p is not cached for p in b.parameters())


def test_subclass_without_super_init_still_has_training_flag():
    class Bare(Module):
        def __init__(self):
            self.weight = Tensor([2.0], requires_grad=True)

    m = Bare()
    assert m.training is True and len(m.parameters()) == 1
    assert m.eval() is m and m.training is False


def test_train_eval_reach_every_module():
    model = Sequential(Linear(2, 2), Dropout(0.3), Sequential(Linear(2, 2), Dropout(0.1)))
    model.eval()
    assert [m.training for m in model.modules()] == [False] * 6
    model.train()
    assert all(m.training for m in model.modules())


def test_linear_forward_init_and_shapes():
    layer = Linear(2, 2, rng=0)
    layer.weight.data[...] = [[1, 2], [3, 4]]
    layer.bias.data[...] = [10, 20]
    np.testing.assert_allclose(layer(Tensor([[1.0, 1.0]])).data, [[14, 26]])
    assert layer.weight.requires_grad and layer.bias.requires_grad
    assert layer.weight.data.dtype == np.float32
    assert Linear(4, 3, bias=False).bias is None
    assert Linear(4, 3)(Tensor(np.ones((2, 5, 4), dtype=np.float32))).shape == (2, 5, 3)
    with pytest.raises(ValueError, match="4"):
        Linear(4, 3)(Tensor(np.ones((2, 5), dtype=np.float32)))


def test_linear_init_scales_and_reproducibility():
    he = Linear(800, 600, rng=0).weight.data
    assert abs(he.std() - np.sqrt(2 / 800)) < 0.002
    xa = Linear(800, 600, init="xavier", rng=0).weight.data
    assert np.abs(xa).max() <= np.sqrt(6 / 1400) + 1e-6
    assert abs(xa.var() - 2 / 1400) < 1e-4
    np.testing.assert_array_equal(Linear(3, 2, rng=5).weight.data, Linear(3, 2, rng=5).weight.data)
    g = np.random.default_rng(1)
    assert not np.array_equal(Linear(3, 2, rng=g).weight.data, Linear(3, 2, rng=g).weight.data)
    np.random.seed(7)
    a = Linear(3, 2).weight.data
    np.random.seed(7)
    np.testing.assert_array_equal(a, Linear(3, 2).weight.data)   # global seed controls rng=None
    with pytest.raises(ValueError):
        Linear(3, 2, init="uniform")


def test_sequential_composes_and_names():
    model = Sequential(Linear(4, 8, rng=0), Tanh(), Linear(8, 3, rng=1))
    x = Tensor(np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32))
    ref = model[2](model[1](model[0](x)))
    np.testing.assert_allclose(model(x).data, ref.data, atol=1e-6)
    assert [n for n, _ in model.named_parameters()] == ["layers.0.weight", "layers.0.bias",
                                                         "layers.2.weight", "layers.2.bias"]
    assert model.num_parameters() == 67
    assert len(model) == 3
    assert "Linear" in repr(model)


def test_dropout_train_and_eval():
    x = Tensor(np.ones((100, 400), dtype=np.float32))
    d = Dropout(0.25, rng=0)
    y = d(x).data
    assert y.dtype == np.float32
    assert abs((y == 0).mean() - 0.25) < 0.01
    np.testing.assert_allclose(y[y != 0], 1 / 0.75)
    assert abs(y.mean() - 1) < 0.02
    d.eval()
    np.testing.assert_array_equal(d(x).data, x.data)
    np.testing.assert_allclose(Dropout(1.0, rng=0)(x).data, 0)
    with pytest.raises(ValueError):
        Dropout(1.5)


def test_model_can_be_deep_copied():
    model = Sequential(Linear(2, 3, rng=0), Dropout(0.5), Dropout(0.5, rng=np.random.default_rng(0)))
    clone = copy.deepcopy(model)
    assert clone.parameters()[0] is not model.parameters()[0]
    np.testing.assert_array_equal(clone.parameters()[0].data, model.parameters()[0].data)


def test_gradients_reach_linear_and_flow_through_dropout():
    autograd = pytest.importorskip("tinytorch.core.autograd")
    layer, drop = Linear(3, 2, rng=0), Dropout(0.5, rng=1)
    x = Tensor(np.random.default_rng(2).standard_normal((4, 3)))
    out = drop(layer(x))
    out.sum().backward()
    assert layer.weight.grad is not None and layer.bias.grad is not None
    mask = (out.data != 0).astype(float) * 2.0                   # what dropout multiplied by
    np.testing.assert_allclose(layer.bias.grad.data, mask.sum(axis=0), atol=1e-6)
    weight = Tensor(layer.weight.data.astype(np.float64), requires_grad=True)
    autograd.check_gradients(lambda w: (x @ w + layer.bias).sum(), weight)
