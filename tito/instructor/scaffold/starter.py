"""The new course's first module, `src/01_statistics/01_statistics.py`, and the tests that come with it.

A real, small module that uses every part of the source format once: prose with a worked example, an export
target, two solution cells, graded tests with a hidden part, four mutants the tests catch (one only by the hidden
part) and a systems-analysis cell that measures. An author replaces it with their own first module and keeps it as
the worked example. Pure text: `{{package}}`, `{{title}}` are filled in by `scaffold.texts.fill`.
"""
from __future__ import annotations

SLUG = "01_statistics"

MODULE = '''\
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
#   {{package}}:
#     title: Summary statistics
#     summary: Write the mean and the variance from scratch, then measure why the textbook one-pass variance formula fails on large numbers.
#     tier: {{tier}}
#     minutes: 30
#     prerequisites: []
#     objectives:
#       - Compute the mean and the population variance of a sequence of numbers
#       - Refuse an empty sequence with an error that says what went wrong
#       - Measure how the one-pass formula mean(x^2) - mean(x)^2 loses every digit on large numbers
#     exports: [mean, variance]
#     milestone: null
# ---

# %% [markdown]
# # Module 01: Summary statistics
#
# Two numbers describe a pile of measurements before anything else does: where it sits (the **mean**) and
# how far it spreads (the **variance**). Every library that works with data computes them, and most of them
# compute the variance in a way that is slightly different from the formula in a statistics textbook. By the
# end of this module you will know why, because you will have measured it.
#
# **What you will build** in `{{package}}.statistics`:
#
# | function | returns |
# |---|---|
# | `mean(values)` | the arithmetic mean of a non-empty sequence |
# | `variance(values)` | the population variance: the mean squared distance from the mean |

# %%
#| default_exp statistics

# %% [markdown]
# ## 1. The idea, worked by hand
#
# Take the four measurements `2, 4, 4, 6`.
#
# ```
#   values            2    4    4    6      mean     = 16 / 4 = 4
#   minus the mean   -2    0    0   +2
#   squared           4    0    0    4      variance =  8 / 4 = 2
# ```
#
# The variance squares the distances so that values below and above the mean do not cancel, then averages
# them. We divide by `n`, the number of values: this is the variance of these values themselves (the
# *population* variance). Dividing by `n - 1` instead estimates the variance of a larger population the
# values were sampled from; that is a different question, and not the one asked here.

# %% [markdown]
# ## 2. The mean
#
# Sum the values and divide by how many there are. Two details matter:
#
# - `values` may be any iterable, a generator included, which can be read only once: turn it into a list first.
# - An empty sequence has no mean. Dividing by zero would raise `ZeroDivisionError`, which tells the caller
#   nothing about *their* mistake; raise `ValueError` with a message instead.

# %% nbgrader={"grade": false, "grade_id": "mean", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def mean(values):
    """The arithmetic mean of a non-empty sequence (or iterable) of numbers.

    EXAMPLE: mean([2, 4, 4, 6]) == 4.0
    HINTS: list(values) first; `sum` and `len` do the rest. An empty
    sequence raises ValueError("mean of an empty sequence").
    """
    ### BEGIN SOLUTION
    values = list(values)
    if not values:
        raise ValueError("mean of an empty sequence")
    return sum(values) / len(values)
    ### END SOLUTION


# %% mutant={"name": "mean-floor-division", "target": "mean", "replace": "sum(values) / len(values)", "catches": ["test-mean"]}
# Floor division: the mean of whole numbers comes out whole.
sum(values) // len(values)

# %% mutant={"name": "mean-empty-unchecked", "target": "mean", "replace": "if not values:\\n    raise ValueError(\\"mean of an empty sequence\\")", "catches": ["test-mean"]}
# No check for an empty sequence: the division raises ZeroDivisionError instead of a ValueError that explains.

# %% [markdown]
# The test below checks whole and fractional results, a generator as input, and (in a part you cannot see)
# what happens with an empty sequence.

# %% nbgrader={"grade": true, "grade_id": "test-mean", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
def test_mean():
    """mean() averages ints and floats, accepts any iterable, returns a float."""
    got = mean([2, 4, 4, 6])
    assert got == 4.0, f"mean([2, 4, 4, 6]) should be 4.0, got {got!r}"
    got = mean([1, 2])
    assert got == 1.5, f"mean([1, 2]) should be 1.5 (not rounded down), got {got!r}"
    assert mean(x for x in (3, 5)) == 4.0, \
        "mean should accept a generator: turn it into a list first"
    print("mean: all visible tests passed")


test_mean()
### BEGIN HIDDEN TESTS
try:
    mean([])
except ValueError:
    pass
else:
    raise AssertionError("mean([]) must raise ValueError")
### END HIDDEN TESTS

# %% [markdown]
# ## 3. The variance
#
# Compute the mean once, then average the squared distances from it. Reuse your `mean`: it already refuses
# an empty sequence.

# %% nbgrader={"grade": false, "grade_id": "variance", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def variance(values):
    """The population variance: the mean squared distance from the mean.

    EXAMPLE: variance([2, 4, 4, 6]) == 2.0
    HINTS: values = list(values); m = mean(values); then average
    (x - m) ** 2 over the values. Divide by n, not n - 1.
    """
    ### BEGIN SOLUTION
    values = list(values)
    center = mean(values)
    return sum((x - center) ** 2 for x in values) / len(values)
    ### END SOLUTION


# %% mutant={"name": "variance-divides-by-n-minus-1", "target": "variance", "replace": "/ len(values)", "catches": ["test-variance"]}
# The sample variance (divide by n - 1) where the population variance was asked for.
/ (len(values) - 1)

# %% mutant={"name": "variance-one-pass", "target": "variance", "replace": "sum((x - center) ** 2 for x in values) / len(values)", "catches": ["test-variance"]}
# The textbook shortcut mean(x^2) - mean(x)^2: equal on paper, but it cancels every digit on large values.
sum(x * x for x in values) / len(values) - center * center

# %% [markdown]
# The test checks the worked example, a constant sequence (no spread at all), and values near a billion,
# where only the two-pass computation above keeps its digits (section 4 shows why).

# %% nbgrader={"grade": true, "grade_id": "test-variance", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
def test_variance():
    """variance() divides by n and stays exact far from zero."""
    got = variance([2, 4, 4, 6])
    assert got == 2.0, f"variance([2, 4, 4, 6]) should be 2.0 (divide by n), got {got!r}"
    assert variance([7, 7, 7]) == 0.0, "a constant sequence has no spread: variance 0.0"
    got = variance([1e9 + k for k in (2, 4, 4, 6)])
    assert abs(got - 2.0) < 1e-6, (
        f"variance of 1e9 + [2, 4, 4, 6] should still be 2.0, got {got!r}: "
        "subtract the mean before squaring")
    print("variance: all visible tests passed")


test_variance()

# %% [markdown]
# ## 4. Systems analysis: what the shortcut costs
#
# On paper, `variance = mean(x^2) - mean(x)^2`, and that formula needs only one pass over the data. A
# `float` holds about 16 significant digits, though. Shift the same four values by a large offset and both
# terms grow like `offset^2` while their difference stays 2: once `offset^2` needs more than 16 digits, the
# difference is lost in rounding. The cell below measures the error of both formulas as the offset grows.

# %%
def shortcut_variance(xs):
    """mean(x^2) - mean(x)^2, for comparison only."""
    squares = [v * v for v in xs]
    return mean(squares) - mean(xs) ** 2


print(f"{'offset':>8} | {'two-pass':>9} | {'one-pass':>9}")
for offset in (0, 1e3, 1e6, 1e8, 3e8, 1e9):
    shifted = [offset + v for v in (2, 4, 4, 6)]
    two, one = variance(shifted), shortcut_variance(shifted)
    print(f"{offset:>8.0e} | {two:>9.6g} | {one:>9.6g}")

# %% [markdown]
# The two-pass `variance` prints 2 at every offset. The one-pass shortcut is right up to `1e8`, then returns
# a *negative* variance at `3e8` (impossible for a mean of squares) and 0 at `1e9`: the squares are near
# `1e18` there, where neighbouring `float`s are more than 2 apart. That is why libraries subtract the mean
# first (or use an update rule such as Welford's, which does so as it goes).
#
# ## Summary
#
# - `mean` and `variance` now live in `{{package}}.statistics`; `from {{package}} import mean, variance` works
#   once you complete this module (`tito module complete 01`).
# - Refusing bad input with a clear error is part of the job, not an extra.
# - Two formulas that are equal in algebra can differ completely in floating point.
#
# **Questions to think about**
#
# 1. Why does the variance square the distances instead of taking their absolute values?
# 2. Your `variance` reads the values twice. How would you compute it in a single pass without losing digits?
# 3. At which offset would the one-pass formula fail for values spread by 0.001 instead of by 2?
'''

PACKAGE_TEST = '''\
"""The exported `{{package}}.statistics` (module 01), checked as a user of the package would use it.

`tito module complete 01` runs this file on the student's own export; the instructor's suite runs it on the
reference package.
"""
from __future__ import annotations

import pytest

from {{package}} import mean, variance


def test_mean_of_whole_and_fractional_results():
    assert mean([2, 4, 4, 6]) == 4.0
    assert mean([1, 2]) == 1.5
    assert mean(iter([10, 20, 30])) == 20.0


def test_mean_of_nothing_is_a_value_error():
    with pytest.raises(ValueError):
        mean(iter([]))


def test_variance_divides_by_n():
    assert variance([2, 4, 4, 6]) == 2.0
    assert variance([5]) == 0.0


def test_variance_keeps_its_digits_far_from_zero():
    assert variance([1e9 + 2, 1e9 + 4, 1e9 + 4, 1e9 + 6]) == pytest.approx(2.0)
'''
