"""Package tests for module 16 (tinytorch.perf.compression)."""
import copy

import numpy as np
import pytest

from tinytorch.core.activations import ReLU, Tanh
from tinytorch.core.autograd import check_gradients
from tinytorch.core.layers import Dropout, Linear, Sequential
from tinytorch.core.tensor import Tensor
from tinytorch.perf.compression import (
    LowRankLinear,
    accuracy,
    apply_masks,
    distill,
    distillation_loss,
    factorize_model,
    linear_weights,
    low_rank_error,
    low_rank_factorize,
    magnitude_masks,
    magnitude_prune,
    predict,
    prune_neurons,
    sparsity,
)


def mlp(sizes, seed=0):
    rng = np.random.default_rng(seed)
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(Linear(a, b, rng=rng))
        if i < len(sizes) - 2:
            layers.append(ReLU())
    return Sequential(*layers)


def softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


# --- sparsity and magnitude pruning -----------------------------------------------------------------

def test_sparsity_of_tensors_arrays_and_models():
    assert sparsity(Tensor([[0.0, 2.0], [0.0, 0.0]])) == 0.75
    assert sparsity(np.array([1e-12, 1.0])) == 0.0
    model = mlp([3, 4, 2])
    model[0].weight.data[0] = 0.0                 # 4 of 12
    model[2].weight.data[:, 1] = 0.0              # 4 of 8
    model[0].bias.data[:] = 0.0                   # biases never count
    assert sparsity(model) == pytest.approx(8 / 20)
    with pytest.raises(ValueError):
        sparsity(Sequential(ReLU()))


def test_linear_weights_names_every_linear_once():
    inner = Linear(2, 2, rng=0)
    model = Sequential(Linear(3, 2, rng=1), ReLU(), Sequential(inner), inner)
    assert [n for n, _ in linear_weights(model)] == ["layers.0.weight", "layers.2.layers.0.weight"]


def test_magnitude_masks_prune_exactly_k_including_ties():
    (m,) = magnitude_masks([np.array([0.9, -0.05, 0.3, -0.6, 0.01, 0.2])], 0.5)
    assert m.tolist() == [True, False, True, True, False, False]
    (t,) = magnitude_masks([np.zeros((4, 5))], 0.35)
    assert int((~t).sum()) == 7
    with pytest.raises(ValueError):
        magnitude_masks([np.ones(3)], 1.5)


def test_global_and_layer_magnitude_pruning():
    model = mlp([8, 16, 16, 4], seed=1)
    model[2].weight.data *= 0.05
    original = copy.deepcopy(model)
    masks = magnitude_prune(model, 0.75, scope="global")
    assert sorted(masks) == ["layers.0.weight", "layers.2.weight", "layers.4.weight"]
    assert all(m.dtype == bool for m in masks.values())
    total = 8 * 16 + 16 * 16 + 16 * 4
    assert sparsity(model) == pytest.approx(round(0.75 * total) / total)
    assert sparsity(model[2].weight) > 0.95, "the down-scaled layer loses the most in a global ranking"
    for (n, w), (_, w0) in zip(linear_weights(model), linear_weights(original)):
        assert np.array_equal(w.data[masks[n]], w0.data[masks[n]])
        assert np.all(w.data[~masks[n]] == 0)
    assert np.array_equal(model[0].bias.data, original[0].bias.data)

    layered = copy.deepcopy(original)
    magnitude_prune(layered, 0.5, scope="layer")
    assert [sparsity(w) for _, w in linear_weights(layered)] == [0.5, 0.5, 0.5]
    with pytest.raises(ValueError):
        magnitude_prune(layered, 0.5, scope="everything")


def test_apply_masks_restores_zeros_after_an_update():
    model = mlp([4, 6, 2], seed=2)
    masks = magnitude_prune(model, 0.6)
    for _, w in linear_weights(model):
        w.data += 1.0                              # what an optimizer step might do
    assert apply_masks(model, masks) is model
    assert sparsity(model) == pytest.approx(round(0.6 * 36) / 36)
    with pytest.raises(KeyError):
        apply_masks(model, {"missing.weight": np.ones((4, 6), bool)})
    with pytest.raises(ValueError):
        apply_masks(model, {"layers.0.weight": np.ones((6, 4), bool)})


# --- structured pruning -----------------------------------------------------------------------------

