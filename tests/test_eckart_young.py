r"""Why Funk SVD is not the SVD: Eckart-Young on a complete matrix, and the 2021 harmonic problem.

Oracles: numpy's SVD (LAPACK), an independent implementation of the quantities on
``docs/derivations/not_svd.rst``; plain gradient descent written out in the test. The harmonic
figures are those the docs and the docstrings of ``harmonic_experiment`` quote: the tail
variance tau is a scale, not a floor -- the truncated SVD of the complete M beats it.
"""

from __future__ import annotations

import numpy as np
import pytest

from funksvd.classics import harmonic_problem


def truncated(M: np.ndarray, k: int) -> np.ndarray:
    U, s, Vt = np.linalg.svd(M, full_matrices=False)
    return (U[:, :k] * s[:k]) @ Vt[:k]


def test_eckart_young_gradient_descent_on_a_complete_matrix_reaches_the_svd_error(rng):
    """Oracle: sum of the squared trailing singular values; GD on ||C - P Q^T||^2 from a small start.

    Complete 8 x 6 matrix, k = 2: the unpenalised loss has no spurious local minima, so GD ends
    at the Eckart-Young error (to 1e-9 relative after 20,000 steps of 0.01), and its product is
    the truncated SVD. Tolerance: GD's remaining distance, measured ~1e-15.
    """
    C = rng.normal(size=(8, 6))
    s = np.linalg.svd(C, compute_uv=False)
    P, Q = rng.normal(0, 0.1, (8, 2)), rng.normal(0, 0.1, (6, 2))
    for _ in range(20000):
        E = C - P @ Q.T
        P, Q = P + 0.01 * E @ Q, Q + 0.01 * E.T @ P
    assert np.sum((C - P @ Q.T) ** 2) == pytest.approx(np.sum(s[2:] ** 2), rel=1e-9)
    np.testing.assert_allclose(P @ Q.T, truncated(C, 2), atol=1e-6)


def test_harmonic_tau_is_not_a_floor_small():
    """Oracle: numpy's SVD. n = 100, k = 30: the truncated SVD's validation MSE is below tau = 0.0228."""
    problem = harmonic_problem(100, 30, 0)
    M, kept = problem["M"], problem["train"]
    tau = float(np.sum(problem["spectrum"][30:] ** 2))
    mse = float(np.mean((M - truncated(M, 30))[~kept] ** 2))
    assert tau == pytest.approx(0.0228, abs=5e-5)
    assert mse < 0.5 * tau  # 0.0087
    # zero-filling the missing half is far worse than either: the SVD of a different matrix
    zero_filled = float(np.mean((M - truncated(np.where(kept, M, 0.0), 30))[~kept] ** 2))
    assert zero_filled > 10 * tau


@pytest.mark.slow
def test_harmonic_tau_is_not_a_floor_published_size():
    """Oracle: numpy's SVD. n = 500, k = 30 (the tutorial's size): 0.026 against tau = 0.031, as quoted."""
    problem = harmonic_problem(500, 30, 0)
    M, kept = problem["M"], problem["train"]
    tau = float(np.sum(problem["spectrum"][30:] ** 2))
    mse = float(np.mean((M - truncated(M, 30))[~kept] ** 2))
    assert round(tau, 3) == 0.031
    assert round(mse, 3) == 0.026
