"""The compiled ALS engine: :func:`funksvd.als.normal_equations.solve_rows`, the same source, compiled by numba.

The kernel allocates (its work buffers, numpy's ``np.dot`` and ``np.linalg.solve`` results),
so unlike the SGD kernels of :mod:`funksvd.sgd.compiled` it runs with numba's reference
counting on; it releases the GIL (``nogil``), so ``n_jobs`` threads solve their rows at the
same time. numba's ``np.dot`` and ``np.linalg.solve`` call the BLAS and LAPACK that scipy ships
(hence scipy among funksvd's dependencies). Compilation is cached on disk (numba keys the cache
on this kernel's own file, which holds everything it calls). numba is imported on first use only.
"""

from __future__ import annotations

import warnings
from functools import cache

__all__ = ["compiled_solve_rows"]


@cache
def compiled_solve_rows():
    """:func:`~funksvd.als.normal_equations.solve_rows` compiled (``nogil``, cached on disk when it can be)."""
    import numba

    from .normal_equations import solve_rows

    try:
        return numba.njit(nogil=True, cache=True)(solve_rows)
    except RuntimeError as error:  # numba: "cannot cache function ...: no locator available"
        if "no locator" not in str(error):
            raise
        warnings.warn(f"funksvd.als.compiled: no writable cache directory for numba ({error}); compiling in "
                      "memory for this process only (set NUMBA_CACHE_DIR)", RuntimeWarning, stacklevel=2)
        return numba.njit(nogil=True)(solve_rows)
