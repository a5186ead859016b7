"""Full-batch objectives: hand gradients against finite differences, forms against each other, hand-computed losses.

Oracles: central finite differences (funksvd.check.finite_differences: exact along each axis for the
quadratic losses, Richardson-extrapolated for the sigmoid link, kink-aware for |.|); the matrix
form with a mask against the sparse scatter form; sums of per-sample gradients; losses computed
by hand on 2x2 examples.
"""

from __future__ import annotations

import numpy as np
import pytest

import funksvd
from funksvd import OBJECTIVES, RULES, Factors, Objective, Ratings
from funksvd.maths.objectives import DATA_TERMS, ENTRIES, LINKS, PENALTIES, REDUCTIONS
from tests.strategies import ALL_OBJECTIVES, GRID_OBJECTIVES
from tests.helpers import assert_matches_finite_differences, random_problem, single

GRID = GRID_OBJECTIVES
ALL = ALL_OBJECTIVES


def _ids(objectives):
    return [str(o) for o in objectives]


@pytest.mark.parametrize("biased", [True, False], ids=["biased", "unbiased"])
@pytest.mark.parametrize("objective", ALL, ids=_ids(ALL))
def test_gradient_matches_finite_differences(objective, biased, rng):
    """Oracle: central finite differences of Objective.loss."""
    factors, ratings = random_problem(rng, biased=biased, duplicates=objective.entries == "observed")
    reg = {"P": 0.1, "Q": 0.2, "bu": 0.3, "bi": 0.05}
    assert_matches_finite_differences(objective, factors, ratings, reg)


@pytest.mark.parametrize("biased", [True, False], ids=["biased", "unbiased"])
@pytest.mark.parametrize("objective", ALL, ids=_ids(ALL))
def test_matrix_form_equals_sparse_form(objective, biased, rng):
    """Oracle: the masked dense-matrix form (dL/dP = G Q, ...) against the sparse scatter form.

    Tolerance 1e-12 relative: the same sums in a different order.
    """
    factors, ratings = random_problem(rng, biased=biased, duplicates=False)
    reg = 0.07
    assert objective.loss(factors, ratings, reg, form="matrix") == pytest.approx(
        objective.loss(factors, ratings, reg), rel=1e-12)
    dense = objective.gradients(factors, ratings, reg, form="matrix")
    sparse = objective.gradients(factors, ratings, reg)
    for block in factors.blocks:
        np.testing.assert_allclose(dense[block], sparse[block], rtol=1e-12, atol=1e-14)


def test_masked_squared_matrix_gradient_is_minus_two_ME_Q(rng):
    """dL/dP = -2 (M o E) Q for sum (R - P Q^T)^2 over observed entries (oracle: that literal formula)."""
    factors, ratings = random_problem(rng, biased=False, duplicates=False)
    R, M = ratings.to_dense(missing=0.0), ratings.mask()
    E = M * (R - factors.P @ factors.Q.T)
    grads = OBJECTIVES["tf_masked_2018"].gradients(factors, ratings)
    np.testing.assert_allclose(grads["P"], -2 * E @ factors.Q, rtol=1e-12)
    np.testing.assert_allclose(grads["Q"], -2 * E.T @ factors.P, rtol=1e-12)


@pytest.mark.parametrize("rule", sorted(RULES))
def test_full_batch_gradient_is_sum_of_per_rating_gradients(rule, rng):
    """Oracle: the sum over ratings of the single-rating gradients (duplicates included).

    Tolerance 1e-12 relative: a sum of a dozen float64 terms in another order.
    """
    objective = RULES[rule].objective
    factors, ratings = random_problem(rng, biased=True, duplicates=True)
    total = objective.gradients(factors, ratings, 0.1)
    parts = [objective.gradients(factors, single(ratings, j), 0.1) for j in range(len(ratings))]
    for block in factors.blocks:
        np.testing.assert_allclose(total[block], sum(p[block] for p in parts), rtol=1e-12, atol=1e-14)
    assert objective.loss(factors, ratings, 0.1) == pytest.approx(
        sum(objective.loss(factors, single(ratings, j), 0.1) for j in range(len(ratings))), rel=1e-12)


