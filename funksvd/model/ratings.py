r"""Observed ratings: the set :math:`\mathcal K = \{(u, i, r_{ui})\}` a model is fitted to.

Indices are 0-based ``int64`` (safe at Netflix scale and beyond), or ``int32`` on request
(``index_dtype``, checked to fit); values ``float64`` or ``float32``.
Nothing is ever silently dropped: every bad entry raises :class:`ValueError` naming it.
"""

from __future__ import annotations

import warnings

import numpy as np

from ..base.frozen import Frozen
from ..base.validation import indices_within

__all__ = ["Ratings", "check_within"]

#: An id range is called sparse (and warned about) when fewer than this fraction of it occurs.
_SPARSE_IDS = 0.5


def _readonly(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


def _as_index_array(values, name: str, copy: bool = True, dtype=np.int64) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
    if array.dtype == bool or array.dtype.kind not in "iuf":
        raise ValueError(f"{name} must hold integer ids, got dtype {array.dtype}")
    if array.dtype.kind == "f":
        bad = np.flatnonzero(~np.isfinite(array) | (array != np.round(array)))
        if bad.size:
            j = bad[0]
            raise ValueError(f"{name}[{j}] = {array[j]} is not a whole number")
        big = np.flatnonzero(np.abs(array) >= 2.0**63)
    elif array.dtype.kind == "u" and array.dtype.itemsize == 8:
        big = np.flatnonzero(array > np.iinfo(np.int64).max)
    else:
        big = np.zeros(0, dtype=np.int64)
    if big.size:  # would wrap to a negative int64
        j = big[0]
        raise ValueError(f"{name}[{j}] = {array[j]} does not fit in int64 (an index is at most 2**63 - 1); raw ids "
                         "this large are names, not indices: map them with funksvd.data.Dataset.from_arrays")
    if dtype == np.int32 and array.dtype != np.int32:
        big = np.flatnonzero((array >= 2**31) | (array < -2**31))  # compared before any cast
        if big.size:
            j = big[0]
            raise ValueError(f"{name}[{j}] = {array[j]} does not fit in int32 (index_dtype=numpy.int32 holds ids "
                             "below 2**31); use index_dtype=numpy.int64")
    return np.array(array, dtype=dtype, copy=True if copy else None)


def _as_values(values, dtype, copy: bool, where=lambda j: f"values[{j}]") -> np.ndarray:
    """Rating values as ``dtype``; anything but real numbers (complex, text, None) is named by ``where(j)``."""
    array = np.asarray(values)
    if array.dtype.kind not in "iuf" or array.dtype == bool:
        if not isinstance(values, np.ndarray):  # a list mixing numbers and text became text: look at the originals
            array = np.asarray(values, dtype=object)
        flat = array.ravel()
        if array.dtype.kind == "c":
            odd = np.flatnonzero(flat.imag != 0)
            j = int(odd[0]) if odd.size else 0
            raise ValueError(f"{where(j)} = {flat[j].item()!r} is not a real number (values have dtype {array.dtype})")
        for j, value in enumerate(flat.tolist()):
            if isinstance(value, (bool, complex, str, bytes)) or not isinstance(value, (int, float, np.number)):
                raise ValueError(f"{where(j)} = {value!r} is not a real number")
    return np.array(array, dtype=dtype, copy=True if copy else None)


def _size(n, name: str) -> int:
    """An explicit ``n_users``/``n_items``: an integer (not a float, a string or a bool)."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise ValueError(f"{name} must be an integer, got {n!r} ({type(n).__name__})")
    return int(n)


def _check_ids(ids: np.ndarray, name: str, n: int | None) -> int:
    """Check ids are in ``[0, n)``; return ``n`` (inferred as max + 1 when None)."""
    negative = np.flatnonzero(ids < 0)
    if negative.size:
        j = negative[0]
        raise ValueError(f"{name}[{j}] = {ids[j]} is negative; ids are 0-based")
    if n is None:
        n = int(ids.max()) + 1
        used = len(ids) if n > 2 * len(ids) else len(np.unique(ids))  # (an upper bound suffices then)
        if n > 1 and used < _SPARSE_IDS * n:
            used = len(np.unique(ids))
            warnings.warn(f"only {used} of the {n} {name[:-1]} ids 0..{n - 1} occur: ids are taken as 0-based indices, "
                          f"so n_{name} = max id + 1 = {n} and every unused id below it is "
                          f"{'an' if name == 'items' else 'a'} {name[:-1]} without "
                          "ratings (each costs a row of parameters). If these are raw ids, map them to contiguous "
                          "indices with funksvd.data.Dataset.from_arrays(users, items, values) or "
                          "Dataset.from_frame(df, user=..., item=..., rating=...)", UserWarning, stacklevel=3)
        return n
    n = _size(n, f"n_{name}")
    if n < 1:
        raise ValueError(f"n_{name} must be at least 1, got {n}")
    too_big = np.flatnonzero(ids >= n)
    if too_big.size:
        j = too_big[0]
        raise ValueError(f"{name}[{j}] = {ids[j]} is out of range for n_{name}={n}")
    return n


class Ratings(Frozen):
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
        ``False`` keeps arrays that already have the right dtypes (``index_dtype`` ids,
        ``dtype`` values) instead of copying them, and makes them read-only: the caller hands
        them over. At 100M ratings this saves a second 2 GB.
    index_dtype : {numpy.int64, numpy.int32}, default int64
        Dtype of the stored ids. int32 (ids below :math:`2^{31}`, checked) takes 8 bytes a
        rating instead of 16: 1.2 GB instead of 2.0 GB for 100M ratings with float32 values.
        Only storage changes: no id is ever multiplied by another, so no product can overflow.

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

    __slots__ = ("users", "items", "values", "n_users", "n_items", "_derived", "__weakref__")

    users: np.ndarray
    items: np.ndarray
    values: np.ndarray
    n_users: int
    n_items: int
    _derived: dict

    def __init__(self, users, items, values, n_users=None, n_items=None, *, dtype=np.float64, copy=True,
                 index_dtype=np.int64):
        if np.dtype(dtype) not in (np.float32, np.float64):
            raise ValueError(f"dtype must be numpy.float32 or numpy.float64, got {dtype!r}")
        if np.dtype(index_dtype) not in (np.int32, np.int64):
            raise ValueError(f"index_dtype must be numpy.int32 or numpy.int64, got {index_dtype!r}")
        users = _as_index_array(users, "users", copy, np.dtype(index_dtype))
        items = _as_index_array(items, "items", copy, np.dtype(index_dtype))
        values = _as_values(values, dtype, copy)
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
        self._set("users", _readonly(users))
        self._set("items", _readonly(items))
        self._set("values", _readonly(values))
        self._set("n_users", n_users)
        self._set("n_items", n_items)
        self._set("_derived", {})

    def __reduce__(self):
        # the default would restore the slots with setattr, which an immutable Ratings refuses
        return (_restore, (self.users, self.items, self.values, self.n_users, self.n_items))

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

    __hash__ = None  # type: ignore[assignment]  # compared by value; not hashable

    def derived(self, key, build, keep: bool = True):
        """What ``build()`` computes from these ratings, kept with them under ``key`` (unless not ``keep``).

        A ``Ratings`` never changes, so anything computed from it alone (the entries of a loss,
        their dense matrix) stays valid as long as it lives, and goes when it goes: the cache is
        owned by the ratings, not by a module. A kept value is returned whatever ``keep`` says.
        Not pickled, not compared.
        """
        if key in self._derived:
            return self._derived[key]
        value = build()
        if keep:
            self._derived[key] = value
        return value

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
                       dtype=self.values.dtype, copy=False, index_dtype=self.users.dtype)

    def duplicate_pairs(self) -> np.ndarray:
        """Positions of ratings whose ``(u, i)`` pair occurred earlier in the arrays."""
        order = np.lexsort((self.items, self.users))
        same = (np.diff(self.users[order]) == 0) & (np.diff(self.items[order]) == 0)
        return np.sort(order[1:][same])

    @classmethod
    def from_dense(cls, R, missing=np.nan, *, mask=None) -> "Ratings":
        """Observed entries of a dense matrix.

        Parameters
        ----------
        R : array_like, shape (n_users, n_items)
            The ratings matrix.
        missing : float, default NaN
            The marker of a missing entry: NaN (entries that are NaN are missing) or a number
            such as 0 for quuxlabs-style matrices. With a numeric marker a NaN in ``R`` is an
            error, not a missing entry. Ignored when ``mask`` is given.
        mask : array_like of bool, shape (n_users, n_items), optional
            The observed cells: True where ``R`` holds a rating, whatever its value (a 0 or a
            NaN-free matrix with a train/validation split, as the 2021 tutorial's). Every
            masked-in cell must be finite; the others are never read.

        Examples
        --------
        >>> import numpy as np
        >>> M = np.array([[0.0, 2.0], [3.0, 0.0]])
        >>> Ratings.from_dense(M, mask=np.array([[True, False], [True, True]])).values
        array([0., 3., 0.])
        """
        R = np.asarray(R)
        if R.ndim != 2:
            raise ValueError(f"R must be a 2-D matrix, got shape {R.shape}")
        shape = R.shape
        R = _as_values(R.ravel(), np.float64, True,
                       where=lambda j: "R[{}, {}]".format(*np.unravel_index(j, shape))).reshape(shape)
        if mask is not None:
            observed = np.asarray(mask)
            if observed.dtype != bool:
                raise ValueError(f"mask must be a boolean matrix, got dtype {observed.dtype}")
            if observed.shape != shape:
                raise ValueError(f"mask has shape {observed.shape} but R has shape {shape}")
            bad = np.argwhere(observed & ~np.isfinite(R))
            if len(bad):
                raise ValueError(f"R[{bad[0][0]}, {bad[0][1]}] = {R[tuple(bad[0])]} is masked in but not finite")
            users, items = np.nonzero(observed)
            if len(users) == 0:
                raise ValueError("mask has no True cell: no observed entries")
            return cls(users, items, R[users, items], n_users=shape[0], n_items=shape[1])
        if isinstance(missing, (bool, complex, str, bytes)) or not isinstance(missing, (int, float, np.number)) \
                or isinstance(missing, np.complexfloating):
            raise ValueError(f"missing must be a real number (NaN or a marker such as 0), got {missing!r}")
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


def _restore(users, items, values, n_users, n_items) -> Ratings:
    """Unpickle a :class:`Ratings` (validated again, read-only again)."""
    return Ratings(users, items, values, n_users, n_items, dtype=values.dtype, copy=False, index_dtype=users.dtype)


def check_within(ratings, n_users: int, n_items: int, what: str) -> None:
    """Refuse ``ratings`` (named ``what``) whose user or item indices reach ``n_users`` or ``n_items``."""
    if not isinstance(ratings, Ratings):
        raise TypeError(f"{what} must be a funksvd.Ratings, got {type(ratings).__name__}")
    indices_within(ratings.users, n_users, f"{what}.users")
    indices_within(ratings.items, n_items, f"{what}.items")
