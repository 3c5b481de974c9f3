"""Package tests for module 08 (tinytorch.core.dataloader)."""
import gzip
import pickle

import numpy as np
import pytest

from tinytorch.core.dataloader import (
    Compose,
    DataLoader,
    Dataset,
    Normalize,
    RandomCrop,
    RandomHorizontalFlip,
    TensorDataset,
    collate,
    load_cifar10,
    load_cifar10_batch,
    load_digits,
    load_idx,
    load_mnist,
)
from tinytorch.core.tensor import Tensor


def make_ds(n=10):
    x = np.arange(n, dtype=np.float32)[:, None].repeat(3, axis=1)
    return TensorDataset(x, np.arange(n, dtype=np.int64))


def test_collate_and_default_get_batch():
    x, y = collate([(np.ones(2), 1), (np.zeros(2), 0)])
    assert x.shape == (2, 2) and y.tolist() == [1, 0]

    class Sq(Dataset):
        def __len__(self):
            return 4

        def __getitem__(self, i):
            return (np.array([i * i]), i)

    bx, by = Sq().get_batch([3, 1])
    assert bx.ravel().tolist() == [9, 1] and by.tolist() == [3, 1]


def test_tensor_dataset_indexing_and_errors():
    ds = TensorDataset(Tensor(np.arange(12, dtype=np.float32).reshape(6, 2)), np.arange(6))
    assert len(ds) == 6
    assert ds[-1][1] == 5
    with pytest.raises(IndexError):
        ds[6]
    bx, by = ds.get_batch([4, 0])
    assert bx.tolist() == [[8, 9], [0, 1]] and by.tolist() == [4, 0]
    with pytest.raises(ValueError):
        TensorDataset(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError):
        TensorDataset()


@pytest.mark.parametrize("n,bs,drop,expected", [(10, 4, False, [4, 4, 2]), (10, 4, True, [4, 4]),
                                                (10, 5, True, [5, 5]), (3, 8, False, [3]), (3, 8, True, [])])
def test_batch_sizes_and_len(n, bs, drop, expected):
    loader = DataLoader(make_ds(n), batch_size=bs, drop_last=drop)
    sizes = [len(y) for _, y in loader]
    assert sizes == expected and len(loader) == len(expected)


def test_batches_are_tensors_and_pairs_stay_together():
    for x, y in DataLoader(make_ds(), batch_size=3, shuffle=True, seed=1):
        assert isinstance(x, Tensor) and isinstance(y, Tensor)
        assert x.data.dtype == np.float32 and y.data.dtype == np.int64
        assert np.array_equal(x.data[:, 0], y.data)


def test_seeded_shuffle_reproducible_and_reshuffled_every_epoch():
    a = DataLoader(make_ds(20), batch_size=5, shuffle=True, seed=7)
    b = DataLoader(make_ds(20), batch_size=5, shuffle=True, seed=7)
    ea1 = np.concatenate([y.data for _, y in a])
    ea2 = np.concatenate([y.data for _, y in a])
    eb1 = np.concatenate([y.data for _, y in b])
    eb2 = np.concatenate([y.data for _, y in b])
    assert ea1.tolist() == eb1.tolist() and ea2.tolist() == eb2.tolist()
    assert ea1.tolist() != ea2.tolist()
    assert sorted(ea1.tolist()) == list(range(20))
    plain = np.concatenate([y.data for _, y in DataLoader(make_ds(20), batch_size=5)])
    assert plain.tolist() == list(range(20))


def test_invalid_batch_size():
    with pytest.raises(ValueError):
        DataLoader(make_ds(), batch_size=0)


