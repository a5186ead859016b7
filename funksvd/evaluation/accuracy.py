r"""Accuracy of a fitted model on held-out ratings."""

from __future__ import annotations

import numpy as np

from ..base.errors import InputError
from ..base.measures import mean_absolute, root_mean_square
from ..data.dataset import Dataset
from ..maths.objectives import as_objective
from ..model.ratings import Ratings

__all__ = ["errors", "rmse", "mae"]


def errors(model, ratings: Ratings, *, objective=None) -> np.ndarray:
    r"""Errors :math:`e_{ui} = r_{ui} - \hat r_{ui}` of ``model`` on ``ratings``.

    Parameters
    ----------
    model
        Anything with ``predict(users, items)``: :class:`~funksvd.Factors`, a fitted estimator.
    ratings : Ratings or Dataset
        Held-out ratings: indices (``Ratings``), or a dataset whose raw ids a model fitted on a
        dataset is asked about (an id it does not know raises ``UnknownIdError``).
    objective : Objective or str, optional
        The objective the model was fitted with: its link turns the model's scores into
        ratings, :math:`\hat r_{ui} = h(z_{ui})` (e.g. the sigmoid of ``"keras_sigmoid_2019"``).
        Without it the predictions are used as they come (the identity link).
    """
    if isinstance(ratings, Dataset):
        if getattr(model, "user_ids_", None) is None:
            raise InputError("a Dataset is scored by its raw ids, which only a model fitted on a dataset knows; "
                             "for this model pass the dataset's ratings (indices): data.ratings")
        r = ratings.ratings
        r_hat = np.asarray(model.predict(ratings.user_ids[r.users], ratings.item_ids[r.items]), dtype=np.float64)
        ratings = r
    elif not isinstance(ratings, Ratings):
        raise TypeError(f"ratings must be a funksvd.Ratings or Dataset, got {type(ratings).__name__}")
    else:
        r_hat = np.asarray(model.predict(ratings.users, ratings.items), dtype=np.float64)
    if objective is not None:
        r_hat = as_objective(objective).apply_link(r_hat)[0]
    return ratings.values - r_hat


def rmse(model, ratings: Ratings, *, objective=None) -> float:
    r"""Root mean squared error :math:`\sqrt{\frac{1}{|\mathcal K|}\sum e_{ui}^2}` (``objective``: see :func:`errors`).

    Examples
    --------
    >>> from funksvd import Factors, Ratings, rmse
    >>> F = Factors(P=[[1.0]], Q=[[2.0], [3.0]])  # predicts 2 and 3 for user 0
    >>> R = Ratings([0, 0], [0, 1], [2.0, 5.0])
    >>> rmse(F, R)  # errors 0 and 2: sqrt((0 + 4) / 2)
    1.4142135623730951
    """
    return root_mean_square(errors(model, ratings, objective=objective))


def mae(model, ratings: Ratings, *, objective=None) -> float:
    r"""Mean absolute error :math:`\frac{1}{|\mathcal K|}\sum |e_{ui}|` (``objective``: see :func:`errors`)."""
    return mean_absolute(errors(model, ratings, objective=objective))
