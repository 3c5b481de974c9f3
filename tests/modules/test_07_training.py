"""Package tests for module 07 (tinytorch.core.training): Trainer, schedules, clipping, checkpoints."""
from __future__ import annotations

import json
import math
import os

import numpy as np
import pytest

import tinytorch.core.training as training
from tinytorch.core.activations import ReLU
from tinytorch.core.layers import Linear, Sequential
from tinytorch.core.losses import CrossEntropyLoss, MSELoss
from tinytorch.core.optimizers import SGD, Adam
from tinytorch.core.tensor import Tensor

Trainer, StepLR, CosineLR = training.Trainer, training.StepLR, training.CosineLR
clip_grad_norm, save_checkpoint, load_checkpoint = (training.clip_grad_norm, training.save_checkpoint,
                                                     training.load_checkpoint)


class FakeOpt:
    def __init__(self, lr):
        self.lr = lr


def param(values):
    return Tensor(np.asarray(values, dtype=np.float32), requires_grad=True)


def blobs(n_per_class=40, batch=16, seed=0):
    rng = np.random.default_rng(seed)
    centers = np.array([[0, 3], [3, -2], [-3, -2]], dtype=np.float32)
    x = np.concatenate([c + rng.normal(0, 0.5, size=(n_per_class, 2)) for c in centers]).astype(np.float32)
    y = np.repeat(np.arange(3), n_per_class).astype(np.int64)
    order = rng.permutation(len(y))
    x, y = x[order], y[order]
    return [(Tensor(x[i:i + batch]), Tensor(y[i:i + batch])) for i in range(0, len(y), batch)]


def mlp():
    return Sequential(Linear(2, 8), ReLU(), Linear(8, 3))


# ---------------------------------------------------------------- exports


def test_root_package_reexports():
    import tinytorch
    for name in ("Trainer", "StepLR", "CosineLR", "clip_grad_norm", "save_checkpoint", "load_checkpoint"):
        assert getattr(tinytorch, name, None) is getattr(training, name), f"tinytorch.{name} is not re-exported"


# ---------------------------------------------------------------- clipping


def test_clip_grad_norm_scales_globally_and_returns_norm():
    a, b, c = param([0.0]), param([0.0, 0.0]), param([1.0])
    a.grad, b.grad = Tensor(np.array([3.0], np.float32)), Tensor(np.array([0.0, 4.0], np.float32))
    norm = clip_grad_norm([a, b, c], 2.5)
    assert norm == pytest.approx(5.0, abs=1e-5)
    np.testing.assert_allclose(a.grad.data, [1.5], atol=1e-4)
    np.testing.assert_allclose(b.grad.data, [0.0, 2.0], atol=1e-4)
    assert c.grad is None
    assert a.grad.data.dtype == np.float32


def test_clip_grad_norm_leaves_small_gradients_and_rejects_bad_norm():
    a = param([0.0, 0.0])
    a.grad = Tensor(np.array([0.1, 0.1], np.float32))
    assert clip_grad_norm([a], 1.0) == pytest.approx(math.sqrt(0.02), rel=1e-5)
    np.testing.assert_allclose(a.grad.data, [0.1, 0.1])
    with pytest.raises(ValueError):
        clip_grad_norm([a], 0.0)


def test_clip_grad_norm_does_not_mutate_shared_arrays():
    a = param([0.0, 0.0])
    shared = np.array([30.0, 40.0], np.float32)
    a.grad = Tensor(shared)
    clip_grad_norm([a], 5.0)
    np.testing.assert_allclose(shared, [30.0, 40.0])
    np.testing.assert_allclose(a.grad.data, [3.0, 4.0], atol=1e-3)


# ---------------------------------------------------------------- schedules


def test_step_lr_values_and_step_updates_optimizer():
    opt = FakeOpt(1.0)
    s = StepLR(opt, step_size=3, gamma=0.1)
    assert [s.get_lr(e) for e in (0, 2, 3, 5, 6)] == pytest.approx([1.0, 1.0, 0.1, 0.1, 0.01])
    for _ in range(3):
        s.step()
    assert opt.lr == pytest.approx(0.1) and s.epoch == 3
    with pytest.raises(ValueError):
        StepLR(opt, step_size=0)


def test_cosine_lr_shape():
    opt = FakeOpt(0.1)
    s = CosineLR(opt, total_epochs=4, min_lr=0.01)
    values = [s.get_lr(e) for e in range(7)]
    assert values[0] == pytest.approx(0.1)
    assert values[2] == pytest.approx(0.055)
    assert values[4] == pytest.approx(0.01) and values[6] == pytest.approx(0.01)
    assert all(x >= y for x, y in zip(values, values[1:]))
    with pytest.raises(ValueError):
        CosineLR(opt, total_epochs=0)


