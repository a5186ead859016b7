r"""The TensorFlow twin of :mod:`funksvd.objectives` and :mod:`funksvd.sgd`: the same formulas, differentiated by a tape.

Read this module side by side with :mod:`funksvd.objectives`. Every piece of an
:class:`~funksvd.Objective` is written again here with TensorFlow ops, from the formula and not
from the numpy code, and :class:`tf.GradientTape` differentiates it. Where the numpy code has a
hand-derived gradient, this module has none: it is the oracle that proves the hand derivations.

* :func:`loss` and :func:`gradients` are the full-batch loss and its gradient;
* :func:`sgd_step` applies a per-rating rule of :data:`funksvd.RULES` as a tape gradient step;
* :func:`train` fits factors with a Keras optimizer (full batch or mini-batches);
* :func:`harmonic_experiment` reproduces the 2021 "Funk SVD with GradientTape" tutorial.

Conventions
-----------
* Everything is ``float64`` (``DTYPE``); indices are ``int64`` (``INDEX``).
* The **gather formulation**: the prediction of entry :math:`(u, i)` gathers row :math:`u` of
  :math:`P` and row :math:`i` of :math:`Q`,

  .. math:: z_{ui} = \mu + b_u + b_i + p_u^\top q_i, \qquad p_u = \texttt{gather}(P, u),\ q_i = \texttt{gather}(Q, i).

  It never forms :math:`P Q^\top` and never uses the flat index :math:`u \cdot n_{\mathrm{items}} + i`
  (which overflows ``int32`` on large data).
* The gradient of a gather is a :class:`tf.IndexedSlices`: the rows that were gathered, one per
  entry, with their indices. :func:`densify` turns it into a dense array; rows gathered twice
  (a user with two ratings, a repeated pair) are **summed** -- exactly the
  :math:`\sum_i g_{ui}\, q_i` of the hand derivation.

This is the only module of funksvd that imports TensorFlow; it is imported on first use.
"""

from __future__ import annotations

import contextlib
import os
import time

# Before TensorFlow loads (no effect if the caller imported it already): the twin is an oracle,
# so TensorFlow's plain kernels rather than oneDNN's reordered ones (which TensorFlow itself warns
# may round differently); this also keeps its start-up banner out of the output.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from .errors import DivergenceError
from .factors import BLOCKS, Factors
from .objectives import OBJECTIVES, Objective, as_objective, per_block
from .ratings import Ratings
from .rules import get_rule
from .sgd import _check_pair, _finish, hyper_tuple

__all__ = [
    "DTYPE",
    "INDEX",
    "loss",
    "gradients",
    "tape_gradients",
    "densify",
    "sgd_step",
    "train",
    "make_optimizer",
    "harmonic_experiment",
]

#: Floating-point type of every tensor and variable in this module.
DTYPE = tf.float64
#: Integer type of every index tensor (``int32`` would overflow at Netflix scale and beyond).
INDEX = tf.int64

#: The signature of a batch of entries ``(users, items, values)``: any length, so no retracing.
BATCH_SIGNATURE = (
    tf.TensorSpec([None], INDEX, name="users"),
    tf.TensorSpec([None], INDEX, name="items"),
    tf.TensorSpec([None], DTYPE, name="values"),
)

OPTIMIZERS = {
    "sgd": keras.optimizers.SGD,
    "adam": keras.optimizers.Adam,
    "rmsprop": keras.optimizers.RMSprop,
}


# ---- the pieces of the formula (twins of Objective.apply_link, _rho, penalty_terms) -----------


def _weights(objective: Objective) -> dict[str, float]:
    """:math:`w_f` for the factor blocks, :math:`w_b` for the bias blocks."""
    return {"P": objective.factor_reg_weight, "Q": objective.factor_reg_weight,
            "bu": objective.bias_reg_weight, "bi": objective.bias_reg_weight}


def _predict(theta, users, items, mu):
    r""":math:`z_{ui} = \mu + b_u + b_i + p_u^\top q_i` for every entry, by gathering rows."""
    p_u = tf.gather(theta["P"], users)  # (N, k): row u of P for each entry
    q_i = tf.gather(theta["Q"], items)  # (N, k): row i of Q for each entry
    z = tf.constant(mu, DTYPE) + tf.reduce_sum(p_u * q_i, axis=1)
    if "bu" in theta:
        z = z + tf.gather(theta["bu"], users) + tf.gather(theta["bi"], items)
    return z


