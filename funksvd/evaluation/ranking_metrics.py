r"""Ranking metrics of top-N lists against held-out relevant items, and catalogue coverage.

Each metric takes ``recommended`` (one list per user, best first, as :func:`~funksvd.evaluation.top_n`
returns them; ``-1`` pads a short list) and ``relevant`` (one collection of relevant items per
user, in the same order) and returns the mean over users of a per-user value. Relevance is
binary. With :math:`L_u` the first :math:`k` items recommended to :math:`u`,
:math:`\mathrm{rel}_u(j) = 1` when the item at rank :math:`j` is in :math:`R_u`, and
:math:`\mathrm{hits}_u = |L_u \cap R_u|`:

.. math::

    \mathrm{P@}k = \frac{\mathrm{hits}_u}{k}, \quad
    \mathrm{R@}k = \frac{\mathrm{hits}_u}{|R_u|}, \quad
    \mathrm{nDCG@}k = \frac{\sum_{j=1}^{k} \mathrm{rel}_u(j) / \log_2(j + 1)}
                          {\sum_{j=1}^{\min(k, |R_u|)} 1 / \log_2(j + 1)}, \quad
    \mathrm{AP@}k = \frac{1}{\min(k, |R_u|)} \sum_{j=1}^{k} \mathrm{rel}_u(j)\, \mathrm{P@}j.

**Users without relevant items** (:math:`R_u = \emptyset`) have no recall, nDCG or AP: they
are skipped by every metric (precision too, so all four average over the same users), and
counted: ``per_user=True`` marks them NaN, :func:`evaluate_ranking` reports how many.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..base.errors import InputError
from ..model.factors import Factors
from ..base.validation import positive_int
from ..model.ratings import Ratings, check_within
from .top_n import top_n

__all__ = ["precision_at_k", "recall_at_k", "ndcg_at_k", "map_at_k", "coverage", "evaluate_ranking"]


# ---- input checks ---------------------------------------------------------------------------------


def _check_k(k) -> int:
    return positive_int(k, "k")


def _lists(recommended, k: int) -> np.ndarray:
    """The first ``k`` items of each list as an int64 ``(n_users, k)`` array padded with -1; checked."""
    if isinstance(recommended, np.ndarray) and recommended.ndim != 2:
        raise ValueError(f"recommended must hold one list per user (2-D), got shape {recommended.shape}")
    if isinstance(recommended, np.ndarray) and recommended.ndim == 2:
        if recommended.dtype == bool or not np.issubdtype(recommended.dtype, np.integer):
            raise ValueError(f"recommended must hold integer item indices, got dtype {recommended.dtype}")
        lists = np.full((recommended.shape[0], k), -1, dtype=np.int64)
        width = min(k, recommended.shape[1])
        lists[:, :width] = recommended[:, :width]
    else:
        given = [np.asarray(row) for row in recommended]
        lists = np.full((len(given), k), -1, dtype=np.int64)
        for u, row in enumerate(given):
            if row.ndim != 1 or (row.size and (row.dtype == bool or not np.issubdtype(row.dtype, np.integer))):
                raise ValueError(f"recommended[{u}] must be a 1-D list of integer item indices, got {row!r}")
            lists[u, :min(k, row.size)] = row[:k]
    below = np.argwhere(lists < -1)
    if len(below):
        u, j = below[0]
        raise ValueError(f"recommended[{u}][{j}] = {lists[u, j]} is not an item index (-1 marks padding)")
    gap = np.argwhere((lists[:, :-1] == -1) & (lists[:, 1:] >= 0))
    if len(gap):
        u, j = gap[0]
        raise ValueError(f"recommended[{u}] has an item after the padding -1 at rank {j + 1}; "
                         "padding may only end a list")
    rows, ranks = np.nonzero(lists >= 0)
    items = lists[rows, ranks]
    order = np.lexsort((items, rows))
    repeated = np.flatnonzero((np.diff(rows[order]) == 0) & (np.diff(items[order]) == 0))
    if repeated.size:
        j = order[repeated[0] + 1]
        raise ValueError(f"recommended[{rows[j]}] lists item {items[j]} twice; a top-N list names each item once")
    return lists


def _relevant(relevant, n_users: int) -> tuple[np.ndarray, np.ndarray]:
    """Relevant items as a CSR ``(indptr, items)``, each user's items distinct and ascending."""
    sets = list(relevant)
    if len(sets) != n_users:
        raise ValueError(f"relevant has {len(sets)} entries but recommended has {n_users} lists; "
                         "give one collection of relevant items per list")
    parts = []
    for u, items in enumerate(sets):
        array = np.asarray(sorted(items) if isinstance(items, (set, frozenset)) else items)
        if array.size == 0:
            parts.append(np.zeros(0, dtype=np.int64))
            continue
        if array.ndim != 1 or array.dtype == bool or not np.issubdtype(array.dtype, np.integer):
            raise ValueError(f"relevant[{u}] must be a collection of integer item indices, got {items!r}")
        if array.min() < 0:
            raise ValueError(f"relevant[{u}] holds {array.min()}, not an item index")
        parts.append(np.unique(array.astype(np.int64)))  # a set: an item held out twice is relevant once
    counts = np.array([len(p) for p in parts], dtype=np.int64)
    indptr = np.zeros(n_users + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    return indptr, (np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64))


