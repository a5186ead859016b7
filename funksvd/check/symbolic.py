r"""The symbolic oracle: sympy differentiates each loss, and proves the hand formulas equal to it.

Two sides that never read each other:

* the **derived** side builds the loss itself from its definition -- for a rule the per-rating
  loss :math:`\ell = c\,e^2 + w_f(\lambda_P\lVert p_u\rVert^2 + \lambda_Q\lVert q_i\rVert^2)
  + w_b(\lambda_{b_u} b_u^2 + \lambda_{b_i} b_i^2)` from the constants of ``RULES[name].objective``,
  for an objective its element-wise term :math:`c\,\rho(r - h(z))` and penalty from the
  :class:`~funksvd.Objective`'s options -- and differentiates it with :func:`sympy.diff`;
* the **hand** side is read from funksvd's code: a rule's own kernel (the literal loop of
  :mod:`funksvd.maths.rules`) is *executed* on numpy arrays of sympy symbols, and an
  objective's formula pieces (``Objective._rho``, ``Objective.apply_link``, ``sigmoid``,
  ``Objective.penalty_terms``) are executed with their module's ``np`` bound to a sympy shim.

They are compared **symbolically**: :math:`\mathrm{simplify}(\text{hand} - \text{derived}) = 0`
for every entry, never at sample points. sympy is imported inside the functions only
(``pip install 'funksvd[symbolic]'``).
"""

from __future__ import annotations

import functools
import types
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..maths.objectives import OBJECTIVES, RULE_OBJECTIVES, Objective, as_objective, per_block
from ..model.factors import BLOCKS

__all__ = [
    "SYMPY_INSTALL",
    "Proof",
    "SympyMissing",
    "is_zero",
    "prove",
    "prove_objective",
    "prove_rule",
    "require_sympy",
    "symbolic_gradients",
    "sympy_namespace",
]

#: The command that installs funksvd's symbolic extra.
SYMPY_INSTALL = "pip install 'funksvd[symbolic]'"


class SympyMissing(ImportError):
    """sympy is not installed."""


def require_sympy(purpose: str = "the symbolic oracle"):
    """Import and return sympy, or raise :class:`SympyMissing` saying how to install it."""
    try:
        import sympy
    except ModuleNotFoundError as exc:
        if (exc.name or "").partition(".")[0] not in ("sympy", "mpmath"):
            raise
        raise SympyMissing(f"{purpose} needs sympy, which is not installed: {SYMPY_INSTALL}") from exc
    return sympy


def is_zero(expression) -> bool:
    r"""True if sympy proves ``expression`` identically 0: :math:`\mathrm{simplify}` (after rewriting
    :math:`\tanh` in exponentials, and floats such as ``2.0`` as the exact rationals they are) is 0."""
    sp = require_sympy()
    expression = sp.sympify(expression)
    expression = expression.xreplace({x: sp.Rational(x) for x in expression.atoms(sp.Float)})  # exact, 2.0 -> 2
    if expression == 0:
        return True
    return sp.simplify(expression.rewrite(sp.exp)) == 0


# ---- a namespace of sympy arrays for a callable loss ---------------------------------------------


class SymArray(np.ndarray):
    """A numpy object array of sympy expressions whose comparisons are elementwise sympy relations."""

    def __le__(self, other):
        return np.less_equal(self, other, dtype=object).view(SymArray)

    def __lt__(self, other):
        return np.less(self, other, dtype=object).view(SymArray)

    def __ge__(self, other):
        return np.greater_equal(self, other, dtype=object).view(SymArray)

    def __gt__(self, other):
        return np.greater(self, other, dtype=object).view(SymArray)


def sym_array(values) -> SymArray:
    """``values`` as a :class:`SymArray`."""
    return np.asarray(values, dtype=object).view(SymArray)


