"""Milestones 04 (CNN) and 05 (Transformer), run against the exported tinytorch package.

The fast tests check data loading and the pieces of each milestone; the `slow` ones train for real and assert
the published targets (each run stays within about three minutes on a 2-core machine).
"""
from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

from .helpers.course import REPO
from .helpers.milestones import MILESTONES, milestone_meta, quiet_console
from .helpers.milestones import load_script as load

CNN = MILESTONES / "04_cnn" / "run.py"
TRANSFORMER = MILESTONES / "05_transformer" / "run.py"


@pytest.mark.parametrize("path", [CNN, TRANSFORMER])
def test_metadata_is_a_literal_naming_real_modules(path):
    meta = milestone_meta(path)
    assert {"title", "year", "requires", "goal"} <= set(meta)
    src = {p.name for p in (REPO / "src").iterdir() if p.is_dir()}
    for slug in meta["requires"]:
        assert slug in src, f"{path}: requires unknown module {slug}"


# ---------------------------------------------------------------------------------------------- 05 pieces
def test_sonnets_dataset_is_small_documented_text():
    text_path = REPO / "datasets" / "shakespeare_sonnets.txt"
    data = text_path.read_bytes()
    assert 50_000 < len(data) <= 200_000
    text = data.decode("ascii")
    assert text.startswith("THE SONNETS") and "Shall I compare thee to a summer's day?" in text
    assert "gutenberg" not in text.lower()
    readme = (REPO / "datasets" / "README.md").read_text(encoding="utf-8")
    assert "shakespeare_sonnets.txt" in readme and "public domain" in readme.lower()


def test_text_encoding_and_unigram_baseline():
    m = load(TRANSFORMER)
    text = m.load_text()
    ids, decode, vocab = m.encode_text(text)
    assert ids.shape == (len(text),) and ids.dtype == np.int64 and ids.max() < vocab
    assert decode(ids[:300]) == text[:300]
    cut = int(0.9 * len(ids))
    base = m.unigram_loss(ids[:cut], ids[cut:], vocab)
    assert 2.5 < base < np.log(vocab), "unigram loss lies between a good model and uniform guessing"
    assert m.unigram_loss(np.arange(vocab), ids[cut:], vocab) == pytest.approx(np.log(vocab), rel=1e-9)


def test_reverser_forward_shapes_and_gradients():
    from tinytorch.core.losses import CrossEntropyLoss
    from tinytorch.core.tensor import Tensor
    m = load(TRANSFORMER)
    model = m.Reverser(m.REV_VOCAB, m.REV_LEN, dim=16, heads=2, layers=1)
    x = np.random.default_rng(0).integers(0, m.REV_VOCAB, size=(4, m.REV_LEN))
    logits = model(x)
    assert logits.shape == (4, m.REV_LEN, m.REV_VOCAB)
    CrossEntropyLoss()(logits.reshape(-1, m.REV_VOCAB), Tensor(x[:, ::-1].reshape(-1))).backward()
    assert all(p.grad is not None for p in model.parameters())


# ---------------------------------------------------------------------------------------------- 04 pieces
def fake_cifar(folder: Path, per_batch: int = 12) -> Path:
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {b"data": rng.integers(0, 256, size=(per_batch, 3072), dtype=np.uint8),
                 b"labels": rng.integers(0, 10, size=per_batch).tolist(), b"batch_label": name.encode()}
        with open(folder / name, "wb") as fh:
            pickle.dump(batch, fh)
    return folder


def test_digits_split_is_stratified_and_fixed():
    m = load(CNN)
    (xtr, ytr), (xte, yte) = m.digits_split()
    assert xtr.shape[1:] == (1, 8, 8) and xtr.dtype == np.float32 and xtr.min() == 0.0 and xtr.max() == 1.0
    assert len(ytr) + len(yte) == 1797 and abs(len(yte) - 360) <= 10
    assert np.all(np.bincount(yte, minlength=10) >= 30)
    (xtr2, _), _ = m.digits_split()
    assert np.array_equal(xtr, xtr2)


