# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
#   tinytorch:
#     title: Training
#     summary: Turn forward, loss, backward and step into a reusable Trainer with learning-rate schedules, gradient clipping and crash-safe checkpoints.
#     tier: foundation
#     minutes: 120
#     prerequisites: [01_tensor, 03_layers, 04_losses, 05_autograd, 06_optimizers]
#     objectives:
#       - Write the one training step every framework is built around (zero_grad, forward, loss, backward, step)
#       - Organise steps into epochs with a Trainer that evaluates, records metrics and keeps a history
#       - Implement step and cosine learning-rate schedules and explain why the learning rate should shrink
#       - Clip gradients by their global norm to survive occasional exploding updates
#       - Save and restore model and optimizer state atomically, so a crash never leaves a half-written checkpoint
#     exports: [Trainer, StepLR, CosineLR, clip_grad_norm, save_checkpoint, load_checkpoint]
#     milestone: 03_mlp
# ---

# %% [markdown]
# # Module 07: Training
#
# **What you will build.** A `Trainer` that runs training and evaluation epochs and records their metrics,
# two learning-rate schedules (`StepLR`, `CosineLR`), gradient clipping by global norm (`clip_grad_norm`),
# and checkpoints that are saved atomically (`save_checkpoint`, `load_checkpoint`).
#
# **Why it exists.** By now you have every ingredient of learning: tensors (01), layers (03), losses (04),
# gradients (05) and optimizers (06). But each ingredient alone does nothing. Learning happens in a *loop* that
# runs thousands of times, and the loop is where most real-world bugs live: a forgotten `zero_grad()` that lets
# gradients pile up, evaluation that silently builds a graph and eats memory, a learning rate that is right
# at the start and wrong at the end, one bad batch whose huge gradient throws away hours of progress, or a
# power cut in the middle of writing the only copy of your weights.
#
# Every serious framework ships an answer to each of these: a training-loop helper, schedulers, a clipping
# utility and checkpointing. In this module you write small, honest versions of all four. When you finish,
# milestone **03 (MLP, 1986)** unlocks: a multi-layer perceptron that reads handwritten digits.
#
# **Learning objectives**
# - Write the one training step every framework is built around (zero_grad, forward, loss, backward, step).
# - Organise steps into epochs with a `Trainer` that evaluates, records metrics and keeps a history.
# - Implement step and cosine learning-rate schedules and explain why the learning rate should shrink.
# - Clip gradients by their global norm.
# - Save and restore model and optimizer state atomically.

# %%
#| default_exp core.training

# %%
#| export
import json
import math
import os
import tempfile
import time

import numpy as np

from tinytorch.core.tensor import Tensor
from tinytorch.core.autograd import no_grad

# %% [markdown]
# ## 1. The idea: one loop, four safety rails
#
# ```
#                       one EPOCH = one pass over the training batches
#   ┌──────────────────────────────────────────────────────────────────────────┐
#   │  for (x, y) in batches:                         ← one STEP per batch      │
#   │      optimizer.zero_grad()     forget the previous batch's gradients      │
#   │      pred = model(x)           forward pass: builds the graph             │
#   │      loss = loss_fn(pred, y)   one number that says how wrong we are      │
#   │      loss.backward()           fills p.grad for every parameter p         │
#   │      clip_grad_norm(...)       (rail 1) cap the size of the update        │
#   │      optimizer.step()          p ← p − lr · (something built from p.grad) │
#   └──────────────────────────────────────────────────────────────────────────┘
#           │ after every epoch
#           ├─► evaluate(val_batches)   no_grad, model.eval(): measure, never learn
#           ├─► scheduler.step()        (rail 2) shrink the learning rate over time
#           ├─► history[...].append()   (rail 3) keep the numbers, plot them later
#           └─► save_checkpoint(...)    (rail 4) survive a crash
# ```
#
# A worked example with numbers, so the rails are concrete before we write code:
#
# | rail | input | output |
# |---|---|---|
# | step schedule, `lr0 = 0.1`, halve every 2 epochs | epochs 0, 1, 2, 3, 4 | 0.1, 0.1, 0.05, 0.05, 0.025 |
# | cosine schedule, `lr0 = 0.1`, 4 epochs, `min_lr = 0` | epochs 0, 1, 2, 3, 4 | 0.1, 0.0854, 0.05, 0.0146, 0 |
# | clip to `max_norm = 1` | gradients `[3, 4]` and `[0]` (global norm 5) | `[0.6, 0.8]` and `[0]`, returns 5.0 |
# | atomic save | write `ckpt.npz.tmp…`, then `os.replace` | `ckpt.npz` is either the old file or the new one, never half |
#
# We start with the smallest piece, clipping, and end with the `Trainer` that uses all of them.

# %% [markdown]
# ## 2. Gradient clipping by global norm
#
# Now and then a batch produces a gradient that is far larger than usual: a rare example, a loss near a cliff,
# a recurrent network unrolled over many steps. One such step can move the weights so far that training never
# recovers. **Clipping** puts a ceiling on the size of the update without changing its *direction*.
#
# Treat all gradients of the model as one long vector `g` (every parameter's gradient, flattened and joined).
# Its length is the **global norm** `‖g‖ = sqrt(Σ_p Σ_i g_{p,i}²)`. If `‖g‖ > max_norm`, multiply every
# gradient by `max_norm / ‖g‖`; the joined vector then has length `max_norm` and points the same way.
#
# ```
#      g = (3, 4), ‖g‖ = 5            max_norm = 1 → scale = 1/5
#          ▲                                ▲
#        4 ┤    ● g                     0.8 ┤ ● g·(1/5) = (0.6, 0.8)
#          │   ╱                            │╱
#          └──┴───►                         └───►
# ```
#
# Scaling each parameter separately would change the direction; scaling all of them by one factor keeps it.

# %% nbgrader={"grade": false, "grade_id": "clip-grad-norm", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def clip_grad_norm(params, max_norm):
    """Scale all gradients together so that their global L2 norm is at most `max_norm`.

    params:   an iterable of Tensors (e.g. `model.parameters()`); those whose `.grad` is None are skipped.
    max_norm: a positive float.
    Returns the global norm BEFORE clipping, as a Python float (handy to log and plot).

    EXAMPLE
        a.grad = Tensor([3.0]); b.grad = Tensor([4.0])   # global norm = sqrt(9 + 16) = 5
        clip_grad_norm([a, b], max_norm=1.0)             # returns 5.0
        a.grad.data, b.grad.data                         # [0.6], [0.8]

    HINTS
    - Sum the squares of every gradient array first, take one square root at the end.
    - Only scale when the norm exceeds max_norm; use scale = max_norm / (norm + 1e-6).
    - Replace each gradient by a NEW array (`p.grad.data = p.grad.data * scale`) instead of
      multiplying in place: autograd may share one array between several tensors.
    """
    if max_norm <= 0:
        raise ValueError(f"max_norm must be positive, got {max_norm}")
    grads = [p.grad for p in params if p.grad is not None]
    ### BEGIN SOLUTION
    total = math.sqrt(sum(float(np.sum(np.square(g.data, dtype=np.float64))) for g in grads))
    if total > max_norm:
        scale = max_norm / (total + 1e-6)
        for g in grads:
            g.data = (g.data * scale).astype(g.data.dtype)
    return total
    ### END SOLUTION


