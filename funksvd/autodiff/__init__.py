r"""The TensorFlow twin of the numpy code: the same formulas, differentiated by a tape.

The twin of :mod:`funksvd.maths.objectives`, :mod:`funksvd.sgd` and :mod:`funksvd.fullbatch`.

Read this package side by side with the numpy code. Every piece of an
:class:`~funksvd.Objective` is written again here with TensorFlow ops, from the formula and not
from the numpy code -- including the choice of the entries the loss runs over -- and
:class:`tf.GradientTape` differentiates it. Where the numpy code has a hand-derived gradient,
this package has none: it is the oracle that proves the hand derivations.

* :mod:`~funksvd.autodiff.losses`: :func:`loss` and :func:`gradients`, the full-batch loss and
  its tape gradient;
* :mod:`~funksvd.autodiff.steps`: :func:`sgd_step` applies a per-rating rule of
  :data:`funksvd.RULES` as a tape gradient step;
* :mod:`~funksvd.autodiff.trainer`: :func:`train` fits factors with a Keras optimizer (full batch
  or mini-batches), the twin of :func:`funksvd.train`;
* :mod:`~funksvd.autodiff.experiments`: :func:`harmonic_experiment` reproduces the 2021
  "Funk SVD with GradientTape" tutorial.

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

This is the only package of funksvd that imports TensorFlow; it is imported on first use, through
:func:`funksvd.base.optional.require_tensorflow`, which sets TensorFlow's options
(:data:`~funksvd.base.optional.TF_OPTIONS`) before it loads.
"""

from __future__ import annotations

from ..base.optional import require_tensorflow

# the twin loads TensorFlow here, through the one door that sets its options first
require_tensorflow("funksvd.autodiff")

from .experiments import harmonic_experiment  # noqa: E402
from .losses import (  # noqa: E402
    DTYPE,
    INDEX,
    densify,
    gradients,
    loss,
    select_entries,
    tape_gradients,
)
from .steps import sgd_step  # noqa: E402
from .trainer import OPTIMIZERS, make_optimizer, train  # noqa: E402

__all__ = [
    "DTYPE",
    "INDEX",
    "loss",
    "gradients",
    "tape_gradients",
    "densify",
    "select_entries",
    "sgd_step",
    "train",
    "make_optimizer",
    "OPTIMIZERS",
    "harmonic_experiment",
]
