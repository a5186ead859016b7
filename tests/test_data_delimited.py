"""Generic delimited files (:func:`funksvd.data.load_triples`).

Oracles: small files written out literally (each expected value visible in the text); the
documented error messages naming file and line.
"""

from __future__ import annotations

import numpy as np
import pytest

from funksvd.data import load_triples

# ---- generic triples ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, kwargs",
    [
        ("5 7 1.5\n6 7 2\n5 8 3\n", {}),
        ("user,item,rating\n5,7,1.5\n6,7,2\n5,8,3\n", {"sep": ",", "skip_header": True}),
        ("5::7::1.5::11\n6::7::2::12\n5::8::3::13\n", {"sep": "::"}),
    ],
)
def test_load_triples_formats(tmp_path, text, kwargs):
    """Whitespace, CSV with header, MovieLens-1M '::' (oracle: the literal lines)."""
    path = tmp_path / "r.txt"
    path.write_text(text)
    data = load_triples(path, **kwargs)
    np.testing.assert_array_equal(data.user_ids, [5, 6])
    np.testing.assert_array_equal(data.item_ids, [7, 8])
    np.testing.assert_array_equal(data.ratings.users, [0, 1, 0])
    np.testing.assert_array_equal(data.ratings.items, [0, 0, 1])
    np.testing.assert_array_equal(data.ratings.values, [1.5, 2, 3])
    assert (data.timestamps is None) == ("::" not in text)


@pytest.mark.parametrize(
    "text, kwargs, message",
    [
        ("1 2 3\n1 2\n", {}, r"line 2: expected 3 whitespace-separated fields \(user item rating\) like the first"),
        ("1 2 3 4 5\n", {}, r"line 1: expected 3 \(user item rating\) or 4 .* got 5"),
        ("u,i,r\n1,2,3\n1,b,3\n", {"sep": ",", "skip_header": True}, r"line 3: item id 'b' is not a number"),
        ("1 2 -inf\n", {}, r"line 1: rating '-inf' is not finite"),
        ("\n\n", {}, r"no ratings"),
    ],
)
def test_load_triples_errors(tmp_path, text, kwargs, message):
    """Oracle: the documented message with file name and 1-based line number."""
    path = tmp_path / "bad.txt"
    path.write_text(text)
    with pytest.raises(ValueError, match=rf"bad\.txt(, |: ).*{message}"):
        load_triples(path, **kwargs)


def test_encoding_error_names_file_line_and_byte(tmp_path):
    """A Latin-1 byte gave a UnicodeDecodeError without file or line (oracle: "usér": 0xe9 at offset 2, line 1)."""
    path = tmp_path / "r.txt"
    path.write_bytes("user item rating\n1 2 3\n".replace("user", "usér").encode("latin-1"))
    with pytest.raises(ValueError, match=r"r\.txt, line 1: byte 0xe9 \(file offset 2\) is not valid utf-8 .*"
                                         r'encoding="latin-1"'):
        load_triples(path, skip_header=True)
    data = load_triples(path, skip_header=True, encoding="latin-1")
    np.testing.assert_array_equal(data.ratings.values, [3])
    path.write_bytes(b"1 2 3\n4 5 6 \xff\n")
    with pytest.raises(ValueError, match=r"r\.txt, line 2: byte 0xff \(file offset 12\)"):
        load_triples(path)
    with pytest.raises(ValueError, match="unknown encoding 'klingon'"):
        load_triples(path, encoding="klingon")


def test_large_and_float_written_ids(tmp_path):
    """Ids up to int64 and whole floats ('7.0') are read exactly; beyond int64 is named (oracle: literals)."""
    path = tmp_path / "r.txt"
    path.write_text("9007199254740993 7.0 1\n5 7 2\n")  # 2**53 + 1: not exact in float64
    data = load_triples(path)
    assert data.user_ids.tolist() == [5, 9007199254740993] and data.item_ids.tolist() == [7]
    path.write_text("1 2 3\n99999999999999999999 2 3\n")
    with pytest.raises(ValueError, match=r"line 2: user id '99999999999999999999' does not fit in int64"):
        load_triples(path)


# ---- review findings: byte-order mark, header-only, text ids, quotes, metadata as ratings, duplicates ----


def test_a_byte_order_mark_loses_no_rating(tmp_path):
    """A UTF-8 BOM and no header: 3 lines, 3 ratings, for the library and the command line
    (oracle: the literal lines). Old behaviour caught: '\\ufeff1' was not a number, so the CLI
    took line 1 for a header and dropped it (2 ratings).
    """
    from funksvd.cli.data import load_data, sniff

    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf1,10,5\n1,20,3\n2,10,4\n")
    assert sniff(path) == (",", False)
    for data in (load_data(str(path)), load_triples(path, sep=",")):
        assert data.user_ids.tolist() == [1, 2] and data.item_ids.tolist() == [10, 20]
        assert data.ratings.values.tolist() == [5.0, 3.0, 4.0]


@pytest.mark.parametrize("first, header", [("user,item,rating", True), ("1,10,5", False), ("alice,10,5", False),
                                           ("1,10", False), ('"u","i","r"', True), ('"1","10","5"', False)])
