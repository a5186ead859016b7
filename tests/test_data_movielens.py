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


# ---- MovieLens 1M ('::', Latin-1) ---------------------------------------------------------------------

RATINGS_DAT = "2::20::5::978300760\n1::10::3::978302109\n\n2::10::4::978301968\n"
MOVIES_DAT = "10::Amélie (2001)::Comedy|Romance\n20::Heat (1995)::Action|Crime|Thriller\n30::Never (1990)::Drama\n"
USERS_DAT = "1::F::1::10::48067\n2::M::56::16::70072\n"


def write_1m(folder: Path, ratings=RATINGS_DAT, movies=MOVIES_DAT, users=USERS_DAT) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "ratings.dat").write_text(ratings, encoding="ascii")
    (folder / "movies.dat").write_bytes(movies.encode("latin-1"))
    (folder / "users.dat").write_text(users, encoding="ascii")
    return folder


def check_1m(data: Dataset) -> None:
    """Expectations read off RATINGS_DAT / MOVIES_DAT / USERS_DAT: users 1,2; items 10,20 rated, 30 listed."""
    assert data.ratings.shape == (2, 3) and len(data) == 3
    np.testing.assert_array_equal(data.ratings.users, [1, 0, 1])
    np.testing.assert_array_equal(data.ratings.items, [1, 0, 0])
    np.testing.assert_array_equal(data.ratings.values, [5, 3, 4])
    np.testing.assert_array_equal(data.timestamps, [978300760, 978302109, 978301968])
    assert data.item_titles.tolist() == ["Amélie (2001)", "Heat (1995)", "Never (1990)"]
    assert data.item_attributes["genres"].tolist() == ["Comedy|Romance", "Action|Crime|Thriller", "Drama"]
    assert data.user_attributes["gender"].tolist() == ["F", "M"] and data.user_attributes["age"].tolist() == ["1", "56"]
    assert data.user_attributes["zip_code"].tolist() == ["48067", "70072"]


def test_movielens_1m_folder_file_and_zip(tmp_path):
    """The 1M layout from a folder, from ratings.dat, from ml-1m.zip (oracle: the literal files above)."""
    check_1m(load_movielens(write_1m(tmp_path / "ml-1m")))
    check_1m(load_movielens(tmp_path / "ml-1m" / "ratings.dat"))
    check_1m(load_movielens(tmp_path))  # the sub-folder named after the release
    with zipfile.ZipFile(tmp_path / "ml-1m.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("ml-1m/ratings.dat", RATINGS_DAT)
        archive.writestr("ml-1m/movies.dat", MOVIES_DAT.encode("latin-1"))
        archive.writestr("ml-1m/users.dat", USERS_DAT)
    check_1m(load_movielens(tmp_path / "ml-1m.zip"))


def test_movielens_1m_errors(tmp_path):
    """A 3-field line, a short movies.dat line, an unlisted movie (oracle: file and line in the message)."""
    write_1m(tmp_path, ratings="1::10::3::1\n1::20::4\n")
    with pytest.raises(ValueError, match=r"ratings\.dat, line 2: expected 4 '::'-separated fields .* got 3"):
        load_movielens(tmp_path)
    write_1m(tmp_path, movies="10::Amélie (2001)\n")
    with pytest.raises(ValueError, match=r"movies\.dat, line 1: expected 3 '::'-separated fields"):
        load_movielens(tmp_path)
    write_1m(tmp_path, movies="10::Amélie (2001)::Comedy\n")
    with pytest.raises(ValueError, match=r"ratings\.dat, line 1: item id 20 is not listed in .*movies\.dat"):
        load_movielens(tmp_path)


# ---- the csv releases (ml-latest-small, 20M, 25M) ------------------------------------------------------

RATINGS_CSV = "userId,movieId,rating,timestamp\n1,1,4.0,964982703\n1,3,4.5,964981247\n6,1,0.5,845553522\n"
MOVIES_CSV = ('movieId,title,genres\n1,Toy Story (1995),Adventure|Animation\n'
              '3,"Grumpier Old Men, The (1995)",Comedy|Romance\n')


def write_csv_release(folder: Path, ratings=RATINGS_CSV, movies=MOVIES_CSV) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "ratings.csv").write_text(ratings, encoding="utf-8")
    if movies is not None:
        (folder / "movies.csv").write_text(movies, encoding="utf-8")
    return folder


def check_csv(data: Dataset) -> None:
    """Expectations read off RATINGS_CSV / MOVIES_CSV: users 1,6; movies 1,3; a quoted comma kept."""
    np.testing.assert_array_equal(data.ratings.users, [0, 0, 1])
    np.testing.assert_array_equal(data.ratings.items, [0, 1, 0])
    np.testing.assert_array_equal(data.ratings.values, [4.0, 4.5, 0.5])
    np.testing.assert_array_equal(data.timestamps, [964982703, 964981247, 845553522])
    assert data.user_ids.tolist() == [1, 6] and data.item_ids.tolist() == [1, 3]
    assert data.item_titles.tolist() == ["Toy Story (1995)", "Grumpier Old Men, The (1995)"]
    assert data.item_attributes["genres"].tolist() == ["Adventure|Animation", "Comedy|Romance"]


