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
#     title: DataLoader
#     summary: Feed a model from real data files in shuffled, reproducible mini-batches, with the light augmentations image models need, and measure why batching is what makes training fast.
#     tier: architecture
#     minutes: 120
#     prerequisites: [01_tensor]
#     objectives:
#       - Separate what a sample is (Dataset) from how samples are grouped and ordered (DataLoader)
#       - Build a DataLoader with batching, seeded shuffling, drop_last, len() and the iteration protocol
#       - Write vectorised normalisation and random crop/flip augmentations for image batches
#       - Read the MNIST IDX and CIFAR-10 file formats and the course's digits set with NumPy only
#       - Measure how batch size and vectorised batch fetching change throughput
#     exports: [Dataset, TensorDataset, DataLoader]
#     milestone: null
# ---

# %% [markdown]
# # Module 08: DataLoader
#
# Module 07 trained models on "any iterable of `(x, y)` batches". So far those batches were
# cut by hand: `x[i:i + 32]`. A real training run needs more than that:
#
# - **mini-batches** of a fixed size, because one example at a time is far too slow (this module
#   measures by how much) and the whole data set at once does not fit in memory;
# - a **new random order every epoch**, so the model never learns the order of the examples,
#   yet **reproducible** with a seed, so a run can be repeated exactly;
# - **data files** in the formats data sets actually come in (MNIST's IDX, CIFAR-10's pickled
#   batches), read without a download step and without extra libraries;
# - cheap **augmentations** (random crops and flips) that show the model a slightly different image
#   each epoch.
#
# Every framework splits this job the same way, and so do we:
#
# | piece | question it answers |
# |---|---|
# | `Dataset` | *what* is sample number `i`? (`len(ds)`, `ds[i]`) |
# | `TensorDataset` | the common case: samples are rows of arrays held in memory |
# | `DataLoader` | *in which order and in which groups* do samples reach the model? |
# | transforms | `Normalize`, `RandomCrop`, `RandomHorizontalFlip`, `Compose`: applied to each batch |
# | loaders | `load_idx` / `load_mnist`, `load_cifar10_batch`, `load_digits` |
#
# **Learning objectives**
#
# - Separate what a sample is (`Dataset`) from how samples are grouped and ordered (`DataLoader`).
# - Build a `DataLoader` with batching, seeded shuffling, `drop_last`, `len()` and the iteration protocol.
# - Write vectorised normalisation and random crop/flip augmentations for image batches.
# - Read the MNIST IDX and CIFAR-10 file formats and the course's digits set with NumPy only.
# - Measure how batch size and vectorised batch fetching change throughput.

# %%
#| default_exp core.dataloader

# %%
#| export
import gzip
import math
import os
import pickle
from pathlib import Path

import numpy as np

from tinytorch.core.tensor import Tensor

# %%
#| hide
import tempfile
import time

np.set_printoptions(precision=3, suppress=True)

# %% [markdown]
# ## 1. The idea: samples, indices, batches
#
# A data set is a numbered collection of samples. A loader never touches the data directly: it
# decides on a list of **indices** for the epoch, cuts that list into groups, and asks the data set
# for each group. The data set returns arrays; the loader wraps them in `Tensor`s.
#
# ```
#  dataset (10 samples)     epoch order (shuffled, seed 0)      batches (batch_size=4)
#  ┌───┬───┬─ ─ ─┬───┐      [3, 8, 0, 6, 1, 9, 4, 2, 7, 5]       [3, 8, 0, 6] -> get_batch -> (x (4, ...), y (4,))
#  │ 0 │ 1 │ ... │ 9 │  ─►                                  ─►   [1, 9, 4, 2] -> get_batch -> (x (4, ...), y (4,))
#  └───┴───┴─ ─ ─┴───┘                                           [7, 5]       -> kept, or dropped if drop_last
# ```
#
# Worked numbers: 10 samples, `batch_size=4` give `ceil(10 / 4) = 3` batches of sizes 4, 4, 2, or
# `10 // 4 = 2` batches with `drop_last=True`. `drop_last` exists because some layers (and some
# timing measurements) want every batch to have the same size.
#
# ```{mermaid}
# flowchart TD
#   S["order: arange or permutation(seed)"] --> C["cut into index groups"]
#   C --> G["dataset.get_batch(idx)"]
#   G --> T["transform(x)"]
#   T --> W["(Tensor x, Tensor y)"]
# ```

# %% [markdown]
# ## 2. `Dataset` and `collate`
#
# A `Dataset` only has to answer `len(ds)` and `ds[i]`. By convention in this course a sample is a
# **tuple of fields**, e.g. `(image, label)`, each a NumPy array or a number. To build a batch from
# single samples we **collate** them: stack field 0 of every sample into one array, field 1 into
# another, and so on.
#
# ```
#  samples: (img0 (1, 8, 8), 3), (img1 (1, 8, 8), 7), (img2 (1, 8, 8), 1)
#  collate ->  (images (3, 1, 8, 8),  labels [3, 7, 1] shape (3,))
# ```
#
# If the samples are bare arrays instead of tuples, `collate` simply stacks them into one array.

# %% nbgrader={"grade": false, "grade_id": "collate", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def collate(samples: list):
    """Stack a list of samples into one batch.

    samples: a non-empty list of tuples (field_0, field_1, ...)  -> tuple of stacked arrays, one per field
             or a non-empty list of arrays/numbers                -> one stacked array
    EXAMPLE: collate([(np.zeros(2), 1), (np.ones(2), 0)]) -> (array([[0, 0], [1, 1]]), array([1, 0]))
    HINT: np.stack([np.asarray(s[k]) for s in samples]) stacks field k.
    """
    if len(samples) == 0:
        raise ValueError("collate needs at least one sample")
    ### BEGIN SOLUTION
    if isinstance(samples[0], tuple):
        return tuple(np.stack([np.asarray(s[k]) for s in samples]) for k in range(len(samples[0])))
    return np.stack([np.asarray(s) for s in samples])
    ### END SOLUTION


class Dataset:
    """Base class: subclasses define __len__ and __getitem__(i) -> a sample (a tuple of fields).

    get_batch(indices) fetches many samples at once; the default asks for them one by one and
    collates them. Subclasses that can do better (TensorDataset) override it.
    """

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must implement __len__")

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__")

    def get_batch(self, indices):
        return collate([self[int(i)] for i in indices])

# %% mutant={"name": "collate-concatenates", "target": "collate", "replace": "return tuple(np.stack([np.asarray(s[k]) for s in samples]) for k in range(len(samples[0])))", "catches": ["test-collate"]}
# Concatenates instead of stacking: the batch axis disappears into the first axis of each sample.
return tuple(np.concatenate([np.asarray(s[k]).reshape(-1) for s in samples]) for k in range(len(samples[0])))

# %% mutant={"name": "collate-transposed", "target": "collate", "replace": "return tuple(np.stack([np.asarray(s[k]) for s in samples]) for k in range(len(samples[0])))", "catches": ["test-collate"]}
# Stacks samples instead of fields: one array per sample, not one per field.
return tuple(np.array(s, dtype=object) for s in samples)

# %% [markdown]
# The test collates tuples of arrays and numbers, and bare arrays, and checks shapes and values.

