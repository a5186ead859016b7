r"""``funksvd derive``: the derivation of a rule or an objective, as a student writes it, from sympy's result.

Prediction, error, loss, the chain rule :math:`\partial\ell/\partial e \cdot \partial e/\partial\theta`,
the gradient of each block and the update, each line computed by sympy from the loss it builds
(:mod:`funksvd.check.symbolic`), then the verdict of the symbolic proof against funksvd's own
code. For one feature :math:`f` of :math:`p_u` the others enter the score only through
:math:`\sum_{g \ne f} p_{ug} q_{ig}`, a constant for :math:`\partial/\partial p_{uf}`.
"""

from __future__ import annotations

import types

import numpy as np

from ..maths.objectives import OBJECTIVES, RULE_OBJECTIVES, Objective, as_objective
from .symbolic import prove_objective, prove_rule, require_sympy, sym_array, sympy_namespace

__all__ = ["DERIVABLE", "derive"]

#: Every name :func:`derive` knows: the rules, then the classic objectives.
DERIVABLE = tuple(RULE_OBJECTIVES) + tuple(OBJECTIVES)

_LATEX = {
    "p_uf": "p_{uf}", "q_if": "q_{if}", "b_u": "b_u", "b_i": "b_i", "mu": r"\mu", "r": "r", "e": "e", "z": "z",
    "lambda_P": r"\lambda_P", "lambda_Q": r"\lambda_Q", "lambda_bu": r"\lambda_{b_u}", "lambda_bi": r"\lambda_{b_i}",
    "gamma_P": r"\gamma_P", "gamma_Q": r"\gamma_Q", "gamma_bu": r"\gamma_{b_u}", "gamma_bi": r"\gamma_{b_i}",
    "|p_u|^2": r"\lVert p_u\rVert^2", "|q_i|^2": r"\lVert q_i\rVert^2", "rest": r"\textstyle\sum_{g \ne f} p_{ug} q_{ig}",
    "N": "N", "n_u": "n_u", "n_i": "n_i", "lambda": r"\lambda", "theta": r"\theta",
}

_BLOCK_SYMBOL = {"P": "p_uf", "Q": "q_if", "bu": "b_u", "bi": "b_i"}
_BLOCK_LATEX = {"P": "p_{uf}", "Q": "q_{if}", "bu": "b_u", "bi": "b_i"}


class _Writer:
    def __init__(self, latex: bool):
        self.latex = latex
        self.lines: list[str] = []
        self.sp = require_sympy()

    def expr(self, expression) -> str:
        sp = self.sp
        if self.latex:
            names = {s: _LATEX.get(s.name, s.name) for s in sp.sympify(expression).free_symbols}
            return sp.latex(expression, symbol_names=names)
        return sp.sstr(expression)

    def line(self, label: str, left: str, expression=None, left_latex: str | None = None) -> None:
        if self.latex:
            right = "" if expression is None else " = " + (expression if isinstance(expression, str)
                                                            else self.expr(expression))
            self.lines.append(f"% {label}\n{left_latex or left}{right}")
        else:
            right = "" if expression is None else " = " + (expression if isinstance(expression, str)
                                                            else self.expr(expression))
            self.lines.append(f"{(label + ':') if label else '':<12} {left}{right}")

    def text(self, line: str) -> None:
        self.lines.append(("% " if self.latex else "") + line)

    def result(self) -> str:
        return "\n".join(self.lines) + "\n"


def _rule_symbols(sp):
    s = types.SimpleNamespace()
    s.p, s.q, s.b_u, s.b_i, s.mu, s.r, s.e, s.rest = sp.symbols("p_uf q_if b_u b_i mu r e rest", real=True)
    s.np2, s.nq2 = sp.symbols("|p_u|^2 |q_i|^2", nonnegative=True)
    s.lam = dict(zip(("P", "Q", "bu", "bi"), sp.symbols("lambda_P lambda_Q lambda_bu lambda_bi", positive=True)))
    s.gamma = dict(zip(("P", "Q", "bu", "bi"), sp.symbols("gamma_P gamma_Q gamma_bu gamma_bi", positive=True)))
    return s


