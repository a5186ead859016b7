r"""``ALS``: the biased matrix-factorisation model of :class:`~funksvd.FunkSVD`, fitted by alternating least squares.

.. code-block:: python

    from funksvd import ALS
    model = ALS(n_factors=50, n_epochs=10, reg_all=0.12, random_state=0).fit(train, validation=test)
    model.predict(test.users, test.items)

The model, its predictions, recommendations, fold-in and files are those of
:class:`~funksvd.FunkSVD` (``ALS`` is a subclass); only the fit differs. Each epoch is one
sweep of :mod:`funksvd.als`: every user's :math:`(p_u, b_u)` solved exactly with the items fixed,
then every item's :math:`(q_i, b_i)`.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext

import numpy as np

from ..als.normal_equations import als_objective
from ..als.sweeps import Layout, one_blas_thread, sweep_arrays
from ..base.errors import DivergenceError, InputError
from ..base.progress import progress_bar
from ..base.rng import check_random_state
from ..maths.objectives import Objective
from ..model.factors import Factors
from .model import FunkSVD
from .scores import rmse_of
from .training import EarlyStopping, rating_counts

__all__ = ["ALS", "ALS_ENGINES"]

ALS_ENGINES = ("compiled", "python")


class ALS(FunkSVD):
    r"""Biased matrix factorisation fitted by alternating least squares (closed-form half-steps).

    Parameters
    ----------
    n_factors : int, default 50
        Number of latent factors :math:`k`.
    n_epochs : int, default 10
        Sweeps; each solves every user, then every item.
    reg_all : float, default 0.12
        :math:`\lambda` of every block. The defaults were chosen on MovieLens 100K (80/20 split,
        seed 0; test RMSE 0.921 against 0.946 for ``FunkSVD()``): the weighted loss needs a
        larger :math:`\lambda` than SGD's 0.02, which early stopping and small steps regularise
        too, while ALS goes to the loss's minimiser.
    weighted : bool, default True
        Weighted :math:`\lambda` (Zhou et al. 2008, Spark's ``ALS``): the penalty of :math:`p_u`
        counts once per rating of :math:`u` (:math:`\omega_u = n_u`). The loss is then the
        summed per-rating loss of ``FunkSVD(rule="funk")``, Surprise's ``SVD``: the two estimators
        minimise the same function, by different means. ``False``: once per row (:math:`\omega_u = 1`).
    weight_exponent : float, default 1.0
        With ``weighted``, :math:`\omega_u = n_u^\alpha` for :math:`\alpha` = ``weight_exponent``
        (frequency-scaled regularisation, as Rendle et al. 2022 tune it for implicit ALS): 1 is
        Zhou et al.'s weighted :math:`\lambda` (the loss of ``rule="funk"``); below 1 a row's
        penalty grows more slowly than its ratings. On MovieLens 100K, :math:`\alpha = 0.5` with
        :math:`\lambda` about ten times larger gives a lower 5-fold CV RMSE than :math:`\alpha = 1`
        (``benchmarks/RESULTS.md``). Must be 1 when ``weighted=False``.
    biased : bool, default True
        Learn :math:`b_u, b_i` (an augmented column of ones in each regression) with :math:`\mu` =
        training mean; else :math:`\hat r = p_u^\top q_i`.
    init_mean, init_std_dev : float, default 0.0 and 0.1
        :math:`P, Q \sim \mathcal N(\text{init\_mean}, \text{init\_std\_dev}^2)`, drawn as
        :class:`~funksvd.FunkSVD` draws them (the same ``random_state`` gives the same start);
        biases start at 0. The first half-step overwrites :math:`P, b_u`: only :math:`Q` matters.
    random_state : int, numpy Generator or None
        Seeds the start; the sweeps are deterministic, so the same integer gives bit-identical
        factors, whatever ``n_jobs``.
    engine : {"compiled", "python"}, default "compiled"
        The half-step kernel compiled by numba, or the same source as plain Python over numpy.
    dtype : {numpy.float64, numpy.float32}, default float64
        Dtype of the stored parameters; every system is built and solved in float64.
    verbose : bool, default False
        A tqdm progress bar (loss and validation RMSE per sweep).
    reg_bu, reg_bi, reg_pu, reg_qi : float or None
        Per-block :math:`\lambda_{b_u}, \lambda_{b_i}, \lambda_P, \lambda_Q`; ``None`` uses ``reg_all``.
    patience : int or None, default None
        Early stopping on the validation RMSE, as in :class:`~funksvd.FunkSVD` (needs
        ``validation``); the best sweep's parameters are kept.
    min_improvement : float, default 1e-4
        A sweep improves when :math:`\mathrm{RMSE} < (1 - \text{min\_improvement})\cdot\mathrm{best}`.
    n_jobs : int, default 1
        Threads per half-step, over contiguous blocks of users (items); the kernel releases the
        GIL. Every row's solve reads only the fixed side, so the result is bit-identical to
        ``n_jobs=1``.

    Attributes
    ----------
    factors_, mu_, history_, n_epochs_, best_epoch_, stopped_early_, rating_range_, global_mean_,
    user_ids_, item_ids_, item_titles_
        As in :class:`~funksvd.FunkSVD`. ``history_`` has one record per sweep: ``epoch``,
        ``loss`` (the exact loss after the sweep), ``train_rmse``, ``val_rmse``, ``seconds``, ``kept``.

    Notes
    -----
    The loss (:func:`funksvd.als.als_objective`; the derivation is in
    :func:`funksvd.als.solve_rows` and the docs' ALS page):

    .. math::

        L = \frac12 \sum_{(u,i) \in \mathcal K} e_{ui}^2
        + \frac12 \sum_u \omega_u \big(\lambda_P \lVert p_u\rVert^2 + \lambda_{b_u} b_u^2\big)
        + \frac12 \sum_i \omega_i \big(\lambda_Q \lVert q_i\rVert^2 + \lambda_{b_i} b_i^2\big)

    with :math:`\omega_u = n_u^\alpha` (``weighted``, :math:`\alpha` = ``weight_exponent``) or 1.
    Each half-step minimises :math:`L` exactly over one side, so ``history_``'s loss never
    increases. A user or item of the training data without a rating is set to 0 (and
    predicted as unknown, as in :class:`~funksvd.FunkSVD`). :meth:`fold_in` solves the same
    normal equations for a new user. One sweep costs at most :math:`O(|\mathcal K|\,k^2 + (n_u + n_i)\,k^3)`;
    a row with fewer ratings than unknowns is solved in the dual form, at :math:`O(n_u^2 k)`.
    """

    def __init__(self, n_factors=50, n_epochs=10, reg_all=0.12, weighted=True, biased=True, init_mean=0.0,
                 init_std_dev=0.1, random_state=None, engine="compiled", dtype=np.float64, verbose=False,
                 reg_bu=None, reg_bi=None, reg_pu=None, reg_qi=None, patience=None, min_improvement=1e-4,
                 n_jobs=1, weight_exponent=1.0):
        self.n_factors = n_factors
        self.n_epochs = n_epochs
        self.reg_all = reg_all
        self.weighted = weighted
        self.biased = biased
        self.init_mean = init_mean
        self.init_std_dev = init_std_dev
        self.random_state = random_state
        self.engine = engine
        self.dtype = dtype
        self.verbose = verbose
        self.reg_bu = reg_bu
        self.reg_bi = reg_bi
        self.reg_pu = reg_pu
        self.reg_qi = reg_qi
        self.patience = patience
        self.min_improvement = min_improvement
        self.n_jobs = n_jobs
        self.weight_exponent = weight_exponent

    def _objective(self) -> Objective:
        return als_objective(bool(self.weighted))

    def _weight_exponent(self) -> float:
        return float(self.weight_exponent)

    def _check_params(self) -> None:
        for name in ("n_factors", "n_epochs", "n_jobs", "patience"):
            value = getattr(self, name)
            if name == "patience" and value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise InputError(f"{name} must be a positive integer, got {value!r}")
        for name in ("reg_all", "init_std_dev", "min_improvement", "reg_bu", "reg_bi", "reg_pu", "reg_qi",
                     "weight_exponent"):
            value = getattr(self, name)
            if value is None and name.startswith("reg_") and name != "reg_all":
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or not (
                    np.isfinite(value) and value >= 0):
                raise InputError(f"{name} must be a finite number >= 0, got {value!r}")
        if not np.isfinite(self.init_mean):
            raise InputError(f"init_mean must be finite, got {self.init_mean!r}")
        for name in ("weighted", "biased"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise InputError(f"{name} must be True or False, got {getattr(self, name)!r}")
        if not self.weighted and self.weight_exponent != 1.0:
            raise InputError(f"weight_exponent={self.weight_exponent!r} scales the weighted penalty (n_u ** alpha); "
                             "with weighted=False every row's penalty counts once: leave weight_exponent at 1")
        check_random_state(self.random_state)  # the one convention: an InputError naming random_state
        if self.engine not in ALS_ENGINES:
            raise InputError(f"unknown engine {self.engine!r} for ALS; expected one of {ALS_ENGINES}")
        try:
            dtype = np.dtype(self.dtype)
        except TypeError:
            dtype = None
        if dtype not in (np.float32, np.float64):
            raise InputError(f"dtype must be numpy.float32 or numpy.float64, got {self.dtype!r}")

    def fit(self, ratings, validation=None, init: Factors | None = None) -> ALS:
        r"""Fit by ``n_epochs`` ALS sweeps (fewer with early stopping).

        Parameters
        ----------
        ratings : Ratings or Dataset
            The training ratings (raw ids with a :class:`~funksvd.data.Dataset`).
        validation : Ratings or Dataset, optional
            Held-out ratings: RMSE per sweep, and early stopping with ``patience``.
        init : Factors, optional
            Start instead of the random draw (only its :math:`Q, b_i` and :math:`\mu` matter).

        Returns
        -------
        self

        Raises
        ------
        InputError
            Invalid parameters or inputs, or singular normal equations (``reg_pu`` or ``reg_qi``
            0 with a row of fewer ratings than unknowns).
        RuntimeError
            The same estimator is already being fitted in another thread.
        """
        FunkSVD.fit(self, ratings, validation, init)  # trained aside, published whole: predict sees one fit
        return self

    def _fit(self, ratings, validation, init) -> ALS:
        data, ratings, validation = self._training_inputs(ratings, validation)
        self.history_ = []
        if init is not None:
            start = self._check_init(init, ratings)
        else:
            start = Factors.random(
                ratings.n_users, ratings.n_items, self.n_factors, biased=self.biased,
                mu=ratings.mean() if self.biased else 0.0, init_mean=self.init_mean,
                init_std_dev=self.init_std_dev, random_state=check_random_state(self.random_state),
                dtype=np.dtype(self.dtype))
        self._sweeps(start, ratings, validation)
        self.rating_range_ = (float(ratings.values.min()), float(ratings.values.max()))
        self.global_mean_ = float(ratings.mean())
        self.user_ids_, self.item_ids_, self.item_titles_ = data.user_ids, data.item_ids, data.item_titles
        self._train_ratings = ratings
        return self

    def _sweeps(self, start: Factors, ratings, validation) -> None:
        """The epoch loop: a sweep, its exact loss, validation, early stopping, the bar."""
        arrays, mu = start.mutable_copy(), start.mu
        layout, objective, reg = Layout.of(ratings), self._objective(), self._hyper("reg")
        counts = tuple(n ** self._weight_exponent() for n in rating_counts(ratings))  # the weights omega_u, omega_i
        sse_engine = self.engine  # the compiled loop with the compiled engine, numpy with the Python one
        stopper = EarlyStopping(self.patience, self.min_improvement)
        bar = progress_bar(self.n_epochs, f"ALS[{self.engine}]", self.verbose)
        try:
            with one_blas_thread(), ThreadPoolExecutor(self.n_jobs) if self.n_jobs > 1 else nullcontext() as pool:
                tic = time.perf_counter()
                for epoch in range(1, self.n_epochs + 1):
                    sweep_arrays(arrays, mu, layout, objective, reg, self.engine, self.n_jobs, pool,
                                 self._weight_exponent())
                    sse = rmse_of(arrays, mu, ratings, sse_engine) ** 2 * len(ratings)
                    penalty, _ = objective.penalty_terms(Factors.from_arrays(*arrays, mu), reg, counts, False)
                    loss = objective.data_weight * sse + penalty
                    if not np.isfinite(loss):
                        raise DivergenceError(f"sweep {epoch}: the loss became {loss}; the ratings or the start "
                                              "values are too large for float arithmetic")
                    val = None if validation is None else rmse_of(arrays, mu, validation, sse_engine)
                    stop = stopper.update(epoch, val, arrays)
                    toc = time.perf_counter()
                    self.history_.append({"epoch": epoch, "loss": loss,
                                          "train_rmse": float(np.sqrt(sse / len(ratings))),
                                          "val_rmse": val, "seconds": toc - tic, "kept": False})
                    tic = toc
                    bar.update(1, loss=loss, val_rmse=val)
                    if stop:
                        break
        finally:
            bar.close()
        best = stopper.best_epoch if stopper.active else len(self.history_)
        if stopper.active:
            arrays = stopper.best_arrays
        self.factors_ = Factors.from_arrays(*arrays, mu)
        self.mu_ = float(mu)
        self.n_epochs_ = len(self.history_)
        self.best_epoch_ = best
        self.stopped_early_ = stopper.stopped
        self.history_[best - 1]["kept"] = True
