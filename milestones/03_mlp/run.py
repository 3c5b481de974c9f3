"""Milestone 03: a multi-layer perceptron trained by backpropagation (Rumelhart, Hinton & Williams, 1986).

A 64-128-10 MLP learns to read the handwritten digits shipped in datasets/digits.npz (8x8 images from the
UCI optical-recognition set), using the Trainer, learning-rate schedule, gradient clipping and checkpoints
of module 07. Target: at least 95% accuracy on a fixed held-out test set.

MNIST (optional): point the environment variable TINYTORCH_MNIST_DIR (or the `mnist_dir` argument) at a
folder holding the four standard IDX files (train-images-idx3-ubyte, train-labels-idx1-ubyte,
t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, raw or .gz) and a 784-128-10 MLP is trained on them too.
"""
from __future__ import annotations

import importlib.util
import os
import tempfile
import time
from pathlib import Path

import numpy as np

MILESTONE = {
    "title": "Backpropagation and the Multi-Layer Perceptron",
    "year": 1986,
    "requires": ["01_tensor", "02_activations", "03_layers", "04_losses", "05_autograd", "06_optimizers",
                 "07_training"],
    "goal": "An MLP reads handwritten digits with at least 95% test accuracy.",
}

STORY = """
In 1986 David Rumelhart, Geoffrey Hinton and Ronald Williams published "Learning representations by
back-propagating errors" in Nature. The chain rule had been applied to networks before, but their paper
showed convincingly that [bold]backpropagation[/] trains the hidden layers of a multi-layer network, and
that those hidden units learn useful features on their own. It answered the XOR objection of milestone
02 and started the first wave of modern neural-network research.

Your version: a [bold]64-128-10[/] network reads 8x8 handwritten digits (the UCI optical-recognition set,
1797 images by 43 writers, shipped with the course). It uses everything you have built, with module 07's
[bold]Trainer[/], a cosine learning-rate schedule, gradient clipping and an atomic checkpoint on top.
The goal: at least [bold]95%[/] of digits the network has never seen read correctly.
"""

TARGET = 0.95
MNIST_ENV = "TINYTORCH_MNIST_DIR"


def _helper(name: str):
    path = Path(__file__).resolve().parent.parent / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"_tinytorch_milestones_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def train_mlp(name, train, test, sizes, epochs, batch_size, lr, ui, console, seed=1986):
    """Train an MLP with the module-07 Trainer; returns (model, trainer, test accuracy, seconds)."""
    from tinytorch.core.activations import ReLU
    from tinytorch.core.layers import Linear, Sequential
    from tinytorch.core.losses import CrossEntropyLoss
    from tinytorch.core.optimizers import Adam
    from tinytorch.core.training import CosineLR, Trainer

    np.random.seed(seed)
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(ReLU())
    model = Sequential(*layers)
    optimizer = Adam(model.parameters(), lr=lr)
    trainer = Trainer(model, optimizer, CrossEntropyLoss(), scheduler=CosineLR(optimizer, total_epochs=epochs),
                      grad_clip_norm=5.0)
    Batches = _helper("_data").Batches
    train_batches = Batches(*train, batch_size, shuffle=True, seed=seed)
    test_batches = Batches(*test, 256)
    start = time.perf_counter()
    with ui.progress(console) as bar:
        task = bar.add_task(f"{name}: epochs", total=epochs, info="")

        def report(epoch, record):
            bar.update(task, advance=1, info=f"loss {record['train_loss']:.3f}  test {record['val_acc']:.1%}")

        trainer.fit(train_batches, epochs, val_batches=test_batches, on_epoch_end=report)
    seconds = time.perf_counter() - start
    return model, trainer, trainer.history["val_acc"][-1], seconds


def show_mistakes(console, model, x, pixels, y, limit=4):
    """Print a few misread digits as ASCII art (`pixels`: the raw 0..1 images), with what the network said."""
    from tinytorch.core.autograd import no_grad
    from tinytorch.core.tensor import Tensor
    with no_grad():
        pred = np.argmax(model(Tensor(x)).data, axis=1)
    wrong = np.flatnonzero(pred != y)[:limit]
    if len(wrong) == 0:
        return
    shades = " .:-=+*#%@"
    pictures = [["".join(shades[min(9, int(v * 9.99))] * 2 for v in pixels[i].reshape(8, 8)[r]) for r in range(8)]
                for i in wrong]
    console.print(f"A few of the {int(np.sum(pred != y))} test digits it still misreads:")
    console.print("   ".join(f"true {y[i]}, said {pred[i]}".ljust(16) for i in wrong), highlight=False)
    for r in range(8):
        console.print("   ".join(p[r] for p in pictures), markup=False, highlight=False)


