"""funksvd.train and funksvd.fullbatch.optimizers in numpy: the optimiser formulas, the trainer's contract.

Oracles: the optimisers' update rules written in their papers' form and computed by hand in the
test; the literal masked gradient -2 (M o E) Q; the other form (matrix vs sparse) of the same
objective; bit equality for seeding; DivergenceError's contract. The agreement with Keras and
the tape is in tests/test_twin_trajectories.py.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import funksvd
from funksvd import OBJECTIVES, DivergenceError, Factors, Ratings
from funksvd.fullbatch.trainer import choose_form, epoch_batches
from funksvd.maths.objectives import Entries
from funksvd.fullbatch.optimizers import SGD, Adam, RMSprop, float32_constant, make_optimizer


def run(optimizer, x0, gradients):
    """Apply ``optimizer`` to one block ``x`` for each gradient in turn; return the iterates."""
    theta = {"x": np.array(x0, dtype=np.float64)}
    out = []
    for g in gradients:
        optimizer.apply(theta, {"x": np.array(g, dtype=np.float64)})
        out.append(theta["x"].copy())
    return out


GRADIENTS = [[0.3, -0.1, 2.0], [0.25, 0.05, -1.0], [-0.4, 0.2, 0.5]]
X0 = [1.0, -2.0, 0.5]


def test_adam_is_kingma_and_ba_with_keras_epsilon():
    """Oracle: Adam in the paper's form, m_hat / (sqrt(v_hat) + eps_hat / sqrt(1 - beta_2^t)), by hand.

    Equal to 1e-15 relative: the same quantities, grouped differently.
    """
    b1, b2, eps, lr = float32_constant(0.9), float32_constant(0.999), 1e-7, 0.01
    m = v = np.zeros(3)
    x = np.array(X0)
    expected = []
    for t, g in enumerate(map(np.array, GRADIENTS), start=1):
        m = 0.9 * m + (1 - 0.9) * g  # the moments use the Python betas
        v = 0.999 * v + (1 - 0.999) * g * g
        m_hat, v_hat = m / (1 - b1 ** t), v / (1 - b2 ** t)  # the bias correction uses float32 betas
        x = x - lr * m_hat / (np.sqrt(v_hat) + eps / math.sqrt(1 - b2 ** t))
        expected.append(x)
    for got, want in zip(run(Adam(lr), X0, GRADIENTS), expected):
        np.testing.assert_allclose(got, want, rtol=1e-14, atol=0)


def test_adam_first_step_is_about_the_learning_rate():
    """Oracle: the paper's remark that |first step| ~ lr. With epsilon 0 it is exactly lr * sign(g).

    The betas are exact in float32 (7/8 and 1 - 2^-9), so Keras' float32 rounding changes nothing.
    """
    (x1,) = run(Adam(0.01, beta_1=0.875, beta_2=1 - 2.0 ** -9, epsilon=0.0), X0, GRADIENTS[:1])
    np.testing.assert_allclose(x1 - np.array(X0), -0.01 * np.sign(GRADIENTS[0]), rtol=1e-12)


def test_rmsprop_by_hand_plain_centred_and_with_momentum():
    """Oracle: RMSprop by hand, epsilon under the square root (Keras' placement)."""
    lr, rho, eps, beta = 0.001, 0.8, 1e-7, 0.9
    for centered, momentum in ((False, 0.0), (True, 0.0), (True, beta), (False, beta)):
        v = a = buf = np.zeros(3)
        x = np.array(X0)
        expected = []
        for g in map(np.array, GRADIENTS):
            v = rho * v + (1 - rho) * g ** 2
            a = rho * a + (1 - rho) * g
            step = lr * g / np.sqrt((v - a ** 2 if centered else v) + eps)
            buf = momentum * buf + step
            x = x - (buf if momentum else step)
            expected.append(x)
        got = run(RMSprop(lr, rho=rho, momentum=momentum, centered=centered), X0, GRADIENTS)
        np.testing.assert_allclose(got, expected, rtol=1e-14, err_msg=f"centered={centered} momentum={momentum}")


def test_sgd_by_hand_plain_momentum_nesterov_and_decay():
    """Oracle: the three SGD rules by hand; the staircase gamma_0 d^floor(t/T) by hand."""
    lr = 0.1
    np.testing.assert_allclose(run(SGD(lr), X0, GRADIENTS)[-1], np.array(X0) - lr * np.sum(GRADIENTS, axis=0),
                               rtol=1e-14)
    beta = float32_constant(0.9)
    for nesterov in (False, True):
        m, x = np.zeros(3), np.array(X0)
        for g in map(np.array, GRADIENTS):
            m = beta * m - lr * g
            x = x + (beta * m - lr * g if nesterov else m)
        got = run(SGD(lr, momentum=0.9, nesterov=nesterov), X0, GRADIENTS)[-1]
        np.testing.assert_allclose(got, x, rtol=1e-14)
    decayed = SGD(1.0, decay_rate=0.5, decay_steps=2)
    assert [decayed.learning_rate_at(t) for t in range(6)] == [1.0, 1.0, 0.5, 0.5, 0.25, 0.25]
    g = [[1.0, 0.0, 0.0]] * 5
    np.testing.assert_array_equal(run(decayed, X0, g)[-1][0], 1.0 - (1 + 1 + 0.5 + 0.5 + 0.25))


def test_optimiser_arguments_and_templates():
    """Oracle: the documented ValueError messages; make_optimizer copies an instance."""
    for bad in (dict(learning_rate=0.0), dict(learning_rate=float("nan")), dict(beta_1=1.0), dict(epsilon=-1.0),
                dict(decay_rate=-0.5), dict(decay_steps=0)):
        with pytest.raises(ValueError):
            Adam(**{"learning_rate": 0.01, **bad})
    with pytest.raises(ValueError, match="optimizer="):
        make_optimizer("adagrad")
    template = RMSprop(0.003, momentum=0.5)
    copy = make_optimizer(template, learning_rate=99.0)
    assert copy is not template and copy.get_config() == template.get_config()
    assert make_optimizer("ADAM", 0.2).learning_rate == 0.2


def low_rank_problem(seed=0, n_users=30, n_items=20, n_ratings=240):
    """Ratings of a rank-2 model plus noise (repeated pairs possible), and a held-out set."""
    rng = np.random.default_rng(seed)
    A, B = rng.normal(0, 1, (n_users, 2)), rng.normal(0, 1, (n_items, 2))
    users, items = rng.integers(0, n_users, n_ratings), rng.integers(0, n_items, n_ratings)
    values = 3.0 + np.einsum("nk,nk->n", A[users], B[items]) + rng.normal(0, 0.1, n_ratings)
    ratings = Ratings(users, items, values, n_users, n_items)
    cut = n_ratings * 4 // 5
    train, test = ratings.subset(np.arange(cut)), ratings.subset(np.arange(cut, n_ratings))
    return Factors.random(n_users, n_items, 3, mu=train.mean(), random_state=seed), train, test


def test_full_batch_sgd_step_is_the_literal_masked_gradient_step():
    """Oracle: dL/dP = -2 (M o E) Q, dL/dQ = -2 (M o E)^T P written out here. One step of SGD."""
    rng = np.random.default_rng(1)
    R = np.where(rng.random((6, 5)) < 0.5, rng.uniform(1, 5, (6, 5)), 0.0)
    ratings = Ratings.from_dense(R, missing=0.0)
    start = Factors.random(6, 5, 2, biased=False, init_std_dev=0.5, random_state=2)
    got, _ = funksvd.train(start, ratings, objective="tf_masked_2018", optimizer="sgd", learning_rate=0.05,
                           n_epochs=1)
    M = R != 0
    E = M * (R - start.P @ start.Q.T)
    np.testing.assert_allclose(got.P, start.P + 0.05 * 2 * E @ start.Q, rtol=1e-13)
    np.testing.assert_allclose(got.Q, start.Q + 0.05 * 2 * E.T @ start.P, rtol=1e-13)


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "rmsprop"])
def test_training_decreases_the_loss_and_records_it(optimizer):
    """Oracle: funksvd.loss of the start and of the result; rmse with the identity link."""
    start, train, test = low_rank_problem()
    factors, history = funksvd.train(start, train, objective="funk", optimizer=optimizer, learning_rate=0.01,
                                     n_epochs=30, validation=test)
    assert factors.dtype == np.float64 and factors.mu == start.mu
    assert [h["epoch"] for h in history] == list(range(1, 31))
    initial = funksvd.loss(start, train, "funk")
    assert history[-1]["loss"] < history[0]["loss"] < initial
    # the recorded loss is the objective at the returned factors, the same computation: exact
    assert history[-1]["loss"] == funksvd.loss(factors, train, "funk")
    assert history[-1]["val_rmse"] == pytest.approx(funksvd.rmse(factors, test), rel=1e-12)


