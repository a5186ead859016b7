"""Simon Funk's feature-wise schedule: the kernels by hand, the engines, the cache, the stopping rule.

Every test names its oracle in the docstring; float64 throughout; tolerances are commented.
"""

from __future__ import annotations

import numpy as np
import pytest

from funksvd import DivergenceError, Factors, Ratings, rmse
from funksvd.estimator import FunkSVD
from funksvd.sgd.funk_schedule import bias_step, feature_functions, feature_step, residual_cache, train_features

from .test_estimator import load_ml100k

LR = (0.01, 0.02, 0.03, 0.04)  # (P, Q, bu, bi): distinct, so a mixed-up block shows
REG = (0.1, 0.2, 0.3, 0.4)


def low_rank(rng, n_users=40, n_items=30, n_ratings=600, k=2, noise=0.1):
    """Ratings from a biased rank-``k`` model plus noise, rounded and clipped to 1..5."""
    P, Q = rng.normal(0, 0.8, (n_users, k)), rng.normal(0, 0.8, (n_items, k))
    users, items = rng.integers(0, n_users, n_ratings), rng.integers(0, n_items, n_ratings)
    r = 3.5 + rng.normal(0, 0.3, n_users)[users] + np.einsum("nk,nk->n", P[users], Q[items])
    r = np.clip(np.round(r + rng.normal(0, noise, n_ratings)), 1, 5)
    return Ratings(users, items, r, n_users, n_items)


# ---- the kernels, by hand ------------------------------------------------------------------------


@pytest.mark.parametrize("engine", ["python", "compiled"])
def test_feature_step_by_hand(engine):
    """Oracle: literal hand computation of Funk's update on feature 1.

    cache 3.0, p_u1 = 0.5, q_i1 = 0.2: prediction 3.1, r = 4, e = 0.9;
    p <- 0.5 + 0.01 (0.9 * 0.2 - 0.1 * 0.5) = 0.5013;  q <- 0.2 + 0.02 (0.9 * 0.5 - 0.2 * 0.2) = 0.2082.
    """
    P, Q = np.array([[9.0, 0.5]]), np.array([[9.0, 0.2]])
    cache = np.array([3.0])
    run = feature_functions(engine).run_feature_epoch
    sse = run(P, Q, cache, 1, np.array([0]), np.array([0]), np.array([4.0]), LR, REG, 1.0, 5.0)
    assert sse == pytest.approx(0.81, abs=1e-15)
    assert P[0, 1] == pytest.approx(0.5013, abs=1e-15) and Q[0, 1] == pytest.approx(0.2082, abs=1e-15)
    assert P[0, 0] == Q[0, 0] == 9.0 and cache[0] == 3.0  # other features and the cache untouched


def test_bias_step_by_hand():
    """Oracle: literal hand computation. cache 3.0, b_u 0.2, b_i -0.1: prediction 3.1, r = 2, e = -1.1;
    b_u <- 0.2 + 0.03 (-1.1 - 0.3 * 0.2) = 0.1652;  b_i <- -0.1 + 0.04 (-1.1 + 0.4 * 0.1) = -0.1424.
    """
    bu, bi, cache = np.array([0.2]), np.array([-0.1]), np.array([3.0])
    err = bias_step(bu, bi, cache, 0, 0, 0, 2.0, LR, REG, 1.0, 5.0)
    assert err == pytest.approx(-1.1, abs=1e-15)
    assert bu[0] == pytest.approx(0.1652, abs=1e-15) and bi[0] == pytest.approx(-0.1424, abs=1e-15)


