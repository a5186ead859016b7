r"""Full-batch (and mini-batch) training on the hand-derived gradients, in numpy.

:func:`train` minimises an :class:`~funksvd.Objective` with the optimisers of
:mod:`funksvd.fullbatch.optimizers`, driven by :meth:`Objective.evaluate <funksvd.Objective.evaluate>`
(the hand-derived gradients). It has exactly the signature, the return value and the optimiser
formulas of its TensorFlow twin :func:`funksvd.autodiff.train`, and draws the same mini-batches
for the same ``random_state`` (:func:`epoch_batches` serves both), so that from the same start
the hand-gradient trajectory and the GradientTape trajectory agree step by step.
"""

from __future__ import annotations

import time

import numpy as np

from ..base.log import log
from ..base.rng import check_random_state
from ..base.validation import positive_int
from ..base.errors import DivergenceError
from ..model.factors import MAX_CELLS, Factors, check_cells
from ..maths.objectives import Entries, as_objective
from .optimizers import make_optimizer
from .stopping import Recorder, check_stopping_arguments, default_monitor
from ..model.ratings import Ratings

__all__ = ["train", "epoch_batches", "check_train_arguments", "choose_form", "FORMS"]


def epoch_batches(n: int, batch_size, rng: np.random.Generator):
    """The batches of one epoch, as index arrays into the ``n`` entries; ``[None]`` (all of them) for full batch.

    With ``batch_size`` the entries are permuted by ``rng.permutation(n)`` and cut into runs of
    ``batch_size`` (the last one shorter). Both trainers call this, so the same ``random_state``
    gives the same batches in numpy and in TensorFlow.
    """
    if batch_size is None:
        return [None]
    order = rng.permutation(n)
    return [order[first:first + int(batch_size)] for first in range(0, n, int(batch_size))]


def check_train_arguments(factors, ratings, n_epochs, batch_size, validation, callback) -> None:
    """The argument checks both trainers share (``ValueError`` / ``TypeError`` naming the argument)."""
    if not isinstance(factors, Factors):
        raise TypeError(f"factors must be a funksvd.Factors, got {type(factors).__name__}")
    if not isinstance(ratings, Ratings):
        raise TypeError(f"ratings must be a funksvd.Ratings, got {type(ratings).__name__}")
    positive_int(n_epochs, "n_epochs", whole=True)
    positive_int(batch_size, "batch_size", none_ok=True, whole=True)
    if validation is not None:
        if not isinstance(validation, Ratings):
            raise TypeError(f"validation must be a funksvd.Ratings, got {type(validation).__name__}")
        if validation.shape != ratings.shape:
            raise ValueError(f"validation is {validation.shape} but the ratings are {ratings.shape}")
    if callback is not None and not callable(callback):
        raise TypeError("callback must be callable: callback(epoch, loss, get_factors)")


FORMS = ("auto", "sparse", "matrix")


def choose_form(entries: Entries, form: str = "auto", max_cells: int | None = MAX_CELLS) -> str:
    r"""The form a full-batch step runs in: ``form`` checked, or for ``"auto"`` the faster one.

    ``"auto"``: ``"matrix"`` when the entries fill at least a tenth of the cells, each at most
    once, and the matrix has at most ``max_cells`` cells (a dense objective always); else
    ``"sparse"``. Both forms compute the same loss and gradients (tested equal); the matrix
    form's products :math:`P Q^\top`, :math:`G Q` run in BLAS, the sparse form's gathers cost
    per entry. An explicit ``"matrix"`` is refused for a repeated pair (``ValueError``: a cell
    holds one value) and above ``max_cells`` (``MemoryError``).
    """
    if form not in FORMS:
        raise ValueError(f"form={form!r}; expected one of {FORMS}")
    n_users, n_items = entries.shape
    if form == "matrix":
        check_cells(n_users, n_items, max_cells, "form='matrix'")
        entries.check_cells()
        return "matrix"
    if form == "sparse":
        return "sparse"
    if entries.kind == "dense":
        return "matrix"
    if 10 * entries.n < n_users * n_items or (max_cells is not None and n_users * n_items > max_cells):
        return "sparse"
    try:
        entries.check_cells()
    except ValueError:
        return "sparse"  # a repeated pair: the sparse form counts it twice, a matrix cannot
    return "matrix"


