r"""Check a per-rating update rule: is it a gradient step, of which loss, with which step per block?

:func:`check_rule` runs a user's kernel ``step(P, Q, bu, bi, mu, u, i, r, lr, reg) -> err`` (the
signature of :mod:`funksvd.maths.rules`) on generic single-rating cases -- distinct values, one
:math:`\gamma` and one :math:`\lambda` per block, both varied from case to case -- and explains
each block's change :math:`\Delta_b` as

.. math:: \Delta_b = -\gamma_c\,\big(a_b\, g^{\mathrm{data}}_b + \beta_b\, g^{\Omega}_b\,\lambda_d/\lambda_b\big),
   \qquad g^{\mathrm{data}}_b = \frac{\partial\ell}{\partial z}\,\frac{\partial z}{\partial\theta_b},\quad
   g^{\Omega}_b = \frac{\partial\ell}{\partial\theta_b} - g^{\mathrm{data}}_b,

the data and penalty parts of the loss's gradient, at the old point or after some blocks were
updated (with the error :math:`\partial\ell/\partial z` held from the start or recomputed). A
rule is a gradient step when every block fits with its own :math:`\gamma_b` and
:math:`\lambda_b` (:math:`c = d = b`), :math:`\beta_b = a_b > 0`: then :math:`s_b = a_b` is its step
scale. Anything else is named.

The hints (stable phrases, asserted by tests and exercises; ``{b}`` is a block name, ``{x}`` a
number such as ``2`` or ``1/2``):

==========================================================  ===============================================
hint                                                        the slip
==========================================================  ===============================================
``a factor {x} on {b} and {b} only`` / ``on every block``   the step is ``x`` times the loss's own step there
``the sign of the gradient of {b} is wrong``                ``+=`` where the gradient step has ``-=``
``the sign of the error term of {b} is wrong``              ``- e q`` where the step has ``+ e q``
``the sign of reg on {b} is wrong``                         ``+ reg * p`` where the step has ``- reg * p``
``reg missing on {b}``                                      no penalty term in that block's update
``reg applied with the wrong weight on {b}``                the penalty ``x`` times what the loss gives
``the reg of {c} used on {b}``                              ``reg_pu`` in the update of ``bu``, say
``the learning rate of {c} used on {b}``                    ``lr_pu`` in the update of ``bu``, say
``the learning rate is missing on {b}``                     no :math:`\gamma` at all
``{b} computed from the updated {c}``                       a block reads another's new value
``{b} computed from the old {c}``                           the named rule reads the new value there
``the error is recomputed after updating``                  ``err`` computed again between block updates
``{b} is not updated``                                      the block never changes
``{b}[...] fits no gradient step``                          none of the above explains the change
``the rule returns no error``                               ``return`` missing (``None``)
``the returned error is not r - r_hat``                     e.g. the error after the update
``the rule changes {b} row {j}``                            a row other than the rating's (``u``/``i`` swapped?)
``the rule changes nothing in place``                       ``P = P + ...`` rebinds instead of writing
``the rule assigns to mu``                                  ``mu`` is the constant global mean here
``the rule allocates``                                      new arrays per rating (write scalar loops)
``the rule raised``                                         an exception inside the kernel
``the rule makes {b} not finite``                           NaN or infinity written
==========================================================  ===============================================
"""

from __future__ import annotations

import dis
import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from ..base.errors import InputError
from ..maths.objectives import RULE_OBJECTIVES, Objective, as_objective
from ..model.factors import BLOCKS, Factors
from ..model.ratings import Ratings
from .losses import scan_gradients
from ..maths.user_losses import LossData, LossError, check_pure, evaluate_loss, is_callable_loss, loss_name
__all__ = ["BlockFit", "RuleReport", "check_rule"]

#: Cases (generic single ratings) a rule is run on.
N_CASES = 4
#: Users, items, factors of a case and the rating's (u, i): u != i and both away from row 0.
SHAPE = (4, 5, 3)
USER, ITEM = 1, 3


@dataclass(frozen=True)
class BlockFit:
    """How one block's change is explained: coefficients, which lr and reg, which updated blocks it reads."""

    block: str
    fits: bool
    a: float = math.nan  # coefficient of the data part: the step scale s_b when beta == a
    beta: float = math.nan  # coefficient of the penalty part
    lr_of: str | None = None  # whose learning rate (None: none)
    reg_of: str = ""
    reads: tuple[str, ...] = ()  # blocks whose updated values it reads
    recomputed: bool = False  # the error recomputed at the updated point
    residual: float = math.nan
    where: str = ""  # the first entry that fits nothing, when not fits


