"""Recommendations of a fitted FunkSVD: fold-in of a new user, top-N, similar items.

Every test names its oracle. float64 throughout.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from funksvd import RULES, Factors, Ratings, gradients, loss
from funksvd.data import Dataset
from funksvd.base.errors import UnknownIdError
from funksvd.estimator import FunkSVD
from funksvd.estimator.recommend import NewUser, Ranking
from funksvd.model.ids import IdMap

REG = {"P": 0.07, "Q": 0.02, "bu": 0.03, "bi": 0.05}  # distinct per block, so a swapped block is seen
REG_PARAMS = dict(reg_pu=REG["P"], reg_qi=REG["Q"], reg_bu=REG["bu"], reg_bi=REG["bi"])


def problem(rng, n_users=30, n_items=20, n_ratings=300):
    values = rng.uniform(1, 5, n_ratings)
    values[:2] = 1.0, 5.0  # the scale's ends, so that folding in ratings of 1..5 stays in rating_range_
    return Ratings(rng.integers(0, n_users, n_ratings), rng.integers(0, n_items, n_ratings), values, n_users, n_items)


def fitted(rng, rule="funk", biased=True, k=4, **kw):
    return FunkSVD(n_factors=k, n_epochs=5, lr_all=0.02, rule=rule, biased=biased, random_state=0,
                   engine="python", **REG_PARAMS, **kw).fit(problem(rng))


def one_user(model, new: NewUser, items, values):
    """The new user as a one-user problem: its p_u, b_u beside the model's Q, b_i, mu."""
    f = model.factors_
    factors = Factors(new.p_u[None, :], f.Q, [new.b_u] if f.biased else None, f.bi, f.mu)
    return factors, Ratings(np.zeros(len(items), np.int64), items, values, 1, f.n_items)


# ---- fold-in ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("biased", [True, False])
@pytest.mark.parametrize("rule", sorted(RULES))
def test_fold_in_zeroes_the_rules_own_gradient(rng, rule, biased):
    """Oracle: the rule's hand gradient (``funksvd.gradients``) on the one-user problem is 0 in p_u and b_u.

    Tolerance: the gradient is a sum of n terms of size |e q|, |lambda p|; rounding leaves
    ~n eps times their scale, so 1e-12 on ratings of order 1. Kills: the (k+1) system without
    ``n/c`` (quuxlabs' c = 1 vs funk's 1/2), without the rule's ``w_f``/``w_b``, with reg_pu and
    reg_bu swapped, or without the column of ones for b_u.
    """
    model = fitted(rng, rule, biased)
    items = np.array([3, 7, 7, 12, 19])  # a repeated item is two ratings (and a warning naming it)
    values = np.array([4.0, 2.5, 3.0, 5.0, 1.0])
    with pytest.warns(UserWarning, match=r"item\(s\) \[7\] are given more than once"):
        new = model.fold_in(items, values)
    factors, ratings = one_user(model, new, items, values)
    g = gradients(factors, ratings, rule, reg=REG)
    np.testing.assert_allclose(g["P"][0], 0.0, atol=1e-12)
    if biased:
        assert abs(g["bu"][0]) < 1e-12
    else:
        assert new.b_u == 0.0


@pytest.mark.parametrize("rule", sorted(RULES))
def test_fold_in_is_a_minimum_by_finite_differences(rng, rule):
    """Oracle: central differences of the rule's loss (``funksvd.loss``) in p_u and b_u are 0, and
    moving any coordinate raises the loss.

    The loss is quadratic in each coordinate, so central differences have no truncation error
    (REFERENCE, useful facts): h = 0.5, tolerance the rounding 8 eps |L| / h.
    """
    model = fitted(rng, rule)
    items, values = np.array([0, 5, 9]), np.array([5.0, 1.0, 4.0])
    new = model.fold_in(items, values)
    factors, ratings = one_user(model, new, items, values)
    L0 = loss(factors, ratings, rule, reg=REG)
    h, noise = 0.5, 8 * np.finfo(float).eps * abs(L0) / 0.5
    for block, size in (("P", factors.n_factors), ("bu", 1)):
        for j in range(size):
            def moved(step, block=block, j=j):
                theta = np.array(getattr(factors, block), dtype=float)
                theta.reshape(-1)[j] += step
                return loss(factors.replace(**{block: theta}), ratings, rule, reg=REG)
            up, down = moved(h), moved(-h)
            assert abs(up - down) / (2 * h) <= noise, (block, j)
            assert up > L0 and down > L0


