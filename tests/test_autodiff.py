"""The TensorFlow twin (funksvd.autodiff) against the numpy code, and the GradientTape trainer.

Two independent derivations of every loss meet here: the numpy code with its hand-derived
gradients (funksvd.maths.objectives, funksvd.maths.rules) and the TensorFlow code differentiated by a tape.
Each test names its oracle. Everything is float64.

Tolerances: both sides evaluate the same float64 formula with sums in a different order, so
they differ by rounding only -- about ``n_terms * eps`` relative to the largest term of a sum
(here ~30 terms: < 1e-14). Values are compared with ``rtol=1e-12``; gradients and updated
factors, whose small entries can come out of cancellation, additionally with an ``atol`` of
1e-12 times the largest entry of the block.
"""

from __future__ import annotations


import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

import funksvd  # noqa: E402
from funksvd import OBJECTIVES, RULES, DivergenceError, Factors, Objective, Ratings  # noqa: E402
from funksvd import autodiff  # noqa: E402
from funksvd.check import check_gradients  # noqa: E402

N_USERS, N_ITEMS, K = 7, 6, 3

#: Hand-built combinations of Objective options that no classic source uses.
HAND_BUILT = {
    "absolute+frobenius": Objective(data="absolute", penalty="frobenius", factor_reg_weight=0.7, bias_reg_weight=0.3),
    "sigmoid+per_rating": Objective(link="sigmoid", rating_range=(1.0, 5.0), data_weight=0.5),
    "dense+sum": Objective(entries="dense", reduction="sum", penalty="frobenius"),
    "mean+per_rating": Objective(reduction="mean", penalty="per_rating", factor_reg_weight=1.0, bias_reg_weight=0.25),
    "absolute+l1+mean": Objective(data="absolute", penalty="l1", reduction="mean", data_weight=2.0),
}
OBJECTIVE_CASES = list(RULES) + list(OBJECTIVES) + list(HAND_BUILT)
PER_BLOCK_REG = {"P": 0.03, "Q": 0.011, "bu": 0.2, "bi": 0.07}


def as_obj(name):
    return HAND_BUILT.get(name, name)


def assert_blocks_close(got: dict, expected: dict):
    """Block by block: rtol 1e-12, atol 1e-12 x the block's largest entry (see module docstring)."""
    assert sorted(got) == sorted(expected)
    for block in expected:
        assert got[block].dtype == np.float64
        scale = max(np.abs(expected[block]).max(), 1e-300)
        np.testing.assert_allclose(got[block], expected[block], rtol=1e-12, atol=1e-12 * scale, err_msg=block)


def make_factors(biased: bool, seed: int = 1, scale: float = 0.5) -> Factors:
    rng = np.random.default_rng(seed)
    P = rng.normal(0, scale, (N_USERS, K))
    Q = rng.normal(0, scale, (N_ITEMS, K))
    if not biased:
        return Factors(P, Q, mu=3.2)
    return Factors(P, Q, rng.normal(0, 0.3, N_USERS), rng.normal(0, 0.3, N_ITEMS), mu=3.2)


def ratings_with_duplicates(seed: int = 0) -> Ratings:
    """30 random ratings, then 4 of them again (same pair, new value): duplicate (u, i) pairs."""
    rng = np.random.default_rng(seed)
    users = rng.integers(0, N_USERS, 30)
    items = rng.integers(0, N_ITEMS, 30)
    values = rng.uniform(1, 5, 30)
    users, items = np.r_[users, users[:4]], np.r_[items, items[:4]]
    values = np.r_[values, rng.uniform(1, 5, 4)]
    ratings = Ratings(users, items, values, N_USERS, N_ITEMS)
    assert ratings.duplicate_pairs().size >= 4
    return ratings


def ratings_without_duplicates(seed: int = 0) -> Ratings:
    """About 60% of the cells observed, each once (a dense objective needs one value per cell)."""
    rng = np.random.default_rng(seed)
    R = np.where(rng.random((N_USERS, N_ITEMS)) < 0.6, rng.integers(1, 6, (N_USERS, N_ITEMS)), 0)
    return Ratings.from_dense(R, missing=0)


def ratings_for(objective) -> Ratings:
    dense = funksvd.maths.objectives.as_objective(objective).entries == "dense"
    return ratings_without_duplicates() if dense else ratings_with_duplicates()


