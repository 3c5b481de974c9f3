"""One training step of the same small CNN in tinytorch and in PyTorch (CPU), median of several runs.

Usage: python benchmarks/bench_cnn_vs_torch.py [--runs 7] [--batch 64] [--threads N]

The network is milestone 04's LeNet-style digits model (`lenet_digits()` in milestones/04_cnn/run.py: three 3x3
convolutions, two max-pools, 256 -> 64 -> 10) on a batch of 8x8 images; a step is forward, cross-entropy,
backward and an Adam update.
Both frameworks start from the same weights, and the first step's losses are compared as a sanity check.
PyTorch is optional (`pip install torch`): without it the tinytorch figure is printed and the comparison
is skipped. Nothing is asserted; record the figures in your notes.
"""
from __future__ import annotations

import argparse
import importlib.util
import statistics
import time
from pathlib import Path

import numpy as np


def milestone_model():
    """The CNN of milestone 04 (imported from milestones/04_cnn/run.py, so both always agree)."""
    path = Path(__file__).resolve().parent.parent / "milestones" / "04_cnn" / "run.py"
    spec = importlib.util.spec_from_file_location("_bench_milestone_04", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    np.random.seed(0)
    return module.lenet_digits()


def tinytorch_step(model, x: np.ndarray, y: np.ndarray):
    from tinytorch.core.losses import CrossEntropyLoss
    from tinytorch.core.optimizers import Adam
    from tinytorch.core.tensor import Tensor

    opt, loss_fn = Adam(model.parameters(), lr=1e-3), CrossEntropyLoss()
    xt, yt = Tensor(x), Tensor(y)

    def step():
        loss = loss_fn(model(xt), yt)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return float(loss.data)

    return step


def torch_mirror(model_tt):
    """The same layers in PyTorch, with tinytorch's initial weights copied in (returns net, copied_ok)."""
    import torch

    layers, copied = [], True
    for layer in model_tt.layers:
        kind = type(layer).__name__
        if kind == "Conv2d":
            w = np.asarray(layer.weight.data, dtype=np.float32)
            conv = torch.nn.Conv2d(w.shape[1], w.shape[0], w.shape[2], stride=getattr(layer, "stride", 1),
                                   padding=getattr(layer, "padding", getattr(layer, "pad", 0)))
            with torch.no_grad():
                conv.weight.copy_(torch.from_numpy(np.ascontiguousarray(w)))
                bias = getattr(layer, "bias", None)
                if bias is not None:
                    conv.bias.copy_(torch.from_numpy(np.asarray(bias.data, dtype=np.float32).reshape(-1)))
                else:
                    copied = False
            layers.append(conv)
        elif kind == "Linear":
            w = np.asarray(layer.weight.data, dtype=np.float32)          # tinytorch stores (in, out)
            lin = torch.nn.Linear(w.shape[0], w.shape[1])
            with torch.no_grad():
                lin.weight.copy_(torch.from_numpy(np.ascontiguousarray(w.T)))
                lin.bias.copy_(torch.from_numpy(np.asarray(layer.bias.data, dtype=np.float32)))
            layers.append(lin)
        elif kind == "ReLU":
            layers.append(torch.nn.ReLU())
        elif kind == "MaxPool2d":
            layers.append(torch.nn.MaxPool2d(2))
        elif kind == "Flatten":
            layers.append(torch.nn.Flatten())
        else:
            raise ValueError(f"no PyTorch counterpart for {kind}")
    return torch.nn.Sequential(*layers), copied


def torch_step(net, x: np.ndarray, y: np.ndarray):
    import torch

    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)

    def step():
        opt.zero_grad()
        loss = loss_fn(net(xt), yt)
        loss.backward()
        opt.step()
        return float(loss.detach())

    return step


def median_ms(step, runs: int) -> float:
    step()                                      # warm-up (allocations, caches)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's own)")
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    x = rng.random((args.batch, 1, 8, 8)).astype(np.float32)
    y = rng.integers(0, 10, size=args.batch).astype(np.int64)

    model = milestone_model()
    try:
        import torch
    except ImportError:
        torch = None
    pt_step = None
    if torch is not None:
        if args.threads:
            torch.set_num_threads(args.threads)
        net, copied = torch_mirror(model)       # built before tinytorch's first update changes the weights
        pt_step = torch_step(net, x, y)
    tt_step = tinytorch_step(model, x, y)
    if pt_step is not None:
        l_tt, l_pt = tt_step(), pt_step()      # the same weights must give the same first loss
        note = "" if copied else "  (weights not all copied: losses may differ)"
        print(f"first-step loss: tinytorch {l_tt:.5f}  torch {l_pt:.5f}  (|diff| {abs(l_tt - l_pt):.2e}){note}")

    tt = median_ms(tt_step, args.runs)
    print(f"batch {args.batch} of 1x8x8 images, LeNet-style CNN, forward + backward + Adam, median of {args.runs}:")
    print(f"  tinytorch  {tt:8.2f} ms/step")
    if pt_step is None:
        print("  torch      not installed: comparison skipped (pip install torch)")
        return
    pt = median_ms(pt_step, args.runs)
    print(f"  torch      {pt:8.2f} ms/step   (torch {torch.__version__}, {torch.get_num_threads()} threads)")
    print(f"  ratio      {tt / pt:8.1f} x slower than PyTorch")


if __name__ == "__main__":
    main()