def _link(objective: Objective, z):
    r""":math:`h(z) = z`, or :math:`h(z) = r_{\min} + (r_{\max} - r_{\min})\,\sigma(z)`."""
    if objective.link == "identity":
        return z
    lo, hi = objective.rating_range
    return lo + (hi - lo) * tf.sigmoid(z)


def _error(objective: Objective, theta, users, items, values, mu):
    r""":math:`e_{ui} = r_{ui} - h(z_{ui})` for every entry."""
    return values - _link(objective, _predict(theta, users, items, mu))


def _n(objective: Objective, e):
    r""":math:`N = |\mathcal E|` under ``"mean"``, else 1."""
    if objective.reduction == "mean":
        return tf.cast(tf.size(e), DTYPE)
    return tf.constant(1.0, DTYPE)


def _data_term(objective: Objective, e):
    r""":math:`D(e) = \frac{c}{N} \sum_{(u,i)} \rho(e_{ui})` with :math:`\rho(e) = e^2` or :math:`|e|`."""
    rho = e * e if objective.data == "squared" else tf.abs(e)  # d|e|/de at 0 is 0 in TF: sign(0) = 0
    return objective.data_weight * tf.reduce_sum(rho) / _n(objective, e)


def _penalty(objective: Objective, theta, users, items, lam):
    r"""The penalty part :math:`\frac{1}{N}\sum_{(u,i)} \Omega_{ui} + \Omega` of the loss.

    ``"per_rating"`` gathers :math:`p_u, q_i, b_u, b_i` once per entry (no counts), the others
    run over whole blocks.
    """
    weight = _weights(objective)
    total = tf.constant(0.0, DTYPE)
    if objective.penalty == "per_rating":
        omega_ui = tf.zeros(tf.shape(users), DTYPE)
        for block, index in (("P", users), ("Q", items), ("bu", users), ("bi", items)):
            if block not in theta:
                continue
            rows = tf.gather(theta[block], index)  # the parameter of each entry, repeated per entry
            squares = rows * rows if rows.shape.rank == 1 else tf.reduce_sum(rows * rows, axis=1)
            omega_ui = omega_ui + lam[block] * weight[block] * squares
        total = tf.reduce_sum(omega_ui) / _n(objective, omega_ui)
    elif objective.penalty == "frobenius":
        for block, variable in theta.items():
            total = total + lam[block] * weight[block] * tf.reduce_sum(variable * variable)
    elif objective.penalty == "l1":
        for block, variable in theta.items():
            total = total + lam[block] * weight[block] * tf.reduce_sum(tf.abs(variable))
    return total


def _loss(objective: Objective, theta, users, items, values, mu, lam):
    r""":math:`L = D(e) + \frac{1}{N}\sum \Omega_{ui} + \Omega`, all in TensorFlow."""
    e = _error(objective, theta, users, items, values, mu)
    return _data_term(objective, e) + _penalty(objective, theta, users, items, lam)


# ---- conversions -------------------------------------------------------------------------------


def _variables(factors: Factors) -> dict[str, tf.Variable]:
    """One float64 ``tf.Variable`` per block of ``factors``."""
    return {block: tf.Variable(np.asarray(theta, dtype=np.float64), dtype=DTYPE, name=block)
            for block, theta in factors.params().items()}


def _entries(users, items, values):
    """``(users, items, values)`` as int64 / float64 tensors."""
    return (tf.constant(np.asarray(users, dtype=np.int64), INDEX),
            tf.constant(np.asarray(items, dtype=np.int64), INDEX),
            tf.constant(np.asarray(values, dtype=np.float64), DTYPE))


def _block_reg(reg, factors: Factors) -> dict[str, float]:
    r""":math:`\lambda` per block of ``factors`` (a mapping must name each block present)."""
    lam = per_block(reg)
    missing = [block for block in factors.blocks if block not in lam]
    if missing:  # as funksvd.objectives raises for a missing block
        raise ValueError(f"reg must give every block of the model {list(factors.blocks)}; missing {missing}")
    return lam