def run(quick: bool = False, console=None, mnist_dir=None, seed: int = 0) -> dict:
    """`seed` picks the starting weights and the batch order (the train/test split stays the same); 0 is the
    default run."""
    from tinytorch.core.autograd import no_grad
    from tinytorch.core.tensor import Tensor
    from tinytorch.core.training import load_checkpoint, save_checkpoint

    ui, data = _helper("_ui"), _helper("_data")
    console = ui.console_or_default(console)
    ui.story(console, MILESTONE["title"], MILESTONE["year"], STORY)

    x, y = data.load_digits()
    (x_train, y_train), (x_test, y_test) = data.split(x, y, test_fraction=0.2, seed=0)
    pixels = x_test
    x_train, x_test = data.standardize(x_train, x_test)
    train, test = (x_train, y_train), (x_test, y_test)
    console.print(f"digits: {len(y_train)} training images, {len(y_test)} test images, 10 classes, 64 pixels each")
    epochs = 8 if quick else 20
    model, trainer, test_acc, seconds = train_mlp("digits 64-128-10", train, test, (64, 128, 10), epochs=epochs,
                                                  batch_size=32, lr=0.01, ui=ui, console=console,
                                                  seed=1986 + seed)
    train_acc = trainer.history["train_acc"][-1]

    # Module 07's checkpoint round trip: save, rebuild from scratch, load, and check the predictions survive.
    with tempfile.TemporaryDirectory() as folder:
        path = save_checkpoint(os.path.join(folder, "digits_mlp.npz"), model, trainer.optimizer,
                               epochs=epochs, test_accuracy=test_acc)
        checkpoint_bytes = os.path.getsize(path)
        saved = [p.data.copy() for p in model.parameters()]
        for p in model.parameters():
            p.data = np.zeros_like(p.data)
        meta = load_checkpoint(path, model)
    restored = all(np.array_equal(p.data, s) for p, s in zip(model.parameters(), saved))
    with no_grad():
        reloaded_acc = float(np.mean(np.argmax(model(Tensor(test[0])).data, axis=1) == test[1]))
    restored = restored and reloaded_acc == test_acc and meta.get("epochs") == epochs
    show_mistakes(console, model, x_test, pixels, y_test)

    passed = test_acc >= TARGET and restored
    metrics = {"test_accuracy": test_acc, "train_accuracy": train_acc, "epochs": epochs, "seconds": seconds,
               "parameters": int(sum(p.data.size for p in model.parameters())),
               "checkpoint_bytes": checkpoint_bytes, "checkpoint_restored": restored}
    rows = [
        (f"digits: test accuracy ({len(y_test)} unseen)", f"{test_acc:.2%}", f"≥ {TARGET:.0%}", test_acc >= TARGET),
        ("digits: train accuracy", f"{train_acc:.2%}", "", None),
        ("digits: training time", f"{seconds:.1f} s", f"{epochs} epochs", None),
        ("parameters", f"{metrics['parameters']:,}", "", None),
        ("checkpoint reload, same predictions", f"{checkpoint_bytes:,} B", "restored", restored),
    ]

    mnist_dir = mnist_dir or os.environ.get(MNIST_ENV)
    if mnist_dir:
        (mx_train, my_train), (mx_test, my_test) = data.load_mnist(mnist_dir)
        if quick:
            mx_train, my_train = mx_train[:10000], my_train[:10000]
        mx_train, mx_test = data.standardize(mx_train, mx_test)
        console.print(f"MNIST: {len(mx_train)} training images, {len(mx_test)} test images from {mnist_dir}")
        _, mtrainer, mnist_acc, mseconds = train_mlp("MNIST 784-128-10", (mx_train, my_train), (mx_test, my_test),
                                                     (784, 128, 10), epochs=2 if quick else 5, batch_size=64,
                                                     lr=0.002, ui=ui, console=console, seed=1986 + seed)
        metrics.update(mnist_test_accuracy=mnist_acc, mnist_seconds=mseconds)
        rows.append(("MNIST: test accuracy", f"{mnist_acc:.2%}", f"≥ {TARGET:.0%}", mnist_acc >= TARGET))
        rows.append(("MNIST: training time", f"{mseconds:.1f} s", "", None))
        passed = passed and mnist_acc >= TARGET
    else:
        console.print(f"[dim]Have the MNIST IDX files? Set {MNIST_ENV}=/path/to/folder to train on them too.[/]")

    ui.results(console, "MLP results", rows, passed)
    history = [{"title": "Digits MLP: loss", "xlabel": "epoch", "ylabel": "loss (cross-entropy)",
                "series": {"training loss": list(trainer.history["train_loss"])}},
               {"title": "Digits MLP: accuracy", "xlabel": "epoch", "ylabel": "accuracy",
                "series": {"train": list(trainer.history["train_acc"]), "test": list(trainer.history["val_acc"])}}]
    return {"passed": passed, "metrics": metrics, "history": history}


if __name__ == "__main__":
    import sys
    sys.exit(0 if run(quick="--quick" in sys.argv)["passed"] else 1)