@dataclass
class RuleReport:
    """Result of :func:`check_rule`: ``ok``, ``scales``, ``stages``, ``hints``, ``matches`` and a table."""

    rule: str
    loss: str
    ok: bool
    scales: dict[str, float]
    stages: tuple[tuple[str, ...], ...]
    hints: list[str]
    matches: str | None
    oracle: str
    fits: tuple[BlockFit, ...] = ()
    expected: dict[str, float] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        head = (f"{'block':<6}{'scale s':>9}{'reg x':>8}  {'lr of':<6}{'reg of':<7}{'reads updated':<15}"
                f"{'error':<11}status")
        lines = [f"rule check: {self.rule} against the loss {self.loss}  (gradient: {self.oracle})", head,
                 "-" * len(head)]
        for fit in self.fits:
            if not fit.fits:
                lines.append(f"{fit.block:<6}{'-':>9}{'-':>8}  {'-':<6}{'-':<7}{'-':<15}{'-':<11}no gradient step")
                continue
            weight = fit.beta / fit.a if fit.a else math.nan
            status = "ok" if _is_step(fit) and _close(fit.a, self.expected.get(fit.block, fit.a)) else "FAIL"
            lines.append(f"{fit.block:<6}{_number(fit.a):>9}{_number(weight):>8}  {fit.lr_of or 'none':<6}"
                         f"{fit.reg_of:<7}{', '.join(fit.reads) or '-':<15}"
                         f"{('recomputed' if fit.recomputed else 'held') if fit.reads else '-':<11}{status}")
        lines.append("stages: " + " -> ".join("(" + ", ".join(stage) + ")" for stage in self.stages))
        for hint in self.hints:
            lines.append(f"  - {hint}")
        if self.matches:
            lines.append(f"equivalent to the named rule {self.matches!r}")
        lines.append("RULE OK: a gradient step of the loss" if self.ok else "RULE CHECK FAILED")
        return "\n".join(lines)


def _number(x: float) -> str:
    if not math.isfinite(x):
        return "-"
    fraction = Fraction(x).limit_denominator(64)
    if abs(float(fraction) - x) <= 1e-9 * max(1.0, abs(x)):
        return str(fraction)
    return f"{x:.4g}"


def _close(x: float, y: float, tol: float = 1e-6) -> bool:
    return abs(x - y) <= tol * max(1.0, abs(y))


def _is_step(fit: BlockFit) -> bool:
    return fit.fits and fit.lr_of == fit.block and fit.reg_of == fit.block and fit.a > 0 and _close(fit.beta, fit.a)


# ---- the cases ----------------------------------------------------------------------------------


@dataclass
class _Case:
    P: np.ndarray
    Q: np.ndarray
    bu: np.ndarray
    bi: np.ndarray
    mu: float
    r: float
    lr: tuple[float, float, float, float]
    reg: tuple[float, float, float, float]

    def arrays(self):
        return self.P.copy(), self.Q.copy(), self.bu.copy(), self.bi.copy()

    @property
    def blocks(self) -> tuple[str, ...]:
        """``P, Q, bu, bi``, or ``P, Q`` for an unbiased case (empty ``bu``, ``bi``, as the rules take them)."""
        return BLOCKS if self.bu.size else BLOCKS[:2]

    def local(self, arrays=None) -> dict[str, np.ndarray]:
        """The rating's parameters ``p_u, q_i, b_u, b_i`` (of ``arrays``, default the old ones)."""
        P, Q, bu, bi = arrays if arrays is not None else (self.P, self.Q, self.bu, self.bi)
        out = {"P": P[USER].copy(), "Q": Q[ITEM].copy()}
        if self.bu.size:
            out.update(bu=np.array([bu[USER]]), bi=np.array([bi[ITEM]]))
        return out