def test_scheduler_state_round_trip():
    opt = FakeOpt(0.5)
    s = CosineLR(opt, total_epochs=10)
    for _ in range(4):
        s.step()
    opt2 = FakeOpt(123.0)
    s2 = CosineLR(opt2, total_epochs=10)
    s2.load_state_dict(s.state_dict())
    assert s2.epoch == 4 and opt2.lr == pytest.approx(opt.lr)


def test_scheduler_needs_lr_attribute():
    with pytest.raises(TypeError):
        StepLR(object(), step_size=1)


def test_schedulers_drive_real_optimizers():
    model = Linear(2, 2)
    for opt in (SGD(model.parameters(), lr=0.2), Adam(model.parameters(), lr=0.2)):
        s = StepLR(opt, step_size=1, gamma=0.5)
        s.step()
        s.step()
        assert opt.lr == pytest.approx(0.05)


# ---------------------------------------------------------------- trainer


def test_train_step_order_and_return():
    np.random.seed(0)
    model = mlp()
    trainer = Trainer(model, SGD(model.parameters(), lr=0.1), CrossEntropyLoss())
    x, y = blobs()[0]
    loss, pred = trainer.train_step(x, y)
    assert isinstance(loss, float) and pred.shape == (len(x), 3)
    # with lr = 0 nothing moves, and a second step on the same batch must give the SAME gradients
    # (zero_grad before backward), not twice them
    frozen = Trainer(model, SGD(model.parameters(), lr=0.0), CrossEntropyLoss())
    weights = [p.data.copy() for p in model.parameters()]
    frozen.train_step(x, y)
    first = [p.grad.data.copy() for p in model.parameters()]
    frozen.train_step(x, y)
    for p, w, g in zip(model.parameters(), weights, first):
        np.testing.assert_array_equal(p.data, w)
        np.testing.assert_allclose(p.grad.data, g, atol=1e-6)


class FakeClock:
    """Stands in for the `time` module inside training: every reading advances one second."""

    def __init__(self):
        self.now = 0.0

    def _tick(self):
        self.now += 1.0
        return self.now

    perf_counter = time = monotonic = _tick


def test_fit_learns_and_records_history(monkeypatch):
    monkeypatch.setattr(training, "time", FakeClock())
    np.random.seed(0)
    model = mlp()
    opt = Adam(model.parameters(), lr=0.05)
    trainer = Trainer(model, opt, CrossEntropyLoss(), scheduler=StepLR(opt, step_size=2, gamma=0.5), grad_clip_norm=5.0)
    seen = []
    history = trainer.fit(blobs(seed=0), epochs=6, val_batches=blobs(seed=1),
                          on_epoch_end=lambda e, rec: seen.append((e, rec["train_loss"])))
    assert history is trainer.history
    assert [len(history[k]) for k in ("train_loss", "train_acc", "val_loss", "val_acc", "lr", "time")] == [6] * 6
    assert history["lr"] == pytest.approx([0.05, 0.05, 0.025, 0.025, 0.0125, 0.0125])
    assert history["val_acc"][-1] >= 0.97
    assert history["train_loss"][-1] < history["train_loss"][0]
    assert [e for e, _ in seen] == list(range(6))
    # each epoch's time is the difference of two clock readings around it (here whole fake seconds)
    assert all(t >= 1 and float(t).is_integer() for t in history["time"]), history["time"]


def test_fit_without_validation_and_early_stop():
    np.random.seed(0)
    model = mlp()
    trainer = Trainer(model, SGD(model.parameters(), lr=0.1), CrossEntropyLoss())
    history = trainer.fit(blobs(), epochs=10, on_epoch_end=lambda e, rec: e == 2)
    assert len(history["train_loss"]) == 3 and history["val_loss"] == []


def test_evaluate_builds_no_graph_and_keeps_weights():
    np.random.seed(0)
    model = mlp()
    trainer = Trainer(model, SGD(model.parameters(), lr=0.1), CrossEntropyLoss())
    batches = blobs()
    before = [p.data.copy() for p in model.parameters()]
    result = trainer.evaluate(batches)
    logits = [model(x).data for x, _ in batches]
    n = sum(len(y.data) for _, y in batches)
    correct = sum(int((lg.argmax(-1) == y.data).sum()) for lg, (_, y) in zip(logits, batches))
    loss = sum(CrossEntropyLoss()(model(x), y).item() * len(y.data) for x, y in batches) / n
    assert result["accuracy"] == pytest.approx(correct / n) and result["loss"] == pytest.approx(loss, rel=1e-5)
    assert all(p.grad is None for p in model.parameters())
    for p, w in zip(model.parameters(), before):
        np.testing.assert_array_equal(p.data, w)
    assert model.training is False
    trainer.train_epoch(batches)
    assert model.training is True


