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
#     title: Optimizers
#     summary: Turn gradients into learning with SGD (momentum, weight decay), Adam and AdamW, and measure what each one's memory costs.
#     tier: foundation
#     minutes: 120
#     prerequisites: [01_tensor, 03_layers, 05_autograd]
#     objectives:
#       - Write an Optimizer base class with zero_grad() and step() that updates parameters in place
#       - Implement SGD with momentum and (L2) weight decay
#       - Implement Adam with bias correction, and AdamW with decoupled weight decay
#       - Explain why Adam needs two extra arrays per parameter and measure that memory
#       - Compare how quickly each optimizer makes progress on a badly conditioned problem
#     exports: [SGD, Adam, AdamW]
#     milestone: [01_perceptron, 02_xor]
# ---

# %% [markdown]
# # Module 06: Optimizers
#
# After module 05, `loss.backward()` fills every parameter's `.grad` with the direction in which the
# loss grows fastest. Learning means stepping the other way. The simplest possible rule is
#
# $$\theta \leftarrow \theta - \eta \, \nabla_\theta L$$
#
# with a learning rate $\eta$. That is **stochastic gradient descent** (SGD), and it trained neural
# networks for decades. But it has well-known weaknesses: it zig-zags across narrow valleys, and a
# single learning rate has to suit every parameter, even when their gradients differ by orders of
# magnitude. The optimizers in this module each fix one weakness, and each fix costs memory:
#
# | optimizer | idea | extra arrays per parameter |
# |---|---|---|
# | SGD | step against the gradient | 0 |
# | SGD + momentum | keep a running *velocity*, so consistent directions speed up and oscillations cancel | 1 |
# | Adam | momentum **and** a per-parameter step size from the running size of the gradient | 2 |
# | AdamW | Adam with weight decay applied directly to the weights (decoupled) | 2 |
#
# **Why this matters in a real framework.** For large models, optimizer state is often the largest
# memory item: with Adam, the parameters, their gradients and two moment arrays make four copies of
# the model. You will measure that at the end.

# %%
#| default_exp core.optimizers

# %%
#| export
import numpy as np

from tinytorch.core.tensor import Tensor

# %%
import time
import tinytorch.core.autograd   # makes Tensor operations record graphs (module 05)
from tinytorch.core.layers import Linear, Sequential

# %% [markdown]
# ## 1. The contract: `Optimizer`
#
# Every optimizer does the same two things in a training loop:
#
# ```
#  for x, y in batches:
#      optimizer.zero_grad()        # 1. forget the previous batch's gradients
#      loss = loss_fn(model(x), y)
#      loss.backward()              #    autograd ADDS into p.grad (module 05)
#      optimizer.step()             # 2. update every parameter in place using p.grad
# ```
#
# `zero_grad` is needed because autograd *accumulates*: without it, each step would use the sum of all
# gradients so far. Setting `p.grad = None` (rather than filling zeros) is cheaper and lets `step`
# skip parameters that received no gradient at all.
#
# `step` must update `p.data` **in place** (`p.data -= ...`), because the model holds references to
# these very Tensors. Creating a new Tensor would leave the model untouched.
#
# The base class keeps the list of parameters, the learning rate `lr` (a plain attribute, so the
# learning-rate schedulers of module 07 can change it between steps) and one small dict of state per
# parameter.

