r"""Synthetic ratings shaped like the Netflix Prize data, from a planted biased low-rank model."""

from __future__ import annotations

import numpy as np

from ..base.rng import check_random_state
from ..base.validation import non_negative, positive_int
from ..model.factors import Factors
from ..model.ratings import Ratings

__all__ = ["synthetic_netflix"]


def _alias_table(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Walker's alias table of the distribution ``p`` (Vose's construction)."""
    n = len(p)
    scaled = p * n
    prob = np.ones(n)
    alias = np.arange(n, dtype=np.int64)
    small = [j for j in range(n) if scaled[j] < 1.0]
    large = [j for j in range(n) if scaled[j] >= 1.0]
    while small and large:
        s, g = small.pop(), large.pop()
        prob[s], alias[s] = scaled[s], g
        scaled[g] -= 1.0 - scaled[s]
        (small if scaled[g] < 1.0 else large).append(g)
    return prob, alias  # leftovers keep prob 1 (rounding)


def _capped(p: np.ndarray, cap: float) -> np.ndarray:
    """``p`` with no entry above ``cap`` (the excess spread over the others), still summing to 1."""
    for _ in range(100):
        over = p > cap
        if not over.any():
            break
        excess = float(np.sum(p[over] - cap))
        p = np.where(over, cap, p)
        free = ~over
        p[free] += excess * p[free] / p[free].sum()
    return p / p.sum()


def _in_sorted(x: np.ndarray, sorted_keys: np.ndarray) -> np.ndarray:
    """Membership of each ``x`` in the sorted array ``sorted_keys``."""
    if sorted_keys.size == 0:
        return np.zeros(x.shape, dtype=bool)
    j = np.minimum(np.searchsorted(sorted_keys, x), sorted_keys.size - 1)
    return sorted_keys[j] == x


def _distinct_items(users, items, n_items, draw_popular, draw_uniform, popular_passes=20, max_passes=1000):
    """Redraw the items of repeated ``(user, item)`` pairs in place until every pair is distinct.

    One sort finds the repeats (every occurrence of a pair after its first); the redraws are
    then checked against the sorted set of pairs already held. The first ``popular_passes``
    passes redraw from the popularity distribution, later ones uniformly, so that the heaviest
    users, who may already hold most of the popular items, finish quickly.
    """
    key = users * n_items + items
    order = np.argsort(key, kind="stable")
    ordered = key[order]
    first = np.ones(ordered.size, dtype=bool)
    first[1:] = ordered[1:] != ordered[:-1]
    held = ordered[first]  # sorted keys of the pairs kept
    pending = order[~first]
    added = np.zeros(0, dtype=np.int64)  # sorted keys accepted by redraws
    for attempt in range(max_passes):
        if pending.size == 0:
            return
        draw = draw_popular if attempt < popular_passes else draw_uniform
        new_items = draw(pending.size)
        new_keys = users[pending] * n_items + new_items
        free = np.flatnonzero(~(_in_sorted(new_keys, held) | _in_sorted(new_keys, added)))
        unique_keys, where = np.unique(new_keys[free], return_index=True)
        accepted = free[where]
        items[pending[accepted]] = new_items[accepted]
        added = np.insert(added, np.searchsorted(added, unique_keys), unique_keys)  # stays sorted
        keep = np.ones(pending.size, dtype=bool)
        keep[accepted] = False
        pending = pending[keep]
    raise RuntimeError("could not make the (user, item) pairs distinct")  # pragma: no cover


def synthetic_netflix(n_users=480_189, n_items=17_770, n_ratings=100_000_000, random_state=0, k=10, *,
                      item_exponent=1.8, item_offset=0.0113, user_sigma=1.25, mu=3.6, bias_std=(0.4, 0.5),
                      interaction_std=0.5, noise_std=0.5, distinct=True, chunk_size=1 << 20,
                      dtype=np.float64, return_factors=False):
    r"""Synthetic ratings shaped like the Netflix Prize data, from a planted biased low-rank model.

    Parameters
    ----------
    n_users, n_items, n_ratings : int, default 480,189, 17,770 and 100,000,000
        The Netflix Prize sizes (REFERENCE §2).
    random_state : int or numpy Generator, default 0
        Seed of ``numpy.random.default_rng``; the same seed gives the same data.
    k : int, default 10
        Rank of the planted interaction :math:`p_u^\top q_i`.
    item_exponent, item_offset : float, default 1.8 and 0.0113
        Item popularity: the item of popularity rank :math:`j` (1-based; the ranking is a
        random order of the item indices) is drawn with probability proportional to
        :math:`(j + c)^{-a}` with :math:`a` = ``item_exponent`` and
        :math:`c` = ``item_offset * n_items`` (Zipf-Mandelbrot). With the other defaults the
        most popular item gets about 0.2% of the ratings (Netflix: 0.23%), some 240 times the
        median item, and the top 10% of the items about three quarters of the ratings.
    user_sigma : float, default 1.25
        User activity: the numbers of ratings per user are multinomial with log-normal weights
        :math:`\exp(\sigma z_u)`, so mean / median is about :math:`e^{\sigma^2/2} \approx 2.2`
        (Netflix: 209 / 96). No user's expected count exceeds half the items.
    mu, bias_std, interaction_std, noise_std : float
        The planted model:
        :math:`r_{ui} = \operatorname{clip}(\operatorname{round}(\mu + b_u + b_i + p_u^\top q_i
        + \varepsilon_{ui}), 1, 5)` with :math:`b_u \sim \mathcal N(0, \sigma_u^2)`,
        :math:`b_i \sim \mathcal N(0, \sigma_i^2)` (``bias_std``), entries of :math:`p_u, q_i`
        i.i.d. :math:`\mathcal N(0, s^2)` with :math:`k s^4 =` ``interaction_std**2`` (the
        standard deviation of :math:`p_u^\top q_i`) and noise
        :math:`\varepsilon_{ui} \sim \mathcal N(0, \text{noise\_std}^2)`.
    distinct : bool, default True
        Make every ``(user, item)`` pair distinct, as in the real data: repeated draws are
        redrawn, from the popularity distribution for a few passes and then uniformly (this
        touches only the heaviest users). ``False`` keeps independent draws (faster; at the
        Netflix shape a quarter of the ratings then repeat a pair).
    chunk_size : int, default 2**20
        Ratings generated per vectorised step (whole users per step); the memory besides
        the output is :math:`O(\text{chunk\_size}\cdot k)`.
    dtype : {numpy.float64, numpy.float32}, default float64
        Dtype of the rating values (1..5 are exact in both); float32 saves 400 MB at 100M.
    return_factors : bool, default False
        Also return the planted :class:`~funksvd.Factors` (float32).

    Returns
    -------
    ratings : Ratings
        ``n_ratings`` ratings in 1..5, grouped by user (users ascending; within a user the
        items are in random order). Every index is within range; a user may have no rating.
    factors : Factors
        Only with ``return_factors``: the planted :math:`P, Q, b_u, b_i, \mu`.

    Raises
    ------
    ValueError
        On invalid sizes, or ``distinct=True`` with more ratings than ``n_users * n_items``
        cells.

    Notes
    -----
    Items are drawn with Walker's alias method (two table look-ups per rating); users come
    from one multinomial draw, written as runs without an index array. Memory: the output
    alone is 24 bytes per rating (int64 users and items, float64 values), 2.4 GB for 100M
    ratings, or 20 bytes with ``dtype=numpy.float32``; it is written in place and handed to
    the ``Ratings`` without a copy (``copy=False``), so the peak stays close to it.
    """
    for name, value in (("n_users", n_users), ("n_items", n_items), ("n_ratings", n_ratings), ("k", k),
                        ("chunk_size", chunk_size)):
        positive_int(value, name)
    for name, value in (("item_exponent", item_exponent), ("item_offset", item_offset), ("user_sigma", user_sigma),
                        ("interaction_std", interaction_std), ("noise_std", noise_std)):
        non_negative(value, name)
    if distinct and n_ratings > n_users * n_items:
        raise ValueError(f"{n_ratings} distinct (user, item) pairs do not fit in {n_users} x {n_items} cells; "
                         "use more users or items, or distinct=False")
    rng = check_random_state(random_state)

    # item popularity (Zipf-Mandelbrot over a random ranking) and its alias table
    rank = rng.permutation(n_items)
    p_items = (rank + 1.0 + item_offset * n_items) ** -float(item_exponent)
    p_items /= p_items.sum()
    prob, alias = _alias_table(p_items)
    prob = prob.astype(np.float32)

    def draw_popular(size):
        x = rng.random(size) * n_items
        j = np.minimum(x.astype(np.int64), n_items - 1)
        return np.where((x - j).astype(np.float32) < prob[j], j, alias[j])

    def draw_uniform(size):
        return rng.integers(0, n_items, size)

    # user activity: multinomial counts with log-normal weights, no user above half the items
    weights = np.exp(user_sigma * rng.standard_normal(n_users))
    p_users = _capped(weights / weights.sum(), max(0.5 * n_items / n_ratings, 1.0 / n_users))
    counts = rng.multinomial(n_ratings, p_users)
    if distinct and counts.max() > n_items:  # only when nearly every cell is rated
        counts = _spread(counts, n_items)

    # the planted model
    s = (interaction_std ** 2 / k) ** 0.25
    P = rng.normal(0.0, s, (n_users, k)).astype(np.float32)
    Q = rng.normal(0.0, s, (n_items, k)).astype(np.float32)
    bu = rng.normal(0.0, bias_std[0], n_users).astype(np.float32)
    bi = rng.normal(0.0, bias_std[1], n_items).astype(np.float32)

    # users as runs: a 1 where each user's run starts, then a running sum (no n-sized temporaries)
    ends = np.cumsum(counts)
    users = np.zeros(n_ratings, dtype=np.int64)
    np.add.at(users, ends[:-1][ends[:-1] < n_ratings], 1)
    np.cumsum(users, out=users)
    items = np.empty(n_ratings, dtype=np.int64)
    values = np.empty(n_ratings, dtype=dtype)
    # chunks end at user boundaries, so the distinctness of a user's pairs is settled within one
    cuts = ends[np.searchsorted(ends, np.arange(chunk_size, n_ratings, chunk_size))]
    bounds = np.unique(np.concatenate([[0], cuts, [n_ratings]]))
    for first, last in zip(bounds[:-1], bounds[1:]):
        u = users[first:last]
        i = items[first:last]
        i[:] = draw_popular(last - first)
        if distinct:
            _distinct_items(u, i, n_items, draw_popular, draw_uniform)
        r = np.einsum("nk,nk->n", np.take(P, u, axis=0), np.take(Q, i, axis=0))
        r += bu.take(u)
        r += bi.take(i)
        r += rng.standard_normal(last - first, dtype=np.float32) * np.float32(noise_std)
        r += np.float32(mu)
        np.clip(np.rint(r), 1, 5, out=r)
        values[first:last] = r
    ratings = Ratings(users, items, values, n_users, n_items, dtype=dtype, copy=False)
    if return_factors:
        return ratings, Factors(P, Q, bu, bi, mu)
    return ratings


def _spread(counts: np.ndarray, cap: int) -> np.ndarray:
    """Move ratings from users above ``cap`` to users below it (keeps the total)."""
    counts = counts.copy()
    excess = int(np.sum(np.maximum(counts - cap, 0)))
    np.minimum(counts, cap, out=counts)
    while excess:
        room = np.flatnonzero(counts < cap)
        take = min(excess, room.size)
        counts[room[:take]] += 1
        excess -= take
    return counts
