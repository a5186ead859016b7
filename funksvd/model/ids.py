r"""Raw ids and the 0-based contiguous indices that stand for them.

A ratings file or a DataFrame names users and items in its own terms (``196``, ``"alice"``,
``"tt0076759"``); a :class:`~funksvd.Ratings` and the parameter matrices :math:`P, Q` use
indices :math:`0, 1, \dots, n - 1`. An :class:`IdMap` holds the raw id of every index and
translates both ways, in bulk, without a Python loop per id for integer ids.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from ..base.errors import UnknownIdError
from ..base.frozen import Frozen

__all__ = ["IdMap"]


#: An integer id written as text: an optional single sign and ASCII digits (not "²", not "+-5").
_INTEGER_TEXT = re.compile(r"[+-]?[0-9]+")

#: Characters no id may hold: C0 controls and DEL (numpy's text arrays drop a trailing NUL on save).
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def as_1d(raw_ids) -> np.ndarray:
    """``raw_ids`` as an array; a list mixing numbers and text stays mixed (an object array)."""
    if isinstance(raw_ids, np.ndarray):
        return raw_ids
    array = np.asarray(raw_ids)
    if array.dtype.kind == "U":  # numpy turned every entry into text: look at the originals
        array = np.empty(len(raw_ids), dtype=object) if array.ndim == 1 else array
        if array.dtype == object:
            array[:] = list(raw_ids)
    return array


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def raw_array(raw_ids, name: str = "raw id") -> np.ndarray:
    """Raw ids as an int64 array (integer ids) or an object array of str (text ids).

    ``name`` says what the ids are in messages, e.g. ``"users"`` gives ``users[3] = 2.5 ...``.
    Integers and strings mixed in one column are refused: ``1`` and ``"1"`` would otherwise
    name one id or two depending on a conversion nobody asked for.
    """
    array = as_1d(raw_ids)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
    if array.dtype.kind in "iu":
        if array.dtype.kind == "u" and array.size and array.max() > np.iinfo(np.int64).max:
            j = int(np.argmax(array))
            raise ValueError(f"{name}[{j}] = {array[j]} does not fit in int64")
        return array.astype(np.int64)
    if array.dtype.kind == "b":
        raise ValueError(f"{name} must be integers or strings, got booleans")
    if array.dtype.kind == "f":
        bad = np.flatnonzero(~np.isfinite(array) | (array != np.round(array)))
        if bad.size:
            raise ValueError(f"{name}[{bad[0]}] = {float(array[bad[0]])!r} is a float that is not a whole number")
        big = np.flatnonzero(np.abs(array) >= 2.0**63)
        if big.size:
            raise ValueError(f"{name}[{big[0]}] = {float(array[big[0]])!r} does not fit in int64")
        return array.astype(np.int64)
    if array.dtype.kind in "US":
        array = array.astype(str).astype(object)
    values = array.tolist()
    types = set(map(type, values))  # one C-level pass; the per-entry checks below run on errors only
    if all(issubclass(t, str) for t in types):
        out = np.empty(len(values), dtype=object)
        out[:] = values if types <= {str} else [str(value) for value in values]  # numpy.str_ -> str
        return out
    if all(issubclass(t, (int, np.integer)) and not issubclass(t, (bool, np.bool_)) for t in types):
        for j, value in enumerate(values):  # an object array of Python ints: ids still numeric
            if not -(2**63) <= int(value) < 2**63:
                raise ValueError(f"{name}[{j}] = {value!r} does not fit in int64")
        return np.array(values, dtype=np.int64)
    for j, value in enumerate(values):
        if not (isinstance(value, str) or _is_int(value)):
            raise ValueError(f"{name}[{j}] = {value!r} is neither an integer nor a string")
    first = 0 if isinstance(values[0], str) else 1  # the kind of values[0]; name the first entry of the other
    j = next(j for j, value in enumerate(values) if isinstance(value, str) != (first == 0))
    kinds = ("a string", "an integer") if first == 0 else ("an integer", "a string")
    raise ValueError(f"integers and strings mixed in {name}: {name}[0] = {values[0]!r} is {kinds[0]} but "
                     f"{name}[{j}] = {values[j]!r} is {kinds[1]}; convert the column to one type, e.g. "
                     f"df[column].astype(str)")


def _check_text(ids: np.ndarray, kind: str) -> None:
    """Refuse text ids holding a control character (NUL, tab, newline, ...), naming the first."""
    if ids.dtype == object and len(ids) and _CONTROL.search("".join(ids.tolist())):
        value = next(value for value in ids.tolist() if _CONTROL.search(value))
        raise ValueError(f"{kind} id {value!r} holds a control character; ids must be printable text")


class IdMap(Frozen):
    r"""The raw id of each index :math:`0 \dots n-1`, and the way back.

    Parameters
    ----------
    raw_ids : array_like
        One distinct raw id per index, integers (kept as ``int64``) or strings (kept as
        ``str`` in an object array, without control characters). Integers mixed with strings
        are refused.
    kind : str, default "user"
        What the ids name, for messages ("user", "item").

    Notes
    -----
    Integer ids are looked up by a sorted copy and :func:`numpy.searchsorted`
    (:math:`O(\log n)` each, vectorised); string ids by a dictionary. An ``IdMap`` is immutable
    and pickles.

    Examples
    --------
    >>> m = IdMap([196, 186, 22], kind="user")
    >>> m.index([22, 196])
    array([2, 0])
    >>> m.raw(1)
    186
    >>> m.index(7)
    Traceback (most recent call last):
    ...
    funksvd.base.errors.UnknownIdError: unknown user id 7 (not among the 3 users)
    """

    __slots__ = ("kind", "_raw", "_order", "_sorted", "_lookup")

    kind: str
    _raw: np.ndarray
    _order: Any  # numpy.ndarray for integer ids, None for text ids
    _sorted: Any  # numpy.ndarray for integer ids, None for text ids
    _lookup: Any  # dict for text ids, None for integer ids

    def __init__(self, raw_ids, kind: str = "user"):
        raw = raw_array(raw_ids)
        raw.flags.writeable = False
        self._set("kind", str(kind))
        self._set("_raw", raw)
        if raw.dtype == np.int64:
            order = np.argsort(raw, kind="stable")
            ordered = raw[order]
            repeated = np.flatnonzero(ordered[1:] == ordered[:-1])
            if repeated.size:
                raise ValueError(f"{kind} id {ordered[repeated[0]]} is listed twice")
            self._set("_order", order)
            self._set("_sorted", ordered)
            self._set("_lookup", None)
        else:
            _check_text(raw, kind)
            lookup = dict(zip(raw.tolist(), range(len(raw))))
            if len(lookup) != len(raw):
                value = next(value for j, value in enumerate(raw.tolist()) if lookup[value] != j)
                raise ValueError(f"{kind} id {value!r} is listed twice")
            self._set("_order", None)
            self._set("_sorted", None)
            self._set("_lookup", lookup)

    @classmethod
    def factorize(cls, raw, kind: str = "user", name: str | None = None) -> tuple[np.ndarray, "IdMap"]:
        """The index of every entry of ``raw`` and the map of its distinct ids, in sorted order.

        Parameters
        ----------
        raw : array_like
            Raw ids, one per rating, repeats allowed (integers or strings, as for ``IdMap``).
        kind : str, default "user"
            What the ids name.
        name : str, optional
            How to call ``raw`` in messages (default: ``f"{kind}s"``).

        Returns
        -------
        index : numpy.ndarray of int64
            ``map.raw(index)`` gives ``raw`` back.
        map : IdMap
            The distinct ids, sorted ascending (numbers numerically, strings by code point),
            so integer ids ``1..n`` get indices ``0..n-1``.

        Examples
        --------
        >>> index, users = IdMap.factorize(["bob", "al", "bob"])
        >>> index, users.raw_ids.tolist()
        (array([1, 0, 1]), ['al', 'bob'])
        """
        values = raw_array(raw, name or f"{kind}s")
        if values.dtype == np.int64:
            distinct, index = np.unique(values, return_inverse=True)
            return index.astype(np.int64).ravel(), cls(distinct, kind)
        listed = values.tolist()  # text: hash the distinct ids out (C loops), sort only them, by code point
        distinct = np.empty(0, dtype=object) if not listed else np.array(sorted(dict.fromkeys(listed)), dtype=object)
        id_map = cls(distinct, kind)
        return np.fromiter(map(id_map._lookup.__getitem__, listed), np.int64, count=len(listed)), id_map

    def __reduce__(self):
        return (type(self), (self._raw, self.kind))

    def __len__(self) -> int:
        return len(self._raw)

    def __repr__(self) -> str:
        shown = ", ".join(repr(x) for x in self._raw[:3].tolist()) + (", ..." if len(self) > 3 else "")
        return f"IdMap([{shown}], kind={self.kind!r}, n={len(self)})"

    def __eq__(self, other) -> bool:
        return (isinstance(other, IdMap) and self.kind == other.kind and self._raw.dtype == other._raw.dtype
                and np.array_equal(self._raw, other._raw))

    __hash__ = None  # type: ignore[assignment]  # equal maps compare equal; not hashable

    @property
    def raw_ids(self) -> np.ndarray:
        """The raw id of every index (read-only): ``int64`` or an object array of ``str``."""
        return self._raw

    @property
    def is_integer(self) -> bool:
        return self._raw.dtype == np.int64

    def lookup(self, raw) -> tuple[np.ndarray, np.ndarray]:
        """Indices of ``raw`` (scalar or array) and a mask of which were known (unknown get index -1)."""
        values = np.asarray(raw)
        shape = values.shape
        flat = values.ravel()
        if self.is_integer:
            ints, ok = self._as_int(flat)
            pos = np.searchsorted(self._sorted, ints)
            pos_c = np.minimum(pos, max(len(self) - 1, 0))
            known = ok & (pos < len(self)) & (self._sorted[pos_c] == ints) if len(self) else np.zeros(len(flat), bool)
            index = np.where(known, self._order[pos_c] if len(self) else -1, -1)
        else:
            keys = [x if isinstance(x, str) else (str(int(x)) if _is_whole(x) else None) for x in flat.tolist()]
            index = np.array([self._lookup.get(k, -1) if k is not None else -1 for k in keys], dtype=np.int64)
            known = index >= 0
        return index.astype(np.int64).reshape(shape), known.reshape(shape)

    def index(self, raw):
        """Index of raw id(s) ``raw``: an int for a scalar, an int64 array otherwise.

        Raises
        ------
        UnknownIdError
            Naming the first id not in the map.
        """
        index, known = self.lookup(raw)
        if not np.all(known):
            missing = np.asarray(raw, dtype=object).ravel()[np.flatnonzero(~known.ravel())[0]]
            raise UnknownIdError(f"unknown {self.kind} id {missing!r} (not among the {len(self)} {self.kind}s)")
        return int(index) if index.ndim == 0 else index

    def raw(self, index):
        """Raw id(s) of index(es) ``index`` (a scalar gives a Python int or str)."""
        values = np.asarray(index)
        if values.dtype == bool or values.dtype.kind not in "iu":
            raise ValueError(f"{self.kind} indices must be integers, got {index!r}")
        bad = np.flatnonzero((values.ravel() < 0) | (values.ravel() >= len(self)))
        if bad.size:
            raise IndexError(f"{self.kind} index {values.ravel()[bad[0]]} is out of range 0..{len(self) - 1}")
        out = self._raw[values]
        if values.ndim == 0:
            return out.item() if isinstance(out, np.generic) else out
        return out

    @staticmethod
    def _as_int(flat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Integer keys of ``flat`` and which of them can be integer ids at all."""
        if flat.dtype.kind in "iu":
            ok = np.ones(len(flat), bool)
            if flat.dtype.kind == "u":
                ok = flat <= np.iinfo(np.int64).max
            return np.where(ok, flat, 0).astype(np.int64), ok
        if flat.dtype.kind == "f":
            ok = np.isfinite(flat) & (flat == np.round(flat)) & (np.abs(flat) < 2.0**63)
            return np.where(ok, flat, 0).astype(np.int64), ok
        keys = np.zeros(len(flat), np.int64)
        ok = np.zeros(len(flat), bool)
        for j, x in enumerate(flat.tolist()):
            if isinstance(x, str) and _INTEGER_TEXT.fullmatch(x.strip()):
                x = int(x)  # "196" read from a command line names raw id 196
            if _is_whole(x) and -(2**63) <= int(x) < 2**63:
                keys[j], ok[j] = int(x), True
        return keys, ok


def _is_whole(x) -> bool:
    if isinstance(x, bool):
        return False
    if isinstance(x, (int, np.integer)):
        return True
    return isinstance(x, (float, np.floating)) and np.isfinite(x) and float(x) == int(x)
