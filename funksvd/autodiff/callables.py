r"""A user's loss ``loss(xp, theta, data)`` under the ``GradientTape``: the TensorFlow namespace.

The namespace offers the functions of :data:`funksvd.maths.user_losses.SUPPORTED` as TensorFlow ops,
so the very function a student wrote for numpy is differentiated by the tape. ``theta`` holds one
``tf.Variable`` per block; ``data.values`` and ``data.mu`` are float64 tensors, the indices int64.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from ..maths.user_losses import LossData, LossError, Namespace, call_loss, factor_params, loss_data
from .losses import DTYPE, INDEX, densify

__all__ = ["TENSORFLOW", "tape_gradients"]


def _take(a, indices, axis=None):
    if axis is None:
        return tf.gather(tf.reshape(a, [-1]), indices)
    return tf.gather(a, indices, axis=axis)


#: The TensorFlow namespace of a callable loss.
TENSORFLOW = Namespace("tensorflow", {
    "take": _take,
    "sum": lambda a, axis=None: tf.reduce_sum(a, axis=axis),
    "mean": lambda a, axis=None: tf.reduce_mean(a, axis=axis),
    "where": tf.where,
    "abs": tf.abs,
    "exp": tf.exp,
    "log": tf.math.log,
    "square": tf.square,
    "sqrt": tf.sqrt,
    "tanh": tf.tanh,
    "maximum": tf.maximum,
    "minimum": tf.minimum,
})


def tape_gradients(loss, factors, ratings, reg, learn_mu: bool = False) -> tuple[dict[str, np.ndarray], tuple]:
    r""":math:`\partial L/\partial\theta` of a callable loss by ``tf.GradientTape``, as float64 arrays.

    Returns the gradients and the blocks the tape found unconnected to the loss (their gradient
    is reported as 0: a caller that sees a nonzero one elsewhere knows the loss left the tape).

    Raises :class:`~funksvd.maths.user_losses.LossError` when the result is not a scalar tensor (a loss
    that computes with numpy leaves the tape), is not finite, or has no gradient for a block at all.
    """
    params = factor_params(factors, learn_mu)
    plain = loss_data(ratings, factors.mu, reg)
    data = LossData(tf.constant(plain.users, INDEX), tf.constant(plain.items, INDEX),
                    tf.constant(plain.values, DTYPE), plain.n_users, plain.n_items,
                    tf.constant(plain.mu, DTYPE), plain.reg)
    theta = {block: tf.Variable(value, dtype=DTYPE, name=block) for block, value in params.items()}
    with tf.GradientTape() as tape:
        value = call_loss(loss, TENSORFLOW, theta, data)
    if not isinstance(value, (tf.Tensor, tf.Variable)):
        raise LossError(f"under TensorFlow's tape the loss returned {type(value).__name__}, not a tensor: it "
                        "computes with numpy (np.sum, np.take, float(...)?), which the tape cannot see; "
                        "use the namespace it is given, xp.sum, xp.take, ...")
    if value.shape.rank != 0:
        raise LossError(f"the loss returned a tensor of shape {value.shape.as_list()}, not a scalar: sum it (xp.sum)")
    if value.dtype != DTYPE:
        raise LossError(f"the loss returned a {value.dtype.name} tensor; the oracles work in float64")
    if not np.isfinite(float(value)):
        raise LossError(f"the loss is {float(value)} at the point: it must be finite there")
    raw = tape.gradient(value, theta, unconnected_gradients=tf.UnconnectedGradients.NONE)
    missing = [block for block, g in raw.items() if g is None]
    if len(missing) == len(raw):
        raise LossError("TensorFlow's tape found no path from theta to the loss: it leaves the tape "
                        "(numpy calls, float(...), .numpy()); write it with the xp namespace it is given")
    grads = {}
    for block, g in raw.items():
        grads[block] = np.zeros_like(params[block]) if g is None else densify(g).reshape(params[block].shape)
        if not np.all(np.isfinite(grads[block])):
            bad = np.argwhere(~np.isfinite(grads[block]))[0]
            raise LossError(f"the tape's gradient of {block}[{', '.join(map(str, bad))}] is not finite: the loss "
                            "is not differentiable there (sqrt or log at 0?)")
    return grads, tuple(missing)
