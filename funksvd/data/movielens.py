r"""MovieLens in its published layouts: 100K, 1M (and 10M), the csv releases, RecBole atomic files.

======================  ==============================================  ==========================
layout                  ratings                                         metadata (optional)
======================  ==============================================  ==========================
100K                    ``u.data``: tab, ``user item rating time``      ``u.item``, ``u.user``
1M, 10M                 ``ratings.dat``: ``user::item::rating::time``   ``movies.dat``, ``users.dat``
csv (latest, 20M, 25M)  ``ratings.csv``: header, comma-separated        ``movies.csv``
RecBole                 ``<name>.inter``: header ``name:type``          ``<name>.item``/``.user``
======================  ==============================================  ==========================

Each is read from a folder, from the ratings file itself, or from the zip archive as GroupLens
ships it; :func:`load_movielens` also downloads a release by name (see
:mod:`funksvd.data.download`).
"""

from __future__ import annotations

import csv
import io
import warnings
import zipfile
import zlib
from pathlib import Path

import numpy as np

from .dataset import Dataset, assemble
from .download import RELEASES, fetch_movielens
from .text import (
    MAX_RATIO,
    Text,
    decode,
    inflation_limit,
    parse_int,
    parse_rating,
    parse_ratings,
    parse_table,
    read_bounded,
    read_file,
    table_ids,
)

__all__ = ["MOVIELENS_GENRES", "load_movielens"]

#: The 19 genre flags of MovieLens 100K ``u.item``, in file order (as listed in ``u.genre``).
MOVIELENS_GENRES = (
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary",
    "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller",
    "War", "Western",
)

_RATINGS_FILES = ("u.data", "ratings.dat", "ratings.csv")

#: The lowest and highest rating of every MovieLens release (half stars from 0.5 in the csv releases).
MOVIELENS_SCALE = (0.5, 5.0)

#: MovieLens metadata files someone may pass as ratings: what each is, and the ratings file beside it.
METADATA_FILES = {
    "u.item": ("the MovieLens 100K item table", "u.data"), "u.user": ("the MovieLens 100K user table", "u.data"),
    "u.genre": ("the MovieLens 100K genre list", "u.data"),
    "u.occupation": ("the MovieLens 100K occupation list", "u.data"),
    "movies.dat": ("the MovieLens 1M/10M item table", "ratings.dat"),
    "users.dat": ("the MovieLens 1M user table", "ratings.dat"),
    "tags.dat": ("the MovieLens 10M tag table", "ratings.dat"),
    "movies.csv": ("the MovieLens csv item table", "ratings.csv"),
    "tags.csv": ("the MovieLens csv tag table", "ratings.csv"),
    "links.csv": ("the MovieLens csv links table", "ratings.csv"),
}


def _not_ratings(place, member: str) -> ValueError | None:
    """The error for a metadata file given as the ratings (an item or user table), else None."""
    name = Path(member).name
    stem, suffix = Path(member).stem, Path(member).suffix
    if name in METADATA_FILES:
        what, instead = METADATA_FILES[name]
    elif suffix in (".item", ".user"):
        what, instead = f"a RecBole {suffix[1:]} table", f"{stem}.inter or u.data"
    else:
        return None
    return ValueError(f"{place.name(member)} is {what}, not ratings: pass the ratings file beside it ({instead}) or "
                      "the folder that holds both (the metadata is read with the ratings)")
_CSV_HEADER = ["userId", "movieId", "rating", "timestamp"]
_FIND_HINT = ("expected a MovieLens layout: u.data (100K, with u.item, u.user), ratings.dat (1M, with movies.dat, "
              "users.dat), ratings.csv (ml-latest, 20M, 25M, with movies.csv), RecBole atomic files (*.inter, "
              "*.item, *.user), a sub-folder or zip archive of one of them, or a release name "
              f"({', '.join(RELEASES)})")


# ---- where the files are: a folder or a zip archive ------------------------------------------------


class _Folder:
    def __init__(self, path: Path):
        self.path = path

    def find(self, filename: str) -> str | None:
        return filename if (self.path / filename).is_file() else None

    def glob(self, suffix: str) -> list[str]:
        return sorted(p.name for p in self.path.glob(f"*{suffix}") if p.is_file())

    def name(self, member: str) -> str:
        return str(self.path / member)

    def read(self, member: str, encoding: str) -> Text:
        return Text.read(self.path / member, encoding)

    def read_bytes(self, member: str) -> bytes:
        return read_file(self.path / member)


