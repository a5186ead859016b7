r"""Alternating least squares for the biased explicit model: closed-form half-steps, one source on two engines.

:mod:`.normal_equations` holds the loss (:func:`als_objective`), the per-row solve
(:func:`solve_rows`, its derivation in the docstring) and :func:`solve_side`, the one
normal-equations routine that ALS and :meth:`funksvd.FunkSVD.fold_in` share; :mod:`.sweeps`
lays the ratings out by user and by item and runs the half-steps; :mod:`.compiled` compiles the
same kernel with numba. The estimator is :class:`funksvd.ALS`.
"""

from .normal_equations import als_objective, solve_rows, solve_side
from .sweeps import Layout, als_sweep, half_step, sweep_arrays

__all__ = ["Layout", "als_objective", "als_sweep", "half_step", "solve_rows", "solve_side", "sweep_arrays"]
