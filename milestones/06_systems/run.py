"""Milestone 06: the systems age (2018 and after).

Two acts, both on your own tinytorch:

1. Compress: milestone 03's digits reader (a 64-128-10 MLP) is profiled, structurally pruned (half of its
   hidden neurons), fine-tuned by distillation from the original and quantized to int8.
   Targets: at least 4x fewer stored bytes (counted by module 15's `model_nbytes`) and a test accuracy
   within 2 points of the original's.
2. Memoize: a small character GPT (module 13) writes 100 new tokens greedily, once recomputing the whole
   context at every step (`GPT.generate`) and once with module 17's key/value cache (`generate_cached`).
   Targets: identical tokens, and the cached run at least 3x faster (median of a few runs).

Run: `tito milestone run 06` (or `python milestones/06_systems/run.py [--quick]`).
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import _data  # noqa: E402
from _ui import console_or_default, progress, results, story  # noqa: E402

MILESTONE = {
    "title": "The Systems Age",
    "year": "2018",
    "requires": ["01_tensor", "02_activations", "03_layers", "04_losses", "05_autograd", "06_optimizers",
                 "07_training", "11_embeddings", "12_attention", "13_transformers", "14_profiling",
                 "15_quantization", "16_compression", "17_memoization"],
    "goal": "The digits MLP 4x smaller within 2 points of its accuracy; KV-cached generation 3x faster, same tokens",
}

SIZE_TARGET = 4.0          # baseline bytes / optimized bytes
MAX_ACCURACY_DROP = 0.02   # two points of test accuracy
KV_SPEEDUP_TARGET = 3.0    # plain generate time / cached time
NEW_TOKENS = 100
PRUNE_AMOUNT = 0.5
PROMPT = "From fairest creatures we desire increase,\nThat thereby beauty's rose might never die,"
TEXT = Path(__file__).resolve().parents[2] / "datasets" / "shakespeare_sonnets.txt"

STORY = """
By 2018 deep learning worked; the question had become what it costs. Models left the data centre for phones,
cameras and browsers, and every byte and millisecond started to matter. Han, Mao and Dally's "Deep Compression"
had shown that pruning and quantizing a trained network can shrink it dozens of times with no loss of accuracy;
Jacob and colleagues at Google described the integer-only int8 inference behind TensorFlow Lite (2018);
distillation (Hinton, Vinyals and Dean, 2015) trained small students from large teachers. The same year the
MLPerf benchmark began to measure training and inference speed under agreed rules.

Language models brought a new cost: writing text one token at a time. A decoder that recomputes its whole
context for every new token does quadratic work, so Transformer decoders remember the keys and values of past
tokens instead (the GPT-2 code of 2019 already passed them along as "past").

Your turn, with modules 14 to 17: make milestone 03's digits reader [bold]4x smaller[/] without losing more than
[bold]2 points[/] of accuracy, and make a GPT write [bold]100 tokens at least 3x faster[/] with exactly the same output.
"""


# ----------------------------------------------------------------------------------------------- act 1
def digits_data():
    """Milestone 03's data: a stratified 20% test set (seed 0), pixels standardized with training statistics."""
    x, y = _data.load_digits()
    (x_train, y_train), (x_test, y_test) = _data.split(x, y, test_fraction=0.2, seed=0)
    x_train, x_test = _data.standardize(x_train, x_test)
    return (x_train, y_train), (x_test, y_test)


def train_baseline(train, test, epochs, console, seed=1986):
    """Milestone 03's recipe: a 64-128-10 MLP, Adam, a cosine schedule and gradient clipping (module 07)."""
    from tinytorch.core.activations import ReLU
    from tinytorch.core.layers import Linear, Sequential
    from tinytorch.core.losses import CrossEntropyLoss
    from tinytorch.core.optimizers import Adam
    from tinytorch.core.training import CosineLR, Trainer

    np.random.seed(seed)
    model = Sequential(Linear(64, 128), ReLU(), Linear(128, 10))
    optimizer = Adam(model.parameters(), lr=0.01)
    trainer = Trainer(model, optimizer, CrossEntropyLoss(), scheduler=CosineLR(optimizer, total_epochs=epochs),
                      grad_clip_norm=5.0)
    with progress(console) as bar:
        task = bar.add_task("act 1: training the 64-128-10 reader", total=epochs, info="")

        def report(epoch, record):
            bar.update(task, advance=1, info=f"loss {record['train_loss']:.3f}  test {record['val_acc']:.1%}")

        trainer.fit(_data.Batches(*train, 32, shuffle=True, seed=seed), epochs, val_batches=_data.Batches(*test, 256),
                    on_epoch_end=report)
    return model