@pytest.mark.parametrize("cache, r, unclipped", [(4.95, 5.0, 5.2), (0.5, 1.0, 0.75)])
def test_prediction_is_clipped_inside_training(cache, r, unclipped):
    """Oracle: hand computation. p = q = 0.5 adds 0.25; the clipped prediction equals r, so e = 0 (not r - unclipped).

    With e = 0 only the penalty acts: p <- 0.5 - 0.01 * 0.1 * 0.5 = 0.4995, q <- 0.5 - 0.02 * 0.2 * 0.5 = 0.498.
    """
    P, Q, c = np.array([[0.5]]), np.array([[0.5]]), np.array([cache])
    assert c[0] + 0.25 == pytest.approx(unclipped)
    err = feature_step(P, Q, c, 0, 0, 0, 0, r, LR, REG, 1.0, 5.0)
    assert err == 0.0
    assert P[0, 0] == pytest.approx(0.4995, abs=1e-15) and Q[0, 0] == pytest.approx(0.498, abs=1e-15)
    bu, bi = np.array([0.0]), np.array([0.25])
    assert bias_step(bu, bi, np.array([cache]), 0, 0, 0, r, LR, REG, 1.0, 5.0) == 0.0


# ---- engines -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("biased", [True, False])
def test_compiled_equals_python(rng, biased):
    """Oracle: the python engine (same kernels as plain Python); shuffled, 3 features, biased and unbiased."""
    R = low_rank(rng, n_ratings=300)
    kw = dict(schedule="feature", n_factors=3, biased=biased, feature_epochs=12, feature_min_epochs=2,
              lr_all=0.01, random_state=4)
    py = FunkSVD(engine="python", **kw).fit(R)
    jit = FunkSVD(engine="compiled", **kw).fit(R)
    assert [h["feature"] for h in py.history_] == [h["feature"] for h in jit.history_]
    for name in py.factors_.blocks:
        # same operations in the same order; 1e-12 allows rounding differences only
        np.testing.assert_allclose(getattr(jit.factors_, name), getattr(py.factors_, name), rtol=0, atol=1e-12)


# ---- the schedule ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("trailing", [True, False])
@pytest.mark.parametrize("biased", [True, False])
def test_cached_residuals_equal_recomputation(rng, biased, trailing):
    """Oracle: ``residual_cache`` recomputed from scratch (numpy) at the start of every stage and at the end,
    with the trailing constant written out by hand: ``(k - f - 1) * 0.3 ** 2`` while feature ``f`` trains.

    When the generator yields the first epoch of a stage, the previous stage has been added to
    the cache and the new one has not: the cache must equal mu + biases + the finished
    features (+ the constant of the features after the one training; never in the bias stage).
    Different summation order: tolerance 1e-12. ``feature_init = 0.3`` and k = 4, so the
    constant (0.27, 0.18, 0.09, 0) is far above the tolerance at every stage.
    Kills: the constant never decreasing, starting at k (not k - 1) shares, or entering the bias stage.
    """
    R = low_rank(rng)
    k, mu, init = 4, (R.mean() if biased else 0.0), 0.3
    P, Q = np.zeros((R.n_users, k)), np.zeros((R.n_items, k))
    bu, bi = (np.zeros(R.n_users), np.zeros(R.n_items)) if biased else (np.zeros(0), np.zeros(0))
    cache = np.full(len(R), mu)
    epochs = train_features(P, Q, bu, bi, cache, R.users, R.items, R.values, lr=(0.01,) * 4, reg=(0.02,) * 4,
                            rating_range=(1.0, 5.0), max_epochs=20, min_epochs=3, feature_init=init,
                            trailing=trailing, engine="compiled")
    previous, checked = "start", 0
    for feature, *_ in epochs:
        if feature != previous:
            finished = 0 if feature is None else feature
            constant = (k - feature - 1) * init ** 2 if trailing and feature is not None else 0.0
            expected = residual_cache(P, Q, bu if feature is not None else np.zeros(0),
                                      bi if feature is not None else np.zeros(0), mu, R.users, R.items, finished,
                                      trailing=constant)
            np.testing.assert_allclose(cache, expected, rtol=0, atol=1e-12)
            if feature is not None:  # the columns not trained yet: their start value, or 0
                assert np.all(P[:, feature + 1:] == (init if trailing else 0.0))
                assert np.all(Q[:, feature + 1:] == (init if trailing else 0.0))
            previous, checked = feature, checked + 1
    np.testing.assert_allclose(cache, residual_cache(P, Q, bu, bi, mu, R.users, R.items, k), rtol=0, atol=1e-12)
    assert checked == k + biased


