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
#     title: Acceleration
#     summary: Write matrix multiplication three ways (Python loops, one vectorized NumPy expression, cache-sized tiles), fuse a linear layer with its ReLU, and measure how far each gets towards NumPy's BLAS and why memory, not arithmetic, sets the pace.
#     tier: optimization
#     minutes: 120
#     prerequisites: [01_tensor, 02_activations, 03_layers, 05_autograd, 14_profiling]
#     objectives:
#       - Count the floating-point operations of a matrix product and turn a timing into GFLOP/s
#       - Implement matrix multiplication with Python loops, with one broadcast NumPy expression, and with cache-sized tiles
#       - Measure the memory hierarchy of your machine with strided and working-set experiments
#       - Fuse Linear + ReLU into one autograd operation that keeps a single array for its backward pass
#       - Compare every implementation with NumPy's BLAS and explain the remaining gap
#     exports: [matmul_loops, matmul_vectorized, matmul_blocked, fused_linear_relu, FusedLinearReLU]
#     milestone: null
# ---

# %% [markdown]
# # Module 18: Acceleration
#
# Every layer you have built so far spends most of its time in one operation: the matrix product.
# `Linear` is `x @ W`, a convolution becomes a matrix product after im2col, attention is two matrix
# products around a softmax. So the speed of your whole framework is, to a first approximation, the speed
# of `@`.
#
# Your `Tensor.__matmul__` calls NumPy, and NumPy hands the product to a **BLAS** library (Basic Linear
# Algebra Subprograms): hand-tuned compiled code written by people who know the exact cache sizes and
# vector instructions of your CPU. In this module we open that black box by writing matrix
# multiplication ourselves, three times, each time removing one bottleneck:
#
# 1. **Python loops**: the textbook definition, one multiply-add per interpreter step.
# 2. **Vectorized**: one NumPy expression, no Python loop at all, but a huge temporary array.
# 3. **Blocked (tiled)**: loops over small tiles whose working data fits in the CPU cache.
#
# Then we look at the other half of performance, **memory traffic**, and use it to build a **fused**
# `Linear + ReLU` operation that does the same arithmetic while touching (and keeping) less memory.
#
# ## Learning objectives
#
# - Count the floating-point operations of a matrix product and turn a timing into GFLOP/s.
# - Implement matrix multiplication with Python loops, with one broadcast NumPy expression, and with
#   cache-sized tiles.
# - Measure the memory hierarchy of your machine with strided and working-set experiments.
# - Fuse `Linear + ReLU` into one autograd operation that keeps a single array for its backward pass.
# - Compare every implementation with NumPy's BLAS and explain the remaining gap.

# %%
#| default_exp perf.acceleration

# %%
#| export
import numpy as np

from tinytorch.core.tensor import Tensor
from tinytorch.core.layers import Linear
from tinytorch.core.autograd import Function, track

# %%
#| hide
import time
import tracemalloc
from pathlib import Path

from tinytorch.core.activations import ReLU
from tinytorch.core.layers import Sequential
from tinytorch.core.autograd import check_gradients, no_grad
from tinytorch.perf.profiling import measure_latency

np.set_printoptions(precision=4, suppress=True)


def peak_bytes(fn):
    """Peak memory (bytes) allocated while fn() runs, as seen by tracemalloc (NumPy reports to it)."""
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

# %% [markdown]
# ## 1. How much work is a matrix product?
#
# `C = A @ B` with `A` of shape `(n, k)` and `B` of shape `(k, m)` computes `n * m` outputs, each a dot
# product of length `k`:
#
# ```
#   C[i, j] = A[i, 0]*B[0, j] + A[i, 1]*B[1, j] + ... + A[i, k-1]*B[k-1, j]
#                                                          k multiplies + k adds
#
#               B (k x m)
#              [ b . . ]
#              [ b . . ]          row i of A  .  column j of B  ->  C[i, j]
#              [ b . . ]
#   A (n x k) [a a a]  C [c . .]
#             [. . .]    [. . .]
# ```
#
# So the product costs `2 n k m` floating-point operations (FLOPs). A worked example:
#
# ```
#   [1 2]   [5 6]   [1*5 + 2*7   1*6 + 2*8]   [19 22]
#   [3 4] @ [7 8] = [3*5 + 4*7   3*6 + 4*8] = [43 50]        2 * 2 * 2 * 2 = 16 FLOPs
# ```
#
# Divide the FLOPs by the measured time and you get **GFLOP/s** (billions of FLOPs per second), the
# number that lets us compare implementations across sizes. A square product of size `n = 1000` is two
# billion FLOPs: at 1 GFLOP/s it takes two seconds, at 100 GFLOP/s twenty milliseconds.

# %%
#| export
def matmul_flops(n: int, k: int, m: int) -> int:
    """Floating-point operations of an (n, k) @ (k, m) product: one multiply and one add per term."""
    return 2 * int(n) * int(k) * int(m)


