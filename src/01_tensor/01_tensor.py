# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
#   tinytorch:
#     title: Tensor
#     summary: Build the N-dimensional Tensor that every later module computes with, on top of NumPy, and learn what its operations cost in memory and time.
#     tier: foundation
#     minutes: 120
#     prerequisites: []
#     objectives:
#       - Explain what a tensor is (a block of numbers plus a shape and a dtype) and why frameworks wrap arrays in one
#       - Build a Tensor from lists, scalars and NumPy arrays with predictable dtype rules
#       - Implement element-wise arithmetic with broadcasting and scalars on either side
#       - Implement matrix multiplication with a shape check whose error message helps
#       - Implement reshape (with -1), transpose, reductions with axis/keepdims, and indexing
#       - Measure bytes per dtype, the FLOPs of matmul versus element-wise work, and the cost of strided access
#     exports: [Tensor]
#     milestone: null
# ---

# %% [markdown]
# # Module 01: Tensor
#
# Every number a neural network touches lives in a **tensor**: the pixels of an image, the weights of
# a layer, the gradient of a loss, a batch of token ids. A tensor is nothing mysterious. It is a
# rectangular block of numbers, together with two facts about it:
#
# - its **shape**, the length of each axis: `(3,)` is a vector of 3 numbers, `(2, 3)` a matrix with
#   2 rows and 3 columns, `(32, 1, 28, 28)` a batch of 32 grey-scale 28x28 images;
# - its **dtype**, how each number is stored: `float32` (4 bytes), `int64` (8 bytes), `bool` (1 byte)...
#
# NumPy already stores such blocks efficiently. So why does every framework (PyTorch, TensorFlow,
# JAX) wrap arrays in a class of its own? Because a framework needs to **own the operations**. When
# you write `loss = ((x @ w + b) - y) ** 2`, the framework must later be able to answer "how does
# `loss` change if I nudge `w`?". It can only do that if every `+`, `@` and `**` goes through code
# it controls. In module 05 you will teach each operation of this class its derivative without
# changing a line of what you write today. Today's job is to make the operations correct, predictable
# and cheap.
#
# **What you will build** in `tinytorch.core.tensor`:
#
# | group | API |
# |---|---|
# | creation | `Tensor(data, dtype=None, requires_grad=False)`, `shape`, `size`, `ndim`, `dtype`, `numpy()`, `item()`, `repr` |
# | arithmetic | `+ - * /` with broadcasting and numbers on either side, `-x`, `x ** p` |
# | linear algebra | `a @ b` / `a.matmul(b)` with a shape check |
# | shape | `reshape(*shape)` with `-1`, `transpose(dim0, dim1)`, `.T`, `x[i, j:k]` |
# | reductions | `sum`, `mean`, `max` with `axis` and `keepdims`, `argmax` |
# | element-wise math | `exp`, `log`, `sqrt` |
#
# At the end you will **measure** three things every ML engineer should know by heart: how many bytes
# a tensor costs, why a matrix multiply does far more arithmetic per byte than an addition, and why
# reading memory in the wrong order is slow.

# %%
#| default_exp core.tensor

# %%
#| export
import numpy as np

# %%
#| hide
import time

np.set_printoptions(precision=4, suppress=True)

# %% [markdown]
# ## 1. The idea: a shape laid over flat memory
#
# Memory is one long row of bytes. A tensor of shape `(2, 3)` and dtype `float32` occupies
# 2 x 3 x 4 = 24 consecutive bytes; the shape tells us how to read them as a grid. NumPy stores rows
# one after the other ("row-major" or C order), and records **strides**: how many bytes to jump to
# move one step along each axis.
#
# ```
#   logical view (shape (2, 3))         memory (float32, 4 bytes each)
#
#        col 0  col 1  col 2            byte:  0    4    8    12   16   20
#   row 0 [ 1.0    2.0    3.0 ]    ==>        [1.0][2.0][3.0][4.0][5.0][6.0]
#   row 1 [ 4.0    5.0    6.0 ]               |-- row 0 ---||-- row 1 ---|
#
#   strides = (12, 4): next row = +12 bytes, next column = +4 bytes
# ```
#
# Two consequences run through this whole module:
#
# - **Reshape is (usually) free.** Reading the same 6 numbers as shape `(3, 2)` or `(6,)` only
#   changes the shape and strides, not a single byte of data.
# - **Transpose is free too, but changes the reading order.** The transpose of the matrix above has
#   strides `(4, 12)`: walking along one of its rows jumps 12 bytes at a time. Section 8 times what
#   that costs.
#
# ### Broadcasting, worked out by hand
#
# Element-wise operations need operands of the same shape, but writing `x + 1` or adding a bias
# vector to every row of a matrix is too useful to forbid. **Broadcasting** stretches size-1 (or
# missing) axes to match, without copying. Align the shapes from the right; two sizes are compatible
# when they are equal or one of them is 1:
#
# ```
#   x        shape (2, 3)    [[1, 2, 3],          b  shape    (3,)   [10, 20, 30]
#                             [4, 5, 6]]
#   align right:  (2, 3)
#                 (   3)  -> missing axis treated as 1 -> stretched to (2, 3)
#
#   x + b =  [[1+10, 2+20, 3+30],   =  [[11, 22, 33],
#             [4+10, 5+20, 6+30]]       [14, 25, 36]]
# ```
#
# Shapes `(2, 3)` and `(2,)` are **not** compatible (3 vs 2 in the last axis). A plain number
# behaves like shape `()`, which is compatible with everything. NumPy implements these rules; our
# Tensor simply hands the underlying arrays to NumPy and wraps the result.

# %% [markdown]
# ## 2. Creating a Tensor: predictable dtypes
#
# A framework must be boring about dtypes, because a silent float64 doubles memory and a silent
# integer division ruins a gradient. Our rules:
#
# | input | dtype of the Tensor |
# |---|---|
# | Python floats (or a list mixing ints and floats) | `float32`, the workhorse of deep learning |
# | Python ints (lists of ints) | `int64`, e.g. class labels and token ids |
# | Python bools | `bool`, e.g. masks |
# | a NumPy array or NumPy scalar | keeps its own dtype (you chose it already) |
# | another Tensor | keeps its dtype |
# | any of the above with `dtype=` given | converted to that dtype |
#
# NumPy's own default for Python floats is float64, so `np.asarray([1.5])` is not enough: you must
# downcast floats to float32 yourself. Anything that is not a number (strings, `None`, ragged lists)
# should fail with a message that says what was passed.
#
# The `requires_grad` flag, the `grad` slot and `_grad_fn` are reserved for module 05 (autograd);
# today you only store them.

