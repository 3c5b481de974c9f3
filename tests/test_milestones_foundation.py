"""Milestones 01-03 run against the exported package and reach their targets; the shared data helpers work."""
from __future__ import annotations

import ast
import gzip
import struct
from pathlib import Path

import numpy as np
import pytest

from .helpers.course import REPO
from .helpers.milestones import MILESTONES, milestone_meta, quiet_console
from .helpers.milestones import load_script as load

data = load(MILESTONES / "_data.py", "_milestone_data_under_test")


# ---------------------------------------------------------------- metadata


@pytest.mark.parametrize("folder", ["01_perceptron", "02_xor", "03_mlp"])
def test_milestone_metadata_is_a_literal(folder):
    meta = milestone_meta(MILESTONES / folder / "run.py")
    assert {"title", "year", "requires", "goal"} <= set(meta)
    assert meta["requires"] == sorted(meta["requires"])


def test_milestones_import_only_tinytorch_numpy_rich():
    allowed = {"tinytorch", "numpy", "rich", "__future__", "importlib", "os", "sys", "time", "tempfile", "pathlib",
               "gzip", "struct"}
    mine = [MILESTONES / f / "run.py" for f in ("01_perceptron", "02_xor", "03_mlp")]
    for path in [*mine, MILESTONES / "_data.py", MILESTONES / "_ui.py"]:
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module] if isinstance(node, ast.ImportFrom) and node.module else [])
            for name in names:
                assert name.split(".")[0] in allowed, f"{path.relative_to(REPO)} imports {name}"


# ---------------------------------------------------------------- data helpers


def test_digits_dataset_shape_and_range():
    x, y = data.load_digits()
    assert x.shape == (1797, 64) and x.dtype == np.float32
    assert x.min() == 0.0 and x.max() == 1.0
    assert y.shape == (1797,) and set(np.unique(y)) == set(range(10))
    with np.load(REPO / "datasets" / "digits.npz", allow_pickle=False) as raw:
        assert raw["images"].shape == (1797, 8, 8) and raw["images"].max() == 16


def test_split_is_stratified_and_fixed():
    x, y = data.load_digits()
    (a_x, a_y), (b_x, b_y) = data.split(x, y, 0.2, seed=0)
    (c_x, _), (d_x, _) = data.split(x, y, 0.2, seed=0)
    assert len(a_y) + len(b_y) == 1797 and np.array_equal(a_x, c_x) and np.array_equal(b_x, d_x)
    counts = np.bincount(b_y, minlength=10)
    assert counts.min() >= 34 and counts.max() <= 37
    train_rows = {r.tobytes() for r in a_x}
    assert sum(r.tobytes() in train_rows for r in b_x) < 5   # (a few digits are exact duplicates in the data)


def test_standardize_uses_training_statistics():
    train = np.array([[0.0, 1.0], [2.0, 1.0]], np.float32)
    test = np.array([[4.0, 1.0]], np.float32)
    s_train, s_test = data.standardize(train, test, floor=0.0 + 1e-12)
    np.testing.assert_allclose(s_train[:, 0], [-1.0, 1.0], atol=1e-5)
    np.testing.assert_allclose(s_test[0, 0], 3.0, atol=1e-5)
    assert np.all(np.isfinite(s_train)) and np.all(np.isfinite(s_test))