# %% mutant={"name": "clip-each-tensor", "target": "clip-grad-norm", "catches": ["test-clip-grad-norm"]}
# Clips every gradient to max_norm on its own: the direction of the whole update changes.
total = math.sqrt(sum(float(np.sum(np.square(g.data, dtype=np.float64))) for g in grads))
for g in grads:
    norm = float(np.sqrt(np.sum(np.square(g.data, dtype=np.float64))))
    if norm > max_norm:
        g.data = (g.data * (max_norm / (norm + 1e-6))).astype(g.data.dtype)
return total

# %% mutant={"name": "clip-in-place", "target": "clip-grad-norm", "replace": "g.data = (g.data * scale).astype(g.data.dtype)", "catches": ["test-clip-grad-norm"]}
# Scales the arrays in place, changing every tensor that shares them.
g.data *= scale

# %% mutant={"name": "clip-returns-clipped-norm", "target": "clip-grad-norm", "replace": "return total", "catches": ["test-clip-grad-norm"]}
# Returns the norm after clipping, so the log never shows an explosion.
return min(total, max_norm)

# %% mutant={"name": "clip-always-rescales", "target": "clip-grad-norm", "replace": "if total > max_norm:\n    scale", "catches": ["test-clip-grad-norm"]}
# Normalises every gradient to length max_norm, also small ones.
if total > 0:
    scale

# %% [markdown]
# The test builds gradients by hand (no model needed) and checks three things: the returned norm, the clipped
# values, and that small gradients are left alone.

# %% nbgrader={"grade": true, "grade_id": "test-clip-grad-norm", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
def test_clip_grad_norm():
    """Global-norm clipping keeps the direction, caps the length, and ignores missing gradients."""
    a = Tensor(np.zeros(1, dtype=np.float32), requires_grad=True)
    b = Tensor(np.zeros(1, dtype=np.float32), requires_grad=True)
    a.grad = Tensor(np.array([3.0], dtype=np.float32))
    b.grad = Tensor(np.array([4.0], dtype=np.float32))
    norm = clip_grad_norm([a, b], max_norm=1.0)
    assert abs(norm - 5.0) < 1e-5, f"the global norm of [3] and [4] is 5, clip_grad_norm returned {norm}"
    assert np.allclose(a.grad.data, [0.6], atol=1e-4) and np.allclose(b.grad.data, [0.8], atol=1e-4), (
        f"after clipping to 1.0 the gradients should be [0.6] and [0.8], got {a.grad.data} and {b.grad.data}; "
        "scale ALL gradients by the same factor max_norm / norm")
    c = Tensor(np.zeros(2, dtype=np.float32), requires_grad=True)
    c.grad = Tensor(np.array([0.3, 0.4], dtype=np.float32))
    norm = clip_grad_norm([c], max_norm=10.0)
    assert abs(norm - 0.5) < 1e-5, f"norm of [0.3, 0.4] is 0.5, got {norm}"
    assert np.allclose(c.grad.data, [0.3, 0.4]), "a gradient already below max_norm must not change"
    print("clip_grad_norm OK")

test_clip_grad_norm()
### BEGIN HIDDEN TESTS
_p = Tensor(np.zeros((2, 2), dtype=np.float32), requires_grad=True)
_q = Tensor(np.zeros(3, dtype=np.float32), requires_grad=True)   # no gradient: must be skipped
_p.grad = Tensor(np.full((2, 2), 10.0, dtype=np.float32))
_shared = _p.grad.data
assert abs(clip_grad_norm([_p, _q], 2.0) - 20.0) < 1e-4
assert np.allclose(_p.grad.data, 1.0, atol=1e-4) and _q.grad is None
assert np.allclose(_shared, 10.0), "clip_grad_norm must not modify gradient arrays in place"
assert clip_grad_norm([_q], 1.0) == 0.0
### END HIDDEN TESTS

# %% [markdown]
# ## 3. Learning-rate schedules
#
# A large learning rate makes fast progress early, when the weights are far from any good solution. Near a
# minimum the same step overshoots: the loss bounces around instead of settling. So practitioners **decay**
# the learning rate as training goes on. A *scheduler* owns that decision: it remembers the optimizer's
# starting learning rate `base_lr`, counts epochs, and after every epoch writes a new value into
# `optimizer.lr`.
#
# ```
#  lr                     StepLR(step_size=2, gamma=0.5)          CosineLR(total_epochs=8)
#  0.10 ┤■■■■                                        0.10 ┤●●
#  0.05 ┤    ■■■■                                         │   ●●
#  0.025┤        ■■■■                                0.05 ┤      ●●
#       └────────────► epoch                              │         ●●
#                                                    0.00 ┤            ●● ► epoch
# ```
#
# - **StepLR**: `lr(e) = base_lr · gamma^floor(e / step_size)`. Simple; the drops are abrupt.
# - **CosineLR**: `lr(e) = min_lr + (base_lr − min_lr) · (1 + cos(π · e / T)) / 2` for `e ≤ T`, and `min_lr`
#   afterwards. It starts flat (keep the big steps while they help), falls fastest in the middle, and lands
#   softly on `min_lr`.
#
# The base class below is scaffolding: it handles the bookkeeping. You write each schedule's formula in
# `get_lr(epoch)`, a pure function of the epoch number, which makes it easy to test and to plot.

# %%
#| export
class LRScheduler:
    """Base class: remembers the optimizer's starting learning rate and updates `optimizer.lr` every epoch.

    Usage:  call `scheduler.step()` once at the END of every epoch.
    Subclasses implement `get_lr(epoch) -> float`.
    """

    def __init__(self, optimizer):
        if not hasattr(optimizer, "lr"):
            raise TypeError("the optimizer has no `lr` attribute to schedule")
        self.optimizer = optimizer
        self.base_lr = float(optimizer.lr)
        self.epoch = 0

    def get_lr(self, epoch):
        raise NotImplementedError("subclasses return the learning rate for `epoch`")

    def step(self):
        """Advance one epoch and write the new learning rate into the optimizer."""
        self.epoch += 1
        self.optimizer.lr = self.get_lr(self.epoch)
        return self.optimizer.lr

    def state_dict(self):
        return {"epoch": self.epoch, "base_lr": self.base_lr}

    def load_state_dict(self, state):
        self.epoch = int(state["epoch"])
        self.base_lr = float(state["base_lr"])
        self.optimizer.lr = self.get_lr(self.epoch)


