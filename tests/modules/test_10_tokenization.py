"""Package tests for module 10 (tinytorch.core.tokenization)."""
from pathlib import Path

import numpy as np
import pytest

from tinytorch.core.tokenization import BPETokenizer, CharTokenizer, Tokenizer, get_pair_counts, merge, pretokenize

SONNETS = Path(__file__).resolve().parents[2] / "datasets" / "shakespeare_sonnets.txt"
TEXT = (SONNETS.read_text(encoding="utf-8") if SONNETS.is_file()
        else "From fairest creatures we desire increase,\n" * 300)


def test_char_round_trip_and_vocab():
    tok = CharTokenizer.from_text(TEXT)
    assert isinstance(tok, Tokenizer)
    assert tok.vocab_size == len(set(TEXT))
    ids = tok.encode(TEXT[:5000])
    assert len(ids) == 5000 and max(ids) < tok.vocab_size and min(ids) >= 0
    assert tok.decode(ids) == TEXT[:5000]
    assert tok.decode(np.asarray(ids)) == TEXT[:5000]


def test_char_keeps_given_order_like_the_milestone_uses_it():
    chars = sorted(set("hello world"))
    tok = CharTokenizer(chars)
    assert tok.encode("hello") == [chars.index(c) for c in "hello"]


def test_char_unknown_policies():
    with pytest.raises(ValueError, match="'z'"):
        CharTokenizer("ab").encode("abz")
    unk = CharTokenizer("ab", unk_token="?")
    assert unk.encode("zab") == [2, 0, 1]
    with pytest.raises(ValueError):
        unk.decode([3])
    with pytest.raises(ValueError):
        CharTokenizer(["ab"])


def test_pairs_and_merge():
    assert get_pair_counts([1, 2, 3, 1, 2]) == {(1, 2): 2, (2, 3): 1, (3, 1): 1}
    counts = {(1, 2): 1}
    get_pair_counts([1, 2], counts, weight=4)
    assert counts == {(1, 2): 5}
    assert merge([7, 7, 7], (7, 7), 8) == [8, 7]
    assert merge([1, 2, 3, 1, 2], (1, 2), 9) == [9, 3, 9]


def test_pretokenize_is_lossless():
    for text in [TEXT[:3000], "a  b\n\n  c, d!?  ", "  leading", "trailing\t", ""]:
        assert "".join(pretokenize(text)) == text


def test_bpe_worked_example():
    tok = BPETokenizer().train("aaabdaaabac", 259)
    assert tok.merges == {(97, 97): 256, (97, 98): 257, (256, 257): 258}
    assert tok.encode("aaabdaaabac") == [258, 100, 258, 97, 99]
    assert tok.vocab[258] == b"aaab"


@pytest.fixture(scope="module")
def bpe():
    return BPETokenizer().train(TEXT[:30000], vocab_size=420)


def test_bpe_round_trip_any_text(bpe):
    for text in [TEXT[-4000:], "Grüße aus Köln 🙂 — ½ ∑ 東京", "", " ", "\n\n\t x"]:
        ids = bpe.encode(text)
        assert all(isinstance(i, int) and 0 <= i < bpe.vocab_size for i in ids)
        assert bpe.decode(ids) == text


def test_bpe_compresses_and_bigger_vocab_is_shorter(bpe):
    held = TEXT[-5000:]
    small = BPETokenizer(merges=dict(list(bpe.merges.items())[:30]))
    assert small.vocab_size == 286
    n_small, n_big = len(small.encode(held)), len(bpe.encode(held))
    assert n_big < n_small < len(held.encode("utf-8"))


def test_bpe_deterministic_and_rebuildable(bpe):
    again = BPETokenizer().train(TEXT[:30000], vocab_size=420)
    assert again.merges == bpe.merges
    rebuilt = BPETokenizer(merges=bpe.merges)
    assert rebuilt.encode(TEXT[:2000]) == bpe.encode(TEXT[:2000])


def test_bpe_errors():
    with pytest.raises(ValueError):
        BPETokenizer().train("abc", 100)
    with pytest.raises(ValueError):
        BPETokenizer().decode([256])
    with pytest.raises(ValueError):
        BPETokenizer(merges={(1, 2): 300})
    assert BPETokenizer().train("ab ab", 10_000).vocab_size < 10_000