def finetune(teacher, student, train, epochs, console, lr=0.005, batch_size=32, temperature=2.0, alpha=0.5, seed=0):
    """Fine-tune `student` in place by distillation from `teacher` (module 16's loss), with a progress bar."""
    from tinytorch.core.autograd import no_grad
    from tinytorch.core.optimizers import Adam
    from tinytorch.core.tensor import Tensor
    from tinytorch.perf.compression import distillation_loss

    x, y = train
    teacher.eval()
    with no_grad():
        soft = teacher(Tensor(x)).data
    optimizer = Adam(student.parameters(), lr=lr)
    rng = np.random.default_rng(seed)
    student.train()
    with progress(console) as bar:
        task = bar.add_task("act 1: fine-tuning the pruned reader", total=epochs, info="")
        for _ in range(epochs):
            order, total = rng.permutation(len(x)), 0.0
            for i in range(0, len(order), batch_size):
                idx = order[i:i + batch_size]
                loss = distillation_loss(student(Tensor(x[idx])), soft[idx], y[idx], temperature=temperature,
                                         alpha=alpha)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                total += float(loss.data) * len(idx)
            bar.update(task, advance=1, info=f"distillation loss {total / len(x):.3f}")
    student.eval()
    return student


def measure(model, x, y, repeats=20):
    """Accuracy, stored bytes (model_nbytes) and median forward latency over the whole test set."""
    from tinytorch.core.autograd import no_grad
    from tinytorch.core.tensor import Tensor
    from tinytorch.perf.profiling import measure_latency
    from tinytorch.perf.quantization import model_nbytes

    model.eval()
    X = Tensor(x)
    with no_grad():
        acc = float(np.mean(np.argmax(model(X).data, axis=1) == y))
        latency = measure_latency(lambda: model(X), warmup=3, repeats=repeats)["median"]
    return {"accuracy": acc, "nbytes": int(model_nbytes(model)), "latency_ms": latency * 1e3}


def show_profile(console, model, x):
    """Module 14's per-layer profile of the baseline, as a rich table."""
    from rich.table import Table

    from tinytorch.core.tensor import Tensor
    from tinytorch.perf.profiling import profile_model

    rows = profile_model(model, Tensor(x), repeats=5)
    table = Table(title=f"profile of the baseline ({len(x)} test digits per forward pass)", title_style="bold")
    for col in ("layer", "params", "bytes", "FLOPs", "time share"):
        table.add_column(col, justify="left" if col == "layer" else "right")
    for r in rows:
        table.add_row(r["name"], f"{r['params']:,}", f"{r['param_bytes']:,}", f"{r['flops']:,}", f"{r['share']:.1%}")
    console.print(table)
    return rows


def compress(quick: bool, console) -> dict:
    from tinytorch.perf.compression import prune_neurons
    from tinytorch.perf.quantization import quantize_model

    train, test = digits_data()
    console.print(f"act 1: {len(train[1])} training digits, {len(test[1])} test digits")
    t0 = time.perf_counter()
    baseline = train_baseline(train, test, epochs=8 if quick else 20, console=console)
    base = measure(baseline, *test)
    show_profile(console, baseline, test[0])
    pruned = prune_neurons(baseline, PRUNE_AMOUNT)
    pruned_acc = measure(pruned, *test, repeats=1)["accuracy"]
    console.print(f"pruned {PRUNE_AMOUNT:.0%} of the hidden neurons: 64-{baseline[0].out_features}-10 -> "
                  f"64-{pruned[0].out_features}-10, test accuracy {base['accuracy']:.2%} -> {pruned_acc:.2%} "
                  "before fine-tuning")
    finetune(baseline, pruned, train, epochs=4 if quick else 8, console=console)
    tuned_acc = measure(pruned, *test, repeats=1)["accuracy"]
    shipped = quantize_model(pruned)
    opt = measure(shipped, *test)
    console.print(f"fine-tuned: {tuned_acc:.2%}; quantized to int8: {opt['accuracy']:.2%}, "
                  f"{base['nbytes']:,} -> {opt['nbytes']:,} bytes")
    return {"baseline_accuracy": base["accuracy"], "pruned_accuracy": pruned_acc, "finetuned_accuracy": tuned_acc,
            "optimized_accuracy": opt["accuracy"], "accuracy_drop": base["accuracy"] - opt["accuracy"],
            "baseline_bytes": base["nbytes"], "optimized_bytes": opt["nbytes"],
            "size_reduction": base["nbytes"] / opt["nbytes"], "baseline_latency_ms": base["latency_ms"],
            "optimized_latency_ms": opt["latency_ms"], "hidden_neurons": int(shipped[0].out_features),
            "compress_seconds": time.perf_counter() - t0}


