"""Package tests for module 14 (tinytorch.perf.profiling)."""
import gc
import math

import numpy as np
import pytest

import tinytorch
from tinytorch.core.activations import GELU, ReLU, Sigmoid, Softmax
from tinytorch.core.autograd import is_grad_enabled
from tinytorch.core.layers import Dropout, Linear, Module, Sequential
from tinytorch.core.spatial import Conv2d, Flatten, MaxPool2d
from tinytorch.core.tensor import Tensor
from tinytorch.perf.profiling import (
    amdahl_limit,
    amdahl_speedup,
    count_parameters,
    format_profile,
    layer_flops,
    measure_latency,
    parameter_bytes,
    profile_model,
)

KEYS = {"name", "output_shape", "params", "param_bytes", "activation_bytes", "flops", "time_ms", "share"}


def mlp(seed=0):
    np.random.seed(seed)
    return Sequential(Linear(64, 256), ReLU(), Linear(256, 256), ReLU(), Linear(256, 10))


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


class Costly(Module):
    """Identity layer that advances a fake clock by `ms` milliseconds per call."""

    def __init__(self, clock, ms):
        super().__init__()
        self.clock, self.ms = clock, ms

    def forward(self, x):
        self.clock.now += self.ms / 1000
        return x + 0.0


def test_top_level_reexports():
    assert tinytorch.profile_model is profile_model and tinytorch.amdahl_limit is amdahl_limit


def test_parameter_counts_and_bytes():
    model = mlp()
    n = 64 * 256 + 256 + 256 * 256 + 256 + 256 * 10 + 10
    assert count_parameters(model) == n == 85002
    assert parameter_bytes(model) == 4 * n
    assert count_parameters(Linear(3, 2, bias=False)) == 6
    assert count_parameters(ReLU()) == 0 and parameter_bytes(ReLU()) == 0
    shared = Linear(5, 5)
    assert count_parameters(Sequential(shared, ReLU(), shared)) == 30        # shared weights counted once
    half = Linear(4, 4)
    half.weight.data = half.weight.data.astype(np.float16)
    assert parameter_bytes(half) == 16 * 2 + 4 * 4


def test_layer_flops_convention():
    assert layer_flops(Linear(64, 256), (256, 64)) == 2 * 256 * 64 * 256
    assert layer_flops(Linear(8, 3), (2, 7, 8)) == 2 * 14 * 8 * 3            # every leading index is a row
    assert layer_flops(Linear(8, 3), (8,)) == 48
    for act in (ReLU(), Sigmoid(), GELU(), Softmax()):
        assert layer_flops(act, (4, 6)) == 24
    assert layer_flops(Conv2d(3, 8, 3, padding=1), (2, 3, 10, 10)) == 2 * 2 * 3 * 9 * 8 * 100
    assert layer_flops(Conv2d(2, 4, (3, 2), stride=2), (1, 2, 7, 7)) == 2 * 2 * 6 * 4 * 3 * 3
    for other in (Dropout(0.3), Flatten(), MaxPool2d(2)):
        assert layer_flops(other, (1, 2, 4, 4)) == 0
    with pytest.raises(ValueError, match="64"):
        layer_flops(Linear(64, 2), (3, 32))
    with pytest.raises(ValueError):
        layer_flops(Conv2d(3, 4, 3), (1, 1, 8, 8))


def test_measure_latency_with_a_fake_clock():
    calls = []
    ticks = iter([0, 2, 10, 11, 20, 24, 30, 33])                              # durations 2, 1, 4, 3
    s = measure_latency(lambda: calls.append(0), warmup=3, repeats=4, timer=lambda: float(next(ticks)))
    assert len(calls) == 7
    assert {"median", "mean", "std", "min", "max", "p50", "p90", "p99"} <= set(s)
    assert s["times"] == [2.0, 1.0, 4.0, 3.0] and s["n"] == 4
    assert s["median"] == s["p50"] == 2.5 and s["mean"] == 2.5 and (s["min"], s["max"]) == (1.0, 4.0)
    assert s["p90"] == pytest.approx(np.percentile([1, 2, 3, 4], 90))
    assert s["p99"] == pytest.approx(3.97)
    assert s["std"] == pytest.approx(np.std([1, 2, 3, 4], ddof=1))
    with pytest.raises(ValueError):
        measure_latency(lambda: None, repeats=0)
    with pytest.raises(ValueError):
        measure_latency(lambda: None, warmup=-2)


def test_measure_latency_real_clock_and_gc_restored():
    s = measure_latency(lambda: np.zeros(500).sum(), warmup=1, repeats=5)
    assert 0 < s["min"] <= s["median"] <= s["p90"] <= s["p99"] <= s["max"]
    before = gc.isenabled()
    with pytest.raises(RuntimeError):
        measure_latency(lambda: (_ for _ in ()).throw(RuntimeError("boom")), warmup=0, repeats=1)
    assert gc.isenabled() == before


