"""The compiled engine: the Python kernels of :mod:`funksvd.rules` and :mod:`funksvd.sgd`, compiled by numba.

Nothing is rewritten here. Each function is copied with its globals rebound to compiled
callees (:func:`funksvd.sgd.bind`) and handed to ``numba.njit``; compilation is cached on disk.
numba is imported only when this module is, i.e. on first use of ``engine="compiled"``.

Compiler options (measured on MovieLens 100K, k = 100, 2-core AMD EPYC; ``benchmarks/``):

* ``_nrt=False``: the kernels never allocate, so numba's reference counting is switched off.
  With it on, every per-rating call increments and decrements the count of each array it is
  passed (atomic operations): 160 ns per rating. Off: 55 ns. A kernel that tried to allocate
  would now fail to compile, which keeps them honest.
* ``inline="always"`` for the per-rating kernels (the rule and its prediction), so the loop of
  :func:`funksvd.sgd.run_epoch` is one function the optimiser sees whole.
* ``fastmath={"reassoc", "contract"}``: the dot product may be reassociated (vectorised) and
  multiply-adds fused. Results then differ from the Python engine by rounding only (tested to
  1e-12), and stay bit-identical from run to run on one machine. No ``nnan``/``ninf``: a
  diverging run still produces the ``inf``/``NaN`` that the divergence guard looks for.
"""

from __future__ import annotations

from functools import lru_cache

import numba

from . import rules
from .sgd import bind, run_epoch

__all__ = ["compiled_epoch", "compiled_step", "jit", "OPTIONS"]

#: Options of every compiled kernel (see the module notes).
OPTIONS = {"cache": True, "nogil": True, "_nrt": False, "fastmath": frozenset({"reassoc", "contract"})}


def jit(fn, name=None, inline=False, **names):
    """``numba.njit`` a copy of ``fn`` with globals ``names`` rebound (cached compilation).

    ``inline=True`` for a kernel called once per rating, so that it is compiled into its caller.
    """
    options = dict(OPTIONS, fastmath=set(OPTIONS["fastmath"]))
    if inline:
        options["inline"] = "always"
    return numba.njit(**options)(bind(fn, name, **names))


_predict_one = jit(rules.predict_one, inline=True)


@lru_cache(maxsize=None)
def compiled_step(step):
    """A per-rating kernel of :mod:`funksvd.rules`, compiled."""
    return jit(step, step.__name__, inline=True, predict_one=_predict_one)


@lru_cache(maxsize=None)
def _compiled_epoch(step):
    return jit(run_epoch, f"run_epoch_{step.__name__}", step=compiled_step(step))


def compiled_epoch(rule):
    """The epoch loop with ``rule``'s kernel inlined, compiled."""
    return _compiled_epoch(rule.step)
