r"""Observed ratings: the set :math:`\mathcal K = \{(u, i, r_{ui})\}` a model is fitted to.

Indices are 0-based ``int64`` (safe at Netflix scale and beyond), values ``float64``.
Nothing is ever silently dropped: every bad entry raises :class:`ValueError` naming it.
"""

from __future__ import annotations

import numpy as np

__all__ = ["Ratings"]


def _readonly(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


def _as_index_array(values, name: str, copy: bool = True) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
    if array.dtype == bool or not (
        np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)
    ):
        raise ValueError(f"{name} must hold integer ids, got dtype {array.dtype}")
    if np.issubdtype(array.dtype, np.floating):
        bad = np.flatnonzero(~np.isfinite(array) | (array != np.round(array)))
        if bad.size:
            j = bad[0]
            raise ValueError(f"{name}[{j}] = {array[j]} is not a whole number")
    return np.array(array, dtype=np.int64, copy=True if copy else None)


def _check_ids(ids: np.ndarray, name: str, n: int | None) -> int:
    """Check ids are in ``[0, n)``; return ``n`` (inferred as max + 1 when None)."""
    negative = np.flatnonzero(ids < 0)
    if negative.size:
        j = negative[0]
        raise ValueError(f"{name}[{j}] = {ids[j]} is negative; ids are 0-based")
    if n is None:
        return int(ids.max()) + 1
    n = int(n)
    if n < 1:
        raise ValueError(f"n_{name} must be at least 1, got {n}")
    too_big = np.flatnonzero(ids >= n)
    if too_big.size:
        j = too_big[0]
        raise ValueError(f"{name}[{j}] = {ids[j]} is out of range for n_{name}={n}")
    return n


