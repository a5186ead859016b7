r"""The default visiting order: ratings shuffled once into a cache-sized 2-D grid, cells in a fresh order each epoch.

A fresh permutation of the ratings every epoch is the textbook SGD order, and the slowest:
every rating becomes a random read of its user, item and value and of two rows of
:math:`P, Q` scattered over memory. Stored order is fast but not random (data files are often
grouped by user). :class:`Grid` takes what LensKit and LibMF do:

1. **Shuffle once.** The ratings are permuted once per fit and copied in that order
   (ids as int32, values in the parameters' dtype: 12 bytes a rating in float32). The copy
   is built by a counting sort, chunk by chunk (cells counted, then each chunk scattered to
   its cells), so building it takes no memory of the order of the ratings beyond the copy.
2. **Cache-sized cells.** Users are cut into contiguous id ranges whose rows of :math:`P`
   take about :data:`USER_CELL_BYTES`, items into ranges whose rows of :math:`Q` take about
   :data:`ITEM_CELL_BYTES`; the copy is arranged cell by cell (the cells of a user range
   and an item range, as in LibMF's block grid), the shuffled order kept within a cell. While
   a cell runs, its rows of :math:`P` and :math:`Q` stay in cache.
3. **A fresh cell order each epoch.** Every epoch visits the cells in a new random order,
   each cell front to back: a visit reads the copy sequentially.

Its test RMSE matches a fresh permutation per epoch, at about the cost of stored order or less
(measured on MovieLens 100K and on Netflix-shaped ratings in ``benchmarks/RESULTS.md``).
"""

from __future__ import annotations

import numpy as np

from .strata import balanced_groups
from ..model.ratings import Ratings

__all__ = ["Grid", "USER_CELL_BYTES", "ITEM_CELL_BYTES"]

#: Bytes of :math:`P` rows per user range: about a core's L2 cache (measured best of 128 KiB .. 1 MiB).
USER_CELL_BYTES = 1 << 18

#: Ratings per chunk while the copy is built (its temporaries are O(chunk), not O(n)).
GRID_CHUNK = 1 << 20

#: Bytes of :math:`Q` rows per item range: a share of the L3 cache (items are fewer and read more often).
ITEM_CELL_BYTES = 1 << 22


class Grid:
    r"""The ratings shuffled once and arranged in cache-sized cells; :meth:`run` runs one epoch.

    Parameters
    ----------
    ratings : Ratings
    n_factors : int
    dtype : numpy dtype
        The parameters' dtype; the values are copied in it, so the kernel computes in it alone.
    rng : numpy.random.Generator
        Draws the one permutation now and one cell order per :meth:`run`.

    Attributes
    ----------
    users, items, values : ndarray
        The copy, cell by cell (int32 ids while they fit).
    bounds : ndarray of int64
        Cell ``c`` holds ``bounds[c]:bounds[c + 1]`` (empty cells dropped).
    """

    def __init__(self, ratings: Ratings, n_factors: int, dtype, rng: np.random.Generator):
        itemsize = np.dtype(dtype).itemsize
        n_user_groups = _groups(ratings.n_users, n_factors * itemsize, USER_CELL_BYTES)
        n_item_groups = _groups(ratings.n_items, n_factors * itemsize, ITEM_CELL_BYTES)
        n_cells = n_user_groups * n_item_groups
        # cell ids in the narrowest integer type: int16 keys are radix-sorted (O(n)) by argsort
        key = np.int16 if n_cells <= 2**15 else np.int32
        user_group = (balanced_groups(ratings.users, ratings.n_users, n_user_groups) * n_item_groups).astype(key)
        item_group = balanced_groups(ratings.items, ratings.n_items, n_item_groups).astype(key)

        def cells(first):  # the cell of each rating in chunk [first, first + GRID_CHUNK)
            cell = user_group[ratings.users[first:first + GRID_CHUNK]]
            cell += item_group[ratings.items[first:first + GRID_CHUNK]]
            return cell

        n = len(ratings)
        counts = np.zeros(n_cells, dtype=np.int64)
        for first in range(0, n, GRID_CHUNK):
            counts += np.bincount(cells(first), minlength=n_cells)
        bounds = np.concatenate([[0], np.cumsum(counts)])
        ids = np.int32 if max(ratings.n_users, ratings.n_items) < 2**31 else np.int64
        self.users = np.empty(n, dtype=ids)
        self.items = np.empty(n, dtype=ids)
        self.values = np.empty(n, dtype=dtype)
        # a counting sort by cell, chunk by chunk: the stable order of np.argsort(cell, kind="stable")
        # without its n-sized int64 index (0.8 GB at 100M ratings)
        filled = bounds[:-1].copy()  # next free position of each cell
        for first in range(0, n, GRID_CHUNK):
            cell = cells(first)
            index = np.argsort(cell, kind="stable")
            cell = cell[index]
            chunk_counts = np.bincount(cell, minlength=n_cells)
            rank = np.arange(len(cell)) - (np.cumsum(chunk_counts) - chunk_counts)[cell]  # place within its cell
            target = filled[cell] + rank
            index += first
            self.users[target] = ratings.users[index]
            self.items[target] = ratings.items[index]
            self.values[target] = ratings.values[index]
            filled += chunk_counts
        for a, b in zip(bounds[:-1], bounds[1:]):  # shuffle once, within each cell
            permutation = np.arange(b - a)
            rng.shuffle(permutation)
            for array in (self.users, self.items, self.values):
                array[a:b] = array[a:b][permutation]
        self.bounds = np.unique(bounds)
        self._arange = np.arange(int(np.diff(self.bounds).max(initial=0)), dtype=ids)

    @property
    def n_cells(self) -> int:
        return len(self.bounds) - 1

    def run(self, epoch, arrays, mu, lr, reg, rng: np.random.Generator) -> float:
        """One epoch: the cells in a fresh random order, each front to back; the sum of squared errors.

        ``epoch`` is the loop of :func:`funksvd.sgd.epoch_function`, called once per cell on
        views of the copy.
        """
        P, Q, bu, bi = arrays
        sse = 0.0
        for c in rng.permutation(self.n_cells):
            a, b = self.bounds[c], self.bounds[c + 1]
            sse += epoch(P, Q, bu, bi, mu, self.users[a:b], self.items[a:b], self.values[a:b],
                         self._arange[:b - a], lr, reg)
        return sse


def _groups(n: int, row_bytes: int, cell_bytes: int) -> int:
    """Ranges needed so that ``n`` rows of ``row_bytes`` come in pieces of about ``cell_bytes``."""
    return int(max(1, min(n, -(-n * row_bytes // cell_bytes))))