def gflops(n: int, k: int, m: int, seconds: float) -> float:
    """Achieved speed in GFLOP/s of an (n, k) @ (k, m) product that took `seconds`."""
    return matmul_flops(n, k, m) / seconds / 1e9


def _as_matrix(x, name: str) -> np.ndarray:
    data = x.data if isinstance(x, Tensor) else np.asarray(x)
    if data.ndim != 2:
        raise ValueError(f"{name} must be a 2-D matrix, got shape {data.shape}")
    return data


def _check_shapes(A, B):
    A, B = _as_matrix(A, "A"), _as_matrix(B, "B")
    if A.shape[1] != B.shape[0]:
        raise ValueError(f"cannot multiply {A.shape} by {B.shape}: inner dimensions {A.shape[1]} != {B.shape[0]}")
    return A, B

# %% [markdown]
# ## 2. Version 1: three Python loops
#
# The definition, written out. Two loops pick the output cell `(i, j)`, the third walks along the shared
# dimension and accumulates. We convert the arrays to nested Python lists first: indexing a NumPy array
# one element at a time (`A[i, p]`) builds a new NumPy scalar object on every access and is several
# times slower than indexing a list. Even so, every multiply-add costs an interpreter round trip:
# fetch two values, look up their types, allocate a float for the product, another for the sum.

# %% nbgrader={"grade": false, "grade_id": "matmul-loops", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def matmul_loops(A, B) -> np.ndarray:
    """Matrix product with three nested Python loops (arrays or Tensors in, NumPy array out).

    EXAMPLE: matmul_loops([[1, 2], [3, 4]], [[5, 6], [7, 8]]) -> [[19, 22], [43, 50]]
    HINTS:
    - a and b below are nested lists: a[i][p] is A[i, p].
    - For every (i, j): start a running sum s = 0.0, add a[i][p] * b[p][j] for p in range(k),
      then store s in c[i][j].
    """
    A, B = _check_shapes(A, B)
    n, k = A.shape
    m = B.shape[1]
    a, b = A.tolist(), B.tolist()
    c = [[0.0] * m for _ in range(n)]
    ### BEGIN SOLUTION
    for i in range(n):
        a_i, c_i = a[i], c[i]
        for j in range(m):
            s = 0.0
            for p in range(k):
                s += a_i[p] * b[p][j]
            c_i[j] = s
    ### END SOLUTION
    return np.array(c, dtype=np.result_type(A.dtype, B.dtype, np.float32))

# %% nbgrader={"grade": true, "grade_id": "test-matmul-loops", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
def test_matmul_loops():
    """The worked example, a rectangular product against NumPy, and a shape error."""
    C = matmul_loops([[1.0, 2.0], [3.0, 4.0]], [[5.0, 6.0], [7.0, 8.0]])
    assert np.allclose(C, [[19, 22], [43, 50]]), f"worked example should give [[19, 22], [43, 50]], got {C}"
    rng = np.random.default_rng(0)
    A, B = rng.normal(size=(5, 3)), rng.normal(size=(3, 4))
    C = matmul_loops(A, B)
    assert C.shape == (5, 4), f"(5, 3) @ (3, 4) must be (5, 4), got {C.shape}"
    assert np.allclose(C, A @ B, atol=1e-12), "matmul_loops disagrees with A @ B on a random (5,3)@(3,4) product"
    assert np.allclose(matmul_loops(Tensor(A), Tensor(B)), A @ B), "Tensors must be accepted too"
    try:
        matmul_loops(A, A)
        raise AssertionError("(5, 3) @ (5, 3) must raise ValueError")
    except ValueError:
        pass
    assert matmul_flops(5, 3, 4) == 120, "2 * 5 * 3 * 4 = 120 FLOPs"
    print("matmul_loops: OK")
test_matmul_loops()

# %% [markdown]
# The test checks the worked example, a random rectangular product against `A @ B`, that Tensors work,
# and that mismatched shapes are refused.
#
# ## 3. Version 2: vectorized, no Python loop at all
#
# NumPy runs loops in compiled C when we express the whole computation as array operations. Here is
# the trick for a matrix product: **broadcasting** can form all `n * k * m` products at once.
#
# ```
#   A[:, :, None]    shape (n, k, 1)        A[i, p] repeated along j
#   B[None, :, :]    shape (1, k, m)        B[p, j] repeated along i
#   product          shape (n, k, m)        T[i, p, j] = A[i, p] * B[p, j]
#   .sum(axis=1)     shape (n, m)           C[i, j] = sum over p
# ```
#
# No interpreter overhead per multiply-add any more. But notice the price: the temporary `T` holds
# `n * k * m` numbers. For `n = k = m = 256` in float64 that is 256^3 * 8 bytes = 134 MB, written to memory
# and read back, just to be summed. Keep an eye on this; it is the theme of the rest of the module.

