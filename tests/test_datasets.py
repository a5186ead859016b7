"""Loaders, splits and the synthetic Netflix generator of :mod:`funksvd.datasets`.

Oracles: the MovieLens 100K README (counts, layout) and its first line read by hand; small
files written out literally below (each expected value is visible in the file text); the
documented error messages; Surprise's own splitters on the same ratings (when installed);
set arithmetic on rating positions; the planted model the synthetic ratings come from.
"""

from __future__ import annotations

import dataclasses
import zipfile
from pathlib import Path

import numpy as np
import pytest

from funksvd import Ratings
from funksvd.datasets import (
    MOVIELENS_GENRES,
    Dataset,
    kfold,
    load_movielens,
    load_triples,
    synthetic_netflix,
    train_test_split,
)

#: MovieLens 100K, shared beside the repository (never copied into it).
ML100K = Path(__file__).resolve().parents[2] / "shared" / "data" / "ml-100k"


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
    assert list(data.item_attributes["genres"]) == ["Comedy", "Drama War", "Comedy"]
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


# ---- the Dataset container ---------------------------------------------------------------------------


def test_dataset_maps_raw_ids_and_is_frozen(tmp_path):
    """Raw <-> index round trips, unknown ids rejected, fields and arrays immutable (oracle: U_DATA ids)."""
    data = load_movielens(write_original(tmp_path))
    assert data.user_index(3) == 2 and data.raw_user(2) == 3
    np.testing.assert_array_equal(data.item_index([20, 10, 30]), [1, 0, 2])
    np.testing.assert_array_equal(data.raw_item(np.array([2, 0])), [30, 10])
    with pytest.raises(ValueError, match="unknown raw item id 11"):
        data.item_index(11)
    with pytest.raises(ValueError, match="out of range"):
        data.raw_user(3)
    with pytest.raises(dataclasses.FrozenInstanceError):
        data.ratings = None
    with pytest.raises(ValueError):
        data.item_ids[0] = 0
    with pytest.raises(TypeError):
        data.user_attributes["age"] = None
    assert "4 ratings, 3 users, 3 items" in repr(data)


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


# ---- splits ------------------------------------------------------------------------------------------


def positional(n: int, n_users=7, n_items=5) -> Ratings:
    """Ratings whose value is their position, so a subset tells which ratings it holds."""
    positions = np.arange(n)
    return Ratings(positions % n_users, positions % n_items, positions.astype(float), n_users, n_items)


@pytest.mark.parametrize("n, test_size, n_test", [(100, 0.2, 20), (101, 0.2, 21), (10, 3, 3), (10, 0.01, 1)])
def test_train_test_split_sizes_and_disjointness(n, test_size, n_test):
    """Oracle: set arithmetic on positions; Surprise's rounding ceil(test_size * n)."""
    ratings = positional(n)
    train, test = train_test_split(ratings, test_size=test_size, random_state=0)
    assert len(test) == n_test and len(train) == n - n_test
    assert not set(train.values) & set(test.values)
    assert set(train.values) | set(test.values) == set(range(n))
    assert train.shape == test.shape == ratings.shape  # id ranges kept
    again, _ = train_test_split(ratings, test_size=test_size, random_state=0)
    assert again == train  # same seed, same split


@pytest.mark.parametrize("test_size", [0.0, 1.0, 10, 0, -1, "a", True])
def test_train_test_split_rejects_bad_sizes(test_size):
    """Both sets must be non-empty (oracle: the ValueError)."""
    with pytest.raises(ValueError, match="test_size"):
        train_test_split(positional(10), test_size=test_size, random_state=0)


@pytest.mark.parametrize("n, n_splits", [(100, 5), (103, 5), (10, 10), (7, 2)])
def test_kfold_covers_every_rating_once(n, n_splits):
    """Oracle: set arithmetic; fold sizes n // k, the first n % k one larger (Surprise's KFold)."""
    ratings = positional(n)
    seen = []
    for f, (train, test) in enumerate(kfold(ratings, n_splits=n_splits, random_state=0)):
        assert len(test) == n // n_splits + (f < n % n_splits)
        assert set(train.values) == set(range(n)) - set(test.values) and len(train) == n - len(test)
        seen.extend(test.values)
    assert sorted(seen) == list(range(n))


def test_kfold_without_shuffle_is_contiguous():
    """shuffle=False: fold f is positions [start, stop) in order (oracle: arange)."""
    folds = [test.values for _, test in kfold(positional(7), n_splits=3, shuffle=False)]
    assert [list(f) for f in folds] == [[0, 1, 2], [3, 4], [5, 6]]
    with pytest.raises(ValueError, match="n_splits"):
        next(kfold(positional(7), n_splits=8))