def test_trailing_term_of_start_columns_equals_recomputation(rng):
    """Oracle: numpy, from scratch: with ``start`` columns (random, so every product differs) the
    trailing term is the sum of their products, and the cache during stage ``f`` is
    mu + biases + every column but ``f``: ``residual_cache`` over all k minus column ``f``'s products.

    Different summation order: 1e-12. Kills: the constant (k - f - 1) feature_init^2 used where
    the start values are not feature_init.
    """
    R = low_rank(rng)
    k, mu = 4, R.mean()
    P0, Q0 = rng.normal(0, 0.5, (R.n_users, k)), rng.normal(0, 0.5, (R.n_items, k))
    P, Q = np.zeros((R.n_users, k), order="F"), np.zeros((R.n_items, k), order="F")
    bu, bi = np.zeros(R.n_users), np.zeros(R.n_items)
    cache = np.full(len(R), mu)
    epochs = train_features(P, Q, bu, bi, cache, R.users, R.items, R.values, lr=(0.01,) * 4, reg=(0.02,) * 4,
                            rating_range=(1.0, 5.0), max_epochs=3, min_epochs=3, trailing=True, start=(P0, Q0))
    checked = 0
    for feature, *_ in epochs:
        if feature is not None:
            np.testing.assert_array_equal(P[:, feature + 1:], P0[:, feature + 1:])
            own = P[R.users, feature] * Q[R.items, feature]
            expected = residual_cache(P, Q, bu, bi, mu, R.users, R.items, k) - own
            np.testing.assert_allclose(cache, expected, rtol=0, atol=1e-12)
            checked += 1
    assert checked == 3 * k


def test_each_finished_feature_lowers_training_rmse(rng):
    """Oracle: numpy RMSE of the clipped predictions of the model truncated to features < f (``residual_cache``)."""
    R = low_rank(rng, n_ratings=1500, k=3)
    model = FunkSVD(schedule="feature", n_factors=4, lr_all=0.01, random_state=0).fit(R)
    F = model.factors_
    curve = [np.sqrt(np.mean((R.values - np.clip(residual_cache(F.P, F.Q, F.bu, F.bi, F.mu, R.users, R.items, f),
                                                  1, 5)) ** 2)) for f in range(5)]
    assert all(b < a for a, b in zip(curve, curve[1:])), curve
    assert [h["feature"] for h in model.history_][0] is None  # the bias stage comes first


def test_stages_follow_the_stopping_rule(rng):
    """Oracle: the documented rule, applied to the per-epoch ``train_rmse`` in ``history_``.

    A stage runs at least ``feature_min_epochs`` epochs; after that it ends at the first epoch
    whose relative improvement is below ``feature_min_improvement``, or at ``feature_epochs``.
    """
    R = low_rank(rng)
    model = FunkSVD(schedule="feature", n_factors=3, feature_epochs=30, feature_min_epochs=4,
                    feature_min_improvement=1e-3, lr_all=0.01, random_state=0).fit(R)
    stages = {}
    for h in model.history_:
        stages.setdefault(h["feature"], []).append(h["train_rmse"])
    assert list(stages) == [None, 0, 1, 2]
    assert any(4 < len(curve) < 30 for curve in stages.values())  # the rule did end some stage early
    for curve in stages.values():
        assert 4 <= len(curve) <= 30
        # 0-based indices t of the epochs (t + 1) from the floor on whose improvement is small
        small = [t for t in range(3, len(curve)) if curve[t - 1] - curve[t] < 1e-3 * curve[t - 1]]
        if len(curve) < 30:
            assert small == [len(curve) - 1]  # the last epoch, and only it, triggered the stop
        else:
            assert small in ([], [29])