# %% nbgrader={"grade": false, "grade_id": "optimizer-base", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class Optimizer:
    """Base class: holds parameters, the learning rate and per-parameter state."""

    def __init__(self, params, lr=0.01):
        self.params = list(params)
        if not self.params:
            raise ValueError("optimizer got an empty parameter list (did the model register any?)")
        for i, p in enumerate(self.params):
            if not isinstance(p, Tensor):
                raise TypeError(f"parameter {i} is a {type(p).__name__}, expected a Tensor")
        if lr < 0:
            raise ValueError(f"learning rate must be >= 0, got {lr}")
        self.lr = lr
        self.state = [dict() for _ in self.params]   # state[i] belongs to params[i]

    def zero_grad(self):
        """Forget all gradients: set every parameter's `.grad` to None."""
        ### BEGIN SOLUTION
        for p in self.params:
            p.grad = None
        ### END SOLUTION

    def step(self):
        """Update every parameter that has a gradient. Subclasses implement this."""
        raise NotImplementedError(f"{type(self).__name__} must implement step()")

    def _with_grads(self):
        """(parameter, its gradient as an array, its state dict) for every parameter with a gradient."""
        for p, state in zip(self.params, self.state):
            if p.grad is not None:
                grad = p.grad.data if isinstance(p.grad, Tensor) else np.asarray(p.grad)
                yield p, grad, state

    def state_nbytes(self):
        """Bytes held by the optimizer's state arrays (what this optimizer adds to training memory)."""
        return int(sum(v.nbytes for state in self.state for v in state.values() if isinstance(v, np.ndarray)))

    def state_dict(self):
        """The optimizer's state as a flat dict of NumPy arrays (e.g. for `np.savez` checkpoints)."""
        out = {"lr": np.asarray(self.lr, dtype=np.float64)}
        for i, state in enumerate(self.state):
            for key, value in state.items():
                out[f"{i}.{key}"] = np.array(value)
        return out

    def load_state_dict(self, saved):
        """Restore what `state_dict()` returned (same parameters, same order)."""
        self.lr = float(saved["lr"])
        self.state = [dict() for _ in self.params]
        for name, value in saved.items():
            if name == "lr":
                continue
            index, key = name.split(".", 1)
            value = np.array(value)
            self.state[int(index)][key] = value if value.ndim else value.item()

    def __repr__(self):
        return f"{type(self).__name__}(lr={self.lr}, params={len(self.params)})"

# %% [markdown]
# The test checks that `zero_grad` clears every gradient and that the base class validates its input.

# %% nbgrader={"grade": true, "grade_id": "test-optimizer-base", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
def test_optimizer_base():
    """zero_grad clears every .grad; bad arguments are refused."""
    a = Tensor(np.ones(3), requires_grad=True)
    b = Tensor(np.ones((2, 2)), requires_grad=True)
    a.grad, b.grad = Tensor(np.ones(3)), Tensor(np.ones((2, 2)))
    opt = Optimizer([a, b], lr=0.1)
    opt.zero_grad()
    assert a.grad is None and b.grad is None, "zero_grad must set every parameter's .grad to None"
    for bad in ([], [np.ones(3)]):
        try:
            Optimizer(bad)
            raise AssertionError(f"Optimizer({bad!r}) should raise")
        except (ValueError, TypeError):
            pass
    print("Optimizer base: OK")

test_optimizer_base()
### BEGIN HIDDEN TESTS
_g = (t for t in [Tensor(np.zeros(2), requires_grad=True)])
_o = Optimizer(_g)                    # a generator (like model.parameters() may be) is accepted
assert len(_o.params) == 1
_o.params[0].grad = Tensor(np.ones(2)); _o.zero_grad(); assert _o.params[0].grad is None
### END HIDDEN TESTS

# %% [markdown]
# ## 2. SGD with momentum and weight decay
#
# **Weight decay** (L2 regularisation) adds $\tfrac{\lambda}{2}\lVert\theta\rVert^2$ to the loss, which
# adds $\lambda\theta$ to the gradient: every step pulls the weights a little towards zero, which keeps
# them small and the model smoother.
#
# **Momentum** treats the parameters like a heavy ball rolling downhill. It keeps a velocity $v$:
#
# $$v \leftarrow \mu v + g, \qquad \theta \leftarrow \theta - \eta v$$
#
# Worked example with $\mu = 0.9$, $\eta = 0.1$ and the same gradient $g = 1$ every step:
#
# ```
#  step   velocity v                      update  -η·v
#   1     1                               -0.100
#   2     0.9·1   + 1 = 1.9               -0.190
#   3     0.9·1.9 + 1 = 2.71              -0.271
#   ...   approaches 1 / (1 - 0.9) = 10   -1.000   (10x plain SGD along a consistent direction)
# ```
#
# When the gradient flips sign each step (an oscillation across a valley), the velocity terms
# cancel instead. Consistent directions accelerate, noisy ones are damped.
#
# Order of operations in `step` for each parameter `p` with gradient `g`:
# 1. `g = g + weight_decay * p.data` (if weight decay is on);
# 2. if momentum is on: update the velocity **in place** (it lives in `state["velocity"]`) and use it as `g`;
# 3. `p.data -= lr * g`.

