"""Milestone 02: the XOR problem (Minsky & Papert, 1969), and how a hidden layer solves it.

Part 1 trains single-layer models (Linear(2, 1) + Sigmoid) on XOR from several random starts: none can get
more than 3 of the 4 points right, because no straight line separates XOR's classes.
Part 2 adds one hidden layer (Linear(2, 8) + Tanh + Linear(8, 1) + Sigmoid) and reaches 4 out of 4.
"""
from __future__ import annotations

import importlib.util
import time
from pathlib import Path

import numpy as np

MILESTONE = {
    "title": "The XOR Problem",
    "year": 1969,
    "requires": ["01_tensor", "02_activations", "03_layers", "04_losses", "05_autograd", "06_optimizers"],
    "goal": "A single layer cannot exceed 75% on XOR; a two-layer network reaches 100%.",
}

STORY = """
In 1969 Marvin Minsky and Seymour Papert published [bold]Perceptrons[/], a careful mathematical study of
what a single-layer perceptron can and cannot compute. One of its simplest examples became famous:
[bold]XOR[/], "one or the other but not both". Its four points, (0,0)→0, (1,1)→0, (0,1)→1, (1,0)→1, sit on
the corners of a square with equal classes on opposite corners, and no straight line puts both 1s on
one side and both 0s on the other. At best a line gets 3 of 4 right: 75%.

The book was read as a verdict on neural networks, and funding and interest faded for more than a
decade. The way out was already known in principle: add a [bold]hidden layer[/]. What was missing was a
practical way to train it. You have that way now, your autograd. First we let single layers try and
fail; then a small two-layer network bends the boundary and solves XOR.
"""

XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
XOR_Y = np.array([[0], [1], [1], [0]], dtype=np.float32)


def _helper(name: str):
    path = Path(__file__).resolve().parent.parent / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"_tinytorch_milestones_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(quick: bool = False, console=None, seed: int = 0) -> dict:
    """`seed` picks the starting weights of the single layers and of the MLP; 0 is the default run."""
    from tinytorch.core.activations import Sigmoid, Tanh
    from tinytorch.core.layers import Linear, Sequential
    from tinytorch.core.losses import BinaryCrossEntropyLoss
    from tinytorch.core.optimizers import Adam
    from tinytorch.core.tensor import Tensor

    ui = _helper("_ui")
    console = ui.console_or_default(console)
    ui.story(console, MILESTONE["title"], MILESTONE["year"], STORY)
    x, y = Tensor(XOR_X), Tensor(XOR_Y)
    loss_fn = BinaryCrossEntropyLoss()

    curves = {}  # label -> loss per step, for the training curves in the book

    def fit(model, steps, bar, task, label):
        optimizer = Adam(model.parameters(), lr=0.05)
        loss_value = float("nan")
        curve = curves.setdefault(label, [])
        for step in range(steps):
            optimizer.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            optimizer.step()
            loss_value = loss.item()
            curve.append(loss_value)
            if step % 25 == 24 or step == steps - 1:
                bar.update(task, advance=min(25, step % 25 + 1), info=f"{label}  loss {loss_value:.4f}")
        return loss_value

    def predictor(model):
        return lambda points: (model(Tensor(points)).data > 0.5).astype(np.float32).reshape(-1)

    def accuracy(model) -> float:
        return float(np.mean(predictor(model)(XOR_X) == XOR_Y.reshape(-1)))

    starts = range(3 if quick else 5)
    single_steps, mlp_steps = (300, 800) if quick else (500, 1500)
    start = time.perf_counter()
    single_accs, single_losses = [], []
    with ui.progress(console) as bar:
        task = bar.add_task("single layer, 5 random starts" if not quick else "single layer, 3 random starts",
                            total=len(starts) * single_steps, info="")
        for start_no in starts:
            np.random.seed(seed * len(starts) + start_no)
            single = Sequential(Linear(2, 1), Sigmoid())
            single_losses.append(fit(single, single_steps, bar, task, f"single layer, start {start_no + 1}"))
            single_accs.append(accuracy(single))
        task = bar.add_task("two-layer MLP 2-8-1", total=mlp_steps, info="")
        np.random.seed(1969 + seed)
        mlp = Sequential(Linear(2, 8), Tanh(), Linear(8, 1), Sigmoid())
        mlp_loss = fit(mlp, mlp_steps, bar, task, "two-layer MLP")
    seconds = time.perf_counter() - start
    mlp_acc = accuracy(mlp)
    probs = mlp(x).data.reshape(-1)

    console.print("What the two-layer network learned (the hidden layer lets the boundary bend):")
    console.print(ui.decision_map(predictor(mlp), XOR_X, XOR_Y.reshape(-1), width=36, height=12, margin=0.3))
    for (a, b), p, t in zip(XOR_X, probs, XOR_Y.reshape(-1)):
        console.print(f"  XOR({a:.0f}, {b:.0f}) = {t:.0f}   network says {p:.3f}")

    best_single = max(single_accs)
    # How far the MLP is from getting a point wrong: the worst point's probability distance from 0.5, on its
    # own class's side (positive: all four right; 0.5 would be certainty).
    mlp_min_confidence = float(np.min((probs - 0.5) * (2 * XOR_Y.reshape(-1) - 1)))
    passed = best_single <= 0.75 and mlp_acc == 1.0
    metrics = {"single_layer_best_accuracy": best_single, "single_layer_accuracies": single_accs,
               "single_layer_best_loss": min(single_losses), "mlp_accuracy": mlp_acc, "mlp_loss": mlp_loss,
               "mlp_min_confidence": mlp_min_confidence, "seconds": seconds}
    ui.results(console, "XOR results", [
        ("single layer: best accuracy of all starts", f"{best_single:.0%}", "≤ 75%", best_single <= 0.75),
        ("single layer: best loss (stuck)", f"{min(single_losses):.3f}", "", None),
        ("two-layer MLP: accuracy", f"{mlp_acc:.0%}", "100%", mlp_acc == 1.0),
        ("two-layer MLP: final loss", f"{mlp_loss:.4f}", "", None),
        ("training time", f"{seconds:.2f} s", "", None),
    ], passed)
    history = [{"title": "XOR: loss per step", "xlabel": "step", "ylabel": "loss (BCE)", "series": curves}]
    return {"passed": passed, "metrics": metrics, "history": history}


if __name__ == "__main__":
    import sys
    sys.exit(0 if run(quick="--quick" in sys.argv)["passed"] else 1)