class _Archive:
    def __init__(self, path: Path, archive: zipfile.ZipFile):
        self.path, self.archive = path, archive
        self.names = [n for n in archive.namelist() if not n.endswith("/")]
        unsafe = [n for n in archive.namelist()
                  if n.startswith(("/", "\\")) or ".." in n.replace("\\", "/").split("/") or n[1:2] == ":"]
        if unsafe:  # nothing is extracted, but such an archive is not GroupLens' and may target a path
            raise ValueError(f"{path}: the archive has member names that climb out of its folder or are absolute "
                             f"({', '.join(map(repr, unsafe[:3]))}); refused (a zip-slip archive, not a MovieLens "
                             "release)")

    def find(self, filename: str) -> str | None:
        if filename in self.names:
            return filename
        matches = [n for n in self.names if n.endswith(f"/{filename}") and n.count("/") == 1]
        return matches[0] if len(matches) == 1 else None

    def glob(self, suffix: str) -> list[str]:
        return []

    def name(self, member: str) -> str:
        return f"{self.path}:{member}"

    def read_bytes(self, member: str) -> bytes:
        """The member's bytes, refused before reading when it claims to inflate past :func:`inflation_limit`."""
        info = self.archive.getinfo(member)
        limit = inflation_limit(info.compress_size)
        if info.file_size > limit:
            raise ValueError(f"{self.name(member)}: {info.compress_size:,} compressed bytes claim to inflate to "
                             f"{info.file_size:,} bytes, more than the {limit:,} allowed (at most {MAX_RATIO} times "
                             "the compressed size); refused as a decompression bomb")
        try:
            with self.archive.open(info) as stream:
                return read_bounded(stream, self.name(member), min(limit, info.file_size), info.compress_size)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
            raise ValueError(f"{self.name(member)}: the archive is damaged ({type(exc).__name__}: {exc}); "
                             "delete it and download it again") from None

    def read(self, member: str, encoding: str) -> Text:
        return Text(self.name(member), decode(self.name(member), self.read_bytes(member), encoding))


def _read_any(place, member: str) -> Text:
    """Text of a MovieLens metadata file: UTF-8 (10M, csv releases) or else Latin-1 (100K, 1M)."""
    data = place.read_bytes(member)
    try:
        return Text(place.name(member), data.decode("utf-8"))
    except UnicodeDecodeError:
        return Text(place.name(member), data.decode("latin-1"))


# ---- the metadata tables ---------------------------------------------------------------------------


def _u_item(text: Text):
    """``(raw ids, titles, attributes)`` of an original ``u.item`` (24 '|'-separated fields)."""
    rows = parse_table(text, "|", 5 + len(MOVIELENS_GENRES), False,
                       "movie id|title|release date|video release date|IMDb URL|19 genre flags")
    ids = table_ids(text, rows, 0, "item")
    titles = np.array([fields[1] for _, fields in rows], dtype=object)
    genres = []
    for number, fields in rows:
        flags = fields[5:]
        if any(flag.strip() not in ("0", "1") for flag in flags):
            raise text.error(number, f"genre flags must be 0 or 1, got {'|'.join(flags)!r}")
        genres.append("|".join(g for g, flag in zip(MOVIELENS_GENRES, flags) if flag.strip() == "1"))
    attributes = {
        "release_date": np.array([fields[2] for _, fields in rows], dtype=object),
        "video_release_date": np.array([fields[3] for _, fields in rows], dtype=object),
        "imdb_url": np.array([fields[4] for _, fields in rows], dtype=object),
        "genres": np.array(genres, dtype=object),
    }
    return ids, titles, attributes


def _user_table(text: Text, sep: str, names: tuple[str, ...], layout: str):
    """``(raw ids, None, attributes)`` of ``u.user`` or ``users.dat``: the id, then ``names``."""
    rows = parse_table(text, sep, 1 + len(names), False, layout)
    ids = table_ids(text, rows, 0, "user")
    return ids, None, {name: np.array([fields[j + 1] for _, fields in rows], dtype=object)
                       for j, name in enumerate(names)}


def _movies_dat(text: Text):
    """``(raw ids, titles, {genres})`` of a 1M/10M ``movies.dat`` (``id::title::genres``)."""
    rows = parse_table(text, "::", 3, False, "movie id::title::genres")
    return (table_ids(text, rows, 0, "item"), np.array([f[1] for _, f in rows], dtype=object),
            {"genres": np.array([f[2] for _, f in rows], dtype=object)})


