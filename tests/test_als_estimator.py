"""``funksvd.ALS``: the estimator API of FunkSVD on the ALS sweeps.

Every test names its oracle. float64 unless said otherwise.
"""

from __future__ import annotations

import copy
from itertools import pairwise

import numpy as np
import pytest

from funksvd import ALS, Factors, FunkSVD, Ratings, cross_validate, gradients
from funksvd.als import Layout, als_objective, als_sweep
from funksvd.base.errors import InputError, NotFittedError
from funksvd.data import Dataset
from tests.test_recommend import one_user, problem

REG = {"P": 0.07, "Q": 0.05, "bu": 0.03, "bi": 0.04}  # distinct per block, so a swapped block is seen
REG_PARAMS = {"reg_pu": REG["P"], "reg_qi": REG["Q"], "reg_bu": REG["bu"], "reg_bi": REG["bi"]}


def fitted(rng, weighted=True, biased=True, k=4, **kw) -> ALS:
    return ALS(n_factors=k, n_epochs=4, weighted=weighted, biased=biased, random_state=0, **REG_PARAMS,
               **kw).fit(problem(rng))


def test_the_sweeps_are_als_sweep(rng):
    """Oracle: :func:`funksvd.als.als_sweep` applied ``n_epochs`` times to ``Factors.random`` drawn with
    the seed, as FunkSVD draws it: the estimator adds nothing to the arithmetic (bit for bit)."""
    ratings = problem(rng)
    model = ALS(n_factors=3, n_epochs=3, random_state=5, **REG_PARAMS).fit(ratings)
    start = Factors.random(ratings.n_users, ratings.n_items, 3, mu=ratings.mean(), random_state=5)
    layout = Layout.of(ratings)
    for _ in range(3):
        start = als_sweep(start, ratings, REG, layout=layout)
    assert model.factors_.equals(start)


def test_same_seed_bit_identical_whatever_n_jobs_and_engine(rng):
    """Oracle: the first fit (bit for bit) for the same seed and n_jobs 1, 2, 3; the Python engine to 1e-12."""
    ratings = problem(rng)
    first = ALS(n_factors=5, random_state=3).fit(ratings).factors_
    for n_jobs in (1, 2, 3):
        assert ALS(n_factors=5, random_state=3, n_jobs=n_jobs).fit(ratings).factors_.equals(first), n_jobs
    python = ALS(n_factors=5, random_state=3, engine="python").fit(ratings).factors_
    for block, value in first.params().items():
        np.testing.assert_allclose(python.params()[block], value, rtol=1e-10, atol=1e-12)
    assert not ALS(n_factors=5, random_state=4).fit(ratings).factors_.equals(first)


@pytest.mark.parametrize("weighted", [True, False])
def test_history_loss_is_exact_and_never_rises(rng, weighted):
    """Oracle: ``Objective.loss`` at ``factors_`` for the last sweep (1e-12 relative: two sums of the same
    terms); the loss of each sweep at most the one before (a sweep is two exact minimisations)."""
    ratings = problem(rng)
    model = ALS(n_factors=4, n_epochs=6, weighted=weighted, random_state=0, **REG_PARAMS).fit(ratings)
    losses = [h["loss"] for h in model.history_]
    assert all(b <= a * (1 + 1e-12) for a, b in pairwise(losses))
    assert losses[-1] == pytest.approx(als_objective(weighted).loss(model.factors_, ratings, REG), rel=1e-12)
    assert model.history_[-1]["kept"] and model.best_epoch_ == 6 == model.n_epochs_


