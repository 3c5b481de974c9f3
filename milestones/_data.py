"""Data helpers shared by the milestones. NumPy only: nothing here imports tinytorch at load time.

- `load_digits()`: the UCI handwritten digits shipped as `datasets/digits.npz` (1797 images, 8x8, 0..16).
- `load_idx(path)`: read one IDX file (the MNIST format), raw or gzip-compressed.
- `load_mnist(folder)`: the four standard MNIST IDX files in `folder`, when a user supplies them.
- `split(x, y, test_fraction, seed)`: a fixed, stratified train/test split.
- `standardize(train_x, *others)`: zero mean, unit spread per pixel, with statistics from the training set only.
- `Batches(x, y, batch_size)`: re-iterable mini-batches as tinytorch Tensors (imported only when iterated, so
  the student's own `Tensor` is the one used).
"""
from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
DIGITS = REPO / "datasets" / "digits.npz"

# IDX type codes (third byte of the magic number) -> big-endian NumPy dtype
IDX_TYPES = {0x08: np.dtype("u1"), 0x09: np.dtype("i1"), 0x0B: np.dtype(">i2"),
             0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}

MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}


def load_digits(path: str | os.PathLike | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(images float32 (1797, 64) scaled to [0, 1], labels int64 (1797,)) from datasets/digits.npz."""
    with np.load(Path(path) if path else DIGITS, allow_pickle=False) as data:
        images, labels = data["images"], data["labels"]
    return images.reshape(len(images), -1).astype(np.float32) / 16.0, labels.astype(np.int64)


def load_idx(path: str | os.PathLike) -> np.ndarray:
    """Parse an IDX file: 2 zero bytes, a type byte, a dimension-count byte, one big-endian uint32 per
    dimension, then the data in row-major order. Files ending in `.gz` are decompressed first."""
    path = Path(path)
    raw = gzip.open(path, "rb").read() if path.suffix == ".gz" else path.read_bytes()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"{path}: not an IDX file (the magic number must start with two zero bytes)")
    code, ndim = raw[2], raw[3]
    if code not in IDX_TYPES:
        raise ValueError(f"{path}: unknown IDX data type 0x{code:02x}")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{path}: truncated IDX header")
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    dtype = IDX_TYPES[code]
    expected = dtype.itemsize * int(np.prod(shape, dtype=np.int64))
    if len(raw) - header != expected:
        raise ValueError(f"{path}: header says shape {shape} ({expected} data bytes) "
                         f"but the file has {len(raw) - header} data bytes")
    data = np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
    return data.astype(dtype.newbyteorder("="))


def find_mnist(folder: str | os.PathLike) -> dict[str, Path]:
    """Paths of the four MNIST files in `folder` (each may be raw or .gz); FileNotFoundError names the missing."""
    folder = Path(folder)
    found, missing = {}, []
    for key, stem in MNIST_FILES.items():
        candidates = [folder / stem, folder / f"{stem}.gz", folder / stem.replace("-idx", ".idx"),
                      folder / f"{stem.replace('-idx', '.idx')}.gz"]
        hit = next((c for c in candidates if c.is_file()), None)
        if hit is None:
            missing.append(stem)
        else:
            found[key] = hit
    if missing:
        raise FileNotFoundError(f"{folder}: missing MNIST file(s): {', '.join(missing)} (raw or .gz)")
    return found


def load_mnist(folder: str | os.PathLike):
    """((x_train, y_train), (x_test, y_test)): images float32 (N, 784) in [0, 1], labels int64."""
    paths = find_mnist(folder)

    def images(p):
        a = load_idx(p)
        return a.reshape(len(a), -1).astype(np.float32) / 255.0

    def labels(p):
        return load_idx(p).astype(np.int64)

    x_train, y_train = images(paths["train_images"]), labels(paths["train_labels"])
    x_test, y_test = images(paths["test_images"]), labels(paths["test_labels"])
    if len(x_train) != len(y_train) or len(x_test) != len(y_test):
        raise ValueError(f"{folder}: image and label counts differ")
    return (x_train, y_train), (x_test, y_test)


def split(x: np.ndarray, y: np.ndarray, test_fraction: float = 0.2, seed: int = 0):
    """Stratified split: the same fraction of every class goes to the test set; fixed by `seed`."""
    rng = np.random.default_rng(seed)
    test_idx = []
    for label in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == label))
        test_idx.extend(idx[: int(round(len(idx) * test_fraction))])
    test_mask = np.zeros(len(y), dtype=bool)
    test_mask[test_idx] = True
    train = rng.permutation(np.flatnonzero(~test_mask))
    test = rng.permutation(np.flatnonzero(test_mask))
    return (x[train], y[train]), (x[test], y[test])


def standardize(train_x: np.ndarray, *others: np.ndarray, floor: float = 0.1):
    """Centre and scale every feature with the TRAINING set's mean and std (never peek at the test set).
    `floor` keeps always-blank pixels (std 0) from being divided by zero or blown up."""
    mean, std = train_x.mean(axis=0), train_x.std(axis=0) + floor
    return tuple(((a - mean) / std).astype(np.float32) for a in (train_x, *others))


class Batches:
    """Re-iterable mini-batches of (x, y) Tensors; reshuffled on every pass when `shuffle` is set."""

    def __init__(self, x, y, batch_size, shuffle=False, seed=0):
        self.x, self.y, self.batch_size, self.shuffle = x, y, batch_size, shuffle
        self.rng = np.random.default_rng(seed)

    def __len__(self):
        return (len(self.x) + self.batch_size - 1) // self.batch_size

    def __iter__(self):
        from tinytorch.core.tensor import Tensor
        order = self.rng.permutation(len(self.x)) if self.shuffle else np.arange(len(self.x))
        for i in range(0, len(order), self.batch_size):
            idx = order[i:i + self.batch_size]
            yield Tensor(self.x[idx]), Tensor(self.y[idx])
