r"""numpy's ziggurat for standard normal draws from ``PCG64``, compiled (see :mod:`funksvd.sgd.normal_draws`).

The generator's state travels as six unsigned 64-bit words: the 128-bit LCG state (high, low),
its increment (high, low), and numpy's buffered 32-bit half (a flag and the half). PCG64 steps
:math:`s \leftarrow s \cdot m + c \pmod{2^{128}}`, then outputs the XSL-RR of the new state,
:math:`\mathrm{rotr}_{64}(s_{hi} \oplus s_{lo},\; s \gg 122)`; numba has no 128-bit integers, so
that step is an LLVM intrinsic (:func:`pcg64_step`). Compiled without ``fastmath``: every
floating-point operation rounds as numpy's C does.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba.core import cgutils, types
from numba.extending import intrinsic
from numba.np.random._constants import (fi_double, fi_float, ki_double, ki_float, wi_double, wi_float,
                                        ziggurat_nor_inv_r, ziggurat_nor_inv_r_f, ziggurat_nor_r, ziggurat_nor_r_f)

from .compiled import njit_cached

__all__ = ["fill_float32", "fill_float64", "pcg64_step"]

#: PCG64's 128-bit multiplier (``PCG_DEFAULT_MULTIPLIER_128``).
MULTIPLIER = 0x2360ED051FC65DA44385DF649FCCF645


def _compiled(inline: bool = False):
    """``numba.njit``, cached, without ``fastmath`` (every operation rounds as in numpy's C) and without allocation."""
    def wrap(fn):
        return njit_cached(fn, nogil=True, _nrt=False, **({"inline": "always"} if inline else {}))
    return wrap


@intrinsic
def pcg64_step(typingctx, high, low, inc_high, inc_low):
    """PCG64's step of the state ``(high, low)`` by the increment: ``(high, low, output)`` of the new state."""
    signature = types.UniTuple(types.uint64, 3)(types.uint64, types.uint64, types.uint64, types.uint64)

    def codegen(context, builder, sig, args):
        i64, i128 = ir.IntType(64), ir.IntType(128)

        def wide(high, low):
            return builder.or_(builder.shl(builder.zext(high, i128), ir.Constant(i128, 64)), builder.zext(low, i128))

        state = builder.add(builder.mul(wide(args[0], args[1]), ir.Constant(i128, MULTIPLIER)), wide(args[2], args[3]))
        high = builder.trunc(builder.lshr(state, ir.Constant(i128, 64)), i64)
        low = builder.trunc(state, i64)
        folded = builder.xor(high, low)
        rotation = builder.trunc(builder.lshr(state, ir.Constant(i128, 122)), i64)
        rotate_right = cgutils.get_or_insert_function(builder.module, ir.FunctionType(i64, [i64, i64, i64]),
                                                      "llvm.fshr.i64")
        output = builder.call(rotate_right, [folded, folded, rotation])
        return context.make_tuple(builder, sig.return_type, [high, low, output])

    return signature, codegen


@_compiled(inline=True)
def next_uint32(high, low, inc_high, inc_low, has_half, half):
    """numpy's ``pcg64_next32``: the buffered high half if there is one, else a fresh output's low half.

    Returns the value and the new ``(high, low, has_half, half)``.
    """
    if has_half:
        return np.uint32(half), high, low, np.uint64(0), half
    high, low, value = pcg64_step(high, low, inc_high, inc_low)
    return np.uint32(value & np.uint64(0xFFFFFFFF)), high, low, np.uint64(1), value >> np.uint64(32)


@_compiled()
def fill_float32(words, out):
    """``out[j]`` = numpy's ``random_standard_normal_f``, for each ``j`` in turn; ``words``: the state, updated."""
    high, low, inc_high, inc_low, has_half, half = words[0], words[1], words[2], words[3], words[4], words[5]
    for j in range(out.shape[0]):
        while True:
            r, high, low, has_half, half = next_uint32(high, low, inc_high, inc_low, has_half, half)
            idx = r & np.uint32(0xFF)
            rabs = (r >> np.uint32(9)) & np.uint32(0x007FFFFF)
            x = np.float32(np.float32(rabs) * wi_float[idx])
            if (r >> np.uint32(8)) & np.uint32(1):
                x = -x
            if rabs < ki_float[idx]:
                break
            if idx == 0:  # the tail beyond r (Marsaglia), 1 - U inside the log as numpy takes it
                while True:
                    r1, high, low, has_half, half = next_uint32(high, low, inc_high, inc_low, has_half, half)
                    r2, high, low, has_half, half = next_uint32(high, low, inc_high, inc_low, has_half, half)
                    xx = np.float32(-ziggurat_nor_inv_r_f * np.log1p(-_float(r1)))
                    yy = np.float32(-np.log1p(-_float(r2)))
                    if np.float32(yy + yy) > np.float32(xx * xx):
                        x = np.float32(ziggurat_nor_r_f + xx)
                        if (rabs >> np.uint32(8)) & np.uint32(1):
                            x = -x
                        break
                break
            # the wedge: in C, exp(-0.5 * x * x) is a double and the float32 side is promoted to it
            r1, high, low, has_half, half = next_uint32(high, low, inc_high, inc_low, has_half, half)
            if (np.float32(np.float32((fi_float[idx - 1] - fi_float[idx]) * _float(r1)) + fi_float[idx])
                    < np.exp(-0.5 * np.float64(x) * np.float64(x))):
                break
        out[j] = x
    words[0], words[1], words[4], words[5] = high, low, has_half, half


@_compiled(inline=True)
def _float(r):
    """numpy's ``next_float`` of the 32 bits ``r``: the top 24, over :math:`2^{24}`."""
    return np.float32(np.float32(r >> np.uint32(8)) * np.float32(1.0 / 16777216.0))


@_compiled(inline=True)
def _double(r):
    """numpy's ``next_double`` of the 64 bits ``r``: the top 53, over :math:`2^{53}`."""
    return np.float64(r >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@_compiled()
def fill_float64(words, out):
    """``out[j]`` = numpy's ``random_standard_normal``, for each ``j`` in turn; ``words``: the state, updated."""
    high, low, inc_high, inc_low = words[0], words[1], words[2], words[3]
    for j in range(out.shape[0]):
        while True:
            high, low, r = pcg64_step(high, low, inc_high, inc_low)
            idx = r & np.uint64(0xFF)
            r >>= np.uint64(8)
            rabs = (r >> np.uint64(1)) & np.uint64(0x000FFFFFFFFFFFFF)
            x = np.float64(rabs) * wi_double[idx]
            if r & np.uint64(1):
                x = -x
            if rabs < ki_double[idx]:
                break
            if idx == 0:
                while True:
                    high, low, r1 = pcg64_step(high, low, inc_high, inc_low)
                    high, low, r2 = pcg64_step(high, low, inc_high, inc_low)
                    xx = -ziggurat_nor_inv_r * np.log1p(-_double(r1))
                    yy = -np.log1p(-_double(r2))
                    if yy + yy > xx * xx:
                        x = ziggurat_nor_r + xx
                        if (rabs >> np.uint64(8)) & np.uint64(1):
                            x = -x
                        break
                break
            high, low, r1 = pcg64_step(high, low, inc_high, inc_low)
            if (fi_double[idx - 1] - fi_double[idx]) * _double(r1) + fi_double[idx] < np.exp(-0.5 * x * x):
                break
        out[j] = x
    words[0], words[1] = high, low
