"""Arrays whose first byte sits on a cache line: what the compiled kernels read a row of P or Q from.

numpy takes its memory from ``malloc``, which aligns to 16 bytes; a large block comes from
``mmap`` one header (16 bytes) past a page boundary. A float64 row read with 32-byte vector loads
then straddles a cache line every other load. The parameters a fit trains are allocated here
instead (see docs/performance.rst for what it buys).
"""

from __future__ import annotations

import numpy as np

__all__ = ["CACHE_LINE", "aligned_empty", "aligned_copy", "owns_block"]

#: Bytes of a cache line on the x86-64 and ARM cores funksvd runs on; a multiple of every vector width.
CACHE_LINE = 64


def aligned_empty(shape, dtype) -> np.ndarray:
    """``np.empty(shape, dtype)`` (C order) starting on a :data:`CACHE_LINE` boundary."""
    dtype = np.dtype(dtype)
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    buffer = np.empty(nbytes + CACHE_LINE, np.uint8)
    start = -buffer.ctypes.data % CACHE_LINE
    return buffer[start:start + nbytes].view(dtype).reshape(shape)


def aligned_copy(a: np.ndarray) -> np.ndarray:
    """A C-ordered copy of ``a`` starting on a :data:`CACHE_LINE` boundary."""
    out = aligned_empty(a.shape, a.dtype)
    out[...] = a
    return out


def owns_block(array: np.ndarray) -> bool:
    """Whether ``array`` holds its memory alone: it owns its data, or it is the whole of an :func:`aligned_empty` block.

    Such an array can be handed over without a copy (``Factors._own``): no other array reaches its bytes
    except through the private byte buffer under it.
    """
    if array.flags.owndata:
        return True
    base = array.base
    return (isinstance(base, np.ndarray) and base.flags.owndata and base.dtype == np.uint8 and base.ndim == 1
            and array.flags.c_contiguous and array.ctypes.data % CACHE_LINE == 0
            and 0 <= base.nbytes - array.nbytes <= CACHE_LINE
            and base.ctypes.data <= array.ctypes.data < base.ctypes.data + CACHE_LINE)
