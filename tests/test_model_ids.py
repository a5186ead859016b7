"""Ids at the model's edges: fitting on raw ids, unknown users and items, indices out of range,
and one estimator fitted from two threads.

Every test names its oracle. float64 throughout.
"""

from __future__ import annotations

import threading
import types

import numpy as np
import pytest

from funksvd import Factors, FunkSVD, Ratings, rmse
from funksvd.data import Dataset
from funksvd.base.errors import UnknownIdError
from funksvd.model.ids import IdMap


def problem(rng, n_users=30, n_items=20, n_ratings=300):
    return Ratings(rng.integers(0, n_users, n_ratings), rng.integers(0, n_items, n_ratings),
                   rng.integers(1, 6, n_ratings).astype(float), n_users, n_items)


def named(R, users=None, items=None):
    users = [f"u{j}" for j in range(R.n_users)] if users is None else users
    items = [f"i{j}" for j in range(R.n_items)] if items is None else items
    return Dataset(R, IdMap(users, "user"), IdMap(items, "item"))


# ---- Factors.predict ------------------------------------------------------------------------------------


@pytest.mark.parametrize("users, items, error, match", [
    ([-1], [0], UnknownIdError, r"users\[0\] = -1 is not a valid id: there are 3 users, ids 0..2"),
    ([0, 3], [0, 0], UnknownIdError, r"users\[1\] = 3 is not a valid id"),
    ([0], [2], UnknownIdError, r"items\[0\] = 2 is not a valid id: there are 2 items"),
    ([0.7], [0], ValueError, r"users\[0\] = 0.7 is not a valid id: ids are whole numbers"),
    ([np.nan], [0], ValueError, r"users\[0\] = nan"),
    (["0"], [0], ValueError, "users must be integer ids"),
    ([True], [0], ValueError, "users must be integer ids"),
])
def test_factors_predict_checks_ids(users, items, error, match):
    """Oracle: the documented error naming the entry. Before the fix -1 silently gave the last
    user's prediction, 0.7 user 0's, and 3 a bare IndexError."""
    f = Factors(np.arange(6.0).reshape(3, 2), np.ones((2, 2)), np.zeros(3), np.zeros(2), mu=1.0)
    with pytest.raises(error, match=match):
        f.predict(users, items)
    assert f.predict([2, 0.0], [1, 0]).tolist() == [1.0 + 4 + 5, 1.0 + 0 + 1]  # whole floats are indices


def test_rmse_on_wider_ratings_names_the_id():
    """Oracle: the documented UnknownIdError (before: an IndexError, or silently a wrapped row)."""
    f = Factors(np.ones((3, 2)), np.ones((2, 2)))
    with pytest.raises(UnknownIdError, match=r"users\[1\] = 5 is not a valid id"):
        rmse(f, Ratings([0, 5], [0, 1], [1.0, 2.0], 6, 2))


# ---- fitting on raw ids ---------------------------------------------------------------------------------


def test_fit_on_a_dataset_speaks_its_raw_ids(rng):
    """Oracle: the model fitted on the bare Ratings with the same seed, looked up through the maps by hand."""
    R = problem(rng)
    raw_users, raw_items = 100 + 3 * np.arange(R.n_users)[::-1], np.arange(R.n_items) * 10
    data = named(R, raw_users, raw_items)
    model = FunkSVD(n_factors=3, n_epochs=3, random_state=0, engine="python").fit(data)
    plain = FunkSVD(n_factors=3, n_epochs=3, random_state=0, engine="python").fit(R)
    assert model.factors_.equals(plain.factors_)
    assert model.user_ids_ == data.user_map and model.item_ids_ == data.item_map
    np.testing.assert_array_equal(model.predict(raw_users[[4, 0]], raw_items[[2, 19]]), plain.predict([4, 0], [2, 19]))
    with pytest.raises(UnknownIdError, match=r"unknown user id 4 \(users\[0\]\)"):
        model.predict([4], [0])  # an index is not a raw id here
    assert model.user_index(raw_users[7]) == 7 and model.item_index(raw_items[[3, 1]]).tolist() == [3, 1]
    assert model.user_index(str(raw_users[7])) == 7  # as typed on a command line
    validation = named(Ratings([1, 2], [0, 1], [3.0, 4.0], R.n_users, R.n_items), raw_users, raw_items)
    model.fit(data, validation=validation)
    assert model.history_[-1]["val_rmse"] == pytest.approx(rmse(plain.fit(R, validation=validation.ratings),
                                                                validation.ratings), rel=1e-12)


