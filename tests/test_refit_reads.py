"""Every read of a fitted model sees one fit's state, even while a refit publishes another; SVDpp and ALS refit so.

``predict`` takes the state one fit published for the whole call (tests/test_estimator_bounds.py); these tests pin
the same for ``recommend``, ``similar_items``, ``fold_in`` and ``save``, and for ``SVDpp`` and ``ALS``, whose own
``fit`` used to clear the fitted attributes in place. The refit is published deterministically in the middle of the
call (a patched inner function swaps ``__dict__`` as ``FunkSVD.fit`` does), not by racing a thread.

Oracle: the answers of the model before the refit, computed alone; the refit model has other raw ids
(``"b..."`` instead of ``"a..."``) and another shape, so a mixture of the two states cannot go unseen.
"""

from __future__ import annotations

import numpy as np
import pytest

from funksvd import ALS, FunkSVD, SVDpp
from funksvd.data import Dataset
from funksvd.estimator import als as als_module
from funksvd.estimator import recommend as recommend_module
from funksvd.estimator import svdpp as svdpp_module
from tests.test_estimator_bounds import small


def dataset(seed: int, prefix: str, **shape) -> Dataset:
    ratings = small(seed, **shape)
    return Dataset.from_arrays([f"u{u}" for u in ratings.users], [f"{prefix}{i}" for i in ratings.items],
                               ratings.values)


SETTINGS = {"n_factors": 3, "n_epochs": 5, "engine": "python", "random_state": 0}
FIRST, SECOND = dataset(0, "a"), dataset(1, "b", n_users=10, n_items=7, n=40)


def publish_during(monkeypatch, module, name: str, model, refit) -> None:
    """Make ``module.name`` publish ``refit``'s state into ``model`` (as ``FunkSVD.fit`` does) before it runs."""
    original = getattr(module, name)

    def swapped(*args, **kwargs):
        model.__dict__ = dict(refit.__dict__)
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, swapped)


@pytest.mark.parametrize("call", [
    lambda m: m.recommend("u1", n=3),
    lambda m: m.similar_items("a2", n=3),
    lambda m: m.recommend(m.fold_in(["a1", "a3"], [5, 1]), n=3),
], ids=["recommend", "similar_items", "fold_in"])
def test_a_read_during_a_refit_is_the_old_models(monkeypatch, call):
    """Oracle: the same call on an identical model fitted alone on the first data (raw ids, scores, titles)."""
    alone = call(FunkSVD(**SETTINGS).fit(FIRST))
    model, refit = FunkSVD(**SETTINGS).fit(FIRST), FunkSVD(**SETTINGS).fit(SECOND)
    publish_during(monkeypatch, recommend_module, "top_n", model, refit)
    got = call(model)
    np.testing.assert_array_equal(got.ids, alone.ids)
    np.testing.assert_array_equal(got.scores, alone.scores)
    assert model.user_ids_ is refit.user_ids_  # the refit was published during the call


def test_svdpp_predicts_the_old_model_while_it_refits(monkeypatch):
    """Oracle: the prediction of the model before the refit, computed alone; before the fix SVDpp's fit cleared
    the fitted attributes of the estimator itself, so a predict during the refit raised NotFittedError."""
    settings = {"n_factors": 3, "n_epochs": 3, "engine": "python", "random_state": 0}
    model = SVDpp(**settings).fit(FIRST)
    old = model.predict(["u0", "u1"], ["a0", "a1"])
    seen = []
    original = svdpp_module.svdpp_penalty

    def reading(*args, **kwargs):  # called once per epoch of the refit
        seen.append(model.predict(["u0", "u1"], ["a0", "a1"]))
        return original(*args, **kwargs)

    monkeypatch.setattr(svdpp_module, "svdpp_penalty", reading)
    model.fit(SECOND)
    assert len(seen) == 3
    for answer in seen:
        np.testing.assert_array_equal(answer, old)
    assert model.item_ids_.raw_ids[0] == "b0"  # and afterwards the refit is the model


def test_als_predicts_the_old_model_while_it_refits(monkeypatch):
    """Oracle: the prediction of the model before the refit, computed alone; before the fix ALS's fit cleared
    the fitted attributes of the estimator itself, so a predict during the refit raised NotFittedError."""
    model = ALS(n_factors=3, n_epochs=3, engine="python", random_state=0).fit(FIRST)
    old = model.predict(["u0", "u1"], ["a0", "a1"])
    seen = []
    original = als_module.sweep_arrays

    def reading(*args, **kwargs):  # called once per sweep of the refit
        seen.append(model.predict(["u0", "u1"], ["a0", "a1"]))
        return original(*args, **kwargs)

    monkeypatch.setattr(als_module, "sweep_arrays", reading)
    model.fit(SECOND)
    assert len(seen) == 3
    for answer in seen:
        np.testing.assert_array_equal(answer, old)
    assert model.item_ids_.raw_ids[0] == "b0"


@pytest.mark.parametrize("name, value", [("patience", 3), ("n_jobs", 2), ("dtype", np.float32),
                                         ("rule", "quuxlabs"), ("biased", False)])
def test_svdpp_refuses_funksvd_only_parameters(name, value):
    """Oracle: the parameter list of FunkSVD's signature; each of its parameters SVDpp lacks is refused by
    name, saying it is FunkSVD's, never accepted and ignored."""
    with pytest.raises(TypeError, match=rf"SVDpp does not support \['{name}'\].*FunkSVD parameters"):
        SVDpp(**{name: value})
    with pytest.raises(TypeError, match=r"does not support \['colour'\]$"):
        SVDpp(colour=1)
    assert "unsupported" not in SVDpp().get_params()
