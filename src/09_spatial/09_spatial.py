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
#     title: Spatial Layers (Convolution and Pooling)
#     summary: Build 2-D convolution twice, first with plain loops and then as one matrix product (im2col), add its backward pass, pooling and flattening, and measure why the fast version is the one every framework uses.
#     tier: architecture
#     minutes: 150
#     prerequisites: [01_tensor, 03_layers, 05_autograd]
#     objectives:
#       - Explain locality and weight sharing, and compute output sizes for any kernel, stride and padding
#       - Implement Conv2d with nested loops, then with im2col as a single matrix product, and measure the speed-up
#       - Derive and implement the convolution backward pass with col2im, verified against numerical gradients
#       - Build MaxPool2d, AvgPool2d and Flatten as autograd-aware modules in NCHW layout
#       - Count parameters, FLOPs, im2col memory and receptive fields for a LeNet-style network
#     exports: [Conv2d, MaxPool2d, AvgPool2d, Flatten]
#     milestone: 04_cnn
# ---

# %% [markdown]
# # Module 09: Spatial Layers (Convolution and Pooling)
#
# Give a `Linear` layer a 32x32 colour image and it sees 3,072 unrelated numbers. Connecting them to
# just 256 hidden units costs 786,432 weights, and the layer has to learn separately that a vertical
# edge in the top-left corner and a vertical edge in the bottom-right corner are the same thing.
#
# Images have structure that a fully connected layer ignores:
#
# - **Locality**: what a pixel means depends mostly on its neighbours. An edge, a corner, a stroke
#   of a digit are all visible in a small window.
# - **Translation**: a pattern means the same thing wherever it appears.
#
# A **convolution** builds both in. It slides one small filter (say 3x3) over the whole image and
# computes the same weighted sum at every position. The filter's 9 weights are **shared** by all
# positions, so a layer with 16 filters on a grey image needs 16·9 + 16 = 160 parameters, whatever
# the image size. Stacking convolutions and **pooling** (keeping the strongest response in each small
# window) lets later layers see larger and larger parts of the image: strokes, then loops, then digits.
#
# This module builds the layers of LeNet, the network that read cheques in the 1990s and that you will
# train in milestone 04.
#
# **What you will build** (in `tinytorch.core.spatial`, layout NCHW: batch, channels, height, width)
#
# | piece | role |
# |---|---|
# | `conv_output_size` | the size formula for any kernel, stride and padding |
# | `conv2d_loops` | convolution written as plain loops: the definition, slow |
# | `im2col`, `col2im` | unfold image patches into rows of a matrix, and fold them back |
# | `conv2d_forward` + `Conv2dBackward` | convolution as one matrix product, with its gradient |
# | `Conv2d`, `MaxPool2d`, `AvgPool2d`, `Flatten` | the layers, as autograd-aware `Module`s |
# | `BatchNorm2d` | per-channel normalisation with training and running (eval) statistics |
# | `receptive_field`, `conv2d_flops` | the numbers that describe a CNN's cost and reach |
#
# **Learning objectives**
#
# - Explain locality and weight sharing, and compute output sizes for any kernel, stride and padding.
# - Implement `Conv2d` with nested loops, then with im2col as a single matrix product, and measure the speed-up.
# - Derive and implement the convolution backward pass with col2im, verified against numerical gradients.
# - Build `MaxPool2d`, `AvgPool2d` and `Flatten` as autograd-aware modules in NCHW layout.
# - Count parameters, FLOPs, im2col memory and receptive fields for a LeNet-style network.

# %%
#| default_exp core.spatial

# %%
#| export
import numpy as np

from tinytorch.core.tensor import Tensor
from tinytorch.core.layers import Module
from tinytorch.core.autograd import Function, track

# %%
#| hide
import time

from tinytorch.core.autograd import check_gradients, no_grad
from tinytorch.core.layers import Linear, Sequential

np.set_printoptions(precision=3, suppress=True)


def median_time(fn, repeats=5):
    """Median wall time of fn() in seconds, after one warm-up call."""
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))

# %% [markdown]
# ## 1. The idea: one filter, slid over the image
#
# A worked example with one channel. The 3x3 filter below responds to vertical edges (bright on the
# left, dark on the right). At each position we multiply the window element-wise by the filter and
# add up the nine products:
#
# ```
#  input x (4x4)         filter w (3x3)       output (2x2)
#  ┌─────────────┐
#  │ 1  2  0 │ 1 │       │ 1  0  -1 │          position (0,0):
#  │ 0  1  3 │ 1 │   *   │ 1  0  -1 │   ->       1·1 + 2·0 + 0·(-1)
#  │ 2  1  0 │ 0 │       │ 1  0  -1 │          + 0·1 + 1·0 + 3·(-1)
#  ├─────────┘   │                             + 2·1 + 1·0 + 0·(-1)  = 1 - 3 + 2 = 0
#  │ 1  0  1   2 │                           [[ 0,  2],
#  └─────────────┘                            [-1, -1]]
# ```
#
# (Deep-learning "convolution" does not flip the filter; mathematicians call this cross-correlation.
# Since the filter is learned, the difference does not matter.)
#
# With **several input channels** (an RGB image, or the 16 feature maps of a previous layer), a filter
# has one 3x3 slice per input channel and adds up over all of them. With **several output channels**
# there is one such filter per output channel. So the weight has shape
# `(out_channels, in_channels, kh, kw)` and the bias `(out_channels,)`.
#
# Two knobs change the geometry:
#
# - **padding** `p` adds a border of zeros, so windows can be centred on edge pixels too;
# - **stride** `s` moves the window `s` pixels at a time, shrinking the output.
#
# $$\text{out} = \left\lfloor \frac{\text{in} + 2p - k}{s} \right\rfloor + 1$$
#
# ```
#  in=4, k=3, p=0, s=1 -> (4 - 3)/1 + 1 = 2          (the example above)
#  in=4, k=3, p=1, s=1 -> (4 + 2 - 3)/1 + 1 = 4      "same" padding: size kept
#  in=7, k=3, p=1, s=2 -> floor(6/2) + 1 = 4         stride 2 roughly halves
# ```
#
# If the formula gives less than 1, the kernel does not fit even once: that is an error.

# %% nbgrader={"grade": false, "grade_id": "output-size", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def conv_output_size(size: int, kernel: int, stride: int = 1, padding: int = 0) -> int:
    """Output length along one axis: floor((size + 2 * padding - kernel) / stride) + 1.

    Raises ValueError if the (padded) input is smaller than the kernel.
    EXAMPLE: conv_output_size(7, 3, stride=2, padding=1) -> 4
    """
    ### BEGIN SOLUTION
    out = (size + 2 * padding - kernel) // stride + 1
    if size + 2 * padding < kernel or out < 1:
        raise ValueError(f"kernel {kernel} does not fit an input of size {size} with padding {padding}")
    return out
    ### END SOLUTION


def _pair(v, name="kernel_size") -> tuple:
    """3 -> (3, 3); (3, 5) -> (3, 5); rejects non-positive sizes."""
    pair = (int(v), int(v)) if np.isscalar(v) else tuple(int(a) for a in v)
    if len(pair) != 2 or min(pair) < 1:
        raise ValueError(f"{name} must be a positive int or a pair of them, got {v!r}")
    return pair

# %% mutant={"name": "output-size-no-padding", "target": "output-size", "replace": "(size + 2 * padding - kernel)", "catches": ["test-output-size"]}
# Forgets the padding in the output size.
(size - kernel)

# %% mutant={"name": "output-size-one-side-padding", "target": "output-size", "replace": "(size + 2 * padding - kernel)", "catches": ["test-output-size"]}
# Counts the padding once instead of on both sides.
(size + padding - kernel)

# %% nbgrader={"grade": true, "grade_id": "test-output-size", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
def test_output_size():
    """The size formula on the worked examples, plus the error for a kernel that does not fit."""
    cases = [((4, 3, 1, 0), 2), ((4, 3, 1, 1), 4), ((7, 3, 2, 1), 4), ((32, 5, 1, 0), 28), ((28, 2, 2, 0), 14), ((5, 2, 2, 0), 2)]
    for (n, k, s, p), want in cases:
        got = conv_output_size(n, k, s, p)
        assert got == want, f"conv_output_size(size={n}, kernel={k}, stride={s}, padding={p}) should be {want}, got {got}"
    try:
        conv_output_size(2, 3)
        raise AssertionError("a 3-wide kernel on a 2-wide input (no padding) must raise ValueError")
    except ValueError:
        pass
    print("conv_output_size: OK")

test_output_size()
### BEGIN HIDDEN TESTS
assert conv_output_size(2, 3, padding=1) == 2, "padding can make a kernel fit"
assert conv_output_size(1, 1) == 1
### END HIDDEN TESTS

# %% [markdown]
# ## 2. Convolution with loops: the definition
#
# First the straightforward version, exactly as the picture says: for every image `n`, output
# channel `o` and output position `(i, j)`, take the window of the padded input that starts at
# `(i·s, j·s)`, across **all** input channels, multiply it by filter `o` and sum. Let NumPy do the
# multiply-and-sum of one window (`np.sum(window * w[o])`), and write the four loops around it
# yourself.
#
# ```
#  x_padded[n, :, i*s : i*s + kh, j*s : j*s + kw]     window, shape (C, kh, kw)
#  w[o]                                               filter, shape (C, kh, kw)
#  out[n, o, i, j] = sum(window * w[o]) + b[o]
# ```
#
# This function is the **reference**: slow, but so simple that we trust it, and everything faster
# is tested against it.

# %% nbgrader={"grade": false, "grade_id": "conv-loops", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def pad2d(x: np.ndarray, padding: int) -> np.ndarray:
    """Zero-pad the last two axes of an (N, C, H, W) array by `padding` on every side."""
    if padding == 0:
        return x
    return np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))


