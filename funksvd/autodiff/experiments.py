r"""The 2021 "Funk SVD with GradientTape" tutorial in TensorFlow.

The twin of :func:`funksvd.classics.harmonic_experiment`.
"""

from __future__ import annotations

import time

import numpy as np
import tensorflow as tf

from ..base.log import log
from ..classics.problems import harmonic_problem
from ..fullbatch.stopping import plateau
from ..base.errors import DivergenceError
from ..maths.objectives import OBJECTIVES
from .losses import DTYPE, PENALISED, tf_entries, as_factors, tf_variables
from .trainer import keras_float64, make_step, make_optimizer

__all__ = ["harmonic_experiment"]


def _masked_mse(theta, M, W):
    r""":math:`\frac{1}{\sum W} \sum_{u,i} W_{ui}\, (M - P Q^\top)_{ui}^2`: the MSE where :math:`W = 1`."""
    E = W * (M - tf.matmul(theta["P"], theta["Q"], transpose_b=True))
    return tf.reduce_sum(E * E) / tf.reduce_sum(W)


def harmonic_experiment(n=500, k=30, random_state=0, max_steps=40_000, optimizer="adam", learning_rate=0.01,
                        check_every=1000, window=5, tolerance=0.01, init_std_dev=1.0, monitor="validation",
                        formulation="masked", jit_compile=False, verbose=False):
    r"""Reproduce the 2021 "Funk SVD with GradientTape" tutorial on a harmonic-spectrum matrix, with a tape.

    Parameters
    ----------
    n : int, default 500
        :math:`M` is :math:`n \times n`.
    k : int, default 30
        Factors fitted.
    random_state : int, default 0
        Seed of :func:`funksvd.classics.harmonic_problem` (data and initial factors).
    max_steps : int, default 40000
        Cap on the number of full-batch steps.
    optimizer : {"adam", "sgd", "rmsprop"} or an optimizer instance, default "adam"
        See :func:`make_optimizer`: the tutorial compares plain gradient descent (``"sgd"``,
        learning rate 0.001) with Adam (0.01).
    learning_rate : float, default 0.01
    check_every, window, tolerance : default 1000, 5, 0.01
        Early stopping: every ``check_every`` steps record the monitored MSE; stop when the
        mean of the previous ``window`` records minus the last is below ``tolerance`` times
        that mean (:func:`funksvd.fullbatch.stopping.plateau`).
    init_std_dev : float, default 1.0
        :math:`P, Q \sim \mathcal N(0, \text{init\_std\_dev}^2)` (``tf.random.normal``'s default scale).
    monitor : {"validation", "train"}, default "validation"
        The MSE the stopping rule watches; the tutorial watches the validation MSE.
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
        ``n_validation``, ``tail`` (the tail variance :math:`\tau` of the generating terms
        :math:`j \ge k`, see Notes), ``checks`` (the recorded MSEs), the fitted ``factors`` and the
        generating ``U``, ``V``.

    Notes
    -----
    With :math:`U, V \in \mathbb R^{n \times n}`, entries i.i.d. :math:`\mathcal N(0, 1)`,

    .. math:: M = \sum_{j=0}^{n-1} \frac{1}{j+1}\, u_j v_j^\top = U \operatorname{diag}\Big(\frac{1}{j+1}\Big) V^\top .

    :math:`0.7\,n^2` cells are drawn with replacement; the distinct cells drawn (about
    :math:`1 - e^{-0.7} \approx 50\%`, mask :math:`W`) are the training set :math:`\mathcal K`,
    the others the validation set. An unbiased rank-:math:`k` model is fitted full batch on

    .. math:: L = \frac{1}{|\mathcal K|} \sum_{(u,i) \in \mathcal K} (M_{ui} - p_u^\top q_i)^2
              = \frac{1}{\sum W} \sum_{u,i} W_{ui}\,(M - P Q^\top)_{ui}^2

    (``OBJECTIVES["tf2_mse_2021"]``). The terms :math:`j \ge k` carry a per-cell variance of
    :math:`\tau = \sum_{j=k}^{n-1} (j+1)^{-2} \approx 1/k` (``tail``, the tail variance). It is a
    scale, not a floor that no validation MSE can beat: :math:`u_j, v_j` are Gaussian, not
    orthonormal, so the generating sum is not the SVD of :math:`M`, and the truncated SVD of the
    complete :math:`M` (Eckart-Young) reaches a validation MSE of about 0.026 against
    :math:`\tau \approx 0.031` for :math:`n = 500` (:doc:`/derivations/not_svd`). A fit that sees
    only the training cells pays, to first order, roughly :math:`\tau\, 2 n k / |\mathcal K|` more
    (the parameters fitted to the part of :math:`M` a rank-:math:`k` model cannot hold).
    """
    if formulation not in ("masked", "gather"):
        raise ValueError(f"formulation={formulation!r}; expected 'masked' or 'gather'")
    if monitor not in ("validation", "train"):
        raise ValueError(f"monitor={monitor!r}; expected 'validation' or 'train'")
    problem = harmonic_problem(n, k, random_state, init_std_dev)
    M, drawn = problem["M"], problem["train"]
    theta = tf_variables(problem["start"])
    M_t = tf.constant(M, DTYPE)
    masks = {"train": tf.constant(drawn, DTYPE), "validation": tf.constant(~drawn, DTYPE),
             "full": tf.ones((n, n), DTYPE)}

    def evaluate(which: str) -> float:
        return float(_masked_mse(theta, M_t, masks[which]))

    with keras_float64():
        opt = make_optimizer(optimizer, learning_rate)
        opt.build(list(theta.values()))
        if formulation == "gather":
            users, items = np.nonzero(drawn)
            entries = tf_entries(users, items, M[users, items])
            gather_step = make_step(OBJECTIVES["tf2_mse_2021"], theta, opt, 0.0, dict.fromkeys(PENALISED, 0.0),
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
        (gather_step if formulation == "gather" else step).get_concrete_function()  # trace while in float64

    checks = []
    steps = 0
    start = time.perf_counter()
    while steps < max_steps:
        step()
        steps += 1
        if steps % check_every == 0:
            checks.append(evaluate(monitor))
            if not np.isfinite(checks[-1]):
                raise DivergenceError(f"the harmonic experiment diverged by step {steps}; try a smaller learning_rate")
            log(f"step {steps}: {monitor} mse {checks[-1]:.5f}", verbose)
            if plateau(checks, window, tolerance):
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
        "tail": float(np.sum(problem["spectrum"][k:] ** 2)),
        "checks": checks,
        "factors": as_factors(theta, 0.0),
        "U": problem["U"],
        "V": problem["V"],
    }
