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
   :math:`c_j \mathrel{+}= p_{uf}\, q_{if}`. Columns not started yet hold 0, so at any moment the
   arrays predict exactly what has been trained (an early stop leaves a valid model).

Each stage runs up to ``max_epochs`` epochs (Funk: "on the order of 100") and stops earlier,
from epoch ``min_epochs`` on, once an epoch improves the training RMSE by less than
``min_improvement`` (relative), i.e.
:math:`\mathrm{RMSE}_{t-1} - \mathrm{RMSE}_t < \text{min\_improvement}\cdot\mathrm{RMSE}_{t-1}`.
The RMSE is the running one of the epoch (errors before each update), as the kernels return it.
The floor ``min_epochs`` matters. A feature starts from constant columns, and once the biases
(and earlier features) are fitted the residuals of each user and each item sum to about 0, so
the gradient :math:`\sum_i e_{ui}\, q_{if} \approx 0.1 \sum_i e_{ui}` nearly vanishes: the start
is close to a saddle point. The feature escapes along the leading singular vectors of the
residual matrix, slowly at first (more slowly for a smaller learning rate or fewer ratings
per user), and the relative test alone would end most features after two epochs. Funk
reports on the order of 100 or more epochs per feature.

The prediction used for the error is **clipped** to the rating range, as Funk does; the cache
itself holds the unclipped sum. Funk's reference code also adds a constant for the unfinished
features (their initial product, the "trailing" term); this module does not: unstarted
features are 0.

Funk's hyperparameters were ``lr = 0.001``, ``reg = 0.015`` (0.015 to 0.02), ``feature_init =
0.1``; pass them explicitly to :class:`~funksvd.estimator.FunkSVD` with ``schedule="feature"``.

The kernels are plain Python over scalars, in the style of :mod:`funksvd.rules`: the
``"python"`` engine runs them as written and the ``"compiled"`` engine hands the same source
to numba (:func:`funksvd.compiled.jit`).
"""

from __future__ import annotations

import types
from functools import lru_cache

import numpy as np

__all__ = [
    "clip",
    "bias_step",
    "feature_step",
    "run_bias_epoch",
    "run_feature_epoch",
    "add_biases",
    "add_feature",
    "residual_cache",
    "feature_functions",
    "train_features",
]


def clip(x, lo, hi):
    r""":math:`\min(\max(x, r_{\min}), r_{\max})`."""
    if x < lo:
        return lo
    if x > hi:
        return hi
    return x


def bias_step(bu, bi, cache, u, i, j, r, lr, reg, lo, hi):
    r"""One rating of the bias stage: Funk's rule on :math:`b_u, b_i` alone, clipped prediction.

    ``lr`` and ``reg`` are 4-tuples in block order ``(P, Q, bu, bi)`` as in :mod:`funksvd.rules`;
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
    finished stages predict. Returns the error before the update.

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


def run_bias_epoch(bu, bi, cache, users, items, values, order, lr, reg, lo, hi):
    """Visit the ratings in ``order`` with :func:`bias_step`; return the sum of squared errors."""
    sse = 0.0
    for j in order:
        err = bias_step(bu, bi, cache, users[j], items[j], j, values[j], lr, reg, lo, hi)
        sse += err * err
    return sse


def run_feature_epoch(P, Q, cache, f, users, items, values, order, lr, reg, lo, hi):
    """Visit the ratings in ``order`` with :func:`feature_step` on feature ``f``; return the SSE."""
    sse = 0.0
    for j in order:
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


def residual_cache(P, Q, bu, bi, mu, users, items, n_features) -> np.ndarray:
    r"""The cache recomputed from scratch: :math:`\mu + b_u + b_i + \sum_{f < n} p_{uf}\, q_{if}` per rating.

    Empty ``bu``/``bi`` mean an unbiased model. The oracle of the incremental cache (vectorised
    numpy, float64).
    """
    users = np.asarray(users)
    items = np.asarray(items)
    P = np.asarray(P, dtype=np.float64)[:, :n_features]
    Q = np.asarray(Q, dtype=np.float64)[:, :n_features]
    cache = np.full(users.shape[0], float(mu)) + np.einsum("nk,nk->n", P[users], Q[items])
    if len(bu):
        cache += np.asarray(bu, dtype=np.float64)[users] + np.asarray(bi, dtype=np.float64)[items]
    return cache