# %% nbgrader={"grade": false, "grade_id": "sgd", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum and L2 weight decay.

    EXAMPLE
        opt = SGD(model.parameters(), lr=0.1, momentum=0.9)
        opt.zero_grad(); loss.backward(); opt.step()
    """

    def __init__(self, params, lr, momentum=0.0, weight_decay=0.0):
        super().__init__(params, lr)
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1), got {momentum}")
        if weight_decay < 0:
            raise ValueError(f"weight_decay must be >= 0, got {weight_decay}")
        self.momentum, self.weight_decay = momentum, weight_decay

    def step(self):
        for p, g, state in self._with_grads():
            if self.momentum and "velocity" not in state:
                state["velocity"] = np.zeros_like(p.data)
            ### BEGIN SOLUTION
            if self.weight_decay:
                g = g + self.weight_decay * p.data
            if self.momentum:
                v = state["velocity"]
                v *= self.momentum
                v += g
                g = v
            p.data -= self.lr * g
            ### END SOLUTION

# %% [markdown]
# The test replays the worked example (three momentum steps on a constant gradient), checks a plain
# step, weight decay, that parameters without a gradient are left alone, and that the update is in
# place.

# %% nbgrader={"grade": true, "grade_id": "test-sgd", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
def test_sgd():
    """Plain SGD, weight decay and momentum give the hand-computed values; updates are in place."""
    w = Tensor(np.array([1.0, -2.0]), requires_grad=True)
    data_before = w.data
    w.grad = Tensor(np.array([0.5, 0.5]))
    SGD([w], lr=0.1).step()
    assert w.data is data_before, "step() must update p.data in place (p.data -= ...), not replace it"
    assert np.allclose(w.data, [0.95, -2.05]), f"w - lr*g = [0.95, -2.05], got {w.data}"

    w = Tensor(np.array([1.0, -2.0]), requires_grad=True)
    w.grad = Tensor(np.zeros(2))
    SGD([w], lr=0.1, weight_decay=0.5).step()
    assert np.allclose(w.data, [0.95, -1.9]), f"weight decay adds 0.5*w to g: expected [0.95, -1.9], got {w.data}"

    w = Tensor(np.array([0.0]), requires_grad=True)
    opt = SGD([w], lr=0.1, momentum=0.9)
    positions = []
    for _ in range(3):
        w.grad = Tensor(np.array([1.0]))
        opt.step()
        positions.append(float(w.data[0]))
    assert np.allclose(positions, [-0.1, -0.29, -0.561]), \
        f"momentum steps should be -0.1, -0.19, -0.271 (cumulative -0.1, -0.29, -0.561), got {positions}"

    frozen = Tensor(np.array([3.0]), requires_grad=True)
    SGD([frozen], lr=1.0).step()
    assert np.allclose(frozen.data, 3.0), "a parameter whose .grad is None must not move"
    print("SGD: OK")

test_sgd()
### BEGIN HIDDEN TESTS
_w = Tensor(np.array([1.0]), requires_grad=True)
_o = SGD([_w], lr=0.1, momentum=0.5, weight_decay=0.1)
for _ in range(2):
    _w.grad = Tensor(np.array([1.0])); _o.step()
# step 1: g=1.1, v=1.1, w=0.89; step 2: g=1.089, v=0.55+1.089=1.639, w=0.7261
assert np.allclose(_w.data, [0.7261]), _w.data
_w32 = Tensor(np.ones(2, dtype=np.float32), requires_grad=True); _w32.grad = Tensor(np.ones(2, dtype=np.float32))
SGD([_w32], lr=0.1, momentum=0.9).step(); assert _w32.data.dtype == np.float32
### END HIDDEN TESTS

# %% [markdown]
# ## 3. Adam
#
# Gradients of different parameters can differ by orders of magnitude (an embedding row used once
# versus a bias used by every sample). Adam (Kingma & Ba, 2015) gives every parameter its own step
# size by tracking two running averages per element:
#
# $$m \leftarrow \beta_1 m + (1 - \beta_1) g \qquad\text{(mean of g: momentum)}$$
# $$v \leftarrow \beta_2 v + (1 - \beta_2) g^2 \qquad\text{(mean of g²: typical size)}$$
#
# Both start at zero, so early on they are biased towards zero. After $t$ steps, dividing by
# $1 - \beta^t$ removes that bias:
#
# $$\hat m = \frac{m}{1 - \beta_1^t}, \qquad \hat v = \frac{v}{1 - \beta_2^t}, \qquad
#   \theta \leftarrow \theta - \eta\,\frac{\hat m}{\sqrt{\hat v} + \epsilon}$$
#
# Worked example, first step, any gradient $g \ne 0$: $m = 0.1 g$, $v = 0.001 g^2$, so
# $\hat m = g$, $\hat v = g^2$ and the step is $\eta \cdot g / |g| = \eta\,\text{sign}(g)$. **Every
# parameter moves by about `lr`, whatever the scale of its gradient.** That is why Adam's
# learning rate is easy to pick and why it is the default for transformers.
#
# `Adam` with `weight_decay > 0` adds $\lambda\theta$ to the gradient, like SGD (classic L2). The step
# counter `t` is kept per parameter in `state["step"]`.

# %% nbgrader={"grade": false, "grade_id": "adam", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class Adam(Optimizer):
    """Adam: per-parameter step sizes from running averages of g and g^2, with bias correction."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(params, lr)
        beta1, beta2 = betas
        if not (0.0 <= beta1 < 1.0 and 0.0 <= beta2 < 1.0):
            raise ValueError(f"betas must be in [0, 1), got {betas}")
        if eps <= 0 or weight_decay < 0:
            raise ValueError(f"need eps > 0 and weight_decay >= 0, got eps={eps}, weight_decay={weight_decay}")
        self.betas, self.eps, self.weight_decay = (beta1, beta2), eps, weight_decay

    def _adam_update(self, p, g, state):
        """One Adam update of p.data in place, using and updating state["m"], state["v"], state["step"]."""
        if "m" not in state:
            state["m"], state["v"], state["step"] = np.zeros_like(p.data), np.zeros_like(p.data), 0
        beta1, beta2 = self.betas
        m, v = state["m"], state["v"]
        state["step"] += 1
        t = state["step"]
        ### BEGIN SOLUTION
        m *= beta1
        m += (1 - beta1) * g
        v *= beta2
        v += (1 - beta2) * (g * g)
        m_hat = m / (1 - beta1 ** t)
        v_hat = v / (1 - beta2 ** t)
        p.data -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)
        ### END SOLUTION

    def step(self):
        for p, g, state in self._with_grads():
            if self.weight_decay:
                g = g + self.weight_decay * p.data      # classic L2: decay goes through the moments
            self._adam_update(p, g, state)

