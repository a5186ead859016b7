"""The synthetic Netflix generator (:func:`funksvd.data.synthetic_netflix`).

Oracles: the requested sizes; the planted model the synthetic ratings come from; what a
uniform draw would give (for the skew).
"""

from __future__ import annotations

import numpy as np
import pytest

from funksvd import Ratings
from funksvd.data import synthetic_netflix

# ---- synthetic Netflix -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def synthetic():
    return synthetic_netflix(n_users=3_000, n_items=1_000, n_ratings=200_000, random_state=3, k=5,
                             return_factors=True)


def test_synthetic_shapes_and_ranges(synthetic):
    """Oracle: the requested sizes; ratings integers 1..5; distinct pairs; users ascending."""
    ratings, factors = synthetic
    assert len(ratings) == 200_000 and ratings.shape == (3_000, 1_000)
    assert ratings.users.dtype == ratings.items.dtype == np.int64 and ratings.values.dtype == np.float64
    assert set(np.unique(ratings.values)) == {1.0, 2.0, 3.0, 4.0, 5.0}
    assert ratings.duplicate_pairs().size == 0
    assert np.all(np.diff(ratings.users) >= 0)
    assert factors.P.shape == (3_000, 5) and factors.Q.shape == (1_000, 5)


def test_synthetic_popularity_and_activity_are_skewed(synthetic):
    """Oracle: a uniform draw would give every item ~0.1% and top 10% of items ~10% of the ratings."""
    ratings, _ = synthetic
    per_item = np.sort(np.bincount(ratings.items, minlength=1_000))[::-1]
    assert per_item[:100].sum() > 0.5 * len(ratings)
    assert per_item[0] > 20 * np.median(per_item)
    per_user = np.bincount(ratings.users, minlength=3_000)
    assert per_user.mean() > 1.5 * np.median(per_user)  # log-normal activity: mean well above median
    assert per_user.max() <= 1_000


def test_synthetic_ratings_follow_the_planted_model(synthetic):
    """Oracle: the planted Factors: rounding error + noise (sd 0.5) only, so the RMSE is about 0.55."""
    ratings, factors = synthetic
    r_hat = np.clip(factors.predict(ratings.users, ratings.items), 1, 5)
    rmse = np.sqrt(np.mean((ratings.values - r_hat) ** 2))
    assert 0.45 < rmse < 0.65 and rmse < 0.7 * ratings.values.std()


def test_synthetic_is_reproducible_and_seeded():
    """Same seed -> equal Ratings; another seed -> different (oracle: equality)."""
    a = synthetic_netflix(200, 100, 2_000, random_state=1)
    assert a == synthetic_netflix(200, 100, 2_000, random_state=1)
    assert a != synthetic_netflix(200, 100, 2_000, random_state=2)
    loose = synthetic_netflix(50, 20, 500, random_state=1, distinct=False)
    assert len(loose) == 500


def test_synthetic_ratings_are_read_only_and_valid(synthetic):
    """The copy-free Ratings equals Ratings(...) rebuilt with copies, and is read-only (oracle: the constructor)."""
    ratings, _ = synthetic
    rebuilt = Ratings(ratings.users, ratings.items, ratings.values, ratings.n_users, ratings.n_items)
    assert rebuilt == ratings and repr(rebuilt) == repr(ratings)
    with pytest.raises(ValueError):
        ratings.values[0] = 0.0
    with pytest.raises(AttributeError):
        ratings.n_users = 1
    single = synthetic_netflix(n_users=50, n_items=40, n_ratings=500, dtype=np.float32)
    assert single.values.dtype == np.float32
    np.testing.assert_array_equal(single.values, synthetic_netflix(n_users=50, n_items=40, n_ratings=500).values)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"n_users": 0}, "n_users"),
        ({"n_ratings": 2.5}, "n_ratings"),
        ({"noise_std": -1.0}, "noise_std"),
        ({"n_users": 2, "n_items": 2, "n_ratings": 5}, "do not fit"),
    ],
)
def test_synthetic_rejects_bad_arguments(kwargs, message):
    """Oracle: the documented ValueError."""
    args = {"n_users": 10, "n_items": 10, "n_ratings": 20, **kwargs}
    with pytest.raises(ValueError, match=message):
        synthetic_netflix(**args)