# %% nbgrader={"grade": true, "grade_id": "test-collate", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
def test_collate():
    """collate stacks field by field, and bare samples into one array."""
    samples = [(np.full((1, 2, 2), k, dtype=np.float32), k) for k in (3, 7, 1)]
    x, y = collate(samples)
    assert x.shape == (3, 1, 2, 2), f"images should stack to (3, 1, 2, 2), got {x.shape}"
    assert np.array_equal(y, [3, 7, 1]) and y.shape == (3,), f"labels should stack to [3, 7, 1], got {y}"
    assert np.all(x[1] == 7) and x.dtype == np.float32, "sample order and dtype are kept"
    bare = collate([np.arange(3), np.arange(3) + 10])
    assert isinstance(bare, np.ndarray) and bare.shape == (2, 3), f"bare arrays stack to one (2, 3) array, got {type(bare)}"

    class Squares(Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return (np.array([i, i * i]), i % 2)

    bx, by = Squares().get_batch([4, 1])
    assert np.array_equal(bx, [[4, 16], [1, 1]]) and np.array_equal(by, [0, 1]), "Dataset.get_batch collates ds[i]"
    print("collate: OK", x.shape, y)

test_collate()
### BEGIN HIDDEN TESTS
_x, = collate([(np.ones(3),)])
assert _x.shape == (1, 3), "a single one-field sample gives a (1, 3) batch"
_b = collate([1.5, 2.5])
assert np.allclose(_b, [1.5, 2.5]), "numbers stack into a 1-D array"
### END HIDDEN TESTS

# %% [markdown]
# ## 3. `TensorDataset`: arrays in memory
#
# Most of the time the whole data set is already in memory as a few arrays with the same first
# dimension: images `(N, C, H, W)` and labels `(N,)`. `TensorDataset(images, labels)` wraps them
# (Tensors or arrays). Sample `i` is `(images[i], labels[i])`.
#
# The interesting method is `get_batch`. Fetching 64 samples one by one and stacking them costs 64
# Python calls and 64 small copies. NumPy can do the whole batch in **one** call with an index array:
# `images[[3, 8, 0, 6]]` ("fancy indexing") copies those rows into a new array at C speed. Section 7
# measures the difference.

# %% nbgrader={"grade": false, "grade_id": "tensor-dataset", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class TensorDataset(Dataset):
    """Samples are rows of in-memory arrays: ds[i] == (arrays[0][i], arrays[1][i], ...)."""

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError("TensorDataset needs at least one array")
        self.arrays = tuple(np.asarray(t.data if isinstance(t, Tensor) else t) for t in tensors)
        lengths = [len(a) if a.ndim else None for a in self.arrays]
        if None in lengths or len(set(lengths)) != 1:
            raise ValueError("TensorDataset arrays must share their first dimension, got shapes "
                             + ", ".join(str(a.shape) for a in self.arrays))

    def __len__(self) -> int:
        return len(self.arrays[0])

    def __getitem__(self, index):
        """One sample: a tuple with row `index` of every array (negative indices count from the end).
        An index outside range(-len, len) raises IndexError."""
        ### BEGIN SOLUTION
        n = len(self)
        if not -n <= index < n:
            raise IndexError(f"index {index} is out of range for a dataset of {n} samples")
        return tuple(a[index] for a in self.arrays)
        ### END SOLUTION

    def get_batch(self, indices):
        """Many samples at once, vectorised: a tuple with rows `indices` of every array.
        HINT: one fancy-indexing operation per array, a[idx] with idx = np.asarray(indices)."""
        idx = np.asarray(indices, dtype=np.int64)
        ### BEGIN SOLUTION
        return tuple(a[idx] for a in self.arrays)
        ### END SOLUTION

    def __repr__(self) -> str:
        return f"TensorDataset({', '.join(str(a.shape) for a in self.arrays)})"

# %% mutant={"name": "dataset-no-bounds-check", "target": "tensor-dataset", "region": 0, "catches": ["test-tensor-dataset"]}
# Trusts NumPy to refuse bad indices (it wraps negatives, but also silently accepts nothing else).
return tuple(a[index % len(self)] for a in self.arrays)

# %% mutant={"name": "get-batch-first-array-only", "target": "tensor-dataset", "region": 1, "catches": ["test-tensor-dataset"]}
# Returns only the inputs, dropping the labels.
return (self.arrays[0][idx],)

# %% [markdown]
# The test checks single samples, negative and out-of-range indices, that `get_batch` gives exactly
# what collating single samples gives, and that mismatched arrays are refused.

# %% nbgrader={"grade": true, "grade_id": "test-tensor-dataset", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
def test_tensor_dataset():
    """ds[i] returns one row per array; get_batch equals collating the same rows."""
    x = np.arange(40, dtype=np.float32).reshape(10, 2, 2)
    y = np.arange(10) % 3
    ds = TensorDataset(Tensor(x), y)
    assert len(ds) == 10, f"len(ds) should be 10, got {len(ds)}"
    xi, yi = ds[4]
    assert np.array_equal(xi, x[4]) and yi == y[4], "ds[4] must be (x[4], y[4])"
    assert np.array_equal(ds[-1][0], x[9]), "negative indices count from the end"
    try:
        ds[10]
        raise AssertionError("ds[10] on 10 samples must raise IndexError")
    except IndexError:
        pass
    idx = [7, 2, 2, 0]
    bx, by = ds.get_batch(idx)
    cx, cy = collate([ds[i] for i in idx])
    assert bx.shape == (4, 2, 2) and np.array_equal(bx, cx) and np.array_equal(by, cy), \
        "get_batch(idx) must return the same arrays as collating ds[i] for i in idx"
    try:
        TensorDataset(np.zeros((5, 2)), np.zeros(4))
        raise AssertionError("arrays of different lengths must raise ValueError")
    except ValueError as e:
        assert "(5, 2)" in str(e), "the message should show the shapes"
    print("TensorDataset: OK", ds)

test_tensor_dataset()
### BEGIN HIDDEN TESTS
_ds = TensorDataset(np.arange(6))
assert _ds[2] == (2,) and isinstance(_ds.get_batch(np.array([5, 0])), tuple), "one array: 1-tuples"
assert np.array_equal(_ds.get_batch(np.array([5, 0]))[0], [5, 0])
### END HIDDEN TESTS

# %% [markdown]
# ## 4. `DataLoader`
#
# The loader owns three decisions: the **order** of the samples in an epoch, how they are **cut
# into batches**, and turning each batch into **Tensors**.
#
# **Seeded shuffling.** The loader creates one generator, `np.random.default_rng(seed)`, when it is
# built, and draws a fresh permutation from it at the start of every epoch. So two loaders built
# with the same seed produce the same sequence of epochs (a run can be repeated exactly), while
# consecutive epochs of one loader differ (the model never sees the same order twice).
#
# First, the bookkeeping: `len(loader)` is the number of batches per epoch (module 07's progress
# bars and learning-rate schedules need it), and `batch_indices()` returns the index arrays of one
# epoch.

# %% nbgrader={"grade": false, "grade_id": "dataloader-indices", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class DataLoader:
    """Iterate over a Dataset in mini-batches of Tensors.

    for x, y in DataLoader(TensorDataset(images, labels), batch_size=32, shuffle=True, seed=0):
        ...   # x: Tensor (32, ...), y: Tensor (32,); the last batch may be smaller unless drop_last

    transform, if given, is applied to the first field of every batch (the inputs) before it
    becomes a Tensor, e.g. Compose([RandomCrop(8, padding=1), Normalize(0.5, 0.25)]).
    """

    def __init__(self, dataset, batch_size: int = 32, shuffle: bool = False, drop_last: bool = False,
                 seed=None, transform=None):
        if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.transform = transform
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        """Batches per epoch: ceil(n / batch_size), or floor(n / batch_size) with drop_last."""
        n = len(self.dataset)
        ### BEGIN SOLUTION
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)
        ### END SOLUTION

    def batch_indices(self) -> list:
        """The index arrays of ONE epoch, in order.

        order: np.arange(n), or self.rng.permutation(n) when shuffling (one new draw per call)
        cut order into consecutive pieces of batch_size; leave out a short last piece if drop_last
        EXAMPLE: n=10, batch_size=4, no shuffle -> [array([0,1,2,3]), array([4,5,6,7]), array([8,9])]
        """
        n = len(self.dataset)
        ### BEGIN SOLUTION
        order = self.rng.permutation(n) if self.shuffle else np.arange(n)
        batches = [order[i:i + self.batch_size] for i in range(0, n, self.batch_size)]
        if self.drop_last and batches and len(batches[-1]) < self.batch_size:
            batches.pop()
        return batches
        ### END SOLUTION

    def __repr__(self) -> str:
        return (f"DataLoader({len(self.dataset)} samples, batch_size={self.batch_size}, shuffle={self.shuffle}, "
                f"drop_last={self.drop_last}, {len(self)} batches)")

