"""The parameters of :class:`~funksvd.FunkSVD`, checked before a fit: :func:`check_params`."""

from __future__ import annotations

import os

import numpy as np

from ..base.errors import InputError
from ..base.rng import check_random_state
from ..base.validation import non_negative, positive_int
from ..maths.rules import get_rule
from ..sgd.steps import LOOP_ENGINES

__all__ = ["ENGINES", "SCHEDULES", "available_memory", "check_memory", "check_params"]

#: The engines of :class:`~funksvd.FunkSVD`: the epoch loop's, and the TensorFlow twin.
ENGINES = (*LOOP_ENGINES, "tensorflow")
SCHEDULES = ("joint", "feature")


def check_params(model) -> None:
    """Raise :class:`~funksvd.base.errors.InputError` (a ``ValueError``) naming ``model``'s first invalid parameter."""
    for name in ("n_factors", "n_epochs", "feature_epochs", "feature_min_epochs", "n_jobs"):
        positive_int(getattr(model, name), name)
    for name in ("patience", "batch_size"):
        positive_int(getattr(model, name), name, none_ok=True)
    for name in ("lr_all", "reg_all", "init_std_dev", "min_improvement", "feature_min_improvement"):
        non_negative(getattr(model, name), name)
    for name in (f"{kind}_{block}" for block in ("bu", "bi", "pu", "qi") for kind in ("lr", "reg")):
        non_negative(getattr(model, name), name, none_ok=True)
    for name in ("init_mean", "feature_init"):
        value = getattr(model, name)
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number)) or not np.isfinite(
                value):
            raise InputError(f"{name} must be a finite number, got {value!r}")
    for name in ("biased", "feature_trailing", "verbose"):
        if not isinstance(getattr(model, name), (bool, np.bool_)):
            raise InputError(f"{name} must be True or False, got {getattr(model, name)!r}")
    check_random_state(model.random_state)  # the one convention: an InputError naming random_state
    if model.decay_rate is not None and not 0 < model.decay_rate <= 1:
        raise InputError(f"decay_rate must be None or in (0, 1], got {model.decay_rate!r}")
    try:
        get_rule(model.rule)
    except ValueError as error:
        raise InputError(str(error)) from None
    if model.engine not in ENGINES:
        raise InputError(f"unknown engine {model.engine!r}; expected one of {ENGINES}")
    if not (isinstance(model.shuffle, (bool, np.bool_)) or model.shuffle in ("grid", "blocks")):
        raise InputError(f"shuffle must be 'grid', True, False or 'blocks', got {model.shuffle!r}")
    if model.shuffle == "blocks" and model.n_jobs != 1:
        raise InputError("shuffle='blocks' runs with n_jobs=1; with n_jobs > 1 each DSGD block is shuffled")
    if model.schedule not in SCHEDULES:
        raise InputError(f"unknown schedule {model.schedule!r}; expected one of {SCHEDULES}")
    try:
        dtype = np.dtype(model.dtype)
    except TypeError:
        dtype = None
    if dtype not in (np.float32, np.float64):
        raise InputError(f"dtype must be numpy.float32 or numpy.float64, got {model.dtype!r}")
    if model.schedule == "feature":
        if model.engine == "tensorflow":
            raise InputError("schedule='feature' runs on engine='python' or 'compiled', not 'tensorflow'")
        if get_rule(model.rule).name != "funk":
            raise InputError(f"schedule='feature' is Simon Funk's rule; got rule={model.rule!r}, use rule='funk'")
    if model.n_jobs != 1 and (model.schedule != "joint" or model.engine == "tensorflow"):
        raise InputError("n_jobs > 1 runs the joint schedule on engine='compiled' (or 'python'); "
                         f"got schedule={model.schedule!r}, engine={model.engine!r}")
    if model.engine == "tensorflow":
        overrides = [f"lr_{b}" for b in ("bu", "bi", "pu", "qi") if getattr(model, f"lr_{b}") is not None]
        if overrides:
            raise InputError(f"engine='tensorflow' takes one learning rate (lr_all); drop {overrides}")


def available_memory() -> int | None:
    """Bytes of memory this process may still take, or None when the system does not say.

    ``MemAvailable`` of ``/proc/meminfo`` (Linux), else ``os.sysconf("SC_AVPHYS_PAGES")`` pages;
    lowered to what is left of a cgroup v2 limit (``/sys/fs/cgroup/memory.max``, a container's).
    """
    available = None
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    available = int(line.split()[1]) * 1024
                    break
    except (OSError, ValueError, IndexError):
        pass
    if available is None:
        try:
            available = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            return None
    try:
        with open("/sys/fs/cgroup/memory.max", encoding="ascii") as limit_file:
            limit = limit_file.read().strip()
        with open("/sys/fs/cgroup/memory.current", encoding="ascii") as current_file:
            current = int(current_file.read().strip())
        if limit != "max":
            available = min(available, max(int(limit) - current, 0))
    except (OSError, ValueError):
        pass
    return available


def _gib(n_bytes: float) -> str:
    return f"{n_bytes / 2**30:,.1f} GiB" if n_bytes >= 2**30 else f"{n_bytes / 2**20:,.1f} MiB"


def check_memory(model, n_users: int, n_items: int, available: int | None = None, extra_rows: int = 0) -> None:
    r"""Refuse a fit whose parameters alone would not fit in the memory available, before allocating them.

    The parameters take :math:`(n_u + n_i)(k + 1)` numbers of the model's dtype (plus ``extra_rows``
    rows of :math:`k + 1` for a further factor block, SVD++'s :math:`Y`: ``extra_rows = n_i``); training holds
    two copies (the start values and the arrays it updates) and a third for early stopping's
    best epoch. ``available`` defaults to :func:`available_memory`; when that is unknown,
    nothing is checked.

    Raises
    ------
    InputError
        Naming ``n_factors``, the memory the parameters need and the memory available.
    """
    available = available_memory() if available is None else available
    if available is None:
        return
    itemsize = max(np.dtype(model.dtype).itemsize, 8)  # the random start is drawn in float64
    copies = 2 + (model.patience is not None)
    needed = (n_users + n_items + extra_rows) * (int(model.n_factors) + 1) * itemsize * copies
    if needed > available:
        raise InputError(f"n_factors={model.n_factors} for {n_users:,} users and {n_items:,} items needs about "
                         f"{_gib(needed)} of memory for the parameters ({copies} copies of P, Q and the biases "
                         f"while training), but only {_gib(available)} are available: use fewer factors")
