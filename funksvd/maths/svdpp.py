r"""SVD++ (Koren 2008) per rating, written once as the literal loop: Surprise's rule, lazily too, and a cached variant.

The model adds to biased MF an implicit-feedback term: the items :math:`N(u)` a user rated,
whatever the rating, pull the user's vector through item factors :math:`y_j`,

.. math::

    \hat r_{ui} = \mu + b_u + b_i + q_i^\top z_u, \qquad
    z_u = p_u + |N(u)|^{-\frac12} \sum_{j \in N(u)} y_j .

:math:`N(u)` is passed as CSR arrays: user ``u`` implicitly rated ``indices[indptr[u]:indptr[u + 1]]``
(:class:`Implicit`). Every kernel updates its arrays **in place**; ``lr`` and ``reg`` are
5-tuples in block order ``(P, Q, bu, bi, Y)`` (Surprise's ``lr_pu, lr_qi, lr_bu, lr_bi,
lr_yj``); ``z`` and ``w`` are scratch rows of length :math:`k` owned by the caller (the kernels
never allocate, so numba compiles them without its runtime). As in :mod:`funksvd.maths.rules`,
the Python engine runs these functions as written and :mod:`funksvd.sgd.svdpp_engine` hands the
same source to numba.

Three ways to visit a user's ratings, all user by user (Surprise's order):

* :func:`per_rating_user` applies :func:`svdpp_step` to each rating: the implicit sum is
  recomputed and every :math:`y_j` of :math:`N(u)` updated **at every rating**, as Surprise's
  ``SVDpp`` does, :math:`O(|N(u)|\,k)` per rating;
* :func:`lazy_user` takes exactly the steps of :func:`per_rating_user`, but carries the implicit
  sum along in :math:`O(k)` per rating and applies the :math:`y` steps, which are the same affine
  map for every :math:`j \in N(u)`, once at the end of the user: Surprise's result (up to
  rounding) at :math:`O(k)` per rating plus :math:`O(|N(u)|\,k)` per user;
* :func:`cached_user` computes the implicit sum once per user and applies the accumulated
  :math:`y` step once at the end of the user, :math:`O(|N(u)|\,k)` per user (the derivation and
  the difference are in its docstring).

``tests/test_svdpp_rules.py`` evaluates the LaTeX of :func:`svdpp_step`'s docstring against the code, and
compares each user kernel with an independent version written in the test (Surprise's loop
transcribed; the cached variant in numpy).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from ..model.ratings import Ratings

__all__ = [
    "SVDPP_BLOCKS",
    "VARIANTS",
    "Implicit",
    "cached_user",
    "implicit_sum",
    "lazy_user",
    "per_rating_user",
    "predict_svdpp",
    "svdpp_step",
]

#: Parameter blocks of SVD++, in the order of the ``lr`` and ``reg`` tuples.
SVDPP_BLOCKS = ("P", "Q", "bu", "bi", "Y")
#: The visiting schemes: Surprise's per-rating rule, literally and lazily (the same steps), and the cached-sum variant.
VARIANTS = ("per_rating", "lazy", "cached")


class Implicit(NamedTuple):
    r""":math:`N(u)` as CSR: user ``u`` implicitly rated ``indices[indptr[u]:indptr[u + 1]]`` (distinct items)."""

    indptr: np.ndarray
    indices: np.ndarray

    @classmethod
    def from_ratings(cls, ratings: Ratings) -> Implicit:
        """The distinct items each user rated in ``ratings``, in order of first appearance (Surprise's ``ur[u]``)."""
        users, items = ratings.users, ratings.items
        order = np.lexsort((np.arange(len(ratings)), items, users))  # by user, item, then position
        first = np.ones(len(order), bool)
        first[1:] = (users[order[1:]] != users[order[:-1]]) | (items[order[1:]] != items[order[:-1]])
        keep = order[first]  # the first copy of each (user, item)
        keep = keep[np.lexsort((keep, users[keep]))]  # by user, then position: order of first appearance
        counts = np.bincount(ratings.users[keep], minlength=ratings.n_users)
        indptr = np.zeros(ratings.n_users + 1, np.int64)
        np.cumsum(counts, out=indptr[1:])
        return cls(indptr, ratings.items[keep].astype(np.int64))

    @property
    def n_users(self) -> int:
        return len(self.indptr) - 1

    def sizes(self) -> np.ndarray:
        r""":math:`|N(u)|` per user (int64)."""
        return np.diff(self.indptr)

    def scales(self) -> np.ndarray:
        r""":math:`\eta_u = |N(u)|^{-1/2}` per user, 0 for a user without implicit items."""
        n = self.sizes().astype(np.float64)
        return np.divide(1.0, np.sqrt(n), out=np.zeros_like(n), where=n > 0)

    def sums(self, Y: np.ndarray) -> np.ndarray:
        r""":math:`|N(u)|^{-1/2} \sum_{j \in N(u)} y_j` for every user, an :math:`n_u \times k` float64 array."""
        users = np.repeat(np.arange(self.n_users), self.sizes())
        out = np.zeros((self.n_users, Y.shape[1]))
        np.add.at(out, users, Y[self.indices].astype(np.float64))
        return out * self.scales()[:, None]


def implicit_sum(Y, indptr, indices, u, z):
    r"""``z[:] =`` :math:`|N(u)|^{-1/2} \sum_{j \in N(u)} y_j`; returns :math:`\sqrt{|N(u)|}` (1 if it is empty).

    Summed term by term as :math:`y_{jf} / \sqrt{|N(u)|}`, as Surprise does, so that both give the
    same rounding. An empty :math:`N(u)` gives ``z = 0``; the 1 returned then divides nothing
    that is used (no :math:`y_j` to step).
    """
    start, stop = indptr[u], indptr[u + 1]
    for f in range(z.shape[0]):
        z[f] = 0.0
    sqrt_n = math.sqrt(stop - start)
    for t in range(start, stop):
        j = indices[t]
        for f in range(z.shape[0]):
            z[f] += Y[j, f] / sqrt_n
    return max(sqrt_n, 1.0)


def predict_svdpp(P, Q, bu, bi, mu, u, i, z):
    r""":math:`\hat r_{ui} = \mu + b_u + b_i + q_i^\top (p_u + z)` with the implicit term ``z`` given."""
    r_hat = mu + bu[u] + bi[i]
    for f in range(P.shape[1]):
        r_hat += Q[i, f] * (P[u, f] + z[f])
    return r_hat


def svdpp_step(P, Q, bu, bi, Y, mu, u, i, r, indptr, indices, lr, reg, z, w):
    r"""Surprise's ``SVDpp`` on one rating: joint, simultaneous, no factor 2, every :math:`y_j` of :math:`N(u)`.

    Notes
    -----
    Prediction, error and per-rating loss (the implicit sum is recomputed from the current
    :math:`y_j` at every rating):

    .. math::

        z_u = p_u + |N(u)|^{-\frac{1}{2}}\, \sum_{j \in N(u)} y_j

        \hat r_{ui} = \mu + b_u + b_i + q_i^\top z_u

        e = r_{ui} - \hat r_{ui}

        \Omega_Y = \sum_{j \in N(u)} \lVert y_j\rVert^2

        \ell = \frac{1}{2}\, e^2 + \frac{\lambda}{2}\,(\lVert p_u\rVert^2 + \lVert q_i\rVert^2 + b_u^2 + b_i^2+\Omega_Y)

    Gradient (:math:`z_u` is affine in :math:`p_u` and in each :math:`y_j`, with
    :math:`\partial z_u / \partial y_j = |N(u)|^{-1/2} I` for :math:`j \in N(u)`):

    .. math::

        \frac{\partial \ell}{\partial p_u} = -e\, q_i + \lambda\, p_u

        \frac{\partial \ell}{\partial q_i} = -e\, z_u + \lambda\, q_i

        \frac{\partial \ell}{\partial b_u} = -e + \lambda\, b_u

        \frac{\partial \ell}{\partial b_i} = -e + \lambda\, b_i

        \frac{\partial \ell}{\partial y_j} = -e\, |N(u)|^{-\frac{1}{2}}\, q_i + \lambda\, y_j

    Update, all from the old values (``puf`` keeps the old :math:`p_u`, ``w`` the old
    :math:`e\, q_i / \sqrt{|N(u)|}`), for every :math:`j \in N(u)`:

    .. math::

        p_u \leftarrow p_u + \gamma\,(e\, q_i - \lambda\, p_u)

        q_i \leftarrow q_i + \gamma\,(e\, z_u - \lambda\, q_i)

        b_u \leftarrow b_u + \gamma\,(e - \lambda\, b_u)

        b_i \leftarrow b_i + \gamma\,(e - \lambda\, b_i)

        y_j \leftarrow y_j + \gamma\,(e\, |N(u)|^{-\frac{1}{2}}\, q_i - \lambda\, y_j)

    So :math:`\theta \leftarrow \theta - \gamma_\theta\,\nabla_\theta \ell` exactly (step scale 1
    for every block); the code takes :math:`\gamma, \lambda` per block (``lr_pu, ..., lr_yj``),
    and the equations hold block by block. This is line for line the loop of Surprise's
    ``SVDpp.sgd`` (``matrix_factorization.pyx``): the implicit sum recomputed at each rating,
    biases then factors from the old values, :math:`q_i` stepped with the old :math:`p_u` plus the
    implicit sum, and **every** :math:`y_j, j \in N(u)` stepped at **every** rating of :math:`u`,
    each with its own shrinkage :math:`\gamma\lambda\, y_j`. Summed over the ratings, the per-rating
    losses put the penalty :math:`\tfrac{\lambda}{2} \sum_u |R(u)| \sum_{j \in N(u)} \lVert y_j\rVert^2`
    on :math:`Y` (:func:`funksvd.maths.svdpp_objective.svdpp_loss`).
    """
    lr_pu, lr_qi, lr_bu, lr_bi, lr_yj = lr
    reg_pu, reg_qi, reg_bu, reg_bi, reg_yj = reg
    sqrt_n = implicit_sum(Y, indptr, indices, u, z)
    err = r - predict_svdpp(P, Q, bu, bi, mu, u, i, z)
    bu[u] += lr_bu * (err - reg_bu * bu[u])
    bi[i] += lr_bi * (err - reg_bi * bi[i])
    for f in range(P.shape[1]):
        puf = P[u, f]
        qif = Q[i, f]
        w[f] = err * qif / sqrt_n
        P[u, f] += lr_pu * (err * qif - reg_pu * puf)
        Q[i, f] += lr_qi * (err * (puf + z[f]) - reg_qi * qif)
    for t in range(indptr[u], indptr[u + 1]):
        j = indices[t]
        for f in range(P.shape[1]):
            Y[j, f] += lr_yj * (w[f] - reg_yj * Y[j, f])
    return err


def per_rating_user(P, Q, bu, bi, Y, mu, u, rated_indptr, rated_items, rated_values, indptr, indices, lr, reg,
                    z, w):
    """All ratings of user ``u`` (``rated_items[rated_indptr[u]:rated_indptr[u + 1]]``), one :func:`svdpp_step` each.

    Surprise's scheme. Returns the sum of squared errors, each taken before its update.
    """
    sse = 0.0
    for t in range(rated_indptr[u], rated_indptr[u + 1]):
        err = svdpp_step(P, Q, bu, bi, Y, mu, u, rated_items[t], rated_values[t], indptr, indices, lr, reg, z, w)
        sse += err * err
    return sse


def cached_user(P, Q, bu, bi, Y, mu, u, rated_indptr, rated_items, rated_values, indptr, indices, lr, reg, z, w):
    r"""All ratings of user ``u`` with the implicit sum computed once and the :math:`y` step applied once.

    Notes
    -----
    Let :math:`R(u)` be the ratings of :math:`u` visited in turn, :math:`n = |R(u)|` and
    :math:`\eta = |N(u)|^{-1/2}`. Hold every :math:`y_j` at its value at the start of the user
    while the ratings of :math:`u` are visited. Then the implicit sum
    :math:`s = \eta \sum_{j \in N(u)} y_j` does not change during the user and is computed once;
    :math:`p_u, q_i, b_u, b_i` take the steps of :func:`svdpp_step` rating by rating, with
    :math:`z_u = p_u + s` at the current :math:`p_u`; and the :math:`y_j` then take **one** step
    with the sum over the user's ratings of their per-rating gradients, each at the point where
    that rating was visited (the :math:`y` held fixed):

    .. math::

        y_j \leftarrow y_j - \gamma \sum_{i \in R(u)} \frac{\partial \ell_{ui}}{\partial y_j}
        = y_j + \gamma\,\Big(\eta \sum_{i \in R(u)} e_{ui}\, q_i - n\,\lambda\, y_j\Big),
        \qquad j \in N(u),

    where :math:`q_i` and :math:`e_{ui}` are the values at the visit of rating :math:`(u, i)`
    (``w`` accumulates :math:`\eta \sum e_{ui} q_i`). Cost :math:`O(|N(u)|\,k)` per user
    instead of per rating.

    **The difference from Surprise** (:func:`per_rating_user`). Surprise steps the :math:`y_j`
    after every rating, so the :math:`m`-th rating of :math:`u` sees :math:`y` already moved by
    the :math:`m - 1` before it, in its implicit sum and in its own :math:`y` gradient; and its
    :math:`n` shrinkages compound to :math:`(1 - \gamma\lambda)^n` instead of
    :math:`1 - n\gamma\lambda`. Both schemes follow the same per-rating gradients of the same
    loss; per user they differ by :math:`O(n^2\gamma^2)` terms (equal when :math:`n = 1` or
    :math:`\gamma_Y = 0`, as ``tests/test_svdpp_rules.py`` checks).
    """
    lr_pu, lr_qi, lr_bu, lr_bi, lr_yj = lr
    reg_pu, reg_qi, reg_bu, reg_bi, reg_yj = reg
    sqrt_n = implicit_sum(Y, indptr, indices, u, z)
    for f in range(w.shape[0]):
        w[f] = 0.0
    sse = 0.0
    for t in range(rated_indptr[u], rated_indptr[u + 1]):
        i = rated_items[t]
        err = rated_values[t] - predict_svdpp(P, Q, bu, bi, mu, u, i, z)
        sse += err * err
        bu[u] += lr_bu * (err - reg_bu * bu[u])
        bi[i] += lr_bi * (err - reg_bi * bi[i])
        for f in range(P.shape[1]):
            puf = P[u, f]
            qif = Q[i, f]
            w[f] += err * qif / sqrt_n
            P[u, f] += lr_pu * (err * qif - reg_pu * puf)
            Q[i, f] += lr_qi * (err * (puf + z[f]) - reg_qi * qif)
    n = rated_indptr[u + 1] - rated_indptr[u]
    if n > 0:
        for t in range(indptr[u], indptr[u + 1]):
            j = indices[t]
            for f in range(P.shape[1]):
                Y[j, f] += lr_yj * (w[f] - n * reg_yj * Y[j, f])
    return sse


def lazy_user(P, Q, bu, bi, Y, mu, u, rated_indptr, rated_items, rated_values, indptr, indices, lr, reg, z, w):
    r"""The steps of :func:`per_rating_user` (Surprise's) for all ratings of ``u``, with the :math:`y` steps deferred.

    Notes
    -----
    While the ratings of :math:`u` are visited, only they move the :math:`y_j`, and each rating
    :math:`t` moves every :math:`y_j, j \in N(u)` by the same affine map
    :math:`y_j \leftarrow c\, y_j + \gamma\, g_t` with :math:`c = 1 - \gamma\lambda` and
    :math:`g_t = e_t\, q_i / \sqrt{|N(u)|}` (the old :math:`q_i`: :func:`svdpp_step`). So after
    :math:`n` ratings

    .. math::

        y_j^{(n)} = c^n\, y_j^{(0)} + B_n, \qquad B_t = c\, B_{t-1} + \gamma\, g_t, \quad B_0 = 0,

    the same :math:`B_n` for every :math:`j`, applied once at the end (``w`` holds :math:`B`).
    The implicit sum :math:`s_t = |N(u)|^{-1/2} \sum_{j \in N(u)} y_j^{(t)}`, which rating
    :math:`t + 1` needs, follows by summing the map over :math:`N(u)`:

    .. math::

        s_t = c\, s_{t-1} + \gamma\, \sqrt{|N(u)|}\; g_t

    (``z`` holds :math:`s`; computed from :math:`Y` once, at the start of the user). Every
    :math:`p_u, q_i, b_u, b_i` step and every error are those of Surprise's loop, from the same
    values; only the rounding differs (``tests/test_svdpp_rules.py``: 1e-10 after 3 epochs).
    Cost :math:`O(k)` per rating plus :math:`O(|N(u)|\,k)` per user, instead of
    :math:`O(|N(u)|\,k)` per rating. Exact only when ratings are visited user by user, which is
    how every SVD++ epoch here visits them.
    """
    lr_pu, lr_qi, lr_bu, lr_bi, lr_yj = lr
    reg_pu, reg_qi, reg_bu, reg_bi, reg_yj = reg
    sqrt_n = implicit_sum(Y, indptr, indices, u, z)
    n_implicit = indptr[u + 1] - indptr[u]
    c = 1.0 - lr_yj * reg_yj
    c_n = 1.0
    for f in range(w.shape[0]):
        w[f] = 0.0
    sse = 0.0
    for t in range(rated_indptr[u], rated_indptr[u + 1]):
        i = rated_items[t]
        err = rated_values[t] - predict_svdpp(P, Q, bu, bi, mu, u, i, z)
        sse += err * err
        bu[u] += lr_bu * (err - reg_bu * bu[u])
        bi[i] += lr_bi * (err - reg_bi * bi[i])
        for f in range(P.shape[1]):
            puf = P[u, f]
            qif = Q[i, f]
            g = err * qif / sqrt_n
            P[u, f] += lr_pu * (err * qif - reg_pu * puf)
            Q[i, f] += lr_qi * (err * (puf + z[f]) - reg_qi * qif)
            w[f] = c * w[f] + lr_yj * g
            z[f] = c * z[f] + lr_yj * g * n_implicit / sqrt_n
        c_n *= c
    if rated_indptr[u + 1] > rated_indptr[u]:
        for t in range(indptr[u], indptr[u + 1]):
            j = indices[t]
            for f in range(P.shape[1]):
                Y[j, f] = c_n * Y[j, f] + w[f]
    return sse