def _cases(random_state, biased: bool = True) -> list[_Case]:
    rng = np.random.default_rng(random_state)
    n_users, n_items, k = SHAPE
    cases = []
    for _ in range(N_CASES):
        lr = tuple(float(x) for x in rng.permutation(np.linspace(0.01, 0.05, 4)) * rng.uniform(0.9, 1.1, 4))
        reg = tuple(float(x) for x in rng.permutation(np.linspace(0.05, 0.3, 4)) * rng.uniform(0.9, 1.1, 4))
        bu, bi = rng.normal(0, 0.3, n_users), rng.normal(0, 0.3, n_items)
        cases.append(_Case(rng.normal(0, 0.5, (n_users, k)), rng.normal(0, 0.5, (n_items, k)),
                           bu if biased else np.zeros(0), bi if biased else np.zeros(0),
                           float(rng.uniform(2.5, 3.5)), float(rng.uniform(1, 5)), lr, reg))  # type: ignore[arg-type]
    return cases


# ---- the gradient of the per-rating loss ----------------------------------------------------------


class _Gradient:
    """:math:`\\nabla\\ell` of one rating's loss at a point, and :math:`\\partial\\ell/\\partial z`."""

    def __init__(self, loss):
        self.custom = is_callable_loss(loss)
        if self.custom:
            self.loss = loss
            self.name = loss_name(loss)
            self.oracle = "finite differences (Richardson, scanned step)"
        else:
            self.objective = as_objective(loss)
            self.name = str(self.objective)
            self.oracle = "funksvd's hand gradient of the objective"

    def __call__(self, local: dict[str, np.ndarray], case: _Case) -> tuple[dict[str, np.ndarray], float]:
        reg = dict(zip(BLOCKS, case.reg))
        blocks = case.blocks
        if not self.custom:
            factors = Factors(local["P"][None, :], local["Q"][None, :], local.get("bu"), local.get("bi"), case.mu)
            grads = self.objective.replace(learn_mu=True).gradients(factors, Ratings([0], [0], [case.r], 1, 1), reg)
            return {b: np.asarray(grads[b], dtype=np.float64).reshape(-1) for b in blocks}, float(grads["mu"])
        params = {"P": local["P"][None, :], "Q": local["Q"][None, :], "mu": np.array(case.mu)}
        params.update({b: local[b] for b in blocks[2:]})

        def value(point):
            data = LossData(np.array([0]), np.array([0]), np.array([case.r]), 1, 1, float(point["mu"]), reg)
            return evaluate_loss(self.loss, {b: point[b] for b in blocks}, data)
        grads, _ = scan_gradients(value, params)
        return {b: grads[b].reshape(-1) for b in blocks}, float(grads["mu"])


def _dz(block: str, local: dict[str, np.ndarray]) -> np.ndarray:
    r""":math:`\partial z/\partial\theta_b` for :math:`z = \mu + b_u + b_i + p_u^\top q_i`."""
    return {"P": local["Q"], "Q": local["P"], "bu": np.ones(1), "bi": np.ones(1)}[block]


# ---- running the kernel and its bookkeeping --------------------------------------------------------


def _assigns_mu(step) -> bool:
    code = getattr(step, "__code__", None)
    if code is None or code.co_argcount < 5:
        return False
    name = code.co_varnames[4]
    return any(ins.opname in ("STORE_FAST", "STORE_DEREF") and ins.argval == name for ins in dis.get_instructions(step))


def _allocations(step, case: _Case) -> int:
    """How many new arrays one call creates from the arrays it is given (0 for a scalar loop).

    The arrays are passed as views of a subclass whose ``__array_finalize__`` counts every new
    array whose memory is not theirs (``P[u] * 2``, ``P[u].copy()``, ``P[u] + x``); views
    (``P[u]``), scalars (``P[u, f]``, ``P[u] @ Q[i]``) are not counted, nor is anything built
    without them (a list of floats).
    """
    count = [0]
    given = case.arrays()

    class Watched(np.ndarray):
        def __array_finalize__(self, obj):
            if obj is not None and self.size and self.ndim and not any(np.may_share_memory(self, a) for a in given):
                count[0] += 1

    arrays = [a.view(Watched) for a in given]
    count[0] = 0
    try:
        step(*arrays, case.mu, USER, ITEM, case.r, case.lr, case.reg)
    except Exception:  # noqa: BLE001 (it ran before on plain arrays; a subclass it refuses is no allocation)
        return 0
    return count[0]


def _run(step, case: _Case):
    """``(err, new arrays)`` or ``(None, hint)``: the kernel on a copy of the case."""
    arrays = case.arrays()
    try:
        err = step(*arrays[:2], *arrays[2:], case.mu, USER, ITEM, case.r, case.lr, case.reg)
    except Exception as exc:  # noqa: BLE001 (a user's code: reported, never a traceback)
        return None, f"the rule raised {type(exc).__name__}: {exc}"
    return err, arrays


