r"""Rating data: MovieLens 100K and text files of triples, splits, and a synthetic Netflix.

Everything here is plain numpy (no pandas). Loaders turn raw ids into the 0-based contiguous
indices a :class:`~funksvd.Ratings` holds and keep the raw ids, so results can be reported
in the data's own terms:

.. code-block:: python

    from funksvd.datasets import load_movielens, train_test_split
    data = load_movielens("../shared/data/ml-100k")      # folder, u.data, or ml-100k.zip
    train, test = train_test_split(data.ratings, test_size=0.2, random_state=0)
    data.item_titles[data.item_index(50)]                # raw MovieLens id 50 -> "Star Wars"

Nothing is silently dropped: a malformed line raises :class:`ValueError` naming the file, the
1-based line number and what is wrong. Only blank lines are skipped; they hold no rating.
"""

from __future__ import annotations

import math
import types
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .factors import Factors
from .ratings import Ratings

__all__ = [
    "Dataset",
    "MOVIELENS_GENRES",
    "load_movielens",
    "load_triples",
    "train_test_split",
    "kfold",
    "synthetic_netflix",
]

#: The 19 genre flags of MovieLens 100K ``u.item``, in file order (as listed in ``u.genre``).
MOVIELENS_GENRES = (
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary",
    "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller",
    "War", "Western",
)


