"""The checks of arguments, in one place: ids, positive integers, numbers, probabilities, index ranges.

Every check raises :class:`~funksvd.base.errors.InputError` (a ``ValueError``), or
:class:`~funksvd.base.errors.UnknownIdError` for an index out of range, with a message that names
the argument and, for arrays, the first bad entry.
"""

from __future__ import annotations

import math
from numbers import Real
from typing import Literal, overload

import numpy as np

from .errors import InputError, UnknownIdError

__all__ = ["check_indices", "indices_within", "non_negative", "positive_int", "positive_number", "probability",
           "whole_numbers"]


def _is_number(value) -> bool:
    return isinstance(value, (Real, np.number)) and not isinstance(value, (bool, np.bool_))


@overload
def positive_int(value, name: str, *, none_ok: Literal[False] = False, whole: bool = False) -> int: ...
@overload
def positive_int(value, name: str, *, none_ok: bool, whole: bool = False) -> int | None: ...


def positive_int(value, name: str, *, none_ok: bool = False, whole: bool = False) -> int | None:
    """``value`` as an int, or :class:`InputError` unless it is an integer >= 1 (never a bool).

    ``none_ok`` lets ``None`` through (returned as it is); ``whole`` also accepts a float that is a
    whole number (``3.0``).
    """
    if none_ok and value is None:
        return None
    integer = isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))
    if whole and not integer and _is_number(value) and math.isfinite(value) and value == int(value):
        integer = True
    if not integer or value < 1:
        raise InputError(f"{name} must be a positive integer{' or None' if none_ok else ''}, got {value!r}")
    return int(value)


def non_negative(value, name: str, *, none_ok: bool = False) -> float | None:
    """``value`` as a float, or :class:`InputError` unless it is a finite number >= 0 (``None`` if ``none_ok``)."""
    if none_ok and value is None:
        return None
    if not (_is_number(value) and math.isfinite(value) and value >= 0):
        raise InputError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def positive_number(value, name: str) -> float:
    """``value`` as a float, or :class:`InputError` unless it is a finite number > 0."""
    if not (_is_number(value) and math.isfinite(value) and value > 0):
        raise InputError(f"{name} must be a positive number, got {value!r}")
    return float(value)


def probability(value, name: str, *, low_open: bool = False, high_open: bool = False) -> float:
    """``value`` as a float in ``[0, 1]``, or InputError; ``low_open`` excludes 0, ``high_open`` excludes 1."""
    inside = _is_number(value) and (0.0 < value if low_open else 0.0 <= value) and (
        value < 1.0 if high_open else value <= 1.0)
    if not inside:
        interval = f"{'(' if low_open else '['}0, 1{')' if high_open else ']'}"
        raise InputError(f"{name} must be in {interval}, got {value!r}")
    return float(value)


def whole_numbers(values, name: str) -> np.ndarray:
    """``values`` as int64, or an :class:`InputError` naming the first entry that is not a whole number."""
    array = np.asarray(values)
    if array.dtype == bool or array.dtype.kind not in "iuf":
        raise InputError(f"{name} must be integer ids, got dtype {array.dtype}")
    if array.dtype.kind == "f":
        flat = array.ravel()
        bad = np.flatnonzero(~np.isfinite(flat) | (flat != np.round(flat)))
        if bad.size:
            j = bad[0]
            raise InputError(f"{name}[{j}] = {flat[j].item()!r} is not a valid id: ids are whole numbers")
    if array.dtype.kind == "u" and array.size and array.max() > np.iinfo(np.int64).max:
        array = np.minimum(array, np.iinfo(np.int64).max)  # out of every range anyway
    return array.astype(np.int64)


def check_indices(values, name: str, n: int) -> np.ndarray:
    """0-based indices in ``[0, n)`` as int64.

    :class:`InputError` for values that are not whole numbers, :class:`~funksvd.base.errors.UnknownIdError`
    (a ``KeyError`` and ``ValueError``) for whole numbers out of range; both name the first bad
    entry, e.g. ``users[1] = 30 is not a valid id: there are 30 users, ids 0..29``.
    """
    array = whole_numbers(values, name)
    flat = array.ravel()
    outside = np.flatnonzero((flat < 0) | (flat >= n))
    if outside.size:
        j = outside[0]
        raise UnknownIdError(f"{name}[{j}] = {flat[j].item()!r} is not a valid id: there are {n} {name}, "
                             f"ids 0..{n - 1}")
    return array


def indices_within(ids: np.ndarray, n: int, name: str, owner: str = "the model has", what: str | None = None) -> None:
    """Refuse integer indices ``ids`` (named ``name``) outside ``[0, n)``, naming the first.

    The message reads ``name[j] = v is out of range: <owner> <n> <what>, indices 0..n-1``, with
    ``what`` by default the last part of ``name`` (``validation.users`` gives ``users``).
    """
    bad = np.flatnonzero((ids < 0) | (ids >= n))
    if bad.size:
        j = int(bad[0])
        what = what or name.rpartition(".")[2]
        raise InputError(f"{name}[{j}] = {ids[j]} is out of range: {owner} {n} {what}, indices 0..{n - 1}")
