r"""Stated matrix formulas cannot drift from the code: the fold-in system and the balance identity.

Oracle: the docstrings' own equations. ``tests/latex.py`` (:func:`~tests.latex.evaluate_matrix`)
evaluates both sides of each written-out equation -- the fold-in normal equations of
``FunkSVD.fold_in`` (funk and quuxlabs) and the balance identity of :mod:`funksvd.maths.symmetry`
(per-rating and Frobenius penalties) -- with the numbers the code produces: the folded-in
:math:`p_u, b_u` for the first, the hand gradients (:meth:`Objective.gradients`) for the second.
Tolerance 1e-10 relative to the largest term: float64 sums of a few hundred products. Each test
also shows the check can fail: the printed formula that counted :math:`b` twice, and the
unweighted balance :math:`P^\top P - Q^\top Q`, both miss by O(1e-2) or more.
"""

from __future__ import annotations

import numpy as np
import pytest

from funksvd import Objective
from funksvd.estimator import FunkSVD
from funksvd.maths import symmetry
from tests.helpers import random_problem
from tests.latex import math_blocks, matrix_equation
from tests.test_recommend import REG, REG_PARAMS, problem


def fold_in_lines() -> dict[str, list[str]]:
    """The written-out fold-in equations of ``FunkSVD.fold_in``, two per rule, in the order stated."""
    lines = [
        eq
        for eq in math_blocks(FunkSVD.fold_in.__doc__ or "")
        if "Q_S" in eq and eq.count("=") == 1 and not eq.startswith(r"\nabla")
    ]
    assert len(lines) == 4, lines
    return {"funk": lines[:2], "quuxlabs": lines[2:]}


def close(lhs, rhs) -> bool:
    scale = max(1.0, float(np.max(np.abs(lhs))), float(np.max(np.abs(rhs))))
    return bool(np.max(np.abs(np.asarray(lhs) - rhs)) <= 1e-10 * scale)


@pytest.mark.parametrize("rule", ["funk", "quuxlabs"])
def test_fold_in_docstring_equations_hold_at_the_fold_in(rng, rule):
    """Oracle: the docstring's block equations, evaluated at ``fold_in``'s p_u and b_u (per-block lambda)."""
    model = FunkSVD(n_factors=3, n_epochs=3, lr_all=0.02, rule=rule, random_state=0, engine="python", **REG_PARAMS).fit(
        problem(rng)
    )
    items, values = np.array([1, 4, 6, 11, 17]), np.array([4.0, 2.0, 5.0, 3.5, 1.0])
    new = model.fold_in(items, values)
    f = model.factors_
    names = {
        "Q_S": f.Q[items],
        "b_S": f.bi[items],
        "r": values,
        "mu": f.mu,
        "p": new.p_u,
        "b": new.b_u,
        "n": len(items),
        "I": np.eye(f.n_factors),
        "one": np.ones(len(items)),
        "lam_pu": REG["P"],
        "lam_bu": REG["bu"],
    }
    for line in fold_in_lines()[rule]:
        assert close(*matrix_equation(line, **names)), line
    # the check can fail: the formula once printed, with b also on the right, misses at the fold-in
    wrong = fold_in_lines()[rule][0].replace(r"(r - \mu - b_S)", r"(r - \mu - b_S - b)")
    lhs, rhs = matrix_equation(wrong, **names)
    assert np.max(np.abs(lhs - rhs)) > 1e-3


def balance_lines() -> list[str]:
    lines = [eq for eq in math_blocks(symmetry.__doc__ or "") if eq.startswith(r"P^\top \frac{\partial L}")]
    assert len(lines) == 2, lines
    return lines


@pytest.mark.parametrize("penalty,line", [("per_rating", 0), ("frobenius", 1)])
@pytest.mark.parametrize("link,data", [("identity", "squared"), ("sigmoid", "squared"), ("identity", "absolute")])
def test_balance_identity_in_the_module_docstring(rng, penalty, line, link, data):
    r"""Oracle: the module docstring's identity, evaluated with the hand gradients at random points.

    Generic case: per-block lambda (lambda_P != lambda_Q), biases, repeated ratings, a weight
    w = 0.3 that is neither 1/2 nor 1. Rounding ~1e-15 on terms of order 1.
    """
    for _ in range(3):
        factors, ratings = random_problem(rng, n_users=5, n_items=6, k=3, n_ratings=20)
        objective = Objective(data=data, penalty=penalty, link=link, factor_reg_weight=0.3)
        reg = {"P": 0.07, "Q": 0.02, "bu": 0.03, "bi": 0.05}
        g = objective.gradients(factors, ratings, reg)
        names = {
            "P": factors.P,
            "Q": factors.Q,
            "dLdP": g["P"],
            "dLdQ": g["Q"],
            "w": 0.3,
            "lam_P": reg["P"],
            "lam_Q": reg["Q"],
            "N_u": np.diag(np.bincount(ratings.users, minlength=factors.n_users)),
            "N_i": np.diag(np.bincount(ratings.items, minlength=factors.n_items)),
        }
        lhs, rhs = matrix_equation(balance_lines()[line], **names)
        assert close(lhs, rhs)
        # the check can fail: the unweighted, common-lambda form is not the identity here
        unweighted = 2 * 0.3 * reg["P"] * symmetry.balance(factors)
        assert np.max(np.abs(lhs - unweighted)) > 1e-3


def test_mean_reduction_divides_the_per_rating_side_only(rng):
    """Oracle: the docstring's remark, with the hand gradients: per-rating / N, Frobenius unchanged."""
    factors, ratings = random_problem(rng, n_users=5, n_items=6, k=3, n_ratings=20)
    reg = {"P": 0.07, "Q": 0.02, "bu": 0.03, "bi": 0.05}
    names = {
        "P": factors.P,
        "Q": factors.Q,
        "w": 0.5,
        "lam_P": reg["P"],
        "lam_Q": reg["Q"],
        "N_u": np.diag(np.bincount(ratings.users, minlength=5)),
        "N_i": np.diag(np.bincount(ratings.items, minlength=6)),
    }
    for penalty, line, divide in (("per_rating", 0, len(ratings.values)), ("frobenius", 1, 1)):
        g = Objective(penalty=penalty, reduction="mean").gradients(factors, ratings, reg)
        lhs, rhs = matrix_equation(balance_lines()[line], dLdP=g["P"], dLdQ=g["Q"], **names)
        assert close(lhs, rhs / divide)