def test_weight_exponent_history_fold_in_and_save(rng, tmp_path):
    """weight_exponent = 0.5. Oracles: :func:`tests.test_als.alpha_loss` at ``factors_`` for the last sweep's
    loss (1e-12 relative) and a non-increasing history; :func:`als_sweep` with the same exponent, sweep by
    sweep from the seed's start (bit for bit); fold_in of a training user equals its row after one more
    user half-step with the same weights (1e-10); the parameter survives save and load."""
    from funksvd.als import half_step
    from tests.test_als import alpha_loss

    ratings = problem(rng)
    model = ALS(n_factors=4, n_epochs=4, random_state=5, weight_exponent=0.5, **REG_PARAMS).fit(ratings)
    losses = [h["loss"] for h in model.history_]
    assert all(b <= a * (1 + 1e-12) for a, b in pairwise(losses))
    assert losses[-1] == pytest.approx(alpha_loss(model.factors_, ratings, REG, 0.5), rel=1e-12)
    start = Factors.random(ratings.n_users, ratings.n_items, 4, mu=ratings.mean(), random_state=5)
    for _ in range(4):
        start = als_sweep(start, ratings, REG, weight_exponent=0.5)
    assert model.factors_.equals(start)
    u = int(ratings.users[0])
    mine = ratings.users == u
    with pytest.warns(UserWarning, match="more than once"):
        new = model.fold_in(ratings.items[mine], ratings.values[mine])
    arrays = model.factors_.mutable_copy()
    half_step("users", arrays, model.mu_, Layout.of(ratings), als_objective(True), REG, "python", weight_exponent=0.5)
    np.testing.assert_allclose(new.p_u, arrays[0][u], rtol=1e-10, atol=1e-12)
    model.save(tmp_path / "alpha.npz")
    assert FunkSVD.load(tmp_path / "alpha.npz").get_params()["weight_exponent"] == 0.5


def test_weighted_als_minimises_funks_loss(rng):
    """Weighted ALS descends the loss FunkSVD's SGD descends (oracle: ``funksvd.loss(..., "funk")``, which
    must equal the ALS history's loss to 1e-12)."""
    ratings = problem(rng)
    model = ALS(n_factors=4, n_epochs=3, random_state=0, **REG_PARAMS).fit(ratings)
    from funksvd import loss

    assert loss(model.factors_, ratings, "funk", REG) == pytest.approx(model.history_[-1]["loss"], rel=1e-12)


@pytest.mark.parametrize("weighted", [True, False])
@pytest.mark.parametrize("biased", [True, False])
def test_fold_in_zeroes_the_als_gradient(rng, weighted, biased):
    """Oracle: the hand gradient of the ALS loss on the one-user problem is 0 in p_u and b_u (1e-12: the
    solve's rounding on ratings of order 1). Kills fold_in's n-weighted ridge on an unweighted model."""
    model = fitted(rng, weighted, biased)
    items, values = np.array([3, 7, 12, 19]), np.array([4.0, 2.5, 5.0, 1.0])
    new = model.fold_in(items, values)
    factors, ratings = one_user(model, new, items, values)
    g = gradients(factors, ratings, als_objective(weighted), reg=REG)
    np.testing.assert_allclose(g["P"][0], 0.0, atol=1e-12)
    if biased:
        assert abs(g["bu"][0]) < 1e-12


def test_fold_in_of_a_training_user_is_its_half_step(rng):
    """Folding in a training user's own ratings gives its row after one more user half-step (oracle: the
    half-step of :func:`als_sweep`'s first half, computed by solving with the fitted Q, b_i; 1e-12)."""
    ratings = problem(rng)
    model = ALS(n_factors=4, n_epochs=3, random_state=0, **REG_PARAMS).fit(ratings)
    u = int(ratings.users[0])
    mine = ratings.users == u
    with pytest.warns(UserWarning, match="more than once"):  # repeated pairs: they count twice in both
        new = model.fold_in(ratings.items[mine], ratings.values[mine])
    # after the last sweep's item half-step the user rows are one half-step old: solve them again
    from funksvd.als import half_step

    arrays = model.factors_.mutable_copy()
    half_step("users", arrays, model.mu_, Layout.of(ratings), als_objective(True), REG, "python")
    np.testing.assert_allclose(new.p_u, arrays[0][u], rtol=1e-10, atol=1e-12)
    assert new.b_u == pytest.approx(arrays[2][u], rel=1e-10, abs=1e-12)