# ---- loss and gradients ------------------------------------------------------------------------


@pytest.mark.parametrize("biased", [True, False], ids=["biased", "unbiased"])
@pytest.mark.parametrize("name", OBJECTIVE_CASES)
@pytest.mark.parametrize("reg", [0.05, PER_BLOCK_REG], ids=["reg", "per_block_reg"])
def test_loss_equals_numpy_loss(name, biased, reg):
    """Oracle: funksvd.loss (numpy, counts-weighted penalty) = autodiff.loss (TF, gathered penalty), rtol 1e-12."""
    objective = as_obj(name)
    factors, ratings = make_factors(biased), ratings_for(objective)
    expected = funksvd.loss(factors, ratings, objective, reg)
    got = autodiff.loss(factors, ratings, objective, reg)
    assert isinstance(got, float)
    # rounding only: the two sums run in different orders (module docstring)
    assert got == pytest.approx(expected, rel=1e-12, abs=0.0)


@pytest.mark.parametrize("biased", [True, False], ids=["biased", "unbiased"])
@pytest.mark.parametrize("name", OBJECTIVE_CASES)
@pytest.mark.parametrize("reg", [0.05, PER_BLOCK_REG], ids=["reg", "per_block_reg"])
def test_hand_gradients_equal_tape_gradients(name, biased, reg):
    """Oracle: TensorFlow autodiff. funksvd.gradients (hand-derived) = autodiff.gradients, block by block."""
    objective = as_obj(name)
    factors, ratings = make_factors(biased), ratings_for(objective)
    expected = autodiff.gradients(factors, ratings, objective, reg)
    assert sorted(expected) == sorted(factors.blocks)
    assert_blocks_close(funksvd.gradients(factors, ratings, objective, reg), expected)


def test_the_pieces_are_exercised():
    """Oracle: the Objective options themselves. The cases above cover every option value."""
    objectives = [funksvd.maths.objectives.as_objective(as_obj(name)) for name in OBJECTIVE_CASES]
    for field, values in (("data", ("squared", "absolute")), ("reduction", ("sum", "mean")),
                          ("entries", ("observed", "dense")), ("link", ("identity", "sigmoid")),
                          ("penalty", ("per_rating", "frobenius", "l1", "none"))):
        assert {getattr(o, field) for o in objectives} == set(values), field


def test_kinks_absolute_and_l1_have_zero_subgradient():
    """Oracle: numpy's sign(0) = 0 convention. At e = 0 and theta = 0 the tape's d|x|/dx is 0 too.

    Factors and ratings are small dyadic numbers, so predictions are exact and e = 0 exactly.
    """
    P = np.array([[0.5, 0.0], [1.0, -0.25], [0.0, 0.0]])
    Q = np.array([[1.0, 2.0], [0.5, 0.0]])
    factors = Factors(P, Q, np.array([0.0, 0.5, -0.25]), np.array([0.25, 0.0]), mu=3.0)
    users, items = np.array([0, 1, 2, 0, 1]), np.array([0, 1, 0, 1, 0])
    exact = factors.predict(users, items)
    values = exact + np.array([0.0, 0.0, 1.0, -0.5, 0.0])  # three errors exactly 0
    ratings = Ratings(users, items, values, 3, 2)
    objective = Objective(data="absolute", penalty="l1")
    theta = {b: tf.constant(v) for b, v in factors.params().items()}
    entries = autodiff.losses.tf_entries(users, items, values)
    e = autodiff.losses.tf_error(objective, theta, *entries, factors.mu).numpy()
    assert np.count_nonzero(e == 0.0) == 3  # the kinks are really hit in TF
    tape = autodiff.gradients(factors, ratings, objective, 0.1)
    assert_blocks_close(funksvd.gradients(factors, ratings, objective, 0.1), tape)
    # user 2 has only a nonzero error and P[2] = 0: its gradient is -sign(e) q_i, no penalty part
    np.testing.assert_array_equal(tape["P"][2], -Q[0])