# %% nbgrader={"grade": false, "grade_id": "tensor-init", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class Tensor:
    """An N-dimensional array of numbers with a shape and a dtype, backed by a NumPy array.

    Every operation returns a new Tensor; no operation modifies its inputs.
    """

    # Given: opt out of NumPy's ufunc dispatch. Without this, `np.float32(2) * t` or `np.ones(3) + t`
    # lets NumPy loop over `t` as a generic object and return an object array of Tensors. With it, NumPy
    # steps aside and Python calls our reflected method (`t.__rmul__`), so the result is a Tensor.
    __array_ufunc__ = None

    def __init__(self, data, dtype=None, requires_grad: bool = False):
        """Store `data` as a NumPy array in `self.data`, following the dtype rules above.

        EXAMPLE: Tensor([1, 2]).dtype -> int64;  Tensor([1.0, 2]).dtype -> float32;
                 Tensor(np.zeros(3, dtype=np.float64)).dtype -> float64;  Tensor([1, 2], dtype="float32")
        HINTS: `np.asarray(data)` turns lists and numbers into an array; look at `arr.dtype.kind`
               ('f' float, 'i'/'u' integer, 'b' bool). Convert with `arr.astype(...)`.
               Raise TypeError for anything whose kind is not one of those.
        """
        if isinstance(data, Tensor):
            data = data.data
        ### BEGIN SOLUTION
        if isinstance(data, (np.ndarray, np.generic)):
            arr = np.asarray(data)
        else:
            try:
                arr = np.asarray(data)
            except ValueError as exc:              # ragged nested lists
                raise ValueError(f"Tensor data must be rectangular (every row the same length): {exc}") from None
            if arr.dtype.kind == "f":
                arr = arr.astype(np.float32)
            elif arr.dtype.kind in "iu":
                arr = arr.astype(np.int64)
        if arr.dtype.kind not in "fiub":
            raise TypeError(f"Tensor data must be numbers or bools, got {type(data).__name__} "
                            f"(NumPy dtype {arr.dtype})")
        if dtype is not None:
            arr = arr.astype(dtype)
        ### END SOLUTION
        self.data = arr
        self.requires_grad = bool(requires_grad)
        self.grad = None          # filled in by backward() once autograd exists (module 05)
        self._grad_fn = None      # the operation that produced this Tensor (module 05)

    # --- facts about the block of numbers (given: each is one line of NumPy) ---
    @property
    def shape(self) -> tuple:
        return self.data.shape

    @property
    def size(self) -> int:
        return int(self.data.size)

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def dtype(self):
        return self.data.dtype

    def numpy(self) -> np.ndarray:
        """The underlying NumPy array (shared, not copied)."""
        return self.data

    def item(self):
        """The single number of a one-element Tensor, as a Python number."""
        if self.data.size != 1:
            raise ValueError(f"item() needs a Tensor with exactly one element, this one has shape {self.shape}")
        return self.data.item()

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d Tensor (a single number) is undefined")
        return self.data.shape[0]

    def __repr__(self) -> str:
        body = np.array2string(self.data, separator=", ", prefix="Tensor(")
        grad = ", requires_grad=True" if self.requires_grad else ""
        return f"Tensor({body}, shape={self.shape}, dtype={self.dtype}{grad})"

    def backward(self, gradient=None):
        raise RuntimeError("backward() arrives with autograd in module 05: import tinytorch.core.autograd")

# %% mutant={"name": "floats-stay-float64", "target": "tensor-init", "replace": "arr = arr.astype(np.float32)", "catches": ["test-tensor-init"]}
# Trusts np.asarray: Python floats stay float64, twice the memory of float32.
arr = arr

# %% mutant={"name": "casts-numpy-arrays-too", "target": "tensor-init", "catches": ["test-tensor-init"]}
# Applies the list rules to NumPy arrays as well, so a float64 or int8 array silently changes dtype.
arr = np.asarray(data)
if arr.dtype.kind == "f":
    arr = arr.astype(np.float32)
elif arr.dtype.kind in "iu":
    arr = arr.astype(np.int64)
if arr.dtype.kind not in "fiub":
    raise TypeError(f"Tensor data must be numbers or bools, got {type(data).__name__}")
if dtype is not None:
    arr = arr.astype(dtype)

# %% mutant={"name": "ignores-dtype-argument", "target": "tensor-init", "replace": "if dtype is not None:\n    arr = arr.astype(dtype)", "catches": ["test-tensor-init"]}
# Forgets the dtype= override.
pass

# %% mutant={"name": "accepts-strings", "target": "tensor-init", "replace": "if arr.dtype.kind not in \"fiub\":", "catches": ["test-tensor-init"]}
# Only rejects object arrays, so Tensor("hello") becomes a string tensor.
if arr.dtype.kind == "O":

# %% [markdown]
# The test builds Tensors from each kind of input in the table and checks the resulting dtype, shape
# and values, and that bad input raises a helpful error.

