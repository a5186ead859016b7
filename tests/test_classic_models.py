"""What the classic formulations need: start distributions, link-aware metrics, given start values, the 2021 protocol.

Oracles: the distributions' stated supports and moments (statistical bounds, explained per
test); a literal logistic function; the quuxlabs listing run by hand with sgd_epoch; the
harmonic matrix's definition; the tutorial's stopping rule evaluated by hand.
"""

from __future__ import annotations

import numpy as np
import pytest

import funksvd
from funksvd import OBJECTIVES, Factors, Ratings
from funksvd.classics import harmonic_experiment, harmonic_problem, plateau, quuxlabs_ratings, run_quuxlabs_article
from funksvd.sgd import sgd_epoch

N = 400  # rows: 400 x 25 = 10,000 draws per matrix


@pytest.mark.parametrize("init", ["normal", "truncated_normal", "uniform", "glorot"])
def test_start_distributions(init):
    """Oracle: each distribution's support and moments.

    10,000 draws: the sample mean is within 5 standard errors (sd / 100) of the true mean and
    the sample sd within 5% of the true sd (its standard error is about sd / 141). Truncation at
    2 sd leaves an sd of 0.8796 sd (the truncated normal's variance 1 - 2*2*phi(2)/(2*Phi(2)-1)).
    """
    F = Factors.random(N, 30, 25, init=init, init_mean=1.0, init_std_dev=0.5, init_range=(-1.0, 3.0),
                       random_state=0)
    assert F.bu.tolist() == [0.0] * N and F.P.shape == (N, 25) and F.Q.shape == (30, 25)
    P = F.P.ravel()
    if init == "normal":
        mean, sd = 1.0, 0.5
    elif init == "truncated_normal":
        assert np.abs(P - 1.0).max() <= 2 * 0.5
        mean, sd = 1.0, 0.5 * 0.8796
    elif init == "uniform":
        assert -1.0 <= P.min() and P.max() < 3.0
        mean, sd = 1.0, 4.0 / np.sqrt(12)
    else:
        limit_P, limit_Q = np.sqrt(6 / (N + 25)), np.sqrt(6 / (30 + 25))
        assert np.abs(P).max() <= limit_P and np.abs(F.Q).max() <= limit_Q
        assert np.abs(F.Q).max() > 0.9 * limit_Q  # the limit is per matrix: Q's is wider
        mean, sd = 0.0, limit_P / np.sqrt(3)
    assert abs(P.mean() - mean) < 5 * sd / 100
    assert abs(P.std() - sd) < 0.05 * sd
    again = Factors.random(N, 30, 25, init=init, init_mean=1.0, init_std_dev=0.5, init_range=(-1.0, 3.0),
                           random_state=0)
    assert F.equals(again)


def test_start_distribution_errors():
    """Oracle: the documented ValueError messages."""
    with pytest.raises(ValueError, match="init="):
        Factors.random(2, 2, 1, init="xavier")
    with pytest.raises(ValueError, match="init_range"):
        Factors.random(2, 2, 1, init="uniform", init_range=(1.0, 1.0))


def test_metrics_honour_the_link():
    """Oracle: the logistic function written out. rmse/mae of a sigmoid model use h(z), not z."""
    factors = Factors([[0.5, -1.0], [2.0, 0.1]], [[1.0, 0.3], [-0.4, 0.8]], mu=0.2)
    ratings = Ratings([0, 1, 1], [0, 0, 1], [0.9, 0.4, 0.2], 2, 2)
    z = factors.predict(ratings.users, ratings.items)
    e = ratings.values - 1.0 / (1.0 + np.exp(-z))  # keras_sigmoid_2019's range is (0, 1)
    assert funksvd.rmse(factors, ratings, objective="keras_sigmoid_2019") == pytest.approx(np.sqrt(np.mean(e * e)),
                                                                                          rel=1e-14)
    assert funksvd.mae(factors, ratings, objective=OBJECTIVES["keras_sigmoid_2019"]) == pytest.approx(
        np.mean(np.abs(e)), rel=1e-14)
    raw = ratings.values - z
    assert funksvd.rmse(factors, ratings) == pytest.approx(np.sqrt(np.mean(raw * raw)), rel=1e-14)


