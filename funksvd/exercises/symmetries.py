r"""Exercises on the symmetries of a factorisation: a change of basis, and the balance identity.

The balance identity holds at *every* point, not only at critical ones: the data term's share of
:math:`P^\top \partial L/\partial P - (\partial L/\partial Q)^\top Q` is
:math:`P^\top G Q - (G^\top P)^\top Q = 0` for any per-entry weights :math:`G`. So an answer that
depends on :math:`R` or :math:`M` is wrong, and the grader evaluates the left-hand side with
funksvd's hand gradients (proved against finite differences and TensorFlow by the test suite) on
random ratings the answer never sees.
"""

from __future__ import annotations

import numpy as np

from ..maths.objectives import Objective
from .cases import problem
from .exercise import Case, Exercise, Slip

__all__ = ["EXERCISES"]


def _balance_case(rng, index, per_rating=False):
    pb = problem(rng, index)
    lam_P, lam_Q = float(rng.uniform(0.05, 0.5)), float(rng.uniform(0.05, 0.5))
    P, Q = pb.factors.P, pb.factors.Q
    if per_rating:
        n_u, n_i = pb.M.sum(axis=1), pb.M.sum(axis=0)
        return Case((P, Q, n_u, n_i, pb.reg), pb.label + f", lambda = {pb.reg:.3g}", {"problem": pb})
    return Case((P, Q, lam_P, lam_Q), pb.label + f", lambda_P = {lam_P:.3g}, lambda_Q = {lam_Q:.3g}",
                {"problem": pb})


def _left_side(case, objective, reg):
    pb = case.context["problem"]
    grads = objective.gradients(pb.factors, pb.ratings, reg)
    return pb.factors.P.T @ grads["P"] - grads["Q"].T @ pb.factors.Q


def balance(P, Q, lam_P, lam_Q):
    """B = P^T dL/dP - (dL/dQ)^T Q for L = sum M o (R - P Q^T)^2 + lam_P |P|_F^2 + lam_Q |Q|_F^2, for any R, M.

    Return the k x k matrix B, in terms of P, Q and the lambdas only.
    """
    return 2.0 * (lam_P * P.T @ P - lam_Q * Q.T @ Q)


BALANCE = Exercise(
    name="balance",
    title="The balance identity, with a lambda per block",
    page="derivations/symmetries",
    prompt=r"""For :math:`L = \lVert M \circ (R - P Q^\top)\rVert_F^2 + \lambda_P \lVert P\rVert_F^2
+ \lambda_Q \lVert Q\rVert_F^2`, show that

.. math:: B = P^\top \frac{\partial L}{\partial P} - \Big(\frac{\partial L}{\partial Q}\Big)^\top Q

does not depend on :math:`R` or :math:`M` at all, and find it. (At a critical point :math:`B = 0`:
the factors are *balanced*.) Write ``balance(P, Q, lam_P, lam_Q)`` returning :math:`B`.""",
    function=balance,
    draw=_balance_case,
    outputs=("B",),
    expected=lambda case: _balance_oracle(case),
    oracle_name="funksvd's hand gradients at random ratings the answer never sees",
    slips=(
        Slip("the 2 of d|P|^2/dP = 2P is missing", lambda P, Q, lam_P, lam_Q: lam_P * P.T @ P - lam_Q * Q.T @ Q),
        Slip("one lambda for both blocks: with lambda_P != lambda_Q the balance is 2 (lambda_P P^T P - lambda_Q Q^T Q)",
             lambda P, Q, lam_P, lam_Q: 2.0 * lam_P * (P.T @ P - Q.T @ Q)),
        Slip("a sign slip: B = 2 (lambda_P P^T P - lambda_Q Q^T Q), P first",
             lambda P, Q, lam_P, lam_Q: -balance(P, Q, lam_P, lam_Q)),
    ),
)


def _balance_oracle(case):
    return {"B": _left_side(case, Objective(penalty="frobenius", factor_reg_weight=1.0, name="balance"),
                            {"P": case.args[2], "Q": case.args[3]})}


def balance_per_rating(P, Q, n_u, n_i, lam):
    """B = P^T dL/dP - (dL/dQ)^T Q for the per-rating penalty L = sum over ratings [e^2 + lam (|p_u|^2 + |q_i|^2)].

    n_u, n_i: the number of ratings of each user and item. Return the k x k matrix B.
    """
    return 2.0 * lam * ((P * n_u[:, None]).T @ P - (Q * n_i[:, None]).T @ Q)