def write_idx(path: Path, array: np.ndarray, code: int = 0x08, compress: bool = False) -> Path:
    dtype = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}[code]
    payload = struct.pack(">BBBB", 0, 0, code, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    payload += np.ascontiguousarray(array, dtype=dtype).tobytes()
    if compress:
        path = path.with_name(path.name + ".gz")
        path.write_bytes(gzip.compress(payload))
    else:
        path.write_bytes(payload)
    return path


@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize("code,dtype", [(0x08, np.uint8), (0x0C, np.int32), (0x0D, np.float32), (0x0B, np.int16)])
def test_load_idx_round_trip(tmp_path, compress, code, dtype):
    rng = np.random.default_rng(0)
    array = (rng.integers(0, 200, size=(5, 3, 4)) - (0 if code == 0x08 else 100)).astype(dtype)
    path = write_idx(tmp_path / "a-idx3-ubyte", array, code, compress)
    loaded = data.load_idx(path)
    assert loaded.shape == (5, 3, 4) and loaded.dtype == np.dtype(dtype)
    assert loaded.dtype.isnative
    np.testing.assert_array_equal(loaded, array)


def test_load_idx_labels_1d(tmp_path):
    labels = np.array([3, 1, 4, 1, 5, 9], np.uint8)
    np.testing.assert_array_equal(data.load_idx(write_idx(tmp_path / "l-idx1-ubyte", labels)), labels)


def test_load_idx_rejects_bad_files(tmp_path):
    bad_magic = tmp_path / "bad"
    bad_magic.write_bytes(b"\x01\x00\x08\x01\x00\x00\x00\x01\x05")
    with pytest.raises(ValueError, match="not an IDX"):
        data.load_idx(bad_magic)
    bad_type = tmp_path / "type"
    bad_type.write_bytes(b"\x00\x00\x07\x01\x00\x00\x00\x01\x05")
    with pytest.raises(ValueError, match="type"):
        data.load_idx(bad_type)
    short = write_idx(tmp_path / "short", np.zeros((4, 2), np.uint8))
    short.write_bytes(short.read_bytes()[:-3])
    with pytest.raises(ValueError, match="data bytes"):
        data.load_idx(short)


def fake_mnist(folder: Path, n_train=600, n_test=200, seed=0, compress=True):
    """MNIST-format files with an easy task: each class lights up its own 7x7 block (plus noise)."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)

    def make(n):
        labels = rng.integers(0, 10, size=n).astype(np.uint8)
        images = rng.integers(0, 60, size=(n, 28, 28)).astype(np.uint8)
        for i, label in enumerate(labels):
            r, c = divmod(int(label), 4)
            images[i, r * 7:(r + 1) * 7, c * 7:(c + 1) * 7] = 255
        return images, labels

    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images, labels = make(n)
        write_idx(folder / f"{prefix}-images-idx3-ubyte", images, compress=compress)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte", labels, compress=compress)
    return folder


def test_load_mnist_folder(tmp_path):
    folder = fake_mnist(tmp_path / "mnist", n_train=50, n_test=20, compress=False)
    (xtr, ytr), (xte, yte) = data.load_mnist(folder)
    assert xtr.shape == (50, 784) and xte.shape == (20, 784) and xtr.dtype == np.float32
    assert xtr.min() == 0.0 and xtr.max() == 1.0 and ytr.dtype == np.int64 and len(yte) == 20
    (folder / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(FileNotFoundError, match="t10k-labels"):
        data.load_mnist(folder)


# ---------------------------------------------------------------- the milestones themselves


def test_milestone_01_perceptron():
    console = quiet_console()
    out = console.file
    result = load(MILESTONES / "01_perceptron" / "run.py", "_m01").run(console=console)
    assert result["passed"], out.getvalue()[-3000:]
    assert result["metrics"]["train_accuracy"] == 1.0 and result["metrics"]["test_accuracy"] == 1.0
    assert "Perceptron results" in out.getvalue()


def test_milestone_02_xor():
    console = quiet_console()
    out = console.file
    result = load(MILESTONES / "02_xor" / "run.py", "_m02").run(console=console)
    metrics = result["metrics"]
    assert result["passed"], out.getvalue()[-3000:]
    assert metrics["single_layer_best_accuracy"] <= 0.75
    assert metrics["mlp_accuracy"] == 1.0


def test_milestone_03_mlp_digits():
    console = quiet_console()
    out = console.file
    result = load(MILESTONES / "03_mlp" / "run.py", "_m03").run(console=console)
    metrics = result["metrics"]
    assert result["passed"], out.getvalue()[-3000:]
    assert metrics["test_accuracy"] >= 0.95
    assert metrics["checkpoint_restored"] is True
    assert "mnist_test_accuracy" not in metrics


@pytest.mark.parametrize("quick", [True])
def test_milestones_quick_mode(quick):
    for folder, name in (("01_perceptron", "_q01"), ("02_xor", "_q02"), ("03_mlp", "_q03")):
        console = quiet_console()
        out = console.file
        result = load(MILESTONES / folder / "run.py", name).run(quick=quick, console=console)
        assert result["passed"], f"{folder} --quick failed:\n" + out.getvalue()[-2000:]


def test_milestone_03_trains_on_user_supplied_mnist(tmp_path, monkeypatch):
    folder = fake_mnist(tmp_path / "mnist")
    monkeypatch.setenv("TINYTORCH_MNIST_DIR", str(folder))
    console = quiet_console()
    out = console.file
    result = load(MILESTONES / "03_mlp" / "run.py", "_m03m").run(quick=True, console=console)
    assert result["metrics"]["mnist_test_accuracy"] >= 0.95, out.getvalue()[-3000:]
    assert result["passed"]
    assert "MNIST" in out.getvalue()
