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