def test_early_stopping_counts_features_and_keeps_the_best(rng):
    """Oracle: a fresh fit with ``n_factors`` = the features kept (same seed, no validation): bit-identical.

    Rank-2 data split 1200/300: validation improves with features 0 and 1, then not. Patience
    counts finished stages; features not kept hold 0, so ``factors_`` is exactly what was trained.
    """
    A = low_rank(rng, n_ratings=1500, k=2, noise=0.5)
    R, V = A.subset(np.arange(1200)), A.subset(np.arange(1200, 1500))
    # without the trailing constant: with it, feature f of an 8-feature fit trains beside
    # (8 - f - 1) * 0.01, and a fresh fit with fewer features beside less
    kw = dict(schedule="feature", lr_all=0.02, reg_all=0.0, feature_trailing=False, random_state=0)
    model = FunkSVD(n_factors=8, patience=2, **kw).fit(R, validation=V)
    assert model.stopped_early_
    kept = model.history_[model.best_epoch_ - 1]["feature"] + 1
    assert model.history_[model.best_epoch_]["feature"] == kept  # the best epoch ended its stage
    assert 1 <= kept <= 6 and not np.any(model.factors_.P[:, kept:]) and not np.any(model.factors_.Q[:, kept:])
    fresh = FunkSVD(n_factors=kept, **kw).fit(R).factors_
    assert np.array_equal(model.factors_.P[:, :kept], fresh.P) and np.array_equal(model.factors_.Q[:, :kept], fresh.Q)
    assert np.array_equal(model.factors_.bu, fresh.bu) and np.array_equal(model.factors_.bi, fresh.bi)


def test_init_supplies_the_starting_columns(rng):
    """Oracle: with every learning rate 0 nothing moves, so ``factors_`` equals ``init``."""
    R = low_rank(rng)
    F0 = Factors.random(R.n_users, R.n_items, 3, mu=3.0, random_state=1).replace(
        bu=rng.normal(size=R.n_users), bi=rng.normal(size=R.n_items))
    model = FunkSVD(schedule="feature", n_factors=3, lr_all=0.0, feature_epochs=2, feature_min_epochs=1,
                    random_state=0).fit(R, init=F0)
    assert model.factors_.equals(F0)


def test_feature_schedule_on_movielens_100k(ml100k_path):
    """Oracle: a published figure's neighbourhood. Surprise's joint SVD gets ~0.946 on an 80/20 split.

    20 features with the estimator defaults (lr 0.005, reg 0.02, 30 to 100 epochs per
    feature, the trailing term), compiled: measured 0.953 on the seed-0 split (0.946 without
    the trailing term); the bar is 0.97.
    """
    train, test = load_ml100k(ml100k_path)
    model = FunkSVD(schedule="feature", n_factors=20, random_state=0).fit(train)
    assert rmse(model, test) < 0.97


# ---- the cap, the parameters, the loss and the divergence guard ---------------------------------------------