def conv2d_loops(x: np.ndarray, w: np.ndarray, b=None, stride: int = 1, padding: int = 0) -> np.ndarray:
    """Reference convolution. x (N, C, H, W), w (O, C, kh, kw), b (O,) or None -> (N, O, OH, OW)."""
    N, C, H, W = x.shape
    O, C_w, kh, kw = w.shape
    if C != C_w:
        raise ValueError(f"input has {C} channels but the filters expect {C_w}")
    OH, OW = conv_output_size(H, kh, stride, padding), conv_output_size(W, kw, stride, padding)
    xp = pad2d(x, padding)
    out = np.zeros((N, O, OH, OW), dtype=np.result_type(x, w))
    ### BEGIN SOLUTION
    for n in range(N):
        for o in range(O):
            for i in range(OH):
                for j in range(OW):
                    window = xp[n, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
                    out[n, o, i, j] = np.sum(window * w[o])
            if b is not None:
                out[n, o] += b[o]
    ### END SOLUTION
    return out

# %% mutant={"name": "loops-ignore-stride", "target": "conv-loops", "replace": "window = xp[n, :, i * stride:i * stride + kh, j * stride:j * stride + kw]", "catches": ["test-conv-loops"]}
# Slides the window one pixel at a time whatever the stride.
window = xp[n, :, i:i + kh, j:j + kw]

# %% mutant={"name": "loops-bias-per-channel-input", "target": "conv-loops", "replace": "out[n, o] += b[o]", "catches": ["test-conv-loops"]}
# Adds the bias once per output pixel row instead of to every pixel (a broadcasting slip).
out[n, o, 0] += b[o]

# %% [markdown]
# The test reproduces the worked example, checks "same" padding and stride 2 on it, and a case with
# 2 input and 3 output channels and a bias against a computation by hand.

# %% nbgrader={"grade": true, "grade_id": "test-conv-loops", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
X_EXAMPLE = np.array([[1, 2, 0, 1], [0, 1, 3, 1], [2, 1, 0, 0], [1, 0, 1, 2]], dtype=np.float64)[None, None]
W_EDGE = np.array([[1, 0, -1]] * 3, dtype=np.float64)[None, None]


def test_conv_loops():
    """The loop convolution matches the worked example, padding, stride, channels and bias."""
    out = conv2d_loops(X_EXAMPLE, W_EDGE)
    assert out.shape == (1, 1, 2, 2), f"4x4 input, 3x3 filter -> (1, 1, 2, 2), got {out.shape}"
    assert np.allclose(out[0, 0], [[0, 2], [-1, -1]]), f"worked example: expected [[0, 2], [-1, -1]], got {out[0, 0]}"
    same = conv2d_loops(X_EXAMPLE, W_EDGE, padding=1)
    assert same.shape == (1, 1, 4, 4), f"padding=1 keeps 4x4, got {same.shape}"
    assert np.allclose(same[0, 0, 1:3, 1:3], out[0, 0]), "the centre of the padded result equals the unpadded result"
    assert np.isclose(same[0, 0, 0, 0], -3), f"corner (0,0) with zero padding: 0·1 + ... = -(2 + 1) = -3, got {same[0, 0, 0, 0]}"
    strided = conv2d_loops(X_EXAMPLE, W_EDGE, stride=2, padding=1)
    assert strided.shape == (1, 1, 2, 2) and np.allclose(strided[0, 0], same[0, 0, ::2, ::2]), \
        "stride 2 keeps every second output of stride 1"
    x = np.arange(2 * 3 * 3, dtype=np.float64).reshape(1, 2, 3, 3)
    w = np.zeros((3, 2, 2, 2))
    w[0, 0, 0, 0] = 1          # filter 0: top-left pixel of channel 0
    w[1, 1] = 1                # filter 1: sum of the 2x2 window of channel 1
    w[2] = -1                  # filter 2: minus the sum over both channels
    b = np.array([0.0, 10.0, 0.0])
    out = conv2d_loops(x, w, b)
    assert out.shape == (1, 3, 2, 2), f"expected (1, 3, 2, 2), got {out.shape}"
    assert np.allclose(out[0, 0], x[0, 0, :2, :2]), f"filter 0 copies the top-left pixels, got {out[0, 0]}"
    assert np.isclose(out[0, 1, 0, 0], 9 + 10 + 12 + 13 + 10), f"filter 1 at (0,0): 9+10+12+13 + bias 10 = 54, got {out[0, 1, 0, 0]}"
    assert np.isclose(out[0, 1, 1, 1], 13 + 14 + 16 + 17 + 10), f"the bias is added at every position: expected 70 at (1,1), got {out[0, 1, 1, 1]}"
    assert np.isclose(out[0, 2, 1, 1], -(4 + 5 + 7 + 8 + 13 + 14 + 16 + 17)), "filter 2 sums over BOTH input channels"
    print("conv2d_loops: OK\n", out[0, 0])

test_conv_loops()
### BEGIN HIDDEN TESTS
_o = conv2d_loops(np.ones((2, 1, 5, 5)), np.ones((1, 1, 3, 1)), stride=2)
assert _o.shape == (2, 1, 2, 3) and np.allclose(_o, 3), "non-square kernel and a batch of 2"
### END HIDDEN TESTS

# %% [markdown]
# ## 3. im2col: convolution as one matrix product
#
# The loop version runs `N · O · OH · OW` tiny NumPy calls. For one 32x32 image with 16 channels in
# and out, that is 16,384 calls of 144 multiply-adds each: the Python overhead of each call dwarfs the
# arithmetic. The trick every framework uses is to rearrange the data so that the whole convolution
# becomes **one matrix multiplication**, which NumPy hands to a BLAS library that runs at close to the
# CPU's peak.
#
# **im2col** ("image to columns") copies every window into one row of a matrix:
#
# ```
#  x (N, C, H, W)  ──im2col──►  cols (N·OH·OW, C·kh·kw)     one row per output position,
#                                                            one column per (channel, ki, kj)
#  w (O, C, kh, kw) ──reshape──► W (O, C·kh·kw)
#
#  out = cols @ W.T + b   (N·OH·OW, O)  ──reshape──► (N, OH, OW, O) ──transpose──► (N, O, OH, OW)
# ```
#
# For the worked example (N = C = 1, 3x3 kernel, 2x2 output) `cols` is 4 x 9, one row per window:
#
# ```
#  row (0,0): 1 2 0  0 1 3  2 1 0       @  W.T = [1 0 -1 1 0 -1 1 0 -1].T  ->  0
#  row (0,1): 2 0 1  1 3 1  1 0 0                                          ->  2
#  row (1,0): 0 1 3  2 1 0  1 0 1                                          -> -1
#  row (1,1): 1 3 1  1 0 0  0 1 2                                          -> -1
# ```
#
# **How to fill `cols` fast.** Instead of looping over the `OH·OW` windows, loop over the `kh·kw`
# positions *inside* the kernel. For kernel offset `(ki, kj)`, the pixels it touches across all
# windows form one strided slice of the padded input:
#
# ```
#  xp[:, :, ki : ki + s·(OH-1) + 1 : s,  kj : kj + s·(OW-1) + 1 : s]     shape (N, C, OH, OW)
# ```
#
# That is only `kh·kw` (9 for a 3x3 kernel) large NumPy copies. We write them into a buffer laid out as
# `(N, OH, OW, C, kh, kw)`, so that a plain `reshape` turns it into `(N·OH·OW, C·kh·kw)` with rows in
# (n, i, j) order and columns in (c, ki, kj) order, the same order as `w.reshape(O, -1)`. Writing the
# slice into that layout needs the channel axis moved last: use a channels-last view of the padded
# input, `xp.transpose(0, 2, 3, 1)`, and slice axes 1 and 2 of it instead.

# %% nbgrader={"grade": false, "grade_id": "im2col", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def im2col(x: np.ndarray, kh: int, kw: int, stride: int = 1, padding: int = 0) -> np.ndarray:
    """Unfold every (C, kh, kw) window of x (N, C, H, W) into a row: returns (N*OH*OW, C*kh*kw).

    Row order: n, then i, then j (output positions). Column order: c, then ki, then kj.
    HINTS: xt = pad2d(x, padding).transpose(0, 2, 3, 1)            (N, Hp, Wp, C) view
           cols = np.empty((N, OH, OW, C, kh, kw), x.dtype)
           for ki, kj: cols[:, :, :, :, ki, kj] = xt[:, ki:ki + stride*(OH-1) + 1:stride, kj:...:stride, :]
    """
    N, C, H, W = x.shape
    OH, OW = conv_output_size(H, kh, stride, padding), conv_output_size(W, kw, stride, padding)
    ### BEGIN SOLUTION
    xt = pad2d(x, padding).transpose(0, 2, 3, 1)
    cols = np.empty((N, OH, OW, C, kh, kw), dtype=x.dtype)
    for ki in range(kh):
        for kj in range(kw):
            cols[:, :, :, :, ki, kj] = xt[:, ki:ki + stride * (OH - 1) + 1:stride,
                                          kj:kj + stride * (OW - 1) + 1:stride, :]
    ### END SOLUTION
    return cols.reshape(N * OH * OW, C * kh * kw)

# %% mutant={"name": "im2col-ignores-stride", "target": "im2col", "catches": ["test-im2col"]}
# Takes every window position one pixel apart, whatever the stride.
xt = pad2d(x, padding).transpose(0, 2, 3, 1)
cols = np.empty((N, OH, OW, C, kh, kw), dtype=x.dtype)
for ki in range(kh):
    for kj in range(kw):
        cols[:, :, :, :, ki, kj] = xt[:, ki:ki + OH, kj:kj + OW, :]

# %% [markdown]
# The test checks the 4 x 9 matrix of the worked example, row and column order with two channels,
# and padding with stride.

# %% nbgrader={"grade": true, "grade_id": "test-im2col", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
def test_im2col():
    """im2col rows are windows in (n, i, j) order with columns in (c, ki, kj) order."""
    cols = im2col(X_EXAMPLE, 3, 3)
    assert cols.shape == (4, 9), f"4 windows of 9 values: expected (4, 9), got {cols.shape}"
    assert np.array_equal(cols[0], [1, 2, 0, 0, 1, 3, 2, 1, 0]), f"row (0,0) is the top-left window, got {cols[0]}"
    assert np.array_equal(cols[3], [1, 3, 1, 1, 0, 0, 0, 1, 2]), f"row (1,1) is the bottom-right window, got {cols[3]}"
    assert np.allclose(cols @ W_EDGE.reshape(1, -1).T, [[0], [2], [-1], [-1]]), "cols @ W.T gives the worked example"
    x = np.arange(2 * 2 * 3 * 3, dtype=np.float32).reshape(2, 2, 3, 3)
    c2 = im2col(x, 2, 2)
    assert c2.shape == (2 * 2 * 2, 2 * 2 * 2) and c2.dtype == np.float32, f"expected float32 (8, 8), got {c2.dtype} {c2.shape}"
    assert np.array_equal(c2[0], [0, 1, 3, 4, 9, 10, 12, 13]), f"columns: channel 0's window, then channel 1's; got {c2[0]}"
    assert np.array_equal(c2[5], x[1, :, 0:2, 1:3].reshape(-1)), "row 5 = image 1, position (0, 1)"
    cp = im2col(X_EXAMPLE, 3, 3, stride=2, padding=1)
    assert cp.shape == (4, 9) and np.array_equal(cp[0], [0, 0, 0, 0, 1, 2, 0, 0, 1]), f"padded top-left window, got {cp[0]}"
    print("im2col: OK\n", cols)

test_im2col()
### BEGIN HIDDEN TESTS
_x = np.random.default_rng(0).standard_normal((2, 3, 6, 5))
_c = im2col(_x, 3, 2, stride=2, padding=1)
_xp = np.pad(_x, ((0, 0), (0, 0), (1, 1), (1, 1)))
assert _c.shape == (2 * 3 * 3, 18) and np.allclose(_c[4], _xp[0, :, 2:5, 2:4].reshape(-1)), "stride, padding, non-square kernel"
### END HIDDEN TESTS

# %% [markdown]
# Now the forward pass is three lines: unfold, multiply, fold the result back into NCHW. We return
# `cols` too, because the backward pass needs it (section 5).

# %% nbgrader={"grade": false, "grade_id": "conv-forward", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def conv2d_forward(x: np.ndarray, w: np.ndarray, b=None, stride: int = 1, padding: int = 0):
    """Convolution via im2col. Returns (out (N, O, OH, OW), cols (N*OH*OW, C*kh*kw)).

    HINT: out = cols @ w.reshape(O, -1).T (+ b), then reshape to (N, OH, OW, O) and transpose to NCHW.
    """
    N, C, H, W = x.shape
    O, C_w, kh, kw = w.shape
    if C != C_w:
        raise ValueError(f"input has {C} channels but the filters expect {C_w}")
    OH, OW = conv_output_size(H, kh, stride, padding), conv_output_size(W, kw, stride, padding)
    ### BEGIN SOLUTION
    cols = im2col(x, kh, kw, stride, padding)
    out = cols @ w.reshape(O, -1).T
    if b is not None:
        out = out + b
    out = out.reshape(N, OH, OW, O).transpose(0, 3, 1, 2)
    ### END SOLUTION
    return out, cols

# %% mutant={"name": "conv-forward-weight-not-transposed", "target": "conv-forward", "replace": "cols @ w.reshape(O, -1).T", "catches": ["test-conv-forward"]}
# Reshapes the weight to (C*kh*kw, O) directly, scrambling which numbers belong to which filter.
cols @ w.reshape(-1, O)

# %% mutant={"name": "conv-forward-nhwc-output", "target": "conv-forward", "replace": "out.reshape(N, OH, OW, O).transpose(0, 3, 1, 2)", "catches": ["test-conv-forward"]}
# Reshapes straight to (N, O, OH, OW) without moving the channel axis.
out.reshape(N, O, OH, OW)

# %% [markdown]
# The test compares with the loop reference on random data for several strides, paddings and
# kernel shapes.

# %% nbgrader={"grade": true, "grade_id": "test-conv-forward", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
def test_conv_forward():
    """im2col convolution equals the loop reference for every stride/padding/kernel combination."""
    rng = np.random.default_rng(0)
    for (N, C, H, W), (O, kh, kw), s, p in [((1, 1, 4, 4), (1, 3, 3), 1, 0), ((2, 3, 7, 6), (4, 3, 2), 2, 1),
                                            ((3, 2, 5, 5), (5, 1, 1), 1, 0), ((2, 4, 8, 8), (3, 3, 3), 3, 2)]:
        x = rng.standard_normal((N, C, H, W))
        w = rng.standard_normal((O, C, kh, kw))
        b = rng.standard_normal(O)
        want = conv2d_loops(x, w, b, s, p)
        got, cols = conv2d_forward(x, w, b, s, p)
        assert got.shape == want.shape, f"shape {got.shape} but the loop version gives {want.shape} (stride {s}, padding {p})"
        assert np.allclose(got, want), f"values differ from conv2d_loops for x {x.shape}, w {w.shape}, stride {s}, padding {p}"
        assert cols.shape == (got.shape[0] * got.shape[2] * got.shape[3], C * kh * kw), "cols has one row per output position"
    out32, _ = conv2d_forward(np.ones((1, 2, 3, 3), np.float32), np.ones((1, 2, 3, 3), np.float32))
    assert out32.dtype == np.float32 and np.isclose(out32[0, 0, 0, 0], 18), "float32 stays float32"
    print("conv2d_forward (im2col) matches the loops: OK")

test_conv_forward()
### BEGIN HIDDEN TESTS
_x = np.random.default_rng(5).standard_normal((1, 2, 5, 5))
_w = np.random.default_rng(6).standard_normal((3, 2, 3, 3))
assert np.allclose(conv2d_forward(_x, _w, None, 2, 2)[0], conv2d_loops(_x, _w, None, 2, 2)), "no bias"
### END HIDDEN TESTS

# %% [markdown]
# ## 4. How much faster?
#
# Our target for a usable CNN layer: on one 32x32 image with 16 input and 16 output channels and a
# 3x3 kernel, im2col should be **at least 10x** faster than the loops. The cell below checks that
# both give the same numbers and prints the speed-up it measures (median of several runs for im2col,
# one run of the slow loops). The grade depends only on correctness: a busy machine changes timings,
# never results.

# %% nbgrader={"grade": true, "grade_id": "test-speedup", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
def test_speedup():
    """im2col and the loops agree on a 1x16x32x32 input (and with stride 2); the speed-up is printed, not graded.

    Timing depends on the machine and on what else it is doing, so the test never asserts on it:
    `benchmarks/bench_cnn_vs_torch.py` records the figure.
    """
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 16, 32, 32)).astype(np.float32)
    w = rng.standard_normal((16, 16, 3, 3)).astype(np.float32)
    t0 = time.perf_counter()
    slow = conv2d_loops(x, w, None, 1, 1)
    t_loops = time.perf_counter() - t0
    t_fast = median_time(lambda: conv2d_forward(x, w, None, 1, 1), repeats=7)
    fast, _ = conv2d_forward(x, w, None, 1, 1)
    assert np.allclose(fast, slow, atol=1e-3), "both versions must give the same result"
    speedup = t_loops / t_fast
    print(f"loops {t_loops * 1e3:.1f} ms, im2col {t_fast * 1e3:.2f} ms: {speedup:.0f}x faster")
    strided, _ = conv2d_forward(x[:, :, :9, :9], w, None, 2, 0)
    assert np.allclose(strided, conv2d_loops(x[:, :, :9, :9], w, None, 2, 0), atol=1e-3), "stride 2 must agree too"

