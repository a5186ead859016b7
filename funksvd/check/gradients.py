r"""Check a gradient against oracles: TensorFlow autodiff, finite differences and sympy.

:func:`check_gradients` is how a student proves a derivation: pass your own gradient function
as ``manual=`` and it is compared, block by block and entry by entry, with what TensorFlow's
``GradientTape`` and central finite differences say. A wrong gradient fails loudly with the block,
the entry and, where the pattern is a classic slip, a guess at the cause.
"""

from __future__ import annotations

import functools
import inspect
from dataclasses import dataclass, field

import numpy as np

from ..base.errors import InputError
from ..base.optional import require_tensorflow
from ..maths.objectives import as_objective
from ..model.factors import Factors
from .finite_differences import fd_noise, kink_mask
from .losses import finite_difference_gradients
from ..maths.user_losses import (
    LossError,
    check_pure,
    evaluate_loss,
    factor_params,
    is_callable_loss,
    loss_data,
    loss_name,
)

__all__ = ["ORACLES", "GradientCheck", "GradientReport", "check_gradients"]

ORACLES = ("tensorflow", "finite_differences", "symbolic")


@dataclass(frozen=True)
class GradientCheck:
    """One block compared with one oracle (``status`` "ok" or "FAIL"), or not compared ("skipped", errors NaN)."""

    block: str
    oracle: str
    max_abs_error: float
    max_rel_error: float
    worst_index: tuple
    manual_value: float
    oracle_value: float
    status: str  # "ok", "FAIL", "skipped"
    kinks: int = 0
    hint: str = ""

    @property
    def ok(self) -> bool:
        """True if this block was compared and agrees (a skipped row is not ok: it proves nothing)."""
        return self.status == "ok"

    @property
    def failed(self) -> bool:
        """True if the block disagrees with the oracle."""
        return self.status == "FAIL"


@dataclass(frozen=True)
class GradientReport:
    """Result of :func:`check_gradients`: ``.ok``, ``.rows`` and a readable ``str()`` table.

    ``skipped`` maps each oracle that could not run to the reason (e.g. TensorFlow is not
    installed, and how to install it); its rows have status ``"skipped"``.
    """

    objective: str
    rows: tuple[GradientCheck, ...]
    rtol: float
    atol: float
    skipped: dict[str, str] = field(default_factory=dict)

    @property
    def compared(self) -> tuple[str, ...]:
        """The oracles that were compared with the gradient."""
        return tuple(dict.fromkeys(row.oracle for row in self.rows if row.status != "skipped"))

    @property
    def failures(self) -> tuple[GradientCheck, ...]:
        """The rows where a block disagrees with an oracle."""
        return tuple(row for row in self.rows if row.failed)

    @property
    def ok(self) -> bool:
        """True if no block disagrees and at least one oracle compared every block."""
        return not self.failures and bool(self.compared)

    def __bool__(self) -> bool:
        return self.ok

    def summary(self, reasons: bool = True) -> str:
        """One line: agreed, failed, or compared with nothing, and what was not compared (and why)."""
        not_compared = "; ".join(f"{oracle} skipped" + (f" ({why})" if reasons else "")
                                 for oracle, why in self.skipped.items())
        if self.failures:
            line = "GRADIENT CHECK FAILED"
        elif not self.compared:
            return f"NOTHING COMPARED: {not_compared}"
        else:
            line = "all blocks agree" + (f" with {', '.join(self.compared)}" if self.skipped else "")
        return line + (f"; {not_compared}" if not_compared else "")

    def __str__(self) -> str:
        return self.format()

    def format(self, reasons: bool = True) -> str:
        """The table; ``reasons=False`` leaves out why an oracle was skipped (said once elsewhere)."""
        head = f"{'block':<6}{'oracle':<20}{'max abs err':>13}{'max rel err':>13}  {'worst entry':<13}{'status':<8}"
        lines = [f"gradient check: {self.objective}  (rtol={self.rtol:g}, atol={self.atol:g})", head, "-" * len(head)]
        for row in self.rows:
            if row.status == "skipped":
                lines.append(f"{row.block:<6}{row.oracle:<20}{'-':>13}{'-':>13}  {'-':<13}skipped")
                continue
            where = f"{row.block}[{', '.join(map(str, row.worst_index))}]" if row.worst_index else "-"
            status = row.status + (f" ({row.kinks} at kink)" if row.kinks else "")
            lines.append(
                f"{row.block:<6}{row.oracle:<20}{row.max_abs_error:>13.2e}{row.max_rel_error:>13.2e}  "
                f"{where:<13}{status}"
            )
        for row in self.failures:
            where = f"{row.block}[{', '.join(map(str, row.worst_index))}]"
            lines.append(
                f"FAIL {where}: manual {row.manual_value:.6g} vs {row.oracle} {row.oracle_value:.6g}"
                + (f" -- {row.hint}" if row.hint else "")
            )
        lines.append(self.summary(reasons))
        return "\n".join(lines)