def _bookkeeping(step, cases, random_state, allow_allocation) -> tuple[list[str], list]:
    """Hints about what the kernel does besides the maths, and its outputs per case."""
    hints, outputs = [], []
    if _assigns_mu(step):
        hints.append("the rule assigns to mu: mu is the constant global mean here, a rule moves only "
                     "p_u, q_i, b_u, b_i")
    for case in cases:
        err, arrays = _run(step, case)
        if isinstance(arrays, str):
            return hints + [arrays], []
        outputs.append((err, arrays))
    err, arrays = outputs[0]
    case = cases[0]
    old = case.arrays()
    if err is None:
        hints.append("the rule returns no error: it must return err = r - r_hat, computed before the update")
    elif np.ndim(err) != 0 or not isinstance(np.asarray(err).item(), (int, float)):
        hints.append(f"the rule returns {type(err).__name__}, not the error err = r - r_hat (a number)")
    else:
        biases = case.bu[USER] + case.bi[ITEM] if case.bu.size else 0.0
        r_hat = case.mu + biases + float(case.P[USER] @ case.Q[ITEM])
        if not _close(float(err), case.r - r_hat, 1e-9):
            hints.append(f"the returned error is not r - r_hat at the old values ({float(err):.6g} instead of "
                         f"{case.r - r_hat:.6g})")
    rows, others = (USER, ITEM, USER, ITEM), (ITEM, USER, ITEM, USER)
    for block, new, before, row, other in zip(BLOCKS, arrays, old, rows, others):
        if new.shape != before.shape:
            hints.append(f"the rule changes the shape of {block}")
            continue
        if not before.size:
            continue
        if not np.all(np.isfinite(new)):
            hints.append(f"the rule makes {block} not finite")
            continue
        changed = np.flatnonzero(np.any((new != before).reshape(len(before), -1), axis=1))
        for j in changed:
            if j != row:
                which = "u" if block in ("P", "bu") else "i"
                hints.append(f"the rule changes {block} row {j}, not only row {which} = {row}"
                             + (" (u and i swapped?)" if j == other else ""))
                break
    if all(np.array_equal(new, before) for new, before in zip(arrays, old)):
        hints.append("the rule changes nothing in place: P = P + ... or P.copy() makes a new array; "
                     "write into the arrays given, P[u, f] += ...")
    if not allow_allocation and not hints and _allocations(step, cases[0]):
        hints.append("the rule allocates new arrays on every rating (P[u] * x, P[u].copy(), ...): write it as "
                     "scalar loops over f, as the built-in rules, which numba compiles as they stand")
    return hints, outputs


# ---- explaining each block's change ---------------------------------------------------------------


def _fit_block(block, cases, outputs, gradient, tol) -> list[BlockFit]:
    """Every explanation of the block's change that fits, most natural first."""
    others = [b for b in cases[0].blocks if b != block]
    subsets = [s for n in range(len(others) + 1) for s in itertools.combinations(others, n)]
    deltas: list[np.ndarray] = []
    columns: dict[tuple, list] = {}
    base = [gradient(case.local(), case) for case in cases]
    for c, (case, (_, arrays)) in enumerate(zip(cases, outputs)):
        new, old = case.local(arrays), case.local()
        deltas.append(new[block] - old[block])
        for subset in subsets:
            here = {b: (new[b] if b in subset else old[b]) for b in cases[0].blocks}
            g, dz = gradient(here, case) if subset else base[c]
            dzdb = _dz(block, here)
            penalty = g[block] - dz * dzdb
            for recomputed in ((False, True) if subset else (False,)):
                data = (dz if recomputed else base[c][1]) * dzdb
                columns.setdefault((subset, recomputed), []).append((data, penalty))
    delta = np.concatenate(deltas)
    scale = np.abs(delta).max()
    fits = []
    lr_options = [block] + [b for b in cases[0].blocks if b != block] + [None]
    reg_options = [block] + [b for b in cases[0].blocks if b != block]
    for (subset, recomputed), parts in columns.items():
        for lr_of, reg_of in itertools.product(lr_options, reg_options):
            A = np.zeros((len(delta), 2))
            j = 0
            for case, (data, penalty) in zip(cases, parts):
                lr = case.lr[BLOCKS.index(lr_of)] if lr_of else 1.0
                ratio = case.reg[BLOCKS.index(reg_of)] / case.reg[BLOCKS.index(block)]
                A[j:j + len(data), 0] = -lr * data
                A[j:j + len(data), 1] = -lr * penalty * ratio
                j += len(data)
            (a, beta), *_ = np.linalg.lstsq(A, delta, rcond=None)
            residual = float(np.abs(A @ np.array([a, beta]) - delta).max())
            if residual <= tol * max(scale, 1e-300):
                fits.append(BlockFit(block, True, float(a), float(beta), lr_of, reg_of, subset, recomputed,
                                     residual / max(scale, 1e-300)))
    return fits