# ----------------------------------------------------------------------------------------------- act 2
def char_gpt(text: str, steps: int, console, seed: int = 0):
    """A small character GPT trained for a few steps on `text`; returns (model, encode, decode)."""
    from tinytorch.core.losses import CrossEntropyLoss
    from tinytorch.core.optimizers import Adam
    from tinytorch.core.tensor import Tensor
    from tinytorch.core.transformer import GPT

    chars = sorted(set(text))
    stoi = {c: i for i, c in enumerate(chars)}
    ids = np.array([stoi[c] for c in text], dtype=np.int64)
    vocab, T, batch = len(chars), 32, 8
    model = GPT(vocab, embed_dim=96, num_heads=4, num_layers=2, max_seq_len=192, mlp_ratio=4, seed=seed)
    opt, loss_fn = Adam(model.parameters(), lr=3e-3), CrossEntropyLoss()
    rng = np.random.default_rng(seed)
    if steps == 0:
        console.print("[dim]act 2 (quick): the GPT keeps its random initial weights; the cache must give identical "
                      "tokens whatever the weights are, and the timing does not depend on them[/]")
        model.eval()
        return model, (lambda s: [stoi[c] for c in s]), (lambda seq: "".join(chars[int(i)] for i in seq))
    with progress(console) as bar:
        task = bar.add_task("act 2: a quick character GPT", total=steps, info="")
        for step in range(steps):
            starts = rng.integers(0, len(ids) - T - 1, size=batch)
            xb = np.stack([ids[s:s + T + 1] for s in starts])
            loss = loss_fn(model(xb[:, :-1]).reshape(-1, vocab), Tensor(xb[:, 1:].reshape(-1)))
            opt.zero_grad()
            loss.backward()
            opt.step()
            bar.update(task, advance=1, info=f"loss {float(loss.data):.3f}")
    model.eval()
    return model, (lambda s: [stoi[c] for c in s]), (lambda seq: "".join(chars[int(i)] for i in seq))


def paired_timings(slow, fast, runs: int):
    """Time `slow` and `fast` in `runs` back-to-back pairs, in this process.

    The speed-up is the median of the per-pair ratios of CPU time (`time.process_time`): each fast run is
    compared with the slow run measured right before it, and CPU time does not count the time other
    programs take the cores away, so a loaded machine does not flip the verdict. Wall times are reported too.
    Returns (speed-up, median slow wall s, median fast wall s, slow outputs, fast outputs).
    """
    ratios, walls, slow_out, fast_out = [], ([], []), [], []
    for _ in range(runs):
        cpu = []
        for fn, wall, outputs in ((slow, walls[0], slow_out), (fast, walls[1], fast_out)):
            c0, t0 = time.process_time(), time.perf_counter()
            outputs.append(fn())
            cpu.append(time.process_time() - c0)
            wall.append(time.perf_counter() - t0)
        ratios.append(cpu[0] / max(cpu[1], 1e-9))
    return float(np.median(ratios)), float(np.median(walls[0])), float(np.median(walls[1])), slow_out, fast_out


def memoize(quick: bool, console) -> dict:
    from tinytorch.perf.memoization import KVCache, generate_cached

    text = TEXT.read_text(encoding="utf-8")
    start = text.index(PROMPT)
    text = text[start:start + 4000]
    model, encode, decode = char_gpt(text, steps=0 if quick else 150, console=console)
    prompt = encode(PROMPT)
    runs = 3 if quick else 5
    with progress(console) as bar:
        task = bar.add_task(f"act 2: {NEW_TOKENS} tokens, {runs}x each way", total=2 * runs, info="")

        def timed(fn, label):
            def wrapped():
                out = fn()
                bar.update(task, advance=1, info=label)
                return out
            return wrapped

        speedup, t_plain, t_cached, plain, cached = paired_timings(
            timed(lambda: model.generate(prompt, NEW_TOKENS, temperature=0), "recomputing the context"),
            timed(lambda: generate_cached(model, prompt, NEW_TOKENS, temperature=0), "with the KV cache"), runs)
    identical = all(np.array_equal(o, plain[0]) for o in plain + cached)
    sample = decode(cached[0])
    console.print(f"[dim]prompt {PROMPT!r} ({len(prompt)} tokens); the GPT continues:[/] {sample[len(PROMPT):]!r}")
    return {"new_tokens": NEW_TOKENS, "prompt_tokens": len(prompt), "generate_ms": t_plain * 1e3,
            "cached_ms": t_cached * 1e3, "kv_speedup": speedup, "tokens_identical": bool(identical),
            "kv_cache_bytes": KVCache.for_model(model).nbytes, "generation_runs": runs, "sample": sample}