def test_matrix_and_sparse_forms_train_the_same():
    """Oracle: the other form. A half-full matrix trains in the matrix form; forced sparse, the same factors."""
    rng = np.random.default_rng(4)
    R = np.where(rng.random((8, 6)) < 0.5, rng.uniform(1, 5, (8, 6)), 0.0)
    ratings = Ratings.from_dense(R, missing=0.0)
    objective = OBJECTIVES["keras_sigmoid_2019"].replace(rating_range=(1.0, 5.0), learn_mu=True)
    entries = objective.prepare(Factors.random(8, 6, 2), ratings)
    assert choose_form(entries) == "matrix"
    sparse_only = Entries.from_arrays(entries.users, entries.items, entries.values, entries.shape)
    assert choose_form(Entries.from_arrays([0, 0], [1, 1], [1.0, 2.0], (40, 40))) == "sparse"
    start = Factors.random(8, 6, 2, mu=0.5, random_state=0)
    trained, _ = funksvd.train(start, ratings, objective=objective, optimizer="adam", n_epochs=20)
    theta = {b: np.array(v) for b, v in start.params().items()} | {"mu": np.array(start.mu)}
    opt = Adam(0.01)
    for _ in range(20):
        current = Factors(theta["P"], theta["Q"], theta["bu"], theta["bi"], float(theta["mu"]))
        opt.apply(theta, objective.evaluate(current, sparse_only, 0.02, "sparse")[1])
    for block in ("P", "Q", "bu", "bi"):
        # the same sums in another order, 20 Adam steps: rounding only
        np.testing.assert_allclose(trained.params()[block], theta[block], rtol=1e-10, atol=1e-12)
    assert trained.mu == pytest.approx(float(theta["mu"]), rel=1e-12)


