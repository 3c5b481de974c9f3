"""Package tests for module 19 (tinytorch.perf.benchmarking)."""
import gc
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from tinytorch.core.activations import ReLU
from tinytorch.core.layers import Linear, Sequential
from tinytorch.core.tensor import Tensor
from tinytorch.perf.benchmarking import (
    Benchmark,
    BenchmarkResult,
    bootstrap_ci,
    compare_models,
    format_report,
    format_table,
    model_size,
    peak_memory,
    robust_stats,
    save_svg_bar_chart,
    speedup,
)


def test_robust_stats_worked_example():
    s = robust_stats([10, 11, 12, 13, 50])
    assert (s["median"], s["q25"], s["q75"], s["iqr"], s["n"]) == (12, 11, 13, 2, 5)
    assert s["mean"] == pytest.approx(19.2) and s["std"] == pytest.approx(np.std([10, 11, 12, 13, 50], ddof=1))
    assert robust_stats([4.0])["std"] == 0.0
    with pytest.raises(ValueError):
        robust_stats([])


def test_result_exposes_statistics_and_ci():
    r = BenchmarkResult("x", [3.0, 1.0, 2.0, 2.0, 100.0])
    assert (r.median, r.min, r.max, r.n) == (2.0, 1.0, 100.0, 5)
    lo, hi = r.ci
    assert lo <= 2.0 <= hi and "median" in str(r)


def test_bootstrap_matches_normal_theory_and_is_deterministic():
    x = np.random.default_rng(0).normal(5.0, 2.0, size=500)
    lo, hi = bootstrap_ci(x, np.mean, seed=3)
    assert (hi - lo) == pytest.approx(2 * 1.96 * x.std(ddof=1) / np.sqrt(500), rel=0.15)
    assert bootstrap_ci(x, np.mean, seed=3) == (lo, hi)
    assert bootstrap_ci([7.0]) == (7.0, 7.0)
    with pytest.raises(ValueError):
        bootstrap_ci(x, level=1.5)


def test_benchmark_with_fake_clock():
    calls = []
    ticks = iter(np.arange(0.0, 100.0, 1.0))     # each reading advances the clock by 1 s
    res = Benchmark(lambda: calls.append(1), warmup=3, repeats=5, number=4, timer=lambda: next(ticks)).run()
    assert len(calls) == 3 + 5 * 4
    np.testing.assert_allclose(res.times, 1.0 / 4)
    with pytest.raises(ValueError):
        Benchmark(lambda: None, repeats=0)


def test_benchmark_restores_gc_on_error():
    before = gc.isenabled()
    with pytest.raises(IndexError):
        Benchmark(lambda: [][0], warmup=0, repeats=1).run()
    assert gc.isenabled() == before


def test_speedup_detects_a_real_difference_and_not_a_fake_one():
    rng = np.random.default_rng(1)
    slow = BenchmarkResult("slow", 2.0 + rng.exponential(0.05, size=40))
    fast = BenchmarkResult("fast", 1.0 + rng.exponential(0.05, size=40))
    same = BenchmarkResult("same", 2.0 + rng.exponential(0.05, size=40))
    ratio, lo, hi = speedup(slow, fast)
    assert ratio == pytest.approx(2.0, rel=0.05) and lo > 1.5
    _, lo0, hi0 = speedup(slow, same)
    assert lo0 < 1.0 < hi0


def test_memory_and_size_helpers():
    assert peak_memory(lambda: np.ones(250_000)) >= 2_000_000
    assert model_size(Linear(3, 4)) == (16, 64)
    assert model_size(lambda x: x) == (0, 0)


def test_compare_models_report():
    x = np.array([[1.0, 0.0], [0.0, 1.0], [3.0, 1.0]], dtype=np.float32)
    y = np.array([0, 1, 0])
    good = Linear(2, 2)
    good.weight.data[...] = np.eye(2)
    good.bias.data[...] = 0
    mlp = Sequential(Linear(2, 64), ReLU(), Linear(64, 2))
    rows = compare_models({"good": good, "mlp": mlp}, x, y, warmup=1, repeats=3)
    assert [r["name"] for r in rows] == ["good", "mlp"]
    mlp_predictions = mlp(Tensor(x)).data.argmax(-1)
    assert rows[0]["accuracy"] == 1.0 and rows[1]["accuracy"] == pytest.approx(float(np.mean(mlp_predictions == y)))
    assert rows[1]["params"] == 2 * 64 + 64 + 64 * 2 + 2 and rows[1]["size_bytes"] == 4 * rows[1]["params"]
    assert all(r["latency_ci_ms"][0] <= r["latency_ms"] <= r["latency_ci_ms"][1] for r in rows)
    table = format_report(rows)
    lines = table.splitlines()
    assert len(lines) == 4 and "accuracy" in lines[0] and "100.0%" in lines[2]
    assert len({len(line) for line in lines}) == 1          # aligned columns


def test_format_table_alignment():
    t = format_table(["a", "bb"], [["x", 1], ["yyy", 22]], align="lr")
    assert t.splitlines() == ["| a   | bb |", "|-----|---:|", "| x   |  1 |", "| yyy | 22 |"]


def test_svg_chart_geometry(tmp_path):
    p = save_svg_bar_chart(tmp_path / "sub" / "c.svg", ["a&b", "c"], [1.0, 3.0], errors=[(0.5, 1.5), (2.0, 6.0)])
    root = ET.parse(p).getroot()
    ns = "{http://www.w3.org/2000/svg}"
    bars = [r for r in root.iter(ns + "rect") if r.get("class") == "bar"]
    errs = [e for e in root.iter(ns + "line") if e.get("class") == "err"]
    w = [float(b.get("width")) for b in bars]
    assert len(bars) == 2 and w[1] == pytest.approx(3 * w[0], rel=1e-3)
    assert float(errs[1].get("x2")) <= float(root.get("width"))
    assert float(errs[1].get("x2")) - float(bars[1].get("x")) == pytest.approx(6 * w[0], rel=1e-3)
    with pytest.raises(ValueError):
        save_svg_bar_chart(tmp_path / "bad.svg", ["a"], [-1.0])
    with pytest.raises(ValueError):
        save_svg_bar_chart(tmp_path / "bad.svg", ["a", "b"], [1.0])