def _factors(theta, mu: float) -> Factors:
    """The current values of the variables as :class:`~funksvd.Factors`."""
    arrays = {block: variable.numpy() for block, variable in theta.items()}
    return Factors(arrays["P"], arrays["Q"], arrays.get("bu"), arrays.get("bi"), mu)


def densify(gradient) -> np.ndarray:
    r"""A tape gradient as a dense float64 array; :class:`tf.IndexedSlices` rows with the same index are summed.

    Parameters
    ----------
    gradient : tf.Tensor or tf.IndexedSlices

    Notes
    -----
    The gradient of :math:`\texttt{gather}(P, \mathrm{idx})` with respect to :math:`P` is sparse:
    row :math:`j` of the upstream gradient :math:`G` belongs to row :math:`\mathrm{idx}_j` of
    :math:`P`. Densifying scatters and adds,

    .. math:: \Big(\frac{\partial L}{\partial P}\Big)_u = \sum_{j:\ \mathrm{idx}_j = u} G_j ,

    which is ``np.add.at(dP, idx, G)`` of the numpy code.
    """
    return np.asarray(tf.convert_to_tensor(gradient).numpy(), dtype=np.float64)


# ---- full batch ----------------------------------------------------------------------------------


def loss(factors: Factors, ratings: Ratings, objective, reg=0.02) -> float:
    r"""The full-batch loss :math:`L(\theta)`, computed with TensorFlow ops.

    Same arguments and value as :func:`funksvd.loss` (equal up to rounding, ~1e-15 relative).

    Parameters
    ----------
    factors : Factors
        The point :math:`\theta = (P, Q, b_u, b_i)`; converted to float64.
    ratings : Ratings
    objective : Objective or str
        An :class:`~funksvd.Objective`, a rule name or a key of :data:`~funksvd.OBJECTIVES`.
    reg : float or mapping, default 0.02
        :math:`\lambda`, one for all blocks or one per block ``{"P", "Q", "bu", "bi"}``.

    Returns
    -------
    float

    Notes
    -----
    For each entry :math:`(u, i, r_{ui})` of :math:`\mathcal E` (the observed ratings, or every
    cell with missing as 0 when ``entries="dense"``), with gathered rows:

    .. math::

        z_{ui} = \mu + b_u + b_i + p_u^\top q_i, \qquad e_{ui} = r_{ui} - h(z_{ui})

        L = \frac{1}{N} \sum_{(u,i) \in \mathcal E} \big( c\,\rho(e_{ui}) + \Omega_{ui} \big) + \Omega

    :math:`N = |\mathcal E|` for ``reduction="mean"``, else 1. The per-rating penalty gathers the
    parameters of each entry, :math:`\Omega_{ui} = \lambda_P w_f \lVert p_u\rVert^2 +
    \lambda_Q w_f \lVert q_i\rVert^2 + \lambda_{b_u} w_b b_u^2 + \lambda_{b_i} w_b b_i^2`;
    the whole-model penalty is :math:`\Omega = \sum_\theta \lambda_\theta w_\theta
    \lVert\theta\rVert_F^2` (``"frobenius"``) or :math:`\sum_\theta \lambda_\theta w_\theta
    \lVert\theta\rVert_1` (``"l1"``).
    """
    objective = as_objective(objective)
    lam = _block_reg(reg, factors)
    theta = {block: tf.constant(np.asarray(value, dtype=np.float64), DTYPE)
             for block, value in factors.params().items()}
    users, items, values = _entries(*objective.select_entries(factors, ratings))
    return float(_loss(objective, theta, users, items, values, factors.mu, lam))


def tape_gradients(factors: Factors, ratings: Ratings, objective, reg=0.02) -> dict:
    r"""The raw output of :meth:`tf.GradientTape.gradient` for :math:`L(\theta)`, by block.

    Same arguments as :func:`loss`. Blocks reached only through ``tf.gather`` come back as
    :class:`tf.IndexedSlices` (one row per gathered entry, duplicates not yet summed); blocks
    that a whole-model penalty also touches come back dense. :func:`gradients` densifies them.

    Notes
    -----
    Reverse-mode automatic differentiation of the loss :math:`L` of :func:`loss`. For
    :math:`p_u = \texttt{gather}(P, \mathrm{users})_j` the tape returns the slices

    .. math:: \Big(\mathrm{indices} = \mathrm{users},\ \mathrm{values}_j = \frac{\partial L}{\partial z_j}\, q_{i_j}\Big),

    one per entry, before any summation.
    """
    objective = as_objective(objective)
    lam = _block_reg(reg, factors)
    theta = _variables(factors)
    users, items, values = _entries(*objective.select_entries(factors, ratings))
    with tf.GradientTape() as tape:
        value = _loss(objective, theta, users, items, values, factors.mu, lam)
    return tape.gradient(value, theta, unconnected_gradients=tf.UnconnectedGradients.ZERO)