def _frozen(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


def _frozen_mapping(columns: dict | None):
    if columns is None:
        return None
    return types.MappingProxyType({name: _frozen(np.asarray(values)) for name, values in columns.items()})


# ---- the dataset container -------------------------------------------------------------------------


@dataclass(frozen=True, eq=False, repr=False)
class Dataset:
    r"""Ratings with 0-based contiguous indices, and the raw ids they stand for.

    Parameters
    ----------
    ratings : Ratings
        The ratings, in file order; user ``u`` is raw user ``user_ids[u]``, item ``i`` is raw
        item ``item_ids[i]``.
    user_ids, item_ids : numpy.ndarray of int64
        The raw id of every index, sorted ascending (so for MovieLens, raw id ``r`` is index
        ``r - 1``). Users or items listed in a metadata file without any rating get an index
        too, so ``len(user_ids) == ratings.n_users``.
    timestamps : numpy.ndarray of int64 or None
        Unix time of each rating (aligned with ``ratings``), when the file has them.
    item_titles : numpy.ndarray of str (object) or None
        Title of each item index, when an item file was read.
    item_attributes, user_attributes : mapping of str to numpy.ndarray, or None
        Other columns of the item and user files, as strings aligned with the indices
        (MovieLens: ``release_date``/``release_year``, ``genres``; ``age``, ``gender``,
        ``occupation``, ``zip_code``).
    source : str
        Where the data came from.

    Notes
    -----
    A ``Dataset`` is immutable: its arrays are read-only and its fields cannot be reassigned.

    Examples
    --------
    >>> data = load_triples(path)                               # doctest: +SKIP
    >>> u = data.user_index(196); data.raw_user(u)              # doctest: +SKIP
    196
    """

    ratings: Ratings
    user_ids: np.ndarray
    item_ids: np.ndarray
    timestamps: np.ndarray | None = None
    item_titles: np.ndarray | None = None
    item_attributes: types.MappingProxyType | None = None
    user_attributes: types.MappingProxyType | None = None
    source: str = field(default="")

    def __post_init__(self):
        if not isinstance(self.ratings, Ratings):
            raise TypeError(f"ratings must be a funksvd.Ratings, got {type(self.ratings).__name__}")
        checks = [("user_ids", self.ratings.n_users), ("item_ids", self.ratings.n_items)]
        for name, n in checks:
            ids = np.asarray(getattr(self, name), dtype=np.int64)
            if ids.shape != (n,):
                raise ValueError(f"{name} must hold one raw id per index ({n}), got shape {ids.shape}")
            if n > 1 and not np.all(np.diff(ids) > 0):
                raise ValueError(f"{name} must be strictly increasing (sorted, no repeats)")
            object.__setattr__(self, name, _frozen(ids.copy()))
        if self.timestamps is not None:
            ts = np.asarray(self.timestamps, dtype=np.int64)
            if ts.shape != (len(self.ratings),):
                raise ValueError(f"timestamps must have one entry per rating ({len(self.ratings)}), got {ts.shape}")
            object.__setattr__(self, "timestamps", _frozen(ts.copy()))
        if self.item_titles is not None:
            titles = np.array(self.item_titles, dtype=object)
            if titles.shape != (self.ratings.n_items,):
                raise ValueError(f"item_titles must have one title per item ({self.ratings.n_items}), got {titles.shape}")
            object.__setattr__(self, "item_titles", _frozen(titles))
        for name, n in (("item_attributes", self.ratings.n_items), ("user_attributes", self.ratings.n_users)):
            columns = getattr(self, name)
            if columns is not None:
                for column, values in columns.items():
                    if len(values) != n:
                        raise ValueError(f"{name}[{column!r}] has {len(values)} entries, expected {n}")
                object.__setattr__(self, name, _frozen_mapping(dict(columns)))

    def __repr__(self) -> str:
        extras = [name for name in ("timestamps", "item_titles", "item_attributes", "user_attributes")
                  if getattr(self, name) is not None]
        more = f", with {', '.join(extras)}" if extras else ""
        where = f" from {self.source}" if self.source else ""
        return (f"Dataset({len(self.ratings)} ratings, {self.n_users} users, {self.n_items} items"
                f"{more}{where})")

    def __len__(self) -> int:
        return len(self.ratings)

    @property
    def n_users(self) -> int:
        return self.ratings.n_users

    @property
    def n_items(self) -> int:
        return self.ratings.n_items

    @staticmethod
    def _index(raw_ids: np.ndarray, raw, kind: str):
        values = np.asarray(raw)
        if values.dtype == bool or not np.issubdtype(values.dtype, np.integer):
            floats = values.astype(np.float64) if np.issubdtype(values.dtype, np.floating) else None
            if floats is None or not np.all(floats == np.round(floats)):
                raise ValueError(f"raw {kind} ids must be integers, got {raw!r}")
        values = values.astype(np.int64)
        index = np.searchsorted(raw_ids, values)
        found = (index < len(raw_ids)) & (raw_ids[np.minimum(index, len(raw_ids) - 1)] == values)
        if not np.all(found):
            missing = values.ravel()[np.flatnonzero(~np.ravel(found))[0]]
            raise ValueError(f"unknown raw {kind} id {missing}: not in this dataset's {len(raw_ids)} {kind}s")
        return int(index) if index.ndim == 0 else index

    @staticmethod
    def _raw(raw_ids: np.ndarray, index, kind: str):
        values = np.asarray(index)
        if values.dtype == bool or not np.issubdtype(values.dtype, np.integer):
            raise ValueError(f"{kind} indices must be integers, got {index!r}")
        bad = np.flatnonzero((values.ravel() < 0) | (values.ravel() >= len(raw_ids)))
        if bad.size:
            raise ValueError(f"{kind} index {values.ravel()[bad[0]]} is out of range: 0..{len(raw_ids) - 1}")
        out = raw_ids[values]
        return int(out) if out.ndim == 0 else out

    def user_index(self, raw):
        """0-based index of raw user id(s) ``raw`` (scalar or array); ``ValueError`` for an unknown id."""
        return self._index(self.user_ids, raw, "user")

    def item_index(self, raw):
        """0-based index of raw item id(s) ``raw`` (scalar or array); ``ValueError`` for an unknown id."""
        return self._index(self.item_ids, raw, "item")

    def raw_user(self, index):
        """Raw user id(s) of 0-based index(es) ``index``."""
        return self._raw(self.user_ids, index, "user")

    def raw_item(self, index):
        """Raw item id(s) of 0-based index(es) ``index``."""
        return self._raw(self.item_ids, index, "item")


# ---- parsing ----------------------------------------------------------------------------------------


class _Text:
    """The text of one file (on disk or inside a zip) and the name used in error messages."""

    def __init__(self, name: str, text: str):
        self.name = name
        self.text = text
        self.header = False  # set once parsed with a header line, so line numbers can be recovered

    @classmethod
    def read(cls, path: Path, encoding: str) -> "_Text":
        return cls(str(path), path.read_bytes().decode(encoding))

    def lines(self, skip_header: bool = False):
        """``(line_number, line)`` pairs (1-based), blank lines skipped, header optionally skipped."""
        self.header = skip_header
        lines = self.text.splitlines()
        if skip_header:
            if not lines:
                raise ValueError(f"{self.name}: the file is empty, expected a header line")
        for number, line in enumerate(lines, start=1):
            if (skip_header and number == 1) or not line.strip():
                continue
            yield number, line

    def error(self, number: int, what: str) -> ValueError:
        return ValueError(f"{self.name}, line {number}: {what}")


def _split(line: str, sep: str | None) -> list[str]:
    return line.split() if sep is None else line.split(sep)


def _describe_sep(sep: str | None) -> str:
    return {None: "whitespace", "\t": "tab", "|": "'|'", ",": "comma"}.get(sep, repr(sep))


def _int(text: _Text, number: int, token: str, what: str) -> int:
    token = token.strip()
    try:
        return int(token)
    except ValueError:
        pass
    try:
        value = float(token)
    except ValueError:
        raise text.error(number, f"{what} {token!r} is not a number") from None
    if not (math.isfinite(value) and value == round(value)):
        raise text.error(number, f"{what} {token!r} is not an integer")
    return int(value)


def _rating(text: _Text, number: int, token: str) -> float:
    try:
        value = float(token)
    except ValueError:
        raise text.error(number, f"rating {token.strip()!r} is not a number") from None
    if not math.isfinite(value):
        raise text.error(number, f"rating {token.strip()!r} is not finite")
    return value


def _parse_ratings(text: _Text, sep, skip_header: bool, columns: dict[int, str]):
    """Parse ``user item rating [timestamp]`` lines; ``columns`` maps a field count to its layout name."""
    users, items, values, stamps = [], [], [], []
    expected = None
    for number, line in text.lines(skip_header):
        fields = _split(line, sep)
        if expected is None:
            if len(fields) not in columns:
                if len(columns) == 1:
                    (n, layout), = columns.items()
                    wanted = f"{n} {_describe_sep(sep)}-separated fields ({layout})"
                else:
                    layouts = " or ".join(f"{n} ({columns[n]})" for n in sorted(columns))
                    wanted = f"{layouts} {_describe_sep(sep)}-separated fields"
                raise text.error(number, f"expected {wanted}, got {len(fields)}")
            expected = len(fields)
        elif len(fields) != expected:
            raise text.error(number, f"expected {expected} {_describe_sep(sep)}-separated fields "
                                     f"({columns[expected]}) like the first line, got {len(fields)}")
        users.append(_int(text, number, fields[0], "user id"))
        items.append(_int(text, number, fields[1], "item id"))
        values.append(_rating(text, number, fields[2]))
        if expected == 4:
            stamps.append(_int(text, number, fields[3], "timestamp"))
    if not values:
        raise ValueError(f"{text.name}: no ratings in the file")
    return (np.array(users, dtype=np.int64), np.array(items, dtype=np.int64), np.array(values, dtype=np.float64),
            np.array(stamps, dtype=np.int64) if expected == 4 else None)


def _parse_table(text: _Text, sep: str, n_fields: int | None, skip_header: bool, what: str):
    """Rows of a metadata file as lists of strings, each with the expected number of fields."""
    rows = []
    for number, line in text.lines(skip_header):
        fields = line.split(sep)
        if n_fields is not None and len(fields) != n_fields:
            raise text.error(number, f"expected {n_fields} {_describe_sep(sep)}-separated fields ({what}), "
                                     f"got {len(fields)}")
        rows.append((number, fields))
    return rows


def _table_ids(text: _Text, rows, column: int, kind: str) -> np.ndarray:
    ids, seen = [], {}
    for number, fields in rows:
        raw = _int(text, number, fields[column], f"{kind} id")
        if raw in seen:
            raise text.error(number, f"{kind} id {raw} is listed twice (first on line {seen[raw]})")
        seen[raw] = number
        ids.append(raw)
    return np.array(ids, dtype=np.int64)


def _recbole_header(text: _Text) -> list[str]:
    """Column names of a RecBole atomic file (``name:type`` header; the type is dropped)."""
    lines = text.text.splitlines()
    if not lines:
        raise ValueError(f"{text.name}: the file is empty, expected a header line like 'item_id:token\\t...'")
    names = [column.split(":", 1)[0].strip() for column in lines[0].split("\t")]
    return names


def _recbole_table(text: _Text, id_column: str, kind: str):
    """``(raw ids, {column: strings})`` of a RecBole ``.item`` or ``.user`` file."""
    names = _recbole_header(text)
    if id_column not in names:
        raise text.error(1, f"the header has no {id_column!r} column (columns: {names})")
    rows = _parse_table(text, "\t", len(names), True, " ".join(names))
    ids = _table_ids(text, rows, names.index(id_column), kind)
    columns = {name: np.array([fields[j] for _, fields in rows], dtype=object)
               for j, name in enumerate(names) if name != id_column}
    return ids, columns


def _movielens_items(text: _Text):
    """``(raw ids, titles, attributes)`` of an original ``u.item`` (24 '|'-separated fields)."""
    rows = _parse_table(text, "|", 5 + len(MOVIELENS_GENRES), False,
                        "movie id|title|release date|video release date|IMDb URL|19 genre flags")
    ids = _table_ids(text, rows, 0, "item")
    titles = np.array([fields[1] for _, fields in rows], dtype=object)
    genres = []
    for number, fields in rows:
        flags = fields[5:]
        if any(flag.strip() not in ("0", "1") for flag in flags):
            raise text.error(number, f"genre flags must be 0 or 1, got {'|'.join(flags)!r}")
        genres.append(" ".join(g for g, flag in zip(MOVIELENS_GENRES, flags) if flag.strip() == "1"))
    attributes = {
        "release_date": np.array([fields[2] for _, fields in rows], dtype=object),
        "video_release_date": np.array([fields[3] for _, fields in rows], dtype=object),
        "imdb_url": np.array([fields[4] for _, fields in rows], dtype=object),
        "genres": np.array(genres, dtype=object),
    }
    return ids, titles, attributes


def _movielens_users(text: _Text):
    """``(raw ids, attributes)`` of an original ``u.user`` (``id|age|gender|occupation|zip``)."""
    rows = _parse_table(text, "|", 5, False, "user id|age|gender|occupation|zip code")
    ids = _table_ids(text, rows, 0, "user")
    names = ("age", "gender", "occupation", "zip_code")
    return ids, {name: np.array([fields[j + 1] for _, fields in rows], dtype=object) for j, name in enumerate(names)}


def _aligned(listed_ids: np.ndarray, values: dict, all_ids: np.ndarray) -> dict:
    """Re-order per-row ``values`` (rows in ``listed_ids`` order) to the sorted ``all_ids``."""
    position = np.searchsorted(all_ids, listed_ids)
    out = {}
    for name, column in values.items():
        aligned = np.empty(len(all_ids), dtype=object)
        aligned[position] = column
        out[name] = aligned
    return out


def _assemble(ratings_text: _Text, users_raw, items_raw, values, stamps, *, item_table=None, user_table=None,
              item_file=None, user_file=None, source=""):
    """Index the raw ids and build the :class:`Dataset` (metadata tables are optional)."""
    user_ids = np.unique(users_raw)
    item_ids = np.unique(items_raw)
    titles = item_attributes = user_attributes = None
    if item_table is not None:
        listed, item_titles, item_columns = item_table
        _check_listed(ratings_text, items_raw, listed, "item", item_file)
        item_ids = np.unique(np.concatenate([item_ids, listed]))
        columns = dict(item_columns)
        if item_titles is not None:
            columns["__title__"] = item_titles
        columns = _aligned(listed, columns, item_ids)
        titles = columns.pop("__title__", None)
        item_attributes = columns or None
    if user_table is not None:
        listed, user_columns = user_table
        _check_listed(ratings_text, users_raw, listed, "user", user_file)
        user_ids = np.unique(np.concatenate([user_ids, listed]))
        user_attributes = _aligned(listed, user_columns, user_ids) or None
    ratings = Ratings(np.searchsorted(user_ids, users_raw), np.searchsorted(item_ids, items_raw), values,
                      n_users=len(user_ids), n_items=len(item_ids))
    return Dataset(ratings, user_ids, item_ids, stamps, titles, item_attributes, user_attributes, source)


def _check_listed(ratings_text: _Text, raw, listed: np.ndarray, kind: str, listing: str) -> None:
    """Every rated id must be in the metadata file: a rating of an unknown item is an error."""
    known = np.isin(raw, listed)
    if not np.all(known):
        j = int(np.flatnonzero(~known)[0])
        number = _line_of_rating(ratings_text, j)
        raise ratings_text.error(number, f"{kind} id {raw[j]} is not listed in {listing}")


def _line_of_rating(text: _Text, j: int) -> int:
    """1-based line number of the ``j``-th rating (0-based) of ``text``."""
    for count, (number, _) in enumerate(text.lines(text.header)):
        if count == j:
            return number
    raise IndexError(j)  # pragma: no cover - j comes from the parsed ratings


# ---- MovieLens --------------------------------------------------------------------------------------


_FIND_HINT = ("expected the original MovieLens 100K layout (u.data, optionally u.item and u.user), "
              "RecBole atomic files (*.inter, *.item, *.user), a sub-folder ml-100k/ or ml-100k.zip")


def load_movielens(path) -> Dataset:
    r"""Load MovieLens 100K from a folder, a ``u.data`` file or ``ml-100k.zip``.

    Parameters
    ----------
    path : str or os.PathLike
        One of

        * a folder holding the original distribution: ``u.data`` (tab-separated
          ``user item rating timestamp``, 1-based raw ids) and optionally ``u.item``
          (``|``-separated, latin-1: id, title, dates, URL, 19 genre flags) and ``u.user``
          (``id|age|gender|occupation|zip``). When ``u.item``/``u.user`` are absent, RecBole
          atomic files ``<name>.item``/``<name>.user`` (tab-separated, a header line of
          ``name:type`` columns) are read instead;
        * a folder of RecBole atomic files only (``<name>.inter`` with ``user_id``,
          ``item_id``, ``rating`` and optionally ``timestamp`` columns);
        * a folder holding a sub-folder ``ml-100k/`` or the archive ``ml-100k.zip``;
        * the ratings file itself (metadata files are looked up beside it);
        * ``ml-100k.zip`` as distributed by GroupLens (files under ``ml-100k/`` inside).

    Returns
    -------
    Dataset
        Ratings in file order with indices ``raw id - 1`` for the contiguous MovieLens ids,
        timestamps, and titles and attributes when an item/user file was found.

    Raises
    ------
    FileNotFoundError
        If no ratings file is found at ``path``.
    ValueError
        On a malformed line, naming the file, the 1-based line number and the problem
        (wrong field count, non-numeric id, rating not finite), or a rated item/user missing
        from the item/user file. Nothing is skipped except blank lines.

    Examples
    --------
    >>> data = load_movielens("../shared/data/ml-100k")  # from the repository root
    >>> data.ratings
    Ratings(100000 ratings, n_users=943, n_items=1682)
    """
    path = Path(path)
    if path.is_dir():
        return _load_movielens_folder(path)
    if path.is_file():
        if zipfile.is_zipfile(path):
            return _load_movielens_zip(path)
        return _load_movielens_files(path, path.parent)
    raise FileNotFoundError(f"{path} does not exist; {_FIND_HINT}")


def _load_movielens_folder(folder: Path) -> Dataset:
    if (folder / "u.data").is_file():
        return _load_movielens_files(folder / "u.data", folder)
    inter = sorted(folder.glob("*.inter"))
    if len(inter) == 1:
        return _load_movielens_files(inter[0], folder)
    if len(inter) > 1:
        raise ValueError(f"{folder} holds several RecBole rating files {[p.name for p in inter]}; pass one of them")
    if (folder / "ml-100k").is_dir():
        return _load_movielens_folder(folder / "ml-100k")
    if (folder / "ml-100k.zip").is_file():
        return _load_movielens_zip(folder / "ml-100k.zip")
    raise FileNotFoundError(f"no MovieLens ratings in {folder}: {_FIND_HINT}")


def _metadata_file(folder: Path, original: str, suffix: str, stem: str) -> Path | None:
    """``u.item``/``u.user`` when present, else the RecBole ``<stem>.item`` (or the only ``*.item``)."""
    if (folder / original).is_file():
        return folder / original
    for candidate in (folder / f"{stem}{suffix}", folder / f"{folder.name}{suffix}"):
        if candidate.is_file():
            return candidate
    found = sorted(folder.glob(f"*{suffix}"))
    return found[0] if len(found) == 1 else None


def _read_item_table(path: Path | None):
    if path is None:
        return None
    if path.name == "u.item":
        return _movielens_items(_Text.read(path, "latin-1"))
    ids, columns = _recbole_table(_Text.read(path, "utf-8"), "item_id", "item")
    titles = columns.pop("movie_title", None)
    return ids, titles, columns


def _read_user_table(path: Path | None):
    if path is None:
        return None
    if path.name == "u.user":
        return _movielens_users(_Text.read(path, "latin-1"))
    return _recbole_table(_Text.read(path, "utf-8"), "user_id", "user")


def _load_movielens_files(ratings_path: Path, folder: Path) -> Dataset:
    text = _Text.read(ratings_path, "latin-1")
    if ratings_path.suffix == ".inter":
        users, items, values, stamps = _parse_recbole_inter(text)
    else:
        users, items, values, stamps = _parse_ratings(text, "\t", False, {4: "user item rating timestamp"})
    stem = ratings_path.stem
    item_path = _metadata_file(folder, "u.item", ".item", stem)
    user_path = _metadata_file(folder, "u.user", ".user", stem)
    return _assemble(text, users, items, values, stamps,
                     item_table=_read_item_table(item_path), user_table=_read_user_table(user_path),
                     item_file=str(item_path), user_file=str(user_path), source=str(ratings_path))


def _parse_recbole_inter(text: _Text):
    """A RecBole ``.inter`` file: header names locate ``user_id``, ``item_id``, ``rating``, ``timestamp``."""
    names = _recbole_header(text)
    for required in ("user_id", "item_id", "rating"):
        if required not in names:
            raise text.error(1, f"the header has no {required!r} column (columns: {names})")
    rows = _parse_table(text, "\t", len(names), True, " ".join(names))
    if not rows:
        raise ValueError(f"{text.name}: no ratings in the file")
    u, i, r = names.index("user_id"), names.index("item_id"), names.index("rating")
    t = names.index("timestamp") if "timestamp" in names else None
    users = np.array([_int(text, n, f[u], "user id") for n, f in rows], dtype=np.int64)
    items = np.array([_int(text, n, f[i], "item id") for n, f in rows], dtype=np.int64)
    values = np.array([_rating(text, n, f[r]) for n, f in rows], dtype=np.float64)
    stamps = None if t is None else np.array([_int(text, n, f[t], "timestamp") for n, f in rows], dtype=np.int64)
    return users, items, values, stamps


def _load_movielens_zip(path: Path) -> Dataset:
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()

        def member(filename):
            for candidate in (f"ml-100k/{filename}", filename):
                if candidate in names:
                    return candidate
            matches = [n for n in names if n.endswith(f"/{filename}")]
            return matches[0] if len(matches) == 1 else None

        def read(name, encoding):
            return _Text(f"{path}:{name}", archive.read(name).decode(encoding))

        data = member("u.data")
        if data is None:
            raise FileNotFoundError(f"{path} has no u.data (expected ml-100k/u.data inside, as GroupLens ships it)")
        text = read(data, "latin-1")
        users, items, values, stamps = _parse_ratings(text, "\t", False, {4: "user item rating timestamp"})
        item_name, user_name = member("u.item"), member("u.user")
        item_table = None if item_name is None else _movielens_items(read(item_name, "latin-1"))
        user_table = None if user_name is None else _movielens_users(read(user_name, "latin-1"))
    return _assemble(text, users, items, values, stamps, item_table=item_table, user_table=user_table,
                     item_file=f"{path}:{item_name}", user_file=f"{path}:{user_name}", source=f"{path}:{data}")


def load_triples(path, sep=None, skip_header=False) -> Dataset:
    r"""Load a text file of ``user item rating`` lines (optionally ``... timestamp``).

    Parameters
    ----------
    path : str or os.PathLike
        The file (UTF-8). Raw user and item ids must be integers.
    sep : str, optional
        Field separator: ``None`` (default) splits on any run of whitespace; e.g. ``","``,
        ``"\t"`` or ``"::"`` (MovieLens 1M).
    skip_header : bool, default False
        Ignore the first line (column names).

    Returns
    -------
    Dataset
        Ratings in file order with 0-based indices in raw-id order; ``timestamps`` when the
        lines have a fourth field.

    Raises
    ------
    ValueError
        Naming the file and 1-based line: a field count other than 3 or 4 or different from
        the first line's, an id that is not an integer, a rating that is not a finite number,
        or a file without ratings. Blank lines are skipped; nothing else is.
    """
    path = Path(path)
    text = _Text.read(path, "utf-8")
    users, items, values, stamps = _parse_ratings(
        text, sep, skip_header, {3: "user item rating", 4: "user item rating timestamp"})
    return _assemble(text, users, items, values, stamps, source=str(path))


# ---- splits -----------------------------------------------------------------------------------------


def _rng(random_state):
    """Surprise's convention: an int seeds ``numpy.random.RandomState``; generators pass through."""
    if random_state is None:
        return np.random.default_rng()
    if isinstance(random_state, (np.random.Generator, np.random.RandomState)):
        return random_state
    if isinstance(random_state, (int, np.integer)) and not isinstance(random_state, bool):
        return np.random.RandomState(int(random_state))
    raise ValueError(f"random_state must be None, an int, a numpy Generator or RandomState; got {random_state!r}")


def _check_ratings(ratings) -> Ratings:
    if isinstance(ratings, Dataset):
        return ratings.ratings
    if not isinstance(ratings, Ratings):
        raise TypeError(f"ratings must be a funksvd.Ratings (or Dataset), got {type(ratings).__name__}")
    return ratings


def train_test_split(ratings, test_size=0.2, random_state=None) -> tuple[Ratings, Ratings]:
    r"""Split the ratings at random into a training and a test set.

    Parameters
    ----------
    ratings : Ratings or Dataset
    test_size : float or int, default 0.2
        A fraction in (0, 1) of the ratings (rounded up, as Surprise does) or a count.
    random_state : int, numpy Generator or RandomState, optional
        An int seeds ``numpy.random.RandomState``, as in Surprise, so ratings in the same order
        (e.g. ``u.data`` in file order) give exactly Surprise's
        ``train_test_split(data, test_size, random_state=seed)``. ``None``: fresh entropy.

    Returns
    -------
    train, test : Ratings
        With ``perm`` a random permutation of the rating positions and
        ``n_train = len(ratings) - n_test``, ``train`` holds ``perm[:n_train]`` and ``test``
        ``perm[n_train:]``, in that order (what Surprise 1.1's ``ShuffleSplit`` does). Both
        keep the id ranges ``n_users, n_items`` of ``ratings``, so a model fitted on ``train``
        can be evaluated on ``test``.
    """
    ratings = _check_ratings(ratings)
    n = len(ratings)
    if isinstance(test_size, (float, np.floating)):
        if not 0.0 < test_size < 1.0:
            raise ValueError(f"test_size must be a fraction in (0, 1) or a count, got {test_size!r}")
        n_test = math.ceil(test_size * n)
    elif isinstance(test_size, (int, np.integer)) and not isinstance(test_size, bool):
        n_test = int(test_size)
    else:
        raise ValueError(f"test_size must be a float fraction or an int count, got {test_size!r}")
    if not 1 <= n_test <= n - 1:
        raise ValueError(f"test_size={test_size!r} leaves {n_test} test and {n - n_test} training ratings "
                         f"out of {n}; both sets need at least one")
    permutation = np.asarray(_rng(random_state).permutation(n), dtype=np.int64)
    n_train = n - n_test
    return ratings.subset(permutation[:n_train]), ratings.subset(permutation[n_train:])


def kfold(ratings, n_splits=5, random_state=None, shuffle=True):
    r"""K-fold cross-validation splits, with the semantics of Surprise's ``KFold``.

    Parameters
    ----------
    ratings : Ratings or Dataset
    n_splits : int, default 5
        Number of folds, at least 2 and at most ``len(ratings)``.
    random_state : int, numpy Generator or RandomState, optional
        As in :func:`train_test_split` (an int seeds ``RandomState``, like Surprise).
    shuffle : bool, default True
        Shuffle the rating positions once before cutting the folds.

    Yields
    ------
    train, test : Ratings
        The positions (shuffled once) are cut into ``n_splits`` contiguous folds, the first
        ``n % n_splits`` of them one rating longer; fold ``f`` is the test set and the others,
        in order, the training set. Every rating is in exactly one test set.
    """
    ratings = _check_ratings(ratings)
    n = len(ratings)
    if isinstance(n_splits, bool) or not isinstance(n_splits, (int, np.integer)) or not 2 <= n_splits <= n:
        raise ValueError(f"n_splits must be an integer in [2, {n}] (the number of ratings), got {n_splits!r}")
    indices = np.arange(n, dtype=np.int64)
    if shuffle:
        _rng(random_state).shuffle(indices)
    stop = 0
    for fold in range(int(n_splits)):
        start = stop
        stop += n // n_splits + (1 if fold < n % n_splits else 0)
        yield (ratings.subset(np.concatenate([indices[:start], indices[stop:]])),
               ratings.subset(indices[start:stop]))


# ---- synthetic Netflix ------------------------------------------------------------------------------


def _alias_table(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Walker's alias table of the distribution ``p`` (Vose's construction)."""
    n = len(p)
    scaled = p * n
    prob = np.ones(n)
    alias = np.arange(n, dtype=np.int64)
    small = [j for j in range(n) if scaled[j] < 1.0]
    large = [j for j in range(n) if scaled[j] >= 1.0]
    while small and large:
        s, g = small.pop(), large.pop()
        prob[s], alias[s] = scaled[s], g
        scaled[g] -= 1.0 - scaled[s]
        (small if scaled[g] < 1.0 else large).append(g)
    return prob, alias  # leftovers keep prob 1 (rounding)


def _capped(p: np.ndarray, cap: float) -> np.ndarray:
    """``p`` with no entry above ``cap`` (the excess spread over the others), still summing to 1."""
    for _ in range(100):
        over = p > cap
        if not over.any():
            break
        excess = float(np.sum(p[over] - cap))
        p = np.where(over, cap, p)
        free = ~over
        p[free] += excess * p[free] / p[free].sum()
    return p / p.sum()


def _in_sorted(x: np.ndarray, sorted_keys: np.ndarray) -> np.ndarray:
    """Membership of each ``x`` in the sorted array ``sorted_keys``."""
    if sorted_keys.size == 0:
        return np.zeros(x.shape, dtype=bool)
    j = np.minimum(np.searchsorted(sorted_keys, x), sorted_keys.size - 1)
    return sorted_keys[j] == x


def _distinct_items(users, items, n_items, draw_popular, draw_uniform, popular_passes=20, max_passes=1000):
    """Redraw the items of repeated ``(user, item)`` pairs in place until every pair is distinct.

    One sort finds the repeats (every occurrence of a pair after its first); the redraws are
    then checked against the sorted set of pairs already held. The first ``popular_passes``
    passes redraw from the popularity distribution, later ones uniformly, so that the heaviest
    users, who may already hold most of the popular items, finish quickly.
    """
    key = users * n_items + items
    order = np.argsort(key, kind="stable")
    ordered = key[order]
    first = np.ones(ordered.size, dtype=bool)
    first[1:] = ordered[1:] != ordered[:-1]
    held = ordered[first]  # sorted keys of the pairs kept
    pending = order[~first]
    added = np.zeros(0, dtype=np.int64)  # sorted keys accepted by redraws
    for attempt in range(max_passes):
        if pending.size == 0:
            return
        draw = draw_popular if attempt < popular_passes else draw_uniform
        new_items = draw(pending.size)
        new_keys = users[pending] * n_items + new_items
        free = np.flatnonzero(~(_in_sorted(new_keys, held) | _in_sorted(new_keys, added)))
        unique_keys, where = np.unique(new_keys[free], return_index=True)
        accepted = free[where]
        items[pending[accepted]] = new_items[accepted]
        added = np.insert(added, np.searchsorted(added, unique_keys), unique_keys)  # stays sorted
        keep = np.ones(pending.size, dtype=bool)
        keep[accepted] = False
        pending = pending[keep]
    raise RuntimeError("could not make the (user, item) pairs distinct")  # pragma: no cover


def synthetic_netflix(n_users=480_189, n_items=17_770, n_ratings=100_000_000, random_state=0, k=10, *,
                      item_exponent=1.8, item_offset=0.0113, user_sigma=1.25, mu=3.6, bias_std=(0.4, 0.5),
                      interaction_std=0.5, noise_std=0.5, distinct=True, chunk_size=1 << 20,
                      dtype=np.float64, return_factors=False):
    r"""Synthetic ratings shaped like the Netflix Prize data, from a planted biased low-rank model.

    Parameters
    ----------
    n_users, n_items, n_ratings : int, default 480,189, 17,770 and 100,000,000
        The Netflix Prize sizes (REFERENCE §2).
    random_state : int or numpy Generator, default 0
        Seed of ``numpy.random.default_rng``; the same seed gives the same data.
    k : int, default 10
        Rank of the planted interaction :math:`p_u^\top q_i`.
    item_exponent, item_offset : float, default 1.8 and 0.0113
        Item popularity: the item of popularity rank :math:`j` (1-based; the ranking is a
        random order of the item indices) is drawn with probability proportional to
        :math:`(j + c)^{-a}` with :math:`a` = ``item_exponent`` and
        :math:`c` = ``item_offset * n_items`` (Zipf-Mandelbrot). With the other defaults the
        most popular item gets about 0.2% of the ratings (Netflix: 0.23%), some 240 times the
        median item, and the top 10% of the items about three quarters of the ratings.
    user_sigma : float, default 1.25
        User activity: the numbers of ratings per user are multinomial with log-normal weights
        :math:`\exp(\sigma z_u)`, so mean / median is about :math:`e^{\sigma^2/2} \approx 2.2`
        (Netflix: 209 / 96). No user's expected count exceeds half the items.
    mu, bias_std, interaction_std, noise_std : float
        The planted model:
        :math:`r_{ui} = \operatorname{clip}(\operatorname{round}(\mu + b_u + b_i + p_u^\top q_i
        + \varepsilon_{ui}), 1, 5)` with :math:`b_u \sim \mathcal N(0, \sigma_u^2)`,
        :math:`b_i \sim \mathcal N(0, \sigma_i^2)` (``bias_std``), entries of :math:`p_u, q_i`
        i.i.d. :math:`\mathcal N(0, s^2)` with :math:`k s^4 =` ``interaction_std**2`` (the
        standard deviation of :math:`p_u^\top q_i`) and noise
        :math:`\varepsilon_{ui} \sim \mathcal N(0, \text{noise\_std}^2)`.
    distinct : bool, default True
        Make every ``(user, item)`` pair distinct, as in the real data: repeated draws are
        redrawn, from the popularity distribution for a few passes and then uniformly (this
        touches only the heaviest users). ``False`` keeps independent draws (faster; at the
        Netflix shape a quarter of the ratings then repeat a pair).
    chunk_size : int, default 2**20
        Ratings generated per vectorised step (whole users per step); the memory besides
        the output is :math:`O(\text{chunk\_size}\cdot k)`.
    dtype : {numpy.float64, numpy.float32}, default float64
        Dtype of the rating values (1..5 are exact in both); float32 saves 400 MB at 100M.
    return_factors : bool, default False
        Also return the planted :class:`~funksvd.Factors` (float32).

    Returns
    -------
    ratings : Ratings
        ``n_ratings`` ratings in 1..5, grouped by user (users ascending; within a user the
        items are in random order). Every index is within range; a user may have no rating.
    factors : Factors
        Only with ``return_factors``: the planted :math:`P, Q, b_u, b_i, \mu`.

    Raises
    ------
    ValueError
        On invalid sizes, or ``distinct=True`` with more ratings than ``n_users * n_items``
        cells.

    Notes
    -----
    Items are drawn with Walker's alias method (two table look-ups per rating); users come
    from one multinomial draw, written as runs without an index array. Memory: the output
    alone is 24 bytes per rating (int64 users and items, float64 values), 2.4 GB for 100M
    ratings, or 20 bytes with ``dtype=numpy.float32``; it is written in place and handed to
    the ``Ratings`` without a copy (``copy=False``), so the peak stays close to it.
    """
    for name, value in (("n_users", n_users), ("n_items", n_items), ("n_ratings", n_ratings), ("k", k),
                        ("chunk_size", chunk_size)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    for name, value in (("item_exponent", item_exponent), ("item_offset", item_offset), ("user_sigma", user_sigma),
                        ("interaction_std", interaction_std), ("noise_std", noise_std)):
        if not (np.isfinite(value) and value >= 0):
            raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    if distinct and n_ratings > n_users * n_items:
        raise ValueError(f"{n_ratings} distinct (user, item) pairs do not fit in {n_users} x {n_items} cells; "
                         "use more users or items, or distinct=False")
    rng = np.random.default_rng(random_state)

    # item popularity (Zipf-Mandelbrot over a random ranking) and its alias table
    rank = rng.permutation(n_items)
    p_items = (rank + 1.0 + item_offset * n_items) ** -float(item_exponent)
    p_items /= p_items.sum()
    prob, alias = _alias_table(p_items)
    prob = prob.astype(np.float32)

    def draw_popular(size):
        x = rng.random(size) * n_items
        j = np.minimum(x.astype(np.int64), n_items - 1)
        return np.where((x - j).astype(np.float32) < prob[j], j, alias[j])

    def draw_uniform(size):
        return rng.integers(0, n_items, size)

    # user activity: multinomial counts with log-normal weights, no user above half the items
    weights = np.exp(user_sigma * rng.standard_normal(n_users))
    p_users = _capped(weights / weights.sum(), max(0.5 * n_items / n_ratings, 1.0 / n_users))
    counts = rng.multinomial(n_ratings, p_users)
    if distinct and counts.max() > n_items:  # only when nearly every cell is rated
        counts = _spread(counts, n_items)

    # the planted model
    s = (interaction_std ** 2 / k) ** 0.25
    P = rng.normal(0.0, s, (n_users, k)).astype(np.float32)
    Q = rng.normal(0.0, s, (n_items, k)).astype(np.float32)
    bu = rng.normal(0.0, bias_std[0], n_users).astype(np.float32)
    bi = rng.normal(0.0, bias_std[1], n_items).astype(np.float32)

    # users as runs: a 1 where each user's run starts, then a running sum (no n-sized temporaries)
    ends = np.cumsum(counts)
    users = np.zeros(n_ratings, dtype=np.int64)
    np.add.at(users, ends[:-1][ends[:-1] < n_ratings], 1)
    np.cumsum(users, out=users)
    items = np.empty(n_ratings, dtype=np.int64)
    values = np.empty(n_ratings, dtype=dtype)
    # chunks end at user boundaries, so the distinctness of a user's pairs is settled within one
    cuts = ends[np.searchsorted(ends, np.arange(chunk_size, n_ratings, chunk_size))]
    bounds = np.unique(np.concatenate([[0], cuts, [n_ratings]]))
    for first, last in zip(bounds[:-1], bounds[1:]):
        u = users[first:last]
        i = items[first:last]
        i[:] = draw_popular(last - first)
        if distinct:
            _distinct_items(u, i, n_items, draw_popular, draw_uniform)
        r = np.einsum("nk,nk->n", np.take(P, u, axis=0), np.take(Q, i, axis=0))
        r += bu.take(u)
        r += bi.take(i)
        r += rng.standard_normal(last - first, dtype=np.float32) * np.float32(noise_std)
        r += np.float32(mu)
        np.clip(np.rint(r), 1, 5, out=r)
        values[first:last] = r
    ratings = Ratings(users, items, values, n_users, n_items, dtype=dtype, copy=False)
    if return_factors:
        return ratings, Factors(P, Q, bu, bi, mu)
    return ratings


def _spread(counts: np.ndarray, cap: int) -> np.ndarray:
    """Move ratings from users above ``cap`` to users below it (keeps the total)."""
    counts = counts.copy()
    excess = int(np.sum(np.maximum(counts - cap, 0)))
    np.minimum(counts, cap, out=counts)
    while excess:
        room = np.flatnonzero(counts < cap)
        take = min(excess, room.size)
        counts[room[:take]] += 1
        excess -= take
    return counts
