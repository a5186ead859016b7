r"""Raw ids in and out of :class:`~funksvd.FunkSVD`: what ``fit`` keeps of a dataset, and the
look-ups of ``predict``, ``recommend``, ``similar_items`` and ``fold_in``.

A model fitted on :class:`~funksvd.Ratings` speaks 0-based indices; a model fitted on a
:class:`~funksvd.data.Dataset` (or anything with ``.ratings`` and the raw id of every index)
keeps the dataset's id maps as ``user_ids_`` and ``item_ids_`` (:class:`~funksvd.model.ids.IdMap`) and
speaks the dataset's raw ids.
"""

from __future__ import annotations

import math

import numpy as np

from ..base.errors import InputError, UnknownIdError
from ..base.validation import check_indices, whole_numbers
from ..model.ids import IdMap
from ..model.ratings import Ratings, check_within

__all__ = ["TrainingData", "as_training_data", "validation_ratings", "raw_triples", "Lookup"]

UNKNOWN = ("raise", "baseline")


class TrainingData:
    """The ratings to fit, with the id maps and titles of the data they came from (None for bare Ratings)."""

    __slots__ = ("ratings", "user_ids", "item_ids", "item_titles")

    def __init__(self, ratings, user_ids=None, item_ids=None, item_titles=None):
        self.ratings = ratings
        self.user_ids = user_ids
        self.item_ids = item_ids
        self.item_titles = item_titles


def as_training_data(data, what: str = "ratings") -> TrainingData:
    """:class:`TrainingData` of a ``Ratings`` or of a dataset.

    A dataset (:class:`~funksvd.data.Dataset`) has ``.ratings``, its id maps ``.user_map``,
    ``.item_map`` and ``.item_titles`` (or None).
    """
    if isinstance(data, Ratings):
        return TrainingData(data)
    ratings = getattr(data, "ratings", None)
    maps = [getattr(data, f"{kind}_map", None) for kind in ("user", "item")]
    if isinstance(ratings, Ratings) and all(isinstance(m, IdMap) for m in maps):
        titles = getattr(data, "item_titles", None)
        return TrainingData(ratings, maps[0], maps[1], None if titles is None else np.asarray(titles, dtype=object))
    raise TypeError(f"{what} must be a funksvd.Ratings or a funksvd.data.Dataset (raw ids), "
                    f"got {type(data).__name__}")


def validation_ratings(validation, data: TrainingData) -> Ratings:
    """Validation ratings as training indices: ``Ratings`` as they are, a dataset through the training maps."""
    held = as_training_data(validation, "validation")
    r = held.ratings
    if held.user_ids is None:
        check_within(r, data.ratings.n_users, data.ratings.n_items, "validation")
        return r
    if data.user_ids is None:
        raise TypeError("validation has raw ids but the training ratings do not: pass validation as Ratings")
    users = Lookup(data.user_ids, data.ratings.n_users, "user")(held.user_ids.raw_ids[r.users])[0]
    items = Lookup(data.item_ids, data.ratings.n_items, "item")(held.item_ids.raw_ids[r.items])[0]
    return Ratings(users, items, r.values, data.ratings.n_users, data.ratings.n_items)


def raw_triples(data) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(raw users, raw items, values)`` of a dataset's ratings (indices for bare ``Ratings``)."""
    train = as_training_data(data, "data")
    r = train.ratings
    if train.user_ids is None:
        return r.users, r.items, r.values
    return train.user_ids.raw_ids[r.users], train.item_ids.raw_ids[r.items], r.values


def _refuse_missing(values, name: str) -> None:
    """Refuse NaN and None among ids, in every mode: a missing value is not an id (not even an unknown one)."""
    array = np.asarray(values)
    if array.dtype.kind == "f":
        missing = np.isnan(array.ravel())
    elif array.dtype.kind == "O":
        missing = np.array([x is None or (isinstance(x, float) and math.isnan(x)) for x in array.ravel().tolist()],
                           bool)
    else:
        return
    if missing.any():
        j = int(np.flatnonzero(missing)[0])
        where = f"{name}[{j}]" if array.ndim else name[:-1]
        value = array.ravel()[j]
        shown = "None" if value is None else "NaN"
        raise InputError(f"{where} is {shown}, a missing value, not an id (not even an unknown one)")


class Lookup:
    """Ids as the fitted model understands them: raw ids through its maps, or bare indices."""

    def __init__(self, id_map: IdMap | None, n: int, kind: str):
        self.id_map, self.n, self.kind = id_map, n, kind

    def __call__(self, values, unknown: str = "raise") -> tuple[np.ndarray, np.ndarray]:
        """Indices of ``values`` and the mask of known ones; unknown ids get index 0 (masked).

        ``unknown="raise"`` raises :class:`UnknownIdError` naming the first unknown id and its
        position; ``"baseline"`` returns the mask instead.
        """
        if unknown not in UNKNOWN:
            raise InputError(f"unknown must be one of {UNKNOWN}, got {unknown!r}")
        name = f"{self.kind}s"
        _refuse_missing(values, name)
        if self.id_map is None:
            if unknown == "raise":
                index = check_indices(values, name, self.n)
                return index, np.ones(index.shape, bool)
            whole = whole_numbers(values, name)
            known = (whole >= 0) & (whole < self.n)
            return np.where(known, whole, 0), known
        index, known = self.id_map.lookup(values)
        if unknown == "raise" and not np.all(known):
            j = int(np.flatnonzero(~known.ravel())[0])
            value = np.asarray(values, dtype=object).ravel()[j]
            where = f" ({name}[{j}])" if np.ndim(values) else ""
            raise UnknownIdError(f"unknown {self.kind} id {value!r}{where}: the model was fitted on "
                                 f"{self.n} {name} and this is not one of them")
        return np.where(known, index, 0), known

    def one(self, value) -> int:
        """The index of one id (strict); the error names the id, not a position in an array."""
        if np.ndim(value) != 0:
            raise InputError(f"expected one {self.kind} id, got {value!r}")
        if self.id_map is None:
            whole = int(whole_numbers(np.atleast_1d(value), f"{self.kind}s")[0])
            if not 0 <= whole < self.n:
                raise UnknownIdError(f"{self.kind} {value!r} is not a valid id: the model has {self.n} "
                                     f"{self.kind}s, ids 0..{self.n - 1}")
            return whole
        index, _ = self(value)
        return int(index)

    def raw(self, index: np.ndarray) -> np.ndarray:
        """Raw ids of indices (the indices themselves for a model fitted on bare ratings)."""
        return np.asarray(index, dtype=np.int64) if self.id_map is None else self.id_map.raw_ids[index]