# %% nbgrader={"grade": false, "grade_id": "step-lr", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class StepLR(LRScheduler):
    """Multiply the learning rate by `gamma` every `step_size` epochs.

    EXAMPLE  base_lr = 0.1, step_size = 2, gamma = 0.5
        get_lr(0) = get_lr(1) = 0.1,  get_lr(2) = get_lr(3) = 0.05,  get_lr(4) = 0.025

    HINT  count how many whole `step_size` periods have passed: epoch // step_size.
    """

    def __init__(self, optimizer, step_size, gamma=0.1):
        super().__init__(optimizer)
        if step_size < 1:
            raise ValueError(f"step_size must be >= 1, got {step_size}")
        self.step_size = int(step_size)
        self.gamma = float(gamma)

    def get_lr(self, epoch):
        ### BEGIN SOLUTION
        return self.base_lr * self.gamma ** (epoch // self.step_size)
        ### END SOLUTION


# %% mutant={"name": "steplr-decays-every-epoch", "target": "step-lr", "catches": ["test-step-lr"]}
# Forgets step_size: the rate shrinks every epoch.
return self.base_lr * self.gamma ** epoch

# %% mutant={"name": "steplr-off-by-one", "target": "step-lr", "replace": "epoch // self.step_size", "catches": ["test-step-lr"]}
# Counts epochs from 1, decaying one epoch early.
(epoch + 1) // self.step_size

# %% [markdown]
# The test uses a tiny stand-in optimizer (any object with an `lr` attribute works) so that it checks the
# schedule alone: the formula, and that `step()` really writes into `optimizer.lr`.

# %% nbgrader={"grade": true, "grade_id": "test-step-lr", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
class _FakeOptimizer:
    """Just enough of an optimizer for scheduler tests: an `lr` attribute."""
    def __init__(self, lr):
        self.lr = lr

def test_step_lr():
    """StepLR keeps the rate for step_size epochs, then multiplies it by gamma."""
    opt = _FakeOptimizer(0.1)
    sched = StepLR(opt, step_size=2, gamma=0.5)
    expected = [0.1, 0.1, 0.05, 0.05, 0.025]
    got = [sched.get_lr(e) for e in range(5)]
    assert np.allclose(got, expected), f"StepLR(step_size=2, gamma=0.5) from 0.1 should give {expected}, got {got}"
    seen = [sched.step() for _ in range(4)]
    assert np.allclose(seen, expected[1:]), f"step() should move through {expected[1:]}, got {seen}"
    assert abs(opt.lr - 0.025) < 1e-12, f"after 4 steps optimizer.lr should be 0.025, got {opt.lr}"
    print("StepLR OK:", [round(v, 4) for v in got])

test_step_lr()

# %% nbgrader={"grade": false, "grade_id": "cosine-lr", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class CosineLR(LRScheduler):
    """Cosine annealing from `base_lr` down to `min_lr` over `total_epochs`, then stay at `min_lr`.

        lr(e) = min_lr + (base_lr - min_lr) * (1 + cos(pi * e / total_epochs)) / 2     for e <= total_epochs

    EXAMPLE  base_lr = 0.1, total_epochs = 4, min_lr = 0
        get_lr(0..4) = 0.1, 0.0854, 0.05, 0.0146, 0.0;   get_lr(10) = 0.0

    HINT  clamp the epoch with min(epoch, total_epochs) so that training longer than planned is safe.
    """

    def __init__(self, optimizer, total_epochs, min_lr=0.0):
        super().__init__(optimizer)
        if total_epochs < 1:
            raise ValueError(f"total_epochs must be >= 1, got {total_epochs}")
        self.total_epochs = int(total_epochs)
        self.min_lr = float(min_lr)

    def get_lr(self, epoch):
        ### BEGIN SOLUTION
        progress = min(epoch, self.total_epochs) / self.total_epochs
        return self.min_lr + (self.base_lr - self.min_lr) * (1.0 + math.cos(math.pi * progress)) / 2.0
        ### END SOLUTION


# %% mutant={"name": "cosine-no-clamp", "target": "cosine-lr", "replace": "min(epoch, self.total_epochs) / self.total_epochs", "catches": ["test-cosine-lr"]}
# Does not clamp: after total_epochs the cosine rises again.
epoch / self.total_epochs

# %% mutant={"name": "cosine-ignores-min-lr", "target": "cosine-lr", "replace": "return self.min_lr + (self.base_lr - self.min_lr) * ", "catches": ["test-cosine-lr"]}
# Anneals to zero whatever min_lr says.
return self.base_lr * 

# %% [markdown]
# The test checks the worked example from section 1, the floor `min_lr`, and the behaviour past the end.

# %% nbgrader={"grade": true, "grade_id": "test-cosine-lr", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
def test_cosine_lr():
    """CosineLR starts at base_lr, passes the midpoint at the average, and ends (and stays) at min_lr."""
    sched = CosineLR(_FakeOptimizer(0.1), total_epochs=4)
    got = [sched.get_lr(e) for e in range(5)]
    expected = [0.1, 0.0853553, 0.05, 0.0146447, 0.0]
    assert np.allclose(got, expected, atol=1e-6), f"CosineLR(total_epochs=4) from 0.1 should give {expected}, got {got}"
    assert abs(sched.get_lr(9)) < 1e-12, "after total_epochs the learning rate must stay at min_lr"
    floor = CosineLR(_FakeOptimizer(1.0), total_epochs=10, min_lr=0.1)
    assert abs(floor.get_lr(5) - 0.55) < 1e-9, f"halfway between 1.0 and min_lr=0.1 is 0.55, got {floor.get_lr(5)}"
    assert abs(floor.get_lr(10) - 0.1) < 1e-9, f"the last epoch should reach min_lr=0.1, got {floor.get_lr(10)}"
    print("CosineLR OK:", [round(v, 4) for v in got])

test_cosine_lr()
### BEGIN HIDDEN TESTS
_opt = _FakeOptimizer(0.2)
_c = CosineLR(_opt, total_epochs=3, min_lr=0.02)
for _ in range(6):
    _c.step()
assert abs(_opt.lr - 0.02) < 1e-12 and _c.epoch == 6
assert all(_c.get_lr(e) >= _c.get_lr(e + 1) for e in range(5)), "cosine schedule must never increase"
### END HIDDEN TESTS

# %% [markdown]
# ## 4. The Trainer
#
# The `Trainer` owns the loop. It is built from one method you write, `train_step`, plus bookkeeping that is
# given: averaging the loss over batches (weighted by batch size, so a short last batch counts less), counting
# correct predictions for classification, timing epochs, and recording everything in `history`.
#
# **Which accuracy?** The Trainer counts a prediction as correct in two common cases:
# - multi-class: `pred` has shape `(N, C)` with `C > 1` and `y` holds class indices → `argmax(pred) == y`;
# - binary: `pred` and `y` have the same shape and `pred` is a probability → `(pred > 0.5) == y`.
#
# For anything else (regression, for instance) accuracy is `None` and only the loss is tracked. The helper
# below is given; read it, because the Trainer relies on it.

# %%
#| export
def _count_correct(pred, y):
    """Number of correct predictions in a batch, or None when accuracy does not apply (e.g. regression)."""
    p = pred.data if isinstance(pred, Tensor) else np.asarray(pred)
    t = y.data if isinstance(y, Tensor) else np.asarray(y)
    if p.ndim == 2 and p.shape[1] > 1 and t.shape == (p.shape[0],):
        return int(np.sum(np.argmax(p, axis=1) == t))
    if p.shape == t.shape and np.all((t == 0) | (t == 1)):
        return int(np.sum((p > 0.5) == (t > 0.5)))
    return None


# %% [markdown]
# ### 4.1 One training step
#
# This is the heart of the module and of every framework's training loop. Five lines, in an order that
# matters:
#
# 1. `zero_grad()` first: gradients **accumulate** (module 05), so without it batch 2 would also push along
#    batch 1's gradient.
# 2. forward, then 3. the loss, then 4. `backward()` to fill every `p.grad`,
# 5. clip (only when `grad_clip_norm` is set) **after** backward and **before** the optimizer uses the gradients,
# 6. `optimizer.step()`.
#
# Return the loss as a Python float (`loss.item()`) and the predictions, so the caller can count correct ones
# without running the model again.

# %% nbgrader={"grade": false, "grade_id": "trainer-step", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class Trainer:
    """Runs training and evaluation epochs for a model and keeps a history of their metrics.

    Trainer(model, optimizer, loss_fn, scheduler=None, grad_clip_norm=None)

    A batch source is any iterable of (x, y) Tensor pairs; `fit` iterates it once per epoch, so pass
    something re-iterable (a list, or module 08's DataLoader), not a one-shot generator.
    """

    def __init__(self, model, optimizer, loss_fn, scheduler=None, grad_clip_norm=None):
        self.model = model
        self.optimizer = optimizer
        self.loss_fn = loss_fn
        self.scheduler = scheduler
        self.grad_clip_norm = grad_clip_norm
        self.params = list(model.parameters())
        self.history = {"train_loss": [], "train_acc": [], "val_loss": [], "val_acc": [], "lr": [], "time": []}

    def train_step(self, x, y):
        """One optimisation step on one batch. Returns (loss as a float, predictions Tensor).

        HINTS
        - This is the loop of the diagram above, for one batch: forward, loss, backward, update. Ask what
          each step needs from the one before it, and what would go wrong if the gradients of the
          previous batch were still sitting in the parameters when backward adds the new ones.
        - Clipping (when self.grad_clip_norm is set) changes the gradients, so it must happen after they
          exist and before the optimizer uses them; module 06's clip_grad_norm does the work.
        - The caller wants a plain Python float for the loss, not a Tensor that keeps the graph alive.
        """
        ### BEGIN SOLUTION
        self.optimizer.zero_grad()
        pred = self.model(x)
        loss = self.loss_fn(pred, y)
        loss.backward()
        if self.grad_clip_norm is not None:
            clip_grad_norm(self.params, self.grad_clip_norm)
        self.optimizer.step()
        return loss.item(), pred
        ### END SOLUTION

    def _run_epoch(self, batches, step):
        """Apply `step(x, y) -> (loss, pred)` to every batch; return size-weighted mean loss and accuracy."""
        total_loss, seen, correct = 0.0, 0, 0
        for x, y in batches:
            loss, pred = step(x, y)
            n = len(x)
            total_loss += loss * n
            seen += n
            c = _count_correct(pred, y)
            correct = None if (c is None or correct is None) else correct + c
        if seen == 0:
            raise ValueError("the batch source yielded no batches (a one-shot generator used twice?)")
        return {"loss": total_loss / seen, "accuracy": None if correct is None else correct / seen}

    def train_epoch(self, batches):
        """One pass over `batches` in training mode. Returns {"loss": float, "accuracy": float or None}."""
        self.model.train()
        return self._run_epoch(batches, self.train_step)


# %% mutant={"name": "step-without-zero-grad", "target": "trainer-step", "replace": "self.optimizer.zero_grad()\n", "catches": ["test-trainer-step"]}
# Never clears gradients: each step adds all previous batches' gradients.

# %% mutant={"name": "step-clips-after-update", "target": "trainer-step", "catches": ["test-trainer-step"]}
# Clips after the optimizer already used the raw gradient.
self.optimizer.zero_grad()
pred = self.model(x)
loss = self.loss_fn(pred, y)
loss.backward()
self.optimizer.step()
if self.grad_clip_norm is not None:
    clip_grad_norm(self.params, self.grad_clip_norm)
return loss.item(), pred

# %% mutant={"name": "step-returns-loss-tensor", "target": "trainer-step", "replace": "return loss.item(), pred", "catches": ["test-trainer-step"]}
# Returns the loss Tensor, keeping the whole graph alive in the epoch's running total.
return loss, pred

# %% [markdown]
# The test trains a one-layer model on a tiny regression problem, `y = 2x + 1`. It checks the loss falls, that
# gradients do not pile up between steps (a missing `zero_grad` makes the weights overshoot and diverge), and
# that clipping is applied when asked for.

# %% nbgrader={"grade": true, "grade_id": "test-trainer-step", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
from tinytorch.core.layers import Linear
from tinytorch.core.losses import MSELoss, CrossEntropyLoss
from tinytorch.core.optimizers import SGD

def _line_batches(n=64, batch=16):
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, size=(n, 1)).astype(np.float32)
    y = (2 * x + 1).astype(np.float32)
    return [(Tensor(x[i:i + batch]), Tensor(y[i:i + batch])) for i in range(0, n, batch)]