def test_sniff_never_takes_a_rating_line_for_a_header(tmp_path, first, header):
    """A header is a line that cannot be a rating (oracle: the literal first lines). Old
    behaviour caught: 'alice,10,5' (a rating with a text id) was taken for a header.
    """
    from funksvd.cli.data import sniff

    path = tmp_path / "r.csv"
    path.write_text(first + "\n1,10,5\n")
    assert sniff(path) == (",", header)


def test_a_header_only_file_is_one_clear_error(tmp_path, recwarn):
    """No numpy warning, one error saying there is nothing after the header (oracle: the
    documented message). Old behaviour caught: 'UserWarning: loadtxt: input contained no data'.
    """
    path = tmp_path / "h.csv"
    path.write_text("user,item,rating\n")
    with pytest.raises(ValueError, match=r"h\.csv: no ratings after the header line"):
        load_triples(path, sep=",", skip_header=True)
    assert not recwarn.list


def test_text_ids_need_ids_auto_or_str_and_the_error_says_so(tmp_path):
    """ids="int" names the line and how to read text ids; "auto" reads integers per column when
    it can, text otherwise; "str" keeps the text ("007" is not "7") (oracle: the literal file).
    """
    from funksvd.cli.data import load_data

    path = tmp_path / "t.csv"
    path.write_text("alice,007,5\nbob,7,3\nalice,8,4\n")
    with pytest.raises(ValueError, match=r"t\.csv, line 1: user id 'alice' is not a number; this reader needs "
                                         r"integer ids: pass ids=\"auto\" .*Dataset\.from_frame"):
        load_triples(path, sep=",")
    for data in (load_triples(path, sep=",", ids="auto"), load_data(str(path))):
        assert data.user_ids.tolist() == ["alice", "bob"] and data.item_ids.tolist() == [7, 8]
        assert data.ratings.users.tolist() == [0, 1, 0] and data.ratings.items.tolist() == [0, 0, 1]
    data = load_triples(path, sep=",", ids="str")
    assert data.item_ids.tolist() == ["007", "7", "8"] and data.ratings.items.tolist() == [0, 1, 2]
    with pytest.raises(ValueError, match="ids must be one of"):
        load_triples(path, sep=",", ids="text")


def test_quoted_fields_are_read_as_csv_reads_them(tmp_path):
    """'"1","10","5"' is user 1, item 10, rating 5; a quoted separator stays in its field (oracle:
    the csv module's reading of the literal lines). Old behaviour caught: '"1"' is not a number.
    """
    from funksvd.cli.data import load_data

    path = tmp_path / "q.csv"
    path.write_text('"user","item","rating"\n"1","10","5"\n"2","10","3.5"\n')
    data = load_data(str(path))
    assert data.user_ids.tolist() == [1, 2] and data.ratings.values.tolist() == [5.0, 3.5]
    path.write_text('"Smith, J.",10,5\nLee,10,3\n')
    assert load_data(str(path)).user_ids.tolist() == ["Lee", "Smith, J."]


@pytest.mark.parametrize("name, what", [("ml-100k.item", "a RecBole item table"),
                                        ("ml-100k.user", "a RecBole user table"),
                                        ("u.item", "the MovieLens 100K item table"),
                                        ("movies.csv", "the MovieLens csv item table")])
def test_a_metadata_file_given_as_ratings_says_what_it_is(tmp_path, name, what):
    """An item or user table passed as the ratings names itself and the file to pass instead
    (oracle: the documented message). Old behaviour caught: "user id 'item_id:token' is not a number".
    """
    from funksvd.cli.data import load_data
    from funksvd.data import load_movielens

    path = tmp_path / name
    path.write_text("item_id:token\tmovie_title:token_seq\n1\tToy Story\n")
    for load in (load_movielens, lambda p: load_data(str(p))):
        with pytest.raises(ValueError, match=rf"{name} is {what}, not ratings: pass the ratings file beside it"):
            load(path)


def test_a_pair_rated_twice_in_a_file_is_named_in_a_warning(tmp_path):
    """load_triples (and the command line) warn once, naming the pair and the count (oracle: the
    literal file: user 1 rates item 10 on lines 1 and 3). Old behaviour caught: kept silently.
    """
    from funksvd.cli.data import load_data

    path = tmp_path / "d.csv"
    path.write_text("1,10,5\n2,10,3\n1,10,4\n")
    for load in (lambda: load_triples(path, sep=","), lambda: load_data(str(path))):
        with pytest.warns(UserWarning, match=r"1 rating\(s\) repeat .*user 1, item 10 at ratings 0 and 2") as caught:
            assert len(load()) == 3
        assert len(caught) == 1


@pytest.mark.parametrize("ids", ["int", "auto"])
def test_skip_header_refuses_to_skip_a_rating(tmp_path, ids):
    """skip_header=True on a file whose first line is a rating is an error at line 1, not a lost
    rating (oracle: the literal file; a true header 'user,item,rating' is still skipped).
    Old behaviour caught: line 1 dropped silently.
    """
    path = tmp_path / "r.csv"
    path.write_text("1,10,5\n2,10,3\n")
    with pytest.raises(ValueError, match=r"r\.csv, line 1: the header line '1,10,5' reads as a rating"):
        load_triples(path, sep=",", skip_header=True, ids=ids)
    path.write_text("user,item,rating\n2,10,3\n")
    assert len(load_triples(path, sep=",", skip_header=True, ids=ids)) == 1