def test_csv_release_folder_and_zip(tmp_path):
    """ratings.csv + movies.csv in a folder and in ml-latest-small.zip (oracle: the literal files)."""
    check_csv(load_movielens(write_csv_release(tmp_path / "ml-latest-small")))
    with zipfile.ZipFile(tmp_path / "release.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("ml-latest-small/ratings.csv", RATINGS_CSV)
        archive.writestr("ml-latest-small/movies.csv", MOVIES_CSV)
        archive.writestr("ml-latest-small/README.txt", "MovieLens")
    check_csv(load_movielens(tmp_path / "release.zip"))


def test_csv_release_errors(tmp_path):
    """Wrong header, a bad rating, a short movies.csv row (oracle: file and line in the message)."""
    write_csv_release(tmp_path, ratings="user,item,rating,time\n1,1,4,1\n")
    with pytest.raises(ValueError, match=r"ratings\.csv, line 1: expected the header userId,movieId,rating,timestamp"):
        load_movielens(tmp_path)
    write_csv_release(tmp_path, ratings=RATINGS_CSV + "7,1,good,1\n")
    with pytest.raises(ValueError, match=r"ratings\.csv, line 5: rating 'good' is not a number"):
        load_movielens(tmp_path)
    write_csv_release(tmp_path, movies=MOVIES_CSV + "4,Heat (1995)\n")
    with pytest.raises(ValueError, match=r"movies\.csv, line 4: expected 3 comma-separated fields"):
        load_movielens(tmp_path)
    write_csv_release(tmp_path, movies="id,title\n")
    with pytest.raises(ValueError, match=r"movies\.csv, line 1: expected the header movieId,title,genres"):
        load_movielens(tmp_path)


# ---- damaged and foreign archives --------------------------------------------------------------------


def test_truncated_archive_is_named(tmp_path):
    """The first half of a zip was read as text before (oracle: an error naming the file)."""
    whole = write_zip(tmp_path / "whole.zip").read_bytes()
    (tmp_path / "ml-100k.zip").write_bytes(whole[: len(whole) // 2])
    with pytest.raises(ValueError, match=r"ml-100k\.zip: not a readable zip archive .* truncated or corrupt"):
        load_movielens(tmp_path / "ml-100k.zip")


def test_corrupt_member_is_named(tmp_path):
    """Flipped bytes inside the compressed u.data gave a bare zlib.error (oracle: archive:member named)."""
    path = tmp_path / "ml-100k.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("ml-100k/u.data", U_DATA * 50)
    data = bytearray(path.read_bytes())
    start = 30 + len("ml-100k/u.data")  # the local header is 30 bytes plus the name; compressed data follows
    for k in range(start + 5, start + 25):
        data[k] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"ml-100k\.zip:ml-100k/u\.data: the archive is damaged"):
        load_movielens(path)


def test_foreign_and_fake_archives_are_named(tmp_path):
    """A zip without ratings, an HTML page saved as .zip (oracle: the messages name the file)."""
    with zipfile.ZipFile(tmp_path / "other.zip", "w") as archive:
        archive.writestr("hello.txt", "hello")
    with pytest.raises(ValueError, match=r"other\.zip: a zip archive without MovieLens ratings .* hello\.txt"):
        load_movielens(tmp_path / "other.zip")
    (tmp_path / "ml-1m.zip").write_text("<html>moved</html>")
    with pytest.raises(ValueError, match=r"ml-1m\.zip: not a zip archive \(it starts with b'<html>"):
        load_movielens(tmp_path / "ml-1m.zip")


def test_fast_parser_agrees_with_the_line_parser(monkeypatch):
    """numpy's parser (used on well-formed files) gives what the line-by-line parser gives (oracle: the latter)."""
    if not (ML100K / "u.data").is_file():
        pytest.skip(f"MovieLens 100K not found at {ML100K}")
    from funksvd.data import text

    fast = load_movielens(ML100K / "u.data")
    assert text._fast_ratings(text.Text.read(ML100K / "u.data", "latin-1"), "\t", False, {4: ""}) is not None
    monkeypatch.setattr(text, "_fast_ratings", lambda *args: None)
    assert load_movielens(ML100K / "u.data") == fast


def test_latin1_control_bytes_stay_inside_their_line(tmp_path):
    """Byte 0x85 (cp1252's ellipsis) in a Latin-1 title is not a line break (oracle: the title, byte for byte)."""
    item = U_ITEM.replace("Heat (1995)", "Heat\x85 (1995)")
    write_original(tmp_path, item=item, data=U_DATA.replace("\n", "\r\n"))
    data = load_movielens(tmp_path)
    assert data.item_titles[1] == "Heat\x85 (1995)" and len(data) == 4
