r"""What a saved model file must hold, checked before (headers, metadata) and after (values) its arrays are read.

:meth:`funksvd.FunkSVD.load` calls :func:`checked_meta` on the JSON metadata, then
:func:`check_headers` on the ``(shape, dtype)`` of every ``.npy`` header, before reading a
single array: a header claiming ``(10**10, 20)`` for a file of a few kilobytes, ``5000`` item
ids for ``1682`` rows of ``Q``, or ``P`` stored as integers is refused without allocating
anything. :func:`check_arrays` checks the values of the rated-items table once read (the
factors are checked for finiteness by :class:`~funksvd.Factors`, the ids by
:class:`~funksvd.model.ids.IdMap`). Every problem is a ``ValueError`` naming the member; the
caller turns it into one :class:`~funksvd.base.errors.InputError` naming the file.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["MEMBERS", "check_arrays", "check_headers", "checked_meta"]

#: The array members of the format (besides the metadata); any other member is refused.
MEMBERS = ("P", "Q", "bu", "bi", "user_ids", "item_ids", "item_titles", "item_titles_missing",
           "rated_indptr", "rated_items")

_DTYPES = ("float32", "float64")


def _real(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def checked_meta(meta: dict, param_names, scalars=("mu_", "global_mean_", "n_epochs_", "best_epoch_",
                                                    "stopped_early_")) -> dict:
    """``meta`` once its parameters, fitted scalars, ``rating_range_`` and ``history_`` have the right types."""
    params = meta.get("params")
    if not isinstance(params, dict):
        raise ValueError(f"the metadata's 'params' must be an object, got {type(params).__name__}")  # noqa: TRY004
    unknown = sorted(set(params) - set(param_names))
    if unknown:  # parameters missing from the file keep their defaults; unknown ones cannot be honoured
        raise ValueError(f"it was written by funksvd {meta.get('funksvd_version')} with parameter(s) {unknown} "
                         "that this version does not have")
    if params.get("dtype", "float64") not in _DTYPES:
        raise ValueError(f"the parameter dtype must be one of {_DTYPES}, got {params.get('dtype')!r}")
    fitted = meta.get("fitted")
    if not isinstance(fitted, dict):
        raise ValueError(f"the metadata's 'fitted' must be an object, got {type(fitted).__name__}")  # noqa: TRY004
    for name in scalars:
        if name not in fitted:
            raise ValueError(f"the metadata has no fitted value {name!r}")
    checks = {"mu_": (_real, "a finite number"), "global_mean_": (_real, "a finite number"),
              "n_epochs_": (_count, "an integer >= 0"), "best_epoch_": (_count, "an integer >= 0"),
              "stopped_early_": (lambda v: isinstance(v, bool), "true or false")}
    for name, (check, what) in checks.items():
        if name in fitted and not check(fitted[name]):
            raise ValueError(f"the fitted value {name} must be {what}, got {fitted[name]!r}")
    if "best_epoch_" in fitted and "n_epochs_" in fitted and fitted["best_epoch_"] > fitted["n_epochs_"]:
        raise ValueError(f"best_epoch_ = {fitted['best_epoch_']} is past n_epochs_ = {fitted['n_epochs_']}")
    span = meta.get("rating_range_")
    if not (isinstance(span, list) and len(span) == 2
            and (span == [None, None] or (all(_real(v) for v in span) and span[0] <= span[1]))):
        raise ValueError(f"rating_range_ must be two finite numbers low <= high (or null, null), got {span!r}")
    history = meta.get("history_")
    if not (isinstance(history, list) and all(isinstance(record, dict) for record in history)):
        raise ValueError(f"history_ must be a list of records (objects), got {str(history)[:80]!r}")
    return meta


def _expect(headers, name: str, shape: tuple, kinds: str, what: str) -> None:
    got_shape, dtype = headers[name]
    if got_shape != shape:
        raise ValueError(f"{name} has shape {got_shape}, but the factors need {shape}")
    if dtype.kind not in kinds or (dtype.kind == "i" and dtype != np.int64):
        raise ValueError(f"{name} must hold {what}, got dtype {dtype}")


def _pair(headers, first: str, second: str) -> bool:
    """True when both members are present; an error when only one is."""
    if (first in headers) != (second in headers):
        missing = second if first in headers else first
        partner = first if missing == second else second
        raise ValueError(f"the member {missing!r} is missing (it comes with {partner!r})")
    return first in headers


def check_headers(headers: dict[str, tuple[tuple[int, ...], np.dtype]], meta: dict) -> None:
    """Every member's ``(shape, dtype)`` agrees with ``P``, ``Q`` and the metadata (nothing read yet)."""
    params = meta["params"]
    for name in ("P", "Q"):
        if name not in headers:
            raise ValueError(f"the member {name!r} is missing")
        if len(headers[name][0]) != 2:
            raise ValueError(f"{name} must be 2-D, got shape {headers[name][0]}")
    (n_users, k), (n_items, k_q) = headers["P"][0], headers["Q"][0]
    n_factors = params.get("n_factors", k)
    if not (k == k_q == n_factors) or min(n_users, n_items, k) < 1:
        raise ValueError(f"P has shape {headers['P'][0]} and Q {headers['Q'][0]}, but n_factors is {n_factors!r}")
    dtype = np.dtype(params.get("dtype", "float64"))
    float_kind = f"{dtype.name} numbers (the model's dtype)"
    for name in ("P", "Q", "bu", "bi"):
        if name in headers and headers[name][1] != dtype:
            raise ValueError(f"{name} must hold {float_kind}, got dtype {headers[name][1]}")
    biased = _pair(headers, "bu", "bi")
    if biased != params.get("biased", True):
        raise ValueError(f"the parameter biased is {params.get('biased', True)!r} but the file "
                         + ("has" if biased else "has no") + " biases bu, bi")
    if biased:
        _expect(headers, "bu", (n_users,), "f", float_kind)
        _expect(headers, "bi", (n_items,), "f", float_kind)
    if _pair(headers, "user_ids", "item_ids"):
        _expect(headers, "user_ids", (n_users,), "iU", "int64 or text ids")
        _expect(headers, "item_ids", (n_items,), "iU", "int64 or text ids")
    if "item_titles" in headers:
        _expect(headers, "item_titles", (n_items,), "U", "text")
    if "item_titles_missing" in headers:
        if "item_titles" not in headers:
            raise ValueError("the member 'item_titles_missing' comes without 'item_titles'")
        _expect(headers, "item_titles_missing", (n_items,), "b", "booleans")
    if _pair(headers, "rated_indptr", "rated_items"):
        _expect(headers, "rated_indptr", (n_users + 1,), "i", "int64 offsets")
        if len(headers["rated_items"][0]) != 1:
            raise ValueError(f"rated_items must be 1-D, got shape {headers['rated_items'][0]}")
        _expect(headers, "rated_items", headers["rated_items"][0], "i", "int64 item indices")


def check_arrays(arrays: dict[str, np.ndarray]) -> None:
    """The rated-items table is a CSR of item indices within ``Q``'s rows (the shapes are already checked)."""
    if "rated_indptr" not in arrays:
        return
    indptr, items, n_items = arrays["rated_indptr"], arrays["rated_items"], arrays["Q"].shape[0]
    if indptr[0] != 0 or np.any(np.diff(indptr) < 0) or indptr[-1] != len(items):
        raise ValueError(f"rated_indptr must rise from 0 to len(rated_items) = {len(items)}, got "
                         f"{indptr[:3].tolist()} ... {indptr[-1]}")
    bad = np.flatnonzero((items < 0) | (items >= n_items))
    if len(bad):
        raise ValueError(f"rated_items[{bad[0]}] = {items[bad[0]]} is not an item index (0..{n_items - 1})")