def test_missing_block_in_reg_raises_like_numpy():
    """Oracle: funksvd.loss. A per-block reg that omits a block of the model raises ValueError in both."""
    factors, ratings = make_factors(True), ratings_with_duplicates()
    with pytest.raises(ValueError):
        funksvd.loss(factors, ratings, "funk", {"P": 0.1, "Q": 0.1})
    with pytest.raises(ValueError, match="missing"):
        autodiff.loss(factors, ratings, "funk", {"P": 0.1, "Q": 0.1})
    # an unbiased model needs only P and Q
    unbiased = make_factors(False)
    assert autodiff.loss(unbiased, ratings, "funk", {"P": 0.1, "Q": 0.2}) == pytest.approx(
        funksvd.loss(unbiased, ratings, "funk", {"P": 0.1, "Q": 0.2}), rel=1e-12)


def test_float32_factors_are_computed_in_float64():
    """Oracle: funksvd.loss on the float64 copy. float32 input is promoted, never computed in float32."""
    factors, ratings = make_factors(True), ratings_with_duplicates()
    f32 = Factors(*(factors.params()[b].astype(np.float32) for b in factors.blocks), mu=factors.mu)
    f64 = Factors(*(f32.params()[b].astype(np.float64) for b in f32.blocks), mu=f32.mu)
    assert autodiff.loss(f32, ratings, "funk") == pytest.approx(funksvd.loss(f64, ratings, "funk"), rel=1e-12)
    assert all(g.dtype == np.float64 for g in autodiff.gradients(f32, ratings, "funk").values())


def test_duplicate_indices_come_back_as_indexed_slices_and_are_summed():
    """Oracle: np.add.at. A gathered block's tape gradient is IndexedSlices; densify sums repeated rows."""
    P = tf.Variable(np.arange(12.0).reshape(4, 3), dtype=tf.float64)
    index = tf.constant([0, 2, 0, 0, 3], tf.int64)
    weights = tf.constant(np.arange(1.0, 16.0).reshape(5, 3), tf.float64)
    with tf.GradientTape() as tape:
        value = tf.reduce_sum(weights * tf.gather(P, index))
    grad = tape.gradient(value, P)
    assert isinstance(grad, tf.IndexedSlices)
    expected = np.zeros((4, 3))
    np.add.at(expected, index.numpy(), weights.numpy())
    np.testing.assert_array_equal(autodiff.densify(grad), expected)  # small integers: exact

    # the same inside the twin: one slice per gathered entry (data term + per-rating penalty)
    factors, ratings = make_factors(True), ratings_with_duplicates()
    raw = autodiff.tape_gradients(factors, ratings, "funk")
    for block, index in (("P", ratings.users), ("Q", ratings.items), ("bu", ratings.users), ("bi", ratings.items)):
        assert isinstance(raw[block], tf.IndexedSlices), block
        np.testing.assert_array_equal(np.sort(raw[block].indices.numpy()), np.sort(np.r_[index, index]))
        summed = np.zeros(factors.params()[block].shape)
        np.add.at(summed, raw[block].indices.numpy(), raw[block].values.numpy())
        # np.add.at and the densifying scatter-add add the same slices, maybe in another order
        np.testing.assert_allclose(autodiff.densify(raw[block]), summed, rtol=1e-12, atol=1e-14)
    # a whole-matrix penalty touches every row densely: the tape then aggregates to a dense tensor
    assert isinstance(autodiff.tape_gradients(factors, ratings, "quuxlabs_frobenius")["P"], tf.Tensor)


@pytest.mark.parametrize("biased", [True, False], ids=["biased", "unbiased"])
@pytest.mark.parametrize("name", OBJECTIVE_CASES)
def test_check_gradients_with_the_tensorflow_oracle(name, biased):
    """Oracle: TensorFlow autodiff through funksvd.check.check_gradients; a slip is caught and named."""
    objective = as_obj(name)
    factors, ratings = make_factors(biased), ratings_for(objective)
    report = check_gradients(objective, factors, ratings, oracles=("tensorflow",))
    assert report.ok, str(report)
    assert {row.oracle for row in report.rows} == {"tensorflow"}

    def doubled(f, r, reg):
        return {b: 2.0 * g for b, g in funksvd.gradients(f, r, objective, reg).items()}

    bad = check_gradients(objective, factors, ratings, manual=doubled, oracles=("tensorflow",))
    assert not bad.ok
    assert "factor 2" in str(bad)


# ---- one SGD step ------------------------------------------------------------------------------