def test_splits_equal_surprise_on_movielens(movielens):
    """Oracle: Surprise's own train_test_split and KFold on u.data, same seed (skipped without Surprise)."""
    surprise = pytest.importorskip("surprise")
    from surprise.model_selection import KFold
    from surprise.model_selection import train_test_split as surprise_split

    data = surprise.Dataset.load_from_file(str(ML100K / "u.data"), surprise.Reader("ml-100k"))

    def triples(r: Ratings):
        return list(zip(movielens.raw_user(r.users).tolist(), movielens.raw_item(r.items).tolist(),
                        r.values.tolist()))

    _, test = train_test_split(movielens.ratings, test_size=0.2, random_state=0)
    _, surprise_test = surprise_split(data, test_size=0.2, random_state=0)
    assert triples(test) == [(int(u), int(i), r) for u, i, r in surprise_test]
    ours = [triples(test) for _, test in kfold(movielens.ratings, n_splits=5, random_state=1)]
    theirs = [[(int(u), int(i), r) for u, i, r in test] for _, test in KFold(5, random_state=1).split(data)]
    assert ours == theirs


# ---- synthetic Netflix -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def synthetic():
    return synthetic_netflix(n_users=3_000, n_items=1_000, n_ratings=200_000, random_state=3, k=5,
                             return_factors=True)


def test_synthetic_shapes_and_ranges(synthetic):
    """Oracle: the requested sizes; ratings integers 1..5; distinct pairs; users ascending."""
    ratings, factors = synthetic
    assert len(ratings) == 200_000 and ratings.shape == (3_000, 1_000)
    assert ratings.users.dtype == ratings.items.dtype == np.int64 and ratings.values.dtype == np.float64
    assert set(np.unique(ratings.values)) == {1.0, 2.0, 3.0, 4.0, 5.0}
    assert ratings.duplicate_pairs().size == 0
    assert np.all(np.diff(ratings.users) >= 0)
    assert factors.P.shape == (3_000, 5) and factors.Q.shape == (1_000, 5)


def test_synthetic_popularity_and_activity_are_skewed(synthetic):
    """Oracle: a uniform draw would give every item ~0.1% and top 10% of items ~10% of the ratings."""
    ratings, _ = synthetic
    per_item = np.sort(np.bincount(ratings.items, minlength=1_000))[::-1]
    assert per_item[:100].sum() > 0.5 * len(ratings)
    assert per_item[0] > 20 * np.median(per_item)
    per_user = np.bincount(ratings.users, minlength=3_000)
    assert per_user.mean() > 1.5 * np.median(per_user)  # log-normal activity: mean well above median
    assert per_user.max() <= 1_000


def test_synthetic_ratings_follow_the_planted_model(synthetic):
    """Oracle: the planted Factors: rounding error + noise (sd 0.5) only, so the RMSE is about 0.55."""
    ratings, factors = synthetic
    r_hat = np.clip(factors.predict(ratings.users, ratings.items), 1, 5)
    rmse = np.sqrt(np.mean((ratings.values - r_hat) ** 2))
    assert 0.45 < rmse < 0.65 and rmse < 0.7 * ratings.values.std()


def test_synthetic_is_reproducible_and_seeded():
    """Same seed -> equal Ratings; another seed -> different (oracle: equality)."""
    a = synthetic_netflix(200, 100, 2_000, random_state=1)
    assert a == synthetic_netflix(200, 100, 2_000, random_state=1)
    assert a != synthetic_netflix(200, 100, 2_000, random_state=2)
    loose = synthetic_netflix(50, 20, 500, random_state=1, distinct=False)
    assert len(loose) == 500


def test_synthetic_ratings_are_read_only_and_valid(synthetic):
    """The copy-free Ratings equals Ratings(...) rebuilt with copies, and is read-only (oracle: the constructor)."""
    ratings, _ = synthetic
    rebuilt = Ratings(ratings.users, ratings.items, ratings.values, ratings.n_users, ratings.n_items)
    assert rebuilt == ratings and repr(rebuilt) == repr(ratings)
    with pytest.raises(ValueError):
        ratings.values[0] = 0.0
    with pytest.raises(AttributeError):
        ratings.n_users = 1
    single = synthetic_netflix(n_users=50, n_items=40, n_ratings=500, dtype=np.float32)
    assert single.values.dtype == np.float32
    np.testing.assert_array_equal(single.values, synthetic_netflix(n_users=50, n_items=40, n_ratings=500).values)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"n_users": 0}, "n_users"),
        ({"n_ratings": 2.5}, "n_ratings"),
        ({"noise_std": -1.0}, "noise_std"),
        ({"n_users": 2, "n_items": 2, "n_ratings": 5}, "do not fit"),
    ],
)
def test_synthetic_rejects_bad_arguments(kwargs, message):
    """Oracle: the documented ValueError."""
    args = {"n_users": 10, "n_items": 10, "n_ratings": 20, **kwargs}
    with pytest.raises(ValueError, match=message):
        synthetic_netflix(**args)
