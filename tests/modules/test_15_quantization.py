"""Package tests for module 15 (tinytorch.perf.quantization)."""
import numpy as np
import pytest

import tinytorch
from tinytorch.core.activations import ReLU
from tinytorch.core.autograd import no_grad
from tinytorch.core.layers import Dropout, Linear, Module, Sequential
from tinytorch.core.losses import CrossEntropyLoss
from tinytorch.core.optimizers import Adam
from tinytorch.core.tensor import Tensor
from tinytorch.perf.quantization import (
    QuantizedLinear,
    affine_params,
    dequantize_affine,
    integer_linear,
    model_nbytes,
    qrange,
    quantization_error,
    quantize_affine,
    quantize_model,
)


def test_top_level_exports():
    for name in ("quantize_affine", "dequantize_affine", "quantization_error", "QuantizedLinear",
                 "quantize_model", "model_nbytes"):
        assert getattr(tinytorch, name) is getattr(tinytorch.perf.quantization, name)


def test_qrange_and_affine_params():
    assert qrange(8) == (-128, 127) and qrange(2) == (-2, 1) and qrange(16) == (-32768, 32767)
    for bad in (1, 17, 8.0):
        with pytest.raises(ValueError):
            qrange(bad)
    s, z = affine_params(-1.0, 3.0)
    assert np.isclose(s, 4 / 255) and z == -64 and s.dtype == np.float32 and z.dtype == np.int32
    s, z = affine_params(np.array([0.0, -2.0]), np.array([0.0, -1.0]))
    assert s.tolist() == [1.0, np.float32(2 / 255)] and z.tolist() == [-128, 127]


def test_quantize_affine_per_tensor_worked_example():
    q, s, z = quantize_affine(np.array([-1.0, 0.0, 1.0, 3.0]))
    assert q.dtype == np.int8 and q.tolist() == [-128, -64, 0, 127]
    assert isinstance(s, float) and isinstance(z, int) and z == -64 and np.isclose(s, 4 / 255)
    assert np.isclose(quantization_error([-1.0, 0.0, 1.0, 3.0]), 64 * 4 / 255 - 1, atol=1e-6)


def test_quantize_affine_per_channel_shapes_and_ranges():
    rng = np.random.default_rng(0)
    w = rng.normal(size=(20, 6)).astype(np.float32) * np.array([0.01, 0.1, 1, 10, 0.5, 2], np.float32)
    q, s, z = quantize_affine(w, axis=1)
    assert q.shape == w.shape and s.shape == (6,) and z.shape == (6,)
    assert s.dtype == np.float32 and z.dtype == np.int32
    assert (q.min(axis=0) == -128).all() and (q.max(axis=0) >= 126).all()
    back = dequantize_affine(q, s, z, axis=1)
    assert back.dtype == np.float32 and (np.abs(back - w).max(axis=0) <= s / 2 + 1e-6).all()
    q0, s0, z0 = quantize_affine(w, axis=0)
    assert s0.shape == (20,) and np.abs(dequantize_affine(q0, s0, z0, axis=0) - w).max() <= s0.max() / 2 + 1e-6
    qn, sn, _ = quantize_affine(w, axis=-1)
    assert np.array_equal(qn, q) and np.array_equal(sn, s)
    with pytest.raises(ValueError):
        quantize_affine(w, axis=2)
    with pytest.raises(ValueError):
        quantize_affine(np.zeros((0, 3)))


def test_constant_inputs_do_not_divide_by_zero():
    with np.errstate(all="raise"):
        for x in (np.zeros(4), np.full((3, 2), 7.0), np.full(5, -0.25)):
            q, s, z = quantize_affine(x)
            assert s > 0 and np.allclose(dequantize_affine(q, s, z), x, atol=1e-6)
            q, s, z = quantize_affine(x.reshape(-1, 1), axis=1)
            assert (s > 0).all() and np.allclose(dequantize_affine(q, s, z, axis=1), x.reshape(-1, 1), atol=1e-6)


def test_dequantize_widens_before_subtracting():
    out = dequantize_affine(np.array([127, -128], np.int8), np.float32(0.5), 100)
    assert np.allclose(out, [13.5, -114.0])