# %% nbgrader={"grade": true, "grade_id": "test-tensor-init", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
def test_tensor_init():
    """Creation from lists, scalars, arrays and Tensors follows the dtype rules; bad data raises TypeError."""
    t = Tensor([[1.0, 2.0], [3.0, 4.0]])
    assert t.dtype == np.float32, f"a list of floats must become float32, got {t.dtype}"
    assert t.shape == (2, 2) and t.size == 4 and t.ndim == 2, f"shape/size/ndim wrong: {t.shape}, {t.size}, {t.ndim}"
    assert np.allclose(t.data, [[1, 2], [3, 4]]), "the values must be kept"
    assert Tensor([1, 2, 3]).dtype == np.int64, "a list of ints must become int64"
    assert Tensor([1, 2.5]).dtype == np.float32, "a list mixing ints and floats must become float32"
    assert Tensor(3.0).shape == () and Tensor(3.0).dtype == np.float32, "a Python float is a 0-d float32 Tensor"
    assert Tensor([True, False]).dtype == np.bool_, "a list of bools stays bool"
    assert Tensor(np.zeros(3, dtype=np.float64)).dtype == np.float64, "NumPy arrays keep their dtype"
    assert Tensor([1, 2], dtype=np.float32).dtype == np.float32, "dtype= overrides the rules"
    assert Tensor(Tensor([1.0])).dtype == np.float32, "a Tensor made from a Tensor keeps its dtype"
    try:
        Tensor("hello")
    except TypeError:
        pass
    else:
        raise AssertionError("Tensor('hello') must raise TypeError: a string is not numeric data")
    print("creation: OK", Tensor([[1.0, 2.0], [3.0, 4.0]]))

test_tensor_init()
### BEGIN HIDDEN TESTS
assert Tensor(np.arange(3, dtype=np.int8)).dtype == np.int8, "int8 arrays keep int8"
assert Tensor(7).dtype == np.int64 and Tensor(7).item() == 7
assert Tensor([[1.5]], requires_grad=True).requires_grad is True
assert Tensor(np.float64(2.0)).dtype == np.float64, "NumPy scalars keep their dtype"
assert Tensor([1.0, 2.0], dtype="float16").dtype == np.float16
### END HIDDEN TESTS

# %% [markdown]
# ## 3. Element-wise arithmetic
#
# `a + b`, `a - b`, `a * b` and `a / b` work number by number, with broadcasting. Python calls
# `a.__add__(b)` for `a + b`. When the left operand is a plain number (`2 * t`), Python first tries
# `int.__mul__`, which does not know Tensors, and then calls the **reflected** method
# `t.__rmul__(2)`. Subtraction and division are not symmetric, so their reflected versions must swap
# the operands: `10 - t` is `t.__rsub__(10)`, which computes `10 - t.data`, not `t.data - 10`.
#
# The helper `_unwrap` gives you the raw operand: the array of a Tensor, a Python number unchanged
# (so `float32_tensor + 1` stays float32: NumPy treats bare Python numbers as "weak" and adopts the
# array's dtype), and a list as an array. Each operation is one line; write the four forward ones.

# %% nbgrader={"grade": false, "grade_id": "tensor-arithmetic", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def _unwrap(value):
    """The raw operand of an operation: a Tensor's array, a Python number as is, anything else as an array."""
    if isinstance(value, Tensor):
        return value.data
    if isinstance(value, (int, float, bool, np.ndarray, np.generic)):
        return value
    return np.asarray(value)


def _method(name):
    """Decorator: attach the function to Tensor as `Tensor.<name>`, so the class grows one section at a time.

    The functions themselves get private names (`_add`, `_sum`...) so they never shadow Python's
    built-in `sum` or `max` in the notebook or in the package.
    """
    def attach(fn):
        setattr(Tensor, name, fn)
        return fn
    return attach


@_method("__add__")
def _add(self, other):
    """Element-wise self + other, with broadcasting. EXAMPLE: Tensor([1, 2]) + 10 -> Tensor([11, 12])"""
    ### BEGIN SOLUTION
    return Tensor(self.data + _unwrap(other))
    ### END SOLUTION


@_method("__sub__")
def _sub(self, other):
    """Element-wise self - other. EXAMPLE: Tensor([5, 7]) - Tensor([1, 2]) -> Tensor([4, 5])"""
    ### BEGIN SOLUTION
    return Tensor(self.data - _unwrap(other))
    ### END SOLUTION


@_method("__mul__")
def _mul(self, other):
    """Element-wise self * other (NOT matrix multiplication). EXAMPLE: Tensor([1, 2]) * 3 -> Tensor([3, 6])"""
    ### BEGIN SOLUTION
    return Tensor(self.data * _unwrap(other))
    ### END SOLUTION


@_method("__truediv__")
def _truediv(self, other):
    """Element-wise true division: the result is floating point even for integer inputs.
    EXAMPLE: Tensor([1, 2]) / 2 -> Tensor([0.5, 1.0])"""
    ### BEGIN SOLUTION
    return Tensor(self.data / _unwrap(other))
    ### END SOLUTION


# The reflected versions (number on the left), given: note the swapped operands.
@_method("__radd__")
def _radd(self, other):
    return Tensor(_unwrap(other) + self.data)


@_method("__rsub__")
def _rsub(self, other):
    return Tensor(_unwrap(other) - self.data)


@_method("__rmul__")
def _rmul(self, other):
    return Tensor(_unwrap(other) * self.data)


@_method("__rtruediv__")
def _rtruediv(self, other):
    return Tensor(_unwrap(other) / self.data)

# %% mutant={"name": "add-in-place", "target": "tensor-arithmetic", "region": 0, "catches": ["test-tensor-arithmetic"]}
# Adds into self.data: the result is right but the left operand is modified.
self.data += _unwrap(other)
return Tensor(self.data)

