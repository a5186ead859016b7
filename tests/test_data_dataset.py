"""The :class:`funksvd.data.Dataset`: raw ids <-> indices, from_arrays / from_frame, pickling.

Oracles: literal raw ids whose sorted order (hence every index) is worked out by hand in the
comments; the documented error messages naming the entry; pickle / deepcopy round trips
compared field by field.
"""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest

from funksvd import Ratings
from funksvd.data import Dataset, load_triples
from funksvd.base.errors import UnknownIdError
from funksvd.model.ids import IdMap

# bob, al, bob, cy rate 50, 50, 7, 3e9: users sorted al=0 bob=1 cy=2; items 7=0 50=1 3e9=2
USERS = ["bob", "al", "bob", "cy"]
ITEMS = [50, 50, 7, 3_000_000_000]
VALUES = [4.0, 5.0, 3.0, 1.0]


def small() -> Dataset:
    return Dataset.from_arrays(USERS, ITEMS, VALUES, timestamps=[40, 10, 30, 20],
                               titles={7: "Seven", 50: "Fifty", 3_000_000_000: "Big", 99: "Unrated"})


def test_from_arrays_maps_raw_ids_in_sorted_order():
    """Oracle: the hand-sorted ids above; 3e9 as an id costs one index, not 3e9."""
    data = Dataset.from_arrays(USERS, ITEMS, VALUES)
    assert data.ratings.shape == (3, 3) and len(data) == 4
    np.testing.assert_array_equal(data.ratings.users, [1, 0, 1, 2])
    np.testing.assert_array_equal(data.ratings.items, [1, 1, 0, 2])
    np.testing.assert_array_equal(data.ratings.values, VALUES)
    assert data.user_ids.tolist() == ["al", "bob", "cy"]
    assert data.item_ids.tolist() == [7, 50, 3_000_000_000] and data.item_ids.dtype == np.int64
    assert isinstance(data.user_map, IdMap) and data.user_map.kind == "user" and data.item_map.kind == "item"
    assert data.timestamps is None and data.item_titles is None


def test_from_arrays_titles_and_timestamps():
    """Titles by raw id, aligned to indices; a titled but unrated item gets an index (oracle: 7, 50, 99, 3e9)."""
    data = small()
    assert data.item_ids.tolist() == [7, 50, 99, 3_000_000_000]
    assert data.item_titles.tolist() == ["Seven", "Fifty", "Unrated", "Big"]
    np.testing.assert_array_equal(data.ratings.items, [1, 1, 0, 3])
    np.testing.assert_array_equal(data.timestamps, [40, 10, 30, 20])


def test_raw_id_lookups_and_unknown_ids():
    """user_index / item_index / raw_user / raw_item (oracle: the hand-sorted ids); unknown ids named."""
    data = small()
    assert data.user_index("bob") == 1 and data.raw_user(2) == "cy"
    np.testing.assert_array_equal(data.item_index([3_000_000_000, 7]), [3, 0])
    assert data.raw_item(3) == 3_000_000_000
    with pytest.raises(UnknownIdError, match="unknown user id 'zed'") as info:
        data.user_index("zed")
    assert isinstance(info.value, KeyError) and isinstance(info.value, ValueError)
    with pytest.raises(UnknownIdError, match="unknown item id 8"):
        data.item_index([7, 8])
    with pytest.raises(IndexError, match="out of range"):
        data.raw_user(3)


def test_dataset_is_immutable():
    """No field can be set or deleted, no array or mapping written (oracle: the exceptions)."""
    data = with_attributes()
    with pytest.raises(AttributeError, match="immutable"):
        data.ratings = None
    with pytest.raises(AttributeError, match="immutable"):
        del data.source
    for array in (data.user_ids, data.item_ids, data.timestamps, data.item_titles):
        with pytest.raises(ValueError):
            array[0] = array[1]
    with pytest.raises(TypeError):
        data.item_attributes["genre"] = None
    with pytest.raises(ValueError):
        data.item_attributes["genre"][0] = "x"


def with_attributes() -> Dataset:
    """A Dataset with every optional field, built field by field."""
    return Dataset(Ratings([0, 1], [0, 1], [1.0, 2.0]), [1, 2], [5, 6], [3, 4], ["a", "b"], {"genre": ["x", "y"]},
                   {"age": ["30", "40"]}, "hand")