# %% nbgrader={"grade": false, "grade_id": "matmul-vectorized", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def matmul_vectorized(A, B) -> np.ndarray:
    """Matrix product as ONE broadcast NumPy expression: no Python loop, no `@`/np.dot/np.matmul/einsum.

    HINT: A[:, :, None] * B[None, :, :] has shape (n, k, m); sum it over the middle axis.
    """
    A, B = _check_shapes(A, B)
    ### BEGIN SOLUTION
    return (A[:, :, None] * B[None, :, :]).sum(axis=1)
    ### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "test-matmul-vectorized", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
def test_matmul_vectorized():
    """Agreement with NumPy, and evidence that the work happens in one vectorized expression."""
    C = matmul_vectorized(np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[5.0, 6.0], [7.0, 8.0]]))
    assert np.allclose(C, [[19, 22], [43, 50]]), f"worked example should give [[19, 22], [43, 50]], got {C}"
    rng = np.random.default_rng(1)
    A, B = rng.normal(size=(7, 5)), rng.normal(size=(5, 3))
    assert np.allclose(matmul_vectorized(A, B), A @ B, atol=1e-12), "matmul_vectorized disagrees with A @ B"
    # a vectorized product of (64, 64) @ (64, 64) should beat the loop version by a wide margin
    A, B = rng.normal(size=(64, 64)), rng.normal(size=(64, 64))
    t_vec = measure_latency(lambda: matmul_vectorized(A, B), warmup=1, repeats=3)["median"]
    t_loop = measure_latency(lambda: matmul_loops(A[:32, :32], B[:32, :32]), warmup=0, repeats=1)["median"] * 8  # n^3 scaling
    assert t_vec < t_loop / 3, f"vectorized took {t_vec * 1e3:.1f} ms, loops ~{t_loop * 1e3:.1f} ms: is there a Python loop left?"
    print(f"matmul_vectorized: OK ({t_loop / t_vec:.0f}x faster than the loops at n = 64)")
test_matmul_vectorized()

# %% [markdown]
# Besides agreeing with `A @ B`, the test times your function at `n = 64` against the loop version
# (timed at `n = 32` and scaled by `2^3 = 8`, because the loops take `n^3` steps) and requires a
# clear win.
#
# ## 4. Where does the time go? The memory hierarchy
#
# A modern core can do several multiply-adds per nanosecond, but fetching a number from main memory
# (DRAM) takes on the order of a hundred nanoseconds. Caches bridge that gap: small, fast memories next
# to the core that keep recently used data.
#
# ```
#    core (registers)      a few hundred bytes     ~1 cycle
#       |
#    L1 cache              tens of KB              a few cycles
#       |
#    L2 cache              hundreds of KB to MBs   ~10-20 cycles
#       |
#    L3 cache              MBs to tens of MBs      ~40-80 cycles, shared by the cores
#       |
#    main memory (DRAM)    GBs                     ~100+ ns
# ```
#
# Data moves between these levels in **cache lines** of 64 bytes: ask for one float64 and you receive
# it together with its seven neighbours. Two rules follow:
#
# - **Spatial locality**: use the neighbours you paid for (walk memory contiguously).
# - **Temporal locality**: reuse data while it is still in cache (work on pieces small enough to fit).
#
# Here are the caches of the machine running this notebook, read from the operating system (Linux only):

# %%
def cache_sizes():
    """{'L1d': '48K', ...} from Linux sysfs, or {} where that is not available."""
    out = {}
    base = Path("/sys/devices/system/cpu/cpu0/cache")
    for idx in sorted(base.glob("index*")) if base.exists() else []:
        try:
            level = (idx / "level").read_text().strip()
            kind = (idx / "type").read_text().strip()
            size = (idx / "size").read_text().strip()
        except OSError:
            continue
        if kind != "Instruction":
            out[f"L{level}" + ("d" if kind == "Data" else "")] = size
    return out

print(cache_sizes() or "cache sizes are not exposed on this system")

# %% [markdown]
# ### Experiment 1: spatial locality
#
# We sum the same number of elements (2^20 float64 values) but take every `s`-th element of a bigger
# array. With stride 1 each 64-byte line delivers 8 useful numbers; with stride 8 or more, each number
# costs a whole line of memory traffic.

# %%
rng = np.random.default_rng(0)
big = rng.normal(size=16 * 2**20)                 # 128 MB of float64, larger than any cache
N = 2**20
stride_ns = {}
print(f"{'stride':>6s} {'bytes spanned':>14s} {'ns per element':>15s}")
for s in (1, 2, 4, 8, 16):
    view = big[: N * s : s]
    t = measure_latency(view.sum, warmup=1, repeats=5)["median"]
    stride_ns[s] = t / N * 1e9
    print(f"{s:6d} {N * s * 8 / 1e6:11.0f} MB {stride_ns[s]:15.3f}")
print(f"same work, stride 16 costs {stride_ns[16] / stride_ns[1]:.1f}x as much as stride 1")

# %% [markdown]
# The arithmetic is identical in every row: one addition per element. Only the memory traffic changes,
# and the time follows it: it grows as the same elements are spread over more cache lines, and levels
# off once every element sits on a line of its own (from stride 8 for float64), because from there on
# each element costs exactly one line.
#
# ### Experiment 2: temporal locality
#
# Now we sum an array of a given size over and over (the same number of bytes in total) and report the
# bandwidth. While the array fits in a cache, repeated passes are served from that cache.

