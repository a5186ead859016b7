"""FunkSVD, the estimator: engines agree, it runs the documented epochs, it is reproducible and safe.

Every test names its oracle in the docstring. All data are float64 unless the test is about
float32. Tolerances are commented where they are not exact equality.
"""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest

import funksvd
from funksvd import RULES, DivergenceError, Factors, Ratings, loss, rmse, sgd_epoch
from funksvd.estimator import DIVERGENCE_FACTOR, FunkSVD, NotFittedError
from funksvd.estimator import scores as prediction
from funksvd.estimator.scores import factor_arrays
from funksvd.base.progress import TQDM_HINT

ENGINE_TOL = 1e-12  # python vs compiled: same operations in the same order; rounding differences only


def problem(rng, n_users=30, n_items=20, n_ratings=300):
    """Random integer ratings 1..5 on random pairs (every id range given explicitly)."""
    return Ratings(rng.integers(0, n_users, n_ratings), rng.integers(0, n_items, n_ratings),
                   rng.integers(1, 6, n_ratings).astype(float), n_users, n_items)


def start(ratings, k=4, biased=True, seed=7):
    return Factors.random(ratings.n_users, ratings.n_items, k, biased=biased,
                          mu=ratings.mean() if biased else 0.0, random_state=seed)


def assert_factors_close(a: Factors, b: Factors, atol: float):
    assert a.blocks == b.blocks and a.mu == b.mu
    for name in a.blocks:
        np.testing.assert_allclose(getattr(a, name), getattr(b, name), rtol=0, atol=atol, err_msg=name)


# ---- engines and the documented epochs ------------------------------------------------------


@pytest.mark.parametrize("biased", [True, False])
@pytest.mark.parametrize("rule", sorted(RULES))
def test_compiled_engine_equals_python_engine(rng, rule, biased):
    """Oracle: the python engine (the same kernels run as plain Python), 3 shuffled epochs."""
    R = problem(rng)
    kw = dict(n_factors=4, n_epochs=3, rule=rule, biased=biased, random_state=3, lr_all=0.01)
    py = FunkSVD(engine="python", **kw).fit(R)
    jit = FunkSVD(engine="compiled", **kw).fit(R)
    assert_factors_close(jit.factors_, py.factors_, ENGINE_TOL)
    for a, b in zip(jit.history_, py.history_):
        assert a["loss"] == pytest.approx(b["loss"], rel=ENGINE_TOL)


@pytest.mark.parametrize("biased", [True, False])
@pytest.mark.parametrize("rule", sorted(RULES))
def test_one_unshuffled_epoch_is_sgd_epoch(rng, rule, biased):
    """Oracle: one ``funksvd.sgd_epoch`` call (python engine, stored order) from the same init."""
    R = problem(rng)
    F0 = start(R, biased=biased)
    model = FunkSVD(n_factors=4, n_epochs=1, rule=rule, biased=biased, shuffle=False).fit(R, init=F0)
    expected = sgd_epoch(F0, R, rule=rule, lr=0.005, reg=0.02)
    assert_factors_close(model.factors_, expected, ENGINE_TOL)  # compiled estimator vs python oracle


def test_per_block_overrides_and_shuffling_reach_the_kernel(rng):
    """Oracle: ``sgd_epoch`` with the per-block lr/reg mappings and ``default_rng(seed).permutation(n)`` per epoch.

    With ``init`` given nothing is drawn for the initialisation, so the permutations are the
    generator's first draws. Python engine on both sides: bit-identical.
    """
    R = problem(rng)
    F0 = start(R)
    over = dict(lr_pu=0.011, lr_qi=0.007, lr_bu=0.02, lr_bi=0.003, reg_pu=0.05, reg_qi=0.01, reg_bu=0.1, reg_bi=0.0)
    model = FunkSVD(n_factors=4, n_epochs=3, engine="python", random_state=11, shuffle=True, **over).fit(R, init=F0)
    lr = {"P": 0.011, "Q": 0.007, "bu": 0.02, "bi": 0.003}
    reg = {"P": 0.05, "Q": 0.01, "bu": 0.1, "bi": 0.0}
    gen = np.random.default_rng(11)
    expected = F0
    for _ in range(3):
        expected = sgd_epoch(expected, R, "funk", lr=lr, reg=reg, order=gen.permutation(len(R)))
    assert model.factors_.equals(expected)