@dataclass(frozen=True)
class _Hits:
    """``hit[u, j]``: the item at rank ``j + 1`` of list ``u`` is relevant; ``n_relevant[u] = |R_u|``."""

    hit: np.ndarray
    n_relevant: np.ndarray

    @property
    def evaluated(self) -> np.ndarray:
        return self.n_relevant > 0


def _hits(lists: np.ndarray, indptr: np.ndarray, relevant_items: np.ndarray) -> _Hits:
    """Match recommended (user, item) pairs with relevant ones by one sort, without a dense matrix."""
    n_users, k = lists.shape
    rows, ranks = np.nonzero(lists >= 0)
    n_relevant = np.diff(indptr)
    users = np.concatenate([np.repeat(np.arange(n_users, dtype=np.int64), n_relevant), rows])
    items = np.concatenate([relevant_items, lists[rows, ranks]])
    recommended = np.concatenate([np.zeros(len(relevant_items), bool), np.ones(len(rows), bool)])
    order = np.lexsort((recommended, items, users))  # a relevant pair sorts just before its recommended twin
    same = (np.diff(users[order]) == 0) & (np.diff(items[order]) == 0)
    matched = order[1:][same] - len(relevant_items)  # positions among the recommended pairs
    hit = np.zeros((n_users, k), dtype=bool)
    hit[rows[matched], ranks[matched]] = True
    return _Hits(hit, n_relevant)


def _prepare(recommended, relevant, k) -> _Hits:
    k = _check_k(k)
    lists = _lists(recommended, k)
    indptr, items = _relevant(relevant, len(lists))
    return _hits(lists, indptr, items)


def _finish(values: np.ndarray, hits: _Hits, per_user: bool, name: str):
    values = np.where(hits.evaluated, values, np.nan)
    if per_user:
        return values
    if not hits.evaluated.any():
        raise ValueError(f"{name}: no user has a relevant item, so there is nothing to average")
    return float(np.mean(values[hits.evaluated]))


# ---- per-user formulas (one place each) -------------------------------------------------------------


def _precision(h: _Hits) -> np.ndarray:
    return h.hit.sum(axis=1) / h.hit.shape[1]


def _recall(h: _Hits) -> np.ndarray:
    return h.hit.sum(axis=1) / np.maximum(h.n_relevant, 1)


def _discounts(k: int) -> np.ndarray:
    r""":math:`1 / \log_2(j + 1)` for ranks :math:`j = 1..k`."""
    return 1.0 / np.log2(np.arange(2, k + 2, dtype=np.float64))


def _ndcg(h: _Hits) -> np.ndarray:
    k = h.hit.shape[1]
    discount = _discounts(k)
    dcg = h.hit @ discount
    ideal = np.concatenate([[0.0], np.cumsum(discount)])[np.minimum(h.n_relevant, k)]
    return dcg / np.where(ideal > 0, ideal, 1.0)


def _average_precision(h: _Hits) -> np.ndarray:
    k = h.hit.shape[1]
    precision_at_j = np.cumsum(h.hit, axis=1) / np.arange(1, k + 1)
    return (h.hit * precision_at_j).sum(axis=1) / np.maximum(np.minimum(h.n_relevant, k), 1)


# ---- public metrics ---------------------------------------------------------------------------------

_PARAMETERS = """
    Parameters
    ----------
    recommended : array_like of int, shape (n_users, n) or a sequence of lists
        Item indices recommended to each user, best first. Only the first ``k`` count; a list
        shorter than ``k`` (or ending in ``-1`` padding, as :func:`top_n` pads) has misses in
        the missing places. An item listed twice within the first ``k`` is an error.
    relevant : sequence of collections of int, one per list
        The relevant (held-out) items of each user; order is irrelevant, repeats count once.
    k : int, default 10
        Cut-off.
    per_user : bool, default False
        Return the value of every user (``NaN`` for a user without relevant items) instead of
        the mean over users with relevant items.

    Returns
    -------
    float or numpy.ndarray of float64

    Raises
    ------
    ValueError
        On malformed lists (an item twice, a negative index other than trailing ``-1``
        padding, lengths that do not match) or, for the mean, when no user has a relevant item.
"""


