"""The hand-gradient trainer (funksvd.train) against its GradientTape twin (funksvd.autodiff.train), step by step.

Oracle: TensorFlow autodiff with Keras 3's own optimisers. From the same start, 100 full-batch
steps of every named objective with every optimiser must land on the same factors.

Tolerance 1e-9 (absolute, on factors of order 1): both sides evaluate the same float64 formulas
with sums in a different order, so each step differs by rounding (~1e-16 relative) and 100
steps amplify that by at most the trajectory's sensitivity; measured differences are below
1e-14. A wrong constant in an optimiser (epsilon inside instead of outside the square root,
no bias correction, beta rounded differently) moves the first step by 1e-6 or more.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("tensorflow")

import funksvd  # noqa: E402
from funksvd import OBJECTIVES, Factors, Ratings, autodiff  # noqa: E402
from funksvd.fullbatch import optimizers  # noqa: E402
from funksvd.maths.objectives import RULE_OBJECTIVES, as_objective  # noqa: E402

NAMED = list(RULE_OBJECTIVES) + list(OBJECTIVES)
N_STEPS = 100
TOLERANCE = 1e-9  # see the module docstring


def problem(objective, biased=True):
    """9 users x 7 items, about 60% observed, each cell once; values in [0, 1] for a sigmoid link."""
    rng = np.random.default_rng(0)
    R = np.where(rng.random((9, 7)) < 0.6, rng.integers(1, 6, (9, 7)).astype(float), 0.0)
    ratings = Ratings.from_dense(R, missing=0)
    if as_objective(objective).link == "sigmoid":
        ratings = Ratings(ratings.users, ratings.items, ratings.values / 5.0, *ratings.shape)
    start = Factors.random(9, 7, 3, biased=biased, mu=ratings.mean(), init_std_dev=0.3, random_state=1)
    return start, ratings


def max_difference(a: Factors, b: Factors) -> float:
    assert a.blocks == b.blocks
    return max([float(np.abs(a.params()[k] - b.params()[k]).max()) for k in a.blocks] + [abs(a.mu - b.mu)])


def assert_same_trajectory(start, ratings, tape_form="auto", **kwargs):
    hand, hand_history = funksvd.train(start, ratings, **kwargs)
    tape, tape_history = autodiff.train(start, ratings, form=tape_form, **kwargs)
    assert len(hand_history) == len(tape_history) == kwargs["n_epochs"]
    assert max_difference(hand, tape) <= TOLERANCE
    np.testing.assert_allclose([h["loss"] for h in hand_history], [h["loss"] for h in tape_history],
                               rtol=1e-9)
    return hand, tape


@pytest.mark.parametrize("tape_form", ["sparse", "matrix"])
@pytest.mark.parametrize("optimizer,learning_rate", [("sgd", 0.01), ("adam", 0.01), ("rmsprop", 0.001)])
@pytest.mark.parametrize("name", NAMED)
def test_hundred_steps_agree_with_the_tape_and_keras(name, optimizer, learning_rate, tape_form):
    """Oracle: autodiff.train (tape gradients, Keras SGD/Adam/RMSprop) in its gather ("sparse") and its masked
    ("matrix") formulation, each against funksvd.train in its own choice of form. 100 full-batch steps, <= 1e-9."""
    start, ratings = problem(name)
    hand, _ = assert_same_trajectory(start, ratings, tape_form=tape_form, objective=name, reg=0.05,
                                     optimizer=optimizer, learning_rate=learning_rate, n_epochs=N_STEPS)
    assert max_difference(hand, start) > 1e-3  # the trajectory really moved


@pytest.mark.parametrize("optimizer", [
    optimizers.SGD(0.005, momentum=0.9),
    optimizers.SGD(0.005, momentum=0.9, nesterov=True),
    optimizers.Adam(0.02, beta_1=0.8, beta_2=0.99, epsilon=1e-3, decay_rate=0.5, decay_steps=30),
    optimizers.RMSprop(0.001, rho=0.8, momentum=0.9, centered=True),
    optimizers.RMSprop(0.001, momentum=0.9, decay_rate=0.9, decay_steps=7),
], ids=repr)
@pytest.mark.parametrize("name", ["funk", "keras_sigmoid_2019"])
def test_every_optimiser_setting_agrees_with_keras(name, optimizer):
    """Oracle: the Keras optimiser of the same class and settings (autodiff.make_optimizer). Momentum,
    Nesterov, centring, non-default betas/epsilon and the staircase decay: 100 steps, <= 1e-9."""
    start, ratings = problem(name)
    assert_same_trajectory(start, ratings, objective=name, reg=0.05, optimizer=optimizer, n_epochs=N_STEPS)
    assert optimizer.iterations == 0 and not optimizer.state  # a template, never used itself


def test_the_keras_2019_model_with_a_trained_global_bias():
    """Oracle: the tape, with mu a tf.Variable. The Keras 2019 model (sigmoid, dense MSE, trainable bg,
    RMSprop 1e-3 with momentum 0.9): 100 steps agree, and mu moved."""
    objective = OBJECTIVES["keras_sigmoid_2019"].replace(learn_mu=True)
    start, ratings = problem(objective)
    hand, _ = assert_same_trajectory(start, ratings, objective=objective, reg=0.0,
                                     optimizer=optimizers.RMSprop(1e-3, momentum=0.9), n_epochs=N_STEPS)
    assert abs(hand.mu - start.mu) > 1e-3


@pytest.mark.parametrize("name", ["funk", "keras_sigmoid_2019"])
def test_mini_batches_are_the_same_batches(name):
    """Oracle: autodiff.train with the same random_state. Shuffled batches of 8 (the last shorter), 5 epochs:
    the same batches in the same order, so the same factors; another seed gives other factors."""
    start, ratings = problem(name)
    kwargs = dict(objective=name, reg=0.05, optimizer="adam", learning_rate=0.01, n_epochs=5, batch_size=8)
    hand, _ = assert_same_trajectory(start, ratings, random_state=3, **kwargs)
    other, _ = funksvd.train(start, ratings, random_state=4, **kwargs)
    assert max_difference(hand, other) > 1e-6


def test_unbiased_model_and_validation_rmse_agree():
    """Oracle: autodiff.train. An unbiased model stays unbiased; the validation RMSEs (sigmoid link) agree."""
    start, ratings = problem("keras_sigmoid_2019", biased=False)
    validation = ratings.subset(np.arange(5))
    hand, hand_history = funksvd.train(start, ratings, objective="keras_sigmoid_2019", optimizer="adam",
                                       n_epochs=10, validation=validation)
    tape, tape_history = autodiff.train(start, ratings, objective="keras_sigmoid_2019", optimizer="adam",
                                        n_epochs=10, validation=validation)
    assert not hand.biased and max_difference(hand, tape) <= TOLERANCE
    np.testing.assert_allclose([h["val_rmse"] for h in hand_history], [h["val_rmse"] for h in tape_history],
                               rtol=1e-9)


def test_harmonic_experiment_on_hand_gradients_equals_the_tape():
    """Oracle: autodiff.harmonic_experiment (masked formulation, Keras Adam). Reduced size (n=60, k=4):
    the same steps, the same stop, the same validation MSE; the same generating U and V."""
    kwargs = dict(n=60, k=4, random_state=0, max_steps=600, check_every=100, window=2, tolerance=0.05)
    hand = funksvd.classics.harmonic_experiment(**kwargs)
    tape = autodiff.harmonic_experiment(**kwargs)
    assert hand["steps"] == tape["steps"]
    np.testing.assert_array_equal(hand["U"], tape["U"])
    np.testing.assert_array_equal(hand["V"], tape["V"])
    # the same Adam steps from the same start, sums in another order: rounding only
    for key in ("val_mse", "train_mse", "full_mse"):
        assert hand[key] == pytest.approx(tape[key], rel=1e-9)
    np.testing.assert_allclose(hand["checks"], tape["checks"], rtol=1e-9)


def test_the_two_trainers_share_one_signature():
    """Oracle: inspect.signature of the twin. Same parameters, kinds and defaults."""
    import inspect

    assert inspect.signature(funksvd.train) == inspect.signature(autodiff.train)


def records(history, keys=("epoch", "loss", "val_rmse", "val_mse", "val_loss")):
    return [[h[key] for key in keys] for h in history]


@pytest.mark.parametrize("tape_form", ["sparse", "matrix"])
@pytest.mark.parametrize("options", [
    dict(log_every=7, record_start=True, n_epochs=60),
    dict(monitor="val_loss", log_every=5, n_epochs=60),
    dict(patience=3, min_improvement=1e-3, n_epochs=400, learning_rate=0.1),
    dict(monitor="val_mse", log_every=10, plateau=(3, 0.01), n_epochs=600),
], ids=["log_every", "val_loss", "patience", "plateau"])
def test_recording_and_stopping_agree_with_the_twin(options, tape_form):
    """Oracle: autodiff.train, whose validation MSE and loss are TF ops. The same records (epochs, losses,
    validation figures to 1e-9 relative) and the same stop."""
    start, ratings = problem("funk")
    validation = ratings.subset(np.arange(0, len(ratings), 4))
    train = ratings.subset(np.setdiff1d(np.arange(len(ratings)), np.arange(0, len(ratings), 4)))
    kwargs = dict(dict(objective="funk", reg=0.05, optimizer="adam", learning_rate=0.02), **options)
    hand, hand_history = funksvd.train(start, train, validation=validation, **kwargs)
    tape, tape_history = autodiff.train(start, train, validation=validation, form=tape_form, **kwargs)
    assert [h["epoch"] for h in hand_history] == [h["epoch"] for h in tape_history]
    if options.get("patience") or options.get("plateau"):
        assert hand_history[-1]["epoch"] < options["n_epochs"]  # the rule really stopped the run
    for got, expected in zip(records(tape_history), records(hand_history)):
        np.testing.assert_allclose(np.array(got, dtype=float), np.array(expected, dtype=float), rtol=1e-9)
    assert max_difference(hand, tape) <= TOLERANCE


def test_the_matrix_formulation_refuses_a_repeated_pair():
    """Oracle: a literal repeated pair (user 0, item 1); "auto" falls back to the gather formulation."""
    ratings = Ratings([0, 0, 1], [1, 1, 0], [1.0, 2.0, 3.0], 2, 2)
    start = Factors.random(2, 2, 1, random_state=0)
    with pytest.raises(ValueError, match="repeats the pair"):
        autodiff.train(start, ratings, form="matrix", n_epochs=1)
    assert autodiff.trainer.choose_form(as_objective("funk"), start, ratings) == "sparse"
    hand, _ = funksvd.train(start, ratings, n_epochs=5)
    tape, _ = autodiff.train(start, ratings, n_epochs=5)
    assert max_difference(hand, tape) <= TOLERANCE


def test_the_harmonic_problem_trains_alike_in_both_formulations():
    """Oracle: funksvd.train on the hand gradients. The 2021 problem (n=60, k=4, Ratings.from_dense with the
    training mask): 300 Adam steps of autodiff.train, masked and gathered, land on the hand trajectory."""
    problem_ = funksvd.classics.harmonic_problem(60, 4, 0)
    ratings = Ratings.from_dense(problem_["M"], mask=problem_["train"])
    kwargs = dict(objective="tf2_mse_2021", reg=0.0, optimizer="adam", learning_rate=0.01, n_epochs=300)
    hand, _ = funksvd.train(problem_["start"], ratings, **kwargs)
    for form in ("matrix", "sparse"):
        tape, _ = autodiff.train(problem_["start"], ratings, form=form, **kwargs)
        assert max_difference(hand, tape) <= TOLERANCE
