"""Milestone 05: the Transformer (2017).

Two acts, both on your own tinytorch:

1. Prove attention works: a two-block Transformer encoder learns to REVERSE short digit sequences, a task
   that a model without attention cannot solve (every output position must read a different input position).
   Target: 100% of held-out sequences reversed exactly.
2. A character-level GPT (module 13) learns Shakespeare's sonnets (datasets/shakespeare_sonnets.txt, public
   domain). Target: validation loss well below the unigram baseline (a model that only knows how often each
   character occurs), then it writes some "sonnet" of its own.

Run: `tito milestone run 05` (or `python milestones/05_transformer/run.py [--quick]`).
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _ui import console_or_default, progress, results, story  # noqa: E402

MILESTONE = {
    "title": "Transformer",
    "year": 2017,
    "requires": ["01_tensor", "02_activations", "03_layers", "04_losses", "05_autograd", "06_optimizers",
                 "10_tokenization", "11_embeddings", "12_attention", "13_transformers"],
    "goal": "Attention reverses sequences perfectly; a character GPT beats the unigram baseline on Shakespeare",
}

TEXT = Path(__file__).resolve().parents[2] / "datasets" / "shakespeare_sonnets.txt"

# Act 1: sequence reversal
REV_VOCAB, REV_LEN = 10, 8
# Act 2: character GPT. Targets: validation loss at most BASELINE_RATIO x the unigram loss.
# 0.70 was too tight: the reference reached 0.6965 at seed 0 and missed it at seeds 2 and 3. A correct
# implementation must clear the target at every seed, so the target leaves room for seed-to-seed spread.
BASELINE_RATIO_FULL, BASELINE_RATIO_QUICK = 0.75, 0.85
# The reference package's margin (target - achieved ratio), shown next to the student's own.
REFERENCE_MARGIN = "+0.054 at seed 0 (ratio 0.6965)"


STORY = """
In 2017 Vaswani and colleagues at Google published "Attention Is All You Need". Recurrent networks had read a
sentence one word at a time, squeezing everything seen so far into one state vector. The Transformer drops the
recurrence: every position looks at every other position at once, through attention, and deep stacks of such
layers train in parallel on whole sequences. Every large language model since is a Transformer.

Act 1 checks that your attention can route information by position: a small Transformer must learn to reverse
sequences of digits. Act 2 trains a character-level GPT, built from your modules 11 to 13, on Shakespeare's sonnets.
"""


# ----------------------------------------------------------------------------------------------- act 1
class Reverser:
    """Embedding + learned positions -> non-causal Transformer blocks -> LayerNorm -> per-position classifier."""

    def __init__(self, vocab: int, length: int, dim: int = 32, heads: int = 4, layers: int = 2):
        from tinytorch.core.embeddings import Embedding, LearnedPositionalEncoding
        from tinytorch.core.layers import Linear
        from tinytorch.core.transformer import LayerNorm, TransformerBlock
        self.vocab, self.dim = vocab, dim
        self.embed = Embedding(vocab, dim, seed=0)
        self.pos = LearnedPositionalEncoding(length, dim, seed=1)
        self.blocks = [TransformerBlock(dim, heads, mlp_ratio=2, causal=False) for _ in range(layers)]
        self.norm = LayerNorm(dim)
        self.head = Linear(dim, vocab)
        self.layers = [self.embed, self.pos, *self.blocks, self.norm, self.head]

    def parameters(self):
        return [p for layer in self.layers for p in layer.parameters()]

    def __call__(self, ids):
        B, T = ids.shape
        x = self.pos(self.embed(ids))
        for block in self.blocks:
            x = block(x)
        return self.head(self.norm(x).reshape(B * T, self.dim)).reshape(B, T, self.vocab)


def reverse_task(quick: bool, console, seed: int = 0) -> dict:
    from tinytorch.core.autograd import no_grad
    from tinytorch.core.losses import CrossEntropyLoss
    from tinytorch.core.optimizers import Adam
    from tinytorch.core.tensor import Tensor

    np.random.seed(seed)
    rng = np.random.default_rng(seed)
    model = Reverser(REV_VOCAB, REV_LEN)
    opt, loss_fn = Adam(model.parameters(), lr=3e-3), CrossEntropyLoss()
    test_x = rng.integers(0, REV_VOCAB, size=(500, REV_LEN))
    max_steps, batch = (600 if quick else 1500), 64

    def accuracy():
        with no_grad():
            pred = model(test_x).data.argmax(-1)
        target = test_x[:, ::-1]
        return float((pred == target).mean()), float((pred == target).all(axis=1).mean())

    t0, step, tok_acc, seq_acc, loss_value = time.perf_counter(), 0, 0.0, 0.0, float("nan")
    losses = []
    with progress(console) as bar:
        task = bar.add_task("act 1: learning to reverse", total=max_steps, info="")
        for step in range(1, max_steps + 1):
            x = rng.integers(0, REV_VOCAB, size=(batch, REV_LEN))
            logits = model(x)
            loss = loss_fn(logits.reshape(-1, REV_VOCAB), Tensor(x[:, ::-1].reshape(-1)))
            opt.zero_grad()
            loss.backward()
            opt.step()
            loss_value = float(loss.data)
            losses.append(loss_value)
            if step % 50 == 0:
                tok_acc, seq_acc = accuracy()
                bar.update(task, info=f"loss {loss_value:.3f}  sequences reversed {seq_acc:.1%}")
                if seq_acc == 1.0:
                    bar.update(task, completed=max_steps)
                    break
            bar.advance(task)
    if step % 50:
        tok_acc, seq_acc = accuracy()
    example = test_x[:1]
    with no_grad():
        pred = model(example).data.argmax(-1)[0]
    return {"reverse_token_accuracy": tok_acc, "reverse_sequence_accuracy": seq_acc, "reverse_steps": step,
            "reverse_seconds": time.perf_counter() - t0, "example_in": example[0].tolist(), "example_out": pred.tolist(),
            "reverse_losses": losses}


# ----------------------------------------------------------------------------------------------- act 2
def load_text(path: Path = TEXT) -> str:
    return path.read_text(encoding="utf-8")


def encode_text(text: str):
    """(ids int64, decode function, vocab size) using the student's CharTokenizer when it fits, else a plain map."""
    chars = sorted(set(text))
    try:
        from tinytorch.core.tokenization import CharTokenizer
        tok = CharTokenizer(chars)
        ids = np.asarray(tok.encode(text), dtype=np.int64)
        if ids.shape == (len(text),) and tok.decode(ids[:200].tolist()) == text[:200]:
            vocab = int(getattr(tok, "vocab_size", ids.max() + 1))
            return ids, (lambda seq: tok.decode([int(i) for i in seq])), max(vocab, int(ids.max()) + 1)
    except Exception:
        pass
    stoi = {c: i for i, c in enumerate(chars)}
    ids = np.array([stoi[c] for c in text], dtype=np.int64)
    return ids, (lambda seq: "".join(chars[int(i)] for i in seq)), len(chars)