def gradients(factors: Factors, ratings: Ratings, objective, reg=0.02) -> dict[str, np.ndarray]:
    r""":math:`\partial L/\partial\theta` by TensorFlow autodiff, as float64 arrays.

    Same arguments as :func:`loss`; same keys as :func:`funksvd.gradients` (``"P", "Q"`` and,
    for a biased model, ``"bu", "bi"``). This is the oracle the hand-derived gradients are
    checked against.

    Notes
    -----
    The tape differentiates the loss of :func:`loss`; the gather gradients are densified by
    :func:`densify`, which sums the rows of repeated indices:

    .. math::

        \frac{\partial L}{\partial p_u} = \sum_{(u,i) \in \mathcal E} g_{ui}\, q_i + \frac{\partial\Omega}{\partial p_u},
        \qquad g_{ui} = \frac{\partial L}{\partial z_{ui}} = -\frac{c\,\rho'(e_{ui})\,h'(z_{ui})}{N}

    and likewise for :math:`q_i, b_u, b_i` -- the tape never sees this formula, it only
    applies the chain rule to the ops of :func:`loss`.
    """
    return {block: densify(g) for block, g in tape_gradients(factors, ratings, objective, reg).items()}


# ---- one SGD step ---------------------------------------------------------------------------------


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
        \frac{\partial e}{\partial \theta_b}\Big|_{\theta^{(k)}} + \frac{\partial \Omega_{ui}}{\partial \theta_b}\Big|_{\theta^{(k)}} \Big),
        \qquad b \in S_k.

    The first factor is a vector-Jacobian product: ``tape.gradient(e, theta,
    output_gradients=dl_de)``.
    """
    rule = get_rule(rule)
    u, i, r = _check_pair(factors, u, i, r)
    step = dict(zip(BLOCKS, hyper_tuple(lr, "lr")))
    lam = dict(zip(BLOCKS, hyper_tuple(reg, "reg")))
    ell = rule.objective
    theta = _variables(factors)
    users, items, values = _entries([u], [i], [r])

    if rule.simultaneous:
        with tf.GradientTape() as tape:
            value = _loss(ell, theta, users, items, values, factors.mu, lam)
        grads = tape.gradient(value, theta, unconnected_gradients=tf.UnconnectedGradients.ZERO)
        for block, variable in theta.items():  # all blocks from the old point
            variable.assign_sub(step[block] * rule.scale[block] * densify(grads[block]))
    else:
        # dl/de at the start of the sample: the error is computed once, before any update
        e0 = _error(ell, theta, users, items, values, factors.mu)
        with tf.GradientTape() as tape:
            tape.watch(e0)
            data = _data_term(ell, e0)
        dl_de = tape.gradient(data, e0)
        for stage in rule.stages:
            blocks = [block for block in stage if block in theta]
            if not blocks:
                continue  # the bias stage of an unbiased model
            with tf.GradientTape() as tape:
                e = _error(ell, theta, users, items, values, factors.mu)  # at the current state
                penalty = _penalty(ell, theta, users, items, lam)
            grads = tape.gradient(
                [e, penalty], [theta[block] for block in blocks],
                output_gradients=[dl_de, tf.constant(1.0, DTYPE)],
                unconnected_gradients=tf.UnconnectedGradients.ZERO,
            )
            for block, grad in zip(blocks, grads):
                theta[block].assign_sub(step[block] * rule.scale[block] * densify(grad))

    arrays = [theta[block].numpy() if block in theta else np.zeros(0) for block in BLOCKS]
    return _finish(arrays, factors.mu, f"the {rule.name} tape step on (u={u}, i={i})")


# ---- the trainer ------------------------------------------------------------------------------------


@contextlib.contextmanager
def _keras_float64():
    """Keras' default float type set to float64 for the duration (learning rates, schedules)."""
    old = keras.config.floatx()
    keras.config.set_floatx("float64")
    try:
        yield
    finally:
        keras.config.set_floatx(old)


