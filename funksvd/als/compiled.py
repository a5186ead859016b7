"""The compiled ALS engine: :func:`funksvd.als.normal_equations.solve_rows`, the same source, compiled by numba.

Nothing is rewritten: :func:`~funksvd.als.normal_equations.solve_rows` is copied with its three
linear-algebra callees rebound to their compiled twins of :mod:`funksvd.als.lapack` (BLAS
``dsyrk``, LAPACK ``dpotrf``/``dpotrs``) and handed to numba. The kernel allocates (its work
buffers, small per-row temporaries), so unlike the SGD kernels of :mod:`funksvd.sgd.compiled` it
runs with numba's reference counting on; it releases the GIL (``nogil``), so ``n_jobs`` threads
solve their rows at the same time. The compiled function is named after a hash of its source and
of its callees' (:func:`funksvd.sgd.compiled.source_key`), so the on-disk cache follows an edit to
any of them. numba is imported on first use only.
"""

from __future__ import annotations

import inspect
from functools import cache

__all__ = ["compiled_solve_rows"]


@cache
def compiled_solve_rows():
    """:func:`~funksvd.als.normal_equations.solve_rows` compiled (``nogil``, cached on disk when it can be)."""
    from ..sgd.compiled import njit_cached, source_key
    from ..sgd.loops import bind
    from . import lapack
    from .normal_equations import solve_rows

    callees = {name: getattr(lapack, name) for name in ("gram_of_columns", "gram_of_rows", "cholesky_solve")}
    key = source_key(solve_rows, lapack=inspect.getsource(lapack))
    return njit_cached(bind(solve_rows, f"solve_rows_{key}", **callees), nogil=True)