def test_batches_cover_every_entry_once_per_epoch():
    """Oracle: sorting. Each epoch's batches are a permutation cut into runs of batch_size."""
    rng = np.random.default_rng(0)
    batches = epoch_batches(23, 5, rng)
    assert [len(b) for b in batches] == [5, 5, 5, 5, 3]
    np.testing.assert_array_equal(np.sort(np.concatenate(batches)), np.arange(23))
    assert epoch_batches(23, None, rng) == [None]


def test_same_random_state_gives_identical_factors():
    """Oracle: bit equality (Factors.equals). The seed fixes the batch order; another seed changes it."""
    start, train, _ = low_rank_problem()
    kwargs = dict(n_epochs=3, batch_size=32, learning_rate=0.02)
    a, history_a = funksvd.train(start, train, random_state=7, **kwargs)
    b, history_b = funksvd.train(start, train, random_state=7, **kwargs)
    c, _ = funksvd.train(start, train, random_state=8, **kwargs)
    assert a.equals(b) and history_a[-1]["loss"] == history_b[-1]["loss"]
    assert not a.equals(c)


def test_callback_sees_each_epoch_and_can_stop():
    """Oracle: the returned factors and history. Returning a true value after epoch 3 stops there."""
    start, train, _ = low_rank_problem()
    calls = []

    def callback(epoch, loss, get_factors):
        calls.append((epoch, loss, get_factors()))
        return np.bool_(epoch == 3)

    factors, history = funksvd.train(start, train, n_epochs=10, callback=callback)
    assert [c[0] for c in calls] == [1, 2, 3] and len(history) == 3
    assert [c[1] for c in calls] == [h["loss"] for h in history]
    assert calls[-1][2].equals(factors)
    assert not calls[0][2].equals(calls[1][2])  # snapshots, not views of the training arrays


@pytest.mark.parametrize("batch_size", [None, 16])
def test_divergence_raises_and_never_returns_nan(batch_size):
    """Oracle: DivergenceError's contract. A huge learning rate names the epoch and suggests a fix."""
    start, train, _ = low_rank_problem()
    seen = []
    with pytest.raises(DivergenceError, match=r"epoch \d+.*smaller learning_rate"):
        funksvd.train(start, train, optimizer="sgd", learning_rate=1e3, n_epochs=50, batch_size=batch_size,
                      callback=lambda epoch, loss, get: seen.append(get()))
    assert all(np.isfinite(f.P).all() and np.isfinite(f.Q).all() for f in seen)


def test_float32_start_and_unbiased_model():
    """Oracle: the returned dtype and blocks; the float64 copy trains to the same factors."""
    start, train, _ = low_rank_problem()
    f32 = Factors(start.P.astype(np.float32), start.Q.astype(np.float32), mu=start.mu)
    f64 = Factors(f32.P.astype(np.float64), f32.Q.astype(np.float64), mu=start.mu)
    a, _ = funksvd.train(f32, train, n_epochs=3)
    b, _ = funksvd.train(f64, train, n_epochs=3)
    assert a.dtype == np.float64 and not a.biased and a.equals(b)