def test_fold_in_one_rating_by_hand():
    r"""Oracle: a literal hand computation, rule funk, k = 1, one rating.

    q = 2, b_i = 0.5, mu = 3, r = 4, lambda = 0.1 for every block, so y = r - mu - b_i = 0.5 and
    (A^T A + n lambda I) x = A^T y with A = [2, 1]: [[4.1, 2], [2, 1.1]] x = [1, 0.5],
    det = 0.51, p = (1.1 - 1) / 0.51 = 10/51, b = (2.05 - 2) / 0.51 = 5/51.
    """
    init = Factors([[0.3]], [[2.0]], [0.0], [0.5], mu=3.0)
    model = FunkSVD(n_factors=1, n_epochs=1, lr_all=0.0, reg_all=0.1, engine="python").fit(
        Ratings([0], [0], [4.0]), init=init)
    new = model.fold_in([0], [4.0])
    assert new.p_u.tolist() == pytest.approx([10 / 51], rel=1e-14)
    assert new.b_u == pytest.approx(5 / 51, rel=1e-14)
    assert new.items.tolist() == [0]


def test_fold_in_quuxlabs_one_rating_by_hand():
    r"""Oracle: a literal hand computation for rule quuxlabs (c = 1, w_f = 1/2, w_b = 1), k = 1.

    (A^T A + diag(lambda/2, lambda)) x = A^T y, lambda = 0.1, A = [2, 1], y = 0.5:
    [[4.05, 2], [2, 1.1]] x = [1, 0.5], det = 0.455, p = (1.1 - 1) / 0.455 = 20/91,
    b = (2.025 - 2) / 0.455 = 5/91.
    """
    init = Factors([[0.3]], [[2.0]], [0.0], [0.5], mu=3.0)
    model = FunkSVD(n_factors=1, n_epochs=1, lr_all=0.0, reg_all=0.1, rule="quuxlabs", engine="python").fit(
        Ratings([0], [0], [4.0]), init=init)
    new = model.fold_in([0], [4.0])
    assert new.p_u.tolist() == pytest.approx([20 / 91], rel=1e-14)
    assert new.b_u == pytest.approx(5 / 91, rel=1e-14)


def test_fold_in_bad_input(rng):
    """Oracle: the documented errors (unknown item named, shapes, no ratings, NaN, singular)."""
    model = fitted(rng)
    with pytest.raises(UnknownIdError, match=r"items\[1\] = 20 is not a valid id"):
        model.fold_in([0, 20], [3.0, 4.0])
    with pytest.raises(ValueError, match="same length"):
        model.fold_in([0, 1], [3.0])
    with pytest.raises(ValueError, match="at least one rating"):
        model.fold_in([], [])
    with pytest.raises(ValueError, match=r"ratings\[1\] = nan"):
        model.fold_in([0, 1], [3.0, np.nan])
    free = FunkSVD(n_factors=4, n_epochs=1, reg_all=0.0, engine="python").fit(problem(rng))
    with pytest.raises(ValueError, match="singular"):
        free.fold_in([0], [3.0])  # 1 rating, 5 unknowns, no regularisation


# ---- recommend -------------------------------------------------------------------------------------------


def brute_force_top(model, user, rated, n):
    """All items predicted one by one with ``predict``, rated ones dropped, sorted descending."""
    scored = [(float(model.predict([user], [i])[0]), i) for i in range(model.factors_.n_items) if i not in rated]
    return [i for _, i in sorted(scored, key=lambda t: -t[0])[:n]]


