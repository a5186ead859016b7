r"""``FunkSVD``: a scikit-learn style estimator around the per-rating rules.

.. code-block:: python

    from funksvd.estimator import FunkSVD
    model = FunkSVD(n_factors=100, n_epochs=20, random_state=0).fit(train, validation=test)
    model.predict(test.users, test.items)

The defaults are those of Surprise's ``SVD`` (REFERENCE §3). Training runs
:func:`funksvd.sgd.epoch_function` on writable arrays kept across epochs, so the compiled engine
trains at compiled speed; the Python engine runs the very same source and is the oracle the
tests compare it with. ``schedule="feature"`` trains one feature at a time as Simon Funk did
(:mod:`funksvd.feature`); ``engine="tensorflow"`` hands the model to
:func:`funksvd.autodiff.train`.
"""

from __future__ import annotations

import inspect
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from functools import lru_cache

import numpy as np

from .errors import DivergenceError, NotFittedError
from .factors import BLOCKS, Factors
from .feature import train_features
from .parallel import Strata
from .progress import progress_bar
from .ratings import Ratings
from .rules import RULES, get_rule, predict_one
from .sgd import epoch_function

__all__ = ["FunkSVD", "ENGINES", "SCHEDULES", "DIVERGENCE_FACTOR", "SHUFFLE_BLOCK"]

ENGINES = ("python", "compiled", "tensorflow")
SCHEDULES = ("joint", "feature")

#: Ratings per run of ``shuffle="blocks"``.
SHUFFLE_BLOCK = 4096

#: Training stops with :class:`~funksvd.DivergenceError` when the loss exceeds this multiple of the first epoch's.
DIVERGENCE_FACTOR = 1e6

_CHUNK = 1 << 16  # ratings per chunk when predicting, so memory stays O(chunk * k)


