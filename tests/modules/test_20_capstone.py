"""Package tests for module 20 (tinytorch.capstone): the optimization pipeline and its checkable report."""
import json
import os
from pathlib import Path

import numpy as np
import pytest

from tinytorch.capstone import (
    OptimizationTarget,
    build_report,
    check_report,
    count_stored_values,
    evaluate_model,
    optimize_model,
    read_report,
    report_markdown,
    write_report,
)
from tinytorch.core.activations import ReLU
from tinytorch.core.autograd import is_grad_enabled, no_grad
from tinytorch.core.layers import Linear, Module, Sequential
from tinytorch.core.tensor import Tensor
from tinytorch.perf.compression import LowRankLinear, accuracy, distill, prune_neurons
from tinytorch.perf.quantization import QuantizedLinear, model_nbytes, quantize_model

REPO = Path(__file__).resolve().parents[2]
BASE = {"accuracy": 0.972, "nbytes": 38440, "params": 9610, "latency_ms": 0.40}
OPT = {"accuracy": 0.969, "nbytes": 5624, "params": 4810, "latency_ms": 0.30}


def blobs(n_per_class=60, dim=6, classes=3, seed=0):
    g = np.random.default_rng(seed)
    centres = g.normal(scale=3.0, size=(classes, dim))
    x = np.concatenate([c + 1.2 * g.normal(size=(n_per_class, dim)) for c in centres]).astype(np.float32)
    y = np.repeat(np.arange(classes), n_per_class)
    order = g.permutation(len(y))
    return x[order], y[order]


@pytest.fixture(scope="module")
def trained():
    x, y = blobs()
    np.random.seed(0)
    model = Sequential(Linear(6, 24), ReLU(), Linear(24, 3))
    distill(None, model, x, y, epochs=12, lr=0.01, batch_size=32, alpha=0.0, seed=0)
    return model, x, y


def names(failures):
    return sorted(f.split(":")[0] for f in failures)


def test_target_verdicts_use_a_tolerance_and_validate():
    t = OptimizationTarget()
    assert (t.min_size_reduction, t.max_accuracy_drop, t.min_speedup) == (4.0, 0.02, None)
    assert t.checks(4.0, 0.97 - 0.95, 0.1) == {"size": True, "accuracy": True, "speed": None}
    assert t.checks(3.999, 0.0, 1.0)["size"] is False and t.checks(5, 0.0201, 1.0)["accuracy"] is False
    assert t.checks(5, -0.05, 1.0)["accuracy"] is True
    assert OptimizationTarget(1.0, 0.0, 2.0).checks(1.0, 0.0, 1.99)["speed"] is False
    for bad in (dict(min_size_reduction=0), dict(max_accuracy_drop=-0.1), dict(min_speedup=0)):
        with pytest.raises(ValueError):
            OptimizationTarget(**bad)


def test_count_stored_values_sees_quantized_codes():
    np.random.seed(1)
    model = Sequential(Linear(64, 128), ReLU(), Linear(128, 10))
    assert count_stored_values(model) == 9610
    q = quantize_model(model)
    assert count_stored_values(q) == 9610 and model_nbytes(q) == 64 * 128 + 128 * 10 + 12 * (128 + 10)


class Spy(Module):
    def __init__(self, inner):
        super().__init__()
        self.inner, self.calls = inner, []

    def forward(self, x):
        self.calls.append((self.training, is_grad_enabled()))
        return self.inner(x)


def test_evaluate_model_measures_known_values_without_side_effects(monkeypatch):
    import tinytorch.capstone as capstone
    import tinytorch.perf.profiling as profiling

    lin = Linear(2, 2)
    lin.weight.data[...] = np.eye(2, dtype=np.float32)
    lin.bias.data[...] = 0.0
    x = np.array([[1, 0], [0, 1], [2, 1], [0, 3]], dtype=np.float32)
    y = np.array([0, 1, 1, 1])
    timed = []

    def fake_latency(fn, warmup=0, repeats=1, **kwargs):  # module 14's timer is tested in module 14
        fn()
        timed.append((warmup, repeats))
        return {"median": 0.0025, "mean": 0.003, "min": 0.002}

    with monkeypatch.context() as patch:
        patch.setattr(capstone, "measure_latency", fake_latency, raising=False)
        patch.setattr(profiling, "measure_latency", fake_latency)
        m = evaluate_model(Sequential(lin), x, y, warmup=1, repeats=2)
    assert m["accuracy"] == 0.75 and m["nbytes"] == 24 and m["params"] == 6
    assert m["latency_ms"] == pytest.approx(2.5) and timed == [(1, 2)], "1000 x the median of measure_latency"
    assert evaluate_model(Sequential(lin), Tensor(x), Tensor(y), repeats=1)["accuracy"] == 0.75
    spy = Spy(Sequential(lin))
    spy.train()
    evaluate_model(spy, x, y, warmup=2, repeats=4)
    assert len(spy.calls) == 7 and not any(mode or grad for mode, grad in spy.calls)
    assert spy.training