def _movies_csv(text: Text):
    """``(raw ids, titles, {genres})`` of a csv release's ``movies.csv`` (quoted titles)."""
    reader = csv.reader(io.StringIO(text.text, newline=""))
    header = next(reader, None)
    if header != ["movieId", "title", "genres"]:
        raise text.error(1, f"expected the header movieId,title,genres, got {header}")

    def lines():
        for fields in reader:
            if fields:
                yield reader.line_num, fields

    rows = parse_table(text, ",", 3, False, "movieId,title,genres", rows=lines())
    return (table_ids(text, rows, 0, "item"), np.array([f[1] for _, f in rows], dtype=object),
            {"genres": np.array([f[2] for _, f in rows], dtype=object)})


def _recbole_header(text: Text) -> list[str]:
    """Column names of a RecBole atomic file (``name:type`` header; the type is dropped)."""
    first = text.first_line()
    if first is None:
        raise ValueError(f"{text.name}: the file is empty, expected a header line like 'item_id:token\\t...'")
    return [column.split(":", 1)[0].strip() for column in first.split("\t")]


def _recbole_table(text: Text, id_column: str, kind: str, title: str | None = None):
    """``(raw ids, titles, {column: strings})`` of a RecBole ``.item`` or ``.user`` file."""
    names = _recbole_header(text)
    if id_column not in names:
        raise text.error(1, f"the header has no {id_column!r} column (columns: {names})")
    rows = parse_table(text, "\t", len(names), True, " ".join(names))
    ids = table_ids(text, rows, names.index(id_column), kind)
    columns = {name: np.array([fields[j] for _, fields in rows], dtype=object)
               for j, name in enumerate(names) if name != id_column}
    return ids, columns.pop(title, None) if title else None, columns


def _recbole_inter(text: Text):
    """A RecBole ``.inter`` file: header names locate ``user_id``, ``item_id``, ``rating``, ``timestamp``."""
    names = _recbole_header(text)
    for required in ("user_id", "item_id", "rating"):
        if required not in names:
            raise text.error(1, f"the header has no {required!r} column (columns: {names})")
    rows = parse_table(text, "\t", len(names), True, " ".join(names))
    if not rows:
        raise ValueError(f"{text.name}: no ratings in the file")
    u, i, r = names.index("user_id"), names.index("item_id"), names.index("rating")
    t = names.index("timestamp") if "timestamp" in names else None
    users = np.array([parse_int(text, n, f[u], "user id") for n, f in rows], dtype=np.int64)
    items = np.array([parse_int(text, n, f[i], "item id") for n, f in rows], dtype=np.int64)
    values = np.array([parse_rating(text, n, f[r]) for n, f in rows], dtype=np.float64)
    stamps = None if t is None else np.array([parse_int(text, n, f[t], "timestamp") for n, f in rows], dtype=np.int64)
    return users, items, values, stamps


# ---- one layout, wherever it lives -----------------------------------------------------------------