def unigram_loss(train: np.ndarray, val: np.ndarray, vocab: int) -> float:
    """Cross-entropy (nats/char) on `val` of the character frequencies of `train` (add-one smoothed)."""
    counts = np.bincount(train, minlength=vocab).astype(np.float64) + 1.0
    logp = np.log(counts / counts.sum())
    return float(-logp[val].mean())


def char_gpt(quick: bool, console, seed: int = 0) -> dict:
    from tinytorch.core.autograd import no_grad
    from tinytorch.core.losses import CrossEntropyLoss
    from tinytorch.core.optimizers import Adam
    from tinytorch.core.tensor import Tensor
    from tinytorch.core.transformer import GPT

    text = load_text()
    ids, decode, vocab = encode_text(text)
    cut = int(0.9 * len(ids))
    train, val = ids[:cut], ids[cut:]
    baseline = unigram_loss(train, val, vocab)
    T, batch = 64, 32
    steps = 250 if quick else 600
    model = GPT(vocab, embed_dim=64, num_heads=4, num_layers=2, max_seq_len=T, mlp_ratio=2, seed=seed)
    opt, loss_fn = Adam(model.parameters(), lr=3e-3), CrossEntropyLoss()
    rng = np.random.default_rng(seed)
    val_rng = np.random.default_rng(seed + 1)
    val_starts = val_rng.integers(0, len(val) - T - 1, size=64)
    val_batch = np.stack([val[s:s + T + 1] for s in val_starts])

    def val_loss():
        with no_grad():
            logits = model(val_batch[:, :-1])
            return float(loss_fn(logits.reshape(-1, vocab), Tensor(val_batch[:, 1:].reshape(-1))).data)

    def lr_at(step):                       # short warm-up, then cosine decay to 10%
        warm = 50
        if step < warm:
            return 3e-3 * (step + 1) / warm
        frac = (step - warm) / max(1, steps - warm)
        return 3e-3 * (0.1 + 0.9 * 0.5 * (1 + np.cos(np.pi * frac)))

    t0 = time.perf_counter()
    first_val = val_loss()
    current = first_val
    train_losses, val_steps, val_losses = [], [0], [first_val]
    with progress(console) as bar:
        task = bar.add_task("act 2: training a character GPT", total=steps, info="")
        for step in range(steps):
            starts = rng.integers(0, len(train) - T - 1, size=batch)
            xb = np.stack([train[s:s + T + 1] for s in starts])
            logits = model(xb[:, :-1])
            loss = loss_fn(logits.reshape(-1, vocab), Tensor(xb[:, 1:].reshape(-1)))
            opt.lr = lr_at(step)
            opt.zero_grad()
            loss.backward()
            opt.step()
            train_losses.append(float(loss.data))
            if (step + 1) % 50 == 0:
                current = val_loss()
                val_steps.append(step + 1)
                val_losses.append(current)
                bar.update(task, info=f"train {float(loss.data):.3f}  val {current:.3f}  (unigram {baseline:.3f})")
            bar.advance(task)
    final_val = val_loss()
    prompt = "Shall I compare thee"
    stoi = {c: int(i) for c, i in zip(text, ids)}
    prompt_ids = [stoi[c] for c in prompt]
    sample = model.generate(prompt_ids, 120 if quick else 300, temperature=0.8, top_k=10, seed=seed)
    return {"vocab_size": vocab, "train_chars": int(len(train)), "val_chars": int(len(val)),
            "unigram_val_loss": baseline, "initial_val_loss": first_val, "val_loss": final_val,
            "train_losses": train_losses, "val_curve": {"steps": val_steps, "losses": val_losses},
            "gpt_steps": steps, "gpt_seconds": time.perf_counter() - t0, "parameters": model.num_parameters(),
            "sample": decode(sample)}