class Ratings:
    r"""Observed ratings as parallel arrays of triples :math:`(u, i, r_{ui})`.

    Parameters
    ----------
    users, items : array_like of int
        0-based user and item ids of each rating.
    values : array_like of float
        The ratings. NaN and infinities are rejected.
    n_users, n_items : int, optional
        Sizes of the id ranges. Inferred as ``max(id) + 1`` when omitted, so users or items
        with no rating can only be represented by passing them explicitly.
    dtype : {numpy.float64, numpy.float32}, default float64
        Dtype of the stored values. float32 halves their memory at scale; ratings such as
        1..5 or halves are exact in float32.
    copy : bool, default True
        ``False`` keeps arrays that already have the right dtypes (int64 ids, ``dtype``
        values) instead of copying them, and makes them read-only: the caller hands them
        over. At 100M ratings this saves a second 2 GB.

    Raises
    ------
    ValueError
        On empty input, length mismatch, non-finite values, negative or out-of-range ids;
        the message names the first offending entry.

    Notes
    -----
    The arrays are stored as read-only copies; a ``Ratings`` never changes. The same
    ``(u, i)`` pair may occur more than once (the sparse losses then count it twice);
    :meth:`to_dense` refuses such input because a matrix cell holds one number.

    Examples
    --------
    >>> import numpy as np
    >>> from funksvd import Ratings
    >>> R = Ratings.from_dense(np.array([[5, 0], [0, 1]]), missing=0)
    >>> R.users, R.items, R.values
    (array([0, 1]), array([0, 1]), array([5., 1.]))
    """

    __slots__ = ("users", "items", "values", "n_users", "n_items")

    def __init__(self, users, items, values, n_users=None, n_items=None, *, dtype=np.float64, copy=True):
        if np.dtype(dtype) not in (np.float32, np.float64):
            raise ValueError(f"dtype must be numpy.float32 or numpy.float64, got {dtype!r}")
        users = _as_index_array(users, "users", copy)
        items = _as_index_array(items, "items", copy)
        values = np.array(values, dtype=dtype, copy=True if copy else None)
        if values.ndim != 1:
            raise ValueError(f"values must be one-dimensional, got shape {values.shape}")
        if not (len(users) == len(items) == len(values)):
            raise ValueError(
                "users, items and values must have the same length, got "
                f"{len(users)}, {len(items)} and {len(values)}"
            )
        if len(values) == 0:
            raise ValueError("no ratings: users, items and values are empty")
        bad = np.flatnonzero(~np.isfinite(values))
        if bad.size:
            j = bad[0]
            raise ValueError(f"values[{j}] = {values[j]} is not finite (user {users[j]}, item {items[j]})")
        n_users = _check_ids(users, "users", n_users)
        n_items = _check_ids(items, "items", n_items)
        object.__setattr__(self, "users", _readonly(users))
        object.__setattr__(self, "items", _readonly(items))
        object.__setattr__(self, "values", _readonly(values))
        object.__setattr__(self, "n_users", n_users)
        object.__setattr__(self, "n_items", n_items)

    def __setattr__(self, name, value):
        raise AttributeError(f"Ratings is immutable; cannot set {name!r}")

    def __len__(self) -> int:
        return len(self.values)

    def __repr__(self) -> str:
        return f"Ratings({len(self)} ratings, n_users={self.n_users}, n_items={self.n_items})"

    def __eq__(self, other) -> bool:
        if not isinstance(other, Ratings):
            return NotImplemented
        return (
            (self.n_users, self.n_items) == (other.n_users, other.n_items)
            and np.array_equal(self.users, other.users)
            and np.array_equal(self.items, other.items)
            and np.array_equal(self.values, other.values)
        )

    __hash__ = None

    @property
    def shape(self) -> tuple[int, int]:
        """``(n_users, n_items)``."""
        return (self.n_users, self.n_items)

    def mean(self) -> float:
        r"""The global mean :math:`\mu = \frac{1}{|\mathcal K|}\sum r_{ui}` of the observed values."""
        return float(self.values.mean(dtype=np.float64))

    def subset(self, index) -> "Ratings":
        """The ratings at ``index`` (an integer index array or boolean mask), same id ranges."""
        index = np.asarray(index)
        return Ratings(self.users[index], self.items[index], self.values[index], self.n_users, self.n_items,
                       dtype=self.values.dtype, copy=False)

    def duplicate_pairs(self) -> np.ndarray:
        """Positions of ratings whose ``(u, i)`` pair occurred earlier in the arrays."""
        order = np.lexsort((self.items, self.users))
        same = (np.diff(self.users[order]) == 0) & (np.diff(self.items[order]) == 0)
        return np.sort(order[1:][same])

    @classmethod
    def from_dense(cls, R, missing=np.nan) -> "Ratings":
        """Observed entries of a dense matrix.

        Parameters
        ----------
        R : array_like, shape (n_users, n_items)
            The ratings matrix.
        missing : float, default NaN
            The marker of a missing entry: NaN (entries that are NaN are missing) or a number
            such as 0 for quuxlabs-style matrices. With a numeric marker a NaN in ``R`` is an
            error, not a missing entry.
        """
        R = np.asarray(R, dtype=np.float64)
        if R.ndim != 2:
            raise ValueError(f"R must be a 2-D matrix, got shape {R.shape}")
        if np.isnan(missing):
            observed = ~np.isnan(R)
        else:
            nan = np.argwhere(np.isnan(R))
            if len(nan):
                raise ValueError(
                    f"R[{nan[0][0]}, {nan[0][1]}] is NaN but missing={missing!r}; "
                    "pass missing=np.nan if NaN marks missing entries"
                )
            observed = R != missing
        inf = np.argwhere(np.isinf(R))
        if len(inf):
            raise ValueError(f"R[{inf[0][0]}, {inf[0][1]}] = {R[tuple(inf[0])]} is not finite")
        users, items = np.nonzero(observed)
        if len(users) == 0:
            raise ValueError(f"R has no observed entries (every entry equals missing={missing!r})")
        return cls(users, items, R[users, items], n_users=R.shape[0], n_items=R.shape[1])

    def to_dense(self, missing=np.nan) -> np.ndarray:
        """The ``n_users x n_items`` matrix with ``missing`` in unobserved cells.

        Raises
        ------
        ValueError
            If a ``(u, i)`` pair occurs more than once.
        """
        duplicates = self.duplicate_pairs()
        if duplicates.size:
            j = duplicates[0]
            raise ValueError(
                f"rating {j} repeats the pair (user {self.users[j]}, item {self.items[j]}); "
                "a dense matrix holds one value per cell"
            )
        R = np.full(self.shape, missing, dtype=np.float64)
        R[self.users, self.items] = self.values
        return R

    def mask(self) -> np.ndarray:
        """Boolean ``n_users x n_items`` matrix, True where a rating is observed."""
        M = np.zeros(self.shape, dtype=bool)
        M[self.users, self.items] = True
        return M