STEP_HYPER = {
    "scalar": (0.05, 0.1),
    "per_block": ({"P": 0.07, "Q": 0.03, "bu": 0.11, "bi": 0.02}, {"P": 0.2, "Q": 0.05, "bu": 0.3, "bi": 0.01}),
}


@pytest.mark.parametrize("hyper", list(STEP_HYPER))
@pytest.mark.parametrize("biased", [True, False], ids=["biased", "unbiased"])
@pytest.mark.parametrize("rule", list(RULES))
def test_sgd_step_equals_the_rule_kernel(rule, biased, hyper):
    """Oracle: funksvd.sgd_step (the literal rule kernel) = autodiff.sgd_step (tape gradient of rule.objective)."""
    lr, reg = STEP_HYPER[hyper]
    factors = make_factors(biased, scale=1.0)  # large factors: errors of order 1, the steps matter
    for u, i, r in ((0, 0, 5.0), (3, 5, 1.0), (6, 2, 3.5)):
        expected = funksvd.sgd_step(factors, u, i, r, rule, lr, reg)
        got = autodiff.sgd_step(factors, u, i, r, rule, lr, reg)
        assert got.mu == factors.mu and got.blocks == factors.blocks
        assert_blocks_close(got.params(), expected.params())


def test_sequential_rule_is_not_the_simultaneous_one():
    """Oracle: funksvd.sgd_step. The staged (quuxlabs_listing) Q update differs from funk's, and TF matches each."""
    factors = make_factors(True, scale=1.0)
    listing = autodiff.sgd_step(factors, 1, 2, 5.0, "quuxlabs_listing", lr=0.1)
    funk = autodiff.sgd_step(factors, 1, 2, 5.0, "funk", lr=0.1)
    np.testing.assert_array_equal(listing.P, funk.P)  # P and the biases: the same gradient step
    assert np.abs(listing.Q[2] - funk.Q[2]).max() > 1e-3  # Q reads the updated p_u
    assert_blocks_close(listing.params(), funksvd.sgd_step(factors, 1, 2, 5.0, "quuxlabs_listing", lr=0.1).params())


@pytest.mark.parametrize("rule", list(RULES))
def test_a_pass_of_tape_steps_equals_an_epoch(rule):
    """Oracle: funksvd.sgd_epoch(engine="python"). 34 tape steps in order = one epoch, incl. repeated pairs."""
    factors, ratings = make_factors(True), ratings_with_duplicates()
    order = np.random.default_rng(3).permutation(len(ratings))
    expected = funksvd.sgd_epoch(factors, ratings, rule, lr=0.02, reg=0.05, order=order, engine="python")
    got = factors
    for j in order:
        got = autodiff.sgd_step(got, ratings.users[j], ratings.items[j], ratings.values[j], rule, lr=0.02, reg=0.05)
    assert_blocks_close(got.params(), expected.params())


def test_sgd_step_validates_like_numpy():
    """Oracle: funksvd.sgd_step. Bad indices raise ValueError; a blown-up step raises DivergenceError."""
    factors = make_factors(True)
    with pytest.raises(ValueError, match="not a valid index"):
        autodiff.sgd_step(factors, N_USERS, 0, 3.0)
    big = Factors(np.full((2, 1), 1e200), np.full((2, 1), 1e200))
    with pytest.raises(DivergenceError):
        funksvd.sgd_step(big, 0, 0, 3.0, lr=1.0)
    with pytest.raises(DivergenceError):
        autodiff.sgd_step(big, 0, 0, 3.0, lr=1.0)


# ---- the trainer --------------------------------------------------------------------------------


def low_rank_problem(seed=0, n_users=30, n_items=20, n_ratings=240):
    """Ratings of a rank-2 model plus noise, and a held-out set."""
    rng = np.random.default_rng(seed)
    A, B = rng.normal(0, 1, (n_users, 2)), rng.normal(0, 1, (n_items, 2))
    users = rng.integers(0, n_users, n_ratings)
    items = rng.integers(0, n_items, n_ratings)
    values = 3.0 + np.einsum("nk,nk->n", A[users], B[items]) + rng.normal(0, 0.1, n_ratings)
    ratings = Ratings(users, items, values, n_users, n_items)
    cut = n_ratings * 4 // 5
    train, test = ratings.subset(np.arange(cut)), ratings.subset(np.arange(cut, n_ratings))
    start = Factors.random(n_users, n_items, 3, mu=train.mean(), random_state=seed)
    return start, train, test