# ----------------------------------------------------------------------------------------------- main
def run(quick: bool = False, console=None, seed: int = 0) -> dict:
    from rich.panel import Panel

    console = console_or_default(console)
    story(console, "Milestone 05: the Transformer", 2017, STORY)

    rev = reverse_task(quick, console, seed=seed)
    console.print(f"act 1: reversed {rev['reverse_sequence_accuracy']:.1%} of 500 held-out sequences after "
                  f"{rev['reverse_steps']} steps ({rev['reverse_seconds']:.1f}s), e.g. "
                  f"{rev['example_in']} -> {rev['example_out']}")
    gpt = char_gpt(quick, console, seed=seed)
    ratio = BASELINE_RATIO_QUICK if quick else BASELINE_RATIO_FULL
    console.print(Panel(gpt["sample"], title="your GPT writes (prompt: 'Shall I compare thee')", expand=False))

    reverse_ok = rev["reverse_sequence_accuracy"] == 1.0
    gpt_ok = gpt["val_loss"] <= ratio * gpt["unigram_val_loss"]
    rows = [("reversal: held-out sequences exactly right", f"{rev['reverse_sequence_accuracy']:.1%}", "100%", reverse_ok),
            ("reversal: tokens right", f"{rev['reverse_token_accuracy']:.1%}", "", None),
            ("GPT parameters", f"{gpt['parameters']:,}", "", None),
            ("unigram baseline, val loss (nats/char)", f"{gpt['unigram_val_loss']:.3f}", "", None),
            ("GPT val loss before training", f"{gpt['initial_val_loss']:.3f}", "", None),
            ("GPT val loss after training", f"{gpt['val_loss']:.3f}",
             f"<= {ratio:.2f} x baseline = {ratio * gpt['unigram_val_loss']:.3f}", gpt_ok),
            ("GPT margin: target ratio - achieved ratio",
             f"{ratio - gpt['val_loss'] / gpt['unigram_val_loss']:+.3f}", f"reference run: {REFERENCE_MARGIN}", None),
            ("training time (both acts)", f"{rev['reverse_seconds'] + gpt['gpt_seconds']:.1f}s", "", None)]
    passed = reverse_ok and gpt_ok
    results(console, "Milestone 05 results", rows, passed)
    metrics = {k: v for k, v in {**rev, **gpt}.items() if isinstance(v, (int, float))}
    metrics["baseline_ratio_target"] = ratio
    metrics["baseline_ratio"] = gpt["val_loss"] / gpt["unigram_val_loss"]
    metrics["gpt_margin"] = ratio - metrics["baseline_ratio"]
    history = [{"title": "Act 1: learning to reverse", "xlabel": "step", "ylabel": "loss (cross-entropy)",
                "series": {"training loss": rev["reverse_losses"]}},
               {"title": "Act 2: character GPT", "xlabel": "step", "ylabel": "loss (nats/char)",
                "series": {"training loss": gpt["train_losses"],
                           "validation loss": {"x": gpt["val_curve"]["steps"], "y": gpt["val_curve"]["losses"]}},
                "baseline": {"unigram baseline": gpt["unigram_val_loss"]}}]
    return {"passed": passed, "metrics": metrics, "sample": gpt["sample"], "history": history}


if __name__ == "__main__":
    result = run(quick="--quick" in sys.argv)
    sys.exit(0 if result["passed"] else 1)
