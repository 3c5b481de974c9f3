"""Milestone 06 (the systems age): metadata, discovery by tito, its pieces, and a quick run reaching every target."""
from __future__ import annotations

import ast
import importlib.util
import io
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
PATH = REPO / "milestones" / "06_systems" / "run.py"


def load():
    name = "_test_milestone_06_systems"
    spec = importlib.util.spec_from_file_location(name, PATH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        sys.modules.pop(name, None)
    return module


def quiet_console():
    from rich.console import Console
    return Console(file=io.StringIO(), width=100)


def test_metadata_is_a_literal_naming_real_modules():
    tree = ast.parse(PATH.read_text(encoding="utf-8"))
    meta = next(ast.literal_eval(n.value) for n in tree.body
                if isinstance(n, ast.Assign) and any(getattr(t, "id", "") == "MILESTONE" for t in n.targets))
    assert {"title", "year", "requires", "goal"} <= set(meta) and meta["year"] == "2018"
    src = {p.name for p in (REPO / "src").iterdir() if p.is_dir()}
    assert meta["requires"] == sorted(meta["requires"])
    for slug in meta["requires"]:
        assert slug in src, f"requires unknown module {slug}"
    assert {"07_training", "13_transformers", "14_profiling", "15_quantization", "16_compression",
            "17_memoization"} <= set(meta["requires"])


def test_imports_only_tinytorch_numpy_rich_and_the_helpers():
    allowed = {"tinytorch", "numpy", "rich", "__future__", "sys", "time", "pathlib", "_data", "_ui"}
    for node in ast.walk(ast.parse(PATH.read_text(encoding="utf-8"))):
        names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                 else [node.module] if isinstance(node, ast.ImportFrom) else [])
        for name in names:
            assert name.split(".")[0] in allowed, f"milestone 06 imports {name}"


def test_tito_discovers_and_lists_it():
    from click.testing import CliRunner
    from tito.cli import main
    from tito.course import Course
    from tito.milestones import resolve
    m = resolve(Course.load(REPO), "06")
    assert m.slug == "06_systems" and m.year == "2018" and "17_memoization" in m.requires
    out = CliRunner().invoke(main, ["milestone", "list"], env={"COLUMNS": "200", "TINYTORCH_ROOT": str(REPO)})
    assert out.exit_code == 0, out.output
    assert "06" in out.output and "Systems Age" in out.output


def test_measure_counts_quantized_bytes_honestly():
    from tinytorch.core.activations import ReLU
    from tinytorch.core.layers import Linear, Sequential
    from tinytorch.perf.quantization import quantize_model
    m = load()
    np.random.seed(0)
    model = Sequential(Linear(64, 128), ReLU(), Linear(128, 10))
    x = np.random.default_rng(0).normal(size=(20, 64)).astype(np.float32)
    y = np.zeros(20, dtype=np.int64)
    base, q = m.measure(model, x, y, repeats=2), m.measure(quantize_model(model), x, y, repeats=2)
    assert base["nbytes"] == 38440 and q["nbytes"] == 64 * 128 + 128 * 10 + 12 * (128 + 10)
    assert 0.0 <= q["accuracy"] <= 1.0 and q["latency_ms"] > 0


def test_quick_run_meets_every_target():
    m = load()
    result = m.run(quick=True, console=quiet_console())
    metrics = result["metrics"]
    assert metrics["size_reduction"] >= m.SIZE_TARGET, metrics
    assert metrics["optimized_bytes"] * m.SIZE_TARGET <= metrics["baseline_bytes"], metrics
    assert metrics["accuracy_drop"] <= m.MAX_ACCURACY_DROP + 1e-9, metrics
    assert metrics["baseline_accuracy"] >= 0.95, metrics
    assert metrics["tokens_identical"] is True, metrics
    assert metrics["kv_speedup"] >= m.KV_SPEEDUP_TARGET, metrics
    assert metrics["new_tokens"] == 100 and metrics["hidden_neurons"] == 64
    assert result["passed"] is True
    assert len(result["sample"]) == metrics["prompt_tokens"] + 100


def test_speedup_is_paired_cpu_time_so_load_cannot_flip_it(monkeypatch):
    """The KV speed-up is the median ratio of CPU times of back-to-back pairs: wall time lost to other
    programs (here: a simulated load that hits only the fast runs) does not change it."""
    m = load()
    clock = {"cpu": 0.0, "wall": 0.0}
    monkeypatch.setattr(m.time, "process_time", lambda: clock["cpu"])
    monkeypatch.setattr(m.time, "perf_counter", lambda: clock["wall"])

    def work(cpu, stolen):
        def fn():
            clock["cpu"] += cpu
            clock["wall"] += cpu + stolen          # the machine is busy: wall time passes without our CPU time
            return np.array([1, 2, 3])
        return fn

    speedup, slow_wall, fast_wall, slow_out, fast_out = m.paired_timings(work(4.0, 0.0), work(1.0, 5.0), runs=5)
    assert speedup == 4.0, "the verdict follows the CPU work, not the wall clock"
    assert (slow_wall, fast_wall) == (4.0, 6.0), "wall times are still reported as measured"
    assert len(slow_out) == len(fast_out) == 5