def sympy_namespace():
    """The sympy namespace of a callable loss (:data:`funksvd.maths.user_losses.SUPPORTED`)."""
    from ..maths.user_losses import Namespace
    sp = require_sympy()

    def each(function):
        vector = np.vectorize(function, otypes=[object])

        def apply(*args):
            out = vector(*args)
            return sym_array(out) if np.ndim(out) else out.item() if isinstance(out, np.ndarray) else out
        return apply

    def reduce(kind):
        def apply(a, axis=None):
            out = (np.sum if kind == "sum" else np.mean)(np.asarray(a, dtype=object), axis=axis)
            return sym_array(out) if np.ndim(out) else out
        return apply

    def take(a, indices, axis=None):
        return sym_array(np.take(np.asarray(a, dtype=object), np.asarray(indices), axis=axis))

    return Namespace("sympy", {
        "take": take,
        "sum": reduce("sum"),
        "mean": reduce("mean"),
        "where": each(lambda c, a, b: sp.Piecewise((a, c), (b, True))),
        "abs": each(sp.Abs),
        "exp": each(sp.exp),
        "log": each(sp.log),
        "square": each(lambda x: x ** 2),
        "sqrt": each(sp.sqrt),
        "tanh": each(sp.tanh),
        "maximum": each(sp.Max),
        "minimum": each(sp.Min),
    })


# ---- the derived side: each loss built from its definition ---------------------------------------


def _symbols(k: int):
    """The symbols of one rating: ``p`` and ``q`` (k each), biases, mu, r, per-block lambda and gamma."""
    sp = require_sympy()
    p = sp.symbols(f"p_u1:{k + 1}", real=True)
    q = sp.symbols(f"q_i1:{k + 1}", real=True)
    b_u, b_i, mu, r, e = sp.symbols("b_u b_i mu r e", real=True)
    lam = dict(zip(BLOCKS, sp.symbols("lambda_P lambda_Q lambda_bu lambda_bi", positive=True)))
    gamma = dict(zip(BLOCKS, sp.symbols("gamma_P gamma_Q gamma_bu gamma_bi", positive=True)))
    return types.SimpleNamespace(p=p, q=q, b_u=b_u, b_i=b_i, mu=mu, r=r, e=e, lam=lam, gamma=gamma, k=k)


def sympy_rho(objective: Objective, e):
    """:math:`\\rho(e)` from the objective's name of it (``"squared"``: :math:`e^2`, ``"absolute"``: :math:`|e|`)."""
    sp = require_sympy()
    return e ** 2 if objective.data == "squared" else sp.Abs(e)


def sympy_link(objective: Objective, z):
    """:math:`h(z) = z`, or the logistic :math:`r_{\\min} + (r_{\\max} - r_{\\min})/(1 + e^{-z})`."""
    sp = require_sympy()
    if objective.link == "identity":
        return z
    lo, hi = (sp.nsimplify(v, rational=True) for v in objective.rating_range)
    return lo + (hi - lo) / (1 + sp.exp(-z))


def _weights(objective: Objective):
    sp = require_sympy()
    w_f = sp.nsimplify(objective.factor_reg_weight, rational=True)
    w_b = sp.nsimplify(objective.bias_reg_weight, rational=True)
    return {"P": w_f, "Q": w_f, "bu": w_b, "bi": w_b}


def _rule_loss(objective: Objective, s):
    r"""The per-rating loss :math:`\ell(e, \theta) = c\,\rho(e) + \Omega` of a rule, with :math:`e` a symbol."""
    sp = require_sympy()
    w = _weights(objective)
    c = sp.nsimplify(objective.data_weight, rational=True)
    omega = (w["P"] * s.lam["P"] * sum(x ** 2 for x in s.p) + w["Q"] * s.lam["Q"] * sum(x ** 2 for x in s.q)
             + w["bu"] * s.lam["bu"] * s.b_u ** 2 + w["bi"] * s.lam["bi"] * s.b_i ** 2)
    return c * sympy_rho(objective, s.e), omega


def _error(s, theta=None):
    r""":math:`e = r - (\mu + b_u + b_i + p_u^\top q_i)` at ``theta`` (a dict of block values; default the symbols)."""
    theta = theta or {"P": s.p, "Q": s.q, "bu": s.b_u, "bi": s.b_i}
    return s.r - (s.mu + theta["bu"] + theta["bi"] + sum(a * b for a, b in zip(theta["P"], theta["Q"])))


def _block_symbols(s) -> dict[str, tuple]:
    return {"P": tuple(s.p), "Q": tuple(s.q), "bu": (s.b_u,), "bi": (s.b_i,)}


