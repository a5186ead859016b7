r"""Central finite differences of a loss, coordinate by coordinate: the oracle that needs no calculus.

Why coordinate differences are *exact* for most of funksvd's losses
--------------------------------------------------------------------
With the identity link, every error :math:`e_{ui} = r_{ui} - \mu - b_u - b_i - p_u^\top q_i` is
affine in any single coordinate (:math:`p_{uf}` appears once in :math:`p_u^\top q_i`, times
:math:`q_{if}`). The squared loss and the L2 penalties are therefore quadratic polynomials
:math:`a + b\,t + c\,t^2` along each coordinate axis, and for a quadratic the central difference

.. math:: \frac{L(\theta + h\,\epsilon_j) - L(\theta - h\,\epsilon_j)}{2h} = b = \frac{\partial L}{\partial\theta_j}

holds for **every** :math:`h`: there is no truncation error, only rounding, of order
:math:`\varepsilon\,|L|/h`. So a large step (``h = 1``) is best. The absolute loss and the L1
penalty are piecewise linear along each axis: the difference is exact as long as the stencil
:math:`[\theta_j - h, \theta_j + h]` crosses no kink (:math:`e = 0` or :math:`\theta_j = 0`); a
small step keeps kinks rare and :func:`kink_mask` finds the coordinates where one is crossed.
The sigmoid link is smooth but not polynomial: there Richardson extrapolation
:math:`(4D(h/2) - D(h))/3` cancels the :math:`O(h^2)` term, leaving :math:`O(h^4)`.
A random-direction difference :math:`(L(\theta + h v) - L(\theta - h v))/2h` is *not* exact:
along a direction that moves :math:`p_u` and :math:`q_i` together the loss is quartic.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ..model.factors import Factors, predict_pairs
from ..maths.objectives import Objective, as_objective

__all__ = ["numerical_gradients", "fd_settings", "fd_noise", "kink_mask", "central_differences"]

EPS = np.finfo(np.float64).eps


def fd_settings(objective: Objective) -> tuple[float, bool]:
    """The step ``h`` and whether to use Richardson extrapolation, for ``objective`` (see module notes)."""
    if objective.link != "identity":
        return 1e-3, True
    if objective.data == "absolute" or objective.penalty == "l1":
        return 1e-3, False
    return 1.0, False


def _central(fun, factors: Factors, block: str, h: float):
    """Central differences of ``fun`` along every coordinate of one block; also max |L| seen."""
    base = factors.params()[block].astype(np.float64)
    grad = np.empty_like(base)
    flat = grad.reshape(-1)
    largest = 0.0
    for j in range(base.size):
        values = []
        for sign in (1.0, -1.0):
            theta = base.copy()
            theta.reshape(-1)[j] += sign * h
            values.append(fun(factors.replace(**{block: theta})))
        largest = max(largest, abs(values[0]), abs(values[1]))
        flat[j] = (values[0] - values[1]) / (2.0 * h)
    return grad, largest


def numerical_gradients(
    fun: Callable[[Factors], float], factors: Factors, h: float = 1.0, richardson: bool = False, blocks=None
) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    r"""Coordinate-wise central differences of ``fun`` at ``factors``.

    Parameters
    ----------
    fun : callable
        ``fun(factors) -> float``, e.g. ``lambda f: objective.loss(f, ratings, reg)``.
    factors : Factors
        The point (converted to float64).
    h : float
        The step. Exact for losses quadratic along each axis whatever ``h`` (module notes).
    richardson : bool
        Combine steps ``h`` and ``h/2`` as :math:`(4D(h/2) - D(h))/3`.
    blocks : sequence of str, optional
        Which blocks; default all of ``factors.blocks``.

    Returns
    -------
    gradients : dict
        One float64 array per block.
    noise : dict
        Per block, an upper estimate of the rounding error of each entry,
        :math:`8\,\varepsilon \max|L(\theta \pm h\epsilon_j)| / h` (times 3 with Richardson):
        the tolerance that the comparison with a hand gradient has to allow.

    Examples
    --------
    One rating :math:`r = 3` and :math:`p = 1, q = 2`, so :math:`e = 1`; the loss
    :math:`e^2` has :math:`\partial/\partial p = -2eq = -4` and :math:`\partial/\partial q = -2ep = -2`,
    and the central difference finds both exactly with the large step :math:`h = 1`:

    >>> from funksvd import OBJECTIVES, Factors, Ratings
    >>> R, F = Ratings([0], [0], [3.0]), Factors([[1.0]], [[2.0]])
    >>> L = OBJECTIVES["tf_masked_2018"]
    >>> fd, noise = numerical_gradients(lambda f: L.loss(f, R), F, h=1.0)
    >>> fd["P"], fd["Q"]
    (array([[-4.]]), array([[-2.]]))
    """
    factors = _float64(factors)
    grads, noise = {}, {}
    for block in blocks or factors.blocks:
        grad, largest = _central(fun, factors, block, h)
        if richardson:
            half, largest_half = _central(fun, factors, block, h / 2.0)
            grad = (4.0 * half - grad) / 3.0
            largest = 3.0 * max(largest, 2.0 * largest_half)
        grads[block] = grad
        noise[block] = 8.0 * EPS * max(largest, 1.0) / h
    return grads, noise


def central_differences(fun: Callable[[dict], float], params: dict, h: float = 1.0):
    r"""Coordinate-wise central differences of ``fun(params)`` for any named arrays (e.g. SVD++'s ``P, Q, bu, bi, Y``).

    The twin of :func:`numerical_gradients` for parameters that are not a :class:`Factors`:
    ``fun`` takes a dict of float64 arrays. Returns ``(gradients, noise)`` as there; exact up
    to rounding for a loss quadratic along each axis, whatever ``h`` (module notes).
    """
    base = {name: np.array(value, dtype=np.float64) for name, value in params.items()}
    grads, noise = {}, {}
    for name, value in base.items():
        grad = np.empty_like(value)
        largest = 0.0
        for j in range(value.size):
            values = []
            for sign in (1.0, -1.0):
                moved = value.copy()
                moved.reshape(-1)[j] += sign * h
                values.append(fun({**base, name: moved}))
            largest = max(largest, abs(values[0]), abs(values[1]))
            grad.reshape(-1)[j] = (values[0] - values[1]) / (2.0 * h)
        grads[name] = grad
        noise[name] = 8.0 * EPS * max(largest, 1.0) / h
    return grads, noise


def fd_noise(objective, factors: Factors, ratings, reg=0.02):
    """Finite-difference gradients of ``objective`` with the step the objective calls for.

    Returns ``(gradients, noise, h)``; see :func:`numerical_gradients`.
    """
    objective = as_objective(objective)
    h, richardson = fd_settings(objective)
    grads, noise = numerical_gradients(lambda f: objective.loss(f, ratings, reg), factors, h, richardson)
    return grads, noise, h


def kink_mask(objective, factors: Factors, ratings, h: float) -> dict[str, np.ndarray]:
    r"""Coordinates whose stencil :math:`[\theta_j - h, \theta_j + h]` may cross a kink.

    A kink of the absolute loss is :math:`e_{ui} = 0`; moving :math:`\theta_j` by :math:`h` moves
    :math:`e_{ui}` by about :math:`h\,|\partial e_{ui}/\partial\theta_j|`, so the coordinate is
    flagged when :math:`|e_{ui}| \le 2h\,|\partial e_{ui}/\partial\theta_j|` for an entry it
    touches. For the L1 penalty the kink is :math:`\theta_j = 0`, flagged when
    :math:`|\theta_j| \le h`. Smooth objectives flag nothing.
    """
    objective = as_objective(objective)
    factors = _float64(factors)
    masks = {block: np.zeros(theta.shape, dtype=bool) for block, theta in factors.params().items()}
    if objective.data == "absolute":
        users, items, values = objective.select_entries(factors, ratings)
        z = predict_pairs(factors.P, factors.Q, factors.bu, factors.bi, factors.mu, users, items)
        r_hat, dh = objective.apply_link(z)
        reach = np.abs(values - r_hat) / np.maximum(np.abs(dh), 1e-300)  # |e| / |dr_hat/dz|
        np.logical_or.at(masks["P"], users, reach[:, None] <= 2 * h * np.abs(factors.Q[items]))
        np.logical_or.at(masks["Q"], items, reach[:, None] <= 2 * h * np.abs(factors.P[users]))
        if factors.biased:
            np.logical_or.at(masks["bu"], users, reach <= 2 * h)
            np.logical_or.at(masks["bi"], items, reach <= 2 * h)
    if objective.penalty == "l1":
        for block, theta in factors.params().items():
            masks[block] |= np.abs(theta) <= h
    return masks


def _float64(factors: Factors) -> Factors:
    if factors.dtype == np.float64:
        return factors
    params = {k: v.astype(np.float64) for k, v in factors.params().items()}
    return Factors(mu=factors.mu, **params)
