"""The compiled engine: the Python kernels of :mod:`funksvd.rules` and :mod:`funksvd.sgd`, compiled by numba.

Nothing is rewritten here. Each function is copied with its globals rebound to compiled
callees (:func:`funksvd.sgd.bind`) and handed to ``numba.njit``; compilation is cached on disk.
numba is imported only when this module is, i.e. on first use of ``engine="compiled"``.
"""

from __future__ import annotations

from functools import lru_cache

import numba

from . import rules
from .sgd import bind, run_epoch

__all__ = ["compiled_epoch", "jit"]


def jit(fn, name=None, **names):
    """``numba.njit`` a copy of ``fn`` with globals ``names`` rebound (cached compilation)."""
    return numba.njit(cache=True, nogil=True)(bind(fn, name, **names))


_predict_one = jit(rules.predict_one)


@lru_cache(maxsize=None)
def compiled_step(step):
    """A per-rating kernel of :mod:`funksvd.rules`, compiled."""
    return jit(step, step.__name__, predict_one=_predict_one)


@lru_cache(maxsize=None)
def _compiled_epoch(step):
    return jit(run_epoch, f"run_epoch_{step.__name__}", step=compiled_step(step))


def compiled_epoch(rule):
    """The epoch loop with ``rule``'s kernel inlined, compiled."""
    return _compiled_epoch(rule.step)