# %% mutant={"name": "len-floor-always", "target": "dataloader-indices", "region": 0, "catches": ["test-batch-indices"]}
# Uses floor division whatever drop_last says: the last short batch is never counted.
return n // self.batch_size

# %% mutant={"name": "len-ceil-off-by-one", "target": "dataloader-indices", "region": 0, "catches": ["test-batch-indices"]}
# Rounds up with n // b + 1, one too many when b divides n.
return n // self.batch_size if self.drop_last else n // self.batch_size + 1

# %% mutant={"name": "indices-drop-last-always", "target": "dataloader-indices", "region": 1, "replace": "if self.drop_last and batches and len(batches[-1]) < self.batch_size:", "catches": ["test-batch-indices"]}
# Drops the short last batch even when drop_last is False.
if batches and len(batches[-1]) < self.batch_size:

# %% mutant={"name": "indices-shuffle-with-replacement", "target": "dataloader-indices", "region": 1, "replace": "self.rng.permutation(n)", "catches": ["test-batch-indices"]}
# Draws random indices with replacement: some samples twice per epoch, others never.
self.rng.integers(0, n, size=n)

# %% [markdown]
# The test checks the worked example of section 1 (10 samples, batches of 4) with and without
# `drop_last`, and that a shuffled epoch is a permutation of all indices.

# %% nbgrader={"grade": true, "grade_id": "test-batch-indices", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
def test_batch_indices():
    """len() and batch_indices() follow ceil/floor and cover every sample exactly once."""
    ds = TensorDataset(np.arange(10))
    plain = DataLoader(ds, batch_size=4)
    assert len(plain) == 3, f"10 samples in batches of 4: ceil(10/4) = 3 batches, got {len(plain)}"
    got = [b.tolist() for b in plain.batch_indices()]
    assert got == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]], f"without shuffle the order is 0..9, got {got}"
    dropped = DataLoader(ds, batch_size=4, drop_last=True)
    assert len(dropped) == 2, f"drop_last: floor(10/4) = 2 batches, got {len(dropped)}"
    assert [len(b) for b in dropped.batch_indices()] == [4, 4], "drop_last removes the short last batch"
    assert len(DataLoader(ds, batch_size=5, drop_last=True)) == 2, "an exact fit drops nothing"
    assert len(DataLoader(ds, batch_size=5)) == 2, "10 samples in batches of 5 are exactly 2 batches, not 3"
    assert len(DataLoader(ds, batch_size=64)) == 1 and len(DataLoader(ds, batch_size=64, drop_last=True)) == 0
    shuffled = DataLoader(ds, batch_size=3, shuffle=True, seed=0).batch_indices()
    flat = np.concatenate(shuffled)
    assert sorted(flat.tolist()) == list(range(10)), "a shuffled epoch still visits every sample exactly once"
    assert flat.tolist() != list(range(10)), "shuffle=True must change the order"
    assert [len(b) for b in shuffled] == [3, 3, 3, 1], "batch sizes do not depend on shuffling"
    print("DataLoader.batch_indices: OK", got)

test_batch_indices()
### BEGIN HIDDEN TESTS
assert DataLoader(TensorDataset(np.arange(0)), batch_size=4).batch_indices() == [], "an empty dataset has no batches"
assert len(DataLoader(TensorDataset(np.arange(7)), batch_size=1, drop_last=True)) == 7
### END HIDDEN TESTS

# %% [markdown]
# ### The iteration protocol
#
# `for x, y in loader:` calls `iter(loader)` once, then `next(...)` until `StopIteration`. Writing
# `__iter__` as a **generator** (a function with `yield`) gives us both for free, and a fresh
# generator, hence a fresh shuffled order, for every `for` loop: one loop is one epoch.
#
# For each index array: fetch the batch with `dataset.get_batch(idx)` (a tuple of arrays, or one
# array), apply `self.transform` to the first field if there is a transform, and yield the fields as
# a tuple of `Tensor`s (a single array becomes a single `Tensor`).

# %% nbgrader={"grade": false, "grade_id": "dataloader-iter", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def _loader_iter(self):
    """Yield one batch per index array of batch_indices(): a tuple of Tensors (or one Tensor)."""
    for idx in self.batch_indices():
        batch = self.dataset.get_batch(idx)
        ### BEGIN SOLUTION
        single = not isinstance(batch, tuple)
        fields = [batch] if single else list(batch)
        if self.transform is not None:
            fields[0] = self.transform(fields[0])
        tensors = tuple(Tensor(np.asarray(f)) for f in fields)
        yield tensors[0] if single else tensors
        ### END SOLUTION


DataLoader.__iter__ = _loader_iter

# %% mutant={"name": "iter-shuffles-once", "target": "dataloader-iter", "catches": ["test-dataloader-iter"]}
# Caches the first epoch's order, so every epoch sees the same batches.
if not hasattr(self, "_order"):
    self._order = self.batch_indices()
for idx in self._order:
    batch = self.dataset.get_batch(idx)
    yield tuple(Tensor(np.asarray(f)) for f in batch) if isinstance(batch, tuple) else Tensor(np.asarray(batch))
return

# %% mutant={"name": "iter-transforms-every-field", "target": "dataloader-iter", "replace": "fields[0] = self.transform(fields[0])", "catches": ["test-dataloader-iter"]}
# Applies the transform to the labels too.
fields = [self.transform(f) for f in fields]

# %% [markdown]
# The test runs two epochs and checks types, shapes, dtypes, that every sample arrives once per
# epoch, that the same seed repeats the same epochs and that a transform is applied.

