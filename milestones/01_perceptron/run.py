"""Milestone 01: Rosenblatt's perceptron (1957), rebuilt with your own tinytorch.

A single neuron (Linear(2, 1) followed by Sigmoid) learns to separate two clouds of points in the plane.
It proves that your Tensor, activations, layers, losses, autograd and optimizer work together: the weights
start random and end as a line that splits the two classes with no mistakes.
"""
from __future__ import annotations

import importlib.util
import time
from pathlib import Path

import numpy as np

MILESTONE = {
    "title": "The Perceptron",
    "year": 1957,
    "requires": ["01_tensor", "02_activations", "03_layers", "04_losses", "05_autograd", "06_optimizers"],
    "goal": "One neuron learns a linearly separable 2-D problem to 100% accuracy.",
}

STORY = """
In 1957 Frank Rosenblatt, at the Cornell Aeronautical Laboratory, described the [bold]perceptron[/]:
a single artificial neuron that adds up weighted inputs and fires when the sum crosses a threshold.
His Mark I machine learned to tell simple shapes apart by nudging its weights after every mistake, and
the press reported that the navy had built a machine that could learn.

Tonight the machine is yours: one [bold]Linear(2, 1)[/] layer and a [bold]Sigmoid[/], trained with your
loss, your autograd and your SGD. If every piece is right, the neuron finds a line that separates
two classes of points [bold]perfectly[/], on the training points and on fresh points it has never seen.
"""


def _helper(name: str):
    path = Path(__file__).resolve().parent.parent / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"_tinytorch_milestones_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def make_data(n: int, seed: int, gap: float = 0.3):
    """Points in [-2, 2]^2 labelled by which side of a fixed line they fall on, at least `gap` away from it."""
    rng = np.random.default_rng(seed)
    w_true, b_true = np.array([1.0, -0.7]), 0.3
    points, labels = [], []
    while len(points) < n:
        p = rng.uniform(-2, 2, size=2)
        s = (p @ w_true + b_true) / np.linalg.norm(w_true)
        if abs(s) >= gap:
            points.append(p)
            labels.append(1.0 if s > 0 else 0.0)
    return np.array(points, dtype=np.float32), np.array(labels, dtype=np.float32).reshape(-1, 1)


def run(quick: bool = False, console=None, seed: int = 0) -> dict:
    """`seed` picks the starting weights and the batch order (the points stay the same); 0 is the default run."""
    from tinytorch.core.activations import Sigmoid
    from tinytorch.core.layers import Linear
    from tinytorch.core.losses import BinaryCrossEntropyLoss
    from tinytorch.core.optimizers import SGD
    from tinytorch.core.tensor import Tensor

    ui = _helper("_ui")
    console = ui.console_or_default(console)
    ui.story(console, MILESTONE["title"], MILESTONE["year"], STORY)

    np.random.seed(1957 + seed)
    x_train, y_train = make_data(60 if quick else 200, seed=0)
    x_test, y_test = make_data(100 if quick else 400, seed=1)
    layer, squash = Linear(2, 1), Sigmoid()
    loss_fn = BinaryCrossEntropyLoss()
    optimizer = SGD(layer.parameters(), lr=0.5)
    xt, yt = Tensor(x_train), Tensor(y_train)

    def predict(points: np.ndarray) -> np.ndarray:
        return (squash(layer(Tensor(points))).data > 0.5).astype(np.float32).reshape(-1)

    def accuracy(x, y) -> float:
        return float(np.mean(predict(x) == y.reshape(-1)))

    max_epochs, batch = 200, 20
    epochs_used, extra, start = max_epochs, 10, time.perf_counter()
    losses, accuracies = [], []  # per epoch, for the training curves in the book
    rng = np.random.default_rng(seed)
    with ui.progress(console) as bar:
        task = bar.add_task("training the perceptron", total=max_epochs, info="")
        for epoch in range(max_epochs):
            order = rng.permutation(len(x_train))
            for i in range(0, len(order), batch):
                idx = order[i:i + batch]
                optimizer.zero_grad()
                loss = loss_fn(squash(layer(Tensor(x_train[idx]))), Tensor(y_train[idx]))
                loss.backward()
                optimizer.step()
            train_acc = accuracy(x_train, y_train)
            full_loss = loss_fn(squash(layer(xt)), yt).item()
            losses.append(full_loss)
            accuracies.append(train_acc)
            bar.update(task, advance=1, info=f"loss {full_loss:.4f}  acc {train_acc:.1%}")
            if train_acc == 1.0 and epochs_used == max_epochs:
                epochs_used = epoch + 1           # separated: train a few epochs more to widen the margin
            if epochs_used < max_epochs and epoch + 1 >= epochs_used + extra:
                bar.update(task, total=epoch + 1)
                break
    seconds = time.perf_counter() - start

    train_acc, test_acc = accuracy(x_train, y_train), accuracy(x_test, y_test)
    w = layer.weight.data.reshape(-1)
    b = float(layer.bias.data.reshape(-1)[0])
    console.print(f"Learned boundary: {w[0]:+.3f}·x {w[1]:+.3f}·y {b:+.3f} = 0")
    console.print(ui.decision_map(predict, x_train, y_train.reshape(-1)))

    # How far the learned line is from misplacing a point: the smallest signed distance of any training or test
    # point from it (positive: on its own class's side). 100% accuracy on both sets is the same as > 0.
    points, labels = np.concatenate([x_train, x_test]), np.concatenate([y_train, y_test]).reshape(-1)
    signed = (points @ w + b) / max(float(np.linalg.norm(w)), 1e-12) * (2 * labels - 1)
    min_distance = float(signed.min())

    passed = train_acc == 1.0 and test_acc == 1.0
    metrics = {"train_accuracy": train_acc, "test_accuracy": test_acc, "epochs_to_separate": epochs_used,
               "final_loss": full_loss, "min_boundary_distance": min_distance, "seconds": seconds}
    ui.results(console, "Perceptron results", [
        ("train accuracy", f"{train_acc:.1%}", "100%", train_acc == 1.0),
        ("test accuracy (unseen points)", f"{test_acc:.1%}", "100%", test_acc == 1.0),
        ("epochs until every point was right", str(epochs_used) if epochs_used < max_epochs else "never", "", None),
        ("final loss", f"{full_loss:.4f}", "", None),
        ("training time", f"{seconds:.2f} s", "", None),
    ], passed)
    history = [{"title": "Perceptron training", "xlabel": "epoch", "ylabel": "loss (BCE)",
                "series": {"training loss": losses}},
               {"title": "Perceptron accuracy", "xlabel": "epoch", "ylabel": "train accuracy",
                "series": {"train accuracy": accuracies}}]
    return {"passed": passed, "metrics": metrics, "history": history}


if __name__ == "__main__":
    import sys
    sys.exit(0 if run(quick="--quick" in sys.argv)["passed"] else 1)
