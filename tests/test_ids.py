"""``funksvd.ids.IdMap``: raw ids <-> contiguous indices, strict and lenient lookups.

Oracles: literal raw ids whose indices are their positions (or their sorted order, for
``factorize``), worked out by hand; the documented exceptions and messages.
"""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest

from funksvd.errors import UnknownIdError
from funksvd.ids import IdMap


def test_integer_ids_both_ways():
    """Index = position in the given order (oracle: the literal list [196, 186, 22, 3e9])."""
    m = IdMap([196, 186, 22, 3_000_000_000], kind="user")
    assert m.is_integer and len(m) == 4 and m.raw_ids.dtype == np.int64
    assert m.index(22) == 2 and m.index(3_000_000_000) == 3
    np.testing.assert_array_equal(m.index([186, 196, 186]), [1, 0, 1])
    np.testing.assert_array_equal(m.index(np.array([[22], [196]])), [[2], [0]])
    assert m.raw(1) == 186 and isinstance(m.raw(1), int)
    np.testing.assert_array_equal(m.raw(np.array([3, 0])), [3_000_000_000, 196])
    assert m.index("196") == 0 and m.index(22.0) == 2  # a number read as text or float names the same id


def test_string_ids_both_ways():
    """Strings keep their order; integers among strings become their text (oracle: the literals)."""
    m = IdMap(["tt9", "tt1", 7], kind="item")
    assert not m.is_integer and m.raw_ids.tolist() == ["tt9", "tt1", "7"]
    assert m.index("tt1") == 1 and m.index(7) == 2 and m.raw(0) == "tt9" and isinstance(m.raw(0), str)
    np.testing.assert_array_equal(m.index(["7", "tt9"]), [2, 0])


def test_lookup_marks_unknown_ids():
    """lookup: index -1 and known=False for ids not in the map, of any type (oracle: by hand)."""
    m = IdMap([10, 20])
    index, known = m.lookup([20, 30, "x", 10.5, 2**70, 10])
    np.testing.assert_array_equal(index, [1, -1, -1, -1, -1, 0])
    np.testing.assert_array_equal(known, [True, False, False, False, False, True])
    s = IdMap(["a", "b"])
    index, known = s.lookup(["b", "c", 1.5])
    np.testing.assert_array_equal(index, [1, -1, -1]) and np.testing.assert_array_equal(known, [True, False, False])
    empty_index, empty_known = IdMap(np.zeros(0, np.int64)).lookup([1])
    assert empty_index.tolist() == [-1] and empty_known.tolist() == [False]


def test_unknown_and_out_of_range():
    """index names the first unknown id (UnknownIdError: KeyError and ValueError); raw checks ranges."""
    m = IdMap([196, 186], kind="user")
    with pytest.raises(UnknownIdError, match=r"unknown user id 7 \(not among the 2 users\)") as info:
        m.index([196, 7, 8])
    assert isinstance(info.value, KeyError) and isinstance(info.value, ValueError)
    assert str(info.value).startswith("unknown")  # no KeyError quotes
    with pytest.raises(IndexError, match="user index 2 is out of range 0..1"):
        m.raw([0, 2])
    with pytest.raises(ValueError, match="indices must be integers"):
        m.raw(0.5)


@pytest.mark.parametrize(
    "raw, message",
    [
        ([1, 1], "user id 1 is listed twice"),
        (["a", "b", "a"], "user id 'a' is listed twice"),
        ([[1, 2]], "one-dimensional"),
        ([True, False], "booleans"),
        ([1.5], r"raw id\[0\] = 1\.5 is a float that is not a whole number"),
        ([float("nan")], r"raw id\[0\] = nan is a float"),
        ([1e20], r"raw id\[0\] = 1e\+20 does not fit in int64"),
        (np.array([2**64 - 1], dtype=np.uint64), r"raw id\[0\] = 18446744073709551615 does not fit in int64"),
        ([2**70], r"raw id\[0\] = 1180591620717411303424 does not fit in int64"),
        (np.array(["a", None], dtype=object), r"raw id\[1\] = None is neither an integer nor a string"),
    ],
)
def test_bad_raw_ids(raw, message):
    """Oracle: the documented ValueError naming the entry."""
    with pytest.raises(ValueError, match=message):
        IdMap(raw)


def test_object_array_of_integers_stays_numeric():
    """An object column of Python ints (as pandas gives) is numeric, not text (oracle: int64 ids)."""
    m = IdMap(np.array([5, 3], dtype=object))
    assert m.is_integer and m.index(3) == 1


def test_factorize_sorted_order():
    """Indices follow sorted raw ids; map.raw(index) gives the input back (oracle: by hand)."""
    index, m = IdMap.factorize([50, 7, 50, 3_000_000_000], kind="item")
    np.testing.assert_array_equal(index, [1, 0, 1, 2])
    assert m.raw_ids.tolist() == [7, 50, 3_000_000_000] and m.kind == "item"
    index, m = IdMap.factorize(["bob", "al", "bob"])
    assert index.tolist() == [1, 0, 1] and m.raw(index).tolist() == ["bob", "al", "bob"]
    with pytest.raises(ValueError, match=r"items\[1\] = None"):
        IdMap.factorize(np.array([1, None], dtype=object), kind="item")


def test_immutable_equal_and_pickles():
    """Oracle: AttributeError / read-only array; equality after pickle and deepcopy."""
    for m in (IdMap([3, 1], kind="item"), IdMap(["x", "y"])):
        with pytest.raises(AttributeError):
            m.kind = "user"
        with pytest.raises(ValueError):
            m.raw_ids[0] = m.raw_ids[1]
        for copied in (pickle.loads(pickle.dumps(m)), copy.deepcopy(m)):
            assert copied == m and copied.index(m.raw(1)) == 1
    assert IdMap([1, 2]) != IdMap([1, 2], kind="item") and IdMap([1, 2]) != IdMap(["1", "2"])
    assert "IdMap([3, 1], kind='item', n=2)" == repr(IdMap([3, 1], kind="item"))