test_speedup()

# %% [markdown]
# Why so large a gap for the *same* arithmetic? The loop version spends almost all its time in the
# Python interpreter and in NumPy's per-call overhead (creating the window view, the product array,
# the sum), about a microsecond or more per call, against nanoseconds for 144 multiply-adds. im2col
# does 9 big copies and one matrix product, and the matrix product runs in optimised BLAS code that
# uses SIMD instructions and the CPU caches well. The cost of the trick is memory: `cols` is about
# `kh·kw` times larger than the input (section 10.2 measures it).
#
# ## 5. The backward pass
#
# Forward was `out = cols @ Wm.T + b` with `Wm = w.reshape(O, -1)`. Let `G` be the incoming gradient
# `dL/d out` rearranged the same way as `out`, i.e. `(N·OH·OW, O)`:
# `G = grad_output.transpose(0, 2, 3, 1).reshape(-1, O)`. The matrix-product rules of module 05 give:
#
# ```
#  dL/dWm   = G.T @ cols           (O, C·kh·kw)      -> reshape to w.shape
#  dL/db    = G.sum(axis=0)        (O,)              the bias was added to every row
#  dL/dcols = G @ Wm               (N·OH·OW, C·kh·kw)
# ```
#
# The last one is the gradient with respect to the *unfolded* input. Each pixel of `x` was copied into
# `cols` several times (once for every window that contains it), and by the sum-over-paths rule its
# gradient is the **sum** of the gradients of all its copies. **col2im** does that: it walks the same
# `kh·kw` strided slices as im2col, but **adds** into them instead of copying out of them, then cuts
# the padding away:
#
# ```
#  1-D example: x = [a, b, c], kernel 2, stride 1  ->  cols = [[a, b],      dcols = [[1, 2],
#                                                             [b, c]]                [3, 4]]
#  col2im(dcols) = [1, 2 + 3, 4] = [1, 5, 4]    (b appears in both windows: its gradients add)
# ```
#
# col2im is the **adjoint** (transpose) of im2col: for any `x` and any `C`,
# `sum(im2col(x) * C) == sum(x * col2im(C))`. The test uses exactly this identity.

# %% nbgrader={"grade": false, "grade_id": "col2im", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def col2im(cols: np.ndarray, x_shape, kh: int, kw: int, stride: int = 1, padding: int = 0) -> np.ndarray:
    """Fold rows back into an image, ADDING overlapping contributions: the adjoint of im2col.

    cols (N*OH*OW, C*kh*kw) -> array of shape x_shape = (N, C, H, W)
    HINTS: c6 = cols.reshape(N, OH, OW, C, kh, kw);
           acc = np.zeros((N, H + 2p, W + 2p, C)) (channels last, like im2col's view);
           for ki, kj: acc[:, ki:...:stride, kj:...:stride, :] += c6[:, :, :, :, ki, kj];
           finally transpose to (N, C, Hp, Wp) and cut the padding off.
    """
    N, C, H, W = x_shape
    OH, OW = conv_output_size(H, kh, stride, padding), conv_output_size(W, kw, stride, padding)
    ### BEGIN SOLUTION
    c6 = cols.reshape(N, OH, OW, C, kh, kw)
    acc = np.zeros((N, H + 2 * padding, W + 2 * padding, C), dtype=cols.dtype)
    for ki in range(kh):
        for kj in range(kw):
            acc[:, ki:ki + stride * (OH - 1) + 1:stride, kj:kj + stride * (OW - 1) + 1:stride, :] += c6[:, :, :, :, ki, kj]
    out = acc.transpose(0, 3, 1, 2)
    return np.ascontiguousarray(out[:, :, padding:padding + H, padding:padding + W])
    ### END SOLUTION

# %% mutant={"name": "col2im-assigns", "target": "col2im", "replace": "+= c6[:, :, :, :, ki, kj]", "catches": ["test-col2im"]}
# Assigns instead of adding: pixels covered by several windows keep only the last contribution.
= c6[:, :, :, :, ki, kj]

# %% mutant={"name": "col2im-keeps-padding", "target": "col2im", "replace": "return np.ascontiguousarray(out[:, :, padding:padding + H, padding:padding + W])", "catches": ["test-col2im"]}
# Forgets to cut the padding off again.
return np.ascontiguousarray(out[:, :, :H, :W])