# %% [markdown]
# The test checks the "every parameter moves by about `lr`" property of the first step, then
# compares three steps with changing gradients against a direct NumPy transcription of the formulas.

# %% nbgrader={"grade": true, "grade_id": "test-adam", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
def adam_reference(theta, grads, lr, b1=0.9, b2=0.999, eps=1e-8, wd=0.0, decoupled=False):
    """The Adam / AdamW formulas written out directly, for comparison."""
    theta, m, v = np.array(theta, dtype=np.float64), 0.0, 0.0
    for t, g in enumerate(grads, start=1):
        if decoupled:
            theta = theta - lr * wd * theta
        elif wd:
            g = g + wd * theta
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        theta = theta - lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps)
    return theta


def test_adam():
    """Adam's first step is ~lr*sign(g) for any gradient scale; later steps follow the formulas."""
    w = Tensor(np.zeros(3), requires_grad=True)
    w.grad = Tensor(np.array([1e-4, -3.0, 500.0]))
    Adam([w], lr=0.01).step()
    assert np.allclose(w.data, [-0.01, 0.01, -0.01], atol=1e-5), \
        f"first Adam step moves each parameter by lr against the gradient's sign, got {w.data}"

    rng = np.random.default_rng(0)
    start = rng.standard_normal(4)
    grads = [rng.standard_normal(4) * s for s in (1.0, 0.1, 10.0)]
    w = Tensor(start.copy(), requires_grad=True)
    opt = Adam([w], lr=0.05, betas=(0.8, 0.99))
    for g in grads:
        w.grad = Tensor(g)
        opt.step()
    expected = adam_reference(start, grads, lr=0.05, b1=0.8, b2=0.99)
    assert np.allclose(w.data, expected, atol=1e-8), f"after 3 steps expected {expected}, got {w.data}"
    assert opt.state_nbytes() == 2 * w.data.nbytes, "Adam keeps exactly two arrays (m and v) per parameter"
    print("Adam: OK")