def _per_rating_oracle(case):
    objective = Objective(penalty="per_rating", factor_reg_weight=1.0, name="per-rating penalty")
    return {"B": _left_side(case, objective, case.args[4])}


BALANCE_PER_RATING = Exercise(
    name="balance_per_rating",
    title="The balance identity under the per-rating penalty of SGD",
    page="derivations/symmetries",
    prompt=r"""SGD applies the penalty once per rating, so summed over the ratings

.. math:: L = \sum_{(u,i) \in \mathcal K} \Big( e_{ui}^2 + \lambda (\lVert p_u\rVert^2 + \lVert q_i\rVert^2) \Big)
          = \lVert M \circ E\rVert_F^2 + \lambda \sum_u n_u \lVert p_u\rVert^2 + \lambda \sum_i n_i \lVert q_i\rVert^2 .

Find :math:`B = P^\top \partial L/\partial P - (\partial L/\partial Q)^\top Q`; write
``balance_per_rating(P, Q, n_u, n_i, lam)`` returning it. Which matrices are equal at a critical point?""",
    function=balance_per_rating,
    draw=lambda rng, index: _balance_case(rng, index, per_rating=True),
    outputs=("B",),
    expected=lambda case: _per_rating_oracle(case),
    oracle_name="funksvd's hand gradients at random ratings the answer never sees",
    slips=(
        Slip("the per-rating penalty weights each row by its count: P^T N_u P - Q^T N_i Q, not P^T P - Q^T Q",
             lambda P, Q, n_u, n_i, lam: 2.0 * lam * (P.T @ P - Q.T @ Q)),
        Slip("the 2 of d|p|^2/dp = 2p is missing",
             lambda P, Q, n_u, n_i, lam: 0.5 * balance_per_rating(P, Q, n_u, n_i, lam)),
        Slip("a sign slip: B = 2 lambda (P^T N_u P - Q^T N_i Q), P first",
             lambda P, Q, n_u, n_i, lam: -balance_per_rating(P, Q, n_u, n_i, lam)),
    ),
)


def _basis_case(rng, index):
    pb = problem(rng, index)
    k = pb.factors.n_factors
    A = rng.normal(0.0, 1.0, size=(k, k)) + 2.0 * np.eye(k)  # invertible, not orthogonal
    return Case((pb.factors.P, pb.factors.Q, A), pb.label + ", A invertible, not orthogonal")


def change_basis(P, Q, A):
    """New factors (P A, Q2) with the same predictions (P A) Q2^T = P Q^T, for an invertible k x k A.

    Return (P2, Q2), shaped like P and Q.
    """
    return P @ A, np.linalg.solve(A, Q.T).T


def _basis_oracle(P, Q, A):
    return P @ A, Q @ np.linalg.inv(A).T


CHANGE_BASIS = Exercise(
    name="change_basis",
    title="A change of basis leaves every prediction unchanged",
    page="derivations/symmetries",
    prompt=r"""Only the product :math:`P Q^\top` is seen by the data. For an invertible
:math:`k \times k` matrix :math:`A`, find the :math:`Q_2` for which :math:`(P A)\, Q_2^\top = P Q^\top`
for every :math:`P`. Write ``change_basis(P, Q, A)`` returning ``(P @ A, Q2)``. For which :math:`A`
is :math:`Q_2 = Q A`?""",
    function=change_basis,
    draw=_basis_case,
    outputs=("P2", "Q2"),
    oracle=_basis_oracle,
    oracle_name="Q A^{-T} by an explicit inverse",
    rtol=1e-8, atol=1e-10,
    slips=(
        Slip("Q A keeps the predictions only for an orthogonal A (A A^T = I): in general Q2 = Q A^{-T}",
             lambda P, Q, A: (P @ A, Q @ A)),
        Slip("the transpose is missing: (P A)(Q A^{-1})^T = P A A^{-T} Q^T; Q2 = Q A^{-T}",
             lambda P, Q, A: (P @ A, Q @ np.linalg.inv(A))),
        Slip("P must become P A: the answer is (P A, Q A^{-T})",
             lambda P, Q, A: (P, Q @ np.linalg.inv(A).T)),
    ),
)


EXERCISES = (BALANCE, BALANCE_PER_RATING, CHANGE_BASIS)