def test_raw_ids_predict_recommend_similar(rng):
    """The FunkSVD API on a dataset with string ids (oracle: Factors.predict on the indices; the top-N by a
    sort of all predictions)."""
    ratings = problem(rng)
    data = Dataset.from_arrays(np.array([f"u{u}" for u in ratings.users]), np.array([f"i{i}" for i in ratings.items]),
                               ratings.values, duplicates="last")
    model = ALS(n_factors=4, n_epochs=3, random_state=0).fit(data)
    u, i = model.user_index("u3"), model.item_index("i5")
    assert model.predict("u3", "i5") == pytest.approx(model.factors_.predict([u], [i])[0], rel=1e-14)
    r_hat, known = model.predict(["u3", "nobody"], ["i5", "i5"], unknown="baseline", return_known=True)
    assert known.tolist() == [True, False]
    assert r_hat[1] == pytest.approx(model.mu_ + model.factors_.bi[i], rel=1e-14)
    top = model.recommend("u3", n=3)
    rated = set(data.ratings.items[data.ratings.users == u].tolist())
    scores = model.factors_.predict(np.full(model.factors_.n_items, u), np.arange(model.factors_.n_items))
    order = [j for j in np.argsort(-scores, kind="stable") if j not in rated][:3]
    assert top.indices.tolist() == order
    assert len(model.similar_items("i5", n=2)) == 2


def test_save_load_round_trip_and_model_kind(rng, tmp_path):
    """Oracle: the saved model, bit for bit; the metadata names "ALS"; FunkSVD.load gives back an ALS
    (the kind in the file), ALS.load refuses a FunkSVD file with a message naming both."""
    model = fitted(rng, weighted=False)
    path = tmp_path / "als.npz"
    model.save(path)
    back = ALS.load(path)
    assert type(back) is ALS and back.get_params() == model.get_params()
    assert back.factors_.equals(model.factors_) and back.history_ == model.history_
    import json

    with np.load(path) as archive:
        assert json.loads(archive["funksvd_metadata"].tobytes())["model"] == "ALS"
    assert type(FunkSVD.load(path)) is ALS
    FunkSVD(n_factors=2, n_epochs=1, random_state=0).fit(problem(rng)).save(tmp_path / "sgd.npz")
    with pytest.raises(InputError, match="holds a FunkSVD model, not a ALS: load it with funksvd.FunkSVD.load"):
        ALS.load(tmp_path / "sgd.npz")
    assert type(FunkSVD.load(tmp_path / "sgd.npz")) is FunkSVD


def test_early_stopping_keeps_the_best_sweep(rng):
    """Oracle: the argmin of ``history_``'s validation RMSE; its record is the kept one and ``factors_``
    predicts the validation ratings with exactly that RMSE."""
    ratings = problem(rng, n_ratings=400)
    train, val = ratings.subset(np.arange(300)), ratings.subset(np.arange(300, 400))
    model = ALS(n_factors=8, n_epochs=30, reg_all=0.001, patience=2, random_state=0).fit(train, validation=val)
    vals = [h["val_rmse"] for h in model.history_]
    assert model.best_epoch_ == int(np.argmin(vals)) + 1
    assert model.history_[model.best_epoch_ - 1]["kept"]
    from funksvd import rmse

    assert rmse(model.factors_, val) == pytest.approx(min(vals), rel=1e-12)


def test_cross_validate_and_clone(rng):
    """cross_validate clones ALS by its parameters (oracle: ALS with the same parameters fitted on kfold's
    first training fold has fold 0's test RMSE, to 1e-12); repr names ALS and its changed parameters."""
    from funksvd import rmse
    from funksvd.data import kfold

    ratings = problem(rng)
    model = ALS(n_factors=3, n_epochs=2, random_state=0)
    results = cross_validate(model, ratings, cv=3, random_state=0)
    train, test = next(iter(kfold(ratings, n_splits=3, random_state=0)))
    assert results["test_rmse"][0] == pytest.approx(rmse(ALS(**model.get_params()).fit(train), test), rel=1e-12)
    assert repr(ALS(n_factors=3, weighted=False)) == "ALS(n_factors=3, weighted=False)"
    one = fitted(rng)
    assert copy.deepcopy(one).factors_.equals(one.factors_)


