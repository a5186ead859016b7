r"""The classic per-rating SGD update rules, each written once, as the literal loop.

Every rule is a plain function ``step(P, Q, bu, bi, mu, u, i, r, lr, reg) -> err`` that updates
the arrays **in place** for one rating :math:`(u, i, r)` and returns the error before the update.
``lr`` and ``reg`` are 4-tuples in block order ``(P, Q, bu, bi)`` (Surprise's ``lr_pu, lr_qi,
lr_bu, lr_bi``). An unbiased model passes empty ``bu`` and ``bi``. The functions use only scalar
arithmetic and loops, so the Python engine runs them as they stand and the compiled engine hands
the very same source to numba.

For each rule the docstring states prediction, per-rating loss :math:`\ell`, gradient and update;
``tests/test_rule_docstrings.py`` evaluates those formulas and fails if they drift from the code.
Products are written with a thin space ``\,`` so the test can read them.

A *simultaneous* rule is an exact gradient step with a per-block scale :math:`s`,

.. math:: \theta \leftarrow \theta - \gamma_\theta\, s_\theta\, \nabla_\theta \ell(\theta),

with :math:`\ell` and :math:`s` recorded in :data:`RULES` (``rule.objective``, ``rule.scale``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Callable, Mapping

from .objectives import RULE_OBJECTIVES, Objective

__all__ = ["Rule", "RULES", "predict_one", "funk", "funk_factored", "funk_update", "funk_update_predict", "quuxlabs",
           "quuxlabs_listing", "get_rule"]


def predict_one(P, Q, bu, bi, mu, u, i):
    r""":math:`\hat r_{ui} = \mu + b_u + b_i + p_u^\top q_i` for one pair (no biases when ``bu`` is empty)."""
    r_hat = mu
    if bu.shape[0] > 0:
        r_hat += bu[u] + bi[i]
    for f in range(P.shape[1]):
        r_hat += P[u, f] * Q[i, f]
    return r_hat


def funk(P, Q, bu, bi, mu, u, i, r, lr, reg):
    r"""Simon Funk's rule, as Surprise's ``SVD`` runs it: joint, simultaneous, no factor 2.

    Notes
    -----
    Prediction, error and per-rating loss:

    .. math::

        \hat r_{ui} = \mu + b_u + b_i + p_u^\top q_i

        e = r_{ui} - \hat r_{ui}

        \ell = \frac{1}{2}\, e^2 + \frac{\lambda}{2}\,(\lVert p_u\rVert^2 + \lVert q_i\rVert^2 + b_u^2 + b_i^2)

    Gradient:

    .. math::

        \frac{\partial \ell}{\partial p_u} = -e\, q_i + \lambda\, p_u

        \frac{\partial \ell}{\partial q_i} = -e\, p_u + \lambda\, q_i

        \frac{\partial \ell}{\partial b_u} = -e + \lambda\, b_u

        \frac{\partial \ell}{\partial b_i} = -e + \lambda\, b_i

    Update, all from the old values (``puf`` keeps the old :math:`p_u` for :math:`q_i`):

    .. math::

        p_u \leftarrow p_u + \gamma\,(e\, q_i - \lambda\, p_u)

        q_i \leftarrow q_i + \gamma\,(e\, p_u - \lambda\, q_i)

        b_u \leftarrow b_u + \gamma\,(e - \lambda\, b_u)

        b_i \leftarrow b_i + \gamma\,(e - \lambda\, b_i)

    That is :math:`\theta \leftarrow \theta - \gamma\,\nabla\ell` exactly: step scale
    :math:`s = 1` for every block. Surprise documents the loss as
    :math:`\sum e^2 + \lambda(\dots)` (``OBJECTIVES["surprise_documented"]``), twice this
    :math:`\ell` summed: same minimiser, but its gradient is twice the step taken.
    """
    lr_pu, lr_qi, lr_bu, lr_bi = lr
    reg_pu, reg_qi, reg_bu, reg_bi = reg
    err = r - predict_one(P, Q, bu, bi, mu, u, i)
    if bu.shape[0] > 0:
        bu[u] += lr_bu * (err - reg_bu * bu[u])
        bi[i] += lr_bi * (err - reg_bi * bi[i])
    for f in range(P.shape[1]):
        puf = P[u, f]
        qif = Q[i, f]
        P[u, f] += lr_pu * (err * qif - reg_pu * puf)
        Q[i, f] += lr_qi * (err * puf - reg_qi * qif)
    return err


def funk_update(P, Q, bu, bi, u, i, err, lr, reg):
    r""":func:`funk`'s update for a rating of error ``err``, each row update factored: what the compiled engine runs.

    Notes
    -----
    Distributing :math:`\gamma` over :func:`funk`'s row updates gives the same values in exact
    arithmetic:

    .. math::

        p_u \leftarrow (1 - \gamma\,\lambda)\, p_u + (\gamma\, e)\, q_i

        q_i \leftarrow (1 - \gamma\,\lambda)\, q_i + (\gamma\, e)\, p_u

    with the two factors computed once per rating, so an entry costs a multiply and a
    multiply-add instead of three operations; the biases keep :func:`funk`'s form. Taking the
    error as an argument lets the compiled epoch loop predict two ratings before updating either
    (:func:`funksvd.sgd.loops.run_epoch_pairs`). The Python engine runs :func:`funk` as written.
    ``tests/test_rule_forms.py`` proves :func:`funk_factored` (this update after the error) equal to
    :func:`funk` symbolically (every updated entry and the error, by sympy) and checks that both
    engines agree to 1e-12 in float64 (the two forms round differently).
    """
    lr_pu, lr_qi, lr_bu, lr_bi = lr
    reg_pu, reg_qi, reg_bu, reg_bi = reg
    if bu.shape[0] > 0:
        bu[u] += lr_bu * (err - reg_bu * bu[u])
        bi[i] += lr_bi * (err - reg_bi * bi[i])
    one = P.dtype.type(1)  # 1 in the parameters' dtype, so that float32 stays float32
    keep_p, step_p = one - lr_pu * reg_pu, lr_pu * err
    keep_q, step_q = one - lr_qi * reg_qi, lr_qi * err
    for f in range(P.shape[1]):
        puf = P[u, f]
        qif = Q[i, f]
        P[u, f] = keep_p * puf + step_p * qif
        Q[i, f] = keep_q * qif + step_q * puf


def funk_update_predict(P, Q, bu, bi, mu, u, i, err, u2, i2, lr, reg):
    r""":func:`funk_update` of rating :math:`(u, i)`, error ``err``, summing the prediction of :math:`(u_2, i_2)`.

    Notes
    -----
    The prediction of the next pair,

    .. math::

        \hat r_{u_2 i_2} = \mu + b_{u_2} + b_{i_2} + p_{u_2}^\top q_{i_2},

    is summed inside the loop over :math:`f` that updates :math:`p_u, q_i`, its terms added in the
    order :func:`predict_one` adds them, so the CPU computes the next dot product while it updates
    the rows of this one. Each entry is read after the update has written it (:math:`b_{u_2}` after
    :math:`b_u`, :math:`p_{u_2 f}` after :math:`p_{uf}`), so the result is the prediction after the
    update, whether or not the pairs share a row. Run as Python, this is :func:`funk_update` then
    :func:`predict_one`, bit for bit; compiled, the dot product's additions are reassociated
    differently from :func:`predict_one`'s (rounding only). ``tests/test_rule_forms.py`` proves it
    equal to the two calls on sympy symbols and checks the compiled loop against the Python engine
    to 1e-12 in float64. The compiled engine runs it where the rows are long
    (:data:`funksvd.sgd.compiled.PIPELINE_ROW_BYTES`).
    """
    lr_pu, lr_qi, lr_bu, lr_bi = lr
    reg_pu, reg_qi, reg_bu, reg_bi = reg
    r_hat = mu
    if bu.shape[0] > 0:
        bu[u] += lr_bu * (err - reg_bu * bu[u])
        bi[i] += lr_bi * (err - reg_bi * bi[i])
        r_hat += bu[u2] + bi[i2]
    one = P.dtype.type(1)
    keep_p, step_p = one - lr_pu * reg_pu, lr_pu * err
    keep_q, step_q = one - lr_qi * reg_qi, lr_qi * err
    for f in range(P.shape[1]):
        puf = P[u, f]
        qif = Q[i, f]
        P[u, f] = keep_p * puf + step_p * qif
        Q[i, f] = keep_q * qif + step_q * puf
        r_hat += P[u2, f] * Q[i2, f]
    return r_hat


def funk_factored(P, Q, bu, bi, mu, u, i, r, lr, reg):
    """:func:`funk` as the compiled engine computes it, the error then :func:`funk_update` (a step, for the proofs)."""
    err = r - predict_one(P, Q, bu, bi, mu, u, i)
    funk_update(P, Q, bu, bi, u, i, err, lr, reg)
    return err


def quuxlabs(P, Q, bu, bi, mu, u, i, r, lr, reg):
    r"""The quuxlabs article's *equations*: factor 2 on :math:`p, q`, none on the biases; simultaneous.

    Notes
    -----
    Prediction and error (:math:`\mu` is the article's :math:`b`, the mean rating; :math:`b_i`
    its :math:`b_d`):

    .. math::

        \hat r_{ui} = \mu + b_u + b_i + p_u^\top q_i

        e = r_{ui} - \hat r_{ui}

    The article differentiates :math:`e^2 + \frac{\beta}{2}(\lVert p\rVert^2 + \lVert q\rVert^2)`
    and gets the factor 2 on :math:`p, q`, but writes the bias rules without it. No single loss
    and step size gives both, since :math:`\partial\ell/\partial b_u` and
    :math:`\partial\ell/\partial p_u` share the factor :math:`\partial\ell/\partial e`. What holds
    exactly is the article's loss with a bias penalty :math:`\beta\, b^2` and a **half step on
    the biases**:

    .. math::

        \ell = e^2 + \frac{\beta}{2}\,(\lVert p_u\rVert^2 + \lVert q_i\rVert^2) + \beta\,(b_u^2 + b_i^2)

        \frac{\partial \ell}{\partial p_u} = -2\, e\, q_i + \beta\, p_u

        \frac{\partial \ell}{\partial q_i} = -2\, e\, p_u + \beta\, q_i

        \frac{\partial \ell}{\partial b_u} = -2\, e + 2\, \beta\, b_u

        \frac{\partial \ell}{\partial b_i} = -2\, e + 2\, \beta\, b_i

    Update, all from the old values:

    .. math::

        p_u \leftarrow p_u + \alpha\,(2\, e\, q_i - \beta\, p_u)

        q_i \leftarrow q_i + \alpha\,(2\, e\, p_u - \beta\, q_i)

        b_u \leftarrow b_u + \alpha\,(e - \beta\, b_u)

        b_i \leftarrow b_i + \alpha\,(e - \beta\, b_i)

    so :math:`\theta \leftarrow \theta - \alpha\, s_\theta\, \nabla_\theta\ell` with
    :math:`s_P = s_Q = 1` and :math:`s_{b_u} = s_{b_i} = \tfrac12`. (Scaling :math:`\ell` by
    :math:`c` and every :math:`s` by :math:`1/c` describes the same rule; this choice keeps the
    article's own loss for :math:`p, q`.)
    """
    lr_pu, lr_qi, lr_bu, lr_bi = lr
    reg_pu, reg_qi, reg_bu, reg_bi = reg
    err = r - predict_one(P, Q, bu, bi, mu, u, i)
    if bu.shape[0] > 0:
        bu[u] += lr_bu * (err - reg_bu * bu[u])
        bi[i] += lr_bi * (err - reg_bi * bi[i])
    for f in range(P.shape[1]):
        puf = P[u, f]
        qif = Q[i, f]
        P[u, f] += lr_pu * (2.0 * err * qif - reg_pu * puf)
        Q[i, f] += lr_qi * (2.0 * err * puf - reg_qi * qif)
    return err


def quuxlabs_listing(P, Q, bu, bi, mu, u, i, r, lr, reg):
    r"""What the quuxlabs article's *code listing* does: no factor 2, biases, then P, then Q at the new P.

    Notes
    -----
    The error is computed once, before any update:

    .. math::

        \hat r_{ui} = \mu + b_u + b_i + p_u^\top q_i

        e = r_{ui} - \hat r_{ui}

    and the loss is that of :func:`funk`,

    .. math::

        \ell = \frac{1}{2}\, e^2 + \frac{\beta}{2}\,(\lVert p_u\rVert^2 + \lVert q_i\rVert^2 + b_u^2 + b_i^2)

        \frac{\partial \ell}{\partial p_u} = -e\, q_i + \beta\, p_u

        \frac{\partial \ell}{\partial q_i} = -e\, p_u + \beta\, q_i

        \frac{\partial \ell}{\partial b_u} = -e + \beta\, b_u

        \frac{\partial \ell}{\partial b_i} = -e + \beta\, b_i

    Three block steps in order: the biases, then the P row, then the Q row read from the
    **updated** row :math:`p_u'`:

    .. math::

        b_u \leftarrow b_u + \alpha\,(e - \beta\, b_u)

        b_i \leftarrow b_i + \alpha\,(e - \beta\, b_i)

        p_u \leftarrow p_u + \alpha\,(e\, q_i - \beta\, p_u)

        q_i \leftarrow q_i + \alpha\,(e\, p_u' - \beta\, q_i)

    The first three are exact gradient steps at the old point (:math:`s = 1`). The last is not a
    gradient step at any single point: it takes :math:`\partial\ell/\partial e = e` from the start
    of the sample and :math:`\partial e/\partial q_i = -p_u'` after the P step,

    .. math:: q_i \leftarrow q_i - \alpha\,\Big(\frac{\partial \ell}{\partial e}\Big|_{\theta}\,
       \frac{\partial e}{\partial q_i}\Big|_{p_u'} + \beta\, q_i\Big).
    """
    lr_pu, lr_qi, lr_bu, lr_bi = lr
    reg_pu, reg_qi, reg_bu, reg_bi = reg
    err = r - predict_one(P, Q, bu, bi, mu, u, i)
    if bu.shape[0] > 0:
        bu[u] += lr_bu * (err - reg_bu * bu[u])
        bi[i] += lr_bi * (err - reg_bi * bi[i])
    for f in range(P.shape[1]):
        P[u, f] += lr_pu * (err * Q[i, f] - reg_pu * P[u, f])
    for f in range(P.shape[1]):
        Q[i, f] += lr_qi * (err * P[u, f] - reg_qi * Q[i, f])
    return err


@dataclass(frozen=True)
class Rule:
    r"""A per-rating update rule with the loss and step scales that make it a gradient step.

    Attributes
    ----------
    name : str
    step : callable
        The in-place kernel ``step(P, Q, bu, bi, mu, u, i, r, lr, reg) -> err``.
    objective : Objective
        The per-rating loss :math:`\ell`, summed over ratings (``funksvd.loss(..., rule_name)``).
    scale : mapping
        Step scale :math:`s_\theta` per block: the rule is
        :math:`\theta - \gamma_\theta\, s_\theta\, \nabla_\theta \ell` (block by block for a
        sequential rule).
    stages : tuple of tuple of str
        The blocks updated together, in order. One stage means simultaneous.
    source : str
        Where the rule comes from.
    compiled_update : callable or None
        ``update(P, Q, bu, bi, u, i, err, lr, reg)``: the rule's update for a rating of error
        ``err``, in the algebraic form the compiled engine runs (its epoch loop is then
        :func:`funksvd.sgd.loops.run_epoch_pairs`); proved equal to ``step`` symbolically
        (``tests/test_rule_forms.py``). ``None`` compiles ``step`` itself into
        :func:`funksvd.sgd.loops.run_epoch`.
    compiled_update_predict : callable or None
        ``update_predict(P, Q, bu, bi, mu, u, i, err, u2, i2, lr, reg) -> r_hat2``:
        ``compiled_update`` with the next pair's prediction in its loop (for long rows, the compiled
        loop :func:`funksvd.sgd.loops.run_epoch_pipelined`); proved equal to ``compiled_update``
        then :func:`predict_one` symbolically.
    """

    name: str
    step: Callable
    objective: Objective
    scale: Mapping[str, float]
    stages: tuple[tuple[str, ...], ...] = (("P", "Q", "bu", "bi"),)
    source: str = ""
    summary: str = field(default="", compare=False)
    compiled_update: Callable | None = None
    compiled_update_predict: Callable | None = None

    @property
    def simultaneous(self) -> bool:
        return len(self.stages) == 1


RULES: Mapping[str, Rule] = MappingProxyType({
    "funk": Rule(
        name="funk",
        step=funk,
        compiled_update=funk_update,
        compiled_update_predict=funk_update_predict,
        objective=RULE_OBJECTIVES["funk"],
        scale=MappingProxyType({"P": 1.0, "Q": 1.0, "bu": 1.0, "bi": 1.0}),
        source="Simon Funk, 'Netflix Update: Try This at Home' (2006); Surprise SVD",
        summary="joint SGD, no factor 2, simultaneous",
    ),
    "quuxlabs": Rule(
        name="quuxlabs",
        step=quuxlabs,
        objective=RULE_OBJECTIVES["quuxlabs"],
        scale=MappingProxyType({"P": 1.0, "Q": 1.0, "bu": 0.5, "bi": 0.5}),
        source="Albert Au Yeung, quuxlabs matrix factorisation tutorial: the equations",
        summary="factor 2 on p, q; none on biases; simultaneous",
    ),
    "quuxlabs_listing": Rule(
        name="quuxlabs_listing",
        step=quuxlabs_listing,
        objective=RULE_OBJECTIVES["quuxlabs_listing"],
        scale=MappingProxyType({"P": 1.0, "Q": 1.0, "bu": 1.0, "bi": 1.0}),
        stages=(("bu", "bi"), ("P",), ("Q",)),
        source="Albert Au Yeung, quuxlabs matrix factorisation tutorial: the code listing",
        summary="no factor 2; biases, then P, then Q at the new P; error from the start",
    ),
})


def get_rule(rule) -> Rule:
    """Look a rule up by name (or pass a :class:`Rule` through)."""
    if isinstance(rule, Rule):
        return rule
    try:
        return RULES[rule]
    except (KeyError, TypeError):
        raise ValueError(f"unknown rule {rule!r}; known rules: {sorted(RULES)}") from None