def test_trainer_step():
    """train_step lowers the loss on y = 2x + 1; train_epoch averages it; clipping is applied."""
    np.random.seed(0)
    model = Linear(1, 1)
    trainer = Trainer(model, SGD(model.parameters(), lr=0.3), MSELoss())
    batches = _line_batches()
    first = trainer.train_epoch(batches)["loss"]
    for _ in range(30):
        last = trainer.train_epoch(batches)
    assert last["loss"] < 0.01 * first, (
        f"after 30 epochs the loss should fall below 1% of the first epoch's ({first:.4f}), got {last['loss']:.4f}; "
        "did you call zero_grad() before backward()?")
    assert last["accuracy"] is None, "regression targets have no accuracy: expected None"
    w, b = float(model.weight.data.ravel()[0]), float(model.bias.data.ravel()[0])
    assert abs(w - 2) < 0.1 and abs(b - 1) < 0.1, f"the model should learn w≈2, b≈1, got w={w:.3f}, b={b:.3f}"
    # clipping: a huge learning problem with max_norm tiny moves the weight by at most lr * max_norm
    model = Linear(1, 1)
    before = model.weight.data.copy()
    clipped = Trainer(model, SGD(model.parameters(), lr=1.0), MSELoss(), grad_clip_norm=1e-3)
    x, y = Tensor(np.array([[100.0]], dtype=np.float32)), Tensor(np.array([[-100.0]], dtype=np.float32))
    clipped.train_step(x, y)
    moved = float(np.abs(model.weight.data - before).max())
    assert moved <= 1.01e-3, f"with grad_clip_norm=1e-3 and lr=1 a weight can move at most 1e-3, it moved {moved:.4g}"
    print(f"Trainer.train_step OK: loss {first:.4f} -> {last['loss']:.6f}, w={w:.3f}, b={b:.3f}")

