"""Package tests for module 17 (tinytorch.perf.memoization)."""
import numpy as np
import pytest

import tinytorch.perf.memoization as memo
from tinytorch.core.attention import MultiHeadAttention, causal_mask
from tinytorch.core.autograd import no_grad
from tinytorch.core.tensor import Tensor
from tinytorch.core.transformer import GPT
from tinytorch.perf.memoization import (
    KVCache,
    attention_step,
    cached_causal_mask,
    generate_cached,
    gpt_forward_cached,
    memoize,
)


def test_memoize_runs_each_argument_once():
    calls = []

    @memoize
    def f(a, b):
        calls.append((a, b))
        return a * 10 + b

    assert [f(1, 2), f(1, 2), f(2, 1)] == [12, 12, 21]
    assert calls == [(1, 2), (2, 1)] and f.cache == {(1, 2): 12, (2, 1): 21}
    n = [0]

    @memoize
    def fib(k):
        n[0] += 1
        return k if k < 2 else fib(k - 1) + fib(k - 2)

    assert fib(50) == 12586269025 and n[0] == 51


def test_kv_cache_positions_views_and_limits():
    rng = np.random.default_rng(0)
    c = KVCache(3, 2, 2, 6, 4)
    assert c.keys.shape == (3, 2, 2, 6, 4) and c.nbytes == 2 * 3 * 2 * 2 * 6 * 4 * 4
    a = rng.normal(size=(2, 2, 4, 4)).astype(np.float32)
    K, V = c.update(1, a, -a)
    assert K.shape == (2, 2, 4, 4) and np.shares_memory(K, c.keys) and np.array_equal(V, -a)
    c.advance(4)
    b = rng.normal(size=(2, 2, 2, 4)).astype(np.float32)
    K, _ = c.update(1, b, b)
    assert np.array_equal(K[:, :, :4], a) and np.array_equal(K[:, :, 4:], b)
    assert not c.keys[0].any(), "other layers untouched"
    c.advance(2)
    with pytest.raises(ValueError):
        c.update(1, b[:, :, :1], b[:, :, :1])
    with pytest.raises(ValueError):
        c.advance(1)
    with pytest.raises(ValueError):
        KVCache(1, 1, 2, 4, 4).update(0, np.zeros((1, 3, 1, 4)), np.zeros((1, 3, 1, 4)))
    c.reset()
    assert c.length == 0


def test_cached_causal_mask_is_the_bottom_of_the_causal_mask():
    for T in range(1, 7):
        for t in range(1, T + 1):
            assert np.array_equal(cached_causal_mask(t, T), causal_mask(T)[T - t:])
    with pytest.raises(ValueError):
        cached_causal_mask(3, 2)


def test_attention_step_matches_full_attention():
    np.random.seed(3)
    attn = MultiHeadAttention(12, 3, causal=True)
    x = np.random.default_rng(4).normal(size=(1, 5, 12)).astype(np.float32)
    with no_grad():
        full = attn(Tensor(x)).data
    cache = KVCache(1, 1, 3, 8, 4)
    outs = []
    for i in range(5):
        outs.append(attention_step(attn, Tensor(x[:, i:i + 1]), cache, 0).data)
        cache.advance(1)
    np.testing.assert_allclose(np.concatenate(outs, axis=1), full, atol=1e-5)


def test_incremental_gpt_logits_match_full_forward():
    model = GPT(17, embed_dim=16, num_heads=2, num_layers=2, max_seq_len=12, seed=0)
    ids = np.random.default_rng(5).integers(0, 17, size=(3, 9))
    with no_grad():
        full = model(ids).data
        cache = KVCache.for_model(model, batch_size=3)
        inc = np.concatenate([gpt_forward_cached(model, ids[:, a:b], cache).data
                              for a, b in ((0, 4), (4, 5), (5, 9))], axis=1)
    np.testing.assert_allclose(inc, full, atol=1e-4)
    assert cache.length == 9
    with pytest.raises(ValueError):
        gpt_forward_cached(model, ids[:, :4], cache)          # 9 + 4 > 12
    with pytest.raises(ValueError):
        gpt_forward_cached(model, ids[:2, :1], KVCache.for_model(model, batch_size=3))


@pytest.mark.parametrize("kwargs", [dict(temperature=0), dict(temperature=0.8, top_k=4, seed=2),
                                    dict(temperature=1.3, seed=9)])
def test_generate_cached_is_token_identical(kwargs):
    model = GPT(23, embed_dim=16, num_heads=4, num_layers=2, max_seq_len=20, seed=1)
    for prompt in ([3, 1, 4], np.array([[1, 2], [5, 6]])):
        for n in (1, 10, 30):                                  # 30 runs past the window of 20
            assert np.array_equal(generate_cached(model, prompt, n, **kwargs), model.generate(prompt, n, **kwargs))


def test_generate_cached_feeds_one_token_per_step(monkeypatch):
    model = GPT(11, embed_dim=8, num_heads=2, num_layers=1, max_seq_len=32, seed=0)
    fed = []
    real = memo.gpt_forward_cached

    def counting(m, ids, cache):
        fed.append(np.asarray(ids).shape[-1])
        return real(m, ids, cache)

    monkeypatch.setattr(memo, "gpt_forward_cached", counting)
    out = generate_cached(model, [1, 2, 3, 4], 12, temperature=0)
    assert out.shape == (16,) and fed == [4] + [1] * 11
    fed.clear()
    generate_cached(model, [1, 2, 3, 4], 5, temperature=0, use_cache=False)
    assert fed == [4, 5, 6, 7, 8]


def test_generate_cached_edge_cases():
    model = GPT(7, embed_dim=8, num_heads=2, num_layers=1, max_seq_len=6, seed=3)
    model.train()
    assert np.array_equal(generate_cached(model, [2, 3], 0), [2, 3])
    long_prompt = np.arange(9) % 7
    expected = model.generate(long_prompt, 4, temperature=0)
    assert np.array_equal(generate_cached(model, long_prompt, 4, temperature=0), expected)
    assert model.training