def make_optimizer(optimizer="adam", learning_rate=0.01, decay_rate=None, decay_steps=1000):
    r"""A fresh Keras optimizer: ``"sgd"``, ``"adam"`` or ``"rmsprop"``, or a copy of an instance.

    Parameters
    ----------
    optimizer : str or keras.optimizers.Optimizer
    learning_rate : float
        :math:`\gamma_0`.
    decay_rate : float, optional
        With it, the learning rate decays in a staircase,
        ``keras.optimizers.schedules.ExponentialDecay(learning_rate, decay_steps, decay_rate, staircase=True)``.
    decay_steps : int

    Notes
    -----
    .. math:: \gamma_t = \gamma_0\, d^{\lfloor t / T \rfloor}

    with :math:`d` = ``decay_rate`` and :math:`T` = ``decay_steps`` (constant :math:`\gamma_0`
    without ``decay_rate``). Keras 3 takes ``learning_rate=``, not ``lr=``. ``learning_rate``
    and the decay apply to a named optimizer only. An instance is a template: it is copied
    through ``get_config`` / ``from_config`` (keeping its own learning rate or schedule), so the
    same instance can serve many fits and is never modified. Its learning rate is held in
    float64, like everything else here.
    """
    if isinstance(optimizer, keras.optimizers.Optimizer):
        # a template: a fresh copy, since a Keras optimizer serves only the variables it was built for
        with _keras_float64():
            return optimizer.__class__.from_config(optimizer.get_config())
    name = optimizer.lower() if isinstance(optimizer, str) else optimizer
    if name not in OPTIMIZERS:
        raise ValueError(f"optimizer={optimizer!r}; expected one of {sorted(OPTIMIZERS)} or a keras optimizer")
    if not (np.isfinite(learning_rate) and learning_rate > 0):
        raise ValueError(f"learning_rate must be a positive number, got {learning_rate!r}")
    rate = learning_rate
    if decay_rate is not None:
        if not (np.isfinite(decay_rate) and decay_rate > 0):
            raise ValueError(f"decay_rate must be a positive number, got {decay_rate!r}")
        if int(decay_steps) != decay_steps or decay_steps < 1:
            raise ValueError(f"decay_steps must be a positive integer, got {decay_steps!r}")
        rate = keras.optimizers.schedules.ExponentialDecay(
            float(learning_rate), int(decay_steps), float(decay_rate), staircase=True)
    with _keras_float64():
        return OPTIMIZERS[name](learning_rate=rate)


def _make_step(objective: Objective, theta, optimizer, mu: float, lam, jit_compile=False):
    r"""The training step as a ``tf.function`` over one batch: :math:`\theta \leftarrow \mathrm{opt}(\theta, \nabla L_B)`.

    Traced once: the batch length is left open in :data:`BATCH_SIGNATURE`. With ``jit_compile``
    XLA fuses the gathers, products and scatter-adds (about twice as fast on CPU, but it
    compiles once per distinct batch length).
    """
    variables = list(theta.values())

    @tf.function(input_signature=BATCH_SIGNATURE, jit_compile=jit_compile)
    def step(users, items, values):
        with tf.GradientTape() as tape:
            value = _loss(objective, theta, users, items, values, mu, lam)
        grads = tape.gradient(value, variables, unconnected_gradients=tf.UnconnectedGradients.ZERO)
        optimizer.apply_gradients(zip([tf.convert_to_tensor(g) for g in grads], variables))
        return value

    return step


def _make_evaluate(objective: Objective, theta, mu: float, lam):
    """``tf.function``s for the loss on a batch and the predictions :math:`h(z)` of a batch."""

    @tf.function(input_signature=BATCH_SIGNATURE)
    def evaluate(users, items, values):
        return _loss(objective, theta, users, items, values, mu, lam)

    @tf.function(input_signature=BATCH_SIGNATURE[:2])
    def predict(users, items):
        return _link(objective, _predict(theta, users, items, mu))

    return evaluate, predict