def test_optimize_model_composes_prune_finetune_quantize(trained):
    model, x, y = trained
    saved = [p.data.copy() for p in model.parameters()]
    shipped = optimize_model(model, x, y, prune_amount=0.5, finetune_epochs=4, lr=0.01)
    assert isinstance(shipped[0], QuantizedLinear) and shipped[0].out_features == 12 and shipped[2].in_features == 12
    assert model_nbytes(shipped) == 6 * 12 + 12 * 3 + 12 * (12 + 3) and not shipped.training
    assert accuracy(shipped, x, y) >= accuracy(model, x, y) - 0.03
    assert all(np.array_equal(p.data, s) for p, s in zip(model.parameters(), saved))
    plain = optimize_model(model, x, y, prune_amount=0.5, finetune_epochs=0, quantize=False)
    with no_grad():
        np.testing.assert_allclose(plain(Tensor(x)).data, prune_neurons(model, 0.5)(Tensor(x)).data, atol=1e-6)
    low = optimize_model(model, x, y, prune_amount=0.5, finetune_epochs=0, quantize=False, rank=2)
    assert isinstance(low[0], LowRankLinear) and low[0].rank == 2
    with pytest.raises(ValueError):
        optimize_model(model, x, y, prune_amount=1.0)
    with pytest.raises(TypeError):
        optimize_model(Linear(6, 3), x, y)


def test_finetuning_repairs_harsh_pruning(trained):
    model, x, y = trained
    kw = dict(prune_amount=0.9, quantize=False, lr=0.01)
    before = accuracy(optimize_model(model, x, y, finetune_epochs=0, **kw), x, y)
    after = accuracy(optimize_model(model, x, y, finetune_epochs=8, **kw), x, y)
    assert after > before


def test_build_report_worked_example():
    r = build_report(BASE, OPT, OptimizationTarget(), notes="n")
    assert r["size_reduction"] == pytest.approx(38440 / 5624) and r["param_reduction"] == pytest.approx(9610 / 4810)
    assert r["speedup"] == pytest.approx(4 / 3) and r["accuracy_drop"] == pytest.approx(0.003)
    assert r["checks"] == {"size": True, "accuracy": True, "speed": None} and r["passed"] is True
    assert r["target"] == {"min_size_reduction": 4.0, "max_accuracy_drop": 0.02, "min_speedup": None}
    assert json.loads(json.dumps(r)) == r
    missed = build_report(BASE, OPT, OptimizationTarget(8.0, 0.02, 2.0))
    assert missed["checks"] == {"size": False, "accuracy": True, "speed": False} and missed["passed"] is False
    with pytest.raises(KeyError):
        build_report(BASE, {"accuracy": 0.9}, OptimizationTarget())


def test_check_report_finds_each_defect():
    good = build_report(BASE, OPT, OptimizationTarget())
    assert check_report(good) == [] and check_report(json.loads(json.dumps(good))) == []
    assert names(check_report(dict(good, size_reduction=7.0))) == ["size_reduction"]
    assert names(check_report(dict(good, accuracy_drop=0.0))) == ["accuracy_drop"]
    assert names(check_report(dict(good, passed=False))) == ["passed"]
    assert names(check_report(good, OptimizationTarget(8.0, 0.001, 2.0))) == ["accuracy", "passed", "size", "speed"]
    assert check_report(good, remeasured=dict(OPT, latency_ms=99.0)) == []
    assert names(check_report(good, remeasured=dict(OPT, params=1, nbytes=1))) == ["nbytes", "params"]


def test_write_report_is_atomic_json_or_markdown(tmp_path, monkeypatch):
    good = build_report(BASE, OPT, OptimizationTarget(), notes="first")
    path = write_report(good, tmp_path / "deep" / "report.json")
    assert read_report(path) == good
    md = write_report(good, tmp_path / "deep" / "report.md").read_text(encoding="utf-8")
    assert md == report_markdown(good) and "6.83x smaller" in md and "reported only" in md
    with open(path, encoding="utf-8") as reader:
        write_report(dict(good, notes="second"), path)
        assert json.loads(reader.read())["notes"] == "first"
    assert read_report(path)["notes"] == "second"

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        write_report(dict(good, notes="third"), path)
    monkeypatch.undo()
    assert read_report(path)["notes"] == "second"
    assert sorted(p.name for p in (tmp_path / "deep").iterdir()) == ["report.json", "report.md"]


def test_report_json_converts_numpy_values(tmp_path):
    base = {k: np.float64(v) if isinstance(v, float) else np.int64(v) for k, v in BASE.items()}
    r = build_report(base, OPT, OptimizationTarget())
    back = read_report(write_report(r, tmp_path / "r.json"))
    assert back["baseline"]["nbytes"] == 38440 and check_report(back) == []


def test_digits_pipeline_meets_the_capstone_target():
    with np.load(REPO / "datasets" / "digits.npz", allow_pickle=False) as data:
        x = data["images"].reshape(-1, 64).astype(np.float32) / 16.0
        y = data["labels"].astype(np.int64)
    order = np.random.default_rng(0).permutation(len(y))
    test, train = order[:360], order[360:]
    mean, std = x[train].mean(axis=0), x[train].std(axis=0) + 0.1
    x = ((x - mean) / std).astype(np.float32)
    np.random.seed(1986)
    base = Sequential(Linear(64, 128), ReLU(), Linear(128, 10))
    distill(None, base, x[train], y[train], epochs=8, lr=0.005, batch_size=32, alpha=0.0, seed=0)
    shipped = optimize_model(base, x[train], y[train])
    target = OptimizationTarget()
    report = build_report(evaluate_model(base, x[test], y[test], repeats=2),
                          evaluate_model(shipped, x[test], y[test], repeats=2), target)
    assert report["size_reduction"] == pytest.approx(38440 / 5624)
    assert report["passed"], report
    assert check_report(report, target, remeasured=evaluate_model(shipped, x[test], y[test], repeats=1)) == []
