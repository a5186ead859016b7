"""The compiled passes outside the epoch kernel: the rating counts and the penalty's weighted squares.

Oracles: ``np.bincount`` and a literal ``collections.Counter`` for the counts; for the weighted
squares, ``math.fsum`` of the float64 products written out entry by entry (exact to one rounding),
and :func:`funksvd.maths.objectives.weighted_squares` (the numpy form the Python engine runs).
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest

from funksvd import FunkSVD, Ratings
from funksvd.estimator import training
from funksvd.maths.objectives import weighted_squares


@pytest.mark.parametrize("ids", [np.int32, np.int64, np.uint32])
def test_compiled_counts_equal_bincount_and_a_literal_count(rng, ids):
    """Oracle: collections.Counter over the id pairs, and np.bincount; users and items never rated count 0."""
    n = 5000
    users, items = rng.integers(0, 290, n).astype(ids), rng.integers(0, 180, n).astype(ids)
    ratings = Ratings(users, items, rng.integers(1, 6, n).astype(float), 300, 200)
    user_counts, item_counts = training.rating_counts(ratings, "compiled")
    assert user_counts.dtype == item_counts.dtype == np.float64
    by_user, by_item = Counter(users.tolist()), Counter(items.tolist())
    assert user_counts.tolist() == [float(by_user[u]) for u in range(300)]
    assert item_counts.tolist() == [float(by_item[i]) for i in range(200)]
    python = training.rating_counts(ratings, "python")
    assert np.array_equal(user_counts, python[0]) and np.array_equal(item_counts, python[1])


def _literal(theta, counts) -> float:
    """sum_u n_u sum_f theta_uf^2, every product in float64, added exactly (fsum): the sum both forms approximate."""
    theta = np.asarray(theta, dtype=np.float64).reshape(len(theta), -1)
    return math.fsum(float(n) * float(x) * float(x) for n, row in zip(counts, theta) for x in row)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape", [(37, 100), (50, 40), (40, 1), (61,)])
def test_compiled_weighted_squares_equal_the_literal_sum(rng, dtype, shape):
    """Oracle: the fsum of the written-out products, and weighted_squares.

    Tolerance: a row of k squares summed in the parameters' dtype is off by at most about k eps of
    its value in either form (eps 2.2e-16 in float64, 6e-8 in float32; positive terms, so relative
    to the whole sum too): 2 k eps against the literal sum, 4 k eps between the two forms. The
    float64 weighting adds n_rows * 2.2e-16 at most.
    """
    theta = (rng.standard_normal(shape) * rng.uniform(0.1, 3.0)).astype(dtype)
    counts = rng.integers(0, 50, shape[0]).astype(np.float64)
    k = 1 if len(shape) == 1 else shape[1]
    eps = float(np.finfo(dtype).eps)
    compiled = training._compiled("weighted_row_squares")(theta.reshape(shape[0], -1), counts)
    literal = _literal(theta, counts)
    assert compiled == pytest.approx(literal, rel=2 * k * eps + shape[0] * 2.2e-16)
    assert compiled == pytest.approx(weighted_squares(theta, counts), rel=4 * k * eps + shape[0] * 2.2e-16)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_compiled_weighted_squares_see_a_non_finite_entry_of_a_row_never_rated(rng, bad):
    """Oracle: weighted_squares' contract (NaN, or inf, if any entry is not finite, even where n_u = 0):
    0 * inf is NaN, so a row of weight 0 is not skipped."""
    theta = rng.standard_normal((6, 4))
    theta[2, 1] = bad
    counts = np.array([1.0, 2.0, 0.0, 3.0, 1.0, 1.0])
    assert np.isnan(training._compiled("weighted_row_squares")(theta, counts))
    assert np.isnan(weighted_squares(theta, counts))


def test_the_running_loss_is_the_same_on_both_engines_paths(rng):
    """Oracle: _running_loss through weighted_squares (the Python engine's path) at the same arrays,
    float64: 1e-12 (the order of the additions only); and each epoch's history loss of a compiled
    fit is its running SSE plus that penalty."""
    n = 3000
    ratings = Ratings(rng.integers(0, 120, n), rng.integers(0, 80, n), rng.integers(1, 6, n).astype(float), 120, 80)
    model = FunkSVD(n_factors=7, n_epochs=2, reg_bu=0.05, reg_qi=0.03, random_state=4).fit(ratings)
    f = model.factors_
    arrays = (f.P, f.Q, f.bu, f.bi)
    counts = training.rating_counts(ratings)
    reg = model._hyper("reg")
    compiled = training._running_loss("funk", 1.5, arrays, reg, counts, "compiled")
    python = training._running_loss("funk", 1.5, arrays, reg, counts, "python")
    assert compiled == pytest.approx(python, rel=1e-12)
    sse = model.history_[-1]["train_rmse"] ** 2 * n
    assert model.history_[-1]["loss"] == pytest.approx(
        training._running_loss("funk", sse, arrays, reg, counts, "python"), rel=1e-12)