def _derive_rule(name: str, latex: bool) -> str:
    from ..maths.rules import RULES

    rule = RULES[name]
    w = _Writer(latex)
    sp = w.sp
    s = _rule_symbols(sp)
    objective = rule.objective
    c = sp.nsimplify(objective.data_weight, rational=True)
    wf = sp.nsimplify(objective.factor_reg_weight, rational=True)
    wb = sp.nsimplify(objective.bias_reg_weight, rational=True)
    rho = s.e ** 2 if objective.data == "squared" else sp.Abs(s.e)
    loss = (c * rho + wf * (s.lam["P"] * s.np2 + s.lam["Q"] * s.nq2)
            + wb * (s.lam["bu"] * s.b_u ** 2 + s.lam["bi"] * s.b_i ** 2))
    z = s.mu + s.b_u + s.b_i + s.p * s.q + s.rest  # one feature f, the others in `rest`
    e_theta = s.r - z
    # the norms as sums over features: |p_u|^2 = p_uf^2 + (the others), constant for d/dp_uf
    others_p, others_q = sp.symbols("others_p others_q", nonnegative=True)
    expanded = loss.subs({s.np2: s.p ** 2 + others_p, s.nq2: s.q ** 2 + others_q})
    w.text(f"rule {name!r}: {rule.summary} ({rule.source})")
    w.line("prediction", "r_hat", "mu + b_u + b_i + p_u . q_i", r"\hat r_{ui}")
    if latex:
        w.lines[-1] = r"% prediction" + "\n" + r"\hat r_{ui} = \mu + b_u + b_i + p_u^\top q_i"
    w.line("error", "e", "r - r_hat", "e")
    if latex:
        w.lines[-1] = "% error\ne = r_{ui} - \\hat r_{ui}"
    w.line("loss", "l", loss, r"\ell")
    dl_de = sp.diff(expanded, s.e)
    w.line("chain rule", "dl/de", dl_de, r"\frac{\partial \ell}{\partial e}")
    gradients = {}
    for block, x in (("P", s.p), ("Q", s.q), ("bu", s.b_u), ("bi", s.b_i)):
        de = sp.diff(e_theta, x)
        penalty = sp.diff(expanded, x)
        grad = sp.expand(dl_de * de + penalty)
        gradients[block] = grad
        sym, tex = _BLOCK_SYMBOL[block], _BLOCK_LATEX[block]
        w.line("", f"de/d{sym}", de, rf"\frac{{\partial e}}{{\partial {tex}}}")
    for block, grad in gradients.items():
        sym, tex = _BLOCK_SYMBOL[block], _BLOCK_LATEX[block]
        w.line("gradient", f"dl/d{sym}", grad, rf"\frac{{\partial \ell}}{{\partial {tex}}}")
    stages = " -> ".join("(" + ", ".join(stage) + ")" for stage in rule.stages)
    for block, grad in gradients.items():
        sym, tex = _BLOCK_SYMBOL[block], _BLOCK_LATEX[block]
        x = {"P": s.p, "Q": s.q, "bu": s.b_u, "bi": s.b_i}[block]
        scale = sp.nsimplify(rule.scale[block], rational=True)
        new = sp.expand(x - s.gamma[block] * scale * grad)
        times, tex_times = ("", "") if scale == 1 else (f" * {scale}", rf"\,{sp.latex(scale)}")
        w.line("update", f"{sym} <- {sym} - gamma_{block}{times} * dl/d{sym}", new,
               rf"{tex} \leftarrow {tex} - {_LATEX['gamma_' + block]}{tex_times}\,"
               rf"\frac{{\partial \ell}}{{\partial {tex}}}")
    if not rule.simultaneous:
        w.text(f"order: {stages}; each stage at the values the earlier ones left, with e from the start "
               "(q_if reads the updated p_uf)")
    proof = prove_rule(name)
    w.text(_verdict(proof))
    return w.result()


def _verdict(proof) -> str:
    if proof.ok:
        return (f"verified: sympy proves simplify(hand - derived) == 0 for {', '.join(proof.derived)} "
                f"(hand: {proof.what})")
    return f"NOT VERIFIED: hand and derived differ in {', '.join(proof.mismatched)} (hand: {proof.what})"


def _derive_objective(objective: Objective, latex: bool) -> str:
    from .symbolic import sympy_link, sympy_rho

    w = _Writer(latex)
    sp = w.sp
    z, r, e, N = sp.symbols("z r e N", real=True)
    c = sp.nsimplify(objective.data_weight, rational=True)
    h = sympy_link(objective, z)
    w.text(f"objective {str(objective)!r}: data={objective.data}, weight {c}, {objective.reduction} over the "
           f"{objective.entries} entries, penalty={objective.penalty}, link={objective.link}")
    w.line("score", "z_ui", "mu + b_u + b_i + p_u . q_i", "z_{ui}")
    if latex:
        w.lines[-1] = "% score\nz_{ui} = \\mu + b_u + b_i + p_u^\\top q_i"
    w.line("prediction", "r_hat", h, r"\hat r_{ui}")
    w.line("error", "e", r - h, "e")
    term = c * sympy_rho(objective, e)
    w.line("term", "c rho(e)", term, r"c\,\rho(e)")
    n = N if objective.reduction == "mean" else 1
    drho = sp.diff(term, e)
    de_dz = sp.diff(r - h, z)
    w.line("chain rule", "d(c rho)/de", drho, r"\frac{\partial\, c\rho}{\partial e}")
    w.line("", "de/dz", de_dz, r"\frac{\partial e}{\partial z}")
    g = drho * de_dz / n
    w.line("", "g_ui = dL/dz_ui", g, r"g_{ui} = \frac{\partial L}{\partial z_{ui}}")
    theta, lam, n_u = sp.symbols("theta lambda n_u", real=True)
    weight = sp.nsimplify(objective.factor_reg_weight, rational=True)
    omega = {"per_rating": n_u * lam * weight * theta ** 2 / n, "frobenius": lam * weight * theta ** 2,
             "l1": lam * weight * sp.Abs(theta), "none": sp.Integer(0)}[objective.penalty]
    w.line("penalty", "Omega(theta) per factor entry", omega, r"\Omega(\theta)")
    d_omega = sp.diff(omega, theta)
    tail = "" if d_omega == 0 else " + dOmega/dp_u"
    w.line("gradient", "dL/dp_u", f"sum_i g_ui q_i{tail}", r"\frac{\partial L}{\partial p_u}")
    if latex:
        w.lines[-1] = "% gradient\n\\frac{\\partial L}{\\partial p_u} = \\sum_i g_{ui}\\, q_i" + (
            "" if d_omega == 0 else r" + \frac{\partial\Omega}{\partial p_u}")
    w.line("", "dOmega/dtheta", d_omega, r"\frac{\partial\Omega}{\partial\theta}")
    w.text("likewise dL/dq_i = sum_u g_ui p_u, dL/db_u = sum_i g_ui, dL/db_i = sum_u g_ui (plus their penalty)"
           + (", n_u the entries of u" if objective.penalty == "per_rating" else "")
           + (" (bias weight " + str(sp.nsimplify(objective.bias_reg_weight, rational=True)) + ")"
              if objective.bias_reg_weight != objective.factor_reg_weight else ""))
    w.line("update", "theta <- theta - gamma dL/dtheta", None, r"\theta \leftarrow \theta - \gamma\,"
                                                               r"\frac{\partial L}{\partial\theta}")
    w.text(_verdict(prove_objective(objective)))
    return w.result()