def test_unset_overrides_fall_back_to_lr_all_and_reg_all(rng):
    """Oracle: ``sgd_epoch`` with scalar lr/reg; overriding only lr_bu changes only what it should."""
    R = problem(rng)
    F0 = start(R)
    model = FunkSVD(n_factors=4, n_epochs=1, shuffle=False, engine="python", lr_all=0.01, reg_all=0.03,
                    lr_bu=0.01).fit(R, init=F0)  # lr_bu equal to lr_all: same as no override
    assert model.factors_.equals(sgd_epoch(F0, R, lr=0.01, reg=0.03))


def test_random_init_is_drawn_first_then_one_permutation_per_epoch(rng):
    """Oracle: ``Factors.random`` then ``sgd_epoch`` per epoch, from one ``default_rng(seed)`` (documented order)."""
    R = problem(rng)
    model = FunkSVD(n_factors=4, n_epochs=2, engine="python", random_state=5, shuffle=True).fit(R)
    gen = np.random.default_rng(5)
    expected = Factors.random(R.n_users, R.n_items, 4, mu=R.mean(), random_state=gen)
    for _ in range(2):
        expected = sgd_epoch(expected, R, order=gen.permutation(len(R)))
    assert model.factors_.equals(expected)


def test_same_random_state_is_bit_identical_and_different_differs(rng):
    """Oracle: ``np.array_equal`` between two fits (compiled engine, shuffled)."""
    R = problem(rng)
    a = FunkSVD(n_factors=5, n_epochs=4, random_state=42).fit(R).factors_
    b = FunkSVD(n_factors=5, n_epochs=4, random_state=42).fit(R).factors_
    c = FunkSVD(n_factors=5, n_epochs=4, random_state=43).fit(R).factors_
    for name in a.blocks:
        assert np.array_equal(getattr(a, name), getattr(b, name))
    assert not np.array_equal(a.P, c.P)


def test_mu_is_training_mean_zero_or_init(rng):
    """Oracle: ``Ratings.mean()``, 0.0 for the unbiased model, and the given ``init.mu``."""
    R = problem(rng)
    assert FunkSVD(n_factors=2, n_epochs=1).fit(R).mu_ == R.mean()
    assert FunkSVD(n_factors=2, n_epochs=1, biased=False).fit(R).mu_ == 0.0
    F0 = start(R, k=2).replace(mu=1.25)
    model = FunkSVD(n_factors=2, n_epochs=1).fit(R, init=F0)
    assert model.mu_ == 1.25 and model.factors_.mu == 1.25


# ---- the loss in history_ ---------------------------------------------------------------------


@pytest.mark.parametrize("rule", sorted(RULES))
def test_history_loss_is_the_rule_objective_when_nothing_moves(rng, rule):
    """Oracle: ``funksvd.loss(factors, ratings, rule, reg)``; with lr 0 the running SSE is the exact SSE."""
    R = problem(rng)
    F0 = start(R)
    reg = dict(reg_pu=0.05, reg_qi=0.01, reg_bu=0.1, reg_bi=0.02)
    model = FunkSVD(n_factors=4, n_epochs=2, rule=rule, lr_all=0.0, **reg).fit(R, init=F0)
    expected = loss(F0, R, rule, reg={"P": 0.05, "Q": 0.01, "bu": 0.1, "bi": 0.02})
    for record in model.history_:
        assert record["loss"] == pytest.approx(expected, rel=1e-12)  # summation order only
        assert record["train_rmse"] == pytest.approx(rmse(F0, R), rel=1e-12)


def test_history_loss_tracks_the_exact_loss_while_training(rng):
    """Oracle: ``funksvd.loss`` at the fitted factors; the running loss is above it by a few percent.

    Each error is taken just before its own rating's update, which then lowers it, so the gap
    does not vanish as training settles: measured 3.8% here after 30 epochs (4.6% on MovieLens
    100K after 20 epochs). Tolerance: above, and within 10%.
    """
    R = problem(rng, n_ratings=600)
    model = FunkSVD(n_factors=4, n_epochs=30, lr_all=0.01, random_state=0).fit(R)
    exact = loss(model.factors_, R, "funk", reg=0.02)
    assert exact < model.history_[-1]["loss"] < 1.1 * exact
    assert model.history_[-1]["loss"] < model.history_[0]["loss"]


def test_history_records(rng):
    """Oracle: the documented record layout, ``n_epochs_`` and the ``kept`` flag on the last epoch."""
    R = problem(rng)
    model = FunkSVD(n_factors=3, n_epochs=4, random_state=0).fit(R)
    assert [h["epoch"] for h in model.history_] == [1, 2, 3, 4]
    assert set(model.history_[0]) == {"epoch", "loss", "train_rmse", "val_rmse", "seconds", "kept"}
    assert all(h["val_rmse"] is None and h["seconds"] >= 0 for h in model.history_)
    assert [h["kept"] for h in model.history_] == [False, False, False, True]
    assert model.n_epochs_ == 4 and model.best_epoch_ == 4 and not model.stopped_early_