def test_fewer_bits_bigger_error_and_dtype():
    x = np.random.default_rng(1).uniform(-3, 3, 1000)
    errors = [quantization_error(x, b) for b in (2, 4, 8, 12)]
    assert errors == sorted(errors, reverse=True) and errors[-1] < 1e-3
    q4, _, _ = quantize_affine(x, num_bits=4)
    q12, _, _ = quantize_affine(x, num_bits=12)
    assert q4.dtype == np.int8 and q4.min() >= -8 and q4.max() <= 7 and q12.dtype == np.int16


def test_quantized_linear_from_linear_attributes_and_nbytes():
    lin = Linear(10, 4, rng=0)
    lin.bias.data[...] = [1, 2, 3, 4]
    ql = QuantizedLinear.from_linear(lin)
    assert isinstance(ql, Module) and (ql.in_features, ql.out_features) == (10, 4)
    assert ql.q_weight.dtype == np.int8 and ql.q_weight.shape == (10, 4)
    assert ql.scale.shape == (4,) and ql.zero_point.shape == (4,) and ql.per_channel
    assert isinstance(ql.bias, Tensor) and ql.bias.data.dtype == np.float32 and ql.bias.data.tolist() == [1, 2, 3, 4]
    assert ql.nbytes() == 40 + 16 + 16 + 16 and ql.parameters() == []
    lin.bias.data[...] = 0
    assert ql.bias.data.tolist() == [1, 2, 3, 4], "the bias is copied"
    qt = QuantizedLinear.from_linear(lin, per_channel=False)
    assert qt.scale.shape == () and qt.nbytes() == 40 + 4 + 4 + 16
    nb = QuantizedLinear.from_linear(Linear(10, 4, bias=False, rng=0))
    assert nb.bias is None and nb.nbytes() == 40 + 16 + 16
    assert "QuantizedLinear" in repr(ql)
    with pytest.raises(ValueError):
        QuantizedLinear(np.zeros((3, 2), np.int8), np.ones(3), np.zeros(3))


def test_quantized_linear_forward_matches_float():
    rng = np.random.default_rng(2)
    lin = Linear(48, 12, rng=3)
    lin.bias.data[...] = rng.normal(size=12)
    x = Tensor(rng.normal(size=(7, 48)).astype(np.float32))
    for per_channel in (True, False):
        ql = QuantizedLinear.from_linear(lin, per_channel=per_channel)
        y = ql(x)
        assert y.shape == (7, 12) and y.data.dtype == np.float32
        assert np.allclose(y.data, x.data @ ql.dequantized_weight() + lin.bias.data, atol=1e-5)
        ref = lin(x).data
        assert np.abs(y.data - ref).max() < 0.02 * np.abs(ref).max()
    assert ql(Tensor(rng.normal(size=(2, 3, 48)).astype(np.float32))).shape == (2, 3, 12)
    with pytest.raises(ValueError, match="48"):
        ql(Tensor(np.ones((1, 47), np.float32)))


def test_integer_linear_matches_formula_and_float():
    rng = np.random.default_rng(4)
    lin = Linear(40, 6, rng=5)
    lin.bias.data[...] = rng.normal(size=6)
    ql = QuantizedLinear.from_linear(lin)
    x = rng.normal(size=(9, 40)).astype(np.float32)
    y = integer_linear(Tensor(x), ql)
    qx, sx, zx = quantize_affine(x)
    integer_product = (qx.astype(np.int64) - zx) @ (ql.q_weight.astype(np.int64) - ql.zero_point)
    exact = sx * ql.scale.astype(np.float64) * integer_product
    assert y.data.dtype == np.float32 and np.allclose(y.data, exact + lin.bias.data, rtol=1e-5, atol=1e-4)
    ref = lin(Tensor(x)).data
    assert np.abs(y.data - ref).max() < 0.03 * np.abs(ref).max()
    assert integer_linear(x.reshape(3, 3, 40), ql).shape == (3, 3, 6)


class _Net(Module):
    def __init__(self):
        super().__init__()
        self.embed = Linear(5, 8, rng=0)
        self.body = Sequential(Linear(8, 8, rng=1), ReLU(), Dropout(0.0))
        self.heads = [Linear(8, 3, rng=2), Linear(8, 2, rng=3)]
        self.pair = (Linear(8, 8, rng=4), "tag")
        self.tied = self.heads[0]

    def forward(self, x):
        h = self.pair[0](self.body(self.embed(x)))
        return self.heads[0](h), self.heads[1](h), self.tied(h)


