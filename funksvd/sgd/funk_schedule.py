r"""Simon Funk's feature-wise schedule: one feature at a time, with cached residuals.

Funk ("Netflix Update: Try This at Home", 2006) does not train all :math:`k` factors together.
He trains feature :math:`f` alone until it stops improving, freezes it, and moves on to
:math:`f + 1`. What the finished features predict never changes again, so it is cached: with
the cache :math:`c_j` of rating :math:`j = (u, i, r)` an epoch costs :math:`O(|\mathcal K|)`,
not :math:`O(|\mathcal K|\, k)`.

The schedule here, as :func:`train_features` runs it:

1. **Biases** (biased models only). The cache starts at :math:`c_j = \mu`; :func:`bias_step`
   trains :math:`b_u, b_i` alone, then they are frozen and added to the cache. (Funk seeded his
   model with baseline averages; a first SGD pass on the biases is the same idea with the same
   machinery, and keeps every later stage a pure one-feature problem.)
2. **Feature** :math:`f = 0, \dots, k-1`. Column :math:`f` of :math:`P` and :math:`Q` starts at
   ``feature_init`` (Funk: 0.1) and :func:`feature_step` trains it alone; then
   :math:`c_j \mathrel{+}= p_{uf}\, q_{if}`. Without the trailing term (below) columns not started
   yet hold 0, so at any moment the arrays predict exactly what has been trained.

**The trailing term** (``trailing=True``, the estimator's ``feature_trailing``). Funk's
reference code and LensKit's ``FunkSVD`` let the features not trained yet take part in the
prediction at their start values: while feature :math:`f` of :math:`k` trains, the prediction
of rating :math:`j = (u, i, r)` is

.. math::

    \hat r^{(f)}_{ui} = \operatorname{clip}\Bigl(\mu + b_u + b_i + \sum_{g<f} p_{ug}\, q_{ig}
    + p_{uf}\, q_{if} + \sum_{g>f} p^0_{ug}\, q^0_{ig}\Bigr)

with :math:`p^0, q^0` the start values; with all of them ``feature_init`` the last sum is Funk's
trailing constant :math:`(k - f - 1)\, \text{feature\_init}^2`. (``trailing=False``: no last
sum. The bias stage never has it.) When the first feature starts, every column takes its start
value, so the arrays always hold the model the prediction is made of: an unfinished fit (one
kept by early stopping) predicts as training did. The term lives in the cache, stage by stage,
so :func:`feature_step` is the same kernel with or without it: when feature 0 starts,
:math:`c_j \mathrel{+}= \sum_{g>0} p^0_{ug}\, q^0_{ig}` (:math:`(k - 1)\, \text{feature\_init}^2`,
added at once); when feature :math:`f` finishes, :func:`swap_feature` puts its trained product
in and the start product of feature :math:`f + 1` out,
:math:`c_j \mathrel{+}= p_{uf}\, q_{if} - p^0_{u,f+1}\, q^0_{i,f+1}`. During stage :math:`f`
the cache is :math:`c_j = \mu + b_u + b_i + \sum_{g \ne f} p_{ug}\, q_{ig}`.

Each stage runs up to ``max_epochs`` epochs (Funk: "on the order of 100") and stops earlier,
from epoch ``min_epochs`` on, once an epoch improves the training RMSE by less than
``min_improvement`` (relative), i.e.
:math:`\mathrm{RMSE}_{t-1} - \mathrm{RMSE}_t < \text{min\_improvement}\cdot\mathrm{RMSE}_{t-1}`.
The RMSE is the running one of the epoch (errors before each update), as the kernels return it.
``min_epochs`` may not exceed ``max_epochs`` (``ValueError``).
The floor ``min_epochs`` matters. A feature starts from constant columns, and once the biases
(and earlier features) are fitted the residuals of each user and each item sum to about 0, so
the gradient :math:`\sum_i e_{ui}\, q_{if} \approx 0.1 \sum_i e_{ui}` nearly vanishes: the start
is close to a saddle point. The feature escapes along the leading singular vectors of the
residual matrix, slowly at first (more slowly for a smaller learning rate or fewer ratings
per user), and the relative test alone would end most features after two epochs. Funk
reports on the order of 100 or more epochs per feature.

The prediction used for the error is **clipped** to the rating range, as Funk does; the cache
itself holds the unclipped sum (LensKit also clips the cache between stages; this module does not).

Funk's hyperparameters were ``lr = 0.001``, ``reg = 0.015`` (0.015 to 0.02), ``feature_init =
0.1``; pass them explicitly to :class:`~funksvd.estimator.FunkSVD` with ``schedule="feature"``.

**Speed.** The schedule runs many short epochs (100 features x 20 epochs is 2,000 passes over
the ratings), so everything outside the per-rating loop is kept out of the epoch:

* the ratings are visited in **one order for the whole fit**, handed in already arranged in it
  (the estimator draws it once, as LensKit's ``FunkSVD`` does; Funk visited his data in stored
  order), so that an epoch streams through ``users, items, values`` and the cache instead of
  jumping through a permutation, and no permutation is drawn per epoch;
* ``P`` and ``Q`` are best passed in Fortran order: column :math:`f`, the only one a stage
  touches, is then contiguous (a few kB for MovieLens, in the L1 cache);
* the **loss** of an epoch costs :math:`O(n_u + n_i)`, not :math:`O((n_u + n_i)\,k)`: during the
  stage of feature :math:`f` only column :math:`f` moves, so the penalty of the finished stages
  is summed once, when they finish, and only that of column :math:`f` per epoch;
* the **divergence check** is one comparison of that loss per epoch. A non-finite entry of
  column :math:`f` makes its penalty non-finite even where the regularisation is 0 or the
  row has no rating (:math:`0 \cdot \infty` is NaN), and the data term of a clipped prediction
  is bounded, so a finite loss means finite parameters.

**The loss** (``loss`` in the records the generator yields) is the estimator's running loss
(:class:`~funksvd.estimator.FunkSVD` Notes) for Funk's objective (``RULES["funk"].objective``,
weights :math:`c, w`):

.. math::

    \tilde L = c \sum_{\text{epoch}} e^2 + w \sum_u n_u \bigl(\lambda_P \lVert p_u\rVert^2
    + \lambda_{b_u} b_u^2\bigr) + w \sum_i n_i \bigl(\lambda_Q \lVert q_i\rVert^2
    + \lambda_{b_i} b_i^2\bigr)

with :math:`n_u, n_i` the numbers of ratings of user :math:`u` and item :math:`i`.

**Divergence** is judged after every epoch: ``guard(epoch, loss)`` is called with the running
loss below (the estimator's guard raises when it is non-finite or exceeds ``DIVERGENCE_FACTOR``
times its reference, the same for every schedule: :class:`~funksvd.estimator.FunkSVD` Notes).

The kernels are plain Python over scalars, in the style of :mod:`funksvd.maths.rules`: the
``"python"`` engine runs them as written and the ``"compiled"`` engine hands the same source
to numba (:func:`funksvd.sgd.compiled.jit`).
"""