test_trainer_step()
### BEGIN HIDDEN TESTS
np.random.seed(1)
_m = Linear(3, 4)
_t = Trainer(_m, SGD(_m.parameters(), lr=0.5), CrossEntropyLoss())
_x = Tensor(np.eye(4, 3, dtype=np.float32) * 3)
_y = Tensor(np.array([0, 1, 2, 3]))
_loss, _pred = _t.train_step(_x, _y)
assert isinstance(_loss, float) and _pred.shape == (4, 4)
for _ in range(100):
    _t.train_step(_x, _y)
assert _count_correct(_m(_x), _y) >= 3
### END HIDDEN TESTS

# %% [markdown]
# ### 4.2 Evaluation and `fit`
#
# Evaluation must **measure without learning**, and without paying for learning:
# - `model.eval()` switches layers such as `Dropout` (module 03) to their inference behaviour;
# - `no_grad()` (module 05) stops autograd from recording a graph, so no memory is spent on tensors that
#   backward would need. Section 6 measures how much that saves.
#
# `evaluate` reuses `_run_epoch` with a step that only runs the model and the loss. Then `fit` strings epochs
# together: train, evaluate (if validation batches are given), record, step the scheduler. We add these
# methods to the class we already defined, so you can write them in their own cell.

# %% nbgrader={"grade": false, "grade_id": "trainer-evaluate", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def _trainer_evaluate(self, batches):
    """Average loss and accuracy over `batches` in eval mode, without building a graph.

    HINTS
    - self.model.eval(), then everything inside `with no_grad():`
    - the step function for _run_epoch: run the model, the loss, and return (loss.item(), pred)
    """
    ### BEGIN SOLUTION
    self.model.eval()
    with no_grad():
        def step(x, y):
            pred = self.model(x)
            return self.loss_fn(pred, y).item(), pred
        return self._run_epoch(batches, step)
    ### END SOLUTION


def _trainer_fit(self, train_batches, epochs, val_batches=None, on_epoch_end=None):
    """Train for `epochs` epochs; returns `self.history`.

    After each epoch: record train loss/accuracy, the learning rate used and the epoch's wall time;
    evaluate on `val_batches` if given; call `on_epoch_end(epoch, record)` if given (progress bars,
    checkpoints, early stopping: return True to stop); finally step the scheduler.
    """
    for epoch in range(epochs):
        lr = getattr(self.optimizer, "lr", None)
        start = time.perf_counter()
        train = self.train_epoch(train_batches)
        record = {"epoch": epoch, "lr": lr, "train_loss": train["loss"], "train_acc": train["accuracy"],
                  "time": time.perf_counter() - start}
        if val_batches is not None:
            val = self.evaluate(val_batches)
            record["val_loss"], record["val_acc"] = val["loss"], val["accuracy"]
        for key in self.history:
            if key in record:
                self.history[key].append(record[key])
        if self.scheduler is not None:
            self.scheduler.step()
        if on_epoch_end is not None and on_epoch_end(epoch, record):
            break
    return self.history


Trainer.evaluate = _trainer_evaluate
Trainer.fit = _trainer_fit

# %% mutant={"name": "evaluate-builds-graph", "target": "trainer-evaluate", "catches": ["test-trainer-fit"]}
# No no_grad(): evaluation records a graph for every batch it never backpropagates.
self.model.eval()
def step(x, y):
    pred = self.model(x)
    return self.loss_fn(pred, y).item(), pred
return self._run_epoch(batches, step)

# %% mutant={"name": "evaluate-in-train-mode", "target": "trainer-evaluate", "replace": "self.model.eval()\n", "catches": ["test-trainer-fit"]}
# Forgets eval(): dropout stays active while measuring validation accuracy.

# %% [markdown]
# The test trains a 3-class classifier with a cosine schedule through `fit` and checks the whole bookkeeping:
# history lengths, the recorded learning rates, the validation accuracy, and that evaluation built no graph
# and did not change the weights.

# %% nbgrader={"grade": true, "grade_id": "test-trainer-fit", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
def _blob_batches(n_per_class=30, batch=15, seed=0):
    rng = np.random.default_rng(seed)
    centers = np.array([[0, 3], [3, -2], [-3, -2]], dtype=np.float32)
    x = np.concatenate([c + rng.normal(0, 0.6, size=(n_per_class, 2)) for c in centers]).astype(np.float32)
    y = np.repeat(np.arange(3), n_per_class)
    order = rng.permutation(len(y))
    x, y = x[order], y[order]
    return [(Tensor(x[i:i + batch]), Tensor(y[i:i + batch])) for i in range(0, len(y), batch)]

def test_trainer_fit():
    """fit trains, evaluates without a graph, records history and steps the scheduler once per epoch."""
    np.random.seed(0)
    model = Linear(2, 3)
    opt = SGD(model.parameters(), lr=0.5)
    trainer = Trainer(model, opt, CrossEntropyLoss(), scheduler=CosineLR(opt, total_epochs=5))
    train, val = _blob_batches(seed=0), _blob_batches(seed=1)
    before = trainer.evaluate(val)
    weights = model.weight.data.copy()
    again = trainer.evaluate(val)
    assert np.array_equal(weights, model.weight.data), "evaluate must not change the weights"
    assert abs(before["loss"] - again["loss"]) < 1e-9, "evaluating twice must give the same loss"
    assert model.weight.grad is None, "evaluate must not compute gradients (use no_grad, no backward)"
    calls = []

    def spy(x):                                 # a stand-in model that reports how it is called
        out = model(x)
        calls.append((model.training, out.requires_grad or out._grad_fn is not None))
        return out

    spy.parameters, spy.train, spy.eval = model.parameters, model.train, model.eval
    model.train()
    Trainer(spy, opt, CrossEntropyLoss()).evaluate(val)
    assert calls and not any(graph for _, graph in calls), \
        "evaluate must not build a graph: run the model inside `with no_grad():`"
    assert not any(training for training, _ in calls), "evaluate must put the model in eval mode first"
    history = trainer.fit(train, epochs=5, val_batches=val)
    for key in ("train_loss", "train_acc", "val_loss", "val_acc", "lr", "time"):
        assert len(history[key]) == 5, f"history['{key}'] should have one entry per epoch (5), got {len(history[key])}"
    assert np.allclose(history["lr"], [0.5, 0.4523, 0.3273, 0.1727, 0.0477], atol=1e-3), (
        f"history['lr'] should hold the cosine rates used in epochs 0..4, got {np.round(history['lr'], 4)}")
    assert history["val_acc"][-1] >= 0.95, f"three well-separated blobs should reach >=95% val accuracy, got {history['val_acc'][-1]}"
    assert history["val_loss"][-1] < before["loss"], "validation loss should fall during training"
    assert 0.0 <= history["train_acc"][0] <= 1.0
    print("fit OK: val_acc by epoch", [round(a, 3) for a in history["val_acc"]])

