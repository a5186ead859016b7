r"""Training with a Keras optimizer on the tape gradient: the twin of :func:`funksvd.train`."""

from __future__ import annotations

import contextlib
import time

import keras
import numpy as np
import tensorflow as tf

from ..base.log import log
from ..base.rng import check_random_state
from ..base.validation import positive_int, positive_number
from ..fullbatch import optimizers as numpy_optimizers
from ..base.errors import DivergenceError
from ..base.measures import root_mean_square
from ..model.factors import Factors
from ..fullbatch.trainer import check_train_arguments, epoch_batches
from ..maths.objectives import Objective, as_objective
from .losses import (BATCH_SIGNATURE, INDEX, as_factors, select_entries, tf_block_reg, tf_entries, tf_link, tf_loss,
                     tf_predict, tf_variables)

__all__ = ["OPTIMIZERS", "StaircaseDecay", "make_optimizer", "train"]

#: The Keras optimisers by name.
OPTIMIZERS = {
    "sgd": keras.optimizers.SGD,
    "adam": keras.optimizers.Adam,
    "rmsprop": keras.optimizers.RMSprop,
}


class StaircaseDecay(keras.optimizers.schedules.LearningRateSchedule):
    r"""Keras' ``ExponentialDecay(staircase=True)`` in float64: :math:`\gamma_t = \gamma_0\, d^{\lfloor t / T \rfloor}`.

    On TensorFlow, ``ExponentialDecay`` converts :math:`\gamma_0` and :math:`d` to float32 tensors
    and returns a float32 learning rate; this computes the same formula in float64, as
    :class:`funksvd.fullbatch.optimizers.Optimizer` does.
    """

    def __init__(self, initial_learning_rate, decay_steps, decay_rate):
        self.initial_learning_rate = float(initial_learning_rate)
        self.decay_steps = int(decay_steps)
        self.decay_rate = float(decay_rate)

    def __call__(self, step):
        p = tf.floor(tf.cast(step, tf.float64) / tf.constant(float(self.decay_steps), tf.float64))
        return tf.constant(self.initial_learning_rate, tf.float64) * tf.pow(
            tf.constant(self.decay_rate, tf.float64), p)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "decay_rate": self.decay_rate}


@contextlib.contextmanager
def keras_float64():
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
    optimizer : str, keras.optimizers.Optimizer or funksvd.fullbatch.optimizers.Optimizer
        A numpy optimiser of :mod:`funksvd.fullbatch.optimizers` (e.g. ``RMSprop(1e-3, momentum=0.9)``)
        gives the Keras optimiser of the same class and settings: the twin of that optimiser.
    learning_rate : float
        :math:`\gamma_0`.
    decay_rate : float, optional
        With it, the learning rate decays in a staircase, as Keras'
        ``ExponentialDecay(learning_rate, decay_steps, decay_rate, staircase=True)`` but in
        float64 (:class:`StaircaseDecay`).
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
    if isinstance(optimizer, numpy_optimizers.Optimizer):  # its settings, by their Keras names
        config = optimizer.get_config()
        decay_rate, decay_steps = config.pop("decay_rate"), config.pop("decay_steps")
        rate = config.pop("learning_rate")
        if decay_rate is not None:
            rate = StaircaseDecay(rate, decay_steps, decay_rate)
        with keras_float64():
            return getattr(keras.optimizers, optimizer.keras_name)(learning_rate=rate, **config)
    if isinstance(optimizer, keras.optimizers.Optimizer):
        # a template: a fresh copy, since a Keras optimizer serves only the variables it was built for
        with keras_float64():
            return optimizer.__class__.from_config(optimizer.get_config())
    name = optimizer.lower() if isinstance(optimizer, str) else optimizer
    if name not in OPTIMIZERS:
        raise ValueError(f"optimizer={optimizer!r}; expected one of {sorted(OPTIMIZERS)} or a keras optimizer")
    positive_number(learning_rate, "learning_rate")
    rate = learning_rate
    if decay_rate is not None:
        positive_number(decay_rate, "decay_rate")
        positive_int(decay_steps, "decay_steps", whole=True)
        rate = StaircaseDecay(float(learning_rate), int(decay_steps), float(decay_rate))
    with keras_float64():
        return OPTIMIZERS[name](learning_rate=rate)