def _load_layout(place, ratings_member: str) -> Dataset:
    """Read the ratings file ``ratings_member`` of ``place`` and the metadata of its layout."""
    metadata = _not_ratings(place, ratings_member)
    if metadata is not None:
        raise metadata
    item_table = user_table = None
    item_member = user_member = None
    if ratings_member.endswith(".inter"):
        text = place.read(ratings_member, "utf-8")
        users, items, values, stamps = _recbole_inter(text)
        stem = Path(ratings_member).stem
        item_member, user_member = _recbole_member(place, stem, ".item"), _recbole_member(place, stem, ".user")
        if item_member:
            item_table = _recbole_table(place.read(item_member, "utf-8"), "item_id", "item", "movie_title")
        if user_member:
            user_table = _recbole_table(place.read(user_member, "utf-8"), "user_id", "user")
    elif ratings_member.endswith("ratings.dat"):
        text = place.read(ratings_member, "latin-1")
        users, items, values, stamps = parse_ratings(text, "::", False, {4: "user::item::rating::timestamp"})
        item_member = _beside(place, ratings_member, "movies.dat")
        user_member = _beside(place, ratings_member, "users.dat")
        if item_member:
            item_table = _movies_dat(_read_any(place, item_member))
        if user_member:
            user_table = _user_table(_read_any(place, user_member), "::", ("gender", "age", "occupation", "zip_code"),
                                     "user id::gender::age::occupation::zip code")
    elif ratings_member.endswith("ratings.csv"):
        text = place.read(ratings_member, "utf-8")
        header = (text.first_line() or "").strip().split(",")
        if header != _CSV_HEADER:
            raise text.error(1, f"expected the header {','.join(_CSV_HEADER)}, got {','.join(header)!r}")
        users, items, values, stamps = parse_ratings(text, ",", True, {4: "userId,movieId,rating,timestamp"})
        item_member = _beside(place, ratings_member, "movies.csv")
        if item_member:
            item_table = _movies_csv(place.read(item_member, "utf-8"))
    else:  # u.data, or a file of the same layout under another name
        text = place.read(ratings_member, "latin-1")
        users, items, values, stamps = parse_ratings(text, "\t", False, {4: "user item rating timestamp"})
        item_member = _beside(place, ratings_member, "u.item")
        user_member = _beside(place, ratings_member, "u.user")
        if item_member:
            item_table = _u_item(_read_any(place, item_member))  # Latin-1 as shipped, UTF-8 when re-encoded
        elif isinstance(place, _Folder):  # RecBole metadata beside an original u.data
            item_member = _recbole_member(place, Path(ratings_member).stem, ".item")
            if item_member:
                item_table = _recbole_table(place.read(item_member, "utf-8"), "item_id", "item", "movie_title")
        if user_member:
            user_table = _user_table(_read_any(place, user_member), "|", ("age", "gender", "occupation",
                                     "zip_code"), "user id|age|gender|occupation|zip code")
        elif isinstance(place, _Folder):
            user_member = _recbole_member(place, Path(ratings_member).stem, ".user")
            if user_member:
                user_table = _recbole_table(place.read(user_member, "utf-8"), "user_id", "user")
    listing = {kind: place.name(member) if member else "" for kind, member in (("item", item_member),
                                                                              ("user", user_member))}

    def unlisted(kind, j, raw):
        return text.error(text.line_of(j), f"{kind} id {raw} is not listed in {listing[kind]}")

    off_scale = np.flatnonzero((values < MOVIELENS_SCALE[0]) | (values > MOVIELENS_SCALE[1]))
    if len(off_scale):  # kept (the data may be rescaled on purpose), but not unseen
        warnings.warn(f"{text.name}, line {text.line_of(off_scale[0])}: rating {values[off_scale[0]]:g} is off "
                      f"MovieLens' scale {MOVIELENS_SCALE[0]:g}..{MOVIELENS_SCALE[1]:g} ({len(off_scale)} such "
                      "ratings); they are kept", UserWarning, stacklevel=3)
    return assemble(users, items, values, stamps, item_table=item_table, user_table=user_table,
                    source=place.name(ratings_member), unlisted=unlisted)


def _beside(place, ratings_member: str, filename: str) -> str | None:
    """The metadata file ``filename`` in the same folder (of the archive) as the ratings."""
    folder = ratings_member.rpartition("/")[0]
    member = f"{folder}/{filename}" if folder else filename
    return place.find(member)


def _recbole_member(place, stem: str, suffix: str) -> str | None:
    """``<stem><suffix>``, else ``<folder name><suffix>``, else the only ``*<suffix>`` of the folder."""
    candidates = [f"{stem}{suffix}"] + ([f"{place.path.name}{suffix}"] if isinstance(place, _Folder) else [])
    for candidate in candidates:
        if place.find(candidate):
            return candidate
    found = place.glob(suffix)
    return found[0] if len(found) == 1 else None


# ---- entry points ------------------------------------------------------------------------------------


def _load_folder(folder: Path) -> Dataset:
    place = _Folder(folder)
    for filename in _RATINGS_FILES:
        if place.find(filename):
            return _load_layout(place, filename)
    inter = place.glob(".inter")
    if len(inter) == 1:
        return _load_layout(place, inter[0])
    if len(inter) > 1:
        raise ValueError(f"{folder} holds several RecBole rating files {inter}; pass one of them")
    for name in RELEASES:
        if (folder / name).is_dir():
            return _load_folder(folder / name)
        if (folder / f"{name}.zip").is_file():
            return _load_zip(folder / f"{name}.zip")
    raise FileNotFoundError(f"no MovieLens ratings in {folder}: {_FIND_HINT}")


_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")


