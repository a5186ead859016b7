"""Optional dependencies: import them on first use, or say what is missing and how to install it."""

from __future__ import annotations

__all__ = ["TF_INSTALL", "require_tensorflow"]

#: The command that installs funksvd's TensorFlow extra.
TF_INSTALL = "pip install 'funksvd[tf]'"

#: Top-level modules of the TensorFlow stack that :mod:`funksvd.autodiff` imports.
_TF_MODULES = ("tensorflow", "keras")


def require_tensorflow(purpose: str = "this"):
    """Import and return :mod:`funksvd.autodiff`, or raise ``ImportError`` saying what to install.

    Parameters
    ----------
    purpose : str
        What needs TensorFlow, for the message (e.g. ``"the tensorflow oracle"``).

    Returns
    -------
    module
        :mod:`funksvd.autodiff`.

    Raises
    ------
    ImportError
        ``"<purpose> needs TensorFlow, which is not installed: pip install 'funksvd[tf]'"`` when
        TensorFlow (or Keras, which it ships) cannot be imported. Any other import failure is
        re-raised as it is: it is a bug, not a missing extra.
    """
    try:
        from .. import autodiff
    except ModuleNotFoundError as exc:
        if (exc.name or "").partition(".")[0] not in _TF_MODULES:
            raise
        raise ImportError(f"{purpose} needs TensorFlow, which is not installed: {TF_INSTALL}") from exc
    return autodiff