# %% mutant={"name": "floor-division", "target": "tensor-arithmetic", "region": 3, "catches": ["test-tensor-arithmetic"]}
# Uses // so integer inputs stay integers.
return Tensor(self.data // _unwrap(other))

# %% mutant={"name": "mul-is-matmul", "target": "tensor-arithmetic", "region": 2, "catches": ["test-tensor-arithmetic"]}
# Confuses * with matrix multiplication when both operands are Tensors.
b = _unwrap(other)
return Tensor(self.data @ b if isinstance(other, Tensor) and np.ndim(b) == 2 else self.data * b)

# %% [markdown]
# The test checks each operator on Tensors and on numbers (on both sides), the broadcasting example
# of section 1, that float32 stays float32, and that the inputs are never modified.

# %% nbgrader={"grade": true, "grade_id": "test-tensor-arithmetic", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
def test_tensor_arithmetic():
    """+ - * / are element-wise, broadcast, accept numbers on either side and never mutate their inputs."""
    a = Tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    b = Tensor([10.0, 20.0, 30.0])
    assert np.allclose((a + b).data, [[11, 22, 33], [14, 25, 36]]), f"broadcast add wrong: {(a + b).data}"
    assert np.allclose((a - 1).data, [[0, 1, 2], [3, 4, 5]]), "Tensor - number"
    assert np.allclose((10 - a).data, [[9, 8, 7], [6, 5, 4]]), "number - Tensor must compute 10 - a, not a - 10"
    assert np.allclose((a * b).data, [[10, 40, 90], [40, 100, 180]]), "element-wise multiply"
    assert np.allclose((2 * a).data, 2 * a.data), "number * Tensor"
    assert np.allclose((a / 2).data, [[0.5, 1, 1.5], [2, 2.5, 3]]), "Tensor / number"
    assert np.allclose((1 / Tensor([2.0, 4.0])).data, [0.5, 0.25]), "number / Tensor must compute 1 / t"
    assert (a + 1).dtype == np.float32 and (a * 0.5).dtype == np.float32, "float32 must stay float32 with numbers"
    assert isinstance(a + b, Tensor) and isinstance(3 + a, Tensor), "results must be Tensors"
    assert np.allclose(a.data, [[1, 2, 3], [4, 5, 6]]) and np.allclose(b.data, [10, 20, 30]), "inputs must not change"
    assert (Tensor([1, 2]) / 2).dtype.kind == "f", "true division of ints gives floats"
    left = np.float32(2) * a
    assert isinstance(left, Tensor) and np.allclose(left.data, 2 * a.data), "NumPy scalar * Tensor is a Tensor"
    assert isinstance(np.ones(3) + b, Tensor), "NumPy array + Tensor is a Tensor (not an object array)"
    print("arithmetic: OK")

test_tensor_arithmetic()
### BEGIN HIDDEN TESTS
c = Tensor(np.ones((2, 1, 3), dtype=np.float32)) * Tensor(np.arange(4, dtype=np.float32).reshape(4, 1))
assert c.shape == (2, 4, 3) and np.allclose(c.data[1, 3], 3.0), "broadcasting over several axes"
assert np.allclose((Tensor([1.0, 2.0]) - [1.0, 1.0]).data, [0.0, 1.0]), "a list operand works too"
### END HIDDEN TESTS

# %% [markdown]
# ## 4. Negation and powers
#
# `-t` calls `t.__neg__()` and `t ** 2` calls `t.__pow__(2)`. We only support a **number** as the
# exponent: that covers squares for losses, square roots (`** 0.5`) and reciprocals (`** -1`), and
# it keeps the derivative simple in module 05. A Tensor exponent should raise a TypeError that says so.

# %% nbgrader={"grade": false, "grade_id": "tensor-neg-pow", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
@_method("__neg__")
def _neg(self):
    """Element-wise negation. EXAMPLE: -Tensor([1, -2]) -> Tensor([-1, 2])"""
    ### BEGIN SOLUTION
    return Tensor(-self.data)
    ### END SOLUTION


@_method("__pow__")
def _pow(self, exponent):
    """Element-wise self ** exponent for a number exponent. EXAMPLE: Tensor([2.0, 3.0]) ** 2 -> Tensor([4.0, 9.0])
    HINT: check `isinstance(exponent, (int, float))` first and raise TypeError otherwise."""
    ### BEGIN SOLUTION
    if isinstance(exponent, Tensor) or not isinstance(exponent, (int, float, np.number)):
        raise TypeError(f"Tensor ** exponent supports a number exponent only, got {type(exponent).__name__}")
    return Tensor(self.data ** exponent)
    ### END SOLUTION

# %% mutant={"name": "pow-accepts-tensor", "target": "tensor-neg-pow", "region": 1, "catches": ["test-tensor-neg-pow"]}
# No type check: a Tensor exponent is quietly unwrapped instead of refused.
return Tensor(self.data ** _unwrap(exponent))

# %% [markdown]
# The test checks negation, integer and fractional powers, and the TypeError for a Tensor exponent.

# %% nbgrader={"grade": true, "grade_id": "test-tensor-neg-pow", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
def test_tensor_neg_pow():
    """-t flips signs; t ** p raises every element to a number p; a Tensor exponent is refused."""
    t = Tensor([1.0, -2.0, 4.0])
    assert np.allclose((-t).data, [-1, 2, -4]), f"-t wrong: {(-t).data}"
    assert np.allclose((t ** 2).data, [1, 4, 16]), "t ** 2 squares every element"
    assert np.allclose((Tensor([4.0, 9.0]) ** 0.5).data, [2, 3]), "t ** 0.5 is the square root"
    assert (t ** 2).dtype == np.float32, "float32 ** 2 stays float32"
    assert np.allclose(t.data, [1, -2, 4]), "the input must not change"
    try:
        t ** Tensor([2.0])
    except TypeError:
        pass
    else:
        raise AssertionError("a Tensor exponent must raise TypeError")
    print("negation and powers: OK")

test_tensor_neg_pow()

# %% [markdown]
# ## 5. Matrix multiplication
#
# Matrix multiplication is **the** operation of deep learning: a Linear layer is `x @ W + b`,
# attention is a few matmuls, a convolution can be rewritten as one (module 09). For `A` of shape
# `(m, k)` and `B` of shape `(k, n)`, the result `C` has shape `(m, n)` and
# $C_{ij} = \sum_{p=1}^{k} A_{ip} B_{pj}$: each output is the dot product of a row of `A` with a
# column of `B`.
#
# ```
#        A (2, 3)              B (3, 2)             C = A @ B (2, 2)
#   [[1, 2, 3],          [[1, 0],
#    [4, 5, 6]]    @      [0, 1],       =      [[1*1+2*0+3*1, 1*0+2*1+3*1],   = [[ 4,  5],
#                         [1, 1]]               [4*1+5*0+6*1, 4*0+5*1+6*1]]      [10, 11]]
#         inner sizes must agree: 3 == 3 ---^
# ```
#
# Batches work too: NumPy's `np.matmul` treats all but the last two axes as batch axes and
# broadcasts them, so `(8, 2, 3) @ (3, 4)` gives `(8, 2, 4)`. A 1-D operand acts as a row (on the
# left) or a column (on the right) vector.
#
# When the inner sizes disagree NumPy raises an error that mentions "signature (n?,k),(k,m?)->(n?,m?)",
# which confuses most students. Check the shapes yourself and raise a `ValueError` that names both
# shapes and the two sizes that should match.

# %% nbgrader={"grade": false, "grade_id": "tensor-matmul", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
@_method("matmul")
def _matmul(self, other):
    """Matrix product self @ other, following np.matmul's rules for 1-D and batched operands.

    EXAMPLE: Tensor([[1, 2], [3, 4]]) @ Tensor([[1], [1]]) -> Tensor([[3], [7]])
    Raises ValueError naming both shapes when the inner dimensions differ, or when an operand is 0-d.
    HINT: the inner size of the left operand is shape[-1]; of the right, shape[-2] (shape[0] if it is 1-D).
    """
    b = _unwrap(other)
    b = b if isinstance(b, np.ndarray) else np.asarray(b)
    ### BEGIN SOLUTION
    if self.data.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul needs operands with at least one axis, got shapes {self.shape} and {b.shape}; "
                         f"use * to multiply by a number")
    inner_right = b.shape[0] if b.ndim == 1 else b.shape[-2]
    if self.data.shape[-1] != inner_right:
        raise ValueError(f"matmul shape mismatch: {self.shape} @ {b.shape}: the last axis of the left operand "
                         f"({self.data.shape[-1]}) must equal the "
                         f"{'length' if b.ndim == 1 else 'second-to-last axis'} of the right ({inner_right})")
    return Tensor(np.matmul(self.data, b))
    ### END SOLUTION


