"""The compiled engine: the Python kernels of :mod:`funksvd.maths.rules` and :mod:`funksvd.sgd.loops`, by numba.

Nothing is rewritten here. Each function is copied with its globals rebound to compiled
callees (:func:`funksvd.sgd.loops.bind`) and handed to ``numba.njit``; compilation is cached on disk.
numba is imported only when this module is, i.e. on first use of ``engine="compiled"``.

Compiler options (their effect is measured in ``benchmarks/``):

* ``_nrt=False``: the kernels never allocate, so numba's reference counting is switched off.
  With it on, every per-rating call increments and decrements the count of each array it is
  passed (atomic operations), which costs more than the update itself. A kernel that tried to allocate
  would now fail to compile, which keeps them honest.
* ``inline="always"`` for the per-rating kernels (the rule and its prediction), so the loop of
  :func:`funksvd.sgd.loops.run_epoch` is one function the optimiser sees whole.
* ``fastmath={"reassoc", "contract"}``: the dot product may be reassociated (vectorised) and
  multiply-adds fused. Results then differ from the Python engine by rounding only (tested to
  1e-12), and stay bit-identical from run to run on one machine. No ``nnan``/``ninf``: a
  diverging run still produces the ``inf``/``NaN`` that the divergence guard looks for.

**The on-disk cache.** numba keys a cached function on the file that *defines* it, but the epoch loop is defined in
:mod:`funksvd.sgd.loops` while the rule it inlines lives in :mod:`funksvd.maths.rules` (or
:mod:`funksvd.sgd.funk_schedule`): an edited rule would run its old compiled code. So every compiled
function is named after a hash of its own source and of the sources of every compiled
function bound into it (:func:`source_key`); any edit to any of them gives a new name, hence a
fresh compilation.

Where the cache lives is numba's choice: ``$NUMBA_CACHE_DIR`` if set, else ``__pycache__``
next to the package, else the user's cache directory (``~/.cache/numba``). Set
``NUMBA_CACHE_DIR`` to a writable directory for a read-only install. When none of them is
writable, the kernels are compiled in memory for this process only (one ``RuntimeWarning``):
correct, but each new process pays the compilation again.
"""

from __future__ import annotations

import hashlib
import inspect
import warnings
from functools import lru_cache

import numba
from llvmlite import ir
from numba.core import cgutils, types
from numba.extending import intrinsic

from ..maths import rules
from .loops import bind, run_cells, run_epoch, run_epoch_pairs, run_epoch_pipelined

__all__ = ["compiled_epoch", "compiled_cells", "compiled_step", "PIPELINE_ROW_BYTES", "jit", "njit_cached",
           "source_key", "OPTIONS"]

#: Options of every compiled kernel (see the module notes).
OPTIONS = {"cache": True, "nogil": True, "_nrt": False, "fastmath": frozenset({"reassoc", "contract"})}

_SOURCE_KEY = "_funksvd_source_key"


def source_key(fn, **names) -> str:
    """A hash of ``fn``'s source and of the source keys of the compiled functions in ``names``."""
    digest = hashlib.sha256(inspect.getsource(fn).encode())
    for name in sorted(names):
        value = names[name]
        digest.update(f"\0{name}=".encode())
        digest.update(getattr(value, _SOURCE_KEY, repr(value)).encode())
    return digest.hexdigest()[:16]


def jit(fn, name=None, inline=False, **names):
    """``numba.njit`` a copy of ``fn`` with globals ``names`` rebound (cached compilation).

    ``inline=True`` for a kernel called once per rating, so that it is compiled into its caller.
    The copy's name carries :func:`source_key`, so the on-disk cache follows every source it
    compiles.
    """
    key = source_key(fn, **names)
    options = dict(OPTIONS, fastmath=set(OPTIONS["fastmath"]))
    if inline:
        options["inline"] = "always"
    compiled = njit_cached(bind(fn, f"{name or fn.__qualname__}_{key}", **names), **options)
    setattr(compiled, _SOURCE_KEY, key)
    return compiled


def njit_cached(fn, **options):
    """``numba.njit(cache=True, **options)(fn)``, or in memory (one warning) when numba has nowhere to cache."""
    try:
        return numba.njit(**dict(options, cache=True))(fn)
    except RuntimeError as error:  # numba: "cannot cache function ...: no locator available"
        if "no locator" not in str(error):
            raise
        _warn_uncached()
        return numba.njit(**dict(options, cache=False))(fn)


