r"""The entries :math:`\mathcal E` a data term runs over, prepared once per :class:`~funksvd.Ratings`.

:meth:`Objective.prepare <funksvd.Objective.prepare>` builds them (the observed triples, or every
cell of the matrix with missing as 0) and caches them for the last few ``Ratings`` objects seen,
since a ``Ratings`` never changes: a training loop does not rebuild the entry arrays, the counts,
the dense matrix or the duplicate check at every step. The cache belongs to the ``Ratings``
(:meth:`Ratings.derived <funksvd.Ratings.derived>`): it goes when the ratings go.
"""

from __future__ import annotations

import weakref

import numpy as np

from ..model.ratings import Ratings

__all__ = ["Entries"]


class Entries:
    r"""The entries :math:`\mathcal E` a data term runs over, with what every evaluation needs.

    Built by :meth:`Objective.prepare` (cached per ``ratings``) or, for a batch of entries, by
    :meth:`from_arrays`. Attributes: ``users``, ``items`` (int64), ``values`` (float64), ``n``
    (:math:`|\mathcal E|`), ``counts`` (entries per user, per item: the per-rating penalty's
    weights), ``shape``. The matrix form's dense :math:`R` and mask :math:`M` come from
    :meth:`dense`, built on first use.
    """

    __slots__ = ("users", "items", "values", "n", "counts", "shape", "kind", "_dense", "_shifted", "_buffers",
                 "_cells_checked", "_source")

    def __init__(self, users, items, values, shape, kind="observed", source=None):
        self.users = np.asarray(users, dtype=np.int64)
        self.items = np.asarray(items, dtype=np.int64)
        self.values = np.asarray(values, dtype=np.float64)
        self.n = len(self.values)
        self.shape = (int(shape[0]), int(shape[1]))
        self.kind = kind
        self.counts = (np.bincount(self.users, minlength=self.shape[0]).astype(np.float64),
                       np.bincount(self.items, minlength=self.shape[1]).astype(np.float64))
        self._dense = None
        self._shifted = None
        self._buffers = None
        self._cells_checked = False
        self._source = None if source is None else weakref.ref(source)  # no cycle: the ratings own the cache

    @classmethod
    def from_arrays(cls, users, items, values, shape) -> "Entries":
        """Entries given as arrays (e.g. one mini-batch); nothing is cached."""
        return cls(users, items, values, shape)

    @classmethod
    def of(cls, ratings: Ratings, kind: str, cache: bool = False) -> "Entries":
        """The observed ratings (``kind="observed"``) or every cell, missing as 0 (``"dense"``).

        With ``cache`` the result is kept by ``ratings`` (:meth:`Ratings.derived
        <funksvd.Ratings.derived>`) with its dense matrix and work arrays, and reused while the
        ratings live; without it, a cached result is still used but nothing new is kept.
        """
        return ratings.derived(("entries", kind), lambda: cls._build(ratings, kind), keep=cache)

    @classmethod
    def _build(cls, ratings: Ratings, kind: str) -> "Entries":
        if kind == "observed":
            return cls(ratings.users, ratings.items, ratings.values, ratings.shape, kind, ratings)
        R = ratings.to_dense(missing=0.0)  # raises on a repeated pair
        n_users, n_items = ratings.shape
        users = np.repeat(np.arange(n_users, dtype=np.int64), n_items)
        items = np.tile(np.arange(n_items, dtype=np.int64), n_users)
        entries = cls(users, items, R.reshape(-1), ratings.shape, kind, ratings)
        entries._dense = (R, None)
        entries._cells_checked = True
        return entries

    def check_cells(self) -> None:
        """Raise ``ValueError`` if a ``(u, i)`` pair repeats: a matrix cell holds one value."""
        if not self._cells_checked:
            source = None if self._source is None else self._source()
            if source is not None:
                source.to_dense()  # raises, naming the first repeated pair
            else:
                Ratings(self.users, self.items, self.values, *self.shape, copy=False).to_dense()
            self._cells_checked = True

    def buffers(self):
        """Two ``n_users x n_items`` float64 work arrays for the matrix form, allocated once."""
        if self._buffers is None:
            self._buffers = (np.empty(self.shape), np.empty(self.shape))
        return self._buffers

    def dense_shifted(self, offset: float) -> np.ndarray:
        """The dense values minus ``offset`` (the sigmoid's centre), cached for the last offset asked."""
        if self._shifted is None or self._shifted[0] != offset:
            self._shifted = (offset, self.dense()[0] - offset)
        return self._shifted[1]

    def dense(self):
        """``(R, M)``: the values as a matrix (0 elsewhere) and the float mask, ``None`` when every cell is an entry."""
        if self._dense is None:
            self.check_cells()
            R = np.zeros(self.shape)
            R[self.users, self.items] = self.values
            M = None
            if self.n < self.shape[0] * self.shape[1]:
                M = np.zeros(self.shape)
                M[self.users, self.items] = 1.0
            self._dense = (R, M)
        return self._dense