@pytest.mark.parametrize("batch_size", [None, 48], ids=["full_batch", "mini_batch"])
@pytest.mark.parametrize("optimizer,learning_rate", [("sgd", 0.01), ("adam", 0.05), ("rmsprop", 0.01)])
def test_training_decreases_the_loss(optimizer, learning_rate, batch_size):
    """Oracle: funksvd.loss (numpy) of the start and of the result; history's losses are that loss."""
    start, train, test = low_rank_problem()
    factors, history = autodiff.train(start, train, objective="funk", optimizer=optimizer,
                                      learning_rate=learning_rate, n_epochs=15, batch_size=batch_size,
                                      validation=test, random_state=0)
    assert factors.dtype == np.float64 and factors.biased and factors.mu == start.mu
    assert [h["epoch"] for h in history] == list(range(1, 16))
    assert set(history[0]) == {"epoch", "loss", "val_rmse", "val_mse", "val_loss", "seconds"}
    assert all(h["seconds"] >= 0 for h in history)
    initial = funksvd.loss(start, train, "funk")
    assert history[-1]["loss"] < history[0]["loss"] < initial
    assert history[-1]["loss"] < 0.8 * initial
    # the recorded loss is the full training objective at the returned factors (rounding, see top)
    assert history[-1]["loss"] == pytest.approx(funksvd.loss(factors, train, "funk"), rel=1e-12)
    # identity link: the recorded validation RMSE is funksvd.rmse of the returned factors
    assert history[-1]["val_rmse"] == pytest.approx(funksvd.rmse(factors, test), rel=1e-12)


def test_full_batch_sgd_is_gradient_descent_on_the_hand_gradient():
    """Oracle: funksvd.gradients (hand-derived). One full-batch Keras-SGD epoch = theta - lr * dL/dtheta.

    Equality to 1e-12 also proves the learning rate is float64 (float32 would be off at 1e-8).
    """
    start, train, _ = low_rank_problem()
    objective = Objective(penalty="frobenius", reduction="mean")
    got, _ = autodiff.train(start, train, objective=objective, reg=PER_BLOCK_REG, optimizer="sgd",
                            learning_rate=0.1, n_epochs=1)
    grads = funksvd.gradients(start, train, objective, PER_BLOCK_REG)
    expected = {b: start.params()[b] - 0.1 * grads[b] for b in start.blocks}
    assert_blocks_close(got.params(), expected)


def test_one_shuffled_batch_of_everything_is_the_full_batch():
    """Oracle: the full-batch trainer. The loss of a mini-batch is the objective on that batch.

    A single batch holding every entry (shuffled) gives the full-batch step up to summation order.
    """
    start, train, _ = low_rank_problem()
    full, _ = autodiff.train(start, train, objective="tf2_mse_2021", optimizer="sgd", learning_rate=0.5, n_epochs=3)
    one, _ = autodiff.train(start, train, objective="tf2_mse_2021", optimizer="sgd", learning_rate=0.5, n_epochs=3,
                            batch_size=len(train), random_state=1)
    assert_blocks_close(one.params(), full.params())


def test_the_step_function_never_retraces(monkeypatch):
    """Oracle: tf.function's own tracing counter. Batches of 50 and a shorter last one share one trace."""
    captured = []
    make_step = autodiff.trainer.make_step

    def capturing(*args, **kwargs):
        captured.append(make_step(*args, **kwargs))
        return captured[-1]

    monkeypatch.setattr(autodiff.trainer, "make_step", capturing)
    start, train, test = low_rank_problem()
    assert len(train) % 50 != 0  # the last batch is shorter
    autodiff.train(start, train, n_epochs=4, batch_size=50, validation=test, random_state=0)
    (step,) = captured
    assert step.experimental_get_tracing_count() == 1


