r"""The epoch loop both engines run, and :func:`bind`, which plugs a rule kernel into it.

:func:`run_epoch` calls a global ``step``; :func:`bind` copies the function with that global
replaced by a rule of :mod:`funksvd.maths.rules`. The Python engine (:mod:`funksvd.sgd`) runs the
copy as it stands; the compiled engine (:mod:`funksvd.sgd.compiled`) hands the same copy to numba,
with the kernel compiled and inlined. Both import this module; neither imports the other
eagerly.

The loop is dtype-generic: it computes in the type of the arrays and scalars it is given. The
callers hand it :math:`\mu`, ``lr``, ``reg`` and the ratings' values in the parameters' dtype
(:func:`typed_scalars`), so a float32 model is float32 end to end; only the sum of squared
errors is accumulated in float64.
"""

from __future__ import annotations

import types

import numpy as np

__all__ = ["run_epoch", "run_epoch_pairs", "run_epoch_pipelined", "run_cells", "bind", "typed_scalars", "prefetch",
           "AHEAD"]

step = None  # the rule kernel; bound per rule by bind(run_epoch, step=...)
epoch = None  # an epoch loop over one cell; bound by bind(run_cells, epoch=...)
update = None  # a rule's update given the error; bound by bind(run_epoch_pairs, update=...)
predict_one = None  # the prediction; bound by bind(run_epoch_pairs, predict_one=...)
update_predict = None  # an update with the next pair's prediction; bound by bind(run_epoch_pipelined, ...)

#: How many ratings ahead :func:`run_epoch` asks for the rows of :math:`P` and :math:`Q`.
AHEAD = 8


def prefetch(rows, row):
    """A hint that ``rows[row]`` will be read soon: nothing in Python; a cache prefetch when compiled."""


def run_epoch_pairs(P, Q, bu, bi, mu, users, items, values, order, lr, reg):
    """:func:`run_epoch` for a rule given as ``update(..., err, ...)``: two ratings predicted, then both updated.

    Two consecutive ratings that share no user and no item touch disjoint rows, so the second's
    error is the same whether it is computed before or after the first's update: computing both
    errors first, then applying both updates, gives the values of :func:`run_epoch` bit for bit,
    while the CPU overlaps the two dot products instead of waiting for each update to finish. A
    pair that shares a row is run one rating after the other. ``predict_one`` and ``update`` are
    globals bound by :func:`bind` (the compiled engine binds a rule's ``compiled_update``).
    """
    sse = 0.0
    n = order.shape[0]
    t = 0
    while t < n:
        if t + AHEAD + 1 < n:
            for ahead in (order[t + AHEAD], order[t + AHEAD + 1]):
                prefetch(P, users[ahead])
                prefetch(Q, items[ahead])
        j = order[t]
        u, i = users[j], items[j]
        err = values[j] - predict_one(P, Q, bu, bi, mu, u, i)
        if t + 1 < n:
            j2 = order[t + 1]
            u2, i2 = users[j2], items[j2]
            if u2 != u and i2 != i:  # disjoint rows: predict the second before the first update
                err2 = values[j2] - predict_one(P, Q, bu, bi, mu, u2, i2)
                update(P, Q, bu, bi, u, i, err, lr, reg)
                update(P, Q, bu, bi, u2, i2, err2, lr, reg)
                sse += err * err
                sse += err2 * err2
                t += 2
                continue
        update(P, Q, bu, bi, u, i, err, lr, reg)
        sse += err * err
        t += 1
    return sse