# ---- early stopping, divergence ----------------------------------------------------------------


def test_early_stopping_stops_and_restores_the_best_epoch(rng):
    """Oracle: a fresh fit for exactly ``best_epoch_`` epochs (same seed, no validation) and the history's minimum.

    Training and validation ratings are independent noise and the model is unregularised, so
    the validation RMSE rises once it starts fitting the training noise.
    """
    R, V = problem(rng), problem(rng)
    kw = dict(n_factors=10, n_epochs=50, lr_all=0.05, reg_all=0.0, random_state=1)
    model = FunkSVD(patience=3, **kw).fit(R, validation=V)
    assert model.stopped_early_ and model.n_epochs_ < 50
    assert model.n_epochs_ == model.best_epoch_ + 3
    vals = [h["val_rmse"] for h in model.history_]
    assert model.best_epoch_ == 1 + int(np.argmin(vals))
    assert [h["kept"] for h in model.history_].index(True) == model.best_epoch_ - 1
    assert rmse(model, V) == pytest.approx(min(vals), rel=1e-12)  # compiled loop vs numpy: summation order
    kw["n_epochs"] = model.best_epoch_
    assert model.factors_.equals(FunkSVD(**kw).fit(R).factors_)


def test_early_stopping_needs_validation(rng):
    """Oracle: the documented ValueError."""
    with pytest.raises(ValueError, match="patience.*validation"):
        FunkSVD(n_factors=2, patience=2).fit(problem(rng))


@pytest.mark.parametrize("engine", ["python", "compiled"])
def test_divergence_raises_and_never_leaves_nan(rng, engine):
    """Oracle: the documented DivergenceError message; the estimator is left without ``factors_``."""
    R = problem(rng, n_ratings=100)
    model = FunkSVD(n_factors=4, n_epochs=5, lr_all=10.0, engine=engine, random_state=0)
    with pytest.raises(DivergenceError, match=r"epoch 1: .*lr_all=10 .*'funk'.*try lr_all <= 1\b"):
        model.fit(R)
    assert not hasattr(model, "factors_")
    model.set_params(lr_all=0.005).fit(R)  # a sane refit works, and then a divergent one clears it
    assert np.all(np.isfinite(model.factors_.P))
    with pytest.raises(DivergenceError):
        model.set_params(lr_all=10.0).fit(R)
    assert not hasattr(model, "factors_")


def test_divergence_names_the_largest_block_learning_rate(rng):
    """Oracle: the documented message with a per-block override."""
    with pytest.raises(DivergenceError, match=r"lr_qi=50 .*try lr_qi <= 5\b"):
        FunkSVD(n_factors=4, n_epochs=3, lr_qi=50.0, random_state=0).fit(problem(rng))


def test_divergence_guard_on_growth():
    """Oracle: the documented threshold ``DIVERGENCE_FACTOR`` times the start loss (guard called directly)."""
    model = FunkSVD(lr_all=0.3)
    arrays = (np.ones((2, 2)),)
    model._guard(3, 0.999 * DIVERGENCE_FACTOR, 1.0, arrays)  # below the threshold: fine
    with pytest.raises(DivergenceError, match=r"epoch 3: training loss grew .* try lr_all <= 0.03"):
        model._guard(3, 2 * DIVERGENCE_FACTOR, 1.0, arrays)
    with pytest.raises(DivergenceError, match="non-finite"):
        model._guard(3, 1.0, 1.0, (np.array([1.0, np.nan]),))


ENGINE_SCHEDULES = [("python", "joint"), ("compiled", "joint"), ("python", "feature"), ("compiled", "feature"),
                    ("tensorflow", "joint")]


@pytest.mark.parametrize("engine, schedule", ENGINE_SCHEDULES)
def test_every_engine_guards_divergence_against_the_start_loss(rng, engine, schedule):
    """lr_all=100 diverges on every engine and schedule; each raises the same DivergenceError.

    Oracle: the documented message (epoch 1, a ten times smaller lr). The TensorFlow engine (Adam)
    used to pass: its loss stays finite, and the old guard compared it with the first epoch's,
    which had already exploded (test RMSE 9e3 on MovieLens 100K).
    """
    R = problem(rng, n_ratings=300)
    kwargs = dict(n_factors=4, n_epochs=5, engine=engine, schedule=schedule, random_state=0)
    with pytest.raises(DivergenceError, match=r"epoch 1: .*lr_all=100 .*try lr_all <= 10\b"):
        FunkSVD(lr_all=100.0, **kwargs).fit(R)
    healthy = FunkSVD(lr_all=0.005, **kwargs).fit(R)  # the defaults' lr: no false alarm
    assert healthy.history_ and np.all(np.isfinite(healthy.factors_.P))


