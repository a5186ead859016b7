r"""Progress bars for training, with tqdm as an optional dependency (``pip install 'funksvd[progress]'``).

:func:`progress_bar` returns a tqdm bar when asked for one and a silent stand-in otherwise, so
the training loops call ``bar.update(...)`` unconditionally. tqdm is imported only when a bar is
actually requested; if it is missing the ``ImportError`` says how to get it.
"""

from __future__ import annotations

__all__ = ["progress_bar", "TQDM_HINT"]

TQDM_HINT = (
    "verbose=True draws a progress bar with tqdm, an optional dependency of funksvd: "
    "install it with pip install 'funksvd[progress]' (or pip install tqdm), or pass verbose=False"
)


class _Silent:
    """The bar of ``verbose=False``: accepts the calls, prints nothing."""

    def update(self, n: int = 1, **postfix) -> None:
        pass

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class _Bar(_Silent):
    """A tqdm bar whose :meth:`update` also sets the postfix (loss, validation RMSE, ...)."""

    def __init__(self, tqdm, total, desc, unit="epoch"):
        self._bar = tqdm(total=total, desc=desc, unit=unit, leave=True)

    def update(self, n: int = 1, **postfix) -> None:
        shown = {key: (f"{value:.4g}" if isinstance(value, float) else value)
                 for key, value in postfix.items() if value is not None}
        self._bar.set_postfix(shown, refresh=False)
        self._bar.update(n)

    def close(self) -> None:
        self._bar.close()


def progress_bar(total=None, desc: str = "", enabled: bool = True, unit: str = "epoch"):
    """A progress bar (per epoch unless ``unit`` says otherwise), or a silent stand-in when ``enabled`` is false.

    Parameters
    ----------
    total : int, optional
        Number of epochs, if known.
    desc : str
        Label on the left of the bar.
    enabled : bool
        False returns an object with the same methods that prints nothing (tqdm not needed).
    unit : str, default "epoch"
        What one step counts (``"user"`` for the top-N lists of :func:`funksvd.evaluation.top_n`).

    Raises
    ------
    ImportError
        If ``enabled`` and tqdm is not installed; the message says how to install it.
    """
    if not enabled:
        return _Silent()
    try:
        from tqdm import tqdm
    except ImportError as exc:
        raise ImportError(TQDM_HINT) from exc
    return _Bar(tqdm, total, desc, unit)