def test_prune_neurons_builds_a_smaller_equivalent_network():
    model = mlp([6, 10, 8, 3], seed=4)
    weak, weak2 = [2, 3, 9], [0, 5]
    model[0].weight.data[:, weak] *= 1e-3
    model[2].weight.data[:, weak2] *= 1e-3
    small = prune_neurons(model, 0.3)              # round(3.0) = 3 of 10, round(2.4) = 2 of 8
    shapes = [(l.in_features, l.out_features) for l in small.layers if isinstance(l, Linear)]
    assert shapes == [(6, 7), (7, 6), (6, 3)]
    assert small.num_parameters() < model.num_parameters()
    keep = [i for i in range(10) if i not in weak]
    keep2 = [j for j in range(8) if j not in weak2]
    assert np.array_equal(small[0].weight.data, model[0].weight.data[:, keep])
    assert np.array_equal(small[2].weight.data, model[2].weight.data[keep][:, keep2])
    # equal to the original with the removed neurons silenced
    silenced = copy.deepcopy(model)
    for layer, gone in ((silenced[0], weak), (silenced[2], weak2)):
        layer.weight.data[:, gone] = 0.0
        layer.bias.data[gone] = 0.0
    x = Tensor(np.random.default_rng(0).standard_normal((5, 6)).astype(np.float32))
    np.testing.assert_allclose(small(x).data, silenced(x).data, atol=1e-5)


def test_prune_neurons_keeps_outputs_other_layers_and_the_original():
    model = Sequential(Linear(4, 8, rng=0), Tanh(), Dropout(0.2), Linear(8, 5, rng=1))
    before = model[0].weight.data.copy()
    small = prune_neurons(model, 0.5)
    assert [type(l).__name__ for l in small.layers] == ["Linear", "Tanh", "Dropout", "Linear"]
    assert small[0].out_features == 4 and small[3].in_features == 4 and small[3].out_features == 5
    assert small[2] is not model[2]
    small[0].weight.data[...] = 0.0
    assert np.array_equal(model[0].weight.data, before)
    assert prune_neurons(Sequential(Linear(3, 4, rng=0), ReLU(), Linear(4, 2, rng=1)), 0.99)[0].out_features == 1
    with pytest.raises(TypeError):
        prune_neurons(Linear(3, 3), 0.5)
    with pytest.raises(ValueError):
        prune_neurons(model, 1.0)


# --- low rank ---------------------------------------------------------------------------------------

def test_low_rank_factorize_worked_example_and_error():
    layer = Linear(2, 2, rng=0)
    layer.weight.data[...] = [[3.0, 1.0], [1.0, 3.0]]
    f = low_rank_factorize(layer, 1)
    assert isinstance(f, LowRankLinear) and f.U.shape == (2, 1) and f.V.shape == (1, 2)
    np.testing.assert_allclose(f.weight_matrix(), [[2, 2], [2, 2]], atol=1e-5)
    assert low_rank_error(layer, 1) == pytest.approx(np.sqrt(0.2))
    assert low_rank_error(layer.weight, 2) == pytest.approx(0.0, abs=1e-7)


def test_low_rank_matches_the_layer_and_the_predicted_error():
    layer = Linear(20, 9, rng=3)
    layer.bias.data[...] = np.linspace(-1, 1, 9)
    x = Tensor(np.random.default_rng(1).standard_normal((4, 20)).astype(np.float32))
    np.testing.assert_allclose(low_rank_factorize(layer, 9)(x).data, layer(x).data, atol=1e-4)
    for r in (1, 3, 6):
        f = low_rank_factorize(layer, r)
        W = layer.weight.data
        measured = np.linalg.norm(W - f.weight_matrix()) / np.linalg.norm(W)
        assert measured == pytest.approx(low_rank_error(layer, r), abs=1e-5)
        assert f.num_parameters() == r * 29 + 9
        np.testing.assert_allclose(f(x).data, x.data @ f.U.data @ f.V.data + layer.bias.data, atol=1e-4)
    with pytest.raises(ValueError):
        low_rank_factorize(layer, 10)
    with pytest.raises(ValueError):
        LowRankLinear(4, 4, 0)


def test_low_rank_linear_trains_through_autograd():
    f = low_rank_factorize(Linear(5, 4, rng=2), 2)
    x = Tensor(np.random.default_rng(0).standard_normal((3, 5)))
    check_gradients(lambda u, v, b: f(x), f.U, f.V, f.bias)
    assert [n for n, _ in f.named_parameters()] == ["U", "V", "bias"]


