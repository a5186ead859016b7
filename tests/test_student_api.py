"""What a student's script used to write by hand: FunkSVD.from_factors, Ratings.from_dense(mask=), Factors.full.

Oracles: a fitted FunkSVD (its own recommend / similar_items), a brute-force ranking written in the
test, predict of every pair one by one, and literal hand computations.
"""

from __future__ import annotations

import numpy as np
import pytest

import funksvd
from funksvd import OBJECTIVES, Factors, FunkSVD, Ratings
from funksvd.data import Dataset
from funksvd.model.factors import MAX_CELLS
from funksvd.model.ids import IdMap


def problem(rng, n_users=25, n_items=15, n_ratings=200):
    return Ratings(rng.integers(0, n_users, n_ratings), rng.integers(0, n_items, n_ratings),
                   rng.uniform(1, 5, n_ratings), n_users, n_items)


# ---- FunkSVD.from_factors ---------------------------------------------------------------------------


def test_from_factors_of_a_fitted_model_recommends_as_the_model(rng):
    """Oracle: the fitted FunkSVD itself. Rebuilt from its factors_ and its training dataset (raw ids,
    titles), recommend, similar_items and predict give the same ids, titles and scores."""
    R = problem(rng)
    data = Dataset(R, IdMap([f"u{j}" for j in range(R.n_users)], "user"),
                   IdMap([f"m{j}" for j in range(R.n_items)], "item"),
                   item_titles=np.array([f"Film {j}" for j in range(R.n_items)], dtype=object))
    model = FunkSVD(n_factors=3, n_epochs=5, lr_all=0.02, random_state=0, engine="python").fit(data)
    again = FunkSVD.from_factors(model.factors_, data)
    for user in ("u0", "u7"):
        a, b = model.recommend(user, n=5), again.recommend(user, n=5)
        assert list(a) == list(b)
    assert list(model.similar_items("m3", n=4)) == list(again.similar_items("m3", n=4))
    np.testing.assert_array_equal(model.predict(["u1", "u2"], ["m0", "m9"], clip=True),
                                  again.predict(["u1", "u2"], ["m0", "m9"], clip=True))


def test_from_factors_of_train_recommends_the_brute_force_top(rng):
    """Oracle: a brute-force ranking written here: Factors.predict of every item for the user, the rated
    ones removed, sorted descending. The factors come from funksvd.train (full batch, bare Ratings)."""
    R = problem(rng)
    start = Factors.random(R.n_users, R.n_items, 3, mu=R.mean(), random_state=0)
    factors, history = funksvd.train(start, R, n_epochs=30)
    model = FunkSVD.from_factors(factors, R, history=history)
    assert model.n_epochs_ == 30 and model.history_ == history and model.mu_ == factors.mu
    user = int(R.users[0])
    rated = set(R.items[R.users == user].tolist())
    scores = factors.predict(np.full(R.n_items, user), np.arange(R.n_items))
    rated_at_all = np.bincount(R.items, minlength=R.n_items) > 0
    expected = [i for i in np.argsort(-scores, kind="stable") if i not in rated and rated_at_all[i]][:5]
    assert model.recommend(user, n=5).ids.tolist() == expected


def test_from_factors_refuses_a_shape_mismatch_and_non_factors(rng):
    """Oracle: the message names both shapes."""
    R = problem(rng)
    with pytest.raises(ValueError, match="25 x 15"):
        FunkSVD.from_factors(Factors.random(3, 15, 2, random_state=0), R)
    with pytest.raises(TypeError, match="Factors"):
        FunkSVD.from_factors(np.zeros((3, 2)), R)


# ---- Ratings.from_dense(mask=) ----------------------------------------------------------------------


def test_from_dense_with_a_mask_keeps_zeros_and_skips_the_rest():
    """Oracle: a literal hand computation. A 2 x 3 matrix with a 0 rating and a NaN outside the mask."""
    M = np.array([[0.0, 2.0, np.nan], [3.0, 0.5, 1.0]])
    mask = np.array([[True, False, False], [True, True, False]])
    R = Ratings.from_dense(M, mask=mask)
    assert R.users.tolist() == [0, 1, 1] and R.items.tolist() == [0, 0, 1]
    assert R.values.tolist() == [0.0, 3.0, 0.5] and R.shape == (2, 3)


@pytest.mark.parametrize("mask, match", [
    (np.ones((2, 3), dtype=int), "boolean"),
    (np.ones((3, 2), dtype=bool), "shape"),
    (np.zeros((2, 3), dtype=bool), "no True cell"),
    (np.array([[False, False, True], [False, False, False]]), r"R\[0, 2\] = nan is masked in"),
])
def test_from_dense_bad_masks_are_named(mask, match):
    """Oracle: the message names the problem (and the cell)."""
    M = np.array([[0.0, 2.0, np.nan], [3.0, 0.5, 1.0]])
    with pytest.raises(ValueError, match=match):
        Ratings.from_dense(M, mask=mask)


# ---- Factors.full, Objective.predict_full -----------------------------------------------------------


@pytest.mark.parametrize("biased", [True, False])
def test_full_is_predict_of_every_pair(rng, biased):
    """Oracle: Factors.predict of each pair (u, i), one at a time."""
    F = Factors.random(6, 4, 3, biased=biased, mu=3.1, random_state=1)
    if biased:
        F = F.replace(bu=rng.normal(size=6), bi=rng.normal(size=4))
    Z = F.full()
    expected = np.array([[F.predict([u], [i])[0] for i in range(4)] for u in range(6)])
    np.testing.assert_allclose(Z, expected, rtol=1e-15, atol=1e-15)  # one product vs one dot: rounding only


def test_predict_full_applies_the_link():
    """Oracle: Objective.predict of each pair (the sigmoid link of keras_sigmoid_2019, range (1, 5))."""
    objective = OBJECTIVES["keras_sigmoid_2019"].replace(rating_range=(1.0, 5.0))
    F = Factors.random(5, 3, 2, mu=0.2, random_state=0)
    users, items = np.indices((5, 3))
    np.testing.assert_allclose(objective.predict_full(F), objective.predict(F, users.ravel(), items.ravel())
                               .reshape(5, 3), rtol=1e-15)
    assert objective.predict_full(F).min() > 1.0


def test_full_refuses_above_the_memory_bound():
    """Oracle: 4 x 3 = 12 cells against max_cells=11 (and 12 is allowed); the default bound is 1e8 cells."""
    F = Factors.random(4, 3, 2, random_state=0)
    with pytest.raises(MemoryError, match="4 x 3 = 12 cells"):
        F.full(max_cells=11)
    assert F.full(max_cells=12).shape == (4, 3)
    assert MAX_CELLS == 10**8