class FunkSVD:
    r"""Biased matrix factorisation trained by SGD with one of the classic rules.

    Parameters
    ----------
    n_factors : int, default 100
        Number of latent factors :math:`k`.
    n_epochs : int, default 20
        Passes over the training ratings (joint schedule; see ``feature_epochs`` otherwise).
    lr_all, reg_all : float, default 0.005 and 0.02
        Learning rate :math:`\gamma` and regularisation :math:`\lambda` of every block.
    rule : {"funk", "quuxlabs", "quuxlabs_listing"}, default "funk"
        The per-rating update (:data:`funksvd.RULES`). ``"funk"`` is Surprise's ``SVD``.
    biased : bool, default True
        Learn :math:`b_u, b_i` and use :math:`\mu` = training mean; else :math:`\hat r = p_u^\top q_i`.
    init_mean, init_std_dev : float, default 0.0 and 0.1
        :math:`P, Q \sim \mathcal N(\text{init\_mean}, \text{init\_std\_dev}^2)`; biases start at 0.
    shuffle : {True, False, "blocks"}, default True
        ``True``: visit the ratings in a fresh random order each epoch. ``False``: in stored
        order, as Surprise does. ``"blocks"``: runs of ``SHUFFLE_BLOCK`` consecutive ratings, in
        a fresh random order each epoch, each run in stored order. At scale a full shuffle
        makes every rating a random memory access (its user, item and value, then its rows of
        :math:`P, Q`); block shuffling keeps the reads sequential within a run, at the price of
        a coarser randomisation (see ``benchmarks/RESULTS.md``). On data in random order, such
        as MovieLens' ``u.data``, it is nearly a full shuffle.
    random_state : int, numpy Generator or None
        Seeds one ``numpy.random.default_rng``: the initial factors are drawn from it first,
        then one permutation per epoch. The same integer gives bit-identical factors.
    engine : {"compiled", "python", "tensorflow"}, default "compiled"
        numba-compiled kernels, the same kernels as plain Python, or autodiff with a TensorFlow
        optimizer (:func:`funksvd.autodiff.train`; joint schedule only).
    schedule : {"joint", "feature"}, default "joint"
        All factors at once, or Simon Funk's one feature at a time (:mod:`funksvd.feature`).
    dtype : {numpy.float64, numpy.float32}, default float64
        Dtype of the parameters; float32 halves their memory. Ratings stay float64.
    verbose : bool, default False
        Show a tqdm progress bar (loss and validation RMSE per epoch). Needs tqdm
        (``pip install 'funksvd[progress]'``).
    lr_bu, lr_bi, lr_pu, lr_qi, reg_bu, reg_bi, reg_pu, reg_qi : float or None
        Per-block overrides; ``None`` uses ``lr_all`` / ``reg_all`` (as in Surprise).
    patience : int or None, default None
        Early stopping: stop after ``patience`` epochs without a relative improvement of the
        validation RMSE of at least ``min_improvement``, and keep the best epoch's parameters.
        Needs ``validation`` in :meth:`fit`. With ``schedule="feature"`` it counts finished
        stages (the bias stage, then features), judged at the end of each: a feature on its
        slow start would otherwise look like overfitting.
    min_improvement : float, default 1e-4
        An epoch improves when :math:`\mathrm{RMSE} < (1 - \text{min\_improvement})\cdot\mathrm{best}`.
    feature_epochs : int, default 100
        ``schedule="feature"``: epochs per stage at most.
    feature_min_epochs : int, default 30
        ``schedule="feature"``: epochs per stage at least. A new feature starts from constant
        columns, nearly orthogonal to what is left to fit, and improves very slowly before it
        takes off; judged from its second epoch it would end there (see :mod:`funksvd.feature`).
    feature_min_improvement : float, default 1e-4
        ``schedule="feature"``: from epoch ``feature_min_epochs`` of a stage on, the stage ends
        after the first epoch that improves the training RMSE by less than this fraction.
    feature_init : float, default 0.1
        ``schedule="feature"``: starting value of every factor entry (Funk's 0.1).
    optimizer : str, default "adam"
        ``engine="tensorflow"`` only: the Keras optimizer.
    batch_size : int or None, default None
        ``engine="tensorflow"`` only: ratings per step; None is full batch.
    decay_rate : float or None, default None
        ``engine="tensorflow"`` only: exponential learning-rate decay every 1000 steps.
    n_jobs : int, default 1
        Threads for ``schedule="joint"``. With ``n_jobs > 1`` the ratings are cut into
        ``n_jobs x n_jobs`` blocks of user groups x item groups, and blocks that share no user
        and no item run at the same time (DSGD, :mod:`funksvd.parallel`). The result is
        bit-identical from run to run, and equal to a single-thread epoch in the blocked
        visiting order; only that order differs from ``n_jobs=1``. ``shuffle=True`` permutes
        the ratings within each block every epoch.

    Attributes
    ----------
    factors_ : Factors
        The fitted parameters (never non-finite).
    mu_ : float
        :math:`\mu`: the training mean (biased), 0 (unbiased) or ``init.mu``.
    history_ : list of dict
        One record per epoch run: ``epoch`` (from 1), ``loss``, ``train_rmse``, ``val_rmse``
        (None without validation), ``seconds``, ``kept`` (True for the epoch whose parameters
        are in ``factors_``) and, for ``schedule="feature"``, ``feature`` (None for the bias
        stage).
    n_epochs_ : int
        Epochs actually run.
    best_epoch_ : int
        The epoch whose parameters are in ``factors_``.
    stopped_early_ : bool
        True when early stopping ended training.
    rating_range_ : (float, float)
        Lowest and highest training rating (for ``predict(..., clip=True)``).

    Notes
    -----
    The model and the rule's loss are (REFERENCE §3)

    .. math::

        \hat r_{ui} = \mu + b_u + b_i + p_u^\top q_i, \qquad
        L = \sum_{(u,i) \in \mathcal K} \ell_{ui}

    with the per-rating loss :math:`\ell_{ui}` of the rule (``funksvd.RULES[rule].objective``).

    **The loss in** ``history_``. Evaluating :math:`L` exactly after each epoch needs another
    :math:`O(|\mathcal K|\,k)` pass. Instead the SSE the kernel accumulates during the epoch
    (each error taken just before its update) stands in for the data term, and the penalty is
    evaluated exactly at the end of the epoch, in :math:`O((n_u + n_i)\,k)` via the counts
    :math:`n_u, n_i` of ratings per user and item:

    .. math::

        \tilde L = c \sum_{\text{epoch}} e^2 + \sum_u n_u\,\lambda_P w_f \lVert p_u\rVert^2
        + \sum_i n_i\,\lambda_Q w_f \lVert q_i\rVert^2 + \sum_u n_u\,\lambda_{b_u} w_b\, b_u^2
        + \sum_i n_i\,\lambda_{b_i} w_b\, b_i^2

    where :math:`c, w_f, w_b` are the weights of the rule's objective. With learning rate 0 it
    is :math:`L` exactly. While training it sits a few percent above :math:`L` at the end of the
    epoch (4.6% on MovieLens 100K after 20 epochs with the defaults): each error is taken just
    before its own rating's update, which then lowers it, so the gap does not vanish as training
    settles. It is the usual running training error of SGD; for the exact value call
    ``funksvd.loss(model.factors_, ratings, rule, reg)``. ``train_rmse`` is
    :math:`\sqrt{\sum e^2 / |\mathcal K|}` from the same running errors. The TensorFlow engine
    reports its own loss instead.

    **Divergence.** After each epoch, a non-finite parameter or loss, or a loss above
    ``DIVERGENCE_FACTOR`` times the first epoch's, raises :class:`~funksvd.DivergenceError`
    naming the epoch, the rule and a smaller learning rate to try; the estimator is then left
    unfitted (``history_`` holds the epochs run), so ``factors_`` never holds NaN.

    **Feature schedule.** Funk used ``lr_all=0.001, reg_all=0.015, feature_init=0.1`` and
    about 100 epochs per feature; the estimator keeps Surprise's defaults, pass Funk's values
    (with ``feature_min_epochs=100``) to reproduce him. Only ``rule="funk"`` is defined
    feature-wise. Measured on MovieLens 100K (80/20 split, seed 0, 40 features, compiled):
    test RMSE 0.951 with the defaults, 0.947 with Funk's values and 100 epochs per feature.
    """

    def __init__(self, n_factors=100, n_epochs=20, lr_all=0.005, reg_all=0.02, rule="funk", biased=True,
                 init_mean=0.0, init_std_dev=0.1, shuffle=True, random_state=None, engine="compiled",
                 schedule="joint", dtype=np.float64, verbose=False,
                 lr_bu=None, lr_bi=None, lr_pu=None, lr_qi=None,
                 reg_bu=None, reg_bi=None, reg_pu=None, reg_qi=None,
                 patience=None, min_improvement=1e-4,
                 feature_epochs=100, feature_min_epochs=30, feature_min_improvement=1e-4, feature_init=0.1,
                 optimizer="adam", batch_size=None, decay_rate=None, n_jobs=1):
        self.n_factors = n_factors
        self.n_epochs = n_epochs
        self.lr_all = lr_all
        self.reg_all = reg_all
        self.rule = rule
        self.biased = biased
        self.init_mean = init_mean
        self.init_std_dev = init_std_dev
        self.shuffle = shuffle
        self.random_state = random_state
        self.engine = engine
        self.schedule = schedule
        self.dtype = dtype
        self.verbose = verbose
        self.lr_bu = lr_bu
        self.lr_bi = lr_bi
        self.lr_pu = lr_pu
        self.lr_qi = lr_qi
        self.reg_bu = reg_bu
        self.reg_bi = reg_bi
        self.reg_pu = reg_pu
        self.reg_qi = reg_qi
        self.patience = patience
        self.min_improvement = min_improvement
        self.feature_epochs = feature_epochs
        self.feature_min_epochs = feature_min_epochs
        self.feature_min_improvement = feature_min_improvement
        self.feature_init = feature_init
        self.optimizer = optimizer
        self.batch_size = batch_size
        self.decay_rate = decay_rate
        self.n_jobs = n_jobs

    # ---- scikit-learn conventions -----------------------------------------------------------

    @classmethod
    def _param_names(cls) -> list[str]:
        return [name for name in inspect.signature(cls.__init__).parameters if name != "self"]

    def get_params(self, deep: bool = True) -> dict:
        """The constructor parameters by name."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params) -> "FunkSVD":
        """Set constructor parameters by name; unknown names raise ``ValueError``."""
        valid = self._param_names()
        for name, value in params.items():
            if name not in valid:
                raise ValueError(f"invalid parameter {name!r} for FunkSVD; valid parameters: {valid}")
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        defaults = {name: p.default for name, p in inspect.signature(type(self).__init__).parameters.items()}
        changed = []
        for name, value in self.get_params().items():
            default = defaults[name]
            try:
                same = type(value) is type(default) and bool(value == default)
            except (TypeError, ValueError):
                same = False
            if not (same or value is default):
                shown = getattr(value, "__name__", None) if name == "dtype" else None
                changed.append(f"{name}={'np.' + shown if shown else repr(value)}")
        return f"FunkSVD({', '.join(changed)})"

    # ---- parameters ----------------------------------------------------------------------------

    def _check_params(self) -> None:
        def positive_int(name, allow_none=False):
            value = getattr(self, name)
            if allow_none and value is None:
                return
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")

        def non_negative(name, allow_none=False):
            value = getattr(self, name)
            if allow_none and value is None:
                return
            if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or not (
                    np.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")

        positive_int("n_factors")
        positive_int("n_epochs")
        positive_int("patience", allow_none=True)
        positive_int("feature_epochs")
        positive_int("feature_min_epochs")
        positive_int("batch_size", allow_none=True)
        positive_int("n_jobs")
        for name in ("lr_all", "reg_all", "init_std_dev", "min_improvement", "feature_min_improvement"):
            non_negative(name)
        for block in ("bu", "bi", "pu", "qi"):
            non_negative(f"lr_{block}", allow_none=True)
            non_negative(f"reg_{block}", allow_none=True)
        for name in ("init_mean", "feature_init"):
            if not np.isfinite(getattr(self, name)):
                raise ValueError(f"{name} must be finite, got {getattr(self, name)!r}")
        if self.decay_rate is not None and not 0 < self.decay_rate <= 1:
            raise ValueError(f"decay_rate must be None or in (0, 1], got {self.decay_rate!r}")
        get_rule(self.rule)
        if self.engine not in ENGINES:
            raise ValueError(f"unknown engine {self.engine!r}; expected one of {ENGINES}")
        if not (isinstance(self.shuffle, (bool, np.bool_)) or self.shuffle == "blocks"):
            raise ValueError(f"shuffle must be True, False or 'blocks', got {self.shuffle!r}")
        if self.shuffle == "blocks" and self.n_jobs != 1:
            raise ValueError("shuffle='blocks' runs with n_jobs=1; with n_jobs > 1 each DSGD block is shuffled")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"unknown schedule {self.schedule!r}; expected one of {SCHEDULES}")
        try:
            dtype = np.dtype(self.dtype)
        except TypeError:
            dtype = None
        if dtype not in (np.float32, np.float64):
            raise ValueError(f"dtype must be numpy.float32 or numpy.float64, got {self.dtype!r}")
        if self.schedule == "feature":
            if self.engine == "tensorflow":
                raise ValueError("schedule='feature' runs on engine='python' or 'compiled', not 'tensorflow'")
            if get_rule(self.rule).name != "funk":
                raise ValueError(f"schedule='feature' is Simon Funk's rule; got rule={self.rule!r}, use rule='funk'")
        if self.n_jobs != 1 and (self.schedule != "joint" or self.engine == "tensorflow"):
            raise ValueError("n_jobs > 1 runs the joint schedule on engine='compiled' (or 'python'); "
                             f"got schedule={self.schedule!r}, engine={self.engine!r}")
        if self.engine == "tensorflow":
            overrides = [f"lr_{b}" for b in ("bu", "bi", "pu", "qi") if getattr(self, f"lr_{b}") is not None]
            if overrides:
                raise ValueError(f"engine='tensorflow' takes one learning rate (lr_all); drop {overrides}")

    def _hyper(self, kind: str) -> dict[str, float]:
        """``lr`` or ``reg`` per block ``P, Q, bu, bi``: the override, or the ``*_all`` value."""
        default = float(getattr(self, f"{kind}_all"))
        names = {"P": "pu", "Q": "qi", "bu": "bu", "bi": "bi"}
        out = {}
        for block in BLOCKS:
            value = getattr(self, f"{kind}_{names[block]}")
            out[block] = default if value is None else float(value)
        return out

    # ---- fitting -------------------------------------------------------------------------------

    def fit(self, ratings: Ratings, validation: Ratings | None = None, init: Factors | None = None) -> "FunkSVD":
        r"""Train on ``ratings``.

        Parameters
        ----------
        ratings : Ratings
            The training ratings; their ``n_users, n_items`` fix the model's shape.
        validation : Ratings, optional
            Held-out ratings: their RMSE is recorded per epoch, and drives early stopping when
            ``patience`` is set. Ids must be within the training ranges.
        init : Factors, optional
            Starting parameters instead of the random initialisation; must match the shape,
            ``n_factors`` and ``biased``. Its ``mu`` is used as :math:`\mu`.

        Returns
        -------
        self

        Raises
        ------
        ValueError
            Invalid parameters or inputs.
        DivergenceError
            Training blew up (see the class Notes); the estimator is left unfitted.
        """
        self._check_params()
        if not isinstance(ratings, Ratings):
            raise TypeError(f"ratings must be a funksvd.Ratings, got {type(ratings).__name__}")
        if validation is not None:
            _check_within(validation, ratings.n_users, ratings.n_items, "validation")
        if self.patience is not None and validation is None:
            raise ValueError("patience (early stopping) needs validation ratings: fit(ratings, validation=...)")
        for name in ("factors_", "mu_", "n_epochs_", "best_epoch_", "stopped_early_", "rating_range_"):
            self.__dict__.pop(name, None)
        self.history_ = []

        dtype = np.dtype(self.dtype)
        rng = np.random.default_rng(self.random_state)
        if init is not None:
            start = self._check_init(init, ratings)
            mu = init.mu
        else:
            mu = ratings.mean() if self.biased else 0.0
            start = None
            if self.schedule == "joint":
                start = Factors.random(
                    ratings.n_users, ratings.n_items, self.n_factors, biased=self.biased, mu=mu,
                    init_mean=self.init_mean, init_std_dev=self.init_std_dev, random_state=rng, dtype=dtype,
                )
        rating_range = (float(ratings.values.min()), float(ratings.values.max()))
        if self.engine == "tensorflow":
            return self._fit_tensorflow(start, ratings, validation, rng, rating_range)
        epochs, arrays = (self._joint if self.schedule == "joint" else self._feature)(
            start, mu, ratings, rng, rating_range)
        total = self.n_epochs if self.schedule == "joint" else None
        self._train(epochs, arrays, mu, ratings, validation, total)
        self.rating_range_ = rating_range
        return self

    def _check_init(self, init: Factors, ratings: Ratings) -> Factors:
        if not isinstance(init, Factors):
            raise TypeError(f"init must be a funksvd.Factors, got {type(init).__name__}")
        expected = (ratings.n_users, ratings.n_items, self.n_factors)
        got = (init.n_users, init.n_items, init.n_factors)
        if got != expected:
            raise ValueError(
                f"init has shape (n_users, n_items, n_factors) = {got} but the ratings and n_factors "
                f"need {expected}"
            )
        if init.biased != bool(self.biased):
            raise ValueError(f"init is {'biased' if init.biased else 'unbiased'} but biased={self.biased}")
        if init.dtype != np.dtype(self.dtype):
            init = init.replace(**{name: value.astype(self.dtype) for name, value in init.params().items()})
        return init

    def _order(self, rng, n: int):
        """The visiting order of the next epoch: a fresh permutation, stored order, or shuffled blocks."""
        buffer = _arange_into(np.empty(n, dtype=np.int32 if n < 2**31 else np.int64))
        if isinstance(self.shuffle, str):  # "blocks", checked in _check_params
            return lambda: _block_order(buffer, SHUFFLE_BLOCK, rng)
        if not self.shuffle:
            return lambda: buffer

        def shuffled():  # rng.permutation(n), drawn into one reused buffer (int32 while n < 2**31)
            rng.shuffle(_arange_into(buffer))
            return buffer

        return shuffled

    def _joint(self, start: Factors, mu, ratings, rng, rating_range):
        """All factors at once: one ``epoch_function(rule, engine)`` call per epoch (per block with ``n_jobs > 1``)."""
        arrays = P, Q, bu, bi = start.mutable_copy()
        run = epoch_function(self.rule, self.engine)
        lr, reg = self._hyper("lr"), self._hyper("reg")
        lr, reg = tuple(lr[b] for b in BLOCKS), tuple(reg[b] for b in BLOCKS)
        if self.n_jobs == 1:
            next_order = self._order(rng, len(ratings))

            def epochs():
                for _ in range(self.n_epochs):
                    yield None, float(run(P, Q, bu, bi, mu, ratings.users, ratings.items, ratings.values,
                                          next_order(), lr, reg)), True

            return epochs(), arrays

        strata = Strata(ratings, self.n_jobs)
        # threads only help the compiled loop, which releases the GIL; the Python engine runs
        # the same blocks one after another (and gives the same result)
        threaded = self.engine == "compiled"

        def epochs():
            with ThreadPoolExecutor(self.n_jobs) if threaded else nullcontext() as pool:
                for _ in range(self.n_epochs):
                    if self.shuffle:
                        strata.shuffle(rng)
                    yield None, float(strata.run(run, arrays, mu, ratings, lr, reg, pool)), True

        return epochs(), arrays

    def _feature(self, start: Factors | None, mu, ratings, rng, rating_range):
        """Funk's schedule (:func:`funksvd.feature.train_features`); columns start at 0."""
        dtype = np.dtype(self.dtype)
        shape = (ratings.n_users, ratings.n_items)
        nb = shape if self.biased else (0, 0)
        P = np.zeros((shape[0], self.n_factors), dtype)
        Q = np.zeros((shape[1], self.n_factors), dtype)
        bu = np.zeros(nb[0], dtype) if start is None or not self.biased else start.bu.copy()
        bi = np.zeros(nb[1], dtype) if start is None or not self.biased else start.bi.copy()
        lr, reg = self._hyper("lr"), self._hyper("reg")
        epochs = train_features(
            P, Q, bu, bi, np.full(len(ratings), mu, dtype), ratings.users, ratings.items, ratings.values,
            next_order=self._order(rng, len(ratings)),
            lr=tuple(lr[b] for b in BLOCKS), reg=tuple(reg[b] for b in BLOCKS),
            rating_range=rating_range, max_epochs=self.feature_epochs,
            min_improvement=self.feature_min_improvement, min_epochs=self.feature_min_epochs,
            feature_init=self.feature_init,
            start=None if start is None else (start.P, start.Q), engine=self.engine,
        )
        return epochs, (P, Q, bu, bi)

    def _train(self, epochs, arrays, mu, ratings, validation, total) -> None:
        """The loop shared by both schedules: loss, validation, divergence guard, early stopping, bar."""
        counts = (_counts(ratings.users, ratings.n_users), _counts(ratings.items, ratings.n_items))
        reg = self._hyper("reg")
        stopper = _EarlyStopping(self.patience, self.min_improvement)
        first_loss = None
        bar = progress_bar(total, f"FunkSVD[{self.engine}, {self.schedule}]", self.verbose)
        try:
            tic = time.perf_counter()
            with np.errstate(over="ignore", invalid="ignore"):
                for epoch, (feature, sse, stage_done) in enumerate(epochs, start=1):
                    loss = _running_loss(self.rule, sse, arrays, reg, counts)
                    self._guard(epoch, loss, first_loss, arrays)
                    first_loss = loss if first_loss is None else first_loss
                    val = None if validation is None else _rmse(arrays, mu, validation, self.engine)
                    record = {"epoch": epoch, "loss": loss, "train_rmse": float(np.sqrt(sse / len(ratings))),
                              "val_rmse": val, "seconds": 0.0, "kept": False}
                    if self.schedule == "feature":
                        record["feature"] = feature
                    stop = stage_done and stopper.update(epoch, val, arrays)
                    toc = time.perf_counter()
                    record["seconds"], tic = toc - tic, toc
                    self.history_.append(record)
                    bar.update(1, loss=loss, val_rmse=val, **({"feature": feature} if feature is not None else {}))
                    if stop:
                        break
        finally:
            if hasattr(epochs, "close"):
                epochs.close()
            bar.close()
        best = stopper.best_epoch if stopper.active else len(self.history_)
        if stopper.active:
            arrays = stopper.best_arrays
        self.factors_ = Factors.from_arrays(*arrays, mu)
        self.mu_ = float(mu)
        self.n_epochs_ = len(self.history_)
        self.best_epoch_ = best
        self.stopped_early_ = stopper.stopped
        if best:
            self.history_[best - 1]["kept"] = True

    def _guard(self, epoch: int, loss: float, first_loss, arrays) -> None:
        """Raise :class:`DivergenceError` on a non-finite or exploding epoch."""
        finite = np.isfinite(loss) and all(np.isfinite(a).all() for a in arrays)
        exploded = finite and first_loss is not None and loss > DIVERGENCE_FACTOR * max(first_loss, 1e-300)
        if finite and not exploded:
            return
        lr = self._hyper("lr")
        block = max(lr, key=lr.get)
        name = "lr_all" if len(set(lr.values())) == 1 else {"P": "lr_pu", "Q": "lr_qi"}.get(block, f"lr_{block}")
        what = (f"training loss became {loss}" if not np.isfinite(loss) else
                "a parameter became non-finite" if not finite else
                f"training loss grew from {first_loss:.4g} to {loss:.4g} (over {DIVERGENCE_FACTOR:g} times the first epoch's)")
        raise DivergenceError(
            f"epoch {epoch}: {what} with {name}={lr[block]:g} (rule {get_rule(self.rule).name!r}, "
            f"schedule {self.schedule!r}); the learning rate is too large for this data: try {name} <= {lr[block] / 10:g}"
        )

    def _fit_tensorflow(self, start: Factors, ratings, validation, rng, rating_range) -> "FunkSVD":
        """Hand the model to :func:`funksvd.autodiff.train`; our callback records, guards and stops."""
        from . import autodiff  # TensorFlow is imported on first use only

        stopper = _EarlyStopping(self.patience, self.min_improvement)
        state = {"first": None, "tic": time.perf_counter(), "best_factors": None}
        bar = progress_bar(self.n_epochs, "FunkSVD[tensorflow]", self.verbose)

        def callback(epoch, loss, get_factors):
            epoch = len(self.history_) + 1
            loss = float(loss)
            self._guard(epoch, loss, state["first"], ())
            state["first"] = loss if state["first"] is None else state["first"]
            factors = get_factors() if validation is not None else None
            val = None if validation is None else _rmse(_arrays(factors), factors.mu, validation)
            stop = stopper.update(epoch, val, None)
            if stopper.best_epoch == epoch and stopper.active:
                state["best_factors"] = factors
            toc = time.perf_counter()
            self.history_.append({"epoch": epoch, "loss": loss, "train_rmse": None, "val_rmse": val,
                                  "seconds": toc - state["tic"], "kept": False})
            state["tic"] = toc
            bar.update(1, loss=loss, val_rmse=val)
            return stop

        seed = None if self.random_state is None else int(rng.integers(2**31 - 1))
        try:
            factors, _ = autodiff.train(
                start, ratings, objective=get_rule(self.rule).name, reg=self._hyper("reg"),
                optimizer=self.optimizer, learning_rate=float(self.lr_all), n_epochs=self.n_epochs,
                batch_size=self.batch_size, decay_rate=self.decay_rate, decay_steps=1000, validation=None,
                random_state=seed, callback=callback, verbose=False,
            )
        finally:
            bar.close()
        best = stopper.best_epoch if stopper.active else len(self.history_)
        factors = state["best_factors"] if stopper.active else factors
        if factors.dtype != np.dtype(self.dtype):  # autodiff trains in float64
            factors = factors.replace(**{name: value.astype(self.dtype) for name, value in factors.params().items()})
        self.factors_ = factors
        self.mu_ = float(start.mu)
        self.n_epochs_ = len(self.history_)
        self.best_epoch_ = best
        self.stopped_early_ = stopper.stopped
        self.rating_range_ = rating_range
        if best:
            self.history_[best - 1]["kept"] = True
        return self

    # ---- prediction ----------------------------------------------------------------------------

    def _fitted(self) -> Factors:
        if not hasattr(self, "factors_"):
            raise NotFittedError("this FunkSVD is not fitted yet: call fit(ratings) first")
        return self.factors_

    def predict(self, users, items, clip: bool = False) -> np.ndarray:
        r"""Predictions :math:`\hat r_{ui} = \mu + b_u + b_i + p_u^\top q_i` as float64.

        Parameters
        ----------
        users, items : array_like of int
            0-based ids within the training ranges (broadcast together).
        clip : bool, default False
            Clip to the lowest and highest training rating (``rating_range_``).

        Raises
        ------
        ValueError
            On an id out of range or not a whole number (the message names it).
        """
        factors = self._fitted()
        users, items = np.broadcast_arrays(_ids(users, "users", factors.n_users), _ids(items, "items", factors.n_items))
        r_hat = _predict_arrays(_arrays(factors), factors.mu, users.ravel(), items.ravel()).reshape(users.shape)
        if clip:
            r_hat = np.clip(r_hat, *self.rating_range_)
        return r_hat


