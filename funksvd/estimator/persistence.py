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
import os
import tempfile
import zipfile
import zlib
from pathlib import Path

import numpy as np

from .._version import __version__
from ..base.errors import InputError
from ..model.factors import Factors
from ..model.ids import IdMap

__all__ = ["Persistence", "FORMAT", "FORMAT_VERSION"]

#: The ``format`` field of the metadata.
FORMAT = "funksvd-model"
#: Incremented when the layout changes; files of a newer version are refused with a clear error.
FORMAT_VERSION = 1

_META = "funksvd_metadata"
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


class Persistence:
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

        The write is atomic: a temporary file beside ``path`` replaces it when complete. A new
        file gets the mode of any new file (``0o666`` less the umask); an overwritten one keeps
        its mode.
        :meth:`load` gives back an equal model: the same parameters bit for bit, id maps,
        titles, hyper-parameters and ``history_``.
        """
        self._fitted()
        factors = self.factors_  # the parameters themselves (a model may predict from derived ones)
        path = Path(path)
        if not path.parent.is_dir():
            raise FileNotFoundError(f"cannot save the model to {path}: the folder {path.parent} does not exist")
        if path.is_dir():
            raise IsADirectoryError(f"cannot save the model to {path}: it is a folder")
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
        mode = _file_mode(path)
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            os.chmod(temporary, mode)  # mkstemp makes it 0600 whatever the umask
            with os.fdopen(handle, "wb") as out:
                np.savez(out, **arrays)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    @classmethod
    def load(cls, path):
        """A model written by :meth:`save`: of this class or of a subclass (``FunkSVD.load`` reads an ``SVDpp`` too).

        The metadata's ``model`` field names the class (absent in older files: ``"FunkSVD"``).

        Raises
        ------
        FileNotFoundError
            No file at ``path``.
        InputError
            (a ``ValueError``) ``path`` is not a funksvd model: not an ``.npz`` archive (random bytes, a truncated
            file), an archive without funksvd metadata (a foreign ``.npz``), a damaged member,
            or a newer format version. The message names the file and the problem.
        """
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"no model file at {path}" + (" (it is a folder)" if path.is_dir() else ""))
        if not zipfile.is_zipfile(path):
            raise InputError(f"{path} is not a funksvd model: not a complete .npz archive "
                             "(a truncated file, or a different kind of file)")
        try:
            with np.load(path, allow_pickle=False) as archive:
                if _META not in archive.files:
                    raise InputError(f"{path} is an .npz archive but not a funksvd model: it has no "
                                     f"{_META!r} member (it holds {sorted(archive.files)[:8]})")
                meta = _read_meta(path, archive[_META])
                kind = meta.get("model", "FunkSVD")  # files written before the field hold a FunkSVD
                target = _model_class(cls, kind)
                if target is None:
                    raise InputError(f"{path} holds a {kind} model, not a {cls.__name__}: load it with "
                                     f"funksvd.{kind}.load")
                arrays = {name: archive[name] for name in archive.files if name != _META}
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as error:
            raise InputError(f"{path} is not a funksvd model: a damaged archive ({error})") from None
        try:
            return target._from_saved(meta, arrays)
        except (KeyError, TypeError, ValueError) as error:
            raise InputError(f"{path} is a damaged funksvd model: {error}") from None

    @classmethod
    def _from_saved(cls, meta: dict, arrays: dict):
        params = dict(meta["params"])
        unknown = sorted(set(params) - set(cls._param_names()))
        if unknown:  # parameters missing from the file keep their defaults; unknown ones cannot be honoured
            raise ValueError(f"it was written by funksvd {meta.get('funksvd_version')} with parameter(s) {unknown} "
                             "that this version does not have")
        if "dtype" in params:
            params["dtype"] = getattr(np, params["dtype"])
        model = cls(**params)
        fitted = meta["fitted"]
        model.factors_ = Factors(arrays["P"], arrays["Q"], arrays.get("bu"), arrays.get("bi"), fitted["mu_"])
        for name in _SCALARS:
            setattr(model, name, fitted[name])
        low, high = meta["rating_range_"]
        if low is not None:
            model.rating_range_ = (low, high)
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

    def _extra_arrays(self) -> dict:
        """Arrays a model kind saves beyond ``P, Q, bu, bi`` (none for FunkSVD)."""
        return {}

    def _restore_extra(self, arrays: dict) -> None:
        """Read back what :meth:`_extra_arrays` saved."""


def _model_class(cls, kind: str):
    """``cls`` or its subclass named ``kind`` (``FunkSVD.load`` reads every kind; ``SVDpp.load`` only SVDpp), else None."""
    if cls.__name__ == kind:
        return cls
    for sub in cls.__subclasses__():
        found = _model_class(sub, kind)
        if found is not None:
            return found
    return None


def _file_mode(path: Path) -> int:
    """The permission bits of the saved file: those of the file it replaces, else ``0o666 & ~umask``."""
    try:
        return path.stat().st_mode & 0o7777
    except FileNotFoundError:
        return 0o666 & ~_umask()


def _umask() -> int:
    """The process umask: from /proc on Linux, else by setting it and putting it straight back."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    umask = os.umask(0o077)  # a moment of 077 is safe for another thread's new file; 0 would not be
    os.umask(umask)
    return umask


def _read_meta(path: Path, raw: np.ndarray) -> dict:
    try:
        meta = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InputError(f"{path}: the funksvd metadata is not valid JSON ({error})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise InputError(f"{path} is an .npz archive but not a funksvd model (metadata format "
                         f"{meta.get('format') if isinstance(meta, dict) else meta!r})")
    version = meta.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise InputError(f"{path} was written in model format {version!r} (funksvd "
                         f"{meta.get('funksvd_version')}); this funksvd reads format {FORMAT_VERSION} at most: "
                         "upgrade funksvd")
    return meta