# %% nbgrader={"grade": true, "grade_id": "test-dataloader-iter", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
def test_dataloader_iter():
    """Iterating yields Tensor batches; epochs are reshuffled; seeds reproduce them; transforms run."""
    x = np.arange(10, dtype=np.float32)[:, None] * np.ones((1, 3), dtype=np.float32)
    y = np.arange(10, dtype=np.int64)
    loader = DataLoader(TensorDataset(x, y), batch_size=4, shuffle=True, seed=42)
    epoch1 = list(loader)
    assert len(epoch1) == 3, f"3 batches per epoch expected, got {len(epoch1)}"
    bx, by = epoch1[0]
    assert isinstance(bx, Tensor) and isinstance(by, Tensor), "batches must be Tensors"
    assert bx.shape == (4, 3) and by.shape == (4,), f"first batch shapes (4, 3) and (4,), got {bx.shape}, {by.shape}"
    assert bx.data.dtype == np.float32 and by.data.dtype == np.int64, "dtypes are kept (float32 inputs, int64 labels)"
    labels1 = np.concatenate([b[1].data for b in epoch1])
    assert sorted(labels1.tolist()) == list(range(10)), "each epoch delivers every sample once"
    assert all(np.array_equal(b[0].data[:, 0], b[1].data) for b in epoch1), "inputs and labels must stay paired"
    labels2 = np.concatenate([b[1].data for b in loader])
    assert labels1.tolist() != labels2.tolist(), "a second epoch must use a new order"
    again = DataLoader(TensorDataset(x, y), batch_size=4, shuffle=True, seed=42)
    assert np.concatenate([b[1].data for b in again]).tolist() == labels1.tolist(), "the same seed gives the same first epoch"
    doubled = DataLoader(TensorDataset(x, y), batch_size=5, transform=lambda a: a * 2)
    first = next(iter(doubled))
    assert np.allclose(first[0].data[:, 0], [0, 2, 4, 6, 8]) and np.array_equal(first[1].data, [0, 1, 2, 3, 4]), \
        "the transform applies to the inputs only"
    single = next(iter(DataLoader(TensorDataset(x), batch_size=2)))
    assert isinstance(single, tuple) and len(single) == 1, "a one-array dataset yields 1-tuples"
    print("DataLoader iteration: OK; epoch 1 labels", labels1, " epoch 2", labels2)

test_dataloader_iter()
### BEGIN HIDDEN TESTS
class _Bare(Dataset):
    def __len__(self):
        return 5

    def __getitem__(self, i):
        return np.full(2, float(i))
_one = list(DataLoader(_Bare(), batch_size=2))
assert isinstance(_one[0], Tensor) and _one[-1].shape == (1, 2), "bare samples give single Tensors"
_it = iter(DataLoader(TensorDataset(np.arange(3)), batch_size=2))
next(_it); next(_it)
try:
    next(_it)
    raise AssertionError("StopIteration expected after the last batch")
except StopIteration:
    pass
### END HIDDEN TESTS

# %% [markdown]
# A loader is exactly the "iterable of `(x, y)` batches" module 07's `Trainer` consumes:
#
# ```python
# train_loader = DataLoader(TensorDataset(x_train, y_train), batch_size=32, shuffle=True, seed=0)
# trainer.fit(train_loader, epochs=10)
# ```
#
# ## 5. Transforms: normalisation and augmentation
#
# Transforms are small callables applied to the inputs of each batch, arrays of shape `(N, C, H, W)`
# for images. Working on a whole batch keeps them vectorised.
#
# **`Normalize(mean, std)`** computes `(x - mean) / std`. With per-channel statistics (one number
# per colour channel, shape `(C,)`), `mean` has to be reshaped to `(C, 1, 1)` so it broadcasts over
# `(N, C, H, W)`:
#
# ```
#  x (N, 3, H, W) - mean (3, 1, 1)   ->   channel c of every image has mean[c] subtracted
# ```
#
# Why normalise at all? Raw pixels are 0..255 (or 0..16 for the digits). Inputs centred near 0 with a
# spread near 1 keep the first layer's pre-activations in the range its initialisation was designed
# for (module 03), which makes training faster and less fragile.

# %% nbgrader={"grade": false, "grade_id": "normalize", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def _as_array(x) -> np.ndarray:
    return np.asarray(x.data if isinstance(x, Tensor) else x)


class Normalize:
    """(x - mean) / std. mean and std are numbers, or one value per channel for (N, C, H, W) batches."""

    def __init__(self, mean, std):
        self.mean = np.asarray(mean, dtype=np.float32)
        self.std = np.asarray(std, dtype=np.float32)
        if np.any(self.std <= 0):
            raise ValueError(f"std must be positive, got {std}")

    def __call__(self, x) -> np.ndarray:
        """Return a float32 array; per-channel mean/std (1-D, length C) are reshaped to (C, 1, 1)
        for inputs with at least 3 dimensions."""
        x = _as_array(x).astype(np.float32)
        mean, std = self.mean, self.std
        ### BEGIN SOLUTION
        if x.ndim >= 3:
            if mean.ndim == 1:
                mean = mean.reshape(-1, 1, 1)
            if std.ndim == 1:
                std = std.reshape(-1, 1, 1)
        return (x - mean) / std
        ### END SOLUTION

    def __repr__(self) -> str:
        return f"Normalize(mean={self.mean.tolist()}, std={self.std.tolist()})"

# %% mutant={"name": "normalize-flat-channels", "target": "normalize", "catches": ["test-normalize"]}
# Does not reshape per-channel values: (C,) broadcasts against the width axis instead of the channels.
return (x - mean) / std

# %% mutant={"name": "normalize-multiplies-std", "target": "normalize", "replace": "return (x - mean) / std", "catches": ["test-normalize"]}
# Multiplies by std instead of dividing.
return (x - mean) * std

# %% [markdown]
# The test normalises a 2-channel batch with per-channel statistics and a flat batch with scalars.

# %% nbgrader={"grade": true, "grade_id": "test-normalize", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
def test_normalize():
    """Normalize subtracts and divides per channel (C, 1, 1) or by scalars."""
    x = np.zeros((2, 2, 3, 3), dtype=np.uint8)
    x[:, 0], x[:, 1] = 10, 200
    out = Normalize(mean=[10, 100], std=[1, 50])(x)
    assert out.shape == x.shape and out.dtype == np.float32, f"shape {x.shape} float32 expected, got {out.shape} {out.dtype}"
    assert np.allclose(out[:, 0], 0) and np.allclose(out[:, 1], 2), \
        f"channel 0: (10-10)/1 = 0, channel 1: (200-100)/50 = 2; got {out[0, :, 0, 0]}"
    flat = Normalize(0.5, 0.25)(np.array([[0.5, 1.0]]))
    assert np.allclose(flat, [[0, 2]]), f"scalars broadcast everywhere, got {flat}"
    print("Normalize: OK")

test_normalize()
### BEGIN HIDDEN TESTS
assert np.allclose(Normalize([1, 2, 3], [1, 1, 1])(np.ones((1, 3, 2, 2)))[0, :, 0, 0], [0, -1, -2]), "3 channels"
### END HIDDEN TESTS

# %% [markdown]
# **Augmentation** makes the training set look larger than it is: a digit shifted by one pixel or a
# cat seen in a mirror is still the same class, so showing the model such variants teaches it to
# ignore shifts and mirroring. Both transforms below draw their randomness from their own seeded
# generator, so augmented runs stay reproducible. They are for training batches only: evaluation
# data is never augmented.
#
# **`RandomHorizontalFlip(p)`** mirrors each image (reverses its last axis, the width) with
# probability `p`, independently per image. **`RandomCrop(size, padding)`** pads each image with
# `padding` zeros on all four sides, then cuts out a `size x size` window at a random position,
# a different one for each image:
#
# ```
#   8x8 image, padding=1  ->  10x10 padded  ->  random 8x8 window, top, left in 0..2
#   . . . . . . . . . .
#   . # # # # # # # # .       top=0, left=2: the image moves 1 pixel left and 1 pixel down,
#   . # # # # # # # # .                      a zero column enters on the right
#   ...
# ```

