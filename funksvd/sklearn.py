"""scikit-learn's side of funksvd: :class:`FunkSVDRegressor`, a :class:`~funksvd.FunkSVD` on ``(X, y)``.

``X`` holds one ``(user, item)`` pair per row (shape ``(n, 2)``: raw ids, integers or strings, or a
two-column DataFrame) and ``y`` the ratings, so that scikit-learn's model selection runs on
ratings as it does on any regression::

    from sklearn.model_selection import GridSearchCV
    from funksvd.sklearn import FunkSVDRegressor

    search = GridSearchCV(FunkSVDRegressor(random_state=0), {"n_factors": [10, 50]},
                          scoring="neg_root_mean_squared_error", cv=3).fit(X, y)

Its parameters are :class:`~funksvd.FunkSVD`'s, with the same names and defaults. scikit-learn is
imported by this module, which ``import funksvd`` never imports: install it with
``pip install scikit-learn``. :class:`~funksvd.FunkSVD` itself follows scikit-learn's parameter
conventions without it (``get_params``, ``set_params``, ``sklearn.base.clone``).
"""

from __future__ import annotations

import inspect

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin

from .base.errors import InputError
from .data import Dataset
from .estimator import FunkSVD

__all__ = ["FunkSVDRegressor"]

_SIGNATURE = inspect.signature(FunkSVD.__init__)


def _pairs(X) -> tuple[np.ndarray, np.ndarray]:
    """The user and item columns of ``X``: an ``(n, 2)`` array-like or a two-column DataFrame."""
    array = X.to_numpy() if hasattr(X, "to_numpy") else np.asarray(X)
    if array.ndim != 2 or array.shape[1] != 2:
        raise InputError(f"X must hold one (user, item) pair per row, shape (n, 2); got shape {array.shape}")
    return array[:, 0], array[:, 1]


class FunkSVDRegressor(RegressorMixin, BaseEstimator):
    """:class:`~funksvd.FunkSVD` as a scikit-learn regressor on ``(user, item)`` pairs.

    Parameters
    ----------
    **params
        Every parameter of :class:`~funksvd.FunkSVD`, by the same name and with the same default
        (``n_factors``, ``n_epochs``, ``lr_all``, ``reg_all``, ``random_state``, ...).

    Attributes
    ----------
    model_ : FunkSVD
        The estimator fitted by :meth:`fit`, on a :class:`~funksvd.data.Dataset` of the raw ids.

    Notes
    -----
    :meth:`predict` predicts a pair with a user or item unseen in training as
    :meth:`FunkSVD.predict <funksvd.FunkSVD.predict>` does with ``unknown="baseline"`` (what is
    known of it, as Surprise does), since a cross-validation fold may hold such pairs.
    :meth:`score` is scikit-learn's :math:`R^2`; pass ``scoring="neg_root_mean_squared_error"``
    to model selection for the RMSE.
    """

    def __init__(self, **params):
        bound = _SIGNATURE.bind(self, **params)  # a TypeError names an unknown parameter
        bound.apply_defaults()
        for name, value in list(bound.arguments.items())[1:]:
            setattr(self, name, value)

    __init__.__signature__ = _SIGNATURE  # type: ignore[attr-defined]  # what get_params and clone read

    def fit(self, X, y) -> FunkSVDRegressor:
        """Fit :class:`~funksvd.FunkSVD` with these parameters to the ratings ``y`` of the pairs ``X``."""
        users, items = _pairs(X)
        values = np.asarray(y, dtype=np.float64)
        if values.shape != (len(users),):
            raise InputError(f"y must hold one rating per row of X ({len(users)}), got shape {values.shape}")
        self.model_ = FunkSVD(**self.get_params()).fit(Dataset.from_arrays(users, items, values, source="X, y"))
        return self

    def predict(self, X) -> np.ndarray:
        """Predicted ratings of the pairs ``X`` (unseen users or items: ``unknown="baseline"``)."""
        users, items = _pairs(X)
        return self.model_.predict(users, items, unknown="baseline")
