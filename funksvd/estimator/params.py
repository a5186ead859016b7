"""The parameters of :class:`~funksvd.FunkSVD`, checked before a fit: :func:`check_params`."""

from __future__ import annotations

import numpy as np

from ..base.errors import InputError
from ..base.validation import non_negative, positive_int
from ..maths.rules import get_rule
from ..sgd.steps import LOOP_ENGINES

__all__ = ["ENGINES", "SCHEDULES", "check_params"]

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
        if not np.isfinite(getattr(model, name)):
            raise InputError(f"{name} must be finite, got {getattr(model, name)!r}")
    if not isinstance(model.feature_trailing, (bool, np.bool_)):
        raise InputError(f"feature_trailing must be True or False, got {model.feature_trailing!r}")
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
