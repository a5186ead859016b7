r"""The :class:`Dataset`: ratings on contiguous indices, and the raw ids they stand for.

A :class:`~funksvd.Ratings` holds 0-based indices :math:`u \in 0..n_u-1`, :math:`i \in
0..n_i-1`; real data name users and items in their own terms (``196``, ``"alice"``,
``"tt0076759"``). A ``Dataset`` keeps both, through one :class:`~funksvd.model.ids.IdMap` per side,
so results can be reported in the data's own ids:

.. code-block:: python

    data = Dataset.from_frame(df, user="userId", item="movieId", rating="rating")
    data.ratings                   # indices, ready for FunkSVD
    data.item_index("tt0076759")   # raw id -> index; UnknownIdError names an unknown id
"""

from __future__ import annotations

import math
import types
import warnings

import numpy as np

from ..base.frozen import Frozen
from ..model.ids import IdMap, as_1d, raw_array
from ..model.ratings import Ratings

__all__ = ["Dataset"]


def _frozen(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


def _id_map(ids, kind: str) -> IdMap:
    return ids if isinstance(ids, IdMap) and ids.kind == kind else IdMap(getattr(ids, "raw_ids", ids), kind)


def _missing(value) -> bool:
    """None, NaN, pandas' NA or NaT: a title that is not there."""
    return (value is None or (isinstance(value, float) and math.isnan(value))
            or type(value).__name__ in ("NAType", "NaTType"))


def _titles(values, n: int) -> np.ndarray:
    """One title per item as an object array, ``None`` where a title is missing (None, NaN)."""
    given = list(values)
    if len(given) != n:
        raise ValueError(f"item_titles must have one title per item ({n}), got {len(given)}")
    titles = np.empty(n, dtype=object)
    titles[:] = [None if _missing(title) else title for title in given]
    return titles


def _column(frame, name, what: str, raw: bool = False) -> np.ndarray:
    """Column ``name`` of a DataFrame (or any mapping of columns) as a numpy array (``raw``: as it is)."""
    columns = list(getattr(frame, "columns", frame))
    if name not in columns:
        raise ValueError(f"the frame has no {what} column {name!r} (columns: {columns}); pass {what}=<column name>")
    column = frame[name]
    if raw:
        return column
    return column.to_numpy() if hasattr(column, "to_numpy") else np.asarray(column)


def _timestamps(values, n: int) -> np.ndarray:
    """Timestamps as int64 (Unix seconds for datetime64 input, UTC for time-zone aware ones), one per rating."""
    zone = getattr(getattr(values, "dt", None), "tz", None)
    if zone is not None:  # a pandas column of time-zone aware datetimes (numpy would see Python objects)
        values = values.dt.tz_convert("UTC").dt.tz_localize(None)
    array = values.to_numpy() if hasattr(values, "to_numpy") else np.asarray(values)
    if array.shape != (n,):
        raise ValueError(f"timestamps must have one entry per rating ({n}), got shape {array.shape}")
    if array.dtype.kind == "M":
        missing = np.flatnonzero(np.isnat(array))
        if missing.size:
            raise ValueError(f"timestamps[{missing[0]}] is NaT (a missing time)")
        return array.astype("datetime64[s]").astype(np.int64)
    if array.dtype.kind not in "iuf":
        raise ValueError(f"timestamps must be integers (Unix time) or datetime64, got dtype {array.dtype}")
    return raw_array(array, "timestamps")


class Dataset(Frozen):
    r"""Ratings with 0-based contiguous indices, and the raw ids they stand for.

    Parameters
    ----------
    ratings : Ratings
        The ratings, in source order; user ``u`` is raw user ``user_ids[u]``, item ``i`` is raw
        item ``item_ids[i]``.
    user_ids, item_ids : IdMap or array_like
        The raw id of every index (distinct; ``int64`` or strings). Users or items listed in a
        metadata table without any rating have an index too, so
        ``len(user_ids) == ratings.n_users``.
    timestamps : array_like of int, optional
        Unix time of each rating (aligned with ``ratings``).
    item_titles : array_like of str, optional
        Title of each item index; a missing one (``None``, NaN) is kept as ``None`` (the
        attribute is an object array).
    item_attributes, user_attributes : mapping of str to array_like, optional
        Other columns of the item and user tables, aligned with the indices (MovieLens:
        ``genres``, ``release_date``; ``age``, ``gender``, ``occupation``, ``zip_code``).
    source : str
        Where the data came from.

    Attributes
    ----------
    user_map, item_map : IdMap
        Raw ids <-> indices. ``user_ids``/``item_ids`` are their raw ids as arrays.

    Notes
    -----
    A ``Dataset`` is immutable (read-only arrays, no assignment), compares equal field by
    field, and survives :mod:`pickle` and :func:`copy.deepcopy` unchanged and still immutable.
    Build one with :meth:`from_frame` or :meth:`from_arrays` from raw ids, or with a loader
    (:func:`~funksvd.data.load_movielens`, :func:`~funksvd.data.load_triples`).

    Examples
    --------
    >>> data = Dataset.from_arrays(["bob", "al", "bob"], [50, 50, 7], [4.0, 5.0, 3.0])
    >>> data.ratings
    Ratings(3 ratings, n_users=2, n_items=2)
    >>> data.user_index("bob"), data.raw_item(1)
    (1, 50)
    """

    __slots__ = ("ratings", "user_map", "item_map", "timestamps", "item_titles", "item_attributes",
                 "user_attributes", "source")

    ratings: Ratings
    user_map: IdMap
    item_map: IdMap
    timestamps: np.ndarray | None
    item_titles: np.ndarray | None
    item_attributes: types.MappingProxyType | None
    user_attributes: types.MappingProxyType | None
    source: str

    def __init__(self, ratings, user_ids, item_ids, timestamps=None, item_titles=None, item_attributes=None,
                 user_attributes=None, source=""):
        if not isinstance(ratings, Ratings):
            raise TypeError(f"ratings must be a funksvd.Ratings, got {type(ratings).__name__}")

        set_ = self._set
        set_("ratings", ratings)
        for name, kind, n in (("user_map", "user", ratings.n_users), ("item_map", "item", ratings.n_items)):
            ids = _id_map(user_ids if kind == "user" else item_ids, kind)
            if len(ids) != n:
                raise ValueError(f"{kind}_ids must hold one raw id per index ({n}), got {len(ids)}")
            set_(name, ids)
        set_("timestamps", None if timestamps is None else _frozen(_timestamps(timestamps, len(ratings)).copy()))
        titles = None
        if item_titles is not None:
            titles = _frozen(_titles(item_titles, ratings.n_items))
        set_("item_titles", titles)
        for name, n in (("item_attributes", ratings.n_items), ("user_attributes", ratings.n_users)):
            columns = item_attributes if name == "item_attributes" else user_attributes
            if columns is not None:
                frozen = {}
                for column, values in dict(columns).items():
                    values = np.asarray(values)
                    if values.shape != (n,):
                        raise ValueError(f"{name}[{column!r}] has shape {values.shape}, expected ({n},)")
                    frozen[str(column)] = _frozen(values.copy())
                columns = types.MappingProxyType(frozen)
            set_(name, columns)
        set_("source", str(source))

    # ---- construction from raw ids ---------------------------------------------------------------

    @classmethod
    def from_arrays(cls, users, items, values, *, timestamps=None, titles=None, dtype=np.float64,
                    source="arrays", duplicates="keep") -> Dataset:
        r"""A dataset from parallel arrays of raw user ids, raw item ids and ratings.

        Parameters
        ----------
        users, items : array_like
            Raw ids of each rating: integers (any size up to int64, e.g. ``3_000_000_000``) or
            strings. They are mapped to indices ``0..n-1`` in sorted id order, so no index is
            wasted on an id that never occurs.
        values : array_like of float
            The ratings (finite real numbers).
        timestamps : array_like of int or datetime64, optional
            One per rating (datetime64 is stored as Unix seconds).
        titles : mapping, optional
            Raw item id -> title (a ``dict`` or a pandas ``Series`` indexed by item id); every
            rated item needs one, and titled items without ratings get an index too.
        dtype : {numpy.float64, numpy.float32}
            Dtype of the stored rating values.
        source : str
            Where the data came from (shown in ``repr``).
        duplicates : {"keep", "mean", "last", "raise"}, default "keep"
            What to do with ratings of a ``(user, item)`` pair rated more than once: ``"keep"``
            them all (each counts in training, and a split may put them on both sides; a
            warning names the first pair and the count), keep one rating at the pair's last
            position with the ``"mean"`` value or the ``"last"`` value (and the last
            timestamp), or ``"raise"`` a ValueError.

        Raises
        ------
        ValueError
            Naming the first bad entry: an id that is neither an integer nor a string (or does
            not fit in int64), integers and strings mixed in one column, text ids holding a
            control character, a rating that is not a finite real number, arrays of different
            lengths, a rated item without a title, or title keys of another type than the
            item ids (``"1"`` for item ``1``).
        """
        item_table: tuple | None = None
        if titles is not None:
            pairs = list(titles.items()) if hasattr(titles, "items") else None
            if pairs is None:
                raise ValueError(f"titles must be a mapping from raw item id to title, got {type(titles).__name__}")
            listed = np.empty(len(pairs), dtype=object)
            listed[:] = [key for key, _ in pairs]
            names = np.empty(len(pairs), dtype=object)
            names[:] = [title for _, title in pairs]
            item_table = (listed, names, {})
        return assemble(users, items, values, timestamps, item_table=item_table, dtype=dtype, source=source,
                        duplicates=duplicates)

    @classmethod
    def from_frame(cls, frame, user="user", item="item", rating="rating", *, timestamp=None, titles=None,
                   items=None, title="title", dtype=np.float64, source="frame", duplicates="keep") -> Dataset:
        r"""A dataset from a pandas DataFrame with one rating per row.

        Parameters
        ----------
        frame : pandas.DataFrame
            The ratings (or any mapping from column name to a column).
        user, item, rating : str, default "user", "item", "rating"
            Column names of the raw user id, raw item id and rating (MovieLens csv:
            ``user="userId", item="movieId"``).
        timestamp : str, optional
            Column of Unix times or datetimes (time-zone aware ones are read in UTC), kept as
            :attr:`timestamps` in Unix seconds.
        titles : mapping, optional
            Raw item id -> title (a ``dict`` or a ``Series`` indexed by item id).
        items : pandas.DataFrame, optional
            Item metadata, one row per item: the column named ``item`` holds the raw id, the
            column ``title`` (if present) the title, the other columns become
            :attr:`item_attributes`. Every rated item must be listed; listed items without
            ratings get an index too.
        title : str, default "title"
            The title column of ``items`` (a missing title, None or NaN, stays ``None``).
        dtype, source, duplicates
            As in :meth:`from_arrays`.

        Notes
        -----
        pandas is not imported by funksvd; the frame's columns are read with ``to_numpy()``.
        Raw ids may be any integers or strings; see :meth:`from_arrays`.

        Examples
        --------
        >>> import pandas as pd                                      # doctest: +SKIP
        >>> df = pd.DataFrame({"user": ["ann", "bo"], "item": [3_000_000_000, 7],
        ...                    "rating": [4.0, 2.5]})                # doctest: +SKIP
        >>> Dataset.from_frame(df).item_ids                          # doctest: +SKIP
        array([         7, 3000000000])
        """
        if titles is not None and items is not None:
            raise ValueError("pass titles or an items frame, not both")
        users = _column(frame, user, "user")
        rated = _column(frame, item, "item")
        values = _column(frame, rating, "rating")
        stamps = None if timestamp is None else _column(frame, timestamp, "timestamp", raw=True)
        if items is None:
            return cls.from_arrays(users, rated, values, timestamps=stamps, titles=titles, dtype=dtype, source=source,
                                   duplicates=duplicates)
        listed = _column(items, item, "item")
        names = [name for name in (items.columns if hasattr(items, "columns") else items) if name != item]
        columns = {str(name): _column(items, name, "item attribute") for name in names if name != title}
        item_titles = _column(items, title, "title") if title in names else None
        return assemble(users, rated, values, stamps, item_table=(listed, item_titles, columns), dtype=dtype,
                        source=source, duplicates=duplicates)

    # ---- pickling, equality, repr ----------------------------------------------------------------

    def __reduce__(self):
        def plain(columns):  # a mappingproxy does not pickle; a dict does
            return None if columns is None else dict(columns)

        return (type(self), (self.ratings, self.user_map, self.item_map, self.timestamps, self.item_titles,
                             plain(self.item_attributes), plain(self.user_attributes), self.source))

    def __eq__(self, other) -> bool:
        if not isinstance(other, Dataset):
            return NotImplemented

        def same(a, b):
            return (a is None) == (b is None) and (a is None or np.array_equal(a, b))

        def same_columns(a, b):
            return (a is None) == (b is None) and (a is None or (
                set(a) == set(b) and all(np.array_equal(a[k], b[k]) for k in a)))

        return (self.ratings == other.ratings and self.user_map == other.user_map
                and self.item_map == other.item_map and same(self.timestamps, other.timestamps)
                and same(self.item_titles, other.item_titles)
                and same_columns(self.item_attributes, other.item_attributes)
                and same_columns(self.user_attributes, other.user_attributes) and self.source == other.source)

    __hash__ = None  # type: ignore[assignment]  # compared by value; not hashable

    def __repr__(self) -> str:
        extras = [name for name in ("timestamps", "item_titles", "item_attributes", "user_attributes")
                  if getattr(self, name) is not None]
        more = f", with {', '.join(extras)}" if extras else ""
        where = f" from {self.source}" if self.source else ""
        return f"Dataset({len(self.ratings)} ratings, {self.n_users} users, {self.n_items} items{more}{where})"

    def __len__(self) -> int:
        return len(self.ratings)

    # ---- raw ids <-> indices ---------------------------------------------------------------------

    @property
    def user_ids(self) -> np.ndarray:
        """The raw id of every user index (read-only; ``int64`` or an object array of ``str``)."""
        return self.user_map.raw_ids

    @property
    def item_ids(self) -> np.ndarray:
        """The raw id of every item index (read-only; ``int64`` or an object array of ``str``)."""
        return self.item_map.raw_ids

    @property
    def n_users(self) -> int:
        return self.ratings.n_users

    @property
    def n_items(self) -> int:
        return self.ratings.n_items

    def user_index(self, raw):
        """Index of raw user id(s) ``raw`` (scalar or array); an unknown id raises ``UnknownIdError`` naming it."""
        return self.user_map.index(raw)

    def item_index(self, raw):
        """Index of raw item id(s) ``raw`` (scalar or array); an unknown id raises ``UnknownIdError`` naming it."""
        return self.item_map.index(raw)

    def raw_user(self, index):
        """Raw user id(s) of index(es) ``index`` (``IndexError`` out of range)."""
        return self.user_map.raw(index)

    def raw_item(self, index):
        """Raw item id(s) of index(es) ``index`` (``IndexError`` out of range)."""
        return self.item_map.raw(index)


def _unlisted(kind: str, position: int, raw) -> ValueError:
    return ValueError(f"rating {position}: {kind} id {raw!r} is not listed in the {kind} table")


def _repeated(users: np.ndarray, items: np.ndarray, values, timestamps, maps, how: str):
    """Apply ``duplicates=how`` to ratings whose ``(user, item)`` index pair occurred before."""
    n = len(users)
    order = np.lexsort((np.arange(n), items, users))  # by pair, then position
    same = (np.diff(users[order]) == 0) & (np.diff(items[order]) == 0)
    if not same.any():
        return users, items, values, timestamps
    later = order[1:][same]  # positions of ratings repeating an earlier one
    j = int(later.min())
    first = int(np.flatnonzero((users == users[j]) & (items == items[j]))[0])
    what = (f"{len(later)} rating(s) repeat an earlier (user, item) pair; the first: user "
            f"{maps['user'].raw(int(users[j]))!r}, item {maps['item'].raw(int(items[j]))!r} at ratings {first} and {j}")
    if how == "raise":
        raise ValueError(f"{what}; pass duplicates='keep', 'mean' or 'last'")
    if how == "keep":
        warnings.warn(f"{what}; they are kept and each counts in training (a split may put them on both sides): "
                      "pass duplicates='mean', 'last' or 'raise' to Dataset.from_frame/from_arrays, or drop them",
                      UserWarning, stacklevel=4)
        return users, items, values, timestamps
    group = np.empty(n, dtype=np.int64)
    group[order] = np.concatenate([[0], np.cumsum(~same)])
    keep = np.sort(order[np.append(~same, True)])  # each pair's last position
    if how == "mean":
        means = np.bincount(group, weights=values) / np.bincount(group)
        kept_values = means[group[keep]]
    else:
        kept_values = values[keep]
    return users[keep], items[keep], kept_values, None if timestamps is None else timestamps[keep]


_DUPLICATES = ("keep", "mean", "last", "raise")


def assemble(users, items, values, timestamps=None, *, item_table=None, user_table=None, dtype=np.float64,
             source="", unlisted=_unlisted, duplicates="keep") -> Dataset:
    """Map raw ids to indices (sorted id order) and build the :class:`Dataset`.

    ``item_table`` is ``(listed ids, titles or None, {column: values})`` and ``user_table``
    ``(listed ids, None, {column: values})``, one row per listed id (distinct); every rated id
    must be listed, else ``unlisted(kind, rating position, raw id)`` is raised. Listed ids
    without ratings get an index too.
    """
    if duplicates not in _DUPLICATES:
        raise ValueError(f"duplicates must be one of {_DUPLICATES}, got {duplicates!r}")
    users, items = as_1d(users), as_1d(items)
    n = len(users)
    if not (len(items) == n == len(np.asarray(values))):
        raise ValueError(f"users, items and values must have the same length, got {n}, {len(items)} and "
                         f"{len(np.asarray(values))}")
    maps, indices, metadata = {}, {}, {}
    for kind, rated, table in (("user", users, user_table), ("item", items, item_table)):
        rated = raw_array(rated, f"{kind}s")
        if table is None:
            indices[kind], maps[kind] = IdMap.factorize(rated, kind)
            continue
        listed_raw, titles, columns = table
        listed = raw_array(listed_raw, f"listed {kind}s")
        if len(listed) and len(rated) and listed.dtype != rated.dtype:  # "1" is not 1: refuse, naming a key
            kinds = {True: "integers", False: "strings"}
            raise ValueError(f"the {kind} table (or titles) lists {kind} id {listed[0]!r} but the ratings' {kind} ids "
                             f"are {kinds[rated.dtype == np.int64]} (e.g. {rated[0]!r}); key both by the same type")
        both, id_map = IdMap.factorize(np.concatenate([listed, rated]), kind)
        listed_index, indices[kind] = both[: len(listed)], both[len(listed):]
        if len(np.unique(listed_index)) != len(listed):
            counts = np.bincount(listed_index, minlength=len(id_map))
            repeated = id_map.raw(int(np.flatnonzero(counts > 1)[0]))
            raise ValueError(f"{kind} id {repeated!r} is listed twice in the {kind} table")
        if len(id_map) != len(listed):
            is_listed = np.zeros(len(id_map), dtype=bool)
            is_listed[listed_index] = True
            j = int(np.flatnonzero(~is_listed[indices[kind]])[0])
            raise unlisted(kind, j, id_map.raw(int(indices[kind][j])))
        maps[kind] = id_map
        aligned = {}
        table_columns = dict(columns) if titles is None else {"__title__": titles, **columns}
        for column, column_values in table_columns.items():
            out = np.empty(len(id_map), dtype=object)
            out[listed_index] = np.asarray(column_values, dtype=object)
            aligned[column] = out
        metadata[kind] = aligned
    ratings = Ratings(indices["user"], indices["item"], values, len(maps["user"]), len(maps["item"]), dtype=dtype)
    stamps = None if timestamps is None else _timestamps(timestamps, n)
    users, items, kept, stamps = _repeated(ratings.users, ratings.items, ratings.values, stamps, maps, duplicates)
    if len(kept) != n:
        ratings = Ratings(users, items, kept, ratings.n_users, ratings.n_items, dtype=dtype)
    item_columns = metadata.get("item")
    titles = item_columns.pop("__title__", None) if item_columns is not None else None
    return Dataset(ratings, maps["user"], maps["item"], stamps, titles, item_columns or None,
                   metadata.get("user") or None, source)