def _nearest_miss(block, cases, outputs, gradient) -> BlockFit:
    """The entry farthest from the best own-lr, own-reg step at the old point: where the rule fits nothing."""
    rows = []
    for case, (_, arrays) in zip(cases, outputs):
        old, new = case.local(), case.local(arrays)
        g, dz = gradient(old, case)
        data = dz * _dz(block, old)
        lr = case.lr[BLOCKS.index(block)]
        rows.append((new[block] - old[block], -lr * data, -lr * (g[block] - data)))
    delta = np.concatenate([r[0] for r in rows])
    A = np.column_stack([np.concatenate([r[1] for r in rows]), np.concatenate([r[2] for r in rows])])
    coef, *_ = np.linalg.lstsq(A, delta, rcond=None)
    j = int(np.argmax(np.abs(A @ coef - delta)[: len(rows[0][0])]))
    entry = f"{block}[{USER if block in ('P', 'bu') else ITEM}" + (f", {j}]" if block in ("P", "Q") else "]")
    return BlockFit(block, False, where=entry, residual=float(np.abs(A @ coef - delta).max()))


def _factor_hints(found: dict[str, float], expected: dict[str, float], blocks=BLOCKS) -> list[str]:
    groups: dict[str, list[str]] = {}
    for block in blocks:
        if block in found and block in expected and expected[block]:
            ratio = found[block] / expected[block]
            if ratio > 0 and not _close(ratio, 1.0):
                groups.setdefault(_number(ratio), []).append(block)
    hints = []
    for factor, names in groups.items():
        where = "every block" if len(names) == len(blocks) else " and ".join(names) + " only"
        hints.append(f"a factor {factor} on {where}")
    return hints


def _block_hints(fit: BlockFit) -> list[str]:
    b, hints = fit.block, []
    if fit.a < 0 and fit.beta < 0:
        hints.append(f"the sign of the gradient of {b} is wrong")
    elif fit.a < 0:
        hints.append(f"the sign of the error term of {b} is wrong")
    if abs(fit.beta) <= 1e-9 * max(abs(fit.a), 1e-300):
        hints.append(f"reg missing on {b}")
    elif fit.beta * fit.a < 0 and fit.a > 0:
        hints.append(f"the sign of reg on {b} is wrong")
    elif fit.beta * fit.a > 0 and not _close(abs(fit.beta / fit.a), 1.0):
        hints.append(f"reg applied with the wrong weight on {b} (x{_number(abs(fit.beta / fit.a))})")
    if fit.reg_of != b and abs(fit.beta) > 1e-9 * abs(fit.a):
        hints.append(f"the reg of {fit.reg_of} used on {b}")
    if fit.lr_of is None:
        hints.append(f"the learning rate is missing on {b}")
    elif fit.lr_of != b:
        hints.append(f"the learning rate of {fit.lr_of} used on {b}")
    if fit.reads:
        hints.append(f"{b} computed from the updated {' and '.join(fit.reads)}")
    return hints


def _levels(fits: dict[str, BlockFit]) -> tuple[tuple[str, ...], ...]:
    """Stages from what each block reads: a block comes after the blocks whose new values it reads."""
    placed: list[list[str]] = []
    done: set[str] = set()
    remaining = [b for b in BLOCKS if b in fits]
    while remaining:
        stage = [b for b in remaining if set(fits[b].reads) <= done]
        if not stage:  # blocks reading each other: not a sequence of stages
            stage = remaining
        placed.append(stage)
        done |= set(stage)
        remaining = [b for b in remaining if b not in stage]
    return tuple(tuple(s) for s in placed)


def _prior(stages) -> dict[str, tuple[str, ...]]:
    out, before = {}, []
    for stage in stages:
        for block in stage:
            out[block] = tuple(b for b in BLOCKS if b in before)
        before.extend(stage)
    return out