def test_bad_arguments_raise():
    """Oracle: the documented TypeError / ValueError naming the argument."""
    start, train, _ = low_rank_problem()
    for kwargs, error, match in (
        (dict(n_epochs=0), ValueError, "n_epochs"),
        (dict(batch_size=0), ValueError, "batch_size"),
        (dict(validation="x"), TypeError, "validation"),
        (dict(validation=Ratings([0], [0], [1.0], 2, 2)), ValueError, "validation"),
        (dict(callback=3), TypeError, "callback"),
        (dict(optimizer="adagrad"), ValueError, "optimizer"),
        (dict(objective="mse"), ValueError, "unknown objective"),
    ):
        with pytest.raises(error, match=match):
            funksvd.train(start, train, **kwargs)
    with pytest.raises(TypeError, match="ratings"):
        funksvd.train(start, train.values)


def test_prepared_entries_are_cached_per_ratings_object(monkeypatch):
    """Oracle: object identity, and a count of the duplicate checks. The matrix form reuses the Entries of
    the same Ratings (one duplicate check for many calls); an equal but new Ratings builds its own;
    the sparse form and plain prepare() keep nothing."""
    start, train, _ = low_rank_problem()
    objective = OBJECTIVES["tf_masked_2018"]
    ratings = Ratings.from_dense(np.where(np.eye(4) > 0, 0.5, 0.0), missing=0.0)
    factors = Factors.random(4, 4, 2)
    checks = []
    to_dense = Ratings.to_dense
    monkeypatch.setattr(Ratings, "to_dense", lambda self, *a, **k: checks.append(1) or to_dense(self, *a, **k))
    first = objective.prepare(factors, ratings, cache=True)
    assert objective.prepare(factors, ratings, cache=True) is first
    assert objective.prepare(factors, ratings) is first  # found in the cache
    for _ in range(3):
        objective.gradients(factors, ratings, form="matrix")
    assert len(checks) == 1
    twin = Ratings(ratings.users, ratings.items, ratings.values, 4, 4)
    assert objective.prepare(factors, twin, cache=True) is not first
    sparse = funksvd.maths.objectives.RULE_OBJECTIVES["funk"]
    assert sparse.prepare(start, train) is not sparse.prepare(start, train)


def test_no_dense_matrix_outlives_its_ratings():
    """Oracle: ``weakref`` to the cached dense matrix and to the ratings; after ``del`` (no gc.collect:
    plain reference counting, so no cycle holds them) both are gone."""
    import weakref

    objective = OBJECTIVES["tf_masked_2018"]
    ratings = Ratings.from_dense(np.where(np.eye(5) > 0, 0.5, 0.0), missing=0.0)
    factors = Factors.random(5, 5, 2, random_state=0)
    objective.gradients(factors, ratings, form="matrix")
    entries = objective.prepare(factors, ratings)  # the cached entries the matrix form kept
    dense, alive = weakref.ref(entries.dense()[0]), weakref.ref(ratings)
    del ratings, entries
    assert alive() is None and dense() is None


def test_a_new_ratings_at_a_dead_ones_id_gets_its_own_entries(monkeypatch):
    """A cache keyed by ``id(ratings)`` alone would hand a new object the entries of a dead one at the same id.

    CPython reuses the address of a freed object, but when is the allocator's business; so the test
    makes it certain: ``id`` in :mod:`funksvd.maths.entries` answers 0 for every object, as if each
    new ``Ratings`` took the address of the last. Oracle: the new object's own values (all 7.0) in
    the dense matrix of the entries prepared for it.
    """
    import funksvd.maths.entries

    monkeypatch.setattr(funksvd.maths.entries, "id", lambda obj: 0, raising=False)
    objective = OBJECTIVES["tf_masked_2018"]
    factors = Factors.random(3, 3, 2, random_state=0)
    old = Ratings.from_dense(np.eye(3), missing=0.0)
    objective.gradients(factors, old, form="matrix")
    del old
    new = Ratings([0, 1, 2], [0, 1, 2], [7.0, 7.0, 7.0], 3, 3)
    entries = objective.prepare(factors, new, cache=True)
    np.testing.assert_array_equal(entries.dense()[0], 7.0 * np.eye(3))