def test_transforms():
    x = np.zeros((2, 3, 4, 4), dtype=np.float32)
    x[:, 1] = 5
    out = Normalize([0, 1, 0], [1, 2, 1])(x)
    assert out.dtype == np.float32 and np.allclose(out[:, 1], 2) and np.allclose(out[:, 0], 0)
    img = np.arange(16.0).reshape(1, 1, 4, 4)
    assert np.array_equal(RandomHorizontalFlip(1.0)(img), img[..., ::-1])
    crops = RandomCrop(4, padding=2, seed=0)(img.repeat(30, axis=0))
    padded = np.pad(img[0, 0], 2)
    for c in crops[:, 0]:
        assert any(np.array_equal(padded[t:t + 4, l:l + 4], c) for t in range(5) for l in range(5))
    assert not all(np.array_equal(crops[0], c) for c in crops)
    with pytest.raises(ValueError):
        RandomCrop(9)(img)
    composed = Compose([RandomHorizontalFlip(1.0), Normalize(1.0, 1.0)])(np.array([[[0.0, 2.0]]]))
    assert np.allclose(composed, [[[1.0, -1.0]]])


def test_loader_applies_transform_to_inputs_only():
    loader = DataLoader(make_ds(4), batch_size=4, transform=Normalize(1.0, 2.0))
    x, y = next(iter(loader))
    assert np.allclose(x.data[:, 0], (np.arange(4) - 1) / 2) and y.data.tolist() == [0, 1, 2, 3]


def _write_idx(path, arr, code, dt):
    data = bytes([0, 0, code, arr.ndim]) + np.asarray(arr.shape, ">u4").tobytes() + arr.astype(dt).tobytes()
    (gzip.open if str(path).endswith(".gz") else open)(path, "wb").write(data)


def test_idx_and_mnist(tmp_path):
    imgs = np.random.default_rng(0).integers(0, 256, (3, 5, 4)).astype(np.uint8)
    _write_idx(tmp_path / "i.gz", imgs, 0x08, ">u1")
    _write_idx(tmp_path / "l", np.array([1, 2, 3], np.uint8), 0x08, ">u1")
    _write_idx(tmp_path / "f", np.array([[1.5, -2.0]]), 0x0E, ">f8")
    assert np.array_equal(load_idx(tmp_path / "i.gz"), imgs)
    assert np.allclose(load_idx(tmp_path / "f"), [[1.5, -2.0]])
    x, y = load_mnist(tmp_path / "i.gz", tmp_path / "l")
    assert x.shape == (3, 1, 5, 4) and x.dtype == np.float32 and np.allclose(x[:, 0] * 255, imgs)
    assert y.dtype == np.int64 and y.tolist() == [1, 2, 3]
    (tmp_path / "bad").write_bytes(b"\x00\x00\x08\x01\x00\x00\x00\x05\x01")
    with pytest.raises(ValueError):
        load_idx(tmp_path / "bad")


def test_cifar(tmp_path):
    data = np.zeros((2, 3072), np.uint8)
    data[0, :1024] = 255           # image 0 red
    data[1, 2048:] = 255           # image 1 blue
    for name, n in [("data_batch_1", 2), ("data_batch_2", 2), ("test_batch", 1)]:
        with open(tmp_path / name, "wb") as fh:
            pickle.dump({b"data": data[:n], b"labels": [4, 2][:n]}, fh)
    x, y = load_cifar10_batch(tmp_path / "data_batch_1")
    assert x.shape == (2, 3, 32, 32) and np.allclose(x[0, 0], 1) and np.allclose(x[0, 1:], 0)
    assert np.allclose(x[1, 2], 1) and y.tolist() == [4, 2]
    (xt, yt), (xs, ys) = load_cifar10(tmp_path)
    assert xt.shape == (4, 3, 32, 32) and ys.tolist() == [4]


def test_load_digits_shipped_and_env(tmp_path, monkeypatch):
    x, y = load_digits()
    assert x.shape == (1797, 1, 8, 8) and x.dtype == np.float32 and x.min() == 0.0 and x.max() == 1.0
    assert y.dtype == np.int64 and set(y.tolist()) == set(range(10))
    np.savez(tmp_path / "digits.npz", images=np.full((2, 8, 8), 8, np.uint8), labels=np.array([3, 4]))
    monkeypatch.setenv("TINYTORCH_DATA", str(tmp_path))
    x2, y2 = load_digits()
    assert x2.shape == (2, 1, 8, 8) and np.allclose(x2, 0.5) and y2.tolist() == [3, 4]
    monkeypatch.setenv("TINYTORCH_DATA", str(tmp_path / "digits.npz"))
    assert load_digits()[0].shape == (2, 1, 8, 8)