def _derive_callable(loss, latex: bool, k: int = 2) -> str:
    from ..maths.user_losses import LossData, LossError, call_loss, loss_name
    w = _Writer(latex)
    sp = w.sp
    p = sp.symbols(f"p_u1:{k + 1}", real=True)
    q = sp.symbols(f"q_i1:{k + 1}", real=True)
    b_u, b_i, mu, r = sp.symbols("b_u b_i mu r", real=True)
    lam = dict(zip(("P", "Q", "bu", "bi"), sp.symbols("lambda_P lambda_Q lambda_bu lambda_bi", positive=True)))
    theta = {"P": sym_array(np.array([list(p)], dtype=object)), "Q": sym_array(np.array([list(q)], dtype=object)),
             "bu": sym_array(np.array([b_u], dtype=object)), "bi": sym_array(np.array([b_i], dtype=object))}
    data = LossData(np.array([0]), np.array([0]), sym_array(np.array([r], dtype=object)), 1, 1, mu, lam)
    label = loss_name(loss)
    try:
        value = call_loss(loss, sympy_namespace(), theta, data)
        if isinstance(value, np.ndarray):
            if value.shape not in ((), (1,)):
                raise LossError(f"the loss returned an array of shape {value.shape}, not a scalar: sum it (xp.sum)")
            value = value.reshape(-1)[0]
        value = sp.sympify(value)
    except (LossError, sp.SympifyError, TypeError) as exc:
        raise LossError(f"{label} cannot be derived symbolically: {exc} (data-dependent shapes, or an operation "
                        "sympy has no form of)") from None
    w.text(f"{label}, one rating (u, i, r), {k} factors")
    w.line("loss", "l", value, r"\ell")
    for x in (*p, *q, b_u, b_i):
        w.line("gradient", f"dl/d{x}", sp.simplify(sp.diff(value, x)), rf"\frac{{\partial \ell}}{{\partial {x}}}")
    return w.result()


def derive(name_or_loss, latex: bool = False) -> str:
    r"""The derivation of a rule, an objective or your own loss, in plain text or LaTeX.

    Parameters
    ----------
    name_or_loss : str, Objective or callable
        A rule name (``"funk"``, ``"quuxlabs"``, ``"quuxlabs_listing"``), a key of
        :data:`~funksvd.OBJECTIVES`, an :class:`~funksvd.Objective`, or a per-rating
        ``loss(xp, theta, data)`` (:mod:`funksvd.maths.user_losses`), run on sympy symbols.
    latex : bool
        LaTeX lines (one equation per line, labels as ``%`` comments) instead of plain text.

    Returns
    -------
    str
        Prediction, error, loss, chain rule, gradient per block, update, and for a named rule or
        objective the verdict of the symbolic proof against funksvd's code
        (:func:`funksvd.check.symbolic.prove`).

    Raises
    ------
    funksvd.check.symbolic.SympyMissing
        Without sympy (``pip install 'funksvd[symbolic]'``).
    funksvd.maths.user_losses.LossError
        For a callable that cannot run on symbols.
    """
    from ..maths.user_losses import is_callable_loss
    if isinstance(name_or_loss, str) and name_or_loss in RULE_OBJECTIVES:
        return _derive_rule(name_or_loss, latex)
    if is_callable_loss(name_or_loss):
        return _derive_callable(name_or_loss, latex)
    try:
        objective = as_objective(name_or_loss)
    except ValueError:
        from ..base.errors import InputError

        raise InputError(f"nothing to derive called {name_or_loss!r}; choose from {', '.join(DERIVABLE)}, "
                         "or pass an Objective or a loss(xp, theta, data)") from None
    return _derive_objective(objective, latex)
