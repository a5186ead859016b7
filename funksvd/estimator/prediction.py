"""Vectorised and compiled predictions from raw parameter arrays."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from ..factors import Factors
from ..ratings import Ratings
from ..rules import predict_one

__all__ = ["factor_arrays", "predict_arrays", "sum_squared_errors", "compiled_sse", "rmse_of"]

_CHUNK = 1 << 16  # ratings per chunk when predicting, so memory stays O(chunk * k)


def factor_arrays(factors: Factors):
    """``(P, Q, bu, bi)`` of ``factors`` without copying; empty biases when unbiased."""
    empty = np.zeros(0, factors.dtype)
    return (factors.P, factors.Q, empty if factors.bu is None else factors.bu,
            empty if factors.bi is None else factors.bi)


def predict_arrays(arrays, mu, users, items) -> np.ndarray:
    """Vectorised predictions from raw arrays, chunk by chunk (memory O(chunk * k))."""
    P, Q, bu, bi = arrays
    out = np.empty(len(users), dtype=np.float64)
    for s in range(0, len(users), _CHUNK):
        u, i = users[s:s + _CHUNK], items[s:s + _CHUNK]
        r = np.einsum("nk,nk->n", P[u], Q[i], dtype=np.float64) + mu
        if len(bu):
            r += bu[u] + bi[i]
        out[s:s + _CHUNK] = r
    return out


def sum_squared_errors(P, Q, bu, bi, mu, users, items, values):
    r""":math:`\sum_j (r_j - \hat r_{u_j i_j})^2` over rating triples, as a literal loop (compiled for validation)."""
    sse = 0.0
    for j in range(values.shape[0]):
        err = values[j] - predict_one(P, Q, bu, bi, mu, users[j], items[j])
        sse += err * err
    return sse


@lru_cache(maxsize=None)
def compiled_sse():
    from ..compiled import jit

    return jit(sum_squared_errors, predict_one=jit(predict_one, inline=True))


def rmse_of(arrays, mu, ratings: Ratings, engine: str = "python") -> float:
    """RMSE of the model held in ``arrays`` on ``ratings``: numpy by chunks, or the compiled loop."""
    if engine == "compiled":
        sse = compiled_sse()(*arrays, mu, ratings.users, ratings.items, ratings.values)
        return float(np.sqrt(sse / len(ratings)))
    e = ratings.values - predict_arrays(arrays, mu, ratings.users, ratings.items)
    return float(np.sqrt(np.mean(e * e)))