# %% nbgrader={"grade": false, "grade_id": "augment", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class RandomHorizontalFlip:
    """Mirror each image of a (..., H, W) batch along W with probability p."""

    def __init__(self, p: float = 0.5, seed=None):
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"p must be in [0, 1], got {p}")
        self.p = p
        self.rng = np.random.default_rng(seed)

    def __call__(self, x) -> np.ndarray:
        """HINT: flip = self.rng.random(len(x)) < self.p; out[flip] = x[flip][..., ::-1]."""
        x = _as_array(x)
        out = x.copy()
        ### BEGIN SOLUTION
        flip = self.rng.random(len(x)) < self.p
        out[flip] = x[flip][..., ::-1]
        ### END SOLUTION
        return out


class RandomCrop:
    """Zero-pad each image of a (N, ..., H, W) batch by `padding`, then crop a random size x size window."""

    def __init__(self, size: int, padding: int = 0, seed=None):
        self.size, self.padding = int(size), int(padding)
        self.rng = np.random.default_rng(seed)

    def __call__(self, x) -> np.ndarray:
        """HINTS: np.pad with ((0, 0), ..., (p, p), (p, p)) pads only the last two axes;
        tops = self.rng.integers(0, H_padded - size + 1, size=N), lefts likewise;
        then copy padded[n, ..., top:top+size, left:left+size] into out[n]."""
        x = _as_array(x)
        p, s = self.padding, self.size
        pad = [(0, 0)] * (x.ndim - 2) + [(p, p), (p, p)]
        padded = np.pad(x, pad)
        H, W = padded.shape[-2:]
        if s > H or s > W:
            raise ValueError(f"crop size {s} is larger than the padded image {H}x{W}")
        out = np.empty(x.shape[:-2] + (s, s), dtype=x.dtype)
        ### BEGIN SOLUTION
        tops = self.rng.integers(0, H - s + 1, size=len(x))
        lefts = self.rng.integers(0, W - s + 1, size=len(x))
        for n, (t, l) in enumerate(zip(tops, lefts)):
            out[n] = padded[n, ..., t:t + s, l:l + s]
        ### END SOLUTION
        return out


class Compose:
    """Apply transforms in order: Compose([a, b])(x) == b(a(x))."""

    def __init__(self, transforms):
        self.transforms = list(transforms)

    def __call__(self, x):
        for t in self.transforms:
            x = t(x)
        return x

# %% mutant={"name": "flip-height-axis", "target": "augment", "region": 0, "replace": "x[flip][..., ::-1]", "catches": ["test-augment"]}
# Mirrors the rows (a vertical flip) instead of the columns.
x[flip][..., ::-1, :]

# %% mutant={"name": "flip-whole-batch", "target": "augment", "region": 0, "catches": ["test-augment"]}
# Draws one coin for the whole batch instead of one per image.
if self.rng.random() < self.p:
    out = x[..., ::-1].copy()

# %% mutant={"name": "crop-same-window", "target": "augment", "region": 1, "replace": "size=len(x))\nlefts", "catches": ["test-augment"]}
# Draws one window position and reuses it for every image.
size=1).repeat(len(x))
lefts

# %% [markdown]
# The test checks that a flip with `p=1` mirrors everything and `p=0` nothing, that `p=0.5` flips
# about half, and that a crop is always a shifted copy of the image (every crop position is checked
# against the padded original).

# %% nbgrader={"grade": true, "grade_id": "test-augment", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
def test_augment():
    """Flips mirror the width axis per image; crops are random windows of the zero-padded image."""
    x = np.arange(2 * 1 * 3 * 4, dtype=np.float32).reshape(2, 1, 3, 4)
    assert np.array_equal(RandomHorizontalFlip(1.0)(x), x[..., ::-1]), "p=1 mirrors every image along W"
    assert np.array_equal(RandomHorizontalFlip(0.0)(x), x), "p=0 leaves every image alone"
    many = np.tile(np.arange(4.0), (1000, 1, 1, 1))
    flipped = (RandomHorizontalFlip(0.5, seed=0)(many)[:, 0, 0, 0] == 3).mean()
    assert 0.4 < flipped < 0.6, f"p=0.5 should flip about half the images, flipped {flipped:.0%}"
    assert np.all(many[:, 0, 0, 0] == 0), "the input batch must not be changed"
    img = np.arange(1, 17, dtype=np.float32).reshape(1, 1, 4, 4).repeat(50, axis=0)
    crops = RandomCrop(4, padding=1, seed=0)(img)
    assert crops.shape == (50, 1, 4, 4), f"crop shape should be (50, 1, 4, 4), got {crops.shape}"
    padded = np.pad(img[0, 0], 1)
    windows = {(t, l) for t in range(3) for l in range(3)}
    seen = set()
    for c in crops[:, 0]:
        match = [(t, l) for t, l in windows if np.array_equal(padded[t:t + 4, l:l + 4], c)]
        assert match, f"every crop must be a 4x4 window of the padded image, got\n{c}"
        seen.add(match[0])
    assert len(seen) >= 5, f"crops should land at many different positions, saw only {sorted(seen)}"
    assert np.array_equal(RandomCrop(4)(img), img), "without padding, a full-size crop is the image itself"
    a, b = RandomCrop(4, 1, seed=3)(img), RandomCrop(4, 1, seed=3)(img)
    assert np.array_equal(a, b), "the same seed gives the same crops"
    print(f"augmentations: OK (flipped {flipped:.0%}, {len(seen)} crop positions)")

test_augment()
### BEGIN HIDDEN TESTS
_c = RandomCrop(2, padding=0, seed=1)(np.arange(9.0).reshape(1, 3, 3))
assert _c.shape == (1, 2, 2) and _c[0, 1, 1] - _c[0, 0, 0] == 4, "works on (N, H, W) batches too"
_f = Compose([RandomHorizontalFlip(1.0), Normalize(1.0, 2.0)])(np.array([[[1.0, 3.0]]]))
assert np.allclose(_f, [[[1.0, 0.0]]]), "Compose applies in order"
### END HIDDEN TESTS

# %% [markdown]
# Here is one digit-like image under eight random crops and flips (printed as characters):

# %%
demo = np.zeros((1, 1, 6, 6), dtype=np.float32)
demo[0, 0, 1:5, 2] = 1
demo[0, 0, 1, 2:4] = 1
aug = Compose([RandomCrop(6, padding=1, seed=0), RandomHorizontalFlip(0.5, seed=0)])
views = aug(demo.repeat(8, axis=0))
for row in range(6):
    print("   ".join("".join("#" if v else "." for v in views[k, 0, row]) for k in range(8)))

# %% [markdown]
# ## 6. Real data files
#
# Data sets are shipped in simple binary formats, and reading them takes a few lines of NumPy once
# you know the layout.
#
# ### MNIST: the IDX format
#
# An IDX file is a tiny header followed by raw numbers:
#
# ```
#  bytes 0-1   0x00 0x00                 always zero
#  byte  2     type code                 0x08 = uint8, 0x09 = int8, 0x0B = int16, 0x0C = int32,
#                                        0x0D = float32, 0x0E = float64
#  byte  3     number of dimensions d    3 for images (N, rows, cols), 1 for labels (N,)
#  then        d sizes, each a 4-byte BIG-endian unsigned int
#  then        the data, row-major, big-endian
#
#  e.g. a label file of 60000 labels: 00 00 08 01 | 00 00 EA 60 | 05 00 04 01 09 ...
#                                                   60000 (0xEA60)  labels 5, 0, 4, 1, 9
# ```
#
# NumPy reads big-endian numbers with a dtype like `">u4"` ("big-endian unsigned 4 bytes"), and
# `np.frombuffer(raw, dtype, count, offset)` turns bytes into an array without copying. The files
# are usually distributed gzip-compressed; `gzip.open` reads those.

