r"""The full-batch SVD++ objective and its hand gradient (numpy only), and the model's symmetries.

The loss is the sum over the ratings :math:`\mathcal K` of the per-rating loss that Surprise's
rule steps along (:func:`funksvd.maths.svdpp.svdpp_step`), with :math:`\lambda` per block:

.. math::

    L = \sum_{(u,i) \in \mathcal K} \Big[ \tfrac12 e_{ui}^2
        + \tfrac{\lambda_P}{2} \lVert p_u\rVert^2 + \tfrac{\lambda_Q}{2} \lVert q_i\rVert^2
        + \tfrac{\lambda_{b_u}}{2} b_u^2 + \tfrac{\lambda_{b_i}}{2} b_i^2
        + \tfrac{\lambda_Y}{2} \sum_{j \in N(u)} \lVert y_j\rVert^2 \Big],
    \qquad e_{ui} = r_{ui} - \mu - b_u - b_i - q_i^\top z_u,

with :math:`z_u = p_u + \eta_u \sum_{j \in N(u)} y_j` and :math:`\eta_u = |N(u)|^{-1/2}`. Write
:math:`n_u, n_i` for the number of ratings of user :math:`u` and item :math:`i`, and
:math:`g_u = \sum_{i \in R(u)} e_{ui}\, q_i`. The chain rule through :math:`z_u` gives

.. math::

    \frac{\partial L}{\partial p_u} = -g_u + \lambda_P n_u\, p_u, \qquad
    \frac{\partial L}{\partial q_i} = -\sum_{u \in R(i)} e_{ui}\, z_u + \lambda_Q n_i\, q_i,

    \frac{\partial L}{\partial b_u} = -\sum_{i \in R(u)} e_{ui} + \lambda_{b_u} n_u\, b_u, \qquad
    \frac{\partial L}{\partial b_i} = -\sum_{u \in R(i)} e_{ui} + \lambda_{b_i} n_i\, b_i,

    \frac{\partial L}{\partial y_j} = -\sum_{u:\, j \in N(u)} \eta_u\, g_u + \lambda_Y\, c_j\, y_j,
    \qquad c_j = \sum_{u:\, j \in N(u)} n_u :

:math:`\partial L/\partial Y` is the user-side data gradient :math:`-g_u` scattered, scaled by
:math:`\eta_u`, onto every item of :math:`N(u)`; and each :math:`y_j` is penalised once per rating
of every user who rated :math:`j` (as Surprise's loop shrinks it).

**Symmetries** (``tests/test_svdpp_objective.py``). With :math:`Y` in the model a change of basis
must move :math:`Y` with :math:`P`: for invertible :math:`R`, :math:`(P, Q, Y) \to (PR,\; QR^{-\top},\; YR)`
maps the rows :math:`q_i^\top \to q_i^\top R^{-\top}` and :math:`z_u^\top \to z_u^\top R`, so every
prediction keeps :math:`q_i^\top R^{-\top} R^\top z_u = q_i^\top z_u`, hence the data term; for
orthogonal :math:`R` (:math:`R^{-\top} = R`) the L2 penalties too, so :math:`L` is invariant and its
gradients rotate with the parameters; for a general :math:`R` only the unpenalised loss is.
Rotating :math:`P, Q` without :math:`Y` changes the predictions. A symmetry new with :math:`Y`:
with :math:`A` the :math:`n_u \times n_i` matrix :math:`A_{uj} = \eta_u [j \in N(u)]`, so that
:math:`Z = P + AY`, the shift :math:`(P, Y) \to (P - AD,\; Y + D)` for any :math:`n_i \times k`
matrix :math:`D` keeps :math:`Z` and so every prediction and the data term; the penalties are
not invariant and choose the split of :math:`z_u` between :math:`p_u` and :math:`Y`.
"""

from __future__ import annotations

import numpy as np

from ..model.factors import Factors
from ..model.ratings import Ratings
from .svdpp import SVDPP_BLOCKS, Implicit

__all__ = ["per_block5", "rotate_svdpp", "shift_svdpp", "svdpp_gradients", "svdpp_loss", "svdpp_predict"]


def per_block5(reg) -> dict[str, float]:
    """``reg`` as one float per block of :data:`~funksvd.maths.svdpp.SVDPP_BLOCKS` (a scalar, or a mapping of all 5)."""
    if isinstance(reg, dict):
        if set(reg) != set(SVDPP_BLOCKS):
            raise ValueError(f"reg must name exactly the blocks {list(SVDPP_BLOCKS)}, got {sorted(reg)}")
        return {b: float(reg[b]) for b in SVDPP_BLOCKS}
    return dict.fromkeys(SVDPP_BLOCKS, float(reg))


def svdpp_predict(factors: Factors, Y: np.ndarray, implicit: Implicit, users, items) -> np.ndarray:
    r""":math:`\hat r_{ui} = \mu + b_u + b_i + q_i^\top z_u` for index arrays ``users, items``."""
    Z = factors.P + implicit.sums(Y)
    users, items = np.asarray(users), np.asarray(items)
    return factors.mu + factors.bu[users] + factors.bi[items] + np.einsum("nk,nk->n", Z[users], factors.Q[items])