def test_validation_with_ids_the_training_data_lacks(rng):
    """Oracle: the documented UnknownIdError naming the id; bare validation Ratings against a dataset need indices."""
    R = problem(rng)
    data = named(R)
    held = named(Ratings([0], [0], [3.0]), ["someone new"], ["i0"])
    with pytest.raises(UnknownIdError, match="unknown user id 'someone new'"):
        FunkSVD(n_factors=2, n_epochs=1).fit(data, validation=held)
    with pytest.raises(TypeError, match="validation has raw ids"):
        FunkSVD(n_factors=2, n_epochs=1).fit(R, validation=held)
    with pytest.raises(TypeError, match="ratings must be a funksvd.Ratings or a funksvd.data.Dataset"):
        FunkSVD().fit(types.SimpleNamespace(ratings=None))


# ---- unknown ids at prediction ---------------------------------------------------------------------------


def literal_model(biased=True):
    """Two users, two items, hand-written parameters (lr 0 keeps them): u0, u1 x i0, i1."""
    init = Factors([[1.0], [2.0]], [[0.5], [-1.0]], [0.25, -0.5] if biased else None,
                   [0.125, 1.0] if biased else None, mu=3.0 if biased else 0.0)
    R = Ratings([0, 1, 1], [0, 0, 1], [4.0, 2.0, 3.0])
    return FunkSVD(n_factors=1, n_epochs=1, lr_all=0.0, biased=biased, engine="python").fit(
        named(R, ["ann", "bob"], ["x", "y"]), init=init)


def test_unknown_ids_strict_and_baseline():
    """Oracle: Surprise's rule written out by hand from the literal parameters.

    known pair: mu + b_u + b_i + p.q; unknown user: mu + b_i; unknown item: mu + b_u; both: mu.
    """
    model = literal_model()
    users, items = ["bob", "zed", "ann", "zed"], ["y", "x", "w", "w"]
    with pytest.raises(UnknownIdError, match=r"unknown user id 'zed' \(users\[1\]\)") as raised:
        model.predict(users, items)
    assert isinstance(raised.value, KeyError)
    r_hat, known = model.predict(users, items, unknown="baseline", return_known=True)
    assert r_hat.tolist() == [3.0 - 0.5 + 1.0 + 2.0 * -1.0, 3.0 + 0.125, 3.0 + 0.25, 3.0]
    assert known.tolist() == [True, False, False, False]
    assert model.predict(users, items, unknown="baseline").tolist() == r_hat.tolist()
    assert model.predict(["zed"], ["x"], unknown="baseline", clip=True).tolist() == [3.125]
    with pytest.raises(ValueError, match="unknown must be one of"):
        model.predict(users, items, unknown="ignore")


def test_unknown_ids_unbiased_fall_back_to_the_training_mean():
    """Oracle: Surprise's default_prediction, the training mean (4 + 2 + 3) / 3 = 3."""
    model = literal_model(biased=False)
    r_hat, known = model.predict(["ann", "nobody"], ["x", "x"], unknown="baseline", return_known=True)
    assert r_hat.tolist() == [0.5, 3.0] and known.tolist() == [True, False]


def test_unknown_indices_of_a_model_on_bare_ratings(rng):
    """Oracle: mu + b_i for an index past the end (fallback), the documented error otherwise."""
    R = problem(rng)
    model = FunkSVD(n_factors=2, n_epochs=1, engine="python").fit(R)
    f = model.factors_
    r_hat, known = model.predict([30, -1, 0], [1, 1, 1], unknown="baseline", return_known=True)
    np.testing.assert_array_equal(r_hat[:2], f.mu + f.bi[1])
    assert r_hat[2] == model.predict([0], [1])[0] and known.tolist() == [False, False, True]
    with pytest.raises(ValueError, match=r"users\[0\] = 0.5"):
        model.predict([0.5], [1], unknown="baseline")  # not an id at all: no fallback


# ---- threads -------------------------------------------------------------------------------------------


def test_fitting_one_estimator_from_two_threads_is_refused(rng, monkeypatch):
    """Oracle: the documented RuntimeError for the second fit while the first runs (before: both ran
    and interleaved their epochs in one history_)."""
    model = FunkSVD(n_factors=2, n_epochs=2, engine="python")
    inside, release = threading.Event(), threading.Event()
    check = FunkSVD._check_params
    calls = []

    def slow_check(self):
        calls.append(1)
        if len(calls) == 1:  # the first fit waits here until the second one has been tried
            inside.set()
            release.wait(30)
        return check(self)

    monkeypatch.setattr(FunkSVD, "_check_params", slow_check)
    first = threading.Thread(target=model.fit, args=(problem(rng),))
    first.start()
    try:
        assert inside.wait(30)
        with pytest.raises(RuntimeError, match="already being fitted"):
            model.fit(problem(rng))
    finally:
        release.set()
        first.join(30)
    assert model.n_epochs_ == 2 and len(model.history_) == 2
    model.fit(problem(rng))  # afterwards it fits again
    assert len(model.history_) == 2


