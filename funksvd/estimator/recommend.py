r"""What a fitted :class:`~funksvd.FunkSVD` recommends: top-N items for a user, the nearest items
of an item, and a new user folded in from a few ratings without retraining.

Results carry the raw ids (and titles) of the data the model was fitted on
(:class:`Ranking`); a folded-in user is a :class:`NewUser` that :meth:`Recommending.recommend`
accepts in place of a user id.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from ..base.errors import InputError
from ..base.optional import require_pandas
from ..base.validation import positive_int
from ..evaluation.top_n import items_by_user, top_n
from ..model.factors import Factors
from ..als.normal_equations import solve_side
from ..model.ratings import Ratings
from .state import EstimatorState

__all__ = ["Ranking", "NewUser", "Recommending", "METRICS"]

METRICS = ("cosine", "dot")


@dataclass(frozen=True, eq=False)
class Ranking:
    """Items ranked by score, best first.

    Attributes
    ----------
    ids : numpy.ndarray
        Raw item ids (0-based indices for a model fitted on bare ratings).
    scores : numpy.ndarray of float64
        Predicted rating (:meth:`~Recommending.recommend`) or similarity
        (:meth:`~Recommending.similar_items`).
    titles : numpy.ndarray of str or None
        Titles, when the data had them.
    indices : numpy.ndarray of int64
        The model's item indices.
    """

    ids: np.ndarray
    scores: np.ndarray
    titles: np.ndarray | None
    indices: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)

    def __iter__(self):
        """``(id, score, title)`` rows (title None without titles)."""
        titles = self.titles if self.titles is not None else [None] * len(self)
        return iter(zip(self.ids.tolist(), self.scores.tolist(), list(titles)))

    def to_frame(self):
        """The ranking as a pandas DataFrame indexed by rank (1 first): ``id``, ``score``, ``title``, ``index``.

        Raises ``ImportError`` without pandas (funksvd does not depend on it).
        """
        pd = require_pandas("Ranking.to_frame()")
        columns = {"id": self.ids, "score": self.scores}
        if self.titles is not None:
            columns["title"] = self.titles
        columns["index"] = self.indices
        return pd.DataFrame(columns, index=pd.RangeIndex(1, len(self) + 1, name="rank"))

    def __str__(self) -> str:
        width = max([len(str(x)) for x in self.ids.tolist()] + [2])
        lines = []
        for rank, (raw, score, title) in enumerate(self, start=1):
            lines.append(f"{rank:>3}. {str(raw):>{width}}  {score:8.4f}" + (f"  {title}" if title is not None else ""))
        return "\n".join(lines)


@dataclass(frozen=True, eq=False)
class NewUser:
    r"""A user folded into a fitted model: :math:`p_u` and :math:`b_u` from their ratings, :math:`Q` fixed.

    Attributes
    ----------
    p_u : numpy.ndarray of float64, shape (k,)
    b_u : float
        0.0 for an unbiased model.
    items : numpy.ndarray of int64
        The model's indices of the items the user rated (excluded from recommendations).
    """

    p_u: np.ndarray
    b_u: float
    items: np.ndarray


class Recommending(EstimatorState):
    """The recommending half of :class:`~funksvd.FunkSVD` (a mixin; needs a fitted estimator)."""

    def _ranking(self, index: np.ndarray, scores: np.ndarray) -> Ranking:
        """The ranking of item indices ``index`` with their ``scores`` (aligned with ``index``)."""
        titles = None if self.item_titles_ is None else self.item_titles_[index]
        return Ranking(self._items.raw(index), np.asarray(scores, np.float64), titles, index)

    def _rated_items(self, user: int) -> np.ndarray:
        """Item indices rated by user index ``user`` in the training data (a CSR built on first use)."""
        if getattr(self, "_rated", None) is None:
            self._rated = items_by_user(self._train_ratings, self._train_ratings.n_users)
        indptr, items = self._rated
        return items[indptr[user]:indptr[user + 1]].astype(np.int64)

    def rating_counts(self) -> tuple[np.ndarray, np.ndarray]:
        """How many training ratings each user and each item had: two int64 arrays (index order).

        A user or item with 0 was listed in the training data (e.g. ``Dataset.from_frame(...,
        items=...)``, or an index below ``Ratings``' ``n_items``) but never rated: its factors
        are its random start. ``predict`` treats it as unknown, ``recommend`` and
        ``similar_items`` refuse it and leave such items out of their lists. Derived from the
        rated items that :meth:`save` keeps, so a loaded model has them too.
        """
        self = self._published()  # noqa: PLW0642 - one fit's state for the whole call, even during a refit
        factors = self._fitted()
        if getattr(self, "_counts", None) is None:
            if getattr(self, "_train_ratings", None) is None and getattr(self, "_rated", None) is None:
                return np.ones(factors.n_users, np.int64), np.ones(factors.n_items, np.int64)  # not kept: all rated
            self._rated_items(0)
            indptr, items = self._rated
            self._counts = (np.diff(indptr).astype(np.int64), np.bincount(items, minlength=factors.n_items))
        return self._counts

    def _rated_index(self, raw, kind: str) -> int:
        """The index of one user or item id, refused when it had no rating in the training data."""
        index = (self._users if kind == "user" else self._items).one(raw)
        if self.rating_counts()[kind == "item"][index] == 0:
            raise InputError(f"{kind} {raw!r} has no ratings in the training data: its factors are its random "
                             "start, so it has nothing to " + ("recommend from" if kind == "user" else "compare"))
        return index

    def training_ratings(self) -> Ratings:
        """The (user, item) pairs the model was fitted on, as indices, values 1 (what ``recommend`` leaves out).

        For :func:`funksvd.evaluation.evaluate_ranking` on a loaded model, whose training
        ratings are not kept, only which items each user rated.
        """
        self = self._published()  # noqa: PLW0642 - one fit's state for the whole call, even during a refit
        self._fitted()
        self._rated_items(0)
        indptr, items = self._rated
        users = np.repeat(np.arange(len(indptr) - 1, dtype=np.int64), np.diff(indptr))
        return Ratings(users, items, np.ones(len(items)), self.factors_.n_users, self.factors_.n_items)

    def recommend(self, user, n: int = 10, exclude_rated: bool = True, include_never_rated: bool = False) -> Ranking:
        r"""The ``n`` items with the highest predicted rating :math:`\hat r_{ui}` for ``user``.

        Parameters
        ----------
        user : raw id, index or NewUser
            A user of the training data (raw id when fitted on a dataset), or a user returned
            by :meth:`fold_in`.
        n : int, default 10
        exclude_rated : bool, default True
            Leave out the items the user rated in the training data (for a :class:`NewUser`,
            the items it was folded in from).
        include_never_rated : bool, default False
            Also rank the items without a training rating (their scores come from their random
            start factors; see :meth:`rating_counts`).

        Returns
        -------
        Ranking
            Raw item ids, predicted ratings and titles, best first (ties by item index), from
            :func:`funksvd.evaluation.top_n`.

        Raises
        ------
        UnknownIdError
            For a user the model was not fitted on (use :meth:`fold_in` for a new one).
        InputError
            For a user of the training data without a rating (a ``ValueError``).
        """
        self = self._published()  # noqa: PLW0642 - one fit's state for the whole call, even during a refit
        factors = self._fitted()
        n = positive_int(n, "n")
        if isinstance(user, NewUser):
            u, rated = 0, user.items
            factors = Factors(user.p_u[None, :].astype(factors.dtype), factors.Q,
                              [user.b_u] if factors.biased else None, factors.bi, factors.mu)
        else:
            u = self._rated_index(user, "user")
            rated = self._rated_items(u)
        candidates = np.ones(factors.n_items, bool) if include_never_rated else self.rating_counts()[1] > 0
        if exclude_rated:
            candidates[rated] = False
        n = min(n, int(candidates.sum()))
        if n == 0:
            return self._ranking(np.zeros(0, np.int64), np.zeros(0))
        items, scores = top_n(factors, u, n=n, candidates=candidates)
        return self._ranking(items, scores)

    def similar_items(self, item, n: int = 10, metric: str = "cosine", include_never_rated: bool = False) -> Ranking:
        r"""The ``n`` items whose factor vectors :math:`q_j` are nearest to ``item``'s.

        Parameters
        ----------
        item : raw id or index
        n : int, default 10
        metric : {"cosine", "dot"}, default "cosine"
            :math:`\cos(q_i, q_j) = q_i^\top q_j / (\lVert q_i\rVert\,\lVert q_j\rVert)` (an item
            with :math:`q_j = 0` scores 0), or the inner product :math:`q_i^\top q_j`, which
            favours items with long vectors (strongly liked or disliked ones).
        include_never_rated : bool, default False
            Also rank the items without a training rating (see :meth:`rating_counts`).

        Returns
        -------
        Ranking
            The item itself left out; ties by item index (:func:`funksvd.evaluation.top_n` of
            the one-user model :math:`p = q_i`).

        Notes
        -----
        Only :math:`Q` enters: the biases say how much an item is liked overall, not what it is
        like. :math:`Q` is defined up to an orthogonal change of basis (REFERENCE,
        "useful facts"), under which both metrics are unchanged.
        """
        self = self._published()  # noqa: PLW0642 - one fit's state for the whole call, even during a refit
        factors = self._fitted()
        n = positive_int(n, "n")
        if metric not in METRICS:
            raise InputError(f"metric must be one of {METRICS}, got {metric!r}")
        i = self._rated_index(item, "item")
        Q = factors.Q.astype(np.float64)
        if metric == "cosine":
            norms = np.linalg.norm(Q, axis=1, keepdims=True)
            if norms[i, 0] == 0.0:
                raise InputError(f"item {item!r} has a zero factor vector: it has no direction to compare "
                                 "(use metric='dot')")
            Q = np.divide(Q, norms, out=np.zeros_like(Q), where=norms > 0)  # unit rows; a zero row stays 0
        # the similarities are the predictions of a one-user, unbiased model with p = q_i
        candidates = np.ones(len(Q), bool) if include_never_rated else self.rating_counts()[1] > 0
        candidates[i] = False
        n = min(n, int(candidates.sum()))
        if n == 0:
            return self._ranking(np.zeros(0, np.int64), np.zeros(0))
        best, scores = top_n(Factors(Q[i:i + 1], Q), 0, n=n, candidates=candidates)
        return self._ranking(best, scores)

    def fold_in(self, items, ratings) -> NewUser:
        r"""A new user's :math:`p_u` (and :math:`b_u`) from their ratings, :math:`Q, b_i, \mu` fixed.

        The exact minimiser of the model's own loss over the new user's ratings, in closed form
        (ridge regression); no retraining.

        Parameters
        ----------
        items : array_like
            Items the user rated (raw ids when fitted on a dataset, else indices). Unknown ones
            raise :class:`~funksvd.base.errors.UnknownIdError`; a repeated one counts once per copy,
            with a ``UserWarning`` naming it.
        ratings : array_like of numbers
            Their ratings. Strings (``"5"``) are refused, as :class:`~funksvd.data.Dataset`
            refuses them. A rating outside the training range ``rating_range_`` is used as
            given, with a ``UserWarning``: it is a legitimate input (another scale, an
            extreme opinion) but extrapolates :math:`b_u, p_u` beyond what training saw.

        Returns
        -------
        NewUser
            ``p_u``, ``b_u`` and the rated items; :meth:`recommend` accepts it.

        Notes
        -----
        The rule's per-rating loss (``funksvd.RULES[rule].objective``: data weight :math:`c`,
        penalty weights :math:`w_f, w_b`) over the new user's ratings :math:`S`,
        :math:`|S| = n`, with everything but :math:`p = p_u` and :math:`b = b_u` fixed, is

        .. math::

            L(p, b) = \sum_{j \in S} \Big( c\,e_j^2 + \lambda_{p_u} w_f \lVert p\rVert^2
            + \lambda_{b_u} w_b\, b^2 \Big) + \text{const}, \qquad
            e_j = r_j - \mu - b - b_j - q_j^\top p.

        Write :math:`x = (p, b)`, :math:`A = [\,Q_S \;\; \mathbf 1\,]` (:math:`n \times (k+1)`),
        :math:`y = r - \mu - b_S` and :math:`D = \operatorname{diag}(\lambda_{p_u} w_f I_k,\; \lambda_{b_u} w_b)`,
        so :math:`e = y - A x` and :math:`L = c\lVert y - Ax\rVert^2 + n\,x^\top D x + \text{const}`. Then

        .. math::

            \nabla_x L = -2c\,A^\top (y - Ax) + 2n\,D x = 0
            \iff \Big(A^\top A + \frac{n}{c} D\Big)\, x = A^\top y .

        Written out in the blocks of :math:`x = (p, b)`, with
        :math:`\mathbf 1^\top Q_S = (Q_S^\top \mathbf 1)^\top` and :math:`\mathbf 1^\top \mathbf 1 = n`,
        the system is, for ``rule="funk"`` (:math:`c = w_f = w_b = \tfrac12`, so
        :math:`\tfrac{n}{c} D = n \operatorname{diag}(\lambda_{p_u} I, \lambda_{b_u})`),

        .. math::

            (Q_S^\top Q_S + n \lambda_{p_u} I)\, p + Q_S^\top \mathbf 1\, b = Q_S^\top (r - \mu - b_S)

            \mathbf 1^\top Q_S\, p + n (1 + \lambda_{b_u})\, b = \mathbf 1^\top (r - \mu - b_S)

        (:math:`b` sits on the left only: it is one of the unknowns), and for ``"quuxlabs"``
        (:math:`c = 1, w_f = \tfrac12, w_b = 1`) the factor 2 of its data term halves the factor
        penalty relative to the bias penalty:

        .. math::

            (Q_S^\top Q_S + \tfrac12 n \lambda_{p_u} I)\, p + Q_S^\top \mathbf 1\, b = Q_S^\top (r - \mu - b_S)

            \mathbf 1^\top Q_S\, p + n (1 + \lambda_{b_u})\, b = \mathbf 1^\top (r - \mu - b_S)

        The matrix is symmetric positive definite when every :math:`\lambda > 0`, so :math:`x` is
        the unique minimiser (:math:`L` is a convex quadratic). An unbiased model drops the
        column of ones and :math:`b`. The tests evaluate :math:`\nabla L` at :math:`x` with the
        rule's hand gradient (:func:`funksvd.gradients`) and with finite differences: it is 0.
        ``tests/test_matrix_docstrings.py`` evaluates the written-out equations above at the
        returned :math:`x`. The derivation step by step: :doc:`/derivations/fold_in_als`.
        The system is solved by :func:`funksvd.als.solve_side`, the routine of an ALS half-step
        (:class:`funksvd.ALS`: its weighted loss is ``"funk"``'s; unweighted, :math:`n` is replaced by 1,
        and with ``weight_exponent`` :math:`\alpha` by :math:`n^\alpha`).
        """
        self = self._published()  # noqa: PLW0642 - one fit's state for the whole call, even during a refit
        factors = self._fitted()
        index, _ = self._items(items)
        index = np.atleast_1d(index)
        given = np.atleast_1d(np.asarray(ratings))
        if given.dtype == bool or given.dtype.kind not in "iuf":
            raise InputError(f"ratings must be numbers, got dtype {given.dtype} ({ratings!r})")
        r = given.astype(np.float64)
        if index.ndim != 1 or r.shape != index.shape:
            raise InputError(f"items and ratings must be one-dimensional and of the same length, got "
                             f"{np.shape(items)} and {np.shape(ratings)}")
        if len(r) == 0:
            raise InputError("fold_in needs at least one rating")
        if not np.isfinite(r).all():
            j = int(np.flatnonzero(~np.isfinite(r))[0])
            raise InputError(f"ratings[{j}] = {r[j]} is not finite")
        unique, counts = np.unique(index, return_counts=True)
        if (counts > 1).any():
            twice = self._items.raw(unique[counts > 1]).tolist()
            warnings.warn(f"fold_in: item(s) {twice} are given more than once: each copy counts as one more "
                          "rating of the item in the loss", UserWarning, stacklevel=2)
        low, high = getattr(self, "rating_range_", (-np.inf, np.inf))
        outside = np.flatnonzero((r < low) | (r > high))
        if outside.size:
            warnings.warn(f"fold_in: {outside.size} rating(s) outside the training range [{low:g}, {high:g}] "
                          f"(ratings[{outside[0]}] = {r[outside[0]]:g}); they are used as given, which "
                          "extrapolates b_u and p_u beyond anything seen in training", UserWarning, stacklevel=2)
        objective, reg = self._objective(), self._hyper("reg")
        k = factors.n_factors
        implicit = self._fold_in_implicit(index)  # a fixed part of the user's vector (0 for FunkSVD)
        p_u, b_u = np.empty((1, k)), np.empty(1 if factors.biased else 0)
        bi = factors.bi if factors.biased else np.zeros(0)
        Q = factors.Q.astype(np.float64)
        try:  # the normal equations of one row: the same routine as an ALS half-step
            solve_side(objective, reg, "users", Q, bi.astype(np.float64), factors.mu, np.array([0, len(r)], np.int64),
                       index.astype(np.int64), r - Q[index] @ implicit, p_u, b_u,
                       weight_exponent=self._weight_exponent())
        except InputError:
            raise InputError(f"fold_in: the normal equations are singular ({len(r)} ratings, {k} factors, "
                             f"reg_pu={reg['P']:g}); use a positive regularisation or more ratings") from None
        return NewUser(p_u[0] + implicit, float(b_u[0]) if factors.biased else 0.0, index.astype(np.int64))

    def _weight_exponent(self) -> float:
        """:math:`\alpha` of the penalty weights :math:`n_u^\alpha` (:class:`~funksvd.ALS` may set it; 1 here)."""
        return 1.0

    def _fold_in_implicit(self, index: np.ndarray) -> np.ndarray:
        """The part of a new user's vector fixed by which items they rated (SVD++'s implicit term); 0 here."""
        return np.zeros(self._fitted().n_factors)