def test_cifar_loader_reads_python_batches(tmp_path):
    m = load(CNN)
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    fake_cifar(folder)
    (xtr, ytr), (xte, yte) = m.load_cifar10(tmp_path)      # the parent folder works too
    assert xtr.shape == (60, 3, 32, 32) and xte.shape == (12, 3, 32, 32)
    assert ytr.dtype == np.int64 and ytr.max() < 10
    assert np.allclose(xtr.mean(axis=(0, 2, 3)), 0, atol=1e-4) and np.allclose(xtr.std(axis=(0, 2, 3)), 1, atol=1e-3)
    (x_small, _), (xt_small, _) = m.load_cifar10(folder, limit_train=10, limit_test=5)
    assert len(x_small) == 10 and len(xt_small) == 5
    with pytest.raises(FileNotFoundError):
        m.load_cifar10(tmp_path / "nowhere")
    assert folder.is_dir()


def test_lenet5_trains_on_cifar_shaped_data(tmp_path):
    from tinytorch.core.autograd import no_grad
    from tinytorch.core.tensor import Tensor

    m = load(CNN)
    data = m.load_cifar10(fake_cifar(tmp_path, per_batch=8))
    model = m.lenet5_cifar()
    before = [p.data.copy() for p in model.parameters()]
    res = m.train(model, data, epochs=1, lr=1e-3, batch_size=16, console=quiet_console(), label="t")
    assert res["parameters"] == 62006 == sum(b.size for b in before)
    assert all(not np.array_equal(b, p.data) for b, p in zip(before, model.parameters())), "every tensor trained"
    (x_train, y_train), (x_test, y_test) = data
    model.eval()
    with no_grad():
        for x, y, key in ((x_train, y_train, "train_accuracy"), (x_test, y_test, "test_accuracy")):
            expected = float(np.mean(model(Tensor(x)).data.argmax(-1) == y))
            assert res[key] == pytest.approx(expected), f"{key} is not the model's accuracy"


def test_cnn_milestone_with_cifar_env(tmp_path, monkeypatch):
    """`run()` picks the CIFAR-10 folder up from the environment and reports its accuracy."""
    m = load(CNN)
    monkeypatch.setenv(m.CIFAR_ENV, str(fake_cifar(tmp_path, per_batch=8)))
    monkeypatch.setattr(m, "digits_split", _tiny_digits)      # keep the digits part instant
    result = m.run(quick=True, console=quiet_console())
    assert "cifar10_test_accuracy" in result["metrics"]


def _tiny_digits():
    rng = np.random.default_rng(0)
    x = rng.random((40, 1, 8, 8)).astype(np.float32)
    y = rng.integers(0, 10, 40)
    return (x[:30], y[:30]), (x[30:], y[30:])


# ---------------------------------------------------------------------------------------------- full runs
@pytest.mark.slow
def test_cnn_milestone_reaches_target():
    m = load(CNN)
    result = m.run(quick=False, console=quiet_console())
    metrics = result["metrics"]
    assert metrics["test_accuracy"] >= 0.97, metrics
    assert metrics["test_accuracy"] > metrics["mlp_test_accuracy"], metrics
    assert result["passed"]


@pytest.mark.slow
def test_transformer_milestone_quick():
    m = load(TRANSFORMER)
    result = m.run(quick=True, console=quiet_console())
    metrics = result["metrics"]
    assert metrics["reverse_sequence_accuracy"] == 1.0, metrics
    assert metrics["val_loss"] <= m.BASELINE_RATIO_QUICK * metrics["unigram_val_loss"], metrics
    assert result["passed"] and len(result["sample"]) > 100


@pytest.mark.slow
def test_transformer_milestone_reaches_target():
    m = load(TRANSFORMER)
    result = m.run(quick=False, console=quiet_console())
    metrics = result["metrics"]
    assert metrics["reverse_sequence_accuracy"] == 1.0, metrics
    assert metrics["val_loss"] <= m.BASELINE_RATIO_FULL * metrics["unigram_val_loss"], metrics
    assert result["passed"]