@pytest.mark.parametrize("make", [small, with_attributes])
def test_pickle_and_deepcopy_round_trip(make):
    """Oracle: the original, field by field (==), and immutability preserved after the round trip."""
    data = make()
    for copied in (pickle.loads(pickle.dumps(data)), copy.deepcopy(data), copy.copy(data)):
        assert copied == data and copied is not data and repr(copied) == repr(data)
        with pytest.raises(AttributeError):
            copied.source = "x"
        with pytest.raises(ValueError):
            copied.ratings.values[0] = 0.0
        with pytest.raises(ValueError):
            copied.item_titles[0] = "x"
        assert copied.user_index(copied.raw_user(1)) == 1
    assert data != Dataset.from_arrays(USERS, ITEMS, [4.0, 5.0, 3.0, 2.0])


def test_pickle_of_a_loaded_dataset(tmp_path):
    """A loader's Dataset (int64 ids, timestamps) survives pickle (oracle: equality)."""
    (tmp_path / "r.txt").write_text("5 7 1.5 11\n6 7 2 12\n")
    data = load_triples(tmp_path / "r.txt")
    assert pickle.loads(pickle.dumps(data)) == data


@pytest.mark.parametrize(
    "args, message",
    [
        (([None, "a"], [1, 2], [1.0, 2.0]), r"users\[0\] = None is neither an integer nor a string"),
        (([1.5, 2], [1, 2], [1.0, 2.0]), r"users\[0\] = 1\.5 is a float that is not a whole number"),
        (([1, 2], np.array([1, 2**64 - 1], dtype=np.uint64), [1.0, 2.0]), r"items\[1\] = 18446744073709551615 does"),
        (([1, 2], [1, 1e20], [1.0, 2.0]), r"items\[1\] = 1e\+20 does not fit in int64"),
        (([1, 2], [1, 2], [1.0, "x"]), r"values\[1\] = 'x' is not a real number"),
        (([1, 2], [1, 2], [1.0, 2 + 1j]), r"values\[1\] = \(2\+1j\) is not a real number"),
        (([1, 2], [1, 2], [1.0, np.nan]), r"values\[1\] = nan is not finite"),
        (([1, 2], [1], [1.0, 2.0]), "same length"),
        (([[1, 2]], [[1, 2]], [[1.0, 2.0]]), "one-dimensional"),
    ],
)
def test_from_arrays_bad_input(args, message):
    """Oracle: the documented ValueError naming the first bad entry."""
    with pytest.raises(ValueError, match=message):
        Dataset.from_arrays(*args)


def test_from_arrays_titles_must_cover_rated_items():
    """A rated item without a title is named with its rating (oracle: item 7 is rating 2)."""
    with pytest.raises(ValueError, match=r"rating 2: item id 7 is not listed in the item table"):
        Dataset.from_arrays(USERS, ITEMS, VALUES, titles={50: "Fifty", 3_000_000_000: "Big"})
    with pytest.raises(ValueError, match="mapping"):
        Dataset.from_arrays(USERS, ITEMS, VALUES, titles=["a", "b"])