test_adam()
### BEGIN HIDDEN TESTS
_rng = np.random.default_rng(5)
_s = _rng.standard_normal((2, 3)); _gs = [_rng.standard_normal((2, 3)) for _ in range(4)]
_w = Tensor(_s.copy(), requires_grad=True); _o = Adam([_w], lr=0.02, weight_decay=0.1)
for _g in _gs:
    _w.grad = Tensor(_g); _o.step()
assert np.allclose(_w.data, adam_reference(_s, _gs, lr=0.02, wd=0.1), atol=1e-8)
### END HIDDEN TESTS

# %% [markdown]
# ## 4. AdamW: decoupled weight decay
#
# Adding $\lambda\theta$ to the gradient (as `Adam(weight_decay=...)` does) sends the decay through
# Adam's normalisation: a weight whose gradient is tiny gets a small $\hat v$, so its decay is
# **amplified**, while a weight with large gradients is barely decayed. Loshchilov & Hutter (2019)
# showed this makes L2 regularisation and Adam interact badly, and proposed to *decouple* them:
# shrink the weights directly, then take a plain Adam step on the unmodified gradient.
#
# $$\theta \leftarrow \theta - \eta\lambda\theta \qquad\text{then}\qquad \theta \leftarrow \theta - \eta\,\frac{\hat m}{\sqrt{\hat v} + \epsilon}$$
#
# ```
#  weight 1.0, gradient 0 (this weight is unused by the loss), lr 0.01, decay 0.01:
#    Adam + L2:  g = 0.01·1.0 -> normalised step ≈ lr·sign(g)  ->  1.0 - 0.01   = 0.99
#    AdamW:      θ·(1 - lr·λ)  -> 1.0·(1 - 0.0001) ; Adam step on g = 0 is 0  ->  0.9999
# ```
#
# With AdamW the decay strength is exactly what you asked for, independent of the gradient history.

