r"""ALS sweeps: the ratings laid out by user and by item, and one sweep = a user half-step, then an item half-step.

.. code-block:: python

    import funksvd
    from funksvd.als import als_sweep

    factors = funksvd.Factors.random(n_users, n_items, 10, mu=ratings.mean(), random_state=0)
    for sweep in range(10):
        factors = als_sweep(factors, ratings, reg=0.05)

Each half-step minimises the loss :func:`~funksvd.als.normal_equations.als_objective` exactly
over one side with the other fixed (:func:`~funksvd.als.normal_equations.solve_rows`), so the
loss never increases from one half-step to the next.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..maths.objectives import Objective
from ..model.factors import Factors
from ..model.ratings import Ratings
from .normal_equations import als_objective, solve_side

__all__ = ["Layout", "als_sweep", "half_step", "one_blas_thread", "sweep_arrays"]


@dataclass(frozen=True)
class Layout:
    """The ratings twice, CSR by user and CSR by item (int64 indices, float64 values); built once per fit.

    ``by_user = (indptr, items, values)``: user ``u`` rated ``items[indptr[u]:indptr[u + 1]]``;
    ``by_item`` likewise. Memory :math:`O(|\\mathcal K|)`; no ``n_users x n_items`` array.
    """

    by_user: tuple[np.ndarray, np.ndarray, np.ndarray]
    by_item: tuple[np.ndarray, np.ndarray, np.ndarray]

    @classmethod
    def of(cls, ratings: Ratings) -> Layout:
        return cls(_csr(ratings.users, ratings.items, ratings.values, ratings.n_users),
                   _csr(ratings.items, ratings.users, ratings.values, ratings.n_items))


def _csr(rows, cols, values, n: int):
    order = np.argsort(rows, kind="stable")
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n), out=indptr[1:])
    return indptr, cols[order].astype(np.int64), values[order].astype(np.float64)


def half_step(side: str, arrays, mu: float, layout: Layout, objective: Objective, reg,
              engine: str = "compiled", n_jobs: int = 1, pool=None, weight_exponent: float = 1.0) -> None:
    r"""Solve ``side`` ("users": ``P, bu``; "items": ``Q, bi``) of ``arrays = (P, Q, bu, bi)`` in place.

    ``weight_exponent``: :math:`\alpha` of the weights :math:`\omega_u = n_u^\alpha` (:func:`solve_side`).
    """
    P, Q, bu, bi = arrays
    if side == "users":
        solve_side(objective, reg, side, Q, bi, mu, *layout.by_user, P, bu, engine, n_jobs, pool, weight_exponent)
    else:
        solve_side(objective, reg, side, P, bu, mu, *layout.by_item, Q, bi, engine, n_jobs, pool, weight_exponent)


def sweep_arrays(arrays, mu: float, layout: Layout, objective: Objective, reg,
                 engine: str = "compiled", n_jobs: int = 1, pool=None, weight_exponent: float = 1.0) -> None:
    """One sweep in place: the user half-step, then the item half-step."""
    for side in ("users", "items"):
        half_step(side, arrays, mu, layout, objective, reg, engine, n_jobs, pool, weight_exponent)


def one_blas_thread():
    """A context in which every loaded BLAS runs one thread (:func:`threadpoolctl.threadpool_limits`).

    Each system is :math:`(k+1) \times (k+1)`, far too small to share: OpenBLAS's own threads
    only wait for each other (measured on MovieLens 100K, k = 50, 2 cores: 6 to 8 times the CPU
    time of one thread). The threads of ``n_jobs`` are the parallelism instead. scipy's BLAS,
    which numba's ``np.dot`` calls, is loaded first so that the limit reaches it too.
    """
    import scipy.linalg  # noqa: F401 - loads scipy's BLAS and LAPACK before the limit is set
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")


def als_sweep(factors: Factors, ratings: Ratings, reg=0.02, weighted: bool = True, engine: str = "compiled",
              n_jobs: int = 1, layout: Layout | None = None, weight_exponent: float = 1.0) -> Factors:
    r"""One ALS sweep from ``factors``: :math:`P, b_u` solved with :math:`Q, b_i` fixed, then :math:`Q, b_i`.

    Parameters
    ----------
    factors : Factors
        The start (its :math:`\mu` is kept). Only :math:`Q, b_i` matter for the result: the
        user half-step overwrites :math:`P, b_u`.
    ratings : Ratings
    reg : float or mapping
        :math:`\lambda`, one or per block ``P, Q, bu, bi``.
    weighted : bool, default True
        :math:`\omega_u = n_u` (weighted :math:`\lambda`), else 1 (:func:`~funksvd.als.normal_equations.als_objective`).
    engine : {"compiled", "python"}
    n_jobs : int
        Threads per half-step; the result does not depend on it.
    layout : Layout, optional
        The ratings' CSR layout, when several sweeps reuse it.
    weight_exponent : float, default 1.0
        With ``weighted``: :math:`\omega_u = n_u^\alpha`, :math:`\alpha` = ``weight_exponent``
        (frequency-scaled :math:`\lambda`; 1 is Zhou et al.'s weighted :math:`\lambda`).

    Returns
    -------
    Factors
        New factors (the input is not modified), in the input's dtype.
    """
    if (ratings.n_users, ratings.n_items) != (factors.n_users, factors.n_items):
        raise ValueError(f"ratings are {ratings.n_users} users x {ratings.n_items} items but the factors are "
                         f"{factors.n_users} x {factors.n_items}")
    arrays = factors.mutable_copy()
    with one_blas_thread():
        sweep_arrays(arrays, factors.mu, layout or Layout.of(ratings), als_objective(weighted), reg, engine, n_jobs,
                     weight_exponent=weight_exponent)
    return Factors.from_arrays(*arrays, factors.mu)

