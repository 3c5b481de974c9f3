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
#     title: Layers
#     summary: Build the Module base class that finds every parameter of a nested model, plus Linear, Sequential and Dropout, and measure what layers cost in memory and time.
#     tier: foundation
#     minutes: 120
#     prerequisites: [01_tensor, 02_activations]
#     objectives:
#       - Write a Module base class that discovers parameters in nested modules, lists and tuples, with stable names
#       - Switch a whole model between training and evaluation mode
#       - Initialise Linear layers with He or Xavier scaling and explain why the scale matters
#       - Compose layers with Sequential and regularise them with inverted Dropout
#       - Count parameters, bytes and FLOPs of a network and measure how layer time grows with width
#     exports: [Module, Linear, Sequential, Dropout]
#     milestone: null
# ---

# %% [markdown]
# # Module 03: Layers
#
# With tensors (module 01) and activations (module 02) we could already write a neural network as a
# pile of arrays and formulas:
#
# ```python
# h = relu(x @ W1 + b1)
# y = h @ W2 + b2
# ```
#
# That works for two layers. It does not work for a transformer with hundreds of weight matrices:
# someone has to hand *every one of them* to the optimizer, switch dropout off at test time in every
# layer, save them all to disk under names that still match when loading. Real frameworks solve this
# with one idea: a **module** is an object that owns its parameters and its sub-modules, and can list
# all of them, recursively.
#
# **What you will build** (in `tinytorch.core.layers`)
#
# | piece | role |
# |---|---|
# | `Module` | base class: `forward`, `__call__`, `parameters()`, `named_parameters()`, `train()`/`eval()`, `num_parameters()` |
# | `Linear(in, out)` | `x @ weight + bias` with a carefully chosen random start (He or Xavier) |
# | `Sequential(*layers)` | run layers one after the other |
# | `Dropout(p)` | randomly silence units during training, do nothing at evaluation |
#
# **Why this matters in a real framework.** `model.parameters()` is how every optimizer (module 06)
# finds what to update, `named_parameters()` is how checkpoints (module 07) are stored, and
# `model.eval()` is what makes a trained model deterministic. All of it rests on the discovery walk
# you write first.

# %%
#| default_exp core.layers

# %%
#| export
import numpy as np

from tinytorch.core.tensor import Tensor

# %%
#| hide
import time

from tinytorch.core.activations import ReLU, Tanh, Sigmoid

np.set_printoptions(precision=4, suppress=True)

# %% [markdown]
# ## 1. The idea: a model is a tree
#
# A model built from modules is a tree. Leaves are parameter Tensors; inner nodes are modules, found
# in the attributes of their parent (directly, or inside a list or tuple). Each parameter's **name**
# is its path from the root:
#
# ```
#   Sequential                                  named_parameters()
#   └── layers (a list)                         ------------------------------
#       ├── 0: Linear(4, 8)                     layers.0.weight   (4, 8)   32
#       │      ├── weight  Tensor (4, 8)        layers.0.bias     (8,)      8
#       │      └── bias    Tensor (8,)          layers.2.weight   (8, 3)   24
#       ├── 1: ReLU()        (no parameters)    layers.2.bias     (3,)      3
#       └── 2: Linear(8, 3)                                               ----
#              ├── weight  Tensor (8, 3)                          total    67
#              └── bias    Tensor (3,)
# ```
#
# **What counts as a parameter?** A Tensor that (a) has `requires_grad=True`, so the optimizer should
# change it, and (b) is a *leaf*: it was created directly, not computed by an operation (its
# `_grad_fn` is None). Rule (b) matters once autograd is on (module 05): a module that caches an
# intermediate result, say `self.last_output = x @ self.weight`, holds a Tensor that requires grad
# but is *not* something to train.
#
# Two more rules keep the list useful:
#
# - **Stable order:** attributes are visited in the order they were assigned (Python dicts keep
#   insertion order), list items in index order. The same model always lists the same parameters in
#   the same order, which optimizers and checkpoints rely on.
# - **No duplicates:** if two layers share one weight Tensor (weight tying), it must appear once, or
#   the optimizer would update it twice per step. Track the `id()` of everything already listed.
#
# ## 2. The `Module` base class
#
# The walk is a small recursive function. Given one value and its name, it decides:
#
# ```
#   value is a Tensor   -> a parameter?  (requires_grad, leaf, not seen) -> append (name, value)
#   value is a Module   -> not seen yet? -> record it, walk each attribute: name + "." + attribute
#   value is list/tuple -> walk each item: name + "." + index
#   anything else       -> ignore (numbers, strings, activations without parameters, ...)
# ```
#
# The helper `_join` builds names so the root contributes no leading dot.

# %% nbgrader={"grade": false, "grade_id": "module-walk", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def _join(prefix: str, name) -> str:
    """'layers' + 0 -> 'layers.0'; '' + 'weight' -> 'weight'."""
    return f"{prefix}.{name}" if prefix else str(name)


def _walk(value, name: str, params: list, modules: list, seen: set) -> None:
    """Depth-first walk collecting (name, Tensor) parameters and every Module, each only once.

    params:  list of (name, Tensor) to append to
    modules: list of Module objects to append to (each module once, in visiting order)
    seen:    set of id()s of Tensors and Modules already collected

    HINTS:
    - A parameter: isinstance(value, Tensor) and value.requires_grad and
      getattr(value, "_grad_fn", None) is None and id(value) not in seen.
    - A Module: if not seen, add its id, append it to `modules`, then walk
      every (attr, v) in vars(value).items() with name _join(name, attr).
    - A list or tuple: walk every item with name _join(name, index).
    """
    ### BEGIN SOLUTION
    if isinstance(value, Tensor):
        if value.requires_grad and getattr(value, "_grad_fn", None) is None and id(value) not in seen:
            seen.add(id(value))
            params.append((name, value))
    elif isinstance(value, Module):
        if id(value) in seen:
            return
        seen.add(id(value))
        modules.append(value)
        for attr, v in vars(value).items():
            _walk(v, _join(name, attr), params, modules, seen)
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            _walk(v, _join(name, i), params, modules, seen)
    ### END SOLUTION