def test_epoch_loss_is_weighted_by_batch_size():
    model = Linear(1, 1, bias=False)
    model.weight.data = np.zeros((1, 1), np.float32)
    trainer = Trainer(model, SGD(model.parameters(), lr=0.0), MSELoss())
    # predictions are 0; targets 1 (3 samples) and 3 (1 sample): per-sample squared errors 1,1,1,9
    batches = [(Tensor(np.ones((3, 1), np.float32)), Tensor(np.ones((3, 1), np.float32))),
               (Tensor(np.ones((1, 1), np.float32)), Tensor(np.full((1, 1), 3.0, np.float32)))]
    result = trainer.evaluate(batches)
    assert result["loss"] == pytest.approx(3.0, rel=1e-5)  # (1+1+1+9)/4, not the mean of batch means (5.0)
    assert result["accuracy"] is None


def test_binary_accuracy_and_empty_source():
    model = Linear(1, 1)
    model.weight.data = np.ones((1, 1), np.float32)
    model.bias.data = np.zeros(1, np.float32)
    trainer = Trainer(model, SGD(model.parameters(), lr=0.0), MSELoss())
    x = Tensor(np.array([[0.9], [0.2], [0.7], [0.1]], np.float32))
    y = Tensor(np.array([[1.0], [0.0], [0.0], [0.0]], np.float32))
    assert trainer.evaluate([(x, y)])["accuracy"] == pytest.approx(0.75)
    with pytest.raises(ValueError):
        trainer.evaluate([])


# ---------------------------------------------------------------- checkpoints


def test_checkpoint_round_trip_with_adam_state(tmp_path):
    np.random.seed(0)
    batches = blobs()
    model = mlp()
    opt = Adam(model.parameters(), lr=0.01)
    trainer = Trainer(model, opt, CrossEntropyLoss())
    trainer.train_epoch(batches)
    path = save_checkpoint(tmp_path / "sub" / "ckpt.npz", model, opt, epoch=1, tag="x")
    assert os.path.exists(path) and os.listdir(tmp_path / "sub") == ["ckpt.npz"]
    trainer.train_epoch(batches)
    expected = [p.data.copy() for p in model.parameters()]

    np.random.seed(99)
    fresh = mlp()
    fresh_opt = Adam(fresh.parameters(), lr=0.5)
    meta = load_checkpoint(path, fresh, fresh_opt)
    assert meta == {"epoch": 1, "tag": "x"}
    assert fresh_opt.lr == pytest.approx(0.01)
    Trainer(fresh, fresh_opt, CrossEntropyLoss()).train_epoch(batches)
    for p, e in zip(fresh.parameters(), expected):
        np.testing.assert_allclose(p.data, e, atol=1e-5)


def test_checkpoint_is_plain_npz(tmp_path):
    model = Linear(3, 2)
    save_checkpoint(tmp_path / "c.npz", model, note="hi")
    with np.load(tmp_path / "c.npz", allow_pickle=False) as data:
        assert "model/weight" in data.files and "model/bias" in data.files
        np.testing.assert_array_equal(data["model/weight"], model.weight.data)
        assert json.loads(str(data["meta"])) == {"note": "hi"}


def test_failed_save_keeps_old_checkpoint(tmp_path, monkeypatch):
    model = Linear(2, 2)
    target = tmp_path / "c.npz"
    save_checkpoint(target, model)
    good = target.read_bytes()

    def boom(file, **arrays):
        file.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", boom)
    with pytest.raises(OSError):
        save_checkpoint(target, model)
    assert target.read_bytes() == good
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.npz"]


def test_load_rejects_mismatched_models(tmp_path):
    save_checkpoint(tmp_path / "c.npz", Linear(2, 3))
    with pytest.raises(ValueError, match="weight"):
        load_checkpoint(tmp_path / "c.npz", Linear(2, 4))
    save_checkpoint(tmp_path / "nb.npz", Linear(2, 3, bias=False))
    with pytest.raises(KeyError, match="bias"):
        load_checkpoint(tmp_path / "nb.npz", Linear(2, 3))


def test_load_keeps_parameter_identity_and_dtype(tmp_path):
    model = Linear(2, 2)
    save_checkpoint(tmp_path / "c.npz", model)
    other = Linear(2, 2)
    weight = other.weight
    load_checkpoint(tmp_path / "c.npz", other)
    assert other.weight is weight and other.weight.data.dtype == np.float32
    np.testing.assert_array_equal(other.weight.data, model.weight.data)