# 2 users x 2 items, one missing cell: R = [[4, .], [2, 5]], P = [[1], [2]], Q = [[1], [0.5]],
# no biases, mu = 0, so R_hat = [[1, 0.5], [2, 1]] and the observed errors are 3, 0, 4.
HAND_FACTORS = Factors([[1.0], [2.0]], [[1.0], [0.5]])
HAND_RATINGS = Ratings([0, 1, 1], [0, 0, 1], [4.0, 2.0, 5.0], 2, 2)


@pytest.mark.parametrize(
    "objective, reg, expected",
    [
        # 9 + 0 + 16
        (OBJECTIVES["tf_masked_2018"], 0.0, 25.0),
        # 25 / 3 observed entries
        (OBJECTIVES["tf2_mse_2021"], 0.0, 25.0 / 3.0),
        # |3| + |0| + |4| + 0.1 (|1| + |2| + |1| + |0.5|)
        (OBJECTIVES["tf1_l1_2016"], 0.1, 7.0 + 0.45),
        # dense: the missing cell (0, 1) enters as 0 with error -0.5: (25 + 0.25) / 4
        (Objective(reduction="mean", entries="dense", penalty="none"), 0.0, 25.25 / 4.0),
        # funk: 1/2 * 25 + 0.1/2 * sum over ratings of (p_u^2 + q_i^2) = 12.5 + 0.05 (2 + 5 + 4.25)
        (RULES["funk"].objective, 0.1, 12.5 + 0.05 * 11.25),
        # frobenius, weight 1/2: 25 + 0.1/2 (1 + 4 + 1 + 0.25)
        (OBJECTIVES["quuxlabs_frobenius"], 0.1, 25.0 + 0.05 * 6.25),
        # per-rating penalty under "mean" is divided too: (25 + 0.1 * 0.5 * 11.25) / 3
        (Objective(reduction="mean"), 0.1, (25.0 + 0.05 * 11.25) / 3.0),
    ],
    ids=["masked", "mean", "l1", "dense-mean", "funk", "frobenius", "mean-per-rating"],
)
def test_loss_matches_hand_computation(objective, reg, expected):
    """Oracle: the hand computation in each case's comment."""
    assert objective.loss(HAND_FACTORS, HAND_RATINGS, reg) == pytest.approx(expected, rel=1e-14)


def test_sigmoid_link_matches_hand_computation():
    """Oracle: by hand, sigma(0) = 1/2 maps to the middle of the range (1 + 4 * 1/2 = 3)."""
    factors = Factors([[0.0]], [[0.0]])
    ratings = Ratings([0], [0], [5.0])
    objective = Objective(link="sigmoid", penalty="none")
    assert objective.loss(factors, ratings) == pytest.approx(4.0)  # (5 - 3)^2
    # dL/dz = -2 e h'(0) = -2 * 2 * (4 * 1/4) = -4, and dL/dp = dL/dz * q = 0, dL/dq likewise
    grads = Objective(link="sigmoid", penalty="none").gradients(factors.replace(Q=[[1.0]]), ratings)
    assert grads["P"][0, 0] == pytest.approx(-4.0, rel=1e-14)


def test_names_resolve_to_their_losses():
    """funksvd.loss and funksvd.gradients by name, against literal hand computations on HAND_*.

    Oracle: by hand. Observed errors e = 3, 0, 4 at (0, 0), (1, 0), (1, 1) (see HAND_FACTORS).
    "funk": 1/2 sum e^2 + 0.1/2 sum over ratings (p_u^2 + q_i^2) = 12.5 + 0.05 (2 + 5 + 4.25) = 13.0625;
    "quuxlabs" (e^2 + beta/2 (|p|^2 + |q|^2) per rating) = 25 + 0.05 * 11.25 = 25.5625;
    "tf_masked_2018" (sum e^2): dL/dP = -2 sum_i e q_i = (-2 * 3 * 1, -2 * (0 * 1 + 4 * 0.5)) = (-6, -4)
    and dL/dQ = -2 sum_u e p_u = (-2 * (3 * 1 + 0 * 2), -2 * 4 * 2) = (-6, -16).
    """
    assert funksvd.loss(HAND_FACTORS, HAND_RATINGS, "funk", reg=0.1) == pytest.approx(13.0625, rel=1e-14)
    assert funksvd.loss(HAND_FACTORS, HAND_RATINGS, "quuxlabs", reg=0.1) == pytest.approx(25.5625, rel=1e-14)
    g = funksvd.gradients(HAND_FACTORS, HAND_RATINGS, "tf_masked_2018")
    assert set(g) == {"P", "Q"}
    np.testing.assert_allclose(g["P"], [[-6.0], [-4.0]], rtol=1e-14)
    np.testing.assert_allclose(g["Q"], [[-6.0], [-16.0]], rtol=1e-14)


