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