def test_same_random_state_gives_identical_factors():
    """Oracle: bit equality (Factors.equals). The seed fixes the batch order; another seed changes it."""
    start, train, _ = low_rank_problem()
    kwargs = dict(n_epochs=3, batch_size=32, learning_rate=0.02)
    a, history_a = autodiff.train(start, train, random_state=7, **kwargs)
    b, history_b = autodiff.train(start, train, random_state=7, **kwargs)
    c, _ = autodiff.train(start, train, random_state=8, **kwargs)
    assert a.equals(b)
    assert [h["loss"] for h in history_a] == [h["loss"] for h in history_b]
    assert not a.equals(c)


def test_divergence_raises_and_never_returns_nan():
    """Oracle: DivergenceError's contract. SGD with a huge learning rate names the epoch and suggests a fix."""
    start, train, _ = low_rank_problem()
    with pytest.raises(DivergenceError, match=r"epoch \d+.*smaller learning_rate"):
        autodiff.train(start, train, optimizer="sgd", learning_rate=1e3, n_epochs=50)
    seen = []
    with pytest.raises(DivergenceError):
        autodiff.train(start, train, optimizer="sgd", learning_rate=1e3, n_epochs=50,
                       callback=lambda epoch, loss, get: seen.append(get()))
    assert all(np.isfinite(f.P).all() and np.isfinite(f.Q).all() for f in seen)


def test_callback_sees_each_epoch_and_can_stop():
    """Oracle: the returned factors and history. Returning True after epoch 3 stops there."""
    start, train, _ = low_rank_problem()
    calls = []

    def callback(epoch, loss, get_factors):
        calls.append((epoch, loss, get_factors()))
        return np.bool_(epoch == 3)  # any true value stops, a numpy bool too

    factors, history = autodiff.train(start, train, n_epochs=10, callback=callback)
    assert [c[0] for c in calls] == [1, 2, 3] and len(history) == 3
    assert [c[1] for c in calls] == [h["loss"] for h in history]
    assert calls[-1][2].equals(factors)
    assert calls[0][2].params()["P"].flags.writeable is False  # a Factors snapshot, not the variables


def test_staircase_decay_and_optimizer_instances():
    """Oracle: keras' ExponentialDecay(staircase=True) semantics; the named optimizer for an instance.

    decay_steps=1, decay_rate=1e-12: only the first step moves the factors noticeably.
    """
    start, train, _ = low_rank_problem()
    _, history = autodiff.train(start, train, optimizer="sgd", learning_rate=0.01, n_epochs=4,
                                decay_rate=1e-12, decay_steps=1)
    losses = [h["loss"] for h in history]
    # later steps have lr 1e-14 and below: relative changes of that order, far below 1e-9
    assert losses[1:] == pytest.approx([losses[0]] * 3, rel=1e-9)
    assert losses[0] < funksvd.loss(start, train, "funk")

    # keras stores an instance's learning rate in float32: 0.01 becomes float(np.float32(0.01))
    by_name, _ = autodiff.train(start, train, optimizer="sgd", learning_rate=float(np.float32(0.01)), n_epochs=2)
    template = keras.optimizers.SGD(learning_rate=0.01)
    first, _ = autodiff.train(start, train, optimizer=template, n_epochs=2)
    again, _ = autodiff.train(start, train, optimizer=template, n_epochs=2)  # an instance is a template
    assert first.equals(again)
    assert int(template.iterations.numpy()) == 0  # the template itself is never used
    # the copy computes in float64 with that value: the named optimizer up to rounding
    assert_blocks_close(first.params(), by_name.params())
    with pytest.raises(ValueError, match="optimizer"):
        autodiff.train(start, train, optimizer="adagrad")


def test_trainer_leaves_keras_settings_alone_and_promotes_float32():
    """Oracle: keras.config.floatx() before and after; the returned dtype."""
    start, train, _ = low_rank_problem()
    before = keras.config.floatx()
    f32 = Factors(*(start.params()[b].astype(np.float32) for b in start.blocks), mu=start.mu)
    factors, _ = autodiff.train(f32, train, n_epochs=1)
    assert keras.config.floatx() == before
    assert factors.dtype == np.float64