class Module:
    """Base class of every layer and model.

    Subclasses call super().__init__(), create their parameters as attributes
    (Tensor(..., requires_grad=True)) and implement forward(). Calling the module calls forward.
    """

    training = True          # class default, so subclasses that forget super().__init__() still work

    def __init__(self):
        self.training = True

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must implement forward()")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def _collect(self):
        params, modules = [], []
        _walk(self, "", params, modules, set())
        return params, modules

    def named_parameters(self) -> list:
        """[(name, Tensor), ...] for every parameter in this module and all nested modules."""
        return self._collect()[0]

    def parameters(self) -> list:
        """Every parameter Tensor, in a stable order, without duplicates."""
        return [p for _, p in self.named_parameters()]

    def modules(self) -> list:
        """This module and every nested module, each once, parents before children."""
        return self._collect()[1]

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

# %% mutant={"name": "walk-skips-lists", "target": "module-walk", "replace": "elif isinstance(value, (list, tuple)):\n    for i, v in enumerate(value):\n        _walk(v, _join(name, i), params, modules, seen)", "catches": ["test-module-walk"]}
# Only looks at attributes: layers kept in a list are never found.
pass

# %% mutant={"name": "walk-counts-shared-twice", "target": "module-walk", "replace": " and id(value) not in seen:", "catches": ["test-module-walk"]}
# Forgets the `seen` check for Tensors: a tied weight is listed (and updated) twice.
:

# %% mutant={"name": "walk-lists-intermediates", "target": "module-walk", "replace": " and getattr(value, \"_grad_fn\", None) is None", "catches": ["test-module-walk"]}
# Treats every requires_grad Tensor as a parameter, including cached intermediate results.

# %% mutant={"name": "walk-includes-frozen", "target": "module-walk", "replace": "value.requires_grad and ", "catches": ["test-module-walk"]}
# Ignores requires_grad: frozen buffers become parameters.

# %% [markdown]
# The test builds a small custom model with a nested module, a list of modules, a tuple, a frozen
# Tensor (no `requires_grad`), a cached intermediate result and a weight shared between two layers,
# and checks exactly which parameters are found, under which names and in which order.

# %% nbgrader={"grade": true, "grade_id": "test-module-walk", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
class _Leaf(Module):
    def __init__(self, n, shared=None):
        super().__init__()
        self.w = shared if shared is not None else Tensor(np.ones(n, dtype=np.float32), requires_grad=True)
        self.frozen = Tensor(np.zeros(n, dtype=np.float32))          # requires_grad=False: not a parameter
        self.label = "leaf"                                          # not a Tensor: ignored


class _Tree(Module):
    def __init__(self):
        super().__init__()
        self.scale = Tensor([2.0], requires_grad=True)
        self.first = _Leaf(3)
        self.blocks = [_Leaf(2), _Leaf(4)]
        self.pair = (_Leaf(1), Tensor([5.0], requires_grad=True))
        self.tied = _Leaf(3, shared=self.first.w)                    # same Tensor as first.w


def test_module_walk():
    """parameters()/named_parameters() find nested params in attributes, lists and tuples, once each."""
    tree = _Tree()
    names = [n for n, _ in tree.named_parameters()]
    expected = ["scale", "first.w", "blocks.0.w", "blocks.1.w", "pair.0.w", "pair.1"]
    assert names == expected, f"expected names {expected} (attribute order, shared weight once), got {names}"
    params = tree.parameters()
    assert isinstance(params, list) and len(params) == 6, f"parameters() should return a list of 6 Tensors, got {params!r}"
    assert params[1] is tree.first.w and params[1] is tree.tied.w, "parameters must be the very same Tensor objects"
    assert all(p.requires_grad for p in params), "only Tensors with requires_grad=True are parameters"
    assert [type(m).__name__ for m in tree.modules()] == ["_Tree", "_Leaf", "_Leaf", "_Leaf", "_Leaf", "_Leaf"], \
        "modules() lists the root first, then each nested module once"
    # an intermediate result (computed, not a leaf) must never be listed
    cached = Tensor([1.0], requires_grad=True)
    cached._grad_fn = object()
    tree.first.cache = cached
    assert [n for n, _ in tree.named_parameters()] == expected, "a Tensor with a _grad_fn is an intermediate, not a parameter"
    print("Module parameter discovery: OK")
    for n, p in tree.named_parameters():
        print(f"  {n:12s} {p.shape}")

test_module_walk()
### BEGIN HIDDEN TESTS
class _Cycle(Module):
    def __init__(self):
        super().__init__()
        self.w = Tensor([1.0], requires_grad=True)
        self.me = self                                             # a reference cycle must not recurse forever
_c = _Cycle()
assert [n for n, _ in _c.named_parameters()] == ["w"], "cycles and self references are walked once"
assert Module().parameters() == [], "an empty module has no parameters"
### END HIDDEN TESTS

