r"""SVD++ epochs on both engines, from the one source of :mod:`funksvd.maths.svdpp`.

:func:`run_epoch_svdpp` visits users in ``user_order`` and hands each to a global ``user_step``
(:func:`funksvd.maths.svdpp.per_rating_user`, Surprise's scheme, or
:func:`funksvd.maths.svdpp.cached_user`), bound per variant by :func:`funksvd.sgd.loops.bind`.
``engine="python"`` runs the copy as it stands; ``engine="compiled"`` compiles the same copy
with :func:`funksvd.sgd.compiled.jit`, kernels inlined (numba is imported on first use only).
"""

from __future__ import annotations

from functools import cache

import numpy as np

from ..base.errors import DivergenceError
from ..maths import svdpp
from ..maths.svdpp import SVDPP_BLOCKS, VARIANTS, Implicit
from ..model.factors import Factors
from ..model.ratings import Ratings
from .loops import bind

__all__ = ["hyper5", "run_epoch_svdpp", "svdpp_epoch", "svdpp_epoch_function", "user_groups"]

user_step = None  # bound per variant by bind(run_epoch_svdpp, user_step=...)

_USER_STEPS = {"per_rating": svdpp.per_rating_user, "lazy": svdpp.lazy_user, "cached": svdpp.cached_user}


def run_epoch_svdpp(P, Q, bu, bi, Y, mu, rated_indptr, rated_items, rated_values, indptr, indices, user_order,
                    lr, reg, z, w):
    """Visit the users in ``user_order``, each user's ratings in turn; return the sum of squared errors."""
    sse = 0.0
    for u in user_order:
        sse += user_step(P, Q, bu, bi, Y, mu, u, rated_indptr, rated_items, rated_values, indptr, indices,
                         lr, reg, z, w)
    return sse


@cache
def _compiled(variant: str):
    from .compiled import jit

    implicit_sum = jit(svdpp.implicit_sum, inline=True)
    predict = jit(svdpp.predict_svdpp, inline=True)
    step = jit(svdpp.svdpp_step, inline=True, implicit_sum=implicit_sum, predict_svdpp=predict)
    user = _USER_STEPS[variant]
    user = jit(user, user.__name__, inline=True, svdpp_step=step, implicit_sum=implicit_sum, predict_svdpp=predict)
    return jit(run_epoch_svdpp, f"run_epoch_svdpp_{variant}", user_step=user)


def svdpp_epoch_function(variant: str, engine: str):
    """The SVD++ epoch loop of ``variant`` (:data:`~funksvd.maths.svdpp.VARIANTS`) on ``engine``."""
    if variant not in VARIANTS:
        raise ValueError(f"variant={variant!r}; expected one of {VARIANTS}")
    if engine == "python":
        return bind(run_epoch_svdpp, f"run_epoch_svdpp[{variant}]", user_step=_USER_STEPS[variant])
    if engine == "compiled":
        return _compiled(variant)
    raise ValueError(f"engine={engine!r}; expected 'python' or 'compiled'")


def hyper5(value, name: str) -> tuple[float, float, float, float, float]:
    """``lr`` or ``reg`` as the kernels take it: one float, or a mapping naming every block of ``P, Q, bu, bi, Y``."""
    if isinstance(value, dict):
        unknown, missing = set(value) - set(SVDPP_BLOCKS), set(SVDPP_BLOCKS) - set(value)
        if unknown or missing:
            raise ValueError(f"{name} must name exactly the blocks {list(SVDPP_BLOCKS)}; "
                             f"unknown {sorted(unknown)}, missing {sorted(missing)}")
        out = tuple(float(value[b]) for b in SVDPP_BLOCKS)
    else:
        out = (float(value),) * len(SVDPP_BLOCKS)
    if not all(np.isfinite(out)):
        raise ValueError(f"{name} = {value!r} is not finite")
    return out  # type: ignore[return-value]


def user_groups(ratings: Ratings) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ratings grouped by user, CSR: user ``u`` rated ``items[indptr[u]:indptr[u + 1]]`` with ``values[...]``.

    Within a user the ratings keep their stored order (Surprise's ``ur[u]``).
    """
    order = np.argsort(ratings.users, kind="stable")
    indptr = np.zeros(ratings.n_users + 1, np.int64)
    np.cumsum(np.bincount(ratings.users, minlength=ratings.n_users), out=indptr[1:])
    return indptr, ratings.items[order].astype(np.int64), ratings.values[order].astype(np.float64)


def svdpp_epoch(factors: Factors, Y, ratings: Ratings, implicit: Implicit | None = None, variant="per_rating",
                lr=0.007, reg=0.02, user_order=None, engine="python") -> tuple[Factors, np.ndarray]:
    r"""One SVD++ pass over ``ratings``, user by user; ``factors`` and ``Y`` are untouched.

    Parameters
    ----------
    factors : Factors
        Biased, float64.
    Y : array_like, shape (n_items, k)
        The implicit item factors :math:`y_j`.
    ratings : Ratings
    implicit : Implicit, optional
        :math:`N(u)`; default the distinct items of each user in ``ratings``.
    variant : {"per_rating", "cached"}
        Surprise's per-rating scheme or the cached-sum variant (:mod:`funksvd.maths.svdpp`).
    lr, reg : float or mapping
        One value, or one per block ``{"P", "Q", "bu", "bi", "Y"}``.
    user_order : array_like of int, optional
        The order in which users are visited; default ``0, 1, ..., n_users - 1``.
    engine : {"python", "compiled"}

    Returns
    -------
    (Factors, numpy.ndarray)
        The stepped parameters and :math:`Y`.
    """
    if not factors.biased or factors.dtype != np.float64:
        raise ValueError("SVD++ runs on biased float64 factors")
    Y = np.array(Y, dtype=np.float64)
    if Y.shape != factors.Q.shape:
        raise ValueError(f"Y must have the shape of Q {factors.Q.shape}, got {Y.shape}")
    if implicit is None:
        implicit = Implicit.from_ratings(ratings)
    if implicit.n_users != factors.n_users:
        raise ValueError(f"implicit feedback is for {implicit.n_users} users, the factors have {factors.n_users}")
    order = np.arange(factors.n_users) if user_order is None else np.asarray(user_order, np.int64)
    if order.size and (order.min() < 0 or order.max() >= factors.n_users):
        raise ValueError(f"user_order must hold user indices in [0, {factors.n_users})")
    P, Q, bu, bi = factors.mutable_copy()
    k = factors.n_factors
    run = svdpp_epoch_function(variant, engine)
    with np.errstate(all="ignore"):
        run(P, Q, bu, bi, Y, np.float64(factors.mu), *user_groups(ratings), implicit.indptr, implicit.indices,
            order, hyper5(lr, "lr"), hyper5(reg, "reg"), np.zeros(k), np.zeros(k))
    for name, array in zip(SVDPP_BLOCKS, (P, Q, bu, bi, Y)):
        if not np.isfinite(array).all():
            raise DivergenceError(f"{name} became non-finite during an SVD++ epoch; try a smaller lr")
    return Factors(P, Q, bu, bi, factors.mu), Y
