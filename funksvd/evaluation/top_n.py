r"""Top-N recommendation from fitted factors: the engine of ``FunkSVD.recommend``.

Every candidate item :math:`i` of user :math:`u` is scored with the model's prediction

.. math:: s_{ui} = \mu + b_u + b_i + p_u^\top q_i

and the ``n`` best are returned, best first. Scores are computed for a batch of users at a
time, so memory is :math:`O(\text{batch} \times n_\text{items})`, never
:math:`n_\text{users} \times n_\text{items}`.
"""

from __future__ import annotations

import numpy as np

from ..model.factors import Factors, predict_pairs
from ..base.progress import progress_bar
from ..base.validation import indices_within, positive_int
from ..model.ratings import Ratings, check_within

__all__ = ["top_n", "items_by_user", "pairs_in"]

#: Scores held at once (batch rows x candidate items): 2**21 float64 = 16 MiB.
_SCORES_PER_BATCH = 1 << 21


def items_by_user(ratings: Ratings, n_users: int) -> tuple[np.ndarray, np.ndarray]:
    """The items of each user, CSR-like: user ``u`` rated ``items[indptr[u]:indptr[u + 1]]``.

    Built once in :math:`O(|\\mathcal K| \\log |\\mathcal K|)`; within a user, items keep the order
    of ``ratings``. ``n_users`` may exceed ``ratings.n_users`` (users without ratings).
    """
    order = np.argsort(ratings.users, kind="stable")
    counts = np.bincount(ratings.users, minlength=n_users)
    indptr = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    return indptr, ratings.items[order]


def pairs_in(pairs: Ratings, reference: Ratings) -> np.ndarray:
    """A mask over ``pairs``: True where its (user, item) pair is also in ``reference``.

    One sort of both sets of pairs by (user, item), :math:`O(m \\log m)`; no key
    :math:`u \\cdot n_\\text{items} + i` (which could overflow int64).
    """
    users = np.concatenate([reference.users, pairs.users]).astype(np.int64, copy=False)
    items = np.concatenate([reference.items, pairs.items]).astype(np.int64, copy=False)
    asked = np.concatenate([np.zeros(len(reference), np.int8), np.ones(len(pairs), np.int8)])
    order = np.lexsort((asked, items, users))  # within a pair, the reference's copies sort first
    new_pair = np.ones(len(order), bool)
    new_pair[1:] = (np.diff(users[order]) != 0) | (np.diff(items[order]) != 0)
    first = np.maximum.accumulate(np.where(new_pair, np.arange(len(order)), 0))  # first sorted entry of each pair
    found = asked[order][first] == 0
    out = np.empty(len(pairs), bool)
    mine = asked[order] == 1
    out[order[mine] - len(reference)] = found[mine]
    return out