test_trainer_fit()

# %% [markdown]
# ## 5. Checkpoints that survive a crash
#
# Training runs for minutes, hours, or weeks. A **checkpoint** stores everything needed to continue later:
# the model's parameters and the optimizer's state (Adam's running averages are as much part of the run as
# the weights: without them the restarted run takes different steps).
#
# **Format.** One NumPy `.npz` file (a zip of named arrays, readable with nothing but NumPy):
#
# | key | content |
# |---|---|
# | `model/<name>` | each parameter, named by `model.named_parameters()` (e.g. `model/layers.0.weight`) |
# | `optim/<key>` | the optimizer's `state_dict()` from module 06: `lr`, then per-parameter entries such as `0.velocity` or `3.m` |
# | `meta` | your own JSON-serialisable extras (`epoch=3`, `best_acc=0.97`) |
#
# **Atomic writes.** Writing a file takes time. If the process dies halfway (out of memory, a pre-empted cloud
# machine, Ctrl-C), a file written in place is left truncated, and you have just destroyed your only good
# checkpoint. The fix is an operating-system guarantee: `os.replace(src, dst)` renames a file **atomically**
# on the same file system. Anyone opening `dst` sees either the old file or the new one, never a mix.
#
# ```
#   1. write everything to   ckpt.npz.XXXX.tmp   (same folder → same file system)
#   2. flush + fsync          (the bytes are on disk, not just in a buffer)
#   3. os.replace(tmp, ckpt.npz)   ← the one atomic moment
#   crash during 1 or 2 → ckpt.npz untouched; we delete the temp file if we are still alive to do so
# ```
#
# Reading the optimizer's state is bookkeeping, so it is given: `_optimizer_state` asks the optimizer for its
# `state_dict()` (module 06) and prefixes the keys; for an optimizer without one (say, one you write yourself
# later) it falls back to collecting numeric settings and per-parameter lists of arrays.

# %%
#| export
def _optimizer_state(optimizer):
    """The optimizer's state as {"optim/<key>": np.ndarray}, ready for np.savez."""
    if hasattr(optimizer, "state_dict"):
        return {f"optim/{key}": np.asarray(value) for key, value in optimizer.state_dict().items()}
    n = len(getattr(optimizer, "params", []))          # fallback: scalars and per-parameter array lists
    state = {}
    for name, value in vars(optimizer).items():
        if name == "params" or name.startswith("_"):
            continue
        if isinstance(value, (bool, int, float, np.number)):
            state[f"optim/{name}"] = np.asarray(value)
        elif isinstance(value, list) and len(value) == n and n > 0:
            for i, v in enumerate(value):
                if isinstance(v, np.ndarray):
                    state[f"optim/{name}/{i}"] = v
    return state


def _restore_optimizer(optimizer, arrays):
    """Inverse of `_optimizer_state`."""
    saved = {key[len("optim/"):]: value for key, value in arrays.items() if key.startswith("optim/")}
    if hasattr(optimizer, "load_state_dict"):
        optimizer.load_state_dict(saved)
        return
    for key, value in saved.items():
        name, _, index = key.partition("/")
        if index:
            getattr(optimizer, name)[int(index)] = value.copy()
        else:
            setattr(optimizer, name, value.item())


# %% [markdown]
# ### 5.1 Saving, atomically
#
# You write the atomic part. `tempfile.mkstemp(dir=folder, suffix=".tmp")` gives a fresh temporary file in
# the target's own folder (returns an OS-level file descriptor and a path); `os.fdopen(fd, "wb")` turns the
# descriptor into a normal file object. Passing a *file object* to `np.savez` (rather than a name) stops NumPy
# from appending `.npz` to the name.

# %% nbgrader={"grade": false, "grade_id": "save-checkpoint", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def save_checkpoint(path, model, optimizer=None, **meta):
    """Save the model's parameters (and the optimizer's state) to the .npz file `path`, atomically.

    Extra keyword arguments are stored as JSON under the key "meta" and returned by load_checkpoint.
    EXAMPLE   save_checkpoint("run/ckpt.npz", model, opt, epoch=3, best_acc=0.97)

    HINTS
    - fd, tmp = tempfile.mkstemp(dir=folder, prefix=name + ".", suffix=".tmp")
    - with os.fdopen(fd, "wb") as f: np.savez(f, **arrays); f.flush(); os.fsync(f.fileno())
    - os.replace(tmp, path); if anything raises before that, delete tmp and re-raise
    """
    path = os.fspath(path)
    arrays = {f"model/{name}": p.data for name, p in model.named_parameters()}
    if optimizer is not None:
        arrays.update(_optimizer_state(optimizer))
    arrays["meta"] = np.asarray(json.dumps(meta))
    folder = os.path.dirname(os.path.abspath(path))
    name = os.path.basename(path)
    os.makedirs(folder, exist_ok=True)
    ### BEGIN SOLUTION
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    ### END SOLUTION
    return path


# %% mutant={"name": "save-writes-in-place", "target": "save-checkpoint", "catches": ["test-save-checkpoint"]}
# Writes straight to the target: a crash leaves half a file where the good checkpoint was.
with open(path, "wb") as f:
    np.savez(f, **arrays)

# %% mutant={"name": "save-leaves-temp-file", "target": "save-checkpoint", "catches": ["test-save-checkpoint"]}
# Atomic, but a failed save leaves its temporary file behind.
fd, tmp = tempfile.mkstemp(dir=folder, prefix=name + ".", suffix=".tmp")
with os.fdopen(fd, "wb") as f:
    np.savez(f, **arrays)
    f.flush()
    os.fsync(f.fileno())
os.replace(tmp, path)

# %% [markdown]
# The test saves twice, then simulates a crash in the middle of a third save (it temporarily replaces
# `np.savez` with a function that writes some bytes and raises) and checks that the previous checkpoint is
# intact and that no temporary file is left behind.

# %% nbgrader={"grade": true, "grade_id": "test-save-checkpoint", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
import pathlib
import shutil