@_method("__matmul__")
def _matmul(self, other):
    return self.matmul(other)


@_method("__rmatmul__")
def _rmatmul(self, other):
    return Tensor(_unwrap(other)).matmul(self)

# %% mutant={"name": "numpy-shape-errors", "target": "tensor-matmul", "catches": ["test-tensor-matmul"]}
# Leaves the shape check to NumPy, whose error names a gufunc signature instead of the two shapes.
return Tensor(np.matmul(self.data, b))

# %% [markdown]
# The test checks the worked example, a batched product, vector cases, and that a mismatch raises a
# ValueError whose message contains both shapes.

# %% nbgrader={"grade": true, "grade_id": "test-tensor-matmul", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
def test_tensor_matmul():
    """@ computes matrix products (batched, with vectors) and names both shapes on a mismatch."""
    A = Tensor([[1, 2, 3], [4, 5, 6]])
    B = Tensor([[1, 0], [0, 1], [1, 1]])
    C = A @ B
    assert isinstance(C, Tensor) and C.shape == (2, 2), f"(2,3) @ (3,2) must give a (2,2) Tensor, got {C.shape}"
    assert np.array_equal(C.data, [[4, 5], [10, 11]]), f"worked example: expected [[4,5],[10,11]], got {C.data}"
    assert np.array_equal(A.matmul(B).data, C.data), "matmul() and @ must agree"
    batch = Tensor(np.ones((8, 2, 3), dtype=np.float32)) @ Tensor(np.ones((3, 4), dtype=np.float32))
    assert batch.shape == (8, 2, 4) and np.allclose(batch.data, 3.0), "batched matmul broadcasts the batch axis"
    assert (Tensor([1.0, 2.0, 3.0]) @ B).shape == (2,), "a 1-D left operand acts as a row vector"
    try:
        A @ Tensor([[1.0, 2.0], [3.0, 4.0]])
    except ValueError as err:
        assert "(2, 3)" in str(err) and "(2, 2)" in str(err), f"the error must name both shapes, got: {err}"
    else:
        raise AssertionError("(2,3) @ (2,2) must raise ValueError")
    print("matmul: OK", Tensor([[1, 2], [3, 4]]) @ Tensor([[1], [1]]))

test_tensor_matmul()
### BEGIN HIDDEN TESTS
assert (Tensor([[1.0, 2.0]]) @ Tensor([3.0, 4.0])).shape == (1,), "a 1-D right operand acts as a column"
try:
    Tensor(2.0) @ Tensor([1.0])
except ValueError:
    pass
else:
    raise AssertionError("a 0-d operand must raise ValueError")
### END HIDDEN TESTS

# %% [markdown]
# ## 6. Changing the shape: reshape, transpose, indexing
#
# **reshape** reads the same numbers in a new shape. The number of elements must stay the same. One
# axis may be given as `-1`, meaning "whatever makes the count work out": a `(2, 6)` Tensor reshaped
# to `(3, -1)` becomes `(3, 4)`. Accept both `t.reshape(3, 4)` and `t.reshape((3, 4))`. Check the
# request yourself so the error names the shapes: at most one `-1`, and the sizes must divide.
#
# **transpose(dim0, dim1)** swaps two axes (by default the last two, the matrix transpose);
# `.T` is the same with the defaults. A 1-D Tensor has nothing to swap and comes back as it is.
#
# **Indexing** `t[key]` accepts everything NumPy does (integers, slices, lists, boolean masks) and
# returns a Tensor. Both reshape and transpose return Tensors that share memory with the input (like
# NumPy views); they never modify it.