def run_epoch_pipelined(P, Q, bu, bi, mu, users, items, values, order, lr, reg):
    """:func:`run_epoch` for a rule given as ``update`` and ``update_predict``: each update computes the next error.

    While the rows of rating ``t`` are updated, the loop of ``update_predict`` also sums the
    prediction of rating ``t + 1``: the same updates in the same order as :func:`run_epoch`, each
    error from the values it would see there; only the rounding of the dot products differs when
    compiled. When the two ratings share a row, the update runs alone and the prediction after it:
    the fused loop would give the same values, but compiled it would store to and load from the same
    row in one pass, which the vectorised code cannot do (it falls back to scalar code, a few
    per cent slower). ``predict_one``, ``update`` and ``update_predict`` are globals bound by
    :func:`bind` (a rule's ``compiled_update`` and ``compiled_update_predict``).
    """
    sse = 0.0
    n = order.shape[0]
    if n == 0:
        return sse
    j = order[0]
    u, i = users[j], items[j]
    err = values[j] - predict_one(P, Q, bu, bi, mu, u, i)
    for t in range(n - 1):
        if t + AHEAD < n:
            ahead = order[t + AHEAD]
            prefetch(P, users[ahead])
            prefetch(Q, items[ahead])
        j2 = order[t + 1]
        u2, i2 = users[j2], items[j2]
        if u2 != u and i2 != i:  # rows of its own: the next prediction inside this update's loop
            err2 = values[j2] - update_predict(P, Q, bu, bi, mu, u, i, err, u2, i2, lr, reg)
        else:
            update(P, Q, bu, bi, u, i, err, lr, reg)
            err2 = values[j2] - predict_one(P, Q, bu, bi, mu, u2, i2)
        sse += err * err
        u, i, err = u2, i2, err2
    update(P, Q, bu, bi, u, i, err, lr, reg)
    sse += err * err
    return sse


def run_epoch(P, Q, bu, bi, mu, users, items, values, order, lr, reg):
    """Visit the ratings in ``order``, applying ``step`` to each; return the sum of squared errors.

    ``step`` is a global bound per rule by :func:`bind`, so that numba can compile this loop
    with the rule inlined, from this very source. While rating ``t`` is updated, the rows of
    rating ``t + AHEAD`` are fetched into the cache (:func:`prefetch`; it changes no value).
    """
    sse = 0.0
    n = order.shape[0]
    for t in range(n):
        if t + AHEAD < n:
            ahead = order[t + AHEAD]
            prefetch(P, users[ahead])
            prefetch(Q, items[ahead])
        j = order[t]
        err = step(P, Q, bu, bi, mu, users[j], items[j], values[j], lr, reg)
        sse += err * err
    return sse


def run_cells(P, Q, bu, bi, mu, users, items, values, bounds, cells, arange, lr, reg, sses):
    """One epoch over ratings stored cell by cell: ``epoch`` on each cell of ``cells``, in that order.

    Cell ``c`` holds ``bounds[c]:bounds[c + 1]`` of ``users, items, values``; ``arange`` is
    ``0, 1, ...`` (the order within a cell: front to back). ``sses[t]`` receives the sum of squared
    errors of the ``t``-th cell visited. ``epoch`` is a global bound by :func:`bind` (one of the
    loops above, with a rule), so that the compiled engine runs an epoch in one call.
    """
    for t in range(cells.shape[0]):
        c = cells[t]
        a, b = bounds[c], bounds[c + 1]
        sses[t] = epoch(P, Q, bu, bi, mu, users[a:b], items[a:b], values[a:b], arange[:b - a], lr, reg)
    return sses


def bind(fn, name=None, **names):
    """A copy of function ``fn`` whose global ``names`` are replaced (e.g. ``step=rules.funk``)."""
    clone = types.FunctionType(fn.__code__, {**fn.__globals__, **names}, fn.__name__, fn.__defaults__)
    clone.__qualname__ = name or fn.__qualname__
    clone.__doc__ = fn.__doc__
    return clone


def typed_scalars(dtype, mu, lr, reg):
    """:math:`\\mu` and the ``lr``, ``reg`` tuples as scalars of ``dtype`` (numpy scalars: numba types them exactly)."""
    kind = np.dtype(dtype).type
    return kind(mu), tuple(kind(x) for x in lr), tuple(kind(x) for x in reg)