# ---- proofs --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Proof:
    """The outcome of a symbolic comparison: ``ok``, and per compared quantity its hand and derived forms."""

    name: str
    ok: bool
    hand: dict[str, Any]
    derived: dict[str, Any]
    mismatched: tuple[str, ...]
    what: str  # which hand code was executed

    def __bool__(self) -> bool:
        return self.ok


def _compare(name: str, hand: dict, derived: dict, what: str) -> Proof:
    mismatched = tuple(key for key in derived if not is_zero(hand[key] - derived[key]))
    return Proof(name, not mismatched, hand, derived, mismatched, what)


def prove_rule(name: str, step=None, k: int = 2) -> Proof:
    r"""Run a rule's kernel on symbols and prove its update equal to sympy's gradient step.

    The kernel (``RULES[name].step``, or ``step`` for another kernel claimed to be that rule)
    runs as it stands on object arrays of symbols, ``u = i = 0``. The derived update starts
    from sympy's derivative of the rule's loss :math:`\ell` (:func:`_rule_loss`): stage by stage of
    ``RULES[name].stages``, each block moves by
    :math:`-\gamma_b\, s_b\,(\partial\ell/\partial e|_{\theta_0}\; \partial e/\partial\theta_b|_{\theta} +
    \partial\Omega/\partial\theta_b|_{\theta})` at the current point :math:`\theta` (the error from the
    start, as the listing holds it); for a one-stage rule that is
    :math:`\theta_0 - \gamma\,s\,\nabla\ell(\theta_0)`, and :math:`\nabla\ell` itself is checked against
    the chain rule. Returns a :class:`Proof` over the returned error and every updated entry.
    """
    from ..maths.rules import get_rule

    sp = require_sympy()
    rule = get_rule(name)
    s = _symbols(k)
    P = np.array([list(s.p)], dtype=object)
    Q = np.array([list(s.q)], dtype=object)
    bu, bi = np.array([s.b_u], dtype=object), np.array([s.b_i], dtype=object)
    lr = tuple(s.gamma[b] for b in BLOCKS)
    reg = tuple(s.lam[b] for b in BLOCKS)
    err = (step or rule.step)(P, Q, bu, bi, s.mu, 0, 0, s.r, lr, reg)
    new = {"P": tuple(P[0]), "Q": tuple(Q[0]), "bu": (bu[0],), "bi": (bi[0],)}
    hand = {"err": err}
    for block, values in new.items():
        for f, value in enumerate(values):
            hand[f"{block}[{f}]"] = value

    data, omega = _rule_loss(rule.objective, s)
    e0 = _error(s)
    dl_de = sp.diff(data, s.e).subs(s.e, e0)
    derived = {"err": e0}
    current = {"P": tuple(s.p), "Q": tuple(s.q), "bu": s.b_u, "bi": s.b_i}
    variables = _block_symbols(s)
    for stage in rule.stages:
        moved = {}
        for block in stage:
            here = dict(zip([x for block_symbols in variables.values() for x in block_symbols], _flat(current)))
            steps: list = []
            for x in variables[block]:
                de = sp.diff(_error(s), x).subs(here, simultaneous=True)
                grad = dl_de * de + sp.diff(omega, x).subs(here, simultaneous=True)
                steps.append(here[x] - s.gamma[block] * sp.nsimplify(rule.scale[block], rational=True) * grad)
            moved[block] = tuple(steps) if block in ("P", "Q") else steps[0]
        current.update(moved)
    for block in BLOCKS:
        values = current[block] if block in ("P", "Q") else (current[block],)
        for f, value in enumerate(values):
            derived[f"{block}[{f}]"] = value
    if rule.simultaneous:  # the chain rule itself: d l(e(theta), theta)/d theta == dl/de de/dtheta + dOmega/dtheta
        whole = data.subs(s.e, e0) + omega
        for x in sum(variables.values(), ()):
            assert is_zero(sp.diff(whole, x) - (dl_de * sp.diff(e0, x) + sp.diff(omega, x)))
    return _compare(rule.name, hand, derived, f"the kernel funksvd.maths.rules.{rule.step.__name__} run on symbols")


