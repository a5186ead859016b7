"""Details that hand mutations changed without any test noticing: the full-batch form chosen by density, the
SGD optimiser's copy keeping Nesterov, early stopping keeping the best epoch seen, DSGD's balanced groups, the
finite-difference kink mask for P, and the checker's hint under a mean loss.

Each test names the rule it pins and computes the expected value by hand from that rule.
"""

from __future__ import annotations

import numpy as np

from funksvd import Factors, Ratings
from funksvd.check.finite_differences import kink_mask
from funksvd.check.gradients import check_gradients
from funksvd.estimator.training import EarlyStopping
from funksvd.fullbatch.optimizers import SGD, float32_constant
from funksvd.fullbatch.trainer import choose_form
from funksvd.maths.entries import Entries
from funksvd.maths.objectives import OBJECTIVES, Objective
from funksvd.sgd.strata import balanced_groups


def _observed(n_entries: int, shape=(10, 10)) -> Entries:
    cells = np.arange(n_entries)  # distinct cells, row by row
    return Entries.from_arrays(cells // shape[1], cells % shape[1], np.ones(n_entries), shape)


def test_the_matrix_form_is_chosen_from_a_tenth_of_the_cells():
    """Rule (choose_form's docstring): observed entries filling at least a tenth of the cells, each once, use the
    matrix form; fewer use the sparse form. 50 and 10 of 100 cells: matrix; 9: sparse (the inverted threshold,
    always sparse, survived on main)."""
    assert choose_form(_observed(50)) == "matrix"
    assert choose_form(_observed(10)) == "matrix"
    assert choose_form(_observed(9)) == "sparse"
    assert choose_form(_observed(100)) == "matrix"


def test_a_copy_of_nesterov_sgd_is_nesterov():
    """Rule: ``copy()`` is the same optimiser. Oracle: one Nesterov step by hand,
    m = beta m - lr g; x = x + beta m - lr g, with beta rounded to float32 (plain momentum would give x + m)."""
    original = SGD(0.1, momentum=0.9, nesterov=True)
    copy = original.copy()
    assert copy.get_config()["nesterov"] is True and repr(copy) == repr(original)
    beta, x, g = float32_constant(0.9), np.array([1.0, -2.0]), np.array([0.5, 0.25])
    m = -0.1 * g
    expected = x + beta * m - 0.1 * g
    theta = {"x": x.copy()}
    copy.apply(theta, {"x": g})
    np.testing.assert_allclose(theta["x"], expected, rtol=1e-15)
    assert not np.allclose(theta["x"], x + m)


def test_early_stopping_keeps_the_best_epoch_even_below_min_improvement():
    """Rule (FunkSVD's docstring): patience counts epochs without a gain of ``min_improvement``, but the kept
    parameters are those of the best epoch seen. Validation RMSEs 1.0, 0.99995 (better by 5e-5 < 1e-4), 1.1, 1.2
    with patience 3: stop at epoch 4, keep epoch 2 (main's mutant kept epoch 1)."""
    stopper = EarlyStopping(patience=3, min_improvement=1e-4)
    arrays = [np.array([float(epoch)]) for epoch in range(1, 5)]
    stops = [stopper.update(epoch, val, (arrays[epoch - 1],))
             for epoch, val in enumerate([1.0, 0.99995, 1.1, 1.2], start=1)]
    assert stops == [False, False, False, True]
    assert stopper.best_epoch == 2 and stopper.best == 0.99995 and stopper.best_arrays[0][0] == 2.0


def test_dsgd_groups_balance_the_ratings():
    """Rule: group g holds the ids whose ratings *before them* (an exclusive cumulative sum) fall in the g-th of p
    equal shares. By hand: counts [5, 1, 1, 1, 1, 1], p = 2, total 10, ratings before = [0, 5, 6, 7, 8, 9],
    group = floor(2 * before / 10) = [0, 1, 1, 1, 1, 1]: 5 ratings in each. The inclusive sum puts every id in
    group 1 and leaves group 0 empty."""
    ids = np.array([0, 0, 0, 0, 0, 1, 2, 3, 4, 5])
    groups = balanced_groups(ids, 6, 2)
    assert groups.tolist() == [0, 1, 1, 1, 1, 1]
    assert np.bincount(groups[ids], minlength=2).tolist() == [5, 5]
    assert balanced_groups(np.arange(4), 4, 2).tolist() == [0, 0, 1, 1]


def test_the_kink_mask_of_p_reaches_2h():
    r"""Rule (kink_mask's docstring): a coordinate is flagged when :math:`|e| \le 2h\,|\partial e/\partial\theta|`.
    One rating, p = 1, q = 2, h = 1e-3, e = 3e-3: for p the bound is 2h|q| = 4e-3, flagged; for q it is
    2h|p| = 2e-3, not flagged (the mask for P with h instead of 2h, bound 2e-3, survived on main)."""
    h = 1e-3
    factors = Factors(P=[[1.0]], Q=[[2.0]])
    ratings = Ratings([0], [0], [2.0 + 3e-3])
    masks = kink_mask(OBJECTIVES["tf1_l1_2016"], factors, ratings, h)
    assert masks["P"].tolist() == [[True]] and masks["Q"].tolist() == [[False]]


def test_the_dropped_regulariser_is_named_under_a_mean_loss():
    """Rule: under ``reduction="mean"`` the per-rating penalty is divided by N like the data term, so a gradient
    without the regulariser differs from the true one by the penalty gradient / N, and the checker says "the
    regulariser was dropped" (the hint without / N, which said nothing, survived on main). Oracle of the slip:
    the objective's own gradient at reg = 0, i.e. without the regulariser; finite differences for the truth."""
    objective = Objective(data="squared", reduction="mean", penalty="per_rating", name="mean per-rating")
    rng = np.random.default_rng(0)
    factors = Factors.random(5, 4, 2, biased=True, mu=3.0, random_state=rng)
    cells = rng.choice(20, size=12, replace=False)
    ratings = Ratings(cells // 4, cells % 4, rng.uniform(1, 5, 12), 5, 4)
    report = check_gradients(objective, factors, ratings, manual=lambda f, r: objective.gradients(f, r, 0.0),
                             oracles=("finite_differences",), reg=0.5)
    assert not report.ok
    hints = {row.block: row.hint for row in report.rows}
    assert hints["P"] == "differs by exactly the penalty gradient: the regulariser was dropped", hints