def test_save_checkpoint():
    """save_checkpoint writes a readable .npz at exactly `path`, and a crash mid-write leaves the old file intact."""
    folder = pathlib.Path(tempfile.mkdtemp())
    try:
        np.random.seed(0)
        model = Linear(3, 2)
        target = folder / "ckpt.npz"
        returned = save_checkpoint(target, model, epoch=1)
        assert target.exists(), f"expected a file at {target}; found {sorted(p.name for p in folder.iterdir())}"
        assert os.fspath(returned) == os.fspath(target), "save_checkpoint should return the path it wrote"
        with np.load(target) as data:
            assert np.array_equal(data["model/weight"], model.weight.data), "model/weight should hold the weights"
            assert json.loads(str(data["meta"])) == {"epoch": 1}, "meta should hold the keyword arguments as JSON"
        good = target.read_bytes()
        real_savez = np.savez
        def crashing_savez(file, **arrays):
            file.write(b"PK\x03\x04 half a zip file")
            raise RuntimeError("simulated power cut")
        np.savez = crashing_savez
        try:
            model.weight.data = model.weight.data + 1
            save_checkpoint(target, model, epoch=2)
            raise AssertionError("the simulated crash inside np.savez should propagate out of save_checkpoint")
        except RuntimeError:
            pass
        finally:
            np.savez = real_savez
        assert target.read_bytes() == good, "a crash during saving must leave the previous checkpoint untouched"
        leftovers = [p.name for p in folder.iterdir() if p.name != "ckpt.npz"]
        assert not leftovers, f"temporary files must be removed after a failed save, found {leftovers}"
        print("save_checkpoint OK: atomic, and a crash left", target.name, "intact")
    finally:
        shutil.rmtree(folder)

test_save_checkpoint()

# %% [markdown]
# ### 5.2 Loading
#
# Loading is the mirror image, with one rule: **fail loudly** when the checkpoint does not fit the model. A
# silent partial load (or a broadcast of a `(64, 10)` array into a `(64, 100)` parameter) produces a model
# that runs and is wrong. Name the parameter and both shapes in the error.

# %% nbgrader={"grade": false, "grade_id": "load-checkpoint", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def load_checkpoint(path, model, optimizer=None):
    """Load parameters (and optimizer state) saved by save_checkpoint into `model`; return the meta dict.

    Raises KeyError naming a parameter the file lacks, and ValueError naming a parameter whose shape
    differs (with both shapes). Parameters keep their dtype and stay the same Tensor objects
    (the optimizer holds references to them), so assign to `p.data`.

    HINT  for name, p in model.named_parameters(): check "model/" + name is in `arrays`,
          compare shapes, then p.data = arrays[key].astype(p.data.dtype)
    """
    with np.load(os.fspath(path), allow_pickle=False) as data:
        arrays = {key: data[key] for key in data.files}
    ### BEGIN SOLUTION
    for name, p in model.named_parameters():
        key = f"model/{name}"
        if key not in arrays:
            raise KeyError(f"checkpoint {path} has no parameter '{name}'")
        if arrays[key].shape != p.data.shape:
            raise ValueError(f"parameter '{name}': checkpoint shape {arrays[key].shape} != model shape {p.data.shape}")
        p.data = arrays[key].astype(p.data.dtype)
    ### END SOLUTION
    if optimizer is not None:
        _restore_optimizer(optimizer, arrays)
    return json.loads(str(arrays["meta"])) if "meta" in arrays else {}


# %% mutant={"name": "load-no-shape-check", "target": "load-checkpoint", "catches": ["test-load-checkpoint"]}
# Trusts the file: a wrong-shaped weight is loaded silently (and breaks much later).
for name, p in model.named_parameters():
    p.data = arrays[f"model/{name}"].astype(p.data.dtype)

# %% mutant={"name": "load-skips-missing", "target": "load-checkpoint", "replace": "raise KeyError(f\"checkpoint {path} has no parameter '{name}'\")", "catches": ["test-load-checkpoint"]}
# Skips parameters the file lacks, leaving them at their random initial values.
continue

# %% [markdown]
# The test checks a full round trip (weights, metadata and the optimizer's momentum, so a resumed run takes the
# very same next step as an uninterrupted one) and the two loud failures.

# %% nbgrader={"grade": true, "grade_id": "test-load-checkpoint", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
def test_load_checkpoint():
    """A round trip restores weights, metadata and optimizer state; mismatched models fail loudly."""
    folder = pathlib.Path(tempfile.mkdtemp())
    try:
        np.random.seed(0)
        batches = _line_batches()
        model = Linear(1, 1)
        opt = SGD(model.parameters(), lr=0.1, momentum=0.9)
        trainer = Trainer(model, opt, MSELoss())
        trainer.train_epoch(batches)
        save_checkpoint(folder / "c.npz", model, opt, epoch=1, note="after one epoch")
        trainer.train_epoch(batches)                    # the uninterrupted run continues...
        expected = model.weight.data.copy()
        np.random.seed(5)
        fresh = Linear(1, 1)                            # ...while a "restarted" process rebuilds everything
        fresh_opt = SGD(fresh.parameters(), lr=0.1, momentum=0.9)
        meta = load_checkpoint(folder / "c.npz", fresh, fresh_opt)
        assert meta == {"epoch": 1, "note": "after one epoch"}, f"meta should round-trip, got {meta}"
        assert fresh.weight.dtype == model.weight.dtype, "loading must keep each parameter's dtype"
        Trainer(fresh, fresh_opt, MSELoss()).train_epoch(batches)
        assert np.allclose(fresh.weight.data, expected, atol=1e-5), (
            "after loading model AND optimizer, the next epoch should match the uninterrupted run "
            f"({expected.ravel()} vs {fresh.weight.data.ravel()})")
        try:
            load_checkpoint(folder / "c.npz", Linear(1, 2))
            raise AssertionError("loading a (1, 1) weight into a (1, 2) model must raise ValueError")
        except ValueError as e:
            assert "weight" in str(e), f"the error should name the parameter, got: {e}"
        print("load_checkpoint OK: resumed run matches the uninterrupted one")
    finally:
        shutil.rmtree(folder)

test_load_checkpoint()
### BEGIN HIDDEN TESTS
_d = pathlib.Path(tempfile.mkdtemp())
try:
    save_checkpoint(_d / "nobias.npz", Linear(2, 2, bias=False))
    try:
        load_checkpoint(_d / "nobias.npz", Linear(2, 2))
        raise AssertionError("a missing parameter must raise KeyError")
    except KeyError as _e:
        assert "bias" in str(_e)
finally:
    shutil.rmtree(_d)
### END HIDDEN TESTS

# %% [markdown]
# ## 6. Systems analysis: where does training time and memory go?
#
# Three measurements, each small enough to run in a second or two. First: **how big is a checkpoint?** Each
# float32 parameter costs 4 bytes. SGD without momentum keeps no state; SGD with momentum keeps one buffer per
# parameter; Adam keeps two. So the checkpoint of an Adam run should be about three times the model.

