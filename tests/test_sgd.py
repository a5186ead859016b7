"""sgd_epoch: the loop of sgd_step, in the given order, on either engine, never returning NaN.

Oracles: a Python loop of funksvd.sgd_step (the single-rating rule); the python engine for the
compiled one; DivergenceError for a learning rate known to blow up.
"""

from __future__ import annotations

import numpy as np
import pytest

from funksvd import RULES, DivergenceError, Factors, Ratings, sgd_epoch, sgd_step
from tests.helpers import random_problem


def _loop(factors, ratings, order, rule, lr, reg):
    for j in order:
        factors = sgd_step(factors, ratings.users[j], ratings.items[j], ratings.values[j], rule, lr, reg)
    return factors


@pytest.mark.parametrize("biased", [True, False])
@pytest.mark.parametrize("rule", sorted(RULES))
def test_epoch_is_loop_of_steps(rule, biased, rng):
    """Oracle: sgd_step applied rating by rating in the same order (bit-identical: same kernel)."""
    factors, ratings = random_problem(rng, biased=biased, n_ratings=20)
    order = rng.permutation(len(ratings))
    got = sgd_epoch(factors, ratings, rule, lr=0.05, reg=0.1, order=order)
    assert got.equals(_loop(factors, ratings, order, rule, 0.05, 0.1))
    stored = sgd_epoch(factors, ratings, rule, lr=0.05, reg=0.1)
    assert stored.equals(_loop(factors, ratings, range(len(ratings)), rule, 0.05, 0.1))
    assert not got.equals(stored)  # the order matters


@pytest.mark.parametrize("biased", [True, False])
@pytest.mark.parametrize("rule", sorted(RULES))
def test_compiled_engine_equals_python_engine(rule, biased, rng):
    """Oracle: engine="python", the literal loop. Tolerance 1e-12 (numba may reorder nothing here,
    so in practice the results are bit-identical; 1e-12 allows a different libm)."""
    factors, ratings = random_problem(rng, n_users=30, n_items=20, k=5, n_ratings=300, biased=biased)
    order = rng.permutation(len(ratings))
    lr = {"P": 0.02, "Q": 0.03, "bu": 0.01, "bi": 0.04}
    reg = {"P": 0.1, "Q": 0.05, "bu": 0.02, "bi": 0.0}
    a = sgd_epoch(factors, ratings, rule, lr, reg, order=order, engine="python")
    b = sgd_epoch(factors, ratings, rule, lr, reg, order=order, engine="compiled")
    for block in factors.blocks:
        np.testing.assert_allclose(b.params()[block], a.params()[block], rtol=1e-12, atol=1e-12)


def test_compiled_engine_float32(rng):
    """float32 factors stay float32 and agree with float64 to float32 precision (oracle: float64 run).

    Tolerance 1e-4: float32 has 24-bit mantissa (~6e-8 relative) accumulated over 300 updates.
    """
    factors, ratings = random_problem(rng, n_users=30, n_items=20, k=5, n_ratings=300)
    single = Factors(*(a.astype(np.float32) for a in factors.mutable_copy()[:2]),
                     factors.bu.astype(np.float32), factors.bi.astype(np.float32), factors.mu)
    a = sgd_epoch(factors, ratings, "funk", 0.02, 0.05, engine="compiled")
    b = sgd_epoch(single, ratings, "funk", 0.02, 0.05, engine="compiled")
    assert b.dtype == np.float32
    np.testing.assert_allclose(b.P, a.P, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("engine", ["python", "compiled"])
def test_divergence_is_reported_not_returned(engine, rng):
    """A learning rate of 10 on ratings 1-5 blows up (oracle: DivergenceError, never NaN factors)."""
    factors, ratings = random_problem(rng, n_users=10, n_items=10, n_ratings=80)
    with pytest.raises(DivergenceError, match="smaller lr"):
        for _ in range(50):
            factors = sgd_epoch(factors, ratings, "quuxlabs", lr=10.0, reg=0.0, engine=engine)
    assert all(np.isfinite(a).all() for a in factors.params().values())


def test_epoch_leaves_input_untouched(rng):
    """Oracle: a copy taken before the call."""
    factors, ratings = random_problem(rng)
    before = factors.P.copy()
    sgd_epoch(factors, ratings, "funk", lr=0.1)
    np.testing.assert_array_equal(factors.P, before)


def test_epoch_bad_input(rng):
    """Bad order, engine, shapes (oracle: the ValueError messages)."""
    factors, ratings = random_problem(rng)
    with pytest.raises(ValueError, match=r"order\[1\] = 99"):
        sgd_epoch(factors, ratings, order=[0, 99])
    with pytest.raises(ValueError, match="integer sample indices"):
        sgd_epoch(factors, ratings, order=[0.5])
    with pytest.raises(ValueError, match="engine="):
        sgd_epoch(factors, ratings, engine="gpu")
    with pytest.raises(ValueError, match="ratings are"):
        sgd_epoch(factors, Ratings([0], [0], [1.0], 9, 9))
