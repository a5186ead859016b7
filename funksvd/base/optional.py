"""Optional dependencies: import them on first use, or say what is missing and how to install it."""

from __future__ import annotations

import importlib
import os
import sys
from types import ModuleType

__all__ = ["TF_INSTALL", "TF_OPTIONS", "require_pandas", "require_tensorflow"]

#: The command that installs funksvd's TensorFlow extra.
TF_INSTALL = "pip install 'funksvd[tf]'"

#: Top-level modules of the TensorFlow stack that :mod:`funksvd.autodiff` imports.
_TF_MODULES = ("tensorflow", "keras")

#: Environment options TensorFlow reads once, when it loads. The twin is an oracle, so TensorFlow's
#: plain kernels rather than oneDNN's reordered ones (which TensorFlow itself warns may round
#: differently); the log level keeps its start-up banner out of the output. A value the caller set
#: is kept.
TF_OPTIONS = {"TF_ENABLE_ONEDNN_OPTS": "0", "TF_CPP_MIN_LOG_LEVEL": "2"}


def require_tensorflow(purpose: str = "this") -> ModuleType:
    """Import and return :mod:`tensorflow`, or raise ``ImportError`` saying what to install.

    The one door to TensorFlow: :mod:`funksvd.autodiff` calls it when it loads, and so do the
    callers of the twin (the gradient check's oracle, ``engine="tensorflow"``) before they import
    it. The first call, if TensorFlow is not loaded yet, sets :data:`TF_OPTIONS` in
    ``os.environ`` (only those the caller has not set): TensorFlow reads them on import and has no
    other way to set them. Importing funksvd writes no environment variable.

    Parameters
    ----------
    purpose : str
        What needs TensorFlow, for the message (e.g. ``"the tensorflow oracle"``).

    Returns
    -------
    module
        :mod:`tensorflow`.

    Raises
    ------
    ImportError
        ``"<purpose> needs TensorFlow, which is not installed: pip install 'funksvd[tf]'"`` when
        TensorFlow (or Keras, which it ships) cannot be imported. Any other import failure is
        re-raised as it is: it is a bug, not a missing extra.
    """
    if sys.modules.get("tensorflow") is None:
        for name, value in TF_OPTIONS.items():
            os.environ.setdefault(name, value)
    try:
        tensorflow = importlib.import_module("tensorflow")
        importlib.import_module("keras")
    except ModuleNotFoundError as exc:
        if (exc.name or "").partition(".")[0] not in _TF_MODULES:
            raise
        raise ImportError(f"{purpose} needs TensorFlow, which is not installed: {TF_INSTALL}") from exc
    return tensorflow


def require_pandas(purpose: str = "this") -> ModuleType:
    """Import and return :mod:`pandas`, or raise ``ImportError`` saying that ``purpose`` needs it."""
    try:
        return importlib.import_module("pandas")
    except ModuleNotFoundError as exc:
        if (exc.name or "").partition(".")[0] != "pandas":
            raise
        raise ImportError(f"{purpose} needs pandas, which is not installed: pip install pandas") from exc