def _call_manual(manual, factors, ratings, reg):
    """``manual(factors, ratings, reg)`` if it takes three positional arguments, else ``manual(factors, ratings)``."""
    try:
        parameters = inspect.signature(manual).parameters.values()
    except (TypeError, ValueError):
        n_params = 3
    else:
        positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        n_params = 3 if any(p.kind == inspect.Parameter.VAR_POSITIONAL for p in parameters) else sum(
            p.kind in positional for p in parameters)
    return manual(factors, ratings, reg) if n_params >= 3 else manual(factors, ratings)


def _diagnose(m: np.ndarray, o: np.ndarray, penalty_grad: np.ndarray, n_entries: int) -> str:
    """Name a classic slip when ``m`` is a recognisable distortion of the true gradient ``o``."""
    oo = float((o * o).sum())
    if oo > 0:
        c = float((m * o).sum()) / oo
        residual = np.abs(m - c * o).max() / max(np.abs(o).max(), 1e-300)
        if residual < 1e-6:
            for value, text in (
                (2.0, "twice the true gradient: a factor 2 too many"),
                (0.5, "half the true gradient: a missing factor 2"),
                (-1.0, "the negated gradient: a sign slip (e = r - r_hat, so d e / d r_hat = -1)"),
                (float(n_entries), f"{n_entries}x the true gradient: a sum where the loss takes a mean"),
                (1.0 / n_entries, f"1/{n_entries} of the true gradient: a mean where the loss takes a sum"),
            ):
                if abs(c - value) < 1e-6 * abs(value):
                    return text
            return f"proportional to the true gradient (x{c:.4g}): a constant factor is off"
    scale = max(np.abs(o).max(), 1e-300)
    if np.abs(penalty_grad).max() > 0:
        if np.abs(m - (o - penalty_grad)).max() < 1e-6 * scale:
            return "differs by exactly the penalty gradient: the regulariser was dropped"
        if np.abs(m - (o + penalty_grad)).max() < 1e-6 * scale:
            return "differs by exactly the penalty gradient: the regulariser is counted twice"
    return ""


