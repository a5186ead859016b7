r"""``FunkSVD``: a scikit-learn style estimator around the per-rating rules.

.. code-block:: python

    from funksvd.estimator import FunkSVD
    model = FunkSVD(n_factors=100, n_epochs=20, random_state=0).fit(train, validation=test)
    model.predict(test.users, test.items)

The defaults are those of Surprise's ``SVD`` (REFERENCE §3). Training runs
:func:`funksvd.sgd.epoch_function` on writable arrays kept across epochs, so the compiled engine
trains at compiled speed; the Python engine runs the very same source and is the oracle the
tests compare it with. ``schedule="feature"`` trains one feature at a time as Simon Funk did
(:mod:`funksvd.sgd.funk_schedule`); ``engine="tensorflow"`` hands the model to
:func:`funksvd.autodiff.train`.
"""

from __future__ import annotations

import inspect
import threading
from contextlib import contextmanager

import numpy as np

from ..base.rng import check_random_state
from ..base.errors import NotFittedError
from ..model.factors import BLOCKS, Factors, random_parameters
from ..model.ratings import Ratings
from ..maths.objectives import Objective, as_objective
from ..maths.rules import get_rule
from ..sgd.normal_draws import fill_standard_normal
from .params import ENGINES, SCHEDULES, check_memory, check_params
from .persistence import Persistence
from .scores import factor_arrays, predict_arrays
from .raw import Lookup, as_training_data, validation_ratings
from .recommend import Recommending
from .training import Training, rating_counts

__all__ = ["FunkSVD", "ENGINES", "SCHEDULES"]

#: Guards the "being fitted" flag of every estimator (see :meth:`FunkSVD.fit`).
_FIT_GUARD = threading.Lock()

#: Fitted attributes, cleared when ``fit`` starts again.
FITTED = ("factors_", "mu_", "global_mean_", "n_epochs_", "best_epoch_", "stopped_early_", "rating_range_",
           "user_ids_", "item_ids_", "item_titles_", "_train_ratings", "_rated", "_counts")