def _flat(current):
    out = []
    for block in BLOCKS:
        value = current[block]
        out.extend(value if isinstance(value, tuple) else (value,))
    return out


class _SympyNumpy:
    """The few numpy names the objective's formula pieces use, as sympy functions (elementwise)."""

    def __init__(self, sp):
        self._sp = sp
        self.float64 = object

    def _each(self, function, x):
        if isinstance(x, np.ndarray):
            return np.vectorize(function, otypes=[object])(x)
        return function(x)

    def tanh(self, x, out=None):
        return self._each(self._sp.tanh, x)

    def abs(self, x):
        return self._each(self._sp.Abs, x)

    def sign(self, x):
        return self._each(self._sp.sign, x)

    def ones_like(self, x):
        return self._each(lambda _: self._sp.Integer(1), x)

    def zeros_like(self, x):
        return np.zeros_like(x)


def _rebound(function, **names):
    """``function`` with its module's globals ``names`` replaced: its own code, other values."""
    return types.FunctionType(function.__code__, {**function.__globals__, **names}, function.__name__,
                              function.__defaults__, function.__closure__)


def hand_pieces(objective: Objective):
    r"""Execute the objective's formula code on symbols: :math:`(\rho, \rho', h, h')` and the penalty gradients.

    ``Objective._rho``, ``Objective.apply_link`` (and the module's ``sigmoid``) and
    ``Objective.penalty_terms`` run with ``np`` bound to :class:`_SympyNumpy` (and ``float`` to
    the identity, ``per_block`` to the symbols :math:`\lambda_b`). Returns
    ``(e, z, rho, drho, h, dh, penalty_gradients, counts)``.
    """
    from ..maths import objectives as module

    sp = require_sympy()
    shim = _SympyNumpy(sp)
    e, z = sp.symbols("e z", real=True)
    sigmoid = _rebound(module.sigmoid, np=shim)
    rho, drho = _rebound(Objective._rho, np=shim)(objective, e)
    h, dh = _rebound(Objective.apply_link, np=shim, sigmoid=sigmoid)(objective, z)
    theta = {"P": sp.Symbol("p", real=True), "Q": sp.Symbol("q", real=True),
             "bu": sp.Symbol("b_u", real=True), "bi": sp.Symbol("b_i", real=True)}
    lam = dict(zip(BLOCKS, sp.symbols("lambda_P lambda_Q lambda_bu lambda_bi", positive=True)))
    counts = sp.symbols("n_u n_i", positive=True)
    fake = types.SimpleNamespace(
        blocks=BLOCKS,
        params=lambda: {"P": np.array([[theta["P"]]], dtype=object), "Q": np.array([[theta["Q"]]], dtype=object),
                        "bu": np.array([theta["bu"]], dtype=object), "bi": np.array([theta["bi"]], dtype=object)})
    def weighted_squares(theta, n):  # the code's sum_u n_u |theta_u|^2, on object arrays of symbols
        rows = np.asarray(theta, dtype=object).reshape(len(n), -1)
        return sum(n_u * sum(t * t for t in row) for n_u, row in zip(n, rows))

    _, grads = _rebound(Objective.penalty_terms, np=shim, float=lambda x: x, per_block=lambda reg: dict(lam),
                        weighted_squares=weighted_squares)(
        objective, fake, None, (np.array([counts[0]], dtype=object), np.array([counts[1]], dtype=object)))
    penalty = {block: (np.asarray(g).reshape(-1)[0] if g is not None else 0) for block, g in grads.items()}
    return types.SimpleNamespace(e=e, z=z, rho=rho, drho=drho, h=h, dh=dh, penalty=penalty, theta=theta,
                                 lam=lam, counts=counts)