def check_gradients(
    objective,
    factors: Factors,
    ratings,
    manual=None,
    oracles=ORACLES,
    rtol: float = 1e-6,
    atol: float = 1e-9,
    reg=0.02,
    learn_mu: bool = False,
) -> GradientReport:
    r"""Compare a gradient with TensorFlow autodiff, finite differences and sympy.

    Parameters
    ----------
    objective : Objective, str or callable
        The loss whose gradient is checked: an :class:`~funksvd.Objective`, a rule name, a key
        of :data:`~funksvd.OBJECTIVES`, or your own ``loss(xp, theta, data)``
        (:mod:`funksvd.maths.user_losses`), written once and differentiated by every oracle.
    factors : Factors
        The point; converted to float64.
    ratings : Ratings
    manual : callable, optional
        Your gradient: ``manual(factors, ratings)`` or ``manual(factors, ratings, reg)``
        returning a dict with keys ``"P", "Q"`` (and ``"bu", "bi"`` for a biased model, ``"mu"``
        when it is trained). Default: funksvd's own hand-derived :meth:`Objective.gradients`;
        required for a callable loss.
    oracles : sequence of {"tensorflow", "finite_differences", "symbolic"}
        What to compare against. TensorFlow needs ``pip install 'funksvd[tf]'``, sympy
        ``pip install 'funksvd[symbolic]'``; an oracle that cannot run has rows that say
        ``skipped``, ``report.skipped`` says why, and the report is only ok if another oracle
        compared every block. For a named objective the symbolic oracle also proves funksvd's
        hand formulas equal to sympy's derivative, symbolically (:mod:`funksvd.check.symbolic`).
    rtol, atol : float
        Entry ``j`` passes when :math:`|m_j - o_j| \le \mathrm{atol} + \mathrm{rtol}\,|o_j| + n_j`,
        where :math:`n_j` is the oracle's own error estimate (zero for TensorFlow and sympy, which
        compute the same float64 sums in another order; for finite differences the rounding
        noise of :func:`~funksvd.check.finite_differences.numerical_gradients`, or for a callable
        loss the truncation and rounding estimate of :func:`~funksvd.check.losses.scan_gradients`).
        The defaults catch any derivation slip (those are O(1) relative errors, and even a
        relative error of 1e-4 fails by a factor 100) and pass on rounding (O(1e-13)).
    reg : float or mapping
        :math:`\lambda` of the objective (a callable loss reads it as ``data.reg``).
    learn_mu : bool
        For a callable loss: ``theta`` has a trained ``"mu"`` too.

    Returns
    -------
    GradientReport
        ``.ok`` is False if any block disagrees with any oracle, or if no oracle could be
        compared (e.g. only ``"tensorflow"`` was asked for and it is not installed);
        ``str(report)`` is a table with one row per block and oracle, the failing entries, a
        diagnosis of classic slips, and a summary line.

    Notes
    -----
    Kinks: with the absolute loss or the L1 penalty, coordinates whose finite-difference
    stencil may cross a kink (:func:`~funksvd.check.finite_differences.kink_mask`), and for a
    callable loss those whose error estimate is too large to judge (more than
    :data:`UNJUDGED` of the gradient), are not compared with finite differences and are counted
    in the table as "at kink".

    Raises
    ------
    ValueError
        If ``manual`` returns the wrong keys or shapes (e.g. transposed factors).
    funksvd.maths.user_losses.LossError
        If a callable loss raises, returns no finite scalar, leaves the tape or reads global state.
    """
    unknown = set(oracles) - set(ORACLES)
    if unknown:
        raise ValueError(f"unknown oracle(s) {sorted(unknown)}; choose from {ORACLES}")
    factors = factors if factors.dtype == np.float64 else Factors(
        mu=factors.mu, **{k: v.astype(np.float64) for k, v in factors.params().items()})
    custom = is_callable_loss(objective)
    if custom:
        if manual is None:
            raise InputError("a callable loss has no hand gradient of funksvd's to check: pass yours as manual=")
        label = loss_name(objective)
        params = factor_params(factors, learn_mu)
        expected_shapes = {block: np.shape(theta) for block, theta in params.items()}
        check_pure(objective, params, loss_data(ratings, factors.mu, reg))  # numpy first: the clearest messages
    else:
        objective = as_objective(objective)
        label = str(objective)
        expected_shapes = {block: theta.shape for block, theta in factors.params().items()}
    got = objective.gradients(factors, ratings, reg) if manual is None else _call_manual(manual, factors, ratings, reg)
    got = checked_manual(got, expected_shapes)
    if custom:
        penalty_grads, n_entries, mean = {b: np.zeros(s) for b, s in expected_shapes.items()}, len(ratings), False
    else:
        _, penalty_grads = objective.penalty_terms(factors, reg, _counts(objective, factors, ratings))
        n_entries = len(objective.select_entries(factors, ratings)[0])
        mean = objective.reduction == "mean" and objective.penalty == "per_rating"
    rows: list[GradientCheck] = []
    skipped: dict[str, str] = {}
    references: dict[str, tuple] = {}
    for oracle in oracles:
        try:
            reference, noise, kinks = _reference(oracle, objective, factors, ratings, reg, learn_mu, custom,
                                                 expected_shapes)
        except OracleUnavailable as exc:
            skipped[oracle] = str(exc)
            rows.extend(skipped_rows(oracle, expected_shapes))
            continue
        if custom:
            references[oracle] = (reference, noise, kinks)
            _check_oracles_agree(references, rtol, atol)
        unproved = ""
        if oracle == "symbolic" and not custom and manual is None:  # funksvd's own formulas: proved, not sampled
            proof = _proof(objective)
            if not proof.ok:
                unproved = f"sympy does not prove funksvd's hand formulas: {', '.join(proof.mismatched)} differ"
        for block in expected_shapes:
            o = np.asarray(reference[block], dtype=np.float64).reshape(expected_shapes[block])
            rows.append(block_row(block, oracle, got[block], o, atol + rtol * np.abs(o) + noise[block], kinks[block],
                                  penalty_grads[block] / (n_entries if mean else 1.0), n_entries, unproved))
    return GradientReport(label, tuple(rows), rtol, atol, skipped)