# %%
from tinytorch.core.layers import Sequential
from tinytorch.core.activations import ReLU
from tinytorch.core.optimizers import Adam

def _mlp(sizes):
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(ReLU())
    return Sequential(*layers)

def _one_step(model, opt, x, y, loss_fn):
    opt.zero_grad()
    loss = loss_fn(model(x), y)
    loss.backward()
    opt.step()

_dir = pathlib.Path(tempfile.mkdtemp())
np.random.seed(0)
_x = Tensor(np.random.randn(32, 64).astype(np.float32))
_y = Tensor(np.random.randint(0, 10, size=32))
print(f"{'model':>14} {'params':>8} {'optimizer':>14} {'file bytes':>11} {'bytes/param':>11}")
for sizes in [(64, 32, 10), (64, 256, 10)]:
    for label, make in [("SGD", lambda ps: SGD(ps, lr=0.01)),
                        ("SGD+momentum", lambda ps: SGD(ps, lr=0.01, momentum=0.9)),
                        ("Adam", lambda ps: Adam(ps, lr=0.01))]:
        model = _mlp(sizes)
        opt = make(model.parameters())
        _one_step(model, opt, _x, _y, CrossEntropyLoss())      # optimizers create their state lazily
        n_params = sum(p.data.size for p in model.parameters())
        file_bytes = os.path.getsize(save_checkpoint(_dir / "c.npz", model, opt))
        print(f"{str(sizes):>14} {n_params:>8} {label:>14} {file_bytes:>11} {file_bytes / n_params:>11.2f}")
shutil.rmtree(_dir)

# %% [markdown]
# Read the last column: about 4 bytes per parameter for plain SGD, about 8 with momentum, about 12 with Adam
# (plus a few hundred bytes of zip headers, visible only for the smallest model). For a 7-billion-parameter
# language model that is the difference between a 28 GB and an 84 GB checkpoint, which is why large runs
# sometimes save the optimizer state less often than the weights.
#
# Second: **what does `no_grad` save during evaluation?** With autograd on, every operation keeps a reference
# to its inputs so backward can use them; those intermediate arrays stay alive as long as the output does.
# We count the bytes of all arrays reachable from the output's graph, with and without `no_grad`.

# %%
def _graph_bytes(t):
    """Bytes of all distinct arrays kept alive by the autograd graph behind Tensor `t`."""
    seen, stack, total = set(), [t], 0
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        total += node.data.nbytes
        fn = getattr(node, "_grad_fn", None)
        parents = getattr(fn, "inputs", None)
        if parents is None and isinstance(fn, tuple):        # tolerate other graph layouts
            parents = fn[0]
        stack.extend(p for p in (parents or ()) if isinstance(p, Tensor))
    return total

np.random.seed(0)
_model = _mlp((64, 256, 256, 10))
_xb = Tensor(np.random.randn(512, 64).astype(np.float32))
_with_graph = _model(_xb)
with no_grad():
    _without = _model(_xb)
print(f"graph-kept bytes, batch 512 through 64-256-256-10:  with autograd {_graph_bytes(_with_graph):>10,}"
      f"   under no_grad {_graph_bytes(_without):>8,}")
del _with_graph, _without

# %% [markdown]
# Under `no_grad` only the output itself is held (512 x 10 floats); with autograd every activation and
# weight along the way stays referenced until the output is dropped. In a validation loop that keeps outputs
# around (to compute metrics, say), that difference multiplies by the number of batches.
#
# Third: **batch size and speed.** Every step pays a fixed Python cost (calling layers, building the graph,
# looping over parameters) plus work proportional to the batch. Small batches pay the fixed cost often. We
# time one step at several batch sizes and report samples per second (median of 5 repeats).

# %%
def _median_step_time(model, opt, x, y, repeats=5):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        _one_step(model, opt, x, y, CrossEntropyLoss())
        times.append(time.perf_counter() - start)
    return float(np.median(times))

np.random.seed(0)
_model = _mlp((64, 128, 10))
_opt = SGD(_model.parameters(), lr=0.01)
print(f"{'batch':>6} {'ms/step':>8} {'samples/s':>10}")
_rates = {}
for batch in (1, 8, 32, 128, 512):
    xb = Tensor(np.random.randn(batch, 64).astype(np.float32))
    yb = Tensor(np.random.randint(0, 10, size=batch))
    _one_step(_model, _opt, xb, yb, CrossEntropyLoss())          # warm-up
    t = _median_step_time(_model, _opt, xb, yb)
    _rates[batch] = batch / t
    print(f"{batch:>6} {t * 1e3:>8.3f} {batch / t:>10,.0f}")
print(f"batch 128 processes {_rates[128] / _rates[1]:.0f}x more samples per second than batch 1")

# %% [markdown]
# At batch size 1 the step time is almost all fixed overhead, so throughput grows nearly in proportion to
# the batch until the matrix multiplications start to dominate. That is why the milestone trains with
# mini-batches of 32 rather than one example at a time. Larger batches are not free, though: fewer steps per
# epoch means fewer updates, which is one reason the learning rate and the batch size are tuned together.

# %% [markdown]
# ## 7. Summary
#
# - A training **step** is zero_grad → forward → loss → backward → (clip) → step; the order is the contract.
# - The **Trainer** turns steps into epochs, evaluates under `model.eval()` and `no_grad()`, and records a
#   `history` you can plot.
# - **Schedules** lower the learning rate over time: `StepLR` in drops, `CosineLR` smoothly to a floor.
# - **Clipping by global norm** caps the update's length and keeps its direction.
# - **Checkpoints** hold the weights *and* the optimizer state; `os.replace` makes the write atomic, so a crash
#   leaves either the old or the new checkpoint.
# - Measured: checkpoint size grows with optimizer state (about 4, 8, 12 bytes per parameter for SGD,
#   momentum, Adam); `no_grad` evaluation keeps only the output alive; mini-batches amortise per-step overhead.
#
# Next: milestone 03 uses your `Trainer` to teach a multi-layer perceptron to read handwritten digits
# (`tito milestone run 03`).
#
# ## Reflection questions
#
# 1. The Trainer calls `scheduler.step()` once per epoch. What changes if you call it once per batch instead,
#    and how would you pick `total_epochs` for `CosineLR` then?
# 2. Clipping by global norm keeps the update's direction. Clipping each gradient *value* to `[-c, c]` does
#    not. Construct a two-parameter example where the two disagree, and say which update you would rather take.
# 3. `save_checkpoint` puts the temporary file in the same folder as the target. Why would `/tmp` be a worse
#    choice, even though it is a perfectly good place for temporary files?
# 4. Your checkpoint stores parameters by name (`layers.0.weight`). What breaks if you insert a new layer at
#    the front of a `Sequential` and load an old checkpoint, and how would you design the names to survive
#    that change?
# 5. Section 6 showed throughput growing with batch size. Why does it eventually stop growing, and what would
#    you measure to find where on this machine?