def make_step(objective: Objective, theta, optimizer, mu: float, lam, jit_compile=False):
    r"""The training step, a ``tf.function`` over one batch: :math:`\theta \leftarrow \mathrm{opt}(\theta, \nabla L_B)`.

    Traced once: the batch length is left open in :data:`BATCH_SIGNATURE`. With ``jit_compile``
    XLA fuses the gathers, products and scatter-adds (about twice as fast on CPU, but it
    compiles once per distinct batch length).
    """
    variables = list(theta.values())

    @tf.function(input_signature=BATCH_SIGNATURE, jit_compile=jit_compile)
    def step(users, items, values):
        with tf.GradientTape() as tape:
            value = tf_loss(objective, theta, users, items, values, mu, lam)
        grads = tape.gradient(value, variables, unconnected_gradients=tf.UnconnectedGradients.ZERO)
        optimizer.apply_gradients(zip([tf.convert_to_tensor(g) for g in grads], variables))
        return value

    return step


def _make_evaluate(objective: Objective, theta, mu: float, lam):
    """``tf.function``s for the loss on a batch and the predictions :math:`h(z)` of a batch."""

    @tf.function(input_signature=BATCH_SIGNATURE)
    def evaluate(users, items, values):
        return tf_loss(objective, theta, users, items, values, mu, lam)

    @tf.function(input_signature=BATCH_SIGNATURE[:2])
    def predict(users, items):
        return tf_link(objective, tf_predict(theta, users, items, mu))

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
    optimizer : {"sgd", "adam", "rmsprop"}, keras.optimizers.Optimizer or funksvd.fullbatch.optimizers.Optimizer
        An instance is used as a template and copied (see :func:`make_optimizer`).
    learning_rate : float, default 0.01
    n_epochs : int, default 20
    batch_size : int, optional
        ``None``: one full-batch step per epoch. Otherwise the entries are shuffled every epoch
        (``numpy.random.default_rng(random_state)``) and cut into batches of this size, by
        :func:`funksvd.fullbatch.epoch_batches`: the batches of :func:`funksvd.train`.
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
    The validation RMSE uses the predictions :math:`h(z_{ui})` of the objective's link. With
    ``learn_mu`` the offset :math:`\mu` is a variable too.
    """
    check_train_arguments(factors, ratings, n_epochs, batch_size, validation, callback)
    objective = as_objective(objective)
    lam = tf_block_reg(reg, factors)
    all_entries = select_entries(objective, factors, ratings)
    n = int(tf.size(all_entries[2]))

    rng = check_random_state(random_state)
    theta = tf_variables(factors, objective.learn_mu)
    mu = factors.mu
    with keras_float64():
        opt = make_optimizer(optimizer, learning_rate, decay_rate, decay_steps)
        opt.build(list(theta.values()))
        step = make_step(objective, theta, opt, mu, lam)
        evaluate, predict = _make_evaluate(objective, theta, mu, lam)
        step.get_concrete_function()  # trace now, while Keras computes in float64
    if validation is not None:
        val_users, val_items, _ = tf_entries(validation.users, validation.items, validation.values)

    def get_factors() -> Factors:
        return as_factors(theta, mu)

    history = []
    for epoch in range(1, int(n_epochs) + 1):
        start = time.perf_counter()
        for batch in epoch_batches(n, batch_size, rng):
            if batch is None:
                step(*all_entries)
            else:
                index = tf.constant(batch, INDEX)
                step(*(tf.gather(column, index) for column in all_entries))
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
            val_rmse = root_mean_square(validation.values - r_hat)
        seconds = time.perf_counter() - start
        history.append({"epoch": epoch, "loss": value, "val_rmse": val_rmse, "seconds": seconds})
        shown = "" if val_rmse is None else f"  val_rmse {val_rmse:.5f}"
        log(f"epoch {epoch}/{n_epochs}  loss {value:.6g}{shown}  ({seconds:.2f} s)", verbose)
        if callback is not None and callback(epoch, value, get_factors):  # a true value stops
            break
    return get_factors(), history