# %% nbgrader={"grade": false, "grade_id": "tensor-shape-ops", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
@_method("reshape")
def _reshape(self, *shape):
    """The same elements in a new shape; one axis may be -1. EXAMPLE: Tensor(np.arange(6)).reshape(2, -1).shape -> (2, 3)
    HINT: unpack a single tuple argument; count the -1s; the known axes' product must divide self.size."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    shape = tuple(int(s) for s in shape)
    ### BEGIN SOLUTION
    if shape.count(-1) > 1:
        raise ValueError(f"reshape: only one axis may be -1, got {shape}")
    known = int(np.prod([s for s in shape if s != -1]))
    if -1 in shape:
        if known == 0 or self.size % known:
            raise ValueError(f"reshape: cannot reshape {self.shape} ({self.size} elements) into {shape}")
        shape = tuple(self.size // known if s == -1 else s for s in shape)
    elif known != self.size:
        raise ValueError(f"reshape: cannot reshape {self.shape} ({self.size} elements) into {shape} ({known} elements)")
    return Tensor(self.data.reshape(shape))
    ### END SOLUTION


@_method("transpose")
def _transpose(self, dim0: int = -2, dim1: int = -1):
    """Swap axes dim0 and dim1 (default: the last two). EXAMPLE: Tensor(np.zeros((2, 3))).transpose().shape -> (3, 2)
    HINT: np.swapaxes does exactly this."""
    if self.data.ndim < 2:
        return Tensor(self.data)
    ### BEGIN SOLUTION
    return Tensor(np.swapaxes(self.data, dim0, dim1))
    ### END SOLUTION


# Given: .T is transpose() with its defaults, and indexing wraps NumPy's indexing.
Tensor.T = property(lambda self: self.transpose(), doc="The matrix transpose: the last two axes swapped.")


@_method("__getitem__")
def _getitem(self, key):
    if isinstance(key, tuple):
        key = tuple(_unwrap(k) if isinstance(k, Tensor) else k for k in key)
    elif isinstance(key, Tensor):
        key = key.data
    return Tensor(self.data[key])

# %% mutant={"name": "reshape-without-own-checks", "target": "tensor-shape-ops", "region": 0, "catches": ["test-tensor-shape-ops"]}
# Leaves every check to NumPy: errors say "newaxis" and never name the Tensor's shape.
return Tensor(self.data.reshape(shape))

# %% mutant={"name": "transpose-reverses-all-axes", "target": "tensor-shape-ops", "region": 1, "catches": ["test-tensor-shape-ops"]}
# Uses .T, which reverses every axis: right for matrices, wrong for batches.
return Tensor(self.data.T)

# %% [markdown]
# The test checks reshape with and without -1 (and its errors), transpose of a matrix and of a batch,
# `.T`, and indexing.

# %% nbgrader={"grade": true, "grade_id": "test-tensor-shape-ops", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
def test_tensor_shape_ops():
    """reshape keeps the elements in order (with -1 inferred), transpose swaps two axes, indexing returns Tensors."""
    t = Tensor(np.arange(12, dtype=np.float32))
    r = t.reshape(3, 4)
    assert isinstance(r, Tensor) and r.shape == (3, 4), f"reshape(3, 4) gave {getattr(r, 'shape', r)}"
    assert np.array_equal(r.data[1], [4, 5, 6, 7]), "reshape keeps row-major order"
    assert t.reshape((2, -1)).shape == (2, 6), "reshape accepts a tuple and infers -1"
    assert t.reshape(-1, 3).shape == (4, 3), "-1 may come first"
    for bad in [(5, -1), (-1, -1), (5, 2)]:
        try:
            t.reshape(*bad)
        except ValueError as err:
            assert str(bad) in str(err), f"the error must name the requested shape {bad}, got: {err}"
        else:
            raise AssertionError(f"reshape{bad} of 12 elements must raise ValueError")
    m = Tensor([[1, 2, 3], [4, 5, 6]])
    assert np.array_equal(m.transpose().data, [[1, 4], [2, 5], [3, 6]]), "transpose of a matrix"
    assert np.array_equal(m.T.data, m.transpose().data), ".T equals transpose()"
    batch = Tensor(np.zeros((2, 3, 4)))
    assert batch.transpose().shape == (2, 4, 3) and batch.transpose(0, 2).shape == (4, 3, 2), "transpose(dim0, dim1)"
    assert isinstance(m[0], Tensor) and np.array_equal(m[0].data, [1, 2, 3]), "m[0] is the first row, as a Tensor"
    assert np.array_equal(m[:, 1].data, [2, 5]) and m[1, 2].item() == 6, "slices and integer indices"
    assert m.shape == (2, 3) and t.shape == (12,), "inputs keep their shapes"
    print("reshape / transpose / indexing: OK")

test_tensor_shape_ops()
### BEGIN HIDDEN TESTS
assert Tensor([1.0, 2.0]).T.shape == (2,), "a 1-D Tensor transposes to itself"
assert Tensor(np.arange(6)).reshape([3, 2]).shape == (3, 2), "a list shape works"
assert np.array_equal(Tensor([1, 2, 3])[Tensor([True, False, True])].data, [1, 3]), "boolean Tensor masks"
### END HIDDEN TESTS

# %% [markdown]
# ## 7. Reductions and element-wise math
#
# A **reduction** collapses one or more axes into a single number per remaining position: a loss is
# the mean over a batch, a softmax needs the max of each row. `axis=None` reduces everything to a
# 0-d Tensor; `axis=0` collapses the rows (one result per column); `keepdims=True` keeps the
# collapsed axis with size 1, so the result broadcasts straight back against the input:
#
# ```
#   x = [[1, 2, 3],        x.sum()                 -> 21             shape ()
#        [4, 5, 6]]        x.sum(axis=0)           -> [5, 7, 9]      shape (3,)
#                          x.sum(axis=1)           -> [6, 15]        shape (2,)
#                          x.max(axis=1, keepdims=True) -> [[3], [6]] shape (2, 1)
#                          x - x.max(axis=1, keepdims=True) -> [[-2, -1, 0], [-2, -1, 0]]
# ```
#
# `argmax` answers "where is the largest value?" (the predicted class of a classifier). The
# element-wise functions `exp`, `log` and `sqrt` complete the toolbox the losses of module 04 need.
# `mean` of an integer Tensor should return floats, as NumPy does.

# %% nbgrader={"grade": false, "grade_id": "tensor-reductions", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
@_method("sum")
def _sum(self, axis=None, keepdims: bool = False):
    """Sum over `axis` (None = all). EXAMPLE: Tensor([[1, 2], [3, 4]]).sum(axis=0) -> Tensor([4, 6])"""
    ### BEGIN SOLUTION
    return Tensor(np.sum(self.data, axis=axis, keepdims=keepdims))
    ### END SOLUTION


@_method("mean")
def _mean(self, axis=None, keepdims: bool = False):
    """Mean over `axis` (None = all). EXAMPLE: Tensor([[1.0, 2.0], [3.0, 4.0]]).mean() -> Tensor(2.5)"""
    ### BEGIN SOLUTION
    return Tensor(np.mean(self.data, axis=axis, keepdims=keepdims))
    ### END SOLUTION


@_method("max")
def _max(self, axis=None, keepdims: bool = False):
    """Maximum over `axis` (None = all). EXAMPLE: Tensor([[1, 5], [7, 2]]).max(axis=1) -> Tensor([5, 7])"""
    ### BEGIN SOLUTION
    return Tensor(np.max(self.data, axis=axis, keepdims=keepdims))
    ### END SOLUTION


# Given: argmax and the element-wise functions (one NumPy call each).
@_method("argmax")
def _argmax(self, axis=None):
    """Index of the largest value (flattened when axis is None), as an int64 Tensor. Not differentiable."""
    return Tensor(np.argmax(self.data, axis=axis).astype(np.int64))


@_method("exp")
def _exp(self):
    return Tensor(np.exp(self.data))


@_method("log")
def _log(self):
    return Tensor(np.log(self.data))


@_method("sqrt")
def _sqrt(self):
    return Tensor(np.sqrt(self.data))

# %% mutant={"name": "mean-drops-keepdims", "target": "tensor-reductions", "region": 1, "catches": ["test-tensor-reductions"]}
# Forgets to pass keepdims through.
return Tensor(np.mean(self.data, axis=axis))

# %% mutant={"name": "mean-divides-by-size", "target": "tensor-reductions", "region": 1, "catches": ["test-tensor-reductions"]}
# Divides by the total element count even when reducing one axis.
return Tensor(np.sum(self.data, axis=axis, keepdims=keepdims) / self.data.size)

# %% mutant={"name": "max-is-absolute", "target": "tensor-reductions", "region": 2, "catches": ["test-tensor-reductions"]}
# Takes the largest magnitude instead of the largest value.
return Tensor(np.max(np.abs(self.data), axis=axis, keepdims=keepdims))

# %% [markdown]
# The test checks each reduction with `axis=None`, `axis=0`, `axis=1`, negative axes and `keepdims`
# against the worked example, plus `argmax` and the element-wise functions.

# %% nbgrader={"grade": true, "grade_id": "test-tensor-reductions", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
def test_tensor_reductions():
    """sum/mean/max reduce over the requested axis, keepdims keeps it as size 1; argmax/exp/log/sqrt work."""
    x = Tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert isinstance(x.sum(), Tensor) and x.sum().item() == 21, f"sum of everything is 21, got {x.sum()}"
    assert np.allclose(x.sum(axis=0).data, [5, 7, 9]) and np.allclose(x.sum(axis=1).data, [6, 15]), "sum over an axis"
    assert x.sum(axis=1, keepdims=True).shape == (2, 1), "keepdims keeps the reduced axis with size 1"
    assert np.isclose(x.mean().item(), 3.5) and np.allclose(x.mean(axis=0).data, [2.5, 3.5, 4.5]), "mean"
    assert np.allclose(x.max(axis=-1, keepdims=True).data, [[3], [6]]), "max over the last axis, kept"
    assert x.max().item() == 6, "max of everything"
    centred = x - x.max(axis=1, keepdims=True)
    assert np.allclose(centred.data, [[-2, -1, 0], [-2, -1, 0]]), "keepdims results broadcast back"
    assert Tensor([[1, 2], [3, 4]]).mean().dtype.kind == "f", "the mean of ints is a float"
    assert np.array_equal(Tensor([[0.1, 0.9], [0.8, 0.2]]).argmax(axis=1).data, [1, 0]), "argmax per row"
    assert np.allclose(Tensor([0.0, 1.0]).exp().data, [1, np.e]) and np.allclose(Tensor([1.0, np.e]).log().data, [0, 1])
    assert np.allclose(Tensor([4.0, 9.0]).sqrt().data, [2, 3]), "sqrt"
    assert np.allclose(x.data, [[1, 2, 3], [4, 5, 6]]), "the input must not change"
    print("reductions: OK")

test_tensor_reductions()
### BEGIN HIDDEN TESTS
y = Tensor(np.arange(24, dtype=np.float32).reshape(2, 3, 4))
assert y.sum(axis=(0, 2)).shape == (3,) and np.allclose(y.sum(axis=(0, 2)).data, [60, 92, 124]), "tuple axes"
assert y.mean(axis=1, keepdims=True).shape == (2, 1, 4)
assert y.max(axis=0).shape == (3, 4) and y.max(axis=0).data[2, 3] == 23
assert np.allclose(Tensor([[-5.0, -1.0], [2.0, -7.0]]).max(axis=1).data, [-1, 2]), "max of negative values"
### END HIDDEN TESTS

# %% [markdown]
# ### Putting it together
#
# With these few operations you can already write the forward pass of a tiny linear model and its
# mean-squared error, exactly as module 03 and 04 will:

# %%
rng = np.random.default_rng(0)
x = Tensor(rng.standard_normal((4, 3)).astype(np.float32))   # a batch of 4 examples, 3 features
w = Tensor(rng.standard_normal((3, 2)).astype(np.float32))   # weights: 3 inputs -> 2 outputs
b = Tensor(np.zeros(2, dtype=np.float32))
target = Tensor(np.ones((4, 2), dtype=np.float32))
prediction = x @ w + b                                        # (4, 3) @ (3, 2) + (2,) -> (4, 2)
loss = ((prediction - target) ** 2).mean()
print("prediction shape:", prediction.shape)
print("loss:", loss)

# %% [markdown]
# ## 8. Systems analysis: what tensors cost
#
# ### 8.1 Memory: bytes per element
#
# A tensor's memory is simply `size x bytes per element`. The dtype is the knob: halving the bytes
# halves the memory *and* the time spent moving data, which is why inference often runs in float16
# or int8 (module 15). Let us measure a 1000 x 1000 Tensor in each dtype.

# %%
print(f"{'dtype':>8} | {'bytes/elem':>10} | {'1000x1000 (MiB)':>15} | {'a 7B-parameter model (GB)':>26}")
for dt in (np.float64, np.float32, np.float16, np.int64, np.int8, np.bool_):
    t = Tensor(np.zeros((1000, 1000), dtype=dt))
    per = t.data.itemsize
    print(f"{np.dtype(dt).name:>8} | {per:>10} | {t.data.nbytes / 2**20:>15.2f} | {7e9 * per / 1e9:>26.0f}")

# %% [markdown]
# The right-hand column is why dtype matters at scale: the same model needs several times more
# memory in float64 than in int8, and the table above gives the exact factor for each pair.
#
# ### 8.2 Compute: FLOPs of matmul versus element-wise work
#
# Adding two n x n matrices does $n^2$ additions and touches $3n^2$ numbers: one operation per number
# moved. Multiplying them does $n^3$ multiply-adds ($2n^3$ FLOPs) on the same $3n^2$ numbers: the
# work per byte grows with $n$. That ratio (**arithmetic intensity**) decides whether an operation
# is limited by memory bandwidth (element-wise ops) or by arithmetic units (large matmuls). We time
# both and convert to GFLOP/s.

# %%
def median_seconds(fn, repeats: int = 5) -> float:
    """Median wall time of fn() over a few runs, after one warm-up run."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


