r"""The SVD++ loss in TensorFlow ops, and its gradient by the tape: the twin of :mod:`funksvd.maths.svdpp_objective`.

Written again from the formula, never from the numpy code:

.. math::

    L = \sum_{(u,i)} \Big[\tfrac12 e_{ui}^2 + \tfrac{\lambda_P}{2}\lVert p_u\rVert^2
    + \tfrac{\lambda_Q}{2}\lVert q_i\rVert^2 + \tfrac{\lambda_{b_u}}{2} b_u^2 + \tfrac{\lambda_{b_i}}{2} b_i^2
    + \tfrac{\lambda_Y}{2}\sum_{j \in N(u)} \lVert y_j\rVert^2\Big],\qquad
    e_{ui} = r_{ui} - \mu - b_u - b_i - q_i^\top\Big(p_u + |N(u)|^{-1/2}\sum_{j \in N(u)} y_j\Big).

The implicit sum of every user is a segment sum of the gathered rows :math:`y_j`,
:math:`j \in N(u)` (``tf.math.unsorted_segment_sum`` over the CSR pairs of :math:`N`); the
per-rating penalty on :math:`Y` gathers each user's :math:`\sum_{j \in N(u)} \lVert y_j\rVert^2` once
per rating of the user.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from .losses import DTYPE, INDEX, densify

__all__ = ["svdpp_gradients", "svdpp_loss"]

_BLOCKS = ("P", "Q", "bu", "bi", "Y")


def _reg(reg) -> dict[str, float]:
    if isinstance(reg, dict):
        return {b: float(reg[b]) for b in _BLOCKS}
    return dict.fromkeys(_BLOCKS, float(reg))


def _loss(theta, data, lam):
    mu, users, items, values, owners, implicit_items, n_users = data
    y_rows = tf.gather(theta["Y"], implicit_items)  # y_j for every pair (u, j) of N
    sums = tf.math.unsorted_segment_sum(y_rows, owners, n_users)  # sum_{j in N(u)} y_j
    sizes = tf.math.unsorted_segment_sum(tf.ones_like(owners, DTYPE), owners, n_users)  # |N(u)|
    scale = tf.math.divide_no_nan(tf.ones_like(sizes), tf.sqrt(sizes))
    Z = theta["P"] + scale[:, None] * sums
    z_u, q_i = tf.gather(Z, users), tf.gather(theta["Q"], items)
    e = values - (mu + tf.gather(theta["bu"], users) + tf.gather(theta["bi"], items)
                  + tf.reduce_sum(z_u * q_i, axis=1))
    y_squares = tf.math.unsorted_segment_sum(tf.reduce_sum(y_rows * y_rows, axis=1), owners, n_users)
    p_u = tf.gather(theta["P"], users)
    omega = (lam["P"] * tf.reduce_sum(p_u * p_u, axis=1) + lam["Q"] * tf.reduce_sum(q_i * q_i, axis=1)
             + lam["bu"] * tf.gather(theta["bu"], users) ** 2 + lam["bi"] * tf.gather(theta["bi"], items) ** 2
             + lam["Y"] * tf.gather(y_squares, users))
    return 0.5 * tf.reduce_sum(e * e) + 0.5 * tf.reduce_sum(omega)


def _inputs(factors, Y, ratings, implicit):
    theta = {"P": factors.P, "Q": factors.Q, "bu": factors.bu, "bi": factors.bi, "Y": Y}
    theta = {b: tf.Variable(np.asarray(v, np.float64), dtype=DTYPE, name=b) for b, v in theta.items()}
    owners = np.repeat(np.arange(len(implicit.indptr) - 1), np.diff(implicit.indptr))
    data = (tf.constant(float(factors.mu), DTYPE), tf.constant(ratings.users, INDEX),
            tf.constant(ratings.items, INDEX), tf.constant(ratings.values, DTYPE), tf.constant(owners, INDEX),
            tf.constant(implicit.indices, INDEX), int(factors.n_users))
    return theta, data


def svdpp_loss(factors, Y, ratings, implicit, reg=0.02) -> float:
    """The SVD++ loss evaluated by TensorFlow (``reg`` one float or a mapping of ``P, Q, bu, bi, Y``)."""
    theta, data = _inputs(factors, Y, ratings, implicit)
    return float(_loss(theta, data, _reg(reg)).numpy())


def svdpp_gradients(factors, Y, ratings, implicit, reg=0.02) -> dict[str, np.ndarray]:
    r""":math:`\partial L / \partial \theta` for ``P, Q, bu, bi, Y`` by :class:`tf.GradientTape`, dense float64."""
    theta, data = _inputs(factors, Y, ratings, implicit)
    with tf.GradientTape() as tape:
        value = _loss(theta, data, _reg(reg))
    grads = tape.gradient(value, [theta[b] for b in _BLOCKS])
    return {b: densify(g) for b, g in zip(_BLOCKS, grads)}
