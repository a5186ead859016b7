"""``SVDpp`` against confused parameters and start values: one InputError naming the parameter, before training.

Oracle: the parameter (or argument) written in each case, which the message must name; nothing is trained.
"""

from __future__ import annotations

import numpy as np
import pytest

from funksvd import SVDpp
from funksvd.base.errors import InputError
from tests.test_estimator_bounds import small

RATINGS = small(0)


@pytest.mark.parametrize("name, value", [
    ("n_factors", 0), ("n_factors", 2.5), ("n_epochs", True), ("lr_all", -1.0), ("reg_all", float("nan")),
    ("lr_yj", "a"), ("reg_yj", -0.1), ("init_std_dev", None), ("init_mean", "0"), ("init_mean", float("inf")),
    ("variant", "fast"), ("engine", "tensorflow"), ("shuffle", "grid"), ("random_state", "seed"),
    ("random_state", -1), ("verbose", "yes"), ("cache_ratings", 1),
])
def test_a_bad_parameter_is_named(name, value):
    """Oracle: the parameter set in the case; the InputError names it, and the estimator stays unfitted."""
    model = SVDpp(**{"n_epochs": 1, name: value})
    with pytest.raises(InputError, match=name):
        model.fit(RATINGS)
    assert not hasattr(model, "factors_")


def test_init_must_be_factors_and_y():
    """Oracle: FunkSVD's ``init`` (Factors alone) and a Y of the wrong shape are refused by name; a correct
    pair is used as the start (zero epochs of change: the same shapes come back)."""
    fitted = SVDpp(n_factors=2, n_epochs=2, engine="python", random_state=0).fit(RATINGS)
    with pytest.raises(InputError, match=r"init must be a pair \(Factors, Y\)"):
        SVDpp(n_factors=2, n_epochs=1).fit(RATINGS, init=fitted.factors_)
    with pytest.raises(InputError, match="Y of shape"):
        SVDpp(n_factors=2, n_epochs=1).fit(RATINGS, init=(fitted.factors_, fitted.y_[:2]))
    again = SVDpp(n_factors=2, n_epochs=1, engine="python").fit(RATINGS, init=(fitted.factors_, fitted.y_))
    assert again.y_.shape == fitted.y_.shape and np.isfinite(again.y_).all()


def test_the_memory_estimate_counts_y_and_refuses_before_allocating(monkeypatch):
    """``n_factors=10**7`` on 8 users x 6 items with 1 GiB available: refused, the refit keeping the model.
    Oracle: the need counted here, (8 + 6 + 6) rows of P, Q and Y x (10**7 + 1) numbers x 8 bytes x 2 copies."""
    from funksvd.estimator import params

    monkeypatch.setattr(params, "available_memory", lambda: 2**30)
    needed = (8 + 6 + 6) * (10**7 + 1) * 8 * 2
    model = SVDpp(n_factors=3, n_epochs=1, engine="python").fit(RATINGS)
    before = model.predict([0, 1], [0, 1])
    with pytest.raises(InputError, match=rf"n_factors=10000000 for 8 users and 6 items needs about "
                                         rf"{needed / 2**30:,.1f} GiB"):
        model.set_params(n_factors=10**7).fit(RATINGS)
    np.testing.assert_array_equal(model.predict([0, 1], [0, 1]), before)
