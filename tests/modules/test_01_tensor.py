"""The exported tinytorch.core.tensor against the API contract in AUTHORING.md (module 01)."""
from __future__ import annotations

import re

import numpy as np
import pytest

from tinytorch.core.tensor import Tensor


@pytest.mark.parametrize("data, dtype", [
    ([1.0, 2.0], np.float32), ([1, 2], np.int64), ([1, 2.5], np.float32), (3.0, np.float32), (7, np.int64),
    ([True, False], np.bool_), (np.zeros(2, dtype=np.float64), np.float64), (np.arange(3, dtype=np.int8), np.int8),
])
def test_creation_dtype_rules(data, dtype):
    assert Tensor(data).dtype == dtype


def test_dtype_override_shape_facts_and_reserved_grad_slots():
    t = Tensor([[1, 2, 3], [4, 5, 6]], dtype=np.float32, requires_grad=True)
    assert t.dtype == np.float32 and t.shape == (2, 3) and t.size == 6 and t.ndim == 2 and len(t) == 2
    assert t.requires_grad is True and t.grad is None and t._grad_fn is None
    assert isinstance(t.numpy(), np.ndarray) and Tensor([[5.0]]).item() == 5.0


def test_bad_data_is_refused_with_a_message():
    with pytest.raises(TypeError, match="numbers"):
        Tensor("abc")
    with pytest.raises(ValueError):
        Tensor([[1, 2], [3]])
    with pytest.raises(ValueError, match="exactly one element"):
        Tensor([1.0, 2.0]).item()


def test_repr_shows_values_shape_and_dtype():
    text = repr(Tensor([[1, 2], [3, 4]]) @ Tensor([[1], [1]]))
    assert text.startswith("Tensor(") and "3" in text and "7" in text and "(2, 1)" in text and "int64" in text


def test_arithmetic_broadcasts_and_reflects():
    a = Tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    b = Tensor([10.0, 20.0, 30.0])
    np.testing.assert_allclose((a + b).data, [[11, 22, 33], [14, 25, 36]])
    np.testing.assert_allclose((1 - a).data, 1 - a.data)
    np.testing.assert_allclose((2 / Tensor([4.0, 8.0])).data, [0.5, 0.25])
    np.testing.assert_allclose((3 * a).data, 3 * a.data)
    np.testing.assert_allclose((-a).data, -a.data)
    np.testing.assert_allclose((a ** 2).data, a.data ** 2)
    assert (a * 0.5).dtype == np.float32 and (a + 1).dtype == np.float32
    np.testing.assert_allclose(a.data, [[1, 2, 3], [4, 5, 6]])   # inputs untouched


def test_numpy_operands_on_the_left_give_tensors_not_object_arrays():
    """Tensor opts out of NumPy's ufunc dispatch, so NumPy defers to the reflected Tensor methods."""
    t = Tensor([1.0, 2.0, 3.0])
    scaled = np.float32(2) * t
    assert type(scaled) is Tensor and scaled.dtype == np.float32 and np.allclose(scaled.data, [2, 4, 6])
    shifted = np.ones(3) + t
    assert type(shifted) is Tensor and shifted.data.dtype != object and np.allclose(shifted.data, [2, 3, 4])
    assert type(np.arange(3.0) - t) is Tensor and np.allclose((np.arange(3.0) - t).data, [-1, -1, -1])
    assert type(np.ones((2, 3)) @ Tensor(np.ones((3, 1)))) is Tensor


def test_reshape_errors_name_the_shapes():
    t = Tensor(np.arange(12.0))
    for bad in [(5, -1), (-1, -1), (5, 2)]:
        with pytest.raises(ValueError, match=re.escape(str(bad))):
            t.reshape(*bad)


def test_pow_refuses_a_tensor_exponent():
    with pytest.raises(TypeError):
        Tensor([1.0]) ** Tensor([2.0])


def test_matmul_values_batches_and_error_message():
    out = Tensor([[1, 2], [3, 4]]) @ Tensor([[1], [1]])
    assert np.array_equal(out.data, [[3], [7]])
    assert (Tensor(np.ones((5, 2, 3))) @ Tensor(np.ones((3, 4)))).shape == (5, 2, 4)
    assert Tensor([[1.0, 2.0]]).matmul(Tensor([[1.0], [2.0]])).item() == 5.0
    with pytest.raises(ValueError) as err:
        Tensor(np.ones((2, 3))) @ Tensor(np.ones((4, 5)))
    assert "(2, 3)" in str(err.value) and "(4, 5)" in str(err.value)


def test_reshape_transpose_and_indexing():
    t = Tensor(np.arange(12))
    assert t.reshape(3, -1).shape == (3, 4) and t.reshape((2, 6)).shape == (2, 6)
    with pytest.raises(ValueError):
        t.reshape(5, -1)
    with pytest.raises(ValueError):
        t.reshape(-1, -1)
    m = Tensor(np.arange(24).reshape(2, 3, 4))
    assert m.transpose().shape == (2, 4, 3) and m.transpose(0, 1).shape == (3, 2, 4)
    assert Tensor([[1, 2], [3, 4]]).T.numpy().tolist() == [[1, 3], [2, 4]]
    row = m[1, 2]
    assert isinstance(row, Tensor) and row.numpy().tolist() == [20, 21, 22, 23]
    assert m[:, :, Tensor([0, 3])].shape == (2, 3, 2)


def test_reductions_with_axis_and_keepdims():
    x = Tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert x.sum().item() == 21 and x.mean().item() == 3.5 and x.max().item() == 6
    np.testing.assert_allclose(x.sum(axis=0).data, [5, 7, 9])
    np.testing.assert_allclose(x.mean(axis=1, keepdims=True).data, [[2], [5]])
    np.testing.assert_allclose(x.max(axis=-1).data, [3, 6])
    assert x.argmax(axis=1).numpy().tolist() == [2, 2] and x.argmax().item() == 5
    np.testing.assert_allclose(Tensor([1.0, 4.0]).sqrt().data, [1, 2])
    np.testing.assert_allclose(Tensor([0.0]).exp().log().data, [0.0], atol=1e-7)


def test_package_root_exports_tensor():
    import tinytorch
    assert tinytorch.Tensor is Tensor
