"""DSGD strata: concurrent blocks share nothing, so a parallel epoch is a sequential one.

Oracles: set intersections of the blocks' users and items; funksvd.sgd_epoch run sequentially
in the strata's visiting order; the Python engine running the same blocks one after another.
"""

from __future__ import annotations

import numpy as np
import pytest

from funksvd import Factors, FunkSVD, Ratings, sgd_epoch
from funksvd.parallel import Strata


@pytest.fixture
def ratings(rng):
    n = 3000
    users = rng.integers(0, 120, n)
    items = np.minimum(rng.zipf(1.5, n) - 1, 79)
    users[users == 7] = 8  # an unrated user id inside the range
    return Ratings(users, items, rng.uniform(1, 5, n), 121, 80)


@pytest.mark.parametrize("n_jobs", [2, 3])
def test_blocks_of_a_stratum_share_no_user_and_no_item(ratings, n_jobs):
    """Oracle: set intersection of the users (and items) of every pair of blocks in a stratum."""
    strata = Strata(ratings, n_jobs)
    assert sorted(np.concatenate(strata.blocks).tolist()) == list(range(len(ratings)))
    for stratum in strata.strata:
        for a in stratum:
            for b in stratum:
                if a < b:
                    assert not set(ratings.users[strata.blocks[a]]) & set(ratings.users[strata.blocks[b]])
                    assert not set(ratings.items[strata.blocks[a]]) & set(ratings.items[strata.blocks[b]])


def test_groups_are_balanced(ratings):
    """Each of the 2 user groups holds about half the ratings (oracle: the counts; within 10%)."""
    strata = Strata(ratings, 2)
    sizes = [sum(len(strata.blocks[b]) for b in (0, 1)), sum(len(strata.blocks[b]) for b in (2, 3))]
    assert abs(sizes[0] - sizes[1]) < 0.1 * len(ratings)


@pytest.mark.parametrize("shuffle", [False, True])
def test_parallel_fit_is_a_sequential_epoch_in_strata_order(ratings, shuffle):
    """Oracle: sgd_epoch (sequential, Python engine) in the order the strata visit the ratings.

    Tolerance 1e-12: the compiled kernel may fuse multiply-adds; the order is the same.
    """
    model = FunkSVD(n_factors=4, n_epochs=1, lr_all=0.02, random_state=5, shuffle=shuffle, n_jobs=2).fit(ratings)
    rng = np.random.default_rng(5)
    start = Factors.random(ratings.n_users, ratings.n_items, 4, mu=ratings.mean(), random_state=rng)
    strata = Strata(ratings, 2)
    if shuffle:
        strata.shuffle(rng)
    expected = sgd_epoch(start, ratings, "funk", lr=0.02, reg=0.02, order=strata.order())
    for block in expected.blocks:
        np.testing.assert_allclose(model.factors_.params()[block], expected.params()[block], rtol=1e-12, atol=1e-12)


def test_parallel_fit_is_deterministic_and_matches_python_engine(ratings):
    """Same random_state -> bit-identical (oracle: np.array_equal); the Python engine running the
    blocks one by one agrees to 1e-12 (fused multiply-adds only)."""
    kwargs = dict(n_factors=6, n_epochs=4, random_state=1, n_jobs=2)
    a = FunkSVD(**kwargs).fit(ratings).factors_
    b = FunkSVD(**kwargs).fit(ratings).factors_
    c = FunkSVD(engine="python", **kwargs).fit(ratings).factors_
    assert a.equals(b)
    for block in a.blocks:
        np.testing.assert_allclose(a.params()[block], c.params()[block], rtol=1e-12, atol=1e-12)


def test_n_jobs_validation(ratings):
    """Oracle: the ValueError messages."""
    with pytest.raises(ValueError, match="n_jobs"):
        FunkSVD(n_jobs=0).fit(ratings)
    with pytest.raises(ValueError, match="joint schedule"):
        FunkSVD(n_jobs=2, schedule="feature").fit(ratings)