# %% nbgrader={"grade": false, "grade_id": "load-idx", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def load_idx(path) -> np.ndarray:
    """Read one IDX file (raw, or gzip-compressed if the name ends in .gz) into an array.

    Raises ValueError for a bad magic number, an unknown type code, or a size that does not match
    the header. The result uses the machine's native byte order.
    HINTS: raw[2] is the type code, raw[3] the number of dimensions d;
    shape = np.frombuffer(raw, ">u4", count=d, offset=4); the data starts at offset 4 + 4 * d.
    """
    path = Path(path)
    raw = gzip.open(path, "rb").read() if path.suffix == ".gz" else path.read_bytes()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"{path}: not an IDX file (it must start with two zero bytes)")
    if raw[2] not in _IDX_TYPES:
        raise ValueError(f"{path}: unknown IDX type code 0x{raw[2]:02x}")
    dtype, ndim = np.dtype(_IDX_TYPES[raw[2]]), raw[3]
    ### BEGIN SOLUTION
    shape = tuple(int(s) for s in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    offset = 4 + 4 * ndim
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) - offset != expected:
        raise ValueError(f"{path}: header says shape {shape} ({expected} bytes) but {len(raw) - offset} bytes follow")
    data = np.frombuffer(raw, dtype=dtype, offset=offset).reshape(shape)
    ### END SOLUTION
    return data.astype(dtype.newbyteorder("="))


def load_mnist(images_path, labels_path):
    """(images float32 (N, 1, rows, cols) in [0, 1], labels int64 (N,)) from two IDX files."""
    images, labels = load_idx(images_path), load_idx(labels_path)
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise ValueError(f"expected images (N, rows, cols) and labels (N,), got {images.shape} and {labels.shape}")
    return images[:, None].astype(np.float32) / 255.0, labels.astype(np.int64)

# %% [markdown]
# Rather than downloading MNIST (we stay offline), the test **writes** small IDX files in the real
# format, one raw and one gzip-compressed, and reads them back; it also checks a big-endian int32
# file and that a truncated file is refused.

# %% nbgrader={"grade": true, "grade_id": "test-load-idx", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
def write_idx(path, array, code):
    """Test helper: write `array` in IDX format with the given type code."""
    dt = {0x08: ">u1", 0x0C: ">i4", 0x0D: ">f4"}[code]
    header = bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    body = header + np.asarray(array, dtype=dt).tobytes()
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "wb") as fh:
        fh.write(body)