def precision_at_k(recommended, relevant, k: int = 10, per_user: bool = False):
    r"""Precision at :math:`k`: the share of the first :math:`k` places that hold a relevant item.
    {parameters}
    Notes
    -----
    .. math:: \mathrm{{P@}}k(u) = \frac{{|L_u \cap R_u|}}{{k}}

    with :math:`L_u` the first :math:`k` items recommended to :math:`u` and :math:`R_u` its
    relevant items. The denominator is :math:`k` even for a shorter list (an empty place is
    a miss); libraries that divide by the list length instead agree whenever the lists are
    full, as :func:`top_n`'s are unless the candidates run out. The result is the mean of
    :math:`\mathrm{{P@}}k(u)` over users with :math:`R_u \neq \emptyset`.
    """
    h = _prepare(recommended, relevant, k)
    return _finish(_precision(h), h, per_user, "precision_at_k")


def recall_at_k(recommended, relevant, k: int = 10, per_user: bool = False):
    r"""Recall at :math:`k`: the share of the relevant items found in the first :math:`k` places.
    {parameters}
    Notes
    -----
    .. math:: \mathrm{{R@}}k(u) = \frac{{|L_u \cap R_u|}}{{|R_u|}}

    (so a user with more than :math:`k` relevant items cannot reach 1), averaged over users
    with :math:`R_u \neq \emptyset`.
    """
    h = _prepare(recommended, relevant, k)
    return _finish(_recall(h), h, per_user, "recall_at_k")


def ndcg_at_k(recommended, relevant, k: int = 10, per_user: bool = False):
    r"""Normalised discounted cumulative gain at :math:`k`, binary relevance.
    {parameters}
    Notes
    -----
    .. math::

        \mathrm{{DCG@}}k(u) = \sum_{{j=1}}^{{k}} \frac{{\mathrm{{rel}}_u(j)}}{{\log_2(j + 1)}}, \qquad
        \mathrm{{nDCG@}}k(u) = \frac{{\mathrm{{DCG@}}k(u)}}{{\sum_{{j=1}}^{{\min(k, |R_u|)}} 1 / \log_2(j + 1)}}

    where :math:`\mathrm{{rel}}_u(j) \in \{{0, 1\}}` says whether the item at rank :math:`j` is
    relevant. The denominator is the DCG of an ideal list (every relevant item first, as many
    as fit in :math:`k`), so the value lies in :math:`[0, 1]` and is 1 exactly for an ideal
    list. Averaged over users with :math:`R_u \neq \emptyset`.
    """
    h = _prepare(recommended, relevant, k)
    return _finish(_ndcg(h), h, per_user, "ndcg_at_k")


def map_at_k(recommended, relevant, k: int = 10, per_user: bool = False):
    r"""Mean average precision at :math:`k`.
    {parameters}
    Notes
    -----
    .. math::

        \mathrm{{AP@}}k(u) = \frac{{1}}{{\min(k, |R_u|)}} \sum_{{j=1}}^{{k}} \mathrm{{rel}}_u(j)\,
        \mathrm{{P@}}j(u), \qquad \mathrm{{MAP@}}k = \operatorname{{mean}}_u \mathrm{{AP@}}k(u)

    over users with :math:`R_u \neq \emptyset`: the precision at the rank of each hit, summed
    and normalised by the most hits the list could hold. This is the convention of
    Ben Hamner's ``ml_metrics.apk`` (used by Kaggle's MAP@k competitions): an ideal list scores
    1 even when :math:`|R_u| > k`. (Dividing by :math:`|R_u|` instead, as trec_eval's
    uncut AP does, caps such a user below 1.)
    """
    h = _prepare(recommended, relevant, k)
    return _finish(_average_precision(h), h, per_user, "map_at_k")


for _metric in (precision_at_k, recall_at_k, ndcg_at_k, map_at_k):
    if _metric.__doc__:  # None under python -OO
        _metric.__doc__ = _metric.__doc__.format(parameters=_PARAMETERS)


def coverage(recommended, n_items: int, k: int | None = None) -> float:
    r"""Catalogue coverage: the share of all items recommended to at least one user.

    Parameters
    ----------
    recommended : array_like of int, shape (n_users, n) or a sequence of lists
        The lists, as for :func:`precision_at_k` (``-1`` padding is not an item).
    n_items : int
        Size of the catalogue :math:`I`.
    k : int, optional
        Count only the first ``k`` items of each list; default the whole lists.

    Returns
    -------
    float in [0, 1]

    Notes
    -----
    .. math:: \mathrm{coverage} = \frac{\left|\bigcup_u L_u\right|}{|I|}

    A model that recommends the same popular items to everyone covers little of the
    catalogue however precise it is.
    """
    n_items = positive_int(n_items, "n_items")
    if not isinstance(recommended, np.ndarray):
        recommended = [np.asarray(row) for row in recommended]
    elif recommended.ndim != 2:
        raise ValueError(f"recommended must hold one list per user (2-D), got shape {recommended.shape}")
    if k is None:
        widths = [recommended.shape[1]] if isinstance(recommended, np.ndarray) else [row.size for row in recommended]
        k = max(max(widths, default=1), 1)
    lists = _lists(recommended, _check_k(k))
    shown = np.unique(lists[lists >= 0])
    if shown.size and shown[-1] >= n_items:
        raise ValueError(f"item {shown[-1]} is recommended but the catalogue has n_items={n_items}")
    return shown.size / n_items