def test_recommend_is_the_top_of_predict_without_rated_items(rng):
    """Oracle: ``predict`` for every item, the user's training items removed by a Python set, sorted."""
    R = problem(rng)
    model = FunkSVD(n_factors=4, n_epochs=5, random_state=0, engine="python").fit(R)
    for user in (0, 7, 29):
        rated = set(R.items[R.users == user].tolist())
        ranking = model.recommend(user, n=5)
        assert ranking.ids.tolist() == brute_force_top(model, user, rated, 5)
        np.testing.assert_allclose(ranking.scores, model.predict(user, ranking.ids), rtol=1e-14)
        assert not rated & set(ranking.ids.tolist())
        assert model.recommend(user, n=5, exclude_rated=False).ids.tolist() == brute_force_top(model, user, set(), 5)
    everything = model.recommend(0, n=100)
    assert len(everything) == R.n_items - len(set(R.items[R.users == 0].tolist()))


def test_recommend_a_folded_in_user(rng):
    """Oracle: the prediction formula mu + b_u + b_i + p_u . q_i written out, its rated items left out."""
    model = fitted(rng)
    new = model.fold_in([1, 2], [5.0, 1.0])
    f = model.factors_
    scores = f.mu + new.b_u + f.bi + f.Q @ new.p_u
    ranking = model.recommend(new, n=3)
    expected = [i for i in np.argsort(-scores) if i not in (1, 2)][:3]
    assert ranking.indices.tolist() == expected
    np.testing.assert_allclose(ranking.scores, scores[expected], rtol=1e-14)


def titled(rng):
    """A dataset with string raw ids and titles."""
    R = problem(rng)
    users = IdMap([f"u{j}" for j in range(R.n_users)], "user")
    items = IdMap([f"tt{100 + j}" for j in range(R.n_items)], "item")
    titles = np.array([f"Film {j}" for j in range(R.n_items)], dtype=object)
    return Dataset(R, users, items, item_titles=titles), R


def test_results_carry_raw_ids_and_titles(rng):
    """Oracle: the index model of the same ratings and seed, translated through the id maps by hand."""
    data, R = titled(rng)
    named = FunkSVD(n_factors=4, n_epochs=5, random_state=0, engine="python").fit(data)
    plain = FunkSVD(n_factors=4, n_epochs=5, random_state=0, engine="python").fit(R)
    ranking = named.recommend("u3", n=4)
    index = plain.recommend(3, n=4).ids
    assert ranking.ids.tolist() == [f"tt{100 + i}" for i in index]
    assert ranking.titles.tolist() == [f"Film {i}" for i in index]
    assert list(ranking)[0] == (ranking.ids[0], ranking.scores[0], ranking.titles[0])
    assert "Film" in str(ranking)
    similar = named.similar_items("tt105", n=3)
    assert similar.ids.tolist() == [f"tt{100 + i}" for i in plain.similar_items(5, n=3).ids]
    new = named.fold_in(["tt101", "tt102"], [5.0, 2.0])
    assert new.items.tolist() == [1, 2]
    with pytest.raises(UnknownIdError, match="unknown user id 'nobody'"):
        named.recommend("nobody")


# ---- similar items ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("metric", ["cosine", "dot"])
def test_similar_items_by_loop(rng, metric):
    """Oracle: the cosine (or dot product) of q_i with every other q_j, computed with math.fsum in a loop."""
    model = fitted(rng)
    Q = model.factors_.Q

    def score(a, b):
        dot = np.float64(np.sum(Q[a] * Q[b]))
        if metric == "dot":
            return dot
        return dot / (np.sqrt(np.sum(Q[a] ** 2)) * np.sqrt(np.sum(Q[b] ** 2)))

    ranking = model.similar_items(4, n=6, metric=metric)
    expected = sorted((j for j in range(len(Q)) if j != 4), key=lambda j: -score(4, j))[:6]
    assert ranking.ids.tolist() == expected
    np.testing.assert_allclose(ranking.scores, [score(4, j) for j in expected], rtol=1e-12)  # summation order
    assert isinstance(ranking, Ranking) and ranking.titles is None


