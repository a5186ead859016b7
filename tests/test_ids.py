"""``funksvd.model.ids.IdMap``: raw ids <-> contiguous indices, strict and lenient lookups.

Oracles: literal raw ids whose indices are their positions (or their sorted order, for
``factorize``), worked out by hand; the documented exceptions and messages.
"""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest

from funksvd.base.errors import UnknownIdError
from funksvd.model.ids import IdMap


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
    """Strings keep their order; a whole number looks up its text (oracle: the literals)."""
    m = IdMap(["tt9", "tt1", "7"], kind="item")
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


# ---- review findings: ids beyond int64, odd digits, mixed types, control characters, speed ------------


@pytest.mark.parametrize("text", ["99999999999999999999", "-99999999999999999999", "9223372036854775808",
                                  "\u00b2", "+-5", "--5", "5\u0663", " ", "1e3"])
def test_text_that_is_no_int64_is_an_unknown_id(text):
    """A 20-digit id, '²', '+-5' are unknown ids, not a crash (oracle: the documented
    UnknownIdError / known=False). Old behaviour caught: int() of the text without a range
    check raised OverflowError; str.isdigit() let '²' through and lstrip('+-') let '+-5'
    through to int(), which raised ValueError.
    """
    m = IdMap([5, 9223372036854775807], kind="user")
    index, known = m.lookup([text, "5"])
    assert index.tolist() == [-1, 0] and known.tolist() == [False, True]
    with pytest.raises(UnknownIdError, match="unknown user id"):
        m.index(text)


def test_signed_and_padded_integer_text_still_names_the_id():
    """'+5', ' -3 ', '0005' are integers written as text (oracle: int() of each by hand)."""
    m = IdMap([5, -3, 9223372036854775807])
    assert m.index(["+5", " -3 ", "0005", "9223372036854775807"]).tolist() == [0, 1, 0, 2]


@pytest.mark.parametrize("ids, position, entry", [(["1", 1, "x", 2, "y"], 1, "1"), ([1, "1"], 1, "'1'"),
                                                  (np.array([7, "a"], dtype=object), 1, "'a'")])
def test_integers_mixed_with_strings_are_refused(ids, position, entry):
    """1 and '1' are not silently merged (oracle: the first entry of the other type, by hand).
    Old behaviour caught: integers among strings became their text, so 1 and '1' were one id.
    """
    with pytest.raises(ValueError, match=rf"integers and strings mixed in items: items\[0\] .* "
                                         rf"items\[{position}\] = {entry} .*astype\(str\)"):
        IdMap.factorize(ids, "item")


@pytest.mark.parametrize("bad", ["a\x00", "\x00", "a\tb", "line\n", "\x7f"])
def test_ids_with_control_characters_are_refused(bad):
    """A trailing NUL would be lost on save (numpy's text arrays drop it): refused, as are tabs,
    newlines, DEL (oracle: the error names the id). Old behaviour caught: 'a\\x00' accepted.
    """
    with pytest.raises(ValueError, match="control character"):
        IdMap(["ok", bad], kind="item")
    with pytest.raises(ValueError, match="control character"):
        IdMap.factorize(["ok", bad, "ok"], "item")


def test_factorize_text_sorts_by_code_point_like_sorted():
    """Dict factorisation + numpy sort of the distinct ids gives Python's sorted() order, so
    index = rank (oracle: sorted() and list.index on the same strings, including non-ASCII,
    prefixes and astral characters).
    """
    raw = ["b", "a", "ab", "B", "é", "a", "\U0001F600", "", "ab", "Z9", "z"]
    index, m = IdMap.factorize(raw, "item")
    expected = sorted(set(raw))
    assert m.raw_ids.tolist() == expected
    assert index.tolist() == [expected.index(x) for x in raw]


def test_numpy_strings_among_str_are_text_ids():
    """numpy.str_ entries (an object array built from a text array) are plain str ids (oracle: the
    literals). Mutant caught: a type check by `types <= {str}` alone, which took them for a mix.
    """
    raw = np.empty(3, dtype=object)
    raw[:] = [np.str_("b"), "a", np.str_("b")]
    index, m = IdMap.factorize(raw, "item")
    assert index.tolist() == [1, 0, 1] and m.raw_ids.tolist() == ["a", "b"]
    assert all(type(x) is str for x in m.raw_ids)
