r"""Full-batch objectives and their hand-derived gradients.

One :class:`Objective` describes every loss of the classic tutorials: the data term (squared or
absolute), its weight and reduction, which entries it runs over, the penalty, the link and whether
the model is biased (read off the :class:`~funksvd.Factors`). Two forms compute it:

* the **sparse** form runs over rating triples with scatter-adds and never forms an
  ``n_users x n_items`` array (unless the objective itself is dense);
* the **matrix** form writes the same loss with a mask :math:`M`, e.g.
  :math:`\partial L/\partial P = -2\,(M \circ E)\,Q` for the masked squared loss.

The tests prove the two forms equal, and both equal to finite differences and to TensorFlow.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Mapping

import numpy as np

from .factors import BLOCKS, Factors
from .ratings import Ratings

__all__ = ["Objective", "OBJECTIVES", "as_objective", "loss", "gradients", "per_block", "sigmoid"]

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
    :math:`\Omega = \lambda\,w_f\,(\lVert P\rVert_F^2 + \lVert Q\rVert_F^2) + \lambda\,w_b\,(\lVert b_u\rVert^2 + \lVert b_i\rVert^2)`
    (``"frobenius"``) or with :math:`\lVert\cdot\rVert_1` (``"l1"``). Each block may carry its
    own :math:`\lambda` (``reg={"P": ..., "Q": ..., "bu": ..., "bi": ...}``).

    The per-rating penalty summed over entries is a count-weighted Frobenius penalty,
    :math:`\sum_u n_u\,\lambda\,w_f \lVert p_u\rVert^2`, which is how it is computed here.
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

    def __str__(self) -> str:
        if self.name:
            return self.name
        parts = [f"{self.data_weight:g}*{self.data}", self.reduction, self.entries, f"penalty={self.penalty}"]
        if self.link != "identity":
            parts.append(f"link={self.link}")
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

    def penalty_terms(self, factors: Factors, reg, counts):
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
            theta = theta.astype(np.float64)
            if self.penalty == "none" or coef == 0.0:
                grads[block] = np.zeros_like(theta)
                continue
            if self.penalty == "l1":
                value += coef * np.abs(theta).sum()
                grads[block] = coef * np.sign(theta)
                continue
            n = 1.0
            if self.penalty == "per_rating":
                n = counts[0] if block in ("P", "bu") else counts[1]
                n = n.reshape((-1,) + (1,) * (theta.ndim - 1))
            value += coef * float((n * theta * theta).sum())
            grads[block] = 2.0 * coef * n * theta
        return value, grads

    def _n(self, n_entries: int) -> float:
        return float(n_entries) if self.reduction == "mean" else 1.0

    # ---- sparse form ---------------------------------------------------------------------

    def select_entries(self, factors: Factors, ratings: Ratings):
        """The (users, items, values) the data term runs over."""
        if (ratings.n_users, ratings.n_items) != (factors.n_users, factors.n_items):
            raise ValueError(
                f"ratings are {ratings.n_users} users x {ratings.n_items} items but the factors are "
                f"{factors.n_users} x {factors.n_items}"
            )
        if self.entries == "observed":
            return ratings.users, ratings.items, ratings.values
        R = ratings.to_dense(missing=0.0)
        users = np.repeat(np.arange(ratings.n_users, dtype=np.int64), ratings.n_items)
        items = np.tile(np.arange(ratings.n_items, dtype=np.int64), ratings.n_users)
        return users, items, R[users, items]

    def _sparse_terms(self, factors: Factors, ratings: Ratings):
        users, items, values = self.select_entries(factors, ratings)
        z = np.einsum("nk,nk->n", factors.P[users], factors.Q[items]).astype(np.float64) + factors.mu
        if factors.biased:
            z = z + factors.bu[users] + factors.bi[items]
        r_hat, dh = self.apply_link(z)
        rho, drho = self._rho(values - r_hat)
        counts = (
            np.bincount(users, minlength=factors.n_users).astype(np.float64),
            np.bincount(items, minlength=factors.n_items).astype(np.float64),
        )
        return users, items, rho, -self.data_weight * drho * dh, counts

    def _total(self, data_sum, penalty_value, n):
        """Assemble L from the data sum and the penalty, applying the reduction."""
        if self.penalty == "per_rating":
            return (self.data_weight * data_sum + penalty_value) / n
        return self.data_weight * data_sum / n + penalty_value

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
        if form == "matrix":
            return self._matrix(factors, ratings, reg, want_gradients=False)
        _check_form(form)
        users, items, rho, _, counts = self._sparse_terms(factors, ratings)
        penalty, _ = self.penalty_terms(factors, reg, counts)
        return self._total(float(rho.sum()), penalty, self._n(len(rho)))

    def gradients(self, factors: Factors, ratings: Ratings, reg=0.02, form: str = "sparse") -> dict[str, np.ndarray]:
        r"""Hand-derived :math:`\partial L/\partial\theta` for each block, as float64 arrays.

        Keys ``"P", "Q"`` and, for a biased model, ``"bu", "bi"``. Same parameters as :meth:`loss`.
        """
        if form == "matrix":
            return self._matrix(factors, ratings, reg, want_gradients=True)
        _check_form(form)
        users, items, _, g, counts = self._sparse_terms(factors, ratings)
        n = self._n(len(g))
        g = g / n
        P = factors.P.astype(np.float64)
        Q = factors.Q.astype(np.float64)
        dLdP = np.zeros_like(P)
        dLdQ = np.zeros_like(Q)
        np.add.at(dLdP, users, g[:, None] * Q[items])  # dL/dp_u = sum_i g_ui q_i
        np.add.at(dLdQ, items, g[:, None] * P[users])  # dL/dq_i = sum_u g_ui p_u
        grads = {"P": dLdP, "Q": dLdQ}
        if factors.biased:
            grads["bu"] = np.bincount(users, weights=g, minlength=factors.n_users)  # dL/db_u = sum_i g_ui
            grads["bi"] = np.bincount(items, weights=g, minlength=factors.n_items)  # dL/db_i = sum_u g_ui
        _, penalty_grads = self.penalty_terms(factors, reg, counts)
        per_entry = self.penalty == "per_rating"
        for block in grads:
            grads[block] += penalty_grads[block] / (n if per_entry else 1.0)
        return grads

    # ---- matrix form ---------------------------------------------------------------------

    def _matrix(self, factors: Factors, ratings: Ratings, reg, want_gradients: bool):
        r"""Loss or gradients with dense matrices and a mask :math:`M`.

        .. math::

            Z = \mu + b_u 1^\top + 1 b_i^\top + P Q^\top, \quad E = M \circ (R - h(Z)), \quad
            G = -\frac{c}{N}\, M \circ \rho'(E) \circ h'(Z)

            \frac{\partial L}{\partial P} = G\,Q, \quad \frac{\partial L}{\partial Q} = G^\top P, \quad
            \frac{\partial L}{\partial b_u} = G\,1, \quad \frac{\partial L}{\partial b_i} = G^\top 1

        For the squared loss, sum reduction and identity link, :math:`G = -2\,M \circ E`.
        """
        self.select_entries(factors, ratings)  # shape check
        R = ratings.to_dense(missing=0.0)
        M = ratings.mask().astype(np.float64) if self.entries == "observed" else np.ones_like(R)
        P = factors.P.astype(np.float64)
        Q = factors.Q.astype(np.float64)
        Z = P @ Q.T + factors.mu
        if factors.biased:
            Z = Z + factors.bu[:, None] + factors.bi[None, :]
        R_hat, dH = self.apply_link(Z)
        E = M * (R - R_hat)
        rho, drho = self._rho(E)
        counts = (M.sum(axis=1), M.sum(axis=0))
        n = self._n(M.sum())
        penalty, penalty_grads = self.penalty_terms(factors, reg, counts)
        if not want_gradients:
            return self._total(float((M * rho).sum()), penalty, n)
        G = -self.data_weight * M * drho * dH / n
        grads = {"P": G @ Q, "Q": G.T @ P}
        if factors.biased:
            grads["bu"] = G.sum(axis=1)
            grads["bi"] = G.sum(axis=0)
        per_entry = self.penalty == "per_rating"
        for block in grads:
            grads[block] += penalty_grads[block] / (n if per_entry else 1.0)
        return grads


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


def as_objective(objective) -> Objective:
    """An :class:`Objective`, a rule name (that rule's summed per-rating loss) or a classic objective's name."""
    if isinstance(objective, Objective):
        return objective
    from .rules import RULES  # rules import this module

    if objective in RULES:
        return RULES[objective].objective
    if objective in OBJECTIVES:
        return OBJECTIVES[objective]
    raise ValueError(
        f"unknown objective {objective!r}; pass an Objective, a rule name {sorted(RULES)} "
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
