"""Random cases for the exercises: generic values, several shapes, every user and item rated at least once."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..model.factors import Factors
from ..model.ratings import Ratings

__all__ = ["SHAPES", "Problem", "coordinate_differences", "problem"]

#: (n_users, n_items, k) of the cases, in turn; non-square, with k = 1 among them.
SHAPES = ((4, 3, 2), (6, 5, 3), (3, 7, 1), (7, 6, 4), (5, 4, 2), (2, 6, 3))


@dataclass(frozen=True)
class Problem:
    """A random rating problem: ``ratings``, its dense ``R`` (0 where missing) and mask ``M``, ``factors``, ``reg``."""

    factors: Factors
    ratings: Ratings
    R: np.ndarray
    M: np.ndarray
    reg: float

    @property
    def label(self) -> str:
        f = self.factors
        return f"{f.n_users} users x {f.n_items} items, k = {f.n_factors}, {len(self.ratings)} ratings"


def problem(rng: np.random.Generator, index: int, biased: bool = False, density: float = 0.6,
            low: float = 1.0, high: float = 5.0) -> Problem:
    """The ``index``-th case: shape ``SHAPES[index % 6]``, ratings uniform on ``(low, high)``, factors N(0, 0.5^2).

    Each user and each item has at least one rating (a diagonal-like set is always observed);
    the penalty weight is drawn from (0.05, 0.5), the biases from N(0, 0.3^2); mu is the mean (biased) or 0.
    """
    n_users, n_items, k = SHAPES[index % len(SHAPES)]
    M = rng.random((n_users, n_items)) < density
    M[np.arange(max(n_users, n_items)) % n_users, np.arange(max(n_users, n_items)) % n_items] = True
    users, items = np.nonzero(M)
    values = rng.uniform(low, high, size=len(users))
    ratings = Ratings(users, items, values, n_users=n_users, n_items=n_items)
    P = rng.normal(0.0, 0.5, size=(n_users, k))
    Q = rng.normal(0.0, 0.5, size=(n_items, k))
    bu = rng.normal(0.0, 0.3, size=n_users) if biased else None
    bi = rng.normal(0.0, 0.3, size=n_items) if biased else None
    factors = Factors(P, Q, bu, bi, mu=float(values.mean()) if biased else 0.0)
    return Problem(factors, ratings, ratings.to_dense(missing=0.0), M.astype(np.float64),
                   float(rng.uniform(0.05, 0.5)))


def coordinate_differences(fun, x: np.ndarray, h: float = 1.0) -> np.ndarray:
    r"""Central differences :math:`(f(x + h\epsilon_j) - f(x - h\epsilon_j))/2h` along every coordinate of ``x``.

    Exact, for any ``h``, for a function quadratic along each coordinate (see
    :mod:`funksvd.check.finite_differences`, whose Factors-block version this is for plain arrays).
    """
    x = np.asarray(x, dtype=np.float64)
    grad = np.empty_like(x)
    for j in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[j] += h
        down[j] -= h
        grad[j] = (fun(up) - fun(down)) / (2.0 * h)
    return grad