# %% nbgrader={"grade": true, "grade_id": "test-col2im", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
def test_col2im():
    """col2im adds overlapping windows back, and is the adjoint of im2col."""
    ones = col2im(np.ones((4, 9)), (1, 1, 4, 4), 3, 3)
    counts = [[1, 2, 2, 1], [2, 4, 4, 2], [2, 4, 4, 2], [1, 2, 2, 1]]
    assert ones.shape == (1, 1, 4, 4), f"expected shape (1, 1, 4, 4), got {ones.shape}"
    assert np.allclose(ones[0, 0], counts), f"folding all-ones counts how many windows cover each pixel:\n{counts}\ngot\n{ones[0, 0]}"
    rng = np.random.default_rng(0)
    for shape, (kh, kw), s, p in [((2, 3, 6, 5), (3, 2), 2, 1), ((1, 2, 5, 5), (3, 3), 1, 1), ((2, 1, 7, 7), (2, 2), 3, 0)]:
        x = rng.standard_normal(shape)
        cols = im2col(x, kh, kw, s, p)
        C = rng.standard_normal(cols.shape)
        back = col2im(C, shape, kh, kw, s, p)
        assert back.shape == shape, f"col2im must return x's shape {shape}, got {back.shape}"
        assert np.isclose(np.sum(cols * C), np.sum(x * back)), \
            f"adjoint identity sum(im2col(x) * C) == sum(x * col2im(C)) fails for x {shape}, kernel {(kh, kw)}, stride {s}, padding {p}"
    print("col2im: OK\n", ones[0, 0])

test_col2im()
### BEGIN HIDDEN TESTS
_one = col2im(np.array([[1.0, 2.0], [3.0, 4.0]]), (1, 1, 1, 3), 1, 2)
assert np.allclose(_one.ravel(), [1, 5, 4]), "the 1-D example from the text"
### END HIDDEN TESTS

# %% [markdown]
# Now the autograd `Function` (module 05). It records the input, the weight and the bias (the bias may
# be `None`; autograd skips it), and keeps `cols` from the forward pass so the weight gradient is one
# matrix product. Two details matter for speed:
#
# - the gradient for `x` is only needed if `x` requires grad. The first layer's input is the data
#   itself, and skipping its `col2im` saves work on every training step;
# - `backward` must return one entry per input, in order: `(dx, dw, db)`, with `None` where no
#   gradient is needed.

# %% nbgrader={"grade": false, "grade_id": "conv-backward", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class Conv2dBackward(Function):
    """Gradients of out = conv2d(x, weight, bias) via the saved im2col matrix."""

    def __init__(self, x, weight, bias, cols, stride, padding):
        super().__init__(x, weight, bias)
        self.cols, self.stride, self.padding = cols, stride, padding

    def backward(self, grad_output):
        x, weight, bias = self.inputs
        O, C, kh, kw = weight.shape
        G = np.asarray(grad_output).transpose(0, 2, 3, 1).reshape(-1, O)     # (N*OH*OW, O)
        dx = dw = db = None
        ### BEGIN SOLUTION
        dw = (G.T @ self.cols).reshape(weight.shape)
        if bias is not None:
            db = G.sum(axis=0)
        if isinstance(x, Tensor) and x.requires_grad:
            dcols = G @ weight.data.reshape(O, -1)
            dx = col2im(dcols, x.shape, kh, kw, self.stride, self.padding)
        ### END SOLUTION
        return dx, dw, db

# %% mutant={"name": "conv-backward-bias-mean", "target": "conv-backward", "replace": "db = G.sum(axis=0)", "catches": ["test-conv-backward"]}
# Averages the bias gradient over positions instead of summing.
db = G.mean(axis=0)

# %% mutant={"name": "conv-backward-dw-untransposed", "target": "conv-backward", "replace": "dw = (G.T @ self.cols).reshape(weight.shape)", "catches": ["test-conv-backward"]}
# Computes cols.T @ G, the (C*kh*kw, O) layout, and reshapes it as if it were (O, C*kh*kw).
dw = (self.cols.T @ G).reshape(weight.shape)

# %% [markdown]
# ## 6. The `Conv2d` layer
#
# The module owns the parameters and connects the pieces: `weight` of shape
# `(out_channels, in_channels, kh, kw)` and `bias` of shape `(out_channels,)`. It is initialised like
# `Linear` in module 03 with He scaling, where the **fan-in** of one output value is
# `in_channels · kh · kw` (that is how many products it sums). With `rng=None` it draws from NumPy's
# global generator, so `np.random.seed(...)` makes a whole model reproducible.
#
# `forward` checks the input, runs `conv2d_forward` on the arrays, and records a `Conv2dBackward` with
# `track`, exactly like the embedding layer of module 11 does.

# %%
#| export
def _as_rng(rng):
    """None -> NumPy's global generator; an int -> a new seeded Generator; a Generator -> itself."""
    if rng is None:
        return np.random
    if isinstance(rng, (int, np.integer)):
        return np.random.default_rng(int(rng))
    return rng


def _check_nchw(x, name):
    if not isinstance(x, Tensor):
        x = Tensor(np.asarray(x))
    if x.ndim != 4:
        raise ValueError(f"{name} expects an (N, C, H, W) input, got shape {x.shape}")
    return x


class Conv2d(Module):
    """2-D convolution over (N, C, H, W) inputs.

    Conv2d(1, 16, 3, padding=1): 16 filters of shape (1, 3, 3); weight (16, 1, 3, 3), bias (16,).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride: int = 1, padding: int = 0,
                 bias: bool = True, rng=None):
        super().__init__()
        if in_channels < 1 or out_channels < 1:
            raise ValueError(f"Conv2d needs positive channel counts, got {in_channels} -> {out_channels}")
        if int(stride) < 1 or int(padding) < 0:
            raise ValueError(f"stride must be >= 1 and padding >= 0, got stride={stride}, padding={padding}")
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.kernel_size = _pair(kernel_size)
        self.stride, self.padding = int(stride), int(padding)
        kh, kw = self.kernel_size
        fan_in = self.in_channels * kh * kw
        w = _as_rng(rng).normal(0.0, np.sqrt(2.0 / fan_in), (self.out_channels, self.in_channels, kh, kw))
        self.weight = Tensor(np.asarray(w, dtype=np.float32), requires_grad=True)
        self.bias = Tensor(np.zeros(self.out_channels, dtype=np.float32), requires_grad=True) if bias else None

    def forward(self, x):
        x = _check_nchw(x, "Conv2d")
        if x.shape[1] != self.in_channels:
            raise ValueError(f"{self!r} expects {self.in_channels} input channels, got shape {x.shape}")
        b = None if self.bias is None else self.bias.data
        out, cols = conv2d_forward(x.data, self.weight.data, b, self.stride, self.padding)
        return track(Tensor(out), Conv2dBackward(x, self.weight, self.bias, cols, self.stride, self.padding))

    def __repr__(self) -> str:
        return (f"Conv2d({self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}, bias={self.bias is not None})")

# %% [markdown]
# The first test feeds a known `grad_output` into `Conv2dBackward` directly and compares each
# gradient with the matching formula computed by brute force (numerical gradients of the loop
# reference), then lets `check_gradients` verify the whole layer through autograd, with stride and
# padding.

# %% nbgrader={"grade": true, "grade_id": "test-conv-backward", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
def test_conv_backward():
    """Conv2dBackward's dx, dw, db match numerical gradients; the layer passes check_gradients."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 2, 5, 4))
    w = rng.standard_normal((3, 2, 3, 2))
    b = rng.standard_normal(3)
    s, p = 2, 1
    out, cols = conv2d_forward(x, w, b, s, p)
    G = rng.standard_normal(out.shape)
    fn = Conv2dBackward(Tensor(x, requires_grad=True), Tensor(w, requires_grad=True), Tensor(b, requires_grad=True), cols, s, p)
    dx, dw, db = fn.backward(G)
    eps = 1e-6

    def numeric(arr, f):
        g = np.zeros_like(arr)
        for idx in np.ndindex(arr.shape):
            old = arr[idx]
            arr[idx] = old + eps
            up = np.sum(f() * G)
            arr[idx] = old - eps
            down = np.sum(f() * G)
            arr[idx] = old
            g[idx] = (up - down) / (2 * eps)
        return g

    loop = lambda: conv2d_loops(x, w, b, s, p)
    assert dw is not None and dw.shape == w.shape, f"dw must have the weight's shape {w.shape}"
    assert np.allclose(dw, numeric(w, loop), atol=1e-5), "dw = G.T @ cols (reshaped) does not match numerical gradients"
    assert db is not None and np.allclose(db, numeric(b, loop), atol=1e-5), "db should be G summed over every position"
    assert dx is not None and dx.shape == x.shape, f"dx must have x's shape {x.shape}"
    assert np.allclose(dx, numeric(x, loop), atol=1e-5), "dx = col2im(G @ Wm) does not match numerical gradients"
    frozen = Conv2dBackward(Tensor(x), Tensor(w, requires_grad=True), None, cols, s, p).backward(G)
    assert frozen[0] is None and frozen[2] is None, "no gradient for an input that does not require grad, or a missing bias"

    conv = Conv2d(2, 3, (3, 2), stride=2, padding=1, rng=0)
    xt = Tensor(rng.standard_normal((2, 2, 5, 4)), requires_grad=True)
    check_gradients(lambda xi, wi, bi: conv(xi), xt, conv.weight, conv.bias)
    print("Conv2d backward: OK (direct rule and check_gradients)")

test_conv_backward()
### BEGIN HIDDEN TESTS
_c = Conv2d(1, 2, 3, padding=1, bias=False, rng=1)
_xi = Tensor(np.random.default_rng(2).standard_normal((1, 1, 4, 4)), requires_grad=True)
assert check_gradients(lambda a, w: _c(a), _xi, _c.weight)
### END HIDDEN TESTS

# %% [markdown]
# The layer test checks shapes, parameters, the He scale of the initial weights, that a seed
# reproduces the layer, that gradients reach the parameters through `.backward()`, and the error for
# a wrong number of channels.