def _is_zip(path: Path) -> bool:
    with open(path, "rb") as file:
        return file.read(4) in _ZIP_MAGIC


def _load_zip(path: Path) -> Dataset:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise ValueError(f"{path}: not a readable zip archive ({exc}); it is truncated or corrupt - delete it "
                         "and download it again") from None
    with archive:
        place = _Archive(path, archive)
        for filename in _RATINGS_FILES:
            member = place.find(filename)
            if member:
                return _load_layout(place, member)
        shown = ", ".join(place.names[:5]) + (", ..." if len(place.names) > 5 else "")
        raise ValueError(f"{path}: a zip archive without MovieLens ratings (no u.data, ratings.dat or ratings.csv "
                         f"at its top or in one folder; it holds {shown or 'nothing'})")


def load_movielens(name_or_path, cache_dir=None, *, base_url=None, verbose=False) -> Dataset:
    r"""Load MovieLens: a release by name (downloaded once, verified, cached) or local files.

    Parameters
    ----------
    name_or_path : str or os.PathLike
        A path that exists, which is one of

        * a folder holding one layout (see the table in :mod:`funksvd.data.movielens`):
          ``u.data`` (100K; tab-separated ``user item rating timestamp``) with optional
          ``u.item`` (``|``-separated, Latin-1) and ``u.user``, or RecBole ``<name>.item`` and
          ``<name>.user`` beside it; ``ratings.dat`` (1M, 10M; ``::``-separated, Latin-1)
          with optional ``movies.dat`` and ``users.dat``; ``ratings.csv`` (ml-latest-small,
          ml-20m, ml-25m; header ``userId,movieId,rating,timestamp``) with optional
          ``movies.csv``; or RecBole ``<name>.inter``;
        * a folder holding a sub-folder or archive named after a release (``ml-100k/``,
          ``ml-1m.zip``, ...);
        * the ratings file itself (metadata files are looked up beside it);
        * a zip archive as GroupLens ships it (files at the top or in one folder);

        or else a release name, one of ``ml-100k``, ``ml-1m``, ``ml-latest-small``,
        ``ml-20m``, ``ml-25m``: the archive is downloaded (if not cached), verified against
        its published size and SHA-256, and read (see :func:`~funksvd.data.fetch_movielens`).
    cache_dir : str or os.PathLike, optional
        Where downloaded archives are kept: default ``$FUNKSVD_DATA``, else
        ``~/.cache/funksvd``.
    base_url : str, optional
        Where releases are downloaded from: default ``$FUNKSVD_MOVIELENS_URL``, else
        ``https://files.grouplens.org/datasets/movielens``.
    verbose : bool, default False
        Show download progress.

    Returns
    -------
    Dataset
        Ratings in file order, indices in raw-id order (MovieLens 100K and 1M: raw id
        ``r`` is index ``r - 1``), timestamps, and titles and attributes when an item or user
        file was found (``genres`` as ``|``-separated names).

    Raises
    ------
    FileNotFoundError
        If the path does not exist and is not a release name, or a folder holds no ratings.
    ValueError
        On a malformed line, naming the file, the 1-based line number and the problem; a
        rated item or user missing from the item or user file; an archive that is truncated,
        corrupt, not a zip, or without MovieLens ratings (naming the file); a download whose
        size or SHA-256 differs from the published one. Nothing is skipped except blank lines.

    Examples
    --------
    >>> load_movielens("../shared/data/ml-100k").ratings  # doctest: +SKIP
    Ratings(100000 ratings, n_users=943, n_items=1682)
    >>> load_movielens("ml-1m").ratings  # downloads 5.9 MB once, then reads the cache  # doctest: +SKIP
    Ratings(1000209 ratings, n_users=6040, n_items=3883)
    """
    path = Path(name_or_path)
    if path.is_dir():
        return _load_folder(path)
    if path.is_file():
        if _is_zip(path):
            return _load_zip(path)
        if path.suffix.lower() == ".zip":
            with open(path, "rb") as file:
                head = file.read(16)
            raise ValueError(f"{path}: not a zip archive (it starts with {head!r}); delete it and download it again")
        return _load_layout(_Folder(path.parent), path.name)
    if str(name_or_path) in RELEASES:
        return _load_zip(fetch_movielens(str(name_or_path), cache_dir, base_url=base_url, verbose=verbose))
    raise FileNotFoundError(f"{path} does not exist and is not a MovieLens release name; {_FIND_HINT}")