# ---- from a model -----------------------------------------------------------------------------------


def evaluate_ranking(model, train: Ratings | None, test: Ratings, k: int = 10, threshold: float | None = None,
                     batch_size: int | None = None, verbose: bool = False) -> dict:
    r"""Top-:math:`k` lists of a model scored against held-out ratings.

    Parameters
    ----------
    model : Factors or fitted estimator
        :class:`~funksvd.Factors`, or anything with a ``factors_`` attribute (a fitted
        :class:`~funksvd.FunkSVD`).
    train : Ratings or None
        Ratings the model was fitted on: their items are excluded from each user's list (an
        item the user has rated is no discovery). ``None`` excludes nothing.
    test : Ratings
        Held-out ratings. The evaluated users are those with a test rating; user :math:`u`'s
        relevant items are :math:`R_u = \{i : (u, i) \in \text{test},\ r_{ui} \ge \text{threshold}\}`
        (every test item when ``threshold`` is None).
    k : int, default 10
        List length and cut-off.
    threshold : float, optional
        Lowest rating that counts as relevant (e.g. 4 on a 1-5 scale).
    batch_size : int, optional
        Passed to :func:`top_n`.
    verbose : bool, default False
        Show a progress bar over the users while their lists are computed (tqdm, on stderr).

    Returns
    -------
    dict
        ``"precision@k"``, ``"recall@k"``, ``"ndcg@k"``, ``"map@k"`` (means over the users
        with at least one relevant test item, see :func:`precision_at_k` ...),
        ``"coverage@k"`` (of those users' lists, over all ``n_items``), ``"n_users"`` (users
        evaluated) and ``"n_skipped"`` (test users without a relevant item, skipped), with
        the actual value of ``k`` in the keys.

    Notes
    -----
    The lists are :func:`top_n` of the model with the training items excluded, so they are
    the recommendations a user would see; a relevant test item that is also in ``train``
    (a repeated rating) can therefore never be a hit.
    """
    k = _check_k(k)
    factors = model if isinstance(model, Factors) else getattr(model, "factors_", None)
    if not isinstance(factors, Factors):
        raise TypeError(f"model must be a funksvd.Factors or a fitted estimator with factors_, "
                        f"got {type(model).__name__}")
    for what, ratings in (("train", train), ("test", test)):
        if ratings is not None or what == "test":
            check_within(ratings, factors.n_users, factors.n_items, what)
    test_users = np.unique(test.users)
    if threshold is not None:
        if not np.any(test.values >= threshold):
            raise InputError(f"no test rating reaches threshold={threshold!r}: no user has a relevant item")
        test = test.subset(test.values >= threshold)
    users, indptr, items = _relevant_pairs(test)
    lists, _ = top_n(factors, users, n=k, exclude=train, batch_size=batch_size, verbose=verbose)
    h = _hits(lists, indptr, items)
    return {
        f"precision@{k}": float(np.mean(_precision(h))),
        f"recall@{k}": float(np.mean(_recall(h))),
        f"ndcg@{k}": float(np.mean(_ndcg(h))),
        f"map@{k}": float(np.mean(_average_precision(h))),
        f"coverage@{k}": coverage(lists, factors.n_items, k),
        "n_users": int(len(users)),
        "n_skipped": int(len(test_users) - len(users)),
    }


def _relevant_pairs(test: Ratings) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(users, indptr, items)``: the users of ``test`` (ascending) and their distinct items, ascending, as a CSR.

    One sort of the pairs by (user, item), then a repeated pair dropped: what :func:`_relevant`
    makes of one collection per user, without a Python loop over the users.
    """
    order = np.lexsort((test.items, test.users))
    users, items = test.users[order].astype(np.int64), test.items[order].astype(np.int64)
    first = np.ones(len(order), bool)
    first[1:] = (np.diff(users) != 0) | (np.diff(items) != 0)
    users, items = users[first], items[first]
    distinct, counts = np.unique(users, return_counts=True)
    indptr = np.zeros(len(distinct) + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    return distinct, indptr, items