def test_trainer_runs_dense_and_sigmoid_objectives():
    """Oracle: funksvd.loss. The 2019 Keras objective (dense, sigmoid, mean) trains; its recorded loss is numpy's."""
    rng = np.random.default_rng(0)
    R = np.where(rng.random((12, 9)) < 0.5, rng.uniform(0, 1, (12, 9)), 0.0)
    ratings = Ratings.from_dense(R, missing=0.0)
    start = Factors.random(12, 9, 2, mu=0.0, random_state=0)
    factors, history = autodiff.train(start, ratings, objective="keras_sigmoid_2019", optimizer="rmsprop",
                                      learning_rate=0.01, n_epochs=5, batch_size=40, random_state=0)
    assert history[-1]["loss"] == pytest.approx(funksvd.loss(factors, ratings, "keras_sigmoid_2019"), rel=1e-12)
    assert history[-1]["loss"] < funksvd.loss(start, ratings, "keras_sigmoid_2019")


# ---- the 2021 tutorial ----------------------------------------------------------------------------


def test_harmonic_experiment_small():
    """Oracle: the gather formulation (autodiff's general path) = the masked one, and the tail formula.

    Reduced size (n=60, k=4, 400 steps) so it runs in about a second.
    """
    kwargs = dict(n=60, k=4, random_state=0, max_steps=400, check_every=100)
    masked = autodiff.harmonic_experiment(**kwargs)
    gather = autodiff.harmonic_experiment(formulation="gather", **kwargs)
    assert masked["steps"] == gather["steps"] <= 400
    assert masked["n_train"] + masked["n_validation"] == 60 * 60
    assert masked["tail"] == pytest.approx(sum(1.0 / (j + 1) ** 2 for j in range(4, 60)), rel=1e-12)
    # same loss, gradients equal up to rounding; Adam's normalisation can amplify rounding a little
    # over 400 steps, so a loose 1e-8
    for key in ("val_mse", "train_mse", "full_mse"):
        assert gather[key] == pytest.approx(masked[key], rel=1e-8)
    assert masked["train_mse"] < masked["checks"][0] * 1.001
    # the training MSE on the kept cells is the objective tf2_mse_2021 on them
    assert np.isfinite(masked["val_mse"]) and masked["val_mse"] > masked["train_mse"]


@pytest.mark.slow
def test_harmonic_experiment_full_size():
    """Oracle: the 2021 tutorial (validation MSE about 0.032) and the tail floor 1/k: within a factor 1.3 of it."""
    result = autodiff.harmonic_experiment()
    assert result["tail"] < result["val_mse"] < 1.3 * result["tail"]
    assert result["steps"] < 40_000


# ---- a trainable global bias; the twin chooses its own entries (issues 7 and 9) ---------------


@pytest.mark.parametrize("biased", [True, False], ids=["biased", "unbiased"])
@pytest.mark.parametrize("name", OBJECTIVE_CASES)
def test_mu_gradient_equals_the_tape(name, biased):
    """Oracle: TensorFlow autodiff with mu a tf.Variable. Every block, "mu" included, equals the hand gradient."""
    objective = funksvd.maths.objectives.as_objective(as_obj(name)).replace(learn_mu=True)
    factors, ratings = make_factors(biased), ratings_for(objective)
    expected = autodiff.gradients(factors, ratings, objective, PER_BLOCK_REG if biased else 0.05)
    assert sorted(expected) == sorted(factors.blocks + ("mu",))
    assert_blocks_close(funksvd.gradients(factors, ratings, objective, PER_BLOCK_REG if biased else 0.05), expected)


def test_twin_selects_the_dense_entries_itself():
    """Oracle: a literal double loop over the cells (row-major), missing cells 0; a repeated pair is refused."""
    ratings = ratings_without_duplicates()
    factors = make_factors(True)
    users, items, values = (t.numpy() for t in autodiff.select_entries(OBJECTIVES["keras_sigmoid_2019"], factors,
                                                                      ratings))
    R = {(u, i): r for u, i, r in zip(ratings.users, ratings.items, ratings.values)}
    cells = [(u, i) for u in range(N_USERS) for i in range(N_ITEMS)]
    np.testing.assert_array_equal(users, [u for u, _ in cells])
    np.testing.assert_array_equal(items, [i for _, i in cells])
    np.testing.assert_array_equal(values, [R.get(cell, 0.0) for cell in cells])
    with pytest.raises(ValueError, match="repeats the pair"):
        autodiff.loss(factors, ratings_with_duplicates(), "keras_sigmoid_2019")
    with pytest.raises(ValueError, match="ratings are"):
        autodiff.loss(make_factors(True), Ratings([0], [0], [1.0], 2, 2), "funk")