# %% nbgrader={"grade": true, "grade_id": "test-conv2d-layer", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
def test_conv2d_layer():
    """Conv2d: NCHW shapes, parameters, He init, reproducible seeds, gradients and input checks."""
    conv = Conv2d(3, 8, 5, rng=0)
    out = conv(Tensor(np.random.default_rng(1).standard_normal((4, 3, 32, 32)).astype(np.float32)))
    assert isinstance(out, Tensor) and out.shape == (4, 8, 28, 28), f"(4, 3, 32, 32) -> (4, 8, 28, 28) expected, got {out.shape}"
    assert out.data.dtype == np.float32, f"float32 in, float32 out; got {out.data.dtype}"
    assert conv.weight.shape == (8, 3, 5, 5) and conv.bias.shape == (8,), "weight (out, in, kh, kw), bias (out,)"
    assert [p is q for p, q in zip(conv.parameters(), [conv.weight, conv.bias])] == [True, True], "parameters() = [weight, bias]"
    big = Conv2d(64, 64, 3, rng=0)
    assert abs(big.weight.data.std() - np.sqrt(2 / (64 * 9))) < 0.005, "He init: std sqrt(2 / (in_channels * kh * kw))"
    assert np.array_equal(Conv2d(3, 8, 5, rng=7).weight.data, Conv2d(3, 8, 5, rng=7).weight.data), "same seed, same weights"
    small = Conv2d(1, 2, 3, padding=1, rng=0)
    y = small(Tensor(np.ones((2, 1, 6, 6), np.float32)))
    y.sum().backward()
    assert small.weight.grad is not None and small.weight.grad.shape == (2, 1, 3, 3), "weight.grad must be filled by backward()"
    assert np.allclose(small.bias.grad.data, 2 * 36), f"d(sum)/d(bias) = number of outputs per channel = 72, got {small.bias.grad.data}"
    try:
        conv(Tensor(np.zeros((1, 2, 32, 32))))
        raise AssertionError("3-channel Conv2d given a 2-channel input must raise ValueError")
    except ValueError:
        pass
    print("Conv2d layer: OK", conv)

test_conv2d_layer()
### BEGIN HIDDEN TESTS
_s = Conv2d(2, 4, 3, stride=2, padding=1, rng=0)
assert _s(Tensor(np.zeros((1, 2, 7, 7), np.float32))).shape == (1, 4, 4, 4), "stride 2, padding 1: 7 -> 4"
assert Conv2d(2, 4, 3, bias=False).parameters()[0].shape == (4, 2, 3, 3) and len(Conv2d(2, 4, 3, bias=False).parameters()) == 1
### END HIDDEN TESTS

# %% [markdown]
# ## 7. Pooling
#
# A pooling layer summarises each window of each channel by one number, **separately per channel**
# (no weights, no mixing of channels). `MaxPool2d(2)` keeps the largest value of every 2x2 block and
# halves the height and width; `AvgPool2d(2)` keeps the average. Max pooling says "the feature was
# found somewhere in this area" and makes the network a little insensitive to small shifts.
#
# ```
#  one channel (4x4)            MaxPool2d(2)        AvgPool2d(2)
#  │ 1  3 │ 2  0 │
#  │ 4  2 │ 1  1 │     ->       │ 4  2 │            │ 2.5  1.0 │
#  │ 0  0 │ 5  6 │              │ 1  8 │            │ 0.25 6.5 │
#  │ 1  0 │ 7  8 │
# ```
#
# **Backward.** Average pooling spreads each output's gradient evenly: every pixel of the window gets
# `g / (kh·kw)`. Max pooling routes the whole gradient to the **one** pixel that won (the others did
# not influence the output at all). So the forward pass must remember *which* pixel won: the index of
# the maximum inside each window (`argmax`).
#
# Both use the same window view, given below: a stack of the `kh·kw` strided slices (one per position
# inside the window), shape `(kh·kw, N, C, OH, OW)`. Element `[k, n, c, i, j]` is the pixel at offset
# `k = ki·kw + kj` inside window `(i, j)`. The default stride of a pool is its kernel size
# (non-overlapping windows); strides, like kernel sizes, may be an int or a (rows, columns) pair.
# Rows or columns that do not fill a whole window are ignored.

# %%
#| export
def _window_slices(kh, kw, stride, OH, OW):
    """For each offset k = ki*kw + kj inside the window: the (row, column) slices it touches.
    stride: an int or a (row, column) pair."""
    sh, sw = _pair(stride, "stride")
    return [(slice(ki, ki + sh * (OH - 1) + 1, sh), slice(kj, kj + sw * (OW - 1) + 1, sw))
            for ki in range(kh) for kj in range(kw)]


def pool_windows(x: np.ndarray, kh: int, kw: int, stride) -> np.ndarray:
    """(kh*kw, N, C, OH, OW): every window element, stacked along the first axis."""
    N, C, H, W = x.shape
    sh, sw = _pair(stride, "stride")
    OH, OW = conv_output_size(H, kh, sh), conv_output_size(W, kw, sw)
    return np.stack([x[:, :, rows, cols] for rows, cols in _window_slices(kh, kw, (sh, sw), OH, OW)])

# %% [markdown]
# Write the max pooling forward (value and winning offset per window) and its backward (each
# offset's slice of `dx` receives `g` where that offset won, 0 elsewhere; overlapping windows add).

# %% nbgrader={"grade": false, "grade_id": "maxpool", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def maxpool2d_forward(x: np.ndarray, kh: int, kw: int, stride):
    """Returns (out (N, C, OH, OW), argmax (N, C, OH, OW) = winning offset k in range(kh*kw)).
    HINT: windows = pool_windows(...); argmax over axis 0; the max itself via max over axis 0."""
    windows = pool_windows(x, kh, kw, stride)
    ### BEGIN SOLUTION
    argmax = windows.argmax(axis=0)
    out = windows.max(axis=0)
    ### END SOLUTION
    return out, argmax


class MaxPool2dBackward(Function):
    """The gradient goes to the winning pixel of every window."""

    def __init__(self, x, argmax, kh, kw, stride):
        super().__init__(x)
        self.argmax, self.kh, self.kw, self.stride = argmax, kh, kw, stride

    def backward(self, grad_output):
        x, = self.inputs
        g = np.asarray(grad_output)
        OH, OW = g.shape[-2:]
        dx = np.zeros(x.shape, dtype=g.dtype)
        for k, (rows, cols) in enumerate(_window_slices(self.kh, self.kw, self.stride, OH, OW)):
            ### BEGIN SOLUTION
            dx[:, :, rows, cols] += np.where(self.argmax == k, g, 0)
            ### END SOLUTION
        return (dx,)


class MaxPool2d(Module):
    """Max over kh x kw windows of each channel; stride defaults to the kernel size."""

    def __init__(self, kernel_size=2, stride=None):
        super().__init__()
        self.kernel_size = _pair(kernel_size)
        self.stride = _pair(stride if stride is not None else kernel_size, "stride")

    def forward(self, x):
        x = _check_nchw(x, "MaxPool2d")
        kh, kw = self.kernel_size
        out, argmax = maxpool2d_forward(x.data, kh, kw, self.stride)
        return track(Tensor(out), MaxPool2dBackward(x, argmax, kh, kw, self.stride))

    def __repr__(self) -> str:
        return f"MaxPool2d(kernel_size={self.kernel_size}, stride={self.stride})"

# %% mutant={"name": "maxpool-backward-to-all", "target": "maxpool", "region": 1, "catches": ["test-maxpool"]}
# Sends the gradient to every position of the window, not just the maximum.
dx[:, :, rows, cols] += g

# %% mutant={"name": "maxpool-first-index", "target": "maxpool", "region": 0, "replace": "argmax = windows.argmax(axis=0)", "catches": ["test-maxpool"]}
# Remembers the argmin: gradients go to the smallest value.
argmax = windows.argmin(axis=0)

# %% [markdown]
# The test checks the worked example, the winner bookkeeping, gradient routing by hand and with
# `check_gradients` (including overlapping windows, stride 1), and an odd-sized input.

# %% nbgrader={"grade": true, "grade_id": "test-maxpool", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
POOL_EXAMPLE = np.array([[1, 3, 2, 0], [4, 2, 1, 1], [0, 0, 5, 6], [1, 0, 7, 8]], dtype=np.float64)[None, None]


def test_maxpool():
    """MaxPool2d keeps the window maxima and routes each gradient to the winning pixel only."""
    out, arg = maxpool2d_forward(POOL_EXAMPLE, 2, 2, 2)
    assert np.allclose(out[0, 0], [[4, 2], [1, 8]]), f"worked example: [[4, 2], [1, 8]], got {out[0, 0]}"
    assert np.array_equal(arg[0, 0], [[2, 0], [2, 3]]), f"winning offsets (ki*kw + kj) should be [[2, 0], [2, 3]], got {arg[0, 0]}"
    pool = MaxPool2d(2)
    x = Tensor(POOL_EXAMPLE.copy(), requires_grad=True)
    y = pool(x)
    assert isinstance(y, Tensor) and y.shape == (1, 1, 2, 2), f"expected a (1, 1, 2, 2) Tensor, got {getattr(y, 'shape', y)}"
    y.backward(np.array([[[[10.0, 20.0], [30.0, 40.0]]]]))
    want = np.zeros((4, 4))
    want[1, 0], want[0, 2], want[3, 0], want[3, 3] = 10, 20, 30, 40
    assert np.allclose(x.grad.data[0, 0], want), f"each gradient goes to its window's maximum:\n{want}\ngot\n{x.grad.data[0, 0]}"
    rng = np.random.default_rng(0)
    xr = Tensor(rng.standard_normal((2, 3, 5, 5)), requires_grad=True)
    assert MaxPool2d(2)(xr).shape == (2, 3, 2, 2), "5x5 with 2x2 windows -> 2x2 (the last row and column are ignored)"
    check_gradients(lambda a: MaxPool2d(2)(a), xr)
    check_gradients(lambda a: MaxPool2d(3, stride=1)(a), xr)          # overlapping windows: gradients add
    print("MaxPool2d: OK\n", out[0, 0])

test_maxpool()
### BEGIN HIDDEN TESTS
_x = Tensor(np.random.default_rng(3).standard_normal((1, 2, 6, 4)), requires_grad=True)
check_gradients(lambda a: MaxPool2d((3, 2))(a), _x)
assert MaxPool2d((3, 2))(_x).shape == (1, 2, 2, 2)
### END HIDDEN TESTS

# %% [markdown]
# Average pooling: the forward pass is given (the mean over the window axis); write the backward pass.

# %% nbgrader={"grade": false, "grade_id": "avgpool", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class AvgPool2dBackward(Function):
    """Every pixel of a window gets an equal share g / (kh*kw) of the window's gradient."""

    def __init__(self, x, kh, kw, stride):
        super().__init__(x)
        self.kh, self.kw, self.stride = kh, kw, stride

    def backward(self, grad_output):
        x, = self.inputs
        g = np.asarray(grad_output)
        OH, OW = g.shape[-2:]
        dx = np.zeros(x.shape, dtype=g.dtype)
        ### BEGIN SOLUTION
        share = g / (self.kh * self.kw)
        for rows, cols in _window_slices(self.kh, self.kw, self.stride, OH, OW):
            dx[:, :, rows, cols] += share
        ### END SOLUTION
        return (dx,)