print(f"{'n':>5} | {'add (ms)':>9} | {'add GFLOP/s':>11} | {'matmul (ms)':>11} | {'matmul GFLOP/s':>14} | {'FLOPs ratio':>11}")
flops_rows = []
for n in (64, 128, 256, 512):
    A = Tensor(rng.standard_normal((n, n)).astype(np.float32))
    B = Tensor(rng.standard_normal((n, n)).astype(np.float32))
    t_add = median_seconds(lambda: A + B)
    t_mm = median_seconds(lambda: A @ B)
    add_flops, mm_flops = n * n, 2 * n ** 3
    flops_rows.append((n, t_add, t_mm))
    print(f"{n:>5} | {t_add * 1e3:>9.3f} | {add_flops / t_add / 1e9:>11.2f} | {t_mm * 1e3:>11.3f} | "
          f"{mm_flops / t_mm / 1e9:>14.2f} | {mm_flops / add_flops:>11.0f}")

# %% [markdown]
# Read the table column by column. The matmul does $2n$ times more FLOPs than the addition (last
# column), yet its time grows far less than that factor at small sizes, because BLAS (the library
# behind `np.matmul`) keeps numbers in the CPU caches and reuses each one $n$ times. The addition's
# GFLOP/s stays low whatever $n$: it is limited by how fast memory delivers the numbers, not by
# arithmetic. Deep-learning hardware is built around this asymmetry.
#
# ### 8.3 Memory order: contiguous versus transposed access
#
# `.T` costs nothing to create, but it changes the order in which memory is read. Summing each row
# of a row-major matrix streams through consecutive bytes; summing each row of its transpose jumps
# a whole row length between neighbours, which wastes most of every cache line fetched. Copying the
# transpose into row-major order first (`np.ascontiguousarray`) pays the reorganisation once.

