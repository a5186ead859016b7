"""MovieLens loaders of :mod:`funksvd.data.movielens`: 100K, 1M, csv releases, RecBole, zips.

Oracles: the MovieLens 100K README (counts, layout) and its first line read by hand; small
files written out literally below (each expected value is visible in the file text); the
documented error messages naming file and line.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest

from funksvd.data import MOVIELENS_GENRES, Dataset, load_movielens
from tests.conftest import ML100K



@pytest.fixture(scope="module")
def movielens() -> Dataset:
    if not (ML100K / "u.data").is_file():
        pytest.skip(f"MovieLens 100K not found at {ML100K} (the shared data folder is absent)")
    return load_movielens(ML100K)


# ---- small files in the original and RecBole layouts ----------------------------------------------

U_DATA = "3\t10\t4\t881250949\n1\t20\t5\t891717742\n\n3\t20\t1\t878887116\n2\t10\t2.5\t880606923\n"
GENRES_COMEDY = "|".join("1" if g == "Comedy" else "0" for g in MOVIELENS_GENRES)
GENRES_DRAMA_WAR = "|".join("1" if g in ("Drama", "War") else "0" for g in MOVIELENS_GENRES)
U_ITEM = (
    f"10|Amélie (2001)|01-Jan-2001||http://x/10|{GENRES_COMEDY}\n"
    f"20|Heat (1995)|01-Jan-1995||http://x/20|{GENRES_DRAMA_WAR}\n"
    f"30|Never Rated (1990)|01-Jan-1990||http://x/30|{GENRES_COMEDY}\n"
)
U_USER = "1|24|M|technician|85711\n2|53|F|other|94043\n3|23|M|writer|32067\n"


def write_original(folder: Path, data=U_DATA, item=U_ITEM, user=U_USER) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "u.data").write_text(data, encoding="ascii")
    if item is not None:
        (folder / "u.item").write_bytes(item.encode("latin-1"))
    if user is not None:
        (folder / "u.user").write_text(user, encoding="ascii")
    return folder


def write_zip(path: Path, data=U_DATA, item=U_ITEM, user=U_USER) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("ml-100k/u.data", data.encode("ascii"))
        archive.writestr("ml-100k/u.item", item.encode("latin-1"))
        archive.writestr("ml-100k/u.user", user.encode("ascii"))
        archive.writestr("ml-100k/README", "MovieLens")
    return path


def check_small(data: Dataset) -> None:
    """The expectations read off U_DATA / U_ITEM / U_USER above."""
    assert data.ratings.shape == (3, 3) and len(data) == 4  # users 1,2,3; items 10,20 rated, 30 listed
    np.testing.assert_array_equal(data.user_ids, [1, 2, 3])
    np.testing.assert_array_equal(data.item_ids, [10, 20, 30])
    np.testing.assert_array_equal(data.ratings.users, [2, 0, 2, 1])  # file order kept
    np.testing.assert_array_equal(data.ratings.items, [0, 1, 1, 0])
    np.testing.assert_array_equal(data.ratings.values, [4, 5, 1, 2.5])
    np.testing.assert_array_equal(data.timestamps, [881250949, 891717742, 878887116, 880606923])
    assert list(data.item_titles) == ["Amélie (2001)", "Heat (1995)", "Never Rated (1990)"]
    assert list(data.item_attributes["genres"]) == ["Comedy", "Drama|War", "Comedy"]
    assert list(data.user_attributes["occupation"]) == ["technician", "other", "writer"]


def test_original_layout_folder(tmp_path):
    """Oracle: the literal u.data / u.item (latin-1) / u.user above; blank line skipped."""
    check_small(load_movielens(write_original(tmp_path / "ml")))


def test_original_layout_ratings_file(tmp_path):
    """Pointing at u.data itself finds u.item and u.user beside it (oracle: same literals)."""
    check_small(load_movielens(write_original(tmp_path / "ml") / "u.data"))


def test_zip_in_original_layout(tmp_path):
    """A GroupLens-style ml-100k.zip (files under ml-100k/), given directly or via its folder."""
    path = write_zip(tmp_path / "ml-100k.zip")
    check_small(load_movielens(path))
    check_small(load_movielens(tmp_path))


def test_subfolder_is_found(tmp_path):
    """A folder holding ml-100k/ (the unpacked zip) is followed (oracle: same literals)."""
    write_original(tmp_path / "ml-100k")
    check_small(load_movielens(tmp_path))


def test_ratings_only(tmp_path):
    """Without u.item / u.user: indices over the rated ids only, no titles (oracle: U_DATA)."""
    data = load_movielens(write_original(tmp_path, item=None, user=None))
    assert data.ratings.shape == (3, 2) and data.item_titles is None and data.user_attributes is None
    np.testing.assert_array_equal(data.item_ids, [10, 20])


def test_recbole_atomic_files(tmp_path):
    """RecBole .inter/.item/.user with name:type headers (oracle: the literal files below)."""
    (tmp_path / "toy.inter").write_text(
        "user_id:token\titem_id:token\trating:float\ttimestamp:float\n7\t1\t4\t100\n8\t2\t3\t200.0\n")
    (tmp_path / "toy.item").write_text(
        "item_id:token\tmovie_title:token_seq\trelease_year:token\tclass:token_seq\n"
        "1\tToy Story\t1995\tAnimation Comedy\n2\tHeat\t1995\tAction\n")
    (tmp_path / "toy.user").write_text("user_id:token\tage:token\n7\t30\n8\t40\n")
    data = load_movielens(tmp_path)
    assert list(data.item_titles) == ["Toy Story", "Heat"]
    assert list(data.item_attributes["class"]) == ["Animation Comedy", "Action"]
    assert list(data.user_attributes["age"]) == ["30", "40"]
    np.testing.assert_array_equal(data.timestamps, [100, 200])
    np.testing.assert_array_equal(data.ratings.values, [4, 3])


BAD_U_DATA = [
    ("1\t10\t4\t1\n2\t10\t3\n", 2, r"expected 4 tab-separated fields .* got 3"),
    ("1\t10\t4\t1\n\n2\tten\t3\t1\n", 3, r"item id 'ten' is not a number"),
    ("1\t10\t4\t1\nx\t10\t3\t1\n", 2, r"user id 'x' is not a number"),
    ("1\t10\t4\t1\n1.5\t10\t3\t1\n", 2, r"user id '1.5' is not an integer"),
    ("1\t10\tnan\t1\n", 1, r"rating 'nan' is not finite"),
    ("1\t10\t4\t1\n2\t10\tinf\t1\n", 2, r"rating 'inf' is not finite"),
    ("1\t10\tgood\t1\n", 1, r"rating 'good' is not a number"),
    ("1 10 4 1\n", 1, r"expected 4 tab-separated fields .* got 1"),
]


@pytest.mark.parametrize("text, line, message", BAD_U_DATA)
def test_bad_u_data_names_file_and_line(tmp_path, text, line, message):
    """Oracle: the documented ValueError '<file>, line <n>: <problem>' (1-based physical lines)."""
    write_original(tmp_path, data=text, item=None, user=None)
    with pytest.raises(ValueError, match=rf"u\.data, line {line}: {message}"):
        load_movielens(tmp_path)


@pytest.mark.parametrize("text, line, message", BAD_U_DATA[:3])
def test_bad_line_inside_zip_names_member_and_line(tmp_path, text, line, message):
    """Inside a zip the message names archive:member and the line (oracle: the documented format)."""
    path = write_zip(tmp_path / "ml-100k.zip", data=text)
    with pytest.raises(ValueError, match=rf"ml-100k\.zip:ml-100k/u\.data, line {line}: {message}"):
        load_movielens(path)


def test_bad_metadata_lines(tmp_path):
    """Wrong field count in u.item / u.user, repeated ids, unlisted rated items (oracle: messages)."""
    write_original(tmp_path, item=U_ITEM + "40|Short|x\n")
    with pytest.raises(ValueError, match=r"u\.item, line 4: expected 24 '\|'-separated fields .* got 3"):
        load_movielens(tmp_path)
    write_original(tmp_path, item=U_ITEM + U_ITEM.splitlines(keepends=True)[0])
    with pytest.raises(ValueError, match=r"u\.item, line 4: item id 10 is listed twice \(first on line 1\)"):
        load_movielens(tmp_path)
    write_original(tmp_path, user="1|24|M|technician\n")
    with pytest.raises(ValueError, match=r"u\.user, line 1: expected 5"):
        load_movielens(tmp_path)
    write_original(tmp_path, data=U_DATA + "1\t99\t3\t5\n")
    with pytest.raises(ValueError, match=r"u\.data, line 6: item id 99 is not listed in .*u\.item"):
        load_movielens(tmp_path)


def test_missing_data_raises_file_not_found(tmp_path):
    """An empty folder or a missing path (oracle: FileNotFoundError naming what is expected)."""
    with pytest.raises(FileNotFoundError, match="u.data"):
        load_movielens(tmp_path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_movielens(tmp_path / "nowhere")


# ---- the real MovieLens 100K -------------------------------------------------------------------------


def test_movielens_100k_counts(movielens):
    """Oracle: the data README: 100,000 ratings (1-5) by 943 users on 1,682 movies, >= 20 per user."""
    ratings = movielens.ratings
    assert (len(ratings), ratings.n_users, ratings.n_items) == (100_000, 943, 1_682)
    assert set(np.unique(ratings.values)) == {1.0, 2.0, 3.0, 4.0, 5.0}
    assert np.bincount(ratings.users).min() >= 20
    np.testing.assert_array_equal(movielens.user_ids, np.arange(1, 944))  # raw id r is index r - 1
    np.testing.assert_array_equal(movielens.item_ids, np.arange(1, 1683))


def test_movielens_100k_first_line_and_titles(movielens):
    """Oracle: u.data's first line '196 242 3 881250949' and ml-100k.item's first rows, read by hand."""
    r = movielens.ratings
    assert (r.users[0], r.items[0], r.values[0], movielens.timestamps[0]) == (195, 241, 3.0, 881250949)
    assert movielens.item_titles[0] == "Toy Story" and movielens.item_titles[1] == "GoldenEye"
    assert movielens.user_attributes["age"][0] == "24" and movielens.user_attributes["gender"][0] == "M"