class AvgPool2d(Module):
    """Mean over kh x kw windows of each channel; stride defaults to the kernel size."""

    def __init__(self, kernel_size=2, stride=None):
        super().__init__()
        self.kernel_size = _pair(kernel_size)
        self.stride = _pair(stride if stride is not None else kernel_size, "stride")

    def forward(self, x):
        x = _check_nchw(x, "AvgPool2d")
        kh, kw = self.kernel_size
        out = pool_windows(x.data, kh, kw, self.stride).mean(axis=0)
        return track(Tensor(out), AvgPool2dBackward(x, kh, kw, self.stride))

    def __repr__(self) -> str:
        return f"AvgPool2d(kernel_size={self.kernel_size}, stride={self.stride})"

# %% mutant={"name": "avgpool-no-division", "target": "avgpool", "replace": "share = g / (self.kh * self.kw)", "catches": ["test-avgpool"]}
# Gives every position the full gradient instead of its share.
share = g

# %% nbgrader={"grade": true, "grade_id": "test-avgpool", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
def test_avgpool():
    """AvgPool2d averages windows and spreads gradients evenly (overlaps add)."""
    x = Tensor(POOL_EXAMPLE.copy(), requires_grad=True)
    y = AvgPool2d(2)(x)
    assert np.allclose(y.data[0, 0], [[2.5, 1.0], [0.25, 6.5]]), f"worked example: [[2.5, 1], [0.25, 6.5]], got {y.data[0, 0]}"
    y.backward(np.array([[[[4.0, 8.0], [0.0, 4.0]]]]))
    assert np.allclose(x.grad.data[0, 0], [[1, 1, 2, 2], [1, 1, 2, 2], [0, 0, 1, 1], [0, 0, 1, 1]]), \
        f"each pixel gets g / 4 of its window, got\n{x.grad.data[0, 0]}"
    xr = Tensor(np.random.default_rng(1).standard_normal((2, 2, 5, 6)), requires_grad=True)
    check_gradients(lambda a: AvgPool2d(2)(a), xr)
    check_gradients(lambda a: AvgPool2d(3, stride=2)(a), xr)
    print("AvgPool2d: OK\n", y.data[0, 0])

test_avgpool()
### BEGIN HIDDEN TESTS
_g = AvgPool2d(3, stride=1)(Tensor(np.ones((1, 1, 4, 4)), requires_grad=True))
assert np.allclose(_g.data, 1.0) and _g.shape == (1, 1, 2, 2)
### END HIDDEN TESTS

# %% [markdown]
# ## 8. `Flatten`: from feature maps to a classifier
#
# After the convolutions and pools, a `Linear` classifier needs one vector per image: `Flatten`
# reshapes `(N, C, H, W)` to `(N, C·H·W)`, keeping the batch axis. It has no backward rule of its
# own: `Tensor.reshape` is already recorded by autograd (module 05), so one Tensor operation is all
# it takes.

# %% nbgrader={"grade": false, "grade_id": "flatten", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class Flatten(Module):
    """(N, d1, d2, ...) -> (N, d1 * d2 * ...)."""

    def forward(self, x):
        if not isinstance(x, Tensor):
            x = Tensor(np.asarray(x))
        ### BEGIN SOLUTION
        return x.reshape(x.shape[0], -1)
        ### END SOLUTION

    def __repr__(self) -> str:
        return "Flatten()"

# %% mutant={"name": "flatten-everything", "target": "flatten", "catches": ["test-flatten"]}
# Flattens the batch axis too.
return x.reshape(-1)

# %% nbgrader={"grade": true, "grade_id": "test-flatten", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
def test_flatten():
    """Flatten keeps the batch axis, preserves C-order, and passes gradients back in shape."""
    x = Tensor(np.arange(2 * 3 * 2 * 2, dtype=np.float64).reshape(2, 3, 2, 2), requires_grad=True)
    y = Flatten()(x)
    assert y.shape == (2, 12), f"(2, 3, 2, 2) -> (2, 12), got {y.shape}"
    assert np.array_equal(y.data[1], np.arange(12, 24)), "row n is image n's values in C order"
    check_gradients(lambda a: Flatten()(a), x)
    print("Flatten: OK")

test_flatten()

# %% [markdown]
# ### `BatchNorm2d`: normalising feature maps
#
# Deep stacks of convolutions have the problem module 03 met with deep MLPs: each layer rescales its
# input, and after a few layers the activations drift far from unit size, which makes the gradients
# vanish or explode. **Batch normalisation** (2015) fixes the scale at every layer. For each channel `c` it
# measures the mean and variance over every value of that channel in the batch (all `N` images, all
# `H x W` positions), normalises with them, then lets the network choose the scale and shift it wants
# with two learned vectors `gamma` and `beta`:
#
# ```
#   x (N, C, H, W)          statistics per channel, over axes (0, 2, 3): N * H * W values each
#   mu_c  = mean(x[:, c])          var_c = mean((x[:, c] - mu_c)^2)
#   x_hat = (x - mu_c) / sqrt(var_c + eps)
#   y     = gamma_c * x_hat + beta_c
# ```
#
# It is LayerNorm's twin (module 13) with the axes swapped: LayerNorm normalises each token over its
# features, BatchNorm each channel over the batch and the positions. That choice has a consequence
# LayerNorm does not have: the output for one image depends on the *other* images in its batch. At
# inference there may be a single image, so BatchNorm keeps **running statistics** during training,
#
# ```
#   running_mean = (1 - momentum) * running_mean + momentum * mu
#   running_var  = (1 - momentum) * running_var  + momentum * var * n / (n - 1)     (n = N * H * W)
# ```
#
# and in eval mode (`model.eval()`) normalises with those instead of the batch's own statistics. (The
# running variance uses the unbiased estimate, `n / (n - 1)`, because it estimates the variance of the
# whole data set; the batch itself is normalised with the plain variance.)
#
# A worked example with one channel and four values `[1, 2, 3, 6]`: `mu = 3`, `var = 3.5`, so
# `x_hat = [-1.069, -0.535, 0, 1.604]`. With `momentum = 0.1`, the running mean moves from 0 to 0.3 and
# the running variance from 1 to `0.9 + 0.1 * 3.5 * 4/3 = 1.0667`.
#
# The backward pass is LayerNorm's formula over the channel's axes: with `g = dy * gamma`,
# `dx = (g - mean(g) - x_hat * mean(g * x_hat)) / sqrt(var + eps)`, means over `(0, 2, 3)`;
# `dgamma = sum(dy * x_hat)` and `dbeta = sum(dy)` over the same axes. In eval mode the statistics are
# constants, so the layer is a per-channel affine map that ordinary Tensor operations differentiate.

# %% nbgrader={"grade": false, "grade_id": "batchnorm2d", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class BatchNorm2dBackward(Function):
    """Gradients of training-mode BatchNorm2d with respect to x, gamma and beta."""

    def __init__(self, x: Tensor, gamma: Tensor, beta: Tensor, x_hat: np.ndarray, inv_std: np.ndarray):
        super().__init__(x, gamma, beta)
        self.x_hat, self.inv_std = x_hat, inv_std          # inv_std has shape (1, C, 1, 1)

    def backward(self, grad_output: np.ndarray) -> tuple:
        """Return (dx, dgamma, dbeta); dgamma and dbeta have shape (C,)."""
        gamma = self.inputs[1].data.reshape(1, -1, 1, 1)
        axes = (0, 2, 3)
        ### BEGIN SOLUTION
        dbeta = grad_output.sum(axis=axes)
        dgamma = (grad_output * self.x_hat).sum(axis=axes)
        g = grad_output * gamma
        dx = (g - g.mean(axis=axes, keepdims=True)
              - self.x_hat * (g * self.x_hat).mean(axis=axes, keepdims=True)) * self.inv_std
        ### END SOLUTION
        return dx, dgamma, dbeta


