"""Symmetry tools: rotations, Procrustes, principal angles, balance.

Oracles: the defining identities (R R^T = I; recovering a rotation that was applied; equal spans
for P and P A), a Haar-distribution moment, and literal small matrices.
"""

from __future__ import annotations

import numpy as np
import pytest

from funksvd import Factors, Ratings
from funksvd.maths.symmetry import balance, principal_angles, procrustes_align, random_rotation


@pytest.mark.parametrize("k", [1, 2, 5, 20])
def test_random_rotation_is_orthogonal(k):
    """R R^T = I to 1e-12 (oracle: the identity; QR in float64 is accurate to ~k eps)."""
    R = random_rotation(k, random_state=k)
    np.testing.assert_allclose(R @ R.T, np.eye(k), atol=1e-12)
    assert np.array_equal(R, random_rotation(k, random_state=k))


def test_random_rotation_is_haar():
    """Haar measure: E[R_11] = 0 and E[R_11^2] = 1/k, and det = -1 half the time.

    Oracle: those moments of the uniform distribution on O(3); with 4000 draws the standard
    error of the mean of R_11^2 is ~0.004, so 0.02 is a 5-sigma bound. Plain QR without the sign
    correction fails the det test (its determinant sign is tied to the QR convention).
    """
    draws = np.array([random_rotation(3, random_state=s) for s in range(4000)])
    assert abs(draws[:, 0, 0].mean()) < 0.03
    assert abs((draws[:, 0, 0] ** 2).mean() - 1 / 3) < 0.02
    assert abs((np.linalg.det(draws) < 0).mean() - 0.5) < 0.04


def test_procrustes_recovers_rotation():
    """Oracle: a rotation applied by us is recovered exactly (to 1e-10)."""
    rng = np.random.default_rng(0)
    A = rng.normal(size=(30, 4))
    R = random_rotation(4, random_state=1)
    np.testing.assert_allclose(procrustes_align(A, A @ R), R, atol=1e-10)


def test_principal_angles():
    """Spans of P and P A are equal (angles 0); orthogonal axes are at pi/2 (oracle: by hand)."""
    rng = np.random.default_rng(0)
    P = rng.normal(size=(10, 3))
    A = rng.normal(size=(3, 3)) + 3 * np.eye(3)
    np.testing.assert_allclose(principal_angles(P, P @ A), 0.0, atol=1e-6)
    e = np.eye(3)
    np.testing.assert_allclose(principal_angles(e[:, :1], e[:, 1:2]), [np.pi / 2])


def test_balance_by_hand():
    """Oracle: P^T P - Q^T Q computed by hand for 1-factor models; weights are rating counts."""
    factors = Factors([[1.0], [2.0]], [[3.0]])
    assert balance(factors)[0, 0] == 1 + 4 - 9
    ratings = Ratings([0, 0, 1], [0, 0, 0], [1.0, 1.0, 1.0], 2, 1)  # user 0 twice, user 1 once, item 0 thrice
    assert balance(factors, ratings)[0, 0] == 2 * 1 + 1 * 4 - 3 * 9


def test_bad_input():
    """Oracle: the ValueError messages."""
    with pytest.raises(ValueError, match="positive integer"):
        random_rotation(0)
    with pytest.raises(ValueError, match="same shape"):
        procrustes_align(np.ones((2, 2)), np.ones((3, 2)))
    with pytest.raises(ValueError, match="same number of rows"):
        principal_angles(np.ones((2, 2)), np.ones((3, 2)))
    with pytest.raises(ValueError, match="must be 2x2"):
        Factors(np.ones((2, 2)), np.ones((2, 2))).rotate(np.eye(3))