def test_similar_items_bad_input(rng):
    """Oracle: the documented errors (metric, n, unknown item, zero vector)."""
    model = fitted(rng)
    with pytest.raises(ValueError, match="metric must be"):
        model.similar_items(0, metric="euclid")
    with pytest.raises(ValueError, match="n must be a positive integer"):
        model.similar_items(0, n=0)
    with pytest.raises(UnknownIdError, match="items"):
        model.similar_items(20)
    zero = FunkSVD(n_factors=2, n_epochs=1, lr_all=0.0, engine="python").fit(
        Ratings([0, 0], [0, 1], [3.0, 4.0]),
        init=Factors([[1.0, 0.0]], [[0.0, 0.0], [1.0, 1.0]], [0.0], [0.0, 0.0], 3.5))
    with pytest.raises(ValueError, match="zero factor vector"):
        zero.similar_items(0)
    assert zero.similar_items(1).scores.tolist() == [0.0]  # the zero vector scores 0, not NaN


def test_training_ratings_survive_save_and_load(rng, tmp_path):
    """Oracle: the set of (user, item) pairs of the fitted Ratings, before and after a save/load."""
    R = problem(rng)
    model = FunkSVD(n_factors=2, n_epochs=1, engine="python").fit(R)
    pairs = set(zip(R.users.tolist(), R.items.tolist()))
    model.save(tmp_path / "m.npz")
    for m in (model, FunkSVD.load(tmp_path / "m.npz")):
        kept = m.training_ratings()
        assert set(zip(kept.users.tolist(), kept.items.tolist())) == pairs
        assert (kept.n_users, kept.n_items) == (R.n_users, R.n_items)


def test_a_dataframe_with_string_ids_fits_and_recommends_in_them():
    """Oracle: the frame's own ids (the recommendations are among the items the user did not rate),
    and a literal check of the fallback flag for an unknown user."""
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"userId": ["ann", "ann", "bo", "bo", "cy", "cy"],
                       "movieId": ["tt01", "tt02", "tt01", "tt03", "tt02", "tt04"],
                       "rating": [5.0, 3.0, 4.0, 2.0, 4.5, 1.0]})
    data = Dataset.from_frame(df, user="userId", item="movieId", rating="rating")
    model = FunkSVD(n_factors=3, n_epochs=5, random_state=0, engine="python").fit(data)
    assert sorted(model.recommend("ann", n=5).ids.tolist()) == ["tt03", "tt04"]
    assert model.similar_items("tt01", n=1).ids[0] in {"tt02", "tt03", "tt04"}
    _, known = model.predict(["ann", "zoe"], ["tt03", "tt03"], unknown="baseline", return_known=True)
    assert known.tolist() == [True, False]


# ---- fold_in's input (review finding 11) ------------------------------------------------------------


def test_fold_in_refuses_strings_and_names_what_it_warns_about(rng):
    """Oracle: the documented choices: strings refused (as Dataset refuses them), ratings outside
    rating_range_ used with a warning naming the range, a repeated item used with a warning naming it.
    Before: "5" was taken as 5.0, [0, 0] on a 1..5 scale and repeats passed silently."""
    model = fitted(rng)
    low, high = model.rating_range_
    with pytest.raises(ValueError, match="ratings must be numbers, got dtype <U1"):
        model.fold_in([1], ["5"])
    with pytest.raises(ValueError, match="ratings must be numbers"):
        model.fold_in([1, 2], [5.0, None])
    with pytest.warns(UserWarning, match=rf"2 rating\(s\) outside the training range \[{low:g}, {high:g}\]"):
        model.fold_in([1, 2], [0.0, 0.0])
    with pytest.warns(UserWarning, match=r"item\(s\) \[2\] are given more than once"):
        model.fold_in([2, 1, 2], [3.0, 3.0, 4.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # in range, distinct: no warning
        model.fold_in([1, 2], [low, high])
