r"""The compiled engine's twins of :func:`~funksvd.als.normal_equations.gram_of_columns`,
:func:`~funksvd.als.normal_equations.gram_of_rows` and
:func:`~funksvd.als.normal_equations.cholesky_solve`: BLAS ``dsyrk``, LAPACK ``dpotrf`` and ``dpotrs``.

They call the BLAS and LAPACK that scipy ships (its ``cython_blas`` and ``cython_lapack``),
by name: each routine's address is registered with LLVM under a ``funksvd_`` symbol when this
module is imported, and the compiled code calls the symbol, so numba's on-disk cache stays valid
in a new process (where the library may load at another address). numba's own ``np.linalg``
has no ``syrk`` (a Gram matrix by ``np.dot`` is a full ``gemm``: twice the work) and copies
its inputs.

**Layout.** A C-contiguous :math:`n \times m` array is, to Fortran, the :math:`m \times n`
column-major array of its transpose. So :math:`A^\top A` is ``dsyrk('L', 'N')`` on :math:`A` as
Fortran sees it, :math:`A A^\top` is ``dsyrk('L', 'T')``, and both fill Fortran's lower
triangle, which is the *upper* triangle of the C-order result; ``dpotrf('L')`` reads exactly
that triangle, so the other one is never written nor read.

This module imports numba and scipy: it is loaded only by :mod:`funksvd.als.compiled`.
"""

from __future__ import annotations

import llvmlite.binding as llvm
import numpy as np
from numba import types
from numba.extending import get_cython_function_address

from ..sgd.compiled import njit_cached

__all__ = ["cholesky_solve", "gram_of_columns", "gram_of_rows"]


def _external(module: str, name: str, n_args: int):
    """scipy's Fortran routine ``name`` as a numba external function of ``n_args`` pointers (Fortran passes all by
    reference)."""
    llvm.add_symbol(f"funksvd_{name}", get_cython_function_address(f"scipy.linalg.cython_{module}", name))
    return types.ExternalFunction(f"funksvd_{name}", types.void(*[types.voidptr] * n_args))


_dsyrk = _external("blas", "dsyrk", 10)  # uplo, trans, n, k, alpha, a, lda, beta, c, ldc
_dpotrf = _external("lapack", "dpotrf", 5)  # uplo, n, a, lda, info
_dpotrs = _external("lapack", "dpotrs", 8)  # uplo, n, nrhs, a, lda, b, ldb, info

_LOWER, _NO_TRANSPOSE, _TRANSPOSE = ord("L"), ord("N"), ord("T")


def _compiled(fn):
    return njit_cached(fn, nogil=True)


@_compiled
def _syrk(A, G, trans):
    """Fortran's ``dsyrk(uplo='L', trans)``: ``G`` = :math:`A^\\top A` (``trans='N'``) or :math:`A A^\\top` ('T')."""
    if not (A.flags.c_contiguous and G.flags.c_contiguous):
        raise ValueError("funksvd.als.lapack: the Gram matrix needs C-contiguous arrays")
    n_rows, n_cols = A.shape
    order = G.shape[0]
    inner = n_rows if trans == _NO_TRANSPOSE else n_cols
    ints = np.array([order, inner, n_cols, order], dtype=np.int32)  # n, k, lda, ldc
    chars = np.array([_LOWER, trans], dtype=np.uint8)
    scalars = np.array([1.0, 0.0])  # alpha, beta
    _dsyrk(chars[0:].ctypes, chars[1:].ctypes, ints[0:].ctypes, ints[1:].ctypes, scalars[0:].ctypes, A.ctypes,
           ints[2:].ctypes, scalars[1:].ctypes, G.ctypes, ints[3:].ctypes)


@_compiled
def gram_of_columns(A, G):
    """``G`` :math:`\\leftarrow A^\\top A`, C-order upper triangle only (BLAS ``dsyrk``)."""
    _syrk(A, G, _NO_TRANSPOSE)


@_compiled
def gram_of_rows(A, G):
    """``G`` :math:`\\leftarrow A A^\\top`, C-order upper triangle only (BLAS ``dsyrk``)."""
    _syrk(A, G, _TRANSPOSE)


@_compiled
def cholesky_solve(G, rhs):
    """``rhs`` :math:`\\leftarrow G^{-1}` ``rhs`` (LAPACK ``dpotrf`` then ``dpotrs``; ``G`` becomes its factor).

    Raises :class:`numpy.linalg.LinAlgError` when ``G`` is not positive definite, as the Python
    engine's :func:`numpy.linalg.cholesky` does.
    """
    if not (G.flags.c_contiguous and rhs.flags.c_contiguous):
        raise ValueError("funksvd.als.lapack: the Cholesky solve needs C-contiguous arrays")
    ints = np.array([G.shape[0], 1, 0], dtype=np.int32)  # n, nrhs, info
    uplo = np.array([_LOWER], dtype=np.uint8)
    _dpotrf(uplo.ctypes, ints[0:].ctypes, G.ctypes, ints[0:].ctypes, ints[2:].ctypes)
    if ints[2] != 0:
        raise np.linalg.LinAlgError("Matrix is not positive definite.")
    _dpotrs(uplo.ctypes, ints[0:].ctypes, ints[1:].ctypes, G.ctypes, ints[0:].ctypes, rhs.ctypes, ints[0:].ctypes,
            ints[2:].ctypes)
