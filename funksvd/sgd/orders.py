r"""The default visiting order: ratings shuffled once into a cache-sized 2-D grid, cells in a fresh order each epoch.

A fresh permutation of the ratings every epoch is the textbook SGD order, and the slowest:
every rating becomes a random read of its user, item and value and of two rows of
:math:`P, Q` scattered over memory. Stored order is fast but not random (data files are often
grouped by user). :class:`Grid` takes what LensKit and LibMF do:

1. **Shuffle once.** The ratings are copied once per fit, cell by cell (ids as unsigned
   32-bit integers, values in the parameters' dtype: 12 bytes a rating in float32), and shuffled
   within each cell. The copy is built by a counting sort in two compiled passes over the
   ratings (count the cells, then place each rating at the next free slot of its cell), and
   each cell is shuffled by Fisher-Yates on uniform keys drawn from the fit's generator: O(n)
   time, no memory beyond the copy but one cell's keys.
2. **Cache-sized cells.** Users are cut into contiguous id ranges whose rows of :math:`P`
   take about :data:`USER_CELL_BYTES`, items into ranges whose rows of :math:`Q` take about
   :data:`ITEM_CELL_BYTES` (but never so many item ranges that a user has fewer than
   :data:`MIN_REUSE` ratings in a cell); the copy is arranged cell by cell (the cells of a user range
   and an item range, as in LibMF's block grid), the shuffled order kept within a cell. While
   a cell runs, its rows of :math:`P` and :math:`Q` stay in cache.
3. **A fresh cell order each epoch.** Every epoch visits the cells in a new random order,
   each cell front to back: a visit reads the copy sequentially.

Its test RMSE matches a fresh permutation per epoch, at about the cost of stored order or less
(measured on MovieLens 100K and on Netflix-shaped ratings in ``benchmarks/RESULTS.md``).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from .strata import balanced_groups
from ..model.ratings import Ratings

__all__ = ["Grid", "USER_CELL_BYTES", "ITEM_CELL_BYTES", "MIN_REUSE"]

#: Bytes of :math:`P` rows per user range. With :data:`ITEM_CELL_BYTES`, a cell's rows (384 KiB)
#: fit in a 512 KiB L2 cache (AMD Zen 2 to 4; Intel's server cores have 1 to 2 MiB), so that every
#: row read while a cell runs is an L2 hit after its first. Fixed, not read off the machine: the
#: cells decide the visiting order, and the same ``random_state`` must give the same fit everywhere.
USER_CELL_BYTES = 1 << 17

#: Bytes of :math:`Q` rows per item range (items are fewer and read more often: the larger share).
ITEM_CELL_BYTES = 1 << 18

#: The fewest ratings a user should have in a cell, on average. Item ranges split each user's
#: ratings over cells, and when :math:`P` is larger than the caches its row is fetched from memory
#: again in every cell: data with few ratings per user get fewer, larger item ranges.
MIN_REUSE = 8

#: The in-cell shuffle draws the keys of consecutive cells in one call, about this many at a time.
KEY_BATCH = 1 << 20


class Grid:
    r"""The ratings shuffled once and arranged in cache-sized cells; :meth:`run` runs one epoch.

    Parameters
    ----------
    ratings : Ratings
    n_factors : int
    dtype : numpy dtype
        The parameters' dtype; the values are copied in it, so the kernel computes in it alone.
    rng : numpy.random.Generator
        Draws the one shuffle now and one cell order per :meth:`run`.
    engine : {"compiled", "python"}, default "compiled"
        Who runs the setup's loops (:func:`count_cells`, :func:`place_in_cells`,
        :func:`shuffle_cells`): numba, or Python as they are written. Same copy either way.
    counts : (ndarray, ndarray), optional
        The ratings of each user and of each item, if the caller has counted them already.

    Attributes
    ----------
    users, items, values : ndarray
        The copy, cell by cell (uint32 ids while they fit, else int64).
    bounds : ndarray of int64
        Cell ``c`` holds ``bounds[c]:bounds[c + 1]`` (empty cells dropped).
    """

    def __init__(self, ratings: Ratings, n_factors: int, dtype, rng: np.random.Generator, engine: str = "compiled",
                 counts=None):
        itemsize = np.dtype(dtype).itemsize
        n = len(ratings)
        n_user_groups = _groups(ratings.n_users, n_factors * itemsize, USER_CELL_BYTES)
        # cache-sized item ranges, but not so many that a user has fewer than MIN_REUSE ratings in a cell
        n_item_groups = min(_groups(ratings.n_items, n_factors * itemsize, ITEM_CELL_BYTES),
                            max(1, n // max(1, ratings.n_users * MIN_REUSE)))
        n_cells = n_user_groups * n_item_groups
        # the cell of rating (u, i) is user_group[u] + item_group[i]
        user_counts, item_counts = (None, None) if counts is None else counts
        user_group = balanced_groups(ratings.users, ratings.n_users, n_user_groups, user_counts) * n_item_groups
        item_group = balanced_groups(ratings.items, ratings.n_items, n_item_groups, item_counts)
        ids = np.uint32 if max(ratings.n_users, ratings.n_items) < 2**32 else np.int64
        self.users = np.empty(n, dtype=ids)
        self.items = np.empty(n, dtype=ids)
        self.values = np.empty(n, dtype=dtype)
        count, place, shuffle = _setup_kernels() if engine == "compiled" else (
            count_cells, place_in_cells, shuffle_cells)
        counts = np.zeros(n_cells, dtype=np.int64)
        count(ratings.users, ratings.items, user_group, item_group, counts)
        bounds = np.concatenate([[0], np.cumsum(counts)])
        place(ratings.users, ratings.items, ratings.values, user_group, item_group, bounds[:-1].copy(),
              self.users, self.items, self.values)
        # shuffle once, within each cell: the keys of consecutive cells drawn in one call (the same
        # stream as a draw per cell), in batches of about KEY_BATCH keys
        sizes = np.diff(bounds)
        keys_through = np.cumsum(np.where(sizes > 1, sizes, 0))  # a cell of one rating draws no key
        first, drawn = 0, 0
        while first < n_cells:
            last = max(first + 1, int(np.searchsorted(keys_through, drawn + KEY_BATCH, side="right")))
            keys = rng.random(int(keys_through[last - 1] - drawn))
            shuffle(self.users, self.items, self.values, bounds, first, last, keys)
            first, drawn = last, int(keys_through[last - 1])
        self.bounds = np.unique(bounds)
        self._arange = np.arange(int(np.diff(self.bounds).max(initial=0)), dtype=ids)

    def sum_squared_errors(self, sse, arrays, mu) -> float:
        r""":math:`\sum (r - \hat r)^2` of the model in ``arrays`` over the copy, cell by cell.

        ``sse`` is the compiled :func:`funksvd.estimator.scores.sum_squared_errors`. The same sum as
        over the ratings in any order (the cells hold every rating once), read where each cell's rows
        of :math:`P` and :math:`Q` stay in cache; the values are those of the copy, in the parameters' dtype.
        """
        P, Q, bu, bi = arrays
        return float(sum(sse(P, Q, bu, bi, mu, self.users[a:b], self.items[a:b], self.values[a:b])
                         for a, b in zip(self.bounds[:-1], self.bounds[1:])))

    @property
    def n_cells(self) -> int:
        return len(self.bounds) - 1

    def run(self, cells_loop, arrays, mu, lr, reg, rng: np.random.Generator) -> float:
        """One epoch: the cells in a fresh random order, each front to back; the sum of squared errors.

        ``cells_loop`` is :func:`funksvd.sgd.steps.cells_function` (the epoch loop of a rule, run on
        each cell in the drawn order by one call); the cells' sums are added in the order visited.
        """
        P, Q, bu, bi = arrays
        sses = cells_loop(P, Q, bu, bi, mu, self.users, self.items, self.values, self.bounds,
                          rng.permutation(self.n_cells), self._arange, lr, reg, np.empty(self.n_cells))
        sse = 0.0
        for cell_sse in sses.tolist():
            sse += cell_sse
        return sse


def count_cells(users, items, user_group, item_group, counts):
    """``counts[c]`` += the number of ratings in cell ``c = user_group[u] + item_group[i]``."""
    for j in range(users.shape[0]):
        counts[user_group[users[j]] + item_group[items[j]]] += 1


def place_in_cells(users, items, values, user_group, item_group, free, out_users, out_items, out_values):
    """Copy each rating to the next free slot of its cell (``free[c]``: the first free slot of cell ``c``)."""
    for j in range(users.shape[0]):
        c = user_group[users[j]] + item_group[items[j]]
        t = free[c]
        free[c] = t + 1
        out_users[t] = users[j]
        out_items[t] = items[j]
        out_values[t] = values[j]


def shuffle_cells(users, items, values, bounds, first, last, keys):
    """:func:`shuffle_together` on each cell ``first <= c < last`` of more than one rating, its keys taken in turn."""
    offset = 0
    for c in range(first, last):
        a, b = bounds[c], bounds[c + 1]
        if b - a > 1:
            shuffle_together(users[a:b], items[a:b], values[a:b], keys[offset:offset + b - a])
            offset += b - a


def shuffle_together(users, items, values, keys):
    """Fisher-Yates on three arrays at once: step ``t`` swaps entry ``t`` with ``floor(keys[t] (t + 1))``."""
    for t in range(users.shape[0] - 1, 0, -1):
        s = min(int(keys[t] * (t + 1)), t)  # keys in [0, 1): s uniform in 0..t
        users[t], users[s] = users[s], users[t]
        items[t], items[s] = items[s], items[t]
        values[t], values[s] = values[s], values[t]


@lru_cache(maxsize=None)
def _setup_kernels():
    """:func:`count_cells`, :func:`place_in_cells` and :func:`shuffle_cells`, compiled on first use."""
    from .compiled import jit

    shuffle = jit(shuffle_cells, shuffle_together=jit(shuffle_together, inline=True))
    return jit(count_cells), jit(place_in_cells), shuffle


def _groups(n: int, row_bytes: int, cell_bytes: int) -> int:
    """Ranges needed so that ``n`` rows of ``row_bytes`` come in pieces of about ``cell_bytes``."""
    return int(max(1, min(n, -(-n * row_bytes // cell_bytes))))
