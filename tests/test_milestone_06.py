"""Milestone 06 (the systems age): metadata, discovery by tito, its pieces, and a quick run reaching its targets.

The KV cache is judged by the attention work it saves (counted, deterministic), not by wall-clock speed:
timings belong to benchmarks/, not to tests.
"""
from __future__ import annotations

import ast

import numpy as np
import pytest

from .helpers.course import REPO
from .helpers.milestones import MILESTONES, load_script, milestone_meta, quiet_console

PATH = MILESTONES / "06_systems" / "run.py"


def load():
    return load_script(PATH, "_test_milestone_06_systems")


def test_metadata_is_a_literal_naming_real_modules():
    meta = milestone_meta(PATH)
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
    from tito.core.course import Course
    from tito.core.milestones import resolve

    m = resolve(Course.load(REPO), "06")
    assert m.slug == "06_systems" and m.year == "2018" and "17_memoization" in m.requires
    out = CliRunner().invoke(main, ["milestone", "list"], env={"COLUMNS": "200", "TINYTORCH_ROOT": str(REPO)})
    assert out.exit_code == 0, out.output
    assert "06" in out.output and "Systems Age" in out.output


def test_measure_counts_quantized_bytes_and_reports_the_models_own_accuracy(monkeypatch):
    from tinytorch.core.activations import ReLU
    from tinytorch.core.autograd import no_grad
    from tinytorch.core.layers import Linear, Sequential
    from tinytorch.core.tensor import Tensor
    from tinytorch.perf import profiling
    from tinytorch.perf.quantization import quantize_model

    m = load()
    np.random.seed(0)
    model = Sequential(Linear(64, 128), ReLU(), Linear(128, 10))
    x = np.random.default_rng(0).normal(size=(20, 64)).astype(np.float32)
    y = np.arange(20) % 10
    repeats_seen = []

    def fake_latency(fn, warmup=0, repeats=1):  # the timing itself is module 14's, tested there
        fn()
        repeats_seen.append(repeats)
        return {"median": 0.25}

    monkeypatch.setattr(profiling, "measure_latency", fake_latency)
    quantized = quantize_model(model)
    base, q = m.measure(model, x, y, repeats=2), m.measure(quantized, x, y, repeats=2)
    assert base["nbytes"] == 38440 and q["nbytes"] == 64 * 128 + 128 * 10 + 12 * (128 + 10)
    with no_grad():
        for measured, net in ((base, model), (q, quantized)):
            assert measured["accuracy"] == pytest.approx(float(np.mean(net(Tensor(x)).data.argmax(1) == y)))
    assert base["latency_ms"] == q["latency_ms"] == 250.0 and repeats_seen == [2, 2]


class AttentionWork:
    """Counts query-key scores computed by `attention_forward`, wherever the package calls it from."""

    def __init__(self, monkeypatch):
        from tinytorch.core import attention
        from tinytorch.perf import memoization

        self.scores, self.calls = 0, []
        original = attention.attention_forward

        def counting(Q, K, V, mask=None):
            self.calls.append((Q.shape[-2], K.shape[-2]))
            self.scores += int(np.prod(Q.shape[:-1])) * K.shape[-2]
            return original(Q, K, V, mask)

        monkeypatch.setattr(attention, "attention_forward", counting)
        monkeypatch.setattr(memoization, "attention_forward", counting)

    def take(self) -> tuple[int, list]:
        scores, calls = self.scores, self.calls
        self.scores, self.calls = 0, []
        return scores, calls


def test_kv_cache_gives_the_same_tokens_with_linear_instead_of_quadratic_attention_work(monkeypatch):
    from tinytorch.perf.memoization import generate_cached

    m = load()
    text = m.TEXT.read_text(encoding="utf-8")
    model, encode, _ = m.char_gpt(text[text.index(m.PROMPT):][:4000], steps=0, console=quiet_console())
    prompt, new = encode(m.PROMPT), m.NEW_TOKENS
    P, layers, heads = len(prompt), len(model.blocks), model.blocks[0].attn.num_heads
    assert P + new <= model.max_seq_len, "the run below assumes the context window never slides"
    work = AttentionWork(monkeypatch)

    plain = model.generate(prompt, new, temperature=0)
    plain_scores, plain_calls = work.take()
    cached = generate_cached(model, prompt, new, temperature=0)
    cached_scores, cached_calls = work.take()

    assert np.array_equal(plain, cached) and len(plain) == P + new
    # Without the cache every step recomputes all P + i positions against each other ...
    assert plain_calls == [(P + i, P + i) for i in range(new) for _ in range(layers)]
    assert plain_scores == layers * heads * sum((P + i) ** 2 for i in range(new))
    # ... with it, one prefill of the prompt, then one new query per step against the cached keys.
    assert cached_calls == [(P, P)] * layers + [(1, P + i) for i in range(1, new) for _ in range(layers)]
    assert cached_scores == layers * heads * (P ** 2 + sum(P + i for i in range(1, new)))
    assert plain_scores >= 50 * cached_scores


@pytest.mark.slow
def test_quick_run_meets_every_target_and_its_verdict_follows_the_figures():
    m = load()
    result = m.run(quick=True, console=quiet_console())
    metrics = result["metrics"]
    assert metrics["size_reduction"] >= m.SIZE_TARGET, metrics
    assert metrics["optimized_bytes"] * m.SIZE_TARGET <= metrics["baseline_bytes"], metrics
    assert metrics["accuracy_drop"] <= m.MAX_ACCURACY_DROP + 1e-9, metrics
    assert metrics["baseline_accuracy"] >= 0.95, metrics
    assert metrics["tokens_identical"] is True, metrics
    assert metrics["new_tokens"] == 100 and metrics["hidden_neurons"] == 64
    assert len(result["sample"]) == metrics["prompt_tokens"] + 100
    # The speed-up is measured on this machine (see benchmarks/); only the verdict's logic is tested here.
    assert result["passed"] is (metrics["kv_speedup"] >= m.KV_SPEEDUP_TARGET)


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

