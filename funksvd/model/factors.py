r"""Model parameters :math:`\theta = (P, Q, b_u, b_i)` and the constant :math:`\mu`.

The prediction of every formulation in funksvd is

.. math:: \hat r_{ui} = \mu + b_u + b_i + p_u^\top q_i

(without the biases for an unbiased model), possibly passed through a link function by an
:class:`~funksvd.Objective`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..base.rng import check_random_state
from ..base.frozen import Frozen
from ..base.memory import aligned_copy, aligned_empty, owns_block
from ..base.validation import check_indices, positive_int

__all__ = ["Factors", "BLOCKS", "MAX_CELLS", "check_cells", "predict_pairs", "random_parameters"]

#: Names of the parameter blocks, in the order used everywhere (gradients, step scales, lr/reg tuples).
BLOCKS = ("P", "Q", "bu", "bi")

#: The most cells (``n_users * n_items``) a whole-matrix computation allocates unasked: 1e8 float64 cells
#: are 800 MB per array. :meth:`Factors.full` and the matrix form of the trainers refuse more.
MAX_CELLS = 10**8

#: The start distributions of :meth:`Factors.random`.
INITS = ("normal", "truncated_normal", "uniform", "glorot")


def _param_array(value, name: str, ndim: int, dtype=None, copy: bool = True) -> np.ndarray:
    """``value`` checked (dimension, finite entries), read-only; copied unless ``copy=False`` and it owns its data
    (:func:`funksvd.base.memory.owns_block`: a fit's cache-aligned arrays are kept)."""
    array = np.asarray(value)
    if dtype is not None:
        array = array.astype(dtype, copy=False)
    elif array.dtype not in (np.float32, np.float64):
        array = array.astype(np.float64)
    if array.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {array.shape}")
    # a finite sum means finite entries (a NaN or an infinity makes any sum non-finite); only a sum
    # that is not finite (or that overflowed) needs the entry-by-entry check and its n-sized mask
    with np.errstate(over="ignore", invalid="ignore"):
        total = array.sum(dtype=np.float64)
    if not np.isfinite(total):
        finite = np.isfinite(array)
        if not finite.all():
            first = np.argwhere(~finite)[0]
            where = ", ".join(str(j) for j in first)
            raise ValueError(f"{name}[{where}] = {array[tuple(first)]} is not finite")
    if copy or not owns_block(array):
        array = array.copy()
    array.flags.writeable = False
    return array


#: Bytes of gathered factor rows per chunk in :func:`predict_pairs` (memory O(chunk), not O(n * k)):
#: small enough for the allocator to reuse one block, where a block past glibc's mmap threshold would be
#: mapped and unmapped (and page-faulted) on every chunk.
_CHUNK_BYTES = 1 << 20


def predict_pairs(P, Q, bu, bi, mu, users, items, *, outer: bool = False) -> np.ndarray:
    r"""The prediction of every model in funksvd, vectorised: :math:`\hat r_{ui} = \mu + b_u + b_i + p_u^\top q_i`.

    Parameters
    ----------
    P, Q : numpy.ndarray, shape (n_users, k) and (n_items, k)
    bu, bi : numpy.ndarray or None
        The biases; ``None`` or empty arrays for an unbiased model.
    mu : float
    users, items : array_like of int
        Indices, already checked (see :meth:`Factors.predict` for the checked entry point).
    outer : bool, default False
        False: one prediction per pair ``(users[j], items[j])`` (any matching shapes). True: the
        scores of every user in ``users`` for every item in ``items``, shape
        ``(len(users), len(items))``, by one matrix product (top-N lists).

    Returns
    -------
    numpy.ndarray of float64
        Products are accumulated in float64 whatever the dtype of the factors; pairs are taken in
        chunks, so memory stays O(chunk * k) however many there are.
    """
    biased = bu is not None and len(bu) > 0
    if outer:
        scores = np.asarray(P[users], dtype=np.float64) @ np.asarray(Q[items], dtype=np.float64).T + mu
        if biased:
            scores += np.asarray(bu[users], dtype=np.float64)[:, None] + np.asarray(bi[items], dtype=np.float64)
        return scores
    users, items = np.broadcast_arrays(np.asarray(users), np.asarray(items))
    shape, users, items = users.shape, users.ravel(), items.ravel()
    out = np.empty(len(users), dtype=np.float64)
    chunk = max(64, _CHUNK_BYTES // max(1, P.shape[1] * P.itemsize))
    for s in range(0, len(users), chunk):
        u, i = users[s:s + chunk], items[s:s + chunk]
        r = np.einsum("nk,nk->n", P[u], Q[i], dtype=np.float64) + mu
        if biased:
            r += np.asarray(bu[u], dtype=np.float64) + np.asarray(bi[i], dtype=np.float64)
        out[s:s + chunk] = r
    return out.reshape(shape)


def check_cells(n_users: int, n_items: int, max_cells: int | None, what: str) -> None:
    """``MemoryError`` when an ``n_users x n_items`` float64 array would exceed ``max_cells`` cells (None: no bound)."""
    cells = int(n_users) * int(n_items)  # Python ints: no overflow
    if max_cells is not None and cells > max_cells:
        raise MemoryError(
            f"{what} needs {n_users:,} x {n_items:,} = {cells:,} cells ({cells * 8 / 1e9:.1f} GB per float64 "
            f"array), above max_cells={max_cells:,}; predict the pairs you need with predict(users, items), "
            "or raise max_cells if the memory is there"
        )


class Factors(Frozen):
    r"""Immutable parameters of a (biased) matrix factorisation.

    Parameters
    ----------
    P : array_like, shape (n_users, k)
        User factors, row :math:`p_u`.
    Q : array_like, shape (n_items, k)
        Item factors, row :math:`q_i`.
    bu, bi : array_like, optional
        User and item biases. Give both for a biased model, neither for an unbiased one.
    mu : float, default 0.0
        Global offset. A constant, not a parameter: the classics set it to the training mean.

    Notes
    -----
    Arrays are copied and made read-only; float32 input stays float32, anything else becomes
    float64. Non-finite entries are rejected (``ValueError`` naming the entry), so a
    ``Factors`` can never carry NaN.

    .. math:: \hat r_{ui} = \mu + b_u + b_i + p_u^\top q_i

    Examples
    --------
    >>> from funksvd import Factors
    >>> F = Factors(P=[[1.0, 0.0], [0.0, 2.0]], Q=[[3.0, 1.0]], bu=[0.5, -0.5], bi=[0.25], mu=3.0)
    >>> F.predict([0, 1], [0, 0])  # 3 + 0.5 + 0.25 + 3 and 3 - 0.5 + 0.25 + 2
    array([6.75, 4.75])
    """

    __slots__ = ("P", "Q", "bu", "bi", "mu")
    _IMMUTABLE_HINT = "; use .replace({name}=...) for a modified copy"

    P: np.ndarray
    Q: np.ndarray
    bu: Any  # numpy.ndarray, or None for an unbiased model
    bi: Any  # numpy.ndarray, or None for an unbiased model
    mu: float

    def __init__(self, P, Q, bu=None, bi=None, mu=0.0):
        self._build(P, Q, bu, bi, mu, copy=True)

    @classmethod
    def _own(cls, P, Q, bu, bi, mu) -> "Factors":
        """``Factors`` around arrays that funksvd has just made and hands over (checked, made read-only, not copied).

        For the start values a fit draws and the arrays it trains: copying them would only double
        the memory written (80 MB at a time for Netflix-sized factors). The caller must hold no
        other reference through which it writes them again.
        """
        factors = cls.__new__(cls)
        factors._build(P, Q, bu, bi, mu, copy=False)
        return factors

    def _build(self, P, Q, bu, bi, mu, copy: bool) -> None:
        P = _param_array(P, "P", 2, copy=copy)
        Q = _param_array(Q, "Q", 2, copy=copy)
        if P.shape[1] != Q.shape[1]:
            raise ValueError(f"P and Q must have the same number of factors, got {P.shape[1]} and {Q.shape[1]}")
        if P.shape[0] < 1 or Q.shape[0] < 1:
            raise ValueError(f"P and Q need at least one row, got shapes {P.shape} and {Q.shape}")
        if P.dtype != Q.dtype:
            raise ValueError(f"P and Q must share a dtype, got {P.dtype} and {Q.dtype}")
        if (bu is None) != (bi is None):
            raise ValueError("give both bu and bi (biased model) or neither (unbiased model)")
        if bu is not None:
            bu = _param_array(bu, "bu", 1, P.dtype, copy=copy)
            bi = _param_array(bi, "bi", 1, P.dtype, copy=copy)
            if bu.shape[0] != P.shape[0]:
                raise ValueError(f"bu has {bu.shape[0]} entries but P has {P.shape[0]} users")
            if bi.shape[0] != Q.shape[0]:
                raise ValueError(f"bi has {bi.shape[0]} entries but Q has {Q.shape[0]} items")
        mu = float(mu)
        if not np.isfinite(mu):
            raise ValueError(f"mu = {mu} is not finite")
        for name, value in zip(self.__slots__, (P, Q, bu, bi, mu)):
            self._set(name, value)

    def __reduce__(self):
        # pickle and copy.deepcopy rebuild through __init__ (the default slot-by-slot restore would
        # hit __setattr__), which also makes the restored arrays read-only again
        return (type(self), (self.P, self.Q, self.bu, self.bi, self.mu))

    def __repr__(self) -> str:
        kind = "biased" if self.biased else "unbiased"
        return (
            f"Factors({kind}, n_users={self.n_users}, n_items={self.n_items}, "
            f"n_factors={self.n_factors}, mu={self.mu:g}, dtype={self.dtype})"
        )

    @property
    def biased(self) -> bool:
        """True when the model has user and item biases."""
        return self.bu is not None

    @property
    def n_users(self) -> int:
        return self.P.shape[0]

    @property
    def n_items(self) -> int:
        return self.Q.shape[0]

    @property
    def n_factors(self) -> int:
        return self.P.shape[1]

    @property
    def dtype(self) -> np.dtype:
        return self.P.dtype

    @property
    def blocks(self) -> tuple[str, ...]:
        """Names of the parameter blocks present: ``("P", "Q")`` or ``("P", "Q", "bu", "bi")``."""
        return BLOCKS if self.biased else BLOCKS[:2]

    def params(self) -> dict[str, np.ndarray]:
        """The parameter blocks by name (read-only arrays)."""
        return {name: getattr(self, name) for name in self.blocks}

    def replace(self, **blocks) -> "Factors":
        """A copy with some of ``P, Q, bu, bi, mu`` replaced."""
        values = {name: getattr(self, name) for name in self.__slots__}
        unknown = set(blocks) - set(values)
        if unknown:
            raise TypeError(f"unknown parameter(s) {sorted(unknown)}; expected some of {list(values)}")
        values.update(blocks)
        return Factors(**values)

    def predict(self, users, items) -> np.ndarray:
        r"""Raw predictions :math:`\hat r_{ui} = \mu + b_u + b_i + p_u^\top q_i`, vectorised over pairs.

        Raises
        ------
        UnknownIdError
            For an index outside ``0..n_users-1`` (or ``n_items``): a negative index would
            otherwise wrap around to the last rows. The message names the index and its position.
        ValueError
            For ids that are not whole numbers (``0.7`` is no index).
        """
        users = check_indices(users, "users", self.n_users)
        items = check_indices(items, "items", self.n_items)
        # accumulated in float64, returned in the dtype of the factors (float32 factors, float32 predictions)
        return predict_pairs(self.P, self.Q, self.bu, self.bi, self.mu, users, items).astype(self.dtype, copy=False)

    def full(self, *, max_cells: int | None = MAX_CELLS) -> np.ndarray:
        r"""Every cell's raw score, the ``n_users x n_items`` matrix
        :math:`Z = \mu + b_u 1^\top + 1 b_i^\top + P Q^\top`.

        Parameters
        ----------
        max_cells : int or None, default :data:`MAX_CELLS` (1e8)
            Refuse (``MemoryError``) a matrix of more cells; None: no bound.

        Returns
        -------
        numpy.ndarray of float64, shape (n_users, n_items)
            :math:`Z_{ui} = \mu + b_u + b_i + p_u^\top q_i`, as :meth:`predict` of every pair.

        Notes
        -----
        One BLAS product :math:`P Q^\top` plus the broadcast offsets; no flattened index
        :math:`u \cdot n_{\mathrm{items}} + i` is ever formed. A model with a link (a sigmoid
        objective) predicts :math:`h(Z)`: :meth:`Objective.predict_full <funksvd.Objective.predict_full>`.
        """
        check_cells(self.n_users, self.n_items, max_cells, "Factors.full()")
        Z = self.P.astype(np.float64) @ self.Q.astype(np.float64).T + self.mu
        if self.biased:
            Z += self.bu.astype(np.float64)[:, None]
            Z += self.bi.astype(np.float64)[None, :]
        return Z

    def rotate(self, R) -> "Factors":
        r"""The factors in another basis: :math:`(P R, Q R)`, biases unchanged.

        For orthogonal ``R`` every prediction, and every loss with an L2 penalty on the
        factors, is unchanged, since :math:`(PR)(QR)^\top = P R R^\top Q^\top = P Q^\top`.
        """
        R = np.asarray(R, dtype=self.dtype)
        k = self.n_factors
        if R.shape != (k, k):
            raise ValueError(f"R must be {k}x{k} to rotate {k} factors, got shape {R.shape}")
        return self.replace(P=self.P @ R, Q=self.Q @ R)

    def mutable_copy(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Writable copies ``(P, Q, bu, bi)`` for an in-place engine; biases are empty when unbiased.

        ``P`` and ``Q`` start on a cache line (:func:`funksvd.base.memory.aligned_copy`), as a fit's draws do.
        """
        empty = np.zeros(0, dtype=self.dtype)
        return (
            aligned_copy(self.P),
            aligned_copy(self.Q),
            empty if self.bu is None else self.bu.copy(),
            empty.copy() if self.bi is None else self.bi.copy(),
        )

    @classmethod
    def from_arrays(cls, P, Q, bu, bi, mu, *, own: bool = False) -> "Factors":
        """Inverse of :meth:`mutable_copy`: empty bias arrays mean an unbiased model.

        ``own=True``: the caller hands the arrays over (a fit's trained arrays): they are made
        read-only and kept, not copied (see :meth:`_own`).
        """
        if len(bu) == 0 and len(bi) == 0:
            bu = bi = None
        return cls._own(P, Q, bu, bi, mu) if own else cls(P, Q, bu, bi, mu)

    @classmethod
    def random(
        cls,
        n_users: int,
        n_items: int,
        n_factors: int,
        *,
        biased: bool = True,
        mu: float = 0.0,
        init: str = "normal",
        init_mean: float = 0.0,
        init_std_dev: float = 0.1,
        init_range: tuple[float, float] = (0.0, 1.0),
        random_state=None,
        dtype=np.float64,
    ) -> "Factors":
        r"""Random start values for :math:`P, Q`; biases 0.

        Parameters
        ----------
        n_users, n_items, n_factors : int
        biased : bool, default True
        mu : float, default 0.0
        init : {"normal", "truncated_normal", "uniform", "glorot"}, default "normal"
            The distribution of every entry of :math:`P` and :math:`Q`:

            * ``"normal"``: :math:`\mathcal N(m, s^2)` with :math:`m` = ``init_mean``,
              :math:`s` = ``init_std_dev`` (Surprise; ``tf.random.normal``);
            * ``"truncated_normal"``: the same, redrawn while more than :math:`2s` from :math:`m`
              (``tf.random.truncated_normal``, the 2016 TensorFlow tutorial);
            * ``"uniform"``: :math:`\mathcal U(a, b)`, ``init_range`` :math:`= (a, b)`
              (``tf.random.uniform``'s default :math:`(0, 1)`, the 2018 tutorial);
            * ``"glorot"``: Glorot-uniform, :math:`\mathcal U(-l, l)` with
              :math:`l = \sqrt{6 / (n_{\mathrm{rows}} + k)}` per matrix (Keras' default
              ``add_weight`` initializer, the 2019 Keras tutorial).
        init_mean, init_std_dev : float, default 0.0 and 0.1
            For the normal draws.
        init_range : (float, float), default (0.0, 1.0)
            For ``"uniform"``.
        random_state : int or numpy Generator, optional
        dtype : numpy dtype, default float64

        Notes
        -----
        ``P`` is drawn before ``Q`` from ``numpy.random.default_rng(random_state)``, so the same
        ``random_state`` gives bit-identical factors.
        """
        P, Q, bu, bi = random_parameters(n_users, n_items, n_factors, biased=biased, init=init, init_mean=init_mean,
                                         init_std_dev=init_std_dev, init_range=init_range,
                                         random_state=random_state, dtype=dtype)
        return cls._own(P, Q, bu, bi, mu)  # fresh arrays: no copy

    def equals(self, other: "Factors") -> bool:
        """Bit-for-bit equality of every block and of ``mu``."""
        return (
            isinstance(other, Factors)
            and self.blocks == other.blocks
            and self.mu == other.mu
            and all(np.array_equal(a, b) for a, b in zip(self.params().values(), other.params().values()))
        )


def random_parameters(n_users: int, n_items: int, n_factors: int, *, biased: bool = True, init: str = "normal",
                      init_mean: float = 0.0, init_std_dev: float = 0.1, init_range: tuple[float, float] = (0.0, 1.0),
                      random_state=None, dtype=np.float64, fill_normal=None):
    """The arrays ``(P, Q, bu, bi)`` of :meth:`Factors.random`, writable (``bu, bi`` None when unbiased).

    The same draws as :meth:`Factors.random` (which wraps them); a fit trains them in place
    instead of copying a read-only start. ``P`` and ``Q`` are drawn into arrays that start on a
    cache line (:func:`funksvd.base.memory.aligned_empty`; the values do not depend on where).
    ``fill_normal(rng, out)``: fills ``out`` as ``rng.standard_normal(dtype=out.dtype, out=out)``
    does, the same values (the compiled engine passes
    :func:`funksvd.sgd.normal_draws.fill_standard_normal`); default numpy's call.
    """
    for name, n in (("n_users", n_users), ("n_items", n_items), ("n_factors", n_factors)):
        positive_int(n, name, whole=True)
    if not init_std_dev >= 0:
        raise ValueError(f"init_std_dev must be >= 0, got {init_std_dev!r}")
    if init not in INITS:
        raise ValueError(f"init={init!r}; expected one of {INITS}")
    low, high = init_range
    if init == "uniform" and not low < high:
        raise ValueError(f"init_range must be (low, high) with low < high, got {init_range!r}")
    rng = check_random_state(random_state)

    kind = np.dtype(dtype).type

    def draw(n_rows: int) -> np.ndarray:  # in the parameters' dtype, in place (no float64 copy)
        shape = (n_rows, n_factors)
        values = aligned_empty(shape, kind)
        if init in ("uniform", "glorot"):
            a, b = (low, high) if init == "uniform" else (-np.sqrt(6.0 / (n_rows + n_factors)),) * 2
            if init == "glorot":  # fan_in + fan_out of an n_rows x k weight
                b = -a
            rng.random(dtype=kind, out=values)  # a + (b - a) U(0, 1), as Generator.uniform
            values *= kind(b - a)
            values += kind(a)
            return values
        if fill_normal is None:
            rng.standard_normal(dtype=kind, out=values)  # m + s Z, as Generator.normal
        else:
            fill_normal(rng, values)
        values *= kind(init_std_dev)
        if init_mean != 0.0:  # a pass less over the table at the default mean
            values += kind(init_mean)
        if init == "truncated_normal":
            far = np.abs(values - kind(init_mean)) > kind(2.0 * init_std_dev)
            while far.any():  # redraw the entries beyond two standard deviations
                fresh = rng.standard_normal(int(far.sum()), dtype=kind)
                values[far] = fresh * kind(init_std_dev) + kind(init_mean)
                far = np.abs(values - kind(init_mean)) > kind(2.0 * init_std_dev)
        return values

    P = draw(n_users)
    Q = draw(n_items)
    bu = np.zeros(n_users, dtype) if biased else None
    bi = np.zeros(n_items, dtype) if biased else None
    return P, Q, bu, bi