# ---- never-rated ids, missing values, one id (review findings 4, 9, 10) ----------------------------------


def catalogue_model(rng):
    """60 listed items, only i0..i39 rated: i40..i59 are listed but never rated; users u0..u29."""
    R = Ratings(rng.integers(0, 30, 400), rng.integers(0, 40, 400), rng.integers(1, 6, 400).astype(float), 30, 60)
    return FunkSVD(n_factors=3, n_epochs=3, random_state=0).fit(named(R)), R


def test_never_rated_items_are_unknown_refused_and_left_out(rng):
    """Oracle: the training ratings themselves (which items occur) and the baseline mu + b_u by hand.

    Before: similar_items("i55") ranked neighbours of a random start vector, predict said
    known=True for it and its score used that vector, recommend listed never-rated items."""
    model, R = catalogue_model(rng)
    rated = np.zeros(60, bool)
    rated[R.items] = True
    assert not rated[40:].any()
    np.testing.assert_array_equal(model.rating_counts()[1], np.bincount(R.items, minlength=60))
    with pytest.raises(ValueError, match=r"item 'i55' has no ratings in the training data: its factors are its "
                                         "random start"):
        model.similar_items("i55")
    r_hat, known = model.predict(["u1", "u1"], ["i55", "i3"], return_known=True)
    f = model.factors_
    assert known.tolist() == [False, True]
    assert r_hat[0] == f.mu + f.bu[1]  # the baseline of a known user and an item without ratings
    shown = model.recommend("u1", n=60).indices
    assert rated[shown].all() and len(shown) == rated.sum() - len(set(R.items[R.users == 1]))
    assert rated[model.similar_items("i3", n=60).indices].all()
    assert (~rated[model.recommend("u1", n=60, include_never_rated=True).indices]).sum() == 20


def test_never_rated_counts_survive_save_and_load(rng, tmp_path):
    """Oracle: np.bincount of the training items; the loaded model refuses the same item (before: no counts)."""
    model, R = catalogue_model(rng)
    model.save(tmp_path / "m.npz")
    again = FunkSVD.load(tmp_path / "m.npz")
    for a, b in zip(again.rating_counts(), (np.bincount(R.users, minlength=30), np.bincount(R.items, minlength=60))):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="'i41' has no ratings"):
        again.similar_items("i41")


@pytest.mark.parametrize("missing", [np.nan, None, float("nan")])
def test_missing_values_are_not_ids_even_in_baseline_mode(rng, missing):
    """Oracle: the documented refusal (before: unknown="baseline" quietly returned the baseline for NaN/None)."""
    model, _ = catalogue_model(rng)
    for users, items in (([missing], ["i1"]), (["u1"], [missing]), (missing, "i1")):
        with pytest.raises(ValueError, match="a missing value, not an id"):
            model.predict(users, items, unknown="baseline")


def test_one_bad_index_is_named_without_an_array_position(rng):
    """Oracle: the message of the review (before: "users[0] = 999 is not a valid id")."""
    model = FunkSVD(n_factors=2, n_epochs=1, random_state=0).fit(problem(rng))
    with pytest.raises(UnknownIdError, match=r"^user 999 is not a valid id: the model has 30 users, ids 0\.\.29$"):
        model.recommend(999)
    with pytest.raises(UnknownIdError, match=r"^item -1 is not a valid id: the model has 20 items"):
        model.similar_items(-1)


def test_a_never_rated_user_is_unknown_and_refused(rng):
    """Oracle: the baseline mu + b_i by hand for a listed user without ratings (u30, u31);
    before: its random p_u entered the prediction and recommend ranked items for it."""
    R = Ratings(rng.integers(0, 30, 300), rng.integers(0, 20, 300), rng.integers(1, 6, 300).astype(float), 32, 20)
    model = FunkSVD(n_factors=3, n_epochs=3, random_state=0).fit(named(R))
    r_hat, known = model.predict(["u31", "u1"], ["i3", "i3"], return_known=True)
    f = model.factors_
    assert known.tolist() == [False, True] and r_hat[0] == f.mu + f.bi[3]
    with pytest.raises(ValueError, match="user 'u30' has no ratings in the training data"):
        model.recommend("u30")
