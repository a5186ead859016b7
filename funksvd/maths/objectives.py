r"""Full-batch objectives and their hand-derived gradients.

One :class:`Objective` describes every loss of the classic tutorials: the data term (squared or
absolute), its weight and reduction, which entries it runs over, the penalty, the link and whether
the model is biased (read off the :class:`~funksvd.Factors`). Two forms compute it:

* the **sparse** form runs over rating triples with scatter-adds and never forms an
  ``n_users x n_items`` array (unless the objective itself is dense);
* the **matrix** form writes the same loss with a mask :math:`M`, e.g.
  :math:`\partial L/\partial P = -2\,(M \circ E)\,Q` for the masked squared loss.

The tests prove the two forms equal, and both equal to finite differences and to TensorFlow.
The matrix form is derived step by step in the documentation's chapter on derivations
(``docs/derivations/masked_matrix.rst``), sum against mean on ``sum_vs_mean.rst``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Mapping

import numpy as np

from .entries import Entries
from ..model.factors import BLOCKS, MAX_CELLS, Factors, predict_pairs
from ..model.ratings import Ratings

__all__ = ["Objective", "OBJECTIVES", "RULE_OBJECTIVES", "Entries", "as_objective", "loss", "gradients",
           "per_block", "sigmoid"]

DATA_TERMS = ("squared", "absolute")
REDUCTIONS = ("sum", "mean")
ENTRIES = ("observed", "dense")
PENALTIES = ("per_rating", "frobenius", "l1", "none")
LINKS = ("identity", "sigmoid")
FORMS = ("sparse", "matrix")


def per_block(value, name: str = "reg") -> dict[str, float]:
    """A scalar or a mapping with keys among ``P, Q, bu, bi`` as one float per block.

    A mapping must name every block it is used for (:meth:`Objective.penalty_terms` raises
    ``ValueError`` for a missing one); unknown keys raise ``ValueError`` here.
    """
    if isinstance(value, Mapping):
        unknown = set(value) - set(BLOCKS)
        if unknown:
            raise ValueError(f"{name} has unknown block(s) {sorted(unknown)}; blocks are {list(BLOCKS)}")
        out = {key: float(v) for key, v in value.items()}
    else:
        out = dict.fromkeys(BLOCKS, float(value))
    for key, v in out.items():
        if not np.isfinite(v):
            raise ValueError(f"{name}[{key!r}] = {v} is not finite")
    return out


def sigmoid(z):
    r""":math:`\sigma(z) = 1/(1+e^{-z})`, written as :math:`\tfrac12(1+\tanh(z/2))` so it never overflows."""
    return 0.5 * (1.0 + np.tanh(0.5 * z))


@dataclass(frozen=True)
class Objective:
    r"""A full-batch matrix-factorisation loss with its hand-derived gradient.

    Parameters
    ----------
    data : {"squared", "absolute"}
        Data term :math:`\rho(e) = e^2` or :math:`\rho(e) = |e|` (subgradient :math:`\operatorname{sign}(e)`,
        with :math:`\operatorname{sign}(0) = 0`).
    data_weight : float, default 1.0
        The constant :math:`c` in front of :math:`\rho` (``0.5`` gives :math:`\tfrac12 e^2`).
    reduction : {"sum", "mean"}
        ``"mean"`` divides the per-entry terms by the number of entries :math:`N`.
    entries : {"observed", "dense"}
        Run over the observed ratings :math:`\mathcal K`, or over every cell of the
        ``n_users x n_items`` matrix with missing entries taken as 0 (the pitfall of the
        2019 Keras tutorial: it fits the zeros).
    penalty : {"per_rating", "frobenius", "l1", "none"}
        ``"per_rating"`` adds the penalty of :math:`p_u, q_i, b_u, b_i` once per entry, as SGD
        applies it; ``"frobenius"`` adds it once per row (whole-matrix L2); ``"l1"`` is entrywise
        :math:`|\cdot|` once per parameter.
    factor_reg_weight, bias_reg_weight : float, default 0.5
        The constants :math:`w_f, w_b` in front of :math:`\lambda` for the factors and the biases.
    link : {"identity", "sigmoid"}
        :math:`h(z) = z`, or :math:`h(z) = r_{\min} + (r_{\max} - r_{\min})\,\sigma(z)`.
    rating_range : (float, float), default (1.0, 5.0)
        :math:`(r_{\min}, r_{\max})` of the sigmoid link.
    learn_mu : bool, default False
        Train the global offset :math:`\mu` too (the Keras model's ``bg``): :meth:`gradients`
        then returns :math:`\partial L/\partial\mu` under the key ``"mu"``. By default
        :math:`\mu` is a constant (the classics set it to the training mean).
    name : str, optional
        A label for reports.

    Notes
    -----
    With :math:`z_{ui} = \mu + b_u + b_i + p_u^\top q_i` (no biases when unbiased), prediction,
    loss, gradient:

    .. math::

        \hat r_{ui} = h(z_{ui}), \qquad e_{ui} = r_{ui} - \hat r_{ui}

        L = \frac{1}{N^{[\mathrm{mean}]}} \sum_{(u,i) \in \mathcal E} \big( c\,\rho(e_{ui}) + \Omega_{ui} \big) + \Omega

        g_{ui} = \frac{\partial L}{\partial z_{ui}} = -\frac{c\,\rho'(e_{ui})\,h'(z_{ui})}{N^{[\mathrm{mean}]}}

        \frac{\partial L}{\partial p_u} = \sum_i g_{ui}\,q_i + \frac{\partial \Omega}{\partial p_u}, \quad
        \frac{\partial L}{\partial q_i} = \sum_u g_{ui}\,p_u + \dots, \quad
        \frac{\partial L}{\partial b_u} = \sum_i g_{ui} + \dots

    where :math:`\mathcal E` is :math:`\mathcal K` or every cell, :math:`N = |\mathcal E|` under
    ``"mean"`` (else 1), and the penalty is per entry
    :math:`\Omega_{ui} = \lambda\,w_f\,(\lVert p_u\rVert^2 + \lVert q_i\rVert^2) + \lambda\,w_b\,(b_u^2 + b_i^2)`
    (``"per_rating"``) or once for the model,
    :math:`\Omega = \lambda\,w_f\,(\lVert P\rVert_F^2 + \lVert Q\rVert_F^2)
    + \lambda\,w_b\,(\lVert b_u\rVert^2 + \lVert b_i\rVert^2)` (``"frobenius"``) or with
    :math:`\lVert\cdot\rVert_1` (``"l1"``). Each block may carry its own :math:`\lambda`
    (``reg={"P": ..., "Q": ..., "bu": ..., "bi": ...}``).

    Update: a full-batch step :math:`\theta \leftarrow \theta - \gamma\,\partial L/\partial\theta`
    (or Adam, RMSprop on the same gradient), :func:`funksvd.train`; the per-rating rules of
    :data:`funksvd.RULES` are SGD steps on one entry's term.

    The per-rating penalty summed over entries is a count-weighted Frobenius penalty,
    :math:`\sum_u n_u\,\lambda\,w_f \lVert p_u\rVert^2`, which is how it is computed here.

    **A trainable global bias** (``learn_mu=True``). :math:`\mu` enters every score with
    coefficient 1, :math:`\partial z_{ui}/\partial\mu = 1`, and no penalty term contains it, so
    by the chain rule through :math:`z_{ui}` alone

    .. math::

        \frac{\partial L}{\partial \mu} = \sum_{(u,i) \in \mathcal E} \frac{\partial L}{\partial z_{ui}}
        = \sum_{(u,i) \in \mathcal E} g_{ui}
        = -\frac{c}{N^{[\mathrm{mean}]}} \sum_{(u,i) \in \mathcal E} \rho'(e_{ui})\,h'(z_{ui}),

    the sum of the :math:`b_u` gradients' data parts over the users (:math:`1^\top G\,1` in the
    matrix form). For the squared loss with the identity link and sum reduction,
    :math:`\partial L/\partial\mu = -2c\sum e_{ui}`: a gradient step moves :math:`\mu` towards
    the mean residual.
    """

    data: str = "squared"
    data_weight: float = 1.0
    reduction: str = "sum"
    entries: str = "observed"
    penalty: str = "per_rating"
    factor_reg_weight: float = 0.5
    bias_reg_weight: float = 0.5
    link: str = "identity"
    rating_range: tuple[float, float] = (1.0, 5.0)
    learn_mu: bool = False
    name: str = ""

    def __post_init__(self):
        for field, allowed in (
            ("data", DATA_TERMS),
            ("reduction", REDUCTIONS),
            ("entries", ENTRIES),
            ("penalty", PENALTIES),
            ("link", LINKS),
        ):
            if getattr(self, field) not in allowed:
                raise ValueError(f"Objective {field}={getattr(self, field)!r}; expected one of {allowed}")
        lo, hi = self.rating_range
        if not lo < hi:
            raise ValueError(f"rating_range must be (low, high) with low < high, got {self.rating_range}")

    def with_name(self, name: str) -> "Objective":
        return replace(self, name=name)

    def replace(self, **options) -> "Objective":
        """A copy with some options changed, e.g. ``OBJECTIVES["keras_sigmoid_2019"].replace(learn_mu=True)``."""
        return replace(self, **options)

    def __str__(self) -> str:
        if self.name:
            return self.name
        parts = [f"{self.data_weight:g}*{self.data}", self.reduction, self.entries, f"penalty={self.penalty}"]
        if self.link != "identity":
            parts.append(f"link={self.link}")
        if self.learn_mu:
            parts.append("learn_mu")
        return "Objective(" + ", ".join(parts) + ")"

    # ---- the pieces of the formula -------------------------------------------------------

    def apply_link(self, z):
        """Return ``(h(z), h'(z))``."""
        if self.link == "identity":
            return z, np.ones_like(z)
        lo, hi = self.rating_range
        s = sigmoid(z)
        return lo + (hi - lo) * s, (hi - lo) * s * (1.0 - s)

    def _rho(self, e):
        """Return ``(rho(e), rho'(e))``; the absolute term's subgradient has sign(0) = 0."""
        if self.data == "squared":
            return e * e, 2.0 * e
        return np.abs(e), np.sign(e)

    def penalty_terms(self, factors: Factors, reg, counts, gradients: bool = True):
        """Penalty value and gradients. ``counts`` = (entries per user, entries per item) for per-rating."""
        lam = per_block(reg)
        missing = [block for block in factors.blocks if block not in lam]
        if missing:
            raise ValueError(f"reg must give every block of the model {list(factors.blocks)}; missing {missing}")
        weight = {"P": self.factor_reg_weight, "Q": self.factor_reg_weight,
                  "bu": self.bias_reg_weight, "bi": self.bias_reg_weight}
        value, grads = 0.0, {}
        for block, theta in factors.params().items():
            coef = lam[block] * weight[block]
            theta = theta.astype(np.float64, copy=False)
            if self.penalty == "none" or coef == 0.0:
                grads[block] = np.zeros_like(theta) if gradients else None
                continue
            if self.penalty == "l1":
                value += coef * float(np.abs(theta).sum())
                grads[block] = coef * np.sign(theta) if gradients else None
                continue
            if self.penalty == "per_rating":
                n = counts[0] if block in ("P", "bu") else counts[1]
                value += coef * weighted_squares(theta, n)
                n = n.reshape((-1,) + (1,) * (theta.ndim - 1))
            else:
                n = 1.0
                value += coef * float((theta * theta).sum())
            grads[block] = 2.0 * coef * n * theta if gradients else None
        return value, grads

    def _n(self, n_entries: int) -> float:
        return float(n_entries) if self.reduction == "mean" else 1.0

    # ---- predictions ---------------------------------------------------------------------

    def predict(self, factors: Factors, users, items) -> np.ndarray:
        r"""Predictions :math:`\hat r_{ui} = h(z_{ui})` of this objective's link, in float64.

        :meth:`Factors.predict <funksvd.Factors.predict>` returns the raw score :math:`z_{ui}`;
        for a sigmoid model the rating is :math:`h(z_{ui})`.
        """
        z = _scores(factors, np.asarray(users, dtype=np.int64), np.asarray(items, dtype=np.int64))
        return self.apply_link(z)[0]

    def predict_full(self, factors: Factors, *, max_cells: int | None = MAX_CELLS) -> np.ndarray:
        r"""Every cell's prediction with this objective's link: :math:`\hat R = h(Z)`, ``n_users x n_items``.

        :math:`Z` is :meth:`Factors.full <funksvd.Factors.full>` (refused above ``max_cells``
        cells, ``MemoryError``), :math:`h` the link (identity, or
        :math:`r_{\min} + (r_{\max} - r_{\min})\,\sigma(z)`).
        """
        return self.apply_link(factors.full(max_cells=max_cells))[0]

    # ---- the entries ---------------------------------------------------------------------

    def select_entries(self, factors: Factors, ratings: Ratings):
        """The (users, items, values) the data term runs over."""
        entries = self.prepare(factors, ratings)
        return entries.users, entries.items, entries.values

    def prepare(self, factors: Factors, ratings: Ratings, cache: bool = False) -> "Entries":
        """The :class:`Entries` of ``ratings`` this objective runs over.

        A trainer prepares them once and keeps them. With ``cache`` (what the matrix form of
        :meth:`loss` and :meth:`gradients` asks for) they are also kept by ``ratings`` itself -- a
        ``Ratings`` never changes -- so that repeated calls on the same data do not rebuild the
        dense matrix, the mask and the duplicate check; they go when the ratings go.
        """
        if (ratings.n_users, ratings.n_items) != (factors.n_users, factors.n_items):
            raise ValueError(
                f"ratings are {ratings.n_users} users x {ratings.n_items} items but the factors are "
                f"{factors.n_users} x {factors.n_items}"
            )
        return Entries.of(ratings, self.entries, cache)

    # ---- loss and gradients --------------------------------------------------------------

    def loss(self, factors: Factors, ratings: Ratings, reg=0.02, form: str = "sparse") -> float:
        r"""The loss :math:`L(\theta)` (see the class Notes).

        Parameters
        ----------
        factors : Factors
        ratings : Ratings
        reg : float or mapping, default 0.02
            :math:`\lambda`, one for all blocks or one per block ``{"P", "Q", "bu", "bi"}``.
        form : {"sparse", "matrix"}
            Scatter over triples, or dense matrices with a mask. Equal up to rounding.
        """
        return self.evaluate(factors, self._entries_for(factors, ratings, form), reg, form, gradients=False)[0]

    def gradients(self, factors: Factors, ratings: Ratings, reg=0.02, form: str = "sparse") -> dict[str, np.ndarray]:
        r"""Hand-derived :math:`\partial L/\partial\theta` for each block, as float64 arrays.

        Keys ``"P", "Q"``, for a biased model ``"bu", "bi"``, and ``"mu"`` (a 0-d array) when
        ``learn_mu``. Same parameters as :meth:`loss`.
        """
        return self.evaluate(factors, self._entries_for(factors, ratings, form), reg, form)[1]

    def value_and_gradients(self, factors: Factors, ratings: Ratings, reg=0.02, form: str = "sparse"):
        """``(loss, gradients)`` in one pass: the loss is a by-product of the gradient's errors."""
        return self.evaluate(factors, self._entries_for(factors, ratings, form), reg, form)

    def _entries_for(self, factors, ratings, form):
        _check_form(form)
        entries = self.prepare(factors, ratings, cache=form == "matrix")
        if form == "matrix":
            entries.check_cells()
        return entries

    def evaluate(self, factors: Factors, entries: "Entries", reg=0.02, form: str = "sparse", gradients=True):
        """``(L, gradients or None)`` on prepared :class:`Entries` (a training step's batch, say).

        The per-rating penalty counts and :math:`N` are those of ``entries``; a whole-model
        penalty enters in full whatever the entries.
        """
        _check_form(form)
        if form == "matrix":
            return self._matrix(factors, entries, reg, gradients)
        return self._sparse(factors, entries, reg, gradients)

    def _finish(self, factors, data_sum, g_sum, grads, reg, counts, n):
        """Add the penalty to the data part: value and gradients (the per-rating one divided by N)."""
        penalty, penalty_grads = self.penalty_terms(factors, reg, counts, gradients=grads is not None)
        if self.penalty == "per_rating":
            value = (self.data_weight * data_sum + penalty) / n
        else:
            value = self.data_weight * data_sum / n + penalty
        if grads is None:
            return value, None
        per_entry = n if self.penalty == "per_rating" else 1.0
        for block in factors.blocks:
            grads[block] += penalty_grads[block] / per_entry
        if self.learn_mu:
            grads["mu"] = np.array(g_sum)  # dL/dmu = sum of g_ui: mu carries no penalty
        return value, grads

    # ---- sparse form ---------------------------------------------------------------------

    def _sparse(self, factors: Factors, entries: "Entries", reg, want_gradients: bool):
        r"""Scatter form: gather :math:`p_u, q_i` per entry, scatter-add :math:`g_{ui}\,q_i` back.

        Products are taken in float64 whatever the dtype of the factors, as the matrix form does.
        """
        users, items = entries.users, entries.items
        P, Q = _float64(factors.P), _float64(factors.Q)
        z = _scores(factors, users, items, P, Q)
        r_hat, dh = self.apply_link(z)
        rho, drho = self._rho(entries.values - r_hat)
        n = self._n(entries.n)
        if not want_gradients:
            return self._finish(factors, float(rho.sum()), None, None, reg, entries.counts, n)
        g = -self.data_weight * drho * dh / n  # g_ui = dL/dz_ui
        k = P.shape[1]
        dLdP = np.empty_like(P)
        dLdQ = np.empty_like(Q)
        gq = g[:, None] * Q[items]  # one term g_ui q_i per entry
        gp = g[:, None] * P[users]
        for f in range(k):  # dL/dp_u = sum_i g_ui q_i, dL/dq_i = sum_u g_ui p_u (scatter-adds)
            dLdP[:, f] = np.bincount(users, weights=gq[:, f], minlength=factors.n_users)
            dLdQ[:, f] = np.bincount(items, weights=gp[:, f], minlength=factors.n_items)
        grads = {"P": dLdP, "Q": dLdQ}
        if factors.biased:
            grads["bu"] = np.bincount(users, weights=g, minlength=factors.n_users)  # dL/db_u = sum_i g_ui
            grads["bi"] = np.bincount(items, weights=g, minlength=factors.n_items)  # dL/db_i = sum_u g_ui
        return self._finish(factors, float(rho.sum()), float(g.sum()), grads, reg, entries.counts, n)

    # ---- matrix form ---------------------------------------------------------------------

    def _matrix(self, factors: Factors, entries: "Entries", reg, want_gradients: bool):
        r"""Loss or gradients with dense matrices and a mask :math:`M`.

        .. math::

            Z = \mu + b_u 1^\top + 1 b_i^\top + P Q^\top, \quad E = M \circ (R - h(Z)), \quad
            G = -\frac{c}{N}\, M \circ \rho'(E) \circ h'(Z)

            \frac{\partial L}{\partial P} = G\,Q, \quad \frac{\partial L}{\partial Q} = G^\top P, \quad
            \frac{\partial L}{\partial b_u} = G\,1, \quad \frac{\partial L}{\partial b_i} = G^\top 1, \quad
            \frac{\partial L}{\partial \mu} = 1^\top G\, 1

        For the squared loss, sum reduction and identity link, :math:`G = -2\,M \circ E`.

        Computed with few passes over the ``n_users x n_items`` arrays (two work arrays, reused):
        the offsets ride along in the products, with :math:`A = [P,\ b_u,\ 1]` and
        :math:`B = [Q,\ 1,\ b_i + \mu]`,

        .. math:: Z = A B^\top, \qquad G B = [G Q,\ G 1,\ \cdot\,], \qquad G^\top A = [G^\top P,\ \cdot\,,\ G^\top 1],

        the sigmoid as :math:`\sigma(z) = \tfrac12(1 + \tanh(z/2))` with
        :math:`h'(z) = \tfrac{r_{\max} - r_{\min}}{4}(1 - \tanh^2(z/2))`, and the scalar factor of
        :math:`G` applied to the small products instead of the matrix. :math:`M = 1` (every cell
        an entry) is skipped.
        """
        R, M = entries.dense()
        P, Q = _float64(factors.P), _float64(factors.Q)
        n_users, n_items = entries.shape
        bu = _float64(factors.bu) if factors.biased else np.zeros(n_users)
        bi = _float64(factors.bi) if factors.biased else np.zeros(n_items)
        A = np.column_stack([P, bu, np.ones(n_users)])
        B = np.column_stack([Q, np.ones(n_items), bi + factors.mu])
        Z, E = entries.buffers()  # two n_users x n_items work arrays, reused from call to call
        factor = -self.data_weight / self._n(entries.n)  # G = factor * rho'(E) * h'(Z), rho' = 2E or sign(E)
        if self.link == "identity":
            np.matmul(A, B.T, out=Z)
            np.subtract(R, Z, out=E)  # E = R - Z
            T = None
        else:  # h(z) = lo + (hi - lo) sigma(z) = lo + half (1 + tanh(z/2))
            lo, hi = self.rating_range
            half = 0.5 * (hi - lo)
            np.matmul(0.5 * A, B.T, out=Z)  # z/2
            T = np.tanh(Z, out=Z)
            np.multiply(T, -half, out=E)
            E += entries.dense_shifted(lo + half)  # E = (R - lo - half) - half tanh(z/2) = R - h(Z)
            factor *= 0.5 * half  # h'(z) = (half / 2) (1 - tanh^2(z/2))
        if M is not None:
            E *= M
        if self.data == "squared":
            data_sum = float(np.vdot(E, E))
            factor *= 2.0
        else:
            data_sum = float(np.abs(E).sum())
            np.sign(E, out=E)
        if not want_gradients:
            return self._finish(factors, data_sum, None, None, reg, entries.counts, self._n(entries.n))
        G = E  # G / factor = rho'(E) / rho-constant, times (1 - tanh^2) for the sigmoid, built in place
        if T is not None:
            np.square(T, out=T)
            np.subtract(1.0, T, out=T)
            G *= T
        GB = G @ B  # [G Q, G 1, G (b_i + mu)] / factor
        GA = G.T @ A  # [G^T P, G^T b_u, G^T 1] / factor
        k = P.shape[1]
        grads = {"P": factor * GB[:, :k], "Q": factor * GA[:, :k]}
        if factors.biased:
            grads["bu"] = factor * GB[:, k]
            grads["bi"] = factor * GA[:, k + 1]
        g_sum = factor * float(GB[:, k].sum()) if self.learn_mu else None
        return self._finish(factors, data_sum, g_sum, grads, reg, entries.counts, self._n(entries.n))


def weighted_squares(theta: np.ndarray, counts: np.ndarray) -> float:
    r"""The per-rating penalty of one block without its coefficient: :math:`\sum_u n_u \lVert\theta_u\rVert^2`.

    ``theta`` is a factor matrix (rows :math:`p_u`) or a bias vector; ``counts`` the ratings per
    row, :math:`n_u`. Squares are taken in the dtype of ``theta`` (a float32 model's rows of
    :math:`k` terms stay float32), weighted by ``counts`` in float64. NaN if any entry is not
    finite, even in a row with :math:`n_u = 0`.
    """
    squares = np.einsum("ij,ij->i", theta, theta) if theta.ndim == 2 else theta * theta
    # a plain loop, not BLAS: a BLAS dot would wake threads that keep spinning beside the next epoch
    return float(np.einsum("i,i->", np.asarray(counts, dtype=np.float64), squares.astype(np.float64, copy=False)))


def weighted_row_squares(theta, counts):
    r""":func:`weighted_squares` of a factor matrix as a literal loop: what the compiled engine runs.

    :math:`\sum_u n_u \lVert\theta_u\rVert^2`, each row's squares summed in the dtype of ``theta``,
    weighted and added in float64 (a bias vector is passed as a one-column view). The same sum as
    :func:`weighted_squares` up to the order of its additions (tested), in one pass without
    temporaries. NaN if any entry is not finite (``0 * inf`` is NaN, so a row with :math:`n_u = 0`
    is not skipped).
    """
    total = 0.0
    for u in range(theta.shape[0]):
        square = theta.dtype.type(0)
        for f in range(theta.shape[1]):
            square += theta[u, f] * theta[u, f]
        total += counts[u] * square
    return total


def _float64(array: np.ndarray) -> np.ndarray:
    return array.astype(np.float64, copy=False)


def _scores(factors: Factors, users, items, P=None, Q=None) -> np.ndarray:
    r""":math:`z_{ui} = \mu + b_u + b_i + p_u^\top q_i` for every entry, in float64 (one :func:`predict_pairs`)."""
    P = factors.P if P is None else P
    Q = factors.Q if Q is None else Q
    return predict_pairs(P, Q, factors.bu, factors.bi, factors.mu, users, items)


def _check_form(form: str) -> None:
    if form not in FORMS:
        raise ValueError(f"form={form!r}; expected one of {FORMS}")


#: The objectives of the classic sources (see the docs' "Conventions" page), by name.
OBJECTIVES: dict[str, Objective] = {
    "surprise_documented": Objective(
        data_weight=1.0, factor_reg_weight=1.0, bias_reg_weight=1.0, name="surprise_documented"
    ),
    "quuxlabs_frobenius": Objective(
        penalty="frobenius", factor_reg_weight=0.5, bias_reg_weight=0.5, name="quuxlabs_frobenius"
    ),
    "tf_masked_2018": Objective(penalty="none", name="tf_masked_2018"),
    "tf1_l1_2016": Objective(
        data="absolute", penalty="l1", factor_reg_weight=1.0, bias_reg_weight=1.0, name="tf1_l1_2016"
    ),
    "tf2_mse_2021": Objective(reduction="mean", penalty="none", name="tf2_mse_2021"),
    "keras_sigmoid_2019": Objective(
        reduction="mean", entries="dense", penalty="none", link="sigmoid", rating_range=(0.0, 1.0),
        name="keras_sigmoid_2019",
    ),
}


#: The per-rating loss :math:`\ell` of each rule of :data:`funksvd.RULES`, summed over the ratings
#: (``RULES[name].objective``; the rules' docstrings derive them). Defined here so that a rule
#: name resolves to its loss without this module importing :mod:`funksvd.maths.rules`.
RULE_OBJECTIVES: dict[str, Objective] = {
    "funk": Objective(data_weight=0.5, factor_reg_weight=0.5, bias_reg_weight=0.5, name="funk"),
    "quuxlabs": Objective(data_weight=1.0, factor_reg_weight=0.5, bias_reg_weight=1.0, name="quuxlabs"),
    "quuxlabs_listing": Objective(data_weight=0.5, factor_reg_weight=0.5, bias_reg_weight=0.5,
                                  name="quuxlabs_listing"),
}


def as_objective(objective) -> Objective:
    """An :class:`Objective`, a rule name (that rule's summed per-rating loss) or a classic objective's name."""
    if isinstance(objective, Objective):
        return objective
    for registry in (RULE_OBJECTIVES, OBJECTIVES):
        if isinstance(objective, str) and objective in registry:
            return registry[objective]
    raise ValueError(
        f"unknown objective {objective!r}; pass an Objective, a rule name {sorted(RULE_OBJECTIVES)} "
        f"or a classic objective {sorted(OBJECTIVES)}"
    )


def loss(factors: Factors, ratings: Ratings, objective, reg=0.02) -> float:
    r"""The full-batch loss :math:`L(\theta)` of ``objective`` at ``factors``.

    ``objective`` is an :class:`Objective`, a rule name (``"funk"``, ``"quuxlabs"``,
    ``"quuxlabs_listing"``: that rule's per-rating loss summed over the ratings) or a key of
    :data:`OBJECTIVES`. ``reg`` is :math:`\lambda`, a float or one per block.
    """
    return as_objective(objective).loss(factors, ratings, reg)


def gradients(factors: Factors, ratings: Ratings, objective, reg=0.02) -> dict[str, np.ndarray]:
    r"""Hand-derived :math:`\partial L/\partial \theta` by block (``"P", "Q"``, plus ``"bu", "bi"`` when biased).

    Same arguments as :func:`loss`.
    """
    return as_objective(objective).gradients(factors, ratings, reg)
