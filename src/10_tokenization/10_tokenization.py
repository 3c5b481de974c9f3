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
#     title: Tokenization
#     summary: Turn text into integer ids and back, first one character at a time and then with byte-pair encoding, and measure how the vocabulary size trades against sequence length.
#     tier: architecture
#     minutes: 120
#     prerequisites: []
#     objectives:
#       - Explain why a language model needs a tokenizer and what encode and decode must guarantee
#       - Build a character tokenizer with an explicit policy for unknown characters
#       - Train a byte-level byte-pair-encoding (BPE) tokenizer on a corpus and apply its merges in order
#       - Prove the encode/decode round trip on any text, including characters never seen in training
#       - Measure how vocabulary size trades against sequence length, embedding size and attention cost
#     exports: [CharTokenizer, BPETokenizer]
#     milestone: null
# ---

# %% [markdown]
# # Module 10: Tokenization
#
# A neural network computes with numbers, and a language model is no exception: before the first
# layer sees Shakespeare, `"Shall I compare thee"` has to become a list of integers, and whatever
# the model writes has to be turned back into text. The piece that does this is the **tokenizer**.
#
# It looks like bookkeeping, but it decides a lot about the model that sits on top of it:
#
# - the **vocabulary size** `V` fixes the size of the embedding table (module 11) and of the final
#   output layer, often among the largest matrices of the whole model;
# - the **number of tokens** `T` a text becomes fixes how long the sequences are, and attention
#   (module 12) costs time and memory proportional to `T²`;
# - and whether **every** text survives the trip `decode(encode(text)) == text` decides whether the
#   model can ever read an emoji, a Greek name or a typo.
#
# **What you will build** (in `tinytorch.core.tokenization`)
#
# | piece | role |
# |---|---|
# | `Tokenizer` | the interface: `encode(text) -> list[int]`, `decode(ids) -> str`, `vocab_size` |
# | `CharTokenizer` | one id per character; tiny vocabulary, long sequences |
# | `get_pair_counts`, `merge` | the two small operations byte-pair encoding is made of |
# | `BPETokenizer` | learns merges from a corpus; encodes any UTF-8 text, decodes it back exactly |
#
# **Learning objectives**
#
# - Explain why a language model needs a tokenizer and what encode and decode must guarantee.
# - Build a character tokenizer with an explicit policy for unknown characters.
# - Train a byte-level BPE tokenizer on a corpus and apply its merges in order.
# - Prove the encode/decode round trip on any text, including characters never seen in training.
# - Measure how vocabulary size trades against sequence length, embedding size and attention cost.

# %%
#| default_exp core.tokenization

# %%
#| export
import re
from collections import Counter

import numpy as np

# %%
#| hide
import time
from pathlib import Path


def find_corpus(name="shakespeare_sonnets.txt"):
    """The course's datasets/ folder, found from this notebook's folder or any folder above it."""
    here = Path.cwd().resolve()
    for folder in [here, *here.parents]:
        if (folder / "datasets" / name).is_file():
            return folder / "datasets" / name
    return None


_path = find_corpus()
CORPUS = _path.read_text(encoding="utf-8") if _path else ("From fairest creatures we desire increase,\n"
                                                          "That thereby beauty's rose might never die,\n") * 200
print(f"corpus: {len(CORPUS):,} characters from {_path.name if _path else 'a built-in fallback'}")
print(CORPUS[:120])

# %% [markdown]
# ## 1. The idea: three ways to cut text
#
# Take the line `to be, or not to be`. There are three natural ways to cut it into pieces:
#
# ```
#  characters:  t o ␣ b e , ␣ o r ␣ n o t ␣ t o ␣ b e        19 tokens, vocabulary ~ 100
#  words:       to ␣be , ␣or ␣not ␣to ␣be                     7 tokens, vocabulary ~ 100,000+
#  subwords:    to ␣be , ␣or ␣not ␣to ␣be    (common words whole ...)
#               ␣un believ able              (... rare words in pieces)
# ```
#
# - **Characters** give a tiny vocabulary and nothing is ever unknown, but every text becomes long,
#   and the model has to spend its capacity learning to spell.
# - **Words** give short sequences, but the vocabulary explodes (every name, number, typo and
#   inflection is a new word) and a word never seen in training has no id at all.
# - **Subwords** sit in between, and **byte-pair encoding** (BPE) learns them from data: start
#   from single bytes, then repeatedly glue together the pair of neighbours that occurs most often.
#
# A worked example. Start from the bytes of `aaabdaaabac` and merge the most frequent pair each step:
#
# ```
#  step  sequence                        pair counts (top)              merge
#   0    a a a b d a a a b a c           (a,a) 4                        X = aa
#   1    X a b d X a b a c               (X,a) 2, (a,b) 2: a tie        Y = ab   (ties: the smaller pair wins)
#   2    X Y d X Y a c                   (X,Y) 2                        Z = XY = aaab
#   3    Z d Z a c                       every pair once                (continue, or stop here)
# ```
#
# Eleven symbols became five, and the new tokens are exactly the repeated chunks. (With bytes,
# `a` is 97 and `X` is 256, so "the smaller pair" compares `(97, 98)` with `(256, 97)`: section 5
# makes this rule precise.) The list of
# merges, in order, **is** the trained tokenizer: to encode new text we replay the same merges in
# the same order.
#
# Counting pairs is where the ties come from: in `aaa` the pair `(a, a)` is counted twice (positions
# 0-1 and 1-2), even though only one of the two can be merged. That is the usual convention, and
# we keep it.