def prove_objective(objective) -> Proof:
    r"""Prove an objective's hand formula pieces equal to sympy's derivatives of the loss it defines.

    Compared: the per-entry score gradient :math:`g = \partial(c\,\rho(r - h(z)))/\partial z`
    (hand: ``-c * drho(r - h(z)) * dh`` from the code's pieces, the line of the sparse form) and
    the penalty's gradient per parameter (hand: ``penalty_terms`` executed; derived: sympy's
    derivative of :math:`n\,\lambda w\theta^2`, :math:`\lambda w\theta^2` or :math:`\lambda w|\theta|`).
    """
    sp = require_sympy()
    objective = as_objective(objective)
    pieces = hand_pieces(objective)
    r = sp.Symbol("r", real=True)
    c = sp.nsimplify(objective.data_weight, rational=True)
    hand = {"dL/dz": -c * pieces.drho.subs(pieces.e, r - pieces.h) * pieces.dh}
    derived = {"dL/dz": sp.diff(c * sympy_rho(objective, r - sympy_link(objective, pieces.z)), pieces.z)}
    weights = _weights(objective)
    for block, x in pieces.theta.items():
        n = pieces.counts[0] if block in ("P", "bu") else pieces.counts[1]
        lam = pieces.lam[block] * weights[block]
        term = {"per_rating": n * lam * x ** 2, "frobenius": lam * x ** 2, "l1": lam * sp.Abs(x),
                "none": sp.Integer(0)}[objective.penalty]
        hand[f"dOmega/d{block}"] = pieces.penalty[block]
        derived[f"dOmega/d{block}"] = sp.diff(term, x)
    return _compare(str(objective), hand, derived,
                    "Objective._rho, Objective.apply_link and Objective.penalty_terms run on symbols")


def prove(name) -> Proof:
    """:func:`prove_rule` for a rule name, :func:`prove_objective` for an objective (or its name)."""
    from ..maths.rules import RULES

    if isinstance(name, str) and name in RULES:
        return prove_rule(name)
    return prove_objective(name)


# ---- the symbolic oracle at a point --------------------------------------------------------------


@functools.lru_cache(maxsize=64)
def _entry_functions(objective: Objective, k: int, biased: bool):
    """Numpy functions of sympy's derivatives of one entry's term and of one parameter's penalty."""
    sp = require_sympy()
    s = _symbols(k)
    b_u, b_i = (s.b_u, s.b_i) if biased else (0, 0)
    z = s.mu + b_u + b_i + sum(a * b for a, b in zip(s.p, s.q))
    c = sp.nsimplify(objective.data_weight, rational=True)
    term = c * sympy_rho(objective, s.r - sympy_link(objective, z))
    w = _weights(objective)
    if objective.penalty == "per_rating":
        term = term + (w["P"] * s.lam["P"] * sum(x ** 2 for x in s.p) + w["Q"] * s.lam["Q"] * sum(x ** 2 for x in s.q)
                       + (w["bu"] * s.lam["bu"] * s.b_u ** 2 + w["bi"] * s.lam["bi"] * s.b_i ** 2 if biased else 0))
    variables = list(s.p) + list(s.q) + ([s.b_u, s.b_i] if biased else []) + [s.mu]
    args = list(s.p) + list(s.q) + [s.b_u, s.b_i, s.mu, s.r] + [s.lam[b] for b in BLOCKS]
    entry = sp.lambdify(args, [sp.diff(term, x) for x in variables], modules="numpy")
    x, lam, weight = sp.symbols("x lam weight", real=True)
    one = {"frobenius": lam * weight * x ** 2, "l1": lam * weight * sp.Abs(x)}.get(objective.penalty)
    whole = sp.lambdify([x, lam, weight], sp.diff(one, x), modules="numpy") if one is not None else None
    return entry, whole