# ----------------------------------------------------------------------------------------------- main
def before_after_table(console, c: dict, g: dict) -> None:
    from rich.table import Table
    table = Table(title="Before / after", title_style="bold")
    for col, justify in (("", "left"), ("before", "right"), ("after", "right"), ("change", "right")):
        table.add_column(col, justify=justify)
    table.add_row("digits MLP: stored bytes", f"{c['baseline_bytes']:,}", f"{c['optimized_bytes']:,}",
                  f"{c['size_reduction']:.2f}x smaller")
    table.add_row("digits MLP: test accuracy", f"{c['baseline_accuracy']:.2%}", f"{c['optimized_accuracy']:.2%}",
                  f"{-100 * c['accuracy_drop']:+.2f} points")
    table.add_row("digits MLP: latency, whole test set", f"{c['baseline_latency_ms']:.3f} ms",
                  f"{c['optimized_latency_ms']:.3f} ms",
                  f"{c['baseline_latency_ms'] / c['optimized_latency_ms']:.2f}x (reported, not a target)")
    table.add_row(f"GPT: {g['new_tokens']} new tokens (median of {g['generation_runs']} pairs)",
                  f"{g['generate_ms']:.0f} ms", f"{g['cached_ms']:.0f} ms", f"{g['kv_speedup']:.1f}x faster (CPU time)")
    table.add_row("GPT: tokens per second", f"{g['new_tokens'] / g['generate_ms'] * 1e3:,.0f}",
                  f"{g['new_tokens'] / g['cached_ms'] * 1e3:,.0f}", f"KV cache: {g['kv_cache_bytes']:,} bytes")
    console.print(table)


def run(quick: bool = False, console=None) -> dict:
    console = console_or_default(console)
    story(console, "Milestone 06: the systems age", MILESTONE["year"], STORY)
    c = compress(quick, console)
    g = memoize(quick, console)
    before_after_table(console, c, g)

    size_ok = c["size_reduction"] >= SIZE_TARGET
    acc_ok = c["accuracy_drop"] <= MAX_ACCURACY_DROP + 1e-9
    same_ok = g["tokens_identical"]
    fast_ok = g["kv_speedup"] >= KV_SPEEDUP_TARGET
    rows = [("MLP: size reduction (model_nbytes)", f"{c['size_reduction']:.2f}x", f"≥ {SIZE_TARGET:.0f}x", size_ok),
            ("MLP: test accuracy lost", f"{100 * c['accuracy_drop']:.2f} points",
             f"≤ {100 * MAX_ACCURACY_DROP:.0f} points", acc_ok),
            ("GPT: cached tokens identical to generate", "yes" if same_ok else "no", "identical", same_ok),
            (f"GPT: KV-cache speed-up, {NEW_TOKENS} tokens (CPU time, paired runs)", f"{g['kv_speedup']:.1f}x",
             f"≥ {KV_SPEEDUP_TARGET:.0f}x", fast_ok),
            ("margins: size / accuracy / speed-up",
             f"{c['size_reduction'] / SIZE_TARGET:.2f}x / {100 * (MAX_ACCURACY_DROP - c['accuracy_drop']):+.2f} pts / "
             f"{g['kv_speedup'] / KV_SPEEDUP_TARGET:.2f}x", "> 1x / ≥ 0 / > 1x", None)]
    passed = size_ok and acc_ok and same_ok and fast_ok
    results(console, "Milestone 06 results", rows, passed)
    metrics = {k: v for k, v in {**c, **g}.items() if isinstance(v, (int, float, bool))}
    metrics.update(size_margin=c["size_reduction"] / SIZE_TARGET, accuracy_margin=MAX_ACCURACY_DROP - c["accuracy_drop"],
                   kv_speedup_margin=g["kv_speedup"] / KV_SPEEDUP_TARGET)
    return {"passed": passed, "metrics": metrics, "sample": g["sample"]}


if __name__ == "__main__":
    result = run(quick="--quick" in sys.argv)
    sys.exit(0 if result["passed"] else 1)
