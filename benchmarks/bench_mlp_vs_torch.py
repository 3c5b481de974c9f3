"""One training epoch of the same MLP in tinytorch and in PyTorch (CPU), median of several runs.

Usage: python benchmarks/bench_mlp_vs_torch.py [--runs 5] [--hidden 128] [--batch 32] [--threads 0]
Data: the shipped digits (1438 training images after the milestone's split, 64 features, 10 classes).
Model: Linear(64, H) -> ReLU -> Linear(H, 10), cross-entropy, Adam(lr=0.01), batch 32, the same batch order
and the same initial weights in both frameworks. Each epoch is timed on its own (setup excluded);
the script prints both medians and the ratio. PyTorch is optional: without it only tinytorch is timed.
Then it runs milestone 03 once and reports its wall time and test accuracy. Nothing is asserted.
"""
from __future__ import annotations

import argparse
import importlib.util
import io
import statistics
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent


def _load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def digits(batch: int):
    data = _load(REPO / "milestones" / "_data.py", "_bench_data")
    x, y = data.load_digits()
    (x_train, y_train), _ = data.split(x, y, 0.2, seed=0)
    (x_train,) = data.standardize(x_train)
    order = np.random.default_rng(0).permutation(len(y_train))
    return [(x_train[order[i:i + batch]], y_train[order[i:i + batch]]) for i in range(0, len(order), batch)]


def init_weights(hidden: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    w1 = rng.uniform(-1, 1, size=(64, hidden)).astype(np.float32) / np.sqrt(64)
    w2 = rng.uniform(-1, 1, size=(hidden, 10)).astype(np.float32) / np.sqrt(hidden)
    return w1, np.zeros(hidden, np.float32), w2, np.zeros(10, np.float32)


def time_tinytorch(batches, hidden: int, runs: int) -> list[float]:
    from tinytorch.core.activations import ReLU
    from tinytorch.core.layers import Linear, Sequential
    from tinytorch.core.losses import CrossEntropyLoss
    from tinytorch.core.optimizers import Adam
    from tinytorch.core.tensor import Tensor

    times = []
    for _ in range(runs + 1):                      # the first epoch is a warm-up
        first, second = Linear(64, hidden), Linear(hidden, 10)
        model = Sequential(first, ReLU(), second)
        w1, b1, w2, b2 = init_weights(hidden)
        first.weight.data, first.bias.data = w1.copy(), b1.copy()
        second.weight.data, second.bias.data = w2.copy(), b2.copy()
        opt, loss_fn = Adam(model.parameters(), lr=0.01), CrossEntropyLoss()
        tensors = [(Tensor(x), Tensor(y)) for x, y in batches]
        start = time.perf_counter()
        for x, y in tensors:
            opt.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            opt.step()
        times.append(time.perf_counter() - start)
    return times[1:]


def time_torch(batches, hidden: int, runs: int, threads: int):
    try:
        import torch
    except ImportError:
        return None, None
    if threads:
        torch.set_num_threads(threads)
    times = []
    for _ in range(runs + 1):
        model = torch.nn.Sequential(torch.nn.Linear(64, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 10))
        w1, b1, w2, b2 = init_weights(hidden)
        with torch.no_grad():                       # torch stores weights as (out, in)
            model[0].weight.copy_(torch.from_numpy(w1.T.copy()))
            model[0].bias.copy_(torch.from_numpy(b1))
            model[2].weight.copy_(torch.from_numpy(w2.T.copy()))
            model[2].bias.copy_(torch.from_numpy(b2))
        opt, loss_fn = torch.optim.Adam(model.parameters(), lr=0.01), torch.nn.CrossEntropyLoss()
        tensors = [(torch.from_numpy(x), torch.from_numpy(y)) for x, y in batches]
        start = time.perf_counter()
        for x, y in tensors:
            opt.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            opt.step()
        times.append(time.perf_counter() - start)
    return times[1:], f"{torch.__version__}, {torch.get_num_threads()} threads"


def run_milestone_03():
    from rich.console import Console
    module = _load(REPO / "milestones" / "03_mlp" / "run.py", "_bench_m03")
    start = time.perf_counter()
    result = module.run(console=Console(file=io.StringIO()))
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: torch's default)")
    parser.add_argument("--skip-milestone", action="store_true")
    args = parser.parse_args()

    batches = digits(args.batch)
    print(f"MLP 64-{args.hidden}-10, Adam, batch {args.batch}, {len(batches)} steps per epoch, median of {args.runs}")
    tt = statistics.median(time_tinytorch(batches, args.hidden, args.runs))
    print(f"  tinytorch : {tt * 1e3:8.1f} ms/epoch  ({tt / len(batches) * 1e6:7.1f} us/step)")
    torch_times, torch_info = time_torch(batches, args.hidden, args.runs, args.threads)
    if torch_times is None:
        print("  pytorch   : not installed, skipped (pip install torch to compare)")
    else:
        pt = statistics.median(torch_times)
        print(f"  pytorch   : {pt * 1e3:8.1f} ms/epoch  ({pt / len(batches) * 1e6:7.1f} us/step)  [{torch_info}]")
        print(f"  ratio     : tinytorch / pytorch = {tt / pt:.2f}x")
    if not args.skip_milestone:
        seconds, result = run_milestone_03()
        m = result["metrics"]
        print(f"milestone 03 (digits MLP): {seconds:.2f} s wall including data loading and checkpoint check, "
              f"{m['seconds']:.2f} s training ({m['epochs']} epochs), test accuracy {m['test_accuracy']:.2%}, "
              f"passed={result['passed']}")


if __name__ == "__main__":
    main()