@pytest.mark.parametrize("params, match", [
    ({"n_factors": 0}, "n_factors must be a positive integer"),
    ({"reg_all": -1.0}, "reg_all must be a finite number >= 0"),
    ({"reg_qi": float("nan")}, "reg_qi must be a finite number >= 0"),
    ({"weighted": "yes"}, "weighted must be True or False"),
    ({"engine": "tensorflow"}, "unknown engine 'tensorflow' for ALS"),
    ({"dtype": np.int32}, "dtype must be"),
    ({"n_jobs": 0}, "n_jobs must be a positive integer"),
    ({"weight_exponent": -0.5}, "weight_exponent must be a finite number >= 0"),
    ({"weight_exponent": 0.5, "weighted": False}, "with weighted=False every row's penalty counts once"),
])
def test_bad_parameters_are_named(rng, params, match):
    """Oracle: InputError naming the parameter."""
    with pytest.raises(InputError, match=match):
        ALS(**params).fit(problem(rng))


def test_singular_and_unfitted():
    """reg 0 with fewer ratings than unknowns: InputError saying singular; predict before fit: NotFittedError."""
    with pytest.raises(InputError, match="singular"):
        ALS(n_factors=3, reg_all=0.0, weighted=False).fit(Ratings([0, 1], [0, 1], [3.0, 4.0]))
    with pytest.raises(NotFittedError, match="this ALS is not fitted"):
        ALS().predict([0], [0])


def test_float32_model(rng):
    """dtype float32 stores float32 (oracle: the float64 fit from the same start, to float32 precision).

    A float32 model draws its own start in float32, so the float32 fit is handed the float64
    start rounded to float32.
    """
    ratings = problem(rng)
    start = Factors.random(ratings.n_users, ratings.n_items, 4, mu=ratings.mean(), random_state=1)
    start32 = Factors(*(start.params()[b].astype(np.float32) for b in ("P", "Q", "bu", "bi")), mu=start.mu)
    single = ALS(n_factors=4, n_epochs=3, random_state=0, dtype=np.float32).fit(ratings, init=start32)
    double = ALS(n_factors=4, n_epochs=3, random_state=0).fit(ratings, init=start)
    assert single.factors_.dtype == np.float32
    np.testing.assert_allclose(single.predict(ratings.users, ratings.items),
                               double.predict(ratings.users, ratings.items), rtol=1e-4)


def test_verbose_draws_a_bar_and_quiet_prints_nothing(rng, capsys):
    """Oracle: tqdm's output on stderr names the estimator with verbose=True; nothing at all without."""
    pytest.importorskip("tqdm")
    ratings = problem(rng)
    ALS(n_factors=2, n_epochs=2, random_state=0).fit(ratings)
    assert capsys.readouterr() == ("", "")
    ALS(n_factors=2, n_epochs=2, random_state=0, verbose=True).fit(ratings)
    assert "ALS[compiled]" in capsys.readouterr().err


def test_half_steps_run_one_blas_thread(rng, monkeypatch):
    """Oracle: threadpoolctl's own report, read inside the sweep: every BLAS at 1 thread (their own
    threads only make the small systems wait; see funksvd.als.sweeps.one_blas_thread)."""
    from threadpoolctl import threadpool_info

    import funksvd.estimator.als as module

    seen = []
    sweep = module.sweep_arrays

    def spy(*args, **kwargs):
        seen.append({lib["internal_api"]: lib["num_threads"] for lib in threadpool_info()
                     if lib["user_api"] == "blas"})
        return sweep(*args, **kwargs)

    monkeypatch.setattr(module, "sweep_arrays", spy)
    ALS(n_factors=2, n_epochs=2, random_state=0).fit(problem(rng))
    assert len(seen) == 2 and all(seen) and all(n == 1 for found in seen for n in found.values()), seen