# %% nbgrader={"grade": false, "grade_id": "adamw", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class AdamW(Adam):
    """Adam with decoupled weight decay (default weight_decay=0.01)."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01):
        super().__init__(params, lr, betas, eps, weight_decay)

    def step(self):
        for p, g, state in self._with_grads():
            ### BEGIN SOLUTION
            if self.weight_decay:
                p.data -= self.lr * self.weight_decay * p.data
            self._adam_update(p, g, state)
            ### END SOLUTION

# %% [markdown]
# The test replays the worked example above and compares several AdamW steps with the formulas.

# %% nbgrader={"grade": true, "grade_id": "test-adamw", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
def test_adamw():
    """AdamW shrinks weights by lr*wd directly; Adam+L2 pushes the decay through the normalisation."""
    coupled, decoupled = Tensor(np.array([1.0]), requires_grad=True), Tensor(np.array([1.0]), requires_grad=True)
    coupled.grad, decoupled.grad = Tensor(np.array([0.0])), Tensor(np.array([0.0]))
    Adam([coupled], lr=0.01, weight_decay=0.01).step()
    AdamW([decoupled], lr=0.01, weight_decay=0.01).step()
    assert np.allclose(coupled.data, 0.99, atol=1e-6), f"Adam + L2 worked example gives 0.99, got {coupled.data}"
    assert np.allclose(decoupled.data, 0.9999, atol=1e-9), f"AdamW worked example gives 0.9999, got {decoupled.data}"

    rng = np.random.default_rng(1)
    start = rng.standard_normal(5)
    grads = [rng.standard_normal(5) for _ in range(3)]
    w = Tensor(start.copy(), requires_grad=True)
    opt = AdamW([w], lr=0.1, weight_decay=0.2)
    for g in grads:
        w.grad = Tensor(g)
        opt.step()
    expected = adam_reference(start, grads, lr=0.1, wd=0.2, decoupled=True)
    assert np.allclose(w.data, expected, atol=1e-8), f"AdamW after 3 steps: expected {expected}, got {w.data}"
    print("AdamW: OK")

test_adamw()
### BEGIN HIDDEN TESTS
_w = Tensor(np.array([2.0, -1.0]), requires_grad=True); _o = AdamW([_w], lr=0.1, weight_decay=0.0)
_w.grad = Tensor(np.array([3.0, 3.0])); _o.step()
assert np.allclose(_w.data, [1.9, -1.1], atol=1e-6), "weight_decay=0: AdamW is plain Adam"
assert AdamW([_w]).weight_decay == 0.01, "AdamW's default weight decay is 0.01"
### END HIDDEN TESTS

# %% [markdown]
# ## 5. Training with optimizers
#
# Now the full loop from section 1, on a small regression problem: a two-layer network learns
# $y = \sin(3x)$ from 64 points. The test trains the same network with each optimizer and checks that
# each one reduces the loss substantially.

# %% nbgrader={"grade": true, "grade_id": "test-train-with-optimizers", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
def make_data(n=64, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, (n, 1)).astype(np.float32)
    return Tensor(x), Tensor(np.sin(3 * x).astype(np.float32))


def make_model(seed=0):
    np.random.seed(seed)
    from tinytorch.core.activations import Tanh
    return Sequential(Linear(1, 16), Tanh(), Linear(16, 1))


def train(make_optimizer, steps=150, seed=0):
    x, y = make_data()
    model = make_model(seed)
    opt = make_optimizer(model.parameters())
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


def test_train_with_optimizers():
    """Each optimizer drives the loss of a small regression well below its starting value."""
    recipes = {
        "SGD": lambda ps: SGD(ps, lr=0.1),
        "SGD+momentum": lambda ps: SGD(ps, lr=0.1, momentum=0.9),
        "Adam": lambda ps: Adam(ps, lr=0.02),
        "AdamW": lambda ps: AdamW(ps, lr=0.02, weight_decay=0.01),
    }
    for name, recipe in recipes.items():
        losses = train(recipe)
        assert losses[-1] < 0.5 * losses[0], f"{name}: loss should at least halve, {losses[0]:.4f} -> {losses[-1]:.4f}"
        print(f"{name:>13}: loss {losses[0]:.4f} -> {losses[-1]:.4f}")

test_train_with_optimizers()
### BEGIN HIDDEN TESTS
_l = train(lambda ps: SGD(ps, lr=0.1, momentum=0.9))
assert _l[-1] < 0.1 * _l[0], "momentum should fit sin(3x) well within 150 steps"
### END HIDDEN TESTS

# %% [markdown]
# ## 6. Systems analysis
#
# ### 6.1 Memory: what optimizer state costs
#
# We measure, after one step, how many bytes each optimizer's state holds (`state_nbytes()`, which
# sums the actual arrays), next to the parameters and their gradients, for a 3-layer MLP.

# %%
np.random.seed(0)
mlp = Sequential(Linear(256, 512), Linear(512, 512), Linear(512, 10))
params = mlp.parameters()
param_bytes = sum(p.data.nbytes for p in params)
for p in params:
    p.grad = Tensor(np.ones_like(p.data))
grad_bytes = sum(p.grad.data.nbytes for p in params)

print(f"{sum(p.data.size for p in params):,} parameters ({params[0].data.dtype}), "
      f"{param_bytes / 2**20:.2f} MiB; gradients {grad_bytes / 2**20:.2f} MiB")
print(f"{'optimizer':>14} | {'state (MiB)':>11} | {'state / params':>14} | {'total training (MiB)':>20}")
saved = [p.data.copy() for p in params]
for name, opt in [("SGD", SGD(params, lr=0.0)), ("SGD+momentum", SGD(params, lr=0.0, momentum=0.9)),
                  ("Adam", Adam(params, lr=0.0)), ("AdamW", AdamW(params, lr=0.0))]:
    opt.step()
    state = opt.state_nbytes()
    total = param_bytes + grad_bytes + state
    print(f"{name:>14} | {state / 2**20:>11.2f} | {state / param_bytes:>14.1f} | {total / 2**20:>20.2f}")
for p, s in zip(params, saved):
    p.data[...] = s

# %% [markdown]
# The `state / params` column is the whole story: SGD keeps nothing, momentum one copy of the model,
# Adam and AdamW two. Add the parameters and gradients and an Adam training run holds **four** copies
# of the model (the last column is 4x the parameter size), before counting activations. For a model
# with 7 billion float32 parameters that is 4 × 28 GB = 112 GB, which is why large-scale training
# shards optimizer state across devices or stores it in lower precision.
#
# ### 6.2 Time: cost of one step
#
# Each optimizer does a fixed amount of element-wise work per parameter. We time `step()` on
# parameter vectors of growing size.

# %%
def time_step(make, n, repeats=5):
    rng = np.random.default_rng(0)                  # realistic (random) values, not constant arrays
    p = Tensor(rng.standard_normal(n).astype(np.float32), requires_grad=True)
    p.grad = Tensor(rng.standard_normal(n).astype(np.float32))
    opt = make([p])
    opt.step()                          # allocate state outside the timing
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        opt.step()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


makers = {"SGD": lambda ps: SGD(ps, lr=0.01), "SGD+momentum": lambda ps: SGD(ps, lr=0.01, momentum=0.9),
          "Adam": lambda ps: Adam(ps, lr=0.01), "AdamW": lambda ps: AdamW(ps, lr=0.01)}
sizes = (10_000, 100_000, 1_000_000)
print(f"{'optimizer':>14} | " + " | ".join(f"{n:>10,} params" for n in sizes) + " | ns/param @1M")
for name, make in makers.items():
    ts = [time_step(make, n) for n in sizes]
    print(f"{name:>14} | " + " | ".join(f"{t * 1e3:>14.3f} ms" for t in ts) + f" | {ts[-1] / sizes[-1] * 1e9:>12.2f}")

# %% [markdown]
# Two things stand out. Adam's step does several passes over the data (two moment updates, two bias
# corrections, a square root, a division), so its ns/param figure is several times SGD's. And Adam's
# time may not grow smoothly with size: each line of the textbook formula (`m / (1 - beta1 ** t)`,
# `np.sqrt(...)`, ...) allocates a **new full-size temporary array**, and once those temporaries are
# megabytes in size, getting fresh memory from the operating system can cost more than the arithmetic.
# The cell below measures the same update written with in-place operations and a single reusable
# scratch buffer (the idea behind the "fused" optimizers of production frameworks).

# %%
def fused_adam_step(p, g, m, v, t, buf, lr=0.01, b1=0.9, b2=0.999, eps=1e-8):
    """The same update as Adam._adam_update, with in-place operations and one scratch buffer."""
    m *= b1
    np.multiply(g, 1 - b1, out=buf)
    m += buf
    v *= b2
    np.multiply(g, g, out=buf)
    buf *= 1 - b2
    v += buf
    np.divide(v, 1 - b2 ** t, out=buf)          # buf = v_hat
    np.sqrt(buf, out=buf)
    buf += eps                                  # buf = sqrt(v_hat) + eps
    np.divide(m, buf, out=buf)
    buf *= lr / (1 - b1 ** t)                   # buf = lr * m_hat / (sqrt(v_hat) + eps)
    p -= buf


n = 1_000_000
rng = np.random.default_rng(0)
start, grad = rng.standard_normal(n).astype(np.float32), rng.standard_normal(n).astype(np.float32)
p_ref = Tensor(start.copy(), requires_grad=True)
p_ref.grad = Tensor(grad)
reference = Adam([p_ref], lr=0.01)
p_fused, m, v, buf = start.copy(), np.zeros(n, np.float32), np.zeros(n, np.float32), np.empty(n, np.float32)
t_ref, t_fused = [], []
for t in range(1, 8):
    t0 = time.perf_counter()
    reference.step()
    t_ref.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    fused_adam_step(p_fused, grad, m, v, t, buf)
    t_fused.append(time.perf_counter() - t0)
assert np.allclose(p_ref.data, p_fused, atol=1e-5), "both versions compute the same update"
print(f"Adam step on {n:,} params: textbook formula {np.median(t_ref) * 1e3:.2f} ms, "
      f"in-place with one scratch buffer {np.median(t_fused) * 1e3:.2f} ms "
      f"({np.median(t_ref) / np.median(t_fused):.1f}x faster)")

# %% [markdown]
# Same numbers, different speed: memory traffic and allocation, not arithmetic, decide the cost of an
# element-wise update. Either way, compared with the forward and backward passes, whose matmuls do
# hundreds of operations per parameter per batch, the optimizer step is a small share of training
# time. Its real cost is the memory measured in 6.1.
#
# ### 6.3 Progress on a badly conditioned problem
#
# Minimise $f(a, b) = \tfrac12(a^2 + 100\,b^2)$ from $(1, 1)$: a long, narrow valley whose curvature
# differs 100x between the two directions. Plain SGD must use a learning rate small enough for the
# steep direction ($\eta < 2/100$) and then crawls along the shallow one. We count steps until
# $f < 10^{-4}$.

# %%
def steps_to_converge(make, limit=2000, tol=1e-4):
    w = Tensor(np.array([1.0, 1.0]), requires_grad=True)
    scale = Tensor(np.array([1.0, 100.0]))
    opt = make([w])
    for step in range(1, limit + 1):
        opt.zero_grad()
        loss = (w * w * scale).sum() * 0.5
        if loss.item() < tol:
            return step - 1
        loss.backward()
        opt.step()
    return None


recipes = {"SGD lr=0.019": lambda ps: SGD(ps, lr=0.019),
           "SGD+momentum lr=0.019": lambda ps: SGD(ps, lr=0.019, momentum=0.8),
           "Adam lr=0.05": lambda ps: Adam(ps, lr=0.05)}
for name, make in recipes.items():
    n = steps_to_converge(make)
    print(f"{name:>22}: {n if n is not None else '> 2000'} steps")

# %% [markdown]
# Momentum accelerates along the shallow direction, where successive gradients agree, so it needs
# far fewer steps than plain SGD. Adam rescales each coordinate by its own gradient size, so the 100x
# difference in curvature matters much less. No optimizer wins everywhere (Adam's per-coordinate
# normalisation can also slow it down near the minimum, where it keeps taking steps of about `lr`),
# which is why learning-rate schedules (module 07) pair with all of them.

# %% [markdown]
# ## Summary
#
# - `Optimizer` holds the parameters, `lr` and per-parameter state; `zero_grad()` clears the
#   accumulated gradients and `step()` updates `p.data` **in place**.
# - **SGD** steps against the gradient; **momentum** adds a velocity (one extra array per parameter);
#   **weight decay** adds $\lambda\theta$ to the gradient.
# - **Adam** keeps running means of $g$ and $g^2$ (two extra arrays), corrects their start-up bias and
#   takes steps of roughly `lr` per parameter regardless of gradient scale.
# - **AdamW** applies weight decay directly to the weights, decoupled from Adam's normalisation.
# - Measured: optimizer state is 0x, 1x or 2x the parameter memory, so Adam training holds four copies
#   of the model; the step itself is cheap element-wise work that scales linearly with the parameters.
#
# ## Reflection questions
#
# 1. Why must `step()` modify `p.data` in place instead of assigning `p.data = p.data - lr * g`? (Hint:
#    what else might hold a reference to the same array: think about views and checkpoints.)
# 2. Adam's first step moves every parameter by about `lr`. Why can that be a problem for a freshly
#    initialised large model, and how does learning-rate warm-up help?
# 3. Your model has 1 billion float32 parameters. How much memory do the parameters, gradients and
#    AdamW state need together? What could you store in 16-bit, and what would you risk?
# 4. With momentum 0.9 the velocity approaches $g / (1 - 0.9) = 10g$ for a constant gradient. What does
#    that imply about the learning rate you should use with momentum compared with plain SGD?
# 5. Should biases and normalisation parameters be weight-decayed? What does decaying a bias towards
#    zero mean for the function the network computes?
