r"""Saving and loading a fitted :class:`~funksvd.FunkSVD`, and pickling it.

The file is an uncompressed ``.npz`` archive read with ``allow_pickle=False``: the parameter
arrays as they are (float64 or float32, bit for bit), the id maps and titles as int64 or unicode
arrays, the rated items per user (for ``recommend(exclude_rated=True)``), and one member
``funksvd_metadata`` holding UTF-8 JSON: the format name and version, the library version, the
hyper-parameters, the fitted scalars and ``history_``, and ``model``, the estimator's class name
(``"FunkSVD"``, ``"ALS"``, ``"SVDpp"``; a file without it is a ``FunkSVD``). Writing goes to a temporary file in the
target folder, which then replaces the target in one rename, so a crash never leaves half a
model behind.
"""

from __future__ import annotations

import json
import math
import zipfile
import zlib
from pathlib import Path

import numpy as np

from .._version import __version__
from ..base.errors import InputError
from ..base.files import atomic_write, check_target
from ..model.factors import Factors
from ..model.ids import IdMap
from .saved import MEMBERS, check_arrays, check_headers, checked_meta
from .state import EstimatorState

__all__ = ["Persistence", "FORMAT", "FORMAT_VERSION"]

#: The ``format`` field of the metadata.
FORMAT = "funksvd-model"
#: Incremented when the layout changes; files of a newer version are refused with a clear error.
FORMAT_VERSION = 1

_META = "funksvd_metadata"
#: The metadata's size at most (a long ``history_`` takes about 150 bytes per epoch).
_META_LIMIT = 64 << 20
_SCALARS = ("mu_", "global_mean_", "n_epochs_", "best_epoch_", "stopped_early_")


def _json_param(name: str, value):
    if name == "dtype":
        return np.dtype(value).name
    if name == "random_state" and not (value is None or isinstance(value, (int, np.integer))):
        return None  # a Generator's state is not kept: the fitted model does not need it
    return value.item() if isinstance(value, np.generic) else value


def _plain(value):
    """JSON for the numpy scalars a history record may hold (``json.dumps(default=...)``)."""
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _id_array(id_map: IdMap) -> np.ndarray:
    raw = id_map.raw_ids
    return raw if id_map.is_integer else raw.astype(str)  # unicode, not object: no pickle needed