# %%
ws_gbs = {}
print(f"{'working set':>12s} {'GB/s':>8s}")
for kb in (64, 256, 1024, 4096, 16384, 65536):
    arr = big[: kb * 1024 // 8].copy()
    reps = max(1, 2**23 // arr.size)
    t = measure_latency(lambda: [arr.sum() for _ in range(reps)], warmup=1, repeats=3)["median"]
    ws_gbs[kb] = arr.nbytes * reps / t / 1e9
    print(f"{kb:9d} KB {ws_gbs[kb]:8.1f}")
best = max(ws_gbs, key=ws_gbs.get)
print(f"in cache ({best} KB): {ws_gbs[best]:.1f} GB/s, from DRAM (65536 KB): {ws_gbs[65536]:.1f} GB/s "
      f"-> {ws_gbs[best] / ws_gbs[65536]:.1f}x")
del big, arr

# %% [markdown]
# Compare the drop with the cache sizes printed above: once the working set outgrows the last-level
# cache, every pass streams from DRAM. (The smallest sizes are slowed by the fixed cost of each
# `sum` call rather than by memory.)
#
# This is exactly what hurts `matmul_vectorized`: its `(n, k, m)` temporary is written once, read once,
# and is far too big to stay in cache. The fix is to compute the product **piece by piece**.
#
# ## 5. Version 3: blocked (tiled) matrix multiplication
#
# Split the matrices into square tiles of `b x b`. The output tile `C[I, J]` is the sum over the shared
# tiles `P` of small products `A[I, P] @ B[P, J]`:
#
# ```
#        B:  [B00 B01]            C00 = A00 @ B00 + A01 @ B10
#            [B10 B11]            C01 = A00 @ B01 + A01 @ B11
#                                 C10 = A10 @ B00 + A11 @ B10
#   A: [A00 A01]   C: [C00 C01]   C11 = A10 @ B01 + A11 @ B11
#      [A10 A11]      [C10 C11]
# ```
#
# Each small product uses your vectorized kernel, so its temporary is only `b^3` numbers (for `b = 64`,
# 64^3 * 8 bytes = 2 MB instead of 134 MB at `n = 256`): small enough to stay in cache while it is summed.
# The cost is `(n/b)^3` Python-level steps, so `b` trades interpreter overhead (tiles too small) against
# cache misses (tiles too big). Tiles at the edges may be smaller when `b` does not divide the size;
# NumPy slicing past the end simply returns the shorter piece.

# %% nbgrader={"grade": false, "grade_id": "matmul-blocked", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def matmul_blocked(A, B, block_size: int = 64) -> np.ndarray:
    """Matrix product computed tile by tile: C[I, J] += matmul_vectorized(A[I, P], B[P, J]).

    Works for any sizes (edge tiles may be smaller than block_size).
    HINTS:
    - Three loops: i0 over range(0, n, bs), j0 over range(0, m, bs), p0 over range(0, k, bs).
    - A[i0:i0 + bs, p0:p0 + bs] is a tile (shorter at the edges, NumPy handles that).
    - Accumulate into C[i0:i0 + bs, j0:j0 + bs] with +=.
    """
    A, B = _check_shapes(A, B)
    if block_size < 1:
        raise ValueError(f"block_size must be >= 1, got {block_size}")
    n, k = A.shape
    m = B.shape[1]
    bs = int(block_size)
    C = np.zeros((n, m), dtype=np.result_type(A.dtype, B.dtype))
    ### BEGIN SOLUTION
    for i0 in range(0, n, bs):
        for j0 in range(0, m, bs):
            tile = C[i0:i0 + bs, j0:j0 + bs]
            for p0 in range(0, k, bs):
                tile += matmul_vectorized(A[i0:i0 + bs, p0:p0 + bs], B[p0:p0 + bs, j0:j0 + bs])
    ### END SOLUTION
    return C

# %% nbgrader={"grade": true, "grade_id": "test-matmul-blocked", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
def test_matmul_blocked():
    """Correct for divisible and ragged sizes, and its memory is bounded by the tile, not the matrix."""
    rng = np.random.default_rng(2)
    A, B = rng.normal(size=(8, 8)), rng.normal(size=(8, 8))
    assert np.allclose(matmul_blocked(A, B, block_size=4), A @ B, atol=1e-12), "8x8 with 4x4 tiles is wrong"
    A, B = rng.normal(size=(10, 7)), rng.normal(size=(7, 13))
    for bs in (1, 3, 4, 16):
        C = matmul_blocked(A, B, block_size=bs)
        assert C.shape == (10, 13), f"block_size={bs}: shape should be (10, 13), got {C.shape}"
        assert np.allclose(C, A @ B, atol=1e-12), f"block_size={bs}: ragged edge tiles are handled wrongly"
    A, B = rng.normal(size=(128, 128)), rng.normal(size=(128, 128))
    full = peak_bytes(lambda: matmul_vectorized(A, B))
    tiled = peak_bytes(lambda: matmul_blocked(A, B, block_size=16))
    assert tiled < full / 20, (f"blocked product with 16x16 tiles peaked at {tiled / 1e6:.2f} MB vs "
                               f"{full / 1e6:.2f} MB for the one-shot version: are you really working tile by tile?")
    print(f"matmul_blocked: OK (peak memory {tiled / 1e3:.0f} KB vs {full / 1e6:.1f} MB unblocked)")
test_matmul_blocked()
### BEGIN HIDDEN TESTS
_rng = np.random.default_rng(20)
_A, _B = _rng.normal(size=(5, 9)).astype(np.float32), _rng.normal(size=(9, 2)).astype(np.float32)
assert np.allclose(matmul_blocked(_A, _B, 100), _A @ _B, atol=1e-5), "a tile larger than the matrix is one tile"
assert np.allclose(matmul_blocked(Tensor(_A), Tensor(_B), 2), _A @ _B, atol=1e-5), "Tensors must work too"
assert np.allclose(matmul_blocked(np.ones((3, 1)), np.ones((1, 4)), 2), 3 * [4 * [1.0]]), "k = 1 (outer product)"
### END HIDDEN TESTS

# %% [markdown]
# The test checks divisible and ragged sizes (block sizes 1, 3, 4 and 16 on a 10x7 @ 7x13 product)
# and uses `tracemalloc` to confirm that the blocked version's peak memory is a small fraction of the
# one-shot vectorized version's: the signature of working tile by tile.
#
# ## 6. Fusion: doing less memory traffic per layer
#
# A linear layer followed by ReLU, the way our framework runs it, makes three passes over memory and
# allocates three arrays of shape `(N, out)`:
#
# ```
#   z1 = x @ W          pass 1: write z1                       (kept by autograd for nothing)
#   z2 = z1 + b         pass 2: read z1, write z2              (kept by autograd for ReLU's backward)
#   y  = relu(z2)       pass 3: read z2, write y
# ```
#
# A **fused** operation does the same arithmetic in one node: it adds the bias and applies the ReLU
# in place on the matmul result, so one array is allocated and each element is touched while it is
# still hot in cache. Compilers for deep learning (XLA, TorchInductor, TVM) spend much of their effort
# finding chains like this and generating one loop for them.
#
# The backward pass needs less too. ReLU's derivative is `1` where the output is positive and `0`
# elsewhere, and that can be read off the **output** `y` itself (`y > 0` exactly where `z2 > 0`). So the
# fused node keeps `y` (which exists anyway, it is the result) and nothing else:
#
# ```
#   g  = grad_y * (y > 0)       gradient reaching z = x @ W + b
#   dx = g @ W.T      dW = x.T @ g      db = g summed over the rows
# ```
#
# With a batch axis (`x` of shape `(B, T, in)`), flatten every leading axis into rows before forming
# `dW` and `db`.

# %% nbgrader={"grade": false, "grade_id": "fused-backward", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class FusedLinearReLUBackward(Function):
    """Backward of y = relu(x @ W + b), using only the inputs and the saved output y."""

    def __init__(self, x: Tensor, weight: Tensor, bias, out: np.ndarray):
        super().__init__(*((x, weight) if bias is None else (x, weight, bias)))
        self.out = out

    def backward(self, grad_output: np.ndarray) -> tuple:
        """Return (dx, dW) or (dx, dW, db), each shaped like its input.

        HINTS:
        - g = grad_output * (self.out > 0)
        - dx = g @ W.T has x's shape already (it works for any leading axes).
        - For dW and db flatten the leading axes: g2 = g.reshape(-1, out_features),
          x2 = x.reshape(-1, in_features); dW = x2.T @ g2, db = g2.sum(axis=0).
        """
        x, W = self.inputs[0].data, self.inputs[1].data
        ### BEGIN SOLUTION
        g = grad_output * (self.out > 0)
        dx = g @ W.T
        g2 = g.reshape(-1, W.shape[1])
        dW = x.reshape(-1, W.shape[0]).T @ g2
        grads = (dx, dW)
        if len(self.inputs) == 3:
            grads = grads + (g2.sum(axis=0),)
        ### END SOLUTION
        return grads

# %% [markdown]
# And the forward pass. `track` (module 05) connects the result to the graph; your job is the one
# allocation and the two in-place passes.

# %% nbgrader={"grade": false, "grade_id": "fused-forward", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def fused_linear_relu(x: Tensor, weight: Tensor, bias=None) -> Tensor:
    """relu(x @ weight + bias) as ONE autograd node that allocates one (..., out) array.

    x: (..., in_features) Tensor, weight: (in_features, out_features) Tensor, bias: (out_features,) Tensor or None.
    EXAMPLE: x = [[2, 1]], weight = [[1, 2], [3, 4]], bias = [1, -10]: x @ W + b = [[6, -2]] -> [[6, 0]]
    HINTS:
    - z = x.data @ weight.data creates the only new array; then work in place:
      z += bias.data (if there is a bias) and np.maximum(z, 0, out=z).
    """
    if not isinstance(x, Tensor):
        x = Tensor(x)
    if x.shape[-1] != weight.shape[0]:
        raise ValueError(f"fused_linear_relu: input {x.shape} does not match weight {weight.shape}")
    ### BEGIN SOLUTION
    z = x.data @ weight.data
    if bias is not None:
        z += bias.data
    np.maximum(z, 0, out=z)
    ### END SOLUTION
    return track(Tensor(z), FusedLinearReLUBackward(x, weight, bias, z))


class FusedLinearReLU(Linear):
    """A drop-in replacement for Sequential(Linear(i, o), ReLU()) that runs as one fused operation."""

    def forward(self, x: Tensor) -> Tensor:
        return fused_linear_relu(x, self.weight, self.bias)

    def __repr__(self) -> str:
        return f"FusedLinearReLU(in_features={self.in_features}, out_features={self.out_features})"

# %% nbgrader={"grade": true, "grade_id": "test-fused-forward", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
def test_fused_forward():
    """Values equal relu(x @ W + b) for 2-D and 3-D inputs, with and without bias."""
    rng = np.random.default_rng(3)
    x = Tensor(rng.normal(size=(6, 4)).astype(np.float32))
    W = Tensor(rng.normal(size=(4, 5)).astype(np.float32))
    b = Tensor(rng.normal(size=5).astype(np.float32))
    y = fused_linear_relu(x, W, b)
    ref = np.maximum(x.data @ W.data + b.data, 0)
    assert y.shape == (6, 5), f"(6, 4) through a 4->5 layer gives (6, 5), got {y.shape}"
    assert np.allclose(y.data, ref, atol=1e-5), "fused output differs from relu(x @ W + b)"
    assert (y.data == 0).any() and (y.data > 0).any(), "ReLU must zero the negatives and keep the positives"
    assert np.allclose(fused_linear_relu(x, W).data, np.maximum(x.data @ W.data, 0), atol=1e-5), "bias=None must work"
    x3 = Tensor(rng.normal(size=(2, 3, 4)).astype(np.float32))
    assert np.allclose(fused_linear_relu(x3, W, b).data, np.maximum(x3.data @ W.data + b.data, 0), atol=1e-5), \
        "a (B, T, in) input must work like a batch of rows"
    assert y.data.dtype == np.float32, f"float32 in, float32 out; got {y.data.dtype}"
    print("fused_linear_relu forward: OK")
test_fused_forward()

# %% [markdown]
# That test checks the values against `relu(x @ W + b)` for 2-D and 3-D inputs, with and without a bias,
# and that float32 stays float32. The next one checks the backward pass and the memory the node keeps.

# %% nbgrader={"grade": true, "grade_id": "test-fused-backward", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
def test_fused_backward():
    """Gradients match numerical ones, match the unfused layers, and the graph keeps one array."""
    rng = np.random.default_rng(4)
    x = Tensor(rng.normal(size=(3, 4)), requires_grad=True)
    W = Tensor(rng.normal(size=(4, 5)), requires_grad=True)
    b = Tensor(rng.normal(size=5), requires_grad=True)
    check_gradients(fused_linear_relu, x, W, b)
    x3 = Tensor(rng.normal(size=(2, 3, 4)), requires_grad=True)
    check_gradients(fused_linear_relu, x3, W, b)
    # same gradients as Sequential(Linear, ReLU) with the same weights
    np.random.seed(0)
    fused = FusedLinearReLU(4, 6)
    plain = Sequential(Linear(4, 6), ReLU())
    plain[0].weight.data[...] = fused.weight.data
    plain[0].bias.data[...] = rng.normal(size=6)
    fused.bias.data[...] = plain[0].bias.data
    xin = rng.normal(size=(8, 4)).astype(np.float32)
    for model in (fused, plain):
        model(Tensor(xin)).sum().backward()
    assert np.allclose(fused.weight.grad.data, plain[0].weight.grad.data, atol=1e-5), "dW differs from the unfused layers"
    assert np.allclose(fused.bias.grad.data, plain[0].bias.grad.data, atol=1e-5), "db differs from the unfused layers"
    # memory kept alive by the graph: the fused node allocates only its output
    big_x = Tensor(rng.normal(size=(2048, 4)).astype(np.float32), requires_grad=True)
    tracemalloc.start()
    y = fused(big_x)
    kept = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    assert kept < 1.5 * y.data.nbytes, f"the fused forward kept {kept} bytes for a {y.data.nbytes}-byte output"
    print("fused_linear_relu backward: OK")
test_fused_backward()
### BEGIN HIDDEN TESTS
_rng = np.random.default_rng(40)
_x = Tensor(_rng.normal(size=(4, 3)), requires_grad=True)
_W = Tensor(_rng.normal(size=(3, 2)), requires_grad=True)
check_gradients(lambda a, w: fused_linear_relu(a, w), _x, _W)
_W.data[...] = -np.abs(_W.data); _xp = Tensor(np.abs(_x.data), requires_grad=True)
fused_linear_relu(_xp, _W).sum().backward()
assert np.allclose(_xp.grad.data, 0) and np.allclose(_W.grad.data, 0), "all outputs clipped -> all gradients 0"
### END HIDDEN TESTS

# %% [markdown]
# The test runs `check_gradients` on 2-D and 3-D inputs, checks that `FusedLinearReLU` produces the same
# weight and bias gradients as `Sequential(Linear, ReLU)`, and measures with `tracemalloc` that a forward
# pass with gradients on keeps no more memory than its own output.
#
# ## 7. Systems analysis
#
# ### The race: every implementation against BLAS
#
# We time each implementation at the sizes it can handle in reasonable time (the loops only on small
# matrices) and report GFLOP/s and the fraction of NumPy's `@` (BLAS) speed at the same size.

# %%
sizes = (32, 64, 128, 256)
impls = {
    "loops": (matmul_loops, 64),
    "vectorized": (matmul_vectorized, 256),
    "blocked b=64": (lambda A, B: matmul_blocked(A, B, 64), 256),
    "numpy @ (BLAS)": (lambda A, B: A @ B, 256),
}
speed = {}
print(f"{'implementation':16s}" + "".join(f"{'n=' + str(n):>18s}" for n in sizes))
for name, (fn, max_n) in impls.items():
    row = f"{name:16s}"
    for n in sizes:
        if n > max_n:
            row += f"{'-':>18s}"
            continue
        A, B = rng.normal(size=(n, n)), rng.normal(size=(n, n))
        reps = 1 if name == "loops" else (20 if "BLAS" in name else 3)
        t = measure_latency(lambda: fn(A, B), warmup=0 if name == "loops" else 1, repeats=reps)["median"]
        speed[name, n] = gflops(n, n, n, t)
        row += f"{speed[name, n]:9.3f} GFLOP/s"
    print(row)
print()
for n in sizes:
    parts = [f"{name} {speed[name, n] / speed['numpy @ (BLAS)', n]:7.2%}" for name, _ in impls.items()
             if (name, n) in speed and "BLAS" not in name]
    print(f"n={n:3d}  share of BLAS speed: " + ",  ".join(parts))
print(f"\nat n=64, BLAS is {speed['numpy @ (BLAS)', 64] / speed['loops', 64]:,.0f}x faster than the Python loops")

# %% [markdown]
# Read the table from top to bottom: each version removes one bottleneck. Removing the interpreter
# from the inner loop (vectorized) gives the largest jump. Tiling keeps the temporaries in cache, so the
# blocked version holds its speed as `n` grows, while the one-shot version's temporary outgrows the
# caches. Yet even our best version stays far below BLAS. The remaining gap is the work of the library
# authors:
#
# - **no temporaries at all**: BLAS accumulates each output in CPU *registers*; our kernel still writes
#   `b^3` products to memory before summing them,
# - **SIMD**: one instruction multiplies 4-16 numbers at once (fused multiply-add units),
# - **multi-level blocking**: tiles for registers, L1, L2 and L3, with the data repacked into the order
#   the inner kernel reads it,
# - **threads**: the work is split across all cores (this machine has the count printed below).

# %%
import os
print("cores visible to this process:", os.cpu_count())

# %% [markdown]
# ### Memory: what the temporaries cost
#
# `tracemalloc` sees every array NumPy allocates. Here is the peak memory of each version at `n = 256`.

# %%
n = 256
A, B = rng.normal(size=(n, n)), rng.normal(size=(n, n))
peaks = {"vectorized": peak_bytes(lambda: matmul_vectorized(A, B))}
for bs in (16, 64):
    peaks[f"blocked b={bs}"] = peak_bytes(lambda: matmul_blocked(A, B, bs))
peaks["numpy @ (BLAS)"] = peak_bytes(lambda: A @ B)
print(f"output C alone: {n * n * 8 / 1e6:.2f} MB")
for name, p in peaks.items():
    print(f"{name:16s} peak {p / 1e6:9.2f} MB")
print(f"the one-shot temporary is {peaks['vectorized'] / peaks['blocked b=64']:.0f}x the blocked peak")

# %% [markdown]
# ### The block size: overhead versus cache
#
# The tile size is a tuning knob. Small tiles mean many Python-level iterations; large tiles mean large
# temporaries. We sweep it at `n = 256`; the last row (`b = 256`) is a single tile, i.e. the one-shot
# vectorized version.

# %%
A, B = rng.normal(size=(256, 256)), rng.normal(size=(256, 256))
sweep = {}
print(f"{'block':>6s} {'tiles':>6s} {'temp per tile':>14s} {'GFLOP/s':>8s}")
for bs in (8, 16, 32, 64, 128, 256):
    t = measure_latency(lambda: matmul_blocked(A, B, bs), warmup=1, repeats=3)["median"]
    sweep[bs] = gflops(256, 256, 256, t)
    print(f"{bs:6d} {(256 // bs) ** 3:6d} {bs ** 3 * 8 / 1e3:11.0f} KB {sweep[bs]:8.2f}")
best_bs = max(sweep, key=sweep.get)
print(f"best block size here: {best_bs} ({sweep[best_bs] / sweep[8]:.1f}x faster than b=8, "
      f"{sweep[best_bs] / sweep[256]:.2f}x the single-tile speed)")

# %% [markdown]
# At `b = 8` there are tens of thousands of tiny NumPy calls and the interpreter dominates. As the tiles
# grow, the overhead fades, but the per-tile temporary grows as `b^3`: once it spills out of the faster
# caches (compare with the sizes printed in section 4), the speed stops improving or falls. Real libraries pick their block sizes
# from the cache sizes in exactly this way, often by running a sweep like this one at install time.
#
# ### Fusion: memory kept and time spent
#
# Finally, the fused layer against `Sequential(Linear, ReLU)` on a batch of 4096 rows, with gradients
# on: memory kept alive by the graph after the forward pass, and the time of a forward + backward step.
# We use a narrow layer (32 -> 256) so the matmul is cheap and the element-wise passes matter.

# %%
np.random.seed(1)
fused = FusedLinearReLU(32, 256)
plain = Sequential(Linear(32, 256), ReLU())
plain[0].weight.data[...] = fused.weight.data
xbig = Tensor(rng.normal(size=(4096, 32)).astype(np.float32), requires_grad=True)


def kept_bytes(model):
    tracemalloc.start()
    y = model(xbig)
    kept = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return kept, y.data.nbytes


def step(model):
    model(xbig).sum().backward()
    for p in (xbig, *model.parameters()):
        p.grad = None


results = {}
for name, model in (("Linear + ReLU", plain), ("FusedLinearReLU", fused)):
    kept, out_bytes = kept_bytes(model)
    t_fwd = measure_latency(lambda: model(xbig), warmup=1, repeats=7)["median"]
    t_step = measure_latency(lambda: step(model), warmup=1, repeats=7)["median"]
    results[name] = (kept, t_fwd, t_step)
    print(f"{name:16s} graph keeps {kept / 1e6:6.2f} MB ({kept / out_bytes:.1f}x the output)   "
          f"forward {t_fwd * 1e3:6.2f} ms   forward+backward {t_step * 1e3:6.2f} ms")
(k0, f0, s0), (k1, f1, s1) = results["Linear + ReLU"], results["FusedLinearReLU"]
print(f"fusion: {k0 / k1:.1f}x less memory kept, forward {f0 / f1:.2f}x and forward+backward {s0 / s1:.2f}x the speed")

# %% [markdown]
# The memory saving is structural: the unfused graph holds three `(4096, 256)` arrays, the fused one a
# single array. The time saving is smaller and depends on the machine, because NumPy still runs the
# bias add and the ReLU as separate (in-place) passes; a compiler that generates one loop for the whole
# chain would also save those. In a deep network the memory kept per layer is what limits the batch size
# you can train with, which is why fusion matters even when it barely changes the speed.
#
# ## Summary
#
# - A matrix product costs `2 n k m` FLOPs; GFLOP/s = FLOPs / seconds makes implementations comparable.
# - **Python loops** pay interpreter overhead on every multiply-add.
# - **Vectorizing** moves the loops into compiled code, but a naive broadcast creates an `n k m`
#   temporary that overflows every cache.
# - Memory is hierarchical: contiguous access (**spatial locality**) and reuse of small working sets
#   (**temporal locality**) decide the speed once the interpreter is out of the way.
# - **Blocking** computes the product tile by tile so the working data fits in cache; the tile size
#   trades overhead against cache misses.
# - **Fusion** merges a chain of operations into one node: fewer arrays allocated, fewer passes over
#   memory, and less memory kept for the backward pass.
# - **BLAS** combines register blocking, SIMD, multi-level tiling and threads; that is why `@` is the
#   operation to build everything else on.
#
# ## Reflection questions
#
# 1. The loop version's inner loop walks `b[p][j]` down a column of `B`. How would you reorder the three
#    loops (or transpose `B` first) so that the innermost loop walks memory contiguously for both inputs?
#    Would it help much in pure Python? Why would it help a lot in C?
# 2. Another vectorized formulation loops over `p` only, adding the outer product `A[:, p:p+1] * B[p]`
#    to `C` each time. Estimate its temporary size and its number of Python iterations, then time it
#    against your two versions.
# 3. The fused backward uses `out > 0` instead of the pre-activation. Which other activations allow this
#    trick (derivative computable from the output alone)? Which do not?
# 4. Arithmetic intensity is FLOPs per byte moved. Compute it for an `(n, n) @ (n, n)` product and for
#    an element-wise `x + y` of `n^2` elements. Which of the two can ever run at the CPU's peak FLOP rate,
#    and what limits the other?
# 5. Your `Tensor.__matmul__` already calls BLAS. Where in a Transformer training step would you look for
#    the next speed-up, given what this module measured?