from __future__ import annotations

import math
import types
from functools import lru_cache

import numpy as np

from ..base.errors import DivergenceError
from ..base.measures import root_mean_square_of_sse
from ..maths.objectives import weighted_squares
from ..maths.rules import RULES
from ..model.factors import predict_pairs

__all__ = [
    "clip",
    "bias_step",
    "feature_step",
    "run_bias_epoch",
    "run_feature_epoch",
    "add_biases",
    "add_feature",
    "swap_feature",
    "residual_cache",
    "feature_functions",
    "train_features",
    "non_finite_check",
]


def clip(x, lo, hi):
    r""":math:`\min(\max(x, r_{\min}), r_{\max})`."""
    return min(max(x, lo), hi)


def bias_step(bu, bi, cache, u, i, j, r, lr, reg, lo, hi):
    r"""One rating of the bias stage: Funk's rule on :math:`b_u, b_i` alone, clipped prediction.

    ``lr`` and ``reg`` are 4-tuples in block order ``(P, Q, bu, bi)`` as in :mod:`funksvd.maths.rules`;
    ``cache[j]`` is :math:`\mu`. Returns the error before the update.

    Notes
    -----
    .. math::

        \hat r_{ui} = \operatorname{clip}(c_j + b_u + b_i)

        e = r_{ui} - \hat r_{ui}

        \ell = \frac{1}{2}\, e^2 + \frac{\lambda}{2}\,(b_u^2 + b_i^2)

        \frac{\partial \ell}{\partial b_u} = -e + \lambda\, b_u

        \frac{\partial \ell}{\partial b_i} = -e + \lambda\, b_i

        b_u \leftarrow b_u + \gamma\,(e - \lambda\, b_u)

        b_i \leftarrow b_i + \gamma\,(e - \lambda\, b_i)

    The gradient is that of the unclipped prediction (where the clip is active the true
    derivative is 0; Funk, like every reference code, uses :math:`e` anyway).
    """
    lr_pu, lr_qi, lr_bu, lr_bi = lr
    reg_pu, reg_qi, reg_bu, reg_bi = reg
    err = r - clip(cache[j] + bu[u] + bi[i], lo, hi)
    bu[u] += lr_bu * (err - reg_bu * bu[u])
    bi[i] += lr_bi * (err - reg_bi * bi[i])
    return err