def test_profile_model_times_and_shares_on_a_fake_clock():
    clock = Clock()
    model = Sequential(Costly(clock, 2.0), Costly(clock, 6.0), Costly(clock, 12.0))
    rows = profile_model(model, Tensor(np.ones((3, 2), dtype=np.float32)), repeats=5, warmup=2, timer=clock)
    assert [r["name"] for r in rows] == ["0:Costly", "1:Costly", "2:Costly"]
    np.testing.assert_allclose([r["time_ms"] for r in rows], [2.0, 6.0, 12.0])
    np.testing.assert_allclose([r["share"] for r in rows], [0.1, 0.3, 0.6])
    single = profile_model(Costly(clock, 1.0), np.zeros((2, 2)), repeats=2, warmup=0, timer=clock)
    assert len(single) == 1 and single[0]["share"] == 1.0 and single[0]["output_shape"] == (2, 2)


def test_profile_model_columns_of_a_real_mlp():
    x = Tensor(np.random.default_rng(0).standard_normal((16, 64)).astype(np.float32))
    rows = profile_model(mlp(), x, repeats=2, warmup=1)
    assert all(KEYS <= set(r) for r in rows)
    assert [r["name"] for r in rows] == ["0:Linear", "1:ReLU", "2:Linear", "3:ReLU", "4:Linear"]
    assert [r["output_shape"] for r in rows] == [(16, 256)] * 4 + [(16, 10)]
    assert [r["params"] for r in rows] == [16640, 0, 65792, 0, 2570]
    assert [r["param_bytes"] for r in rows] == [66560, 0, 263168, 0, 10280]
    assert [r["activation_bytes"] for r in rows] == [16 * 256 * 4] * 4 + [16 * 10 * 4]
    assert [r["flops"] for r in rows] == [2 * 16 * 64 * 256, 4096, 2 * 16 * 256 * 256, 4096, 2 * 16 * 256 * 10]
    times = np.array([r["time_ms"] for r in rows])
    np.testing.assert_allclose([r["share"] for r in rows], times / times.sum(), rtol=1e-6)
    assert is_grad_enabled(), "profiling must restore grad mode"
    assert all(p.grad is None for p in mlp().parameters())


def test_profile_model_walks_a_cnn():
    np.random.seed(1)
    cnn = Sequential(Conv2d(1, 4, 3, padding=1), ReLU(), MaxPool2d(2), Flatten(), Linear(4 * 4 * 4, 3))
    rows = profile_model(cnn, Tensor(np.zeros((2, 1, 8, 8), dtype=np.float32)), repeats=1, warmup=0)
    assert [r["output_shape"] for r in rows] == [(2, 4, 8, 8), (2, 4, 8, 8), (2, 4, 4, 4), (2, 64), (2, 3)]
    assert [r["flops"] for r in rows] == [2 * 2 * 9 * 4 * 64, 2 * 4 * 64, 0, 0, 2 * 2 * 64 * 3]
    assert rows[0]["params"] == 4 * 9 + 4


def test_format_profile_table():
    x = Tensor(np.ones((4, 64), dtype=np.float32))
    rows = profile_model(mlp(), x, repeats=1, warmup=0)
    text = format_profile(rows)
    lines = text.splitlines()
    assert len(lines) == len(rows) + 4                                        # header, rule, rows, rule, total
    assert len({len(line) for line in lines}) == 1, "columns must be aligned to one width"
    assert lines[0].split()[:2] == ["layer", "output"]
    total = lines[-1]
    assert total.startswith("total") and "85,002" in total and "340,008" in total and "100.0%" in total
    assert f"{sum(r['flops'] for r in rows):,}" in total
    assert "2:Linear" in text and "(4, 256)" in text
    with pytest.raises(ValueError):
        format_profile([])


def test_amdahl():
    assert amdahl_speedup(0.6, 2) == pytest.approx(1 / 0.7)
    assert amdahl_speedup(0.5, math.inf) == pytest.approx(2.0) == amdahl_limit(0.5)
    assert amdahl_speedup(0.0, 50) == 1.0 and amdahl_speedup(0.3, 1) == 1.0
    assert amdahl_speedup(1.0, 8) == pytest.approx(8.0)
    assert amdahl_speedup(0.25, 0.5) == pytest.approx(0.8)                    # a slow-down
    assert amdahl_limit(0.9) == pytest.approx(10.0) and amdahl_limit(0.0) == 1.0
    assert amdahl_limit(1.0) == math.inf and amdahl_speedup(1.0, math.inf) == math.inf
    assert all(amdahl_speedup(0.7, s) < amdahl_limit(0.7) for s in (2, 10, 1e6))
    for bad in ((-0.01, 2), (1.01, 2), (0.5, 0), (0.5, -1), (float("nan"), 2)):
        with pytest.raises(ValueError):
            amdahl_speedup(*bad)
    for bad in (-0.5, 2.0):
        with pytest.raises(ValueError):
            amdahl_limit(bad)
