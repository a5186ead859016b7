"""Splits of :mod:`funksvd.data.splits`.

Oracles: set arithmetic on rating positions (values that are their own positions); Surprise's
own splitters on the same ratings (when installed); per-user expectations computed by hand.
"""

from __future__ import annotations

import numpy as np
import pytest

from funksvd import Ratings
from funksvd.data import Dataset, kfold, leave_k_out, load_movielens, train_test_split
from tests.conftest import ML100K


@pytest.fixture(scope="module")
def movielens() -> Dataset:
    if not (ML100K / "u.data").is_file():
        pytest.skip(f"MovieLens 100K not found at {ML100K} (the shared data folder is absent)")
    return load_movielens(ML100K)


# ---- splits ------------------------------------------------------------------------------------------


def positional(n: int, n_users=7, n_items=5) -> Ratings:
    """Ratings whose value is their position, so a subset tells which ratings it holds."""
    positions = np.arange(n)
    return Ratings(positions % n_users, positions % n_items, positions.astype(float), n_users, n_items)


@pytest.mark.parametrize("n, test_size, n_test", [(100, 0.2, 20), (101, 0.2, 21), (10, 3, 3), (10, 0.01, 1)])
def test_train_test_split_sizes_and_disjointness(n, test_size, n_test):
    """Oracle: set arithmetic on positions; Surprise's rounding ceil(test_size * n)."""
    ratings = positional(n)
    train, test = train_test_split(ratings, test_size=test_size, random_state=0)
    assert len(test) == n_test and len(train) == n - n_test
    assert not set(train.values) & set(test.values)
    assert set(train.values) | set(test.values) == set(range(n))
    assert train.shape == test.shape == ratings.shape  # id ranges kept
    again, _ = train_test_split(ratings, test_size=test_size, random_state=0)
    assert again == train  # same seed, same split


@pytest.mark.parametrize("test_size", [0.0, 1.0, 10, 0, -1, "a", True])
def test_train_test_split_rejects_bad_sizes(test_size):
    """Both sets must be non-empty (oracle: the ValueError)."""
    with pytest.raises(ValueError, match="test_size"):
        train_test_split(positional(10), test_size=test_size, random_state=0)


@pytest.mark.parametrize("n, n_splits", [(100, 5), (103, 5), (10, 10), (7, 2)])
def test_kfold_covers_every_rating_once(n, n_splits):
    """Oracle: set arithmetic; fold sizes n // k, the first n % k one larger (Surprise's KFold)."""
    ratings = positional(n)
    seen = []
    for f, (train, test) in enumerate(kfold(ratings, n_splits=n_splits, random_state=0)):
        assert len(test) == n // n_splits + (f < n % n_splits)
        assert set(train.values) == set(range(n)) - set(test.values) and len(train) == n - len(test)
        seen.extend(test.values)
    assert sorted(seen) == list(range(n))


def test_kfold_without_shuffle_is_contiguous():
    """shuffle=False: fold f is positions [start, stop) in order (oracle: arange)."""
    folds = [test.values for _, test in kfold(positional(7), n_splits=3, shuffle=False)]
    assert [list(f) for f in folds] == [[0, 1, 2], [3, 4], [5, 6]]
    with pytest.raises(ValueError, match="n_splits"):
        next(kfold(positional(7), n_splits=8))


def test_splits_equal_surprise_on_movielens(movielens):
    """Oracle: Surprise's own train_test_split and KFold on u.data, same seed (skipped without Surprise)."""
    surprise = pytest.importorskip("surprise")
    from surprise.model_selection import KFold
    from surprise.model_selection import train_test_split as surprise_split

    data = surprise.Dataset.load_from_file(str(ML100K / "u.data"), surprise.Reader("ml-100k"))

    def triples(r: Ratings):
        return list(zip(movielens.raw_user(r.users).tolist(), movielens.raw_item(r.items).tolist(),
                        r.values.tolist()))

    _, test = train_test_split(movielens.ratings, test_size=0.2, random_state=0)
    _, surprise_test = surprise_split(data, test_size=0.2, random_state=0)
    assert triples(test) == [(int(u), int(i), r) for u, i, r in surprise_test]
    ours = [triples(test) for _, test in kfold(movielens.ratings, n_splits=5, random_state=1)]
    theirs = [[(int(u), int(i), r) for u, i, r in test] for _, test in KFold(5, random_state=1).split(data)]
    assert ours == theirs


# ---- leave_k_out ----------------------------------------------------------------------------------


def per_user() -> Ratings:
    """Users 0 (3 ratings), 1 (2), 2 (1); each value is its position."""
    return Ratings([0, 0, 0, 1, 1, 2], [0, 1, 2, 0, 1, 2], [0.0, 1, 2, 3, 4, 5], n_users=4, n_items=3)


TIMES = [30, 10, 20, 5, 6, 1]