def feature_step(P, Q, cache, f, u, i, j, r, lr, reg, lo, hi):
    r"""One rating of feature :math:`f`: Funk's update of :math:`p_{uf}, q_{if}`, simultaneous, clipped.

    ``cache[j]`` holds :math:`c_j = \mu + b_u + b_i + \sum_{g<f} p_{ug}\, q_{ig}`, what the
    finished stages predict, plus :math:`\sum_{g>f} p_{ug}\, q_{ig}`, the features not trained
    yet at their start values, when ``trailing`` (the trailing constant :math:`(k - f - 1)\,
    \text{feature\_init}^2`; module Notes).
    Returns the error before the update.

    Notes
    -----
    .. math::

        \hat r_{ui} = \operatorname{clip}(c_j + p_{uf}\, q_{if})

        e = r_{ui} - \hat r_{ui}

        \ell = \frac{1}{2}\, e^2 + \frac{\lambda}{2}\,(p_{uf}^2 + q_{if}^2)

        \frac{\partial \ell}{\partial p_{uf}} = -e\, q_{if} + \lambda\, p_{uf}

        \frac{\partial \ell}{\partial q_{if}} = -e\, p_{uf} + \lambda\, q_{if}

        p_{uf} \leftarrow p_{uf} + \gamma\,(e\, q_{if} - \lambda\, p_{uf})

        q_{if} \leftarrow q_{if} + \gamma\,(e\, p_{uf} - \lambda\, q_{if})

    both from the old values (Funk's ``uv = userValue[user]`` keeps the old :math:`p_{uf}`).
    As in :func:`bias_step`, the clip is ignored in the gradient.
    """
    lr_pu, lr_qi, lr_bu, lr_bi = lr
    reg_pu, reg_qi, reg_bu, reg_bi = reg
    puf = P[u, f]
    qif = Q[i, f]
    err = r - clip(cache[j] + puf * qif, lo, hi)
    P[u, f] += lr_pu * (err * qif - reg_pu * puf)
    Q[i, f] += lr_qi * (err * puf - reg_qi * qif)
    return err


def run_bias_epoch(bu, bi, cache, users, items, values, lr, reg, lo, hi):
    """Visit the ratings in stored order with :func:`bias_step`; return the sum of squared errors."""
    sse = 0.0
    for j in range(values.shape[0]):
        err = bias_step(bu, bi, cache, users[j], items[j], j, values[j], lr, reg, lo, hi)
        sse += err * err
    return sse


def run_feature_epoch(P, Q, cache, f, users, items, values, lr, reg, lo, hi):
    """Visit the ratings in stored order with :func:`feature_step` on feature ``f``; return the SSE."""
    sse = 0.0
    for j in range(values.shape[0]):
        err = feature_step(P, Q, cache, f, users[j], items[j], j, values[j], lr, reg, lo, hi)
        sse += err * err
    return sse


def add_biases(cache, bu, bi, users, items):
    r"""Freeze the biases into the cache: :math:`c_j \mathrel{+}= b_u + b_i`."""
    for j in range(cache.shape[0]):
        cache[j] += bu[users[j]] + bi[items[j]]


def add_feature(cache, P, Q, f, users, items):
    r"""Freeze feature ``f`` into the cache: :math:`c_j \mathrel{+}= p_{uf}\, q_{if}`."""
    for j in range(cache.shape[0]):
        cache[j] += P[users[j], f] * Q[items[j], f]


def swap_feature(cache, P, Q, f, users, items):
    r"""Freeze feature ``f`` and start ``f + 1`` (the trailing term).

    :math:`c_j \mathrel{+}= p_{uf}\, q_{if} - p_{u,f+1}\, q_{i,f+1}`.

    Column :math:`f + 1` holds its start values; its product leaves the cache as it starts training.
    """
    for j in range(cache.shape[0]):
        u = users[j]
        i = items[j]
        cache[j] += P[u, f] * Q[i, f] - P[u, f + 1] * Q[i, f + 1]