def block_row(block: str, oracle: str, m: np.ndarray, o: np.ndarray, allowed, kinks: np.ndarray,
              penalty_grad: np.ndarray, n_entries: int, unproved: str = "") -> GradientCheck:
    """One block's row: the hand gradient ``m`` against the oracle's ``o``, entry by entry.

    Parameters
    ----------
    m, o : ndarray
        The hand gradient and the oracle's, of one shape.
    allowed : ndarray or float
        The error each entry may have (``atol + rtol * |o|`` plus the oracle's own error estimate).
    kinks : ndarray of bool
        Entries not judged (counted "at kink").
    penalty_grad, n_entries
        The penalty's gradient (as the loss reduces it) and the number of entries, for the
        diagnosis of a classic slip (:func:`_diagnose`).
    unproved : str
        Non-empty if sympy does not prove the hand formula of this block: the row fails, saying so.
    """
    error = np.abs(m - o)
    ratio = np.where(kinks, 0.0, error / allowed)
    worst = np.unravel_index(int(np.argmax(ratio)), ratio.shape) if ratio.size else ()
    failed = bool(ratio.size and ratio[worst] > 1.0) or bool(unproved)
    hint = unproved
    if failed and not unproved:
        hint = _diagnose(m[~kinks], o[~kinks], penalty_grad[~kinks], n_entries)
    rel = error / np.maximum(np.abs(o), 1e-300)
    return GradientCheck(
        block=block,
        oracle=oracle,
        max_abs_error=float(np.where(kinks, 0.0, error).max(initial=0.0)),
        max_rel_error=float(np.where(kinks | (o == 0) & (m == 0), 0.0, rel).max(initial=0.0)),
        worst_index=tuple(int(j) for j in worst),
        manual_value=float(m[worst]) if ratio.size else 0.0,
        oracle_value=float(o[worst]) if ratio.size else 0.0,
        status="FAIL" if failed else "ok",
        kinks=int(kinks.sum()),
        hint=hint,
    )


def skipped_rows(oracle: str, blocks) -> list[GradientCheck]:
    """The rows of an oracle that could not run: status "skipped", errors NaN."""
    nan = float("nan")
    return [GradientCheck(b, oracle, nan, nan, (), nan, nan, "skipped") for b in blocks]


#: A callable loss's finite-difference entry whose error estimate exceeds this share of the
#: gradient (plus 1e-6) is not judged: the stencils cross a kink (it is counted as "at kink").
UNJUDGED = 1e-4


class OracleUnavailable(Exception):
    """An oracle that cannot run here (its package is not installed, or the loss cannot be put to it)."""


def _reference(oracle, objective, factors, ratings, reg, learn_mu, custom, shapes):
    """``(gradients, error allowance, kink mask)`` of one oracle, or :class:`OracleUnavailable`."""
    no_kinks = {b: np.zeros(s, dtype=bool) for b, s in shapes.items()}
    if oracle == "tensorflow":
        try:
            require_tensorflow("the tensorflow oracle")  # a clear ImportError without TensorFlow
            from .. import autodiff  # imported on first use only
        except ImportError as exc:
            raise OracleUnavailable(str(exc)) from None
        if custom:
            from ..autodiff.callables import tape_gradients

            reference, unconnected = tape_gradients(objective, factors, ratings, reg, learn_mu)
            _check_connected(objective, factors, ratings, reg, learn_mu, unconnected)
        else:
            reference = autodiff.gradients(factors, ratings, objective, reg)
        return reference, dict.fromkeys(reference, 0.0), no_kinks
    if oracle == "symbolic":
        from .symbolic import SympyMissing, symbolic_gradients

        try:
            reference = symbolic_gradients(objective, factors, ratings, reg, learn_mu)
        except SympyMissing as exc:
            raise OracleUnavailable(str(exc)) from None
        except LossError as exc:  # a callable that runs in numpy but not on symbols: this oracle cannot judge it
            if not custom:
                raise
            raise OracleUnavailable(str(exc)) from None
        return reference, dict.fromkeys(reference, 0.0), no_kinks
    if custom:
        reference, estimate = finite_difference_gradients(objective, factors, ratings, reg, learn_mu)
        kinks = {b: estimate[b] > UNJUDGED * np.abs(reference[b]) + 1e-6 for b in reference}
        return reference, estimate, kinks
    reference, noise, h = fd_noise(objective, factors, ratings, reg)
    kinks = kink_mask(objective, factors, ratings, h)
    return reference, noise, kinks