def test_the_twin_never_calls_the_hand_code(monkeypatch):
    """Oracle: the twin's own answer with the numpy hand code disabled, and the tape's own trace.

    Every numpy function that computes a loss, a gradient, an entry selection, a rule update or
    an optimiser step is replaced by one that raises; the twin must still compute the loss, the
    gradients, an SGD step of every rule and a training run, and its gradients must come from
    ``tf.GradientTape.gradient``. Kills the mutants ``autodiff.gradients = funksvd.gradients``,
    ``autodiff.sgd_step = funksvd.sgd_step`` and a twin that selects entries with numpy's
    ``Objective.select_entries``.
    """
    factors, ratings = make_factors(True), ratings_without_duplicates()
    objective = OBJECTIVES["keras_sigmoid_2019"].replace(rating_range=(1.0, 5.0), learn_mu=True)
    # the answers before anything is disabled, for the rules from their kernels (the numpy oracle)
    expected_steps = {rule: funksvd.sgd_step(factors, 1, 2, 4.0, rule, 0.05, 0.1) for rule in RULES}

    def hand_code(*args, **kwargs):
        raise AssertionError("the TensorFlow twin called the numpy hand code")

    for name in ("loss", "gradients", "value_and_gradients", "evaluate", "select_entries", "prepare",
                 "predict", "apply_link", "_rho", "penalty_terms", "_sparse", "_matrix"):
        monkeypatch.setattr(funksvd.maths.objectives.Objective, name, hand_code)
    monkeypatch.setattr(funksvd.maths.objectives.Entries, "of", hand_code)
    for module, names in ((funksvd.maths.objectives, ("loss", "gradients", "_scores")),
                          (funksvd.sgd.steps, ("sgd_step", "sgd_epoch", "run_epoch")),
                          (funksvd.fullbatch.trainer, ("train",)),
                          (funksvd.fullbatch.optimizers.Optimizer, ("apply", "update"))):
        for name in names:
            monkeypatch.setattr(module, name, hand_code)
    for name in ("loss", "gradients", "sgd_step", "sgd_epoch", "train"):
        monkeypatch.setattr(funksvd, name, hand_code)
    kernels = {rule: RULES[rule].step for rule in RULES}
    calls = []
    tape_gradient = tf.GradientTape.gradient

    def counting(self, *args, **kwargs):
        calls.append(1)
        return tape_gradient(self, *args, **kwargs)

    monkeypatch.setattr(tf.GradientTape, "gradient", counting)
    try:
        for rule in RULES:  # a frozen dataclass: swap the kernel in place, restored below
            object.__setattr__(RULES[rule], "step", hand_code)
        assert np.isfinite(autodiff.loss(factors, ratings, objective, 0.1))
        grads = autodiff.gradients(factors, ratings, objective, 0.1)
        assert set(grads) == {"P", "Q", "bu", "bi", "mu"} and calls
        for rule in RULES:
            got = autodiff.sgd_step(factors, 1, 2, 4.0, rule, 0.05, 0.1)
            assert_blocks_close(got.params(), expected_steps[rule].params())
        trained, _ = autodiff.train(factors, ratings, objective=objective, optimizer="adam", n_epochs=2)
        assert not trained.equals(factors)
    finally:
        for rule, kernel in kernels.items():
            object.__setattr__(RULES[rule], "step", kernel)


def test_the_twin_binds_no_hand_code_by_name():
    """Oracle: the twin's module namespaces. No name in funksvd.autodiff.* is bound to a numpy function that
    computes a loss, a gradient, a rule update or a training step."""
    import inspect

    hand = {funksvd.maths.objectives.loss, funksvd.maths.objectives.gradients, funksvd.sgd.sgd_step,
            funksvd.sgd.sgd_epoch, funksvd.sgd.steps.run_epoch, funksvd.fullbatch.train,
            *(rule.step for rule in RULES.values())}
    hand |= {member for _, member in inspect.getmembers(funksvd.maths.objectives.Objective, inspect.isfunction)}
    for module in (autodiff, autodiff.losses, autodiff.steps, autodiff.trainer, autodiff.experiments):
        bound = [name for name, value in vars(module).items() if callable(value) and value in hand]
        assert not bound, f"{module.__name__} binds the hand code {bound}"
