"""DSGD strata: concurrent blocks share nothing, so a parallel epoch is a sequential one.

Oracles: set intersections of the blocks' users and items; funksvd.sgd_epoch run sequentially
in the strata's visiting order; the Python engine running the same blocks one after another.
"""

from __future__ import annotations

import numpy as np
import pytest

from funksvd import Factors, FunkSVD, Ratings, sgd_epoch
from funksvd.sgd.strata import Strata


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


def _visits(ratings, strata) -> np.ndarray:
    """How often one epoch visits each rating, counted by an instrumented kernel run by the strata.

    The kernel is a stand-in for a rule: it counts ``values[j]`` visits by rating index, so the
    count comes from what :meth:`Strata.run` executes, not from :meth:`Strata.order`.
    """
    counts = np.zeros(len(ratings), dtype=np.int64)

    def counting_epoch(P, Q, bu, bi, mu, users, items, values, order, lr, reg):
        np.add.at(counts, np.asarray(order, dtype=np.int64), 1)
        return 0.0

    strata.run(counting_epoch, (None, None, None, None), 0.0, ratings, None, None)
    return counts


@pytest.mark.parametrize("n_jobs", [2, 3, 5])
def test_an_epoch_visits_every_rating_once_and_every_block_in_one_stratum(ratings, n_jobs):
    """Oracles independent of Strata.order: visit counts of an instrumented kernel (each rating
    exactly once per epoch); the p x p grid enumerated by hand (each block in exactly one
    stratum); set intersections (blocks of one stratum share no user and no item).

    Kills the mutant that builds ``range(p - 1)`` strata (at p = 2 half the ratings unvisited).
    """
    strata = Strata(ratings, n_jobs)
    assert np.array_equal(_visits(ratings, strata), np.ones(len(ratings), dtype=np.int64))
    grid = sorted(b for stratum in strata.strata for b in stratum)
    assert grid == list(range(n_jobs * n_jobs))
    for stratum in strata.strata:
        users = [set(ratings.users[strata.blocks[b]].tolist()) for b in stratum]
        items = [set(ratings.items[strata.blocks[b]].tolist()) for b in stratum]
        assert sum(map(len, users)) == len(set().union(*users))
        assert sum(map(len, items)) == len(set().union(*items))


@pytest.mark.parametrize("n_jobs", [200, 500])
def test_more_jobs_than_users_or_items(ratings, n_jobs):
    """n_jobs >= 182 overflowed int16 group ids (``user_group * p`` wrapped); n_jobs above the
    number of users (121) and items (80) leaves groups empty. Oracle: visit counts of an
    instrumented kernel, every rating once; the sequential python engine on the same order."""
    strata = Strata(ratings, n_jobs)
    assert np.array_equal(_visits(ratings, strata), np.ones(len(ratings), dtype=np.int64))
    model = FunkSVD(n_factors=3, n_epochs=1, random_state=2, shuffle=False, n_jobs=n_jobs, engine="python")
    model.fit(ratings)
    assert np.isfinite(model.history_[0]["loss"])
