"""Package tests for module 09 (tinytorch.core.spatial)."""

import numpy as np
import pytest

from tinytorch.core.autograd import check_gradients
from tinytorch.core.layers import Linear, Sequential
from tinytorch.core.spatial import (
    AvgPool2d,
    Conv2d,
    Flatten,
    MaxPool2d,
    col2im,
    conv2d_flops,
    conv2d_forward,
    conv2d_loops,
    conv_output_size,
    im2col,
    receptive_field,
)
from tinytorch.core.tensor import Tensor


def test_output_size():
    assert conv_output_size(32, 5) == 28 and conv_output_size(7, 3, 2, 1) == 4
    with pytest.raises(ValueError):
        conv_output_size(2, 5)


def test_worked_example():
    x = np.array([[1, 2, 0, 1], [0, 1, 3, 1], [2, 1, 0, 0], [1, 0, 1, 2]], float)[None, None]
    w = np.array([[1, 0, -1]] * 3, float)[None, None]
    assert np.allclose(conv2d_loops(x, w)[0, 0], [[0, 2], [-1, -1]])
    assert np.allclose(conv2d_forward(x, w)[0][0, 0], [[0, 2], [-1, -1]])


@pytest.mark.parametrize("shape,wshape,s,p", [((2, 3, 7, 6), (4, 3, 3, 2), 2, 1), ((1, 1, 5, 5), (2, 1, 1, 1), 1, 0),
                                              ((2, 2, 8, 8), (3, 2, 5, 5), 1, 2), ((1, 2, 9, 9), (2, 2, 3, 3), 3, 0)])
def test_im2col_matches_loops_and_adjoint(shape, wshape, s, p):
    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal(shape), rng.standard_normal(wshape), rng.standard_normal(wshape[0])
    assert np.allclose(conv2d_forward(x, w, b, s, p)[0], conv2d_loops(x, w, b, s, p))
    cols = im2col(x, wshape[2], wshape[3], s, p)
    c = rng.standard_normal(cols.shape)
    assert np.isclose((cols * c).sum(), (x * col2im(c, shape, wshape[2], wshape[3], s, p)).sum())


def test_conv2d_layer_shapes_params_and_errors():
    conv = Conv2d(3, 6, 5)
    assert conv.weight.shape == (6, 3, 5, 5) and conv.bias.shape == (6,)
    assert conv.stride == 1 and conv.padding == 0
    assert len(conv.parameters()) == 2
    assert conv(Tensor(np.zeros((2, 3, 32, 32), np.float32))).shape == (2, 6, 28, 28)
    assert Conv2d(1, 4, 3, stride=2, padding=1)(Tensor(np.zeros((1, 1, 8, 8), np.float32))).shape == (1, 4, 4, 4)
    with pytest.raises(ValueError):
        conv(Tensor(np.zeros((2, 1, 32, 32), np.float32)))
    with pytest.raises(ValueError):
        conv(Tensor(np.zeros((3, 32, 32), np.float32)))
    assert len(Conv2d(1, 2, 3, bias=False).parameters()) == 1


def test_global_seed_makes_init_reproducible():
    np.random.seed(0)
    a = Conv2d(2, 3, 3).weight.data.copy()
    np.random.seed(0)
    assert np.array_equal(a, Conv2d(2, 3, 3).weight.data)


def test_conv_gradients():
    rng = np.random.default_rng(1)
    conv = Conv2d(2, 3, (3, 2), stride=2, padding=1, rng=0)
    x = Tensor(rng.standard_normal((2, 2, 5, 6)), requires_grad=True)
    assert check_gradients(lambda a, w, b: conv(a), x, conv.weight, conv.bias)


def test_pool_values_and_gradients():
    x = np.array([[1, 3, 2, 0], [4, 2, 1, 1], [0, 0, 5, 6], [1, 0, 7, 8]], float)[None, None]
    assert np.allclose(MaxPool2d(2)(Tensor(x)).data[0, 0], [[4, 2], [1, 8]])
    assert np.allclose(AvgPool2d(2)(Tensor(x)).data[0, 0], [[2.5, 1], [0.25, 6.5]])
    xr = Tensor(np.random.default_rng(2).standard_normal((2, 2, 5, 5)), requires_grad=True)
    for pool in [MaxPool2d(2), MaxPool2d(3, stride=1), AvgPool2d(2), AvgPool2d(3, stride=2)]:
        assert check_gradients(lambda a: pool(a), xr)


def test_flatten_and_a_small_cnn_trains_a_step():
    np.random.seed(0)
    model = Sequential(Conv2d(1, 4, 3, padding=1), MaxPool2d(2), Flatten(), Linear(4 * 4 * 4, 3))
    x = Tensor(np.random.default_rng(0).standard_normal((5, 1, 8, 8)).astype(np.float32))
    out = model(x)
    assert out.shape == (5, 3)
    (out * out).sum().backward()
    assert all(p.grad is not None and p.grad.shape == p.shape for p in model.parameters())
    assert Flatten()(Tensor(np.zeros((2, 3, 4, 5)))).shape == (2, 60)


def test_counting():
    assert receptive_field([(3, 1), (3, 1), (2, 2), (3, 1)]) == (10, 2)
    assert conv2d_flops(1, 6, 5, 28, 28) == 235_200


def test_im2col_matches_the_loop_definition():
    """The fast path computes the definition (its speed-up is a benchmark figure: benchmarks/bench_cnn_vs_torch.py)."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 9, 9)).astype(np.float32)
    w = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    b = rng.standard_normal(4).astype(np.float32)
    for stride, padding in ((1, 1), (2, 0), (2, 2)):
        fast, _ = conv2d_forward(x, w, b, stride, padding)
        np.testing.assert_allclose(fast, conv2d_loops(x, w, b, stride, padding), atol=1e-4)


def test_batchnorm2d_train_eval_and_gradients():
    from tinytorch.core.spatial import BatchNorm2d

    rng = np.random.default_rng(3)
    x = Tensor((rng.standard_normal((6, 2, 4, 4)) * 3 + 5).astype(np.float32))
    bn = BatchNorm2d(2, momentum=0.2)
    y = bn(x).data
    np.testing.assert_allclose(y.mean(axis=(0, 2, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(y.var(axis=(0, 2, 3)), 1, atol=1e-3)
    n = 6 * 4 * 4
    np.testing.assert_allclose(bn.running_mean, 0.2 * x.data.mean(axis=(0, 2, 3)), rtol=1e-5)
    np.testing.assert_allclose(bn.running_var, 0.8 + 0.2 * x.data.var(axis=(0, 2, 3)) * n / (n - 1), rtol=1e-5)
    assert [id(p) for p in bn.parameters()] == [id(bn.gamma), id(bn.beta)]
    bn.eval()
    np.testing.assert_allclose(bn(Tensor(x.data[:1])).data, bn(x).data[:1], atol=1e-6)
    bn.train()
    xin = Tensor(rng.standard_normal((2, 2, 3, 3)), requires_grad=True)
    check_gradients(lambda a, g, b: bn(a), xin, bn.gamma, bn.beta)
    model = Sequential(Conv2d(1, 2, 3, padding=1, rng=0), BatchNorm2d(2), Flatten(), Linear(2 * 4 * 4, 3, rng=1))
    out = model(Tensor(rng.standard_normal((4, 1, 4, 4)).astype(np.float32)))
    out.sum().backward()
    assert all(p.grad is not None for p in model.parameters())