def test_start_loss_is_the_exact_loss(rng):
    """Oracle: funksvd.loss (the full-batch objective) at the start factors, to 1e-12 relative.

    The compiled engine sums the squared errors in the compiled loop (with its prefetches), the
    Python engine with numpy: both paths are run.
    """
    R = problem(rng, n_ratings=300)
    model = FunkSVD(n_factors=4, random_state=0, reg_all=0.05)
    start = Factors.random(R.n_users, R.n_items, 4, mu=R.mean(), random_state=1)
    for engine in ("python", "compiled"):
        model.engine = engine
        got = model._start_loss(factor_arrays(start), start.mu, R)
        assert got == pytest.approx(funksvd.loss(start, R, "funk", 0.05), rel=1e-12)


@pytest.mark.parametrize("engine", ["python", "compiled"])
@pytest.mark.parametrize("biased", [True, False])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("scale", [0.1, 1.0, 3.0])
def test_sse_upper_bound_holds(rng, monkeypatch, biased, dtype, scale, engine):
    """Oracle: a literal numpy sum of (r - mu - b_u - b_i - p_u.q_i)^2 in float64. The bound of
    :func:`sse_upper_bound` (triangle inequality, Cauchy-Schwarz) is never below it, and it is the
    formula its Notes state, evaluated here term by term over the ratings (1e-12); with
    P = Q = 0 and no biases it is the sum itself (equality: one of the four vectors is left), to
    1e-12 relative (sum^2 - 2 mu sum + n mu^2 against the direct sum: rounding of ~1e3 terms).
    Both engines: numpy's einsum, or the compiled loop of row_norm_sums (the same sums in another order)."""
    from funksvd.estimator import training
    from funksvd.estimator.training import rating_counts, sse_upper_bound

    monkeypatch.setattr(training, "COMPILED_NORMS_MIN", 0)  # the compiled loop at this size too
    R = problem(rng, n_ratings=400)
    P = (scale * rng.normal(size=(R.n_users, 5))).astype(dtype)
    Q = (scale * rng.normal(size=(R.n_items, 5))).astype(dtype)
    bu = (scale * rng.normal(size=R.n_users)).astype(dtype) if biased else np.zeros(0, dtype)
    bi = (scale * rng.normal(size=R.n_items)).astype(dtype) if biased else np.zeros(0, dtype)
    mu = 3.1
    r_hat = mu + np.einsum("ij,ij->i", P[R.users].astype(float), Q[R.items].astype(float))
    if biased:
        r_hat += bu[R.users].astype(float) + bi[R.items].astype(float)
    exact = float(np.sum((R.values - r_hat) ** 2))
    counts = rating_counts(R)
    bound = sse_upper_bound((P, Q, bu, bi), mu, R, counts, engine=engine)
    assert bound >= exact
    # the Notes' formula, evaluated over the ratings themselves (sum over K of b_u^2, not the counts' weighting)
    p2, q2 = (P.astype(float) ** 2).sum(1), (Q.astype(float) ** 2).sum(1)
    dots = min(q2.max() * p2[R.users].sum(), p2.max() * q2[R.items].sum())
    root = np.sqrt(np.sum((R.values - mu) ** 2)) + np.sqrt(dots)
    if biased:
        root += np.sqrt(np.sum(bu[R.users].astype(float) ** 2)) + np.sqrt(np.sum(bi[R.items].astype(float) ** 2))
    assert bound == pytest.approx(root ** 2, rel=1e-12)  # the same sums in another order
    zero = (np.zeros_like(P), np.zeros_like(Q), np.zeros(0, dtype), np.zeros(0, dtype))
    centred = float(np.sum((R.values - mu) ** 2))
    assert sse_upper_bound(zero, mu, R, counts, engine=engine) == pytest.approx(centred, rel=1e-12)