def symbolic_gradients(loss, factors, ratings, reg=0.02, learn_mu: bool = False) -> dict[str, np.ndarray]:
    r"""The gradient of ``loss`` at ``factors`` from sympy's derivatives: the symbolic oracle of :func:`check_gradients`.

    For an :class:`~funksvd.Objective` sympy differentiates one entry's term
    :math:`c\,\rho(r - h(z)) + \Omega_{ui}` in the symbols of :math:`p_u, q_i, b_u, b_i, \mu`, the
    derivatives are evaluated at every entry and summed into the blocks (:math:`L = \sum` of the
    terms), divided by :math:`N` under a mean; a whole-model penalty is differentiated per
    parameter. A callable ``loss(xp, theta, data)`` runs in :func:`sympy_namespace` on symbol
    arrays of the blocks' shapes (the data as numbers) and sympy differentiates the expression.
    """
    from ..maths.user_losses import LossError, call_loss, is_callable_loss, loss_data
    require_sympy()
    if is_callable_loss(loss):
        return _callable_gradients(loss, factors, ratings, reg, learn_mu, call_loss, loss_data, LossError)
    objective = as_objective(loss)
    users, items, values = objective.select_entries(factors, ratings)
    k, biased = factors.n_factors, factors.biased
    entry, whole = _entry_functions(objective, k, biased)
    P, Q = np.asarray(factors.P, dtype=np.float64), np.asarray(factors.Q, dtype=np.float64)
    bu = np.asarray(factors.bu, dtype=np.float64)[users] if biased else np.zeros(len(users))
    bi = np.asarray(factors.bi, dtype=np.float64)[items] if biased else np.zeros(len(users))
    lam = per_block(reg)
    lams = [lam.get(b, 0.0) if objective.penalty == "per_rating" else 0.0 for b in BLOCKS]
    args = list(P[users].T) + list(Q[items].T) + [bu, bi, np.full(len(users), factors.mu), values] + lams
    parts = [np.broadcast_to(np.asarray(d, dtype=np.float64), (len(users),)) for d in entry(*args)]
    n = float(len(users)) if objective.reduction == "mean" else 1.0
    grads = {"P": np.zeros_like(P), "Q": np.zeros_like(Q)}
    for f in range(k):
        np.add.at(grads["P"][:, f], users, parts[f] / n)
        np.add.at(grads["Q"][:, f], items, parts[k + f] / n)
    if biased:
        grads["bu"] = np.zeros(factors.n_users)
        grads["bi"] = np.zeros(factors.n_items)
        np.add.at(grads["bu"], users, parts[2 * k] / n)
        np.add.at(grads["bi"], items, parts[2 * k + 1] / n)
    if whole is not None:
        weights = {"P": objective.factor_reg_weight, "Q": objective.factor_reg_weight,
                   "bu": objective.bias_reg_weight, "bi": objective.bias_reg_weight}
        for block, theta in factors.params().items():
            grads[block] = grads[block] + np.asarray(whole(np.asarray(theta, dtype=np.float64), lam[block],
                                                           weights[block]), dtype=np.float64)
    return grads


def _callable_gradients(loss, factors, ratings, reg, learn_mu, call_loss, loss_data, LossError):
    sp = require_sympy()
    from ..maths.user_losses import factor_params
    params = factor_params(factors, learn_mu)
    size = sum(np.size(value) for value in params.values())
    if size > MAX_SYMBOLS:
        raise LossError(f"the model has {size} parameters, too many to differentiate symbolically (at most "
                        f"{MAX_SYMBOLS}): the symbolic oracle is for small cases, the other oracles scale")
    symbols, theta = {}, {}
    for block, value in params.items():
        names = [sp.Symbol(f"{block}_{'_'.join(map(str, j))}", real=True) for j in np.ndindex(value.shape)]
        symbols[block] = names
        theta[block] = sym_array(np.array(names, dtype=object).reshape(value.shape)) if value.shape else names[0]
    data = loss_data(ratings, factors.mu, reg)
    try:
        value = call_loss(loss, sympy_namespace(), theta, data)
    except LossError as exc:
        raise LossError(f"{exc}; it cannot run on symbols (data-dependent shapes, or an operation "
                        "sympy has no form of)") from None
    if isinstance(value, np.ndarray):
        if value.shape != ():
            raise LossError(f"the loss returned an array of shape {value.shape}, not a scalar: sum it (xp.sum)")
        value = value.item()
    value = sp.sympify(value)
    flat = [x for names in symbols.values() for x in names]
    point = [float(v) for block in symbols for v in np.asarray(params[block]).reshape(-1)]
    gradient = sp.lambdify(flat, [sp.diff(value, x) for x in flat], modules="numpy")(*point)
    out, j = {}, 0
    for block, names in symbols.items():
        out[block] = np.asarray(gradient[j:j + len(names)], dtype=np.float64).reshape(params[block].shape)
        j += len(names)
    return out


NAMES = tuple(RULE_OBJECTIVES) + tuple(OBJECTIVES)

#: Most parameters a callable loss is differentiated in symbolically (one sympy symbol each).
MAX_SYMBOLS = 500