def test_load_idx():
    """IDX files (raw or .gz, any type code) load with the right shape, values and dtype."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(5, 28, 28), dtype=np.uint8)
    labels = np.array([5, 0, 4, 1, 9], dtype=np.uint8)
    with tempfile.TemporaryDirectory() as d:
        write_idx(f"{d}/img-idx3-ubyte.gz", images, 0x08)
        write_idx(f"{d}/lbl-idx1-ubyte", labels, 0x08)
        back = load_idx(f"{d}/img-idx3-ubyte.gz")
        assert back.shape == (5, 28, 28) and np.array_equal(back, images), f"images should round-trip, got shape {back.shape}"
        assert np.array_equal(load_idx(f"{d}/lbl-idx1-ubyte"), labels), "labels should round-trip"
        big = np.array([[1, -2, 70000], [3, 4, -5]], dtype=np.int32)
        write_idx(f"{d}/ints", big, 0x0C)
        got = load_idx(f"{d}/ints")
        assert np.array_equal(got, big) and got.dtype == np.int32 and got.dtype.isnative, \
            f"int32 values are big-endian in the file: expected {big.tolist()}, got {got.tolist()}"
        x, y = load_mnist(f"{d}/img-idx3-ubyte.gz", f"{d}/lbl-idx1-ubyte")
        assert x.shape == (5, 1, 28, 28) and x.dtype == np.float32 and 0 <= x.min() and x.max() <= 1, "images (N, 1, 28, 28) in [0, 1]"
        assert y.dtype == np.int64 and y.tolist() == [5, 0, 4, 1, 9], f"labels int64 [5, 0, 4, 1, 9], got {y}"
        with open(f"{d}/cut", "wb") as fh:
            fh.write(open(f"{d}/lbl-idx1-ubyte", "rb").read()[:-1])
        try:
            load_idx(f"{d}/cut")
            raise AssertionError("a file shorter than its header says must raise ValueError")
        except ValueError:
            pass
    print("load_idx / load_mnist: OK")

test_load_idx()
### BEGIN HIDDEN TESTS
with tempfile.TemporaryDirectory() as _d:
    write_idx(f"{_d}/f", np.array([1.5, -2.25], dtype=np.float32), 0x0D)
    assert np.allclose(load_idx(f"{_d}/f"), [1.5, -2.25]), "float32 IDX"
    with open(f"{_d}/bad", "wb") as _fh:
        _fh.write(b"\x01\x00\x08\x01\x00\x00\x00\x00")
    try:
        load_idx(f"{_d}/bad")
        raise AssertionError("bad magic")
    except ValueError:
        pass
### END HIDDEN TESTS

# %% [markdown]
# ### CIFAR-10: pickled batches
#
# The "python version" of CIFAR-10 is six files (`data_batch_1` ... `data_batch_5`, `test_batch`),
# each a Python **pickle** of a dict with (byte-string) keys `b"data"`, a `uint8` array of shape
# `(10000, 3072)`, and `b"labels"`, a list of 10,000 ints. Each row of `data` holds one 32x32 colour
# image **channel by channel**: 1024 red values, then 1024 green, then 1024 blue, each row-major.
# That is exactly NCHW order, so a reshape to `(N, 3, 32, 32)` is all it takes, no transpose.
#
# The files were written by Python 2, so they must be read with `pickle.load(f, encoding="bytes")`
# (their keys are bytes). A word of caution: unpickling can run code, so only unpickle files from a
# source you trust.

# %% nbgrader={"grade": false, "grade_id": "load-cifar", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def load_cifar10_batch(path):
    """(images float32 (N, 3, 32, 32) in [0, 1], labels int64 (N,)) from one CIFAR-10 python batch file.

    HINTS: batch = pickle.load(fh, encoding="bytes"); keys may be b"data"/b"labels" (or str);
    reshape the uint8 rows to (N, 3, 32, 32) and divide by 255.
    """
    with open(path, "rb") as fh:
        batch = pickle.load(fh, encoding="bytes")
    ### BEGIN SOLUTION
    data = batch[b"data"] if b"data" in batch else batch["data"]
    labels = batch[b"labels"] if b"labels" in batch else batch["labels"]
    images = np.asarray(data, dtype=np.uint8).reshape(-1, 3, 32, 32).astype(np.float32) / 255.0
    labels = np.asarray(labels, dtype=np.int64)
    ### END SOLUTION
    if len(images) != len(labels):
        raise ValueError(f"{path}: {len(images)} images but {len(labels)} labels")
    return images, labels


def load_cifar10(folder):
    """((x_train, y_train), (x_test, y_test)) from a folder with data_batch_1..5 and test_batch."""
    folder = Path(folder)
    if (folder / "cifar-10-batches-py").is_dir():
        folder = folder / "cifar-10-batches-py"
    train_files = sorted(folder.glob("data_batch_*"))
    if not train_files or not (folder / "test_batch").is_file():
        raise FileNotFoundError(f"{folder}: expected data_batch_1..5 and test_batch (CIFAR-10 python version)")
    parts = [load_cifar10_batch(p) for p in train_files]
    train = (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]))
    return train, load_cifar10_batch(folder / "test_batch")

# %% [markdown]
# The test writes two fake batches in the real layout (a red, a green and a blue image, with known
# pixel values) and checks that channels land where they should.

# %% nbgrader={"grade": true, "grade_id": "test-load-cifar", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
def write_cifar_batch(path, images_uint8, labels):
    """Test helper: one CIFAR-10 style batch (Python-2 style bytes keys, rows of 3072 bytes)."""
    with open(path, "wb") as fh:
        pickle.dump({b"data": images_uint8.reshape(len(images_uint8), -1), b"labels": list(labels),
                     b"batch_label": b"fake"}, fh)


def test_load_cifar():
    """CIFAR batches load as (N, 3, 32, 32) float32 in [0, 1] with channels in NCHW order."""
    imgs = np.zeros((3, 3, 32, 32), dtype=np.uint8)
    for k in range(3):
        imgs[k, k] = 255                     # image 0 pure red, 1 pure green, 2 pure blue
    imgs[0, 1, 5, 7] = 51                    # one green pixel in the red image
    with tempfile.TemporaryDirectory() as d:
        write_cifar_batch(f"{d}/data_batch_1", imgs, [0, 6, 9])
        write_cifar_batch(f"{d}/test_batch", imgs[:1], [3])
        x, y = load_cifar10_batch(f"{d}/data_batch_1")
        assert x.shape == (3, 3, 32, 32) and x.dtype == np.float32, f"expected float32 (3, 3, 32, 32), got {x.dtype} {x.shape}"
        assert y.dtype == np.int64 and y.tolist() == [0, 6, 9], f"labels int64 [0, 6, 9], got {y}"
        assert np.allclose(x[:, :, 0, 0], np.eye(3)), f"image k should be pure channel k: got {x[:, :, 0, 0]}"
        assert np.isclose(x[0, 1, 5, 7], 0.2), "rows are channel-major: pixel (row 5, col 7) of channel 1 is 51/255 = 0.2"
        (xt, yt), (xs, ys) = load_cifar10(d)
        assert xt.shape == (3, 3, 32, 32) and xs.shape == (1, 3, 32, 32) and ys.tolist() == [3], "load_cifar10 reads the folder"
    print("load_cifar10_batch: OK")

test_load_cifar()
### BEGIN HIDDEN TESTS
with tempfile.TemporaryDirectory() as _d:
    with open(f"{_d}/b", "wb") as _fh:
        pickle.dump({"data": np.full((2, 3072), 255, np.uint8), "labels": [1, 2]}, _fh)
    _x, _y = load_cifar10_batch(f"{_d}/b")
    assert np.allclose(_x, 1.0) and _y.tolist() == [1, 2], "str keys work too"
### END HIDDEN TESTS

# %% [markdown]
# ### The course's digits
#
# The repository ships a small real data set, `datasets/digits.npz`: 1,797 handwritten digits of
# 8x8 pixels with values 0..16 (see `datasets/README.md` for its source and licence). The milestones
# train on it, so `load_digits()` has to find it wherever the code runs: first the folder or file in
# the `TINYTORCH_DATA` environment variable, then the `datasets/` folder next to the package, then
# `datasets/` in the current folder or any folder above it (where a student's notebook lives).
# Finding the file is given; turning the raw arrays into model inputs is yours: images become
# float32 `(N, 1, 8, 8)` scaled to `[0, 1]` (divide by 16), labels int64.

# %% nbgrader={"grade": false, "grade_id": "load-digits", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
DATA_ENV = "TINYTORCH_DATA"


def find_data_file(name: str) -> Path:
    """Path of datasets/<name>: $TINYTORCH_DATA (a folder, or the file itself), the repository's
    datasets/ next to the package, then datasets/ in the current folder or any parent."""
    places = []
    env = os.environ.get(DATA_ENV)
    if env:
        places += [Path(env), Path(env) / name]
    places.append(Path(__file__).resolve().parents[2] / "datasets" / name if "__file__" in globals() else None)
    here = Path.cwd().resolve()
    places += [folder / "datasets" / name for folder in [here, *here.parents]]
    for p in places:
        if p is not None and p.is_file() and p.name == name:
            return p
    raise FileNotFoundError(f"{name} not found; set {DATA_ENV} to the folder that holds it. Looked in: "
                            + ", ".join(str(p) for p in places if p is not None))


def load_digits(path=None):
    """(images float32 (1797, 1, 8, 8) in [0, 1], labels int64 (1797,)) from digits.npz."""
    with np.load(path or find_data_file("digits.npz"), allow_pickle=False) as data:
        images, labels = data["images"], data["labels"]
    ### BEGIN SOLUTION
    images = images.reshape(len(images), 1, 8, 8).astype(np.float32) / 16.0
    labels = labels.astype(np.int64)
    ### END SOLUTION
    return images, labels

# %% [markdown]
# The test loads the shipped file, then points `TINYTORCH_DATA` at a small file it writes itself.

# %% nbgrader={"grade": true, "grade_id": "test-load-digits", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
def test_load_digits():
    """load_digits scales to [0, 1], shapes (N, 1, 8, 8), and honours TINYTORCH_DATA."""
    old = os.environ.get(DATA_ENV)
    try:
        with tempfile.TemporaryDirectory() as d:
            np.savez(f"{d}/digits.npz", images=np.full((4, 8, 8), 16, np.uint8), labels=np.arange(4))
            os.environ[DATA_ENV] = d
            x, y = load_digits()
            assert x.shape == (4, 1, 8, 8) and x.dtype == np.float32, f"expected float32 (4, 1, 8, 8), got {x.dtype} {x.shape}"
            assert np.allclose(x, 1.0), "16 (full ink) must become 1.0"
            assert y.dtype == np.int64 and y.tolist() == [0, 1, 2, 3], "labels int64"
    finally:
        if old is None:
            os.environ.pop(DATA_ENV, None)
        else:
            os.environ[DATA_ENV] = old
    try:
        x, y = load_digits()
    except FileNotFoundError:
        print("(datasets/digits.npz not found from here; only the TINYTORCH_DATA part was tested)")
        return
    assert x.shape == (1797, 1, 8, 8) and 0.0 <= x.min() and x.max() == 1.0, f"shipped digits: (1797, 1, 8, 8) in [0, 1], got {x.shape}"
    assert sorted(set(y.tolist())) == list(range(10)), "ten classes 0..9"
    print("load_digits: OK", x.shape, np.bincount(y))

test_load_digits()
### BEGIN HIDDEN TESTS
with tempfile.TemporaryDirectory() as _d:
    np.savez(f"{_d}/mine.npz", images=np.zeros((2, 8, 8), np.uint8), labels=np.array([7, 8]))
    _x, _y = load_digits(f"{_d}/mine.npz")
    assert _x.shape == (2, 1, 8, 8) and _y.tolist() == [7, 8], "an explicit path is used as is"
### END HIDDEN TESTS

# %% [markdown]
# Everything together: the digits, a seeded shuffling loader, and training-time augmentation.

# %%
try:
    digits_x, digits_y = load_digits()
except FileNotFoundError:
    rng0 = np.random.default_rng(0)
    digits_x, digits_y = rng0.random((1797, 1, 8, 8), dtype=np.float32), rng0.integers(0, 10, 1797)
train_loader = DataLoader(TensorDataset(digits_x, digits_y), batch_size=64, shuffle=True, seed=0,
                          transform=Compose([RandomCrop(8, padding=1, seed=0), Normalize(0.3, 0.4)]))
xb, yb = next(iter(train_loader))
print(train_loader)
print("first batch:", xb.shape, xb.data.dtype, yb.shape, yb.data.dtype, " labels:", yb.data[:12])
print(f"normalised inputs: mean {xb.data.mean():.2f}, std {xb.data.std():.2f}")

# %% [markdown]
# ## 7. Systems analysis: batch size and throughput
#
# How many samples per second can a loader deliver, and what does the batch size change? We build a
# data set of 4,096 MNIST-sized images `(1, 28, 28)` and measure one full epoch for several batch
# sizes, two ways:
#
# - **per-sample**: the generic `Dataset.get_batch`, which calls `ds[i]` for each sample and
#   collates (what you get from any `Dataset` that does not know better);
# - **vectorised**: `TensorDataset.get_batch`, one fancy-indexing call per batch.
#
# A third column adds the work a model would do with each batch: one `(B, 784) @ (784, 128)` matrix
# product, the first layer of an MLP, so we see how batching affects compute too.

# %%
class PerSample(Dataset):
    """The same data, but only the generic one-sample-at-a-time path."""

    def __init__(self, inner):
        self.inner = inner

    def __len__(self):
        return len(self.inner)

    def __getitem__(self, i):
        return self.inner[i]


def epoch_seconds(loader, work=None, repeats=3):
    """Median wall time of one full epoch over `loader` (optionally doing `work(x)` per batch)."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for xb, yb in loader:
            if work is not None:
                work(xb.data)
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


