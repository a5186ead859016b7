r"""One per-rating SGD step of a rule of :data:`funksvd.RULES`, as a tape gradient step.

The twin of :func:`funksvd.sgd_step`: it reads the rule's loss (``rule.objective``), step scales
and stages, never its kernel (``rule.step``).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from ..model.factors import BLOCKS, Factors
from ..maths.rules import get_rule
from ..sgd.steps import check_pair, finish_step, hyper_tuple
from .losses import DTYPE, tf_data_term, tf_entries, tf_error, tf_loss, tf_penalty, tf_variables, densify

__all__ = ["sgd_step"]


def sgd_step(factors: Factors, u, i, r, rule="funk", lr=0.005, reg=0.02) -> Factors:
    r"""One update of ``rule`` on the single rating :math:`(u, i, r)`, as a tape gradient step.

    Same arguments and result as :func:`funksvd.sgd_step` (equal up to rounding), computed
    from the rule's per-rating loss ``rule.objective`` and step scales ``rule.scale``, not
    from its kernel.

    Parameters
    ----------
    factors : Factors
    u, i : int
    r : float
    rule : str or Rule, default "funk"
    lr, reg : float or mapping, default 0.005 and 0.02
        :math:`\gamma` and :math:`\lambda`, one for all blocks or one per block.

    Returns
    -------
    Factors
        float64.

    Raises
    ------
    DivergenceError
        If a parameter becomes non-finite.

    Notes
    -----
    A simultaneous rule (one stage) is a gradient step on the per-rating loss
    :math:`\ell = c\,\rho(e) + \Omega_{ui}` at the old point:

    .. math:: \theta_b \leftarrow \theta_b - \gamma_b\, s_b\, \nabla_{\theta_b} \ell(\theta).

    A sequential rule (stages :math:`S_1, S_2, \dots`, e.g. biases, then :math:`P`, then
    :math:`Q`) takes :math:`\partial\ell/\partial e` once, at the start of the sample, and for
    each stage in turn the derivative of the error and of the penalty at the **current** state
    :math:`\theta^{(k)}` (after the earlier stages):

    .. math::

        \theta_b \leftarrow \theta_b - \gamma_b\, s_b \Big( \frac{\partial \ell}{\partial e}\Big|_{\theta^{(0)}}
        \frac{\partial e}{\partial \theta_b}\Big|_{\theta^{(k)}}
        + \frac{\partial \Omega_{ui}}{\partial \theta_b}\Big|_{\theta^{(k)}} \Big),
        \qquad b \in S_k.

    The first factor is a vector-Jacobian product: ``tape.gradient(e, theta,
    output_gradients=dl_de)``.
    """
    rule = get_rule(rule)
    u, i, r = check_pair(factors, u, i, r)
    step = dict(zip(BLOCKS, hyper_tuple(lr, "lr")))
    lam = dict(zip(BLOCKS, hyper_tuple(reg, "reg")))
    ell = rule.objective
    theta = tf_variables(factors)
    users, items, values = tf_entries([u], [i], [r])

    if rule.simultaneous:
        with tf.GradientTape() as tape:
            value = tf_loss(ell, theta, users, items, values, factors.mu, lam)
        grads = tape.gradient(value, theta, unconnected_gradients=tf.UnconnectedGradients.ZERO)
        for block, variable in theta.items():  # all blocks from the old point
            variable.assign_sub(step[block] * rule.scale[block] * densify(grads[block]))
    else:
        # dl/de at the start of the sample: the error is computed once, before any update
        e0 = tf_error(ell, theta, users, items, values, factors.mu)
        with tf.GradientTape() as tape:
            tape.watch(e0)
            data = tf_data_term(ell, e0)
        dl_de = tape.gradient(data, e0)
        for stage in rule.stages:
            blocks = [block for block in stage if block in theta]
            if not blocks:
                continue  # the bias stage of an unbiased model
            with tf.GradientTape() as tape:
                e = tf_error(ell, theta, users, items, values, factors.mu)  # at the current state
                penalty = tf_penalty(ell, theta, users, items, lam)
            grads = tape.gradient(
                [e, penalty], [theta[block] for block in blocks],
                output_gradients=[dl_de, tf.constant(1.0, DTYPE)],
                unconnected_gradients=tf.UnconnectedGradients.ZERO,
            )
            for block, grad in zip(blocks, grads):
                theta[block].assign_sub(step[block] * rule.scale[block] * densify(grad))

    arrays = [theta[block].numpy() if block in theta else np.zeros(0) for block in BLOCKS]
    return finish_step(arrays, factors.mu, f"the {rule.name} tape step on (u={u}, i={i})")
