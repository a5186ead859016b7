"""Random numbers, one convention: ``random_state`` is an int, a :class:`numpy.random.Generator` or None.

As in scikit-learn: an int seeds a fresh generator (the same int, bit-identical results), a
``Generator`` is used as it is (and advanced), ``None`` draws fresh entropy from the system.
:func:`check_random_state` turns any of the three into the ``Generator`` every draw of funksvd
comes from.

The splits of :mod:`funksvd.data.splits` are the one place an int means something else: it seeds
Surprise's ``numpy.random.RandomState``, so that ratings in the same order are split exactly as
Surprise splits them (:func:`surprise_random_state`); a ``Generator`` is used there as it is too.
"""

from __future__ import annotations

import numpy as np

from .errors import InputError

__all__ = ["check_random_state", "surprise_random_state"]


def _seed(random_state) -> bool:
    return isinstance(random_state, (int, np.integer)) and not isinstance(random_state, (bool, np.bool_))


def check_random_state(random_state, name: str = "random_state") -> np.random.Generator:
    """The :class:`numpy.random.Generator` of ``random_state`` (int >= 0, Generator or None).

    numpy's own seeds, a ``BitGenerator`` or a ``SeedSequence``, are taken as ``default_rng`` takes them.

    Raises
    ------
    InputError
        For anything else (a float, a bool, a negative int, a legacy ``RandomState``), naming ``name``.
    """
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, (np.random.BitGenerator, np.random.SeedSequence)):
        return np.random.default_rng(random_state)
    if random_state is None or (_seed(random_state) and random_state >= 0):
        return np.random.default_rng(random_state)
    raise InputError(f"{name} must be None, an int >= 0 or a numpy.random.Generator, got {random_state!r}")


def surprise_random_state(random_state, name: str = "random_state"):
    """Surprise's convention for the splits: an int seeds ``numpy.random.RandomState``; generators pass through."""
    if random_state is None:
        return np.random.default_rng()
    if isinstance(random_state, (np.random.Generator, np.random.RandomState)):
        return random_state
    if _seed(random_state):
        return np.random.RandomState(int(random_state))
    raise InputError(f"{name} must be None, an int, a numpy Generator or RandomState; got {random_state!r}")
