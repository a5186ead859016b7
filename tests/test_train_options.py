"""The recording and stopping options of funksvd.train (log_every, record_start, monitor, patience, plateau, form).

Oracles: a run with ``log_every=1`` (every epoch recorded) from the same start -- the options only
choose which records to keep and where to stop, so the kept records must be the very same numbers;
the stopping rules written out again in the test and applied to that full history; funksvd.loss
and a hand-written MSE of the returned factors.
"""

from __future__ import annotations

import numpy as np
import pytest

import funksvd
from funksvd import Factors, Ratings
from funksvd.fullbatch.trainer import choose_form
from funksvd.maths.objectives import Entries


def problem(seed=0, n_users=12, n_items=10, density=0.6):
    """A rank-2 model plus noise on about 60% of the cells (each once), split 80/20."""
    rng = np.random.default_rng(seed)
    A, B = rng.normal(0, 1, (n_users, 2)), rng.normal(0, 1, (n_items, 2))
    users, items = np.nonzero(rng.random((n_users, n_items)) < density)
    values = 3.0 + np.einsum("nk,nk->n", A[users], B[items]) + rng.normal(0, 0.1, len(users))
    ratings = Ratings(users, items, values, n_users, n_items)
    order = rng.permutation(len(users))
    cut = len(users) * 4 // 5
    train, test = ratings.subset(np.sort(order[:cut])), ratings.subset(np.sort(order[cut:]))
    start = Factors.random(n_users, n_items, 2, mu=train.mean(), random_state=seed)
    return start, train, test


KWARGS = {"objective": "funk", "reg": 0.05, "optimizer": "adam", "learning_rate": 0.02}


def test_log_every_keeps_the_records_of_the_full_history():
    """Oracle: the log_every=1 run. Records at 5, 10, ..., and the last epoch (23), the same numbers bit for bit."""
    start, train, test = problem()
    full_factors, full = funksvd.train(start, train, n_epochs=23, validation=test, **KWARGS)
    factors, kept = funksvd.train(start, train, n_epochs=23, validation=test, log_every=5, **KWARGS)
    assert [h["epoch"] for h in kept] == [5, 10, 15, 20, 23]
    by_epoch = {h["epoch"]: h for h in full}
    for h in kept:
        for key in ("loss", "val_rmse", "val_mse"):
            assert h[key] == by_epoch[h["epoch"]][key]
    assert factors.equals(full_factors)


def test_record_start_is_the_loss_at_the_start_values():
    """Oracle: funksvd.loss and a hand-written validation MSE at the start factors; training moves on from there."""
    start, train, test = problem()
    _, history = funksvd.train(start, train, n_epochs=3, validation=test, record_start=True, **KWARGS)
    assert [h["epoch"] for h in history] == [0, 1, 2, 3]
    # the matrix form (chosen: 60% full) sums in another order than funksvd.loss's sparse form: rounding
    assert history[0]["loss"] == pytest.approx(funksvd.loss(start, train, "funk", 0.05), rel=1e-12)
    e = test.values - start.predict(test.users, test.items)
    assert history[0]["val_mse"] == pytest.approx(float(np.mean(e * e)), rel=1e-12)
    assert history[0]["val_rmse"] == pytest.approx(float(np.sqrt(np.mean(e * e))), rel=1e-12)
    assert history[0]["seconds"] == 0.0 and history[-1]["loss"] < history[0]["loss"]


def test_validation_figures_are_those_of_the_returned_factors():
    """Oracle: a hand-written MSE, and funksvd.loss of the objective on the validation ratings (monitor="val_loss")."""
    start, train, test = problem()
    factors, history = funksvd.train(start, train, n_epochs=7, validation=test, monitor="val_loss", **KWARGS)
    e = test.values - factors.predict(test.users, test.items)
    assert history[-1]["val_mse"] == pytest.approx(float(np.mean(e * e)), rel=1e-12)
    assert history[-1]["val_loss"] == pytest.approx(funksvd.loss(factors, test, "funk", 0.05), rel=1e-12)
    _, plain = funksvd.train(start, train, n_epochs=7, validation=test, **KWARGS)
    assert plain[-1]["val_loss"] is None  # computed only when monitored


def without_seconds(record: dict) -> dict:
    return {key: value for key, value in record.items() if key != "seconds"}


def patience_stop(values, patience, min_improvement):
    """The patience rule written again: the 1-based record index where it stops, or None."""
    best, waited = np.inf, 0
    for j, value in enumerate(values, start=1):
        if value < (1 - min_improvement) * best:
            best, waited = value, 0
        else:
            waited += 1
            if waited >= patience:
                return j
    return None


def plateau_stop(values, window, tolerance):
    """The 2021 tutorial's rule written again: stop at the first record whose previous-window mean falls by < tol."""
    for j in range(window + 1, len(values) + 1):
        previous = sum(values[j - window - 1:j - 1]) / window
        if previous - values[j - 1] < tolerance * previous:
            return j
    return None