# %% [markdown]
# ### Training and evaluation mode
#
# Some layers behave differently while learning and while being used: `Dropout` (section 5) drops
# units only during training; the batch normalisation of later courses uses batch statistics only
# during training. Every module carries a `training` flag, and `model.train()` / `model.eval()` must
# set it on **every** module in the tree, otherwise one forgotten layer keeps dropping units at test
# time. `modules()` already gives you the whole tree.
#
# Both methods return the module itself, so you can write `model = Net().eval()`.

# %% nbgrader={"grade": false, "grade_id": "module-train-eval", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def _train(self, mode: bool = True):
    """Set `training = mode` on this module and every nested module; return self."""
    ### BEGIN SOLUTION
    for m in self.modules():
        m.training = bool(mode)
    return self
    ### END SOLUTION


def _eval(self):
    """Evaluation mode: the same as train(False)."""
    return self.train(False)


Module.train = _train
Module.eval = _eval

# %% mutant={"name": "train-sets-only-self", "target": "module-train-eval", "catches": ["test-train-eval"]}
# Flips the flag on the top module only; nested Dropout layers stay in training mode.
self.training = bool(mode)
return self

# %% mutant={"name": "train-returns-none", "target": "module-train-eval", "catches": ["test-train-eval"]}
# Forgets to return the module, so `model = model.eval()` sets the model to None.
for m in self.modules():
    m.training = bool(mode)

# %% [markdown]
# (Defining the methods as functions and attaching them to the class lets this notebook introduce
# `Module` one idea at a time; the exported package gets exactly the same class.)
#
# The test flips a nested model between modes and checks every module, including ones inside lists.

# %% nbgrader={"grade": true, "grade_id": "test-train-eval", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
def test_train_eval():
    """train()/eval() reach every nested module and return the module."""
    tree = _Tree()
    assert tree.training and tree.blocks[1].training, "modules start in training mode"
    out = tree.eval()
    assert out is tree, "eval() must return the module itself"
    states = [m.training for m in tree.modules()]
    assert states == [False] * 6, f"eval() must switch every module off training mode, got {states}"
    assert tree.train() is tree and all(m.training for m in tree.modules()), "train() switches them all back"
    tree.train(False)
    assert not tree.pair[0].training, "train(False) behaves like eval()"
    print("train()/eval(): OK")

test_train_eval()

# %% [markdown]
# ## 3. `Linear`: the workhorse, and how to start it
#
# A linear (fully connected) layer maps `in_features` numbers to `out_features` numbers:
#
# $$y = x W + b, \qquad x: (N, \text{in}),\ W: (\text{in}, \text{out}),\ b: (\text{out},),\ y: (N, \text{out})$$
#
# Storing $W$ as `(in, out)` means a batch of row vectors is multiplied as `x @ W`, no transpose
# needed, and the bias broadcasts over the batch.
#
# ### Why the starting values matter
#
# The weights must start random (if every weight were equal, every output unit would compute the same
# thing and receive the same gradient forever). But *how large*? Look at one output of a layer whose
# inputs $x_i$ are independent with mean 0 and weights $w_i$ have mean 0 and variance $\sigma^2$:
#
# $$\operatorname{Var}(y) = \sum_{i=1}^{\text{fan\_in}} \operatorname{Var}(w_i x_i) = \text{fan\_in} \cdot \sigma^2 \cdot \operatorname{E}[x^2]$$
#
# Each layer multiplies the signal's size by $\text{fan\_in} \cdot \sigma^2$. Over 20 layers, a factor
# of 2 becomes a million, a factor of 0.5 becomes one in a million: the signal explodes or vanishes,
# and so do the gradients. So choose $\sigma^2$ to make the factor 1:
#
# | init | variance of $W$ | keeps the size of... | pair it with |
# |---|---|---|---|
# | **He** (Kaiming) | $2 / \text{fan\_in}$ | the forward signal, when half of it is zeroed by ReLU ($\operatorname{E}[\text{relu}(z)^2] = \operatorname{Var}(z)/2$, hence the 2) | ReLU, GELU |
# | **Xavier** (Glorot) | $2 / (\text{fan\_in} + \text{fan\_out})$ | a compromise between the forward signal (wants $1/\text{fan\_in}$) and the backward gradient (wants $1/\text{fan\_out}$) | Tanh, Sigmoid |
#
# We draw He weights from a normal distribution with standard deviation $\sqrt{2/\text{fan\_in}}$, and
# Xavier weights from a uniform distribution on $[-a, a]$ with $a = \sqrt{6/(\text{fan\_in} + \text{fan\_out})}$
# (a uniform on $[-a, a]$ has variance $a^2/3$, which gives exactly the Xavier variance).
#
# `Linear` uses **He by default**, because most hidden layers in this course (MLPs, CNNs,
# transformer feed-forward blocks) are followed by ReLU or GELU; pass `init="xavier"` for tanh or
# sigmoid networks. Section 6 measures both. Biases start at zero: the random weights already break
# the symmetry.
#
# For reproducibility, `rng` may be a `np.random.Generator` or an integer seed. With `rng=None` the
# weights come from NumPy's global generator, so `np.random.seed(0)` before building a model makes it
# reproducible too.

# %% nbgrader={"grade": false, "grade_id": "init-weight", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def _as_rng(rng):
    """None -> NumPy's global generator (np.random); an int -> a new seeded Generator; a Generator -> itself."""
    if rng is None:
        return np.random
    if isinstance(rng, (int, np.integer)):
        return np.random.default_rng(int(rng))
    return rng


