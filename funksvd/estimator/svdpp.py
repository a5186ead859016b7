r"""``SVDpp``: SVD++ (Koren 2008) as Surprise's ``SVDpp`` defines it, on the kernels of :mod:`funksvd.maths.svdpp`.

.. code-block:: python

    from funksvd import SVDpp
    model = SVDpp(random_state=0).fit(train)
    model.predict(test.users, test.items)

A :class:`~funksvd.FunkSVD` subclass: prediction, unknown ids, ``recommend``, ``similar_items``,
``fold_in``, ``save``/``load`` and pickling are FunkSVD's, run on the user vectors
:math:`z_u = p_u + |N(u)|^{-1/2} \sum_{j \in N(u)} y_j`; training is its own.
"""

from __future__ import annotations

import time

import numpy as np

from ..base.errors import DivergenceError, InputError, NotFittedError
from ..base.progress import progress_bar
from ..base.rng import check_random_state
from ..maths.svdpp import SVDPP_BLOCKS, VARIANTS, Implicit
from ..maths.svdpp_objective import penalty_weights, svdpp_loss, svdpp_penalty
from ..model.factors import Factors
from ..sgd.svdpp_engine import svdpp_epoch_function, user_groups
from .model import FunkSVD
from .scores import factor_arrays, rmse_of
from .training import DIVERGENCE_FACTOR

__all__ = ["SVDpp"]

_NAMES = {"P": "pu", "Q": "qi", "bu": "bu", "bi": "bi", "Y": "yj"}