def _diverged(epoch, objective, value, learning_rate, optimizer) -> DivergenceError:
    return DivergenceError(
        f"training diverged in epoch {epoch}: the {objective} loss is {value}; the learning rate "
        f"({learning_rate!r} with optimizer {optimizer!r}) is too large for this data: try a smaller learning_rate"
    )


def train(factors, ratings, *, objective="funk", reg=0.02, optimizer="adam", learning_rate=0.01,
          n_epochs=20, batch_size=None, decay_rate=None, decay_steps=1000, validation=None,
          random_state=None, callback=None, verbose=False, form="auto", log_every=1, record_start=False,
          monitor=None, patience=None, min_improvement=1e-4, plateau=None):
    r"""Fit ``factors`` to ``ratings`` by minimising ``objective`` with the hand-derived gradients.

    Parameters
    ----------
    factors : Factors
        Initial parameters (converted to float64); an unbiased model stays unbiased.
    ratings : Ratings
        Training ratings.
    objective : Objective or str, default "funk"
        The loss :math:`L` (see :class:`~funksvd.Objective`). With ``learn_mu`` the global
        offset :math:`\mu` is trained as well.
    reg : float or mapping, default 0.02
        :math:`\lambda`, one for all blocks or one per block.
    optimizer : {"sgd", "adam", "rmsprop"} or funksvd.fullbatch.optimizers.Optimizer, default "adam"
        An instance (e.g. ``RMSprop(1e-3, momentum=0.9)``) is a template and is copied.
    learning_rate : float, default 0.01
    n_epochs : int, default 20
        Epochs at most; full batch, an epoch is one step.
    batch_size : int, optional
        ``None``: one full-batch step per epoch. Otherwise the entries are shuffled every epoch
        (``numpy.random.default_rng(random_state)``) and cut into batches of this size.
    decay_rate, decay_steps : optional
        Staircase exponential decay of the learning rate (:class:`~funksvd.fullbatch.optimizers.Optimizer`).
    validation : Ratings, optional
        Held-out ratings; their MSE and RMSE (with the objective's link) are recorded.
    random_state : int or numpy Generator, optional
        Seed of the batch order; the same seed gives bit-identical factors.
    callback : callable, optional
        ``callback(epoch, loss, get_factors)`` after every epoch (recorded or not); ``get_factors()``
        returns the current :class:`~funksvd.Factors`. Returning a true value stops training.
    verbose : bool, default False
        Print one line per record.
    form : {"auto", "sparse", "matrix"}, default "auto"
        How a full-batch step computes: gathers and scatter-adds over the entries
        (``"sparse"``), or the whole matrix with a mask (``"matrix"``); ``"auto"`` picks by
        :func:`choose_form`. Both give the same loss and gradients up to rounding.
        Mini-batches always run sparse.
    log_every : int, default 1
        Record (and print) every ``log_every`` epochs, and the last epoch.
    record_start : bool, default False
        Also record epoch 0: the loss (and validation figures) at the start values.
    monitor : {"loss", "val_rmse", "val_mse", "val_loss"}, optional
        The value ``patience`` and ``plateau`` watch: the training objective, the validation
        RMSE or MSE, or ``"val_loss"``, the objective itself on the validation ratings (with
        its penalty and reduction), recorded only when monitored. Default: ``"val_rmse"``
        with validation ratings, ``"loss"`` without.
    patience : int, optional
        Stop after ``patience`` records in a row without a relative improvement of
        ``min_improvement`` in the monitored value.
    min_improvement : float, default 1e-4
        A record improves when it is below ``(1 - min_improvement)`` times the best so far.
    plateau : (int, float), optional
        ``(window, tolerance)``: stop when the mean of the previous ``window`` records minus the
        last is below ``tolerance`` times that mean (:func:`funksvd.fullbatch.stopping.plateau`,
        the 2021 tutorial's rule with ``log_every`` its check interval).

    Returns
    -------
    factors : Factors
        The parameters after the last epoch run (float64; ``mu`` trained when the objective says so).
    history : list of dict
        One dict per record: ``{"epoch": e, "loss": L, "val_rmse", "val_mse", "val_loss", "seconds": s}``,
        ``L`` the full training objective after epoch ``e``, the validation figures None when not
        computed, ``s`` the wall time since the previous record
        (:class:`~funksvd.fullbatch.stopping.Recorder`).

    Raises
    ------
    DivergenceError
        If the loss or a parameter becomes non-finite (the message names the epoch and suggests
        a smaller learning rate). NaN factors are never returned.

    Notes
    -----
    Each step minimises the objective on its batch :math:`B`,

    .. math::

        L_B(\theta) = \frac{1}{N_B} \sum_{(u,i) \in B} \big( c\,\rho(e_{ui}) + \Omega_{ui} \big) + \Omega,
        \qquad \theta \leftarrow \mathrm{opt}\big(\theta, \nabla_\theta L_B(\theta)\big),

    with :math:`\nabla_\theta L_B` from :meth:`Objective.evaluate <funksvd.Objective.evaluate>`
    and :math:`\mathrm{opt}` one of :mod:`funksvd.fullbatch.optimizers`; every block is updated at every
    step (dense moments, as the twin's densified gradients). Full batch, one evaluation per epoch
    gives both the loss recorded for this epoch and the gradient of the next step.
    """
    check_train_arguments(factors, ratings, n_epochs, batch_size, validation, callback)
    check_stopping_arguments(validation, log_every, record_start, monitor, patience, min_improvement, plateau)
    monitor = default_monitor(monitor, validation)
    objective = as_objective(objective)
    opt = make_optimizer(optimizer, learning_rate, decay_rate, decay_steps)
    entries = objective.prepare(factors, ratings)
    form = choose_form(entries, form)
    rng = check_random_state(random_state)
    mu = float(factors.mu)
    theta = {block: np.array(value, dtype=np.float64) for block, value in factors.params().items()}
    if objective.learn_mu:
        theta["mu"] = np.array(mu)

    def get_factors() -> Factors:
        return Factors(theta["P"], theta["Q"], theta.get("bu"), theta.get("bi"),
                       float(theta["mu"]) if "mu" in theta else mu)

    def finite() -> bool:
        return all(np.isfinite(value).all() for value in theta.values())

    def validate() -> tuple:
        """The validation MSE (with the link) and, when monitored, the objective on the validation ratings."""
        if validation is None:
            return None, None
        current = get_factors()
        e = validation.values - objective.predict(current, validation.users, validation.items)
        val_loss = objective.loss(current, validation, reg) if monitor == "val_loss" else None
        return float(np.mean(e * e)), val_loss

    recorder = Recorder(n_epochs, log_every, monitor, patience, min_improvement, plateau)
    since = time.perf_counter()
    with np.errstate(all="ignore"):  # overflow is caught below, as a DivergenceError
        value, grads = objective.evaluate(get_factors(), entries, reg, form)
        if record_start:
            recorder.record(0, value, 0.0, *validate())
            since = time.perf_counter()
        for epoch in range(1, int(n_epochs) + 1):
            if batch_size is None:
                opt.apply(theta, grads)
                if finite():
                    value, grads = objective.evaluate(get_factors(), entries, reg, form)
            else:
                for batch in epoch_batches(entries.n, batch_size, rng):
                    if not finite():
                        break
                    part = Entries.from_arrays(entries.users[batch], entries.items[batch], entries.values[batch],
                                               entries.shape)
                    opt.apply(theta, objective.evaluate(get_factors(), part, reg, "sparse")[1])
                if finite():
                    value, _ = objective.evaluate(get_factors(), entries, reg, form, gradients=False)
            if not (finite() and np.isfinite(value)):
                raise _diverged(epoch, objective, value if finite() else np.nan, learning_rate, optimizer)
            stop = False
            if recorder.due(epoch):
                stop = recorder.record(epoch, value, time.perf_counter() - since, *validate())
                since = time.perf_counter()
                log(recorder.line(recorder.history[-1], n_epochs), verbose)
            if callback is not None and callback(epoch, float(value), get_factors):  # a true value stops
                stop = True
            if stop:
                if not recorder.history or recorder.history[-1]["epoch"] != epoch:  # the last epoch run is always recorded
                    recorder.record(epoch, value, time.perf_counter() - since, *validate())
                break
    return get_factors(), recorder.history
