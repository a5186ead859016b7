"""Vectorised and compiled predictions from raw parameter arrays."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from ..model.factors import Factors
from ..model.ratings import Ratings
from ..maths.rules import predict_one
from ..sgd.loops import AHEAD, prefetch

__all__ = ["factor_arrays", "predict_arrays", "sum_squared_errors", "compiled_sse", "rmse_of"]

#: Bytes of gathered factor rows per chunk when predicting (memory O(chunk), not O(n * k)). Small
#: enough to be reused from the heap: a chunk past glibc's mmap threshold (32 MiB at most) is
#: mapped and unmapped on every call, and its page faults cost more than the arithmetic (ml-100k,
#: k = 100: 0.21 s for the first prediction of the training set at 65,536 rows a chunk, 6 ms at 1,024).
_CHUNK_BYTES = 1 << 20

def factor_arrays(factors: Factors):
    """``(P, Q, bu, bi)`` of ``factors`` without copying; empty biases when unbiased."""
    empty = np.zeros(0, factors.dtype)
    return (factors.P, factors.Q, empty if factors.bu is None else factors.bu,
            empty if factors.bi is None else factors.bi)


def predict_arrays(arrays, mu, users, items) -> np.ndarray:
    """Vectorised predictions from raw arrays, chunk by chunk (memory O(chunk * k))."""
    P, Q, bu, bi = arrays
    out = np.empty(len(users), dtype=np.float64)
    chunk = max(64, _CHUNK_BYTES // max(1, P.shape[1] * P.itemsize))
    for s in range(0, len(users), chunk):
        u, i = users[s:s + chunk], items[s:s + chunk]
        r = np.einsum("nk,nk->n", P[u], Q[i], dtype=np.float64) + mu
        if len(bu):
            r += bu[u] + bi[i]
        out[s:s + chunk] = r
    return out


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
        return float(np.sqrt(sse / len(ratings)))
    e = ratings.values - predict_arrays(arrays, mu, ratings.users, ratings.items)
    return float(np.sqrt(np.mean(e * e)))