class BatchNorm2d(Module):
    """Batch normalisation per channel of (N, C, H, W) inputs, with learned gamma (ones) and beta (zeros).

    Training mode normalises with the batch's statistics and updates running_mean / running_var;
    eval mode normalises with the running statistics. Only gamma and beta are parameters.
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1):
        super().__init__()
        if num_features <= 0 or not 0.0 < momentum <= 1.0:
            raise ValueError(f"need num_features > 0 and momentum in (0, 1], got {num_features} and {momentum}")
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.gamma = Tensor(np.ones(num_features, dtype=np.float32), requires_grad=True)
        self.beta = Tensor(np.zeros(num_features, dtype=np.float32), requires_grad=True)
        self.running_mean = np.zeros(num_features, dtype=np.float32)     # plain arrays: not parameters
        self.running_var = np.ones(num_features, dtype=np.float32)

    def forward(self, x) -> Tensor:
        """HINTS:
        - training: mean and var of x.data over axes (0, 2, 3); update the running statistics as above
          (n = x.data.size // C); x_hat and inv_std shaped (1, C, 1, 1) for broadcasting; wrap
          gamma * x_hat + beta in a Tensor of x's dtype and track it with a BatchNorm2dBackward.
        - eval: the same normalisation with the running statistics, written with Tensor operations
          (x - Tensor(mean)) * Tensor(inv_std) * gamma + beta, reshaped to (1, C, 1, 1), so that
          autograd handles the gradient.
        """
        x = _check_nchw(x, "BatchNorm2d")
        C = self.num_features
        if x.shape[1] != C:
            raise ValueError(f"BatchNorm2d({C}) got an input with {x.shape[1]} channels")
        shape = (1, C, 1, 1)
        if self.training:
            ### BEGIN SOLUTION
            mean = x.data.mean(axis=(0, 2, 3))
            var = x.data.var(axis=(0, 2, 3))
            n = x.data.size // C
            m = self.momentum
            self.running_mean = ((1 - m) * self.running_mean + m * mean).astype(np.float32)
            self.running_var = ((1 - m) * self.running_var + m * var * n / max(n - 1, 1)).astype(np.float32)
            inv_std = 1.0 / np.sqrt(var.reshape(shape) + self.eps)
            x_hat = (x.data - mean.reshape(shape)) * inv_std
            y = self.gamma.data.reshape(shape) * x_hat + self.beta.data.reshape(shape)
            return track(Tensor(y.astype(x.data.dtype, copy=False)),
                         BatchNorm2dBackward(x, self.gamma, self.beta, x_hat, inv_std))
            ### END SOLUTION
        ### BEGIN SOLUTION
        inv_std = (1.0 / np.sqrt(self.running_var + self.eps)).astype(x.data.dtype).reshape(shape)
        centred = x - Tensor(self.running_mean.astype(x.data.dtype).reshape(shape))
        return centred * Tensor(inv_std) * self.gamma.reshape(*shape) + self.beta.reshape(*shape)
        ### END SOLUTION

    def __repr__(self) -> str:
        return f"BatchNorm2d({self.num_features})"

# %% mutant={"name": "stats-over-batch-axis-only", "target": "batchnorm2d", "region": 1, "replace": "mean = x.data.mean(axis=(0, 2, 3))\nvar = x.data.var(axis=(0, 2, 3))", "catches": ["test-batchnorm2d"]}
# Takes each position's statistics over the batch only, as a BatchNorm1d would, and then cannot reshape them.
mean = x.data.mean(axis=0)
var = x.data.var(axis=0)

# %% mutant={"name": "running-var-biased", "target": "batchnorm2d", "region": 1, "replace": "self.running_var = ((1 - m) * self.running_var + m * var * n / max(n - 1, 1)).astype(np.float32)", "catches": ["test-batchnorm2d"]}
# Tracks the biased (plain) batch variance in the running estimate.
self.running_var = ((1 - m) * self.running_var + m * var).astype(np.float32)

# %% mutant={"name": "momentum-backwards", "target": "batchnorm2d", "region": 1, "replace": "self.running_mean = ((1 - m) * self.running_mean + m * mean).astype(np.float32)", "catches": ["test-batchnorm2d"]}
# Swaps the weights of the running average: the newest batch gets 90% of the say.
self.running_mean = (m * self.running_mean + (1 - m) * mean).astype(np.float32)

# %% mutant={"name": "eval-uses-batch-stats", "target": "batchnorm2d", "region": 2, "catches": ["test-batchnorm2d"]}
# Ignores the mode: eval also normalises with the batch's own statistics.
mean = x.data.mean(axis=(0, 2, 3), keepdims=True)
inv_std = (1.0 / np.sqrt(x.data.var(axis=(0, 2, 3), keepdims=True) + self.eps)).astype(x.data.dtype)
return (x - Tensor(mean.astype(x.data.dtype))) * Tensor(inv_std) * self.gamma.reshape(*shape) + self.beta.reshape(*shape)

# %% mutant={"name": "dx-without-variance-term", "target": "batchnorm2d", "replace": "dx = (g - g.mean(axis=axes, keepdims=True)\n      - self.x_hat * (g * self.x_hat).mean(axis=axes, keepdims=True)) * self.inv_std", "catches": ["test-batchnorm2d"]}
# Treats the variance as a constant in the backward pass.
dx = (g - g.mean(axis=axes, keepdims=True)) * self.inv_std

# %% [markdown]
# The test checks the worked example (output and running statistics), per-channel mean 0 and variance 1
# in training mode on a random batch, that eval mode uses the running statistics (so an image gives the
# same output alone or in a batch), that only `gamma` and `beta` are parameters, and the gradients of
# both modes against numerical differentiation.

# %% nbgrader={"grade": true, "grade_id": "test-batchnorm2d", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
def test_batchnorm2d():
    """Training statistics, running statistics, eval mode and gradients of BatchNorm2d."""
    bn = BatchNorm2d(1)
    y = bn(Tensor(np.array([1.0, 2.0, 3.0, 6.0], dtype=np.float32).reshape(1, 1, 2, 2)))
    assert np.allclose(y.data.ravel(), [-1.069, -0.535, 0.0, 1.604], atol=1e-3), f"worked example gives {y.data.ravel()}"
    assert np.allclose(bn.running_mean, [0.3]) and np.allclose(bn.running_var, [0.9 + 0.1 * 3.5 * 4 / 3], atol=1e-5), \
        f"running mean 0.3 and running var 1.0667 (unbiased) expected, got {bn.running_mean}, {bn.running_var}"
    rng = np.random.default_rng(0)
    x = Tensor((rng.normal(size=(4, 3, 5, 5)) * [[[[2.0]], [[0.5]], [[4.0]]]] + 3).astype(np.float32))
    bn3 = BatchNorm2d(3)
    out = bn3(x).data
    assert out.shape == (4, 3, 5, 5), f"shape must be preserved, got {out.shape}"
    assert np.allclose(out.mean(axis=(0, 2, 3)), 0, atol=1e-5), "each channel has mean 0 over (N, H, W) in training mode"
    assert np.allclose(out.var(axis=(0, 2, 3)), 1, atol=1e-3), "each channel has variance 1 over (N, H, W)"
    assert len(bn3.parameters()) == 2, "gamma and beta are the only parameters (running statistics are not)"
    bn3.eval()
    alone, batch = bn3(Tensor(x.data[:1])).data, bn3(x).data
    assert np.allclose(alone, batch[:1], atol=1e-6), "in eval mode an image's output cannot depend on its batch"
    expect = (x.data - bn3.running_mean.reshape(1, 3, 1, 1)) / np.sqrt(bn3.running_var.reshape(1, 3, 1, 1) + 1e-5)
    assert np.allclose(batch, expect, atol=1e-4), "eval mode normalises with the running statistics"
    before = bn3.running_mean.copy()
    bn3(x)
    assert np.array_equal(before, bn3.running_mean), "eval mode must not update the running statistics"
    small = BatchNorm2d(2)
    small.gamma.data[:] = [1.5, -0.7]; small.beta.data[:] = [0.2, 0.1]
    xin = Tensor(rng.normal(size=(3, 2, 2, 2)), requires_grad=True)
    check_gradients(lambda a, g, b: small(a), xin, small.gamma, small.beta)
    small.eval()
    check_gradients(lambda a, g: small(a), xin, small.gamma)
    print("BatchNorm2d: OK")

test_batchnorm2d()
### BEGIN HIDDEN TESTS
_bn = BatchNorm2d(2, momentum=0.5)
_bn(Tensor(np.ones((2, 2, 3, 3), dtype=np.float32) * 4))
assert np.allclose(_bn.running_mean, 2.0) and np.allclose(_bn.running_var, 0.5), "momentum 0.5: halfway to the batch"
try:
    _bn(Tensor(np.ones((1, 3, 2, 2), dtype=np.float32)))
    raise AssertionError("3 channels into BatchNorm2d(2) must raise ValueError")
except ValueError:
    pass
### END HIDDEN TESTS

# %% [markdown]
# ### Why it helps: activation scale through a deep stack
#
# Here is the problem BatchNorm solves, measured. We push a batch through eight `Conv2d` + `ReLU` layers
# with a deliberately poor initial scale, with and without a `BatchNorm2d` after each convolution, and
# print the standard deviation of the activations after every layer.

# %%
def activation_stds(use_bn, depth=8, scale=0.5):
    np.random.seed(0)
    x = Tensor(np.random.default_rng(1).normal(size=(16, 8, 8, 8)).astype(np.float32))
    stds = []
    with no_grad():
        for _ in range(depth):
            conv = Conv2d(8, 8, 3, padding=1)
            conv.weight.data *= scale
            x = conv(x)
            if use_bn:
                x = BatchNorm2d(8)(x)
            x = Tensor(np.maximum(x.data, 0))
            stds.append(float(x.data.std()))
    return stds

print("layer        " + " ".join(f"{i:>8d}" for i in range(1, 9)))
for use_bn in (False, True):
    print(f"{'with BN' if use_bn else 'without BN':12s} " + " ".join(f"{s:8.4f}" for s in activation_stds(use_bn)))

# %% [markdown]
# Without normalisation the activations shrink layer after layer (each layer multiplies their scale by a
# factor below 1), so the last layers see numbers thousands of times smaller than the first, and their
# gradients shrink the same way. With a `BatchNorm2d` after every convolution the scale is reset at every
# layer, whatever the initialisation. That is why BatchNorm let much deeper CNNs train, and why it is
# usually placed between a convolution and its activation, as here. Its dependence on the batch is also
# its weakness: with tiny batches the statistics are noisy, which is one reason Transformers use LayerNorm.

# %% [markdown]
# ## 9. Counting: receptive field, parameters and FLOPs
#
# **Receptive field.** How many input pixels can one output value of a layer "see"? One 3x3
# convolution sees 3x3. A second 3x3 on top of it sees 3x3 windows of the first layer's outputs,
# each of which sees 3x3 input pixels: 5x5 in total. After a stride-2 layer every further step counts
# double. Going through the layers from the input, track the field `r` and the **jump** `j` (how many
# input pixels apart two neighbouring outputs of the current layer are):
#
# ```
#  start:             r = 1, j = 1
#  layer (k, s):      r = r + (k - 1) · j ;   j = j · s
#
#  conv 3 (s 1):  r = 1 + 2·1 = 3,  j = 1
#  conv 3 (s 1):  r = 3 + 2·1 = 5,  j = 1
#  pool 2 (s 2):  r = 5 + 1·1 = 6,  j = 2
#  conv 3 (s 1):  r = 6 + 2·2 = 10, j = 2
# ```
#
# **FLOPs.** Each output value of a convolution is a dot product of length `C·kh·kw`: that many
# multiplications and as many additions, so a layer costs `2 · C · kh · kw · O · OH · OW` floating
# point operations per image (we count the bias as free).

# %% nbgrader={"grade": false, "grade_id": "counting", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def receptive_field(layers) -> tuple:
    """(r, j) after a stack of layers given as (kernel, stride) pairs, input first.

    EXAMPLE: receptive_field([(3, 1), (3, 1), (2, 2), (3, 1)]) -> (10, 2)
    """
    r, j = 1, 1
    ### BEGIN SOLUTION
    for k, s in layers:
        r = r + (k - 1) * j
        j = j * s
    ### END SOLUTION
    return r, j


def conv2d_flops(in_channels: int, out_channels: int, kernel_size, out_h: int, out_w: int) -> int:
    """Floating point operations of one Conv2d on one image: 2 * C * kh * kw * O * OH * OW."""
    kh, kw = _pair(kernel_size)
    ### BEGIN SOLUTION
    return 2 * in_channels * kh * kw * out_channels * out_h * out_w
    ### END SOLUTION

# %% mutant={"name": "receptive-field-stride-first", "target": "counting", "region": 0, "catches": ["test-counting"]}
# Updates the jump before using it, counting the layer's own stride in its growth.
for k, s in layers:
    j = j * s
    r = r + (k - 1) * j

# %% mutant={"name": "flops-forgets-multiply-add", "target": "counting", "region": 1, "catches": ["test-counting"]}
# Counts multiply-adds, not FLOPs (a multiply and an add are two).
return in_channels * kh * kw * out_channels * out_h * out_w

# %% nbgrader={"grade": true, "grade_id": "test-counting", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
def test_counting():
    """Receptive field recursion and convolution FLOPs on worked numbers."""
    assert receptive_field([(3, 1)]) == (3, 1), "one 3x3 conv sees 3x3"
    assert receptive_field([(3, 1), (3, 1)]) == (5, 1), "two 3x3 convs see 5x5"
    assert receptive_field([(3, 1), (3, 1), (2, 2), (3, 1)]) == (10, 2), f"worked example: (10, 2), got {receptive_field([(3, 1), (3, 1), (2, 2), (3, 1)])}"
    assert receptive_field([(5, 1), (2, 2), (5, 1), (2, 2)]) == (16, 4), "LeNet-5's conv/pool stack: 5, 6 (jump 2), 6 + 4·2 = 14, 14 + 2 = 16"
    assert receptive_field([]) == (1, 1), "no layers: one pixel"
    assert conv2d_flops(1, 6, 5, 28, 28) == 2 * 25 * 6 * 784, f"LeNet-5 conv1: 235,200 FLOPs, got {conv2d_flops(1, 6, 5, 28, 28)}"
    assert conv2d_flops(16, 32, (3, 1), 4, 4) == 2 * 16 * 3 * 32 * 16, "non-square kernel"
    print("receptive_field and conv2d_flops: OK")

test_counting()
### BEGIN HIDDEN TESTS
assert receptive_field([(3, 2), (3, 2), (3, 2)]) == (15, 8)
### END HIDDEN TESTS

# %% [markdown]
# ## 10. Systems analysis
#
# ### 10.1 Loops versus im2col, across sizes
#
# The graded test measured one size. Here are three, with 16 channels in and out, 3x3 kernel,
# padding 1. The loops do `OH·OW·O` Python-level steps; im2col does 9 copies and one product.

# %%
rng = np.random.default_rng(0)
w16 = rng.standard_normal((16, 16, 3, 3)).astype(np.float32)
print(f"{'input':>14} | {'loops (ms)':>10} | {'im2col (ms)':>11} | {'speed-up':>8} | {'GFLOP/s im2col':>14}")
for size in [8, 16, 32]:
    xs = rng.standard_normal((1, 16, size, size)).astype(np.float32)
    t0 = time.perf_counter()
    conv2d_loops(xs, w16, None, 1, 1)
    t_loop = time.perf_counter() - t0
    t_fast = median_time(lambda: conv2d_forward(xs, w16, None, 1, 1), repeats=7)
    flops = conv2d_flops(16, 16, 3, size, size)
    print(f"{f'1x16x{size}x{size}':>14} | {t_loop * 1e3:>10.1f} | {t_fast * 1e3:>11.3f} | {t_loop / t_fast:>7.0f}x | "
          f"{flops / t_fast / 1e9:>14.2f}")

# %% [markdown]
# The loop time grows with the number of output positions (4x per doubling of the side), as expected
# from its Python-level loop. im2col grows more slowly at first (its fixed costs dominate small inputs)
# and its achieved GFLOP/s rise with size: bigger matrices keep BLAS busier.
#
# ### 10.2 The price of im2col: memory
#
# `cols` holds every input pixel once per window that contains it, so it is about `kh·kw` times the
# input (divided by `s²` with stride `s`). We measure it for a batch of 4 images, 16x32x32.

# %%
x4 = rng.standard_normal((4, 16, 32, 32)).astype(np.float32)
print(f"{'kernel':>7} | {'input (KiB)':>11} | {'cols (KiB)':>10} | {'cols / input':>12}")
blowup = {}
for k in [1, 3, 5, 7]:
    c = im2col(x4, k, k, 1, k // 2)
    blowup[k] = c.nbytes / x4.nbytes
    print(f"{f'{k}x{k}':>7} | {x4.nbytes / 1024:>11.0f} | {c.nbytes / 1024:>10.0f} | {blowup[k]:>11.1f}x")
del c

# %% [markdown]
# A 7x7 kernel turns each input into a buffer about 49 times larger. That is why production libraries
# use im2col only in tiles, or avoid it altogether with algorithms that compute the same product
# without materialising `cols` (direct convolution kernels, FFT- or Winograd-based methods). Our
# `Conv2dBackward` also keeps `cols` alive until the backward pass: for a deep CNN, that saved memory,
# not the parameters, is what limits the batch size.
#
# ### 10.3 Where the parameters and the FLOPs are
#
# Milestone 04 trains this LeNet-style network on 8x8 digits. We walk its layers with a batch of one
# image and count, per layer, the output shape, the parameters and the forward FLOPs (for `Linear`:
# `2 · in · out`).

# %%
def describe(layers, input_shape):
    """Per-layer (name, output shape, parameters, FLOPs per image), computed by running one image."""
    x = Tensor(np.zeros((1,) + input_shape, dtype=np.float32))
    rows = []
    with no_grad():
        for layer in layers:
            y = layer(x)
            params = sum(p.data.size for p in layer.parameters()) if isinstance(layer, Module) else 0
            if isinstance(layer, Conv2d):
                flops = conv2d_flops(layer.in_channels, layer.out_channels, layer.kernel_size, *y.shape[2:])
            elif isinstance(layer, Linear):
                flops = 2 * layer.in_features * layer.out_features
            else:
                flops = 0
            rows.append((repr(layer).split("(")[0], y.shape[1:], params, flops))
            x = y
    return rows


np.random.seed(0)
lenet = [Conv2d(1, 16, 3, padding=1), Conv2d(16, 32, 3, padding=1), MaxPool2d(2),
         Conv2d(32, 64, 3, padding=1), MaxPool2d(2), Flatten(), Linear(64 * 2 * 2, 64), Linear(64, 10)]
rows = describe(lenet, (1, 8, 8))
total_p, total_f = sum(r[2] for r in rows), sum(r[3] for r in rows)
print(f"{'layer':>10} | {'output':>12} | {'params':>7} | {'FLOPs/image':>11} | {'% params':>8} | {'% FLOPs':>7}")
for name, shape, p, f in rows:
    print(f"{name:>10} | {str(shape):>12} | {p:>7,} | {f:>11,} | {p / total_p:>7.0%} | {f / total_f:>6.0%}")
print(f"{'total':>10} | {'':>12} | {total_p:>7,} | {total_f:>11,}")
conv_p = sum(r[2] for r in rows if r[0] == "Conv2d") / total_p
conv_f = sum(r[3] for r in rows if r[0] == "Conv2d") / total_f
print(f"\nconvolutions: {conv_p:.0%} of the parameters, {conv_f:.0%} of the FLOPs")
per_param = {kind: sum(r[3] for r in rows if r[0] == kind) / sum(r[2] for r in rows if r[0] == kind)
             for kind in ("Conv2d", "Linear")}
print(f"FLOPs per parameter: Conv2d {per_param['Conv2d']:.0f}, Linear {per_param['Linear']:.0f}")
rf = receptive_field([(3, 1), (3, 1), (2, 2), (3, 1), (2, 2)])
print(f"receptive field of one value after the last pool: {rf[0]}x{rf[0]} pixels (jump {rf[1]}) on an 8x8 image")

# %% [markdown]
# The split is the signature of a CNN: the convolutions do almost all of the arithmetic, because
# each of their weights is reused at every position of the feature map (the FLOPs-per-parameter line),
# while a `Linear` weight is used exactly once per image (2 FLOPs: one multiply, one add). On bigger
# images the gap grows with the number of positions: in a network for 224x224 images the convolutions
# hold a small share of the weights and do nearly all of the work. (The ReLUs of the real model are left out: no parameters and
# negligible FLOPs.) The receptive field after the last pool is larger than the image, so the
# classifier's inputs can each combine evidence from the whole digit.
#
# ### 10.4 Is it fast enough to train?
#
# Milestone 04 needs this network to train to 97% on the digits in well under two minutes. We time
# full training steps (forward, backward on a summed output) at batch size 32 and extrapolate to the
# milestone's 25 epochs of 1,437 training images.

# %%
model = Sequential(*lenet)
xb = Tensor(rng.standard_normal((32, 1, 8, 8)).astype(np.float32))


def train_step():
    out = model(xb)
    out.sum().backward()
    for p in model.parameters():
        p.grad = None


def forward_only():
    with no_grad():
        model(xb)


t_step = median_time(train_step, repeats=9)
t_fwd = median_time(forward_only, repeats=9)
steps = 25 * int(np.ceil(1437 / 32))
print(f"batch 32: forward {t_fwd * 1e3:.2f} ms, forward+backward {t_step * 1e3:.2f} ms "
      f"(backward ~{(t_step - t_fwd) / t_fwd:.1f}x the forward)")
print(f"milestone estimate: {steps} steps x {t_step * 1e3:.2f} ms = {steps * t_step:.1f} s (plus optimizer and loss)")

# %% [markdown]
# The backward pass costs more than the forward (it computes two products per convolution, `dW` and
# `dcols`, plus the `col2im` scatter), the usual ratio of roughly 1-2x. The estimate leaves plenty of
# room under the milestone's two minutes.
#
# ## Summary
#
# - A convolution slides shared filters over the image: weight `(O, C, kh, kw)`, bias `(O,)`,
#   output size `floor((in + 2p - k) / s) + 1`.
# - The loop version is the definition; **im2col** rewrites it as one matrix product
#   `cols @ W.T`, measured here to be many times faster (the printed speed-up in section 4).
# - The backward pass reuses `cols`: `dW = G.T @ cols`, `db = sum(G)`, and `dx = col2im(G @ W)`, where
#   col2im adds overlapping windows back (it is im2col's adjoint).
# - `MaxPool2d` remembers the winner of each window and routes the gradient there; `AvgPool2d` shares
#   it evenly; `Flatten` is one reshape, already differentiable.
# - `BatchNorm2d` normalises each channel over `(N, H, W)` with the batch's statistics in training and
#   with running statistics in eval mode; after every convolution it keeps the activation scale steady.
# - Measured: im2col costs about `kh·kw` times the input's memory; in a LeNet-style network the
#   convolutions do almost all of the FLOPs, reusing each weight at every position; one training step
#   takes milliseconds.
#
# ## Reflection questions
#
# 1. A `Conv2d(3, 64, 3)` on 224x224 images: how many parameters, and how many FLOPs per image? A
#    `Linear` mapping the same input to an output of the same size: how many parameters?
# 2. `cols` for the first layer of a network on 224x224x3 images with a 7x7 kernel and stride 2: how
#    many bytes per image in float32? What could you do if that does not fit?
# 3. Two stacked 3x3 convolutions have the receptive field of one 5x5. Compare their parameters and
#    FLOPs (C channels in and out). Why did later architectures prefer stacks of 3x3 filters?
# 4. Max pooling sends the gradient to one pixel per window. What happens when two pixels tie for the
#    maximum, and does it matter for training?
# 5. Our layout is NCHW and im2col works internally channels-last. Why might a framework store
#    activations channels-last (NHWC) throughout, and what would change in `im2col`?
