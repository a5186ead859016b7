r"""Splitting ratings for evaluation: at random (Surprise's conventions), k-fold, and per user."""

from __future__ import annotations

import math

import numpy as np

from ..base.rng import surprise_random_state
from ..base.validation import positive_int
from ..model.ratings import Ratings
from .dataset import Dataset

__all__ = ["kfold", "leave_k_out", "train_test_split"]


def _check_ratings(ratings) -> Ratings:
    if isinstance(ratings, Dataset):
        return ratings.ratings
    if not isinstance(ratings, Ratings):
        raise TypeError(f"ratings must be a funksvd.Ratings (or Dataset), got {type(ratings).__name__}")
    return ratings


def _subset(data, index: np.ndarray):
    """The ratings at ``index`` as what was split: a Ratings, or a Dataset with the same ids, titles, attributes."""
    if not isinstance(data, Dataset):
        return data.subset(index)
    return Dataset(data.ratings.subset(index), data.user_map, data.item_map,
                   None if data.timestamps is None else data.timestamps[index], data.item_titles,
                   data.item_attributes, data.user_attributes, data.source)


def train_test_split(ratings, test_size=0.2, random_state=None) -> tuple[Ratings, Ratings]:
    r"""Split the ratings at random into a training and a test set.

    Parameters
    ----------
    ratings : Ratings or Dataset
    test_size : float or int, default 0.2
        A fraction in (0, 1) of the ratings (rounded up, as Surprise does) or a count.
    random_state : int, numpy Generator or RandomState, optional
        An int seeds ``numpy.random.RandomState``, as in Surprise, so ratings in the same order
        (e.g. ``u.data`` in file order) give exactly Surprise's
        ``train_test_split(data, test_size, random_state=seed)``. ``None``: fresh entropy.

    Returns
    -------
    train, test : Ratings or Dataset
        Of the type given (a ``Dataset`` keeps its raw ids, titles and attributes, and the
        timestamps of its ratings, so a model fitted on ``train`` speaks raw ids). With ``perm`` a random
        permutation of the rating positions and
        ``n_train = len(ratings) - n_test``, ``train`` holds ``perm[:n_train]`` and ``test``
        ``perm[n_train:]``, in that order (what Surprise 1.1's ``ShuffleSplit`` does). Both
        keep the id ranges ``n_users, n_items`` of ``ratings``, so a model fitted on ``train``
        can be evaluated on ``test``.
    """
    data, ratings = ratings, _check_ratings(ratings)
    n = len(ratings)
    if isinstance(test_size, (float, np.floating)):
        if not 0.0 < test_size < 1.0:
            raise ValueError(f"test_size must be a fraction in (0, 1) or a count, got {test_size!r}")
        n_test = math.ceil(test_size * n)
    elif isinstance(test_size, (int, np.integer)) and not isinstance(test_size, bool):
        n_test = int(test_size)
    else:
        raise ValueError(f"test_size must be a float fraction or an int count, got {test_size!r}")
    if not 1 <= n_test <= n - 1:
        raise ValueError(f"test_size={test_size!r} leaves {n_test} test and {n - n_test} training ratings "
                         f"out of {n}; both sets need at least one")
    permutation = np.asarray(surprise_random_state(random_state).permutation(n), dtype=np.int64)
    n_train = n - n_test
    return _subset(data, permutation[:n_train]), _subset(data, permutation[n_train:])


def kfold(ratings, n_splits=5, random_state=None, shuffle=True):
    r"""K-fold cross-validation splits, with the semantics of Surprise's ``KFold``.

    Parameters
    ----------
    ratings : Ratings or Dataset
    n_splits : int, default 5
        Number of folds, at least 2 and at most ``len(ratings)``.
    random_state : int, numpy Generator or RandomState, optional
        As in :func:`train_test_split` (an int seeds ``RandomState``, like Surprise).
    shuffle : bool, default True
        Shuffle the rating positions once before cutting the folds.

    Yields
    ------
    train, test : Ratings or Dataset
        Of the type given, as in :func:`train_test_split`. The positions (shuffled once) are cut into
        ``n_splits`` contiguous folds, the first
        ``n % n_splits`` of them one rating longer; fold ``f`` is the test set and the others,
        in order, the training set. Every rating is in exactly one test set.
    """
    data, ratings = ratings, _check_ratings(ratings)
    n = len(ratings)
    if isinstance(n_splits, bool) or not isinstance(n_splits, (int, np.integer)) or not 2 <= n_splits <= n:
        raise ValueError(f"n_splits must be an integer in [2, {n}] (the number of ratings), got {n_splits!r}")
    indices = np.arange(n, dtype=np.int64)
    if shuffle:
        surprise_random_state(random_state).shuffle(indices)
    stop = 0
    for fold in range(int(n_splits)):
        start = stop
        stop += n // n_splits + (1 if fold < n % n_splits else 0)
        yield _subset(data, np.concatenate([indices[:start], indices[stop:]])), _subset(data, indices[start:stop])