# %%
n = 2048
M = Tensor(rng.standard_normal((n, n)).astype(np.float32))
MT = M.T
t_rows = median_seconds(lambda: M.sum(axis=1))
t_rows_T = median_seconds(lambda: MT.sum(axis=1))
t_copy = median_seconds(lambda: np.ascontiguousarray(MT.data))
t_copy_plain = median_seconds(lambda: M.data.copy())
print(f"strides of M: {M.data.strides}, of M.T: {MT.data.strides} (bytes)")
print(f"{'operation':>34} | {'ms':>8}")
print(f"{'row sums of M (contiguous)':>34} | {t_rows * 1e3:>8.2f}")
print(f"{'row sums of M.T (strided)':>34} | {t_rows_T * 1e3:>8.2f}")
print(f"{'copy of M (contiguous)':>34} | {t_copy_plain * 1e3:>8.2f}")
print(f"{'contiguous copy of M.T':>34} | {t_copy * 1e3:>8.2f}")
print(f"strided / contiguous row sums: {t_rows_T / t_rows:.1f}x;  transposing copy / plain copy: {t_copy / t_copy_plain:.1f}x")

# %% [markdown]
# The strides printed first explain the timings: stepping along a row of `M.T` jumps
# `n x 4` bytes. NumPy is clever and sometimes reorders loops to soften the penalty, so the ratio
# you see depends on the operation and on your CPU's caches; the transposing copy, which must read
# in one order and write in the other, shows the cost most clearly. Real frameworks track
# contiguity for exactly this reason, and some operations (like `view` in PyTorch) refuse
# non-contiguous inputs.
#
# ## Summary
#
# - A tensor is a block of numbers plus a **shape** and a **dtype**; our `Tensor` wraps a NumPy
#   array and owns every operation on it, which is what lets module 05 add gradients later.
# - Creation follows predictable dtype rules: Python floats become float32, ints int64, bools bool;
#   NumPy arrays keep their dtype; `dtype=` overrides.
# - Element-wise `+ - * /` broadcast by aligning shapes from the right; reflected methods handle a
#   number on the left (and must swap the operands for `-` and `/`).
# - `@` checks the inner dimensions and names both shapes when they disagree.
# - `reshape` (with `-1`), `transpose` and indexing re-read the same memory; reductions take `axis`
#   and `keepdims`, and `keepdims` results broadcast back against their input.
# - Measured: memory is `size x itemsize`; matmul does $2n^3$ FLOPs on $3n^2$ numbers, so it reaches
#   far higher GFLOP/s than element-wise work; strided access and transposing copies are slower than
#   streaming through contiguous memory.
#
# ## Reflection questions
#
# 1. `Tensor([1, 2]) / 2` returns floats but `Tensor([1, 2]) * 2` returns ints. Why is that the right
#    choice, and what could go wrong in a training loop if division of int64 class labels silently
#    rounded?
# 2. A bias of shape `(3,)` broadcasts against activations of shape `(batch, 3)`. Would it also
#    broadcast against `(3, batch)`? What silent bug could a wrongly transposed batch cause?
# 3. Our `reshape` and `transpose` share memory with their input. Write a two-line example in which
#    that sharing surprises someone, and say how a framework could protect against it.
# 4. Using the GFLOP/s you measured for the 512 x 512 matmul, estimate how long one forward pass of a
#    layer with a (1024, 4096) weight takes on a batch of 64. Which other cost did you ignore?
# 5. Why does `x - x.max(axis=1, keepdims=True)` need `keepdims=True`? What shape error (or, worse,
#    silent wrong result) would you get without it for a square matrix?