class FunkSVD(Training, Recommending, Persistence):
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
    shuffle : {"grid", True, False, "blocks"}, default "grid"
        The visiting order. ``"grid"``: the ratings are shuffled once per fit into a copy
        arranged in cache-sized cells of user ranges x item ranges, and every epoch visits the
        cells in a fresh random order (:class:`funksvd.sgd.orders.Grid`, as LibMF and LensKit do);
        with ``schedule="feature"`` one permutation drawn at the start serves every epoch.
        Its accuracy matches a fresh permutation per epoch at about the cost of stored order
        (measured in ``benchmarks/RESULTS.md``). ``True``: a fresh permutation every epoch, the
        textbook order (slower, and more so on large data: every rating a random memory access).
        ``False``: stored order, as Surprise does. ``"blocks"``: runs of ``SHUFFLE_BLOCK``
        consecutive ratings, in a fresh random order each epoch.
    random_state : int, numpy Generator or None
        Seeds one ``numpy.random.default_rng``: the initial factors are drawn from it first,
        then the visiting orders (for "grid": the one shuffle, then one cell order per epoch). The
        same integer gives bit-identical factors.
    engine : {"compiled", "python", "tensorflow"}, default "compiled"
        numba-compiled kernels, the same kernels as plain Python, or autodiff with a TensorFlow
        optimizer (:func:`funksvd.autodiff.train`; joint schedule only).
    schedule : {"joint", "feature"}, default "joint"
        All factors at once, or Simon Funk's one feature at a time (:mod:`funksvd.sgd.funk_schedule`).
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
        takes off; judged from its second epoch it would end there (see :mod:`funksvd.sgd.funk_schedule`).
    feature_min_improvement : float, default 1e-4
        ``schedule="feature"``: from epoch ``feature_min_epochs`` of a stage on, the stage ends
        after the first epoch that improves the training RMSE by less than this fraction.
    feature_init : float, default 0.1
        ``schedule="feature"``: starting value of every factor entry (Funk's 0.1).
    feature_trailing : bool, default False
        ``schedule="feature"``: while feature :math:`f` trains, the :math:`k - f - 1` features
        not trained yet take part in the prediction at their start value, adding the trailing
        constant :math:`(k - f - 1)\,\text{feature\_init}^2`, as in Funk's reference code and
        LensKit's ``FunkSVD`` (:mod:`funksvd.sgd.funk_schedule`). Their columns hold ``feature_init``
        until they train, so the validation RMSE, the loss (with their penalty) and a model
        kept by early stopping are those of the model training saw. ``False`` (the default): the
        columns not started hold 0 and contribute nothing. With Funk's own settings the constant
        helps (see the Notes); with the default ``lr_all`` and ``feature_min_epochs`` it makes
        later features overfit, so it is not on by default.
    optimizer : str, default "adam"
        ``engine="tensorflow"`` only: the Keras optimizer.
    batch_size : int or None, default None
        ``engine="tensorflow"`` only: ratings per step; None is full batch.
    decay_rate : float or None, default None
        ``engine="tensorflow"`` only: exponential learning-rate decay every 1000 steps.
    n_jobs : int, default 1
        Threads for ``schedule="joint"``. With ``n_jobs > 1`` the ratings are cut into
        ``n_jobs x n_jobs`` blocks of user groups x item groups, and blocks that share no user
        and no item run at the same time (DSGD, :mod:`funksvd.sgd.strata`). The result is
        bit-identical from run to run, and equal to a single-thread epoch in the blocked
        visiting order; only that order differs from ``n_jobs=1``. ``shuffle=True`` (or
        ``"grid"``) permutes the ratings within each block every epoch.

    Attributes
    ----------
    factors_ : Factors
        The fitted parameters (never non-finite).
    mu_ : float
        :math:`\mu`: the training mean (biased), 0 (unbiased) or ``init.mu``.
    history_ : list of dict
        One record per epoch run: ``epoch`` (from 1), ``loss``, ``train_rmse`` (None on the
        TensorFlow engine, which reports only its loss), ``val_rmse``
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
    global_mean_ : float
        Mean of the training ratings (the fallback prediction of an unbiased model).
    user_ids_, item_ids_ : IdMap or None
        The raw id of every user and item index when fitted on a dataset; None when fitted on
        bare :class:`~funksvd.Ratings` (ids are then the 0-based indices).
    item_titles_ : numpy.ndarray of str or None
        The title of every item index, when the dataset had titles.

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
    ``DIVERGENCE_FACTOR`` (1000) times the loss at the start values (computed exactly before the
    first epoch, and at least the loss of predicting 0, so that a start with loss 0 is no false
    alarm; the same guard on every engine and schedule; the sum over the ratings is skipped when a
    bound from the row norms shows that the start cannot reach that floor), raises :class:`~funksvd.DivergenceError`
    naming the epoch, the rule and a smaller learning rate to try; the estimator is then left
    unfitted (``history_`` holds the epochs run), so ``factors_`` never holds NaN.

    **Raw ids.** Fitted on a :class:`~funksvd.data.Dataset`, the model keeps its id maps and
    titles and speaks its raw ids everywhere (``predict``, ``recommend``, ``similar_items``,
    ``fold_in``); an id it was not fitted on raises :class:`~funksvd.base.errors.UnknownIdError`, or
    falls back to Surprise's baseline with ``predict(..., unknown="baseline")``.

    **Saving, pickling, threads.** :meth:`save` / :meth:`load` write and read an ``.npz``
    archive with JSON metadata (no pickle); ``pickle`` and ``copy.deepcopy`` work too, so a
    model crosses a process pool. A fitted model is only read by ``predict`` and the
    recommendations, which may run in several threads at once; ``fit`` refuses to run twice
    at once on the same estimator (``RuntimeError``), since the two would interleave their
    epochs in one ``history_``. A refit trains on the side and replaces the fitted model when it
    ends, so ``predict`` in another thread meanwhile answers with the previous model.

    **Feature schedule.** Funk used ``lr_all=0.001, reg_all=0.015, feature_init=0.1`` and
    about 100 epochs per feature; the estimator keeps Surprise's defaults, pass Funk's values
    (with ``feature_min_epochs=100``) to reproduce him. Only ``rule="funk"`` is defined
    feature-wise. The accuracy of these settings, and of LensKit's recipe (100 features x 20
    epochs with ``feature_trailing=True``) beside LensKit's ``FunkSVD``, is measured in
    ``benchmarks/RESULTS.md``.
    """

    def __init__(self, n_factors=100, n_epochs=20, lr_all=0.005, reg_all=0.02, rule="funk", biased=True,
                 init_mean=0.0, init_std_dev=0.1, shuffle="grid", random_state=None, engine="compiled",
                 schedule="joint", dtype=np.float64, verbose=False,
                 lr_bu=None, lr_bi=None, lr_pu=None, lr_qi=None,
                 reg_bu=None, reg_bi=None, reg_pu=None, reg_qi=None,
                 patience=None, min_improvement=1e-4,
                 feature_epochs=100, feature_min_epochs=30, feature_min_improvement=1e-4, feature_init=0.1,
                 feature_trailing=False, optimizer="adam", batch_size=None, decay_rate=None, n_jobs=1):
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
        self.feature_trailing = feature_trailing
        self.optimizer = optimizer
        self.batch_size = batch_size
        self.decay_rate = decay_rate
        self.n_jobs = n_jobs

    # ---- scikit-learn conventions -----------------------------------------------------------

    @classmethod
    def _param_names(cls) -> list[str]:
        return [name for name, parameter in inspect.signature(cls.__init__).parameters.items()
                if name != "self" and parameter.kind is not parameter.VAR_KEYWORD]

    def get_params(self, deep: bool = True) -> dict:
        """The constructor parameters by name."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params) -> "FunkSVD":
        """Set constructor parameters by name; unknown names raise ``ValueError``."""
        valid = self._param_names()
        for name, value in params.items():
            if name not in valid:
                raise ValueError(f"invalid parameter {name!r} for {type(self).__name__}; valid parameters: {valid}")
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
        return f"{type(self).__name__}({', '.join(changed)})"

    # ---- parameters ----------------------------------------------------------------------------

    def _check_params(self) -> None:
        check_params(self)  # funksvd.estimator.params

    def _hyper(self, kind: str) -> dict[str, float]:
        """``lr`` or ``reg`` per block ``P, Q, bu, bi``: the override, or the ``*_all`` value."""
        default = float(getattr(self, f"{kind}_all"))
        names = {"P": "pu", "Q": "qi", "bu": "bu", "bi": "bi"}
        out = {}
        for block in BLOCKS:
            value = getattr(self, f"{kind}_{names[block]}")
            out[block] = default if value is None else float(value)
        return out

    def _objective(self) -> Objective:
        """The loss the model is fitted to (:meth:`fold_in` minimises it for a new user)."""
        return as_objective(get_rule(self.rule).name)

    # ---- fitting -------------------------------------------------------------------------------

    def fit(self, ratings, validation=None, init: Factors | None = None) -> "FunkSVD":
        r"""Train on ``ratings``.

        Parameters
        ----------
        ratings : Ratings or Dataset
            The training ratings; their ``n_users, n_items`` fix the model's shape. A dataset
            with raw ids (:class:`funksvd.data.Dataset`) makes the model speak its raw ids:
            ``predict``, ``recommend``, ``similar_items`` and ``fold_in`` take and return them,
            with the item titles when the dataset has them.
        validation : Ratings or Dataset, optional
            Held-out ratings: their RMSE is recorded per epoch, and drives early stopping when
            ``patience`` is set. Indices (``Ratings``) must be within the training ranges; raw ids
            (a dataset) must be known to the training data.
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
        RuntimeError
            The same estimator is already being fitted, in another thread: two fits would
            interleave their epochs in one ``history_``. Fit one estimator per thread
            (``copy.deepcopy(model)`` makes one).
        """
        with self._exclusive():
            # trained on a fresh estimator and published in one assignment: predict() in another thread
            # sees the previous model until then, never a half-fitted one
            work = object.__new__(type(self))
            work.__dict__.update({name: value for name, value in self.__dict__.items()
                                  if name not in FITTED and name not in ("history_", "_fitting")})
            try:
                work._fit(ratings, validation, init)
            finally:
                if "history_" in work.__dict__:  # training began: publish its outcome, fitted or not
                    self.__dict__ = {**work.__dict__, "_fitting": True}
            return self

    @contextmanager
    def _exclusive(self):
        with _FIT_GUARD:
            if self.__dict__.get("_fitting"):
                raise RuntimeError(f"this {type(self).__name__} is already being fitted (in another thread); "
                                   "fit one estimator per thread, e.g. copy.deepcopy(model)")
            self._fitting = True
        try:
            yield
        finally:
            self.__dict__.pop("_fitting", None)

    def _training_inputs(self, ratings, validation, item_tables: int = 0):
        """``(data, ratings, validation)`` of a fit: parameters and inputs checked, memory too, nothing allocated yet.

        Shared by every model kind; ``item_tables``: how many more ``n_items x k`` tables a kind stores
        besides ``P`` and ``Q`` (SVD++'s ``Y``: 1).
        """
        self._check_params()
        data = as_training_data(ratings)
        ratings = data.ratings
        if validation is not None:
            validation = validation_ratings(validation, data)
        if getattr(self, "patience", None) is not None and validation is None:
            raise ValueError("patience (early stopping) needs validation ratings: fit(ratings, validation=...)")
        check_memory(self, ratings.n_users, ratings.n_items, extra_rows=item_tables * ratings.n_items)
        return data, ratings, validation

    def _fit(self, ratings, validation, init) -> "FunkSVD":
        data, ratings, validation = self._training_inputs(ratings, validation)
        for name in FITTED:
            self.__dict__.pop(name, None)
        self.history_ = []

        dtype = np.dtype(self.dtype)
        rng = check_random_state(self.random_state)
        start: Factors | None = None  # given factors (trained on a copy)
        drawn = None  # or this fit's own start arrays, drawn as Factors.random draws them, trained in place
        if init is not None:
            start = self._check_init(init, ratings)
            mu = init.mu
        else:
            mu = ratings.mean() if self.biased else 0.0
            if self.schedule == "joint":
                drawn = random_parameters(
                    ratings.n_users, ratings.n_items, self.n_factors, biased=self.biased,
                    init_mean=self.init_mean, init_std_dev=self.init_std_dev, random_state=rng, dtype=dtype,
                    fill_normal=fill_standard_normal if self.engine == "compiled" else None,
                )
                if self.engine == "tensorflow":
                    P, Q, bu, bi = drawn
                    start = Factors._own(P, Q, bu, bi, mu)
        rating_range = (float(ratings.values.min()), float(ratings.values.max()))
        if self.engine == "tensorflow":
            self._fit_tensorflow(start, ratings, validation, rng, rating_range)
        else:
            counts = rating_counts(ratings, self.engine)  # counted once: the grid's cells and the penalty's weights
            reference = None
            if self.schedule == "joint":
                epochs, arrays, reference = self._joint(start if drawn is None else drawn, mu, ratings, rng,
                                                        rating_range, counts)
            else:
                epochs, arrays = self._feature(start, mu, ratings, rng, rating_range)
            total = self.n_epochs if self.schedule == "joint" else None
            self._train(epochs, arrays, mu, ratings, validation, total, counts, reference)
            self.rating_range_ = rating_range
        self.global_mean_ = float(ratings.mean())
        self.user_ids_, self.item_ids_, self.item_titles_ = data.user_ids, data.item_ids, data.item_titles
        self._train_ratings = ratings  # a reference (no copy): the rated items of recommend(exclude_rated=True)
        return self

    @classmethod
    def from_factors(cls, factors: Factors, data, history: list | None = None) -> "FunkSVD":
        r"""A fitted estimator around ``factors`` trained elsewhere (:func:`funksvd.train`, an SGD loop, a file).

        Everything a fitted model offers then works on them: ``predict``, ``recommend``,
        ``similar_items``, ``fold_in``, ``save``.

        Parameters
        ----------
        factors : Factors
            The trained parameters; their shape must be that of ``data``.
        data : Ratings or Dataset
            The training data: the rated items ``recommend`` leaves out, the rating counts, the
            rating range of ``predict(clip=True)`` and, for a :class:`~funksvd.data.Dataset`,
            the raw ids and titles.
        history : list of dict, optional
            Kept as ``history_`` (e.g. the history :func:`funksvd.train` returns).

        Returns
        -------
        FunkSVD
            ``n_factors``, ``biased`` and ``dtype`` set from ``factors``; ``mu_ = factors.mu``.

        Notes
        -----
        The estimator predicts the raw score :math:`\hat r_{ui} = \mu + b_u + b_i + p_u^\top q_i`.
        For factors trained with a sigmoid link (``keras_sigmoid_2019``) the rankings of
        ``recommend`` are those of the model, since :math:`h` is increasing, but ``predict``
        returns :math:`z_{ui}`; the rating is ``objective.predict(factors, users, items)``.
        """
        if not isinstance(factors, Factors):
            raise TypeError(f"factors must be a funksvd.Factors, got {type(factors).__name__}")
        training = as_training_data(data, "data")
        ratings = training.ratings
        if ratings.shape != (factors.n_users, factors.n_items):
            raise ValueError(f"the factors are {factors.n_users} users x {factors.n_items} items but the data is "
                             f"{ratings.n_users} x {ratings.n_items}")
        model = cls(n_factors=factors.n_factors, biased=factors.biased, dtype=factors.dtype.type)
        model.factors_ = factors
        model.mu_ = float(factors.mu)
        model.history_ = [] if history is None else list(history)
        model.n_epochs_ = int(model.history_[-1]["epoch"]) if model.history_ else 0
        model.best_epoch_ = model.n_epochs_
        model.stopped_early_ = False
        model.rating_range_ = (float(ratings.values.min()), float(ratings.values.max()))
        model.global_mean_ = float(ratings.mean())
        model.user_ids_, model.item_ids_ = training.user_ids, training.item_ids
        model.item_titles_ = training.item_titles
        model._train_ratings = ratings
        return model

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

    # ---- prediction ----------------------------------------------------------------------------

    def _published(self) -> "FunkSVD":
        """A view of the state one fit published: a refit replaces ``__dict__`` whole, so reads through the
        view never mix the previous fit's attributes with the next one's."""
        view = object.__new__(type(self))
        view.__dict__ = self.__dict__
        return view

    def _fitted(self) -> Factors:
        if not hasattr(self, "factors_"):
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet: call fit(ratings) first")
        return self.factors_

    @property
    def _users(self) -> Lookup:
        return Lookup(self.user_ids_, self._fitted().n_users, "user")

    @property
    def _items(self) -> Lookup:
        return Lookup(self.item_ids_, self._fitted().n_items, "item")

    def user_index(self, raw):
        """The model's index of raw user id(s) ``raw`` (an int for a scalar); UnknownIdError names an unknown one."""
        index, _ = self._users(raw)
        return int(index) if np.ndim(index) == 0 else index

    def item_index(self, raw):
        """The model's index of raw item id(s) ``raw`` (an int for a scalar); UnknownIdError names an unknown one."""
        index, _ = self._items(raw)
        return int(index) if np.ndim(index) == 0 else index

    def predict(self, users, items, clip: bool = False, unknown: str = "raise", return_known: bool = False):
        r"""Predictions :math:`\hat r_{ui} = \mu + b_u + b_i + p_u^\top q_i` as float64.

        Parameters
        ----------
        users, items : array_like
            Raw ids of a model fitted on a dataset, else 0-based indices (broadcast together).
        clip : bool, default False
            Clip to the lowest and highest training rating (``rating_range_``).
        unknown : {"raise", "baseline"}, default "raise"
            An id the model was not fitted on: ``"raise"`` raises
            :class:`~funksvd.base.errors.UnknownIdError` (a ``KeyError``) naming it; ``"baseline"``
            predicts what is known of the pair, as Surprise does: :math:`\mu` plus the bias of
            the known user or item (or both, without :math:`p_u^\top q_i`); an unbiased model
            predicts ``global_mean_``. The other pairs of the batch are predicted as usual.
            A user or item of the training data without a rating (an id listed in the dataset
            but never rated: its factors are only its random start) is predicted the same way,
            in both modes.
        return_known : bool, default False
            Also return a boolean array, False where the prediction is such a fallback.

        Returns
        -------
        r_hat : numpy.ndarray of float64
            Shaped as the broadcast ``users, items``.
        known : numpy.ndarray of bool
            Only with ``return_known=True``: both ids known and rated in the training data.

        Raises
        ------
        UnknownIdError
            With ``unknown="raise"``, for an unknown id (or an index out of range).
        ValueError
            For ids that cannot be ids at all (``0.5`` for a model fitted on indices; NaN or
            None, even with ``unknown="baseline"``).
        """
        self = self._published()  # noqa: PLW0642 - one fit's state for the whole call, even during a refit
        factors = self._fitted()
        users, known_users = self._users(users, unknown)
        items, known_items = self._items(items, unknown)
        user_counts, item_counts = self.rating_counts()
        known_users = known_users & (user_counts[users] > 0)  # never rated: its factors are its random start
        known_items = known_items & (item_counts[items] > 0)
        users, items, known_users, known_items = np.broadcast_arrays(users, items, known_users, known_items)
        r_hat = predict_arrays(factor_arrays(factors), factors.mu, users.ravel(), items.ravel()).reshape(users.shape)
        known = known_users & known_items
        if not known.all():
            if factors.biased:
                fallback = (factors.mu + np.where(known_users, factors.bu[users], 0.0)
                            + np.where(known_items, factors.bi[items], 0.0))
            else:
                fallback = np.full(users.shape, self.global_mean_)
            r_hat = np.where(known, r_hat, fallback)
        if clip:
            r_hat = np.clip(r_hat, *self.rating_range_)
        return (r_hat, known) if return_known else r_hat