class Persistence(EstimatorState):
    """``save``, ``load`` and pickling for :class:`~funksvd.FunkSVD` (a mixin)."""

    def __getstate__(self):
        state = dict(self.__dict__)
        state.pop("_fitting", None)
        if "_train_ratings" in state:  # keep what recommend needs, not the ratings themselves
            self._rated_items(0)
            state["_rated"] = self._rated
            del state["_train_ratings"]
        return state

    def save(self, path) -> None:
        """Write the fitted model to ``path`` (an ``.npz`` archive; the name is used as given).

        The write is atomic (:func:`funksvd.base.files.atomic_write`): a temporary file beside
        ``path`` replaces it when complete. A new file gets the mode of any new file (``0o666``
        less the umask); an overwritten one keeps its mode. A folder, a symbolic link, a FIFO or
        a device at ``path`` is refused, as is a folder that is not writable.
        :meth:`load` gives back an equal model: the same parameters bit for bit, id maps,
        titles, hyper-parameters and ``history_``.
        """
        self = self._published()  # noqa: PLW0642 - one fit's state for the whole call, even during a refit
        self._fitted()
        factors = self.factors_  # the parameters themselves (a model may predict from derived ones)
        check_target(path, "the model")
        arrays = {"P": factors.P, "Q": factors.Q}
        if factors.biased:
            arrays.update(bu=factors.bu, bi=factors.bi)
        if getattr(self, "_train_ratings", None) is not None or getattr(self, "_rated", None) is not None:
            self._rated_items(0)
            arrays["rated_indptr"], arrays["rated_items"] = self._rated
        arrays.update(self._extra_arrays())
        if self.user_ids_ is not None:
            arrays.update(user_ids=_id_array(self.user_ids_), item_ids=_id_array(self.item_ids_))
        if self.item_titles_ is not None:
            titles = np.asarray(self.item_titles_, dtype=object)
            missing = np.array([t is None for t in titles], dtype=bool)
            arrays["item_titles"] = np.where(missing, "", titles).astype(str)
            if missing.any():  # a missing title comes back as None, not as the text "None"
                arrays["item_titles_missing"] = missing
        meta = {
            "format": FORMAT, "format_version": FORMAT_VERSION, "funksvd_version": __version__,
            "model": type(self).__name__,
            "params": {name: _json_param(name, value) for name, value in self.get_params().items()},
            "fitted": {name: getattr(self, name) for name in _SCALARS},
            "rating_range_": list(getattr(self, "rating_range_", (None, None))),
            "history_": self.history_,
        }
        arrays[_META] = np.frombuffer(json.dumps(meta, default=_plain).encode("utf-8"), dtype=np.uint8)
        atomic_write(path, lambda out: np.savez(out, **arrays), what="the model")  # type: ignore[arg-type]

    @classmethod
    def load(cls, path):
        """A model written by :meth:`save`, validated before any array is read.

        Of this class or of a subclass: the metadata's ``model`` field names the class (absent in
        older files: ``"FunkSVD"``), so ``FunkSVD.load`` reads an ``SVDpp`` or ``ALS`` too, and
        ``SVDpp.load`` refuses a ``FunkSVD``.

        Only the members the format defines are read (another member is refused), each
        uncompressed, of the dtype the format gives it and of the size its header claims; every
        shape is checked against ``P``, ``Q`` and the metadata before its data is read, so a
        file never costs more memory than its own size. No code is run: arrays holding Python
        objects (pickles) are refused.

        Raises
        ------
        FileNotFoundError
            No file at ``path``.
        InputError
            (a ``ValueError``) ``path`` is not a funksvd model: not an ``.npz`` archive (random bytes, a truncated
            file), an archive without funksvd metadata (a foreign ``.npz``), a damaged or edited member
            (an unknown, compressed or pickled member, a shape, dtype or value that disagrees with the rest),
            or a newer format version. One message names the file and the problem.
        """
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"no model file at {path}" + (" (it is a folder)" if path.is_dir() else ""))
        if not zipfile.is_zipfile(path):
            raise InputError(f"{path} is not a funksvd model: not a complete .npz archive "
                             "(a truncated file, or a different kind of file)")
        try:
            with zipfile.ZipFile(path) as archive:
                members = _members(path, archive)
                if members[_META].compress_type != zipfile.ZIP_STORED:
                    raise InputError(f"{path} is a damaged funksvd model: its metadata is compressed; funksvd "
                                     "writes its models uncompressed (the file was rewritten by something else)")
                try:
                    shape, dtype = _header(archive, members[_META])
                    if len(shape) != 1 or dtype != np.uint8 or shape[0] > _META_LIMIT:
                        raise ValueError(f"the metadata must be at most {_META_LIMIT:,} bytes of UTF-8 JSON, got "
                                         f"shape {shape} of {dtype}")
                except ValueError as error:
                    raise InputError(f"{path} is a damaged funksvd model: {error}") from None
                meta = _read_meta(path, _read_member(archive, members[_META]))
                kind = meta.get("model", "FunkSVD")  # files written before the field hold a FunkSVD
                target = _model_class(cls, kind) if isinstance(kind, str) else None
                if target is None and kind not in _kinds(cls):
                    raise InputError(f"{path} is a damaged funksvd model: its model field {kind!r} names none of the "
                                     f"model classes {_kinds(cls)}")
                if target is None:
                    raise InputError(f"{path} holds a {kind} model, not a {cls.__name__}: load it with "
                                     f"funksvd.{kind}.load" if isinstance(kind, str) else
                                     f"{path} is a damaged funksvd model: its model field is {kind!r}")
                allowed = {_META, *MEMBERS, *target._EXTRA_MEMBERS}
                unknown = sorted(set(members) - allowed)
                if unknown:
                    raise InputError(f"{path} is a damaged funksvd model: it holds the member {unknown[0] + '.npy'!r}, "
                                     f"which the format does not define (members of a {kind}: "
                                     f"{', '.join(sorted(allowed))})")
                for info in members.values():
                    if info.compress_type != zipfile.ZIP_STORED:
                        raise InputError(f"{path} is a damaged funksvd model: the member {info.filename!r} is "
                                         "compressed; funksvd writes its models uncompressed (the file was "
                                         "rewritten by something else)")
                try:
                    meta = checked_meta(meta, target._param_names())
                    target._with_params(meta)._check_params()
                    headers = {name: _header(archive, info) for name, info in members.items() if name != _META}
                    check_headers(headers, meta)
                    target._check_extra_headers(headers)
                except (KeyError, TypeError, ValueError) as error:
                    raise InputError(f"{path} is a damaged funksvd model: {error}") from None
                arrays = {name: _read_member(archive, info) for name, info in members.items() if name != _META}
        except InputError:
            raise
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, ValueError) as error:
            # ValueError: a member cut short (numpy's "EOF"), a name that is not UTF-8
            raise InputError(f"{path} is not a funksvd model: a damaged archive ({type(error).__name__}: {error})"
                             ) from None
        try:
            return target._from_saved(meta, arrays)
        except (KeyError, TypeError, ValueError, IndexError) as error:
            raise InputError(f"{path} is a damaged funksvd model: {error}") from None

    @classmethod
    def _with_params(cls, meta: dict):
        """An unfitted estimator with the saved parameters (those missing from the file keep their defaults)."""
        params = dict(meta["params"])
        if "dtype" in cls._param_names():
            params["dtype"] = np.dtype(params.get("dtype", "float64")).type
        return cls(**params)

    @classmethod
    def _from_saved(cls, meta: dict, arrays: dict):
        model = cls._with_params(meta)
        check_arrays(arrays)
        fitted = meta["fitted"]
        model.factors_ = Factors(arrays["P"], arrays["Q"], arrays.get("bu"), arrays.get("bi"), fitted["mu_"])
        for name in _SCALARS:
            setattr(model, name, fitted[name])
        low, high = meta["rating_range_"]
        if low is not None:
            model.rating_range_ = (float(low), float(high))
        model.history_ = meta["history_"]
        user_ids, item_ids = arrays.get("user_ids"), arrays.get("item_ids")
        model.user_ids_ = None if user_ids is None else IdMap(user_ids, "user")
        model.item_ids_ = None if item_ids is None else IdMap(item_ids, "item")
        titles = arrays.get("item_titles")
        model.item_titles_ = None if titles is None else titles.astype(object)
        if titles is not None and "item_titles_missing" in arrays:
            model.item_titles_[arrays["item_titles_missing"]] = None
        if "rated_indptr" in arrays:
            model._rated = (arrays["rated_indptr"], arrays["rated_items"])
        model._restore_extra(arrays)
        return model

    #: The members a model kind saves beyond the format's own (:data:`~funksvd.estimator.saved.MEMBERS`).
    _EXTRA_MEMBERS: tuple[str, ...] = ()

    @classmethod
    def _check_extra_headers(cls, headers: dict) -> None:
        """Check the ``(shape, dtype)`` of the kind's extra members against ``P`` and ``Q`` (nothing read yet)."""

    def _extra_arrays(self) -> dict:
        """Arrays a model kind saves beyond ``P, Q, bu, bi`` (none for FunkSVD)."""
        return {}

    def _restore_extra(self, arrays: dict) -> None:
        """Read back what :meth:`_extra_arrays` saved."""