def test_patience_stops_where_the_rule_says_on_the_full_history():
    """Oracle: patience_stop (written in the test) on the validation RMSE of the full log_every=1 run."""
    start, train, test = problem()
    kwargs = dict(KWARGS, learning_rate=0.1, reg=0.0, n_epochs=300, validation=test)
    _, full = funksvd.train(start, train, **kwargs)
    expected = patience_stop([h["val_rmse"] for h in full], 5, 1e-3)
    assert expected is not None and expected < 300  # the problem overfits: the rule really fires
    factors, history = funksvd.train(start, train, patience=5, min_improvement=1e-3, **kwargs)
    assert history[-1]["epoch"] == expected
    assert [without_seconds(h) for h in history] == [without_seconds(h) for h in full[:expected]]
    # the returned factors are those of the last epoch run (Keras' EarlyStopping default)
    again, _ = funksvd.train(start, train, **dict(kwargs, n_epochs=expected))
    assert factors.equals(again)


def test_plateau_stops_where_the_tutorials_rule_says():
    """Oracle: plateau_stop (written in the test) on the val MSE recorded every 10 epochs of the full run."""
    start, train, test = problem()
    kwargs = dict(KWARGS, n_epochs=400, validation=test, monitor="val_mse", log_every=10)
    _, full = funksvd.train(start, train, **kwargs)
    expected = plateau_stop([h["val_mse"] for h in full], 3, 0.01)
    assert expected is not None and expected < len(full)
    _, history = funksvd.train(start, train, plateau=(3, 0.01), **kwargs)
    assert len(history) == expected and history[-1]["epoch"] == 10 * expected


def test_the_training_loss_is_monitored_without_validation():
    """Oracle: patience_stop on the training losses of the full run (monitor defaults to "loss")."""
    start, train, _ = problem()
    kwargs = dict(KWARGS, n_epochs=2000, learning_rate=0.05)
    _, full = funksvd.train(start, train, **kwargs)
    expected = patience_stop([h["loss"] for h in full], 3, 1e-3)
    assert expected is not None
    _, history = funksvd.train(start, train, patience=3, min_improvement=1e-3, **kwargs)
    assert len(history) == expected


def test_a_callback_stop_is_recorded_between_logs():
    """Oracle: the log_every=1 run. A callback stopping at epoch 7 with log_every=5: records 5 and 7."""
    start, train, _ = problem()
    _, full = funksvd.train(start, train, n_epochs=20, **KWARGS)
    _, history = funksvd.train(start, train, n_epochs=20, log_every=5, callback=lambda e, loss, f: e == 7, **KWARGS)
    assert [h["epoch"] for h in history] == [5, 7]
    assert history[-1]["loss"] == full[6]["loss"]


@pytest.mark.parametrize("kwargs, error, match", [
    ({"log_every": 0}, ValueError, "log_every"),
    ({"log_every": True}, ValueError, "log_every"),
    ({"record_start": 1}, TypeError, "record_start"),
    ({"monitor": "val_auc"}, ValueError, "monitor"),
    ({"monitor": "val_rmse"}, ValueError, "needs validation"),
    ({"patience": 0}, ValueError, "patience"),
    ({"min_improvement": 1.5}, ValueError, "min_improvement"),
    ({"plateau": 5}, TypeError, "plateau"),
    ({"plateau": (0, 0.1)}, ValueError, "plateau"),
    ({"form": "dense"}, ValueError, "form"),
])
def test_bad_options_are_named(kwargs, error, match):
    """Oracle: the message names the argument."""
    start, train, _ = problem()
    with pytest.raises(error, match=match):
        funksvd.train(start, train, n_epochs=2, **kwargs)


def test_matrix_form_is_refused_for_repeated_pairs_and_above_the_memory_bound():
    """Oracle: a literal repeated pair and a 2 x 3 = 6-cell matrix against max_cells=5."""
    entries = Entries.from_arrays([0, 0, 1], [1, 1, 2], [1.0, 2.0, 3.0], (2, 3))
    assert choose_form(entries) == "sparse"  # auto falls back
    with pytest.raises(ValueError, match="repeats the pair"):
        choose_form(entries, "matrix")
    full = Entries.from_arrays([0, 0, 0, 1, 1, 1], [0, 1, 2, 0, 1, 2], np.ones(6), (2, 3))
    assert choose_form(full) == "matrix"
    assert choose_form(full, max_cells=5) == "sparse"
    with pytest.raises(MemoryError, match="max_cells=5"):
        choose_form(full, "matrix", max_cells=5)


@pytest.mark.parametrize("form", ["sparse", "matrix"])
def test_each_form_trains_the_same_factors(form):
    """Oracle: the other form. Forced sparse and forced matrix give the same trajectory up to rounding (1e-12)."""
    start, train, _ = problem()
    auto, _ = funksvd.train(start, train, n_epochs=30, **KWARGS)
    forced, _ = funksvd.train(start, train, n_epochs=30, form=form, **KWARGS)
    for block in auto.blocks:
        np.testing.assert_allclose(getattr(forced, block), getattr(auto, block), rtol=0, atol=1e-12)