def _proof(objective):
    """The symbolic proof of an objective's hand formulas (:func:`funksvd.check.symbolic.prove_objective`).

    Kept per objective *and* per the functions that hold its formulas, so a changed formula is proved again.
    """
    from ..maths import objectives as module

    pieces = (module.Objective._rho, module.Objective.apply_link, module.Objective.penalty_terms, module.sigmoid)
    return _cached_proof(objective, pieces)


@functools.lru_cache(maxsize=64)
def _cached_proof(objective, pieces):
    from .symbolic import prove_objective

    return prove_objective(objective)


def _check_oracles_agree(references: dict, rtol: float, atol: float) -> None:
    """Two oracles that disagree on a user's loss: it leaves the tape, or sympy reads it otherwise (one line)."""
    (first, (a, noise_a, kinks_a)), *others = references.items()
    for other, (b, noise_b, kinks_b) in others:
        for block in a:
            A = np.asarray(a[block], dtype=np.float64)
            B = np.asarray(b[block], dtype=np.float64).reshape(A.shape)
            allowed = 10 * (atol + rtol * np.abs(A)) + np.asarray(noise_a[block]) + np.asarray(noise_b[block])
            bad = (np.abs(A - B) > allowed) & ~np.asarray(kinks_a[block]) & ~np.asarray(kinks_b[block])
            if np.any(bad):
                j = tuple(int(x) for x in np.argwhere(bad)[0]) if A.ndim else ()
                raise LossError(f"the oracles disagree on your loss: {first} gives {float(A[j]):.6g} and {other} "
                                f"{float(B[j]):.6g} for d/d{block}[{', '.join(map(str, j))}]: part of the loss is "
                                "computed outside the namespace xp (numpy calls, float(...), .numpy()), so one "
                                "oracle does not see it")


def _check_connected(loss, factors, ratings, reg, learn_mu, unconnected) -> None:
    """A block the tape saw no path to, but the loss changes with: part of the loss left the tape."""
    if not unconnected:
        return
    params = factor_params(factors, learn_mu)
    data = loss_data(ratings, factors.mu, reg)
    base = evaluate_loss(loss, params, data)
    for block in unconnected:
        moved = dict(params, **{block: params[block] + 1e-3})
        if evaluate_loss(loss, moved, data) != base:
            raise LossError(f"the loss changes with {block}, but TensorFlow's tape sees no path from {block} to it: "
                            "part of it is computed outside the tape (numpy calls, float(...), .numpy()); "
                            "write it with the xp namespace it is given")


def checked_manual(got, expected_shapes):
    """The manual gradient as float64 arrays of the right keys and shapes, or a ``ValueError`` saying what is off."""
    if not isinstance(got, dict) or set(got) != set(expected_shapes):
        keys = sorted(got) if isinstance(got, dict) else type(got).__name__
        raise ValueError(f"the manual gradient must be a dict with keys {sorted(expected_shapes)}, got {keys}")
    out = {}
    for block, value in got.items():
        try:
            out[block] = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"manual gradient {block} is {type(value).__name__}, not an array of numbers") from None
    for block, shape in expected_shapes.items():
        if out[block].shape != shape:
            other = {"P": "Q", "Q": "P", "bu": "bi", "bi": "bu"}.get(block, block)
            hint = ""
            if out[block].shape == shape[::-1] and shape:
                hint = " (transposed?)"
            elif out[block].shape == expected_shapes.get(other) and other != block:
                hint = f" ({block} and {other} swapped?)"
            raise ValueError(f"manual gradient {block} has shape {out[block].shape}, expected {shape}{hint}")
        if not np.all(np.isfinite(out[block])):
            bad = np.argwhere(~np.isfinite(out[block]))
            where = ", ".join(map(str, bad[0])) if out[block].ndim else ""
            raise ValueError(f"manual gradient {block}[{where}] is not finite")
    return out


def _counts(objective, factors, ratings):
    users, items, _ = objective.select_entries(factors, ratings)
    return (
        np.bincount(users, minlength=factors.n_users).astype(np.float64),
        np.bincount(items, minlength=factors.n_items).astype(np.float64),
    )