class _EarlyStopping:
    """Patience on the validation RMSE; keeps a copy of the best epoch's arrays."""

    def __init__(self, patience, min_improvement):
        self.active = patience is not None
        self.patience = patience
        self.min_improvement = min_improvement
        self.best = np.inf
        self.best_epoch = 0
        self.best_arrays = None
        self.wait = 0
        self.stopped = False

    def update(self, epoch: int, val, arrays) -> bool:
        """Record epoch ``epoch``; True when training should stop."""
        if not self.active:
            return False
        improved = val < (1.0 - self.min_improvement) * self.best
        if val < self.best:
            self.best, self.best_epoch = val, epoch
            if arrays is not None:
                self.best_arrays = tuple(a.copy() for a in arrays)
        self.wait = 0 if improved else self.wait + 1
        self.stopped = self.wait >= self.patience
        return self.stopped


def _block_order(out: np.ndarray, block: int, rng) -> np.ndarray:
    """Fill ``out`` with runs ``[s, s + block)`` of 0..n-1, the runs in random order (the last may be short)."""
    n = len(out)
    starts = rng.permutation(-(-n // block)) * block
    position, step = 0, max(1, (1 << 22) // block)
    for first in range(0, len(starts), step):
        index = (starts[first:first + step, None] + np.arange(block)).ravel()
        index = index[index < n]
        out[position:position + len(index)] = index
        position += len(index)
    return out


def _arange_into(out: np.ndarray, chunk: int = 1 << 22) -> np.ndarray:
    """Fill ``out`` with 0, 1, ..., len(out) - 1 without an n-sized temporary."""
    for first in range(0, len(out), chunk):
        out[first:first + chunk] = np.arange(first, min(first + chunk, len(out)))
    return out


def _counts(ids: np.ndarray, n: int, chunk: int = 1 << 22) -> np.ndarray:
    """``np.bincount(ids, minlength=n)`` as float64, chunk by chunk (bincount copies a read-only input whole)."""
    counts = np.zeros(n, dtype=np.float64)
    for first in range(0, len(ids), chunk):
        counts += np.bincount(ids[first:first + chunk], minlength=n)
    return counts


def _running_loss(rule, sse: float, arrays, reg: dict, counts) -> float:
    """The rule's loss with the epoch's running SSE as data term (see :class:`FunkSVD` Notes)."""
    objective = RULES[get_rule(rule).name].objective
    assert (objective.data, objective.reduction, objective.entries, objective.penalty, objective.link) == (
        "squared", "sum", "observed", "per_rating", "identity"), objective
    weights = {"P": objective.factor_reg_weight, "Q": objective.factor_reg_weight,
               "bu": objective.bias_reg_weight, "bi": objective.bias_reg_weight}
    penalty = 0.0
    for block, theta, count in zip(BLOCKS, arrays, (counts[0], counts[1], counts[0], counts[1])):
        if theta.size == 0 or reg[block] == 0.0:
            continue
        squares = np.einsum("ij,ij->i", theta, theta, dtype=np.float64) if theta.ndim == 2 else (
            theta.astype(np.float64) ** 2)
        penalty += reg[block] * weights[block] * float(count @ squares)
    return objective.data_weight * sse + penalty


def _arrays(factors: Factors):
    """``(P, Q, bu, bi)`` of ``factors`` without copying; empty biases when unbiased."""
    empty = np.zeros(0, factors.dtype)
    return (factors.P, factors.Q, empty if factors.bu is None else factors.bu,
            empty if factors.bi is None else factors.bi)


def _predict_arrays(arrays, mu, users, items) -> np.ndarray:
    """Vectorised predictions from raw arrays, chunk by chunk (memory O(chunk * k))."""
    P, Q, bu, bi = arrays
    out = np.empty(len(users), dtype=np.float64)
    for s in range(0, len(users), _CHUNK):
        u, i = users[s:s + _CHUNK], items[s:s + _CHUNK]
        r = np.einsum("nk,nk->n", P[u], Q[i], dtype=np.float64) + mu
        if len(bu):
            r += bu[u] + bi[i]
        out[s:s + _CHUNK] = r
    return out


def sum_squared_errors(P, Q, bu, bi, mu, users, items, values):
    r""":math:`\sum_j (r_j - \hat r_{u_j i_j})^2` over rating triples, as a literal loop (compiled for validation)."""
    sse = 0.0
    for j in range(values.shape[0]):
        err = values[j] - predict_one(P, Q, bu, bi, mu, users[j], items[j])
        sse += err * err
    return sse


@lru_cache(maxsize=None)
def _compiled_sse():
    from .compiled import jit

    return jit(sum_squared_errors, predict_one=jit(predict_one, inline=True))


def _rmse(arrays, mu, ratings: Ratings, engine: str = "python") -> float:
    """RMSE of the model held in ``arrays`` on ``ratings``: numpy by chunks, or the compiled loop."""
    if engine == "compiled":
        sse = _compiled_sse()(*arrays, mu, ratings.users, ratings.items, ratings.values)
        return float(np.sqrt(sse / len(ratings)))
    e = ratings.values - _predict_arrays(arrays, mu, ratings.users, ratings.items)
    return float(np.sqrt(np.mean(e * e)))


def _ids(values, name: str, n: int) -> np.ndarray:
    """Integer ids in ``[0, n)`` as int64, or a ValueError naming the first bad one."""
    array = np.asarray(values)
    if array.dtype == bool or not (np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)):
        raise ValueError(f"{name} must be integer ids, got dtype {array.dtype}")
    flat = array.ravel()
    bad = np.flatnonzero(~np.isfinite(flat) | (flat != np.round(flat)) | (flat < 0) | (flat >= n)) if flat.size else []
    if len(bad):
        j = bad[0]
        raise ValueError(f"{name}[{j}] = {flat[j].item()!r} is not a valid id: the model has {n} {name}, ids 0..{n - 1}")
    return array.astype(np.int64)


def _check_within(ratings, n_users: int, n_items: int, what: str) -> None:
    if not isinstance(ratings, Ratings):
        raise TypeError(f"{what} must be a funksvd.Ratings, got {type(ratings).__name__}")
    for name, ids, n in (("users", ratings.users, n_users), ("items", ratings.items, n_items)):
        if ids.max() >= n:
            j = int(np.argmax(ids >= n))
            raise ValueError(f"{what} {name}[{j}] = {ids[j]} is out of range: the training ratings have {n} {name}")
