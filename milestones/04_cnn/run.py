"""Milestone 04: convolutional networks (LeCun et al., 1998).

A LeNet-style CNN built from your Conv2d, MaxPool2d and Flatten (module 09) learns the handwritten digits
shipped in datasets/digits.npz (1,797 8x8 images). Target: at least 97% test accuracy, and better than a
plain MLP (the milestone-03 kind of model, trained here on the same split for a fair comparison). Both train
on the training images plus a copy of each shifted by up to one pixel (data augmentation).

With CIFAR-10 (the "python version": data_batch_1..5 and test_batch in one folder), pass the folder as
`cifar_path=` / `--cifar PATH` or set TINYTORCH_CIFAR10=PATH, and the same recipe also trains a LeNet-5 on
32x32 colour images (no download happens here; the data must already be on disk).

Run: `tito milestone run 04` (or `python milestones/04_cnn/run.py [--quick] [--cifar PATH]`).
"""
from __future__ import annotations

import os
import pickle
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _data import split  # noqa: E402  (the same stratified split as milestone 03)
from _ui import console_or_default, progress, results, story  # noqa: E402

MILESTONE = {
    "title": "Convolutional networks (LeNet)",
    "year": 1998,
    "requires": ["01_tensor", "02_activations", "03_layers", "04_losses", "05_autograd", "06_optimizers",
                 "07_training", "08_dataloader", "09_spatial"],
    "goal": "A LeNet-style CNN reaches 97% test accuracy on handwritten digits and beats the MLP",
}

TARGET_ACCURACY = 0.97
CIFAR_ENV = "TINYTORCH_CIFAR10"
CIFAR_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]

STORY = """
In 1998 Yann LeCun, Leon Bottou, Yoshua Bengio and Patrick Haffner published LeNet-5, a convolutional network
that read the digits on bank cheques. A fully connected network treats a picture as a bag of unrelated pixels;
a convolution slides one small filter over the whole image, so a pen stroke is recognised wherever it is,
with a tiny number of weights. Pooling then keeps what was found and forgets exactly where.

Your Conv2d and MaxPool2d now do the same: a LeNet-style network on 8x8 handwritten digits, compared with an
MLP trained on the same pixels.
"""


# ------------------------------------------------------------------------------------------------ data
def digits_split(seed: int = 0, test_fraction: float = 0.2):
    """((x_train, y_train), (x_test, y_test)) with images (N, 1, 8, 8) float32 in [0, 1]; stratified, fixed."""
    from tinytorch.core.dataloader import load_digits
    loaded = load_digits()
    x, y = loaded[0], loaded[1]
    x = np.asarray(getattr(x, "data", x), dtype=np.float32)
    y = np.asarray(getattr(y, "data", y), dtype=np.int64)
    if x.max() > 1.0:
        x = x / 16.0
    (x_train, y_train), (x_test, y_test) = split(x.reshape(len(x), -1), y, test_fraction, seed)
    return (x_train.reshape(-1, 1, 8, 8), y_train), (x_test.reshape(-1, 1, 8, 8), y_test)


def shifted_copies(x: np.ndarray, seed: int = 0) -> np.ndarray:
    """Data augmentation: a copy of every image (N, C, H, W) moved by up to one pixel in each direction (a random
    shift per image, zeros filling the edge). LeNet's authors trained on distorted digits for the same reason:
    a few more plausible examples make the test accuracy steadier from one random start to the next."""
    rng = np.random.default_rng(seed)
    h, w = x.shape[-2:]
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    offsets = rng.integers(0, 3, size=(len(x), 2))
    return np.stack([padded[i, :, dy:dy + h, dx:dx + w] for i, (dy, dx) in enumerate(offsets)]) if len(x) else x.copy()


def load_cifar10(folder, limit_train: int | None = None, limit_test: int | None = None):
    """CIFAR-10 python batches -> ((x_train, y_train), (x_test, y_test)); images (N, 3, 32, 32) float32,
    standardised per channel with the training mean and std."""
    folder = Path(folder)
    if (folder / "cifar-10-batches-py").is_dir():
        folder = folder / "cifar-10-batches-py"
    train_files = sorted(folder.glob("data_batch_*"))
    test_file = folder / "test_batch"
    if not train_files or not test_file.is_file():
        raise FileNotFoundError(f"{folder}: expected data_batch_1..5 and test_batch (CIFAR-10 python version)")

    def read(path):
        with open(path, "rb") as fh:
            batch = pickle.load(fh, encoding="bytes")
        data = batch.get(b"data", batch.get("data"))
        labels = batch.get(b"labels", batch.get("labels"))
        return np.asarray(data, dtype=np.uint8).reshape(-1, 3, 32, 32), np.asarray(labels, dtype=np.int64)

    parts = [read(p) for p in train_files]
    x_train = np.concatenate([p[0] for p in parts])[:limit_train]
    y_train = np.concatenate([p[1] for p in parts])[:limit_train]
    x_test, y_test = read(test_file)
    x_test, y_test = x_test[:limit_test], y_test[:limit_test]
    x_train = x_train.astype(np.float32) / 255.0
    x_test = x_test.astype(np.float32) / 255.0
    mean = x_train.mean(axis=(0, 2, 3), keepdims=True)
    std = x_train.std(axis=(0, 2, 3), keepdims=True) + 1e-6
    return ((x_train - mean) / std, y_train), ((x_test - mean) / std, y_test)