def test_surprise_documented_loss_is_twice_the_funk_loss(rng):
    """Surprise documents sum e^2 + lambda(...); its SGD descends half of it (oracle: factor 2 exactly)."""
    factors, ratings = random_problem(rng)
    assert OBJECTIVES["surprise_documented"].loss(factors, ratings, 0.02) == pytest.approx(
        2 * RULES["funk"].objective.loss(factors, ratings, 0.02), rel=1e-13)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"data": "huber"}, "data="),
        ({"reduction": "median"}, "reduction="),
        ({"entries": "all"}, "entries="),
        ({"penalty": "l2"}, "penalty="),
        ({"link": "tanh"}, "link="),
        ({"rating_range": (5, 1)}, "rating_range"),
    ],
)
def test_objective_rejects_unknown_options(kwargs, message):
    """Oracle: the documented ValueError naming the option."""
    with pytest.raises(ValueError, match=message):
        Objective(**kwargs)


def test_objective_bad_calls():
    """Mismatched shapes, unknown names and forms raise ValueError (oracle: the messages)."""
    with pytest.raises(ValueError, match="ratings are 2 users x 2 items"):
        OBJECTIVES["tf_masked_2018"].loss(Factors([[1.0]], [[1.0]]), HAND_RATINGS)
    with pytest.raises(ValueError, match="unknown objective"):
        funksvd.loss(HAND_FACTORS, HAND_RATINGS, "mse")
    with pytest.raises(ValueError, match="form="):
        OBJECTIVES["tf_masked_2018"].loss(HAND_FACTORS, HAND_RATINGS, form="tensor")
    with pytest.raises(ValueError, match="repeats the pair"):
        Objective(entries="dense").loss(HAND_FACTORS, Ratings([0, 0], [1, 1], [1.0, 2.0], 2, 2))


def test_every_option_is_in_the_grid():
    """The finite-difference grid covers every option value (oracle: the option tuples)."""
    for field, values in (("data", DATA_TERMS), ("reduction", REDUCTIONS), ("entries", ENTRIES),
                          ("penalty", PENALTIES), ("link", LINKS)):
        assert {getattr(o, field) for o in GRID} == set(values)


# ---- a trainable global bias (issue 9) ---------------------------------------------------------


def mu_by_finite_differences(objective, factors, ratings, reg, form):
    """Central difference of L in mu, with the step (and Richardson) the objective calls for.

    Returns (derivative, rounding noise estimate) as funksvd.check.finite_differences does per block.
    """
    from funksvd.check.finite_differences import EPS, fd_settings

    h, richardson = fd_settings(objective)

    def central(step):
        values = [objective.loss(factors.replace(mu=factors.mu + s * step), ratings, reg, form=form) for s in (1, -1)]
        return (values[0] - values[1]) / (2 * step), max(map(abs, values))

    d, largest = central(h)
    if richardson:
        d_half, largest_half = central(h / 2)
        d, largest = (4 * d_half - d) / 3, 3 * max(largest, 2 * largest_half)
    return d, 8 * EPS * max(largest, 1.0) / h


