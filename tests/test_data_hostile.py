"""Hostile and confused data files: bombs stay bounded in memory, zip-slip names are refused, and the small
misreadings (a header guessed from a malformed line, an empty id, a UTF-8 ``u.item``, off-scale ratings) are
errors or warnings naming the line.

Oracles: ``tracemalloc`` peaks (numpy's and Python's allocations are traced) against fixed bounds; the literal
files written by each test; the documented messages.
"""

from __future__ import annotations

import gzip
import tracemalloc
import zipfile

import numpy as np
import pytest

from funksvd.cli.data import load_data, sniff
from funksvd.data import load_movielens, load_triples
from tests.test_data_movielens import U_ITEM, U_USER, check_small, write_original

MB = 1 << 20
LINE = b"1\t10\t4\t881250949\n"


def peak_of(call):
    """``(result or exception, peak traced bytes)`` of ``call()``."""
    tracemalloc.start()
    try:
        try:
            result = call()
        except Exception as error:  # noqa: BLE001 - the caller inspects it
            result = error
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def write_bomb(path, megabytes: int) -> None:
    """A MovieLens-100K-shaped zip whose u.data inflates to ``megabytes`` MiB of valid rating lines."""
    block = LINE * (MB // len(LINE))
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        with archive.open("ml-100k/u.data", "w", force_zip64=True) as member:
            for _ in range(megabytes):
                member.write(block)
        archive.writestr("ml-100k/u.item", U_ITEM.encode("latin-1"))


def test_a_zip_bomb_is_refused_within_200_mb(tmp_path):
    """A 256 MiB u.data deflated about 1000:1 (main read it whole and split it: gigabytes for a 1 GiB one):
    refused from the zip directory, naming the member; traced peak under 200 MB (here far under)."""
    path = tmp_path / "ml-100k.zip"
    write_bomb(path, 256)
    assert path.stat().st_size < 2 * MB
    error, peak = peak_of(lambda: load_movielens(path))
    assert isinstance(error, ValueError), error
    assert f"{path}:ml-100k/u.data" in str(error) and "refused as a decompression bomb" in str(error)
    assert peak < 200 * MB, peak


def test_a_gzip_bomb_is_refused_within_200_mb(tmp_path):
    """A gzip file of 128 MiB of rating lines (main could not read gzip at all): read until the inflation limit,
    then refused; traced peak under 200 MB."""
    path = tmp_path / "ratings.txt.gz"
    block = LINE * (MB // len(LINE))
    with gzip.open(path, "wb") as out:
        for _ in range(128):
            out.write(block)
    error, peak = peak_of(lambda: load_triples(path))
    assert isinstance(error, ValueError) and "refused as a decompression bomb" in str(error), error
    assert peak < 200 * MB, peak


def test_gzip_files_are_read_decompressed(tmp_path):
    """Oracle: the same ratings as the plain file (main failed on byte 0x8b), by the loader and the CLI's sniffer."""
    plain = tmp_path / "r.csv"
    plain.write_text("user,item,rating\n1,10,4\n2,20,3.5\n")
    zipped = tmp_path / "r.csv.gz"
    zipped.write_bytes(gzip.compress(plain.read_bytes()))
    assert sniff(zipped) == sniff(plain) == (",", True)
    a, b = load_data(str(plain)), load_data(str(zipped))
    np.testing.assert_array_equal(a.ratings.values, b.ratings.values)
    np.testing.assert_array_equal(a.user_ids, b.user_ids)


@pytest.mark.parametrize("name", ["../u.data", "ml-100k/../../u.data", "/etc/u.data", "C:/u.data", "..\\u.data"])
def test_zip_slip_member_names_are_refused(tmp_path, name):
    """An archive with a member climbing out of its folder or absolute (main read ``../u.data`` as the ratings):
    refused naming the member; nothing is written anywhere (oracle: the folder listing)."""
    path = tmp_path / "evil.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(name, LINE)
        archive.writestr("ml-100k/u.user", U_USER)
    with pytest.raises(ValueError, match="climb out of its folder or are absolute") as info:
        load_movielens(path)
    assert repr(name) in str(info.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["evil.zip"]


def test_a_malformed_first_line_is_not_taken_for_a_header(tmp_path):
    """``1,2,five``: main's sniffer called it a header and skipped it silently; now it is read and named."""
    path = tmp_path / "r.csv"
    path.write_text("1,2,five\n1,3,4\n")
    assert sniff(path) == (",", False)
    with pytest.raises(ValueError, match=r"r.csv, line 1: rating 'five' is not a number"):
        load_data(str(path))
    path.write_text("user,item,rating\n1,3,4\n")
    assert sniff(path) == (",", True)


@pytest.mark.parametrize("ids", ["auto", "str"])
def test_an_empty_id_field_is_an_error(tmp_path, ids):
    """``u1,,5`` gave the item id ``''`` on main; oracle: the error names the line and the field."""
    path = tmp_path / "r.csv"
    path.write_text("u0,i0,3\nu1,,5\n")
    with pytest.raises(ValueError, match=r"r.csv, line 2: the item id is empty"):
        load_triples(path, sep=",", ids=ids)


def test_a_utf8_u_item_is_decoded_as_utf8(tmp_path):
    """A u.item re-encoded in UTF-8 gave the mojibake ``AmÃ©lie`` on main; the original Latin-1 still reads."""
    folder = write_original(tmp_path / "ml")
    (folder / "u.item").write_bytes(U_ITEM.encode("utf-8"))
    check_small(load_movielens(folder))
    (folder / "u.item").write_bytes(U_ITEM.encode("latin-1"))
    check_small(load_movielens(folder))


def test_off_scale_movielens_ratings_are_warned(tmp_path):
    """Ratings 500 and -7 in u.data passed silently on main; oracle: a warning naming the first line and the count,
    and the ratings kept as they are."""
    folder = write_original(tmp_path / "ml", data="1\t10\t500\t1\n2\t20\t-7\t2\n3\t10\t4\t3\n")
    with pytest.warns(UserWarning, match=r"u.data, line 1: rating 500 is off MovieLens' scale 0.5..5 \(2 such"):
        data = load_movielens(folder)
    np.testing.assert_array_equal(data.ratings.values, [500, -7, 4])