def _analyse(step, name, loss, cases, outputs, tol, expected_rule=None) -> RuleReport:
    from ..maths.rules import RULES

    gradient = _Gradient(loss)
    rule = RULES.get(expected_rule) if expected_rule else None
    expected = dict(rule.scale) if rule else {}
    wanted_reads = _prior(rule.stages) if rule else {}
    hints, chosen = [], {}
    blocks = cases[0].blocks
    for block in blocks:
        deltas = [case.local(arrays)[block] - case.local()[block] for case, (_, arrays) in zip(cases, outputs)]
        if all(not np.any(d) for d in deltas):
            hints.append(f"{block} is not updated")
            chosen[block] = BlockFit(block, False, where=f"{block} unchanged")
            continue
        fits = _fit_block(block, cases, outputs, gradient, tol)
        if not fits:
            miss = _nearest_miss(block, cases, outputs, gradient)
            hints.append(f"{miss.where} fits no gradient step of the loss {gradient.name}")
            chosen[block] = miss
            continue
        pick = fits[0]
        if rule is not None:  # the reading order the named rule has, when it fits as well
            same = [f for f in fits if _is_step(f) and set(f.reads) <= set(wanted_reads[block])
                    and (not f.reads or not f.recomputed)]
            pick = same[0] if same else pick
        chosen[block] = pick
        expected_order = rule is not None and set(pick.reads) <= set(wanted_reads[block]) and not pick.recomputed
        hints.extend(h for h in _block_hints(pick) if not (expected_order and " computed from the updated " in h))
        if pick.reads and pick.recomputed and "the error is recomputed after updating" not in hints:
            hints.append("the error is recomputed after updating")
    found = {b: f.a for b, f in chosen.items() if f.fits}
    if rule is not None:
        hints = _factor_hints(found, expected, blocks) + hints
        for block in blocks:
            fit = chosen[block]
            if fit.fits and not fit.reads and set(wanted_reads[block]) - {"bu", "bi"} and block in ("Q", "P"):
                wanted = [b for b in wanted_reads[block] if b in ("P", "Q")]
                hints.append(f"{block} computed from the old {' and '.join(wanted)} "
                             f"({rule.name} reads the updated one)")
    ok = not hints and all(_is_step(f) for f in chosen.values())  # a sequential order is a hint unless expected
    stages = rule.stages if (rule is not None and ok) else _levels({b: f for b, f in chosen.items()})
    return RuleReport(name, gradient.name, ok, found, stages, hints, None, gradient.oracle,
                      tuple(chosen[b] for b in blocks), {b: expected[b] for b in blocks if b in expected})


def _matches(outputs, cases) -> str | None:
    from ..maths.rules import RULES

    for name, rule in RULES.items():
        same = True
        for case, (_, arrays) in zip(cases, outputs):
            _, ref = _run(rule.step, case)
            if not all(np.allclose(a, b, rtol=1e-12, atol=1e-15) for a, b in zip(arrays, ref)):
                same = False
                break
        if same:
            return name
    return None