def literal_funk_schedule(R, k, epochs, lr, reg, init=0.1, trailing=False):
    """Funk's schedule written out as plain loops (the oracle of the cap and trailing tests): biases,
    then each feature, each stage exactly ``epochs`` epochs in stored order, clipped predictions,
    cached residuals; with ``trailing``, the prediction of feature ``f`` adds ``(k - f - 1) * init * init``
    (Funk's ``predictRating(..., bTrailing=true)``, LensKit's ``trail``). The cache sums as
    ``add_biases``/``add_feature`` do, so without the constant the result is bit for bit the same."""
    lo, hi = float(R.values.min()), float(R.values.max())
    mu = float(np.mean(R.values))
    P, Q = np.zeros((R.n_users, k)), np.zeros((R.n_items, k))
    bu, bi = np.zeros(R.n_users), np.zeros(R.n_items)
    cache = [mu] * len(R)
    for _ in range(epochs):
        for j, (u, i, r) in enumerate(zip(R.users, R.items, R.values)):
            e = r - min(max(cache[j] + bu[u] + bi[i], lo), hi)
            bu[u] += lr * (e - reg * bu[u])
            bi[i] += lr * (e - reg * bi[i])
    cache = [c + (bu[u] + bi[i]) for c, u, i in zip(cache, R.users, R.items)]
    for f in range(k):
        P[:, f] = Q[:, f] = init
        for _ in range(epochs):
            for j, (u, i, r) in enumerate(zip(R.users, R.items, R.values)):
                p, q = P[u, f], Q[i, f]
                if trailing:
                    e = r - min(max(cache[j] + p * q + (k - f - 1) * init * init, lo), hi)
                else:
                    e = r - min(max(cache[j] + p * q, lo), hi)
                P[u, f] = p + lr * (e * q - reg * p)
                Q[i, f] = q + lr * (e * p - reg * q)
        cache = [c + P[u, f] * Q[i, f] for c, u, i in zip(cache, R.users, R.items)]
    return P, Q, bu, bi