def test_quantize_model_replaces_everywhere_and_leaves_original_alone():
    net = _Net()
    before = [p.data.copy() for p in net.parameters()]
    qn = quantize_model(net)
    assert qn is not net and isinstance(qn, _Net)
    assert isinstance(qn.embed, QuantizedLinear) and isinstance(qn.body[0], QuantizedLinear)
    assert isinstance(qn.body[1], ReLU) and isinstance(qn.body[2], Dropout)
    assert all(isinstance(h, QuantizedLinear) for h in qn.heads)
    assert isinstance(qn.pair, tuple) and isinstance(qn.pair[0], QuantizedLinear) and qn.pair[1] == "tag"
    assert qn.tied is qn.heads[0]
    assert all(isinstance(m, Linear) for m in (net.embed, net.body[0], net.heads[0], net.pair[0]))
    assert all(np.array_equal(b, p.data) for b, p in zip(before, net.parameters()))
    x = Tensor(np.random.default_rng(0).normal(size=(4, 5)).astype(np.float32))
    with no_grad():
        for a, b in zip(qn(x), net(x)):
            assert np.allclose(a.data, b.data, atol=0.05)
    assert not quantize_model(net, per_channel=False).embed.per_channel
    assert quantize_model(net, num_bits=4).embed.q_weight.max() <= 7
    root = quantize_model(Linear(3, 2, rng=0))
    assert isinstance(root, QuantizedLinear)


def test_linear_subclasses_with_their_own_forward_stay_float():
    class Scaled(Linear):
        def forward(self, x):
            return super().forward(x) * 3.0

    class Renamed(Linear):
        pass

    qm = quantize_model(Sequential(Scaled(4, 4, rng=0), Renamed(4, 2, rng=1)))
    assert type(qm[0]) is Scaled and isinstance(qm[1], QuantizedLinear)


def test_model_nbytes_counts_float_and_quantized():
    model = Sequential(Linear(4, 8, rng=0), ReLU(), Linear(8, 3, rng=1))
    assert model_nbytes(model) == 67 * 4
    assert model_nbytes(quantize_model(model)) == (32 + 96) + (24 + 36)
    assert model_nbytes(quantize_model(model, per_channel=False)) == (32 + 8 + 32) + (24 + 8 + 12)
    half = Sequential(Linear(4, 8, rng=0), QuantizedLinear.from_linear(Linear(8, 3, rng=1)))
    assert model_nbytes(half) == 40 * 4 + 60
    tied = _Net()
    assert model_nbytes(tied) == sum(p.data.nbytes for p in tied.parameters())
    q = quantize_model(tied)
    assert model_nbytes(q) == sum(m.nbytes() for m in q.modules() if isinstance(m, QuantizedLinear))


def test_trained_classifier_survives_int8():
    """A small MLP trained on a separable 3-class problem keeps its accuracy; bytes follow the formula."""
    rng = np.random.default_rng(0)
    centers = rng.normal(size=(3, 16)) * 3
    y = rng.integers(0, 3, 300)
    x = (centers[y] + rng.normal(size=(300, 16))).astype(np.float32)
    np.random.seed(0)
    model = Sequential(Linear(16, 32), ReLU(), Linear(32, 3))
    opt, loss_fn = Adam(model.parameters(), lr=0.01), CrossEntropyLoss()
    for _ in range(60):
        loss = loss_fn(model(Tensor(x)), Tensor(y))
        opt.zero_grad()
        loss.backward()
        opt.step()
    with no_grad():
        acc = np.mean(np.argmax(model(Tensor(x)).data, axis=1) == y)
        q = quantize_model(model)
        acc_q = np.mean(np.argmax(q(Tensor(x)).data, axis=1) == y)
    assert acc > 0.95 and acc_q >= acc - 0.01
    assert model_nbytes(model) == 4 * (16 * 32 + 32 + 32 * 3 + 3)
    assert model_nbytes(q) == (16 * 32 + 12 * 32) + (32 * 3 + 12 * 3)