def check_rule(step: Callable, loss=None, *, random_state=0, tol: float | None = None,
               allow_allocation: bool = False, biased: bool = True) -> RuleReport:
    r"""Decide whether a per-rating update rule is a gradient step, of which loss, with which scales and order.

    Parameters
    ----------
    step : callable
        ``step(P, Q, bu, bi, mu, u, i, r, lr, reg) -> err`` updating ``P, Q, bu, bi`` in place for
        the rating ``(u, i, r)`` and returning the error before the update; ``lr`` and ``reg`` are
        4-tuples in block order ``(P, Q, bu, bi)`` (:mod:`funksvd.maths.rules`).
    loss : str, Objective or callable, optional
        The per-rating loss :math:`\ell`: a rule name (``"funk"``, ``"quuxlabs"``,
        ``"quuxlabs_listing"``: that rule's loss, and its scales and stages are expected), an
        :class:`~funksvd.Objective` (any constant positive scale per block is a gradient step), or
        a callable ``loss(xp, theta, data)`` of one rating (:mod:`funksvd.maths.user_losses`; its
        prediction must use ``data.mu``, and :math:`\lambda_b` is ``data.reg[b]``).
        Default: the named rule whose loss, scales and stages fit; if none does, the one that
        explains the rule with the fewest slips.
    random_state : int
        Seed of the generic cases.
    tol : float, optional
        Largest residual of a fit, relative to the largest change. Default 1e-8 for a named loss
        or an Objective (funksvd's hand gradients, exact to rounding) and 1e-6 for a callable
        loss (its gradient comes from finite differences, with errors ~1e-10); a slip is an O(1)
        misfit either way.
    allow_allocation : bool
        Accept a rule that creates arrays on every call (by default that is a failure: the
        compiled engine runs the rules as scalar loops).
    biased : bool
        Run the rule on a biased model (default), or on an unbiased one (``bu`` and ``bi`` empty,
        as :mod:`funksvd.maths.rules` passes them): then only ``P`` and ``Q`` are explained.

    Returns
    -------
    RuleReport
        ``ok``; ``scales`` (:math:`s_b` per block); ``stages`` (as :attr:`Rule.stages
        <funksvd.Rule.stages>`); ``hints`` (the phrases of the module's table); ``matches`` (the
        named rule it is equivalent to, if any: the same updates on every case); ``str()``, a table.

    Examples
    --------
    >>> def mine(P, Q, bu, bi, mu, u, i, r, lr, reg):
    ...     dot = 0.0
    ...     for f in range(P.shape[1]):
    ...         dot += P[u, f] * Q[i, f]
    ...     err = r - (mu + bu[u] + bi[i] + dot)
    ...     bu[u] += lr[2] * (err - reg[2] * bu[u])
    ...     bi[i] += lr[3] * (err - reg[3] * bi[i])
    ...     for f in range(P.shape[1]):
    ...         P[u, f] += lr[0] * (err * Q[i, f] - reg[0] * P[u, f])
    ...         Q[i, f] += lr[1] * (err * P[u, f] - reg[1] * Q[i, f])   # reads the new P[u, f]
    ...     return err
    >>> report = check_rule(mine, "funk")
    >>> report.ok, report.hints
    (False, ['Q computed from the updated P'])
    """
    if not callable(step):
        raise InputError(f"step must be a function step(P, Q, bu, bi, mu, u, i, r, lr, reg) -> err, "
                         f"got {type(step).__name__}")
    if isinstance(loss, str) and loss not in RULE_OBJECTIVES:
        try:
            as_objective(loss)
        except ValueError as exc:
            raise InputError(str(exc)) from None
    cases = _cases(random_state, biased)
    name = getattr(step, "__name__", type(step).__name__)
    if tol is None:
        tol = 1e-6 if is_callable_loss(loss) else 1e-8
    hints, outputs = _bookkeeping(step, cases, random_state, allow_allocation)
    if hints:
        label = loss if isinstance(loss, str) else (loss_name(loss) if is_callable_loss(loss) else str(loss or "-"))
        return RuleReport(name, label, False, {}, (), hints, None, "-")
    if is_callable_loss(loss):
        try:
            local = cases[0].local()
            check_pure(loss, {b: local[b][None, :] if b in ("P", "Q") else local[b] for b in local},
                       LossData(np.array([0]), np.array([0]), np.array([cases[0].r]), 1, 1, cases[0].mu,
                                dict(zip(BLOCKS, cases[0].reg))))
        except LossError as exc:
            return RuleReport(name, loss_name(loss), False, {}, (), [str(exc)], None, "-")
    matches = _matches(outputs, cases)
    try:
        report = _report(step, name, loss, cases, outputs, tol, matches)
    except LossError as exc:
        return RuleReport(name, loss_name(loss), False, {}, (), [str(exc)], matches, "-")
    report.matches = matches
    return report


def _report(step, name, loss, cases, outputs, tol, matches) -> RuleReport:
    if loss is None:
        candidates = [_analyse(step, name, RULE_OBJECTIVES[rule], cases, outputs, tol, rule)
                      for rule in RULE_OBJECTIVES]
        by_name = dict(zip(RULE_OBJECTIVES, candidates))
        report = by_name[matches] if matches else min(candidates, key=lambda r: (len(r.hints), not r.ok))
    elif isinstance(loss, str) and loss in RULE_OBJECTIVES:
        report = _analyse(step, name, RULE_OBJECTIVES[loss], cases, outputs, tol, loss)
    elif isinstance(loss, (Objective, str)):
        report = _analyse(step, name, as_objective(loss), cases, outputs, tol)
    else:
        report = _analyse(step, name, loss, cases, outputs, tol)
    return report