def _segments(indptr: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(row number, position)`` of every entry of the CSR segments of ``rows``, without a Python loop."""
    starts, lengths = indptr[rows], indptr[rows + 1] - indptr[rows]
    total = int(lengths.sum())
    which = np.repeat(np.arange(len(rows), dtype=np.int64), lengths)
    offsets = np.cumsum(lengths) - lengths
    positions = np.arange(total, dtype=np.int64) - np.repeat(offsets, lengths) + np.repeat(starts, lengths)
    return which, positions


def _check_users(users, n_users: int) -> np.ndarray:
    array = np.asarray(users)
    if array.size == 0 and array.ndim == 1:
        return np.zeros(0, dtype=np.int64)
    if array.dtype == bool or not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"users must be integer user indices, got dtype {array.dtype}")
    if array.ndim > 1:
        raise ValueError(f"users must be one user index or a 1-D array of them, got shape {array.shape}")
    flat = array.reshape(-1).astype(np.int64)
    indices_within(flat, n_users, "users", "the factors have")
    return flat


def _check_candidates(candidates, n_items: int) -> np.ndarray:
    """Candidate item indices, ascending (so column order is item order, for the tie rule)."""
    if candidates is None:
        return np.arange(n_items, dtype=np.int64)
    array = np.asarray(candidates)
    if array.ndim == 1 and array.size == 0:
        return np.zeros(0, dtype=np.int64)  # no candidates: every list is all padding
    if array.dtype == bool:
        if array.shape != (n_items,):
            raise ValueError(f"a boolean candidates mask needs one entry per item ({n_items}), got shape {array.shape}")
        return np.flatnonzero(array).astype(np.int64)
    if array.ndim != 1 or not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"candidates must be a 1-D array of item indices or a boolean mask, got "
                         f"{array.dtype} of shape {array.shape}")
    array = array.astype(np.int64)
    indices_within(array, n_items, "candidates", "the factors have", "items")
    ordered = np.sort(array)
    repeated = np.flatnonzero(np.diff(ordered) == 0)
    if repeated.size:
        raise ValueError(f"candidates lists item {ordered[repeated[0]]} more than once")
    return ordered


def _best_columns(scores: np.ndarray, n: int) -> np.ndarray:
    """Columns of the ``n`` largest scores of each row, best first; ties by lower column.

    ``numpy.partition`` (introselect, linear time) finds each row's ``n``-th largest score
    :math:`t`; all columns above :math:`t` are kept, and those equal to :math:`t` are taken
    lowest column first until ``n`` are chosen (``argpartition`` alone would pick among ties
    arbitrarily). Only those ``n`` are sorted, stably, so equal scores stay in column order.
    """
    rows, width = scores.shape
    if n < width:
        t = np.partition(scores, width - n, axis=1)[:, width - n:width - n + 1]
        chosen = scores > t
        tied = scores == t
        room = n - chosen.sum(axis=1)
        crowded = np.flatnonzero(tied.sum(axis=1) > room)  # more ties than places: rare, so only these rows
        tied[crowded] &= np.cumsum(tied[crowded], axis=1) <= room[crowded, None]
        chosen |= tied
        columns = np.nonzero(chosen)[1].reshape(rows, n)  # row-major: ascending columns per row
    else:
        columns = np.broadcast_to(np.arange(width, dtype=np.int64), (rows, width))
    order = np.argsort(-np.take_along_axis(scores, columns, axis=1), axis=1, kind="stable")
    return np.take_along_axis(columns, order, axis=1)


def top_n(factors: Factors, users, n: int = 10, exclude: Ratings | None = None, candidates=None,
          batch_size: int | None = None, verbose: bool = False) -> tuple[np.ndarray, np.ndarray]:
    r"""The ``n`` highest-scoring items of each user, best first.

    Parameters
    ----------
    factors : Factors
        Fitted parameters :math:`(P, Q, b_u, b_i, \mu)`.
    users : int or array_like of int, shape (n_users_asked,)
        0-based user indices.
    n : int, default 10
        Length of each list.
    exclude : Ratings, optional
        Items never to recommend to their user, typically the training ratings (an item a user
        has rated is not a discovery). Indexed once into a per-user CSR lookup.
    candidates : array_like of int or of bool, optional
        Restrict the recommendations to these items (indices, or a mask over all items);
        default all items.
    batch_size : int, optional
        Users scored at once. Default: as many as keep about :math:`2^{21}` scores
        (16 MiB) in memory.
    verbose : bool, default False
        Show a progress bar over the users (tqdm, on stderr).

    Returns
    -------
    items : numpy.ndarray of int64, shape (n_users_asked, n)
        Item indices, best first; ``items[j]`` is the list of ``users[j]``.
    scores : numpy.ndarray of float64, shape (n_users_asked, n)
        Their scores :math:`s_{ui}`. For a scalar ``users`` both arrays are 1-D, shape ``(n,)``.

    Raises
    ------
    ValueError
        On user, candidate or excluded ids out of range, a repeated candidate, ``n < 1``, or
        scores that overflow to infinity.

    Notes
    -----
    Each candidate :math:`i \in C_u = C \setminus \{i : (u, i) \in \text{exclude}\}` is scored

    .. math:: s_{ui} = \mu + b_u + b_i + p_u^\top q_i

    (without :math:`b_u, b_i` for an unbiased model) and the list is the first ``n`` items
    of :math:`C_u` ordered by decreasing :math:`s_{ui}`, **ties broken by the lower item
    index**, so the result is deterministic. The scores are the raw predictions: no link
    function, no clipping (neither changes the order).

    **Fewer than n candidates.** When :math:`|C_u| < n` the list holds the :math:`|C_u|`
    items, then padding: item ``-1`` with score ``-inf``. The ranking metrics of
    :mod:`funksvd.evaluation` read ``-1`` as "no item here".

    Cost: :math:`O(n_\text{users}\, n_\text{items}\, k)` to score, plus a partial selection
    (``numpy.partition``) per user and a sort of only the ``n`` selected.

    Examples
    --------
    >>> items, scores = top_n(model.factors_, [0, 1], n=5, exclude=train)   # doctest: +SKIP
    """
    if not isinstance(factors, Factors):
        raise TypeError(f"factors must be a funksvd.Factors, got {type(factors).__name__}")
    n = positive_int(n, "n")
    scalar = np.ndim(users) == 0
    users = _check_users(users, factors.n_users)
    items = _check_candidates(candidates, factors.n_items)
    column_of = indptr = rated = None
    if exclude is not None:
        check_within(exclude, factors.n_users, factors.n_items, "exclude")
        indptr, rated = items_by_user(exclude, factors.n_users)
        column_of = np.full(factors.n_items, -1, dtype=np.int64)
        column_of[items] = np.arange(len(items))
    width = len(items)
    if batch_size is None:
        batch_size = max(1, _SCORES_PER_BATCH // max(width, 1))
    else:
        batch_size = positive_int(batch_size, "batch_size")

    out_items = np.full((len(users), n), -1, dtype=np.int64)
    out_scores = np.full((len(users), n), -np.inf, dtype=np.float64)
    keep = min(n, width)
    with progress_bar(len(users), "top-n", verbose, unit="user") as bar:
        for start in range(0, len(users), int(batch_size)):
            _top_batch(factors, users[start:start + int(batch_size)], items, column_of, indptr, rated, keep,
                       out_items[start:start + int(batch_size)], out_scores[start:start + int(batch_size)])
            bar.update(min(int(batch_size), len(users) - start))
    if scalar:
        return out_items[0], out_scores[0]
    return out_items, out_scores


def _top_batch(factors, batch, items, column_of, indptr, rated, keep, out_items, out_scores) -> None:
    """Score the users ``batch`` against the candidate ``items``; write their best ``keep`` into the outputs."""
    width = len(items)
    with np.errstate(over="ignore", invalid="ignore"):  # overflow is detected and reported just below
        scores = predict_pairs(factors.P, factors.Q, factors.bu, factors.bi, factors.mu, batch, items, outer=True)
    if not np.all(np.isfinite(scores)):
        row, col = np.argwhere(~np.isfinite(scores))[0]
        raise ValueError(f"the score of user {batch[row]}, item {items[col]} is {scores[row, col]}: "
                         "the factors are too large for float64")
    available = np.full(len(batch), width, dtype=np.int64)
    if column_of is not None:
        which, positions = _segments(indptr, batch)
        columns = column_of[rated[positions]]
        inside = columns >= 0
        banned = np.zeros(scores.shape, dtype=bool)
        banned[which[inside], columns[inside]] = True  # a pair rated twice is banned once
        available -= banned.sum(axis=1)
        scores[banned] = -np.inf
    if width == 0:
        return
    best = _best_columns(scores, keep)
    chosen_scores = np.take_along_axis(scores, best, axis=1)
    chosen_items = items[best]
    padding = np.arange(keep)[None, :] >= available[:, None]
    chosen_items[padding] = -1
    chosen_scores[padding] = -np.inf
    out_items[:, :keep] = chosen_items
    out_scores[:, :keep] = chosen_scores