def test_factorize_model_only_where_it_saves():
    model = mlp([64, 48, 10], seed=0)
    fact = factorize_model(model, 12)
    assert isinstance(fact[0], LowRankLinear) and fact[0].rank == 12
    assert isinstance(fact[2], Linear), "48 x 10 at rank 12 would not save parameters (12 * 58 > 480)"
    assert fact.num_parameters() < model.num_parameters()
    kept = factorize_model(model, [None, None])
    assert all(isinstance(l, Linear) for l in kept.layers if not isinstance(l, ReLU))
    with pytest.raises(ValueError):
        factorize_model(model, [4])


# --- distillation -----------------------------------------------------------------------------------

def test_distillation_loss_value_and_special_cases():
    rng = np.random.default_rng(0)
    s, t = rng.standard_normal((5, 4)), rng.standard_normal((5, 4)) * 2
    y = np.array([0, 3, 1, 2, 2])
    T, a = 2.5, 0.6
    p, q = softmax(t / T), softmax(s / T)
    kl = np.mean(np.sum(p * (np.log(p) - np.log(q)), axis=-1))
    ce = -np.mean(np.log(softmax(s))[np.arange(5), y])
    got = distillation_loss(Tensor(s), Tensor(t), y, temperature=T, alpha=a)
    assert float(got.data) == pytest.approx(a * T * T * kl + (1 - a) * ce, abs=1e-6)
    assert float(distillation_loss(Tensor(s), None, y, alpha=0.0).data) == pytest.approx(ce, abs=1e-6)
    assert float(distillation_loss(Tensor(t), t, None, T, alpha=1.0).data) == pytest.approx(0.0, abs=1e-7)
    with pytest.raises(ValueError):
        distillation_loss(Tensor(s), t, None, alpha=0.5)
    with pytest.raises(ValueError):
        distillation_loss(Tensor(s), t[:, :3], y)
    with pytest.raises(ValueError):
        distillation_loss(Tensor(s), t, y, temperature=-1.0)


def test_distillation_loss_backpropagates_to_the_student():
    rng = np.random.default_rng(1)
    s, t = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    T = 3.0
    st = Tensor(s, requires_grad=True)
    distillation_loss(st, t, None, temperature=T, alpha=1.0).backward()
    np.testing.assert_allclose(st.grad.data, T * (softmax(s / T) - softmax(t / T)) / 4, atol=1e-6)
    check_gradients(lambda z: distillation_loss(z, t, np.array([0, 1, 2, 0]), temperature=1.5, alpha=0.3), Tensor(s))


def test_distill_student_learns_the_teacher_not_the_labels():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((200, 4)).astype(np.float32)
    teacher = mlp([4, 12, 3], seed=7)
    for _, w in linear_weights(teacher):
        w.data *= 3.0
    target = np.argmax(predict(teacher, x), axis=-1)
    student = mlp([4, 12, 3], seed=8)
    hist = distill(teacher, student, x, (target + 1) % 3, epochs=15, lr=0.02, batch_size=25, temperature=2.0,
                   alpha=1.0, seed=0, validation=(x, target))
    assert sorted(hist) == ["accuracy", "loss", "val_accuracy"] and len(hist["loss"]) == 15
    assert hist["loss"][-1] < hist["loss"][0]
    assert hist["val_accuracy"][-1] > 0.85
    assert accuracy(student, x, target) == pytest.approx(hist["val_accuracy"][-1])


def test_distill_is_reproducible_keeps_masks_and_trains_without_teacher():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((60, 4)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    runs = []
    for _run in range(2):
        student = mlp([4, 8, 2], seed=5)
        masks = magnitude_prune(student, 0.5)
        runs.append((distill(None, student, x, y, epochs=10, lr=0.05, batch_size=16, alpha=0.0, seed=2,
                             masks=masks), student))
    (h1, s1), (h2, s2) = runs
    assert h1 == h2 and np.array_equal(s1[0].weight.data, s2[0].weight.data)
    assert sparsity(s1) == pytest.approx(0.5)
    assert h1["accuracy"][-1] > 0.85
    with pytest.raises(ValueError):
        distill(None, s1, x, y, alpha=0.5)


def test_predict_and_accuracy_restore_training_mode():
    model = mlp([3, 5, 2], seed=0)
    x = np.random.default_rng(0).standard_normal((10, 3)).astype(np.float32)
    out = predict(model, x, batch_size=3)
    np.testing.assert_allclose(out, model(Tensor(x)).data, atol=1e-6)
    assert model.training
    assert accuracy(model, x, np.argmax(out, axis=-1)) == 1.0