def test_a_stage_reaches_the_cap(rng):
    """Oracle: a literal loop (``literal_funk_schedule``) running exactly ``feature_epochs`` epochs per
    stage, and a count of the epochs per stage in ``history_``.

    ``feature_min_epochs = feature_epochs`` and ``feature_min_improvement = 0``: only the cap can end
    a stage. Kills the mutant whose stage loop stops one epoch short (``range(1, max_epochs)``).
    """
    R = low_rank(rng, n_ratings=200)
    cap = 6
    model = FunkSVD(schedule="feature", n_factors=3, feature_epochs=cap, feature_min_epochs=cap,
                    feature_min_improvement=0.0, lr_all=0.02, reg_all=0.05, shuffle=False, engine="python",
                    random_state=0).fit(R)
    stages = [h["feature"] for h in model.history_]
    assert stages == [None] * cap + [0] * cap + [1] * cap + [2] * cap
    P, Q, bu, bi = literal_funk_schedule(R, 3, cap, lr=0.02, reg=0.05, trailing=False)  # the default
    # the same operations in the same order, but the literal cache sums in another order: 1e-12
    for name, expected in zip(("P", "Q", "bu", "bi"), (P, Q, bu, bi)):
        np.testing.assert_allclose(getattr(model.factors_, name), expected, rtol=0, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("engine", ["python", "compiled"])
def test_trailing_constant_equals_a_literal_schedule(rng, engine):
    """Oracle: ``literal_funk_schedule(..., trailing=True)``, Funk's loop with the constant of the
    features not trained yet written into the prediction, ``(k - f - 1) * feature_init ** 2``.

    ``feature_init = 0.3``, 4 features: the constant is 0.27, 0.18, 0.09, 0, large enough to move
    every stage. The literal loop adds the constant to each prediction, the estimator carries it
    in the cache: the same values summed in another order, tolerance 1e-12.
    Kills: the flag not reaching the schedule, the constant never decreasing, k shares instead
    of k - 1, the constant in the bias stage (all four are at least 1e-3 away).
    """
    R = low_rank(rng, n_ratings=200)
    model = FunkSVD(schedule="feature", n_factors=4, feature_epochs=5, feature_min_epochs=5, feature_init=0.3,
                    lr_all=0.02, reg_all=0.05, shuffle=False, engine=engine, feature_trailing=True,
                    random_state=0).fit(R)
    assert not FunkSVD().feature_trailing  # off by default: with the default lr it overfits
    P, Q, bu, bi = literal_funk_schedule(R, 4, 5, lr=0.02, reg=0.05, init=0.3, trailing=True)
    for name, expected in zip(("P", "Q", "bu", "bi"), (P, Q, bu, bi)):
        np.testing.assert_allclose(getattr(model.factors_, name), expected, rtol=0, atol=1e-12, err_msg=name)
    P0, Q0, *_ = literal_funk_schedule(R, 4, 5, lr=0.02, reg=0.05, init=0.3, trailing=False)
    assert np.abs(model.factors_.P - P0).max() > 1e-3  # the constant did change the fit


@pytest.mark.parametrize("engine", ["python", "compiled"])
def test_without_trailing_bit_identical_to_the_plain_schedule(rng, engine):
    """Oracle: ``literal_funk_schedule(..., trailing=False)``, the schedule as it was before the trailing
    constant (every feature beside 0 for the features not trained), summing its cache in the
    estimator's order: ``feature_trailing=False`` must give the same factors bit for bit (python
    engine; the compiled one to rounding, and bit for bit run to run).

    (Also checked once against a fit of the main checkout before the change, on this problem
    and on MovieLens 100K: bit-identical.) Kills: any share of the constant left in the cache
    with the flag off (e.g. ``leave_trailing`` subtracting ``feature_init ** 2`` regardless).
    """
    R = low_rank(rng, n_ratings=200)
    model = FunkSVD(schedule="feature", n_factors=3, feature_epochs=6, feature_min_epochs=6, lr_all=0.02,
                    reg_all=0.05, shuffle=False, engine=engine, feature_trailing=False, random_state=0).fit(R)
    P, Q, bu, bi = literal_funk_schedule(R, 3, 6, lr=0.02, reg=0.05)
    for name, expected in zip(("P", "Q", "bu", "bi"), (P, Q, bu, bi)):
        if engine == "python":  # the same operations in the same order: bit for bit
            assert np.array_equal(getattr(model.factors_, name), expected), name
        else:  # numba may contract a * b + c into one FMA (fastmath "contract"): rounding only, 1e-12
            np.testing.assert_allclose(getattr(model.factors_, name), expected, rtol=0, atol=1e-12, err_msg=name)


def test_feature_trailing_must_be_a_bool(rng):
    """Oracle: the documented contract of ``check_params``: a non-bool ``feature_trailing`` is an InputError."""
    with pytest.raises(ValueError, match="feature_trailing must be True or False, got 'yes'"):
        FunkSVD(schedule="feature", n_factors=2, feature_trailing="yes").fit(low_rank(rng))


def test_min_epochs_above_the_cap_is_rejected(rng):
    """Oracle: the documented contract: ``feature_min_epochs > feature_epochs`` is a ValueError naming both."""
    R = low_rank(rng)
    with pytest.raises(ValueError, match=r"min_epochs=8 .*max_epochs=5 .*feature_min_epochs.*feature_epochs"):
        FunkSVD(schedule="feature", n_factors=2, feature_epochs=5, feature_min_epochs=8).fit(R)
    P, Q = np.zeros((R.n_users, 1)), np.zeros((R.n_items, 1))
    with pytest.raises(ValueError, match="min_epochs=3"):  # at the call, before any epoch
        train_features(P, Q, np.zeros(0), np.zeros(0), np.zeros(len(R)), R.users, R.items, R.values,
                       lr=(0.01,) * 4, reg=(0.0,) * 4, rating_range=(1, 5), max_epochs=2, min_epochs=3)
    FunkSVD(schedule="feature", n_factors=2, feature_epochs=5, feature_min_epochs=5, random_state=0).fit(R)


@pytest.mark.parametrize("biased", [True, False])
def test_history_loss_is_the_running_loss(rng, biased):
    """Oracle: the running-loss formula of the FunkSVD Notes, evaluated with numpy on ``factors_`` and
    the last epoch's ``train_rmse``: :math:`\\tfrac12 \\sum e^2 + \\tfrac12 \\sum_u n_u (\\lambda_P
    \\lVert p_u\\rVert^2 + \\lambda_{b_u} b_u^2) + \\tfrac12 \\sum_i n_i (\\lambda_Q \\lVert q_i\\rVert^2
    + \\lambda_{b_i} b_i^2)`.

    Distinct per-block regularisation, so a block with the wrong weight or a finished feature
    missing from the penalty shows. Sums in another order: relative 1e-12.
    """
    R = low_rank(rng)
    model = FunkSVD(schedule="feature", n_factors=3, biased=biased, feature_epochs=8, feature_min_epochs=8,
                    lr_all=0.02, reg_pu=0.1, reg_qi=0.2, reg_bu=0.3, reg_bi=0.4, random_state=0).fit(R)
    F, last = model.factors_, model.history_[-1]
    n_u, n_i = np.bincount(R.users, minlength=R.n_users), np.bincount(R.items, minlength=R.n_items)
    sse = last["train_rmse"] ** 2 * len(R)
    penalty = 0.1 * n_u @ np.sum(F.P ** 2, axis=1) + 0.2 * n_i @ np.sum(F.Q ** 2, axis=1)
    if biased:
        penalty += 0.3 * n_u @ F.bu ** 2 + 0.4 * n_i @ F.bi ** 2
    assert last["loss"] == pytest.approx(0.5 * sse + 0.5 * penalty, rel=1e-12)


@pytest.mark.parametrize("engine", ["python", "compiled"])
@pytest.mark.parametrize("values", [[4.0] * 30, [3.0]], ids=["all-equal", "one-rating"])
def test_zero_first_loss_is_not_divergence(engine, values):
    """Oracle: hand analysis. All ratings equal (or a single one): mu is that rating, the clip range
    is [r, r], so every clipped prediction is r and every error 0; the bias stage's loss is exactly 0.

    The first feature's loss is then its penalty, lambda/2 * 0.1^2 per rating and factor, which
    only decays. A guard comparing it with the first epoch's 0 raised "loss grew from 0 to ..." at
    any learning rate. Predictions stay r.
    """
    n = len(values)
    R = Ratings(np.arange(n) % 5, np.arange(n) % 6, values, 5, 6)
    model = FunkSVD(schedule="feature", n_factors=2, feature_epochs=40, engine=engine, random_state=0).fit(R)
    assert [h["loss"] for h in model.history_ if h["feature"] is None] == [0.0] * 40
    losses = [h["loss"] for h in model.history_ if h["feature"] == 0]
    assert losses[0] > 0 and all(b < a for a, b in zip(losses, losses[1:]))
    np.testing.assert_array_equal(model.predict(R.users, R.items, clip=True), values)


@pytest.mark.parametrize("trailing", [True, False])
def test_every_epoch_loss_is_the_running_loss_of_the_arrays(rng, trailing):
    """Oracle: the running-loss formula of the module Notes evaluated with numpy, after every epoch, on
    the arrays as they then are, all columns: with the trailing term the features not trained
    yet hold ``feature_init`` (0.3 here) and their penalty counts; without it they hold 0.

    Distinct per-block regularisation (``REG``). Sums in another order: relative 1e-12.
    Kills: the penalty of the waiting features left out of the loss (or counted twice, once
    they are trained).
    """
    R = low_rank(rng)
    P, Q = np.zeros((R.n_users, 3), order="F"), np.zeros((R.n_items, 3), order="F")
    bu, bi = np.zeros(R.n_users), np.zeros(R.n_items)
    epochs = train_features(P, Q, bu, bi, np.full(len(R), R.mean()), R.users, R.items, R.values, lr=LR, reg=REG,
                            rating_range=(1.0, 5.0), max_epochs=4, min_epochs=4, feature_init=0.3,
                            trailing=trailing, engine="compiled")
    n_u, n_i = np.bincount(R.users, minlength=R.n_users), np.bincount(R.items, minlength=R.n_items)
    seen = 0
    for feature, sse, done, loss in epochs:
        penalty = (REG[0] * n_u @ np.sum(P ** 2, axis=1) + REG[1] * n_i @ np.sum(Q ** 2, axis=1)
                   + REG[2] * n_u @ bu ** 2 + REG[3] * n_i @ bi ** 2)
        assert loss == pytest.approx(0.5 * sse + 0.5 * penalty, rel=1e-12), (feature, done)
        seen += 1
    assert seen == 4 * 4


def test_early_stopping_with_trailing_keeps_the_model_training_saw(rng):
    """Oracle: numpy RMSE of the kept ``factors_`` on the validation ratings, which must equal the
    ``val_rmse`` recorded at the best epoch; and the columns not trained still hold ``feature_init``.

    With the trailing term the arrays hold every feature's start value from the first feature
    on, so the validation RMSE judged at a stage end is that of the model training saw, and the
    model kept is that model. Same data as the test above. Tolerance 1e-12: the same sums.
    Kills: columns not started left at 0 while the cache carries the constant (the kept model
    then predicts (8 - kept - 1) x 0.01 too low, its RMSE off the recorded one).
    """
    A = low_rank(rng, n_ratings=1500, k=2, noise=0.5)
    R, V = A.subset(np.arange(1200)), A.subset(np.arange(1200, 1500))
    model = FunkSVD(schedule="feature", n_factors=8, patience=2, lr_all=0.02, reg_all=0.0, feature_trailing=True,
                    random_state=0).fit(R, validation=V)
    assert model.stopped_early_
    kept = model.history_[model.best_epoch_ - 1]["feature"] + 1
    assert 1 <= kept <= 6
    F = model.factors_
    assert np.all(F.P[:, kept:] == 0.1) and np.all(F.Q[:, kept:] == 0.1)
    e = V.values - (F.mu + F.bu[V.users] + F.bi[V.items] + np.einsum("nk,nk->n", F.P[V.users], F.Q[V.items]))
    assert np.sqrt(np.mean(e ** 2)) == pytest.approx(model.history_[model.best_epoch_ - 1]["val_rmse"], rel=1e-12)


def test_a_diverging_learning_rate_still_raises(rng):
    """Oracle: the documented DivergenceError (epoch, learning rate, a smaller one to try); nothing fitted."""
    model = FunkSVD(schedule="feature", n_factors=3, lr_all=5.0, random_state=0)
    with pytest.raises(DivergenceError, match=r"epoch \d+: .*lr_all=5 .*'feature'.*try lr_all <= 0.5\b"):
        model.fit(low_rank(rng))
    assert not hasattr(model, "factors_")


def test_same_seed_bit_identical(rng):
    """Oracle: a second fit with the same ``random_state`` (one shuffled order per fit): bit-identical."""
    R = low_rank(rng)
    kw = dict(schedule="feature", n_factors=3, feature_epochs=10, feature_min_epochs=2, random_state=7)
    assert FunkSVD(**kw).fit(R).factors_.equals(FunkSVD(**kw).fit(R).factors_)


def test_train_features_default_guard_stops_a_non_finite_loss(rng):
    """Oracle: IEEE arithmetic. With lr = 1000 the column grows by orders of magnitude per epoch and
    overflows to inf (then NaN) within the stage; the default guard raises before the stage ends."""
    R = low_rank(rng)
    P, Q = np.zeros((R.n_users, 1), order="F"), np.zeros((R.n_items, 1), order="F")
    epochs = train_features(P, Q, np.zeros(0), np.zeros(0), np.zeros(len(R)), R.users, R.items, R.values,
                            lr=(1e3,) * 4, reg=(0.02,) * 4, rating_range=(1, 5), max_epochs=100, min_epochs=100)
    with pytest.raises(DivergenceError, match="training loss became (inf|nan)"), np.errstate(over="ignore"):
        for _ in epochs:
            pass
