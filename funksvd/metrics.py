r"""Accuracy of a fitted model on held-out ratings."""

from __future__ import annotations

import numpy as np

from .ratings import Ratings

__all__ = ["errors", "rmse", "mae"]


def errors(model, ratings: Ratings) -> np.ndarray:
    r"""Errors :math:`e_{ui} = r_{ui} - \hat r_{ui}` of ``model`` on ``ratings``.

    ``model`` is anything with ``predict(users, items)``: :class:`~funksvd.Factors`, a fitted
    estimator.
    """
    if not isinstance(ratings, Ratings):
        raise TypeError(f"ratings must be a funksvd.Ratings, got {type(ratings).__name__}")
    return ratings.values - np.asarray(model.predict(ratings.users, ratings.items), dtype=np.float64)


def rmse(model, ratings: Ratings) -> float:
    r"""Root mean squared error :math:`\sqrt{\frac{1}{|\mathcal K|}\sum e_{ui}^2}`.

    Examples
    --------
    >>> from funksvd import Factors, Ratings, rmse
    >>> F = Factors(P=[[1.0]], Q=[[2.0], [3.0]])  # predicts 2 and 3 for user 0
    >>> R = Ratings([0, 0], [0, 1], [2.0, 5.0])
    >>> rmse(F, R)  # errors 0 and 2: sqrt((0 + 4) / 2)
    1.4142135623730951
    """
    e = errors(model, ratings)
    return float(np.sqrt(np.mean(e * e)))


def mae(model, ratings: Ratings) -> float:
    r"""Mean absolute error :math:`\frac{1}{|\mathcal K|}\sum |e_{ui}|`."""
    return float(np.mean(np.abs(errors(model, ratings))))