_KERNELS = ("run_bias_epoch", "run_feature_epoch", "add_biases", "add_feature")


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
    )


def feature_functions(engine: str):
    """The four loops of the schedule (:data:`_KERNELS`) for ``engine`` ("python" or "compiled")."""
    if engine == "python":
        return types.SimpleNamespace(**{name: globals()[name] for name in _KERNELS})
    if engine == "compiled":
        return _compiled_functions()
    raise ValueError(f"engine={engine!r}; the feature schedule runs on 'python' or 'compiled'")


def _stage(run, n: int, max_epochs: int, min_improvement: float, min_epochs: int):
    """Run one stage: yield ``(sse, done)`` per epoch until ``max_epochs``, or the RMSE stops improving after ``min_epochs``."""
    previous = None
    for epoch in range(1, max_epochs + 1):
        sse = float(run())
        rmse = np.sqrt(sse / n)
        done = epoch == max_epochs or (
            epoch >= min_epochs and previous is not None and previous - rmse < min_improvement * previous)
        yield sse, done
        if done:
            return
        previous = rmse


def train_features(P, Q, bu, bi, cache, users, items, values, *, next_order, lr, reg, rating_range,
                   max_epochs=100, min_improvement=1e-4, min_epochs=1, feature_init=0.1, start=None, engine="python"):
    r"""Funk's schedule on mutable arrays, one epoch per ``next()``: yields ``(feature, sse, done)``.

    Parameters
    ----------
    P, Q : ndarray, shape (n_users, k) and (n_items, k)
        Updated in place. Columns not started yet should be 0 (see the module Notes).
    bu, bi : ndarray
        Biases, updated in place; empty arrays for an unbiased model (no bias stage).
    cache : ndarray, shape (n_ratings,)
        :math:`\mu` for every rating on entry; updated in place as stages finish, so that after
        the stage of feature :math:`f` it equals ``residual_cache(..., f + 1)``.
    users, items, values : ndarray
        The ratings (int64 ids, float values).
    next_order : callable
        ``next_order()`` returns the visiting order of the next epoch (int64 sample indices).
    lr, reg : tuple of 4 floats
        Per block ``(P, Q, bu, bi)``, as the kernels of :mod:`funksvd.rules` take them.
    rating_range : (float, float)
        Bounds of the clip applied to the prediction inside training.
    max_epochs : int, default 100
        Epochs per stage at most.
    min_improvement : float, default 1e-4
        A stage ends after the first epoch whose relative training-RMSE improvement is below it.
    min_epochs : int, default 1
        Epochs per stage at least: the test above is applied from this epoch on.
    feature_init : float, default 0.1
        Starting value of :math:`p_{uf}` and :math:`q_{if}` (Funk's 0.1).
    start : (ndarray, ndarray), optional
        Starting columns taken from these arrays instead of ``feature_init``.
    engine : {"python", "compiled"}

    Yields
    ------
    feature : int or None
        The feature trained in this epoch; ``None`` for the bias stage.
    sse : float
        The epoch's sum of squared (clipped-prediction) errors, before each update.
    done : bool
        True on the last epoch of a stage (the arrays then hold the finished stage; the cache
        is updated when the generator resumes).
    """
    fns = feature_functions(engine)
    lo, hi = (float(b) for b in rating_range)
    n = len(values)
    if len(bu):
        def run_biases():
            return fns.run_bias_epoch(bu, bi, cache, users, items, values, next_order(), lr, reg, lo, hi)

        for sse, done in _stage(run_biases, n, max_epochs, min_improvement, min_epochs):
            yield None, sse, done
        fns.add_biases(cache, bu, bi, users, items)
    for f in range(P.shape[1]):
        P[:, f] = feature_init if start is None else start[0][:, f]
        Q[:, f] = feature_init if start is None else start[1][:, f]

        def run_feature():
            return fns.run_feature_epoch(P, Q, cache, f, users, items, values, next_order(), lr, reg, lo, hi)

        for sse, done in _stage(run_feature, n, max_epochs, min_improvement, min_epochs):
            yield f, sse, done
        fns.add_feature(cache, P, Q, f, users, items)