@pytest.mark.parametrize("engine", ["python", "compiled"])
def test_reference_is_the_larger_of_the_start_loss_and_the_floor(rng, engine):
    """Oracle: funksvd.loss at the start factors (the full-batch objective) and the literal floor
    0.5 * sum r^2, whichever is larger, to 1e-12 relative. A small start (the default
    init_std_dev) cannot reach the floor, and the bound says so: the sum over the ratings is not
    run (``sse_of`` would fail); a large one (init_std_dev 3, k 8) exceeds it, and is summed."""
    R = problem(rng, n_ratings=300)
    floor = 0.5 * float(np.sum(R.values ** 2))
    model = FunkSVD(n_factors=8, reg_all=0.05, engine=engine)
    for std, summed in ((0.1, False), (3.0, True)):
        factors = Factors.random(R.n_users, R.n_items, 8, mu=R.mean(), init_std_dev=std, random_state=1)
        expected = max(funksvd.loss(factors, R, "funk", 0.05), floor)

        def sse_of():
            assert summed, "the bound should have spared the pass over the ratings"
            return float(np.sum((R.values - factors.predict(R.users, R.items)) ** 2))

        got = model._reference_loss(factor_arrays(factors), factors.mu, R, sse_of=sse_of)
        assert got == pytest.approx(expected, rel=1e-12)
        assert (expected > floor) == summed


def test_predictions_do_not_depend_on_the_chunking(rng, monkeypatch):
    """Oracle: a literal per-pair sum mu + bu + bi + p.q in float64, to 1e-12 (rounding of k = 7 terms).

    Chunks of 64 rows (the floor) split 1000 pairs into 16 chunks, the last one short.
    """
    import funksvd.model.factors

    monkeypatch.setattr(funksvd.model.factors, "_CHUNK_BYTES", 1)
    start = Factors.random(30, 20, 7, mu=3.1, random_state=2)
    start = start.replace(bu=rng.normal(size=30), bi=rng.normal(size=20))
    users, items = rng.integers(0, 30, 1000), rng.integers(0, 20, 1000)
    got = prediction.predict_arrays(factor_arrays(start), start.mu, users, items)
    want = [start.mu + start.bu[u] + start.bi[i] + sum(start.P[u, f] * start.Q[i, f] for f in range(7))
            for u, i in zip(users, items)]
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=0)


# ---- float32 ----------------------------------------------------------------------------------------


def test_float32_runs_and_is_close_to_float64(rng):
    """Oracle: the float64 fit from the same start values and seed.

    The float32 fit starts from the float64 start rounded to float32 (a float32 model draws its
    own start in float32, so from a seed alone the two would start apart); 10 epochs of float32
    rounding (eps 6e-8 per operation) move predictions by ~1e-6 (measured 3e-7): tolerance 1e-4.
    """
    R = problem(rng, n_ratings=2000)
    start = Factors.random(R.n_users, R.n_items, 10, mu=R.mean(), random_state=1)
    start32 = Factors(*(start.params()[b].astype(np.float32) for b in ("P", "Q", "bu", "bi")), mu=start.mu)
    a = FunkSVD(n_factors=10, n_epochs=10, random_state=0).fit(R, init=start)
    b = FunkSVD(n_factors=10, n_epochs=10, random_state=0, dtype=np.float32).fit(R, init=start32)
    assert b.factors_.dtype == np.float32 and a.factors_.dtype == np.float64
    pa, pb = a.predict(R.users, R.items), b.predict(R.users, R.items)
    assert pb.dtype == np.float64
    np.testing.assert_allclose(pb, pa, rtol=0, atol=1e-4)


# ---- prediction ----------------------------------------------------------------------------------------


def test_predict_is_the_model_formula_and_clips(rng):
    """Oracle: ``Factors.predict`` of ``factors_`` and ``np.clip`` to the training range."""
    R = problem(rng)
    model = FunkSVD(n_factors=3, n_epochs=2, lr_all=0.05, init_std_dev=1.0, random_state=0).fit(R)
    users, items = np.arange(30), np.arange(30) % 20
    raw = model.predict(users, items)
    np.testing.assert_allclose(raw, model.factors_.predict(users, items), rtol=1e-14)  # einsum order
    assert raw.dtype == np.float64 and (raw.min() < 1 or raw.max() > 5)  # big init: some outside [1, 5]
    np.testing.assert_array_equal(model.predict(users, items, clip=True), np.clip(raw, 1.0, 5.0))
    assert model.predict(3, [0, 1, 2]).shape == (3,)


@pytest.mark.parametrize("users, items, match", [
    ([0, 30], [0, 0], r"users\[1\] = 30 is not a valid id.*30 users"),
    ([-1], [0], r"users\[0\] = -1"),
    ([0], [20], r"items\[0\] = 20 .*20 items"),
    ([0.5], [0], r"users\[0\] = 0.5"),
    (["a"], [0], "integer ids"),
])
def test_predict_rejects_bad_ids(rng, users, items, match):
    """Oracle: the documented ValueError naming the offending id."""
    model = FunkSVD(n_factors=2, n_epochs=1).fit(problem(rng))
    with pytest.raises(ValueError, match=match):
        model.predict(users, items)


