"""The full-batch SVD++ loss: hand gradient against finite differences and TensorFlow; the symmetries.

Oracles: central finite differences (exact along each coordinate up to rounding: every
:math:`e_{ui}` is affine in one coordinate of :math:`P, Q, b, Y`, so the loss is quadratic
along each axis and the step ``h = 1`` has no truncation error); TensorFlow's ``GradientTape``
on the loss written with TF ops (``funksvd.autodiff.svdpp``, which never calls the numpy code);
a literal double loop over ratings and :math:`N(u)` written in this file for the loss; and the
algebra of the symmetries (a rotated or shifted model must predict the same).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from funksvd import Factors, Ratings
from funksvd.check.finite_differences import central_differences
from funksvd.maths.svdpp import Implicit
from funksvd.maths.svdpp_objective import rotate_svdpp, shift_svdpp, svdpp_gradients, svdpp_loss, svdpp_predict
from funksvd.maths.symmetry import random_rotation
from tests.strategies import SEEDS, regs5, svdpp_problems

BLOCKS = ("P", "Q", "bu", "bi", "Y")


def _params(factors, Y):
    return {"P": factors.P, "Q": factors.Q, "bu": factors.bu, "bi": factors.bi, "Y": Y}


def _loss_of(ratings, implicit, reg, mu):
    def fun(theta):
        return svdpp_loss(Factors(theta["P"], theta["Q"], theta["bu"], theta["bi"], mu), theta["Y"], ratings,
                          implicit, reg)
    return fun


def literal_loss(factors, Y, ratings, implicit, reg):
    """The loss as a double loop over the ratings and N(u), from the formula."""
    total = 0.0
    for u, i, r in zip(ratings.users, ratings.items, ratings.values):
        N = implicit.indices[implicit.indptr[u]:implicit.indptr[u + 1]]
        z = factors.P[u] + (sum(Y[j] for j in N) / np.sqrt(len(N)) if len(N) else 0.0)
        e = r - factors.mu - factors.bu[u] - factors.bi[i] - factors.Q[i] @ z
        total += 0.5 * e * e + 0.5 * (reg["P"] * factors.P[u] @ factors.P[u] + reg["Q"] * factors.Q[i] @ factors.Q[i]
                                      + reg["bu"] * factors.bu[u] ** 2 + reg["bi"] * factors.bi[i] ** 2
                                      + reg["Y"] * sum(Y[j] @ Y[j] for j in N))
    return total


def _pinned():
    """A user without ratings (empty N(u)), a user with two: the degenerate case next to the generic draws."""
    rng = np.random.default_rng(1)
    R = Ratings([0, 0, 2], [0, 1, 2], [4.0, 3.0, 2.0], 3, 3)
    F = Factors(rng.normal(size=(3, 2)), rng.normal(size=(3, 2)), rng.normal(size=3), rng.normal(size=3), 3.0)
    return F, rng.normal(size=(3, 2)), R, Implicit.from_ratings(R)


@given(svdpp_problems(), regs5)
@example(_pinned(), dict.fromkeys(BLOCKS, 0.0))
def test_hand_gradient_equals_finite_differences(problem, reg):
    """Oracle: central differences, h = 1 (exact up to rounding); tolerance 1e-9 relative + their rounding estimate."""
    factors, Y, ratings, implicit = problem
    grads = svdpp_gradients(factors, Y, ratings, implicit, reg)
    fd, noise = central_differences(_loss_of(ratings, implicit, reg, factors.mu), _params(factors, Y), h=1.0)
    for block in BLOCKS:
        np.testing.assert_allclose(grads[block], fd[block], rtol=1e-9, atol=noise[block] + 1e-12, err_msg=block)


@given(svdpp_problems(), regs5)
def test_loss_equals_the_literal_loop(problem, reg):
    """Oracle: the loss written as a double loop in this file. 1e-12 relative (summation order)."""
    factors, Y, ratings, implicit = problem
    assert svdpp_loss(factors, Y, ratings, implicit, reg) == pytest.approx(
        literal_loss(factors, Y, ratings, implicit, reg), rel=1e-12)


@given(svdpp_problems(), regs5)
def test_hand_gradient_equals_tensorflow(problem, reg):
    """Oracle: GradientTape on the TF-ops loss. Loss and gradients to 1e-12 (rounding; float64 throughout)."""
    pytest.importorskip("tensorflow")
    from funksvd.autodiff import svdpp as tf_svdpp

    factors, Y, ratings, implicit = problem
    assert tf_svdpp.svdpp_loss(factors, Y, ratings, implicit, reg) == pytest.approx(
        svdpp_loss(factors, Y, ratings, implicit, reg), rel=1e-12)
    tape = tf_svdpp.svdpp_gradients(factors, Y, ratings, implicit, reg)
    hand = svdpp_gradients(factors, Y, ratings, implicit, reg)
    for block in BLOCKS:
        np.testing.assert_allclose(hand[block], tape[block], rtol=1e-12, atol=1e-12, err_msg=block)


@given(svdpp_problems(), regs5, SEEDS)
def test_orthogonal_rotation_of_p_q_and_y_keeps_the_regularised_loss(problem, reg, seed):
    """Oracle: algebra. (PR, QR, YR) with R orthogonal: same predictions, same L2-penalised loss, and the
    gradient rotates (dL at the rotated point = dL R). Without Y the predictions change. 1e-10 (rounding)."""
    factors, Y, ratings, implicit = problem
    R = random_rotation(factors.n_factors, random_state=seed)
    F2, Y2 = rotate_svdpp(factors, Y, R)
    np.testing.assert_allclose(F2.Q, factors.Q @ R, atol=1e-12)  # R^{-T} = R
    users, items = ratings.users, ratings.items
    np.testing.assert_allclose(svdpp_predict(F2, Y2, implicit, users, items),
                               svdpp_predict(factors, Y, implicit, users, items), rtol=1e-10, atol=1e-10)
    assert svdpp_loss(F2, Y2, ratings, implicit, reg) == pytest.approx(
        svdpp_loss(factors, Y, ratings, implicit, reg), rel=1e-10)
    g, g2 = svdpp_gradients(factors, Y, ratings, implicit, reg), svdpp_gradients(F2, Y2, ratings, implicit, reg)
    for block in ("P", "Q", "Y"):
        np.testing.assert_allclose(g2[block], g[block] @ R, rtol=1e-9, atol=1e-9)
    if factors.n_factors > 1:  # rotating P and Q but not Y moves z_u off q_i's frame
        moved = svdpp_predict(F2, Y, implicit, users, items)
        assert np.abs(moved - svdpp_predict(factors, Y, implicit, users, items)).max() > 1e-8


@given(svdpp_problems(), SEEDS)
def test_general_change_of_basis_keeps_predictions_not_the_penalty(problem, seed):
    """Oracle: algebra. (PR, QR^{-T}, YR) with R invertible, not orthogonal: the predictions and the
    unpenalised loss are unchanged (1e-8 relative: R's condition number is at most ~10), the L2 loss is not."""
    factors, Y, ratings, implicit = problem
    rng = np.random.default_rng(seed)
    k = factors.n_factors
    R = random_rotation(k, random_state=seed) @ np.diag(rng.uniform(0.5, 2.0, k)) @ random_rotation(k, rng)
    R[0] *= 3.0 if k > 1 else 1.0
    F2, Y2 = rotate_svdpp(factors, Y, R)
    np.testing.assert_allclose(svdpp_predict(F2, Y2, implicit, ratings.users, ratings.items),
                               svdpp_predict(factors, Y, implicit, ratings.users, ratings.items), rtol=1e-8, atol=1e-8)
    assert svdpp_loss(F2, Y2, ratings, implicit, 0.0) == pytest.approx(
        svdpp_loss(factors, Y, ratings, implicit, 0.0), rel=1e-8, abs=1e-8)
    singular = np.linalg.svd(R, compute_uv=False)
    if singular.max() / singular.min() > 1.5:  # far from orthogonal: the penalty sees the change
        assert svdpp_loss(F2, Y2, ratings, implicit, 1.0) != pytest.approx(svdpp_loss(factors, Y, ratings, implicit,
                                                                                      1.0), rel=1e-6)


@given(svdpp_problems(), SEEDS)
def test_shifting_y_against_p_keeps_predictions(problem, seed):
    """Oracle: algebra. (P - AD, Y + D) keeps Z = P + AY, so every prediction and the unpenalised loss (1e-10);
    with a Y penalty the loss changes."""
    factors, Y, ratings, implicit = problem
    D = np.random.default_rng(seed).normal(0, 1.0, Y.shape)
    F2, Y2 = shift_svdpp(factors, Y, implicit, D)
    np.testing.assert_allclose(svdpp_predict(F2, Y2, implicit, ratings.users, ratings.items),
                               svdpp_predict(factors, Y, implicit, ratings.users, ratings.items),
                               rtol=1e-10, atol=1e-10)
    assert svdpp_loss(F2, Y2, ratings, implicit, 0.0) == pytest.approx(
        svdpp_loss(factors, Y, ratings, implicit, 0.0), rel=1e-10, abs=1e-10)
    reg = {"P": 0.0, "Q": 0.0, "bu": 0.0, "bi": 0.0, "Y": 1.0}
    assert svdpp_loss(F2, Y2, ratings, implicit, reg) != pytest.approx(svdpp_loss(factors, Y, ratings, implicit, reg))


@given(svdpp_problems(), st.floats(0.01, 0.2))
def test_the_rule_is_a_gradient_step_of_the_per_rating_loss(problem, lr):
    """Oracle: the hand gradient (proved above) of the loss on that one rating: step == theta - lr * grad.

    One rating per call of the kernel; tolerance 1e-12 (rounding)."""
    from funksvd.maths.svdpp import svdpp_step

    factors, Y, ratings, implicit = problem
    one = ratings.subset([0])
    u, i, r = int(one.users[0]), int(one.items[0]), float(one.values[0])
    P, Q, bu, bi = factors.mutable_copy()
    Y1 = Y.copy()
    k = factors.n_factors
    svdpp_step(P, Q, bu, bi, Y1, factors.mu, u, i, r, implicit.indptr, implicit.indices, (lr,) * 5, (0.1,) * 5,
               np.zeros(k), np.zeros(k))
    g = svdpp_gradients(factors, Y, one, implicit, 0.1)
    for block, got in zip(BLOCKS, (P, Q, bu, bi, Y1)):
        np.testing.assert_allclose(got, _params(factors, Y)[block] - lr * g[block], rtol=1e-12, atol=1e-12)
