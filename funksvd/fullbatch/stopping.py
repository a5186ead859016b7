r"""What :func:`funksvd.train` and its twin record, and when they stop: one bookkeeping for both trainers.

The two trainers compute their own losses and metrics (numpy hand code, TensorFlow ops); this
module only decides which epochs are recorded (``log_every``, ``record_start``), which value is
watched (``monitor``) and whether training stops (``patience``, ``plateau``). Both trainers use it,
so they record and stop at the same epochs.
"""

from __future__ import annotations

import numpy as np

__all__ = ["MONITORS", "Recorder", "check_stopping_arguments", "default_monitor", "plateau"]

#: The values a trainer can watch: the training objective, or a validation figure.
MONITORS = ("loss", "val_rmse", "val_mse", "val_loss")


def plateau(checks, window: int = 5, tolerance: float = 0.01) -> bool:
    r"""The 2021 tutorial's stopping rule: the mean of the previous ``window`` checks minus the last is below ``tolerance`` of that mean.

    .. math:: \bar c - c_{\mathrm{last}} < \text{tolerance}\cdot\bar c, \qquad
              \bar c = \frac{1}{w}\sum_{j=1}^{w} c_{\mathrm{last}-j}

    False until ``window + 1`` checks exist.
    """
    if len(checks) <= window:
        return False
    previous = float(np.mean(checks[-window - 1:-1]))
    return previous - checks[-1] < tolerance * previous


def default_monitor(monitor, validation) -> str:
    """``monitor``, or ``"val_rmse"`` with validation ratings and ``"loss"`` without."""
    if monitor is None:
        return "loss" if validation is None else "val_rmse"
    return monitor


def check_stopping_arguments(validation, log_every, record_start, monitor, patience, min_improvement,
                             plateau_rule) -> None:
    """The checks of the recording and stopping arguments (``ValueError`` / ``TypeError`` naming the argument)."""
    if isinstance(log_every, bool) or int(log_every) != log_every or log_every < 1:
        raise ValueError(f"log_every must be a positive integer, got {log_every!r}")
    if not isinstance(record_start, bool):
        raise TypeError(f"record_start must be True or False, got {record_start!r}")
    if monitor is not None and monitor not in MONITORS:
        raise ValueError(f"monitor={monitor!r}; expected one of {MONITORS} or None")
    if monitor is not None and monitor != "loss" and validation is None:
        raise ValueError(f"monitor={monitor!r} needs validation ratings: train(..., validation=...)")
    if patience is not None and (isinstance(patience, bool) or int(patience) != patience or patience < 1):
        raise ValueError(f"patience must be a positive integer or None, got {patience!r}")
    if not (np.isfinite(min_improvement) and 0 <= min_improvement < 1):
        raise ValueError(f"min_improvement must be in [0, 1), got {min_improvement!r}")
    if plateau_rule is not None:
        try:
            window, tolerance = plateau_rule
        except (TypeError, ValueError):
            raise TypeError(f"plateau must be a pair (window, tolerance), got {plateau_rule!r}") from None
        if isinstance(window, bool) or int(window) != window or window < 1 or not np.isfinite(tolerance):
            raise ValueError(f"plateau=(window, tolerance) needs a positive integer window and a finite "
                             f"tolerance, got {plateau_rule!r}")


class Recorder:
    r"""The history of one training run, and its stopping rules.

    Epoch :math:`e` is recorded when :math:`e` is a multiple of ``log_every``, at the last epoch
    and, with ``record_start``, at :math:`e = 0` (the start values). Each record is a dict
    ``{"epoch", "loss", "val_rmse", "val_mse", "val_loss", "seconds"}`` (the validation entries
    None when not computed; ``seconds`` the wall time since the previous record). The stopping
    rules look at the monitored value of the records after step 0:

    * ``patience``: stop after ``patience`` records in a row without a relative improvement
      :math:`m < (1 - \text{min\_improvement})\cdot m_{\text{best}}` (as :class:`~funksvd.FunkSVD`);
    * ``plateau=(window, tolerance)``: stop when :func:`plateau` holds for the monitored records
      (the 2021 tutorial's rule, with ``log_every`` its check interval).
    """

    def __init__(self, n_epochs: int, log_every: int, monitor: str, patience: int | None, min_improvement: float,
                 plateau_rule) -> None:
        self.n_epochs = int(n_epochs)
        self.log_every = int(log_every)
        self.monitor = monitor
        self.patience = patience
        self.min_improvement = float(min_improvement)
        self.plateau = plateau_rule
        self.history: list[dict] = []
        self.watched: list[float] = []
        self.best = np.inf
        self.waited = 0

    def due(self, epoch: int) -> bool:
        """True when ``epoch`` is to be recorded (the last epoch always is)."""
        return epoch % self.log_every == 0 or epoch == self.n_epochs

    def record(self, epoch: int, loss: float, seconds: float, val_mse=None, val_loss=None) -> bool:
        """Append a record; return True when a stopping rule says stop (never for ``epoch == 0``)."""
        val_rmse = None if val_mse is None else float(np.sqrt(val_mse))
        entry = {"epoch": epoch, "loss": float(loss), "val_rmse": val_rmse,
                 "val_mse": None if val_mse is None else float(val_mse),
                 "val_loss": None if val_loss is None else float(val_loss), "seconds": seconds}
        self.history.append(entry)
        if epoch == 0:
            return False
        value = entry[self.monitor]
        if value is None:
            raise ValueError(f"monitor={self.monitor!r} was not computed")  # the checks make this unreachable
        self.watched.append(value)
        stop = False
        if self.patience is not None:
            if value < (1.0 - self.min_improvement) * self.best:
                self.best, self.waited = value, 0
            else:
                self.waited += 1
                stop = self.waited >= self.patience
        if self.plateau is not None:
            window, tolerance = self.plateau
            stop = stop or plateau(self.watched, int(window), float(tolerance))
        return stop

    @staticmethod
    def line(entry: dict, n_epochs: int) -> str:
        """The ``verbose`` line of a record."""
        shown = "".join(f"  {key} {entry[key]:.6g}" for key in ("val_rmse", "val_mse", "val_loss")
                        if entry[key] is not None)
        return f"epoch {entry['epoch']}/{n_epochs}  loss {entry['loss']:.6g}{shown}  ({entry['seconds']:.2f} s)"
