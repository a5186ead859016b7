r"""The accuracy measures of an error array, written once: RMSE and MAE.

.. math:: \mathrm{RMSE} = \sqrt{\tfrac{1}{n}\textstyle\sum_j e_j^2}, \qquad
          \mathrm{MAE} = \tfrac{1}{n}\textstyle\sum_j |e_j|

Every RMSE and MAE in funksvd (:func:`funksvd.rmse`, the validation RMSE of the trainers, the
training RMSE of the compiled epochs, the command line) is one of these functions.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["mean_absolute", "root_mean_square", "root_mean_square_of_sse"]


def root_mean_square(errors) -> float:
    r""":math:`\sqrt{\frac1n \sum_j e_j^2}` of the errors ``e = r - r_hat`` (float64)."""
    e = np.asarray(errors, dtype=np.float64)
    return float(np.sqrt(np.mean(e * e)))


def root_mean_square_of_sse(sse: float, n: int) -> float:
    r""":math:`\sqrt{\mathrm{SSE} / n}`: the RMSE of ``n`` errors whose squares sum to ``sse``."""
    return math.sqrt(float(sse) / n)


def mean_absolute(errors) -> float:
    r""":math:`\frac1n \sum_j |e_j|` of the errors ``e = r - r_hat`` (float64)."""
    return float(np.mean(np.abs(np.asarray(errors, dtype=np.float64))))