# ----------------------------------------------------------------------------------------------- models
def lenet_digits():
    """LeNet-style for 8x8x1: two 3x3 convolutions, pool, one more, pool, then a small classifier.

    8x8x1 -> conv(16) -> conv(32) -> pool -> 4x4x32 -> conv(64) -> pool -> 2x2x64 = 256 -> 64 -> 10
    """
    from tinytorch.core.activations import ReLU
    from tinytorch.core.layers import Linear, Sequential
    from tinytorch.core.spatial import Conv2d, Flatten, MaxPool2d
    return Sequential(
        Conv2d(1, 16, 3, padding=1), ReLU(),
        Conv2d(16, 32, 3, padding=1), ReLU(), MaxPool2d(2),
        Conv2d(32, 64, 3, padding=1), ReLU(), MaxPool2d(2),
        Flatten(), Linear(64 * 2 * 2, 64), ReLU(), Linear(64, 10))


def lenet5_cifar():
    """The classic LeNet-5 shape on 32x32x3 inputs."""
    from tinytorch.core.activations import ReLU
    from tinytorch.core.layers import Linear, Sequential
    from tinytorch.core.spatial import Conv2d, Flatten, MaxPool2d
    return Sequential(
        Conv2d(3, 6, 5), ReLU(), MaxPool2d(2),                      # 6 x 14 x 14
        Conv2d(6, 16, 5), ReLU(), MaxPool2d(2),                     # 16 x 5 x 5
        Flatten(), Linear(16 * 5 * 5, 120), ReLU(), Linear(120, 84), ReLU(), Linear(84, 10))


def mlp_digits():
    """The milestone-03 kind of model: 64 pixels -> 64 hidden (ReLU) -> 10."""
    from tinytorch.core.activations import ReLU
    from tinytorch.core.layers import Linear, Sequential
    return Sequential(Linear(64, 64), ReLU(), Linear(64, 10))


# ----------------------------------------------------------------------------------------------- training
def train(model, data, epochs: int, lr: float, batch_size: int, console, label: str, flatten: bool = False,
          seed: int = 0) -> dict:
    from tinytorch.core.autograd import no_grad
    from tinytorch.core.losses import CrossEntropyLoss
    from tinytorch.core.optimizers import Adam
    from tinytorch.core.tensor import Tensor

    (x_train, y_train), (x_test, y_test) = data
    shape = (lambda a: a.reshape(len(a), -1)) if flatten else (lambda a: a)
    opt, loss_fn = Adam(model.parameters(), lr=lr), CrossEntropyLoss()
    rng = np.random.default_rng(seed)
    steps_per_epoch = int(np.ceil(len(x_train) / batch_size))

    def accuracy(x, y):
        model.eval()
        correct = 0
        with no_grad():
            for i in range(0, len(x), 500):
                correct += int((model(Tensor(shape(x[i:i + 500]))).data.argmax(-1) == y[i:i + 500]).sum())
        model.train()
        return correct / len(x)

    t0 = time.perf_counter()
    history, losses = [], []
    with progress(console) as bar:
        task = bar.add_task(label, total=epochs * steps_per_epoch, info="")
        for epoch in range(epochs):
            order = rng.permutation(len(x_train))
            opt.lr = lr * 0.5 * (1 + np.cos(np.pi * epoch / epochs))      # cosine decay, epoch by epoch
            total = 0.0
            for i in range(steps_per_epoch):
                idx = order[i * batch_size:(i + 1) * batch_size]
                loss = loss_fn(model(Tensor(shape(x_train[idx]))), Tensor(y_train[idx]))
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += float(loss.data)
                bar.advance(task)
            test_acc = accuracy(x_test, y_test)
            history.append(test_acc)
            losses.append(total / steps_per_epoch)
            bar.update(task, info=f"epoch {epoch + 1}: loss {total / steps_per_epoch:.3f}  test acc {test_acc:.1%}")
    return {"train_accuracy": accuracy(x_train, y_train), "test_accuracy": history[-1],
            "best_test_accuracy": max(history), "seconds": time.perf_counter() - t0,
            "parameters": sum(int(p.data.size) for p in model.parameters()),
            "test_accuracy_history": history, "loss_history": losses}


