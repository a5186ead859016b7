r"""numpy's standard normal draws from a ``PCG64`` generator, compiled: the same numbers, about three times faster.

``Generator.standard_normal(dtype=..., out=...)`` fills an array by numpy's ziggurat, one call
through the bit generator's function pointer per draw (about 9 ns a float32 draw here, the
largest part of a 10M-rating fit's setup). :func:`fill_standard_normal` runs the same algorithm
in one compiled loop, PCG64's 128-bit step inlined: the same values bit for bit, in the same
order, and the generator left in the same state (its 128-bit state and its buffered 32-bit half),
so every draw after it is numpy's too. ``tests/test_normal_draws.py`` holds it to numpy's own
output (the oracle), tails beyond the ziggurat's last layer included.

What it reproduces (numpy's ``random_standard_normal`` and ``random_standard_normal_f``,
``numpy/random/src/distributions/distributions.c``): a draw takes 64 bits (float64) or 32 bits
(float32; PCG64 hands out the low then the high half of each 64-bit output) ``r``; its low 8 bits
pick a layer ``idx``, the next a sign, the rest a magnitude ``rabs``; ``x = rabs * w[idx]`` is
returned when ``rabs < k[idx]`` (over 99% of draws); else layer 0 samples the tail beyond
:math:`r` by Marsaglia's method, any other layer accepts ``x`` when a uniform point under the
layer's wedge falls below :math:`e^{-x^2/2}`, and a rejected draw starts again. The tables are
numpy's, as numba ships them (``numba.np.random._constants``). No ``fastmath``: a fused
multiply-add would round the wedge test differently from numpy's C.

Used where it is exact and pays: a ``PCG64`` generator (``default_rng``'s), a contiguous float32 or
float64 array, and :data:`MIN_DRAWS` draws or more (below that numpy's call is as fast as loading
the compiled loop). Anything else goes to numpy's call: the same numbers either way.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

__all__ = ["fill_standard_normal", "MIN_DRAWS"]

#: Fewer draws than this go to numpy's call (the compiled loop is loaded, or compiled, on first use).
MIN_DRAWS = 1 << 19

_MASK64 = (1 << 64) - 1


def fill_standard_normal(rng: np.random.Generator, out: np.ndarray) -> None:
    """``rng.standard_normal(dtype=out.dtype, out=out)``: the same values, compiled where that is exact."""
    kernel = None
    if (out.size >= MIN_DRAWS and type(rng.bit_generator) is np.random.PCG64 and out.flags.c_contiguous
            and out.dtype in (np.float32, np.float64)):
        kernel = _kernels()
    if kernel is None:
        rng.standard_normal(dtype=out.dtype.type, out=out)
        return
    state = dict(rng.bit_generator.state)
    lcg = dict(state["state"])
    words = np.array([lcg["state"] >> 64, lcg["state"] & _MASK64, lcg["inc"] >> 64, lcg["inc"] & _MASK64,
                      state["has_uint32"], state["uinteger"]], dtype=np.uint64)
    (kernel.fill_float32 if out.dtype == np.float32 else kernel.fill_float64)(words, out.reshape(-1))
    lcg["state"] = (int(words[0]) << 64) | int(words[1])
    state.update(state=lcg, has_uint32=int(words[4]), uinteger=int(words[5]))
    rng.bit_generator.state = state


@lru_cache(maxsize=1)
def _kernels():
    """The compiled fills of :mod:`funksvd.sgd.ziggurat` (numba is imported there), or None without numba's tables."""
    try:
        from . import ziggurat as kernel
    except ImportError:  # numba absent, or its copy of numpy's tables moved: numpy's call, the same numbers
        return None
    return kernel