def leave_k_out(ratings, k=1, random_state=None, by="random", timestamps=None) -> tuple[Ratings, Ratings]:
    r"""Hold out ``k`` ratings of every user, for ranking evaluation (leave-one-out for ``k=1``).

    Parameters
    ----------
    ratings : Ratings or Dataset
    k : int, default 1
        Ratings held out per user. A user with ``k`` ratings or fewer keeps them all in
        ``train`` (held out, they would leave the model nothing to know the user by).
    random_state : int, numpy Generator or RandomState, optional
        For ``by="random"``, as in :func:`train_test_split`.
    by : {"random", "time"}, default "random"
        ``"random"``: ``k`` ratings drawn uniformly from each user's ratings. ``"time"``: each
        user's ``k`` latest ratings (equal times: the later in ``ratings`` counts as later),
        the usual protocol for next-item evaluation.
    timestamps : array_like of int, optional
        One time per rating, for ``by="time"``; default the ``timestamps`` of a ``Dataset``.

    Returns
    -------
    train, test : Ratings or Dataset
        Of the type given, as in :func:`train_test_split`. The held-out ratings and the rest, each in the
        original order, with the id ranges of
        ``ratings``. ``len(test) == k * (number of users with more than k ratings)``.

    Raises
    ------
    ValueError
        For ``k`` not a positive integer, an unknown ``by``, ``by="time"`` without timestamps
        (or with one per rating missing), or a split that holds out nothing.

    Examples
    --------
    >>> from funksvd import Ratings
    >>> R = Ratings([0, 0, 0, 1, 1], [0, 1, 2, 0, 1], [5.0, 4.0, 3.0, 2.0, 1.0])
    >>> train, test = leave_k_out(R, k=1, by="time", timestamps=[30, 10, 20, 5, 6])
    >>> test.items.tolist(), train.items.tolist()
    ([0, 1], [1, 2, 0])
    """
    if by not in ("random", "time"):
        raise ValueError(f'by must be "random" or "time", got {by!r}')
    positive_int(k, "k")
    if by == "time" and timestamps is None and isinstance(ratings, Dataset):
        timestamps = ratings.timestamps
    data, ratings = ratings, _check_ratings(ratings)
    n = len(ratings)
    if by == "time":
        if timestamps is None:
            raise ValueError('by="time" needs timestamps: pass timestamps=, or a Dataset loaded with them')
        key = np.asarray(timestamps)
        if key.shape != (n,):
            raise ValueError(f"timestamps must have one entry per rating ({n}), got shape {key.shape}")
        if key.dtype.kind not in "iufM" or (key.dtype.kind == "f" and not np.all(np.isfinite(key))):
            raise ValueError(f"timestamps must be finite numbers or datetimes, got dtype {key.dtype}")
    else:
        key = surprise_random_state(random_state).random(n)
    order = np.lexsort((np.arange(n), key, ratings.users))  # by user, then key, then position
    counts = np.bincount(ratings.users, minlength=ratings.n_users)
    ends = np.cumsum(counts)
    user = ratings.users[order]
    from_end = ends[user] - 1 - np.arange(n)  # 0 for each user's last rating in this order
    held = np.zeros(n, dtype=bool)
    held[order] = (from_end < k) & (counts[user] > k)
    if not held.any():
        raise ValueError(f"no user has more than k={k} ratings, so nothing can be held out")
    return _subset(data, np.flatnonzero(~held)), _subset(data, np.flatnonzero(held))