class SVDpp(FunkSVD):
    r"""SVD++: biased MF plus implicit feedback from the items each user rated, trained by SGD.

    .. math::

        \hat r_{ui} = \mu + b_u + b_i + q_i^\top \Big(p_u + |N(u)|^{-\frac12} \sum_{j \in N(u)} y_j\Big)

    with :math:`N(u)` the items :math:`u` rated in the training data.

    Parameters
    ----------
    n_factors : int, default 20
    n_epochs : int, default 20
    init_mean, init_std_dev : float, default 0 and 0.1
        :math:`P, Q, Y \sim \mathcal N(\text{init\_mean}, \text{init\_std\_dev}^2)`, drawn in that
        order; biases start at 0.
    lr_all, reg_all : float, default 0.007 and 0.02
        Learning rate and regularisation of every block (Surprise's ``SVDpp`` defaults).
    lr_bu, lr_bi, lr_pu, lr_qi, lr_yj, reg_bu, reg_bi, reg_pu, reg_qi, reg_yj : float or None
        Per-block overrides; ``None`` uses ``lr_all`` / ``reg_all``.
    random_state : int, numpy Generator or None
        Seeds one ``numpy.random.default_rng``: :math:`P, Q, Y`, then (``shuffle=True``) one user
        order per epoch. The same integer gives bit-identical parameters.
    verbose : bool, default False
        A tqdm progress bar (needs ``funksvd[progress]``).
    cache_ratings : bool, default False
        Accepted for Surprise's signature; it only changes how Surprise stores :math:`N(u)`
        (funksvd always keeps it as CSR arrays) and has no effect on the result.
    variant : {"lazy", "per_rating", "cached"}, default "lazy"
        ``"per_rating"``: Surprise's loop as written, the implicit sum recomputed and every
        :math:`y_j` of :math:`N(u)` stepped at every rating (:func:`funksvd.maths.svdpp.svdpp_step`),
        :math:`O(|N(u)|\,k)` per rating. ``"lazy"``: the very same steps, the :math:`y` updates
        composed and applied once per user and the implicit sum carried along
        (:func:`funksvd.maths.svdpp.lazy_user`): Surprise's result up to rounding (9e-14 on
        MovieLens 100K after 20 epochs) at :math:`O(k)` per rating plus :math:`O(|N(u)|\,k)` per
        user. ``"cached"``: the standard cached-sum variant, another algorithm: the :math:`y` held
        fixed during each user and stepped once with the summed gradient
        (:func:`funksvd.maths.svdpp.cached_user`).
    shuffle : bool, default False
        ``False``: users in index order, each user's ratings in stored order, every epoch
        (Surprise visits user by user too). ``True``: a fresh random order of the users each epoch.
    engine : {"compiled", "python"}, default "compiled"
        The kernels compiled by numba, or the same source as plain Python.

    Attributes
    ----------
    factors_ : Factors
        :math:`P, Q, b_u, b_i, \mu`.
    y_ : numpy.ndarray, shape (n_items, n_factors)
        The implicit item factors :math:`y_j`.
    implicit_ : Implicit
        :math:`N(u)` as CSR arrays.
    history_, n_epochs_, best_epoch_, rating_range_, global_mean_, user_ids_, item_ids_, item_titles_
        As for :class:`~funksvd.FunkSVD` (``loss`` is the running per-rating loss of the epoch).

    Notes
    -----
    Prediction, ``recommend`` and ``fold_in`` use :math:`z_u` in place of :math:`p_u`; a
    :class:`~funksvd.estimator.recommend.NewUser` from :meth:`fold_in` holds :math:`z_u` in its
    ``p_u``. Early stopping, ``n_jobs`` and ``float32`` are FunkSVD's only.
    """

    rule = "funk"  # the per-rating loss of p_u, b_u that fold_in minimises: Surprise's, no factor 2
    biased = True
    schedule = "joint"
    dtype = np.float64  # trained in float64 only
    patience = None  # no early stopping

    def __init__(self, n_factors=20, n_epochs=20, init_mean=0.0, init_std_dev=0.1, lr_all=0.007, reg_all=0.02,
                 lr_bu=None, lr_bi=None, lr_pu=None, lr_qi=None, lr_yj=None,
                 reg_bu=None, reg_bi=None, reg_pu=None, reg_qi=None, reg_yj=None,
                 random_state=None, verbose=False, cache_ratings=False,
                 variant="lazy", shuffle=False, engine="compiled", **unsupported):
        if unsupported:  # FunkSVD's parameters that SVDpp does not have: refused by name, never ignored
            theirs = sorted(set(unsupported) & set(FunkSVD._param_names()))
            raise TypeError(f"SVDpp does not support {sorted(unsupported)}"
                            + (f": {theirs} are FunkSVD parameters (early stopping, n_jobs, float32, the rules and "
                               "the TensorFlow engine are FunkSVD's only)" if theirs else ""))
        self.n_factors = n_factors
        self.n_epochs = n_epochs
        self.init_mean = init_mean
        self.init_std_dev = init_std_dev
        self.lr_all = lr_all
        self.reg_all = reg_all
        self.lr_bu = lr_bu
        self.lr_bi = lr_bi
        self.lr_pu = lr_pu
        self.lr_qi = lr_qi
        self.lr_yj = lr_yj
        self.reg_bu = reg_bu
        self.reg_bi = reg_bi
        self.reg_pu = reg_pu
        self.reg_qi = reg_qi
        self.reg_yj = reg_yj
        self.random_state = random_state
        self.verbose = verbose
        self.cache_ratings = cache_ratings
        self.variant = variant
        self.shuffle = shuffle
        self.engine = engine

    # ---- parameters ----------------------------------------------------------------------------

    def _check_params(self) -> None:
        for name in ("n_factors", "n_epochs"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise InputError(f"{name} must be a positive integer, got {value!r}")
        names = ["lr_all", "reg_all", "init_std_dev"] + [f"{kind}_{b}" for kind in ("lr", "reg")
                                                         for b in _NAMES.values()]
        for name in names:
            value = getattr(self, name)
            if value is None and name[-3:] != "all" and name != "init_std_dev":
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or not (
                    np.isfinite(value) and value >= 0):
                raise InputError(f"{name} must be a finite number >= 0, got {value!r}")
        value = self.init_mean
        if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or not np.isfinite(value):
            raise InputError(f"init_mean must be a finite number, got {value!r}")
        if self.variant not in VARIANTS:
            raise InputError(f"unknown variant {self.variant!r}; expected one of {VARIANTS}")
        if self.engine not in ("compiled", "python"):
            raise InputError(f"engine must be 'compiled' or 'python' for SVDpp, got {self.engine!r}")
        if not isinstance(self.shuffle, (bool, np.bool_)):
            raise InputError(f"shuffle must be True or False for SVDpp, got {self.shuffle!r}")
        for name in ("verbose", "cache_ratings"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise InputError(f"{name} must be True or False, got {getattr(self, name)!r}")
        check_random_state(self.random_state)  # the one convention: an InputError naming random_state

    def _hyper5(self, kind: str) -> tuple[float, ...]:
        """``lr`` or ``reg`` per block ``P, Q, bu, bi, Y``: the override, or the ``*_all`` value."""
        default = float(getattr(self, f"{kind}_all"))
        values = [getattr(self, f"{kind}_{_NAMES[b]}") for b in SVDPP_BLOCKS]
        return tuple(default if v is None else float(v) for v in values)

    # ---- fitting -------------------------------------------------------------------------------

    def fit(self, ratings, validation=None,  # type: ignore[override]
            init: tuple[Factors, np.ndarray] | None = None) -> SVDpp:
        r"""Train on ``ratings`` (a :class:`~funksvd.Ratings` or a dataset with raw ids).

        Parameters
        ----------
        ratings : Ratings or Dataset
        validation : Ratings or Dataset, optional
            Held-out ratings whose RMSE is recorded per epoch (``history_``).
        init : (Factors, numpy.ndarray), optional
            Start values :math:`(P, Q, b_u, b_i, \mu)` and :math:`Y` instead of the random draw.

        Raises
        ------
        DivergenceError
            A parameter or the loss became non-finite, or the loss grew over
            ``DIVERGENCE_FACTOR`` times its value at the start; the estimator is left unfitted.
        """
        FunkSVD.fit(self, ratings, validation, init)  # type: ignore[arg-type] # trained aside, published whole
        return self

    def _fit(self, ratings, validation, init) -> SVDpp:
        data, ratings, validation = self._training_inputs(ratings, validation, item_tables=1)  # Y
        for name in ("y_", "implicit_", "_effective"):  # FunkSVD.fit leaves out the others
            self.__dict__.pop(name, None)
        self.history_ = []
        rng = check_random_state(self.random_state)
        shape = (ratings.n_users, ratings.n_items, self.n_factors)
        if init is None:
            start = Factors.random(*shape, mu=ratings.mean(), init_mean=self.init_mean,
                                   init_std_dev=self.init_std_dev, random_state=rng)
            Y = rng.normal(self.init_mean, self.init_std_dev, (ratings.n_items, self.n_factors))
        else:
            if not (isinstance(init, tuple) and len(init) == 2 and isinstance(init[0], Factors)):
                raise InputError(f"init must be a pair (Factors, Y) for SVDpp (Y the implicit item factors), got "
                                 f"{type(init).__name__}")
            start, Y = init
            Y = np.array(Y, dtype=np.float64)
            if (start.n_users, start.n_items, start.n_factors) != shape or Y.shape != start.Q.shape \
                    or not start.biased:
                raise InputError(f"init must be biased Factors of shape (n_users, n_items, n_factors) = {shape} "
                                 f"and Y of shape {shape[1:]}")
            start = start.replace(**{b: v.astype(np.float64) for b, v in start.params().items()})
        implicit = Implicit.from_ratings(ratings)
        rated = user_groups(ratings)
        lr, reg = self._hyper5("lr"), self._hyper5("reg")
        run = svdpp_epoch_function(self.variant, self.engine)
        P, Q, bu, bi = start.mutable_copy()
        mu = np.float64(start.mu)
        z, w = np.zeros(self.n_factors), np.zeros(self.n_factors)
        reg_map = dict(zip(SVDPP_BLOCKS, reg))
        weights = penalty_weights(ratings, implicit, ratings.n_users, ratings.n_items)
        reference = max(svdpp_loss(start, Y, ratings, implicit, reg_map), 0.5 * float(ratings.values @ ratings.values))
        users = np.arange(ratings.n_users, dtype=np.int64)
        bar = progress_bar(self.n_epochs, f"SVDpp[{self.engine}, {self.variant}]", self.verbose)
        try:
            tic = time.perf_counter()
            for epoch in range(1, self.n_epochs + 1):
                order = rng.permutation(users) if self.shuffle else users
                with np.errstate(all="ignore"):
                    sse = float(run(P, Q, bu, bi, Y, mu, *rated, implicit.indptr, implicit.indices, order, lr, reg,
                                    z, w))
                    finite = np.isfinite(sse) and all(np.isfinite(a).all() for a in (P, Q, bu, bi, Y))
                    loss = 0.5 * sse + svdpp_penalty(P, Q, bu, bi, Y, weights, reg_map) if finite else np.inf
                self._guard_svdpp(epoch, loss, reference, (P, Q, bu, bi, Y), lr)
                val = None
                if validation is not None:
                    val = rmse_of(factor_arrays(_effective(Factors(P, Q, bu, bi, mu), Y, implicit)), mu, validation)
                toc = time.perf_counter()
                self.history_.append({"epoch": epoch, "loss": float(loss),
                                      "train_rmse": float(np.sqrt(sse / len(ratings))),
                                      "val_rmse": val, "seconds": toc - tic, "kept": epoch == self.n_epochs})
                tic = toc
                bar.update(1, loss=loss, val_rmse=val)
        finally:
            bar.close()
        self.factors_ = Factors(P, Q, bu, bi, mu)
        self.y_ = Y
        self.implicit_ = implicit
        self.mu_ = float(mu)
        self.n_epochs_ = self.best_epoch_ = len(self.history_)
        self.stopped_early_ = False
        self.rating_range_ = (float(ratings.values.min()), float(ratings.values.max()))
        self.global_mean_ = float(ratings.mean())
        self.user_ids_, self.item_ids_, self.item_titles_ = data.user_ids, data.item_ids, data.item_titles
        self._train_ratings = ratings
        return self

    def _guard_svdpp(self, epoch, loss, reference, arrays, lr) -> None:
        finite = np.isfinite(loss) and all(np.isfinite(a).all() for a in arrays)
        if finite and loss <= DIVERGENCE_FACTOR * reference:
            return
        block = int(np.argmax(lr))
        name = "lr_all" if len(set(lr)) == 1 else f"lr_{_NAMES[SVDPP_BLOCKS[block]]}"
        what = "a parameter or the loss became non-finite" if not finite else (
            f"training loss grew to {loss:.4g}, over {DIVERGENCE_FACTOR:g} times its value at the start")
        raise DivergenceError(f"epoch {epoch}: {what} with {name}={lr[block]:g} (SVDpp, variant "
                              f"{self.variant!r}); the learning rate is too large for this data: try "
                              f"{name} <= {lr[block] / 10:g}")

    # ---- what prediction and the recommendations see -------------------------------------------

    def _fitted(self) -> Factors:
        r"""The model as biased MF with user vectors :math:`z_u` (computed once, then kept)."""
        if not hasattr(self, "factors_"):
            raise NotFittedError("this SVDpp is not fitted yet: call fit(ratings) first")
        effective = self.__dict__.get("_effective")
        if effective is None:
            effective = self._effective = _effective(self.factors_, self.y_, self.implicit_)
        return effective

    def _fold_in_implicit(self, index: np.ndarray) -> np.ndarray:
        r""":math:`|N|^{-1/2} \sum_{j \in N} y_j` over the distinct items :math:`N` the new user rated.

        The fold-in then minimises the per-rating loss over :math:`p, b_u` with the ratings'
        targets :math:`r_j - \mu - b_j - q_j^\top v` for this fixed :math:`v`: the FunkSVD ridge
        regression with shifted targets (see :meth:`FunkSVD.fold_in`), and returns
        :math:`z = p + v`. :math:`Y` does not enter the minimisation: a new user's :math:`y_j`
        penalty is a constant, :math:`Y` being fixed.
        """
        self._fitted()
        N = np.unique(index)
        return self.y_[N].sum(axis=0) / np.sqrt(len(N))

    _EXTRA_MEMBERS = ("Y", "implicit_indptr", "implicit_items")

    def _extra_arrays(self) -> dict:
        return {"Y": self.y_, "implicit_indptr": self.implicit_.indptr, "implicit_items": self.implicit_.indices}

    @classmethod
    def _check_extra_headers(cls, headers: dict) -> None:
        """``Y`` is shaped and typed like ``Q``; ``N(u)`` is a CSR of int64 item indices with one row per user."""
        for name in cls._EXTRA_MEMBERS:
            if name not in headers:
                raise ValueError(f"the member {name!r} of an SVDpp model is missing")
        (n_users, _), q = headers["P"][0], headers["Q"]
        if headers["Y"] != q:
            raise ValueError(f"Y has shape {headers['Y'][0]} of {headers['Y'][1]}, but Q has {q[0]} of {q[1]}")
        for name, shape in (("implicit_indptr", (n_users + 1,)), ("implicit_items", headers["implicit_items"][0])):
            got, dtype = headers[name]
            if got != shape or len(got) != 1 or dtype != np.int64:
                raise ValueError(f"{name} must be int64 of shape {shape}, got {got} of {dtype}")

    def _restore_extra(self, arrays: dict) -> None:
        indptr, items, n_items = arrays["implicit_indptr"], arrays["implicit_items"], arrays["Q"].shape[0]
        if indptr[0] != 0 or np.any(np.diff(indptr) < 0) or indptr[-1] != len(items):
            raise ValueError(f"implicit_indptr must rise from 0 to len(implicit_items) = {len(items)}")
        if len(items) and (items.min() < 0 or items.max() >= n_items):
            raise ValueError(f"implicit_items must be item indices 0..{n_items - 1}")
        if not np.isfinite(arrays["Y"]).all():  # P, Q and the biases are checked by Factors; Y is not in it
            raise ValueError("Y holds a value that is not finite")
        self.y_ = arrays["Y"]
        self.implicit_ = Implicit(indptr, items)


def _effective(factors: Factors, Y: np.ndarray, implicit: Implicit) -> Factors:
    r""":math:`(Z, Q, b_u, b_i, \mu)` with :math:`Z = P + A Y`: biased MF that predicts as the SVD++ model."""
    return factors.replace(P=factors.P + implicit.sums(Y))