# %% [markdown]
# ## 2. The interface
#
# Every tokenizer in the course answers the same three questions, so that a model, a data pipeline
# or a milestone can swap one for another:
#
# ```{mermaid}
# flowchart LR
#   T["text (str)"] -- encode --> I["ids: list of int<br/>in range(vocab_size)"]
#   I -- decode --> T
# ```
#
# The contract: `encode` returns plain Python ints, each in `range(vocab_size)`; `decode` accepts a
# list, a NumPy array or anything with a `.data` array (such as a `Tensor`), and
# `decode(encode(text)) == text` for every text the tokenizer accepts. The base class is given: it
# only fixes the names and converts the many possible id containers into one list of ints.

# %%
#| export
def _as_id_list(ids) -> list:
    """A list of Python ints from a list, tuple, NumPy array or Tensor (anything with a `.data` array)."""
    arr = np.asarray(getattr(ids, "data", ids))
    if arr.size == 0:
        return []
    if not (np.issubdtype(arr.dtype, np.integer) or
            (np.issubdtype(arr.dtype, np.floating) and np.all(arr == np.round(arr)))):
        raise TypeError(f"token ids must be integers, got an array of {arr.dtype}")
    return [int(i) for i in arr.reshape(-1)]


class Tokenizer:
    """Interface of every tokenizer: text <-> list of integer ids in range(vocab_size)."""

    @property
    def vocab_size(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must define vocab_size")

    def encode(self, text: str) -> list:
        raise NotImplementedError(f"{type(self).__name__} must implement encode()")

    def decode(self, ids) -> str:
        raise NotImplementedError(f"{type(self).__name__} must implement decode()")

    def __call__(self, text: str) -> list:
        return self.encode(text)

    def __len__(self) -> int:
        return self.vocab_size

# %% [markdown]
# ## 3. A character tokenizer
#
# The simplest tokenizer gives each distinct character an id. Two tables do the work: `itos` (id to
# string, a list) and `stoi` (string to id, a dict).
#
# ```
#   chars = "abc "                 itos = ['a', 'b', 'c', ' ']
#                                  stoi = {'a': 0, 'b': 1, 'c': 2, ' ': 3}
#   encode("cab a") -> [2, 0, 1, 3, 0]        decode([2, 0, 1]) -> "cab"
# ```
#
# The only real design question is **what to do with a character that is not in the table**.
# Silently skipping it would break the round trip without anyone noticing. We offer two honest
# policies: raise an error that names the character and its position, or, if the tokenizer was built
# with an `unk_token` (for example `"?"`), map every unknown character to that token's id. The
# second never fails but loses information, so `decode` cannot give the original text back.
#
# Build the tables first. Characters come in id order; a repeated character keeps its first id; the
# `unk_token`, if given and not already present, gets the next id after all the characters.

# %% nbgrader={"grade": false, "grade_id": "char-tables", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class CharTokenizer(Tokenizer):
    """One id per character.

    CharTokenizer("abc")                    ids: a=0, b=1, c=2; unknown characters raise ValueError
    CharTokenizer("abc", unk_token="?")     adds "?" as id 3 and maps unknown characters to it
    CharTokenizer.from_text(corpus)         the sorted set of characters in a corpus
    """

    def __init__(self, chars="", unk_token=None):
        chars = list(chars)
        for c in chars + ([unk_token] if unk_token is not None else []):
            if not isinstance(c, str) or len(c) != 1:
                raise ValueError(f"CharTokenizer needs single characters, got {c!r}")
        self.itos = []          # id -> character
        self.stoi = {}          # character -> id
        # Fill both tables: every character of `chars` in order, skipping repeats, then unk_token
        # (if it is not None and not already there).
        ### BEGIN SOLUTION
        for c in chars + ([unk_token] if unk_token is not None else []):
            if c not in self.stoi:
                self.stoi[c] = len(self.itos)
                self.itos.append(c)
        ### END SOLUTION
        self.unk_token = unk_token
        self.unk_id = self.stoi[unk_token] if unk_token is not None else None

    @classmethod
    def from_text(cls, text: str, unk_token=None):
        """A tokenizer whose vocabulary is every distinct character of `text`, sorted."""
        return cls(sorted(set(text)), unk_token=unk_token)

    @property
    def vocab_size(self) -> int:
        return len(self.itos)

    def __repr__(self) -> str:
        return f"CharTokenizer(vocab_size={self.vocab_size}, unk_token={self.unk_token!r})"

# %% mutant={"name": "char-tables-duplicates", "target": "char-tables", "replace": "if c not in self.stoi:\n    self.stoi[c] = len(self.itos)\n    self.itos.append(c)", "catches": ["test-char-tables"]}
# Gives a repeated character a second id: decode(encode(x)) still works, but the vocabulary has duplicates.
self.stoi[c] = len(self.itos)
self.itos.append(c)

# %% mutant={"name": "char-tables-sorted", "target": "char-tables", "catches": ["test-char-tables"]}
# Sorts the characters, ignoring the order the caller gave.
for c in sorted(set(chars)) + ([unk_token] if unk_token is not None else []):
    if c not in self.stoi:
        self.stoi[c] = len(self.itos)
        self.itos.append(c)

# %% [markdown]
# The test builds tables with repeats and with an `unk_token`, and checks both directions.

# %% nbgrader={"grade": true, "grade_id": "test-char-tables", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
def test_char_tables():
    """itos/stoi list each character once, in order; unk_token is appended when missing."""
    tok = CharTokenizer("hello")
    assert tok.itos == ["h", "e", "l", "o"], f"repeated characters keep their first id: expected ['h','e','l','o'], got {tok.itos}"
    assert tok.stoi == {"h": 0, "e": 1, "l": 2, "o": 3}, f"stoi must invert itos, got {tok.stoi}"
    assert tok.vocab_size == 4 and len(tok) == 4, f"vocab_size should be 4, got {tok.vocab_size}"
    unk = CharTokenizer("ab", unk_token="?")
    assert unk.itos == ["a", "b", "?"] and unk.unk_id == 2, f"unk_token goes last: {unk.itos}, unk_id={unk.unk_id}"
    same = CharTokenizer("a?b", unk_token="?")
    assert same.itos == ["a", "?", "b"] and same.unk_id == 1, "an unk_token already in chars keeps its id"
    print("CharTokenizer tables: OK", tok.stoi)

test_char_tables()
### BEGIN HIDDEN TESTS
_t = CharTokenizer.from_text("banana")
assert _t.itos == ["a", "b", "n"], "from_text sorts the distinct characters"
assert CharTokenizer(["x", "y", "x"]).stoi == {"x": 0, "y": 1}, "a list of characters works like a string"
### END HIDDEN TESTS

# %% [markdown]
# Now the two directions. `encode` looks every character up in `stoi`; for a missing one it uses
# `unk_id` if there is one, and otherwise raises `ValueError` with a message that names the
# character and its position (a message like that saves a lot of debugging when a model's vocabulary
# and its data disagree). `decode` looks every id up in `itos` and refuses ids outside
# `range(vocab_size)` with a `ValueError` (careful: Python would happily accept `itos[-1]`).

# %% nbgrader={"grade": false, "grade_id": "char-encode-decode", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def _char_encode(self, text: str) -> list:
    """'cab' -> [2, 0, 1] for the vocabulary 'abc'.

    HINT: self.stoi.get(c, self.unk_id) is None exactly when the character is unknown and there is no unk.
    """
    ids = []
    ### BEGIN SOLUTION
    for pos, c in enumerate(text):
        i = self.stoi.get(c, self.unk_id)
        if i is None:
            raise ValueError(f"character {c!r} at position {pos} is not in the vocabulary "
                             f"({self.vocab_size} characters); build the tokenizer with unk_token=... to map it")
        ids.append(i)
    ### END SOLUTION
    return ids


def _char_decode(self, ids) -> str:
    """[2, 0, 1] -> 'cab' for the vocabulary 'abc'."""
    ids = _as_id_list(ids)
    ### BEGIN SOLUTION
    for i in ids:
        if not 0 <= i < len(self.itos):
            raise ValueError(f"token id {i} is outside the vocabulary range(0, {len(self.itos)})")
    return "".join(self.itos[i] for i in ids)
    ### END SOLUTION


CharTokenizer.encode = _char_encode
CharTokenizer.decode = _char_decode

# %% mutant={"name": "encode-drops-unknown", "target": "char-encode-decode", "region": 0, "catches": ["test-char-encode-decode"]}
# Skips characters outside the vocabulary silently.
for pos, c in enumerate(text):
    if c in self.stoi:
        ids.append(self.stoi[c])

# %% mutant={"name": "decode-negative-ids-wrap", "target": "char-encode-decode", "region": 1, "catches": ["test-char-encode-decode"]}
# Lets Python's negative indexing turn -1 into the last character.
return "".join(self.itos[i] for i in ids)

# %% [markdown]
# (As in module 03, the methods are written as functions and attached to the class, so the
# notebook can introduce them one idea at a time.) The test checks the worked example, the round
# trip on the sonnets, both unknown-character policies, and bad ids.

# %% nbgrader={"grade": true, "grade_id": "test-char-encode-decode", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
def test_char_encode_decode():
    """encode/decode invert each other; unknown characters raise or map to unk; bad ids raise."""
    tok = CharTokenizer("abc ")
    assert tok.encode("cab a") == [2, 0, 1, 3, 0], f"encode('cab a') should be [2, 0, 1, 3, 0], got {tok.encode('cab a')}"
    assert tok.decode([2, 0, 1]) == "cab", f"decode([2, 0, 1]) should be 'cab', got {tok.decode([2, 0, 1])!r}"
    assert tok.decode(np.array([3, 2])) == " c", "decode must accept a NumPy array"
    assert tok.encode("") == [] and tok.decode([]) == "", "empty text <-> empty list"
    full = CharTokenizer.from_text(CORPUS)
    ids = full.encode(CORPUS[:2000])
    assert all(type(i) is int for i in ids[:50]), "encode returns plain Python ints"
    assert full.decode(ids) == CORPUS[:2000], "round trip on the corpus must give the text back exactly"
    try:
        tok.encode("abz")
        raise AssertionError("an unknown character without unk_token must raise ValueError")
    except ValueError as e:
        assert "'z'" in str(e) and "2" in str(e), f"the message should name the character 'z' and its position 2: {e}"
    unk = CharTokenizer("ab", unk_token="?")
    assert unk.encode("abz!") == [0, 1, 2, 2], f"unknown characters map to unk_id: {unk.encode('abz!')}"
    assert unk.decode(unk.encode("abz!")) == "ab??", "decoding unk gives the unk character back"
    for bad in ([4], [-1]):
        try:
            tok.decode(bad)
            raise AssertionError(f"decode({bad}) must raise ValueError (outside range(4))")
        except ValueError:
            pass
    print("CharTokenizer encode/decode: OK ", tok.encode("cab a"))

test_char_encode_decode()
### BEGIN HIDDEN TESTS
_t = CharTokenizer("xyz")
assert _t("zyx") == [2, 1, 0], "__call__ is encode"
assert _t.decode(np.array([[0, 1], [2, 0]])) == "xyzx", "multi-dimensional arrays are read in order"
### END HIDDEN TESTS

# %% [markdown]
# On the sonnets the character vocabulary is small, and every character is one token:

# %%
char_tok = CharTokenizer.from_text(CORPUS)
print(char_tok, "  first ids:", char_tok.encode(CORPUS[:24]))
print("tokens per character:", len(char_tok.encode(CORPUS)) / len(CORPUS))

# %% [markdown]
# ## 4. Byte-pair encoding, part 1: bytes, pairs and merges
#
# ### Why bytes, not characters?
#
# There are over 150,000 Unicode characters, and a character tokenizer trained on English would meet
# its first unknown character in the first Chinese word or emoji. **Byte-level** BPE starts instead
# from the 256 possible bytes of UTF-8: *every* string is a sequence of bytes, so nothing is ever
# unknown. A character outside ASCII simply takes 2 to 4 bytes:

# %%
for s in ["a", "é", "€", "🙂"]:
    print(f"{s!r}: {len(s)} character -> UTF-8 bytes {list(s.encode('utf-8'))}")

# %% [markdown]
# The base vocabulary is therefore ids 0-255 (one per byte), and every merge adds one id: 256, 257...
# Training needs two small operations, which you write now.
#
# **`get_pair_counts(ids)`** counts every pair of neighbours. It can add into an existing dict
# (`counts`) with a `weight`, because training counts pairs in many words at once, each word as many
# times as it occurs in the corpus:
#
# ```
#  get_pair_counts([1, 2, 3, 1, 2])            -> {(1, 2): 2, (2, 3): 1, (3, 1): 1}
#  get_pair_counts([5, 5], counts=c, weight=3) -> adds 3 to c[(5, 5)]
# ```

# %% nbgrader={"grade": false, "grade_id": "pair-counts", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def get_pair_counts(ids, counts=None, weight: int = 1) -> dict:
    """Count adjacent pairs in `ids`, adding `weight` per occurrence into `counts` (a new dict if None).

    EXAMPLE: get_pair_counts([1, 2, 3, 1, 2]) -> {(1, 2): 2, (2, 3): 1, (3, 1): 1}
    HINT: zip(ids, ids[1:]) walks over the neighbours; dict.get(key, 0) avoids a KeyError.
    """
    counts = {} if counts is None else counts
    ### BEGIN SOLUTION
    for pair in zip(ids, ids[1:]):
        counts[pair] = counts.get(pair, 0) + weight
    ### END SOLUTION
    return counts

# %% mutant={"name": "pair-counts-ignores-weight", "target": "pair-counts", "catches": ["test-pairs-merge"]}
# Counts each pair once per sequence, ignoring how often the word occurs.
for pair in zip(ids, ids[1:]):
    counts[pair] = counts.get(pair, 0) + 1

# %% [markdown]
# **`merge(ids, pair, new_id)`** replaces every occurrence of `pair` by `new_id`, scanning left to
# right and never reusing a position, so overlapping occurrences are resolved from the left:
#
# ```
#  merge([1, 2, 3, 1, 2], (1, 2), 9)  -> [9, 3, 9]
#  merge([7, 7, 7], (7, 7), 8)        -> [8, 7]        (the first two merge, the third is left over)
# ```

# %% nbgrader={"grade": false, "grade_id": "merge", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def merge(ids, pair, new_id: int) -> list:
    """A new list with every left-to-right, non-overlapping occurrence of `pair` replaced by `new_id`.

    HINT: walk with an index i; if ids[i], ids[i + 1] is the pair, append new_id and jump by 2,
    otherwise append ids[i] and step by 1.
    """
    out = []
    ### BEGIN SOLUTION
    a, b = pair
    i, n = 0, len(ids)
    while i < n:
        if i + 1 < n and ids[i] == a and ids[i + 1] == b:
            out.append(new_id)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    ### END SOLUTION
    return out

# %% mutant={"name": "merge-overlapping", "target": "merge", "replace": "i += 2", "catches": ["test-pairs-merge"]}
# Advances one position after a merge, so "aaa" merges twice and duplicates the middle token.
i += 1

# %% mutant={"name": "merge-drops-last", "target": "merge", "replace": "while i < n:", "catches": ["test-pairs-merge"]}
# Stops one early, losing the last token when it is not part of a pair.
while i < n - 1:

# %% [markdown]
# The test replays the worked example from section 1 by hand, with both functions.

# %% nbgrader={"grade": true, "grade_id": "test-pairs-merge", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
def test_pairs_and_merge():
    """Pair counting (with weights) and left-to-right merging reproduce the worked example."""
    c = get_pair_counts([1, 2, 3, 1, 2])
    assert c == {(1, 2): 2, (2, 3): 1, (3, 1): 1}, f"expected {{(1, 2): 2, (2, 3): 1, (3, 1): 1}}, got {c}"
    same = get_pair_counts([5, 5], counts=c, weight=3)
    assert same is c and c[(5, 5)] == 3, "with counts=..., add into that dict, weight times per occurrence"
    assert get_pair_counts([4]) == {} and get_pair_counts([]) == {}, "fewer than 2 ids have no pairs"
    assert merge([1, 2, 3, 1, 2], (1, 2), 9) == [9, 3, 9], f"got {merge([1, 2, 3, 1, 2], (1, 2), 9)}"
    assert merge([7, 7, 7], (7, 7), 8) == [8, 7], f"overlaps resolve from the left: expected [8, 7], got {merge([7, 7, 7], (7, 7), 8)}"
    seq = list(b"aaabdaaabac")
    original = list(seq)
    seq = merge(seq, (97, 97), 256)
    assert original == list(b"aaabdaaabac"), "merge must return a new list, not change its input"
    counts = get_pair_counts(seq)
    assert max(counts.values()) == 2 and counts[(256, 97)] == 2, f"after aa -> 256: (256, a) occurs twice, got {counts}"
    seq = merge(merge(seq, (97, 98), 257), (256, 257), 258)
    assert seq == [258, 100, 258, 97, 99], f"the worked example ends as Z d Z a c = [258, 100, 258, 97, 99], got {seq}"
    print("get_pair_counts and merge: OK ", seq)

test_pairs_and_merge()
### BEGIN HIDDEN TESTS
assert merge([1, 2], (2, 1), 5) == [1, 2], "a pair in the wrong order is not merged"
assert merge([1, 2, 1, 2, 1, 2], (1, 2), 0) == [0, 0, 0], "new_id may be 0"
assert get_pair_counts((3, 3, 3)) == {(3, 3): 2}, "tuples work and overlapping pairs both count"
### END HIDDEN TESTS

# %% [markdown]
# ## 5. Byte-pair encoding, part 2: training
#
# Running merges over the raw corpus as one long sequence would let tokens swallow spaces and
# punctuation across word boundaries (`"e, t"` as one token) and would be slow. Like the tokenizers
# of real language models, we first cut the text into **chunks** that merges may never cross: a
# word with the single space in front of it, a run of punctuation, or whitespace. Merges happen
# inside chunks only.

# %%
#| export
_CHUNK = re.compile(r" ?\w+| ?[^\w\s]+|\s+(?!\S)|\s+")


def pretokenize(text: str) -> list:
    """Cut text into chunks that BPE merges never cross; "".join(pretokenize(t)) == t always."""
    return _CHUNK.findall(text)

# %%
print(pretokenize("Shall I compare thee to a summer's day?\n  Thou art"))

# %% [markdown]
# Because a common chunk such as `" the"` occurs thousands of times, training does not store the
# corpus as one sequence: it keeps **one byte sequence per distinct chunk plus its count**, and
# weights the pair counts by it. The training loop, one merge per new id:
#
# ```
#  words  = {chunk: count}  ->  seqs = [list(chunk.encode("utf-8")), ...],  freqs = [count, ...]
#  for new_id in 256, 257, ..., vocab_size - 1:
#      counts = pair counts over all seqs, each weighted by its freq
#      stop early if there are no pairs left
#      best   = the most frequent pair; ties go to the smallest pair, i.e. min(counts, key=lambda p: (-counts[p], p))
#      seqs   = every seq with best merged into new_id
#      record merges[best] = new_id and vocab[new_id] = vocab[a] + vocab[b]   (bytes concatenate)
# ```
#
# The tie rule makes training deterministic: the same corpus and size always give the same merges.

# %% nbgrader={"grade": false, "grade_id": "bpe-train", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class BPETokenizer(Tokenizer):
    """Byte-level byte-pair encoding.

    tok = BPETokenizer().train(corpus, vocab_size=512)    # 256 byte tokens + 256 learned merges
    ids = tok.encode("any text at all")                    # never fails: every string is UTF-8 bytes
    tok.decode(ids) == "any text at all"
    BPETokenizer(merges=tok.merges) rebuilds the same tokenizer from its merge table.
    """

    def __init__(self, merges=None):
        self._set_merges(dict(merges or {}))

    def _set_merges(self, merges: dict):
        """merges: {(a, b): new_id} with new ids 256, 257, ... in training order."""
        self.merges = {}
        self.vocab = {i: bytes([i]) for i in range(256)}    # id -> the bytes it stands for
        self._cache = {}                                      # chunk -> ids (encode memo)
        for (a, b), new_id in sorted(merges.items(), key=lambda kv: kv[1]):
            if new_id != 256 + len(self.merges) or a not in self.vocab or b not in self.vocab:
                raise ValueError(f"merge {(a, b)} -> {new_id} does not fit the merges before it")
            self.merges[(a, b)] = new_id
            self.vocab[new_id] = self.vocab[a] + self.vocab[b]

    @property
    def vocab_size(self) -> int:
        return 256 + len(self.merges)

    def train(self, text: str, vocab_size: int):
        """Learn vocab_size - 256 merges from `text` (fewer if the corpus runs out of pairs); returns self."""
        if vocab_size < 256:
            raise ValueError(f"a byte-level BPE vocabulary has at least the 256 byte tokens, got vocab_size={vocab_size}")
        self._set_merges({})
        words = Counter(pretokenize(text))
        seqs = [list(chunk.encode("utf-8")) for chunk in words]
        freqs = list(words.values())
        ### BEGIN SOLUTION
        for new_id in range(256, vocab_size):
            counts = {}
            for seq, freq in zip(seqs, freqs):
                if len(seq) > 1:
                    get_pair_counts(seq, counts, freq)
            if not counts:
                break
            best = min(counts, key=lambda p: (-counts[p], p))
            seqs = [merge(seq, best, new_id) if len(seq) > 1 else seq for seq in seqs]
            self.merges[best] = new_id
            self.vocab[new_id] = self.vocab[best[0]] + self.vocab[best[1]]
        ### END SOLUTION
        return self

    def __repr__(self) -> str:
        return f"BPETokenizer(vocab_size={self.vocab_size}, merges={len(self.merges)})"

# %% mutant={"name": "bpe-train-tie-by-first-seen", "target": "bpe-train", "replace": "best = min(counts, key=lambda p: (-counts[p], p))", "catches": ["test-bpe-train"]}
# Breaks ties by dictionary order (first seen) instead of the smallest pair: training is not deterministic across inputs.
best = max(counts, key=counts.get)

# %% mutant={"name": "bpe-train-vocab-not-extended", "target": "bpe-train", "replace": "self.vocab[new_id] = self.vocab[best[0]] + self.vocab[best[1]]", "catches": ["test-bpe-train"]}
# Records the merge but not the bytes of the new token.
self.vocab[new_id] = self.vocab[best[0]]

# %% [markdown]
# The test trains on the worked example (one chunk, so the merges are exactly the table of
# section 1) and on a small corpus, and checks determinism and the early stop.

# %% nbgrader={"grade": true, "grade_id": "test-bpe-train", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
def test_bpe_train():
    """Training learns the expected merges in order, builds the byte vocabulary and is deterministic."""
    tok = BPETokenizer().train("aaabdaaabac", vocab_size=259)
    a, b = ord("a"), ord("b")
    assert list(tok.merges.items()) == [((a, a), 256), ((a, b), 257), ((256, 257), 258)], \
        f"expected merges aa->256, then the tie (a,b) vs (256,a) goes to (a,b)->257, then (256,257)->258; got {tok.merges}"
    assert tok.vocab[258] == b"aaab" and tok.vocab_size == 259, f"vocab[258] should be b'aaab', got {tok.vocab.get(258)}"
    assert tok.vocab[97] == b"a", "ids below 256 are single bytes"
    small = BPETokenizer().train("ab ab ab", vocab_size=1000)
    assert small.vocab_size < 1000, "training must stop when no pairs are left"
    assert small.vocab[max(small.vocab)] == b" ab", f"the chunks are 'ab' and ' ab': the last token is b' ab', got {small.vocab}"
    text = CORPUS[:20000]
    t1, t2 = BPETokenizer().train(text, 300), BPETokenizer().train(text, 300)
    assert t1.merges == t2.merges and len(t1.merges) == 44, "same corpus and size -> the same 44 merges"
    common = sorted(t1.vocab.values(), key=len)[-1]
    print("BPE training: OK; first merges:", [t1.vocab[i] for i in range(256, 262)], " longest token:", common)

test_bpe_train()
### BEGIN HIDDEN TESTS
_t = BPETokenizer().train("xyxyxy", 257)
assert _t.merges == {(ord("x"), ord("y")): 256}, "the most frequent pair wins"
_tie = BPETokenizer().train("ba ab", 257)
assert list(_tie.merges) == [(ord(" "), ord("a"))], "ties go to the smallest pair: (32, 97) < (97, 98) < (98, 97)"
### END HIDDEN TESTS

# %% [markdown]
# ## 6. Byte-pair encoding, part 3: encoding and decoding
#
# To encode new text, cut it into chunks and turn each chunk into its bytes. Then replay the merges
# **in the order they were learned**: among the neighbouring pairs of the chunk, find the one that
# was merged earliest in training (the smallest new id), merge it, and repeat until no pair of the
# chunk is in the table.
#
# ```
#  merges: (97,97)->256  (97,98)->257  (256,257)->258      chunk "aaab" -> bytes [97, 97, 97, 98]
#  pairs (97,97) (97,97) (97,98): earliest is (97,97)->256    -> [256, 97, 98]
#  pairs (256,97) (97,98):        earliest is (97,98)->257    -> [256, 257]     ((256,97) was never merged)
#  pairs (256,257):                               ->258       -> [258]          one token
# ```
#
# Why the *earliest* merge and not the most frequent pair of this text? Because the tokenizer must
# give the same tokens for the same chunk every time, exactly as in training, or the model would see
# ids it never learned. Decoding is the easy direction: concatenate the bytes of every id and decode
# UTF-8. A model can emit ids whose bytes cut a character in half; `errors="replace"` turns such
# bytes into `�` instead of crashing.

# %% nbgrader={"grade": false, "grade_id": "bpe-encode-decode", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def _encode_chunk(self, chunk: str) -> list:
    """The ids of one chunk: its UTF-8 bytes with the learned merges replayed in training order.

    HINT: while there are at least 2 ids: among set(zip(ids, ids[1:])) pick the pair with the smallest
    self.merges.get(pair, float("inf")); stop if it is not in self.merges, else merge it.
    """
    ids = list(chunk.encode("utf-8"))
    ### BEGIN SOLUTION
    while len(ids) >= 2:
        pair = min(set(zip(ids, ids[1:])), key=lambda p: self.merges.get(p, float("inf")))
        if pair not in self.merges:
            break
        ids = merge(ids, pair, self.merges[pair])
    ### END SOLUTION
    return ids


def _bpe_decode(self, ids) -> str:
    """Concatenate the bytes of every id (self.vocab) and decode them as UTF-8 with errors="replace".
    Ids that are not in self.vocab raise ValueError."""
    ids = _as_id_list(ids)
    ### BEGIN SOLUTION
    for i in ids:
        if i not in self.vocab:
            raise ValueError(f"token id {i} is outside the vocabulary range(0, {self.vocab_size})")
    return b"".join(self.vocab[i] for i in ids).decode("utf-8", errors="replace")
    ### END SOLUTION


def _bpe_encode(self, text: str) -> list:
    """All chunks of `text`, each encoded once and then remembered (common words repeat a lot)."""
    out = []
    for chunk in pretokenize(text):
        ids = self._cache.get(chunk)
        if ids is None:
            ids = self._cache[chunk] = self._encode_chunk(chunk)
        out.extend(ids)
    return out


def _token_strings(self, ids) -> list:
    """Readable pieces, one per id (for looking at what the tokenizer did)."""
    return [self.vocab[i].decode("utf-8", errors="replace") for i in _as_id_list(ids)]


BPETokenizer._encode_chunk = _encode_chunk
BPETokenizer.encode = _bpe_encode
BPETokenizer.decode = _bpe_decode
BPETokenizer.token_strings = _token_strings

# %% mutant={"name": "bpe-encode-most-frequent-pair", "target": "bpe-encode-decode", "region": 0, "replace": "min(set(zip(ids, ids[1:])), key=lambda p: self.merges.get(p, float(\"inf\")))", "catches": ["test-bpe-roundtrip"]}
# Applies merges in the order pairs appear in the text instead of the order they were learned.
next((p for p in zip(ids, ids[1:]) if p in self.merges), (None, None))

# %% mutant={"name": "bpe-decode-strict-utf8", "target": "bpe-encode-decode", "region": 1, "replace": ".decode(\"utf-8\", errors=\"replace\")", "catches": ["test-bpe-roundtrip"]}
# Decodes strictly: a token sequence that splits a multi-byte character raises.
.decode("utf-8")

# %% [markdown]
# The test encodes the worked example, checks the round trip on held-out text with accents and
# emoji the tokenizer never saw, checks that encoding compresses, and that decode refuses bad ids.

# %% nbgrader={"grade": true, "grade_id": "test-bpe-roundtrip", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
def test_bpe_roundtrip():
    """encode replays merges in training order; decode(encode(t)) == t for any text, even unseen characters."""
    tok = BPETokenizer().train("aaabdaaabac", vocab_size=259)
    assert tok.encode("aaab") == [258], f"'aaab' becomes the single token 258, got {tok.encode('aaab')}"
    assert tok.encode("aaabdaaabac") == [258, 100, 258, 97, 99], f"got {tok.encode('aaabdaaabac')}"
    assert tok.encode("aaaa") == [256, 256], f"'aaaa': (a,a) is the earliest merge, twice -> [256, 256], got {tok.encode('aaaa')}"
    assert tok.decode([258, 100]) == "aaabd", f"decode([258, 100]) should be 'aaabd', got {tok.decode([258, 100])!r}"
    ranked = BPETokenizer(merges={(98, 99): 256, (97, 98): 257})
    assert ranked.encode("abc") == [97, 256], \
        f"the earliest-learned merge (b, c) applies first even though (a, b) comes first in the text, got {ranked.encode('abc')}"
    bpe = BPETokenizer().train(CORPUS[:20000], vocab_size=400)
    held_out = CORPUS[-3000:] + " Naïve café 🙂 — 東京\n\t  end "
    ids = bpe.encode(held_out)
    assert all(0 <= i < bpe.vocab_size for i in ids), "every id must lie in range(vocab_size)"
    assert bpe.decode(ids) == held_out, "decode(encode(text)) must give back the exact text, accents and emoji included"
    assert len(ids) < 0.6 * len(held_out.encode("utf-8")), f"400 tokens should compress English well below 1 token per byte: {len(ids)} ids for {len(held_out.encode())} bytes"
    assert bpe.encode("") == [] and bpe.decode([]) == "", "empty text <-> empty list"
    assert "\ufffd" in bpe.decode([0xE2, 0x82]), "half a character (2 of the 3 bytes of '€') decodes to the replacement mark \ufffd"
    for bad in ([bpe.vocab_size], [-3]):
        try:
            bpe.decode(bad)
            raise AssertionError(f"decode({bad}) must raise ValueError")
        except ValueError:
            pass
    print(f"BPE round trip: OK; {len(held_out)} characters -> {len(ids)} tokens")
    print("  pieces:", bpe.token_strings(bpe.encode("Shall I compare thee to a summer's day?")))

test_bpe_roundtrip()
### BEGIN HIDDEN TESTS
_b = BPETokenizer().train(CORPUS[:5000], 300)
_again = BPETokenizer(merges=_b.merges)
_txt = CORPUS[5000:7000]
assert _again.encode(_txt) == _b.encode(_txt), "rebuilding from merges gives the same encoding"
assert _b.decode(np.array(_b.encode(_txt))) == _txt, "decode accepts NumPy arrays"
assert BPETokenizer().encode("héllo") == list("héllo".encode("utf-8")), "with no merges, ids are the bytes"
### END HIDDEN TESTS

# %% [markdown]
# ## 7. Systems analysis: vocabulary size versus sequence length
#
# A bigger vocabulary makes sequences shorter: that is the whole point of merging. But it is not
# free. We measure both sides on the sonnets: train on the first 90% of the corpus, measure on the
# last 10% (text the tokenizer never saw).
#
# A neat property makes this cheap: BPE merges are learned **one after another**, so the tokenizer
# with 300 tokens is exactly the first 44 merges of the tokenizer with 1000. We train once and cut
# the merge table.

# %%
cut = int(0.9 * len(CORPUS))
train_text, test_text = CORPUS[:cut], CORPUS[cut:]
t0 = time.perf_counter()
big = BPETokenizer().train(train_text, vocab_size=1024)
train_seconds = time.perf_counter() - t0
print(f"trained {len(big.merges)} merges on {len(train_text):,} characters in {train_seconds:.2f} s")
print("the 10 longest tokens:", sorted((b.decode("utf-8", "replace") for b in big.vocab.values()), key=len)[-10:])


def truncated(tok, vocab_size):
    """The tokenizer made of the first vocab_size - 256 merges of `tok`."""
    return BPETokenizer(merges=dict(list(tok.merges.items())[:vocab_size - 256]))

# %% [markdown]
# For each vocabulary size we record the tokens per character on the held-out text, the resulting
# length `T` of a 1,000-character passage, the parameters of an embedding table plus output layer with
# model width `d = 256` (`2 · V · d`, module 11), and the relative cost of attention, which grows as
# `T²` (module 12). The character tokenizer is the first row for comparison.

# %%
d_model = 256
passage = 1000
rows = []
char_test = CharTokenizer.from_text(CORPUS)       # all characters, so the held-out text has no unknowns
rows.append(("characters", char_test.vocab_size, len(char_test.encode(test_text)) / len(test_text)))
for V in [256, 300, 384, 512, 768, 1024]:
    tok = truncated(big, V)
    rows.append((f"BPE {V}", tok.vocab_size, len(tok.encode(test_text)) / len(test_text)))
base_T = passage * rows[0][2]
print(f"{'tokenizer':>11} | {'V':>5} | {'tokens/char':>11} | {'T per 1000 chars':>16} | {'2·V·d params':>12} | {'attention T² vs chars':>21}")
for name, V, tpc in rows:
    T = passage * tpc
    print(f"{name:>11} | {V:>5} | {tpc:>11.3f} | {T:>16.0f} | {2 * V * d_model:>12,} | {(T / base_T) ** 2:>20.2f}x")
ratio_1024 = rows[0][2] / rows[-1][2]

# %% [markdown]
# Read the table from top to bottom. The first few hundred merges shorten the text a lot: they
# capture spaces-before-letters, common endings and short words (`" the"`, `"ing"`). Each further
# merge buys less, because it glues together something rarer. Meanwhile the embedding and output
# tables grow **linearly** with `V`. Attention, on the other hand, shrinks with the **square** of the
# compression: a tokenizer that makes sequences 2x shorter makes attention 4x cheaper, and lets the
# same context window hold 2x more text.
#
# Real language models sit far to the right of this table (vocabularies of 32,000 to 200,000 tokens,
# trained on terabytes), because their models are so wide that attention and context length dominate,
# and the embedding table is a small part of a huge model. For a small model on a small corpus, like
# the milestone's character-level GPT, the opposite holds: most merges would be seen too rarely in
# training to learn a good vector, so characters are the sensible choice.

# %%
print(f"measured: BPE-1024 makes the held-out sonnets {ratio_1024:.2f}x shorter than characters, "
      f"so attention over the same text costs {ratio_1024 ** 2:.1f}x less, "
      f"for {1024 / char_test.vocab_size:.0f}x the embedding parameters")

# %% [markdown]
# ### What about whole words?
#
# The other end of the spectrum: one id per distinct word. We count how large the vocabulary gets on
# the training text and how much of the held-out text it cannot encode at all.

# %%
words_train = re.findall(r"\w+|[^\w\s]", train_text.lower())
words_test = re.findall(r"\w+|[^\w\s]", test_text.lower())
word_vocab = set(words_train)
oov = sum(w not in word_vocab for w in words_test) / len(words_test)
print(f"word vocabulary from {len(words_train):,} training words: {len(word_vocab):,} entries")
print(f"held-out words never seen in training: {oov:.1%} (they would all become <unk>)")
word_tpc = len(words_test) / len(test_text)
print(f"tokens per character with words: {word_tpc:.3f}")
print(f"BPE-1024 uses {rows[-1][2] / word_tpc:.2f}x as many tokens as words, "
      f"with {1024 / len(word_vocab):.0%} of the word vocabulary and no unknowns")

# %% [markdown]
# Even after lower-casing, a word vocabulary is larger than any BPE vocabulary above, and a
# noticeable share of new text is simply unknown: those words lose all their meaning. BPE gets
# within a small factor of the word-level length (last line) with a fraction of the vocabulary, and
# loses nothing. On a big corpus the gap narrows further, because frequent words become single tokens.
#
# ### Speed
#
# Encoding runs once per training example, so it should be fast. The per-chunk cache matters a lot,
# because text is dominated by a small set of frequent chunks. We encode the held-out text with a
# fresh tokenizer (empty cache) and again (warm cache), and compare with the character tokenizer.

# %%
def median_time(fn, repeats=5):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


tok512 = truncated(big, 512)
cold = median_time(lambda: truncated(big, 512).encode(test_text), repeats=3)
tok512.encode(test_text)
warm = median_time(lambda: tok512.encode(test_text))
chars_t = median_time(lambda: char_test.encode(test_text))
n = len(test_text)
print(f"{'encoder':>24} | {'chars/s':>12}")
for name, t in [("BPE-512, empty cache", cold), ("BPE-512, warm cache", warm), ("characters", chars_t)]:
    print(f"{name:>24} | {n / t:>12,.0f}")
print(f"the cache makes BPE encoding {cold / warm:.1f}x faster")

# %% [markdown]
# ## Summary
#
# - A tokenizer maps text to ids in `range(vocab_size)` and back; `decode(encode(text)) == text`
#   is the property everything else relies on.
# - `CharTokenizer`: one id per character, with an explicit policy (error or `unk_token`) for
#   characters outside the vocabulary.
# - Byte-level BPE starts from the 256 bytes of UTF-8, so nothing is ever unknown, and learns merges
#   by repeatedly gluing the most frequent neighbouring pair (ties: smallest pair), inside chunks
#   that never cross word boundaries.
# - Encoding replays the merges in training order; decoding concatenates bytes.
# - Measured: a larger vocabulary shortens sequences with diminishing returns, embedding parameters
#   grow linearly with `V`, attention cost falls with the square of the sequence length, and a word
#   vocabulary is both larger and unable to encode unseen words.
#
# ## Reflection questions
#
# 1. Our training loop recounts every pair after every merge. Only the chunks that contained the
#    merged pair change. Sketch an incremental version: which counts go down, which new pairs appear,
#    and how much faster would 10,000 merges become?
# 2. Why does byte-level BPE never need an `<unk>` token, while a character tokenizer trained on the
#    sonnets does? What is the price in sequence length for a language that is written with 3-byte
#    UTF-8 characters?
# 3. Pre-tokenization keeps merges inside chunks. What would go wrong (for the vocabulary and for
#    the model) if we trained on the raw text as one sequence, and what if numbers like `2024` were
#    allowed to merge freely?
# 4. A language model predicts the next token with a softmax over `V` classes. How does the choice of
#    `V` change the cost of that last layer, and how does it change how much each training example
#    teaches the model about rare tokens?
# 5. Two models trained with different tokenizers report their loss in "nats per token". Why can you
#    not compare those numbers directly, and what would you report instead?
