r"""Finite differences of a loss written once, ``loss(xp, theta, data)`` (:mod:`funksvd.maths.user_losses`).

The step is chosen per coordinate (:func:`scan_gradients`) and the oracle's own error estimate
goes into the tolerance of :func:`funksvd.check.check_gradients`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

import numpy as np

from ..maths.user_losses import check_pure, evaluate_loss, factor_params, loss_data
from ..model.factors import Factors

__all__ = ["scan_gradients", "finite_difference_gradients"]

EPS = np.finfo(np.float64).eps


def scan_gradients(fun: Callable[[dict], float], params: Mapping[str, np.ndarray], blocks=None,
                   h0: float = 0.1, levels: int = 6) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    r"""Central differences of a general loss, with the step chosen per coordinate and an error estimate.

    Parameters
    ----------
    fun : callable
        ``fun(params) -> float`` for a dict of float64 arrays.
    params : mapping
        The point.
    blocks : sequence of str, optional
        Which blocks (default all).
    h0, levels : float, int
        The steps scanned are :math:`h_k = h_0\,\max(1, |\theta_j|)/2^k`, :math:`k < ` ``levels``.

    Returns
    -------
    gradients : dict
    error : dict
        Per entry, the oracle's own error estimate: the tolerance a comparison must allow.

    Notes
    -----
    With :math:`D(h) = (L(\theta + h\epsilon_j) - L(\theta - h\epsilon_j))/2h = L' + c_2 h^2 + c_4 h^4 + \dots`
    for a smooth loss, Richardson's :math:`R_k = (4 D(h_{k+1}) - D(h_k))/3` removes the
    :math:`h^2` term. Of the successive :math:`R_k`, the one with the smallest estimate

    .. math:: \delta_k = |R_k - R_{k-1}| + 24\,\varepsilon \max|L| / h_{k+1}

    (truncation, seen as the change from the previous, coarser extrapolation, plus rounding) is
    kept, and :math:`\delta_k` is reported. For a loss that is quadratic along each axis every
    :math:`D(h)` is exact and only rounding remains; at a kink (of :math:`|e|`, say) inside the
    stencils the :math:`R_k` disagree and the estimate says so.
    """
    base = {block: np.array(value, dtype=np.float64) for block, value in params.items()}
    grads, errors = {}, {}
    for block in blocks or list(base):
        theta = base[block]
        grad, error = np.empty_like(theta), np.empty_like(theta)
        for j in range(theta.size):
            x = float(theta.reshape(-1)[j])
            steps = h0 * max(1.0, abs(x)) / 2.0 ** np.arange(levels)
            diffs, largest = [], 0.0
            for h in steps:
                values = []
                for sign in (1.0, -1.0):
                    point = dict(base)
                    moved = theta.copy()
                    moved.reshape(-1)[j] = x + sign * h
                    point[block] = moved
                    values.append(fun(point))
                largest = max(largest, abs(values[0]), abs(values[1]))
                diffs.append((values[0] - values[1]) / (2.0 * h))
            richardson = [(4.0 * diffs[k + 1] - diffs[k]) / 3.0 for k in range(levels - 1)]
            best, best_error = richardson[-1], math.inf
            for k in range(1, levels - 1):
                estimate = abs(richardson[k] - richardson[k - 1]) + 24.0 * EPS * max(largest, 1.0) / steps[k + 1]
                if estimate < best_error:
                    best, best_error = richardson[k], estimate
            grad.reshape(-1)[j], error.reshape(-1)[j] = best, best_error
        grads[block], errors[block] = grad, error
    return grads, errors


def finite_difference_gradients(loss, factors: Factors, ratings, reg, learn_mu: bool = False):
    """Finite differences of a callable loss at ``factors``: ``(gradients, error estimates)``.

    The loss is evaluated twice first (:func:`check_pure`): a loss whose value depends on anything
    but its arguments cannot be differentiated by anyone.
    """
    params = factor_params(factors, learn_mu)
    data = loss_data(ratings, factors.mu, reg)
    check_pure(loss, params, data)
    return scan_gradients(lambda point: evaluate_loss(loss, point, data), params)