def run(quick: bool = False, console=None, cifar_path: str | os.PathLike | None = None, seed: int = 0) -> dict:
    """`seed` picks the starting weights and the batch order (the train/test split stays the same); 0 is the
    default run."""
    console = console_or_default(console)
    story(console, "Milestone 04: LeNet", 1998, STORY)
    np.random.seed(seed)
    (x_train, y_train), test = digits_split()
    # Both models train on the images plus a one-pixel-shifted copy of each: without it, the CNN's test accuracy
    # at seeds 0-4 ranged 97.2-98.3% (at seed 0, one more mistake would miss 97%); with it, see benchmarks/README.md.
    data = (np.concatenate([x_train, shifted_copies(x_train, seed)]), np.concatenate([y_train, y_train])), test
    console.print(f"digits: {len(y_train)} training images (plus a shifted copy of each) and {len(test[1])} test "
                  "images of 8x8 pixels")
    epochs = 6 if quick else 15
    mlp = train(mlp_digits(), data, epochs=epochs, lr=2e-3, batch_size=32, console=console,
                label="MLP baseline", flatten=True, seed=seed)
    np.random.seed(seed)
    cnn = train(lenet_digits(), data, epochs=epochs, lr=2e-3, batch_size=32, console=console, label="LeNet CNN",
                seed=seed)
    metrics = {"test_accuracy": cnn["test_accuracy"], "train_accuracy": cnn["train_accuracy"],
               "mlp_test_accuracy": mlp["test_accuracy"], "cnn_parameters": cnn["parameters"],
               "mlp_parameters": mlp["parameters"], "seconds": cnn["seconds"], "mlp_seconds": mlp["seconds"]}
    rows = [("CNN test accuracy", f"{cnn['test_accuracy']:.1%}", f">= {TARGET_ACCURACY:.0%}",
             cnn["test_accuracy"] >= TARGET_ACCURACY),
            ("MLP test accuracy (same split)", f"{mlp['test_accuracy']:.1%}", "CNN must beat it",
             cnn["test_accuracy"] > mlp["test_accuracy"]),
            ("CNN / MLP parameters", f"{cnn['parameters']:,} / {mlp['parameters']:,}", "", None),
            ("CNN training time", f"{cnn['seconds']:.1f}s", "", None)]
    passed = cnn["test_accuracy"] >= TARGET_ACCURACY and cnn["test_accuracy"] > mlp["test_accuracy"]

    cifar_path = cifar_path or os.environ.get(CIFAR_ENV)
    if cifar_path:
        limit = (2000, 1000) if quick else (None, None)
        cifar = load_cifar10(cifar_path, *limit)
        console.print(f"CIFAR-10: {len(cifar[0][1])} training and {len(cifar[1][1])} test images of 32x32x3")
        np.random.seed(seed)
        res = train(lenet5_cifar(), cifar, epochs=1 if quick else 3, lr=2e-3, batch_size=64, console=console,
                    label="LeNet-5 on CIFAR-10", seed=seed)
        metrics["cifar10_test_accuracy"] = res["test_accuracy"]
        metrics["cifar10_seconds"] = res["seconds"]
        rows.append(("CIFAR-10 test accuracy", f"{res['test_accuracy']:.1%}", "reported (10% = chance)", None))
    else:
        console.print(f"[dim]CIFAR-10: not run (set {CIFAR_ENV} or pass --cifar PATH to the python batches)[/]")

    results(console, "Milestone 04 results", rows, passed)
    history = [{"title": "Digits: training loss", "xlabel": "epoch", "ylabel": "loss (cross-entropy)",
                "series": {"LeNet CNN": cnn["loss_history"], "MLP baseline": mlp["loss_history"]}},
               {"title": "Digits: test accuracy", "xlabel": "epoch", "ylabel": "test accuracy",
                "series": {"LeNet CNN": cnn["test_accuracy_history"], "MLP baseline": mlp["test_accuracy_history"]}}]
    return {"passed": passed, "metrics": metrics, "history": history}


if __name__ == "__main__":
    args = sys.argv[1:]
    path = args[args.index("--cifar") + 1] if "--cifar" in args else None
    sys.exit(0 if run(quick="--quick" in args, cifar_path=path)["passed"] else 1)