def init_weight(fan_in: int, fan_out: int, init: str = "he", rng=None) -> np.ndarray:
    """A float32 array of shape (fan_in, fan_out) with He or Xavier scaling.

    init="he":     normal, mean 0, std sqrt(2 / fan_in)
    init="xavier": uniform on [-a, a], a = sqrt(6 / (fan_in + fan_out))

    EXAMPLE: init_weight(1000, 10, "he", rng=0).std() is close to sqrt(2 / 1000) = 0.0447
    HINT: gen = _as_rng(rng) has .normal(loc, scale, size) and .uniform(low, high, size).
    """
    if init not in ("he", "xavier"):
        raise ValueError(f"unknown init {init!r}: use 'he' or 'xavier'")
    gen = _as_rng(rng)
    size = (fan_in, fan_out)
    ### BEGIN SOLUTION
    if init == "he":
        w = gen.normal(0.0, np.sqrt(2.0 / fan_in), size)
    else:
        a = np.sqrt(6.0 / (fan_in + fan_out))
        w = gen.uniform(-a, a, size)
    ### END SOLUTION
    return np.asarray(w, dtype=np.float32)

# %% mutant={"name": "he-variance-as-std", "target": "init-weight", "replace": "np.sqrt(2.0 / fan_in)", "catches": ["test-init-weight"]}
# Passes the variance 2/fan_in where NumPy expects the standard deviation.
2.0 / fan_in

# %% mutant={"name": "he-uses-fan-out", "target": "init-weight", "replace": "np.sqrt(2.0 / fan_in)", "catches": ["test-init-weight"]}
# Scales by the number of outputs instead of inputs.
np.sqrt(2.0 / fan_out)

# %% mutant={"name": "xavier-normal", "target": "init-weight", "replace": "gen.uniform(-a, a, size)", "catches": ["test-init-weight"]}
# Draws Xavier weights from a normal with std a: unbounded and three times too wide.
gen.normal(0.0, a, size)

# %% [markdown]
# The test draws large weight matrices and checks their dtype, shape, mean and spread, the Xavier
# bounds, and that a seed makes the draw reproducible.

# %% nbgrader={"grade": true, "grade_id": "test-init-weight", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
def test_init_weight():
    """He and Xavier weights have the right dtype, scale and bounds; seeds reproduce them."""
    he = init_weight(500, 400, "he", rng=0)
    assert he.shape == (500, 400) and he.dtype == np.float32, f"expected float32 (500, 400), got {he.dtype} {he.shape}"
    assert abs(he.mean()) < 0.002, f"He weights should have mean ~0, got {he.mean():.4f}"
    assert abs(he.std() - np.sqrt(2 / 500)) < 0.002, f"He std should be sqrt(2/500)={np.sqrt(2/500):.4f}, got {he.std():.4f}"
    xa = init_weight(500, 400, "xavier", rng=1)
    a = np.sqrt(6 / 900)
    assert np.abs(xa).max() <= a + 1e-6, f"Xavier weights must lie in [-{a:.4f}, {a:.4f}]"
    assert abs(xa.var() - 2 / 900) < 2e-4, f"Xavier variance should be 2/(in+out)={2/900:.5f}, got {xa.var():.5f}"
    assert np.array_equal(init_weight(3, 2, rng=7), init_weight(3, 2, rng=7)), "the same seed must give the same weights"
    g = np.random.default_rng(3)
    assert not np.array_equal(init_weight(3, 2, rng=g), init_weight(3, 2, rng=g)), "a Generator advances between draws"
    print("init_weight: OK")

test_init_weight()

# %% [markdown]
# Now the layer itself. The constructor is given; you write `forward`, using **Tensor operations**
# (`@` and `+`), not NumPy on `.data`. That is what lets module 05's autograd follow the computation
# back to `weight` and `bias` without any change to this class.