def train(factors, ratings, *, objective="funk", reg=0.02, optimizer="adam", learning_rate=0.01,
          n_epochs=20, batch_size=None, decay_rate=None, decay_steps=1000, validation=None,
          random_state=None, callback=None, verbose=False):
    r"""Fit ``factors`` to ``ratings`` by minimising ``objective`` with a Keras optimizer and a tape.

    Parameters
    ----------
    factors : Factors
        Initial parameters (converted to float64); an unbiased model stays unbiased.
    ratings : Ratings
        Training ratings.
    objective : Objective or str, default "funk"
        The loss :math:`L` (see :func:`loss`).
    reg : float or mapping, default 0.02
        :math:`\lambda`.
    optimizer : {"sgd", "adam", "rmsprop"} or keras.optimizers.Optimizer, default "adam"
        An instance is used as a template and copied (see :func:`make_optimizer`).
    learning_rate : float, default 0.01
    n_epochs : int, default 20
    batch_size : int, optional
        ``None``: one full-batch step per epoch. Otherwise the entries are shuffled every epoch
        (``numpy.random.default_rng(random_state)``) and cut into batches of this size.
    decay_rate, decay_steps : optional
        Staircase exponential decay of the learning rate (see :func:`make_optimizer`).
    validation : Ratings, optional
        Held-out ratings; their RMSE is recorded after every epoch.
    random_state : int or numpy Generator, optional
        Seed of the batch order; the same seed gives bit-identical factors.
    callback : callable, optional
        ``callback(epoch, loss, get_factors)`` after every epoch; ``get_factors()`` returns the
        current :class:`~funksvd.Factors`. Returning ``True`` (any true value) stops training.
    verbose : bool, default False
        Print one line per epoch.

    Returns
    -------
    factors : Factors
        The trained parameters (float64).
    history : list of dict
        One dict per epoch: ``{"epoch": e, "loss": L, "val_rmse": rmse or None, "seconds": s}``,
        epochs counted from 1, ``L`` the full training objective after the epoch and ``s`` the
        wall time of the epoch (steps and loss evaluation).

    Raises
    ------
    DivergenceError
        If the loss or a parameter becomes non-finite (the message names the epoch and
        suggests a smaller learning rate). NaN factors are never returned.

    Notes
    -----
    Each step minimises the objective **on its batch** :math:`B`,

    .. math::

        L_B(\theta) = \frac{1}{N_B} \sum_{(u,i) \in B} \big( c\,\rho(e_{ui}) + \Omega_{ui} \big) + \Omega,
        \qquad \theta \leftarrow \mathrm{opt}\big(\theta, \nabla_\theta L_B(\theta)\big)

    (:math:`N_B = |B|` under ``"mean"``). A whole-model penalty :math:`\Omega` (``"frobenius"``,
    ``"l1"``) enters every batch in full, so with many batches per epoch it weighs more than in
    the full-batch objective; the per-rating penalty scales with the batch. Gradients of the
    gathers are densified, so Adam and RMSprop update every row at every step (dense moments).
    The validation RMSE uses the predictions :math:`h(z_{ui})` of the objective's link.
    """
    objective = as_objective(objective)
    lam = _block_reg(reg, factors)
    users, items, values = objective.select_entries(factors, ratings)
    n = len(values)
    if int(n_epochs) != n_epochs or n_epochs < 1:
        raise ValueError(f"n_epochs must be a positive integer, got {n_epochs!r}")
    if batch_size is not None and (int(batch_size) != batch_size or batch_size < 1):
        raise ValueError(f"batch_size must be a positive integer or None, got {batch_size!r}")
    if validation is not None:
        if not isinstance(validation, Ratings):
            raise TypeError(f"validation must be a funksvd.Ratings, got {type(validation).__name__}")
        if validation.shape != ratings.shape:
            raise ValueError(f"validation is {validation.shape} but the ratings are {ratings.shape}")
    if callback is not None and not callable(callback):
        raise TypeError("callback must be callable: callback(epoch, loss, get_factors)")

    rng = np.random.default_rng(random_state)
    theta = _variables(factors)
    mu = factors.mu
    all_entries = _entries(users, items, values)
    with _keras_float64():
        opt = make_optimizer(optimizer, learning_rate, decay_rate, decay_steps)
        opt.build(list(theta.values()))
        step = _make_step(objective, theta, opt, mu, lam)
        evaluate, predict = _make_evaluate(objective, theta, mu, lam)
        step.get_concrete_function()  # trace now, while Keras computes in float64
    if validation is not None:
        val_users, val_items, _ = _entries(validation.users, validation.items, validation.values)

    def get_factors() -> Factors:
        return _factors(theta, mu)

    history = []
    for epoch in range(1, int(n_epochs) + 1):
        start = time.perf_counter()
        if batch_size is None:
            step(*all_entries)
        else:
            order = rng.permutation(n)
            for first in range(0, n, int(batch_size)):
                batch = order[first:first + int(batch_size)]
                step(*_entries(users[batch], items[batch], values[batch]))
        value = float(evaluate(*all_entries))
        if not (np.isfinite(value) and all(np.all(np.isfinite(v.numpy())) for v in theta.values())):
            raise DivergenceError(
                f"training diverged in epoch {epoch}: the {objective} loss is {value}; the learning rate "
                f"({learning_rate!r} with optimizer {optimizer!r}) is too large for this data: "
                "try a smaller learning_rate"
            )
        val_rmse = None
        if validation is not None:
            r_hat = predict(val_users, val_items).numpy()
            val_rmse = float(np.sqrt(np.mean((validation.values - r_hat) ** 2)))
        seconds = time.perf_counter() - start
        history.append({"epoch": epoch, "loss": value, "val_rmse": val_rmse, "seconds": seconds})
        if verbose:
            shown = "" if val_rmse is None else f"  val_rmse {val_rmse:.5f}"
            print(f"epoch {epoch}/{n_epochs}  loss {value:.6g}{shown}  ({seconds:.2f} s)")
        if callback is not None and callback(epoch, value, get_factors):  # a true value stops
            break
    return get_factors(), history


