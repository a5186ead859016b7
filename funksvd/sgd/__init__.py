"""Stochastic gradient descent on the per-rating rules: the epoch loop and its engines.

* :mod:`~funksvd.sgd.steps`: :func:`sgd_step`, :func:`sgd_epoch` (Python or compiled engine);
* :mod:`~funksvd.sgd.loops`: the epoch loop both engines run;
* :mod:`~funksvd.sgd.compiled`: numba compilation of the same source, on first use;
* :mod:`~funksvd.sgd.normal_draws`, :mod:`~funksvd.sgd.ziggurat`: numpy's normal start values, compiled;
* :mod:`~funksvd.sgd.orders`: the default visiting order (cells of users x items);
* :mod:`~funksvd.sgd.strata`: DSGD strata for ``n_jobs`` threads;
* :mod:`~funksvd.sgd.funk_schedule`: Simon Funk's feature-at-a-time schedule.
"""

from .steps import LOOP_ENGINES, sgd_epoch, sgd_step

__all__ = ["LOOP_ENGINES", "sgd_epoch", "sgd_step"]