@pytest.mark.parametrize("form", ["sparse", "matrix"])
@pytest.mark.parametrize("biased", [True, False], ids=["biased", "unbiased"])
@pytest.mark.parametrize("objective", ALL, ids=_ids(ALL))
def test_mu_gradient_matches_finite_differences(objective, biased, form, rng):
    """Oracle: central finite differences of Objective.loss in mu (exact for the quadratic losses).

    Tolerance as tests/helpers.py: 1e-9 relative plus the differences' own rounding estimate.
    The absolute loss is piecewise linear in mu: its kinks are where some e_ui = 0, so the
    stencil is checked to cross none (random values make |e| > h almost surely).
    """
    objective = objective.replace(learn_mu=True)
    factors, ratings = random_problem(rng, biased=biased, duplicates=False)
    reg = {"P": 0.1, "Q": 0.2, "bu": 0.3, "bi": 0.05}
    grads = objective.gradients(factors, ratings, reg, form=form)
    assert set(grads) == set(factors.blocks) | {"mu"} and grads["mu"].shape == ()
    if objective.data == "absolute":
        users, items, values = objective.select_entries(factors, ratings)
        e = values - objective.predict(factors, users, items)
        assert np.abs(e).min() > 2e-3  # h = 1e-3 moves every z by 1e-3, h'(z) <= (hi - lo) / 4
    fd, noise = mu_by_finite_differences(objective, factors, ratings, reg, form)
    assert float(grads["mu"]) == pytest.approx(fd, rel=1e-9, abs=noise + 1e-12)


def test_mu_gradient_by_hand():
    """Oracle: dL/dmu = -2 c sum e_ui for the squared loss, identity link, sum reduction (class Notes).

    On the 2x2 hand example (errors 3, 0, 4) with c = 1: -2 * 7 = -14; under "mean": -14 / 3.
    Penalties never involve mu.
    """
    objective = OBJECTIVES["quuxlabs_frobenius"].replace(learn_mu=True)
    assert objective.gradients(HAND_FACTORS, HAND_RATINGS, 0.5)["mu"] == -14.0
    mean = Objective(reduction="mean", learn_mu=True)
    assert mean.gradients(HAND_FACTORS, HAND_RATINGS, 0.5, form="matrix")["mu"] == pytest.approx(-14.0 / 3, rel=1e-15)
    assert "mu" not in OBJECTIVES["quuxlabs_frobenius"].gradients(HAND_FACTORS, HAND_RATINGS)
    assert "learn_mu" in str(Objective(learn_mu=True))


def test_sparse_form_computes_float32_products_in_float64(rng):
    """Oracle: the float64 copy of the same float32 factors. Both forms promote before multiplying,
    so loss and gradients equal those of the copy exactly (same operations on the same float64 numbers)."""
    factors, ratings = random_problem(rng, n_users=6, n_items=7, k=4, n_ratings=20, duplicates=False)
    f32 = Factors(*(factors.params()[b].astype(np.float32) for b in factors.blocks), mu=factors.mu)
    f64 = Factors(*(f32.params()[b].astype(np.float64) for b in f32.blocks), mu=f32.mu)
    objective = Objective(link="sigmoid", learn_mu=True)
    for form in ("sparse", "matrix"):
        assert objective.loss(f32, ratings, 0.1, form=form) == objective.loss(f64, ratings, 0.1, form=form)
        for block, g in objective.gradients(f32, ratings, 0.1, form=form).items():
            assert g.dtype == np.float64
            np.testing.assert_array_equal(g, objective.gradients(f64, ratings, 0.1, form=form)[block])


def test_predict_applies_the_link():
    """Oracle: the logistic function written out, lo + (hi - lo) / (1 + exp(-z))."""
    factors = Factors([[1.0, -0.5], [0.2, 0.3]], [[0.4, 2.0], [-1.0, 0.1]], [0.1, -0.2], [0.3, 0.0], mu=0.25)
    users, items = np.array([0, 1, 1]), np.array([1, 0, 1])
    z = factors.predict(users, items)
    objective = Objective(link="sigmoid", rating_range=(1.0, 5.0))
    np.testing.assert_allclose(objective.predict(factors, users, items), 1.0 + 4.0 / (1.0 + np.exp(-z)), rtol=1e-15)
    np.testing.assert_array_equal(Objective().predict(factors, users, items), z)


def test_rule_names_resolve_without_importing_rules():
    """Oracle: the module's source. objectives names the rules' losses itself; rules imports objectives, not back."""
    import inspect

    source = inspect.getsource(funksvd.maths.objectives)
    assert "import rules" not in source and "from .rules" not in source and "from . import rules" not in source
    for name, rule in RULES.items():
        assert funksvd.maths.objectives.as_objective(name) is rule.objective
