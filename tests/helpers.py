"""Small builders shared by the tests."""

from __future__ import annotations

import numpy as np

from funksvd import Factors, Ratings
from funksvd.check.finite_differences import fd_noise, kink_mask


def random_problem(rng, n_users=4, n_items=5, k=3, n_ratings=12, biased=True, duplicates=True, scale=0.5):
    """Random ratings (with repeated pairs when ``duplicates``) and random factors, all float64.

    Every user and item id is in range; biases are nonzero so their gradients are exercised.
    """
    if duplicates:
        users = rng.integers(0, n_users, n_ratings)
        items = rng.integers(0, n_items, n_ratings)
        users[-1], items[-1] = users[0], items[0]
    else:  # distinct cells, so dense forms are defined
        cells = rng.choice(n_users * n_items, size=min(n_ratings, n_users * n_items), replace=False)
        users, items = np.divmod(cells, n_items)
    ratings = Ratings(users, items, rng.uniform(1, 5, n_ratings), n_users, n_items)
    factors = Factors(
        rng.normal(0, scale, (n_users, k)),
        rng.normal(0, scale, (n_items, k)),
        rng.normal(0, scale, n_users) if biased else None,
        rng.normal(0, scale, n_items) if biased else None,
        mu=3.0 if biased else 0.0,
    )
    return factors, ratings


def single(ratings: Ratings, j: int) -> Ratings:
    """The j-th rating alone, same id ranges."""
    return ratings.subset([j])


def assert_matches_finite_differences(objective, factors, ratings, reg, grads=None):
    """Hand (or given) gradient == finite differences, entry by entry, away from kinks.

    Tolerance: 1e-9 relative plus the finite differences' own rounding estimate
    (8 eps max|L| / h, see funksvd.check.finite_differences.numerical_gradients); coordinates whose
    stencil may cross a kink of |.| are compared with nothing (kink_mask).
    """
    grads = objective.gradients(factors, ratings, reg) if grads is None else grads
    fd, noise, h = fd_noise(objective, factors, ratings, reg)
    kinks = kink_mask(objective, factors, ratings, h)
    assert set(grads) == set(factors.blocks)
    for block in factors.blocks:
        keep = ~kinks[block]
        np.testing.assert_allclose(grads[block][keep], fd[block][keep], rtol=1e-9, atol=noise[block] + 1e-12,
                                   err_msg=f"{objective} block {block}")


def assert_same_sums(a, b, n_terms, what=""):
    """Two computations of the same float64 sums in different orders agree.

    Tolerance: each entry is a sum of at most ``n_terms`` products; reordering changes it by at
    most ~n_terms * eps * (the largest magnitude involved), bounded here by
    64 * n_terms * eps * (1 + max |a|).
    """
    scale = 1.0 + max(float(np.abs(v).max(initial=0.0)) for v in a.values())
    atol = 64 * max(n_terms, 1) * np.finfo(np.float64).eps * scale
    assert set(a) == set(b), what
    for block in a:
        np.testing.assert_allclose(a[block], b[block], rtol=1e-12, atol=atol, err_msg=f"{what} block {block}")