def test_predict_before_fit():
    """Oracle: scikit-learn's convention (an error that is both ValueError and AttributeError)."""
    with pytest.raises(NotFittedError, match="not fitted"):
        FunkSVD().predict([0], [0])
    assert issubclass(NotFittedError, ValueError) and issubclass(NotFittedError, AttributeError)


# ---- parameters and inputs ---------------------------------------------------------------------------


@pytest.mark.parametrize("params, match", [
    (dict(rule="nope"), "unknown rule 'nope'"),
    (dict(engine="gpu"), "unknown engine 'gpu'"),
    (dict(schedule="sometimes"), "unknown schedule"),
    (dict(n_factors=-1), "n_factors must be a positive integer"),
    (dict(n_factors=2.5), "n_factors must be a positive integer"),
    (dict(n_epochs=0), "n_epochs must be a positive integer"),
    (dict(lr_all=-0.1), "lr_all must be a finite number >= 0"),
    (dict(reg_qi=np.nan), "reg_qi must be a finite number >= 0"),
    (dict(dtype=np.int32), "dtype must be"),
    (dict(patience=0), "patience must be a positive integer"),
    (dict(engine="tensorflow", lr_pu=0.1), "one learning rate"),
    (dict(schedule="feature", rule="quuxlabs"), "rule='funk'"),
    (dict(schedule="feature", engine="tensorflow"), "schedule='feature'"),
])
def test_bad_parameters_raise_at_fit(rng, params, match):
    """Oracle: the documented ValueError; ``__init__`` itself accepts anything (scikit-learn convention)."""
    model = FunkSVD(**params)
    with pytest.raises(ValueError, match=match):
        model.fit(problem(rng))


def test_bad_init_and_validation(rng):
    """Oracle: the documented ValueErrors (shape, bias mismatch, validation ids)."""
    R = problem(rng)
    with pytest.raises(ValueError, match=r"init has shape .* \(30, 20, 3\) .* need \(30, 20, 4\)"):
        FunkSVD(n_factors=4).fit(R, init=start(R, k=3))
    with pytest.raises(ValueError, match="init is unbiased but biased=True"):
        FunkSVD(n_factors=4).fit(R, init=start(R, biased=False))
    with pytest.raises(TypeError, match="init must be a funksvd.Factors"):
        FunkSVD(n_factors=4).fit(R, init=np.zeros((30, 4)))
    with pytest.raises(ValueError, match=r"validation.users\[0\] = 30 is out of range"):
        FunkSVD(n_factors=4).fit(R, validation=Ratings([30], [0], [3.0], 31, 20))
    with pytest.raises(TypeError, match="ratings must be a funksvd.Ratings"):
        FunkSVD().fit(np.zeros((3, 3)))


def test_init_in_float32_is_cast_to_the_model_dtype(rng):
    """Oracle: ``dtype`` decides; a float32 init trains as float64 when dtype is float64."""
    R = problem(rng)
    F32 = Factors(*(getattr(start(R), b).astype(np.float32) for b in ("P", "Q", "bu", "bi")), mu=3.0)
    assert FunkSVD(n_factors=4, n_epochs=1).fit(R, init=F32).factors_.dtype == np.float64


def test_scikit_learn_parameter_conventions():
    """Oracle: scikit-learn's estimator conventions (get_params/set_params/repr)."""
    model = FunkSVD(n_factors=10, engine="python")
    params = model.get_params()
    assert params["n_factors"] == 10 and params["lr_all"] == 0.005 and params["lr_bu"] is None
    assert set(params) >= {"n_factors", "n_epochs", "lr_all", "reg_all", "rule", "biased", "init_mean",
                           "init_std_dev", "shuffle", "random_state", "engine", "schedule", "dtype", "verbose",
                           "patience", "min_improvement", "optimizer", "batch_size", "decay_rate"}
    assert FunkSVD(**params).get_params() == params
    assert repr(model) == "FunkSVD(n_factors=10, engine='python')"
    assert repr(FunkSVD()) == "FunkSVD()"
    assert repr(FunkSVD(dtype=np.float32)) == "FunkSVD(dtype=np.float32)"
    assert model.set_params(n_epochs=3) is model and model.n_epochs == 3
    with pytest.raises(ValueError, match="invalid parameter 'n_factor'"):
        model.set_params(n_factor=3)
    assert not any(name.endswith("_") for name in vars(FunkSVD()))  # __init__ only stores


# ---- progress bar --------------------------------------------------------------------------------------


