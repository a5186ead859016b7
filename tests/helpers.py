"""Small builders shared by the tests."""

from __future__ import annotations

import numpy as np

from funksvd import Factors, Ratings


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