@pytest.mark.parametrize(
    "k, times, test_positions",
    [
        (1, TIMES, [0, 4]),  # user 0's latest is position 0 (30), user 1's position 4 (6); user 2 has only 1
        (2, TIMES, [0, 2]),  # user 0: 30 and 20; user 1 has exactly k=2 ratings: kept whole
        (1, [5, 5, 5, 7, 7, 0], [2, 4]),  # equal times: the later position counts as later
        (3, TIMES, None),  # nobody has more than 3 ratings
    ],
)
def test_leave_k_out_by_time(k, times, test_positions):
    """Oracle: each user's k latest ratings, picked by hand from the literal times."""
    if test_positions is None:
        with pytest.raises(ValueError, match="no user has more than k=3 ratings"):
            leave_k_out(per_user(), k=k, by="time", timestamps=times)
        return
    train, test = leave_k_out(per_user(), k=k, by="time", timestamps=times)
    assert test.values.tolist() == test_positions
    assert train.values.tolist() == sorted(set(range(6)) - set(test_positions))
    assert train.shape == test.shape == (4, 3)


def test_leave_k_out_uses_dataset_timestamps():
    """A Dataset brings its own timestamps (oracle: the same hand-picked positions as above)."""
    data = Dataset(per_user(), [10, 11, 12, 13], [7, 8, 9], timestamps=TIMES)
    _, test = leave_k_out(data, k=1, by="time")
    assert test.ratings.values.tolist() == [0, 4]
    assert test.timestamps.tolist() == [TIMES[0], TIMES[4]]


def test_splits_of_a_dataset_are_datasets_with_its_ids():
    """Splitting a Dataset keeps its raw ids, titles and the timestamps of each half; splitting
    Ratings gives Ratings; the positions are those of the Ratings split (oracle: the Ratings
    split of the same seed, and raw id 197 of index 196 written out by hand).

    Old behaviour caught: splits of a Dataset returned bare Ratings, so a model fitted on the
    training half read raw user 196 as index 196.
    """
    ratings = positional(40, n_users=5, n_items=8)
    users, items = np.arange(1, 6) * 10 + 7, np.arange(101, 109)
    times = np.arange(40) * 3 + 1000
    titles = [f"movie {i}" for i in items]
    data = Dataset(ratings, users, items, timestamps=times, item_titles=titles,
                   item_attributes={"genres": np.array(["g"] * 8, dtype=object)})
    splits = {"train_test_split": (train_test_split(data, random_state=0), train_test_split(ratings, random_state=0)),
              "kfold": (next(iter(kfold(data, 4, random_state=1))), next(iter(kfold(ratings, 4, random_state=1)))),
              "leave_k_out": (leave_k_out(data, k=2, random_state=2), leave_k_out(ratings, k=2, random_state=2))}
    for name, (of_data, of_ratings) in splits.items():
        for half, bare in zip(of_data, of_ratings):
            assert isinstance(half, Dataset) and type(bare) is Ratings, name
            assert half.ratings == bare, name
            assert half.user_map is data.user_map and half.item_map is data.item_map, name
            assert half.item_titles.tolist() == titles and half.item_attributes["genres"].tolist() == ["g"] * 8
            # ratings.values[j] = j (positional), so each half's timestamps are those of its positions
            assert half.timestamps.tolist() == (bare.values.astype(int) * 3 + 1000).tolist(), name
    assert splits["train_test_split"][0][0].raw_user(1) == 27


def test_leave_k_out_random_holds_k_per_user_uniformly():
    """Exactly k per user with more than k; same seed same split; every rating can be drawn (oracle: counts)."""
    ratings = positional(60, n_users=6, n_items=5)  # 10 ratings per user
    train, test = leave_k_out(ratings, k=3, random_state=0)
    np.testing.assert_array_equal(np.bincount(test.users, minlength=6), [3] * 6)
    assert set(train.values) | set(test.values) == set(range(60)) and not set(train.values) & set(test.values)
    again_train, again_test = leave_k_out(ratings, k=3, random_state=0)
    assert again_test == test and again_train == train
    assert leave_k_out(ratings, k=3, random_state=np.random.default_rng(0))[1].shape == test.shape
    drawn = set()
    for seed in range(40):
        drawn |= set(leave_k_out(per_user(), k=1, random_state=seed)[1].values.tolist())
    assert drawn == {0, 1, 2, 3, 4}  # user 2 (one rating) is never held out; all others sometimes


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"k": 0}, "k must be a positive integer"),
        ({"k": 1.5}, "k must be a positive integer"),
        ({"k": True}, "k must be a positive integer"),
        ({"by": "date"}, 'by must be "random" or "time"'),
        ({"by": "time"}, "needs timestamps"),
        ({"by": "time", "timestamps": [1, 2]}, r"one entry per rating \(6\)"),
        ({"by": "time", "timestamps": ["a"] * 6}, "timestamps must be finite numbers"),
        ({"by": "time", "timestamps": [1.0, 2, 3, 4, 5, np.nan]}, "timestamps must be finite numbers"),
    ],
)
def test_leave_k_out_bad_arguments(kwargs, message):
    """Oracle: the documented ValueError."""
    with pytest.raises(ValueError, match=message):
        leave_k_out(per_user(), **kwargs)