rng = np.random.default_rng(0)
N = 4096
big_x = rng.random((N, 1, 28, 28), dtype=np.float32)
big_y = rng.integers(0, 10, N)
fast_ds = TensorDataset(big_x, big_y)
slow_ds = PerSample(fast_ds)
W1 = rng.standard_normal((784, 128)).astype(np.float32)


def first_layer(xb):
    return xb.reshape(len(xb), -1) @ W1


print(f"{'batch':>6} | {'per-sample (samples/s)':>22} | {'vectorised (samples/s)':>22} | {'speed-up':>8} | "
      f"{'+ x@W (samples/s)':>17} | {'batch MiB':>9}")
throughput = {}
for bs in [1, 8, 32, 128, 512]:
    slow = epoch_seconds(DataLoader(slow_ds, batch_size=bs, shuffle=True, seed=0), repeats=1 if bs == 1 else 3)
    fast = epoch_seconds(DataLoader(fast_ds, batch_size=bs, shuffle=True, seed=0))
    work = epoch_seconds(DataLoader(fast_ds, batch_size=bs, shuffle=True, seed=0), work=first_layer)
    throughput[bs] = (N / slow, N / fast, N / work)
    print(f"{bs:>6} | {N / slow:>22,.0f} | {N / fast:>22,.0f} | {slow / fast:>7.1f}x | {N / work:>17,.0f} | "
          f"{bs * big_x[0].nbytes / 2**20:>9.2f}")
gain = throughput[512][1] / throughput[1][1]
print(f"\nvectorised loader, batch 512 vs batch 1: {gain:.0f}x more samples per second")

# %% [markdown]
# What the table shows:
#
# - **Batch size 1 is the slowest row for every column.** Each batch pays a fixed cost: a loop
#   iteration, an index array, a couple of `Tensor`s, a generator step. Larger batches spread that
#   cost over more samples, so throughput climbs steeply at first (last line: the vectorised gain
#   from batch 1 to 512) and then levels off.
# - The **per-sample** path levels off early: it still runs Python code for *every sample*, however
#   large the batch. The **vectorised** path keeps gaining until copying the bytes themselves is what
#   costs time. It is the lesson of every module so far: move loops out of Python and into NumPy.
# - The **matrix product** column is the model's side. A `(1, 784) @ (784, 128)` product leaves most
#   of the CPU idle, a `(128, 784)` one keeps it busy; past some size the batch no longer fits in the
#   CPU caches and the gain stops (or reverses a little). This is why training uses mini-batches even
#   though the gradient of a single example would be "enough".
# - The price is **memory**: the batch, and every activation computed from it, grows linearly with
#   the batch size (last column). On a GPU with 16 GB, that, not speed, is what caps the batch size.
#
# A larger batch is not automatically better for *learning*: per epoch, batch 512 takes 8 optimizer
# steps where batch 64 takes 64. Module 07's training loop and the milestones use batches of 32 to
# 64 on the small digits data set as a compromise between steps per epoch and speed per step.
#
# ### Shuffling is (almost) free
#
# Shuffling means the rows of a batch are scattered through memory instead of contiguous. We compare
# one epoch with and without shuffling at batch size 128:

# %%
plain_t = epoch_seconds(DataLoader(fast_ds, batch_size=128, shuffle=False))
shuf_t = epoch_seconds(DataLoader(fast_ds, batch_size=128, shuffle=True, seed=0))
perm_t = np.median([(lambda t0: (rng.permutation(N), time.perf_counter() - t0)[1])(time.perf_counter())
                    for _ in range(5)])
print(f"epoch without shuffle: {plain_t * 1e3:.1f} ms   with shuffle: {shuf_t * 1e3:.1f} ms "
      f"({shuf_t / plain_t:.2f}x)   drawing the permutation alone: {perm_t * 1e3:.3f} ms")

# %% [markdown]
# Each batch is copied either way (fancy indexing always copies), so for data in memory the random
# order costs little. It is a different story for data on disk, where reading scattered records is
# much slower than reading sequentially; that is why large-scale pipelines shuffle within a buffer or
# pre-shuffle their files.
#
# ## Summary
#
# - A `Dataset` says what sample `i` is; a `DataLoader` decides the order and the grouping and turns
#   batches into `Tensor`s. `collate` stacks samples field by field.
# - `TensorDataset` serves arrays in memory and fetches a whole batch with one fancy-indexing call.
# - One seeded generator per loader gives a fresh permutation every epoch and the same sequence of
#   epochs for the same seed; `drop_last` removes a short final batch; `len(loader)` counts batches.
# - Transforms work on whole batches: per-channel `Normalize`, `RandomCrop` with padding and
#   `RandomHorizontalFlip`, chained with `Compose`, each with its own seed.
# - IDX (MNIST) is a big-endian header plus raw numbers; CIFAR-10 batches are pickled dicts whose
#   rows are already in NCHW order; `load_digits` finds the course's digits through `TINYTORCH_DATA`
#   or the repository's `datasets/` folder.
# - Measured: per-batch overhead dominates at small batch sizes; vectorised fetching and larger batches
#   raise throughput many times over (measured above), at a memory cost linear in the batch size.
#
# ## Reflection questions
#
# 1. Our transforms run on whole batches inside the loader, while many frameworks apply them to one
#    sample at a time inside the data set. What does each choice make easy or hard (think of images
#    of different sizes, and of the throughput table above)?
# 2. With `shuffle=True` and a fixed `seed`, the *sequence* of epochs is reproducible. If training
#    crashes in epoch 7 and you restart from a checkpoint, what must the checkpoint contain so that
#    epoch 8 sees the same order as in the original run?
# 3. MNIST's 60,000 training images take 47 MB as uint8 but 188 MB as float32. Where in the pipeline
#    would you convert to float32, and why might you keep the uint8 copy in memory instead?
# 4. `drop_last=True` throws away up to `batch_size - 1` samples per epoch. Why does that not bias
#    training when the data is shuffled, and when would it?
# 5. The vectorised path is limited by copying bytes. How could a loader overlap that copying with the
#    model's computation, and what would it need from the operating system or the hardware?