def residual_cache(P, Q, bu, bi, mu, users, items, n_features, trailing=0.0) -> np.ndarray:
    r"""The cache from scratch: :math:`\mu + b_u + b_i + \sum_{f < n} p_{uf}\, q_{if}` per rating, plus ``trailing``.

    Empty ``bu``/``bi`` mean an unbiased model. ``trailing`` is a constant added to every rating:
    the trailing term :math:`(k - n - 1)\, \text{feature\_init}^2` while feature :math:`n`
    trains (module Notes). The oracle of the incremental cache (vectorised numpy, float64).
    """
    P = np.asarray(P, dtype=np.float64)[:, :n_features]
    Q = np.asarray(Q, dtype=np.float64)[:, :n_features]
    return predict_pairs(P, Q, bu, bi, float(mu), np.asarray(users), np.asarray(items)) + float(trailing)


_KERNELS = ("run_bias_epoch", "run_feature_epoch", "add_biases", "add_feature", "swap_feature")


@lru_cache(maxsize=None)
def _compiled_functions():
    from .compiled import jit

    clip_c = jit(clip, inline=True)
    bias_c = jit(bias_step, inline=True, clip=clip_c)
    feature_c = jit(feature_step, inline=True, clip=clip_c)
    return types.SimpleNamespace(
        run_bias_epoch=jit(run_bias_epoch, bias_step=bias_c),
        run_feature_epoch=jit(run_feature_epoch, feature_step=feature_c),
        add_biases=jit(add_biases),
        add_feature=jit(add_feature),
        swap_feature=jit(swap_feature),
    )


def feature_functions(engine: str):
    """The five loops of the schedule (:data:`_KERNELS`) for ``engine`` ("python" or "compiled")."""
    if engine == "python":
        return types.SimpleNamespace(**{name: globals()[name] for name in _KERNELS})
    if engine == "compiled":
        return _compiled_functions()
    raise ValueError(f"engine={engine!r}; the feature schedule runs on 'python' or 'compiled'")


def _stage(run, n: int, max_epochs: int, min_improvement: float, min_epochs: int):
    """Run one stage: yield ``(sse, done)`` per epoch until ``max_epochs``, or until the RMSE stops improving
    after ``min_epochs``."""
    previous = None
    for epoch in range(1, max_epochs + 1):
        sse = float(run())
        rmse = root_mean_square_of_sse(sse, n)
        done = epoch == max_epochs or (
            epoch >= min_epochs and previous is not None and previous - rmse < min_improvement * previous)
        yield sse, done
        if done:
            return
        previous = rmse


def non_finite_check(epoch: int, loss: float) -> None:
    """The default ``guard`` of :func:`train_features`: :class:`~funksvd.DivergenceError` on a non-finite loss."""
    if not math.isfinite(loss):
        raise DivergenceError(f"epoch {epoch}: training loss became {loss}; the learning rate is too large")


def train_features(P, Q, bu, bi, cache, users, items, values, *, lr, reg, rating_range,
                   max_epochs=100, min_improvement=1e-4, min_epochs=1, feature_init=0.1, trailing=False, start=None,
                   engine="python", guard=non_finite_check):
    r"""Funk's schedule on mutable arrays, one epoch per ``next()``: yields ``(feature, sse, done, loss)``.

    Parameters
    ----------
    P, Q : ndarray, shape (n_users, k) and (n_items, k)
        Updated in place. Columns not started yet should be 0 (see the module Notes). Fortran
        order keeps the column being trained contiguous.
    bu, bi : ndarray
        Biases, updated in place; empty arrays for an unbiased model (no bias stage).
    cache : ndarray, shape (n_ratings,)
        :math:`\mu` for every rating on entry; updated in place as stages finish, so that after
        the stage of feature :math:`f` it equals ``residual_cache(..., f + 1)`` (plus the trailing
        term of the features after :math:`f + 1` with ``trailing``).
    users, items, values : ndarray
        The ratings (int ids, float values), in the order every epoch visits them.
    lr, reg : tuple of 4 floats
        Per block ``(P, Q, bu, bi)``, as the kernels of :mod:`funksvd.maths.rules` take them.
    rating_range : (float, float)
        Bounds of the clip applied to the prediction inside training.
    max_epochs : int, default 100
        Epochs per stage at most.
    min_improvement : float, default 1e-4
        A stage ends after the first epoch whose relative training-RMSE improvement is below it.
    min_epochs : int, default 1
        Epochs per stage at least: the test above is applied from this epoch on. At most
        ``max_epochs``.
    feature_init : float, default 0.1
        Starting value of :math:`p_{uf}` and :math:`q_{if}` (Funk's 0.1).
    trailing : bool, default False
        The features not trained yet take part in the prediction at their start values (every
        column is set to them when the first feature starts): the trailing constant
        :math:`(k - f - 1)\, \text{feature\_init}^2` of Funk's reference code and LensKit while
        feature :math:`f` trains (module Notes). Their penalty is part of the loss.
    start : (ndarray, ndarray), optional
        Starting columns taken from these arrays instead of ``feature_init``.
    engine : {"python", "compiled"}
    guard : callable, default :func:`non_finite_check`
        ``guard(epoch, loss)`` after every epoch (numbered from 1 over the whole fit); raises to
        stop training. The estimator's guard also raises when the loss outgrows its reference.

    Returns
    -------
    generator
        Its items are ``(feature, sse, done, loss)``:

        feature : int or None
            The feature trained in this epoch; ``None`` for the bias stage.
        sse : float
            The epoch's sum of squared (clipped-prediction) errors, before each update.
        done : bool
            True on the last epoch of a stage (the arrays then hold the finished stage; the
            cache is updated when the generator resumes).
        loss : float
            The running loss of the module Notes, already passed to ``guard``.

    Raises
    ------
    ValueError
        ``min_epochs > max_epochs`` (checked at once, not at the first epoch).
    """
    if min_epochs > max_epochs:
        raise ValueError(f"min_epochs={min_epochs} is above max_epochs={max_epochs} (FunkSVD: feature_min_epochs "
                         "must not exceed feature_epochs): a stage cannot run more epochs at least than at most")
    fns = feature_functions(engine)
    return _epochs(fns, P, Q, bu, bi, cache, users, items, values, lr, reg, rating_range, max_epochs,
                   min_improvement, min_epochs, feature_init, trailing, start, guard)


