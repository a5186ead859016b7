r"""Parallel SGD without races: stratified blocks (DSGD), bit-identical to one thread.

Users are split into :math:`p` groups and items into :math:`p` groups, which cuts the ratings
into :math:`p \times p` blocks. The :math:`p` blocks :math:`(g, (g + s) \bmod p)`,
:math:`g = 0, \dots, p - 1`, of *stratum* :math:`s` share no user and no item, so :math:`p`
threads can run them at the same time without ever touching the same parameter: the result is
exactly that of running them one after another. An epoch runs the strata in turn (Gemulla et
al., "Large-scale matrix factorization with distributed stochastic gradient descent", 2011).

So a parallel epoch *is* a sequential epoch, in the visiting order :meth:`Strata.order`: the
same rule, the same source, and bit-identical results for a given ``random_state``, however the
threads are scheduled. Only the order differs from a single-thread run (ratings grouped by
block). The threads run the compiled epoch loop, which releases the GIL (``nogil=True``).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ..model.ratings import Ratings

__all__ = ["Strata"]


class Strata:
    r"""The blocks of a ratings set for ``n_jobs`` threads, and the epoch that runs them.

    Parameters
    ----------
    ratings : Ratings
    n_jobs : int
        :math:`p`, the number of threads (and of user groups and item groups).

    Notes
    -----
    The groups are contiguous ranges of ids, cut where the cumulative number of ratings
    reaches :math:`1/p, 2/p, \dots` of the total, so blocks are balanced. Contiguous, not
    random, groups keep two threads off the same cache lines: with users interleaved, the
    biases :math:`b_u` of neighbouring ids (8 to a 64-byte line) would be written by both
    threads at once, and the line would bounce between the cores (false sharing).
    Within a block the ratings keep their stored order until :meth:`shuffle` permutes them.
    """

    def __init__(self, ratings: Ratings, n_jobs: int):
        p = int(n_jobs)
        self.n_jobs = p
        user_group = balanced_groups(ratings.users, ratings.n_users, p)
        item_group = balanced_groups(ratings.items, ratings.n_items, p)
        block = user_group[ratings.users] * p + item_group[ratings.items]
        index = np.argsort(block, kind="stable").astype(np.int32 if len(ratings) < 2**31 else np.int64)
        bounds = np.concatenate([[0], np.cumsum(np.bincount(block, minlength=p * p))])
        self.index = index
        self.blocks = [index[bounds[b]:bounds[b + 1]] for b in range(p * p)]  # views into index
        self.strata = [[g * p + (g + s) % p for g in range(p)] for s in range(p)]

    def shuffle(self, rng: np.random.Generator) -> None:
        """Permute the ratings within every block, in place (block by block, in block order)."""
        for block in self.blocks:
            rng.shuffle(block)

    def order(self) -> np.ndarray:
        """The sequential visiting order that one parallel epoch is equivalent to."""
        return np.concatenate([self.blocks[b] for stratum in self.strata for b in stratum])

    def run(self, epoch, arrays, mu, ratings: Ratings, lr, reg, pool: ThreadPoolExecutor | None = None,
            values=None) -> float:
        """One epoch: the strata in turn, the blocks of a stratum on ``pool`` (or one by one).

        ``epoch`` is the loop of :func:`funksvd.sgd.epoch_function`; returns the sum of squared
        errors, added in block order so that it too does not depend on thread timing. ``values``
        replaces ``ratings.values`` (the values in the parameters' dtype).
        """
        P, Q, bu, bi = arrays
        values = ratings.values if values is None else values
        sse = 0.0
        for stratum in self.strata:
            args = [(P, Q, bu, bi, mu, ratings.users, ratings.items, values, self.blocks[b], lr, reg)
                    for b in stratum]
            if pool is None:
                parts = [epoch(*a) for a in args]
            else:
                parts = [future.result() for future in [pool.submit(epoch, *a) for a in args]]
            sse += sum(parts)
        return sse


def balanced_groups(ids: np.ndarray, n: int, p: int, counts: np.ndarray | None = None) -> np.ndarray:
    """Group of each id in ``[0, n)``: ``p`` contiguous ranges holding about equal numbers of ratings.

    ``counts``: the ratings of each id, if the caller has them already (else counted from ``ids``).
    """
    if counts is None:
        counts = np.zeros(n, dtype=np.int64)
        for first in range(0, len(ids), 1 << 22):  # by chunks: bincount casts int32 ids to int64 whole
            counts += np.bincount(ids[first:first + (1 << 22)], minlength=n)
    before = np.cumsum(counts) - counts  # ratings of the ids below each id
    return np.minimum(p * before // max(int(counts.sum()), 1), p - 1).astype(np.int64)