# ---- the 2021 tutorial -----------------------------------------------------------------------------


def _masked_mse(theta, M, W):
    r""":math:`\frac{1}{\sum W} \sum_{u,i} W_{ui}\, (M - P Q^\top)_{ui}^2`: the mean squared error over the cells where :math:`W = 1`."""
    E = W * (M - tf.matmul(theta["P"], theta["Q"], transpose_b=True))
    return tf.reduce_sum(E * E) / tf.reduce_sum(W)


def harmonic_experiment(n=500, k=30, random_state=0, max_steps=40_000, learning_rate=0.01,
                        check_every=1000, window=5, tolerance=0.01, init_std_dev=1.0, formulation="masked",
                        jit_compile=False, verbose=False):
    r"""Reproduce the 2021 "Funk SVD with GradientTape" tutorial on a harmonic-spectrum matrix.

    Parameters
    ----------
    n : int, default 500
        :math:`M` is :math:`n \times n`.
    k : int, default 30
        Factors fitted.
    random_state : int, default 0
        Seed of the data and of the initial factors.
    max_steps : int, default 40000
        Cap on the number of Adam steps.
    learning_rate : float, default 0.01
        Adam's learning rate.
    check_every, window, tolerance : default 1000, 5, 0.01
        Early stopping: every ``check_every`` steps record the training loss; stop when the
        mean of the previous ``window`` records minus the last is below ``tolerance`` times
        that mean.
    init_std_dev : float, default 1.0
        :math:`P, Q \sim \mathcal N(0, \text{init\_std\_dev}^2)` (``tf.random.normal``'s default scale).
    formulation : {"masked", "gather"}, default "masked"
        ``"masked"`` computes :math:`P Q^\top` densely and masks it, as the tutorial does;
        ``"gather"`` is funksvd's general formulation (:func:`train`): the same loss, but at
        this density (half the cells) gathering :math:`k`-vectors for every kept cell moves
        :math:`k` times more memory than the whole matrix, and is several times slower on a CPU.
    jit_compile : bool, default False
        Compile the step with XLA (about twice as fast for ``"gather"``, no gain for ``"masked"``).
    verbose : bool, default False

    Returns
    -------
    dict
        ``val_mse`` (MSE on the held-out cells; the tutorial reports about 0.032), ``train_mse``,
        ``full_mse`` (over every cell), ``steps``, ``seconds`` (training wall time), ``n_train``,
        ``n_validation``, ``tail`` (the variance of the components a rank-``k`` model cannot
        hold, see Notes), ``checks`` (the recorded training losses) and the fitted ``factors``.

    Notes
    -----
    With :math:`U, V \in \mathbb R^{n \times n}`, entries i.i.d. :math:`\mathcal N(0, 1)`,

    .. math:: M = \sum_{j=0}^{n-1} \frac{1}{j+1}\, u_j v_j^\top = U \operatorname{diag}\Big(\frac{1}{j+1}\Big) V^\top .

    :math:`0.7\,n^2` cells are drawn with replacement; the distinct cells drawn (about
    :math:`1 - e^{-0.7} \approx 50\%`, mask :math:`W`) are the training set :math:`\mathcal K`,
    the others the validation set. An unbiased rank-:math:`k` model is fitted full batch by
    Adam on

    .. math:: L = \frac{1}{|\mathcal K|} \sum_{(u,i) \in \mathcal K} (M_{ui} - p_u^\top q_i)^2
              = \frac{1}{\sum W} \sum_{u,i} W_{ui}\,(M - P Q^\top)_{ui}^2

    (``OBJECTIVES["tf2_mse_2021"]``). The terms :math:`j \ge k` carry a per-cell variance of
    :math:`\tau = \sum_{j=k}^{n-1} (j+1)^{-2} \approx 1/k` (``tail``): to the rank-:math:`k` model
    they are noise, a floor for the validation MSE, which the fit exceeds by roughly
    :math:`\tau\, 2 n k / |\mathcal K|` (the parameters fitted to that noise).
    """
    if formulation not in ("masked", "gather"):
        raise ValueError(f"formulation={formulation!r}; expected 'masked' or 'gather'")
    rng = np.random.default_rng(random_state)
    U = rng.standard_normal((n, n))
    V = rng.standard_normal((n, n))
    spectrum = 1.0 / np.arange(1, n + 1)
    M = (U * spectrum) @ V.T
    drawn = np.zeros((n, n), dtype=bool)
    n_draws = int(0.7 * n * n)
    drawn[rng.integers(0, n, n_draws), rng.integers(0, n, n_draws)] = True
    factors = Factors.random(n, n, k, biased=False, init_std_dev=init_std_dev, random_state=rng)
    theta = _variables(factors)
    M_t = tf.constant(M, DTYPE)
    masks = {"train": tf.constant(drawn, DTYPE), "validation": tf.constant(~drawn, DTYPE),
             "full": tf.ones((n, n), DTYPE)}

    def evaluate(which: str) -> float:
        return float(_masked_mse(theta, M_t, masks[which]))

    with _keras_float64():
        opt = make_optimizer("adam", learning_rate)
        opt.build(list(theta.values()))
        if formulation == "gather":
            users, items = np.nonzero(drawn)
            entries = _entries(users, items, M[users, items])
            gather_step = _make_step(OBJECTIVES["tf2_mse_2021"], theta, opt, 0.0, dict.fromkeys(BLOCKS, 0.0),
                                     jit_compile=jit_compile)

            def step():
                return gather_step(*entries)
        else:
            variables = list(theta.values())

            @tf.function(input_signature=(), jit_compile=jit_compile)
            def step():
                with tf.GradientTape() as tape:
                    value = _masked_mse(theta, M_t, masks["train"])
                opt.apply_gradients(zip(tape.gradient(value, variables), variables))
                return value
        step()  # trace (and compile) before the clock starts: one step, counted below
    steps = 1

    checks = []
    start = time.perf_counter()
    while steps < max_steps:
        step()
        steps += 1
        if steps % check_every == 0:
            checks.append(evaluate("train"))
            if not np.isfinite(checks[-1]):
                raise DivergenceError(f"the harmonic experiment diverged by step {steps}; try a smaller learning_rate")
            if verbose:
                print(f"step {steps}: train mse {checks[-1]:.5f}  validation mse {evaluate('validation'):.5f}")
            if len(checks) > window:
                previous = float(np.mean(checks[-window - 1:-1]))
                if previous - checks[-1] < tolerance * previous:
                    break
    seconds = time.perf_counter() - start
    return {
        "val_mse": evaluate("validation"),
        "train_mse": evaluate("train"),
        "full_mse": evaluate("full"),
        "steps": steps,
        "seconds": seconds,
        "n_train": int(drawn.sum()),
        "n_validation": int((~drawn).sum()),
        "tail": float(np.sum(spectrum[k:] ** 2)),
        "checks": checks,
        "factors": _factors(theta, 0.0),
    }