def test_quuxlabs_run_from_given_start_values():
    """Oracle: the listing's loop written out with sgd_epoch and the same shuffles. The start is used as given."""
    ratings = quuxlabs_ratings()
    start = Factors.random(5, 4, 2, mu=ratings.mean(), init_std_dev=0.5, random_state=11)
    factors, errors = run_quuxlabs_article(iterations=5, random_state=3, init=start)
    rng = np.random.default_rng(3)
    expected = start
    for _ in range(5):
        expected = sgd_epoch(expected, ratings, "quuxlabs_listing", lr=0.1, reg=0.01,
                             order=rng.permutation(len(ratings)))
    assert factors.equals(expected)
    e = ratings.values - expected.predict(ratings.users, ratings.items)
    assert errors[-1] == np.sqrt(np.sum(e * e))
    with pytest.raises(ValueError, match="K=3"):
        run_quuxlabs_article(K=3, init=start)
    with pytest.raises(TypeError, match="init"):
        run_quuxlabs_article(init=start.P)


def test_harmonic_problem_is_the_tutorials_matrix():
    """Oracle: M = sum_j u_j v_j^T / (j + 1), written as a loop; about 1 - e^-0.7 of the cells kept."""
    problem = harmonic_problem(n=40, k=3, random_state=5)
    U, V = problem["U"], problem["V"]
    M = sum(np.outer(U[:, j], V[:, j]) / (j + 1) for j in range(40))
    np.testing.assert_allclose(problem["M"], M, rtol=1e-12, atol=1e-12)
    # 1120 draws of 1600 cells: the kept fraction is 1 - e^-0.7 = 0.503 within a few percent
    assert abs(problem["train"].mean() - (1 - np.exp(-0.7))) < 0.05
    assert problem["start"].n_factors == 3 and not problem["start"].biased


def test_plateau_is_the_tutorials_rule():
    """Oracle: the rule by hand: mean of the previous `window` checks minus the last < tolerance x that mean."""
    assert not plateau([5.0, 4.0, 3.0], window=3)  # needs window + 1 checks
    assert not plateau([1.0, 1.0, 1.0, 0.9], window=3, tolerance=0.05)  # 1 - 0.9 = 0.1 >= 0.05
    assert plateau([1.0, 1.0, 1.0, 0.99], window=3, tolerance=0.05)  # 0.01 < 0.05
    assert plateau([9.0, 1.0, 1.0, 1.0, 0.99], window=3, tolerance=0.05)  # only the last window counts


def test_harmonic_experiment_stops_on_validation_and_returns_the_generators():
    """Oracle: the recorded checks are the validation MSE of the factors at each check (recomputed here),
    the stop is the plateau rule, and the returned U, V are the problem's. Plain GD fits less in as many steps."""
    kwargs = dict(n=40, k=3, random_state=1, max_steps=3000, check_every=100, window=3, tolerance=0.02)
    adam = harmonic_experiment(**kwargs)
    problem = harmonic_problem(40, 3, 1)
    np.testing.assert_array_equal(adam["U"], problem["U"])
    np.testing.assert_array_equal(adam["V"], problem["V"])
    assert adam["steps"] % 100 == 0 and len(adam["checks"]) == adam["steps"] // 100
    assert adam["steps"] == 3000 or plateau(adam["checks"], 3, 0.02)
    assert not any(plateau(adam["checks"][:j], 3, 0.02) for j in range(1, len(adam["checks"])))
    assert adam["checks"][-1] == pytest.approx(adam["val_mse"], rel=1e-12)
    gd = harmonic_experiment(optimizer="sgd", learning_rate=0.001, **kwargs)
    assert gd["train_mse"] > adam["train_mse"]
    with pytest.raises(ValueError, match="monitor"):
        harmonic_experiment(n=10, k=2, monitor="test")