def _kinds(cls) -> list[str]:
    """The names of every model class a file may hold: the first concrete class above ``cls`` and its subclasses."""
    root = [c for c in cls.__mro__ if issubclass(c, Persistence) and c is not Persistence][-1]
    names, todo = [], [root]
    while todo:
        names.append(todo[0].__name__)
        todo = todo[1:] + todo[0].__subclasses__()
    return names


def _model_class(cls, kind: str):
    """``cls`` or its subclass named ``kind``, else None.

    ``FunkSVD.load`` reads every kind; ``SVDpp.load`` only SVDpp.
    """
    if cls.__name__ == kind:
        return cls
    for sub in cls.__subclasses__():
        found = _model_class(sub, kind)
        if found is not None:
            return found
    return None


def _members(path: Path, archive: zipfile.ZipFile) -> dict[str, zipfile.ZipInfo]:
    """The archive's members by array name, each an uncompressed ``.npy`` listed once.

    Which of them the format allows is judged once the model kind is read.
    """
    members: dict[str, zipfile.ZipInfo] = {}
    ours = f"{_META}.npy" in archive.namelist()
    for info in archive.infolist():
        name = info.filename.removesuffix(".npy")
        if not ours:  # a foreign archive: refused below for its missing metadata
            continue
        if not info.filename.endswith(".npy") or name in members:
            raise InputError(f"{path} is a damaged funksvd model: the member {info.filename!r} is "
                             + ("listed twice" if name in members else "not an .npy array"))
        members[name] = info
    if _META not in members:
        held = sorted(n.removesuffix(".npy") for n in archive.namelist())[:8]
        raise InputError(f"{path} is an .npz archive but not a funksvd model: it has no "
                         f"{_META!r} member (it holds {held})")
    return members


def _header(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> tuple[tuple[int, ...], np.dtype]:
    """``(shape, dtype)`` from the ``.npy`` header of ``info``, its size checked against the member's size."""
    with archive.open(info) as file:
        version = np.lib.format.read_magic(file)
        if version not in ((1, 0), (2, 0), (3, 0)):
            raise ValueError(f"{info.filename}: unknown .npy version {version}")
        read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, _, dtype = read(file)
        offset = file.tell()
    name = info.filename.removesuffix(".npy")
    if dtype.hasobject:
        raise ValueError(f"the member {name!r} holds Python objects (a pickle); a funksvd model never does, "
                         "so it was not read (no code from the file was run)")
    nbytes = math.prod(shape) * dtype.itemsize
    if nbytes != info.file_size - offset:
        raise ValueError(f"the header of {name!r} claims shape {shape} of {dtype} ({nbytes:,} bytes) but the member "
                         f"holds {info.file_size - offset:,} bytes of data")
    return shape, dtype


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> np.ndarray:
    """The array of a member whose header :func:`_header` has checked."""
    with archive.open(info) as file:
        return np.lib.format.read_array(file, allow_pickle=False)


def _read_meta(path: Path, raw: np.ndarray) -> dict:
    try:
        meta = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InputError(f"{path}: the funksvd metadata is not valid JSON ({error})") from None
    except RecursionError:
        raise InputError(f"{path} is a damaged funksvd model: the metadata is nested too deeply") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise InputError(f"{path} is an .npz archive but not a funksvd model (metadata format "
                         f"{meta.get('format') if isinstance(meta, dict) else meta!r})")
    version = meta.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise InputError(f"{path} was written in model format {version!r} (funksvd "
                         f"{meta.get('funksvd_version')}); this funksvd reads format {FORMAT_VERSION} at most: "
                         "upgrade funksvd")
    return meta
