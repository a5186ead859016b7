"""Verification: every hand gradient against independent oracles.

* :mod:`~funksvd.check.gradients`: :func:`check_gradients` and its report;
* :mod:`~funksvd.check.finite_differences`: the numerical oracle (exact along a coordinate here).
"""

from .gradients import ORACLES, GradientCheck, GradientReport, check_gradients

__all__ = ["ORACLES", "GradientCheck", "GradientReport", "check_gradients"]
