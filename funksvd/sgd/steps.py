r"""Stochastic gradient descent with the per-rating rules: one step, one epoch.

Both engines run the *same source*: the loop :func:`funksvd.sgd.loops.run_epoch` and the rule
kernels of :mod:`funksvd.maths.rules`. ``engine="python"`` calls them as plain Python (the readable reference);
``engine="compiled"`` hands the identical functions to numba (:mod:`funksvd.sgd.compiled`).
"""

from __future__ import annotations

import numpy as np

from ..base.errors import DivergenceError
from ..model.factors import BLOCKS, Factors
from .loops import bind, run_cells, run_epoch, typed_scalars
from ..maths.objectives import per_block
from ..model.ratings import Ratings
from ..maths.rules import get_rule

__all__ = ["sgd_step", "sgd_epoch", "run_epoch", "bind", "LOOP_ENGINES"]

#: The engines of the per-rating epoch loop: plain Python, and the same loop compiled by numba.
LOOP_ENGINES = ("python", "compiled")


def hyper_tuple(value, name: str) -> tuple[float, float, float, float]:
    """``lr`` or ``reg`` as the kernels take it: a 4-tuple in block order ``(P, Q, bu, bi)``."""
    blocks = per_block(value, name)
    missing = [b for b in BLOCKS if b not in blocks]
    if missing:
        raise ValueError(f"{name} must give every block {list(BLOCKS)}; missing {missing}")
    P, Q, bu, bi = (blocks[b] for b in BLOCKS)
    return P, Q, bu, bi


def epoch_function(rule, engine: str, row_bytes: int = 0):
    """The epoch loop for ``rule`` on ``engine`` (``row_bytes``: of a row of :math:`P`; it picks the compiled loop)."""
    rule = get_rule(rule)
    if engine == "python":
        return bind(run_epoch, f"run_epoch[{rule.name}]", step=rule.step)
    if engine == "compiled":
        from .compiled import compiled_epoch

        return compiled_epoch(rule, row_bytes)
    raise ValueError(f"engine={engine!r}; expected one of {LOOP_ENGINES}")


def cells_function(rule, engine: str, row_bytes: int = 0):
    """The epoch loop over a grid's cells (:func:`~funksvd.sgd.loops.run_cells`) for ``rule`` on ``engine``."""
    rule = get_rule(rule)
    if engine == "compiled":
        from .compiled import compiled_cells

        return compiled_cells(rule, row_bytes)
    return bind(run_cells, f"run_cells[{rule.name}]", epoch=epoch_function(rule, engine))


def finish_step(arrays, mu, what: str) -> Factors:
    """Wrap updated arrays as Factors, refusing non-finite values."""
    for name, array in zip(BLOCKS, arrays):
        if not np.all(np.isfinite(array)):
            raise DivergenceError(
                f"{name} became non-finite during {what}; the learning rate is too large for this "
                "data (or the initial factors too big): try a smaller lr"
            )
    P, Q, bu, bi = arrays
    return Factors.from_arrays(P, Q, bu, bi, mu)


def check_pair(factors: Factors, u, i, r):
    for name, index, n in (("u", u, factors.n_users), ("i", i, factors.n_items)):
        if int(index) != index or not 0 <= index < n:
            raise ValueError(f"{name} = {index!r} is not a valid index for {n} {'users' if name == 'u' else 'items'}")
    if not np.isfinite(r):
        raise ValueError(f"r = {r!r} is not finite")
    return int(u), int(i), float(r)


def sgd_step(factors: Factors, u, i, r, rule="funk", lr=0.005, reg=0.02) -> Factors:
    r"""One update of ``rule`` on the single rating :math:`(u, i, r)`; ``factors`` is untouched.

    Parameters
    ----------
    factors : Factors
    u, i : int
        User and item index.
    r : float
        The rating.
    rule : str or Rule, default "funk"
        A key of :data:`funksvd.RULES`.
    lr, reg : float or mapping, default 0.005 and 0.02
        Learning rate :math:`\gamma` and regularisation :math:`\lambda`, one for all blocks or
        one per block ``{"P", "Q", "bu", "bi"}``.

    Returns
    -------
    Factors
        The updated parameters.
    """
    rule = get_rule(rule)
    u, i, r = check_pair(factors, u, i, r)
    P, Q, bu, bi = arrays = factors.mutable_copy()
    mu, lr, reg = typed_scalars(P.dtype, factors.mu, hyper_tuple(lr, "lr"), hyper_tuple(reg, "reg"))
    with np.errstate(all="ignore"):  # overflow is caught below, as a DivergenceError
        rule.step(P, Q, bu, bi, mu, u, i, P.dtype.type(r), lr, reg)
    return finish_step(arrays, factors.mu, f"the {rule.name} step on (u={u}, i={i})")


def check_order(order, n: int) -> np.ndarray:
    """Validate a visiting order: integer sample indices in ``[0, n)``."""
    order = np.asarray(order)
    if order.ndim != 1 or not (np.issubdtype(order.dtype, np.integer) or order.size == 0):
        raise ValueError(f"order must be a 1-D array of integer sample indices, got {order.dtype} {order.shape}")
    bad = np.flatnonzero((order < 0) | (order >= n))
    if bad.size:
        raise ValueError(f"order[{bad[0]}] = {order[bad[0]]} is not a sample index in [0, {n})")
    return order.astype(np.int64)


def sgd_epoch(factors: Factors, ratings: Ratings, rule="funk", lr=0.005, reg=0.02, order=None,
              engine="python") -> Factors:
    r"""One pass of ``rule`` over ``ratings``; ``factors`` is untouched.

    Parameters
    ----------
    factors : Factors
    ratings : Ratings
    rule, lr, reg
        As in :func:`sgd_step`.
    order : array_like of int, optional
        Sample indices in visiting order (a permutation, or any sequence of indices).
        ``None`` visits the ratings in stored order.
    engine : {"python", "compiled"}
        The literal Python loop, or the same loop compiled with numba.

    Returns
    -------
    Factors

    Raises
    ------
    DivergenceError
        If a parameter becomes non-finite (learning rate too large).
    """
    rule = get_rule(rule)
    if (ratings.n_users, ratings.n_items) != (factors.n_users, factors.n_items):
        raise ValueError(
            f"ratings are {ratings.n_users} x {ratings.n_items} but the factors {factors.n_users} x {factors.n_items}"
        )
    n = len(ratings)
    order = np.arange(n, dtype=np.int64) if order is None else check_order(order, n)
    P, Q, bu, bi = arrays = factors.mutable_copy()
    epoch = epoch_function(rule, engine, P.shape[1] * P.itemsize)
    mu, lr, reg = typed_scalars(P.dtype, factors.mu, hyper_tuple(lr, "lr"), hyper_tuple(reg, "reg"))
    with np.errstate(all="ignore"):  # overflow is caught below, as a DivergenceError
        epoch(P, Q, bu, bi, mu, ratings.users, ratings.items, ratings.values.astype(P.dtype, copy=False),
              order, lr, reg)
    return finish_step(arrays, factors.mu, f"a {rule.name} epoch")