def _epochs(fns, P, Q, bu, bi, cache, users, items, values, lr, reg, rating_range, max_epochs, min_improvement,
            min_epochs, feature_init, trailing, start, guard):
    """The generator of :func:`train_features` (its arguments checked)."""
    lo, hi = (float(b) for b in rating_range)
    n = len(values)
    objective = RULES["funk"].objective
    c, w = objective.data_weight, objective.factor_reg_weight
    assert objective.bias_reg_weight == w, objective
    counts_u = np.bincount(users, minlength=P.shape[0]).astype(np.float64)
    counts_i = np.bincount(items, minlength=Q.shape[0]).astype(np.float64)
    reg_p, reg_q, reg_bu, reg_bi = reg
    epoch = 0
    frozen = 0.0  # w * the penalty of the finished stages

    def stage(run, penalty):
        nonlocal epoch
        for sse, done in _stage(run, n, max_epochs, min_improvement, min_epochs):
            epoch += 1
            loss = c * sse + frozen + penalty()
            guard(epoch, loss)
            yield sse, done, loss

    if len(bu):
        def run_biases():
            return fns.run_bias_epoch(bu, bi, cache, users, items, values, lr, reg, lo, hi)

        def bias_penalty():
            return w * (reg_bu * weighted_squares(bu, counts_u) + reg_bi * weighted_squares(bi, counts_i))

        for sse, done, loss in stage(run_biases, bias_penalty):
            yield None, sse, done, loss
        frozen += bias_penalty()
        fns.add_biases(cache, bu, bi, users, items)
    k = P.shape[1]
    waiting = np.zeros(k + 1)  # waiting[f]: w * the penalty of the start values of features f, ..., k - 1
    if trailing:  # every feature takes part at its start value; the cache holds all but feature 0
        P[:] = feature_init if start is None else start[0]
        Q[:] = feature_init if start is None else start[1]
        if start is None:
            cache += (k - 1) * (float(feature_init) * float(feature_init))  # = sum_{g > 0} p0 q0, at once
        else:
            for g in range(1, k):
                fns.add_feature(cache, P, Q, g, users, items)
        for g in range(k - 1, -1, -1):
            waiting[g] = waiting[g + 1] + w * (reg_p * weighted_squares(P[:, g], counts_u)
                                               + reg_q * weighted_squares(Q[:, g], counts_i))
    for f in range(k):
        P[:, f] = feature_init if start is None else start[0][:, f]
        Q[:, f] = feature_init if start is None else start[1][:, f]

        def run_feature():
            return fns.run_feature_epoch(P, Q, cache, f, users, items, values, lr, reg, lo, hi)

        def column_penalty():
            return w * (reg_p * weighted_squares(P[:, f], counts_u) + reg_q * weighted_squares(Q[:, f], counts_i))

        def feature_penalty():  # column f, and the features after it at their start values
            return column_penalty() + waiting[f + 1]

        for sse, done, loss in stage(run_feature, feature_penalty):
            yield f, sse, done, loss
        frozen += column_penalty()
        if trailing and f + 1 < k:
            fns.swap_feature(cache, P, Q, f, users, items)
        else:
            fns.add_feature(cache, P, Q, f, users, items)
