"""Vectorised and compiled predictions from raw parameter arrays."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from ..base.measures import root_mean_square, root_mean_square_of_sse
from ..model.factors import Factors, predict_pairs
from ..model.ratings import Ratings
from ..maths.rules import predict_one
from ..sgd.loops import AHEAD, prefetch

__all__ = ["factor_arrays", "predict_arrays", "sum_squared_errors", "compiled_sse", "rmse_of"]


def factor_arrays(factors: Factors):
    """``(P, Q, bu, bi)`` of ``factors`` without copying; empty biases when unbiased."""
    empty = np.zeros(0, factors.dtype)
    return (factors.P, factors.Q, empty if factors.bu is None else factors.bu,
            empty if factors.bi is None else factors.bi)


def predict_arrays(arrays, mu, users, items) -> np.ndarray:
    """Vectorised predictions from raw arrays ``(P, Q, bu, bi)`` (:func:`~funksvd.model.factors.predict_pairs`)."""
    P, Q, bu, bi = arrays
    return predict_pairs(P, Q, bu, bi, mu, users, items)


def sum_squared_errors(P, Q, bu, bi, mu, users, items, values):
    r""":math:`\sum_j (r_j - \hat r_{u_j i_j})^2` over rating triples, as a literal loop (compiled for validation).

    The rows of the pair ``AHEAD`` places on are prefetched, as in :func:`funksvd.sgd.loops.run_epoch`.
    """
    sse = 0.0
    n = values.shape[0]
    for j in range(n):
        if j + AHEAD < n:
            prefetch(P, users[j + AHEAD])
            prefetch(Q, items[j + AHEAD])
        err = values[j] - predict_one(P, Q, bu, bi, mu, users[j], items[j])
        sse += err * err
    return sse


@lru_cache(maxsize=None)
def compiled_sse():
    from ..sgd.compiled import jit, prefetch

    return jit(sum_squared_errors, predict_one=jit(predict_one, inline=True), prefetch=prefetch)


def rmse_of(arrays, mu, ratings: Ratings, engine: str = "python") -> float:
    """RMSE of the model held in ``arrays`` on ``ratings``: numpy by chunks, or the compiled loop."""
    if engine == "compiled":
        sse = compiled_sse()(*arrays, mu, ratings.users, ratings.items, ratings.values)
        return root_mean_square_of_sse(sse, len(ratings))
    return root_mean_square(ratings.values - predict_arrays(arrays, mu, ratings.users, ratings.items))