def test_quiet_by_default_and_a_bar_when_verbose(rng, capsys):
    """Oracle: captured stdout/stderr (tqdm writes to stderr)."""
    R = problem(rng)
    FunkSVD(n_factors=2, n_epochs=2).fit(R)
    out, err = capsys.readouterr()
    assert out == "" and err == ""
    FunkSVD(n_factors=2, n_epochs=2, verbose=True).fit(R, validation=R)
    out, err = capsys.readouterr()
    assert out == "" and "2/2" in err and "val_rmse" in err


def test_verbose_without_tqdm_says_how_to_install(rng, monkeypatch):
    """Oracle: the documented ImportError hint (``funksvd[progress]``)."""
    monkeypatch.setitem(sys.modules, "tqdm", None)  # makes ``import tqdm`` fail
    with pytest.raises(ImportError, match=r"funksvd\[progress\]"):
        FunkSVD(n_factors=2, n_epochs=1, verbose=True).fit(problem(rng))
    assert "pip install" in TQDM_HINT


def test_python_engine_stays_light():
    """Oracle: ``sys.modules`` of a fresh interpreter: the python engine loads neither numba, TensorFlow nor tqdm."""
    import json
    import subprocess

    script = """
import json, sys
from funksvd import Ratings
from funksvd.estimator import FunkSVD
R = Ratings([0, 1, 1, 2], [0, 0, 1, 1], [5.0, 3.0, 4.0, 1.0])
FunkSVD(n_factors=2, n_epochs=2, engine="python", random_state=0).fit(R, validation=R).predict([0], [1])
FunkSVD(n_factors=2, schedule="feature", engine="python", feature_epochs=3, feature_min_epochs=1,
        random_state=0).fit(R)
print(json.dumps(sorted(m for m in ("numba", "tensorflow", "keras", "tqdm") if m in sys.modules)))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []


# ---- the tensorflow engine ---------------------------------------------------------------------------


def test_tensorflow_engine_calls_autodiff_train(rng, monkeypatch):
    """Oracle: the agreed signature of ``funksvd.autodiff.train``, checked with a stand-in module.

    The stand-in returns its ``factors`` argument and calls the callback once per epoch; the
    estimator must stop it when early stopping says so.
    """
    calls = {}

    def train(factors, ratings, *, objective, reg, optimizer, learning_rate, n_epochs, batch_size,
              decay_rate, decay_steps, validation, random_state, callback, verbose):
        calls.update(objective=objective, reg=reg, optimizer=optimizer, learning_rate=learning_rate,
                     n_epochs=n_epochs, batch_size=batch_size, decay_rate=decay_rate, decay_steps=decay_steps,
                     verbose=verbose)
        history = []
        for epoch in range(n_epochs):
            history.append(10.0 - epoch)
            if callback(epoch, 10.0 - epoch, lambda: factors):
                break
        return factors, history

    fake = types.ModuleType("funksvd.autodiff")
    fake.train = train
    monkeypatch.setitem(sys.modules, "funksvd.autodiff", fake)
    monkeypatch.setattr(funksvd, "autodiff", fake, raising=False)
    R = problem(rng)
    model = FunkSVD(n_factors=3, n_epochs=7, engine="tensorflow", lr_all=0.01, reg_bu=0.5, batch_size=64,
                    optimizer="sgd", random_state=0, patience=2).fit(R, validation=R)
    assert calls == dict(objective="funk", reg={"P": 0.02, "Q": 0.02, "bu": 0.5, "bi": 0.02}, optimizer="sgd",
                         learning_rate=0.01, n_epochs=7, batch_size=64, decay_rate=None, decay_steps=1000,
                         verbose=False)
    # the stand-in never changes the factors, so validation never improves after epoch 1
    assert model.n_epochs_ == 3 and model.best_epoch_ == 1 and model.stopped_early_
    assert [h["loss"] for h in model.history_] == [10.0, 9.0, 8.0]
    assert model.factors_.n_factors == 3


def test_tensorflow_engine_divergence(rng, monkeypatch):
    """Oracle: the documented DivergenceError when the reported loss is not finite."""
    def train(factors, ratings, *, callback, n_epochs, **_):
        callback(0, float("nan"), lambda: factors)
        return factors, []

    fake = types.ModuleType("funksvd.autodiff")
    fake.train = train
    monkeypatch.setitem(sys.modules, "funksvd.autodiff", fake)
    monkeypatch.setattr(funksvd, "autodiff", fake, raising=False)
    model = FunkSVD(n_factors=2, engine="tensorflow", lr_all=3.0)
    with pytest.raises(DivergenceError, match="epoch 1: training loss became nan with lr_all=3"):
        model.fit(problem(rng))
    assert not hasattr(model, "factors_")


def test_tensorflow_engine_for_real(rng):
    """Oracle: ``funksvd.loss`` at ``factors_`` equals the last recorded loss (autodiff reports the full objective).

    Skipped when TensorFlow or ``funksvd.autodiff.train`` is unavailable. Tolerance 1e-10:
    TensorFlow's float64 reductions sum in another order.
    """
    pytest.importorskip("tensorflow")
    autodiff = pytest.importorskip("funksvd.autodiff")
    if not hasattr(autodiff, "train"):
        pytest.skip("funksvd.autodiff.train is not available")
    R = problem(rng)
    model = FunkSVD(n_factors=3, n_epochs=15, engine="tensorflow", lr_all=0.05, reg_qi=0.1, random_state=0).fit(R)
    losses = [h["loss"] for h in model.history_]
    assert model.n_epochs_ == 15 and losses[-1] < losses[0]
    reg = {"P": 0.02, "Q": 0.1, "bu": 0.02, "bi": 0.02}
    assert losses[-1] == pytest.approx(loss(model.factors_, R, "funk", reg=reg), rel=1e-10)


# ---- real data -----------------------------------------------------------------------------------------


def load_ml100k(path):
    data = np.loadtxt(path / "u.data", dtype=np.int64)
    users, items, values = data[:, 0] - 1, data[:, 1] - 1, data[:, 2].astype(np.float64)
    n_users, n_items = int(users.max()) + 1, int(items.max()) + 1
    perm = np.random.default_rng(0).permutation(len(values))
    cut = int(0.8 * len(values))
    train, test = perm[:cut], perm[cut:]
    return (Ratings(users[train], items[train], values[train], n_users, n_items),
            Ratings(users[test], items[test], values[test], n_users, n_items))


def test_movielens_100k_default_model(ml100k_path):
    """Oracle: a published figure. Surprise's SVD (same defaults) gets ~0.946 on an 80/20 split.

    Defaults, compiled engine, 80/20 split with seed 0: measured 0.937; the bar is 0.96.
    """
    train, test = load_ml100k(ml100k_path)
    model = FunkSVD(random_state=0).fit(train)
    assert rmse(model, test) < 0.96
    assert model.factors_.n_users == 943 and model.factors_.n_items == 1682


def test_block_shuffle_visits_every_rating_once_per_epoch():
    """shuffle="blocks": runs of SHUFFLE_BLOCK consecutive indices in random order, each rating once.

    Oracle: the definition, checked on the order itself (sorted == 0..n-1; within a run
    consecutive; run starts are multiples of the block size).
    """
    from funksvd.estimator.training import _block_order

    rng = np.random.default_rng(0)
    out = _block_order(np.empty(10_000, dtype=np.int32), 512, rng)
    np.testing.assert_array_equal(np.sort(out), np.arange(10_000))
    runs = np.split(out, np.flatnonzero(np.diff(out) != 1) + 1)
    assert all(run[0] % 512 == 0 for run in runs) and len(runs) > 10
    assert not np.array_equal(out, np.arange(10_000))


def test_block_shuffle_fit_is_deterministic_and_learns():
    """Same random_state -> bit-identical (oracle: np.array_equal); training loss decreases."""
    rng = np.random.default_rng(3)
    ratings = funksvd.Ratings(rng.integers(0, 50, 3000), rng.integers(0, 40, 3000), rng.uniform(1, 5, 3000))
    a = funksvd.FunkSVD(n_factors=5, n_epochs=5, shuffle="blocks", random_state=2).fit(ratings)
    b = funksvd.FunkSVD(n_factors=5, n_epochs=5, shuffle="blocks", random_state=2).fit(ratings)
    assert a.factors_.equals(b.factors_)
    assert a.history_[-1]["loss"] < a.history_[0]["loss"]
    with pytest.raises(ValueError, match="shuffle"):
        funksvd.FunkSVD(shuffle="users").fit(ratings)


@pytest.mark.parametrize("engine", ["python", "compiled"])
def test_a_block_without_penalty_is_still_checked_for_divergence(rng, engine):
    """With ``reg_all=0`` the loss has no penalty term to turn non-finite: the guard checks the arrays.

    Oracle: the divergence the learning rate 10 must cause (|lr e q| grows geometrically): a
    DivergenceError, never a model with non-finite factors.
    """
    R = problem(rng, n_ratings=300)
    with pytest.raises(DivergenceError):
        FunkSVD(n_factors=4, n_epochs=30, lr_all=10.0, reg_all=0.0, engine=engine, random_state=0).fit(R)