def test_constructor_checks_sizes():
    """user_ids / item_ids / titles / attributes must match the id ranges (oracle: the messages)."""
    ratings = Ratings([0, 1], [0, 1], [1.0, 2.0])
    with pytest.raises(ValueError, match=r"user_ids must hold one raw id per index \(2\), got 3"):
        Dataset(ratings, [1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match="listed twice"):
        Dataset(ratings, [1, 1], [1, 2])
    with pytest.raises(ValueError, match="one title per item"):
        Dataset(ratings, [1, 2], [1, 2], item_titles=["a"])
    with pytest.raises(ValueError, match=r"user_attributes\['age'\] has shape \(1,\)"):
        Dataset(ratings, [1, 2], [1, 2], user_attributes={"age": [1]})
    with pytest.raises(ValueError, match="one entry per rating"):
        Dataset(ratings, [1, 2], [1, 2], timestamps=[1])
    with pytest.raises(TypeError, match="funksvd.Ratings"):
        Dataset("ratings", [1, 2], [1, 2])


# ---- from_frame (pandas) -----------------------------------------------------------------------------


@pytest.fixture
def pd():
    return pytest.importorskip("pandas")


def test_from_frame_csv_columns_items_and_datetimes(pd):
    """MovieLens-csv column names, an items frame, datetimes (oracle: the literal frame, sorted by hand)."""
    frame = pd.DataFrame({"userId": [10, 3, 10], "movieId": ["tt9", "tt1", "tt1"], "rating": [4.5, 3, 2],
                          "when": pd.to_datetime(["1970-01-01 00:00:10", "1970-01-02 00:00:00",
                                                  "1970-01-01 00:00:00"])})
    items = pd.DataFrame({"movieId": ["tt1", "tt5", "tt9"], "title": ["One", "Five", "Nine"],
                          "genres": ["Drama", "War", "Comedy"]})
    data = Dataset.from_frame(frame, user="userId", item="movieId", rating="rating", timestamp="when", items=items)
    # users 3=0 10=1; items tt1=0 tt5=1 (listed, unrated) tt9=2
    np.testing.assert_array_equal(data.ratings.users, [1, 0, 1])
    np.testing.assert_array_equal(data.ratings.items, [2, 0, 0])
    np.testing.assert_array_equal(data.ratings.values, [4.5, 3, 2])
    np.testing.assert_array_equal(data.timestamps, [10, 86_400, 0])
    assert data.item_titles.tolist() == ["One", "Five", "Nine"]
    assert data.item_attributes["genres"].tolist() == ["Drama", "War", "Comedy"]
    assert data.item_index("tt9") == 2 and data.raw_user(0) == 3


def test_from_frame_default_names_and_titles_series(pd):
    """Columns user/item/rating by default; titles as a Series indexed by item (oracle: the literals)."""
    frame = pd.DataFrame({"user": ["b", "a"], "item": [2, 1], "rating": [1.0, 5.0]})
    data = Dataset.from_frame(frame, titles=pd.Series({1: "One", 2: "Two"}))
    assert data.item_titles.tolist() == ["One", "Two"] and data.user_ids.tolist() == ["a", "b"]
    assert data == Dataset.from_arrays(["b", "a"], [2, 1], [1.0, 5.0], titles={1: "One", 2: "Two"}, source="frame")


def test_from_frame_errors(pd):
    """Missing columns, repeated listed items, unlisted rated items, NA ids (oracle: the messages)."""
    frame = pd.DataFrame({"user": [1, 2], "item": [5, 6], "rating": [1.0, 2.0]})
    with pytest.raises(ValueError, match=r"no user column 'userId' \(columns: \['user', 'item', 'rating'\]\)"):
        Dataset.from_frame(frame, user="userId")
    with pytest.raises(ValueError, match="no timestamp column 'ts'"):
        Dataset.from_frame(frame, timestamp="ts")
    with pytest.raises(ValueError, match="item id 5 is listed twice"):
        Dataset.from_frame(frame, items=pd.DataFrame({"item": [5, 5, 6]}))
    with pytest.raises(ValueError, match="rating 1: item id 6 is not listed"):
        Dataset.from_frame(frame, items=pd.DataFrame({"item": [5], "title": ["Five"]}))
    with pytest.raises(ValueError, match="not both"):
        Dataset.from_frame(frame, titles={5: "a"}, items=pd.DataFrame({"item": [5, 6]}))
    with pytest.raises(ValueError, match=r"users\[1\] = nan is a float that is not a whole number"):
        Dataset.from_frame(pd.DataFrame({"user": [1, None], "item": [5, 6], "rating": [1.0, 2.0]}))


def test_from_frame_accepts_a_plain_mapping():
    """Without pandas: a dict of columns works the same (oracle: from_arrays on the same lists)."""
    columns = {"user": [3, 1], "item": [9, 9], "rating": [2.0, 4.0]}
    assert Dataset.from_frame(columns, source="x") == Dataset.from_arrays([3, 1], [9, 9], [2.0, 4.0], source="x")


# ---- review findings: mixed id types, missing titles, duplicates, control characters, time zones -------


def test_from_frame_refuses_integers_mixed_with_text_ids(pd):
    """["1", 1, "x", 2, "y"] are five items or an error, never four (oracle: position 1 is the
    first integer after the string at 0). Old behaviour caught: 1 and "1" merged into one item.
    """
    frame = pd.DataFrame({"user": [1, 2, 3, 4, 5], "item": ["1", 1, "x", 2, "y"], "rating": [1.0] * 5})
    with pytest.raises(ValueError, match=r"items\[1\] = 1 is an integer; convert the column"):
        Dataset.from_frame(frame)
    assert Dataset.from_frame(frame.astype({"item": str})).n_items == 4  # "1" twice, as text: 4 distinct


def test_title_keys_must_have_the_type_of_the_item_ids():
    """Titles keyed "1", "2" for items 1, 2 are an error naming a key (oracle: the literal key).
    Old behaviour caught: the id map silently became text ("1", "2").
    """
    with pytest.raises(ValueError, match=r"lists item id '1' but the ratings' item ids are integers"):
        Dataset.from_arrays([1, 2], [1, 2], [1.0, 2.0], titles={"1": "a", "2": "b"})
    data = Dataset.from_arrays([1, 2], [1, 2], [1.0, 2.0], titles={1: "a", 2: "b"})
    assert data.item_ids.dtype == np.int64 and data.item_titles.tolist() == ["a", "b"]


def test_missing_titles_stay_none(pd):
    """None and NaN titles are None, not the text 'nan' (oracle: the literal frame).
    Old behaviour caught: NaN kept as a float, shown and saved as 'nan'.
    """
    items = pd.DataFrame({"item": [1, 2, 3], "title": ["Heat", None, np.nan]})
    data = Dataset.from_frame(pd.DataFrame({"user": [1, 1, 1], "item": [1, 2, 3], "rating": [1.0, 2, 3]}),
                              items=items)
    assert data.item_titles.dtype == object and data.item_titles.tolist() == ["Heat", None, None]
    data = Dataset.from_arrays([1], [7], [1.0], titles={7: float("nan")})
    assert data.item_titles.tolist() == [None]


@pytest.mark.parametrize("build", ["arrays", "frame"])
def test_duplicates_keep_warns_naming_the_first_pair(pd, build):
    """Duplicate (user, item) ratings are kept with one warning naming the first repeated pair and
    the count (oracle: pairs ("a", 7) at 0 and 2 and ("b", 8) at 1 and 4, by hand).
    Old behaviour caught: duplicates kept silently.
    """
    users, items, values = ["a", "b", "a", "c", "b"], [7, 8, 7, 7, 8], [1.0, 2.0, 3.0, 4.0, 5.0]
    frame = pd.DataFrame({"user": users, "item": items, "rating": values})
    build = (lambda: Dataset.from_arrays(users, items, values)) if build == "arrays" else (
        lambda: Dataset.from_frame(frame))
    with pytest.warns(UserWarning, match=r"2 rating\(s\) repeat .*user 'a', item 7 at ratings 0 and 2") as caught:
        data = build()
    assert len(caught) == 1 and len(data) == 5


def test_duplicates_mean_last_raise():
    """mean: one rating at the pair's last position with the mean; last: the last value and time;
    raise: an error (oracle: (1+3)/2 = 2 and (2+5)/2 = 3.5 by hand, positions 2, 3, 4 kept).
    """
    users, items, values, times = ["a", "b", "a", "c", "b"], [7, 8, 7, 7, 8], [1.0, 2, 3, 4, 5], [10, 20, 30, 40, 50]
    mean = Dataset.from_arrays(users, items, values, timestamps=times, duplicates="mean")
    last = Dataset.from_arrays(users, items, values, timestamps=times, duplicates="last")
    # users a, b, c -> 0, 1, 2; items 7, 8 -> 0, 1; kept positions 2 (a, 7), 3 (c, 7), 4 (b, 8)
    for data, expected in ((mean, [2.0, 4.0, 3.5]), (last, [3.0, 4.0, 5.0])):
        assert data.ratings.users.tolist() == [0, 2, 1] and data.ratings.items.tolist() == [0, 0, 1]
        assert data.ratings.values.tolist() == expected and data.timestamps.tolist() == [30, 40, 50]
    with pytest.raises(ValueError, match="user 'a', item 7 at ratings 0 and 2"):
        Dataset.from_arrays(users, items, values, duplicates="raise")
    with pytest.raises(ValueError, match="duplicates must be one of"):
        Dataset.from_arrays(users, items, values, duplicates="first")


def test_ids_with_a_nul_are_refused_at_construction():
    """'a\\x00' would come back as 'a' from a saved model: refused (oracle: the message names it)."""
    with pytest.raises(ValueError, match=r"item id 'a\\x00' holds a control character"):
        Dataset.from_arrays([1, 2], ["a\x00", "b"], [1.0, 2.0])


def test_time_zone_aware_timestamps_are_utc_seconds(pd):
    """A tz-aware column is read in UTC (oracle: 1970-01-01 01:00:10+01:00 is Unix time 10, by hand).
    Old behaviour caught: refused as "got dtype object".
    """
    when = pd.to_datetime(["1970-01-01 01:00:10", "1970-01-02 01:00:00"]).tz_localize("Europe/Paris")
    frame = pd.DataFrame({"user": [1, 2], "item": [1, 1], "rating": [1.0, 2.0], "when": when})
    assert Dataset.from_frame(frame, timestamp="when").timestamps.tolist() == [10, 86400]