def _prefetch(typingctx, rows, row):
    """LLVM's ``prefetch`` of the first entry of ``rows[row]`` (read, keep in all cache levels).

    The compiled :func:`funksvd.sgd.loops.prefetch`: a hint, no load, so it changes no value and
    cannot fault (an index past the end prefetches nothing useful, and is never produced here).
    """
    signature = types.void(rows, row)

    def codegen(context, builder, sig, args):
        array_type, row_type = sig.args
        array = context.make_array(array_type)(context, builder, args[0])
        zero = context.get_constant(types.intp, 0)
        index = [context.cast(builder, args[1], row_type, types.intp)] + [zero] * (array_type.ndim - 1)
        pointer = cgutils.get_item_pointer(context, builder, array_type, array, index, wraparound=False)
        byte_pointer = ir.IntType(8).as_pointer()
        int32 = ir.IntType(32)
        llvm_prefetch = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.VoidType(), [byte_pointer, int32, int32, int32]), "llvm.prefetch.p0")
        # (address, 0 = read, 3 = keep in every cache level, 1 = data cache)
        builder.call(llvm_prefetch, [builder.bitcast(pointer, byte_pointer), ir.Constant(int32, 0),
                                     ir.Constant(int32, 3), ir.Constant(int32, 1)])
        return context.get_dummy_value()

    return signature, codegen


prefetch = intrinsic(_prefetch)
setattr(prefetch, _SOURCE_KEY, source_key(_prefetch))  # an edit of the intrinsic recompiles its callers


@lru_cache(maxsize=1)
def _warn_uncached() -> None:
    """Warn, once a process (the cache of this function is the "once"), that numba cannot cache."""
    warnings.warn(
        "funksvd: no writable cache directory for numba; compiling in memory "
        "for this process only. Set NUMBA_CACHE_DIR to a writable directory to keep the compiled "
        "kernels between runs.", RuntimeWarning, stacklevel=3)


@lru_cache(maxsize=None)
def _predict_one():
    """The prediction kernel, compiled on first use (inlined into every step)."""
    return jit(rules.predict_one, inline=True)


@lru_cache(maxsize=None)
def compiled_step(step):
    """A per-rating kernel of :mod:`funksvd.maths.rules`, compiled on first use."""
    return jit(step, step.__name__, inline=True, predict_one=_predict_one())


@lru_cache(maxsize=None)
def _compiled_epoch(step):
    return jit(run_epoch, f"run_epoch_{step.__name__}", step=compiled_step(step), prefetch=prefetch)


@lru_cache(maxsize=None)
def _compiled_epoch_pairs(update):
    step = jit(update, update.__name__, inline=True)
    return jit(run_epoch_pairs, f"run_epoch_pairs_{update.__name__}", update=step, predict_one=_predict_one(),
               prefetch=prefetch)


@lru_cache(maxsize=None)
def _compiled_epoch_pipelined(update, update_predict):
    return jit(run_epoch_pipelined, f"run_epoch_pipelined_{update_predict.__name__}",
               update=jit(update, update.__name__, inline=True),
               update_predict=jit(update_predict, update_predict.__name__, inline=True),
               predict_one=_predict_one(), prefetch=prefetch)


#: Rows of at least this many bytes (k = 32 in float64, 64 in float32) run the pipelined loop, where
#: the rule has one: each update also sums the next prediction. Its loop reads four rows and checks
#: them for overlap, a cost per rating that long rows repay and short rows do not (measured in
#: ``benchmarks/bench_kernel.py``; the figures are in docs/performance.rst).
PIPELINE_ROW_BYTES = 256


def compiled_epoch(rule, row_bytes: int = 0):
    """The epoch loop with ``rule``'s kernel inlined, compiled.

    ``row_bytes``: the bytes of a row of :math:`P` (``k`` times the itemsize). A rule with a
    ``compiled_update_predict`` runs it in :func:`~funksvd.sgd.loops.run_epoch_pipelined` for rows
    of :data:`PIPELINE_ROW_BYTES` or more; a rule with a ``compiled_update`` runs it in
    :func:`~funksvd.sgd.loops.run_epoch_pairs`; any other compiles its ``step`` into
    :func:`~funksvd.sgd.loops.run_epoch`.
    """
    if rule.compiled_update_predict is not None and row_bytes >= PIPELINE_ROW_BYTES:
        return _compiled_epoch_pipelined(rule.compiled_update, rule.compiled_update_predict)
    if rule.compiled_update is not None:
        return _compiled_epoch_pairs(rule.compiled_update)
    return _compiled_epoch(rule.step)


@lru_cache(maxsize=None)
def _compiled_cells(epoch):
    return jit(run_cells, f"run_cells_{epoch.__name__}", epoch=epoch)


def compiled_cells(rule, row_bytes: int = 0):
    """:func:`~funksvd.sgd.loops.run_cells` over :func:`compiled_epoch` of ``rule``: a grid epoch in one call."""
    return _compiled_cells(compiled_epoch(rule, row_bytes))