def _pieces(factors: Factors, Y, ratings: Ratings, implicit: Implicit):
    Z = factors.P + implicit.sums(Y)
    u, i = ratings.users, ratings.items
    e = ratings.values - (factors.mu + factors.bu[u] + factors.bi[i] + np.einsum("nk,nk->n", Z[u], factors.Q[i]))
    n_u = np.bincount(u, minlength=factors.n_users).astype(np.float64)
    n_i = np.bincount(i, minlength=factors.n_items).astype(np.float64)
    return Z, e, n_u, n_i


def _y_weights(implicit: Implicit, n_u: np.ndarray, n_items: int) -> np.ndarray:
    r""":math:`c_j = \sum_{u:\, j \in N(u)} n_u`."""
    owners = np.repeat(np.arange(implicit.n_users), implicit.sizes())
    return np.bincount(implicit.indices, weights=n_u[owners], minlength=n_items)


def penalty_weights(ratings: Ratings, implicit: Implicit, n_users: int, n_items: int):
    r"""How often each parameter is penalised: :math:`n_u` (P, b_u), :math:`n_i` (Q, b_i), :math:`c_j` (Y)."""
    n_u = np.bincount(ratings.users, minlength=n_users).astype(np.float64)
    n_i = np.bincount(ratings.items, minlength=n_items).astype(np.float64)
    return n_u, n_i, _y_weights(implicit, n_u, n_items)


def svdpp_penalty(P, Q, bu, bi, Y, weights, reg) -> float:
    r"""The penalty part of :math:`L`, each row's square weighted by :func:`penalty_weights`."""
    lam = per_block5(reg)
    n_u, n_i, c = weights
    total = (lam["P"] * n_u @ np.einsum("uk,uk->u", P, P) + lam["Q"] * n_i @ np.einsum("ik,ik->i", Q, Q)
             + lam["bu"] * n_u @ (bu * bu) + lam["bi"] * n_i @ (bi * bi) + lam["Y"] * c @ np.einsum("jk,jk->j", Y, Y))
    return float(0.5 * total)


def svdpp_loss(factors: Factors, Y, ratings: Ratings, implicit: Implicit, reg=0.02) -> float:
    """The summed per-rating SVD++ loss :math:`L` (module notes); ``reg``: a float or one per ``P, Q, bu, bi, Y``."""
    _, e, _, _ = _pieces(factors, Y, ratings, implicit)
    weights = penalty_weights(ratings, implicit, factors.n_users, factors.n_items)
    return float(0.5 * e @ e) + svdpp_penalty(factors.P, factors.Q, factors.bu, factors.bi, np.asarray(Y), weights, reg)


def svdpp_gradients(factors: Factors, Y, ratings: Ratings, implicit: Implicit, reg=0.02) -> dict[str, np.ndarray]:
    r""":math:`\partial L/\partial \theta` for :math:`\theta \in \{P, Q, b_u, b_i, Y\}` (module notes)."""
    lam = per_block5(reg)
    Z, e, n_u, n_i = _pieces(factors, Y, ratings, implicit)
    u, i, k = ratings.users, ratings.items, factors.n_factors
    G = np.zeros((factors.n_users, k))  # g_u = sum_i e_ui q_i
    np.add.at(G, u, e[:, None] * factors.Q[i])
    dQ = np.zeros((factors.n_items, k))
    np.add.at(dQ, i, -e[:, None] * Z[u])
    owners = np.repeat(np.arange(implicit.n_users), implicit.sizes())
    dY = np.zeros_like(Y, dtype=np.float64)
    np.add.at(dY, implicit.indices, -(implicit.scales()[owners, None] * G[owners]))
    return {
        "P": -G + lam["P"] * n_u[:, None] * factors.P,
        "Q": dQ + lam["Q"] * n_i[:, None] * factors.Q,
        "bu": -np.bincount(u, weights=e, minlength=factors.n_users) + lam["bu"] * n_u * factors.bu,
        "bi": -np.bincount(i, weights=e, minlength=factors.n_items) + lam["bi"] * n_i * factors.bi,
        "Y": dY + lam["Y"] * _y_weights(implicit, n_u, factors.n_items)[:, None] * Y,
    }


def rotate_svdpp(factors: Factors, Y, R) -> tuple[Factors, np.ndarray]:
    r""":math:`(PR,\; QR^{-\top},\; YR)`, biases unchanged: the change of basis that keeps every prediction."""
    R = np.asarray(R, np.float64)
    return factors.replace(P=factors.P @ R, Q=factors.Q @ np.linalg.inv(R).T), np.asarray(Y) @ R


def shift_svdpp(factors: Factors, Y, implicit: Implicit, D) -> tuple[Factors, np.ndarray]:
    r""":math:`(P - AD,\; Y + D)`, :math:`(AD)_u = \eta_u \sum_{j \in N(u)} d_j`: the same :math:`Z` and predictions."""
    D = np.asarray(D, np.float64)
    return factors.replace(P=factors.P - implicit.sums(D)), np.asarray(Y) + D