# %% nbgrader={"grade": false, "grade_id": "linear", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class Linear(Module):
    """Fully connected layer: y = x @ weight + bias, weight (in_features, out_features), bias (out_features,)."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True, init: str = "he", rng=None):
        super().__init__()
        if in_features <= 0 or out_features <= 0:
            raise ValueError(f"Linear needs positive sizes, got in_features={in_features}, out_features={out_features}")
        self.in_features, self.out_features = in_features, out_features
        self.weight = Tensor(init_weight(in_features, out_features, init, rng), requires_grad=True)
        self.bias = Tensor(np.zeros(out_features, dtype=np.float32), requires_grad=True) if bias else None

    def forward(self, x: Tensor) -> Tensor:
        """x (..., in_features) -> (..., out_features).

        EXAMPLE: weight [[1, 2], [3, 4]], bias [10, 20], x [[1, 1]] -> [[14, 26]]
        HINT: one line with Tensor ops; skip the bias when self.bias is None.
        """
        if not isinstance(x, Tensor):
            x = Tensor(x)
        if x.shape[-1] != self.in_features:
            raise ValueError(f"{self!r} expects inputs with last dimension {self.in_features}, got shape {x.shape}")
        ### BEGIN SOLUTION
        out = x @ self.weight
        if self.bias is not None:
            out = out + self.bias
        return out
        ### END SOLUTION

    def __repr__(self) -> str:
        return f"Linear(in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None})"

# %% mutant={"name": "linear-bias-always", "target": "linear", "catches": ["test-linear"]}
# Adds the bias without checking that there is one.
return x @ self.weight + self.bias

# %% mutant={"name": "linear-weight-transposed", "target": "linear", "replace": "x @ self.weight", "catches": ["test-linear"]}
# Uses the PyTorch (out, in) convention on a weight stored (in, out).
x @ self.weight.T

# %% [markdown]
# The test checks the worked example, batch shapes, the no-bias variant, the parameters and their
# names, `requires_grad`, and the error message for a wrong input width.

# %% nbgrader={"grade": true, "grade_id": "test-linear", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
def test_linear():
    """Linear computes x @ W + b, registers two parameters and rejects wrong input widths."""
    layer = Linear(2, 2, rng=0)
    layer.weight.data[...] = [[1, 2], [3, 4]]
    layer.bias.data[...] = [10, 20]
    out = layer(Tensor([[1.0, 1.0]]))
    assert isinstance(out, Tensor) and np.allclose(out.data, [[14, 26]]), f"[[1,1]] @ [[1,2],[3,4]] + [10,20] = [[14,26]], got {out}"
    big = Linear(5, 3, rng=1)
    x = np.random.default_rng(2).standard_normal((7, 5)).astype(np.float32)
    y = big(Tensor(x))
    assert y.shape == (7, 3), f"(7, 5) through Linear(5, 3) should give (7, 3), got {y.shape}"
    assert np.allclose(y.data, x @ big.weight.data + big.bias.data, atol=1e-5), "forward must equal x @ weight + bias"
    names = [n for n, _ in big.named_parameters()]
    assert names == ["weight", "bias"], f"Linear's parameters should be named ['weight', 'bias'], got {names}"
    assert big.weight.requires_grad and big.bias.requires_grad, "weight and bias must have requires_grad=True"
    assert big.weight.shape == (5, 3) and big.bias.shape == (3,), "weight is (in, out), bias is (out,)"
    nb = Linear(5, 3, bias=False, rng=1)
    assert nb.bias is None and len(nb.parameters()) == 1, "bias=False means no bias parameter"
    assert np.allclose(nb(Tensor(x)).data, x @ nb.weight.data, atol=1e-5), "without bias: x @ weight"
    try:
        big(Tensor(np.ones((2, 4), dtype=np.float32)))
        raise AssertionError("a (2, 4) input to Linear(5, 3) must raise ValueError")
    except ValueError as e:
        assert "5" in str(e) and "4" in str(e), f"the error should name the expected and actual widths: {e}"
    print("Linear: OK")

test_linear()
### BEGIN HIDDEN TESTS
_l3 = Linear(4, 2, rng=5)
_x3 = np.random.default_rng(6).standard_normal((2, 3, 4)).astype(np.float32)
assert _l3(Tensor(_x3)).shape == (2, 3, 2), "Linear acts on the last axis of a 3-D input"
assert np.allclose(Linear(3, 2, init="xavier", rng=4).weight.data, init_weight(3, 2, "xavier", rng=4)), "init and rng are passed on"
### END HIDDEN TESTS

# %% [markdown]
# ## 4. `Sequential`: layers in a row
#
# Most models start as a chain: the output of one layer is the input of the next.
# `Sequential(Linear(4, 8), ReLU(), Linear(8, 3))` stores its layers in the list `self.layers`, so the
# discovery walk finds their parameters as `layers.0.weight`, `layers.0.bias`, `layers.2.weight`...
# Activations from module 02 fit right in: they are callable and have no parameters.

# %% nbgrader={"grade": false, "grade_id": "sequential", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class Sequential(Module):
    """Apply layers in order: Sequential(a, b, c)(x) == c(b(a(x)))."""

    def __init__(self, *layers):
        super().__init__()
        if len(layers) == 1 and isinstance(layers[0], (list, tuple)):
            layers = tuple(layers[0])                  # also accept Sequential([a, b, c])
        for i, layer in enumerate(layers):
            if not callable(layer):
                raise TypeError(f"layer {i} of Sequential is a {type(layer).__name__}, which is not callable")
        self.layers = list(layers)

    def forward(self, x):
        """Feed x through every layer in turn and return the last output.

        EXAMPLE: Sequential(Linear(2, 3), ReLU())(x) == ReLU()(Linear(2, 3)(x))
        """
        ### BEGIN SOLUTION
        for layer in self.layers:
            x = layer(x)
        return x
        ### END SOLUTION

    def __getitem__(self, i):
        return self.layers[i]

    def __len__(self) -> int:
        return len(self.layers)

    def __iter__(self):
        return iter(self.layers)

    def __repr__(self) -> str:
        body = "".join(f"\n  ({i}): {layer!r}" for i, layer in enumerate(self.layers))
        return f"Sequential({body}\n)"

# %% mutant={"name": "sequential-reversed", "target": "sequential", "catches": ["test-sequential"]}
# Applies the layers last to first.
for layer in reversed(self.layers):
    x = layer(x)
return x

# %% mutant={"name": "sequential-returns-input", "target": "sequential", "catches": ["test-sequential"]}
# Calls every layer but returns the original input.
out = x
for layer in self.layers:
    out = layer(x)
return out

# %% [markdown]
# The test compares a Sequential with the same layers applied by hand, and checks the parameter
# names (activations contribute none) and indexing.

# %% nbgrader={"grade": true, "grade_id": "test-sequential", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
def test_sequential():
    """Sequential chains its layers and exposes their parameters with indexed names."""
    a, b = Linear(4, 8, rng=0), Linear(8, 3, init="xavier", rng=1)
    model = Sequential(a, ReLU(), b, Sigmoid())
    x = Tensor(np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32))
    expected = Sigmoid()(b(ReLU()(a(x))))
    out = model(x)
    assert out.shape == (5, 3), f"expected output (5, 3), got {out.shape}"
    assert np.allclose(out.data, expected.data, atol=1e-6), "Sequential must apply the layers in order"
    names = [n for n, _ in model.named_parameters()]
    assert names == ["layers.0.weight", "layers.0.bias", "layers.2.weight", "layers.2.bias"], f"got names {names}"
    assert model[2] is b and len(model) == 4, "indexing and len() give the stored layers"
    assert np.allclose(Sequential()(x).data, x.data), "an empty Sequential is the identity"
    print(model)
    print("Sequential: OK")

test_sequential()

# %% [markdown]
# ## 5. `Dropout`: training with missing pieces
#
# A large network can memorise its training set: individual units learn to rely on very specific
# partners. **Dropout** breaks these conspiracies. During training, each element of the input is
# independently set to zero with probability `p`; the network must learn features that still work
# when any of them might be missing. At evaluation, nothing is dropped.
#
# There is a catch: if 50% of the units are silenced during training, the next layer sees inputs
# about half as large as at evaluation. **Inverted dropout** fixes that during training, by scaling
# the survivors by $1/(1-p)$, so the *expected* value of every element is unchanged and evaluation
# needs no correction at all:
#
# ```
#   p = 0.5, x    = [ 1.0,  2.0,  3.0,  4.0]
#   keep mask     = [   1,    0,    1,    0]      (each entry kept with probability 1 - p)
#   mask / (1-p)  = [ 2.0,  0.0,  2.0,  0.0]
#   output        = [ 2.0,  0.0,  6.0,  0.0]      E[output] = x, element by element
# ```
#
# Build the scaled mask as a NumPy array (with the input's dtype) and multiply with a **Tensor
# operation**, `x * Tensor(mask)`. Then autograd (module 05) sends gradients through exactly the kept
# units, scaled the same way, without any special code.

# %% nbgrader={"grade": false, "grade_id": "dropout", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class Dropout(Module):
    """Inverted dropout: in training, zero each element with probability p and scale survivors by 1/(1-p)."""

    def __init__(self, p: float = 0.5, rng=None):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability must be in [0, 1], got {p}")
        self.p = float(p)
        self.rng = np.random.default_rng(int(rng)) if isinstance(rng, (int, np.integer)) else rng

    def forward(self, x: Tensor) -> Tensor:
        """Training: x * mask with mask = (keep ? 1/(1-p) : 0). Evaluation (or p == 0): x unchanged.

        HINTS:
        - gen = _as_rng(self.rng) is NumPy's global generator when rng is None
        - keep = gen.random(x.shape) >= self.p    (True with probability 1 - p)
        - with p == 1 every element is dropped: use a scale of 0 instead of dividing by zero
        - mask = keep.astype(x.data.dtype) * scale; return x * Tensor(mask)
        """
        if not isinstance(x, Tensor):
            x = Tensor(x)
        if not self.training or self.p == 0.0:
            return x
        ### BEGIN SOLUTION
        keep = _as_rng(self.rng).random(x.shape) >= self.p
        scale = 1.0 / (1.0 - self.p) if self.p < 1.0 else 0.0
        mask = keep.astype(x.data.dtype) * scale
        return x * Tensor(mask)
        ### END SOLUTION

    def __repr__(self) -> str:
        return f"Dropout(p={self.p})"

# %% mutant={"name": "dropout-no-rescale", "target": "dropout", "replace": "1.0 / (1.0 - self.p) if self.p < 1.0 else 0.0", "catches": ["test-dropout"]}
# Drops without rescaling: the expected activation shrinks by (1 - p) in training only.
1.0

# %% mutant={"name": "dropout-keeps-with-prob-p", "target": "dropout", "replace": ">= self.p", "catches": ["test-dropout"]}
# Keeps each element with probability p instead of dropping it with probability p.
< self.p

# %% mutant={"name": "dropout-ignores-seed", "target": "dropout", "replace": "_as_rng(self.rng).random(x.shape)", "catches": ["test-dropout"]}
# Always draws from NumPy's global generator: the rng argument does nothing.
np.random.random(x.shape)

# %% mutant={"name": "dropout-divides-by-zero", "target": "dropout", "replace": "1.0 / (1.0 - self.p) if self.p < 1.0 else 0.0", "catches": ["test-dropout"]}
# Divides by 1 - p even when p is 1.
1.0 / (1.0 - self.p)

# %% [markdown]
# The test checks the fraction of dropped entries, the scale of the survivors, that the mean is
# preserved, that evaluation mode is the identity, and that a seeded generator is reproducible.

# %% nbgrader={"grade": true, "grade_id": "test-dropout", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
def test_dropout():
    """Inverted dropout: drop rate p, survivors scaled by 1/(1-p), identity in eval mode."""
    x = Tensor(np.ones((200, 500), dtype=np.float32))
    drop = Dropout(0.3, rng=0)
    y = drop(x)
    assert isinstance(y, Tensor) and y.shape == x.shape, "Dropout returns a Tensor of the input's shape"
    assert y.data.dtype == np.float32, f"the mask must not change the dtype, got {y.data.dtype}"
    zero_frac = float((y.data == 0).mean())
    assert abs(zero_frac - 0.3) < 0.01, f"about 30% of the entries should be zero, got {zero_frac:.3f}"
    kept = y.data[y.data != 0]
    assert np.allclose(kept, 1 / 0.7), f"survivors must be scaled by 1/(1-p) = {1/0.7:.4f}, got {np.unique(kept)[:3]}"
    assert abs(float(y.data.mean()) - 1.0) < 0.02, f"inverted dropout keeps the mean at 1, got {y.data.mean():.3f}"
    assert np.allclose(x.data, 1.0), "Dropout must not modify its input"
    drop.eval()
    assert np.array_equal(drop(x).data, x.data), "in eval mode Dropout is the identity"
    assert np.array_equal(Dropout(0.0)(x).data, x.data), "p = 0 drops nothing"
    a, b = Dropout(0.5, rng=42)(x), Dropout(0.5, rng=42)(x)
    assert np.array_equal(a.data, b.data), "the same seed must give the same mask"
    print("Dropout: OK")

test_dropout()
### BEGIN HIDDEN TESTS
assert np.allclose(Dropout(1.0, rng=0)(Tensor(np.ones(10, dtype=np.float32))).data, 0), "p = 1 drops everything, no nan"
for _bad in (-0.1, 1.5):
    try:
        Dropout(_bad)
        raise AssertionError(f"Dropout({_bad}) must raise ValueError")
    except ValueError:
        pass
_m = Sequential(Linear(3, 3, rng=0), Dropout(0.5, rng=1)).eval()
assert not _m[1].training, "Sequential.eval() must reach Dropout inside the layer list"
### END HIDDEN TESTS

# %% [markdown]
# ## 6. Counting parameters and their memory
#
# How big is a model? Two numbers answer that: the **number of parameters** (the sum of the sizes of
# all parameter Tensors) and the **bytes** they occupy (each float32 takes 4 bytes). Both come
# straight from `parameters()`.

# %% nbgrader={"grade": false, "grade_id": "counting", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def _num_parameters(self) -> int:
    """Total number of scalar values in all parameters (a (4, 8) weight counts 32)."""
    ### BEGIN SOLUTION
    return int(sum(p.data.size for p in self.parameters()))
    ### END SOLUTION


def _parameter_nbytes(self) -> int:
    """Total bytes of all parameter arrays (float32: 4 bytes per value)."""
    ### BEGIN SOLUTION
    return int(sum(p.data.nbytes for p in self.parameters()))
    ### END SOLUTION


Module.num_parameters = _num_parameters
Module.parameter_nbytes = _parameter_nbytes

# %% mutant={"name": "count-tensors-not-values", "target": "counting", "region": 0, "catches": ["test-counting"]}
# Counts parameter Tensors instead of the numbers inside them.
return len(self.parameters())

# %% mutant={"name": "nbytes-assumes-float64", "target": "counting", "region": 1, "catches": ["test-counting"]}
# Assumes 8 bytes per value.
return int(sum(p.data.size * 8 for p in self.parameters()))

# %% [markdown]
# The test counts the model from the diagram in section 1 (67 parameters) and a shared-weight model,
# where the shared Tensor must be counted once.

# %% nbgrader={"grade": true, "grade_id": "test-counting", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
def test_counting():
    """num_parameters() and parameter_nbytes() add up every parameter once."""
    model = Sequential(Linear(4, 8), ReLU(), Linear(8, 3))
    assert model.num_parameters() == 67, f"4*8 + 8 + 8*3 + 3 = 67, got {model.num_parameters()}"
    assert model.parameter_nbytes() == 67 * 4, f"67 float32 values take 268 bytes, got {model.parameter_nbytes()}"
    tree = _Tree()
    assert tree.num_parameters() == 1 + 3 + 2 + 4 + 1 + 1, f"the shared weight counts once: expected 12, got {tree.num_parameters()}"
    assert Linear(10, 10, bias=False).num_parameters() == 100
    print("counting: OK")

test_counting()

# %% [markdown]
# ## 7. Systems analysis
#
# ### 7.1 Parameters, memory and FLOPs of an MLP
#
# For a `Linear(in, out)` layer and a batch of $N$ inputs, `x @ W` performs $N \cdot \text{in} \cdot \text{out}$
# multiply-adds, i.e. $2 N \cdot \text{in} \cdot \text{out}$ floating-point operations (FLOPs); the bias
# adds $N \cdot \text{out}$ more. The table counts a 3-layer MLP (784 inputs, like MNIST images, and
# 10 classes) at growing hidden widths.

# %%
def mlp(width, depth=3, n_in=784, n_out=10):
    sizes = [n_in] + [width] * (depth - 1) + [n_out]
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(Linear(a, b, rng=i))
        if i < len(sizes) - 2:
            layers.append(ReLU())
    return Sequential(*layers)


def forward_flops(model, batch=1):
    return sum(2 * batch * l.in_features * l.out_features + batch * l.out_features
               for l in model.layers if isinstance(l, Linear))


print(f"{'width':>6} | {'parameters':>11} | {'memory (MiB)':>12} | {'MFLOPs / sample':>15} | {'FLOPs per parameter':>19}")
for width in (64, 256, 1024, 2048):
    m = mlp(width)
    n, mib, fl = m.num_parameters(), m.parameter_nbytes() / 2**20, forward_flops(m)
    print(f"{width:>6} | {n:>11,d} | {mib:>12.2f} | {fl / 1e6:>15.2f} | {fl / n:>19.2f}")

# %% [markdown]
# Doubling the width roughly quadruples the parameters of the middle layer (it is width x width),
# and the forward pass costs about **2 FLOPs per parameter per sample**: every weight is used once in
# a multiply-add. That ratio is a handy rule of thumb for any network made mostly of `Linear` layers.
#
# ### 7.2 How fast is a layer? Time versus width
#
# We time one `Linear(n, n)` forward pass on a batch of 64 inputs and convert the time into achieved
# GFLOP/s (billions of FLOPs per second).

# %%
def median_time(fn, repeats=5):
    fn()
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return float(np.median(ts))


batch = 64
print(f"{'n':>6} | {'params':>10} | {'time (ms)':>9} | {'GFLOP/s':>8}")
gflops = {}
for n in (32, 128, 512, 1024):
    layer = Linear(n, n, rng=0)
    xb = Tensor(np.random.default_rng(0).standard_normal((batch, n)).astype(np.float32))
    t = median_time(lambda: layer(xb))
    gflops[n] = (2 * batch * n * n + batch * n) / t / 1e9
    print(f"{n:>6} | {layer.num_parameters():>10,d} | {t * 1e3:>9.3f} | {gflops[n]:>8.2f}")
print(f"\nthe largest layer runs {gflops[1024] / gflops[32]:.0f}x more FLOPs per second than the smallest")

# %% [markdown]
# Small layers are dominated by fixed overheads (Python calls, creating Tensors, launching the
# matrix multiply), so they achieve only a fraction of the speed the large ones reach (the ratio is
# printed above). Large layers keep the
# optimised BLAS matrix multiply busy and reach many GFLOP/s. This is why deep-learning workloads
# prefer wide layers and big batches: the same arithmetic gets done far more efficiently.
#
# ### 7.3 Why initialisation matters: 20 layers deep
#
# Finally the experiment behind section 3. We push a batch through 20 layers of width 256, each
# followed by an activation, and print the standard deviation of the signal after layers 1, 5, 10
# and 20, for several choices of weight scale.

# %%
def signal_through(depth, width, init_fn, act, batch=256, seed=0):
    rng = np.random.default_rng(seed)
    h = Tensor(rng.standard_normal((batch, width)).astype(np.float32))
    stds = []
    for _ in range(depth):
        layer = Linear(width, width, rng=rng)
        layer.weight.data[...] = init_fn(rng, width)
        h = act(layer(h))
        stds.append(float(h.data.std()))
    return stds


inits = {
    "std 0.01 (too small)": lambda r, n: r.normal(0, 0.01, (n, n)),
    "std 1 (too large)": lambda r, n: r.normal(0, 1.0, (n, n)),
    "Xavier": lambda r, n: init_weight(n, n, "xavier", r),
    "He": lambda r, n: init_weight(n, n, "he", r),
}
with np.errstate(over="ignore", invalid="ignore"):          # the "too large" ReLU run overflows on purpose
    for act_name, act in (("ReLU", ReLU()), ("Tanh", Tanh())):
        print(f"after {act_name}:  {'init':>22} | " + " | ".join(f"layer {k:>2}" for k in (1, 5, 10, 20)))
        for name, fn in inits.items():
            stds = signal_through(20, 256, fn, act)
            print(f"{'':>15}{name:>22} | " + " | ".join(f"{stds[k - 1]:>8.2e}" for k in (1, 5, 10, 20)))

# %% [markdown]
# Read the table row by row. With a fixed small scale the signal shrinks by a constant factor per
# layer until it is numerically nothing; with standard deviation 1 a ReLU network explodes until
# float32 overflows to `inf`, and a tanh network saturates at $\pm1$, where its slope (and therefore
# its gradient) is almost zero. He keeps a ReLU network's signal at a steady size through all 20
# layers. Xavier, in a ReLU network, loses a factor of about $\sqrt2$ in every layer (compare layers 1
# and 20): exactly the factor He's "2" puts back. In the tanh network both scaled inits stay in a
# healthy range for 20 layers: Xavier lets the signal shrink slowly (tanh squashes a little at every
# layer), He keeps it roughly steady at the price of pushing more units toward saturation. Gradients
# flow back through the same weights, so they vanish or explode in the same way as the signal: the
# init scale is what makes deep networks trainable at all.
#
# ## Summary
#
# - A `Module` discovers its parameters by walking its attributes, lists and tuples recursively; a
#   parameter is a leaf Tensor with `requires_grad=True`; order is stable and shared Tensors appear once.
# - Names are paths (`layers.0.weight`): the same walk powers `parameters()`, `named_parameters()`,
#   `modules()`, `train()`/`eval()` and parameter counting.
# - `Linear` computes `x @ weight + bias` with Tensor ops, weight `(in, out)`. He initialisation
#   (variance $2/\text{fan\_in}$) suits ReLU-like activations, Xavier ($2/(\text{fan\_in}+\text{fan\_out})$)
#   suits tanh and sigmoid.
# - `Sequential` chains layers; `Dropout` zeros units with probability `p` during training and scales
#   the survivors by $1/(1-p)$, so evaluation is the identity.
# - Measured: an MLP's forward pass costs about 2 FLOPs per parameter per sample, small layers waste
#   most of the machine on overhead, and the wrong init scale makes a 20-layer signal vanish or explode.
#
# ## Reflection questions
#
# 1. Our `parameters()` walks the whole tree on every call. PyTorch instead registers parameters in
#    `__setattr__` when they are assigned. What does each design cost, and what can go wrong with
#    each (think of a parameter stored in a dict, or a list modified after construction)?
# 2. Why is it important that a shared (tied) weight is listed only once? What exactly would an SGD
#    step do to it if it appeared twice?
# 3. A colleague implements dropout without the $1/(1-p)$ scaling and instead multiplies by $(1-p)$ at
#    evaluation. Are the two equivalent in expectation? Which one makes deployment simpler, and why?
# 4. A `Linear(4096, 4096)` layer in float32: how many parameters, how many MiB, and how many FLOPs for
#    a batch of 32? What changes if you store the weights in float16?
# 5. He initialisation assumes the inputs of each layer have mean zero. What happens to the variance
#    argument if a layer's input is the output of a ReLU (always $\ge 0$), and why does it still work
#    well in practice?
